// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: /sys/kernel/debug/p2pbar/<pci name>/{stats,buffers}.
 * The same counters are in sysfs on the class device, for scripts.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar_drv.h"

static struct dentry *p2pbar_debugfs_root;

static int stats_show(struct seq_file *m, void *unused)
{
	struct p2pbar_dev *p = m->private;
	u64 nbufs;

	mutex_lock(&p->bufs_lock);
	nbufs = p->nbufs;
	mutex_unlock(&p->bufs_lock);
	seq_printf(m, "bar_size %llu\n", (u64)p->bar_size);
	seq_printf(m, "used %llu\n", p2pbar_allocator_used(&p->alloc));
	seq_printf(m, "buffers %llu\n", nbufs);
	seq_printf(m, "pinned %d\n", atomic_read(&p->pinned));
	seq_printf(m, "attachments %d\n", atomic_read(&p->attachments));
	seq_printf(m, "evictions %lld\n", atomic64_read(&p->evictions));
	seq_printf(m, "migrations %lld\n", atomic64_read(&p->migrations));
	seq_printf(m, "bytes_moved %lld\n", atomic64_read(&p->bytes_moved));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int buffers_show(struct seq_file *m, void *unused)
{
	struct p2pbar_dev *p = m->private;
	struct p2pbar_buf *buf;

	seq_puts(m, "id offset size placement attachments flags\n");
	mutex_lock(&p->bufs_lock);
	/* Unlocked peek at placement and offset: a snapshot for humans. */
	list_for_each_entry(buf, &p->bufs, node)
		seq_printf(m, "%llu %#llx %llu %s %d %#x\n", buf->id,
			   READ_ONCE(buf->offset), buf->size,
			   READ_ONCE(buf->placement) == P2PBAR_PLACEMENT_DEVICE ?
			   "device" : "host",
			   atomic_read(&buf->attachments), buf->flags);
	mutex_unlock(&p->bufs_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(buffers);

void p2pbar_debugfs_add(struct p2pbar_dev *p, const char *name)
{
	p->debugfs = debugfs_create_dir(name, p2pbar_debugfs_root);
	debugfs_create_file("stats", 0400, p->debugfs, p, &stats_fops);
	debugfs_create_file("buffers", 0400, p->debugfs, p, &buffers_fops);
}

void p2pbar_debugfs_del(struct p2pbar_dev *p)
{
	debugfs_remove_recursive(p->debugfs);
	p->debugfs = NULL;
}

void p2pbar_debugfs_init(void)
{
	p2pbar_debugfs_root = debugfs_create_dir("p2pbar", NULL);
}

void p2pbar_debugfs_exit(void)
{
	debugfs_remove_recursive(p2pbar_debugfs_root);
}
