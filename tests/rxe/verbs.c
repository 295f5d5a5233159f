// SPDX-License-Identifier: GPL-2.0
/* Verbs plumbing of the rxe tests: QP setup, posting, completions. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "rxe-util.h"

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
	FAIL("no %sGID on port 1", routable ? "routable " : "");
}

void qp_connect(struct ibv_qp *qp, uint32_t dest_qpn, const union ibv_gid *gid, int gid_idx,
		enum ibv_mtu mtu)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = 1,
				 .qp_access_flags = ACCESS_ALL };

	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		FAIL("QP to INIT");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = mtu;
	a.dest_qp_num = dest_qpn;
	a.max_dest_rd_atomic = 16;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = gid_idx;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = 1;
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				  IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		FAIL("QP to RTR: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	/*
	 * 4 s (perftest's -u 20, see PERFTEST_OPTS in tests/vm/lib.sh): a busy
	 * TCG host delays ACKs past the default, and stock rxe ends RC
	 * transfers with REM_INV_REQ after the spurious retransmits.
	 */
	a.timeout = 20;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 16;
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				  IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC))
		FAIL("QP to RTS: %s", strerror(errno));
}

void post(struct ibv_qp *qp, enum ibv_wr_opcode op, struct ibv_mr *lmr, uint64_t laddr,
	  uint32_t len, uint32_t rkey, uint64_t raddr)
{
	struct ibv_sge sge = { .addr = laddr, .length = len, .lkey = lmr->lkey };
	struct ibv_send_wr wr = { .wr_id = op,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	if (op == IBV_WR_RDMA_WRITE_WITH_IMM)
		wr.imm_data = htonl(IMM_DATA);
	if (ibv_post_send(qp, &wr, &bad))
		FAIL("ibv_post_send: %s", strerror(errno));
}

void post_recv(struct ibv_qp *qp, struct ibv_mr *mr, uint64_t addr, uint32_t len)
{
	struct ibv_sge sge = { .addr = addr, .length = len, .lkey = mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = 1000, .sg_list = &sge, .num_sge = len ? 1 : 0 }, *bad;

	if (ibv_post_recv(qp, &wr, &bad))
		FAIL("ibv_post_recv: %s", strerror(errno));
}

struct ibv_wc wait_wc(struct ibv_cq *cq, int n, const char *what)
{
	struct ibv_wc wc = { 0 };

	for (int got = 0; got < n;) {
		int k = ibv_poll_cq(cq, 1, &wc);

		if (k < 0)
			FAIL("%s: ibv_poll_cq", what);
		if (!k) {
			usleep(100);
			continue;
		}
		if (wc.status != IBV_WC_SUCCESS)
			FAIL("%s: wr %" PRIu64 " completed with %s", what, wc.wr_id,
			     ibv_wc_status_str(wc.status));
		got++;
	}
	return wc;
}
