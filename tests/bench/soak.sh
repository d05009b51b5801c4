#!/bin/bash
# soak.sh - a soak test: a million messages through egress-milter with the
# load driver, in rounds; between rounds the milter's RSS, open fds and
# threads are sampled and its log is read for errors.  Called by
# `make soak` (never part of make check: about 7 minutes on 2 cores for
# the default million).
#
#   tests/bench/soak.sh BUILDDIR
#
# BUILDDIR holds egress-milter and mload (BUILDDIR/tests/bench/mload, or
# BUILDDIR/mload).  Environment: SOAK_MESSAGES (default 1000000),
# SOAK_ROUNDS (default 10, at least 3), SOAK_CONC (connections at a time,
# split between the two tenants, default 8), SOAK_PER_CONN (messages per
# milter connection before mload reconnects, default 1000), SOAK_SIZE
# (message size, default 4k), SOAK_ROUND_SECS (a round that takes longer
# is stopped and fails, default 1800), SOAK_KEEP=1 keeps the scratch
# directory.
#
# In a scratch directory: an RSA-2048 and an Ed25519 key for each of two
# tenants (dual signing), a configuration with both tenants (one found by
# exact login, one by a "*@domain" pattern), egress pools (so a route
# header is added) and memory rate limits per tenant, per login and
# recipient domain and per recipient domain, set far above what the soak
# sends so that they are checked and committed for every message and never
# refuse.  The connection caps are set tight, so that a count that drifts
# shows: milter.max_messages_per_connection is SOAK_PER_CONN, exactly what
# mload sends on one connection, and milter.max_connections is twice
# SOAK_CONC (each mload thread holds one connection, plus the one it just
# closed while the milter's thread for it ends).  egress-milter runs in the
# foreground on a unix socket; each round runs two mload processes at once,
# one per tenant, SOAK_CONC / 2 connections each, for SOAK_MESSAGES /
# SOAK_ROUNDS messages in all.
#
# Errors are read from the milter's log (stderr in the foreground), where
# each line has its syslog priority as a "<N>" prefix, the way it writes
# for journald (JOURNAL_STREAM is set to the log file).  Lines at warning
# or worse, and lines without a prefix (a sanitizer's report, say), count
# as errors; the per-message summary lines ("done ... action=accept") are
# counted against mload's figures.  Protocol errors are logged the same
# way: before the rounds, an option negotiation with 4 octets of data
# instead of 12 is sent, and its warning must arrive in the log (that one
# line is the probe, not an error) and the milter must close that
# connection.  After the rounds, one connection sends one message more
# than SOAK_PER_CONN, which must get the session cap's 451 (skipped when
# SOAK_PER_CONN is 0, no cap).
#
# The verdict fails (exit 1) when a message was not accepted or mload saw
# an error, a message lacks its two signatures and route header, the
# summary lines do not match, the milter logged an error or died, did not
# stop cleanly on SIGTERM, had more fds open after the last round than
# after the first, ran more threads after a round than the main one, one
# per connection the cap allows and one waiting in accept() (threads wait
# there up to 60 s for the next connection), did not come back to those
# two threads after SOAK_IDLE seconds (default 65) without traffic (every
# connection thread must end), or its RSS grew more than 10% from round 2
# to the last (round 1 is the warm-up), or the session cap was not
# applied.  Speed is printed but not judged.
set -u

builddir=${1:?usage: soak.sh BUILDDIR}
total=${SOAK_MESSAGES:-1000000}
rounds=${SOAK_ROUNDS:-10}
conc=${SOAK_CONC:-8}
per_conn=${SOAK_PER_CONN:-1000}
size=${SOAK_SIZE:-4k}
round_secs=${SOAK_ROUND_SECS:-1800}
em=$builddir/egress-milter
mload=$builddir/tests/bench/mload
[ -x "$mload" ] || mload=$builddir/mload
py=/usr/bin/python3
inserts_want=3.00	# two signatures and the route header, per message

for v in total rounds conc per_conn round_secs; do
	case ${!v} in
	'' | *[!0-9]*)
		echo "soak: $v=${!v}: not a number" >&2
		exit 2 ;;
	esac
done
if [ "$rounds" -lt 3 ] || [ "$conc" -lt 2 ] ||
    [ "$total" -lt $((2 * rounds)) ]; then
	echo "soak: need SOAK_ROUNDS >= 3, SOAK_CONC >= 2 and" \
	    "SOAK_MESSAGES >= 2 * SOAK_ROUNDS" >&2
	exit 2
fi
for f in "$em" "$mload"; do
	[ -x "$f" ] || { echo "soak: $f: not built" >&2; exit 1; }
done
command -v openssl >/dev/null || { echo "soak: no openssl" >&2; exit 1; }
[ -x "$py" ] || { echo "soak: no $py" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
	run_user=nobody		# egress-milter refuses to stay root
else
	run_user=$(id -un)
fi

dir=$(mktemp -d /tmp/egress-soak.XXXXXX) || exit 1
chmod 755 "$dir"		# the socket is reached after the drop
sock=$dir/milter.sock
log=$dir/milter.log
empid=
mpids=()
cleanup() {
	local p
	for p in "${mpids[@]}" $empid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "${SOAK_KEEP:-0}" = 1 ]; then
		echo "soak: kept $dir"
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- keys and configuration ------------------------------------------------

(umask 077
 for t in acme beta; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$dir/$t-rsa.pem" 2>/dev/null &&
	openssl genpkey -algorithm ED25519 -out "$dir/$t-ed.pem" \
	    2>/dev/null || exit 1
 done) || { echo "soak: openssl genpkey failed" >&2; exit 1; }

cat >"$dir/em.conf" <<EOF
milter: { socket = "unix:$sock"; user = "$run_user";
          shutdown_timeout = 5; max_connections = $((2 * conc));
          max_messages_per_connection = $per_conn; };
alignment: { enabled = false; };
ratelimit: { backend = "memory"; max_keys = 10000; };
limits = ( { name = "rcpt"; per = "rcpt_domain";
             recipients = "100000000/1d"; } );
pools = (
  { name = "shared";
    egress = ( { transport = "shared_a"; ip = "127.0.0.2"; weight = 1; },
               { transport = "shared_b"; ip = "127.0.0.3"; weight = 3; } ); },
  { name = "acme"; overflow = "shared";
    egress = ( { transport = "acme_1"; ip = "127.0.0.4"; } ); }
);
tenants = (
  { name = "acme"; logins = [ "acme" ]; pool = "acme";
    limits = ( { name = "hourly"; per = "tenant";
                 messages = "100000000/1h"; },
               { name = "login"; per = "login+rcpt_domain";
                 messages = "100000000/1d"; burst = 10000000; } );
    domains = ( { name = "acme.example";
                  keys = ( { selector = "rsa";
                             file = "$dir/acme-rsa.pem"; },
                           { selector = "ed";
                             file = "$dir/acme-ed.pem"; } ); } ); },
  { name = "beta"; logins = [ "*@beta.example" ]; pool = "shared";
    limits = ( { name = "daily"; per = "tenant";
                 messages = "100000000/1d"; } );
    domains = ( { name = "beta.example";
                  keys = ( { selector = "rsa";
                             file = "$dir/beta-rsa.pem"; },
                           { selector = "ed";
                             file = "$dir/beta-ed.pem"; } ); } ); }
);
EOF
if ! "$em" -n -c "$dir/em.conf" >"$dir/check.out" 2>&1; then
	echo "soak: the configuration is refused:" >&2
	cat "$dir/check.out" >&2
	exit 1
fi

# ---- the milter ------------------------------------------------------------

# mload_run CONC N LOGIN FROM: one mload (run it with &: it replaces the
# subshell, so that killing that PID stops it); its figures on stdout
mload_run() {
	exec timeout "$round_secs" "$mload" -s "unix:$sock" -c "$1" -n "$2" \
	    -m "$per_conn" -S "$size" -l "$3" -F "$4" -q
}

# running PID: is that child still running (not gone, not a zombie)?
running() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
	    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# alive: is the milter running?
alive() {
	running "$empid"
}

: >"$log"
# In the foreground each line goes to stderr with a "<N>" priority
# prefix when JOURNAL_STREAM is set (journald names the stream by
# device:inode; ours is the log file).
jstream=$(stat -c %d:%i "$log")
JOURNAL_STREAM=$jstream "$em" -f -c "$dir/em.conf" >>"$log" 2>&1 &
empid=$!
for _ in $(seq 1 100); do
	alive || break
	"$mload" -s "unix:$sock" -c 1 -n 1 -F soak@acme.example -l acme \
	    -q >/dev/null 2>&1 && break
	sleep 0.1
done
if ! alive || ! grep -q '^<6>started:' "$log"; then
	echo "soak: egress-milter did not start (or its log lines have" \
	    "no <priority> prefix):" >&2
	tail -5 "$log" >&2
	exit 1
fi
# Option negotiation with 4 octets of data instead of 12: mproto logs
# the protocol error (at warning) and ends the session.  The probe exits
# 0 once the milter has closed the connection, 1 if it stays open.
probe='<4>NOQUEUE: milter negotiation: 4 octets, need 12'
if ! "$py" - "$sock" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 5) + b"O" + struct.pack(">I", 6))
try:
    while s.recv(100):
        pass
except OSError:
    sys.exit(1)
EOF
then
	echo "soak: the milter kept a connection open after a bad" \
	    "option negotiation" >&2
	exit 1
fi
for _ in $(seq 1 50); do
	grep -qxF "$probe" "$log" && break
	sleep 0.1
done
if ! grep -qxF "$probe" "$log"; then
	echo "soak: the protocol error of the probe is not in $log:" >&2
	tail -5 "$log" >&2
	exit 1
fi

# ---- sampling --------------------------------------------------------------

# status KEY: a field of /proc/$empid/status (the number only)
status() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$empid/status" \
	    2>/dev/null
}

# nfds: open fds of the milter
nfds() {
	local f n=0
	for f in /proc/"$empid"/fd/*; do
		[ -e "$f" ] || [ -L "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# settle: wait (at most 5 s) until the fd and thread counts hold still:
# the threads of the last connections of a round end after mload has gone
settle() {
	local prev=-1 cur
	for _ in $(seq 1 25); do
		cur="$(nfds) $(status Threads)"
		[ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 0.2
	done
}

# slice FILE FROM: the bytes of FILE from offset FROM to its end now
slice() {
	tail -c +$(($2 + 1)) "$1"
}

# field KEY LINE: one key=value of mload's last line ("-" if missing)
field() {
	local k=$1 kv
	for kv in $2; do
		[ "${kv%%=*}" = "$k" ] && { echo "${kv#*=}"; return; }
	done
	echo -
}

# errlines FROM: the milter's error lines since that offset: warning or
# worse, and any line without a priority (a sanitizer's or the C
# library's report, say; its empty and all-"=" lines are left out, so
# that the first line says what it is)
errlines() {
	slice "$log" "$1" | grep -Ev '^(<[5-7]>.*|=*)$'
}

fmt='%5s %9s %7s %7s %9s %5s %7s %6s %7s %8s\n'
printf "$fmt" round messages failed errors "RSS KiB" fds threads \
    logged secs "msgs/s"
printf '%.80s\n' "$(printf '%0100d' 0 | tr 0 -)"

fails=()
# fail WORDS...: note one reason for the verdict
fail() {
	fails+=("$*")
}
off=$(stat -c %s "$log")
# Startup errors count too (the probe's one line is left out).
if errlines 0 | grep -vxF "$probe" | head -5 >"$dir/err0" &&
    [ -s "$dir/err0" ]; then
	fail "errors at startup: $(head -1 "$dir/err0")"
fi
settle
rss0=$(status VmRSS)
printf "$fmt" 0 0 - - "$rss0" "$(nfds)" "$(status Threads)" - - -

per_round=$((total / rounds))
half=$((conc / 2))
done_msgs=0
declare -a rss fds thr
for r in $(seq 1 "$rounds"); do
	n=$per_round
	[ "$r" = "$rounds" ] && n=$((total - per_round * (rounds - 1)))
	na=$(((n + 1) / 2))
	nb=$((n - na))
	t0=$(date +%s.%N)
	mload_run "$((conc - half))" "$na" acme soak@acme.example \
	    >"$dir/a.out" 2>"$dir/a.err" &
	mpids=($!)
	mload_run "$half" "$nb" soak@beta.example soak@beta.example \
	    >"$dir/b.out" 2>"$dir/b.err" &
	mpids+=($!)
	# Wait for both; if the milter dies, mload would retry for long.
	while running "${mpids[0]}" || running "${mpids[1]}"; do
		if ! alive; then
			kill "${mpids[@]}" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "${mpids[0]}"
	rca=$?
	wait "${mpids[1]}"
	rcb=$?
	mpids=()
	t1=$(date +%s.%N)
	la=$(tail -1 "$dir/a.out")
	lb=$(tail -1 "$dir/b.out")

	ok=0
	for t in a b; do
		line=$la rc=$rca want=$na
		[ $t = b ] && line=$lb rc=$rcb want=$nb
		o=$(field ok "$line")
		[ "$o" = - ] && o=0
		ok=$((ok + o))
		if [ "$rc" != 0 ] || [ "$o" != "$want" ]; then
			fail "round $r: mload ($t) exit $rc, $o of $want" \
			    "accepted: ${line:-no figures}" \
			    "$(head -2 "$dir/$t.err" | tr '\n' ' ')"
		elif [ "$(field inserts_per_msg "$line")" != "$inserts_want" ]
		then
			fail "round $r: mload ($t): inserts_per_msg" \
			    "$(field inserts_per_msg "$line"), want" \
			    "$inserts_want (2 signatures, route header)"
		fi
	done
	done_msgs=$((done_msgs + n))
	failed=$((n - ok))

	alive=1
	if ! alive; then
		alive=0
		fail "round $r: egress-milter died"
	fi
	rss[r]=
	fds[r]=
	thr[r]=
	if [ $alive = 1 ]; then
		settle
		rss[r]=$(status VmRSS)
		fds[r]=$(nfds)
		thr[r]=$(status Threads)
	fi

	errlines "$off" >"$dir/err"
	nerr=$(wc -l <"$dir/err")
	[ "$nerr" -gt 0 ] && fail "round $r: $nerr error line(s)," \
	    "first: $(head -1 "$dir/err")"
	logged=$(slice "$log" "$off" |
	    grep -c '^<6>[^ ]*: done .* action=accept ')
	# (when an mload was stopped, its count is lost)
	if [ "$rca$rcb" = 00 ] && [ "$logged" != "$ok" ]; then
		fail "round $r: $logged summary lines with action=accept" \
		    "for $ok accepted messages"
	fi
	off=$(stat -c %s "$log")

	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	rate=$(awk -v n="$n" -v s="$secs" \
	    'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	printf "$fmt" "$r" "$done_msgs" "$failed" "$nerr" \
	    "${rss[r]:--}" "${fds[r]:--}" "${thr[r]:--}" "$logged" \
	    "$secs" "$rate"
	[ $alive = 1 ] || break
done

# ---- verdict ---------------------------------------------------------------

last=$r
if [ $alive = 1 ]; then
	if [ "${fds[last]}" -gt "${fds[1]}" ]; then
		fail "fds grew: ${fds[1]} after round 1," \
		    "${fds[last]} after round $last"
	fi
	for i in $(seq 1 "$last"); do
		if [ "${thr[i]}" -gt $((2 + 2 * conc)) ]; then
			fail "round $i: ${thr[i]} threads, more than" \
			    "$((2 + 2 * conc)) (main, max_connections," \
			    "one in accept())"
		fi
	done
	if [ $((rss[last] * 100)) -gt $((rss[2] * 110)) ]; then
		fail "RSS grew more than 10%: ${rss[2]} KiB after" \
		    "round 2, ${rss[last]} KiB after round $last"
	fi
	if [ "$per_conn" -gt 0 ]; then
		# One connection, one message more than the cap: that one
		# gets 451 4.7.0 at MAIL FROM (mload: tempfail), logged at
		# info level.
		line=$("$mload" -s "unix:$sock" -c 1 -n $((per_conn + 1)) \
		    -S "$size" -l acme -F soak@acme.example -q 2>/dev/null |
		    tail -1)
		cap="^<6>NOQUEUE: $per_conn messages in one SMTP session"
		capped=$(slice "$log" "$off" | grep -c "$cap")
		if [ "$(field ok "$line")" != "$per_conn" ] ||
		    [ "$(field tempfail "$line")" != 1 ] || [ "$capped" != 1 ]
		then
			fail "session cap: $((per_conn + 1)) messages on one" \
			    "connection: ${line:-no figures};" \
			    "$capped cap line(s) logged, want" \
			    "$per_conn accepted, 1 tempfail, 1 line"
		fi
	fi
	# idle: the connection threads end, one stays in accept()
	sleep "${SOAK_IDLE:-65}"
	idle_thr=$(status Threads)
	if [ "$idle_thr" != 2 ]; then
		fail "$idle_thr threads after ${SOAK_IDLE:-65} s idle, want 2" \
		    "(main, one in accept())"
	fi
	# the one left in accept() (its wait timed out) still serves
	line=$("$mload" -s "unix:$sock" -c 1 -n 1 -S "$size" -l acme \
	    -F soak@acme.example -q 2>/dev/null | tail -1)
	[ "$(field ok "$line")" = 1 ] ||
	    fail "after the idle wait: ${line:-no figures}, want 1 accepted"
	kill -TERM "$empid"
	stopped=0
	for _ in $(seq 1 100); do
		alive || { stopped=1; break; }
		sleep 0.1
	done
	if [ $stopped = 0 ]; then
		fail "egress-milter still running 10 s after SIGTERM"
	else
		wait "$empid"
		rc=$?
		[ "$rc" = 0 ] ||
		    fail "egress-milter exited $rc after SIGTERM"
		errlines "$off" >"$dir/err"
		[ -s "$dir/err" ] && fail "error at shutdown:" \
		    "$(head -1 "$dir/err")"
	fi
	empid=
fi

echo "soak: $done_msgs messages in $last rounds, $conc connections" \
    "($per_conn messages each), $size; RSS ${rss0} KiB at start," \
    "${rss[1]:-?} after round 1, ${rss[2]:-?} after round 2," \
    "${rss[last]:-?} at the end; fds ${fds[1]:-?} after round 1," \
    "${fds[last]:-?} at the end; threads ${thr[1]:-?} after round 1," \
    "${thr[last]:-?} after the last, ${idle_thr:-?} after" \
    "${SOAK_IDLE:-65} s idle"
if [ ${#fails[@]} -gt 0 ]; then
	for f in "${fails[@]}"; do
		echo "soak: FAIL: $f"
	done
	exit 1
fi
echo "soak: PASS"
exit 0
