// SPDX-License-Identifier: MIT
/*
 * fi-bar-to-bar: libfabric moving data between two nodes' device memory.
 *
 * A reference for registering p2pbar memory (a PCI BAR handed out as a
 * dma-buf) with libfabric, the way an MPI or a collective library would:
 *
 *   p2pbar_mem_alloc() + p2pbar_mem_map()   a BAR buffer: dma-buf fd + CPU VA
 *   fi_getinfo(FI_VERSION(1, 20), ...)  FI_MR_DMABUF exists from API 1.20;
 *                                       ask for it, or regattr rejects it
 *   fi_mr_regattr(FI_MR_DMABUF)         struct fi_mr_dmabuf {fd, offset,
 *                                       len, base_addr}: verbs calls
 *                                       ibv_reg_dmabuf_mr(offset, len,
 *                                       iova = base_addr + offset, fd)
 *   fi_mr_desc() / fi_mr_key()          local descriptor / remote key
 *
 * base_addr is the buffer's CPU mapping, so the MR's iova space is the
 * process's own addresses: the buffer pointer is what goes into every
 * data call (local buffers) and what the peer targets (FI_MR_VIRT_ADDR),
 * exactly as for host memory. ofi_rxm's rendezvous relies on that: it
 * sends the buffer pointer and the MR key, and the receiver RMA-reads
 * from them. No FI_HMEM capability is needed: the memory is registered
 * by fd, and the provider never touches it with the CPU except where an
 * eager message is copied through rxm's bounce buffers (iface SYSTEM: a
 * memcpy from the CPU mapping).
 *
 * Two phases, each node with its own BAR buffers:
 *   msg  FI_EP_MSG on "verbs" (rdma_cm connection): the client fills its
 *        BAR, fi_write()s it into the server's BAR (the server checks
 *        every byte), clears its own and fi_read()s the server's back
 *        (the client checks every byte).
 *   rdm  FI_EP_RDM on "verbs;ofi_rxm": fi_tsend() from the client's BAR
 *        into fi_trecv() buffers in the server's BAR at an eager size
 *        (copied through rxm's buffers), a SAR size (segments of those)
 *        and a rendezvous size (the server RMA-reads the client's BAR
 *        with the dma-buf MR's key); the server checks every byte.
 * Both then leave "BAR_OFFSET LENGTH SEED" of their buffers in
 * OUT_DIR/fill-fi-msg.txt and fill-fi-rdm.txt for a host that can read
 * the BARs (testbed/bar-verify.py).
 *   probe registers one BAR buffer with FI_MR_DMABUF on this node only
 *        and says whether the provider accepted it (exit 3 if not):
 *        FI_VERBS_USE_DMABUF=no, or a kernel whose /proc/kallsyms lacks
 *        ib_umem_dmabuf_get, turns the provider's dma-buf path off.
 *
 * usage: fi-bar-to-bar server LOCAL_IP PORT OUT_DIR
 *        fi-bar-to-bar client SERVER_IP PORT OUT_DIR
 *        fi-bar-to-bar probe
 * PORT is the TCP side channel (addresses, keys, lock-step), PORT+1 the
 * rdma_cm listener of the msg phase.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libp2pbar.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pbar_pattern.h"
#include "rdma-util.h"

#define API_VERSION FI_VERSION(1, 20) /* the first with FI_MR_DMABUF */
#define MSG_SIZE    (4u << 20)
#define SEED_MSG    0xf1a5eedULL
#define SEED_RDM    0xf1d0ULL
#define TAG	    0x5eedULL

/* eager (<= 16 KiB: FI_OFI_RXM_BUFFER_SIZE), SAR (<= 8x that), rendezvous */
static const size_t rdm_sizes[] = { 4096, 64 << 10, 4 << 20 };
#define RDM_SIZE (4u << 20)
#define NSIZES	 (sizeof(rdm_sizes) / sizeof(rdm_sizes[0]))

#define FI_CHECK(call)                                                   \
	do {                                                             \
		int _r = (call);                                         \
		if (_r)                                                  \
			die("%s: %s (%d)", #call, fi_strerror(-_r), _r); \
	} while (0)

struct bar {
	struct p2pbar_mem buf; /* BAR memory: dma-buf fd + CPU mapping */
	struct fid_mr *mr;
};

/* Every byte, word by word; dies naming the first that differs. */
static void check(const void *p, size_t len, uint64_t seed, const char *what)
{
	int64_t bad = p2pbar_pattern_check(p, len, seed);

	if (bad >= 0)
		die("%s: byte %" PRId64 " of %zu differs", what, bad, len);
	printf("%s: all %zu bytes verified\n", what, len);
}

static void bar_alloc(struct bar *b, size_t size)
{
	struct p2pbar_context *dev;
	int err = p2pbar_open_device(NULL, &dev);

	if (!err)
		err = p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, &b->buf);
	if (!err)
		err = p2pbar_mem_map(&b->buf);
	if (err)
		die("p2pbar: %s", p2pbar_last_error());
	p2pbar_close_device(dev);
}

/*
 * The registration this program is about. Returns 0 or the provider's
 * negative error, so that probe can report a refusal.
 */
static int bar_reg(struct fid_domain *dom, struct bar *b, uint64_t access)
{
	struct fi_mr_dmabuf dmabuf = {
		.fd = b->buf.fd,
		.offset = 0, /* from the start of the dma-buf */
		.len = b->buf.size,
		.base_addr = b->buf.map /* iova of offset 0: our CPU address */
	};
	struct fi_mr_attr attr = {
		.dmabuf = &dmabuf,
		.iov_count = 1,
		.access = access,
		.iface = FI_HMEM_SYSTEM, /* not CUDA/ZE/...: libfabric needs no hmem library */
	};

	return fi_mr_regattr(dom, &attr, FI_MR_DMABUF, &b->mr);
}

static void bar_reg_or_die(struct fid_domain *dom, struct bar *b, uint64_t access)
{
	int r = bar_reg(dom, b, access);

	if (r)
		die("fi_mr_regattr(FI_MR_DMABUF) of p2pbar buffer (fd %d, %" PRIu64
		    " bytes): %s (%d)%s",
		    b->buf.fd, b->buf.size, fi_strerror(-r), r,
		    r == -FI_ENOSYS ? "; the provider's dma-buf support is off "
				      "(FI_VERBS_USE_DMABUF=no, or no ib_umem_dmabuf_get "
				      "in /proc/kallsyms)"
				    : "");
}

static void bar_write_fill_file(const struct bar *b, size_t len, uint64_t seed, const char *dir,
				const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "%" PRIu64 " %zu %" PRIu64 "\n", b->buf.offset, len, seed);
	fclose(f);
}

static struct fi_info *hints_for(enum fi_ep_type type, const char *prov, uint64_t caps)
{
	struct fi_info *h = fi_allocinfo();

	if (!h)
		die("fi_allocinfo: out of memory");
	h->ep_attr->type = type;
	h->caps = caps;
	h->mode = FI_CONTEXT | FI_CONTEXT2;
	/* what verbs requires of us: register what it touches, address RMA
	 * by virtual address, with keys the provider picks */
	h->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	h->fabric_attr->prov_name = strdup(prov);
	return h;
}

/* Wait for one completion; progress for rxm happens in fi_cq_read. */
static void cq_wait(struct fid_cq *cq, const char *what)
{
	struct fi_cq_tagged_entry e;
	ssize_t r;

	while ((r = fi_cq_read(cq, &e, 1)) == -FI_EAGAIN)
		usleep(50);
	if (r == -FI_EAVAIL) {
		struct fi_cq_err_entry err = { 0 };

		fi_cq_readerr(cq, &err, 0);
		die("%s: completion error %s (%s)", what, fi_strerror(err.err),
		    fi_cq_strerror(cq, err.prov_errno, err.err_data, NULL, 0));
	}
	if (r != 1)
		die("%s: fi_cq_read: %s", what, fi_strerror((int)-r));
}

/*
 * Post with CALL until the provider takes it: -FI_EAGAIN means its queue
 * is full or (rxm) the connection to the peer is still being set up,
 * and only progress, which fi_cq_read() drives, changes that.
 */
#define FI_POST(cq, call)                                                      \
	do {                                                                   \
		ssize_t _r;                                                    \
		while ((_r = (call)) == -FI_EAGAIN)                            \
			(void)fi_cq_read((cq), NULL, 0);                       \
		if (_r)                                                        \
			die("%s: %s (%zd)", #call, fi_strerror((int)-_r), _r); \
	} while (0)

static void eq_expect(struct fid_eq *eq, uint32_t want, struct fi_eq_cm_entry *entry)
{
	uint32_t event;
	ssize_t r = fi_eq_sread(eq, &event, entry, sizeof(*entry), 60000, 0);

	if (r == -FI_EAVAIL) {
		struct fi_eq_err_entry err = { 0 };

		fi_eq_readerr(eq, &err, 0);
		die("connection: %s (%s)", fi_strerror(err.err),
		    fi_eq_strerror(eq, err.prov_errno, err.err_data, NULL, 0));
	}
	if (r < 0)
		die("fi_eq_sread: %s", fi_strerror((int)-r));
	if (event != want)
		die("connection: event %u, expected %u", event, want);
}

static double mibs(size_t len, double s)
{
	return len / s / (1 << 20);
}

/* What each side of the msg phase tells the other. */
struct rma_target {
	uint64_t addr; /* iova = the owner's CPU address of its buffer */
	uint64_t key;
};

static void phase_msg(bool server, const char *ip, int port, int sock, const char *dir)
{
	struct fi_info *hints = hints_for(FI_EP_MSG, "verbs", FI_MSG | FI_RMA), *info, *ci;
	struct fid_fabric *fab;
	struct fid_domain *dom;
	struct fid_eq *eq;
	struct fid_cq *cq;
	struct fid_ep *ep;
	struct fid_pep *pep = NULL;
	struct fi_eq_attr eq_attr = { .wait_obj = FI_WAIT_UNSPEC };
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_CONTEXT, .size = 16 };
	struct fi_eq_cm_entry entry;
	struct fi_context2 ctx;
	struct rma_target me, peer;
	struct bar b = { 0 };
	char svc[16];
	double t;

	snprintf(svc, sizeof(svc), "%d", port + 1);
	FI_CHECK(fi_getinfo(API_VERSION, ip, svc, server ? FI_SOURCE : 0, hints, &info));
	printf("msg: provider %s, fabric %s, domain %s\n", info->fabric_attr->prov_name,
	       info->fabric_attr->name, info->domain_attr->name);
	FI_CHECK(fi_fabric(info->fabric_attr, &fab, NULL));
	FI_CHECK(fi_eq_open(fab, &eq_attr, &eq, NULL));
	ci = info;
	if (server) {
		/* listen, and let the client connect: its request carries the
		 * fi_info the endpoint (and so its domain) is opened with */
		FI_CHECK(fi_passive_ep(fab, info, &pep, NULL));
		FI_CHECK(fi_pep_bind(pep, &eq->fid, 0));
		FI_CHECK(fi_listen(pep));
		sock_barrier(sock); /* listening */
		eq_expect(eq, FI_CONNREQ, &entry);
		ci = entry.info;
	} else {
		sock_barrier(sock);
	}
	FI_CHECK(fi_domain(fab, ci, &dom, NULL));
	FI_CHECK(fi_cq_open(dom, &cq_attr, &cq, NULL));
	FI_CHECK(fi_endpoint(dom, ci, &ep, NULL));
	FI_CHECK(fi_ep_bind(ep, &eq->fid, 0));
	FI_CHECK(fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV));
	FI_CHECK(fi_enable(ep));

	bar_alloc(&b, MSG_SIZE);
	/* the server's buffer is written and read by the peer; the client's
	 * is the source of a write and the sink of a read */
	bar_reg_or_die(dom, &b, server ? FI_REMOTE_WRITE | FI_REMOTE_READ : FI_WRITE | FI_READ);
	me.addr = (uintptr_t)b.buf.map;
	me.key = fi_mr_key(b.mr);

	if (server) {
		FI_CHECK(fi_accept(ep, NULL, 0));
	} else {
		FI_CHECK(fi_connect(ep, info->dest_addr, NULL, 0));
	}
	eq_expect(eq, FI_CONNECTED, &entry);
	sock_swap(sock, &me, &peer, sizeof(me));

	if (server) {
		char done;

		xfer(sock, &done, 1, false); /* the client wrote into our BAR */
		check(b.buf.map, MSG_SIZE, SEED_MSG, "server: fi_write into our BAR");
		sock_barrier(sock);	     /* the client may read it back */
		xfer(sock, &done, 1, false); /* it has */
	} else {
		p2pbar_pattern_fill(b.buf.map, MSG_SIZE, SEED_MSG);
		t = now();
		FI_POST(cq, fi_write(ep, b.buf.map, MSG_SIZE, fi_mr_desc(b.mr), 0, peer.addr,
				     peer.key, &ctx));
		cq_wait(cq, "fi_write");
		t = now() - t;
		printf("client: fi_write %u bytes BAR -> peer BAR: %.1f MiB/s\n", MSG_SIZE,
		       mibs(MSG_SIZE, t));
		xfer(sock, &me, 1, true);
		sock_barrier(sock); /* checked */
		memset(b.buf.map, 0, MSG_SIZE);
		t = now();
		FI_POST(cq, fi_read(ep, b.buf.map, MSG_SIZE, fi_mr_desc(b.mr), 0, peer.addr,
				    peer.key, &ctx));
		cq_wait(cq, "fi_read");
		t = now() - t;
		printf("client: fi_read %u bytes peer BAR -> BAR: %.1f MiB/s\n", MSG_SIZE,
		       mibs(MSG_SIZE, t));
		check(b.buf.map, MSG_SIZE, SEED_MSG, "client: fi_read into our BAR");
		xfer(sock, &me, 1, true);
	}
	bar_write_fill_file(&b, MSG_SIZE, SEED_MSG, dir, "fill-fi-msg.txt");

	fi_shutdown(ep, 0);
	fi_close(&ep->fid);
	fi_close(&b.mr->fid);
	fi_close(&cq->fid);
	fi_close(&dom->fid);
	if (pep)
		fi_close(&pep->fid);
	fi_close(&eq->fid);
	fi_close(&fab->fid);
	if (ci != info)
		fi_freeinfo(ci);
	fi_freeinfo(info);
	fi_freeinfo(hints);
	/* the buffer stays allocated (and its bytes in the BAR) until exit */
}

static void phase_rdm(bool server, int sock, const char *dir)
{
	struct fi_info *hints = hints_for(FI_EP_RDM, "verbs;ofi_rxm", FI_TAGGED), *info;
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_TAGGED, .size = 16 };
	struct fid_fabric *fab;
	struct fid_domain *dom;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	struct fi_context2 ctx;
	char name[256], peer_name[256];
	size_t len = sizeof(name);
	fi_addr_t peer;
	struct bar b = { 0 };

	FI_CHECK(fi_getinfo(API_VERSION, NULL, NULL, 0, hints, &info));
	printf("rdm: provider %s, domain %s\n", info->fabric_attr->prov_name,
	       info->domain_attr->name);
	FI_CHECK(fi_fabric(info->fabric_attr, &fab, NULL));
	FI_CHECK(fi_domain(fab, info, &dom, NULL));
	FI_CHECK(fi_cq_open(dom, &cq_attr, &cq, NULL));
	FI_CHECK(fi_av_open(dom, &av_attr, &av, NULL));
	FI_CHECK(fi_endpoint(dom, info, &ep, NULL));
	FI_CHECK(fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV));
	FI_CHECK(fi_ep_bind(ep, &av->fid, 0));
	FI_CHECK(fi_enable(ep));

	/* addresses over the side channel, as a job launcher would do */
	memset(name, 0, sizeof(name));
	FI_CHECK(fi_getname(&ep->fid, name, &len));
	sock_swap(sock, name, peer_name, sizeof(name));
	if (fi_av_insert(av, peer_name, 1, &peer, 0, NULL) != 1)
		die("fi_av_insert of the peer's address failed");

	bar_alloc(&b, RDM_SIZE);
	/* rxm's rendezvous: the receiver RMA-reads the sender's buffer */
	bar_reg_or_die(dom, &b, server ? FI_RECV | FI_READ : FI_SEND | FI_REMOTE_READ);

	for (size_t k = 0; k < NSIZES; k++) {
		size_t n = rdm_sizes[k];
		uint64_t seed = SEED_RDM + k;
		char what[64];
		double t;

		if (server) {
			memset(b.buf.map, 0, n);
			FI_POST(cq, fi_trecv(ep, b.buf.map, n, fi_mr_desc(b.mr), peer, TAG + k, 0,
					     &ctx));
			sock_barrier(sock); /* posted */
			cq_wait(cq, "fi_trecv");
			snprintf(what, sizeof(what), "server: fi_trecv of %zu bytes into our BAR",
				 n);
			check(b.buf.map, n, seed, what);
			sock_barrier(sock);
		} else {
			p2pbar_pattern_fill(b.buf.map, n, seed);
			sock_barrier(sock);
			t = now();
			FI_POST(cq,
				fi_tsend(ep, b.buf.map, n, fi_mr_desc(b.mr), peer, TAG + k, &ctx));
			cq_wait(cq, "fi_tsend");
			t = now() - t;
			/* the first send also waits for rxm to connect to the peer */
			printf("client: fi_tsend %zu bytes (%s) BAR -> peer BAR: %.1f ms, %.1f "
			       "MiB/s%s\n",
			       n,
			       k == 0	? "eager"
			       : k == 1 ? "SAR"
					: "rendezvous",
			       t * 1e3, mibs(n, t), k == 0 ? " (with rxm's connection setup)" : "");
			sock_barrier(sock); /* checked */
		}
	}
	bar_write_fill_file(&b, rdm_sizes[NSIZES - 1], SEED_RDM + NSIZES - 1, dir,
			    "fill-fi-rdm.txt");

	fi_close(&ep->fid);
	fi_close(&b.mr->fid);
	fi_close(&av->fid);
	fi_close(&cq->fid);
	fi_close(&dom->fid);
	fi_close(&fab->fid);
	fi_freeinfo(info);
	fi_freeinfo(hints);
}

static int probe(void)
{
	struct fi_info *hints = hints_for(FI_EP_MSG, "verbs", FI_MSG | FI_RMA), *info;
	struct fid_fabric *fab;
	struct fid_domain *dom;
	struct bar b = { 0 };
	int r;

	FI_CHECK(fi_getinfo(API_VERSION, NULL, NULL, 0, hints, &info));
	FI_CHECK(fi_fabric(info->fabric_attr, &fab, NULL));
	FI_CHECK(fi_domain(fab, info, &dom, NULL));
	bar_alloc(&b, 1 << 20);
	r = bar_reg(dom, &b, FI_REMOTE_READ | FI_REMOTE_WRITE);
	if (r) {
		printf("probe: %s refused FI_MR_DMABUF for a p2pbar buffer: %s (%d)%s\n",
		       info->fabric_attr->prov_name, fi_strerror(-r), r,
		       r == -FI_ENOSYS ? "; its dma-buf support is off (FI_VERBS_USE_DMABUF=no, "
					 "or no ib_umem_dmabuf_get in /proc/kallsyms)"
				       : "");
	} else {
		printf("probe: %s registered a p2pbar buffer with FI_MR_DMABUF, key %#" PRIx64 "\n",
		       info->fabric_attr->prov_name, fi_mr_key(b.mr));
		fi_close(&b.mr->fid);
	}
	fi_close(&dom->fid);
	fi_close(&fab->fid);
	fi_freeinfo(info);
	fi_freeinfo(hints);
	p2pbar_mem_free(&b.buf);
	return r ? 3 : 0;
}

int main(int argc, char **argv)
{
	bool server;
	int sock, port;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "probe"))
		return probe();
	if (argc != 5 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")))
		die("usage: fi-bar-to-bar server LOCAL_IP PORT OUT_DIR | client SERVER_IP PORT "
		    "OUT_DIR | probe");
	server = !strcmp(argv[1], "server");
	port = atoi(argv[3]);
	/*
	 * ofi_rxm sizes its verbs CQ for (rx + tx queue) x FI_UNIVERSE_SIZE
	 * peers: 2 x 128 x 1024 by default, and rxe's CQs hold at most 32767
	 * entries (RXE_MAX_LOG_CQE 15), so fi_enable() of an RDM endpoint fails
	 * with EINVAL. A job launcher sets the real universe size; two nodes
	 * need far less. Before the first fi_getinfo(): read once, at init.
	 */
	setenv("FI_UNIVERSE_SIZE", "64", 0);
	printf("libfabric %u.%u, API asked %u.%u\n", FI_MAJOR(fi_version()), FI_MINOR(fi_version()),
	       FI_MAJOR(API_VERSION), FI_MINOR(API_VERSION));
	sock = sock_open(server ? NULL : argv[2], port, 60);
	phase_msg(server, argv[2], port, sock, argv[4]);
	phase_rdm(server, sock, argv[4]);
	close(sock);
	printf("%s: done\n", server ? "server" : "client");
	return 0;
}
