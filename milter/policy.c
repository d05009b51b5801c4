/*
 * NAME
 *	policy - what happens to one outbound message
 * SYNOPSIS
 *	#include "policy.h"
 *
 *	enum verdict policy_envfrom(struct txn *tx, const char *sender,
 *		    const char *login);
 *	enum verdict policy_envrcpt(struct txn *tx, const char *rcpt);
 *	enum verdict policy_header(struct txn *tx, const char *name,
 *		    const char *value);
 *	enum verdict policy_eoh(struct txn *tx);
 *	enum verdict policy_body(struct txn *tx, const unsigned char *buf,
 *		    size_t len);
 *	enum verdict policy_eom(struct txn *tx);
 *	void	policy_summary(const struct txn *tx);
 * DESCRIPTION
 *	The milter callbacks call one of these each and translate the
 *	verdict. policy_envfrom() decides whether the message is outbound
 *	(an authenticated login, a tenant network, or an internal network)
 *	and, when the login or network names the tenant, that the envelope
 *	sender's domain belongs to it. Other mail (inbound) is passed at
 *	once when milter.strip_inbound is off; else it is marked t_inbound
 *	and followed only to count client copies of the control headers:
 *	policy_eoh() passes it when there is none, and the copies are
 *	deleted at end of message (nothing is signed, routed or limited).
 *	policy_envrcpt() checks the rate limits known at RCPT: its
 *	VERDICT_TEMPFAIL refuses that recipient only.
 *	policy_header() keeps a bounded copy of each header and counts
 *	client copies of our control headers, all removed at end of
 *	message. policy_eoh()
 *	checks the From header (exactly one, one address, parseable), that
 *	the tenant owns its domain (for internal networks the owner of the
 *	From domain is the tenant), and starts one signer per key of the
 *	owning domain entry plus the provider's keys; then it chooses the
 *	egress (skipping egresses over today's warm-up cap, preferring those
 *	the sender's SPF authorizes) and checks the
 *	remaining rate limits. policy_body() and policy_eom() feed and
 *	finish the signers.
 *
 *	policy_summary() writes the one summary line of a message.
 * OWNERSHIP
 *	Everything is kept in the txn; see txn(3).
 * DIAGNOSTICS
 *	Refusals carry a reply and reason in the txn (txn_refuse()).
 *	Internal errors apply the configured on_error action.
 * SEE ALSO
 *	txn(3), tenant(3), sign(3), mlfi(3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "cfg.h"
#include "cidr.h"
#include "conn.h"
#include "dns.h"
#include "dsig.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "preflight.h"
#include "rl.h"
#include "route.h"
#include "sign.h"
#include "spf.h"
#include "tenant.h"
#include "txn.h"

/* policy_who - "login alice" or "client 192.0.2.1", for replies */

static const char *
policy_who(const struct txn *tx, char *buf, size_t size)
{
	char	esc[LOG_ESCAPE_MAX + 8];

	if (tx->t_login != NULL)
		snprintf(buf, size, "login %s", log_escape(esc, sizeof(esc),
		    tx->t_login, strlen(tx->t_login)));
	else
		snprintf(buf, size, "client %s", tx->t_conn->c_addrstr);
	return (buf);
}

/* policy_check_sender - the envelope sender's domain is the tenant's */

static enum verdict
policy_check_sender(struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct cfg_domain *owner;
	char	who[300];

	if (tx->t_sender_domain[0] == '\0')	/* <>: a bounce */
		return (VERDICT_CONTINUE);
	owner = tenant_domain_owner(cf, tx->t_sender_domain);
	if (owner != NULL && owner->cd_tenant == tx->t_tenant)
		return (VERDICT_CONTINUE);
	return (txn_refuse(tx, cf->cf_unowned_sender, "5.7.1", "envelope "
	    "sender domain %s is not authorized for %s", tx->t_sender_domain,
	    policy_who(tx, who, sizeof(who))));
}

/* policy_bare_address - "<a@b>" to "a@b", a copy ("" for <>) */

static char *
policy_bare_address(const char *arg)
{
	size_t	len;

	while (*arg == ' ')
		arg++;
	len = strlen(arg);
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>')
		return (strndup(arg + 1, len - 2));
	return (strdup(arg));
}

/* policy_envfrom - outbound or not, and whose */

enum verdict
policy_envfrom(struct txn *tx, const char *sender, const char *login)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct sockaddr *sa = conn_sockaddr(tx->t_conn);
	int	bad_sender;

	bad_sender = addr_envelope_domain(sender, tx->t_sender_domain,
	    sizeof(tx->t_sender_domain)) == -1;
	if ((tx->t_sender = policy_bare_address(sender)) == NULL)
		return (txn_refuse(tx, cf->cf_on_error, "4.3.0",
		    "internal error (out of memory)"));
	if (login != NULL && *login != '\0') {
		if ((tx->t_login = strdup(login)) == NULL)
			return (txn_refuse(tx, cf->cf_on_error, "4.3.0",
			    "internal error (out of memory)"));
		tx->t_tenant = tenant_by_login(cf, login);
		tx->t_tenant_by = "login";
		if (tx->t_tenant == NULL)
			return (txn_refuse(tx, cf->cf_unknown_login, "5.7.1",
			    "login %s may not send through this relay",
			    tx->t_login));
	} else if ((tx->t_tenant = tenant_by_addr(cf, sa)) != NULL) {
		tx->t_tenant_by = "network";
	} else if (sa == NULL || cidr_match_list(cf->cf_internal.v,
	    cf->cf_internal.n, sa)) {
		tx->t_internal = 1;
	} else {
		tx->t_action = "pass";
		snprintf(tx->t_reason, sizeof(tx->t_reason), "not outbound");
		if (!cf->cf_strip_inbound)
			return (VERDICT_PASS);
		tx->t_inbound = 1;	/* only client control headers go */
		return (VERDICT_CONTINUE);
	}
	tx->t_rl_early = tx->t_tenant != NULL;
	if (bad_sender)
		return (txn_refuse(tx, cf->cf_unowned_sender, "5.1.7",
		    "envelope sender has no usable domain"));
	return (tx->t_tenant != NULL && !tx->t_unsigned ?
	    policy_check_sender(tx) : VERDICT_CONTINUE);
}

/* policy_envrcpt - one recipient: the limits known now */

enum verdict
policy_envrcpt(struct txn *tx, const char *rcpt)
{
	char   *bare;
	enum verdict v;

	tx->t_nrcpt++;
	if (tx->t_inbound)
		return (VERDICT_CONTINUE);
	if ((bare = policy_bare_address(rcpt)) == NULL)
		return (txn_refuse(tx, tx->t_conn->c_cfg->cf_on_error, "4.3.0",
		    "internal error (out of memory)"));
	v = rl_check_rcpt(tx, bare);
	free(bare);
	return (v);
}

const char *const policy_control_headers[POLICY_NCONTROL] = {
	POLICY_ROUTE_HEADER, PREFLIGHT_HEADER
};

/* policy_control_index - which of our control headers, or -1 */

static int
policy_control_index(const char *name)
{
	int	i;

	for (i = 0; i < POLICY_NCONTROL; i++)
		if (strcasecmp(name, policy_control_headers[i]) == 0)
			return (i);
	return (-1);
}

/* policy_header - keep a copy; note control headers */

enum verdict
policy_header(struct txn *tx, const char *name, const char *value)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	enum verdict v;
	int	rc, i;

	if (tx->t_hdrs.hl_count + tx->t_control[0] + tx->t_control[1] >=
	    (size_t)cf->cf_max_headers) {
		if (tx->t_inbound && policy_control_index(name) < 0)
			return (VERDICT_CONTINUE);	/* not ours to cap */
		rc = HDR_ERR_COUNT;
	} else if ((i = policy_control_index(name)) >= 0) {
		tx->t_control[i]++;	/* a client's copy: removed at eom */
		return (VERDICT_CONTINUE);
	} else if (tx->t_inbound)
		return (VERDICT_CONTINUE);	/* no copies kept */
	else if ((rc = hdr_list_add(&tx->t_hdrs, name, value)) == 0)
		return (VERDICT_CONTINUE);
	if (rc == HDR_ERR_NOMEM)
		return (txn_refuse(tx, cf->cf_on_error, "4.3.0",
		    "internal error (out of memory)"));
	v = txn_refuse(tx, CFG_ACT_REJECT, "5.3.4", rc == HDR_ERR_COUNT ?
	    "message has more than %d header fields" :
	    "message header is larger than %d bytes", rc == HDR_ERR_COUNT ?
	    cf->cf_max_headers : cf->cf_max_header_bytes);
	memcpy(tx->t_rcode, "552", 4);
	return (v);
}

/* policy_check_from - exactly one From with one address; its domain */

static enum verdict
policy_check_from(struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct hdr *h;
	enum addr_status st;
	size_t	n, naddrs;

	if ((n = hdr_list_count(&tx->t_hdrs, "From")) != 1)
		return (txn_refuse(tx, cf->cf_bad_from, "5.7.1", n == 0 ?
		    "message has no From header" :
		    "message has %zu From headers (RFC 5322 allows one)", n));
	h = hdr_list_find(&tx->t_hdrs, "From", 0);
	st = addr_from_domain(h->h_value, strlen(h->h_value),
	    tx->t_from_domain, sizeof(tx->t_from_domain), &naddrs);
	if (st == ADDR_OK)
		return (VERDICT_CONTINUE);
	tx->t_from_domain[0] = '\0';
	return (txn_refuse(tx, cf->cf_bad_from, "5.7.1", "From header: %s",
	    addr_strerror(st)));
}

/* policy_check_owner - the From domain is the tenant's; the signer domain */

static const struct cfg_domain *
policy_check_owner(struct txn *tx, enum verdict *v)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct cfg_domain *owner;
	char	who[300];

	owner = tenant_domain_owner(cf, tx->t_from_domain);
	*v = VERDICT_CONTINUE;
	if (tx->t_tenant == NULL && owner != NULL) {	/* internal network */
		tx->t_tenant = owner->cd_tenant;
		tx->t_tenant_by = "from";
		if ((*v = policy_check_sender(tx)) != VERDICT_CONTINUE)
			return (NULL);
	}
	if (owner != NULL && owner->cd_tenant == tx->t_tenant)
		return (owner);
	if (tx->t_tenant == NULL)
		*v = txn_refuse(tx, cf->cf_unowned_from, "5.7.1", "From domain "
		    "%s is not a domain of this relay", tx->t_from_domain);
	else
		*v = txn_refuse(tx, cf->cf_unowned_from, "5.7.1", "From domain "
		    "%s is not authorized for %s", tx->t_from_domain,
		    policy_who(tx, who, sizeof(who)));
	return (NULL);
}

/* policy_sig_header - one header to a signature, either engine */

static int
policy_sig_header(struct txn_sig *ts, const char *name, const char *value)
{
	return (ts->ts_dsig ? dsig_header(ts->ts_dsig, name, value) :
	    sign_header(ts->ts_signer, name, value));
}

/* policy_sig_eoh - end of headers, either engine */

static int
policy_sig_eoh(struct txn_sig *ts)
{
	return (ts->ts_dsig ? dsig_eoh(ts->ts_dsig) : sign_eoh(ts->ts_signer));
}

/* policy_sig_body - a body chunk, either engine */

static int
policy_sig_body(struct txn_sig *ts, const unsigned char *buf, size_t len)
{
	return (ts->ts_dsig ? dsig_body(ts->ts_dsig, buf, len) :
	    sign_body(ts->ts_signer, buf, len));
}

/* policy_sig_end - the header value, either engine */

static char *
policy_sig_end(struct txn_sig *ts)
{
	return (ts->ts_dsig ? dsig_end(ts->ts_dsig) : sign_end(ts->ts_signer));
}

/* policy_sig_error - the last reason, either engine */

static const char *
policy_sig_error(const struct txn_sig *ts)
{
	return (ts->ts_dsig ? dsig_error(ts->ts_dsig) :
	    sign_error(ts->ts_signer));
}

/* policy_add_signer - start one signature and replay the headers */

static int
policy_add_signer(struct txn *tx, const struct cfg_domain *d,
    const struct cfg_key *k)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	struct txn_sig *ts;
	size_t	i;

	if (tx->t_nsigs == TXN_MAX_SIGS) {
		txn_log(tx, LOG_WARNING, "more than %d signatures requested; "
		    "%s/%s skipped", TXN_MAX_SIGS, d->cd_name, k->ck_selector);
		return (0);
	}
	ts = &tx->t_sigs[tx->t_nsigs];
	if (cf->cf_sign_engine == CFG_ENGINE_NATIVE &&
	    (ts->ts_dsig = dsig_begin(cf->cf_dsiglib, k->ck_key, d->cd_name,
	    k->ck_selector)) != NULL && tx->t_nsigs > 0)
		dsig_share_body(ts->ts_dsig, tx->t_sigs[0].ts_dsig);
	else
		ts->ts_signer = sign_begin(cf->cf_signlib, k->ck_key,
		    d->cd_name, k->ck_selector, tx->t_queue_id ?
		    tx->t_queue_id : "NOQUEUE");
	if (ts->ts_dsig == NULL && ts->ts_signer == NULL) {
		txn_log(tx, LOG_ERR, "cannot start signature d=%s s=%s",
		    d->cd_name, k->ck_selector);
		return (-1);
	}
	ts->ts_domain = d;
	ts->ts_key = k;
	tx->t_nsigs++;
	for (i = 0; i < tx->t_hdrs.hl_count; i++)
		if (policy_sig_header(ts, tx->t_hdrs.hl_items[i].h_name,
		    tx->t_hdrs.hl_items[i].h_value) == -1)
			break;
	if (i < tx->t_hdrs.hl_count || policy_sig_eoh(ts) == -1) {
		txn_log(tx, LOG_ERR, "signature d=%s s=%s: %s", d->cd_name,
		    k->ck_selector, policy_sig_error(ts));
		return (-1);
	}
	return (0);
}

/* policy_usable - route hook: under today's warm-up cap (takes one) */

static int
policy_usable(void *ctx, const struct cfg_egress *e)
{
	return (rl_take_warmup(ctx, e));
}

/* policy_prefer - route hook: the sender's SPF authorizes this egress */

static int
policy_prefer(void *ctx, const struct cfg_egress *e)
{
	struct txn *tx = ctx;
	const struct cfg *cf = tx->t_conn->c_cfg;

	if (!cf->cf_align || !cf->cf_spf || cf->cf_spf_server == NULL)
		return (0);
	return (spf_check(cf->cf_spf_server, e->ce_ip, e->ce_helo ?
	    e->ce_helo : cf->cf_helo, tx->t_sender ? tx->t_sender : "") ==
	    ALIGN_SPF_PASS);
}

/* policy_route - the egress of this message */

static enum verdict
policy_route(struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	struct route_hooks h = { tx, policy_usable, policy_prefer };
	int	error;

	if (tx->t_tenant->ct_pool == NULL)
		return (VERDICT_CONTINUE);
	if ((tx->t_route = route_choose(tx->t_tenant->ct_pool, &h,
	    &tx->t_pool, &error)) != NULL)
		return (VERDICT_CONTINUE);
	if (error)
		return (txn_refuse(tx, CFG_ACT_TEMPFAIL, "4.3.0", "warm-up "
		    "counters cannot be checked now; try again later"));
	return (txn_refuse(tx, cf->cf_on_error == CFG_ACT_REJECT ?
	    CFG_ACT_REJECT : CFG_ACT_TEMPFAIL, "4.4.5", "no sending address "
	    "available (every egress is down or at its warm-up cap)"));
}

/*
 * policy_key_active - a key signs once its not_before has passed and, with
 * require_published, while DNS (cached by TTL) publishes its public key
 */
static int
policy_key_active(struct txn *tx, const struct cfg_domain *d,
    const struct cfg_key *k)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	struct dns_answer ans;
	char	name[ADDR_DOMAIN_MAX + 80], pub[1024];
	size_t	i;
	int	found = 0;

	if (k->ck_not_before_t != 0 && time(NULL) < k->ck_not_before_t)
		return (0);
	if (!k->ck_require_published)
		return (1);
	snprintf(name, sizeof(name), "%s._domainkey.%s", k->ck_selector,
	    d->cd_name);
	if (cf->cf_dns == NULL)
		return (0);
	dns_txt(cf->cf_dns, name, &ans);
	if (ans.status == DNS_OK)
		for (i = 0; i < ans.n && !found; i++) {
			preflight_p_value(ans.txt[i], pub, sizeof(pub));
			found = strcmp(pub, k->ck_pub) == 0;
		}
	dns_answer_fini(&ans);
	if (!found)
		txn_log(tx, LOG_DEBUG, "key %s not used: its public key is not "
		    "published", name);
	return (found);
}

/*
 * policy_eoh_unsigned - outbound mail that an accept action lets go
 * unsigned still leaves from its tenant's pool and spends its limits:
 * choosing a foreign From must not be a way around either
 */
static enum verdict
policy_eoh_unsigned(struct txn *tx)
{
	enum verdict v;

	if (tx->t_tenant != NULL &&
	    (v = policy_route(tx)) != VERDICT_CONTINUE)
		return (v);
	return (rl_check_eoh(tx));
}

/* policy_eoh - From checks, ownership, then start the signatures */

enum verdict
policy_eoh(struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	const struct cfg_domain *owner;
	enum verdict v;
	size_t	i, n;

	if (tx->t_inbound)		/* the body only when a copy goes */
		return (tx->t_control[0] + tx->t_control[1] > 0 ?
		    VERDICT_CONTINUE : VERDICT_PASS);
	if (tx->t_unsigned)
		return (policy_eoh_unsigned(tx));
	if ((v = policy_check_from(tx)) != VERDICT_CONTINUE)
		return (v);
	if (tx->t_unsigned)
		return (policy_eoh_unsigned(tx));
	if ((owner = policy_check_owner(tx, &v)) == NULL)	/* refused, */
		return (v == VERDICT_CONTINUE && tx->t_unsigned ?
		    policy_eoh_unsigned(tx) : v);	/* or unsigned */
	for (i = 0, n = 0; i < owner->cd_keys.n; i++) {
		if (!policy_key_active(tx, owner, CFG_KEY(owner, i)))
			continue;
		if (policy_add_signer(tx, owner, CFG_KEY(owner, i)) == -1)
			goto fail;
		n++;
	}
	if (n == 0)
		return (txn_refuse(tx, cf->cf_on_error, "4.3.0", "no key of "
		    "%s may sign now (not_before, require_published)",
		    owner->cd_name));
	for (i = 0; cf->cf_provider.cd_name && i < cf->cf_provider.cd_keys.n;
	    i++)
		if (policy_add_signer(tx, &cf->cf_provider,
		    CFG_KEY(&cf->cf_provider, i)) == -1)
			goto fail;
	if ((v = policy_route(tx)) != VERDICT_CONTINUE ||
	    (v = rl_check_eoh(tx)) != VERDICT_CONTINUE)
		return (v);
	if (!cf->cf_align)
		return (VERDICT_CONTINUE);
	tx->t_checked = 1;
	return (preflight_check(tx));
fail:
	return (txn_refuse(tx, cf->cf_on_error, "4.3.0",
	    "internal error while signing"));
}

/* policy_body - feed a chunk to every signature */

enum verdict
policy_body(struct txn *tx, const unsigned char *buf, size_t len)
{
	size_t	i;

	tx->t_body_bytes += len;
	for (i = 0; i < tx->t_nsigs && !tx->t_unsigned; i++) {
		if (i > 0 && tx->t_sigs[i].ts_dsig != NULL)
			continue;	/* shares the first one's body hash */
		if (policy_sig_body(&tx->t_sigs[i], buf, len) == -1) {
			txn_log(tx, LOG_ERR, "signature d=%s: %s",
			    tx->t_sigs[i].ts_domain->cd_name,
			    policy_sig_error(&tx->t_sigs[i]));
			return (txn_refuse(tx, tx->t_conn->c_cfg->cf_on_error,
			    "4.3.0", "internal error while signing"));
		}
	}
	return (VERDICT_CONTINUE);
}

/* policy_eom - finish every signature */

enum verdict
policy_eom(struct txn *tx)
{
	struct txn_sig *ts;
	size_t	i;

	for (i = 0; i < tx->t_nsigs && !tx->t_unsigned; i++) {
		ts = &tx->t_sigs[i];
		if ((ts->ts_value = policy_sig_end(ts)) == NULL) {
			txn_log(tx, LOG_ERR, "signature d=%s s=%s: %s",
			    ts->ts_domain->cd_name, ts->ts_key->ck_selector,
			    policy_sig_error(ts));
			return (txn_refuse(tx, tx->t_conn->c_cfg->cf_on_error,
			    "4.3.0", "internal error while signing"));
		}
	}
	if (tx->t_inbound)
		snprintf(tx->t_reason, sizeof(tx->t_reason), "not outbound; "
		    "%zu client control header(s) removed", tx->t_control[0] +
		    tx->t_control[1]);
	else if (!tx->t_unsigned)
		tx->t_action = tx->t_hold ? "hold" : "accept";
	return (VERDICT_CONTINUE);
}

/* policy_signed_list - "d/s/a,d/s/a" */

static void
policy_signed_list(const struct txn *tx, char *buf, size_t size)
{
	size_t	i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < tx->t_nsigs && len < size; i++) {
		if (tx->t_sigs[i].ts_value == NULL)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s/%s/%s",
		    len ? "," : "", tx->t_sigs[i].ts_domain->cd_name,
		    tx->t_sigs[i].ts_key->ck_selector,
		    keys_alg_name(tx->t_sigs[i].ts_key->ck_key->k_alg));
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "none");
}

/* policy_dmarc_fields - " dmarc=... policy=... spf=... [why=...]" */

static void
policy_dmarc_fields(const struct txn *tx, char *buf, size_t size)
{
	const struct align_result *ar = &tx->t_align;
	char	why[LOG_ESCAPE_MAX + 8];

	buf[0] = '\0';
	if (!tx->t_checked)
		return;
	log_escape(why, sizeof(why), ar->ar_reason, strlen(ar->ar_reason));
	snprintf(buf, size, " dmarc=%s policy=%s spf=%s%s%s%s",
	    align_verdict_name(ar->ar_verdict), tx->t_dmarc_policy,
	    align_spf_name(tx->t_spf), tx->t_reason[0] ? "" : " why=\"",
	    tx->t_reason[0] ? "" : why, tx->t_reason[0] ? "" : "\"");
}

/* policy_count - the message in the metrics */

static void
policy_count(const struct txn *tx)
{
	char	a[200], b[200], both[400];
	struct timespec ts;
	size_t	i;

	metrics_label(a, sizeof(a), "tenant", tx->t_tenant ?
	    tx->t_tenant->ct_name : "-");
	metrics_label(b, sizeof(b), "outcome", tx->t_action ? tx->t_action :
	    "none");
	snprintf(both, sizeof(both), "%s,%s", a, b);
	metrics_inc(METRICS_MESSAGES, both);
	if (tx->t_route != NULL && tx->t_action != NULL &&
	    strcmp(tx->t_action, "accept") == 0) {
		metrics_label(a, sizeof(a), "pool", tx->t_pool->cp_name);
		metrics_label(b, sizeof(b), "egress",
		    tx->t_route->ce_transport);
		snprintf(both, sizeof(both), "%s,%s", a, b);
		metrics_inc(METRICS_ROUTES, both);
	}
	for (i = 0; i < tx->t_nsigs && !tx->t_unsigned; i++)
		if (tx->t_sigs[i].ts_value != NULL) {
			metrics_label(a, sizeof(a), "alg", keys_alg_name(
			    tx->t_sigs[i].ts_key->ck_key->k_alg));
			metrics_inc(METRICS_SIGNATURES, a);
		}
	if (tx->t_checked) {
		metrics_label(a, sizeof(a), "verdict",
		    align_verdict_name(tx->t_align.ar_verdict));
		metrics_inc(METRICS_DMARC, a);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	metrics_observe((double)ts.tv_sec + ts.tv_nsec / 1e9 - tx->t_start);
}

/* policy_summary - the one line per message */

void
policy_summary(const struct txn *tx)
{
	char	login[LOG_ESCAPE_MAX + 8], reason[LOG_ESCAPE_MAX + 8];
	char	from[LOG_ESCAPE_MAX + 8], env[LOG_ESCAPE_MAX + 8];
	char	signed_list[1024], dmarc[LOG_ESCAPE_MAX + 80], route[160];
	char	limited[40];

	policy_signed_list(tx, signed_list, sizeof(signed_list));
	policy_dmarc_fields(tx, dmarc, sizeof(dmarc));
	limited[0] = '\0';
	if (tx->t_rl_limited > 0)
		snprintf(limited, sizeof(limited), " rcpts_limited=%zu",
		    tx->t_rl_limited);
	route[0] = '\0';
	if (tx->t_route != NULL)
		snprintf(route, sizeof(route), " route=%s/%s",
		    tx->t_pool->cp_name, tx->t_route->ce_transport);
	log_escape(login, sizeof(login), tx->t_login ? tx->t_login : "-",
	    strlen(tx->t_login ? tx->t_login : "-"));
	log_escape(from, sizeof(from), tx->t_from_domain,
	    strlen(tx->t_from_domain));
	log_escape(env, sizeof(env), tx->t_sender_domain,
	    strlen(tx->t_sender_domain));
	log_escape(reason, sizeof(reason), tx->t_reason, strlen(tx->t_reason));
	policy_count(tx);
	txn_log(tx, LOG_INFO, "done client=%s login=%s tenant=%s by=%s "
	    "env_from=%s from=%s rcpts=%zu%s body=%llu action=%s "
	    "signed=%s%s%s%s%s%s",
	    tx->t_conn->c_addrstr, login, tx->t_tenant ?
	    tx->t_tenant->ct_name : "-", tx->t_tenant_by ? tx->t_tenant_by :
	    "-", env[0] ? env : "<>", from[0] ? from : "-", tx->t_nrcpt,
	    limited, tx->t_body_bytes, tx->t_action ? tx->t_action : "none",
	    signed_list, route, dmarc, reason[0] ? " reason=\"" : "", reason,
	    reason[0] ? "\"" : "");
}
