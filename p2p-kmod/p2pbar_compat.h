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
#include <linux/pci.h>
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

/*
 * Peer-to-peer DMA to the BAR. Since 6.19 (vfio-pci's dma-buf export)
 * the kernel has the BAR's p2pdma provider (pcim_p2pdma_provider()) and
 * dma_buf_phys_vec_to_sgt()/dma_buf_free_sgt(), which map a PCI importer
 * by the core's P2PDMA map type: the bus address behind a common switch,
 * the DMA API (an IOVA with an IOMMU) through the host bridge. Older
 * kernels have neither, and p2pbar_dmabuf.c maps by the same rule itself
 * (as it does for non-PCI importers everywhere: the core's map type takes
 * PCI functions only). The map type is exported by none of them: the
 * attach verdict is always ours. Without CONFIG_PCI_P2PDMA the provider
 * is NULL.
 */
enum p2pbar_p2p {
	P2PBAR_P2P_NONE,	/* cannot reach the BAR: served from HOST */
	P2PBAR_P2P_BUS_ADDR,	/* common switch: bus address, no mapping */
	P2PBAR_P2P_HOST_BRIDGE,	/* through the host bridge: the DMA API */
};

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#include <linux/dma-buf-mapping.h>
#include <linux/pci-p2pdma.h>

static inline struct p2pdma_provider *p2pbar_p2p_provider(struct pci_dev *pdev,
							  int bar)
{
	if (pcim_p2pdma_init(pdev))
		return NULL;
	return pcim_p2pdma_provider(pdev, bar);
}

/* [@phys, @phys + @size) of the BAR mapped for @at by the core. */
static inline struct sg_table *
p2pbar_core_map(struct dma_buf_attachment *at, struct p2pdma_provider *provider,
		phys_addr_t phys, size_t size, enum dma_data_direction dir)
{
	struct phys_vec vec = { .paddr = phys, .len = size };

	return dma_buf_phys_vec_to_sgt(at, provider, &vec, 1, size, dir);
}

static inline void p2pbar_core_unmap(struct dma_buf_attachment *at,
				     struct sg_table *sgt,
				     enum dma_data_direction dir)
{
	dma_buf_free_sgt(at, sgt, dir);
}
#else
struct p2pdma_provider;

static inline struct p2pdma_provider *p2pbar_p2p_provider(struct pci_dev *pdev,
							  int bar)
{
	return NULL;
}

static inline struct sg_table *
p2pbar_core_map(struct dma_buf_attachment *at, struct p2pdma_provider *provider,
		phys_addr_t phys, size_t size, enum dma_data_direction dir)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void p2pbar_core_unmap(struct dma_buf_attachment *at,
				     struct sg_table *sgt,
				     enum dma_data_direction dir)
{
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
