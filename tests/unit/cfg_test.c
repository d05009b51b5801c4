/* cfg_test - every config error names file:line and the setting */
#include "config.h"

#include <string.h>

#include "cfg.h"
#include "cfg_params.h"
#include "log.h"
#include "tap.h"
#include "testkit.h"

#define OKDOM \
	"domains = ( { name = \"example.com\"; keys = ( { selector = \"s1\";" \
	" file = \"@D@/rsa.key\"; } ); } );\n"
#define USER "milter: { user = \"nobody\"; };\n"

static const struct row {
	const char *label;
	const char *text;
	int	flags;
	const char *want;	/* NULL: must load; else error substring */
} rows[] = {
	{"minimal small-site config", USER OKDOM, CFG_LOAD_KEYS, NULL},
	{"syntax error names its line", USER "foo = = 3;\n" OKDOM,
	0, "test.conf:2: syntax error"},
	{"unknown top-level setting", USER OKDOM "\nalignement: { };\n", 0,
	"test.conf:4: alignement: unknown setting"},
	{"unknown milter setting", "milter: {\n user = \"nobody\";\n"
	" sokcet = \"unix:/x\"; };\n" OKDOM, 0,
	"test.conf:3: milter.sokcet: unknown setting in milter"},
	{"wrong type: integer for string", "milter: { user = 7; };\n" OKDOM, 0,
	"test.conf:1: milter.user: expected a string, not an integer"},
	{"wrong type: string for boolean", USER "domains = ( { name = \"a.b\";"
	" subdomains = \"yes\"; keys = ( { selector = \"s\"; file = \"/x\"; }"
	" ); } );\n", 0, "domains.[0].subdomains: expected true or false"},
	{"bad enum value", "milter: { user = \"nobody\"; on_error = \"drop\";"
	" };\n" OKDOM, 0, "milter.on_error: \"drop\" is not one of"},
	{"integer out of range", "milter: { user = \"nobody\"; max_headers ="
	" 3; };\n" OKDOM, 0, "milter.max_headers: 3 is out of range [16,"},
	{"bad socket", "milter: { user = \"nobody\"; socket = \"tcp:25\"; };\n"
	OKDOM, 0, "test.conf:1: milter: socket \"tcp:25\" is not"},
	{"inet socket ok", "milter: { user = \"nobody\"; socket ="
	" \"inet:8891@127.0.0.1\"; };\n" OKDOM, 0, NULL},
	{"inet6 socket ok", "milter: { user = \"nobody\"; socket ="
	" \"inet6:8891@[::1]\"; };\n" OKDOM, 0, NULL},
	{"unknown user", "milter: { user = \"no-such-user-x\"; };\n" OKDOM, 0,
	"user \"no-such-user-x\" does not exist"},
	{"bad socket mode", "milter: { user = \"nobody\"; socket_mode ="
	" \"0999\"; };\n" OKDOM, 0, "is not an octal mode"},
	{"missing required name", USER "domains = ( { keys = ( { selector ="
	" \"s\"; file = \"/x\"; } ); } );\n", 0,
	"test.conf:2: domains.[0]: required setting \"name\" is missing"},
	{"domain without keys", USER "domains = ( { name = \"a.example\";"
	" keys = (); } );\n", 0, "domain a.example has no keys"},
	{"invalid domain", USER "domains = ( { name = \"a..example\"; keys ="
	" ( { selector = \"s\"; file = \"/x\"; } ); } );\n", 0,
	"\"a..example\" is not a valid domain name"},
	{"domain twice across tenants", USER "tenants = (\n { name = \"a\";"
	" domains = ( { name = \"x.example\"; keys = ( { selector = \"s\";"
	" file = \"/x\"; } ); } ); },\n { name = \"b\"; domains = ( { name ="
	" \"X.example\"; keys = ( { selector = \"s\"; file = \"/x\"; } ); } );"
	" }\n);\n", 0, "test.conf:4: tenants.[1].domains.[0]: domain x.example"
	" is configured twice"},
	{"login in two tenants", USER "tenants = (\n { name = \"a\"; logins ="
	" [\"joe\"]; domains = ( { name = \"a.example\"; keys = ( { selector ="
	" \"s\"; file = \"/x\"; } ); } ); },\n { name = \"b\"; logins ="
	" [\"joe\"]; domains = ( { name = \"b.example\"; keys = ( { selector ="
	" \"s\"; file = \"/x\"; } ); } ); }\n);\n", 0,
	"test.conf:4: tenants.[1]: login \"joe\" belongs to two tenants"},
	{"bad login pattern", USER "tenants = ( { name = \"a\"; logins ="
	" [\"j*e\"]; domains = ( { name = \"a.example\"; keys = ( { selector ="
	" \"s\"; file = \"/x\"; } ); } ); } );\n", 0,
	"login \"j*e\" is not a name"},
	{"bad network", USER "tenants = ( { name = \"a\"; networks ="
	" [\"10.0.0.0/33\"]; domains = ( { name = \"a.example\"; keys = ( {"
	" selector = \"s\"; file = \"/x\"; } ); } ); } );\n", 0,
	"\"10.0.0.0/33\" is not an address or network"},
	{"string where array expected", USER "tenants = ( { name = \"a\";"
	" logins = \"joe\"; domains = ( { name = \"a.example\"; keys = ( {"
	" selector = \"s\"; file = \"/x\"; } ); } ); } );\n", 0,
	"expected an array of strings, like [\"joe\"]"},
	{"nothing to sign", USER, 0, "no domains and no tenants"},
	{"bad selector", USER "domains = ( { name = \"a.example\"; keys = ( {"
	" selector = \"s 1\"; file = \"/x\"; } ); } );\n", 0,
	"selector \"s 1\" is not a DNS label"},
	{"bad canonicalization", USER "signing: { canonicalization ="
	" \"relaxed/loose\"; };\n" OKDOM, 0,
	"canonicalization \"relaxed/loose\" is not"},
	{"headers without from", USER "signing: { headers = [\"to\","
	" \"subject\"]; };\n" OKDOM, 0, "headers must include \"from\""},
	{"missing key file", USER "domains = ( { name = \"a.example\"; keys ="
	" ( { selector = \"s\"; file = \"@D@/nope.key\"; } ); } );\n",
	CFG_LOAD_KEYS, "key file @D@/nope.key: No such file"},
	{"group-readable key refused", USER "domains = ( { name = \"a.example\";"
	" keys = ( { selector = \"s\"; file = \"@D@/open.key\"; } ); } );\n",
	CFG_LOAD_KEYS, "is accessible by group or others (mode 0640)"},
	{"short RSA key refused", USER "domains = ( { name = \"a.example\";"
	" keys = ( { selector = \"s\"; file = \"@D@/short.key\"; } ); } );\n",
	CFG_LOAD_KEYS, "RSA key of 512 bits is shorter than the minimum of"
	" 1024"},
	{"min_rsa_bits raised refuses 1024", USER "signing: { min_rsa_bits ="
	" 2048; };\ndomains = ( { name = \"a.example\"; keys = ( { selector ="
	" \"s\"; file = \"@D@/k1024.key\"; } ); } );\n", CFG_LOAD_KEYS,
	"RSA key of 1024 bits is shorter than the minimum of 2048"},
	{"not a key", USER "domains = ( { name = \"a.example\"; keys = ( {"
	" selector = \"s\"; file = \"@D@/junk.key\"; } ); } );\n",
	CFG_LOAD_KEYS, "is not an unencrypted PEM private key"},
	{"encrypted key refused, no prompt", USER "domains = ( { name ="
	" \"a.example\"; keys = ( { selector = \"s\"; file ="
	" \"@D@/enc.key\"; } ); } );\n", CFG_LOAD_KEYS,
	"is not an unencrypted PEM private key"},
	{"tenant without domains", USER "tenants = ( { name = \"a\"; domains"
	" = (); } );\n", 0, "tenant a owns no domains"},
	{"ed25519 and rsa side by side", USER "domains = ( { name ="
	" \"a.example\"; keys = ( { selector = \"r\"; file = \"@D@/rsa.key\";"
	" }, { selector = \"e\"; file = \"@D@/ed.key\"; } ); } );\n",
	CFG_LOAD_KEYS, NULL},
	{"provider without keys", USER "signing: { provider = { domain ="
	" \"relay.example\"; }; };\n" OKDOM, 0,
	"signing.provider: required setting \"keys\" is missing"},
	{"provider ok", USER "signing: { provider = { domain = \"relay.example\";"
	" keys = ( { selector = \"p\"; file = \"@D@/ed.key\"; } ); }; };\n"
	OKDOM, CFG_LOAD_KEYS, NULL},
	{"pool without egress", USER "pools = ( { name = \"p\"; egress = ();"
	" } );\n" OKDOM, 0, "test.conf:2: pools.[0]: pool p has no egress"},
	{"bad egress address", USER "pools = ( { name = \"p\"; egress = ( {"
	" transport = \"t1\"; ip = \"300.1.1.1\"; } ); } );\n" OKDOM, 0,
	"ip \"300.1.1.1\" is not an IPv4 address"},
	{"bad transport name", USER "pools = ( { name = \"p\"; egress = ( {"
	" transport = \"T 1\"; ip = \"192.0.2.1\"; } ); } );\n" OKDOM, 0,
	"transport \"T 1\" must be lower-case"},
	{"transport used twice", USER "pools = ( { name = \"p\"; egress = ( {"
	" transport = \"t\"; ip = \"192.0.2.1\"; }, { transport = \"t\";"
	" ip = \"192.0.2.2\"; } ); } );\n" OKDOM, 0,
	"transport t is used by two egresses"},
	{"unknown overflow pool", USER "pools = ( { name = \"p\"; overflow ="
	" \"q\"; egress = ( { transport = \"t\"; ip = \"192.0.2.1\"; } );"
	" } );\n" OKDOM, 0, "pool p: overflow pool \"q\" does not exist"},
	{"limits load", USER "limits = ( { name = \"h\"; per = "
	"\"tenant\"; messages = \"100/1h, 1000/1d\"; burst = 10; },\n"
	" { name = \"g\"; per = \"tenant+rcpt_domain\"; recipients = "
	"\"20/1m\"; match = [\"gmail.com\"]; dry_run = true; } );\n"
	"ratelimit: { redis: { on_failure = \"tempfail\"; }; };\n" OKDOM,
	0, NULL},
	{"limit: bad per", USER "limits = ( { name = \"h\"; per = "
	"\"customer\"; messages = \"1/1h\"; } );\n" OKDOM, 0,
	"test.conf:2: limits.[0]: per: \"customer\" is not one of tenant"},
	{"limit: bad rate", USER "limits = ( { name = \"h\"; per = "
	"\"tenant\";\n messages = \"100 per hour\"; } );\n" OKDOM, 0,
	"limits.[0]: messages: \"100 per hour\" is not a rate like 100/1h"},
	{"limit: no rate", USER "limits = ( { name = \"h\"; per = "
	"\"tenant\"; } );\n" OKDOM, 0,
	"limits.[0]: limit h: set messages or recipients"},
	{"limit: both counts", USER "limits = ( { name = \"h\"; per = "
	"\"tenant\"; messages = \"1/1h\"; recipients = \"1/1h\"; } );\n"
	OKDOM, 0, "limit h: set messages or recipients, not both"},
	{"limit: name used twice", USER "limits = ( { name = \"h\"; per = "
	"\"tenant\"; messages = \"1/1h\"; },\n { name = \"h\"; per = "
	"\"login\"; messages = \"1/1h\"; } );\n" OKDOM, 0,
	"limits: limit name \"h\" is used twice"},
	{"limit: disabling an unknown global", USER "tenants = ( { name = "
	"\"a\"; limits = ( { name = \"x\"; per = \"tenant\"; enabled = "
	"false; } ); domains = ( { name = \"a.example\"; keys = ( { "
	"selector = \"s\"; file = \"/x\"; } ); } ); } );\n", 0,
	"tenant a: disabled limit \"x\" is not a global limit"},
	{"ratelimit: bad backend", USER "ratelimit: { backend = \"etcd\";"
	" };\n" OKDOM, 0, "ratelimit.backend: \"etcd\" is not one of"},
	{"ratelimit: bad redis server", USER "ratelimit: { backend = "
	"\"redis\"; redis: { server = \"localhost\"; }; };\n" OKDOM, 0,
	"test.conf:2: ratelimit"},
	{"ratelimit: bad prefix", USER "ratelimit: { redis: { prefix = "
	"\"a{b}\"; }; };\n" OKDOM, 0, "redis prefix \"a{b}\" must be"},
	{"ratelimit: username without password", USER "ratelimit: { redis: "
	"{ username = \"relay1\"; }; };\n" OKDOM, 0,
	"test.conf:2: ratelimit: redis username \"relay1\" needs a password"},
	{"ratelimit: username with password", USER "ratelimit: { redis: "
	"{ username = \"relay1\"; password = \"pw\"; }; };\n" OKDOM, 0,
	NULL},
	{"warmup loads", USER "pools = ( { name = \"p\"; egress = ( { "
	"transport = \"a\"; ip = \"192.0.2.1\"; warmup = { start = "
	"\"2026-11-01\"; daily = [200, 500]; }; } ); } );\n" OKDOM, 0, NULL},
	{"warmup: bad date", USER "pools = ( { name = \"p\"; egress = ( { "
	"transport = \"a\"; ip = \"192.0.2.1\";\n warmup = { start = "
	"\"1st of November\"; daily = [200]; }; } ); } );\n" OKDOM, 0,
	"test.conf:3: pools.[0].egress.[0].warmup: start \"1st of November\""},
	{"warmup: no caps", USER "pools = ( { name = \"p\"; egress = ( { "
	"transport = \"a\"; ip = \"192.0.2.1\"; warmup = { start = "
	"\"2026-11-01\"; }; } ); } );\n" OKDOM, 0,
	"warmup needs both start and daily"},
	{"warmup: a cap out of range", USER "pools = ( { name = \"p\"; egress"
	" = ( { transport = \"a\"; ip = \"192.0.2.1\"; warmup = { start = "
	"\"2026-11-01\"; daily = [200, -5]; }; } ); } );\n" OKDOM, 0,
	"warmup.daily.[1]: -5 is out of range"},
	{"key: bad not_before", USER "domains = ( { name = \"a.example\"; "
	"keys = ( { selector = \"s\"; file = \"/x\";\n not_before = "
	"\"next monday\"; } ); } );\n", 0, "test.conf:2: domains.[0].keys.[0]:"
	" not_before \"next monday\" is not a time like 2026-12-01"},
	{"key: not_before with a time", USER "domains = ( { name = "
	"\"a.example\"; keys = ( { selector = \"s\"; file = \"/x\"; "
	"not_before = \"2026-12-01T10:00:00Z\"; require_published = true; "
	"} ); } );\n", 0, NULL},
	{"unknown tenant pool", USER "tenants = ( { name = \"a\"; pool ="
	" \"nope\"; domains = ( { name = \"a.example\"; keys = ( { selector"
	" = \"s\"; file = \"/x\"; } ); } ); } );\n", 0,
	"test.conf:2: tenants.[0]: pool \"nope\" does not exist"},
	{"default tenant name clash", USER OKDOM "tenants = ( { name ="
	" \"default\"; domains = ( { name = \"b.example\"; keys = ( { selector"
	" = \"s\"; file = \"/x\"; } ); } ); } );\n", 0,
	"another tenant has that name"},
};

/* expand - "@D@" to the scratch directory, for expected messages */

static const char *
expand(const char *want, char *buf, size_t size)
{
	const char *at = strstr(want, "@D@");

	if (at == NULL)
		return (want);
	snprintf(buf, size, "%.*s%s%s", (int)(at - want), want, tk_dir(),
	    at + 3);
	return (buf);
}

static void
test_rows(void)
{
	char	err[CFG_ERRLEN], want[512];
	struct cfg *cf;
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cf = tk_cfg(rows[i].text, rows[i].flags, err, sizeof(err));
		if (rows[i].want == NULL)
			TAP_OK(cf != NULL, "%s (%s)", rows[i].label, err);
		else
			TAP_OK(cf == NULL && strstr(err, expand(rows[i].want,
			    want, sizeof(want))) != NULL, "%s: got \"%s\"",
			    rows[i].label, err);
		cfg_free(cf);
	}
}

static void
test_defaults(void)
{
	char	err[CFG_ERRLEN];
	struct cfg *cf = tk_cfg(USER OKDOM, 0, err, sizeof(err));

	if (cf == NULL) {
		TAP_OK(0, "defaults config loads: %s", err);
		return;
	}
	TAP_OK(cf->cf_on_error == CFG_ACT_TEMPFAIL, "on_error defaults to "
	    "tempfail");
	TAP_OK(cf->cf_canon_hdr == CFG_CANON_RELAXED &&
	    cf->cf_canon_body == CFG_CANON_RELAXED, "relaxed/relaxed default");
	TAP_OK(cf->cf_oversign.n == 1 &&
	    strcmp(cf->cf_oversign.v[0], "from") == 0, "From oversigned");
	TAP_OK(cf->cf_internal.n == 2, "two internal networks by default");
	TAP_OK(cf->cf_tenants.n == 1 &&
	    strcmp(CFG_TENANT(cf, 0)->ct_name, "default") == 0 &&
	    strcmp(CFG_TENANT(cf, 0)->ct_logins.v[0], "*") == 0,
	    "top-level domains become tenant default with login *");
	TAP_OK(CFG_DOMAIN(CFG_TENANT(cf, 0), 0)->cd_tenant ==
	    CFG_TENANT(cf, 0), "domain points back to its tenant");
	cfg_free(cf);
}

static void
test_refcount(void)
{
	char	err[CFG_ERRLEN];
	struct cfg *a = tk_cfg(USER OKDOM, 0, err, sizeof(err));
	struct cfg *b = tk_cfg(USER OKDOM, 0, err, sizeof(err));
	struct cfg *held;

	cfg_install(a);
	held = cfg_acquire();
	cfg_install(b);		/* a stays alive: held */
	TAP_OK(held == a && a->cf_refs == 1, "replaced snapshot kept while "
	    "referenced");
	cfg_release(held);	/* frees a */
	held = cfg_acquire();
	TAP_OK(held == b && b->cf_refs == 2, "new snapshot is current");
	cfg_release(held);
}

int
main(void)
{
	tk_key("rsa.key", "rsa", 2048);
	tk_key("ed.key", "ed25519", 0);
	tk_key("short.key", "rsa", 512);
	tk_key("k1024.key", "rsa", 1024);
	tk_key("open.key", "rsa", 1024);
	chmod(tk_path("open.key"), 0640);
	tk_write("junk.key", "not a key\n", 0600);
	tk_key_encrypted("enc.key");
	log_init("cfg_test", 1, 0);
	test_rows();
	test_defaults();
	test_refcount();
	return (tap_done());
}
