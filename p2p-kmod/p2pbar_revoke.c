// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: revoke (RESET and unbind) that drains, as the 7.1 dma-buf
 * contract and vfio_pci_dmabuf.c do it.
 *
 * Revoking a buffer, under its reservation lock: mark it revoked (maps,
 * pins, attaches, mmap faults and moves fail from now on), tell dynamic
 * importers (move_notify / invalidate_mappings), zap every CPU mapping.
 * Then, without the lock, wait a bounded time for its fences (all
 * usages): work queued against the old mapping must be done. A DEVICE
 * buffer's BAR range goes back to the allocator only when no importer
 * holds it any more (no pin, no sg_table, no vmap) and its fences have
 * signalled; the last unmap, unpin or vunmap returns it (a fence that
 * did not signal in time keeps it until the buffer is released).
 * Unbind waits, killably, until every range is back before the PCI
 * region is released; if it is killed first the last importer to let
 * go releases the region, so a new owner of the BAR never sees old DMA.
 *
 * Lock order: p->revoke_lock > dma_resv > i_mmap_rwsem (zap) and
 * p->bufs_lock only briefly on its own; no wait for a fence happens
 * under bufs_lock or a reservation lock, so one buffer's fence blocks
 * no call on another buffer.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar_drv.h"
#include "p2pbar_compat.h"
#include "p2pbar_trace.h"

/* How long a revoke waits for the fences of the buffers it revokes. */
#define P2PBAR_REVOKE_FENCE_WAIT	(2 * HZ)
/* How often unbind names the importers it is still waiting for. */
#define P2PBAR_DRAIN_WARN_EVERY		(10 * HZ)

/* One user of the BAR region fewer; the last releases it. */
void p2pbar_bar_put(struct p2pbar_dev *p)
{
	if (atomic_dec_and_test(&p->bar_users)) {
		pci_release_region(p->region_pdev, p->bar);
		dev_dbg(&p->dev, "BAR %d released\n", p->bar);
	}
	wake_up_all(&p->drain_wq);
}

/* A draining range back to the allocator, and the region's user with it. */
static void p2pbar_range_return(struct p2pbar_buf *buf)
{
	struct p2pbar_dev *p = buf->p;

	p2pbar_range_free(&p->alloc, buf->offset, buf->size);
	buf->range = P2PBAR_RANGE_RETURNED;
	dev_dbg(&p->dev, "buffer %llu: revoked range returned\n", buf->id);
	p2pbar_bar_put(p);
}

/*
 * Give a revoked DEVICE buffer's range back once nothing can reach it.
 * Called under the reservation lock by revoke, unmap, unpin, vunmap.
 */
void p2pbar_buf_drain(struct p2pbar_buf *buf)
{
	dma_resv_assert_held(buf->dmabuf->resv);
	if (buf->range != P2PBAR_RANGE_DRAINING || buf->fences_pending ||
	    buf->pin_count || buf->map_count ||
	    (buf->vmapped && !buf->vmap_dummy))
		return;
	p2pbar_range_return(buf);
}

/* Release of a buffer still draining: nobody holds it any more. */
void p2pbar_buf_drain_release(struct p2pbar_buf *buf)
{
	if (buf->range == P2PBAR_RANGE_DRAINING)
		p2pbar_range_return(buf);
}

/*
 * No new use, importers told, no CPU mapping left. Pinned importers take
 * the invalidation as a permanent revocation and unpin (rxe, irdma);
 * that is how a CPU importer learns of it too, with no fence of ours.
 */
static bool p2pbar_buf_revoke(struct p2pbar_buf *buf, struct file *f)
{
	struct dma_resv *resv = buf->dmabuf->resv;

	dma_resv_lock(resv, NULL);
	if (buf->revoked) {
		dma_resv_unlock(resv);
		return false;
	}
	trace_p2pbar_revoke(buf->id);
	WRITE_ONCE(buf->revoked, true);
	buf->fences_pending = true;
	p2pbar_invalidate_mappings(buf->dmabuf);
	/* Before the range can be reused, no PTE may point at it. */
	unmap_mapping_range(f->f_mapping, 0, 0, 1);
	if (buf->placement == P2PBAR_PLACEMENT_DEVICE) {
		p2pbar_lru_del(buf);
		buf->range = P2PBAR_RANGE_DRAINING;
		atomic_inc(&buf->p->bar_users);
	}
	dma_resv_unlock(resv);
	return true;
}

/* Wait for the buffer's fences until @deadline, then drain. */
static void p2pbar_buf_revoke_wait(struct p2pbar_buf *buf,
				   unsigned long deadline, bool intr)
{
	struct dma_resv *resv = buf->dmabuf->resv;
	long left = time_before(jiffies, deadline) ? deadline - jiffies : 0;
	long ret;

	ret = dma_resv_wait_timeout(resv, DMA_RESV_USAGE_BOOKKEEP, intr, left);
	dma_resv_lock(resv, NULL);
	buf->fences_pending = ret <= 0;
	if (buf->fences_pending && buf->range == P2PBAR_RANGE_DRAINING)
		dev_warn(&buf->p->dev, "buffer %llu revoked with fences still pending: its BAR range stays taken until the buffer is freed\n",
			 buf->id);
	p2pbar_buf_drain(buf);
	dma_resv_unlock(resv);
}

/*
 * Revoke every buffer the device has now: on unbind (p->gone is set) or
 * RESET (@reset; a signal cuts the fence wait short, the buffers are
 * revoked all the same). Returns how many buffers were revoked.
 */
u64 p2pbar_bufs_revoke(struct p2pbar_dev *p, bool reset)
{
	unsigned long deadline;
	struct p2pbar_buf *buf, *tmp;
	LIST_HEAD(todo);
	u64 n = 0;

	mutex_lock(&p->revoke_lock);
	/*
	 * Hold each file, so the buffers outlive the unlocked passes; a
	 * file whose count already hit zero has no mapping and no
	 * importer left, and its release frees the storage.
	 */
	mutex_lock(&p->bufs_lock);
	list_for_each_entry(buf, &p->bufs, node) {
		buf->revoke_file = get_file_active(&buf->dmabuf->file);
		if (buf->revoke_file)
			list_add_tail(&buf->revoke_node, &todo);
	}
	mutex_unlock(&p->bufs_lock);

	list_for_each_entry_safe(buf, tmp, &todo, revoke_node) {
		if (p2pbar_buf_revoke(buf, buf->revoke_file)) {
			n++;
			continue;
		}
		list_del(&buf->revoke_node);
		fput(buf->revoke_file);
	}

	deadline = jiffies + P2PBAR_REVOKE_FENCE_WAIT;
	list_for_each_entry_safe(buf, tmp, &todo, revoke_node) {
		p2pbar_buf_revoke_wait(buf, deadline, reset);
		list_del(&buf->revoke_node);
		fput(buf->revoke_file);
	}
	mutex_unlock(&p->revoke_lock);
	if (n)
		dev_info(&p->dev, "%s: %llu live buffers revoked; they fail with -ENODEV from now on\n",
			 reset ? "reset" : "device gone", n);
	return n;
}

/* Name what still holds revoked BAR ranges. */
static void p2pbar_drain_report(struct p2pbar_dev *p)
{
	struct dma_buf_attachment *at;
	struct p2pbar_buf *buf;

	mutex_lock(&p->bufs_lock);
	list_for_each_entry(buf, &p->bufs, node) {
		struct dma_resv *resv = buf->dmabuf->resv;

		if (READ_ONCE(buf->range) != P2PBAR_RANGE_DRAINING)
			continue;
		if (!dma_resv_trylock(resv)) {
			dev_warn(&p->dev, "unbind waits for buffer %llu (busy)\n",
				 buf->id);
			continue;
		}
		dev_warn(&p->dev, "unbind waits for buffer %llu: %u pins, %u mappings%s%s\n",
			 buf->id, buf->pin_count, buf->map_count,
			 buf->vmapped ? ", a vmap" : "",
			 buf->fences_pending ? ", unsignalled fences" : "");
		list_for_each_entry(at, &buf->dmabuf->attachments, node)
			dev_warn(&p->dev, "  attached: %s %s\n",
				 dev_driver_string(at->dev), dev_name(at->dev));
		dma_resv_unlock(resv);
	}
	mutex_unlock(&p->bufs_lock);
}

/*
 * Unbind: wait until every revoked range is back, naming the holders
 * now and then. A fatal signal ends the wait; the region is then
 * released by whoever lets go last (p2pbar_bar_put). Drops the
 * binding's own use of the region either way.
 */
void p2pbar_drain_wait(struct p2pbar_dev *p)
{
	long ret;

	for (;;) {
		ret = wait_event_killable_timeout(p->drain_wq,
						  atomic_read(&p->bar_users) == 1,
						  P2PBAR_DRAIN_WARN_EVERY);
		if (ret > 0)
			break;
		if (ret < 0) {
			dev_warn(&p->dev, "unbind interrupted: the BAR is released when its last importer lets go\n");
			break;
		}
		p2pbar_drain_report(p);
	}
	p2pbar_bar_put(p);
}
