// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar_selftest: an in-kernel dma-buf importer that exercises the
 * p2pbar exporter through the public dma-buf API only (Debian kernels
 * have no KUnit).
 *
 * A process writes a command and a dma-buf fd to
 * /sys/kernel/debug/p2pbar_selftest/control (the fd is looked up in the
 * writer's fd table) and reads the per-case results back from the same
 * file: one "PASS name: detail" or "FAIL name: detail" line per case.
 *   run FD [ADDR]  every case on that buffer; with ADDR (the buffer's
 *             CPU physical address, hex), the bus address is checked too
 *   runfixed FD [ADDR]  the same for a FIXED buffer
 *   map FD [ADDR]  only the dynamic map cases (for huge buffers)
 *   hold FD   attach dynamically and keep the attachment
 *   hold-pin FD     attach dynamically, pin, keep both
 *   hold-map FD     attach dynamically, map, keep the mapping until a
 *             move_notify (then unmap, as a dynamic importer must)
 *   hold-static FD  attach statically (the core pins and maps) and keep it
 *   hold-vmap FD    attach dynamically and vmap: a CPU mapping that
 *             move_notify cannot take back
 *   drop      let go of what a hold-* command holds
 *   moves     read how many move_notify calls the held attachment got
 *   gone      the exporter's device was unbound: mapping the held
 *             attachment must fail with -ENODEV, vmap must still succeed
 *             (the core WARNs on a failing vmap); then let go
 * and, for the rxe tests, what an exporter does to any dma-buf's
 * importers before it moves or revokes the buffer, without moving it
 * (for a pinned importer such as rxe that is a revocation):
 *   notify FD N  N move_notify deliveries, one per reservation lock hold
 *   fence FD  a move that does not finish: an unsignalled KERNEL-usage
 *             fence added to the buffer's reservation object (as an
 *             exporter does for an asynchronous move) and move_notify
 *             delivered, under one lock hold. Userspace cannot add a
 *             KERNEL-usage fence (DMA_BUF_IOCTL_IMPORT_SYNC_FILE adds
 *             READ or WRITE usage); the exporter's own moves are
 *             synchronous. -EBUSY while one is pending.
 *   signal    signal that fence (so does unloading the module)
 * Their failures are the write's errno.
 * The importing devices are platform devices with a 64-bit DMA mask and
 * no IOMMU, children of the exporter's PCI function (engines of the
 * same card: they reach the BAR on every kernel), so map addresses are
 * the BAR's bus addresses; pci_importer=DDDD:BB:DD.F adds a PCI
 * importer: the exporter's own function must get the bus address
 * (P2PDMA's map type for the same function: no IOMMU mapping, even
 * where an IOMMU translates for it), another one what P2PDMA allows.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/iommu.h>
#include <linux/iosys-map.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/seq_buf.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../p2pbar_compat.h"

#define NR_ATTACH	16
#define NR_THREADS	4
#define THREAD_LOOPS	50
#define SMALL_SEG	SZ_64K
#define MAX_NOTIFY	1000000
/* Between a command's words, and at its end. */
#define ST_DELIM	"\n "

static char *pci_importer = "";
module_param(pci_importer, charp, 0444);
MODULE_PARM_DESC(pci_importer, "PCI function (DDDD:BB:DD.F) to import with too");

static struct dentry *st_dir;
/* [1] has a small max segment, [2] a 64 KiB segment boundary */
static struct platform_device *st_pdev[3];
static DEFINE_MUTEX(st_lock);
static char *st_out;
static struct seq_buf st_seq;
static struct dma_buf *held_buf;
static struct dma_buf_attachment *held_at;
static struct sg_table *held_sgt;
static bool held_pin;
static struct iosys_map held_map;
static bool held_vmap;
static atomic_t moves;
static struct device_dma_parameters st_dma_parms[3];
static struct pci_dev *st_parent;
/* the fence command's pending fence (under st_lock) */
static struct dma_fence *st_fence;
static u64 st_fence_context, st_fence_seqno;
static DEFINE_SPINLOCK(st_fence_lock);

static __printf(3, 4) void report(bool ok, const char *name,
				  const char *fmt, ...)
{
	va_list ap;
	char msg[160];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seq_buf_printf(&st_seq, "%s %s: %s\n", ok ? "PASS" : "FAIL", name, msg);
	pr_info("p2pbar_selftest: %s %s: %s\n", ok ? "PASS" : "FAIL", name, msg);
}

/* Called with the reservation lock held: drop a held mapping at once. */
static void st_move_notify(struct dma_buf_attachment *at)
{
	atomic_inc(&moves);
	if (at == held_at && held_sgt) {
		dma_buf_unmap_attachment(at, held_sgt, DMA_BIDIRECTIONAL);
		held_sgt = NULL;
	}
}

static const struct dma_buf_attach_ops p2p_ops = {
	.allow_peer2peer = true,
	.P2PBAR_ATTACH_OPS_INVALIDATE = st_move_notify,
};

static const struct dma_buf_attach_ops nop2p_ops = {
	.allow_peer2peer = false,
	.P2PBAR_ATTACH_OPS_INVALIDATE = st_move_notify,
};

static struct dma_buf_attachment *attach(struct dma_buf *buf, int dev)
{
	return dma_buf_dynamic_attach(buf, &st_pdev[dev]->dev, &p2p_ops, NULL);
}

/*
 * Map under the reservation lock, as a dynamic importer must, and check
 * the table: segments within the device's limit, page aligned, together
 * exactly the buffer, contiguous. Returns 0 or a negative errno.
 */
static int map_check_addr(struct dma_buf_attachment *at, unsigned int max_seg,
			  unsigned int *nents, dma_addr_t *first,
			  phys_addr_t *back, char *why, size_t whylen)
{
	unsigned long mask = dma_get_seg_boundary(at->dev);
	struct dma_buf *buf = at->dmabuf;
	struct scatterlist *sg;
	struct sg_table *sgt;
	dma_addr_t next = 0;
	u64 total = 0;
	int i, ret = 0;

	dma_resv_lock(buf->resv, NULL);
	sgt = dma_buf_map_attachment(at, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		dma_resv_unlock(buf->resv);
		snprintf(why, whylen, "map: %ld", PTR_ERR(sgt));
		return PTR_ERR(sgt);
	}
	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t a = sg_dma_address(sg);

		/* Lengths above INT_MAX break importers that keep an int. */
		if (sg_dma_len(sg) > min_t(unsigned int, max_seg, INT_MAX) ||
		    !PAGE_ALIGNED(a) || (i && a != next) ||
		    (a & ~(dma_addr_t)mask) !=
		    ((a + sg_dma_len(sg) - 1) & ~(dma_addr_t)mask)) {
			snprintf(why, whylen, "segment %d: %pad + %u (max %u, boundary %#lx)",
				 i, &a, sg_dma_len(sg), max_seg, mask);
			ret = -EINVAL;
		}
		next = sg_dma_address(sg) + sg_dma_len(sg);
		total += sg_dma_len(sg);
	}
	if (!ret && total != buf->size) {
		snprintf(why, whylen, "segments cover %llu of %zu bytes", total,
			 buf->size);
		ret = -EINVAL;
	}
	*nents = sgt->nents;
	if (first)
		*first = sg_dma_address(sgt->sgl);
	/* Where the IOMMU sends the first address, while it is mapped. */
	if (back) {
		struct iommu_domain *d = iommu_get_domain_for_dev(at->dev);

		*back = d ? iommu_iova_to_phys(d, sg_dma_address(sgt->sgl)) : 0;
	}
	if (!ret)
		snprintf(why, whylen, "%u segment(s), first at %pad", sgt->nents,
			 &sg_dma_address(sgt->sgl));
	dma_buf_unmap_attachment(at, sgt, DMA_BIDIRECTIONAL);
	dma_resv_unlock(buf->resv);
	return ret;
}

static int map_check(struct dma_buf_attachment *at, unsigned int max_seg,
		     unsigned int *nents, char *why, size_t whylen)
{
	return map_check_addr(at, max_seg, nents, NULL, NULL, why, whylen);
}

/*
 * Whether a table maps HOST pages (system RAM) rather than the BAR. Not
 * by sg_page(): an importer must not look at the pages, and with
 * CONFIG_DMABUF_DEBUG the core scrambles them (a BAR table's NULL pages
 * read as non-NULL). The DMA address instead: our importers have no
 * IOMMU, so it is the CPU physical address.
 */
static bool sgt_host(struct sg_table *sgt)
{
	return page_is_ram(PHYS_PFN(sg_dma_address(sgt->sgl)));
}

static const char *sgt_place(struct sg_table *sgt)
{
	return sgt_host(sgt) ? "host" : "device";
}

/*
 * Static importers never get peer2peer: the buffer must be moved to
 * HOST pages (the core pins and maps at attach), and a dynamic P2P
 * importer watching gets move_notify for that move. A FIXED DEVICE
 * buffer refuses them with -EOPNOTSUPP instead.
 */
static void case_static(struct dma_buf *buf, bool fixed)
{
	struct dma_buf_attachment *watch = attach(buf, 0), *at;
	struct sg_table *sgt;
	int before, notified;

	if (IS_ERR(watch)) {
		report(false, "static_attach", "watcher attach: %ld", PTR_ERR(watch));
		return;
	}
	before = atomic_read(&moves);
	at = dma_buf_attach(buf, &st_pdev[0]->dev);
	if (IS_ERR(at)) {
		report(fixed && PTR_ERR(at) == -EOPNOTSUPP, "static_attach",
		       "refused with %ld (%s)", PTR_ERR(at),
		       fixed ? "want -EOPNOTSUPP: device-only buffer" :
		       "want it served from HOST");
		goto out;
	}
	notified = atomic_read(&moves) - before;
	sgt = dma_buf_map_attachment_unlocked(at, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		report(false, "static_attach", "map: %ld", PTR_ERR(sgt));
	} else {
		report(!fixed && sgt_host(sgt) && notified == 1,
		       "static_attach",
		       "static importer got %s memory, %d move_notify to the watcher",
		       sgt_place(sgt), notified);
		dma_buf_unmap_attachment_unlocked(at, sgt, DMA_BIDIRECTIONAL);
	}
	dma_buf_detach(buf, at);
out:
	dma_buf_detach(buf, watch);
}

static void case_nop2p(struct dma_buf *buf, bool fixed)
{
	struct dma_buf_attachment *at;
	struct sg_table *sgt;

	at = dma_buf_dynamic_attach(buf, &st_pdev[0]->dev, &nop2p_ops, NULL);
	if (IS_ERR(at)) {
		report(fixed && PTR_ERR(at) == -EOPNOTSUPP, "no_peer2peer",
		       "dynamic importer without allow_peer2peer refused with %ld",
		       PTR_ERR(at));
		return;
	}
	dma_resv_lock(buf->resv, NULL);
	sgt = dma_buf_map_attachment(at, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		report(false, "no_peer2peer", "map: %ld", PTR_ERR(sgt));
	} else {
		report(!fixed && sgt_host(sgt), "no_peer2peer",
		       "importer without P2P mapped %s memory", sgt_place(sgt));
		dma_buf_unmap_attachment(at, sgt, DMA_BIDIRECTIONAL);
	}
	dma_resv_unlock(buf->resv);
	dma_buf_detach(buf, at);
}

/*
 * A movable buffer's HOST pages for an importer without P2P and with a
 * 64 KiB segment boundary: runs of contiguous pages are merged, but no
 * segment crosses the boundary.
 */
static void case_host_seg_boundary(struct dma_buf *buf)
{
	unsigned long mask = dma_get_seg_boundary(&st_pdev[2]->dev);
	unsigned int n = 0, merged = 0;
	struct dma_buf_attachment *at;
	struct scatterlist *sg;
	struct sg_table *sgt;
	char why[96] = "";
	int i;

	at = dma_buf_dynamic_attach(buf, &st_pdev[2]->dev, &nop2p_ops, NULL);
	if (IS_ERR(at)) {
		report(false, "host_seg_boundary", "attach: %ld", PTR_ERR(at));
		return;
	}
	dma_resv_lock(buf->resv, NULL);
	sgt = dma_buf_map_attachment(at, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		report(false, "host_seg_boundary", "map: %ld", PTR_ERR(sgt));
		goto out;
	}
	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t a = sg_dma_address(sg);

		n++;
		merged += sg_dma_len(sg) > PAGE_SIZE;
		if (!why[0] && (a & ~(dma_addr_t)mask) !=
		    ((a + sg_dma_len(sg) - 1) & ~(dma_addr_t)mask))
			snprintf(why, sizeof(why), ": segment %d, %pad + %u, crosses it",
				 i, &a, sg_dma_len(sg));
	}
	report(sgt_host(sgt) && !why[0], "host_seg_boundary",
	       "%s memory in %u segments, %u of them several pages, none across a 64 KiB boundary%s",
	       sgt_place(sgt), n, merged, why);
	dma_buf_unmap_attachment(at, sgt, DMA_BIDIRECTIONAL);
out:
	dma_resv_unlock(buf->resv);
	dma_buf_detach(buf, at);
}

/* With no non-P2P importer left, a P2P map brings the buffer back. */
static void case_back_to_device(struct dma_buf *buf)
{
	struct dma_buf_attachment *at = attach(buf, 0);
	struct sg_table *sgt;

	if (IS_ERR(at)) {
		report(false, "back_to_device", "attach: %ld", PTR_ERR(at));
		return;
	}
	dma_resv_lock(buf->resv, NULL);
	sgt = dma_buf_map_attachment(at, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		report(false, "back_to_device", "map: %ld", PTR_ERR(sgt));
	} else {
		report(!sgt_host(sgt), "back_to_device",
		       "a P2P importer's map got %s memory", sgt_place(sgt));
		dma_buf_unmap_attachment(at, sgt, DMA_BIDIRECTIONAL);
	}
	dma_resv_unlock(buf->resv);
	dma_buf_detach(buf, at);
}

/* The bus address of CPU physical address @phys in a BAR of @pdev. */
static u64 st_bus_addr(struct pci_dev *pdev, u64 phys)
{
	int bar;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		struct resource *r = &pdev->resource[bar];

		if ((resource_type(r) & IORESOURCE_MEM) && resource_size(r) &&
		    phys >= r->start && phys <= r->end)
			return pci_bus_address(pdev, bar) + (phys - r->start);
	}
	return phys;
}

static void case_dynamic(struct dma_buf *buf, u64 phys)
{
	struct dma_buf_attachment *at = attach(buf, 0);
	dma_addr_t first = 0;
	unsigned int n;
	char why[128];
	int ret;

	if (IS_ERR(at)) {
		report(false, "dynamic_map", "attach: %ld", PTR_ERR(at));
		return;
	}
	ret = map_check_addr(at, UINT_MAX, &n, &first, NULL, why, sizeof(why));
	report(!ret, "dynamic_map", "%s", why);
	/* An engine of the exporter: the bus address of the buffer's start. */
	if (phys)
		report(first == st_bus_addr(st_parent, phys),
		       "dynamic_map_address",
		       "first segment at %pad, buffer at %#llx (CPU), %#llx (bus)",
		       &first, phys, st_bus_addr(st_parent, phys));
	/* Twice: a second map after unmap must work the same. */
	ret = map_check(at, UINT_MAX, &n, why, sizeof(why));
	report(!ret, "dynamic_remap", "%s", why);
	dma_buf_detach(buf, at);
	report(atomic_read(&moves) == 0, "move_notify_count",
	       "%d move_notify calls (nothing moved the buffer)",
	       atomic_read(&moves));
}

static void case_pin(struct dma_buf *buf)
{
	struct dma_buf_attachment *at = attach(buf, 0);
	unsigned int n;
	char why[128];
	int ret;

	if (IS_ERR(at)) {
		report(false, "pin", "attach: %ld", PTR_ERR(at));
		return;
	}
	dma_resv_lock(buf->resv, NULL);
	ret = dma_buf_pin(at);
	dma_resv_unlock(buf->resv);
	if (ret) {
		report(false, "pin", "dma_buf_pin: %d", ret);
		dma_buf_detach(buf, at);
		return;
	}
	ret = map_check(at, UINT_MAX, &n, why, sizeof(why));
	dma_resv_lock(buf->resv, NULL);
	dma_buf_unpin(at);
	dma_resv_unlock(buf->resv);
	report(!ret, "pin", "pinned, mapped (%s), unpinned", why);
	dma_buf_detach(buf, at);
}

#ifdef P2PBAR_HAS_ATTACH_REVOCABLE
/* No invalidate_mappings: dma_buf_attach_revocable() is false for it. */
static const struct dma_buf_attach_ops unrevocable_ops = {
	.allow_peer2peer = true,
};

/* A pin that could never be revoked is refused (vfio-pci's rule). */
static void case_pin_unrevocable(struct dma_buf *buf)
{
	struct dma_buf_attachment *at;
	int ret;

	at = dma_buf_dynamic_attach(buf, &st_pdev[0]->dev, &unrevocable_ops,
				    NULL);
	if (IS_ERR(at)) {
		report(false, "pin_unrevocable", "attach: %ld", PTR_ERR(at));
		return;
	}
	dma_resv_lock(buf->resv, NULL);
	ret = dma_buf_pin(at);
	if (!ret)
		dma_buf_unpin(at);
	dma_resv_unlock(buf->resv);
	report(ret == -EOPNOTSUPP, "pin_unrevocable",
	       "pin by an importer without invalidate_mappings: %d (want %d)",
	       ret, -EOPNOTSUPP);
	dma_buf_detach(buf, at);
}
#endif

static void case_small_seg(struct dma_buf *buf)
{
	struct dma_buf_attachment *at = attach(buf, 1);
	unsigned int n = 0, want = DIV_ROUND_UP(buf->size, SMALL_SEG);
	char why[128];
	int ret;

	if (IS_ERR(at)) {
		report(false, "small_max_segment", "attach: %ld", PTR_ERR(at));
		return;
	}
	ret = map_check(at, SMALL_SEG, &n, why, sizeof(why));
	report(!ret && n == want, "small_max_segment", "%s; want %u of <= %u",
	       why, want, SMALL_SEG);
	dma_buf_detach(buf, at);
}

static void case_seg_boundary(struct dma_buf *buf)
{
	struct dma_buf_attachment *at = attach(buf, 2);
	unsigned int n = 0, want = DIV_ROUND_UP(buf->size, SZ_64K);
	char why[128];
	int ret;

	if (IS_ERR(at)) {
		report(false, "segment_boundary", "attach: %ld", PTR_ERR(at));
		return;
	}
	ret = map_check(at, UINT_MAX, &n, why, sizeof(why));
	report(!ret && n >= want, "segment_boundary",
	       "%s; want >= %u, none across a 64 KiB boundary", why, want);
	dma_buf_detach(buf, at);
}

static void case_many(struct dma_buf *buf)
{
	struct dma_buf_attachment *at[NR_ATTACH];
	struct sg_table *sgt[NR_ATTACH];
	int i, n, ret = 0;

	for (n = 0; n < NR_ATTACH; n++) {
		at[n] = attach(buf, n & 1);
		if (IS_ERR(at[n])) {
			ret = PTR_ERR(at[n]);
			break;
		}
	}
	dma_resv_lock(buf->resv, NULL);
	for (i = 0; i < n; i++) {
		sgt[i] = dma_buf_map_attachment(at[i], DMA_TO_DEVICE);
		if (IS_ERR(sgt[i]))
			ret = PTR_ERR(sgt[i]);
	}
	for (i = 0; i < n; i++)
		if (!IS_ERR(sgt[i]))
			dma_buf_unmap_attachment(at[i], sgt[i], DMA_TO_DEVICE);
	dma_resv_unlock(buf->resv);
	for (i = 0; i < n; i++)
		dma_buf_detach(buf, at[i]);
	report(!ret && n == NR_ATTACH, "many_attachments",
	       "%d attachments mapped at once, result %d", n, ret);
}

struct thread_arg {
	struct dma_buf *buf;
	int dev;
	int err;
	struct completion done;
};

static int st_thread(void *p)
{
	struct thread_arg *t = p;
	unsigned int n;
	char why[128];
	int i;

	for (i = 0; i < THREAD_LOOPS && !t->err; i++) {
		struct dma_buf_attachment *at = attach(t->buf, t->dev);

		if (IS_ERR(at)) {
			t->err = PTR_ERR(at);
			break;
		}
		t->err = map_check(at, t->dev ? SMALL_SEG : UINT_MAX, &n, why,
				   sizeof(why));
		dma_buf_detach(t->buf, at);
	}
	complete(&t->done);
	return 0;
}

static void case_threads(struct dma_buf *buf)
{
	struct thread_arg t[NR_THREADS];
	struct task_struct *k;
	int i, err = 0;

	for (i = 0; i < NR_THREADS; i++) {
		t[i] = (struct thread_arg){ .buf = buf, .dev = i & 1 };
		init_completion(&t[i].done);
		k = kthread_run(st_thread, &t[i], "p2pbar_st%d", i);
		if (IS_ERR(k)) {
			t[i].err = PTR_ERR(k);
			complete(&t[i].done);
		}
	}
	for (i = 0; i < NR_THREADS; i++) {
		wait_for_completion(&t[i].done);
		if (t[i].err)
			err = t[i].err;
	}
	report(!err, "threads", "%d threads x %d attach/map/unmap/detach: %d",
	       NR_THREADS, THREAD_LOOPS, err);
}

static void case_vmap(struct dma_buf *buf)
{
	struct iosys_map map;
	u32 v;
	int ret;

	ret = dma_buf_begin_cpu_access(buf, DMA_BIDIRECTIONAL);
	if (ret) {
		report(false, "vmap", "begin_cpu_access: %d", ret);
		return;
	}
	ret = dma_buf_vmap_unlocked(buf, &map);
	if (ret) {
		report(false, "vmap", "vmap: %d", ret);
		dma_buf_end_cpu_access(buf, DMA_BIDIRECTIONAL);
		return;
	}
	iosys_map_wr(&map, buf->size - 4, u32, 0xfeedc0de);
	v = iosys_map_rd(&map, buf->size - 4, u32);
	iosys_map_wr(&map, buf->size - 4, u32, 0);
	dma_buf_vunmap_unlocked(buf, &map);
	ret = dma_buf_end_cpu_access(buf, DMA_BIDIRECTIONAL);
	report(map.is_iomem && v == 0xfeedc0de && !ret, "vmap",
	       "iomem %d, wrote and read back %#x at the last word",
	       map.is_iomem, v);
}

static void case_pci(struct dma_buf *buf, u64 phys)
{
	unsigned int dom, bus, slot, fn, n;
	struct dma_buf_attachment *at;
	struct iommu_domain *d;
	struct pci_dev *pdev;
	dma_addr_t first = 0;
	phys_addr_t back;
	char why[128];
	bool p2p;
	int ret;

	if (!*pci_importer)
		return;
	if (sscanf(pci_importer, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4) {
		report(false, "pci_importer", "bad address %s", pci_importer);
		return;
	}
	pdev = pci_get_domain_bus_and_slot(dom, bus, PCI_DEVFN(slot, fn));
	if (!pdev) {
		report(false, "pci_importer", "no PCI function %s", pci_importer);
		return;
	}
	at = dma_buf_dynamic_attach(buf, &pdev->dev, &p2p_ops, NULL);
	if (IS_ERR(at)) {
		report(false, "pci_importer", "attach: %ld", PTR_ERR(at));
		goto out;
	}
	ret = map_check_addr(at, dma_get_max_seg_size(&pdev->dev), &n, &first,
			     &back, why, sizeof(why));
	p2p = at->peer2peer;
	dma_buf_detach(buf, at);
	report(!ret, "pci_importer", "%s: %s", pci_name(pdev), why);
	if (pdev == st_parent) {
		/*
		 * The exporter importing its own BAR: P2PDMA's map type for
		 * the same function is the bus address, never an IOVA.
		 */
		u64 bus = st_bus_addr(pdev, phys);

		report(!phys || first == bus, "pci_importer_bus_address",
		       "own function: %pad, want the bus address %#llx (CPU %#llx)",
		       &first, bus, phys);
		goto out;
	}
	d = iommu_get_domain_for_dev(&pdev->dev);
	if (!p2p) {
		phys_addr_t at = d && d->type != IOMMU_DOMAIN_IDENTITY ? back : first;

		report(page_is_ram(PHYS_PFN(at)), "pci_importer_address",
		       "no P2P path to the BAR: %pad, want HOST pages", &first);
		goto out;
	}
	if (!d || d->type == IOMMU_DOMAIN_IDENTITY) {
		report(!phys || first == st_bus_addr(st_parent, phys),
		       "pci_importer_address",
		       "no IOMMU translation: %pad, buffer at %#llx", &first, phys);
		goto out;
	}
	/* An IOVA, never the raw bus address, and it leads to the BAR. */
	report(!phys || back == phys, "pci_importer_iommu",
	       "IOMMU domain type %#x: IOVA %pad -> %pa, buffer at %#llx",
	       d->type, &first, &back, phys);
out:
	pci_dev_put(pdev);
}

static void cmd_run(struct dma_buf *buf, u64 phys, bool fixed)
{
	atomic_set(&moves, 0);
	case_dynamic(buf, phys);
	case_pin(buf);
#ifdef P2PBAR_HAS_ATTACH_REVOCABLE
	case_pin_unrevocable(buf);
#endif
	case_small_seg(buf);
	case_seg_boundary(buf);
	case_many(buf);
	case_threads(buf);
	case_vmap(buf);
	case_pci(buf, phys);
	/* Last: these move a movable buffer to HOST and back. */
	case_static(buf, fixed);
	case_nop2p(buf, fixed);
	if (!fixed) {
		case_host_seg_boundary(buf);
		case_back_to_device(buf);
	}
}

static void cmd_hold(struct dma_buf *buf, const char *how)
{
	struct dma_buf_attachment *at;
	struct sg_table *sgt = NULL;
	int ret = 0;

	atomic_set(&moves, 0);
	if (!strcmp(how, "static"))
		at = dma_buf_attach(buf, &st_pdev[0]->dev);
	else
		at = attach(buf, 0);
	if (IS_ERR(at)) {
		report(false, "hold", "attach: %ld", PTR_ERR(at));
		dma_buf_put(buf);
		return;
	}
	held_buf = buf;
	held_at = at;
	dma_resv_lock(buf->resv, NULL);
	if (!strcmp(how, "pin")) {
		ret = dma_buf_pin(at);
		held_pin = !ret;
	} else if (!strcmp(how, "map")) {
		sgt = dma_buf_map_attachment(at, DMA_BIDIRECTIONAL);
		ret = PTR_ERR_OR_ZERO(sgt);
		if (!ret)
			held_sgt = sgt;
	}
	dma_resv_unlock(buf->resv);
	if (!strcmp(how, "vmap")) {
		ret = dma_buf_vmap_unlocked(buf, &held_map);
		held_vmap = !ret;
	}
	report(!ret, "hold", "attached (%s): %d; buffer kept", how, ret);
}

static void cmd_drop(void)
{
	if (!held_at) {
		report(false, "drop", "nothing held");
		return;
	}
	if (held_vmap)
		dma_buf_vunmap_unlocked(held_buf, &held_map);
	held_vmap = false;
	dma_resv_lock(held_buf->resv, NULL);
	if (held_sgt)
		dma_buf_unmap_attachment(held_at, held_sgt, DMA_BIDIRECTIONAL);
	if (held_pin)
		dma_buf_unpin(held_at);
	dma_resv_unlock(held_buf->resv);
	held_sgt = NULL;
	held_pin = false;
	dma_buf_detach(held_buf, held_at);
	dma_buf_put(held_buf);
	held_at = NULL;
	held_buf = NULL;
	report(true, "drop", "%d move_notify call(s) while held",
	       atomic_read(&moves));
}

static void cmd_gone(void)
{
	struct iosys_map map;
	struct sg_table *sgt;
	int ret;

	if (!held_at) {
		report(false, "gone", "nothing held");
		return;
	}
	/* Unbind revoked the buffer: the importer was told to let go. */
	report(atomic_read(&moves) == 1, "move_notify_on_unbind",
	       "%d move_notify call(s) (want 1)", atomic_read(&moves));
	dma_resv_lock(held_buf->resv, NULL);
	sgt = dma_buf_map_attachment(held_at, DMA_BIDIRECTIONAL);
	if (!IS_ERR(sgt))
		dma_buf_unmap_attachment(held_at, sgt, DMA_BIDIRECTIONAL);
	dma_resv_unlock(held_buf->resv);
	report(PTR_ERR_OR_ZERO(sgt) == -ENODEV, "map_after_unbind",
	       "map returned %d (want -ENODEV)", PTR_ERR_OR_ZERO(sgt));
	ret = dma_buf_vmap_unlocked(held_buf, &map);
	if (!ret)
		dma_buf_vunmap_unlocked(held_buf, &map);
	report(!ret, "vmap_after_unbind",
	       "vmap returned %d (want 0: the core WARNs on vmap failure)", ret);
	dma_buf_detach(held_buf, held_at);
	dma_buf_put(held_buf);
	held_at = NULL;
	held_buf = NULL;
}

/* The commands that take a buffer: @arg is ADDR or N, 0 if not given. */
static int do_run(struct dma_buf *buf, const char *how, u64 arg)
{
	cmd_run(buf, arg, false);
	dma_buf_put(buf);
	return 0;
}

static int do_runfixed(struct dma_buf *buf, const char *how, u64 arg)
{
	cmd_run(buf, arg, true);
	dma_buf_put(buf);
	return 0;
}

static int do_map(struct dma_buf *buf, const char *how, u64 arg)
{
	case_dynamic(buf, arg);
	dma_buf_put(buf);
	return 0;
}

static int do_hold(struct dma_buf *buf, const char *how, u64 arg)
{
	if (held_at) {
		report(false, "hold", "already holding one");
		dma_buf_put(buf);
		return 0;
	}
	cmd_hold(buf, how); /* keeps the reference */
	return 0;
}

static void do_moves(void)
{
	report(true, "moves", "%d", atomic_read(&moves));
}

static int do_notify(struct dma_buf *buf, const char *how, u64 arg)
{
	u64 i;

	if (!arg || arg > MAX_NOTIFY) {
		dma_buf_put(buf);
		return -EINVAL;
	}
	for (i = 0; i < arg; i++) {
		dma_resv_lock(buf->resv, NULL);
		p2pbar_invalidate_mappings(buf);
		dma_resv_unlock(buf->resv);
		cond_resched();
	}
	dma_buf_put(buf);
	report(true, "notify", "%llu move_notify deliveries", arg);
	return 0;
}

static const char *st_fence_name(struct dma_fence *fence)
{
	return "p2pbar_selftest";
}

static const struct dma_fence_ops st_fence_ops = {
	.get_driver_name = st_fence_name,
	.get_timeline_name = st_fence_name,
};

static int do_fence(struct dma_buf *buf, const char *how, u64 arg)
{
	struct dma_fence *fence;
	int ret;

	ret = -EBUSY;
	if (st_fence)
		goto out;
	ret = -ENOMEM;
	fence = kzalloc(sizeof(*fence), GFP_KERNEL);
	if (!fence)
		goto out;
	dma_fence_init(fence, &st_fence_ops, &st_fence_lock, st_fence_context,
		       ++st_fence_seqno);
	dma_resv_lock(buf->resv, NULL);
	ret = dma_resv_reserve_fences(buf->resv, 1);
	if (!ret) {
		dma_resv_add_fence(buf->resv, fence, DMA_RESV_USAGE_KERNEL);
		p2pbar_invalidate_mappings(buf);
	}
	dma_resv_unlock(buf->resv);
	if (ret)
		dma_fence_put(fence);
	else
		st_fence = fence;
out:
	dma_buf_put(buf);
	if (!ret)
		report(true, "fence", "an unsignalled fence pending, move_notify delivered");
	return ret;
}

/* Called with st_lock held. */
static void do_signal(void)
{
	if (!st_fence)
		return;
	dma_fence_signal(st_fence);
	dma_fence_put(st_fence);
	st_fence = NULL;
	report(true, "signal", "the fence signalled");
}

/* The control file's commands (the list at the top of this file). */
static const struct st_cmd {
	const char *name;
	void (*fn)(void);			/* a command without a buffer */
	/* a command with one: puts @buf; 0 or the write's -errno */
	int (*buf_fn)(struct dma_buf *buf, const char *how, u64 arg);
	const char *how;			/* hold-*: how to hold */
	unsigned int base;			/* of the argument after FD; 0: none */
} st_cmds[] = {
	{ "run", NULL, do_run, NULL, 16 },
	{ "runfixed", NULL, do_runfixed, NULL, 16 },
	{ "map", NULL, do_map, NULL, 16 },
	{ "hold", NULL, do_hold, "dyn", 0 },
	{ "hold-pin", NULL, do_hold, "pin", 0 },
	{ "hold-map", NULL, do_hold, "map", 0 },
	{ "hold-static", NULL, do_hold, "static", 0 },
	{ "hold-vmap", NULL, do_hold, "vmap", 0 },
	{ "drop", cmd_drop },
	{ "moves", do_moves },
	{ "gone", cmd_gone },
	{ "notify", NULL, do_notify, NULL, 10 },
	{ "fence", NULL, do_fence, NULL, 0 },
	{ "signal", do_signal },
};

/* "NAME [FD [ARG]]": 0, or -EINVAL for a command that is not in st_cmds. */
static int st_parse(char *line, const struct st_cmd **cmd, int *fd, u64 *arg)
{
	char *name = strsep(&line, ST_DELIM), *tok;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(st_cmds); i++)
		if (!strcmp(name, st_cmds[i].name))
			break;
	if (i == ARRAY_SIZE(st_cmds))
		return -EINVAL;
	*cmd = &st_cmds[i];
	if (!(*cmd)->buf_fn)
		return 0;
	tok = strsep(&line, ST_DELIM);
	if (!tok || kstrtoint(tok, 10, fd))
		return -EINVAL;
	tok = line ? strsep(&line, ST_DELIM) : NULL;
	*arg = 0;
	if (tok && *tok && (!(*cmd)->base || kstrtou64(tok, (*cmd)->base, arg)))
		return -EINVAL;
	return 0;
}

static ssize_t control_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	const struct st_cmd *cmd;
	char line[64] = "";
	struct dma_buf *buf;
	u64 arg = 0;
	int fd, ret;

	if (len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	ret = st_parse(line, &cmd, &fd, &arg);
	if (ret)
		return ret;
	mutex_lock(&st_lock);
	seq_buf_clear(&st_seq);
	if (cmd->buf_fn) {
		buf = dma_buf_get(fd);
		if (IS_ERR(buf)) {
			mutex_unlock(&st_lock);
			return PTR_ERR(buf);
		}
		ret = cmd->buf_fn(buf, cmd->how, arg);
	} else {
		cmd->fn();
	}
	mutex_unlock(&st_lock);
	return ret ? ret : len;
}

static ssize_t control_read(struct file *file, char __user *ubuf, size_t len,
			    loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&st_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, st_out,
				      seq_buf_used(&st_seq));
	mutex_unlock(&st_lock);
	return ret;
}

static const struct file_operations control_fops = {
	.owner = THIS_MODULE,
	.write = control_write,
	.read = control_read,
	.llseek = default_llseek,
};

/*
 * The PCI function p2pbar is bound to, with a reference, or NULL. Our
 * importing devices sit under it, as engines of the exporting card
 * would: the exporter lets those reach its BAR on every kernel (the
 * same function), where an unrelated device needs P2PDMA's check.
 */
static struct pci_dev *st_exporter_pdev(void)
{
	struct pci_dev *pd = NULL;

	for_each_pci_dev(pd)
		if (pd->dev.driver && !strcmp(pd->dev.driver->name, "p2pbar"))
			return pd;
	return NULL;
}

static int st_make_dev(int i, unsigned int max_seg, unsigned long boundary)
{
	struct platform_device_info pi = {
		.parent = &st_parent->dev,
		.name = "p2pbar_selftest",
		.id = i,
	};
	struct platform_device *pd;
	int ret;

	pd = platform_device_register_full(&pi);
	if (IS_ERR(pd))
		return PTR_ERR(pd);
	st_pdev[i] = pd;
	/* Platform devices normally come with dma_parms; be sure. */
	if (!pd->dev.dma_parms)
		pd->dev.dma_parms = &st_dma_parms[i];
	ret = dma_set_mask_and_coherent(&pd->dev, DMA_BIT_MASK(64));
	if (!ret)
		dma_set_max_seg_size(&pd->dev, max_seg);
	if (!ret)
		dma_set_seg_boundary(&pd->dev, boundary);
	return ret;
}

static void st_cleanup(void)
{
	int i;

	debugfs_remove_recursive(st_dir);
	if (held_at)
		cmd_drop();
	do_signal();
	for (i = 0; i < ARRAY_SIZE(st_pdev); i++)
		if (st_pdev[i])
			platform_device_unregister(st_pdev[i]);
	pci_dev_put(st_parent);
	kfree(st_out);
}

static int __init st_init(void)
{
	int ret;

	st_out = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!st_out)
		return -ENOMEM;
	seq_buf_init(&st_seq, st_out, PAGE_SIZE);
	st_parent = st_exporter_pdev();
	if (!st_parent) {
		pr_err("p2pbar_selftest: no PCI function bound to p2pbar: load and bind p2pbar first\n");
		kfree(st_out);
		return -ENODEV;
	}
	st_fence_context = dma_fence_context_alloc(1);
	ret = st_make_dev(0, UINT_MAX, ULONG_MAX);
	if (!ret)
		ret = st_make_dev(1, SMALL_SEG, ULONG_MAX);
	if (!ret)
		ret = st_make_dev(2, UINT_MAX, SZ_64K - 1);
	if (ret) {
		pr_err("p2pbar_selftest: cannot set up importing devices: %d\n", ret);
		st_cleanup();
		return ret;
	}
	st_dir = debugfs_create_dir("p2pbar_selftest", NULL);
	debugfs_create_file("control", 0600, st_dir, NULL, &control_fops);
	return 0;
}

static void __exit st_exit(void)
{
	st_cleanup();
}

module_init(st_init);
module_exit(st_exit);
P2PBAR_IMPORT_NS_DMA_BUF();
MODULE_DESCRIPTION("p2pbar: in-kernel test importer");
MODULE_LICENSE("GPL");
