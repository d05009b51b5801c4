#!/bin/bash
# rig_selftest.sh - proves the e2e rig with OpenDKIM standing in for
# egress-milter: real Postfix, dnsmasq, smtp-sink, and both verifiers,
# which must pass good signatures and fail a tampered message.
#
# Run as root: EGRESS_E2E=1 bash tests/e2e/rig_selftest.sh

# shellcheck disable=SC2317  # helpers below are run through rig_check
set -u
# shellcheck source-path=SCRIPTDIR source=rig.sh
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"

DOMAIN=rig.example

# OpenDKIM 2.11 has one global SignatureAlgorithm, so one instance cannot
# sign with an RSA and an Ed25519 key: run one instance per key, as two
# milters in a row (each adds its own DKIM-Signature).
# write_opendkim_conf NAME SELECTOR KEYFILE ALGORITHM SOCKET: prints the path.
write_opendkim_conf() {
	local d=$RIG_DIR/opendkim-$1
	mkdir -p "$d"
	echo "key $DOMAIN:$2:$3" >"$d/keytable"
	echo "*@$DOMAIN key" >"$d/signingtable"
	echo "127.0.0.0/8" >"$d/internal"
	cat >"$d/opendkim.conf" <<EOF
Mode s
Syslog no
Socket unix:$5
UMask 000
KeyTable file:$d/keytable
SigningTable refile:$d/signingtable
SignatureAlgorithm $4
InternalHosts file:$d/internal
Canonicalization relaxed/relaxed
RequireSafeKeys no
EOF
	echo "$d/opendkim.conf"
}

# sink_file_for SUBJECT: the delivered dump file of one test message.
sink_file_for() {
	rig_sink_grep "^Subject: $1\$" | head -n 1
}

# one_body_byte_changed IN OUT: flips the first body character.
one_body_byte_changed() {
	perl -0777 -pe 's/(\n\n)(.)/$1 . ($2 eq "X" ? "Y" : "X")/e' "$1" >"$2" &&
		! cmp -s "$1" "$2"
}

reply_is_4xx() {
	local r
	r=$(rig_last_reply)
	echo "last reply: $r"
	case "$r" in 4[0-9][0-9]" "*) return 0 ;; *) return 1 ;; esac
}

sink_count_is() {
	local n
	n=$(rig_sink_count)
	echo "sink has $n messages, expected $1"
	[ "$n" -eq "$1" ]
}

host_resolv_untouched() {
	! grep -q "$RIG_DNS_ADDR" /proc/1/root/etc/resolv.conf
}

# --- keys and DNS
rig_key rsa "$RIG_DIR/rsa.pem" 2048
rig_key ed25519 "$RIG_DIR/ed.pem"
rig_dkim_record rsa2048 "$DOMAIN" "$RIG_DIR/rsa.pem"
rig_dkim_record ed25519 "$DOMAIN" "$RIG_DIR/ed.pem"
rig_check "dnsmasq starts and answers" rig_dns_start
rig_check "RSA key record resolves via /etc/resolv.conf" \
	rig_dns_query "rsa2048._domainkey.$DOMAIN"
rig_check "host /etc/resolv.conf is not changed" host_resolv_untouched

# --- milter, sink, postfix
ed_socket=$RIG_DIR/opendkim-ed25519.sock
conf=$(write_opendkim_conf rsa rsa2048 "$RIG_DIR/rsa.pem" rsa-sha256 "$RIG_MILTER_SOCKET")
rig_check "opendkim (RSA) starts on $RIG_MILTER_SOCKET" \
	rig_milter_start /usr/sbin/opendkim -f -x "$conf"
conf=$(write_opendkim_conf ed25519 ed25519 "$RIG_DIR/ed.pem" ed25519-sha256 "$ed_socket")
rig_spawn opendkim-ed25519 /usr/sbin/opendkim -f -x "$conf"
rig_check "opendkim (Ed25519) starts on $ed_socket" \
	rig_wait_socket "$ed_socket" 10 "$RIG_SPAWN_PID"
rig_check "smtp-sink starts" rig_sink_start
rig_check "postfix starts" \
	rig_postfix_start "$(rig_milter_addr), unix:$ed_socket"

# --- three messages
printf '%s\n' "From: Carol <carol@$DOMAIN>" "To: dave@dest.example" \
	"Subject: rig selftest 8bit" "MIME-Version: 1.0" \
	"Content-Type: text/plain; charset=utf-8" \
	"Content-Transfer-Encoding: 8bit" "" \
	"Grüße aus dem Prüfstand, ½ €." ".a line that needs dot-stuffing" \
	>"$RIG_DIR/8bit.eml"
rig_check "plain message accepted" rig_send --from "bob@$DOMAIN" \
	--h-From "Bob <bob@$DOMAIN>" --header "Subject: rig selftest plain"
rig_check "XCLIENT LOGIN=alice message accepted" rig_send \
	--xclient "LOGIN=alice" --from "alice@$DOMAIN" \
	--h-From "Alice <alice@$DOMAIN>" --header "Subject: rig selftest auth"
rig_check "8-bit message file accepted" rig_send_file "$RIG_DIR/8bit.eml" \
	--from "carol@$DOMAIN" --to dave@dest.example
rig_check "three messages reach the sink" rig_sink_wait 3 30

for name in plain auth 8bit; do
	f=$(sink_file_for "rig selftest $name")
	rig_sink_message "$f" >"$RIG_DIR/$name.out.eml"
	rig_check "$name: delivered, signed twice, both verifiers pass" \
		rig_verify_expect "$RIG_DIR/$name.out.eml" 2
	rig_check "$name: sink records X-Client-Addr 127.0.0.1" \
		test "$(rig_sink_record "$f" X-Client-Addr)" = 127.0.0.1
done

rig_check "auth: Postfix saw the XCLIENT login" \
	grep -q "Authenticated sender: alice" "$RIG_DIR/auth.out.eml"
rig_check "8bit: body arrives byte for byte" \
	cmp <(sed '1,/^$/d' "$RIG_DIR/8bit.eml") \
	<(sed '1,/^$/d' "$RIG_DIR/8bit.out.eml")

# --- the verifiers can fail
rig_check "tampered copy made" \
	one_body_byte_changed "$RIG_DIR/plain.out.eml" "$RIG_DIR/tampered.eml"
rig_check_fails "dkimpy fails the tampered copy" \
	"$RIG_PYTHON" "$RIG_TOOLS/dkim-verify-py" "$RIG_DIR/tampered.eml"
rig_check_fails "Mail::DKIM fails the tampered copy" \
	perl "$RIG_TOOLS/dkim-verify-pl" "$RIG_DIR/tampered.eml"
sed 's/^Subject: rig selftest plain$/Subject: rig selftest PLAIN/' \
	"$RIG_DIR/plain.out.eml" >"$RIG_DIR/subject.eml"
rig_check_fails "dkimpy fails a copy with a changed Subject" \
	"$RIG_PYTHON" "$RIG_TOOLS/dkim-verify-py" "$RIG_DIR/subject.eml"
rig_check_fails "Mail::DKIM fails a copy with a changed Subject" \
	perl "$RIG_TOOLS/dkim-verify-pl" "$RIG_DIR/subject.eml"
rig_check_fails "rig_verify fails an unsigned message" \
	rig_verify "$RIG_DIR/8bit.eml"

# --- milter down: tempfail, nothing delivered
rig_check "opendkim (RSA) stops on SIGTERM" rig_milter_stop
before=$(rig_sink_count)
rig_check_fails "send with the milter down is refused" rig_send \
	--from "bob@$DOMAIN" --header "Subject: rig selftest milter down"
rig_check "the refusal is a 4xx (milter_default_action=tempfail)" reply_is_4xx
sleep 2
rig_check "nothing new reached the sink" sink_count_is "$before"

tap_done
