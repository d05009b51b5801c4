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

EM_BIN=${top_builddir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/egress-milter

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
