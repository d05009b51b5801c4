#ifndef ROUTE_H
#define ROUTE_H

struct cfg_egress;
struct cfg_pool;

#define ROUTE_MAX_EGRESS 256		/* egresses in one pool */

struct route_hooks {
	void	*rh_ctx;
	int	(*rh_usable)(void *, const struct cfg_egress *);  /* 1, 0, -1 */
	int	(*rh_prefer)(void *, const struct cfg_egress *);
};

const struct cfg_egress *route_choose(const struct cfg_pool *pool,
	    const struct route_hooks *h, const struct cfg_pool **chosen_pool,
	    int *error);

#endif
