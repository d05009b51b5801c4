#!/bin/bash
# ctl.sh - egress-ctl keygen and dns-check against a real DNS server (the
# rig's dnsmasq). keygen makes keys with safe permissions and prints the
# record; published, dns-check finds it. Then a config where one domain is
# right and others are not (key unpublished, key stale, SPF not covering
# the egress address, no DMARC): dns-check exits 1 with one FAIL line per
# problem and "ok" for the rest.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

K=$RIG_DIR/keys
mkdir -p "$K"

# record_of OUT: the TXT value from keygen's zone-file line
record_of() {
	grep -o '"[^"]*"' "$1" | tr -d '"\n'
}

keygen_ok() {	# ALG FILE SELECTOR DOMAIN OUT [USER]
	"$EM_CTL" keygen -a "$1" ${6:+-u "$6"} -d "$4" -s "$3" "$2" >"$5" ||
	    return 1
	cat "$5"
	grep -q "^$3._domainkey.$4. IN TXT ( \"v=DKIM1; k=$1; p=" "$5"
}

mode_owner() {	# FILE MODE OWNER
	local got
	got=$(stat -c '%a %U' "$1")
	echo "$1: $got"
	[ "$got" = "$2 $3" ]
}

write_conf() {	# FILE TENANTS...
	local f=$1
	shift
	{
		echo 'milter: { user = "nobody"; };'
		echo 'alignment: { egress_ip = "192.0.2.10"; helo = "relay.rig.test"; };'
		echo 'tenants = ('
		local first=1 t
		for t in "$@"; do
			[ "$first" = 1 ] || echo ','
			first=0
			echo "  { name = \"$t\"; logins = [\"$t\"]; domains = ( {"
			echo "      name = \"$t.example\";"
			echo "      keys = ( { selector = \"s1\"; file = \"$K/$t.key\"; } ); } ); }"
		done
		echo ');'
	} >"$f"
}

dns_check() {	# CONF WANT-EXIT
	local st
	"$EM_CTL" -c "$1" dns-check >"$RIG_DIR/check.out" 2>&1
	st=$?
	cat "$RIG_DIR/check.out"
	[ "$st" -eq "$2" ]
}

said() {	# ERE: a line of the last dns-check output
	grep -Eq -- "$1" "$RIG_DIR/check.out" && return 0
	echo "no line matches: $1"
	cat "$RIG_DIR/check.out"
	return 1
}

rig_check "keygen RSA (2048) prints the record" \
    keygen_ok rsa "$K/good.key" s1 good.example "$RIG_DIR/good.rec"
rig_check "the RSA key is mode 600, root's" mode_owner "$K/good.key" 600 root
rig_check "keygen Ed25519 for the daemon's user" \
    keygen_ok ed25519 "$K/ed.key" s2 good.example "$RIG_DIR/ed.rec" nobody
rig_check "the Ed25519 key is mode 600, nobody's" mode_owner "$K/ed.key" 600 nobody
rig_check_fails "keygen never overwrites a key" \
    "$EM_CTL" keygen -d good.example -s s1 "$K/good.key"
rig_check "a 2048-bit RSA record is longer than 255: split in strings" \
    test "$(grep -o '"' "$RIG_DIR/good.rec" | wc -l)" -ge 4
for t in bad stale; do
	"$EM_CTL" keygen -d "$t.example" -s s1 "$K/$t.key" >"$RIG_DIR/$t.rec" ||
	    not_ok "keygen $t"
done

rig_dns_txt s1._domainkey.good.example "$(record_of "$RIG_DIR/good.rec")"
rig_dns_txt good.example "v=spf1 ip4:192.0.2.10 -all"
rig_dns_txt _dmarc.good.example "v=DMARC1; p=reject"
# stale: the record published is good's key, not stale's
rig_dns_txt s1._domainkey.stale.example "$(record_of "$RIG_DIR/good.rec")"
rig_dns_txt stale.example "v=spf1 ip4:192.0.2.0/24 -all"
rig_dns_txt _dmarc.stale.example "v=DMARC1; p=none"
# bad: no key, SPF for another address, no DMARC
rig_dns_txt bad.example "v=spf1 ip4:198.51.100.1 -all"
rig_check "dnsmasq serves the records" rig_dns_start || tap_done

write_conf "$RIG_DIR/good.conf" good
rig_check "dns-check: all published and right -> exit 0" \
    dns_check "$RIG_DIR/good.conf" 0
rig_check "  the key is published and matches" \
    said '^ok +good\.example: DKIM key s1\._domainkey\.good\.example is published and matches$'
rig_check "  SPF passes for the egress address" \
    said '^ok +good\.example: SPF for 192\.0\.2\.10: pass$'
rig_check "  DMARC found" said '^ok +good\.example: DMARC record found$'

# explain: one made-up message through the policy, nothing sent
cp "$RIG_DIR/good.conf" "$RIG_DIR/explain.conf"
echo 'limits = ( { name = "hourly"; per = "tenant"; messages = "100/1h"; } );' \
    >>"$RIG_DIR/explain.conf"
explain() {	# WANT-EXIT ARGS...
	local want=$1 st
	shift
	"$EM_CTL" -c "$RIG_DIR/explain.conf" explain "$@" \
	    >"$RIG_DIR/check.out" 2>&1
	st=$?
	cat "$RIG_DIR/check.out"
	[ "$st" -eq "$want" ]
}
rig_check "explain: good's message would be accepted" explain 0 -l good \
    -f good@good.example -F "Good <good@good.example>" -r a@dest.example \
    -r b@dest.example
rig_check "  tenant and how it was found" said '^tenant: good \(by login\)$'
rig_check "  both recipients accepted" said '^RCPT TO b@dest\.example: accepted$'
rig_check "  the signature it would add" said '^signature: d=good\.example s=s1 a=rsa-sha256$'
rig_check "  the DMARC prediction, from DNS" said '^dmarc: pass \(policy reject, spf pass\)'
rig_check "  the limit bucket it would count in" \
    said '^counted in: \{egress\}:rl:\*:hourly:1h:good$'
rig_check "  outcome accept" said '^outcome: accept$'
rig_check "explain: an unknown login is refused, with the reply" explain 1 \
    -l mallory -f m@good.example -F m@good.example -r a@dest.example
rig_check "  the reply names the login" \
    said '^MAIL FROM: login mallory may not send through this relay$'
rig_check "explain: an external client without a login is not outbound" \
    explain 0 -i 198.51.100.7 -f someone@elsewhere.example \
    -F someone@elsewhere.example -r a@good.example
rig_check "  passed, but for control headers (milter.strip_inbound)" \
    said '^MAIL FROM: not outbound: passed untouched but for client copies of control headers$'
rig_check "  outcome pass" said '^outcome: pass: not outbound$'

write_conf "$RIG_DIR/all.conf" good bad stale
rig_check "dns-check: problems -> exit 1" dns_check "$RIG_DIR/all.conf" 1
rig_check "  unpublished key named" \
    said '^FAIL bad\.example: DKIM key s1\._domainkey\.bad\.example is not published$'
rig_check "  stale key named" \
    said '^FAIL stale\.example: DKIM key s1\._domainkey\.stale\.example does not match the private key$'
rig_check "  SPF not covering the egress address named" \
    said '^FAIL bad\.example: SPF for 192\.0\.2\.10: fail$'
rig_check "  missing DMARC named" said '^FAIL bad\.example: DMARC record missing$'
rig_check "  the good domain still ok" \
    said '^ok +good\.example: DKIM key .* is published and matches$'
rig_check "  4 problems counted" said '^4 problem\(s\)$'
tap_done
