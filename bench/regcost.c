// SPDX-License-Identifier: MIT
/*
 * regcost: what registering memory with the RDMA device costs, host memory
 * (ibv_reg_mr: the kernel pins and maps every page) against a p2pbar
 * dma-buf (ibv_reg_dmabuf_mr: the importer attaches to the buffer), and
 * what deregistering costs. Host buffers are touched before they are
 * registered, so page faults are not counted; each size's buffers are
 * allocated once and registered REPEAT times, host and dma-buf alternating.
 *
 * usage: regcost REPEAT SIZE...
 * Prints one "REG kind size repeat reg_us dereg_us" line per registration
 * (kind: host or dmabuf).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <infiniband/verbs.h>
#include <inttypes.h>
#include <libp2pbar.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdma-util.h"

static const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* Time one registration and its deregistration. */
static void time_one(const char *kind, struct ibv_pd *pd, void *host, struct p2pbar_mem *buf,
		     uint64_t size, int k)
{
	struct ibv_mr *mr;
	double t0, t1, t2;

	t0 = now_us();
	if (host)
		mr = ibv_reg_mr(pd, host, size, access);
	else
		mr = ibv_reg_dmabuf_mr(pd, 0, size, 0, buf->fd, access);
	t1 = now_us();
	if (!mr)
		die("%s MR of %" PRIu64 " bytes: %s", kind, size, strerror(errno));
	if (ibv_dereg_mr(mr))
		die("deregistering the %s MR: %s", kind, strerror(errno));
	t2 = now_us();
	printf("REG %s %" PRIu64 " %d %.1f %.1f\n", kind, size, k, t1 - t0, t2 - t1);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct p2pbar_context *dev;
	struct ibv_pd *pd;
	int repeat;

	if (argc < 3)
		die("usage: regcost REPEAT SIZE...");
	repeat = atoi(argv[1]);
	if (repeat < 1)
		die("REPEAT must be at least 1");
	ctx = open_device(NULL);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd: %s", strerror(errno));
	if (p2pbar_open_device(NULL, &dev))
		die("p2pbar: %s", p2pbar_last_error());

	for (int a = 2; a < argc; a++) {
		uint64_t size = strtoull(argv[a], NULL, 0);
		struct p2pbar_mem buf;
		void *host;

		if (!size || size % 4096)
			die("size %s: a positive multiple of 4096", argv[a]);
		host = aligned_alloc(4096, size);
		if (!host)
			die("no memory for %" PRIu64 " bytes", size);
		memset(host, 0x5a, size);
		if (p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, &buf))
			die("p2pbar_mem_alloc %" PRIu64 ": %s", size, p2pbar_last_error());
		for (int k = 0; k < repeat; k++) {
			time_one("host", pd, host, NULL, size, k);
			time_one("dmabuf", pd, NULL, &buf, size, k);
		}
		p2pbar_mem_free(&buf);
		free(host);
	}
	p2pbar_close_device(dev);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}
