/* fuzz_hdr - header lists: names and values as an MTA sends them */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hdr_list hl;
	char   *s, *line, *colon, *save = NULL;
	size_t	len;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	hdr_list_init(&hl, 64, 4096);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		(void)hdr_list_add(&hl, line, colon + 1);
		(void)hdr_list_count(&hl, line);
		(void)hdr_value_trim(colon + 1, &len);
	}
	(void)hdr_list_find(&hl, "from", 0);
	hdr_list_fini(&hl);
	free(s);
	return (0);
}
