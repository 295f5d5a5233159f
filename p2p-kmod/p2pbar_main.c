// SPDX-License-Identifier: GPL-2.0
/*
 * p2pbar: export a PCI device's memory BAR.
 *
 * This file is the PCI driver: it binds to QEMU's ivshmem device by
 * default (any other function through driver_override or new_id), picks
 * the BAR to export and hands it to the char device.
 */
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "p2pbar_compat.h"
#include "p2pbar_drv.h"

#define CREATE_TRACE_POINTS
#include "p2pbar_trace.h"

static int bar = -1;
module_param(bar, int, 0444);
MODULE_PARM_DESC(bar, "BAR to export (default -1: the largest prefetchable memory BAR)");

/* The largest prefetchable memory BAR, or the one the user asked for. */
static int p2pbar_pick_bar(struct pci_dev *pdev)
{
	resource_size_t best_size = 0;
	int i, best = -ENODEV;

	if (bar >= 0) {
		if (bar >= PCI_STD_NUM_BARS ||
		    !(pci_resource_flags(pdev, bar) & IORESOURCE_MEM) ||
		    !pci_resource_len(pdev, bar)) {
			pci_err(pdev, "BAR %d is not a memory BAR\n", bar);
			return -EINVAL;
		}
		return bar;
	}
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		unsigned long flags = pci_resource_flags(pdev, i);

		if (!(flags & IORESOURCE_MEM) || !(flags & IORESOURCE_PREFETCH))
			continue;
		if (pci_resource_len(pdev, i) > best_size) {
			best_size = pci_resource_len(pdev, i);
			best = i;
		}
	}
	if (best < 0)
		pci_err(pdev, "no prefetchable memory BAR to export (use bar=N)\n");
	return best;
}

/* The BAR to export, if it is usable: a memory BAR of at least a page. */
static int p2pbar_usable_bar(struct pci_dev *pdev)
{
	int b = p2pbar_pick_bar(pdev);

	if (b >= 0 && pci_resource_len(pdev, b) < PAGE_SIZE) {
		pci_err(pdev, "BAR %d is smaller than a page (%llu bytes)\n", b,
			(unsigned long long)pci_resource_len(pdev, b));
		return -EINVAL;
	}
	return b;
}

static int p2pbar_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct p2pbar_dev *p;
	int ret, b;

	ret = pci_enable_device_mem(pdev);
	if (ret) {
		pci_err(pdev, "cannot enable device: %d\n", ret);
		return ret;
	}
	b = p2pbar_usable_bar(pdev);
	if (b < 0) {
		ret = b;
		goto err_disable;
	}
	ret = pci_request_region(pdev, b, KBUILD_MODNAME);
	if (ret) {
		pci_err(pdev, "BAR %d is busy: %d\n", b, ret);
		goto err_disable;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		ret = -ENOMEM;
		goto err_release;
	}
	p->pdev = pdev;
	p->bar = b;
	p->bar_start = pci_resource_start(pdev, b);
	p->bar_size = pci_resource_len(pdev, b);
	p->pci_domain = pci_domain_nr(pdev->bus);
	p->pci_bus = pdev->bus->number;
	p->pci_devfn = pdev->devfn;
	init_rwsem(&p->lock);
	mutex_init(&p->bufs_lock);
	mutex_init(&p->revoke_lock);
	atomic_set(&p->bar_users, 1); /* the binding's */
	init_waitqueue_head(&p->drain_wq);
	INIT_LIST_HEAD(&p->bufs);
	atomic_set(&p->pinned, 0);
	atomic_set(&p->attachments, 0);
	spin_lock_init(&p->lru_lock);
	INIT_LIST_HEAD(&p->lru);
	atomic64_set(&p->evictions, 0);
	atomic64_set(&p->migrations, 0);
	atomic64_set(&p->bytes_moved, 0);
	p->minor = -1;
	ret = p2pbar_allocator_init(&p->alloc, p->bar_size, PAGE_SIZE);
	if (ret) {
		kfree(p);
		goto err_release;
	}
	p->bar_prefetch = pci_resource_flags(pdev, b) & IORESOURCE_PREFETCH;
	if (p->bar_prefetch)
		p->bar_map = ioremap_wc(p->bar_start, p->bar_size);
	else
		p->bar_map = ioremap(p->bar_start, p->bar_size);
	if (!p->bar_map) {
		pci_err(pdev, "cannot map BAR %d\n", b);
		p2pbar_allocator_destroy(&p->alloc);
		kfree(p);
		ret = -ENOMEM;
		goto err_release;
	}
	p->provider = p2pbar_p2p_provider(pdev, b);
	/* No pci_set_master(): the exporter never DMAs, it is only a target. */
	pci_set_drvdata(pdev, p);

	/*
	 * From here p->dev owns p: put_device() frees it, unmaps the BAR
	 * and drops this reference.
	 */
	p->region_pdev = pci_dev_get(pdev);
	ret = p2pbar_cdev_add(p, &pdev->dev);
	if (ret)
		goto err_put;
	p2pbar_debugfs_add(p, pci_name(pdev));
	pci_info(pdev, "exporting BAR %d: %pa, %llu MiB\n", b, &p->bar_start,
		 (unsigned long long)p->bar_size >> 20);
	return 0;

err_put:
	pci_set_drvdata(pdev, NULL);
	put_device(&p->dev); /* frees p */
err_release:
	pci_release_region(pdev, b);
err_disable:
	pci_disable_device(pdev);
	return ret;
}

static void p2pbar_remove(struct pci_dev *pdev)
{
	struct p2pbar_dev *p = pci_get_drvdata(pdev);

	/*
	 * No new opens; wait out every access in flight; revoke every
	 * buffer; wait until no importer can reach the BAR before the
	 * region is released (p2pbar_revoke.c). Buffers outlive the
	 * device: they keep p until their last reference goes, and fail
	 * every map, pin and mmap fault with -ENODEV/SIGBUS.
	 */
	p2pbar_debugfs_del(p);
	p2pbar_cdev_del(p);
	down_write(&p->lock);
	p->gone = true;
	p->pdev = NULL;
	up_write(&p->lock);
	p2pbar_bufs_revoke(p, false);
	p2pbar_drain_wait(p);
	pci_disable_device(pdev);
	put_device(&p->dev);
}

static const struct pci_device_id p2pbar_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1110) }, /* ivshmem */
	{ }
};
MODULE_DEVICE_TABLE(pci, p2pbar_ids);

static struct pci_driver p2pbar_driver = {
	.name = KBUILD_MODNAME,
	.id_table = p2pbar_ids,
	.probe = p2pbar_probe,
	.remove = p2pbar_remove,
};

static int __init p2pbar_init(void)
{
	int ret = p2pbar_cdev_init();

	if (ret)
		return ret;
	p2pbar_debugfs_init();
	ret = pci_register_driver(&p2pbar_driver);
	if (ret) {
		p2pbar_debugfs_exit();
		p2pbar_cdev_exit();
	}
	return ret;
}

static void __exit p2pbar_exit(void)
{
	pci_unregister_driver(&p2pbar_driver);
	p2pbar_debugfs_exit();
	p2pbar_cdev_exit();
}

module_init(p2pbar_init);
module_exit(p2pbar_exit);
MODULE_DESCRIPTION("Export PCI BAR memory as dma-bufs");
MODULE_LICENSE("GPL");
