/*
 * params_test - every row of the settings table is documented
 *
 * Each setting declared in cfg_params.c must have its own entry (a ".B
 * full.name" tag) in docs/egress-milter.conf.5, and each milter and
 * signing setting must appear in the example conf/egress-milter.conf
 * (the Postfix check-postconf-undocumented idea).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_params.h"
#include "tap.h"

/* slurp - a whole file, NUL-terminated */

static char *
slurp(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char	path[512], *buf;
	long	n;
	FILE   *fp;

	snprintf(path, sizeof(path), "%s/%s", top ? top : "../..", rel);
	if ((fp = fopen(path, "r")) == NULL)
		return (NULL);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n)
		buf[n] = '\0';
	fclose(fp);
	return (buf);
}

/* full_name - the dotted name an admin reads in the page */

static void
full_name(const struct cfg_param *p, char *buf, size_t size)
{
	static const char *const map[][2] = {
		{"", ""}, {"milter", "milter."}, {"signing", "signing."},
		{"alignment", "alignment."}, {"pool", "pools."},
		{"egress", "pools.egress."},
		{"provider", "signing.provider."}, {"tenant", "tenants."},
		{"domain", "domains."}, {"key", "keys."},
		{"ratelimit", "ratelimit."}, {"redis", "ratelimit.redis."},
		{"limit", "limits."}, {"warmup", "pools.egress.warmup."},
		{"metrics", "metrics."},
	};
	size_t	i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], p->p_scope) == 0)
			break;
	snprintf(buf, size, "%s%s", i < sizeof(map) / sizeof(map[0]) ?
	    map[i][1] : "?.", p->p_name);
}

int
main(void)
{
	char   *page = slurp("docs/egress-milter.conf.5");
	char   *example = slurp("conf/egress-milter.conf");
	char	name[128], tag[160];
	size_t	i;

	TAP_OK(page != NULL, "docs/egress-milter.conf.5 is readable");
	TAP_OK(example != NULL, "conf/egress-milter.conf is readable");
	if (page == NULL || example == NULL)
		return (tap_done());
	for (i = 0; i < cfg_nparams; i++) {
		const struct cfg_param *p = &cfg_params[i];

		full_name(p, name, sizeof(name));
		snprintf(tag, sizeof(tag), "\n.B %s\n", name);
		TAP_OK(strstr(page, tag) != NULL, "%s has an entry in "
		    "egress-milter.conf(5)", name);
		if (strcmp(p->p_scope, "milter") != 0 &&
		    strcmp(p->p_scope, "signing") != 0 &&
		    strcmp(p->p_scope, "alignment") != 0)
			continue;
		snprintf(tag, sizeof(tag), "%s =", p->p_name);
		TAP_OK(strstr(example, tag) != NULL ||
		    (snprintf(tag, sizeof(tag), "%s:", p->p_name) > 0 &&
		    strstr(example, tag) != NULL), "%s appears in the example "
		    "configuration", name);
	}
	free(page);
	free(example);
	return (tap_done());
}
