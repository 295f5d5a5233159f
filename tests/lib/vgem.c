// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include "vgem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The DRM uAPI these need (the guest has no libdrm headers). */
struct drm_version {
	int version_major, version_minor, version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct drm_mode_create_dumb {
	uint32_t height, width, bpp, flags, handle, pitch;
	uint64_t size;
};

struct drm_prime_handle {
	uint32_t handle, flags;
	int32_t fd;
};

struct drm_vgem_fence_attach {
	uint32_t handle, flags, out_fence, pad;
};

struct drm_vgem_fence_signal {
	uint32_t fence, flags;
};

#define DRM_IOCTL_VERSION	     _IOWR('d', 0x00, struct drm_version)
#define DRM_IOCTL_MODE_CREATE_DUMB   _IOWR('d', 0xB2, struct drm_mode_create_dumb)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct drm_prime_handle)
#define DRM_IOCTL_VGEM_FENCE_ATTACH  _IOWR('d', 0x40 + 0x1, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL  _IOW('d', 0x40 + 0x2, struct drm_vgem_fence_signal)
#define VGEM_FENCE_WRITE	     0x1

int vgem_open(void)
{
	for (int i = 0; i < 16; i++) {
		char path[32], name[16] = "";
		struct drm_version v = { .name_len = sizeof(name) - 1, .name = name };
		int fd;

		/*
		 * By the DRM driver's name: vgem's device is a platform device
		 * on 6.x and a faux device (/sys/devices/faux/vgem) on 7.x.
		 */
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	errno = ENODEV;
	return -1;
}

int vgem_dumb(int card, size_t *size, uint32_t *handle)
{
	long page = sysconf(_SC_PAGESIZE);
	struct drm_mode_create_dumb c = { .bpp = 8, .width = (uint32_t)page };

	*size = (*size + page - 1) & ~(size_t)(page - 1);
	c.height = *size / page;
	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		return -1;
	*size = c.size;
	*handle = c.handle;
	return 0;
}

int vgem_export(int card, uint32_t handle)
{
	struct drm_prime_handle h = { .handle = handle, .flags = O_CLOEXEC | O_RDWR };

	return ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &h) ? -1 : h.fd;
}

int vgem_fence_new(struct vgem_fence *f)
{
	struct drm_vgem_fence_attach a = { .flags = VGEM_FENCE_WRITE };
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW };
	size_t size = 1;
	int fd, err;

	f->card = vgem_open();
	if (f->card < 0)
		return -1;
	if (vgem_dumb(f->card, &size, &a.handle) || ioctl(f->card, DRM_IOCTL_VGEM_FENCE_ATTACH, &a))
		goto err;
	f->fence = a.out_fence;
	fd = vgem_export(f->card, a.handle);
	if (fd < 0)
		goto err;
	err = ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) ? errno : 0;
	close(fd);
	if (err) {
		errno = err;
		goto err;
	}
	f->sync_file = e.fd;
	return 0;
err:
	err = errno;
	close(f->card);
	errno = err;
	return -1;
}

int vgem_fence_done(struct vgem_fence *f)
{
	struct drm_vgem_fence_signal s = { .fence = f->fence };
	int ret = 0, err = 0;

	if (ioctl(f->card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) && errno != ETIMEDOUT) {
		ret = -1;
		err = errno;
	}
	close(f->card);
	errno = err;
	return ret;
}
