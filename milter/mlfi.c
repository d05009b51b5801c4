/*
 * NAME
 *	mlfi - the libmilter callbacks
 * SYNOPSIS
 *	#include "mlfi.h"
 *
 *	int	mlfi_open(const struct cfg *cf, char *err, size_t errlen);
 *	int	mlfi_run(int shutdown_timeout);
 *	const char *mlfi_libversion(char *buf, size_t size);
 * DESCRIPTION
 *	The only file that includes <libmilter/mfapi.h>. mlfi_open()
 *	registers the filter and opens its socket (as root, before the
 *	privilege drop), giving a unix socket the configured mode and group.
 *	mlfi_start() runs libmilter in a thread of its own with SIGTERM,
 *	SIGHUP and SIGINT blocked, so those reach the main thread and not
 *	libmilter (whose own handling stops at once, abandoning sessions).
 *	mlfi_stop() drains: new messages get 451 4.3.2, messages in flight
 *	have up to shutdown_timeout seconds to finish, then libmilter stops.
 *
 *	Each callback fetches its conn and txn, calls one policy function
 *	and maps the verdict to a libmilter status with mlfi_verdict(),
 *	which also sets the SMTP reply, writes the summary line and frees
 *	the txn when the message is decided. A message the MTA aborts
 *	(RSET, lost client) also gets its summary line, with action=abort. At end of message mlfi_eom()
 *	removes client copies of our control headers and inserts the
 *	signatures at the top.
 * OWNERSHIP
 *	libmilter's private pointer holds the struct conn from negotiate (or
 *	connect) to close. Macro values are copied before a callback ends.
 * DIAGNOSTICS
 *	A callback without its state (a protocol anomaly) logs and applies
 *	a temporary failure, never an accept. Every smfi_* result is checked.
 * SEE ALSO
 *	policy(3), conn(3), txn(3), libmilter documentation
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "mlfi.h"
#include "policy.h"
#include "rl.h"
#include "preflight.h"
#include "sign.h"
#include "txn.h"

#define MLFI_NEEDED	(SMFIF_ADDHDRS | SMFIF_CHGHDRS)
#define MLFI_ACTIONS	(MLFI_NEEDED | SMFIF_QUARANTINE)	/* hold */

static pthread_t mlfi_thread;
static int mlfi_main_rc = MI_SUCCESS;
static atomic_int mlfi_draining;	/* stopping: no new messages */

/* mlfi_broken - a callback without its state: log, fail temporarily */

static sfsistat
mlfi_broken(SMFICTX *ctx, const char *where)
{
	log_warnx("NOQUEUE: %s callback without connection or message "
	    "state: temporary failure", where);
	if (smfi_setreply(ctx, "451", "4.3.0", "internal error") != MI_SUCCESS)
		log_warnx("NOQUEUE: smfi_setreply failed");
	return (SMFIS_TEMPFAIL);
}

/* mlfi_queue_id - pick up {i} when the MTA has assigned it */

static void
mlfi_queue_id(SMFICTX *ctx, struct txn *tx)
{
	if (tx->t_queue_id == NULL)
		txn_set_queue_id(tx, smfi_getsymval(ctx, "i"));
}

/* mlfi_verdict - map a verdict to a status; decided messages end here */

static sfsistat
mlfi_verdict(SMFICTX *ctx, struct txn *tx, enum verdict v)
{
	sfsistat st;

	switch (v) {
	case VERDICT_CONTINUE:
		return (SMFIS_CONTINUE);
	case VERDICT_PASS:
		st = SMFIS_ACCEPT;
		break;
	case VERDICT_TEMPFAIL:
	case VERDICT_REJECT:
	default:
		if (smfi_setreply(ctx, tx->t_rcode, tx->t_xcode,
		    tx->t_reason) != MI_SUCCESS)
			txn_log(tx, LOG_WARNING, "smfi_setreply failed");
		st = v == VERDICT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
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
static sfsistat
mlfi_later(SMFICTX *ctx, struct conn *c, enum verdict v)
{
	if (!c->c_noreply)
		return (mlfi_verdict(ctx, c->c_txn, v));
	if (v != VERDICT_CONTINUE)
		c->c_txn->t_pending = (int)v;
	return (SMFIS_NOREPLY);
}

/* mlfi_negotiate - ask only for what we use */

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn *c;

	(void)f2, (void)f3;
	if ((f0 & MLFI_NEEDED) != MLFI_NEEDED) {
		log_warnx("NOQUEUE: the MTA does not allow adding and deleting "
		    "headers: cannot sign");
		return (SMFIS_REJECT);
	}
	*pf0 = f0 & MLFI_ACTIONS;
	*pf2 = *pf3 = 0;
	if ((c = conn_new(NULL)) == NULL)
		return (mlfi_broken(ctx, "negotiate"));
	*pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC);
	/*
	 * On a unix socket, skip DATA and the replies to connect, to each
	 * header and to each body chunk: most round trips of a message. Not on TCP: the
	 * MTA's commands would then go out back to back, and an MTA without
	 * TCP_NODELAY (Postfix) waits for our delayed ACK, 40 ms a message.
	 */
	if (c->c_cfg != NULL && strncmp(c->c_cfg->cf_socket, "unix:", 5) == 0)
		*pf1 |= f1 & (SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HDR |
		    SMFIP_NR_BODY);
	c->c_leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	c->c_noreply = (*pf1 & (SMFIP_NR_HDR | SMFIP_NR_BODY)) ==
	    (SMFIP_NR_HDR | SMFIP_NR_BODY);
	c->c_noreply_conn = (*pf1 & SMFIP_NR_CONN) != 0;
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		conn_free(c);
		return (mlfi_broken(ctx, "negotiate"));
	}
	return (SMFIS_CONTINUE);
}

/* mlfi_connect - the client's address */

static sfsistat
mlfi_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct conn *c = smfi_getpriv(ctx);

	(void)host;
	if (c != NULL) {		/* made at negotiate */
		conn_set_addr(c, sa);
		return (c->c_noreply_conn ? SMFIS_NOREPLY : SMFIS_CONTINUE);
	}
	if ((c = conn_new(sa)) == NULL)
		return (mlfi_broken(ctx, "connect"));
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		conn_free(c);
		return (mlfi_broken(ctx, "connect"));
	}
	return (SMFIS_CONTINUE);
}

/* mlfi_envfrom - a new message: outbound or not, whose */

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	struct txn *tx;

	if (c == NULL)
		return (mlfi_broken(ctx, "envfrom"));
	txn_free(c->c_txn);
	if (atomic_load(&mlfi_draining)) {
		if (smfi_setreply(ctx, "451", "4.3.2", "shutting down, try "
		    "again later") != MI_SUCCESS)
			log_warnx("NOQUEUE: smfi_setreply failed");
		return (SMFIS_TEMPFAIL);
	}
	if ((tx = txn_new(c)) == NULL)
		return (mlfi_broken(ctx, "envfrom"));
	mlfi_queue_id(ctx, tx);
	return (mlfi_verdict(ctx, tx, policy_envfrom(tx, argv[0],
	    smfi_getsymval(ctx, "{auth_authen}"))));
}

/* mlfi_envrcpt - one recipient: rate limits refuse it alone */

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	struct txn *tx;

	if (c == NULL || (tx = c->c_txn) == NULL)
		return (mlfi_broken(ctx, "envrcpt"));
	mlfi_queue_id(ctx, tx);
	if (policy_envrcpt(tx, argv[0]) == VERDICT_CONTINUE)
		return (SMFIS_CONTINUE);
	txn_log(tx, LOG_INFO, "rcpt refused: %s %s %s", tx->t_rcode,
	    tx->t_xcode, tx->t_reason);
	if (smfi_setreply(ctx, tx->t_rcode, tx->t_xcode, tx->t_reason) !=
	    MI_SUCCESS)
		txn_log(tx, LOG_WARNING, "smfi_setreply failed");
	tx->t_reason[0] = '\0';
	return (SMFIS_TEMPFAIL);
}

/* mlfi_header - keep a copy of one header */

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = smfi_getpriv(ctx);
	char   *spaced = NULL;
	enum verdict v;

	if (c == NULL || c->c_txn == NULL)
		return (c && c->c_noreply ? SMFIS_NOREPLY :
		    mlfi_broken(ctx, "header"));
	if (c->c_txn->t_pending)
		return (SMFIS_NOREPLY);	/* refused already; said at eoh */
	if (!c->c_leadspc && asprintf(&spaced, " %s", value) == -1)
		v = txn_refuse(c->c_txn, c->c_cfg->cf_on_error, "4.3.0",
		    "internal error (out of memory)");
	else
		v = policy_header(c->c_txn, name, spaced ? spaced : value);
	free(spaced);
	return (mlfi_later(ctx, c, v));
}

/* mlfi_eoh - decide, and start the signatures */

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	struct txn *tx;

	if (c == NULL || (tx = c->c_txn) == NULL)
		return (mlfi_broken(ctx, "eoh"));
	mlfi_queue_id(ctx, tx);
	if (tx->t_pending)		/* a header was refused */
		return (mlfi_verdict(ctx, tx, (enum verdict)tx->t_pending));
	return (mlfi_verdict(ctx, tx, policy_eoh(tx)));
}

/* mlfi_body - feed one body chunk to every signature */

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || c->c_txn == NULL)
		return (c && c->c_noreply ? SMFIS_NOREPLY :
		    mlfi_broken(ctx, "body"));
	if (c->c_txn->t_pending)
		return (SMFIS_NOREPLY);	/* said at end of message */
	return (mlfi_later(ctx, c, policy_body(c->c_txn, chunk, len)));
}

/* mlfi_apply_dmarc - the verdict header and the hold queue; 0 or -1 */

static int
mlfi_apply_dmarc(SMFICTX *ctx, struct txn *tx)
{
	const struct cfg *cf = tx->t_conn->c_cfg;
	char   *value;
	int	rc;

	if (tx->t_checked && (tx->t_tag || cf->cf_align_header)) {
		if (asprintf(&value, "%s%s (%s)", tx->t_conn->c_leadspc ? " " :
		    "", align_verdict_name(tx->t_align.ar_verdict),
		    tx->t_align.ar_reason) == -1)
			return (-1);
		rc = smfi_addheader(ctx, PREFLIGHT_HEADER, value);
		free(value);
		if (rc != MI_SUCCESS) {
			txn_log(tx, LOG_ERR, "cannot add %s", PREFLIGHT_HEADER);
			return (-1);
		}
	}
	if (tx->t_hold && smfi_quarantine(ctx, tx->t_align.ar_reason) !=
	    MI_SUCCESS) {
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
mlfi_apply_route(SMFICTX *ctx, struct txn *tx)
{
	char   *value;
	int	rc;

	if (tx->t_route == NULL)
		return (0);
	if (asprintf(&value, "%s%s", tx->t_conn->c_leadspc ? " " : "",
	    tx->t_route->ce_transport) == -1)
		return (-1);
	rc = smfi_addheader(ctx, POLICY_ROUTE_HEADER, value);
	free(value);
	if (rc != MI_SUCCESS ||
	    smfi_chgheader(ctx, POLICY_ROUTE_HEADER, 1, NULL) != MI_SUCCESS) {
		txn_log(tx, LOG_ERR, "cannot set the route header");
		return (-1);
	}
	return (0);
}

/* mlfi_apply - remove control headers, insert signatures; 0 or -1 */

static int
mlfi_apply(SMFICTX *ctx, struct txn *tx)
{
	size_t	i, h;
	char   *value;
	int	rc;

	for (h = 0; h < POLICY_NCONTROL; h++)
		for (i = tx->t_control[h]; i > 0; i--)	/* last first */
			if (smfi_chgheader(ctx,
			    (char *)policy_control_headers[h], (int)i, NULL) !=
			    MI_SUCCESS) {
				txn_log(tx, LOG_ERR, "cannot remove client "
				    "header %s", policy_control_headers[h]);
				return (-1);
			}
	if (mlfi_apply_dmarc(ctx, tx) == -1 || mlfi_apply_route(ctx, tx) == -1)
		return (-1);
	for (i = tx->t_unsigned ? 0 : tx->t_nsigs; i-- > 0;) {
		/* With SMFIP_HDR_LEADSPC values we add carry the space too. */
		if (asprintf(&value, "%s%s", tx->t_conn->c_leadspc ? " " : "",
		    tx->t_sigs[i].ts_value) == -1)
			return (-1);
		rc = smfi_insheader(ctx, 0, SIGN_HEADER, value);
		free(value);
		if (rc != MI_SUCCESS) {
			txn_log(tx, LOG_ERR, "cannot insert the signature");
			return (-1);
		}
	}
	return (0);
}

/* mlfi_eom - finish the signatures and modify the message */

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
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
		if (v == VERDICT_PASS && !tx->t_unsigned)
			tx->t_action = tx->t_hold ? "hold" : "accept";
		if (v == VERDICT_PASS)
			rl_commit(tx);
	}
	return (mlfi_verdict(ctx, tx, v));
}

/* mlfi_abort - the message ends early; nothing to undo */

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL && c->c_txn != NULL) {
		c->c_txn->t_action = "abort";
		mlfi_queue_id(ctx, c->c_txn);
		policy_summary(c->c_txn);
		txn_free(c->c_txn);
	}
	return (SMFIS_CONTINUE);
}

/* mlfi_close - the connection ends */

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		conn_free(c);
		(void)smfi_setpriv(ctx, NULL);
	}
	return (SMFIS_CONTINUE);
}

static struct smfiDesc mlfi_desc = {
	.xxfi_name = "egress-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = MLFI_ACTIONS,
	.xxfi_connect = mlfi_connect,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = mlfi_eoh,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};

/* mlfi_socket_path - the file of a unix socket spec, or NULL */

static const char *
mlfi_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return (spec + 5);
	if (strncmp(spec, "local:", 6) == 0)
		return (spec + 6);
	return (NULL);
}

/*
 * mlfi_nodelay - TCP_NODELAY on libmilter's listening socket, which every
 * accepted connection inherits (Linux). libmilter writes a reply in
 * several small segments; with Nagle on, the second waits for the MTA's
 * delayed ACK, about 40 ms per message on a TCP milter socket. libmilter
 * does not give out its socket, so it is found among our descriptors: the
 * one TCP socket that listens.
 */
static void
mlfi_nodelay(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int	fd, on = 1, listening;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
		    &len) == -1 || !listening)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on)) == -1)
			log_warn("TCP_NODELAY on the milter socket");
	}
}

/* mlfi_open - register and open the socket with its permissions */

int
mlfi_open(const struct cfg *cf, char *err, size_t errlen)
{
	const char *path = mlfi_socket_path(cf->cf_socket);
	mode_t	old;
	int	rc;

	if (smfi_register(mlfi_desc) != MI_SUCCESS ||
	    smfi_setconn(cf->cf_socket) != MI_SUCCESS) {
		snprintf(err, errlen, "cannot register with libmilter");
		return (-1);
	}
	old = umask(0177);
	rc = smfi_opensocket(true);
	umask(old);
	if (rc != MI_SUCCESS) {
		snprintf(err, errlen, "cannot open socket %s (does its "
		    "directory exist? is another daemon on it?)", cf->cf_socket);
		return (-1);
	}
	if (path == NULL) {
		mlfi_nodelay();
		return (0);
	}
	if (chown(path, geteuid() == 0 ? cf->cf_uid : (uid_t)-1,
	    cf->cf_socket_gid) == -1 ||
	    chmod(path, (mode_t)cf->cf_socket_mode) == -1) {
		snprintf(err, errlen, "socket %s: cannot set owner or mode: %s",
		    path, strerror(errno));
		return (-1);
	}
	return (0);
}

/* mlfi_serve - the libmilter thread */

static void *
mlfi_serve(void *arg)
{
	(void)arg;
	mlfi_main_rc = smfi_main();
	return (NULL);
}

/* mlfi_start - serve in a thread that does not take our signals */

int
mlfi_start(void)
{
	sigset_t set, old;
	int	rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&mlfi_thread, NULL, mlfi_serve, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (rc == 0 ? 0 : -1);
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
	else
		usleep(200000);		/* the last replies reach the MTA */
	(void)smfi_stop();
	pthread_join(mlfi_thread, NULL);
	return (mlfi_main_rc == MI_SUCCESS ? 0 : -1);
}

/* mlfi_libversion - libmilter's version, for -V */

const char *
mlfi_libversion(char *buf, size_t size)
{
	unsigned int maj = 0, min = 0, pl = 0;

	(void)smfi_version(&maj, &min, &pl);
	snprintf(buf, size, "%u.%u.%u", maj, min, pl);
	return (buf);
}
