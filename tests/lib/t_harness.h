/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness of our C test programs, after kselftest_harness.h: a case
 * registers itself with T_CASE() and main() is t_main(). Every program
 * then answers
 *   PROG --list                   its cases, one "NAME ARGS" line each
 *   PROG CASE FIXED... [ARGS...]  one case, with TAP output on stdout
 *   PROG A,B,C FIXED... [ARGS...] several, in that order, in one process
 * where FIXED are the arguments every case of the program takes (e.g.
 * the device node), handed to the program's setup function first.
 * Measured figures stay "RESULT: ..." lines, which TAP readers ignore and
 * make test's summary collects.
 */
#ifndef T_HARNESS_H
#define T_HARNESS_H

struct t_case {
	const char *name;
	const char *args; /* what follows CASE, for --list and usage */
	int min_args;
	int (*fn)(int argc, char **argv); /* argv: what follows CASE */
	struct t_case *next;
};

struct t_program {
	const char *fixed; /* the FIXED arguments' names, e.g. "/dev/p2pbarN" */
	int nfixed;
	void (*setup)(char **fixed); /* may be NULL */
};

void t_register(struct t_case *c);

/* A case: T_CASE(fn, "name", min_args, "ARGS") { body; return 0; } */
#define T_CASE(fn, cname, nargs, cargs)                                  \
	static int fn(int argc, char **argv);                            \
	static struct t_case fn##_case = { cname, cargs, nargs, fn, 0 }; \
	__attribute__((constructor)) static void fn##_register(void)     \
	{                                                                \
		t_register(&fn##_case);                                  \
	}                                                                \
	static int fn(int argc __attribute__((unused)), char **argv __attribute__((unused)))

int t_main(const struct t_program *prog, int argc, char **argv);

/* "FAIL: ..." on stderr, the case's "not ok" line, exit 1. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* T_HARNESS_H */
