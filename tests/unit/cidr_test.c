/*
 * NAME
 *	cidr_test - table-driven tests for cidr(3)
 * SYNOPSIS
 *	cidr_test
 * DESCRIPTION
 *	One TAP line per table row: parse and format round trips, bad
 *	input, and matching of IPv4, IPv6 and IPv4-mapped addresses.
 * OWNERSHIP
 *	Nothing is allocated.
 * DIAGNOSTICS
 *	Exit status 0 when every row passes, 1 otherwise.
 * SEE ALSO
 *	cidr(3), tap(3)
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "tap.h"

struct parse_case {
	const char	*label;
	const char	*input;
	int		 want;
	const char	*want_text;	/* cidr_format() result */
};

static const struct parse_case parse_cases[] = {
	{"IPv4 network", "10.0.0.0/8", 0, "10.0.0.0/8"},
	{"IPv4 host bits cleared", "10.1.2.3/8", 0, "10.0.0.0/8"},
	{"IPv4 host", "192.0.2.1", 0, "192.0.2.1/32"},
	{"IPv4 /32", "192.0.2.1/32", 0, "192.0.2.1/32"},
	{"IPv4 /0", "203.0.113.7/0", 0, "0.0.0.0/0"},
	{"IPv4 odd prefix", "192.0.2.255/25", 0, "192.0.2.128/25"},
	{"IPv4 /31", "192.0.2.7/31", 0, "192.0.2.6/31"},
	{"IPv6 network", "2001:db8::/32", 0, "2001:db8::/32"},
	{"IPv6 odd prefix", "2001:db8:ffff::1/33", 0, "2001:db8:8000::/33"},
	{"IPv6 host", "::1", 0, "::1/128"},
	{"IPv6 /0", "2001:db8::1/0", 0, "::/0"},
	{"IPv6 link-local", "fe80::1234/10", 0, "fe80::/10"},
	{"IPv6 mapped prefix", "::ffff:0.0.0.0/96", 0, "::ffff:0.0.0.0/96"},
	{"empty", "", -1, ""},
	{"only a prefix", "/8", -1, ""},
	{"IPv4 prefix too big", "10.0.0.0/33", -1, ""},
	{"IPv6 prefix too big", "::/129", -1, ""},
	{"empty prefix", "10.0.0.0/", -1, ""},
	{"junk after prefix", "10.0.0.0/8x", -1, ""},
	{"two slashes", "2001:db8::/32/1", -1, ""},
	{"negative prefix", "10.0.0.0/-1", -1, ""},
	{"signed prefix", "10.0.0.0/+8", -1, ""},
	{"blank before prefix", "10.0.0.0/ 8", -1, ""},
	{"long prefix digits", "10.0.0.0/0008", -1, ""},
	{"leading blank", " 10.0.0.0/8", -1, ""},
	{"octet out of range", "10.0.0.256", -1, ""},
	{"IPv4 shorthand", "10/8", -1, ""},
	{"zone index", "fe80::1%eth0", -1, ""},
	{"not an address", "example.com/24", -1, ""},
	{"overlong text", "1111:2222:3333:4444:5555:6666:7777:8888:"
	    "9999:aaaa:bbbb:cccc:dddd:eeee/64", -1, ""},
};

struct match_case {
	const char	*label;
	const char	*net;
	const char	*addr;		/* IPv4 or IPv6 text */
	int		 want;
};

static const struct match_case match_cases[] = {
	{"IPv4 inside /8", "10.0.0.0/8", "10.255.1.1", 1},
	{"IPv4 outside /8", "10.0.0.0/8", "11.0.0.1", 0},
	{"IPv4 below /25", "192.0.2.128/25", "192.0.2.127", 0},
	{"IPv4 first of /25", "192.0.2.128/25", "192.0.2.128", 1},
	{"IPv4 last of /25", "192.0.2.128/25", "192.0.2.255", 1},
	{"IPv4 /0 matches all", "0.0.0.0/0", "203.0.113.9", 1},
	{"IPv4 host same", "192.0.2.1", "192.0.2.1", 1},
	{"IPv4 host other", "192.0.2.1", "192.0.2.2", 0},
	{"IPv6 inside /32", "2001:db8::/32", "2001:db8:1::5", 1},
	{"IPv6 outside /32", "2001:db8::/32", "2001:db9::1", 0},
	{"IPv6 inside /10", "fe80::/10", "febf::1", 1},
	{"IPv6 outside /10", "fe80::/10", "fec0::1", 0},
	{"IPv6 loopback", "::1", "::1", 1},
	{"IPv6 /0 matches IPv6", "::/0", "2001:db8::1", 1},
	{"mapped in IPv4 net", "192.0.2.0/24", "::ffff:192.0.2.1", 1},
	{"mapped outside IPv4 net", "192.0.2.0/24", "::ffff:198.51.100.1", 0},
	{"mapped in 127/8", "127.0.0.0/8", "::ffff:127.0.0.2", 1},
	{"compatible is not mapped", "10.0.0.0/8", "::10.0.0.1", 0},
	{"IPv6 bits equal to IPv4", "192.0.2.0/24", "c000:201::", 0},
	{"IPv4 in mapped /96", "::ffff:0:0/96", "192.0.2.1", 1},
	{"IPv4 in mapped /120", "::ffff:192.0.2.0/120", "192.0.2.9", 1},
	{"IPv4 not in IPv6 net", "2001:db8::/32", "192.0.2.1", 0},
	{"IPv6 not in IPv4 /0", "0.0.0.0/0", "2001:db8::1", 0},
};

/* test_sockaddr - fill ss with the IPv4 or IPv6 address in text */

static const struct sockaddr *
test_sockaddr(struct sockaddr_storage *ss, const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *) ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(25);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(25);
	} else {
		abort();
	}
	return ((const struct sockaddr *) ss);
}

/* test_parse - parse one row and format it back */

static void
test_parse(const struct parse_case *tc)
{
	struct cidr net;
	char	text[64];
	int	got;

	memset(&net, 0xa5, sizeof(net));
	strcpy(text, "");
	got = cidr_parse(tc->input, &net);
	if (got == 0 && cidr_format(&net, text, sizeof(text)) < 0)
		strcpy(text, "(format failed)");
	TAP_OK(got == tc->want && strcmp(text, tc->want_text) == 0,
	    "parse: %s \"%s\" (got %d, \"%s\")", tc->label, tc->input, got,
	    text);
}

/* test_match - match one address against one network */

static void
test_match(const struct match_case *tc)
{
	struct sockaddr_storage ss;
	struct cidr net;
	int	got = -1;

	if (cidr_parse(tc->net, &net) == 0)
		got = cidr_match(&net, test_sockaddr(&ss, tc->addr));
	TAP_OK(got == tc->want, "match: %s (%s in %s: got %d)", tc->label,
	    tc->addr, tc->net, got);
}

/* test_misc - lists, odd families, NULL, short buffers */

static void
test_misc(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	struct cidr nets[3], net;
	char	buf[16];

	if (cidr_parse("10.0.0.0/8", &nets[0]) < 0 ||
	    cidr_parse("2001:db8::/32", &nets[1]) < 0 ||
	    cidr_parse("192.0.2.0/24", &nets[2]) < 0)
		abort();
	TAP_OK(cidr_match_list(nets, 3, test_sockaddr(&ss, "192.0.2.7")),
	    "list: last network matches");
	TAP_OK(cidr_match_list(nets, 3, test_sockaddr(&ss, "2001:db8::7")),
	    "list: IPv6 network matches");
	TAP_OK(!cidr_match_list(nets, 3, test_sockaddr(&ss, "198.51.100.1")),
	    "list: no network matches");
	TAP_OK(!cidr_match_list(nets, 2, test_sockaddr(&ss, "192.0.2.7")),
	    "list: n limits the networks tried");
	TAP_OK(!cidr_match_list(nets, 0, test_sockaddr(&ss, "10.0.0.1")),
	    "list: empty list matches nothing");
	TAP_OK(!cidr_match(&nets[0], NULL), "match: NULL address");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	TAP_OK(!cidr_match_list(nets, 3, (struct sockaddr *) &sun),
	    "match: AF_UNIX address");
	TAP_OK(cidr_parse(NULL, &net) == -1, "parse: NULL text");
	TAP_OK(cidr_format(&nets[0], buf, 11) == 0 &&
	    strcmp(buf, "10.0.0.0/8") == 0, "format: exact fit");
	TAP_OK(cidr_format(&nets[0], buf, 10) == -1 && buf[0] == '\0',
	    "format: one octet short");
	TAP_OK(cidr_format(&nets[1], buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "2001:db8::/32") == 0, "format: IPv6");
	memset(&net, 0, sizeof(net));
	net.family = AF_UNIX;
	TAP_OK(cidr_format(&net, buf, sizeof(buf)) == -1,
	    "format: bad family");
}

int
main(void)
{
	size_t	i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++)
		test_parse(&parse_cases[i]);
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++)
		test_match(&match_cases[i]);
	test_misc();
	return (tap_done());
}
