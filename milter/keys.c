/*
 * NAME
 *	keys - load DKIM private keys safely
 * SYNOPSIS
 *	#include "keys.h"
 *
 *	struct key *keys_load(const char *path, uid_t owner,
 *		    int min_rsa_bits, char *err, size_t errlen);
 *	void	keys_free(struct key *key);
 *	const char *keys_alg_name(enum key_alg alg);
 *	int	keys_public_record(const struct key *key, char *buf,
 *		    size_t size);
 *
 *	struct keys_sha256 *keys_sha256_new(void);
 *	void	keys_sha256_update(struct keys_sha256 *h, const void *buf,
 *		    size_t len);
 *	int	keys_sha256_final(struct keys_sha256 *h,
 *		    unsigned char out[KEYS_SHA256_LEN]);
 *	void	keys_sha256_free(struct keys_sha256 *h);
 *	int	keys_generate(enum key_alg alg, int bits, const char *path,
 *		    uid_t uid, gid_t gid, char *err, size_t errlen);
 *	int	keys_sign(const struct key *key,
 *		    const unsigned char dg[KEYS_SHA256_LEN],
 *		    unsigned char *sig, size_t *siglen);
 *	void	keys_thread_end(void);
 * DESCRIPTION
 *	keys_load() opens a PEM private key file, refuses it unless it is a
 *	regular file owned by root or by owner (the daemon's user) with no
 *	group or other permission bits, parses it with OpenSSL to learn its
 *	algorithm (RSA or Ed25519) and size, refuses RSA keys shorter than
 *	min_rsa_bits, and keeps the PEM text for the signer.
 *
 *	The parsed key (an OpenSSL EVP_PKEY) is kept with the PEM text, so
 *	keys_sign() signs without parsing the key again: RSA PKCS#1 v1.5 or
 *	Ed25519 over a SHA-256 digest, with a signing context taken from
 *	the key's pool of initialized ones (made on demand, at most 64 idle,
 *	freed with the key). keys_sha256_*() are the streaming
 *	SHA-256 the signer hashes with (OpenSSL stays in this file).
 *
 *	keys_generate() makes a new RSA (bits) or Ed25519 key and writes it
 *	as PKCS#8 PEM to a new file (never over an existing one) with mode
 *	0600, owned by uid:gid when run as root.
 *
 *	keys_sha256_free() keeps up to four contexts per thread for the
 *	next keys_sha256_new() of that thread.
 *
 *	keys_thread_end() frees those and what OpenSSL keeps for the calling
 *	thread (its random generators, made at its first RSA signature). A thread
 *	that signed calls it before it reports itself gone: at exit,
 *	OpenSSL's own cleanup may otherwise run before the thread's, and
 *	that state is lost.
 *
 *	keys_public_record() writes the DNS TXT record that publishes the
 *	key: "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" for RSA and
 *	"v=DKIM1; k=ed25519; p=<raw 32-byte key>" for Ed25519 (RFC 8463).
 * OWNERSHIP
 *	The caller owns the returned key and frees it with keys_free(),
 *	which wipes the key material. Keys are read before the daemon
 *	drops its privileges. Key material is never logged.
 * DIAGNOSTICS
 *	keys_load() returns NULL and a sentence naming the file and the
 *	problem in err. keys_public_record() returns -1 when the buffer is
 *	too small or OpenSSL fails.
 * SEE ALSO
 *	cfg(3), sign(3), RFC 6376, RFC 8463
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keys.h"
#include "xalloc.h"

/* keys_check_file - ownership and permission rules for a key file */

static int
keys_check_file(int fd, const char *path, uid_t owner, char *err,
    size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key file %s is not a regular file", path);
		return (-1);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "key file %s is accessible by group or "
		    "others (mode %04o): refusing it; run chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		return (-1);
	}
	if (st.st_uid != 0 && st.st_uid != owner) {
		snprintf(err, errlen, "key file %s is owned by uid %lu, not by "
		    "root or the daemon's user (uid %lu): refusing it", path,
		    (unsigned long)st.st_uid, (unsigned long)owner);
		return (-1);
	}
	if (st.st_size <= 0 || st.st_size > KEYS_MAX_FILE) {
		snprintf(err, errlen, "key file %s has an implausible size "
		    "(%lld bytes)", path, (long long)st.st_size);
		return (-1);
	}
	return (0);
}

/* keys_read - read the whole (small) file into a wiped-on-free buffer */

static unsigned char *
keys_read(const char *path, uid_t owner, size_t *len, char *err,
    size_t errlen)
{
	unsigned char *buf;
	size_t	n = 0;
	ssize_t	r;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return (NULL);
	}
	if (keys_check_file(fd, path, owner, err, errlen) == -1) {
		close(fd);
		return (NULL);
	}
	buf = xmalloc(KEYS_MAX_FILE + 1);
	while (n < KEYS_MAX_FILE &&
	    (r = read(fd, buf + n, KEYS_MAX_FILE - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "key file %s: %s", path,
			    strerror(errno));
			close(fd);
			xfree_secret(buf, KEYS_MAX_FILE + 1);
			return (NULL);
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return (buf);
}

/* keys_no_passphrase - never prompt: an encrypted key cannot be used */

static int
keys_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf, (void)size, (void)rwflag, (void)arg;
	return (-1);
}

/* keys_parse - learn algorithm and size; NULL if not a usable key */

static EVP_PKEY *
keys_parse(const unsigned char *pem, size_t len)
{
	BIO    *bio;
	EVP_PKEY *pk;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return (NULL);
	pk = PEM_read_bio_PrivateKey(bio, NULL, keys_no_passphrase, NULL);
	BIO_free(bio);
	return (pk);
}

/*
 * A key keeps the signing contexts it has used, ready for the next
 * signature: with OpenSSL 3 making one (fetching the algorithm, setting
 * up the provider's context) costs about 50 us for RSA-2048 and 10 us
 * for Ed25519, a sixth to a fifth of the signature. A context serves one
 * signature at a time; the pool holds at most KEYS_POOL_MAX idle ones.
 */
#define KEYS_POOL_MAX	64

static const EVP_MD *keys_md(void);

struct keys_pool {
	pthread_mutex_t kp_lock;
	void	*kp_ctx[KEYS_POOL_MAX];
	size_t	kp_n;
};

/* keys_load - load and vet one private key file */

struct key *
keys_load(const char *path, uid_t owner, int min_rsa_bits, char *err,
    size_t errlen)
{
	struct key *key;
	EVP_PKEY *pk;
	unsigned char *pem;
	size_t	len;
	int	type;

	if ((pem = keys_read(path, owner, &len, err, errlen)) == NULL)
		return (NULL);
	if ((pk = keys_parse(pem, len)) == NULL) {
		snprintf(err, errlen, "key file %s is not an unencrypted PEM "
		    "private key (RSA or Ed25519)", path);
		xfree_secret(pem, KEYS_MAX_FILE + 1);
		return (NULL);
	}
	key = xcalloc(1, sizeof(*key));
	key->k_pem = pem;
	key->k_pemlen = len;
	key->k_bits = EVP_PKEY_get_bits(pk);
	type = EVP_PKEY_get_base_id(pk);
	key->k_pkey = pk;		/* parsed once, shared read-only */
	if (type == EVP_PKEY_RSA)
		key->k_alg = KEY_ALG_RSA;
	else if (type == EVP_PKEY_ED25519)
		key->k_alg = KEY_ALG_ED25519;
	else {
		snprintf(err, errlen, "key file %s: only RSA and Ed25519 keys "
		    "can sign DKIM", path);
		keys_free(key);
		return (NULL);
	}
	if (key->k_alg == KEY_ALG_RSA && key->k_bits < min_rsa_bits) {
		snprintf(err, errlen, "key file %s: RSA key of %d bits is "
		    "shorter than the minimum of %d", path, key->k_bits,
		    min_rsa_bits);
		keys_free(key);
		return (NULL);
	}
	key->k_pool = xcalloc(1, sizeof(*key->k_pool));
	pthread_mutex_init(&key->k_pool->kp_lock, NULL);
	return (key);
}


/* keys_ctx_free - a signing context of either kind */

static void
keys_ctx_free(const struct key *key, void *ctx)
{
	if (key->k_alg == KEY_ALG_ED25519)
		EVP_MD_CTX_free(ctx);
	else
		EVP_PKEY_CTX_free(ctx);
}

/* keys_ctx_get - an idle context of the pool, or a new one; NULL */

static void *
keys_ctx_get(const struct key *key)
{
	struct keys_pool *kp = key->k_pool;
	EVP_PKEY_CTX *pc;
	EVP_MD_CTX *mc;
	void	*ctx = NULL;

	if (kp != NULL) {
		pthread_mutex_lock(&kp->kp_lock);
		if (kp->kp_n > 0)
			ctx = kp->kp_ctx[--kp->kp_n];
		pthread_mutex_unlock(&kp->kp_lock);
		if (ctx != NULL)
			return (ctx);
	}
	if (key->k_alg == KEY_ALG_ED25519) {
		if ((mc = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit_ex(mc, NULL, NULL, NULL, NULL,
		    key->k_pkey, NULL) != 1) {
			EVP_MD_CTX_free(mc);
			mc = NULL;
		}
		return (mc);
	}
	if ((pc = EVP_PKEY_CTX_new(key->k_pkey, NULL)) != NULL &&
	    (EVP_PKEY_sign_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pc, keys_md()) != 1)) {
		EVP_PKEY_CTX_free(pc);
		pc = NULL;
	}
	return (pc);
}

/* keys_ctx_put - back to the pool after a good signature */

static void
keys_ctx_put(const struct key *key, void *ctx)
{
	struct keys_pool *kp = key->k_pool;

	if (kp != NULL) {
		pthread_mutex_lock(&kp->kp_lock);
		if (kp->kp_n < KEYS_POOL_MAX) {
			kp->kp_ctx[kp->kp_n++] = ctx;
			ctx = NULL;
		}
		pthread_mutex_unlock(&kp->kp_lock);
	}
	if (ctx != NULL)
		keys_ctx_free(key, ctx);
}

/* keys_free - wipe and free */

void
keys_free(struct key *key)
{
	size_t	i;

	if (key == NULL)
		return;
	if (key->k_pool != NULL) {
		for (i = 0; i < key->k_pool->kp_n; i++)
			keys_ctx_free(key, key->k_pool->kp_ctx[i]);
		pthread_mutex_destroy(&key->k_pool->kp_lock);
		free(key->k_pool);
	}
	xfree_secret(key->k_pem, KEYS_MAX_FILE + 1);
	EVP_PKEY_free(key->k_pkey);
	free(key);
}

/* keys_md - SHA-256, fetched once (implicit fetches take locks) */

static EVP_MD *keys_sha256_md;
static pthread_once_t keys_md_once = PTHREAD_ONCE_INIT;

static void
keys_md_fetch(void)
{
	keys_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
keys_md(void)
{
	pthread_once(&keys_md_once, keys_md_fetch);
	return (keys_sha256_md);
}

/*
 * A few SHA-256 contexts kept per thread: a message needs one for its body
 * and one per signature, and making one takes two allocations in OpenSSL
 * (the context and the algorithm's state), which threads then contend for.
 */
#define KEYS_SHA_CACHE	4

static __thread EVP_MD_CTX *keys_sha_cache[KEYS_SHA_CACHE];
static __thread int keys_sha_cached;

/* keys_sha256_new - a SHA-256 context; NULL when memory runs out */

struct keys_sha256 *
keys_sha256_new(void)
{
	EVP_MD_CTX *ctx;

	if (keys_md() == NULL)
		return (NULL);
	if (keys_sha_cached > 0)
		ctx = keys_sha_cache[--keys_sha_cached];
	else if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (NULL);
	if (EVP_DigestInit_ex(ctx, keys_md(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return (NULL);
	}
	return ((struct keys_sha256 *)ctx);
}

/* keys_sha256_update - hash more bytes */

void
keys_sha256_update(struct keys_sha256 *h, const void *buf, size_t len)
{
	if (len > 0)
		(void)EVP_DigestUpdate((EVP_MD_CTX *)h, buf, len);
}

/* keys_sha256_final - the digest; 0 or -1 */

int
keys_sha256_final(struct keys_sha256 *h, unsigned char out[KEYS_SHA256_LEN])
{
	unsigned int n = 0;

	return (EVP_DigestFinal_ex((EVP_MD_CTX *)h, out, &n) == 1 &&
	    n == KEYS_SHA256_LEN ? 0 : -1);
}

/* keys_sha256_free - free a context (NULL ok) */

void
keys_sha256_free(struct keys_sha256 *h)
{
	if (h != NULL && keys_sha_cached < KEYS_SHA_CACHE)
		keys_sha_cache[keys_sha_cached++] = (EVP_MD_CTX *)h;
	else
		EVP_MD_CTX_free((EVP_MD_CTX *)h);
}

/*
 * keys_sign - sign a SHA-256 digest of the headers: RSASSA-PKCS1-v1_5
 * for RSA (RFC 6376), Ed25519 over the digest itself (RFC 8463). Both are
 * deterministic. Returns 0 with the signature in sig (*siglen updated),
 * -1 on failure.
 */
int
keys_sign(const struct key *key, const unsigned char dg[KEYS_SHA256_LEN],
    unsigned char *sig, size_t *siglen)
{
	void	*ctx;
	int	ok;

	if ((ctx = keys_ctx_get(key)) == NULL)
		return (-1);
	if (key->k_alg == KEY_ALG_ED25519)
		ok = EVP_DigestSign(ctx, sig, siglen, dg, KEYS_SHA256_LEN) == 1;
	else
		ok = EVP_PKEY_sign(ctx, sig, siglen, dg, KEYS_SHA256_LEN) == 1;
	if (ok)
		keys_ctx_put(key, ctx);
	else
		keys_ctx_free(key, ctx);	/* its state is unknown */
	return (ok ? 0 : -1);
}

/* keys_alg_name - the DKIM a= tag value */

const char *
keys_alg_name(enum key_alg alg)
{
	return (alg == KEY_ALG_ED25519 ? "ed25519-sha256" : "rsa-sha256");
}

/* keys_public_record - the TXT record to publish for this key */

int
keys_public_record(const struct key *key, char *buf, size_t size)
{
	unsigned char der[2200], *p = der;	/* RSA up to 16384 bits */
	unsigned char b64[3000];
	EVP_PKEY *pk;
	int	n, off = 0;

	if ((pk = keys_parse(key->k_pem, key->k_pemlen)) == NULL)
		return (-1);
	n = i2d_PUBKEY(pk, NULL);
	if (n <= 0 || n > (int)sizeof(der)) {
		EVP_PKEY_free(pk);
		return (-1);
	}
	n = i2d_PUBKEY(pk, &p);
	EVP_PKEY_free(pk);
	if (key->k_alg == KEY_ALG_ED25519) {
		if (n < 32)
			return (-1);
		off = n - 32;		/* the raw key ends the SPKI */
		n = 32;
	}
	EVP_EncodeBlock(b64, der + off, n);
	n = snprintf(buf, size, "v=DKIM1; k=%s; p=%s",
	    key->k_alg == KEY_ALG_ED25519 ? "ed25519" : "rsa", b64);
	return (n < 0 || (size_t)n >= size ? -1 : 0);
}

/* keys_write - PEM to a new 0600 file; 0 or -1 with err */

static int
keys_write(EVP_PKEY *pk, const char *path, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	BIO    *bio;
	int	fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (geteuid() == 0 && fchown(fd, uid, gid) == -1) {
		snprintf(err, errlen, "%s: chown: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return (-1);
	}
	if ((bio = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
		close(fd);
		unlink(path);
		snprintf(err, errlen, "%s: out of memory", path);
		return (-1);
	}
	ok = PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) == 1;
	ok = BIO_flush(bio) == 1 && ok;
	BIO_free(bio);
	if (!ok) {
		unlink(path);
		snprintf(err, errlen, "%s: cannot write the key", path);
		return (-1);
	}
	return (0);
}

/* keys_generate - a new private key in a new file */

int
keys_generate(enum key_alg alg, int bits, const char *path, uid_t uid,
    gid_t gid, char *err, size_t errlen)
{
	EVP_PKEY *pk;
	int	rc;

	if (alg == KEY_ALG_RSA && (bits < KEYS_MIN_RSA || bits > 16384)) {
		snprintf(err, errlen, "RSA keys have %d to 16384 bits",
		    KEYS_MIN_RSA);
		return (-1);
	}
	pk = alg == KEY_ALG_RSA ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)bits) : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL) {
		snprintf(err, errlen, "key generation failed");
		return (-1);
	}
	rc = keys_write(pk, path, uid, gid, err, errlen);
	EVP_PKEY_free(pk);
	return (rc);
}

/* keys_thread_end - free OpenSSL's state of the calling thread */

void
keys_thread_end(void)
{
	while (keys_sha_cached > 0)
		EVP_MD_CTX_free(keys_sha_cache[--keys_sha_cached]);
	OPENSSL_thread_stop();
}
