#ifndef RL_MEM_H
#define RL_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "rl_backend.h"

struct rl_mem;

struct rl_mem_stats {
	size_t	ms_keys;		/* buckets held */
	size_t	ms_bytes;		/* memory of the tables */
	uint64_t ms_evicted;		/* forgotten before they were full */
};

struct rl_mem *rl_mem_new(size_t max_keys);
void	rl_mem_free(struct rl_mem *m);
enum rl_status rl_mem_take(struct rl_mem *m, const struct rl_req *reqs,
	    size_t n, int64_t now_us, size_t *over, int64_t *retry_us);
enum rl_status rl_mem_give(struct rl_mem *m, const struct rl_req *reqs,
	    size_t n, int64_t now_us);
void	rl_mem_stats(struct rl_mem *m, struct rl_mem_stats *st);
uint64_t rl_mem_report(struct rl_mem *m, int64_t now_us, int64_t every_us,
	    uint64_t *total, size_t *max_keys);

#endif
