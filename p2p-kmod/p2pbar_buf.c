// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: a buffer's life from the ioctls' side: ALLOC (storage, zeroed,
 * exported as a dma-buf), the lookup of a dma-buf fd, BUF_INFO and
 * MIGRATE. The dma_buf_ops are in p2pbar_dmabuf.c, the storage in
 * p2pbar_storage.c, moves in p2pbar_move.c, revoke in p2pbar_revoke.c.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/io.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar_drv.h"

/* Zero in chunks, so a huge buffer does not hog the CPU. */
#define P2PBAR_ZERO_CHUNK SZ_1M

static int p2pbar_zero(struct p2pbar_dev *p, u64 offset, u64 size)
{
	u64 done;

	for (done = 0; done < size; done += P2PBAR_ZERO_CHUNK) {
		memset_io(p->bar_map + offset + done, 0,
			  min_t(u64, size - done, P2PBAR_ZERO_CHUNK));
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	/* The zeros reach the BAR before the buffer is handed out. */
	wmb();
	return 0;
}

/*
 * Allocate, zero and export a buffer of args->length bytes (already
 * validated and page aligned). On success fills args->id and ->offset
 * and returns the dma-buf; the caller installs the fd. After export,
 * every cleanup goes through dma_buf_put() and p2pbar_release().
 */
int p2pbar_buf_export(struct p2pbar_dev *p, struct p2pbar_alloc *args,
		      struct dma_buf **out)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp);
	struct p2pbar_buf *buf;
	struct dma_buf *dmabuf;
	u64 offset = 0;
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	buf->p = p;
	buf->size = args->length;
	buf->align = args->align;
	buf->flags = args->flags;
	buf->placement = args->placement;
	atomic_set(&buf->attachments, 0);
	atomic_set(&buf->nop2p, 0);
	INIT_LIST_HEAD(&buf->node);
	INIT_LIST_HEAD(&buf->lru);
	INIT_LIST_HEAD(&buf->revoke_node);

	if (buf->placement == P2PBAR_PLACEMENT_HOST) {
		/* Pages a user asked for: charged to the caller's memcg. */
		buf->pages = p2pbar_pages_alloc(buf->size,
						GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		ret = buf->pages ? 0 : -ENOMEM;
		if (ret)
			goto err_buf;
	} else {
		ret = p2pbar_bar_alloc(p, args->length, args->align, &offset);
		if (ret == -ENOSPC)
			dev_info_ratelimited(&p->dev,
					     "BAR full: no free range of %llu bytes even after eviction (%llu of %llu used)\n",
					     args->length,
					     p2pbar_allocator_used(&p->alloc),
					     (u64)p->alloc.size);
		if (ret)
			goto err_buf;
		down_read(&p->lock);
		ret = p->gone ? -ENODEV : p2pbar_zero(p, offset, args->length);
		up_read(&p->lock);
		if (ret)
			goto err_storage;
		buf->offset = offset;
	}

	exp.exp_name = "p2pbar";
	exp.owner = THIS_MODULE;
	exp.ops = &p2pbar_dmabuf_ops;
	exp.size = buf->size;
	exp.flags = O_RDWR;
	exp.priv = buf;
	dmabuf = dma_buf_export(&exp);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_storage;
	}
	buf->dmabuf = dmabuf;
	get_device(&p->dev);

	mutex_lock(&p->bufs_lock);
	buf->id = ++p->next_id;
	list_add_tail(&buf->node, &p->bufs);
	p->nbufs++;
	mutex_unlock(&p->bufs_lock);
	if (buf->placement == P2PBAR_PLACEMENT_DEVICE)
		p2pbar_lru_add(buf);

	args->id = buf->id;
	args->offset = buf->offset;
	*out = dmabuf;
	return 0;

err_storage:
	p2pbar_storage_free(buf, buf->placement, offset, buf->pages);
err_buf:
	kfree(buf);
	return ret;
}

/* The p2pbar dma-buf of this device behind @fd, with a reference. */
static struct dma_buf *p2pbar_buf_get(struct p2pbar_dev *p, int fd)
{
	struct dma_buf *dmabuf = dma_buf_get(fd);

	if (IS_ERR(dmabuf))
		return dmabuf;
	if (dmabuf->ops != &p2pbar_dmabuf_ops ||
	    ((struct p2pbar_buf *)dmabuf->priv)->p != p) {
		dma_buf_put(dmabuf);
		return ERR_PTR(-EINVAL);
	}
	return dmabuf;
}

int p2pbar_buf_migrate(struct p2pbar_dev *p, int fd, u32 placement)
{
	struct dma_buf *dmabuf = p2pbar_buf_get(p, fd);
	struct p2pbar_buf *buf;
	int ret;

	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf->priv;
	/*
	 * Wait for the fences without the reservation lock, so a fence
	 * that never signals holds up only this call (interruptibly).
	 */
	do {
		long wait = dma_resv_wait_timeout(dmabuf->resv,
						  DMA_RESV_USAGE_BOOKKEEP, true,
						  MAX_SCHEDULE_TIMEOUT);

		ret = wait < 0 ? wait : 0;
		if (!ret)
			ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
		if (ret)
			break;
		ret = p2pbar_buf_move(buf, placement, P2PBAR_MOVE_MAY_EVICT);
		dma_resv_unlock(dmabuf->resv);
	} while (ret == -EAGAIN);
	if (ret && ret != -EINTR && ret != -ERESTARTSYS)
		dev_dbg(&p->dev, "buffer %llu: migrate to %u failed: %d\n",
			buf->id, placement, ret);
	dma_buf_put(dmabuf);
	return ret;
}

int p2pbar_buf_info(struct p2pbar_dev *p, struct p2pbar_buf_info *args)
{
	struct p2pbar_buf *buf;
	struct dma_buf *dmabuf;
	int ret;

	dmabuf = p2pbar_buf_get(p, args->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf->priv;
	args->id = buf->id;
	args->length = buf->size;
	args->alloc_flags = buf->flags;
	args->attachments = atomic_read(&buf->attachments);
	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (!ret) {
		args->placement = buf->placement;
		args->offset = buf->offset;
		args->pin_count = buf->pin_count;
		args->moves = buf->moves;
		args->status = p2pbar_buf_dead(buf) ? P2PBAR_BUF_REVOKED : 0;
		dma_resv_unlock(dmabuf->resv);
	}
	dma_buf_put(dmabuf);
	return ret;
}
