#!/bin/bash
# daemon.sh - the running daemon: unix socket mode and group, privileges
# really dropped (real, effective and saved ids), a root milter.user
# refused, signing over inet (IPv4) and inet6 (IPv6) sockets, the
# detached daemon (no -f) serving the milter and /metrics, its own seccomp
# filter, and the daemon under the system call filter of its systemd unit.
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
bin=${top_builddir:-.}/egress-milter
. "$src/tests/tap.sh"
if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP needs root and a nobody user"
	exit 0
fi
MT=${MILTERTEST:-miltertest}
command -v "$MT" >/dev/null || { echo "1..0 # SKIP no miltertest"; exit 0; }
dir=$(mktemp -d)
chmod 755 "$dir"
pid=
under=		# a file of system call names: start() runs the daemon under them
sysfilter=${top_builddir:-.}/tests/tools/sysfilter
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
openssl genpkey -algorithm ed25519 -out "$dir/ed.key" 2>/dev/null
chmod 600 "$dir/ed.key"
group=$(id -gn nobody)

conf() {	# SOCKET [USER]
	cat >"$dir/c.conf" <<CONF_END
milter: { socket = "$1"; user = "${2:-nobody}"; socket_mode = "0660"; };
alignment: { enabled = false; };
domains = ( { name = "example.com";
              keys = ( { selector = "ed"; file = "$dir/ed.key"; } ); } );
CONF_END
}
start() {
	# Emptied here, not only by the redirection below: that runs in the
	# background job, and the first grep could otherwise still read the
	# log of the daemon started before and find its "started:".
	: >"$dir/log"
	${under:+"$sysfilter" "$under"} "$bin" -f -c "$dir/c.conf" \
	    >"$dir/log" 2>&1 &
	pid=$!
	for _ in $(seq 1 50); do
		grep -q 'started:' "$dir/log" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop() {
	local st
	kill "$pid" && wait "$pid"
	st=$?
	pid=
	[ "$st" -eq 0 ] || { echo "exit status $st; log:"; cat "$dir/log"; }
	return $st
}

# sign_over SOCKET - one message over the socket, signed
sign_over() {
	cat >"$dir/t.lua" <<LUA_END
print("connecting to $1")
local conn = mt.connect("$1", 10, 0.2)
assert(conn, "connect to $1")
print("connected")
assert(mt.conninfo(conn, "client", "127.0.0.1") == nil)
assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "alice", "i", "SOCK1") == nil)
assert(mt.mailfrom(conn, "<alice@example.com>") == nil)
assert(mt.rcptto(conn, "<x@example.net>") == nil)
assert(mt.header(conn, "From", "alice@example.com") == nil)
assert(mt.eoh(conn) == nil)
assert(mt.bodystring(conn, "hi\r\n") == nil)
assert(mt.eom(conn) == nil)
print("end of message")
assert(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"), "not signed")
print("signed")
mt.disconnect(conn)
LUA_END
	if ! "$MT" -s "$dir/t.lua"; then
		echo "miltertest failed; the daemon's log:"
		cat "$dir/log"
		kill -0 "$pid" 2>/dev/null || echo "the daemon is gone"
		return 1
	fi
}

ids_dropped() {		# real, effective, saved uid and gid are nobody's
	local want_u want_g
	want_u=$(id -u nobody)
	want_g=$(id -g nobody)
	awk -v u="$want_u" -v g="$want_g" '
	    /^Uid:/ { ok_u = ($2 == u && $3 == u && $4 == u) }
	    /^Gid:/ { ok_g = ($2 == g && $3 == g && $4 == g) }
	    /^Groups:/ { ok_s = (NF == 1 || (NF == 2 && $2 == g)) }
	    END { exit !(ok_u && ok_g && ok_s) }' "/proc/$pid/status"
}

# metrics_count_one DESC: GET /metrics on 127.0.0.1:10033 counts one message
metrics_count_one() {
	local out
	out=$(/usr/bin/python3 -c '
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:10033/metrics",
    timeout=5).read().decode())' 2>&1)
	if printf '%s\n' "$out" | grep -q '^egress_messages_total{.*} 1$'; then
		ok "$1"
	else
		not_ok "$1 (got: ${out:0:200})"
	fi
}

# filtered [MODE]: every thread of the daemon has seccomp mode MODE
# (default 2, a filter) and, with a filter, no_new_privs
filtered() {
	local want=${1:-2} t n=0
	for t in /proc/"$pid"/task/*; do
		grep -q "^Seccomp:[[:space:]]*$want\$" "$t/status" || return 1
		if [ "$want" = 2 ]; then
			grep -q '^NoNewPrivs:[[:space:]]*1$' "$t/status" ||
			    return 1
		fi
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

# check_filtered DESC: check filtered, skipped in a build without libseccomp
check_filtered() {
	if "$bin" -n -c "$dir/c.conf" 2>&1 | grep -q 'has no libseccomp'; then
		ok "$1 # SKIP built without libseccomp"
	else
		check "$1" filtered
	fi
}

# expect_ok DESC CMD... - like check, but in this shell (keeps $pid)
expect_ok() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; tail -5 "$dir/log" |
	    sed 's/^/#   /'; fi
}

conf "unix:$dir/m.sock"
expect_ok "starts on a unix socket" start
check "runs as nobody: real, effective and saved uid and gid, no groups" \
    ids_dropped
perm=$(stat -c '%a %U %G' "$dir/m.sock")
[ "$perm" = "660 nobody $group" ] && ok "socket mode 0660, owner nobody:$group" ||
    not_ok "socket mode 0660, owner nobody:$group (got $perm)"
check "signs over the unix socket" sign_over "unix:$dir/m.sock"
check_filtered "every thread runs under the seccomp filter, with no_new_privs"
expect_ok "stops with status 0" stop

# A filter cannot be removed: a reload that turns it off says so and
# keeps it (the key is the user's, so that the reload can re-read it).
conf "unix:$dir/m.sock"
chown nobody "$dir/ed.key"
expect_ok "starts (sandbox on) for the reload check" start
sed -i 's/socket_mode = "0660";/& sandbox = false;/' "$dir/c.conf"
kill -HUP "$pid"
for _ in $(seq 1 50); do
	grep -q 'reloaded' "$dir/log" && break
	sleep 0.1
done
expect_ok "reload with sandbox = false: milter.sandbox named as needing a restart" \
    grep -q 'milter.sandbox, .*take effect at the next restart' "$dir/log"
check_filtered "... and the filter stays"
expect_ok "stops with status 0" stop
chown root "$dir/ed.key"

conf "unix:$dir/m.sock"
sed -i 's/socket_mode = "0660";/& sandbox = false;/' "$dir/c.conf"
expect_ok "starts with milter.sandbox = false" start
check "signs without the filter" sign_over "unix:$dir/m.sock"
check "no thread has a seccomp filter" filtered 0
expect_ok "stops with status 0" stop

conf "inet:10031@127.0.0.1"
expect_ok "starts on inet:10031@127.0.0.1" start
check "signs over IPv4" sign_over "inet:10031@127.0.0.1"
if grep -q 'beyond loopback' "$dir/log"; then
	not_ok "no exposure warning for a loopback socket"
else
	ok "no exposure warning for a loopback socket"
fi
expect_ok "stops with status 0" stop

# Sockets that others can reach start, with a warning naming the risk.
conf "inet:10031"
expect_ok "starts on inet:10031 (every address)" start
check "warns that the socket listens beyond loopback" \
    grep -q 'listens beyond loopback: every host' "$dir/log"
expect_ok "stops with status 0" stop
conf "unix:$dir/m.sock"
sed -i 's/socket_mode = "0660"/socket_mode = "0666"/' "$dir/c.conf"
expect_ok "starts with socket_mode 0666" start
check "warns that every local user can speak to the socket" \
    grep -q 'has mode 0666: every local user' "$dir/log"
expect_ok "stops with status 0" stop
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
	conf "inet6:10032@::1"
	expect_ok "starts on inet6:10032@::1" start
	# miltertest cannot connect to inet6 sockets: negotiate by hand.
	check "speaks the milter protocol over IPv6" /usr/bin/python3 -c '
import socket, struct
s = socket.create_connection(("::1", 10032), timeout=5)
s.sendall(struct.pack("!Ic3I", 13, b"O", 6, 0x1ff, 0x1fffff))
n = struct.unpack("!I", s.recv(4))[0]
body = s.recv(n)
assert body[:1] == b"O", body
version, actions, steps = struct.unpack("!3I", body[1:13])
assert version == 6 and actions == 0x31, (version, hex(actions))
print("negotiated v%d actions=%#x" % (version, actions))'

	expect_ok "stops with status 0" stop
else
	ok "IPv6 loopback missing # SKIP no ::1"
fi

# Detached (no -f): daemon(3) forks after the sockets are open and the
# privileges dropped. The metrics thread must start after that fork: a
# thread started before it stayed behind in the parent that exited, and
# /metrics then hung on a socket nobody served.
conf "unix:$dir/m.sock"
echo 'metrics: { listen = "127.0.0.1:10033"; };' >>"$dir/c.conf"
detached() {	# the pid of the detached daemon reading $dir/c.conf
	pgrep -f -- "-c $dir/c.conf\$" | head -1
}
if "$bin" -c "$dir/c.conf" >"$dir/log" 2>&1; then
	ok "detached: the starting process exits 0"
else
	not_ok "detached: the starting process exits 0"
fi
for _ in $(seq 1 50); do
	pid=$(detached)
	[ -n "$pid" ] && [ -S "$dir/m.sock" ] && break
	sleep 0.1
done
if [ -n "$pid" ]; then
	ok "detached: the daemon runs (pid $pid)"
	check "detached: runs as nobody" ids_dropped
	check_filtered "detached: under the seccomp filter"
	check "detached: signs over the unix socket" sign_over "unix:$dir/m.sock"
	metrics_count_one "detached: /metrics answers, counting the signed message"
	kill "$pid"
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		not_ok "detached: stops on SIGTERM"
	else
		ok "detached: stops on SIGTERM"
		pid=
	fi
else
	not_ok "detached: the daemon runs"
	cat "$dir/log"
fi

# Under the filter of the systemd unit (SystemCallFilter=, applied by
# tests/tools/sysfilter as systemd does: allowed names, the rest killed),
# which this machine cannot apply itself (no systemd as PID 1). The
# daemon's own filter needs seccomp(2), which @system-service lacks:
# without it in the unit, the daemon dies of SIGSYS at start.
unit=$src/packaging/systemd/egress-milter.service
expand() {	# NAME...: system call names, @groups expanded
	local n
	for n in "$@"; do
		case $n in
		@*)	expand $(systemd-analyze syscall-filter "$n" |
			    sed -n 's/^    \([@a-z0-9_-]*\).*/\1/p') ;;
		*)	echo "$n" ;;
		esac
	done
}
if ! command -v systemd-analyze >/dev/null ||
    ! systemd-analyze syscall-filter @system-service >/dev/null 2>&1; then
	ok "unit filter # SKIP no systemd-analyze"
elif [ ! -x "$sysfilter" ]; then
	ok "unit filter # SKIP built without libseccomp"
else
	# What systemd.exec(5) always permits, and what the unit lists
	expand @default execve exit exit_group getrlimit rt_sigreturn \
	    sigreturn $(sed -n 's/^SystemCallFilter=//p' "$unit") |
	    sort -u >"$dir/unit.calls"
	grep -vx seccomp "$dir/unit.calls" >"$dir/no-seccomp.calls"
	check "the unit allows seccomp (the daemon's own filter needs it)" \
	    grep -qx seccomp "$dir/unit.calls"
	conf "unix:$dir/m.sock"
	echo 'metrics: { listen = "127.0.0.1:10033"; };' >>"$dir/c.conf"
	chown nobody "$dir/ed.key"	# so that the reload can re-read it
	# In the ASan build LeakSanitizer ptrace()s the threads at exit,
	# which the unit does not allow (nor does it need it).
	asan_saved=${ASAN_OPTIONS-}
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	under=$dir/unit.calls
	expect_ok "unit filter: starts" start
	check "unit filter: signs over the unix socket" sign_over \
	    "unix:$dir/m.sock"
	check "unit filter: and its own filter is on" filtered
	metrics_count_one "unit filter: /metrics answers, counting the message"
	kill -HUP "$pid"
	for _ in $(seq 1 50); do
		grep -q 'reloaded' "$dir/log" && break
		sleep 0.1
	done
	expect_ok "unit filter: reloads on SIGHUP (config and key re-read)" \
	    grep -q "reloaded" "$dir/log"
	check "unit filter: signs after the reload" sign_over \
	    "unix:$dir/m.sock"
	expect_ok "unit filter: stops with status 0" stop
	# the checks can fail: without seccomp in the list the daemon dies
	under=$dir/no-seccomp.calls
	start
	wait "$pid"
	st=$?
	pid=
	if [ "$st" -eq $((128 + 31)) ]; then
		ok "without seccomp in the unit's list, the daemon dies of SIGSYS"
	else
		not_ok "without seccomp in the unit's list, the daemon dies of SIGSYS (status $st)"
	fi
	sed -i 's/socket_mode = "0660";/& sandbox = false;/' "$dir/c.conf"
	expect_ok "... and starts with milter.sandbox = false" start
	expect_ok "... and stops with status 0" stop
	under=
	chown root "$dir/ed.key"
	ASAN_OPTIONS=$asan_saved
fi

conf "unix:$dir/m.sock" root
out=$("$bin" -f -c "$dir/c.conf" 2>&1)
st=$?
if [ "$st" -ne 0 ] && printf '%s' "$out" | grep -q 'refusing to run as root'; then
	ok "milter.user = root is refused"
else
	not_ok "milter.user = root is refused (status $st: $out)"
fi

# A user whose primary group is root would keep gid 0 after the drop.
u=egress-gid0-$$
if useradd --system --no-create-home --gid 0 --shell /usr/sbin/nologin \
    "$u" 2>/dev/null; then
	conf "unix:$dir/m.sock" "$u"
	out=$("$bin" -f -c "$dir/c.conf" 2>&1)
	st=$?
	userdel "$u" 2>/dev/null
	if [ "$st" -ne 0 ] && printf '%s' "$out" | grep -q 'has group root'; then
		ok "milter.user with primary group root is refused"
	else
		not_ok "milter.user with primary group root is refused (status $st: $out)"
	fi
else
	ok "milter.user with primary group root # SKIP useradd failed"
fi
tap_done
