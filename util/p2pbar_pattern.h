/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test data pattern: the fill contract of `p2pbar alloc --fill`, the
 * examples, the tests and the bench, and of the host checks that read the
 * BAR's ivshmem file (p2pbar_pattern.py is the Python twin; a unit test
 * keeps the two equal).
 *
 * Word n of a range filled with SEED is p2pbar_pattern_word(SEED, n),
 * stored little-endian; n counts 8-byte words from the start of the
 * range, so a range written at the wrong place, a stale or a partial
 * copy fails the check.
 */
#ifndef P2PBAR_PATTERN_H
#define P2PBAR_PATTERN_H

#include <stdint.h>
#include <string.h>

static inline uint64_t p2pbar_pattern_word(uint64_t seed, uint64_t n)
{
	uint64_t x = ((n + 1) * 0x9E3779B97F4A7C15ULL) ^ seed;

	x ^= x >> 29;
	return x * 0xBF58476D1CE4E5B9ULL;
}

/* Byte @i of a range filled with @seed. */
static inline uint8_t p2pbar_pattern_byte(uint64_t seed, uint64_t i)
{
	return (uint8_t)(p2pbar_pattern_word(seed, i / 8) >> (8 * (i % 8)));
}

/*
 * Fill @len bytes at @dst, which may be device memory: aligned 8-byte
 * stores where @dst allows (a BAR mapping takes them whole), bytes else.
 */
static inline void p2pbar_pattern_fill(volatile void *dst, uint64_t len, uint64_t seed)
{
	volatile uint8_t *p = (volatile uint8_t *)dst;
	uint64_t i = 0;

	if (!((uintptr_t)p % 8))
		for (; i + 8 <= len; i += 8)
			*(volatile uint64_t *)(p + i) = p2pbar_pattern_word(seed, i / 8);
	for (; i < len; i++)
		p[i] = p2pbar_pattern_byte(seed, i);
}

/*
 * Check @len bytes at @src against @seed: the offset of the first byte
 * that differs, or -1 if all match.
 */
static inline int64_t p2pbar_pattern_check(const volatile void *src, uint64_t len, uint64_t seed)
{
	const volatile uint8_t *p = (const volatile uint8_t *)src;
	uint64_t i = 0;

	if (!((uintptr_t)p % 8))
		for (; i + 8 <= len; i += 8)
			if (*(const volatile uint64_t *)(p + i) != p2pbar_pattern_word(seed, i / 8))
				break;
	for (; i < len; i++)
		if (p[i] != p2pbar_pattern_byte(seed, i))
			return (int64_t)i;
	return -1;
}

#endif /* P2PBAR_PATTERN_H */
