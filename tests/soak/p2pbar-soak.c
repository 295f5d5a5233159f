// SPDX-License-Identifier: GPL-2.0
/*
 * make soak's rxe loops (tests/soak/soak.sh runs them in the debug guest).
 *
 * usage: p2pbar-soak revoke reset|unbind NODE PCI ITER SIZE SEED
 *        p2pbar-soak traffic SIZE STOP_FILE
 *
 * revoke, ITER times: RDMA WRITEs stream into a dma-buf MR on a new SIZE
 * buffer while a child RESETs the device or unbinds it; the first failed
 * completion must be IBV_WC_REM_ACCESS_ERR and no WR posted after the
 * revoke may succeed (traffic fails cleanly). The revoked MR deregisters;
 * after unbind the device is bound again. Then, on fresh QPs, a new
 * buffer's MR takes an RDMA WRITE of SIZE patterned bytes (checked through
 * its mmap) and gives them back by RDMA READ (checked): traffic works
 * again. With reset, a second buffer is pinned by the test importer
 * (p2pbar_selftest.ko "hold-pin") during the RESET: it is revoked too, its
 * range stays taken until the importer drops it.
 *
 * traffic: RDMA WRITE and READ of SIZE between host-memory MRs, each
 * checked, until STOP_FILE exists: rxe's own traffic, which must not
 * notice p2pbar.ko being unbound or reloaded beside it.
 *
 * Both end with "SOAK iterations=N moved=BYTES verified=BYTES".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/p2pbar.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rxe-util.h"

#define CHUNK	   (64UL << 10)
#define ST_CONTROL "/sys/kernel/debug/p2pbar_selftest/control"

static uint64_t moved, verified;

/* The device's bytes in use (sysfs: the counters are not in INFO). */
static uint64_t dev_used(const char *node)
{
	char path[96];
	uint64_t v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/p2pbar/%s/used", strrchr(node, '/') + 1);
	f = fopen(path, "r");
	if (!f)
		FAIL("%s: %s", path, strerror(errno));
	n = fscanf(f, "%" SCNu64, &v);
	fclose(f);
	if (n != 1)
		FAIL("%s: not a number", path);
	return v;
}

static bool revoked(const char *node, int fd)
{
	struct p2pbar_buf_info bi = { .argsz = sizeof(bi), .fd = fd };
	int dev = open(node, O_RDWR | O_CLOEXEC);

	if (dev < 0 || ioctl(dev, P2PBAR_IOCTL_BUF_INFO, &bi))
		FAIL("BUF_INFO: %s", strerror(errno));
	close(dev);
	return bi.status & P2PBAR_BUF_REVOKED;
}

static void selftest_cmd(const char *cmd)
{
	char out[4096];
	int fd = open(ST_CONTROL, O_RDWR);
	ssize_t n;

	if (fd < 0)
		FAIL("%s: %s (is p2pbar_selftest.ko loaded?)", ST_CONTROL, strerror(errno));
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		FAIL("selftest \"%s\": %s", cmd, strerror(errno));
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	if (n < 0)
		FAIL("read %s: %s", ST_CONTROL, strerror(errno));
	out[n] = 0;
	if (strstr(out, "FAIL ") || !strstr(out, "PASS "))
		FAIL("selftest \"%s\": %s", cmd, out);
}

struct revoke_arg {
	const char *how, *node, *pci;
};

/* Child: once *streamed WRs have completed, RESET or unbind; exit status 0 if done. */
static void revoker(void *arg, volatile int *streamed)
{
	const struct revoke_arg *ra = arg;

	revoker_wait(streamed);
	if (strcmp(ra->how, "reset"))
		revoker_unbind(ra->pci);
	else if (revoker_reset(ra->node) != 2)
		_exit(3); /* the streamed buffer and the importer's pinned one */
}

/* WRITE @len patterned bytes into a new MR on @b, READ them back: both checked. */
static void write_read_back(struct rdma *r, struct dbuf *b, uint8_t *h, struct ibv_mr *hmr,
			    size_t len, uint64_t seed)
{
	struct ibv_mr *mr = ibv_reg_dmabuf_mr(r->pd, 0, len, IOVA_BASE, b->fd, ACCESS_ALL);

	if (!mr)
		FAIL("ibv_reg_dmabuf_mr on the new buffer: %s", strerror(errno));
	fill(h, len, seed);
	post(r->qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, len, mr->rkey, IOVA_BASE);
	wait_wc(r->cq, 1, "RDMA WRITE into the new buffer");
	check("the new buffer after an RDMA WRITE", b->map, len, seed);
	memset(h, 0, len);
	post(r->qp[0], IBV_WR_RDMA_READ, hmr, (uintptr_t)h, len, mr->rkey, IOVA_BASE);
	wait_wc(r->cq, 1, "RDMA READ of the new buffer");
	check("an RDMA READ of the new buffer", h, len, seed);
	moved += 2 * len;
	verified += 2 * len;
	if (ibv_dereg_mr(mr))
		FAIL("ibv_dereg_mr: %s", strerror(errno));
}

static int soak_revoke(int argc, char **argv)
{
	const char *how, *pci;
	char node[64];
	size_t len;
	unsigned long iter;
	uint64_t seed;
	struct rdma r;
	struct ibv_mr *hmr;
	uint8_t *h;

	if (argc != 8 || (strcmp(argv[2], "reset") && strcmp(argv[2], "unbind")))
		FAIL("usage: revoke reset|unbind NODE PCI ITER SIZE SEED");
	how = argv[2];
	snprintf(node, sizeof(node), "%s", argv[3]);
	pci = argv[4];
	iter = strtoul(argv[5], NULL, 0);
	len = strtoull(argv[6], NULL, 0);
	seed = strtoull(argv[7], NULL, 0);
	if (len < 16 * CHUNK || len % CHUNK)
		FAIL("SIZE must be a multiple of %lu, at least 16 of them", CHUNK);
	rdma_open(&r);
	h = aligned_alloc(PAGE, len);
	hmr = h ? ibv_reg_mr(r.pd, h, len, ACCESS_ALL) : NULL;
	if (!hmr)
		FAIL("host MR: %s", strerror(errno));
	for (unsigned long it = 0; it < iter; it++) {
		struct dbuf b = dbuf_p2pbar(node, len), pin = { .fd = -1 }, nb;
		struct ibv_mr *dmr;
		uint64_t used = 0;
		char cmd[32];

		dmr = ibv_reg_dmabuf_mr(r.pd, 0, len, IOVA_BASE, b.fd, ACCESS_ALL);
		if (!dmr)
			FAIL("ibv_reg_dmabuf_mr: %s", strerror(errno));
		if (!strcmp(how, "reset")) {
			pin = dbuf_p2pbar(node, 16 * PAGE);
			snprintf(cmd, sizeof(cmd), "hold-pin %d", pin.fd);
			selftest_cmd(cmd);
			used = dev_used(node);
		}
		fill(h, CHUNK, seed + it);
		moved += CHUNK * stream_until_revoked(&r, dmr, hmr, h, CHUNK, len / CHUNK, how,
						      revoker,
						      &(struct revoke_arg){ how, node, pci });
		requeue_qps(&r);
		if (ibv_dereg_mr(dmr))
			FAIL("ibv_dereg_mr of the revoked MR: %s", strerror(errno));
		if (pin.fd >= 0) {
			if (!revoked(node, pin.fd))
				FAIL("RESET left the importer's pinned buffer unrevoked");
			/* the streamed buffer's range is free, the pinned one's taken */
			if (dev_used(node) != used - len)
				FAIL("used %" PRIu64 " after RESET, want %" PRIu64
				     " (the pinned range only)",
				     dev_used(node), used - len);
			selftest_cmd("drop");
			dbuf_free(&pin);
		}
		dbuf_free(&b);
		if (!strcmp(how, "unbind")) {
			int f = open("/sys/bus/pci/drivers/p2pbar/bind", O_WRONLY);

			if (f < 0 || write(f, pci, strlen(pci)) < 0)
				FAIL("cannot bind %s again: %s", pci, strerror(errno));
			close(f);
			p2pbar_node(node, sizeof(node));
		}
		nb = dbuf_p2pbar(node, len);
		dbuf_map(&nb);
		write_read_back(&r, &nb, h, hmr, len, seed + it + 0x10000);
		dbuf_free(&nb);
	}
	ibv_dereg_mr(hmr);
	free(h);
	printf("SOAK iterations=%lu moved=%" PRIu64 " verified=%" PRIu64 "\n", iter, moved,
	       verified);
	return 0;
}

static int soak_traffic(int argc, char **argv)
{
	struct ibv_mr *amr, *bmr;
	unsigned long n = 0;
	struct rdma r;
	uint8_t *a, *b;
	size_t len;

	if (argc != 4)
		FAIL("usage: traffic SIZE STOP_FILE");
	len = strtoull(argv[2], NULL, 0);
	rdma_open(&r);
	a = aligned_alloc(PAGE, len);
	b = aligned_alloc(PAGE, len);
	amr = a ? ibv_reg_mr(r.pd, a, len, ACCESS_ALL) : NULL;
	bmr = b ? ibv_reg_mr(r.pd, b, len, ACCESS_ALL) : NULL;
	if (!amr || !bmr)
		FAIL("host MRs: %s", strerror(errno));
	while (access(argv[3], F_OK)) {
		fill(a, len, 0x7aff0000 + n);
		memset(b, 0, len);
		post(r.qp[0], IBV_WR_RDMA_WRITE, amr, (uintptr_t)a, len, bmr->rkey, (uintptr_t)b);
		wait_wc(r.cq, 1, "host-memory RDMA WRITE beside the soak");
		check("host-memory RDMA WRITE", b, len, 0x7aff0000 + n);
		memset(a, 0, len);
		post(r.qp[0], IBV_WR_RDMA_READ, amr, (uintptr_t)a, len, bmr->rkey, (uintptr_t)b);
		wait_wc(r.cq, 1, "host-memory RDMA READ beside the soak");
		check("host-memory RDMA READ", a, len, 0x7aff0000 + n);
		moved += 2 * len;
		verified += 2 * len;
		n++;
		usleep(100000); /* leave the two vCPUs to what is soaked */
	}
	printf("SOAK iterations=%lu moved=%" PRIu64 " verified=%" PRIu64 "\n", n, moved, verified);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "revoke"))
		return soak_revoke(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "traffic"))
		return soak_traffic(argc, argv);
	FAIL("usage: p2pbar-soak revoke reset|unbind NODE PCI ITER SIZE SEED | traffic SIZE "
	     "STOP_FILE");
}
