/*
 * NAME
 *	log_test - tests for log_escape(), the filter for untrusted log text
 * SYNOPSIS
 *	log_test
 * DESCRIPTION
 *	A table of inputs with their exact escaped form, then the limits
 *	(LOG_ESCAPE_MAX, a destination too small, dstsize 0), then 20,000
 *	random inputs checked for three properties: the result is printable
 *	ASCII without a double quote, fits its buffer (the octets after it
 *	keep a canary), and unescapes to a prefix of the input (the whole
 *	input when it was not cut).
 * OWNERSHIP
 *	Nothing is allocated.
 * DIAGNOSTICS
 *	Exit status 0 when every check passes, 1 otherwise.
 * SEE ALSO
 *	log(3), tap(3)
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tap.h"

#define TEST_STR(s)	s, sizeof(s) - 1

struct esc_case {
	const char	*label;
	const char	*in;
	size_t		 inlen;
	const char	*want;
};

static const struct esc_case esc_cases[] = {
	{"plain text unchanged", TEST_STR("alice@acme.example"),
	    "alice@acme.example"},
	{"empty input", TEST_STR(""), ""},
	{"CR LF (a forged second log line)",
	    TEST_STR("x\r\nJan  1 00:00:00 host egress-milter: done"),
	    "x\\015\\012Jan  1 00:00:00 host egress-milter: done"},
	{"NUL inside the length", TEST_STR("a\0b"), "a\\000b"},
	{"backslash", TEST_STR("a\\b"), "a\\134b"},
	{"double quote (closing reason=\"...\")",
	    TEST_STR("x\" action=accept"), "x\\042 action=accept"},
	{"8-bit UTF-8", TEST_STR("caf\xc3\xa9"), "caf\\303\\251"},
	{"DEL and 0xff", TEST_STR("\x7f\xff"), "\\177\\377"},
	{"tab and escape", TEST_STR("\t\033[31m"), "\\011\\033[31m"},
	{"space and tilde kept", TEST_STR(" ~"), " ~"},
	{"srclen shorter than the string", "abcdef", 3, "abc"},
};

/* unescape - undo log_escape(); length of the result, or -1 */

static long
unescape(const char *s, char *out, size_t outsize)
{
	size_t	o = 0;

	while (*s != '\0') {
		if (o >= outsize)
			return (-1);
		if (*s == '\\') {
			if (s[1] < '0' || s[1] > '3' || s[2] < '0' ||
			    s[2] > '7' || s[3] < '0' || s[3] > '7')
				return (-1);
			out[o++] = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else
			out[o++] = *s++;
	}
	return ((long)o);
}

/* check_table - exact output for each row */

static void
check_table(void)
{
	char	buf[4 * LOG_ESCAPE_MAX + 4];
	size_t	i;

	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		char   *r = log_escape(buf, sizeof(buf), c->in, c->inlen);

		TAP_OK(r == buf && strcmp(buf, c->want) == 0,
		    "%s: \"%s\" (want \"%s\")", c->label, buf, c->want);
	}
}

/* check_limits - the cut at LOG_ESCAPE_MAX and small destinations */

static void
check_limits(void)
{
	char	in[LOG_ESCAPE_MAX + 50], want[LOG_ESCAPE_MAX + 8];
	char	buf[4 * LOG_ESCAPE_MAX + 4 + 16];
	size_t	n;

	memset(in, 'a', sizeof(in));
	log_escape(buf, sizeof(buf), in, LOG_ESCAPE_MAX);
	TAP_OK(strlen(buf) == LOG_ESCAPE_MAX && strchr(buf, '.') == NULL,
	    "exactly LOG_ESCAPE_MAX octets: kept whole, no \"...\" (%zu)",
	    strlen(buf));

	log_escape(buf, sizeof(buf), in, LOG_ESCAPE_MAX + 1);
	memset(want, 'a', LOG_ESCAPE_MAX);
	memcpy(want + LOG_ESCAPE_MAX, "...", 4);
	TAP_OK(strcmp(buf, want) == 0,
	    "one octet over LOG_ESCAPE_MAX: cut, \"...\" appended");

	memset(in, '\n', sizeof(in));
	log_escape(buf, sizeof(buf), in, sizeof(in));
	TAP_OK(strlen(buf) == 4 * LOG_ESCAPE_MAX + 3,
	    "LOG_ESCAPE_MAX escaped octets fit a 4*MAX+4 buffer with \"...\" "
	    "(%zu)", strlen(buf));

	/* a destination too small: cut at a whole escape, NUL-terminated */
	for (n = 1; n <= 16; n++) {
		memset(buf, '#', sizeof(buf));
		log_escape(buf, n, TEST_STR("ab\"cd\\ef\001gh"));
		if (memchr(buf, '\0', n) == NULL || buf[n] != '#')
			break;
		if (strlen(buf) > 0 && unescape(buf, want, sizeof(want)) < 0)
			break;
	}
	TAP_OK(n > 16, "dstsize 1..16: NUL-terminated inside dstsize, no "
	    "cut escape, nothing written beyond (failed at %zu)", n);

	memset(buf, '#', sizeof(buf));
	log_escape(buf, 0, TEST_STR("abc"));
	TAP_OK(buf[0] == '#', "dstsize 0: nothing written");
}

/* check_random - properties over random inputs */

static void
check_random(void)
{
	unsigned char in[LOG_ESCAPE_MAX + 40];
	char	buf[4 * LOG_ESCAPE_MAX + 4 + 8], back[LOG_ESCAPE_MAX + 8];
	size_t	dsts[] = {8, 64, 300, 4 * LOG_ESCAPE_MAX + 4};
	int	bad_chars = 0, overrun = 0, not_prefix = 0, lost = 0, iter;

	srandom(20261123);
	for (iter = 0; iter < 20000; iter++) {
		size_t	len = (size_t)random() % sizeof(in), dst, i, ol;
		long	bl;
		int	cut;

		for (i = 0; i < len; i++)
			in[i] = (unsigned char)(random() % 4 == 0 ?
			    random() % 256 : 0x20 + random() % 0x5f);
		dst = dsts[iter % 4];
		memset(buf, '#', sizeof(buf));
		log_escape(buf, dst, (const char *)in, len);
		if (memchr(buf, '\0', dst) == NULL ||
		    (dst < sizeof(buf) && buf[dst] != '#')) {
			overrun++;
			continue;
		}
		ol = strlen(buf);
		for (i = 0; i < ol; i++)
			if (buf[i] < 0x20 || buf[i] >= 0x7f || buf[i] == '"')
				bad_chars++;
		cut = ol >= 3 && strcmp(buf + ol - 3, "...") == 0;
		if (cut)
			buf[ol - 3] = '\0';
		bl = unescape(buf, back, sizeof(back));
		if (bl < 0 || (size_t)bl > len ||
		    memcmp(back, in, (size_t)bl) != 0)
			not_prefix++;
		else if ((size_t)bl < len && !cut &&
		    dst == 4 * LOG_ESCAPE_MAX + 4)
			lost++;		/* cut without saying so */
	}
	TAP_OK(overrun == 0, "random: result within dstsize (%d overruns)",
	    overrun);
	TAP_OK(bad_chars == 0, "random: printable ASCII, no '\"' (%d bad)",
	    bad_chars);
	TAP_OK(not_prefix == 0, "random: unescapes to a prefix of the input "
	    "(%d not)", not_prefix);
	TAP_OK(lost == 0, "random: a full-size buffer cuts only with \"...\" "
	    "(%d silent cuts)", lost);
}

int
main(void)
{
	check_table();
	check_limits();
	check_random();
	return (tap_done());
}
