/* mproto_test - the milter protocol codec, packet by packet */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproto.h"
#include "tap.h"

/* What the test filter saw, as one text log. */
static char seen[4096];
static enum mp_stat next_status = MP_CONTINUE;
static int modify_in_eom, modify_rc, closes, aborts;

#define saw(fmt, a, b) do {						\
	size_t n_ = strlen(seen);					\
	const char *a_ = (a), *b_ = (b);				\
	snprintf(seen + n_, sizeof(seen) - n_, fmt, a_ ? a_ : "-",	\
	    b_ ? b_ : "-");						\
} while (0)

static enum mp_stat
t_negotiate(struct mp_ctx *ctx, unsigned long a, unsigned long p,
    unsigned long *ra, unsigned long *rp)
{
	(void)ctx;
	*ra = a & (MP_F_ADDHDRS | MP_F_CHGHDRS);
	*rp = p & (MP_P_NR_HDR | MP_P_NOHELO);
	saw("neg%s%s;", "", "");
	return (MP_CONTINUE);
}

static enum mp_stat
t_connect(struct mp_ctx *ctx, const char *host, const struct sockaddr *sa)
{
	char	buf[64] = "none";

	(void)ctx;
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, sizeof(buf));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		    sizeof(buf));
	saw("conn %s %s;", host, buf);
	return (MP_CONTINUE);
}

static enum mp_stat
t_envfrom(struct mp_ctx *ctx, char **argv)
{
	saw("from %s %s;", argv[0], argv[1]);
	saw("login %s i=%s;", mp_getsymval(ctx, "{auth_authen}"),
	    mp_getsymval(ctx, "i"));
	return (next_status);
}

static enum mp_stat
t_envrcpt(struct mp_ctx *ctx, char **argv)
{
	(void)ctx;
	saw("rcpt %s%s;", argv[0], "");
	if (next_status == MP_TEMPFAIL)
		mp_setreply(ctx, "451", "4.7.1", "slow down");
	return (next_status);
}

static enum mp_stat
t_header(struct mp_ctx *ctx, char *name, char *value)
{
	saw("hdr %s=%s;", name, value);
	modify_rc = mp_addheader(ctx, "X-Early", "no");
	return (MP_NOREPLY);
}

static enum mp_stat
t_body(struct mp_ctx *ctx, unsigned char *chunk, size_t len)
{
	char	b[64];

	(void)ctx;
	snprintf(b, sizeof(b), "%.*s", (int)len, chunk);
	saw("body %s%s;", b, "");
	return (MP_CONTINUE);
}

static enum mp_stat
t_eom(struct mp_ctx *ctx)
{
	saw("eom%s%s;", "", "");
	if (modify_in_eom) {
		modify_rc = mp_chgheader(ctx, "X-Egress-Route", 1, NULL);
		modify_rc |= mp_insheader(ctx, 0, "DKIM-Signature", " v=1");
		modify_rc |= mp_quarantine(ctx, "held");	/* not allowed */
	}
	return (next_status);
}

static void
t_abort(struct mp_ctx *ctx)
{
	(void)ctx;
	aborts++;
}

static void
t_close(struct mp_ctx *ctx)
{
	(void)ctx;
	closes++;
}

static const struct mp_filter filt = {
	t_negotiate, t_connect, t_envfrom, t_envrcpt, t_header, NULL,
	t_body, t_eom, t_abort, t_close,
};

/* A packet buffer built by the test, and helpers to append packets. */
static unsigned char in[8192];
static size_t inlen;

static void
pkt(int cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(in + inlen, &n, 4);
	in[inlen + 4] = (unsigned char)cmd;
	memcpy(in + inlen + 5, data, len);
	inlen += 5 + len;
}

static void
pkt_optneg(uint32_t ver, uint32_t act, uint32_t pf)
{
	uint32_t w[3] = { htonl(ver), htonl(act), htonl(pf) };

	pkt(MP_C_OPTNEG, w, sizeof(w));
}

/* feed - give the whole buffer; the bytes consumed (or -1) */

static long
feed(struct mp_ctx *ctx)
{
	size_t	need;
	long	n = mp_input(ctx, in, inlen, &need);

	inlen = 0;
	return (n);
}

/* replies - the queued replies as "c;y:451 4.7.1 x;h:name=value;" */

static const char *
replies(struct mp_ctx *ctx)
{
	static char text[2048];
	const unsigned char *o;
	size_t	len, i = 0, t = 0;
	uint32_t n;

	text[0] = '\0';
	if (!mp_output(ctx, &o, &len))
		return (text);
	while (i + 5 <= len && t < sizeof(text) - 200) {
		memcpy(&n, o + i, 4);
		n = ntohl(n);
		text[t++] = (char)o[i + 4];
		if (o[i + 4] == MP_R_REPLYCODE || o[i + 4] == MP_R_ADDHEADER ||
		    o[i + 4] == MP_R_QUARANTINE)
			t += (size_t)snprintf(text + t, sizeof(text) - t,
			    ":%s", (const char *)o + i + 5);
		if (o[i + 4] == MP_R_CHGHEADER || o[i + 4] == MP_R_INSHEADER) {
			uint32_t idx;

			memcpy(&idx, o + i + 5, 4);
			t += (size_t)snprintf(text + t, sizeof(text) - t,
			    ":%u:%s=%s", (unsigned)ntohl(idx),
			    (const char *)o + i + 9, (const char *)o + i + 10 +
			    strlen((const char *)o + i + 9));
		}
		text[t++] = ';';
		text[t] = '\0';
		i += 4 + n;
	}
	mp_output_done(ctx);
	return (text);
}

int
main(void)
{
	struct mp_ctx *ctx = mp_ctx_new(&filt);
	unsigned char big[8];
	const unsigned char *o;
	size_t	need, len;
	uint32_t w[3];
	long	n;

	/* negotiation: version 6, only the actions and steps asked for */
	pkt_optneg(6, 0x1ff, 0x1fffff);
	TAP_OK(feed(ctx) == 17, "negotiation consumed");
	TAP_OK(mp_output(ctx, &o, &len) && len == 17 && o[4] == 'O',
	    "one SMFIR_OPTNEG reply of 13 octets");
	memcpy(w, o + 5, 12);
	TAP_OK(ntohl(w[0]) == 6 && ntohl(w[1]) == (MP_F_ADDHDRS |
	    MP_F_CHGHDRS) && ntohl(w[2]) == (MP_P_NR_HDR | MP_P_NOHELO),
	    "reply: version 6, actions 0x11, flags NR_HDR|NOHELO");
	mp_output_done(ctx);

	/* connect with macros, IPv4 and IPv6 */
	pkt(MP_C_MACRO, "Cj\0relay.example\0", 17);
	pkt(MP_C_CONNECT, "client.example\0" "4\x04\x1f" "192.0.2.7\0", 28);
	TAP_OK(feed(ctx) > 0 && strcmp(seen, "neg;conn client.example "
	    "192.0.2.7;") == 0, "connect: host and IPv4 address (%s)", seen);
	TAP_OK(strcmp(replies(ctx), "c;") == 0, "connect answered once");
	seen[0] = '\0';
	pkt(MP_C_CONNECT, "h6\0" "6\x00\x19" "IPv6:2001:db8::7\0", 23);
	feed(ctx);
	TAP_OK(strcmp(seen, "conn h6 2001:db8::7;") == 0,
	    "connect: IPv6 with the IPv6: prefix (%s)", seen);
	replies(ctx);
	seen[0] = '\0';
	pkt(MP_C_CONNECT, "local\0L\0\0/sock\0", 15);
	feed(ctx);
	TAP_OK(strcmp(seen, "conn local none;") == 0,
	    "connect: a unix client has no address (%s)", seen);
	replies(ctx);

	/* MAIL with macros: both brace forms found, arguments split */
	seen[0] = '\0';
	pkt(MP_C_MACRO, "Mauth_authen\0alice\0{i}\0ABC123\0", 30);
	pkt(MP_C_MAIL, "<a@x.example>\0SIZE=10\0", 22);
	feed(ctx);
	TAP_OK(strcmp(seen, "from <a@x.example> SIZE=10;login alice "
	    "i=ABC123;") == 0, "MAIL: argv and macros with or without "
	    "braces (%s)", seen);
	TAP_OK(strcmp(replies(ctx), "c;") == 0, "MAIL answered continue");

	/* a refused recipient with a reply text */
	seen[0] = '\0';
	next_status = MP_TEMPFAIL;
	pkt(MP_C_RCPT, "<b@y.example>\0", 14);
	feed(ctx);
	TAP_OK(strcmp(replies(ctx), "y:451 4.7.1 slow down;") == 0,
	    "tempfail with a text: SMFIR_REPLYCODE");
	pkt(MP_C_RCPT, "<c@y.example>\0", 14);
	next_status = MP_REJECT;
	feed(ctx);
	TAP_OK(strcmp(replies(ctx), "r;") == 0,
	    "reject: the 4xx text of the last one is not reused");
	next_status = MP_CONTINUE;

	/* headers: no reply (NR_HDR), no change allowed before eom */
	seen[0] = '\0';
	pkt(MP_C_HEADER, "From\0 a@x.example\0", 18);
	pkt(MP_C_HEADER, "Subject\0 hi\0", 12);
	pkt(MP_C_EOH, "", 0);
	feed(ctx);
	TAP_OK(strcmp(seen, "hdr From= a@x.example;hdr Subject= hi;") == 0,
	    "two headers in one read (%s)", seen);
	TAP_OK(modify_rc == -1, "a header change outside eom is refused");
	TAP_OK(strcmp(replies(ctx), "c;") == 0,
	    "no reply to headers, one to end of headers");

	/* body and end of message with its last chunk: one output */
	seen[0] = '\0';
	modify_in_eom = 1;
	pkt(MP_C_BODY, "hello ", 6);
	pkt(MP_C_BODYEOB, "world", 5);
	feed(ctx);
	TAP_OK(strcmp(seen, "body hello ;body world;eom;") == 0,
	    "body chunks, the last one in end of message (%s)", seen);
	TAP_OK(strcmp(replies(ctx), "c;m:1:X-Egress-Route=;i:0:"
	    "DKIM-Signature= v=1;c;") == 0 && modify_rc == -1,
	    "body continue; changes then the verdict; quarantine refused "
	    "when not negotiated");
	modify_in_eom = 0;

	/* a partial packet: nothing consumed, its size known */
	pkt(MP_C_MAIL, "<a@x.example>\0", 14);
	n = mp_input(ctx, in, 10, &need);
	TAP_OK(n == 0 && need == 19, "partial packet: 0 consumed, need 19");
	n = mp_input(ctx, in, 3, &need);
	TAP_OK(n == 0 && need == 0, "partial length: need unknown");
	inlen = 0;

	/* abort, then end of connection without quit: close once */
	seen[0] = '\0';
	pkt(MP_C_MAIL, "<a@x.example>\0", 14);
	pkt(MP_C_ABORT, "", 0);
	feed(ctx);
	replies(ctx);
	TAP_OK(aborts == 1, "SMFIC_ABORT in a message aborts it");
	pkt(MP_C_ABORT, "", 0);
	feed(ctx);
	TAP_OK(aborts == 1 && strcmp(replies(ctx), "") == 0,
	    "a second abort: no callback, no reply");
	TAP_OK(mp_getsymval(ctx, "auth_authen") == NULL &&
	    mp_getsymval(ctx, "j") != NULL,
	    "abort forgets the message's macros, keeps the connection's");
	pkt(MP_C_MAIL, "<a@x.example>\0", 14);
	feed(ctx);
	replies(ctx);
	mp_end(ctx);
	mp_end(ctx);
	TAP_OK(aborts == 2 && closes == 1,
	    "lost connection: the message aborted, close called once");
	mp_ctx_free(ctx);

	/* quit */
	ctx = mp_ctx_new(&filt);
	closes = 0;
	pkt_optneg(6, 0x1ff, 0);
	pkt(MP_C_QUIT, "", 0);
	TAP_OK(feed(ctx) == -1 && closes == 1, "SMFIC_QUIT ends the session");
	mp_ctx_free(ctx);

	/* malformed input ends the session */
	ctx = mp_ctx_new(&filt);
	memset(big, 0xff, sizeof(big));
	TAP_OK(mp_input(ctx, big, sizeof(big), &need) == -1,
	    "a 4 GiB length is refused");
	mp_ctx_free(ctx);
	ctx = mp_ctx_new(&filt);
	pkt(MP_C_MAIL, "<no-nul>", 8);
	TAP_OK(feed(ctx) == -1, "MAIL without its NUL is refused");
	mp_ctx_free(ctx);
	ctx = mp_ctx_new(&filt);
	pkt('Z', "", 0);
	TAP_OK(feed(ctx) == -1, "an unknown command is refused");
	mp_ctx_free(ctx);
	ctx = mp_ctx_new(&filt);
	pkt(MP_C_OPTNEG, "\0\0\0\6", 4);
	TAP_OK(feed(ctx) == -1, "a short negotiation is refused");
	mp_ctx_free(ctx);

	/* replies: bad codes refused, text kept on one line */
	ctx = mp_ctx_new(&filt);
	TAP_OK(mp_setreply(ctx, "250", "2.0.0", "x") == -1 &&
	    mp_setreply(ctx, "45", NULL, "x") == -1 &&
	    mp_setreply(ctx, "451", "4.7.1", "a\r\nb") == -1,
	    "reply codes other than 4xx/5xx and CR/LF texts are refused");
	mp_ctx_free(ctx);
	return (tap_done());
}
