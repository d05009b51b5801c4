/*
 * fuzz_dmarc - a DMARC TXT record, as dmarc(3) hands it to libopendmarc
 *
 * The record is the From domain's own: whoever owns a domain a tenant
 * sends from writes it, so libopendmarc's parser reads text from outside.
 * What dmarc(3) promises of a record it accepts is checked; abort() is a
 * crash for libFuzzer.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "dmarc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_dmarc_check(const struct dmarc_record *rec);

/* fuzz_dmarc_check - the fields of an accepted record are ours and sane */

static void
fuzz_dmarc_check(const struct dmarc_record *rec)
{
	if (rec->dr_p != ALIGN_P_NONE && rec->dr_p != ALIGN_P_QUARANTINE &&
	    rec->dr_p != ALIGN_P_REJECT)
		abort();
	if (rec->dr_sp != ALIGN_P_NONE && rec->dr_sp != ALIGN_P_QUARANTINE &&
	    rec->dr_sp != ALIGN_P_REJECT)
		abort();
	if (rec->dr_adkim != ALIGN_STRICT && rec->dr_adkim != ALIGN_RELAXED)
		abort();
	if (rec->dr_aspf != ALIGN_STRICT && rec->dr_aspf != ALIGN_RELAXED)
		abort();
	if (rec->dr_pct < 0 || rec->dr_pct > 100)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record rec;
	char   *s;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&rec, 0xa5, sizeof(rec));
	(void)dmarc_is_record(s);
	if (dmarc_parse(s, "mail.example.com", "example.com", &rec) == 0)
		fuzz_dmarc_check(&rec);
	free(s);
	return (0);
}
