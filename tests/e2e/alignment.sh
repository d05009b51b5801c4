#!/bin/bash
# alignment.sh - the DMARC preflight against real DNS (dnsmasq on
# loopback) through a real Postfix. Each case checks the predicted verdict
# in the summary line and the SMTP reply; independent evaluators check
# the predictions: python3-spf for SPF, Mail::DMARC for the DMARC verdict
# and the policy that applies (it looks up the records itself).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

EGRESS=198.51.100.20
KEY=$RIG_DIR/ed.key
OTHER=$RIG_DIR/other.key

# tenant LOGIN DOMAIN [EXTRA] - one tenant owning one domain, key "sel"
tenant() {
	cat <<TENANT_END
  { name = "$1"; logins = ["$1"]; ${3:-}
    domains = ( { name = "$2"; subdomains = true;
                  keys = ( { selector = "sel"; file = "$KEY"; } ); } ); },
TENANT_END
}

write_conf() {
	{
		cat <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; };
alignment: { egress_ip = "$EGRESS"; helo = "relay.rig.test";
             dns_timeout_ms = 1500; };
tenants = (
CONF_END
		tenant alice acme.example
		tenant bob beta.example
		tenant carol gamma.example
		tenant dave delta.example
		tenant erin epsilon.example
		tenant fred eta.example
		tenant gina zeta.example
		tenant hank example.co.uk
		tenant ivy theta.example 'on_dmarc_fail = "tag";'
		tenant jack iota.example 'on_dmarc_fail = "hold";'
		tenant kim kappa.example
		tenant lee lambda.example
		tenant max mu.example
		tenant nina nu.example
		echo ");"
	} | sed '$!b; s/},$/}/' >"$RIG_DIR/em.conf"
	# the last tenant entry must not end with a comma
	sed -i -e ':a;N;$!ba;s/},\n);/}\n);/' "$RIG_DIR/em.conf"
}

rig_key ed25519 "$KEY"
rig_key ed25519 "$OTHER"
publish_key() { rig_dkim_record sel "$1" "$KEY"; }
# acme: p=reject, strict DKIM and SPF; the key is published.
publish_key acme.example
rig_dns_txt _dmarc.acme.example "v=DMARC1; p=reject; adkim=s; aspf=s"
rig_dns_txt acme.example "v=spf1 ip4:$EGRESS -all"
# beta: p=reject, SPF without the egress address, key NOT published.
rig_dns_txt _dmarc.beta.example "v=DMARC1; p=reject"
rig_dns_txt beta.example "v=spf1 ip4:192.0.2.99 -all"
# gamma: SPF through include; delta: through redirect (keys unpublished).
rig_dns_txt _dmarc.gamma.example "v=DMARC1; p=reject"
rig_dns_txt gamma.example "v=spf1 include:_spf.gamma.example -all"
rig_dns_txt _spf.gamma.example "v=spf1 ip4:198.51.100.0/24 -all"
rig_dns_txt _dmarc.delta.example "v=DMARC1; p=reject"
rig_dns_txt delta.example "v=spf1 redirect=_spf.gamma.example"
# epsilon: ~all under p=quarantine; eta: -all under p=reject.
rig_dns_txt _dmarc.epsilon.example "v=DMARC1; p=quarantine"
rig_dns_txt epsilon.example "v=spf1 ip4:192.0.2.1 ~all"
rig_dns_txt _dmarc.eta.example "v=DMARC1; p=reject"
rig_dns_txt eta.example "v=spf1 ip4:192.0.2.1 -all"
# zeta: no DMARC record at all.
publish_key zeta.example
# example.co.uk: relaxed, record at the organizational domain only.
publish_key example.co.uk
rig_dns_txt _dmarc.example.co.uk "v=DMARC1; p=reject"
# theta (tag) and iota (hold): fail under p=reject.
rig_dns_txt _dmarc.theta.example "v=DMARC1; p=reject"
rig_dns_txt theta.example "v=spf1 -all"
rig_dns_txt _dmarc.iota.example "v=DMARC1; p=reject"
rig_dns_txt iota.example "v=spf1 -all"
# kappa: the selector publishes another key. lambda: p=none.
rig_dkim_record sel kappa.example "$OTHER"
rig_dns_txt _dmarc.kappa.example "v=DMARC1; p=reject"
rig_dns_txt _dmarc.lambda.example "v=DMARC1; p=none"
rig_dns_txt lambda.example "v=spf1 -all"
# mu: looked up only while the DNS server is down, then after it is back.
rig_dns_txt _dmarc.mu.example "v=DMARC1; p=reject"
rig_dns_txt mu.example "v=spf1 -all"
# nu: an SPF record whose exp= names itself; compiled as explanation text
# it overruns a stack buffer in libspf2 1.2.10 as Debian 12 ships it (a
# fuzzer's input, tests/fuzz/corpus/spf/exp-overflow: its second line)
rig_dns_txt _dmarc.nu.example "v=DMARC1; p=reject"
rig_dns_txt nu.example "$(sed -n 2p "$RIG_LIB_DIR/../fuzz/corpus/spf/exp-overflow")"

# Receivers (and Mail::DMARC) may require the From domain to exist.
for d in acme.example news.acme.example beta.example gamma.example \
    delta.example epsilon.example eta.example zeta.example example.co.uk \
    shop.example.co.uk theta.example iota.example kappa.example \
    lambda.example mu.example nu.example; do
	rig_dns_a "$d" 192.0.2.80
done

write_conf
rig_check "the config is valid" "$EM_BIN" -n -c "$RIG_DIR/em.conf"
RIG_POSTFIX_EXTRA="mynetworks = 127.0.0.0/8"
em_start "$RIG_DIR/em.conf" || tap_done

send() {	# LOGIN FROM-DOMAIN SUBJECT [ENVELOPE-DOMAIN]
	rig_send --xclient "LOGIN=$1" --from "$1@${4:-$2}" \
	    --h-From "$1@$2" --header "Subject: $3"
}
reply_has() { rig_last_reply | grep -qE -- "$1" || { rig_last_reply; false; }; }
summary_has() { summary_is "$1"; }
# spf_agrees DOMAIN RESULT - python3-spf computes the same SPF result
spf_agrees() {
	local got
	got=$(/usr/bin/python3 -c "import spf, sys
print(spf.check2(i='$EGRESS', s='x@$1', h='relay.rig.test')[0])")
	[ "$got" = "$2" ] || { echo "python3-spf says $got, we say $2"; false; }
}

# agrees FROM MFROM D DKIM - Mail::DMARC (its own record lookup, alignment
# and suffix list), given python3-spf's result for MFROM and the DKIM
# outcome of d=D (pass: our key is published), reaches the verdict and
# policy of our newest summary line.
agrees() {
	local spf theirs ours
	spf=$(/usr/bin/python3 -c "import spf
print(spf.check2(i='$EGRESS', s='x@$2', h='relay.rig.test')[0])")
	theirs=$(perl "$RIG_TOOLS/dmarc-eval-pl" "$1" "$2" "$spf" "$3:$4")
	ours=$(grep ': done ' "$RIG_DIR/milter.log" | tail -n 1 |
	    sed -n 's/.* dmarc=\([a-z]*\) policy=\([a-z-]*\) .*/result=\1 policy=\2/p')
	[ "$ours" = "$theirs" ] && return 0
	echo "we say: $ours; Mail::DMARC says: $theirs (spf=$spf dkim=$3:$4)"
	return 1
}

# 1. p=reject, adkim=s, a subdomain From signed with the parent's key
rig_check_fails "strict adkim, subdomain From: refused" \
    send alice news.acme.example strict acme.example
rig_check "550 5.7.26 names the strict alignment" \
    reply_has '^550 5\.7\.26 DMARC would fail at the receiver \(p=reject\): .*\(adkim=s\)'
rig_check "logged dmarc=fail policy=reject" \
    summary_has 'from=news\.acme\.example .*action=reject .*dmarc=fail policy=reject spf=pass'
rig_check "Mail::DMARC agrees" agrees news.acme.example acme.example acme.example pass
rig_check "the same From at the parent domain passes" send alice acme.example parent
rig_check "logged dmarc=pass" summary_has 'from=acme\.example .*action=accept .*dmarc=pass policy=reject spf=pass'
rig_check "Mail::DMARC agrees" agrees acme.example acme.example acme.example pass
rig_check "python3-spf agrees: acme.example passes for $EGRESS" spf_agrees acme.example pass

# 2. SPF without the egress address, and no published key
rig_check_fails "SPF lacking the egress address: refused" send bob beta.example spf-missing
rig_check "the reply names SPF and the unpublished key" \
    reply_has "SPF of beta\.example does not authorize $EGRESS \(fail\).*sel\._domainkey\.beta\.example is not published"
rig_check "python3-spf agrees: fail" spf_agrees beta.example fail
rig_check "Mail::DMARC agrees" agrees beta.example beta.example beta.example fail

# 3. include and redirect
rig_check "SPF through include: accepted" send carol gamma.example include
rig_check "logged dmarc=pass by aligned SPF" \
    summary_has 'from=gamma\.example .*dmarc=pass policy=reject spf=pass why="aligned SPF"'
rig_check "python3-spf agrees: include passes" spf_agrees gamma.example pass
rig_check "Mail::DMARC agrees" agrees gamma.example gamma.example gamma.example fail
rig_check "SPF through redirect: accepted" send dave delta.example redirect
rig_check "python3-spf agrees: redirect passes" spf_agrees delta.example pass
rig_check "Mail::DMARC agrees" agrees delta.example delta.example delta.example fail

# 4. ~all vs -all
rig_check_fails "~all under p=quarantine: refused" send erin epsilon.example softfail
rig_check "the reply says softfail" reply_has '^550 5\.7\.26 .*\(p=quarantine\).*\(softfail\)'
rig_check "python3-spf agrees: softfail" spf_agrees epsilon.example softfail
rig_check "Mail::DMARC agrees" agrees epsilon.example epsilon.example epsilon.example fail
rig_check_fails "-all under p=reject: refused" send fred eta.example hardfail
rig_check "the reply says fail" reply_has "^550 5\.7\.26 .*does not authorize $EGRESS \(fail\)"
rig_check "python3-spf agrees: fail" spf_agrees eta.example fail
rig_check "Mail::DMARC agrees" agrees eta.example eta.example eta.example fail

# 5. no DMARC record
rig_check "no DMARC record: accepted" send gina zeta.example none
rig_check "logged dmarc=none" summary_has 'from=zeta\.example .*action=accept .*dmarc=none policy=- spf=none'
rig_check "Mail::DMARC agrees" agrees zeta.example zeta.example zeta.example pass

# 6. public suffix edge: shop.example.co.uk's org domain is example.co.uk
rig_check "relaxed alignment through the suffix list: accepted" \
    send hank shop.example.co.uk psl
rig_check "logged dmarc=pass with the record of example.co.uk" \
    summary_has 'from=shop\.example\.co\.uk .*dmarc=pass policy=reject'
rig_check "Mail::DMARC agrees" agrees shop.example.co.uk shop.example.co.uk example.co.uk pass

# 7. tag and hold (per-tenant on_dmarc_fail)
rig_check "tag: accepted" send ivy theta.example tagged
rig_check "tag: delivered" rig_sink_wait 5
tagged_header() {
	em_message tagged "$RIG_DIR/tagged.eml" &&
	    em_header_has "$RIG_DIR/tagged.eml" '^X-Egress-DMARC: fail \('
}
rig_check "tag: X-Egress-DMARC: fail (...) header" tagged_header
rig_check "hold: accepted" send jack iota.example held
on_hold() { rig_postfix_queue | grep -qE '^[0-9A-F]+!'; }
rig_check "hold: the message waits in the hold queue" on_hold
rig_check "hold: logged action=hold" summary_has 'from=iota\.example .*action=hold .*dmarc=fail'

# 8. a stale key in DNS; p=none only logs
rig_check_fails "published key differs from ours: refused" send kim kappa.example stale
rig_check "the reply says so" reply_has 'sel\._domainkey\.kappa\.example is published with a different public key'
rig_check "Mail::DMARC agrees" agrees kappa.example kappa.example kappa.example fail
rig_check "p=none: a fail is only logged" send lee lambda.example pnone
rig_check "logged dmarc=fail policy=none, accepted" \
    summary_has 'from=lambda\.example .*action=accept .*dmarc=fail policy=none'
rig_check "Mail::DMARC agrees" agrees lambda.example lambda.example lambda.example fail

# 9. a hostile SPF record: a verdict, and the daemon lives on (the
# explanation it names is never looked up)
rig_check_fails "exp= text that overran libspf2: refused by the preflight" \
    send nina nu.example exp-overflow
rig_check "  with its verdict, not a milter failure" \
    reply_has '^550 5\.7\.26 DMARC would fail at the receiver \(p=reject\): SPF of nu\.example'
rig_check "logged with an SPF result" \
    summary_has 'from=nu\.example .*dmarc=[a-z]+ policy=reject spf=[a-z]+'
rig_check "the milter still runs: the next message passes" \
    send alice acme.example after-exp

# 10. the DNS server goes away: temperror, never pass; nothing lost
rig_dns_outage
rig_check_fails "DNS down, uncached domain: refused for now" send max mu.example dnsdown
rig_check "451 4.4.3 temporary" reply_has '^451 4\.4\.3 DMARC preflight: '
rig_check "logged dmarc=temperror" summary_has 'action=tempfail .*dmarc=temperror'
rig_dns_start >/dev/null
sleep 2	# libspf2 keeps an error until the end of the second it happened in
rig_check "DNS back: the retry gets its real verdict" \
    eval '! send max mu.example dnsdown && reply_has "^550 5\.7\.26"'
em_sane
tap_done
