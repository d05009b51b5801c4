/*
 * NAME
 *	rl_redis - rate-limit buckets (GCRA) kept in Redis
 * SYNOPSIS
 *	#include "rl_redis.h"
 *
 *	struct rl_redis *rl_redis_new(const struct rl_redis_conf *conf,
 *		    char *err, size_t errlen);
 *	void	rl_redis_free(struct rl_redis *r);
 *	enum rl_status rl_redis_take(struct rl_redis *r,
 *		    const struct rl_req *reqs, size_t n, size_t *over,
 *		    int64_t *retry_us);
 *	enum rl_status rl_redis_give(struct rl_redis *r,
 *		    const struct rl_req *reqs, size_t n);
 *	int	rl_redis_up(const struct rl_redis *r);
 *	const char *rl_redis_name(const struct rl_redis *r);
 * DESCRIPTION
 *	Each bucket is one Redis string, the bucket's TAT in microseconds
 *	of the server's clock (redis TIME, so every relay sharing the
 *	server shares one clock), stored with an expiry of TAT - now
 *	(PX, rounded up): a key that has gone is a full bucket.
 *
 *	rl_redis_take() takes rq_cost tokens from every bucket of reqs, or
 *	from none of them: one Lua script, run with EVALSHA in one round
 *	trip, first checks every bucket and writes only when all allow.
 *	KEYS are the rq_key strings, verbatim (for Redis Cluster the caller
 *	puts one hash tag in all keys of a call); ARGV holds interval,
 *	burst and cost of each key. A key named twice is charged twice.
 *	RL_OVER sets *over to the index of the first bucket that refused
 *	and *retry_us to the time until it would allow the cost (either
 *	pointer may be NULL). rl_redis_give() gives cost tokens back in the
 *	same way; a bucket that becomes full is deleted. The SHA1 of each
 *	script is computed by rl_redis_new(); a NOSCRIPT reply (after a
 *	restart or SCRIPT FLUSH) is answered by one EVAL, which also
 *	caches the script again. The scripts format numbers with %.0f (Lua
 *	numbers are doubles), so requests whose burst * interval or
 *	cost * interval exceed RL_REDIS_SPAN_MAX are refused, as are empty
 *	keys, values below 1 and more than RL_REDIS_KEYS_MAX buckets.
 *
 *	Connections: a pool of at most rc_max_conns blocking hiredis
 *	contexts under a mutex. A caller takes an idle context, or opens
 *	a new one while the pool is not full, or waits for one to come
 *	back. Opening connects with rc_connect_timeout_ms (a host name is
 *	resolved by getaddrinfo(3), which that bound does not cover), sets
 *	rc_timeout_ms as the socket's send and receive timeout, turns on
 *	TCP keepalive, and sends AUTH (AUTH USERNAME PASSWORD with
 *	rc_username, Redis 6 ACL users) and SELECT when configured. A context
 *	that saw any error is closed, never reused.
 *
 *	Any failure (connect, timeout, I/O, protocol, an error reply,
 *	including a failed AUTH) marks the server down: every idle
 *	connection is closed and calls return RL_DOWN at once, without
 *	network traffic, until the retry time. Then one caller tries while
 *	the others keep failing fast; each failed try doubles the delay,
 *	from RL_REDIS_BACKOFF_MIN to RL_REDIS_BACKOFF_MAX (CLOCK_MONOTONIC).
 *	Any success marks it up and resets the delay. Only these changes
 *	are logged, one line each. A call that timed out may still be
 *	carried out by the server later: RL_DOWN from rl_redis_take() does
 *	not mean that nothing was taken, so it must not be given back.
 *
 *	All functions but rl_redis_new() and rl_redis_free() may be called
 *	from many threads at once. The process must ignore SIGPIPE (the
 *	milter does): hiredis writes with write(2).
 * OWNERSHIP
 *	rl_redis_new() copies conf and its strings; rl_redis_free() closes
 *	every connection, wipes the password copy and frees the object. It
 *	must not run while another thread is inside a call. reqs are
 *	borrowed for the call. rl_redis_name() points into the object.
 * DIAGNOSTICS
 *	rl_redis_new() returns NULL with a message in err for a bad server
 *	spec or setting, or when memory runs out. Calls return RL_DOWN for
 *	any failure and for a refused request (which does not mark the
 *	server down). The change to down is logged with log_warnx(), the
 *	change back with log_info(). Nothing here exits.
 * SEE ALSO
 *	rl_backend.h, log(3), hiredis 0.14 README, Redis EVALSHA and TIME
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "rl_redis.h"

#define RL_REDIS_BACKOFF_MIN	100000LL	/* us */
#define RL_REDIS_BACKOFF_MAX	10000000LL
#define RL_REDIS_KEYS_MAX	256		/* buckets in one call */
#define RL_REDIS_SPAN_MAX	((int64_t)1 << 50)	/* us, exact in Lua */
#define RL_REDIS_NUMLEN		24		/* "%lld" and a NUL */
#define RL_REDIS_ERRLEN		256
#define RL_REDIS_SHALEN		41		/* hex and a NUL */
#define RL_REDIS_ELEMENTS_MAX	64		/* in one reply array */
#define RL_REDIS_ROL(x, n)	((uint32_t)((x) << (n) | (x) >> (32 - (n))))

enum rl_redis_script {
	RL_REDIS_TAKE,
	RL_REDIS_GIVE,
	RL_REDIS_NSCRIPTS
};

/*
 * Both scripts read the server's clock; redis.replicate_commands() makes
 * that legal before Redis 5 (it is a no-op or missing later, hence pcall).
 */
#define RL_REDIS_LUA_NOW \
	"pcall(redis.replicate_commands)\n" \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n" \
	"local function put(k, tat)\n" \
	"  if tat <= now then\n" \
	"    redis.call('DEL', k)\n" \
	"  else\n" \
	"    redis.call('SET', k, string.format('%.0f', tat), 'PX',\n" \
	"      string.format('%.0f', math.ceil((tat - now) / 1000)))\n" \
	"  end\n" \
	"end\n"

static const char *const rl_redis_scripts[RL_REDIS_NSCRIPTS] = {
	/* take: {-1, 0}, or {index of the refusing bucket, retry_us} */
	RL_REDIS_LUA_NOW
	"local tat = {}\n"
	"for i, k in ipairs(KEYS) do\n"
	"  local iv = tonumber(ARGV[4 * i - 3])\n"
	"  local burst = tonumber(ARGV[4 * i - 2])\n"
	"  local cost = tonumber(ARGV[4 * i - 1])\n"
	"  local at = tonumber(ARGV[4 * i])\n"
	"  if at <= 0 then at = now end\n"
	"  local cur = tat[k] or tonumber(redis.call('GET', k) or '') or at\n"
	"  local new = math.max(cur, at) + cost * iv\n"
	"  if new - at > burst * iv then\n"
	"    return {i - 1, new - at - burst * iv}\n"
	"  end\n"
	"  tat[k] = new\n"
	"end\n"
	"for i, k in ipairs(KEYS) do\n"
	"  if tat[k] then\n"
	"    put(k, tat[k])\n"
	"    tat[k] = nil\n"
	"  end\n"
	"end\n"
	"return {-1, 0}\n",
	/* give: 0 */
	RL_REDIS_LUA_NOW
	"for i, k in ipairs(KEYS) do\n"
	"  local cur = tonumber(redis.call('GET', k) or '')\n"
	"  if cur then\n"
	"    put(k, cur - tonumber(ARGV[4 * i - 1]) * tonumber(ARGV[4 * i - 3]))\n"
	"  end\n"
	"end\n"
	"return 0\n"
};

struct rl_redis {
	pthread_mutex_t rr_lock;	/* guards rr_idle .. rr_retry_at */
	pthread_cond_t rr_cond;		/* a context or a slot came free */
	redisContext **rr_idle;		/* rr_max slots */
	size_t	rr_nidle;
	size_t	rr_nopen;		/* idle and in use */
	int	rr_down;
	int	rr_probing;		/* one caller tries while down */
	int64_t	rr_backoff_us;
	int64_t	rr_retry_at;		/* CLOCK_MONOTONIC us */
	atomic_int rr_up;		/* !rr_down, read without the lock */
	size_t	rr_max;			/* the rest is constant */
	char   *rr_spec;
	char   *rr_host;		/* TCP host, or NULL */
	int	rr_port;
	char   *rr_path;		/* unix socket, or NULL */
	char   *rr_username;		/* ACL user, or NULL */
	char   *rr_password;		/* or NULL */
	char	rr_db[RL_REDIS_NUMLEN];	/* SELECT argument, or "" */
	struct timeval rr_connect_tv;
	struct timeval rr_tv;
	char	rr_sha[RL_REDIS_NSCRIPTS][RL_REDIS_SHALEN];
};

struct rl_redis_args {
	int	argc;
	const char **argv;
	size_t *lens;
	char   *nums;			/* the numbers argv points to */
};

static int rl_redis_conf_check(const struct rl_redis_conf *conf, char *err,
	    size_t errlen);
static int rl_redis_parse(struct rl_redis *r, const char *spec, char *err,
	    size_t errlen);
static int rl_redis_parse_port(const char *s, int *port);
static int rl_redis_host_ok(const char *host);
static void rl_redis_release(struct rl_redis *r);
static void rl_redis_sha1_block(uint32_t h[5], const unsigned char *p);
static void rl_redis_sha1(const char *msg, char *hex);
static int64_t rl_redis_clock(void);
static struct timeval rl_redis_tv(int ms);
static int rl_redis_req_ok(const struct rl_req *rq);
static int rl_redis_args_init(struct rl_redis_args *a,
	    const struct rl_redis *r, enum rl_redis_script script,
	    const struct rl_req *reqs, size_t n);
static void rl_redis_args_num(struct rl_redis_args *a, size_t i,
	    int64_t v, char **p);
static void rl_redis_args_fini(struct rl_redis_args *a);
static enum rl_status rl_redis_run(struct rl_redis *r,
	    enum rl_redis_script script, const struct rl_req *reqs, size_t n,
	    size_t *over, int64_t *retry_us);
static int rl_redis_get(struct rl_redis *r, redisContext **ctxp,
	    int *probe);
static void rl_redis_put(struct rl_redis *r, redisContext *ctx, int ok,
	    int probe, const char *err);
static void rl_redis_fail(struct rl_redis *r, int probe, const char *err);
static redisContext *rl_redis_open(const struct rl_redis *r, char *err,
	    size_t errlen);
static int rl_redis_cmd(redisContext *ctx, const char *cmd,
	    const char *arg, const char *arg2, char *err, size_t errlen);
static enum rl_status rl_redis_eval(redisContext *ctx,
	    struct rl_redis_args *a, enum rl_redis_script script, size_t n,
	    size_t *over, int64_t *retry_us, char *err, size_t errlen);
static enum rl_status rl_redis_take_reply(const redisReply *rep, size_t n,
	    size_t *over, int64_t *retry_us, char *err, size_t errlen);
static void rl_redis_ctx_err(const redisContext *ctx, char *err,
	    size_t errlen);
static void rl_redis_reply_err(const redisReply *rep, const char *what,
	    char *err, size_t errlen);

/* rl_redis_new - a backend for one server; connects at first use */

struct rl_redis *
rl_redis_new(const struct rl_redis_conf *conf, char *err, size_t errlen)
{
	struct rl_redis *r;
	int	i;

	if (rl_redis_conf_check(conf, err, errlen) == -1)
		return (NULL);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto nomem;
	atomic_init(&r->rr_up, 1);
	r->rr_max = (size_t)conf->rc_max_conns;
	r->rr_connect_tv = rl_redis_tv(conf->rc_connect_timeout_ms);
	r->rr_tv = rl_redis_tv(conf->rc_timeout_ms);
	if (conf->rc_db > 0)
		snprintf(r->rr_db, sizeof(r->rr_db), "%d", conf->rc_db);
	if ((r->rr_spec = strdup(conf->rc_server)) == NULL ||
	    (r->rr_idle = calloc(r->rr_max, sizeof(*r->rr_idle))) == NULL)
		goto nomem;
	if (conf->rc_password != NULL && conf->rc_password[0] != '\0' &&
	    (r->rr_password = strdup(conf->rc_password)) == NULL)
		goto nomem;
	if (r->rr_password != NULL && conf->rc_username != NULL &&
	    conf->rc_username[0] != '\0' &&
	    (r->rr_username = strdup(conf->rc_username)) == NULL)
		goto nomem;
	if (rl_redis_parse(r, conf->rc_server, err, errlen) == -1)
		goto fail;
	for (i = 0; i < RL_REDIS_NSCRIPTS; i++)
		rl_redis_sha1(rl_redis_scripts[i], r->rr_sha[i]);
	if (pthread_mutex_init(&r->rr_lock, NULL) != 0)
		goto nomem;
	if (pthread_cond_init(&r->rr_cond, NULL) != 0) {
		pthread_mutex_destroy(&r->rr_lock);
		goto nomem;
	}
	return (r);
nomem:
	snprintf(err, errlen, "redis: out of memory");
fail:
	rl_redis_release(r);
	return (NULL);
}

/* rl_redis_free - close every connection and free the backend */

void
rl_redis_free(struct rl_redis *r)
{
	if (r == NULL)
		return;
	while (r->rr_nidle > 0)
		redisFree(r->rr_idle[--r->rr_nidle]);
	pthread_cond_destroy(&r->rr_cond);
	pthread_mutex_destroy(&r->rr_lock);
	rl_redis_release(r);
}

/* rl_redis_take - take each bucket's cost from all buckets or none */

enum rl_status
rl_redis_take(struct rl_redis *r, const struct rl_req *reqs, size_t n,
    size_t *over, int64_t *retry_us)
{
	return (rl_redis_run(r, RL_REDIS_TAKE, reqs, n, over, retry_us));
}

/* rl_redis_give - give each bucket's cost back */

enum rl_status
rl_redis_give(struct rl_redis *r, const struct rl_req *reqs, size_t n)
{
	return (rl_redis_run(r, RL_REDIS_GIVE, reqs, n, NULL, NULL));
}

/* rl_redis_up - 0 while the server is down, else 1 */

int
rl_redis_up(const struct rl_redis *r)
{
	return (atomic_load(&r->rr_up));
}

/* rl_redis_name - the server spec, for logs */

const char *
rl_redis_name(const struct rl_redis *r)
{
	return (r->rr_spec);
}

/* rl_redis_conf_check - settings that do not depend on the server spec */

static int
rl_redis_conf_check(const struct rl_redis_conf *conf, char *err,
    size_t errlen)
{
	if (conf->rc_server == NULL || conf->rc_server[0] == '\0')
		snprintf(err, errlen, "redis: no server given");
	else if (conf->rc_connect_timeout_ms <= 0 || conf->rc_timeout_ms <= 0)
		snprintf(err, errlen, "redis %.100s: timeouts must be > 0 ms",
		    conf->rc_server);
	else if (conf->rc_max_conns < 1)
		snprintf(err, errlen, "redis %.100s: max_conns must be >= 1",
		    conf->rc_server);
	else if (conf->rc_db < 0)
		snprintf(err, errlen, "redis %.100s: db must be >= 0",
		    conf->rc_server);
	else
		return (0);
	return (-1);
}

/* rl_redis_parse - "HOST:PORT", "[IPV6]:PORT" or "unix:/PATH" */

static int
rl_redis_parse(struct rl_redis *r, const char *spec, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct in6_addr a6;
	const char *colon, *end;

	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/' || strlen(spec + 5) >= sizeof(sun.sun_path))
			goto bad;
		if ((r->rr_path = strdup(spec + 5)) == NULL)
			goto nomem;
		return (0);
	}
	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL || end[1] != ':')
			goto bad;
		r->rr_host = strndup(spec + 1, (size_t)(end - spec - 1));
		colon = end + 1;
		if (r->rr_host != NULL && inet_pton(AF_INET6, r->rr_host,
		    &a6) != 1)
			goto bad;
	} else {
		if ((colon = strchr(spec, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			goto bad;
		r->rr_host = strndup(spec, (size_t)(colon - spec));
		if (r->rr_host != NULL && !rl_redis_host_ok(r->rr_host))
			goto bad;
	}
	if (r->rr_host == NULL)
		goto nomem;
	if (rl_redis_parse_port(colon + 1, &r->rr_port) == -1)
		goto bad;
	return (0);
nomem:
	snprintf(err, errlen, "redis: out of memory");
	return (-1);
bad:
	snprintf(err, errlen, "redis server \"%.100s\": expected HOST:PORT, "
	    "[IPV6]:PORT (port 1..65535) or unix:/ABSOLUTE/PATH", spec);
	return (-1);
}

/* rl_redis_parse_port - decimal 1..65535, digits only */

static int
rl_redis_parse_port(const char *s, int *port)
{
	size_t	i;
	long	v = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 5)
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v < 1 || v > 65535)
		return (-1);
	*port = (int)v;
	return (0);
}

/* rl_redis_host_ok - a host name or IPv4 address: letters, digits, .-_ */

static int
rl_redis_host_ok(const char *host)
{
	const char *p;

	if (host[0] == '\0')
		return (0);
	for (p = host; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-_", *p) == NULL)
			return (0);
	return (1);
}

/* rl_redis_release - free the fields and the object (any stage of new) */

static void
rl_redis_release(struct rl_redis *r)
{
	if (r == NULL)
		return;
	if (r->rr_password != NULL) {
		explicit_bzero(r->rr_password, strlen(r->rr_password));
		free(r->rr_password);
	}
	free(r->rr_username);
	free(r->rr_path);
	free(r->rr_host);
	free(r->rr_spec);
	free(r->rr_idle);
	free(r);
}

/* rl_redis_sha1_block - SHA-1 compression of one 64-octet block */

static void
rl_redis_sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80], v[5], f, k, t;
	int	i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = RL_REDIS_ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16],
		    1);
	memcpy(v, h, sizeof(v));
	for (i = 0; i < 80; i++) {
		if (i < 20)
			f = (v[1] & v[2]) | (~v[1] & v[3]), k = 0x5a827999;
		else if (i < 40)
			f = v[1] ^ v[2] ^ v[3], k = 0x6ed9eba1;
		else if (i < 60)
			f = (v[1] & v[2]) | (v[1] & v[3]) | (v[2] & v[3]),
			    k = 0x8f1bbcdc;
		else
			f = v[1] ^ v[2] ^ v[3], k = 0xca62c1d6;
		t = RL_REDIS_ROL(v[0], 5) + f + v[4] + k + w[i];
		v[4] = v[3];
		v[3] = v[2];
		v[2] = RL_REDIS_ROL(v[1], 30);
		v[1] = v[0];
		v[0] = t;
	}
	for (i = 0; i < 5; i++)
		h[i] += v[i];
}

/* rl_redis_sha1 - hex SHA-1 of a script, the name EVALSHA knows it by */

static void
rl_redis_sha1(const char *msg, char *hex)
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
	    0xc3d2e1f0 };
	unsigned char tail[128];
	size_t	len = strlen(msg), off, tl;
	uint64_t bits = (uint64_t)len * 8;
	int	i;

	for (off = 0; len - off >= 64; off += 64)
		rl_redis_sha1_block(h, (const unsigned char *)msg + off);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, msg + off, len - off);
	tail[len - off] = 0x80;
	tl = len - off + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tl - 1 - (size_t)i] = (unsigned char)(bits >> (8 * i));
	rl_redis_sha1_block(h, tail);
	if (tl == 128)
		rl_redis_sha1_block(h, tail + 64);
	for (i = 0; i < 5; i++)
		snprintf(hex + 8 * i, 9, "%08" PRIx32, h[i]);
}

/* rl_redis_clock - CLOCK_MONOTONIC in microseconds */

static int64_t
rl_redis_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* rl_redis_tv - milliseconds as a struct timeval */

static struct timeval
rl_redis_tv(int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return (tv);
}

/* rl_redis_req_ok - a request the scripts compute exactly */

static int
rl_redis_req_ok(const struct rl_req *rq)
{
	return (rq->rq_key[0] != '\0' &&
	    memchr(rq->rq_key, '\0', sizeof(rq->rq_key)) != NULL &&
	    rq->rq_interval_us >= 1 && rq->rq_burst >= 1 &&
	    rq->rq_cost >= 1 &&
	    rq->rq_burst <= RL_REDIS_SPAN_MAX / rq->rq_interval_us &&
	    rq->rq_cost <= RL_REDIS_SPAN_MAX / rq->rq_interval_us);
}

/* rl_redis_args_init - EVALSHA sha n key... (interval burst cost)... */

static int
rl_redis_args_init(struct rl_redis_args *a, const struct rl_redis *r,
    enum rl_redis_script script, const struct rl_req *reqs, size_t n)
{
	size_t	i;
	char   *p;

	memset(a, 0, sizeof(*a));
	if (n > RL_REDIS_KEYS_MAX)
		return (-1);
	for (i = 0; i < n; i++)
		if (!rl_redis_req_ok(&reqs[i]))
			return (-1);
	a->argc = (int)(3 + 5 * n);
	a->argv = calloc((size_t)a->argc, sizeof(*a->argv));
	a->lens = calloc((size_t)a->argc, sizeof(*a->lens));
	a->nums = malloc((4 * n + 1) * RL_REDIS_NUMLEN);
	if (a->argv == NULL || a->lens == NULL || a->nums == NULL) {
		rl_redis_args_fini(a);
		return (-1);
	}
	a->argv[0] = "EVALSHA";
	a->argv[1] = r->rr_sha[script];
	p = a->nums;
	rl_redis_args_num(a, 2, (int64_t)n, &p);
	for (i = 0; i < n; i++) {
		a->argv[3 + i] = reqs[i].rq_key;
		rl_redis_args_num(a, 3 + n + 4 * i, reqs[i].rq_interval_us, &p);
		rl_redis_args_num(a, 4 + n + 4 * i, reqs[i].rq_burst, &p);
		rl_redis_args_num(a, 5 + n + 4 * i, reqs[i].rq_cost, &p);
		rl_redis_args_num(a, 6 + n + 4 * i, reqs[i].rq_at_us, &p);
	}
	for (i = 0; i < (size_t)a->argc; i++)
		a->lens[i] = strlen(a->argv[i]);
	return (0);
}

/* rl_redis_args_num - format argument i into the number buffer */

static void
rl_redis_args_num(struct rl_redis_args *a, size_t i, int64_t v, char **p)
{
	int	len;

	len = snprintf(*p, RL_REDIS_NUMLEN, "%" PRId64, v);
	a->argv[i] = *p;
	*p += len + 1;
}

/* rl_redis_args_fini - free the argument vectors */

static void
rl_redis_args_fini(struct rl_redis_args *a)
{
	free(a->argv);
	free(a->lens);
	free(a->nums);
	memset(a, 0, sizeof(*a));
}

/* rl_redis_run - one script call on a pooled context; track up/down */

static enum rl_status
rl_redis_run(struct rl_redis *r, enum rl_redis_script script,
    const struct rl_req *reqs, size_t n, size_t *over, int64_t *retry_us)
{
	struct rl_redis_args a;
	redisContext *ctx;
	char	err[RL_REDIS_ERRLEN];
	int	probe = 0;
	enum rl_status st = RL_DOWN;

	if (n == 0)
		return (RL_OK);
	if (rl_redis_args_init(&a, r, script, reqs, n) == -1)
		return (RL_DOWN);
	if (rl_redis_get(r, &ctx, &probe) == -1) {
		rl_redis_args_fini(&a);
		return (RL_DOWN);
	}
	err[0] = '\0';
	if (ctx == NULL)
		ctx = rl_redis_open(r, err, sizeof(err));
	if (ctx != NULL)
		st = rl_redis_eval(ctx, &a, script, n, over, retry_us, err,
		    sizeof(err));
	rl_redis_put(r, ctx, st != RL_DOWN, probe, err);
	rl_redis_args_fini(&a);
	return (st);
}

/*
 * rl_redis_get - an idle context, or NULL and a slot to open one; -1 when
 * down and it is not yet time (or another caller's turn) to try
 */

static int
rl_redis_get(struct rl_redis *r, redisContext **ctxp, int *probe)
{
	int	rc = 0;

	pthread_mutex_lock(&r->rr_lock);
	for (;;) {
		if (r->rr_down && !*probe) {
			if (r->rr_probing ||
			    rl_redis_clock() < r->rr_retry_at) {
				rc = -1;
				break;
			}
			r->rr_probing = *probe = 1;
		}
		if (r->rr_nidle > 0) {
			*ctxp = r->rr_idle[--r->rr_nidle];
			break;
		}
		if (r->rr_nopen < r->rr_max) {
			r->rr_nopen++;
			*ctxp = NULL;
			break;
		}
		pthread_cond_wait(&r->rr_cond, &r->rr_lock);
	}
	pthread_mutex_unlock(&r->rr_lock);
	return (rc);
}

/* rl_redis_put - return a good context to the pool, or close a bad one */

static void
rl_redis_put(struct rl_redis *r, redisContext *ctx, int ok, int probe,
    const char *err)
{
	pthread_mutex_lock(&r->rr_lock);
	if (probe)
		r->rr_probing = 0;
	if (ok) {
		r->rr_idle[r->rr_nidle++] = ctx;
		r->rr_backoff_us = 0;
		if (r->rr_down) {
			r->rr_down = 0;
			atomic_store(&r->rr_up, 1);
			log_info("redis %s: reachable again", r->rr_spec);
		}
	} else {
		r->rr_nopen--;
		rl_redis_fail(r, probe, err);
	}
	pthread_cond_broadcast(&r->rr_cond);
	pthread_mutex_unlock(&r->rr_lock);
	if (!ok && ctx != NULL)
		redisFree(ctx);
}

/* rl_redis_fail - (lock held) go down, or stay down for longer */

static void
rl_redis_fail(struct rl_redis *r, int probe, const char *err)
{
	int64_t	now = rl_redis_clock();

	if (!r->rr_down) {
		r->rr_down = 1;
		atomic_store(&r->rr_up, 0);
		r->rr_backoff_us = RL_REDIS_BACKOFF_MIN;
		r->rr_retry_at = now + r->rr_backoff_us;
		log_warnx("redis %s: unreachable: %s; retrying with backoff",
		    r->rr_spec, err[0] != '\0' ? err : "unknown error");
	} else if (probe) {
		r->rr_backoff_us *= 2;
		if (r->rr_backoff_us > RL_REDIS_BACKOFF_MAX)
			r->rr_backoff_us = RL_REDIS_BACKOFF_MAX;
		r->rr_retry_at = now + r->rr_backoff_us;
	}
	while (r->rr_nidle > 0) {	/* they are likely dead too */
		redisFree(r->rr_idle[--r->rr_nidle]);
		r->rr_nopen--;
	}
}

/*
 * rl_redis_array - hiredis's array constructor, for at most
 * RL_REDIS_ELEMENTS_MAX elements: our replies have two, and hiredis 0.14
 * otherwise allocates whatever count a server sends ("*285477587" is
 * 2.3 GB at once; found by fuzz_redis). NULL makes the reply an error.
 */
static const redisReplyObjectFunctions *rl_redis_fn0;	/* hiredis's */
static redisReplyObjectFunctions rl_redis_fn;		/* ours */
static pthread_mutex_t rl_redis_fn_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
rl_redis_array(const redisReadTask *task, int elements)
{
	if (elements < 0 || elements > RL_REDIS_ELEMENTS_MAX)
		return (NULL);
	return (rl_redis_fn0->createArray(task, elements));
}

/* rl_redis_limit - bound the arrays a reader builds */

static void
rl_redis_limit(redisReader *rd)
{
	pthread_mutex_lock(&rl_redis_fn_lock);
	if (rl_redis_fn0 == NULL) {	/* every reader starts with the same */
		rl_redis_fn0 = rd->fn;
		rl_redis_fn = *rd->fn;
		rl_redis_fn.createArray = rl_redis_array;
	}
	pthread_mutex_unlock(&rl_redis_fn_lock);
	rd->fn = &rl_redis_fn;
}

/* rl_redis_open - connect, set timeouts and keepalive, AUTH, SELECT */

static redisContext *
rl_redis_open(const struct rl_redis *r, char *err, size_t errlen)
{
	redisContext *ctx;

	if (r->rr_path != NULL)
		ctx = redisConnectUnixWithTimeout(r->rr_path,
		    r->rr_connect_tv);
	else
		ctx = redisConnectWithTimeout(r->rr_host, r->rr_port,
		    r->rr_connect_tv);
	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	if (ctx->err == 0)
		rl_redis_limit(ctx->reader);
	if (ctx->err != 0 || redisSetTimeout(ctx, r->rr_tv) != REDIS_OK ||
	    (r->rr_path == NULL && redisEnableKeepAlive(ctx) != REDIS_OK)) {
		rl_redis_ctx_err(ctx, err, errlen);
		goto fail;
	}
	/* AUTH PASSWORD, or AUTH USERNAME PASSWORD (Redis 6 ACL) */
	if (r->rr_password != NULL && rl_redis_cmd(ctx, "AUTH",
	    r->rr_username ? r->rr_username : r->rr_password,
	    r->rr_username ? r->rr_password : NULL, err, errlen) == -1)
		goto fail;
	if (r->rr_db[0] != '\0' &&
	    rl_redis_cmd(ctx, "SELECT", r->rr_db, NULL, err, errlen) == -1)
		goto fail;
	return (ctx);
fail:
	redisFree(ctx);
	return (NULL);
}

/* rl_redis_cmd - a command with one or two (arg2) arguments: +OK */

static int
rl_redis_cmd(redisContext *ctx, const char *cmd, const char *arg,
    const char *arg2, char *err, size_t errlen)
{
	const char *argv[3] = { cmd, arg, arg2 };
	size_t	lens[3] = { strlen(cmd), strlen(arg), arg2 ? strlen(arg2) : 0 };
	redisReply *rep;
	int	rc = 0;

	if ((rep = redisCommandArgv(ctx, arg2 ? 3 : 2, argv, lens)) == NULL) {
		rl_redis_ctx_err(ctx, err, errlen);
		return (-1);
	}
	if (rep->type != REDIS_REPLY_STATUS) {
		rl_redis_reply_err(rep, cmd, err, errlen);
		rc = -1;
	}
	freeReplyObject(rep);
	return (rc);
}

/* rl_redis_eval - EVALSHA, EVAL once on NOSCRIPT; check the reply */

static enum rl_status
rl_redis_eval(redisContext *ctx, struct rl_redis_args *a,
    enum rl_redis_script script, size_t n, size_t *over, int64_t *retry_us,
    char *err, size_t errlen)
{
	redisReply *rep;
	enum rl_status st = RL_OK;

	rep = redisCommandArgv(ctx, a->argc, a->argv, a->lens);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(rep);
		a->argv[0] = "EVAL";
		a->argv[1] = rl_redis_scripts[script];
		a->lens[0] = strlen(a->argv[0]);
		a->lens[1] = strlen(a->argv[1]);
		rep = redisCommandArgv(ctx, a->argc, a->argv, a->lens);
	}
	if (rep == NULL) {
		rl_redis_ctx_err(ctx, err, errlen);
		return (RL_DOWN);
	}
	if (script == RL_REDIS_TAKE)
		st = rl_redis_take_reply(rep, n, over, retry_us, err, errlen);
	else if (rep->type != REDIS_REPLY_INTEGER) {
		rl_redis_reply_err(rep, "EVALSHA", err, errlen);
		st = RL_DOWN;
	}
	freeReplyObject(rep);
	return (st);
}

/* rl_redis_take_reply - {-1, 0} is RL_OK, {index, retry_us} RL_OVER */

static enum rl_status
rl_redis_take_reply(const redisReply *rep, size_t n, size_t *over,
    int64_t *retry_us, char *err, size_t errlen)
{
	long long idx, retry;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		rl_redis_reply_err(rep, "EVALSHA", err, errlen);
		return (RL_DOWN);
	}
	idx = rep->element[0]->integer;
	retry = rep->element[1]->integer;
	if (idx == -1)
		return (RL_OK);
	if (idx < 0 || (unsigned long long)idx >= n || retry < 1) {
		snprintf(err, errlen, "EVALSHA: bad reply {%lld, %lld}", idx,
		    retry);
		return (RL_DOWN);
	}
	if (over != NULL)
		*over = (size_t)idx;
	if (retry_us != NULL)
		*retry_us = (int64_t)retry;
	return (RL_OVER);
}

/* rl_redis_ctx_err - the text of a context's (I/O, protocol) error */

static void
rl_redis_ctx_err(const redisContext *ctx, char *err, size_t errlen)
{
	char	esc[LOG_ESCAPE_MAX + 4];

	if (ctx->err == 0) {
		snprintf(err, errlen, "unknown error");
		return;
	}
	if (ctx->err == REDIS_ERR_IO && (strcmp(ctx->errstr,
	    strerror(EAGAIN)) == 0 || strcmp(ctx->errstr,
	    strerror(EWOULDBLOCK)) == 0)) {
		snprintf(err, errlen, "timed out");
		return;
	}
	log_escape(esc, sizeof(esc), ctx->errstr, strlen(ctx->errstr));
	snprintf(err, errlen, "%s", esc);
}

/* rl_redis_reply_err - describe an error reply, or one of a wrong type */

static void
rl_redis_reply_err(const redisReply *rep, const char *what, char *err,
    size_t errlen)
{
	char	esc[LOG_ESCAPE_MAX + 4];

	if (rep->type == REDIS_REPLY_ERROR) {
		log_escape(esc, sizeof(esc), rep->str, rep->len);
		snprintf(err, errlen, "%s: %s", what, esc);
	} else
		snprintf(err, errlen, "%s: unexpected reply type %d", what,
		    rep->type);
}
