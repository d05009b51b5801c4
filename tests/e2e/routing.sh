#!/bin/bash
# routing.sh - per-message egress routing through a real Postfix. The
# Postfix side (one smtp clone per egress in master.cf, the
# milter_header_checks table, the main.cf line) is built only from
# `egress-ctl postfix-config` output, so it cannot drift from the milter's
# configuration. Every check on routing asserts which source IP really
# delivered (smtp-sink -C records the TCP peer as X-Client-Addr): a tenant
# with its own pool leaves from its own IP, the shared pool splits by weight
# (1:3), a pool whose only egress is down overflows into the shared pool,
# and a client cannot route itself by sending X-Egress-Route.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONF=$RIG_DIR/em.conf
SINK="[127.0.0.1]:10026"
declare -A IP_OF=([shared_a]=127.0.0.2 [shared_b]=127.0.0.3
    [acme_1]=127.0.0.4 [broken_1]=127.0.0.5)
declare -A HELO_OF=([shared_a]=a.rig.test [shared_b]=b.rig.test
    [acme_1]=acme.rig.test)
BULK=200	# bob's messages through the weighted shared pool
SESSION=40	# bob's messages in one SMTP connection

write_conf() {
	cat >"$CONF" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; };
alignment: { enabled = false; };
pools = (
  { name = "shared";
    egress = ( { transport = "shared_a"; ip = "127.0.0.2"; helo = "a.rig.test";
                 weight = 1; nexthop = "$SINK"; },
               { transport = "shared_b"; ip = "127.0.0.3"; helo = "b.rig.test";
                 weight = 3; nexthop = "$SINK"; } ); },
  { name = "acme"; overflow = "shared";
    egress = ( { transport = "acme_1"; ip = "127.0.0.4"; helo = "acme.rig.test";
                 nexthop = "$SINK"; } ); },
  { name = "broken"; overflow = "shared";
    egress = ( { transport = "broken_1"; ip = "127.0.0.5"; down = true;
                 nexthop = "$SINK"; } ); }
);
tenants = (
  { name = "acme"; logins = ["alice", "*@acme.example"]; pool = "acme";
    domains = ( { name = "acme.example"; subdomains = true;
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; },
                           { selector = "ed2026"; file = "$RIG_DIR/acme-ed.key"; } ); } ); },
  { name = "beta"; logins = ["bob"];
    domains = ( { name = "beta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); },
  { name = "gamma"; logins = ["carol"]; pool = "broken";
    domains = ( { name = "gamma.example";
                  keys = ( { selector = "g1"; file = "$RIG_DIR/gamma-rsa.key"; } ); } ); }
);
CONF_END
}

# clone TRANSPORT IP [HELO]: the generated master.cf has an smtp clone
# TRANSPORT bound to IP (enforced), with HELO if given.
clone() {
	local block
	block=$(awk -v t="$1" '
	    $1 == t && $2 == "unix" { on = 1; print; next }
	    on && /^[ \t]/ { print; next }
	    { on = 0 }' "$RIG_DIR/master.extra")
	echo "$block"
	grep -qE "^$1[[:space:]]+unix[[:space:]].*[[:space:]]smtp\$" <<<"$block" &&
	grep -qE -- "-o smtp_bind_address=$2\$" <<<"$block" &&
	grep -qE -- "-o smtp_bind_address_enforce=yes\$" <<<"$block" &&
	{ [ -z "${3:-}" ] || grep -qE -- "-o smtp_helo_name=$3\$" <<<"$block"; }
}

# table_says HEADER EXPECTED: Postfix's own regexp parser maps the header
# line through the generated table to EXPECTED.
table_says() {
	local got
	got=$(postmap -c "$RIG_POSTFIX_DIR/etc" -q "$1" "regexp:$RIG_DIR/routes")
	echo "postmap -q '$1': $got"
	[ "$got" = "$2" ]
}

send_as() {	# LOGIN DOMAIN SUBJECT [SWAKS-ARGS...]
	local who=$1 dom=$2 subj=$3
	shift 3
	rig_send --xclient "LOGIN=$who" --from "$who@$dom" --h-From "$who@$dom" \
	    --header "Subject: $subj" "$@"
}

# send_many LOGIN DOMAIN PREFIX N: messages PREFIX1..PREFIXN.
send_many() {
	local i
	for i in $(seq 1 "$4"); do
		send_as "$1" "$2" "$3$i" || return 1
	done
}

# from_ip SUBJECT IP...: that message was delivered from one of the IPs.
from_ip() {
	local subj=$1 ip
	shift
	ip=$(awk -F'\t' -v s="$subj" '$1 == s { print $2 }' "$RIG_DIR/index")
	case " $* " in *" $ip "*) [ -n "$ip" ] && return 0 ;; esac
	echo "$subj: delivered from \"$ip\", expected one of: $*"
	return 1
}

# not_from SUBJECT IP: that message was delivered, and not from IP.
not_from() {
	local ip
	ip=$(awk -F'\t' -v s="$1" '$1 == s { print $2 }' "$RIG_DIR/index")
	[ -n "$ip" ] || { echo "$1: not delivered"; return 1; }
	echo "$1: delivered from $ip"
	[ "$ip" != "$2" ]
}

# all_from ERE N IP...: exactly N deliveries have a Subject matching ERE,
# each from one of the IPs.
all_from() {
	local ere=$1 n=$2 got bad
	shift 2
	got=$(awk -F'\t' -v e="$ere" '$1 ~ e' "$RIG_DIR/index" | wc -l)
	bad=$(awk -F'\t' -v e="$ere" -v ips=" $* " \
	    '$1 ~ e && index(ips, " " $2 " ") == 0' "$RIG_DIR/index")
	[ "$got" -eq "$n" ] && [ -z "$bad" ] && return 0
	echo "$got deliveries match /$ere/, expected $n; from other IPs than $*:"
	echo "$bad" | head -n 20
	return 1
}

# share_ok ERE IP LO HI: LO <= deliveries from IP <= HI.
share_ok() {
	local k
	k=$(count_from "$1" "$2")
	echo "$k of the /$1/ deliveries from $2 (allowed $3..$4)"
	[ "$k" -ge "$3" ] && [ "$k" -le "$4" ]
}

# routes_match ERE: for every delivery with a Subject matching ERE, the
# milter's summary line for its queue id names a transport whose IP is
# the one the sink saw (the milter's choice is what Postfix did).
routes_match() {
	grep -E '^egress-milter\[[0-9]+\]: [0-9A-Za-z]+: done ' "$RIG_DIR/milter.log" |
	    sed -nE 's/^[^:]*: ([0-9A-Za-z]+): done .* route=[a-z0-9_-]+\/([a-z0-9_-]+)( .*)?$/\1 \2/p' \
	    >"$RIG_DIR/routes.log"
	local subj ip qid t bad=0 n=0
	while IFS=$'\t' read -r subj ip qid _; do
		[[ $subj =~ $1 ]] || continue
		n=$((n + 1))
		t=$(awk -v q="$qid" '$1 == q { print $2 }' "$RIG_DIR/routes.log")
		if [ -z "$t" ] || [ "${IP_OF[$t]:-}" != "$ip" ]; then
			echo "$subj (queue id $qid): milter route \"$t\", delivered from $ip"
			bad=$((bad + 1))
		fi
	done <"$RIG_DIR/index"
	echo "$n deliveries compared, $bad mismatches"
	[ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}

# summaries ERE N: exactly N summary lines match ERE.
summaries() {
	local k
	k=$(grep -E '^egress-milter\[[0-9]+\]: [0-9A-Za-z]+: done ' \
	    "$RIG_DIR/milter.log" | grep -cE -- "$1")
	echo "$k summary lines match $1 (expected $2)"
	[ "$k" -eq "$2" ]
}

# session LOGIN DOMAIN PREFIX N: N messages in one SMTP connection
# (XCLIENT LOGIN=, then one transaction per message).
session() {
	"$RIG_PYTHON" - "$RIG_SMTPD_ADDR" "$RIG_SMTPD_PORT" "$@" <<'PY_END'
import smtplib, sys
host, port, login, dom, prefix, n = sys.argv[1:7]
s = smtplib.SMTP(host, int(port), "client.rig.test", timeout=60)
s.ehlo()
code, msg = s.docmd("XCLIENT", "LOGIN=" + login)
if code != 220:
    sys.exit("XCLIENT: %d %s" % (code, msg))
s.ehlo()
sender = "%s@%s" % (login, dom)
for i in range(1, int(n) + 1):
    s.sendmail(sender, ["rcpt@dest.example"],
               "From: %s\r\nTo: rcpt@dest.example\r\nSubject: %s%d\r\n\r\n"
               "one of many in one connection\r\n" % (sender, prefix, i))
s.quit()
print("%s messages sent in one connection" % n)
PY_END
}

# verified SUBJECT... : each delivered message carries 2 verified signatures
verified() {
	local s n=$1
	shift
	for s in "$@"; do
		em_message "$s" "$RIG_DIR/$s.eml" &&
		    rig_verify_expect "$RIG_DIR/$s.eml" "$n" || return 1
	done
}

no_route_header_anywhere() {
	local hits
	hits=$(rig_sink_files | xargs -r grep -il '^X-Egress-Route')
	[ -z "$hits" ] && return 0
	echo "X-Egress-Route reached the sink in:"
	echo "$hits"
	return 1
}
postfix_log_lacks() { ! rig_postfix_log | grep -E -- "$1"; }
postfix_log_count() {	# ERE N
	local k
	k=$(rig_postfix_log | grep -cE -- "$1")
	echo "$k postfix log lines match $1 (expected $2)"
	[ "$k" -eq "$2" ]
}

# --- keys and the milter's configuration
em_keys || tap_done
rig_key rsa "$RIG_DIR/gamma-rsa.key" &&
    rig_dkim_record g1 gamma.example "$RIG_DIR/gamma-rsa.key" || tap_done
write_conf
rig_check "the routing config is valid" "$EM_BIN" -n -c "$CONF"

# --- the Postfix side, only from egress-ctl's output
rig_check "egress-ctl prints the master.cf clones" \
    ctl "$RIG_DIR/master.extra" master || tap_done
rig_check "egress-ctl prints the milter_header_checks table" \
    ctl "$RIG_DIR/routes" header-checks || tap_done
rig_check "egress-ctl prints the main.cf line" \
    ctl "$RIG_DIR/main.extra" main "$RIG_DIR/routes" || tap_done
for t in shared_a shared_b acme_1; do
	rig_check "master.cf: $t is an smtp clone from ${IP_OF[$t]} (enforced), HELO ${HELO_OF[$t]}" \
	    clone "$t" "${IP_OF[$t]}" "${HELO_OF[$t]}"
done
rig_check "main.cf: milter_header_checks = regexp:<the table>" \
    grep -qxF "milter_header_checks = regexp:$RIG_DIR/routes" "$RIG_DIR/main.extra"
RIG_POSTFIX_MASTER_EXTRA=$(cat "$RIG_DIR/master.extra")
RIG_POSTFIX_EXTRA="$(cat "$RIG_DIR/main.extra")
mynetworks = 127.0.0.0/8"

rig_check "dnsmasq serves the test keys" rig_dns_start || tap_done
rig_check "smtp-sink starts" rig_sink_start || tap_done
rig_check "egress-milter starts with the pools" \
    rig_milter_start "$EM_BIN" -f -c "$CONF" || tap_done
rig_check "postfix starts with the master.cf and table built by egress-ctl" \
    rig_postfix_start "$(rig_milter_addr)" || tap_done
rig_check "postfix check accepts the generated configuration" \
    postfix -c "$RIG_POSTFIX_DIR/etc" check
rig_check "table: X-Egress-Route: acme_1 -> FILTER acme_1:$SINK" \
    table_says "X-Egress-Route: acme_1" "FILTER acme_1:$SINK"
rig_check "table: X-Egress-Route: shared_b -> FILTER shared_b:$SINK" \
    table_says "X-Egress-Route: shared_b" "FILTER shared_b:$SINK"
rig_check "table: an unknown route fails closed (4.7.1)" \
    table_says "X-Egress-Route: nosuch" "REJECT 4.7.1 unknown egress route"
n=0	# messages at the sink

# --- alice: pool acme, one egress, 127.0.0.4
rig_check "alice: 5 messages accepted" send_many alice acme.example r 5
n=$((n + 5))
rig_check "alice: delivered ($n at the sink, queue empty)" delivered $n
index >/dev/null
rig_check "alice: all 5 delivered from 127.0.0.4 (acme_1)" \
    all_from '^r[0-9]+$' 5 127.0.0.4
rig_check "control: r1 did not leave from 127.0.0.2 (shared_a)" \
    not_from r1 127.0.0.2
rig_check_fails "control: the source-IP check fails for a wrong IP" \
    from_ip r1 127.0.0.2 127.0.0.3
rig_check "alice: all 5 signed twice, both verifiers pass" \
    verified 2 r1 r2 r3 r4 r5
rig_check "alice: summary route=acme/acme_1" summary_is \
    'login=alice tenant=acme .*signed=acme\.example/rsa2026/rsa-sha256,acme\.example/ed2026/ed25519-sha256 route=acme/acme_1( |$)'
rig_check "alice: 5 summary lines say route=acme/acme_1" \
    summaries 'login=alice .* route=acme/acme_1( |$)' 5

# --- bob: no pool -> the first pool (shared), weights 1:3
start=$SECONDS
rig_check "bob: $BULK messages accepted" send_many bob beta.example b $BULK
diag "bob: $BULK messages sent in $((SECONDS - start)) s"
n=$((n + BULK))
rig_check "bob: all $BULK reach the sink" rig_sink_wait $n 90
rig_check "bob: delivered ($n at the sink, queue empty)" delivered $n
index >/dev/null
rig_check "bob: all $BULK delivered from 127.0.0.2 or 127.0.0.3" \
    all_from '^b[0-9]+$' $BULK 127.0.0.2 127.0.0.3
# Weight 3 of 4: the count from 127.0.0.3 is binomial(200, 0.75) if the
# pick is random (mean 150, sigma = sqrt(200 * 0.75 * 0.25) = 6.1), and
# exactly 150 for a deterministic weighted round robin. Allow 4 sigma:
# 126..174 (share 0.63..0.87; a false failure has p < 1e-4). Ignoring
# the weights (100) or using one egress only (0 or 200) is far outside.
rig_check "bob: 75% from 127.0.0.3 (weight 3 of 4), within 4 sigma (126..174 of 200)" \
    share_ok '^b[0-9]+$' 127.0.0.3 126 174
diag "bob: $(count_from '^b[0-9]+$' 127.0.0.2) from 127.0.0.2, $(count_from '^b[0-9]+$' 127.0.0.3) from 127.0.0.3"
rig_check "bob: every summary says route=shared/shared_a or shared_b" \
    summaries 'login=bob .* route=shared/shared_[ab]( |$)' $BULK
rig_check "bob: each message left from the IP of the transport the milter logged" \
    routes_match '^b[0-9]+$'
rig_check "bob: b1 signed once, both verifiers pass" verified 1 b1

# --- bob, many messages in one connection: the pick is per message
rig_check "bob: $SESSION messages in one connection accepted" \
    session bob beta.example m $SESSION
n=$((n + SESSION))
rig_check "bob: delivered ($n at the sink, queue empty)" delivered $n
index >/dev/null
rig_check "bob, one connection: all $SESSION delivered from 127.0.0.2 or 127.0.0.3" \
    all_from '^m[0-9]+$' $SESSION 127.0.0.2 127.0.0.3
# A per-connection pick would send all 40 from one IP; a per-message pick
# does that with p = 0.75^40 + 0.25^40 = 1e-5.
rig_check "bob, one connection: both egresses used (picked per message)" \
    share_ok '^m[0-9]+$' 127.0.0.3 1 $((SESSION - 1))
rig_check "bob, one connection: the milter's route is the IP that delivered" \
    routes_match '^m[0-9]+$'

# --- carol: pool broken has only a down egress -> overflow into shared
rig_check "carol: 3 messages accepted" send_many carol gamma.example c 3
n=$((n + 3))
rig_check "carol: delivered ($n at the sink, queue empty)" delivered $n
index >/dev/null
rig_check "carol: delivered from 127.0.0.2 or 127.0.0.3 (overflow to shared)" \
    all_from '^c[0-9]+$' 3 127.0.0.2 127.0.0.3
rig_check "carol: summary route=shared/..." summary_is \
    'login=carol tenant=gamma .*signed=gamma\.example/g1/rsa-sha256 route=shared/shared_[ab]( |$)'
rig_check "carol: 3 summary lines say route=shared/..." \
    summaries 'login=carol .* route=shared/shared_[ab]( |$)' 3
rig_check "carol: the milter's route is the IP that delivered" \
    routes_match '^c[0-9]+$'
rig_check "carol: c1 signed once, both verifiers pass" verified 1 c1

# --- a client's own X-Egress-Route does not route
rig_check "bob with X-Egress-Route: acme_1 (twice): accepted" \
    send_as bob beta.example spoof1 --header "X-Egress-Route: acme_1" \
    --add-header "x-egress-route: acme_1"
rig_check "alice with X-Egress-Route: shared_a: accepted" \
    send_as alice acme.example spoof2 --header "X-Egress-Route: shared_a"
rig_check "bob with X-Egress-Route: nosuch: accepted (no 4.7.1)" \
    send_as bob beta.example spoof3 --header "X-Egress-Route: nosuch"
rig_check "spoof3: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 3))
rig_check "spoofs: delivered ($n at the sink, queue empty)" delivered $n
index >/dev/null
rig_check "spoof1 (bob): not routed to 127.0.0.4, delivered from .2/.3" \
    from_ip spoof1 127.0.0.2 127.0.0.3
rig_check "spoof1: no X-Egress-Route header reaches the sink" \
    eval 'em_message spoof1 "$RIG_DIR/spoof1.eml" && no_route_header spoof1'
rig_check "spoof1: summary route=shared/..." \
    summaries 'login=bob .*route=shared/shared_[ab]( |$)' $((BULK + SESSION + 2))
rig_check "spoof2 (alice): still delivered from 127.0.0.4" \
    from_ip spoof2 127.0.0.4
rig_check "spoof3 (bob): delivered from .2/.3" \
    from_ip spoof3 127.0.0.2 127.0.0.3
rig_check "spoofs: the milter's route is the IP that delivered" \
    routes_match '^spoof[0-9]$'

# --- the whole run
rig_check "no delivered message contains an X-Egress-Route header" \
    no_route_header_anywhere
rig_check "no delivery came from 127.0.0.5 (broken_1 is down)" \
    test "$(count_from . 127.0.0.5)" -eq 0
rig_check "no delivery bypassed routing (none from 127.0.0.1)" \
    test "$(count_from . 127.0.0.1)" -eq 0
rig_check "postfix log: no \"unknown egress route\" reject" \
    postfix_log_lacks 'unknown egress route'
rig_check "postfix log: nothing deferred or bounced" \
    postfix_log_lacks 'status=(deferred|bounced)'
rig_check "postfix log: every message ($n) was filtered to the transport its milter header named" \
    postfix_log_count 'milter-header-filter: header X-Egress-Route: ([a-z0-9_-]+) from .*: \1:\[127\.0\.0\.1\]:10026$' $n
em_sane
tap_done
