/* SPDX-License-Identifier: GPL-2.0 */
/* p2pbar: internal definitions shared by the module's files. */
#ifndef P2PBAR_DRV_H
#define P2PBAR_DRV_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/kref.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/wait.h>

#include "p2pbar_alloc.h"

struct dentry;
struct dma_buf;
struct vm_area_struct;
struct p2pbar_alloc;
struct p2pbar_buf_info;
struct p2pdma_provider;

/**
 * struct p2pbar_dev - one bound PCI function and the BAR it exports
 * @pdev:     the PCI function; NULL once it is gone (unbound)
 * @bar:      index of the exported memory BAR
 * @bar_start: CPU physical address of the BAR
 * @bar_size: size of the BAR in bytes
 * @bar_map:  kernel mapping of the whole BAR: write-combined for a
 *            prefetchable BAR, uncached otherwise (registers, side effects)
 * @bar_prefetch: the BAR is prefetchable: WC mappings are allowed
 * @provider: the BAR's p2pdma provider where the core has one (see
 *            p2pbar_compat.h), else NULL; device-managed
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
 * @bufs_lock: protects @bufs, @nbufs and @next_id; never held across a wait
 * @revoke_lock: serialises revokes (RESET, unbind)
 * @bar_users: the binding plus every revoked buffer whose BAR range is not
 *            back yet; the last one releases the PCI region
 * @drain_wq:  woken when @bar_users drops
 * @region_pdev: the PCI function (a reference) whose region @bar_users holds
 * @bufs:     live buffers (struct p2pbar_buf), to revoke them on unbind
 * @nbufs:    number of entries in @bufs
 * @next_id:  id of the next buffer
 * @pinned:   pins held on this device's buffers
 * @attachments: importers attached to this device's buffers
 * @lru_lock: protects @lru and every buffer's @lru node
 * @lru:      movable buffers in DEVICE placement, least recently used first
 * @evictions: buffers moved to HOST to make room
 * @migrations: moves of any kind
 * @bytes_moved: bytes copied by moves
 * @host_charged: bytes of live buffers that may hold HOST pages (every
 *            buffer but a FIXED DEVICE one), charged at ALLOC against
 *            the max_host_mb cap and returned at release
 * @debugfs:  /sys/kernel/debug/p2pbar/<pci name>
 *
 * The BAR's kernel mapping @bar_map lives until the struct is released,
 * so a kernel vmap an importer holds never points at unmapped space.
 */
struct p2pbar_dev {
	struct pci_dev *pdev;
	int bar;
	phys_addr_t bar_start;
	resource_size_t bar_size;
	void __iomem *bar_map;
	bool bar_prefetch;
	struct p2pdma_provider *provider;
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
	struct mutex revoke_lock; /* serialises revokes */
	atomic_t bar_users;
	wait_queue_head_t drain_wq;
	struct pci_dev *region_pdev;
	struct list_head bufs;
	u64 nbufs;
	u64 next_id;
	atomic_t pinned;
	atomic_t attachments;
	spinlock_t lru_lock; /* protects lru */
	struct list_head lru;
	atomic64_t evictions;
	atomic64_t migrations;
	atomic64_t bytes_moved;
	atomic64_t host_charged;
	struct dentry *debugfs;
};

/* What a DEVICE buffer's BAR range is doing; only revoke changes it. */
enum p2pbar_range {
	P2PBAR_RANGE_IN_USE,	/* the buffer's own */
	P2PBAR_RANGE_DRAINING,	/* revoked, an importer may still reach it */
	P2PBAR_RANGE_RETURNED,	/* revoked and back in the allocator */
};

/**
 * struct p2pbar_file - one open file of /dev/p2pbarN, its private_data
 * @p:     the device; holds a reference on p->dev
 * @ref:   held by the open file and by every buffer allocated through it,
 *         so a buffer that outlives the file still finds its count
 * @nbufs: live buffers allocated through this file (max_bufs_per_file)
 */
struct p2pbar_file {
	struct p2pbar_dev *p;
	struct kref ref;
	atomic_t nbufs;
};

/**
 * struct p2pbar_buf - one exported buffer, the priv of its dma-buf
 * @p:         the device; the buffer holds a reference on p->dev
 * @dmabuf:    the dma-buf
 * @node:      in p->bufs
 * @id:        buffer id (uAPI)
 * @lru:       in p->lru while movable and in DEVICE, under p->lru_lock
 * @offset:    where it starts in the BAR (placement DEVICE)
 * @size:      bytes, a multiple of PAGE_SIZE
 * @align:     BAR alignment asked for at ALLOC
 * @flags:     P2PBAR_ALLOC_* it was allocated with
 * @placement: P2PBAR_PLACEMENT_*
 * @pages:     the system pages of placement HOST, else NULL
 * @vaddr:     kernel mapping of @pages while vmapped in HOST
 * @pin_count: importer pins
 * @map_count: sg_tables handed out and not yet unmapped
 * @vmapped:   the dma-buf core holds our vmap
 * @moves:     moves between placements
 * @attachments: importers attached
 * @nop2p:     importers attached without peer2peer: they pin HOST
 * @revoked:   RESET or unbind revoked it: maps fail, faults SIGBUS
 * @range:     enum p2pbar_range, for placement DEVICE
 * @fences_pending: revoked, and its fences have not been seen signalled
 * @vmap_dummy: the vmap is of @dummy (a vmap after revoke), not the memory
 * @dummy:     the zeroed page a vmap after revoke shows, else NULL
 * @revoke_node, @revoke_file: a revoke's list entry and file reference
 * @owner:     the open file it was allocated through (accounting only)
 * @host_charge: bytes it charged to p->host_charged
 *
 * @placement, @offset, @pages, @vaddr, @pin_count, @map_count, @vmapped,
 * @moves, @range, @fences_pending, @vmap_dummy and @dummy change only
 * under the dma-buf's reservation lock.
 */
struct p2pbar_buf {
	struct p2pbar_dev *p;
	struct dma_buf *dmabuf;
	struct list_head node;
	struct list_head lru;
	u64 id;
	u64 offset;
	u64 size;
	u64 align;
	u32 flags;
	u32 placement;
	struct page **pages;
	void *vaddr;
	unsigned int pin_count;
	unsigned int map_count;
	bool vmapped;
	u64 moves;
	atomic_t attachments;
	atomic_t nop2p;
	bool revoked;
	enum p2pbar_range range;
	bool fences_pending;
	bool vmap_dummy;
	struct page *dummy;
	struct list_head revoke_node;
	struct file *revoke_file;
	struct p2pbar_file *owner;
	u64 host_charge;
};

/* Revoked by RESET or unbind: no new use of the memory. */
static inline bool p2pbar_buf_dead(struct p2pbar_buf *buf)
{
	return READ_ONCE(buf->revoked) || READ_ONCE(buf->p->gone);
}

/* How p2pbar_buf_move() may find room in the BAR. */
enum p2pbar_move_how {
	P2PBAR_MOVE_NO_EVICT,	/* only if there is room */
	P2PBAR_MOVE_MAY_EVICT,	/* evict other buffers to make room */
	P2PBAR_MOVE_EVICTION,	/* this move is an eviction (counted) */
	P2PBAR_MOVE_OPPORTUNISTIC, /* only if there is room and no fence */
};

int p2pbar_cdev_init(void);
void p2pbar_cdev_exit(void);
int p2pbar_cdev_add(struct p2pbar_dev *p, struct device *parent);
void p2pbar_cdev_del(struct p2pbar_dev *p);

/* Per-open-file and per-device caps (p2pbar_cdev.c). */
bool p2pbar_privileged(struct file *file);
u64 p2pbar_max_host(void);
unsigned int p2pbar_max_bufs_per_file(void);
int p2pbar_charge(struct p2pbar_file *pf, u64 host_bytes);
void p2pbar_uncharge(struct p2pbar_file *pf, u64 host_bytes);
void p2pbar_buf_set_owner(struct p2pbar_buf *buf, struct p2pbar_file *pf,
			  u64 host_bytes);
void p2pbar_buf_uncharge(struct p2pbar_buf *buf);

long p2pbar_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

int p2pbar_buf_export(struct p2pbar_dev *p, struct p2pbar_alloc *args,
		      struct dma_buf **dmabuf);
int p2pbar_buf_info(struct p2pbar_dev *p, struct p2pbar_buf_info *args);
int p2pbar_buf_migrate(struct p2pbar_dev *p, int fd, u32 placement);
struct p2pbar_dev *p2pbar_vma_buf_dev(struct vm_area_struct *vma);
u64 p2pbar_bufs_revoke(struct p2pbar_dev *p, bool reset);
void p2pbar_buf_drain(struct p2pbar_buf *buf);
void p2pbar_buf_drain_release(struct p2pbar_buf *buf);
void p2pbar_bar_put(struct p2pbar_dev *p);
void p2pbar_drain_wait(struct p2pbar_dev *p);

extern const struct dma_buf_ops p2pbar_dmabuf_ops;

int p2pbar_buf_move(struct p2pbar_buf *buf, u32 to, enum p2pbar_move_how how);

/* Storage of the placements (p2pbar_storage.c). */
/* Allocate and copy in batches of this many pages between reschedules. */
#define P2PBAR_COPY_BATCH 256
int p2pbar_storage_new(struct p2pbar_buf *buf, u32 to,
		       enum p2pbar_move_how how, u64 *offset,
		       struct page ***pages);
void p2pbar_storage_free(struct p2pbar_buf *buf, u32 placement, u64 offset,
			 struct page **pages);
int p2pbar_bar_alloc(struct p2pbar_dev *p, u64 len, u64 align, u64 *offset);
struct page **p2pbar_pages_alloc(u64 size, gfp_t gfp);
void p2pbar_pages_free(struct page **pages, u64 size);
void p2pbar_lru_add(struct p2pbar_buf *buf);
void p2pbar_lru_touch(struct p2pbar_buf *buf);
void p2pbar_lru_del(struct p2pbar_buf *buf);

void p2pbar_debugfs_init(void);
void p2pbar_debugfs_exit(void);
void p2pbar_debugfs_add(struct p2pbar_dev *p, const char *name);
void p2pbar_debugfs_del(struct p2pbar_dev *p);

#endif /* P2PBAR_DRV_H */
