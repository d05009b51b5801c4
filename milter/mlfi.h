#ifndef MLFI_H
#define MLFI_H

#include <stddef.h>

struct cfg;

int	mlfi_open(const struct cfg *cf, char *err, size_t errlen);
int	mlfi_start(void);
int	mlfi_stop(int shutdown_timeout);
const char *mlfi_libversion(char *buf, size_t size);

#endif
