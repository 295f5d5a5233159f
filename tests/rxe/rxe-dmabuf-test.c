// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf MRs on soft-RoCE, run in a testbed guest with our rdma_rxe.ko and
 * our rxe provider (tests/rxe/rxe-dmabuf.sh).
 *
 * usage (tests/lib/t_harness.h): rxe-dmabuf-test CASE [ARGS]
 *   probe                    NCCL's and UCX's capability probes get EBADF
 *   p2pbar /dev/p2pbarN [FILL_TXT]
 *   udmabuf | vgem           move data with RDMA between host MRs and
 *                            dma-buf MRs in every direction (WRITE, READ,
 *                            SEND/RECV, WRITE_WITH_IMM; the dma-buf MR as
 *                            remote target and source, local source and
 *                            sink), sizes 1 B .. 64 MiB, unaligned MR
 *                            offsets and data offsets, arbitrary iova,
 *                            atomics; check every byte through the
 *                            dma-buf's mmap. With FILL_TXT, leave a pattern
 *                            written by RDMA in the BAR and write "offset
 *                            length seed" there for the host to check.
 *   badinput /dev/p2pbarN    errnos of bad registrations; closing the
 *                            dma-buf fd under a live MR
 *   notify /dev/p2pbarN      one move_notify (p2p-kmod/selftest/p2pbar_selftest.c)
 *                            during RDMA WRITE traffic revokes the pinned
 *                            MR: error completions, unpinned, no stray
 *                            write, dereg returns, a new MR works
 *   migrate /dev/p2pbarN [FILL_TXT]  a buffer under an MR is pinned: 100
 *                            MIGRATEs during RDMA WRITE/READ traffic (every
 *                            byte checked) are EBUSY and it stays put;
 *                            after dereg it moves, content kept; the
 *                            RDMA-written chunk's BAR offset goes to FILL_TXT
 *   revoke-reset|revoke-unbind /dev/p2pbarN PCI FILL_TXT  RDMA WRITEs stream into
 *                            a dma-buf MR while a child RESETs the device or
 *                            unbinds it: WRs complete ok until the revoke,
 *                            then IBV_WC_REM_ACCESS_ERR, no hang; dereg
 *                            returns; a new buffer over the revoked range
 *                            (after unbind: rebound) keeps its bytes
 *                            (FILL_TXT for the host)
 *   regrace /dev/p2pbarN [SECONDS]  register/deregister in a loop while a
 *                            child migrates the buffer in a loop
 *   rereg /dev/p2pbarN       rereg of a dma-buf MR (the kernel verb):
 *                            a new PD works and the old one is refused,
 *                            an access change is enforced on remote ops,
 *                            TRANS and access a dma-buf MR cannot have
 *                            are refused (EOPNOTSUPP, EINVAL)
 *   noparent NOPARENT_DEV PARENTED_DEV /dev/p2pbarN  the NCCL probe and a
 *                            registration agree on rxe over veth
 *                            (EOPNOTSUPP); on virtio the probe sees EBADF
 *   fence /dev/p2pbarN       a move fence that never signals (p2pbar_selftest):
 *                            the MR is revoked, WRs fail at once, QP destroy
 *                            and dereg return; registration is interruptible
 *                            (EINTR) and bounded (ETIMEDOUT)
 *   vgemfence /dev/p2pbarN   a vgem fence imported into the buffer (WRITE
 *                            usage): what userspace can reach
 *   allocfail /dev/p2pbarN   the 1st, 2nd, ... allocation or user copy
 *                            of a dma-buf MR registration failed in turn
 *                            (/proc/thread-self/fail-nth; the script aims
 *                            the fault attributes at the modules): ENOMEM
 *                            or EFAULT, and the next registration moves data
 *   trafficfail /dev/p2pbarN FAULT_DIR  RDMA WRITEs into and READs from a
 *                            dma-buf MR while FAULT_DIR (a fault attribute
 *                            directory the script aimed at the skbs of
 *                            rxe's requester) fails packet allocations at
 *                            random: every WR completes ok, every byte
 *                            checked, no QP error; then every allocation
 *                            fails: the WR still completes, in error
 *                            (LOC_QP_OP_ERR, or WR_FLUSH_ERR: rxe's
 *                            completer flushes it with the QP)
 *
 * One rxe device, two RC QPs connected to each other (loopback); the same
 * verbs across two guests: rxe-dmabuf-2node.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/p2pbar.h>
#include <rdma/ib_user_verbs.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rxe-util.h"
#include "t_fail_nth.h"

static void post_atomic(struct ibv_qp *qp, enum ibv_wr_opcode op, struct ibv_mr *lmr,
			uint64_t laddr, uint32_t rkey, uint64_t raddr, uint64_t cmp_add,
			uint64_t swap)
{
	struct ibv_sge sge = { .addr = laddr, .length = 8, .lkey = lmr->lkey };
	struct ibv_send_wr wr = { .wr_id = op,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	wr.wr.atomic.remote_addr = raddr;
	wr.wr.atomic.rkey = rkey;
	wr.wr.atomic.compare_add = cmp_add;
	wr.wr.atomic.swap = swap;
	if (ibv_post_send(qp, &wr, &bad))
		FAIL("ibv_post_send atomic: %s", strerror(errno));
}

/* --- cases ---------------------------------------------------------- */

T_CASE(case_probe, "probe", 0, "")
{
	struct rdma r;
	struct ibv_mr *mr;

	rdma_open(&r);
	/* NCCL: ncclIbDmaBufSupport */
	errno = 0;
	mr = ibv_reg_dmabuf_mr(r.pd, 0, 0, 0, -1, 0);
	if (mr || errno != EBADF)
		FAIL("NCCL probe: mr %p errno %d (%s), expected EBADF", (void *)mr, errno,
		     strerror(errno));
	printf("NCCL probe ibv_reg_dmabuf_mr(pd, 0, 0, 0, -1, 0): EBADF\n");
	/* UCX: uct_ib_md_check_dmabuf */
	errno = 0;
	mr = ibv_reg_dmabuf_mr(r.pd, 0, PAGE, 0, -1, ACCESS_ALL);
	if (mr || errno != EBADF)
		FAIL("UCX probe: errno %d (%s), expected EBADF", errno, strerror(errno));
	printf("UCX probe ibv_reg_dmabuf_mr(pd, 0, 4096, 0, -1, access): EBADF\n");
	rdma_close(&r);
	return 0;
}

/*
 * One size: a dma-buf MR at an unaligned offset in the buffer, the data
 * at an unaligned offset in the MR, moved in every direction.
 */
static void data_one(struct rdma *r, struct dbuf *b, size_t len, uint64_t mr_off, uint64_t seed)
{
	uint64_t iova = IOVA_BASE + (mr_off & (PAGE - 1));
	uint64_t doff = 5; /* data offset in the MR */
	uint64_t mrlen = len + doff + 3;
	const volatile uint8_t *dev = b->map + mr_off + doff;
	uint8_t *h = malloc(len), *h2 = malloc(len);
	struct ibv_mr *hmr, *h2mr, *dmr;
	char what[96];

	if (mr_off + mrlen > b->size)
		FAIL("buffer too small");
	hmr = ibv_reg_mr(r->pd, h, len, ACCESS_ALL);
	h2mr = ibv_reg_mr(r->pd, h2, len, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r->pd, mr_off, mrlen, iova, b->fd, ACCESS_ALL);
	if (!hmr || !h2mr)
		FAIL("ibv_reg_mr: %s", strerror(errno));
	if (!dmr)
		FAIL("ibv_reg_dmabuf_mr(offset %#" PRIx64 ", length %" PRIu64 "): %s", mr_off,
		     mrlen, strerror(errno));

	/* RDMA WRITE host -> dma-buf (dma-buf MR is the remote target) */
	snprintf(what, sizeof(what), "WRITE host->dmabuf %zu B", len);
	fill(h, len, seed);
	post(r->qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, len, dmr->rkey, iova + doff);
	wait_wc(r->cq, 1, what);
	check(what, dev, len, seed);

	/* RDMA READ dma-buf -> host (dma-buf MR is the remote source) */
	snprintf(what, sizeof(what), "READ dmabuf->host %zu B", len);
	memset(h2, 0, len);
	post(r->qp[0], IBV_WR_RDMA_READ, h2mr, (uintptr_t)h2, len, dmr->rkey, iova + doff);
	wait_wc(r->cq, 1, what);
	check(what, h2, len, seed);

	/* SEND host -> RECV into the dma-buf (local sink, responder) */
	snprintf(what, sizeof(what), "SEND host->RECV dmabuf %zu B", len);
	fill(h, len, seed + 1);
	post_recv(r->qp[1], dmr, iova + doff, len);
	post(r->qp[0], IBV_WR_SEND, hmr, (uintptr_t)h, len, 0, 0);
	wait_wc(r->cq, 2, what);
	check(what, dev, len, seed + 1);

	/* RDMA WRITE dma-buf -> host (dma-buf MR is the local source) */
	snprintf(what, sizeof(what), "WRITE dmabuf->host %zu B", len);
	memset(h2, 0, len);
	post(r->qp[0], IBV_WR_RDMA_WRITE, dmr, iova + doff, len, h2mr->rkey, (uintptr_t)h2);
	wait_wc(r->cq, 1, what);
	check(what, h2, len, seed + 1);

	/* RDMA READ host -> dma-buf (dma-buf MR is the local sink) */
	snprintf(what, sizeof(what), "READ host->dmabuf %zu B", len);
	fill(h, len, seed + 2);
	post(r->qp[0], IBV_WR_RDMA_READ, dmr, iova + doff, len, hmr->rkey, (uintptr_t)h);
	wait_wc(r->cq, 1, what);
	check(what, dev, len, seed + 2);

	/* SEND from the dma-buf -> RECV into host memory */
	snprintf(what, sizeof(what), "SEND dmabuf->RECV host %zu B", len);
	memset(h2, 0, len);
	post_recv(r->qp[1], h2mr, (uintptr_t)h2, len);
	post(r->qp[0], IBV_WR_SEND, dmr, iova + doff, len, 0, 0);
	wait_wc(r->cq, 2, what);
	check(what, h2, len, seed + 2);

	/* RDMA WRITE_WITH_IMM host -> dma-buf */
	snprintf(what, sizeof(what), "WRITE_WITH_IMM host->dmabuf %zu B", len);
	fill(h, len, seed + 3);
	post_recv(r->qp[1], hmr, 0, 0);
	post(r->qp[0], IBV_WR_RDMA_WRITE_WITH_IMM, hmr, (uintptr_t)h, len, dmr->rkey, iova + doff);
	wait_wc(r->cq, 2, what);
	check(what, dev, len, seed + 3);

	if (ibv_dereg_mr(dmr) || ibv_dereg_mr(hmr) || ibv_dereg_mr(h2mr))
		FAIL("ibv_dereg_mr");
	free(h);
	free(h2);
	printf("# ok %9zu B at buffer offset %#7" PRIx64
	       ": WRITE, READ, SEND/RECV both ways, WRITE_WITH_IMM\n",
	       len, mr_off + doff);
}

static void atomics(struct rdma *r, struct dbuf *b)
{
	uint64_t mr_off = PAGE + 0x100, iova = IOVA_BASE + 0x100;
	volatile uint64_t *dev = (volatile uint64_t *)(b->map + mr_off + 8);
	uint64_t *res = aligned_alloc(8, 8);
	struct ibv_mr *dmr, *rmr;

	dmr = ibv_reg_dmabuf_mr(r->pd, mr_off, 64, iova, b->fd, ACCESS_ALL);
	rmr = ibv_reg_mr(r->pd, res, 8, ACCESS_ALL);
	if (!dmr || !rmr)
		FAIL("atomics: MRs: %s", strerror(errno));
	*dev = 1000;
	post_atomic(r->qp[0], IBV_WR_ATOMIC_FETCH_AND_ADD, rmr, (uintptr_t)res, dmr->rkey, iova + 8,
		    234, 0);
	wait_wc(r->cq, 1, "atomic");
	if (*res != 1000 || *dev != 1234)
		FAIL("FETCH_ADD: returned %" PRIu64 ", memory %" PRIu64, *res, (uint64_t)*dev);
	post_atomic(r->qp[0], IBV_WR_ATOMIC_CMP_AND_SWP, rmr, (uintptr_t)res, dmr->rkey, iova + 8,
		    1234, 0xfeedfacecafebeefULL);
	wait_wc(r->cq, 1, "atomic");
	if (*res != 1234 || *dev != 0xfeedfacecafebeefULL)
		FAIL("CMP_SWP (match): returned %" PRIu64, *res);
	post_atomic(r->qp[0], IBV_WR_ATOMIC_CMP_AND_SWP, rmr, (uintptr_t)res, dmr->rkey, iova + 8,
		    1, 2);
	wait_wc(r->cq, 1, "atomic");
	if (*res != 0xfeedfacecafebeefULL || *dev != 0xfeedfacecafebeefULL)
		FAIL("CMP_SWP (no match) changed memory");
	ibv_dereg_mr(dmr);
	ibv_dereg_mr(rmr);
	free(res);
	printf("# ok atomics on the dma-buf MR: FETCH_ADD, CMP_SWP (match, no match)\n");
}

static int data(const char *kind, int argc, char **argv)
{
	static const size_t sizes[] = { 1, 7, 4096, 65536 + 13, 1 << 20, (1 << 20) + 7, 64 << 20 };
	bool p2pbar = !strcmp(kind, "p2pbar"), vgem = !strcmp(kind, "vgem");
	const char *fill_txt = p2pbar && argc > 1 ? argv[1] : NULL;
	struct rdma r;
	struct dbuf b;

	rdma_open(&r);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t need = sizes[i] + 3 * PAGE;

		/* udmabuf's size_limit_mb defaults to 64 */
		if (!p2pbar && !vgem && need > (64UL << 20)) {
			printf("skip %zu B: past udmabuf's size limit\n", sizes[i]);
			continue;
		}

		b = p2pbar ? dbuf_p2pbar(argv[0], need)
		    : vgem ? dbuf_vgem(need)
			   : dbuf_udmabuf(need);
		dbuf_map(&b);
		data_one(&r, &b, sizes[i], PAGE + 123 * (i + 1) % PAGE, 0x5eed0000 + i * 16);
		dbuf_free(&b);
	}
	b = p2pbar ? dbuf_p2pbar(argv[0], 4 * PAGE)
	    : vgem ? dbuf_vgem(4 * PAGE)
		   : dbuf_udmabuf(4 * PAGE);
	dbuf_map(&b);
	atomics(&r, &b);
	dbuf_free(&b);

	if (fill_txt) {
		/* a pattern written by RDMA into the BAR, for the host */
		size_t len = 1 << 20;
		uint64_t seed = 0x5eed;
		uint8_t *h = malloc(len);
		struct ibv_mr *hmr, *dmr;
		FILE *f;

		b = dbuf_p2pbar(argv[0], len + PAGE);
		fill(h, len, seed);
		hmr = ibv_reg_mr(r.pd, h, len, ACCESS_ALL);
		dmr = ibv_reg_dmabuf_mr(r.pd, PAGE, len, IOVA_BASE, b.fd, ACCESS_ALL);
		if (!hmr || !dmr)
			FAIL("host-check MRs: %s", strerror(errno));
		post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, len, dmr->rkey, IOVA_BASE);
		wait_wc(r.cq, 1, "RDMA WRITE of the host-check pattern");
		ibv_dereg_mr(dmr);
		ibv_dereg_mr(hmr);
		f = fopen(fill_txt, "w");
		if (!f)
			FAIL("%s: %s", fill_txt, strerror(errno));
		fprintf(f, "%" PRIu64 " %zu %" PRIu64 "\n", b.bar_offset + PAGE, len, seed);
		fclose(f);
		printf("RDMA-wrote %zu B at BAR offset %#" PRIx64 " for the host to check\n", len,
		       b.bar_offset + PAGE);
		/* the buffer stays allocated: the fd is not closed */
		free(h);
	}
	rdma_close(&r);
	return 0;
}

T_CASE(case_p2pbar, "p2pbar", 1, "/dev/p2pbarN [FILL_TXT]")
{
	return data("p2pbar", argc, argv);
}

T_CASE(case_udmabuf, "udmabuf", 0, "")
{
	return data("udmabuf", argc, argv);
}

T_CASE(case_vgem, "vgem", 0, "")
{
	return data("vgem", argc, argv);
}

static void expect_err(struct rdma *r, const char *what, uint64_t off, size_t len, uint64_t iova,
		       int fd, int want)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_dmabuf_mr(r->pd, off, len, iova, fd, ACCESS_ALL);
	if (mr)
		FAIL("%s: registration succeeded, expected %s", what, strerror(want));
	if (errno != want)
		FAIL("%s: errno %d (%s), expected %d (%s)", what, errno, strerror(errno), want,
		     strerror(want));
	printf("# ok %-40s -> %s\n", what, strerror(want));
}

T_CASE(case_badinput, "badinput", 1, "/dev/p2pbarN")
{
	struct rdma r;
	struct dbuf b;
	int null_fd, spare;
	struct ibv_mr *mr, *hmr;
	uint8_t *h;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], 4 * PAGE);
	null_fd = open("/dev/null", O_RDWR);
	spare = dup(0); /* a free descriptor number */
	close(spare);

	expect_err(&r, "fd -1", 0, PAGE, 0, -1, EBADF);
	expect_err(&r, "closed fd", 0, PAGE, 0, spare, EBADF);
	expect_err(&r, "fd of /dev/null (not a dma-buf)", 0, PAGE, 0, null_fd, EINVAL);
	expect_err(&r, "zero length", 0, 0, 0, b.fd, EINVAL);
	expect_err(&r, "offset + length past the buffer", PAGE, b.size, PAGE, b.fd, EINVAL);
	expect_err(&r, "length past the buffer", 0, b.size + 1, 0, b.fd, EINVAL);
	expect_err(&r, "offset past the buffer", b.size, 1, 0, b.fd, EINVAL);
	expect_err(&r, "offset + length overflows", ~0ULL - 10, PAGE, ~0ULL - 10, b.fd, EINVAL);
	expect_err(&r, "iova and offset differ in page offset", 8, PAGE, 16, b.fd, EINVAL);

	/* whole buffer is fine */
	mr = ibv_reg_dmabuf_mr(r.pd, 0, b.size, 0, b.fd, ACCESS_ALL);
	if (!mr)
		FAIL("whole buffer: %s", strerror(errno));
	printf("# ok whole buffer registers\n");

	/* the MR keeps the dma-buf: close the fd, then move data */
	close(b.fd);
	h = malloc(PAGE);
	fill(h, PAGE, 77);
	hmr = ibv_reg_mr(r.pd, h, PAGE, ACCESS_ALL);
	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, PAGE, mr->rkey, 0);
	wait_wc(r.cq, 1, "WRITE after closing the fd");
	memset(h, 0, PAGE);
	post(r.qp[0], IBV_WR_RDMA_READ, hmr, (uintptr_t)h, PAGE, mr->rkey, 0);
	wait_wc(r.cq, 1, "READ after closing the fd");
	check("after closing the fd", h, PAGE, 77);
	if (ibv_dereg_mr(mr) || ibv_dereg_mr(hmr))
		FAIL("dereg after closing the fd");
	printf("# ok MR works after its dma-buf fd is closed; dereg then frees it\n");
	free(h);

	/* a misaligned atomic on a dma-buf MR is refused (by the provider) */
	{
		struct dbuf a = dbuf_p2pbar(argv[0], 2 * PAGE);
		uint64_t *res = aligned_alloc(8, 8);
		struct ibv_sge sge = { .addr = (uintptr_t)res, .length = 8 };
		struct ibv_send_wr wr = { .sg_list = &sge,
					  .num_sge = 1,
					  .opcode = IBV_WR_ATOMIC_FETCH_AND_ADD,
					  .send_flags = IBV_SEND_SIGNALED },
				   *bad;
		struct ibv_mr *amr, *rmr;
		int rc;

		amr = ibv_reg_dmabuf_mr(r.pd, 0, PAGE, IOVA_BASE, a.fd, ACCESS_ALL);
		rmr = ibv_reg_mr(r.pd, res, 8, ACCESS_ALL);
		if (!amr || !rmr)
			FAIL("misaligned atomic: MRs: %s", strerror(errno));
		sge.lkey = rmr->lkey;
		wr.wr.atomic.remote_addr = IOVA_BASE + 4;
		wr.wr.atomic.rkey = amr->rkey;
		wr.wr.atomic.compare_add = 1;
		rc = ibv_post_send(r.qp[0], &wr, &bad);
		if (rc != EINVAL)
			FAIL("misaligned atomic: ibv_post_send returned %d, expected EINVAL", rc);
		printf("# ok %-40s -> %s\n", "misaligned atomic on a dma-buf MR", strerror(rc));
		ibv_dereg_mr(amr);
		ibv_dereg_mr(rmr);
		free(res);
		dbuf_free(&a);
	}
	/*
	 * ibv_advise_mr() prefetches ODP MRs only: on a dma-buf MR (no umem)
	 * 7.x rxe dereferenced NULL. Refused, synchronous or not; a kernel
	 * without advise_mr (6.12 rxe) refuses it too.
	 */
	{
		struct dbuf a = dbuf_p2pbar(argv[0], PAGE);
		struct ibv_mr *amr = ibv_reg_dmabuf_mr(r.pd, 0, PAGE, 0, a.fd, ACCESS_ALL);
		struct ibv_sge sge = { .addr = 0, .length = PAGE };
		int rc, i;

		if (!amr)
			FAIL("advise_mr: MR: %s", strerror(errno));
		sge.lkey = amr->lkey;
		for (i = 0; i < 2; i++) {
			rc = ibv_advise_mr(r.pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
					   i ? 0 : IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
			if (rc != EOPNOTSUPP)
				FAIL("ibv_advise_mr(%s) on a dma-buf MR returned %d (%s), expected "
				     "EOPNOTSUPP",
				     i ? "async" : "FLUSH", rc, strerror(rc));
		}
		printf("# ok %-40s -> %s\n", "ibv_advise_mr on a dma-buf MR", strerror(EOPNOTSUPP));
		ibv_dereg_mr(amr);
		dbuf_free(&a);
	}
	close(null_fd);
	rdma_close(&r);
	return 0;
}

static const char *wc_str(int status)
{
	return status == -1 ? "no completion in 20 s" : ibv_wc_status_str(status);
}

/*
 * @dmr's buffer was revoked: the MR stays, every access fails, and
 * neither waits for anything. A WRITE into it is NAKed: the requester
 * sees IBV_WC_REM_ACCESS_ERR. A WRITE from it fails the requester's copy
 * (IBV_WC_LOC_PROT_ERR), but rxe then moves the QP to error and its
 * completer flushes the failing WQE along with the rest: the WR
 * completes with IBV_WC_WR_FLUSH_ERR (6.12 and 7.2, as for any local
 * copy error); nothing from the MR reaches @h either way.
 */
static void expect_revoked(struct rdma *r, struct ibv_mr *dmr, struct ibv_mr *hmr, uint8_t *h,
			   size_t len, const char *what)
{
	struct ibv_wc wc;
	int st[2];

	fill(h, len, 0x1ead);
	requeue_qps(r);
	post(r->qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, len, dmr->rkey, IOVA_BASE);
	wc = wc_within(r, 20);
	st[0] = wc.status;
	requeue_qps(r);
	post(r->qp[0], IBV_WR_RDMA_WRITE, dmr, IOVA_BASE, len, hmr->rkey, (uintptr_t)h);
	wc = wc_within(r, 20);
	st[1] = wc.status;
	requeue_qps(r);
	if (st[0] != IBV_WC_REM_ACCESS_ERR)
		FAIL("%s: a WRITE into the revoked MR: %s, expected %s", what, wc_str(st[0]),
		     ibv_wc_status_str(IBV_WC_REM_ACCESS_ERR));
	if (st[1] != IBV_WC_LOC_PROT_ERR && st[1] != IBV_WC_WR_FLUSH_ERR)
		FAIL("%s: a WRITE from the revoked MR: %s, expected %s (or %s: rxe flushes it)",
		     what, wc_str(st[1]), ibv_wc_status_str(IBV_WC_LOC_PROT_ERR),
		     ibv_wc_status_str(IBV_WC_WR_FLUSH_ERR));
	check("the target of a WRITE from the revoked MR", h, len, 0x1ead);
	printf("# ok %s: WRITE into the MR -> %s, WRITE from it -> %s, nothing copied\n", what,
	       ibv_wc_status_str(st[0]), ibv_wc_status_str(st[1]));
}

/* BUF_INFO of the p2pbar buffer @fd through @node. */
static struct p2pbar_buf_info buf_info(const char *node, int fd)
{
	struct p2pbar_buf_info bi = { .argsz = sizeof(bi), .fd = fd };
	int dev = open(node, O_RDWR | O_CLOEXEC);

	if (dev < 0 || ioctl(dev, P2PBAR_IOCTL_BUF_INFO, &bi))
		FAIL("BUF_INFO: %s", strerror(errno));
	close(dev);
	return bi;
}

/* MIGRATE of @fd to @to: 0 or errno. */
static int migrate_errno(const char *node, int fd, uint32_t to)
{
	struct p2pbar_migrate m = { .argsz = sizeof(m), .fd = fd, .placement = to };
	int dev = open(node, O_RDWR | O_CLOEXEC), e;

	if (dev < 0)
		FAIL("%s: %s", node, strerror(errno));
	e = ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) ? errno : 0;
	close(dev);
	return e;
}

/* One command to the test importer (p2p-kmod/selftest/p2pbar_selftest.c). */
static void notify_cmd(const char *cmd)
{
	int f = open("/sys/kernel/debug/p2pbar_selftest/control", O_WRONLY);

	if (f < 0 || write(f, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		FAIL("p2pbar_selftest \"%s\": %s", cmd, strerror(errno));
	close(f);
}

struct revoke_arg {
	const char *how, *node, *pci;
	int fd;
};

/*
 * Child: once *streamed WRs have completed, revoke: RESET the device,
 * unbind it, or deliver one move_notify (p2pbar_selftest.ko) to the
 * importers of @fd, as an exporter revoking a pinned buffer does.
 */
static void revoker(void *arg, volatile int *streamed)
{
	const struct revoke_arg *ra = arg;
	char cmd[32];

	revoker_wait(streamed);
	if (!strcmp(ra->how, "reset")) {
		printf("RESET revoked %" PRIu64 " buffer(s)\n", revoker_reset(ra->node));
	} else if (!strcmp(ra->how, "unbind")) {
		revoker_unbind(ra->pci);
		printf("unbound %s\n", ra->pci);
	} else {
		snprintf(cmd, sizeof(cmd), "notify %d 1", ra->fd);
		notify_cmd(cmd);
		printf("move_notify delivered\n");
	}
}

/* 16 chunks of @dmr while revoker() revokes it; traffic must have got going. */
static void stream_revoke(struct rdma *r, struct ibv_mr *dmr, struct ibv_mr *hmr, uint8_t *h,
			  size_t chunk, struct revoke_arg *ra)
{
	int ok = stream_until_revoked(r, dmr, hmr, h, chunk, 16, ra->how, revoker, ra);

	if (ok < 8)
		FAIL("only %d WRs completed before the %s: traffic never got going", ok, ra->how);
}

/* Deregister @mr, which must not fail or hang; prints how long it took. */
static void dereg_timed(struct ibv_mr *mr, const char *what)
{
	double t = now();

	if (ibv_dereg_mr(mr))
		FAIL("%s: dereg: %s", what, strerror(errno));
	printf("# ok %s: dereg returned in %.2f s\n", what, now() - t);
}

/*
 * The exporter invalidates a pinned attachment: for rxe a permanent
 * revocation. A child delivers one move_notify (p2pbar_selftest.ko) during
 * RDMA WRITE traffic: the MR dies (error completions both ways), rxe has
 * unpinned (BUF_INFO, and MIGRATE works before dereg), the buffer's
 * bytes written through its mmap afterwards are never overwritten by
 * the dead MR, dereg returns, a new MR on the buffer moves data.
 */
T_CASE(case_notify, "notify", 1, "/dev/p2pbarN")
{
	const size_t len = 1 << 20, chunk = 64 << 10;
	struct p2pbar_buf_info bi;
	struct ibv_mr *hmr, *dmr;
	struct rdma r;
	struct dbuf b;
	uint8_t *h;
	int e;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], len);
	dbuf_map(&b);
	h = malloc(chunk);
	fill(h, chunk, 77);
	hmr = ibv_reg_mr(r.pd, h, chunk, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!hmr || !dmr)
		FAIL("notify: MRs: %s", strerror(errno));
	bi = buf_info(argv[0], b.fd);
	if (bi.pin_count != 1)
		FAIL("a registered rxe dma-buf MR: pin count %llu, expected 1",
		     (unsigned long long)bi.pin_count);
	printf("# ok registration pinned the buffer (pin count 1)\n");

	stream_revoke(&r, dmr, hmr, h, chunk,
		      &(struct revoke_arg){ .how = "move_notify", .node = argv[0], .fd = b.fd });
	bi = buf_info(argv[0], b.fd);
	if (bi.pin_count != 0)
		FAIL("after move_notify: pin count %llu, expected 0 (rxe unpins)",
		     (unsigned long long)bi.pin_count);
	e = migrate_errno(argv[0], b.fd, P2PBAR_PLACEMENT_HOST);
	if (e)
		FAIL("MIGRATE after the revoke, before dereg: %s", strerror(e));
	printf("# ok after move_notify rxe has unpinned: pin count 0, MIGRATE works\n");

	/* the buffer is someone else's now: the dead MR never writes it */
	fill((uint8_t *)b.map, len, 0x0e1f);
	expect_revoked(&r, dmr, hmr, h, chunk, "after move_notify");
	check("the buffer after WRITEs into the revoked MR", b.map, len, 0x0e1f);
	printf("# ok the revoked MR's WRITEs left the buffer's bytes alone\n");
	dereg_timed(dmr, "revoked MR");

	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!dmr)
		FAIL("a new MR on the buffer: %s", strerror(errno));
	fill(h, chunk, 77);
	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey, IOVA_BASE);
	wait_wc(r.cq, 1, "WRITE into a new MR");
	check("WRITE into a new MR", b.map, chunk, 77);
	printf("RESULT: move_notify on rxe's pinned attachment = revoke: error completions "
	       "(%s into it), unpinned, no stray write, dereg returns, a new MR works\n",
	       ibv_wc_status_str(IBV_WC_REM_ACCESS_ERR));
	ibv_dereg_mr(dmr);
	ibv_dereg_mr(hmr);
	dbuf_free(&b);
	rdma_close(&r);
	free(h);
	return 0;
}

#define NMIGRATE 100

/* Where the buffer's first @len bytes are in the BAR now, for the host. */
static void fill_txt_for_host(const char *node, const char *path, int fd, size_t len, uint64_t seed)
{
	struct p2pbar_buf_info bi = buf_info(node, fd);
	FILE *f;

	if (bi.placement != P2PBAR_PLACEMENT_DEVICE)
		FAIL("buffer not in DEVICE for the host's check");
	f = fopen(path, "w");
	if (!f)
		FAIL("%s: %s", path, strerror(errno));
	fprintf(f, "%" PRIu64 " %zu %" PRIu64 "\n", (uint64_t)bi.offset, len, seed);
	fclose(f);
	printf("%zu B at BAR offset %#" PRIx64 " for the host to check\n", len,
	       (uint64_t)bi.offset);
}

/*
 * Child: NMIGRATE MIGRATEs of the DEVICE buffer to HOST (to where it is
 * would be a no-op); *busy counts EBUSY, *moved successes.
 */
static void migrator(const char *node, int fd, volatile int64_t *busy, volatile int64_t *moved)
{
	for (int i = 0; i < NMIGRATE; i++) {
		int e = migrate_errno(node, fd, P2PBAR_PLACEMENT_HOST);

		if (e == EBUSY)
			*busy += 1;
		else if (!e)
			*moved += 1;
		else
			_exit(1);
		usleep(20000);
	}
	_exit(0);
}

/*
 * A buffer under an rxe MR is pinned: MIGRATE fails with EBUSY while
 * RDMA WRITE/READ traffic runs (every byte checked) and the buffer stays
 * where it is; after dereg it migrates, content kept, and the host checks
 * the RDMA-written bytes at its new BAR offset (FILL_TXT).
 */
T_CASE(case_migrate, "migrate", 1, "/dev/p2pbarN [FILL_TXT]")
{
	const size_t len = 4 << 20, chunk = 256 << 10;
	struct p2pbar_buf_info before, after;
	struct ibv_mr *hmr, *h2mr, *dmr;
	volatile int64_t *busy, *moved;
	int iters = 0, status, e;
	uint8_t *h, *h2;
	struct rdma r;
	struct dbuf b;
	pid_t child;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], len);
	dbuf_map(&b);
	h = malloc(chunk);
	h2 = malloc(chunk);
	hmr = ibv_reg_mr(r.pd, h, chunk, ACCESS_ALL);
	h2mr = ibv_reg_mr(r.pd, h2, chunk, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!hmr || !h2mr || !dmr)
		FAIL("migrate: MRs: %s", strerror(errno));
	before = buf_info(argv[0], b.fd);
	busy = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (busy == MAP_FAILED)
		FAIL("mmap");
	moved = busy + 1;
	*busy = *moved = 0;

	child = fork();
	if (child < 0)
		FAIL("fork");
	if (!child)
		migrator(argv[0], b.fd, busy, moved);

	/* Stream until the migrator is done; every chunk read back and checked. */
	while (waitpid(child, &status, WNOHANG) == 0) {
		uint64_t at = (uint64_t)(iters * 37 % 15) * chunk + 5;
		uint64_t seed = 0x5eed00 + iters++;

		fill(h, chunk, seed);
		post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey,
		     IOVA_BASE + at);
		wait_wc(r.cq, 1, __func__);
		memset(h2, 0, chunk);
		post(r.qp[0], IBV_WR_RDMA_READ, h2mr, (uintptr_t)h2, chunk, dmr->rkey,
		     IOVA_BASE + at);
		wait_wc(r.cq, 1, __func__);
		check("READ back while MIGRATE is tried", h2, chunk, seed);
		check("dma-buf content while MIGRATE is tried", b.map + at, chunk, seed);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		FAIL("the migrator failed with an errno other than EBUSY");
	after = buf_info(argv[0], b.fd);
	if (*moved || *busy != NMIGRATE)
		FAIL("MIGRATE of a buffer under an rxe MR: %" PRId64 " moved, %" PRId64
		     " EBUSY of %d",
		     *moved, *busy, NMIGRATE);
	if (after.placement != before.placement || after.offset != before.offset ||
	    after.moves != before.moves)
		FAIL("the pinned buffer moved (placement %u -> %u, offset %#" PRIx64 " -> %#" PRIx64
		     ")",
		     before.placement, after.placement, (uint64_t)before.offset,
		     (uint64_t)after.offset);
	printf("# ok %d x %zu B WRITE+READ verified; all %d MIGRATEs EBUSY, the buffer stayed "
	       "at BAR offset %#" PRIx64 "\n",
	       iters, chunk, NMIGRATE, (uint64_t)after.offset);

	/* the whole MR written once more, then dereg: the buffer moves again */
	for (size_t at = 0; at < len; at += chunk) {
		fill(h, chunk, 0xfeed + at);
		post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey,
		     IOVA_BASE + at);
		wait_wc(r.cq, 1, __func__);
	}
	dereg_timed(dmr, "pinned MR");
	e = migrate_errno(argv[0], b.fd, P2PBAR_PLACEMENT_HOST);
	if (!e)
		e = migrate_errno(argv[0], b.fd, P2PBAR_PLACEMENT_DEVICE);
	if (e)
		FAIL("MIGRATE after dereg: %s", strerror(e));
	after = buf_info(argv[0], b.fd);
	if (after.moves != before.moves + 2)
		FAIL("after dereg: %llu moves, expected %llu", (unsigned long long)after.moves,
		     (unsigned long long)before.moves + 2);
	for (size_t at = 0; at < len; at += chunk)
		check("RDMA-written content after dereg and two moves", b.map + at, chunk,
		      0xfeed + at);
	printf("RESULT: rxe dma-buf MR pins: %d MIGRATEs under traffic all EBUSY, buffer "
	       "kept in place; after dereg HOST and back to DEVICE, content kept\n",
	       NMIGRATE);
	if (argc > 1)
		fill_txt_for_host(argv[0], argv[1], b.fd, chunk, 0xfeed);
	ibv_dereg_mr(hmr);
	ibv_dereg_mr(h2mr);
	/* the buffer stays allocated until exit, for the host's check */
	rdma_close(&r);
	return 0;
}

/*
 * RESET or unbind during RDMA WRITE traffic into a dma-buf MR: error
 * completions (stream_until_revoked()), dereg returns. Then a new buffer
 * is allocated over the revoked BAR range (after unbind: on the device
 * bound again) and filled through its mmap; WRITEs into the dead MR
 * fail and never reach those bytes (checked here, and by the host in the
 * ivshmem file through FILL_TXT).
 */
static int revoke_in_traffic(const char *how, char **argv)
{
	const size_t len = 1 << 20, chunk = 64 << 10;
	struct ibv_mr *hmr, *dmr;
	char node[64];
	struct dbuf b, nb;
	struct rdma r;
	uint8_t *h;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], len);
	h = malloc(chunk);
	fill(h, chunk, 77);
	hmr = ibv_reg_mr(r.pd, h, chunk, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!hmr || !dmr)
		FAIL("revoke: MRs: %s", strerror(errno));
	stream_revoke(
		&r, dmr, hmr, h, chunk,
		&(struct revoke_arg){ .how = how, .node = argv[0], .pci = argv[1], .fd = b.fd });

	snprintf(node, sizeof(node), "%s", argv[0]);
	if (!strcmp(how, "unbind")) {
		int f = open("/sys/bus/pci/drivers/p2pbar/bind", O_WRONLY);

		if (f < 0 || write(f, argv[1], strlen(argv[1])) < 0)
			FAIL("cannot bind %s again: %s", argv[1], strerror(errno));
		close(f);
		p2pbar_node(node, sizeof(node));
	}
	nb = dbuf_p2pbar(node, len);
	dbuf_map(&nb);
	if (nb.bar_offset >= b.bar_offset + len || b.bar_offset >= nb.bar_offset + len)
		FAIL("the new buffer (BAR %#" PRIx64 ") is not over the revoked range (%#" PRIx64
		     "): nothing to check",
		     nb.bar_offset, b.bar_offset);
	fill((uint8_t *)nb.map, len, 0x0e1f);
	printf("a new buffer at BAR offset %#" PRIx64 " over the revoked range at %#" PRIx64 "\n",
	       nb.bar_offset, b.bar_offset);
	expect_revoked(&r, dmr, hmr, h, chunk, how);
	check("the new owner's bytes after WRITEs into the revoked MR", nb.map, len, 0x0e1f);
	dereg_timed(dmr, "revoked MR");
	fill_txt_for_host(node, argv[2], nb.fd, len, 0x0e1f);
	printf("RESULT: %s during RDMA traffic: error completions, dereg returns, the revoked "
	       "range's new owner keeps its bytes\n",
	       how);
	ibv_dereg_mr(hmr);
	dbuf_free(&b);
	rdma_close(&r);
	free(h);
	return 0;
}

T_CASE(case_revoke_reset, "revoke-reset", 3, "/dev/p2pbarN PCI FILL_TXT")
{
	return revoke_in_traffic("reset", argv);
}

T_CASE(case_revoke_unbind, "revoke-unbind", 3, "/dev/p2pbarN PCI FILL_TXT")
{
	return revoke_in_traffic("unbind", argv);
}

/* --- review fixes: registration race, parentless netdevs, fences -------- */

/* Child: move the buffer HOST<->DEVICE until killed; counts MIGRATEs. */
static void migrate_forever(const char *node, int fd, volatile int64_t *moved)
{
	int dev = open(node, O_RDWR | O_CLOEXEC);

	for (int i = 0; dev >= 0; i++) {
		struct p2pbar_migrate m = { .argsz = sizeof(m),
					    .fd = fd,
					    .placement = i % 2 ? P2PBAR_PLACEMENT_DEVICE
							       : P2PBAR_PLACEMENT_HOST };

		/* EBUSY: an MR had the buffer pinned */
		if (ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) && errno != EBUSY)
			_exit(1);
		*moved += 1;
	}
	_exit(1);
}

/*
 * Registration races with moves: a move_notify may arrive as soon as
 * dma_buf_dynamic_attach() has put the attachment on the buffer's list,
 * before rxe has finished setting up the MR. Register and deregister in
 * a loop for SECONDS while a child migrates the buffer in a loop.
 */
T_CASE(case_regrace, "regrace", 1, "/dev/p2pbarN [SECONDS]")
{
	const size_t len = 64 << 10;
	double secs = argc > 1 ? atof(argv[1]) : 30, end;
	volatile int64_t *moved;
	unsigned long long moves;
	long regs = 0;
	struct rdma r;
	struct dbuf b;
	pid_t child;
	int status;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], len);
	moved = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (moved == MAP_FAILED)
		FAIL("mmap");
	*moved = 0;
	child = fork();
	if (child < 0)
		FAIL("fork");
	if (!child)
		migrate_forever(argv[0], b.fd, moved);
	for (end = now() + secs; now() < end; regs++) {
		struct ibv_mr *mr = ibv_reg_dmabuf_mr(r.pd, 0, len, 0, b.fd, ACCESS_ALL);

		if (!mr)
			FAIL("registration %ld under moves: %s", regs, strerror(errno));
		if (ibv_dereg_mr(mr))
			FAIL("dereg %ld under moves: %s", regs, strerror(errno));
		if (waitpid(child, &status, WNOHANG) == child)
			FAIL("the migrator ended (MIGRATEs %" PRId64 ", status %#x)", *moved,
			     status);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* a registration meets a move only between two MRs' pins */
	moves = buf_info(argv[0], b.fd).moves;
	if (*moved < 100 || moves < 1)
		FAIL("%" PRId64 " MIGRATEs, %llu moves in %.0f s: no race was tried", *moved, moves,
		     secs);
	printf("RESULT: %ld dma-buf MR registrations+deregistrations while %" PRId64
	       " MIGRATEs ran (%llu moves HOST<->DEVICE, the rest EBUSY under a pin), no oops\n",
	       regs, *moved, moves);
	dbuf_free(&b);
	rdma_close(&r);
	return 0;
}

static struct ibv_context *open_named(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && list[i] && !ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!ctx)
		FAIL("cannot open RDMA device %s", name);
	return ctx;
}

/* errno of the NCCL probe ibv_reg_dmabuf_mr(pd, 0, 0, 0, -1, 0) on @pd */
static int probe_errno(struct ibv_pd *pd)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_dmabuf_mr(pd, 0, 0, 0, -1, 0);
	if (mr)
		FAIL("the probe registered an MR");
	return errno;
}

/*
 * The capability probe and a real registration agree. NOPARENT is an rxe
 * device on a netdev without a parent device (veth), which cannot attach
 * a dma-buf: both EOPNOTSUPP. PARENTED is rxe on a virtio netdev: the
 * probe sees EBADF ("supported").
 */
T_CASE(case_noparent, "noparent", 3, "NOPARENT_DEV PARENTED_DEV /dev/p2pbarN")
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct dbuf b;
	int e;

	b = dbuf_p2pbar(argv[2], 4 * PAGE);
	ctx = open_named(argv[0]);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		FAIL("ibv_alloc_pd on %s", argv[0]);
	e = probe_errno(pd);
	printf("%s (no parent device): probe -> %s\n", argv[0], strerror(e));
	errno = 0;
	mr = ibv_reg_dmabuf_mr(pd, 0, PAGE, 0, b.fd, ACCESS_ALL);
	if (mr)
		FAIL("%s: a dma-buf MR registered on a netdev without a parent", argv[0]);
	printf("%s (no parent device): registration -> %s\n", argv[0], strerror(errno));
	if (errno != EOPNOTSUPP)
		FAIL("%s: registration errno %d (%s), expected EOPNOTSUPP", argv[0], errno,
		     strerror(errno));
	if (e != EOPNOTSUPP)
		FAIL("%s: the probe says %s where every registration fails with EOPNOTSUPP",
		     argv[0], strerror(e));
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);

	ctx = open_named(argv[1]);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		FAIL("ibv_alloc_pd on %s", argv[1]);
	e = probe_errno(pd);
	printf("%s (virtio netdev): probe -> %s\n", argv[1], strerror(e));
	if (e != EBADF)
		FAIL("%s: probe errno %d (%s), expected EBADF", argv[1], e, strerror(e));
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	dbuf_free(&b);
	printf("RESULT: probe and registration agree: EOPNOTSUPP on %s (veth), "
	       "probe EBADF on %s (virtio)\n",
	       argv[0], argv[1]);
	return 0;
}

/*
 * The kernel's REREG_MR verb on @mr, through the uverbs write ABI: 0 or
 * the errno. libibverbs' ibv_rereg_mr() refuses every dma-buf MR itself
 * (EINVAL: mr_type IBV_MR_TYPE_DMABUF_MR, rdma-core 56 and 65) before the
 * provider sees it, so the test sends the command libibverbs would send.
 */
static int rereg_cmd(struct ibv_mr *mr, int flags, struct ibv_pd *pd, uint64_t start, size_t len,
		     int access)
{
	struct ib_uverbs_rereg_mr_resp resp;
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_rereg_mr cmd;
	} req = { .hdr = { .command = IB_USER_VERBS_CMD_REREG_MR,
			   .in_words = sizeof(req) / 4,
			   .out_words = sizeof(resp) / 4 },
		  .cmd = { .response = (uintptr_t)&resp,
			   .mr_handle = mr->handle,
			   .flags = flags,
			   .start = start,
			   .length = len,
			   .hca_va = start,
			   .pd_handle = pd ? pd->handle : 0,
			   .access_flags = access } };

	if (write(mr->context->cmd_fd, &req, sizeof(req)) != sizeof(req))
		return errno;
	if (resp.lkey != mr->lkey || resp.rkey != mr->rkey)
		FAIL("rereg changed the keys of a dma-buf MR");
	return 0;
}

/* One WR on @r's first QP: its completion status (fresh QPs after an error). */
static int one_wr(struct rdma *r, enum ibv_wr_opcode op, struct ibv_mr *lmr, void *laddr,
		  size_t len, uint32_t rkey, uint64_t raddr)
{
	struct ibv_wc wc;

	post(r->qp[0], op, lmr, (uintptr_t)laddr, len, rkey, raddr);
	wc = wc_within(r, 20);
	if (wc.status != IBV_WC_SUCCESS)
		requeue_qps(r);
	return wc.status;
}

static void expect_wc(const char *what, int got, int want)
{
	if (got != want)
		FAIL("%s: %s, expected %s", what, wc_str(got), ibv_wc_status_str(want));
	printf("# ok %-52s -> %s\n", what, ibv_wc_status_str(want));
}

static void expect_rereg(const char *what, int got, int want)
{
	if (got != want)
		FAIL("%s: %s, expected %s", what, got ? strerror(got) : "success",
		     want ? strerror(want) : "success");
	printf("# ok %-52s -> %s\n", what, want ? strerror(want) : "done");
}

T_CASE(case_rereg, "rereg", 1, "/dev/p2pbarN")
{
	const size_t len = 2 * PAGE;
	struct ibv_mr *dmr, *hmr, *h2mr;
	struct rdma r, r2 = { 0 };
	uint8_t *h, *h2;
	struct dbuf b;
	int e;

	rdma_open(&r);
	/* a second PD with its own QP pair on the same device */
	r2.ctx = r.ctx;
	r2.pd = ibv_alloc_pd(r.ctx);
	r2.cq = ibv_create_cq(r.ctx, 64, NULL, NULL, 0);
	if (!r2.pd || !r2.cq)
		FAIL("second pd/cq");
	rdma_qps(&r2);
	b = dbuf_p2pbar(argv[0], len);
	dbuf_map(&b);
	h = malloc(len);
	h2 = malloc(len);
	hmr = ibv_reg_mr(r.pd, h, len, ACCESS_ALL);
	h2mr = ibv_reg_mr(r2.pd, h2, len, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd,
				IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!h || !h2 || !hmr || !h2mr || !dmr)
		FAIL("MRs: %s", strerror(errno));

	fill(h, len, 1);
	expect_wc("WRITE on the MR's PD",
		  one_wr(&r, IBV_WR_RDMA_WRITE, hmr, h, len, dmr->rkey, IOVA_BASE), IBV_WC_SUCCESS);
	check("WRITE on the MR's PD", b.map, len, 1);

	errno = 0;
	e = ibv_rereg_mr(dmr, IBV_REREG_MR_CHANGE_PD, r2.pd, NULL, 0, 0) ? errno : 0;
	printf("libibverbs ibv_rereg_mr() of a dma-buf MR: %s (not reaching the kernel)\n",
	       e ? strerror(e) : "done");

	/* PD: the new one works, the old one is refused */
	expect_rereg("rereg PD", rereg_cmd(dmr, IBV_REREG_MR_CHANGE_PD, r2.pd, 0, 0, 0), 0);
	fill(h2, len, 2);
	expect_wc("WRITE on the new PD",
		  one_wr(&r2, IBV_WR_RDMA_WRITE, h2mr, h2, len, dmr->rkey, IOVA_BASE),
		  IBV_WC_SUCCESS);
	check("WRITE on the new PD", b.map, len, 2);
	fill(h, len, 3);
	expect_wc("WRITE on the old PD",
		  one_wr(&r, IBV_WR_RDMA_WRITE, hmr, h, len, dmr->rkey, IOVA_BASE),
		  IBV_WC_REM_ACCESS_ERR);
	check("the MR after a WRITE on the old PD", b.map, len, 2);

	/* ACCESS: REMOTE_READ added, REMOTE_WRITE taken away, by a remote op */
	expect_wc("READ without REMOTE_READ",
		  one_wr(&r2, IBV_WR_RDMA_READ, h2mr, h2, len, dmr->rkey, IOVA_BASE),
		  IBV_WC_REM_ACCESS_ERR);
	expect_rereg("rereg ACCESS to LOCAL_WRITE | REMOTE_READ",
		     rereg_cmd(dmr, IBV_REREG_MR_CHANGE_ACCESS, NULL, 0, 0,
			       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ),
		     0);
	memset(h2, 0, len);
	expect_wc("READ with REMOTE_READ",
		  one_wr(&r2, IBV_WR_RDMA_READ, h2mr, h2, len, dmr->rkey, IOVA_BASE),
		  IBV_WC_SUCCESS);
	check("READ with REMOTE_READ", h2, len, 2);
	fill(h2, len, 4);
	expect_wc("WRITE without REMOTE_WRITE",
		  one_wr(&r2, IBV_WR_RDMA_WRITE, h2mr, h2, len, dmr->rkey, IOVA_BASE),
		  IBV_WC_REM_ACCESS_ERR);
	check("the MR after a WRITE without REMOTE_WRITE", b.map, len, 2);

	/* refused: access a dma-buf MR cannot have, a new translation */
	expect_rereg("rereg ACCESS with MW_BIND",
		     rereg_cmd(dmr, IBV_REREG_MR_CHANGE_ACCESS, NULL, 0, 0,
			       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND),
		     EINVAL);
	expect_rereg("rereg TRANS",
		     rereg_cmd(dmr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, (uintptr_t)h, len, 0),
		     EOPNOTSUPP);
	expect_rereg("rereg TRANS | PD",
		     rereg_cmd(dmr, IBV_REREG_MR_CHANGE_TRANSLATION | IBV_REREG_MR_CHANGE_PD, r.pd,
			       (uintptr_t)h, len, 0),
		     EOPNOTSUPP);
	memset(h2, 0, len);
	expect_wc("READ on the new PD after the refusals",
		  one_wr(&r2, IBV_WR_RDMA_READ, h2mr, h2, len, dmr->rkey, IOVA_BASE),
		  IBV_WC_SUCCESS);
	check("READ after the refusals", h2, len, 2);

	if (ibv_dereg_mr(dmr) || ibv_dereg_mr(hmr) || ibv_dereg_mr(h2mr))
		FAIL("ibv_dereg_mr");
	dbuf_free(&b);
	free(h);
	free(h2);
	ibv_destroy_qp(r2.qp[0]);
	ibv_destroy_qp(r2.qp[1]);
	ibv_destroy_cq(r2.cq);
	if (ibv_dealloc_pd(r2.pd))
		FAIL("ibv_dealloc_pd of the new PD: %s", strerror(errno));
	rdma_close(&r);
	printf("RESULT: rereg of a dma-buf MR: PD and ACCESS change what remote ops may do, "
	       "TRANS is EOPNOTSUPP\n");
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A registration of @b that must fail: returns its errno and time. */
static int reg_fails(struct rdma *r, struct dbuf *b, size_t len, double *took)
{
	double t = now();
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_dmabuf_mr(r->pd, 0, len, IOVA_BASE, b->fd, ACCESS_ALL);
	*took = now() - t;
	if (mr)
		FAIL("a registration succeeded while the move's fence is pending");
	return errno;
}

/*
 * A move that never finishes: p2pbar_selftest.ko puts an unsignalled
 * KERNEL-usage fence into the buffer's reservation object (as an exporter
 * does for an asynchronous move) and delivers move_notify. The live MR is
 * revoked: its WRs fail at once (the data path waits for no fence), QP
 * destroy and dereg return. A registration waits for the fence, but
 * interruptibly (a signal: EINTR) and bounded (ETIMEDOUT). Once the fence
 * signals, a new MR moves data.
 */
T_CASE(case_fence, "fence", 1, "/dev/p2pbarN")
{
	const size_t len = 1 << 20, chunk = 64 << 10;
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	/* repeating, so a signal that comes too early is followed by more */
	struct itimerval it = { .it_value = { .tv_usec = 500000 },
				.it_interval = { .tv_usec = 200000 } },
			 off = { 0 };
	struct ibv_mr *hmr, *dmr;
	struct ibv_wc wc;
	double t, took;
	struct rdma r;
	char cmd[32];
	struct dbuf b;
	uint8_t *h;
	int e;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], len);
	dbuf_map(&b);
	h = malloc(chunk);
	fill(h, chunk, 1);
	hmr = ibv_reg_mr(r.pd, h, chunk, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!hmr || !dmr)
		FAIL("fence: MRs: %s", strerror(errno));
	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey, IOVA_BASE);
	wait_wc(r.cq, 1, "WRITE before the fence");

	snprintf(cmd, sizeof(cmd), "fence %d", b.fd);
	notify_cmd(cmd);
	printf("an unsignalled KERNEL fence is in the buffer's resv, move_notify delivered\n");

	t = now();
	expect_revoked(&r, dmr, hmr, h, chunk, "move fence pending");
	printf("# ok the revoked MR's WRs completed in %.1f s with the fence pending\n", now() - t);
	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey, IOVA_BASE);
	t = now();
	ibv_destroy_qp(r.qp[0]);
	ibv_destroy_qp(r.qp[1]);
	took = now() - t;
	printf("# ok QP destroy with the fence pending: %.1f s\n", took);
	rdma_qps(&r);
	while (ibv_poll_cq(r.cq, 1, &wc) > 0)
		; /* the destroyed QP's WR may have completed first */
	dereg_timed(dmr, "fence pending");

	/* registration: interruptible ... */
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		FAIL("SIGALRM: %s", strerror(errno));
	e = reg_fails(&r, &b, len, &took);
	setitimer(ITIMER_REAL, &off, NULL);
	if (e != EINTR)
		FAIL("registration with the fence pending, signalled after 0.5 s: %s after %.1f s, "
		     "expected EINTR",
		     strerror(e), took);
	printf("# ok registration with the fence pending, signalled: %s after %.1f s\n",
	       strerror(e), took);
	/* ... and bounded */
	e = reg_fails(&r, &b, len, &took);
	if (e != ETIMEDOUT)
		FAIL("registration with the fence pending: %s after %.1f s, expected ETIMEDOUT",
		     strerror(e), took);
	printf("# ok registration with the fence pending: %s after %.1f s\n", strerror(e), took);
	if (buf_info(argv[0], b.fd).pin_count)
		FAIL("a failed registration left the buffer pinned");

	/* the move finishes: a new MR on the buffer works */
	notify_cmd("signal");
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!dmr)
		FAIL("MR after the fence signalled: %s", strerror(errno));
	fill(h, chunk, 2);
	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey, IOVA_BASE);
	wait_wc(r.cq, 1, "WRITE after the fence signalled");
	check("WRITE after the fence signalled", b.map, chunk, 2);
	printf("RESULT: never-signalled move fence: the live MR is revoked (WRs fail at once, QP "
	       "destroy and dereg return), registration is interruptible (EINTR) and bounded "
	       "(ETIMEDOUT); after the signal a new MR moves data\n");
	ibv_dereg_mr(dmr);
	ibv_dereg_mr(hmr);
	dbuf_free(&b);
	rdma_close(&r);
	free(h);
	return 0;
}

/* Child: one MIGRATE to @to; exits 0 on success. */
static void migrate_once(const char *node, int fd, uint32_t to)
{
	struct p2pbar_migrate m = { .argsz = sizeof(m), .fd = fd, .placement = to };
	int dev = open(node, O_RDWR | O_CLOEXEC);

	_exit(dev < 0 || ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m));
}

/*
 * What userspace can reach of a fence that does not signal: a vgem fence,
 * imported into the p2pbar buffer with DMA_BUF_IOCTL_IMPORT_SYNC_FILE.
 * That adds WRITE usage (implicit sync for other users of the buffer);
 * rxe waits for no fence on its data path, so traffic,
 * dereg and QP destroy go on. A MIGRATE waits for the fence itself,
 * without the buffer's reservation lock, so a WR on the MR goes on beside
 * it too. rxe's own wait for a move fence is case fence (p2pbar_selftest.ko).
 */
T_CASE(case_vgemfence, "vgemfence", 1, "/dev/p2pbarN")
{
	const size_t len = 1 << 20, chunk = 64 << 10;
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
	struct ibv_mr *hmr, *dmr;
	struct vgem_fence vf;
	struct ibv_wc wc;
	double t, took;
	struct rdma r;
	struct dbuf b;
	pid_t child;
	uint8_t *h;
	int status;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], len);
	dbuf_map(&b);
	h = malloc(chunk);
	fill(h, chunk, 3);
	hmr = ibv_reg_mr(r.pd, h, chunk, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!hmr || !dmr)
		FAIL("vgemfence: MRs: %s", strerror(errno));

	imp.fd = vgem_fence(&vf);
	if (ioctl(b.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp))
		FAIL("DMA_BUF_IOCTL_IMPORT_SYNC_FILE: %s", strerror(errno));
	close(imp.fd);
	t = now();
	printf("an unsignalled vgem fence is in the p2pbar buffer's resv (WRITE usage)\n");

	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey, IOVA_BASE);
	wait_wc(r.cq, 1, "WRITE with a WRITE-usage fence pending");
	check("WRITE with a WRITE-usage fence pending", b.map, chunk, 3);
	printf("# ok WRITE completes with the fence pending (rxe's data path waits for no "
	       "fence)\n");

	/*
	 * MIGRATE waits for the fence without holding the buffer's lock
	 * (p2pbar_buf_migrate): traffic on the MR goes on meanwhile.
	 */
	child = fork();
	if (child < 0)
		FAIL("fork");
	if (!child)
		migrate_once(argv[0], b.fd, P2PBAR_PLACEMENT_HOST);
	usleep(500000);
	if (waitpid(child, &status, WNOHANG) == child)
		FAIL("MIGRATE returned (status %#x) with the fence pending", status);
	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey, IOVA_BASE);
	wc = wc_within(&r, 5);
	if ((int)wc.status == -1)
		FAIL("a WR waited behind a MIGRATE that waits for a fence");
	if (wc.status != IBV_WC_SUCCESS)
		FAIL("the WR beside the waiting MIGRATE completed with %s",
		     ibv_wc_status_str(wc.status));
	printf("# ok a WR completes while MIGRATE waits for the fence\n");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* dereg and QP destroy with the fence still pending */
	took = now();
	if (ibv_dereg_mr(dmr))
		FAIL("dereg with the fence pending: %s", strerror(errno));
	ibv_destroy_qp(r.qp[0]);
	ibv_destroy_qp(r.qp[1]);
	took = now() - took;
	printf("# ok dereg and QP destroy with the fence pending: %.1f s\n", took);
	if (took > 5)
		FAIL("dereg and QP destroy took %.1f s with the fence pending", took);
	if (now() - t > 9)
		FAIL("the steps took %.0f s: vgem's fence may have timed out before the end",
		     now() - t);
	vgem_fence_signal(&vf);
	rdma_qps(&r);
	printf("RESULT: vgem fence (WRITE usage) pending: traffic (also beside a MIGRATE "
	       "waiting for it), dereg and QP destroy do not wait for it\n");
	ibv_dereg_mr(hmr);
	dbuf_free(&b);
	rdma_close(&r);
	free(h);
	return 0;
}

/* --- allocfail: allocation failures injected (fault-injection.rst) */

/* One WRITE host -> dma-buf MR and its bytes checked: the MR works. */
static void allocfail_use(struct rdma *r, struct ibv_mr *hmr, uint8_t *h, struct ibv_mr *dmr,
			  struct dbuf *b, size_t len, uint64_t seed)
{
	fill(h, len, seed);
	post(r->qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, len, dmr->rkey, IOVA_BASE);
	wait_wc(r->cq, 1, "WRITE into the dma-buf MR");
	check("WRITE into the dma-buf MR", b->map, len, seed);
}

static int allocfail_reg(struct rdma *r, struct dbuf *b)
{
	size_t len = 4 * PAGE;
	uint8_t *h = malloc(len);
	struct ibv_mr *hmr = ibv_reg_mr(r->pd, h, len, ACCESS_ALL), *dmr;
	unsigned int n, enomem = 0, efault = 0;
	bool hit = true;

	if (!hmr)
		FAIL("ibv_reg_mr: %s", strerror(errno));
	for (n = 1; hit; n++) {
		fail_nth_set(n);
		dmr = ibv_reg_dmabuf_mr(r->pd, 0, len, IOVA_BASE, b->fd, ACCESS_ALL);
		hit = fail_nth_hit();
		if (dmr) {
			allocfail_use(r, hmr, h, dmr, b, len, n);
			if (ibv_dereg_mr(dmr))
				FAIL("ibv_dereg_mr: %s", strerror(errno));
		} else if (!hit) {
			FAIL("registration without a fault: %s", strerror(errno));
		} else if (errno == ENOMEM || errno == EFAULT) {
			enomem += errno == ENOMEM;
			efault += errno == EFAULT;
		} else {
			FAIL("registration with fault %u injected: %s, want ENOMEM or EFAULT", n,
			     strerror(errno));
		}
		/* the next registration, without a fault, works */
		dmr = ibv_reg_dmabuf_mr(r->pd, 0, len, IOVA_BASE, b->fd, ACCESS_ALL);
		if (!dmr)
			FAIL("registration after fault %u: %s", n, strerror(errno));
		allocfail_use(r, hmr, h, dmr, b, len, n + 0x100);
		if (ibv_dereg_mr(dmr))
			FAIL("ibv_dereg_mr: %s", strerror(errno));
	}
	printf("allocfail reg: %u allocation/copy sites failed in turn: %u ENOMEM, %u EFAULT, "
	       "%u registered anyway; the next registration worked each time\n",
	       n - 2, enomem, efault, n - 2 - enomem - efault);
	ibv_dereg_mr(hmr);
	free(h);
	return 0;
}

T_CASE(case_allocfail, "allocfail", 1, "/dev/p2pbarN")
{
	struct rdma r;
	struct dbuf b;
	int ret;

	fail_nth_open();
	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], 64 << 10);
	dbuf_map(&b);
	ret = allocfail_reg(&r, &b);
	dbuf_free(&b);
	rdma_close(&r);
	return ret;
}

/* --- trafficfail: packet allocations failed under traffic ----------- */

static void fault_set(const char *dir, const char *attr, long val)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%ld\n", val) < 0 || fclose(f))
		FAIL("write %ld to %s: %s", val, path, strerror(errno));
}

static long fault_get(const char *dir, const char *attr)
{
	char path[256];
	long val;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%ld", &val) != 1)
		FAIL("read %s: %s", path, strerror(errno));
	fclose(f);
	return val;
}

static void trafficfail_reap(struct rdma *r, int n, unsigned int round, const char *dir,
			     long faults)
{
	for (int i = 0; i < n; i++) {
		struct ibv_wc wc = wc_within(r, 30);

		if ((int)wc.status == -1)
			FAIL("round %u: no completion in 30 s (%d of %d reaped): hang", round, i,
			     n);
		if (wc.status != IBV_WC_SUCCESS)
			FAIL("round %u: an RDMA %s completed with %s (%d of %d reaped; %ld faults "
			     "injected)",
			     round, wc.wr_id == IBV_WR_RDMA_READ ? "READ" : "WRITE",
			     ibv_wc_status_str(wc.status), i, n, faults - fault_get(dir, "times"));
	}
}

static void expect_qp_rts(struct ibv_qp *qp, const char *what)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr a;

	if (ibv_query_qp(qp, &a, IBV_QP_STATE, &ia))
		FAIL("ibv_query_qp: %s", strerror(errno));
	if (a.qp_state != IBV_QPS_RTS)
		FAIL("%s: QP state %d, not RTS", what, a.qp_state);
}

/*
 * Each round, @n WRITEs of @chunk from @h into one half of the dma-buf MR
 * and @n READs of the other half (the previous round's) into @h2, posted
 * interleaved, so the requester's opcode and PSN sequence mixes WRITE
 * FIRST/MIDDLE/LAST with READ requests around every fault.
 */
static unsigned int trafficfail_stream(struct rdma *r, struct ibv_mr *hmr, uint8_t *h,
				       struct ibv_mr *h2mr, uint8_t *h2, struct ibv_mr *dmr,
				       struct dbuf *b, size_t chunk, int n, const char *dir,
				       long faults, double secs)
{
	size_t half = chunk * n;
	double end = now() + secs;
	unsigned int round;

	for (round = 0; round < 2 || fault_get(dir, "times") > 0; round++) {
		uint64_t w = (round & 1) * half, rd = half - w, seed = 0x7aff1c00 + round;

		if (now() > end)
			FAIL("%ld faults still to inject after %u rounds, %.0f s: are they aimed "
			     "at "
			     "the requester's allocations?",
			     fault_get(dir, "times"), round, secs);
		fill(h, half, seed);
		memset(h2, 0, half);
		for (int i = 0; i < n; i++) {
			post(r->qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h + i * chunk, chunk,
			     dmr->rkey, IOVA_BASE + w + i * chunk);
			post(r->qp[0], IBV_WR_RDMA_READ, h2mr, (uintptr_t)h2 + i * chunk, chunk,
			     dmr->rkey, IOVA_BASE + rd + i * chunk);
		}
		trafficfail_reap(r, 2 * n, round, dir, faults);
		check("RDMA WRITEs into the dma-buf MR", b->map + w, half, seed);
		if (round)
			check("RDMA READs from the dma-buf MR", h2, half, seed - 1);
	}
	return round;
}

T_CASE(case_trafficfail, "trafficfail", 2, "/dev/p2pbarN FAULT_DIR")
{
	const char *dir = argv[1];
	const long faults = 400, pct = 10;
	const size_t chunk = 64 << 10;
	const int n = 8; /* 2n WRs: the QPs' send queue */
	size_t half = chunk * n;
	uint8_t *h = malloc(half), *h2 = malloc(half);
	struct ibv_mr *hmr, *h2mr, *dmr;
	unsigned int rounds;
	struct ibv_wc wc;
	struct rdma r;
	struct dbuf b;
	long failed;
	double t;

	rdma_open(&r);
	b = dbuf_p2pbar(argv[0], 2 * half);
	dbuf_map(&b);
	hmr = ibv_reg_mr(r.pd, h, half, ACCESS_ALL);
	h2mr = ibv_reg_mr(r.pd, h2, half, ACCESS_ALL);
	dmr = ibv_reg_dmabuf_mr(r.pd, 0, 2 * half, IOVA_BASE, b.fd, ACCESS_ALL);
	if (!h || !h2 || !hmr || !h2mr || !dmr)
		FAIL("buffers and MRs: %s", strerror(errno));

	/* transient: pct % of the requester's packet allocations fail */
	fault_set(dir, "times", faults);
	fault_set(dir, "probability", pct);
	t = now();
	rounds = trafficfail_stream(&r, hmr, h, h2mr, h2, dmr, &b, chunk, n, dir, faults, 120);
	fault_set(dir, "probability", 0);
	t = now() - t;
	expect_qp_rts(r.qp[0], "requester after the faults");
	expect_qp_rts(r.qp[1], "responder after the faults");
	printf("RESULT: trafficfail: %ld packet allocations of rxe's requester failed (%ld %%) "
	       "during %u WRs (%u RDMA WRITEs and READs of %zu KiB, %.1f MiB each way, every "
	       "byte checked) in %.1f s: every WR completed ok, no QP error\n",
	       faults - fault_get(dir, "times"), pct, rounds * 2 * n, rounds * n, chunk >> 10,
	       rounds * half / 1048576.0, t);

	/* lasting: every allocation fails; the WR ends, in error */
	fault_set(dir, "times", 1000);
	fault_set(dir, "probability", 100);
	t = now();
	post(r.qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, PAGE, dmr->rkey, IOVA_BASE);
	wc = wc_within(&r, 30);
	t = now() - t;
	fault_set(dir, "probability", 0);
	failed = 1000 - fault_get(dir, "times");
	fault_set(dir, "times", 0);
	if ((int)wc.status == -1)
		FAIL("a WRITE whose packet never allocates: no completion in 30 s: hang");
	/* the requester's error; rxe's completer flushes it with the QP */
	if (wc.status != IBV_WC_LOC_QP_OP_ERR && wc.status != IBV_WC_WR_FLUSH_ERR)
		FAIL("a WRITE whose packet never allocates completed with %s, expected %s or %s",
		     ibv_wc_status_str(wc.status), ibv_wc_status_str(IBV_WC_LOC_QP_OP_ERR),
		     ibv_wc_status_str(IBV_WC_WR_FLUSH_ERR));
	if (failed < 2)
		FAIL("a WRITE whose packet never allocates: failed after %ld allocation, not "
		     "retried",
		     failed);
	printf("RESULT: trafficfail: a packet that never allocates: its WRITE completed with "
	       "%s after %ld tries in %.2f s\n",
	       ibv_wc_status_str(wc.status), failed, t);

	/* no faults: new QPs move data */
	requeue_qps(&r);
	rounds = trafficfail_stream(&r, hmr, h, h2mr, h2, dmr, &b, chunk, n, dir, 0, 120);
	printf("# ok new QPs after the faults: %u rounds of WRITEs and READs checked\n", rounds);

	ibv_dereg_mr(dmr);
	ibv_dereg_mr(h2mr);
	ibv_dereg_mr(hmr);
	dbuf_free(&b);
	rdma_close(&r);
	free(h2);
	free(h);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct t_program prog = { NULL, 0, NULL };

	return t_main(&prog, argc, argv);
}
