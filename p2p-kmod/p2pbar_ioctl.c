// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: the ioctls of /dev/p2pbarN (uAPI in include/uapi/linux/p2pbar.h).
 *
 * Argument structs are versioned by their leading argsz: anything from
 * the first version up is accepted if the bytes we do not know are zero
 * (copy_struct_from_user), and at most argsz bytes are written back.
 */
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/uaccess.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar.h"

/* Bounds the zero check of an over-long struct. */
#define P2PBAR_MAX_ARGSZ PAGE_SIZE

static int p2pbar_get_args(void *karg, size_t ksize, void __user *uarg)
{
	u32 argsz;
	int ret;

	if (get_user(argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (argsz < ksize)
		return -EINVAL;
	if (argsz > P2PBAR_MAX_ARGSZ)
		return -E2BIG;
	ret = copy_struct_from_user(karg, ksize, uarg, argsz);
	return ret;
}

static bool p2pbar_zeroed(const u64 *r, size_t n)
{
	while (n--)
		if (r[n])
			return false;
	return true;
}

/* Largest power of two not above the BAR: the largest useful alignment. */
static u64 p2pbar_max_align(struct p2pbar_dev *p)
{
	return p->alloc.size ? rounddown_pow_of_two(p->alloc.size) : PAGE_SIZE;
}

static int p2pbar_ioctl_info(struct p2pbar_dev *p, void __user *uarg)
{
	struct p2pbar_info a;
	int ret;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || a.__pad)
		return -EINVAL;

	a.bar_size = p->bar_size;
	a.used = p2pbar_allocator_used(&p->alloc);
	a.free = p->alloc.size - a.used;
	a.page_size = PAGE_SIZE;
	a.max_alloc = p->alloc.size;
	a.max_align = p2pbar_max_align(p);
	mutex_lock(&p->bufs_lock);
	a.buffers = p->nbufs;
	mutex_unlock(&p->bufs_lock);
	a.bar_index = p->bar;
	a.placements = 1U << P2PBAR_PLACEMENT_DEVICE |
		       1U << P2PBAR_PLACEMENT_HOST;
	a.evictions = atomic64_read(&p->evictions);
	a.migrations = atomic64_read(&p->migrations);
	a.bytes_moved = atomic64_read(&p->bytes_moved);
	a.caps = 0;
	if (IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY))
		a.caps |= P2PBAR_CAP_MOVE_NOTIFY;
	if (IS_ENABLED(CONFIG_PCI_P2PDMA))
		a.caps |= P2PBAR_CAP_P2PDMA;
	a.pci_domain = p->pci_domain;
	a.pci_bus = p->pci_bus;
	a.pci_dev = PCI_SLOT(p->pci_devfn);
	a.pci_func = PCI_FUNC(p->pci_devfn);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static int p2pbar_ioctl_alloc(struct p2pbar_dev *p, void __user *uarg)
{
	struct p2pbar_alloc a;
	struct dma_buf *dmabuf;
	int ret, fd;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if ((a.flags & ~P2PBAR_ALLOC_FIXED) ||
	    !p2pbar_zeroed(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	if (a.placement != P2PBAR_PLACEMENT_DEVICE &&
	    a.placement != P2PBAR_PLACEMENT_HOST)
		return -EINVAL;
	if (!a.length)
		return -EINVAL;
	if (a.length > U64_MAX - (PAGE_SIZE - 1))
		return -EOVERFLOW;
	a.length = PAGE_ALIGN(a.length);
	if (a.length > p->alloc.size)
		return -E2BIG;
	if (a.align && !is_power_of_2(a.align))
		return -EINVAL;
	if (a.align > p2pbar_max_align(p))
		return -E2BIG;
	a.align = max_t(u64, a.align, PAGE_SIZE);

	/* Reserve the fd first, install it last (CVE-2025-38722). */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	ret = p2pbar_buf_export(p, &a, &dmabuf);
	if (ret)
		goto err_fd;
	a.fd = fd;
	if (copy_to_user(uarg, &a, sizeof(a))) {
		ret = -EFAULT;
		dma_buf_put(dmabuf);
		goto err_fd;
	}
	fd_install(fd, dmabuf->file);
	return 0;

err_fd:
	put_unused_fd(fd);
	return ret;
}

static int p2pbar_ioctl_buf_info(struct p2pbar_dev *p, void __user *uarg)
{
	struct p2pbar_buf_info a;
	int ret;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || !p2pbar_zeroed(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	ret = p2pbar_buf_info(p, &a);
	if (ret)
		return ret;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static int p2pbar_ioctl_reset(struct p2pbar_dev *p, void __user *uarg)
{
	struct p2pbar_reset a;
	int ret;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || !p2pbar_zeroed(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	a.revoked = p2pbar_bufs_revoke(p, true);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static int p2pbar_ioctl_migrate(struct p2pbar_dev *p, void __user *uarg)
{
	struct p2pbar_migrate a;
	int ret;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || !p2pbar_zeroed(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	if (a.placement != P2PBAR_PLACEMENT_DEVICE &&
	    a.placement != P2PBAR_PLACEMENT_HOST)
		return -EINVAL;
	return p2pbar_buf_migrate(p, a.fd, a.placement);
}

long p2pbar_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct p2pbar_dev *p = file->private_data;
	void __user *uarg = (void __user *)arg;

	/* The first versions of the ABI: the same on 32- and 64-bit. */
	BUILD_BUG_ON(sizeof(struct p2pbar_info) != 112);
	BUILD_BUG_ON(sizeof(struct p2pbar_alloc) != 80);
	BUILD_BUG_ON(sizeof(struct p2pbar_buf_info) != 88);
	BUILD_BUG_ON(sizeof(struct p2pbar_migrate) != 48);
	BUILD_BUG_ON(sizeof(struct p2pbar_reset) != 32);

	switch (cmd) {
	case P2PBAR_IOCTL_INFO:
	case P2PBAR_IOCTL_ALLOC:
	case P2PBAR_IOCTL_BUF_INFO:
	case P2PBAR_IOCTL_MIGRATE:
	case P2PBAR_IOCTL_RESET:
		break;
	default:
		return -ENOTTY;
	}
	/* RESET revokes every tenant's buffers (p2pbar_privileged()). */
	if (cmd == P2PBAR_IOCTL_RESET && !p2pbar_privileged(file))
		return -EPERM;
	if (READ_ONCE(p->gone))
		return -ENODEV;

	switch (cmd) {
	case P2PBAR_IOCTL_INFO:
		return p2pbar_ioctl_info(p, uarg);
	case P2PBAR_IOCTL_ALLOC:
		return p2pbar_ioctl_alloc(p, uarg);
	case P2PBAR_IOCTL_MIGRATE:
		return p2pbar_ioctl_migrate(p, uarg);
	case P2PBAR_IOCTL_RESET:
		return p2pbar_ioctl_reset(p, uarg);
	default:
		return p2pbar_ioctl_buf_info(p, uarg);
	}
}
