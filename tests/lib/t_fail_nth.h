/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for the calling thread (the kernel's
 * fault-injection.rst, /proc/thread-self/fail-nth): fail the Nth
 * allocation or user copy of the next system call. Each fails the case
 * on an error.
 */
#ifndef T_FAIL_NTH_H
#define T_FAIL_NTH_H

#include <stdbool.h>

/* Open the calling thread's fail-nth (needs CONFIG_FAULT_INJECTION). */
void fail_nth_open(void);
/* Arm: the @n-th fault site of the next call fails (0: disarm). */
void fail_nth_set(unsigned int n);
/* Whether the fault armed by fail_nth_set() was injected; disarms it. */
bool fail_nth_hit(void);

#endif /* T_FAIL_NTH_H */
