/* tenant_test - login, network and domain-owner resolution */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "cfg.h"
#include "tap.h"
#include "tenant.h"
#include "testkit.h"

#define KEY "keys = ( { selector = \"s\"; file = \"/x\"; } );"
static const char conf[] =
    "milter: { user = \"nobody\"; };\n"
    "tenants = (\n"
    " { name = \"acme\"; logins = [\"alice\", \"*@acme.example\"];\n"
    "   networks = [\"10.1.0.0/16\"];\n"
    "   domains = ( { name = \"acme.example\"; subdomains = true; " KEY " } ); },\n"
    " { name = \"corp\"; logins = [\"carol\", \"*@corp.example\"];\n"
    "   networks = [\"10.1.2.0/24\", \"2001:db8::/32\"];\n"
    "   domains = ( { name = \"sub.acme.example\"; " KEY " },\n"
    "               { name = \"corp.example\"; " KEY " } ); },\n"
    " { name = \"rest\"; logins = [\"*\"];\n"
    "   domains = ( { name = \"other.example\"; " KEY " } ); }\n"
    ");\n";

static void
test_logins(const struct cfg *cf)
{
	static const struct {
		const char *login, *want;
	} rows[] = {
		{"alice", "acme"},
		{"ALICE", "acme"},
		{"bob@acme.example", "acme"},
		{"bob@ACME.example", "acme"},
		{"carol", "corp"},
		{"x@corp.example", "corp"},
		{"mallory", "rest"},
		{"x@evilacme.example", "rest"},
		{"@acme.example", "rest"},
	};
	const struct cfg_tenant *t;
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		t = tenant_by_login(cf, rows[i].login);
		TAP_OK(t != NULL && strcmp(t->ct_name, rows[i].want) == 0,
		    "login %s -> %s (got %s)", rows[i].login, rows[i].want,
		    t ? t->ct_name : "none");
	}
}

static void
test_networks(const struct cfg *cf)
{
	static const struct {
		const char *ip, *want;
	} rows[] = {
		{"10.1.2.3", "corp"},
		{"10.1.9.9", "acme"},
		{"192.0.2.1", NULL},
		{"::ffff:10.1.2.3", "corp"},
		{"2001:db8::1", "corp"},
		{"2001:db9::1", NULL},
	};
	struct sockaddr_storage ss;
	const struct cfg_tenant *t;
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(rows[i].ip, ':') != NULL) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			inet_pton(AF_INET6, rows[i].ip, &s6->sin6_addr);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			inet_pton(AF_INET, rows[i].ip, &s4->sin_addr);
		}
		t = tenant_by_addr(cf, (struct sockaddr *)&ss);
		TAP_OK(rows[i].want ? t != NULL &&
		    strcmp(t->ct_name, rows[i].want) == 0 : t == NULL,
		    "client %s -> %s (got %s)", rows[i].ip,
		    rows[i].want ? rows[i].want : "none",
		    t ? t->ct_name : "none");
	}
	TAP_OK(tenant_by_addr(cf, NULL) == NULL, "local submission -> none");
}

static void
test_owners(const struct cfg *cf)
{
	static const struct {
		const char *domain, *entry, *tenant;
	} rows[] = {
		{"acme.example", "acme.example", "acme"},
		{"news.acme.example", "acme.example", "acme"},
		{"sub.acme.example", "sub.acme.example", "corp"},
		/* sub.acme.example has no subdomains: acme's entry covers */
		{"x.sub.acme.example", "acme.example", "acme"},
		{"badacme.example", NULL, NULL},
		{"corp.example", "corp.example", "corp"},
		{"x.corp.example", NULL, NULL},
		{"example", NULL, NULL},
	};
	const struct cfg_domain *d;
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		d = tenant_domain_owner(cf, rows[i].domain);
		TAP_OK(rows[i].entry ? d != NULL &&
		    strcmp(d->cd_name, rows[i].entry) == 0 &&
		    strcmp(d->cd_tenant->ct_name, rows[i].tenant) == 0 :
		    d == NULL, "owner of %s -> %s", rows[i].domain,
		    rows[i].entry ? rows[i].entry : "none");
	}
}

int
main(void)
{
	char	err[CFG_ERRLEN];
	struct cfg *cf = tk_cfg(conf, 0, err, sizeof(err));

	if (cf == NULL) {
		TAP_OK(0, "config loads: %s", err);
		return (tap_done());
	}
	test_logins(cf);
	test_networks(cf);
	test_owners(cf);
	cfg_free(cf);
	return (tap_done());
}
