#ifndef PSL_H
#define PSL_H

#include <stddef.h>

#define PSL_DEFAULT_PATH	"/usr/share/publicsuffix/public_suffix_list.dat"

struct psl;

struct psl *psl_load(const char *path, char *err, size_t errlen);
void	psl_free(struct psl *psl);
size_t	psl_count(const struct psl *psl);
int	psl_org_domain(const struct psl *psl, const char *domain, char *out,
	    size_t outsize);

#endif
