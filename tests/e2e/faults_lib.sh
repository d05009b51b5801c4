# faults_lib.sh - a counting sender under a fault, for the faults_*.sh
# scripts (sourced after rig.sh, rig_init and common.sh).
#
# tests/tools/smtp-count-send sends N numbered messages through the rig's
# Postfix over a few sessions, retries every 4xx and records each
# message's fate; tests/tools/count-audit compares that with the sink and
# verifies every signature with dkimpy.  A script starts the sender,
# waits until part of it is done, breaks something, repairs it, and then
# runs the shared checks, each its own TAP line:
#
#   faults_send ARGS...        start the sender (background; its --out is
#                              $FAULTS_SENT), e.g. --count 300 --as LOGIN,FROM
#   faults_wait_done K [SECS]  until K messages are finished
#   faults_now                 the time, as the sender records it
#   faults_finish SIG-SPECS... wait for the sender and the queue, index the
#                              sink, then: all accepted, none lost, none
#                              duplicated, no strangers, all signed as
#                              SIG-SPECS say (LOGIN=D/S,D/S ...)
#   faults_outage WHAT T_DOWN T_UP
#                              a diag line: when WHAT was down, how long
#   audit CHECK ARGS...        one count-audit check on the index
#   log_count FILE ERE N       exactly N lines of FILE match ERE

# Short queue ids (inode and microseconds) do recur within a run of a
# few hundred messages; the checks join the sender's record and the
# milter's summary line by queue id, so use the long, unique ones.
RIG_POSTFIX_EXTRA="${RIG_POSTFIX_EXTRA:-}
enable_long_queue_ids = yes"

FAULTS_SENT=$RIG_DIR/sent.jsonl
FAULTS_INDEX=$RIG_DIR/index.json
FAULTS_SENDER_PID=
FAULTS_COUNT=0

faults_now() {
	date +%s.%N
}

# faults_send ARGS...: smtp-count-send in the background, stopped by PID
# at exit like the rig's own processes.
faults_send() {
	local a prev=
	for a in "$@"; do
		[ "$prev" = --count ] && FAULTS_COUNT=$a
		prev=$a
	done
	rm -f "$FAULTS_SENT"
	rig_spawn sender "$RIG_PYTHON" "$RIG_TOOLS/smtp-count-send" \
	    --out "$FAULTS_SENT" --server "$RIG_SMTPD_ADDR" \
	    --port "$RIG_SMTPD_PORT" --run "$(basename "$RIG_DIR")" "$@"
	FAULTS_SENDER_PID=$RIG_SPAWN_PID
	FAULTS_T0=$(faults_now)
}

faults_finished() {
	[ -r "$FAULTS_SENT" ] && wc -l <"$FAULTS_SENT" || echo 0
}

# faults_outage WHAT T_DOWN T_UP: say when WHAT was down (from the start
# of the run) and for how long, and how far the sender had got
faults_outage() {
	diag "$1 down from +$(awk -v a="$FAULTS_T0" -v b="$2" \
	    'BEGIN { printf "%.2f", b - a }') s for $(awk -v a="$2" -v b="$3" \
	    'BEGIN { printf "%.2f", b - a }') s;" \
	    "$(faults_finished) messages finished by then"
}

_faults_has_done() {
	[ "$(faults_finished)" -ge "$1" ]
}

# faults_wait_done K [SECS]: K messages finished (default 60 s).
faults_wait_done() {
	_rig_wait_for "${2:-60}" _faults_has_done "$1" && return 0
	echo "only $(faults_finished) of $1 messages finished after ${2:-60}s"
	tail -n 5 "$RIG_DIR/sender.log" 2>/dev/null
	return 1
}

# faults_sender_wait SECS: the sender exits (by itself) within SECS.
faults_sender_wait() {
	local st
	if ! _rig_wait_for "$1" eval '! _rig_alive "$FAULTS_SENDER_PID"'; then
		echo "the sender is still running after ${1}s"
		return 1
	fi
	wait "$FAULTS_SENDER_PID" 2>/dev/null
	st=$?
	unset 'RIG_SPAWN_PIDS[sender]'
	echo "sender exit status $st after $(faults_elapsed) s;" \
	    "$(faults_finished) of $FAULTS_COUNT messages recorded"
	cat "$RIG_DIR/sender.log"
	[ "$(faults_finished)" -eq "$FAULTS_COUNT" ]
}

faults_elapsed() {
	awk -v a="$FAULTS_T0" -v b="$(faults_now)" 'BEGIN { printf "%.1f", b - a }'
}

# faults_accepted: how many messages the sender saw accepted.
faults_accepted() {
	grep -c '"status": "accepted"' "$FAULTS_SENT"
}

_faults_drained() {
	[ "$(rig_sink_count)" -ge "$(faults_accepted)" ] &&
	    rig_postfix_queue 2>&1 | grep -q 'Mail queue is empty'
}

# faults_drained [SECS]: Postfix delivered at least as many messages as it
# accepted and its queue is empty.
faults_drained() {
	rig_postfix_flush >/dev/null 2>&1
	_rig_wait_for "${1:-60}" _faults_drained && return 0
	echo "sink has $(rig_sink_count) deliveries, $(faults_accepted) accepted"
	rig_postfix_queue | tail -n 8
	return 1
}

audit() {
	"$RIG_PYTHON" "$RIG_TOOLS/count-audit" "$1" "$FAULTS_INDEX" "${@:2}"
}

faults_index() {
	"$RIG_PYTHON" "$RIG_TOOLS/count-audit" index "$FAULTS_SENT" \
	    "$RIG_DIR/sink" "$FAULTS_INDEX"
}

# log_count FILE ERE N: exactly N lines of FILE match ERE.
log_count() {
	local k
	k=$(grep -cE -- "$2" "$1")
	echo "$k lines of $(basename "$1") match $2 (expected $3)"
	[ "$k" -eq "$3" ]
}

# faults_finish SIG-SPECS...: the checks every fault script shares.
faults_finish() {
	rig_check "the sender finished all $FAULTS_COUNT messages" \
	    faults_sender_wait 90
	rig_check "Postfix delivered what it accepted; its queue is empty" \
	    faults_drained 60
	rig_check "the sink's deliveries are read and verified" faults_index
	diag "$(audit counts)"
	rig_check "every message was accepted in the end (4xx retried, no 5xx)" \
	    audit accepted
	rig_check "zero lost: every accepted message reached the sink" \
	    audit lost
	rig_check "zero duplicated: no message reached the sink twice" \
	    audit duplicates
	rig_check "every delivery is an accepted message of this run" \
	    audit strangers
	rig_check "zero unsigned: each delivery has its tenant's signatures, all verified by dkimpy" \
	    audit signed "$@"
	_faults_verify_sample
}

# Both independent verifiers (dkimpy and Mail::DKIM) on the first and
# the last delivery.
_faults_verify_sample() {
	local f n=0
	for f in $(rig_sink_files | sed -n '1p;$p'); do
		n=$((n + 1))
		rig_sink_message "$f" >"$RIG_DIR/sample$n.eml"
		rig_check "delivery $(basename "$f"): dkimpy and Mail::DKIM verify it" \
		    rig_verify "$RIG_DIR/sample$n.eml"
	done
}
