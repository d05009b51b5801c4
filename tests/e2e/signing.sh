#!/bin/bash
# signing.sh - messages through a real Postfix are signed with every key of
# the tenant's domain plus the provider key, and both independent verifiers
# (dkimpy, Mail::DKIM) accept them: plain, subdomain, 8-bit, bare LF, long
# folded headers, dot-lines, 20 MiB. Inbound mail passes untouched. With the
# milter down, clients get 4xx and nothing is delivered unsigned.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

no_route_header_in() { ! grep -qi '^X-Egress-Route' "$1"; }
last_reply_4xx() { rig_last_reply | grep -q '^4'; }
sink_has() { [ "$(rig_sink_count)" -eq "$1" ]; }
delivered_signed() {	# SUBJECT N
	em_message "$1" "$RIG_DIR/$1.eml" &&
	    rig_verify_expect "$RIG_DIR/$1.eml" "$2"
}
send_alice() {		# SUBJECT [FROM-HEADER]
	rig_send --xclient LOGIN=alice --from alice@acme.example \
	    --h-From "${2:-alice@acme.example}" --header "Subject: $1"
}

em_keys
em_conf "$RIG_DIR/em.conf" "" 'provider = { domain = "relay.example";
    keys = ( { selector = "relay"; file = "'"$RIG_DIR"'/prov-ed.key"; } ); };'
RIG_POSTFIX_EXTRA="mynetworks = 127.0.0.0/8 198.51.100.0/24 192.0.2.0/24"
em_start "$RIG_DIR/em.conf" || tap_done

# --- a plain message from a login: three signatures
rig_check "alice's message is accepted" rig_send --xclient LOGIN=alice \
    --from alice@acme.example --h-From "Alice <alice@acme.example>" \
    --header "Subject: plain" --header "X-Egress-Route: acme-dedicated"
qid=$(rig_last_queue_id)
rig_check "delivered" rig_sink_wait 1
rig_check "plain: 3 signatures, all verified by dkimpy and Mail::DKIM" \
    delivered_signed plain 3
rig_check "plain: RSA signature for acme.example" em_header_has \
    "$RIG_DIR/plain.eml" '^DKIM-Signature: v=1; a=rsa-sha256; .*d=acme.example'
rig_check "plain: Ed25519 signature for acme.example" em_header_has \
    "$RIG_DIR/plain.eml" '^DKIM-Signature: v=1; a=ed25519-sha256; .*d=acme.example'
rig_check "plain: provider signature d=relay.example" \
    em_header_has "$RIG_DIR/plain.eml" 'd=relay.example'
rig_check "plain: the client's X-Egress-Route header is removed" \
    no_route_header_in "$RIG_DIR/plain.eml"
rig_check "plain: one summary line, queue id first, every signature" \
    em_log_has "^egress-milter\[[0-9]+\]: $qid: done .*login=alice tenant=acme by=login .*action=accept signed=acme.example/rsa2026/rsa-sha256,acme.example/ed2026/ed25519-sha256,relay.example/relay/ed25519-sha256"

# --- a subdomain is signed with the parent's keys
rig_check "subdomain From accepted" send_alice subdomain news@news.acme.example
rig_check "delivered" rig_sink_wait 2
rig_check "subdomain: signed, all verify" delivered_signed subdomain 3
rig_check "subdomain: d=acme.example" \
    em_header_has "$RIG_DIR/subdomain.eml" 'd=acme.example'

# --- awkward content: 8-bit, bare LF, long folded header, dot-lines
long=$(printf 'word%.0s ' $(seq 1 200))
{
	printf 'From: =?utf-8?q?J=C3=B6rg?= <joerg@acme.example>\n'
	printf 'To: dave@dest.example\nSubject: awkward\n'
	printf 'X-Long: %s\n' "$long" | fold -w 70 | sed '2,$s/^/\t/'
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
	printf 'Content-Transfer-Encoding: 8bit\n\n'
	printf 'Gr\303\274\303\237e \342\202\254 100\n.\n..two dots\n.one dot\n'
	printf 'trailing spaces   \n\n\n'
} >"$RIG_DIR/awkward.src"
rig_check "8-bit, folded, dot-lines message accepted" rig_send_file \
    "$RIG_DIR/awkward.src" --xclient LOGIN=alice --from joerg@acme.example
rig_check "bare-LF message accepted" rig_send --xclient LOGIN=alice \
    --from alice@acme.example \
    --data "$(printf 'From: alice@acme.example\nSubject: bare-lf\n\none\ntwo\n')"
rig_check "both delivered" rig_sink_wait 4
rig_check "awkward: all signatures verify" delivered_signed awkward 3
rig_check "awkward: body arrives byte for byte" \
    cmp <(sed '1,/^$/d' "$RIG_DIR/awkward.src") \
    <(sed '1,/^$/d' "$RIG_DIR/awkward.eml")
rig_check "bare LF: all signatures verify" delivered_signed bare-lf 3

# --- 20 MiB: still verifies, and the body is streamed, not buffered
rss_kb() { awk '/^VmHWM/ {print $2}' "/proc/$RIG_MILTER_PID/status"; }
before=$(rss_kb)
{
	printf 'From: alice@acme.example\nSubject: huge\n\n'
	base64 -w 76 /dev/urandom | head -c 20971520
	printf '\n'
} >"$RIG_DIR/huge.src"
rig_check "20 MiB message accepted" rig_send_file "$RIG_DIR/huge.src" \
    --xclient LOGIN=alice --from alice@acme.example
rig_check "20 MiB message delivered" rig_sink_wait 5 120
rig_check "20 MiB: all signatures verify" delivered_signed huge 3
after=$(rss_kb)
if ldd "$EM_BIN" | grep -q libasan; then
	# ASan's shadow memory and free quarantine make RSS meaningless here.
	skip "20 MiB: milter peak memory stays bounded" "sanitizer build"
elif [ "${RIG_VALGRIND:-0}" = 1 ]; then
	# So do memcheck's (its freed-block queue alone holds 20 MB).
	skip "20 MiB: milter peak memory stays bounded" "under valgrind"
else
	rig_check "20 MiB: milter peak memory grew by less than 8 MiB ($before -> $after kB)" \
	    test $((after - before)) -lt 8192
fi

# --- inbound mail (no login, external client) passes untouched, but for
# a client's copy of a control header (milter.strip_inbound)
rig_check "inbound message accepted" rig_send --xclient ADDR=198.51.100.7 \
    --from someone@elsewhere.example --h-From someone@elsewhere.example \
    --header "Subject: inbound" --header "X-Egress-DMARC: pass (forged)"
rig_check "delivered" rig_sink_wait 6
rig_check "inbound: no signature added" eval 'em_message inbound \
    "$RIG_DIR/inbound.eml" && [ "$(rig_sig_count "$RIG_DIR/inbound.eml")" -eq 0 ]'
rig_check "inbound: the forged X-Egress-DMARC is removed" \
    eval '! grep -qi "^X-Egress-DMARC:" "$RIG_DIR/inbound.eml" &&
    grep -q "^Subject: inbound" "$RIG_DIR/inbound.eml"'
rig_check "inbound: logged as passed, not outbound" \
    em_log_has 'client=198.51.100.7 .*action=pass signed=none reason="not outbound; 1 client control header\(s\) removed"'

# --- milter down: 4xx, nothing delivered; back up: the retry is signed
em_sane
rig_check_fails "milter down: the message is refused" send_alice down
rig_check "milter down: the refusal is a 4xx" last_reply_4xx
sleep 1
rig_check "milter down: nothing was delivered" sink_has 6
rig_check "milter restarts" rig_milter_start "$EM_BIN" -f -c "$RIG_DIR/em.conf"
rig_check "the client's retry is accepted" send_alice down
rig_check "and delivered" rig_sink_wait 7
rig_check "signed and verified" delivered_signed down 3
em_sane
tap_done
