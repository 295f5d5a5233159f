/* SPDX-License-Identifier: MIT */
/*
 * Plumbing shared by the programs that run verbs between two processes
 * (bench/bounce.c, examples/bar-to-bar.c, tests/rxe): what every such
 * program needs and none of them is about. Every function here but
 * xfer_ok() reports a failure with die() and does not return, so callers
 * need no error paths.
 * MIT, like libp2pbar and the example that links it.
 */
#ifndef RDMA_UTIL_H
#define RDMA_UTIL_H

#include <infiniband/verbs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- errors and time ------------------------------------------------ */

/*
 * Print "PROG: message" to stderr (PROG: the program's own name, so a log
 * of several programs says which one failed) and exit(1). Callers put
 * strerror(errno) in the message where there is one.
 */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in seconds: for timing transfers. */
double now(void);

/* --- TCP side channel ------------------------------------------------ */

/*
 * The connection two processes swap QP numbers, keys and addresses over,
 * and later use to step in lock: peer NULL listens on port (any address)
 * and accepts one connection; otherwise connects to peer (IPv4, dotted),
 * retrying every 100 ms for up to wait_s seconds because the other side
 * may not listen yet. Returns the connected socket.
 */
int sock_open(const char *peer, int port, int wait_s);

/*
 * Write (out) or read exactly len bytes. false when the channel broke:
 * errno says why, or is 0 when the peer closed it. For a caller that
 * reports the broken channel its own way (the peer may have died first).
 */
bool xfer_ok(int sock, void *p, size_t len, bool out);

/* xfer_ok() or die("side channel: ..."). */
void xfer(int sock, void *p, size_t len, bool out);

/*
 * Send len bytes from mine, then read the peer's len bytes into theirs:
 * both sides call it at the same point with structs of the same layout
 * (the QP number, keys, addresses, GID). Small enough not to block.
 */
void sock_swap(int sock, const void *mine, void *theirs, size_t len);

/* Send a byte and read the peer's: both are past the same point. */
void sock_barrier(int sock);

/* --- verbs ----------------------------------------------------------- */

/*
 * Open the first RDMA device (a testbed guest has one: rxe0) and, when
 * port is not NULL, query port 1 into it (its active_mtu is the path MTU
 * for qp_connect). Dies when there is no device or it cannot be opened.
 */
struct ibv_context *open_device(struct ibv_port_attr *port);

/*
 * The index of a GID of port 1, stored in *gid; routable skips link-local
 * ones (fe80::), which a peer on another node cannot route to. Dies when
 * there is none.
 */
int find_gid(struct ibv_context *ctx, union ibv_gid *gid, bool routable);

/*
 * Take an RC QP through INIT -> RTR -> RTS to the peer's QP dest_qpn at
 * GID dgid (our own GID index gid_idx, port 1, path MTU mtu), granting
 * the peer access (IBV_ACCESS_REMOTE_*) and rd_atomic RDMA READs or
 * atomics in flight each way. Timeouts are long and retries many (see
 * rdma-util.c): a busy TCG host delays ACKs.
 */
void qp_connect(struct ibv_qp *qp, uint32_t dest_qpn, const union ibv_gid *dgid, int gid_idx,
		enum ibv_mtu mtu, int access, uint8_t rd_atomic);

/*
 * Post one signaled send work request (wr_id = op): len bytes from laddr
 * in lmr (no SGE when len is 0; lmr may then be NULL), to raddr in the
 * peer's rkey for RDMA ops, carrying imm (host order) for *_WITH_IMM.
 */
void post_send(struct ibv_qp *qp, enum ibv_wr_opcode op, struct ibv_mr *lmr, uint64_t laddr,
	       uint32_t len, uint32_t rkey, uint64_t raddr, uint32_t imm);

/* Post one receive of up to len bytes into addr in mr (none when len is 0). */
void post_recv(struct ibv_qp *qp, struct ibv_mr *mr, uint64_t addr, uint32_t len);

/*
 * Wait for n successful completions on cq and return the last (its
 * imm_data in network order). Sleeps 100 us between empty polls, to leave
 * a guest's CPU to soft-RoCE. Dies naming what on a failed completion.
 */
struct ibv_wc wait_wc(struct ibv_cq *cq, int n, const char *what);

/* wait_wc() that busy-polls: for timed transfers, where a sleep shows. */
struct ibv_wc spin_wc(struct ibv_cq *cq, int n, const char *what);

#endif
