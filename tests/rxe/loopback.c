// SPDX-License-Identifier: GPL-2.0
/*
 * Two RC QPs of rxe0 connected to each other, and the revoke-under-traffic
 * loop the rxe tests and the soak share (rxe-util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/p2pbar.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rxe-util.h"

void rdma_qps(struct rdma *r)
{
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
				       .cap = { .max_send_wr = 16,
						.max_recv_wr = 16,
						.max_send_sge = 1,
						.max_recv_sge = 1 } };
	union ibv_gid gid;
	int gid_idx;

	qa.send_cq = qa.recv_cq = r->cq;
	for (int i = 0; i < 2; i++) {
		r->qp[i] = ibv_create_qp(r->pd, &qa);
		if (!r->qp[i])
			FAIL("ibv_create_qp: %s", strerror(errno));
	}
	gid_idx = find_gid(r->ctx, &gid, false);
	qp_connect(r->qp[0], r->qp[1]->qp_num, &gid, gid_idx, IBV_MTU_1024, ACCESS_ALL, 16);
	qp_connect(r->qp[1], r->qp[0]->qp_num, &gid, gid_idx, IBV_MTU_1024, ACCESS_ALL, 16);
}

void rdma_open(struct rdma *r)
{
	r->ctx = open_device(NULL);
	r->pd = ibv_alloc_pd(r->ctx);
	r->cq = ibv_create_cq(r->ctx, 64, NULL, NULL, 0);
	if (!r->pd || !r->cq)
		FAIL("pd/cq: %s", strerror(errno));
	rdma_qps(r);
}

void rdma_close(struct rdma *r)
{
	ibv_destroy_qp(r->qp[0]);
	ibv_destroy_qp(r->qp[1]);
	ibv_destroy_cq(r->cq);
	ibv_dealloc_pd(r->pd);
	ibv_close_device(r->ctx);
}

void requeue_qps(struct rdma *r)
{
	struct ibv_wc wc;

	ibv_destroy_qp(r->qp[0]);
	ibv_destroy_qp(r->qp[1]);
	while (ibv_poll_cq(r->cq, 1, &wc) > 0)
		; /* what the destroyed QPs left */
	rdma_qps(r);
}

struct ibv_wc wc_within(struct rdma *r, double secs)
{
	struct ibv_wc wc = { .status = -1 };
	double end = now() + secs;
	int k;

	while ((k = ibv_poll_cq(r->cq, 1, &wc)) == 0 && now() < end)
		usleep(200);
	if (k < 0)
		FAIL("ibv_poll_cq");
	if (!k)
		wc.status = -1;
	return wc;
}

void p2pbar_node(char *node, size_t len)
{
	for (int i = 0; i < 16; i++) {
		char sys[64];

		snprintf(sys, sizeof(sys), "/sys/class/p2pbar/p2pbar%d", i);
		if (!access(sys, F_OK)) {
			snprintf(node, len, "/dev/p2pbar%d", i);
			return;
		}
	}
	FAIL("no p2pbar device");
}

int stream_until_revoked(struct rdma *r, struct ibv_mr *dmr, struct ibv_mr *hmr, uint8_t *h,
			 size_t chunk, unsigned int slots, const char *how,
			 void (*revoker)(void *arg, volatile int *streamed), void *arg)
{
	volatile int *streamed;
	struct ibv_wc wc = { 0 };
	bool reaped = false;
	int ok = 0, status = 0;
	pid_t child;

	streamed = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (streamed == MAP_FAILED)
		FAIL("mmap");
	*streamed = 0;
	child = fork();
	if (child < 0)
		FAIL("fork");
	if (!child) {
		revoker(arg, streamed);
		_exit(0);
	}
	for (int i = 0;; i++) {
		bool after = reaped;

		reaped = reaped || waitpid(child, &status, WNOHANG) == child;
		post(r->qp[0], IBV_WR_RDMA_WRITE, hmr, (uintptr_t)h, chunk, dmr->rkey,
		     IOVA_BASE + (i % slots) * chunk);
		wc = wc_within(r, 30);
		if ((int)wc.status == -1)
			FAIL("%s: no completion 30 s after an RDMA WRITE: hang", how);
		if (wc.status != IBV_WC_SUCCESS)
			break;
		if (after)
			FAIL("%s: a WRITE posted after the revoke completed successfully", how);
		*streamed = ++ok;
	}
	if (!reaped)
		waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		FAIL("the %s failed (revoker exit status %d)", how, WEXITSTATUS(status));
	if (wc.status != IBV_WC_REM_ACCESS_ERR)
		FAIL("%s: the first failed WRITE completed with %s, expected %s", how,
		     ibv_wc_status_str(wc.status), ibv_wc_status_str(IBV_WC_REM_ACCESS_ERR));
	printf("# ok %s during RDMA WRITE traffic: %d WRs ok, then %s (seen %s the revoker "
	       "exited), no hang\n",
	       how, ok, ibv_wc_status_str(wc.status), reaped ? "after" : "before");
	munmap((void *)streamed, PAGE);
	return ok;
}

void revoker_wait(volatile int *streamed)
{
	for (int ms = 0; *streamed < 8; ms++) {
		if (ms > 120000)
			_exit(2);
		usleep(1000);
	}
}

uint64_t revoker_reset(const char *node)
{
	struct p2pbar_reset rs = { .argsz = sizeof(rs) };
	int dev = open(node, O_RDWR | O_CLOEXEC);

	if (dev < 0 || ioctl(dev, P2PBAR_IOCTL_RESET, &rs))
		_exit(1);
	close(dev);
	return rs.revoked;
}

void revoker_unbind(const char *pci)
{
	int f = open("/sys/bus/pci/drivers/p2pbar/unbind", O_WRONLY);

	if (f < 0 || write(f, pci, strlen(pci)) < 0)
		_exit(1);
	close(f);
}
