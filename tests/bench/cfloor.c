/*
 * cfloor - the crypto floor of DKIM signing on this machine
 *
 *	cfloor RSA.pem ED25519.pem SECONDS ALG SIZE
 *
 * The least CPU a signer must spend per message, measured the way the
 * best signer would spend it: keys parsed once, signing contexts made
 * once and reused, SHA-256 fetched once. Per message: the body hash
 * (SHA-256 of SIZE octets of text), the header hash (SHA-256 of a
 * typical 600-octet header block) and the signature: ALG rsa (PKCS#1
 * v1.5 of the digest), ed25519 (Ed25519 of the digest, RFC 8463) or dual
 * (one body hash, then both). One thread, for SECONDS of CPU time
 * (CLOCK_PROCESS_CPUTIME_ID) after a warm-up, in five slices: a shared
 * machine only ever makes a slice slower, so the fastest slice is the
 * floor (us=), the median (med=) shows the spread. Prints one line:
 * "floor alg=rsa size=4096 msgs=3021 us=264.1 med=270.3". milter_bench.sh
 * runs it next to each cell and divides the milter's CPU per message by
 * it. A benchmark tool: not part of make check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define HDRLEN	600
#define SLICES	5

static EVP_MD *sha256;

static EVP_PKEY *
load(const char *path)
{
	EVP_PKEY *pk;
	FILE   *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (pk == NULL) {
		fprintf(stderr, "cfloor: %s: not a private key\n", path);
		exit(1);
	}
	return (pk);
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* header_sign - hash the header block (with bh=) and sign; 0 or -1 */
static int
header_sign(int ed, EVP_MD_CTX *edctx, EVP_PKEY_CTX *rsactx,
    const unsigned char *bh, unsigned char *hdrs)
{
	unsigned char dg[32], sig[512];
	unsigned int n;
	size_t	siglen = sizeof(sig);

	memcpy(hdrs, bh, 32);
	if (EVP_Digest(hdrs, HDRLEN, dg, &n, sha256, NULL) != 1)
		return (-1);
	if (ed)
		return (EVP_DigestSign(edctx, sig, &siglen, dg, sizeof(dg)) ==
		    1 ? 0 : -1);
	return (EVP_PKEY_sign(rsactx, sig, &siglen, dg, sizeof(dg)) == 1 ?
	    0 : -1);
}

/* one_message - body hash, then each signature; 0 or -1 */
static int
one_message(int algs, EVP_MD_CTX *edctx, EVP_PKEY_CTX *rsactx,
    const unsigned char *body, size_t blen, unsigned char *hdrs)
{
	unsigned char bh[32];
	unsigned int n;

	if (EVP_Digest(body, blen, bh, &n, sha256, NULL) != 1)
		return (-1);
	if ((algs & 1) && header_sign(0, edctx, rsactx, bh, hdrs) == -1)
		return (-1);
	if ((algs & 2) && header_sign(1, edctx, rsactx, bh, hdrs) == -1)
		return (-1);
	return (0);
}

int
main(int argc, char **argv)
{
	EVP_PKEY *rsa, *ed;
	EVP_MD_CTX *edctx;
	EVP_PKEY_CTX *rsactx;
	unsigned char *body, hdrs[HDRLEN];
	double	secs, t0, t, per[SLICES], tmp;
	size_t	i, size;
	long	n, total = 0;
	int	algs, k, j;

	if (argc != 6 || (secs = atof(argv[3])) <= 0 ||
	    (size = strtoul(argv[5], NULL, 10)) == 0) {
		fprintf(stderr, "usage: cfloor RSA.pem ED25519.pem SECONDS "
		    "rsa|ed25519|dual SIZE\n");
		return (2);
	}
	if (strcmp(argv[4], "rsa") == 0)
		algs = 1;
	else if (strcmp(argv[4], "ed25519") == 0)
		algs = 2;
	else if (strcmp(argv[4], "dual") == 0)
		algs = 3;
	else {
		fprintf(stderr, "cfloor: unknown algorithm %s\n", argv[4]);
		return (2);
	}
	rsa = load(argv[1]);
	ed = load(argv[2]);
	if ((sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (edctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(edctx, NULL, NULL, NULL, NULL, ed,
	    NULL) != 1 ||
	    (rsactx = EVP_PKEY_CTX_new(rsa, NULL)) == NULL ||
	    EVP_PKEY_sign_init(rsactx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(rsactx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(rsactx, sha256) != 1) {
		fprintf(stderr, "cfloor: OpenSSL setup failed\n");
		return (1);
	}
	if ((body = malloc(size)) == NULL)
		return (1);
	for (i = 0; i < size; i++)	/* text lines of 76 octets */
		body[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' :
		    (unsigned char)('a' + i % 26);
	for (i = 0; i < HDRLEN; i++)
		hdrs[i] = (unsigned char)('A' + i % 26);
	for (n = 0; n < 20; n++)	/* warm up */
		(void)one_message(algs, edctx, rsactx, body, size, hdrs);
	for (k = 0; k < SLICES; k++) {
		t0 = cpu_now();
		for (n = 0; (t = cpu_now()) - t0 < secs / SLICES; n++)
			if (one_message(algs, edctx, rsactx, body, size,
			    hdrs) == -1) {
				fprintf(stderr, "cfloor: signing failed\n");
				return (1);
			}
		per[k] = (t - t0) * 1e6 / (double)n;
		total += n;
	}
	for (k = 1; k < SLICES; k++)	/* sort: fastest first */
		for (j = k; j > 0 && per[j] < per[j - 1]; j--) {
			tmp = per[j];
			per[j] = per[j - 1];
			per[j - 1] = tmp;
		}
	printf("floor alg=%s size=%zu msgs=%ld us=%.1f med=%.1f\n", argv[4],
	    size, total, per[0], per[SLICES / 2]);
	return (0);
}
