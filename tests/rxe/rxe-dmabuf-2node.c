// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf MRs on soft-RoCE across two guests (tests/rxe/rxe-dmabuf-2node.sh).
 *
 * usage (tests/lib/t_harness.h):
 *   rxe-dmabuf-2node serve /dev/p2pbarN PORT FILL_TXT          (node 1)
 *   rxe-dmabuf-2node drive /dev/p2pbarN PORT PEER_IP FILL_TXT  (node 0)
 *
 * Each node has a host MR and a p2pbar dma-buf MR (BAR memory, registered at
 * an unaligned offset of the dma-buf with an arbitrary iova). They swap QP
 * and MR details over a TCP side channel. The driver (node 0) then runs
 * every combination of {local host, local dma-buf} x {remote host, remote
 * dma-buf} x {WRITE, READ, SEND/RECV, WRITE_WITH_IMM} for sizes 1 B .. 1 MiB
 * + 13 at unaligned offsets, and WRITE and READ of 64 MiB. The node that
 * receives the data checks every byte (node 1 through its dma-buf mmap or
 * host buffer, and its RECV/imm completion) and answers over the side
 * channel; a failure names the combination. At the end each node's BAR
 * holds a pattern put there by RDMA (a READ into node 0's, a WRITE into
 * node 1's) and FILL_TXT says where ("offset length seed"), for the host to
 * check in the ivshmem files (testbed/bar-verify.py). The 64 MiB
 * transfers are timed: a RESULT table of host-MR vs dma-buf-MR bandwidth.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "rxe-util.h"

#define MAX_LEN	    (64UL << 20)
#define MR_SPAN	    (MAX_LEN + 4 * PAGE) /* room for unaligned data offsets */
#define DBUF_MR_OFF (PAGE + 0x123)	 /* where the dma-buf MR starts */
#define IOVA	    0x7a5500000123ULL	 /* same page offset as DBUF_MR_OFF */

enum kind { HOST, DBUF };
static const char *const kind_name[] = { "host", "dmabuf" };

enum op { OP_WRITE, OP_READ, OP_SEND, OP_WRITE_IMM, OP_COUNT };
static const char *const op_name[] = { "WRITE", "READ", "SEND/RECV", "WRITE_WITH_IMM" };
static const enum ibv_wr_opcode wr_op[] = { IBV_WR_RDMA_WRITE, IBV_WR_RDMA_READ, IBV_WR_SEND,
					    IBV_WR_RDMA_WRITE_WITH_IMM };

struct node {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct dbuf b;
	uint8_t *host;
	struct ibv_mr *mr[2];
	uint64_t base[2];	  /* address of byte 0 of each MR: VA or iova */
	volatile uint8_t *cpu[2]; /* byte 0 of each MR as the CPU sees it */
	int sock;
};

/* What each node tells the other. */
struct wire_info {
	uint32_t qpn;
	uint32_t rkey[2];
	uint32_t pad;
	uint64_t base[2];
	uint8_t gid[16];
};

/* The driver's requests to node 1, and node 1's answers. */
enum cmd { CMD_PREP, CMD_FILL, CMD_CHECK, CMD_LEAVE, CMD_BYE };

struct req {
	uint32_t cmd, op, kind, len;
	uint64_t off, seed;
};

struct reply {
	int32_t ok;
	char why[220];
};

/* Buffers, MRs and a QP; then swap details with the peer and connect. */
static void node_up(struct node *n, const char *p2pbar, const char *peer_ip, int port,
		    struct wire_info *out)
{
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
				       .cap = { .max_send_wr = 16,
						.max_recv_wr = 16,
						.max_send_sge = 1,
						.max_recv_sge = 1 } };
	struct wire_info me = { 0 }, peer;
	struct ibv_port_attr port_attr;
	union ibv_gid gid, peer_gid;
	int gid_idx;

	n->ctx = open_device(&port_attr);
	n->pd = ibv_alloc_pd(n->ctx);
	n->cq = ibv_create_cq(n->ctx, 64, NULL, NULL, 0);
	if (!n->pd || !n->cq)
		FAIL("pd/cq: %s", strerror(errno));
	qa.send_cq = qa.recv_cq = n->cq;
	n->qp = ibv_create_qp(n->pd, &qa);
	if (!n->qp)
		FAIL("ibv_create_qp: %s", strerror(errno));

	n->host = aligned_alloc(PAGE, MR_SPAN);
	if (!n->host)
		FAIL("out of memory");
	n->mr[HOST] = ibv_reg_mr(n->pd, n->host, MR_SPAN, ACCESS_ALL);
	if (!n->mr[HOST])
		FAIL("ibv_reg_mr: %s", strerror(errno));
	n->base[HOST] = (uintptr_t)n->host;
	n->cpu[HOST] = n->host;

	n->b = dbuf_p2pbar(p2pbar, DBUF_MR_OFF + MR_SPAN);
	dbuf_map(&n->b);
	n->mr[DBUF] = ibv_reg_dmabuf_mr(n->pd, DBUF_MR_OFF, MR_SPAN, IOVA, n->b.fd, ACCESS_ALL);
	if (!n->mr[DBUF])
		FAIL("ibv_reg_dmabuf_mr(offset %#lx, length %lu, iova %#llx): %s", DBUF_MR_OFF,
		     MR_SPAN, IOVA, strerror(errno));
	n->base[DBUF] = IOVA;
	n->cpu[DBUF] = n->b.map + DBUF_MR_OFF;

	gid_idx = find_gid(n->ctx, &gid, true);
	me.qpn = n->qp->qp_num;
	for (int k = HOST; k <= DBUF; k++) {
		me.rkey[k] = n->mr[k]->rkey;
		me.base[k] = n->base[k];
	}
	memcpy(me.gid, gid.raw, 16);
	n->sock = sock_open(peer_ip, port, 120); /* node 1 may not listen yet */
	sock_swap(n->sock, &me, &peer, sizeof(me));
	memcpy(peer_gid.raw, peer.gid, 16);
	qp_connect(n->qp, peer.qpn, &peer_gid, gid_idx, port_attr.active_mtu, ACCESS_ALL, 16);
	sock_barrier(n->sock); /* both QPs are ready */
	*out = peer;
}

static void node_down(struct node *n)
{
	if (ibv_dereg_mr(n->mr[DBUF]) || ibv_dereg_mr(n->mr[HOST]))
		FAIL("ibv_dereg_mr: %s", strerror(errno));
	ibv_destroy_qp(n->qp);
	ibv_destroy_cq(n->cq);
	ibv_dealloc_pd(n->pd);
	ibv_close_device(n->ctx);
	dbuf_free(&n->b);
	free(n->host);
	close(n->sock);
}

/* "offset length seed" of a region of the dma-buf MR, for the host */
static void leave(const struct node *n, const char *path, uint64_t off, uint32_t len, uint64_t seed)
{
	uint64_t at = n->b.bar_offset + DBUF_MR_OFF + off;
	FILE *f = fopen(path, "w");

	if (!f)
		FAIL("%s: %s", path, strerror(errno));
	fprintf(f, "%" PRIu64 " %" PRIu32 " %" PRIu64 "\n", at, len, seed);
	if (fclose(f))
		FAIL("%s: %s", path, strerror(errno));
	printf("left %" PRIu32 " B written by RDMA at BAR offset %#" PRIx64 " for the host\n", len,
	       at);
}

/* --- node 1: does what the driver asks, checks what arrived ---------- */

/* The RECV completion of a SEND or WRITE_WITH_IMM, as the driver sent it. */
static bool recv_ok(struct node *n, const struct req *q, char *why, size_t whylen)
{
	bool imm = q->op == OP_WRITE_IMM;
	struct ibv_wc wc = wait_wc(n->cq, 1, imm ? "RECV of WRITE_WITH_IMM" : "RECV of SEND");

	if (wc.opcode != (imm ? IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV))
		snprintf(why, whylen, "RECV completion opcode %d", wc.opcode);
	else if (wc.byte_len != q->len)
		snprintf(why, whylen, "RECV completion byte_len %u, expected %u", wc.byte_len,
			 q->len);
	else if (imm && (!(wc.wc_flags & IBV_WC_WITH_IMM) || ntohl(wc.imm_data) != IMM_DATA))
		snprintf(why, whylen, "imm_data %#x (flags %#x), expected %#x", ntohl(wc.imm_data),
			 wc.wc_flags, IMM_DATA);
	else
		return true;
	return false;
}

static int serve(struct node *n, const char *fill_txt)
{
	for (;;) {
		struct reply r = { .ok = 1 };
		uint8_t *at;
		struct req q;

		xfer(n->sock, &q, sizeof(q), false);
		if (q.kind > DBUF || q.op >= OP_COUNT || q.off + q.len > MR_SPAN)
			FAIL("bad request from the driver");
		at = (uint8_t *)n->cpu[q.kind] + q.off;
		switch (q.cmd) {
		case CMD_PREP: /* a sink: cleared, and a RECV posted when one is due */
			memset(at, 0, q.len);
			if (q.op == OP_SEND)
				post_recv(n->qp, n->mr[q.kind], n->base[q.kind] + q.off, q.len);
			if (q.op == OP_WRITE_IMM)
				post_recv(n->qp, n->mr[q.kind], 0, 0);
			break;
		case CMD_FILL: fill(at, q.len, q.seed); break;
		case CMD_CHECK:
			if (q.op == OP_SEND || q.op == OP_WRITE_IMM)
				r.ok = recv_ok(n, &q, r.why, sizeof(r.why));
			if (r.ok)
				r.ok = pattern_ok(at, q.len, q.seed, r.why, sizeof(r.why));
			if (!r.ok)
				fprintf(stderr,
					"FAIL: node 1: %s %zu B at %s MR offset %#" PRIx64 ": %s\n",
					op_name[q.op], (size_t)q.len, kind_name[q.kind], q.off,
					r.why);
			break;
		case CMD_LEAVE: leave(n, fill_txt, q.off, q.len, q.seed); break;
		case CMD_BYE: break;
		default: FAIL("bad request %u from the driver", q.cmd);
		}
		xfer(n->sock, &r, sizeof(r), true);
		if (!r.ok)
			return 1;
		if (q.cmd == CMD_BYE)
			return 0;
	}
}

/* --- node 0: drives every combination -------------------------------- */

struct driver {
	struct node n;
	struct wire_info peer;
	double mibs[OP_COUNT][2][2]; /* 64 MiB bandwidth by op, local, remote */
	int done;
};

static void ask(struct driver *d, enum cmd cmd, const struct req *c, const char *what)
{
	struct req q = *c;
	struct reply r;

	q.cmd = cmd;
	if (!xfer_ok(d->n.sock, &q, sizeof(q), true) || !xfer_ok(d->n.sock, &r, sizeof(r), false))
		FAIL("%s: node 1 did not answer (%s; see its FAIL line)", what,
		     errno ? strerror(errno) : "side channel closed");
	if (!r.ok)
		FAIL("%s: checked by node 1: %s", what, r.why);
}

/*
 * One combination. WRITE, SEND and WRITE_WITH_IMM move local -> remote and
 * node 1 checks; READ moves remote -> local and node 0 checks.
 */
static void combo(struct driver *d, enum op op, enum kind lk, enum kind rk, uint32_t len,
		  uint64_t loff, uint64_t roff, uint64_t seed)
{
	struct req q = { .op = op, .kind = rk, .len = len, .off = roff, .seed = seed };
	uint8_t *local = (uint8_t *)d->n.cpu[lk] + loff;
	char what[200];
	double t;

	snprintf(what, sizeof(what),
		 "%s %s %s MR (offset %#" PRIx64 ") %s %s MR (offset %#" PRIx64 "), %" PRIu32 " B",
		 op_name[op], op == OP_READ ? "into local" : "from local", kind_name[lk], loff,
		 op == OP_READ ? "from remote" : "to remote", kind_name[rk], roff, len);
	if (op == OP_READ) {
		ask(d, CMD_FILL, &q, what);
		memset(local, 0, len);
	} else {
		ask(d, CMD_PREP, &q, what);
		fill(local, len, seed);
	}
	t = now();
	post(d->n.qp, wr_op[op], d->n.mr[lk], d->n.base[lk] + loff, len, d->peer.rkey[rk],
	     d->peer.base[rk] + roff);
	wait_wc(d->n.cq, 1, what);
	t = now() - t;
	if (op == OP_READ)
		check(what, local, len, seed);
	else
		ask(d, CMD_CHECK, &q, what);
	if (len == MAX_LEN)
		d->mibs[op][lk][rk] = len / t / (1 << 20);
	d->done++;
}

static void table(const struct driver *d)
{
	printf("RESULT: two guests, rxe, one verified 64 MiB transfer each, MiB/s (local MR / "
	       "remote MR):\n");
	printf("RESULT:   %-6s %10s %12s %12s %14s %22s\n", "op", "host/host", "host/dmabuf",
	       "dmabuf/host", "dmabuf/dmabuf", "dmabuf/dmabuf : host");
	for (int op = OP_WRITE; op <= OP_READ; op++) {
		const double(*m)[2] = d->mibs[op];

		printf("RESULT:   %-6s %10.1f %12.1f %12.1f %14.1f %22.2f\n", op_name[op],
		       m[HOST][HOST], m[HOST][DBUF], m[DBUF][HOST], m[DBUF][DBUF],
		       m[DBUF][DBUF] / m[HOST][HOST]);
	}
}

static int drive(struct driver *d, const char *fill_txt)
{
	static const uint32_t sizes[] = { 1, 7, 4095, 4096, 4097, (1 << 20) + 13 };
	struct req q = { .kind = DBUF, .len = 1 << 20, .seed = 0x1eaf1 };
	double t0 = now();
	uint64_t seed = 0x2c0de00;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int op = 0; op < OP_COUNT; op++)
			for (int lk = HOST; lk <= DBUF; lk++)
				for (int rk = HOST; rk <= DBUF; rk++, seed++)
					combo(d, op, lk, rk, sizes[s], (5 + 977 * seed) % PAGE,
					      (3 + 1543 * seed) % PAGE, seed);
		printf("# ok %8" PRIu32 " B: WRITE, READ, SEND/RECV, WRITE_WITH_IMM, every local x "
		       "remote MR pair, checked at the far end (%.0f s)\n",
		       sizes[s], now() - t0);
	}
	/* 64 MiB: host MRs and dma-buf MRs alternate, for the bandwidth table */
	for (int op = OP_WRITE; op <= OP_READ; op++) {
		combo(d, op, HOST, HOST, MAX_LEN, 7, 9, seed++);
		combo(d, op, DBUF, DBUF, MAX_LEN, 7, 9, seed++);
		combo(d, op, HOST, DBUF, MAX_LEN, 7, 9, seed++);
		combo(d, op, DBUF, HOST, MAX_LEN, 7, 9, seed++);
		printf("# ok 64 MiB %s, every local x remote MR pair (%.0f s)\n", op_name[op],
		       now() - t0);
	}
	/*
	 * BAR to BAR for the host's check of both ivshmem files: a READ from
	 * node 1's BAR into node 0's, a WRITE from node 0's BAR into node 1's.
	 */
	combo(d, OP_READ, DBUF, DBUF, q.len, 3, 0x10005, q.seed);
	leave(&d->n, fill_txt, 3, q.len, q.seed);
	q.off = 0x300009;
	q.seed++;
	combo(d, OP_WRITE, DBUF, DBUF, q.len, 0x200007, q.off, q.seed);
	ask(d, CMD_LEAVE, &q, "node 1 leaving its pattern for the host");
	ask(d, CMD_BYE, &q, "goodbye");
	printf("# ok %d combinations in %.1f s\n", d->done, now() - t0);
	table(d);
	return 0;
}

static struct driver d;
static const char *node_dev;
static int node_port;

static void setup(char **fixed)
{
	node_dev = fixed[0];
	node_port = atoi(fixed[1]);
}

T_CASE(case_serve, "serve", 1, "FILL_TXT")
{
	int rc;

	node_up(&d.n, node_dev, NULL, node_port, &d.peer);
	rc = serve(&d.n, argv[0]);
	node_down(&d.n);
	return rc;
}

T_CASE(case_drive, "drive", 2, "PEER_IP FILL_TXT")
{
	node_up(&d.n, node_dev, argv[0], node_port, &d.peer);
	drive(&d, argv[1]);
	node_down(&d.n);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct t_program prog = { "/dev/p2pbarN PORT", 2, setup };

	return t_main(&prog, argc, argv);
}
