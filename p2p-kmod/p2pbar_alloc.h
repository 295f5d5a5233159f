/* SPDX-License-Identifier: GPL-2.0 */
/* p2pbar: the BAR range allocator. */
#ifndef P2PBAR_ALLOC_H
#define P2PBAR_ALLOC_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

/**
 * struct p2pbar_allocator - free extents of the BAR, sorted by offset
 * @lock:    protects everything below
 * @free:    list of struct p2pbar_extent, sorted, never adjacent
 * @size:    bytes managed
 * @used:    bytes allocated
 * @granule: every offset and length is a multiple of it (PAGE_SIZE)
 */
struct p2pbar_allocator {
	struct mutex lock; /* protects the fields below */
	struct list_head free;
	u64 size;
	u64 used;
	u64 granule;
};

int p2pbar_allocator_init(struct p2pbar_allocator *a, u64 size, u64 granule);
void p2pbar_allocator_destroy(struct p2pbar_allocator *a);
int p2pbar_range_alloc(struct p2pbar_allocator *a, u64 len, u64 align,
		       u64 *start);
void p2pbar_range_free(struct p2pbar_allocator *a, u64 start, u64 len);
u64 p2pbar_allocator_used(struct p2pbar_allocator *a);

#endif /* P2PBAR_ALLOC_H */
