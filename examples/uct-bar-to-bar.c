// SPDX-License-Identifier: MIT
/*
 * uct-bar-to-bar: UCX (UCT level) moving data between two nodes' device
 * memory.
 *
 * UCP's ucp_mem_map() takes no dma-buf fd (its dma-buf path is for
 * memory that a UCX memory domain of its own, cuda/rocm/ze, allocated),
 * so a foreign dma-buf such as a p2pbar buffer reaches UCX only at the
 * transport layer, UCT:
 *
 *   uct_md_open("rxe0")                 the IB memory domain; at open it
 *                                       probes ibv_reg_dmabuf_mr(fd -1) and
 *                                       sets UCT_MD_FLAG_REG_DMABUF on EBADF
 *   uct_md_mem_reg_v2(address, length,  params with DMABUF_FD/_OFFSET: the
 *       {dmabuf_fd, dmabuf_offset})     md calls ibv_reg_dmabuf_mr(offset,
 *                                       length, iova = address, fd)
 *   uct_md_mkey_pack() / rkey_unpack    the remote key, as for host memory
 *   uct_ep_put_zcopy / get_zcopy        RDMA WRITE / READ with the memh
 *
 * address is the buffer's CPU mapping, so the MR's iova space is our own
 * addresses, as with libfabric (fi-bar-to-bar.c). The transport is
 * rc_verbs (what rxe offers: no mlx5 DV), one RC endpoint each way,
 * connected with addresses swapped over a TCP side channel.
 *
 * The client fills its BAR buffer and put_zcopy()s it into the server's
 * (the server checks every byte); the client then clears its own and
 * get_zcopy()s the server's back (the client checks every byte). Both
 * leave "BAR_OFFSET LENGTH SEED" in OUT_DIR/fill-ucx.txt.
 *
 * usage: uct-bar-to-bar server PORT OUT_DIR
 *        uct-bar-to-bar client SERVER_IP PORT OUT_DIR
 *        uct-bar-to-bar probe       (this node: is the md's dma-buf flag set)
 * Environment: UCT_DEV (default rxe0), UCT_TL (default rc_verbs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libp2pbar.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucs/async/async_fwd.h>
#include <uct/api/uct.h>
#include <unistd.h>

#if __has_include(<uct/api/v2/uct_v2.h>)
#include <uct/api/v2/uct_v2.h>
#else
/*
 * Debian's libucx-dev (1.18.1+ds-2) installs no uct/api/v2/uct_v2.h,
 * although libuct.so.0 exports uct_md_mem_reg_v2: the part of upstream's
 * header (unchanged since UCX 1.14) that registering by fd needs.
 */
typedef enum {
	UCT_MD_MEM_REG_FIELD_FLAGS = UCS_BIT(0),
	UCT_MD_MEM_REG_FIELD_DMABUF_FD = UCS_BIT(1),
	UCT_MD_MEM_REG_FIELD_DMABUF_OFFSET = UCS_BIT(2)
} uct_md_mem_reg_field_mask_t;

typedef struct uct_md_mem_reg_params {
	uint64_t field_mask;
	uint64_t flags;
	int dmabuf_fd;
	size_t dmabuf_offset;
} uct_md_mem_reg_params_t;

ucs_status_t uct_md_mem_reg_v2(uct_md_h md, void *address, size_t length,
			       const uct_md_mem_reg_params_t *params, uct_mem_h *memh_p);
#endif

#include "p2pbar_pattern.h"
#include "rdma-util.h"

#define SIZE (4u << 20)
#define SEED 0x0c7ba2ULL

#define UCS_CHECK(call)                                              \
	do {                                                         \
		ucs_status_t _s = (call);                            \
		if (_s != UCS_OK)                                    \
			die("%s: %s", #call, ucs_status_string(_s)); \
	} while (0)

struct uct {
	ucs_async_context_t *async;
	uct_worker_h worker;
	uct_component_h comp;
	uct_md_h md;
	uct_iface_h iface;
	uct_iface_attr_t attr;
	uct_ep_h ep;
};

static void check(const void *p, size_t len, uint64_t seed, const char *what)
{
	int64_t bad = p2pbar_pattern_check(p, len, seed);

	if (bad >= 0)
		die("%s: byte %" PRId64 " of %zu differs", what, bad, len);
	printf("%s: all %zu bytes verified\n", what, len);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* The component that has a memory domain named dev ("rxe0" in "ib"). */
static void open_md(struct uct *u, const char *dev)
{
	uct_component_h *comps;
	unsigned n;

	UCS_CHECK(uct_query_components(&comps, &n));
	for (unsigned i = 0; i < n && !u->md; i++) {
		uct_component_attr_t ca = { .field_mask =
						    UCT_COMPONENT_ATTR_FIELD_NAME |
						    UCT_COMPONENT_ATTR_FIELD_MD_RESOURCE_COUNT };
		uct_md_config_t *cfg;

		UCS_CHECK(uct_component_query(comps[i], &ca));
		ca.md_resources = calloc(ca.md_resource_count + 1, sizeof(*ca.md_resources));
		ca.field_mask = UCT_COMPONENT_ATTR_FIELD_MD_RESOURCES;
		UCS_CHECK(uct_component_query(comps[i], &ca));
		for (unsigned j = 0; j < ca.md_resource_count; j++) {
			if (strcmp(ca.md_resources[j].md_name, dev))
				continue;
			UCS_CHECK(uct_md_config_read(comps[i], NULL, NULL, &cfg));
			UCS_CHECK(uct_md_open(comps[i], dev, cfg, &u->md));
			uct_config_release(cfg);
			u->comp = comps[i];
			break;
		}
		free(ca.md_resources);
	}
	uct_release_component_list(comps);
	if (!u->md)
		die("no UCT memory domain %s (is the RDMA device up?)", dev);
}

/* Does the memory domain register dma-bufs? (the flag its probe set) */
static bool md_dmabuf(struct uct *u)
{
	uct_md_attr_t a;

	UCS_CHECK(uct_md_query(u->md, &a));
	return a.cap.flags & UCT_MD_FLAG_REG_DMABUF;
}

static void open_iface(struct uct *u, const char *dev, const char *tl)
{
	char dev_name[UCT_DEVICE_NAME_MAX];
	uct_iface_params_t p = { 0 };
	uct_iface_config_t *cfg;

	snprintf(dev_name, sizeof(dev_name), "%s:1", dev);
	UCS_CHECK(ucs_async_context_create(UCS_ASYNC_MODE_THREAD_SPINLOCK, &u->async));
	UCS_CHECK(uct_worker_create(u->async, UCS_THREAD_MODE_SINGLE, &u->worker));
	p.field_mask = UCT_IFACE_PARAM_FIELD_OPEN_MODE | UCT_IFACE_PARAM_FIELD_DEVICE |
		       UCT_IFACE_PARAM_FIELD_STATS_ROOT | UCT_IFACE_PARAM_FIELD_RX_HEADROOM;
	p.open_mode = UCT_IFACE_OPEN_MODE_DEVICE;
	p.mode.device.tl_name = tl;
	p.mode.device.dev_name = dev_name;
	UCS_CHECK(uct_md_iface_config_read(u->md, tl, NULL, NULL, &cfg));
	UCS_CHECK(uct_iface_open(u->md, u->worker, &p, cfg, &u->iface));
	uct_config_release(cfg);
	/* without this, uct_worker_progress() never polls the iface's CQs */
	uct_iface_progress_enable(u->iface, UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
	UCS_CHECK(uct_iface_query(u->iface, &u->attr));
	if (!(u->attr.cap.flags & UCT_IFACE_FLAG_CONNECT_TO_EP) ||
	    !(u->attr.cap.flags & UCT_IFACE_FLAG_PUT_ZCOPY) ||
	    !(u->attr.cap.flags & UCT_IFACE_FLAG_GET_ZCOPY))
		die("%s on %s: no connect-to-ep, put_zcopy or get_zcopy", tl, dev_name);
	printf("uct: %s on %s, put_zcopy up to %zu, get_zcopy up to %zu bytes\n", tl, dev_name,
	       u->attr.cap.put.max_zcopy, u->attr.cap.get.max_zcopy);
}

/* The p2pbar buffer as UCT memory: registered by fd, addressed by VA. */
static ucs_status_t reg_bar(struct uct *u, struct p2pbar_mem *b, uct_mem_h *memh)
{
	uct_md_mem_reg_params_t p = {
		.field_mask = UCT_MD_MEM_REG_FIELD_FLAGS | UCT_MD_MEM_REG_FIELD_DMABUF_FD |
			      UCT_MD_MEM_REG_FIELD_DMABUF_OFFSET,
		.flags = UCT_MD_MEM_ACCESS_LOCAL_READ | UCT_MD_MEM_ACCESS_LOCAL_WRITE |
			 UCT_MD_MEM_ACCESS_REMOTE_PUT | UCT_MD_MEM_ACCESS_REMOTE_GET,
		.dmabuf_fd = b->fd,
		.dmabuf_offset = 0,
	};

	return uct_md_mem_reg_v2(u->md, b->map, b->size, &p, memh);
}

static void bar_alloc(struct p2pbar_mem *b, size_t size)
{
	struct p2pbar_context *dev;
	int err = p2pbar_open_device(NULL, &dev);

	if (!err)
		err = p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, b);
	if (!err)
		err = p2pbar_mem_map(b);
	if (err)
		die("p2pbar: %s", p2pbar_last_error());
	p2pbar_close_device(dev);
}

struct done {
	uct_completion_t comp;
	bool done;
};

static void on_done(uct_completion_t *c)
{
	struct done *d = (struct done *)c;

	if (c->status != UCS_OK)
		die("zcopy completion: %s", ucs_status_string(c->status));
	d->done = true;
}

/* One put or get of len bytes, chunked by the transport's zcopy limit. */
static void rma(struct uct *u, bool put, void *buf, uct_mem_h memh, size_t len, uint64_t raddr,
		uct_rkey_t rkey)
{
	size_t max = put ? u->attr.cap.put.max_zcopy : u->attr.cap.get.max_zcopy;
	/* count starts at 1, our own reference: the transport calls on_done
	 * when its decrements reach 0, which they cannot before we drop ours */
	struct done d = { .comp = { .func = on_done, .count = 1 } };

	for (size_t off = 0; off < len;) {
		uct_iov_t iov = { .buffer = (char *)buf + off,
				  .length = len - off < max ? len - off : max,
				  .memh = memh,
				  .stride = 0,
				  .count = 1 };
		ucs_status_t s;

		d.comp.count++;
		s = put ? uct_ep_put_zcopy(u->ep, &iov, 1, raddr + off, rkey, &d.comp)
			: uct_ep_get_zcopy(u->ep, &iov, 1, raddr + off, rkey, &d.comp);
		if (s != UCS_INPROGRESS)
			d.comp.count--; /* done already, or not started */
		if (s == UCS_ERR_NO_RESOURCE) {
			uct_worker_progress(u->worker);
			continue;
		}
		if (s != UCS_OK && s != UCS_INPROGRESS)
			die("uct_ep_%s_zcopy: %s", put ? "put" : "get", ucs_status_string(s));
		off += iov.length;
	}
	/*
	 * rc_verbs asks for a completion only every few work requests (CQ
	 * moderation), so a lone put may never complete by itself: a flush
	 * posts what is needed and returns UCS_OK once every operation of the
	 * endpoint, ours included, has completed at the peer.
	 */
	for (;;) {
		ucs_status_t s = uct_ep_flush(u->ep, 0, NULL);

		if (s == UCS_OK)
			break;
		if (s != UCS_INPROGRESS && s != UCS_ERR_NO_RESOURCE)
			die("uct_ep_flush: %s", ucs_status_string(s));
		uct_worker_progress(u->worker);
	}
	if (--d.comp.count)
		while (!d.done)
			uct_worker_progress(u->worker);
}

static int probe(const char *dev)
{
	struct uct u = { 0 };
	struct p2pbar_mem b = { 0 };
	uct_mem_h memh;
	ucs_status_t s;
	bool flag;

	open_md(&u, dev);
	flag = md_dmabuf(&u);
	printf("probe: UCT md %s: UCT_MD_FLAG_REG_DMABUF %s\n", dev, flag ? "set" : "not set");
	bar_alloc(&b, 1 << 20);
	s = reg_bar(&u, &b, &memh);
	printf("probe: uct_md_mem_reg_v2(dmabuf_fd %d) of a p2pbar buffer: %s\n", b.fd,
	       ucs_status_string(s));
	if (s == UCS_OK)
		uct_md_mem_dereg(u.md, memh);
	uct_md_close(u.md);
	p2pbar_mem_free(&b);
	return s == UCS_OK && flag ? 0 : 3;
}

struct peer_info {
	uint64_t addr;
	uint8_t rkey[64];
	uint8_t dev_addr[128];
	uint8_t ep_addr[128];
};

int main(int argc, char **argv)
{
	const char *dev = env_or("UCT_DEV", "rxe0"), *tl = env_or("UCT_TL", "rc_verbs");
	struct peer_info me = { 0 }, peer;
	uct_md_attr_t ma;
	uct_ep_params_t ep_params = { .field_mask = UCT_EP_PARAM_FIELD_IFACE };
	uct_rkey_bundle_t rkey;
	struct uct u = { 0 };
	struct p2pbar_mem b = { 0 };
	const char *dir;
	uct_mem_h memh;
	ucs_status_t s;
	bool server;
	int sock;
	double t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "probe"))
		return probe(dev);
	server = argc == 4 && !strcmp(argv[1], "server");
	if (!server && (argc != 5 || strcmp(argv[1], "client")))
		die("usage: uct-bar-to-bar server PORT OUT_DIR | client SERVER_IP PORT OUT_DIR | "
		    "probe");
	dir = argv[argc - 1];

	open_md(&u, dev);
	printf("uct: md %s: dma-buf registration %s\n", dev,
	       md_dmabuf(&u) ? "supported (UCT_MD_FLAG_REG_DMABUF)" : "NOT advertised");
	open_iface(&u, dev, tl);
	UCS_CHECK(uct_md_query(u.md, &ma));
	if (ma.rkey_packed_size > sizeof(me.rkey) || u.attr.device_addr_len > sizeof(me.dev_addr) ||
	    u.attr.ep_addr_len > sizeof(me.ep_addr))
		die("UCT addresses larger than this program's buffers");

	bar_alloc(&b, SIZE);
	s = reg_bar(&u, &b, &memh);
	if (s != UCS_OK)
		die("uct_md_mem_reg_v2(dmabuf_fd %d, %" PRIu64 " bytes): %s", b.fd, b.size,
		    ucs_status_string(s));
	UCS_CHECK(uct_md_mkey_pack(u.md, memh, me.rkey));
	me.addr = (uintptr_t)b.map;

	ep_params.iface = u.iface;
	UCS_CHECK(uct_ep_create(&ep_params, &u.ep));
	UCS_CHECK(uct_iface_get_device_address(u.iface, (uct_device_addr_t *)me.dev_addr));
	UCS_CHECK(uct_ep_get_address(u.ep, (uct_ep_addr_t *)me.ep_addr));

	sock = sock_open(server ? NULL : argv[2], atoi(argv[argc - 2]), 60);
	sock_swap(sock, &me, &peer, sizeof(me));
	UCS_CHECK(uct_ep_connect_to_ep(u.ep, (uct_device_addr_t *)peer.dev_addr,
				       (uct_ep_addr_t *)peer.ep_addr));
	UCS_CHECK(uct_rkey_unpack(u.comp, peer.rkey, &rkey));
	sock_barrier(sock); /* both endpoints connected */

	if (server) {
		char done;

		xfer(sock, &done, 1, false); /* the client put into our BAR */
		check(b.map, SIZE, SEED, "server: put_zcopy into our BAR");
		sock_barrier(sock);
		xfer(sock, &done, 1, false); /* and read it back */
	} else {
		p2pbar_pattern_fill(b.map, SIZE, SEED);
		t = now();
		rma(&u, true, b.map, memh, SIZE, peer.addr, rkey.rkey);
		t = now() - t;
		printf("client: put_zcopy %u bytes BAR -> peer BAR: %.1f MiB/s\n", SIZE,
		       SIZE / t / (1 << 20));
		xfer(sock, &me, 1, true);
		sock_barrier(sock);
		memset(b.map, 0, SIZE);
		t = now();
		rma(&u, false, b.map, memh, SIZE, peer.addr, rkey.rkey);
		t = now() - t;
		printf("client: get_zcopy %u bytes peer BAR -> BAR: %.1f MiB/s\n", SIZE,
		       SIZE / t / (1 << 20));
		check(b.map, SIZE, SEED, "client: get_zcopy into our BAR");
		xfer(sock, &me, 1, true);
	}
	{
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/fill-ucx.txt", dir);
		f = fopen(path, "w");
		if (!f)
			die("%s: %s", path, strerror(errno));
		fprintf(f, "%" PRIu64 " %u %llu\n", b.offset, SIZE, SEED);
		fclose(f);
	}
	close(sock);
	uct_rkey_release(u.comp, &rkey);
	uct_ep_destroy(u.ep);
	uct_md_mem_dereg(u.md, memh);
	uct_iface_close(u.iface);
	uct_worker_destroy(u.worker);
	ucs_async_context_destroy(u.async);
	uct_md_close(u.md);
	p2pbar_mem_free(&b);
	printf("%s: done\n", server ? "server" : "client");
	return 0;
}
