#!/bin/bash
# faults_kill.sh - the milter is killed with SIGKILL while a client sends
# 300 numbered messages through Postfix (milter_default_action =
# tempfail) over four sessions, and started again a second later; one
# message is held in the middle of its DATA across the kill.  The
# client retries every 4xx.  Counted at the sink: every message is
# delivered exactly once, signed with its tenant's keys (dkimpy verifies
# every signature); the only refusals are 4xx, all while the milter was
# down; every accepted message has its one summary line.
set -u
export RIG_NETNS_ADDRS=${RIG_NETNS_ADDRS:-192.0.2.250/32}
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

N=${FAULTS_N:-300}

rig_check "keys" em_keys
em_conf "$RIG_DIR/em.conf"
em_start "$RIG_DIR/em.conf" || tap_done
default_action_is_tempfail() {
	rig_postconf -h milter_default_action | grep -qx tempfail
}
rig_check "the rig's Postfix has milter_default_action = tempfail" \
    default_action_is_tempfail

# Message N/3 stops in the middle of its DATA (headers sent) until the
# milter has been killed and started again.
HOLD=$((N / 3))
faults_send --count "$N" --sessions 4 --rate 40 \
    --as alice,alice@acme.example --as bob,bob@beta.example \
    --hold "$HOLD:$RIG_DIR/hold"
rig_check "message $HOLD is held open mid-DATA, a third of the run done" \
    _rig_wait_for 60 test -e "$RIG_DIR/hold"

old_pid=$RIG_MILTER_PID
kill_milter() {
	kill -KILL "$old_pid" || return 1
	wait "$old_pid" 2>/dev/null
	RIG_MILTER_PID=
	! _rig_alive "$old_pid"
}
T_DOWN=$(faults_now)
rig_check "SIGKILL to the milter (pid $old_pid) mid-run" kill_milter
sleep 1
T_UP=$(faults_now)
rig_check "the milter starts again on the same socket" \
    rig_milter_start "$EM_BIN" -f -c "$RIG_DIR/em.conf"
T_READY=$(faults_now)
rm -f "$RIG_DIR/hold"
faults_outage milter "$T_DOWN" "$T_READY"

faults_finish "alice=acme.example/rsa2026,acme.example/ed2026" \
    "bob=beta.example/s1"

rig_check "the outage was felt: some attempts were refused with 4xx" \
    audit refusals '.*' '^4[0-9][0-9] ' 1 -
rig_check "every refusal was 451 4.7.1 from Postfix (none 5xx, no dropped connection)" \
    audit refusals-only '.*' '^451 4\.7\.1 '
rig_check "refusals only while the milter was away (5 s slack)" \
    audit refused-within '.*' "$T_DOWN" "$T_READY" 5
rig_check "message $HOLD, in its DATA during the kill: 451 4.7.1 at the end of data, then accepted" \
    audit message "$HOLD" DOT '^451 4\.7\.1 '
rig_check "each accepted message has one summary line action=accept, signed" \
    audit summaries '.*' "$RIG_DIR/milter.log" \
    ' tenant=(acme|beta) .*action=accept signed=[a-z]'
em_sane
tap_done
