#!/bin/bash
# isolation.sh - tenant A (acme, login alice) against tenant B (beta, login
# bob) through a real Postfix, with per-tenant, per-login, per-sender-domain
# and per-From-domain limits, and a dedicated egress for each tenant:
#   - budget: alice sending with beta's domains (MAIL FROM, From, both, a
#     subdomain) many times spends none of beta's budget: afterwards bob
#     sends exactly his N messages and the N+1th gets 451 4.7.1 at RCPT.
#     Run with the memory and the Redis backend, and with unowned_sender =
#     unowned_from = "reject" (the default: alice is refused) and "accept"
#     (alice's mail goes on unsigned, and a limit keyed on the sender
#     domain is checked at RCPT for it). With Redis no bucket of beta's
#     (scope beta, or the bare value beta.example) exists after alice.
#   - reply texts: every server reply alice's sessions got (beta's From,
#     MAIL FROM, subdomain, a route header, her own limit, an unknown
#     login, a bad message) names none of beta's identifiers, taken from
#     beta's config block below (tenant, login, domains, selector, key
#     file, pool, transport, egress IP, HELO, limit names); only what the
#     client wrote itself may come back. Her over-limit reply names her
#     own limit.
#   - route header: alice (valid login, own domain) sending
#     "X-Egress-Route: beta_1" leaves from her own egress, and the header
#     does not reach the recipient.
# A control check shows the leak check finds beta in bob's own reply.
# Runs in a private network namespace (RIG_NETNS_ADDRS, default
# 192.0.2.250/32), so its fixed ports never meet another rig's; the
# egress IPs are on its own 127/8.
set -u
export RIG_NETNS_ADDRS=${RIG_NETNS_ADDRS:-192.0.2.250/32}
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONF=$RIG_DIR/em.conf
SINK="[127.0.0.1]:10026"
REDIS_PORT=16393
N=4		# beta's budget: every limit bob's mail meets allows N
A_BUDGET=2	# acme's own tenant limit when alice is refused
REPS=2		# alice's attempts per kind

# beta's part of the configuration: the identifiers alice must never see
# are taken from here (beta_ids), so a new setting extends the check.
BETA_POOL='{ name = "beta-pool";
    egress = ( { transport = "beta_1"; ip = "127.0.0.6"; helo = "bmx.rig.test";
                 nexthop = "'"$SINK"'"; } ); }'
BETA_TENANT='{ name = "beta"; logins = ["bob"]; pool = "beta-pool";
    limits = ( { name = "beta-hourly"; per = "tenant"; messages = "'"$N"'/1h"; },
               { name = "beta-login"; per = "login"; messages = "'"$N"'/1h"; },
               { name = "beta-sender"; per = "sender_domain"; messages = "'"$N"'/1h"; },
               { name = "beta-from"; per = "from_domain"; messages = "'"$N"'/1h"; } );
    domains = ( { name = "beta.example"; subdomains = true;
                  keys = ( { selector = "bsel2026"; file = "'"$RIG_DIR"'/beta-rsa.key"; } ); } ); }'

# write_conf BACKEND MODE ABUDGET: the whole configuration; MODE is what
# unowned_sender and unowned_from do.
write_conf() {
	cat >"$CONF" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; unowned_sender = "$2"; unowned_from = "$2"; };
alignment: { enabled = false; };
ratelimit: { backend = "$1";
             redis: { server = "127.0.0.1:$REDIS_PORT"; timeout_ms = 500;
                      prefix = "iso-$1-$2"; on_failure = "tempfail"; }; };
pools = (
  { name = "acme-pool";
    egress = ( { transport = "acme_1"; ip = "127.0.0.4"; helo = "amx.rig.test";
                 nexthop = "$SINK"; } ); },
  $BETA_POOL
);
# every tenant: one budget per sender domain and per From domain
limits = (
  { name = "per-sender"; per = "sender_domain"; messages = "$N/1h"; },
  { name = "per-from"; per = "from_domain"; messages = "$N/1h"; }
);
tenants = (
  { name = "acme"; logins = ["alice"]; pool = "acme-pool";
    limits = ( { name = "acme-hourly"; per = "tenant"; messages = "$3/1h"; } );
    domains = ( { name = "acme.example"; subdomains = true;
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; },
                           { selector = "ed2026"; file = "$RIG_DIR/acme-ed.key"; } ); } ); },
  $BETA_TENANT
);
CONF_END
}

# beta_ids: one identifier of beta a line, from BETA_POOL and BETA_TENANT
# (every name, login, selector, key file, transport, IP and HELO).
beta_ids() {
	{
		grep -oE '\<(name|selector|file|transport|ip|helo) = "[^"]+"' \
		    <<<"$BETA_POOL $BETA_TENANT" | sed -E 's/^[a-z]+ = "(.*)"$/\1/'
		grep -oE 'logins = \[[^]]*\]' <<<"$BETA_TENANT" |
		    grep -oE '"[^"]+"' | tr -d '"'
	} | sort -u
}

# ids_cover: the derivation found each kind of identifier.
ids_cover() {
	local ids id
	ids=$(beta_ids)
	echo "$ids"
	for id in beta bob beta.example bsel2026 "$RIG_DIR/beta-rsa.key" \
	    beta-pool beta_1 127.0.0.6 bmx.rig.test beta-hourly beta-login \
	    beta-sender beta-from; do
		grep -qxF -- "$id" <<<"$ids" || { echo "missing: $id"; return 1; }
	done
}

# leaks LOG [WROTE]: the server lines of a transcript, with every copy of
# WROTE (a domain the client itself wrote) removed, name none of beta's
# identifiers; prints the offending lines.
leaks() {
	grep -E '^<(-|\*\*) ' "$1" | awk -v d="${2:-}" '
	{ while (d != "" && (i = index(tolower($0), tolower(d))) > 0)
		$0 = substr($0, 1, i - 1) "<WROTE>" substr($0, i + length(d))
	  print }' | grep -iF -f "$RIG_DIR/beta.ids"
}

# no_leaks IDX: no transcript listed in IDX ("LOG<TAB>WROTE" lines) leaks.
no_leaks() {
	local log wrote k=0 bad=0
	while IFS=$'\t' read -r log wrote; do
		k=$((k + 1))
		if leaks "$log" "$wrote"; then
			echo "^ in $log (client wrote \"$wrote\")"
			bad=$((bad + 1))
		fi
	done <"$1"
	echo "$k transcripts checked against $(wc -l <"$RIG_DIR/beta.ids") identifiers, $bad leak"
	[ "$k" -gt 0 ] && [ "$bad" -eq 0 ]
}

# send WHO ENVFROM FROM SUBJECT [SWAKS-ARGS...]: one message with login WHO.
send() {
	local who=$1 env=$2 from=$3 subj=$4
	shift 4
	rig_send --xclient "LOGIN=$who" --from "$env" --h-From "$from" \
	    --header "Subject: $subj" "$@"
}

# a_send WROTE ENVFROM FROM SUBJECT [SWAKS-ARGS...]: alice sends; her
# transcript goes on the list of replies to check.
a_send() {
	local wrote=$1 st
	shift
	send alice "$@"
	st=$?
	printf '%s\t%s\n' "$(rig_last_log)" "$wrote" >>"$RIG_DIR/a.idx"
	return "$st"
}

# m_send SUBJECT: an unknown login on alice's list of replies.
m_send() {
	local st
	send mallory mallory@acme.example mallory@acme.example "$1"
	st=$?
	printf '%s\t\n' "$(rig_last_log)" >>"$RIG_DIR/a.idx"
	return "$st"
}

# refused REPLY CMD: the last transaction was refused with REPLY... in
# answer to CMD.
refused() { reply_starts "$1" && refused_after "$2"; }

# subjects ERE N: exactly N delivered messages have a matching Subject.
subjects() {
	local k
	k=$(rig_sink_grep "^Subject: ($1)\$" | wc -l)
	echo "$k delivered messages match Subject: $1 (expected $2)"
	[ "$k" -eq "$2" ]
}

# none_signed_for ERE DOMAIN: no delivered message with a matching Subject
# carries a signature of DOMAIN (or a subdomain).
none_signed_for() {
	local f bad=0 d
	for f in $(rig_sink_grep "^Subject: ($1)\$"); do
		rig_sink_message "$f" >"$RIG_DIR/check.eml"
		d=$(sig_domains "$RIG_DIR/check.eml")
		echo "$(basename "$f"): signatures d=${d:-none}"
		case " $d " in *"$2 "*) bad=$((bad + 1)) ;; esac
	done
	[ "$bad" -eq 0 ]
}

# sig_is SUBJECT "D1 D2...": the delivered message's signatures have
# exactly these d=.
sig_is() {
	local f=$RIG_DIR/$1.eml got
	em_message "$1" "$f" || return 1
	got=$(sig_domains "$f")
	echo "d= of the signatures: \"$got\", expected \"$2\""
	[ "$got" = "$2" ]
}

# ip_of SUBJECT: the source address the sink saw for that message.
ip_of() {
	awk -F'\t' -v s="$1" '$1 == s { print $2 }' "$RIG_DIR/index"
}

# left_from SUBJECT IP: delivered from IP (per the index of deliveries).
left_from() {
	local ip
	ip=$(ip_of "$1")
	echo "$1: delivered from \"$ip\", expected $2"
	[ "$ip" = "$2" ]
}

# not_from_beta SUBJECT: delivered, and not from beta's egress.
not_from_beta() {
	local ip
	ip=$(ip_of "$1")
	echo "$1: delivered from \"$ip\""
	[ -n "$ip" ] && [ "$ip" != 127.0.0.6 ]
}

redis_start() {
	rig_spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
	    --save '' --appendonly no --dir "$RIG_DIR" &&
	_rig_wait_for 10 redis-cli -p "$REDIS_PORT" ping
}

# redis_clean PREFIX: buckets of this run exist, none of them beta's
# (scope beta, or the bare value beta.example / a subdomain of it).
redis_clean() {
	local keys
	keys=$(redis-cli -p "$REDIS_PORT" --scan --pattern "{$1}:*")
	echo "$keys"
	[ -n "$keys" ] || { echo "no bucket at all under {$1}"; return 1; }
	! grep -E ':rl:beta:|:([a-z0-9-]+\.)*beta\.example$' <<<"$keys"
}

# phase BACKEND MODE: alice tries beta's domains, then bob spends his
# whole budget.
phase() {
	local be=$1 mode=$2 p="$1-$2" i b ab=$A_BUDGET t0=$SECONDS
	[ "$mode" = accept ] && ab=100
	write_conf "$be" "$mode" "$ab"
	rig_milter_stop >/dev/null 2>&1
	rig_check "$p: milter starts ($be backend, unowned_* = $mode)" \
	    rig_milter_start "$EM_BIN" -f -c "$CONF" || return 1

	for i in $(seq 1 "$REPS"); do
		if [ "$mode" = reject ]; then
			rig_check_fails "$p: alice MAIL FROM beta.example ($i): refused" \
			    a_send beta.example bob@beta.example alice@acme.example "$p-aenv$i"
			rig_check "$p: ... 550 5.7.1 at MAIL FROM" \
			    refused "550 5.7.1 envelope sender domain beta.example is not authorized for login alice" "MAIL FROM"
			rig_check_fails "$p: alice From beta.example ($i): refused" \
			    a_send beta.example alice@mail.acme.example bob@beta.example "$p-afrom$i"
			rig_check "$p: ... 550 5.7.1 at end of data" \
			    refused "550 5.7.1 From domain beta.example is not authorized for login alice" "."
			rig_check_fails "$p: alice MAIL FROM and From beta.example ($i): refused" \
			    a_send beta.example bob@beta.example bob@beta.example "$p-aboth$i"
			rig_check "$p: ... 550 5.7.1 at MAIL FROM" \
			    refused "550 5.7.1 envelope sender" "MAIL FROM"
			rig_check_fails "$p: alice From news.beta.example ($i): refused" \
			    a_send news.beta.example alice@mail.acme.example news@news.beta.example "$p-asub$i"
			rig_check "$p: ... 550 5.7.1 at end of data" \
			    refused "550 5.7.1 From domain news.beta.example is not authorized" "."
		else
			rig_check "$p: alice MAIL FROM beta.example ($i): accepted unsigned" \
			    a_send beta.example bob@beta.example alice@acme.example "$p-aenv$i"
			rig_check "$p: alice From beta.example ($i): accepted unsigned" \
			    a_send beta.example alice@mail.acme.example bob@beta.example "$p-afrom$i"
			rig_check "$p: alice MAIL FROM and From beta.example ($i): accepted unsigned" \
			    a_send beta.example bob@beta.example bob@beta.example "$p-aboth$i" \
			    --header "X-Egress-Route: beta_1"
			rig_check "$p: alice From news.beta.example ($i): accepted unsigned" \
			    a_send news.beta.example alice@mail.acme.example news@news.beta.example "$p-asub$i"
		fi
	done
	rig_check "$p: alice, own domain, X-Egress-Route: beta_1: accepted" \
	    a_send "" alice@acme.example alice@acme.example "$p-aroute" \
	    --header "X-Egress-Route: beta_1"
	rig_check "$p: ... 250 2.0.0 queued" reply_starts "250 2.0.0 Ok: queued as "
	n=$((n + 1))
	[ "$mode" = accept ] && n=$((n + 4 * REPS))
	if [ "$mode" = reject ]; then
		rig_check_fails "$p: unknown login mallory: refused" \
		    m_send "$p-mallory"
		rig_check "$p: ... 550 5.7.1 at MAIL FROM" \
		    refused "550 5.7.1 login mallory may not send" "MAIL FROM"
		rig_check_fails "$p: alice, two From headers: refused" \
		    a_send "" alice@acme.example alice@acme.example "$p-abad" \
		    --add-header "From: other@acme.example"
		rig_check "$p: ... 550 5.7.1 two From headers" \
		    refused "550 5.7.1 message has 2 From headers" "."
		# her budget: A_BUDGET, one spent by the route-header message
		for i in $(seq 2 "$A_BUDGET"); do
			rig_check "$p: alice's own message $i of $A_BUDGET: accepted" \
			    a_send "" alice@acme.example alice@acme.example "$p-aown$i"
			n=$((n + 1))
		done
		rig_check_fails "$p: alice over her own limit: refused" \
		    a_send "" alice@acme.example alice@acme.example "$p-aover"
		rig_check "$p: ... 451 4.7.1 at RCPT naming her own limit acme-hourly" \
		    refused "451 4.7.1 rate limit acme-hourly reached: $A_BUDGET/1h messages for acme; try again in" "RCPT TO"
	fi
	if [ "$be" = redis ]; then
		rig_check "$p: Redis holds no bucket of beta after alice's mail" \
		    redis_clean "iso-$be-$mode"
	fi

	for b in $(seq 1 "$N"); do
		rig_check "$p: bob's message $b of $N: accepted" \
		    send bob bob@beta.example bob@beta.example "$p-b$b"
	done
	n=$((n + N))
	rig_check_fails "$p: bob's message $((N + 1)): refused" \
	    send bob bob@beta.example bob@beta.example "$p-bover"
	rig_check "$p: ... 451 4.7.1 rate limit at RCPT" \
	    refused "451 4.7.1 rate limit " "RCPT TO"
	cp "$(rig_last_log)" "$RIG_DIR/$p-bover.log"

	rig_check "$p: delivered ($n at the sink, queue empty)" delivered "$n"
	rig_check "$p: bob's $N messages delivered, the ($((N + 1)))th not" \
	    subjects "$p-b[0-9]+|$p-bover" "$N"
	index >/dev/null
	# both verifiers once; afterwards the signing domains only
	if [ "$p" = memory-reject ]; then
		rig_check "$p: bob's first signed d=beta.example, both verifiers pass" \
		    signed_for "$p-b1" beta.example 1
		rig_check "$p: alice's route-header message signed d=acme.example twice, both verify" \
		    signed_for "$p-aroute" "acme.example acme.example" 2
	else
		rig_check "$p: bob's first signed d=beta.example" \
		    sig_is "$p-b1" beta.example
		rig_check "$p: alice's route-header message signed d=acme.example twice" \
		    sig_is "$p-aroute" "acme.example acme.example"
	fi
	rig_check "$p: bob's first left from beta's egress 127.0.0.6" \
	    left_from "$p-b1" 127.0.0.6
	rig_check "$p: alice's route-header message left from her egress 127.0.0.4" \
	    left_from "$p-aroute" 127.0.0.4
	rig_check "$p: ... without the client's X-Egress-Route" \
	    no_route_header "$p-aroute"
	if [ "$mode" = reject ]; then
		rig_check "$p: nothing alice sent with beta's domains was delivered" \
		    subjects "$p-a(env|from|both|sub)[0-9]+" 0
	else
		rig_check "$p: alice's $((4 * REPS)) messages with beta's domains were delivered" \
		    subjects "$p-a(env|from|both|sub)[0-9]+" $((4 * REPS))
		rig_check "$p: ... none signed for beta.example" \
		    none_signed_for "$p-a(env|from|both|sub)[0-9]+" beta.example
		rig_check "$p: ... the client's route header did not get through" \
		    eval 'em_message "$p-aboth1" "$RIG_DIR/$p-aboth1.eml" && no_route_header "$p-aboth1"'
		rig_check "$p: ... and it did not leave from beta's egress" \
		    not_from_beta "$p-aboth1"
	fi
	diag "$p: $((SECONDS - t0)) s"
}

# ---- setup: keys, the Postfix side from egress-ctl, DNS, sink, Redis
em_keys || tap_done
rig_dkim_record bsel2026 beta.example "$RIG_DIR/beta-rsa.key" || tap_done
beta_ids >"$RIG_DIR/beta.ids"
rig_check "beta's identifiers come from its config block (every kind)" \
    ids_cover
write_conf memory reject "$A_BUDGET"
rig_check "the config is valid" "$EM_BIN" -n -c "$CONF" || tap_done
ctl "$RIG_DIR/master.extra" master >/dev/null &&
    ctl "$RIG_DIR/routes" header-checks >/dev/null &&
    ctl "$RIG_DIR/main.extra" main "$RIG_DIR/routes" >/dev/null || tap_done
RIG_POSTFIX_MASTER_EXTRA=$(cat "$RIG_DIR/master.extra")
RIG_POSTFIX_EXTRA="$(cat "$RIG_DIR/main.extra")
mynetworks = 127.0.0.0/8"
rig_check "dnsmasq serves the test keys" rig_dns_start || tap_done
rig_check "smtp-sink starts" rig_sink_start || tap_done
rig_check "egress-milter starts" rig_milter_start "$EM_BIN" -f -c "$CONF" ||
    tap_done
rig_check "postfix starts with the generated transports and table" \
    rig_postfix_start "$(rig_milter_addr)" || tap_done
have_redis=0
if command -v redis-server >/dev/null 2>&1; then
	rig_check "redis-server starts on 127.0.0.1:$REDIS_PORT" redis_start &&
	    have_redis=1
fi
n=0	# messages at the sink
: >"$RIG_DIR/a.idx"

# ---- the leak check itself can fail: bob's own over-limit reply names
# beta's limit and tenant
phase memory reject
rig_check "control: the leak check finds beta in bob's own 451 reply" \
    leaks "$RIG_DIR/memory-reject-bover.log"
phase memory accept
if [ "$have_redis" = 1 ]; then
	phase redis reject
	phase redis accept
else
	skip "redis phases" "redis-server not installed"
fi

rig_check "no reply to alice's $(wc -l <"$RIG_DIR/a.idx") sessions names an identifier of beta" \
    no_leaks "$RIG_DIR/a.idx"
rig_check "no delivered message contains an X-Egress-Route header" \
    eval '! rig_sink_files | xargs -r grep -il "^X-Egress-Route"'
[ "$have_redis" = 1 ] && rig_check "redis-server stops" rig_spawn_stop redis
em_sane
tap_done
