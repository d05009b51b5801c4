/*
 * NAME
 *	sign - DKIM signatures with libopendkim
 * SYNOPSIS
 *	#include "sign.h"
 *
 *	struct sign_lib *sign_lib_new(const struct cfg *cf, char *err,
 *		    size_t errlen);
 *	void	sign_lib_free(struct sign_lib *lib);
 *	struct signer *sign_begin(struct sign_lib *lib,
 *		    const struct key *key, const char *domain,
 *		    const char *selector, const char *id);
 *	int	sign_header(struct signer *sg, const char *name,
 *		    const char *value);
 *	int	sign_eoh(struct signer *sg);
 *	int	sign_body(struct signer *sg, const unsigned char *buf,
 *		    size_t len);
 *	char   *sign_end(struct signer *sg);
 *	const char *sign_error(const struct signer *sg);
 *	void	sign_free(struct signer *sg);
 * DESCRIPTION
 *	The only file that includes <opendkim/dkim.h>. A sign_lib is one
 *	DKIM_LIB configured from a config snapshot (signed and oversigned
 *	header lists, canonicalization, signature lifetime); it is shared
 *	read-only by all threads. A signer is one signature of one message:
 *	sign_begin() with a key, then every header ("Name" and the value as
 *	received, leading space included), sign_eoh(), the body in chunks,
 *	and sign_end(), which returns the DKIM-Signature header value.
 *
 *	Lines may end in LF or CRLF: the library is told to fix bare LFs.
 *	Setting EGRESS_MILTER_FIXED_TIME (seconds since the epoch) in the
 *	environment fixes the t= of every signature, for reproducible tests.
 * OWNERSHIP
 *	sign_end() returns a malloc()ed copy that the caller frees; the
 *	library's own buffer dies with the signer. sign_free() accepts NULL.
 *	The key is borrowed from the config snapshot, which outlives the
 *	message.
 * DIAGNOSTICS
 *	sign_begin() returns NULL when memory runs out or the library
 *	refuses the key. Other functions return -1 (or NULL) and leave a
 *	reason for sign_error(). Nothing here logs or exits.
 * SEE ALSO
 *	keys(3), txn(3), RFC 6376, RFC 8463
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "cfg.h"
#include "keys.h"
#include "sign.h"
#include "xalloc.h"

struct sign_lib {
	DKIM_LIB *sl_lib;
	const char **sl_hdrs;		/* NULL-terminated copies */
	const char **sl_over;
	dkim_canon_t sl_canon_hdr;
	dkim_canon_t sl_canon_body;
};

struct signer {
	DKIM	*sg_dkim;
	char	sg_err[160];
};

/* sign_strv - a NULL-terminated array view of a string list */

static const char **
sign_strv(const struct cfg_strlist *l)
{
	const char **v = xcalloc(l->n + 1, sizeof(*v));
	size_t	i;

	for (i = 0; i < l->n; i++)
		v[i] = l->v[i];
	return (v);
}

/* sign_lib_opt - set one library option, 0 or -1 */

static int
sign_lib_opt(struct sign_lib *sl, dkim_opts_t opt, void *val, size_t len)
{
	return (dkim_options(sl->sl_lib, DKIM_OP_SETOPT, opt, val, len) ==
	    DKIM_STAT_OK ? 0 : -1);
}

/* sign_lib_new - one configured library handle for a snapshot */

struct sign_lib *
sign_lib_new(const struct cfg *cf, char *err, size_t errlen)
{
	struct sign_lib *sl = xcalloc(1, sizeof(*sl));
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
	uint64_t ttl = (uint64_t)cf->cf_expire, fixed;
	const char *env = getenv("EGRESS_MILTER_FIXED_TIME");

	if ((sl->sl_lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		free(sl);
		return (NULL);
	}
	sl->sl_hdrs = sign_strv(&cf->cf_sign_headers);
	sl->sl_over = sign_strv(&cf->cf_oversign);
	sl->sl_canon_hdr = cf->cf_canon_hdr == CFG_CANON_RELAXED ?
	    DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	sl->sl_canon_body = cf->cf_canon_body == CFG_CANON_RELAXED ?
	    DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	if (sign_lib_opt(sl, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) ||
	    sign_lib_opt(sl, DKIM_OPTS_SIGNHDRS, sl->sl_hdrs,
	    sizeof(char **)) ||
	    sign_lib_opt(sl, DKIM_OPTS_OVERSIGNHDRS, sl->sl_over,
	    sizeof(char **)) ||
	    (ttl && sign_lib_opt(sl, DKIM_OPTS_SIGNATURETTL, &ttl,
	    sizeof(ttl)))) {
		snprintf(err, errlen, "libopendkim refused an option");
		sign_lib_free(sl);
		return (NULL);
	}
	if (env != NULL && (fixed = strtoull(env, NULL, 10)) != 0 &&
	    sign_lib_opt(sl, DKIM_OPTS_FIXEDTIME, &fixed, sizeof(fixed))) {
		snprintf(err, errlen, "libopendkim refused FIXEDTIME");
		sign_lib_free(sl);
		return (NULL);
	}
	return (sl);
}

/* sign_lib_free - close the library handle */

void
sign_lib_free(struct sign_lib *sl)
{
	if (sl == NULL)
		return;
	if (sl->sl_lib != NULL)
		dkim_close(sl->sl_lib);
	free(sl->sl_hdrs);
	free(sl->sl_over);
	free(sl);
}

/* sign_fail - keep a reason, return -1 */

static int
sign_fail(struct signer *sg, const char *what, DKIM_STAT st)
{
	const char *detail = sg->sg_dkim ? dkim_geterror(sg->sg_dkim) : NULL;

	snprintf(sg->sg_err, sizeof(sg->sg_err), "%s: %s%s%s", what,
	    dkim_getresultstr(st), detail && *detail ? ": " : "",
	    detail ? detail : "");
	return (-1);
}

/* sign_begin - a new signature for one message */

struct signer *
sign_begin(struct sign_lib *sl, const struct key *key, const char *domain,
    const char *selector, const char *id)
{
	struct signer *sg;
	DKIM_STAT st;

	if ((sg = calloc(1, sizeof(*sg))) == NULL)
		return (NULL);
	sg->sg_dkim = dkim_sign(sl->sl_lib, (const unsigned char *)id, NULL,
	    (dkim_sigkey_t)key->k_pem, (const unsigned char *)selector,
	    (const unsigned char *)domain, sl->sl_canon_hdr,
	    sl->sl_canon_body, key->k_alg == KEY_ALG_ED25519 ?
	    DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
	if (sg->sg_dkim == NULL) {
		free(sg);
		return (NULL);
	}
	/*
	 * With simple header canonicalization the signature header is hashed
	 * as written, folding included; libopendkim folds the header it
	 * hashes and the one it returns at different places when b= is short
	 * (Ed25519), so verifiers fail. One unfolded line avoids that.
	 */
	if (sl->sl_canon_hdr == DKIM_CANON_SIMPLE &&
	    dkim_set_margin(sg->sg_dkim, 0) != DKIM_STAT_OK) {
		sign_free(sg);
		return (NULL);
	}
	return (sg);
}

/* sign_header - feed "Name:value" (value as received) */

int
sign_header(struct signer *sg, const char *name, const char *value)
{
	size_t	nl = strlen(name), vl = strlen(value);
	unsigned char *buf;
	DKIM_STAT st;

	if ((buf = malloc(nl + vl + 2)) == NULL) {
		snprintf(sg->sg_err, sizeof(sg->sg_err), "out of memory");
		return (-1);
	}
	memcpy(buf, name, nl);
	buf[nl] = ':';
	memcpy(buf + nl + 1, value, vl + 1);
	st = dkim_header(sg->sg_dkim, buf, nl + 1 + vl);
	free(buf);
	return (st == DKIM_STAT_OK ? 0 : sign_fail(sg, "header", st));
}

/* sign_eoh - end of headers */

int
sign_eoh(struct signer *sg)
{
	DKIM_STAT st = dkim_eoh(sg->sg_dkim);

	return (st == DKIM_STAT_OK ? 0 : sign_fail(sg, "end of headers", st));
}

/* sign_body - one body chunk */

int
sign_body(struct signer *sg, const unsigned char *buf, size_t len)
{
	DKIM_STAT st = dkim_body(sg->sg_dkim, (unsigned char *)buf, len);

	return (st == DKIM_STAT_OK ? 0 : sign_fail(sg, "body", st));
}

/* sign_end - finish and return a copy of the header value */

char *
sign_end(struct signer *sg)
{
	unsigned char *hdr = NULL;
	size_t	len = 0;
	char   *copy;
	DKIM_STAT st;

	if ((st = dkim_eom(sg->sg_dkim, NULL)) != DKIM_STAT_OK) {
		sign_fail(sg, "end of message", st);
		return (NULL);
	}
	st = dkim_getsighdr_d(sg->sg_dkim, strlen(SIGN_HEADER) + 2, &hdr, &len);
	if (st != DKIM_STAT_OK) {
		sign_fail(sg, "signature header", st);
		return (NULL);
	}
	if ((copy = strndup((const char *)hdr, len)) == NULL)
		snprintf(sg->sg_err, sizeof(sg->sg_err), "out of memory");
	return (copy);
}

/* sign_error - the last reason */

const char *
sign_error(const struct signer *sg)
{
	return (sg->sg_err[0] ? sg->sg_err : "unknown signing error");
}

/* sign_free - free one signature's state */

void
sign_free(struct signer *sg)
{
	if (sg == NULL)
		return;
	if (sg->sg_dkim != NULL)
		dkim_free(sg->sg_dkim);
	free(sg);
}
