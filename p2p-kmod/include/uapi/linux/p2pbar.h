/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * p2pbar: export a PCI device's memory BAR as dma-bufs.
 *
 * The ioctls of /dev/p2pbarN. Every argument struct starts with @argsz,
 * the size of the struct the caller knows; the kernel accepts any size
 * from the first version of the struct (else EINVAL) up to
 * P2PBAR_ARGSZ_MAX (else E2BIG), provided every byte it does not know
 * is zero (else E2BIG), and writes back at most @argsz bytes.
 * So fields can be appended later without new ioctl numbers; a caller
 * built against an older version passes its smaller @argsz and gets the
 * fields it knows; every struct here is still in its first version. Every
 * @flags bit and every reserved field not defined here must be zero
 * (else EINVAL). All sizes and offsets are in bytes.
 *
 * Freeing a buffer is closing the last reference to its dma-buf fd
 * (every fd, every mmap, every importer).
 *
 * Who may do what: whoever may open the node (root, and group p2pbar
 * through the udev rule the project ships) may use INFO, ALLOC,
 * BUF_INFO and MIGRATE, and reaches only the buffers it holds fds for.
 * RESET and read()/write() of the whole BAR reach every opener's
 * buffers: they need CAP_SYS_ADMIN, both in the credentials the node was
 * opened with and in the caller's (else EPERM).
 */
#ifndef _UAPI_LINUX_P2PBAR_H
#define _UAPI_LINUX_P2PBAR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define P2PBAR_IOCTL_TYPE	0xB8

/* The largest @argsz any ioctl accepts. */
#define P2PBAR_ARGSZ_MAX	4096

/* Where a buffer's memory lives. */
#define P2PBAR_PLACEMENT_DEVICE	0	/* in the exported BAR */
#define P2PBAR_PLACEMENT_HOST	1	/* system memory pages */

/*
 * ALLOC flags. By default a buffer may move: under BAR pressure an
 * unpinned DEVICE buffer is evicted to HOST (least recently used first),
 * an importer that cannot do peer-to-peer gets it in HOST, and MIGRATE
 * moves it either way. FIXED keeps it in its placement for life:
 * DEVICE + FIXED is device-only (never evicted; importers without P2P
 * are refused), HOST + FIXED is host-only.
 */
#define P2PBAR_ALLOC_FIXED	0x1

/*
 * INFO caps: what the running kernel offers. MOVE_NOTIFY: built with
 * CONFIG_DMABUF_MOVE_NOTIFY, or 7.1 and later where move-notify is always
 * on, so a dynamic importer's map does not pin
 * (without it the dma-buf core pins a buffer while it is mapped). P2PDMA:
 * built with CONFIG_PCI_P2PDMA: an importer that DMAs gets the BAR where
 * P2PDMA finds a path to it, else its attachment is served from HOST;
 * without it only the exporter's own function gets the BAR.
 */
#define P2PBAR_CAP_MOVE_NOTIFY	0x1ULL
#define P2PBAR_CAP_P2PDMA	0x2ULL

/**
 * struct p2pbar_info - P2PBAR_IOCTL_INFO: what the device is
 * @argsz:	in: sizeof(struct p2pbar_info)
 * @flags:	in: must be 0
 * @bar_size:	out: size of the exported BAR
 * @page_size:	out: allocation granularity; sizes are rounded up to it
 * @max_alloc:	out: largest size ALLOC accepts
 * @max_align:	out: largest alignment ALLOC accepts
 * @caps:	out: P2PBAR_CAP_*
 * @max_host:	out: the cap on the host bytes the device's buffers are
 *		charged (module parameter max_host_mb; by default half of
 *		RAM): every buffer but a FIXED DEVICE one, in full from
 *		ALLOC to release
 * @max_bufs_per_file: out: the cap on @file_buffers (module parameter
 *		max_bufs_per_file; 0: no cap)
 * @file_buffers: out: live buffers allocated through this open file of
 *		the node (they count until released, also after the file
 *		is closed)
 * @bar_index:	out: index of the exported BAR
 * @placements:	out: bit mask of supported P2PBAR_PLACEMENT_* (1 << p)
 * @pci_domain:	out: PCI address of the function: domain
 * @pci_bus:	out: bus
 * @pci_dev:	out: device (slot)
 * @pci_func:	out: function
 * @__pad:	in: zero
 *
 * The facts that do not change while the device is bound, and the count
 * of this open file's buffers, which no other interface can give. What
 * changes with use (bytes used, buffers, pins, moves, host bytes
 * charged) is in sysfs: Documentation/ABI/testing/sysfs-class-p2pbar.
 */
struct p2pbar_info {
	__u32 argsz;
	__u32 flags;
	__u64 bar_size;
	__u64 page_size;
	__u64 max_alloc;
	__u64 max_align;
	__u64 caps;
	__u64 max_host;
	__u64 max_bufs_per_file;
	__u64 file_buffers;
	__u32 bar_index;
	__u32 placements;
	__u32 pci_domain;
	__u8 pci_bus;
	__u8 pci_dev;
	__u8 pci_func;
	__u8 __pad;
};

/**
 * struct p2pbar_alloc - P2PBAR_IOCTL_ALLOC: allocate a buffer
 * @argsz:	in: sizeof(struct p2pbar_alloc)
 * @flags:	in: P2PBAR_ALLOC_* (0: movable)
 * @length:	in: bytes wanted, > 0; out: rounded up to page_size
 * @align:	in: 0 (page_size) or a power of two <= max_align; the BAR
 *		alignment of the buffer whenever it is in DEVICE
 * @placement:	in: P2PBAR_PLACEMENT_DEVICE or _HOST, where it starts
 * @fd:		out: the new dma-buf, O_RDWR | O_CLOEXEC
 * @id:		out: buffer id, unique per device while it is bound
 * @offset:	out: where the buffer starts in the BAR (DEVICE only)
 * @reserved:	in: zero
 *
 * The buffer reads as zeros. A DEVICE allocation that finds the BAR full
 * first evicts unpinned movable buffers to HOST. Errors: EINVAL (bad
 * flags, placement, alignment, reserved field, zero length), EOVERFLOW
 * (length overflows when rounded), E2BIG (length or align above the
 * limits), ENOSPC (no free range large enough, even after eviction),
 * ENOMEM (HOST pages; also when the caller's memory cgroup is at its
 * limit: HOST pages are charged to it), ENODEV (device unbound), EDQUOT
 * (the buffer would take the device's host_charged past max_host; see
 * struct p2pbar_info: only FIXED DEVICE buffers are not charged), EMFILE
 * (this open file of the node already has max_bufs_per_file live
 * buffers, or the caller's fd table is full: close some buffers), EINTR
 * (a fatal signal while zeroing).
 */
struct p2pbar_alloc {
	__u32 argsz;
	__u32 flags;
	__u64 length;
	__u64 align;
	__u32 placement;
	__s32 fd;
	__u64 id;
	__u64 offset;
	__u64 reserved[4];
};

/**
 * struct p2pbar_buf_info - P2PBAR_IOCTL_BUF_INFO: describe a buffer
 * @argsz:	in: sizeof(struct p2pbar_buf_info)
 * @flags:	in: must be 0
 * @fd:		in: a dma-buf fd from ALLOC on this device
 * @placement:	out: P2PBAR_PLACEMENT_*
 * @id:		out: buffer id
 * @length:	out: buffer size
 * @offset:	out: offset in the BAR (valid for placement DEVICE)
 * @attachments: out: importers attached now
 * @pin_count:	out: pins held by importers
 * @alloc_flags: out: the P2PBAR_ALLOC_* flags it was allocated with
 * @moves:	out: how often it moved between placements
 * @status:	out: P2PBAR_BUF_* (input ignored)
 * @reserved:	in: zero
 *
 * A revoked buffer (RESET, unbind) says so in @status: that, ENODEV from
 * MIGRATE and from a new attach, and SIGBUS on access through its mmap
 * are what a user can rely on. (Its fences say nothing reliable: a
 * sync_file exported from it shows only the fences not yet signalled.)
 * Errors: EBADF (@fd is not open), EINVAL (not a p2pbar dma-buf of this
 * device, or a reserved field not zero), EINTR (a signal while another
 * call holds the buffer, e.g. a move's copy).
 */
struct p2pbar_buf_info {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__u32 placement;
	__u64 id;
	__u64 length;
	__u64 offset;
	__u64 attachments;
	__u64 pin_count;
	__u32 alloc_flags;
	__u32 __pad;
	__u64 moves;
	__u64 status;
	__u64 reserved;
};

/* BUF_INFO status: revoked by RESET or unbind; the memory is gone. */
#define P2PBAR_BUF_REVOKED	0x1ULL

/**
 * struct p2pbar_migrate - P2PBAR_IOCTL_MIGRATE: move a buffer
 * @argsz:	in: sizeof(struct p2pbar_migrate)
 * @flags:	in: must be 0
 * @fd:		in: a dma-buf fd from ALLOC on this device
 * @placement:	in: P2PBAR_PLACEMENT_* to move to (already there: no-op)
 * @reserved:	in: zero
 *
 * Waits for the buffer's fences, tells dynamic importers (move_notify),
 * moves the content; CPU mappings stay valid and fault in the new place.
 * Moving to DEVICE evicts other buffers if the BAR is full.
 * Errors: EBADF, EINVAL (bad field, not a p2pbar dma-buf of this
 * device), EPERM (allocated FIXED), EBUSY (pinned, mapped or vmapped by
 * an importer, or an importer without peer-to-peer is attached and the
 * target is DEVICE), ENOSPC (no room even after eviction), ENOMEM,
 * EINTR (signal while waiting for fences), ENODEV (device unbound).
 */
struct p2pbar_migrate {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__u32 placement;
	__u64 reserved[4];
};

/**
 * struct p2pbar_reset - P2PBAR_IOCTL_RESET: revoke every buffer
 * @argsz:	in: sizeof(struct p2pbar_reset)
 * @flags:	in: must be 0
 * @revoked:	out: buffers revoked by this call
 * @reserved:	in: zero
 *
 * As if the device had been reset: every live buffer of the device is
 * revoked. Needs CAP_SYS_ADMIN (else EPERM, see the top of this
 * file). Dynamic importers get move_notify and every later map, pin,
 * attach, mmap or MIGRATE of the buffer fails with ENODEV; CPU mappings
 * raise SIGBUS; a kernel vmap made after the revoke shows zeros, never
 * the BAR. The fds stay valid until closed. RESET waits up to 2 s for
 * the buffers' fences (a signal ends the wait early). A revoked buffer's
 * BAR range is free for new buffers once no importer holds it (its last
 * unmap or unpin) and its fences have signalled; one whose fences did
 * not signal in that time keeps its range until it is freed. The device
 * stays bound. The struct is checked for writing before anything is
 * revoked: EFAULT (nothing revoked) if it is not writable or lies in a
 * mapping of one of the device's buffers, which RESET would revoke.
 */
struct p2pbar_reset {
	__u32 argsz;
	__u32 flags;
	__u64 revoked;
	__u64 reserved[2];
};

#define P2PBAR_IOCTL_INFO	_IO(P2PBAR_IOCTL_TYPE, 0x00)
#define P2PBAR_IOCTL_ALLOC	_IO(P2PBAR_IOCTL_TYPE, 0x01)
#define P2PBAR_IOCTL_BUF_INFO	_IO(P2PBAR_IOCTL_TYPE, 0x02)
#define P2PBAR_IOCTL_MIGRATE	_IO(P2PBAR_IOCTL_TYPE, 0x03)
#define P2PBAR_IOCTL_RESET	_IO(P2PBAR_IOCTL_TYPE, 0x04)

#endif /* _UAPI_LINUX_P2PBAR_H */
