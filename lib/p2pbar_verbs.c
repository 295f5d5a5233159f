// SPDX-License-Identifier: MIT
/* libp2pbar: register a p2pbar buffer as an RDMA memory region. */
#include <errno.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "libp2pbar.h"
#include "p2pbar_error.h"

struct ibv_mr *p2pbar_reg_mr(struct ibv_pd *pd, const struct p2pbar_mem *buf, uint64_t offset,
			     size_t len, uint64_t iova, int access)
{
	struct ibv_mr *mr;

	if (!len || offset > buf->size || len > buf->size - offset) {
		p2pbar_fail(-EINVAL, "MR range %llu+%zu outside the %llu-byte buffer",
			    (unsigned long long)offset, len, (unsigned long long)buf->size);
		errno = EINVAL;
		return NULL;
	}
	mr = ibv_reg_dmabuf_mr(pd, offset, len, iova, buf->fd, access);
	if (!mr) {
		int err = errno;

		p2pbar_fail(-err, "ibv_reg_dmabuf_mr(fd %d, offset %llu, len %zu): %s%s", buf->fd,
			    (unsigned long long)offset, len, strerror(err),
			    err == EOPNOTSUPP ? " (this RDMA device cannot import dma-bufs)" : "");
		errno = err;
	}
	return mr;
}
