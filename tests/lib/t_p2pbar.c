// SPDX-License-Identifier: MIT
#include "t_p2pbar.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "t_harness.h"

struct p2pbar_info t_info(int dev)
{
	struct p2pbar_info i = { .argsz = sizeof(i) };

	if (ioctl(dev, P2PBAR_IOCTL_INFO, &i))
		fail("INFO: %s", strerror(errno));
	return i;
}

struct p2pbar_buf_info t_buf_info(int dev, int fd)
{
	struct p2pbar_buf_info bi = { .argsz = sizeof(bi), .fd = fd };

	if (ioctl(dev, P2PBAR_IOCTL_BUF_INFO, &bi))
		fail("BUF_INFO of fd %d: %s", fd, strerror(errno));
	return bi;
}

uint64_t t_counter(int dev, const char *name)
{
	char path[128];
	struct stat st;
	uint64_t v;
	FILE *f;
	int n;

	if (fstat(dev, &st) || !S_ISCHR(st.st_mode))
		fail("counter %s: fd %d is not a p2pbar node", name, dev);
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/%s", major(st.st_rdev), minor(st.st_rdev),
		 name);
	f = fopen(path, "r");
	if (!f)
		fail("%s: %s", path, strerror(errno));
	n = fscanf(f, "%" SCNu64, &v);
	fclose(f);
	if (n != 1)
		fail("%s: not a number", path);
	return v;
}
