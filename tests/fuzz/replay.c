/*
 * replay - run a libFuzzer harness over input files without libFuzzer
 *
 *	cc -o replay replay.c fuzz_NAME.c ...; replay FILE...
 *
 * For tests/fuzz/deep.sh: the harness is built without sanitizers and
 * linked against the system's (Debian's) libraries, and run under
 * valgrind, which sees into uninstrumented code. Each file is one input;
 * a file that cannot be read is skipped with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define REPLAY_MAX	(1 << 20)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	uint8_t *buf, *in;
	size_t	n;
	FILE   *fp;
	int	i;

	if ((buf = malloc(REPLAY_MAX)) == NULL)
		return (1);
	for (i = 1; i < argc; i++) {
		if ((fp = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			continue;
		}
		n = fread(buf, 1, REPLAY_MAX, fp);
		fclose(fp);
		/* a block of the input's own size, so overreads are seen */
		if ((in = malloc(n ? n : 1)) == NULL)
			return (1);
		for (size_t j = 0; j < n; j++)
			in[j] = buf[j];
		(void)LLVMFuzzerTestOneInput(in, n);
		free(in);
	}
	free(buf);
	return (0);
}
