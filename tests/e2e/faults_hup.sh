#!/bin/bash
# faults_hup.sh - SIGHUP with a syntactically broken configuration, three
# times, while a client sends 300 numbered messages through Postfix; then
# the good file back and one more SIGHUP, still under load.  The broken
# file would also drop acme's Ed25519 key, so a half-applied reload would
# show as a missing signature.  Checked: each failed reload is logged
# with file:line, the daemon keeps its PID and the running configuration,
# the valid reload is logged, no message was refused at all, and counted
# at the sink every message is delivered once with both of acme's (or
# beta's one) signatures, all verified.
set -u
export RIG_NETNS_ADDRS=${RIG_NETNS_ADDRS:-192.0.2.250/32}
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

N=${FAULTS_N:-300}
CONF=$RIG_DIR/em.conf

rig_check "keys" em_keys
chown nobody "$RIG_DIR"/*.key	# the daemon re-reads them on a reload
em_conf "$RIG_DIR/good.conf"
cp "$RIG_DIR/good.conf" "$CONF"
# broken: without acme's ed2026 key, and a line libconfig cannot parse
{
	grep -v 'selector = "ed2026"' "$RIG_DIR/good.conf" |
	    sed 's|file = "\([^"]*acme-rsa.key\)"; },|file = "\1"; } ); } ); },|'
	echo 'milter = { on_error = "tempfail" ;; };'
} >"$RIG_DIR/broken.conf"
BROKEN_LINE=$(grep -n 'on_error = "tempfail" ;;' "$RIG_DIR/broken.conf" | cut -d: -f1)
rig_check "the good config is valid" "$EM_BIN" -n -c "$RIG_DIR/good.conf"
rig_check_fails "the broken config is refused by -n" \
    "$EM_BIN" -n -c "$RIG_DIR/broken.conf"
without_syntax_error() {	# the broken file minus its last line is valid
	head -n -1 "$RIG_DIR/broken.conf" >"$RIG_DIR/nosyntax.conf"
	"$EM_BIN" -n -c "$RIG_DIR/nosyntax.conf" &&
	    ! grep -q 'acme-ed.key' "$RIG_DIR/nosyntax.conf" &&
	    grep -q 'acme-ed.key' "$RIG_DIR/good.conf"
}
rig_check "without its bad line it is valid, and has one acme key fewer" \
    without_syntax_error
em_start "$CONF" || tap_done
PID=$RIG_MILTER_PID

hup() {	# FILE: install FILE as the config and send SIGHUP
	cp "$1" "$CONF" && kill -HUP "$PID"
}
faults_send --count "$N" --sessions 4 --rate 40 \
    --as alice,alice@acme.example --as bob,bob@beta.example
rig_check "a third of the messages are through" faults_wait_done $((N / 3))
rig_check "SIGHUP with the broken config (1)" hup "$RIG_DIR/broken.conf"
sleep 0.5
rig_check "SIGHUP again (2)" hup "$RIG_DIR/broken.conf"
sleep 0.5
rig_check "SIGHUP again (3)" hup "$RIG_DIR/broken.conf"
sleep 0.5
rig_check "the good config back, SIGHUP (4)" hup "$RIG_DIR/good.conf"
diag "$(faults_finished) messages finished after the last SIGHUP"

faults_finish "alice=acme.example/rsa2026,acme.example/ed2026" \
    "bob=beta.example/s1"

rig_check "the daemon kept running with the same PID" kill -0 "$PID"
rig_check "each failed reload was logged with file:line of the error" \
    log_count "$RIG_DIR/milter.log" \
    "reload failed, keeping the running configuration: $CONF:$BROKEN_LINE: " 3
rig_check "the valid reload was logged" \
    log_count "$RIG_DIR/milter.log" "reloaded $CONF: 2 tenant\(s\)" 1
rig_check "no message was refused, not even once" audit refusals '.*' '.' 0 0
rig_check "each accepted message has one summary line action=accept, signed" \
    audit summaries '.*' "$RIG_DIR/milter.log" \
    ' tenant=(acme|beta) .*action=accept signed=[a-z]'
em_sane
tap_done
