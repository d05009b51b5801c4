/*
 * NAME
 *	dns - cached TXT lookups for DMARC records and DKIM keys
 * SYNOPSIS
 *	#include "dns.h"
 *
 *	struct dns_cache *dns_cache_new(size_t max_entries, int timeout_ms);
 *	void	dns_cache_free(struct dns_cache *dc);
 *	void	dns_cache_set_clock(struct dns_cache *dc,
 *		    time_t (*now)(void));
 *	int	dns_txt(struct dns_cache *dc, const char *name,
 *		    struct dns_answer *ans);
 *	void	dns_answer_fini(struct dns_answer *ans);
 *	void	dns_cache_stats(const struct dns_cache *dc,
 *		    unsigned long *hits, unsigned long *misses,
 *		    size_t *entries);
 *
 *	#include "dns_int.h"
 *
 *	int	dns_parse_reply(const unsigned char *msg, int len,
 *		    const char *key, struct dns_answer *ans);
 * DESCRIPTION
 *	dns_txt() returns the TXT RRset of name. The character-strings of
 *	each record are joined into one string. A CNAME chain in the reply
 *	is followed (at most DNS_CHAIN_MAX links). ans->ttl is the smallest
 *	TTL of the RRset and of the CNAMEs leading to it; for DNS_NOTFOUND
 *	(NXDOMAIN, or no TXT record: NODATA) it is the smaller of the TTL
 *	and MINIMUM of the SOA in the authority section (RFC 2308), or
 *	DNS_TTL_NEG without one. TTLs with the high bit set count as 0
 *	(RFC 2181); the result is clamped to DNS_TTL_MIN..DNS_TTL_MAX. A
 *	cached answer reports the time it has left. A record holding a NUL
 *	octet cannot be a C string and is left out of the RRset.
 *
 *	A failure is never an answer: a timeout, SERVFAIL, REFUSED or any
 *	other error code (EDNS0 extended codes too), a network error, a
 *	truncated (TC) reply, and any malformed part of a reply (section,
 *	name, TXT string, SOA, a CNAME chain that is too long) give
 *	DNS_TEMPFAIL, ttl 0, and nothing is cached. A name that cannot
 *	exist (empty, over 253 octets, an empty label or one over 63
 *	octets, a backslash) is DNS_NOTFOUND at once, not queried, not
 *	cached.
 *
 *	Queries are made with res_nmkquery() and res_nsend(), not
 *	res_nquery(), which hides the reply to NXDOMAIN and NODATA (its SOA
 *	sets the negative TTL). Each thread has its own struct __res_state,
 *	made by res_ninit() at its first lookup with a cache (so from
 *	/etc/resolv.conf as it is then; a reload makes a new cache) and
 *	closed when the thread exits. The query carries an
 *	EDNS0 OPT record offering DNS_EDNS_SIZE octets over UDP. RES_IGNTC
 *	is set and RES_USEVC cleared: glibc's TCP path has no timeout at
 *	all, so a truncated reply is DNS_TEMPFAIL instead of a TCP retry,
 *	and an RRset too large for one EDNS0 datagram cannot be fetched.
 *
 *	Time bound: retry = 1 and retrans = max(1, timeout_ms / (1000 * N))
 *	seconds (integer division), N being the number of name servers in
 *	resolv.conf (1..3); its "timeout:" and "attempts:" are overridden.
 *	glibc waits retrans seconds for server 0 and max(1, (retrans << i)
 *	/ N) for server i, which sums to at most N * retrans. So one lookup
 *	takes at most N * max(1, floor(timeout_ms / (1000 * N))) seconds:
 *	no more than timeout_ms when timeout_ms >= 1000 * N, else N
 *	seconds. A server that refuses (ICMP) is given up at once.
 *
 *	The cache keys on the name in lower case without a final dot.
 *	DNS_OK and DNS_NOTFOUND answers are kept until now + ttl, "now"
 *	being CLOCK_MONOTONIC seconds, or what the function given to
 *	dns_cache_set_clock() returns (tests; NULL restores the default;
 *	set it before the cache is shared). At most max_entries entries are
 *	kept (0 turns the cache off): a hash table finds them, a binary
 *	min-heap orders them by expiry. Before each insertion the expired
 *	entries are dropped and then, while the cache is full, the entry
 *	closest to expiry; both are the root of the heap, O(log n) each.
 *	An entry holds at most one reply's data (under 64 KiB).
 *
 *	dns_parse_reply() is the parser dns_txt() applies to the reply of
 *	len octets at msg to its query for key (a name as the cache keys
 *	it: lower case, no final dot): ans is set as dns_txt() would set
 *	it before caching, never marked cached. It is internal (tests, the
 *	fuzz harness); it reads only msg[0 .. len - 1].
 *
 *	One mutex guards the table, the heap and the counters. It is held
 *	to find an entry and copy a hit out, and to insert, never during a
 *	query; two threads that miss the same name both query, and the
 *	later answer replaces the earlier one.
 * OWNERSHIP
 *	dns_cache_free() frees every entry and the calling thread's
 *	resolver state; other threads' states are freed when they exit, or
 *	at their next lookup with a newer cache. The caller owns *ans:
 *	dns_txt() overwrites it without freeing, dns_answer_fini() frees
 *	the strings (and may be called again). Cached data is copied out.
 * DIAGNOSTICS
 *	dns_txt() and dns_parse_reply() return -1 when memory runs out
 *	(ans is then an empty DNS_TEMPFAIL), else 0; an answer that cannot
 *	be cached for lack of memory is still returned; a thread whose
 *	resolver state cannot be set up gets DNS_TEMPFAIL. dns_cache_new()
 *	returns NULL when memory or a pthread key runs out. Nothing here
 *	logs or exits.
 * SEE ALSO
 *	resolver(3), resolv.conf(5), RFC 1035, RFC 2181, RFC 2308, RFC 6891
 */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <pthread.h>
#include <stdatomic.h>
#include <resolv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns.h"
#include "dns_int.h"

#define DNS_NAME_MAX	253		/* text form, without a final dot */
#define DNS_LABEL_MAX	63
#define DNS_CHAIN_MAX	8		/* CNAME links followed */
#define DNS_EDNS_SIZE	1232		/* UDP payload we offer */
#define DNS_OPT_LEN	11		/* the OPT record we append */
#define DNS_REPLY_MAX	65536
#define DNS_SOA_FIXED	20		/* serial .. minimum */
#define DNS_BUCKETS_MAX	((size_t)1 << 24)

#define DNS_NOMEM	(-1)		/* internal results */
#define DNS_BAD		(-2)

struct dns_entry {
	struct dns_entry *de_next;	/* hash chain, or list to free */
	char	*de_name;		/* the key */
	uint32_t de_hash;
	size_t	de_heap;		/* index in dc_heap */
	time_t	de_expires;
	enum dns_status de_status;
	size_t	de_n;
	char  **de_txt;
};

struct dns_tres {			/* a thread's resolver state */
	struct __res_state tr_rs;
	unsigned long tr_gen;		/* made for this cache */
};

/*
 * One key for every cache: a connection thread lives on after its
 * connection, and a key deleted with its cache would leave the states of
 * such threads behind.
 */
static pthread_key_t dns_res_key;
static pthread_once_t dns_res_once = PTHREAD_ONCE_INIT;
static int dns_res_key_ok;
static atomic_ulong dns_gens;

struct dns_cache {
	pthread_mutex_t dc_lock;	/* guards the fields below dc_max */
	unsigned long dc_gen;		/* which cache a thread's state is for */
	int	dc_timeout_ms;
	time_t	(*dc_now)(void);
	size_t	dc_max;
	struct dns_entry **dc_buckets;
	size_t	dc_mask;		/* bucket count - 1 */
	struct dns_entry **dc_heap;	/* min-heap by de_expires */
	size_t	dc_count;
	unsigned long dc_hits;
	unsigned long dc_misses;
};

static time_t dns_clock(void);
static int dns_key(const char *name, char *key);
static uint32_t dns_hash(const char *key);
static unsigned dns_ttl_min(unsigned ttl, unsigned long wire);
static char **dns_strv_dup(char *const *src, size_t n);
static void dns_strv_free(char **v, size_t n);
static struct dns_entry *dns_entry_new(const char *key, uint32_t hash,
	    const struct dns_answer *ans);
static void dns_entry_free(struct dns_entry *e);
static int dns_entry_copy(const struct dns_entry *e, time_t now,
	    struct dns_answer *ans);
static void dns_heap_swap(struct dns_cache *dc, size_t i, size_t j);
static void dns_heap_up(struct dns_cache *dc, size_t i);
static void dns_heap_down(struct dns_cache *dc, size_t i);
static struct dns_entry *dns_cache_find(const struct dns_cache *dc,
	    const char *key, uint32_t hash);
static void dns_cache_link(struct dns_cache *dc, struct dns_entry *e);
static void dns_cache_unlink(struct dns_cache *dc, struct dns_entry *e);
static int dns_cache_get(struct dns_cache *dc, const char *key,
	    uint32_t hash, struct dns_answer *ans);
static void dns_cache_put(struct dns_cache *dc, const char *key,
	    uint32_t hash, const struct dns_answer *ans);
static void dns_res_destroy(void *arg);
static void dns_res_key_make(void);
static struct __res_state *dns_res_get(struct dns_cache *dc);
static int dns_query(struct dns_cache *dc, const char *key,
	    struct dns_answer *ans);
static int dns_query_opt(unsigned char *q, int qlen);
static int dns_parse_opt(ns_msg *m);
static int dns_parse_chain(ns_msg *m, const char *key, char *target,
	    unsigned *ttl);
static int dns_parse_txt(ns_msg *m, const char *target, unsigned ttl,
	    struct dns_answer *ans);
static int dns_parse_negative(ns_msg *m, unsigned ttl,
	    struct dns_answer *ans);
static int dns_soa_ttl(const ns_rr *rr, unsigned *ttl);
static int dns_txt_join(const unsigned char *rd, size_t rdlen, char **out);

/* dns_cache_new - empty cache of at most max_entries answers */

struct dns_cache *
dns_cache_new(size_t max_entries, int timeout_ms)
{
	struct dns_cache *dc;
	size_t	nb = 16;

	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return (NULL);
	while (nb < max_entries && nb < DNS_BUCKETS_MAX)
		nb <<= 1;
	dc->dc_timeout_ms = timeout_ms;
	dc->dc_now = dns_clock;
	dc->dc_max = max_entries;
	dc->dc_mask = nb - 1;
	dc->dc_buckets = calloc(nb, sizeof(*dc->dc_buckets));
	dc->dc_heap = calloc(max_entries ? max_entries : 1,
	    sizeof(*dc->dc_heap));
	if (dc->dc_buckets == NULL || dc->dc_heap == NULL)
		goto fail;
	if (pthread_once(&dns_res_once, dns_res_key_make) != 0 ||
	    !dns_res_key_ok)
		goto fail;
	if (pthread_mutex_init(&dc->dc_lock, NULL) != 0)
		goto fail;
	dc->dc_gen = atomic_fetch_add(&dns_gens, 1) + 1;
	return (dc);
fail:
	free(dc->dc_buckets);
	free(dc->dc_heap);
	free(dc);
	return (NULL);
}

/* dns_cache_free - free every entry and this thread's resolver */

void
dns_cache_free(struct dns_cache *dc)
{
	struct dns_tres *tr;
	size_t	i;

	if (dc == NULL)
		return;
	for (i = 0; i < dc->dc_count; i++)
		dns_entry_free(dc->dc_heap[i]);
	if ((tr = pthread_getspecific(dns_res_key)) != NULL) {
		(void)pthread_setspecific(dns_res_key, NULL);
		dns_res_destroy(tr);
	}
	(void)pthread_mutex_destroy(&dc->dc_lock);
	free(dc->dc_buckets);
	free(dc->dc_heap);
	free(dc);
}

/* dns_cache_set_clock - use another clock (tests); NULL: the default */

void
dns_cache_set_clock(struct dns_cache *dc, time_t (*now)(void))
{
	dc->dc_now = now != NULL ? now : dns_clock;
}

/* dns_cache_stats - hit and miss counts, entries held (maybe expired) */

void
dns_cache_stats(const struct dns_cache *dc, unsigned long *hits,
    unsigned long *misses, size_t *entries)
{
	/* The lock is not part of the cache's value. */
	pthread_mutex_t *lock = (pthread_mutex_t *)&dc->dc_lock;

	(void)pthread_mutex_lock(lock);
	if (hits != NULL)
		*hits = dc->dc_hits;
	if (misses != NULL)
		*misses = dc->dc_misses;
	if (entries != NULL)
		*entries = dc->dc_count;
	(void)pthread_mutex_unlock(lock);
}

/* dns_answer_fini - free the strings of an answer */

void
dns_answer_fini(struct dns_answer *ans)
{
	dns_strv_free(ans->txt, ans->n);
	ans->txt = NULL;
	ans->n = 0;
}

/* dns_txt - the TXT RRset of name, from the cache or the resolver */

int
dns_txt(struct dns_cache *dc, const char *name, struct dns_answer *ans)
{
	char	key[DNS_NAME_MAX + 1];
	uint32_t hash;
	int	rc;

	memset(ans, 0, sizeof(*ans));
	ans->status = DNS_TEMPFAIL;
	if (dns_key(name, key) < 0) {
		ans->status = DNS_NOTFOUND;
		ans->ttl = DNS_TTL_NEG;
		return (0);
	}
	hash = dns_hash(key);
	if ((rc = dns_cache_get(dc, key, hash, ans)) != 0)
		return (rc < 0 ? -1 : 0);
	if (dns_query(dc, key, ans) < 0)
		return (-1);
	if (ans->status != DNS_TEMPFAIL)
		dns_cache_put(dc, key, hash, ans);
	return (0);
}

/* dns_clock - seconds of CLOCK_MONOTONIC */

static time_t
dns_clock(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return (0);
	return (ts.tv_sec);
}

/* dns_key - validate name; its lower-case form without a final dot */

static int
dns_key(const char *name, char *key)
{
	size_t	len = strnlen(name, DNS_NAME_MAX + 2), i, label = 0;
	char	c;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return (-1);
	for (i = 0; i < len; i++) {
		if ((c = name[i]) == '\\')
			return (-1);
		if (c == '.' && label == 0)
			return (-1);
		label = c == '.' ? 0 : label + 1;
		if (label > DNS_LABEL_MAX)
			return (-1);
		key[i] = c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
	}
	key[len] = '\0';
	return (label == 0 ? -1 : 0);
}

/* dns_hash - FNV-1a of a key */

static uint32_t
dns_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return (h);
}

/* dns_ttl_min - the smaller of ttl and a TTL from the wire, clamped */

static unsigned
dns_ttl_min(unsigned ttl, unsigned long wire)
{
	if (wire > 0x7fffffffUL)		/* RFC 2181 8: means zero */
		wire = 0;
	if (wire < DNS_TTL_MIN)
		wire = DNS_TTL_MIN;
	if (wire > DNS_TTL_MAX)
		wire = DNS_TTL_MAX;
	return (wire < ttl ? (unsigned)wire : ttl);
}

/* dns_strv_dup - copy n strings */

static char **
dns_strv_dup(char *const *src, size_t n)
{
	char  **v;
	size_t	i;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		return (NULL);
	for (i = 0; i < n; i++) {
		if ((v[i] = strdup(src[i])) == NULL) {
			dns_strv_free(v, i);
			return (NULL);
		}
	}
	return (v);
}

/* dns_strv_free - free n strings and their array */

static void
dns_strv_free(char **v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* dns_entry_new - cache entry holding a copy of an answer */

static struct dns_entry *
dns_entry_new(const char *key, uint32_t hash, const struct dns_answer *ans)
{
	struct dns_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	if ((e->de_name = strdup(key)) == NULL ||
	    (ans->n > 0 &&
	    (e->de_txt = dns_strv_dup(ans->txt, ans->n)) == NULL)) {
		dns_entry_free(e);
		return (NULL);
	}
	e->de_n = ans->n;
	e->de_hash = hash;
	e->de_status = ans->status;
	return (e);
}

/* dns_entry_free - free an entry that is in no table */

static void
dns_entry_free(struct dns_entry *e)
{
	if (e == NULL)
		return;
	dns_strv_free(e->de_txt, e->de_n);
	free(e->de_name);
	free(e);
}

/* dns_entry_copy - answer from a cache entry; 1, or DNS_NOMEM */

static int
dns_entry_copy(const struct dns_entry *e, time_t now, struct dns_answer *ans)
{
	if (e->de_n > 0 && (ans->txt = dns_strv_dup(e->de_txt,
	    e->de_n)) == NULL)
		return (DNS_NOMEM);
	ans->n = e->de_n;
	ans->status = e->de_status;
	ans->ttl = dns_ttl_min(DNS_TTL_MAX, (unsigned long)(e->de_expires -
	    now));
	ans->cached = 1;
	return (1);
}

/* dns_heap_swap - exchange two heap slots */

static void
dns_heap_swap(struct dns_cache *dc, size_t i, size_t j)
{
	struct dns_entry *e = dc->dc_heap[i];

	dc->dc_heap[i] = dc->dc_heap[j];
	dc->dc_heap[j] = e;
	dc->dc_heap[i]->de_heap = i;
	dc->dc_heap[j]->de_heap = j;
}

/* dns_heap_up - move slot i towards the root while it expires sooner */

static void
dns_heap_up(struct dns_cache *dc, size_t i)
{
	size_t	parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (dc->dc_heap[parent]->de_expires <=
		    dc->dc_heap[i]->de_expires)
			break;
		dns_heap_swap(dc, i, parent);
		i = parent;
	}
}

/* dns_heap_down - move slot i away from the root while it expires later */

static void
dns_heap_down(struct dns_cache *dc, size_t i)
{
	size_t	child;

	while ((child = 2 * i + 1) < dc->dc_count) {
		if (child + 1 < dc->dc_count &&
		    dc->dc_heap[child + 1]->de_expires <
		    dc->dc_heap[child]->de_expires)
			child++;
		if (dc->dc_heap[i]->de_expires <=
		    dc->dc_heap[child]->de_expires)
			break;
		dns_heap_swap(dc, i, child);
		i = child;
	}
}

/* dns_cache_find - the entry for key, or NULL (lock held) */

static struct dns_entry *
dns_cache_find(const struct dns_cache *dc, const char *key, uint32_t hash)
{
	struct dns_entry *e;

	for (e = dc->dc_buckets[hash & dc->dc_mask]; e != NULL;
	    e = e->de_next)
		if (e->de_hash == hash && strcmp(e->de_name, key) == 0)
			return (e);
	return (NULL);
}

/* dns_cache_link - add an entry to the table and the heap (lock held) */

static void
dns_cache_link(struct dns_cache *dc, struct dns_entry *e)
{
	struct dns_entry **b = &dc->dc_buckets[e->de_hash & dc->dc_mask];

	e->de_next = *b;
	*b = e;
	e->de_heap = dc->dc_count;
	dc->dc_heap[dc->dc_count++] = e;
	dns_heap_up(dc, e->de_heap);
}

/* dns_cache_unlink - take an entry out of the table and heap (lock held) */

static void
dns_cache_unlink(struct dns_cache *dc, struct dns_entry *e)
{
	struct dns_entry **pp = &dc->dc_buckets[e->de_hash & dc->dc_mask];
	size_t	i = e->de_heap;

	while (*pp != e)
		pp = &(*pp)->de_next;
	*pp = e->de_next;
	e->de_next = NULL;
	if (i == --dc->dc_count)
		return;
	dc->dc_heap[i] = dc->dc_heap[dc->dc_count];
	dc->dc_heap[i]->de_heap = i;
	dns_heap_up(dc, i);
	dns_heap_down(dc, i);
}

/* dns_cache_get - copy a live entry out: 1 hit, 0 miss, DNS_NOMEM */

static int
dns_cache_get(struct dns_cache *dc, const char *key, uint32_t hash,
    struct dns_answer *ans)
{
	struct dns_entry *e, *stale = NULL;
	time_t	now = dc->dc_now();
	int	rc = 0;

	(void)pthread_mutex_lock(&dc->dc_lock);
	e = dns_cache_find(dc, key, hash);
	if (e != NULL && e->de_expires <= now) {
		dns_cache_unlink(dc, e);
		stale = e;
		e = NULL;
	}
	if (e == NULL)
		dc->dc_misses++;
	else {
		dc->dc_hits++;
		rc = dns_entry_copy(e, now, ans);
	}
	(void)pthread_mutex_unlock(&dc->dc_lock);
	dns_entry_free(stale);
	return (rc);
}

/* dns_cache_put - remember an answer, dropping expired and old entries */

static void
dns_cache_put(struct dns_cache *dc, const char *key, uint32_t hash,
    const struct dns_answer *ans)
{
	struct dns_entry *ne, *e, *dead = NULL;
	time_t	now;

	if (dc->dc_max == 0 || (ne = dns_entry_new(key, hash, ans)) == NULL)
		return;
	now = dc->dc_now();
	ne->de_expires = now + ans->ttl;
	(void)pthread_mutex_lock(&dc->dc_lock);
	if ((e = dns_cache_find(dc, key, hash)) != NULL) {
		dns_cache_unlink(dc, e);
		e->de_next = dead;
		dead = e;
	}
	while (dc->dc_count > 0 && (dc->dc_count >= dc->dc_max ||
	    dc->dc_heap[0]->de_expires <= now)) {
		e = dc->dc_heap[0];
		dns_cache_unlink(dc, e);
		e->de_next = dead;
		dead = e;
	}
	dns_cache_link(dc, ne);
	(void)pthread_mutex_unlock(&dc->dc_lock);
	while ((e = dead) != NULL) {
		dead = e->de_next;
		dns_entry_free(e);
	}
}

/* dns_res_destroy - close and free one thread's resolver state */

static void
dns_res_destroy(void *arg)
{
	struct dns_tres *tr = arg;

	res_nclose(&tr->tr_rs);
	free(tr);
}

/* dns_res_key_make - the key of every thread's resolver state (once) */

static void
dns_res_key_make(void)
{
	dns_res_key_ok = pthread_key_create(&dns_res_key,
	    dns_res_destroy) == 0;
}

/*
 * dns_res_get - this thread's resolver state, made at its first lookup
 * with this cache (a new config has a new cache: /etc/resolv.conf is read
 * again)
 */
static struct __res_state *
dns_res_get(struct dns_cache *dc)
{
	struct dns_tres *tr;
	struct __res_state *rs;
	int	n, secs;

	if ((tr = pthread_getspecific(dns_res_key)) != NULL &&
	    tr->tr_gen == dc->dc_gen)
		return (&tr->tr_rs);
	if (tr != NULL) {		/* made for an older config */
		(void)pthread_setspecific(dns_res_key, NULL);
		dns_res_destroy(tr);
	}
	if ((tr = calloc(1, sizeof(*tr))) == NULL)
		return (NULL);
	rs = &tr->tr_rs;
	if (res_ninit(rs) != 0) {
		free(tr);
		return (NULL);
	}
	if (pthread_setspecific(dns_res_key, tr) != 0) {
		dns_res_destroy(tr);
		return (NULL);
	}
	tr->tr_gen = dc->dc_gen;
	n = rs->nscount > 0 ? rs->nscount : 1;
	secs = dc->dc_timeout_ms / 1000 / n;
	rs->retrans = secs > 1 ? secs : 1;
	rs->retry = 1;
	rs->options |= RES_IGNTC;
	rs->options &= ~RES_USEVC;
	return (rs);
}

/* dns_query - ask the name servers; 0 (ans filled in) or DNS_NOMEM */

static int
dns_query(struct dns_cache *dc, const char *key, struct dns_answer *ans)
{
	struct __res_state *rs;
	unsigned char q[NS_PACKETSZ], *r;
	int	qlen, rlen, rc = 0;

	if ((rs = dns_res_get(dc)) == NULL)
		return (0);
	qlen = res_nmkquery(rs, ns_o_query, key, ns_c_in, ns_t_txt, NULL, 0,
	    NULL, q, sizeof(q) - DNS_OPT_LEN);
	if (qlen < NS_HFIXEDSZ)
		return (0);
	qlen = dns_query_opt(q, qlen);
	if ((r = malloc(DNS_REPLY_MAX)) == NULL)
		return (DNS_NOMEM);
	rlen = res_nsend(rs, q, qlen, r, DNS_REPLY_MAX);
	if (rlen >= NS_HFIXEDSZ && rlen <= DNS_REPLY_MAX)
		rc = dns_parse_reply(r, rlen, key, ans);
	free(r);
	return (rc);
}

/* dns_query_opt - append an EDNS0 OPT record to a query; new length */

static int
dns_query_opt(unsigned char *q, int qlen)
{
	static const unsigned char opt[DNS_OPT_LEN] = {
		0,				/* owner: the root */
		0, ns_t_opt,			/* type OPT */
		DNS_EDNS_SIZE >> 8, DNS_EDNS_SIZE & 0xff, /* payload */
		0, 0, 0, 0,			/* rcode, version, flags */
		0, 0				/* no options */
	};

	memcpy(q + qlen, opt, sizeof(opt));
	q[10] = 0;				/* ARCOUNT = 1 */
	q[11] = 1;
	return (qlen + DNS_OPT_LEN);
}

/* dns_parse_reply - answer from a reply; 0, or DNS_NOMEM */

int
dns_parse_reply(const unsigned char *msg, int len, const char *key,
    struct dns_answer *ans)
{
	ns_msg	m;
	char	target[NS_MAXDNAME];
	unsigned ttl = DNS_TTL_MAX;
	int	rcode, rc;

	memset(ans, 0, sizeof(*ans));
	ans->status = DNS_TEMPFAIL;
	if (ns_initparse(msg, len, &m) < 0 || !ns_msg_getflag(m, ns_f_qr) ||
	    ns_msg_getflag(m, ns_f_tc))
		return (0);
	rcode = ns_msg_getflag(m, ns_f_rcode);
	if (rcode != ns_r_noerror && rcode != ns_r_nxdomain)
		return (0);
	if (dns_parse_opt(&m) < 0 ||
	    dns_parse_chain(&m, key, target, &ttl) < 0)
		return (0);
	rc = rcode == ns_r_noerror ? dns_parse_txt(&m, target, ttl, ans) : 0;
	if (rc == 0)
		rc = dns_parse_negative(&m, ttl, ans);
	return (rc == DNS_NOMEM ? DNS_NOMEM : 0);
}

/* dns_parse_opt - DNS_BAD if an OPT record has an extended error code */

static int
dns_parse_opt(ns_msg *m)
{
	ns_rr	rr;
	int	i, n = ns_msg_count(*m, ns_s_ar);

	for (i = 0; i < n; i++) {
		if (ns_parserr(m, ns_s_ar, i, &rr) < 0)
			return (DNS_BAD);
		if (ns_rr_type(rr) == ns_t_opt && (ns_rr_ttl(rr) >> 24) != 0)
			return (DNS_BAD);	/* e.g. BADVERS */
	}
	return (0);
}

/* dns_parse_chain - follow CNAMEs from key to target; 0 or DNS_BAD */

static int
dns_parse_chain(ns_msg *m, const char *key, char *target, unsigned *ttl)
{
	ns_rr	rr;
	unsigned char wire[NS_MAXCDNAME];
	int	i, n = ns_msg_count(*m, ns_s_an), links;

	/* The text form that ns_parserr() gives owners, for strcasecmp(). */
	if (ns_name_pton(key, wire, sizeof(wire)) < 0 ||
	    ns_name_ntop(wire, target, NS_MAXDNAME) < 0)
		return (DNS_BAD);
	for (links = 0;; links++) {
		for (i = 0; i < n; i++) {
			if (ns_parserr(m, ns_s_an, i, &rr) < 0)
				return (DNS_BAD);
			if (ns_rr_type(rr) == ns_t_cname &&
			    ns_rr_class(rr) == ns_c_in &&
			    strcasecmp(ns_rr_name(rr), target) == 0)
				break;
		}
		if (i == n)
			return (0);
		if (links == DNS_CHAIN_MAX ||
		    ns_name_uncompress(ns_msg_base(*m), ns_msg_end(*m),
		    ns_rr_rdata(rr), target, NS_MAXDNAME) != ns_rr_rdlen(rr))
			return (DNS_BAD);
		*ttl = dns_ttl_min(*ttl, ns_rr_ttl(rr));
	}
}

/* dns_parse_txt - the TXT records of target; how many, or DNS_NOMEM/BAD */

static int
dns_parse_txt(ns_msg *m, const char *target, unsigned ttl,
    struct dns_answer *ans)
{
	ns_rr	rr;
	char  **v;
	int	i, rc, an = ns_msg_count(*m, ns_s_an);
	size_t	n = 0;

	if (an == 0)
		return (0);
	if ((v = calloc(an, sizeof(*v))) == NULL)
		return (DNS_NOMEM);
	for (i = 0; i < an; i++) {
		rc = DNS_BAD;
		if (ns_parserr(m, ns_s_an, i, &rr) < 0)
			goto fail;
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in ||
		    strcasecmp(ns_rr_name(rr), target) != 0)
			continue;
		if ((rc = dns_txt_join(ns_rr_rdata(rr), ns_rr_rdlen(rr),
		    &v[n])) < 0)
			goto fail;
		if (v[n] == NULL)
			continue;		/* has a NUL: left out */
		ttl = dns_ttl_min(ttl, ns_rr_ttl(rr));
		n++;
	}
	if (n == 0) {
		free(v);
		return (0);
	}
	ans->status = DNS_OK;
	ans->txt = v;
	ans->n = n;
	ans->ttl = ttl;
	return ((int)n);
fail:
	dns_strv_free(v, n);
	return (rc);
}

/* dns_parse_negative - NOTFOUND with the SOA's TTL; 0 or DNS_BAD */

static int
dns_parse_negative(ns_msg *m, unsigned ttl, struct dns_answer *ans)
{
	ns_rr	rr;
	int	i, n = ns_msg_count(*m, ns_s_ns);
	unsigned neg = DNS_TTL_NEG;

	for (i = 0; i < n; i++) {
		if (ns_parserr(m, ns_s_ns, i, &rr) < 0)
			return (DNS_BAD);
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_class(rr) != ns_c_in)
			continue;
		if (dns_soa_ttl(&rr, &neg) < 0)
			return (DNS_BAD);
		break;
	}
	ans->status = DNS_NOTFOUND;
	ans->ttl = dns_ttl_min(ttl, neg);
	return (0);
}

/* dns_soa_ttl - min(TTL, MINIMUM) of an SOA record; 0 or DNS_BAD */

static int
dns_soa_ttl(const ns_rr *rr, unsigned *ttl)
{
	const unsigned char *p = ns_rr_rdata(*rr);
	const unsigned char *end = p + ns_rr_rdlen(*rr);
	int	i, len;

	for (i = 0; i < 2; i++) {		/* MNAME, RNAME */
		if ((len = dn_skipname(p, end)) < 0)
			return (DNS_BAD);
		p += len;
	}
	if (end - p != DNS_SOA_FIXED)
		return (DNS_BAD);
	*ttl = dns_ttl_min(dns_ttl_min(DNS_TTL_MAX, ns_rr_ttl(*rr)),
	    ns_get32(p + DNS_SOA_FIXED - 4));
	return (0);
}

/* dns_txt_join - one TXT record's strings joined; NULL if it has a NUL */

static int
dns_txt_join(const unsigned char *rd, size_t rdlen, char **out)
{
	size_t	i, len, o = 0;
	char	*s;

	*out = NULL;
	for (i = 0; i < rdlen; i += 1 + rd[i])
		if (rd[i] > rdlen - i - 1)
			return (DNS_BAD);
	if ((s = malloc(rdlen + 1)) == NULL)
		return (DNS_NOMEM);
	for (i = 0; i < rdlen; i += 1 + len) {
		len = rd[i];
		memcpy(s + o, rd + i + 1, len);
		o += len;
	}
	s[o] = '\0';
	if (memchr(s, '\0', o) != NULL) {
		free(s);
		return (0);
	}
	*out = s;
	return (0);
}
