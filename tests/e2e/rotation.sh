#!/bin/bash
# rotation.sh - key rotation without downtime, through a real Postfix.
# acme.example has three keys: "old" (published), "new" (Ed25519,
# require_published, not published yet) and "later" (not_before tomorrow,
# published). Mail is signed by "old" only; once "new" is published (and
# the milter reloaded, which also starts a fresh DNS cache) by "old" and
# "new", both verified by dkimpy; "later" never signs today.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONF=$RIG_DIR/em.conf
TOMORROW=$(date -u -d '+1 day' +%F)

for k in old:rsa new:ed25519 later:rsa; do
	rig_key "${k#*:}" "$RIG_DIR/${k%%:*}.key" || tap_done
	chown nobody "$RIG_DIR/${k%%:*}.key"	# readable on SIGHUP
done
cat >"$CONF" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; };
alignment: { enabled = false; };
tenants = ( { name = "acme"; logins = ["alice"];
  domains = ( { name = "acme.example"; keys = (
    { selector = "old"; file = "$RIG_DIR/old.key"; },
    { selector = "new"; file = "$RIG_DIR/new.key"; require_published = true; },
    { selector = "later"; file = "$RIG_DIR/later.key"; not_before = "$TOMORROW"; }
  ); } ); } );
CONF_END
rig_dkim_record old acme.example "$RIG_DIR/old.key" &&
    rig_dkim_record later acme.example "$RIG_DIR/later.key" || tap_done

send() {
	rig_send --xclient LOGIN=alice --from alice@acme.example \
	    --h-From alice@acme.example --header "Subject: $1"
}

selectors() {	# SUBJECT WANT: the s= of the message's signatures
	local got
	em_message "$1" "$RIG_DIR/$1.eml" || return 1
	got=$(grep -i '^DKIM-Signature:' -A8 "$RIG_DIR/$1.eml" |
	    grep -o 's=[a-z]*;' | tr -d 's=;' | sort | tr '\n' ' ')
	echo "$1 signed by: $got"
	[ "$got" = "$2" ]
}

rig_check "the config is valid" "$EM_BIN" -n -c "$CONF"
em_start "$CONF"
rig_check "message before publishing the new key" send rot1
rig_check "delivered" rig_sink_wait 1
rig_check "signed by old only (new unpublished, later not yet)" \
    selectors rot1 "old "
rig_check "its signature verifies" rig_verify_expect "$RIG_DIR/rot1.eml" 1

rig_dkim_record new acme.example "$RIG_DIR/new.key"
rig_check "the new key is published" rig_dns_restart
rig_check "SIGHUP (a new snapshot with a fresh DNS cache)" \
    kill -HUP "$RIG_MILTER_PID"
rig_check "the milter reloaded" _rig_wait_for 10 grep -q 'reloaded ' \
    "$RIG_DIR/milter.log"
rig_check "message after publishing" send rot2
rig_check "delivered" rig_sink_wait 2
rig_check "signed by old and new: the overlap" selectors rot2 "new old "
rig_check "both signatures verify (dkimpy)" \
    rig_verify_expect "$RIG_DIR/rot2.eml" 2
em_sane
tap_done
