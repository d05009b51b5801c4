#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>

#define ADDR_DOMAIN_MAX	256	/* buffer size for a domain, with NUL */

enum addr_status {
	ADDR_OK = 0,		/* exactly one mailbox, domain extracted */
	ADDR_EMPTY,		/* no mailbox at all (empty, or empty group) */
	ADDR_MULTIPLE,		/* more than one mailbox */
	ADDR_SYNTAX,		/* not parseable as RFC 5322 address-list */
	ADDR_NO_DOMAIN,		/* a mailbox without @domain, or a literal */
	ADDR_TOO_LONG		/* domain longer than ADDR_DOMAIN_MAX - 1 */
};

enum addr_status addr_from_domain(const char *value, size_t len,
	    char *domain, size_t domsize, size_t *naddrs);
int	addr_envelope_domain(const char *arg, char *domain, size_t domsize);
int	addr_domain_normalize(char *domain);
int	addr_domain_within(const char *domain, const char *parent);
const char *addr_strerror(enum addr_status status);

#endif
