/* align_test - the predicted DMARC verdict, row by row (RFC 7489) */
#include "config.h"

#include <string.h>

#include "align.h"
#include "tap.h"

#define S	ALIGN_STRICT
#define R	ALIGN_RELAXED

static const struct row {
	const char *label;
	const char *from, *from_org;
	int	record;
	enum align_policy p;
	enum align_mode adkim, aspf;
	const char *d, *d_org;		/* one signature */
	enum align_key key;
	const char *spf_dom, *spf_org;
	enum align_spf spf;
	enum align_verdict want;
	const char *why;		/* substring of the reason */
} rows[] = {
	{"aligned DKIM, relaxed, exact domain", "acme.example", "acme.example",
	1, ALIGN_P_REJECT, R, R, "acme.example", "acme.example", ALIGN_KEY_OK,
	"acme.example", "acme.example", ALIGN_SPF_FAIL, ALIGN_PASS,
	"aligned DKIM"},
	{"relaxed DKIM: parent d= aligns with subdomain From",
	"news.acme.example", "acme.example", 1, ALIGN_P_REJECT, R, R,
	"acme.example", "acme.example", ALIGN_KEY_OK, NULL, NULL,
	ALIGN_SPF_UNCHECKED, ALIGN_PASS, "aligned DKIM"},
	{"strict DKIM: parent d= does not align with subdomain From",
	"news.acme.example", "acme.example", 1, ALIGN_P_REJECT, S, R,
	"acme.example", "acme.example", ALIGN_KEY_OK, "acme.example",
	"acme.example", ALIGN_SPF_FAIL, ALIGN_FAIL, "(adkim=s)"},
	{"strict DKIM fails but relaxed SPF passes", "news.acme.example",
	"acme.example", 1, ALIGN_P_REJECT, S, R, "acme.example",
	"acme.example", ALIGN_KEY_OK, "bounce.acme.example", "acme.example",
	ALIGN_SPF_PASS, ALIGN_PASS, "aligned SPF"},
	{"strict SPF: subdomain envelope does not align", "acme.example",
	"acme.example", 1, ALIGN_P_REJECT, S, S, "other.example",
	"other.example", ALIGN_KEY_OK, "bounce.acme.example", "acme.example",
	ALIGN_SPF_PASS, ALIGN_FAIL, "not aligned with acme.example (aspf=s)"},
	{"SPF fail and no aligned DKIM names the egress address",
	"acme.example", "acme.example", 1, ALIGN_P_REJECT, R, R,
	"provider.example", "provider.example", ALIGN_KEY_OK, "acme.example",
	"acme.example", ALIGN_SPF_FAIL, ALIGN_FAIL,
	"SPF of acme.example does not authorize 198.51.100.20 (fail)"},
	{"softfail is not pass", "acme.example", "acme.example", 1,
	ALIGN_P_QUARANTINE, R, R, NULL, NULL, ALIGN_KEY_OK, "acme.example",
	"acme.example", ALIGN_SPF_SOFTFAIL, ALIGN_FAIL, "(softfail)"},
	{"aligned key not published", "acme.example", "acme.example", 1,
	ALIGN_P_REJECT, R, R, "acme.example", "acme.example",
	ALIGN_KEY_MISSING, "acme.example", "acme.example", ALIGN_SPF_FAIL,
	ALIGN_FAIL, "DKIM key sel._domainkey.acme.example is not published"},
	{"aligned key published with another key", "acme.example",
	"acme.example", 1, ALIGN_P_REJECT, R, R, "acme.example",
	"acme.example", ALIGN_KEY_MISMATCH, NULL, NULL, ALIGN_SPF_UNCHECKED,
	ALIGN_FAIL, "different public key"},
	{"key lookup failed, SPF fails: temperror", "acme.example",
	"acme.example", 1, ALIGN_P_REJECT, R, R, "acme.example",
	"acme.example", ALIGN_KEY_TEMPERROR, "acme.example", "acme.example",
	ALIGN_SPF_FAIL, ALIGN_TEMPERROR, "DKIM key lookup failed"},
	{"key lookup failed but SPF passes aligned: pass", "acme.example",
	"acme.example", 1, ALIGN_P_REJECT, R, R, "acme.example",
	"acme.example", ALIGN_KEY_TEMPERROR, "acme.example", "acme.example",
	ALIGN_SPF_PASS, ALIGN_PASS, "aligned SPF"},
	{"SPF temperror and no aligned DKIM: temperror", "acme.example",
	"acme.example", 1, ALIGN_P_REJECT, R, R, "x.example", "x.example",
	ALIGN_KEY_OK, "acme.example", "acme.example", ALIGN_SPF_TEMPERROR,
	ALIGN_TEMPERROR, "SPF lookup for acme.example failed"},
	{"DMARC record lookup failed: temperror, never pass", "acme.example",
	"acme.example", -1, ALIGN_P_NONE, R, R, "acme.example",
	"acme.example", ALIGN_KEY_OK, NULL, NULL, ALIGN_SPF_UNCHECKED,
	ALIGN_TEMPERROR, "DMARC record lookup for acme.example failed"},
	{"no DMARC record: none", "acme.example", "acme.example", 0,
	ALIGN_P_NONE, R, R, "x.example", "x.example", ALIGN_KEY_OK, NULL,
	NULL, ALIGN_SPF_UNCHECKED, ALIGN_NONE, "publishes no DMARC record"},
	{"public-suffix edge: same org only through the suffix list",
	"shop.example.co.uk", "example.co.uk", 1, ALIGN_P_REJECT, R, R,
	"example.co.uk", "example.co.uk", ALIGN_KEY_OK, NULL, NULL,
	ALIGN_SPF_UNCHECKED, ALIGN_PASS, "aligned DKIM"},
	{"public-suffix edge: sibling registrations never align",
	"a.co.uk", "a.co.uk", 1, ALIGN_P_REJECT, R, R, "b.co.uk", "b.co.uk",
	ALIGN_KEY_OK, NULL, NULL, ALIGN_SPF_UNCHECKED, ALIGN_FAIL,
	"no DKIM signature aligned with a.co.uk"},
	{"no signature and no SPF check", "acme.example", "acme.example", 1,
	ALIGN_P_REJECT, R, R, NULL, NULL, ALIGN_KEY_OK, NULL, NULL,
	ALIGN_SPF_UNCHECKED, ALIGN_FAIL, "SPF not checked"},
};

int
main(void)
{
	struct align_input in;
	struct align_result out;
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		memset(&in, 0, sizeof(in));
		in.ai_from = r->from;
		in.ai_from_org = r->from_org;
		in.ai_record = r->record;
		in.ai_p = r->p;
		in.ai_adkim = r->adkim;
		in.ai_aspf = r->aspf;
		in.ai_pct = 100;
		in.ai_ip = "198.51.100.20";
		in.ai_spf_domain = r->spf_dom;
		in.ai_spf_org = r->spf_org;
		in.ai_spf = r->spf;
		if (r->d != NULL) {
			in.ai_sigs[0].as_domain = r->d;
			in.ai_sigs[0].as_org = r->d_org;
			in.ai_sigs[0].as_selector = "sel";
			in.ai_sigs[0].as_key = r->key;
			in.ai_nsigs = 1;
		}
		align_evaluate(&in, &out);
		TAP_OK(out.ar_verdict == r->want &&
		    strstr(out.ar_reason, r->why) != NULL, "%s: %s (%s)",
		    r->label, align_verdict_name(out.ar_verdict),
		    out.ar_reason);
	}
	TAP_OK(align_domains("a.example", "a.example", "A.EXAMPLE",
	    "a.example", ALIGN_STRICT), "strict alignment ignores case");
	TAP_OK(!align_domains("", "", "", "", ALIGN_RELAXED),
	    "empty domains never align");
	return (tap_done());
}
