/* fuzz_rl - rate-limit rule syntax: per and rates */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "rl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char parts[CFG_LIMIT_PARTS];
	struct cfg_rate rates[CFG_LIMIT_RATES];
	char	err[256], *s;
	size_t	n;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	(void)rl_parse_per(s, parts, &n, err, sizeof(err));
	(void)rl_parse_rates(s, size % 7, rates, &n, err, sizeof(err));
	free(s);
	return (0);
}
