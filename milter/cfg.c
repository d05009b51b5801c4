/*
 * NAME
 *	cfg - load, validate and share the configuration
 * SYNOPSIS
 *	#include "cfg.h"
 *
 *	struct cfg *cfg_load(const char *path, int flags, char *err,
 *		    size_t errlen);
 *	void	cfg_free(struct cfg *cf);
 *	const char *cfg_action_name(int action);
 *
 *	void	cfg_install(struct cfg *cf);
 *	struct cfg *cfg_acquire(void);
 *	void	cfg_release(struct cfg *cf);
 * DESCRIPTION
 *	cfg_load() reads a libconfig file and turns it into an immutable
 *	struct cfg, walking the tree with the parameter table of
 *	cfg_params.c: an unknown setting, a value of the wrong type, a value
 *	out of bounds or a semantic error (duplicate domain, unusable key
 *	file, unknown user) fails the whole load with one message naming
 *	file:line and the setting. With CFG_LOAD_KEYS it also reads every
 *	key file (as root, before privileges are dropped) and prepares the
 *	signing library.
 *
 *	cfg_install() makes a loaded snapshot the current one;
 *	cfg_acquire() takes a reference to the current snapshot (each
 *	connection holds one for its lifetime) and cfg_release() drops it.
 *	A replaced snapshot is freed when its last reference goes.
 * OWNERSHIP
 *	Every string in a struct cfg is a private copy: the libconfig tree
 *	is destroyed before cfg_load() returns. cfg_free() frees all of it,
 *	keys wiped. The current-snapshot pointer is the one mutable global,
 *	guarded by a mutex.
 * DIAGNOSTICS
 *	cfg_load() returns NULL with the message in err. cfg_release()
 *	panics when a reference count would go below zero.
 * SEE ALSO
 *	cfg_params(3), keys(3), egress-milter.conf(5)
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "addr.h"
#include "cfg.h"
#include "cfg_int.h"
#include "cfg_params.h"
#include "dns.h"
#include "dsig.h"
#include "keys.h"
#include "log.h"
#include "psl.h"
#include "rl.h"
#include "route.h"
#include "sign.h"
#include "spf.h"
#include "xalloc.h"

typedef int (*cfg_hook)(struct cfg_loader *, config_setting_t *, void *);

static int cfg_walk(struct cfg_loader *, config_setting_t *,
	    config_setting_t *, const char *, void *);
static int cfg_hook_milter(struct cfg_loader *, config_setting_t *, void *);
static int cfg_hook_signing(struct cfg_loader *, config_setting_t *, void *);
static int cfg_hook_alignment(struct cfg_loader *, config_setting_t *,
	    void *);
static int cfg_hook_domain(struct cfg_loader *, config_setting_t *, void *);
static int cfg_hook_key(struct cfg_loader *, config_setting_t *, void *);
static int cfg_hook_tenant(struct cfg_loader *, config_setting_t *, void *);
static int cfg_hook_top(struct cfg_loader *, config_setting_t *, void *);
static int cfg_hook_pool(struct cfg_loader *, config_setting_t *, void *);
static int cfg_hook_egress(struct cfg_loader *, config_setting_t *, void *);
static void cfg_free_scope(const char *, void *);

static const struct {
	const char *scope;
	cfg_hook hook;
} cfg_hooks[] = {
	{"milter", cfg_hook_milter},
	{"signing", cfg_hook_signing},
	{"alignment", cfg_hook_alignment},
	{"domain", cfg_hook_domain},
	{"provider", cfg_hook_domain},
	{"key", cfg_hook_key},
	{"tenant", cfg_hook_tenant},
	{"pool", cfg_hook_pool},
	{"egress", cfg_hook_egress},
	{"warmup", cfg_hook_warmup},
	{"ratelimit", cfg_hook_ratelimit},
	{"limit", cfg_hook_limit},
	{"", cfg_hook_top},
};

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cfg *cfg_current;

/* cfg_path - "tenants.[1].domains.[0].name" for a setting */

static void
cfg_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *p = config_setting_parent(s);
	char	here[128];
	size_t	len;

	buf[0] = '\0';
	if (p == NULL)
		return;
	cfg_path(p, buf, size);
	if (config_setting_name(s) != NULL)
		snprintf(here, sizeof(here), "%s", config_setting_name(s));
	else
		snprintf(here, sizeof(here), "[%d]", config_setting_index(s));
	len = strlen(buf);
	snprintf(buf + len, size - len, "%s%s", len ? "." : "", here);
}

/* cfg_fail - record the first error as "file:line: setting: problem" */

int
cfg_fail(struct cfg_loader *ld, const config_setting_t *s, const char *fmt,
    ...)
{
	char	path[512], msg[600];
	const char *file;
	va_list	ap;

	if (ld->failed++)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_path(s, path, sizeof(path));
	file = config_setting_source_file(s);
	if (config_setting_source_line(s) == 0)	/* the root group */
		snprintf(ld->err, ld->errlen, "%s: %s", ld->path, msg);
	else
		snprintf(ld->err, ld->errlen, "%s:%u: %s%s%s", file ? file :
		    ld->path, config_setting_source_line(s), path,
		    path[0] ? ": " : "", msg);
	return (-1);
}

/* cfg_type_name - what libconfig calls a value type, for messages */

static const char *
cfg_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return ("a group { }");
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return ("an integer");
	case CONFIG_TYPE_FLOAT:
		return ("a number");
	case CONFIG_TYPE_STRING:
		return ("a string");
	case CONFIG_TYPE_BOOL:
		return ("a boolean");
	case CONFIG_TYPE_ARRAY:
		return ("an array [ ]");
	case CONFIG_TYPE_LIST:
		return ("a list ( )");
	default:
		return ("something else");
	}
}

/* cfg_enum_index - index of word in "a|b|c", or -1 */

static int
cfg_enum_index(const char *names, const char *word)
{
	size_t	wl = strlen(word);
	int	i = 0;

	while (*names) {
		size_t	n = strcspn(names, "|");

		if (n == wl && strncmp(names, word, n) == 0)
			return (i);
		names += n + (names[n] == '|');
		i++;
	}
	return (-1);
}

/* cfg_set_text - store a scalar or list given in text form */

static int
cfg_set_text(struct cfg_loader *ld, const config_setting_t *s,
    const struct cfg_param *p, void *at, const char *text)
{
	char   *end;
	long	v;
	int	idx;

	switch (p->p_type) {
	case CFG_T_STR:
		free(*(char **)at);
		*(char **)at = xstrdup(text);
		return (0);
	case CFG_T_ENUM:
		if ((idx = cfg_enum_index(p->p_sub, text)) < 0)
			return (cfg_fail(ld, s, "\"%s\" is not one of %s", text,
			    p->p_sub));
		*(int *)at = idx;
		return (0);
	case CFG_T_MODE:
		errno = 0;
		v = strtol(text, &end, 8);
		if (errno || *text == '\0' || *end != '\0' || v < p->p_min ||
		    v > p->p_max)
			return (cfg_fail(ld, s, "\"%s\" is not an octal mode "
			    "like \"0660\"", text));
		*(int *)at = (int)v;
		return (0);
	case CFG_T_INT:
		*(int *)at = atoi(text);
		return (0);
	case CFG_T_BOOL:
		*(int *)at = strcmp(text, "true") == 0;
		return (0);
	default:
		return (cfg_fail(ld, s, "internal: no text form for %s",
		    p->p_name));
	}
}

/* cfg_list_push - append one element to a string or CIDR list */

static int
cfg_list_push(struct cfg_loader *ld, const config_setting_t *s,
    const struct cfg_param *p, void *at, const char *text)
{
	struct cfg_strlist *sl = at;
	struct cfg_cidrlist *cl = at;

	if (p->p_type == CFG_T_STRLIST) {
		sl->v = xreallocarray(sl->v, sl->n + 1, sizeof(*sl->v));
		sl->v[sl->n++] = xstrdup(text);
		return (0);
	}
	cl->v = xreallocarray(cl->v, cl->n + 1, sizeof(*cl->v));
	if (cidr_parse(text, &cl->v[cl->n]) == -1)
		return (cfg_fail(ld, s, "\"%s\" is not an address or network "
		    "(CIDR)", text));
	cl->n++;
	return (0);
}

/* cfg_list_clear - empty a string or CIDR list */

static void
cfg_list_clear(const struct cfg_param *p, void *at)
{
	struct cfg_strlist *sl = at;
	struct cfg_cidrlist *cl = at;
	size_t	i;

	if (p->p_type == CFG_T_STRLIST) {
		for (i = 0; i < sl->n; i++)
			free(sl->v[i]);
		free(sl->v);
		sl->v = NULL, sl->n = 0;
	} else {
		free(cl->v);
		cl->v = NULL, cl->n = 0;
	}
}

/* cfg_set_default - apply a row's default */

static int
cfg_set_default(struct cfg_loader *ld, const config_setting_t *s,
    const struct cfg_param *p, void *at)
{
	char   *copy, *word, *save = NULL;

	if (p->p_type != CFG_T_STRLIST && p->p_type != CFG_T_CIDRLIST)
		return (cfg_set_text(ld, s, p, at, p->p_default));
	copy = xstrdup(p->p_default);
	for (word = strtok_r(copy, ",", &save); word != NULL;
	    word = strtok_r(NULL, ",", &save))
		if (cfg_list_push(ld, s, p, at, word) == -1)
			break;
	free(copy);
	return (ld->failed ? -1 : 0);
}

/* cfg_get_strings - an array or list of strings */

static int
cfg_get_strings(struct cfg_loader *ld, config_setting_t *s,
    const struct cfg_param *p, void *at)
{
	config_setting_t *e;
	int	i, type = config_setting_type(s);

	if (type == CONFIG_TYPE_STRING)
		return (cfg_fail(ld, s, "expected an array of strings, like "
		    "[\"%s\"]", config_setting_get_string(s)));
	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return (cfg_fail(ld, s, "expected an array of strings, not %s",
		    cfg_type_name(type)));
	cfg_list_clear(p, at);
	for (i = 0; (e = config_setting_get_elem(s, (unsigned)i)) != NULL;
	    i++) {
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return (cfg_fail(ld, e, "expected a string, not %s",
			    cfg_type_name(config_setting_type(e))));
		if (cfg_list_push(ld, e, p, at, config_setting_get_string(e)))
			return (-1);
	}
	return (0);
}

/* cfg_get_ints - an array of integers, each within the row's bounds */

static int
cfg_get_ints(struct cfg_loader *ld, config_setting_t *s,
    const struct cfg_param *p, void *at)
{
	struct cfg_intlist *il = at;
	config_setting_t *e;
	int	i, type = config_setting_type(s);
	long long v;

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return (cfg_fail(ld, s, "expected an array of integers, like "
		    "[200, 500], not %s", cfg_type_name(type)));
	for (i = 0; (e = config_setting_get_elem(s, (unsigned)i)) != NULL;
	    i++) {
		type = config_setting_type(e);
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			return (cfg_fail(ld, e, "expected an integer, not %s",
			    cfg_type_name(type)));
		v = config_setting_get_int64(e);
		if (v < p->p_min || v > p->p_max)
			return (cfg_fail(ld, e, "%lld is out of range [%ld, "
			    "%ld]", v, p->p_min, p->p_max));
		il->v = xreallocarray(il->v, il->n + 1, sizeof(*il->v));
		il->v[il->n++] = (long)v;
	}
	return (0);
}

/* cfg_get_list - a list of groups, each walked in the item scope */

static int
cfg_get_list(struct cfg_loader *ld, config_setting_t *s,
    const struct cfg_param *p, void *at)
{
	struct cfg_list *l = at;
	config_setting_t *e;
	int	i, type = config_setting_type(s);

	if (type != CONFIG_TYPE_LIST)
		return (cfg_fail(ld, s, "expected a list of groups ( { ... }, "
		    "... ), not %s", cfg_type_name(type)));
	l->n = (size_t)config_setting_length(s);
	l->v = xcalloc(l->n, p->p_elsize);
	for (i = 0; (e = config_setting_get_elem(s, (unsigned)i)) != NULL;
	    i++) {
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			return (cfg_fail(ld, e, "expected a group { ... }, not "
			    "%s", cfg_type_name(config_setting_type(e))));
		if (cfg_walk(ld, e, e, p->p_sub,
		    (char *)l->v + (size_t)i * p->p_elsize) == -1)
			return (-1);
	}
	return (0);
}

/* cfg_get_scalar - a typed scalar value, checked against its row */

static int
cfg_get_scalar(struct cfg_loader *ld, config_setting_t *s,
    const struct cfg_param *p, void *at)
{
	int	type = config_setting_type(s);
	long long v;

	switch (p->p_type) {
	case CFG_T_INT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			return (cfg_fail(ld, s, "expected an integer, not %s",
			    cfg_type_name(type)));
		v = config_setting_get_int64(s);
		if (v < p->p_min || v > p->p_max)
			return (cfg_fail(ld, s, "%lld is out of range [%ld, "
			    "%ld]", v, p->p_min, p->p_max));
		*(int *)at = (int)v;
		return (0);
	case CFG_T_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return (cfg_fail(ld, s, "expected true or false, not "
			    "%s", cfg_type_name(type)));
		*(int *)at = config_setting_get_bool(s);
		return (0);
	default:
		if (type != CONFIG_TYPE_STRING)
			return (cfg_fail(ld, s, "expected a string, not %s",
			    cfg_type_name(type)));
		return (cfg_set_text(ld, s, p, at,
		    config_setting_get_string(s)));
	}
}

/* cfg_get - read one setting into its place */

static int
cfg_get(struct cfg_loader *ld, config_setting_t *s, const struct cfg_param *p,
    void *base)
{
	void   *at = (char *)base + p->p_offset;

	switch (p->p_type) {
	case CFG_T_GROUP:
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			return (cfg_fail(ld, s, "expected a group { ... }, not "
			    "%s", cfg_type_name(config_setting_type(s))));
		return (cfg_walk(ld, s, s, p->p_sub, at));
	case CFG_T_LIST:
		return (cfg_get_list(ld, s, p, at));
	case CFG_T_STRLIST:
	case CFG_T_CIDRLIST:
		return (cfg_get_strings(ld, s, p, at));
	case CFG_T_INTLIST:
		return (cfg_get_ints(ld, s, p, at));
	default:
		return (cfg_get_scalar(ld, s, p, at));
	}
}

/* cfg_run_hook - semantic checks of a finished group */

static int
cfg_run_hook(struct cfg_loader *ld, config_setting_t *group,
    const char *scope, void *base)
{
	size_t	i;

	for (i = 0; i < sizeof(cfg_hooks) / sizeof(cfg_hooks[0]); i++)
		if (strcmp(cfg_hooks[i].scope, scope) == 0)
			return (cfg_hooks[i].hook(ld, group, base));
	return (0);
}

/* cfg_walk - unknown names, then each row in table order, then the hook */

static int
cfg_walk(struct cfg_loader *ld, config_setting_t *group,
    config_setting_t *where, const char *scope, void *base)
{
	const struct cfg_param *p;
	config_setting_t *s;
	size_t	i;
	int	n;

	for (n = 0; group != NULL &&
	    (s = config_setting_get_elem(group, (unsigned)n)) != NULL; n++)
		if (cfg_param_find(scope, config_setting_name(s)) == NULL)
			return (cfg_fail(ld, s, "unknown setting%s%s",
			    *scope ? " in " : "", scope));
	for (i = 0; i < cfg_nparams; i++) {
		p = &cfg_params[i];
		if (strcmp(p->p_scope, scope) != 0)
			continue;
		if (p->p_default != NULL && cfg_set_default(ld, where, p,
		    (char *)base + p->p_offset) == -1)
			return (-1);
		s = group ? config_setting_get_member(group, p->p_name) : NULL;
		if (s != NULL) {
			if (cfg_get(ld, s, p, base) == -1)
				return (-1);
		} else if (p->p_required)
			return (cfg_fail(ld, where, "required setting \"%s\" "
			    "is missing", p->p_name));
		else if (p->p_type == CFG_T_GROUP &&
		    strcmp(p->p_sub, "provider") != 0 &&
		    cfg_walk(ld, NULL, where, p->p_sub,
		    (char *)base + p->p_offset) == -1)
			return (-1);
	}
	return (cfg_run_hook(ld, where, scope, base));
}

/* cfg_seen - remember a name; 1 if it was already there */

int
cfg_seen(struct cfg_strlist *seen, char *name)
{
	size_t	i;

	for (i = 0; i < seen->n; i++)
		if (strcasecmp(seen->v[i], name) == 0)
			return (1);
	seen->v = xreallocarray(seen->v, seen->n + 1, sizeof(*seen->v));
	seen->v[seen->n++] = name;
	return (0);
}

/* cfg_check_socket - unix:/path, local:/path, inet[6]:port@host */

static int
cfg_check_socket(const char *spec)
{
	const char *at;
	char   *end;
	long	port;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		return (strchr(spec, '/') == strchr(spec, ':') + 1 ? 0 : -1);
	if (strncmp(spec, "inet:", 5) == 0)
		spec += 5;
	else if (strncmp(spec, "inet6:", 6) == 0)
		spec += 6;
	else
		return (-1);
	port = strtol(spec, &end, 10);
	if (end == spec || port < 1 || port > 65535)
		return (-1);
	at = end;
	return (*at == '\0' || (*at == '@' && at[1] != '\0') ? 0 : -1);
}

/* cfg_hook_milter - socket syntax, user and group */

static int
cfg_hook_milter(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg *cf = base;
	struct passwd *pw;
	struct group *gr;

	if (cfg_check_socket(cf->cf_socket) == -1)
		return (cfg_fail(ld, s, "socket \"%s\" is not unix:/PATH, "
		    "inet:PORT@ADDRESS or inet6:PORT@ADDRESS", cf->cf_socket));
	if ((pw = getpwnam(cf->cf_user)) == NULL)
		return (cfg_fail(ld, s, "user \"%s\" does not exist (create "
		    "it, or set milter.user)", cf->cf_user));
	cf->cf_uid = pw->pw_uid;
	cf->cf_gid = pw->pw_gid;
	cf->cf_socket_gid = pw->pw_gid;
	if (cf->cf_socket_group != NULL) {
		if ((gr = getgrnam(cf->cf_socket_group)) == NULL)
			return (cfg_fail(ld, s, "socket_group \"%s\" does not "
			    "exist", cf->cf_socket_group));
		cf->cf_socket_gid = gr->gr_gid;
	}
	return (0);
}

/* cfg_canon_parse - "relaxed" or "simple" */

static int
cfg_canon_parse(const char *word, size_t len)
{
	if (len == 6 && strncmp(word, "simple", 6) == 0)
		return (CFG_CANON_SIMPLE);
	if (len == 7 && strncmp(word, "relaxed", 7) == 0)
		return (CFG_CANON_RELAXED);
	return (-1);
}

/* cfg_header_name_ok - a field name: printable ASCII, no colon */

static int
cfg_header_name_ok(char *name)
{
	char   *p;

	if (*name == '\0')
		return (0);
	for (p = name; *p; p++) {
		if (*p <= ' ' || *p >= 127 || *p == ':')
			return (0);
		*p = (char)tolower((unsigned char)*p);
	}
	return (1);
}

/* cfg_hook_signing - canonicalization and header lists */

static int
cfg_hook_signing(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg *cf = base;
	const char *c = cf->cf_canon, *slash = strchr(c, '/');
	size_t	i, hl = slash ? (size_t)(slash - c) : strlen(c);
	int	from = 0;

	cf->cf_canon_hdr = cfg_canon_parse(c, hl);
	cf->cf_canon_body = slash ? cfg_canon_parse(slash + 1,
	    strlen(slash + 1)) : CFG_CANON_SIMPLE;
	if (cf->cf_canon_hdr < 0 || cf->cf_canon_body < 0)
		return (cfg_fail(ld, s, "canonicalization \"%s\" is not "
		    "HEADER/BODY with simple or relaxed", c));
	for (i = 0; i < cf->cf_sign_headers.n; i++) {
		if (!cfg_header_name_ok(cf->cf_sign_headers.v[i]))
			return (cfg_fail(ld, s, "headers: \"%s\" is not a "
			    "header name", cf->cf_sign_headers.v[i]));
		from |= strcmp(cf->cf_sign_headers.v[i], "from") == 0;
	}
	if (!from)
		return (cfg_fail(ld, s, "headers must include \"from\" "
		    "(RFC 6376 section 5.4)"));
	for (i = 0; i < cf->cf_oversign.n; i++)
		if (!cfg_header_name_ok(cf->cf_oversign.v[i]))
			return (cfg_fail(ld, s, "oversign: \"%s\" is not a "
			    "header name", cf->cf_oversign.v[i]));
	return (0);
}

/* cfg_hook_alignment - addresses and names; the lookup machinery */

static int
cfg_hook_alignment(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg *cf = base;
	unsigned char addr[16];
	char	err[512];

	if (cf->cf_egress_ip != NULL &&
	    inet_pton(AF_INET, cf->cf_egress_ip, addr) != 1 &&
	    inet_pton(AF_INET6, cf->cf_egress_ip, addr) != 1)
		return (cfg_fail(ld, s, "egress_ip \"%s\" is not an IPv4 or "
		    "IPv6 address", cf->cf_egress_ip));
	if (cf->cf_helo != NULL && addr_domain_normalize(cf->cf_helo) == -1)
		return (cfg_fail(ld, s, "helo \"%s\" is not a host name",
		    cf->cf_helo));
	if (!(ld->flags & CFG_LOAD_KEYS))
		return (0);
	/* also without alignment: keys.require_published looks keys up */
	if ((cf->cf_dns = dns_cache_new((size_t)cf->cf_dns_cache_size,
	    cf->cf_dns_timeout_ms)) == NULL)
		return (cfg_fail(ld, s, "cannot set up DNS lookups"));
	if (!cf->cf_align)
		return (0);
	if ((cf->cf_psl = psl_load(cf->cf_psl_path, err, sizeof(err))) == NULL)
		return (cfg_fail(ld, s, "%s (install the Debian package "
		    "publicsuffix, or set public_suffix_list)", err));
	if (cf->cf_spf)
		cf->cf_spf_server = spf_new();
	if (cf->cf_dns == NULL || (cf->cf_spf && cf->cf_spf_server == NULL))
		return (cfg_fail(ld, s, "cannot set up DNS lookups"));
	return (0);
}

/* cfg_find_pool - a pool by name, or NULL */

static const struct cfg_pool *
cfg_find_pool(const struct cfg *cf, const char *name)
{
	size_t	i;

	for (i = 0; i < cf->cf_pools.n; i++)
		if (CFG_POOL(cf, i)->cp_name != NULL &&
		    strcmp(CFG_POOL(cf, i)->cp_name, name) == 0)
			return (CFG_POOL(cf, i));
	return (NULL);
}

/* cfg_hook_egress - a transport name Postfix accepts, real addresses */

static int
cfg_hook_egress(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg_egress *e = base;
	unsigned char addr[16];

	if (e->ce_transport[0] == '\0' ||
	    strspn(e->ce_transport, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
	    strlen(e->ce_transport))
		return (cfg_fail(ld, s, "transport \"%s\" must be lower-case "
		    "letters, digits, '_' or '-'", e->ce_transport));
	if (cfg_seen(&ld->seen_transports, e->ce_transport))
		return (cfg_fail(ld, s, "transport %s is used by two egresses",
		    e->ce_transport));
	if (inet_pton(AF_INET, e->ce_ip, addr) != 1)
		return (cfg_fail(ld, s, "ip \"%s\" is not an IPv4 address",
		    e->ce_ip));
	if (e->ce_ip6 != NULL && inet_pton(AF_INET6, e->ce_ip6, addr) != 1)
		return (cfg_fail(ld, s, "ip6 \"%s\" is not an IPv6 address",
		    e->ce_ip6));
	if (e->ce_helo != NULL && addr_domain_normalize(e->ce_helo) == -1)
		return (cfg_fail(ld, s, "helo \"%s\" is not a host name",
		    e->ce_helo));
	return (0);
}

/* cfg_hook_pool - unique names; the overflow pool must exist */

static int
cfg_hook_pool(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg_pool *p = base;

	if (cfg_seen(&ld->seen_pools, p->cp_name))
		return (cfg_fail(ld, s, "pool name \"%s\" is used twice",
		    p->cp_name));
	if (p->cp_egress.n == 0)
		return (cfg_fail(ld, s, "pool %s has no egress", p->cp_name));
	if (p->cp_egress.n > ROUTE_MAX_EGRESS)
		return (cfg_fail(ld, s, "pool %s has more than %d egresses",
		    p->cp_name, ROUTE_MAX_EGRESS));
	return (0);
}

/* cfg_resolve_pools - overflow names to pools; tenants to their pools */

static int
cfg_resolve_pools(struct cfg_loader *ld, config_setting_t *s, struct cfg *cf)
{
	struct cfg_pool *p;
	struct cfg_tenant *t;
	size_t	i;

	for (i = 0; i < cf->cf_pools.n; i++) {
		p = CFG_POOL(cf, i);
		if (p->cp_overflow != NULL && (p->cp_overflow_pool =
		    cfg_find_pool(cf, p->cp_overflow)) == NULL)
			return (cfg_fail(ld, s, "pool %s: overflow pool \"%s\" "
			    "does not exist", p->cp_name, p->cp_overflow));
	}
	for (i = 0; i < cf->cf_tenants.n; i++) {
		t = CFG_TENANT(cf, i);
		if (t->ct_pool_name != NULL && (t->ct_pool =
		    cfg_find_pool(cf, t->ct_pool_name)) == NULL)
			return (cfg_fail(ld, s, "tenant %s: pool \"%s\" does "
			    "not exist", t->ct_name, t->ct_pool_name));
		if (t->ct_pool == NULL && cf->cf_pools.n > 0)
			t->ct_pool = CFG_POOL(cf, 0);
	}
	return (0);
}

/* cfg_hook_domain - normalized name, unique across tenants */

static int
cfg_hook_domain(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg_domain *d = base;

	if (d->cd_name == NULL)		/* provider { } without domain */
		return (cfg_fail(ld, s, "required setting \"domain\" is "
		    "missing"));
	if (addr_domain_normalize(d->cd_name) == -1)
		return (cfg_fail(ld, s, "\"%s\" is not a valid domain name",
		    d->cd_name));
	if (d->cd_keys.n == 0)
		return (cfg_fail(ld, s, "domain %s has no keys", d->cd_name));
	if (d != &ld->cf->cf_provider &&
	    cfg_seen(&ld->seen_domains, d->cd_name))
		return (cfg_fail(ld, s, "domain %s is configured twice (a "
		    "domain belongs to exactly one tenant)", d->cd_name));
	return (0);
}

/* cfg_utc_time - "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ", or -1 */

static time_t
cfg_utc_time(const char *text)
{
	struct tm tm;
	char   *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(text, "%Y-%m-%d", &tm)) == NULL)
		return (-1);
	if (*end == 'T' && ((end = strptime(end + 1, "%H:%M:%S", &tm)) ==
	    NULL || strcmp(end, "Z") != 0))
		return (-1);
	if (*end != '\0' && strcmp(end, "Z") != 0)
		return (-1);
	return (tm.tm_year < 100 ? -1 : timegm(&tm));
}

/* cfg_hook_key - selector syntax; with CFG_LOAD_KEYS, the key itself */

static int
cfg_hook_key(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg_key *k = base;
	char	err[3200];		/* also the public record, RSA-16384 */
	const char *p;

	for (p = k->ck_selector; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			break;
	if (*p != '\0' || k->ck_selector[0] == '\0' ||
	    k->ck_selector[0] == '.' || strlen(k->ck_selector) > 63)
		return (cfg_fail(ld, s, "selector \"%s\" is not a DNS label",
		    k->ck_selector));
	if (k->ck_not_before != NULL &&
	    (k->ck_not_before_t = cfg_utc_time(k->ck_not_before)) == -1)
		return (cfg_fail(ld, s, "not_before \"%s\" is not a time like "
		    "2026-12-01 or 2026-12-01T10:00:00Z", k->ck_not_before));
	if (!(ld->flags & CFG_LOAD_KEYS))
		return (0);
	k->ck_key = keys_load(k->ck_file, ld->cf->cf_uid,
	    ld->cf->cf_min_rsa_bits, err, sizeof(err));
	if (k->ck_key == NULL)
		return (cfg_fail(ld, s, "%s", err));
	if (keys_public_record(k->ck_key, err, sizeof(err)) == -1 ||
	    (p = strstr(err, "p=")) == NULL)
		return (cfg_fail(ld, s, "key file %s: cannot derive the public "
		    "key", k->ck_file));
	k->ck_pub = xstrdup(p + 2);
	return (0);
}

/* cfg_login_ok - "name", "*@domain" or "*" */

static int
cfg_login_ok(const char *login)
{
	const char *star = strchr(login, '*');

	if (*login == '\0')
		return (0);
	if (star == NULL)
		return (1);
	return (strcmp(login, "*") == 0 ||
	    (star == login && login[1] == '@' && login[2] != '\0' &&
	    strchr(login + 1, '*') == NULL));
}

/* cfg_hook_tenant - unique name and logins */

static int
cfg_hook_tenant(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg_tenant *t = base;
	size_t	i;

	if (t->ct_name[0] == '\0' || strpbrk(t->ct_name, " \t\r\n=") != NULL)
		return (cfg_fail(ld, s, "name \"%s\" must be non-empty without "
		    "spaces or '='", t->ct_name));
	if (cfg_seen(&ld->seen_tenants, t->ct_name))
		return (cfg_fail(ld, s, "tenant name \"%s\" is used twice",
		    t->ct_name));
	if (t->ct_domains.n == 0)
		return (cfg_fail(ld, s, "tenant %s owns no domains", t->ct_name));
	if (t->ct_pool_name != NULL && (t->ct_pool =
	    cfg_find_pool(ld->cf, t->ct_pool_name)) == NULL)
		return (cfg_fail(ld, s, "pool \"%s\" does not exist",
		    t->ct_pool_name));
	for (i = 0; i < t->ct_logins.n; i++) {
		if (!cfg_login_ok(t->ct_logins.v[i]))
			return (cfg_fail(ld, s, "login \"%s\" is not a name, "
			    "\"*@domain\" or \"*\"", t->ct_logins.v[i]));
		if (cfg_seen(&ld->seen_logins, t->ct_logins.v[i]))
			return (cfg_fail(ld, s, "login \"%s\" belongs to two "
			    "tenants", t->ct_logins.v[i]));
	}
	return (0);
}

/* cfg_add_default_tenant - turn top-level domains into tenant "default" */

static int
cfg_add_default_tenant(struct cfg_loader *ld, config_setting_t *s,
    struct cfg *cf)
{
	struct cfg_tenant *t;
	char	star[] = "*", name[] = "default";

	if (cf->cf_domains.n == 0)
		return (0);
	if (cfg_seen(&ld->seen_tenants, name))
		return (cfg_fail(ld, s, "top-level domains make a tenant "
		    "\"default\"; another tenant has that name"));
	if (cfg_seen(&ld->seen_logins, star))
		return (cfg_fail(ld, s, "top-level domains take login \"*\"; "
		    "a tenant has it already"));
	cf->cf_tenants.v = xreallocarray(cf->cf_tenants.v, cf->cf_tenants.n + 1,
	    sizeof(struct cfg_tenant));
	t = CFG_TENANT(cf, cf->cf_tenants.n++);
	memset(t, 0, sizeof(*t));
	t->ct_name = xstrdup(name);
	t->ct_logins.v = xcalloc(1, sizeof(char *));
	t->ct_logins.v[0] = xstrdup(star);
	t->ct_logins.n = 1;
	t->ct_domains = cf->cf_domains;
	memset(&cf->cf_domains, 0, sizeof(cf->cf_domains));
	return (0);
}

/* cfg_hook_top - the implicit tenant, back pointers, the signer */

static int
cfg_hook_top(struct cfg_loader *ld, config_setting_t *s, void *base)
{
	struct cfg *cf = base;
	struct cfg_tenant *t;
	char	err[512];
	size_t	i, j;

	if (cfg_add_default_tenant(ld, s, cf) == -1)
		return (-1);
	if (cf->cf_tenants.n == 0)
		return (cfg_fail(ld, s, "no domains and no tenants: there is "
		    "nothing to sign"));
	if (cfg_resolve_pools(ld, s, cf) == -1 ||
	    cfg_resolve_limits(ld, s, cf) == -1)
		return (-1);
	for (i = 0; i < cf->cf_tenants.n; i++) {
		t = CFG_TENANT(cf, i);
		for (j = 0; j < t->ct_domains.n; j++)
			CFG_DOMAIN(t, j)->cd_tenant = t;
	}
	if (!(ld->flags & CFG_LOAD_KEYS))
		return (0);
	cf->cf_dsiglib = dsig_lib_new(cf);
	if ((cf->cf_signlib = sign_lib_new(cf, err, sizeof(err))) == NULL)
		return (cfg_fail(ld, s, "signing library: %s", err));
	return (0);
}

/* cfg_load - parse, validate and (optionally) load keys */

struct cfg *
cfg_load(const char *path, int flags, char *err, size_t errlen)
{
	struct cfg_loader ld;
	config_t config;
	struct cfg *cf;

	config_init(&config);
	if (config_read_file(&config, path) != CONFIG_TRUE) {
		if (config_error_type(&config) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s",
			    config_error_file(&config) ?
			    config_error_file(&config) : path,
			    config_error_line(&config),
			    config_error_text(&config));
		config_destroy(&config);
		return (NULL);
	}
	memset(&ld, 0, sizeof(ld));
	ld.err = err, ld.errlen = errlen, ld.path = path, ld.flags = flags;
	ld.cf = cf = xcalloc(1, sizeof(*cf));
	cf->cf_path = xstrdup(path);
	cfg_walk(&ld, config_root_setting(&config),
	    config_root_setting(&config), "", cf);
	config_destroy(&config);
	free(ld.seen_domains.v);
	free(ld.seen_logins.v);
	free(ld.seen_tenants.v);
	free(ld.seen_pools.v);
	free(ld.seen_transports.v);
	if (ld.failed) {
		cfg_free(cf);
		return (NULL);
	}
	return (cf);
}

/* cfg_free_scope - free what the rows of one scope allocated */

static void
cfg_free_scope(const char *scope, void *base)
{
	const struct cfg_param *p;
	struct cfg_list *l;
	size_t	i, j;

	for (i = 0; i < cfg_nparams; i++) {
		p = &cfg_params[i];
		if (strcmp(p->p_scope, scope) != 0)
			continue;
		switch (p->p_type) {
		case CFG_T_STR:
			free(*(char **)((char *)base + p->p_offset));
			break;
		case CFG_T_STRLIST:
		case CFG_T_CIDRLIST:
			cfg_list_clear(p, (char *)base + p->p_offset);
			break;
		case CFG_T_INTLIST:
			free(((struct cfg_intlist *)((char *)base +
			    p->p_offset))->v);
			break;
		case CFG_T_GROUP:
			cfg_free_scope(p->p_sub, (char *)base + p->p_offset);
			break;
		case CFG_T_LIST:
			l = (struct cfg_list *)((char *)base + p->p_offset);
			for (j = 0; j < l->n; j++)
				cfg_free_scope(p->p_sub,
				    (char *)l->v + j * p->p_elsize);
			free(l->v);
			break;
		default:
			break;
		}
	}
	if (strcmp(scope, "key") == 0) {
		keys_free(((struct cfg_key *)base)->ck_key);
		free(((struct cfg_key *)base)->ck_pub);
	}
}

/* cfg_free - free a snapshot and everything it owns */

void
cfg_free(struct cfg *cf)
{
	if (cf == NULL)
		return;
	sign_lib_free(cf->cf_signlib);
	dsig_lib_free(cf->cf_dsiglib);
	psl_free(cf->cf_psl);
	dns_cache_free(cf->cf_dns);
	spf_free(cf->cf_spf_server);
	rl_backend_free(cf->cf_rl_shared);
	cfg_free_scope("", cf);
	free(cf->cf_path);
	free(cf);
}

/* cfg_action_name - the config word for an action */

const char *
cfg_action_name(int action)
{
	static const char *const names[] = {"accept", "tempfail", "reject"};

	return (action >= 0 && action < 3 ? names[action] : "?");
}

/* cfg_install - make cf the current snapshot */

void
cfg_install(struct cfg *cf)
{
	struct cfg *old;

	pthread_mutex_lock(&cfg_lock);
	old = cfg_current;
	cfg_current = cf;
	cf->cf_refs++;
	pthread_mutex_unlock(&cfg_lock);
	if (old != NULL)
		cfg_release(old);
}

/* cfg_acquire - a reference to the current snapshot */

struct cfg *
cfg_acquire(void)
{
	struct cfg *cf;

	pthread_mutex_lock(&cfg_lock);
	if ((cf = cfg_current) != NULL)
		cf->cf_refs++;
	pthread_mutex_unlock(&cfg_lock);
	return (cf);
}

/* cfg_release - drop a reference; the last one frees */

void
cfg_release(struct cfg *cf)
{
	unsigned refs;

	if (cf == NULL)
		return;
	pthread_mutex_lock(&cfg_lock);
	if (cf->cf_refs == 0)
		log_panic("cfg_release: reference count below zero");
	refs = --cf->cf_refs;
	pthread_mutex_unlock(&cfg_lock);
	if (refs == 0)
		cfg_free(cf);
}
