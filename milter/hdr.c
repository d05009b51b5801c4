/*
 * NAME
 *	hdr - bounded list of message headers
 * SYNOPSIS
 *	#include "hdr.h"
 *
 *	void	hdr_list_init(struct hdr_list *hl, size_t max_count,
 *		    size_t max_bytes);
 *	void	hdr_list_fini(struct hdr_list *hl);
 *	int	hdr_list_add(struct hdr_list *hl, const char *name,
 *		    const char *value);
 *	size_t	hdr_list_count(const struct hdr_list *hl, const char *name);
 *	const struct hdr *hdr_list_find(const struct hdr_list *hl,
 *		    const char *name, size_t nth);
 *	const char *hdr_value_trim(const char *value, size_t *len);
 * DESCRIPTION
 *	Keeps private copies of the headers of one message, in order, so
 *	they can be replayed to the signers at end of headers. The list is
 *	capped in number and in total size; a header beyond a cap is not
 *	stored and the caller turns the error into an SMTP reply.
 *
 *	Names compare case-insensitively. hdr_list_find() returns the nth
 *	(0-based) header of that name. hdr_value_trim() skips leading and
 *	trailing white space (and folding) of a value and returns its length.
 * OWNERSHIP
 *	The list owns every name and value; hdr_list_fini() frees them.
 * DIAGNOSTICS
 *	hdr_list_add() returns 0, HDR_ERR_NOMEM, HDR_ERR_COUNT or
 *	HDR_ERR_BYTES. Nothing here logs or exits.
 * SEE ALSO
 *	txn(3)
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdr.h"

/* hdr_list_init - empty list with caps */

void
hdr_list_init(struct hdr_list *hl, size_t max_count, size_t max_bytes)
{
	memset(hl, 0, sizeof(*hl));
	hl->hl_max_count = max_count;
	hl->hl_max_bytes = max_bytes;
}

/* hdr_list_fini - free every copy */

void
hdr_list_fini(struct hdr_list *hl)
{
	size_t	i;

	for (i = 0; i < hl->hl_count; i++) {
		free(hl->hl_items[i].h_name);	/* and its value */
	}
	free(hl->hl_items);
	memset(hl, 0, sizeof(*hl));
}

/* hdr_list_add - append a copy of one header, within the caps */

int
hdr_list_add(struct hdr_list *hl, const char *name, const char *value)
{
	size_t	nlen = strlen(name), vlen = strlen(value);
	struct hdr *h;

	if (hl->hl_count >= hl->hl_max_count)
		return (HDR_ERR_COUNT);
	if (nlen + vlen > hl->hl_max_bytes - hl->hl_bytes ||
	    hl->hl_bytes > hl->hl_max_bytes)
		return (HDR_ERR_BYTES);
	if (hl->hl_count == hl->hl_cap) {
		size_t	cap = hl->hl_cap ? hl->hl_cap * 2 : 32;

		h = reallocarray(hl->hl_items, cap, sizeof(*h));
		if (h == NULL)
			return (HDR_ERR_NOMEM);
		hl->hl_items = h;
		hl->hl_cap = cap;
	}
	h = &hl->hl_items[hl->hl_count];
	/* name and value in one allocation: h_name owns it */
	if ((h->h_name = malloc(nlen + 1 + vlen + 1)) == NULL)
		return (HDR_ERR_NOMEM);
	memcpy(h->h_name, name, nlen + 1);
	h->h_value = h->h_name + nlen + 1;
	memcpy(h->h_value, value, vlen + 1);
	hl->hl_count++;
	hl->hl_bytes += nlen + vlen;
	return (0);
}

/* hdr_list_count - how many headers have this name */

size_t
hdr_list_count(const struct hdr_list *hl, const char *name)
{
	size_t	i, n = 0;

	for (i = 0; i < hl->hl_count; i++)
		if (strcasecmp(hl->hl_items[i].h_name, name) == 0)
			n++;
	return (n);
}

/* hdr_list_find - the nth header of this name, or NULL */

const struct hdr *
hdr_list_find(const struct hdr_list *hl, const char *name, size_t nth)
{
	size_t	i;

	for (i = 0; i < hl->hl_count; i++)
		if (strcasecmp(hl->hl_items[i].h_name, name) == 0 &&
		    nth-- == 0)
			return (&hl->hl_items[i]);
	return (NULL);
}

/* hdr_value_trim - value without surrounding white space */

const char *
hdr_value_trim(const char *value, size_t *len)
{
	size_t	n;

	while (*value == ' ' || *value == '\t' || *value == '\r' ||
	    *value == '\n')
		value++;
	n = strlen(value);
	while (n > 0 && strchr(" \t\r\n", value[n - 1]) != NULL)
		n--;
	*len = n;
	return (value);
}
