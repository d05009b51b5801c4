/*
 * fuzz_redis - replies of a Redis server, as rl_redis(3) reads them
 *
 * Whoever answers on the configured Redis address writes these bytes:
 * hiredis's reader parses them, then rl_redis.c decides what a reply to
 * the take script means. rl_redis.c is compiled in here (run.sh leaves
 * it out of the core sources) to reach its reply checks. The input is
 * fed to the reader in two pieces, as a socket may deliver it; every
 * whole reply is checked against n buckets (n from the input's length).
 * The reader's array sizes are bounded as rl_redis_open() bounds them.
 * What is checked: a reply that is not {-1, 0} or {index < n, retry > 0}
 * is RL_DOWN, and the error text is a terminated string of printable
 * octets; abort() is a crash for libFuzzer.
 */
#include "rl_redis.c"

#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_redis_check(const redisReply *rep, size_t n);

/* fuzz_redis_check - one reply through the take check */

static void
fuzz_redis_check(const redisReply *rep, size_t n)
{
	char	err[256];
	size_t	over = SIZE_MAX, i;
	int64_t	retry = -1;
	enum rl_status st;

	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	st = rl_redis_take_reply(rep, n, &over, &retry, err, sizeof(err));
	switch (st) {
	case RL_OK:
		if (over != SIZE_MAX || retry != -1)
			abort();
		break;
	case RL_OVER:
		if (over >= n || retry < 1)
			abort();
		break;
	case RL_DOWN:
		for (i = 0; err[i] != '\0'; i++)
			if (i == sizeof(err) - 1 || (unsigned char)err[i] < 0x20 ||
			    (unsigned char)err[i] > 0x7e)
				abort();
		break;
	default:
		abort();
	}
	rl_redis_reply_err(rep, "EVALSHA", err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *rd;
	void   *rep;
	size_t	cut = size ? data[0] % (size + 1) : 0;

	if ((rd = redisReaderCreate()) == NULL)
		return (0);
	rl_redis_limit(rd);		/* as rl_redis_open() */
	if (redisReaderFeed(rd, (const char *)data, cut) == REDIS_OK &&
	    redisReaderFeed(rd, (const char *)data + cut, size - cut) ==
	    REDIS_OK)
		while (redisReaderGetReply(rd, &rep) == REDIS_OK &&
		    rep != NULL) {
			fuzz_redis_check(rep, size % 5);
			freeReplyObject(rep);
		}
	redisReaderFree(rd);
	return (0);
}
