/* fuzz_mproto - the milter protocol codec: any byte stream from an MTA */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum mp_stat
f_negotiate(struct mp_ctx *ctx, unsigned long a, unsigned long p,
    unsigned long *ra, unsigned long *rp)
{
	(void)ctx;
	*ra = a;
	*rp = p;
	return (MP_CONTINUE);
}

static enum mp_stat
f_envfrom(struct mp_ctx *ctx, char **argv)
{
	(void)argv;
	(void)mp_getsymval(ctx, "{auth_authen}");
	(void)mp_getsymval(ctx, "i");
	return (MP_CONTINUE);
}

static enum mp_stat
f_envrcpt(struct mp_ctx *ctx, char **argv)
{
	(void)mp_setreply(ctx, "451", "4.7.1", argv[0]);
	return (argv[1] != NULL ? MP_TEMPFAIL : MP_CONTINUE);
}

static enum mp_stat
f_header(struct mp_ctx *ctx, char *name, char *value)
{
	(void)mp_addheader(ctx, name, value);
	return (MP_NOREPLY);
}

static enum mp_stat
f_eom(struct mp_ctx *ctx)
{
	(void)mp_chgheader(ctx, "X-Egress-Route", 1, NULL);
	(void)mp_addheader(ctx, "X-Egress-Route", "out");
	(void)mp_insheader(ctx, 0, "DKIM-Signature", "v=1");
	(void)mp_quarantine(ctx, "held");
	(void)mp_setreply(ctx, "550", "5.7.1", "no");
	return (MP_REJECT);
}

static const struct mp_filter filt = {
	f_negotiate, NULL, f_envfrom, f_envrcpt, f_header, NULL, NULL, f_eom,
	NULL, NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_ctx *ctx;
	const unsigned char *out;
	unsigned char *buf;
	size_t	have = 0, step, need, outlen, off = 1;
	long	used = 0;

	if (size < 1 || (ctx = mp_ctx_new(&filt)) == NULL)
		return (0);
	if ((buf = malloc(size)) == NULL) {
		mp_ctx_free(ctx);
		return (0);
	}
	step = (size_t)data[0] % 17 + 1;	/* reads of varying size */
	while (off < size) {
		need = size - off < step ? size - off : step;
		memcpy(buf + have, data + off, need);
		have += need;
		off += need;
		if ((used = mp_input(ctx, buf, have, &need)) < 0)
			break;
		(void)mp_output(ctx, &out, &outlen);
		mp_output_done(ctx);
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
	}
	mp_end(ctx);
	mp_ctx_free(ctx);
	free(buf);
	return (0);
}
