/*
 * dns_test - cached TXT lookups against a private dnsmasq, then a fake
 * server. Run by dns_test.sh, which starts dnsmasq on 127.0.0.154:53
 * with the records the tables here expect, bind-mounts a resolv.conf
 * naming it (in a private mount namespace) and passes its pid in
 * DNS_TEST_DNSMASQ_PID. Half-way this program stops dnsmasq and answers
 * on that address itself with broken and unusual replies.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "tap.h"

#define TEST_ADDR	"127.0.0.154"
#define TEST_TIMEOUT_MS	1000
#define TEST_LOCAL_TTL	30		/* dnsmasq --local-ttl */
#define TEST_THREADS	8
#define TEST_LOOKUPS	500		/* per thread */
#define TEST_NAMES_OK	16		/* c0..c15.dns.test */
#define TEST_NAMES	24		/* and x0..x7.dns.test: NXDOMAIN */

struct test_row {
	const char *name;
	enum dns_status status;
	const char *txt;		/* the one record, or NULL */
	unsigned ttl;			/* ans->ttl expected */
};

struct test_worker {
	struct dns_cache *dc;
	pthread_t thr;
	int	id;
	int	bad;
};

struct fake_msg {
	unsigned char b[512];
	size_t	len;
	int	rcode, tc, an, ns, ar;
};

struct fake {
	int	fd;
	atomic_int stop;
	pthread_t thr;
};

static time_t test_now = 1000;
static char test_long[401];		/* dnsmasq sends 255 + 145 */
static char test_name253[254];		/* longest name (4 labels) */
static char test_name255[256];		/* 2 octets too long */

/* test_clock - the clock the caches under test see */

static time_t
test_clock(void)
{
	return (test_now);
}

/* test_ms - milliseconds of CLOCK_MONOTONIC */

static long
test_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000L + ts.tv_nsec / 1000000L);
}

/* test_cache - a cache on the test clock */

static struct dns_cache *
test_cache(size_t max)
{
	struct dns_cache *dc = dns_cache_new(max, TEST_TIMEOUT_MS);

	if (dc == NULL) {
		printf("Bail out! dns_cache_new failed\n");
		exit(1);
	}
	dns_cache_set_clock(dc, test_clock);
	return (dc);
}

/* test_is - the answer has this status and (if txt) this one record */

static int
test_is(const struct dns_answer *a, enum dns_status st, const char *txt)
{
	if (a->status != st)
		return (0);
	if (txt == NULL)
		return (a->n == 0 && a->txt == NULL &&
		    (st != DNS_TEMPFAIL || a->ttl == 0));
	return (a->n == 1 && strcmp(a->txt[0], txt) == 0);
}

/* test_lookup - dns_txt() that must not run out of memory */

static void
test_lookup(struct dns_cache *dc, const char *name, struct dns_answer *a)
{
	if (dns_txt(dc, name, a) != 0)
		printf("# dns_txt(%s) returned -1\n", name);
}

/* test_probe - wait until dnsmasq answers */

static int
test_probe(void)
{
	struct dns_cache *dc = test_cache(0);
	struct dns_answer a;
	int	i, up = 0;

	for (i = 0; i < 50 && !up; i++) {
		test_lookup(dc, "txt1.dns.test", &a);
		up = a.status == DNS_OK;
		dns_answer_fini(&a);
		if (!up)
			usleep(100000);
	}
	dns_cache_free(dc);
	TAP_OK(up, "dnsmasq answers on %s", TEST_ADDR);
	return (up);
}

/* test_answers - what dnsmasq serves, as dns_txt() returns it */

static void
test_answers(void)
{
	static const struct test_row rows[] = {
		{"txt1.dns.test", DNS_OK, "hello world", TEST_LOCAL_TTL},
		{"_dmarc.dns.test", DNS_OK,
		    "v=DMARC1; p=reject; rua=mailto:dmarc@dns.test",
		    TEST_LOCAL_TTL},
		{"multi.dns.test", DNS_OK, "onetwothree", TEST_LOCAL_TTL},
		{"long.dns.test", DNS_OK, test_long, TEST_LOCAL_TTL},
		{"alias.dns.test", DNS_OK, "hello world", TEST_LOCAL_TTL},
		{"nx.dns.test", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"aonly.dns.test", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{".", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"a..dns.test", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"x\\.y.dns.test", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxx.dns.test", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{test_name255, DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{test_name253, DNS_NOTFOUND, NULL, DNS_TTL_NEG},
	};
	struct dns_cache *dc = test_cache(64);
	struct dns_answer a;
	size_t	i, entries;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_lookup(dc, rows[i].name, &a);
		TAP_OK(test_is(&a, rows[i].status, rows[i].txt) &&
		    !a.cached && a.ttl == rows[i].ttl,
		    "\"%.20s\": status %d n %zu ttl %u", rows[i].name,
		    a.status, a.n, a.ttl);
		dns_answer_fini(&a);
	}
	test_lookup(dc, "two.dns.test", &a);
	TAP_OK(a.status == DNS_OK && a.n == 2 &&
	    ((strcmp(a.txt[0], "a") == 0 && strcmp(a.txt[1], "b") == 0) ||
	    (strcmp(a.txt[0], "b") == 0 && strcmp(a.txt[1], "a") == 0)),
	    "two TXT records come back as two strings");
	dns_answer_fini(&a);
	dns_answer_fini(&a);
	dns_cache_stats(dc, NULL, NULL, &entries);
	TAP_OK(entries == 9, "OK and NOTFOUND cached, bad names not (%zu)",
	    entries);
	dns_cache_free(dc);
}

/* test_again - look name up; check it comes from the cache or not */

static void
test_again(struct dns_cache *dc, const char *name, const char *txt,
    int cached, unsigned ttl, const char *what)
{
	struct dns_answer a;

	test_lookup(dc, name, &a);
	TAP_OK(test_is(&a, txt ? DNS_OK : DNS_NOTFOUND, txt) &&
	    a.cached == cached && a.ttl == ttl,
	    "%s (cached %d ttl %u)", what, a.cached, a.ttl);
	dns_answer_fini(&a);
}

/* test_ttl - hits, misses and expiry on the test clock */

static void
test_ttl(void)
{
	struct dns_cache *dc = test_cache(64);
	unsigned long hits, misses;

	test_now = 1000;
	test_again(dc, "txt1.dns.test", "hello world", 0, TEST_LOCAL_TTL,
	    "first lookup is a query");
	test_again(dc, "txt1.dns.test", "hello world", 1, TEST_LOCAL_TTL,
	    "second lookup is served from the cache");
	test_again(dc, "TXT1.Dns.Test.", "hello world", 1, TEST_LOCAL_TTL,
	    "the key ignores case and a final dot");
	dns_cache_stats(dc, &hits, &misses, NULL);
	TAP_OK(hits == 2 && misses == 1, "2 hits, 1 miss (%lu, %lu)", hits,
	    misses);
	test_now += TEST_LOCAL_TTL - 1;
	test_again(dc, "txt1.dns.test", "hello world", 1, 1,
	    "one second before expiry: cached, 1 s left");
	test_now++;
	test_again(dc, "txt1.dns.test", "hello world", 0, TEST_LOCAL_TTL,
	    "at expiry: a new query");
	dns_cache_stats(dc, &hits, &misses, NULL);
	TAP_OK(hits == 3 && misses == 2, "expired entry counts as a miss");
	test_again(dc, "nx.dns.test", NULL, 0, DNS_TTL_NEG, "NXDOMAIN: query");
	test_now += DNS_TTL_NEG - 1;
	test_again(dc, "nx.dns.test", NULL, 1, 1, "NXDOMAIN cached for 60 s");
	test_now++;
	test_again(dc, "nx.dns.test", NULL, 0, DNS_TTL_NEG,
	    "NXDOMAIN expires after 60 s");
	dns_cache_free(dc);
}

/* test_fill - look up names n<from>..n<to-1>; the largest entry count */

static size_t
test_fill(struct dns_cache *dc, int from, int to)
{
	struct dns_answer a;
	char	name[64];
	size_t	entries, most = 0;
	int	i;

	for (i = from; i < to; i++) {
		snprintf(name, sizeof(name), "n%d.dns.test", i);
		test_lookup(dc, name, &a);
		dns_answer_fini(&a);
		dns_cache_stats(dc, NULL, NULL, &entries);
		if (entries > most)
			most = entries;
	}
	return (most);
}

/* test_bound - max_entries holds; expired and soonest entries go first */

static void
test_bound(void)
{
	struct dns_cache *dc = test_cache(4);
	size_t	most, entries;

	test_now = 5000;
	most = test_fill(dc, 0, 10);
	TAP_OK(most == 4, "10 names, bound 4: at most %zu entries", most);
	dns_cache_free(dc);

	dc = test_cache(2);
	test_again(dc, "txt1.dns.test", "hello world", 0, TEST_LOCAL_TTL,
	    "bound 2: txt1 (30 s) in");
	test_again(dc, "nx.dns.test", NULL, 0, DNS_TTL_NEG,
	    "bound 2: nx (60 s) in");
	(void)test_fill(dc, 0, 1);
	test_again(dc, "nx.dns.test", NULL, 1, DNS_TTL_NEG,
	    "third name evicted the entry closest to expiry, not nx");
	test_again(dc, "txt1.dns.test", "hello world", 0, TEST_LOCAL_TTL,
	    "txt1 was the one evicted");
	dns_cache_free(dc);

	dc = test_cache(10);
	test_again(dc, "txt1.dns.test", "hello world", 0, TEST_LOCAL_TTL,
	    "bound 10: txt1 (30 s) in");
	test_now += TEST_LOCAL_TTL;
	(void)test_fill(dc, 0, 1);
	dns_cache_stats(dc, NULL, NULL, &entries);
	TAP_OK(entries == 1, "an insertion drops expired entries (%zu left)",
	    entries);
	dns_cache_free(dc);
}

/* test_worker_main - many lookups from one thread, each checked */

static void *
test_worker_main(void *arg)
{
	struct test_worker *w = arg;
	struct dns_answer a;
	char	name[64], want[16];
	int	k, i;

	for (k = 0; k < TEST_LOOKUPS; k++) {
		i = (w->id * 7 + k * 13) % TEST_NAMES;
		if (i < TEST_NAMES_OK) {
			snprintf(name, sizeof(name), "c%d.dns.test", i);
			snprintf(want, sizeof(want), "c%d", i);
		} else
			snprintf(name, sizeof(name), "x%d.dns.test",
			    i - TEST_NAMES_OK);
		if (dns_txt(w->dc, name, &a) != 0 || !test_is(&a,
		    i < TEST_NAMES_OK ? DNS_OK : DNS_NOTFOUND,
		    i < TEST_NAMES_OK ? want : NULL))
			w->bad++;
		dns_answer_fini(&a);
	}
	return (NULL);
}

/* test_threads - 8 threads share one small cache */

static void
test_threads(void)
{
	struct test_worker w[TEST_THREADS];
	struct dns_cache *dc = dns_cache_new(TEST_NAMES_OK, TEST_TIMEOUT_MS);
	unsigned long hits, misses;
	size_t	entries;
	int	i, bad = 0, started = 0;

	for (i = 0; i < TEST_THREADS; i++) {
		w[i].dc = dc;
		w[i].id = i;
		w[i].bad = 0;
		if (pthread_create(&w[i].thr, NULL, test_worker_main,
		    &w[i]) == 0)
			started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].thr, NULL);
		bad += w[i].bad;
	}
	dns_cache_stats(dc, &hits, &misses, &entries);
	TAP_OK(started == TEST_THREADS && bad == 0,
	    "%d threads x %d lookups: %d wrong answers", started,
	    TEST_LOOKUPS, bad);
	TAP_OK(hits + misses == (unsigned long)TEST_THREADS * TEST_LOOKUPS &&
	    hits > 0 && misses > 0, "hits %lu + misses %lu = every lookup",
	    hits, misses);
	TAP_OK(entries <= TEST_NAMES_OK, "bound %d held under load (%zu)",
	    TEST_NAMES_OK, entries);
	dns_cache_free(dc);
}

/* test_bind - a UDP socket on TEST_ADDR:53, or -1 */

static int
test_bind(void)
{
	struct sockaddr_in sin;
	int	fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	inet_pton(AF_INET, TEST_ADDR, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return (fd);
	close(fd);
	return (-1);
}

/* test_stop_dnsmasq - SIGTERM; a socket on its port once it has gone */

static int
test_stop_dnsmasq(pid_t pid)
{
	int	fd = -1, i;

	if (kill(pid, SIGTERM) != 0)
		printf("# kill %ld: %s\n", (long)pid, strerror(errno));
	for (i = 0; i < 100 && fd < 0; i++)
		if ((fd = test_bind()) < 0)
			usleep(50000);
	TAP_OK(fd >= 0, "dnsmasq (pid %ld) stopped, its port is free",
	    (long)pid);
	return (fd);
}

/* test_tempfail - a TEMPFAIL within the time bound, not cached */

static void
test_tempfail(struct dns_cache *dc, const char *name, const char *what)
{
	struct dns_answer a;
	unsigned long misses0, misses;
	size_t	entries0, entries1, entries;
	long	t0, ms;

	dns_cache_stats(dc, NULL, &misses0, &entries0);
	t0 = test_ms();
	test_lookup(dc, name, &a);
	ms = test_ms() - t0;
	TAP_OK(test_is(&a, DNS_TEMPFAIL, NULL) && a.ttl == 0 && !a.cached &&
	    ms < 2 * TEST_TIMEOUT_MS + 500, "%s: TEMPFAIL in %ld ms", what,
	    ms);
	dns_answer_fini(&a);
	dns_cache_stats(dc, NULL, NULL, &entries1);
	test_lookup(dc, name, &a);
	dns_cache_stats(dc, NULL, &misses, &entries);
	TAP_OK(test_is(&a, DNS_TEMPFAIL, NULL) && !a.cached &&
	    misses == misses0 + 2 && entries1 <= entries0 &&
	    entries == entries1, "%s: the TEMPFAIL was not cached", what);
	dns_answer_fini(&a);
}

/* test_outage - after dnsmasq stops: cache still serves, others fail */

static void
test_outage(pid_t pid)
{
	struct dns_cache *dc = test_cache(8);
	int	fd;

	test_now = 9000;
	test_again(dc, "txt1.dns.test", "hello world", 0, TEST_LOCAL_TTL,
	    "txt1 looked up before the outage");
	if ((fd = test_stop_dnsmasq(pid)) < 0) {
		dns_cache_free(dc);
		return;
	}
	test_now += TEST_LOCAL_TTL - 1;
	test_again(dc, "txt1.dns.test", "hello world", 1, 1,
	    "server silent: txt1 still served from the cache");
	test_tempfail(dc, "recover.fake", "server silent");
	close(fd);
	test_tempfail(dc, "recover.fake", "port closed");
	test_now++;
	test_tempfail(dc, "txt1.dns.test", "port closed, txt1 expired");
	dns_cache_free(dc);
}

/* fake_put - append octets to a reply */

static void
fake_put(struct fake_msg *m, const void *p, size_t n)
{
	if (m->len + n <= sizeof(m->b)) {
		memcpy(m->b + m->len, p, n);
		m->len += n;
	}
}

/* fake_put16 - append a 16-bit value */

static void
fake_put16(struct fake_msg *m, unsigned v)
{
	unsigned char b[2] = {v >> 8, v & 0xff};

	fake_put(m, b, 2);
}

/* fake_put32 - append a 32-bit value */

static void
fake_put32(struct fake_msg *m, unsigned long v)
{
	fake_put16(m, (v >> 16) & 0xffff);
	fake_put16(m, v & 0xffff);
}

/* fake_name - append a name as labels; with ptr, end on a pointer */

static void
fake_name(struct fake_msg *m, const char *dotted, size_t ptr)
{
	const char *dot;
	unsigned char len;

	while (*dotted != '\0') {
		dot = strchr(dotted, '.');
		len = dot ? (size_t)(dot - dotted) : strlen(dotted);
		fake_put(m, &len, 1);
		fake_put(m, dotted, len);
		dotted += len + (dot != NULL);
	}
	if (ptr != 0)
		fake_put16(m, 0xc000 | ptr);
	else
		fake_put(m, "", 1);
}

/* fake_rrtail - type, class, ttl and rdlength of a record */

static void
fake_rrtail(struct fake_msg *m, unsigned type, unsigned class,
    unsigned long ttl, unsigned rdlen)
{
	fake_put16(m, type);
	fake_put16(m, class);
	fake_put32(m, ttl);
	fake_put16(m, rdlen);
}

/* fake_rr - a record header: owner (NULL: the question), class IN */

static void
fake_rr(struct fake_msg *m, const char *owner, unsigned type,
    unsigned long ttl, unsigned rdlen)
{
	if (owner == NULL)
		fake_put16(m, 0xc000 | 12);
	else
		fake_name(m, owner, 0);
	fake_rrtail(m, type, 1, ttl, rdlen);
}

/* fake_txt - a one-string TXT record of n octets */

static void
fake_txt(struct fake_msg *m, const char *owner, const char *s, size_t n,
    unsigned long ttl)
{
	unsigned char len = n;

	fake_rr(m, owner, 16, ttl, n + 1);
	fake_put(m, &len, 1);
	fake_put(m, s, n);
	m->an++;
}

/* fake_soa - an SOA for "fake" in the authority section */

static void
fake_soa(struct fake_msg *m, unsigned long ttl, unsigned long minimum,
    size_t fixed)
{
	size_t	owner = m->len, rdlen;

	fake_name(m, "fake", 0);
	fake_rrtail(m, 6, 1, ttl, 0);
	rdlen = m->len - 2;
	fake_name(m, "ns", owner);
	fake_name(m, "hostmaster", owner);
	fake_put32(m, 1);
	fake_put32(m, 3600);
	fake_put32(m, 600);
	fake_put32(m, 86400);
	fake_put32(m, minimum);
	m->len -= 20 - fixed;			/* fixed < 20: malformed */
	m->b[rdlen] = (m->len - rdlen - 2) >> 8;
	m->b[rdlen + 1] = (m->len - rdlen - 2) & 0xff;
	m->ns++;
}

/* fake_broken - replies that must give TEMPFAIL; 0: not such a label */

static int
fake_broken(struct fake_msg *m, const char *label)
{
	if (strcmp(label, "servfail") == 0)
		m->rcode = 2;
	else if (strcmp(label, "refused") == 0)
		m->rcode = 5;
	else if (strcmp(label, "formerr") == 0)
		m->rcode = 1;
	else if (strcmp(label, "tc") == 0) {
		m->tc = 1;
		fake_txt(m, NULL, "partial", 7, 300);
	} else if (strcmp(label, "garbled") == 0) {
		fake_put16(m, 0xc000 | 12);	/* the record stops here */
		fake_put16(m, 16);
		m->an = 1;
	} else if (strcmp(label, "badtxt") == 0) {
		fake_rr(m, NULL, 16, 300, 5);	/* a 10-octet string in 4 */
		fake_put(m, "\012abcd", 5);
		m->an = 1;
	} else if (strcmp(label, "badptr") == 0) {
		fake_put16(m, 0xffff);		/* owner: beyond the end */
		fake_rrtail(m, 16, 1, 300, 2);
		fake_put(m, "\001x", 2);
		m->an = 1;
	} else if (strcmp(label, "overrun") == 0) {
		fake_rr(m, NULL, 16, 300, 200);	/* rdlength past the end */
		fake_put(m, "\001x", 2);
		m->an = 1;
	} else if (strcmp(label, "badsoa") == 0) {
		m->rcode = 3;
		fake_soa(m, 600, 300, 12);
	} else if (strcmp(label, "badvers") == 0) {
		fake_put(m, "", 1);		/* OPT, extended rcode 1 */
		fake_rrtail(m, 41, 1232, 0x01000000UL, 0);
		m->ar = 1;
	} else if (strcmp(label, "loop") == 0) {
		fake_rr(m, NULL, 5, 300, 12);
		fake_name(m, "loop2.fake", 0);
		fake_rr(m, "loop2.fake", 5, 300, 2);
		fake_put16(m, 0xc000 | 12);
		m->an = 2;
	} else
		return (0);
	return (1);
}

/* fake_cname - question CNAME target.fake (50 s), with TXT or not */

static void
fake_cname(struct fake_msg *m, int txt)
{
	size_t	target;

	fake_rr(m, NULL, 5, 50, 13);
	target = m->len;
	fake_name(m, "target.fake", 0);
	m->an++;
	fake_txt(m, "other.fake", "decoy", 5, 5);
	if (!txt) {
		fake_soa(m, 600, 300, 20);
		return;
	}
	fake_put16(m, 0xc000 | target);
	fake_rrtail(m, 16, 1, 500, 10);
	fake_put(m, "\011via cname", 10);
	m->an++;
}

/* fake_odd - valid but unusual replies; NXDOMAIN for other labels */

static void
fake_odd(struct fake_msg *m, const char *label)
{
	if (strcmp(label, "nxsoa") == 0) {
		m->rcode = 3;
		fake_soa(m, 600, 300, 20);
	} else if (strcmp(label, "nodata") == 0)
		fake_soa(m, 100, 300, 20);
	else if (strcmp(label, "cname") == 0 || strcmp(label, "cnodata") == 0)
		fake_cname(m, strcmp(label, "cname") == 0);
	else if (strcmp(label, "case") == 0)
		fake_txt(m, "CASE.FAKE", "upper", 5, 300);
	else if (strcmp(label, "nul") == 0) {
		fake_txt(m, NULL, "bad\0x", 5, 300);
		fake_txt(m, NULL, "good", 4, 300);
	} else if (strcmp(label, "bigttl") == 0)
		fake_txt(m, NULL, "x", 1, 0x80000000UL);
	else if (strcmp(label, "hugettl") == 0)
		fake_txt(m, NULL, "x", 1, 200000);
	else if (strcmp(label, "zerottl") == 0)
		fake_txt(m, NULL, "x", 1, 0);
	else if (strcmp(label, "wrongname") == 0)
		fake_txt(m, "other.fake", "nope", 4, 300);
	else if (strcmp(label, "chaos") == 0) {
		fake_put16(m, 0xc000 | 12);
		fake_rrtail(m, 16, 3, 300, 6);
		fake_put(m, "\005chaos", 6);
		m->an++;
	} else if (strcmp(label, "emptytxt") == 0) {
		fake_rr(m, NULL, 16, 300, 0);
		m->an++;
	} else if (strcmp(label, "recover") == 0)
		fake_txt(m, NULL, "back", 4, 300);
	else
		m->rcode = 3;
}

/* fake_reply - the reply to one query, by its first label; 0: none */

static int
fake_reply(const unsigned char *q, size_t n, struct fake_msg *m)
{
	char	label[64];
	size_t	off = 12, i;

	while (off < n && q[off] != 0)
		off += q[off] + 1;
	if (n <= 12 || q[12] == 0 || off + 5 > n)
		return (0);
	for (i = 0; i < q[12]; i++)
		label[i] = q[13 + i];
	label[i] = '\0';
	memset(m, 0, sizeof(*m));
	fake_put(m, q, 12);
	fake_put(m, q + 12, off + 5 - 12);
	if (!fake_broken(m, label))
		fake_odd(m, label);
	m->b[2] = 0x80 | (m->tc ? 0x02 : 0) | (q[2] & 0x01);
	m->b[3] = 0x80 | m->rcode;
	m->b[4] = 0;
	m->b[5] = 1;
	m->b[6] = 0;
	m->b[7] = m->an;
	m->b[8] = 0;
	m->b[9] = m->ns;
	m->b[10] = 0;
	m->b[11] = m->ar;
	return (1);
}

/* fake_main - answer queries until told to stop */

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct fake_msg m;
	struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
	unsigned char q[512];
	ssize_t	n;

	while (!atomic_load(&f->stop)) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fromlen = sizeof(from);
		n = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n > 0 && fake_reply(q, (size_t)n, &m))
			(void)sendto(f->fd, m.b, m.len, 0,
			    (struct sockaddr *)&from, fromlen);
	}
	return (NULL);
}

/* test_fake - broken and unusual replies from the fake server */

static void
test_fake(void)
{
	static const struct test_row rows[] = {
		{"servfail.fake", DNS_TEMPFAIL, NULL, 0},
		{"refused.fake", DNS_TEMPFAIL, NULL, 0},
		{"formerr.fake", DNS_TEMPFAIL, NULL, 0},
		{"tc.fake", DNS_TEMPFAIL, NULL, 0},
		{"garbled.fake", DNS_TEMPFAIL, NULL, 0},
		{"badtxt.fake", DNS_TEMPFAIL, NULL, 0},
		{"badptr.fake", DNS_TEMPFAIL, NULL, 0},
		{"overrun.fake", DNS_TEMPFAIL, NULL, 0},
		{"badsoa.fake", DNS_TEMPFAIL, NULL, 0},
		{"loop.fake", DNS_TEMPFAIL, NULL, 0},
		{"badvers.fake", DNS_TEMPFAIL, NULL, 0},
		{"nxsoa.fake", DNS_NOTFOUND, NULL, 300},
		{"nodata.fake", DNS_NOTFOUND, NULL, 100},
		{"nxnosoa.fake", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"cname.fake", DNS_OK, "via cname", 50},
		{"cnodata.fake", DNS_NOTFOUND, NULL, 50},
		{"case.fake", DNS_OK, "upper", 300},
		{"nul.fake", DNS_OK, "good", 300},
		{"bigttl.fake", DNS_OK, "x", DNS_TTL_MIN},
		{"hugettl.fake", DNS_OK, "x", DNS_TTL_MAX},
		{"zerottl.fake", DNS_OK, "x", DNS_TTL_MIN},
		{"wrongname.fake", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"chaos.fake", DNS_NOTFOUND, NULL, DNS_TTL_NEG},
		{"emptytxt.fake", DNS_OK, "", 300},
	};
	struct fake f = {.fd = test_bind()};
	struct dns_cache *dc;
	struct dns_answer a;
	size_t	i;

	atomic_init(&f.stop, 0);
	if (f.fd < 0 || pthread_create(&f.thr, NULL, fake_main, &f) != 0) {
		TAP_OK(0, "fake server starts on %s:53", TEST_ADDR);
		return;
	}
	dc = test_cache(64);
	test_again(dc, "recover.fake", "back", 0, 300,
	    "a server again: the name that failed is answered at once");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_lookup(dc, rows[i].name, &a);
		TAP_OK(test_is(&a, rows[i].status, rows[i].txt) &&
		    !a.cached && a.ttl == rows[i].ttl,
		    "%s: status %d n %zu ttl %u", rows[i].name, a.status, a.n,
		    a.ttl);
		dns_answer_fini(&a);
	}
	test_tempfail(dc, "servfail.fake", "SERVFAIL");
	atomic_store(&f.stop, 1);
	pthread_join(f.thr, NULL);
	close(f.fd);
	dns_cache_free(dc);
}

int
main(void)
{
	const char *e2e = getenv("EGRESS_E2E");
	const char *pid = getenv("DNS_TEST_DNSMASQ_PID");
	int	i;

	if (e2e == NULL || strcmp(e2e, "1") != 0 || geteuid() != 0) {
		printf("1..0 # SKIP needs root and dnsmasq "
		    "(run via tests/run)\n");
		return (0);
	}
	if (pid == NULL) {
		printf("1..0 # SKIP needs dnsmasq (run via dns_test.sh)\n");
		return (0);
	}
	for (i = 0; i < 400; i++)
		test_long[i] = 'a' + i % 26;
	for (i = 0; i < 255; i++)
		test_name255[i] = i % 64 == 63 ? '.' : 'n';
	memcpy(test_name253, test_name255, 253);
	if (test_probe()) {
		test_answers();
		test_ttl();
		test_bound();
		test_threads();
		test_outage((pid_t)atol(pid));
		test_fake();
	}
	return (tap_done());
}
