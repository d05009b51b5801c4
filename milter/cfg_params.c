/*
 * NAME
 *	cfg_params - the one table that declares every setting
 * SYNOPSIS
 *	#include "cfg_params.h"
 *
 *	extern const struct cfg_param cfg_params[];
 *	extern const size_t cfg_nparams;
 *	const struct cfg_param *cfg_param_find(const char *scope,
 *		    const char *name);
 * DESCRIPTION
 *	Each row gives a setting's scope (the group it may appear in), its
 *	name, type, default (in the text form a config file would use),
 *	bounds, where it is stored and a one-line description. cfg.c walks a
 *	libconfig tree with this table and nothing else; the man page
 *	egress-milter.conf(5) documents every row (a test checks it).
 *
 *	Scopes and the structure each one fills: "" and "milter" and
 *	"signing" fill struct cfg; "tenant" struct cfg_tenant; "domain" and
 *	"provider" struct cfg_domain; "key" struct cfg_key.
 * OWNERSHIP
 *	Static, read-only data.
 * DIAGNOSTICS
 *	cfg_param_find() returns NULL for an unknown name.
 * SEE ALSO
 *	cfg(3), egress-milter.conf(5)
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "cfg.h"
#include "cfg_params.h"

#define ACTIONS	"accept|tempfail|reject"
#define VACTIONS "reject|hold|tag|accept|tempfail"	/* cfg_verdict_action */
#define IN(type, field) offsetof(struct type, field)

#define DEFAULT_SIGN_HEADERS \
	"from,sender,reply-to,subject,date,message-id,to,cc," \
	"mime-version,content-type,content-transfer-encoding," \
	"content-id,content-description,in-reply-to,references," \
	"resent-date,resent-from,resent-sender,resent-to,resent-cc," \
	"resent-message-id,list-id,list-help,list-unsubscribe," \
	"list-unsubscribe-post,list-subscribe,list-post,list-owner," \
	"list-archive"

const struct cfg_param cfg_params[] = {
	/* top level */
	{"", "milter", CFG_T_GROUP, "milter", 0, NULL, 0, 0, 0, 0,
	"how the daemon talks to the MTA and what it does on errors"},
	{"", "signing", CFG_T_GROUP, "signing", 0, NULL, 0, 0, 0, 0,
	"DKIM signature settings shared by every tenant"},
	{"", "alignment", CFG_T_GROUP, "alignment", 0, NULL, 0, 0, 0, 0,
	"the DMARC preflight: predict the receiver's verdict per message"},
	{"", "pools", CFG_T_LIST, "pool", sizeof(struct cfg_pool), NULL, 0, 0,
	IN(cfg, cf_pools), 0,
	"sending addresses: a tenant's mail leaves through one egress of its "
	"pool, chosen by weight"},
	{"", "ratelimit", CFG_T_GROUP, "ratelimit", 0, NULL, 0, 0, 0, 0,
	"where rate-limit counters are kept"},
	{"", "metrics", CFG_T_GROUP, "metrics", 0, NULL, 0, 0, 0, 0,
	"Prometheus metrics over HTTP"},
	{"", "limits", CFG_T_LIST, "limit", sizeof(struct cfg_limit), NULL, 0,
	0, IN(cfg, cf_limits), 0,
	"rate limits that apply to every tenant (each tenant's own count "
	"apart unless per leaves the tenant out)"},
	{"", "domains", CFG_T_LIST, "domain", sizeof(struct cfg_domain),
	NULL, 0, 0, IN(cfg, cf_domains), 0,
	"small-site shorthand: domains of one implicit tenant \"default\" "
	"that every authenticated login and every internal network may use"},
	{"", "tenants", CFG_T_LIST, "tenant", sizeof(struct cfg_tenant),
	NULL, 0, 0, IN(cfg, cf_tenants), 0,
	"the customers of this relay: who they are and what they own"},

	/* milter { } */
	{"milter", "socket", CFG_T_STR, NULL, 0,
	"unix:/run/egress-milter/milter.sock", 0, 0, IN(cfg, cf_socket), 0,
	"listening socket: unix:PATH, inet:PORT@ADDRESS or inet6:PORT@ADDRESS"},
	{"milter", "socket_mode", CFG_T_MODE, NULL, 0, "0660", 0, 0777,
	IN(cfg, cf_socket_mode), 0,
	"permissions of a unix socket, as an octal string"},
	{"milter", "socket_group", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg, cf_socket_group), 0,
	"group of a unix socket (e.g. \"postfix\"); default the user's group"},
	{"milter", "user", CFG_T_STR, NULL, 0, "egress-milter", 0, 0,
	IN(cfg, cf_user), 0,
	"unprivileged user the daemon runs as after opening socket and keys"},
	{"milter", "on_error", CFG_T_ENUM, ACTIONS, 0, "tempfail", 0, 0,
	IN(cfg, cf_on_error), 0,
	"what happens to a message when an internal error stops processing"},
	{"milter", "unknown_login", CFG_T_ENUM, ACTIONS, 0, "reject", 0, 0,
	IN(cfg, cf_unknown_login), 0,
	"an authenticated login that belongs to no tenant"},
	{"milter", "bad_from", CFG_T_ENUM, ACTIONS, 0, "reject", 0, 0,
	IN(cfg, cf_bad_from), 0,
	"no From header, several From headers or addresses, or unparseable"},
	{"milter", "unowned_from", CFG_T_ENUM, ACTIONS, 0, "reject", 0, 0,
	IN(cfg, cf_unowned_from), 0,
	"From domain not owned by the sender's tenant"},
	{"milter", "unowned_sender", CFG_T_ENUM, ACTIONS, 0, "reject", 0, 0,
	IN(cfg, cf_unowned_sender), 0,
	"envelope sender (MAIL FROM) domain not owned by the sender's tenant"},
	{"milter", "internal_networks", CFG_T_CIDRLIST, NULL, 0,
	"127.0.0.0/8,::1/128", 0, 0, IN(cfg, cf_internal), 0,
	"trusted clients: their unauthenticated mail is outbound and belongs "
	"to the tenant owning the From domain"},
	{"milter", "max_headers", CFG_T_INT, NULL, 0, "1000", 16, 100000,
	IN(cfg, cf_max_headers), 0,
	"most headers a message may have (more: 552 5.3.4)"},
	{"milter", "max_header_bytes", CFG_T_INT, NULL, 0, "1048576", 4096,
	67108864, IN(cfg, cf_max_header_bytes), 0,
	"most bytes of headers a message may have (more: 552 5.3.4)"},
	{"milter", "max_connections", CFG_T_INT, NULL, 0, "1024", 1, 100000,
	IN(cfg, cf_max_conns), 0,
	"most MTA connections served at once (more are closed at once: the "
	"MTA applies its milter_default_action)"},
	{"milter", "max_messages_per_connection", CFG_T_INT, NULL, 0, "10000",
	0, 100000000, IN(cfg, cf_max_msgs_conn), 0,
	"most messages in one SMTP session (more: 451 4.7.0 at MAIL FROM, "
	"the client reconnects); 0: no limit"},
	{"milter", "defer_refusals", CFG_T_BOOL, NULL, 0, "false", 0, 0,
	IN(cfg, cf_defer_refusals), 0,
	"answer the MTA only at end of message (one round trip); a "
	"refusal at MAIL or RCPT is then given there, for the whole message"},
	{"milter", "strip_inbound", CFG_T_BOOL, NULL, 0, "true", 0, 0,
	IN(cfg, cf_strip_inbound), 0,
	"delete client copies of X-Egress-Route and X-Egress-DMARC from mail "
	"that is not outbound too (it is then let go at end of headers, or "
	"at end of message when there was a copy); false: at MAIL FROM"},
	{"milter", "sandbox", CFG_T_BOOL, NULL, 0, "true", 0, 0,
	IN(cfg, cf_sandbox), 0,
	"refuse, once serving, the system calls the daemon never makes "
	"(running programs, new processes, writing files, other socket "
	"families, mount, ptrace, ...): a seccomp filter"},
	{"milter", "shutdown_timeout", CFG_T_INT, NULL, 0, "30", 0, 3600,
	IN(cfg, cf_shutdown_timeout), 0,
	"seconds SIGTERM waits for messages in flight to finish"},
	{"milter", "debug", CFG_T_BOOL, NULL, 0, "false", 0, 0,
	IN(cfg, cf_debug), 0, "log debug lines"},

	/* signing { } */
	{"signing", "canonicalization", CFG_T_STR, NULL, 0, "relaxed/relaxed",
	0, 0, IN(cfg, cf_canon), 0,
	"header/body canonicalization: simple or relaxed, e.g. relaxed/simple"},
	{"signing", "headers", CFG_T_STRLIST, NULL, 0, DEFAULT_SIGN_HEADERS,
	0, 0, IN(cfg, cf_sign_headers), 0,
	"headers signed when present; must include from"},
	{"signing", "oversign", CFG_T_STRLIST, NULL, 0, "from", 0, 0,
	IN(cfg, cf_oversign), 0,
	"headers signed once more than present, so none can be added later"},
	{"signing", "expire", CFG_T_INT, NULL, 0, "0", 0, 315360000,
	IN(cfg, cf_expire), 0,
	"signature lifetime in seconds (x= tag); 0 for none"},
	{"signing", "min_rsa_bits", CFG_T_INT, NULL, 0, "1024", 1024, 16384,
	IN(cfg, cf_min_rsa_bits), 0, "shortest RSA key accepted"},
	{"signing", "engine", CFG_T_ENUM, "native|libopendkim", 0, "native", 0,
	0, IN(cfg, cf_sign_engine), 0,
	"native: our signer, keys parsed once; libopendkim: the reference"},
	{"signing", "provider", CFG_T_GROUP, "provider", 0, NULL, 0, 0,
	IN(cfg, cf_provider), 0,
	"optional second signature with the relay's own domain on every "
	"message signed for a tenant"},

	/* alignment { } */
	{"alignment", "enabled", CFG_T_BOOL, NULL, 0, "true", 0, 0,
	IN(cfg, cf_align), 0,
	"look up DMARC, DKIM keys and SPF for every outbound message"},
	{"alignment", "public_suffix_list", CFG_T_STR, NULL, 0,
	"/usr/share/publicsuffix/public_suffix_list.dat", 0, 0,
	IN(cfg, cf_psl_path), 0,
	"Public Suffix List, for organizational domains (relaxed alignment)"},
	{"alignment", "spf", CFG_T_BOOL, NULL, 0, "true", 0, 0,
	IN(cfg, cf_spf), 0,
	"evaluate SPF of the envelope sender for egress_ip"},
	{"alignment", "egress_ip", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg, cf_egress_ip), 0,
	"the address receivers see this relay send from (IPv4 or IPv6); "
	"without it SPF is not evaluated"},
	{"alignment", "helo", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg, cf_helo), 0,
	"the HELO name of the egress; the SPF identity of bounces (<>)"},
	{"alignment", "on_dmarc_fail", CFG_T_ENUM, VACTIONS, 0, "reject", 0, 0,
	IN(cfg, cf_on_dmarc_fail), 0,
	"a predicted DMARC fail under p=quarantine or p=reject"},
	{"alignment", "on_temperror", CFG_T_ENUM, VACTIONS, 0, "tempfail", 0, 0,
	IN(cfg, cf_on_temperror), 0,
	"the verdict is unknown because a DNS lookup failed"},
	{"alignment", "header", CFG_T_BOOL, NULL, 0, "false", 0, 0,
	IN(cfg, cf_align_header), 0,
	"add an X-Egress-DMARC header with the verdict to every message"},
	{"alignment", "check_keys", CFG_T_BOOL, NULL, 0, "true", 0, 0,
	IN(cfg, cf_check_keys), 0,
	"a signature counts only if its public key is published and matches"},
	{"alignment", "dns_timeout_ms", CFG_T_INT, NULL, 0, "3000", 100, 60000,
	IN(cfg, cf_dns_timeout_ms), 0,
	"DNS time budget of one message; past it answers are temperror"},
	{"alignment", "dns_cache_size", CFG_T_INT, NULL, 0, "50000", 16,
	10000000, IN(cfg, cf_dns_cache_size), 0,
	"most DNS answers kept (each for its TTL)"},

	/* metrics { } */
	{"metrics", "listen", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg, cf_metrics_listen), 0,
	"ADDRESS:PORT for GET /metrics (e.g. 127.0.0.1:9465); unset: off"},
	{"metrics", "allow", CFG_T_CIDRLIST, NULL, 0, "127.0.0.0/8,::1/128", 0,
	0, IN(cfg, cf_metrics_allow), 0,
	"clients that may connect to metrics.listen; others are closed at "
	"once"},

	/* ratelimit { } */
	{"ratelimit", "backend", CFG_T_ENUM, "memory|redis", 0, "memory", 0,
	0, IN(cfg, cf_rl_backend), 0,
	"memory: this relay's own counters; redis: one budget shared by "
	"every relay using the same Redis"},
	{"ratelimit", "max_keys", CFG_T_INT, NULL, 0, "1000000", 1024,
	100000000, IN(cfg, cf_rl_max_keys), 0,
	"most buckets kept in memory (about 36 bytes each); read at start"},
	{"ratelimit", "redis", CFG_T_GROUP, "redis", 0, NULL, 0, 0, 0, 0,
	"the Redis server of the redis backend"},

	/* ratelimit { redis { } } */
	{"redis", "server", CFG_T_STR, NULL, 0, "127.0.0.1:6379", 0, 0,
	IN(cfg, cf_redis_server), 0,
	"HOST:PORT, [IPV6]:PORT or unix:/PATH"},
	{"redis", "username", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg, cf_redis_username), 0,
	"Redis 6 ACL user: AUTH USERNAME PASSWORD (needs password)"},
	{"redis", "password", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg, cf_redis_password), 0, "sent with AUTH when set"},
	{"redis", "db", CFG_T_INT, NULL, 0, "0", 0, 1000000,
	IN(cfg, cf_redis_db), 0, "database number (SELECT)"},
	{"redis", "connect_timeout_ms", CFG_T_INT, NULL, 0, "200", 1, 60000,
	IN(cfg, cf_redis_connect_timeout_ms), 0,
	"longest wait for a connection"},
	{"redis", "timeout_ms", CFG_T_INT, NULL, 0, "50", 1, 60000,
	IN(cfg, cf_redis_timeout_ms), 0, "longest wait for one reply"},
	{"redis", "connections", CFG_T_INT, NULL, 0, "8", 1, 1024,
	IN(cfg, cf_redis_connections), 0,
	"most connections open at once (one per check in flight)"},
	{"redis", "prefix", CFG_T_STR, NULL, 0, "egress", 0, 0,
	IN(cfg, cf_redis_prefix), 0,
	"start of every key, as a hash tag {prefix} (one Redis Cluster slot)"},
	{"redis", "on_failure", CFG_T_ENUM, "local|tempfail|accept", 0,
	"local", 0, 0, IN(cfg, cf_redis_on_failure), 0,
	"when Redis cannot answer: local limits, tempfail, or accept"},

	/* limits = ( { } ) */
	{"limit", "name", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_limit, cl_name), 1,
	"named in replies and logs; a tenant limit of a global limit's name "
	"replaces it"},
	{"limit", "per", CFG_T_STR, NULL, 0, NULL, 0, 0, IN(cfg_limit, cl_per),
	0, "what is counted apart: tenant, login, sender_domain, from_domain, "
	"rcpt_domain, egress, or several joined by +"},
	{"limit", "messages", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_limit, cl_messages), 0,
	"rates in messages, like \"100/1m, 5000/1d\""},
	{"limit", "recipients", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_limit, cl_recipients), 0,
	"rates in recipients, like \"2000/1h\""},
	{"limit", "burst", CFG_T_INT, NULL, 0, "0", 0, 100000000,
	IN(cfg_limit, cl_burst), 0,
	"most that may go at once; 0: the count of each rate"},
	{"limit", "match", CFG_T_STRLIST, NULL, 0, NULL, 0, 0,
	IN(cfg_limit, cl_match), 0,
	"only these values of the last part of per (e.g. gmail.com)"},
	{"limit", "exempt", CFG_T_STRLIST, NULL, 0, NULL, 0, 0,
	IN(cfg_limit, cl_exempt), 0,
	"values of the last part of per that are not limited"},
	{"limit", "dry_run", CFG_T_BOOL, NULL, 0, "false", 0, 0,
	IN(cfg_limit, cl_dry_run), 0,
	"log what would be refused, refuse nothing"},
	{"limit", "on_failure", CFG_T_ENUM, "inherit|local|tempfail|accept", 0,
	"inherit", 0, 0, IN(cfg_limit, cl_on_failure), 0,
	"this limit's ratelimit.redis.on_failure"},
	{"limit", "enabled", CFG_T_BOOL, NULL, 0, "true", 0, 0,
	IN(cfg_limit, cl_enabled), 0,
	"false in a tenant: the global limit of that name does not apply"},

	/* pools = ( { } ) */
	{"pool", "name", CFG_T_STR, NULL, 0, NULL, 0, 0, IN(cfg_pool, cp_name),
	1, "unique name; tenants name their pool"},
	{"pool", "overflow", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_pool, cp_overflow), 0,
	"pool used when no egress of this one is available"},
	{"pool", "egress", CFG_T_LIST, "egress", sizeof(struct cfg_egress),
	NULL, 0, 0, IN(cfg_pool, cp_egress), 1, "the sending addresses"},

	/* egress = ( { } ) */
	{"egress", "transport", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_egress, ce_transport), 1,
	"the Postfix transport (master.cf service) bound to this address"},
	{"egress", "ip", CFG_T_STR, NULL, 0, NULL, 0, 0, IN(cfg_egress, ce_ip),
	1, "IPv4 source address (smtp_bind_address)"},
	{"egress", "ip6", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_egress, ce_ip6), 0, "IPv6 source address (smtp_bind_address6)"},
	{"egress", "helo", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_egress, ce_helo), 0, "HELO name of this address"},
	{"egress", "nexthop", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_egress, ce_nexthop), 0,
	"a smarthost such as [relay.example]:25; empty: MX delivery"},
	{"egress", "weight", CFG_T_INT, NULL, 0, "1", 1, 1000000,
	IN(cfg_egress, ce_weight), 0, "share of the pool's mail"},
	{"egress", "down", CFG_T_BOOL, NULL, 0, "false", 0, 0,
	IN(cfg_egress, ce_down), 0, "take this egress out of use"},
	{"egress", "warmup", CFG_T_GROUP, "warmup", 0, NULL, 0, 0,
	IN(cfg_egress, ce_warmup), 0,
	"a new address's daily caps; past its cap the pool's other egresses "
	"or the overflow pool are used"},

	/* warmup { } */
	{"warmup", "start", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_warmup, cw_start), 0, "first day of the schedule (UTC)"},
	{"warmup", "daily", CFG_T_INTLIST, NULL, 0, NULL, 0, 1000000000,
	IN(cfg_warmup, cw_daily), 0,
	"messages per day, day by day from start; no cap after the last"},

	/* provider { } */
	{"provider", "domain", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_domain, cd_name), 1, "the relay's own signing domain (d=)"},
	{"provider", "keys", CFG_T_LIST, "key", sizeof(struct cfg_key), NULL,
	0, 0, IN(cfg_domain, cd_keys), 1, "keys of the provider domain"},

	/* tenants = ( { } ) */
	{"tenant", "name", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_tenant, ct_name), 1, "unique name, used in logs"},
	{"tenant", "logins", CFG_T_STRLIST, NULL, 0, NULL, 0, 0,
	IN(cfg_tenant, ct_logins), 0,
	"SASL logins: exact names, \"*@domain\" patterns, or \"*\""},
	{"tenant", "networks", CFG_T_CIDRLIST, NULL, 0, NULL, 0, 0,
	IN(cfg_tenant, ct_networks), 0,
	"client networks (CIDR) whose unauthenticated mail is this tenant's"},
	{"tenant", "pool", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_tenant, ct_pool_name), 0,
	"the pool this tenant sends through; default the first pool"},
	{"tenant", "on_dmarc_fail", CFG_T_ENUM, "inherit|" VACTIONS, 0,
	"inherit", 0, 0, IN(cfg_tenant, ct_on_dmarc_fail), 0,
	"this tenant's alignment.on_dmarc_fail; inherit uses the global one"},
	{"tenant", "limits", CFG_T_LIST, "limit", sizeof(struct cfg_limit),
	NULL, 0, 0, IN(cfg_tenant, ct_limits), 0,
	"this tenant's own limits, and overrides of global ones by name"},
	{"tenant", "domains", CFG_T_LIST, "domain", sizeof(struct cfg_domain),
	NULL, 0, 0, IN(cfg_tenant, ct_domains), 1,
	"the domains this tenant may send as, with their keys"},

	/* domains = ( { } ) */
	{"domain", "name", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_domain, cd_name), 1, "the domain (d= of its signatures)"},
	{"domain", "subdomains", CFG_T_BOOL, NULL, 0, "false", 0, 0,
	IN(cfg_domain, cd_subdomains), 0,
	"also own every subdomain, signed with this domain's keys"},
	{"domain", "keys", CFG_T_LIST, "key", sizeof(struct cfg_key), NULL, 0,
	0, IN(cfg_domain, cd_keys), 1,
	"signing keys; several give several signatures (RSA and Ed25519)"},

	/* keys = ( { } ) */
	{"key", "selector", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_key, ck_selector), 1, "DKIM selector (s=)"},
	{"key", "file", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_key, ck_file), 1,
	"PEM private key, RSA or Ed25519, mode 0600 or stricter"},
	{"key", "not_before", CFG_T_STR, NULL, 0, NULL, 0, 0,
	IN(cfg_key, ck_not_before), 0,
	"the key signs from this time on (UTC): 2026-12-01 or "
	"2026-12-01T10:00:00Z"},
	{"key", "require_published", CFG_T_BOOL, NULL, 0, "false", 0, 0,
	IN(cfg_key, ck_require_published), 0,
	"the key signs only while DNS publishes its public key"},
};

const size_t cfg_nparams = sizeof(cfg_params) / sizeof(cfg_params[0]);

/* cfg_param_find - the row for a name in a scope */

const struct cfg_param *
cfg_param_find(const char *scope, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg_nparams; i++)
		if (strcmp(cfg_params[i].p_scope, scope) == 0 &&
		    strcmp(cfg_params[i].p_name, name) == 0)
			return (&cfg_params[i]);
	return (NULL);
}
