// SPDX-License-Identifier: GPL-2.0
/*
 * The data pattern of the rxe tests: every byte depends on the seed and on
 * its position, so misplaced, stale or partial data never passes.
 */
#include <string.h>

#include "rxe-util.h"

uint64_t pat(uint64_t seed, uint64_t i)
{
	uint64_t x = ((i + 1) * 0x9E3779B97F4A7C15ULL) ^ seed;

	x ^= x >> 29;
	return x * 0xBF58476D1CE4E5B9ULL;
}

void fill(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w = pat(seed, i / 8);

		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)(pat(seed, i / 8) >> (8 * (i % 8)));
}

bool pattern_ok(const volatile uint8_t *got, size_t len, uint64_t seed, char *why, size_t whylen)
{
	/* one copy out of the (possibly device) memory, then memcmp */
	uint8_t *want = malloc(len + 1), *have = malloc(len + 1);
	bool ok;

	if (!want || !have)
		FAIL("out of memory for %zu B", len);
	fill(want, len, seed);
	memcpy(have, (const void *)got, len);
	ok = !memcmp(have, want, len);
	for (size_t i = 0; !ok && i < len; i++) {
		if (have[i] != want[i]) {
			snprintf(why, whylen, "byte %zu of %zu is %#x, expected %#x", i, len,
				 have[i], want[i]);
			break;
		}
	}
	free(want);
	free(have);
	return ok;
}

void check(const char *what, const volatile uint8_t *got, size_t len, uint64_t seed)
{
	char why[128];

	if (!pattern_ok(got, len, seed, why, sizeof(why)))
		FAIL("%s: %s", what, why);
}
