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
    " { name = \"capped\"; overflow = \"shared\"; egress = (\n"
    "   { transport = \"a2\"; ip = \"192.0.2.7\"; } ); },\n"
    " { name = \"broken\"; overflow = \"shared\"; egress = (\n"
    "   { transport = \"x\"; ip = \"192.0.2.8\"; } ); },\n"
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

static int capped_a;		/* usable hook: "a" is over its cap */
static int usable_calls;

static int
usable(void *ctx, const struct cfg_egress *e)
{
	(void)ctx;
	usable_calls++;
	if (strcmp(e->ce_transport, "x") == 0)
		return (-1);
	return (!(capped_a && e->ce_transport[0] == 'a'));
}

static int
prefer_a(void *ctx, const struct cfg_egress *e)
{
	(void)ctx;
	return (strcmp(e->ce_transport, "a") == 0);
}

int
main(void)
{
	struct route_hooks hooks = { NULL, usable, NULL };
	struct route_hooks prefer = { NULL, usable, prefer_a };
	int	error;
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
		e = route_choose(pool(cf, "shared"), NULL, &chosen, &error);
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
	e = route_choose(pool(cf, "dead"), NULL, &chosen, &error);
	TAP_OK(e != NULL && chosen == pool(cf, "shared"),
	    "all down: the overflow pool sends");
	e = route_choose(pool(cf, "loop1"), NULL, &chosen, &error);
	TAP_OK(e == NULL && chosen == NULL && !error,
	    "an overflow loop of down pools ends with no route");

	/* warm-up: an egress over its cap is skipped, never chosen */
	capped_a = 1;
	for (i = 0, n_a = n_b = other = 0; i < 2000; i++) {
		e = route_choose(pool(cf, "shared"), &hooks, &chosen, &error);
		if (e != NULL && strcmp(e->ce_transport, "a") == 0)
			n_a++;
		else if (e != NULL && strcmp(e->ce_transport, "b") == 0)
			n_b++;
	}
	TAP_OK(n_a == 0 && n_b == 2000, "a capped egress is skipped: b sends "
	    "all (%d/%d)", n_a, n_b);
	e = route_choose(pool(cf, "capped"), &hooks, &chosen, &error);
	TAP_OK(e != NULL && chosen == pool(cf, "shared") &&
	    strcmp(e->ce_transport, "b") == 0,
	    "a pool whose only egress is capped overflows");
	capped_a = 0;
	usable_calls = 0;
	e = route_choose(pool(cf, "broken"), &hooks, &chosen, &error);
	TAP_OK(e == NULL && error == 1 && usable_calls == 1,
	    "a backend error stops the choice (no overflow): error %d", error);

	/* SPF preference: "a" (weight 1 of 4) wins every draw it can */
	for (i = 0, n_a = 0; i < 2000; i++) {
		e = route_choose(pool(cf, "shared"), &prefer, &chosen, &error);
		n_a += e != NULL && strcmp(e->ce_transport, "a") == 0;
	}
	TAP_OK(n_a == 2000, "the preferred egress is always chosen (%d)", n_a);
	capped_a = 1;
	e = route_choose(pool(cf, "shared"), &prefer, &chosen, &error);
	TAP_OK(e != NULL && strcmp(e->ce_transport, "b") == 0,
	    "a preferred egress over its cap gives way to the others");
	cfg_free(cf);
	return (tap_done());
}
