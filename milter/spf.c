/*
 * NAME
 *	spf - evaluate SPF for the address that will send the message
 * SYNOPSIS
 *	#include "spf.h"
 *
 *	struct spf *spf_new(void);
 *	void	spf_free(struct spf *sp);
 *	enum align_spf spf_check(struct spf *sp, const char *ip,
 *		    const char *helo, const char *sender);
 * DESCRIPTION
 *	The only file that includes <spf2/spf.h>. spf_new() makes a libspf2
 *	server over its caching DNS layer, shared by all threads: answers
 *	are kept for their TTL, lookup errors only until the end of the
 *	second they happened in (libspf2 would otherwise keep answering
 *	temperror for 30 minutes after the resolver is back; it expires an
 *	entry at TTL + time(NULL), in whole seconds, so TTL 0 is the rest
 *	of that second). spf_check() evaluates the MAIL FROM identity sender
 *	(an address; "" for the null sender, when the HELO identity
 *	postmaster@helo is checked, RFC 7208 section 2.4) for the egress
 *	address ip (IPv4 or IPv6 text) as a receiver would see it.
 *
 *	An exp= explanation is never looked up (spf_no_exp() says why).
 *
 *	The resolver's timeout bounds each lookup (main.c sets RES_OPTIONS
 *	from alignment.dns_timeout_ms at startup; a reload does not change
 *	it); a lookup that fails is temperror, never pass.
 * OWNERSHIP
 *	spf_free() frees the server. Requests and responses live only inside
 *	spf_check().
 * DIAGNOSTICS
 *	An unusable address or an internal libspf2 error gives permerror or
 *	temperror; nothing here logs.
 * SEE ALSO
 *	align(3), RFC 7208
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>
#include <spf2/spf_dns_cache.h>
#include <spf2/spf_dns_resolv.h>

#include "spf.h"

#define SPF_CACHE_BITS	12		/* 4096 cached answers */

struct spf {
	SPF_server_t *sp_server;
	SPF_dns_server_t *sp_dns;	/* cache over the resolver */
};

/*
 * spf_no_exp - the explanation of a failing record, never looked up
 *
 * Nothing here uses it, and libspf2 1.2.10 as Debian 12 ships it compiles
 * the TXT record that exp= names into a fixed stack buffer it can overrun
 * (found by tests/fuzz/deep.sh; the input is corpus/spf/exp-overflow):
 * whoever writes the sender domain's records could crash the daemon. A
 * resolver layer's get_exp hook replaces the lookup and the compilation.
 */
static SPF_errcode_t
spf_no_exp(SPF_server_t *server, const char *domain, char **buf,
    size_t *buflen)
{
	static const char text[] = "explanation not looked up";
	char   *p;

	(void)server;
	(void)domain;
	if (*buf == NULL || *buflen < sizeof(text)) {
		if ((p = realloc(*buf, sizeof(text))) == NULL)
			return (SPF_E_NO_MEMORY);
		*buf = p;
		*buflen = sizeof(text);
	}
	memcpy(*buf, text, sizeof(text));
	return (SPF_E_SUCCESS);
}

/* spf_over - a server over dns (which it then owns), or NULL */

static struct spf *
spf_over(SPF_dns_server_t *dns)
{
	struct spf *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		SPF_dns_free(dns);
		return (NULL);
	}
	sp->sp_dns = dns;
	dns->get_exp = spf_no_exp;
	if ((sp->sp_server = SPF_server_new_dns(dns, 0)) == NULL) {
		SPF_dns_free(dns);
		free(sp);
		return (NULL);
	}
	return (sp);
}

/* spf_new - one caching libspf2 server */

struct spf *
spf_new(void)
{
	SPF_dns_server_t *resolv, *cache;

	if ((resolv = SPF_dns_resolv_new(NULL, NULL, 0)) == NULL)
		return (NULL);
	if ((cache = SPF_dns_cache_new(resolv, NULL, 0, SPF_CACHE_BITS)) ==
	    NULL) {
		SPF_dns_free(resolv);
		return (NULL);
	}
	/*
	 * libspf2 caches lookup errors for a long time by default, which
	 * would keep a recovered resolver's answers away for as long: keep
	 * records for their own TTL and errors for TTL 0 (the rest of the
	 * current second: libspf2 compares whole seconds).
	 */
	SPF_dns_cache_set_ttl(cache, 0, 0, 0, 0);
	return (spf_over(cache));
}

/* spf_free - free the server and its cache */

void
spf_free(struct spf *sp)
{
	if (sp == NULL)
		return;
	SPF_server_free(sp->sp_server);
	SPF_dns_free(sp->sp_dns);
	free(sp);
}

/* spf_result - libspf2's result to ours */

static enum align_spf
spf_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return (ALIGN_SPF_PASS);
	case SPF_RESULT_FAIL:
		return (ALIGN_SPF_FAIL);
	case SPF_RESULT_SOFTFAIL:
		return (ALIGN_SPF_SOFTFAIL);
	case SPF_RESULT_NEUTRAL:
		return (ALIGN_SPF_NEUTRAL);
	case SPF_RESULT_NONE:
		return (ALIGN_SPF_NONE);
	case SPF_RESULT_PERMERROR:
		return (ALIGN_SPF_PERMERROR);
	default:
		return (ALIGN_SPF_TEMPERROR);
	}
}

/* spf_check - the result a receiver would compute */

enum align_spf
spf_check(struct spf *sp, const char *ip, const char *helo,
    const char *sender)
{
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	enum align_spf res = ALIGN_SPF_TEMPERROR;
	SPF_errcode_t err;

	if ((req = SPF_request_new(sp->sp_server)) == NULL)
		return (ALIGN_SPF_TEMPERROR);
	err = strchr(ip, ':') != NULL ? SPF_request_set_ipv6_str(req, ip) :
	    SPF_request_set_ipv4_str(req, ip);
	if (err != SPF_E_SUCCESS ||
	    (helo != NULL && SPF_request_set_helo_dom(req, helo) !=
	    SPF_E_SUCCESS) ||
	    (*sender != '\0' && SPF_request_set_env_from(req, sender) != 0)) {
		SPF_request_free(req);
		return (ALIGN_SPF_PERMERROR);
	}
	(void)SPF_request_query_mailfrom(req, &resp);
	if (resp != NULL) {
		res = spf_result(SPF_response_result(resp));
		SPF_response_free(resp);
	}
	SPF_request_free(req);
	return (res);
}
