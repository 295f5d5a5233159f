// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: the ioctls of /dev/p2pbarN (uAPI in include/uapi/linux/p2pbar.h).
 *
 * Argument structs are versioned by their leading argsz: anything from
 * the struct's size up is accepted if the bytes we do not know are zero
 * (copy_struct_from_user), and at most argsz bytes are written back, so
 * fields can be appended later.
 */
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <uapi/linux/p2pbar.h>

#include "p2pbar_drv.h"
#include "p2pbar_compat.h"

/* Every struct is in its first version: a smaller @argsz is EINVAL. */
static int p2pbar_get_args(void *karg, size_t ksize, void __user *uarg)
{
	u32 argsz;

	if (get_user(argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (argsz < ksize)
		return -EINVAL;
	if (argsz > P2PBAR_ARGSZ_MAX)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, argsz);
}

/* Write back what the caller's version of the struct holds. */
static int p2pbar_put_args(void __user *uarg, const void *karg, size_t ksize)
{
	size_t n = min_t(size_t, *(const u32 *)karg, ksize);

	return copy_to_user(uarg, karg, n) ? -EFAULT : 0;
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

static int p2pbar_ioctl_info(struct p2pbar_file *pf, void __user *uarg)
{
	struct p2pbar_dev *p = pf->p;
	struct p2pbar_info a;
	int ret;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || a.__pad)
		return -EINVAL;

	a.bar_size = p->bar_size;
	a.page_size = PAGE_SIZE;
	a.max_alloc = p->alloc.size;
	a.max_align = p2pbar_max_align(p);
	a.bar_index = p->bar;
	a.placements = 1U << P2PBAR_PLACEMENT_DEVICE |
		       1U << P2PBAR_PLACEMENT_HOST;
	a.caps = 0;
	if (P2PBAR_HAS_MOVE_NOTIFY)
		a.caps |= P2PBAR_CAP_MOVE_NOTIFY;
	if (IS_ENABLED(CONFIG_PCI_P2PDMA))
		a.caps |= P2PBAR_CAP_P2PDMA;
	a.pci_domain = p->pci_domain;
	a.pci_bus = p->pci_bus;
	a.pci_dev = PCI_SLOT(p->pci_devfn);
	a.pci_func = PCI_FUNC(p->pci_devfn);
	a.max_host = p2pbar_max_host();
	a.file_buffers = atomic_read(&pf->nbufs);
	a.max_bufs_per_file = p2pbar_max_bufs_per_file();
	return p2pbar_put_args(uarg, &a, sizeof(a));
}

static int p2pbar_ioctl_alloc(struct p2pbar_file *pf, void __user *uarg)
{
	struct p2pbar_dev *p = pf->p;
	struct p2pbar_alloc a;
	struct dma_buf *dmabuf;
	u64 host_bytes;
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

	/* Only a FIXED DEVICE buffer can never hold HOST pages. */
	host_bytes = a.length;
	if (a.placement == P2PBAR_PLACEMENT_DEVICE &&
	    (a.flags & P2PBAR_ALLOC_FIXED))
		host_bytes = 0;
	ret = p2pbar_charge(pf, host_bytes);
	if (ret)
		return ret;

	/* Reserve the fd first, install it last (CVE-2025-38722). */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_charge;
	}
	ret = p2pbar_buf_export(p, &a, &dmabuf);
	if (ret)
		goto err_export;
	/* From here the buffer's release returns the charge. */
	p2pbar_buf_set_owner(dmabuf->priv, pf, host_bytes);
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
err_export:
	put_unused_fd(fd);
err_charge:
	p2pbar_uncharge(pf, host_bytes);
	return ret;
}

static int p2pbar_ioctl_buf_info(struct p2pbar_file *pf, void __user *uarg)
{
	struct p2pbar_dev *p = pf->p;
	struct p2pbar_buf_info a;
	int ret;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || a.__pad || a.reserved)
		return -EINVAL;
	ret = p2pbar_buf_info(p, &a);
	if (ret)
		return ret;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/*
 * Whether [@uarg, @uarg + @len) is in a mapping of one of @p's buffers:
 * a RESET would revoke it and then fail to write its result there.
 */
static bool p2pbar_in_buf_mapping(struct p2pbar_dev *p, void __user *uarg,
				  size_t len)
{
	unsigned long addr = (unsigned long)uarg;
	unsigned long last = addr + len - 1;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool ours = false;

	mmap_read_lock(mm);
	for (vma = find_vma(mm, addr); vma && vma->vm_start <= last;
	     vma = find_vma(mm, vma->vm_end)) {
		if (p2pbar_vma_buf_dev(vma) == p) {
			ours = true;
			break;
		}
	}
	mmap_read_unlock(mm);
	return ours;
}

static int p2pbar_ioctl_reset(struct p2pbar_file *pf, void __user *uarg)
{
	struct p2pbar_dev *p = pf->p;
	struct p2pbar_reset a;
	int ret;

	ret = p2pbar_get_args(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || !p2pbar_zeroed(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	/* Revoking cannot be undone: find a result we cannot write first. */
	a.revoked = 0;
	if (p2pbar_in_buf_mapping(p, uarg, sizeof(a)) ||
	    copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	a.revoked = p2pbar_bufs_revoke(p, true);
	/* Still writable unless unmapped meanwhile: the reset is done. */
	if (copy_to_user(uarg, &a, sizeof(a)))
		dev_dbg(&p->dev, "reset: result not written back\n");
	return 0;
}

static int p2pbar_ioctl_migrate(struct p2pbar_file *pf, void __user *uarg)
{
	struct p2pbar_dev *p = pf->p;
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

/*
 * The ioctls, by command number. @admin: reaches every tenant's buffers,
 * so it needs CAP_SYS_ADMIN of opener and caller (p2pbar_privileged()).
 */
static const struct {
	unsigned int cmd;
	bool admin;
	int (*fn)(struct p2pbar_file *pf, void __user *uarg);
} p2pbar_ioctls[] = {
	{ P2PBAR_IOCTL_INFO, false, p2pbar_ioctl_info },
	{ P2PBAR_IOCTL_ALLOC, false, p2pbar_ioctl_alloc },
	{ P2PBAR_IOCTL_BUF_INFO, false, p2pbar_ioctl_buf_info },
	{ P2PBAR_IOCTL_MIGRATE, false, p2pbar_ioctl_migrate },
	{ P2PBAR_IOCTL_RESET, true, p2pbar_ioctl_reset },
};

long p2pbar_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct p2pbar_file *pf = file->private_data;
	unsigned int i;

	/* The ABI's structs: the same on 32- and 64-bit. */
	BUILD_BUG_ON(sizeof(struct p2pbar_info) != 88);
	BUILD_BUG_ON(sizeof(struct p2pbar_alloc) != 80);
	BUILD_BUG_ON(sizeof(struct p2pbar_buf_info) != 88);
	BUILD_BUG_ON(sizeof(struct p2pbar_migrate) != 48);
	BUILD_BUG_ON(sizeof(struct p2pbar_reset) != 32);
	BUILD_BUG_ON(P2PBAR_ARGSZ_MAX > PAGE_SIZE);

	for (i = 0; i < ARRAY_SIZE(p2pbar_ioctls); i++) {
		if (p2pbar_ioctls[i].cmd != cmd)
			continue;
		if (p2pbar_ioctls[i].admin && !p2pbar_privileged(file))
			return -EPERM;
		if (READ_ONCE(pf->p->gone))
			return -ENODEV;
		return p2pbar_ioctls[i].fn(pf, (void __user *)arg);
	}
	return -ENOTTY;
}
