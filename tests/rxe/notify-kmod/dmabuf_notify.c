// SPDX-License-Identifier: GPL-2.0
/*
 * Test only: deliver move_notify to the importers of a dma-buf, the way an
 * exporter does before it moves a buffer (reservation lock held), without
 * moving anything. Until the exporter has its own move path this is how the
 * rxe tests exercise rxe's move_notify with traffic running.
 *
 * echo "FD COUNT" > /sys/kernel/debug/dmabuf_notify
 *   FD is a dma-buf fd of the writing process; COUNT notifications are
 *   delivered, one per lock round trip.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

static struct dentry *dmabuf_notify_file;

static ssize_t dmabuf_notify_write(struct file *file, const char __user *ubuf,
				   size_t len, loff_t *ppos)
{
	struct dma_buf *dmabuf;
	unsigned int count, i;
	char buf[32];
	int fd;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%d %u", &fd, &count) != 2 || count > 1000000)
		return -EINVAL;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	for (i = 0; i < count; i++) {
		dma_resv_lock(dmabuf->resv, NULL);
		dma_buf_move_notify(dmabuf);
		dma_resv_unlock(dmabuf->resv);
		cond_resched();
	}
	dma_buf_put(dmabuf);
	return len;
}

static const struct file_operations dmabuf_notify_fops = {
	.owner = THIS_MODULE,
	.write = dmabuf_notify_write,
};

static int __init dmabuf_notify_init(void)
{
	dmabuf_notify_file = debugfs_create_file("dmabuf_notify", 0200, NULL,
						 NULL, &dmabuf_notify_fops);
	return 0;
}

static void __exit dmabuf_notify_exit(void)
{
	debugfs_remove(dmabuf_notify_file);
}

module_init(dmabuf_notify_init);
module_exit(dmabuf_notify_exit);
MODULE_DESCRIPTION("Test only: deliver dma-buf move_notify on demand");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
