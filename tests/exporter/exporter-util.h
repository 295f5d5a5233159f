/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the exporter test programs share: the device node, sysfs
 * writes and the test importer's control file; failing is the harness's
 * (t_harness.h).
 */
#ifndef EXPORTER_UTIL_H
#define EXPORTER_UTIL_H

#include <linux/p2pbar.h>

#include "t_harness.h"
#include "t_p2pbar.h"

#define ST_CONTROL "/sys/kernel/debug/p2pbar_selftest/control"

/* The node under test (/dev/p2pbarN) and the page size, set by setup. */
extern const char *dev_path;
extern long page;
/* The exporter programs' harness setup: CASE /dev/p2pbarN [ARGS...]. */
extern const struct t_program exporter_program;

int open_dev(void);
void sysfs_write(const char *path, const char *val);
/*
 * Write a command to p2pbar_selftest.ko and print its result lines; fail
 * unless at least @min_lines cases passed and none failed.
 */
void selftest_cmd(const char *cmd, int min_lines);
/* Pass an fd over a unix socket (SCM_RIGHTS), and receive it. */
void send_fd(int sock, int fd);
int recv_fd(int sock);

#endif /* EXPORTER_UTIL_H */
