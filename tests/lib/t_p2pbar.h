/* SPDX-License-Identifier: MIT */
/*
 * The p2pbar calls the C test programs share: INFO and BUF_INFO that fail
 * the case on an error, and the device's counters, which live in sysfs.
 */
#ifndef T_P2PBAR_H
#define T_P2PBAR_H

#include <stdint.h>

#include <linux/p2pbar.h>

/* INFO on the node fd @dev; fails the case on an error. */
struct p2pbar_info t_info(int dev);

/* BUF_INFO of dma-buf @fd through the node fd @dev; fails on an error. */
struct p2pbar_buf_info t_buf_info(int dev, int fd);

/*
 * A counter of the device behind node fd @dev (used, buffers, pinned,
 * host_charged, ...: Documentation/ABI/testing/sysfs-class-p2pbar), read
 * through /sys/dev/char; fails the case on an error.
 */
uint64_t t_counter(int dev, const char *name);

#endif /* T_P2PBAR_H */
