/* rl_test - rule syntax, GCRA buckets at their exact edges, memory bound */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "rl.h"
#include "rl_mem.h"
#include "tap.h"

#define S	1000000LL		/* one second in microseconds */

static const struct {
	const char *text;
	int	ok;
	size_t	nparts;
	int	last;
} per_cases[] = {
	{"tenant", 1, 1, RL_PART_TENANT},
	{"tenant+rcpt_domain", 1, 2, RL_PART_RCPT_DOMAIN},
	{"login+sender_domain+from_domain+egress", 1, 4, RL_PART_EGRESS},
	{"rcpt_domain", 1, 1, RL_PART_RCPT_DOMAIN},
	{"tenant+tenant", 0, 0, 0},
	{"domain", 0, 0, 0},
	{"tenant+", 0, 0, 0},
	{"", 0, 0, 0},
	{"tenant+login+sender_domain+from_domain+rcpt_domain", 0, 0, 0},
};

static const struct {
	const char *text;
	long	burst;
	int	ok;
	size_t	n;
	long	count;		/* of the first rate */
	long long interval;	/* of the first rate, µs */
	long long burst_want;
} rate_cases[] = {
	{"100/1h", 0, 1, 1, 100, 36 * S, 100},
	{"100/h", 0, 1, 1, 100, 36 * S, 100},
	{"10/30s, 5000/1d", 0, 1, 2, 10, 3 * S, 10},
	{"2000/1m", 50, 1, 1, 2000, 30000, 50},
	{"1/31d", 0, 1, 1, 1, 31 * 86400 * S, 1},
	{"1/32d", 0, 0, 0, 0, 0, 0},
	{"100", 0, 0, 0, 0, 0, 0},
	{"0/1h", 0, 0, 0, 0, 0, 0},
	{"10/0h", 0, 0, 0, 0, 0, 0},
	{"10/1w", 0, 0, 0, 0, 0, 0},
	{"10/1h,", 0, 0, 0, 0, 0, 0},
	{"x/1h", 0, 0, 0, 0, 0, 0},
	{"10000000/1s", 0, 0, 0, 0, 0, 0},
	{"1/1s,1/1m,1/1h,1/1d,1/2d", 0, 0, 0, 0, 0, 0},
};

static void
test_parsers(void)
{
	unsigned char parts[CFG_LIMIT_PARTS];
	struct cfg_rate rates[CFG_LIMIT_RATES];
	char	err[256];
	size_t	i, n;
	int	r;

	for (i = 0; i < sizeof(per_cases) / sizeof(per_cases[0]); i++) {
		err[0] = '\0';
		r = rl_parse_per(per_cases[i].text, parts, &n, err,
		    sizeof(err));
		if (per_cases[i].ok)
			TAP_OK(r == 0 && n == per_cases[i].nparts &&
			    parts[n - 1] == per_cases[i].last,
			    "per \"%s\" parses (%s)", per_cases[i].text, err);
		else
			TAP_OK(r == -1 && err[0] != '\0',
			    "per \"%s\" is refused: %s", per_cases[i].text, err);
	}
	for (i = 0; i < sizeof(rate_cases) / sizeof(rate_cases[0]); i++) {
		err[0] = '\0';
		r = rl_parse_rates(rate_cases[i].text, rate_cases[i].burst,
		    rates, &n, err, sizeof(err));
		if (rate_cases[i].ok)
			TAP_OK(r == 0 && n == rate_cases[i].n &&
			    rates[0].cr_count == rate_cases[i].count &&
			    rates[0].cr_interval_us == rate_cases[i].interval &&
			    rates[0].cr_burst == rate_cases[i].burst_want,
			    "rate \"%s\": %zu rate(s), interval %lld us, burst "
			    "%lld (%s)", rate_cases[i].text, n,
			    (long long)rates[0].cr_interval_us,
			    (long long)rates[0].cr_burst, err);
		else
			TAP_OK(r == -1 && err[0] != '\0',
			    "rate \"%s\" is refused: %s", rate_cases[i].text,
			    err);
	}
}

static struct rl_req
req(const char *key, long long interval, long long burst, long long cost)
{
	struct rl_req r;

	memset(&r, 0, sizeof(r));
	snprintf(r.rq_key, sizeof(r.rq_key), "%s", key);
	r.rq_interval_us = interval;
	r.rq_burst = burst;
	r.rq_cost = cost;
	return (r);
}

/* take - 1 if one take of r at time now is allowed */
static int
take(struct rl_mem *m, struct rl_req r, long long now, long long *retry)
{
	size_t	over;
	int64_t	wait = 0;
	enum rl_status st = rl_mem_take(m, &r, 1, now, &over, &wait);

	if (retry != NULL)
		*retry = wait;
	return (st == RL_OK);
}

static void
test_gcra(void)
{
	struct rl_mem *m = rl_mem_new(1000);
	struct rl_req r = req("a", 1 * S, 10, 1), two[2];
	long long t0 = 1700000000LL * S, retry = 0;
	int	i, n;
	size_t	over;
	int64_t	wait;

	/* 60/1m, burst 10: ten at once, the eleventh waits exactly 1 s */
	for (i = 0, n = 0; i < 10; i++)
		n += take(m, r, t0, NULL);
	TAP_OK(n == 10, "burst 10: ten takes at once are allowed (%d)", n);
	n = take(m, r, t0, &retry);
	TAP_OK(!n && retry == 1 * S,
	    "the 11th is refused, retry after exactly 1 s (%lld us)", retry);
	n = take(m, r, t0 + S - 1, &retry);
	TAP_OK(!n && retry == 1,
	    "1 us before the token is earned: refused, 1 us to wait (%lld)",
	    retry);
	TAP_OK(take(m, r, t0 + S, NULL), "at exactly 1 s one more is allowed");
	TAP_OK(!take(m, r, t0 + S, NULL), "and only one");

	/* a cost larger than what is left takes nothing */
	r = req("b", 1 * S, 5, 1);
	TAP_OK(take(m, r, t0, NULL) && take(m, r, t0, NULL) &&
	    take(m, r, t0, NULL), "3 of burst 5 taken");
	r.rq_cost = 3;
	TAP_OK(!take(m, r, t0, NULL), "cost 3 with 2 left is refused");
	r.rq_cost = 2;
	TAP_OK(take(m, r, t0, NULL), "the 2 left are still there");
	r.rq_cost = 1;
	TAP_OK(!take(m, r, t0, NULL), "then the bucket is empty");

	/* give back */
	r.rq_cost = 2;
	rl_mem_give(m, &r, 1, t0);
	r.rq_cost = 1;
	n = take(m, r, t0, NULL) + take(m, r, t0, NULL) + take(m, r, t0, NULL);
	TAP_OK(n == 2, "a refund of 2 gives exactly 2 takes (%d)", n);

	/* all or nothing over two buckets */
	two[0] = req("c1", 1 * S, 5, 1);
	two[1] = req("c2", 1 * S, 1, 1);
	TAP_OK(rl_mem_take(m, two, 2, t0, &over, &wait) == RL_OK,
	    "two buckets taken together");
	TAP_OK(rl_mem_take(m, two, 2, t0, &over, &wait) == RL_OVER &&
	    over == 1, "the second bucket is empty: refused at index %zu",
	    over);
	for (i = 0, n = 0; i < 10; i++)
		n += take(m, two[0], t0, NULL);
	TAP_OK(n == 4, "the refused call took nothing from the first (%d of "
	    "4 left)", n);

	/* no double burst at a window's edge: 60/1m burst 5 for 120 s */
	r = req("d", 1 * S, 5, 1);
	for (i = 0, n = 0; i < 120 * 100; i++)	/* every 10 ms */
		n += take(m, r, t0 + (long long)i * 10000, NULL);
	TAP_OK(n == 5 + 119 || n == 5 + 120, "over 120 s at 100 tries/s: burst "
	    "+ rate = %d (5 + 120 at most)", n);

	/* a counter of a day: at = the day's end, interval 1 */
	r = req("day", 1, 3, 1);
	r.rq_at_us = t0 + 3600 * S;
	n = take(m, r, t0, NULL) + take(m, r, t0 + 60 * S, NULL) +
	    take(m, r, t0 + 3000 * S, NULL) + take(m, r, t0 + 3500 * S, NULL);
	TAP_OK(n == 3, "a day counter of 3 allows 3 however spread (%d)", n);
	rl_mem_give(m, &r, 1, t0 + 3500 * S);
	TAP_OK(take(m, r, t0 + 3500 * S, NULL) &&
	    !take(m, r, t0 + 3500 * S, NULL), "a refund gives exactly one back");
	rl_mem_free(m);
}

#define NTHREADS 8
#define PER_THREAD 10000

static struct rl_mem *shared;
static int thread_ok[NTHREADS];

static void *
hammer(void *arg)
{
	struct rl_req r = req("shared", 3600 * S, 50000, 1);
	int	*ok = arg, i;

	for (i = 0; i < PER_THREAD; i++)
		*ok += take(shared, r, 1700000000LL * S, NULL);
	return (NULL);
}

static void
test_threads(void)
{
	pthread_t t[NTHREADS];
	int	i, total = 0;

	shared = rl_mem_new(1000);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, hammer, &thread_ok[i]);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		total += thread_ok[i];
	}
	TAP_OK(total == 50000, "8 threads x 10000 takes on burst 50000: "
	    "exactly %d allowed", total);
	rl_mem_free(shared);
}

static void
test_bound(void)
{
	struct rl_mem *m = rl_mem_new(4096);
	struct rl_mem_stats st;
	char	key[32];
	long long t0 = 1700000000LL * S;
	int	i, n = 0;

	/* buckets that refill within 1 s: swept, never evicted */
	for (i = 0; i < 4096; i++) {
		snprintf(key, sizeof(key), "early-%d", i);
		n += take(m, req(key, 1 * S, 10, 1), t0, NULL);
	}
	rl_mem_stats(m, &st);
	TAP_OK(n == 4096 && st.ms_keys >= 4000 && st.ms_keys <= 4096,
	    "4096 keys held (%zu)", st.ms_keys);
	for (i = 0; i < 4096; i++) {
		snprintf(key, sizeof(key), "late-%d", i);
		(void)take(m, req(key, 1 * S, 10, 1), t0 + 2 * S, NULL);
	}
	rl_mem_stats(m, &st);
	TAP_OK(st.ms_evicted == 0 && st.ms_keys <= 4096,
	    "full buckets make room: %zu keys, %llu evicted", st.ms_keys,
	    (unsigned long long)st.ms_evicted);
	/* 100000 live buckets in a store for 4096: bounded, oldest go */
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "live-%d", i);
		(void)take(m, req(key, 3600 * S, 10, 1), t0 + 3 * S, NULL);
	}
	rl_mem_stats(m, &st);
	TAP_OK(st.ms_keys <= 4096 && st.ms_evicted > 90000,
	    "100000 live keys in a 4096-key store: %zu kept, %llu evicted",
	    st.ms_keys, (unsigned long long)st.ms_evicted);
	TAP_OK(st.ms_bytes <= 4096 * 50 + 64 * 1024,
	    "memory stays bounded: %zu bytes", st.ms_bytes);
	/* the most recent key is still exact */
	TAP_OK(take(m, req("live-99999", 3600 * S, 2, 1), t0 + 3 * S, NULL) &&
	    !take(m, req("live-99999", 3600 * S, 2, 1), t0 + 3 * S, NULL),
	    "a recent bucket is kept exactly");
	{
		uint64_t first, total = 0, again;
		size_t	max = 0;

		first = rl_mem_report(m, t0 + 3 * S, 60 * S, &total, &max);
		TAP_OK(first == st.ms_evicted && total == first && max == 4096,
		    "the first report says every eviction at once (%llu of "
		    "%llu, bound %zu)", (unsigned long long)first,
		    (unsigned long long)st.ms_evicted, max);
		for (i = 0; i < 1000; i++) {
			snprintf(key, sizeof(key), "more-%d", i);
			(void)take(m, req(key, 3600 * S, 10, 1), t0 + 4 * S,
			    NULL);
		}
		again = rl_mem_report(m, t0 + 30 * S, 60 * S, &total, &max);
		TAP_OK(again == 0, "no second report within a minute (%llu)",
		    (unsigned long long)again);
		rl_mem_stats(m, &st);
		again = rl_mem_report(m, t0 + 64 * S, 60 * S, &total, &max);
		TAP_OK(again > 900 && again == st.ms_evicted - first &&
		    total == st.ms_evicted, "a minute later: the new ones "
		    "(%llu), the total (%llu)", (unsigned long long)again,
		    (unsigned long long)total);
		TAP_OK(rl_mem_report(m, t0 + 200 * S, 60 * S, &total,
		    &max) == 0, "nothing new: no report");
	}
	rl_mem_free(m);
}

static void
test_warmup(void)
{
	struct cfg_warmup w;
	long	caps[] = {200, 500, 1000};

	memset(&w, 0, sizeof(w));
	TAP_OK(rl_warmup_cap(&w, 20000) == -1, "no schedule: no cap");
	w.cw_start = "2026-11-01";
	w.cw_start_day = 20758;		/* 2026-11-01 */
	w.cw_daily.v = caps;
	w.cw_daily.n = 3;
	TAP_OK(rl_warmup_cap(&w, 20755) == 200, "before the start: day 1 cap");
	TAP_OK(rl_warmup_cap(&w, 20758) == 200, "day 1: 200");
	TAP_OK(rl_warmup_cap(&w, 20759) == 500, "day 2: 500");
	TAP_OK(rl_warmup_cap(&w, 20760) == 1000, "day 3: 1000");
	TAP_OK(rl_warmup_cap(&w, 20761) == -1, "after the schedule: no cap");
}

int
main(void)
{
	test_parsers();
	test_gcra();
	test_threads();
	test_bound();
	test_warmup();
	return (tap_done());
}
