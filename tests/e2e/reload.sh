#!/bin/bash
# reload.sh - SIGHUP loads the configuration again: a valid file is
# swapped in (a new tenant can send at once), a broken one is refused
# with file:line and the running configuration keeps signing. Keys are
# owned by the daemon's user so the unprivileged daemon can re-read them.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

send_as() {	# LOGIN DOMAIN SUBJECT
	rig_send --xclient "LOGIN=$1" --from "$1@$2" --h-From "$1@$2" \
	    --header "Subject: $3"
}
reply_has() { rig_last_reply | grep -qE -- "$1"; }
signed_by() {	# SUBJECT N DOMAIN
	em_message "$1" "$RIG_DIR/$1.eml" &&
	    rig_verify_expect "$RIG_DIR/$1.eml" "$2" &&
	    em_header_has "$RIG_DIR/$1.eml" "d=$3"
}
hup() { kill -HUP "$RIG_MILTER_PID" && sleep 1; }
alive() { kill -0 "$RIG_MILTER_PID"; }

em_keys
chown nobody "$RIG_DIR"/*.key
em_conf "$RIG_DIR/full.conf"
# The first configuration has only tenant acme.
sed '/name = "beta"/,/} );/d' "$RIG_DIR/full.conf" | sed 's/ } ); } ); },$/ } ); } ); }/' \
    >"$RIG_DIR/em.conf"
rig_check "the acme-only config is valid" "$EM_BIN" -n -c "$RIG_DIR/em.conf"
em_start "$RIG_DIR/em.conf" || tap_done

rig_check_fails "before reload: bob is unknown" send_as bob beta.example before
rig_check "before reload: 550 5.7.1 for bob" reply_has '^550 5\.7\.1 .*login bob'

cp "$RIG_DIR/full.conf" "$RIG_DIR/em.conf"
rig_check "SIGHUP with a valid config" hup
rig_check "reload logged" em_log_has 'reloaded .*: 2 tenant\(s\)'
rig_check "after reload: bob sends" send_as bob beta.example after
rig_check "after reload: delivered" rig_sink_wait 1
rig_check "after reload: signed for beta.example" signed_by after 1 beta.example

printf 'milter: { user = "nobody";\n  on_error = "sometimes"; };\n' \
    >>"$RIG_DIR/em.conf"
rig_check "SIGHUP with a broken config" hup
rig_check "the daemon is still running" alive
rig_check "the refusal names file:line and the setting" \
    em_log_has "reload failed, keeping the running configuration: $RIG_DIR/em.conf:[0-9]+: "
rig_check "alice still signs with the running config" \
    send_as alice acme.example still
rig_check "still: delivered" rig_sink_wait 2
rig_check "still: signed twice for acme.example" signed_by still 2 acme.example
rig_check "bob too (the running config has beta)" send_as bob beta.example bob2
em_sane
tap_done
