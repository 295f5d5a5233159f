// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar-isolation: tenant isolation and accounting, run inside a testbed
 * guest as root by tests/exporter/isolation.sh (which sets up group p2pbar, the
 * users and the udev rule p2p-kmod/udev/60-p2pbar.rules).
 *
 * usage: p2pbar-isolation CASE /dev/p2pbarN [args] (t_harness.h)
 *   privilege USER OTHER  USER (in group p2pbar, no capabilities) opens
 *                         the node, ALLOCs, mmaps, MIGRATEs, INFOs;
 *                         pread/pwrite/RESET get EPERM, also through a
 *                         root-opened fd it inherits, and for root
 *                         through USER's fd (SCM_RIGHTS); root's own fd
 *                         may; OTHER (not in the group) cannot open
 *   caps USER             as USER: max_bufs_per_file (EMFILE) and
 *                         max_host_mb (EDQUOT), in INFO and sysfs; the
 *                         script set them to 4 and 8 MiB
 *   infover               INFO's argsz contract: shorter is EINVAL, longer
 *                         with a zero tail is accepted and nothing past
 *                         the struct written, a non-zero tail is E2BIG
 *   memcg CGROUP          run inside CGROUP: a HOST buffer grows its
 *                         memory.current by its size, a FIXED DEVICE one
 *                         does not, freeing gives it back
 *   sigkill               a long HOST ALLOC stops at SIGKILL
 * Prints "RESULT: ..." lines; exits non-zero on the first failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
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
#include <time.h>
#include <unistd.h>

#include "exporter-util.h"

#define MiB ((uint64_t)1 << 20)

/* An fd, or -errno. */
static int try_alloc(int dev, uint64_t len, uint32_t placement, uint32_t flags)
{
	struct p2pbar_alloc a = {
		.argsz = sizeof(a), .flags = flags, .length = len, .placement = placement
	};

	if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
		return -errno;
	return a.fd;
}

static int alloc(int dev, uint64_t len, uint32_t placement, uint32_t flags)
{
	int fd = try_alloc(dev, len, placement, flags);

	if (fd < 0)
		fail("ALLOC %" PRIu64 " bytes placement %u flags %#x: %s", len, placement, flags,
		     strerror(-fd));
	return fd;
}

static void expect_errno(const char *what, int rc, int want)
{
	int got = rc < 0 ? errno : 0;

	if (got != want)
		fail("%s: got %s, want %s", what, got ? strerror(got) : "success",
		     want ? strerror(want) : "success");
	printf("ok: %-48s -> %s\n", what, want ? strerror(want) : "success");
}

static int reset(int dev)
{
	struct p2pbar_reset r = { .argsz = sizeof(r) };

	return ioctl(dev, P2PBAR_IOCTL_RESET, &r);
}

/* Become USER: its uid, gid and supplementary groups, no capabilities. */
static void drop_to(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		fail("no user %s", user);
	if (initgroups(user, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		fail("become %s: %s", user, strerror(errno));
	if (!geteuid() || setuid(0) == 0)
		fail("still root after becoming %s", user);
}

static void wait_child(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("%s failed (status %#x)", what, st);
}

/* pread, pwrite and RESET on @dev all get @want (0 or EPERM). */
static void expect_raw(int dev, int want, const char *whose)
{
	char what[128], b[64] = { 0 };

	snprintf(what, sizeof(what), "pread of the BAR, %s", whose);
	expect_errno(what, pread(dev, b, sizeof(b), 0) < 0 ? -1 : 0, want);
	snprintf(what, sizeof(what), "pwrite of the BAR, %s", whose);
	/* Writes back what was read: harmless when it is allowed. */
	expect_errno(what, pwrite(dev, b, sizeof(b), 0) < 0 ? -1 : 0, want);
	snprintf(what, sizeof(what), "RESET, %s", whose);
	expect_errno(what, reset(dev), want);
}

/* What USER does on its own: everything but raw access and RESET. */
static void user_work(int dev)
{
	struct p2pbar_migrate mg = { .argsz = sizeof(mg), .placement = P2PBAR_PLACEMENT_HOST };
	struct p2pbar_buf_info bi = { .argsz = sizeof(bi) };
	int fds[3], i;

	t_info(dev);
	fds[0] = alloc(dev, 4 * page, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	fds[1] = alloc(dev, 4 * page, P2PBAR_PLACEMENT_DEVICE, 0);
	fds[2] = alloc(dev, 4 * page, P2PBAR_PLACEMENT_HOST, 0);
	for (i = 0; i < 3; i++) {
		volatile uint64_t *m =
			mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		uint64_t j;

		if (m == MAP_FAILED)
			fail("mmap buffer %d as a user: %s", i, strerror(errno));
		for (j = 0; j < 4 * (uint64_t)page / 8; j++)
			if (m[j])
				fail("buffer %d not zero at %" PRIu64, i, j * 8);
		for (j = 0; j < 4 * (uint64_t)page / 8; j++)
			m[j] = j ^ 0x5a5a0000ULL ^ i;
		for (j = 0; j < 4 * (uint64_t)page / 8; j++)
			if (m[j] != (j ^ 0x5a5a0000ULL ^ i))
				fail("buffer %d read back wrong at %" PRIu64, i, j * 8);
		munmap((void *)m, 4 * page);
	}
	mg.fd = fds[1];
	expect_errno("user: MIGRATE its movable buffer to HOST",
		     ioctl(dev, P2PBAR_IOCTL_MIGRATE, &mg), 0);
	bi.fd = fds[1];
	expect_errno("user: BUF_INFO", ioctl(dev, P2PBAR_IOCTL_BUF_INFO, &bi), 0);
	if (bi.placement != P2PBAR_PLACEMENT_HOST)
		fail("buffer not in HOST after MIGRATE");
	for (i = 0; i < 3; i++)
		close(fds[i]);
	printf("ok: %-48s -> success\n", "user: ALLOC x3, mmap zeros, write, read back");
}

T_CASE(case_privilege, "privilege", 2, "USER OTHER")
{
	int rootdev, sv[2], userdev;
	pid_t pid;

	rootdev = open_dev();

	/* Not in the group: the node's mode keeps it out. */
	pid = fork();
	if (!pid) {
		drop_to(argv[1]);
		expect_errno("open by a user outside group p2pbar",
			     open(dev_path, O_RDWR | O_CLOEXEC), EACCES);
		exit(0);
	}
	wait_child(pid, argv[1]);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail("socketpair: %s", strerror(errno));
	pid = fork();
	if (!pid) {
		int dev;

		close(sv[0]);
		drop_to(argv[0]);
		dev = open_dev();
		user_work(dev);
		expect_raw(dev, EPERM, "user's own fd");
		/* Inherited from root: the caller lacks the capability. */
		expect_raw(rootdev, EPERM, "root-opened fd used by the user");
		send_fd(sv[1], dev);
		exit(0);
	}
	close(sv[1]);
	wait_child(pid, argv[0]);
	/* Opened by the user: root must not act on it for them. */
	userdev = recv_fd(sv[0]);
	expect_raw(userdev, EPERM, "user-opened fd used by root");
	close(userdev);
	close(sv[0]);
	/* The control: root's own fd may (the device is idle: RESET is harmless). */
	expect_raw(rootdev, 0, "root's own fd");
	close(rootdev);
	printf("RESULT: a group member allocates, maps, migrates; raw BAR access and RESET "
	       "need CAP_SYS_ADMIN in the opener and in the caller (EPERM otherwise); "
	       "outsiders cannot open the node\n");
	return 0;
}

static uint64_t read_u64(const char *path)
{
	unsigned long long v;
	FILE *f = fopen(path, "r");

	if (!f || fscanf(f, "%llu", &v) != 1)
		fail("read %s: %s", path, strerror(errno));
	fclose(f);
	return v;
}

static void expect_charged(int dev, uint64_t host, uint64_t file_bufs, const char *when)
{
	struct p2pbar_info i = t_info(dev);

	if (t_counter(dev, "host_charged") != host || i.file_buffers != file_bufs)
		fail("%s: host_charged %" PRIu64 " (sysfs), file_buffers %" PRIu64
		     " (INFO), want %" PRIu64 " and %" PRIu64,
		     when, t_counter(dev, "host_charged"), (uint64_t)i.file_buffers, host,
		     file_bufs);
}

T_CASE(case_caps, "caps", 1, "USER")
{
	int dev, dev2, fds[8], fd, n, i;
	struct p2pbar_info in;

	drop_to(argv[0]);
	dev = open_dev();
	in = t_info(dev);
	if (in.max_bufs_per_file != 4 || t_counter(dev, "max_bufs_per_file") != 4 ||
	    in.max_host != 8 * MiB || t_counter(dev, "max_host") != 8 * MiB)
		fail("INFO/sysfs max_bufs_per_file %" PRIu64 "/%" PRIu64 " max_host %" PRIu64
		     "/%" PRIu64 ", want 4 and 8 MiB (set by the script)",
		     (uint64_t)in.max_bufs_per_file, t_counter(dev, "max_bufs_per_file"),
		     (uint64_t)in.max_host, t_counter(dev, "max_host"));
	expect_charged(dev, 0, 0, "at the start");

	/* Buffers per open file: FIXED DEVICE ones, which charge no host bytes. */
	for (n = 0; n < 8; n++) {
		fd = try_alloc(dev, page, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
		if (fd < 0)
			break;
		fds[n] = fd;
	}
	if (n != 4 || fd != -EMFILE)
		fail("%d buffers on one open file, then %s; want 4, then EMFILE", n, strerror(-fd));
	printf("ok: %-48s -> %s\n", "5th buffer on one open file", strerror(EMFILE));
	expect_charged(dev, 0, 4, "4 FIXED DEVICE buffers");
	/* Another open file has its own count. */
	dev2 = open_dev();
	fd = alloc(dev2, page, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	expect_charged(dev2, 0, 1, "the second open file");
	close(fd);
	/* A freed buffer makes room again. */
	close(fds[0]);
	fds[0] = alloc(dev, page, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	printf("ok: %-48s -> success\n", "ALLOC after freeing one of the 4");
	/* A new open file starts at 0 while the closed one's buffers live. */
	close(dev);
	dev = open_dev();
	expect_charged(dev, 0, 0, "a new open file");
	for (i = 0; i < 4; i++)
		close(fds[i]);
	expect_charged(dev2, 0, 0, "after freeing them");

	/* Host bytes, per device: HOST and movable buffers are charged. */
	fds[0] = alloc(dev, 4 * MiB, P2PBAR_PLACEMENT_HOST, 0);
	expect_charged(dev, 4 * MiB, 1, "a 4 MiB HOST buffer");
	fds[1] = alloc(dev2, 4 * MiB, P2PBAR_PLACEMENT_DEVICE, 0);
	expect_charged(dev, 8 * MiB, 1, "and a 4 MiB movable DEVICE one");
	expect_errno("HOST page over max_host_mb", try_alloc(dev, page, P2PBAR_PLACEMENT_HOST, 0),
		     EDQUOT);
	expect_errno("movable DEVICE page over max_host_mb",
		     try_alloc(dev2, page, P2PBAR_PLACEMENT_DEVICE, 0), EDQUOT);
	fds[2] = alloc(dev, 4 * MiB, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	printf("ok: %-48s -> success\n", "FIXED DEVICE buffer at the host cap");
	expect_charged(dev, 8 * MiB, 2, "FIXED DEVICE is not charged");
	close(fds[0]);
	expect_charged(dev, 4 * MiB, 1, "the HOST buffer freed");
	expect_errno("HOST buffer larger than max_host_mb",
		     try_alloc(dev, 8 * MiB, P2PBAR_PLACEMENT_HOST, 0), EDQUOT);
	fds[0] = alloc(dev, 4 * MiB, P2PBAR_PLACEMENT_HOST, P2PBAR_ALLOC_FIXED);
	expect_charged(dev, 8 * MiB, 2, "4 MiB HOST again");
	for (i = 0; i < 3; i++)
		close(fds[i]);
	expect_charged(dev, 0, 0, "everything freed");
	expect_charged(dev2, 0, 0, "everything freed (second file)");
	close(dev);
	close(dev2);
	printf("RESULT: max_bufs_per_file 4: the 5th buffer of an open file gets EMFILE, "
	       "other files and freed slots are not affected; max_host_mb 8: HOST and movable "
	       "buffers past 8 MiB get EDQUOT, FIXED DEVICE ones are not charged; INFO and "
	       "sysfs agree\n");
	return 0;
}

T_CASE(case_infover, "infover", 0, "")
{
	int dev = open_dev();
	union {
		struct p2pbar_info i;
		unsigned char raw[256];
	} u;
	size_t k;

	memset(&u, 0xa5, sizeof(u));
	memset(&u, 0, sizeof(u.i) + 8);
	u.i.argsz = sizeof(u.i) + 8;
	expect_errno("INFO with a longer argsz and a zero tail", ioctl(dev, P2PBAR_IOCTL_INFO, &u),
		     0);
	if (!u.i.bar_size || !u.i.page_size)
		fail("INFO returned no BAR size");
	for (k = sizeof(u.i); k < sizeof(u.i) + 8; k++)
		if (u.raw[k])
			fail("INFO wrote byte %zu, past its struct", k);
	for (k = sizeof(u.i) + 8; k < sizeof(u); k++)
		if (u.raw[k] != 0xa5)
			fail("INFO of argsz %zu wrote byte %zu", sizeof(u.i) + 8, k);
	memset(&u, 0, sizeof(u));
	u.i.argsz = sizeof(u.i) + 8;
	u.raw[sizeof(u.i) + 3] = 1;
	expect_errno("INFO with a non-zero byte past its struct", ioctl(dev, P2PBAR_IOCTL_INFO, &u),
		     E2BIG);
	memset(&u, 0, sizeof(u));
	u.i.argsz = sizeof(u.i) - 8;
	expect_errno("INFO shorter than its struct", ioctl(dev, P2PBAR_IOCTL_INFO, &u), EINVAL);
	memset(&u, 0, sizeof(u));
	u.i.argsz = sizeof(u.i);
	expect_errno("INFO", ioctl(dev, P2PBAR_IOCTL_INFO, &u), 0);
	if (!u.i.max_host ||
	    u.i.max_bufs_per_file !=
		    (uint64_t)read_u64("/sys/module/p2pbar/parameters/max_bufs_per_file"))
		fail("INFO max_host %" PRIu64 " max_bufs_per_file %" PRIu64, (uint64_t)u.i.max_host,
		     (uint64_t)u.i.max_bufs_per_file);
	close(dev);
	printf("RESULT: INFO (%zu bytes) refuses a shorter argsz, takes a longer one with a "
	       "zero tail and writes nothing past its struct, refuses a non-zero tail\n",
	       sizeof(u.i));
	return 0;
}

static uint64_t memcg_current(const char *cg)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	return read_u64(path);
}

T_CASE(case_memcg, "memcg", 1, "CGROUP")
{
	const uint64_t len = 64 * MiB;
	int64_t grew, shrank, dgrew;
	uint64_t c0, c1, c2;
	int dev, fd;

	dev = open_dev();
	/* The BAR is not system memory: a DEVICE buffer charges ~nothing. */
	c0 = memcg_current(argv[0]);
	fd = alloc(dev, len, P2PBAR_PLACEMENT_DEVICE, P2PBAR_ALLOC_FIXED);
	dgrew = (int64_t)(memcg_current(argv[0]) - c0);
	close(fd);

	c0 = memcg_current(argv[0]);
	fd = alloc(dev, len, P2PBAR_PLACEMENT_HOST, 0);
	c1 = memcg_current(argv[0]);
	close(fd);
	c2 = memcg_current(argv[0]);
	grew = (int64_t)(c1 - c0);
	shrank = (int64_t)(c1 - c2);
	printf("memory.current: %" PRIu64 " -> %" PRIu64 " (+%" PRId64 ") at a %" PRIu64
	       " MiB HOST ALLOC, %" PRIu64 " after its close; +%" PRId64
	       " for a FIXED DEVICE one\n",
	       c0, c1, grew, len / MiB, c2, dgrew);
	if (grew < (int64_t)(len * 9 / 10) || grew > (int64_t)(len * 3 / 2))
		fail("a %" PRIu64 "-byte HOST buffer grew memory.current by %" PRId64, len, grew);
	if (shrank < (int64_t)(len * 9 / 10))
		fail("freeing the HOST buffer gave back only %" PRId64 " bytes", shrank);
	if (dgrew > (int64_t)(len / 8))
		fail("a FIXED DEVICE buffer grew memory.current by %" PRId64, dgrew);
	close(dev);
	printf("RESULT: HOST pages are charged to the allocating task's memcg "
	       "(memory.current +%" PRId64 " for %" PRIu64 " bytes, given back at free); "
	       "DEVICE buffers are not\n",
	       grew, len);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A child ALLOCs @len of HOST; it writes a byte to @go just before. */
static pid_t alloc_child(uint64_t len, int go)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		int dev = open_dev();

		int fd;

		if (write(go, "g", 1) != 1)
			_exit(3);
		fd = try_alloc(dev, len, P2PBAR_PLACEMENT_HOST, 0);
		if (fd < 0)
			fail("ALLOC %" PRIu64 " bytes of HOST: %s", len, strerror(-fd));
		_exit(0);
	}
	return pid;
}

/* How long a HOST ALLOC of @len takes, the free at exit included. */
static double alloc_time(uint64_t len, int p[2])
{
	double t0;
	pid_t pid;
	char c;
	int st;

	pid = alloc_child(len, p[1]);
	if (read(p[0], &c, 1) != 1)
		fail("child did not start");
	t0 = now();
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("%" PRIu64 " MiB HOST ALLOC failed (status %#x)", len / MiB, st);
	return now() - t0;
}

T_CASE(case_sigkill, "sigkill", 0, "")
{
	int dev = open_dev(), p[2], st;
	struct p2pbar_info in = t_info(dev);
	/* At most what ALLOC takes (max_alloc: the BAR's size) and the cap. */
	uint64_t cap = in.max_host ? in.max_host & ~(MiB - 1) : in.max_alloc;
	uint64_t max = in.max_alloc < cap ? in.max_alloc : cap;
	uint64_t len = 64 * MiB < max ? 64 * MiB : max;
	double t0, full, kill_at, gone;
	char c;
	pid_t pid;

	if (pipe(p))
		fail("pipe: %s", strerror(errno));
	/*
	 * Long enough to kill in the middle: a second or more. Each size
	 * twice, the second counts: the first touches guest RAM QEMU has not
	 * backed yet and can take several times as long.
	 */
	alloc_time(len, p);
	full = alloc_time(len, p);
	while (full < 1.0 && len * 4 <= max) {
		len *= 4;
		alloc_time(len, p);
		full = alloc_time(len, p);
	}
	if (full < 0.2)
		fail("a %" PRIu64 " MiB HOST ALLOC took only %.3f s: too fast to judge", len / MiB,
		     full);

	/* Killed a fifth of the way in, it must not run to the end. */
	pid = alloc_child(len, p[1]);
	if (read(p[0], &c, 1) != 1)
		fail("child did not start");
	t0 = now();
	usleep((useconds_t)(full / 5 * 1e6));
	kill(pid, SIGKILL);
	kill_at = now() - t0;
	if (waitpid(pid, &st, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	gone = now() - t0;
	printf("%" PRIu64 " MiB HOST ALLOC: %.3f s in full; SIGKILL at %.3f s, child gone at "
	       "%.3f s (%s)\n",
	       len / MiB, full, kill_at, gone, WIFSIGNALED(st) ? "killed" : "exited");
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail("the child was not killed (status %#x)", st);
	if (gone - kill_at > full / 2)
		fail("the killed ALLOC went on for %.3f s of a %.3f s allocation", gone - kill_at,
		     full);
	if (t_counter(dev, "buffers") || t_counter(dev, "host_charged"))
		fail("after the kill: %" PRIu64 " buffers, %" PRIu64 " host bytes charged",
		     t_counter(dev, "buffers"), t_counter(dev, "host_charged"));
	close(dev);
	printf("RESULT: a %" PRIu64 " MiB HOST ALLOC (%.2f s) stops %.3f s after SIGKILL; "
	       "nothing left behind\n",
	       len / MiB, full, gone - kill_at);
	return 0;
}

int main(int argc, char **argv)
{
	return t_main(&exporter_program, argc, argv);
}
