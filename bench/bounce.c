// SPDX-License-Identifier: MIT
/*
 * bounce: receive a stream of RDMA messages into device memory, either
 * straight into the BAR (a p2pbar dma-buf MR) or, as an application must
 * without peer-to-peer, into a host staging buffer that it then copies
 * into the BAR with the CPU. Both modes run the same protocol, so the
 * difference is the staging copy and the MR type:
 *   the client RDMA-WRITEs-with-immediate message i into slot i % SLOTS of
 *   the server's target (BAR or staging buffer); the server, on the
 *   completion, copies the slot into the same slot of its BAR buffer
 *   (bounce mode only), checks the message's first word and returns a
 *   credit (a zero-length SEND). The client keeps at most SLOTS messages
 *   in flight. Time: first post to last credit, at the client.
 * After each round the server verifies both BAR slots word by word.
 *
 * usage: bounce server MAX_SIZE PORT
 *        bounce client MAX_SIZE PORT SERVER_IP REPEAT BYTES SIZE...
 * A round sends BYTES / SIZE messages (MIN_MSGS .. MAX_MSGS). The client
 * prints one "BOUNCE mode size repeat MiB/s" line per round; modes
 * alternate within each size and repetition, direct first in even
 * repetitions and bounce first in odd ones (no order favours a mode).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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

#define SLOTS	 2 /* double buffering: copy one slot while the next lands */
#define RECVS	 16
#define DEV_IOVA 0x100000000ULL
#define SEED	 0xb0c3ULL
#define MIN_MSGS 8
#define MAX_MSGS 256 /* bounds a round of small messages under TCG */

enum mode { DIRECT, BOUNCE };
static const char *const mode_name[] = { "direct", "bounce" };

struct peer_info {
	uint32_t qpn;
	uint32_t dev_rkey;
	uint32_t host_rkey;
	uint32_t pad;
	uint64_t host_addr;
	uint8_t gid[16];
};

/* One round, announced by the client over the side channel. */
struct round {
	uint32_t mode;
	uint32_t count;
	uint64_t size;
};

struct node {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *scq, *rcq;
	struct ibv_qp *qp;
	enum ibv_mtu mtu;
	int gid_idx;
	union ibv_gid gid;
	struct p2pbar_mem bar; /* server: SLOTS * MAX_SIZE in the BAR */
	struct ibv_mr *bar_mr;
	uint64_t *host; /* server: staging; client: source */
	struct ibv_mr *host_mr;
};

static void setup(struct node *n, size_t len, int server)
{
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
				       .cap = { .max_send_wr = RECVS,
						.max_recv_wr = RECVS,
						.max_send_sge = 1,
						.max_recv_sge = 1 } };
	const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	struct ibv_port_attr port;

	n->ctx = open_device(&port);
	n->mtu = port.active_mtu;
	n->pd = ibv_alloc_pd(n->ctx);
	n->scq = ibv_create_cq(n->ctx, 2 * RECVS, NULL, NULL, 0);
	n->rcq = ibv_create_cq(n->ctx, 2 * RECVS, NULL, NULL, 0);
	if (!n->pd || !n->scq || !n->rcq)
		die("pd/cq: %s", strerror(errno));
	qa.send_cq = n->scq;
	qa.recv_cq = n->rcq;
	n->qp = ibv_create_qp(n->pd, &qa);
	if (!n->qp)
		die("ibv_create_qp: %s", strerror(errno));
	n->gid_idx = find_gid(n->ctx, &n->gid, true);

	n->host = aligned_alloc(4096, len);
	if (!n->host)
		die("no memory for %zu bytes", len);
	memset(n->host, 0, len);
	n->host_mr = ibv_reg_mr(n->pd, n->host, len, access);
	if (!n->host_mr)
		die("host MR: %s", strerror(errno));
	if (server) {
		struct p2pbar_context *dev;
		int err = p2pbar_open_device(NULL, &dev);

		if (!err)
			err = p2pbar_mem_alloc(dev, len, 0, P2PBAR_PLACEMENT_DEVICE, &n->bar);
		if (!err)
			err = p2pbar_mem_map(&n->bar);
		if (err)
			die("p2pbar: %s", p2pbar_last_error());
		p2pbar_close_device(dev);
		n->bar_mr = p2pbar_reg_mr(n->pd, &n->bar, 0, len, DEV_IOVA, access);
		if (!n->bar_mr)
			die("p2pbar_reg_mr: %s", p2pbar_last_error());
	}
}

/* Wait for one message or credit on the receive CQ; returns its immediate data. */
static uint32_t wait_recv(struct node *n)
{
	uint32_t imm = ntohl(spin_wc(n->rcq, 1, "receive").imm_data);

	post_recv(n->qp, NULL, 0, 0); /* in place of the one it used */
	return imm;
}

/* Server side of one round; returns nonzero when the BAR is wrong. */
static int serve_round(struct node *n, const struct round *r)
{
	const size_t words = r->size / 8;
	uint64_t *bar = n->bar.map;

	for (uint32_t i = 0; i < r->count; i++) {
		uint32_t msg = wait_recv(n);
		size_t slot = (size_t)(msg % SLOTS) * r->size;

		if (r->mode == BOUNCE)
			memcpy((char *)bar + slot, (char *)n->host + slot, r->size);
		if (msg != i || bar[slot / 8] != i)
			die("message %u: got %u, first word %" PRIu64, i, msg, bar[slot / 8]);
		post_send(n->qp, IBV_WR_SEND, NULL, 0, 0, 0, 0, 0); /* the credit */
		spin_wc(n->scq, 1, "credit");
	}
	for (uint32_t s = 0; s < SLOTS && s < r->count; s++) {
		const uint64_t *p = bar + s * words;

		for (size_t w = 1; w < words; w++)
			if (p[w] != p2pbar_pattern_word(SEED, w))
				return 1;
	}
	return 0;
}

/* Client side of one round; returns MiB/s. */
static double run_round(struct node *n, const struct peer_info *peer, const struct round *r)
{
	uint64_t base = r->mode == DIRECT ? DEV_IOVA : peer->host_addr;
	uint32_t rkey = r->mode == DIRECT ? peer->dev_rkey : peer->host_rkey;
	double t0 = now();

	for (uint32_t i = 0; i < r->count; i++) {
		size_t slot = (size_t)(i % SLOTS) * r->size;

		if (i >= SLOTS)
			wait_recv(n); /* a credit: slot i % SLOTS is free again */
		n->host[slot / 8] = i;
		post_send(n->qp, IBV_WR_RDMA_WRITE_WITH_IMM, n->host_mr, (uintptr_t)n->host + slot,
			  r->size, rkey, base + slot, i);
		spin_wc(n->scq, 1, "RDMA WRITE_WITH_IMM");
	}
	for (uint32_t i = 0; i < SLOTS && i < r->count; i++)
		wait_recv(n);
	return (double)r->size * r->count / (now() - t0) / (1 << 20);
}

int main(int argc, char **argv)
{
	struct peer_info me = { 0 }, peer;
	struct node n = { 0 };
	union ibv_gid peer_gid;
	size_t max, len;
	int server, sock;

	if (argc < 4 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")) ||
	    (!strcmp(argv[1], "client") && argc < 8))
		die("usage: bounce server MAX_SIZE PORT | "
		    "client MAX_SIZE PORT SERVER_IP REPEAT BYTES SIZE...");
	server = !strcmp(argv[1], "server");
	max = strtoull(argv[2], NULL, 0);
	if (!max || max % 8)
		die("MAX_SIZE must be a positive multiple of 8");
	len = SLOTS * max;

	setup(&n, len, server);
	me.qpn = n.qp->qp_num;
	me.dev_rkey = server ? n.bar_mr->rkey : 0;
	me.host_rkey = n.host_mr->rkey;
	me.host_addr = (uintptr_t)n.host;
	memcpy(me.gid, n.gid.raw, 16);

	sock = sock_open(server ? NULL : argv[4], atoi(argv[3]), 60);
	sock_swap(sock, &me, &peer, sizeof(me));
	memcpy(peer_gid.raw, peer.gid, 16);
	qp_connect(n.qp, peer.qpn, &peer_gid, n.gid_idx, n.mtu, IBV_ACCESS_REMOTE_WRITE, 1);
	for (int i = 0; i < RECVS; i++)
		post_recv(n.qp, NULL, 0, 0);
	sock_barrier(sock); /* both QPs are ready, receives posted */

	if (server) {
		struct round r;

		for (;;) {
			char bad;

			xfer(sock, &r, sizeof(r), false);
			if (!r.count)
				break;
			if (r.size > max || r.size % 8 || r.mode > BOUNCE)
				die("bad round: mode %u size %" PRIu64, r.mode, r.size);
			bad = serve_round(&n, &r);
			xfer(sock, &bad, 1, true);
		}
	} else {
		int repeat = atoi(argv[5]);
		uint64_t bytes = strtoull(argv[6], NULL, 0);

		for (int a = 7; a < argc; a++) {
			struct round r = { .size = strtoull(argv[a], NULL, 0) };

			if (!r.size || r.size > max || r.size % 8)
				die("size %s: a multiple of 8 up to MAX_SIZE", argv[a]);
			r.count = bytes / r.size;
			r.count = r.count < MIN_MSGS   ? MIN_MSGS
				  : r.count > MAX_MSGS ? MAX_MSGS
						       : r.count;
			/* the same pattern in every slot, with the message index in word 0 */
			for (size_t s = 0; s < SLOTS; s++)
				p2pbar_pattern_fill(n.host + s * r.size / 8, r.size, SEED);
			for (int k = 0; k < repeat; k++) {
				for (int m = 0; m < 2; m++) {
					double mibs;
					char bad;

					r.mode = (m + k) % 2 ? BOUNCE : DIRECT;

					xfer(sock, &r, sizeof(r), true);
					mibs = run_round(&n, &peer, &r);
					xfer(sock, &bad, 1, false);
					if (bad)
						die("%s %" PRIu64
						    ": the server found wrong bytes in its "
						    "BAR",
						    mode_name[r.mode], r.size);
					printf("BOUNCE %s %" PRIu64 " %d %.1f\n", mode_name[r.mode],
					       r.size, k, mibs);
					fflush(stdout);
				}
			}
		}
		struct round end = { 0 };

		xfer(sock, &end, sizeof(end), true);
	}
	close(sock);
	ibv_dereg_mr(n.host_mr);
	if (n.bar_mr)
		ibv_dereg_mr(n.bar_mr);
	ibv_destroy_qp(n.qp);
	ibv_destroy_cq(n.scq);
	ibv_destroy_cq(n.rcq);
	ibv_dealloc_pd(n.pd);
	ibv_close_device(n.ctx);
	if (server)
		p2pbar_mem_free(&n.bar);
	free(n.host);
	return 0;
}
