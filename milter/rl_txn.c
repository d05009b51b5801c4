/*
 * NAME
 *	rl_txn - check a message against its limits; keep what it took
 * SYNOPSIS
 *	#include "rl.h"
 *
 *	enum verdict rl_check_rcpt(struct txn *tx, const char *rcpt);
 *	enum verdict rl_check_eoh(struct txn *tx);
 *	int	rl_take_warmup(struct txn *tx, const struct cfg_egress *e);
 *	long	rl_warmup_cap(const struct cfg_warmup *w, long day);
 *	void	rl_commit(struct txn *tx);
 *	void	rl_release(struct txn *tx);
 *	const char *rl_hold_key(const struct txn *tx, size_t i);
 * DESCRIPTION
 *	See rl(3) for the model. rl_check_rcpt() checks the limits whose
 *	parts are all known at RCPT and records the recipient's domain when
 *	it is accepted; on VERDICT_TEMPFAIL only this recipient is refused
 *	(the reply is in the txn, t_action is left alone). rl_check_eoh()
 *	checks the others, with every accepted recipient counted.
 *	A global limit counts a sender or From domain per domain only for
 *	mail of the tenant that owns it; any other tenant's mail with that
 *	domain counts under "TENANT@DOMAIN", its own bucket.
 *
 *	Tokens a message takes are kept per bucket key in tx->t_rl.
 *	rl_commit() marks the message accepted; rl_release() (called by
 *	txn_free) gives back everything unless it was.
 *
 *	rl_warmup_cap() is an egress's cap for a day (days since
 *	1970-01-01 UTC): the schedule's first cap before its start, -1 once
 *	the schedule is over (no cap). rl_take_warmup() returns 1 when the
 *	egress may take this message (a token is held), 0 when it has
 *	reached today's cap, -1 when the backend cannot answer and
 *	on_failure says tempfail.
 * OWNERSHIP
 *	t_rl and t_rdom belong to the txn; rl_release() frees them.
 * DIAGNOSTICS
 *	A key that does not fit RL_KEY_MAX, or no memory, applies on_error.
 * SEE ALSO
 *	rl(3), txn(3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "rl.h"
#include "rl_mem.h"
#include "tenant.h"
#include "txn.h"

#define RL_BATCH	32		/* buckets per round trip */

struct rl_hold {
	struct rl_req h_req;
	int	h_local;		/* in this relay's memory */
};

struct rl_rcpt_domain {
	char	rd_name[ADDR_DOMAIN_MAX];
	size_t	rd_count;
};

struct rl_batch {
	struct rl_req b_req[RL_BATCH];
	const struct cfg_limit *b_limit[RL_BATCH];
	const struct cfg_rate *b_rate[RL_BATCH];
	char	b_what[RL_BATCH][160];	/* the parts' values, for replies */
	size_t	b_n;
};

enum rl_stage {
	RL_AT_RCPT,
	RL_AT_EOH
};

/* rl_value - a part's value for this message, or NULL if it has none */

static const char *
rl_value(const struct txn *tx, int part, const char *rcpt_domain)
{
	switch (part) {
	case RL_PART_TENANT:
		return (tx->t_tenant ? tx->t_tenant->ct_name : NULL);
	case RL_PART_LOGIN:
		return (tx->t_login && *tx->t_login ? tx->t_login : NULL);
	case RL_PART_SENDER_DOMAIN:
		return (tx->t_sender_domain[0] ? tx->t_sender_domain : NULL);
	case RL_PART_FROM_DOMAIN:
		return (tx->t_from_domain[0] ? tx->t_from_domain : NULL);
	case RL_PART_RCPT_DOMAIN:
		return (rcpt_domain && *rcpt_domain ? rcpt_domain : NULL);
	case RL_PART_EGRESS:
		return (tx->t_route ? tx->t_route->ce_transport : NULL);
	default:
		return (NULL);
	}
}

/* rl_has_part - does the limit count per this part */

static int
rl_has_part(const struct cfg_limit *l, int part)
{
	size_t	i;

	for (i = 0; i < l->cl_nparts; i++)
		if (l->cl_parts[i] == part)
			return (1);
	return (0);
}

/* rl_stage_of - where a limit is checked for this message */

static enum rl_stage
rl_stage_of(const struct txn *tx, const struct cfg_limit *l)
{
	if (!tx->t_rl_early || rl_at_eoh_only(l))
		return (RL_AT_EOH);
	return (RL_AT_RCPT);
}

/* rl_overridden - the tenant has its own limit of this name */

static int
rl_overridden(const struct cfg_tenant *t, const char *name)
{
	size_t	i;

	for (i = 0; t != NULL && i < t->ct_limits.n; i++)
		if (strcmp(CFG_LIMIT(&t->ct_limits, i)->cl_name, name) == 0)
			return (1);
	return (0);
}

/* rl_next - the next limit that applies to this message's tenant */

static const struct cfg_limit *
rl_next(const struct txn *tx, size_t *i)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct cfg_tenant *t = tx->t_tenant;
	const struct cfg_limit *l;
	size_t	j;

	for (;;) {
		if (*i < cf->cf_limits.n) {
			l = CFG_LIMIT(&cf->cf_limits, (*i)++);
			if (l->cl_enabled && !rl_overridden(t, l->cl_name))
				return (l);
			continue;
		}
		j = *i - cf->cf_limits.n;
		if (t == NULL || j >= t->ct_limits.n)
			return (NULL);
		(*i)++;
		if ((l = CFG_LIMIT(&t->ct_limits, j))->cl_enabled)
			return (l);
	}
}

/* rl_listed - value in a match or exempt list (case-insensitive) */

static int
rl_listed(const struct cfg_strlist *sl, const char *value)
{
	size_t	i;

	for (i = 0; i < sl->n; i++)
		if (strcasecmp(sl->v[i], value) == 0)
			return (1);
	return (0);
}

/* rl_escape - append a value, with ':', '%', braces and controls as %XX */

static int
rl_escape(char *buf, size_t size, size_t *len, const char *v)
{
	int	n;

	for (; *v; v++) {
		if ((unsigned char)*v > ' ' && (unsigned char)*v < 127 &&
		    strchr(":%{}", *v) == NULL)
			n = snprintf(buf + *len, size - *len, "%c", *v);
		else
			n = snprintf(buf + *len, size - *len, "%%%02X",
			    (unsigned char)*v);
		if (n < 0 || (size_t)n >= size - *len)
			return (-1);
		*len += (size_t)n;
	}
	return (0);
}

/*
 * rl_key - "{prefix}:rl:SCOPE:NAME:WINDOW:V1:V2"; SCOPE is "*" for a
 * global limit and the tenant's name for a tenant's own.
 */
static int
rl_key(const struct txn *tx, const struct cfg_limit *l,
    const struct cfg_rate *r, const char *const *vals, char *buf,
    size_t size)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	size_t	len = 0, i;
	int	n;

	n = snprintf(buf, size, "{%s}:rl:", cf->cf_redis_prefix);
	if (n < 0 || (size_t)n >= size)
		return (-1);
	len = (size_t)n;
	if (rl_escape(buf, size, &len, l->cl_tenant ? l->cl_tenant->ct_name :
	    "*") == -1 || len + 1 >= size)
		return (-1);
	buf[len++] = ':';
	if (rl_escape(buf, size, &len, l->cl_name) == -1 || len + 1 >= size)
		return (-1);
	buf[len++] = ':';
	if (rl_escape(buf, size, &len, strchr(r->cr_text, '/') + 1) == -1)
		return (-1);
	for (i = 0; i < l->cl_nparts; i++) {
		if (len + 1 >= size)
			return (-1);
		buf[len++] = ':';
		buf[len] = '\0';
		if (rl_escape(buf, size, &len, vals[i]) == -1)
			return (-1);
	}
	return (0);
}

/* rl_find_hold - the hold of a key, or NULL */

static struct rl_hold *
rl_find_hold(const struct txn *tx, const char *key)
{
	size_t	i;

	for (i = 0; i < tx->t_rl_n; i++)
		if (strcmp(tx->t_rl[i].h_req.rq_key, key) == 0)
			return (&tx->t_rl[i]);
	return (NULL);
}

/* rl_hold - remember tokens taken; -1 when memory runs out */

static int
rl_hold(struct txn *tx, const struct rl_req *rq, int local)
{
	struct rl_hold *h;
	size_t	cap;

	if ((h = rl_find_hold(tx, rq->rq_key)) != NULL &&
	    h->h_local == local) {
		h->h_req.rq_cost += rq->rq_cost;
		return (0);
	}
	if (tx->t_rl_n == tx->t_rl_cap) {
		cap = tx->t_rl_cap ? tx->t_rl_cap * 2 : 4;
		if ((h = reallocarray(tx->t_rl, cap, sizeof(*h))) == NULL)
			return (-1);
		tx->t_rl = h;
		tx->t_rl_cap = cap;
	}
	h = &tx->t_rl[tx->t_rl_n++];
	h->h_req = *rq;
	h->h_local = local;
	return (0);
}

/* rl_refuse_over - 451 4.7.1 naming the limit, the rate and the wait */

static enum verdict
rl_refuse_over(struct txn *tx, const struct rl_batch *b, size_t i,
    int64_t retry_us)
{
	const struct cfg_limit *l = b->b_limit[i];
	char	label[200];

	metrics_label(label, sizeof(label), "limit", l->cl_name);
	metrics_inc(METRICS_RATELIMIT, label);
	return (txn_refuse(tx, CFG_ACT_TEMPFAIL, "4.7.1", "rate limit %s "
	    "reached: %s %s for %s; try again in %lld s", l->cl_name,
	    b->b_rate[i]->cr_text, l->cl_rcpts ? "recipients" : "messages",
	    b->b_what[i], (long long)(retry_us / 1000000 + 1)));
}

/* rl_drop - remove entry i of a batch */

static void
rl_drop(struct rl_batch *b, size_t i)
{
	for (; i + 1 < b->b_n; i++) {
		b->b_req[i] = b->b_req[i + 1];
		b->b_limit[i] = b->b_limit[i + 1];
		b->b_rate[i] = b->b_rate[i + 1];
		memcpy(b->b_what[i], b->b_what[i + 1], sizeof(b->b_what[i]));
	}
	b->b_n--;
}

/*
 * rl_evictions - say when the memory store forgets buckets that were not
 * full (ratelimit.max_keys reached): a forgotten bucket comes back full,
 * so the limits it held let more through. At most once a minute.
 */
static void
rl_evictions(struct rl_mem *m, int64_t now)
{
	uint64_t n, total;
	size_t	max;

	if ((n = rl_mem_report(m, now, 60 * 1000000LL, &total, &max)) > 0)
		log_warnx("rate limits: %llu bucket(s) forgotten before they "
		    "were full (%llu since the start): the memory store holds "
		    "ratelimit.max_keys = %zu buckets, and a forgotten bucket "
		    "comes back full; raise max_keys",
		    (unsigned long long)n, (unsigned long long)total, max);
}

/* rl_take - take a batch on one store; hold what was taken */

static enum rl_status
rl_take(struct txn *tx, struct rl_batch *b, int local, size_t *over,
    int64_t *retry)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct rl_backend *sh = cf->cf_rl_shared;
	enum rl_status st;
	int64_t	now = rl_now(cf->cf_rl);
	size_t	i;

	if (b->b_n == 0)
		return (RL_OK);
	if (local) {
		st = rl_mem_take(rl_local(cf->cf_rl), b->b_req, b->b_n, now,
		    over, retry);
		rl_evictions(rl_local(cf->cf_rl), now);
	} else
		st = sh->rb_take(sh->rb_state, b->b_req, b->b_n, now, over,
		    retry);
	for (i = 0; st == RL_OK && i < b->b_n; i++)
		if (rl_hold(tx, &b->b_req[i], local) == -1)
			return (RL_DOWN);	/* released with the txn */
	return (st);
}

/* rl_failure - a limit's action when Redis cannot answer */

static int
rl_failure(const struct cfg *cf, const struct cfg_limit *l)
{
	return (l->cl_on_failure ? l->cl_on_failure - 1 :
	    cf->cf_redis_on_failure);
}

/* rl_fallback - Redis is down: each limit's on_failure */

static enum verdict
rl_fallback(struct txn *tx, struct rl_batch *b)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	int64_t	retry;
	size_t	i, over;

	for (i = 0; i < b->b_n; i++)
		if (rl_failure(cf, b->b_limit[i]) == CFG_RLF_TEMPFAIL)
			return (txn_refuse(tx, CFG_ACT_TEMPFAIL, "4.3.0",
			    "rate limit %s cannot be checked now; try again "
			    "later", b->b_limit[i]->cl_name));
	for (i = 0; i < b->b_n;)
		if (rl_failure(cf, b->b_limit[i]) == CFG_RLF_ACCEPT)
			rl_drop(b, i);
		else
			i++;
	switch (rl_take(tx, b, 1, &over, &retry)) {
	case RL_OK:
		return (VERDICT_CONTINUE);
	case RL_OVER:
		return (rl_refuse_over(tx, b, over, retry));
	default:
		return (txn_refuse(tx, cf->cf_on_error, "4.3.0",
		    "internal error in rate limits"));
	}
}

/* rl_dry_run - log what dry-run limits would refuse; refuse nothing */

static void
rl_dry_run(struct txn *tx, struct rl_batch *b)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	int64_t	retry;
	size_t	over;
	int	local = cf->cf_rl_shared == NULL;
	char	safe[LOG_ESCAPE_MAX + 8];

	while (b->b_n > 0) {
		switch (rl_take(tx, b, local, &over, &retry)) {
		case RL_OVER:
			txn_log(tx, LOG_INFO, "dry-run: rate limit %s would "
			    "refuse: %s %s for %s", b->b_limit[over]->cl_name,
			    b->b_rate[over]->cr_text, b->b_limit[over]->cl_rcpts ?
			    "recipients" : "messages", log_escape(safe,
			    sizeof(safe), b->b_what[over],
			    strlen(b->b_what[over])));
			rl_drop(b, over);
			break;
		case RL_DOWN:
			if (local)
				return;
			local = 1;	/* dry-run limits fall back silently */
			break;
		default:
			return;
		}
	}
}

/* rl_run - check a batch: dry-run ones apart, then the real ones */

static enum verdict
rl_run(struct txn *tx, struct rl_batch *b)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	struct rl_batch dry;
	int64_t	retry;
	size_t	i, over;

	dry.b_n = 0;
	for (i = 0; i < b->b_n;)
		if (b->b_limit[i]->cl_dry_run) {
			dry.b_req[dry.b_n] = b->b_req[i];
			dry.b_limit[dry.b_n] = b->b_limit[i];
			dry.b_rate[dry.b_n] = b->b_rate[i];
			memcpy(dry.b_what[dry.b_n++], b->b_what[i],
			    sizeof(b->b_what[i]));
			rl_drop(b, i);
		} else
			i++;
	rl_dry_run(tx, &dry);
	switch (rl_take(tx, b, cf->cf_rl_shared == NULL, &over, &retry)) {
	case RL_OK:
		b->b_n = 0;
		return (VERDICT_CONTINUE);
	case RL_OVER:
		return (rl_refuse_over(tx, b, over, retry));
	default:
		if (cf->cf_rl_shared == NULL)
			return (txn_refuse(tx, cf->cf_on_error, "4.3.0",
			    "internal error in rate limits"));
		return (rl_fallback(tx, b));
	}
}

/*
 * rl_own - the value a global limit counts for a sender or From domain:
 * the domain when the message's tenant owns it, else "TENANT@DOMAIN" (a
 * domain has no '@'), so another tenant's mail with that domain (let
 * through by unowned_sender or unowned_from = "accept") has a bucket of
 * its own and never spends the owner's budget
 */
static const char *
rl_own(const struct txn *tx, const struct cfg_limit *l, size_t i,
    const char *value, char *buf, size_t size)
{
	const struct cfg_domain *d;

	if (l->cl_tenant != NULL || (l->cl_parts[i] != RL_PART_SENDER_DOMAIN &&
	    l->cl_parts[i] != RL_PART_FROM_DOMAIN))
		return (value);
	d = tenant_domain_owner(tx->t_conn->c_cfg, value);
	if (d != NULL && d->cd_tenant == tx->t_tenant)
		return (value);
	snprintf(buf, size, "%s@%s", tx->t_tenant ? tx->t_tenant->ct_name :
	    "", value);
	return (buf);
}

/*
 * rl_add - one bucket per rate of a limit, for one set of values; a
 * full batch is checked at once. Message limits already held by this
 * message are not taken twice.
 */
static enum verdict
rl_add(struct txn *tx, struct rl_batch *b, const struct cfg_limit *l,
    const char *const *raw, long cost)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const char *vals[CFG_LIMIT_PARTS];
	char	own[CFG_LIMIT_PARTS][RL_KEY_MAX];
	struct rl_req *rq;
	enum verdict v;
	size_t	i, j, len;

	for (j = 0; j < l->cl_nparts; j++)
		vals[j] = rl_own(tx, l, j, raw[j], own[j], sizeof(own[j]));
	for (i = 0; i < l->cl_nrates; i++) {
		if (b->b_n == RL_BATCH &&
		    (v = rl_run(tx, b)) != VERDICT_CONTINUE)
			return (v);
		rq = &b->b_req[b->b_n];
		if (rl_key(tx, l, &l->cl_rates[i], vals, rq->rq_key,
		    sizeof(rq->rq_key)) == -1)
			return (txn_refuse(tx, cf->cf_on_error, "4.3.0",
			    "rate limit %s: key too long", l->cl_name));
		if (!l->cl_rcpts && rl_find_hold(tx, rq->rq_key) != NULL)
			continue;
		rq->rq_interval_us = l->cl_rates[i].cr_interval_us;
		rq->rq_burst = l->cl_rates[i].cr_burst;
		rq->rq_cost = cost;
		rq->rq_at_us = 0;
		b->b_limit[b->b_n] = l;
		b->b_rate[b->b_n] = &l->cl_rates[i];
		b->b_what[b->b_n][0] = '\0';
		for (j = 0, len = 0; j < l->cl_nparts; j++)
			len += (size_t)snprintf(b->b_what[b->b_n] + len,
			    len < sizeof(b->b_what[0]) ?
			    sizeof(b->b_what[0]) - len : 0, "%s%s",
			    j ? "+" : "", vals[j]);
		b->b_n++;
	}
	return (VERDICT_CONTINUE);
}

/*
 * rl_values - the limit's values for this message, last part from
 * rcpt_domain when it is the recipient's; 0 if the limit does not apply
 */
static int
rl_values(const struct txn *tx, const struct cfg_limit *l,
    const char *rcpt_domain, const char **vals)
{
	size_t	i;

	for (i = 0; i < l->cl_nparts; i++)
		if ((vals[i] = rl_value(tx, l->cl_parts[i], rcpt_domain)) ==
		    NULL)
			return (0);
	if (l->cl_match.n > 0 && !rl_listed(&l->cl_match, vals[i - 1]))
		return (0);
	return (!rl_listed(&l->cl_exempt, vals[i - 1]));
}

/* rl_rcpt_record - count an accepted recipient under its domain */

static int
rl_rcpt_record(struct txn *tx, const char *domain)
{
	struct rl_rcpt_domain *rd;
	size_t	i;

	tx->t_rcpt_ok++;
	for (i = 0; i < tx->t_nrdom; i++)
		if (strcmp(tx->t_rdom[i].rd_name, domain) == 0) {
			tx->t_rdom[i].rd_count++;
			return (0);
		}
	if ((rd = reallocarray(tx->t_rdom, tx->t_nrdom + 1,
	    sizeof(*rd))) == NULL)
		return (-1);
	tx->t_rdom = rd;
	rd = &tx->t_rdom[tx->t_nrdom++];
	snprintf(rd->rd_name, sizeof(rd->rd_name), "%s", domain);
	rd->rd_count = 1;
	return (0);
}

/* rl_check_rcpt - limits known at RCPT; this recipient only */

enum verdict
rl_check_rcpt(struct txn *tx, const char *rcpt)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct cfg_limit *l;
	const char *vals[CFG_LIMIT_PARTS], *action = tx->t_action;
	char	domain[ADDR_DOMAIN_MAX];
	struct rl_batch b;
	enum verdict v = VERDICT_CONTINUE;
	size_t	i = 0;

	if (addr_envelope_domain(rcpt, domain, sizeof(domain)) == -1)
		domain[0] = '\0';
	b.b_n = 0;
	while (cf->cf_rl != NULL && (l = rl_next(tx, &i)) != NULL &&
	    v == VERDICT_CONTINUE)
		if (rl_stage_of(tx, l) == RL_AT_RCPT &&
		    rl_values(tx, l, domain, vals))
			v = rl_add(tx, &b, l, vals, 1);
	if (v == VERDICT_CONTINUE)
		v = rl_run(tx, &b);
	if (v == VERDICT_CONTINUE && rl_rcpt_record(tx, domain) == -1)
		v = txn_refuse(tx, cf->cf_on_error, "4.3.0",
		    "internal error (out of memory)");
	if (v != VERDICT_CONTINUE) {
		tx->t_action = action;	/* the message goes on */
		tx->t_rl_limited++;
		v = VERDICT_TEMPFAIL;
	}
	return (v);
}

/* rl_check_eoh - the limits left for end of headers */

enum verdict
rl_check_eoh(struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct cfg_limit *l;
	const char *vals[CFG_LIMIT_PARTS];
	struct rl_batch b;
	enum verdict v = VERDICT_CONTINUE;
	size_t	i = 0, d;

	b.b_n = 0;
	while (cf->cf_rl != NULL && (l = rl_next(tx, &i)) != NULL &&
	    v == VERDICT_CONTINUE) {
		if (rl_stage_of(tx, l) != RL_AT_EOH)
			continue;
		if (!rl_has_part(l, RL_PART_RCPT_DOMAIN)) {
			if (rl_values(tx, l, NULL, vals) && tx->t_rcpt_ok > 0)
				v = rl_add(tx, &b, l, vals, l->cl_rcpts ?
				    (long)tx->t_rcpt_ok : 1);
			continue;
		}
		for (d = 0; d < tx->t_nrdom && v == VERDICT_CONTINUE; d++)
			if (rl_values(tx, l, tx->t_rdom[d].rd_name, vals))
				v = rl_add(tx, &b, l, vals, l->cl_rcpts ?
				    (long)tx->t_rdom[d].rd_count : 1);
	}
	return (v == VERDICT_CONTINUE ? rl_run(tx, &b) : v);
}

/* rl_warmup_cap - an egress's cap for a day, -1 for none */

long
rl_warmup_cap(const struct cfg_warmup *w, long day)
{
	long	i;

	if (w->cw_start == NULL || w->cw_daily.n == 0)
		return (-1);
	i = day < w->cw_start_day ? 0 : day - w->cw_start_day;
	return ((size_t)i < w->cw_daily.n ? w->cw_daily.v[i] : -1);
}

/* rl_take_warmup - one message of today's warm-up budget */

int
rl_take_warmup(struct txn *tx, const struct cfg_egress *e)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	struct rl_batch b;
	int64_t	retry;
	long	day, cap;
	size_t	over;
	int	local = cf->cf_rl_shared == NULL, n;

	if (cf->cf_rl == NULL)
		return (1);
	day = (long)(rl_now(cf->cf_rl) / RL_DAY_US);
	if ((cap = rl_warmup_cap(&e->ce_warmup, day)) < 0)
		return (1);
	if (cap == 0)
		return (0);
	n = snprintf(b.b_req[0].rq_key, sizeof(b.b_req[0].rq_key),
	    "{%s}:warmup:%s:%ld", cf->cf_redis_prefix, e->ce_transport, day);
	if (n < 0 || (size_t)n >= sizeof(b.b_req[0].rq_key))
		return (-1);
	/* a counter of the day: computed at the day's end, gone after it */
	b.b_req[0].rq_interval_us = 1;
	b.b_req[0].rq_burst = cap;
	b.b_req[0].rq_cost = 1;
	b.b_req[0].rq_at_us = (day + 1) * RL_DAY_US;
	b.b_n = 1;
	switch (rl_take(tx, &b, local, &over, &retry)) {
	case RL_OK:
		return (1);
	case RL_OVER:
		return (0);
	default:
		if (local || cf->cf_redis_on_failure == CFG_RLF_TEMPFAIL)
			return (-1);
		if (cf->cf_redis_on_failure == CFG_RLF_ACCEPT)
			return (1);
		return (rl_take(tx, &b, 1, &over, &retry) == RL_OK);
	}
}

/* rl_commit - the message is accepted: its tokens stay spent */

void
rl_commit(struct txn *tx)
{
	tx->t_rl_committed = 1;
}

/* rl_release - give back what an unaccepted message took; free */

void
rl_release(struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct rl_backend *sh = cf->cf_rl_shared;
	struct rl_req *shared = NULL;
	size_t	i, n = 0;
	int64_t	now;

	if (!tx->t_rl_committed && tx->t_rl_n > 0 && cf->cf_rl != NULL) {
		now = rl_now(cf->cf_rl);
		if (sh != NULL)
			shared = calloc(tx->t_rl_n, sizeof(*shared));
		for (i = 0; i < tx->t_rl_n; i++) {
			if (tx->t_rl[i].h_local)
				(void)rl_mem_give(rl_local(cf->cf_rl),
				    &tx->t_rl[i].h_req, 1, now);
			else if (shared != NULL)
				shared[n++] = tx->t_rl[i].h_req;
			else if (sh != NULL)
				(void)sh->rb_give(sh->rb_state,
				    &tx->t_rl[i].h_req, 1, now);
		}
		if (n > 0 && sh->rb_give(sh->rb_state, shared, n, now) != RL_OK)
			txn_log(tx, LOG_WARNING, "rate limits: could not give "
			    "back %zu buckets to %s", n, sh->rb_name);
		free(shared);
	}
	free(tx->t_rl);
	free(tx->t_rdom);
	tx->t_rl = NULL;
	tx->t_rdom = NULL;
	tx->t_rl_n = tx->t_rl_cap = tx->t_nrdom = 0;
}

/* rl_hold_key - the key of the i-th bucket a message took from */

const char *
rl_hold_key(const struct txn *tx, size_t i)
{
	return (i < tx->t_rl_n ? tx->t_rl[i].h_req.rq_key : NULL);
}
