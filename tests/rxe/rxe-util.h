/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rxe dma-buf MR test programs: dma-buf sources
 * (dbuf.c) and the data pattern (pattern.c); the verbs plumbing they share
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

/* --- data pattern (pattern.c) --------------------------------------- */

/* util/p2pbar_pattern.h's pattern */
void fill(uint8_t *p, size_t len, uint64_t seed);
/* false, and the first wrong byte described in why, on a mismatch */
bool pattern_ok(const volatile uint8_t *got, size_t len, uint64_t seed, char *why, size_t whylen);
/* FAIL (naming what) unless got holds the pattern */
void check(const char *what, const volatile uint8_t *got, size_t len, uint64_t seed);

#endif
