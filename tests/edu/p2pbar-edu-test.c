// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar-edu-test: p2pbar buffers imported by a PCI device that really
 * DMAs (QEMU's edu, driven by p2pbar_edu.ko), run inside a testbed guest.
 *
 * usage: p2pbar-edu-test CASE[,CASE...] /dev/p2pbarN EXPECT (t_harness.h)
 *   device   a movable DEVICE buffer, dynamic import: DMA a pattern in
 *            (edu -> buffer), check it through the CPU mapping, DMA it
 *            back (buffer -> edu) and compare; the CPU writes a range,
 *            edu reads it; a partial fill across a segment boundary
 *   host     a HOST-only buffer, dynamic import: the same, in RAM
 *   pinned   dynamic attach + pin (as ib_umem_dmabuf_get_pinned); the
 *            exporter must refuse to move it
 *   static   static attach: a device-only buffer is refused, a movable
 *            one is served from HOST
 *   migrate  MIGRATE while imported: invalidate -> unmap -> move -> remap
 *            at the next DMA, content kept; with move-notify also while
 *            a DMA runs (migrations back and forth under it)
 *   revoke   RESET (alone in its run: it frees the other cases' ranges):
 *            a pinned import keeps its revoked range taken until edu lets
 *            go; a dynamic one is unmapped, a new buffer gets the range,
 *            edu's next DMA is refused and the new buffer's bytes stay as
 *            its owner wrote them (the host checks)
 *   unbind   the same through unbind and rebind of the exporter (alone in
 *            its run too): unbind waits while edu pins a buffer and
 *            returns once edu unpins; a dynamic import is unmapped, and
 *            after rebind a new buffer of the new device gets the range,
 *            edu's next DMA through the old import is refused, and the
 *            host finds the new owner's bytes
 * What the exporter must decide follows from INFO's P2PDMA cap and the
 * topology (read from sysfs), not from a per-kernel list: edu reaches
 * the BAR only with P2PDMA and behind the exporter's PCIe switch; there
 * a DEVICE import gets the BAR's bus address, never an IOVA (under an
 * IOMMU QEMU cannot route it: that run checks addresses, moves no
 * bytes); everywhere else every dynamic/pinned import of a DEVICE
 * buffer is downgraded to HOST. An import it accepts must get DMA
 * addresses that lead (through the IOMMU when one translates for edu,
 * for HOST) to where BUF_INFO places the buffer: its BAR
 * offset for DEVICE, RAM for HOST. Each DMA'd range goes into EXPECT
 * ("present BAR_OFFSET LENGTH SEED" or "absent LENGTH SEED") for the
 * host to check in the ivshmem file (tests/edu/edu-verify.py). Buffers
 * stay allocated until the end so no later case reuses their range.
 * Prints "RESULT: ..." lines; exits non-zero on the first failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/p2pbar.h>

#include "p2pbar_pattern.h"
#include "t_harness.h"
#include "t_p2pbar.h"

#define KIB 1024ULL

static char dev_path[64];
static char ctl_path[256];
static FILE *expect;
static int dev;
static struct p2pbar_info info;
static char exporter_pci[32];
static char out[8192];
/* edu and the exporter under one PCIe switch (a common upstream bridge) */
static int common_switch;
/* the exporter must map DEVICE buffers for edu peer-to-peer */
static int want_p2p;
/* the last map was a bus address under edu's IOMMU: QEMU cannot route it */
static int dma_unroutable;

struct map_line {
	char kind[16], target[16], pci[32], raw_pci[32];
	int bar, nents, raw_bar;
	uint64_t dma, off, raw_off;
};

struct status_line {
	int mapped, revoked, invalidations, busy, maps, dmas;
};

/* Byte @i of a range holding pattern @seed; seed 0 means zeros. */
static uint8_t pat_byte(uint64_t seed, uint64_t i)
{
	return seed ? p2pbar_pattern_byte(seed, i) : 0;
}

static void cpu_fill(volatile uint8_t *m, uint64_t off, uint64_t len, uint64_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		m[off + i] = pat_byte(seed, i);
}

static void cpu_verify(volatile uint8_t *m, uint64_t off, uint64_t len, uint64_t seed,
		       const char *what)
{
	for (uint64_t i = 0; i < len; i++)
		if (m[off + i] != pat_byte(seed, i))
			fail("%s: CPU reads %#x at buffer offset %" PRIu64 ", want %#x", what,
			     m[off + i], off + i, pat_byte(seed, i));
}

/* One command to the edu importer; its output in out[]. 0 or -errno. */
static int edu(const char *fmt, ...)
{
	char cmd[128];
	va_list ap;
	ssize_t n;
	int fd, ret = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fd = open(ctl_path, O_RDWR);
	if (fd < 0)
		fail("%s: %s (is p2pbar_edu.ko loaded?)", ctl_path, strerror(errno));
	if (write(fd, cmd, strlen(cmd)) < 0)
		ret = -errno;
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	if (strncmp(cmd, "status", 6))
		printf("edu %s -> %d\n%s", cmd, ret, out);
	return ret;
}

static void edu_ok(const char *fmt, const char *arg1, uint64_t a, uint64_t b, uint64_t c)
{
	int ret = edu(fmt, arg1, a, b, c);

	if (ret)
		fail("edu command \"%s\" %s: %s", fmt, arg1, strerror(-ret));
}

#define edu_fill(off, len, seed) \
	edu_ok("%s %" PRIu64 " %" PRIu64 " %" PRIu64, "fill", off, len, seed)
#define edu_check(off, len, seed) \
	edu_ok("%s %" PRIu64 " %" PRIu64 " %" PRIu64, "check", off, len, seed)

/* The last MAP line of the output; 0 if there is none. */
static int last_map(struct map_line *m)
{
	char *l = out, *last = NULL;

	while ((l = strstr(l, "MAP ")))
		last = l++;
	if (!last)
		return 0;
	memset(m, 0, sizeof(*m));
	m->bar = -1;
	if (sscanf(last, "MAP mode=%*s nents=%d dma=%" SCNx64 " kind=%15s phys=%*s target=%15s",
		   &m->nents, &m->dma, m->kind, m->target) != 4)
		fail("cannot parse %s", last);
	if (!strcmp(m->target, "bar") &&
	    sscanf(strstr(last, " dev="), " dev=%31s bar=%d off=%" SCNx64, m->pci, &m->bar,
		   &m->off) != 3)
		fail("cannot parse %s", last);
	m->raw_bar = -1;
	if (strstr(last, " raw_dev=") &&
	    sscanf(strstr(last, " raw_dev="), " raw_dev=%31s raw_bar=%d raw_off=%" SCNx64,
		   m->raw_pci, &m->raw_bar, &m->raw_off) != 3)
		fail("cannot parse %s", last);
	return 1;
}

static struct status_line status(void)
{
	struct status_line s;

	edu("status");
	if (sscanf(strstr(out, "STATUS") ?: "",
		   "STATUS imported=%*d mode=%*s mapped=%d "
		   "revoked=%d invalidations=%d busy_invalidations=%d maps=%d dmas=%d",
		   &s.mapped, &s.revoked, &s.invalidations, &s.busy, &s.maps, &s.dmas) != 6)
		fail("cannot parse status: %s", out);
	return s;
}

static struct p2pbar_buf_info buf_info(int fd)
{
	struct p2pbar_buf_info b = { .argsz = sizeof(b), .fd = fd };

	if (ioctl(dev, P2PBAR_IOCTL_BUF_INFO, &b))
		fail("BUF_INFO: %s", strerror(errno));
	return b;
}

static int migrate(int fd, uint32_t to)
{
	struct p2pbar_migrate m = { .argsz = sizeof(m), .fd = fd, .placement = to };

	return ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) ? -errno : 0;
}

static const char *place(uint32_t p)
{
	return p == P2PBAR_PLACEMENT_HOST ? "HOST" : "DEVICE";
}

struct buf {
	int fd;
	uint64_t len;
	volatile uint8_t *m;
};

static struct buf alloc_buf(uint64_t len, uint32_t placement, uint32_t flags)
{
	struct p2pbar_alloc a = {
		.argsz = sizeof(a), .flags = flags, .length = len, .placement = placement
	};
	struct buf b;

	if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
		fail("ALLOC %" PRIu64 " %s: %s", len, place(placement), strerror(errno));
	b.fd = a.fd;
	b.len = a.length;
	b.m = mmap(NULL, b.len, PROT_READ | PROT_WRITE, MAP_SHARED, b.fd, 0);
	if (b.m == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	return b;
}

/*
 * The mapping edu got must lead where the exporter says the buffer is,
 * with the address kind P2PDMA's map type asks for. DEVICE: edu reaches
 * the BAR behind the exporter's switch (want_p2p), so the BAR's bus
 * address at the buffer's offset, never an IOVA, also where an IOMMU
 * translates for edu (then dma_unroutable: QEMU sends edu's DMA through
 * the vIOMMU, which has no mapping for it, where a real switch routes it
 * to the peer). HOST: RAM, through the IOMMU if there is one.
 */
static void check_map(const struct map_line *m, int fd, const char *what)
{
	struct p2pbar_buf_info b = buf_info(fd);
	int iova = !strcmp(m->kind, "iova");

	if (b.placement == P2PBAR_PLACEMENT_DEVICE) {
		if (!want_p2p)
			fail("%s: DEVICE buffer mapped for edu, which has no P2P path to the BAR "
			     "(P2PDMA %s, common switch %s): want a downgrade to HOST",
			     what, info.caps & P2PBAR_CAP_P2PDMA ? "on" : "off",
			     common_switch ? "yes" : "no");
		if (iova && (strcmp(m->raw_pci, exporter_pci) ||
			     m->raw_bar != (int)info.bar_index || m->raw_off != b.offset))
			fail("%s: DEVICE buffer at BAR%u offset %#" PRIx64 " of %s behind edu's "
			     "switch, but edu got %#" PRIx64
			     ", not the bus address (an IOVA to %s)",
			     what, info.bar_index, (uint64_t)b.offset, exporter_pci, m->dma,
			     m->target);
		if (!iova && (strcmp(m->target, "bar") || strcmp(m->pci, exporter_pci) ||
			      m->bar != (int)info.bar_index || m->off != b.offset))
			fail("%s: DEVICE buffer at BAR%u offset %#" PRIx64 " of %s, but edu's "
			     "DMA address %#" PRIx64 " leads to %s %s BAR%d offset %#" PRIx64,
			     what, info.bar_index, (uint64_t)b.offset, exporter_pci, m->dma,
			     m->target, m->pci, m->bar, m->off);
		dma_unroutable = iova;
	} else if (strcmp(m->target, "ram")) {
		fail("%s: HOST buffer, but edu's DMA address %#" PRIx64 " (%s) leads to %s", what,
		     m->dma, m->kind, m->target);
	} else {
		dma_unroutable = 0;
	}
	printf("RESULT: %s: %s buffer, edu got %s %#" PRIx64 " in %d segment(s), "
	       "leading to %s (%s)\n",
	       what, place(b.placement),
	       b.placement == P2PBAR_PLACEMENT_DEVICE ? "the BAR's bus address"
	       : iova				      ? "an IOVA"
						      : "a direct address",
	       m->dma, m->nents,
	       b.placement == P2PBAR_PLACEMENT_DEVICE ? "the exporter's BAR at the buffer's offset"
						      : "RAM",
	       b.placement == P2PBAR_PLACEMENT_HOST ? "not in the ivshmem file"
	       : dma_unroutable ? "QEMU routes it through the vIOMMU: no DMA in this run"
				: "in the ivshmem file");
}

/* The host checks this range of the buffer in the ivshmem file. */
static void expect_range(int fd, uint64_t off, uint64_t len, uint64_t seed)
{
	struct p2pbar_buf_info b = buf_info(fd);

	if (b.placement == P2PBAR_PLACEMENT_DEVICE)
		fprintf(expect, "present %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			(uint64_t)b.offset + off, len, seed);
	else
		fprintf(expect, "absent %" PRIu64 " %" PRIu64 "\n", len, seed);
	fflush(expect);
}

/*
 * Import @b (movable, or host-only): never refused, whatever the
 * topology. An importer that cannot reach the BAR (P2PDMA's distance
 * check) is served from HOST, as amdgpu and xe do. Returns 1 (MAP
 * checked).
 */
static int import(struct buf *b, const char *how, const char *what)
{
	uint32_t before = buf_info(b->fd).placement;
	struct map_line m;
	int ret = edu("import %d %s", b->fd, how);

	if (ret)
		fail("%s: import %s: %s (an importer that cannot reach the BAR must be "
		     "served from HOST, not refused)",
		     what, how, strerror(-ret));
	if (!last_map(&m))
		fail("%s: no MAP line after import", what);
	check_map(&m, b->fd, what);
	if (before == P2PBAR_PLACEMENT_DEVICE && strcmp(how, "static")) {
		if (!want_p2p && buf_info(b->fd).placement != P2PBAR_PLACEMENT_HOST)
			fail("%s: not downgraded to HOST", what);
		if (want_p2p && buf_info(b->fd).placement != P2PBAR_PLACEMENT_DEVICE)
			fail("%s: edu reaches the BAR behind its switch, but the buffer left "
			     "DEVICE",
			     what);
		if (!want_p2p)
			printf("RESULT: %s: no P2P path from edu to the BAR (P2PDMA %s, common "
			       "switch %s): the %s import is served from HOST\n",
			       what, info.caps & P2PBAR_CAP_P2PDMA ? "on" : "off",
			       common_switch ? "yes" : "no", how);
	}
	return 1;
}

/* DEVICE imports with FIXED buffers need a P2P path. */
static void need_p2p(const char *what)
{
	if (!want_p2p)
		fail("%s needs edu to reach the BAR peer-to-peer: a kernel with P2PDMA (debug, "
		     "sid) and edu behind the exporter's switch (--topology switch)",
		     what);
}

static void drop(void)
{
	if (edu("drop"))
		fail("drop failed");
}

/* DMA both ways, CPU both ways, a partial fill across segments. */
static void dma_round(struct buf *b, uint64_t s1, uint64_t s2, uint64_t s3, const char *what)
{
	uint64_t len = b->len, a = 12 * KIB, alen = 10 * KIB, c = a + alen;

	edu_fill(0, len, s1);
	cpu_verify(b->m, 0, len, s1, what);
	edu_check(0, len, s1);
	/* The CPU writes, edu reads: RAM/BAR -> edu. */
	cpu_fill(b->m, a, alen, s2);
	edu_check(a, alen, s2);
	/* A fill at an offset, across a segment boundary (8 KiB segments). */
	edu_fill(c, len - c, s3);
	cpu_verify(b->m, 0, a, s1, what);
	cpu_verify(b->m, a, alen, s2, what);
	cpu_verify(b->m, c, len - c, s3, what);
	expect_range(b->fd, 0, a, s1);
	expect_range(b->fd, a, alen, s2);
	expect_range(b->fd, c, len - c, s3);
	printf("RESULT: %s: edu DMA'd %" PRIu64 " bytes in and out segment by segment; CPU "
	       "and edu agree on every byte\n",
	       what, len);
}

T_CASE(case_device, "device", 0, "")
{
	struct buf b = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, 0);
	struct status_line s;

	if (!import(&b, "dynamic", "device"))
		return 0;
	if (dma_unroutable) {
		drop();
		return 0;
	}
	dma_round(&b, 0x1001, 0x1002, 0x1003, "device");
	s = status();
	if (s.invalidations || s.maps != 1)
		fail("device: %d invalidations, %d maps with nothing moving the buffer",
		     s.invalidations, s.maps);
	drop();
	return 0;
}

T_CASE(case_host, "host", 0, "")
{
	struct buf b = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_HOST, P2PBAR_ALLOC_FIXED);

	if (!import(&b, "dynamic", "host"))
		return 0;
	if (buf_info(b.fd).placement != P2PBAR_PLACEMENT_HOST)
		fail("host: a host-only buffer left HOST");
	dma_round(&b, 0x2001, 0x2002, 0x2003, "host");
	drop();
	return 0;
}

T_CASE(case_pinned, "pinned", 0, "")
{
	struct buf b = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, 0);
	struct p2pbar_buf_info bi;
	uint32_t other;
	int ret;

	if (!import(&b, "pinned", "pinned"))
		return 0;
	bi = buf_info(b.fd);
	if (!bi.pin_count)
		fail("pinned: BUF_INFO shows no pin");
	if (!dma_unroutable)
		dma_round(&b, 0x3001, 0x3002, 0x3003, "pinned");
	other = bi.placement == P2PBAR_PLACEMENT_HOST ? P2PBAR_PLACEMENT_DEVICE
						      : P2PBAR_PLACEMENT_HOST;
	ret = migrate(b.fd, other);
	if (ret != -EBUSY)
		fail("pinned: MIGRATE of a pinned buffer: %s, want EBUSY", strerror(-ret));
	if (!dma_unroutable)
		edu_check(0, 12 * KIB, 0x3001);
	drop();
	printf("RESULT: pinned: pinned import %s; MIGRATE refuses with EBUSY while pinned\n",
	       dma_unroutable ? "mapped (no DMA in this run)" : "DMAs");
	return 0;
}

T_CASE(case_static, "static", 0, "")
{
	struct buf f = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	struct buf b = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, 0);
	int ret = edu("import %d static", f.fd);

	/* Static importers get no peer2peer: a device-only buffer refuses. */
	if (ret != -EOPNOTSUPP)
		fail("static: a static import of a device-only buffer: %s, want EOPNOTSUPP",
		     strerror(-ret));
	if (!import(&b, "static", "static"))
		fail("static: a movable buffer refused a static importer");
	if (buf_info(b.fd).placement != P2PBAR_PLACEMENT_HOST)
		fail("static: a static (non-P2P) importer got the buffer in DEVICE");
	dma_round(&b, 0x4001, 0x4002, 0x4003, "static");
	drop();
	printf("RESULT: static: refused on a device-only buffer (EOPNOTSUPP), served from HOST "
	       "on a movable one\n");
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * A DMA of the whole buffer in a child while the parent migrates it
 * back and forth: each move invalidates (edu waits for a transfer in
 * flight, unmaps), the next transfer remaps. Returns the migrations.
 */
static int migrate_under_dma(struct buf *b, uint64_t seed)
{
	int st, n = 0, tries = 0, ret;
	pid_t pid;
	uint32_t to;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		ret = edu("fill 0 %" PRIu64 " %" PRIu64, b->len, seed);
		_exit(ret ? 1 : 0);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		double t = now();

		while (now() - t < 0.3)
			usleep(10000);
		to = buf_info(b->fd).placement == P2PBAR_PLACEMENT_HOST ? P2PBAR_PLACEMENT_DEVICE
									: P2PBAR_PLACEMENT_HOST;
		ret = migrate(b->fd, to);
		tries++;
		if (!ret)
			n++;
		else if (ret != -EBUSY && ret != -ENOSPC && ret != -EOPNOTSUPP)
			fail("migrate: MIGRATE to %s under DMA: %s", place(to), strerror(-ret));
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("migrate: the fill under migrations failed");
	printf("migrate: %d of %d migrations done while edu DMA'd\n", n, tries);
	return n;
}

static uint32_t other(uint32_t p)
{
	return p == P2PBAR_PLACEMENT_HOST ? P2PBAR_PLACEMENT_DEVICE : P2PBAR_PLACEMENT_HOST;
}

/*
 * MIGRATE the imported buffer to the other placement. Without
 * move-notify the core pins a buffer while it is mapped: EBUSY, then
 * edu unmaps (an idle importer may) and it moves. A move to DEVICE the
 * exporter refuses for this importer (it served it from HOST: EBUSY,
 * EOPNOTSUPP) is reported, returns 0. Returns 1 when it moved.
 */
static int move_imported(struct buf *b, const char *what)
{
	struct p2pbar_buf_info bi = buf_info(b->fd), after;
	uint32_t to = other(bi.placement);
	struct status_line s0 = status(), s;
	int ret = migrate(b->fd, to);

	if (!(info.caps & P2PBAR_CAP_MOVE_NOTIFY) && to == P2PBAR_PLACEMENT_HOST) {
		if (ret != -EBUSY)
			fail("%s: MIGRATE of a mapped buffer without move-notify: %s, want EBUSY "
			     "(the core pins while mapped)",
			     what, strerror(-ret));
		printf("RESULT: %s: no move-notify in this kernel: MIGRATE of the mapped buffer "
		       "is EBUSY; edu unmaps (an idle importer) and it moves\n",
		       what);
	}
	if (ret == -EBUSY && !(info.caps & P2PBAR_CAP_MOVE_NOTIFY)) {
		edu("unmap");
		ret = migrate(b->fd, to);
	}
	if (ret && to == P2PBAR_PLACEMENT_DEVICE && (ret == -EBUSY || ret == -EOPNOTSUPP)) {
		printf("RESULT: %s: the exporter keeps this importer's buffer in HOST: MIGRATE "
		       "to DEVICE is %s\n",
		       what, strerror(-ret));
		return 0;
	}
	if (ret)
		fail("%s: MIGRATE to %s: %s", what, place(to), strerror(-ret));
	s = status();
	after = buf_info(b->fd);
	if (s.mapped || s.invalidations <= s0.invalidations)
		fail("%s: after MIGRATE edu is mapped=%d, %d invalidation(s) before, %d after",
		     what, s.mapped, s0.invalidations, s.invalidations);
	if (after.placement != to || after.moves != bi.moves + 1)
		fail("%s: BUF_INFO says %s after %" PRIu64 " moves, was %s after %" PRIu64, what,
		     place(after.placement), (uint64_t)after.moves, place(bi.placement),
		     (uint64_t)bi.moves);
	return 1;
}

T_CASE(case_migrate, "migrate", 0, "")
{
	struct buf b = alloc_buf(64 * KIB, P2PBAR_PLACEMENT_DEVICE, 0);
	struct status_line s, s0;
	struct map_line m;
	uint32_t start;
	int moves;

	if (!import(&b, "dynamic", "migrate"))
		return 0;
	if (dma_unroutable) {
		drop();
		return 0;
	}
	start = buf_info(b.fd).placement;
	edu_fill(0, b.len, 0x5001);
	/* Away and back, each time remapped by the next DMA. */
	for (int i = 0; i < 2; i++) {
		if (!move_imported(&b, "migrate"))
			break;
		cpu_verify(b.m, 0, b.len, 0x5001, "migrate (after the move)");
		/* The next DMA remaps, wherever the exporter serves it from now. */
		edu_check(0, b.len, 0x5001);
		if (!last_map(&m))
			fail("migrate: no remap after the invalidate");
		check_map(&m, b.fd, "migrate (remapped after the move)");
		if (buf_info(b.fd).placement == start)
			break;
	}
	s = status();
	printf("RESULT: migrate: moved while imported: %d invalidation(s), %d map(s), content "
	       "kept (CPU and edu agree)\n",
	       s.invalidations, s.maps);

	if (info.caps & P2PBAR_CAP_MOVE_NOTIFY) {
		s0 = s;
		moves = migrate_under_dma(&b, 0x5002);
		s = status();
		if ((start == P2PBAR_PLACEMENT_DEVICE && moves < 1) ||
		    s.invalidations - s0.invalidations < moves)
			fail("migrate: %d migrations under DMA, %d invalidations", moves,
			     s.invalidations - s0.invalidations);
		cpu_verify(b.m, 0, b.len, 0x5002, "migrate (under DMA)");
		edu_check(0, b.len, 0x5002);
		if (last_map(&m))
			check_map(&m, b.fd, "migrate (after moves under DMA)");
		printf("RESULT: migrate: %d migrations while edu DMA'd: %d invalidations, %d of "
		       "them waited for a transfer in flight; every byte arrived\n",
		       moves, s.invalidations - s0.invalidations, s.busy - s0.busy);
		expect_range(b.fd, 0, b.len, 0x5002);
	} else {
		expect_range(b.fd, 0, b.len, 0x5001);
	}
	drop();
	return 0;
}

static uint64_t used(void)
{
	return t_counter(dev, "used");
}

static void reset(void)
{
	struct p2pbar_reset r = { .argsz = sizeof(r) };

	if (ioctl(dev, P2PBAR_IOCTL_RESET, &r) || !r.revoked)
		fail("RESET: %s, %llu revoked", strerror(errno), (unsigned long long)r.revoked);
}

/*
 * After @a's import was revoked (@by) and unmapped: a new buffer, which
 * may get @a's range, keeps the bytes its owner writes (pattern @seed;
 * the host checks them too), and edu's next DMA through the old import
 * is refused.
 */
static void check_revoked_import(const struct buf *a, uint64_t a_off, uint64_t seed,
				 const char *what, const char *by)
{
	struct buf b = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	uint64_t b_off = buf_info(b.fd).offset;
	int ret;

	cpu_fill(b.m, 0, b.len, seed);
	ret = edu("fill 0 %" PRIu64 " %" PRIu64, a->len, seed + 1);
	if (!ret)
		fail("%s: edu's DMA into the revoked buffer was let through", what);
	cpu_verify(b.m, 0, b.len, seed, "the new buffer");
	expect_range(b.fd, 0, b.len, seed);
	printf("RESULT: %s: %s unmapped edu's import; a new buffer at %#" PRIx64
	       " (the revoked one was at %#" PRIx64 "%s) keeps its bytes, edu's next DMA "
	       "is refused (%s)\n",
	       what, by, b_off, a_off, b_off == a_off ? ", the same range" : "", strerror(-ret));
}

/*
 * Each RESET frees every idle range, so only the last one's new buffer
 * can be left for the host to check: the pinned part runs first.
 */
T_CASE(case_revoke, "revoke", 0, "")
{
	struct buf a = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED), b;
	uint64_t a_off = buf_info(a.fd).offset, b_off, before;

	need_p2p("revoke");
	/* Pinned: the range stays taken while edu holds the pin. */
	import(&a, "pinned", "revoke-pinned");
	edu_fill(0, a.len, 0x6001);
	reset();
	before = used();
	b = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	b_off = buf_info(b.fd).offset;
	if (b_off == a_off)
		fail("revoke-pinned: a new buffer got the range edu still pins");
	drop();
	if (used() != before + b.len - a.len)
		fail("revoke-pinned: the revoked range is not back after edu let go "
		     "(used %llu, want %llu)",
		     (unsigned long long)used(), (unsigned long long)(before + b.len - a.len));
	printf("RESULT: revoke-pinned: a revoked range edu pins stays taken (a new buffer went to "
	       "%#" PRIx64 ", not %#" PRIx64 ") and returns when edu lets go\n",
	       b_off, a_off);

	/* Dynamic: RESET unmaps; the range goes to the next buffer. */
	a = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	a_off = buf_info(a.fd).offset;
	import(&a, "dynamic", "revoke");
	edu_fill(0, a.len, 0x6002);
	cpu_verify(a.m, 0, a.len, 0x6002, "revoke");
	reset();
	if (status().mapped)
		fail("revoke: edu still holds a mapping after RESET");
	check_revoked_import(&a, a_off, 0x6003, "revoke", "RESET");
	drop();
	return 0;
}

/* Write @pci to the exporter driver's sysfs @file (bind or unbind). */
static int driver_write(const char *file, const char *pci)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/p2pbar/%s", file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, pci, strlen(pci)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Unbind the exporter in a child; its pid (the child exits when it returns). */
static pid_t unbind_async(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid)
		_exit(driver_write("unbind", exporter_pci) ? 1 : 0);
	return pid;
}

/* 1 if @pid exits within @ms (its status must be 0), else 0. */
static int exits_within(pid_t pid, int ms)
{
	for (int t = 0; t < ms; t += 50) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r < 0)
			fail("waitpid: %s", strerror(errno));
		if (r) {
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				fail("unbind of %s failed", exporter_pci);
			return 1;
		}
		poll(NULL, 0, 50);
	}
	return 0;
}

/* Open the device node p2pbar bound to @exporter_pci: the only one. */
static void open_dev(void)
{
	glob_t g;

	if (glob("/sys/class/p2pbar/p2pbar*", 0, NULL, &g) || g.gl_pathc != 1)
		fail("want exactly one /sys/class/p2pbar/p2pbar* device");
	snprintf(dev_path, sizeof(dev_path), "/dev/%s", strrchr(g.gl_pathv[0], '/') + 1);
	globfree(&g);
	dev = open(dev_path, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		fail("open %s: %s", dev_path, strerror(errno));
	info.argsz = sizeof(info);
	if (ioctl(dev, P2PBAR_IOCTL_INFO, &info))
		fail("INFO: %s", strerror(errno));
}

static void rebind(void)
{
	int ret;

	close(dev);
	ret = driver_write("bind", exporter_pci);
	if (ret)
		fail("bind %s to p2pbar: %s", exporter_pci, strerror(-ret));
	open_dev();
}

/*
 * Unbind, then rebind: the old buffers are revoked for good, and the new
 * device's allocator starts empty, so the next buffer gets the range
 * the revoked import had. Before the drain, unbind returned while edu
 * still pinned (and could DMA into) a range the next binding hands out.
 */
T_CASE(case_unbind, "unbind", 0, "")
{
	struct buf a = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	uint64_t a_off;
	pid_t pid;

	need_p2p("unbind");
	/* Pinned: unbind waits until edu unpins. */
	import(&a, "pinned", "unbind-pinned");
	edu_fill(0, a.len, 0x6101);
	pid = unbind_async();
	if (exits_within(pid, 2000))
		fail("unbind-pinned: unbind returned while edu still pinned a buffer");
	drop();
	if (!exits_within(pid, 60000))
		fail("unbind-pinned: unbind still waits 60 s after edu unpinned");
	rebind();
	if (used())
		fail("unbind-pinned: the rebound device has %llu bytes in use, want 0",
		     (unsigned long long)used());
	printf("RESULT: unbind-pinned: unbind waited while edu pinned a buffer and returned once "
	       "it let go; the rebound device starts empty\n");
	close(a.fd);
	munmap((void *)a.m, a.len);

	/* Dynamic: unbind unmaps; the next binding's buffer gets the range. */
	a = alloc_buf(32 * KIB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	a_off = buf_info(a.fd).offset;
	import(&a, "dynamic", "unbind");
	edu_fill(0, a.len, 0x6102);
	cpu_verify(a.m, 0, a.len, 0x6102, "unbind");
	pid = unbind_async();
	if (!exits_within(pid, 60000))
		fail("unbind: unbind still waits 60 s with only a dynamic import");
	if (status().mapped)
		fail("unbind: edu still holds a mapping after unbind");
	rebind();
	check_revoked_import(&a, a_off, 0x6103, "unbind", "unbind and rebind");
	drop();
	return 0;
}

static void find_control(void)
{
	glob_t g;

	if (glob("/sys/kernel/debug/p2pbar_edu/*/control", 0, NULL, &g) || g.gl_pathc != 1)
		fail("want exactly one /sys/kernel/debug/p2pbar_edu/*/control (edu bound to "
		     "p2pbar_edu)");
	snprintf(ctl_path, sizeof(ctl_path), "%s", g.gl_pathv[0]);
	globfree(&g);
}

/*
 * Whether edu and the exporter share an upstream bridge below the root
 * complex (their sysfs paths share a bridge): P2PDMA's BUS_ADDR, as no
 * port of QEMU's x3130/xio3130 switch has ACS redirect. On q35's root
 * complex there is none, and its host bridge is not on P2PDMA's
 * allowlist: no P2P path at all.
 */
static int under_one_switch(void)
{
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX], *edu_pci, *sa, *sb;
	int n = 0;

	edu_pci = strrchr(ctl_path, '/');
	*edu_pci = 0;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", strrchr(ctl_path, '/') + 1);
	*edu_pci = '/';
	if (!realpath(p, a))
		fail("%s: %s", p, strerror(errno));
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", exporter_pci);
	if (!realpath(p, b))
		fail("%s: %s", p, strerror(errno));
	/* /sys/devices/pci0000:00/BRIDGE/.../FUNCTION: count common components */
	for (sa = a, sb = b; *sa && *sa == *sb; sa++, sb++)
		if (*sa == '/')
			n++;
	/* "", "sys", "devices", "pci0000:00", then a bridge */
	return n >= 5;
}

/* Every case appends what it DMA'd to EXPECT, for the host to check. */
static void setup(char **fixed)
{
	snprintf(dev_path, sizeof(dev_path), "%s", fixed[0]);
	dev = open(dev_path, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		fail("open %s: %s", dev_path, strerror(errno));
	info.argsz = sizeof(info);
	if (ioctl(dev, P2PBAR_IOCTL_INFO, &info))
		fail("INFO: %s", strerror(errno));
	snprintf(exporter_pci, sizeof(exporter_pci), "%04x:%02x:%02x.%x", info.pci_domain,
		 info.pci_bus, info.pci_dev, info.pci_func);
	expect = fopen(fixed[1], "a");
	if (!expect)
		fail("%s: %s", fixed[1], strerror(errno));
	find_control();
	common_switch = under_one_switch();
	want_p2p = (info.caps & P2PBAR_CAP_P2PDMA) && common_switch;
	printf("exporter %s BAR%u, caps%s%s; importer %s; %s\n", exporter_pci, info.bar_index,
	       info.caps & P2PBAR_CAP_P2PDMA ? " P2PDMA" : "",
	       info.caps & P2PBAR_CAP_MOVE_NOTIFY ? " MOVE_NOTIFY" : "", ctl_path,
	       want_p2p ? "edu reaches the BAR behind their switch: bus addresses"
			: "no P2P path from edu to the BAR: DEVICE imports downgraded to HOST");
}

int main(int argc, char **argv)
{
	static const struct t_program prog = { "/dev/p2pbarN EXPECT", 2, setup };

	return t_main(&prog, argc, argv);
}
