// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf sources of the rxe tests: our exporter (p2pbar) and two we did not
 * write (udmabuf on a memfd, vgem dumb buffers), so the rxe importer is
 * proven against more than our own exporter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* A dumb buffer of the vgem driver, exported with PRIME. */
struct dbuf dbuf_vgem(size_t size)
{
	struct dbuf b = { 0 };
	int card = vgem_open();
	uint32_t handle;

	if (card < 0)
		FAIL("the vgem card: %s", strerror(errno));
	if (vgem_dumb(card, &size, &handle))
		FAIL("vgem dumb buffer: %s", strerror(errno));
	b.fd = vgem_export(card, handle);
	if (b.fd < 0)
		FAIL("vgem PRIME export: %s", strerror(errno));
	close(card); /* the dma-buf keeps the object */
	b.size = size;
	return b;
}

int vgem_fence(struct vgem_fence *f)
{
	if (vgem_fence_new(f))
		FAIL("a vgem fence: %s", strerror(errno));
	return f->sync_file;
}

void vgem_fence_signal(struct vgem_fence *f)
{
	if (vgem_fence_done(f))
		FAIL("VGEM_FENCE_SIGNAL: %s", strerror(errno));
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
