#ifndef DSIG_H
#define DSIG_H

#include <stddef.h>

struct cfg;
struct dsig;
struct dsig_lib;
struct key;

struct dsig_lib *dsig_lib_new(const struct cfg *cf);
void	dsig_lib_free(struct dsig_lib *dl);
struct dsig *dsig_begin(const struct dsig_lib *dl, const struct key *key,
	    const char *domain, const char *selector);
int	dsig_header(struct dsig *sg, const char *name, const char *value);
int	dsig_eoh(struct dsig *sg);
int	dsig_body(struct dsig *sg, const unsigned char *buf, size_t len);
void	dsig_share_body(struct dsig *sg, const struct dsig *with);
char   *dsig_end(struct dsig *sg);
const char *dsig_error(const struct dsig *sg);
void	dsig_free(struct dsig *sg);

#endif
