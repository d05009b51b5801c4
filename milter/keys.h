#ifndef KEYS_H
#define KEYS_H

#include <stddef.h>
#include <sys/types.h>

enum key_alg {
	KEY_ALG_RSA,
	KEY_ALG_ED25519
};

struct key {
	enum key_alg k_alg;
	int	k_bits;
	unsigned char *k_pem;		/* NUL-terminated PEM, wiped on free */
	size_t	k_pemlen;
	void	*k_pkey;		/* the parsed key (EVP_PKEY) */
	struct keys_pool *k_pool;	/* signing contexts ready for reuse */
};

struct keys_sha256;
struct keys_pool;

#define KEYS_SHA256_LEN	32
#define KEYS_SIG_MAX	2048		/* RSA-16384 */

#define KEYS_MAX_FILE	65536
#define KEYS_MIN_RSA	1024

struct key *keys_load(const char *path, uid_t owner, int min_rsa_bits,
	    char *err, size_t errlen);
void	keys_free(struct key *key);
const char *keys_alg_name(enum key_alg alg);
int	keys_public_record(const struct key *key, char *buf, size_t size);
int	keys_generate(enum key_alg alg, int bits, const char *path, uid_t uid,
	    gid_t gid, char *err, size_t errlen);
struct keys_sha256 *keys_sha256_new(void);
void	keys_sha256_update(struct keys_sha256 *h, const void *buf, size_t len);
int	keys_sha256_final(struct keys_sha256 *h,
	    unsigned char out[KEYS_SHA256_LEN]);
void	keys_sha256_free(struct keys_sha256 *h);
int	keys_sign(const struct key *key, const unsigned char dg[KEYS_SHA256_LEN],
	    unsigned char *sig, size_t *siglen);
void	keys_thread_end(void);

#endif
