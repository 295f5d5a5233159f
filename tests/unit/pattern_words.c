// SPDX-License-Identifier: GPL-2.0
/*
 * Prints "SEED N WORD" lines and a fill of odd length and alignment, for
 * test_pattern.py to check p2pbar_pattern.h against its Python twin.
 */
#include <inttypes.h>
#include <stdio.h>

#include "p2pbar_pattern.h"

int main(void)
{
	static const uint64_t seeds[] = { 0, 1, 7, 0x4057, UINT64_MAX };
	uint8_t buf[64 + 8];

	for (unsigned int s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
		for (uint64_t n = 0; n < 1000; n += 37)
			printf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", seeds[s], n,
			       p2pbar_pattern_word(seeds[s], n));
	/* unaligned start, odd length: byte stores, the same bytes */
	p2pbar_pattern_fill(buf + 3, 61, 0x6e57);
	printf("fill");
	for (int i = 0; i < 61; i++)
		printf(" %u", buf[3 + i]);
	printf("\n");
	if (p2pbar_pattern_check(buf + 3, 61, 0x6e57) != -1 ||
	    (buf[3 + 60] ^= 1, p2pbar_pattern_check(buf + 3, 61, 0x6e57) != 60)) {
		fprintf(stderr, "p2pbar_pattern_check misses a changed last byte\n");
		return 1;
	}
	return 0;
}
