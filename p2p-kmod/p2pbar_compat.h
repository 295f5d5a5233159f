/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2pbar: kernel API differences between the kernels we build for
 * (Debian bookworm 6.1, trixie 6.12, sid 7.x), in one place.
 *
 * dma_buf_ops.vmap takes a struct iosys_map in all of them (the
 * dma_buf_map name was gone by 5.18), so no shim is needed there.
 */
#ifndef P2PBAR_COMPAT_H
#define P2PBAR_COMPAT_H

#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/version.h>

/* 6.13 made the namespace argument a string literal. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define P2PBAR_IMPORT_NS_DMA_BUF() MODULE_IMPORT_NS("DMA_BUF")
#else
#define P2PBAR_IMPORT_NS_DMA_BUF() MODULE_IMPORT_NS(DMA_BUF)
#endif

/* vm_flags became read-only with accessors in 6.3. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, unsigned long flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * A counted reference to a file whose count may already have dropped to
 * zero (get_file_active() appeared in 6.7). The caller guarantees the
 * struct file itself is not freed meanwhile.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
static inline struct file *get_file_active(struct file **f)
{
	return atomic_long_inc_not_zero(&(*f)->f_count) ? *f : NULL;
}
#endif

/*
 * 6.2 moved dma_buf_vmap() under the reservation lock and added the
 * _unlocked variants; before that dma_buf_vmap() locked by itself.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define dma_buf_vmap_unlocked dma_buf_vmap
#define dma_buf_vunmap_unlocked dma_buf_vunmap
#define dma_buf_map_attachment_unlocked dma_buf_map_attachment
#define dma_buf_unmap_attachment_unlocked dma_buf_unmap_attachment
#endif

/*
 * The exporter's vmap/vunmap under the reservation lock, which guards
 * the buffer's placement: held by the core since 6.2, taken by us
 * before (6.1's dma_buf_vmap() holds only dmabuf->lock).
 */
static inline void p2pbar_vmap_lock(struct dma_resv *resv)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	dma_resv_lock(resv, NULL);
#else
	dma_resv_assert_held(resv);
#endif
}

static inline void p2pbar_vmap_unlock(struct dma_resv *resv)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	dma_resv_unlock(resv);
#endif
}

/*
 * Whether a dynamic importer's map leaves the buffer movable: with
 * CONFIG_DMABUF_MOVE_NOTIFY, and always since 7.1, which dropped the
 * option and made move-notify unconditional.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 1, 0)
#define P2PBAR_HAS_MOVE_NOTIFY true
#else
#define P2PBAR_HAS_MOVE_NOTIFY IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY)
#endif

/*
 * 7.1 renamed the importer's move_notify callback invalidate_mappings,
 * and dma_buf_move_notify() dma_buf_invalidate_mappings().
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 1, 0)
#define P2PBAR_ATTACH_OPS_INVALIDATE invalidate_mappings
#define p2pbar_invalidate_mappings dma_buf_invalidate_mappings
#else
#define P2PBAR_ATTACH_OPS_INVALIDATE move_notify
#define p2pbar_invalidate_mappings dma_buf_move_notify
#endif

/*
 * Whether an importer honours revocation (invalidate_mappings, then an
 * unmap/unpin in bounded time): dma_buf_attach_revocable(), added with
 * the invalidate_mappings rename in 7.1. Older cores make no such promise
 * to check, so every importer passes there.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 1, 0)
#define P2PBAR_HAS_ATTACH_REVOCABLE
#define p2pbar_attach_revocable dma_buf_attach_revocable
#else
static inline bool p2pbar_attach_revocable(struct dma_buf_attachment *at)
{
	return true;
}
#endif

/* 6.10 dropped __assign_str()'s source argument (taken from __string()). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define P2PBAR_ASSIGN_STR(field, src)	\
	do {					\
		__assign_str(field);		\
		(void)(src);			\
	} while (0)
#else
#define P2PBAR_ASSIGN_STR(field, src) __assign_str(field, src)
#endif

#endif /* P2PBAR_COMPAT_H */
