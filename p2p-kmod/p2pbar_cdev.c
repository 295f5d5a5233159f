// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: the char device of a bound function, /dev/p2pbarN: the ioctls
 * that allocate buffers (p2pbar_ioctl.c), pread/pwrite of the whole BAR
 * (the path the testbed uses to prove that guest and host see the same
 * device memory), the per-open-file state and the caps on what an opener
 * may allocate. Counters are in sysfs on the class device.
 *
 * Security model: the node is created 0600 (root); udev/60-p2pbar.rules
 * gives it group p2pbar, mode 0660. Whoever may open it may ALLOC, query
 * and MIGRATE, and reaches only the buffers it holds fds for (a new
 * buffer is zeroed). Raw pread/pwrite of the whole BAR (every tenant's
 * buffers and freed ranges) and RESET (revokes every tenant's buffers)
 * need CAP_SYS_ADMIN, see p2pbar_privileged().
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "p2pbar_drv.h"
#include "p2pbar_compat.h"

#define P2PBAR_MAX_DEVS 64
#define P2PBAR_RW_CHUNK (64 * 1024)

static dev_t p2pbar_devt;
static DEFINE_IDA(p2pbar_minors);

/*
 * Caps on what openers may allocate, read at every ALLOC (so a change
 * applies from the next one). Host memory: each device's buffers that
 * may hold HOST pages (HOST ones, and movable DEVICE ones, which
 * eviction, MIGRATE or an importer without P2P may move to HOST) are
 * charged in full at ALLOC, so the cap holds whatever moves later and a
 * move never fails on it. FIXED DEVICE buffers never use host memory.
 * The pages themselves are also charged to the allocating task's memcg.
 */
static unsigned int max_host_mb;
module_param(max_host_mb, uint, 0644);
MODULE_PARM_DESC(max_host_mb,
		 "MiB of HOST or movable buffers per device (0: half of RAM, the default); ALLOC beyond it fails with EDQUOT");

static unsigned int max_bufs_per_file = 1024;
module_param(max_bufs_per_file, uint, 0644);
MODULE_PARM_DESC(max_bufs_per_file,
		 "live buffers one open file of /dev/p2pbarN may allocate (0: no limit; default 1024); beyond it ALLOC fails with EMFILE");

/* The cap on a device's host_charged, in bytes. */
u64 p2pbar_max_host(void)
{
	unsigned int mb = READ_ONCE(max_host_mb);

	if (mb)
		return (u64)mb << 20;
	return ((u64)totalram_pages() << PAGE_SHIFT) / 2;
}

unsigned int p2pbar_max_bufs_per_file(void)
{
	return READ_ONCE(max_bufs_per_file);
}

/*
 * Count a new buffer against the open file @pf and @host_bytes against
 * its device's host cap: -EMFILE over max_bufs_per_file, -EDQUOT over
 * max_host_mb. Undone by p2pbar_uncharge(), or at the buffer's release
 * once p2pbar_buf_set_owner() handed the charge to it.
 */
int p2pbar_charge(struct p2pbar_file *pf, u64 host_bytes)
{
	unsigned int max_bufs = p2pbar_max_bufs_per_file();
	struct p2pbar_dev *p = pf->p;
	u64 limit = p2pbar_max_host();
	unsigned int n = atomic_inc_return(&pf->nbufs);
	s64 old;

	if (max_bufs && n > max_bufs) {
		atomic_dec(&pf->nbufs);
		dev_dbg(&p->dev, "ALLOC: this open file has %u buffers already\n",
			max_bufs);
		return -EMFILE;
	}
	if (!host_bytes)
		return 0;
	old = atomic64_read(&p->host_charged);
	do {
		if (host_bytes > limit || old > limit - host_bytes) {
			atomic_dec(&pf->nbufs);
			dev_dbg(&p->dev, "ALLOC: %llu host bytes over the cap (%lld of %llu charged)\n",
				host_bytes, old, limit);
			return -EDQUOT;
		}
	} while (!atomic64_try_cmpxchg(&p->host_charged, &old,
				       old + host_bytes));
	return 0;
}

void p2pbar_uncharge(struct p2pbar_file *pf, u64 host_bytes)
{
	atomic64_sub(host_bytes, &pf->p->host_charged);
	atomic_dec(&pf->nbufs);
}

static void p2pbar_file_free(struct kref *ref)
{
	struct p2pbar_file *pf = container_of(ref, struct p2pbar_file, ref);
	struct p2pbar_dev *p = pf->p;

	kfree(pf);
	put_device(&p->dev);
}

/*
 * The new buffer @buf carries the charge from now on: its release returns
 * it (p2pbar_buf_uncharge). Called before the buffer is visible to
 * anything that could release it.
 */
void p2pbar_buf_set_owner(struct p2pbar_buf *buf, struct p2pbar_file *pf,
			  u64 host_bytes)
{
	kref_get(&pf->ref);
	buf->owner = pf;
	buf->host_charge = host_bytes;
}

/* At the buffer's release (p2pbar_dmabuf.c). */
void p2pbar_buf_uncharge(struct p2pbar_buf *buf)
{
	struct p2pbar_file *pf = buf->owner;

	if (!pf)
		return;
	buf->owner = NULL;
	p2pbar_uncharge(pf, buf->host_charge);
	kref_put(&pf->ref, p2pbar_file_free);
}

/*
 * Raw pread/pwrite reach every tenant's buffers and the freed ranges of
 * the BAR, RESET revokes every tenant's buffers: both need
 * CAP_SYS_ADMIN, the capability the PCI core asks for raw access to a
 * device through sysfs (config space past the header, which is also
 * checked against the opener, enable, remove, resize). It is checked at
 * each call, not at open, because ALLOC users open the same node, and
 * both in the credentials the file was opened with (file->f_cred) and in
 * the caller's: the opener's, so an unprivileged opener cannot get a
 * privileged program to write to its fd (a set-uid program's stdout)
 * -- the reason write handlers must not trust current alone; the
 * caller's, so an fd a privileged opener leaks or passes on (fork,
 * SCM_RIGHTS) does not carry the privilege to a process without it.
 */
bool p2pbar_privileged(struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN) &&
	       capable(CAP_SYS_ADMIN);
}

static struct class p2pbar_class = {
	.name = "p2pbar",
};

static ssize_t bar_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%d\n", p->bar);
}
static DEVICE_ATTR_RO(bar);

static ssize_t bar_size_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%llu\n", (unsigned long long)p->bar_size);
}
static DEVICE_ATTR_RO(bar_size);

static ssize_t used_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%llu\n", p2pbar_allocator_used(&p->alloc));
}
static DEVICE_ATTR_RO(used);

static ssize_t buffers_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);
	u64 n;

	mutex_lock(&p->bufs_lock);
	n = p->nbufs;
	mutex_unlock(&p->bufs_lock);
	return sysfs_emit(buf, "%llu\n", n);
}
static DEVICE_ATTR_RO(buffers);

static ssize_t pinned_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&p->pinned));
}
static DEVICE_ATTR_RO(pinned);

static ssize_t attachments_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&p->attachments));
}
static DEVICE_ATTR_RO(attachments);

static ssize_t evictions_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&p->evictions));
}
static DEVICE_ATTR_RO(evictions);

static ssize_t migrations_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&p->migrations));
}
static DEVICE_ATTR_RO(migrations);

static ssize_t bytes_moved_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&p->bytes_moved));
}
static DEVICE_ATTR_RO(bytes_moved);

static ssize_t host_charged_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&p->host_charged));
}
static DEVICE_ATTR_RO(host_charged);

static ssize_t max_host_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%llu\n", p2pbar_max_host());
}
static DEVICE_ATTR_RO(max_host);

static ssize_t max_bufs_per_file_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", p2pbar_max_bufs_per_file());
}
static DEVICE_ATTR_RO(max_bufs_per_file);

/* 1 if dynamic importers' maps do not pin (P2PBAR_HAS_MOVE_NOTIFY). */
static ssize_t move_notify_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", P2PBAR_HAS_MOVE_NOTIFY);
}
static DEVICE_ATTR_RO(move_notify);

static struct attribute *p2pbar_attrs[] = {
	&dev_attr_bar.attr,
	&dev_attr_bar_size.attr,
	&dev_attr_used.attr,
	&dev_attr_buffers.attr,
	&dev_attr_pinned.attr,
	&dev_attr_attachments.attr,
	&dev_attr_evictions.attr,
	&dev_attr_migrations.attr,
	&dev_attr_bytes_moved.attr,
	&dev_attr_move_notify.attr,
	&dev_attr_host_charged.attr,
	&dev_attr_max_host.attr,
	&dev_attr_max_bufs_per_file.attr,
	NULL,
};
ATTRIBUTE_GROUPS(p2pbar);

static int p2pbar_open(struct inode *inode, struct file *file)
{
	struct p2pbar_dev *p = container_of(inode->i_cdev, struct p2pbar_dev, cdev);
	struct p2pbar_file *pf;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL_ACCOUNT);
	if (!pf)
		return -ENOMEM;
	get_device(&p->dev);
	pf->p = p;
	kref_init(&pf->ref);
	atomic_set(&pf->nbufs, 0);
	file->private_data = pf;
	return 0;
}

/* Buffers allocated through the file keep its state until they go. */
static int p2pbar_release(struct inode *inode, struct file *file)
{
	struct p2pbar_file *pf = file->private_data;

	kref_put(&pf->ref, p2pbar_file_free);
	return 0;
}

static loff_t p2pbar_llseek(struct file *file, loff_t off, int whence)
{
	struct p2pbar_dev *p = ((struct p2pbar_file *)file->private_data)->p;

	return fixed_size_llseek(file, off, whence, p->bar_size);
}

/*
 * Copy between the BAR and user memory through a bounce buffer, so the
 * lock that keeps the BAR mapped is never held across a user page fault.
 */
static ssize_t p2pbar_rw(struct file *file, char __user *ubuf, size_t len,
			 loff_t *ppos, bool write)
{
	struct p2pbar_dev *p = ((struct p2pbar_file *)file->private_data)->p;
	loff_t pos = *ppos;
	size_t done = 0;
	void *bounce;
	int ret = 0;

	if (!p2pbar_privileged(file))
		return -EPERM;
	if (pos < 0)
		return -EINVAL;
	if (pos >= p->bar_size)
		return write && len ? -ENOSPC : 0;
	len = min_t(u64, len, p->bar_size - pos);
	bounce = kmalloc(min_t(size_t, len, P2PBAR_RW_CHUNK), GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (done < len) {
		size_t n = min_t(size_t, len - done, P2PBAR_RW_CHUNK);

		if (write && copy_from_user(bounce, ubuf + done, n)) {
			ret = -EFAULT;
			break;
		}
		down_read(&p->lock);
		if (p->gone) {
			up_read(&p->lock);
			ret = -ENODEV;
			break;
		}
		if (write)
			memcpy_toio(p->bar_map + pos + done, bounce, n);
		else
			memcpy_fromio(bounce, p->bar_map + pos + done, n);
		up_read(&p->lock);
		if (!write && copy_to_user(ubuf + done, bounce, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	kfree(bounce);
	if (!done)
		return ret;
	*ppos = pos + done;
	return done;
}

static ssize_t p2pbar_read(struct file *file, char __user *buf, size_t len,
			   loff_t *ppos)
{
	return p2pbar_rw(file, buf, len, ppos, false);
}

static ssize_t p2pbar_write(struct file *file, const char __user *buf,
			    size_t len, loff_t *ppos)
{
	return p2pbar_rw(file, (char __user *)buf, len, ppos, true);
}

static const struct file_operations p2pbar_fops = {
	.owner = THIS_MODULE,
	.open = p2pbar_open,
	.release = p2pbar_release,
	.llseek = p2pbar_llseek,
	.read = p2pbar_read,
	.write = p2pbar_write,
	.unlocked_ioctl = p2pbar_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static void p2pbar_dev_release(struct device *dev)
{
	struct p2pbar_dev *p = container_of(dev, struct p2pbar_dev, dev);

	if (p->minor >= 0)
		ida_free(&p2pbar_minors, p->minor);
	/* Only now: buffers' kernel mappings may point into it until here. */
	if (p->bar_map)
		iounmap(p->bar_map);
	p2pbar_allocator_destroy(&p->alloc);
	mutex_destroy(&p->revoke_lock);
	mutex_destroy(&p->bufs_lock);
	pci_dev_put(p->region_pdev);
	kfree(p);
}

/*
 * Initialises p->dev first thing, so that on any failure the caller
 * releases p with put_device().
 */
int p2pbar_cdev_add(struct p2pbar_dev *p, struct device *parent)
{
	int ret;

	device_initialize(&p->dev);
	p->dev.class = &p2pbar_class;
	p->dev.parent = parent;
	p->dev.groups = p2pbar_groups;
	p->dev.release = p2pbar_dev_release;
	p->minor = ida_alloc_max(&p2pbar_minors, P2PBAR_MAX_DEVS - 1, GFP_KERNEL);
	if (p->minor < 0) {
		dev_err(parent, "more than %d p2pbar devices\n", P2PBAR_MAX_DEVS);
		return p->minor;
	}
	p->dev.devt = MKDEV(MAJOR(p2pbar_devt), p->minor);
	ret = dev_set_name(&p->dev, "p2pbar%d", p->minor);
	if (ret)
		return ret;
	cdev_init(&p->cdev, &p2pbar_fops);
	p->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&p->cdev, &p->dev);
	if (ret)
		dev_err(parent, "cannot add char device: %d\n", ret);
	return ret;
}

void p2pbar_cdev_del(struct p2pbar_dev *p)
{
	cdev_device_del(&p->cdev, &p->dev);
}

int p2pbar_cdev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&p2pbar_devt, 0, P2PBAR_MAX_DEVS, "p2pbar");
	if (ret)
		return ret;
	ret = class_register(&p2pbar_class);
	if (ret)
		unregister_chrdev_region(p2pbar_devt, P2PBAR_MAX_DEVS);
	return ret;
}

void p2pbar_cdev_exit(void)
{
	class_unregister(&p2pbar_class);
	unregister_chrdev_region(p2pbar_devt, P2PBAR_MAX_DEVS);
}
