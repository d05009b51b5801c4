/*
 * NAME
 *	rl_mem - in-memory rate-limit buckets (GCRA), bounded and lock-striped
 * SYNOPSIS
 *	#include "rl_mem.h"
 *
 *	struct rl_mem *rl_mem_new(size_t max_keys);
 *	void	rl_mem_free(struct rl_mem *m);
 *	enum rl_status rl_mem_take(struct rl_mem *m,
 *		    const struct rl_req *reqs, size_t n, int64_t now_us,
 *		    size_t *over, int64_t *retry_us);
 *	enum rl_status rl_mem_give(struct rl_mem *m,
 *		    const struct rl_req *reqs, size_t n, int64_t now_us);
 *	void	rl_mem_stats(struct rl_mem *m, struct rl_mem_stats *st);
 *	uint64_t rl_mem_report(struct rl_mem *m, int64_t now_us,
 *		    int64_t every_us, uint64_t *total, size_t *max_keys);
 * DESCRIPTION
 *	Each bucket is one 24-byte slot: a 128-bit keyed hash of its key
 *	(SipHash-2-4 twice, with a random key per store, so clients cannot
 *	aim at one chain) and its theoretical arrival time. The slots live
 *	in RL_MEM_STRIPES open-addressing tables (linear probing, deletion
 *	by backward shift), each behind its own mutex, so threads rarely
 *	wait for each other.
 *
 *	rl_mem_take() takes every request's cost or none: it takes them one
 *	by one and gives back what it took when one bucket refuses. A
 *	concurrent caller may briefly see those tokens as spent: the error
 *	is towards refusing, never towards letting too much through.
 *	rl_mem_give() is the refund of a take.
 *
 *	Memory is bounded by max_keys. A full bucket (TAT not after now) is
 *	the same as no bucket, so when the store holds max_keys buckets (or
 *	a stripe twice its share), the stripe of a new key first drops its
 *	full buckets; if that is not enough, the bucket nearest to full
 *	among the RL_MEM_PROBE slots after the new key's place is forgotten
 *	(counted in ms_evicted). So the store never holds more than
 *	max_keys buckets. Tables grow by half when 4/5 full, up to 5/4 of a
 *	stripe's limit (1.5 times its share): about 36 bytes per live
 *	bucket, and at most about 46 bytes per key of max_keys.
 *
 *	rl_mem_report() is for a caller that checks after each take, without
 *	a lock: the evictions since the last report, when there are some and
 *	every_us has passed since that report (the first is at once), else
 *	0; *total gets the count since the start and *max_keys the bound.
 * OWNERSHIP
 *	The store owns its tables; requests are borrowed.
 * DIAGNOSTICS
 *	rl_mem_new() returns NULL when memory runs out. A table that cannot
 *	grow keeps working at its current size.
 * SEE ALSO
 *	rl(3), rl_redis(3)
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rl_backend.h"
#include "rl_mem.h"

#define RL_MEM_STRIPES	64
#define RL_MEM_PROBE	8
#define RL_MEM_MINCAP	16

struct rl_mem_slot {
	uint64_t s_h1;			/* 0: empty */
	uint64_t s_h2;
	int64_t	s_tat;
};

struct rl_mem_stripe {
	pthread_mutex_t st_lock;
	struct rl_mem_slot *st_slot;
	size_t	st_cap;			/* slots */
	size_t	st_count;		/* used slots */
	size_t	st_limit;		/* most keys */
	size_t	st_maxcap;		/* st_limit at 3/4 load */
	_Atomic int64_t st_min_tat;	/* no bucket is full before this */
	char	st_pad[64];		/* keep stripes on their own lines */
};

struct rl_mem {
	uint64_t m_seed[4];
	size_t	m_max;			/* most keys in all */
	_Atomic size_t m_count;		/* keys in all */
	_Atomic uint64_t m_evicted;	/* buckets forgotten early */
	_Atomic uint64_t m_reported;	/* m_evicted at the last report */
	_Atomic int64_t m_reported_at;	/* its time; 0: never */
	struct rl_mem_stripe m_stripe[RL_MEM_STRIPES];
};

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* rl_mem_siphash - SipHash-2-4 of a string under a 128-bit key */

static uint64_t
rl_mem_siphash(uint64_t k0, uint64_t k1, const unsigned char *p, size_t len)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t m, b = (uint64_t)len << 56;
	size_t	i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);		/* little-endian hosts */
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	while (left-- > 0)
		b |= (uint64_t)p[i + left] << (8 * left);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return (v0 ^ v1 ^ v2 ^ v3);
}

/* rl_mem_home - the slot a hash belongs in (no power-of-two rounding) */

static size_t
rl_mem_home(uint64_t h1, size_t cap)
{
	return ((size_t)(((unsigned __int128)h1 * cap) >> 64));
}

/* rl_mem_new - an empty store for at most max_keys buckets */

struct rl_mem *
rl_mem_new(size_t max_keys)
{
	struct rl_mem *m;
	struct rl_mem_stripe *st;
	size_t	i;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	arc4random_buf(m->m_seed, sizeof(m->m_seed));
	if (max_keys < RL_MEM_STRIPES)
		max_keys = RL_MEM_STRIPES;
	m->m_max = max_keys;
	for (i = 0; i < RL_MEM_STRIPES; i++) {
		st = &m->m_stripe[i];
		pthread_mutex_init(&st->st_lock, NULL);
		atomic_init(&st->st_min_tat, INT64_MAX);
		/* 1.5 times a stripe's share: keys do not spread evenly */
		st->st_limit = (max_keys + RL_MEM_STRIPES - 1) /
		    RL_MEM_STRIPES;
		st->st_limit += st->st_limit / 2 + 8;
		st->st_maxcap = st->st_limit + st->st_limit / 4 + 2;
	}
	return (m);
}

/* rl_mem_free - free a store */

void
rl_mem_free(struct rl_mem *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < RL_MEM_STRIPES; i++) {
		pthread_mutex_destroy(&m->m_stripe[i].st_lock);
		free(m->m_stripe[i].st_slot);
	}
	free(m);
}

/* rl_mem_next - the slot after i, wrapping */

static size_t
rl_mem_next(const struct rl_mem_stripe *st, size_t i)
{
	return (i + 1 == st->st_cap ? 0 : i + 1);
}

/* rl_mem_find - the slot holding (h1, h2), or the empty slot to use */

static size_t
rl_mem_find(const struct rl_mem_stripe *st, uint64_t h1, uint64_t h2,
    int *found)
{
	size_t	i = rl_mem_home(h1, st->st_cap);

	*found = 0;
	while (st->st_slot[i].s_h1 != 0) {
		if (st->st_slot[i].s_h1 == h1 && st->st_slot[i].s_h2 == h2) {
			*found = 1;
			break;
		}
		i = rl_mem_next(st, i);
	}
	return (i);
}

/* rl_mem_delete - empty slot i, shifting its chain back */

static void
rl_mem_delete(struct rl_mem *m, struct rl_mem_stripe *st, size_t i)
{
	size_t	j = i, home;

	for (;;) {
		j = rl_mem_next(st, j);
		if (st->st_slot[j].s_h1 == 0)
			break;
		home = rl_mem_home(st->st_slot[j].s_h1, st->st_cap);
		/* slot j may move to i unless its home is in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		st->st_slot[i] = st->st_slot[j];
		i = j;
	}
	st->st_slot[i].s_h1 = 0;
	st->st_count--;
	atomic_fetch_sub(&m->m_count, 1);
}

/* rl_mem_resize - rehash into cap slots; -1 when memory runs out */

static int
rl_mem_resize(struct rl_mem_stripe *st, size_t cap)
{
	struct rl_mem_slot *old = st->st_slot, *s;
	size_t	oldcap = st->st_cap, i;
	int	found;

	if ((s = calloc(cap, sizeof(*s))) == NULL)
		return (-1);
	st->st_slot = s;
	st->st_cap = cap;
	for (i = 0; i < oldcap; i++)
		if (old[i].s_h1 != 0)
			st->st_slot[rl_mem_find(st, old[i].s_h1, old[i].s_h2,
			    &found)] = old[i];
	free(old);
	return (0);
}

/* rl_mem_sweep - forget the full buckets of a stripe (locked) */

static void
rl_mem_sweep(struct rl_mem *m, struct rl_mem_stripe *st, int64_t now)
{
	int64_t	min = INT64_MAX;
	size_t	i = 0;

	if (atomic_load(&st->st_min_tat) > now)
		return;			/* none can be full yet */
	while (i < st->st_cap) {
		if (st->st_slot[i].s_h1 != 0 && st->st_slot[i].s_tat <= now)
			rl_mem_delete(m, st, i);	/* slot i refilled: look again */
		else {
			if (st->st_slot[i].s_h1 != 0 &&
			    st->st_slot[i].s_tat < min)
				min = st->st_slot[i].s_tat;
			i++;
		}
	}
	atomic_store(&st->st_min_tat, min);
}

/* rl_mem_sweep_others - the store is full: sweep stripes not busy */

static void
rl_mem_sweep_others(struct rl_mem *m, const struct rl_mem_stripe *own,
    int64_t now)
{
	struct rl_mem_stripe *st;
	size_t	i;

	for (i = 0; i < RL_MEM_STRIPES &&
	    atomic_load(&m->m_count) >= m->m_max; i++) {
		st = &m->m_stripe[i];
		if (st == own || atomic_load(&st->st_min_tat) > now ||
		    pthread_mutex_trylock(&st->st_lock) != 0)
			continue;	/* never wait: we hold our own lock */
		rl_mem_sweep(m, st, now);
		pthread_mutex_unlock(&st->st_lock);
	}
}

/* rl_mem_note - a bucket's new TAT may be the stripe's earliest */

static void
rl_mem_note(struct rl_mem_stripe *st, int64_t tat)
{
	if (tat < atomic_load(&st->st_min_tat))
		atomic_store(&st->st_min_tat, tat);
}

/* rl_mem_evict - forget the nearest-to-full bucket after slot i */

static void
rl_mem_evict(struct rl_mem *m, struct rl_mem_stripe *st, size_t i)
{
	size_t	victim = SIZE_MAX, n;

	for (n = 0; n < st->st_cap && n < RL_MEM_PROBE * 4; n++) {
		if (st->st_slot[i].s_h1 != 0 && (victim == SIZE_MAX ||
		    st->st_slot[i].s_tat < st->st_slot[victim].s_tat))
			victim = i;
		if (n >= RL_MEM_PROBE && victim != SIZE_MAX)
			break;
		i = rl_mem_next(st, i);
	}
	if (victim != SIZE_MAX) {
		rl_mem_delete(m, st, victim);
		atomic_fetch_add_explicit(&m->m_evicted, 1,
		    memory_order_relaxed);
	}
}

/* rl_mem_room - make room for one more key; -1 if there is none */

static int
rl_mem_room(struct rl_mem *m, struct rl_mem_stripe *st, uint64_t h1,
    int64_t now)
{
	size_t	cap;

	if (st->st_count >= st->st_limit ||
	    atomic_load(&m->m_count) >= m->m_max) {
		rl_mem_sweep(m, st, now);
		if (st->st_count < st->st_limit &&
		    atomic_load(&m->m_count) >= m->m_max)
			rl_mem_sweep_others(m, st, now);
		if (st->st_count >= st->st_limit ||
		    atomic_load(&m->m_count) >= m->m_max)
			rl_mem_evict(m, st, rl_mem_home(h1, st->st_cap));
	}
	if (st->st_cap != 0 && (st->st_count + 1) * 5 <= st->st_cap * 4)
		return (0);
	cap = st->st_cap ? st->st_cap + st->st_cap / 2 : RL_MEM_MINCAP;
	if (cap > st->st_maxcap)
		cap = st->st_maxcap;
	if (cap > st->st_cap && rl_mem_resize(st, cap) == 0)
		return (0);
	return (st->st_count + 1 < st->st_cap ? 0 : -1);
}

/* rl_mem_mul - a * b, saturated */

static int64_t
rl_mem_mul(int64_t a, int64_t b)
{
	int64_t	r;

	return (__builtin_mul_overflow(a, b, &r) ? INT64_MAX / 4 : r);
}

/* rl_mem_one - take (sign 1) or give (sign -1) on one bucket */

static enum rl_status
rl_mem_one(struct rl_mem *m, const struct rl_req *rq, int sign, int64_t now,
    int64_t *retry_us)
{
	struct rl_mem_stripe *st;
	uint64_t h1, h2;
	int64_t	tat, cost, limit, at;
	size_t	i;
	int	found;

	h1 = rl_mem_siphash(m->m_seed[0], m->m_seed[1],
	    (const unsigned char *)rq->rq_key, strlen(rq->rq_key)) | 1;
	h2 = rl_mem_siphash(m->m_seed[2], m->m_seed[3],
	    (const unsigned char *)rq->rq_key, strlen(rq->rq_key));
	st = &m->m_stripe[h2 >> 58];	/* RL_MEM_STRIPES == 64 */
	cost = rl_mem_mul(rq->rq_cost, rq->rq_interval_us);
	limit = rl_mem_mul(rq->rq_burst, rq->rq_interval_us);
	at = rq->rq_at_us > 0 ? rq->rq_at_us : now;
	pthread_mutex_lock(&st->st_lock);
	i = st->st_cap ? rl_mem_find(st, h1, h2, &found) : (found = 0);
	tat = found ? st->st_slot[i].s_tat : at;
	if (sign < 0) {
		if (found && (tat -= cost) <= now)
			rl_mem_delete(m, st, i);
		else if (found) {
			st->st_slot[i].s_tat = tat;
			rl_mem_note(st, tat);
		}
		pthread_mutex_unlock(&st->st_lock);
		return (RL_OK);
	}
	if (tat < at)
		tat = at;
	if (tat + cost - at > limit) {
		pthread_mutex_unlock(&st->st_lock);
		*retry_us = tat + cost - at - limit;
		return (RL_OVER);
	}
	if (!found) {
		if (rl_mem_room(m, st, h1, now) == -1) {
			pthread_mutex_unlock(&st->st_lock);
			return (RL_DOWN);
		}
		i = rl_mem_find(st, h1, h2, &found);
		st->st_slot[i].s_h1 = h1;
		st->st_slot[i].s_h2 = h2;
		st->st_count++;
		atomic_fetch_add(&m->m_count, 1);
	}
	st->st_slot[i].s_tat = tat + cost;
	rl_mem_note(st, tat + cost);
	pthread_mutex_unlock(&st->st_lock);
	return (RL_OK);
}

/* rl_mem_take - take every request's cost, or none */

enum rl_status
rl_mem_take(struct rl_mem *m, const struct rl_req *reqs, size_t n,
    int64_t now_us, size_t *over, int64_t *retry_us)
{
	enum rl_status st;
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((st = rl_mem_one(m, &reqs[i], 1, now_us, retry_us)) ==
		    RL_OK)
			continue;
		*over = i;
		while (i-- > 0)
			(void)rl_mem_one(m, &reqs[i], -1, now_us, retry_us);
		return (st);
	}
	return (RL_OK);
}

/* rl_mem_give - give back what a take took */

enum rl_status
rl_mem_give(struct rl_mem *m, const struct rl_req *reqs, size_t n,
    int64_t now_us)
{
	int64_t	unused;
	size_t	i;

	for (i = 0; i < n; i++)
		(void)rl_mem_one(m, &reqs[i], -1, now_us, &unused);
	return (RL_OK);
}

/* rl_mem_stats - keys held, memory used, buckets forgotten early */

void
rl_mem_stats(struct rl_mem *m, struct rl_mem_stats *st)
{
	size_t	i;

	memset(st, 0, sizeof(*st));
	st->ms_bytes = sizeof(*m);
	for (i = 0; i < RL_MEM_STRIPES; i++) {
		pthread_mutex_lock(&m->m_stripe[i].st_lock);
		st->ms_keys += m->m_stripe[i].st_count;
		st->ms_bytes += m->m_stripe[i].st_cap *
		    sizeof(struct rl_mem_slot);
		pthread_mutex_unlock(&m->m_stripe[i].st_lock);
	}
	st->ms_evicted = atomic_load(&m->m_evicted);
}

/* rl_mem_report - evictions to report now, at most once per every_us */

uint64_t
rl_mem_report(struct rl_mem *m, int64_t now_us, int64_t every_us,
    uint64_t *total, size_t *max_keys)
{
	uint64_t ev = atomic_load_explicit(&m->m_evicted,
	    memory_order_relaxed);
	int64_t	at;

	if (ev == atomic_load_explicit(&m->m_reported, memory_order_relaxed))
		return (0);
	at = atomic_load(&m->m_reported_at);
	if ((at != 0 && now_us - at < every_us) ||
	    !atomic_compare_exchange_strong(&m->m_reported_at, &at, now_us))
		return (0);
	*total = ev;
	*max_keys = m->m_max;
	return (ev - atomic_exchange(&m->m_reported, ev));
}
