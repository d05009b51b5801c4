/*
 * NAME
 *	rl - rate limits: rules, keys, and what a message has taken
 * SYNOPSIS
 *	#include "rl.h"
 *
 *	int	rl_parse_per(const char *text, unsigned char *parts,
 *		    size_t *nparts, char *err, size_t errlen);
 *	int	rl_parse_rates(const char *text, long burst,
 *		    struct cfg_rate *rates, size_t *nrates, char *err,
 *		    size_t errlen);
 *	const char *rl_part_name(int part);
 *	int	rl_at_eoh_only(const struct cfg_limit *l);
 *
 *	struct rl_backend *rl_backend_open(const struct cfg *cf, char *err,
 *		    size_t errlen);
 *	void	rl_backend_free(struct rl_backend *b);
 *
 *	struct rl *rl_new(size_t max_keys);
 *	void	rl_free(struct rl *rl);
 *	void	rl_attach(struct rl *rl, struct cfg *cf);
 *	void	rl_set_clock(struct rl *rl, int64_t (*now_us)(void));
 *	int64_t	rl_now(const struct rl *rl);
 *
 *	enum verdict rl_check_rcpt(struct txn *tx, const char *rcpt);
 *	enum verdict rl_check_eoh(struct txn *tx);
 *	int	rl_take_warmup(struct txn *tx, const struct cfg_egress *e);
 *	void	rl_commit(struct txn *tx);
 *	void	rl_release(struct txn *tx);
 * DESCRIPTION
 *	A limit (struct cfg_limit) counts messages or recipients per a
 *	combination of parts (tenant, login, sender_domain, from_domain,
 *	rcpt_domain, egress) at one or more rates, each a GCRA bucket.
 *	Global limits apply to every tenant; a tenant's own limit of the
 *	same name replaces (or, with enabled = false, removes) a global one
 *	for that tenant, and a tenant's limits count that tenant only.
 *
 *	A limit is checked as soon as all its parts are known: at RCPT when
 *	the tenant came from the login or the client network (each
 *	recipient over a limit gets 451 4.7.1, the others go on), else at
 *	end of headers (the message gets 451 4.7.1). Tokens are taken when
 *	checked, so concurrent messages cannot overspend, and given back by
 *	rl_release() unless rl_commit() saw the message accepted: only
 *	accepted mail spends a budget.
 *
 *	With the Redis backend every check is one round trip. When Redis
 *	cannot answer, each limit's on_failure decides: local (the
 *	in-memory buckets of this relay), tempfail (451 4.3.0) or accept.
 *	A dry-run limit only logs what it would have refused.
 *
 *	rl_take_warmup() takes one message from an egress's warm-up budget
 *	for the current UTC day: 0 means the egress has reached today's cap.
 *
 *	The runtime (struct rl) holds the in-memory buckets and the clock;
 *	it outlives config snapshots, so counters survive a reload. Each
 *	snapshot borrows it (cf_rl) and owns its Redis connection.
 * OWNERSHIP
 *	What a message took lives in the txn (t_rl) until rl_release().
 * DIAGNOSTICS
 *	Parsers return -1 with a message in err. Checks return a verdict
 *	with the reply text in the txn; they never exit.
 * SEE ALSO
 *	rl_mem(3), rl_redis(3), egress-milter.conf(5)
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "rl.h"
#include "rl_mem.h"
#include "txn.h"

#ifdef HAVE_HIREDIS
#include "rl_redis.h"
#endif

#define RL_WINDOW_MAX	(31LL * 86400 * 1000000)	/* µs */

struct rl {
	struct rl_mem *r_mem;
	int64_t	(*r_clock)(void);
};

static const char *const rl_part_names[RL_NPARTS] = {
	"tenant", "login", "sender_domain", "from_domain", "rcpt_domain",
	"egress"
};

/* rl_part_name - the config word for a part */

const char *
rl_part_name(int part)
{
	return (part >= 0 && part < RL_NPARTS ? rl_part_names[part] : "?");
}

/*
 * rl_at_eoh_only - a limit counted per a part known only at end of
 * headers (from_domain, egress): it never refuses a recipient at RCPT
 */
int
rl_at_eoh_only(const struct cfg_limit *l)
{
	size_t	i;

	for (i = 0; i < l->cl_nparts; i++)
		if (l->cl_parts[i] == RL_PART_FROM_DOMAIN ||
		    l->cl_parts[i] == RL_PART_EGRESS)
			return (1);
	return (0);
}

/* rl_parse_per - "tenant+rcpt_domain" into parts */

int
rl_parse_per(const char *text, unsigned char *parts, size_t *nparts,
    char *err, size_t errlen)
{
	const char *p = text, *end;
	size_t	len, i, j;

	*nparts = 0;
	do {
		end = strchr(p, '+');
		len = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < RL_NPARTS; i++)
			if (strlen(rl_part_names[i]) == len &&
			    strncmp(rl_part_names[i], p, len) == 0)
				break;
		if (i == RL_NPARTS) {
			snprintf(err, errlen, "\"%.*s\" is not one of tenant, "
			    "login, sender_domain, from_domain, rcpt_domain, "
			    "egress", (int)(len > 40 ? 40 : len), p);
			return (-1);
		}
		for (j = 0; j < *nparts; j++)
			if (parts[j] == i) {
				snprintf(err, errlen, "%s appears twice",
				    rl_part_names[i]);
				return (-1);
			}
		if (*nparts == CFG_LIMIT_PARTS) {
			snprintf(err, errlen, "at most %d parts",
			    CFG_LIMIT_PARTS);
			return (-1);
		}
		parts[(*nparts)++] = (unsigned char)i;
		p = end ? end + 1 : NULL;
	} while (p != NULL);
	return (0);
}

/* rl_parse_window - "1h", "30m", "d" into microseconds */

static int64_t
rl_parse_window(const char *p, const char *end)
{
	int64_t	n = 1, unit;
	char   *e;

	if (p < end && isdigit((unsigned char)*p)) {
		errno = 0;
		n = strtoll(p, &e, 10);
		if (errno || n < 1 || n > 1000000)
			return (-1);
		p = e;
	}
	if (end - p != 1)
		return (-1);
	switch (*p) {
	case 's': unit = 1000000; break;
	case 'm': unit = 60LL * 1000000; break;
	case 'h': unit = 3600LL * 1000000; break;
	case 'd': unit = RL_DAY_US; break;
	default: return (-1);
	}
	return (n > RL_WINDOW_MAX / unit ? -1 : n * unit);
}

/* rl_parse_rate - one "N/window" */

static int
rl_parse_rate(const char *p, const char *end, long burst,
    struct cfg_rate *r, char *err, size_t errlen)
{
	const char *slash;
	char   *e;

	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	slash = memchr(p, '/', (size_t)(end - p));
	errno = 0;
	r->cr_count = slash ? strtol(p, &e, 10) : 0;
	if (slash == NULL || e != slash || errno || r->cr_count < 1 ||
	    (r->cr_window_us = rl_parse_window(slash + 1, end)) == -1 ||
	    (size_t)(end - p) >= sizeof(r->cr_text)) {
		snprintf(err, errlen, "\"%.*s\" is not a rate like 100/1h "
		    "(a count, then s, m, h or d, at most 31d)",
		    (int)(end - p > 40 ? 40 : end - p), p);
		return (-1);
	}
	if ((r->cr_interval_us = r->cr_window_us / r->cr_count) < 1) {
		snprintf(err, errlen, "%.*s is more than one per microsecond",
		    (int)(end - p), p);
		return (-1);
	}
	r->cr_burst = burst > 0 ? burst : r->cr_count;
	snprintf(r->cr_text, sizeof(r->cr_text), "%.*s", (int)(end - p), p);
	return (0);
}

/* rl_parse_rates - "100/1m, 5000/1d" */

int
rl_parse_rates(const char *text, long burst, struct cfg_rate *rates,
    size_t *nrates, char *err, size_t errlen)
{
	const char *p = text, *end;

	*nrates = 0;
	do {
		end = strchr(p, ',');
		if (*nrates == CFG_LIMIT_RATES) {
			snprintf(err, errlen, "at most %d rates",
			    CFG_LIMIT_RATES);
			return (-1);
		}
		if (rl_parse_rate(p, end ? end : p + strlen(p), burst,
		    &rates[*nrates], err, errlen) == -1)
			return (-1);
		(*nrates)++;
		p = end ? end + 1 : NULL;
	} while (p != NULL);
	return (0);
}

#ifdef HAVE_HIREDIS
/* rl_shared_take - Redis keeps time itself */

static enum rl_status
rl_shared_take(void *st, const struct rl_req *r, size_t n, int64_t now,
    size_t *over, int64_t *retry)
{
	(void)now;
	return (rl_redis_take(st, r, n, over, retry));
}

/* rl_shared_give - a refund in Redis */

static enum rl_status
rl_shared_give(void *st, const struct rl_req *r, size_t n, int64_t now)
{
	(void)now;
	return (rl_redis_give(st, r, n));
}

/* rl_shared_up - reachable at last contact */

static int
rl_shared_up(void *st)
{
	return (rl_redis_up(st));
}

/* rl_shared_free - close every connection */

static void
rl_shared_free(void *st)
{
	rl_redis_free(st);
}
#endif

/* rl_backend_open - the shared backend a config names, or NULL */

struct rl_backend *
rl_backend_open(const struct cfg *cf, char *err, size_t errlen)
{
#ifdef HAVE_HIREDIS
	struct rl_redis_conf rc;
	struct rl_backend *b;

	if (cf->cf_rl_backend == 0)
		return (NULL);
	memset(&rc, 0, sizeof(rc));
	rc.rc_server = cf->cf_redis_server;
	rc.rc_username = cf->cf_redis_username;
	rc.rc_password = cf->cf_redis_password;
	rc.rc_db = cf->cf_redis_db;
	rc.rc_connect_timeout_ms = cf->cf_redis_connect_timeout_ms;
	rc.rc_timeout_ms = cf->cf_redis_timeout_ms;
	rc.rc_max_conns = cf->cf_redis_connections;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	if ((b->rb_state = rl_redis_new(&rc, err, errlen)) == NULL) {
		free(b);
		return (NULL);
	}
	b->rb_name = "redis";
	b->rb_take = rl_shared_take;
	b->rb_give = rl_shared_give;
	b->rb_up = rl_shared_up;
	b->rb_free = rl_shared_free;
	return (b);
#else
	if (cf->cf_rl_backend != 0)
		snprintf(err, errlen, "this egress-milter was built without "
		    "hiredis: the redis backend is not available");
	return (NULL);
#endif
}

/* rl_backend_free - close a shared backend */

void
rl_backend_free(struct rl_backend *b)
{
	if (b == NULL)
		return;
	b->rb_free(b->rb_state);
	free(b);
}

/* rl_realtime - microseconds since the epoch */

static int64_t
rl_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* rl_new - the runtime: buckets in memory and the clock */

struct rl *
rl_new(size_t max_keys)
{
	struct rl *rl;

	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return (NULL);
	if ((rl->r_mem = rl_mem_new(max_keys)) == NULL) {
		free(rl);
		return (NULL);
	}
	rl->r_clock = rl_realtime;
	return (rl);
}

/* rl_free - free the runtime (no snapshot may use it any more) */

void
rl_free(struct rl *rl)
{
	if (rl == NULL)
		return;
	rl_mem_free(rl->r_mem);
	free(rl);
}

/* rl_attach - let a snapshot use the runtime */

void
rl_attach(struct rl *rl, struct cfg *cf)
{
	cf->cf_rl = rl;
}

/* rl_set_clock - a clock for tests; NULL for the real one */

void
rl_set_clock(struct rl *rl, int64_t (*now_us)(void))
{
	rl->r_clock = now_us ? now_us : rl_realtime;
}

/* rl_now - the runtime's time in microseconds */

int64_t
rl_now(const struct rl *rl)
{
	return (rl->r_clock());
}

/* rl_local - the in-memory store */

struct rl_mem *
rl_local(struct rl *rl)
{
	return (rl->r_mem);
}
