// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar-revoke: revoke (RESET, unbind) drains, and fences block no one
 * else; run inside a testbed guest as root.
 *
 * usage: p2pbar-revoke CASE /dev/p2pbarN [PCI] (t_harness.h)
 *   fence-block     a never-signalled fence (vgem) on one buffer: MIGRATE
 *                   of it waits, but INFO, BUF_INFO, close of other
 *                   buffers, ALLOC and RESET return while the fence is
 *                   still pending
 *   reset-efault    RESET whose result cannot be written (read-only
 *                   memory, a mapping of the device's own buffer) fails
 *                   with EFAULT and revokes nothing
 *   reset-race      RESET while one thread writes through a buffer's
 *                   mmap and another allocates: no stale write lands in
 *                   a new buffer
 *   drain-pin       a pinned importer keeps a revoked range taken until
 *                   it unpins, not until the fd is closed
 *   drain-unbind PCI  unbind waits until a pinned importer lets go
 * The *-pin and *-unbind cases need p2pbar_selftest.ko loaded.
 * Prints "RESULT: ..." lines; exits non-zero on the first failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exporter-util.h"
#include "vgem.h"

static struct p2pbar_alloc alloc(int dev, uint64_t len)
{
	struct p2pbar_alloc a = { .argsz = sizeof(a),
				  .length = len,
				  .placement = P2PBAR_PLACEMENT_DEVICE };

	if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
		fail("ALLOC %" PRIu64 ": %s", len, strerror(errno));
	return a;
}

static int buf_info(int dev, int fd, struct p2pbar_buf_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->argsz = sizeof(*bi);
	bi->fd = fd;
	return ioctl(dev, P2PBAR_IOCTL_BUF_INFO, bi);
}

/* Revoked: a new mmap of the buffer fails with ENODEV. */
static int revoked(int fd)
{
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);

	if (p != MAP_FAILED) {
		munmap(p, page);
		return 0;
	}
	if (errno != ENODEV)
		fail("mmap: %s, want success or ENODEV", strerror(errno));
	return 1;
}

static int reset(int dev, struct p2pbar_reset *r)
{
	memset(r, 0, sizeof(*r));
	r->argsz = sizeof(*r);
	return ioctl(dev, P2PBAR_IOCTL_RESET, r);
}

/* vgem (tests/lib/vgem.h): a dma-buf with a fence that signals when told. */
static struct vgem_fence vgem_fence_make(void)
{
	struct vgem_fence f;

	if (vgem_fence_new(&f))
		fail("a vgem fence (modprobe vgem): %s", strerror(errno));
	return f;
}

static int fence_pending(struct vgem_fence *f)
{
	struct pollfd p = { .fd = f->sync_file, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

static void vgem_fence_signal(struct vgem_fence *f)
{
	if (vgem_fence_done(f))
		fail("VGEM_FENCE_SIGNAL: %s", strerror(errno));
	close(f->sync_file);
}

struct call {
	int dev, fd;
	unsigned long req;
	int ret, err;
	atomic_int done;
};

static void *call_thread(void *arg)
{
	struct call *c = arg;

	if (c->req == P2PBAR_IOCTL_MIGRATE) {
		struct p2pbar_migrate m = { .argsz = sizeof(m),
					    .fd = c->fd,
					    .placement = P2PBAR_PLACEMENT_HOST };

		c->ret = ioctl(c->dev, c->req, &m);
	} else {
		struct p2pbar_reset r;

		c->ret = reset(c->dev, &r);
	}
	c->err = errno;
	atomic_store(&c->done, 1);
	return NULL;
}

static void start(pthread_t *t, struct call *c)
{
	if (pthread_create(t, NULL, call_thread, c))
		fail("pthread_create");
	usleep(300 * 1000); /* let it reach its wait (ordering, not timing) */
}

static void still_pending(struct vgem_fence *f, const char *what)
{
	if (!fence_pending(f))
		fail("%s returned only after the fence signalled: it waited for a fence it has "
		     "nothing to do with",
		     what);
}

T_CASE(case_fence_block, "fence-block", 0, "")
{
	int dev = open_dev();
	struct p2pbar_alloc a = alloc(dev, 16 * page), b = alloc(dev, page), c = alloc(dev, page),
			    d;
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
	struct vgem_fence f = vgem_fence_make();
	struct call mig = { .dev = dev, .fd = a.fd, .req = P2PBAR_IOCTL_MIGRATE };
	struct call rst = { .dev = dev, .req = P2PBAR_IOCTL_RESET };
	struct p2pbar_buf_info bi;
	pthread_t tm, tr;

	imp.fd = f.sync_file;
	if (ioctl(a.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp))
		fail("IMPORT_SYNC_FILE into the p2pbar buffer: %s", strerror(errno));
	if (!fence_pending(&f))
		fail("the vgem fence signalled at once");

	start(&tm, &mig);
	if (atomic_load(&mig.done))
		fail("MIGRATE did not wait for the buffer's fence (ret %d)", mig.ret);
	t_info(dev);
	still_pending(&f, "INFO beside the MIGRATE");
	if (buf_info(dev, b.fd, &bi))
		fail("BUF_INFO of another buffer: %s", strerror(errno));
	still_pending(&f, "BUF_INFO of another buffer");
	if (buf_info(dev, a.fd, &bi))
		fail("BUF_INFO of the fenced buffer: %s", strerror(errno));
	still_pending(&f, "BUF_INFO of the fenced buffer");
	printf("RESULT: a MIGRATE waiting for a fence holds up neither INFO nor BUF_INFO\n");

	start(&tr, &rst);
	t_info(dev);
	still_pending(&f, "INFO beside the RESET");
	close(c.fd);
	still_pending(&f, "close() of another buffer beside the RESET");
	d = alloc(dev, page);
	still_pending(&f, "ALLOC beside the RESET");
	pthread_join(tr, NULL);
	if (rst.ret)
		fail("RESET: %s", strerror(rst.err));
	still_pending(&f, "RESET");
	if (buf_info(dev, a.fd, &bi) || !(bi.status & P2PBAR_BUF_REVOKED))
		fail("the fenced buffer is not shown revoked after RESET");
	printf("RESULT: RESET beside it returns with the fence pending (bounded wait), "
	       "INFO/close/ALLOC do not block\n");

	vgem_fence_signal(&f);
	pthread_join(tm, NULL);
	if (mig.ret != -1 || mig.err != ENODEV)
		fail("MIGRATE of the revoked buffer: %d (%s), want ENODEV", mig.ret,
		     strerror(mig.err));
	printf("RESULT: the waiting MIGRATE ends with ENODEV once the fence signals\n");
	close(a.fd);
	close(b.fd);
	close(d.fd);
	if (t_counter(dev, "used"))
		fail("used %" PRIu64 " after every buffer was closed", t_counter(dev, "used"));
	close(dev);
	return 0;
}

T_CASE(case_reset_efault, "reset-efault", 0, "")
{
	int dev = open_dev();
	struct p2pbar_alloc a = alloc(dev, 4 * page);
	struct p2pbar_reset *r;
	char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	void *ro = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct p2pbar_reset good = { .argsz = sizeof(good) };

	if (m == MAP_FAILED || ro == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	memset(m, 0x5a, 4 * page);

	r = ro;
	memset(r, 0, sizeof(*r));
	r->argsz = sizeof(*r);
	mprotect(ro, page, PROT_READ);
	if (ioctl(dev, P2PBAR_IOCTL_RESET, r) != -1 || errno != EFAULT)
		fail("RESET with a read-only struct: %s, want EFAULT", strerror(errno));
	if (revoked(a.fd))
		fail("RESET with a read-only struct revoked the buffers, then failed");

	/* Inside the mapping RESET would revoke: found before, too. */
	r = (struct p2pbar_reset *)(m + page - 8);
	memset(r, 0, sizeof(*r));
	r->argsz = sizeof(*r);
	if (ioctl(dev, P2PBAR_IOCTL_RESET, r) != -1 || errno != EFAULT)
		fail("RESET with its struct in the device's buffer: %s, want EFAULT",
		     strerror(errno));
	if (revoked(a.fd))
		fail("RESET with its struct in a buffer mapping revoked the buffers, then failed");
	printf("RESULT: RESET whose result cannot be written: EFAULT, nothing revoked\n");

	if (ioctl(dev, P2PBAR_IOCTL_RESET, &good) || good.revoked != 1)
		fail("RESET: %s, revoked %llu (want 1)", strerror(errno),
		     (unsigned long long)good.revoked);
	if (!revoked(a.fd))
		fail("the buffer is not revoked after a RESET");
	{
		struct p2pbar_migrate mg = { .argsz = sizeof(mg),
					     .fd = a.fd,
					     .placement = P2PBAR_PLACEMENT_DEVICE };

		if (ioctl(dev, P2PBAR_IOCTL_MIGRATE, &mg) != -1 || errno != ENODEV)
			fail("MIGRATE of a revoked buffer to where it was: %s, want ENODEV",
			     strerror(errno));
	}
	printf("RESULT: MIGRATE of a revoked buffer is ENODEV, also to its own placement\n");
	munmap(m, 4 * page);
	munmap(ro, page);
	close(a.fd);
	close(dev);
	return 0;
}

/* reset-race: a writer through an old mapping, an allocator beside RESET. */
static volatile uint8_t *race_map;
static atomic_int race_stop;
static sigjmp_buf race_jmp;

static void race_sigbus(int sig)
{
	(void)sig;
	siglongjmp(race_jmp, 1);
}

static void *race_writer(void *arg)
{
	uint64_t len = *(uint64_t *)arg;
	struct sigaction sa = { .sa_handler = race_sigbus };

	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(race_jmp, 1))
		return NULL; /* revoked: SIGBUS, as it should */
	while (!atomic_load(&race_stop))
		for (uint64_t i = 0; i < len; i += 64)
			race_map[i] = 0xee;
	return NULL;
}

#define RACE_NEW 8

struct race_alloc {
	int dev;
	uint64_t len;
	int n;
	struct p2pbar_alloc b[RACE_NEW];
};

/* Allocate new buffers while the RESET runs. */
static void *race_allocator(void *arg)
{
	struct race_alloc *ra = arg;

	for (ra->n = 0; ra->n < RACE_NEW; ra->n++)
		ra->b[ra->n] = alloc(ra->dev, ra->len);
	return NULL;
}

T_CASE(case_reset_race, "reset-race", 0, "")
{
	const uint64_t len = 16 * page;
	int dev = open_dev(), rounds, same = 0;

	for (rounds = 0; rounds < 100; rounds++) {
		struct p2pbar_alloc a = alloc(dev, len);
		struct race_alloc ra = { .dev = dev, .len = len };
		struct p2pbar_reset r;
		uint64_t l = len;
		pthread_t w, al;
		uint8_t *m;

		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		if (m == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
		race_map = m;
		atomic_store(&race_stop, 0);
		if (pthread_create(&w, NULL, race_writer, &l))
			fail("pthread_create");
		usleep(1000);
		if (pthread_create(&al, NULL, race_allocator, &ra))
			fail("pthread_create");
		if (reset(dev, &r))
			fail("RESET: %s", strerror(errno));
		pthread_join(al, NULL);
		usleep(2000);
		atomic_store(&race_stop, 1);
		pthread_join(w, NULL);
		for (int k = 0; k < ra.n; k++) {
			struct p2pbar_alloc *b = &ra.b[k];
			uint8_t *bm;

			if (!revoked(b->fd)) {
				bm = mmap(NULL, len, PROT_READ, MAP_SHARED, b->fd, 0);
				if (bm == MAP_FAILED)
					fail("mmap of a new buffer: %s", strerror(errno));
				same += b->offset == a.offset;
				for (uint64_t i = 0; i < len; i++)
					if (bm[i])
						fail("round %d: the new buffer at %#llx has %#x at "
						     "%#llx: a revoked buffer's mapping wrote into "
						     "it",
						     rounds, (unsigned long long)b->offset, bm[i],
						     (unsigned long long)i);
				munmap(bm, len);
			}
			close(b->fd);
		}
		munmap(m, len);
		close(a.fd);
	}
	if (!same)
		fail("no new buffer reused the revoked range: the case tested nothing");
	printf("RESULT: %d RESETs under a writer and an allocator: no stale write in a new buffer "
	       "(%d reused the range)\n",
	       rounds, same);
	close(dev);
	return 0;
}

static void hold_pin(int fd)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "hold-pin %d", fd);
	selftest_cmd(cmd, 1);
}

T_CASE(case_drain_pin, "drain-pin", 0, "")
{
	int dev = open_dev();
	uint64_t before = t_counter(dev, "used");
	struct p2pbar_alloc a = alloc(dev, 256 * page);
	struct p2pbar_reset r;

	hold_pin(a.fd);
	if (reset(dev, &r) || r.revoked != 1)
		fail("RESET: %s, revoked %llu", strerror(errno), (unsigned long long)r.revoked);
	if (t_counter(dev, "used") != before + a.length)
		fail("a pinned importer's revoked range was reused at once");
	selftest_cmd("drop", 1);
	if (t_counter(dev, "used") != before)
		fail("the revoked range is still taken after the importer unpinned (used %llu, "
		     "want %llu): it waits for the fd to close",
		     (unsigned long long)t_counter(dev, "used"), (unsigned long long)before);
	printf("RESULT: a revoked range stays taken while pinned, returns at the unpin\n");
	close(a.fd);
	close(dev);
	return 0;
}

T_CASE(case_drain_unbind, "drain-unbind", 1, "PCI")
{
	const char *pci = argv[0];
	int dev = open_dev(), status;
	struct p2pbar_alloc a = alloc(dev, 16 * page);
	pid_t child;

	close(dev);
	hold_pin(a.fd);
	close(a.fd); /* the importer holds the buffer */
	child = fork();
	if (child < 0)
		fail("fork");
	if (!child) {
		sysfs_write("/sys/bus/pci/drivers/p2pbar/unbind", pci);
		_exit(0);
	}
	sleep(3);
	if (waitpid(child, &status, WNOHANG) == child)
		fail("unbind returned while an importer still pinned the buffer");
	selftest_cmd("drop", 1);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("unbind failed after the importer let go");
	printf("RESULT: unbind waits until the pinned importer lets go\n");
	sysfs_write("/sys/bus/pci/drivers/p2pbar/bind", pci);
	return 0;
}

int main(int argc, char **argv)
{
	return t_main(&exporter_program, argc, argv);
}
