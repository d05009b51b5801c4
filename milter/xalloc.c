/*
 * NAME
 *	xalloc - allocation that cannot fail (startup code only)
 * SYNOPSIS
 *	#include "xalloc.h"
 *
 *	void   *xmalloc(size_t size);
 *	void   *xcalloc(size_t n, size_t size);
 *	void   *xreallocarray(void *ptr, size_t n, size_t size);
 *	char   *xstrdup(const char *s);
 *	void	xfree_secret(void *ptr, size_t size);
 * DESCRIPTION
 *	The x* allocators are for startup and configuration loading, where
 *	running out of memory is fatal. Per-message code uses malloc(3)
 *	directly, checks the result and applies on_error instead.
 *
 *	xfree_secret() wipes size bytes with explicit_bzero() before free().
 * OWNERSHIP
 *	The caller owns what is returned.
 * DIAGNOSTICS
 *	Out of memory or overflow: log_fatalx(), exit status 1.
 * SEE ALSO
 *	log(3)
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

/* xmalloc - malloc or die */

void *
xmalloc(size_t size)
{
	void   *p = malloc(size ? size : 1);

	if (p == NULL)
		log_fatalx("out of memory (%zu bytes)", size);
	return (p);
}

/* xcalloc - calloc or die */

void *
xcalloc(size_t n, size_t size)
{
	void   *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		log_fatalx("out of memory (%zu x %zu bytes)", n, size);
	return (p);
}

/* xreallocarray - grow an array or die, checking n * size */

void *
xreallocarray(void *ptr, size_t n, size_t size)
{
	void   *p;

	if (size != 0 && n > SIZE_MAX / size)
		log_fatalx("allocation overflow (%zu x %zu)", n, size);
	p = realloc(ptr, n * size != 0 ? n * size : 1);
	if (p == NULL)
		log_fatalx("out of memory (%zu x %zu bytes)", n, size);
	return (p);
}

/* xstrdup - strdup or die */

char *
xstrdup(const char *s)
{
	char   *p = strdup(s);

	if (p == NULL)
		log_fatalx("out of memory (strdup)");
	return (p);
}

/* xfree_secret - wipe then free key material */

void
xfree_secret(void *ptr, size_t size)
{
	if (ptr == NULL)
		return;
	explicit_bzero(ptr, size);
	free(ptr);
}
