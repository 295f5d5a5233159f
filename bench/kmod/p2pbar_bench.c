// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar_bench: the in-kernel half of bench/exporter-cost.c. It imports
 * a dma-buf through the public dma-buf API and times what an importer
 * pays, where userspace cannot see it.
 *
 * A process writes "CMD FD ROUNDS" to /sys/kernel/debug/p2pbar_bench/control
 * (the fd is looked up in the writer's fd table) and reads the answer back
 * from the same file: one "TIME what rounds median min max" line (ns) per
 * figure.
 *   time FD N  N rounds of dynamic attach + map (under the reservation
 *              lock, as a dynamic importer maps) and unmap + detach
 *   copy FD N  N rounds of copying the whole buffer into and out of its
 *              vmap with the iosys_map helpers (memcpy_toio/fromio: how
 *              rxe reaches a dma-buf MR) and between two kernel buffers
 *              with memcpy (how it reaches a host MR)
 * Bad commands fail the write with -EINVAL; a failing step fails it with
 * that step's errno.
 *
 * The importing device is the PCI function of module parameter importer=;
 * the bench passes the exporter's own, as an engine of the exporting card
 * would import: it reaches the BAR on every kernel and topology, so the
 * figures do not depend on P2PDMA.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/seq_buf.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "p2pbar_compat.h"

#define MAX_ROUNDS	1000

static char *importer = "";
module_param(importer, charp, 0444);
MODULE_PARM_DESC(importer, "PCI function (DDDD:BB:DD.F) that imports");

static struct dentry *bench_dir;
static struct pci_dev *bench_pdev;
static DEFINE_MUTEX(bench_lock);
/* The last answer, under bench_lock. */
static char *bench_out;
static struct seq_buf bench_seq;

/* Our attachments live for one round and hold no mapping across a move. */
static void bench_invalidate(struct dma_buf_attachment *at)
{
}

static const struct dma_buf_attach_ops bench_attach_ops = {
	.allow_peer2peer = true,
	.P2PBAR_ATTACH_OPS_INVALIDATE = bench_invalidate,
};

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void time_report(const char *what, u64 *ns, unsigned int n)
{
	sort(ns, n, sizeof(*ns), cmp_u64, NULL);
	seq_buf_printf(&bench_seq, "TIME %s %u %llu %llu %llu\n", what, n,
		       ns[n / 2], ns[0], ns[n - 1]);
}

static int bench_time(struct dma_buf *buf, unsigned int rounds)
{
	struct dma_buf_attachment *at;
	struct sg_table *sgt;
	u64 *up, *down, t0;
	unsigned int i;
	int ret = -ENOMEM;

	lockdep_assert_held(&bench_lock);
	up = kcalloc(rounds, sizeof(*up), GFP_KERNEL);
	down = kcalloc(rounds, sizeof(*down), GFP_KERNEL);
	if (!up || !down)
		goto out;
	for (i = 0; i < rounds; i++) {
		t0 = ktime_get_ns();
		at = dma_buf_dynamic_attach(buf, &bench_pdev->dev,
					    &bench_attach_ops, NULL);
		if (IS_ERR(at)) {
			ret = PTR_ERR(at);
			dev_warn(&bench_pdev->dev, "p2pbar_bench: attach: %d\n", ret);
			goto out;
		}
		dma_resv_lock(buf->resv, NULL);
		sgt = dma_buf_map_attachment(at, DMA_BIDIRECTIONAL);
		dma_resv_unlock(buf->resv);
		up[i] = ktime_get_ns() - t0;
		if (IS_ERR(sgt)) {
			ret = PTR_ERR(sgt);
			dev_warn(&bench_pdev->dev, "p2pbar_bench: map: %d\n", ret);
			dma_buf_detach(buf, at);
			goto out;
		}
		t0 = ktime_get_ns();
		dma_resv_lock(buf->resv, NULL);
		dma_buf_unmap_attachment(at, sgt, DMA_BIDIRECTIONAL);
		dma_resv_unlock(buf->resv);
		dma_buf_detach(buf, at);
		down[i] = ktime_get_ns() - t0;
	}
	time_report("attach_map", up, rounds);
	time_report("unmap_detach", down, rounds);
	ret = 0;
out:
	kfree(up);
	kfree(down);
	return ret;
}

static int bench_copy(struct dma_buf *buf, unsigned int rounds)
{
	u64 *to = NULL, *from = NULL, *ram = NULL, t0;
	void *a = NULL, *b = NULL;
	struct iosys_map map;
	unsigned int i;
	int ret = -ENOMEM;

	lockdep_assert_held(&bench_lock);
	to = kcalloc(rounds, sizeof(*to), GFP_KERNEL);
	from = kcalloc(rounds, sizeof(*from), GFP_KERNEL);
	ram = kcalloc(rounds, sizeof(*ram), GFP_KERNEL);
	a = kvzalloc(buf->size, GFP_KERNEL);
	b = kvzalloc(buf->size, GFP_KERNEL);
	if (!to || !from || !ram || !a || !b)
		goto out;
	ret = dma_buf_vmap_unlocked(buf, &map);
	if (ret) {
		dev_warn(&bench_pdev->dev, "p2pbar_bench: vmap: %d\n", ret);
		goto out;
	}
	for (i = 0; i < rounds; i++) {
		t0 = ktime_get_ns();
		iosys_map_memcpy_to(&map, 0, a, buf->size);
		to[i] = ktime_get_ns() - t0;
		t0 = ktime_get_ns();
		iosys_map_memcpy_from(b, &map, 0, buf->size);
		from[i] = ktime_get_ns() - t0;
		t0 = ktime_get_ns();
		memcpy(b, a, buf->size);
		ram[i] = ktime_get_ns() - t0;
		cond_resched();
	}
	dma_buf_vunmap_unlocked(buf, &map);
	time_report("copy_to_bar", to, rounds);
	time_report("copy_from_bar", from, rounds);
	time_report("memcpy_ram", ram, rounds);
out:
	kvfree(a);
	kvfree(b);
	kfree(to);
	kfree(from);
	kfree(ram);
	return ret;
}

static const struct bench_cmd {
	const char *name;
	int (*fn)(struct dma_buf *buf, unsigned int rounds);
} bench_cmds[] = {
	{ "time", bench_time },
	{ "copy", bench_copy },
};

/* "CMD FD ROUNDS": 0, or -EINVAL. */
static int bench_parse(char *line, const struct bench_cmd **cmd, int *fd,
		       unsigned int *rounds)
{
	char name[8];
	unsigned int i;

	if (sscanf(line, "%7s %d %u", name, fd, rounds) != 3 ||
	    !*rounds || *rounds > MAX_ROUNDS)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(bench_cmds); i++) {
		if (!strcmp(name, bench_cmds[i].name)) {
			*cmd = &bench_cmds[i];
			return 0;
		}
	}
	return -EINVAL;
}

static ssize_t control_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	const struct bench_cmd *cmd;
	unsigned int rounds;
	char line[64] = "";
	struct dma_buf *buf;
	int fd, ret;

	if (len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	ret = bench_parse(line, &cmd, &fd, &rounds);
	if (ret)
		return ret;
	buf = dma_buf_get(fd);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	mutex_lock(&bench_lock);
	seq_buf_clear(&bench_seq);
	ret = cmd->fn(buf, rounds);
	mutex_unlock(&bench_lock);
	dma_buf_put(buf);
	return ret ? ret : len;
}

/* The last answer, from a new open (written and read through one fd). */
static int control_show(struct seq_file *m, void *v)
{
	mutex_lock(&bench_lock);
	seq_write(m, bench_out, seq_buf_used(&bench_seq));
	mutex_unlock(&bench_lock);
	return 0;
}

static int control_open(struct inode *inode, struct file *file)
{
	return single_open(file, control_show, NULL);
}

static const struct file_operations control_fops = {
	.owner = THIS_MODULE,
	.open = control_open,
	.read = seq_read,
	.write = control_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int __init bench_init(void)
{
	struct device *dev;

	dev = bus_find_device_by_name(&pci_bus_type, NULL, importer);
	if (!dev) {
		pr_err("p2pbar_bench: importer=%s: no such PCI function\n", importer);
		return -ENODEV;
	}
	bench_pdev = to_pci_dev(dev);
	bench_out = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bench_out) {
		pci_dev_put(bench_pdev);
		return -ENOMEM;
	}
	seq_buf_init(&bench_seq, bench_out, PAGE_SIZE);
	bench_dir = debugfs_create_dir("p2pbar_bench", NULL);
	debugfs_create_file("control", 0600, bench_dir, NULL, &control_fops);
	return 0;
}

static void __exit bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
	pci_dev_put(bench_pdev);
	kfree(bench_out);
}

module_init(bench_init);
module_exit(bench_exit);
P2PBAR_IMPORT_NS_DMA_BUF();
MODULE_DESCRIPTION("p2pbar: in-kernel importer for the exporter benchmarks");
MODULE_LICENSE("GPL");
