// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "libp2pbar.h"
#include "p2pbar_error.h"

static _Thread_local char last_error[256];

const char *p2pbar_last_error(void)
{
	return last_error;
}

int p2pbar_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}
