/*
 * NAME
 *	cfg_limit - the rate-limit and warm-up parts of the config
 * SYNOPSIS
 *	#include "cfg_int.h"
 *
 *	int	cfg_hook_ratelimit(struct cfg_loader *ld,
 *		    struct config_setting_t *s, void *base);
 *	int	cfg_hook_limit(struct cfg_loader *ld,
 *		    struct config_setting_t *s, void *base);
 *	int	cfg_hook_warmup(struct cfg_loader *ld,
 *		    struct config_setting_t *s, void *base);
 *	int	cfg_resolve_limits(struct cfg_loader *ld,
 *		    struct config_setting_t *s, struct cfg *cf);
 * DESCRIPTION
 *	Hooks the loader runs when a group is complete: ratelimit { }
 *	(the Redis key prefix, the shared backend), one limit { } (its
 *	parts and rates), one egress's warmup { } (start date and caps).
 *	cfg_resolve_limits() runs once the whole file is read: limit names
 *	are unique in each list, each tenant limit knows its tenant, a
 *	tenant limit that is disabled names a global limit, and
 *	cf_rcpt_limits says whether any limit can refuse a recipient (one
 *	with neither a from_domain nor an egress part: rl(3)), so that
 *	the milter knows whether it needs the MTA to wait at RCPT.
 * OWNERSHIP
 *	What the hooks derive is stored in the snapshot and freed with it.
 * DIAGNOSTICS
 *	Each returns -1 after cfg_fail() has recorded file:line and setting.
 * SEE ALSO
 *	cfg(3), rl(3), egress-milter.conf(5)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "cfg_int.h"
#include "rl.h"

/* cfg_hook_ratelimit - key prefix syntax; open the shared backend */

int
cfg_hook_ratelimit(struct cfg_loader *ld, struct config_setting_t *s,
    void *base)
{
	struct cfg *cf = base;
	char	err[512];

	if (cf->cf_redis_prefix[0] == '\0' || strspn(cf->cf_redis_prefix,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "._-") != strlen(cf->cf_redis_prefix))
		return (cfg_fail(ld, s, "redis prefix \"%s\" must be letters, "
		    "digits, '.', '_' or '-'", cf->cf_redis_prefix));
	if (cf->cf_redis_username != NULL && cf->cf_redis_username[0] != '\0' &&
	    (cf->cf_redis_password == NULL || cf->cf_redis_password[0] == '\0'))
		return (cfg_fail(ld, s, "redis username \"%s\" needs a "
		    "password (AUTH USERNAME PASSWORD)", cf->cf_redis_username));
	err[0] = '\0';
	if ((cf->cf_rl_shared = rl_backend_open(cf, err, sizeof(err))) ==
	    NULL && err[0] != '\0')
		return (cfg_fail(ld, s, "%s", err));
	return (0);
}

/* cfg_hook_limit - what is counted, per what, at which rates */

int
cfg_hook_limit(struct cfg_loader *ld, struct config_setting_t *s, void *base)
{
	struct cfg_limit *l = base;
	const char *rates;
	char	err[256];

	if (!l->cl_enabled)
		return (0);		/* it only names a global limit */
	if (l->cl_per == NULL)
		return (cfg_fail(ld, s, "limit %s: required setting \"per\" "
		    "is missing", l->cl_name));
	if (rl_parse_per(l->cl_per, l->cl_parts, &l->cl_nparts, err,
	    sizeof(err)) == -1)
		return (cfg_fail(ld, s, "per: %s", err));
	if (l->cl_messages != NULL && l->cl_recipients != NULL)
		return (cfg_fail(ld, s, "limit %s: set messages or "
		    "recipients, not both", l->cl_name));
	if ((rates = l->cl_messages ? l->cl_messages : l->cl_recipients) ==
	    NULL)
		return (cfg_fail(ld, s, "limit %s: set messages or "
		    "recipients, like messages = \"100/1h\"", l->cl_name));
	l->cl_rcpts = l->cl_recipients != NULL;
	if (rl_parse_rates(rates, l->cl_burst, l->cl_rates, &l->cl_nrates,
	    err, sizeof(err)) == -1)
		return (cfg_fail(ld, s, "%s: %s", l->cl_rcpts ? "recipients" :
		    "messages", err));
	return (0);
}

/* cfg_hook_warmup - a start date and at least one daily cap */

int
cfg_hook_warmup(struct cfg_loader *ld, struct config_setting_t *s,
    void *base)
{
	struct cfg_warmup *w = base;
	struct tm tm;
	char   *end;

	if (w->cw_start == NULL && w->cw_daily.n == 0)
		return (0);
	if (w->cw_start == NULL || w->cw_daily.n == 0)
		return (cfg_fail(ld, s, "warmup needs both start and daily"));
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(w->cw_start, "%Y-%m-%d", &tm)) == NULL ||
	    *end != '\0' || tm.tm_year < 100)
		return (cfg_fail(ld, s, "start \"%s\" is not a date like "
		    "2026-11-01", w->cw_start));
	w->cw_start_day = (long)(timegm(&tm) / 86400);
	return (0);
}

/* cfg_unique_limits - no name twice in one list; set the owner */

static int
cfg_unique_limits(struct cfg_loader *ld, struct config_setting_t *s,
    struct cfg_list *list, const struct cfg_tenant *t)
{
	struct cfg_limit *l;
	size_t	i, j;

	for (i = 0; i < list->n; i++) {
		l = CFG_LIMIT(list, i);
		l->cl_tenant = t;
		for (j = 0; j < i; j++)
			if (strcmp(CFG_LIMIT(list, j)->cl_name, l->cl_name) ==
			    0)
				return (cfg_fail(ld, s, "%s%s: limit name "
				    "\"%s\" is used twice", t ? "tenant " : "",
				    t ? t->ct_name : "limits", l->cl_name));
	}
	return (0);
}

/* cfg_at_rcpt - may this limit refuse at RCPT */

static int
cfg_at_rcpt(const struct cfg_limit *l)
{
	return (l->cl_enabled && !rl_at_eoh_only(l));
}

/* cfg_resolve_limits - unique names, owners, disabled ones name a global */

int
cfg_resolve_limits(struct cfg_loader *ld, struct config_setting_t *s,
    struct cfg *cf)
{
	struct cfg_tenant *t;
	struct cfg_limit *l;
	size_t	i, j, k;

	if (cfg_unique_limits(ld, s, &cf->cf_limits, NULL) == -1)
		return (-1);
	for (k = 0; k < cf->cf_limits.n; k++)
		cf->cf_rcpt_limits |= cfg_at_rcpt(CFG_LIMIT(&cf->cf_limits, k));
	for (i = 0; i < cf->cf_tenants.n; i++) {
		t = CFG_TENANT(cf, i);
		if (cfg_unique_limits(ld, s, &t->ct_limits, t) == -1)
			return (-1);
		for (j = 0; j < t->ct_limits.n; j++) {
			l = CFG_LIMIT(&t->ct_limits, j);
			cf->cf_rcpt_limits |= cfg_at_rcpt(l);
			if (l->cl_enabled)
				continue;
			for (k = 0; k < cf->cf_limits.n; k++)
				if (strcmp(CFG_LIMIT(&cf->cf_limits, k)->cl_name,
				    l->cl_name) == 0)
					break;
			if (k == cf->cf_limits.n)
				return (cfg_fail(ld, s, "tenant %s: disabled "
				    "limit \"%s\" is not a global limit",
				    t->ct_name, l->cl_name));
		}
	}
	return (0);
}
