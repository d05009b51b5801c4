/*
 * NAME
 *	route - choose the egress (sending address) of a message
 * SYNOPSIS
 *	#include "route.h"
 *
 *	const struct cfg_egress *route_choose(const struct cfg_pool *pool,
 *		    const struct cfg_pool **chosen_pool);
 * DESCRIPTION
 *	route_choose() picks one available egress of pool at random,
 *	weighted by each egress's weight; an egress marked down is not
 *	available. When none of the pool is available the overflow pool is
 *	tried, and its overflow, at most once each (a loop of overflows
 *	ends). *chosen_pool tells which pool gave the egress.
 *
 *	Postfix does the rest: the egress's transport (a master.cf smtp
 *	clone with smtp_bind_address) is named in the X-Egress-Route header
 *	the milter adds, which milter_header_checks turns into FILTER.
 * OWNERSHIP
 *	Results point into the config snapshot.
 * DIAGNOSTICS
 *	NULL when no pool has an available egress; the caller applies
 *	on_error.
 * SEE ALSO
 *	cfg(3), egress-ctl(8), DESIGN section 8
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "cfg.h"
#include "route.h"

#define ROUTE_MAX_HOPS	16		/* overflow chain length */

/* route_pick - weighted choice among the available egresses of one pool */

static const struct cfg_egress *
route_pick(const struct cfg_pool *pool)
{
	const struct cfg_egress *e;
	unsigned long total = 0, r;
	size_t	i;

	for (i = 0; i < pool->cp_egress.n; i++)
		if (!CFG_EGRESS(pool, i)->ce_down)
			total += (unsigned long)CFG_EGRESS(pool, i)->ce_weight;
	if (total == 0)
		return (NULL);
	r = arc4random_uniform((uint32_t)total);
	for (i = 0; i < pool->cp_egress.n; i++) {
		e = CFG_EGRESS(pool, i);
		if (e->ce_down)
			continue;
		if (r < (unsigned long)e->ce_weight)
			return (e);
		r -= (unsigned long)e->ce_weight;
	}
	return (NULL);
}

/* route_choose - the pool's egress, else its overflow's */

const struct cfg_egress *
route_choose(const struct cfg_pool *pool, const struct cfg_pool **chosen_pool)
{
	const struct cfg_egress *e;
	int	hops;

	for (hops = 0; pool != NULL && hops < ROUTE_MAX_HOPS; hops++) {
		if ((e = route_pick(pool)) != NULL) {
			*chosen_pool = pool;
			return (e);
		}
		pool = pool->cp_overflow_pool;
	}
	*chosen_pool = NULL;
	return (NULL);
}
