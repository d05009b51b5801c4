/*
 * NAME
 *	testkit - scratch files, keys and configs for unit tests
 * SYNOPSIS
 *	#include "testkit.h"
 *
 *	const char *tk_dir(void);
 *	char   *tk_path(const char *name);
 *	void	tk_write(const char *name, const char *text, int mode);
 *	void	tk_key(const char *name, const char *alg, int bits);
 *	struct cfg *tk_cfg(const char *text, int flags, char *err,
 *		    size_t errlen);
 * DESCRIPTION
 *	tk_dir() makes one private directory per test run (removed at exit).
 *	tk_write() writes a file there; "@D@" in text becomes the directory.
 *	tk_key() writes a PEM private key ("rsa" with bits, or "ed25519")
 *	with mode 0600; tk_key_encrypted() an Ed25519 key protected by a
 *	passphrase. tk_cfg() writes text as a config file and loads it.
 */
#ifndef TESTKIT_H
#define TESTKIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "cfg.h"

static char tk_dirbuf[64];

static inline void
tk_cleanup(void)
{
	char	cmd[128];

	if (tk_dirbuf[0] && getenv("TK_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tk_dirbuf);
		(void)!system(cmd);
	}
}

static inline const char *
tk_dir(void)
{
	if (tk_dirbuf[0] == '\0') {
		snprintf(tk_dirbuf, sizeof(tk_dirbuf), "/tmp/em-unit.XXXXXX");
		if (mkdtemp(tk_dirbuf) == NULL) {
			perror("mkdtemp");
			exit(99);
		}
		atexit(tk_cleanup);
	}
	return (tk_dirbuf);
}

static inline char *
tk_path(const char *name)
{
	static char buf[4][256];
	static int n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", tk_dir(), name);
	return (buf[n]);
}

static inline void
tk_write(const char *name, const char *text, int mode)
{
	const char *p = text, *at;
	FILE   *fp = fopen(tk_path(name), "w");

	if (fp == NULL) {
		perror(name);
		exit(99);
	}
	while ((at = strstr(p, "@D@")) != NULL) {
		fwrite(p, 1, (size_t)(at - p), fp);
		fputs(tk_dir(), fp);
		p = at + 3;
	}
	fputs(p, fp);
	fclose(fp);
	chmod(tk_path(name), (mode_t)mode);
}

static inline void
tk_key(const char *name, const char *alg, int bits)
{
	EVP_PKEY *pk;
	FILE   *fp;

	if (strcmp(alg, "rsa") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL || (fp = fopen(tk_path(name), "w")) == NULL) {
		fprintf(stderr, "cannot make key %s\n", name);
		exit(99);
	}
	chmod(tk_path(name), 0600);
	PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	EVP_PKEY_free(pk);
}

static inline void
tk_key_encrypted(const char *name)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE   *fp = fopen(tk_path(name), "w");

	if (pk == NULL || fp == NULL)
		exit(99);
	chmod(tk_path(name), 0600);
	PEM_write_PrivateKey(fp, pk, EVP_aes_128_cbc(),
	    (const unsigned char *)"secret", 6, NULL, NULL);
	fclose(fp);
	EVP_PKEY_free(pk);
}

static inline struct cfg *
tk_cfg(const char *text, int flags, char *err, size_t errlen)
{
	tk_write("test.conf", text, 0644);
	err[0] = '\0';
	return (cfg_load(tk_path("test.conf"), flags, err, errlen));
}

#endif
