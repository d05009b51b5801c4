/* fuzz_addr - From header values and envelope addresses (libFuzzer) */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "preflight.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	dom[ADDR_DOMAIN_MAX], *s, p[1024];
	size_t	n;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	(void)addr_from_domain(s, size, dom, sizeof(dom), &n);
	if (addr_envelope_domain(s, dom, sizeof(dom)) == 0)
		(void)addr_domain_within(dom, "example.com");
	(void)addr_domain_normalize(s);
	preflight_p_value(s, p, sizeof(p));
	free(s);
	return (0);
}
