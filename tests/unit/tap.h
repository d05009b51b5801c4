/*
 * NAME
 *	tap - minimal Test Anything Protocol helpers for unit tests
 * SYNOPSIS
 *	#include "tap.h"
 *
 *	TAP_OK(cond, fmt, ...);
 *	int	tap_done(void);
 * DESCRIPTION
 *	Each TAP_OK() prints one "ok N - ..." or "not ok N - ..." line.
 *	tap_done() prints the plan and returns the exit status for main().
 *	The Automake TAP driver counts every line as one test.
 * DIAGNOSTICS
 *	A failed check prints the file and line as a TAP comment.
 */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static void __attribute__((format(printf, 4, 5)))
tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
}

#define TAP_OK(cond, ...) tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return (tap_failed ? 1 : 0);
}

#endif
