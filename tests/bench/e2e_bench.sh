#!/bin/bash
# e2e_bench.sh - Postfix throughput with no milter, with OpenDKIM and with
# egress-milter (RSA-2048 + Ed25519 dual signing), in one run (a benchmark,
# not a test: it prints figures).
#
#   sudo tests/bench/e2e_bench.sh [BUILDDIR [OUTDIR]]
#
# A throwaway Postfix on 127.0.0.1:10025 (the e2e rig, in its own mount
# namespace) relays to an smtp-sink that keeps nothing. smtp-source sends
# BENCH_MSGS (default 4000) messages of 4 KiB over BENCH_SESSIONS (8)
# parallel SMTP sessions; the time is from the first connection to the last
# "status=sent" in Postfix's log. Each configuration runs BENCH_ROUNDS (3)
# times, interleaved (none, OpenDKIM, ours; then ours, OpenDKIM, none;
# ...); the table gives
# the median round (rounds differ by up to 30% on this shared machine)
# and the best. OpenDKIM signs with the same RSA key (one signature, its common use).
# Prints one line per configuration, the ratio to Postfix alone, and the
# milter's CPU per message; OUTDIR gets e2e_bench.txt.
#
# Then latency over TCP, one transaction at a time: Postfix with each
# milter on a TCP socket (127.0.0.1), tests/tools/smtp-latency sending
# BENCH_LAT_MSGS (default 300) messages over one SMTP session and timing
# each from MAIL FROM to the reply to the final dot: p50/p99 per
# configuration, Postfix alone first. A Nagle or delayed-ACK stall between
# Postfix and a milter shows as 40 ms or more per message. For these rows
# Postfix's queue is on a tmpfs (BENCH_LAT_TMPFS=0: on disk, as the rest):
# its fsync() per message would otherwise be most of the time measured and
# all of its spread.
#
# BENCH_EM_OTHER=PATH adds another egress-milter binary (an older build,
# say) as configuration "egress-other", interleaved with the rest: the
# way to tell a regression from this machine's drift; BENCH_EM_OTHER_MILTER
# adds settings to its milter { } group (BENCH_EM_OTHER may then name the
# same binary). BENCH_MODES picks configurations ("postfix-alone
# egress-milter", say; also "egress-ed": egress-milter signing with the
# Ed25519 key alone; "null-milter": tests/bench/nullmilter, a milter on
# our engine that negotiates as egress-milter does and inserts two
# headers the size of its signatures but computes nothing, so what any
# milter with this protocol pattern costs Postfix here);
# BENCH_LAT_MSGS=0 skips the latency rows.
set -u
export EGRESS_E2E=1
BUILDDIR=$(cd "${1:-${top_builddir:-.}}" && pwd)
OUTDIR=${2:-}
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/rig.sh"
rig_init "$@"

MSGS=${BENCH_MSGS:-4000}
SESSIONS=${BENCH_SESSIONS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
LAT_MSGS=${BENCH_LAT_MSGS:-300}
LAT_PORT=${BENCH_PORT:-11050}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
EM=$BUILDDIR/egress-milter
EM_OTHER=${BENCH_EM_OTHER:-}
MODES=${BENCH_MODES:-"postfix-alone opendkim egress-milter egress-ed null-milter${EM_OTHER:+ egress-other}"}
SRC=$(command -v smtp-source || echo /usr/sbin/smtp-source)
LAT_TOOL=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/smtp-latency
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)

rig_key rsa "$RIG_DIR/rsa.key" && rig_key ed25519 "$RIG_DIR/ed.key" || exit 1
chown nobody "$RIG_DIR/rsa.key" "$RIG_DIR/ed.key"
cat >"$RIG_DIR/em.conf" <<EOF
milter: { socket = "unix:$RIG_DIR/em.sock"; user = "nobody";
          socket_group = "postfix"; };
alignment: { enabled = false; };
domains = ( { name = "acme.example";
              keys = ( { selector = "rsa"; file = "$RIG_DIR/rsa.key"; },
                       { selector = "ed"; file = "$RIG_DIR/ed.key"; } ); } );
EOF
sed "s|socket_group = \"postfix\";|& ${BENCH_EM_OTHER_MILTER:-}|" \
    "$RIG_DIR/em.conf" >"$RIG_DIR/em-other.conf"
# egress-ed: the same milter with the Ed25519 key alone (what the
# plumbing costs without the RSA signature)
grep -v 'selector = "rsa"' "$RIG_DIR/em.conf" |
    sed 's|{ selector = "ed"|keys = ( &|' >"$RIG_DIR/em-ed.conf"
# the same over TCP, for the latency rows
sed "s|unix:$RIG_DIR/em.sock|inet:$LAT_PORT@127.0.0.1|" "$RIG_DIR/em.conf" \
    >"$RIG_DIR/em-tcp.conf"
mkdir -p "$RIG_DIR/od"
cp "$RIG_DIR/rsa.key" "$RIG_DIR/od/od.key"
chown -R opendkim "$RIG_DIR/od" 2>/dev/null || chown -R nobody "$RIG_DIR/od"
cat >"$RIG_DIR/opendkim.conf" <<EOF
Mode s
Domain acme.example
Selector rsa
KeyFile $RIG_DIR/od/od.key
Socket local:$RIG_DIR/od/od.sock
RequireSafeKeys no
UMask 000
Canonicalization relaxed/relaxed
Syslog no
Background no
UserID $(id -u opendkim >/dev/null 2>&1 && echo opendkim || echo nobody)
InternalHosts 127.0.0.0/8
EOF
sed "s|^Socket .*|Socket inet:$((LAT_PORT + 1))@127.0.0.1|" \
    "$RIG_DIR/opendkim.conf" >"$RIG_DIR/opendkim-tcp.conf"

# a 4 KiB message From acme.example
{
	printf 'From: bench@acme.example\r\nTo: rcpt@dest.example\r\n'
	printf 'Subject: e2e bench\r\nMIME-Version: 1.0\r\n'
	printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
	i=0
	while [ "$i" -lt 56 ]; do
		printf 'line %02d of the body of a four kilobyte message xxxxxxxxxxxx\r\n' "$i"
		i=$((i + 1))
	done
} >"$RIG_DIR/msg.txt"

cpu_ticks() {	# PID: utime + stime in clock ticks
	[ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

sys_ticks() {	# all CPUs: busy clock ticks (not idle, iowait or steal)
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

sent_count() {
	grep -c 'status=sent' "$RIG_POSTFIX_DIR/maillog" 2>/dev/null || echo 0
}

# run MODE: one round; prints "MODE SECONDS MILTER_CPU_MS_PER_MSG SENT
# ALL_CPU_MS_PER_MSG"
run() {
	local mode=$1 addr= pid= t0 t1 c0 c1 s0 s1 n
	case $mode in
	egress-*|null-milter)
		if [ "$mode" = null-milter ]; then
			rig_spawn em "$BUILDDIR/tests/bench/nullmilter" \
			    -s "unix:$RIG_DIR/em.sock"
		elif [ "$mode" = egress-other ]; then
			rig_spawn em "$EM_OTHER" -f -c "$RIG_DIR/em-other.conf"
		elif [ "$mode" = egress-ed ]; then
			rig_spawn em "$EM" -f -c "$RIG_DIR/em-ed.conf"
		else
			rig_spawn em "$EM" -f -c "$RIG_DIR/em.conf"
		fi || return 1
		pid=$(rig_spawn_pid em)
		rig_wait_socket "$RIG_DIR/em.sock" 10 "$pid" || return 1
		addr=unix:$RIG_DIR/em.sock ;;
	opendkim)
		rig_spawn od /usr/sbin/opendkim -f -x "$RIG_DIR/opendkim.conf" ||
		    return 1
		pid=$(rig_spawn_pid od)
		rig_wait_socket "$RIG_DIR/od/od.sock" 10 "$pid" || return 1
		addr=unix:$RIG_DIR/od/od.sock ;;
	esac
	rig_postfix_start "$addr" >/dev/null || return 1
	c0=$(cpu_ticks "$pid")
	s0=$(sys_ticks)
	t0=$(date +%s.%N)
	"$SRC" -s "$SESSIONS" -m "$MSGS" -F "$RIG_DIR/msg.txt" \
	    -f bench@acme.example -t rcpt@dest.example 127.0.0.1:10025 ||
	    return 1
	n=0
	while [ "$(sent_count)" -lt "$MSGS" ] && [ "$n" -lt 1200 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	s1=$(sys_ticks)
	awk -v m="$mode" -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" \
	    -v sc="$((s1 - s0))" \
	    -v n="$MSGS" -v hz="$(getconf CLK_TCK)" -v s="$(sent_count)" \
	    'BEGIN { printf "%s %.2f %.3f %d %.3f\n", m, b - a,
	        (c * 1000 / hz) / n, s, (sc * 1000 / hz) / n }'
	rig_postfix_stop >/dev/null 2>&1
	rm -rf "$RIG_POSTFIX_DIR"
	case $mode in
	egress-*|null-milter) rig_spawn_stop em ;;
	opendkim) rig_spawn_stop od ;;
	esac
	return 0
}

"$SINK" -u postfix 127.0.0.1:10026 512 >/dev/null 2>&1 {RIG_TAP_FD}>&- &
RIG_SINK_PID=$!
_rig_wait_for 10 _rig_smtp_banner 127.0.0.1 10026 || exit 1

: >"$RIG_DIR/results"
# Every other round in reverse order: this machine drifts within a round
# too, and the configuration run second in each round came out slower
# whichever it was.
REVERSED=$(echo $MODES | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
for r in $(seq 1 "$ROUNDS"); do
	order=$MODES
	[ $((r % 2)) = 0 ] && order=$REVERSED
	for mode in $order; do
		run "$mode" | tee -a "$RIG_DIR/results" | sed 's/^/# /'
	done
done
awk -v msgs="$MSGS" -v sessions="$SESSIONS" -v modes="$MODES" '
	NF == 5 { k = ++n[$1]; t[$1, k] = $2; c[$1, k] = $3; sent[$1] = $4
		at[$1] += $5 }
	function isort(x, y, k,    i, j, h) {	# x[1..k] ascending, y alongside
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && x[j] < x[j - 1]; j--) {
				h = x[j]; x[j] = x[j - 1]; x[j - 1] = h
				h = y[j]; y[j] = y[j - 1]; y[j - 1] = h }
	}
	function med(m,    i, x, y) {	# median time; its round in mi
		for (i = 1; i <= n[m]; i++) { x[i] = t[m, i]; y[i] = i }
		isort(x, y, n[m])
		mi = y[int((n[m] + 1) / 2)]
		best[m] = x[1]
		return x[int((n[m] + 1) / 2)]
	}
	function paired(m,    i, x, y, k) {	# median of round-by-round ratios
		for (i = 1; i <= n[m] && i <= n[ref]; i++)
			x[i] = t[ref, i] / t[m, i]
		k = i - 1
		isort(x, y, k)
		return k ? x[int((k + 1) / 2)] : 0
	}
	END {
		printf "%-14s %8s %9s %8s %9s %7s %12s %10s %6s\n", "postfix+", "msgs/s", "vs alone", "best/s", "vs alone", "paired", "milter cpu", "all cpu", "sent"
		k = split(modes, order, " ")
		ref = ("postfix-alone" in n) ? "postfix-alone" : order[1]
		base = msgs / med(ref)
		bbase = msgs / best[ref]
		for (i = 1; i <= k; i++) {
			m = order[i]
			if (!(m in n)) continue
			rate = msgs / med(m)
			printf "%-14s %8.0f %8.0f%% %8.0f %8.0f%% %6.0f%% %9.3f ms %7.3f ms %6d\n", m, rate, 100 * rate / base, msgs / best[m], 100 * msgs / best[m] / bbase, 100 * paired(m), c[m, mi], at[m] / n[m], sent[m]
		}
		printf "(%d messages of 4 KiB, %d SMTP sessions, %d rounds: median and best round, \"vs\" %s, paired: median of its ratio to %s round by round; ours signs RSA-2048 + Ed25519, OpenDKIM RSA-2048;\n milter cpu: the milter'"'"'s CPU per message in the median round; all cpu: the CPU per message of every process on the machine, mean of the rounds)\n", msgs, sessions, n[ref], ref, ref
	}' "$RIG_DIR/results" | tee "$RIG_DIR/table"
# latency MODE: one configuration over TCP; prints "MODE smtp-latency-line"
latency() {
	local mode=$1 addr= line
	case $mode in
	egress-milter)
		rig_spawn emt "$EM" -f -c "$RIG_DIR/em-tcp.conf" || return 1
		_rig_wait_for 10 _rig_connect "127.0.0.1:$LAT_PORT" || return 1
		addr=inet:127.0.0.1:$LAT_PORT ;;
	opendkim)
		rig_spawn odt /usr/sbin/opendkim -f \
		    -x "$RIG_DIR/opendkim-tcp.conf" || return 1
		_rig_wait_for 10 _rig_connect "127.0.0.1:$((LAT_PORT + 1))" ||
		    return 1
		addr=inet:127.0.0.1:$((LAT_PORT + 1)) ;;
	esac
	if [ "${BENCH_LAT_TMPFS:-1}" = 1 ]; then
		mkdir -p "$RIG_DIR/postfix" &&
		    mount -t tmpfs -o size=256m,mode=755 tmpfs "$RIG_DIR/postfix" ||
		    return 1
	fi
	rig_postfix_start "$addr" >/dev/null || return 1
	line=$("$PY" "$LAT_TOOL" 127.0.0.1 10025 "$RIG_DIR/msg.txt" \
	    "$LAT_MSGS")
	echo "$mode $line"
	rig_postfix_stop >/dev/null 2>&1
	[ "${BENCH_LAT_TMPFS:-1}" = 1 ] && umount "$RIG_DIR/postfix"
	rm -rf "$RIG_POSTFIX_DIR"
	case $mode in
	egress-milter) rig_spawn_stop emt ;;
	opendkim) rig_spawn_stop odt ;;
	esac
	return 0
}

[ "$LAT_MSGS" -gt 0 ] && {
	echo
	echo "over TCP, one transaction at a time ($LAT_MSGS messages, one" \
	    "SMTP session; ms from MAIL FROM to the reply to the dot;" \
	    "queue on $([ "${BENCH_LAT_TMPFS:-1}" = 1 ] && echo tmpfs ||
	    echo disk)):"
	for mode in postfix-alone opendkim egress-milter; do
		latency "$mode" | awk '{ printf "%-14s", $1
		    for (i = 2; i <= NF; i++) printf " %s", $i; print "" }'
	done
} | tee -a "$RIG_DIR/table"
if [ -n "$OUTDIR" ]; then
	mkdir -p "$OUTDIR"
	cp "$RIG_DIR/table" "$OUTDIR/e2e_bench.txt"
fi
tap_done >/dev/null
