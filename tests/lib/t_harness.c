// SPDX-License-Identifier: GPL-2.0
#include "t_harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct t_case *cases;
static const struct t_case *running;
static int running_index;
static pid_t running_pid;

void t_register(struct t_case *c)
{
	struct t_case **p = &cases;

	/* keep them sorted: --list is stable whatever the link order */
	while (*p && strcmp((*p)->name, c->name) < 0)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
}

void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (pid %d)\n", (int)getpid());
	va_end(ap);
	/* a forked child's failure is its parent's to report */
	if (running && getpid() == running_pid)
		printf("not ok %d - %s\n", running_index, running->name);
	fflush(stdout);
	exit(1);
}

static int usage(const struct t_program *prog, const char *argv0)
{
	fprintf(stderr, "usage: %s --list\n       %s CASE %s%s[ARGS...]\ncases:\n", argv0, argv0,
		prog->fixed ? prog->fixed : "", prog->fixed ? " " : "");
	for (const struct t_case *c = cases; c; c = c->next)
		fprintf(stderr, "  %s %s\n", c->name, c->args);
	return 2;
}

static const struct t_case *find(const char *name, size_t len)
{
	for (const struct t_case *c = cases; c; c = c->next)
		if (strlen(c->name) == len && !strncmp(c->name, name, len))
			return c;
	return NULL;
}

/*
 * CASE may be several, "a,b,c": they run in that order in one process
 * (with one setup), as cases that must see each other's buffers do.
 */
int t_main(const struct t_program *prog, int argc, char **argv)
{
	const struct t_case *run[64];
	int first = 2 + prog->nfixed; /* the first of the cases' ARGS */
	int n = 0, failed = 0;
	const char *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (const struct t_case *c = cases; c; c = c->next)
			printf("%s%s%s\n", c->name, *c->args ? " " : "", c->args);
		return 0;
	}
	if (argc < first)
		return usage(prog, argv[0]);
	for (p = argv[1]; n < 64; p++) {
		size_t len = strcspn(p, ",");

		run[n] = find(p, len);
		if (!run[n]) {
			fprintf(stderr, "%s: no case %.*s\n", argv[0], (int)len, p);
			return usage(prog, argv[0]);
		}
		if (argc - first < run[n]->min_args) {
			fprintf(stderr, "usage: %s %s %s%s%s\n", argv[0], run[n]->name,
				prog->fixed ? prog->fixed : "", prog->fixed ? " " : "",
				run[n]->args);
			return 2;
		}
		n++;
		p += len;
		if (!*p)
			break;
	}
	printf("TAP version 13\n1..%d\n", n);
	running_pid = getpid();
	if (prog->setup)
		prog->setup(argv + 2);
	for (int i = 0; i < n; i++) {
		int ret;

		running = run[i];
		running_index = i + 1;
		ret = run[i]->fn(argc - first, argv + first);
		printf("%sok %d - %s\n", ret ? "not " : "", i + 1, run[i]->name);
		failed |= ret;
	}
	running = NULL;
	return failed ? 1 : 0;
}
