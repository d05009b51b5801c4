#!/bin/bash
# warmup.sh - how the milter picks among a pool's egresses beyond weights,
# through a real Postfix: warm-up caps of a new sending IP, day by day, and
# egresses authorized by the sender's SPF first.  Tenant delta's pool "warm" has one egress, 127.0.0.6, with
# daily caps [2, 4] from a start date, and overflows to the shared pool
# (192.0.2.2, 192.0.2.3).  The milter's clock is moved by libfaketime (a
# file holding the offset, read on every call), so "today" is the
# schedule's first day, then the second, then the day after it ends:
#   day 1: 3 messages -> 2 from 127.0.0.6, the 3rd overflows;
#   day 2: 5 messages -> 4 from 127.0.0.6, the 5th overflows;
#   day 3: the schedule is over -> every message from 127.0.0.6.
# Tenant sigma sends through the shared pool (192.0.2.2 and .3, equal
# weights) with an envelope domain whose SPF authorizes only 192.0.2.3:
# every message leaves from .3 (by weight alone, 20 in a row from one IP
# has p = 2^-20); tenant tau, whose SPF authorizes both, gets both.  Which IP delivered each message is read from the sink's
# records (X-Client-Addr); the Postfix side comes from egress-ctl.
set -u
# libspf2 passes any address in 127/8 ("localhost gets a free ride"), so
# the shared egresses use TEST-NET addresses, on the loopback of a private
# network namespace.
export RIG_NETNS_ADDRS="192.0.2.2/32 192.0.2.3/32"
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONF=$RIG_DIR/em.conf
SINK="[127.0.0.1]:10026"
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
OFFSET=10	# days ahead of the real date: "today" is surely the milter's
START=$(date -u -d "+$OFFSET days" +%F)

if [ ! -r "$FAKETIME_LIB" ]; then
	echo "Bail out! warmup.sh: $FAKETIME_LIB missing (package libfaketime)"
	exit 1
fi

cat >"$CONF" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; };
alignment: { enabled = true; spf = true; };
pools = (
  { name = "shared";
    egress = ( { transport = "shared_a"; ip = "192.0.2.2"; nexthop = "$SINK"; },
               { transport = "shared_b"; ip = "192.0.2.3"; nexthop = "$SINK"; } ); },
  { name = "warm"; overflow = "shared";
    egress = ( { transport = "warm_1"; ip = "127.0.0.6"; nexthop = "$SINK";
                 warmup = { start = "$START"; daily = [2, 4]; }; } ); }
);
tenants = (
  { name = "delta"; logins = ["dave"]; pool = "warm";
    domains = ( { name = "delta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); },
  { name = "sigma"; logins = ["sid"]; pool = "shared";
    domains = ( { name = "sigma.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); },
  { name = "tau"; logins = ["tom"]; pool = "shared";
    domains = ( { name = "tau.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); }
);
CONF_END

set_day() {	# N: the milter's today is the schedule's day N
	echo "+$((OFFSET + $1 - 1))d" >"$RIG_DIR/faketime"
}

send_n() {	# PREFIX N [LOGIN DOMAIN]
	local i who=${3:-dave} dom=${4:-delta.example}
	for i in $(seq 1 "$2"); do
		rig_send --xclient "LOGIN=$who" --from "$who@$dom" \
		    --h-From "$who@$dom" --header "Subject: $1$i" || return 1
	done
}

# settle: every message sent so far ($n) is at the sink; index them.
settle() {
	rig_postfix_flush >/dev/null 2>&1
	_rig_wait_for 30 test "$(rig_sink_count)" -ge "$n"
	index >/dev/null
}

# from_counts ERE WARM SHARED: of the deliveries matching ERE, WARM came
# from 127.0.0.6 and SHARED from 192.0.2.2 or .3.
from_counts() {
	local w s
	settle
	w=$(count_from "$1" 127.0.0.6)
	s=$(( $(count_from "$1" 192.0.2.2) + $(count_from "$1" 192.0.2.3) ))
	echo "/$1/: $w from 127.0.0.6, $s from the shared pool (expected $2, $3)"
	[ "$w" -eq "$2" ] && [ "$s" -eq "$3" ]
}

from_counts2() {	# ERE IP N: all N deliveries matching ERE from IP
	local k
	settle
	k=$(count_from "$1" "$2")
	echo "/$1/: $k from $2 (expected $3)"
	[ "$k" -eq "$3" ]
}

rig_key rsa "$RIG_DIR/beta-rsa.key" || tap_done
rig_dkim_record s1 delta.example "$RIG_DIR/beta-rsa.key" &&
    rig_dkim_record s1 sigma.example "$RIG_DIR/beta-rsa.key" || tap_done
rig_dkim_record s1 tau.example "$RIG_DIR/beta-rsa.key" || tap_done
rig_dns_txt sigma.example "v=spf1 ip4:192.0.2.3 -all"
rig_dns_txt tau.example "v=spf1 ip4:192.0.2.0/24 -all"
rig_check "the warm-up config is valid" "$EM_BIN" -n -c "$CONF"
rig_check "egress-ctl prints the master.cf clones" \
    ctl "$RIG_DIR/master.extra" master || tap_done
rig_check "egress-ctl prints the header-checks table" \
    ctl "$RIG_DIR/routes" header-checks || tap_done
rig_check "egress-ctl prints the main.cf line" \
    ctl "$RIG_DIR/main.extra" main "$RIG_DIR/routes" || tap_done
RIG_POSTFIX_MASTER_EXTRA=$(cat "$RIG_DIR/master.extra")
RIG_POSTFIX_EXTRA=$(cat "$RIG_DIR/main.extra")

set_day 1
rig_check "dnsmasq starts" rig_dns_start || tap_done
rig_check "smtp-sink starts" rig_sink_start || tap_done
# ASan must come first among preloaded libraries unless told otherwise.
rig_check "egress-milter starts with a faked clock" rig_milter_start env \
    LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$RIG_DIR/faketime" \
    FAKETIME_NO_CACHE=1 \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$EM_BIN" -f -c "$CONF" || tap_done
rig_check "postfix starts" rig_postfix_start "$(rig_milter_addr)" || tap_done
n=0

rig_check "day 1: 3 messages accepted" send_n d1- 3
n=$((n + 3))
rig_check "day 1 (cap 2): 2 from 127.0.0.6, the 3rd overflows to shared" \
    from_counts '^d1-' 2 1
rig_check "day 1: the summary of the 3rd names the shared pool" summary_is \
    'login=dave tenant=delta .* route=shared/shared_[ab]( |$)'

set_day 2
rig_check "day 2: 5 messages accepted" send_n d2- 5
n=$((n + 5))
rig_check "day 2 (cap 4): 4 from 127.0.0.6, the 5th overflows" \
    from_counts '^d2-' 4 1

set_day 3
rig_check "day 3: 4 messages accepted" send_n d3- 4
n=$((n + 4))
rig_check "day 3 (schedule over): all 4 from 127.0.0.6" \
    from_counts '^d3-' 4 0

rig_check "sigma: 20 messages accepted" send_n spf- 20 sid sigma.example
n=$((n + 20))
rig_check "sigma: SPF authorizes only 192.0.2.3: all 20 from there" \
    from_counts2 '^spf-' 192.0.2.3 20
rig_check "sigma: the preflight saw SPF pass for the chosen egress" summary_is \
    'login=sid tenant=sigma .* route=shared/shared_b .*spf=pass'
rig_check "tau: 20 messages accepted" send_n both- 20 tom tau.example
n=$((n + 20))
tau_spread() {
	local a b
	settle
	a=$(count_from '^both-' 192.0.2.2)
	b=$(count_from '^both-' 192.0.2.3)
	echo "/^both-/: $a from 192.0.2.2, $b from 192.0.2.3"
	[ "$a" -ge 1 ] && [ "$b" -ge 1 ] && [ $((a + b)) -eq 20 ]
}
rig_check "tau: SPF authorizes both: both are used (by weight)" tau_spread
em_sane
tap_done
