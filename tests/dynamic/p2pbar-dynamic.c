// SPDX-License-Identifier: MIT
/*
 * p2pbar-dynamic: placements, migration and eviction, run in a guest by
 * tests/dynamic/dynamic.sh. usage: p2pbar-dynamic CASE /dev/p2pbarN
 *   oversub   2x the BAR in movable buffers, a pattern each, touched and
 *             moved in random order; every byte verified, evictions counted
 *   mmap      one mmap'd pointer across 100 migrations: content and
 *             pointer stay valid, writes in either placement persist
 *   migrate-errors  MIGRATE's bad input and refusals (FIXED, HOST + FIXED)
 *   pinned    with p2pbar_selftest.ko: an importer's pin blocks migration
 *             and eviction; a held map pins on a stock kernel (no
 *             CONFIG_DMABUF_MOVE_NOTIFY) and is revoked by move_notify on
 *             one with it; a static importer pins HOST
 *   reset     RESET revokes every buffer: the importer is notified and
 *             its map fails with ENODEV, CPU mappings SIGBUS, MIGRATE and
 *             mmap ENODEV, the BAR is free for new buffers at once
 *   concurrent  migrations in parallel: one thread per buffer moving it
 *             back and forth and writing it through its mapping, and two
 *             threads moving one shared buffer in opposite directions
 *             while it is read; every byte verified after each move
 * Prints RESULT: lines with the figures; exits non-zero on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/p2pbar.h>

#include "p2pbar_pattern.h"
#include "t_harness.h"
#include "t_p2pbar.h"

#define ST_CONTROL "/sys/kernel/debug/p2pbar_selftest/control"

static int dev;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The device's counters (sysfs) the cases compare before and after. */
struct counters {
	uint64_t bar_size, used, buffers, evictions, migrations, bytes_moved;
};

static struct counters counters(void)
{
	return (struct counters){
		.bar_size = t_counter(dev, "bar_size"),
		.used = t_counter(dev, "used"),
		.buffers = t_counter(dev, "buffers"),
		.evictions = t_counter(dev, "evictions"),
		.migrations = t_counter(dev, "migrations"),
		.bytes_moved = t_counter(dev, "bytes_moved"),
	};
}

static int alloc(uint64_t len, uint32_t placement, uint32_t flags)
{
	struct p2pbar_alloc a = {
		.argsz = sizeof(a), .flags = flags, .length = len, .placement = placement
	};

	if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
		fail("ALLOC %" PRIu64 " in %u flags %#x: %s", len, placement, flags,
		     strerror(errno));
	return a.fd;
}

static int migrate(int fd, uint32_t placement)
{
	struct p2pbar_migrate m = { .argsz = sizeof(m), .fd = fd, .placement = placement };

	return ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) ? -errno : 0;
}

static void must_migrate(int fd, uint32_t placement)
{
	int rc = migrate(fd, placement);

	if (rc)
		fail("MIGRATE fd %d to %u: %s", fd, placement, strerror(-rc));
}

static uint64_t *map(int fd, uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	return p;
}

static void fill(volatile uint64_t *m, uint64_t len, uint64_t seed)
{
	for (uint64_t i = 0; i < len / 8; i++)
		m[i] = p2pbar_pattern_word(seed, i);
}

static void verify(const volatile uint64_t *m, uint64_t len, uint64_t seed, const char *what)
{
	for (uint64_t i = 0; i < len / 8; i++)
		if (m[i] != p2pbar_pattern_word(seed, i))
			fail("%s: word %" PRIu64 " is %#" PRIx64 ", want %#" PRIx64, what, i, m[i],
			     p2pbar_pattern_word(seed, i));
}

#define NBUF 16

T_CASE(case_oversub, "oversub", 0, "")
{
	struct counters i0 = counters(), i1;
	uint64_t len = i0.bar_size / (NBUF / 2), moved;
	unsigned int seed = 42;
	int fds[NBUF], ndev = 0, refused = 0;
	uint64_t *m[NBUF];
	double t0, dt;
	char what[64];

	t0 = now();
	for (int b = 0; b < NBUF; b++) {
		fds[b] = alloc(len, P2PBAR_PLACEMENT_DEVICE, 0);
		m[b] = map(fds[b], len);
		fill(m[b], len, b + 1);
	}
	/* Random touches; a third of them also pull the buffer into DEVICE. */
	for (int k = 0; k < 4 * NBUF; k++) {
		int b = rand_r(&seed) % NBUF;
		uint64_t w = rand_r(&seed) % (len / 8);

		if (m[b][w] != p2pbar_pattern_word(b + 1, w))
			fail("buffer %d word %" PRIu64 " wrong after eviction", b, w);
		if (k % 3 == 0) {
			int rc = migrate(fds[b], P2PBAR_PLACEMENT_DEVICE);

			if (rc && rc != -EBUSY)
				fail("MIGRATE buffer %d to DEVICE: %s", b, strerror(-rc));
			refused += rc != 0;
		}
	}
	dt = now() - t0;
	for (int b = 0; b < NBUF; b++) {
		snprintf(what, sizeof(what), "buffer %d (%s)", b,
			 t_buf_info(dev, fds[b]).placement ? "host" : "device");
		ndev += t_buf_info(dev, fds[b]).placement == P2PBAR_PLACEMENT_DEVICE;
		verify(m[b], len, b + 1, what);
	}
	i1 = counters();
	moved = i1.bytes_moved - i0.bytes_moved;
	if (i1.evictions - i0.evictions < NBUF / 2)
		fail("%" PRIu64 " evictions for %d buffers of 1/%d BAR",
		     (uint64_t)(i1.evictions - i0.evictions), NBUF, NBUF / 2);
	if (ndev > NBUF / 2 || i1.used > i1.bar_size)
		fail("%d buffers in DEVICE, used %" PRIu64, ndev, (uint64_t)i1.used);
	for (int b = 0; b < NBUF; b++) {
		munmap(m[b], len);
		close(fds[b]);
	}
	if (counters().used || counters().buffers)
		fail("BAR not empty after closing everything");
	printf("RESULT: oversubscribed BAR 2x (%d x %" PRIu64 " KiB): every byte verified, "
	       "%" PRIu64 " evictions, %" PRIu64 " migrations, %d buffers in DEVICE at the end, "
	       "%d migrations refused busy\n",
	       NBUF, len >> 10, (uint64_t)(i1.evictions - i0.evictions),
	       (uint64_t)(i1.migrations - i0.migrations), ndev, refused);
	printf("RESULT: oversubscribe phase moved %.1f MiB in %.2f s (%.1f MiB/s, fill and "
	       "touch included)\n",
	       moved / 1048576.0, dt, moved / 1048576.0 / dt);
	return 0;
}

#define NMIG 100

/* MiB/s of MIGRATE per direction, on a 16 MiB buffer (a figure, not a test). */
static void move_bench(void)
{
	const uint64_t len = 16 << 20;
	int fd = alloc(len, P2PBAR_PLACEMENT_DEVICE, 0);
	double t[2] = { 0, 0 }, t0;

	for (int k = 0; k < 10; k++) {
		for (uint32_t to = P2PBAR_PLACEMENT_DEVICE; to <= P2PBAR_PLACEMENT_HOST; to++) {
			uint32_t dir = to == P2PBAR_PLACEMENT_DEVICE ? P2PBAR_PLACEMENT_HOST
								     : P2PBAR_PLACEMENT_DEVICE;

			t0 = now();
			must_migrate(fd, dir);
			t[dir] += now() - t0;
		}
	}
	close(fd);
	printf("| move | MiB | s | MiB/s |\n| --- | --- | --- | --- |\n");
	printf("| DEVICE -> HOST | 160 | %.2f | %.1f |\n", t[1], 160 / t[1]);
	printf("| HOST -> DEVICE | 160 | %.2f | %.1f |\n", t[0], 160 / t[0]);
	printf("RESULT: MIGRATE throughput (16 MiB buffer, 10 round trips): DEVICE->HOST "
	       "%.1f MiB/s, HOST->DEVICE %.1f MiB/s\n",
	       160 / t[1], 160 / t[0]);
}

T_CASE(case_mmap, "mmap", 0, "")
{
	uint64_t len = 1 << 20;
	int fd = alloc(len, P2PBAR_PLACEMENT_DEVICE, 0);
	uint64_t *m = map(fd, len), *before = m;
	struct counters i0 = counters();
	double t0, dt = 0;

	fill(m, len, 7);
	for (int k = 0; k < NMIG; k++) {
		uint32_t to = k % 2 ? P2PBAR_PLACEMENT_DEVICE : P2PBAR_PLACEMENT_HOST;
		struct p2pbar_buf_info b;

		t0 = now();
		must_migrate(fd, to);
		dt += now() - t0;
		b = t_buf_info(dev, fd);
		if (b.placement != to || b.moves != (uint64_t)k + 1)
			fail("after migration %d: placement %u moves %" PRIu64, k, b.placement,
			     (uint64_t)b.moves);
		/* Spot checks through the same pointer, and a write that must stick. */
		if (m[0] != p2pbar_pattern_word(7, 0) ||
		    m[len / 8 - 1] != p2pbar_pattern_word(7, len / 8 - 1))
			fail("after migration %d: content changed", k);
		m[k + 1] = ~p2pbar_pattern_word(7, k + 1);
		if (m[k + 1] != ~p2pbar_pattern_word(7, k + 1))
			fail("after migration %d: write did not stick", k);
		m[k + 1] = p2pbar_pattern_word(7, k + 1);
	}
	verify(m, len, 7, "after 100 migrations");
	if (m != before)
		fail("pointer changed");
	printf("RESULT: mmap pointer valid across %d migrations DEVICE<->HOST, content "
	       "verified; %" PRIu64 " bytes moved at %.1f MiB/s (MIGRATE ioctl, 1 MiB buffer)\n",
	       NMIG, (uint64_t)(counters().bytes_moved - i0.bytes_moved),
	       (counters().bytes_moved - i0.bytes_moved) / 1048576.0 / dt);
	munmap(m, len);
	close(fd);
	move_bench();
	return 0;
}

#define NCONC	   4
#define CONC_LEN   (2 << 20)
#define CONC_MOVES 20

struct conc {
	int fd;
	uint32_t first; /* the placement this thread moves to first */
	uint64_t seed;
	volatile uint64_t *m;
	int own; /* the buffer is this thread's: it rewrites it */
};

/*
 * One thread: CONC_MOVES moves of its buffer, alternating from ->first.
 * An own buffer is rewritten with a new seed after each move and checked
 * before the next; the shared one is only read (its pattern never changes).
 */
static void *conc_thread(void *arg)
{
	struct conc *c = arg;
	uint64_t seed = c->seed;

	for (int k = 0; k < CONC_MOVES; k++) {
		uint32_t to = (c->first + k) % 2;
		int rc = migrate(c->fd, to);

		if (rc)
			fail("concurrent MIGRATE fd %d to %u: %s", c->fd, to, strerror(-rc));
		verify(c->m, CONC_LEN, seed,
		       c->own ? "own buffer after a move" : "shared buffer after a move");
		if (c->own) {
			seed = c->seed + k + 1;
			fill(c->m, CONC_LEN, seed);
		}
	}
	c->seed = seed;
	return NULL;
}

T_CASE(case_concurrent, "concurrent", 0, "")
{
	struct conc c[NCONC + 2];
	pthread_t t[NCONC + 2];
	struct counters i0 = counters(), i1;
	uint64_t *shared;
	int sfd;

	for (int b = 0; b < NCONC; b++) {
		c[b].fd = alloc(CONC_LEN, P2PBAR_PLACEMENT_DEVICE, 0);
		c[b].m = map(c[b].fd, CONC_LEN);
		c[b].first = P2PBAR_PLACEMENT_HOST;
		c[b].seed = 100 * (b + 1);
		c[b].own = 1;
		fill(c[b].m, CONC_LEN, c[b].seed);
	}
	sfd = alloc(CONC_LEN, P2PBAR_PLACEMENT_DEVICE, 0);
	shared = map(sfd, CONC_LEN);
	fill(shared, CONC_LEN, 99);
	for (int b = NCONC; b < NCONC + 2; b++) {
		c[b].fd = sfd;
		c[b].m = shared;
		c[b].first = b == NCONC ? P2PBAR_PLACEMENT_HOST : P2PBAR_PLACEMENT_DEVICE;
		c[b].seed = 99;
		c[b].own = 0;
	}
	for (int b = 0; b < NCONC + 2; b++)
		if (pthread_create(&t[b], NULL, conc_thread, &c[b]))
			fail("pthread_create");
	for (int b = 0; b < NCONC + 2; b++)
		pthread_join(t[b], NULL);
	for (int b = 0; b < NCONC; b++) {
		verify(c[b].m, CONC_LEN, c[b].seed, "own buffer at the end");
		munmap((void *)c[b].m, CONC_LEN);
		close(c[b].fd);
	}
	verify(shared, CONC_LEN, 99, "shared buffer at the end");
	munmap(shared, CONC_LEN);
	close(sfd);
	i1 = counters();
	/* Own buffers move every time; the shared one at least once. */
	if (i1.migrations - i0.migrations < (uint64_t)NCONC * CONC_MOVES + 1)
		fail("%" PRIu64 " migrations, want at least %d",
		     (uint64_t)(i1.migrations - i0.migrations), NCONC * CONC_MOVES + 1);
	if (i1.used || i1.buffers)
		fail("leak after the concurrent moves");
	printf("RESULT: %d threads moved their own %d MiB buffers %d times each and 2 threads "
	       "one shared buffer in opposite directions: %" PRIu64 " migrations, every "
	       "byte verified\n",
	       NCONC, CONC_LEN >> 20, CONC_MOVES, (uint64_t)(i1.migrations - i0.migrations));
	return 0;
}

static void expect(const char *what, int rc, int want)
{
	if (rc != -want)
		fail("%s: got %s, want %s", what, rc ? strerror(-rc) : "success",
		     want ? strerror(want) : "success");
	printf("ok: %-40s -> %s\n", what, want ? strerror(want) : "success");
}

T_CASE(case_migrate_errors, "migrate-errors", 0, "")
{
	int fixed = alloc(8192, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	int hostonly = alloc(8192, P2PBAR_PLACEMENT_HOST, P2PBAR_ALLOC_FIXED);
	int fd = alloc(8192, P2PBAR_PLACEMENT_HOST, 0);
	struct p2pbar_migrate m = { .argsz = sizeof(m), .fd = fd, .placement = 0 };
	uint64_t *p = map(hostonly, 8192);

	expect("MIGRATE FIXED DEVICE to HOST", migrate(fixed, P2PBAR_PLACEMENT_HOST), EPERM);
	expect("MIGRATE FIXED HOST to DEVICE", migrate(hostonly, P2PBAR_PLACEMENT_DEVICE), EPERM);
	expect("MIGRATE FIXED to where it is", migrate(fixed, P2PBAR_PLACEMENT_DEVICE), 0);
	expect("MIGRATE placement 7", migrate(fd, 7), EINVAL);
	expect("MIGRATE fd -1", migrate(-1, 0), EBADF);
	expect("MIGRATE /dev/p2pbar fd", migrate(dev, 0), EINVAL);
	m.flags = 1;
	expect("MIGRATE flags", ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) ? -errno : 0, EINVAL);
	m.flags = 0;
	m.reserved[2] = 1;
	expect("MIGRATE reserved", ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) ? -errno : 0, EINVAL);
	m.reserved[2] = 0;
	m.argsz = 8;
	expect("MIGRATE short struct", ioctl(dev, P2PBAR_IOCTL_MIGRATE, &m) ? -errno : 0, EINVAL);
	expect("MIGRATE HOST buffer to DEVICE", migrate(fd, P2PBAR_PLACEMENT_DEVICE), 0);
	if (t_buf_info(dev, fd).placement != P2PBAR_PLACEMENT_DEVICE)
		fail("BUF_INFO does not show DEVICE after MIGRATE");
	if (t_buf_info(dev, hostonly).alloc_flags != P2PBAR_ALLOC_FIXED || p[0] || p[1023])
		fail("host-only buffer: flags %#x, not zeroed",
		     t_buf_info(dev, hostonly).alloc_flags);
	munmap(p, 8192);
	close(fixed);
	close(hostonly);
	close(fd);
	if (counters().used || counters().buffers)
		fail("leak after the error cases");
	printf("RESULT: MIGRATE rejects bad input and FIXED buffers with clear errnos\n");
	return 0;
}

/* Send a command to the test importer; its lines must all PASS. */
static void st(const char *fmt, int fd)
{
	char cmd[64], out[4096];
	ssize_t n;
	int f = open(ST_CONTROL, O_RDWR);

	snprintf(cmd, sizeof(cmd), fmt, fd);
	if (f < 0)
		fail("%s: %s", ST_CONTROL, strerror(errno));
	if (write(f, cmd, strlen(cmd)) < 0)
		fail("selftest %s: %s", cmd, strerror(errno));
	n = pread(f, out, sizeof(out) - 1, 0);
	close(f);
	out[n > 0 ? n : 0] = 0;
	fputs(out, stdout);
	if (n <= 0 || strstr(out, "FAIL"))
		fail("selftest %s", cmd);
}

/* How many move_notify calls the held attachment got. */
static int st_moves(void)
{
	char out[256];
	int f = open(ST_CONTROL, O_RDWR), n = -1;

	if (f < 0 || write(f, "moves", 5) != 5)
		fail("selftest moves: %s", strerror(errno));
	out[0] = 0;
	if (pread(f, out, sizeof(out) - 1, 0) > 0)
		sscanf(out, "PASS moves: %d", &n);
	close(f);
	if (n < 0)
		fail("selftest moves: %s", out);
	return n;
}

T_CASE(case_pinned, "pinned", 0, "")
{
	struct p2pbar_info in = t_info(dev);
	uint64_t half = in.bar_size / 2;
	int a = alloc(half, P2PBAR_PLACEMENT_DEVICE, 0), c, d, rc;
	int move_notify = !!(in.caps & P2PBAR_CAP_MOVE_NOTIFY);

	/* A pinned buffer is skipped by eviction and refuses MIGRATE. */
	st("hold-pin %d", a);
	c = alloc(half, P2PBAR_PLACEMENT_DEVICE, 0);
	d = alloc(half, P2PBAR_PLACEMENT_DEVICE, 0);
	if (t_buf_info(dev, a).placement != P2PBAR_PLACEMENT_DEVICE ||
	    t_buf_info(dev, a).pin_count != 1 ||
	    t_buf_info(dev, c).placement != P2PBAR_PLACEMENT_HOST)
		fail("eviction: pinned buffer in %u (pins %" PRIu64 "), victim in %u",
		     t_buf_info(dev, a).placement, (uint64_t)t_buf_info(dev, a).pin_count,
		     t_buf_info(dev, c).placement);
	expect("MIGRATE pinned buffer to HOST", migrate(a, P2PBAR_PLACEMENT_HOST), EBUSY);
	expect("MIGRATE evicts the unpinned buffer", migrate(c, P2PBAR_PLACEMENT_DEVICE), 0);
	if (t_buf_info(dev, d).placement != P2PBAR_PLACEMENT_HOST)
		fail("the unpinned buffer was not evicted for the migrate");
	st("drop", 0);
	expect("MIGRATE unpinned buffer to HOST", migrate(a, P2PBAR_PLACEMENT_HOST), 0);

	/* A held dynamic map: the fallback pin on stock kernels. */
	must_migrate(a, P2PBAR_PLACEMENT_DEVICE);
	st("hold-map %d", a);
	rc = migrate(a, P2PBAR_PLACEMENT_HOST);
	if (move_notify) {
		expect("MIGRATE mapped buffer (move-notify kernel)", rc, 0);
		st("moves", 0);
	} else {
		printf("stock kernel without CONFIG_DMABUF_MOVE_NOTIFY: the core pins on map\n");
		expect("MIGRATE mapped buffer (map pins: stock kernel)", rc, EBUSY);
		if (t_buf_info(dev, a).pin_count != 1)
			fail("mapped buffer not pinned on a stock kernel");
	}
	st("drop", 0);

	/*
	 * A held vmap: MIGRATE refuses before it tells any importer, so the
	 * vmapping importer's attachment sees no move_notify.
	 */
	st("hold-vmap %d", a);
	expect("MIGRATE vmapped buffer",
	       migrate(a, t_buf_info(dev, a).placement == P2PBAR_PLACEMENT_HOST
				  ? P2PBAR_PLACEMENT_DEVICE
				  : P2PBAR_PLACEMENT_HOST),
	       EBUSY);
	if (st_moves())
		fail("a MIGRATE that a vmap refuses notified the importer first");
	st("drop", 0);

	/* A static importer pins the buffer in HOST. */
	st("hold-static %d", a);
	if (t_buf_info(dev, a).placement != P2PBAR_PLACEMENT_HOST ||
	    t_buf_info(dev, a).pin_count != 1)
		fail("static importer: placement %u, pins %" PRIu64, t_buf_info(dev, a).placement,
		     (uint64_t)t_buf_info(dev, a).pin_count);
	expect("MIGRATE statically imported to DEVICE", migrate(a, P2PBAR_PLACEMENT_DEVICE), EBUSY);
	st("drop", 0);
	expect("MIGRATE after the static importer left", migrate(a, P2PBAR_PLACEMENT_DEVICE), 0);
	close(a);
	close(c);
	close(d);
	if (counters().used || counters().buffers)
		fail("leak after the pin cases");
	printf("RESULT: pins block eviction and MIGRATE (EBUSY); a held map %s; a static "
	       "importer pins HOST\n",
	       move_notify ? "is revoked by move_notify (move-notify kernel)"
			   : "pins (stock kernel's fallback)");
	return 0;
}

static sigjmp_buf jb;

static void on_sigbus(int sig)
{
	siglongjmp(jb, sig);
}

/* Read a word; returns the signal it raised (0 if none). */
static int touch(volatile uint64_t *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int sig;

	sigaction(SIGBUS, &sa, &old);
	sig = sigsetjmp(jb, 1);
	if (!sig)
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return sig;
}

T_CASE(case_reset, "reset", 0, "")
{
	struct p2pbar_info in = t_info(dev);
	uint64_t len = in.bar_size / 4;
	int a = alloc(len, P2PBAR_PLACEMENT_DEVICE, 0);
	int f = alloc(len, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	int h = alloc(len, P2PBAR_PLACEMENT_HOST, 0);
	uint64_t *ma = map(a, len), *mh = map(h, len);
	struct p2pbar_reset r = { .argsz = sizeof(r), .flags = 1 };
	int big;

	ma[0] = 1;
	mh[0] = 2;
	st("hold %d", a);
	expect("RESET flags", ioctl(dev, P2PBAR_IOCTL_RESET, &r) ? -errno : 0, EINVAL);
	r.flags = 0;
	expect("RESET", ioctl(dev, P2PBAR_IOCTL_RESET, &r) ? -errno : 0, 0);
	if (r.revoked != 3)
		fail("RESET revoked %" PRIu64 " buffers, want 3", (uint64_t)r.revoked);
	if (touch(ma) != SIGBUS || touch(mh) != SIGBUS)
		fail("CPU access to a revoked buffer did not raise SIGBUS");
	printf("ok: CPU mappings of revoked DEVICE and HOST buffers raise SIGBUS\n");
	expect("MIGRATE a revoked buffer", migrate(h, P2PBAR_PLACEMENT_DEVICE), ENODEV);
	if (mmap(NULL, len, PROT_READ, MAP_SHARED, a, 0) != MAP_FAILED || errno != ENODEV)
		fail("mmap of a revoked buffer: %s", strerror(errno));
	printf("ok: mmap of a revoked buffer -> ENODEV\n");
	/* The importer was told, its map fails, vmap stays harmless. */
	st("gone", 0);
	/* Nobody holds BAR addresses: the whole BAR is free again. */
	if (counters().used)
		fail("%" PRIu64 " bytes of BAR still used after RESET", (uint64_t)counters().used);
	big = alloc(in.bar_size, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	close(big);
	munmap(ma, len);
	munmap(mh, len);
	close(a);
	close(f);
	close(h);
	if (counters().used || counters().buffers)
		fail("leak after RESET");
	printf("RESULT: RESET revoked 3 buffers: importer notified, map ENODEV, SIGBUS on "
	       "CPU access, MIGRATE/mmap ENODEV, BAR whole again for new buffers\n");
	return 0;
}

static void setup(char **fixed)
{
	dev = open(fixed[0], O_RDWR | O_CLOEXEC);
	if (dev < 0)
		fail("open %s: %s", fixed[0], strerror(errno));
}

int main(int argc, char **argv)
{
	static const struct t_program prog = { "/dev/p2pbarN", 1, setup };

	return t_main(&prog, argc, argv);
}
