#ifndef EM_SPF_H
#define EM_SPF_H

#include "align.h"

struct spf;

struct spf *spf_new(void);
void	spf_free(struct spf *sp);
enum align_spf spf_check(struct spf *sp, const char *ip, const char *helo,
	    const char *sender);

#endif
