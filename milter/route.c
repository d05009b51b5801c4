/*
 * NAME
 *	route - choose the egress (sending address) of a message
 * SYNOPSIS
 *	#include "route.h"
 *
 *	const struct cfg_egress *route_choose(const struct cfg_pool *pool,
 *		    const struct route_hooks *h,
 *		    const struct cfg_pool **chosen_pool, int *error);
 * DESCRIPTION
 *	route_choose() picks one available egress of pool at random,
 *	weighted by each egress's weight. An egress marked down is not
 *	available; nor is one that h->rh_usable() turns down (0: over its
 *	warm-up cap for today). Egresses that h->rh_prefer() prefers (the
 *	sender's SPF authorizes their address) are drawn first; the others
 *	only when no preferred one is usable. rh_prefer() is asked only
 *	when the pool has more than one egress up. When none of the pool is
 *	available the overflow pool is tried, and its overflow, at most
 *	ROUTE_MAX_HOPS pools (a loop of overflows ends). *chosen_pool tells
 *	which pool gave the egress. h may be NULL.
 *
 *	Postfix does the rest: the egress's transport (a master.cf smtp
 *	clone with smtp_bind_address) is named in the X-Egress-Route header
 *	the milter adds, which milter_header_checks turns into FILTER.
 * OWNERSHIP
 *	Results point into the config snapshot.
 * DIAGNOSTICS
 *	NULL when no pool has an available egress; the caller applies
 *	on_error. When rh_usable() returns -1 (its backend cannot answer)
 *	the choice stops: NULL with *error set.
 * SEE ALSO
 *	cfg(3), egress-ctl(8), DESIGN section 8
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "cfg.h"
#include "route.h"

#define ROUTE_MAX_HOPS	16		/* overflow chain length */

/* route_weight - total weight of the candidates of one tier */

static unsigned long
route_weight(const struct cfg_pool *pool, const unsigned char *state, int tier)
{
	unsigned long total = 0;
	size_t	i;

	for (i = 0; i < pool->cp_egress.n; i++)
		if (state[i] == tier)
			total += (unsigned long)CFG_EGRESS(pool, i)->ce_weight;
	return (total);
}

/* route_draw - one candidate of a tier at random, by weight */

static size_t
route_draw(const struct cfg_pool *pool, const unsigned char *state, int tier,
    unsigned long total)
{
	unsigned long r = arc4random_uniform((uint32_t)total);
	size_t	i;

	for (i = 0; i < pool->cp_egress.n; i++) {
		if (state[i] != tier)
			continue;
		if (r < (unsigned long)CFG_EGRESS(pool, i)->ce_weight)
			return (i);
		r -= (unsigned long)CFG_EGRESS(pool, i)->ce_weight;
	}
	return (0);		/* not reached */
}

/*
 * route_pick - draw among the preferred egresses of one pool, then among
 * the others; an egress the usable hook turns down is out of the draw
 */
static const struct cfg_egress *
route_pick(const struct cfg_pool *pool, const struct route_hooks *h,
    int *error)
{
	unsigned char state[ROUTE_MAX_EGRESS];	/* 0 out, 1 other, 2 pref */
	unsigned long total;
	size_t	i, up = 0;
	int	tier, r;

	for (i = 0; i < pool->cp_egress.n; i++)
		up += (state[i] = !CFG_EGRESS(pool, i)->ce_down);
	for (i = 0; up > 1 && h && h->rh_prefer && i < pool->cp_egress.n; i++)
		if (state[i] && h->rh_prefer(h->rh_ctx, CFG_EGRESS(pool, i)))
			state[i] = 2;
	for (tier = 2; tier >= 1; tier--) {
		while ((total = route_weight(pool, state, tier)) > 0) {
			i = route_draw(pool, state, tier, total);
			if (h == NULL || h->rh_usable == NULL ||
			    (r = h->rh_usable(h->rh_ctx, CFG_EGRESS(pool, i))) ==
			    1)
				return (CFG_EGRESS(pool, i));
			if (r == -1) {
				*error = 1;
				return (NULL);
			}
			state[i] = 0;
		}
	}
	return (NULL);
}

/* route_choose - the pool's egress, else its overflow's */

const struct cfg_egress *
route_choose(const struct cfg_pool *pool, const struct route_hooks *h,
    const struct cfg_pool **chosen_pool, int *error)
{
	const struct cfg_egress *e;
	int	hops;

	*error = 0;
	for (hops = 0; pool != NULL && hops < ROUTE_MAX_HOPS; hops++) {
		if ((e = route_pick(pool, h, error)) != NULL) {
			*chosen_pool = pool;
			return (e);
		}
		if (*error)
			break;
		pool = pool->cp_overflow_pool;
	}
	*chosen_pool = NULL;
	return (NULL);
}
