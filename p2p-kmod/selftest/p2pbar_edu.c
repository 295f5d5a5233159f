// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar_edu: a dma-buf importer that is a real PCI device doing real
 * DMA: QEMU's "edu" device (QEMU docs/specs/edu.rst). It imports a
 * dma-buf the way a NIC does (ib_umem_dmabuf): a dynamic attachment
 * with edu's struct device and an invalidate callback that stops the
 * DMA engine and unmaps, a map under the reservation lock, then DMA to
 * and from the addresses of the sg_table, segment by segment. Pinned
 * (dynamic attach + dma_buf_pin, as ib_umem_dmabuf_get_pinned) and
 * static (dma_buf_attach) imports too.
 *
 * edu: BAR0 registers; a DMA engine (source 0x80, destination 0x88,
 * count 0x90, command 0x98: bit 0 start, bit 1 direction, 0 = RAM to
 * edu, 1 = edu to RAM, bit 2 raise an interrupt) that moves up to 4 KiB
 * between PCI addresses and its internal buffer at device address
 * 0x40000. A transfer completes in a QEMU timer ~100 ms later. The
 * internal buffer is not reachable through BAR0, so a pattern goes
 * kernel buffer -> edu -> dma-buf, and a check dma-buf -> edu -> kernel
 * buffer. QEMU must give edu a 64-bit DMA mask (-device edu,dma_mask=
 * 0xffffffffffffffff; its default is 28 bits).
 *
 * A process writes one command to /sys/kernel/debug/p2pbar_edu/<pci>/
 * control and reads the result lines back through the same open file:
 *   import FD dynamic|pinned|static   import the dma-buf FD (one at a time)
 *   fill OFF LEN SEED   DMA the pattern SEED (0: zeros) into the buffer
 *                       at byte OFF, LEN bytes
 *   check OFF LEN SEED  DMA those bytes into edu and compare
 *   unmap               drop the mapping as an idle importer may (a
 *                       dynamic import remaps at its next DMA)
 *   status              counters of the import
 *   drop                detach and let go of the buffer
 * Every (re)map prints a MAP line: the first segment's DMA address, what
 * the IOMMU (if it translates for edu) makes of it, and whose memory it
 * is: a PCI BAR (function, BAR, offset; CPU and bus address) or RAM;
 * under an IOMMU also the BAR the raw address is the bus address of.
 * Errors: "ERR what: errno" lines and the write returns the errno.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/seq_buf.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "../p2pbar_compat.h"

#define EDU_REG_ID		0x00
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		BIT(0)
#define EDU_DMA_TO_RAM		BIT(1)
#define EDU_DMA_IRQ		BIT(2)
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		4096
#define EDU_ID_MAGIC		0xed
/*
 * QEMU 7.2's edu stops the whole machine (hw_error) on a transfer that
 * reaches the internal buffer's last byte: its range check wants the
 * end strictly inside. So a transfer moves at most 4095 bytes.
 */
#define EDU_XFER_MAX		(EDU_BUF_SIZE - 1)

/* A transfer takes ~100 ms of QEMU's virtual clock; allow for a busy host. */
#define EDU_DMA_TIMEOUT_MS	10000
#define EDU_POLL_MS		20
#define EDU_FENCE_TIMEOUT	(10 * HZ)
#define EDU_OUT_SIZE		PAGE_SIZE

static unsigned int max_seg = SZ_8K;
module_param(max_seg, uint, 0444);
MODULE_PARM_DESC(max_seg, "edu's DMA max segment size in bytes (default 8 KiB: buffers map as several segments)");

enum edu_mode { EDU_DYNAMIC, EDU_PINNED, EDU_STATIC };

static const char * const edu_mode_name[] = {
	[EDU_DYNAMIC] = "dynamic",
	[EDU_PINNED] = "pinned",
	[EDU_STATIC] = "static",
};

/**
 * struct edu_import - the imported dma-buf
 * @buf:	the dma-buf, with a reference
 * @at:		edu's attachment
 * @sgt:	the mapping; NULL when unmapped (after an invalidate, or
 *		"unmap"): a dynamic import remaps before its next DMA.
 *		Changes under the reservation lock only.
 * @mode:	how it was attached
 * @revoked:	invalidated while pinned: the exporter revoked the
 *		buffer, no more DMA (under the reservation lock)
 */
struct edu_import {
	struct dma_buf *buf;
	struct dma_buf_attachment *at;
	struct sg_table *sgt;
	enum edu_mode mode;
	bool revoked;
};

/**
 * struct edu_dev - one bound edu function
 * @pdev:	the PCI function
 * @regs:	BAR0
 * @cmd_lock:	serialises the commands, hence the DMA engine's users
 *		and @imp's attach/detach. Never taken by the invalidate
 *		callback: a command waits for the reservation lock while
 *		holding it, and the exporter holds the reservation lock
 *		when it invalidates.
 * @idle_wq:	woken by the DMA interrupt
 * @staging:	4 KiB of coherent RAM, the other end of every transfer
 *		that is not the dma-buf
 * @staging_dma: its DMA address
 * @imp:	the import, if @imp.buf
 * @dir:	debugfs directory
 * @invalidations: invalidate callbacks received
 * @busy_invalidations: of those, how many found a transfer in flight
 *		and waited for the engine to stop
 * @maps:	maps of the import (first map included)
 * @dmas:	transfers done to or from the dma-buf
 * @irqs:	DMA interrupts
 */
struct edu_dev {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct mutex cmd_lock; /* see above */
	wait_queue_head_t idle_wq;
	void *staging;
	dma_addr_t staging_dma;
	struct edu_import imp;
	struct dentry *dir;
	atomic_t invalidations;
	atomic_t busy_invalidations;
	atomic_t maps;
	atomic_t dmas;
	atomic_t irqs;
};

/* Output of the command a file wrote, read back through the same file. */
struct edu_file {
	struct seq_buf seq;
	char out[EDU_OUT_SIZE];
};

static struct dentry *edu_root;

static bool edu_idle(struct edu_dev *edu)
{
	return !(readq(edu->regs + EDU_REG_DMA_CMD) & EDU_DMA_RUN);
}

/*
 * Wait until the engine has finished. The interrupt wakes us; the
 * condition is the hardware's own run bit, polled too in case an
 * interrupt is lost. No lock needed: the engine stops by itself.
 */
static int edu_wait_idle(struct edu_dev *edu)
{
	unsigned long end = jiffies + msecs_to_jiffies(EDU_DMA_TIMEOUT_MS);

	while (!wait_event_timeout(edu->idle_wq, edu_idle(edu),
				   msecs_to_jiffies(EDU_POLL_MS)))
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
	return 0;
}

static void edu_start(struct edu_dev *edu, u64 src, u64 dst, u32 len,
		      bool to_ram)
{
	writeq(src, edu->regs + EDU_REG_DMA_SRC);
	writeq(dst, edu->regs + EDU_REG_DMA_DST);
	writeq(len, edu->regs + EDU_REG_DMA_CNT);
	writeq(EDU_DMA_RUN | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0),
	       edu->regs + EDU_REG_DMA_CMD);
}

/* One transfer between edu's buffer and the staging buffer. */
static int edu_staging_dma(struct edu_dev *edu, u32 len, bool to_ram)
{
	if (to_ram)
		edu_start(edu, EDU_BUF_ADDR, edu->staging_dma, len, true);
	else
		edu_start(edu, edu->staging_dma, EDU_BUF_ADDR, len, false);
	return edu_wait_idle(edu);
}

static irqreturn_t edu_irq(int irq, void *data)
{
	struct edu_dev *edu = data;
	u32 status = readl(edu->regs + EDU_REG_IRQ_STATUS);

	if (!status)
		return IRQ_NONE;
	writel(status, edu->regs + EDU_REG_IRQ_ACK);
	atomic_inc(&edu->irqs);
	wake_up(&edu->idle_wq);
	return IRQ_HANDLED;
}

/*
 * Byte @i of a range filled with @seed: util/p2pbar_pattern.h's pattern,
 * written again here because the module builds from p2p-kmod/ alone.
 */
static u8 edu_pat_byte(u64 seed, u64 i)
{
	u64 x;

	if (!seed)
		return 0;
	x = ((i / 8 + 1) * 0x9E3779B97F4A7C15ULL) ^ seed;
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	return x >> (8 * (i % 8));
}

/* The memory BAR of a PCI function holding @addr (a bus or CPU address). */
static struct pci_dev *edu_find_bar(u64 addr, bool bus, int *bar, u64 *off)
{
	struct pci_dev *pd = NULL;
	int b;

	for_each_pci_dev(pd) {
		for (b = 0; b < PCI_STD_NUM_BARS; b++) {
			struct resource *r = &pd->resource[b];
			u64 at = bus ? pci_bus_address(pd, b) : r->start;
			u64 len = resource_size(r);

			if (!(resource_type(r) & IORESOURCE_MEM) || !len ||
			    addr < at || addr - at >= len)
				continue;
			*bar = b;
			*off = addr - at;
			return pd; /* with a reference */
		}
	}
	return NULL;
}

/*
 * Where edu's DMA to @addr goes: through the IOMMU if one translates
 * for edu, else @addr is a bus address. Then whose memory that is: a
 * memory BAR of a PCI function (matched by bus address without an
 * IOMMU, by CPU address behind one) or RAM. Under an IOMMU also what
 * @addr is read as a bus address (raw_target): a P2P bus address that
 * a switch would route to its peer without the IOMMU seeing it.
 */
static void edu_describe(struct edu_dev *edu, struct seq_buf *s,
			 struct sg_table *sgt)
{
	struct iommu_domain *d = iommu_get_domain_for_dev(&edu->pdev->dev);
	dma_addr_t addr = sg_dma_address(sgt->sgl);
	bool xlate = d && (d->type & __IOMMU_DOMAIN_PAGING);
	struct pci_dev *pd;
	phys_addr_t phys;
	u64 off;
	int bar;

	phys = xlate ? iommu_iova_to_phys(d, addr) : (phys_addr_t)addr;
	seq_buf_printf(s, "MAP mode=%s nents=%u dma=%#llx kind=%s phys=%pa",
		       edu_mode_name[edu->imp.mode], sgt->nents, (u64)addr,
		       xlate ? "iova" : "direct", &phys);
	pd = phys ? edu_find_bar(phys, !xlate, &bar, &off) : NULL;
	if (pd) {
		seq_buf_printf(s, " target=bar dev=%s bar=%d off=%#llx",
			       pci_name(pd), bar, off);
		seq_buf_printf(s, " cpu=%#llx bus=%#llx",
			       pd->resource[bar].start + off,
			       pci_bus_address(pd, bar) + off);
		pci_dev_put(pd);
	} else {
		seq_buf_printf(s, " target=%s",
			       phys && page_is_ram(PHYS_PFN(phys)) ? "ram" :
			       "unknown");
	}
	pd = xlate ? edu_find_bar(addr, true, &bar, &off) : NULL;
	if (pd) {
		seq_buf_printf(s, " raw_target=bar raw_dev=%s raw_bar=%d raw_off=%#llx",
			       pci_name(pd), bar, off);
		pci_dev_put(pd);
	}
	seq_buf_printf(s, "\n");
}

/*
 * The invalidate callback (move_notify; invalidate_mappings from 7.1),
 * called by the exporter with the reservation lock held before it moves
 * or revokes the buffer: stop DMA (a transfer started under the
 * reservation lock may still be running: wait for the engine), unmap,
 * and remap before the next transfer. A pinned import only gets this
 * on revoke: then it stops for good.
 */
static void edu_invalidate(struct dma_buf_attachment *at)
{
	struct edu_dev *edu = at->importer_priv;
	struct edu_import *imp = &edu->imp;

	dma_resv_assert_held(at->dmabuf->resv);
	atomic_inc(&edu->invalidations);
	if (!edu_idle(edu)) {
		atomic_inc(&edu->busy_invalidations);
		if (edu_wait_idle(edu))
			dev_err(&edu->pdev->dev, "DMA engine does not stop; unmapping anyway\n");
	}
	if (imp->sgt) {
		dma_buf_unmap_attachment(at, imp->sgt, DMA_BIDIRECTIONAL);
		imp->sgt = NULL;
	}
	if (imp->mode == EDU_PINNED)
		imp->revoked = true;
	dev_dbg(&edu->pdev->dev, "invalidated: mapping dropped\n");
}

static const struct dma_buf_attach_ops edu_attach_ops = {
	.allow_peer2peer = true,
	.P2PBAR_ATTACH_OPS_INVALIDATE = edu_invalidate,
};

/*
 * Map a dynamic or pinned import; the reservation lock is held. As
 * ib_umem_dmabuf does, wait for the exporter's kernel fences (a move
 * in flight) before the device may use the addresses.
 */
static int edu_map_locked(struct edu_dev *edu, struct seq_buf *s)
{
	struct edu_import *imp = &edu->imp;
	struct sg_table *sgt;
	long t;

	dma_resv_assert_held(imp->buf->resv);
	if (imp->revoked)
		return -ENODEV;
	if (imp->sgt)
		return 0;
	sgt = dma_buf_map_attachment(imp->at, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	t = dma_resv_wait_timeout(imp->buf->resv, DMA_RESV_USAGE_KERNEL, false,
				  EDU_FENCE_TIMEOUT);
	if (t <= 0) {
		dma_buf_unmap_attachment(imp->at, sgt, DMA_BIDIRECTIONAL);
		return t ? t : -ETIMEDOUT;
	}
	imp->sgt = sgt;
	atomic_inc(&edu->maps);
	edu_describe(edu, s, sgt);
	return 0;
}

/*
 * The DMA address of byte @off of the buffer and how many bytes from
 * there stay within that segment.
 */
static int edu_sgt_addr(struct sg_table *sgt, u64 off, dma_addr_t *addr,
			u64 *left)
{
	struct scatterlist *sg;
	int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (off < sg_dma_len(sg)) {
			*addr = sg_dma_address(sg) + off;
			*left = sg_dma_len(sg) - off;
			return 0;
		}
		off -= sg_dma_len(sg);
	}
	return -EINVAL;
}

/*
 * Start one transfer of at most @len bytes between edu's buffer and
 * the dma-buf at @off, within one segment, and wait for it. The
 * transfer starts under the reservation lock, with the mapping checked
 * (remapped if an invalidate dropped it), so an invalidate either comes
 * before (we remap) or finds the engine running (it waits). Returns the
 * bytes moved or a negative errno.
 */
static long edu_buf_dma(struct edu_dev *edu, struct seq_buf *s, u64 off,
			u64 len, bool to_buf)
{
	struct edu_import *imp = &edu->imp;
	struct dma_resv *resv = imp->buf->resv;
	dma_addr_t addr;
	u64 left;
	int ret;

	ret = dma_resv_lock_interruptible(resv, NULL);
	if (ret)
		return ret;
	if (imp->mode == EDU_STATIC)
		ret = imp->sgt ? 0 : -ENODEV;
	else
		ret = edu_map_locked(edu, s);
	if (!ret)
		ret = edu_sgt_addr(imp->sgt, off, &addr, &left);
	if (ret) {
		dma_resv_unlock(resv);
		return ret;
	}
	len = min(len, left);
	if (to_buf)
		edu_start(edu, EDU_BUF_ADDR, addr, len, true);
	else
		edu_start(edu, addr, EDU_BUF_ADDR, len, false);
	dma_resv_unlock(resv);
	ret = edu_wait_idle(edu);
	if (ret)
		return ret;
	atomic_inc(&edu->dmas);
	return len;
}

static int edu_fill(struct edu_dev *edu, struct seq_buf *s, u64 off, u64 len,
		    u64 seed)
{
	u8 *p = edu->staging;
	u64 done = 0, i, n;
	long moved;
	int ret;

	while (done < len) {
		n = min_t(u64, len - done, EDU_XFER_MAX);
		for (i = 0; i < n; i++)
			p[i] = edu_pat_byte(seed, done + i);
		ret = edu_staging_dma(edu, n, false);
		if (ret)
			return ret;
		moved = edu_buf_dma(edu, s, off + done, n, true);
		if (moved < 0)
			return moved;
		done += moved;
	}
	return 0;
}

static int edu_check(struct edu_dev *edu, struct seq_buf *s, u64 off,
		     u64 len, u64 seed)
{
	u8 *p = edu->staging;
	u64 done = 0, i;
	long moved;
	int ret;

	while (done < len) {
		moved = edu_buf_dma(edu, s, off + done,
				    min_t(u64, len - done, EDU_XFER_MAX), false);
		if (moved < 0)
			return moved;
		memset(p, 0x5a, moved);
		ret = edu_staging_dma(edu, moved, true);
		if (ret)
			return ret;
		for (i = 0; i < moved; i++) {
			u8 want = edu_pat_byte(seed, done + i);

			if (p[i] != want) {
				seq_buf_printf(s, "MISMATCH off=%#llx got=%#x want=%#x\n",
					       off + done + i, p[i], want);
				return -EILSEQ;
			}
		}
		done += moved;
	}
	return 0;
}

static int edu_import(struct edu_dev *edu, struct seq_buf *s, int fd,
		      const char *how)
{
	struct edu_import *imp = &edu->imp;
	struct dma_buf_attachment *at;
	struct sg_table *sgt;
	struct dma_buf *buf;
	int mode, ret;

	mode = match_string(edu_mode_name, ARRAY_SIZE(edu_mode_name), how);
	if (mode < 0)
		return -EINVAL;
	if (imp->buf)
		return -EBUSY;
	buf = dma_buf_get(fd);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	if (mode == EDU_STATIC)
		at = dma_buf_attach(buf, &edu->pdev->dev);
	else
		at = dma_buf_dynamic_attach(buf, &edu->pdev->dev,
					    &edu_attach_ops, edu);
	if (IS_ERR(at)) {
		seq_buf_printf(s, "ERR attach: %ld\n", PTR_ERR(at));
		dma_buf_put(buf);
		return PTR_ERR(at);
	}
	*imp = (struct edu_import){ .buf = buf, .at = at, .mode = mode };
	atomic_set(&edu->invalidations, 0);
	atomic_set(&edu->busy_invalidations, 0);
	atomic_set(&edu->maps, 0);
	atomic_set(&edu->dmas, 0);

	if (mode == EDU_STATIC) {
		/* The core pins a static importer's buffer and maps it. */
		sgt = dma_buf_map_attachment_unlocked(at, DMA_BIDIRECTIONAL);
		ret = PTR_ERR_OR_ZERO(sgt);
		if (!ret) {
			imp->sgt = sgt;
			atomic_inc(&edu->maps);
			edu_describe(edu, s, sgt);
		}
		goto out;
	}
	dma_resv_lock(buf->resv, NULL);
	ret = mode == EDU_PINNED ? dma_buf_pin(at) : 0;
	if (!ret) {
		ret = edu_map_locked(edu, s);
		if (ret && mode == EDU_PINNED)
			dma_buf_unpin(at);
	}
	dma_resv_unlock(buf->resv);
out:
	if (ret) {
		seq_buf_printf(s, "ERR map: %d\n", ret);
		dma_buf_detach(buf, at);
		dma_buf_put(buf);
		*imp = (struct edu_import){};
		return ret;
	}
	seq_buf_printf(s, "OK imported %zu bytes (%s)\n", buf->size, how);
	return 0;
}

static void edu_unmap(struct edu_dev *edu)
{
	struct edu_import *imp = &edu->imp;

	if (imp->mode == EDU_STATIC) {
		if (imp->sgt)
			dma_buf_unmap_attachment_unlocked(imp->at, imp->sgt,
							  DMA_BIDIRECTIONAL);
		imp->sgt = NULL;
		return;
	}
	dma_resv_lock(imp->buf->resv, NULL);
	if (imp->sgt)
		dma_buf_unmap_attachment(imp->at, imp->sgt, DMA_BIDIRECTIONAL);
	imp->sgt = NULL;
	dma_resv_unlock(imp->buf->resv);
}

static void edu_drop(struct edu_dev *edu)
{
	struct edu_import *imp = &edu->imp;

	if (!imp->buf)
		return;
	edu_unmap(edu);
	if (imp->mode == EDU_PINNED) {
		dma_resv_lock(imp->buf->resv, NULL);
		dma_buf_unpin(imp->at);
		dma_resv_unlock(imp->buf->resv);
	}
	dma_buf_detach(imp->buf, imp->at);
	dma_buf_put(imp->buf);
	*imp = (struct edu_import){};
}

static void edu_status(struct edu_dev *edu, struct seq_buf *s)
{
	struct edu_import *imp = &edu->imp;

	seq_buf_printf(s, "STATUS imported=%d mode=%s mapped=%d revoked=%d",
		       !!imp->buf, edu_mode_name[imp->mode], !!imp->sgt,
		       imp->revoked);
	seq_buf_printf(s, " invalidations=%d busy_invalidations=%d",
		       atomic_read(&edu->invalidations),
		       atomic_read(&edu->busy_invalidations));
	seq_buf_printf(s, " maps=%d dmas=%d irqs=%d\n", atomic_read(&edu->maps),
		       atomic_read(&edu->dmas), atomic_read(&edu->irqs));
}

static int edu_command(struct edu_dev *edu, struct seq_buf *s, char *cmd)
{
	struct edu_import *imp = &edu->imp;
	u64 off, len, seed;
	char how[16];
	int fd, ret;

	if (sscanf(cmd, "import %d %15s", &fd, how) == 2)
		return edu_import(edu, s, fd, how);
	if (!strcmp(cmd, "status")) {
		edu_status(edu, s);
		return 0;
	}
	if (!imp->buf)
		return -ENOENT;
	if (!strcmp(cmd, "drop")) {
		edu_drop(edu);
		seq_buf_printf(s, "OK dropped\n");
		return 0;
	}
	if (!strcmp(cmd, "unmap")) {
		edu_unmap(edu);
		seq_buf_printf(s, "OK unmapped\n");
		return 0;
	}
	if (sscanf(cmd, "fill %llu %llu %llu", &off, &len, &seed) == 3) {
		if (!len || off > imp->buf->size || len > imp->buf->size - off)
			return -EINVAL;
		ret = edu_fill(edu, s, off, len, seed);
	} else if (sscanf(cmd, "check %llu %llu %llu", &off, &len, &seed) == 3) {
		if (!len || off > imp->buf->size || len > imp->buf->size - off)
			return -EINVAL;
		ret = edu_check(edu, s, off, len, seed);
	} else {
		return -EINVAL;
	}
	if (!ret)
		seq_buf_printf(s, "OK %s %llu bytes at %llu\n",
			       cmd[0] == 'f' ? "filled" : "checked", len, off);
	return ret;
}

static ssize_t edu_control_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct edu_dev *edu = file_inode(file)->i_private;
	struct edu_file *ef = file->private_data;
	char cmd[64];
	int ret;

	if (!len || len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = 0;
	strim(cmd);
	seq_buf_clear(&ef->seq);
	/* status must answer while another file's transfer runs */
	if (!strcmp(cmd, "status")) {
		edu_status(edu, &ef->seq);
		return len;
	}
	ret = mutex_lock_interruptible(&edu->cmd_lock);
	if (ret)
		return ret;
	ret = edu_command(edu, &ef->seq, cmd);
	mutex_unlock(&edu->cmd_lock);
	if (ret) {
		seq_buf_printf(&ef->seq, "ERR %s: %d\n", cmd, ret);
		dev_dbg(&edu->pdev->dev, "%s: %d\n", cmd, ret);
		return ret;
	}
	return len;
}

static ssize_t edu_control_read(struct file *file, char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct edu_file *ef = file->private_data;

	return simple_read_from_buffer(ubuf, len, ppos, ef->out,
				       seq_buf_used(&ef->seq));
}

static int edu_control_open(struct inode *inode, struct file *file)
{
	struct edu_file *ef = kzalloc(sizeof(*ef), GFP_KERNEL);

	if (!ef)
		return -ENOMEM;
	seq_buf_init(&ef->seq, ef->out, sizeof(ef->out));
	file->private_data = ef;
	return 0;
}

static int edu_control_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations edu_control_fops = {
	.owner = THIS_MODULE,
	.open = edu_control_open,
	.release = edu_control_release,
	.write = edu_control_write,
	.read = edu_control_read,
	.llseek = default_llseek,
};

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct edu_dev *edu;
	u32 ident;
	int ret;

	edu = devm_kzalloc(dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	mutex_init(&edu->cmd_lock);
	init_waitqueue_head(&edu->idle_wq);

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	ret = pci_request_region(pdev, 0, "p2pbar_edu");
	if (ret)
		goto err_disable;
	edu->regs = pci_iomap(pdev, 0, 0);
	if (!edu->regs) {
		ret = -ENOMEM;
		goto err_region;
	}
	ident = readl(edu->regs + EDU_REG_ID);
	if ((ident & 0xff) != EDU_ID_MAGIC) {
		dev_err(dev, "not an edu device (id register %#x)\n", ident);
		ret = -ENODEV;
		goto err_unmap;
	}
	/* QEMU's default dma_mask is 28 bits: the testbed sets 64. */
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret) {
		dev_err(dev, "no 64-bit DMA: %d\n", ret);
		goto err_unmap;
	}
	dma_set_max_seg_size(dev, max(max_seg, (unsigned int)PAGE_SIZE));
	pci_set_master(pdev);

	edu->staging = dmam_alloc_coherent(dev, EDU_BUF_SIZE, &edu->staging_dma,
					   GFP_KERNEL);
	if (!edu->staging) {
		ret = -ENOMEM;
		goto err_master;
	}
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (ret < 0)
		goto err_master;
	ret = request_irq(pci_irq_vector(pdev, 0), edu_irq, IRQF_SHARED,
			  "p2pbar_edu", edu);
	if (ret)
		goto err_vectors;

	pci_set_drvdata(pdev, edu);
	edu->dir = debugfs_create_dir(pci_name(pdev), edu_root);
	debugfs_create_file("control", 0600, edu->dir, edu, &edu_control_fops);
	dev_info(dev, "edu %#x: DMA importer ready, max segment %u, irq %s\n",
		 ident >> 16, dma_get_max_seg_size(dev),
		 pdev->msi_enabled ? "MSI" : pdev->msix_enabled ? "MSI-X" : "INTx");
	return 0;

err_vectors:
	pci_free_irq_vectors(pdev);
err_master:
	pci_clear_master(pdev);
err_unmap:
	pci_iounmap(pdev, edu->regs);
err_region:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
	return ret;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);

	/* Waits for commands in progress on the control file. */
	debugfs_remove_recursive(edu->dir);
	mutex_lock(&edu->cmd_lock);
	if (edu_wait_idle(edu))
		dev_err(&pdev->dev, "DMA engine still running at remove\n");
	edu_drop(edu);
	mutex_unlock(&edu->cmd_lock);
	free_irq(pci_irq_vector(pdev, 0), edu);
	pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
	pci_iounmap(pdev, edu->regs);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "p2pbar_edu",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};

static int __init edu_init(void)
{
	int ret;

	edu_root = debugfs_create_dir("p2pbar_edu", NULL);
	ret = pci_register_driver(&edu_driver);
	if (ret)
		debugfs_remove_recursive(edu_root);
	return ret;
}

static void __exit edu_exit(void)
{
	pci_unregister_driver(&edu_driver);
	debugfs_remove_recursive(edu_root);
}

module_init(edu_init);
module_exit(edu_exit);
P2PBAR_IMPORT_NS_DMA_BUF();
MODULE_DESCRIPTION("p2pbar: DMA-capable test importer on QEMU's edu device");
MODULE_LICENSE("GPL");
