#ifndef DNS_H
#define DNS_H

#include <stddef.h>
#include <time.h>

enum dns_status {
	DNS_OK,				/* TXT RRset found */
	DNS_NOTFOUND,			/* NXDOMAIN, or no TXT (NODATA) */
	DNS_TEMPFAIL			/* no answer: never cached */
};

struct dns_answer {
	enum dns_status status;
	size_t	n;			/* records in txt[] (DNS_OK only) */
	char  **txt;			/* each record, strings joined */
	unsigned ttl;			/* seconds, 1..86400; 0 on TEMPFAIL */
	int	cached;			/* 1 when served from the cache */
};

struct dns_cache;

#define DNS_TTL_MIN	1
#define DNS_TTL_MAX	86400
#define DNS_TTL_NEG	60		/* NOTFOUND without an SOA */

struct dns_cache *dns_cache_new(size_t max_entries, int timeout_ms);
void	dns_cache_free(struct dns_cache *dc);
void	dns_cache_set_clock(struct dns_cache *dc, time_t (*now)(void));
int	dns_txt(struct dns_cache *dc, const char *name,
	    struct dns_answer *ans);
void	dns_answer_fini(struct dns_answer *ans);
void	dns_cache_stats(const struct dns_cache *dc, unsigned long *hits,
	    unsigned long *misses, size_t *entries);

#endif
