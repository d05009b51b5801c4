/*
 * NAME
 *	dsig - DKIM signatures made here, with keys parsed once
 * SYNOPSIS
 *	#include "dsig.h"
 *
 *	struct dsig_lib *dsig_lib_new(const struct cfg *cf);
 *	void	dsig_lib_free(struct dsig_lib *lib);
 *	struct dsig *dsig_begin(const struct dsig_lib *lib,
 *		    const struct key *key, const char *domain,
 *		    const char *selector);
 *	int	dsig_header(struct dsig *sg, const char *name,
 *		    const char *value);
 *	int	dsig_eoh(struct dsig *sg);
 *	int	dsig_body(struct dsig *sg, const unsigned char *buf,
 *		    size_t len);
 *	void	dsig_share_body(struct dsig *sg, const struct dsig *with);
 *	char   *dsig_end(struct dsig *sg);
 *	const char *dsig_error(const struct dsig *sg);
 *	void	dsig_free(struct dsig *sg);
 * DESCRIPTION
 *	The same calls as sign(3), without libopendkim: libopendkim's
 *	dkim_sign() takes the key as PEM text and parses it for every
 *	message, which costs more than the signature itself. Here the key
 *	was parsed when the config was loaded (keys(3)), the body is
 *	canonicalized (RFC 6376 3.4.3, 3.4.4) and hashed as it streams in,
 *	the headers are canonicalized at the end (3.4.1, 3.4.2), and the
 *	signature is RSA-SHA256 or Ed25519-SHA256 (RFC 8463).
 *
 *	The result is meant to be byte for byte what libopendkim 2.11 writes
 *	with the same settings, so the two can be compared (a test does, at
 *	a fixed time, for every canonicalization): the same tags in the same
 *	order, h= listing the signed headers in message order with their
 *	names as written and the oversigned names after them, and the same
 *	folding at 75 columns (tab counted as 8; h= broken at colons, b= and
 *	bh= at the margin). With simple header canonicalization the header
 *	is one unfolded line, as sign(3) asks of libopendkim.
 *
 *	The signatures of one message share the library's canonicalization,
 *	so dsig_share_body() lets a second one reuse the first one's body
 *	hash (its body is then not fed at all).
 *
 *	Bare LFs are taken as CRLF, in headers and body. One difference
 *	from libopendkim is deliberate: with simple header canonicalization
 *	libopendkim 2.11 hashes a header whose folds are bare LFs cut short
 *	(it converts them to CRLF but keeps the original length), so such a
 *	signature fails at every verifier; here the whole header is hashed.
 *	EGRESS_MILTER_FIXED_TIME (seconds since the epoch) fixes t=.
 * OWNERSHIP
 *	A dsig_lib borrows nothing from the snapshot after dsig_lib_new()
 *	(it keeps copies). dsig_end() returns a malloc()ed string the caller
 *	frees. The key is borrowed; it outlives the message.
 * DIAGNOSTICS
 *	dsig_begin() returns NULL when memory runs out. Other functions
 *	return -1 or NULL and leave a reason for dsig_error(). Nothing here
 *	logs or exits.
 * SEE ALSO
 *	sign(3), keys(3), RFC 6376, RFC 8463
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cfg.h"
#include "dsig.h"
#include "keys.h"
#include "xalloc.h"

#define DSIG_MARGIN	75		/* libopendkim's default */
#define DSIG_INITIAL	16		/* strlen("DKIM-Signature") + 2 */
#define DSIG_OUTBUF	4096

struct dsig_lib {
	struct cfg_strlist dl_sign;	/* signed header names */
	struct cfg_strlist dl_over;	/* oversigned names, as configured */
	int	dl_relaxed_hdr;
	int	dl_relaxed_body;
	unsigned long long dl_ttl;
	unsigned long long dl_fixed;	/* 0: the clock */
};

struct dsig_hdr {
	char	*dh_text;		/* "Name:value" with CRLF line ends */
	size_t	dh_namelen;
	int	dh_used;		/* hashed already */
};

struct dsig {
	const struct dsig_lib *sg_lib;
	const struct key *sg_key;
	char	*sg_domain;
	char	*sg_selector;
	unsigned long long sg_time;
	struct dsig_hdr *sg_hdrs;
	size_t	sg_nhdrs;
	size_t	sg_caphdrs;
	struct keys_sha256 *sg_body;
	const struct dsig *sg_bodysrc;	/* takes this one's body hash */
	unsigned char sg_bh[KEYS_SHA256_LEN];
	int	sg_bh_done;		/* sg_bh is final */
	/* body canonicalization state */
	size_t	sg_crlfs;		/* empty lines not yet written */
	int	sg_wsp;			/* relaxed: whitespace pending */
	int	sg_cr;			/* a CR waits for its LF */
	int	sg_content;		/* some line had content */
	unsigned char sg_out[DSIG_OUTBUF];
	size_t	sg_outlen;
	char	sg_err[160];
};

struct dsig_buf {			/* a growing string */
	char	*b_s;
	size_t	b_len;
	size_t	b_cap;
	int	b_oom;
};

/* dsig_strlist - a copy of a string list */

static void
dsig_strlist(struct cfg_strlist *dst, const struct cfg_strlist *src)
{
	size_t	i;

	dst->v = xcalloc(src->n + 1, sizeof(*dst->v));
	dst->n = src->n;
	for (i = 0; i < src->n; i++)
		dst->v[i] = xstrdup(src->v[i]);
}

/* dsig_lib_new - the settings every signature of a snapshot shares */

struct dsig_lib *
dsig_lib_new(const struct cfg *cf)
{
	struct dsig_lib *dl = xcalloc(1, sizeof(*dl));
	const char *env = getenv("EGRESS_MILTER_FIXED_TIME");

	dsig_strlist(&dl->dl_sign, &cf->cf_sign_headers);
	dsig_strlist(&dl->dl_over, &cf->cf_oversign);
	dl->dl_relaxed_hdr = cf->cf_canon_hdr == CFG_CANON_RELAXED;
	dl->dl_relaxed_body = cf->cf_canon_body == CFG_CANON_RELAXED;
	dl->dl_ttl = (unsigned long long)cf->cf_expire;
	dl->dl_fixed = env ? strtoull(env, NULL, 10) : 0;
	return (dl);
}

/* dsig_lib_free - free the shared settings */

void
dsig_lib_free(struct dsig_lib *dl)
{
	size_t	i;

	if (dl == NULL)
		return;
	for (i = 0; i < dl->dl_sign.n; i++)
		free(dl->dl_sign.v[i]);
	for (i = 0; i < dl->dl_over.n; i++)
		free(dl->dl_over.v[i]);
	free(dl->dl_sign.v);
	free(dl->dl_over.v);
	free(dl);
}

/* dsig_begin - one signature of one message */

struct dsig *
dsig_begin(const struct dsig_lib *dl, const struct key *key,
    const char *domain, const char *selector)
{
	struct dsig *sg;

	if ((sg = calloc(1, sizeof(*sg))) == NULL)
		return (NULL);
	sg->sg_lib = dl;
	sg->sg_key = key;
	sg->sg_time = dl->dl_fixed ? dl->dl_fixed :
	    (unsigned long long)time(NULL);
	if ((sg->sg_domain = strdup(domain)) == NULL ||
	    (sg->sg_selector = strdup(selector)) == NULL ||
	    (sg->sg_body = keys_sha256_new()) == NULL) {
		dsig_free(sg);
		return (NULL);
	}
	return (sg);
}

/* dsig_fail - keep a reason, return -1 */

static int
dsig_fail(struct dsig *sg, const char *why)
{
	snprintf(sg->sg_err, sizeof(sg->sg_err), "%s", why);
	return (-1);
}

/* dsig_header - keep "Name:value" (bare LFs made CRLF) for the end */

int
dsig_header(struct dsig *sg, const char *name, const char *value)
{
	struct dsig_hdr *h;
	size_t	nl = strlen(name), vl = strlen(value), i, o;
	char   *t;

	if (sg->sg_nhdrs == sg->sg_caphdrs) {
		i = sg->sg_caphdrs ? sg->sg_caphdrs * 2 : 16;
		if ((h = reallocarray(sg->sg_hdrs, i, sizeof(*h))) == NULL)
			return (dsig_fail(sg, "out of memory"));
		sg->sg_hdrs = h;
		sg->sg_caphdrs = i;
	}
	if ((t = malloc(nl + 1 + 2 * vl + 1)) == NULL)	/* each byte may double */
		return (dsig_fail(sg, "out of memory"));
	memcpy(t, name, nl);
	t[nl] = ':';
	for (i = 0, o = nl + 1; i < vl; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			t[o++] = '\r';		/* bare LF */
		t[o++] = value[i];
		if (value[i] == '\r' && value[i + 1] != '\n')
			t[o++] = '\n';		/* bare CR */
	}
	t[o] = '\0';
	h = &sg->sg_hdrs[sg->sg_nhdrs++];
	h->dh_text = t;
	h->dh_namelen = nl;
	h->dh_used = 0;
	return (0);
}

/* dsig_eoh - end of headers: nothing to do until the end */

int
dsig_eoh(struct dsig *sg)
{
	(void)sg;
	return (0);
}

/* dsig_put - one canonical body byte, through a buffer */

static void
dsig_put(struct dsig *sg, unsigned char c)
{
	if (sg->sg_outlen == sizeof(sg->sg_out)) {
		keys_sha256_update(sg->sg_body, sg->sg_out, sg->sg_outlen);
		sg->sg_outlen = 0;
	}
	sg->sg_out[sg->sg_outlen++] = c;
}

/* dsig_write - n bytes of canonical content, after dsig_content() */

static void
dsig_write(struct dsig *sg, const unsigned char *p, size_t n)
{
	size_t	room;

	if (n >= sizeof(sg->sg_out)) {	/* hashed where it lies */
		if (sg->sg_outlen > 0)
			keys_sha256_update(sg->sg_body, sg->sg_out,
			    sg->sg_outlen);
		sg->sg_outlen = 0;
		keys_sha256_update(sg->sg_body, p, n);
		return;
	}
	while (n > 0) {
		if (sg->sg_outlen == sizeof(sg->sg_out)) {
			keys_sha256_update(sg->sg_body, sg->sg_out,
			    sg->sg_outlen);
			sg->sg_outlen = 0;
		}
		room = sizeof(sg->sg_out) - sg->sg_outlen;
		if (room > n)
			room = n;
		memcpy(sg->sg_out + sg->sg_outlen, p, room);
		sg->sg_outlen += room;
		p += room;
		n -= room;
	}
}

/* dsig_content - a byte of a line's content: what was held back first */

static void
dsig_content(struct dsig *sg, unsigned char c)
{
	for (; sg->sg_crlfs > 0; sg->sg_crlfs--) {
		dsig_put(sg, '\r');
		dsig_put(sg, '\n');
	}
	if (sg->sg_wsp) {
		dsig_put(sg, ' ');
		sg->sg_wsp = 0;
	}
	dsig_put(sg, c);
	sg->sg_content = 1;
}

/* the octets canonicalization looks at: CR, LF, and (relaxed) SP, HT */

#define DSIG_CR		1
#define DSIG_LF		2
#define DSIG_WSP	4

static const unsigned char dsig_class[256] = {
	['\r'] = DSIG_CR, ['\n'] = DSIG_LF, [' '] = DSIG_WSP, ['\t'] = DSIG_WSP
};

/*
 * Eight octets at a time: DSIG_ONES * c repeats c, dsig_eq() has 0x80 in
 * each octet of x that equals c (exactly: no borrow runs between octets).
 */
#define DSIG_ONES	0x0101010101010101ULL
#define DSIG_LOW7	0x7f7f7f7f7f7f7f7fULL

static inline uint64_t
dsig_eq(uint64_t x, unsigned char c)
{
	uint64_t v = x ^ (DSIG_ONES * c);

	return (~(((v & DSIG_LOW7) + DSIG_LOW7) | v) & ~DSIG_LOW7);
}

static inline uint64_t
dsig_load(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return (x);
}

/*
 * dsig_block - are the 8 octets at p their own canonical form, taken
 * alone: no CR, LF (or, relaxed, HT), and (relaxed) no space followed by
 * whitespace or a line end (p[8] must exist: it follows the last one)
 */
static inline int
dsig_block(const unsigned char *p, int relaxed)
{
	uint64_t a = dsig_load(p), b, sp;

	if ((dsig_eq(a, '\r') | dsig_eq(a, '\n')) != 0)
		return (0);
	if (!relaxed)
		return (1);
	if (dsig_eq(a, '\t') != 0)
		return (0);
	if ((sp = dsig_eq(a, ' ')) == 0)
		return (1);
	b = dsig_load(p + 1);		/* what follows each of them */
	return ((sp & (dsig_eq(b, ' ') | dsig_eq(b, '\t') | dsig_eq(b, '\r') |
	    dsig_eq(b, '\n'))) == 0);
}

/*
 * dsig_span - how many octets from p on are their own canonical form, to
 * be hashed as they are: plain octets (none of those in mask), and, between
 * plain octets, a single space (relaxed) or a CRLF (a line end followed by
 * content). Most of a text body is one such span per chunk. Blocks of 8
 * plain octets are passed over at once (the byte order of the loads does
 * not matter: dsig_block() compares octets with octets).
 */
static size_t
dsig_span(const unsigned char *p, size_t n, unsigned mask)
{
	int	relaxed = (mask & DSIG_WSP) != 0;
	size_t	j = 0;

	for (;;) {
		while (j + 9 <= n && dsig_block(p + j, relaxed))
			j += 8;
		while (j < n && (dsig_class[p[j]] & mask) == 0)
			j++;
		if (j >= n)
			return (n);
		if (p[j] == ' ' && relaxed && j + 1 < n &&
		    (dsig_class[p[j + 1]] & mask) == 0)
			j += 2;
		else if (p[j] == '\r' && j + 2 < n && p[j + 1] == '\n' &&
		    (dsig_class[p[j + 2]] & mask) == 0)
			j += 3;
		else
			return (j);
	}
}

/*
 * dsig_body - canonicalize a chunk into the body hash. Line ends are held
 * back (trailing empty lines are not hashed) and, with relaxed, so is
 * whitespace (runs become one space, none at the end of a line). After a
 * content octet, what dsig_span() finds goes into the hash at once.
 */
int
dsig_body(struct dsig *sg, const unsigned char *buf, size_t len)
{
	int	relaxed = sg->sg_lib->dl_relaxed_body;
	unsigned mask = DSIG_CR | DSIG_LF | (relaxed ? DSIG_WSP : 0);
	size_t	i, n;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = buf[i];
		if (sg->sg_cr && c != '\n')
			dsig_content(sg, '\r');	/* a bare CR is content */
		sg->sg_cr = 0;
		if (c == '\r') {
			sg->sg_cr = 1;
		} else if (c == '\n') {
			sg->sg_wsp = 0;
			sg->sg_crlfs++;
		} else if (relaxed && (c == ' ' || c == '\t')) {
			sg->sg_wsp = 1;
		} else {
			dsig_content(sg, c);
			n = dsig_span(buf + i + 1, len - i - 1, mask);
			dsig_write(sg, buf + i + 1, n);
			i += n;
		}
	}
	return (0);
}

/* dsig_body_end - the last line, then the body hash (once) */

static int
dsig_body_end(struct dsig *sg)
{
	if (sg->sg_bh_done)
		return (0);
	if (sg->sg_cr)
		dsig_content(sg, '\r');
	sg->sg_cr = 0;
	if (sg->sg_content || !sg->sg_lib->dl_relaxed_body) {
		dsig_put(sg, '\r');	/* exactly one CRLF ends the body */
		dsig_put(sg, '\n');
	}
	keys_sha256_update(sg->sg_body, sg->sg_out, sg->sg_outlen);
	sg->sg_outlen = 0;
	if (keys_sha256_final(sg->sg_body, sg->sg_bh) == -1)
		return (-1);
	sg->sg_bh_done = 1;
	return (0);
}

/*
 * dsig_share_body - sg takes its body hash from with (same library, so the
 * same body canonicalization): the body is hashed once for both, and only
 * with needs dsig_body()
 */
void
dsig_share_body(struct dsig *sg, const struct dsig *with)
{
	sg->sg_bodysrc = with;
}

/* dsig_cat - append n bytes */

static void
dsig_cat(struct dsig_buf *b, const char *s, size_t n)
{
	char   *p;
	size_t	cap;

	if (b->b_oom)
		return;
	if (b->b_len + n + 1 > b->b_cap) {
		cap = (b->b_len + n + 1) * 2;
		if (cap < 1024)		/* a signature header fits */
			cap = 1024;
		if ((p = realloc(b->b_s, cap)) == NULL) {
			b->b_oom = 1;
			return;
		}
		b->b_s = p;
		b->b_cap = cap;
	}
	memcpy(b->b_s + b->b_len, s, n);
	b->b_len += n;
	b->b_s[b->b_len] = '\0';
}

/* dsig_cats - append a string */

static void
dsig_cats(struct dsig_buf *b, const char *s)
{
	dsig_cat(b, s, strlen(s));
}

/* dsig_base64 - standard base64 with padding */

static void
dsig_base64(struct dsig_buf *b, const unsigned char *in, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char	q[4];
	size_t	i;
	unsigned long v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		q[0] = tab[v >> 18], q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63], q[3] = tab[v & 63];
		dsig_cat(b, q, 4);
	}
	if (i < len) {
		v = (unsigned long)in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0);
		q[0] = tab[v >> 18], q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		q[3] = '=';
		dsig_cat(b, q, 4);
	}
}

/* dsig_signed - the header's name is in the sign list */

static int
dsig_signed(const struct dsig_lib *dl, const struct dsig_hdr *h)
{
	size_t	i;

	for (i = 0; i < dl->dl_sign.n; i++)
		if (strlen(dl->dl_sign.v[i]) == h->dh_namelen &&
		    strncasecmp(dl->dl_sign.v[i], h->dh_text,
		    h->dh_namelen) == 0)
			return (1);
	return (0);
}

/*
 * dsig_tags - the tags, each ending in ';' but b=, separated by '\001'
 * (where a space or a fold may go), with the value of b= given
 */
static void
dsig_tags(struct dsig *sg, const char *bh, const char *b,
    struct dsig_buf *t)
{
	const struct dsig_lib *dl = sg->sg_lib;
	char	num[64];
	size_t	i;
	int	first = 1;

	dsig_cats(t, "v=1;\001a=");
	dsig_cats(t, keys_alg_name(sg->sg_key->k_alg));
	dsig_cats(t, dl->dl_relaxed_hdr ? ";\001c=relaxed/" : ";\001c=simple/");
	dsig_cats(t, dl->dl_relaxed_body ? "relaxed" : "simple");
	dsig_cats(t, ";\001d=");
	dsig_cats(t, sg->sg_domain);
	dsig_cats(t, ";\001s=");
	dsig_cats(t, sg->sg_selector);
	snprintf(num, sizeof(num), ";\001t=%llu", sg->sg_time);
	dsig_cats(t, num);
	if (dl->dl_ttl) {
		snprintf(num, sizeof(num), ";\001x=%llu", sg->sg_time +
		    dl->dl_ttl);
		dsig_cats(t, num);
	}
	dsig_cats(t, ";\001bh=");
	dsig_cats(t, bh);
	for (i = 0; i < sg->sg_nhdrs; i++) {
		if (!dsig_signed(dl, &sg->sg_hdrs[i]))
			continue;
		dsig_cats(t, first ? ";\001h=" : ":");
		dsig_cat(t, sg->sg_hdrs[i].dh_text, sg->sg_hdrs[i].dh_namelen);
		first = 0;
	}
	for (i = 0; i < dl->dl_over.n; i++) {
		if (dl->dl_over.v[i][0] == '\0')
			continue;
		dsig_cats(t, first ? ";\001h=" : ":");
		dsig_cats(t, dl->dl_over.v[i]);
		first = 0;
	}
	dsig_cats(t, ";\001b=");
	dsig_cats(t, b);
}

/* dsig_fold_h - a wrapped h= list, broken after colons */

static void
dsig_fold_h(struct dsig_buf *o, const char *pv, size_t *col)
{
	const char *p = pv, *end;
	size_t	n;
	int	first = 1;

	while (*p != '\0') {
		end = strchr(p, ':');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n > 0) {
			if (first) {
				first = 0;
			} else if (*col + n + 1 > DSIG_MARGIN) {
				dsig_cats(o, ":\r\n\t ");
				*col = 9;
			} else {
				dsig_cats(o, ":");
				*col += 1;
			}
			dsig_cat(o, p, n);
			*col += n;
		}
		p = end ? end + 1 : p + n;
	}
}

/* dsig_fold_b64 - a wrapped base64 value, broken at the margin */

static void
dsig_fold_b64(struct dsig_buf *o, const char *pv, size_t taglen,
    size_t *col)
{
	const char *x = pv + taglen + 1, *y = pv + strlen(pv);
	size_t	n;

	dsig_cat(o, pv, taglen + 1);
	*col += taglen + 1;
	if (x < y) {
		dsig_cat(o, x++, 1);	/* one character at least */
		*col += 1;
	}
	while (x < y) {
		if (*col >= DSIG_MARGIN) {
			dsig_cats(o, "\r\n\t ");
			*col = 9;
		}
		n = DSIG_MARGIN - *col < (size_t)(y - x) ? DSIG_MARGIN - *col :
		    (size_t)(y - x);
		dsig_cat(o, x, n);
		x += n;
		*col += n;
	}
}

/*
 * dsig_fold - the header value: tags joined by spaces, a line broken
 * before a tag that would pass the margin (b= of an RSA signature always
 * starts a line); margin 0 (simple header canonicalization): one line
 */
static void
dsig_fold(const struct dsig *sg, char *tags, struct dsig_buf *o)
{
	char   *pv, *save = NULL, *eq;
	size_t	col = DSIG_INITIAL, pvlen, taglen, b64;
	int	first = 1, wrap, margin = sg->sg_lib->dl_relaxed_hdr;

	for (pv = strtok_r(tags, "\001", &save); pv != NULL;
	    pv = strtok_r(NULL, "\001", &save), first = 0) {
		pvlen = strlen(pv);
		eq = strchr(pv, '=');
		taglen = eq ? (size_t)(eq - pv) : pvlen;
		if (!margin || first) {
			if (!first)
				dsig_cats(o, " ");
			dsig_cat(o, pv, pvlen);
			col += pvlen;
			continue;
		}
		b64 = (size_t)(sg->sg_key->k_bits / 8 + 2) / 3 * 4;
		wrap = col + pvlen > DSIG_MARGIN || (taglen == 1 &&
		    pv[0] == 'b' && sg->sg_key->k_alg == KEY_ALG_RSA &&
		    col + taglen + b64 + 1 >= DSIG_MARGIN);
		if (!wrap) {
			dsig_cats(o, " ");
			dsig_cat(o, pv, pvlen);
			col += 1 + pvlen;
			continue;
		}
		dsig_cats(o, "\r\n\t");
		col = 8;
		if (taglen == 1 && pv[0] == 'h')
			dsig_fold_h(o, pv, &col);
		else if ((taglen == 1 && pv[0] == 'b') || (taglen == 2 &&
		    strncmp(pv, "bh", 2) == 0))
			dsig_fold_b64(o, pv, taglen, &col);
		else {
			dsig_cat(o, pv, pvlen);
			col += pvlen;
		}
	}
}

/* dsig_value - the folded header value for body hash bh and b= b */

static int
dsig_value(struct dsig *sg, const char *bh, const char *b,
    struct dsig_buf *out)
{
	struct dsig_buf tags;

	memset(&tags, 0, sizeof(tags));
	dsig_tags(sg, bh, b, &tags);
	if (!tags.b_oom)
		dsig_fold(sg, tags.b_s, out);
	free(tags.b_s);
	return (tags.b_oom || out->b_oom ? -1 : 0);
}

/* dsig_relaxed - RFC 6376 3.4.2 of "Name:value" into the hash */

static void
dsig_relaxed(struct keys_sha256 *h, const char *text, size_t namelen,
    int crlf)
{
	char	buf[512];
	size_t	n = 0, i, end;
	int	wsp = 0;

	for (i = 0; i < namelen; i++) {
		if (n == sizeof(buf)) {
			keys_sha256_update(h, buf, n);
			n = 0;
		}
		buf[n++] = (char)tolower((unsigned char)text[i]);
	}
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;			/* "Name :" */
	keys_sha256_update(h, buf, n);
	keys_sha256_update(h, ":", 1);
	n = 0;
	i = namelen + 1;
	end = strlen(text);
	while (i < end && strchr(" \t\r\n", text[i]) != NULL)
		i++;			/* after the colon */
	for (; i < end; i++) {
		if (text[i] == '\r' || text[i] == '\n')
			continue;
		if (text[i] == ' ' || text[i] == '\t') {
			wsp = 1;
			continue;
		}
		if (n + 2 > sizeof(buf)) {
			keys_sha256_update(h, buf, n);
			n = 0;
		}
		if (wsp)
			buf[n++] = ' ';
		wsp = 0;
		buf[n++] = text[i];
	}
	keys_sha256_update(h, buf, n);
	if (crlf)
		keys_sha256_update(h, "\r\n", 2);
}

/* dsig_hash_header - one header, canonicalized, into the hash */

static void
dsig_hash_header(const struct dsig *sg, struct keys_sha256 *h,
    const char *text, size_t namelen, int crlf)
{
	if (sg->sg_lib->dl_relaxed_hdr)
		dsig_relaxed(h, text, namelen, crlf);
	else {
		keys_sha256_update(h, text, strlen(text));
		if (crlf)
			keys_sha256_update(h, "\r\n", 2);
	}
}

/* dsig_hash_signed - the signed headers, each name from the bottom up */

static void
dsig_hash_signed(struct dsig *sg, struct keys_sha256 *h)
{
	size_t	i, j;
	struct dsig_hdr *hd;

	for (i = 0; i < sg->sg_nhdrs; i++) {
		if (!dsig_signed(sg->sg_lib, &sg->sg_hdrs[i]))
			continue;
		for (j = sg->sg_nhdrs; j-- > 0;) {
			hd = &sg->sg_hdrs[j];
			if (!hd->dh_used && hd->dh_namelen ==
			    sg->sg_hdrs[i].dh_namelen && strncasecmp(
			    hd->dh_text, sg->sg_hdrs[i].dh_text,
			    hd->dh_namelen) == 0) {
				hd->dh_used = 1;
				dsig_hash_header(sg, h, hd->dh_text,
				    hd->dh_namelen, 1);
				break;
			}
		}
	}
}

/* dsig_sign - header hash (signature header with empty b=), then sign */

static int
dsig_sign(struct dsig *sg, const char *bh, struct dsig_buf *b64)
{
	struct keys_sha256 *h;
	struct dsig_buf hdr;
	unsigned char dg[KEYS_SHA256_LEN], sig[KEYS_SIG_MAX];
	size_t	siglen = sizeof(sig);
	int	rc = -1;

	memset(&hdr, 0, sizeof(hdr));
	if ((h = keys_sha256_new()) == NULL)
		return (dsig_fail(sg, "out of memory"));
	dsig_hash_signed(sg, h);
	dsig_cats(&hdr, "DKIM-Signature: ");
	if (dsig_value(sg, bh, "", &hdr) == 0) {
		dsig_hash_header(sg, h, hdr.b_s, strlen("DKIM-Signature"), 0);
		if (keys_sha256_final(h, dg) == 0 &&
		    keys_sign(sg->sg_key, dg, sig, &siglen) == 0) {
			dsig_base64(b64, sig, siglen);
			rc = b64->b_oom ? -1 : 0;
		}
	}
	keys_sha256_free(h);
	free(hdr.b_s);
	return (rc == 0 ? 0 : dsig_fail(sg, "signing failed"));
}

/* dsig_end - the DKIM-Signature header value (malloc()ed) */

char *
dsig_end(struct dsig *sg)
{
	const unsigned char *bh;
	struct dsig_buf bh64, b64, out;
	struct dsig *src = (struct dsig *)sg->sg_bodysrc;

	memset(&bh64, 0, sizeof(bh64));
	memset(&b64, 0, sizeof(b64));
	memset(&out, 0, sizeof(out));
	if (dsig_body_end(src ? src : sg) == -1) {
		dsig_fail(sg, "body hash failed");
		return (NULL);
	}
	bh = src ? src->sg_bh : sg->sg_bh;
	dsig_base64(&bh64, bh, KEYS_SHA256_LEN);
	if (bh64.b_oom || dsig_sign(sg, bh64.b_s, &b64) == -1 ||
	    dsig_value(sg, bh64.b_s, b64.b_s, &out) == -1) {
		if (sg->sg_err[0] == '\0')
			dsig_fail(sg, "out of memory");
		free(out.b_s);
		out.b_s = NULL;
	}
	free(bh64.b_s);
	free(b64.b_s);
	return (out.b_s);
}

/* dsig_error - the last reason */

const char *
dsig_error(const struct dsig *sg)
{
	return (sg->sg_err[0] ? sg->sg_err : "unknown signing error");
}

/* dsig_free - free one signature's state (NULL ok) */

void
dsig_free(struct dsig *sg)
{
	size_t	i;

	if (sg == NULL)
		return;
	for (i = 0; i < sg->sg_nhdrs; i++)
		free(sg->sg_hdrs[i].dh_text);
	free(sg->sg_hdrs);
	keys_sha256_free(sg->sg_body);
	free(sg->sg_domain);
	free(sg->sg_selector);
	free(sg);
}
