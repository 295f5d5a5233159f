// SPDX-License-Identifier: GPL-2.0
/*
 * Test only: deliver move_notify to the importers of a dma-buf, the way an
 * exporter does before it moves or revokes a buffer (reservation lock
 * held), without moving anything. For a pinned importer (rxe) that is a
 * revocation: the rxe tests use it to revoke an MR during traffic.
 *
 * echo "FD COUNT" > /sys/kernel/debug/dmabuf_notify
 *   FD is a dma-buf fd of the writing process; COUNT notifications are
 *   delivered, one per lock round trip.
 * echo "fence FD" > /sys/kernel/debug/dmabuf_notify
 *   a move that does not finish: an unsignalled KERNEL-usage fence is
 *   added to the buffer's reservation object (as an exporter does for an
 *   asynchronous move) and move_notify delivered, under one lock hold.
 *   Userspace cannot add a KERNEL-usage fence (DMA_BUF_IOCTL_IMPORT_SYNC_FILE
 *   adds READ or WRITE usage), and the exporter's own moves are synchronous.
 * echo signal > /sys/kernel/debug/dmabuf_notify
 *   signals that fence (so does unloading the module).
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "p2pbar_compat.h"

static struct dentry *dmabuf_notify_file;

static const char *dmabuf_notify_fence_name(struct dma_fence *fence)
{
	return "dmabuf_notify";
}

static const struct dma_fence_ops dmabuf_notify_fence_ops = {
	.get_driver_name = dmabuf_notify_fence_name,
	.get_timeline_name = dmabuf_notify_fence_name,
};

static DEFINE_SPINLOCK(dmabuf_notify_fence_lock);
static DEFINE_MUTEX(dmabuf_notify_mutex);
static struct dma_fence *dmabuf_notify_fence; /* the pending one */
static u64 dmabuf_notify_context, dmabuf_notify_seqno;

static int dmabuf_notify_add_fence(int fd)
{
	struct dma_buf *dmabuf;
	struct dma_fence *fence;
	int ret;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	mutex_lock(&dmabuf_notify_mutex);
	ret = -EBUSY;
	if (dmabuf_notify_fence)
		goto out;
	ret = -ENOMEM;
	fence = kzalloc(sizeof(*fence), GFP_KERNEL);
	if (!fence)
		goto out;
	dma_fence_init(fence, &dmabuf_notify_fence_ops,
		       &dmabuf_notify_fence_lock, dmabuf_notify_context,
		       ++dmabuf_notify_seqno);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_resv_reserve_fences(dmabuf->resv, 1);
	if (!ret) {
		dma_resv_add_fence(dmabuf->resv, fence, DMA_RESV_USAGE_KERNEL);
		p2pbar_invalidate_mappings(dmabuf);
	}
	dma_resv_unlock(dmabuf->resv);
	if (ret)
		dma_fence_put(fence);
	else
		dmabuf_notify_fence = fence;
out:
	mutex_unlock(&dmabuf_notify_mutex);
	dma_buf_put(dmabuf);
	return ret;
}

static void dmabuf_notify_signal(void)
{
	mutex_lock(&dmabuf_notify_mutex);
	if (dmabuf_notify_fence) {
		dma_fence_signal(dmabuf_notify_fence);
		dma_fence_put(dmabuf_notify_fence);
		dmabuf_notify_fence = NULL;
	}
	mutex_unlock(&dmabuf_notify_mutex);
}

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
	if (sscanf(buf, "fence %d", &fd) == 1) {
		int ret = dmabuf_notify_add_fence(fd);

		return ret ? ret : len;
	}
	if (!strncmp(buf, "signal", 6)) {
		dmabuf_notify_signal();
		return len;
	}
	if (sscanf(buf, "%d %u", &fd, &count) != 2 || count > 1000000)
		return -EINVAL;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	for (i = 0; i < count; i++) {
		dma_resv_lock(dmabuf->resv, NULL);
		p2pbar_invalidate_mappings(dmabuf);
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
	dmabuf_notify_context = dma_fence_context_alloc(1);
	dmabuf_notify_file = debugfs_create_file("dmabuf_notify", 0200, NULL,
						 NULL, &dmabuf_notify_fops);
	return 0;
}

static void __exit dmabuf_notify_exit(void)
{
	debugfs_remove(dmabuf_notify_file);
	dmabuf_notify_signal();
}

module_init(dmabuf_notify_init);
module_exit(dmabuf_notify_exit);
MODULE_DESCRIPTION("Test only: deliver dma-buf move_notify on demand");
MODULE_LICENSE("GPL");
P2PBAR_IMPORT_NS_DMA_BUF();
