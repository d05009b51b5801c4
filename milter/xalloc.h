#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void   *xmalloc(size_t size);
void   *xcalloc(size_t n, size_t size);
void   *xreallocarray(void *ptr, size_t n, size_t size);
char   *xstrdup(const char *s);
void	xfree_secret(void *ptr, size_t size);

#endif
