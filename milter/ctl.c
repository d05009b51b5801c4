/*
 * NAME
 *	ctl - egress-ctl: the companion tool of egress-milter
 * SYNOPSIS
 *	egress-ctl [-c FILE] postfix-config [master | header-checks |
 *	    main [TABLE]]
 * DESCRIPTION
 *	postfix-config prints the Postfix side of the configured pools, so
 *	Postfix and egress-milter never drift apart: "master" the master.cf
 *	services (one smtp(8) clone per egress, bound to its address with
 *	smtp_bind_address_enforce=yes so a missing address defers mail
 *	instead of sending it from the wrong one), "header-checks" the
 *	regexp table that turns the milter's X-Egress-Route header into
 *	FILTER transport:nexthop (with a catch-all REJECT 4.7.1 so an unknown
 *	route fails closed and is retried), "main" the main.cf line naming
 *	that table (default /etc/postfix/egress-milter-routes). Without a
 *	part it prints all three, each under a comment.
 * DIAGNOSTICS
 *	Exit 1 with file:line and the setting when the config is invalid,
 *	2 on a usage error.
 * SEE ALSO
 *	egress-milter(8), egress-milter.conf(5), route(3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"

#define CTL_DEFAULT_CONFIG SYSCONFDIR "/egress-milter/egress-milter.conf"
#define CTL_DEFAULT_TABLE "/etc/postfix/egress-milter-routes"

static void ctl_usage(void) __attribute__((noreturn));

/* ctl_usage - the synopsis */

static void
ctl_usage(void)
{
	fprintf(stderr, "usage: egress-ctl [-c FILE] postfix-config "
	    "[master | header-checks | main [TABLE]]\n");
	exit(2);
}

/* ctl_master - one smtp(8) clone per egress */

static void
ctl_master(const struct cfg *cf)
{
	const struct cfg_pool *p;
	const struct cfg_egress *e;
	size_t	i, j;

	for (i = 0; i < cf->cf_pools.n; i++) {
		p = CFG_POOL(cf, i);
		for (j = 0; j < p->cp_egress.n; j++) {
			e = CFG_EGRESS(p, j);
			printf("# egress-milter: pool %s, egress %s\n",
			    p->cp_name, e->ce_ip);
			printf("%s unix - - n - - smtp\n", e->ce_transport);
			printf("  -o smtp_bind_address=%s\n", e->ce_ip);
			if (e->ce_ip6 != NULL)
				printf("  -o smtp_bind_address6=%s\n", e->ce_ip6);
			printf("  -o smtp_bind_address_enforce=yes\n");
			if (e->ce_helo != NULL)
				printf("  -o smtp_helo_name=%s\n", e->ce_helo);
		}
	}
}

/* ctl_header_checks - X-Egress-Route to FILTER, unknown ones fail closed */

static void
ctl_header_checks(const struct cfg *cf)
{
	const struct cfg_pool *p;
	const struct cfg_egress *e;
	size_t	i, j;

	printf("# egress-milter routes: milter_header_checks only sees "
	    "headers a milter adds,\n# so a client cannot route by sending "
	    "this header.\n");
	for (i = 0; i < cf->cf_pools.n; i++) {
		p = CFG_POOL(cf, i);
		for (j = 0; j < p->cp_egress.n; j++) {
			e = CFG_EGRESS(p, j);
			printf("/^X-Egress-Route:\\s*%s\\s*$/ FILTER %s:%s\n",
			    e->ce_transport, e->ce_transport,
			    e->ce_nexthop ? e->ce_nexthop : "");
		}
	}
	printf("/^X-Egress-Route:/ REJECT 4.7.1 unknown egress route\n");
}

int
main(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_CONFIG, *part, *table;
	char	err[CFG_ERRLEN];
	struct cfg *cf;
	int	ch;

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		if (ch != 'c')
			ctl_usage();
		path = optarg;
	}
	argc -= optind, argv += optind;
	if (argc < 1 || strcmp(argv[0], "postfix-config") != 0 || argc > 3)
		ctl_usage();
	part = argc > 1 ? argv[1] : "all";
	table = argc > 2 ? argv[2] : CTL_DEFAULT_TABLE;
	log_init("egress-ctl", 1, 0);
	if ((cf = cfg_load(path, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "egress-ctl: %s\n", err);
		return (1);
	}
	if (strcmp(part, "master") == 0)
		ctl_master(cf);
	else if (strcmp(part, "header-checks") == 0)
		ctl_header_checks(cf);
	else if (strcmp(part, "main") == 0)
		printf("milter_header_checks = regexp:%s\n", table);
	else if (strcmp(part, "all") == 0) {
		printf("# --- main.cf ---\nmilter_header_checks = regexp:%s\n"
		    "# --- master.cf ---\n", table);
		ctl_master(cf);
		printf("# --- %s ---\n", table);
		ctl_header_checks(cf);
	} else
		ctl_usage();
	cfg_free(cf);
	return (0);
}
