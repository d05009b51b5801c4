/*
 * NAME
 *	txn - per-message state
 * SYNOPSIS
 *	#include "txn.h"
 *
 *	struct txn *txn_new(struct conn *c);
 *	void	txn_free(struct txn *tx);
 *	void	txn_set_queue_id(struct txn *tx, const char *id);
 *	void	txn_log(const struct txn *tx, int prio, const char *fmt, ...);
 *	enum verdict txn_refuse(struct txn *tx, int action,
 *		    const char *xcode, const char *fmt, ...);
 *	unsigned long txn_active(void);
 * DESCRIPTION
 *	A txn lives from MAIL FROM until end-of-message or abort.
 *	txn_set_queue_id() keeps the first non-empty queue id it is given;
 *	until then log lines say NOQUEUE. txn_log() writes one line that
 *	starts with the queue id and ends with conn=N.
 *
 *	txn_refuse() applies a configured action (accept, tempfail or
 *	reject) to the message with a reason: it records the SMTP reply
 *	(451 or 550 with the enhanced code xcode, whose class digit follows
 *	the action) and returns the verdict. Reply text is made safe for
 *	SMTP: printable ASCII only, '%' replaced, at most 200 characters.
 *	With the accept action the message goes on unsigned (t_unsigned):
 *	it still reaches end of message, where client control headers are
 *	removed.
 *
 *	txn_active() counts messages in flight, for a graceful stop.
 * OWNERSHIP
 *	The conn owns its txn (c->c_txn); txn_free() clears that link, frees
 *	the headers, the signers and every string. txn_free(NULL) does
 *	nothing.
 * DIAGNOSTICS
 *	txn_new() returns NULL when memory runs out.
 * SEE ALSO
 *	conn(3), hdr(3), log(3)
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "conn.h"
#include "dsig.h"
#include "log.h"
#include "rl.h"
#include "sign.h"
#include "txn.h"

static atomic_ulong txn_count;

/* txn_new - a message on connection c */

struct txn *
txn_new(struct conn *c)
{
	struct txn *tx;
	struct timespec ts;

	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return (NULL);
	tx->t_conn = c;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	tx->t_start = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	hdr_list_init(&tx->t_hdrs, (size_t)c->c_cfg->cf_max_headers,
	    (size_t)c->c_cfg->cf_max_header_bytes);
	c->c_txn = tx;
	c->c_msgs++;
	atomic_fetch_add(&txn_count, 1);
	return (tx);
}

/* txn_free - free a message and unlink it from its connection */

void
txn_free(struct txn *tx)
{
	size_t	i;

	if (tx == NULL)
		return;
	for (i = 0; i < tx->t_nsigs; i++) {
		sign_free(tx->t_sigs[i].ts_signer);
		dsig_free(tx->t_sigs[i].ts_dsig);
		free(tx->t_sigs[i].ts_value);
	}
	rl_release(tx);
	hdr_list_fini(&tx->t_hdrs);
	free(tx->t_queue_id);
	free(tx->t_login);
	free(tx->t_sender);
	if (tx->t_conn != NULL && tx->t_conn->c_txn == tx)
		tx->t_conn->c_txn = NULL;
	free(tx);
	atomic_fetch_sub(&txn_count, 1);
}

/* txn_set_queue_id - remember the first non-empty queue id */

void
txn_set_queue_id(struct txn *tx, const char *id)
{
	char	safe[LOG_ESCAPE_MAX + 8];

	if (tx->t_queue_id != NULL || id == NULL || *id == '\0')
		return;
	/* the MTA's value starts every log line: escaped like client text */
	tx->t_queue_id = strdup(log_escape(safe, sizeof(safe), id,
	    strlen(id)));
}

/* txn_log - "QUEUEID: message conn=N" */

void
txn_log(const struct txn *tx, int prio, const char *fmt, ...)
{
	char	suffix[32];
	va_list	ap;

	snprintf(suffix, sizeof(suffix), "conn=%lu", tx->t_conn->c_id);
	va_start(ap, fmt);
	log_prefixed(prio, tx->t_queue_id ? tx->t_queue_id : "NOQUEUE",
	    suffix, fmt, ap);
	va_end(ap);
}

/* txn_refuse - apply an action with a reason */

enum verdict
txn_refuse(struct txn *tx, int action, const char *xcode, const char *fmt,
    ...)
{
	va_list	ap;
	char   *p;

	va_start(ap, fmt);
	vsnprintf(tx->t_reason, sizeof(tx->t_reason), fmt, ap);
	va_end(ap);
	for (p = tx->t_reason; *p; p++)
		if (*p < ' ' || *p > '~' || *p == '%')
			*p = '?';
	if (strlen(tx->t_reason) > 200)
		strcpy(tx->t_reason + 197, "...");
	snprintf(tx->t_xcode, sizeof(tx->t_xcode), "%s", xcode);
	switch (action) {
	case CFG_ACT_REJECT:
		strcpy(tx->t_rcode, "550");
		tx->t_xcode[0] = '5';
		tx->t_action = "reject";
		return (VERDICT_REJECT);
	case CFG_ACT_TEMPFAIL:
		strcpy(tx->t_rcode, "451");
		tx->t_xcode[0] = '4';
		tx->t_action = "tempfail";
		return (VERDICT_TEMPFAIL);
	default:		/* let it through, unsigned, headers cleaned */
		tx->t_action = "accept-unsigned";
		tx->t_unsigned = 1;
		return (VERDICT_CONTINUE);
	}
}

/* txn_active - messages in flight */

unsigned long
txn_active(void)
{
	return (atomic_load(&txn_count));
}
