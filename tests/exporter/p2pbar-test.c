// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar-test: exporter tests run inside a testbed guest.
 *
 * usage: p2pbar-test CASE /dev/p2pbarN [args] (t_harness.h)
 *   fill LEN SEED OUT  allocate, mmap, check zeros, fill with the SEED
 *                      pattern; write "offset length seed" to OUT for the
 *                      host to check in the ivshmem file
 *   zero               fill, free, reallocate: the buffer reads zeros
 *   badinput           every ioctl and mmap with bad input → its errno
 *   enospc             fill the BAR to ENOSPC, free, fill again
 *   share              SCM_RIGHTS + fork + close in every order → no leak
 *   unbind PCI         unbind with live buffers and mappings
 *   unbind-race PCI    unbind while threads allocate, mmap and touch
 *   stress             allocate and free from several threads at once
 *   selftest           p2pbar_selftest.ko's importer cases on a buffer
 *   selftest-big       a buffer over 4 GiB maps as several segments
 *   selftest-gone PCI  an importer holds an attachment across unbind
 *   bufinfo            a live buffer shows as exp_name p2pbar in
 *                      /sys/kernel/debug/dma_buf/bufinfo
 * Prints "RESULT: ..." lines; exits non-zero on the first failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exporter-util.h"
#include "p2pbar_pattern.h"

/*
 * Device-only (FIXED) buffers: these cases test the allocator's capacity,
 * which eviction of movable buffers would hide (tests/dynamic has those).
 */
static int try_alloc_flags(int dev, uint64_t len, uint64_t align, uint32_t flags,
			   struct p2pbar_alloc *out)
{
	struct p2pbar_alloc a = { .argsz = sizeof(a),
				  .flags = flags,
				  .length = len,
				  .align = align,
				  .placement = P2PBAR_PLACEMENT_DEVICE };

	if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
		return -errno;
	if (out)
		*out = a;
	return a.fd;
}

static int try_alloc(int dev, uint64_t len, uint64_t align, struct p2pbar_alloc *out)
{
	return try_alloc_flags(dev, len, align, P2PBAR_ALLOC_FIXED, out);
}

static struct p2pbar_alloc alloc_buf(int dev, uint64_t len)
{
	struct p2pbar_alloc a;
	int fd = try_alloc(dev, len, 0, &a);

	if (fd < 0)
		fail("ALLOC %" PRIu64 ": %s", len, strerror(-fd));
	if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
		fail("dma-buf fd without O_CLOEXEC");
	return a;
}

static volatile uint64_t *map_buf(int fd, uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		fail("mmap %" PRIu64 ": %s", len, strerror(errno));
	return p;
}

static void expect_used(int dev, uint64_t used, uint64_t bufs, const char *when)
{
	uint64_t u = t_counter(dev, "used"), b = t_counter(dev, "buffers");

	if (u != used || b != bufs)
		fail("%s: used %" PRIu64 " buffers %" PRIu64 " (sysfs), want used %" PRIu64
		     " buffers %" PRIu64,
		     when, u, b, used, bufs);
}

T_CASE(case_fill, "fill", 3, "LEN SEED OUT")
{
	int dev = open_dev();
	uint64_t len, seed, n, i;
	struct p2pbar_alloc a;
	struct p2pbar_buf_info b;
	volatile uint64_t *m;
	FILE *out;

	len = strtoull(argv[0], NULL, 0);
	seed = strtoull(argv[1], NULL, 0);
	a = alloc_buf(dev, len);
	b = t_buf_info(dev, a.fd);
	if (b.id != a.id || b.offset != a.offset || b.length != a.length ||
	    b.placement != P2PBAR_PLACEMENT_DEVICE)
		fail("BUF_INFO does not match ALLOC");
	if (a.offset % page || a.length % page || a.length < len)
		fail("buffer not page aligned");
	m = map_buf(a.fd, a.length);
	n = a.length / 8;
	for (i = 0; i < n; i++)
		if (m[i])
			fail("new buffer not zero at byte %" PRIu64, i * 8);
	for (i = 0; i < n; i++)
		m[i] = p2pbar_pattern_word(seed, i);
	for (i = 0; i < n; i++)
		if (m[i] != p2pbar_pattern_word(seed, i))
			fail("read back mismatch at byte %" PRIu64, i * 8);
	out = fopen(argv[2], "w");
	if (!out)
		fail("%s: %s", argv[2], strerror(errno));
	fprintf(out, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", (uint64_t)a.offset,
		(uint64_t)a.length, seed);
	fclose(out);
	printf("RESULT: buffer %" PRIu64 " (%" PRIu64 " bytes at BAR offset %#" PRIx64
	       ") read zeros, then the pattern the guest wrote through mmap\n",
	       (uint64_t)a.id, (uint64_t)a.length, (uint64_t)a.offset);
	return 0;
}

/*
 * The host writes, the guest reads: allocate, publish "offset length seed"
 * in DIR/hostwrite.txt, wait for the host (tests/exporter/exporter-hostwrite.py,
 * running beside the guest) to write the pattern into the ivshmem file and
 * create DIR/hostwrite.done, then check it through the dma-buf mmap.
 */
T_CASE(case_hostwrite, "hostwrite", 1, "DIR")
{
	char path[512], tmp[520];
	int dev = open_dev(), tries;
	const uint64_t seed = 0x4057;
	struct p2pbar_alloc a;
	volatile uint64_t *m;
	FILE *out;

	a = alloc_buf(dev, 1 << 20);
	m = map_buf(a.fd, a.length);
	snprintf(path, sizeof(path), "%s/hostwrite.txt", argv[0]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "w");
	if (!out)
		fail("%s: %s", tmp, strerror(errno));
	fprintf(out, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", (uint64_t)a.offset,
		(uint64_t)a.length, seed);
	fclose(out);
	if (rename(tmp, path))
		fail("rename %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/hostwrite.done", argv[0]);
	for (tries = 0; access(path, F_OK); tries++) {
		if (tries == 1200)
			fail("the host never wrote the pattern (%s)", path);
		usleep(100000);
	}
	for (uint64_t i = 0; i < a.length / 8; i++)
		if (m[i] != p2pbar_pattern_word(seed, i))
			fail("host pattern not seen through mmap at byte %" PRIu64, i * 8);
	printf("RESULT: guest read the host's %" PRIu64
	       " bytes through the dma-buf mmap at BAR offset %#" PRIx64 "\n",
	       (uint64_t)a.length, (uint64_t)a.offset);
	return 0;
}

T_CASE(case_zero, "zero", 0, "")
{
	int dev = open_dev();
	uint64_t len = 1 << 20, i;
	struct p2pbar_alloc a, b;
	volatile uint64_t *m;

	a = alloc_buf(dev, len);
	m = map_buf(a.fd, len);
	for (i = 0; i < len / 8; i++)
		m[i] = ~0ULL;
	munmap((void *)m, len);
	close(a.fd);
	expect_used(dev, 0, 0, "after free");
	b = alloc_buf(dev, len);
	if (b.offset != a.offset)
		fail("reallocation landed elsewhere (%#" PRIx64 " vs %#" PRIx64 ")",
		     (uint64_t)b.offset, (uint64_t)a.offset);
	if (b.id == a.id)
		fail("buffer id reused");
	m = map_buf(b.fd, len);
	for (i = 0; i < len / 8; i++)
		if (m[i])
			fail("reallocated buffer leaks old data at %" PRIu64, i * 8);
	munmap((void *)m, len);
	close(b.fd);
	printf("RESULT: a reallocated range reads zeros, not the previous owner's data\n");
	return 0;
}

struct bad {
	const char *what;
	unsigned long cmd;
	int want; /* errno, or 0 for success */
	void (*set)(void *arg, int dev);
};

static uint64_t bar_size;
static int dmabuf_fd;

#define ARG(type, field, val)                              \
	static void set_##type##_##field(void *p, int dev) \
	{                                                  \
		(void)dev;                                 \
		((struct type *)p)->field = (val);         \
	}
ARG(p2pbar_info, flags, 1)
ARG(p2pbar_info, __pad, 1)
ARG(p2pbar_info, argsz, 0)
ARG(p2pbar_alloc, flags, 0x80000000u)
ARG(p2pbar_alloc, length, 0)
ARG(p2pbar_buf_info, flags, 2)

static void info_short(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_info *)p)->argsz = sizeof(struct p2pbar_info) - 8;
}
static void alloc_ok(void *p, int dev)
{
	(void)p;
	(void)dev;
}
static void alloc_reserved(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->reserved[0] = 1;
}
static void alloc_short(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->argsz = 8;
}
static void alloc_huge_argsz(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->argsz = 1 << 20;
}
static void alloc_overflow(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->length = ~0ULL;
}
static void alloc_overflow2(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->length = ~0ULL - 4094;
}
static void alloc_too_big(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->length = bar_size + 1;
}
static void alloc_too_big2(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->length = 1ULL << 62;
}
static void alloc_placement(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->placement = 7;
}
static void alloc_host(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->placement = P2PBAR_PLACEMENT_HOST;
}
static void alloc_align3(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->align = 3 << 12;
}
static void alloc_align_big(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_alloc *)p)->align = 1ULL << 63;
}
static void bi_fd_neg(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_buf_info *)p)->fd = -1;
}
static void bi_fd_closed(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_buf_info *)p)->fd = 1000;
}
static void bi_fd_devnull(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_buf_info *)p)->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}
static void bi_fd_self(void *p, int dev)
{
	((struct p2pbar_buf_info *)p)->fd = dev;
}
static void bi_reserved(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_buf_info *)p)->reserved = 1;
}
static void bi_pad(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_buf_info *)p)->__pad = 1;
}
static void info_argsz_max(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_info *)p)->argsz = P2PBAR_ARGSZ_MAX; /* zero tail */
}
static void info_argsz_max1(void *p, int dev)
{
	(void)dev;
	((struct p2pbar_info *)p)->argsz = P2PBAR_ARGSZ_MAX + 1;
}
static void bi_ok(void *p, int dev)
{
	(void)dev;
	(void)p;
}

static const struct bad bad_table[] = {
	{ "INFO flags", P2PBAR_IOCTL_INFO, EINVAL, set_p2pbar_info_flags },
	{ "INFO padding", P2PBAR_IOCTL_INFO, EINVAL, set_p2pbar_info___pad },
	{ "INFO argsz 0", P2PBAR_IOCTL_INFO, EINVAL, set_p2pbar_info_argsz },
	{ "INFO short struct", P2PBAR_IOCTL_INFO, EINVAL, info_short },
	{ "ALLOC valid", P2PBAR_IOCTL_ALLOC, 0, alloc_ok },
	{ "ALLOC unknown flag", P2PBAR_IOCTL_ALLOC, EINVAL, set_p2pbar_alloc_flags },
	{ "ALLOC reserved", P2PBAR_IOCTL_ALLOC, EINVAL, alloc_reserved },
	{ "ALLOC short struct", P2PBAR_IOCTL_ALLOC, EINVAL, alloc_short },
	{ "ALLOC argsz 1 MiB", P2PBAR_IOCTL_ALLOC, E2BIG, alloc_huge_argsz },
	{ "ALLOC zero length", P2PBAR_IOCTL_ALLOC, EINVAL, set_p2pbar_alloc_length },
	{ "ALLOC length ~0", P2PBAR_IOCTL_ALLOC, EOVERFLOW, alloc_overflow },
	{ "ALLOC length rounds past 2^64", P2PBAR_IOCTL_ALLOC, EOVERFLOW, alloc_overflow2 },
	{ "ALLOC BAR size + 1", P2PBAR_IOCTL_ALLOC, E2BIG, alloc_too_big },
	{ "ALLOC 2^62", P2PBAR_IOCTL_ALLOC, E2BIG, alloc_too_big2 },
	{ "ALLOC unknown placement", P2PBAR_IOCTL_ALLOC, EINVAL, alloc_placement },
	{ "ALLOC placement HOST", P2PBAR_IOCTL_ALLOC, 0, alloc_host },
	{ "ALLOC align not 2^n", P2PBAR_IOCTL_ALLOC, EINVAL, alloc_align3 },
	{ "ALLOC align 2^63", P2PBAR_IOCTL_ALLOC, E2BIG, alloc_align_big },
	{ "BUF_INFO valid", P2PBAR_IOCTL_BUF_INFO, 0, bi_ok },
	{ "BUF_INFO fd -1", P2PBAR_IOCTL_BUF_INFO, EBADF, bi_fd_neg },
	{ "BUF_INFO closed fd", P2PBAR_IOCTL_BUF_INFO, EBADF, bi_fd_closed },
	{ "BUF_INFO /dev/null", P2PBAR_IOCTL_BUF_INFO, EINVAL, bi_fd_devnull },
	{ "BUF_INFO the p2pbar fd", P2PBAR_IOCTL_BUF_INFO, EINVAL, bi_fd_self },
	{ "BUF_INFO flags", P2PBAR_IOCTL_BUF_INFO, EINVAL, set_p2pbar_buf_info_flags },
	{ "BUF_INFO reserved", P2PBAR_IOCTL_BUF_INFO, EINVAL, bi_reserved },
	{ "BUF_INFO padding", P2PBAR_IOCTL_BUF_INFO, EINVAL, bi_pad },
	{ "INFO argsz P2PBAR_ARGSZ_MAX", P2PBAR_IOCTL_INFO, 0, info_argsz_max },
	{ "INFO argsz P2PBAR_ARGSZ_MAX + 1", P2PBAR_IOCTL_INFO, E2BIG, info_argsz_max1 },
};

static void check(const char *what, int rc, int want)
{
	int got = rc ? errno : 0;

	if (got != want)
		fail("%s: got %s (%d), want %s (%d)", what, got ? strerror(got) : "success", got,
		     want ? strerror(want) : "success", want);
	printf("ok: %-32s -> %s\n", what, want ? strerror(want) : "success");
}

T_CASE(case_badinput, "badinput", 0, "")
{
	int dev = open_dev();
	union {
		struct p2pbar_info i;
		struct p2pbar_alloc a;
		struct p2pbar_buf_info b;
		char raw[P2PBAR_ARGSZ_MAX];
	} u;
	struct p2pbar_alloc a;
	size_t i;
	void *m;

	bar_size = t_info(dev).bar_size;
	a = alloc_buf(dev, 3 * page);
	dmabuf_fd = a.fd;

	for (i = 0; i < sizeof(bad_table) / sizeof(bad_table[0]); i++) {
		const struct bad *t = &bad_table[i];

		memset(&u, 0, sizeof(u));
		if (t->cmd == P2PBAR_IOCTL_INFO) {
			u.i.argsz = sizeof(u.i);
		} else if (t->cmd == P2PBAR_IOCTL_ALLOC) {
			u.a.argsz = sizeof(u.a);
			u.a.length = page;
		} else {
			u.b.argsz = sizeof(u.b);
			u.b.fd = dmabuf_fd;
		}
		t->set(&u, dev);
		check(t->what, ioctl(dev, t->cmd, &u), t->want);
		if (t->cmd == P2PBAR_IOCTL_ALLOC && !t->want)
			close(u.a.fd);
	}

	/* Versioning: a longer struct with a zero tail is fine, else E2BIG. */
	memset(&u, 0, sizeof(u));
	u.i.argsz = sizeof(u.i) + 64;
	check("INFO longer struct, zero tail", ioctl(dev, P2PBAR_IOCTL_INFO, &u), 0);
	u.raw[sizeof(u.i) + 8] = 1;
	u.i.argsz = sizeof(u.i) + 64;
	check("INFO longer struct, non-zero tail", ioctl(dev, P2PBAR_IOCTL_INFO, &u), E2BIG);
	check("INFO bad pointer", ioctl(dev, P2PBAR_IOCTL_INFO, (void *)16), EFAULT);

	/*
	 * ALLOC whose result cannot be written back (read-only struct): the
	 * buffer must be torn down and no fd installed (CVE-2025-38722).
	 */
	{
		struct p2pbar_alloc *ro = mmap(NULL, page, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int probe, next;

		if (ro == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
		ro->argsz = sizeof(*ro);
		ro->length = page;
		mprotect(ro, page, PROT_READ);
		probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
		close(probe);
		check("ALLOC into a read-only struct", ioctl(dev, P2PBAR_IOCTL_ALLOC, ro), EFAULT);
		next = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (next != probe)
			fail("failed ALLOC left fd %d behind", probe);
		close(next);
		munmap(ro, page);
		expect_used(dev, 3 * page, 1, "after the failed ALLOC");
	}
	check("unknown ioctl nr", ioctl(dev, _IO(P2PBAR_IOCTL_TYPE, 0x7f), &u), ENOTTY);
	check("foreign ioctl", ioctl(dev, _IOWR('x', 1, int), &u), ENOTTY);
	check("ioctl on the dma-buf", ioctl(dmabuf_fd, P2PBAR_IOCTL_INFO, &u), ENOTTY);

	/* mmap: bounds, offset, private mappings. */
	errno = 0;
	m = mmap(NULL, 4 * page, PROT_READ, MAP_SHARED, dmabuf_fd, 0);
	check("mmap past the end", m == MAP_FAILED, EINVAL);
	m = mmap(NULL, page, PROT_READ, MAP_SHARED, dmabuf_fd, 3 * page);
	check("mmap at offset = size", m == MAP_FAILED, EINVAL);
	m = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, dmabuf_fd, 2 * page);
	check("mmap straddling the end", m == MAP_FAILED, EINVAL);
	m = mmap(NULL, page, PROT_READ, MAP_SHARED, dmabuf_fd, 1ULL << 40);
	check("mmap at a huge offset", m == MAP_FAILED, EINVAL);
	m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, dmabuf_fd, 0);
	check("mmap MAP_PRIVATE", m == MAP_FAILED, EINVAL);
	m = mmap(NULL, page, PROT_READ, MAP_SHARED, dmabuf_fd, page);
	check("mmap the middle page", m == MAP_FAILED, 0);
	munmap(m, page);
	close(dmabuf_fd);
	expect_used(dev, 0, 0, "after the bad-input table");
	printf("RESULT: every bad ioctl and mmap got its errno; nothing leaked\n");
	return 0;
}

T_CASE(case_enospc, "enospc", 0, "")
{
	int dev = open_dev();
	struct p2pbar_info in = t_info(dev);
	uint64_t chunk = in.bar_size / 16;
	int fds[64], n, round, rc, j;

	for (round = 0; round < 2; round++) {
		for (n = 0; n < 64; n++) {
			rc = try_alloc(dev, chunk, 0, NULL);
			if (rc < 0)
				break;
			fds[n] = rc;
		}
		if (rc != -ENOSPC || n != 16)
			fail("round %d: %d buffers of %" PRIu64 ", then %s", round, n, chunk,
			     strerror(-rc));
		rc = try_alloc(dev, page, 0, NULL);
		if (rc != -ENOSPC)
			fail("a page still fits in a full BAR: %d", rc);
		expect_used(dev, in.bar_size, 16, "full");
		/* Free every other one, then the rest: coalescing. */
		for (j = 0; j < n; j += 2)
			close(fds[j]);
		rc = try_alloc(dev, 2 * chunk, 0, NULL);
		if (rc != -ENOSPC)
			fail("fragmented BAR gave a 2-chunk buffer: %d", rc);
		for (j = 1; j < n; j += 2)
			close(fds[j]);
		expect_used(dev, 0, 0, "after freeing everything");
	}
	rc = try_alloc(dev, in.bar_size, in.max_align, NULL);
	if (rc < 0)
		fail("whole-BAR buffer: %s", strerror(-rc));
	close(rc);
	expect_used(dev, 0, 0, "after the whole-BAR buffer");
	printf("RESULT: BAR filled to ENOSPC twice (16 x %" PRIu64
	       " bytes), full capacity back after frees, whole-BAR buffer ok\n",
	       chunk);
	return 0;
}

/*
 * Order bits: 1 = parent closes its fd before the child gets it,
 * 2 = parent unmaps before the child is done, 4 = the child keeps its
 * mapping (exits without munmap/close).
 */
static void share_once(int dev, int order)
{
	uint64_t len = 4 * page;
	struct p2pbar_alloc a = alloc_buf(dev, len);
	volatile uint64_t *m = map_buf(a.fd, len);
	int sv[2], st;
	char go;
	pid_t pid;

	m[0] = 0x1234 + order;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail("socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		int fd;
		volatile uint64_t *cm;

		close(sv[0]);
		fd = recv_fd(sv[1]);
		cm = map_buf(fd, len);
		if (cm[0] != 0x1234 + (uint64_t)order)
			_exit(3);
		cm[1] = 0x5678;
		if (write(sv[1], "d", 1) != 1)
			_exit(4);
		if (read(sv[1], &go, 1) != 1)
			_exit(5);
		if (!(order & 4)) {
			munmap((void *)cm, len);
			close(fd);
		}
		_exit(0);
	}
	close(sv[1]);
	send_fd(sv[0], a.fd);
	if (order & 1)
		close(a.fd);
	if (read(sv[0], &go, 1) != 1)
		fail("child died");
	if (m[1] != 0x5678)
		fail("parent does not see the child's write");
	if (order & 2)
		munmap((void *)m, len);
	if (write(sv[0], "g", 1) != 1)
		fail("write to child");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("order %d: child failed (status %#x)", order, st);
	if (!(order & 2))
		munmap((void *)m, len);
	if (!(order & 1))
		close(a.fd);
	close(sv[0]);
	expect_used(dev, 0, 0, "after sharing");
}

T_CASE(case_share, "share", 0, "")
{
	int dev = open_dev(), order;

	for (order = 0; order < 8; order++)
		share_once(dev, order);
	printf("RESULT: dma-buf passed over SCM_RIGHTS to a forked child, "
	       "closed/unmapped in 8 orders: BAR usage back to 0 each time\n");
	return 0;
}

static sigjmp_buf jb;
static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

T_CASE(case_unbind, "unbind", 1, "PCI")
{
	int dev = open_dev();
	struct p2pbar_alloc a, b;
	struct p2pbar_info in = { .argsz = sizeof(in) };
	volatile uint64_t *m;
	volatile uint64_t v = 0;
	void *m2;
	int rc;

	a = alloc_buf(dev, 2 * page);
	b = alloc_buf(dev, page);
	m = map_buf(a.fd, 2 * page);
	m[0] = 42; /* page 0 mapped, page 1 not yet faulted */

	sysfs_write("/sys/bus/pci/drivers/p2pbar/unbind", argv[0]);

	signal(SIGBUS, on_sigbus);
	if (!sigsetjmp(jb, 1)) {
		v = m[0];
		fail("read of a zapped mapping returned %" PRIu64, (uint64_t)v);
	}
	if (!sigsetjmp(jb, 1)) {
		m[page / 8] = 1;
		fail("write to an unfaulted page after unbind succeeded");
	}
	printf("ok: %-32s -> SIGBUS\n", "CPU access after unbind");
	signal(SIGBUS, SIG_DFL);
	m2 = mmap(NULL, page, PROT_READ, MAP_SHARED, b.fd, 0);
	check("mmap after unbind", m2 == MAP_FAILED, ENODEV);
	check("INFO after unbind", ioctl(dev, P2PBAR_IOCTL_INFO, &in), ENODEV);
	rc = try_alloc(dev, page, 0, NULL);
	errno = rc < 0 ? -rc : 0;
	check("ALLOC after unbind", rc < 0, ENODEV);
	munmap((void *)m, 2 * page);
	close(a.fd);
	close(b.fd);
	close(dev);

	sysfs_write("/sys/bus/pci/drivers/p2pbar/bind", argv[0]);
	printf("RESULT: unbind with live buffers and mappings: SIGBUS on CPU "
	       "access, ENODEV on mmap/ioctl, no oops\n");
	return 0;
}

static __thread sigjmp_buf race_jb;
static void on_race_sigbus(int sig)
{
	(void)sig;
	siglongjmp(race_jb, 1);
}

struct race_arg {
	int dev;
	volatile int stop;
	long ops, sigbus, enodev;
	int err;
};

/* Allocate, map, touch, free until told to stop; count clean failures. */
static void *race_thread(void *p)
{
	struct race_arg *r = p;

	while (!r->stop) {
		struct p2pbar_alloc a;
		volatile uint64_t *m;
		int fd = try_alloc(r->dev, 4 * page, 0, &a);

		if (fd == -ENODEV) {
			r->enodev++;
			break;
		}
		if (fd < 0) {
			r->err = -fd;
			break;
		}
		m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			if (errno != ENODEV)
				r->err = errno;
			else
				r->enodev++;
			close(fd);
			continue;
		}
		if (!sigsetjmp(race_jb, 1)) {
			for (int i = 0; i < 4; i++)
				m[i * page / 8] = i;
		} else {
			r->sigbus++;
		}
		munmap((void *)m, 4 * page);
		close(fd);
		r->ops++;
	}
	return NULL;
}

T_CASE(case_unbind_race, "unbind-race", 1, "PCI")
{
	struct race_arg r[4];
	pthread_t t[4];
	long ops = 0, bus = 0, nodev = 0;
	int dev = open_dev(), i;

	signal(SIGBUS, on_race_sigbus);
	for (i = 0; i < 4; i++) {
		r[i] = (struct race_arg){ .dev = dev };
		if (pthread_create(&t[i], NULL, race_thread, &r[i]))
			fail("pthread_create");
	}
	usleep(300 * 1000);
	sysfs_write("/sys/bus/pci/drivers/p2pbar/unbind", argv[0]);
	usleep(100 * 1000);
	for (i = 0; i < 4; i++) {
		r[i].stop = 1;
		pthread_join(t[i], NULL);
		if (r[i].err)
			fail("thread %d: %s", i, strerror(r[i].err));
		ops += r[i].ops;
		bus += r[i].sigbus;
		nodev += r[i].enodev;
	}
	signal(SIGBUS, SIG_DFL);
	close(dev);
	sysfs_write("/sys/bus/pci/drivers/p2pbar/bind", argv[0]);
	printf("RESULT: unbind during 4 threads of alloc/mmap/touch/free: %ld "
	       "rounds, %ld SIGBUS, %ld ENODEV, no other error\n",
	       ops, bus, nodev);
	return 0;
}

struct stress_arg {
	int dev;
	unsigned int seed;
	int err;
};

static void *stress_thread(void *p)
{
	struct stress_arg *s = p;
	int fds[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	int i, rc;

	for (i = 0; i < 400; i++) {
		int k = rand_r(&s->seed) % 8;

		if (fds[k] >= 0) {
			close(fds[k]);
			fds[k] = -1;
			continue;
		}
		rc = try_alloc(s->dev, (1 + rand_r(&s->seed) % 16) * page,
			       page << (rand_r(&s->seed) % 4), NULL);
		if (rc >= 0)
			fds[k] = rc;
		else if (rc != -ENOSPC)
			s->err = -rc;
	}
	for (i = 0; i < 8; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

T_CASE(case_stress, "stress", 0, "")
{
	int dev = open_dev(), i;
	pthread_t t[8];
	struct stress_arg s[8];

	for (i = 0; i < 8; i++) {
		s[i] = (struct stress_arg){ .dev = dev, .seed = i + 1 };
		if (pthread_create(&t[i], NULL, stress_thread, &s[i]))
			fail("pthread_create");
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		if (s[i].err)
			fail("thread %d: %s", i, strerror(s[i].err));
	}
	expect_used(dev, 0, 0, "after the threads");
	printf("RESULT: 8 threads x 400 alloc/free with mixed sizes and "
	       "alignments: no error, BAR usage back to 0\n");
	return 0;
}

static int file_has(const char *path, const char *needle)
{
	static char text[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		fail("%s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	return strstr(text, needle) != NULL;
}

T_CASE(case_bufinfo, "bufinfo", 0, "")
{
	int dev = open_dev();
	struct p2pbar_alloc a = alloc_buf(dev, 5 * page);
	char want[64];

	/* bufinfo lines: size flags mode count exp_name ino name */
	snprintf(want, sizeof(want), "%08" PRIu64, (uint64_t)a.length);
	if (!file_has("/sys/kernel/debug/dma_buf/bufinfo", "p2pbar") ||
	    !file_has("/sys/kernel/debug/dma_buf/bufinfo", want))
		fail("buffer of %s bytes with exp_name p2pbar not in bufinfo", want);
	close(a.fd);
	printf("RESULT: a live buffer is listed with exp_name p2pbar in "
	       "/sys/kernel/debug/dma_buf/bufinfo\n");
	return 0;
}

/* Send one command to the test importer, print its results. */
/* The BAR's CPU address, from the PCI function's resource file. */
static uint64_t bar_start(int dev)
{
	char path[256], line[256];
	uint64_t start = 0;
	unsigned int i;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/p2pbar/%s/device/resource",
		 strrchr(dev_path, '/') + 1);
	f = fopen(path, "r");
	if (!f)
		fail("%s: %s", path, strerror(errno));
	for (i = 0; i <= t_info(dev).bar_index; i++)
		if (!fgets(line, sizeof(line), f) || sscanf(line, "%" SCNx64, &start) != 1)
			fail("%s: no BAR %u", path, i);
	fclose(f);
	return start;
}

T_CASE(case_selftest, "selftest", 0, "")
{
	int dev = open_dev();
	/* Not a multiple of the small importer's 64 KiB segments. */
	struct p2pbar_alloc a = alloc_buf(dev, (5 << 20) + 3 * page);
	struct p2pbar_alloc m;
	char cmd[64];

	/* Device-only: importers without P2P are refused. */
	snprintf(cmd, sizeof(cmd), "runfixed %d %" PRIx64, a.fd,
		 bar_start(dev) + (uint64_t)a.offset);
	selftest_cmd(cmd, 11);
	close(a.fd);
	/* Movable: they get HOST pages, a P2P map brings it back. */
	if (try_alloc_flags(dev, (5 << 20) + 3 * page, 0, 0, &m) < 0)
		fail("ALLOC movable: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd), "run %d %" PRIx64, m.fd, bar_start(dev) + (uint64_t)m.offset);
	selftest_cmd(cmd, 13);
	close(m.fd);
	expect_used(dev, 0, 0, "after the importer cases");
	printf("RESULT: in-kernel importer: dynamic map/remap, pin, 64 KiB segments, "
	       "16 attachments, 4 threads, vmap; static/no-P2P refused on a device-only "
	       "buffer, served from HOST on a movable one (watcher notified; segments "
	       "within a 64 KiB boundary), back to DEVICE on a P2P map\n");
	return 0;
}

T_CASE(case_selftest_big, "selftest-big", 0, "")
{
	int dev = open_dev();
	uint64_t len = (4ULL << 30) + page;
	/* A page in front, so the big buffer does not start at offset 0. */
	struct p2pbar_alloc first = alloc_buf(dev, page);
	struct p2pbar_alloc a = alloc_buf(dev, len);
	volatile uint64_t *m = map_buf(a.fd, len);
	char cmd[64];

	if (!a.offset)
		fail("big buffer at offset 0 despite the page in front");
	/* Both ends of the buffer, across the 4 GiB segment boundary. */
	if (m[0] || m[len / 8 - 1] || m[(4ULL << 30) / 8])
		fail("huge buffer not zeroed");
	m[len / 8 - 1] = 0xabcdef;
	munmap((void *)m, len);
	snprintf(cmd, sizeof(cmd), "map %d %" PRIx64, a.fd, bar_start(dev) + (uint64_t)a.offset);
	selftest_cmd(cmd, 3);
	close(a.fd);
	close(first.fd);
	expect_used(dev, 0, 0, "after the huge buffer");
	printf("RESULT: a buffer of 4 GiB + 1 page maps as segments below "
	       "4 GiB (sg_dma_len is 32-bit), first at the buffer's start\n");
	return 0;
}

T_CASE(case_selftest_gone, "selftest-gone", 1, "PCI")
{
	int dev = open_dev();
	struct p2pbar_alloc a = alloc_buf(dev, 2 * page);
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "hold %d", a.fd);
	selftest_cmd(cmd, 1);
	close(a.fd); /* the importer's reference keeps the buffer */
	close(dev);
	sysfs_write("/sys/bus/pci/drivers/p2pbar/unbind", argv[0]);
	selftest_cmd("gone", 3);
	sysfs_write("/sys/bus/pci/drivers/p2pbar/bind", argv[0]);
	printf("RESULT: an importer holding an attachment across unbind gets "
	       "move_notify, -ENODEV from map, a harmless vmap, then lets go "
	       "cleanly\n");
	return 0;
}

int main(int argc, char **argv)
{
	return t_main(&exporter_program, argc, argv);
}
