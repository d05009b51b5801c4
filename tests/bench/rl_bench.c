/*
 * rl_bench - how fast and how big the rate limiter is (a benchmark, not a
 * test: it prints figures and asserts nothing)
 *
 *	rl_bench [-k KEYS] [-n CHECKS] [-r HOST:PORT]
 *
 * Memory backend: checks per second on one thread and on every core, each
 * check one bucket of KEYS distinct keys (default 1,000,000) taken at random;
 * then the store's size with all KEYS buckets live (bytes per key, and the
 * process's RSS before and after). A "message" of three limits (tenant,
 * login, recipient domain) is one call of three buckets.
 *
 * Redis backend (with -r): one message's check (three buckets, one round
 * trip) timed one at a time: median and 99th percentile latency; then
 * messages per second from 8 threads sharing the connection pool.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rl_backend.h"
#include "rl_mem.h"
#ifdef HAVE_HIREDIS
#include "rl_redis.h"
#endif

#define S	1000000LL

static long	nkeys = 1000000;
static long	nchecks = 4000000;
static struct rl_mem *mem;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

static long
rss_kb(void)
{
	char	line[256];
	long	kb = -1;
	FILE   *fp = fopen("/proc/self/status", "r");

	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (fp != NULL)
		fclose(fp);
	return (kb);
}

static void
mkreq(struct rl_req *r, const char *part, unsigned long k)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->rq_key, sizeof(r->rq_key), "{egress}:rl:*:%s:1h:key%lu",
	    part, k);
	r->rq_interval_us = 36 * S;	/* 100/1h */
	r->rq_burst = 100;
	r->rq_cost = 1;
}

static void *
mem_worker(void *arg)
{
	unsigned long seed = (unsigned long)arg, k;
	struct rl_req r;
	int64_t	retry, now = 1700000000LL * S;
	size_t	over;
	long	i;

	for (i = 0; i < nchecks; i++) {
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		k = (seed >> 33) % (unsigned long)nkeys;
		mkreq(&r, "bench", k);
		(void)rl_mem_take(mem, &r, 1, now + i, &over, &retry);
	}
	return (NULL);
}

static void
bench_mem(int threads)
{
	pthread_t t[64];
	double	t0, dt;
	int	i;

	t0 = now_s();
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, mem_worker, (void *)(long)(i + 1));
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	dt = now_s() - t0;
	printf("memory: %d thread(s): %.2f M checks/s (%ld checks each, "
	    "%ld keys)\n", threads, threads * nchecks / dt / 1e6, nchecks,
	    nkeys);
}

static void
bench_mem_size(void)
{
	struct rl_mem *m;
	struct rl_mem_stats st;
	struct rl_req r;
	int64_t	retry;
	size_t	over;
	long	before, after, k;

	before = rss_kb();
	m = rl_mem_new((size_t)nkeys);
	for (k = 0; k < nkeys; k++) {
		mkreq(&r, "size", (unsigned long)k);
		(void)rl_mem_take(m, &r, 1, 1700000000LL * S, &over, &retry);
	}
	after = rss_kb();
	rl_mem_stats(m, &st);
	printf("memory: %zu live buckets (max_keys %ld): tables %zu bytes "
	    "(%.1f bytes/key), RSS +%ld KiB (%.1f bytes/key), %llu evicted\n",
	    st.ms_keys, nkeys, st.ms_bytes, (double)st.ms_bytes / st.ms_keys,
	    after - before, (after - before) * 1024.0 / st.ms_keys,
	    (unsigned long long)st.ms_evicted);
	rl_mem_free(m);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static void
message_reqs(struct rl_req *r, unsigned long i)
{
	mkreq(&r[0], "tenant", i % 1000);
	mkreq(&r[1], "login", i % 5000);
	mkreq(&r[2], "rcpt", i % 300);
	r[0].rq_burst = r[1].rq_burst = r[2].rq_burst = 10000000;
}

static void
bench_mem_message(void)
{
	struct rl_req r[3];
	int64_t	retry;
	size_t	over;
	double	t0, dt;
	long	i, n = 1000000;

	t0 = now_s();
	for (i = 0; i < n; i++) {
		message_reqs(r, (unsigned long)i);
		(void)rl_mem_take(mem, r, 3, 1700000000LL * S + i, &over,
		    &retry);
	}
	dt = now_s() - t0;
	printf("memory: one message, 3 limits: %.2f us\n", dt / n * 1e6);
}

#ifdef HAVE_HIREDIS
static struct rl_redis *redis;

static void *
redis_worker(void *arg)
{
	struct rl_req r[3];
	int64_t	retry;
	size_t	over;
	long	i, n = (long)arg;

	for (i = 0; i < n; i++) {
		message_reqs(r, (unsigned long)i);
		if (rl_redis_take(redis, r, 3, &over, &retry) == RL_DOWN)
			return ((void *)1);
	}
	return (NULL);
}

static void
bench_redis(const char *server)
{
	struct rl_redis_conf rc;
	struct rl_req r[3];
	pthread_t t[8];
	char	err[256];
	double	lat[5000], t0, dt;
	int64_t	retry;
	size_t	over;
	int	i, n = 5000, down = 0;
	void   *res;

	memset(&rc, 0, sizeof(rc));
	rc.rc_server = server;
	rc.rc_connect_timeout_ms = 500;
	rc.rc_timeout_ms = 500;
	rc.rc_max_conns = 8;
	if ((redis = rl_redis_new(&rc, err, sizeof(err))) == NULL) {
		printf("redis: %s\n", err);
		return;
	}
	for (i = 0; i < n; i++) {
		message_reqs(r, (unsigned long)i);
		t0 = now_s();
		if (rl_redis_take(redis, r, 3, &over, &retry) == RL_DOWN)
			down++;
		lat[i] = (now_s() - t0) * 1e6;
	}
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_double);
	printf("redis: one message, 3 limits, one round trip: p50 %.0f us, "
	    "p99 %.0f us (%d of %d unanswered)\n", lat[n / 2],
	    lat[n * 99 / 100], down, n);
	t0 = now_s();
	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, redis_worker, (void *)20000L);
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], &res);
		down += res != NULL;
	}
	dt = now_s() - t0;
	printf("redis: 8 threads: %.0f messages/s (%.0f bucket checks/s)%s\n",
	    8 * 20000 / dt, 3 * 8 * 20000 / dt, down ? " (errors)" : "");
	rl_redis_free(redis);
}
#endif

int
main(int argc, char **argv)
{
	const char *server = NULL;
	long	cores = sysconf(_SC_NPROCESSORS_ONLN);
	int	ch;

	while ((ch = getopt(argc, argv, "k:n:r:")) != -1) {
		switch (ch) {
		case 'k': nkeys = atol(optarg); break;
		case 'n': nchecks = atol(optarg); break;
		case 'r': server = optarg; break;
		default:
			fprintf(stderr, "usage: rl_bench [-k KEYS] [-n CHECKS] "
			    "[-r HOST:PORT]\n");
			return (2);
		}
	}
	mem = rl_mem_new((size_t)nkeys);
	bench_mem(1);
	if (cores > 1)
		bench_mem((int)(cores > 64 ? 64 : cores));
	bench_mem_message();
	rl_mem_free(mem);
	bench_mem_size();
#ifdef HAVE_HIREDIS
	if (server != NULL)
		bench_redis(server);
#else
	if (server != NULL)
		printf("redis: built without hiredis\n");
#endif
	return (0);
}
