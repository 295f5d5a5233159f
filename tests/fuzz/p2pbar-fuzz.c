// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded, racing fuzzer for /dev/p2pbarN and its dma-bufs.
 *
 * usage: p2pbar-fuzz [--seed N] [--ops N] [--seconds S] [--race-seconds S]
 *                    [--reset] [--udmabuf-fd N] [--vgem-fd N] NODE
 *
 * Phase 1 (--ops calls or --seconds, whichever ends first), one thread:
 * every p2pbar ioctl with random and structure-aware arguments (command
 * numbers near ours, argsz 0 .. past a page, fields at and past their
 * limits, unknown flags and placements, non-zero reserved fields and
 * padding, closed and foreign fds, pointers that are NULL, kernel
 * addresses, read-only or straddle into a PROT_NONE page); on the
 * returned dma-bufs mmap/mremap/madvise/munmap, access inside and past
 * the end, read/write/lseek, the generic dma-buf ioctls, fork, SCM_RIGHTS,
 * dup and close in random order; with --reset (root) RESET now and then.
 * Phase 2 (--race-seconds): rounds of threads racing on a few movable
 * buffers: writers that check a pattern through the mmap, a migrator
 * moving them both ways, an allocator that forces evictions and (with
 * --reset) a RESET at a random moment.
 *
 * --faults (root; the runner sets up failslab, fail_page_alloc and
 * fail_usercopy aimed at p2pbar.ko): for each path (ALLOC, MIGRATE both
 * ways, eviction, a CPU fault, INFO, BUF_INFO, RESET), the 1st, 2nd, ...
 * allocation or user copy under p2pbar is failed (/proc/thread-self/
 * fail-nth) until the call runs out of them (at most --ops): each failure
 * must be a documented errno with the buffers as they were, and the same
 * call without a fault must succeed; INFO idle after each.
 *
 * Invariants (exit 1, "FAIL: ..." on the first broken one): every errno
 * of a p2pbar ioctl is one the uAPI documents for it (errno_ok below,
 * from p2p-kmod/README.md), and the exact one where the arguments decide
 * it; the content of every buffer is what was last written (zeros when
 * new) in every placement, unless it was revoked; access past a mapping's
 * end faults; a revoked buffer says so (BUF_INFO) and SIGBUSes; INFO shows
 * zero used and zero buffers once every fd and mapping is gone. That the
 * kernel log is clean and the module unloads the runner checks.
 * Prints calls per second and a per-call errno histogram.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/p2pbar.h>

#include "t_harness.h" /* fail() */
#include "t_p2pbar.h"
#include "t_fail_nth.h"
#include "vgem.h"
#include <linux/udmabuf.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_BUFS    24
#define MAX_MAPS    3
#define UNKNOWN_GEN UINT32_MAX

static const char *node;
static long page;
static int dev;
static struct p2pbar_info inf;
static bool do_reset;
static int udmabuf_fd = -1, vgem_fd = -1;

/* --- the random source: splitmix64, one state per thread */
static _Thread_local uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

/* --- the errno histogram, per call */
enum call {
	C_INFO,
	C_ALLOC,
	C_BUF_INFO,
	C_MIGRATE,
	C_RESET,
	C_UNKNOWN, /* command numbers near ours */
	C_MMAP,
	C_MREMAP,
	C_MADVISE,
	C_RW,
	C_LSEEK,
	C_SYNC,
	C_SET_NAME,
	C_EXPORT_SYNC,
	C_IMPORT_SYNC,
	C_NODE_RW,
	C_NCALLS
};

static const char *const call_name[C_NCALLS] = {
	"INFO",
	"ALLOC",
	"BUF_INFO",
	"MIGRATE",
	"RESET",
	"unknown-ioctl",
	"mmap",
	"mremap",
	"madvise",
	"read/write",
	"lseek",
	"DMA_BUF_SYNC",
	"SET_NAME",
	"EXPORT_SYNC_FILE",
	"IMPORT_SYNC_FILE",
	"node pread/pwrite",
};

#define MAX_ERRNO 134
static atomic_ulong hist[C_NCALLS][MAX_ERRNO + 1];
static atomic_ulong ncalls, nfaults_expected, nforks, nscm, nmoves_ok, nresets, nrevoked_seen;

static void count(enum call c, int err)
{
	if (err < 0 || err > MAX_ERRNO)
		err = MAX_ERRNO;
	atomic_fetch_add(&hist[c][err], 1);
	atomic_fetch_add(&ncalls, 1);
}

/*
 * The errnos p2p-kmod/README.md and the uAPI header document, per ioctl:
 * the argsz/flags rules of every struct (EFAULT for a bad pointer,
 * EINVAL, E2BIG), ENODEV (unbound) and each ioctl's own list.
 */
static bool errno_ok(enum call c, int err)
{
	switch (err) {
	case EFAULT:
	case EINVAL:
	case E2BIG:
	case ENODEV: return c <= C_RESET;
	}
	switch (c) {
	case C_INFO: return false;
	case C_ALLOC:
		return err == EOVERFLOW || err == ENOSPC || err == ENOMEM || err == EDQUOT ||
		       err == EMFILE || err == EINTR;
	case C_BUF_INFO: return err == EBADF || err == EINTR;
	case C_MIGRATE:
		return err == EBADF || err == EPERM || err == EBUSY || err == ENOSPC ||
		       err == ENOMEM || err == EINTR;
	case C_RESET: return err == EPERM;
	case C_UNKNOWN: return err == ENOTTY;
	default: return true;
	}
}

/* --- buffers, their mappings and their expected content */
struct map {
	char *addr; /* NULL: unused slot */
	size_t len;
	size_t pgoff;  /* first buffer page mapped */
	char *reserve; /* the PROT_NONE area it sits in (len + a page) */
	size_t reserve_len;
};

struct buf {
	bool used;
	int fd; /* -1: closed, the mappings may still hold it */
	uint64_t id, size;
	uint32_t flags;
	bool revoked;
	uint32_t *gen; /* per page: what was written last; 0 zeros */
	struct map map[MAX_MAPS];
};

static struct buf bufs[MAX_BUFS];

static uint64_t word(uint64_t id, size_t pg, uint32_t gen, size_t w)
{
	uint64_t z = id * 0x9e3779b97f4a7c15ULL ^ (pg << 20) ^ ((uint64_t)gen << 40) ^ w;

	z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ULL;
	return z ^ (z >> 29);
}

/* --- faults: touch memory that may SIGBUS/SIGSEGV */
static _Thread_local sigjmp_buf fault_jmp;
static _Thread_local volatile int fault_armed;

static const char *volatile cur_op = "setup";

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!fault_armed) {
		/* not an access we expect to fault: say where, and die of it */
		fprintf(stderr, "FAIL: signal %d at %p during %s\n", sig, si->si_addr, cur_op);
		signal(sig, SIG_DFL);
		raise(sig);
	}
	siglongjmp(fault_jmp, sig);
}

/*
 * Fill (@write) or check page @pg of @b through @addr (its mapping of
 * that page): 0 done, a signal number if the access faulted, -1 if the
 * content was wrong.
 */
static int page_access(volatile uint64_t *addr, uint64_t id, size_t pg, uint32_t gen, bool write)
{
	size_t n = page / 8, w;
	int sig;

	fault_armed = 1;
	sig = sigsetjmp(fault_jmp, 1);
	if (sig) {
		fault_armed = 0;
		return sig;
	}
	for (w = 0; w < n; w++) {
		uint64_t want = gen ? word(id, pg, gen, w) : 0;

		if (write)
			addr[w] = want;
		else if (addr[w] != want) {
			fault_armed = 0;
			fprintf(stderr,
				"buffer %llu page %zu word %zu: %#llx, want %#llx (gen %u)\n",
				(unsigned long long)id, pg, w, (unsigned long long)addr[w],
				(unsigned long long)want, gen);
			return -1;
		}
	}
	fault_armed = 0;
	return 0;
}

/* One byte at @addr: 0 or the signal it raised. */
static int probe(volatile char *addr, bool write)
{
	int sig;

	fault_armed = 1;
	sig = sigsetjmp(fault_jmp, 1);
	if (!sig) {
		if (write)
			*addr = *addr;
		else
			(void)*addr;
	}
	fault_armed = 0;
	return sig;
}

static int buf_info(int fd, struct p2pbar_buf_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->argsz = sizeof(*bi);
	bi->fd = fd;
	return ioctl(dev, P2PBAR_IOCTL_BUF_INFO, bi);
}

static struct buf *buf_add(int fd, uint64_t id, uint64_t size, uint32_t flags)
{
	for (int i = 0; i < MAX_BUFS; i++) {
		struct buf *b = &bufs[i];

		if (b->used)
			continue;
		memset(b, 0, sizeof(*b));
		b->used = true;
		b->fd = fd;
		b->id = id;
		b->size = size;
		b->flags = flags;
		b->gen = calloc(size / page, sizeof(*b->gen));
		if (!b->gen)
			fail("out of memory");
		return b;
	}
	return NULL;
}

static int nbufs_live(void)
{
	int n = 0;

	for (int i = 0; i < MAX_BUFS; i++)
		n += bufs[i].used;
	return n;
}

static void map_drop(struct map *m)
{
	if (munmap(m->reserve, m->reserve_len))
		fail("munmap: %s", strerror(errno));
	m->addr = NULL;
}

static void buf_maybe_free(struct buf *b)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (b->map[i].addr)
			return;
	if (b->fd >= 0)
		return;
	free(b->gen);
	b->used = false;
}

/* A random live buffer (with an fd if @need_fd), or NULL. */
static struct buf *pick_buf(bool need_fd)
{
	int start = below(MAX_BUFS);

	for (int i = 0; i < MAX_BUFS; i++) {
		struct buf *b = &bufs[(start + i) % MAX_BUFS];

		if (b->used && (!need_fd || b->fd >= 0))
			return b;
	}
	return NULL;
}

static struct map *pick_map(struct buf *b)
{
	int start = below(MAX_MAPS);

	for (int i = 0; i < MAX_MAPS; i++)
		if (b->map[(start + i) % MAX_MAPS].addr)
			return &b->map[(start + i) % MAX_MAPS];
	return NULL;
}

static void mark_all_revoked(void)
{
	for (int i = 0; i < MAX_BUFS; i++)
		bufs[i].revoked = true;
}

/* Check (or write, @write) one page of @b through a mapping of it. */
static void buf_page(struct buf *b, bool write)
{
	struct map *m = pick_map(b);
	size_t i, pg;
	int r;

	if (!m)
		return;
	i = below(m->len / page);
	pg = m->pgoff + i;
	if (!write && b->gen[pg] == UNKNOWN_GEN)
		return;
	if (write && !b->revoked)
		b->gen[pg] = b->gen[pg] + 1 >= UNKNOWN_GEN - 1 ? 1 : b->gen[pg] + 1;
	r = page_access((volatile uint64_t *)(m->addr + i * page), b->id, pg, b->gen[pg], write);
	if (r == SIGBUS && b->revoked) {
		atomic_fetch_add(&nfaults_expected, 1);
		return;
	}
	if (r > 0)
		fail("buffer %llu: signal %d on %s page %zu through its mapping%s",
		     (unsigned long long)b->id, r, write ? "writing" : "reading", pg,
		     b->revoked ? " (revoked, want SIGBUS)" : "");
	if (r < 0)
		fail("buffer %llu: page %zu lost its content", (unsigned long long)b->id, pg);
	if (b->revoked)
		fail("buffer %llu: revoked, yet page %zu was reachable", (unsigned long long)b->id,
		     pg);
}

/* --- arguments */
static char *arg_area; /* pages: RW, PROT_NONE, read-only, PROT_NONE */

/* Interesting 64-bit values for size-like fields. */
static uint64_t v64(void)
{
	static const uint64_t fixed[] = { 0,
					  1,
					  4095,
					  4096,
					  4097,
					  1ULL << 31,
					  1ULL << 32,
					  1ULL << 63,
					  UINT64_MAX,
					  UINT64_MAX - 4094,
					  UINT64_MAX - 4096 };
	switch (below(6)) {
	case 0: return fixed[below(sizeof(fixed) / sizeof(fixed[0]))];
	case 1: return inf.bar_size + below(3) * page - page;
	case 2: return inf.max_align << below(2);
	case 3: return (uint64_t)1 << below(64);
	case 4: return rnd();
	default: return (1 + below(16)) * page - below(2);
	}
}

static uint32_t v32(void)
{
	static const uint32_t fixed[] = { 0, 1, 2, 3, 0x80000000u, UINT32_MAX };

	return chance(70) ? fixed[below(6)] : (uint32_t)rnd();
}

static int closed_fd = -1, null_fd = -1, pipe_fd = -1, foreign_fd[2] = { -1, -1 };

/* An fd field: a live buffer's most of the time, else anything. */
static int32_t v_fd(void)
{
	struct buf *b;

	switch (below(10)) {
	case 0: return -1;
	case 1: return closed_fd;
	case 2: return null_fd;
	case 3: return pipe_fd;
	case 4: return dev;
	case 5: return foreign_fd[below(2)];
	case 6: return (int32_t)v32();
	default: b = pick_buf(true); return b ? b->fd : -1;
	}
}

static const size_t struct_size[5] = { sizeof(struct p2pbar_info), sizeof(struct p2pbar_alloc),
				       sizeof(struct p2pbar_buf_info),
				       sizeof(struct p2pbar_migrate), sizeof(struct p2pbar_reset) };

/* A valid struct for ioctl @c into @a (P2PBAR_ARGSZ_MAX bytes, zeroed). */
static void valid_args(enum call c, void *a)
{
	struct buf *b = pick_buf(true);

	*(uint32_t *)a = struct_size[c];
	switch (c) {
	case C_ALLOC: {
		struct p2pbar_alloc *x = a;

		x->length = chance(50) ? (1 + below(16)) * page : 1 + below(inf.bar_size / 4);
		x->align = chance(70) ? 0 : (uint64_t)page << below(6);
		x->placement = below(2);
		x->flags = chance(30) ? P2PBAR_ALLOC_FIXED : 0;
		break;
	}
	case C_BUF_INFO: ((struct p2pbar_buf_info *)a)->fd = b ? b->fd : -1; break;
	case C_MIGRATE:
		((struct p2pbar_migrate *)a)->fd = b ? b->fd : -1;
		((struct p2pbar_migrate *)a)->placement = below(2);
		break;
	default: break;
	}
}

/* Break one field of the struct (or its tail) at random. */
static void mutate(enum call c, unsigned char *a, size_t argsz)
{
	size_t sz = struct_size[c];

	switch (below(6)) {
	case 0: /* argsz */
	{
		static const uint32_t sizes[] = { 0,	1,    4,    8,	  31,	     47,
						  79,	87,   111,  112,  143,	     145,
						  4095, 4096, 4097, 8192, UINT32_MAX };
		*(uint32_t *)a = sizes[below(sizeof(sizes) / sizeof(sizes[0]))];
		break;
	}
	case 1: /* a byte past the struct, inside argsz */
		if (argsz > P2PBAR_ARGSZ_MAX)
			argsz = P2PBAR_ARGSZ_MAX; /* the template's size */
		if (argsz > sz)
			a[sz + below(argsz - sz)] = 1 + below(255);
		break;
	case 2: /* flags */ ((uint32_t *)a)[1] = v32(); break;
	case 3: /* any 64-bit field after the header */
		((uint64_t *)a)[1 + below((sz - 8) / 8)] = v64();
		break;
	case 4: /* any 32-bit field after the header */
		((uint32_t *)a)[2 + below((sz - 8) / 4)] = chance(50) ? v32() : (uint32_t)v_fd();
		break;
	default: /* padding and reserved fields */
		if (c == C_INFO)
			((struct p2pbar_info *)a)->__pad = 1 + below(255);
		else if (c == C_ALLOC)
			((struct p2pbar_alloc *)a)->reserved[below(4)] = v64() | 1;
		else if (c == C_BUF_INFO)
			((struct p2pbar_buf_info *)a)->__pad = v32() | 1;
		else if (c == C_MIGRATE)
			((struct p2pbar_migrate *)a)->reserved[below(4)] = v64() | 1;
		else
			((struct p2pbar_reset *)a)->reserved[below(2)] = v64() | 1;
	}
}

static const unsigned int ioctl_cmd[5] = { P2PBAR_IOCTL_INFO, P2PBAR_IOCTL_ALLOC,
					   P2PBAR_IOCTL_BUF_INFO, P2PBAR_IOCTL_MIGRATE,
					   P2PBAR_IOCTL_RESET };

/* A command number near ours that is not one of them. */
static unsigned int near_cmd(void)
{
	for (;;) {
		unsigned int dir = below(4), type = P2PBAR_IOCTL_TYPE, nr = below(32);
		unsigned int size = chance(50) ? below(4) * 8 : below(1 << 14), cmd;

		if (chance(20))
			type += below(2) ? 1 : -1;
		if (chance(10)) {
			dir = 0;
			size = 0;
		}
		cmd = _IOC(dir, type, nr, size);
		if (chance(5))
			cmd = (unsigned int)rnd();
		bool ours = false;

		for (int i = 0; i < 5; i++)
			ours |= cmd == ioctl_cmd[i];
		if (!ours)
			return cmd;
	}
}

/* Register the buffer a successful ALLOC returned in @x. */
static void alloc_done(const struct p2pbar_alloc *x)
{
	struct p2pbar_buf_info bi;

	if (buf_info(x->fd, &bi))
		fail("ALLOC returned fd %d, BUF_INFO on it: %s", x->fd, strerror(errno));
	if (bi.id != x->id || bi.length != x->length || bi.length % page || !bi.length)
		fail("ALLOC said id %llu length %llu, BUF_INFO id %llu length %llu",
		     (unsigned long long)x->id, (unsigned long long)x->length,
		     (unsigned long long)bi.id, (unsigned long long)bi.length);
	if (fcntl(x->fd, F_GETFD) != FD_CLOEXEC)
		fail("ALLOC's fd %d is not close-on-exec", x->fd);
	if (!buf_add(x->fd, x->id, x->length, x->flags))
		close(x->fd);
}

static bool is_root;

static struct buf *buf_of_fd(int fd)
{
	for (int i = 0; i < MAX_BUFS; i++)
		if (bufs[i].used && bufs[i].fd >= 0 && bufs[i].fd == fd)
			return &bufs[i];
	return NULL;
}

/* What an fd field that is not one of our buffers gets: EBADF or EINVAL. */
static int fd_errno(int fd)
{
	return fd < 0 || fcntl(fd, F_GETFD) < 0 ? EBADF : EINVAL;
}

/*
 * The outcome a parsed, readable struct @a for call @c must have, in the
 * order the driver checks: an errno, 0 (success), or -1 (any documented
 * errno or success: resources decide).
 */
static int expect_fields(enum call c, const void *a, bool writable, bool inbuf)
{
	switch (c) {
	case C_INFO: {
		const struct p2pbar_info *x = a;

		if (x->flags || x->__pad)
			return EINVAL;
		return writable ? 0 : EFAULT;
	}
	case C_ALLOC: {
		const struct p2pbar_alloc *x = a;
		uint64_t len;

		if ((x->flags & ~P2PBAR_ALLOC_FIXED) || x->reserved[0] || x->reserved[1] ||
		    x->reserved[2] || x->reserved[3])
			return EINVAL;
		if (x->placement > P2PBAR_PLACEMENT_HOST || !x->length)
			return EINVAL;
		if (x->length > UINT64_MAX - (page - 1))
			return EOVERFLOW;
		len = (x->length + page - 1) & ~(uint64_t)(page - 1);
		if (len > inf.max_alloc)
			return E2BIG;
		if (x->align & (x->align - 1))
			return EINVAL;
		if (x->align > inf.max_align)
			return E2BIG;
		return -1;
	}
	case C_BUF_INFO: {
		const struct p2pbar_buf_info *x = a;

		if (x->flags || x->__pad || x->reserved)
			return EINVAL;
		if (!buf_of_fd(x->fd))
			return fd_errno(x->fd);
		return writable ? 0 : EFAULT;
	}
	case C_MIGRATE: {
		const struct p2pbar_migrate *x = a;
		struct buf *b;

		if (x->flags || x->reserved[0] || x->reserved[1] || x->reserved[2] ||
		    x->reserved[3] || x->placement > P2PBAR_PLACEMENT_HOST)
			return EINVAL;
		b = buf_of_fd(x->fd);
		if (!b)
			return fd_errno(x->fd);
		if (b->revoked)
			return ENODEV;
		return -1;
	}
	case C_RESET: {
		const struct p2pbar_reset *x = a;

		if (x->flags || x->reserved[0] || x->reserved[1])
			return EINVAL;
		return writable && !inbuf ? 0 : EFAULT;
	}
	default: return -1;
	}
}

/*
 * One p2pbar ioctl, with the struct in the RW page of the arg area (at
 * its start, or ending at or near the PROT_NONE page after it), in the
 * read-only page, in a mapping of one of our buffers, or at an address
 * that is not ours (NULL, kernel, non-canonical). The errno must be one
 * documented for the call and, where the arguments decide it, the exact
 * one.
 */
static void fuzz_ioctl(void)
{
	enum call c = below(100) < 20 ? C_UNKNOWN : (enum call)below(5);
	static unsigned char tmpl[P2PBAR_ARGSZ_MAX + 64];
	unsigned char shadow[P2PBAR_ARGSZ_MAX + 64];
	int where = below(100), want, ret, err;
	unsigned char *ptr = NULL;
	size_t avail = 0, argsz, ksize;
	bool writable = false, e2big_or_efault = false;
	struct buf *inbuf = NULL;
	size_t inbuf_pg = 0;
	unsigned int cmd;

	memset(tmpl, 0, sizeof(tmpl));
	/* RESET as root only with --reset, and rarely: it revokes everything */
	if (c == C_RESET && is_root && (!do_reset || !chance(3)))
		c = C_INFO;
	if (c == C_UNKNOWN) {
		cmd = near_cmd();
		for (size_t i = 0; i < 160; i++)
			tmpl[i] = chance(50) ? 0 : rnd();
	} else {
		cmd = ioctl_cmd[c];
		valid_args(c, tmpl);
		for (unsigned int n = below(3); n; n--)
			mutate(c, tmpl, *(uint32_t *)tmpl);
	}
	argsz = *(uint32_t *)tmpl;
	ksize = c == C_UNKNOWN ? 0 : struct_size[c];

	if (where < 70) {
		size_t len = argsz < 8 ? 8 : argsz, off;

		if (len > (size_t)page || chance(50))
			off = below(64) * 8;
		else
			off = page - len + (chance(70) ? 0 : below(16)); /* ends at/past the hole */
		if (off > (size_t)page - 4)
			off = page - 4;
		ptr = (unsigned char *)arg_area + off;
		avail = page - off;
		writable = true;
		memset(arg_area, 0, page);
		memcpy(ptr, tmpl, avail);
	} else if (where < 78) {
		size_t len = argsz < 8 ? 8 : argsz;
		size_t off = len > (size_t)page || chance(50) ? below(64) * 8 : page - len;

		if (off > (size_t)page - 4)
			off = page - 4;
		ptr = (unsigned char *)arg_area + 2 * page + off;
		avail = page - off;
		if (mprotect(arg_area + 2 * page, page, PROT_READ | PROT_WRITE))
			fail("mprotect: %s", strerror(errno));
		memset(arg_area + 2 * page, 0, page);
		memcpy(ptr, tmpl, avail);
		if (mprotect(arg_area + 2 * page, page, PROT_READ))
			fail("mprotect: %s", strerror(errno));
	} else if (where < 82) {
		ptr = NULL;
	} else if (where < 87) {
		static const uint64_t bad[] = { 0xffff888000000000ULL, 0xffffffff81000000ULL,
						0x0000800000000000ULL, 0xdead000000000000ULL, 8 };
		ptr = (unsigned char *)(uintptr_t)(bad[below(5)] + below(64) * 8);
	} else if (where < 90) {
		ptr = (unsigned char *)arg_area + page + below(64) * 8; /* PROT_NONE */
	} else {
		struct buf *b = pick_buf(false);
		struct map *m = b && !b->revoked ? pick_map(b) : NULL;

		if (m) {
			inbuf = b;
			inbuf_pg = m->pgoff + below(m->len / page);
			ptr = (unsigned char *)m->addr + (inbuf_pg - m->pgoff) * page;
			/* the page: the struct, then zeros, or the old pattern */
			if (chance(70))
				memset(ptr, 0, page);
			memcpy(ptr, tmpl, 160);
			inbuf->gen[inbuf_pg] = UNKNOWN_GEN;
			avail = page;
			writable = true;
		}
	}
	if (avail)
		memcpy(shadow, ptr, avail < sizeof(shadow) ? avail : sizeof(shadow));
	if (avail >= 4)
		argsz = *(uint32_t *)shadow;

	/* What the arguments decide, in the order the driver checks them. */
	if (c == C_UNKNOWN)
		want = ENOTTY;
	else if (c == C_RESET && !is_root)
		want = EPERM;
	else if (avail < 4)
		want = EFAULT;
	else if (argsz < struct_size[c])
		want = EINVAL;
	else if (argsz > P2PBAR_ARGSZ_MAX)
		want = E2BIG;
	else if (argsz > avail) {
		want = EFAULT;
		for (size_t i = ksize; i < avail; i++)
			e2big_or_efault |= shadow[i] != 0;
	} else {
		want = -2; /* the fields decide */
		for (size_t i = ksize; i < argsz; i++)
			if (shadow[i])
				want = E2BIG;
	}
	if (want == -2) {
		unsigned char k[sizeof(struct p2pbar_info)] = { 0 };

		memcpy(k, shadow, argsz < ksize ? argsz : ksize);
		want = expect_fields(c, k, writable, inbuf != NULL);
	}

	ret = ioctl(dev, cmd, ptr);
	err = ret ? errno : 0;
	count(c, err);
	if (ret && !errno_ok(c, err))
		fail("%s (cmd %#x, argsz %zu): %s, not an errno the uAPI documents for it",
		     call_name[c], cmd, argsz, strerrorname_np(err));
	if (want == EFAULT && e2big_or_efault && err == E2BIG)
		want = E2BIG;
	if (want >= 0 && err != want)
		fail("%s (cmd %#x, argsz %zu, ptr %p+%zu readable%s): %s, want %s", call_name[c],
		     cmd, argsz, (void *)ptr, avail, writable ? " writable" : "",
		     err ? strerrorname_np(err) : "success",
		     want ? strerrorname_np(want) : "success");
	if (c == C_ALLOC && !err && !writable)
		fail("ALLOC with a read-only struct succeeded");
	if (ret)
		return;
	if (c == C_ALLOC)
		alloc_done((struct p2pbar_alloc *)ptr);
	if (c == C_RESET) {
		atomic_fetch_add(&nresets, 1);
		mark_all_revoked();
	}
	if (c == C_MIGRATE)
		atomic_fetch_add(&nmoves_ok, 1);
}

/* --- operations on a buffer */
static void op_mmap(struct buf *b)
{
	size_t pages = b->size / page, pgoff, npg;
	int slot = -1, prot, flags, want = 0;
	char *res, *p;
	off_t off;

	for (int i = 0; i < MAX_MAPS; i++)
		if (!b->map[i].addr)
			slot = i;
	if (slot < 0 || b->fd < 0)
		return;
	pgoff = chance(80) ? below(pages) : pages + below(3);
	npg = chance(80) ? 1 + below(pages - (pgoff < pages ? pgoff : pages - 1))
			 : below(pages + 2);
	off = (off_t)pgoff * page;
	if (chance(5))
		off += 1 + below(page - 1);
	if (chance(3))
		off = (off_t)(rnd() & ~(uint64_t)(page - 1) & INT64_MAX);
	prot = chance(80) ? PROT_READ | PROT_WRITE : (int)below(8);
	flags = chance(85) ? MAP_SHARED
			   : (chance(50) ? MAP_PRIVATE : MAP_SHARED_VALIDATE | 0x40000);
	if (flags != MAP_SHARED && flags != MAP_PRIVATE)
		want = -1; /* MAP_SHARED_VALIDATE with an unknown flag: mm refuses */
	else if (!npg || off % page || flags != MAP_SHARED || (uint64_t)off / page >= pages ||
		 npg > pages - (uint64_t)off / page)
		want = EINVAL;
	else if (b->revoked)
		want = ENODEV;
	res = mmap(NULL, (npg + 1) * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		fail("mmap anon: %s", strerror(errno));
	p = mmap(res, npg * page, prot, flags | MAP_FIXED, b->fd, off);
	count(C_MMAP, p == MAP_FAILED ? errno : 0);
	if (p == MAP_FAILED) {
		int err = errno;

		munmap(res, (npg + 1) * page);
		/* a huge offset may be refused before it reaches the dma-buf */
		if (want == EINVAL && (err == EOVERFLOW || err == ENOMEM || err == EINVAL))
			return;
		if (((prot & PROT_EXEC) && err == EPERM) || want < 0)
			return;
		if (err != want)
			fail("mmap buffer %llu pgoff %zu pages %zu prot %d flags %#x: %s, want %s",
			     (unsigned long long)b->id, (size_t)(off / page), npg, prot, flags,
			     strerror(err), want ? strerror(want) : "success");
		return;
	}
	if (want > 0)
		fail("mmap buffer %llu offset %lld pages %zu flags %#x succeeded, want %s",
		     (unsigned long long)b->id, (long long)off, npg, flags, strerror(want));
	if (prot != (PROT_READ | PROT_WRITE) || want < 0) {
		munmap(res, (npg + 1) * page);
		return;
	}
	b->map[slot] = (struct map){ p, npg * page, (size_t)off / page, res, (npg + 1) * page };
	/* Past the end: the reserved PROT_NONE page. */
	if (probe(p + npg * page + below(page), chance(50)) != SIGSEGV)
		fail("access past the end of a mapping of buffer %llu did not SIGSEGV",
		     (unsigned long long)b->id);
	atomic_fetch_add(&nfaults_expected, 1);
}

static void op_mremap(struct buf *b)
{
	struct map *m = pick_map(b);
	char *p;

	if (!m)
		return;
	switch (below(3)) {
	case 0: /* grow: VM_DONTEXPAND refuses */
		p = mremap(m->addr, m->len, m->len + page, 0);
		count(C_MREMAP, p == MAP_FAILED ? errno : 0);
		if (p != MAP_FAILED)
			fail("mremap grew a mapping of buffer %llu", (unsigned long long)b->id);
		break;
	case 1: /* shrink */
		if (m->len == (size_t)page)
			return;
		p = mremap(m->addr, m->len, m->len - page, 0);
		count(C_MREMAP, p == MAP_FAILED ? errno : 0);
		if (p == MAP_FAILED)
			fail("mremap shrink: %s", strerror(errno));
		m->len -= page;
		/* The freed page is a hole now; keep the reserve's tail PROT_NONE. */
		if (mmap(m->addr + m->len, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
		break;
	default: { /* move to a new reserve */
		size_t rl = m->len + page;
		char *res = mmap(NULL, rl, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (res == MAP_FAILED)
			fail("mmap anon: %s", strerror(errno));
		p = mremap(m->addr, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED, res);
		count(C_MREMAP, p == MAP_FAILED ? errno : 0);
		if (p == MAP_FAILED) {
			munmap(res, rl);
			break;
		}
		munmap(m->reserve, m->reserve_len);
		m->addr = p;
		m->reserve = res;
		m->reserve_len = rl;
	}
	}
}

static void op_madvise(struct buf *b)
{
	static const int adv[] = { MADV_NORMAL,	    MADV_RANDOM,
				   MADV_SEQUENTIAL, MADV_WILLNEED,
				   MADV_DONTNEED,   MADV_FREE,
				   MADV_REMOVE,	    MADV_COLD,
				   MADV_PAGEOUT,    22 /* POPULATE_READ */,
				   23 /* _WRITE */, MADV_DONTDUMP,
				   MADV_DODUMP,	    MADV_MERGEABLE,
				   MADV_HUGEPAGE };
	struct map *m = pick_map(b);
	int a, r;

	if (!m)
		return;
	a = adv[below(sizeof(adv) / sizeof(adv[0]))];
	r = madvise(m->addr, m->len, a);
	count(C_MADVISE, r ? errno : 0);
}

static void op_fdcalls(struct buf *b)
{
	char tmp[64];
	off_t o;
	int r;

	if (b->fd < 0)
		return;
	switch (below(7)) {
	case 0:
		r = read(b->fd, tmp, below(sizeof(tmp)));
		count(C_RW, r < 0 ? errno : 0);
		break;
	case 1:
		r = write(b->fd, tmp, below(sizeof(tmp)));
		count(C_RW, r < 0 ? errno : 0);
		break;
	case 2: {
		int whence = below(5);

		o = lseek(b->fd, chance(70) ? 0 : (off_t)v64(), whence);
		count(C_LSEEK, o < 0 ? errno : 0);
		o = lseek(b->fd, 0, SEEK_END);
		if (o != (off_t)b->size)
			fail("lseek SEEK_END of buffer %llu: %lld, want its size %llu",
			     (unsigned long long)b->id, (long long)o, (unsigned long long)b->size);
		break;
	}
	case 3: {
		struct dma_buf_sync s = { .flags = chance(60) ? (below(3) + 1) | (below(2) << 2)
							      : v64() };
		bool valid = !(s.flags & ~(uint64_t)DMA_BUF_SYNC_VALID_FLAGS_MASK) &&
			     (s.flags & DMA_BUF_SYNC_RW);

		r = ioctl(b->fd, DMA_BUF_IOCTL_SYNC, &s);
		count(C_SYNC, r ? errno : 0);
		if (valid && !(s.flags & DMA_BUF_SYNC_END) && r != 0 &&
		    !(b->revoked && errno == ENODEV))
			fail("DMA_BUF_IOCTL_SYNC %#llx on buffer %llu: %s",
			     (unsigned long long)s.flags, (unsigned long long)b->id,
			     strerror(errno));
		if (!valid && !r)
			fail("DMA_BUF_IOCTL_SYNC with flags %#llx succeeded",
			     (unsigned long long)s.flags);
		break;
	}
	case 4: {
		char name[80];
		size_t n = below(sizeof(name));

		for (size_t i = 0; i < n; i++)
			name[i] = 'a' + below(26);
		name[n] = 0;
		r = ioctl(b->fd, DMA_BUF_SET_NAME_B, chance(90) ? name : NULL);
		count(C_SET_NAME, r ? errno : 0);
		break;
	}
	case 5:
	case 6: {
		struct dma_buf_export_sync_file e = { .flags = chance(70) ? below(3) + 1
									  : (uint32_t)v32() };
		struct dma_buf_import_sync_file im = { 0 };

		r = ioctl(b->fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e);
		count(C_EXPORT_SYNC, r ? errno : 0);
		if (r)
			break;
		im.flags = chance(70) ? below(3) + 1 : v32();
		im.fd = chance(80) ? e.fd : v_fd();
		r = ioctl(b->fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im);
		count(C_IMPORT_SYNC, r ? errno : 0);
		close(e.fd);
		break;
	}
	}
}

/* A forked child checks and writes a page through the inherited mapping. */
static void op_fork(struct buf *b)
{
	struct map *m = pick_map(b);
	size_t i, pg;
	pid_t pid;
	int st;

	if (!m || b->revoked)
		return;
	i = below(m->len / page);
	pg = m->pgoff + i;
	if (b->gen[pg] == UNKNOWN_GEN)
		return;
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		volatile uint64_t *a = (volatile uint64_t *)(m->addr + i * page);

		if (page_access(a, b->id, pg, b->gen[pg], false))
			_exit(2);
		_exit(page_access(a, b->id, pg, b->gen[pg] + 1, true) ? 3 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("forked child on buffer %llu page %zu: status %#x", (unsigned long long)b->id,
		     pg, st);
	b->gen[pg]++;
	atomic_fetch_add(&nforks, 1);
}

/* Pass the fd through SCM_RIGHTS; keep one of the two at random. */
static void op_scm(struct buf *b)
{
	struct p2pbar_buf_info bi;
	int sv[2], nfd;
	char c = 'f';
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &c, 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;

	if (b->fd < 0)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail("socketpair: %s", strerror(errno));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &b->fd, sizeof(int));
	if (sendmsg(sv[0], &msg, 0) != 1)
		fail("sendmsg: %s", strerror(errno));
	if (chance(20)) {
		/* dropped in flight: the socket holds the last reference */
		close(sv[0]);
		close(sv[1]);
		return;
	}
	msg.msg_controllen = sizeof(u.buf);
	if (recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC) != 1 || !(cm = CMSG_FIRSTHDR(&msg)))
		fail("recvmsg: %s", strerror(errno));
	memcpy(&nfd, CMSG_DATA(cm), sizeof(int));
	close(sv[0]);
	close(sv[1]);
	if (buf_info(nfd, &bi) || bi.id != b->id)
		fail("fd received by SCM_RIGHTS: BUF_INFO %s, id %llu want %llu", strerror(errno),
		     (unsigned long long)bi.id, (unsigned long long)b->id);
	if (chance(50)) {
		close(b->fd);
		b->fd = nfd;
	} else {
		close(nfd);
	}
	atomic_fetch_add(&nscm, 1);
}

static void op_close(struct buf *b)
{
	if (chance(50) && b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
	} else {
		struct map *m = pick_map(b);

		if (m)
			map_drop(m);
		else if (b->fd >= 0) {
			close(b->fd);
			b->fd = -1;
		}
	}
	buf_maybe_free(b);
}

static void op_revoked_check(struct buf *b)
{
	struct p2pbar_buf_info bi;

	if (b->fd < 0)
		return;
	if (buf_info(b->fd, &bi))
		fail("BUF_INFO of buffer %llu: %s", (unsigned long long)b->id, strerror(errno));
	if (!!(bi.status & P2PBAR_BUF_REVOKED) != b->revoked)
		fail("buffer %llu: BUF_INFO status %#llx, revoked %d", (unsigned long long)b->id,
		     (unsigned long long)bi.status, b->revoked);
	if (bi.status & ~(uint64_t)P2PBAR_BUF_REVOKED)
		fail("buffer %llu: unknown status bits %#llx", (unsigned long long)b->id,
		     (unsigned long long)bi.status);
}

/* pread/pwrite of the node: root only; root writes only where no buffer is. */
static void op_node_rw(void)
{
	char tmp[256];
	off_t pos = chance(50) ? (off_t)below(inf.bar_size) : (off_t)v64();
	ssize_t r;

	if (chance(50)) {
		r = pread(dev, tmp, 1 + below(sizeof(tmp) - 1), pos);
	} else {
		if (is_root && pos >= 0 && (uint64_t)pos < inf.bar_size)
			pos = inf.bar_size + below(page);
		r = pwrite(dev, tmp, 1 + below(sizeof(tmp) - 1), pos);
	}
	count(C_NODE_RW, r < 0 ? errno : 0);
	if (!is_root && pos >= 0 && (r >= 0 || errno != EPERM))
		fail("unprivileged pread/pwrite of the node: %zd %s, want EPERM", r,
		     strerror(errno));
}

static void one_op(void)
{
	unsigned int r = below(100);
	struct buf *b = pick_buf(false);

	cur_op = r < 45 || !b ? "ioctl"
		 : r < 55     ? "mmap"
		 : r < 68     ? "page access"
		 : r < 71     ? "mremap"
		 : r < 74     ? "madvise"
		 : r < 80     ? "fd calls"
		 : r < 82     ? "fork"
		 : r < 84     ? "SCM_RIGHTS"
		 : r < 88     ? "BUF_INFO/node rw"
			      : "close/dup";
	if (r < 45 || !b) {
		fuzz_ioctl();
		return;
	}
	if (r < 55)
		op_mmap(b);
	else if (r < 68)
		buf_page(b, chance(50));
	else if (r < 71)
		op_mremap(b);
	else if (r < 74)
		op_madvise(b);
	else if (r < 80)
		op_fdcalls(b);
	else if (r < 82)
		op_fork(b);
	else if (r < 84)
		op_scm(b);
	else if (r < 86)
		op_revoked_check(b);
	else if (r < 88)
		op_node_rw();
	else if (r < 95 || nbufs_live() > MAX_BUFS - 4)
		op_close(b);
	else if (b->fd >= 0) {
		/* dup, and keep the new number: the old one is closed */
		int d = dup(b->fd);

		if (d >= 0) {
			close(b->fd);
			b->fd = d;
		}
	}
}

/* --- phase 2: threads racing on a few movable buffers */
#define RACE_BUFS    3
#define RACE_WRITERS 2

struct race_buf {
	int fd;
	uint64_t id, size;
	char *addr;
	_Atomic uint32_t *gen; /* per page; writer t owns pages pg % RACE_WRITERS == t */
	atomic_bool revoked;
};

static struct race_buf rb[RACE_BUFS];
static atomic_bool race_stop, race_did_reset;
static uint64_t race_seed;

static void race_check_revoked(struct race_buf *r, const char *what)
{
	struct p2pbar_buf_info bi;

	if (buf_info(r->fd, &bi))
		fail("BUF_INFO: %s", strerror(errno));
	if (!(bi.status & P2PBAR_BUF_REVOKED))
		fail("buffer %llu: %s, but not revoked", (unsigned long long)r->id, what);
	r->revoked = true;
	atomic_fetch_add(&nrevoked_seen, 1);
}

static void *race_writer(void *arg)
{
	long t = (long)arg;

	rng = race_seed ^ (0x1000 + t);
	while (!race_stop) {
		struct race_buf *r = &rb[below(RACE_BUFS)];
		size_t pages = r->size / page, pg = below(pages);
		uint32_t g;
		int ret;

		pg -= pg % RACE_WRITERS;
		pg += t;
		if (pg >= pages || r->revoked)
			continue;
		g = r->gen[pg];
		/* check what is there, then write the next generation */
		ret = page_access((volatile uint64_t *)(r->addr + pg * page), r->id, pg, g, false);
		if (!ret) {
			ret = page_access((volatile uint64_t *)(r->addr + pg * page), r->id, pg,
					  g + 1, true);
			if (!ret)
				r->gen[pg] = g + 1;
		}
		if (ret == SIGBUS)
			race_check_revoked(r, "SIGBUS through its mapping");
		else if (ret > 0)
			fail("buffer %llu page %zu: signal %d", (unsigned long long)r->id, pg, ret);
		else if (ret < 0)
			fail("buffer %llu page %zu: content lost under migration",
			     (unsigned long long)r->id, pg);
	}
	return NULL;
}

static void *race_migrator(void *arg)
{
	(void)arg;
	rng = race_seed ^ 0x2000;
	while (!race_stop) {
		struct race_buf *r = &rb[below(RACE_BUFS)];

		if (race_did_reset) {
			/* after RESET every MIGRATE is ENODEV: checked once each */
			bool live = false;

			for (int i = 0; i < RACE_BUFS; i++)
				live |= !rb[i].revoked;
			if (!live)
				break;
			if (r->revoked)
				continue;
		}
		struct p2pbar_migrate m = { .argsz = sizeof(m),
					    .fd = r->fd,
					    .placement = below(2) };
		int ret = ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m), err = ret ? errno : 0;

		count(C_MIGRATE, err);
		if (ret && !errno_ok(C_MIGRATE, err))
			fail("MIGRATE: %s, not documented", strerror(err));
		if (err == ENODEV)
			race_check_revoked(r, "MIGRATE ENODEV");
		else if (ret && err != ENOSPC && err != EINTR)
			fail("racing MIGRATE of buffer %llu to %u: %s", (unsigned long long)r->id,
			     m.placement, strerror(err));
		else if (!ret)
			atomic_fetch_add(&nmoves_ok, 1);
	}
	return NULL;
}

/* Big movable DEVICE buffers, allocated and freed: evictions. */
static void *race_evictor(void *arg)
{
	(void)arg;
	rng = race_seed ^ 0x3000;
	while (!race_stop) {
		struct p2pbar_alloc a = { .argsz = sizeof(a),
					  .length = inf.bar_size / 2 + below(inf.bar_size / 2),
					  .placement = P2PBAR_PLACEMENT_DEVICE };
		int ret = ioctl(dev, P2PBAR_IOCTL_ALLOC, &a), err = ret ? errno : 0;

		count(C_ALLOC, err);
		if (ret && !errno_ok(C_ALLOC, err))
			fail("ALLOC: %s, not documented", strerror(err));
		if (ret && err != ENOSPC && err != ENOMEM && err != EINTR)
			fail("racing ALLOC: %s", strerror(err));
		if (!ret)
			close(a.fd);
	}
	return NULL;
}

static void *race_resetter(void *arg)
{
	struct p2pbar_reset r = { .argsz = sizeof(r) };
	struct timespec ts = { 0, (long)(50 + below(400)) * 1000000L };

	(void)arg;
	nanosleep(&ts, NULL);
	if (race_stop)
		return NULL;
	if (ioctl(dev, P2PBAR_IOCTL_RESET, &r))
		fail("RESET: %s", strerror(errno));
	count(C_RESET, 0);
	atomic_fetch_add(&nresets, 1);
	race_did_reset = true;
	return NULL;
}

static void race_round(unsigned int round, double seconds)
{
	pthread_t th[RACE_WRITERS + 3];
	int nth = 0;
	struct timespec ts;

	rng = race_seed = rng ^ round;
	race_stop = false;
	race_did_reset = false;
	for (int i = 0; i < RACE_BUFS; i++) {
		struct race_buf *r = &rb[i];
		struct p2pbar_alloc a = { .argsz = sizeof(a),
					  .length = (1 + below(32)) * page,
					  .placement = below(2) };

		if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
			fail("race ALLOC of %llu bytes: %s", (unsigned long long)a.length,
			     strerror(errno));
		count(C_ALLOC, 0);
		r->fd = a.fd;
		r->id = a.id;
		r->size = a.length;
		r->revoked = false;
		r->gen = calloc(a.length / page, sizeof(*r->gen));
		r->addr = mmap(NULL, a.length, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		if (!r->gen || r->addr == MAP_FAILED)
			fail("race mmap: %s", strerror(errno));
	}
	for (long t = 0; t < RACE_WRITERS; t++)
		pthread_create(&th[nth++], NULL, race_writer, (void *)t);
	pthread_create(&th[nth++], NULL, race_migrator, NULL);
	pthread_create(&th[nth++], NULL, race_evictor, NULL);
	if (do_reset && round % 3 == 2)
		pthread_create(&th[nth++], NULL, race_resetter, NULL);
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	race_stop = true;
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	/* Every page as last written, unless revoked. */
	for (int i = 0; i < RACE_BUFS; i++) {
		struct race_buf *r = &rb[i];

		for (size_t pg = 0; pg < r->size / page && !r->revoked; pg++) {
			int ret = page_access((volatile uint64_t *)(r->addr + pg * page), r->id, pg,
					      r->gen[pg], false);

			if (ret == SIGBUS && race_did_reset)
				race_check_revoked(r, "SIGBUS after the round");
			else if (ret)
				fail("buffer %llu page %zu after the round: %d",
				     (unsigned long long)r->id, pg, ret);
		}
		munmap(r->addr, r->size);
		close(r->fd);
		free((void *)r->gen);
	}
}

/* --- setup and the end */
static int make_foreign_udmabuf(void)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = page };
	int ufd = udmabuf_fd >= 0 ? udmabuf_fd : open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	int mfd, fd;

	if (ufd < 0)
		return -1;
	mfd = memfd_create("p2pbar-fuzz", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, page) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK))
		fail("memfd for udmabuf: %s", strerror(errno));
	c.memfd = mfd;
	fd = ioctl(ufd, UDMABUF_CREATE, &c);
	close(mfd);
	return fd;
}

/* A vgem dumb buffer (tests/lib/vgem.h): a dma-buf of another exporter. */
static int make_foreign_vgem(void)
{
	int card = vgem_fd >= 0 ? vgem_fd : vgem_open();
	size_t size = page;
	uint32_t handle;

	if (card < 0 || vgem_dumb(card, &size, &handle))
		return -1;
	return vgem_export(card, handle);
}

static void check_idle(const char *when);

/* --- --faults: every allocation and user copy of a call failed in turn */

enum fpath {
	F_ALLOC_DEV,
	F_ALLOC_HOST,
	F_TO_HOST,
	F_TO_DEV,
	F_EVICT,
	F_FAULT,
	F_INFO,
	F_BUF_INFO,
	F_RESET,
	F_NPATHS
};

static const char *const fpath_name[F_NPATHS] = {
	"ALLOC DEVICE",
	"ALLOC HOST",
	"MIGRATE to HOST",
	"MIGRATE to DEVICE",
	"eviction (ALLOC DEVICE, BAR full)",
	"mmap fault",
	"INFO",
	"BUF_INFO",
	"RESET (revoke)",
};

static int alloc_buf(uint64_t len, uint32_t placement, uint32_t flags, struct p2pbar_alloc *a)
{
	memset(a, 0, sizeof(*a));
	a->argsz = sizeof(*a);
	a->length = len;
	a->placement = placement;
	a->flags = flags;
	return ioctl(dev, P2PBAR_IOCTL_ALLOC, a) ? errno : 0;
}

static int migrate(int fd, uint32_t placement)
{
	struct p2pbar_migrate m = { .argsz = sizeof(m), .fd = fd, .placement = placement };

	return ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) ? errno : 0;
}

/* Big buffers get the pattern on every 61st page only (time under TCG). */
#define FPAGE_STEP(len) ((len) / page > 64 ? 61 : 1)

/* A movable buffer in @placement with a pattern written through @map. */
struct fbuf {
	struct p2pbar_alloc a;
	char *map;
};

static void fbuf_new(struct fbuf *f, uint64_t len, uint32_t placement)
{
	int err = alloc_buf(len, placement, 0, &f->a);

	if (err)
		fail("ALLOC (no fault): %s", strerror(err));
	f->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f->a.fd, 0);
	if (f->map == MAP_FAILED)
		fail("mmap (no fault): %s", strerror(errno));
	for (size_t pg = 0; pg < len / page; pg += FPAGE_STEP(len))
		if (page_access((volatile uint64_t *)(f->map + pg * page), f->a.id, pg, 7, true))
			fail("writing buffer %llu", (unsigned long long)f->a.id);
}

static void fbuf_check(struct fbuf *f, uint32_t placement, const char *when)
{
	struct p2pbar_buf_info bi;

	if (buf_info(f->a.fd, &bi))
		fail("BUF_INFO %s: %s", when, strerror(errno));
	if (bi.placement != placement)
		fail("buffer %llu %s: placement %u, want %u", (unsigned long long)f->a.id, when,
		     bi.placement, placement);
	for (size_t pg = 0; pg < f->a.length / page; pg += FPAGE_STEP(f->a.length))
		if (page_access((volatile uint64_t *)(f->map + pg * page), f->a.id, pg, 7, false))
			fail("buffer %llu page %zu %s: content lost", (unsigned long long)f->a.id,
			     pg, when);
}

static void fbuf_free(struct fbuf *f)
{
	munmap(f->map, f->a.length);
	close(f->a.fd);
}

/*
 * Run path @p with the @n-th fault armed (0: none): returns the errno of
 * the call under test; checks the state it must leave either way.
 */
static int fault_run(enum fpath p, unsigned int n, bool *hit)
{
	struct fbuf f, fill[8];
	struct p2pbar_alloc a;
	struct p2pbar_buf_info bi;
	struct p2pbar_info i = { .argsz = sizeof(i) };
	struct p2pbar_reset r = { .argsz = sizeof(r) };
	int err = 0, nfill = 0;
	uint64_t len = 16 * page;

	switch (p) {
	case F_ALLOC_DEV:
	case F_ALLOC_HOST:
		fail_nth_set(n);
		err = alloc_buf(len, p == F_ALLOC_HOST, p == F_ALLOC_DEV ? P2PBAR_ALLOC_FIXED : 0,
				&a);
		*hit = fail_nth_hit();
		if (!err)
			close(a.fd);
		break;
	case F_TO_HOST:
	case F_TO_DEV: {
		uint32_t from = p == F_TO_HOST ? P2PBAR_PLACEMENT_DEVICE : P2PBAR_PLACEMENT_HOST;

		fbuf_new(&f, len, from);
		fail_nth_set(n);
		err = migrate(f.a.fd, !from);
		*hit = fail_nth_hit();
		fbuf_check(&f, err ? from : !from,
			   err ? "after a failed MIGRATE" : "after MIGRATE");
		fbuf_free(&f);
		break;
	}
	case F_EVICT: {
		/* the BAR full: a FIXED filler and two small movable buffers */
		struct p2pbar_alloc filler;

		err = alloc_buf(inf.bar_size - 2 * len, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED,
				&filler);
		if (err)
			fail("ALLOC of the filler (no fault): %s", strerror(err));
		for (nfill = 0; nfill < 2; nfill++)
			fbuf_new(&fill[nfill], len, P2PBAR_PLACEMENT_DEVICE);
		fail_nth_set(n);
		err = alloc_buf(len, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED, &a);
		*hit = fail_nth_hit();
		if (!err)
			close(a.fd);
		for (int k = 0; k < nfill; k++) {
			if (buf_info(fill[k].a.fd, &bi))
				fail("BUF_INFO: %s", strerror(errno));
			fbuf_check(&fill[k], bi.placement, "after an eviction");
			fbuf_free(&fill[k]);
		}
		close(filler.fd);
		break;
	}
	case F_FAULT: {
		/* a failed fault is retried; the access must end well */
		fbuf_new(&f, len, n % 2 ? P2PBAR_PLACEMENT_HOST : P2PBAR_PLACEMENT_DEVICE);
		/* a fresh address: the fault needs page tables too */
		munmap(f.map, len);
		f.map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f.a.fd, 0);
		if (f.map == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
		fail_nth_set(n);
		err = page_access((volatile uint64_t *)f.map, f.a.id, 0, 7, false) ? EIO : 0;
		*hit = fail_nth_hit();
		fbuf_check(&f, n % 2 ? P2PBAR_PLACEMENT_HOST : P2PBAR_PLACEMENT_DEVICE,
			   "after a failed fault");
		fbuf_free(&f);
		break;
	}
	case F_INFO:
		fail_nth_set(n);
		err = ioctl(dev, P2PBAR_IOCTL_INFO, &i) ? errno : 0;
		*hit = fail_nth_hit();
		break;
	case F_BUF_INFO:
		fbuf_new(&f, len, P2PBAR_PLACEMENT_DEVICE);
		memset(&bi, 0, sizeof(bi));
		bi.argsz = sizeof(bi);
		bi.fd = f.a.fd;
		fail_nth_set(n);
		err = ioctl(dev, P2PBAR_IOCTL_BUF_INFO, &bi) ? errno : 0;
		*hit = fail_nth_hit();
		fbuf_free(&f);
		break;
	case F_RESET:
		fbuf_new(&f, len, P2PBAR_PLACEMENT_DEVICE);
		fail_nth_set(n);
		err = ioctl(dev, P2PBAR_IOCTL_RESET, &r) ? errno : 0;
		*hit = fail_nth_hit();
		if (buf_info(f.a.fd, &bi))
			fail("BUF_INFO after RESET: %s", strerror(errno));
		if (!err != !!(bi.status & P2PBAR_BUF_REVOKED))
			fail("RESET %s, buffer status %#llx", err ? strerror(err) : "done",
			     (unsigned long long)bi.status);
		fbuf_free(&f);
		break;
	default: break;
	}
	return err;
}

static enum call fpath_call[F_NPATHS] = { C_ALLOC,   C_ALLOC, C_MIGRATE,  C_MIGRATE, C_ALLOC,
					  C_UNKNOWN, C_INFO,  C_BUF_INFO, C_RESET };

static void fault_paths(unsigned int max_n)
{
	for (int p = 0; p < F_NPATHS; p++) {
		unsigned int n, injected = 0, failed = 0;
		bool hit = true;

		if (p == F_RESET && !do_reset)
			continue;
		for (n = 1; n <= max_n && hit; n++) {
			int err = fault_run(p, n, &hit);

			if (hit)
				injected++;
			if (err) {
				failed++;
				if (p == F_FAULT || !errno_ok(fpath_call[p], err))
					fail("%s with fault %u injected: %s, not documented",
					     fpath_name[p], n, strerrorname_np(err));
				count(fpath_call[p], err);
			}
			/* the next call, without a fault, succeeds */
			err = fault_run(p, 0, &hit);
			if (err)
				fail("%s after fault %u: %s, want success", fpath_name[p], n,
				     strerror(err));
			hit = injected == n;
			check_idle(fpath_name[p]);
		}
		printf("faults: %-34s %u allocation/copy sites failed in turn, %u calls failed "
		       "cleanly%s\n",
		       fpath_name[p], injected, failed, n > max_n ? " (limit)" : "");
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Close every fd but stdio and the node, unmap every buffer. */
static void drop_all(void)
{
	for (int i = 0; i < MAX_BUFS; i++) {
		struct buf *b = &bufs[i];

		if (!b->used)
			continue;
		for (int j = 0; j < MAX_MAPS; j++)
			if (b->map[j].addr)
				map_drop(&b->map[j]);
		if (b->fd >= 0)
			close(b->fd);
		b->fd = -1;
		buf_maybe_free(b);
	}
	for (int fd = 3; fd < 1024; fd++)
		if (fd != dev && fd != udmabuf_fd && fd != vgem_fd)
			close(fd);
}

static void check_idle(const char *when)
{
	uint64_t used, bufs, file_bufs, host;

	/* fput's release runs on return to user space: at once, or nearly */
	for (int tries = 0; tries < 50; tries++) {
		used = t_counter(dev, "used");
		bufs = t_counter(dev, "buffers");
		host = t_counter(dev, "host_charged");
		file_bufs = t_info(dev).file_buffers;
		if (!used && !bufs && !file_bufs && !host)
			return;
		usleep(100000);
	}
	fail("%s: used %" PRIu64 " buffers %" PRIu64 " host_charged %" PRIu64
	     " (sysfs), INFO file_buffers %" PRIu64 ", want 0",
	     when, used, bufs, host, file_bufs);
}

static void print_hist(double secs)
{
	unsigned long n = ncalls;

	printf("calls: %lu in %.1f s (%.0f/s); moves %lu, forks %lu, SCM_RIGHTS %lu, RESETs %lu, "
	       "expected faults %lu, revokes seen %lu\n",
	       n, secs, secs > 0 ? (double)n / secs : 0.0, (unsigned long)nmoves_ok,
	       (unsigned long)nforks, (unsigned long)nscm, (unsigned long)nresets,
	       (unsigned long)nfaults_expected, (unsigned long)nrevoked_seen);
	for (int c = 0; c < C_NCALLS; c++) {
		unsigned long tot = 0;

		for (int e = 0; e <= MAX_ERRNO; e++)
			tot += hist[c][e];
		if (!tot)
			continue;
		printf("  %-18s %7lu:", call_name[c], tot);
		for (int e = 0; e <= MAX_ERRNO; e++)
			if (hist[c][e])
				printf(" %s=%lu",
				       e ? strerrorname_np(e) ? strerrorname_np(e) : "?" : "ok",
				       (unsigned long)hist[c][e]);
		putchar('\n');
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: p2pbar-fuzz [--seed N] [--ops N] [--seconds S] "
			"[--race-seconds S] [--reset] [--faults] [--udmabuf-fd N] [--vgem-fd N] "
			"NODE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	unsigned long ops = 100000, done = 0;
	double seconds = 20, race_seconds = 10, t0, t1;
	struct sigaction sa = { .sa_sigaction = on_fault };
	bool faults = false;
	int pfd[2];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--reset")) {
			do_reset = true;
			continue;
		}
		if (!strcmp(a, "--faults")) {
			faults = true;
			continue;
		}
		if (a[0] != '-') {
			node = a;
			continue;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--ops"))
			ops = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(a, "--race-seconds"))
			race_seconds = atof(v);
		else if (!strcmp(a, "--udmabuf-fd"))
			udmabuf_fd = atoi(v);
		else if (!strcmp(a, "--vgem-fd"))
			vgem_fd = atoi(v);
		else
			usage();
		i++;
	}
	if (!node)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	is_root = geteuid() == 0;
	dev = open(node, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		fail("open %s: %s", node, strerror(errno));
	inf = t_info(dev);
	if (t_counter(dev, "used") || t_counter(dev, "buffers"))
		fail("the device is not idle at the start (used %" PRIu64 ", buffers %" PRIu64 ")",
		     t_counter(dev, "used"), t_counter(dev, "buffers"));
	if (do_reset && !is_root)
		fail("--reset needs root (RESET is EPERM otherwise)");
	printf("p2pbar-fuzz: seed %#llx, %s, uid %d, BAR %llu MiB, %lu ops / %.0f s, race %.0f "
	       "s%s\n",
	       (unsigned long long)seed, node, (int)geteuid(),
	       (unsigned long long)(inf.bar_size >> 20), ops, seconds, race_seconds,
	       do_reset ? ", RESET" : "");
	rng = seed;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER | SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	arg_area = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arg_area == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	if (mprotect(arg_area + page, page, PROT_NONE) ||
	    mprotect(arg_area + 2 * page, page, PROT_READ) ||
	    mprotect(arg_area + 3 * page, page, PROT_NONE))
		fail("mprotect: %s", strerror(errno));
	closed_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(closed_fd);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pipe2(pfd, O_CLOEXEC))
		fail("pipe: %s", strerror(errno));
	pipe_fd = pfd[0];
	foreign_fd[0] = make_foreign_udmabuf();
	foreign_fd[1] = make_foreign_vgem();
	printf("foreign dma-bufs: udmabuf %s, vgem %s\n", foreign_fd[0] >= 0 ? "yes" : "no",
	       foreign_fd[1] >= 0 ? "yes" : "no");
	for (int i = 0; i < 2; i++) {
		struct p2pbar_buf_info bi;

		if (foreign_fd[i] >= 0 && (!buf_info(foreign_fd[i], &bi) || errno != EINVAL))
			fail("BUF_INFO of a foreign dma-bufs: %s, want EINVAL", strerror(errno));
	}

	if (faults) {
		fail_nth_open();
		t0 = now();
		fault_paths(ops);
		check_idle("after the faults");
		print_hist(now() - t0);
		printf("RESULT: p2pbar-fuzz --faults: every failure clean, every next call "
		       "succeeded\n");
		return 0;
	}
	t0 = now();
	while (done < ops && now() - t0 < seconds) {
		one_op();
		done++;
	}
	t1 = now();
	printf("phase 1: %lu operations in %.1f s, %d buffers live\n", done, t1 - t0, nbufs_live());
	for (int i = 0; i < MAX_BUFS; i++)
		if (bufs[i].used)
			op_revoked_check(&bufs[i]);
	/* Every buffer's every mapped page, then everything closed. */
	for (int i = 0; i < MAX_BUFS; i++) {
		struct buf *b = &bufs[i];

		for (int j = 0; j < MAX_MAPS && !b->revoked; j++) {
			struct map *m = &b->map[j];

			for (size_t k = 0; m->addr && k < m->len / page; k++) {
				size_t pg = m->pgoff + k;

				if (b->gen[pg] != UNKNOWN_GEN &&
				    page_access((volatile uint64_t *)(m->addr + k * page), b->id,
						pg, b->gen[pg], false))
					fail("buffer %llu page %zu: content wrong at the end of "
					     "phase 1",
					     (unsigned long long)b->id, pg);
			}
		}
	}
	drop_all();
	check_idle("after phase 1");

	for (unsigned int round = 0; now() - t1 < race_seconds; round++)
		race_round(round, 0.3 + (double)below(700) / 1000);
	check_idle("after the races");
	print_hist(now() - t0);
	printf("RESULT: p2pbar-fuzz seed %#llx: %lu calls, every invariant held\n",
	       (unsigned long long)seed, (unsigned long)ncalls);
	return 0;
}
