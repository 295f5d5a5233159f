// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: the storage of the two placements. HOST: an array of system
 * pages. DEVICE: a range of the BAR (p2pbar_alloc.c's allocator), found
 * by evicting movable buffers when the BAR is full.
 *
 * Eviction: when a DEVICE range cannot be found, movable DEVICE buffers
 * are moved to HOST from the head of p->lru (least recently used). The
 * victim's reservation lock is only ever trylocked, never waited for,
 * because the evicting thread may hold another buffer's reservation lock
 * (a migrate to DEVICE): a blocking second ww_mutex without an acquire
 * context could deadlock, a trylock cannot.
 *
 * Lock order: see p2pbar_move.c.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar_drv.h"
#include "p2pbar_compat.h"

/*
 * @size bytes of system pages. With __GFP_ACCOUNT in @gfp (allocations a
 * user asked for) the pages and the array are charged to the caller's
 * memcg. NULL when out of memory (the memcg's included) or when a fatal
 * signal arrives: a dying task must not go on allocating gigabytes; its
 * -ENOMEM is never seen.
 */
struct page **p2pbar_pages_alloc(u64 size, gfp_t gfp)
{
	unsigned long i, n = size >> PAGE_SHIFT;
	struct page **pages;

	pages = kvcalloc(n, sizeof(*pages),
			 GFP_KERNEL | (gfp & __GFP_ACCOUNT));
	if (!pages)
		return NULL;
	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(gfp | __GFP_NOWARN);
		if (!pages[i])
			goto err;
		if (!(i % P2PBAR_COPY_BATCH)) {
			if (fatal_signal_pending(current))
				goto err;
			cond_resched();
		}
	}
	return pages;

err:
	p2pbar_pages_free(pages, size);
	return NULL;
}

void p2pbar_pages_free(struct page **pages, u64 size)
{
	unsigned long i, n = size >> PAGE_SHIFT;

	if (!pages)
		return;
	for (i = 0; i < n && pages[i]; i++)
		__free_page(pages[i]);
	kvfree(pages);
}

/* A movable DEVICE buffer was used: it goes to the LRU's tail. */
void p2pbar_lru_touch(struct p2pbar_buf *buf)
{
	struct p2pbar_dev *p = buf->p;

	spin_lock(&p->lru_lock);
	if (!list_empty(&buf->lru))
		list_move_tail(&buf->lru, &p->lru);
	spin_unlock(&p->lru_lock);
}

void p2pbar_lru_del(struct p2pbar_buf *buf)
{
	spin_lock(&buf->p->lru_lock);
	list_del_init(&buf->lru);
	spin_unlock(&buf->p->lru_lock);
}

/* A DEVICE buffer that may move joins the LRU (at its tail). */
void p2pbar_lru_add(struct p2pbar_buf *buf)
{
	if (buf->flags & P2PBAR_ALLOC_FIXED)
		return;
	spin_lock(&buf->p->lru_lock);
	list_add_tail(&buf->lru, &buf->p->lru);
	spin_unlock(&buf->p->lru_lock);
}

/*
 * The least recently used movable DEVICE buffer, with a reference on its
 * file, rotated to the LRU's tail so the next call offers another one.
 * NULL if none is left or its file is already being released.
 */
static struct file *p2pbar_lru_next(struct p2pbar_dev *p,
				    struct p2pbar_buf **victim)
{
	struct p2pbar_buf *buf;
	struct file *f = NULL;

	rcu_read_lock();
	spin_lock(&p->lru_lock);
	buf = list_first_entry_or_null(&p->lru, struct p2pbar_buf, lru);
	if (buf) {
		list_move_tail(&buf->lru, &p->lru);
		f = get_file_active(&buf->dmabuf->file);
	}
	spin_unlock(&p->lru_lock);
	rcu_read_unlock();
	*victim = buf;
	return f;
}

static bool p2pbar_try_evict(struct p2pbar_buf *buf)
{
	bool done;

	if (!dma_resv_trylock(buf->dmabuf->resv))
		return false;
	done = buf->placement == P2PBAR_PLACEMENT_DEVICE &&
	       !p2pbar_buf_move(buf, P2PBAR_PLACEMENT_HOST,
				P2PBAR_MOVE_EVICTION);
	dma_resv_unlock(buf->dmabuf->resv);
	return done;
}

/*
 * A BAR range of @len bytes, evicting least recently used movable
 * buffers until one is found. Each buffer on the LRU is tried at most
 * once: pinned, busy or locked ones are skipped. -ENOSPC if nothing is
 * left to evict.
 */
int p2pbar_bar_alloc(struct p2pbar_dev *p, u64 len, u64 align, u64 *offset)
{
	struct p2pbar_buf *victim;
	unsigned long tries = 0;
	struct list_head *pos;
	struct file *f;
	int ret;

	for (;;) {
		ret = p2pbar_range_alloc(&p->alloc, len, align, offset);
		if (ret != -ENOSPC)
			return ret;
		if (!tries) {
			spin_lock(&p->lru_lock);
			list_for_each(pos, &p->lru)
				tries++;
			spin_unlock(&p->lru_lock);
			if (!tries)
				return -ENOSPC;
		} else if (!--tries) {
			return -ENOSPC;
		}
		if (fatal_signal_pending(current))
			return -EINTR;
		f = p2pbar_lru_next(p, &victim);
		if (!f)
			continue;
		if (p2pbar_try_evict(victim))
			atomic64_inc(&p->evictions);
		fput(f);
	}
}

/*
 * New storage for @buf in placement @to: HOST pages, or a BAR range
 * (evicting others only when @how allows it).
 */
int p2pbar_storage_new(struct p2pbar_buf *buf, u32 to,
		       enum p2pbar_move_how how, u64 *offset,
		       struct page ***pages)
{
	struct p2pbar_dev *p = buf->p;

	if (to == P2PBAR_PLACEMENT_HOST) {
		*pages = p2pbar_pages_alloc(buf->size, GFP_KERNEL);
		return *pages ? 0 : -ENOMEM;
	}
	if (how == P2PBAR_MOVE_MAY_EVICT)
		return p2pbar_bar_alloc(p, buf->size, buf->align, offset);
	/* An eviction, or a move that must not make room. */
	return p2pbar_range_alloc(&p->alloc, buf->size, buf->align, offset);
}

void p2pbar_storage_free(struct p2pbar_buf *buf, u32 placement, u64 offset,
			 struct page **pages)
{
	if (placement == P2PBAR_PLACEMENT_HOST)
		p2pbar_pages_free(pages, buf->size);
	else
		p2pbar_range_free(&buf->p->alloc, offset, buf->size);
}
