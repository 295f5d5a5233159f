// SPDX-License-Identifier: MIT
/* Plumbing shared by the verbs programs: see rdma-util.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rdma-util.h"

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int sock_open(const char *peer, int port, int wait_s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, c;

	if (s < 0)
		die("socket: %s", strerror(errno));
	if (!peer) { /* server: accept one connection */
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 1))
			die("listen on %d: %s", port, strerror(errno));
		c = accept(s, NULL, NULL);
		if (c < 0)
			die("accept: %s", strerror(errno));
		close(s);
		return c;
	}
	if (inet_pton(AF_INET, peer, &sa.sin_addr) != 1)
		die("bad address %s", peer);
	for (int i = 0; connect(s, (struct sockaddr *)&sa, sizeof(sa)); i++) {
		if (i == 10 * wait_s)
			die("connect to %s:%d: %s", peer, port, strerror(errno));
		usleep(100000); /* the server may not listen yet */
	}
	return s;
}

bool xfer_ok(int sock, void *p, size_t len, bool out)
{
	errno = 0;
	for (size_t done = 0; done < len;) {
		ssize_t n = out ? write(sock, (char *)p + done, len - done)
				: read(sock, (char *)p + done, len - done);

		if (n <= 0)
			return false;
		done += n;
	}
	return true;
}

void xfer(int sock, void *p, size_t len, bool out)
{
	if (!xfer_ok(sock, p, len, out))
		die("side channel: %s", errno ? strerror(errno) : "closed");
}

void sock_swap(int sock, const void *mine, void *theirs, size_t len)
{
	xfer(sock, (void *)mine, len, true);
	xfer(sock, theirs, len, false);
}

void sock_barrier(int sock)
{
	char c = 0;

	xfer(sock, &c, 1, true);
	xfer(sock, &c, 1, false);
}

struct ibv_context *open_device(struct ibv_port_attr *port)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx;

	if (!list || !list[0])
		die("no RDMA device");
	ctx = ibv_open_device(list[0]);
	ibv_free_device_list(list);
	if (!ctx || (port && ibv_query_port(ctx, 1, port)))
		die("cannot open the RDMA device: %s", strerror(errno));
	return ctx;
}

int find_gid(struct ibv_context *ctx, union ibv_gid *gid, bool routable)
{
	for (int i = 0; i < 16; i++) {
		if (ibv_query_gid(ctx, 1, i, gid))
			break;
		if (!gid->global.interface_id && !gid->global.subnet_prefix)
			continue;
		if (routable && gid->raw[0] == 0xfe && gid->raw[1] == 0x80)
			continue;
		return i;
	}
	die("no %sGID on port 1", routable ? "routable " : "");
}

void qp_connect(struct ibv_qp *qp, uint32_t dest_qpn, const union ibv_gid *dgid, int gid_idx,
		enum ibv_mtu mtu, int access, uint8_t rd_atomic)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = 1,
				 .qp_access_flags = access };

	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		die("QP to INIT: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = mtu;
	a.dest_qp_num = dest_qpn;
	a.max_dest_rd_atomic = rd_atomic;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *dgid;
	a.ah_attr.grh.sgid_index = gid_idx;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = 1;
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				  IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		die("QP to RTR: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	/*
	 * 4 s (perftest's -u 20, see PERFTEST_OPTS in testbed/guest/lib.sh): a busy
	 * TCG host delays ACKs past the default, and stock rxe ends RC
	 * transfers with REM_INV_REQ after the spurious retransmits.
	 */
	a.timeout = 20;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = rd_atomic;
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				  IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC))
		die("QP to RTS: %s", strerror(errno));
}

void post_send(struct ibv_qp *qp, enum ibv_wr_opcode op, struct ibv_mr *lmr, uint64_t laddr,
	       uint32_t len, uint32_t rkey, uint64_t raddr, uint32_t imm)
{
	struct ibv_sge sge = { .addr = laddr, .length = len, .lkey = lmr ? lmr->lkey : 0 };
	struct ibv_send_wr wr = { .wr_id = op,
				  .sg_list = &sge,
				  .num_sge = len ? 1 : 0,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	if (op == IBV_WR_RDMA_WRITE_WITH_IMM || op == IBV_WR_SEND_WITH_IMM)
		wr.imm_data = htonl(imm);
	if (ibv_post_send(qp, &wr, &bad))
		die("ibv_post_send: %s", strerror(errno));
}

void post_recv(struct ibv_qp *qp, struct ibv_mr *mr, uint64_t addr, uint32_t len)
{
	struct ibv_sge sge = { .addr = addr, .length = len, .lkey = mr ? mr->lkey : 0 };
	struct ibv_recv_wr wr = { .wr_id = 1000, .sg_list = &sge, .num_sge = len ? 1 : 0 }, *bad;

	if (ibv_post_recv(qp, &wr, &bad))
		die("ibv_post_recv: %s", strerror(errno));
}

static struct ibv_wc poll_wc(struct ibv_cq *cq, int n, unsigned int idle_us, const char *what)
{
	struct ibv_wc wc = { 0 };

	for (int got = 0; got < n;) {
		int k = ibv_poll_cq(cq, 1, &wc);

		if (k < 0)
			die("%s: ibv_poll_cq failed", what);
		if (!k) {
			if (idle_us)
				usleep(idle_us);
			continue;
		}
		if (wc.status != IBV_WC_SUCCESS)
			die("%s: wr %" PRIu64 " completed with %s", what, wc.wr_id,
			    ibv_wc_status_str(wc.status));
		got++;
	}
	return wc;
}

struct ibv_wc wait_wc(struct ibv_cq *cq, int n, const char *what)
{
	return poll_wc(cq, n, 100, what);
}

struct ibv_wc spin_wc(struct ibv_cq *cq, int n, const char *what)
{
	return poll_wc(cq, n, 0, what);
}
