#!/bin/bash
# badmail.sh - bad mail has a defined outcome. Messages from alice (acme)
# with no From, two From headers, two addresses, an unparseable From, a
# From without domain, too many headers or too many header bytes are
# refused with the documented reply; nothing is delivered and the summary
# line says why. milter.bad_from = tempfail turns the refusal into 451,
# accept lets the message through unsigned. A good message afterwards is
# still signed: the milter survived all of it.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# send_raw NAME: $RIG_DIR/NAME.src byte for byte, from alice (acme).
send_raw() {
	rig_send_file "$RIG_DIR/$1.src" --xclient LOGIN=alice \
	    --from alice@acme.example
}

# msg NAME HEADER-LINES...: writes $RIG_DIR/NAME.src with these header
# lines, To, Subject: NAME, and a short body.
msg() {
	local name=$1
	shift
	{
		printf '%s\n' "$@"
		printf 'To: rcpt@dest.example\nSubject: %s\n\nbody of %s\n' \
		    "$name" "$name"
	} >"$RIG_DIR/$name.src"
}

# restart CONF MILTER-LINES: stop the milter (with the sanity checks),
# start it again with a new configuration.
restart() {
	em_sane
	em_conf "$RIG_DIR/$1" "$2"
	rig_check "milter restarts with $2" \
	    rig_milter_start "$EM_BIN" -f -c "$RIG_DIR/$1"
}

# refused NAME REPLY REASON-ERE ACTION: NAME is refused at end of data with
# exactly REPLY, nothing reaches the sink, and the summary line has
# tenant=acme by=login, the action, signed=none and the reason.
refused() {
	local name=$1 reply=$2 reason=$3 action=$4
	rig_check_fails "$name: refused" send_raw "$name"
	rig_check "$name: $reply" reply_is "$reply"
	rig_check "$name: refused at end of data" refused_after "."
	rig_check "$name: nothing delivered ($n at the sink)" delivered $n
	rig_check "$name: summary action=$action reason" summary_is \
	    " login=alice tenant=acme by=login env_from=acme\.example from=- .*action=$action signed=none reason=\"$reason\"$END"
}

em_keys
em_conf "$RIG_DIR/em.conf"
# Postfix's cleanup adds a missing From: (and Date:, Message-Id:) for
# clients in local_header_rewrite_clients, by default
# permit_inet_interfaces, which matches the rig's 127.0.0.1. Empty, the
# message reaches the milter as the client sent it.
RIG_POSTFIX_EXTRA="mynetworks = 127.0.0.0/8 198.51.100.0/24 192.0.2.0/24
local_header_rewrite_clients ="
em_start "$RIG_DIR/em.conf" || tap_done
n=0			# messages at the sink
END=' conn=[0-9]+$'	# a summary line ends with conn=N
# Accepted mail carries the DMARC preflight's fields; this rig publishes
# no DMARC record, so the verdict is none and DKIM is the aligned part.
DMARC_NONE=' dmarc=none policy=- spf=unchecked why="aligned DKIM"'
ACME_SIGNED="action=accept signed=acme\.example/rsa2026/rsa-sha256,acme\.example/ed2026/ed25519-sha256$DMARC_NONE$END"

# --- From header problems: 550 5.7.1 (milter.bad_from = reject)
msg nofrom
refused nofrom "550 5.7.1 message has no From header" \
    "message has no From header" reject

msg twofrom "From: alice@acme.example" "From: alice@acme.example"
refused twofrom "550 5.7.1 message has 2 From headers (RFC 5322 allows one)" \
    "message has 2 From headers \(RFC 5322 allows one\)" reject

msg twoaddr "From: alice@acme.example, carol@acme.example"
refused twoaddr "550 5.7.1 From header: more than one address" \
    "From header: more than one address" reject

msg syntax "From: <<<"
refused syntax "550 5.7.1 From header: syntax error" \
    "From header: syntax error" reject

msg nodomain "From: root"
refused nodomain "550 5.7.1 From header: address has no domain" \
    "From header: address has no domain" reject

# --- milter.max_headers (1000): 1000 header fields pass, 1001 get 552 5.3.4
mapfile -t fill < <(for i in $(seq 1 997); do echo "X-Filler-$i: $i"; done)
msg maxheaders "From: alice@acme.example" "${fill[@]}"
rig_check "maxheaders: the message has 1000 header fields" \
    test "$(sed '/^$/q' "$RIG_DIR/maxheaders.src" | grep -c :)" -eq 1000
rig_check "maxheaders: accepted" send_raw maxheaders
rig_check "maxheaders: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "maxheaders: delivered ($n at the sink)" delivered $n
rig_check "maxheaders: 2 signatures d=acme.example, both verify" \
    signed_for maxheaders "acme.example acme.example" 2

mapfile -t fill < <(for i in $(seq 1 998); do echo "X-Filler-$i: $i"; done)
msg manyheaders "From: alice@acme.example" "${fill[@]}"
rig_check "manyheaders: the message has 1001 header fields" \
    test "$(sed '/^$/q' "$RIG_DIR/manyheaders.src" | grep -c :)" -eq 1001
refused manyheaders "552 5.3.4 message has more than 1000 header fields" \
    "message has more than 1000 header fields" reject

# --- the milter survived: a good message is signed and verifies
msg good "From: Alice <alice@acme.example>"
rig_check "good: accepted" send_raw good
rig_check "good: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "good: delivered ($n at the sink)" delivered $n
rig_check "good: 2 signatures d=acme.example, both verify" \
    signed_for good "acme.example acme.example" 2
rig_check "good: summary action=accept" summary_is \
    " login=alice tenant=acme by=login .*$ACME_SIGNED"

# --- more than milter.max_header_bytes: always 552 5.3.4
restart bytes.conf "max_header_bytes = 4096;"
msg small "From: alice@acme.example"
rig_check "small headers under 4096 bytes: accepted" send_raw small
n=$((n + 1))
rig_check "small: delivered ($n at the sink)" delivered $n
rig_check "small: 2 signatures d=acme.example, both verify" \
    signed_for small "acme.example acme.example" 2
pad=$(head -c 450 /dev/zero | tr '\0' x)
mapfile -t fill < <(for i in $(seq 1 10); do echo "X-Pad-$i: $pad"; done)
msg bigheaders "From: alice@acme.example" "${fill[@]}"
rig_check "bigheaders: more than 4096 bytes of headers in 13 fields" \
    test "$(sed '/^$/q' "$RIG_DIR/bigheaders.src" | wc -c)" -gt 4096
refused bigheaders "552 5.3.4 message header is larger than 4096 bytes" \
    "message header is larger than 4096 bytes" reject

# --- milter.bad_from = tempfail: 451 4.7.1, the client keeps the message
restart tempfail.conf 'bad_from = "tempfail";'
refused nofrom "451 4.7.1 message has no From header" \
    "message has no From header" tempfail

# --- milter.bad_from = accept: delivered unsigned, control header removed
restart accept.conf 'bad_from = "accept";'
msg nofrom-accept "X-Egress-Route: acme-dedicated"
rig_check "nofrom (accept): accepted" send_raw nofrom-accept
rig_check "nofrom (accept): 250 2.0.0 queued" \
    reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "nofrom (accept): delivered ($n at the sink)" delivered $n
rig_check "nofrom (accept): delivered without any signature" \
    unsigned nofrom-accept
rig_check "nofrom (accept): still no From header (nobody added one)" \
    eval '! em_header_has "$RIG_DIR/nofrom-accept.eml" "^From:"'
rig_check "nofrom (accept): the client's X-Egress-Route header is removed" \
    no_route_header nofrom-accept
rig_check "nofrom (accept): summary action=accept-unsigned" summary_is \
    " login=alice tenant=acme by=login .* from=- .*action=accept-unsigned signed=none reason=\"message has no From header\"$END"

# --- and a good message is still signed
msg good-end "From: alice@acme.example"
rig_check "good at the end: accepted" send_raw good-end
n=$((n + 1))
rig_check "good at the end: delivered ($n at the sink)" delivered $n
rig_check "good at the end: 2 signatures d=acme.example, both verify" \
    signed_for good-end "acme.example acme.example" 2
rig_check "good at the end: summary action=accept" summary_is \
    " login=alice tenant=acme by=login .*$ACME_SIGNED"

em_sane
tap_done
