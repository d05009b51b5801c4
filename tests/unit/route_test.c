/* route_test - weighted egress choice, down egresses, overflow */
#include "config.h"

#include <string.h>

#include "cfg.h"
#include "route.h"
#include "tap.h"
#include "testkit.h"

#define TENANT "tenants = ( { name = \"t\"; domains = ( { name = " \
	"\"a.example\"; keys = ( { selector = \"s\"; file = \"/x\"; } ); } );" \
	" } );\n"

static const char conf[] =
    "milter: { user = \"nobody\"; };\n"
    "pools = (\n"
    " { name = \"shared\"; egress = (\n"
    "   { transport = \"a\"; ip = \"192.0.2.1\"; weight = 1; },\n"
    "   { transport = \"b\"; ip = \"192.0.2.2\"; weight = 3; },\n"
    "   { transport = \"c\"; ip = \"192.0.2.3\"; weight = 100; down = true; }"
    " ); },\n"
    " { name = \"dead\"; overflow = \"shared\"; egress = (\n"
    "   { transport = \"d\"; ip = \"192.0.2.4\"; down = true; } ); },\n"
    " { name = \"loop1\"; overflow = \"loop2\"; egress = (\n"
    "   { transport = \"e\"; ip = \"192.0.2.5\"; down = true; } ); },\n"
    " { name = \"loop2\"; overflow = \"loop1\"; egress = (\n"
    "   { transport = \"f\"; ip = \"192.0.2.6\"; down = true; } ); }\n"
    ");\n" TENANT;

static const struct cfg_pool *
pool(const struct cfg *cf, const char *name)
{
	size_t	i;

	for (i = 0; i < cf->cf_pools.n; i++)
		if (strcmp(CFG_POOL(cf, i)->cp_name, name) == 0)
			return (CFG_POOL(cf, i));
	return (NULL);
}

int
main(void)
{
	char	err[CFG_ERRLEN];
	struct cfg *cf = tk_cfg(conf, 0, err, sizeof(err));
	const struct cfg_pool *chosen;
	const struct cfg_egress *e;
	int	i, n_a = 0, n_b = 0, other = 0;

	if (cf == NULL) {
		TAP_OK(0, "config loads: %s", err);
		return (tap_done());
	}
	TAP_OK(CFG_TENANT(cf, 0)->ct_pool == pool(cf, "shared"),
	    "a tenant without pool gets the first pool");
	for (i = 0; i < 40000; i++) {
		e = route_choose(pool(cf, "shared"), &chosen);
		if (e != NULL && strcmp(e->ce_transport, "a") == 0)
			n_a++;
		else if (e != NULL && strcmp(e->ce_transport, "b") == 0)
			n_b++;
		else
			other++;
	}
	/* b: p = 0.75, n = 40000, sigma = 0.0022: 0.75 +- 0.01 is > 4 sigma */
	TAP_OK(other == 0, "the down egress (weight 100) is never chosen (%d)",
	    other);
	TAP_OK(n_b > 0.74 * 40000 && n_b < 0.76 * 40000,
	    "weights 1:3 give b %.3f of the mail", n_b / 40000.0);
	e = route_choose(pool(cf, "dead"), &chosen);
	TAP_OK(e != NULL && chosen == pool(cf, "shared"),
	    "all down: the overflow pool sends");
	e = route_choose(pool(cf, "loop1"), &chosen);
	TAP_OK(e == NULL && chosen == NULL,
	    "an overflow loop of down pools ends with no route");
	cfg_free(cf);
	return (tap_done());
}
