/*
 * NAME
 *	ctl - egress-ctl: the companion tool of egress-milter
 * SYNOPSIS
 *	egress-ctl [-c FILE] postfix-config [master | header-checks |
 *	    main [TABLE]]
 *	egress-ctl keygen [-a rsa | ed25519] [-b BITS] [-u USER] -d DOMAIN
 *	    -s SELECTOR FILE
 *	egress-ctl [-c FILE] dns-check
 *	egress-ctl [-c FILE] explain [-l LOGIN] [-i IP] -f MAIL-FROM
 *	    -F FROM -r RCPT...
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
 *
 *	keygen writes a new private key (RSA, 2048 bits by default, or
 *	Ed25519) to FILE, which must not exist, with mode 0600 and, as root,
 *	owned by USER (so the daemon can re-read it on SIGHUP), and prints
 *	the DNS TXT record to publish for SELECTOR._domainkey.DOMAIN in zone
 *	file syntax.
 *
 *	dns-check reads the config and its keys and checks, for every
 *	domain of every tenant: each selector's key is published and
 *	matches the private key; SPF of the domain authorizes every address
 *	the tenant's mail can leave from (its pool and overflow pools, or
 *	alignment.egress_ip); a DMARC record exists (at the domain or its
 *	organizational domain). One line per check, "ok" or "FAIL".
 *
 *	explain: see ctl_explain(3).
 * DIAGNOSTICS
 *	Exit 1 with file:line and the setting when the config is invalid,
 *	or (dns-check) when a check fails; 2 on a usage error.
 * SEE ALSO
 *	egress-milter(8), egress-milter.conf(5), route(3)
 */
#include "config.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "align.h"
#include "cfg.h"
#include "ctl.h"
#include "dmarc.h"
#include "dns.h"
#include "keys.h"
#include "log.h"
#include "preflight.h"
#include "psl.h"
#include "spf.h"

#define CTL_DEFAULT_CONFIG SYSCONFDIR "/egress-milter/egress-milter.conf"
#define CTL_DEFAULT_TABLE "/etc/postfix/egress-milter-routes"

static void ctl_usage(void) __attribute__((noreturn));

/* ctl_usage - the synopsis */

static void
ctl_usage(void)
{
	fprintf(stderr, "usage: egress-ctl [-c FILE] postfix-config "
	    "[master | header-checks | main [TABLE]]\n"
	    "       egress-ctl keygen [-a rsa | ed25519] [-b BITS] [-u USER] "
	    "-d DOMAIN -s SELECTOR FILE\n"
	    "       egress-ctl [-c FILE] dns-check\n"
	    "       egress-ctl [-c FILE] explain [-l LOGIN] [-i IP] "
	    "-f MAIL-FROM -F FROM -r RCPT...\n");
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

/* ctl_record - a TXT record in zone file syntax, 255-byte strings */

static void
ctl_record(const char *selector, const char *domain, const char *rec)
{
	size_t	len = strlen(rec), i;

	printf("%s._domainkey.%s. IN TXT (", selector, domain);
	for (i = 0; i < len; i += 255)
		printf(" \"%.*s\"", (int)(len - i < 255 ? len - i : 255),
		    rec + i);
	printf(" )\n");
}

/* ctl_keygen - a new key file and the record to publish */

static int
ctl_keygen(int argc, char **argv)
{
	const char *alg = "rsa", *user = NULL, *domain = NULL, *sel = NULL;
	char	err[512], rec[4096];
	struct passwd *pw = NULL;
	struct key *key;
	int	ch, bits = 2048;

	optind = 1;
	while ((ch = getopt(argc, argv, "a:b:d:s:u:")) != -1) {
		switch (ch) {
		case 'a': alg = optarg; break;
		case 'b': bits = atoi(optarg); break;
		case 'd': domain = optarg; break;
		case 's': sel = optarg; break;
		case 'u': user = optarg; break;
		default: ctl_usage();
		}
	}
	if (optind + 1 != argc || domain == NULL || sel == NULL ||
	    (strcmp(alg, "rsa") != 0 && strcmp(alg, "ed25519") != 0))
		ctl_usage();
	if (user != NULL && (pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "egress-ctl: no user %s\n", user);
		return (1);
	}
	if (keys_generate(strcmp(alg, "rsa") == 0 ? KEY_ALG_RSA :
	    KEY_ALG_ED25519, bits, argv[optind], pw ? pw->pw_uid : 0,
	    pw ? pw->pw_gid : 0, err, sizeof(err)) == -1 ||
	    (key = keys_load(argv[optind], pw ? pw->pw_uid : 0, KEYS_MIN_RSA,
	    err, sizeof(err))) == NULL) {
		fprintf(stderr, "egress-ctl: %s\n", err);
		return (1);
	}
	if (keys_public_record(key, rec, sizeof(rec)) == -1) {
		fprintf(stderr, "egress-ctl: cannot make the DNS record\n");
		keys_free(key);
		return (1);
	}
	ctl_record(sel, domain, rec);
	keys_free(key);
	return (0);
}

/* ctl_say - one check's line; counts failures */

static void __attribute__((format(printf, 3, 4)))
ctl_say(int *failed, int ok, const char *fmt, ...)
{
	va_list	ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	*failed += !ok;
}

/* ctl_check_key - the selector's record is published and matches */

static void
ctl_check_key(const struct cfg *cf, const struct cfg_domain *d,
    const struct cfg_key *k, int *failed)
{
	struct dns_answer ans;
	char	name[ADDR_DOMAIN_MAX + 80], pub[1024];
	const char *why = "is not published";
	size_t	i;

	snprintf(name, sizeof(name), "%s._domainkey.%s", k->ck_selector,
	    d->cd_name);
	dns_txt(cf->cf_dns, name, &ans);
	if (ans.status == DNS_TEMPFAIL)
		why = "could not be looked up (DNS failure)";
	for (i = 0; ans.status == DNS_OK && i < ans.n; i++) {
		preflight_p_value(ans.txt[i], pub, sizeof(pub));
		why = strcmp(pub, k->ck_pub) == 0 ? NULL :
		    "does not match the private key";
		if (why == NULL)
			break;
	}
	dns_answer_fini(&ans);
	ctl_say(failed, why == NULL, "%s: DKIM key %s %s", d->cd_name, name,
	    why ? why : "is published and matches");
}

/* ctl_check_spf - SPF of the domain passes for one sending address */

static void
ctl_check_spf(const struct cfg *cf, const struct cfg_domain *d,
    const char *ip, const char *helo, int *failed)
{
	char	sender[ADDR_DOMAIN_MAX + 16];
	enum align_spf r;

	snprintf(sender, sizeof(sender), "postmaster@%s", d->cd_name);
	r = spf_check(cf->cf_spf_server, ip, helo, sender);
	ctl_say(failed, r == ALIGN_SPF_PASS, "%s: SPF for %s: %s", d->cd_name,
	    ip, r == ALIGN_SPF_PASS ? "pass" : align_spf_name(r));
}

/* ctl_check_addresses - every address the tenant's mail may leave from */

static void
ctl_check_addresses(const struct cfg *cf, const struct cfg_tenant *t,
    const struct cfg_domain *d, int *failed)
{
	const struct cfg_pool *p = t->ct_pool;
	const struct cfg_egress *e;
	size_t	i;
	int	hops;

	if (p == NULL && cf->cf_egress_ip != NULL)
		ctl_check_spf(cf, d, cf->cf_egress_ip, cf->cf_helo, failed);
	for (hops = 0; p != NULL && hops < 16; hops++) {
		for (i = 0; i < p->cp_egress.n; i++) {
			e = CFG_EGRESS(p, i);
			if (e->ce_down)
				continue;
			ctl_check_spf(cf, d, e->ce_ip, e->ce_helo ?
			    e->ce_helo : cf->cf_helo, failed);
			if (e->ce_ip6 != NULL)
				ctl_check_spf(cf, d, e->ce_ip6, e->ce_helo ?
				    e->ce_helo : cf->cf_helo, failed);
		}
		p = p->cp_overflow_pool;
	}
}

/* ctl_check_dmarc - a DMARC record at the domain or its org domain */

static void
ctl_check_dmarc(const struct cfg *cf, const struct cfg_domain *d,
    int *failed)
{
	struct dns_answer ans;
	char	org[ADDR_DOMAIN_MAX], name[ADDR_DOMAIN_MAX + 8];
	const char *at[2] = { d->cd_name, org };
	int	i, found = 0;
	size_t	j;

	if (psl_org_domain(cf->cf_psl, d->cd_name, org, sizeof(org)) == -1)
		snprintf(org, sizeof(org), "%s", d->cd_name);
	for (i = 0; i < 2 && !found; i++) {
		snprintf(name, sizeof(name), "_dmarc.%s", at[i]);
		dns_txt(cf->cf_dns, name, &ans);
		for (j = 0; ans.status == DNS_OK && j < ans.n; j++)
			found |= dmarc_is_record(ans.txt[j]);
		dns_answer_fini(&ans);
	}
	ctl_say(failed, found, "%s: DMARC record %s", d->cd_name,
	    found ? "found" : "missing");
}

/* ctl_dns_check - every tenant's keys, SPF and DMARC in DNS */

static int
ctl_dns_check(struct cfg *cf)
{
	const struct cfg_tenant *t;
	const struct cfg_domain *d;
	char	err[512];
	size_t	i, j, k;
	int	failed = 0;

	/* with alignment off the daemon loads neither: the checks need both */
	if (cf->cf_psl == NULL && (cf->cf_psl = psl_load(cf->cf_psl_path, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "egress-ctl: %s\n", err);
		return (1);
	}
	if (cf->cf_spf_server == NULL && (cf->cf_spf_server = spf_new()) ==
	    NULL) {
		fprintf(stderr, "egress-ctl: cannot set up SPF checks\n");
		return (1);
	}

	for (i = 0; i < cf->cf_tenants.n; i++) {
		t = CFG_TENANT(cf, i);
		for (j = 0; j < t->ct_domains.n; j++) {
			d = CFG_DOMAIN(t, j);
			for (k = 0; k < d->cd_keys.n; k++)
				ctl_check_key(cf, d, CFG_KEY(d, k), &failed);
			ctl_check_addresses(cf, t, d, &failed);
			ctl_check_dmarc(cf, d, &failed);
		}
	}
	printf("%d problem(s)\n", failed);
	return (failed ? 1 : 0);
}

/* ctl_take_config - "-c FILE" may also follow the command; take it out */

static void
ctl_take_config(int *argc, char **argv, const char **path)
{
	int	i, j;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "-c") != 0)
			continue;
		if (i + 1 == *argc)
			ctl_usage();
		*path = argv[i + 1];
		for (j = i; j + 2 <= *argc; j++)
			argv[j] = argv[j + 2];
		*argc -= 2;
		i--;
	}
}

/* ctl_postfix_config - the Postfix side of the pools */

static int
ctl_postfix_config(const struct cfg *cf, int argc, char **argv)
{
	const char *part = argc > 1 ? argv[1] : "all";
	const char *table = argc > 2 ? argv[2] : CTL_DEFAULT_TABLE;

	if (argc > 3)
		ctl_usage();
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
	return (0);
}

int
main(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_CONFIG;
	char	err[CFG_ERRLEN];
	struct cfg *cf;
	int	ch, rc, keys;

	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		if (ch != 'c')
			ctl_usage();
		path = optarg;
	}
	argc -= optind, argv += optind;
	if (argc < 1)
		ctl_usage();
	log_init("egress-ctl", 1, 0);
	if (strcmp(argv[0], "keygen") == 0)
		return (ctl_keygen(argc, argv));
	ctl_take_config(&argc, argv, &path);
	keys = strcmp(argv[0], "dns-check") == 0 ||
	    strcmp(argv[0], "explain") == 0;
	if (!keys && strcmp(argv[0], "postfix-config") != 0)
		ctl_usage();
	if ((cf = cfg_load(path, keys ? CFG_LOAD_KEYS : 0, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "egress-ctl: %s\n", err);
		return (1);
	}
	if (strcmp(argv[0], "explain") == 0)
		rc = ctl_explain(cf, argc, argv);
	else
		rc = keys ? ctl_dns_check(cf) :
		    ctl_postfix_config(cf, argc, argv);
	if (rc == 2)
		ctl_usage();
	cfg_free(cf);
	return (rc);
}
