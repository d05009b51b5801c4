# common.sh - egress-milter setup shared by the e2e scripts (sourced after
# rig.sh and rig_init). Two tenants with their keys published in the rig's
# DNS, a provider key, the milter binary and its config.
#
#   em_keys                 make and publish every key
#   em_conf FILE [MILTER_LINES [SIGNING_LINES]]   write a config
#   em_start CONF           DNS, sink, milter, Postfix
#   em_message SUBJECT OUT  the delivered message with that Subject
#   em_log_has ERE          the milter log has a matching line
#   em_header_has FILE ERE  a header line of the message matches
#   em_sane                 milter stops cleanly, no sanitizer report
#
# Routing (CONF names the milter's config):
#   ctl OUT WHAT [ARGS]     egress-ctl postfix-config WHAT into OUT
#   index                   $RIG_DIR/index: subject, source IP, queue id
#   count_from ERE IP       deliveries matching ERE sent from IP
#
# and, for checking refusals and deliveries precisely: reply_is,
# reply_starts, refused_after, summary_is, delivered, sig_domains,
# signed_for, unsigned, no_route_header (each described below).

EM_BIN=${top_builddir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/egress-milter
EM_CTL=$(dirname "$EM_BIN")/egress-ctl

em_keys() {
	local k
	for k in acme-rsa:rsa acme-ed:ed25519 beta-rsa:rsa prov-ed:ed25519; do
		rig_key "${k#*:}" "$RIG_DIR/${k%%:*}.key" || return 1
	done
	rig_dkim_record rsa2026 acme.example "$RIG_DIR/acme-rsa.key" &&
	rig_dkim_record ed2026 acme.example "$RIG_DIR/acme-ed.key" &&
	rig_dkim_record s1 beta.example "$RIG_DIR/beta-rsa.key" &&
	rig_dkim_record relay relay.example "$RIG_DIR/prov-ed.key"
}

em_conf() {
	cat >"$1" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; ${2:-} };
signing: { ${3:-} };
tenants = (
  { name = "acme"; logins = ["alice", "*@acme.example"];
    domains = ( { name = "acme.example"; subdomains = true;
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; },
                           { selector = "ed2026"; file = "$RIG_DIR/acme-ed.key"; } ); } ); },
  { name = "beta"; logins = ["bob"]; networks = ["192.0.2.0/24"];
    domains = ( { name = "beta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); }
);
CONF_END
}

em_start() {
	rig_check "dnsmasq serves the test keys" rig_dns_start &&
	rig_check "smtp-sink starts" rig_sink_start &&
	rig_check "egress-milter starts" rig_milter_start "$EM_BIN" -f -c "$1" &&
	rig_check "postfix starts with the milter" \
	    rig_postfix_start "$(rig_milter_addr)"
}

em_message() {
	local f
	f=$(rig_sink_grep "^Subject: $1\$" | head -n 1)
	[ -n "$f" ] || { echo "no delivered message with Subject: $1"; return 1; }
	rig_sink_message "$f" >"$2"
}

em_log_has() {
	grep -qE -- "$1" "$RIG_DIR/milter.log" && return 0
	echo "milter log has no line matching: $1"
	tail -5 "$RIG_DIR/milter.log"
	return 1
}

em_header_has() {
	sed '/^$/q' "$1" | grep -qE -- "$2" && return 0
	echo "no header matching $2 in $1"
	sed '/^$/q' "$1"
	return 1
}

em_stopped_cleanly() {
	rig_milter_stop
	[ "$RIG_MILTER_STATUS" = 0 ]
}

em_no_sanitizer_report() {
	! grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" \
	    "$RIG_DIR/milter.log"
}

em_sane() {
	rig_check "egress-milter stops on SIGTERM with status 0" \
	    em_stopped_cleanly
	rig_check "no sanitizer or leak report in the milter log" \
	    em_no_sanitizer_report
}

# reply_is TEXT: the client's last SMTP reply is exactly TEXT.
reply_is() {
	local r
	r=$(rig_last_reply)
	[ "$r" = "$1" ] && return 0
	echo "last reply: $r"
	echo "expected:   $1"
	return 1
}

# reply_starts TEXT: the client's last SMTP reply begins with TEXT.
reply_starts() {
	local r
	r=$(rig_last_reply)
	case "$r" in "$1"*) return 0 ;; esac
	echo "last reply: $r"
	echo "expected:   $1..."
	return 1
}

# refused_after CMD: the first refusal in the newest transcript answers a
# client line starting with CMD ("MAIL FROM" or "." for end of data).
refused_after() {
	local cmd
	cmd=$(awk '/^ -> / { last = substr($0, 5) }
	    /^<\*\* / { print last; exit }' "$(rig_last_log)")
	case "$cmd" in "$1"*) return 0 ;; esac
	echo "refusal answered \"$cmd\", expected \"$1...\""
	return 1
}

# summary_is ERE: the newest summary ("done") line of the milter matches.
summary_is() {
	local line
	line=$(grep -E '^egress-milter\[[0-9]+\]: [0-9A-Za-z]+: done ' \
	    "$RIG_DIR/milter.log" | tail -n 1)
	grep -qE -- "$1" <<<"$line" && return 0
	echo "newest summary line: $line"
	echo "does not match:      $1"
	return 1
}

# delivered N: the sink holds exactly N messages, the queue is empty.
delivered() {
	local q
	rig_sink_wait "$1" || return 1
	q=$(rig_postfix_queue 2>&1)
	[ "$(rig_sink_count)" -eq "$1" ] && grep -q 'Mail queue is empty' <<<"$q" &&
	    return 0
	echo "sink has $(rig_sink_count) messages, expected $1"
	echo "$q"
	return 1
}

# sig_domains FILE: the d= of every DKIM-Signature, in order, one line.
sig_domains() {
	sed '/^$/q' "$1" | awk '
	/^[ \t]/ { h = h $0; next }
	{ if (h != "") print h; h = $0 }
	END { if (h != "") print h }' | grep -i '^DKIM-Signature:' |
	    awk -F';' '{ for (i = 1; i <= NF; i++) { t = $i
		gsub(/[ \t\r]/, "", t)
		if (t ~ /^d=/) { print substr(t, 3); break } } }' | paste -sd' '
}

# signed_for SUBJECT "D1 D2..." N: the delivered message has signatures
# with exactly these d= and both verifiers accept all N of them.
signed_for() {
	local f=$RIG_DIR/$1.eml got
	em_message "$1" "$f" || return 1
	got=$(sig_domains "$f")
	if [ "$got" != "$2" ]; then
		echo "d= of the signatures: \"$got\", expected \"$2\""
		return 1
	fi
	rig_verify_expect "$f" "$3"
}

# unsigned SUBJECT: the delivered message carries no DKIM-Signature.
unsigned() {
	local f=$RIG_DIR/$1.eml n
	em_message "$1" "$f" || return 1
	n=$(rig_sig_count "$f")
	[ "$n" -eq 0 ] && return 0
	echo "$n DKIM-Signature header(s) in $1"
	return 1
}

# no_route_header SUBJECT: the client's X-Egress-Route did not get through.
no_route_header() {
	! grep -i '^X-Egress-Route' "$RIG_DIR/$1.eml"
}

# ctl OUT WHAT [ARGS]: egress-ctl postfix-config ... WHAT into OUT.
ctl() {
	local out=$1
	shift
	"$EM_CTL" postfix-config -c "$CONF" "$@" >"$out" || return 1
	cat "$out"
	[ -s "$out" ] || { echo "egress-ctl printed nothing"; return 1; }
}

# index: one line per delivery, "SUBJECT<TAB>SOURCE-IP<TAB>QUEUE-ID<TAB>
# ROUTE-HEADERS"; the queue id is the rig Postfix's (its Received header).
index() {
	local f ip
	rig_sink_files | while IFS= read -r f; do
		ip=$(rig_sink_record "$f" X-Client-Addr)
		rig_sink_message "$f" | awk -v ip="$ip" '
		function take(l, m) {
			if (l ~ /^Subject: /) subj = substr(l, 10)
			if (qid == "" && match(l, /by mta\.rig\.test \(Postfix\) with [A-Za-z]+ id [0-9A-Za-z]+/)) {
				m = substr(l, RSTART, RLENGTH); sub(/.* id /, "", m); qid = m
			}
			if (tolower(l) ~ /^x-egress-route:/) rh++
		}
		done { next }
		/^[ \t]/ { h = h $0; next }
		{ if (h != "") take(h); h = $0; if ($0 == "") done = 1 }
		END { if (!done && h != "") take(h)
		      printf "%s\t%s\t%s\t%d\n", subj, ip, (qid == "" ? "-" : qid), rh }'
	done >"$RIG_DIR/index"
	cat "$RIG_DIR/index"
}

# count_from ERE IP: deliveries with a Subject matching ERE sent from IP.
count_from() {
	awk -F'\t' -v e="$1" -v ip="$2" '$1 ~ e && $2 == ip' "$RIG_DIR/index" | wc -l
}

