#ifndef EM_DMARC_H
#define EM_DMARC_H

#include "align.h"

struct dmarc_record {
	enum align_policy dr_p;
	enum align_policy dr_sp;
	enum align_mode dr_adkim;
	enum align_mode dr_aspf;
	int	dr_pct;
};

int	dmarc_is_record(const char *txt);
int	dmarc_parse(const char *txt, const char *domain, const char *org,
	    struct dmarc_record *rec);

#endif
