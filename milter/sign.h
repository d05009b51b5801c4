#ifndef SIGN_H
#define SIGN_H

#include <stddef.h>

struct cfg;
struct key;
struct sign_lib;
struct signer;

struct sign_lib *sign_lib_new(const struct cfg *cf, char *err, size_t errlen);
void	sign_lib_free(struct sign_lib *lib);
struct signer *sign_begin(struct sign_lib *lib, const struct key *key,
	    const char *domain, const char *selector, const char *id);
int	sign_header(struct signer *sg, const char *name, const char *value);
int	sign_eoh(struct signer *sg);
int	sign_body(struct signer *sg, const unsigned char *buf, size_t len);
char   *sign_end(struct signer *sg);
const char *sign_error(const struct signer *sg);
void	sign_free(struct signer *sg);

#define SIGN_HEADER	"DKIM-Signature"

#endif
