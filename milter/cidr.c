/*
 * NAME
 *	cidr - IPv4 and IPv6 network prefixes
 * SYNOPSIS
 *	#include "cidr.h"
 *
 *	int	cidr_parse(const char *text, struct cidr *out);
 *	int	cidr_match(const struct cidr *net, const struct sockaddr *sa);
 *	int	cidr_match_list(const struct cidr *nets, size_t n,
 *		    const struct sockaddr *sa);
 *	int	cidr_format(const struct cidr *net, char *buf, size_t size);
 * DESCRIPTION
 *	cidr_parse() reads "address/prefix" or a bare address (a host
 *	prefix of 32 or 128 bits). The address is what inet_pton() takes:
 *	dotted quad or RFC 4291 text, no shorthand like "10/8", no zone
 *	index, no blanks. The prefix is 1 to 3 decimal digits. Host bits
 *	beyond the prefix are cleared.
 *
 *	cidr_match() says whether an AF_INET or AF_INET6 socket address is
 *	inside a network. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 *	treated as the IPv4 address a.b.c.d, so it matches IPv4 networks;
 *	likewise an IPv4 address matches an IPv6 network that contains its
 *	mapped form (such as ::ffff:0:0/96). Other families never match.
 *	cidr_match_list() says whether any of n networks matches.
 *
 *	cidr_format() writes the network as "address/prefix".
 * OWNERSHIP
 *	Pure functions: nothing is allocated; struct cidr is plain data.
 * DIAGNOSTICS
 *	cidr_parse() returns -1 on bad input and leaves *out unchanged;
 *	cidr_format() returns -1 with buf empty when it does not fit. The
 *	match functions return 0 for a NULL or unsupported address.
 *	Nothing here logs or exits.
 * SEE ALSO
 *	inet_pton(3), inet_ntop(3), RFC 4291 section 2.5.5.2
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "cidr.h"

#define CIDR_TEXT_MAX	64		/* longer address text is bad */

static const unsigned char cidr_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int cidr_parse_prefix(const char *, unsigned, unsigned *);
static void cidr_clear_host(unsigned char *, size_t, unsigned);
static int cidr_sockaddr(const struct sockaddr *, int *, unsigned char *);
static int cidr_prefix_equal(const unsigned char *, const unsigned char *,
	    unsigned);

/* cidr_parse_prefix - read 1-3 decimal digits, at most max */

static int
cidr_parse_prefix(const char *text, unsigned max, unsigned *prefix)
{
	unsigned value = 0;
	size_t	i;

	for (i = 0; text[i] != '\0'; i++) {
		if (i >= 3 || text[i] < '0' || text[i] > '9')
			return (-1);
		value = value * 10 + (unsigned) (text[i] - '0');
	}
	if (i == 0 || value > max)
		return (-1);
	*prefix = value;
	return (0);
}

/* cidr_clear_host - zero every bit of addr after the first prefix bits */

static void
cidr_clear_host(unsigned char *addr, size_t len, unsigned prefix)
{
	size_t	i = prefix / 8;

	if (i >= len)
		return;
	if (prefix % 8 != 0)
		addr[i++] &= (unsigned char) (0xff << (8 - prefix % 8));
	memset(addr + i, 0, len - i);
}

/* cidr_parse - parse "address[/prefix]" into a network */

int
cidr_parse(const char *text, struct cidr *out)
{
	char	buf[CIDR_TEXT_MAX];
	const char *slash;
	struct cidr net;
	size_t	len, alen;

	if (text == NULL || out == NULL)
		return (-1);
	slash = strchr(text, '/');
	len = slash != NULL ? (size_t) (slash - text) : strlen(text);
	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(&net, 0, sizeof(net));
	net.family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(net.family, buf, net.addr) != 1)
		return (-1);
	alen = net.family == AF_INET ? 4 : 16;
	net.prefix = (unsigned) alen * 8;
	if (slash != NULL &&
	    cidr_parse_prefix(slash + 1, net.prefix, &net.prefix) < 0)
		return (-1);
	cidr_clear_host(net.addr, alen, net.prefix);
	*out = net;
	return (0);
}

/* cidr_sockaddr - family and address bytes, IPv4-mapped made IPv4 */

static int
cidr_sockaddr(const struct sockaddr *sa, int *family, unsigned char *addr)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa == NULL)
		return (-1);
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *) (const void *) sa;
		*family = AF_INET;
		memcpy(addr, &sin->sin_addr, 4);
		return (0);
	}
	if (sa->sa_family != AF_INET6)
		return (-1);
	sin6 = (const struct sockaddr_in6 *) (const void *) sa;
	if (memcmp(&sin6->sin6_addr, cidr_mapped_prefix, 12) == 0) {
		*family = AF_INET;
		memcpy(addr, (const unsigned char *) &sin6->sin6_addr + 12, 4);
	} else {
		*family = AF_INET6;
		memcpy(addr, &sin6->sin6_addr, 16);
	}
	return (0);
}

/* cidr_prefix_equal - do a and b agree in their first prefix bits */

static int
cidr_prefix_equal(const unsigned char *a, const unsigned char *b,
    unsigned prefix)
{
	size_t	full = prefix / 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return (0);
	if (prefix % 8 == 0)
		return (1);
	mask = (unsigned char) (0xff << (8 - prefix % 8));
	return ((a[full] & mask) == (b[full] & mask));
}

/* cidr_match - is the socket address inside net */

int
cidr_match(const struct cidr *net, const struct sockaddr *sa)
{
	unsigned char addr[16], mapped[16];
	int	family;

	if (net == NULL || cidr_sockaddr(sa, &family, addr) < 0)
		return (0);
	if (net->family == AF_INET && family == AF_INET)
		return (net->prefix <= 32 &&
		    cidr_prefix_equal(net->addr, addr, net->prefix));
	if (net->family != AF_INET6 || net->prefix > 128)
		return (0);
	if (family == AF_INET) {
		memcpy(mapped, cidr_mapped_prefix, 12);
		memcpy(mapped + 12, addr, 4);
		memcpy(addr, mapped, 16);
	}
	return (cidr_prefix_equal(net->addr, addr, net->prefix));
}

/* cidr_match_list - does any of n networks contain the address */

int
cidr_match_list(const struct cidr *nets, size_t n,
    const struct sockaddr *sa)
{
	size_t	i;

	if (nets == NULL)
		return (0);
	for (i = 0; i < n; i++)
		if (cidr_match(&nets[i], sa))
			return (1);
	return (0);
}

/* cidr_format - write "address/prefix" into buf */

int
cidr_format(const struct cidr *net, char *buf, size_t size)
{
	char	text[INET6_ADDRSTRLEN];
	int	len;

	if (net == NULL || buf == NULL || size == 0)
		return (-1);
	buf[0] = '\0';
	if (net->family != AF_INET && net->family != AF_INET6)
		return (-1);
	if (inet_ntop(net->family, net->addr, text, sizeof(text)) == NULL)
		return (-1);
	len = snprintf(buf, size, "%s/%u", text, net->prefix);
	if (len < 0 || (size_t) len >= size) {
		buf[0] = '\0';
		return (-1);
	}
	return (0);
}
