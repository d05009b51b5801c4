/*
 * NAME
 *	addr - RFC 5321/5322 address and domain parsing
 * SYNOPSIS
 *	#include "addr.h"
 *
 *	enum addr_status addr_from_domain(const char *value, size_t len,
 *		    char *domain, size_t domsize, size_t *naddrs);
 *	int	addr_envelope_domain(const char *arg, char *domain,
 *		    size_t domsize);
 *	int	addr_domain_normalize(char *domain);
 *	int	addr_domain_within(const char *domain, const char *parent);
 *	const char *addr_strerror(enum addr_status status);
 * DESCRIPTION
 *	addr_from_domain() parses the first len octets of a From header
 *	value as an RFC 5322 address-list, including the obsolete syntax
 *	(routes, empty list elements, CFWS around dots) and groups. It
 *	counts the mailboxes and, when there is exactly one, stores its
 *	normalized domain. Display names and local parts may hold UTF-8
 *	octets (RFC 6532); encoded words are plain atoms here. Folding
 *	(CR and LF) counts as white space wherever white space may appear.
 *	A bare local part ("root") or "<root>" is a mailbox without a
 *	domain; an empty angle address "<>" is a syntax error. A domain
 *	that does not pass addr_domain_normalize() is not usable and gives
 *	ADDR_NO_DOMAIN (ADDR_TOO_LONG when only its length is wrong).
 *
 *	addr_envelope_domain() extracts the domain of a MAIL FROM path as
 *	libmilter passes it, with or without angle brackets, with an
 *	optional source route and a quoted local part. The null sender
 *	"<>" gives an empty domain.
 *
 *	addr_domain_normalize() lowercases ASCII letters in place, strips
 *	one trailing dot and checks the label syntax (letters, digits,
 *	hyphen, underscore and UTF-8 octets; no label empty, longer than
 *	63 octets or starting or ending with a hyphen; at most 253 octets).
 *	A rejected domain is left unchanged.
 *
 *	addr_domain_within() says whether domain equals parent or lies
 *	below it, on a label boundary, ignoring ASCII case. Both are
 *	expected in normalized form (no trailing dot).
 * OWNERSHIP
 *	Pure functions: nothing is allocated. Input is borrowed and never
 *	read beyond len (addr_from_domain) or the terminating NUL; the
 *	domain is written to the caller's buffer of domsize octets.
 * DIAGNOSTICS
 *	addr_from_domain() returns an enum addr_status and sets the domain
 *	to "" unless ADDR_OK; the other functions return -1 (or 0 for
 *	addr_domain_within) on bad input. Nothing here logs or exits.
 * SEE ALSO
 *	RFC 5321 section 4.1.2, RFC 5322 sections 3.4 and 4.4, RFC 6532
 */
#include "config.h"

#include <string.h>

#include "addr.h"

#define ADDR_LABEL_MAX	63		/* octets in one label */
#define ADDR_NAME_MAX	253		/* octets in a domain, no final dot */

enum addr_tok_type {
	ADDR_TOK_END,			/* end of input */
	ADDR_TOK_ATOM,			/* 1*atext */
	ADDR_TOK_QSTR,			/* quoted-string */
	ADDR_TOK_DLIT,			/* domain-literal */
	ADDR_TOK_SPECIAL,		/* one of < > @ , ; : . */
	ADDR_TOK_ERROR			/* anything else */
};

struct addr_tok {
	enum addr_tok_type at_type;
	int		at_ch;		/* ADDR_TOK_SPECIAL: the character */
	const char	*at_text;	/* start of the token */
	size_t		at_len;		/* its length */
};

struct addr_words {
	size_t		aw_count;	/* words (atoms, quoted strings) */
	int		aw_phrase;	/* a display-name: starts with a word */
	int		aw_local;	/* a local-part: word *("." word) */
};

struct addr_parser {
	const char	*ap_cur;	/* next octet to read */
	const char	*ap_end;	/* one past the last octet */
	struct addr_tok	ap_tok;		/* lookahead token */
	size_t		ap_count;	/* mailboxes seen */
	char		ap_dom[ADDR_DOMAIN_MAX];	/* current domain */
	size_t		ap_domlen;
	enum addr_status ap_domstat;	/* OK, NO_DOMAIN or TOO_LONG */
	char		ap_first[ADDR_DOMAIN_MAX];	/* first mailbox */
	enum addr_status ap_firststat;
};

static int addr_is_special(int);
static int addr_is_atext(int);
static int addr_is_ldh(int);
static int addr_tolower(int);
static int addr_skip_comment(struct addr_parser *);
static int addr_skip_cfws(struct addr_parser *);
static int addr_scan_quoted(struct addr_parser *, int);
static void addr_lex(struct addr_parser *);
static int addr_tok_is(const struct addr_parser *, int);
static void addr_parse_words(struct addr_parser *, struct addr_words *);
static void addr_dom_append(struct addr_parser *, const char *, size_t);
static int addr_parse_domain(struct addr_parser *);
static void addr_mailbox_done(struct addr_parser *, enum addr_status);
static int addr_parse_route(struct addr_parser *);
static int addr_parse_angle(struct addr_parser *);
static int addr_parse_group(struct addr_parser *);
static int addr_parse_address(struct addr_parser *, int);
static int addr_parse_list(struct addr_parser *);
static enum addr_status addr_domain_copy(char *, char *, size_t);
static int addr_envelope_strip(const char **, const char **);
static const char *addr_envelope_local(const char *, const char *);
static int addr_label_check(const char *, size_t);
static int addr_domain_check(const char *, size_t);

/* addr_is_special - is c an RFC 5322 special character */

static int
addr_is_special(int c)
{
	return (c != '\0' && strchr("()<>[]:;@\\,.\"", c) != NULL);
}

/* addr_is_atext - may octet c appear in an atom (UTF-8 included) */

static int
addr_is_atext(int c)
{
	if (c >= 0x80)
		return (1);
	if (c <= ' ' || c == 0x7f)
		return (0);
	return (!addr_is_special(c));
}

/* addr_is_ldh - may octet c appear in a domain label */

static int
addr_is_ldh(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c >= 0x80);
}

/* addr_tolower - ASCII-only lowercase, whatever the locale */

static int
addr_tolower(int c)
{
	return (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* addr_skip_comment - skip one comment, nested ones included */

static int
addr_skip_comment(struct addr_parser *ap)
{
	int	depth = 0;
	char	c;

	while (ap->ap_cur < ap->ap_end) {
		c = *ap->ap_cur++;
		if (c == '\0')
			return (-1);
		if (c == '\\') {
			if (ap->ap_cur >= ap->ap_end || *ap->ap_cur == '\0')
				return (-1);
			ap->ap_cur++;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			return (0);
		}
	}
	return (-1);
}

/* addr_skip_cfws - skip white space, folding and comments */

static int
addr_skip_cfws(struct addr_parser *ap)
{
	char	c;

	while (ap->ap_cur < ap->ap_end) {
		c = *ap->ap_cur;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			ap->ap_cur++;
		else if (c != '(')
			break;
		else if (addr_skip_comment(ap) < 0)
			return (-1);
	}
	return (0);
}

/* addr_scan_quoted - skip a quoted string or domain literal */

static int
addr_scan_quoted(struct addr_parser *ap, int close)
{
	char	c;

	ap->ap_cur++;
	while (ap->ap_cur < ap->ap_end) {
		c = *ap->ap_cur++;
		if (c == '\0' || (close == ']' && c == '['))
			return (-1);
		if (c == close)
			return (0);
		if (c == '\\') {
			if (ap->ap_cur >= ap->ap_end || *ap->ap_cur == '\0')
				return (-1);
			ap->ap_cur++;
		}
	}
	return (-1);
}

/* addr_lex - read the next token into ap_tok, skipping CFWS */

static void
addr_lex(struct addr_parser *ap)
{
	struct addr_tok *t = &ap->ap_tok;
	unsigned char c;

	t->at_type = ADDR_TOK_ERROR;
	if (addr_skip_cfws(ap) < 0)
		return;
	t->at_text = ap->ap_cur;
	if (ap->ap_cur >= ap->ap_end) {
		t->at_type = ADDR_TOK_END;
		return;
	}
	c = *ap->ap_cur;
	if (c == '"' || c == '[') {
		if (addr_scan_quoted(ap, c == '"' ? '"' : ']') == 0)
			t->at_type = c == '"' ? ADDR_TOK_QSTR : ADDR_TOK_DLIT;
	} else if (addr_is_atext(c)) {
		while (ap->ap_cur < ap->ap_end &&
		    addr_is_atext((unsigned char) *ap->ap_cur))
			ap->ap_cur++;
		t->at_type = ADDR_TOK_ATOM;
	} else if (c != '\0' && strchr("<>@,;:.", c) != NULL) {
		ap->ap_cur++;
		t->at_type = ADDR_TOK_SPECIAL;
		t->at_ch = c;
	}
	t->at_len = ap->ap_cur - t->at_text;
}

/* addr_tok_is - is the lookahead the special character ch */

static int
addr_tok_is(const struct addr_parser *ap, int ch)
{
	return (ap->ap_tok.at_type == ADDR_TOK_SPECIAL &&
	    ap->ap_tok.at_ch == ch);
}

/* addr_parse_words - consume words and dots, classify the sequence */

static void
addr_parse_words(struct addr_parser *ap, struct addr_words *w)
{
	int	prev = 0;		/* 0 at start, 'w' word, '.' dot */
	enum addr_tok_type type;

	memset(w, 0, sizeof(*w));
	w->aw_local = 1;
	for (;;) {
		type = ap->ap_tok.at_type;
		if (type == ADDR_TOK_ATOM || type == ADDR_TOK_QSTR) {
			if (prev == 'w')
				w->aw_local = 0;
			if (prev == 0)
				w->aw_phrase = 1;
			w->aw_count++;
			prev = 'w';
		} else if (addr_tok_is(ap, '.')) {
			if (prev != 'w')
				w->aw_local = 0;
			prev = '.';
		} else {
			break;
		}
		addr_lex(ap);
	}
	if (prev != 'w')
		w->aw_local = 0;
}

/* addr_dom_append - add text to the current domain, note overflow */

static void
addr_dom_append(struct addr_parser *ap, const char *text, size_t len)
{
	if (ap->ap_domstat != ADDR_OK)
		return;
	if (len >= sizeof(ap->ap_dom) - ap->ap_domlen) {
		ap->ap_domstat = ADDR_TOO_LONG;
		return;
	}
	memcpy(ap->ap_dom + ap->ap_domlen, text, len);
	ap->ap_domlen += len;
	ap->ap_dom[ap->ap_domlen] = '\0';
}

/* addr_parse_domain - parse the domain after "@" (one final dot is ok) */

static int
addr_parse_domain(struct addr_parser *ap)
{
	ap->ap_domlen = 0;
	ap->ap_dom[0] = '\0';
	ap->ap_domstat = ADDR_OK;
	if (ap->ap_tok.at_type == ADDR_TOK_DLIT) {
		ap->ap_domstat = ADDR_NO_DOMAIN;
		addr_lex(ap);
		return (0);
	}
	if (ap->ap_tok.at_type != ADDR_TOK_ATOM)
		return (-1);
	for (;;) {
		addr_dom_append(ap, ap->ap_tok.at_text, ap->ap_tok.at_len);
		addr_lex(ap);
		if (!addr_tok_is(ap, '.'))
			return (0);
		addr_dom_append(ap, ".", 1);
		addr_lex(ap);
		if (ap->ap_tok.at_type != ADDR_TOK_ATOM)
			return (0);
	}
}

/* addr_mailbox_done - count a mailbox, remember the first one's domain */

static void
addr_mailbox_done(struct addr_parser *ap, enum addr_status status)
{
	if (ap->ap_count++ > 0)
		return;
	ap->ap_firststat = status;
	if (status == ADDR_OK)
		memcpy(ap->ap_first, ap->ap_dom, ap->ap_domlen + 1);
}

/* addr_parse_route - skip an obsolete route "@a,@b:" inside <> */

static int
addr_parse_route(struct addr_parser *ap)
{
	while (addr_tok_is(ap, ','))
		addr_lex(ap);
	if (!addr_tok_is(ap, '@'))
		return (-1);
	for (;;) {
		if (addr_tok_is(ap, '@')) {
			addr_lex(ap);
			if (addr_parse_domain(ap) < 0)
				return (-1);
		}
		if (addr_tok_is(ap, ':')) {
			addr_lex(ap);
			return (0);
		}
		if (!addr_tok_is(ap, ','))
			return (-1);
		addr_lex(ap);
	}
}

/* addr_parse_angle - parse "<" [route] local-part ["@" domain] ">" */

static int
addr_parse_angle(struct addr_parser *ap)
{
	struct addr_words w;
	enum addr_status status = ADDR_NO_DOMAIN;

	addr_lex(ap);
	if ((addr_tok_is(ap, '@') || addr_tok_is(ap, ',')) &&
	    addr_parse_route(ap) < 0)
		return (-1);
	addr_parse_words(ap, &w);
	if (!w.aw_local)
		return (-1);
	if (addr_tok_is(ap, '@')) {
		addr_lex(ap);
		if (addr_parse_domain(ap) < 0)
			return (-1);
		status = ap->ap_domstat;
	}
	if (!addr_tok_is(ap, '>'))
		return (-1);
	addr_lex(ap);
	addr_mailbox_done(ap, status);
	return (0);
}

/* addr_parse_group - parse a group's mailboxes after "name:" up to ";" */

static int
addr_parse_group(struct addr_parser *ap)
{
	addr_lex(ap);
	for (;;) {
		if (addr_tok_is(ap, ';')) {
			addr_lex(ap);
			return (0);
		}
		if (addr_tok_is(ap, ',')) {
			addr_lex(ap);
			continue;
		}
		if (addr_parse_address(ap, 1) < 0)
			return (-1);
		if (!addr_tok_is(ap, ',') && !addr_tok_is(ap, ';'))
			return (-1);
	}
}

/* addr_parse_address - parse one mailbox, or a group unless in one */

static int
addr_parse_address(struct addr_parser *ap, int in_group)
{
	struct addr_words w;

	addr_parse_words(ap, &w);
	if (addr_tok_is(ap, '@')) {
		if (!w.aw_local)
			return (-1);
		addr_lex(ap);
		if (addr_parse_domain(ap) < 0)
			return (-1);
		addr_mailbox_done(ap, ap->ap_domstat);
		return (0);
	}
	if (addr_tok_is(ap, '<')) {
		if (w.aw_count > 0 && !w.aw_phrase)
			return (-1);
		return (addr_parse_angle(ap));
	}
	if (addr_tok_is(ap, ':')) {
		if (in_group || !w.aw_phrase)
			return (-1);
		return (addr_parse_group(ap));
	}
	if (!w.aw_local)
		return (-1);
	addr_mailbox_done(ap, ADDR_NO_DOMAIN);
	return (0);
}

/* addr_parse_list - parse an address-list, empty elements allowed */

static int
addr_parse_list(struct addr_parser *ap)
{
	addr_lex(ap);
	for (;;) {
		if (ap->ap_tok.at_type == ADDR_TOK_END)
			return (0);
		if (addr_tok_is(ap, ',')) {
			addr_lex(ap);
			continue;
		}
		if (addr_parse_address(ap, 0) < 0)
			return (-1);
		if (ap->ap_tok.at_type != ADDR_TOK_END && !addr_tok_is(ap, ','))
			return (-1);
	}
}

/* addr_domain_copy - normalize a parsed domain into the caller's buffer */

static enum addr_status
addr_domain_copy(char *dom, char *out, size_t size)
{
	size_t	len = strlen(dom);

	if (len > 0 && dom[len - 1] == '.')
		len--;
	if (len > ADDR_NAME_MAX)
		return (ADDR_TOO_LONG);
	if (addr_domain_normalize(dom) < 0)
		return (ADDR_NO_DOMAIN);
	len = strlen(dom);
	if (out == NULL || len >= size)
		return (ADDR_TOO_LONG);
	memcpy(out, dom, len + 1);
	return (ADDR_OK);
}

/* addr_from_domain - domain of the single mailbox in a From value */

enum addr_status
addr_from_domain(const char *value, size_t len, char *domain,
    size_t domsize, size_t *naddrs)
{
	struct addr_parser ap;

	if (domain != NULL && domsize > 0)
		domain[0] = '\0';
	if (naddrs != NULL)
		*naddrs = 0;
	if (value == NULL) {
		value = "";
		len = 0;
	}
	memset(&ap, 0, sizeof(ap));
	ap.ap_cur = value;
	ap.ap_end = value + len;
	if (addr_parse_list(&ap) < 0)
		return (ADDR_SYNTAX);
	if (naddrs != NULL)
		*naddrs = ap.ap_count;
	if (ap.ap_count == 0)
		return (ADDR_EMPTY);
	if (ap.ap_count > 1)
		return (ADDR_MULTIPLE);
	if (ap.ap_firststat != ADDR_OK)
		return (ap.ap_firststat);
	return (addr_domain_copy(ap.ap_first, domain, domsize));
}

/* addr_envelope_strip - trim blanks and one balanced pair of <> */

static int
addr_envelope_strip(const char **sp, const char **ep)
{
	const char *s = *sp, *e = *ep;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (s < e && *s == '<') {
		if (e - s < 2 || e[-1] != '>')
			return (-1);
		s++;
		e--;
	} else if (s == e || e[-1] == '>') {
		return (-1);
	}
	*sp = s;
	*ep = e;
	return (0);
}

/* addr_envelope_local - skip a local part, return the "@" after it */

static const char *
addr_envelope_local(const char *s, const char *e)
{
	const char *p = s;

	if (p < e && *p == '"') {
		for (p++; p < e && *p != '"'; p++)
			if (*p == '\\' && ++p == e)
				return (NULL);
		if (p == e)
			return (NULL);
		p++;
	} else {
		while (p < e &&
		    (*p == '.' || addr_is_atext((unsigned char) *p)))
			p++;
		if (p == s)
			return (NULL);
	}
	return (p < e && *p == '@' ? p : NULL);
}

/* addr_envelope_domain - normalized domain of a MAIL FROM path */

int
addr_envelope_domain(const char *arg, char *domain, size_t domsize)
{
	char	buf[ADDR_DOMAIN_MAX];
	const char *s, *e, *at;
	size_t	len;

	if (domain == NULL || domsize == 0)
		return (-1);
	domain[0] = '\0';
	if (arg == NULL)
		return (-1);
	s = arg;
	e = arg + strlen(arg);
	if (addr_envelope_strip(&s, &e) < 0)
		return (-1);
	if (s == e)
		return (0);			/* null sender <> */
	if (*s == '@' && ((s = memchr(s, ':', e - s)) == NULL || ++s == e))
		return (-1);
	if ((at = addr_envelope_local(s, e)) == NULL)
		return (-1);
	len = e - (at + 1);
	if (len == 0 || len >= sizeof(buf) || at[1] == '[')
		return (-1);
	memcpy(buf, at + 1, len);
	buf[len] = '\0';
	if (addr_domain_normalize(buf) < 0 || (len = strlen(buf)) >= domsize)
		return (-1);
	memcpy(domain, buf, len + 1);
	return (0);
}

/* addr_label_check - check one label of len octets */

static int
addr_label_check(const char *label, size_t len)
{
	if (len == 0 || len > ADDR_LABEL_MAX)
		return (-1);
	if (label[0] == '-' || label[len - 1] == '-')
		return (-1);
	return (0);
}

/* addr_domain_check - check the characters and labels of len octets */

static int
addr_domain_check(const char *domain, size_t len)
{
	size_t	i, start = 0;

	for (i = 0; i < len; i++) {
		if (domain[i] == '.') {
			if (addr_label_check(domain + start, i - start) < 0)
				return (-1);
			start = i + 1;
		} else if (!addr_is_ldh((unsigned char) domain[i])) {
			return (-1);
		}
	}
	return (addr_label_check(domain + start, len - start));
}

/* addr_domain_normalize - lowercase, strip a final dot, check syntax */

int
addr_domain_normalize(char *domain)
{
	size_t	len, i;

	if (domain == NULL)
		return (-1);
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > ADDR_NAME_MAX)
		return (-1);
	if (addr_domain_check(domain, len) < 0)
		return (-1);
	for (i = 0; i < len; i++)
		domain[i] = (char) addr_tolower((unsigned char) domain[i]);
	domain[len] = '\0';
	return (0);
}

/* addr_domain_within - is domain equal to or below parent */

int
addr_domain_within(const char *domain, const char *parent)
{
	size_t	dlen, plen, i;
	const char *tail;

	if (domain == NULL || parent == NULL)
		return (0);
	dlen = strlen(domain);
	plen = strlen(parent);
	if (plen == 0 || dlen < plen)
		return (0);
	tail = domain + dlen - plen;
	for (i = 0; i < plen; i++)
		if (addr_tolower((unsigned char) tail[i]) !=
		    addr_tolower((unsigned char) parent[i]))
			return (0);
	return (dlen == plen || tail[-1] == '.');
}

/* addr_strerror - short English text for a status */

const char *
addr_strerror(enum addr_status status)
{
	switch (status) {
	case ADDR_OK:
		return ("ok");
	case ADDR_EMPTY:
		return ("no address");
	case ADDR_MULTIPLE:
		return ("more than one address");
	case ADDR_SYNTAX:
		return ("syntax error");
	case ADDR_NO_DOMAIN:
		return ("address has no domain");
	case ADDR_TOO_LONG:
		return ("domain too long");
	}
	return ("unknown address status");
}
