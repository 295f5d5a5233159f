/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rxe dma-buf MR test programs and the soak:
 * dma-buf sources (dbuf.c), two connected QPs (loopback.c) and the data
 * pattern (pattern.c); the verbs plumbing they share
 * with bench/ and examples/ is util/rdma-util.h.
 */
#ifndef RXE_UTIL_H
#define RXE_UTIL_H

#include <infiniband/verbs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rdma-util.h"
#include "t_harness.h"
#include "vgem.h"

/* the harness's fail() (the case's "not ok" line), naming the line */
#define FAIL(fmt, ...) fail(fmt " (%s:%d)", ##__VA_ARGS__, __FILE__, __LINE__)

#define PAGE 4096UL

#define ACCESS_ALL                                                                   \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | \
	 IBV_ACCESS_REMOTE_ATOMIC)

/* --- dma-buf sources (dbuf.c) --------------------------------------- */

struct dbuf {
	int fd;
	size_t size;
	uint64_t bar_offset;   /* p2pbar only */
	volatile uint8_t *map; /* the dma-buf's own mmap, to check bytes */
};

struct dbuf dbuf_p2pbar(const char *node, size_t size);
struct dbuf dbuf_udmabuf(size_t size);
struct dbuf dbuf_vgem(size_t size);
void dbuf_map(struct dbuf *b);
/*
 * A fence of the vgem driver (tests/lib/vgem.h) that signals on
 * vgem_fence_signal() (or by itself after vgem's 10 s timeout): its
 * sync_file fd. Both FAIL on error.
 */
int vgem_fence(struct vgem_fence *f);
void vgem_fence_signal(struct vgem_fence *f);
void dbuf_free(struct dbuf *b);

/* --- verbs: util/rdma-util.h, and what the tests post -------------- */

#define IMM_DATA 0x5eed /* what WRITE_WITH_IMM carries */

/* One signaled work request; a WRITE_WITH_IMM carries IMM_DATA. */
static inline void post(struct ibv_qp *qp, enum ibv_wr_opcode op, struct ibv_mr *lmr,
			uint64_t laddr, uint32_t len, uint32_t rkey, uint64_t raddr)
{
	post_send(qp, op, lmr, laddr, len, rkey, raddr, IMM_DATA);
}

/* --- two connected QPs and revoke under traffic (loopback.c) -------- */

#define IOVA_BASE 0x7a5500000000ULL /* arbitrary, unrelated to any address */

struct rdma {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];
};

/* rxe0, a PD, a CQ and two RC QPs on them connected to each other */
void rdma_open(struct rdma *r);
void rdma_close(struct rdma *r);
/* the two QPs alone, and fresh ones after an error completion */
void rdma_qps(struct rdma *r);
void requeue_qps(struct rdma *r);
/* one completion within @secs; status -1 if none came */
struct ibv_wc wc_within(struct rdma *r, double secs);
/* the /dev node of the first p2pbar device (its name may change at rebind) */
void p2pbar_node(char *node, size_t len);
/*
 * Stream RDMA WRITEs of @chunk from @h (@hmr) into @slots chunks of @dmr
 * while a child runs @revoker (then exits 0; it may read how many WRs
 * completed in *streamed): the WRs before complete ok, the first error
 * ends it and must be IBV_WC_REM_ACCESS_ERR, and no WR posted after the
 * child exited succeeds. Returns how many WRs completed ok.
 */
int stream_until_revoked(struct rdma *r, struct ibv_mr *dmr, struct ibv_mr *hmr, uint8_t *h,
			 size_t chunk, unsigned int slots, const char *how,
			 void (*revoker)(void *arg, volatile int *streamed), void *arg);

/*
 * For a revoker, in the child (each _exit()s non-zero on an error): wait
 * until 8 WRs have completed, RESET the device at @node (returns how many
 * buffers it revoked), unbind PCI function @pci from p2pbar.
 */
void revoker_wait(volatile int *streamed);
uint64_t revoker_reset(const char *node);
void revoker_unbind(const char *pci);

/* --- data pattern (pattern.c) --------------------------------------- */

/* util/p2pbar_pattern.h's pattern */
void fill(uint8_t *p, size_t len, uint64_t seed);
/* false, and the first wrong byte described in why, on a mismatch */
bool pattern_ok(const volatile uint8_t *got, size_t len, uint64_t seed, char *why, size_t whylen);
/* FAIL (naming what) unless got holds the pattern */
void check(const char *what, const volatile uint8_t *got, size_t len, uint64_t seed);

#endif
