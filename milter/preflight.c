/*
 * NAME
 *	preflight - catch before sending what would fail DMARC at the receiver
 * SYNOPSIS
 *	#include "preflight.h"
 *
 *	enum verdict preflight_check(struct txn *tx);
 * DESCRIPTION
 *	Called at end of headers once the signatures of a message are
 *	chosen. It finds out what a receiver will find out: the DMARC
 *	record of the From domain (else of its organizational domain, RFC
 *	7489 section 6.6.3), whether the public key of each signature we
 *	add is published and matches our private key, and the SPF result of
 *	the envelope sender domain (the HELO name for the null sender) for
 *	the egress address (the routed egress's, else alignment.egress_ip).
 *	align_evaluate() turns that into the predicted
 *	verdict, kept in the txn for the summary line and the optional
 *	header.
 *
 *	A fail under p=quarantine or p=reject (sp= for subdomains) applies
 *	the tenant's on_dmarc_fail, or alignment.on_dmarc_fail: reject
 *	(550 5.7.26 with the reason), tempfail, hold (the MTA's hold queue),
 *	tag (an X-Egress-DMARC header) or accept. A fail under p=none only
 *	logs. A temperror applies alignment.on_temperror. All lookups of one
 *	message share alignment.dns_timeout_ms: past it, the remaining
 *	answers count as temperror, so a dead resolver cannot stall the MTA.
 * OWNERSHIP
 *	The DNS cache, the SPF server and the suffix list belong to the
 *	config snapshot; results go into the txn.
 * DIAGNOSTICS
 *	Out of memory is a temperror.
 * SEE ALSO
 *	align(3), dmarc(3), spf(3), dns(3), psl(3), RFC 7489, RFC 7208
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "align.h"
#include "cfg.h"
#include "conn.h"
#include "dmarc.h"
#include "dns.h"
#include "preflight.h"
#include "psl.h"
#include "spf.h"
#include "txn.h"

struct preflight {
	struct txn *pf_tx;
	const struct cfg *pf_cf;
	struct timespec pf_deadline;
	char	pf_from_org[ADDR_DOMAIN_MAX];
	char	pf_spf_org[ADDR_DOMAIN_MAX];
	char	pf_sig_org[ALIGN_MAX_SIGS][ADDR_DOMAIN_MAX];
};

/* preflight_expired - past this message's DNS budget */

static int
preflight_expired(const struct preflight *pf)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec > pf->pf_deadline.tv_sec ||
	    (now.tv_sec == pf->pf_deadline.tv_sec &&
	    now.tv_nsec >= pf->pf_deadline.tv_nsec));
}

/* preflight_txt - a TXT lookup within the budget */

static enum dns_status
preflight_txt(struct preflight *pf, const char *name, struct dns_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	if (preflight_expired(pf) ||
	    dns_txt(pf->pf_cf->cf_dns, name, ans) == -1)
		ans->status = DNS_TEMPFAIL;
	return (ans->status);
}

/* preflight_org - organizational domain, or the domain itself */

static const char *
preflight_org(const struct preflight *pf, const char *domain, char *buf)
{
	if (psl_org_domain(pf->pf_cf->cf_psl, domain, buf,
	    ADDR_DOMAIN_MAX) == -1)
		snprintf(buf, ADDR_DOMAIN_MAX, "%s", domain);
	return (buf);
}

/* preflight_record - 1 found (rec filled), 0 none, -1 temperror */

static int
preflight_record(struct preflight *pf, const char *domain,
    struct dmarc_record *rec)
{
	struct dns_answer ans;
	char	name[ADDR_DOMAIN_MAX + 8];
	const char *found = NULL;
	size_t	i, n = 0;
	int	rc;

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	if (preflight_txt(pf, name, &ans) == DNS_TEMPFAIL) {
		dns_answer_fini(&ans);
		return (-1);
	}
	for (i = 0; ans.status == DNS_OK && i < ans.n; i++)
		if (dmarc_is_record(ans.txt[i]))
			found = ans.txt[i], n++;
	/* RFC 7489 6.6.3: more than one record means no policy. */
	rc = n == 1 && dmarc_parse(found, domain, pf->pf_from_org, rec) == 0;
	dns_answer_fini(&ans);
	return (rc);
}

/* preflight_dmarc - the From domain's record, else its org domain's */

static void
preflight_dmarc(struct preflight *pf, struct align_input *in)
{
	struct dmarc_record rec;
	int	sub = 0;

	in->ai_record = preflight_record(pf, in->ai_from, &rec);
	if (in->ai_record == 0 && strcasecmp(in->ai_from, in->ai_from_org)) {
		in->ai_record = preflight_record(pf, in->ai_from_org, &rec);
		sub = 1;
	}
	if (in->ai_record != 1)
		return;
	in->ai_p = sub ? rec.dr_sp : rec.dr_p;
	in->ai_adkim = rec.dr_adkim;
	in->ai_aspf = rec.dr_aspf;
	in->ai_pct = rec.dr_pct;
}

/* preflight_p_value - the p= of a key record, without white space */

void
preflight_p_value(const char *txt, char *out, size_t size)
{
	const char *p = txt;
	size_t	o = 0;

	out[0] = '\0';
	while ((p = strstr(p, "p=")) != NULL &&
	    p != txt && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t')
		p += 2;
	if (p == NULL)
		return;
	for (p += 2; *p && *p != ';' && o + 1 < size; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			out[o++] = *p;
	out[o] = '\0';
}

/* preflight_key - is our public key published for this signature */

static enum align_key
preflight_key(struct preflight *pf, const struct txn_sig *ts)
{
	struct dns_answer ans;
	char	name[ADDR_DOMAIN_MAX + 80], pub[1024];
	enum align_key res = ALIGN_KEY_MISSING;
	size_t	i;

	if (!pf->pf_cf->cf_check_keys)
		return (ALIGN_KEY_UNCHECKED);
	snprintf(name, sizeof(name), "%s._domainkey.%s",
	    ts->ts_key->ck_selector, ts->ts_domain->cd_name);
	if (preflight_txt(pf, name, &ans) == DNS_TEMPFAIL)
		res = ALIGN_KEY_TEMPERROR;
	for (i = 0; ans.status == DNS_OK && i < ans.n; i++) {
		preflight_p_value(ans.txt[i], pub, sizeof(pub));
		if (strcmp(pub, ts->ts_key->ck_pub) == 0) {
			res = ALIGN_KEY_OK;
			break;
		}
		res = ALIGN_KEY_MISMATCH;
	}
	dns_answer_fini(&ans);
	return (res);
}

/* preflight_spf - SPF for the egress address, unless not configured */

static void
preflight_spf(struct preflight *pf, struct align_input *in)
{
	const struct cfg *cf = pf->pf_cf;
	struct txn *tx = pf->pf_tx;
	const char *sender = tx->t_sender ? tx->t_sender : "";
	const char *ip = tx->t_route ? tx->t_route->ce_ip : cf->cf_egress_ip;
	const char *helo = tx->t_route && tx->t_route->ce_helo ?
	    tx->t_route->ce_helo : cf->cf_helo;

	in->ai_spf_domain = tx->t_sender_domain[0] ? tx->t_sender_domain :
	    helo;
	if (in->ai_spf_domain != NULL)
		in->ai_spf_org = preflight_org(pf, in->ai_spf_domain,
		    pf->pf_spf_org);
	in->ai_ip = ip;
	if (!cf->cf_spf || ip == NULL || in->ai_spf_domain == NULL)
		in->ai_spf = ALIGN_SPF_UNCHECKED;
	else if (preflight_expired(pf))
		in->ai_spf = ALIGN_SPF_TEMPERROR;
	else
		in->ai_spf = spf_check(cf->cf_spf_server, ip, helo, sender);
}

/* preflight_action - what to do with a verdict (a CFG_VA_* value) */

static int
preflight_action(const struct txn *tx, const struct align_input *in)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	int	per_tenant = tx->t_tenant ? tx->t_tenant->ct_on_dmarc_fail : 0;

	switch (tx->t_align.ar_verdict) {
	case ALIGN_TEMPERROR:
		return (cf->cf_on_temperror);
	case ALIGN_FAIL:
		if (in->ai_p == ALIGN_P_NONE)
			return (CFG_VA_ACCEPT);
		return (per_tenant ? per_tenant - 1 : cf->cf_on_dmarc_fail);
	default:
		return (CFG_VA_ACCEPT);
	}
}

/* preflight_check - predict the verdict; refuse, hold, tag or go on */

enum verdict
preflight_check(struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	struct align_input in;
	struct preflight pf;
	size_t	i;

	memset(&in, 0, sizeof(in));
	memset(&pf, 0, sizeof(pf));
	pf.pf_tx = tx;
	pf.pf_cf = cf;
	clock_gettime(CLOCK_MONOTONIC, &pf.pf_deadline);
	pf.pf_deadline.tv_sec += cf->cf_dns_timeout_ms / 1000;
	pf.pf_deadline.tv_nsec += (long)(cf->cf_dns_timeout_ms % 1000) *
	    1000000L;
	if (pf.pf_deadline.tv_nsec >= 1000000000L)
		pf.pf_deadline.tv_sec++, pf.pf_deadline.tv_nsec -= 1000000000L;
	in.ai_from = tx->t_from_domain;
	in.ai_from_org = preflight_org(&pf, in.ai_from, pf.pf_from_org);
	preflight_dmarc(&pf, &in);
	for (i = 0; i < tx->t_nsigs && i < ALIGN_MAX_SIGS; i++) {
		in.ai_sigs[i].as_domain = tx->t_sigs[i].ts_domain->cd_name;
		in.ai_sigs[i].as_org = preflight_org(&pf,
		    in.ai_sigs[i].as_domain, pf.pf_sig_org[i]);
		in.ai_sigs[i].as_selector = tx->t_sigs[i].ts_key->ck_selector;
		in.ai_sigs[i].as_key = in.ai_record == 1 ?
		    preflight_key(&pf, &tx->t_sigs[i]) : ALIGN_KEY_UNCHECKED;
		in.ai_nsigs++;
	}
	preflight_spf(&pf, &in);
	align_evaluate(&in, &tx->t_align);
	tx->t_spf = in.ai_spf;
	tx->t_dmarc_policy = in.ai_record == 1 ? align_policy_name(in.ai_p) :
	    "-";
	switch (preflight_action(tx, &in)) {
	case CFG_VA_REJECT:
		return (txn_refuse(tx, CFG_ACT_REJECT, "5.7.26", "DMARC would "
		    "fail at the receiver (p=%s): %s", tx->t_dmarc_policy,
		    tx->t_align.ar_reason));
	case CFG_VA_TEMPFAIL:
		return (txn_refuse(tx, CFG_ACT_TEMPFAIL, tx->t_align.ar_verdict ==
		    ALIGN_TEMPERROR ? "4.4.3" : "4.7.26", "DMARC preflight: "
		    "%s", tx->t_align.ar_reason));
	case CFG_VA_HOLD:
		tx->t_hold = 1;
		break;
	case CFG_VA_TAG:
		tx->t_tag = 1;
		break;
	default:
		break;
	}
	return (VERDICT_CONTINUE);
}
