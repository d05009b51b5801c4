/* fuzz_dns - DNS replies to a TXT query, as dns(3) parses them */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_int.h"

#define FUZZ_KEY	"txt.fuzz.test"	/* the name the seeds answer */
#define FUZZ_NAME_MAX	253

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_dns_check(const struct dns_answer *ans);
static int fuzz_dns_qname(const uint8_t *data, size_t size, char *key);

/*
 * fuzz_dns_check - what dns(3) promises of every answer; abort() (a
 * crash for libFuzzer) when a reply breaks it
 */

static void
fuzz_dns_check(const struct dns_answer *ans)
{
	size_t	i;

	if (ans->cached)
		abort();
	switch (ans->status) {
	case DNS_OK:
		if (ans->n == 0 || ans->txt == NULL)
			abort();
		for (i = 0; i < ans->n; i++)
			if (ans->txt[i] == NULL)
				abort();
		break;
	case DNS_NOTFOUND:
	case DNS_TEMPFAIL:
		if (ans->n != 0 || ans->txt != NULL)
			abort();
		break;
	default:
		abort();
	}
	if (ans->status == DNS_TEMPFAIL ? ans->ttl != 0 :
	    ans->ttl < DNS_TTL_MIN || ans->ttl > DNS_TTL_MAX)
		abort();
}

/* fuzz_dns_qname - the reply's question name as a cache key, or -1 */

static int
fuzz_dns_qname(const uint8_t *data, size_t size, char *key)
{
	ns_msg	m;
	ns_rr	rr;
	const char *name;
	size_t	len, i, label = 0;

	if (size > 65535 || ns_initparse(data, (int)size, &m) < 0 ||
	    ns_msg_count(m, ns_s_qd) < 1 || ns_parserr(&m, ns_s_qd, 0, &rr) < 0)
		return (-1);
	name = ns_rr_name(rr);
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > FUZZ_NAME_MAX)
		return (-1);
	for (i = 0; i < len; i++) {
		if (name[i] == '\\' || (name[i] == '.' && label == 0))
			return (-1);
		label = name[i] == '.' ? 0 : label + 1;
		if (label > 63)
			return (-1);
		key[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] - 'A' + 'a' : name[i];
	}
	key[len] = '\0';
	return (label == 0 ? -1 : 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer ans;
	char	key[FUZZ_NAME_MAX + 1];

	if (size > 65535)
		return (0);
	if (dns_parse_reply(data, (int)size, FUZZ_KEY, &ans) == 0)
		fuzz_dns_check(&ans);
	dns_answer_fini(&ans);
	/* The name asked, so a mutated question meets the answers too. */
	if (fuzz_dns_qname(data, size, key) == 0) {
		if (dns_parse_reply(data, (int)size, key, &ans) == 0)
			fuzz_dns_check(&ans);
		dns_answer_fini(&ans);
	}
	return (0);
}
