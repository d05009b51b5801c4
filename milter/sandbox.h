#ifndef SANDBOX_H
#define SANDBOX_H

#include <stddef.h>

/* what sandbox_available() says this build installs */
#define SANDBOX_NONE	0	/* no libseccomp */
#define SANDBOX_LENIENT	1	/* AddressSanitizer build: see sandbox.c */
#define SANDBOX_FULL	2

int	sandbox_enter(char *err, size_t errlen);
int	sandbox_available(void);

#endif
