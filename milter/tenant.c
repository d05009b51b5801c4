/*
 * NAME
 *	tenant - who is sending, and who owns a domain
 * SYNOPSIS
 *	#include "tenant.h"
 *
 *	const struct cfg_tenant *tenant_by_login(const struct cfg *cf,
 *		    const char *login);
 *	const struct cfg_tenant *tenant_by_addr(const struct cfg *cf,
 *		    const struct sockaddr *sa);
 *	const struct cfg_domain *tenant_domain_owner(const struct cfg *cf,
 *		    const char *domain);
 * DESCRIPTION
 *	tenant_by_login() maps a SASL login to its tenant: an exact login
 *	(compared without regard to case) wins over a "*@domain" pattern,
 *	which wins over "*". tenant_by_addr() maps a client address to the
 *	tenant whose network contains it, the longest prefix winning.
 *
 *	tenant_domain_owner() returns the configured domain entry that owns
 *	a (normalized) domain: the entry with that exact name, or else the
 *	longest entry with subdomains = true that the domain is inside. So
 *	a customer who owns sub.example.com keeps it even when another owns
 *	example.com with its subdomains. The entry's cd_tenant is the owner.
 * OWNERSHIP
 *	Results point into the config snapshot; they live as long as it.
 * DIAGNOSTICS
 *	NULL when nothing matches. Pure functions: no logging, no errors.
 * SEE ALSO
 *	cfg(3), cidr(3), addr(3)
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cfg.h"
#include "tenant.h"

/* tenant_login_rank - 3 exact, 2 "*@domain", 1 "*", 0 no match */

static int
tenant_login_rank(const char *pattern, const char *login)
{
	size_t	pl, ll;

	if (pattern[0] != '*')
		return (strcasecmp(pattern, login) == 0 ? 3 : 0);
	if (pattern[1] == '\0')
		return (1);
	pl = strlen(pattern + 1);	/* "@domain" */
	ll = strlen(login);
	return (ll > pl && strcasecmp(login + ll - pl, pattern + 1) == 0 ?
	    2 : 0);
}

/* tenant_by_login - the tenant a SASL login belongs to */

const struct cfg_tenant *
tenant_by_login(const struct cfg *cf, const char *login)
{
	const struct cfg_tenant *best = NULL, *t;
	size_t	i, j;
	int	rank, best_rank = 0;

	for (i = 0; i < cf->cf_tenants.n; i++) {
		t = CFG_TENANT(cf, i);
		for (j = 0; j < t->ct_logins.n; j++) {
			rank = tenant_login_rank(t->ct_logins.v[j], login);
			if (rank > best_rank)
				best = t, best_rank = rank;
		}
	}
	return (best);
}

/* tenant_by_addr - the tenant whose network holds the client */

const struct cfg_tenant *
tenant_by_addr(const struct cfg *cf, const struct sockaddr *sa)
{
	const struct cfg_tenant *best = NULL, *t;
	size_t	i, j;
	int	best_len = -1;

	if (sa == NULL)
		return (NULL);
	for (i = 0; i < cf->cf_tenants.n; i++) {
		t = CFG_TENANT(cf, i);
		for (j = 0; j < t->ct_networks.n; j++) {
			const struct cidr *net = &t->ct_networks.v[j];
			int	len = (int)net->prefix +
			    (net->family == AF_INET ? 96 : 0);

			if (len > best_len && cidr_match(net, sa))
				best = t, best_len = len;
		}
	}
	return (best);
}

/* tenant_domain_owner - the domain entry that owns this domain */

const struct cfg_domain *
tenant_domain_owner(const struct cfg *cf, const char *domain)
{
	const struct cfg_domain *best = NULL, *d;
	const struct cfg_tenant *t;
	size_t	i, j, len, best_len = 0;

	for (i = 0; i < cf->cf_tenants.n; i++) {
		t = CFG_TENANT(cf, i);
		for (j = 0; j < t->ct_domains.n; j++) {
			d = CFG_DOMAIN(t, j);
			if (strcasecmp(d->cd_name, domain) == 0)
				return (d);
			len = strlen(d->cd_name);
			if (d->cd_subdomains && len > best_len &&
			    addr_domain_within(domain, d->cd_name))
				best = d, best_len = len;
		}
	}
	return (best);
}
