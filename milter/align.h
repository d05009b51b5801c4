#ifndef ALIGN_H
#define ALIGN_H

#include <stddef.h>

#define ALIGN_MAX_SIGS	8

enum align_mode {
	ALIGN_RELAXED,
	ALIGN_STRICT
};

enum align_policy {
	ALIGN_P_NONE,
	ALIGN_P_QUARANTINE,
	ALIGN_P_REJECT
};

enum align_verdict {
	ALIGN_NONE,			/* no DMARC record: nothing enforced */
	ALIGN_PASS,
	ALIGN_FAIL,
	ALIGN_TEMPERROR			/* a lookup failed: unknown, not pass */
};

enum align_spf {			/* RFC 7208 results */
	ALIGN_SPF_UNCHECKED,		/* no egress address configured */
	ALIGN_SPF_NONE,
	ALIGN_SPF_NEUTRAL,
	ALIGN_SPF_PASS,
	ALIGN_SPF_FAIL,
	ALIGN_SPF_SOFTFAIL,
	ALIGN_SPF_TEMPERROR,
	ALIGN_SPF_PERMERROR
};

enum align_key {			/* our public key in DNS */
	ALIGN_KEY_OK,			/* published and matching */
	ALIGN_KEY_UNCHECKED,		/* assumed published */
	ALIGN_KEY_MISSING,
	ALIGN_KEY_MISMATCH,
	ALIGN_KEY_TEMPERROR
};

struct align_sig {
	const char *as_domain;		/* d= */
	const char *as_org;		/* its organizational domain */
	const char *as_selector;
	enum align_key as_key;
};

struct align_input {
	const char *ai_from;		/* From domain and its org domain */
	const char *ai_from_org;
	int	ai_record;		/* 1 found, 0 none, -1 temperror */
	enum align_policy ai_p;		/* effective: sp for a subdomain */
	enum align_mode ai_adkim;
	enum align_mode ai_aspf;
	int	ai_pct;
	const char *ai_spf_domain;	/* MAIL FROM domain, or HELO for <> */
	const char *ai_spf_org;
	const char *ai_ip;		/* egress address, for reasons */
	enum align_spf ai_spf;
	struct align_sig ai_sigs[ALIGN_MAX_SIGS];
	size_t	ai_nsigs;
};

struct align_result {
	enum align_verdict ar_verdict;
	int	ar_dkim;		/* an aligned signature will verify */
	int	ar_spf;			/* SPF passes and is aligned */
	char	ar_reason[320];
};

int	align_domains(const char *a, const char *a_org, const char *b,
	    const char *b_org, enum align_mode mode);
void	align_evaluate(const struct align_input *in, struct align_result *out);
const char *align_verdict_name(enum align_verdict v);
const char *align_spf_name(enum align_spf r);
const char *align_policy_name(enum align_policy p);

#endif
