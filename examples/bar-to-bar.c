// SPDX-License-Identifier: MIT
/*
 * bar-to-bar: RDMA WRITE from one node's device memory into another node's
 * device memory, with no host-memory staging on either side.
 *
 * A reference for using libp2pbar with verbs:
 *   p2pbar_open_device()/p2pbar_mem_alloc()   a buffer in the accelerator's BAR,
 *                                  handed out as a dma-buf fd
 *   p2pbar_reg_mr()                ibv_reg_dmabuf_mr() on that fd
 *   ibv_post_send(RDMA_WRITE)      local dma-buf MR -> remote dma-buf MR
 *   ibv_post_send(RDMA_READ)       remote dma-buf MR -> local dma-buf MR
 * Keys are exchanged over a TCP side channel. For comparison the same
 * transfer also runs between two host-memory MRs on the same QP. The
 * plumbing that is not about p2pbar (the side channel, the QP's INIT ->
 * RTR -> RTS, timing, errors) is in util/rdma-util.h.
 *
 * usage: bar-to-bar server SIZE PORT OUT_FILE [SEED]
 *        bar-to-bar client SIZE PORT SERVER_IP [SEED]
 * The server (the target) checks the bytes that landed in its device and
 * host buffers, then writes "BAR_OFFSET SIZE SEED" to OUT_FILE, so
 * whoever can read its BAR can check them too. The client fills its
 * buffer with the pattern of SEED (p2pbar_pattern.h; both sides must
 * give the same one, default 0xba2ba2)
 * through the buffer's CPU mapping, writes it, prints the bandwidth
 * of both transfers, then clears its buffer, reads the peer's back into it
 * and compares.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <infiniband/verbs.h>
#include <inttypes.h>
#include <libp2pbar.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pbar_pattern.h"
#include "rdma-util.h"

#define SEED	 0xba2ba2ULL	/* the default */
#define DEV_IOVA 0x100000000ULL /* any iova: the MR is addressed by it */
#define REPEAT	 3

/* What each side tells the other. */
struct peer_info {
	uint32_t qpn;
	uint32_t dev_rkey;
	uint32_t host_rkey;
	uint32_t pad;
	uint64_t dev_iova;
	uint64_t host_addr;
	uint8_t gid[16];
};

struct node {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	enum ibv_mtu mtu;
	int gid_idx;
	union ibv_gid gid;
	struct p2pbar_mem buf; /* device memory */
	struct ibv_mr *dev_mr;
	void *host; /* host memory, for comparison */
	struct ibv_mr *host_mr;
};

static void setup(struct node *n, size_t size)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4, .max_send_sge = 1, .max_recv_sge = 1 }
	};
	const int access =
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct p2pbar_context *dev;
	struct ibv_port_attr port;
	int err;

	/* 1. device memory: a buffer in the accelerator's BAR, as a dma-buf */
	err = p2pbar_open_device(NULL, &dev);
	if (!err)
		err = p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, &n->buf);
	if (err)
		die("p2pbar: %s", p2pbar_last_error());
	p2pbar_close_device(dev);

	/* 2. verbs resources on the first RDMA device */
	if (!list || !list[0])
		die("no RDMA device");
	n->ctx = ibv_open_device(list[0]);
	ibv_free_device_list(list);
	if (!n->ctx || ibv_query_port(n->ctx, 1, &port))
		die("cannot open the RDMA device");
	n->mtu = port.active_mtu;
	n->pd = ibv_alloc_pd(n->ctx);
	n->cq = ibv_create_cq(n->ctx, 8, NULL, NULL, 0);
	if (!n->pd || !n->cq)
		die("pd/cq: %s", strerror(errno));
	qa.send_cq = qa.recv_cq = n->cq;
	n->qp = ibv_create_qp(n->pd, &qa);
	if (!n->qp)
		die("ibv_create_qp: %s", strerror(errno));
	n->gid_idx = find_gid(n->ctx, &n->gid, true); /* routable: not link-local */

	/* 3. the MRs: the dma-buf one through libp2pbar, a host one beside */
	n->dev_mr = p2pbar_reg_mr(n->pd, &n->buf, 0, size, DEV_IOVA, access);
	if (!n->dev_mr)
		die("p2pbar_reg_mr: %s", p2pbar_last_error());
	n->host = aligned_alloc(4096, size);
	n->host_mr = n->host ? ibv_reg_mr(n->pd, n->host, size, access) : NULL;
	if (!n->host_mr)
		die("host MR: %s", strerror(errno));
}

/* One RDMA WRITE or READ of the whole buffer; returns the seconds it took. */
static double rdma_op(struct node *n, enum ibv_wr_opcode op, struct ibv_mr *lmr, uint64_t laddr,
		      uint32_t rkey, uint64_t raddr, size_t size)
{
	struct ibv_sge sge = { .addr = laddr, .length = size, .lkey = lmr->lkey };
	struct ibv_send_wr wr = { .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_wc wc;
	double t0 = now();
	int k;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	if (ibv_post_send(n->qp, &wr, &bad))
		die("ibv_post_send: %s", strerror(errno));
	while (!(k = ibv_poll_cq(n->cq, 1, &wc)))
		;
	if (k < 0 || wc.status != IBV_WC_SUCCESS)
		die("RDMA %s failed: %s", op == IBV_WR_RDMA_READ ? "READ" : "WRITE",
		    ibv_wc_status_str(wc.status));
	return now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct peer_info me = { 0 }, peer;
	struct node n = { 0 };
	union ibv_gid peer_gid;
	unsigned long long seed = SEED;
	int server, sock;
	size_t size;

	if (argc < 5 || argc > 6 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")))
		die("usage: bar-to-bar server SIZE PORT OUT_FILE [SEED] | client SIZE PORT "
		    "SERVER_IP [SEED]");
	server = !strcmp(argv[1], "server");
	size = strtoull(argv[2], NULL, 0);
	if (argc == 6)
		seed = strtoull(argv[5], NULL, 0);
	if (!size || size % 8)
		die("SIZE must be a positive multiple of 8");

	setup(&n, size);
	me.qpn = n.qp->qp_num;
	me.dev_rkey = n.dev_mr->rkey;
	me.host_rkey = n.host_mr->rkey;
	me.dev_iova = DEV_IOVA;
	me.host_addr = (uintptr_t)n.host;
	memcpy(me.gid, n.gid.raw, 16);

	/* 4. swap QP numbers, keys and addresses; connect the QP to the peer's */
	sock = sock_open(server ? NULL : argv[4], atoi(argv[3]), 60);
	sock_swap(sock, &me, &peer, sizeof(me));
	memcpy(peer_gid.raw, peer.gid, 16);
	qp_connect(n.qp, peer.qpn, &peer_gid, n.gid_idx, n.mtu,
		   IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ, 4);
	sock_barrier(sock); /* both QPs are ready */

	if (server) {
		int64_t bad;
		char done;
		FILE *f;

		xfer(sock, &done, 1, false); /* the client is done with our buffer */
		if (p2pbar_mem_map(&n.buf))
			die("map: %s", p2pbar_last_error());
		bad = p2pbar_pattern_check(n.buf.map, size, seed);
		if (bad >= 0)
			die("the RDMA WRITEs into our device buffer: byte %" PRId64 " differs",
			    bad);
		bad = p2pbar_pattern_check(n.host, size, seed);
		if (bad >= 0)
			die("the RDMA WRITEs into our host buffer: byte %" PRId64 " differs", bad);
		f = fopen(argv[4], "w");
		if (!f)
			die("%s: %s", argv[4], strerror(errno));
		fprintf(f, "%" PRIu64 " %zu %llu\n", n.buf.offset, size, seed);
		fclose(f);
		printf("server: %zu bytes received in device memory at BAR offset %#" PRIx64
		       ", checked\n",
		       size, n.buf.offset);
	} else {
		double t_dev[REPEAT], t_host[REPEAT], t_read;
		int64_t bad;
		/* fill the source buffer in device memory through the CPU */
		if (p2pbar_mem_map(&n.buf))
			die("map: %s", p2pbar_last_error());
		p2pbar_pattern_fill(n.buf.map, size, seed);
		memcpy(n.host, n.buf.map, size);

		rdma_op(&n, IBV_WR_RDMA_WRITE, n.host_mr, (uintptr_t)n.host, peer.host_rkey,
			peer.host_addr, 4096); /* warm up */
		for (int i = 0; i < REPEAT; i++) {
			t_host[i] = rdma_op(&n, IBV_WR_RDMA_WRITE, n.host_mr, (uintptr_t)n.host,
					    peer.host_rkey, peer.host_addr, size);
			t_dev[i] = rdma_op(&n, IBV_WR_RDMA_WRITE, n.dev_mr, DEV_IOVA, peer.dev_rkey,
					   peer.dev_iova, size);
		}

		/*
		 * Read the peer's device buffer back into ours (cleared first)
		 * and compare: device memory -> device memory the other way.
		 */
		memset(n.buf.map, 0, size);
		t_read = rdma_op(&n, IBV_WR_RDMA_READ, n.dev_mr, DEV_IOVA, peer.dev_rkey,
				 peer.dev_iova, size);
		bad = p2pbar_pattern_check(n.buf.map, size, seed);
		if (bad >= 0)
			die("RDMA READ of the peer's device buffer: byte %" PRId64 " differs", bad);
		xfer(sock, &me, 1, true); /* done: the server may go */
		qsort(t_dev, REPEAT, sizeof(double), cmp_double);
		qsort(t_host, REPEAT, sizeof(double), cmp_double);
		printf("client: RDMA WRITE %zu bytes, median of %d, alternating:\n", size, REPEAT);
		printf("  device memory -> device memory (dma-buf MRs): %.3f s, %.1f MiB/s\n",
		       t_dev[REPEAT / 2], size / t_dev[REPEAT / 2] / (1 << 20));
		printf("  host memory   -> host memory   (host MRs):    %.3f s, %.1f MiB/s\n",
		       t_host[REPEAT / 2], size / t_host[REPEAT / 2] / (1 << 20));
		printf("  ratio dma-buf / host: %.2f\n", t_host[REPEAT / 2] / t_dev[REPEAT / 2]);
		printf("client: RDMA READ of the peer's device buffer into ours: %.3f s, %.1f "
		       "MiB/s, content verified\n",
		       t_read, size / t_read / (1 << 20));
	}
	close(sock);
	ibv_dereg_mr(n.dev_mr);
	ibv_dereg_mr(n.host_mr);
	ibv_destroy_qp(n.qp);
	ibv_destroy_cq(n.cq);
	ibv_dealloc_pd(n.pd);
	ibv_close_device(n.ctx);
	p2pbar_mem_free(&n.buf);
	free(n.host);
	return 0;
}
