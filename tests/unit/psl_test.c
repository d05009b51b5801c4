/*
 * NAME
 *	psl_test - table-driven tests for psl(3)
 * SYNOPSIS
 *	psl_test
 * DESCRIPTION
 *	One TAP line per table row. The first table runs on the Debian
 *	list (PSL_DEFAULT_PATH); when it is not installed, each of its rows
 *	prints a TAP "# SKIP" line instead. The second table runs on a
 *	small list written to a temporary file, so that the algorithm is
 *	tested independently of what the real list holds. Then come
 *	psl_load() errors and rows whose input is built at run time.
 * OWNERSHIP
 *	Every table and every temporary file is freed or removed before
 *	the program exits.
 * DIAGNOSTICS
 *	Exit status 0 when every row passes, 1 otherwise.
 * SEE ALSO
 *	psl(3), tap(3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psl.h"
#include "tap.h"

#define TEST_OUT_MAX	256		/* out buffer of most rows */

struct org_case {
	const char	*label;
	const char	*domain;
	size_t		 outsize;	/* 0: TEST_OUT_MAX */
	int		 want;
	const char	*want_org;	/* "" when want is -1 */
};

static const struct org_case real_cases[] = {
	{"registered domain", "example.com", 0, 0, "example.com"},
	{"subdomains", "a.b.example.com", 0, 0, "example.com"},
	{"two-label suffix", "www.example.co.uk", 0, 0, "example.co.uk"},
	{"org domain itself", "example.co.uk", 0, 0, "example.co.uk"},
	{"two-label suffix alone", "co.uk", 0, -1, ""},
	{"gTLD alone", "com", 0, -1, ""},
	{"ccTLD alone", "uk", 0, -1, ""},
	{"trailing dot", "www.example.com.", 0, 0, "example.com"},
	{"upper case", "MAIL.Example.CO.UK", 0, 0, "example.co.uk"},
	{"upper case and trailing dot", "WWW.EXAMPLE.COM.", 0, 0,
	    "example.com"},
	{"wildcard *.ck", "foo.bar.ck", 0, 0, "foo.bar.ck"},
	{"below wildcard *.ck", "a.foo.bar.ck", 0, 0, "foo.bar.ck"},
	{"wildcard match is a suffix", "bar.ck", 0, -1, ""},
	{"wildcard parent alone", "ck", 0, -1, ""},
	{"exception !www.ck", "www.ck", 0, 0, "www.ck"},
	{"below exception !www.ck", "mail.www.ck", 0, 0, "www.ck"},
	{"exception !city.kobe.jp", "www.city.kobe.jp", 0, 0,
	    "city.kobe.jp"},
	{"wildcard *.kobe.jp", "a.b.kobe.jp", 0, 0, "a.b.kobe.jp"},
	{"private github.io", "x.github.io", 0, 0, "x.github.io"},
	{"below private github.io", "a.x.github.io", 0, 0, "x.github.io"},
	{"private suffix alone", "github.io", 0, -1, ""},
	{"private blogspot.com", "b.foo.blogspot.com", 0, 0,
	    "foo.blogspot.com"},
	{"private wildcard, parent not a rule",
	    "a.b.compute.amazonaws.com", 0, 0, "a.b.compute.amazonaws.com"},
	{"interior node is not a rule", "x.amazonaws.com", 0, 0,
	    "amazonaws.com"},
	{"unknown TLD", "foo.example.invalid", 0, 0, "example.invalid"},
	{"unknown TLD alone", "invalid", 0, -1, ""},
	{"single label", "localhost", 0, -1, ""},
	{"A-label TLD (implicit rule)", "mail.example.xn--p1ai", 0, 0,
	    "example.xn--p1ai"},
	{"A-label below U-label rule (known limit)", "foo.xn--55qx5d.cn", 0,
	    0, "xn--55qx5d.cn"},
	{"U-label rule as UTF-8", "a.foo.\345\205\254\345\217\270.cn", 0,
	    0, "foo.\345\205\254\345\217\270.cn"},
	{"empty", "", 0, -1, ""},
	{"only a dot", ".", 0, -1, ""},
	{"two trailing dots", "example.com..", 0, -1, ""},
	{"empty label in the result", "a..com", 0, -1, ""},
	{"out exactly fits", "www.example.com", 12, 0, "example.com"},
	{"out one octet short", "www.example.com", 11, -1, ""},
};

/* The list behind custom_cases: comments, blanks, case, junk after rules. */
static const char test_custom_list[] =
	"// a test list\n"
	"\n"
	"example\n"
	"*.wild.example\n"
	"!ok.wild.example\n"
	"   \t\n"
	"  Deep.Rule.TEST   trailing words\r\n"
	"three.level.test\t// comment\n"
	"example\n"
	"last.test";

static const struct org_case custom_cases[] = {
	{"custom: rule alone", "example", 0, -1, ""},
	{"custom: below rule", "a.example", 0, 0, "a.example"},
	{"custom: deeper below rule", "b.a.example", 0, 0, "a.example"},
	{"custom: wildcard parent", "wild.example", 0, 0, "wild.example"},
	{"custom: wildcard match", "x.wild.example", 0, -1, ""},
	{"custom: below wildcard", "y.x.wild.example", 0, 0,
	    "y.x.wild.example"},
	{"custom: exception", "ok.wild.example", 0, 0, "ok.wild.example"},
	{"custom: below exception", "a.ok.wild.example", 0, 0,
	    "ok.wild.example"},
	{"custom: rule lowercased", "deep.rule.test", 0, -1, ""},
	{"custom: below lowercased rule", "x.Deep.Rule.Test.", 0, 0,
	    "x.deep.rule.test"},
	{"custom: node only, implicit *", "rule.test", 0, 0, "rule.test"},
	{"custom: node only, deeper", "a.b.rule.test", 0, 0, "rule.test"},
	{"custom: rule before a comment", "a.three.level.test", 0, 0,
	    "a.three.level.test"},
	{"custom: words after a rule ignored", "a.trailing.words", 0, 0,
	    "trailing.words"},
	{"custom: last line without newline", "a.b.last.test", 0, 0,
	    "b.last.test"},
	{"custom: unknown TLD", "a.b.other", 0, 0, "b.other"},
};

struct load_case {
	const char	*label;
	const char	*content;
	const char	*want_err;	/* substring after "<path>" */
};

static const struct load_case load_cases[] = {
	{"load: only comments", "// nothing\n\n  \n// here\n", ": no rules"},
	{"load: empty file", "", ": no rules"},
	{"load: wildcard not leftmost", "ok\na.*.b\n", ":2: bad rule"},
	{"load: bare wildcard", "*\n", ":1: bad rule"},
	{"load: exception of one label", "com\n!com\n", ":2: bad rule"},
	{"load: empty label", "a..b\n", ":1: bad rule"},
	{"load: leading dot", ".a\n", ":1: bad rule"},
};

/* test_write - write content to a new temporary file, its name in path */

static int
test_write(const char *content, char *path, size_t size)
{
	FILE	*fp;
	int	fd;

	snprintf(path, size, "/tmp/psl_test.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return (-1);
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return (-1);
	}
	fputs(content, fp);
	if (fclose(fp) != 0) {
		unlink(path);
		return (-1);
	}
	return (0);
}

/* test_org - run one psl_org_domain() row; psl NULL means skip it */

static void
test_org(const struct psl *psl, const struct org_case *tc, const char *why)
{
	char	out[TEST_OUT_MAX];
	size_t	outsize = tc->outsize == 0 ? sizeof(out) : tc->outsize;
	int	got;

	if (psl == NULL) {
		TAP_OK(1, "%s # SKIP %s", tc->label, why);
		return;
	}
	memset(out, 'Z', sizeof(out));
	got = psl_org_domain(psl, tc->domain, out, outsize);
	TAP_OK(got == tc->want && strcmp(out, tc->want_org) == 0,
	    "%s: \"%s\" (got %d, \"%s\")", tc->label, tc->domain, got, out);
}

/* test_real - rows on the installed list, or SKIP lines without it */

static void
test_real(void)
{
	struct psl *psl;
	char	err[512];
	size_t	i;

	psl = psl_load(PSL_DEFAULT_PATH, err, sizeof(err));
	if (psl != NULL)
		TAP_OK(psl_count(psl) > 5000, "real: %zu rules loaded",
		    psl_count(psl));
	else
		TAP_OK(1, "real: load # SKIP %s", err);
	for (i = 0; i < sizeof(real_cases) / sizeof(real_cases[0]); i++)
		test_org(psl, &real_cases[i], "no public suffix list");
	psl_free(psl);
}

/* test_custom - rows on a small list of our own */

static void
test_custom(void)
{
	struct psl *psl = NULL;
	char	path[64], err[512];
	size_t	i;

	if (test_write(test_custom_list, path, sizeof(path)) == 0) {
		psl = psl_load(path, err, sizeof(err));
		unlink(path);
	} else
		snprintf(err, sizeof(err), "cannot write a temporary file");
	TAP_OK(psl != NULL && psl_count(psl) == 6,
	    "custom: load, 6 distinct rules (got %zu, %s)", psl_count(psl),
	    psl != NULL ? "ok" : err);
	for (i = 0; i < sizeof(custom_cases) / sizeof(custom_cases[0]); i++)
		test_org(psl, &custom_cases[i], "custom list not loaded");
	psl_free(psl);
}

/* test_load_error - one psl_load() row that must fail */

static void
test_load_error(const struct load_case *tc)
{
	struct psl *psl = NULL;
	char	path[64], want[128], err[512];

	strcpy(err, "cannot write a temporary file");
	strcpy(want, "\001");
	if (test_write(tc->content, path, sizeof(path)) == 0) {
		psl = psl_load(path, err, sizeof(err));
		unlink(path);
		snprintf(want, sizeof(want), "%s%s", path, tc->want_err);
	}
	TAP_OK(psl == NULL && strstr(err, want) != NULL, "%s (got \"%s\")",
	    tc->label, err);
	psl_free(psl);
}

/* test_long - domains of many labels and of 250 octets */

static void
test_long(const struct psl *psl)
{
	char	domain[1200], out[TEST_OUT_MAX], want[80];
	size_t	i;
	int	got;

	domain[0] = '\0';
	for (i = 0; i < 500; i++)
		strcat(domain, "a.");
	strcat(domain, "example.co.uk");
	got = psl_org_domain(psl, domain, out, sizeof(out));
	TAP_OK(got == 0 && strcmp(out, "example.co.uk") == 0,
	    "long: 502 labels, %zu octets (got %d, \"%s\")", strlen(domain),
	    got, out);
	memset(domain, 'a', 63 * 3 + 2);	/* 63, 63, 63 and 55 octets */
	domain[63] = domain[127] = domain[191] = '.';
	memset(domain + 192, 'D', 55);
	strcpy(domain + 247, ".com");
	memset(want, 'd', 55);
	strcpy(want + 55, ".com");
	got = psl_org_domain(psl, domain, out, sizeof(out));
	TAP_OK(got == 0 && strcmp(out, want) == 0,
	    "long: %zu octets, labels of 63 (got %d)", strlen(domain), got);
}

/* test_misc - load errors without a file, NULL arguments, long input */

static void
test_misc(void)
{
	struct psl *psl = NULL;
	char	path[64], err[512], out[16];

	err[0] = '\0';
	psl = psl_load("/nonexistent/psl.dat", err, sizeof(err));
	TAP_OK(psl == NULL && strstr(err, "/nonexistent/psl.dat") != NULL &&
	    strstr(err, "No such file") != NULL,
	    "load: missing file (got \"%s\")", err);
	err[0] = '\0';
	psl = psl_load("/tmp", err, sizeof(err));
	TAP_OK(psl == NULL && strstr(err, "/tmp: read error") != NULL,
	    "load: a directory (got \"%s\")", err);
	psl_free(NULL);
	TAP_OK(psl_count(NULL) == 0, "psl_free(NULL) and psl_count(NULL)");
	strcpy(out, "junk");
	TAP_OK(psl_org_domain(NULL, "example.com", out, sizeof(out)) == -1 &&
	    out[0] == '\0', "org: NULL table");
	if (test_write("com\nco.uk\n", path, sizeof(path)) == 0) {
		psl = psl_load(path, err, sizeof(err));
		unlink(path);
	}
	TAP_OK(psl != NULL && psl_org_domain(psl, NULL, out,
	    sizeof(out)) == -1 && out[0] == '\0', "org: NULL domain");
	if (psl != NULL)
		test_long(psl);
	else
		TAP_OK(0, "long: no table");
	strcpy(out, "junk");
	TAP_OK(psl != NULL && psl_org_domain(psl, "example.com", out,
	    0) == -1 && strcmp(out, "junk") == 0,
	    "org: out of size 0 is not written");
	psl_free(psl);
}

int
main(void)
{
	size_t	i;

	test_real();
	test_custom();
	for (i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++)
		test_load_error(&load_cases[i]);
	test_misc();
	return (tap_done());
}
