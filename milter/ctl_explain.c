/*
 * NAME
 *	ctl_explain - egress-ctl explain: what would happen to a message
 * SYNOPSIS
 *	#include "ctl.h"
 *
 *	int	ctl_explain(struct cfg *cf, int argc, char **argv);
 * DESCRIPTION
 *	egress-ctl explain [-l LOGIN] [-i CLIENT-IP] -f MAIL-FROM -F FROM
 *	-r RCPT [-r RCPT ...] runs one made-up message through the same
 *	policy code as the daemon, up to the end of headers, and prints what
 *	the milter would decide: outbound or not and whose (tenant, and how
 *	it was found), each recipient's fate, the signatures it would add,
 *	the egress it would choose, the predicted DMARC verdict (with real
 *	DNS lookups, when alignment is on) and the rate-limit buckets the
 *	message would be counted in. No mail is sent and no budget is
 *	spent: limits use a fresh in-memory store, never Redis.
 * OWNERSHIP
 *	The config snapshot is the caller's; it is installed for the run.
 * DIAGNOSTICS
 *	Returns 0 when the message would be accepted, 1 when it would be
 *	refused (or cannot be explained), 2 on a usage error.
 * SEE ALSO
 *	egress-ctl(8), policy(3)
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "align.h"
#include "cfg.h"
#include "conn.h"
#include "ctl.h"
#include "keys.h"
#include "policy.h"
#include "rl.h"
#include "txn.h"

#define CTL_MAX_RCPTS	64

struct ctl_msg {
	const char *login;
	const char *ip;
	const char *mailfrom;
	const char *from;
	const char *rcpt[CTL_MAX_RCPTS];
	int	nrcpt;
};

/* ctl_explain_args - the made-up message from the command line */

static int
ctl_explain_args(int argc, char **argv, struct ctl_msg *m)
{
	int	ch;

	memset(m, 0, sizeof(*m));
	optind = 1;
	while ((ch = getopt(argc, argv, "l:i:f:F:r:")) != -1) {
		switch (ch) {
		case 'l': m->login = optarg; break;
		case 'i': m->ip = optarg; break;
		case 'f': m->mailfrom = optarg; break;
		case 'F': m->from = optarg; break;
		case 'r':
			if (m->nrcpt == CTL_MAX_RCPTS)
				return (-1);
			m->rcpt[m->nrcpt++] = optarg;
			break;
		default: return (-1);
		}
	}
	return (optind == argc && m->mailfrom && m->from && m->nrcpt ? 0 : -1);
}

/* ctl_explain_addr - the client address, or NULL for local submission */

static const struct sockaddr *
ctl_explain_addr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ip == NULL)
		return (NULL);
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return ((struct sockaddr *)ss);
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return ((struct sockaddr *)ss);
	}
	return (NULL);
}

/* ctl_explain_result - what the end of headers left in the txn */

static void
ctl_explain_result(const struct txn *tx)
{
	size_t	i;

	printf("tenant: %s (by %s)\n", tx->t_tenant ? tx->t_tenant->ct_name :
	    "-", tx->t_tenant_by ? tx->t_tenant_by : "-");
	for (i = 0; i < tx->t_nsigs; i++)
		printf("signature: d=%s s=%s a=%s\n",
		    tx->t_sigs[i].ts_domain->cd_name,
		    tx->t_sigs[i].ts_key->ck_selector,
		    keys_alg_name(tx->t_sigs[i].ts_key->ck_key->k_alg));
	if (tx->t_route != NULL)
		printf("route: pool %s, egress %s (%s%s%s)\n",
		    tx->t_pool->cp_name, tx->t_route->ce_transport,
		    tx->t_route->ce_ip, tx->t_route->ce_ip6 ? ", " : "",
		    tx->t_route->ce_ip6 ? tx->t_route->ce_ip6 : "");
	if (tx->t_checked)
		printf("dmarc: %s (policy %s, spf %s): %s\n",
		    align_verdict_name(tx->t_align.ar_verdict),
		    tx->t_dmarc_policy ? tx->t_dmarc_policy : "-",
		    align_spf_name(tx->t_spf), tx->t_align.ar_reason);
	for (i = 0; i < tx->t_rl_n; i++)
		printf("counted in: %s\n", rl_hold_key(tx, i));
}

/* ctl_explain - one made-up message through the policy */

int
ctl_explain(struct cfg *cf, int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct ctl_msg m;
	struct conn *c;
	struct txn *tx;
	struct rl *rl;
	char	sender[600], from[600];
	enum verdict v;
	int	i;

	if (ctl_explain_args(argc, argv, &m) == -1)
		return (2);
	if ((rl = rl_new(1024)) == NULL)
		return (1);
	rl_backend_free(cf->cf_rl_shared);	/* never spend a real budget */
	cf->cf_rl_shared = NULL;
	rl_attach(rl, cf);
	cfg_install(cf);
	if ((c = conn_new(ctl_explain_addr(m.ip, &ss))) == NULL ||
	    (tx = txn_new(c)) == NULL) {
		conn_free(c);
		rl_free(rl);
		return (1);
	}
	snprintf(sender, sizeof(sender), "<%s>", m.mailfrom);
	v = policy_envfrom(tx, sender, m.login);
	if (tx->t_inbound)
		v = VERDICT_PASS;
	printf("client: %s, login: %s\nMAIL FROM: %s%s\n", c->c_addrstr,
	    m.login ? m.login : "-", v == VERDICT_CONTINUE ? "accepted" :
	    v == VERDICT_PASS ? "not outbound: passed untouched" :
	    tx->t_reason, tx->t_inbound ? " but for client copies of "
	    "control headers" : "");
	for (i = 0; v == VERDICT_CONTINUE && i < m.nrcpt; i++) {
		snprintf(sender, sizeof(sender), "<%s>", m.rcpt[i]);
		printf("RCPT TO %s: %s\n", m.rcpt[i], policy_envrcpt(tx,
		    sender) == VERDICT_CONTINUE ? "accepted" : tx->t_reason);
		tx->t_reason[0] = '\0';
	}
	snprintf(from, sizeof(from), " %s", m.from);
	if (v == VERDICT_CONTINUE)
		v = policy_header(tx, "From", from);
	if (v == VERDICT_CONTINUE)
		v = policy_eoh(tx);
	ctl_explain_result(tx);
	printf("outcome: %s%s%s%s%s\n", v == VERDICT_CONTINUE ?
	    (tx->t_unsigned ? "accept-unsigned" : tx->t_hold ? "hold" :
	    "accept") : v == VERDICT_PASS ? "pass" : tx->t_rcode,
	    v == VERDICT_CONTINUE || v == VERDICT_PASS ? "" : " ",
	    v == VERDICT_CONTINUE || v == VERDICT_PASS ? "" : tx->t_xcode,
	    tx->t_reason[0] ? ": " : "", tx->t_reason);
	txn_free(tx);		/* gives back what it took */
	conn_free(c);
	rl_free(rl);
	return (v == VERDICT_CONTINUE || v == VERDICT_PASS ? 0 : 1);
}
