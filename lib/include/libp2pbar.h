/* SPDX-License-Identifier: MIT */
/*
 * libp2pbar: use p2pbar devices (PCI BAR memory exported as dma-bufs).
 *
 * Conventions: functions that can fail return 0 (or a non-negative
 * value) on success and a negative errno on failure, and leave a
 * readable message for p2pbar_last_error() in the calling thread.
 * Nothing here keeps global state other than that message.
 */
#ifndef P2PBAR_H
#define P2PBAR_H

#include <stddef.h>
#include <stdint.h>

#include <p2pbar/uapi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What is declared here is exported; the rest of libp2pbar is hidden. */
#pragma GCC visibility push(default)

#define P2PBAR_NAME_MAX 32

struct ibv_pd;
struct ibv_mr;

/* An open p2pbar device (/dev/p2pbarN), from p2pbar_open_device(). */
struct p2pbar_context;

/* Memory of a device: a dma-buf fd and what the driver said about it. */
struct p2pbar_mem {
	int fd;		 /* dma-buf fd (O_CLOEXEC); owned by the buffer */
	uint64_t id;	 /* driver's buffer id */
	uint64_t size;	 /* bytes, rounded up to the device's page size */
	uint64_t offset; /* offset in the BAR (placement DEVICE) */
	void *map;	 /* CPU mapping from p2pbar_mem_map(), or NULL */
};

/* Message describing the last failure in this thread ("" if none). */
const char *p2pbar_last_error(void);

/*
 * List device names (e.g. "p2pbar0") into @names, at most @max of them.
 * Returns how many devices exist (may be > @max), or -errno.
 */
int p2pbar_list_devices(char (*names)[P2PBAR_NAME_MAX], size_t max);

/*
 * Open a device by name ("p2pbar0"), path ("/dev/p2pbar0") or PCI address
 * ("0000:00:01.0"); NULL opens the first device. Stores the handle in
 * @out. Returns 0 or -errno (ENODEV: no such device).
 */
int p2pbar_open_device(const char *which, struct p2pbar_context **out);
void p2pbar_close_device(struct p2pbar_context *ctx);

/* Name of an open device ("p2pbar0"). */
const char *p2pbar_device_name(const struct p2pbar_context *ctx);

/* Live counters of a device (from sysfs). */
struct p2pbar_stats {
	uint64_t bar_size;
	uint64_t used;
	uint64_t buffers;
	uint64_t pinned;
	uint64_t attachments;
	uint64_t evictions;    /* buffers moved to HOST to make room */
	uint64_t migrations;   /* moves of any kind */
	uint64_t bytes_moved;  /* bytes copied by moves */
	uint64_t move_notify;  /* 1: dynamic importers' maps do not pin */
	uint64_t host_charged; /* host bytes charged against max_host */
};

/* Read the device's counters. Returns 0 or -errno. */
int p2pbar_get_stats(struct p2pbar_context *ctx, struct p2pbar_stats *stats);

/*
 * P2PBAR_IOCTL_INFO, what the device is: the struct p2pbar_info of
 * libp2pbar 0.1 (88 bytes), what every program built against this
 * library has room for. Returns 0 or -errno.
 */
int p2pbar_query_device(struct p2pbar_context *ctx, struct p2pbar_info *info);

/*
 * P2PBAR_IOCTL_INFO with @size = sizeof(*info) of the caller's uAPI
 * header, for fields a later uAPI appends. Returns 0 or -errno.
 */
int p2pbar_query_device_size(struct p2pbar_context *ctx, struct p2pbar_info *info, size_t size);

/*
 * Allocate @size bytes (rounded up to the page size) aligned to @align (0:
 * page size) in @placement (P2PBAR_PLACEMENT_*). The buffer reads as
 * zeros. Returns 0 or -errno (ENOSPC: BAR full; E2BIG: too large).
 */
int p2pbar_mem_alloc(struct p2pbar_context *ctx, uint64_t size, uint64_t align, uint32_t placement,
		     struct p2pbar_mem *mem);

/* p2pbar_mem_alloc() with P2PBAR_ALLOC_* @flags (e.g. FIXED: never moves). */
int p2pbar_mem_alloc_flags(struct p2pbar_context *ctx, uint64_t size, uint64_t align,
			   uint32_t placement, uint32_t flags, struct p2pbar_mem *mem);

/*
 * Move the buffer behind dma-buf @fd to @placement (P2PBAR_IOCTL_MIGRATE).
 * CPU mappings stay valid. Returns 0 or -errno (EPERM: allocated FIXED;
 * EBUSY: pinned or held by an importer; ENOSPC: BAR full of pinned buffers).
 */
int p2pbar_mem_migrate(struct p2pbar_context *ctx, int fd, uint32_t placement);

/* P2PBAR_IOCTL_BUF_INFO for any dma-buf fd. Returns 0 or -errno. */
int p2pbar_mem_query(struct p2pbar_context *ctx, int fd, struct p2pbar_buf_info *info);

/*
 * Map the whole buffer for CPU access (write-combined device memory: use
 * it for streaming copies, not for fine-grained reads). Returns 0 or
 * -errno; the mapping is in mem->map.
 */
int p2pbar_mem_map(struct p2pbar_mem *mem);

/* Unmap and close: the memory is freed when no importer holds it. */
void p2pbar_mem_free(struct p2pbar_mem *mem);

/*
 * Register @len bytes at @offset of the buffer with @pd as an RDMA memory
 * region at I/O virtual address @iova (ibv_reg_dmabuf_mr). Returns the MR
 * or NULL with errno set and a message for p2pbar_last_error().
 */
struct ibv_mr *p2pbar_reg_mr(struct ibv_pd *pd, const struct p2pbar_mem *mem, uint64_t offset,
			     size_t len, uint64_t iova, int access);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* P2PBAR_H */
