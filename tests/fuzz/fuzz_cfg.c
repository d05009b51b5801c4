/* fuzz_cfg - the config loader: libconfig's parser and our table walker */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	char	err[CFG_ERRLEN];
	struct cfg *cf;
	FILE   *fp;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz-cfg.%d", (int)getpid());
	if ((fp = fopen(path, "w")) == NULL)
		return (0);
	fwrite(data, 1, size, fp);
	fclose(fp);
	if ((cf = cfg_load(path, 0, err, sizeof(err))) != NULL)
		cfg_free(cf);
	unlink(path);
	return (0);
}
