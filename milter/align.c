/*
 * NAME
 *	align - predict the receiver's DMARC verdict for an outbound message
 * SYNOPSIS
 *	#include "align.h"
 *
 *	int	align_domains(const char *a, const char *a_org, const char *b,
 *		    const char *b_org, enum align_mode mode);
 *	void	align_evaluate(const struct align_input *in,
 *		    struct align_result *out);
 *	const char *align_verdict_name(enum align_verdict v);
 *	const char *align_spf_name(enum align_spf r);
 *	const char *align_policy_name(enum align_policy p);
 * DESCRIPTION
 *	Pure logic, RFC 7489 section 3.1 and 4.2. align_domains() is
 *	identifier alignment: strict means equal domains, relaxed means equal
 *	organizational domains. align_evaluate() combines what the caller
 *	found out (the From domain's DMARC record, each signature we add and
 *	whether its public key is published, the SPF result of the envelope
 *	sender domain for the egress address) into the verdict a receiver
 *	would reach: pass when an aligned signature will verify or SPF
 *	passes for an aligned domain; none when the domain publishes no
 *	DMARC record; temperror when the answer depends on a lookup that
 *	failed; fail otherwise. The reason names what an admin must fix,
 *	e.g. "SPF of acme.example does not authorize 198.51.100.20 (fail)
 *	and no aligned DKIM signature".
 * OWNERSHIP
 *	Strings are borrowed from the caller; the result is written into
 *	the caller's structure.
 * DIAGNOSTICS
 *	None: every input has a verdict.
 * SEE ALSO
 *	dmarc(3), spf(3), psl(3), RFC 7489
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "align.h"

/* align_domains - identifier alignment, strict or relaxed */

int
align_domains(const char *a, const char *a_org, const char *b,
    const char *b_org, enum align_mode mode)
{
	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return (0);
	if (strcasecmp(a, b) == 0)
		return (1);
	return (mode == ALIGN_RELAXED && a_org != NULL && b_org != NULL &&
	    *a_org != '\0' && strcasecmp(a_org, b_org) == 0);
}

/* align_dkim - 1 aligned and verifiable, 0 not, -1 unknown; why not */

static int
align_dkim(const struct align_input *in, char *why, size_t size)
{
	const struct align_sig *s;
	int	unknown = 0;
	size_t	i;

	snprintf(why, size, "no DKIM signature aligned with %s%s", in->ai_from,
	    in->ai_adkim == ALIGN_STRICT ? " (adkim=s)" : "");
	for (i = 0; i < in->ai_nsigs; i++) {
		s = &in->ai_sigs[i];
		if (!align_domains(s->as_domain, s->as_org, in->ai_from,
		    in->ai_from_org, in->ai_adkim))
			continue;
		if (s->as_key == ALIGN_KEY_OK || s->as_key == ALIGN_KEY_UNCHECKED)
			return (1);
		if (s->as_key == ALIGN_KEY_TEMPERROR)
			unknown = 1;
		else
			snprintf(why, size, "DKIM key %s._domainkey.%s is %s",
			    s->as_selector, s->as_domain, s->as_key ==
			    ALIGN_KEY_MISSING ? "not published" :
			    "published with a different public key");
	}
	if (unknown)
		snprintf(why, size, "DKIM key lookup failed");
	return (unknown ? -1 : 0);
}

/* align_spf - 1 aligned pass, 0 not, -1 unknown; why not */

static int
align_spf(const struct align_input *in, char *why, size_t size)
{
	const char *d = in->ai_spf_domain ? in->ai_spf_domain : "";

	switch (in->ai_spf) {
	case ALIGN_SPF_UNCHECKED:
		snprintf(why, size, "SPF not checked (no egress address)");
		return (0);
	case ALIGN_SPF_TEMPERROR:
		snprintf(why, size, "SPF lookup for %s failed", d);
		return (-1);
	case ALIGN_SPF_PASS:
		if (align_domains(d, in->ai_spf_org, in->ai_from,
		    in->ai_from_org, in->ai_aspf))
			return (1);
		snprintf(why, size, "SPF passes for %s, which is not aligned "
		    "with %s%s", d, in->ai_from, in->ai_aspf == ALIGN_STRICT ?
		    " (aspf=s)" : "");
		return (0);
	case ALIGN_SPF_NONE:
		snprintf(why, size, "%s publishes no SPF record", d);
		return (0);
	default:
		snprintf(why, size, "SPF of %s does not authorize %s (%s)", d,
		    in->ai_ip ? in->ai_ip : "the egress address",
		    align_spf_name(in->ai_spf));
		return (0);
	}
}

/* align_evaluate - the verdict a DMARC receiver would reach */

void
align_evaluate(const struct align_input *in, struct align_result *out)
{
	char	dwhy[150], swhy[150];
	int	dkim, spf;

	memset(out, 0, sizeof(*out));
	dkim = align_dkim(in, dwhy, sizeof(dwhy));
	spf = align_spf(in, swhy, sizeof(swhy));
	out->ar_dkim = dkim == 1;
	out->ar_spf = spf == 1;
	if (in->ai_record < 0) {
		out->ar_verdict = ALIGN_TEMPERROR;
		snprintf(out->ar_reason, sizeof(out->ar_reason),
		    "DMARC record lookup for %s failed", in->ai_from);
	} else if (dkim == 1 || spf == 1) {
		out->ar_verdict = in->ai_record ? ALIGN_PASS : ALIGN_NONE;
		snprintf(out->ar_reason, sizeof(out->ar_reason), "%s%s%s",
		    dkim == 1 ? "aligned DKIM" : "", dkim == 1 && spf == 1 ?
		    " and " : "", spf == 1 ? "aligned SPF" : "");
	} else if (in->ai_record == 0) {
		out->ar_verdict = ALIGN_NONE;
		snprintf(out->ar_reason, sizeof(out->ar_reason),
		    "%s publishes no DMARC record", in->ai_from);
	} else {
		out->ar_verdict = dkim < 0 || spf < 0 ? ALIGN_TEMPERROR :
		    ALIGN_FAIL;
		snprintf(out->ar_reason, sizeof(out->ar_reason), "%s and %s",
		    swhy, dwhy);
	}
}

/* align_verdict_name - for logs and headers */

const char *
align_verdict_name(enum align_verdict v)
{
	static const char *const names[] = {"none", "pass", "fail",
	"temperror"};

	return (names[v]);
}

/* align_spf_name - RFC 7208 result names */

const char *
align_spf_name(enum align_spf r)
{
	static const char *const names[] = {"unchecked", "none", "neutral",
	"pass", "fail", "softfail", "temperror", "permerror"};

	return (names[r]);
}

/* align_policy_name - p= values */

const char *
align_policy_name(enum align_policy p)
{
	static const char *const names[] = {"none", "quarantine", "reject"};

	return (names[p]);
}
