/*
 * rl_txn_test - a tenant cannot spend another tenant's domain budget
 *
 * Global limits per sender_domain and per from_domain (2/1h), and
 * unowned_sender = unowned_from = "accept": alice (tenant acme) may send
 * with beta's domains, unsigned. Her messages with beta.example must not
 * take tokens from the bucket of beta.example: afterwards bob (beta)
 * still sends exactly 2, and the 3rd is refused. Messages go through the
 * real policy_envfrom() and policy_envrcpt(), as the milter calls them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "policy.h"
#include "rl.h"
#include "tap.h"
#include "testkit.h"
#include "txn.h"

#define KEY "keys = ( { selector = \"s\"; file = \"/x\"; } );"
static const char conf[] =
    "milter: { user = \"nobody\"; unowned_sender = \"accept\";\n"
    "          unowned_from = \"accept\"; };\n"
    "alignment: { enabled = false; };\n"
    "limits = ( { name = \"per-sender\"; per = \"sender_domain\";\n"
    "             messages = \"2/1h\"; },\n"
    "           { name = \"per-from\"; per = \"from_domain\";\n"
    "             messages = \"2/1h\"; } );\n"
    "tenants = (\n"
    " { name = \"acme\"; logins = [\"alice\"];\n"
    "   domains = ( { name = \"acme.example\"; subdomains = true; " KEY " } ); },\n"
    " { name = \"beta\"; logins = [\"bob\"];\n"
    "   domains = ( { name = \"beta.example\"; subdomains = true; " KEY " } ); }\n"
    ");\n";

static struct cfg *cf;
static struct rl *rl;
static char reason[300];

/* fresh - new, empty buckets */

static void
fresh(void)
{
	rl_free(rl);
	if ((rl = rl_new(1024)) == NULL)
		exit(99);
	rl_attach(rl, cf);
}

/* has_key - a bucket the message took ends with ":" suffix */

static int
has_key(const struct txn *tx, const char *suffix)
{
	const char *k;
	size_t	i, n = strlen(suffix);

	for (i = 0; (k = rl_hold_key(tx, i)) != NULL; i++)
		if (strlen(k) > n && k[strlen(k) - n - 1] == ':' &&
		    strcmp(k + strlen(k) - n, suffix) == 0)
			return (1);
	return (0);
}

/*
 * msg - one message of login with MAIL FROM sender, one recipient; with
 * from set, also the limits at end of headers for that From domain. 1 if
 * it got through the limits (and then is accepted), 0 if refused;
 * *keyed is 1 if it took a bucket ending in ":suffix".
 */
static int
msg(const char *login, const char *sender, const char *from,
    const char *suffix, int *keyed)
{
	struct conn *c;
	struct txn *tx;
	enum verdict v;

	if ((c = conn_new(NULL)) == NULL || (tx = txn_new(c)) == NULL)
		exit(99);
	reason[0] = '\0';
	v = policy_envfrom(tx, sender, login);
	if (v == VERDICT_CONTINUE)
		v = policy_envrcpt(tx, "<rcpt@dest.example>");
	if (v == VERDICT_CONTINUE && from != NULL) {
		snprintf(tx->t_from_domain, sizeof(tx->t_from_domain), "%s",
		    from);
		v = rl_check_eoh(tx);
	}
	*keyed = has_key(tx, suffix);
	snprintf(reason, sizeof(reason), "%s", tx->t_reason);
	if (v == VERDICT_CONTINUE)
		rl_commit(tx);
	txn_free(tx);
	conn_free(c);
	return (v == VERDICT_CONTINUE);
}

/* test_sender - beta.example in alice's MAIL FROM */

static void
test_sender(void)
{
	int	i, ok, keyed;

	fresh();
	for (i = 1; i <= 3; i++) {
		ok = msg("alice", "<bob@beta.example>", NULL, "beta.example",
		    &keyed);
		TAP_OK(ok == (i <= 2), "alice MAIL FROM beta.example %d: %s",
		    i, i <= 2 ? "passes, unsigned" : "refused (her own bucket "
		    "of 2 spent)");
		TAP_OK(!keyed, "... took nothing from the bucket of "
		    "beta.example");
	}
	TAP_OK(strstr(reason, "for acme@beta.example") != NULL,
	    "her refusal names her own bucket: %s", reason);
	for (i = 1; i <= 3; i++) {
		ok = msg("bob", "<bob@beta.example>", NULL, "beta.example",
		    &keyed);
		TAP_OK(ok == (i <= 2), "bob MAIL FROM beta.example %d: %s", i,
		    i <= 2 ? "passes" : "refused (budget of 2 spent)");
		if (i <= 2)
			TAP_OK(keyed, "... counted in beta.example's bucket");
	}
	/* a domain nobody owns: one bucket per tenant */
	ok = msg("alice", "<x@gmail.example>", NULL, "gmail.example", &keyed);
	ok += msg("alice", "<x@gmail.example>", NULL, "gmail.example",
	    &keyed);
	TAP_OK(ok == 2 && !keyed, "alice with gmail.example twice: her own "
	    "bucket");
	ok = msg("bob", "<x@gmail.example>", NULL, "gmail.example", &keyed);
	TAP_OK(ok && !keyed, "bob with gmail.example: not alice's bucket");
}

/* test_from - beta.example in alice's From */

static void
test_from(void)
{
	char	sender[64];
	int	i, ok, keyed;

	fresh();
	for (i = 1; i <= 3; i++) {
		/* a new sender domain of hers each time: only From counts */
		snprintf(sender, sizeof(sender), "<a@s%d.acme.example>", i);
		ok = msg("alice", sender, "beta.example", "beta.example",
		    &keyed);
		TAP_OK(ok == (i <= 2), "alice From beta.example %d: %s", i,
		    i <= 2 ? "passes" : "refused (her own bucket of 2 spent)");
		TAP_OK(!keyed, "... took nothing from the bucket of "
		    "beta.example");
	}
	for (i = 1; i <= 3; i++) {
		snprintf(sender, sizeof(sender), "<b@s%d.beta.example>", i);
		ok = msg("bob", sender, "beta.example", "beta.example",
		    &keyed);
		TAP_OK(ok == (i <= 2), "bob From beta.example %d: %s", i,
		    i <= 2 ? "passes" : "refused (budget of 2 spent)");
	}
	TAP_OK(strstr(reason, "rate limit per-from reached") != NULL &&
	    strstr(reason, "for beta.example;") != NULL,
	    "bob's refusal names his domain's bucket: %s", reason);
}

/*
 * test_eoh_unsigned - through policy_header() and policy_eoh(): mail that
 * unowned_from = "accept" lets go unsigned still spends the limits of end
 * of headers (a foreign From is no way around them)
 */
static void
test_eoh_unsigned(void)
{
	struct conn *c;
	struct txn *tx;
	enum verdict v;
	char	sender[64];
	int	i;

	fresh();
	for (i = 1; i <= 3; i++) {
		if ((c = conn_new(NULL)) == NULL || (tx = txn_new(c)) == NULL)
			exit(99);
		snprintf(sender, sizeof(sender), "<a@u%d.acme.example>", i);
		v = policy_envfrom(tx, sender, "alice");
		if (v == VERDICT_CONTINUE)
			v = policy_envrcpt(tx, "<rcpt@dest.example>");
		if (v == VERDICT_CONTINUE)
			v = policy_header(tx, "From", " <x@other.example>");
		if (v == VERDICT_CONTINUE)
			v = policy_eoh(tx);
		TAP_OK(i <= 2 ? v == VERDICT_CONTINUE && tx->t_unsigned :
		    v == VERDICT_TEMPFAIL, "alice From other.example %d, "
		    "accepted unsigned: %s", i, i <= 2 ? "passes the limits" :
		    "refused by per-from at end of headers");
		if (i == 3)
			TAP_OK(strstr(tx->t_reason, "per-from") != NULL,
			    "... the reply names the limit: %s", tx->t_reason);
		if (v == VERDICT_CONTINUE)
			rl_commit(tx);
		txn_free(tx);
		conn_free(c);
	}
}

/*
 * test_evictions - 3000 sender domains in a store for 1024 buckets: the
 * log says that buckets were forgotten, once (rl_txn.c: rl_evictions())
 */
static void
test_evictions(void)
{
	char	sender[64], line[512], path[] = "/tmp/rl_txn_test.XXXXXX";
	int	n, fd, saved, keyed, said = 0, other = 0;
	FILE   *fp;

	fresh();
	if ((fd = mkstemp(path)) == -1)
		exit(99);
	fflush(stderr);
	if ((saved = dup(2)) == -1 || dup2(fd, 2) == -1)
		exit(99);
	log_init("rl_txn_test", 1, 0);
	for (n = 0; n < 3000; n++) {
		snprintf(sender, sizeof(sender), "<a@d%d.example>", n);
		(void)msg("alice", sender, NULL, "x", &keyed);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if ((fp = fdopen(fd, "r")) == NULL)
		exit(99);
	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, "forgotten before they were full") &&
		    strstr(line, "ratelimit.max_keys = 1024"))
			said++;
		else if (strstr(line, "forgotten"))
			other++;
	}
	fclose(fp);
	unlink(path);
	TAP_OK(said == 1 && other == 0, "a store over max_keys is reported "
	    "once a minute, naming the bound (%d line(s))", said);
}

int
main(void)
{
	char	err[512];

	if ((cf = tk_cfg(conf, 0, err, sizeof(err))) == NULL) {
		printf("Bail out! config: %s\n", err);
		return (1);
	}
	cfg_install(cf);
	test_sender();
	test_from();
	test_eoh_unsigned();
	test_evictions();
	rl_free(rl);
	return (tap_done());
}
