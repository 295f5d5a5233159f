/* SPDX-License-Identifier: GPL-2.0 */
/* p2pbar: internal definitions shared by the module's files. */
#ifndef P2PBAR_H
#define P2PBAR_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/pci.h>
#include <linux/rwsem.h>

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
};

int p2pbar_cdev_init(void);
void p2pbar_cdev_exit(void);
int p2pbar_cdev_add(struct p2pbar_dev *p, struct device *parent);
void p2pbar_cdev_del(struct p2pbar_dev *p);

#endif /* P2PBAR_H */
