// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection on the importers' paths (tests/fuzz/fuzz.sh, case
 * importers): the runner aims failslab, fail_page_alloc and fail_usercopy
 * at every module's text (testbed/guest/lib.sh fault_aim), and each call
 * below is made with its 1st, 2nd, ... allocation or user copy failed
 * (/proc/thread-self/fail-nth) until it runs out of them (at most MAX):
 *
 *   selftest NODE MAX      p2pbar_selftest.ko's "map" (dynamic attach, map,
 *                          unmap, map again, detach) and "hold-map" (attach,
 *                          dma_buf_map_attachment, kept until "drop")
 *   edu NODE MAX           p2pbar_edu.ko (a PCI device that DMAs): "import"
 *                          dynamic, pinned and static, then its first DMA
 *                          (a dynamic import maps at it)
 *   unbind NODE PCI MAX    unbind of the p2pbar device with a buffer mapped
 *                          by the test importer and one mmapped: the revoke
 *                          and drain of the device's removal
 *
 * Each failure must be a clean errno (ENOMEM, or EFAULT for a failed user
 * copy) that leaves nothing behind: the importer lets go (drop), the same
 * call without a fault then succeeds, and sysfs shows no buffer and no
 * used byte. unbind cannot fail: with any fault it still unbinds, the
 * buffers are revoked (SIGBUS on the mmap, the importer's drop works) and
 * the device binds again. kmemleak and the kernel log the runner checks.
 * Prints per path the sites failed and the calls that failed, by errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/p2pbar.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "t_harness.h" /* fail() */
#include "t_p2pbar.h"
#include "t_fail_nth.h"

#define PAGE	   4096UL
#define ST_CONTROL "/sys/kernel/debug/p2pbar_selftest/control"

static char node[64];

static int open_dev(void)
{
	int dev = open(node, O_RDWR | O_CLOEXEC);

	if (dev < 0)
		fail("open %s: %s", node, strerror(errno));
	return dev;
}

static int alloc_fd(uint64_t len)
{
	struct p2pbar_alloc a = { .argsz = sizeof(a), .length = len };
	int dev = open_dev();

	if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
		fail("ALLOC %llu: %s", (unsigned long long)len, strerror(errno));
	close(dev);
	return a.fd;
}

static void check_idle(const char *when)
{
	int dev = open_dev();
	uint64_t used = t_counter(dev, "used"), bufs = t_counter(dev, "buffers");

	close(dev);
	if (used || bufs)
		fail("%s: %llu bytes used in %llu buffers (sysfs), want none", when,
		     (unsigned long long)used, (unsigned long long)bufs);
}

static int ctl_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	return fd;
}

/* Write @cmd to the control file @fd: 0 or the write's errno. */
static int ctl_write(int fd, const char *cmd)
{
	return write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) ? 0 : errno;
}

/* Its answer to the last command, in @out. */
static void ctl_read(int fd, char *out, size_t outlen)
{
	ssize_t n = pread(fd, out, outlen - 1, 0);

	out[n > 0 ? n : 0] = 0;
}

/* @cmd to the control file @path, its answer in @out: 0 or the write's errno. */
static int control(const char *path, const char *cmd, char *out, size_t outlen)
{
	int fd = ctl_open(path), err = ctl_write(fd, cmd);

	ctl_read(fd, out, outlen);
	close(fd);
	return err;
}

/*
 * The errno a selftest answer reports: 0 if every line PASSes, else the
 * first FAIL line's "-N" (a FAIL without one is not a clean error).
 */
static int selftest_errno(const char *cmd, const char *out)
{
	const char *f = strstr(out, "FAIL "), *e;

	if (!f)
		return strstr(out, "PASS ") ? 0 : -1;
	for (e = f; *e && *e != '\n'; e++)
		if (*e == '-' && e[1] >= '1' && e[1] <= '9')
			return atoi(e + 1);
	fail("selftest \"%s\" failed without an errno: %s", cmd, out);
}

static bool clean_errno(int err)
{
	return err == ENOMEM || err == EFAULT;
}

/* The errnos of a path's failed calls. */
struct tally {
	unsigned int sites, failed, by_errno[140];
};

static void tally_print(const char *path, struct tally *t, bool limit)
{
	printf("faults: %-34s %u allocation/copy sites failed in turn, %u calls failed cleanly",
	       path, t->sites, t->failed);
	for (int e = 0; e < 140; e++)
		if (t->by_errno[e])
			printf(" %s x%u", strerrorname_np(e), t->by_errno[e]);
	printf("%s\n", limit ? " (limit)" : "");
}

/* --- selftest: "map" and "hold-map" + "drop" */
static int selftest_run(bool hold, unsigned int n, bool *hit)
{
	char cmd[64], out[4096];
	int fd = alloc_fd(16 * PAGE), ctl = ctl_open(ST_CONTROL), err, werr;

	snprintf(cmd, sizeof(cmd), "%s %d", hold ? "hold-map" : "map", fd);
	fail_nth_set(n);
	werr = ctl_write(ctl, cmd);
	*hit = fail_nth_hit();
	ctl_read(ctl, out, sizeof(out));
	close(ctl);
	err = werr ? werr : selftest_errno(cmd, out);
	if (err < 0)
		fail("selftest \"%s\": no result: %s", cmd, out);
	/* hold-map keeps its attachment even when the map failed */
	if (hold && !werr && !strstr(out, "attach: ")) {
		if (control(ST_CONTROL, "drop", out, sizeof(out)) || selftest_errno("drop", out))
			fail("selftest \"drop\" after \"%s\" (fault %u): %s", cmd, n, out);
	}
	close(fd);
	return err;
}

/* --- edu: import MODE, then the first DMA */
static char edu_control[256];

static int edu_run(const char *mode, unsigned int n, bool *hit)
{
	char cmd[64], out[4096];
	int fd = alloc_fd(16 * PAGE), ctl = ctl_open(edu_control), err;

	snprintf(cmd, sizeof(cmd), "import %d %s", fd, mode);
	fail_nth_set(n);
	err = ctl_write(ctl, cmd);
	if (!err)
		err = ctl_write(ctl, "fill 0 4095 77");
	*hit = fail_nth_hit();
	ctl_read(ctl, out, sizeof(out));
	close(ctl);
	if (err && n && !clean_errno(err))
		printf("edu \"%s\" (fault %u): %s\n", cmd, n, out);
	if (!n && !err && (err = control(edu_control, "check 0 4095 77", out, sizeof(out))))
		fail("edu check after a fill: %s (%s)", strerror(err), out);
	/* nothing imported is ENOENT */
	if (control(edu_control, "drop", out, sizeof(out)) && !err)
		fail("edu drop after \"%s\": %s", cmd, out);
	close(fd);
	return err;
}

/* --- unbind: the device's removal revokes a mapped and an mmapped buffer */
static const char *pci;
static sigjmp_buf bus_jmp;

static void on_bus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

static void sysfs_write(const char *path, const char *val)
{
	int f = open(path, O_WRONLY);

	if (f < 0 || write(f, val, strlen(val)) != (ssize_t)strlen(val))
		fail("%s <- %s: %s", path, val, strerror(errno));
	close(f);
}

static bool bound(void)
{
	char p[128];

	snprintf(p, sizeof(p), "/sys/bus/pci/drivers/p2pbar/%s", pci);
	return !access(p, F_OK);
}

static void find_node(void)
{
	glob_t g;

	if (glob("/sys/class/p2pbar/p2pbar*", 0, NULL, &g) || g.gl_pathc < 1)
		fail("no p2pbar device after binding %s again", pci);
	snprintf(node, sizeof(node), "/dev/%s", strrchr(g.gl_pathv[0], '/') + 1);
	globfree(&g);
}

static int unbind_run(unsigned int n, bool *hit)
{
	char cmd[64], out[4096];
	int mfd = alloc_fd(16 * PAGE), sfd = alloc_fd(16 * PAGE), err = 0, f, sig;
	volatile uint64_t *m;
	struct sigaction sa = { .sa_handler = on_bus }, old;

	m = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (m == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	m[0] = 0x5eed;
	snprintf(cmd, sizeof(cmd), "hold-map %d", sfd);
	if (control(ST_CONTROL, cmd, out, sizeof(out)) || selftest_errno(cmd, out))
		fail("selftest \"%s\": %s", cmd, out);
	f = open("/sys/bus/pci/drivers/p2pbar/unbind", O_WRONLY | O_CLOEXEC);
	if (f < 0)
		fail("unbind: %s", strerror(errno));
	fail_nth_set(n);
	if (write(f, pci, strlen(pci)) < 0)
		err = errno;
	*hit = fail_nth_hit();
	close(f);
	if (bound())
		fail("unbind (fault %u): %s, the device is still bound", n,
		     err ? strerrorname_np(err) : "done");
	/* revoked: the importer lets go, the mmap SIGBUSes */
	if (control(ST_CONTROL, "drop", out, sizeof(out)) || selftest_errno("drop", out))
		fail("selftest \"drop\" after unbind (fault %u): %s", n, out);
	sigaction(SIGBUS, &sa, &old);
	sig = sigsetjmp(bus_jmp, 1);
	if (!sig)
		(void)m[1];
	sigaction(SIGBUS, &old, NULL);
	if (sig != SIGBUS)
		fail("the mmap of a buffer of the unbound device (fault %u) did not SIGBUS", n);
	munmap((void *)m, 16 * PAGE);
	close(mfd);
	close(sfd);
	sysfs_write("/sys/bus/pci/drivers/p2pbar/bind", pci);
	find_node();
	return err;
}

static void run_path(const char *name, int (*run)(const void *, unsigned int, bool *),
		     const void *arg, unsigned int max_n)
{
	struct tally t = { 0 };
	unsigned int n;
	bool hit = true;

	for (n = 1; n <= max_n && hit; n++) {
		int err = run(arg, n, &hit);

		if (hit)
			t.sites++;
		if (err) {
			t.failed++;
			if (!clean_errno(err))
				fail("%s with fault %u injected: %s, not a clean errno", name, n,
				     strerrorname_np(err));
			t.by_errno[err]++;
		} else if (!hit) {
			break;
		}
		/* the next call, without a fault, succeeds */
		err = run(arg, 0, &hit);
		if (err)
			fail("%s after fault %u: %s, want success", name, n, strerror(err));
		hit = t.sites == n;
		check_idle(name);
	}
	tally_print(name, &t, n > max_n);
}

static int run_selftest_map(const void *a, unsigned int n, bool *hit)
{
	(void)a;
	return selftest_run(false, n, hit);
}

static int run_selftest_hold(const void *a, unsigned int n, bool *hit)
{
	(void)a;
	return selftest_run(true, n, hit);
}

static int run_edu(const void *mode, unsigned int n, bool *hit)
{
	return edu_run(mode, n, hit);
}

static int run_unbind(const void *a, unsigned int n, bool *hit)
{
	(void)a;
	return unbind_run(n, hit);
}

int main(int argc, char **argv)
{
	unsigned int max_n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4 || (!strcmp(argv[1], "unbind") && argc < 5))
		fail("usage: p2pbar-importer-faults selftest|edu NODE MAX | unbind NODE PCI MAX");
	snprintf(node, sizeof(node), "%s", argv[2]);
	max_n = strtoul(argv[argc - 1], NULL, 0);
	fail_nth_open();
	check_idle("at the start");
	if (!strcmp(argv[1], "selftest")) {
		run_path("selftest map (dynamic attach+map)", run_selftest_map, NULL, max_n);
		run_path("selftest hold-map + drop", run_selftest_hold, NULL, max_n);
	} else if (!strcmp(argv[1], "edu")) {
		glob_t g;

		if (glob("/sys/kernel/debug/p2pbar_edu/*/control", 0, NULL, &g) || g.gl_pathc != 1)
			fail("want one /sys/kernel/debug/p2pbar_edu/*/control (edu bound?)");
		snprintf(edu_control, sizeof(edu_control), "%s", g.gl_pathv[0]);
		globfree(&g);
		run_path("edu import dynamic + first DMA", run_edu, "dynamic", max_n);
		run_path("edu import pinned + first DMA", run_edu, "pinned", max_n);
		run_path("edu import static + first DMA", run_edu, "static", max_n);
	} else if (!strcmp(argv[1], "unbind")) {
		pci = argv[3];
		run_path("unbind (revoke and drain)", run_unbind, NULL, max_n);
	} else {
		fail("unknown path set %s", argv[1]);
	}
	printf("RESULT: importer fault paths (%s): every fault a clean errno, nothing left, "
	       "the next call succeeds\n",
	       argv[1]);
	return 0;
}
