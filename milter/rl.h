#ifndef RL_H
#define RL_H

#include <stddef.h>
#include <stdint.h>

#include "rl_backend.h"
#include "verdict.h"

struct cfg;
struct cfg_egress;
struct cfg_limit;
struct cfg_rate;
struct cfg_warmup;
struct txn;

enum rl_part {			/* what a limit is counted per */
	RL_PART_TENANT,
	RL_PART_LOGIN,
	RL_PART_SENDER_DOMAIN,
	RL_PART_FROM_DOMAIN,
	RL_PART_RCPT_DOMAIN,
	RL_PART_EGRESS,
	RL_NPARTS
};

#define RL_DAY_US	(86400LL * 1000000)	/* a day in microseconds */

struct rl_backend {		/* where buckets are kept */
	const char *rb_name;
	void	*rb_state;
	enum rl_status (*rb_take)(void *, const struct rl_req *, size_t,
		    int64_t, size_t *, int64_t *);
	enum rl_status (*rb_give)(void *, const struct rl_req *, size_t,
		    int64_t);
	int	(*rb_up)(void *);
	void	(*rb_free)(void *);
};

struct rl;			/* the runtime: outlives config snapshots */

int	rl_parse_per(const char *text, unsigned char *parts, size_t *nparts,
	    char *err, size_t errlen);
int	rl_parse_rates(const char *text, long burst, struct cfg_rate *rates,
	    size_t *nrates, char *err, size_t errlen);
const char *rl_part_name(int part);
int	rl_at_eoh_only(const struct cfg_limit *l);

struct rl_backend *rl_backend_open(const struct cfg *cf, char *err,
	    size_t errlen);
void	rl_backend_free(struct rl_backend *b);

struct rl *rl_new(size_t max_keys);
void	rl_free(struct rl *rl);
void	rl_attach(struct rl *rl, struct cfg *cf);
void	rl_set_clock(struct rl *rl, int64_t (*now_us)(void));
int64_t	rl_now(const struct rl *rl);
struct rl_mem *rl_local(struct rl *rl);

enum verdict rl_check_rcpt(struct txn *tx, const char *rcpt);
enum verdict rl_check_eoh(struct txn *tx);
long	rl_warmup_cap(const struct cfg_warmup *w, long day);
int	rl_take_warmup(struct txn *tx, const struct cfg_egress *e);
void	rl_commit(struct txn *tx);
void	rl_release(struct txn *tx);
const char *rl_hold_key(const struct txn *tx, size_t i);

#endif
