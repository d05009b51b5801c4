#ifndef CIDR_H
#define CIDR_H

#include <sys/socket.h>

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network byte order, host bits zero */
	unsigned	prefix;		/* 0..32 or 0..128 */
};

int	cidr_parse(const char *text, struct cidr *out);
int	cidr_match(const struct cidr *net, const struct sockaddr *sa);
int	cidr_match_list(const struct cidr *nets, size_t n,
	    const struct sockaddr *sa);
int	cidr_format(const struct cidr *net, char *buf, size_t size);

#endif
