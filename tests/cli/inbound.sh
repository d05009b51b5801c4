#!/bin/bash
# inbound.sh - mail that is not outbound (an external client, no login)
# is not signed, routed or limited, but client copies of the control
# headers X-Egress-Route and X-Egress-DMARC are deleted from it too
# (milter.strip_inbound, the default): a forged "X-Egress-DMARC: pass"
# must not reach a local recipient. With strip_inbound = false such mail
# is accepted untouched at MAIL FROM. Whole messages with a raw protocol
# client (tests/tools/mclient.py), and the summary lines.
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
bin=${top_builddir:-.}/egress-milter
. "$src/tests/tap.sh"
. "$src/tests/cli/mclient_lib.sh"
# conf NAME MILTER-SETTINGS: a config whose socket is $dir/NAME.sock
conf() {
	cat >"$dir/$1.conf" <<CONF
milter: { socket = "unix:$dir/$1.sock"; user = "$user"; max_headers = 16;
          $2 };
alignment: { enabled = false; };
domains = ( { name = "example.com";
              keys = ( { selector = "ed1"; file = "$dir/ed.key"; } ); } );
limits = ( { name = "s"; per = "sender_domain"; messages = "1/1h"; } );
CONF
}
conf strip ""
conf keep "strip_inbound = false;"
for name in strip keep; do
	"$bin" -f -c "$dir/$name.conf" >"$dir/$name.log" 2>&1 &
	pids+=($!)
done
for name in strip keep; do
	mclient_listens "$dir/$name.sock" "$name: " "$dir/$name.log"
done

PYTHONPATH=$src/tests/tools "$py" - "$dir" >"$dir/out" 2>&1 <<'PY'
import struct, sys
from mclient import Conn

d = sys.argv[1]
NR_RCPT = 0x8000

def check(cond, what):
    print(("ok " if cond else "not ok ") + what)

def message(c, flags, addr, headers, sender=b"<u@example.com>"):
    """One message from addr; the reply to MAIL, then those after it."""
    c.send(b"C", b"client\x004" + struct.pack(">H", 25) + addr + b"\x00")
    c.send(b"M", sender + b"\x00")
    mail = c.read()
    if mail is None or mail[0] != b"c":
        return mail, []
    c.send(b"R", b"<a@dest.example>\x00")
    if not flags & NR_RCPT:
        c.read()
    for name, value in headers:
        c.send(b"L", name + b"\x00 " + value + b"\x00")
    c.send(b"N")
    c.send(b"B", b"hello\r\n")
    c.send(b"E")
    return mail, c.eom_replies()

def deleted(got):
    """The header deletions asked for: (name, index) pairs."""
    out = []
    for g in got:
        if g and g[0] == b"m":
            idx = struct.unpack(">I", g[1][:4])[0]
            name, value = g[1][4:].split(b"\x00")[:2]
            if value == b"":
                out.append((name, idx))
    return sorted(out)

def kinds(got):
    return [g[0] if g else None for g in got]

forged = [(b"X-Egress-Route", b"acme_1"), (b"From", b"u@elsewhere.example"),
          (b"X-EGRESS-DMARC", b"pass (forged)"), (b"Subject", b"hi"),
          (b"x-egress-dmarc", b"pass (again)")]
def connect(name):
    """A negotiated connection to $dir/name.sock, and the flags agreed."""
    c = Conn(d + "/" + name + ".sock")
    r = c.negotiate()
    return c, struct.unpack(">III", r[1])[2] if r and r[0] == b"O" else 0

c, flags = connect("strip")

mail, got = message(c, flags, b"192.0.2.7", forged)
check(mail == (b"c", b""), "strip: inbound MAIL answered continue (%r)" %
      (mail,))
check(deleted(got) == [(b"X-EGRESS-DMARC", 1), (b"X-EGRESS-DMARC", 2),
                       (b"X-Egress-Route", 1)] or
      deleted(got) == [(b"X-Egress-DMARC", 1), (b"X-Egress-DMARC", 2),
                       (b"X-Egress-Route", 1)],
      "strip: the three client control headers are deleted (%r)" %
      (deleted(got),))
check(b"i" not in kinds(got) and b"h" not in kinds(got) and
      len([g for g in got if g and g[0] == b"m"]) == 3,
      "strip: nothing else changed, no signature (%r)" % (kinds(got),))
check(got and got[-1] is not None and got[-1][0] in (b"a", b"c"),
      "strip: accepted (%r)" % (kinds(got),))

plain = [(b"From", b"u@elsewhere.example"), (b"Subject", b"plain")]
mail, got = message(c, flags, b"192.0.2.7", plain)
check(mail == (b"c", b"") and kinds(got) == [b"a"],
      "strip: inbound without control headers: accepted, unchanged (%r %r)"
      % (mail, kinds(got)))

# a sender_domain limit of 1/1h: inbound mail is never counted
for i in range(2):
    mail, got = message(c, flags, b"192.0.2.7", plain)
    check(mail == (b"c", b"") and kinds(got) == [b"a"],
          "strip: inbound message %d from the limited domain: accepted "
          "(%r %r)" % (i + 3, mail, kinds(got)))

# max_headers = 16 caps outbound mail; inbound headers are not kept
many = [(b"Received", b"from hop%d" % i) for i in range(24)] + plain
mail, got = message(c, flags, b"192.0.2.7", many)
check(mail == (b"c", b"") and kinds(got) == [b"a"],
      "strip: inbound with 26 headers (max_headers 16): accepted (%r)" %
      (kinds(got),))

# more control copies than max_headers: refused like outbound mail
flood = [(b"X-Egress-DMARC", b"pass %d" % i) for i in range(17)] + plain
mail, got = message(c, flags, b"192.0.2.7", flood)
check(got and got[-1] is not None and got[-1][0] == b"y" and
      got[-1][1].startswith(b"552 5.3.4") and
      not [g for g in got if g and g[0] == b"m"],
      "strip: 17 control copies (max_headers 16): 552 5.3.4, nothing "
      "deleted (%r)" % (got[-1:],))
c.close()

c, flags = connect("keep")
mail, got = message(c, flags, b"192.0.2.7", forged)
check(mail == (b"a", b""), "keep: inbound accepted at MAIL FROM (%r)" %
      (mail,))
c.close()
PY
mclient_relay "$dir/out"
kill "${pids[@]}" 2>/dev/null
wait 2>/dev/null
if grep -q 'client=192\.0\.2\.7 .*action=pass signed=none reason="not outbound; 3 client control header(s) removed"' "$dir/strip.log"
then ok "strip: logged as passed, with the headers removed"
else not_ok "strip: logged as passed, with the headers removed"; sed 's/^/#   /' "$dir/strip.log"; fi
n=$(grep -c 'client=192\.0\.2\.7 .*action=pass signed=none reason="not outbound"' "$dir/strip.log")
if [ "$n" = 4 ]; then ok "strip: four messages without control headers logged as not outbound"
else not_ok "strip: four messages without control headers logged as not outbound ($n)"; fi
if grep -q 'client=192\.0\.2\.7 .*action=pass signed=none reason="not outbound" conn=' "$dir/keep.log"
then ok "keep: logged as passed"
else not_ok "keep: logged as passed"; sed 's/^/#   /' "$dir/keep.log"; fi
tap_done
