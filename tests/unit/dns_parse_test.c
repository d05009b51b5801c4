/*
 * dns_parse_test - dns_parse_reply() on the seed replies of fuzz_dns
 * (tests/fuzz/corpus/dns, made by mkcorpus_dns.py): each gives the answer
 * dns(3) promises, and no strict prefix of a reply is an answer. Reads
 * the files under $top_srcdir (make check sets it), else ".".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_int.h"
#include "tap.h"

#define TEST_KEY	"txt.fuzz.test"	/* FUZZ_KEY in fuzz_dns.c */
#define TEST_MAX	4096

struct test_row {
	const char *file;
	enum dns_status status;
	size_t	n;
	const char *txt;		/* the first record, or NULL */
	unsigned ttl;
};

static const struct test_row test_rows[] = {
	{"txt-one", DNS_OK, 1, "v=DMARC1; p=reject", 300},
	{"txt-multi", DNS_OK, 2, "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0B",
	    120},
	{"txt-case", DNS_OK, 1, "case", 300},
	{"cname-chain", DNS_OK, 1, "at the end of the chain", 60},
	{"txt-nul", DNS_OK, 1, "good", 300},
	{"ttl-high", DNS_OK, 1, "hi", DNS_TTL_MIN},
	{"nxdomain-soa", DNS_NOTFOUND, 0, NULL, 300},
	{"nodata-soa", DNS_NOTFOUND, 0, NULL, 5},
	{"nxdomain-bare", DNS_NOTFOUND, 0, NULL, DNS_TTL_NEG},
	{"nodata-a", DNS_NOTFOUND, 0, NULL, DNS_TTL_NEG},
	{"cname-loop", DNS_TEMPFAIL, 0, NULL, 0},
	{"cname-long", DNS_TEMPFAIL, 0, NULL, 0},
	{"tc", DNS_TEMPFAIL, 0, NULL, 0},
	{"cut", DNS_TEMPFAIL, 0, NULL, 0},
	{"txt-overrun", DNS_TEMPFAIL, 0, NULL, 0},
	{"ptr-loop", DNS_TEMPFAIL, 0, NULL, 0},
	{"ptr-out", DNS_TEMPFAIL, 0, NULL, 0},
	{"servfail", DNS_TEMPFAIL, 0, NULL, 0},
	{"badvers", DNS_TEMPFAIL, 0, NULL, 0},
	{"soa-short", DNS_TEMPFAIL, 0, NULL, 0},
};

static size_t test_read(const char *file, unsigned char *buf);
static int test_same(const struct dns_answer *a, const struct test_row *r);

/* test_read - a seed file into buf; its length, 0 if unreadable */

static size_t
test_read(const char *file, unsigned char *buf)
{
	const char *top = getenv("top_srcdir");
	char	path[1024];
	FILE   *fp;
	size_t	len;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/dns/%s",
	    top != NULL ? top : ".", file);
	if ((fp = fopen(path, "rb")) == NULL)
		return (0);
	len = fread(buf, 1, TEST_MAX, fp);
	fclose(fp);
	return (len);
}

/* test_same - the answer is the row's */

static int
test_same(const struct dns_answer *a, const struct test_row *r)
{
	if (a->status != r->status || a->n != r->n || a->ttl != r->ttl ||
	    a->cached != 0)
		return (0);
	if (r->txt == NULL)
		return (a->txt == NULL);
	return (a->txt != NULL && strcmp(a->txt[0], r->txt) == 0);
}

int
main(void)
{
	unsigned char buf[TEST_MAX], *copy;
	struct dns_answer ans;
	const struct test_row *r;
	size_t	i, len, cut;
	int	rc, bad;

	for (i = 0; i < sizeof(test_rows) / sizeof(test_rows[0]); i++) {
		r = &test_rows[i];
		len = test_read(r->file, buf);
		TAP_OK(len > 12, "%s: seed readable", r->file);
		rc = dns_parse_reply(buf, (int)len, TEST_KEY, &ans);
		TAP_OK(rc == 0 && test_same(&ans, r),
		    "%s: status %d, %zu records, ttl %u", r->file,
		    (int)r->status, r->n, r->ttl);
		if (!test_same(&ans, r))
			printf("#   got status %d, %zu records (%s), ttl %u\n",
			    (int)ans.status, ans.n, ans.n > 0 ? ans.txt[0] :
			    "-", ans.ttl);
		dns_answer_fini(&ans);
		if (r->status == DNS_TEMPFAIL)
			continue;
		/*
		 * A reply cut anywhere is no answer. Each prefix is a heap
		 * block of its own size, so ASan sees any read past it.
		 */
		bad = 0;
		for (cut = 0; cut < len; cut++) {
			if ((copy = malloc(cut + 1)) == NULL)
				return (1);
			memcpy(copy, buf, cut);
			rc = dns_parse_reply(copy, (int)cut, TEST_KEY, &ans);
			if (rc != 0 || ans.status != DNS_TEMPFAIL ||
			    ans.ttl != 0 || ans.n != 0)
				bad++;
			dns_answer_fini(&ans);
			free(copy);
		}
		TAP_OK(bad == 0, "%s: none of its %zu prefixes is an answer",
		    r->file, len);
	}
	/* The same reply for another name: the chain starts nowhere. */
	len = test_read("txt-one", buf);
	rc = dns_parse_reply(buf, (int)len, "other.fuzz.test", &ans);
	TAP_OK(rc == 0 && ans.status == DNS_NOTFOUND && ans.n == 0,
	    "txt-one asked as other.fuzz.test: not found");
	dns_answer_fini(&ans);
	return (tap_done());
}
