/*
 * nullmilter - a milter that does no work: the floor of what a milter
 * costs an MTA (a benchmark tool, not part of the daemon)
 *
 *	nullmilter -s unix:PATH|inet:PORT@HOST [-H N]
 *
 * It serves the milter socket with egress-milter's own engine (mserv,
 * mproto) and negotiates what egress-milter negotiates with no rate limit
 * on recipients: no HELO, no DATA, no reply to connect, to the headers or
 * to the body, no reply to RCPT; a reply to MAIL (egress-milter's refusal
 * of a login that does not own the sender's domain is given there) and to
 * the end of the message. At the end of each message it inserts N (0 to 2;
 * default 2) headers of the size of an RSA-2048 and an Ed25519
 * DKIM-Signature at the top, as egress-milter's dual signing does, but
 * computes nothing. So Postfix with this milter against Postfix with none
 * is what the protocol's round trips and the header edits cost through
 * Postfix, at zero filter cost: the best any milter doing that could do
 * on the machine measured.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mproto.h"
#include "mserv.h"

static int	nm_headers = 2;
static char	nm_rsa[600], nm_ed[320];

/* nm_value - a DKIM-Signature's shape: tags, then b= folded, len octets */

static void
nm_value(char *buf, size_t len, const char *alg, const char *sel)
{
	size_t	n, col;

	n = (size_t)snprintf(buf, len, "v=1; a=%s; c=relaxed/relaxed; "
	    "d=acme.example; s=%s;\n\tt=1700000000; h=from:to:subject:"
	    "mime-version:content-type;\n\tbh=0123456789abcdefghijklmnopqrs"
	    "tuvwxyzABCDEFGHI=;\n\tb=", alg, sel);
	for (col = 3; n + 3 < len; n++, col++) {
		if (col == 70) {
			buf[n++] = '\n';
			buf[n++] = '\t';
			col = 0;
		}
		buf[n] = 'A' + (char)(n % 26);
	}
	buf[n] = '\0';
}

static enum mp_stat
nm_negotiate(struct mp_ctx *ctx, unsigned long actions, unsigned long pflags,
    unsigned long *ractions, unsigned long *rpflags)
{
	(void)ctx;
	*ractions = actions & (MP_F_ADDHDRS | MP_F_CHGHDRS);
	*rpflags = pflags & (MP_P_NOHELO | MP_P_NOUNKNOWN | MP_P_HDR_LEADSPC |
	    MP_P_NODATA | MP_P_NR_CONN | MP_P_NR_HDR | MP_P_NR_EOH |
	    MP_P_NR_BODY | MP_P_NR_RCPT);
	return (MP_CONTINUE);
}

static enum mp_stat
nm_noreply(struct mp_ctx *ctx)
{
	(void)ctx;
	return (MP_NOREPLY);
}

static enum mp_stat
nm_connect(struct mp_ctx *ctx, const char *host, const struct sockaddr *sa)
{
	(void)host;
	(void)sa;
	return (nm_noreply(ctx));
}

static enum mp_stat
nm_envrcpt(struct mp_ctx *ctx, char **argv)
{
	(void)argv;
	return (nm_noreply(ctx));
}

static enum mp_stat
nm_header(struct mp_ctx *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return (nm_noreply(ctx));
}

static enum mp_stat
nm_body(struct mp_ctx *ctx, unsigned char *chunk, size_t len)
{
	(void)chunk;
	(void)len;
	return (nm_noreply(ctx));
}

static enum mp_stat
nm_eom(struct mp_ctx *ctx)
{
	if (nm_headers > 1 &&
	    mp_insheader(ctx, 0, "DKIM-Signature", nm_rsa) != 0)
		return (MP_TEMPFAIL);
	if (nm_headers > 0 &&
	    mp_insheader(ctx, 0, "DKIM-Signature", nm_ed) != 0)
		return (MP_TEMPFAIL);
	return (MP_CONTINUE);
}

static const struct mp_filter nm_filter = {
	.mf_negotiate = nm_negotiate,
	.mf_connect = nm_connect,
	.mf_envrcpt = nm_envrcpt,
	.mf_header = nm_header,
	.mf_eoh = nm_noreply,
	.mf_body = nm_body,
	.mf_eom = nm_eom,
};

int
main(int argc, char *argv[])
{
	const char *spec = NULL;
	char	err[256];
	sigset_t set;
	int	ch, sig;

	while ((ch = getopt(argc, argv, "H:s:")) != -1) {
		switch (ch) {
		case 'H':
			nm_headers = atoi(optarg);
			break;
		case 's':
			spec = optarg;
			break;
		default:
			spec = NULL;
			optind = argc + 1;
			break;
		}
	}
	if (spec == NULL || optind != argc || nm_headers < 0 ||
	    nm_headers > 2) {
		fprintf(stderr, "usage: nullmilter -s unix:PATH|inet:PORT@HOST "
		    "[-H 0|1|2]\n");
		return (2);
	}
	nm_value(nm_rsa, sizeof(nm_rsa), "rsa-sha256", "rsa");
	nm_value(nm_ed, sizeof(nm_ed), "ed25519-sha256", "ed");
	log_init("nullmilter", 1, 0);
	if (mserv_open(spec, (uid_t)-1, (gid_t)-1, 0666, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "nullmilter: %s\n", err);
		return (1);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (mserv_start(&nm_filter, NULL) == -1) {
		fprintf(stderr, "nullmilter: cannot start\n");
		return (1);
	}
	sigwait(&set, &sig);
	mserv_stop(2);
	return (0);
}
