// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: the char device of a bound function, /dev/p2pbarN: the ioctls
 * that allocate buffers (p2pbar_ioctl.c), and pread/pwrite of the whole
 * BAR, the path the testbed uses to prove that guest and host see the
 * same device memory. Counters are in sysfs on the class device.
 *
 * The node is created 0600 (root); udev/60-p2pbar.rules gives it group
 * p2pbar, mode 0660. Whoever may open it may ALLOC, query and MIGRATE,
 * and reaches only the buffers it holds fds for (a new buffer is
 * zeroed). Raw pread/pwrite of the whole BAR (every tenant's
 * buffers and freed ranges) and RESET (revokes every tenant's buffers)
 * need CAP_SYS_ADMIN, see p2pbar_privileged().
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "p2pbar.h"

#define P2PBAR_MAX_DEVS 64
#define P2PBAR_RW_CHUNK (64 * 1024)

static dev_t p2pbar_devt;
static DEFINE_IDA(p2pbar_minors);

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

/* 1 if dynamic importers' maps do not pin (CONFIG_DMABUF_MOVE_NOTIFY). */
static ssize_t move_notify_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY));
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
	NULL,
};
ATTRIBUTE_GROUPS(p2pbar);

static int p2pbar_open(struct inode *inode, struct file *file)
{
	struct p2pbar_dev *p = container_of(inode->i_cdev, struct p2pbar_dev, cdev);

	get_device(&p->dev);
	file->private_data = p;
	return 0;
}

static int p2pbar_release(struct inode *inode, struct file *file)
{
	struct p2pbar_dev *p = file->private_data;

	put_device(&p->dev);
	return 0;
}

static loff_t p2pbar_llseek(struct file *file, loff_t off, int whence)
{
	struct p2pbar_dev *p = file->private_data;

	return fixed_size_llseek(file, off, whence, p->bar_size);
}

/*
 * Copy between the BAR and user memory through a bounce buffer, so the
 * lock that keeps the BAR mapped is never held across a user page fault.
 */
static ssize_t p2pbar_rw(struct file *file, char __user *ubuf, size_t len,
			 loff_t *ppos, bool write)
{
	struct p2pbar_dev *p = file->private_data;
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
			memcpy_toio(p->bar_wc + pos + done, bounce, n);
		else
			memcpy_fromio(bounce, p->bar_wc + pos + done, n);
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
	if (p->bar_wc)
		iounmap(p->bar_wc);
	p2pbar_allocator_destroy(&p->alloc);
	mutex_destroy(&p->bufs_lock);
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
