#ifndef HDR_H
#define HDR_H

#include <stddef.h>

struct hdr {
	char	*h_name;
	char	*h_value;		/* as received, leading space kept */
};

struct hdr_list {
	struct hdr *hl_items;
	size_t	hl_count;
	size_t	hl_cap;
	size_t	hl_bytes;		/* sum of name + value lengths */
	size_t	hl_max_count;
	size_t	hl_max_bytes;
};

#define HDR_ERR_NOMEM	(-1)
#define HDR_ERR_COUNT	(-2)
#define HDR_ERR_BYTES	(-3)

void	hdr_list_init(struct hdr_list *hl, size_t max_count, size_t max_bytes);
void	hdr_list_fini(struct hdr_list *hl);
int	hdr_list_add(struct hdr_list *hl, const char *name, const char *value);
size_t	hdr_list_count(const struct hdr_list *hl, const char *name);
const struct hdr *hdr_list_find(const struct hdr_list *hl, const char *name,
	    size_t nth);
const char *hdr_value_trim(const char *value, size_t *len);

#endif
