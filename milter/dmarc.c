/*
 * NAME
 *	dmarc - parse a DMARC policy record with libopendmarc
 * SYNOPSIS
 *	#include "dmarc.h"
 *
 *	int	dmarc_is_record(const char *txt);
 *	int	dmarc_parse(const char *txt, const char *domain,
 *		    const char *org, struct dmarc_record *rec);
 * DESCRIPTION
 *	The only file that includes <opendmarc/dmarc.h>. The TXT lookup
 *	itself is ours (dns(3): cached by TTL, bounded in time);
 *	libopendmarc validates and parses the record. dmarc_is_record()
 *	tells whether a TXT string is a DMARC record at all ("v=DMARC1"
 *	first, RFC 7489 section 6.6.3; "V" too, as the ABNF reads).
 *	dmarc_parse() fills rec with p, sp (p when absent), adkim and aspf
 *	(relaxed when absent) and pct (100 when absent); domain is where
 *	the record was found, org the From domain's organizational domain.
 * OWNERSHIP
 *	Nothing is kept: a policy context lives only inside dmarc_parse().
 * DIAGNOSTICS
 *	dmarc_parse() returns -1 when libopendmarc rejects the record (a
 *	receiver then applies no policy) and 0 otherwise.
 * SEE ALSO
 *	align(3), dns(3), RFC 7489
 */
#include "config.h"

#include <string.h>

#include <opendmarc/dmarc.h>

#include "dmarc.h"

/* dmarc_is_record - "v=DMARC1" as the first tag */

int
dmarc_is_record(const char *txt)
{
	while (*txt == ' ' || *txt == '\t')
		txt++;
	/* an ABNF literal: the tag name is case-insensitive, DMARC1 not */
	if (*txt != 'v' && *txt != 'V')
		return (0);
	txt++;
	while (*txt == ' ' || *txt == '\t')
		txt++;
	if (*txt++ != '=')
		return (0);
	while (*txt == ' ' || *txt == '\t')
		txt++;
	return (strncmp(txt, "DMARC1", 6) == 0 &&
	    (txt[6] == '\0' || txt[6] == ';' || txt[6] == ' ' ||
	    txt[6] == '\t'));
}

/* dmarc_policy - libopendmarc's p/sp letter to ours */

static enum align_policy
dmarc_policy(int p)
{
	switch (p) {
	case DMARC_RECORD_P_REJECT:
		return (ALIGN_P_REJECT);
	case DMARC_RECORD_P_QUARANTINE:
		return (ALIGN_P_QUARANTINE);
	default:
		return (ALIGN_P_NONE);
	}
}

/* dmarc_parse - the policy of one record */

int
dmarc_parse(const char *txt, const char *domain, const char *org,
    struct dmarc_record *rec)
{
	DMARC_POLICY_T *pctx;
	int	p = 0, sp = 0, adkim = 0, aspf = 0, pct = 100, rc = -1;

	pctx = opendmarc_policy_connect_init((u_char *)"127.0.0.1",
	    DMARC_POLICY_IP_TYPE_IPV4);
	if (pctx == NULL)
		return (-1);
	if (opendmarc_policy_store_dmarc(pctx, (u_char *)txt,
	    (u_char *)domain, (u_char *)org) == DMARC_PARSE_OKAY &&
	    opendmarc_policy_fetch_p(pctx, &p) == DMARC_PARSE_OKAY) {
		(void)opendmarc_policy_fetch_sp(pctx, &sp);
		(void)opendmarc_policy_fetch_adkim(pctx, &adkim);
		(void)opendmarc_policy_fetch_aspf(pctx, &aspf);
		(void)opendmarc_policy_fetch_pct(pctx, &pct);
		rec->dr_p = dmarc_policy(p);
		rec->dr_sp = sp == DMARC_RECORD_P_UNSPECIFIED ? rec->dr_p :
		    dmarc_policy(sp);
		rec->dr_adkim = adkim == DMARC_RECORD_A_STRICT ? ALIGN_STRICT :
		    ALIGN_RELAXED;
		rec->dr_aspf = aspf == DMARC_RECORD_A_STRICT ? ALIGN_STRICT :
		    ALIGN_RELAXED;
		rec->dr_pct = pct;
		rc = p == DMARC_RECORD_P_UNSPECIFIED ? -1 : 0;
	}
	(void)opendmarc_policy_connect_shutdown(pctx);
	return (rc);
}
