// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: placements and moves between them.
 *
 * A buffer lives in DEVICE (a range of the BAR) or HOST (an array of
 * system pages). A move, always under the buffer's reservation lock:
 * refuse if an importer pins it or holds our vmap, check its fences,
 * prepare the new storage, dma_buf_move_notify() so dynamic importers
 * drop their mappings, refuse if one still holds an sg_table, check the
 * fences again, zap user mappings (they fault in the new place), copy,
 * switch, free the old storage (p2pbar_storage.c). Nobody waits for a
 * fence under the reservation lock for more than P2PBAR_MOVE_FENCE_WAIT
 * (-EAGAIN then): MIGRATE waits for them before it takes the lock, so a
 * fence that never signals blocks no other call on the buffer
 * (BUF_INFO, faults, revoke).
 *
 * Lock order (outermost first):
 *   mmap_lock > dma_resv (fault) > i_mmap_rwsem (zap)
 *   dma_resv > p->lock (read, while the BAR is touched)
 *   dma_resv > allocator mutex
 *   dma_resv > p->lru_lock (spinlock, innermost: nothing nests in it
 *              but the victim's file reference, an atomic)
 *   p->revoke_lock > dma_resv (revoke, p2pbar_revoke.c)
 * A victim's dma_resv is trylocked with nothing but the mover's own
 * dma_resv held, after p->lru_lock was dropped.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar_drv.h"
#include "p2pbar_compat.h"
#include "p2pbar_trace.h"

/* The longest a move waits for a fence with the reservation lock held. */
#define P2PBAR_MOVE_FENCE_WAIT (HZ / 10)

/* Copy @buf between its BAR range @offset and @pages; p->lock is held. */
static int p2pbar_copy(struct p2pbar_buf *buf, u64 offset,
		       struct page **pages, bool to_device)
{
	void __iomem *bar = buf->p->bar_map + offset;
	unsigned long i, n = buf->size >> PAGE_SHIFT;

	for (i = 0; i < n; i++) {
		if (to_device)
			memcpy_toio(bar + i * PAGE_SIZE,
				    page_address(pages[i]), PAGE_SIZE);
		else
			memcpy_fromio(page_address(pages[i]),
				      bar + i * PAGE_SIZE, PAGE_SIZE);
		if (!(i % P2PBAR_COPY_BATCH)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	if (to_device)
		wmb(); /* WC stores reach the BAR before the move is published */
	return 0;
}

/*
 * Wait, briefly, for every fence of @buf under its reservation lock:
 * 0 when all have signalled, -EAGAIN if some have not (the caller waits
 * without the lock and tries again, or gives up), -ERESTARTSYS.
 */
static int p2pbar_fences_done(struct p2pbar_buf *buf,
			      enum p2pbar_move_how how)
{
	long wait = how == P2PBAR_MOVE_EVICTION ||
		    how == P2PBAR_MOVE_OPPORTUNISTIC ? 0 : P2PBAR_MOVE_FENCE_WAIT;
	long ret;

	ret = dma_resv_wait_timeout(buf->dmabuf->resv, DMA_RESV_USAGE_BOOKKEEP,
				    true, wait);
	if (ret < 0)
		return ret;
	return ret ? 0 : -EAGAIN;
}

/*
 * Move @buf to placement @to; the caller holds its reservation lock and
 * a reference on its dma-buf. On failure the buffer is where it was.
 */
int p2pbar_buf_move(struct p2pbar_buf *buf, u32 to, enum p2pbar_move_how how)
{
	struct dma_buf *dmabuf = buf->dmabuf;
	struct p2pbar_dev *p = buf->p;
	struct page **pages = NULL;
	u64 offset = 0;
	int ret;

	dma_resv_assert_held(dmabuf->resv);
	if (p2pbar_buf_dead(buf))
		return -ENODEV;
	if (buf->placement == to)
		return 0;
	if (buf->flags & P2PBAR_ALLOC_FIXED)
		return -EPERM;
	/*
	 * Pins and vmaps are not dropped on move_notify: refuse before
	 * anyone is notified or storage is taken, so that an eviction pass
	 * does not invalidate the importers of buffers it cannot move.
	 */
	if (buf->pin_count || buf->vmapped)
		return -EBUSY;
	if (to == P2PBAR_PLACEMENT_DEVICE && atomic_read(&buf->nop2p))
		return -EBUSY;
	ret = p2pbar_fences_done(buf, how);
	if (ret)
		return ret;

	ret = p2pbar_storage_new(buf, to, how, &offset, &pages);
	if (ret)
		goto out;

	p2pbar_invalidate_mappings(dmabuf);
	if (buf->map_count) {
		dev_dbg(&p->dev, "buffer %llu: an importer kept its mapping after move_notify\n",
			buf->id);
		ret = -EBUSY;
		goto err_free;
	}
	/* Work the importers queued before letting go must finish first. */
	ret = p2pbar_fences_done(buf, how);
	if (ret)
		goto err_free;
	unmap_mapping_range(dmabuf->file->f_mapping, 0, 0, 1);

	down_read(&p->lock);
	if (p->gone)
		ret = -ENODEV;
	else if (to == P2PBAR_PLACEMENT_HOST)
		ret = p2pbar_copy(buf, buf->offset, pages, false);
	else
		ret = p2pbar_copy(buf, offset, buf->pages, true);
	up_read(&p->lock);
	if (ret)
		goto err_free;

	if (to == P2PBAR_PLACEMENT_HOST) {
		p2pbar_lru_del(buf);
		p2pbar_range_free(&p->alloc, buf->offset, buf->size);
		buf->pages = pages;
		buf->offset = 0;
	} else {
		p2pbar_pages_free(buf->pages, buf->size);
		buf->pages = NULL;
		buf->offset = offset;
		p2pbar_lru_add(buf);
	}
	buf->placement = to;
	buf->moves++;
	atomic64_inc(&p->migrations);
	atomic64_add(buf->size, &p->bytes_moved);
	dev_dbg(&p->dev, "buffer %llu moved to %s%s\n", buf->id,
		to == P2PBAR_PLACEMENT_HOST ? "host" : "device",
		how == P2PBAR_MOVE_EVICTION ? " (evicted)" : "");
	goto out;

err_free:
	p2pbar_storage_free(buf, to, offset, pages);
out:
	trace_p2pbar_move(buf->id, to, buf->size, how == P2PBAR_MOVE_EVICTION,
			  ret);
	return ret;
}
