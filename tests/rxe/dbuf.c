// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf sources of the rxe tests: our exporter (p2pbar) and two we did not
 * write (udmabuf on a memfd, vgem dumb buffers), so the rxe importer is
 * proven against more than our own exporter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/p2pbar.h>
#include <linux/udmabuf.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rxe-util.h"

struct dbuf dbuf_p2pbar(const char *node, size_t size)
{
	struct p2pbar_alloc a = { .argsz = sizeof(a),
				  .length = size,
				  .placement = P2PBAR_PLACEMENT_DEVICE };
	struct dbuf b = { 0 };
	int dev = open(node, O_RDWR | O_CLOEXEC);

	if (dev < 0)
		FAIL("open %s: %s", node, strerror(errno));
	if (ioctl(dev, P2PBAR_IOCTL_ALLOC, &a))
		FAIL("P2PBAR_IOCTL_ALLOC %zu: %s", size, strerror(errno));
	close(dev);
	b.fd = a.fd;
	b.size = a.length;
	b.bar_offset = a.offset;
	return b;
}

struct dbuf dbuf_udmabuf(size_t size)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC };
	struct dbuf b = { 0 };
	int dev, memfd;

	size = (size + PAGE - 1) & ~(PAGE - 1);
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		FAIL("open /dev/udmabuf: %s", strerror(errno));
	memfd = memfd_create("rxe-dmabuf-test", MFD_ALLOW_SEALING);
	if (memfd < 0 || ftruncate(memfd, size) || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		FAIL("memfd: %s", strerror(errno));
	c.memfd = memfd;
	c.size = size;
	b.fd = ioctl(dev, UDMABUF_CREATE, &c);
	if (b.fd < 0)
		FAIL("UDMABUF_CREATE: %s", strerror(errno));
	close(memfd);
	close(dev);
	b.size = size;
	return b;
}

/* DRM uAPI (stable; the host has no drm headers): dumb buffers, PRIME */
struct drm_mode_create_dumb {
	uint32_t height, width, bpp, flags, handle, pitch;
	uint64_t size;
};

struct drm_prime_handle {
	uint32_t handle, flags;
	int32_t fd;
};

#define DRM_IOCTL_MODE_CREATE_DUMB   _IOWR('d', 0xB2, struct drm_mode_create_dumb)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct drm_prime_handle)

/* A dumb buffer of the vgem driver, exported with PRIME. */
struct dbuf dbuf_vgem(size_t size)
{
	struct drm_mode_create_dumb c = { .bpp = 8, .width = PAGE };
	struct drm_prime_handle h = { .flags = O_CLOEXEC | O_RDWR };
	struct dbuf b = { 0 };
	char path[64], link[256];
	int card = -1;

	for (int i = 0; i < 8 && card < 0; i++) {
		ssize_t n;

		/* vgem's platform device is not bound to a driver: its name */
		snprintf(path, sizeof(path), "/sys/class/drm/card%d/device", i);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(basename(link), "vgem"))
			continue;
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		card = open(path, O_RDWR | O_CLOEXEC);
		if (card < 0)
			FAIL("open %s: %s", path, strerror(errno));
	}
	if (card < 0)
		FAIL("no vgem card in /sys/class/drm");
	size = (size + PAGE - 1) & ~(PAGE - 1);
	c.height = size / PAGE;
	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		FAIL("DRM_IOCTL_MODE_CREATE_DUMB: %s", strerror(errno));
	h.handle = c.handle;
	if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &h))
		FAIL("DRM_IOCTL_PRIME_HANDLE_TO_FD: %s", strerror(errno));
	close(card); /* the dma-buf keeps the object */
	b.fd = h.fd;
	b.size = c.size;
	return b;
}

void dbuf_map(struct dbuf *b)
{
	void *p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);

	if (p == MAP_FAILED)
		FAIL("mmap of the dma-buf: %s", strerror(errno));
	b->map = p;
}

void dbuf_free(struct dbuf *b)
{
	if (b->map)
		munmap((void *)b->map, b->size);
	close(b->fd);
	memset(b, 0, sizeof(*b));
}
