#!/bin/bash
# tcp.sh - Postfix talks to the milter over TCP (127.0.0.1). Over TCP too
# the milter asks Postfix not to wait for replies to connect, headers and
# body (Postfix does not set TCP_NODELAY; the milter acknowledges at once
# with TCP_QUICKACK, so Nagle does not hold the next command). Messages
# small and large (many body chunks), with folded and 8-bit headers, are
# signed and verify with dkimpy and Mail::DKIM; a refusal at MAIL still
# comes at MAIL; every message has its summary line.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
RIG_MILTER_SOCKET=127.0.0.1:10035
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

em_keys
em_conf "$RIG_DIR/em.unix.conf"
sed 's|socket = "unix:[^"]*";|socket = "inet:10035@127.0.0.1";|' \
    "$RIG_DIR/em.unix.conf" >"$RIG_DIR/em.conf"
rig_check "the config listens on TCP" grep -q 'inet:10035@127.0.0.1' \
    "$RIG_DIR/em.conf"
em_start "$RIG_DIR/em.conf" || tap_done
rig_check "Postfix uses the milter over TCP" \
    grep -q "smtpd_milters = inet:127.0.0.1:10035" \
    "$RIG_POSTFIX_DIR/etc/main.cf"

send_alice() {		# SUBJECT [SWAKS-ARGS...]
	local s=$1
	shift
	rig_send --xclient LOGIN=alice --from alice@acme.example \
	    --h-From alice@acme.example --header "Subject: $s" "$@"
}
signed() {		# SUBJECT
	em_message "$1" "$RIG_DIR/$1.eml" &&
	    rig_verify_expect "$RIG_DIR/$1.eml" 2
}

rig_check "a plain message: 250" send_alice tcp-plain
printf '%s\n' "From: alice@acme.example" "To: rcpt@dest.example" \
    "Subject: tcp-folded" \
    "X-Long: a header long enough to be folded when it is written, and" \
    "	a second line" "X-Name: J$(printf '\303\266')rg" "" \
    "Gr$(printf '\303\274\303\237')e" >"$RIG_DIR/folded.eml"
rig_check "folded and 8-bit headers: 250" eval \
    'rig_send_file "$RIG_DIR/folded.eml" --xclient LOGIN=alice \
	--from alice@acme.example && reply_starts "250 "'
# 2 MiB: Postfix sends the body in 64 KiB chunks, none answered
head -c 1572864 /dev/urandom | base64 -w 76 >"$RIG_DIR/big.txt"
rig_check "a 2 MiB message: 250" send_alice tcp-big \
    --body "@$RIG_DIR/big.txt"
for i in 1 2 3 4 5; do
	rig_check "message $i of five in a row: 250" send_alice "tcp-row-$i"
done
rig_check "an unknown login: 550 5.7.1 at MAIL FROM" eval \
    'rig_send --xclient LOGIN=mallory --from m@acme.example \
	--h-From m@acme.example --header "Subject: tcp-mallory";
     reply_starts "550 5.7.1" && refused_after "MAIL FROM"'
rig_check "eight messages delivered" delivered 8
for s in tcp-plain tcp-folded tcp-big tcp-row-1 tcp-row-5; do
	rig_check "$s: both signatures verify (dkimpy, Mail::DKIM)" signed "$s"
done
rig_check "nine summary lines" test "$(grep -cE ': done ' \
    "$RIG_DIR/milter.log")" -eq 9
em_sane
tap_done
