#ifndef CFG_H
#define CFG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cidr.h"

struct dns_cache;
struct dsig_lib;
struct rl;
struct rl_backend;
struct key;
struct psl;
struct sign_lib;
struct spf;

enum cfg_action {
	CFG_ACT_ACCEPT,			/* let it through (unsigned) */
	CFG_ACT_TEMPFAIL,		/* 4xx, the client retries */
	CFG_ACT_REJECT			/* 5xx */
};

enum cfg_verdict_action {	/* what a DMARC verdict leads to */
	CFG_VA_REJECT,
	CFG_VA_HOLD,
	CFG_VA_TAG,
	CFG_VA_ACCEPT,
	CFG_VA_TEMPFAIL
};

enum cfg_rl_failure {		/* a rule when Redis cannot answer */
	CFG_RLF_LOCAL,			/* the in-memory limiter decides */
	CFG_RLF_TEMPFAIL,
	CFG_RLF_ACCEPT
};

enum cfg_sign_engine {
	CFG_ENGINE_NATIVE,		/* dsig(3): keys parsed once */
	CFG_ENGINE_LIBOPENDKIM		/* sign(3) */
};

enum cfg_canon {
	CFG_CANON_SIMPLE,
	CFG_CANON_RELAXED
};

struct cfg_strlist {
	char	**v;
	size_t	n;
};

struct cfg_intlist {
	long	*v;
	size_t	n;
};

struct cfg_cidrlist {
	struct cidr *v;
	size_t	n;
};

struct cfg_list {			/* list of groups of one scope */
	void	*v;
	size_t	n;
};

struct cfg_key {
	char	*ck_selector;
	char	*ck_file;
	char	*ck_not_before;		/* "2026-12-01" or "...T10:00:00Z" */
	int	ck_require_published;
	struct key *ck_key;
	char	*ck_pub;		/* p= of the record to publish */
	time_t	ck_not_before_t;	/* 0: none */
};

struct cfg_tenant;

#define CFG_LIMIT_PARTS	4		/* key parts of one limit */
#define CFG_LIMIT_RATES	4		/* windows of one limit */

struct cfg_rate {			/* "N/window" */
	long	cr_count;
	int64_t	cr_window_us;
	int64_t	cr_interval_us;		/* window / count */
	int64_t	cr_burst;
	char	cr_text[24];		/* as written, for replies */
};

struct cfg_limit {
	char	*cl_name;
	char	*cl_per;		/* "tenant+rcpt_domain" */
	char	*cl_messages;		/* "100/1m, 5000/1d" */
	char	*cl_recipients;
	int	cl_burst;		/* 0: each rate's count */
	struct cfg_strlist cl_match;	/* values of the last part */
	struct cfg_strlist cl_exempt;
	int	cl_dry_run;
	int	cl_on_failure;		/* 0 inherit, else CFG_RLF_* + 1 */
	int	cl_enabled;
	/* derived */
	unsigned char cl_parts[CFG_LIMIT_PARTS];	/* enum rl_part */
	size_t	cl_nparts;
	int	cl_rcpts;		/* counts recipients, not messages */
	struct cfg_rate cl_rates[CFG_LIMIT_RATES];
	size_t	cl_nrates;
	const struct cfg_tenant *cl_tenant;	/* owner; NULL: global */
};

struct cfg_warmup {
	char	*cw_start;		/* "YYYY-MM-DD" */
	struct cfg_intlist cw_daily;	/* messages per day, day by day */
	/* derived */
	long	cw_start_day;		/* days since 1970-01-01, UTC */
};

struct cfg_egress {			/* one sending address = one transport */
	char	*ce_transport;
	char	*ce_ip;
	char	*ce_ip6;
	char	*ce_helo;
	char	*ce_nexthop;
	int	ce_weight;
	int	ce_down;
	struct cfg_warmup ce_warmup;		/* cw_start NULL: none */
};

struct cfg_pool {
	char	*cp_name;
	char	*cp_overflow;
	struct cfg_list cp_egress;		/* struct cfg_egress */
	const struct cfg_pool *cp_overflow_pool;	/* resolved */
};

struct cfg_domain {
	char	*cd_name;
	int	cd_subdomains;
	struct cfg_list cd_keys;		/* struct cfg_key */
	const struct cfg_tenant *cd_tenant;	/* owner (borrowed) */
};

struct cfg_tenant {
	char	*ct_name;
	struct cfg_strlist ct_logins;
	struct cfg_cidrlist ct_networks;
	struct cfg_list ct_domains;		/* struct cfg_domain */
	int	ct_on_dmarc_fail;		/* 0 inherit, else VA + 1 */
	char	*ct_pool_name;
	const struct cfg_pool *ct_pool;		/* resolved; NULL: no routing */
	struct cfg_list ct_limits;		/* struct cfg_limit */
};

struct cfg {
	char	*cf_path;
	/* milter { } */
	char	*cf_socket;
	int	cf_socket_mode;
	char	*cf_socket_group;
	char	*cf_user;
	int	cf_on_error;
	int	cf_unknown_login;
	int	cf_bad_from;
	int	cf_unowned_from;
	int	cf_unowned_sender;
	struct cfg_cidrlist cf_internal;
	struct cfg_cidrlist cf_metrics_allow;
	int	cf_max_headers;
	int	cf_max_header_bytes;
	int	cf_shutdown_timeout;
	int	cf_max_conns;		/* MTA connections at once */
	int	cf_max_msgs_conn;	/* messages per SMTP session, 0: any */
	int	cf_defer_refusals;	/* no replies before end of message */
	int	cf_strip_inbound;	/* inbound: delete control headers */
	int	cf_sandbox;		/* seccomp filter once serving */
	int	cf_debug;
	/* signing { } */
	char	*cf_canon;
	int	cf_canon_hdr;
	int	cf_canon_body;
	struct cfg_strlist cf_sign_headers;
	struct cfg_strlist cf_oversign;
	int	cf_expire;
	int	cf_min_rsa_bits;
	int	cf_sign_engine;			/* enum cfg_sign_engine */
	struct cfg_domain cf_provider;		/* cd_name NULL: none */
	/* alignment { } */
	int	cf_align;
	char	*cf_psl_path;
	int	cf_spf;
	char	*cf_egress_ip;
	char	*cf_helo;
	int	cf_on_dmarc_fail;
	int	cf_on_temperror;
	int	cf_align_header;
	int	cf_check_keys;
	int	cf_dns_timeout_ms;
	int	cf_dns_cache_size;
	/* ratelimit { redis { } } */
	int	cf_rl_backend;			/* 0 memory, 1 redis */
	int	cf_rl_max_keys;
	char	*cf_redis_server;
	char	*cf_redis_username;		/* Redis 6 ACL user, or NULL */
	char	*cf_redis_password;
	int	cf_redis_db;
	int	cf_redis_connect_timeout_ms;
	int	cf_redis_timeout_ms;
	int	cf_redis_connections;
	char	*cf_redis_prefix;
	int	cf_redis_on_failure;		/* enum cfg_rl_failure */
	/* metrics { } */
	char	*cf_metrics_listen;		/* NULL: off */
	/* top level */
	struct cfg_list cf_limits;		/* struct cfg_limit */
	struct cfg_list cf_pools;		/* struct cfg_pool */
	struct cfg_list cf_domains;		/* small-site shorthand */
	struct cfg_list cf_tenants;		/* struct cfg_tenant */
	/* derived at load */
	uid_t	cf_uid;
	gid_t	cf_gid;
	gid_t	cf_socket_gid;
	struct sign_lib *cf_signlib;
	struct dsig_lib *cf_dsiglib;
	struct psl *cf_psl;
	struct dns_cache *cf_dns;
	struct spf *cf_spf_server;
	struct rl_backend *cf_rl_shared;	/* Redis, or NULL */
	struct rl *cf_rl;			/* runtime (borrowed) */
	int	cf_rcpt_limits;		/* a limit may refuse a RCPT */
	unsigned cf_refs;
};

#define CFG_LOAD_KEYS	0x01		/* read key files (else only syntax) */
#define CFG_ERRLEN	1024

#define CFG_TENANT(cf, i) (&((struct cfg_tenant *)(cf)->cf_tenants.v)[i])
#define CFG_DOMAIN(t, i) (&((struct cfg_domain *)(t)->ct_domains.v)[i])
#define CFG_KEY(d, i)	(&((struct cfg_key *)(d)->cd_keys.v)[i])
#define CFG_POOL(cf, i)	(&((struct cfg_pool *)(cf)->cf_pools.v)[i])
#define CFG_EGRESS(p, i) (&((struct cfg_egress *)(p)->cp_egress.v)[i])
#define CFG_LIMIT(l, i)	(&((struct cfg_limit *)(l)->v)[i])

struct cfg *cfg_load(const char *path, int flags, char *err, size_t errlen);
void	cfg_free(struct cfg *cf);
const char *cfg_action_name(int action);

void	cfg_install(struct cfg *cf);
struct cfg *cfg_acquire(void);
void	cfg_release(struct cfg *cf);

#endif
