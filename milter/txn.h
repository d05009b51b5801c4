#ifndef TXN_H
#define TXN_H

#include <stddef.h>

#include "addr.h"
#include "align.h"
#include "hdr.h"
#include "log.h"
#include "verdict.h"

struct conn;
struct cfg_domain;
struct cfg_egress;
struct cfg_key;
struct cfg_pool;
struct cfg_tenant;
struct signer;
struct dsig;
struct rl_hold;
struct rl_rcpt_domain;

#define TXN_MAX_SIGS	8		/* signatures on one message */

struct txn_sig {
	struct signer *ts_signer;		/* signing.engine libopendkim */
	struct dsig *ts_dsig;			/* signing.engine native */
	const struct cfg_domain *ts_domain;	/* d= */
	const struct cfg_key *ts_key;		/* s=, key */
	char	*ts_value;			/* header value at eom */
};

struct txn {
	struct conn *t_conn;		/* back pointer */
	char	*t_queue_id;
	char	*t_login;		/* {auth_authen}, or NULL */
	char	*t_sender;		/* MAIL FROM address, "" for <> */
	char	t_sender_domain[ADDR_DOMAIN_MAX];	/* "" for <> */
	char	t_from_domain[ADDR_DOMAIN_MAX];
	size_t	t_nrcpt;
	struct hdr_list t_hdrs;
	int	t_hdr_error;		/* a cap was exceeded */
	int	t_pending;		/* a verdict that waits for a reply */
	int	t_internal;		/* client in internal_networks */
	const struct cfg_tenant *t_tenant;
	const char *t_tenant_by;	/* "login", "network", "from" */
	struct txn_sig t_sigs[TXN_MAX_SIGS];
	size_t	t_nsigs;
	size_t	t_control[2];		/* client copies of our headers */
	int	t_unsigned;		/* refused with action accept */
	int	t_inbound;		/* not outbound: control headers only */
	/* the DMARC preflight */
	int	t_checked;		/* preflight ran */
	struct align_result t_align;
	enum align_spf t_spf;
	const char *t_dmarc_policy;	/* p= that applies, "-" if none */
	int	t_hold;			/* quarantine at end of message */
	int	t_tag;			/* add the verdict header */
	/* routing */
	const struct cfg_pool *t_pool;
	const struct cfg_egress *t_route;	/* NULL: no routing */
	unsigned long long t_body_bytes;
	double	t_start;		/* CLOCK_MONOTONIC at MAIL FROM */
	/* rate limits */
	int	t_rl_early;		/* tenant known at MAIL FROM */
	struct rl_hold *t_rl;		/* tokens taken, by key */
	size_t	t_rl_n;
	size_t	t_rl_cap;
	int	t_rl_committed;		/* accepted: keep them */
	size_t	t_rl_limited;		/* recipients refused by a limit */
	struct rl_rcpt_domain *t_rdom;	/* accepted recipients by domain */
	size_t	t_nrdom;
	size_t	t_rcpt_ok;		/* accepted recipients */
	/* the outcome */
	const char *t_action;		/* for the summary line */
	char	t_rcode[4];
	char	t_xcode[8];
	char	t_reason[256];
};

struct txn *txn_new(struct conn *c);
void	txn_free(struct txn *tx);
void	txn_set_queue_id(struct txn *tx, const char *id);
void	txn_log(const struct txn *tx, int prio, const char *fmt, ...)
	    LOG_PRINTF(3, 4);
enum verdict txn_refuse(struct txn *tx, int action, const char *xcode,
	    const char *fmt, ...) LOG_PRINTF(4, 5);
unsigned long txn_active(void);

#endif
