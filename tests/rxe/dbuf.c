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
#include <linux/dma-buf.h>
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

/* A vgem fence, attached to a dumb buffer and signalled on request. */
struct drm_vgem_fence_attach {
	uint32_t handle, flags, out_fence, pad;
};

struct drm_vgem_fence_signal {
	uint32_t fence, flags;
};

#define VGEM_FENCE_WRITE	    0x1
#define DRM_IOCTL_VGEM_FENCE_ATTACH _IOWR('d', 0x40 + 0x1, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL _IOW('d', 0x40 + 0x2, struct drm_vgem_fence_signal)

/* The primary node of the vgem driver (dumb buffers are not render-allowed). */
static int vgem_open(void)
{
	char path[64], link[256];

	for (int i = 0; i < 8; i++) {
		ssize_t n;
		int card;

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
		return card;
	}
	FAIL("no vgem card in /sys/class/drm");
}

static uint32_t vgem_dumb(int card, size_t *size)
{
	struct drm_mode_create_dumb c = { .bpp = 8, .width = PAGE };

	*size = (*size + PAGE - 1) & ~(PAGE - 1);
	c.height = *size / PAGE;
	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		FAIL("DRM_IOCTL_MODE_CREATE_DUMB: %s", strerror(errno));
	*size = c.size;
	return c.handle;
}

static int vgem_export(int card, uint32_t handle)
{
	struct drm_prime_handle h = { .handle = handle, .flags = O_CLOEXEC | O_RDWR };

	if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &h))
		FAIL("DRM_IOCTL_PRIME_HANDLE_TO_FD: %s", strerror(errno));
	return h.fd;
}

/* A dumb buffer of the vgem driver, exported with PRIME. */
struct dbuf dbuf_vgem(size_t size)
{
	struct dbuf b = { 0 };
	int card = vgem_open();

	b.fd = vgem_export(card, vgem_dumb(card, &size));
	close(card); /* the dma-buf keeps the object */
	b.size = size;
	return b;
}

int vgem_fence(struct vgem_fence *f)
{
	struct drm_vgem_fence_attach a = { .flags = VGEM_FENCE_WRITE };
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW };
	size_t size = PAGE;
	int fd;

	f->card = vgem_open();
	a.handle = vgem_dumb(f->card, &size);
	if (ioctl(f->card, DRM_IOCTL_VGEM_FENCE_ATTACH, &a))
		FAIL("DRM_IOCTL_VGEM_FENCE_ATTACH: %s", strerror(errno));
	f->fence = a.out_fence;
	fd = vgem_export(f->card, a.handle);
	if (ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e))
		FAIL("DMA_BUF_IOCTL_EXPORT_SYNC_FILE: %s", strerror(errno));
	close(fd);
	return e.fd;
}

void vgem_fence_signal(struct vgem_fence *f)
{
	struct drm_vgem_fence_signal s = { .fence = f->fence };

	if (ioctl(f->card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) && errno != ETIMEDOUT)
		FAIL("DRM_IOCTL_VGEM_FENCE_SIGNAL: %s", strerror(errno));
	close(f->card);
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
