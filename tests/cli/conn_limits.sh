#!/bin/bash
# conn_limits.sh - the milter socket's caps, with a raw protocol client:
# milter.max_connections, milter.max_messages_per_connection, oversized
# and split packets (tests/tools/mclient.py speaks the MTA side)
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
bin=${top_builddir:-.}/egress-milter
. "$src/tests/tap.sh"
. "$src/tests/cli/mclient_lib.sh"
cat >"$dir/c.conf" <<CONF
milter: { socket = "unix:$dir/m.sock"; user = "$user";
          max_connections = 2; max_messages_per_connection = 2; };
alignment: { enabled = false; };
domains = ( { name = "example.com";
              keys = ( { selector = "ed1"; file = "$dir/ed.key"; } ); } );
CONF
# Started with a soft limit of 32 open files: the daemon raises it to
# max_connections + 64 (the hard limit allows it).
(ulimit -Sn 32 && exec "$bin" -f -c "$dir/c.conf") >"$dir/log" 2>&1 &
pid=$!
mclient_listens "$dir/m.sock" "" "$dir/log"
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
if [ "$soft" = 66 ]; then ok "soft limit of open files raised to 66"
else not_ok "soft limit of open files raised to 66 (got $soft)"; fi

# The client prints one "ok"/"not ok" TAP body per check; numbering is ours.
PYTHONPATH=$src/tests/tools "$py" - "$dir/m.sock" >"$dir/out" 2>&1 <<'PY'
import socket, struct, sys, time
from mclient import Conn, packet

path = sys.argv[1]

def check(cond, what):
    print(("ok " if cond else "not ok ") + what)

a, b = Conn(path), Conn(path)
ra, rb = a.negotiate(), b.negotiate()
check(ra and ra[0] == b"O" and rb and rb[0] == b"O",
      "two connections negotiate (max_connections = 2)")
c = Conn(path, timeout=3)
check(c.negotiate() is None, "a third is closed at once")
c.close()
b.close()
time.sleep(0.5)
d = Conn(path)
check((d.negotiate() or (b"",))[0] == b"O",
      "after one closes, a new connection is served")

# messages per connection: the third MAIL FROM gets 451 4.7.0
a.send(b"C", b"client\x004" + struct.pack(">H", 25) + b"127.0.0.1\x00")
replies = []
for i in range(3):
    a.send(b"M", b"<u@example.com>\x00")
    replies.append(a.read())
    a.send(b"A")
check(replies[0] == (b"c", b"") and replies[1] == (b"c", b""),
      "messages 1 and 2 of the session: continue")
check(replies[2] is not None and replies[2][0] == b"y" and
      replies[2][1].startswith(b"451 4.7.0 too many messages"),
      "message 3: 451 4.7.0 (%r)" % (replies[2],))

# a command split into single bytes is still one command
d.send(b"C", b"client\x004" + struct.pack(">H", 25) + b"127.0.0.1\x00")
for byte in packet(b"M", b"<u@example.com>\x00"):
    d.s.sendall(bytes([byte]))
    time.sleep(0.002)
check(d.read() == (b"c", b""), "a MAIL sent byte by byte: one reply")

# an announced packet over 1 MiB closes the connection
d.s.sendall(struct.pack(">I", 2 * 1024 * 1024) + b"B")
check(d.read() is None, "a 2 MiB packet: the connection is closed")
d.close()
a.close()

# an unknown command closes the connection too
e = Conn(path)
e.negotiate()
e.send(b"Z")
check(e.read() is None, "an unknown command: the connection is closed")
e.close()
PY
mclient_relay "$dir/out"

logged() {
	if grep -qF -- "$2" "$dir/log"; then ok "$1"
	else not_ok "$1"; sed 's/^/#   /' "$dir/log" | tail -20; fi
}
logged "the log names milter.max_connections" "(milter.max_connections) is 2"
logged "the log names milter.max_messages_per_connection" \
    "limit milter.max_messages_per_connection"
logged "the log names the oversized packet" "a packet of 2097152 octets"
logged "the log names the unknown command" "unknown command 0x5a"
kill -TERM "$pid"
st=0
wait "$pid" || st=$?
pid=
if [ "$st" = 0 ]; then ok "SIGTERM: exit 0"; else not_ok "SIGTERM: exit $st"; fi
# A socket file left behind (the unprivileged daemon may not be able to
# remove it) is replaced at the next start; one a live daemon answers on
# is not.
"$bin" -f -c "$dir/c.conf" >"$dir/log2" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
	grep -q 'started' "$dir/log2" && break
	sleep 0.1
done
if grep -q 'started' "$dir/log2"; then ok "restart over the old socket file"
else not_ok "restart over the old socket file"; sed 's/^/#   /' "$dir/log2"; fi
if "$bin" -f -c "$dir/c.conf" >"$dir/log3" 2>&1; then
	not_ok "a second daemon on the same socket is refused"
else
	if grep -q 'another daemon listens' "$dir/log3"; then
		ok "a second daemon on the same socket is refused"
	else
		not_ok "a second daemon on the same socket is refused"
		sed 's/^/#   /' "$dir/log3"
	fi
fi
tap_done
