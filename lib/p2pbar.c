// SPDX-License-Identifier: MIT
/* libp2pbar: device discovery, queries, buffers and CPU mappings. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libp2pbar.h"
#include "p2pbar_error.h"

#define CLASS_DIR "/sys/class/p2pbar"

struct p2pbar_context {
	int fd;
	char name[P2PBAR_NAME_MAX];
};

static int valid_name(const char *s)
{
	return strncmp(s, "p2pbar", 6) == 0 && s[6] && strlen(s) < P2PBAR_NAME_MAX;
}

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(a, b);
}

int p2pbar_list_devices(char (*names)[P2PBAR_NAME_MAX], size_t max)
{
	char found[256][P2PBAR_NAME_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir(CLASS_DIR);
	if (!d) {
		if (errno == ENOENT)
			return 0; /* module not loaded: no devices */
		return p2pbar_fail(-errno, "cannot read %s: %s", CLASS_DIR, strerror(errno));
	}
	while ((de = readdir(d)) && n < 256) {
		if (valid_name(de->d_name)) /* fits: valid_name() checks */
			memcpy(found[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	qsort(found, n, sizeof(found[0]), cmp_names);
	for (size_t i = 0; i < n && i < max; i++)
		memcpy(names[i], found[i], P2PBAR_NAME_MAX);
	return (int)n;
}

/* The p2pbar device whose PCI function is @pci (e.g. "0000:00:01.0"). */
static int name_of_pci(const char *pci, char *name)
{
	char names[64][P2PBAR_NAME_MAX], link[PATH_MAX], target[PATH_MAX];
	int n = p2pbar_list_devices(names, 64);

	for (int i = 0; i < n && i < 64; i++) {
		ssize_t len;

		snprintf(link, sizeof(link), CLASS_DIR "/%s/device", names[i]);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (!strcmp(strrchr(target, '/') ? strrchr(target, '/') + 1 : target, pci)) {
			memcpy(name, names[i], P2PBAR_NAME_MAX);
			return 0;
		}
	}
	return p2pbar_fail(-ENODEV, "no p2pbar device on PCI function %s", pci);
}

int p2pbar_open_device(const char *which, struct p2pbar_context **out)
{
	char name[P2PBAR_NAME_MAX], path[64];
	struct p2pbar_context *dev;
	int ret;

	*out = NULL;
	if (!which) {
		char first[1][P2PBAR_NAME_MAX];

		ret = p2pbar_list_devices(first, 1);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return p2pbar_fail(-ENODEV,
					   "no p2pbar devices (is p2pbar.ko loaded and bound?)");
		memcpy(name, first[0], sizeof(name));
	} else if (!strncmp(which, "/dev/", 5) && valid_name(which + 5)) {
		snprintf(name, sizeof(name), "%s", which + 5);
	} else if (valid_name(which)) {
		snprintf(name, sizeof(name), "%s", which);
	} else if (strchr(which, ':')) {
		ret = name_of_pci(which, name);
		if (ret)
			return ret;
	} else {
		return p2pbar_fail(-EINVAL, "'%s' is not a p2pbar device name, path or PCI address",
				   which);
	}

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return p2pbar_fail(-ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/dev/%s", name);
	dev->fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		ret = -errno;
		free(dev);
		return p2pbar_fail(ret == -ENOENT ? -ENODEV : ret, "cannot open %s: %s", path,
				   strerror(-ret));
	}
	memcpy(dev->name, name, sizeof(name));
	*out = dev;
	return 0;
}

void p2pbar_close_device(struct p2pbar_context *dev)
{
	if (!dev)
		return;
	close(dev->fd);
	free(dev);
}

const char *p2pbar_device_name(const struct p2pbar_context *dev)
{
	return dev->name;
}

int p2pbar_query_device_size(struct p2pbar_context *dev, struct p2pbar_info *info, size_t size)
{
	memset(info, 0, size);
	info->argsz = (uint32_t)size;
	if (ioctl(dev->fd, P2PBAR_IOCTL_INFO, info))
		return p2pbar_fail(-errno, "%s: INFO: %s", dev->name, strerror(errno));
	return 0;
}

/*
 * The struct p2pbar_info of libp2pbar 0.1's uAPI. A program built against
 * it has room for that much, whatever fields a later uAPI appends: those
 * it reads with p2pbar_query_device_size().
 */
#define P2PBAR_INFO_SIZE_0_1 88
_Static_assert(sizeof(struct p2pbar_info) >= P2PBAR_INFO_SIZE_0_1, "INFO shrank");

int p2pbar_query_device(struct p2pbar_context *dev, struct p2pbar_info *info)
{
	return p2pbar_query_device_size(dev, info, P2PBAR_INFO_SIZE_0_1);
}

static int read_counter(const struct p2pbar_context *dev, const char *attr, uint64_t *val)
{
	char path[128];
	unsigned long long v;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), CLASS_DIR "/%s/%s", dev->name, attr);
	f = fopen(path, "re");
	if (!f)
		return p2pbar_fail(-errno, "cannot read %s: %s", path, strerror(errno));
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (!ok)
		return p2pbar_fail(-EIO, "%s: not a number", path);
	*val = v;
	return 0;
}

int p2pbar_get_stats(struct p2pbar_context *dev, struct p2pbar_stats *st)
{
	const struct {
		const char *attr;
		uint64_t *val;
	} counters[] = {
		{ "bar_size", &st->bar_size },	     { "used", &st->used },
		{ "buffers", &st->buffers },	     { "pinned", &st->pinned },
		{ "attachments", &st->attachments }, { "evictions", &st->evictions },
		{ "migrations", &st->migrations },   { "bytes_moved", &st->bytes_moved },
		{ "move_notify", &st->move_notify }, { "host_charged", &st->host_charged },
	};

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		int ret = read_counter(dev, counters[i].attr, counters[i].val);

		if (ret)
			return ret;
	}
	return 0;
}

int p2pbar_mem_alloc(struct p2pbar_context *dev, uint64_t size, uint64_t align, uint32_t placement,
		     struct p2pbar_mem *buf)
{
	return p2pbar_mem_alloc_flags(dev, size, align, placement, 0, buf);
}

int p2pbar_mem_alloc_flags(struct p2pbar_context *dev, uint64_t size, uint64_t align,
			   uint32_t placement, uint32_t flags, struct p2pbar_mem *buf)
{
	struct p2pbar_alloc a = {
		.argsz = sizeof(a),
		.flags = flags,
		.length = size,
		.align = align,
		.placement = placement,
	};

	memset(buf, 0, sizeof(*buf));
	buf->fd = -1;
	if (ioctl(dev->fd, P2PBAR_IOCTL_ALLOC, &a)) {
		int err = errno;
		const char *why = err == ENOSPC	 ? " (no free range that large in the BAR)"
				  : err == E2BIG ? " (above the device's max_alloc/max_align)"
						 : "";

		return p2pbar_fail(-err, "%s: cannot allocate %llu bytes: %s%s", dev->name,
				   (unsigned long long)size, strerror(err), why);
	}
	buf->fd = a.fd;
	buf->id = a.id;
	buf->size = a.length;
	buf->offset = a.offset;
	return 0;
}

int p2pbar_mem_query(struct p2pbar_context *dev, int fd, struct p2pbar_buf_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->fd = fd;
	if (ioctl(dev->fd, P2PBAR_IOCTL_BUF_INFO, info))
		return p2pbar_fail(-errno, "%s: BUF_INFO of fd %d: %s", dev->name, fd,
				   strerror(errno));
	return 0;
}

int p2pbar_mem_migrate(struct p2pbar_context *dev, int fd, uint32_t placement)
{
	struct p2pbar_migrate m = {
		.argsz = sizeof(m),
		.fd = fd,
		.placement = placement,
	};

	if (ioctl(dev->fd, P2PBAR_IOCTL_MIGRATE, &m)) {
		int err = errno;
		const char *why = err == EPERM	  ? " (allocated FIXED)"
				  : err == EBUSY  ? " (pinned or held by an importer)"
				  : err == ENOSPC ? " (BAR full of buffers that cannot move)"
						  : "";

		return p2pbar_fail(-err, "%s: cannot move fd %d to %s: %s%s", dev->name, fd,
				   placement == P2PBAR_PLACEMENT_HOST ? "host" : "device",
				   strerror(err), why);
	}
	return 0;
}

int p2pbar_mem_map(struct p2pbar_mem *buf)
{
	void *p;

	if (buf->map)
		return 0;
	if (buf->size > SIZE_MAX)
		return p2pbar_fail(-EOVERFLOW, "buffer too large to map");
	p = mmap(NULL, buf->size, PROT_READ | PROT_WRITE, MAP_SHARED, buf->fd, 0);
	if (p == MAP_FAILED)
		return p2pbar_fail(-errno, "cannot map buffer %llu: %s",
				   (unsigned long long)buf->id, strerror(errno));
	buf->map = p;
	return 0;
}

void p2pbar_mem_free(struct p2pbar_mem *buf)
{
	if (buf->map)
		munmap(buf->map, buf->size);
	if (buf->fd >= 0)
		close(buf->fd);
	memset(buf, 0, sizeof(*buf));
	buf->fd = -1;
}
