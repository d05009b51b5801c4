#ifndef MSERV_H
#define MSERV_H

#include <stddef.h>
#include <sys/types.h>

struct mp_filter;

int	mserv_open(const char *spec, uid_t uid, gid_t gid, int mode,
	    char *err, size_t errlen);
int	mserv_start(const struct mp_filter *mf, int (*max_conns)(void));
void	mserv_stop(int wait_seconds);
unsigned long mserv_connections(void);

#endif
