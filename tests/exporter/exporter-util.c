// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include "exporter-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

const char *dev_path;
long page;

static void exporter_setup(char **fixed)
{
	dev_path = fixed[0];
	page = sysconf(_SC_PAGESIZE);
}

const struct t_program exporter_program = { "/dev/p2pbarN", 1, exporter_setup };

int open_dev(void)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("open %s: %s", dev_path, strerror(errno));
	return fd;
}

void sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		fail("%s <- %s: %s", path, val, strerror(errno));
	close(fd);
}

void selftest_cmd(const char *cmd, int min_lines)
{
	static char out[8192];
	int fd = open(ST_CONTROL, O_RDWR), lines = 0;
	ssize_t n;
	char *l;

	if (fd < 0)
		fail("%s: %s (is p2pbar_selftest.ko loaded?)", ST_CONTROL, strerror(errno));
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		fail("selftest \"%s\": %s", cmd, strerror(errno));
	n = pread(fd, out, sizeof(out) - 1, 0);
	if (n < 0)
		fail("read %s: %s", ST_CONTROL, strerror(errno));
	out[n] = 0;
	close(fd);
	fputs(out, stdout);
	for (l = out; (l = strstr(l, "PASS ")); l++)
		lines++;
	if (strstr(out, "FAIL ") || lines < min_lines)
		fail("selftest \"%s\": %d passed, want %d, none failing", cmd, lines, min_lines);
}

void send_fd(int sock, int fd)
{
	char c = 'f';
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c1 = CMSG_FIRSTHDR(&msg);

	c1->cmsg_level = SOL_SOCKET;
	c1->cmsg_type = SCM_RIGHTS;
	c1->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c1), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		fail("sendmsg: %s", strerror(errno));
}

int recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c1;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		fail("recvmsg: %s", strerror(errno));
	c1 = CMSG_FIRSTHDR(&msg);
	if (!c1 || c1->cmsg_type != SCM_RIGHTS)
		fail("no fd received");
	memcpy(&fd, CMSG_DATA(c1), sizeof(int));
	return fd;
}
