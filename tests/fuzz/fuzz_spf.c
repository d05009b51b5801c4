/*
 * fuzz_spf - SPF records and the sender's local part, as spf(3) has
 * libspf2 evaluate them
 *
 * Whoever owns the envelope sender's domain, or a domain its record
 * includes, writes the records libspf2 parses and expands inside the
 * daemon; the local part (the %{l} macro) comes from the client. spf.c
 * is compiled in here (run.sh leaves it out of the core sources) so its
 * server can be built over libspf2's zone layer instead of the resolver:
 * no network, the same spf_over() and spf_check().
 *
 * The input is lines: the local part, the record of example.com (the
 * sender's domain), the record of inc.example.net (for include: and
 * redirect=), then up to FUZZ_EXTRA more records of the zone, each
 * "NAME TYPE DATA" with TYPE one of A, AAAA, MX, PTR, TXT (the A, MX and
 * PTR answers that a:, mx:, ptr: and %{p} walk are the domain owner's
 * too). One line is the record alone. A first line with an "@" is the
 * whole envelope sender. As in preflight.c, the HELO name (the egress's,
 * from the config) may be absent only when the sender has a domain.
 */
#include "spf.c"

#include <netdb.h>
#include <stdint.h>
#include <stdio.h>

#include <spf2/spf_dns_zone.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_EXTRA	32

static ns_type fuzz_spf_type(const char *t);
static struct spf *fuzz_spf_zone(const char *rec, const char *inc,
		    char *extra);

/* fuzz_spf_type - a record type by name; TXT for anything else */

static ns_type
fuzz_spf_type(const char *t)
{
	return (strcmp(t, "A") == 0 ? ns_t_a : strcmp(t, "AAAA") == 0 ?
	    ns_t_aaaa : strcmp(t, "MX") == 0 ? ns_t_mx : strcmp(t, "PTR") ==
	    0 ? ns_t_ptr : ns_t_txt);
}

/*
 * fuzz_spf_zone - a server over a zone with the fixed records, the two
 * SPF records and the extra "NAME TYPE DATA" lines (modified in place)
 */
static struct spf *
fuzz_spf_zone(const char *rec, const char *inc, char *extra)
{
	static const char *const fixed[][3] = {
		{ "example.com", "A", "192.0.2.1" },
		{ "example.com", "MX", "mx.example.com" },
		{ "mx.example.com", "A", "192.0.2.2" },
		{ "mx.example.com", "AAAA", "2001:db8::2" },
		{ "1.2.0.192.in-addr.arpa", "PTR", "example.com" },
		{ "helo.example.com", "TXT", "v=spf1 a:example.com -all" },
	};
	SPF_dns_server_t *zone;
	char   *line, *name, *type, *next;
	size_t	i;

	if ((zone = SPF_dns_zone_new(NULL, "fuzz", 0)) == NULL)
		return (NULL);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		(void)SPF_dns_zone_add_str(zone, fixed[i][0],
		    fuzz_spf_type(fixed[i][1]), NETDB_SUCCESS, fixed[i][2]);
	for (line = extra, i = 0; line != NULL && i < FUZZ_EXTRA; i++,
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		name = line;
		if ((type = strchr(name, ' ')) == NULL)
			continue;
		*type++ = '\0';
		if ((line = strchr(type, ' ')) == NULL || *name == '\0')
			continue;
		*line++ = '\0';
		(void)SPF_dns_zone_add_str(zone, name, fuzz_spf_type(type),
		    NETDB_SUCCESS, line);
	}
	(void)SPF_dns_zone_add_str(zone, "example.com", ns_t_txt,
	    NETDB_SUCCESS, rec);
	if (inc != NULL)
		(void)SPF_dns_zone_add_str(zone, "inc.example.net", ns_t_txt,
		    NETDB_SUCCESS, inc);
	return (spf_over(zone));	/* as spf_new() over the resolver */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *s, *rec, *inc = NULL, *extra = NULL, *nl, sender[300];
	const char *local = "user", *helo = "helo.example.com";
	struct spf *sp;
	enum align_spf res;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	rec = s;
	if ((nl = strchr(rec, '\n')) != NULL) {
		*nl = '\0';
		local = s;
		rec = nl + 1;
		if ((nl = strchr(rec, '\n')) != NULL) {
			*nl = '\0';
			inc = nl + 1;
			if ((nl = strchr(inc, '\n')) != NULL) {
				*nl = '\0';
				extra = nl + 1;
			}
		}
	}
	if (strlen(local) > 200)
		local = "user";
	if (strchr(local, '@') != NULL)
		snprintf(sender, sizeof(sender), "%s", local);
	else if (size % 5 == 0)
		sender[0] = '\0';
	else {
		snprintf(sender, sizeof(sender), "%s@example.com", local);
		if (size % 3 == 0)
			helo = NULL;
	}
	if ((sp = fuzz_spf_zone(rec, inc, extra)) != NULL) {
		res = spf_check(sp, size % 2 ? "2001:db8::1" : "192.0.2.1",
		    helo, sender);
		if (res < ALIGN_SPF_NONE || res > ALIGN_SPF_PERMERROR)
			abort();
		spf_free(sp);
	}
	free(s);
	return (0);
}
