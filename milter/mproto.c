/*
 * NAME
 *	mproto - the filter side of the milter protocol, without I/O
 * SYNOPSIS
 *	#include "mproto.h"
 *
 *	struct mp_ctx *mp_ctx_new(const struct mp_filter *mf);
 *	long	mp_input(struct mp_ctx *ctx, unsigned char *buf, size_t len,
 *		    size_t *need);
 *	int	mp_output(struct mp_ctx *ctx, const unsigned char **buf,
 *		    size_t *len);
 *	void	mp_output_done(struct mp_ctx *ctx);
 *	void	mp_end(struct mp_ctx *ctx);
 *	void	mp_ctx_free(struct mp_ctx *ctx);
 *
 *	const char *mp_getsymval(struct mp_ctx *ctx, const char *name);
 *	int	mp_setreply(struct mp_ctx *ctx, const char *rcode,
 *		    const char *xcode, const char *text);
 *	int	mp_addheader(), mp_chgheader(), mp_insheader(),
 *		    mp_quarantine();
 *	void	*mp_getpriv(), mp_setpriv(); unsigned long mp_pflags();
 * DESCRIPTION
 *	One struct mp_ctx per MTA connection. mp_input() decodes every
 *	whole packet in buf, calls the filter's callback for each command
 *	and queues the replies; it returns the octets it consumed (the
 *	caller keeps the rest, a partial packet, and reads more), or -1
 *	when the session is over: SMFIC_QUIT, a refused negotiation or a
 *	protocol error (logged). *need is the size of the partial packet
 *	at the start of what is left, once its length is known (0 if not):
 *	the caller's buffer must hold that much.
 *
 *	Replies accumulate until the caller fetches them with mp_output()
 *	(1 if any) and writes them; mp_output_done() empties the queue. The
 *	caller writes them before it waits for more input, so the replies
 *	to commands that arrived together leave in one write: at end of
 *	message the header changes and the verdict are one segment.
 *
 *	A callback's status becomes SMFIR_CONTINUE, ACCEPT, REJECT or
 *	TEMPFAIL; a reply text set with mp_setreply() turns a reject or
 *	temporary failure into SMFIR_REPLYCODE when its class matches.
 *	MP_NOREPLY sends nothing when the negotiated flags say the MTA does
 *	not wait for that step, and SMFIR_CONTINUE otherwise: the MTA must
 *	never wait for an answer that does not come. Header changes are
 *	accepted only during end of message and only when the action was
 *	negotiated (else -1).
 *
 *	Macros (SMFIC_MACRO) are kept per step; mp_getsymval() looks in the
 *	latest step first, with or without the braces of a long name. A
 *	new message forgets the macros of the last one's recipients, data
 *	and end; the value stays valid until the next mp_input() call.
 *
 *	mp_end() ends a session the MTA left without SMFIC_QUIT: a message
 *	in progress is aborted, then the close callback runs. The close
 *	callback runs once per connection (and at each SMFIC_QUIT_NC).
 * BUGS
 *	Only the actions the daemon uses are implemented: no body
 *	replacement, recipient or sender changes, SMFIR_PROGRESS or
 *	macro lists.
 * SEE ALSO
 *	mserv(3), mlfi(3), Sendmail's libmilter/docs
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mproto.h"

#define MP_NSTAGES	7	/* connect helo mail rcpt data eoh eom */
#define MP_REPLY_MAX	1000	/* one SMTP reply line, code included */
#define MP_ARGV_MAX	64	/* MAIL/RCPT arguments taken */

struct mp_ctx {
	const struct mp_filter *mc_filter;
	void	*mc_priv;
	unsigned long mc_actions;	/* negotiated */
	unsigned long mc_pflags;
	int	mc_in_msg;		/* MAIL seen, message not ended */
	int	mc_in_eom;		/* header changes allowed */
	int	mc_closed;		/* close callback ran */
	char	*mc_macro[MP_NSTAGES];	/* name\0value\0..., as sent */
	size_t	mc_macrolen[MP_NSTAGES];	/* 0: none for this step */
	size_t	mc_macrocap[MP_NSTAGES];	/* kept from message to message */
	char	mc_reply[MP_REPLY_MAX + 1];
	unsigned char *mc_out;		/* replies not yet written */
	size_t	mc_outlen, mc_outsize;
	int	mc_nomem;		/* a reply could not be queued */
};

static const char mp_stages[MP_NSTAGES] = {
	MP_C_CONNECT, MP_C_HELO, MP_C_MAIL, MP_C_RCPT, MP_C_DATA, MP_C_EOH,
	MP_C_BODYEOB
};

struct mp_ctx *
mp_ctx_new(const struct mp_filter *mf)
{
	struct mp_ctx *ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return (NULL);
	ctx->mc_filter = mf;
	return (ctx);
}

/* mp_forget - the macros of stage index first and later (buffers kept) */

static void
mp_forget(struct mp_ctx *ctx, int first)
{
	int	i;

	for (i = first; i < MP_NSTAGES; i++)
		ctx->mc_macrolen[i] = 0;
}

void
mp_ctx_free(struct mp_ctx *ctx)
{
	int	i;

	if (ctx == NULL)
		return;
	for (i = 0; i < MP_NSTAGES; i++)
		free(ctx->mc_macro[i]);
	free(ctx->mc_out);
	free(ctx);
}

void *
mp_getpriv(struct mp_ctx *ctx)
{
	return (ctx->mc_priv);
}

void
mp_setpriv(struct mp_ctx *ctx, void *priv)
{
	ctx->mc_priv = priv;
}

unsigned long
mp_pflags(struct mp_ctx *ctx)
{
	return (ctx->mc_pflags);
}

/* mp_put - queue one packet: cmd, then the n pieces; 0 or -1 */

static int
mp_put(struct mp_ctx *ctx, int cmd, const void *const *piece,
    const size_t *plen, int n)
{
	size_t	total = 1, need, size;
	unsigned char *p;
	uint32_t len;
	int	i;

	for (i = 0; i < n; i++)
		total += plen[i];
	if (total > MP_PACKET_MAX)
		return (-1);
	need = ctx->mc_outlen + 4 + total;
	if (need > ctx->mc_outsize) {
		size = ctx->mc_outsize ? ctx->mc_outsize : 512;
		while (size < need)
			size *= 2;
		if ((p = realloc(ctx->mc_out, size)) == NULL) {
			ctx->mc_nomem = 1;
			return (-1);
		}
		ctx->mc_out = p;
		ctx->mc_outsize = size;
	}
	p = ctx->mc_out + ctx->mc_outlen;
	len = htonl((uint32_t)total);
	memcpy(p, &len, 4);
	p[4] = (unsigned char)cmd;
	p += 5;
	for (i = 0; i < n; i++) {
		memcpy(p, piece[i], plen[i]);
		p += plen[i];
	}
	ctx->mc_outlen = need;
	return (0);
}

/* mp_put_status - the answer to a step, per its status */

static int
mp_put_status(struct mp_ctx *ctx, enum mp_stat st, unsigned long nr_flag)
{
	const void *piece[1];
	size_t	plen[1];
	int	cmd, rc;

	switch (st) {
	case MP_NOREPLY:
		if (nr_flag != 0 && (ctx->mc_pflags & nr_flag))
			return (0);
		cmd = MP_R_CONTINUE;
		break;
	case MP_ACCEPT:
		cmd = MP_R_ACCEPT;
		break;
	case MP_REJECT:
	case MP_TEMPFAIL:
		cmd = st == MP_REJECT ? MP_R_REJECT : MP_R_TEMPFAIL;
		if (ctx->mc_reply[0] == (st == MP_REJECT ? '5' : '4')) {
			piece[0] = ctx->mc_reply;
			plen[0] = strlen(ctx->mc_reply) + 1;
			rc = mp_put(ctx, MP_R_REPLYCODE, piece, plen, 1);
			ctx->mc_reply[0] = '\0';
			return (rc);
		}
		break;
	case MP_CONTINUE:
	default:
		cmd = MP_R_CONTINUE;
		break;
	}
	ctx->mc_reply[0] = '\0';
	return (mp_put(ctx, cmd, NULL, NULL, 0));
}

int
mp_output(struct mp_ctx *ctx, const unsigned char **buf, size_t *len)
{
	*buf = ctx->mc_out;
	*len = ctx->mc_outlen;
	return (ctx->mc_outlen > 0);
}

void
mp_output_done(struct mp_ctx *ctx)
{
	ctx->mc_outlen = 0;
	if (ctx->mc_outsize > 65536) {	/* a big reply does not stay */
		free(ctx->mc_out);
		ctx->mc_out = NULL;
		ctx->mc_outsize = 0;
	}
}

/* mp_strings - split data into NUL-terminated strings; count or -1 */

static int
mp_strings(char *data, size_t len, char **v, int max)
{
	size_t	i = 0, end;
	int	n = 0;

	if (len == 0 || data[len - 1] != '\0')
		return (-1);
	while (i < len) {
		end = i + strlen(data + i);
		if (n < max)
			v[n++] = data + i;
		i = end + 1;
	}
	return (n);
}

/* mp_sockaddr - SMFIC_CONNECT's family, port and address; NULL if none */

static const struct sockaddr *
mp_sockaddr(struct sockaddr_storage *ss, int family, const unsigned char *port,
    const char *addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t p;

	memset(ss, 0, sizeof(*ss));
	memcpy(&p, port, 2);
	if (family == '4' && inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = p;
		return ((struct sockaddr *)ss);
	}
	if (family == '6') {
		if (strncasecmp(addr, "IPv6:", 5) == 0)
			addr += 5;
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = p;
			return ((struct sockaddr *)ss);
		}
	}
	return (NULL);			/* 'L', 'U' or unparseable */
}

/* mp_negotiate - SMFIC_OPTNEG; 0, or -1 to end the session */

static int
mp_negotiate(struct mp_ctx *ctx, const unsigned char *data, size_t len)
{
	uint32_t w[3], out[3];
	unsigned long ra, rp;
	const void *piece[1];
	size_t	plen[1];
	enum mp_stat st = MP_CONTINUE;

	if (len < 12) {
		log_warnx("NOQUEUE: milter negotiation: %zu octets, need 12",
		    len);
		return (-1);
	}
	memcpy(w, data, 12);
	w[0] = ntohl(w[0]), w[1] = ntohl(w[1]), w[2] = ntohl(w[2]);
	if (w[0] < 2) {
		log_warnx("NOQUEUE: milter protocol version %u: too old",
		    (unsigned)w[0]);
		return (-1);
	}
	ra = w[1] & (MP_F_ADDHDRS | MP_F_CHGHDRS | MP_F_QUARANTINE);
	rp = 0;
	if (ctx->mc_filter->mf_negotiate != NULL)
		st = ctx->mc_filter->mf_negotiate(ctx, w[1], w[2], &ra, &rp);
	if (st != MP_CONTINUE)
		return (-1);
	ctx->mc_actions = ra & w[1];
	ctx->mc_pflags = rp & w[2];
	out[0] = htonl(w[0] < MP_VERSION ? w[0] : MP_VERSION);
	out[1] = htonl((uint32_t)ctx->mc_actions);
	out[2] = htonl((uint32_t)ctx->mc_pflags);
	piece[0] = out;
	plen[0] = sizeof(out);
	return (mp_put(ctx, MP_R_OPTNEG, piece, plen, 1));
}

/* mp_macro - keep one step's macros */

static int
mp_macro(struct mp_ctx *ctx, const unsigned char *data, size_t len)
{
	char   *copy;
	size_t	cap;
	int	i;

	if (len < 1)
		return (-1);
	for (i = 0; i < MP_NSTAGES; i++)
		if (mp_stages[i] == data[0])
			break;
	if (i == MP_NSTAGES)
		return (0);		/* a step we do not keep */
	if (len > ctx->mc_macrocap[i]) {
		cap = len < 256 ? 256 : len;
		if ((copy = realloc(ctx->mc_macro[i], cap)) == NULL)
			return (-1);
		ctx->mc_macro[i] = copy;
		ctx->mc_macrocap[i] = cap;
	}
	copy = ctx->mc_macro[i];
	memcpy(copy, data + 1, len - 1);
	copy[len - 1] = '\0';		/* a last string, terminated */
	ctx->mc_macrolen[i] = len;
	return (0);
}

/* mp_name_eq - macro names equal, braces of either ignored */

static int
mp_name_eq(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	if (la > 2 && a[0] == '{' && a[la - 1] == '}')
		a++, la -= 2;
	if (lb > 2 && b[0] == '{' && b[lb - 1] == '}')
		b++, lb -= 2;
	return (la == lb && memcmp(a, b, la) == 0);
}

const char *
mp_getsymval(struct mp_ctx *ctx, const char *name)
{
	const char *p, *end, *val;
	int	i;

	for (i = MP_NSTAGES - 1; i >= 0; i--) {
		if ((p = ctx->mc_macro[i]) == NULL || ctx->mc_macrolen[i] == 0)
			continue;
		end = p + ctx->mc_macrolen[i];
		while (p < end) {
			val = p + strlen(p) + 1;
			if (val >= end)
				break;
			if (mp_name_eq(p, name))
				return (val);
			p = val + strlen(val) + 1;
		}
	}
	return (NULL);
}

int
mp_setreply(struct mp_ctx *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	int	n;

	if (rcode == NULL || strlen(rcode) != 3 || (rcode[0] != '4' &&
	    rcode[0] != '5') || rcode[1] < '0' || rcode[1] > '9' ||
	    rcode[2] < '0' || rcode[2] > '9')
		return (-1);
	if (text == NULL)
		text = "";
	if (strpbrk(text, "\r\n") != NULL ||
	    (xcode != NULL && strpbrk(xcode, "\r\n ") != NULL))
		return (-1);
	n = snprintf(ctx->mc_reply, sizeof(ctx->mc_reply), "%s%s%s%s%s",
	    rcode, xcode ? " " : "", xcode ? xcode : "", *text ? " " : "",
	    text);
	return (n < 0 ? -1 : 0);	/* a long text is cut, not refused */
}

/* mp_modify - one header change, in end of message only; 0 or -1 */

static int
mp_modify(struct mp_ctx *ctx, unsigned long action, int cmd, int index,
    const char *name, const char *value)
{
	uint32_t idx = htonl((uint32_t)index);
	const void *piece[3];
	size_t	plen[3];
	int	n = 0;

	if (!ctx->mc_in_eom || !(ctx->mc_actions & action) || name == NULL ||
	    *name == '\0' || index < 0)
		return (-1);
	if (cmd != MP_R_ADDHEADER && cmd != MP_R_QUARANTINE) {
		piece[n] = &idx;
		plen[n++] = sizeof(idx);
	}
	piece[n] = name;
	plen[n++] = strlen(name) + 1;
	if (cmd != MP_R_QUARANTINE) {
		piece[n] = value ? value : "";
		plen[n++] = (value ? strlen(value) : 0) + 1;
	}
	return (mp_put(ctx, cmd, piece, plen, n));
}

int
mp_addheader(struct mp_ctx *ctx, const char *name, const char *value)
{
	return (value == NULL ? -1 :
	    mp_modify(ctx, MP_F_ADDHDRS, MP_R_ADDHEADER, 0, name, value));
}

int
mp_chgheader(struct mp_ctx *ctx, const char *name, int index,
    const char *value)
{
	return (mp_modify(ctx, MP_F_CHGHDRS, MP_R_CHGHEADER, index, name,
	    value));
}

int
mp_insheader(struct mp_ctx *ctx, int index, const char *name,
    const char *value)
{
	return (value == NULL ? -1 :
	    mp_modify(ctx, MP_F_ADDHDRS, MP_R_INSHEADER, index, name, value));
}

int
mp_quarantine(struct mp_ctx *ctx, const char *reason)
{
	if (reason == NULL || *reason == '\0')
		return (-1);
	return (mp_modify(ctx, MP_F_QUARANTINE, MP_R_QUARANTINE, 0, reason,
	    NULL));
}

/* mp_end - a message in progress aborted, then close, once */

void
mp_end(struct mp_ctx *ctx)
{
	if (ctx->mc_in_msg && ctx->mc_filter->mf_abort != NULL)
		ctx->mc_filter->mf_abort(ctx);
	ctx->mc_in_msg = 0;
	if (!ctx->mc_closed && ctx->mc_filter->mf_close != NULL)
		ctx->mc_filter->mf_close(ctx);
	ctx->mc_closed = 1;
}

/* mp_envelope - MAIL or RCPT and their arguments */

static int
mp_envelope(struct mp_ctx *ctx, int cmd, char *data, size_t len)
{
	enum mp_stat (*fn)(struct mp_ctx *, char **);
	char   *argv[MP_ARGV_MAX + 1];
	int	n;

	if ((n = mp_strings(data, len, argv, MP_ARGV_MAX)) < 1)
		return (-1);
	argv[n] = NULL;
	if (cmd == MP_C_MAIL) {
		mp_forget(ctx, 3);	/* the last message's rcpt..eom */
		ctx->mc_in_msg = 1;
		fn = ctx->mc_filter->mf_envfrom;
		return (mp_put_status(ctx, fn ? fn(ctx, argv) : MP_CONTINUE,
		    MP_P_NR_MAIL));
	}
	fn = ctx->mc_filter->mf_envrcpt;
	return (mp_put_status(ctx, fn ? fn(ctx, argv) : MP_CONTINUE,
	    MP_P_NR_RCPT));
}

/* mp_eom - the last body chunk, if any, then end of message */

static int
mp_eom(struct mp_ctx *ctx, unsigned char *data, size_t len)
{
	const struct mp_filter *mf = ctx->mc_filter;
	enum mp_stat st = MP_CONTINUE;
	int	rc;

	if (len > 0 && mf->mf_body != NULL)
		st = mf->mf_body(ctx, data, len);
	if (st == MP_CONTINUE || st == MP_NOREPLY) {
		ctx->mc_in_eom = 1;
		st = mf->mf_eom ? mf->mf_eom(ctx) : MP_CONTINUE;
		ctx->mc_in_eom = 0;
	}
	ctx->mc_in_msg = 0;
	rc = mp_put_status(ctx, st == MP_NOREPLY ? MP_CONTINUE : st, 0);
	return (ctx->mc_nomem ? -1 : rc);
}

/* mp_command - one packet; 0, 1 for the end of the session, or -1 */

static int
mp_command(struct mp_ctx *ctx, int cmd, unsigned char *data, size_t len)
{
	const struct mp_filter *mf = ctx->mc_filter;
	struct sockaddr_storage ss;
	char   *v[2], *host = (char *)data;
	size_t	hl;

	switch (cmd) {
	case MP_C_OPTNEG:
		return (mp_negotiate(ctx, data, len));
	case MP_C_MACRO:
		return (mp_macro(ctx, data, len));
	case MP_C_CONNECT:
		if (len < 2 || data[len - 1] != '\0' ||
		    (hl = strlen(host)) + 2 > len)
			return (-1);
		ctx->mc_closed = 0;
		if (data[hl + 1] == '4' || data[hl + 1] == '6') {
			if (hl + 5 > len)
				return (-1);
			return (mp_put_status(ctx, mf->mf_connect ?
			    mf->mf_connect(ctx, host, mp_sockaddr(&ss,
			    data[hl + 1], data + hl + 2, (char *)data + hl + 4)) :
			    MP_CONTINUE, MP_P_NR_CONN));
		}
		return (mp_put_status(ctx, mf->mf_connect ? mf->mf_connect(ctx,
		    host, NULL) : MP_CONTINUE, MP_P_NR_CONN));
	case MP_C_HELO:
		return (mp_put_status(ctx, MP_NOREPLY, MP_P_NR_HELO));
	case MP_C_MAIL:
	case MP_C_RCPT:
		return (mp_envelope(ctx, cmd, (char *)data, len));
	case MP_C_DATA:
		return (mp_put_status(ctx, MP_NOREPLY, MP_P_NR_DATA));
	case MP_C_UNKNOWN:
		return (mp_put_status(ctx, MP_NOREPLY, MP_P_NR_UNKN));
	case MP_C_HEADER:
		if (mp_strings((char *)data, len, v, 2) != 2)
			return (-1);
		return (mp_put_status(ctx, mf->mf_header ?
		    mf->mf_header(ctx, v[0], v[1]) : MP_CONTINUE,
		    MP_P_NR_HDR));
	case MP_C_EOH:
		return (mp_put_status(ctx, mf->mf_eoh ? mf->mf_eoh(ctx) :
		    MP_CONTINUE, MP_P_NR_EOH));
	case MP_C_BODY:
		return (mp_put_status(ctx, mf->mf_body ? mf->mf_body(ctx, data,
		    len) : MP_CONTINUE, MP_P_NR_BODY));
	case MP_C_BODYEOB:
		return (mp_eom(ctx, data, len));
	case MP_C_ABORT:
		if (ctx->mc_in_msg && mf->mf_abort != NULL)
			mf->mf_abort(ctx);
		ctx->mc_in_msg = 0;
		ctx->mc_reply[0] = '\0';
		mp_forget(ctx, 2);
		return (0);
	case MP_C_QUIT_NC:		/* another connection follows */
		mp_end(ctx);
		mp_forget(ctx, 0);
		return (0);
	case MP_C_QUIT:
		mp_end(ctx);
		return (1);
	default:
		log_warnx("NOQUEUE: milter protocol: unknown command 0x%02x",
		    cmd & 0xff);
		return (-1);
	}
}

long
mp_input(struct mp_ctx *ctx, unsigned char *buf, size_t len, size_t *need)
{
	size_t	used = 0;
	uint32_t plen;
	int	cmd, rc;

	*need = 0;
	while (len - used >= 5) {
		memcpy(&plen, buf + used, 4);
		plen = ntohl(plen);
		if (plen < 1 || plen > MP_PACKET_MAX) {
			log_warnx("NOQUEUE: milter protocol: a packet of %u "
			    "octets (at most %d): closing the connection",
			    (unsigned)plen, MP_PACKET_MAX);
			return (-1);
		}
		if (len - used < 4 + (size_t)plen) {
			*need = 4 + (size_t)plen;
			break;
		}
		cmd = buf[used + 4];
		rc = mp_command(ctx, cmd, buf + used + 5, plen - 1);
		used += 4 + (size_t)plen;
		if (rc == 1)
			return (-1);
		if (rc == -1 || ctx->mc_nomem) {
			if (rc == -1 && !ctx->mc_nomem && cmd != MP_C_OPTNEG)
				log_warnx("NOQUEUE: milter protocol: bad "
				    "command '%c' (%u octets): closing the "
				    "connection", cmd > 32 && cmd < 127 ?
				    cmd : '?', (unsigned)plen);
			return (-1);
		}
	}
	return ((long)used);
}
