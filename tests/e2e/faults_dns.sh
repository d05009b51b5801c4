#!/bin/bash
# faults_dns.sh - the DNS server (dnsmasq) is stopped for four seconds
# while a client sends 300 numbered messages through Postfix with the
# DMARC preflight on.  acme.example and beta.example publish p=reject,
# SPF for the egress address and our keys, so with DNS up every verdict
# is pass.  Postfix's smtpd on 10025 uses milter A (on_temperror =
# tempfail, alice's mail), a second smtpd on 10027 milter B
# (on_temperror = tag, bob's mail); both add X-Egress-DMARC.  The rig's
# records have a TTL of one second, so from two seconds after the stop
# no cached answer can be left.  Checked: nothing is accepted as pass
# once the cache is cold: A refuses with 451 4.4.3, only then, and logs
# dmarc=temperror for each refusal, then every retry passes; B accepts
# and tags (dmarc=temperror in its log and header); a pass while SPF
# is temperror only by aligned DKIM; counted at the sink, zero lost, zero duplicated, zero unsigned.
set -u
export RIG_NETNS_ADDRS=${RIG_NETNS_ADDRS:-192.0.2.250/32}
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

N=${FAULTS_N:-300}
PORT_B=10027
EGRESS=198.51.100.20
CACHE=2		# seconds after the stop when no cached answer is left

write_conf() {	# FILE SOCKET ON_TEMPERROR
	cat >"$1" <<CONF_END
milter: { socket = "unix:$2"; user = "nobody"; socket_group = "postfix"; };
alignment: { egress_ip = "$EGRESS"; helo = "relay.rig.test";
             on_temperror = "$3"; header = true; dns_timeout_ms = 1000; };
tenants = (
  { name = "acme"; logins = ["alice"];
    domains = ( { name = "acme.example";
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; },
                           { selector = "ed2026"; file = "$RIG_DIR/acme-ed.key"; } ); } ); },
  { name = "beta"; logins = ["bob"];
    domains = ( { name = "beta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); }
);
CONF_END
}

rig_check "keys" em_keys
for d in acme.example beta.example; do
	rig_dns_txt "_dmarc.$d" "v=DMARC1; p=reject"
	rig_dns_txt "$d" "v=spf1 ip4:$EGRESS -all"
	rig_dns_a "$d" 192.0.2.80
done
rig_dns_conf "local-ttl=1"
write_conf "$RIG_DIR/a.conf" "$RIG_DIR/milter.sock" tempfail
write_conf "$RIG_DIR/b.conf" "$RIG_DIR/milter-b.sock" tag
rig_check "config A is valid" "$EM_BIN" -n -c "$RIG_DIR/a.conf"
RIG_POSTFIX_MASTER_EXTRA="127.0.0.1:$PORT_B inet n - n - - smtpd
  -o smtpd_milters=unix:$RIG_DIR/milter-b.sock"
rig_check "milter B starts" rig_spawn milter-b "$EM_BIN" -f -c "$RIG_DIR/b.conf"
rig_check "milter B's socket is ready" rig_wait_socket "$RIG_DIR/milter-b.sock" \
    10 "$(rig_spawn_pid milter-b)"
em_start "$RIG_DIR/a.conf" || tap_done
LOG_A=$RIG_DIR/milter.log
LOG_B=$RIG_DIR/milter-b.log

faults_send --count "$N" --sessions 4 --rate 40 \
    --as "alice,alice@acme.example,$RIG_SMTPD_PORT" \
    --as "bob,bob@beta.example,$PORT_B"
rig_check "a third of the messages are through" faults_wait_done $((N / 3))
T_DOWN=$(faults_now)
rig_check "dnsmasq is stopped mid-run (resolv.conf still points at it)" \
    rig_dns_outage
sleep 4
T_UP=$(faults_now)
rig_check "dnsmasq starts again" rig_dns_start
T_BACK=$(faults_now)
T_COLD=$(awk -v t="$T_DOWN" -v c="$CACHE" 'BEGIN { printf "%.6f", t + c }')
faults_outage DNS "$T_DOWN" "$T_UP"

faults_finish "alice=acme.example/rsa2026,acme.example/ed2026" \
    "bob=beta.example/s1"

# milter A: on_temperror = tempfail
rig_check "A (tempfail): alice was refused while DNS was down" \
    audit refusals alice '^451 4\.4\.3 DMARC preflight: ' 1 -
rig_check "A: alice's only refusals are 451 4.4.3 DMARC preflight" \
    audit refusals-only alice '^451 4\.4\.3 DMARC preflight: '
rig_check "A: refused only during the outage (+ 5 s)" \
    audit refused-within alice "$T_DOWN" "$T_BACK" 5
rig_check "A: nothing accepted while DNS was down and nothing cached" \
    audit accepted-within alice "$T_COLD" "$T_UP" 0 0
rig_check "A: every accepted message was logged dmarc=pass" \
    audit summaries alice "$LOG_A" \
    ' action=accept .* dmarc=pass policy=reject spf=(pass|temperror) '
rig_check "A: every delivery carries X-Egress-DMARC: pass" \
    audit headers-within alice 0 9999999999 '^X-Egress-DMARC: pass '
a_tempfails() {	# one tempfail summary line per refusal alice saw
	local lines refusals
	lines=$(grep -cE ': done .* action=tempfail .* dmarc=temperror' "$LOG_A")
	refusals=$(audit refusals alice '^451 4\.4\.3' 0 - | awk '{ print $1 }')
	echo "$lines summary lines action=tempfail dmarc=temperror," \
	    "$refusals refusals seen by the client"
	[ "$lines" -eq "$refusals" ]
}
rig_check "A: one summary line action=tempfail dmarc=temperror per refusal" \
    a_tempfails
# SPF can be temperror while the DMARC record and our keys are answered
# (from the cache in the outage's first second; and SPF lags for a moment
# when the server is back): DMARC passes then only by aligned DKIM.
rig_check "A: a pass with SPF temperror rests on aligned DKIM" \
    audit summaries-when alice "$LOG_A" 'dmarc=pass .*spf=temperror' \
    'why="aligned DKIM"'

# milter B: on_temperror = tag
rig_check "B (tag): bob was never refused" audit refusals bob '.' 0 0
rig_check "B: messages were accepted while DNS was down" \
    audit accepted-within bob "$T_COLD" "$T_UP" 1 -
rig_check "B: each of them carries X-Egress-DMARC: temperror" \
    audit headers-within bob "$T_COLD" "$T_UP" '^X-Egress-DMARC: temperror'
rig_check "B: each of them was logged dmarc=temperror, never pass" \
    audit summaries bob "$LOG_B" ' action=accept .* dmarc=temperror ' \
    "$T_COLD" "$T_UP"
rig_check "B: every accepted message was logged pass or temperror" \
    audit summaries bob "$LOG_B" ' action=accept .* dmarc=(pass|temperror) '
rig_check "B: a pass with SPF temperror rests on aligned DKIM" \
    audit summaries-when bob "$LOG_B" 'dmarc=pass .*spf=temperror' \
    'why="aligned DKIM"'
rig_check "B: every delivery carries X-Egress-DMARC: pass or temperror" \
    audit headers-within bob 0 9999999999 '^X-Egress-DMARC: (pass|temperror) '
rig_check "milter B stops cleanly" rig_spawn_stop milter-b
em_sane
tap_done
