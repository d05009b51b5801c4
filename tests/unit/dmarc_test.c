/*
 * NAME
 *	dmarc_test - tests for dmarc(3): which TXT strings are DMARC records,
 *	and the policy libopendmarc reads from them
 * SYNOPSIS
 *	dmarc_test
 * DESCRIPTION
 *	dmarc_is_record() against the RFC 7489 rules for the version tag
 *	(section 6.4 ABNF: the tag name is case-insensitive, "DMARC1" is
 *	not). dmarc_parse() against a table of records: defaults (sp from p,
 *	relaxed modes, pct 100), the records libopendmarc refuses (no p, an
 *	unknown p, pct over 100, another version), its lenient prefixes
 *	("p=r"), whitespace and case, unknown tags, and the shapes the
 *	fuzzers reached in libopendmarc's parser: an rf item of exactly its
 *	32-octet buffer (an off-by-one in upstream 1.4.2, patched in Debian),
 *	a value past its 512-octet buffer, "rf=iodef" (which libopendmarc
 *	ORs into aspf) and a record longer than its 8 KiB copy. For those
 *	the result must be defined and every field one of ours.
 * OWNERSHIP
 *	Strings are built on the stack.
 * DIAGNOSTICS
 *	Exit status 0 when every check passes, 1 otherwise.
 * SEE ALSO
 *	dmarc(3), tap(3), RFC 7489
 */
#include <string.h>

#include "align.h"
#include "dmarc.h"
#include "tap.h"

#define R	ALIGN_P_REJECT
#define Q	ALIGN_P_QUARANTINE
#define N	ALIGN_P_NONE
#define S	ALIGN_STRICT
#define L	ALIGN_RELAXED

struct rec_case {
	const char	*label;
	const char	*txt;
	int		 rc;
	enum align_policy p, sp;
	enum align_mode	 adkim, aspf;
	int		 pct;
};

static const struct rec_case rec_cases[] = {
	{"p alone: sp from p, relaxed, pct 100", "v=DMARC1; p=reject",
	    0, R, R, L, L, 100},
	{"every tag we read", "v=DMARC1; p=quarantine; sp=none; adkim=s; "
	    "aspf=s; pct=25", 0, Q, N, S, S, 25},
	{"p=none", "v=DMARC1; p=none", 0, N, N, L, L, 100},
	{"explicit relaxed", "v=DMARC1; p=none; adkim=r; aspf=relaxed",
	    0, N, N, L, L, 100},
	{"pct=0", "v=DMARC1; p=reject; pct=0", 0, R, R, L, L, 0},
	{"report tags do not change the policy", "v=DMARC1; p=reject; "
	    "rua=mailto:d@example.com,mailto:e@example.net!10m; "
	    "ruf=mailto:f@example.com; fo=1:d:s; rf=afrf; ri=3600",
	    0, R, R, L, L, 100},
	{"unknown and DMARCbis tags ignored", "v=DMARC1; p=reject; np=none; "
	    "psd=y; t=n; x-vendor=1", 0, R, R, L, L, 100},
	{"lenient prefixes (libopendmarc)", "v=DMARC1;p=r;sp=q;adkim=s",
	    0, R, Q, S, L, 100},
	{"whitespace and case", " v = DMARC1 ;  P = Reject ; ADKIM = S ; ",
	    0, R, R, S, L, 100},
	{"rf=iodef leaves aspf relaxed", "v=DMARC1; p=reject; rf=iodef",
	    0, R, R, L, L, 100},
	{"rf=iodef after aspf=s keeps it strict",
	    "v=DMARC1; p=reject; aspf=s; rf=iodef", 0, R, R, L, S, 100},
	{"no p", "v=DMARC1; sp=reject", -1, N, N, L, L, 0},
	{"unknown p", "v=DMARC1; p=bogus", -1, N, N, L, L, 0},
	{"pct over 100", "v=DMARC1; p=reject; pct=101", -1, N, N, L, L, 0},
	{"another version", "v=DMARC2; p=reject", -1, N, N, L, L, 0},
	{"empty", "", -1, N, N, L, L, 0},
};

struct is_case {
	const char	*txt;
	int		 want;
};

static const struct is_case is_cases[] = {
	{"v=DMARC1; p=none", 1},
	{"v=DMARC1", 1},
	{" v = DMARC1 ;p=none", 1},
	{"\tv=DMARC1\t; p=none", 1},
	{"V=DMARC1; p=none", 1},
	{"v=DMARC10; p=none", 0},
	{"v=dmarc1; p=none", 0},
	{"v=spf1 -all", 0},
	{"p=reject; v=DMARC1", 0},
	{"v DMARC1", 0},
	{"", 0},
};

/* sane - every field of an accepted record is one of ours */

static int
sane(const struct dmarc_record *r)
{
	return ((r->dr_p == R || r->dr_p == Q || r->dr_p == N) &&
	    (r->dr_sp == R || r->dr_sp == Q || r->dr_sp == N) &&
	    (r->dr_adkim == S || r->dr_adkim == L) &&
	    (r->dr_aspf == S || r->dr_aspf == L) &&
	    r->dr_pct >= 0 && r->dr_pct <= 100);
}

/* test_limits - the fuzzers' shapes: a defined result, sane fields */

static void
test_limits(void)
{
	struct dmarc_record r;
	char	txt[20000];
	size_t	n;
	int	rc;

	n = (size_t)snprintf(txt, sizeof(txt), "v=DMARC1; p=reject; rf=");
	memset(txt + n, 'a', 32);
	txt[n + 32] = '\0';
	TAP_OK(dmarc_parse(txt, "example.com", "example.com", &r) == -1,
	    "an rf item of 32 octets is a bad value");

	n = (size_t)snprintf(txt, sizeof(txt), "v=DMARC1; p=reject; pct=");
	memset(txt + n, '5', 600);
	txt[n + 600] = '\0';
	memset(&r, 0, sizeof(r));
	rc = dmarc_parse(txt, "example.com", "example.com", &r);
	TAP_OK(rc == -1 || (rc == 0 && r.dr_p == R && sane(&r)),
	    "a 600-octet value: rc %d, fields sane", rc);

	n = (size_t)snprintf(txt, sizeof(txt), "v=DMARC1; p=reject");
	while (n + 8 < sizeof(txt) - 1)
		n += (size_t)snprintf(txt + n, sizeof(txt) - n, "; x=yyy");
	memset(&r, 0, sizeof(r));
	rc = dmarc_parse(txt, "example.com", "example.com", &r);
	TAP_OK(rc == 0 && r.dr_p == R && sane(&r),
	    "a %zu-octet record (past libopendmarc's 8 KiB copy): rc %d",
	    n, rc);
}

int
main(void)
{
	struct dmarc_record r;
	const struct rec_case *c;
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(is_cases) / sizeof(is_cases[0]); i++)
		TAP_OK(dmarc_is_record(is_cases[i].txt) == is_cases[i].want,
		    "dmarc_is_record(\"%s\") is %d", is_cases[i].txt,
		    is_cases[i].want);
	for (i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		c = &rec_cases[i];
		memset(&r, 0xa5, sizeof(r));
		rc = dmarc_parse(c->txt, "mail.example.com", "example.com", &r);
		if (c->rc != 0) {
			TAP_OK(rc == c->rc, "%s: rc %d", c->label, rc);
			continue;
		}
		TAP_OK(rc == 0 && r.dr_p == c->p && r.dr_sp == c->sp &&
		    r.dr_adkim == c->adkim && r.dr_aspf == c->aspf &&
		    r.dr_pct == c->pct, "%s: rc %d p %d sp %d adkim %d "
		    "aspf %d pct %d", c->label, rc, (int)r.dr_p, (int)r.dr_sp,
		    (int)r.dr_adkim, (int)r.dr_aspf, r.dr_pct);
	}
	test_limits();
	return (tap_done());
}
