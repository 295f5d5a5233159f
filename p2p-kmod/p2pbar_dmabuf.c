// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: the dma-buf exporter.
 *
 * Every buffer is a page-aligned range of the BAR. The exporter is
 * dynamic (it has pin/unpin), so the dma-buf core calls map/unmap and
 * pin/unpin with the buffer's reservation lock held, and pins the buffer
 * for static importers itself. Static importers never get peer2peer, so
 * today they are refused at attach: only placement DEVICE exists, and an
 * importer that cannot do P2P must never see BAR addresses. When
 * placement HOST lands, such importers will get the buffer in host
 * memory instead.
 *
 * Lock order: dma_resv > p->lock (read); mmap_lock > p->lock (read);
 * p->bufs_lock > i_mmap_rwsem (zapping on unbind).
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
#include <uapi/linux/p2pbar.h>

#include "p2pbar.h"
#include "p2pbar_compat.h"

/* sg_dma_len is 32 bits: keep each segment below 4 GiB, page aligned. */
#define P2PBAR_MAX_SEG ALIGN_DOWN(UINT_MAX, PAGE_SIZE)

/* Zero in chunks, so a huge buffer does not hog the CPU. */
#define P2PBAR_ZERO_CHUNK SZ_1M

static const struct dma_buf_ops p2pbar_dmabuf_ops;

static int p2pbar_attach(struct dma_buf *dmabuf,
			 struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = dmabuf->priv;
	struct p2pbar_dev *p = buf->p;
	int ret = 0;

	if (!at->peer2peer)
		return -EOPNOTSUPP;

	down_read(&p->lock);
	if (p->gone) {
		ret = -ENODEV;
		goto out;
	}
#if IS_ENABLED(CONFIG_PCI_P2PDMA)
	/*
	 * A PCI importer must be able to reach the BAR. Non-PCI importers
	 * (CPU-copy devices such as rxe) only use vmap/CPU access and are
	 * let through. Without CONFIG_PCI_P2PDMA there is no topology
	 * check at all: the importer's allow_peer2peer is trusted, as the
	 * dma-buf core does.
	 */
	if (dev_is_pci(at->dev) &&
	    pci_p2pdma_distance(p->pdev, at->dev, false) < 0) {
		dev_dbg(&p->dev, "%s cannot reach the BAR peer-to-peer\n",
			dev_name(at->dev));
		ret = -EOPNOTSUPP;
		goto out;
	}
#endif
	atomic_inc(&buf->attachments);
	atomic_inc(&p->attachments);
out:
	up_read(&p->lock);
	return ret;
}

static void p2pbar_detach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = dmabuf->priv;

	atomic_dec(&buf->attachments);
	atomic_dec(&buf->p->attachments);
}

static int p2pbar_pin(struct dma_buf_attachment *at)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;

	dma_resv_assert_held(at->dmabuf->resv);
	if (READ_ONCE(buf->p->gone))
		return -ENODEV;
	buf->pin_count++;
	atomic_inc(&buf->p->pinned);
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
}

/*
 * One dma_map_resource() of the whole range (an IOMMU gives one
 * contiguous IOVA range; without one it is the bus address), then split
 * into segments the importer accepts. No struct pages: sg_page() is
 * NULL, importers must use the DMA addresses only.
 */
static struct sg_table *p2pbar_map(struct dma_buf_attachment *at,
				   enum dma_data_direction dir)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;
	struct p2pbar_dev *p = buf->p;
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int nents, seg, i;
	dma_addr_t addr;
	u64 off = 0;
	int ret;

	dma_resv_assert_held(at->dmabuf->resv);
	seg = min_t(u64, dma_get_max_seg_size(at->dev), P2PBAR_MAX_SEG);
	if (seg >= PAGE_SIZE)
		seg = ALIGN_DOWN(seg, PAGE_SIZE);
	nents = DIV_ROUND_UP_ULL(buf->size, seg);

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		goto err_free;

	down_read(&p->lock);
	if (p->gone) {
		up_read(&p->lock);
		ret = -ENODEV;
		goto err_table;
	}
	addr = dma_map_resource(at->dev, p->bar_start + buf->offset, buf->size,
				dir, DMA_ATTR_SKIP_CPU_SYNC);
	up_read(&p->lock);
	if (dma_mapping_error(at->dev, addr)) {
		ret = -EIO;
		goto err_table;
	}

	for_each_sgtable_sg(sgt, sg, i) {
		unsigned int len = min_t(u64, seg, buf->size - off);

		sg_set_page(sg, NULL, len, 0);
		sg_dma_address(sg) = addr + off;
		sg_dma_len(sg) = len;
		off += len;
	}
	sgt->nents = nents;
	return sgt;

err_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void p2pbar_unmap(struct dma_buf_attachment *at, struct sg_table *sgt,
			 enum dma_data_direction dir)
{
	struct p2pbar_buf *buf = at->dmabuf->priv;

	dma_resv_assert_held(at->dmabuf->resv);
	/* Works after unbind too: it only undoes the importer's mapping. */
	dma_unmap_resource(at->dev, sg_dma_address(sgt->sgl), buf->size, dir,
			   DMA_ATTR_SKIP_CPU_SYNC);
	sg_free_table(sgt);
	kfree(sgt);
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
	WARN_ON(buf->pin_count);
	p2pbar_range_free(&p->alloc, buf->offset, buf->size);
	dev_dbg(&p->dev, "buffer %llu freed\n", buf->id);
	kfree(buf);
	put_device(&p->dev);
}

/* BAR memory is not cached by the CPU: nothing to flush or invalidate. */
static int p2pbar_begin_cpu_access(struct dma_buf *dmabuf,
				   enum dma_data_direction dir)
{
	struct p2pbar_buf *buf = dmabuf->priv;

	return READ_ONCE(buf->p->gone) ? -ENODEV : 0;
}

static int p2pbar_end_cpu_access(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	return 0;
}

/*
 * Insert the faulting page only; a later move or revoke zaps the
 * mapping and the next access faults again (or gets SIGBUS).
 */
static vm_fault_t p2pbar_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct p2pbar_buf *buf = vma->vm_private_data;
	struct p2pbar_dev *p = buf->p;
	vm_fault_t ret;

	if (vmf->pgoff >= buf->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	down_read(&p->lock);
	if (p->gone || buf->placement != P2PBAR_PLACEMENT_DEVICE)
		ret = VM_FAULT_SIGBUS;
	else
		ret = vmf_insert_pfn(vma, vmf->address,
				     PHYS_PFN(p->bar_start + buf->offset) +
				     vmf->pgoff);
	up_read(&p->lock);
	return ret;
}

static const struct vm_operations_struct p2pbar_vm_ops = {
	.fault = p2pbar_fault,
};

static int p2pbar_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct p2pbar_buf *buf = dmabuf->priv;
	u64 pages = buf->size >> PAGE_SHIFT;

	/* A private COW copy of device memory makes no sense. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -EINVAL;
	if (READ_ONCE(buf->p->gone))
		return -ENODEV;
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
	vma->vm_ops = &p2pbar_vm_ops;
	vma->vm_private_data = buf;
	return 0;
}

/*
 * The kernel mapping of the BAR outlives unbind: it is torn down only
 * when the last buffer lets go of the device. vmap never fails, even
 * after unbind, because the dma-buf core treats a failing vmap as an
 * exporter bug (WARN_ON_ONCE in dma_buf_vmap()); a buffer whose device
 * is gone gets the old mapping, which the device may no longer decode.
 * Moving such buffers to HOST placement is the revoke work to come.
 */
static int p2pbar_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct p2pbar_buf *buf = dmabuf->priv;

	iosys_map_set_vaddr_iomem(map, buf->p->bar_wc + buf->offset);
	return 0;
}

static void p2pbar_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
}

static const struct dma_buf_ops p2pbar_dmabuf_ops = {
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

static int p2pbar_zero(struct p2pbar_dev *p, u64 offset, u64 size)
{
	u64 done;

	for (done = 0; done < size; done += P2PBAR_ZERO_CHUNK) {
		memset_io(p->bar_wc + offset + done, 0,
			  min_t(u64, size - done, P2PBAR_ZERO_CHUNK));
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
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
	u64 offset;
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = p2pbar_range_alloc(&p->alloc, args->length, args->align, &offset);
	if (ret == -ENOSPC)
		dev_info_ratelimited(&p->dev,
				     "BAR full: no free range of %llu bytes (%llu of %llu used)\n",
				     args->length,
				     p2pbar_allocator_used(&p->alloc),
				     (u64)p->alloc.size);
	if (ret)
		goto err_buf;

	down_read(&p->lock);
	ret = p->gone ? -ENODEV : p2pbar_zero(p, offset, args->length);
	up_read(&p->lock);
	if (ret)
		goto err_range;

	buf->p = p;
	buf->offset = offset;
	buf->size = args->length;
	buf->placement = P2PBAR_PLACEMENT_DEVICE;
	atomic_set(&buf->attachments, 0);
	INIT_LIST_HEAD(&buf->node);

	exp.exp_name = "p2pbar";
	exp.owner = THIS_MODULE;
	exp.ops = &p2pbar_dmabuf_ops;
	exp.size = buf->size;
	exp.flags = O_RDWR;
	exp.priv = buf;
	dmabuf = dma_buf_export(&exp);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_range;
	}
	buf->dmabuf = dmabuf;
	get_device(&p->dev);

	mutex_lock(&p->bufs_lock);
	buf->id = ++p->next_id;
	list_add_tail(&buf->node, &p->bufs);
	p->nbufs++;
	mutex_unlock(&p->bufs_lock);

	args->id = buf->id;
	args->offset = buf->offset;
	*out = dmabuf;
	return 0;

err_range:
	p2pbar_range_free(&p->alloc, offset, args->length);
err_buf:
	kfree(buf);
	return ret;
}

int p2pbar_buf_info(struct p2pbar_dev *p, struct p2pbar_buf_info *args)
{
	struct p2pbar_buf *buf;
	struct dma_buf *dmabuf;

	dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf->priv;
	if (dmabuf->ops != &p2pbar_dmabuf_ops || buf->p != p) {
		dma_buf_put(dmabuf);
		return -EINVAL;
	}
	args->placement = buf->placement;
	args->id = buf->id;
	args->length = buf->size;
	args->offset = buf->offset;
	args->attachments = atomic_read(&buf->attachments);
	dma_resv_lock(dmabuf->resv, NULL);
	args->pin_count = buf->pin_count;
	dma_resv_unlock(dmabuf->resv);
	dma_buf_put(dmabuf);
	return 0;
}

/*
 * The device is gone (p->gone is set). Tell dynamic importers, under the
 * reservation lock as the core requires, so they drop their mappings (a
 * new map fails with -ENODEV); then zap every CPU mapping so the next
 * access faults and gets SIGBUS. A buffer on the list cannot be freed
 * while we hold bufs_lock (release takes it), so its dma_buf and struct
 * file are still there; if the file count already hit zero no mapping is
 * left. Lock order: bufs_lock > dma_resv; nothing takes them the other
 * way round.
 */
void p2pbar_bufs_revoke(struct p2pbar_dev *p)
{
	struct p2pbar_buf *buf;
	struct file *f;

	mutex_lock(&p->bufs_lock);
	list_for_each_entry(buf, &p->bufs, node) {
		dma_resv_lock(buf->dmabuf->resv, NULL);
		p2pbar_invalidate_mappings(buf->dmabuf);
		dma_resv_unlock(buf->dmabuf->resv);

		f = get_file_active(&buf->dmabuf->file);
		if (!f)
			continue;
		unmap_mapping_range(f->f_mapping, 0, 0, 1);
		fput(f);
	}
	if (p->nbufs)
		dev_info(&p->dev, "device gone with %llu live buffers; they fail with -ENODEV from now on\n",
			 p->nbufs);
	mutex_unlock(&p->bufs_lock);
}

P2PBAR_IMPORT_NS_DMA_BUF();
