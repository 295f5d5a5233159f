// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: carve the BAR into buffers.
 *
 * A sorted list of free extents, first fit, coalesced on free. The
 * number of extents is bounded by the number of live buffers + 1, and a
 * free merges with both neighbours, so the whole BAR comes back as one
 * extent once every buffer is gone. The list is walked under a mutex;
 * allocations are rare (one per dma-buf), so this is not a hot path.
 */
#include <linux/slab.h>

#include "p2pbar_alloc.h"

struct p2pbar_extent {
	struct list_head node;
	u64 start;
	u64 len;
};

int p2pbar_allocator_init(struct p2pbar_allocator *a, u64 size, u64 granule)
{
	struct p2pbar_extent *e;

	mutex_init(&a->lock);
	INIT_LIST_HEAD(&a->free);
	a->granule = granule;
	a->size = round_down(size, granule);
	a->used = 0;
	if (!a->size)
		return 0;
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	e->len = a->size;
	list_add(&e->node, &a->free);
	return 0;
}

void p2pbar_allocator_destroy(struct p2pbar_allocator *a)
{
	struct p2pbar_extent *e, *tmp;

	WARN_ON(a->used);
	list_for_each_entry_safe(e, tmp, &a->free, node) {
		list_del(&e->node);
		kfree(e);
	}
	mutex_destroy(&a->lock);
}

/*
 * Find @len bytes aligned to @align (a power of two, >= granule) and
 * store their offset in *@start. Returns -ENOSPC if no free extent fits.
 */
int p2pbar_range_alloc(struct p2pbar_allocator *a, u64 len, u64 align,
		       u64 *start)
{
	struct p2pbar_extent *e, *tail;
	int ret = -ENOSPC;

	if (!len || len % a->granule || !is_power_of_2(align) ||
	    align < a->granule)
		return -EINVAL;
	/* A split may need a node: allocate it before taking the lock. */
	tail = kzalloc(sizeof(*tail), GFP_KERNEL);
	if (!tail)
		return -ENOMEM;

	mutex_lock(&a->lock);
	list_for_each_entry(e, &a->free, node) {
		u64 end = e->start + e->len;
		u64 s = round_up(e->start, align);

		if (s < e->start || s >= end || end - s < len)
			continue;
		if (s + len < end) {
			/* Keep the tail behind the allocation free. */
			tail->start = s + len;
			tail->len = end - (s + len);
			list_add(&tail->node, &e->node);
			tail = NULL;
		}
		if (s > e->start) {
			e->len = s - e->start;
		} else {
			list_del(&e->node);
			kfree(e);
		}
		a->used += len;
		*start = s;
		ret = 0;
		break;
	}
	mutex_unlock(&a->lock);
	kfree(tail);
	return ret;
}

/* Return [@start, @start + @len) to the free list, merging neighbours. */
void p2pbar_range_free(struct p2pbar_allocator *a, u64 start, u64 len)
{
	struct p2pbar_extent *e, *prev = NULL, *next = NULL, *n;

	/* Freeing must not fail; the node is tiny. */
	n = kzalloc(sizeof(*n), GFP_KERNEL | __GFP_NOFAIL);

	mutex_lock(&a->lock);
	list_for_each_entry(e, &a->free, node) {
		if (e->start > start) {
			next = e;
			break;
		}
		prev = e;
	}
	if (WARN_ON((prev && prev->start + prev->len > start) ||
		    (next && start + len > next->start))) {
		/* Double free or corruption: leak rather than overlap. */
		mutex_unlock(&a->lock);
		kfree(n);
		return;
	}
	a->used -= len;
	if (prev && prev->start + prev->len == start) {
		prev->len += len;
		if (next && prev->start + prev->len == next->start) {
			prev->len += next->len;
			list_del(&next->node);
			kfree(next);
		}
	} else if (next && start + len == next->start) {
		next->start = start;
		next->len += len;
	} else {
		n->start = start;
		n->len = len;
		if (next)
			list_add_tail(&n->node, &next->node);
		else
			list_add_tail(&n->node, &a->free);
		n = NULL;
	}
	mutex_unlock(&a->lock);
	kfree(n);
}

u64 p2pbar_allocator_used(struct p2pbar_allocator *a)
{
	u64 used;

	mutex_lock(&a->lock);
	used = a->used;
	mutex_unlock(&a->lock);
	return used;
}
