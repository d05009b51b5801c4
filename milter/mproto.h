#ifndef MPROTO_H
#define MPROTO_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * The milter protocol, version 6, as Sendmail's and Postfix's MTAs speak
 * it: a packet is a 32-bit length in network order (the command octet
 * included), one command octet and its data.
 */
#define MP_VERSION		6
#define MP_PACKET_MAX		(1024 * 1024 + 64)	/* a command, at most */

/* MTA to filter */
#define MP_C_ABORT		'A'
#define MP_C_BODY		'B'
#define MP_C_CONNECT		'C'
#define MP_C_MACRO		'D'
#define MP_C_BODYEOB		'E'
#define MP_C_HELO		'H'
#define MP_C_QUIT_NC		'K'
#define MP_C_HEADER		'L'
#define MP_C_MAIL		'M'
#define MP_C_EOH		'N'
#define MP_C_OPTNEG		'O'
#define MP_C_QUIT		'Q'
#define MP_C_RCPT		'R'
#define MP_C_DATA		'T'
#define MP_C_UNKNOWN		'U'

/* filter to MTA */
#define MP_R_ADDHEADER		'h'
#define MP_R_CHGHEADER		'm'
#define MP_R_INSHEADER		'i'
#define MP_R_QUARANTINE		'q'
#define MP_R_ACCEPT		'a'
#define MP_R_CONTINUE		'c'
#define MP_R_DISCARD		'd'
#define MP_R_REJECT		'r'
#define MP_R_TEMPFAIL		't'
#define MP_R_REPLYCODE		'y'
#define MP_R_OPTNEG		'O'

/* actions the filter may take (negotiated) */
#define MP_F_ADDHDRS		0x01UL
#define MP_F_CHGHDRS		0x10UL
#define MP_F_QUARANTINE		0x20UL

/* protocol steps the MTA may skip or not wait for (negotiated) */
#define MP_P_NOCONNECT		0x000001UL
#define MP_P_NOHELO		0x000002UL
#define MP_P_NOMAIL		0x000004UL
#define MP_P_NORCPT		0x000008UL
#define MP_P_NOBODY		0x000010UL
#define MP_P_NOHDRS		0x000020UL
#define MP_P_NOEOH		0x000040UL
#define MP_P_NR_HDR		0x000080UL
#define MP_P_NOUNKNOWN		0x000100UL
#define MP_P_NODATA		0x000200UL
#define MP_P_NR_CONN		0x001000UL
#define MP_P_NR_HELO		0x002000UL
#define MP_P_NR_MAIL		0x004000UL
#define MP_P_NR_RCPT		0x008000UL
#define MP_P_NR_DATA		0x010000UL
#define MP_P_NR_UNKN		0x020000UL
#define MP_P_NR_EOH		0x040000UL
#define MP_P_NR_BODY		0x080000UL
#define MP_P_HDR_LEADSPC	0x100000UL

enum mp_stat {
	MP_CONTINUE,
	MP_REJECT,
	MP_TEMPFAIL,
	MP_ACCEPT,
	MP_NOREPLY,		/* only for a step the MTA does not wait on */
};

struct mp_ctx;

/* The filter: every callback may be NULL (then: continue). */
struct mp_filter {
	enum mp_stat (*mf_negotiate)(struct mp_ctx *, unsigned long actions,
		    unsigned long pflags, unsigned long *ractions,
		    unsigned long *rpflags);
	enum mp_stat (*mf_connect)(struct mp_ctx *, const char *host,
		    const struct sockaddr *sa);
	enum mp_stat (*mf_envfrom)(struct mp_ctx *, char **argv);
	enum mp_stat (*mf_envrcpt)(struct mp_ctx *, char **argv);
	enum mp_stat (*mf_header)(struct mp_ctx *, char *name, char *value);
	enum mp_stat (*mf_eoh)(struct mp_ctx *);
	enum mp_stat (*mf_body)(struct mp_ctx *, unsigned char *chunk,
		    size_t len);
	enum mp_stat (*mf_eom)(struct mp_ctx *);
	void	(*mf_abort)(struct mp_ctx *);
	void	(*mf_close)(struct mp_ctx *);
};

struct mp_ctx *mp_ctx_new(const struct mp_filter *mf);
void	mp_ctx_free(struct mp_ctx *ctx);
long	mp_input(struct mp_ctx *ctx, unsigned char *buf, size_t len,
	    size_t *need);
int	mp_output(struct mp_ctx *ctx, const unsigned char **buf,
	    size_t *len);
void	mp_output_done(struct mp_ctx *ctx);
void	mp_end(struct mp_ctx *ctx);

void	*mp_getpriv(struct mp_ctx *ctx);
void	mp_setpriv(struct mp_ctx *ctx, void *priv);
unsigned long mp_pflags(struct mp_ctx *ctx);
const char *mp_getsymval(struct mp_ctx *ctx, const char *name);
int	mp_setreply(struct mp_ctx *ctx, const char *rcode, const char *xcode,
	    const char *text);
int	mp_addheader(struct mp_ctx *ctx, const char *name, const char *value);
int	mp_chgheader(struct mp_ctx *ctx, const char *name, int index,
	    const char *value);
int	mp_insheader(struct mp_ctx *ctx, int index, const char *name,
	    const char *value);
int	mp_quarantine(struct mp_ctx *ctx, const char *reason);

#endif
