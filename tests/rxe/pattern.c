// SPDX-License-Identifier: GPL-2.0
/* The rxe tests' use of the data pattern (util/p2pbar_pattern.h). */
#include <inttypes.h>
#include <string.h>

#include "p2pbar_pattern.h"
#include "rxe-util.h"

void fill(uint8_t *p, size_t len, uint64_t seed)
{
	p2pbar_pattern_fill(p, len, seed);
}

bool pattern_ok(const volatile uint8_t *got, size_t len, uint64_t seed, char *why, size_t whylen)
{
	/* one copy out of the (possibly device) memory, then the check */
	uint8_t *have = malloc(len + 1);
	int64_t bad;

	if (!have)
		FAIL("out of memory for %zu B", len);
	memcpy(have, (const void *)got, len);
	bad = p2pbar_pattern_check(have, len, seed);
	if (bad >= 0)
		snprintf(why, whylen, "byte %" PRId64 " of %zu is %#x, expected %#x", bad, len,
			 have[bad], p2pbar_pattern_byte(seed, (uint64_t)bad));
	free(have);
	return bad < 0;
}

void check(const char *what, const volatile uint8_t *got, size_t len, uint64_t seed)
{
	char why[128];

	if (!pattern_ok(got, len, seed, why, sizeof(why)))
		FAIL("%s: %s", what, why);
}
