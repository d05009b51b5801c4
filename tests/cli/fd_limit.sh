#!/bin/bash
# fd_limit.sh - the daemon out of file descriptors: a connection it cannot
# accept (EMFILE) waits in the listen backlog and is served as soon as a
# descriptor is free; the shortage is logged once, with a count, not at
# every 100 ms retry; the daemon serves on. Started with a hard limit of
# 24 open files, far under milter.max_connections (+ 64), which it warns
# about. Raw protocol client (tests/tools/mclient.py).
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
bin=${top_builddir:-.}/egress-milter
. "$src/tests/tap.sh"
. "$src/tests/cli/mclient_lib.sh"
cat >"$dir/c.conf" <<CONF
milter: { socket = "unix:$dir/m.sock"; user = "$user"; };
alignment: { enabled = false; };
domains = ( { name = "example.com";
              keys = ( { selector = "ed1"; file = "$dir/ed.key"; } ); } );
CONF
(ulimit -n 24 && exec "$bin" -f -c "$dir/c.conf") >"$dir/log" 2>&1 &
pid=$!
mclient_listens "$dir/m.sock" "" "$dir/log"
if grep -q 'open files limited to 24: fewer than milter.max_connections (1024)' "$dir/log"
then ok "the limit under max_connections is logged at start"
else not_ok "the limit under max_connections is logged at start"; sed 's/^/#   /' "$dir/log"; fi

PYTHONPATH=$src/tests/tools "$py" - "$dir" >"$dir/out" 2>&1 <<'PY'
import socket, struct, sys, time
from mclient import Conn

d = sys.argv[1]

def check(cond, what):
    print(("ok " if cond else "not ok ") + what)

def negotiated(c):
    try:
        r = c.read()
    except socket.timeout:
        return False
    return r is not None and r[0] == b"O"

def message(c):
    """A whole message on a negotiated connection: signed and accepted?"""
    c.send(b"C", b"client\x004" + struct.pack(">H", 25) +
           b"127.0.0.1\x00")
    c.send(b"M", b"<u@example.com>\x00")
    c.read()
    c.send(b"R", b"<a@dest.example>\x00")
    c.send(b"L", b"From\x00 u@example.com\x00")
    c.send(b"N")
    c.send(b"B", b"hello\r\n")
    c.send(b"E")
    got = c.eom_replies()
    return (any(g and g[0] == b"i" and b"DKIM-Signature" in g[1]
                for g in got) and got[-1] is not None and
            got[-1][0] in (b"a", b"c"))

open_ = []
waiting = None
for _ in range(40):
    c = Conn(d + "/m.sock", timeout=1.0)
    c.send(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
    if negotiated(c):
        open_.append(c)
        continue
    waiting = c
    break
check(waiting is not None and 5 <= len(open_) < 24,
      "%d connections served, the next one waits (out of descriptors)" %
      len(open_))
time.sleep(1.5)			# 15 retries of accept()
open_[0].close()
open_.pop(0)
if waiting is not None:
    waiting.s.settimeout(5.0)
    check(negotiated(waiting),
          "a descriptor freed: the waiting connection is served")
    check(message(waiting), "  and its message is signed and accepted")
    open_.append(waiting)
check(message(open_[0]), "a connection opened before still works")
for c in open_:
    c.close()
time.sleep(0.5)
c = Conn(d + "/m.sock", timeout=5.0)
c.send(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
check(negotiated(c) and message(c), "after the shortage: a new connection, "
      "a signed message")
c.close()
PY
mclient_relay "$dir/out"
n=$(grep -c 'accept on the milter socket' "$dir/log")
if [ "$n" = 1 ] && grep -q 'accept on the milter socket (1 time(s) since the last report; the MTA.s connection waits in the backlog): Too many open files' "$dir/log"
then ok "the shortage is logged once, not at every retry"
else not_ok "the shortage is logged once, not at every retry ($n lines)"; grep 'accept on' "$dir/log" | head -3 | sed 's/^/#   /'; fi
if kill -0 "$pid" 2>/dev/null; then ok "the daemon still runs"
else not_ok "the daemon still runs"; fi
tap_done
