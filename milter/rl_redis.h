#ifndef RL_REDIS_H
#define RL_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "rl_backend.h"

struct rl_redis_conf {
	const char *rc_server;		/* "HOST:PORT", "[IPV6]:PORT", or
					 * "unix:/path" */
	const char *rc_username;	/* AUTH USER PASS (Redis 6 ACL), or
					 * NULL: AUTH PASS */
	const char *rc_password;	/* AUTH on connect, or NULL */
	int	rc_db;			/* SELECT on connect when > 0 */
	int	rc_connect_timeout_ms;	/* > 0 */
	int	rc_timeout_ms;		/* each command's reply, > 0 */
	int	rc_max_conns;		/* size of the connection pool, >= 1 */
};

struct rl_redis;

struct rl_redis *rl_redis_new(const struct rl_redis_conf *conf, char *err,
	    size_t errlen);
void	rl_redis_free(struct rl_redis *r);
enum rl_status rl_redis_take(struct rl_redis *r, const struct rl_req *reqs,
	    size_t n, size_t *over, int64_t *retry_us);
enum rl_status rl_redis_give(struct rl_redis *r, const struct rl_req *reqs,
	    size_t n);
int	rl_redis_up(const struct rl_redis *r);
const char *rl_redis_name(const struct rl_redis *r);

#endif
