/* hdr_test - header list caps, lookup and trimming */
#include "config.h"

#include <string.h>

#include "hdr.h"
#include "tap.h"

static void
test_caps(void)
{
	struct hdr_list hl;
	char	name[16];
	int	i, rc = 0;

	hdr_list_init(&hl, 5, 1000);
	for (i = 0; i < 6 && rc == 0; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		rc = hdr_list_add(&hl, name, " v");
	}
	TAP_OK(rc == HDR_ERR_COUNT && hl.hl_count == 5,
	    "sixth header over a cap of 5 is refused (rc=%d count=%zu)", rc,
	    hl.hl_count);
	hdr_list_fini(&hl);

	hdr_list_init(&hl, 100, 20);
	TAP_OK(hdr_list_add(&hl, "Subject", " 0123456789") == 0,
	    "18 bytes fit in 20");
	TAP_OK(hdr_list_add(&hl, "To", " x") == HDR_ERR_BYTES,
	    "4 more bytes do not fit in 20");
	TAP_OK(hdr_list_add(&hl, "T", "") == 0, "a 1-byte header still fits");
	hdr_list_fini(&hl);
}

static void
test_lookup(void)
{
	struct hdr_list hl;
	const struct hdr *h;

	hdr_list_init(&hl, 100, 10000);
	hdr_list_add(&hl, "From", " a@x");
	hdr_list_add(&hl, "To", " b@y");
	hdr_list_add(&hl, "FROM", " c@z");
	TAP_OK(hdr_list_count(&hl, "from") == 2, "From counted without case");
	h = hdr_list_find(&hl, "From", 1);
	TAP_OK(h != NULL && strcmp(h->h_value, " c@z") == 0,
	    "second From found, value as received");
	TAP_OK(hdr_list_find(&hl, "From", 2) == NULL, "no third From");
	TAP_OK(hdr_list_find(&hl, "Cc", 0) == NULL, "absent header is NULL");
	hdr_list_fini(&hl);
}

static void
test_trim(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{" value", "value"},
		{"\r\n\tfolded  \r\n", "folded"},
		{"   ", ""},
		{"a b", "a b"},
	};
	size_t	i, len;
	const char *p;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		p = hdr_value_trim(rows[i].in, &len);
		TAP_OK(len == strlen(rows[i].want) &&
		    strncmp(p, rows[i].want, len) == 0, "trim row %zu", i);
	}
}

int
main(void)
{
	test_caps();
	test_lookup();
	test_trim();
	return (tap_done());
}
