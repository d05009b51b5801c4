/*
 * rl_redis_test - the Redis rate-limit backend against a private
 * redis-server. Run by rl_redis_test.sh, which starts redis-server on
 * 127.0.0.1:RL_REDIS_TEST_PORT and on the unix socket RL_REDIS_TEST_SOCK
 * and passes its pid in RL_REDIS_TEST_PID. Half-way this program stops
 * the server with SIGSTOP and resumes it with SIGCONT. A second hiredis
 * connection (ctl) looks at what the backend stored.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "rl_redis.h"
#include "tap.h"

#define T_HOUR		3600000000LL	/* us */
#define T_MS		1000LL
#define T_TIMEOUT_MS	200
#define T_THREADS	8
#define T_TAKES		500		/* per thread */
#define T_POOL		4
#define T_NOVAL		LLONG_MIN

struct t_worker {
	struct rl_redis *r;
	pthread_t thr;
	atomic_int *ok, *over, *down;
};

static redisContext *ctl;
static char t_server[64];
static const char *t_sock;
static pid_t t_pid;
static FILE *t_cap;
static int t_saved_fd = -1;

/* t_ms - CLOCK_MONOTONIC in milliseconds */

static double
t_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6);
}

/* t_sleep - sleep ms milliseconds */

static void
t_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* t_new_user - a backend that logs in as user (Redis 6 ACL), or NULL */

static struct rl_redis *
t_new_user(const char *server, const char *user, const char *pass, int db,
    int max_conns)
{
	struct rl_redis_conf rc;
	struct rl_redis *r;
	char	err[256] = "";

	memset(&rc, 0, sizeof(rc));
	rc.rc_server = server;
	rc.rc_username = user;
	rc.rc_password = pass;
	rc.rc_db = db;
	rc.rc_connect_timeout_ms = 500;
	rc.rc_timeout_ms = T_TIMEOUT_MS;
	rc.rc_max_conns = max_conns;
	if ((r = rl_redis_new(&rc, err, sizeof(err))) == NULL)
		TAP_OK(0, "rl_redis_new %s: %s", server, err);
	return (r);
}

/* t_new - a backend with test timeouts, or NULL (a failed check) */

static struct rl_redis *
t_new(const char *server, const char *pass, int db, int max_conns)
{
	return (t_new_user(server, NULL, pass, db, max_conns));
}

/* t_req - fill one request */

static void
t_req(struct rl_req *rq, const char *key, int64_t iv, int64_t burst,
    int64_t cost)
{
	memset(rq, 0, sizeof(*rq));
	snprintf(rq->rq_key, sizeof(rq->rq_key), "%s", key);
	rq->rq_interval_us = iv;
	rq->rq_burst = burst;
	rq->rq_cost = cost;
}

/* t_take - take from one bucket */

static enum rl_status
t_take(struct rl_redis *r, const char *key, int64_t iv, int64_t burst,
    int64_t cost, size_t *over, int64_t *retry)
{
	struct rl_req rq;

	t_req(&rq, key, iv, burst, cost);
	return (rl_redis_take(r, &rq, 1, over, retry));
}

/* t_give - give back to one bucket */

static enum rl_status
t_give(struct rl_redis *r, const char *key, int64_t iv, int64_t cost)
{
	struct rl_req rq;

	t_req(&rq, key, iv, 1, cost);
	return (rl_redis_give(r, &rq, 1));
}

/* t_int - an integer (or integer-looking string) reply of ctl, or T_NOVAL */

static long long
t_int(const char *fmt, const char *arg)
{
	redisReply *rep;
	long long v = T_NOVAL;
	char   *end;

	if ((rep = redisCommand(ctl, fmt, arg)) == NULL)
		return (T_NOVAL);
	if (rep->type == REDIS_REPLY_INTEGER)
		v = rep->integer;
	else if (rep->type == REDIS_REPLY_STRING) {
		errno = 0;
		v = strtoll(rep->str, &end, 10);
		if (errno != 0 || *end != '\0' || end == rep->str)
			v = T_NOVAL;
	}
	freeReplyObject(rep);
	return (v);
}

/* t_ok - run a ctl command that answers +OK */

static int
t_ok(const char *fmt, const char *arg)
{
	redisReply *rep;
	int	ok;

	if ((rep = redisCommand(ctl, fmt, arg)) == NULL)
		return (0);
	ok = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	return (ok);
}

/* t_now - the server's clock in microseconds */

static long long
t_now(void)
{
	redisReply *rep;
	long long v = T_NOVAL;

	if ((rep = redisCommand(ctl, "TIME")) == NULL)
		return (T_NOVAL);
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2)
		v = atoll(rep->element[0]->str) * 1000000LL +
		    atoll(rep->element[1]->str);
	freeReplyObject(rep);
	return (v);
}

/* t_info - the value of field in INFO section, or "" */

static void
t_info(const char *section, const char *field, char *buf, size_t len)
{
	redisReply *rep;
	const char *p;
	size_t	n;

	buf[0] = '\0';
	if ((rep = redisCommand(ctl, "INFO %s", section)) == NULL)
		return;
	if (rep->type == REDIS_REPLY_STRING &&
	    (p = strstr(rep->str, field)) != NULL) {
		p += strlen(field);
		n = strcspn(p, "\r\n");
		snprintf(buf, len, "%.*s", (int)n, p);
	}
	freeReplyObject(rep);
}

/* t_capture - send log lines (stderr) to a scratch file from now on */

static void
t_capture(void)
{
	fflush(stderr);
	if ((t_cap = tmpfile()) == NULL || (t_saved_fd = dup(2)) == -1 ||
	    dup2(fileno(t_cap), 2) == -1)
		printf("# cannot capture stderr: %s\n", strerror(errno));
}

/* t_captured - stop capturing; the lines written, as TAP comments too */

static void
t_captured(char *buf, size_t len)
{
	size_t	n = 0;
	char   *p, *nl;

	buf[0] = '\0';
	if (t_saved_fd != -1) {
		dup2(t_saved_fd, 2);
		close(t_saved_fd);
		t_saved_fd = -1;
	}
	if (t_cap == NULL)
		return;
	rewind(t_cap);
	n = fread(buf, 1, len - 1, t_cap);
	buf[n] = '\0';
	fclose(t_cap);
	t_cap = NULL;
	for (p = buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		printf("# log: %.*s\n", (int)(nl - p), p);
	}
}

/* t_count - occurrences of needle in s */

static int
t_count(const char *s, const char *needle)
{
	int	n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return (n);
}

/* test_specs - the server spec and the settings are checked strictly */

static void
test_specs(void)
{
	static const struct {
		const char *spec;
		int	ok;
	} rows[] = {
		{ "127.0.0.1:6379", 1 }, { "redis.example:1", 1 },
		{ "[::1]:65535", 1 }, { "[2001:db8::1]:6379", 1 },
		{ "unix:/run/redis/redis.sock", 1 },
		{ "", 0 }, { "localhost", 0 }, { "localhost:", 0 },
		{ ":6379", 0 }, { "host:0", 0 }, { "host:65536", 0 },
		{ "host:123456", 0 }, { "host:12ab", 0 }, { "host:+1", 0 },
		{ "host:-1", 0 }, { "host: 1", 0 }, { "bad host:1", 0 },
		{ "::1:6379", 0 }, { "[::1]", 0 }, { "[::1]:", 0 },
		{ "[::1]6379", 0 }, { "[nothost]:1", 0 }, { "[::1:6379", 0 },
		{ "unix:", 0 }, { "unix:relative.sock", 0 },
		{ "unix:/" "0123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789"
		  "01234567890123456789012345678901234567890", 0 },
	};
	struct rl_redis_conf rc;
	struct rl_redis *r;
	char	err[256];
	size_t	i;

	memset(&rc, 0, sizeof(rc));
	rc.rc_connect_timeout_ms = rc.rc_timeout_ms = 100;
	rc.rc_max_conns = 1;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc.rc_server = rows[i].spec;
		err[0] = '\0';
		r = rl_redis_new(&rc, err, sizeof(err));
		TAP_OK((r != NULL) == rows[i].ok && (r != NULL ||
		    err[0] != '\0') && (r == NULL ||
		    strcmp(rl_redis_name(r), rows[i].spec) == 0),
		    "server \"%s\" %s%s", rows[i].spec,
		    rows[i].ok ? "accepted" : "refused: ", err);
		rl_redis_free(r);
	}
	rc.rc_server = NULL;
	TAP_OK(rl_redis_new(&rc, err, sizeof(err)) == NULL,
	    "no server refused: %s", err);
	rc.rc_server = "127.0.0.1:6379";
	rc.rc_max_conns = 0;
	TAP_OK(rl_redis_new(&rc, err, sizeof(err)) == NULL,
	    "max_conns 0 refused: %s", err);
	rc.rc_max_conns = 1;
	rc.rc_timeout_ms = 0;
	TAP_OK(rl_redis_new(&rc, err, sizeof(err)) == NULL,
	    "timeout 0 refused: %s", err);
}

/* test_burst - exactly burst tokens; the retry time of the next one */

static void
test_burst(struct rl_redis *r)
{
	const char *k = "{t}:burst";
	int	i, ok = 0;
	size_t	over = 99;
	int64_t	retry = 0;
	enum rl_status st;

	for (i = 0; i < 5; i++)
		ok += t_take(r, k, T_HOUR, 5, 1, NULL, NULL) == RL_OK;
	TAP_OK(ok == 5, "burst 5: five takes of 1 succeed (%d)", ok);
	st = t_take(r, k, T_HOUR, 5, 1, &over, &retry);
	TAP_OK(st == RL_OVER && over == 0,
	    "the sixth is RL_OVER (%d), over = 0 (%zu)", st, over);
	TAP_OK(retry > T_HOUR - 5000 * T_MS && retry <= T_HOUR,
	    "retry_us %lld is about one interval", (long long)retry);

	t_int("DEL %s", k);
	TAP_OK(t_take(r, k, T_HOUR, 5, 3, NULL, NULL) == RL_OK,
	    "cost 3 of 5 taken");
	st = t_take(r, k, T_HOUR, 5, 3, &over, &retry);
	TAP_OK(st == RL_OVER && retry > T_HOUR - 5000 * T_MS &&
	    retry <= T_HOUR, "cost 3 when 2 remain: RL_OVER (%d), retry "
	    "%lld us", st, (long long)retry);
	TAP_OK(t_take(r, k, T_HOUR, 5, 2, NULL, NULL) == RL_OK,
	    "cost 2 when 2 remain: taken");
	TAP_OK(t_take(r, k, T_HOUR, 5, 1, NULL, NULL) == RL_OVER,
	    "then empty: RL_OVER");
	TAP_OK(t_take(r, "{t}:big", T_HOUR, 5, 6, &over, &retry) ==
	    RL_OVER && retry > T_HOUR - 5000 * T_MS && retry <= T_HOUR &&
	    t_int("EXISTS %s", "{t}:big") == 0,
	    "cost 6 > burst 5 on a full bucket: RL_OVER, nothing stored");
}

/* test_all - several buckets: all or nothing, first refusal reported */

static void
test_all(struct rl_redis *r)
{
	struct rl_req rq[2];
	long long a0, b0;
	size_t	over = 99;
	enum rl_status st;
	int	i;

	t_req(&rq[0], "{t}:all-a", T_HOUR, 5, 1);
	t_req(&rq[1], "{t}:all-b", T_HOUR, 2, 1);
	for (i = 0; i < 2; i++)
		TAP_OK(rl_redis_take(r, rq, 2, &over, NULL) == RL_OK,
		    "two buckets: take %d taken from both", i + 1);
	a0 = t_int("GET %s", rq[0].rq_key);
	b0 = t_int("GET %s", rq[1].rq_key);
	st = rl_redis_take(r, rq, 2, &over, NULL);
	TAP_OK(st == RL_OVER && over == 1,
	    "second bucket empty: RL_OVER (%d), over = 1 (%zu)", st, over);
	TAP_OK(a0 != T_NOVAL && t_int("GET %s", rq[0].rq_key) == a0 &&
	    t_int("GET %s", rq[1].rq_key) == b0,
	    "the first bucket's TAT is unchanged (%lld)", a0);
	TAP_OK(rl_redis_take(r, &rq[1], 1, &over, NULL) == RL_OVER &&
	    rl_redis_take(r, rq, 1, NULL, NULL) == RL_OK,
	    "each bucket alone: the second refuses, the first still gives");

	t_req(&rq[0], "{t}:twice", T_HOUR, 3, 2);
	t_req(&rq[1], "{t}:twice", T_HOUR, 3, 2);
	st = rl_redis_take(r, rq, 2, &over, NULL);
	TAP_OK(st == RL_OVER && over == 1 &&
	    t_int("EXISTS %s", rq[0].rq_key) == 0,
	    "one key named twice is charged twice: 2 + 2 > 3 refused (%d)",
	    st);
	rq[0].rq_cost = rq[1].rq_cost = 1;
	TAP_OK(rl_redis_take(r, rq, 2, NULL, NULL) == RL_OK &&
	    t_take(r, rq[0].rq_key, T_HOUR, 3, 1, NULL, NULL) == RL_OK &&
	    t_take(r, rq[0].rq_key, T_HOUR, 3, 1, NULL, NULL) == RL_OVER,
	    "1 + 1 taken, so exactly one more fits");
}

/* test_give - refunds restore tokens; a full bucket has no key */

static void
test_give(struct rl_redis *r)
{
	const char *k = "{t}:give";
	int	i, ok = 0;

	for (i = 0; i < 6; i++)
		ok += t_take(r, k, T_HOUR, 5, 1, NULL, NULL) == RL_OK;
	TAP_OK(ok == 5, "give: bucket emptied (%d taken)", ok);
	TAP_OK(t_give(r, k, T_HOUR, 2) == RL_OK, "two tokens given back");
	TAP_OK(t_take(r, k, T_HOUR, 5, 1, NULL, NULL) == RL_OK &&
	    t_take(r, k, T_HOUR, 5, 1, NULL, NULL) == RL_OK,
	    "then two takes succeed");
	TAP_OK(t_take(r, k, T_HOUR, 5, 1, NULL, NULL) == RL_OVER,
	    "and a third fails");
	TAP_OK(t_give(r, "{t}:give-none", T_HOUR, 3) == RL_OK &&
	    t_int("EXISTS %s", "{t}:give-none") == 0,
	    "giving to a full bucket stores nothing");
	TAP_OK(t_take(r, "{t}:give-all", T_HOUR, 5, 2, NULL, NULL) == RL_OK &&
	    t_int("EXISTS %s", "{t}:give-all") == 1 &&
	    t_give(r, "{t}:give-all", T_HOUR, 2) == RL_OK &&
	    t_int("EXISTS %s", "{t}:give-all") == 0,
	    "giving everything back deletes the key");
}

/* test_rate - tokens come back at the interval */

static void
test_rate(struct rl_redis *r)
{
	const char *k = "{t}:rate";
	int64_t	iv = 100 * T_MS, retry = 0;
	enum rl_status st;

	TAP_OK(t_take(r, k, iv, 1, 1, NULL, NULL) == RL_OK,
	    "interval 100 ms, burst 1: take");
	st = t_take(r, k, iv, 1, 1, NULL, &retry);
	TAP_OK(st == RL_OVER && retry > 50 * T_MS && retry <= iv,
	    "immediate take refused (%d), retry %lld us", st,
	    (long long)retry);
	t_sleep(120);
	TAP_OK(t_take(r, k, iv, 1, 1, NULL, NULL) == RL_OK,
	    "120 ms later: taken");
}

/* test_expiry - keys expire when the bucket would be full */

static void
test_expiry(struct rl_redis *r)
{
	const char *k = "{t}:exp";
	long long tat, now, pttl;
	char	raw[64] = "";
	redisReply *rep;

	TAP_OK(t_take(r, k, T_HOUR, 5, 2, NULL, NULL) == RL_OK,
	    "expiry: 2 of 5 taken");
	tat = t_int("GET %s", k);
	now = t_now();
	pttl = t_int("PTTL %s", k);
	TAP_OK(tat != T_NOVAL && tat > now + 2 * T_HOUR - 5000 * T_MS &&
	    tat <= now + 2 * T_HOUR, "TAT %lld is now + 2 intervals", tat);
	TAP_OK(pttl > 0 && llabs(pttl - (tat - now) / 1000) < 100,
	    "PTTL %lld ms = TAT - now (%lld ms)", pttl, (tat - now) / 1000);
	if ((rep = redisCommand(ctl, "GET %s", k)) != NULL) {
		if (rep->type == REDIS_REPLY_STRING)
			snprintf(raw, sizeof(raw), "%s", rep->str);
		freeReplyObject(rep);
	}
	TAP_OK(raw[0] != '\0' && strspn(raw, "0123456789") == strlen(raw),
	    "the TAT is stored as a plain integer (\"%s\")", raw);
	TAP_OK(t_take(r, "{t}:exp2", 100 * T_MS, 1, 1, NULL, NULL) == RL_OK,
	    "interval 100 ms, burst 1: taken");
	pttl = t_int("PTTL %s", "{t}:exp2");
	TAP_OK(pttl > 0 && pttl <= 100, "its PTTL is %lld ms", pttl);
	t_sleep(150);
	TAP_OK(t_int("EXISTS %s", "{t}:exp2") == 0,
	    "150 ms later the full bucket has no key");
}

/* test_shared - two backends (two relays) share one budget */

static void
test_shared(struct rl_redis *r1)
{
	struct rl_redis *r2;
	int	i, ok1 = 0, ok2 = 0;

	if ((r2 = t_new(t_server, NULL, 0, 2)) == NULL)
		return;
	for (i = 0; i < 10; i++) {
		ok1 += t_take(r1, "{t}:shared", T_HOUR, 5, 1, NULL, NULL) ==
		    RL_OK;
		ok2 += t_take(r2, "{t}:shared", T_HOUR, 5, 1, NULL, NULL) ==
		    RL_OK;
	}
	TAP_OK(ok1 + ok2 == 5 && ok1 == 3 && ok2 == 2,
	    "two relays alternating: %d + %d = 5 taken in total", ok1, ok2);
	rl_redis_free(r2);
}

/* test_worker - one thread's takes */

static void *
test_worker(void *arg)
{
	struct t_worker *w = arg;
	enum rl_status st;
	int	i;

	for (i = 0; i < T_TAKES; i++) {
		st = t_take(w->r, "{t}:threads", T_HOUR, 1000, 1, NULL, NULL);
		atomic_fetch_add(st == RL_OK ? w->ok : st == RL_OVER ?
		    w->over : w->down, 1);
	}
	return (NULL);
}

/* test_threads - many threads on one bucket: never more than burst */

static void
test_threads(void)
{
	struct t_worker w[T_THREADS];
	struct rl_redis *r;
	atomic_int ok = 0, over = 0, down = 0;
	char	before[32], after[32];
	int	i;

	if ((r = t_new(t_server, NULL, 0, T_POOL)) == NULL)
		return;
	t_info("clients", "connected_clients:", before, sizeof(before));
	for (i = 0; i < T_THREADS; i++) {
		w[i].r = r;
		w[i].ok = &ok;
		w[i].over = &over;
		w[i].down = &down;
		if (pthread_create(&w[i].thr, NULL, test_worker, &w[i]) != 0)
			log_fatalx("pthread_create");
	}
	for (i = 0; i < T_THREADS; i++)
		pthread_join(w[i].thr, NULL);
	t_info("clients", "connected_clients:", after, sizeof(after));
	TAP_OK(ok == 1000 && over == T_THREADS * T_TAKES - 1000 && down == 0,
	    "%d threads x %d takes, burst 1000: %d taken, %d over, %d down",
	    T_THREADS, T_TAKES, (int)ok, (int)over, (int)down);
	TAP_OK(atoi(after) - atoi(before) >= 1 &&
	    atoi(after) - atoi(before) <= T_POOL,
	    "the pool opened 1..%d connections (%d)", T_POOL,
	    atoi(after) - atoi(before));
	rl_redis_free(r);
}

/* test_noscript - EVALSHA is used; SCRIPT FLUSH is survived */

static void
test_noscript(struct rl_redis *r)
{
	char	eval[128], sha[128];
	int	i, ok = 0;

	t_take(r, "{t}:ns", T_HOUR, 100, 1, NULL, NULL);
	t_ok("CONFIG RESETSTAT", NULL);
	for (i = 0; i < 3; i++)
		ok += t_take(r, "{t}:ns", T_HOUR, 100, 1, NULL, NULL) == RL_OK;
	t_info("commandstats", "cmdstat_evalsha:calls=", sha, sizeof(sha));
	t_info("commandstats", "cmdstat_eval:calls=", eval, sizeof(eval));
	TAP_OK(ok == 3 && atoi(sha) == 3 && eval[0] == '\0',
	    "3 takes are 3 EVALSHA (%s), no EVAL (%s): the SHA1 is right",
	    sha, eval);
	TAP_OK(t_ok("SCRIPT FLUSH", NULL), "SCRIPT FLUSH");
	TAP_OK(t_take(r, "{t}:ns", T_HOUR, 100, 1, NULL, NULL) == RL_OK &&
	    t_int("GET %s", "{t}:ns") > t_now() + 4 * T_HOUR,
	    "after SCRIPT FLUSH the next take works (and counts)");
	TAP_OK(t_ok("SCRIPT FLUSH", NULL) &&
	    t_give(r, "{t}:ns", T_HOUR, 1) == RL_OK &&
	    t_int("GET %s", "{t}:ns") < t_now() + 4 * T_HOUR,
	    "after SCRIPT FLUSH the next give works (and counts)");
	t_take(r, "{t}:ns", T_HOUR, 100, 1, NULL, NULL);	/* EVAL */
	t_ok("CONFIG RESETSTAT", NULL);
	t_take(r, "{t}:ns", T_HOUR, 100, 1, NULL, NULL);
	t_give(r, "{t}:ns", T_HOUR, 1);
	t_info("commandstats", "cmdstat_evalsha:calls=", sha, sizeof(sha));
	t_info("commandstats", "cmdstat_eval:calls=", eval, sizeof(eval));
	TAP_OK(atoi(sha) == 2 && eval[0] == '\0',
	    "both scripts are cached again: 2 EVALSHA (%s), no EVAL (%s)",
	    sha, eval);
}

/* test_db_unix - SELECT db; a unix socket; IPv6 if the host has it */

static void
test_db_unix(void)
{
	const char *v6 = getenv("RL_REDIS_TEST_V6");
	struct rl_redis *r;
	char	spec[256];

	if ((r = t_new(t_server, NULL, 3, 1)) != NULL) {
		TAP_OK(t_take(r, "{t}:db", T_HOUR, 5, 1, NULL, NULL) == RL_OK,
		    "db 3: taken");
		t_ok("SELECT 3", NULL);
		TAP_OK(t_int("EXISTS %s", "{t}:db") == 1, "the key is in db 3");
		t_ok("SELECT 0", NULL);
		TAP_OK(t_int("EXISTS %s", "{t}:db") == 0, "and not in db 0");
		rl_redis_free(r);
	}
	snprintf(spec, sizeof(spec), "unix:%s", t_sock);
	if ((r = t_new(spec, NULL, 0, 1)) != NULL) {
		TAP_OK(t_take(r, "{t}:unix", T_HOUR, 5, 1, NULL, NULL) ==
		    RL_OK && t_int("EXISTS %s", "{t}:unix") == 1,
		    "over the unix socket: taken");
		rl_redis_free(r);
	}
	if (v6 == NULL || strcmp(v6, "1") != 0) {
		TAP_OK(1, "over [::1] # SKIP no [::1] on this host");
		return;
	}
	snprintf(spec, sizeof(spec), "[::1]%s", strchr(t_server, ':'));
	if ((r = t_new(spec, NULL, 0, 1)) != NULL) {
		TAP_OK(t_take(r, "{t}:v6", T_HOUR, 5, 1, NULL, NULL) == RL_OK &&
		    t_int("EXISTS %s", "{t}:v6") == 1, "over %s: taken", spec);
		rl_redis_free(r);
	}
}

/* test_auth_one - one password against a server that requires one */

static void
test_auth_one(const char *pass, enum rl_status want, const char *label)
{
	struct rl_redis *r;
	enum rl_status st;
	char	log[4096];

	if ((r = t_new(t_server, pass, 0, 1)) == NULL)
		return;
	t_capture();
	st = t_take(r, "{t}:auth", T_HOUR, 5, 1, NULL, NULL);
	t_captured(log, sizeof(log));
	TAP_OK(st == want && rl_redis_up(r) == (want != RL_DOWN),
	    "%s: status %d, up %d", label, st, rl_redis_up(r));
	if (want == RL_DOWN)
		TAP_OK(t_count(log, "unreachable") == 1 &&
		    (pass == NULL || strstr(log, pass) == NULL) &&
		    (strstr(log, "WRONGPASS") != NULL ||
		    strstr(log, "NOAUTH") != NULL),
		    "%s: one log line with the server's error, no password",
		    label);
	rl_redis_free(r);
}

/* test_auth - AUTH on connect; a wrong password is RL_DOWN */

static void
test_auth(void)
{
	if (!t_ok("CONFIG SET requirepass %s", "s3cret-pw")) {
		TAP_OK(0, "CONFIG SET requirepass");
		return;
	}
	test_auth_one("wrong-pw", RL_DOWN, "wrong password");
	test_auth_one(NULL, RL_DOWN, "no password");
	test_auth_one("s3cret-pw", RL_OK, "right password");
	TAP_OK(t_ok("CONFIG SET requirepass %s", ""), "requirepass reset");
}

/*
 * test_acl - AUTH USERNAME PASSWORD: a Redis 6 ACL user limited to the
 * keys of one prefix (the recipe of egress-milter.conf(5)) takes and
 * gives back; a wrong password, or a key outside its pattern, is RL_DOWN
 * with the server's error logged (proof that the session is that user's,
 * not the default user's).
 */
static void
test_acl(void)
{
	struct rl_redis *r;
	enum rl_status st;
	char	log[4096];

	if (!t_ok("ACL SETUSER relay-t on >acl-pw-1 resetkeys %s "
	    "resetchannels -@all +evalsha +eval +get +set +del +time "
	    "+select", "~{t}:*")) {
		TAP_OK(0, "ACL SETUSER (Redis 6 or later)");
		return;
	}
	if ((r = t_new_user(t_server, "relay-t", "acl-pw-1", 0, 1)) != NULL) {
		TAP_OK(t_take(r, "{t}:acl", T_HOUR, 5, 1, NULL, NULL) ==
		    RL_OK && t_int("EXISTS %s", "{t}:acl") == 1,
		    "ACL user: taken within its key pattern");
		TAP_OK(t_give(r, "{t}:acl", T_HOUR, 1) == RL_OK,
		    "ACL user: given back");
		t_capture();
		st = t_take(r, "{other}:acl", T_HOUR, 5, 1, NULL, NULL);
		t_captured(log, sizeof(log));
		TAP_OK(st == RL_DOWN && strstr(log, "NOPERM") != NULL &&
		    t_int("EXISTS %s", "{other}:acl") == 0,
		    "ACL user: a key outside its pattern is refused by the "
		    "server (NOPERM), nothing written");
		rl_redis_free(r);
	}
	if ((r = t_new_user(t_server, "relay-t", "wrong-pw", 0, 1)) != NULL) {
		t_capture();
		st = t_take(r, "{t}:acl2", T_HOUR, 5, 1, NULL, NULL);
		t_captured(log, sizeof(log));
		TAP_OK(st == RL_DOWN && strstr(log, "WRONGPASS") != NULL &&
		    strstr(log, "wrong-pw") == NULL,
		    "ACL user, wrong password: down, the server's error "
		    "logged, not the password");
		rl_redis_free(r);
	}
	TAP_OK(t_int("ACL DELUSER %s", "relay-t") == 1, "ACL DELUSER");
}

/* test_refused - nothing listening: RL_DOWN at once */

static void
test_refused(void)
{
	struct rl_redis *r;
	enum rl_status st;
	char	log[4096];
	double	dt;

	if ((r = t_new("127.0.0.1:1", NULL, 0, 1)) == NULL)
		return;
	TAP_OK(rl_redis_up(r) == 1, "up before the first contact");
	t_capture();
	dt = t_ms();
	st = t_take(r, "{t}:x", T_HOUR, 5, 1, NULL, NULL);
	dt = t_ms() - dt;
	t_captured(log, sizeof(log));
	TAP_OK(st == RL_DOWN && dt < 1000 && rl_redis_up(r) == 0 &&
	    t_count(log, "Connection refused") == 1,
	    "connection refused: RL_DOWN after %.0f ms, down, logged", dt);
	rl_redis_free(r);
}

/* test_down_fast - while down, calls fail at once; n calls, the slowest */

static double
test_down_fast(struct rl_redis *r, int n, int *bad)
{
	double	t0, dt, max = 0;
	int	i;

	*bad = 0;
	for (i = 0; i < n; i++) {
		t0 = t_ms();
		if (t_take(r, "{t}:down", 1000 * T_MS, 1000, 1, NULL, NULL) !=
		    RL_DOWN)
			(*bad)++;
		if ((dt = t_ms() - t0) > max)
			max = dt;
	}
	return (max);
}

/* test_down_probe - one call that must try the server: about the timeout */

static int
test_down_probe(struct rl_redis *r, double *dt)
{
	double	t0 = t_ms();
	enum rl_status st;

	st = t_take(r, "{t}:down", 1000 * T_MS, 1000, 1, NULL, NULL);
	*dt = t_ms() - t0;
	return (st == RL_DOWN && *dt >= T_TIMEOUT_MS * 0.75 && *dt < 1000);
}

/* test_down - a stopped server: timeout, fail fast, backoff, recovery */

static void
test_down(struct rl_redis *r)
{
	char	log[8192];
	double	dt, t0;
	int	bad, ok;

	TAP_OK(t_take(r, "{t}:down", 1000 * T_MS, 1000, 1, NULL, NULL) ==
	    RL_OK, "down: a take before the outage");
	t_capture();
	if (kill(t_pid, SIGSTOP) != 0)
		printf("# kill -STOP %ld: %s\n", (long)t_pid, strerror(errno));
	ok = test_down_probe(r, &dt);
	TAP_OK(ok, "server stopped: RL_DOWN after %.0f ms (timeout %d)", dt,
	    T_TIMEOUT_MS);
	dt = test_down_fast(r, 5, &bad);
	TAP_OK(bad == 0 && dt < 10 && rl_redis_up(r) == 0,
	    "the next 5 calls: RL_DOWN within %.2f ms, up = 0", dt);
	t_sleep(120);
	ok = test_down_probe(r, &dt);
	TAP_OK(ok, "after the 100 ms backoff one call tries (%.0f ms)", dt);
	dt = test_down_fast(r, 1, &bad);
	t_sleep(120);
	dt += test_down_fast(r, 1, &bad);
	TAP_OK(bad == 0 && dt < 20,
	    "the backoff has doubled: 120 ms later still failing fast");
	t_sleep(120);
	ok = test_down_probe(r, &dt);
	TAP_OK(ok, "after 200 ms one call tries again (%.0f ms)", dt);
	if (kill(t_pid, SIGCONT) != 0)
		printf("# kill -CONT %ld: %s\n", (long)t_pid, strerror(errno));
	t0 = t_ms();
	while (t_take(r, "{t}:down", 1000 * T_MS, 1000, 1, NULL, NULL) !=
	    RL_OK && t_ms() - t0 < 5000)
		t_sleep(20);
	dt = t_ms() - t0;
	TAP_OK(dt < 1000 && rl_redis_up(r) == 1,
	    "server resumed: RL_OK again after %.0f ms, up = 1", dt);
	t_captured(log, sizeof(log));
	TAP_OK(t_count(log, "unreachable") == 1 &&
	    t_count(log, "retrying with backoff") == 1 &&
	    t_count(log, "reachable again") == 1,
	    "one log line going down, one coming back");
}

/* test_connect - the control connection; -1 when there is no server */

static int
test_connect(const char *port)
{
	snprintf(t_server, sizeof(t_server), "127.0.0.1:%s", port);
	ctl = redisConnect("127.0.0.1", atoi(port));
	if (ctl == NULL || ctl->err != 0) {
		printf("Bail out! cannot connect to redis on port %s: %s\n",
		    port, ctl != NULL ? ctl->errstr : "out of memory");
		return (-1);
	}
	return (t_ok("FLUSHALL", NULL) ? 0 : -1);
}

int
main(void)
{
	const char *port = getenv("RL_REDIS_TEST_PORT");
	const char *pid = getenv("RL_REDIS_TEST_PID");
	struct rl_redis *r;

	t_sock = getenv("RL_REDIS_TEST_SOCK");
	if (port == NULL || pid == NULL || t_sock == NULL) {
		printf("1..0 # SKIP needs redis-server "
		    "(run via rl_redis_test.sh)\n");
		return (0);
	}
	t_pid = (pid_t)atol(pid);
	signal(SIGPIPE, SIG_IGN);
	log_init("rl_redis_test", 1, 0);
	if (test_connect(port) == -1) {
		redisFree(ctl);
		return (1);
	}
	test_specs();
	if ((r = t_new(t_server, NULL, 0, 2)) != NULL) {
		test_burst(r);
		test_all(r);
		test_give(r);
		test_rate(r);
		test_expiry(r);
		test_shared(r);
		test_noscript(r);
		test_down(r);
		rl_redis_free(r);
	}
	test_threads();
	test_db_unix();
	test_auth();
	test_acl();
	test_refused();
	redisFree(ctl);
	return (tap_done());
}
