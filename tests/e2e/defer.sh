#!/bin/bash
# defer.sh - milter.defer_refusals through a real Postfix: the milter
# answers only at end of message (one round trip), and what it would have
# refused at MAIL (an unknown login) or RCPT (a rate limit of a tenant
# known by its login) is refused after the final dot, with the same reply.
# Signed mail still verifies with dkimpy and Mail::DKIM.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

rig_check "keys" em_keys
cat >"$RIG_DIR/milter.conf" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; defer_refusals = true; };
alignment: { enabled = false; };
tenants = (
  { name = "acme"; logins = ["alice"];
    limits = ( { name = "hourly"; per = "tenant"; messages = "1/1h"; } );
    domains = ( { name = "acme.example";
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; },
                           { selector = "ed2026"; file = "$RIG_DIR/acme-ed.key"; } ); } ); }
);
CONF_END
em_start "$RIG_DIR/milter.conf"

send() {	# LOGIN SUBJECT
	rig_send --xclient "LOGIN=$1" --from alice@acme.example \
	    --h-From alice@acme.example --header "Subject: $2"
}
accepted() { send "$@" && reply_starts "250 "; }
# refused LOGIN SUBJECT REPLY: refused with REPLY..., after the final dot
refused() {
	send "$1" "$2"
	reply_starts "$3" && refused_after "."
}

rig_check "alice's 1st message: 250" accepted alice DF1
rig_check "... summary: accepted, signed" summary_is \
    'action=accept .*signed=acme.example/rsa2026/rsa-sha256,acme.example/ed2026/ed25519-sha256'
rig_check "alice's 2nd, over 1/1h (a RCPT limit): 451 4.7.1 after the dot" \
    refused alice DF2 "451 4.7.1 rate limit hourly reached: 1/1h messages for acme"
rig_check "... summary: tempfail, limited" summary_is 'action=tempfail'
rig_check "an unknown login (refused at MAIL otherwise): 550 5.7.1 after the dot" \
    refused mallory DF3 "550 5.7.1 login mallory may not send through this relay"
rig_check "... summary: reject" summary_is 'action=reject'
rig_check "only the first message is delivered" delivered 1
rig_check "it verifies (dkimpy, Mail::DKIM)" signed_for DF1 \
    "acme.example acme.example" 2
em_sane
tap_done
