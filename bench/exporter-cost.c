// SPDX-License-Identifier: MIT
/*
 * exporter-cost: what the p2pbar exporter itself costs.
 *   alloc+export  p2pbar_mem_alloc() (ioctl: carve the BAR, zero the buffer,
 *                 export a dma-buf fd) and p2pbar_mem_free()
 *   attach+map    a dynamic importer's dma_buf_dynamic_attach() +
 *                 dma_buf_map_attachment(), and unmap+detach, timed in the
 *                 kernel by bench/kmod's p2pbar_bench ("time FD N" on its
 *                 debugfs control file), when it is loaded
 *   mmap          CPU bandwidth through the buffer's write-combined
 *                 mapping (write: host -> BAR, read: BAR -> host) against
 *                 a memcpy between two host buffers
 *   kernel copy   the same in the kernel, timed by p2pbar_bench
 *                 ("copy FD N"): memcpy_toio/fromio through the exporter's
 *                 vmap, which is how rxe reaches a dma-buf MR, against a
 *                 memcpy between two kernel buffers, which is how it
 *                 reaches a host MR
 *
 * usage: exporter-cost REPEAT MMAP_SIZE SIZE...
 * Prints "ALLOC size repeat alloc_us free_us", "ATTACH size rounds
 * attach_map_median min max unmap_detach_median min max" (ns),
 * "MMAP kind size repeat MiB/s" and "KCOPY kind size rounds median min max"
 * (ns) lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libp2pbar.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdma-util.h" /* die() */

#define CONTROL	   "/sys/kernel/debug/p2pbar_bench/control"
#define MAP_ROUNDS 50

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void alloc_cost(struct p2pbar_context *dev, uint64_t size, int repeat)
{
	for (int k = 0; k < repeat; k++) {
		struct p2pbar_mem buf;
		double t0 = now_us(), t1;

		if (p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, &buf))
			die("p2pbar_mem_alloc %" PRIu64 ": %s", size, p2pbar_last_error());
		t1 = now_us();
		p2pbar_mem_free(&buf);
		printf("ALLOC %" PRIu64 " %d %.1f %.1f\n", size, k, t1 - t0, now_us() - t1);
	}
}

/* Send CMD (with FD) to p2pbar_bench; its answer goes to OUT. */
static void importer(const char *what, int fd, int rounds, char *out, size_t len)
{
	char cmd[64];
	ssize_t n;
	int c;

	c = open(CONTROL, O_RDWR);
	if (c < 0)
		die("%s: %s (is p2pbar_bench loaded?)", CONTROL, strerror(errno));
	snprintf(cmd, sizeof(cmd), "%s %d %d", what, fd, rounds);
	if (write(c, cmd, strlen(cmd)) < 0)
		die("%s: %s (p2pbar_bench refused it; see dmesg)", cmd, strerror(errno));
	n = pread(c, out, len - 1, 0);
	if (n < 0)
		die("reading %s: %s", CONTROL, strerror(errno));
	out[n] = 0;
	close(c);
}

/* Ask p2pbar_bench to time attach+map; its answer is two TIME lines. */
static void attach_cost(struct p2pbar_context *dev, uint64_t size)
{
	unsigned long long am[3], ud[3];
	struct p2pbar_mem buf;
	char out[512];

	if (p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, &buf))
		die("p2pbar_mem_alloc %" PRIu64 ": %s", size, p2pbar_last_error());
	importer("time", buf.fd, MAP_ROUNDS, out, sizeof(out));
	if (sscanf(out, "TIME attach_map %*u %llu %llu %llu\nTIME unmap_detach %*u %llu %llu %llu",
		   &am[0], &am[1], &am[2], &ud[0], &ud[1], &ud[2]) != 6)
		die("p2pbar_bench said: %s", out);
	printf("ATTACH %" PRIu64 " %d %llu %llu %llu %llu %llu %llu\n", size, MAP_ROUNDS, am[0],
	       am[1], am[2], ud[0], ud[1], ud[2]);
	p2pbar_mem_free(&buf);
}

/* In-kernel copy bandwidth through the vmap vs RAM, by p2pbar_bench. */
static void kernel_copy(struct p2pbar_context *dev, uint64_t size, int rounds)
{
	static const char *const kinds[] = { "copy_to_bar", "copy_from_bar", "memcpy_ram" };
	struct p2pbar_mem buf;
	char out[512], *line = out;

	if (p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, &buf))
		die("p2pbar_mem_alloc %" PRIu64 ": %s", size, p2pbar_last_error());
	importer("copy", buf.fd, rounds, out, sizeof(out));
	for (int i = 0; i < 3; i++) {
		unsigned long long t[3];
		char kind[32];

		if (!line ||
		    sscanf(line, "TIME %31s %*u %llu %llu %llu", kind, &t[0], &t[1], &t[2]) != 4 ||
		    strcmp(kind, kinds[i]))
			die("p2pbar_bench said: %s", out);
		printf("KCOPY %s %" PRIu64 " %d %llu %llu %llu\n", kind, size, rounds, t[0], t[1],
		       t[2]);
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	p2pbar_mem_free(&buf);
}

static void mmap_bw(struct p2pbar_context *dev, uint64_t size, int repeat)
{
	unsigned char *a = aligned_alloc(4096, size), *b = aligned_alloc(4096, size);
	struct p2pbar_mem buf;

	if (!a || !b)
		die("no memory for %" PRIu64 " bytes", size);
	if (p2pbar_mem_alloc(dev, size, 0, P2PBAR_PLACEMENT_DEVICE, &buf) || p2pbar_mem_map(&buf))
		die("p2pbar %" PRIu64 ": %s", size, p2pbar_last_error());
	for (uint64_t i = 0; i < size; i++)
		a[i] = (unsigned char)(i * 7 + (i >> 12));
	memset(b, 0, size);
	for (int k = 0; k < repeat; k++) {
		double t0 = now_us(), t1, t2, t3;

		memcpy(buf.map, a, size);
		t1 = now_us();
		memcpy(b, buf.map, size);
		t2 = now_us();
		if (memcmp(a, b, size))
			die("the BAR did not give back what was written");
		t3 = now_us();
		memcpy(b, a, size);
		t3 = now_us() - t3;
		printf("MMAP bar_write %" PRIu64 " %d %.1f\n", size, k,
		       size / (t1 - t0) / 1.048576);
		printf("MMAP bar_read %" PRIu64 " %d %.1f\n", size, k, size / (t2 - t1) / 1.048576);
		printf("MMAP host_memcpy %" PRIu64 " %d %.1f\n", size, k, size / t3 / 1.048576);
		memset(b, 0, size);
	}
	p2pbar_mem_free(&buf);
	free(a);
	free(b);
}

int main(int argc, char **argv)
{
	struct p2pbar_context *dev;
	uint64_t mmap_size;
	int repeat;

	if (argc < 4)
		die("usage: exporter-cost REPEAT MMAP_SIZE SIZE...");
	repeat = atoi(argv[1]);
	mmap_size = strtoull(argv[2], NULL, 0);
	if (repeat < 1 || !mmap_size)
		die("REPEAT and MMAP_SIZE must be positive");
	if (p2pbar_open_device(NULL, &dev))
		die("p2pbar: %s", p2pbar_last_error());
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int a = 3; a < argc; a++) {
		uint64_t size = strtoull(argv[a], NULL, 0);

		if (!size)
			die("bad size %s", argv[a]);
		alloc_cost(dev, size, repeat);
		attach_cost(dev, size);
	}
	mmap_bw(dev, mmap_size, repeat);
	kernel_copy(dev, mmap_size, 2 * repeat + 1);
	p2pbar_close_device(dev);
	return 0;
}
