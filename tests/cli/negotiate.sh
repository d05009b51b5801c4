#!/bin/bash
# negotiate.sh - the milter asks the MTA to wait only for the replies it
# may need: with no rate limit that can refuse a recipient, no reply to
# RCPT (SMFIP_NR_RCPT); with one, RCPT is answered; with
# milter.defer_refusals, neither MAIL nor RCPT is, and what would have
# refused them refuses the message at its end. Whole messages through
# each, over unix sockets and TCP, with a raw protocol client
# (tests/tools/mclient.py)
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
bin=${top_builddir:-.}/egress-milter
. "$src/tests/tap.sh"
. "$src/tests/cli/mclient_lib.sh"
# conf NAME LIMITS: a config whose socket is $dir/NAME.sock
conf() {
	cat >"$dir/$1.conf" <<CONF
milter: { socket = "unix:$dir/$1.sock"; user = "$user"; };
alignment: { enabled = false; };
domains = ( { name = "example.com";
              keys = ( { selector = "ed1"; file = "$dir/ed.key"; } ); } );
$2
CONF
}
conf plain ""
# per sender domain: known at MAIL, so checked at RCPT
conf limited 'limits = ( { name = "r"; per = "sender_domain";
                          messages = "1/1h"; } );'
# per From domain: only known at end of headers, never at RCPT
conf fromonly 'limits = ( { name = "f"; per = "from_domain";
                           messages = "1000/1h"; } );'
# deferred: a tenant known at MAIL (by its network), so its limit is one
# that refuses at RCPT; at most 4 messages per session
cat >"$dir/deferred.conf" <<CONF
milter: { socket = "unix:$dir/deferred.sock"; user = "$user";
          defer_refusals = true; max_messages_per_connection = 4; };
alignment: { enabled = false; };
tenants = ( { name = "t"; networks = [ "127.0.0.0/8" ];
              domains = ( { name = "example.com";
                  keys = ( { selector = "ed1"; file = "$dir/ed.key"; } );
              } );
              limits = ( { name = "r"; per = "tenant";
                           messages = "1/1h"; } ); } );
CONF
# tcp: the same replies skipped over TCP (mserv acknowledges at once)
conf tcp ""
sed -i 's|socket = "unix:[^"]*";|socket = "inet:10037@127.0.0.1";|' \
    "$dir/tcp.conf"
for name in plain limited fromonly deferred tcp; do
	"$bin" -f -c "$dir/$name.conf" >"$dir/$name.log" 2>&1 &
	pids+=($!)
done
for name in plain limited fromonly deferred; do
	mclient_listens "$dir/$name.sock" "$name: " "$dir/$name.log"
done
for _ in $(seq 1 50); do
	(exec 3<>/dev/tcp/127.0.0.1/10037) 2>/dev/null && break
	sleep 0.1
done

PYTHONPATH=$src/tests/tools "$py" - "$dir" >"$dir/out" 2>&1 <<'PY'
import struct, sys
from mclient import Conn

NR_MAIL = 0x4000
NR_RCPT = 0x8000
d = sys.argv[1]

def check(cond, what):
    print(("ok " if cond else "not ok ") + what)

def message(c, nr_rcpt, rcpts, nr_mail=False, addr=b"127.0.0.1"):
    """One message; the replies in order, as (cmd, first data bytes)."""
    c.send(b"C", b"client\x004" + struct.pack(">H", 25) + addr + b"\x00")
    c.send(b"M", b"<u@example.com>\x00")
    got = [] if nr_mail else [c.read()]
    for r in rcpts:
        c.send(b"R", r + b"\x00")
        if not nr_rcpt:
            got.append(c.read())
    c.send(b"L", b"From\x00 u@example.com\x00")
    c.send(b"L", b"Subject\x00 hi\x00")
    c.send(b"N")
    c.send(b"B", b"hello\r\n")
    c.send(b"E")
    while True:
        r = c.read()
        got.append(r)
        if r is None or r[0] not in (b"h", b"i", b"m", b"-"):
            return got

NR_HDR, NR_EOH, NR_BODY = 0x80, 0x40000, 0x80000
for name, want in (("plain", True), ("limited", False),
                   ("fromonly", True), ("tcp", True)):
    c = Conn("127.0.0.1:10037" if name == "tcp" else
             d + "/" + name + ".sock")
    r = c.negotiate()
    flags = struct.unpack(">III", r[1])[2] if r and r[0] == b"O" else 0
    nr = bool(flags & NR_RCPT)
    check(nr == want, "%s: SMFIP_NR_RCPT %s (flags 0x%x)" %
          (name, "negotiated" if want else "not negotiated", flags))
    check(flags & (NR_HDR | NR_EOH | NR_BODY) == NR_HDR | NR_EOH | NR_BODY,
          "%s: no replies to headers and body (flags 0x%x)" % (name, flags))
    got = message(c, nr, [b"<a@dest.example>", b"<b@dest.example>"])
    check(got[0] == (b"c", b""), "%s: MAIL answered continue (%r)" %
          (name, got[0]))
    if not nr:
        check(got[1] == (b"c", b"") and got[2] == (b"c", b""),
              "%s: each RCPT answered (%r)" % (name, got[1:3]))
    ins = [g for g in got if g and g[0] == b"i"]
    check(len(ins) == 1 and b"DKIM-Signature" in ins[0][1] and
          got[-1] is not None and got[-1][0] in (b"c", b"a"),
          "%s: the message is signed and accepted (%r)" %
          (name, [g[0] if g else None for g in got]))
    if name == "limited":
        # the second message is over 1/1h (with no tenant known at MAIL,
        # the limit is checked at end of headers)
        got = message(c, nr, [b"<a@dest.example>"])
        y = [g for g in got if g and g[0] == b"y"]
        check(len(y) == 1 and y[0][1].startswith(b"451 4.7.1"),
              "limited: the second message gets 451 4.7.1 (%r)" % (y,))
    c.close()

# milter.defer_refusals: one round trip a message
c = Conn(d + "/deferred.sock")
r = c.negotiate()
flags = struct.unpack(">III", r[1])[2] if r and r[0] == b"O" else 0
check(flags & NR_MAIL and flags & NR_RCPT,
      "deferred: SMFIP_NR_MAIL and SMFIP_NR_RCPT negotiated (flags 0x%x)" %
      flags)
kinds = lambda got: [g[0] if g else None for g in got]
got = message(c, True, [b"<a@dest.example>"], nr_mail=True)
check(kinds(got) == [b"i", b"a"] and b"DKIM-Signature" in got[0][1],
      "deferred: message 1, no reply before end of message: signed, "
      "accepted (%r)" % (kinds(got),))
got = message(c, True, [b"<a@dest.example>"], nr_mail=True)
check(len(got) == 1 and got[0] and got[0][0] == b"y" and
      got[0][1].startswith(b"451 4.7.1") and b"rate limit" in got[0][1],
      "deferred: message 2, over the limit a RCPT checks: 451 4.7.1 at "
      "end of message (%r)" % (got,))
got = message(c, True, [b"<a@dest.example>"], nr_mail=True,
              addr=b"192.0.2.7")
check(kinds(got) == [b"a"],
      "deferred: message 3, not outbound (MAIL would accept): accepted "
      "unsigned at end of message (%r)" % (kinds(got),))
got = message(c, True, [b"<a@dest.example>"], nr_mail=True)
got = message(c, True, [b"<a@dest.example>"], nr_mail=True)
check(len(got) == 1 and got[0] and got[0][0] == b"y" and
      got[0][1].startswith(b"451 4.7.0 too many messages"),
      "deferred: message 5 of the session: 451 4.7.0 at end of message "
      "(%r)" % (got,))
c.close()
PY
mclient_relay "$dir/out"
tap_done
