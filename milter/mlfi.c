/*
 * NAME
 *	mlfi - the milter callbacks
 * SYNOPSIS
 *	#include "mlfi.h"
 *
 *	int	mlfi_open(const struct cfg *cf, char *err, size_t errlen);
 *	int	mlfi_start(void);
 *	int	mlfi_stop(int shutdown_timeout);
 *	const char *mlfi_libversion(char *buf, size_t size);
 * DESCRIPTION
 *	The filter the milter protocol engine (mproto(3), mserv(3)) calls.
 *	mlfi_open() opens the socket (as root, before the privilege drop),
 *	giving a unix socket the configured mode and group, and raises the
 *	soft limit of open files to milter.max_connections + 64 if it is
 *	lower (a warning if the hard limit does not allow it). mlfi_start()
 *	serves it in threads that have SIGTERM, SIGHUP and SIGINT blocked,
 *	so those reach the main thread. mlfi_stop() drains: new messages
 *	get 451 4.3.2, messages in flight have up to shutdown_timeout
 *	seconds to finish, then the connections are closed.
 *
 *	Each callback fetches its conn and txn, calls one policy function
 *	and maps the verdict to a protocol status with mlfi_verdict(),
 *	which also sets the SMTP reply, writes the summary line and frees
 *	the txn when the message is decided. A message the MTA aborts
 *	(RSET, lost client) also gets its summary line, with action=abort.
 *	At end of message mlfi_eom() removes client copies of our control
 *	headers and inserts the signatures at the top. A session's MAIL
 *	FROM past milter.max_messages_per_connection gets 451 4.7.0.
 * OWNERSHIP
 *	The context's private pointer holds the struct conn from negotiate
 *	(or connect) to close. Macro values are copied before a callback
 *	ends.
 * DIAGNOSTICS
 *	A callback without its state (a protocol anomaly) logs and applies
 *	a temporary failure, never an accept. Every mp_* result is checked.
 * SEE ALSO
 *	policy(3), conn(3), txn(3), mproto(3), mserv(3)
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "mlfi.h"
#include "mproto.h"
#include "mserv.h"
#include "policy.h"
#include "rl.h"
#include "preflight.h"
#include "sign.h"
#include "txn.h"

#define MLFI_NEEDED	(MP_F_ADDHDRS | MP_F_CHGHDRS)
#define MLFI_ACTIONS	(MLFI_NEEDED | MP_F_QUARANTINE)	/* hold */

static atomic_int mlfi_draining;	/* stopping: no new messages */

/* mlfi_broken - a callback without its state: log, fail temporarily */

static enum mp_stat
mlfi_broken(struct mp_ctx *ctx, const char *where)
{
	log_warnx("NOQUEUE: %s callback without connection or message "
	    "state: temporary failure", where);
	if (mp_setreply(ctx, "451", "4.3.0", "internal error") != 0)
		log_warnx("NOQUEUE: mp_setreply failed");
	return (MP_TEMPFAIL);
}

/* mlfi_queue_id - pick up {i} when the MTA has assigned it */

static void
mlfi_queue_id(struct mp_ctx *ctx, struct txn *tx)
{
	if (tx->t_queue_id == NULL)
		txn_set_queue_id(tx, mp_getsymval(ctx, "i"));
}

/* mlfi_verdict - map a verdict to a status; decided messages end here */

static enum mp_stat
mlfi_verdict(struct mp_ctx *ctx, struct txn *tx, enum verdict v)
{
	enum mp_stat st;

	switch (v) {
	case VERDICT_CONTINUE:
		return (MP_CONTINUE);
	case VERDICT_PASS:
		st = MP_ACCEPT;
		break;
	case VERDICT_TEMPFAIL:
	case VERDICT_REJECT:
	default:
		if (mp_setreply(ctx, tx->t_rcode, tx->t_xcode,
		    tx->t_reason) != 0)
			txn_log(tx, LOG_WARNING, "mp_setreply failed");
		st = v == VERDICT_REJECT ? MP_REJECT : MP_TEMPFAIL;
		break;
	}
	mlfi_queue_id(ctx, tx);
	policy_summary(tx);
	txn_free(tx);
	return (st);
}

/*
 * mlfi_later - a header or body verdict: at once, or, when the MTA waits
 * for no reply, kept for the next step that has one (eoh, eom)
 */
static enum mp_stat
mlfi_later(struct mp_ctx *ctx, struct conn *c, enum verdict v)
{
	if (!c->c_noreply)
		return (mlfi_verdict(ctx, c->c_txn, v));
	if (v != VERDICT_CONTINUE)
		c->c_txn->t_pending = (int)v;
	return (MP_NOREPLY);
}

/* mlfi_flags - what the negotiated protocol flags mean for a conn */

static void
mlfi_flags(struct conn *c, unsigned long pflags)
{
	c->c_leadspc = (pflags & MP_P_HDR_LEADSPC) != 0;
	c->c_noreply = (pflags & (MP_P_NR_HDR | MP_P_NR_BODY)) ==
	    (MP_P_NR_HDR | MP_P_NR_BODY);
	c->c_noreply_eoh = c->c_noreply && (pflags & MP_P_NR_EOH) != 0;
	c->c_noreply_conn = (pflags & MP_P_NR_CONN) != 0;
	c->c_noreply_rcpt = c->c_noreply && (pflags & MP_P_NR_RCPT) != 0;
	c->c_noreply_mail = c->c_noreply_rcpt && (pflags & MP_P_NR_MAIL) != 0;
}

/* mlfi_negotiate - ask only for what we use */

static enum mp_stat
mlfi_negotiate(struct mp_ctx *ctx, unsigned long actions,
    unsigned long pflags, unsigned long *ractions, unsigned long *rpflags)
{
	struct conn *c;

	if ((actions & MLFI_NEEDED) != MLFI_NEEDED) {
		log_warnx("NOQUEUE: the MTA does not allow adding and deleting "
		    "headers: cannot sign");
		return (MP_REJECT);
	}
	*ractions = actions & MLFI_ACTIONS;
	if ((c = conn_new(NULL)) == NULL)
		return (mlfi_broken(ctx, "negotiate"));
	*rpflags = pflags & (MP_P_NOHELO | MP_P_NOUNKNOWN | MP_P_HDR_LEADSPC);
	/*
	 * Skip DATA and the replies to connect, to each header, to the end
	 * of headers and to each body chunk: a message then takes three
	 * round trips (MAIL, RCPT, end of message). A verdict of the headers
	 * is given at end of message, which changes nothing for the client:
	 * the MTA answers DATA only after the whole message anyway. (Over
	 * TCP the MTA's commands then go out back to back; an MTA without
	 * TCP_NODELAY, like Postfix, sends each only when the last is
	 * acknowledged, and mserv acknowledges at once: TCP_QUICKACK.) With
	 * no rate limit that can refuse a recipient in this connection's
	 * config (it keeps that config to the end), RCPT needs no reply
	 * either: two round trips. With milter.defer_refusals, neither MAIL
	 * nor RCPT is answered: one round trip, and what would have refused
	 * either refuses the message at its end.
	 */
	*rpflags |= pflags & (MP_P_NODATA | MP_P_NR_CONN |
	    MP_P_NR_HDR | MP_P_NR_EOH | MP_P_NR_BODY);
	/* verdicts are kept for a later step only with these */
	if ((*rpflags & (MP_P_NR_HDR | MP_P_NR_BODY)) ==
	    (MP_P_NR_HDR | MP_P_NR_BODY) &&
	    (!c->c_cfg->cf_rcpt_limits || c->c_cfg->cf_defer_refusals))
		*rpflags |= pflags & MP_P_NR_RCPT;
	if ((*rpflags & MP_P_NR_RCPT) && c->c_cfg->cf_defer_refusals)
		*rpflags |= pflags & MP_P_NR_MAIL;
	mlfi_flags(c, *rpflags);
	mp_setpriv(ctx, c);
	return (MP_CONTINUE);
}

/* mlfi_connect - the client's address */

static enum mp_stat
mlfi_connect(struct mp_ctx *ctx, const char *host, const struct sockaddr *sa)
{
	struct conn *c = mp_getpriv(ctx);

	(void)host;
	if (c != NULL) {		/* made at negotiate */
		conn_set_addr(c, sa);
		return (c->c_noreply_conn ? MP_NOREPLY : MP_CONTINUE);
	}
	if ((c = conn_new(sa)) == NULL)	/* after SMFIC_QUIT_NC */
		return (mlfi_broken(ctx, "connect"));
	mlfi_flags(c, mp_pflags(ctx));
	mp_setpriv(ctx, c);
	return (c->c_noreply_conn ? MP_NOREPLY : MP_CONTINUE);
}

/*
 * mlfi_session_refusal - what refuses any MAIL of this session now
 * (shutting down, or milter.max_messages_per_connection reached): the
 * text of the 451 with its enhanced code in *xcode, or NULL
 */
static const char *
mlfi_session_refusal(const struct conn *c, const char **xcode)
{
	if (atomic_load(&mlfi_draining)) {
		*xcode = "4.3.2";
		return ("shutting down, try again later");
	}
	if (c->c_cfg->cf_max_msgs_conn > 0 &&
	    c->c_msgs >= (unsigned long)c->c_cfg->cf_max_msgs_conn) {
		log_info("NOQUEUE: %lu messages in one SMTP session (limit "
		    "milter.max_messages_per_connection): 451", c->c_msgs);
		*xcode = "4.7.0";
		return ("too many messages in this session, reconnect and try "
		    "again");
	}
	return (NULL);
}

/*
 * mlfi_envfrom_deferred - MAIL without a reply (milter.defer_refusals):
 * whatever MAIL would have answered becomes the message's verdict at its
 * end; without a txn (no memory), end of message fails it temporarily
 */
static enum mp_stat
mlfi_envfrom_deferred(struct mp_ctx *ctx, struct conn *c, char **argv,
    const char *why, const char *xcode)
{
	struct txn *tx;
	enum verdict v;

	if ((tx = txn_new(c)) == NULL) {
		log_warnx("NOQUEUE: out of memory at MAIL: the message will "
		    "be refused at its end");
		return (MP_NOREPLY);
	}
	mlfi_queue_id(ctx, tx);
	v = why != NULL ? txn_refuse(tx, CFG_ACT_TEMPFAIL, xcode, "%s", why) :
	    policy_envfrom(tx, argv[0], mp_getsymval(ctx, "{auth_authen}"));
	if (v != VERDICT_CONTINUE)
		tx->t_pending = (int)v;
	return (MP_NOREPLY);
}

/* mlfi_envfrom - a new message: outbound or not, whose */

static enum mp_stat
mlfi_envfrom(struct mp_ctx *ctx, char **argv)
{
	struct conn *c = mp_getpriv(ctx);
	struct txn *tx;
	const char *why, *xcode = NULL;

	if (c == NULL)
		return (mlfi_broken(ctx, "envfrom"));
	txn_free(c->c_txn);
	why = mlfi_session_refusal(c, &xcode);
	if (c->c_noreply_mail)
		return (mlfi_envfrom_deferred(ctx, c, argv, why, xcode));
	if (why != NULL) {
		if (mp_setreply(ctx, "451", xcode, why) != 0)
			log_warnx("NOQUEUE: mp_setreply failed");
		return (MP_TEMPFAIL);
	}
	if ((tx = txn_new(c)) == NULL)
		return (mlfi_broken(ctx, "envfrom"));
	mlfi_queue_id(ctx, tx);
	return (mlfi_verdict(ctx, tx, policy_envfrom(tx, argv[0],
	    mp_getsymval(ctx, "{auth_authen}"))));
}

/* mlfi_envrcpt - one recipient: rate limits refuse it alone */

static enum mp_stat
mlfi_envrcpt(struct mp_ctx *ctx, char **argv)
{
	struct conn *c = mp_getpriv(ctx);
	struct txn *tx;
	enum verdict v;

	if (c == NULL || (tx = c->c_txn) == NULL)
		return (c && c->c_noreply_rcpt ? MP_NOREPLY :
		    mlfi_broken(ctx, "envrcpt"));
	mlfi_queue_id(ctx, tx);
	if (c->c_noreply_rcpt) {	/* refused: the whole message, later */
		if (!tx->t_pending && (v = policy_envrcpt(tx, argv[0])) !=
		    VERDICT_CONTINUE) {
			tx->t_pending = (int)v;
			tx->t_action = v == VERDICT_REJECT ? "reject" :
			    "tempfail";
		}
		return (MP_NOREPLY);
	}
	if (policy_envrcpt(tx, argv[0]) == VERDICT_CONTINUE)
		return (MP_CONTINUE);
	txn_log(tx, LOG_INFO, "rcpt refused: %s %s %s", tx->t_rcode,
	    tx->t_xcode, tx->t_reason);
	if (mp_setreply(ctx, tx->t_rcode, tx->t_xcode, tx->t_reason) !=
	    0)
		txn_log(tx, LOG_WARNING, "mp_setreply failed");
	tx->t_reason[0] = '\0';
	return (MP_TEMPFAIL);
}

/* mlfi_header - keep a copy of one header */

static enum mp_stat
mlfi_header(struct mp_ctx *ctx, char *name, char *value)
{
	struct conn *c = mp_getpriv(ctx);
	char   *spaced = NULL;
	enum verdict v;

	if (c == NULL || c->c_txn == NULL)
		return (c && c->c_noreply ? MP_NOREPLY :
		    mlfi_broken(ctx, "header"));
	if (c->c_txn->t_pending)
		return (MP_NOREPLY);	/* refused already; said at eoh */
	if (c->c_txn->t_inbound)	/* only counted, never kept */
		v = policy_header(c->c_txn, name, value);
	else if (!c->c_leadspc && asprintf(&spaced, " %s", value) == -1)
		v = txn_refuse(c->c_txn, c->c_cfg->cf_on_error, "4.3.0",
		    "internal error (out of memory)");
	else
		v = policy_header(c->c_txn, name, spaced ? spaced : value);
	free(spaced);
	return (mlfi_later(ctx, c, v));
}

/* mlfi_eoh - decide, and start the signatures */

static enum mp_stat
mlfi_eoh(struct mp_ctx *ctx)
{
	struct conn *c = mp_getpriv(ctx);
	struct txn *tx;
	enum verdict v;

	if (c == NULL || (tx = c->c_txn) == NULL)
		return (c && c->c_noreply_eoh ? MP_NOREPLY :
		    mlfi_broken(ctx, "eoh"));
	mlfi_queue_id(ctx, tx);
	if (c->c_noreply_eoh) {		/* said at end of message */
		if (!tx->t_pending && (v = policy_eoh(tx)) != VERDICT_CONTINUE)
			tx->t_pending = (int)v;
		return (MP_NOREPLY);
	}
	if (tx->t_pending)		/* a header was refused */
		return (mlfi_verdict(ctx, tx, (enum verdict)tx->t_pending));
	return (mlfi_verdict(ctx, tx, policy_eoh(tx)));
}

/* mlfi_body - feed one body chunk to every signature */

static enum mp_stat
mlfi_body(struct mp_ctx *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = mp_getpriv(ctx);

	if (c == NULL || c->c_txn == NULL)
		return (c && c->c_noreply ? MP_NOREPLY :
		    mlfi_broken(ctx, "body"));
	if (c->c_txn->t_pending)
		return (MP_NOREPLY);	/* said at end of message */
	return (mlfi_later(ctx, c, policy_body(c->c_txn, chunk, len)));
}

/* mlfi_apply_dmarc - the verdict header and the hold queue; 0 or -1 */

static int
mlfi_apply_dmarc(struct mp_ctx *ctx, struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	char   *value;
	int	rc;

	if (tx->t_checked && (tx->t_tag || cf->cf_align_header)) {
		if (asprintf(&value, "%s%s (%s)", tx->t_conn->c_leadspc ? " " :
		    "", align_verdict_name(tx->t_align.ar_verdict),
		    tx->t_align.ar_reason) == -1)
			return (-1);
		rc = mp_addheader(ctx, PREFLIGHT_HEADER, value);
		free(value);
		if (rc != 0) {
			txn_log(tx, LOG_ERR, "cannot add %s", PREFLIGHT_HEADER);
			return (-1);
		}
	}
	if (tx->t_hold && mp_quarantine(ctx, tx->t_align.ar_reason) !=
	    0) {
		txn_log(tx, LOG_ERR, "cannot put the message on hold");
		return (-1);
	}
	return (0);
}

/*
 * mlfi_apply_route - name the transport for milter_header_checks
 *
 * Postfix's cleanup matches milter_header_checks when a milter adds a
 * header, so FILTER takes effect even though the same reply deletes the
 * header again: no route header reaches a recipient, and a client's copy
 * (already deleted above) never routes anything.
 */

static int
mlfi_apply_route(struct mp_ctx *ctx, struct txn *tx)
{
	char   *value;
	int	rc;

	if (tx->t_route == NULL)
		return (0);
	if (asprintf(&value, "%s%s", tx->t_conn->c_leadspc ? " " : "",
	    tx->t_route->ce_transport) == -1)
		return (-1);
	rc = mp_addheader(ctx, POLICY_ROUTE_HEADER, value);
	free(value);
	if (rc != 0 ||
	    mp_chgheader(ctx, POLICY_ROUTE_HEADER, 1, NULL) != 0) {
		txn_log(tx, LOG_ERR, "cannot set the route header");
		return (-1);
	}
	return (0);
}

/* mlfi_apply - remove control headers, insert signatures; 0 or -1 */

static int
mlfi_apply(struct mp_ctx *ctx, struct txn *tx)
{
	size_t	i, h;
	char   *value;
	int	rc;

	for (h = 0; h < POLICY_NCONTROL; h++)
		for (i = tx->t_control[h]; i > 0; i--)	/* last first */
			if (mp_chgheader(ctx,
			    (char *)policy_control_headers[h], (int)i, NULL) !=
			    0) {
				txn_log(tx, LOG_ERR, "cannot remove client "
				    "header %s", policy_control_headers[h]);
				return (-1);
			}
	if (mlfi_apply_dmarc(ctx, tx) == -1 || mlfi_apply_route(ctx, tx) == -1)
		return (-1);
	for (i = tx->t_unsigned ? 0 : tx->t_nsigs; i-- > 0;) {
		/* With MP_P_HDR_LEADSPC values we add carry the space too. */
		if (asprintf(&value, "%s%s", tx->t_conn->c_leadspc ? " " : "",
		    tx->t_sigs[i].ts_value) == -1)
			return (-1);
		rc = mp_insheader(ctx, 0, SIGN_HEADER, value);
		free(value);
		if (rc != 0) {
			txn_log(tx, LOG_ERR, "cannot insert the signature");
			return (-1);
		}
	}
	return (0);
}

/* mlfi_eom - finish the signatures and modify the message */

static enum mp_stat
mlfi_eom(struct mp_ctx *ctx)
{
	struct conn *c = mp_getpriv(ctx);
	struct txn *tx;
	enum verdict v;

	if (c == NULL || (tx = c->c_txn) == NULL)
		return (mlfi_broken(ctx, "eom"));
	mlfi_queue_id(ctx, tx);
	if (tx->t_pending)		/* a body chunk failed */
		return (mlfi_verdict(ctx, tx, (enum verdict)tx->t_pending));
	if ((v = policy_eom(tx)) == VERDICT_CONTINUE) {
		if (mlfi_apply(ctx, tx) == -1)	/* changes may be half done */
			v = txn_refuse(tx, c->c_cfg->cf_on_error ==
			    CFG_ACT_REJECT ? CFG_ACT_REJECT : CFG_ACT_TEMPFAIL,
			    "4.3.0", "internal error while changing the message");
		else
			v = VERDICT_PASS;
		if (v == VERDICT_PASS && !tx->t_unsigned && !tx->t_inbound)
			tx->t_action = tx->t_hold ? "hold" : "accept";
		if (v == VERDICT_PASS)
			rl_commit(tx);
	}
	return (mlfi_verdict(ctx, tx, v));
}

/* mlfi_abort - the message ends early; nothing to undo */

static void
mlfi_abort(struct mp_ctx *ctx)
{
	struct conn *c = mp_getpriv(ctx);

	if (c != NULL && c->c_txn != NULL) {
		c->c_txn->t_action = "abort";
		mlfi_queue_id(ctx, c->c_txn);
		policy_summary(c->c_txn);
		txn_free(c->c_txn);
	}
}

/* mlfi_close - the connection ends */

static void
mlfi_close(struct mp_ctx *ctx)
{
	struct conn *c = mp_getpriv(ctx);

	if (c != NULL) {
		conn_free(c);
		mp_setpriv(ctx, NULL);
	}
}

static const struct mp_filter mlfi_filter = {
	.mf_negotiate = mlfi_negotiate,
	.mf_connect = mlfi_connect,
	.mf_envfrom = mlfi_envfrom,
	.mf_envrcpt = mlfi_envrcpt,
	.mf_header = mlfi_header,
	.mf_eoh = mlfi_eoh,
	.mf_body = mlfi_body,
	.mf_eom = mlfi_eom,
	.mf_abort = mlfi_abort,
	.mf_close = mlfi_close,
};

/* mlfi_open - the socket, with its owner and permissions */

int
mlfi_open(const struct cfg *cf, char *err, size_t errlen)
{
	struct rlimit rl;
	rlim_t	want = (rlim_t)cf->cf_max_conns + 64;	/* + DNS, Redis, ... */

	/* one descriptor per MTA connection: raise the soft limit if needed */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max >= want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
			log_warnx("open files limited to %llu: fewer than "
			    "milter.max_connections (%d) connections can be "
			    "served", (unsigned long long)rl.rlim_cur,
			    cf->cf_max_conns);
	}
	return (mserv_open(cf->cf_socket, cf->cf_uid, cf->cf_socket_gid,
	    cf->cf_socket_mode, err, errlen));
}

/* mlfi_max_conns - milter.max_connections of the current snapshot */

static int
mlfi_max_conns(void)
{
	struct cfg *cf = cfg_acquire();
	int	max = cf->cf_max_conns;

	cfg_release(cf);
	return (max);
}

/* mlfi_start - serve, in threads that do not take our signals */

int
mlfi_start(void)
{
	return (mserv_start(&mlfi_filter, mlfi_max_conns));
}

/* mlfi_stop - refuse new messages, let those in flight finish, stop */

int
mlfi_stop(int shutdown_timeout)
{
	int	waited;

	atomic_store(&mlfi_draining, 1);
	log_info("stopping: %lu message(s) in flight", txn_active());
	for (waited = 0; txn_active() > 0 && waited < shutdown_timeout * 10;
	    waited++)
		usleep(100000);
	if (txn_active() > 0)
		log_warnx("stopping with %lu message(s) unfinished: the MTA "
		    "applies milter_default_action to them", txn_active());
	mserv_stop(5);
	return (0);
}

/* mlfi_libversion - the protocol spoken, for -V */

const char *
mlfi_libversion(char *buf, size_t size)
{
	snprintf(buf, size, "milter protocol %d", MP_VERSION);
	return (buf);
}
