/*
 * NAME
 *	addr_test - table-driven tests for addr(3)
 * SYNOPSIS
 *	addr_test
 * DESCRIPTION
 *	One TAP line per table row. Each From value is copied into a heap
 *	buffer of exactly len octets, so that AddressSanitizer catches any
 *	read beyond len.
 * OWNERSHIP
 *	Every copy is freed before the next row.
 * DIAGNOSTICS
 *	Exit status 0 when every row passes, 1 otherwise.
 * SEE ALSO
 *	addr(3), tap(3)
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

/* A string literal and its length, NUL octets inside included. */
#define TEST_STR(s)	s, sizeof(s) - 1

/* A label of 63 octets, the longest allowed. */
#define TEST_L63	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct from_case {
	const char	*label;
	const char	*input;
	size_t		 len;		/* octets of input to parse */
	enum addr_status want;
	size_t		 want_n;
	const char	*want_domain;
};

static const struct from_case from_cases[] = {
	/* One mailbox. */
	{"bare addr-spec", TEST_STR("user@example.com"),
	    ADDR_OK, 1, "example.com"},
	{"leading space", TEST_STR(" user@example.com"),
	    ADDR_OK, 1, "example.com"},
	{"domain lowercased", TEST_STR("User@Example.COM"),
	    ADDR_OK, 1, "example.com"},
	{"name-addr", TEST_STR("John Doe <john@example.com>"),
	    ADDR_OK, 1, "example.com"},
	{"angle-addr only", TEST_STR("<john@example.com>"),
	    ADDR_OK, 1, "example.com"},
	{"quoted name with comma is one mailbox",
	    TEST_STR("\"Doe, John\" <j@x.org>"), ADDR_OK, 1, "x.org"},
	{"quoted name with escapes",
	    TEST_STR("\"A \\\"B\\\" \\\\C\" <a@x.org>"), ADDR_OK, 1, "x.org"},
	{"quoted name with <@>", TEST_STR("\"a@b <c@d>\" <e@x.org>"),
	    ADDR_OK, 1, "x.org"},
	{"quoted local part", TEST_STR("\"a b\"@example.com"),
	    ADDR_OK, 1, "example.com"},
	{"quoted local part with @", TEST_STR("<\"a@b\"@example.com>"),
	    ADDR_OK, 1, "example.com"},
	{"dotted local part", TEST_STR("first.last@example.com"),
	    ADDR_OK, 1, "example.com"},
	{"subdomain", TEST_STR("a@mail.Sub.Example.com"),
	    ADDR_OK, 1, "mail.sub.example.com"},
	{"folding CRLF SP", TEST_STR("John\r\n Doe <j@example.com>"),
	    ADDR_OK, 1, "example.com"},
	{"folding LF TAB", TEST_STR("\"John Doe\"\n\t<j@example.com>"),
	    ADDR_OK, 1, "example.com"},
	{"folding inside angle", TEST_STR("<j@example\r\n .com>"),
	    ADDR_OK, 1, "example.com"},
	{"trailing CRLF", TEST_STR("j@example.com\r\n"),
	    ADDR_OK, 1, "example.com"},
	{"8-bit display name", TEST_STR("J\303\266rg M\303\274ller <j@x.de>"),
	    ADDR_OK, 1, "x.de"},
	{"8-bit quoted display name", TEST_STR("\"M\303\274ller, J\" <j@x.de>"),
	    ADDR_OK, 1, "x.de"},
	{"8-bit local part", TEST_STR("j\303\266rg@x.de"),
	    ADDR_OK, 1, "x.de"},
	{"8-bit domain kept", TEST_STR("j@B\303\274cher.example"),
	    ADDR_OK, 1, "b\303\274cher.example"},
	{"RFC 2047 word", TEST_STR("=?UTF-8?B?SsO2cmc=?= <j@x.de>"),
	    ADDR_OK, 1, "x.de"},
	{"trailing comment", TEST_STR("j@example.com (John Doe)"),
	    ADDR_OK, 1, "example.com"},
	{"comment with @ and <",
	    TEST_STR("(evil@attacker.example <x@y>) j@example.com"),
	    ADDR_OK, 1, "example.com"},
	{"nested comment", TEST_STR("John (a (b@c) d) <j@example.com>"),
	    ADDR_OK, 1, "example.com"},
	{"comment with escaped paren", TEST_STR("(a \\) b@c) j@example.com"),
	    ADDR_OK, 1, "example.com"},
	{"CFWS inside angle", TEST_STR("< j (x) @ (y) example.com (z) >"),
	    ADDR_OK, 1, "example.com"},
	{"obsolete route",
	    TEST_STR("<@r1.example,@r2.example:user@example.com>"),
	    ADDR_OK, 1, "example.com"},
	{"obsolete phrase with dot", TEST_STR("John Q. Public <q@x.org>"),
	    ADDR_OK, 1, "x.org"},
	{"trailing dot stripped", TEST_STR("j@example.com."),
	    ADDR_OK, 1, "example.com"},
	{"group of one", TEST_STR("grp: a@x.org;"), ADDR_OK, 1, "x.org"},
	{"obs-list empty elements", TEST_STR("a@x.org,,"),
	    ADDR_OK, 1, "x.org"},
	{"obs-list leading comma", TEST_STR(" , a@x.org"),
	    ADDR_OK, 1, "x.org"},
	{"underscore in domain", TEST_STR("a@_dmarc.x.org"),
	    ADDR_OK, 1, "_dmarc.x.org"},

	/* Length-limited input: the buffer given is exactly len octets. */
	{"len stops before second mailbox",
	    "a@example.com, b@example.org", 13, ADDR_OK, 1, "example.com"},
	{"len stops inside domain", "a@example.com", 9,
	    ADDR_OK, 1, "example"},
	{"len stops inside quote", "\"abc\"@x.org", 3, ADDR_SYNTAX, 0, ""},
	{"len stops inside comment", "a@x.org (c)", 9, ADDR_SYNTAX, 0, ""},
	{"len zero", "a@x.org", 0, ADDR_EMPTY, 0, ""},

	/* More than one, or none. */
	{"two addr-specs", TEST_STR("a@b.example, c@d.example"),
	    ADDR_MULTIPLE, 2, ""},
	{"two name-addrs", TEST_STR("A <a@x.org>, \"B\" <b@y.org>"),
	    ADDR_MULTIPLE, 2, ""},
	{"group of two", TEST_STR("grp: a@x.org, c@y.org;"),
	    ADDR_MULTIPLE, 2, ""},
	{"group then mailbox", TEST_STR("team: A <a@x.org>;, b@y.org"),
	    ADDR_MULTIPLE, 2, ""},
	{"two, one without domain", TEST_STR("a@x.org, root"),
	    ADDR_MULTIPLE, 2, ""},
	{"empty value", TEST_STR(""), ADDR_EMPTY, 0, ""},
	{"only spaces", TEST_STR("    "), ADDR_EMPTY, 0, ""},
	{"only folding", TEST_STR("\r\n\t"), ADDR_EMPTY, 0, ""},
	{"only a comment", TEST_STR(" (nobody) "), ADDR_EMPTY, 0, ""},
	{"only commas", TEST_STR(", ,"), ADDR_EMPTY, 0, ""},
	{"empty group", TEST_STR("undisclosed-recipients:;"),
	    ADDR_EMPTY, 0, ""},
	{"empty group with CFWS", TEST_STR("Undisclosed: (none) ;"),
	    ADDR_EMPTY, 0, ""},

	/* No usable domain. */
	{"bare local part", TEST_STR("root"), ADDR_NO_DOMAIN, 1, ""},
	{"angle without domain", TEST_STR("Root <root>"),
	    ADDR_NO_DOMAIN, 1, ""},
	{"domain literal", TEST_STR("user@[192.0.2.1]"),
	    ADDR_NO_DOMAIN, 1, ""},
	{"IPv6 literal in angle", TEST_STR("<user@[IPv6:2001:db8::1]>"),
	    ADDR_NO_DOMAIN, 1, ""},
	{"bad domain character", TEST_STR("user@exa!mple.com"),
	    ADDR_NO_DOMAIN, 1, ""},
	{"label starts with hyphen", TEST_STR("user@-x.org"),
	    ADDR_NO_DOMAIN, 1, ""},

	/* Syntax errors. */
	{"unbalanced <", TEST_STR("John <j@example.com"), ADDR_SYNTAX, 0, ""},
	{"stray >", TEST_STR("j@example.com>"), ADDR_SYNTAX, 0, ""},
	{"nested angle", TEST_STR("<<a@x.org>>"), ADDR_SYNTAX, 0, ""},
	{"empty angle", TEST_STR("<>"), ADDR_SYNTAX, 0, ""},
	{"unterminated quote", TEST_STR("\"John <j@example.com>"),
	    ADDR_SYNTAX, 0, ""},
	{"unterminated comment", TEST_STR("j@example.com (John"),
	    ADDR_SYNTAX, 0, ""},
	{"stray )", TEST_STR("j@example.com)"), ADDR_SYNTAX, 0, ""},
	{"junk between addresses", TEST_STR("<a@b.example> junk <c@d.example>"),
	    ADDR_SYNTAX, 0, ""},
	{"two addresses no comma", TEST_STR("a@x.org b@y.org"),
	    ADDR_SYNTAX, 0, ""},
	{"NUL in domain", TEST_STR("a@exa\0mple.com"), ADDR_SYNTAX, 0, ""},
	{"NUL in quoted string", TEST_STR("\"a\0b\" <a@x.org>"),
	    ADDR_SYNTAX, 0, ""},
	{"NUL in comment", TEST_STR("a@x.org (\0)"), ADDR_SYNTAX, 0, ""},
	{"control octet", TEST_STR("a\001b@x.org"), ADDR_SYNTAX, 0, ""},
	{"bare @", TEST_STR("@"), ADDR_SYNTAX, 0, ""},
	{"no local part", TEST_STR("@example.com"), ADDR_SYNTAX, 0, ""},
	{"no domain after @", TEST_STR("user@"), ADDR_SYNTAX, 0, ""},
	{"phrase as local part", TEST_STR("a b@example.com"),
	    ADDR_SYNTAX, 0, ""},
	{"double dot local part", TEST_STR("a..b@example.com"),
	    ADDR_SYNTAX, 0, ""},
	{"double dot domain", TEST_STR("a@x..org"), ADDR_SYNTAX, 0, ""},
	{"phrase without address", TEST_STR("John Doe"), ADDR_SYNTAX, 0, ""},
	{"backslash outside quotes", TEST_STR("a\\b@x.org"),
	    ADDR_SYNTAX, 0, ""},
	{"nested group", TEST_STR("g1: g2: a@x.org;;"), ADDR_SYNTAX, 0, ""},
	{"group without name", TEST_STR(": a@x.org;"), ADDR_SYNTAX, 0, ""},
	{"group without ;", TEST_STR("grp: a@x.org"), ADDR_SYNTAX, 0, ""},
	{"; outside group", TEST_STR("a@x.org;"), ADDR_SYNTAX, 0, ""},
	{"route without colon", TEST_STR("<@r.example user@x.org>"),
	    ADDR_SYNTAX, 0, ""},
	{"unterminated literal", TEST_STR("a@[192.0.2.1"), ADDR_SYNTAX, 0, ""},
};

struct env_case {
	const char	*label;
	const char	*input;
	int		 want;
	const char	*want_domain;
};

static const struct env_case env_cases[] = {
	{"bracketed", "<user@Example.COM>", 0, "example.com"},
	{"unbracketed", "user@example.com", 0, "example.com"},
	{"null sender", "<>", 0, ""},
	{"source route", "<@r1.example,@r2.example:user@x.org>", 0, "x.org"},
	{"quoted local part with @", "<\"a@b\"@x.org>", 0, "x.org"},
	{"quoted local part with escape", "<\"a\\\"b\"@x.org>", 0, "x.org"},
	{"trailing dot", "<user@x.org.>", 0, "x.org"},
	{"surrounding blanks", " <user@x.org> ", 0, "x.org"},
	{"8-bit domain", "<u@B\303\274cher.example>", 0,
	    "b\303\274cher.example"},
	{"empty", "", -1, ""},
	{"no domain", "<postmaster>", -1, ""},
	{"empty domain", "<user@>", -1, ""},
	{"empty local part", "<@x.org>", -1, ""},
	{"domain literal", "<user@[192.0.2.1]>", -1, ""},
	{"unbalanced <", "<user@x.org", -1, ""},
	{"unbalanced >", "user@x.org>", -1, ""},
	{"two @", "<a@b@x.org>", -1, ""},
	{"unterminated quote", "<\"ab@x.org>", -1, ""},
	{"route without colon", "<@r.example>", -1, ""},
	{"space in local part", "<a b@x.org>", -1, ""},
	{"bad domain", "<a@x_y!.org>", -1, ""},
};

struct norm_case {
	const char	*label;
	const char	*input;
	int		 want;
	const char	*want_domain;	/* result, or the unchanged input */
};

static const struct norm_case norm_cases[] = {
	{"lowercase", "Example.COM", 0, "example.com"},
	{"one trailing dot", "example.com.", 0, "example.com"},
	{"two trailing dots", "example.com..", -1, "example.com.."},
	{"single label", "localhost", 0, "localhost"},
	{"underscore", "_domainkey.X.org", 0, "_domainkey.x.org"},
	{"digits and hyphen", "a-1.0x.org", 0, "a-1.0x.org"},
	{"UTF-8 kept", "B\303\234CHER.de", 0, "b\303\234cher.de"},
	{"empty", "", -1, ""},
	{"only a dot", ".", -1, "."},
	{"leading dot", ".x.org", -1, ".x.org"},
	{"empty label", "a..org", -1, "a..org"},
	{"label starts with hyphen", "-a.org", -1, "-a.org"},
	{"label ends with hyphen", "a-.org", -1, "a-.org"},
	{"space", "a b.org", -1, "a b.org"},
	{"at sign", "a@b.org", -1, "a@b.org"},
	{"label of 63", TEST_L63 ".org", 0, TEST_L63 ".org"},
	{"label of 64", TEST_L63 "a.org", -1, TEST_L63 "a.org"},
};

struct within_case {
	const char	*label;
	const char	*domain;
	const char	*parent;
	int		 want;
};

static const struct within_case within_cases[] = {
	{"equal", "example.com", "example.com", 1},
	{"equal, case differs", "Example.COM", "example.com", 1},
	{"subdomain", "mail.example.com", "example.com", 1},
	{"deep subdomain", "a.b.example.com", "EXAMPLE.com", 1},
	{"no label boundary", "badexample.com", "example.com", 0},
	{"parent longer", "example.com", "mail.example.com", 0},
	{"unrelated", "example.org", "example.com", 0},
	{"empty parent", "example.com", "", 0},
};

/* test_from - run one addr_from_domain() row on an exact-size copy */

static void
test_from(const struct from_case *tc)
{
	char	domain[ADDR_DOMAIN_MAX];
	char	*copy;
	size_t	n = 99;
	enum addr_status got;

	copy = malloc(tc->len > 0 ? tc->len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, tc->input, tc->len);
	got = addr_from_domain(copy, tc->len, domain, sizeof(domain), &n);
	free(copy);
	TAP_OK(got == tc->want && n == tc->want_n &&
	    strcmp(domain, tc->want_domain) == 0,
	    "from: %s (got %s, n=%zu, \"%s\")", tc->label,
	    addr_strerror(got), n, domain);
}

/* test_fill - "a@" and count labels of width x's, dot-separated */

static void
test_fill(char *buf, size_t count, size_t width)
{
	size_t	i;

	strcpy(buf, "a@");
	for (i = 0; i < count; i++) {
		if (i > 0)
			strcat(buf, ".");
		memset(buf + strlen(buf), 'x', width);
		buf[2 + i * (width + 1) + width] = '\0';
	}
}

/* test_from_lengths - rows whose input is built at run time */

static void
test_from_lengths(void)
{
	static const struct {
		size_t	count, width;
		enum addr_status want;
	} rows[] = {
		{4, 62, ADDR_OK},		/* 251 octets */
		{4, 63, ADDR_TOO_LONG},		/* 255: too long for DNS */
		{5, 63, ADDR_TOO_LONG},		/* 319: overflows the parser */
	};
	char	value[400], domain[ADDR_DOMAIN_MAX], small[8];
	size_t	n, i;
	enum addr_status got;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_fill(value, rows[i].count, rows[i].width);
		got = addr_from_domain(value, strlen(value), domain,
		    sizeof(domain), &n);
		TAP_OK(got == rows[i].want && n == 1 &&
		    strcmp(domain, got == ADDR_OK ? value + 2 : "") == 0,
		    "from: domain of %zu octets (got %s)", strlen(value) - 2,
		    addr_strerror(got));
	}
	got = addr_from_domain("a@example.com", 13, small, sizeof(small), &n);
	TAP_OK(got == ADDR_TOO_LONG && n == 1 && small[0] == '\0',
	    "from: domain does not fit domsize 8 (got %s)",
	    addr_strerror(got));
	got = addr_from_domain(NULL, 0, domain, sizeof(domain), NULL);
	TAP_OK(got == ADDR_EMPTY, "from: NULL value, NULL naddrs (got %s)",
	    addr_strerror(got));
}

/* test_env - run one addr_envelope_domain() row */

static void
test_env(const struct env_case *tc)
{
	char	domain[ADDR_DOMAIN_MAX];
	int	got;

	strcpy(domain, "junk");
	got = addr_envelope_domain(tc->input, domain, sizeof(domain));
	TAP_OK(got == tc->want && strcmp(domain, tc->want_domain) == 0,
	    "envelope: %s (got %d, \"%s\")", tc->label, got, domain);
}

/* test_norm - run one addr_domain_normalize() row */

static void
test_norm(const struct norm_case *tc)
{
	char	buf[ADDR_DOMAIN_MAX];
	int	got;

	strcpy(buf, tc->input);
	got = addr_domain_normalize(buf);
	TAP_OK(got == tc->want && strcmp(buf, tc->want_domain) == 0,
	    "normalize: %s (got %d, \"%s\")", tc->label, got, buf);
}

/* test_misc - size limits of the envelope and normalize, strerror */

static void
test_misc(void)
{
	char	buf[300], small[8];
	size_t	i;

	for (i = 0; i < 4; i++) {
		memset(buf + i * 64, 'z', 63);
		buf[i * 64 + 63] = '.';
	}
	buf[4 * 64 - 1] = '\0';		/* 4 * 63 + 3 = 255 octets */
	TAP_OK(addr_domain_normalize(buf) == -1,
	    "normalize: %zu octets rejected", strlen(buf));
	buf[3 * 64 + 61] = '\0';	/* 253 octets */
	TAP_OK(addr_domain_normalize(buf) == 0,
	    "normalize: %zu octets accepted", strlen(buf));
	TAP_OK(addr_domain_normalize(NULL) == -1, "normalize: NULL");
	TAP_OK(addr_envelope_domain("<a@example.com>", small,
	    sizeof(small)) == -1 && small[0] == '\0',
	    "envelope: domain does not fit domsize 8");
	TAP_OK(addr_envelope_domain(NULL, small, sizeof(small)) == -1,
	    "envelope: NULL argument");
	TAP_OK(strcmp(addr_strerror(ADDR_OK), "ok") == 0 &&
	    strcmp(addr_strerror(ADDR_EMPTY), "no address") == 0 &&
	    strcmp(addr_strerror(ADDR_MULTIPLE),
	    "more than one address") == 0 &&
	    strcmp(addr_strerror(ADDR_SYNTAX), "syntax error") == 0 &&
	    strcmp(addr_strerror(ADDR_NO_DOMAIN),
	    "address has no domain") == 0 &&
	    strcmp(addr_strerror(ADDR_TOO_LONG), "domain too long") == 0,
	    "strerror: every status has its text");
	TAP_OK(strcmp(addr_strerror((enum addr_status) 99),
	    "unknown address status") == 0, "strerror: unknown status");
}

int
main(void)
{
	size_t	i;
	const struct within_case *wc;

	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++)
		test_from(&from_cases[i]);
	test_from_lengths();
	for (i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++)
		test_env(&env_cases[i]);
	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++)
		test_norm(&norm_cases[i]);
	for (i = 0; i < sizeof(within_cases) / sizeof(within_cases[0]); i++) {
		wc = &within_cases[i];
		TAP_OK(addr_domain_within(wc->domain, wc->parent) == wc->want,
		    "within: %s (%s in %s)", wc->label, wc->domain,
		    wc->parent);
	}
	test_misc();
	return (tap_done());
}
