// SPDX-License-Identifier: MIT
/* p2pbar: command-line tool for p2pbar devices. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libp2pbar.h"
#include "p2pbar_pattern.h"

static const char usage[] =
	"usage: p2pbar list\n"
	"       p2pbar info [DEVICE]\n"
	"       p2pbar stats [DEVICE]\n"
	"       p2pbar alloc [-d DEVICE] [--align N] [--host] [--fixed] [--fill SEED]\n"
	"                    [--migrate host|device]... [--verify SEED] [--hold SECONDS] SIZE\n"
	"       p2pbar migrate [-d DEVICE] PID FD host|device\n"
	"DEVICE is a name (p2pbar0), a path (/dev/p2pbar0) or a PCI address.\n"
	"SIZE and N take K, M, G suffixes. --host starts the buffer in system\n"
	"memory, --fixed keeps it where it starts. fill writes a pattern through the\n"
	"CPU mapping; each --migrate moves the buffer (in order, after fill);\n"
	"verify checks the pattern (or zeros with SEED 0) and fails on a mismatch.\n"
	"migrate moves a buffer another process holds as fd FD (pidfd_getfd).\n";

static int fail(const char *what)
{
	fprintf(stderr, "p2pbar: %s\n", what);
	return 1;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int cmd_list(void)
{
	char names[64][P2PBAR_NAME_MAX];
	int n = p2pbar_list_devices(names, 64);

	if (n < 0)
		return fail(p2pbar_last_error());
	for (int i = 0; i < n && i < 64; i++) {
		struct p2pbar_context *dev;
		struct p2pbar_info info;
		struct p2pbar_stats st;

		if (p2pbar_open_device(names[i], &dev) || p2pbar_query_device(dev, &info) ||
		    p2pbar_get_stats(dev, &st)) {
			fprintf(stderr, "p2pbar: %s\n", p2pbar_last_error());
			p2pbar_close_device(dev);
			return 1;
		}
		printf("%s %04x:%02x:%02x.%x BAR%u %" PRIu64 " MiB, %" PRIu64 " MiB used\n",
		       names[i], info.pci_domain, info.pci_bus, info.pci_dev, info.pci_func,
		       info.bar_index, (uint64_t)info.bar_size >> 20, st.used >> 20);
		p2pbar_close_device(dev);
	}
	if (n == 0)
		fprintf(stderr, "p2pbar: no devices\n");
	return 0;
}

static int cmd_info(const char *which)
{
	struct p2pbar_context *dev;
	struct p2pbar_stats st;
	struct p2pbar_info i;

	if (p2pbar_open_device(which, &dev) || p2pbar_query_device_size(dev, &i, sizeof(i)) ||
	    p2pbar_get_stats(dev, &st)) {
		fail(p2pbar_last_error());
		p2pbar_close_device(dev);
		return 1;
	}
	printf("device      %s\n", p2pbar_device_name(dev));
	printf("pci         %04x:%02x:%02x.%x\n", i.pci_domain, i.pci_bus, i.pci_dev, i.pci_func);
	printf("bar         %u\n", i.bar_index);
	printf("bar_size    %" PRIu64 "\n", (uint64_t)i.bar_size);
	printf("used        %" PRIu64 "\n", st.used);
	printf("free        %" PRIu64 "\n", (uint64_t)i.max_alloc - st.used);
	printf("buffers     %" PRIu64 "\n", st.buffers);
	printf("page_size   %" PRIu64 "\n", (uint64_t)i.page_size);
	printf("max_alloc   %" PRIu64 "\n", (uint64_t)i.max_alloc);
	printf("max_align   %" PRIu64 "\n", (uint64_t)i.max_align);
	printf("placements  0x%x\n", i.placements);
	printf("host_charged %" PRIu64 " of max_host %" PRIu64 "\n", st.host_charged,
	       (uint64_t)i.max_host);
	printf("max_bufs_per_file %" PRIu64 "\n", (uint64_t)i.max_bufs_per_file);
	p2pbar_close_device(dev);
	return 0;
}

static int cmd_stats(const char *which)
{
	struct p2pbar_stats st;
	struct p2pbar_context *dev;

	if (p2pbar_open_device(which, &dev) || p2pbar_get_stats(dev, &st)) {
		fail(p2pbar_last_error());
		p2pbar_close_device(dev);
		return 1;
	}
	printf("%s: bar_size %" PRIu64 " used %" PRIu64 " buffers %" PRIu64 " pinned %" PRIu64
	       " attachments %" PRIu64 " evictions %" PRIu64 " migrations %" PRIu64
	       " bytes_moved %" PRIu64 " move_notify %" PRIu64 " host_charged %" PRIu64 "\n",
	       p2pbar_device_name(dev), st.bar_size, st.used, st.buffers, st.pinned, st.attachments,
	       st.evictions, st.migrations, st.bytes_moved, st.move_notify, st.host_charged);
	p2pbar_close_device(dev);
	return 0;
}

static int verify(const struct p2pbar_mem *b, uint64_t seed)
{
	const volatile uint8_t *m = b->map;
	int64_t bad = -1;

	if (seed) {
		bad = p2pbar_pattern_check(m, b->size, seed);
	} else {
		for (uint64_t i = 0; i < b->size && bad < 0; i++)
			if (m[i])
				bad = (int64_t)i;
	}
	if (bad < 0)
		return 0;
	fprintf(stderr, "p2pbar: verify: mismatch at offset %" PRId64 ": 0x%02x, want 0x%02x\n",
		bad, m[bad], seed ? p2pbar_pattern_byte(seed, (uint64_t)bad) : 0);
	return 1;
}

static int parse_placement(const char *s, uint32_t *out)
{
	if (!strcmp(s, "host"))
		*out = P2PBAR_PLACEMENT_HOST;
	else if (!strcmp(s, "device"))
		*out = P2PBAR_PLACEMENT_DEVICE;
	else
		return -1;
	return 0;
}

#define MAX_MIGRATES 64

static int cmd_alloc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "align", required_argument, NULL, 'a' },
		{ "host", no_argument, NULL, 'H' },
		{ "fixed", no_argument, NULL, 'F' },
		{ "migrate", required_argument, NULL, 'm' },
		{ "fill", required_argument, NULL, 'f' },
		{ "verify", required_argument, NULL, 'v' },
		{ "hold", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size, align = 0, fill = 0, check = 0, hold = 0;
	uint32_t placement = P2PBAR_PLACEMENT_DEVICE, flags = 0, to[MAX_MIGRATES];
	int do_fill = 0, do_verify = 0, c, ret = 1, nmig = 0;
	const char *which = NULL;
	struct p2pbar_context *dev;
	struct p2pbar_mem b;

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': which = optarg; break;
		case 'H': placement = P2PBAR_PLACEMENT_HOST; break;
		case 'F': flags |= P2PBAR_ALLOC_FIXED; break;
		case 'm':
			if (nmig == MAX_MIGRATES || parse_placement(optarg, &to[nmig++]))
				return fail("--migrate: host or device, at most 64 times");
			break;
		case 'a':
			if (parse_size(optarg, &align))
				return fail("--align: not a size");
			break;
		case 'f':
			if (parse_size(optarg, &fill) || !fill)
				return fail("--fill: SEED must be a non-zero number");
			do_fill = 1;
			break;
		case 'v':
			if (parse_size(optarg, &check))
				return fail("--verify: SEED must be a number");
			do_verify = 1;
			break;
		case 'h':
			if (parse_size(optarg, &hold))
				return fail("--hold: not a number of seconds");
			break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc - 1 || parse_size(argv[optind], &size)) {
		fputs(usage, stderr);
		return 2;
	}
	if (p2pbar_open_device(which, &dev))
		return fail(p2pbar_last_error());
	if (p2pbar_mem_alloc_flags(dev, size, align, placement, flags, &b)) {
		fail(p2pbar_last_error());
		p2pbar_close_device(dev);
		return 1;
	}
	if (placement == P2PBAR_PLACEMENT_HOST)
		printf("buffer %" PRIu64 ": %" PRIu64 " bytes in host memory\n", b.id, b.size);
	else
		printf("buffer %" PRIu64 ": %" PRIu64 " bytes at BAR offset 0x%" PRIx64 "\n", b.id,
		       b.size, b.offset);
	if ((do_fill || do_verify) && p2pbar_mem_map(&b)) {
		fail(p2pbar_last_error());
		goto out;
	}
	if (do_fill) {
		p2pbar_pattern_fill(b.map, b.size, fill);
		printf("filled with pattern %" PRIu64 "\n", fill);
	}
	for (int i = 0; i < nmig; i++) {
		if (p2pbar_mem_migrate(dev, b.fd, to[i])) {
			fail(p2pbar_last_error());
			goto out;
		}
		printf("moved to %s\n", to[i] == P2PBAR_PLACEMENT_HOST ? "host" : "device");
	}
	if (do_verify) {
		if (verify(&b, check))
			goto out;
		printf("verified %s\n", check ? "pattern" : "zeros");
	}
	fflush(stdout);
	if (hold)
		sleep((unsigned int)hold);
	ret = 0;
out:
	p2pbar_mem_free(&b);
	p2pbar_close_device(dev);
	return ret;
}

/* Move a buffer another process holds: a copy of its fd via pidfd_getfd. */
static int cmd_migrate(int argc, char **argv)
{
	const char *which = NULL;
	struct p2pbar_context *dev;
	uint64_t pid, fd;
	uint32_t to;
	int pidfd, bfd, ret;

	if (argc == 6 && !strcmp(argv[1], "-d")) {
		which = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc != 4 || parse_size(argv[1], &pid) || parse_size(argv[2], &fd) || pid > INT32_MAX ||
	    fd > INT32_MAX || parse_placement(argv[3], &to)) {
		fputs(usage, stderr);
		return 2;
	}
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0) {
		fprintf(stderr, "p2pbar: pidfd_open(%" PRIu64 "): %s\n", pid, strerror(errno));
		return 1;
	}
	bfd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	close(pidfd);
	if (bfd < 0) {
		fprintf(stderr, "p2pbar: fd %" PRIu64 " of process %" PRIu64 ": %s\n", fd, pid,
			strerror(errno));
		return 1;
	}
	if (p2pbar_open_device(which, &dev)) {
		close(bfd);
		return fail(p2pbar_last_error());
	}
	ret = p2pbar_mem_migrate(dev, bfd, to) ? fail(p2pbar_last_error()) : 0;
	if (!ret)
		printf("moved to %s\n", argv[3]);
	close(bfd);
	p2pbar_close_device(dev);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "list") && argc == 2)
		return cmd_list();
	if (!strcmp(argv[1], "info") && argc <= 3)
		return cmd_info(argc == 3 ? argv[2] : NULL);
	if (!strcmp(argv[1], "stats") && argc <= 3)
		return cmd_stats(argc == 3 ? argv[2] : NULL);
	if (!strcmp(argv[1], "alloc"))
		return cmd_alloc(argc - 1, argv + 1);
	if (!strcmp(argv[1], "migrate"))
		return cmd_migrate(argc - 1, argv + 1);
	fprintf(stderr, "p2pbar: unknown command or arguments: %s\n", argv[1]);
	fputs(usage, stderr);
	return 2;
}
