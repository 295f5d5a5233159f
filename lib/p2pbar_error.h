/* SPDX-License-Identifier: MIT */
/* libp2pbar internal: the per-thread error message. */
#ifndef P2PBAR_ERROR_H
#define P2PBAR_ERROR_H

/* Record a message for p2pbar_last_error(); returns @err (a -errno). */
int p2pbar_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
