// SPDX-License-Identifier: MIT
/*
 * Host-only tests of libp2pbar's argument handling and error reporting
 * (built with ASan/UBSan). Device paths are tested in guests.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libp2pbar.h"

static int failures;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			failures++;                                                              \
		}                                                                                \
	} while (0)

static void test_open_rejects_garbage(void)
{
	struct p2pbar_context *dev = (void *)1;

	CHECK(p2pbar_open_device("not-a-device", &dev) == -EINVAL);
	CHECK(dev == NULL);
	CHECK(strstr(p2pbar_last_error(), "not-a-device") != NULL);
	CHECK(p2pbar_open_device("p2pbar", &dev) == -EINVAL);
	CHECK(p2pbar_open_device("/dev/p2pbar-very-long-name-that-does-not-fit-in-the-buffer",
				 &dev) == -EINVAL);
}

static void test_open_missing_device(void)
{
	struct p2pbar_context *dev;

	/* There is no p2pbar device on the host (no module there). */
	CHECK(p2pbar_open_device("p2pbar63", &dev) == -ENODEV);
	CHECK(strstr(p2pbar_last_error(), "/dev/p2pbar63") != NULL);
	CHECK(p2pbar_open_device(NULL, &dev) == -ENODEV);
	CHECK(p2pbar_open_device("0000:ff:1f.7", &dev) == -ENODEV);
	CHECK(strstr(p2pbar_last_error(), "0000:ff:1f.7") != NULL);
}

static void test_list_without_module(void)
{
	char names[4][P2PBAR_NAME_MAX];

	CHECK(p2pbar_list_devices(names, 4) == 0);
}

static void test_mr_range_checked(void)
{
	struct p2pbar_mem buf = { .fd = -1, .size = 4096 };

	errno = 0;
	CHECK(p2pbar_reg_mr(NULL, &buf, 4096, 1, 0, 0) == NULL);
	CHECK(errno == EINVAL);
	CHECK(p2pbar_reg_mr(NULL, &buf, 0, 0, 0, 0) == NULL);
	CHECK(p2pbar_reg_mr(NULL, &buf, 1, 4096, 0, 0) == NULL);
	CHECK(p2pbar_reg_mr(NULL, &buf, UINT64_MAX, 2, 0, 0) == NULL);
	CHECK(strstr(p2pbar_last_error(), "outside") != NULL);
}

static void test_free_is_idempotent(void)
{
	struct p2pbar_mem buf = { .fd = -1 };

	p2pbar_mem_free(&buf);
	p2pbar_mem_free(&buf);
	CHECK(buf.fd == -1 && buf.map == NULL);
	p2pbar_close_device(NULL);
}

int main(void)
{
	test_open_rejects_garbage();
	test_open_missing_device();
	test_list_without_module();
	test_mr_range_checked();
	test_free_is_idempotent();
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
	return failures != 0;
}
