/*
 * NAME
 *	psl - Public Suffix List and organizational domains
 * SYNOPSIS
 *	#include "psl.h"
 *
 *	struct psl *psl_load(const char *path, char *err, size_t errlen);
 *	void	psl_free(struct psl *psl);
 *	size_t	psl_count(const struct psl *psl);
 *	int	psl_org_domain(const struct psl *psl, const char *domain,
 *		    char *out, size_t outsize);
 * DESCRIPTION
 *	psl_load() reads a file in the Public Suffix List format (Debian:
 *	PSL_DEFAULT_PATH, package publicsuffix): one rule per line, read
 *	up to the first white space (leading white space is skipped);
 *	blank lines and lines starting with "//" are ignored. A rule is a
 *	name ("co.uk"), a wildcard ("*.ck", only as the leftmost label) or
 *	an exception ("!www.ck", at least two labels). Both the ICANN and
 *	the PRIVATE sections are used. ASCII letters are lowercased; other
 *	octets are kept as they are. The rules go into an open-addressing
 *	hash table, together with every proper suffix of every rule as an
 *	interior node, so that a lookup can stop at the first miss.
 *
 *	psl_org_domain() computes the RFC 7489 section 3.2 organizational
 *	domain: the domain is lowercased (ASCII only) and one trailing dot
 *	is ignored; the public suffix is the longest matching rule, an
 *	exception rule winning over everything and meaning its rule minus
 *	the leftmost label; with no matching rule the implicit rule "*"
 *	makes the top-level label the suffix. The result is the suffix and
 *	one more label. The domain is walked from the right, one hash probe
 *	per label (the hash is built incrementally from right to left), and
 *	the walk stops at the first suffix the table does not know.
 *
 *	psl_count() is the number of distinct rules loaded.
 *
 *	Limitation: the list spells internationalized rules as UTF-8
 *	U-labels and they are kept as octets; nothing converts them to
 *	A-labels. A domain in A-label form ("xn--...") therefore never
 *	matches such a rule: a one-label IDN suffix still comes out right
 *	through the implicit rule, but below a multi-label IDN rule (such
 *	as the UTF-8 form of xn--55qx5d.cn) the result is one label too
 *	short. A domain given as UTF-8 octets does match them.
 * OWNERSHIP
 *	psl_load() allocates the table; the caller frees it with
 *	psl_free(). After psl_load() returns, the table is never written
 *	again: it may be shared read-only by any number of threads without
 *	a lock. psl_org_domain() allocates nothing, borrows domain and
 *	writes only to the caller's out buffer of outsize octets.
 * DIAGNOSTICS
 *	psl_load() returns NULL and a sentence naming the file (and line)
 *	in err. psl_org_domain() returns 0, or -1 with out set to "" when
 *	the domain is empty, is itself a public suffix, has an empty label
 *	where one is looked at, or the result does not fit. Nothing here
 *	logs or exits.
 * SEE ALSO
 *	align(3), RFC 7489 section 3.2, https://publicsuffix.org/list/
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psl.h"

#define PSL_NAME_MAX	253		/* octets in a rule, no final dot */
#define PSL_MIN_SLOTS	1024		/* initial table size, a power of 2 */
#define PSL_FNV_BASIS	2166136261u
#define PSL_FNV_PRIME	16777619u
#define PSL_NO_OFF	UINT32_MAX	/* key not in the pool yet */

#define PSL_RULE	0x01		/* "name" */
#define PSL_WILD	0x02		/* "*.name" */
#define PSL_EXCEPT	0x04		/* "!name" */
#define PSL_NODE	0x08		/* a proper suffix of some rule */
#define PSL_RULES	(PSL_RULE | PSL_WILD | PSL_EXCEPT)

struct psl_slot {
	uint32_t	s_hash;		/* psl_hash() of the key */
	uint32_t	s_off;		/* key offset in p_pool */
	uint16_t	s_len;		/* key length */
	uint8_t		s_flags;	/* PSL_*; 0 = empty slot */
};

struct psl {
	struct psl_slot	*p_slots;
	size_t		p_mask;		/* slots - 1 */
	size_t		p_used;		/* slots in use */
	size_t		p_rules;	/* distinct rules */
	char		*p_pool;	/* NUL-terminated keys */
	size_t		p_poollen;
	size_t		p_poolsize;
};

static int psl_tolower(int);
static int psl_is_space(int);
static uint32_t psl_hash_step(uint32_t, int);
static uint32_t psl_hash(const char *, size_t);
static size_t psl_index(uint32_t, size_t);
static size_t psl_probe(const struct psl *, const char *, size_t, uint32_t);
static int psl_grow(struct psl *);
static int psl_pool_add(struct psl *, const char *, size_t, uint32_t *);
static int psl_insert(struct psl *, const char *, size_t, unsigned,
	    uint32_t *);
static int psl_add_rule(struct psl *, const char *, size_t, unsigned);
static const char *psl_check_key(char *, size_t, unsigned);
static int psl_parse_line(char *, char **, size_t *, unsigned *,
	    const char **);
static struct psl *psl_new(void);
static int psl_suffix_labels(const struct psl *, const char *, size_t,
	    size_t *);
static int psl_label_start(const char *, size_t, size_t, size_t *);

/* psl_tolower - ASCII-only lowercase, whatever the locale */

static int
psl_tolower(int c)
{
	return (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* psl_is_space - white space that ends a rule */

static int
psl_is_space(int c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f');
}

/* psl_hash_step - FNV-1a over one more octet, lowercased */

static uint32_t
psl_hash_step(uint32_t h, int c)
{
	return ((h ^ (uint32_t) (unsigned char) psl_tolower(c)) *
	    PSL_FNV_PRIME);
}

/* psl_hash - hash of a name, its octets taken from right to left */

static uint32_t
psl_hash(const char *s, size_t n)
{
	uint32_t h = PSL_FNV_BASIS;

	while (n > 0)
		h = psl_hash_step(h, s[--n]);
	return (h);
}

/* psl_index - first slot for a hash (mix the bits, FNV's low ones are weak) */

static size_t
psl_index(uint32_t h, size_t mask)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (h & mask);
}

/* psl_probe - slot holding name (any case), or the empty slot ending its run */

static size_t
psl_probe(const struct psl *psl, const char *s, size_t n, uint32_t h)
{
	const struct psl_slot *slot;
	const char *key;
	size_t	i, j;

	for (i = psl_index(h, psl->p_mask);; i = (i + 1) & psl->p_mask) {
		slot = &psl->p_slots[i];
		if (slot->s_flags == 0)
			return (i);
		if (slot->s_hash != h || slot->s_len != n)
			continue;
		key = psl->p_pool + slot->s_off;
		for (j = 0; j < n && key[j] == psl_tolower(s[j]); j++)
			continue;
		if (j == n)
			return (i);
	}
}

/* psl_grow - double the table and rehash every slot */

static int
psl_grow(struct psl *psl)
{
	struct psl_slot *old = psl->p_slots, *slots;
	size_t	oldsize = psl->p_mask + 1, mask = oldsize * 2 - 1, i, j;

	if ((slots = calloc(mask + 1, sizeof(*slots))) == NULL)
		return (-1);
	for (i = 0; i < oldsize; i++) {
		if (old[i].s_flags == 0)
			continue;
		for (j = psl_index(old[i].s_hash, mask); slots[j].s_flags != 0;
		    j = (j + 1) & mask)
			continue;
		slots[j] = old[i];
	}
	free(old);
	psl->p_slots = slots;
	psl->p_mask = mask;
	return (0);
}

/* psl_pool_add - copy a key with its NUL into the pool */

static int
psl_pool_add(struct psl *psl, const char *s, size_t n, uint32_t *off)
{
	size_t	size;
	char	*pool;

	if (psl->p_poollen + n + 1 >= PSL_NO_OFF)
		return (-1);
	if (psl->p_poollen + n + 1 > psl->p_poolsize) {
		size = psl->p_poolsize * 2 + n + 1;
		if ((pool = realloc(psl->p_pool, size)) == NULL)
			return (-1);
		psl->p_pool = pool;
		psl->p_poolsize = size;
	}
	memcpy(psl->p_pool + psl->p_poollen, s, n);
	psl->p_pool[psl->p_poollen + n] = '\0';
	*off = (uint32_t) psl->p_poollen;
	psl->p_poollen += n + 1;
	return (0);
}

/*
 * psl_insert - add flags to the slot of a lowercase key, creating it with
 * the key at pool offset *off (PSL_NO_OFF: copy it); *off becomes the
 * offset the slot uses.
 */

static int
psl_insert(struct psl *psl, const char *key, size_t n, unsigned flags,
    uint32_t *off)
{
	struct psl_slot *slot;
	uint32_t h = psl_hash(key, n);

	if ((psl->p_used + 1) * 2 > psl->p_mask + 1 && psl_grow(psl) < 0)
		return (-1);
	slot = &psl->p_slots[psl_probe(psl, key, n, h)];
	if (slot->s_flags == 0) {
		if (*off == PSL_NO_OFF && psl_pool_add(psl, key, n, off) < 0)
			return (-1);
		slot->s_hash = h;
		slot->s_off = *off;
		slot->s_len = (uint16_t) n;
		psl->p_used++;
	}
	if ((flags & PSL_RULES & ~slot->s_flags) != 0)
		psl->p_rules++;
	slot->s_flags |= (uint8_t) flags;
	*off = slot->s_off;
	return (0);
}

/* psl_add_rule - insert a rule key and each of its proper suffixes */

static int
psl_add_rule(struct psl *psl, const char *key, size_t n, unsigned flags)
{
	uint32_t off = PSL_NO_OFF, suboff;
	size_t	i;

	if (psl_insert(psl, key, n, flags, &off) < 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if (key[i] != '.')
			continue;
		suboff = off + (uint32_t) i + 1;	/* same text, pooled */
		if (psl_insert(psl, key + i + 1, n - i - 1, PSL_NODE,
		    &suboff) < 0)
			return (-1);
	}
	return (0);
}

/* psl_check_key - lowercase a rule key in place; NULL or what is wrong */

static const char *
psl_check_key(char *key, size_t n, unsigned flags)
{
	size_t	i;

	if (n == 0)
		return ("empty rule");
	if (n > PSL_NAME_MAX)
		return ("longer than 253 octets");
	if (key[0] == '.' || key[n - 1] == '.')
		return ("empty label");
	for (i = 0; i < n; i++) {
		if (key[i] == '*' || key[i] == '!')
			return ("\"*\" or \"!\" not at the start");
		if (key[i] == '.' && key[i + 1] == '.')
			return ("empty label");
		key[i] = (char) psl_tolower(key[i]);
	}
	if (flags == PSL_EXCEPT && memchr(key, '.', n) == NULL)
		return ("exception of a single label");
	return (NULL);
}

/* psl_parse_line - find the rule on one line; 1 if there is none */

static int
psl_parse_line(char *line, char **key, size_t *n, unsigned *flags,
    const char **why)
{
	char	*p, *end;

	for (p = line; psl_is_space(*p); p++)
		continue;
	for (end = p; *end != '\0' && !psl_is_space(*end); end++)
		continue;
	*end = '\0';
	if (*p == '\0' || strncmp(p, "//", 2) == 0)
		return (1);
	*flags = PSL_RULE;
	if (p[0] == '!') {
		*flags = PSL_EXCEPT;
		p++;
	} else if (p[0] == '*' && p[1] == '.') {
		*flags = PSL_WILD;
		p += 2;
	}
	*key = p;
	*n = (size_t) (end - p);
	*why = psl_check_key(p, *n, *flags);
	return (*why == NULL ? 0 : -1);
}

/* psl_new - empty table */

static struct psl *
psl_new(void)
{
	struct psl *psl;

	if ((psl = calloc(1, sizeof(*psl))) == NULL)
		return (NULL);
	if ((psl->p_slots = calloc(PSL_MIN_SLOTS,
	    sizeof(*psl->p_slots))) == NULL) {
		free(psl);
		return (NULL);
	}
	psl->p_mask = PSL_MIN_SLOTS - 1;
	return (psl);
}

/* psl_load - read a Public Suffix List file */

struct psl *
psl_load(const char *path, char *err, size_t errlen)
{
	struct psl *psl;
	FILE	*fp;
	char	*line = NULL, *key;
	size_t	linesize = 0, n;
	unsigned long lineno = 0;
	unsigned flags;
	const char *why;
	int	rc;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "public suffix list %s: cannot open: %s",
		    path, strerror(errno));
		return (NULL);
	}
	if ((psl = psl_new()) == NULL)
		goto nomem;
	while (getline(&line, &linesize, fp) != -1) {
		lineno++;
		rc = psl_parse_line(line, &key, &n, &flags, &why);
		if (rc < 0) {
			snprintf(err, errlen, "public suffix list %s:%lu: "
			    "bad rule: %s", path, lineno, why);
			goto fail;
		}
		if (rc == 0 && psl_add_rule(psl, key, n, flags) < 0)
			goto nomem;
	}
	if (ferror(fp) || !feof(fp)) {
		snprintf(err, errlen, "public suffix list %s: read error: %s",
		    path, strerror(errno));
		goto fail;
	}
	if (psl->p_rules == 0) {
		snprintf(err, errlen, "public suffix list %s: no rules", path);
		goto fail;
	}
	free(line);
	fclose(fp);
	return (psl);
nomem:
	snprintf(err, errlen, "public suffix list %s: out of memory", path);
fail:
	free(line);
	fclose(fp);
	psl_free(psl);
	return (NULL);
}

/* psl_free - release a table; NULL is a no-op */

void
psl_free(struct psl *psl)
{
	if (psl == NULL)
		return;
	free(psl->p_slots);
	free(psl->p_pool);
	free(psl);
}

/* psl_count - distinct rules loaded */

size_t
psl_count(const struct psl *psl)
{
	return (psl == NULL ? 0 : psl->p_rules);
}

/*
 * psl_suffix_labels - labels in the public suffix of the first len octets
 * of domain; -1 on an empty label.
 */

static int
psl_suffix_labels(const struct psl *psl, const char *domain, size_t len,
    size_t *labels)
{
	uint32_t h = PSL_FNV_BASIS;
	size_t	end = len, start, k, best = 1;
	unsigned flags;

	for (k = 1;; k++) {
		start = end;
		while (start > 0 && domain[start - 1] != '.')
			start--;
		if (start == end)
			return (-1);
		if (end < len)
			h = psl_hash_step(h, '.');
		while (end > start)
			h = psl_hash_step(h, domain[--end]);
		flags = psl->p_slots[psl_probe(psl, domain + start,
		    len - start, h)].s_flags;
		if (flags & PSL_EXCEPT) {
			best = k - 1;
			break;
		}
		if ((flags & PSL_RULE) && k > best)
			best = k;
		if ((flags & PSL_WILD) && start > 0 && k + 1 > best)
			best = k + 1;
		if (flags == 0 || start == 0)
			break;
		end = start - 1;
	}
	*labels = best;
	return (0);
}

/* psl_label_start - offset of the nth label from the right; -1 if none */

static int
psl_label_start(const char *domain, size_t len, size_t nth, size_t *off)
{
	size_t	end = len, start;

	for (;;) {
		start = end;
		while (start > 0 && domain[start - 1] != '.')
			start--;
		if (start == end)
			return (-1);
		if (--nth == 0)
			break;
		if (start == 0)
			return (-1);
		end = start - 1;
	}
	*off = start;
	return (0);
}

/* psl_org_domain - RFC 7489 organizational domain of a domain */

int
psl_org_domain(const struct psl *psl, const char *domain, char *out,
    size_t outsize)
{
	size_t	len, labels, off, i;

	if (out != NULL && outsize > 0)
		out[0] = '\0';
	if (psl == NULL || domain == NULL || out == NULL)
		return (-1);
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || psl_suffix_labels(psl, domain, len, &labels) < 0 ||
	    psl_label_start(domain, len, labels + 1, &off) < 0 ||
	    len - off >= outsize)
		return (-1);
	for (i = off; i < len; i++)
		out[i - off] = (char) psl_tolower(domain[i]);
	out[len - off] = '\0';
	return (0);
}
