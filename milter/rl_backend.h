#ifndef RL_BACKEND_H
#define RL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/*
 * One bucket of one rate-limit check (GCRA). A bucket holds one number,
 * its theoretical arrival time (TAT, microseconds). Taking cost tokens at
 * time now: new = max(TAT, now) + cost * interval; allowed when
 * new - now <= burst * interval. Giving back (a refund) subtracts
 * cost * interval. A bucket whose TAT is not after now is full and may be
 * forgotten.
 *
 * rq_at_us, when not 0, is the time the bucket is computed at instead of
 * the clock (expiry still follows the clock). With interval 1 and at =
 * the end of a day, a bucket is a plain counter of that day: it holds at
 * most burst, and vanishes when the day is over.
 */
#define RL_KEY_MAX	512

struct rl_req {
	char	rq_key[RL_KEY_MAX];	/* NUL-terminated backend key */
	int64_t	rq_interval_us;		/* time that earns one token */
	int64_t	rq_burst;		/* tokens available at once, >= 1 */
	int64_t	rq_cost;		/* tokens to take or give, >= 1 */
	int64_t	rq_at_us;		/* 0: now; else a fixed time */
};

enum rl_status {
	RL_OK,				/* taken (or given back) */
	RL_OVER,			/* a bucket has too few tokens */
	RL_DOWN				/* the backend cannot answer */
};

#endif
