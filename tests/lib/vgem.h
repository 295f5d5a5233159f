/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vgem, the kernel's DRM test driver, for the tests: dma-bufs of an
 * exporter other than p2pbar, and fences that signal when told (or by
 * themselves after vgem's 10 s timeout). Every call returns -1 with
 * errno set on failure; the caller decides whether that fails its test.
 */
#ifndef T_VGEM_H
#define T_VGEM_H

#include <stddef.h>
#include <stdint.h>

/* The primary node (dumb buffers are not render-allowed); ENODEV: none. */
int vgem_open(void);
/* A dumb buffer of at least *size bytes (page-rounded): its handle. */
int vgem_dumb(int card, size_t *size, uint32_t *handle);
/* The buffer exported with PRIME: a dma-buf fd. */
int vgem_export(int card, uint32_t handle);

/* A write fence on a dumb buffer, as a sync_file fd of that buffer. */
struct vgem_fence {
	int card;
	uint32_t fence;
	int sync_file;
};

int vgem_fence_new(struct vgem_fence *f);
/*
 * Signal it (ETIMEDOUT: it signalled by itself, fine) and close the card;
 * the sync_file is the caller's to close.
 */
int vgem_fence_done(struct vgem_fence *f);

#endif /* T_VGEM_H */
