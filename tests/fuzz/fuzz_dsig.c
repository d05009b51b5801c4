/*
 * fuzz_dsig - the DKIM canonicalizer and signer (dsig.c) on any message
 *
 * Input: octet 0 picks the canonicalization (simple/relaxed for headers
 * and body), octet 1 seeds the body's chunking, the rest is a message:
 * header lines up to the first empty line (a line starting with space or
 * tab continues the previous header), then the body. The message is
 * signed twice with the same Ed25519 key at a fixed time, once with the
 * body in one dsig_body() call and once cut into chunks of 1-16 octets.
 * Ed25519 is deterministic, so the two DKIM-Signature headers must be the
 * same octets: a difference is a canonicalization state that depends on
 * where the MTA's chunks fall (the bug class dsig_test samples with
 * random bodies), and aborts. Crashes, leaks and sanitizer reports are
 * caught by libFuzzer.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "dsig.h"
#include "../unit/testkit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAXHDRS	64

static struct cfg *fz_cf[4];		/* simple/relaxed, header x body */

static void
fz_init(void)
{
	static const char *const canon[4] = {
		"simple/simple", "simple/relaxed", "relaxed/simple",
		"relaxed/relaxed"
	};
	char	text[512], err[CFG_ERRLEN];
	int	i;

	setenv("EGRESS_MILTER_FIXED_TIME", "1700000000", 1);
	tk_key("ed.key", "ed25519", 0);
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "milter: { user = \"nobody\"; };\n"
		    "signing: { canonicalization = \"%s\"; oversign = "
		    "[ \"from\", \"subject\" ]; };\n"
		    "domains = ( { name = \"example.com\"; keys = ( { "
		    "selector = \"sel\"; file = \"@D@/ed.key\"; } ); } );\n",
		    canon[i]);
		if ((fz_cf[i] = tk_cfg(text, CFG_LOAD_KEYS, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "fuzz_dsig: config: %s\n", err);
			abort();
		}
	}
}

/* fz_sign - one signature; chunk 0: the body in one call */

static char *
fz_sign(const struct cfg *cf, char **names, char **values, int nhdr,
    const unsigned char *body, size_t blen, unsigned seed)
{
	const struct key *key = CFG_KEY(CFG_DOMAIN(CFG_TENANT(cf, 0), 0),
	    0)->ck_key;
	struct dsig *sg;
	char   *out;
	size_t	off, n;
	int	i;

	if ((sg = dsig_begin(cf->cf_dsiglib, key, "example.com", "sel")) ==
	    NULL)
		return (NULL);
	for (i = 0; i < nhdr; i++)
		(void)dsig_header(sg, names[i], values[i]);
	(void)dsig_eoh(sg);
	if (seed == 0)
		(void)dsig_body(sg, body, blen);
	else
		for (off = 0; off < blen; off += n) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 16;
			if (n > blen - off)
				n = blen - off;
			(void)dsig_body(sg, body + off, n);
		}
	out = dsig_end(sg);
	dsig_free(sg);
	return (out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *names[FZ_MAXHDRS], *values[FZ_MAXHDRS], *msg, *p, *eol, *colon;
	char   *whole, *chunked;
	const unsigned char *body = (const unsigned char *)"";
	size_t	blen = 0;
	int	nhdr = 0, i;

	if (fz_cf[0] == NULL)
		fz_init();
	if (size < 2)
		return (0);
	if ((msg = malloc(size - 2 + 1)) == NULL)
		return (0);
	memcpy(msg, data + 2, size - 2);
	msg[size - 2] = '\0';

	/* header lines until an empty line; folds join the previous value */
	for (p = msg; *p != '\0'; p = eol + 1) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		if (p == eol || (*p == '\r' && p + 1 == eol)) {
			if (*eol == '\n') {
				body = (const unsigned char *)eol + 1;
				blen = size - 2 - (size_t)(eol + 1 - msg);
			}
			*p = '\0';	/* ends the last header's value */
			break;
		}
		if ((*p == ' ' || *p == '\t') && nhdr > 0) {
			if (*eol == '\0')
				break;
			continue;	/* stays inside the previous value */
		}
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL ||
		    nhdr == FZ_MAXHDRS) {
			if (*eol == '\0')
				break;
			continue;
		}
		*colon = '\0';
		names[nhdr] = p;
		values[nhdr] = colon + 1;
		nhdr++;
		if (*eol == '\0')
			break;
	}
	/* cut each value at the start of the next header's line */
	for (i = 0; i + 1 < nhdr; i++) {
		char   *end = names[i + 1] - 1;	/* its '\n' */

		if (*end == '\n')
			*end = '\0';
	}

	whole = fz_sign(fz_cf[data[0] & 3], names, values, nhdr, body, blen,
	    0);
	chunked = fz_sign(fz_cf[data[0] & 3], names, values, nhdr, body, blen,
	    1u + data[1]);
	if ((whole == NULL) != (chunked == NULL) ||
	    (whole != NULL && strcmp(whole, chunked) != 0)) {
		fprintf(stderr, "fuzz_dsig: body chunking changed the "
		    "signature\nwhole:   %s\nchunked: %s\n",
		    whole ? whole : "(null)", chunked ? chunked : "(null)");
		abort();
	}
	free(whole);
	free(chunked);
	free(msg);
	return (0);
}
