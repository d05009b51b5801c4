#ifndef ROUTE_H
#define ROUTE_H

struct cfg_egress;
struct cfg_pool;

const struct cfg_egress *route_choose(const struct cfg_pool *pool,
	    const struct cfg_pool **chosen_pool);

#endif
