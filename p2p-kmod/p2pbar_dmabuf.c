// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: the dma-buf exporter.
 *
 * A buffer is a page-aligned range of the BAR (DEVICE) or system pages
 * (HOST); p2pbar_buf.c makes, finds and migrates buffers,
 * p2pbar_move.c moves them between the two. The exporter is
 * dynamic (it has pin/unpin), so the dma-buf core calls map/unmap and
 * pin/unpin with the buffer's reservation lock held, and pins the buffer
 * for static importers itself. An importer without peer2peer (every
 * static one, and one P2PDMA finds no path for: p2pbar_p2p()) must never
 * see BAR addresses: attaching it moves the
 * buffer to HOST and keeps it there while it is attached (a FIXED
 * DEVICE buffer refuses it). A P2P importer that pins or maps a HOST
 * buffer brings it back to DEVICE if the BAR has room.
 *
 * Lock order: see p2pbar_move.c and p2pbar_revoke.c.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/io.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar_drv.h"
#include "p2pbar_compat.h"
#include "p2pbar_trace.h"

/*
 * sg_dma_len is an unsigned int, but importers keep it in an int (as
 * amdgpu does, cap at 2 GiB): below 2 GiB, page aligned.
 */
#define P2PBAR_MAX_SEG ALIGN_DOWN(INT_MAX, PAGE_SIZE)

/*
 * An importer that cannot reach the BAR: serve it from HOST, and count
 * it so nothing moves the buffer back to DEVICE while it is attached.
 * The core calls attach without the reservation lock.
 */
static int p2pbar_attach_nop2p(struct p2pbar_buf *buf)
{
	struct dma_resv *resv = buf->dmabuf->resv;
	int ret;

	ret = dma_resv_lock_interruptible(resv, NULL);
	if (ret)
		return ret;
	if (buf->placement == P2PBAR_PLACEMENT_DEVICE &&
	    (buf->flags & P2PBAR_ALLOC_FIXED))
		ret = -EOPNOTSUPP;
	else
		ret = p2pbar_buf_move(buf, P2PBAR_PLACEMENT_HOST,
				      P2PBAR_MOVE_NO_EVICT);
	if (ret == -EAGAIN)
		ret = -EBUSY; /* fences pending: not now */
	if (!ret)
		atomic_inc(&buf->nop2p);
	dma_resv_unlock(resv);
	if (ret)
		dev_dbg(&buf->p->dev, "buffer %llu: importer without peer2peer refused: %d\n",
			buf->id, ret);
	return ret;
}

/*
 * A P2P importer uses a HOST buffer: bring it to DEVICE if the BAR has
 * room and nothing holds it in HOST. Best effort: HOST serves P2P
 * importers too.
 */
static void p2pbar_promote(struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;

	if (at->peer2peer && buf->placement == P2PBAR_PLACEMENT_HOST &&
	    !buf->map_count && !buf->vmapped)
		p2pbar_buf_move(buf, P2PBAR_PLACEMENT_DEVICE,
				P2PBAR_MOVE_OPPORTUNISTIC);
}

/*
 * ACS redirect on @pdev sends peer TLPs up to the root complex instead
 * of across the switch (pci_bridge_has_acs_redir() in p2pdma.c).
 */
static bool p2pbar_acs_redirects(struct pci_dev *pdev)
{
	u16 ctrl;

	if (!pdev->acs_cap)
		return false;
	pci_read_config_word(pdev, pdev->acs_cap + PCI_ACS_CTRL, &ctrl);
	return ctrl & (PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
}

/*
 * How @dev reaches the BAR, by the core's rule (calc_map_type_and_dist()
 * in p2pdma.c, not exported), a non-PCI device resolved to its PCI
 * function as pci_p2pdma_distance() does: the distance check first (-1
 * without CONFIG_PCI_P2PDMA), then the bus address if the two share an
 * upstream bridge with no ACS redirect on the way, else through the host
 * bridge. The attach verdict and, where the core does not map
 * (p2pbar_map_bar()), the addresses.
 */
static enum p2pbar_p2p p2pbar_p2p(struct p2pbar_dev *p, struct device *dev)
{
	struct pci_dev *a, *b, *client;
	bool redirect = false;

	lockdep_assert_held(&p->lock);
	for (; dev && !dev_is_pci(dev); dev = dev->parent)
		;
	if (!dev)
		return P2PBAR_P2P_NONE;
	client = to_pci_dev(dev);
	/*
	 * The exporter's own function, or an engine under it, reaches the
	 * BAR without crossing a port: distance 0, the bus address (the
	 * core's rule for the same function), whatever the config.
	 */
	if (client == p->pdev)
		return P2PBAR_P2P_BUS_ADDR;
	if (pci_p2pdma_distance(p->pdev, &client->dev, false) < 0)
		return P2PBAR_P2P_NONE;
	/* No references needed: each holds its upstream bridges. */
	for (a = p->pdev; a; a = pci_upstream_bridge(a)) {
		redirect |= p2pbar_acs_redirects(a);
		for (b = client; b && b != a; b = pci_upstream_bridge(b))
			;
		if (b)
			break;
	}
	if (!a)
		return P2PBAR_P2P_HOST_BRIDGE;
	for (b = client; b != a; b = pci_upstream_bridge(b))
		redirect |= p2pbar_acs_redirects(b);
	return redirect ? P2PBAR_P2P_HOST_BRIDGE : P2PBAR_P2P_BUS_ADDR;
}

/*
 * A device without a DMA mask cannot DMA (the DMA API WARNs and fails
 * for it): such an importer (rxe attaches with its netdev's virtio
 * device) reaches the buffer only through vmap, which needs no P2P
 * path. Its map fails in p2pbar_map().
 */
static bool p2pbar_can_dma(struct device *dev)
{
	return dev->dma_mask && *dev->dma_mask;
}

static int p2pbar_attach(struct dma_buf *dmabuf,
			 struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = dmabuf->priv;
	struct p2pbar_dev *p = buf->p;
	int ret;

	if (p2pbar_buf_dead(buf))
		return -ENODEV;
	if (at->peer2peer) {
		down_read(&p->lock);
		if (p->gone) {
			up_read(&p->lock);
			return -ENODEV;
		}
		/*
		 * Cannot reach the BAR (also: no CONFIG_PCI_P2PDMA): served
		 * from HOST, as amdgpu and xe do.
		 */
		if (p2pbar_can_dma(at->dev) &&
		    p2pbar_p2p(p, at->dev) == P2PBAR_P2P_NONE) {
			dev_dbg(&p->dev, "%s cannot reach the BAR peer-to-peer: HOST\n",
				dev_name(at->dev));
			at->peer2peer = false;
		}
		up_read(&p->lock);
	}
	if (!at->peer2peer) {
		ret = p2pbar_attach_nop2p(buf);
		trace_p2pbar_attach(buf->id, at->dev, false, ret);
		if (ret)
			return ret;
	} else {
		trace_p2pbar_attach(buf->id, at->dev, true, 0);
	}
	atomic_inc(&buf->attachments);
	atomic_inc(&p->attachments);
	return 0;
}

static void p2pbar_detach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = dmabuf->priv;

	if (!at->peer2peer)
		atomic_dec(&buf->nop2p);
	atomic_dec(&buf->attachments);
	atomic_dec(&buf->p->attachments);
}

static int p2pbar_pin(struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;

	dma_resv_assert_held(at->dmabuf->resv);
	if (p2pbar_buf_dead(buf))
		return -ENODEV;
	/*
	 * A pin that can hold BAR memory must be revocable, or unbind and
	 * RESET wait for an unpin that may never come (vfio_pci_dmabuf.c
	 * refuses such importers too). Static importers are served from
	 * HOST pages, which stay theirs until release. Kernels without
	 * dma_buf_attach_revocable() cannot tell: there unbind waits.
	 */
	if (at->peer2peer && !p2pbar_attach_revocable(at)) {
		dev_dbg(&buf->p->dev, "buffer %llu: pin by %s refused: not revocable\n",
			buf->id, dev_name(at->dev));
		return -EOPNOTSUPP;
	}
	if (!buf->pin_count)
		p2pbar_promote(at);
	buf->pin_count++;
	atomic_inc(&buf->p->pinned);
	trace_p2pbar_pin(buf->id, buf->pin_count);
	return 0;
}

static void p2pbar_unpin(struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;

	dma_resv_assert_held(at->dmabuf->resv);
	if (WARN_ON(!buf->pin_count))
		return;
	buf->pin_count--;
	atomic_dec(&buf->p->pinned);
	trace_p2pbar_pin(buf->id, buf->pin_count);
	p2pbar_buf_drain(buf);
}

/**
 * struct p2pbar_sgt - a mapping handed to an importer
 * @sgt:  the table the importer gets
 * @how:  P2PBAR_P2P_NONE for HOST pages, else how the BAR was mapped
 * @core: the core's table behind @sgt (p2pbar_core_map()), or NULL
 * @addr: DMA address of the range's start (DEVICE)
 * @size: bytes mapped (DEVICE)
 *
 * Kept so unmap undoes what map did, whatever the buffer became since.
 */
struct p2pbar_sgt {
	struct sg_table sgt;
	enum p2pbar_p2p how;
	struct sg_table *core;
	dma_addr_t addr;
	u64 size;
};

/*
 * The pages of the next HOST segment from page @i of @n: physically
 * contiguous, at most @seg bytes, and not across a multiple of the
 * importer's segment boundary (@mask + 1). Physical addresses are what
 * dma-direct hands out; an IOMMU merges by the same limits itself.
 */
static unsigned long p2pbar_host_seg(struct page **pages, unsigned long i,
				     unsigned long n, unsigned int seg,
				     unsigned long mask)
{
	phys_addr_t start = page_to_phys(pages[i]), end;
	unsigned long k;

	for (k = 1; i + k < n; k++) {
		end = start + ((phys_addr_t)k << PAGE_SHIFT);
		if (page_to_phys(pages[i + k]) != end ||
		    ((u64)(k + 1) << PAGE_SHIFT) > seg ||
		    ((start ^ (end + PAGE_SIZE - 1)) & ~(phys_addr_t)mask))
			break;
	}
	return k;
}

/*
 * HOST placement: the pages, DMA-mapped for the importer, in segments it
 * accepts (sg_alloc_table_from_pages_segment() would merge contiguous
 * pages across its segment boundary).
 */
static int p2pbar_map_pages(struct dma_buf_attachment *at,
			    struct p2pbar_sgt *m, enum dma_data_direction dir,
			    unsigned int seg, unsigned long mask)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;
	unsigned long n = buf->size >> PAGE_SHIFT, i, k;
	unsigned int nents = 0;
	struct scatterlist *sg;
	int ret;

	for (i = 0; i < n; i += p2pbar_host_seg(buf->pages, i, n, seg, mask))
		nents++;
	ret = sg_alloc_table(&m->sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	for (i = 0, sg = m->sgt.sgl; i < n; i += k, sg = sg_next(sg)) {
		k = p2pbar_host_seg(buf->pages, i, n, seg, mask);
		sg_set_page(sg, buf->pages[i], k << PAGE_SHIFT, 0);
	}
	ret = dma_map_sgtable(at->dev, &m->sgt, dir, 0);
	if (ret)
		sg_free_table(&m->sgt);
	m->how = P2PBAR_P2P_NONE;
	return ret;
}

/*
 * The next DEVICE segment at @addr: at most @seg bytes and @left, and not
 * across a multiple of the importer's segment boundary (@mask + 1).
 */
static unsigned int p2pbar_seg_len(dma_addr_t addr, u64 left,
				   unsigned int seg, unsigned long mask)
{
	u64 len = min_t(u64, seg, left);
	u64 to_boundary = (u64)mask - (addr & mask) + 1;

	if (mask != ULONG_MAX && to_boundary < len)
		len = to_boundary;
	return len;
}

/*
 * DEVICE: the DMA address of the buffer's start for @at, by the P2P map
 * type. Behind a common switch the importer's TLPs never reach the host
 * bridge or an IOMMU: the PCI bus address, unmapped. Through the host
 * bridge: the DMA API, which gives an IOVA with an IOMMU and the address
 * the host bridge decodes without one. Never the CPU physical address as
 * a bus address: they differ where the host bridge translates. Where the
 * core has the provider, it maps PCI importers itself
 * (dma_buf_phys_vec_to_sgt(): one contiguous range for one vector).
 * Called with p->lock held for reading, the device present.
 */
static int p2pbar_map_bar(struct dma_buf_attachment *at, struct p2pbar_sgt *m,
			  enum dma_data_direction dir)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;
	struct p2pbar_dev *p = buf->p;
	phys_addr_t phys = p->bar_start + buf->offset;

	m->how = p2pbar_p2p(p, at->dev);
	m->size = buf->size;
	if (m->how == P2PBAR_P2P_NONE) {
		/* the topology changed since attach (ACS, hotplug) */
		dev_dbg(&p->dev, "%s can no longer reach the BAR\n",
			dev_name(at->dev));
		return -EOPNOTSUPP;
	}
	if (p->provider && dev_is_pci(at->dev)) {
		m->core = p2pbar_core_map(at, p->provider, phys, buf->size, dir);
		if (IS_ERR(m->core))
			return PTR_ERR(m->core);
		m->addr = sg_dma_address(m->core->sgl);
		return 0;
	}
	if (m->how == P2PBAR_P2P_BUS_ADDR) {
		m->addr = pci_bus_address(p->pdev, p->bar) + buf->offset;
		return 0;
	}
	m->addr = dma_map_resource(at->dev, phys, buf->size, dir,
				   DMA_ATTR_SKIP_CPU_SYNC);
	return dma_mapping_error(at->dev, m->addr) ? -EIO : 0;
}

static void p2pbar_unmap_bar(struct dma_buf_attachment *at,
			     struct p2pbar_sgt *m, enum dma_data_direction dir)
{
	if (m->core)
		p2pbar_core_unmap(at, m->core, dir);
	else if (m->how == P2PBAR_P2P_HOST_BRIDGE)
		dma_unmap_resource(at->dev, m->addr, m->size, dir,
				   DMA_ATTR_SKIP_CPU_SYNC);
}

/* The contiguous range at m->addr, in segments the importer accepts. */
static int p2pbar_split(struct p2pbar_sgt *m, unsigned int seg,
			unsigned long mask)
{
	struct scatterlist *sg;
	unsigned int nents, i;
	u64 off;
	int ret;

	for (nents = 0, off = 0; off < m->size; nents++)
		off += p2pbar_seg_len(m->addr + off, m->size - off, seg, mask);
	ret = sg_alloc_table(&m->sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	off = 0;
	for_each_sgtable_sg(&m->sgt, sg, i) {
		unsigned int len = p2pbar_seg_len(m->addr + off, m->size - off,
						  seg, mask);

		sg_set_page(sg, NULL, len, 0);
		sg_dma_address(sg) = m->addr + off;
		sg_dma_len(sg) = len;
		off += len;
	}
	m->sgt.nents = nents;
	return 0;
}

/*
 * DEVICE: the range mapped by P2P map type (p2pbar_map_bar()), split
 * into segments the importer accepts. No struct pages: sg_page() is
 * NULL, importers must use the DMA addresses only. HOST: the pages.
 */
static struct sg_table *p2pbar_map(struct dma_buf_attachment *at,
				   enum dma_data_direction dir)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;
	struct p2pbar_dev *p = buf->p;
	unsigned long mask = dma_get_seg_boundary(at->dev);
	struct p2pbar_sgt *m;
	unsigned int seg;
	int ret;

	dma_resv_assert_held(at->dmabuf->resv);
	if (p2pbar_buf_dead(buf))
		return ERR_PTR(-ENODEV);
	/* An importer that cannot DMA attached for vmap only. */
	if (!p2pbar_can_dma(at->dev)) {
		dev_dbg(&p->dev, "%s has no DMA mask: it cannot map\n",
			dev_name(at->dev));
		return ERR_PTR(-EOPNOTSUPP);
	}
	seg = min_t(u64, dma_get_max_seg_size(at->dev), P2PBAR_MAX_SEG);
	seg = ALIGN_DOWN(seg, PAGE_SIZE);
	/* Page-aligned segments, or none: a range is never split inside a page. */
	if (!seg || mask < PAGE_SIZE - 1) {
		dev_dbg(&p->dev, "%s: max segment %u / boundary %#lx below a page\n",
			dev_name(at->dev), dma_get_max_seg_size(at->dev), mask);
		return ERR_PTR(-EINVAL);
	}
	if (!buf->pin_count)
		p2pbar_promote(at);
	/* Attached without P2P, the buffer cannot be in DEVICE. */
	if (WARN_ON_ONCE(!at->peer2peer &&
			 buf->placement == P2PBAR_PLACEMENT_DEVICE))
		return ERR_PTR(-EOPNOTSUPP);

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	if (buf->placement == P2PBAR_PLACEMENT_HOST) {
		ret = p2pbar_map_pages(at, m, dir, seg, mask);
		if (ret)
			goto err_free;
		goto out;
	}

	down_read(&p->lock);
	ret = p->gone ? -ENODEV : p2pbar_map_bar(at, m, dir);
	up_read(&p->lock);
	if (ret)
		goto err_free;
	ret = p2pbar_split(m, seg, mask);
	if (ret)
		goto err_unmap;
	p2pbar_lru_touch(buf);
out:
	buf->map_count++;
	trace_p2pbar_map(buf->id, at->dev, buf->placement, m->how, 0);
	return &m->sgt;

err_unmap:
	p2pbar_unmap_bar(at, m, dir);
err_free:
	kfree(m);
	trace_p2pbar_map(buf->id, at->dev, buf->placement, P2PBAR_P2P_NONE, ret);
	return ERR_PTR(ret);
}

static void p2pbar_unmap(struct dma_buf_attachment *at, struct sg_table *sgt,
			 enum dma_data_direction dir)
{
	struct p2pbar_sgt *m = container_of(sgt, struct p2pbar_sgt, sgt);
	struct p2pbar_buf *buf = at->dmabuf->priv;

	dma_resv_assert_held(at->dmabuf->resv);
	/*
	 * Works after unbind too: it only undoes the importer's mapping
	 * (the core's table does not need the provider to be freed). A
	 * buffer does not move while mapped.
	 */
	if (m->how == P2PBAR_P2P_NONE)
		dma_unmap_sgtable(at->dev, sgt, dir, 0);
	else
		p2pbar_unmap_bar(at, m, dir);
	if (!WARN_ON(!buf->map_count))
		buf->map_count--;
	sg_free_table(sgt);
	kfree(m);
	p2pbar_buf_drain(buf);
}

/* Last reference gone: the BAR range can be handed out again. */
static void p2pbar_release(struct dma_buf *dmabuf)
{
	struct p2pbar_buf *buf = dmabuf->priv;
	struct p2pbar_dev *p = buf->p;

	mutex_lock(&p->bufs_lock);
	list_del(&buf->node);
	p->nbufs--;
	mutex_unlock(&p->bufs_lock);
	p2pbar_lru_del(buf);
	WARN_ON(buf->pin_count);
	if (buf->placement == P2PBAR_PLACEMENT_HOST ||
	    buf->range == P2PBAR_RANGE_IN_USE)
		p2pbar_storage_free(buf, buf->placement, buf->offset,
				    buf->pages);
	else
		p2pbar_buf_drain_release(buf);
	if (buf->dummy)
		__free_page(buf->dummy);
	dev_dbg(&p->dev, "buffer %llu freed\n", buf->id);

	/* Accounting (p2pbar_cdev.c): the opener's count, the host charge. */
	p2pbar_buf_uncharge(buf);

	kfree(buf);
	put_device(&p->dev);
}

/*
 * Cache maintenance of HOST pages around CPU access (DMA_BUF_IOCTL_SYNC),
 * as udmabuf does: the pages mapped for the exporter's own device for
 * the length of the call, which syncs them for that device (@to_cpu
 * false) or then for the CPU. BAR memory is mapped uncached or
 * write-combined: nothing to do. The reservation lock keeps the pages.
 */
static int p2pbar_sync_pages(struct p2pbar_buf *buf,
			     enum dma_data_direction dir, bool to_cpu)
{
	struct p2pbar_dev *p = buf->p;
	enum dma_data_direction map_dir;
	struct sg_table sgt;
	struct device *dev;
	int ret;

	dma_resv_assert_held(buf->dmabuf->resv);
	down_read(&p->lock);
	if (p->gone) {
		up_read(&p->lock);
		return -ENODEV;
	}
	dev = &p->pdev->dev;
	/* segments the device takes, as for an importer's map */
	ret = sg_alloc_table_from_pages_segment(&sgt, buf->pages,
						buf->size >> PAGE_SHIFT, 0,
						buf->size,
						dma_get_max_seg_size(dev),
						GFP_KERNEL);
	if (ret)
		goto out_unlock;
	map_dir = to_cpu ? DMA_BIDIRECTIONAL : dir;
	ret = dma_map_sgtable(dev, &sgt, map_dir, 0);
	if (!ret) {
		if (to_cpu)
			dma_sync_sgtable_for_cpu(dev, &sgt, dir);
		dma_unmap_sgtable(dev, &sgt, map_dir, DMA_ATTR_SKIP_CPU_SYNC);
	}
	sg_free_table(&sgt);
out_unlock:
	up_read(&p->lock);
	return ret;
}

static int p2pbar_cpu_access(struct dma_buf *dmabuf,
			     enum dma_data_direction dir, bool begin)
{
	struct p2pbar_buf *buf = dmabuf->priv;
	int ret;

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		return ret;
	if (p2pbar_buf_dead(buf))
		ret = -ENODEV;
	else if (buf->placement == P2PBAR_PLACEMENT_HOST)
		ret = p2pbar_sync_pages(buf, dir, begin);
	dma_resv_unlock(dmabuf->resv);
	/* the end of an access to a revoked buffer: nothing to hand back */
	return begin || ret != -ENODEV ? ret : 0;
}

static int p2pbar_begin_cpu_access(struct dma_buf *dmabuf,
				   enum dma_data_direction dir)
{
	return p2pbar_cpu_access(dmabuf, dir, true);
}

static int p2pbar_end_cpu_access(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	return p2pbar_cpu_access(dmabuf, dir, false);
}

/*
 * The reservation lock for a fault. Not waited for under mmap_lock when
 * the fault may be retried (a move holds it through its copy): drop
 * mmap_lock, wait, retry, as TTM does (ttm_bo_vm_reserve()).
 */
static vm_fault_t p2pbar_fault_lock(struct vm_fault *vmf,
				    struct p2pbar_buf *buf)
{
	struct dma_resv *resv = buf->dmabuf->resv;

	if (dma_resv_trylock(resv))
		return 0;
	if (vmf->flags & FAULT_FLAG_ALLOW_RETRY) {
		if (!(vmf->flags & FAULT_FLAG_RETRY_NOWAIT)) {
			get_dma_buf(buf->dmabuf);
			mmap_read_unlock(vmf->vma->vm_mm);
			if (!dma_resv_lock_interruptible(resv, NULL))
				dma_resv_unlock(resv);
			dma_buf_put(buf->dmabuf);
		}
		return VM_FAULT_RETRY;
	}
	if (dma_resv_lock_interruptible(resv, NULL))
		return VM_FAULT_NOPAGE; /* a signal: the access is retried */
	return 0;
}

/*
 * Insert the faulting page only, from wherever the buffer is now; a
 * later move or revoke zaps the mapping and the next access faults
 * again (or gets SIGBUS). The reservation lock keeps the placement
 * still meanwhile (mmap_lock > dma_resv is the documented order).
 */
static vm_fault_t p2pbar_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct p2pbar_buf *buf = vma->vm_private_data;
	struct p2pbar_dev *p = buf->p;
	struct dma_resv *resv = buf->dmabuf->resv;
	vm_fault_t ret;

	if (vmf->pgoff >= buf->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	ret = p2pbar_fault_lock(vmf, buf);
	if (ret)
		return ret;
	down_read(&p->lock);
	if (p->gone || buf->revoked)
		ret = VM_FAULT_SIGBUS;
	else if (buf->placement == P2PBAR_PLACEMENT_HOST)
		ret = vmf_insert_pfn_prot(vma, vmf->address,
					  page_to_pfn(buf->pages[vmf->pgoff]),
					  vm_get_page_prot(vma->vm_flags));
	else
		ret = vmf_insert_pfn(vma, vmf->address,
				     PHYS_PFN(p->bar_start + buf->offset) +
				     vmf->pgoff);
	up_read(&p->lock);
	if (buf->placement == P2PBAR_PLACEMENT_DEVICE)
		p2pbar_lru_touch(buf);
	dma_resv_unlock(resv);
	return ret;
}

static const struct vm_operations_struct p2pbar_vm_ops = {
	.fault = p2pbar_fault,
};

/* The device whose buffer @vma maps, or NULL; mmap_lock is held. */
struct p2pbar_dev *p2pbar_vma_buf_dev(struct vm_area_struct *vma)
{
	struct p2pbar_buf *buf = vma->vm_private_data;

	mmap_assert_locked(vma->vm_mm);
	return vma->vm_ops == &p2pbar_vm_ops ? buf->p : NULL;
}

static int p2pbar_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct p2pbar_buf *buf = dmabuf->priv;
	u64 pages = buf->size >> PAGE_SHIFT;

	/* A private COW copy of device memory makes no sense. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -EINVAL;
	if (p2pbar_buf_dead(buf))
		return -ENODEV;
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	/* WC only where the BAR allows it: a BAR of registers stays UC. */
	if (buf->p->bar_prefetch)
		vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
	else
		vma->vm_page_prot = pgprot_noncached(vm_get_page_prot(vma->vm_flags));
	vma->vm_ops = &p2pbar_vm_ops;
	vma->vm_private_data = buf;
	return 0;
}

/*
 * After revoke: one zeroed page of the buffer's own, mapped over its
 * whole length. The dma-buf core treats a failing vmap as an exporter
 * bug (WARN_ON_ONCE in dma_buf_vmap()), so a late CPU importer gets
 * memory that is nobody's instead of an error: never the BAR range,
 * which goes back to the allocator, nor another buffer's data.
 */
static int p2pbar_vmap_dummy(struct p2pbar_buf *buf, struct iosys_map *map)
{
	unsigned long i, n = buf->size >> PAGE_SHIFT;
	struct page **pages;
	void *vaddr;

	if (!buf->dummy)
		buf->dummy = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!buf->dummy)
		return -ENOMEM;
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		pages[i] = buf->dummy;
	vaddr = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!vaddr)
		return -ENOMEM;
	iosys_map_set_vaddr(map, vaddr);
	buf->vmap_dummy = true;
	buf->vmapped = true;
	return 0;
}

/*
 * DEVICE: the BAR's kernel mapping (it lives as long as the struct
 * p2pbar_dev), so this never fails. HOST: vmap() of the pages, the
 * only way this can fail (-ENOMEM). The buffer does not move while
 * vmapped: a move notifies importers, who must vunmap; a revoke waits
 * for the vunmap before the range is reused.
 */
static int p2pbar_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct p2pbar_buf *buf = dmabuf->priv;
	int ret = 0;

	p2pbar_vmap_lock(dmabuf->resv);
	if (p2pbar_buf_dead(buf)) {
		ret = p2pbar_vmap_dummy(buf, map);
		goto out;
	}
	if (buf->placement == P2PBAR_PLACEMENT_HOST) {
		buf->vaddr = vmap(buf->pages, buf->size >> PAGE_SHIFT, VM_MAP,
				  PAGE_KERNEL);
		if (!buf->vaddr) {
			ret = -ENOMEM;
			goto out;
		}
		iosys_map_set_vaddr(map, buf->vaddr);
	} else {
		iosys_map_set_vaddr_iomem(map, buf->p->bar_map + buf->offset);
		p2pbar_lru_touch(buf);
	}
	buf->vmap_dummy = false;
	buf->vmapped = true;
out:
	p2pbar_vmap_unlock(dmabuf->resv);
	return ret;
}

static void p2pbar_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct p2pbar_buf *buf = dmabuf->priv;

	p2pbar_vmap_lock(dmabuf->resv);
	if (!map->is_iomem && map->vaddr)
		vunmap(map->vaddr);
	buf->vaddr = NULL;
	buf->vmapped = false;
	buf->vmap_dummy = false;
	p2pbar_buf_drain(buf);
	p2pbar_vmap_unlock(dmabuf->resv);
}

const struct dma_buf_ops p2pbar_dmabuf_ops = {
	.attach = p2pbar_attach,
	.detach = p2pbar_detach,
	.pin = p2pbar_pin,
	.unpin = p2pbar_unpin,
	.map_dma_buf = p2pbar_map,
	.unmap_dma_buf = p2pbar_unmap,
	.release = p2pbar_release,
	.begin_cpu_access = p2pbar_begin_cpu_access,
	.end_cpu_access = p2pbar_end_cpu_access,
	.mmap = p2pbar_mmap,
	.vmap = p2pbar_vmap,
	.vunmap = p2pbar_vunmap,
};

P2PBAR_IMPORT_NS_DMA_BUF();
