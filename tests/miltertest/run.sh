#!/bin/bash
# run.sh - milter protocol tests of egress-milter with miltertest (TAP)
#
#   bash tests/miltertest/run.sh
#
# Starts one egress-milter (-f) on a unix socket in a private temporary
# directory, with fresh keys (RSA-2048 and Ed25519) and a two-tenant
# configuration, runs every tests/miltertest/*.lua scenario against it
# (files starting with "_" are helpers, not scenarios), then checks the
# milter's summary lines, stops it with SIGTERM and checks that it exits
# 0 in time.  One TAP line per scenario and per log check.
#
# Environment: top_builddir (default /tmp/b: holds egress-milter),
# top_srcdir (default this script's ../..), MILTERTEST (the miltertest
# binary; default "miltertest"), KEEP=1 keeps the temporary directory.
#
# The configuration (scenarios rely on it):
#   tenant acme: logins alice, *@acme.example; domain acme.example with
#     subdomains, keys $ACME_RSA_SEL (RSA) and $ACME_ED_SEL (Ed25519)
#   tenant beta: login bob, network 10.9.0.0/16; domain beta.example,
#     key $BETA_SEL (RSA)
#   milter.max_headers = 16 (the smallest allowed; header_cap.lua), the
#   default internal_networks (127.0.0.0/8, ::1)

set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-/tmp/b}
MILTERTEST=${MILTERTEST:-miltertest}
MT_DIR=$top_srcdir/tests/miltertest
MILTER=$top_builddir/egress-milter

ACME_RSA_SEL=rsa2048
ACME_ED_SEL=ed25519
BETA_SEL=beta2048

if ! command -v "$MILTERTEST" >/dev/null 2>&1; then
	echo "1..0 # SKIP miltertest not installed"
	exit 0
fi
if [ ! -x "$MILTER" ]; then
	echo "Bail out! $MILTER is not built (make -C $top_builddir egress-milter)"
	exit 1
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "1..0 # SKIP openssl not installed"
	exit 0
fi

n=0
failed=0
T=
milter_pid=

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}

# diag_file FILE [LINES]: the last LINES (default 40) lines as comments
diag_file() {
	tail -n "${2:-40}" "$1" | sed 's/^/#   /'
}

# milter_alive: the milter runs (a dead child stays a zombie until waited
# for, and kill -0 still succeeds on a zombie)
milter_alive() {
	local state
	[ -n "$milter_pid" ] || return 1
	state=$(awk '{ print $3 }' "/proc/$milter_pid/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

cleanup() {
	if milter_alive; then
		kill -TERM "$milter_pid" 2>/dev/null
		sleep 1
		kill -KILL "$milter_pid" 2>/dev/null
		wait "$milter_pid" 2>/dev/null
	fi
	if [ -n "$T" ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$T"
	elif [ -n "$T" ]; then
		echo "# kept $T"
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

T=$(mktemp -d "${TMPDIR:-/tmp}/egress-mt.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
chmod 755 "$T"		# the socket must be reachable after the drop

# ------------------------------------------------------------ keys, config

if ! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/rsa.pem" 2>"$T/openssl.err" ||
   ! openssl genpkey -algorithm ED25519 -out "$T/ed25519.pem" \
    2>>"$T/openssl.err"; then
	echo "Bail out! openssl genpkey failed"
	diag_file "$T/openssl.err"
	exit 1
fi
chmod 600 "$T/rsa.pem" "$T/ed25519.pem"

# As root the milter drops to "nobody"; otherwise it keeps the caller's
# uid, and the key files must belong to that user.
if [ "$(id -u)" -eq 0 ]; then
	run_user=nobody
	# owned by the daemon's user, the keys can be re-read on SIGHUP
	chown nobody "$T/rsa.pem" "$T/ed25519.pem"
else
	run_user=$(id -un)
fi

cat >"$T/egress-milter.conf" <<EOF
alignment: { enabled = false; };	# no DNS here: see tests/e2e/alignment.sh
milter = {
	socket = "unix:$T/milter.sock";
	user = "$run_user";
	max_headers = 16;
	shutdown_timeout = 3;
};
tenants = (
	{
		name = "acme";
		logins = [ "alice", "*@acme.example" ];
		domains = ( {
			name = "acme.example";
			subdomains = true;
			keys = (
				{ selector = "$ACME_RSA_SEL"; file = "$T/rsa.pem"; },
				{ selector = "$ACME_ED_SEL"; file = "$T/ed25519.pem"; }
			);
		} );
	},
	{
		name = "beta";
		logins = [ "bob" ];
		networks = [ "10.9.0.0/16" ];
		domains = ( {
			name = "beta.example";
			keys = ( { selector = "$BETA_SEL"; file = "$T/rsa.pem"; } );
		} );
	},
	# rate limits (rl_*.lua): one tenant per scenario, so they stay apart
	{ name = "gamma"; logins = [ "carol" ];
	  limits = ( { name = "rcpts"; per = "tenant"; recipients = "3/1h"; } );
	  domains = ( { name = "gamma.example";
		keys = ( { selector = "$BETA_SEL"; file = "$T/rsa.pem"; } ); } ); },
	{ name = "delta"; logins = [ "dave" ];
	  limits = ( { name = "msgs"; per = "login"; messages = "1/1h"; } );
	  domains = ( { name = "delta.example";
		keys = ( { selector = "$BETA_SEL"; file = "$T/rsa.pem"; } ); } ); },
	{ name = "epsilon"; logins = [ "erin" ];
	  limits = ( { name = "perfrom"; per = "from_domain";
		messages = "1/1h"; } );
	  domains = ( { name = "epsilon.example";
		keys = ( { selector = "$BETA_SEL"; file = "$T/rsa.pem"; } ); } ); },
	{ name = "zeta"; logins = [ "zed" ];
	  limits = ( { name = "dry"; per = "tenant"; messages = "1/1h";
		dry_run = true; } );
	  domains = ( { name = "zeta.example";
		keys = ( { selector = "$BETA_SEL"; file = "$T/rsa.pem"; } ); } ); },
	{ name = "eta"; logins = [ "eta" ];
	  limits = ( { name = "throttle"; enabled = false; } );
	  domains = ( { name = "eta.example";
		keys = ( { selector = "$BETA_SEL"; file = "$T/rsa.pem"; } ); } ); }
);
# one recipient a day at throttled.example, all tenants together
limits = ( { name = "throttle"; per = "rcpt_domain";
	match = [ "throttled.example" ]; recipients = "1/1d"; } );
EOF

# ------------------------------------------------------------ the milter

LOG=$T/milter.log
"$MILTER" -f -c "$T/egress-milter.conf" >"$LOG" 2>&1 &
milter_pid=$!

for _ in $(seq 1 100); do
	[ -S "$T/milter.sock" ] && grep -q 'started:' "$LOG" && break
	milter_alive || break
	sleep 0.1
done
if ! [ -S "$T/milter.sock" ] || ! milter_alive; then
	echo "Bail out! egress-milter did not start"
	diag_file "$LOG"
	exit 1
fi

# ------------------------------------------------------------ scenarios

for script in "$MT_DIR"/*.lua; do
	name=$(basename "$script" .lua)
	case $name in _*) continue ;; esac
	out=$T/$name.out
	log_before=$(wc -l <"$LOG")
	"$MILTERTEST" -s "$script" \
	    -D "SOCKET=unix:$T/milter.sock" \
	    -D "MT_DIR=$MT_DIR" \
	    -D "ACME_RSA_SEL=$ACME_RSA_SEL" \
	    -D "ACME_ED_SEL=$ACME_ED_SEL" \
	    -D "BETA_SEL=$BETA_SEL" >"$out" 2>&1
	st=$?
	if [ "$st" -eq 0 ] && milter_alive; then
		ok "$name"
	else
		not_ok "$name"
		milter_alive || echo "#   the milter is no longer running"
		echo "#   miltertest exit $st:"
		if [ -s "$out" ]; then
			diag_file "$out"
		else
			echo "#   (no output: a Lua error outside the _lib.lua" \
			    "helpers; miltertest does not print Lua errors)"
		fi
		echo "#   milter log during the scenario:"
		tail -n +"$((log_before + 1))" "$LOG" | tail -n 30 |
		    sed 's/^/#   /'
	fi
done

# ------------------------------------------------------------ the log

# log_has DESC REGEX: a summary line matches (grep -E on the whole log)
log_has() {
	if grep -Eq -- "$2" "$LOG"; then
		ok "log: $1"
	else
		not_ok "log: $1"
		echo "#   no line matches: $2"
		diag_file "$LOG" 20
	fi
}

# log_lacks DESC REGEX: no line matches
log_lacks() {
	if ! grep -Eq -- "$2" "$LOG"; then
		ok "log: $1"
	else
		not_ok "log: $1"
		grep -E -- "$2" "$LOG" | head -n 10 | sed 's/^/#   /'
	fi
}

P='^egress-milter\[[0-9]+\]: '
ACME_SIGNED="signed=acme.example/$ACME_RSA_SEL/rsa-sha256,acme.example/$ACME_ED_SEL/ed25519-sha256"
BETA_SIGNED="signed=beta.example/$BETA_SEL/rsa-sha256"

log_has "sign_basic summary" \
    "${P}SIGNBASIC1: done client=192\.0\.2\.10 login=alice tenant=acme by=login env_from=acme\.example from=acme\.example rcpts=1 body=[0-9]+ action=accept $ACME_SIGNED conn=[0-9]+$"
log_has "two_messages: second message signed for beta only" \
    "${P}TWOMSG2: done .* login=bob tenant=beta by=login .* action=accept $BETA_SIGNED conn="
log_has "abort_mid_body: the aborted message is logged, unsigned" \
    "${P}ABORT1: done client=192\.0\.2\.30 login=alice tenant=acme .* body=27 action=abort signed=none conn="
log_has "abort_mid_body: next message signed" \
    "${P}ABORT2: done .* login=bob tenant=beta .* action=accept $BETA_SIGNED conn="
log_has "missing_macros: external client passed" \
    "${P}NOQUEUE: done client=192\.0\.2\.1 login=- tenant=- by=- .* action=pass signed=none reason=\"not outbound\" conn="
log_has "missing_macros: internal client, tenant by From" \
    "${P}NOQUEUE: done client=127\.0\.0\.1 login=- tenant=acme by=from env_from=acme\.example from=acme\.example .* action=accept $ACME_SIGNED conn="
log_has "missing_macros: {i} given at end of message starts the line" \
    "${P}LATEQID4: done client=127\.0\.0\.1 login=- tenant=acme by=from .* action=accept $ACME_SIGNED conn="
log_has "tenant_network: signed by network" \
    "${P}NET1: done client=10\.9\.1\.2 login=- tenant=beta by=network .* action=accept $BETA_SIGNED conn="
log_has "tenant_network: other tenant's From refused" \
    "${P}NET2: done client=10\.9\.1\.2 .* from=acme\.example .* action=reject signed=none reason=\"From domain acme\.example is not authorized for client 10\.9\.1\.2\" conn="
log_has "isolation: bob's MAIL FROM in acme.example refused" \
    "${P}ISO2: done .* login=bob tenant=beta .* action=reject signed=none reason=\"envelope sender domain acme\.example is not authorized for login bob\" conn="
log_has "isolation: unknown login refused" \
    "${P}ISO4: done .* login=mallory tenant=- .* action=reject signed=none reason=\"login mallory may not send through this relay\" conn="
log_has "bad_from: two From headers" \
    "${P}BADFROM2: done .* action=reject signed=none reason=\"message has 2 From headers"
log_has "close_early: quit after MAIL FROM logged as abort" \
    "${P}CLOSE4: done .* action=abort signed=none conn="
log_has "close_early: lost client mid-body logged as abort" \
    "${P}CLOSE5: done .* action=abort signed=none conn="
log_has "control_header: signed" \
    "${P}CTRL1: done .* action=accept $ACME_SIGNED conn="
log_has "header_cap: refused at the cap" \
    "${P}HDRCAP1: done .* action=reject signed=none reason=\"message has more than 16 header fields\" conn="
log_has "rl_rcpt: the 4th recipient got 451 4.7.1 naming the limit" \
    "${P}RLRCPT2: rcpt refused: 451 4\.7\.1 rate limit rcpts reached: 3/1h recipients for gamma; try again in [0-9]+ s conn="
log_has "rl_rcpt: the message went on with the others, signed" \
    "${P}RLRCPT2: done .* tenant=gamma .* rcpts=2 rcpts_limited=1 body=[0-9]+ action=accept signed=gamma\.example/"
log_has "rl_refund: the aborted message gave its token back" \
    "${P}RLREF3: done .* login=dave .* action=accept signed=delta\.example/"
log_has "rl_refund: then the budget is spent" \
    "${P}RLREF4: rcpt refused: 451 4\.7\.1 rate limit msgs reached: 1/1h messages for dave"
log_has "rl_eoh: From-domain limit refuses the message at end of headers" \
    "${P}RLEOH2: done .* tenant=epsilon .* action=tempfail signed=none reason=\"rate limit perfrom reached: 1/1h messages for epsilon\.example; try again in [0-9]+ s\""
log_has "rl_dry_run: the would-be refusal is logged" \
    "${P}RLDRY2: dry-run: rate limit dry would refuse: 1/1h messages for zeta conn="
log_has "rl_dry_run: and the message is accepted" \
    "${P}RLDRY2: done .* tenant=zeta .* action=accept signed=zeta\.example/"
log_has "rl_match: a global per-domain limit counts across tenants" \
    "${P}RLMATCH1: rcpt refused: 451 4\.7\.1 rate limit throttle reached: 1/1d recipients for throttled\.example"
log_lacks "rl: no internal error in rate limits" "internal error in rate limits"
log_lacks "no callback ran without its state" \
    "callback without connection or message state"
log_lacks "no signing errors" "cannot (start|insert|remove)|signature d=.*: "

# ------------------------------------------------------------ reload

# SIGHUP: a new snapshot; the rate-limit counters carry over.
kill -HUP "$milter_pid"
for _ in $(seq 1 50); do
	grep -q 'reloaded ' "$LOG" && break
	sleep 0.1
done
if "$MILTERTEST" -s "$MT_DIR/_rl_after_reload.lua" \
    -D "SOCKET=unix:$T/milter.sock" -D "MT_DIR=$MT_DIR" \
    -D "ACME_RSA_SEL=$ACME_RSA_SEL" -D "ACME_ED_SEL=$ACME_ED_SEL" \
    -D "BETA_SEL=$BETA_SEL" >"$T/reload.out" 2>&1 &&
    grep -q 'reloaded ' "$LOG"; then
	ok "SIGHUP: spent rate-limit budgets stay spent on the new config"
else
	not_ok "SIGHUP: spent rate-limit budgets stay spent on the new config"
	diag_file "$T/reload.out"
	diag_file "$LOG" 10
fi

# ------------------------------------------------------------ stop

# SIGTERM mid-message: that message completes, signed; then the exit.
# (SIGPIPE ignored: the stopping milter may close before the final QUIT)
if (trap '' PIPE; exec "$MILTERTEST" -s "$MT_DIR/_sigterm_inflight.lua" \
    -D "SOCKET=unix:$T/milter.sock" -D "MT_DIR=$MT_DIR" \
    -D "MILTER_PID=$milter_pid" -D "ACME_RSA_SEL=$ACME_RSA_SEL" \
    -D "ACME_ED_SEL=$ACME_ED_SEL" -D "BETA_SEL=$BETA_SEL" \
    >"$T/inflight.out" 2>&1); then
	ok "SIGTERM mid-message: the message still completes, signed"
else
	not_ok "SIGTERM mid-message: the message still completes, signed"
	diag_file "$T/inflight.out"
	diag_file "$LOG" 10
fi
status=
for _ in $(seq 1 50); do
	if ! milter_alive; then
		wait "$milter_pid"
		status=$?
		break
	fi
	sleep 0.1
done
if [ -z "$status" ]; then
	not_ok "SIGTERM: the milter stops within 5 seconds"
	diag_file "$LOG" 10
elif [ "$status" -ne 0 ]; then
	not_ok "SIGTERM: the milter exits 0 (exit $status)"
	diag_file "$LOG" 10
else
	ok "SIGTERM: the milter exits 0"
fi
[ -n "$status" ] && milter_pid=
log_has "the stop waited for the message in flight" \
    "${P}stopping: 1 message\(s\) in flight$"
log_has "the message in flight got its summary line" \
    "${P}INFLIGHT1: done .* action=accept $ACME_SIGNED conn="
log_lacks "nothing was left unfinished" "unfinished"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
