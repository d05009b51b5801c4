#!/bin/bash
# metrics.sh - GET /metrics (Prometheus text format) after real traffic
# through Postfix: two messages of tenant acme accepted and signed (RSA and
# Ed25519), one refused (another tenant's From), one recipient over a rate
# limit; the counters, the histogram and the gauges say exactly that, and
# any other path is 404. metrics.allow admits 127.0.0.1 only: a client on
# 127.0.0.9 gets no byte until a reload adds it. The port is in a private
# network namespace.
set -u
export RIG_NETNS_ADDRS="127.0.0.9/32"
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONF=$RIG_DIR/em.conf
URL=http://127.0.0.1:19465

em_keys || tap_done
cat >"$CONF" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; };
alignment: { enabled = false; };
metrics: { listen = "127.0.0.1:19465"; allow = [ "127.0.0.1/32" ]; };
tenants = (
  { name = "acme"; logins = ["alice"];
    limits = ( { name = "two"; per = "tenant"; recipients = "2/1h"; } );
    domains = ( { name = "acme.example";
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; },
                           { selector = "ed2026"; file = "$RIG_DIR/acme-ed.key"; } ); } ); },
  { name = "beta"; logins = ["bob"];
    domains = ( { name = "beta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); }
);
CONF_END

fetch() {	# PATH OUT: HTTP status in OUT.status
	"$RIG_PYTHON" - "$URL$1" "$2" <<'PY_END'
import sys, urllib.request, urllib.error
url, out = sys.argv[1], sys.argv[2]
try:
    r = urllib.request.urlopen(url, timeout=5)
    code, body, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
except urllib.error.HTTPError as e:
    code, body, ctype = e.code, e.read(), ""
open(out, "wb").write(body)
open(out + ".status", "w").write("%d %s\n" % (code, ctype))
PY_END
}

fetch_from() {	# SOURCE-ADDRESS: GET /metrics from there; prints the status line
	"$RIG_PYTHON" - "$1" <<'PY_END'
import socket, sys
s = socket.socket()
s.settimeout(5)
s.bind((sys.argv[1], 0))
s.connect(("127.0.0.1", 19465))
try:
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    data = s.recv(4096)
except OSError as e:
    data = b""
print((data.split(b"\r\n")[0] or b"(closed, nothing sent)").decode())
PY_END
}

refused_from() {	# SOURCE-ADDRESS
	local got
	got=$(fetch_from "$1")
	echo "$got"
	[ "$got" = "(closed, nothing sent)" ]
}

answered_from() {	# SOURCE-ADDRESS
	local got
	got=$(fetch_from "$1")
	echo "$got"
	case $got in "HTTP/1."?" 200"*) return 0 ;; esac
	return 1
}

metric() {	# LINE-ERE: a sample line of the scrape
	grep -Eq -- "$1" "$RIG_DIR/m.txt" && return 0
	echo "no sample matches: $1"
	grep -v '^#' "$RIG_DIR/m.txt"
	return 1
}

em_start "$CONF" || tap_done
rig_check "acme message 1" rig_send --xclient LOGIN=alice \
    --from alice@acme.example --h-From alice@acme.example --header "Subject: m1"
rig_check "acme message 2" rig_send --xclient LOGIN=alice \
    --from alice@acme.example --h-From alice@acme.example --header "Subject: m2"
rig_send --xclient LOGIN=bob --from bob@beta.example \
    --h-From alice@acme.example --header "Subject: m3"
rig_check "bob with acme's From is refused" reply_starts "550 5.7.1"
rig_send --xclient LOGIN=alice --from alice@acme.example \
    --h-From alice@acme.example --header "Subject: m4"
rig_check "acme's third recipient is over the limit" reply_starts "451 4.7.1"
rig_check "two messages delivered" delivered 2

rig_check "GET /metrics answers" fetch /metrics "$RIG_DIR/m.txt"
rig_check "  200 with the Prometheus text type" grep -q \
    '^200 text/plain; version=0.0.4' "$RIG_DIR/m.txt.status"
rig_check "  2 accepted for acme" \
    metric '^egress_messages_total\{tenant="acme",outcome="accept"\} 2$'
rig_check "  1 rejected for beta" \
    metric '^egress_messages_total\{tenant="beta",outcome="reject"\} 1$'
rig_check "  2 RSA and 2 Ed25519 signatures" \
    metric '^egress_signatures_total\{alg="rsa-sha256"\} 2$'
rig_check "  (Ed25519)" metric '^egress_signatures_total\{alg="ed25519-sha256"\} 2$'
rig_check "  1 rate-limit hit for limit two" \
    metric '^egress_ratelimit_hits_total\{limit="two"\} 1$'
rig_check "  the histogram counts every message (4)" \
    metric '^egress_message_seconds_count 4$'
rig_check "  its +Inf bucket too" \
    metric '^egress_message_seconds_bucket\{le="\+Inf"\} 4$'
rig_check "  DNS cache gauges are there" \
    metric '^egress_dns_cache_entries [0-9]+$'
rig_check "  nothing in flight" metric '^egress_messages_in_flight 0$'
rig_check "  the limit's buckets are held in memory" \
    metric '^egress_ratelimit_keys [1-9][0-9]*$'
rig_check "  (their tables' memory)" \
    metric '^egress_ratelimit_memory_bytes [1-9][0-9]*$'
rig_check "  none forgotten early" metric '^egress_ratelimit_evictions_total 0$'
rig_check "  every family has HELP and TYPE" test \
    "$(grep -c '^# TYPE' "$RIG_DIR/m.txt")" -ge 8
rig_check "another path is 404" fetch /secret "$RIG_DIR/x.txt"
rig_check "  (404)" grep -q '^404' "$RIG_DIR/x.txt.status"
rig_check "a client outside metrics.allow (127.0.0.9) gets nothing" \
    refused_from 127.0.0.9
rig_check "  127.0.0.1 still gets its 200" answered_from 127.0.0.1
sed -i 's|allow = \[ "127.0.0.1/32" \]|allow = [ "127.0.0.1/32", "127.0.0.9" ]|' \
    "$CONF"
chown nobody "$RIG_DIR"/*.key	# a reload reads them as milter.user
reload() {
	kill -HUP "$RIG_MILTER_PID" && sleep 1 &&
	    grep -q "reloaded $CONF" "$RIG_DIR/milter.log"
}
rig_check "SIGHUP with 127.0.0.9 added to metrics.allow" reload
rig_check "  127.0.0.9 gets its 200 now" answered_from 127.0.0.9
em_sane
tap_done
