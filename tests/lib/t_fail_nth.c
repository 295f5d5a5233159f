// SPDX-License-Identifier: MIT
#include "t_fail_nth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t_harness.h"

static int fail_nth_fd = -1;

void fail_nth_open(void)
{
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fail_nth_fd < 0)
		fail("/proc/thread-self/fail-nth: %s (no CONFIG_FAULT_INJECTION?)",
		     strerror(errno));
}

void fail_nth_set(unsigned int n)
{
	char v[16];
	int len = snprintf(v, sizeof(v), "%u", n);

	if (pwrite(fail_nth_fd, v, len, 0) != len)
		fail("write /proc/thread-self/fail-nth: %s", strerror(errno));
}

bool fail_nth_hit(void)
{
	char v[16] = { 0 };

	if (pread(fail_nth_fd, v, sizeof(v) - 1, 0) < 0)
		fail("read /proc/thread-self/fail-nth: %s", strerror(errno));
	fail_nth_set(0);
	return atoi(v) == 0;
}
