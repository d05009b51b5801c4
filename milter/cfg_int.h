#ifndef CFG_INT_H
#define CFG_INT_H

/*
 * Inside the config loader: shared by cfg.c (the libconfig walker) and
 * cfg_limit.c (the rate-limit and warm-up groups). A setting is passed as
 * an opaque pointer, so only cfg.c includes <libconfig.h>.
 */
#include <stddef.h>

#include "cfg.h"

struct config_setting_t;

struct cfg_loader {
	char	*err;
	size_t	errlen;
	const char *path;
	int	flags;
	struct cfg *cf;
	int	failed;
	struct cfg_strlist seen_domains;	/* borrowed names */
	struct cfg_strlist seen_logins;
	struct cfg_strlist seen_tenants;
	struct cfg_strlist seen_pools;
	struct cfg_strlist seen_transports;
};

int	cfg_fail(struct cfg_loader *ld, const struct config_setting_t *s,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int	cfg_seen(struct cfg_strlist *seen, char *name);

int	cfg_hook_warmup(struct cfg_loader *ld, struct config_setting_t *s,
	    void *base);
int	cfg_hook_ratelimit(struct cfg_loader *ld, struct config_setting_t *s,
	    void *base);
int	cfg_hook_limit(struct cfg_loader *ld, struct config_setting_t *s,
	    void *base);
int	cfg_resolve_limits(struct cfg_loader *ld, struct config_setting_t *s,
	    struct cfg *cf);

#endif
