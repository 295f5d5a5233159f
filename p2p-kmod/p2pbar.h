/* SPDX-License-Identifier: GPL-2.0 */
/* p2pbar: internal definitions shared by the module's files. */
#ifndef P2PBAR_H
#define P2PBAR_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/pci.h>
#include <linux/rwsem.h>

#include "p2pbar_alloc.h"

struct dentry;
struct dma_buf;
struct p2pbar_alloc;
struct p2pbar_buf_info;

/**
 * struct p2pbar_dev - one bound PCI function and the BAR it exports
 * @pdev:     the PCI function; NULL once it is gone (unbound)
 * @bar:      index of the exported memory BAR
 * @bar_start: CPU physical address of the BAR
 * @bar_size: size of the BAR in bytes
 * @bar_wc:   write-combined kernel mapping of the whole BAR
 * @minor:    minor number of the char device
 * @cdev:     the char device
 * @dev:      the class device (/dev/p2pbarN, /sys/class/p2pbar/p2pbarN);
 *            its reference count keeps this struct alive: the PCI
 *            binding and every open file hold one
 * @lock:     held for reading while the BAR is touched, for writing by
 *            remove, so nothing touches the BAR after unbind
 * @gone:     the PCI function was unbound; every access fails with -ENODEV
 * @pci_domain, @pci_bus, @pci_devfn: the PCI address, kept for INFO
 * @alloc:    the BAR range allocator
 * @bufs_lock: protects @bufs, @nbufs and @next_id
 * @bufs:     live buffers (struct p2pbar_buf), to revoke them on unbind
 * @nbufs:    number of entries in @bufs
 * @next_id:  id of the next buffer
 * @pinned:   pins held on this device's buffers
 * @attachments: importers attached to this device's buffers
 * @debugfs:  /sys/kernel/debug/p2pbar/<pci name>
 *
 * The BAR's kernel mapping @bar_wc lives until the struct is released,
 * so a kernel vmap an importer holds never points at unmapped space.
 */
struct p2pbar_dev {
	struct pci_dev *pdev;
	int bar;
	phys_addr_t bar_start;
	resource_size_t bar_size;
	void __iomem *bar_wc;
	int minor;
	struct cdev cdev;
	struct device dev;
	struct rw_semaphore lock;
	bool gone;
	u32 pci_domain;
	u8 pci_bus;
	u8 pci_devfn;
	struct p2pbar_allocator alloc;
	struct mutex bufs_lock; /* protects bufs, nbufs, next_id */
	struct list_head bufs;
	u64 nbufs;
	u64 next_id;
	atomic_t pinned;
	atomic_t attachments;
	struct dentry *debugfs;
};

/**
 * struct p2pbar_buf - one exported buffer, the priv of its dma-buf
 * @p:         the device; the buffer holds a reference on p->dev
 * @dmabuf:    the dma-buf
 * @node:      in p->bufs
 * @id:        buffer id (uAPI)
 * @offset:    where it starts in the BAR (placement DEVICE)
 * @size:      bytes, a multiple of PAGE_SIZE
 * @placement: P2PBAR_PLACEMENT_*; only DEVICE today, migration comes later
 * @pin_count: importer pins, under the dma-buf's reservation lock
 * @attachments: importers attached
 */
struct p2pbar_buf {
	struct p2pbar_dev *p;
	struct dma_buf *dmabuf;
	struct list_head node;
	u64 id;
	u64 offset;
	u64 size;
	u32 placement;
	unsigned int pin_count;
	atomic_t attachments;
};

int p2pbar_cdev_init(void);
void p2pbar_cdev_exit(void);
int p2pbar_cdev_add(struct p2pbar_dev *p, struct device *parent);
void p2pbar_cdev_del(struct p2pbar_dev *p);

long p2pbar_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

int p2pbar_buf_export(struct p2pbar_dev *p, struct p2pbar_alloc *args,
		      struct dma_buf **dmabuf);
int p2pbar_buf_info(struct p2pbar_dev *p, struct p2pbar_buf_info *args);
void p2pbar_bufs_revoke(struct p2pbar_dev *p);

void p2pbar_debugfs_init(void);
void p2pbar_debugfs_exit(void);
void p2pbar_debugfs_add(struct p2pbar_dev *p, const char *name);
void p2pbar_debugfs_del(struct p2pbar_dev *p);

#endif /* P2PBAR_H */
