#!/bin/bash
# tenants.sh - tenant isolation through a real Postfix. A login, a tenant
# network or (from an internal network) the From domain picks the tenant;
# a tenant signs only its own domains, with only its own keys. Every case
# checks the SMTP reply the client got, what reached the sink, and the
# milter's summary line. Refusals to bob never name the other tenant or
# its selectors. With unowned_from = accept the message goes on unsigned
# (control header still removed); with tempfail the client gets 451.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# no_leak WROTE [ERE]: no server line of the newest transcript names the
# other tenant (default ERE: acme and its selectors), once every copy of
# WROTE (the domain the client itself wrote; "" for none) is removed.
no_leak() {
	! grep -E '^<(-|\*\*) ' "$(rig_last_log)" | awk -v d="$1" '
	{ while (d != "" && (i = index($0, d)) > 0)
		$0 = substr($0, 1, i - 1) substr($0, i + length(d))
	  print }' | grep -Ei -- "${2:-acme|rsa2026|ed2026}"
}

# send LOGIN ENVFROM FROM SUBJECT [SWAKS-ARGS...]: one message; LOGIN "-"
# for none, or ADDR=... for a client address instead of a login.
send() {
	local who=$1 env=$2 from=$3 subj=$4 x=()
	shift 4
	case "$who" in
	-) ;;
	ADDR=*) x=(--xclient "$who") ;;
	*) x=(--xclient "LOGIN=$who") ;;
	esac
	rig_send "${x[@]}" --from "$env" --h-From "$from" \
	    --header "Subject: $subj" "$@"
}

em_keys
em_conf "$RIG_DIR/em.conf"
RIG_POSTFIX_EXTRA="mynetworks = 127.0.0.0/8 198.51.100.0/24 192.0.2.0/24"
em_start "$RIG_DIR/em.conf" || tap_done
n=0		# messages at the sink

# A summary line ends with conn=N.
END=' conn=[0-9]+$'
# Accepted mail carries the DMARC preflight's fields; this rig publishes
# no DMARC record, so the verdict is none and DKIM is the aligned part.
DMARC_NONE=' dmarc=none policy=- spf=unchecked why="aligned DKIM"'
ACME_SIGNED="action=accept signed=acme\.example/rsa2026/rsa-sha256,acme\.example/ed2026/ed25519-sha256$DMARC_NONE$END"
BETA_SIGNED="action=accept signed=beta\.example/s1/rsa-sha256$DMARC_NONE$END"

# --- alice, an exact login of acme: both acme keys
rig_check "alice: accepted" send alice alice@acme.example \
    "Alice <alice@acme.example>" alice
rig_check "alice: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "alice: delivered ($n at the sink)" delivered $n
rig_check "alice: 2 signatures d=acme.example, both verify" \
    signed_for alice "acme.example acme.example" 2
rig_check "alice: summary tenant=acme by=login action=accept" summary_is \
    ": done client=127\.0\.0\.1 login=alice tenant=acme by=login env_from=acme\.example from=acme\.example .*$ACME_SIGNED"

# --- a login matching *@acme.example
rig_check "carol@acme.example: accepted" send carol@acme.example \
    carol@acme.example carol@acme.example carol
rig_check "carol@acme.example: 250 2.0.0 queued" \
    reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "carol@acme.example: delivered ($n at the sink)" delivered $n
rig_check "carol@acme.example: 2 signatures d=acme.example, both verify" \
    signed_for carol "acme.example acme.example" 2
rig_check "carol@acme.example: summary tenant=acme by=login" summary_is \
    " login=carol@acme\.example tenant=acme by=login .*$ACME_SIGNED"

# --- bob, his own domain: beta's one key
rig_check "bob: accepted" send bob bob@beta.example "Bob <bob@beta.example>" bob
rig_check "bob: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "bob: delivered ($n at the sink)" delivered $n
rig_check "bob: 1 signature d=beta.example, verifies" \
    signed_for bob "beta.example" 1
rig_check "bob: summary tenant=beta by=login action=accept" summary_is \
    " login=bob tenant=beta by=login env_from=beta\.example from=beta\.example .*$BETA_SIGNED"

# --- bob with acme's From: refused at end of data, never signed
rig_check_fails "bob From acme.example: refused" send bob bob@beta.example \
    "Bob <bob@acme.example>" bob-acme
rig_check "bob From acme.example: 550 5.7.1 not authorized for login bob" \
    reply_is "550 5.7.1 From domain acme.example is not authorized for login bob"
rig_check "bob From acme.example: refused at end of data" refused_after "."
rig_check "bob From acme.example: nothing delivered ($n at the sink)" \
    delivered $n
rig_check "bob From acme.example: summary action=reject signed=none" summary_is \
    " login=bob tenant=beta by=login env_from=beta\.example from=acme\.example .*action=reject signed=none reason=\"From domain acme\.example is not authorized for login bob\"$END"
rig_check "bob From acme.example: no reply names acme beyond his From" \
    no_leak acme.example

# --- bob with a subdomain of acme: the reply names what he wrote, no more
rig_check_fails "bob From news.acme.example: refused" send bob \
    bob@beta.example news@news.acme.example bob-news
rig_check "bob From news.acme.example: 550 5.7.1 not authorized for login bob" \
    reply_is "550 5.7.1 From domain news.acme.example is not authorized for login bob"
rig_check "bob From news.acme.example: nothing delivered ($n at the sink)" \
    delivered $n
rig_check "bob From news.acme.example: summary action=reject" summary_is \
    " login=bob tenant=beta by=login .* from=news\.acme\.example .*action=reject signed=none reason=\"From domain news\.acme\.example is not authorized for login bob\"$END"
rig_check "bob From news.acme.example: no reply names acme's entry or keys" \
    no_leak news.acme.example

# --- bob with acme's envelope sender: refused at MAIL FROM
rig_check_fails "bob MAIL FROM acme.example: refused" send bob \
    x@acme.example bob@beta.example bob-env
rig_check "bob MAIL FROM acme.example: 550 5.7.1 names the sender domain" \
    reply_is "550 5.7.1 envelope sender domain acme.example is not authorized for login bob"
rig_check "bob MAIL FROM acme.example: refused at MAIL FROM" \
    refused_after "MAIL FROM"
rig_check "bob MAIL FROM acme.example: nothing delivered ($n at the sink)" \
    delivered $n
rig_check "bob MAIL FROM acme.example: summary action=reject" summary_is \
    " login=bob tenant=beta by=login env_from=acme\.example from=- rcpts=0 .*action=reject signed=none reason=\"envelope sender domain acme\.example is not authorized for login bob\"$END"
rig_check "bob MAIL FROM acme.example: no reply names acme beyond his sender" \
    no_leak acme.example

# --- an unknown login: refused at MAIL FROM
rig_check_fails "mallory: refused" send mallory mallory@beta.example \
    mallory@beta.example mallory
rig_check "mallory: 550 5.7.1 login mallory may not send" \
    reply_is "550 5.7.1 login mallory may not send through this relay"
rig_check "mallory: refused at MAIL FROM" refused_after "MAIL FROM"
rig_check "mallory: nothing delivered ($n at the sink)" delivered $n
rig_check "mallory: summary tenant=- by=login action=reject" summary_is \
    " login=mallory tenant=- by=login .*action=reject signed=none reason=\"login mallory may not send through this relay\"$END"
rig_check "mallory: no reply names a tenant, domain or selector" \
    no_leak "" 'acme|beta|rsa2026|ed2026|\<s1\>'

# --- beta's network, no login
rig_check "beta network: accepted" send ADDR=192.0.2.5 info@beta.example \
    info@beta.example beta-net
rig_check "beta network: 250 2.0.0 queued" \
    reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "beta network: delivered ($n at the sink)" delivered $n
rig_check "beta network: 1 signature d=beta.example, verifies" \
    signed_for beta-net "beta.example" 1
rig_check "beta network: summary tenant=beta by=network" summary_is \
    ": done client=192\.0\.2\.5 login=- tenant=beta by=network .*$BETA_SIGNED"

rig_check_fails "beta network From acme.example: refused" send ADDR=192.0.2.5 \
    info@beta.example info@acme.example beta-net-acme
rig_check "beta network From acme.example: 550 5.7.1 not authorized for the client" \
    reply_is "550 5.7.1 From domain acme.example is not authorized for client 192.0.2.5"
rig_check "beta network From acme.example: nothing delivered ($n at the sink)" \
    delivered $n
rig_check "beta network From acme.example: summary action=reject" summary_is \
    ": done client=192\.0\.2\.5 login=- tenant=beta by=network .* from=acme\.example .*action=reject signed=none reason=\"From domain acme\.example is not authorized for client 192\.0\.2\.5\"$END"
rig_check "beta network From acme.example: no reply names acme beyond its From" \
    no_leak acme.example

# --- an internal network (127.0.0.1), no login: the From domain decides
rig_check "internal: accepted" send - app@acme.example app@acme.example internal
rig_check "internal: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "internal: delivered ($n at the sink)" delivered $n
rig_check "internal: 2 signatures d=acme.example, both verify" \
    signed_for internal "acme.example acme.example" 2
rig_check "internal: summary tenant=acme by=from" summary_is \
    ": done client=127\.0\.0\.1 login=- tenant=acme by=from .*$ACME_SIGNED"

rig_check_fails "internal From unknown.example: refused" send - \
    app@unknown.example app@unknown.example internal-unknown
rig_check "internal From unknown.example: 550 5.7.1 not a domain of this relay" \
    reply_is "550 5.7.1 From domain unknown.example is not a domain of this relay"
rig_check "internal From unknown.example: nothing delivered ($n at the sink)" \
    delivered $n
rig_check "internal From unknown.example: summary tenant=- action=reject" \
    summary_is ": done client=127\.0\.0\.1 login=- tenant=- by=- .* from=unknown\.example .*action=reject signed=none reason=\"From domain unknown\.example is not a domain of this relay\"$END"

# --- a bounce (null sender) from alice is signed
rig_check "null sender: accepted" send alice "<>" alice@acme.example null
rig_check "null sender: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "null sender: delivered ($n at the sink)" delivered $n
rig_check "null sender: 2 signatures d=acme.example, both verify" \
    signed_for null "acme.example acme.example" 2
rig_check "null sender: summary env_from=<> tenant=acme" summary_is \
    " login=alice tenant=acme by=login env_from=<> from=acme\.example .*$ACME_SIGNED"

# --- unowned_from = accept: bob's acme From goes on unsigned
em_sane
em_conf "$RIG_DIR/accept.conf" 'unowned_from = "accept";'
rig_check "milter restarts with unowned_from = accept" \
    rig_milter_start "$EM_BIN" -f -c "$RIG_DIR/accept.conf"
rig_check "accept: bob From acme.example is accepted" send bob \
    bob@beta.example bob@acme.example bob-accept \
    --header "X-Egress-Route: acme-dedicated"
rig_check "accept: 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
n=$((n + 1))
rig_check "accept: delivered ($n at the sink)" delivered $n
rig_check "accept: delivered without any signature" unsigned bob-accept
rig_check "accept: the client's X-Egress-Route header is removed" \
    no_route_header bob-accept
rig_check "accept: summary action=accept-unsigned signed=none" summary_is \
    " login=bob tenant=beta by=login env_from=beta\.example from=acme\.example .*action=accept-unsigned signed=none reason=\"From domain acme\.example is not authorized for login bob\"$END"

# --- unowned_from = tempfail: 451, the client keeps the message
em_sane
em_conf "$RIG_DIR/tempfail.conf" 'unowned_from = "tempfail";'
rig_check "milter restarts with unowned_from = tempfail" \
    rig_milter_start "$EM_BIN" -f -c "$RIG_DIR/tempfail.conf"
rig_check_fails "tempfail: bob From acme.example is refused" send bob \
    bob@beta.example bob@acme.example bob-tempfail
rig_check "tempfail: 451 4.7.1 not authorized for login bob" \
    reply_is "451 4.7.1 From domain acme.example is not authorized for login bob"
rig_check "tempfail: nothing delivered ($n at the sink)" delivered $n
rig_check "tempfail: summary action=tempfail" summary_is \
    " login=bob tenant=beta by=login .* from=acme\.example .*action=tempfail signed=none reason=\"From domain acme\.example is not authorized for login bob\"$END"
rig_check "tempfail: no reply names acme beyond his From" no_leak acme.example

em_sane
tap_done
