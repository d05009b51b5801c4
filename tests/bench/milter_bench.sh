#!/bin/bash
# milter_bench.sh - egress-milter against OpenDKIM: same keys, same messages,
# same run, cells interleaved.  A benchmark: it prints figures and asserts
# nothing (it fails only when it cannot run at all).  Called by `make bench`.
#
#   tests/bench/milter_bench.sh BUILDDIR [OUTDIR]
#
# BUILDDIR holds egress-milter and mload (BUILDDIR/tests/bench/mload, or
# BUILDDIR/mload).  With OUTDIR, the table is also written to
# OUTDIR/milter_bench.tsv.  Environment: BENCH_SECS (seconds per cell,
# default 5), BENCH_ROUNDS (runs per cell and daemon, the best kept;
# default 1), BENCH_PORT (TCP ports BENCH_PORT and BENCH_PORT+1 on
# 127.0.0.1, default 11040), OPENDKIM (default /usr/sbin/opendkim),
# BENCH_KEEP=1 keeps the scratch directory (daemon logs).
#
# In a scratch directory: one RSA-2048 and one Ed25519 key, and for each
# of rsa, ed25519 and dual (both keys) an egress-milter and an OpenDKIM
# signing acme.example over a unix socket.  For 4 KiB and 64 KiB messages
# and 1, 8 and 32 connections, mload drives each daemon for BENCH_SECS,
# egress-milter and OpenDKIM back to back (which goes first alternates),
# reading each daemon's CPU time from /proc.  Next to each cell, cfloor
# measures the crypto floor (SHA-256 of the body and headers, the
# signatures, nothing else) on the same keys, and the table divides the
# milter's CPU per message by it.  Then egress-milter alone with
# milter.defer_refusals = true (rows rsa/1rt, ed/1rt: one round trip a
# message); then tests/bench/nullmilter, a milter that does no work (row
# null: what the plumbing alone costs); then, for RSA and Ed25519 at 4
# KiB, BENCH_PAIRS (default 5) runs at 8 and at 32 connections back to
# back, each pair in turn, and
# the median of the c=32/c=8 throughput ratios (whether throughput falls
# as concurrency rises, measured where the machine's drift cancels out);
# then one TCP row per daemon (RSA, 4 KiB, one connection): its p99 shows
# the delayed-ACK stall.
#
# OpenDKIM gets its cheapest setup: one key with KeyFile (loaded once) for
# rsa and ed25519 (SignatureAlgorithm ed25519-sha256), KeyTable and
# SigningTable with MultipleSignatures for dual.  OpenDKIM 2.11 has one
# global SignatureAlgorithm, so it cannot sign with an RSA and an Ed25519
# key in one pass; each configuration is probed first and a daemon that
# does not add one signature per key is reported, not measured.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

builddir=${1:?usage: milter_bench.sh BUILDDIR [OUTDIR]}
outdir=${2:-}
secs=${BENCH_SECS:-5}
rounds=${BENCH_ROUNDS:-1}
port=${BENCH_PORT:-11040}
opendkim=${OPENDKIM:-/usr/sbin/opendkim}
em=$builddir/egress-milter
mload=$builddir/tests/bench/mload
[ -x "$mload" ] || mload=$builddir/mload
cfloor=$builddir/tests/bench/cfloor
[ -x "$cfloor" ] || cfloor=$builddir/cfloor
nullm=$builddir/tests/bench/nullmilter
[ -x "$nullm" ] || nullm=$builddir/nullmilter
from=bench@acme.example
sizes="4k 64k"
algs="rsa ed25519 dual"
concs="1 8 32"

for f in "$em" "$mload" "$cfloor"; do
	[ -x "$f" ] || { echo "milter_bench: $f: not built" >&2; exit 1; }
done
if ! command -v openssl >/dev/null; then
	echo "milter_bench: no openssl" >&2
	exit 1
fi
have_od=1
if [ ! -x "$opendkim" ]; then
	have_od=0
	echo "milter_bench: $opendkim not installed: egress-milter only"
fi
bench_run_user

dir=$(mktemp -d /tmp/milter-bench.XXXXXX) || exit 1
chmod 755 "$dir"		# the sockets are reached after the drop
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "milter_bench: kept $dir"
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- keys and configurations -----------------------------------------------

bench_keys "$dir" ||
	{ echo "milter_bench: openssl genpkey failed" >&2; exit 1; }

# em_conf ALG SOCKET [MILTER-SETTINGS]: an egress-milter configuration on
# stdout
em_conf() { bench_em_conf "$dir" "$@"; }

# od_conf ALG SOCKET: an OpenDKIM configuration on stdout
od_conf() {
	cat <<EOF
Mode			s
Socket			$2
Canonicalization	relaxed/relaxed
OversignHeaders		From
Background		no
Syslog			no
# The scratch directory is under /tmp (writable by all): OpenDKIM's safe
# key check refuses any key below it.  egress-milter checks the files.
RequireSafeKeys		no
EOF
	case $1 in
	rsa)	printf 'Domain\t\t\tacme.example\nSelector\t\trsa\n'
		printf 'KeyFile\t\t\t%s\n' "$dir/rsa.pem" ;;
	ed25519) printf 'Domain\t\t\tacme.example\nSelector\t\ted\n'
		printf 'KeyFile\t\t\t%s\n' "$dir/ed.pem"
		printf 'SignatureAlgorithm\ted25519-sha256\n' ;;
	dual)	printf 'rsa acme.example:rsa:%s\ned acme.example:ed:%s\n' \
		    "$dir/rsa.pem" "$dir/ed.pem" >"$dir/keytable"
		printf '*@acme.example rsa\n*@acme.example ed\n' \
		    >"$dir/signingtable"
		printf 'KeyTable\t\tfile:%s\n' "$dir/keytable"
		printf 'SigningTable\t\trefile:%s\n' "$dir/signingtable"
		printf 'MultipleSignatures\tyes\n' ;;
	esac
}

# nkeys ALG: signatures expected per message (nullmilter inserts two
# headers of their size)
nkeys() { case $1 in dual|null) echo 2 ;; *) echo 1 ;; esac; }

# ---- daemons ---------------------------------------------------------------

# start NAME SOCKET CMD...: start a daemon (log in the scratch dir), wait
# until mload can talk to it; sets $started to its PID (empty on failure)
start() {
	local name=$1 sock=$2
	shift 2
	"$@" >"$dir/$name.log" 2>&1 &
	started=$!
	pids+=("$started")
	for _ in $(seq 1 100); do
		if ! kill -0 "$started" 2>/dev/null; then
			echo "milter_bench: $name exited:" >&2
			tail -5 "$dir/$name.log" >&2
			started=
			return 1
		fi
		"$mload" -s "$sock" -c 1 -n 1 -F "$from" -q \
		    >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "milter_bench: $name not answering on $sock" >&2
	started=
	return 1
}

# stop PID: stop a daemon we started
stop() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# field KEY LINE...: one key=value of mload's last line ("-" if missing)
field() {
	local k=$1 kv
	shift
	for kv in "$@"; do
		[ "${kv%%=*}" = "$k" ] && { echo "${kv#*=}"; return; }
	done
	echo -
}

# probe SOCKET ALG: empty if the daemon signs every message once per key,
# else what went wrong
probe() {
	local line
	line=$("$mload" -s "$1" -c 1 -n 20 -F "$from" -q 2>&1 | tail -1)
	if [ "$(field ok $line)" = 20 ] &&
	    [ "$(field inserts_per_msg $line)" = "$(nkeys "$2").00" ]; then
		return 0
	fi
	echo "ok=$(field ok $line) tempfail=$(field tempfail $line)" \
	    "err=$(field err $line)" \
	    "inserts_per_msg=$(field inserts_per_msg $line)"
	return 1
}

# measure SOCKET PID SIZE C: mload's last line for one cell, the best of
# BENCH_ROUNDS runs (by rate: on a shared 2-core machine single runs vary
# by about 10%)
measure() {
	local r line best= brate=-1 rate
	for r in $(seq 1 "$rounds"); do
		line=$("$mload" -s "$1" -p "$2" -S "$3" -c "$4" -t "$secs" \
		    -F "$from" -q 2>>"$dir/mload.err" | tail -1)
		rate=$(field rate $line)
		[ "$rate" = - ] && rate=0
		if awk -v a="$rate" -v b="$brate" 'BEGIN { exit !(a > b) }'; then
			best=$line
			brate=$rate
		fi
	done
	echo "$best"
}

# floor ALG SIZE: the crypto floor in ms per message, measured now (this
# machine's speed drifts: the floor is taken next to the cell it divides)
floor() {
	local bytes line
	case $2 in
	*k)	bytes=$((${2%k} * 1024)) ;;
	*)	bytes=$2 ;;
	esac
	line=$("$cfloor" "$dir/rsa.pem" "$dir/ed.pem" 1 "$1" "$bytes" \
	    2>>"$dir/mload.err")
	awk -v us="$(field us $line)" \
	    'BEGIN { if (us == "-") print "-"; else printf "%.3f", us / 1000 }'
}

# ---- the table -------------------------------------------------------------

fmt='%-5s %-7s %-4s %3s | %8s %7s %7s %6s %6s %5s | %8s %7s %7s %6s | %6s\n'
tsv=
[ -n "$outdir" ] && { mkdir -p "$outdir" && tsv=$outdir/milter_bench.tsv; }
# mload's figures kept in the TSV, for each daemon
tsvkeys="rate p50_ms p90_ms p99_ms max_ms cpu_ms_per_msg inserts_per_msg
    tempfail err msgs thread_min thread_max"
notes=()

header() {
	printf "$fmt" size alg sock c "em/s" p50 p99 cpu floor "x" "od/s" p50 \
	    p99 cpu "em/od"
	printf '%.103s\n' "$(printf '%0110d' 0 | tr 0 -)"
	[ -n "$tsv" ] || return 0
	printf '%s\t' size alg transport c >"$tsv"
	printf 'em_%s\t' $tsvkeys >>"$tsv"
	printf 'od_%s\t' $tsvkeys >>"$tsv"
	printf 'floor_ms\tcpu_over_floor\tratio\n' >>"$tsv"
}

# row SIZE ALG TRANSPORT C EMLINE ODLINE FLOOR: print and record one cell
row() {
	local e=$5 o=$6 fl=$7 er orate ratio k x
	er=$(field rate $e)
	x=$(awk -v c="$(field cpu_ms_per_msg $e)" -v f="$fl" \
	    'BEGIN { if (c == "-" || f == "-" || f <= 0) print "-"
		else printf "%.2f", c / f }')
	orate=$(field rate $o)
	ratio=-
	if [ "$er" != - ] && [ "$orate" != - ]; then
		ratio=$(awk -v a="$er" -v b="$orate" \
		    'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	printf "$fmt" "$1" "$2" "$3" "$4" \
	    "$er" "$(field p50_ms $e)" "$(field p99_ms $e)" \
	    "$(field cpu_ms_per_msg $e)" "$fl" "$x" \
	    "$orate" "$(field p50_ms $o)" "$(field p99_ms $o)" \
	    "$(field cpu_ms_per_msg $o)" "$ratio"
	if [ -n "$tsv" ]; then
		printf '%s\t' "$1" "$2" "$3" "$4" >>"$tsv"
		for k in $tsvkeys; do
			printf '%s\t' "$(field "$k" $e)"
		done >>"$tsv"
		for k in $tsvkeys; do
			printf '%s\t' "$(field "$k" $o)"
		done >>"$tsv"
		printf '%s\t%s\t%s\n' "$fl" "$x" "$ratio" >>"$tsv"
	fi
	check "egress-milter" "$1 $2 $3 c=$4" "$e" "$(nkeys "$2")"
	[ -n "$o" ] && check "opendkim" "$1 $2 $3 c=$4" "$o" "$(nkeys "$2")"
	return 0
}

# check WHO CELL LINE NKEYS: note errors, missing signatures, and
# connections served far less than others (libmilter's worker pool keeps
# a worker on a session whose next command comes within 1 ms)
check() {
	local ins err tf tmin tmax
	ins=$(field inserts_per_msg $3)
	err=$(field err $3)
	tf=$(field tempfail $3)
	tmin=$(field thread_min $3)
	tmax=$(field thread_max $3)
	if [ "$ins" != "$4.00" ] || [ "$err" != 0 ] || [ "$tf" != 0 ]; then
		notes+=("$1 $2: inserts_per_msg=$ins err=$err tempfail=$tf")
	fi
	if [ "$tmin" != - ] && [ $((tmin * 10)) -lt "$tmax" ]; then
		notes+=("$1 $2: uneven service: $tmin to $tmax messages \
per connection")
	fi
}

# cells ALG EMSOCK EMPID ODSOCK ODPID: every size and concurrency of one
# algorithm, the two daemons back to back, alternating which goes first
cells() {
	local alg=$1 size c e o fl n=0
	for size in $sizes; do
		for c in $concs; do
			e=
			o=
			fl=$(floor "$alg" "$size")
			if [ -z "$5" ]; then
				e=$(measure "$2" "$3" "$size" "$c")
			elif [ $((n++ % 2)) = 1 ]; then
				o=$(measure "$4" "$5" "$size" "$c")
				e=$(measure "$2" "$3" "$size" "$c")
			else
				e=$(measure "$2" "$3" "$size" "$c")
				o=$(measure "$4" "$5" "$size" "$c")
			fi
			row "$size" "$alg" unix "$c" "$e" "$o" "$fl"
		done
	done
}

echo "milter_bench: $(nproc) CPU(s), ${secs} s per cell, best of $rounds;" \
    "$("$em" -V 2>&1 | head -1);" \
    "$([ $have_od = 1 ] && "$opendkim" -V 2>&1 | head -1)"
echo "milter_bench: em = egress-milter, od = OpenDKIM; p50/p99: ms from" \
    "MAIL to the final reply; cpu: the daemon's CPU ms per message;" \
    "floor: the crypto floor (cfloor, measured next to the cell); x: cpu/floor"
header
for alg in $algs; do
	emsock=unix:$dir/em-$alg.sock
	odsock=unix:$dir/od-$alg.sock
	em_conf "$alg" "$emsock" >"$dir/em-$alg.conf"
	start "em-$alg" "$emsock" "$em" -f -c "$dir/em-$alg.conf" || exit 1
	empid=$started
	if ! why=$(probe "$emsock" "$alg"); then
		echo "milter_bench: egress-milter does not sign" \
		    "($alg): $why" >&2
		exit 1
	fi
	odpid=
	if [ $have_od = 1 ]; then
		od_conf "$alg" "local:$dir/od-$alg.sock" >"$dir/od-$alg.conf"
		start "od-$alg" "$odsock" "$opendkim" -f \
		    -x "$dir/od-$alg.conf" && odpid=$started
	fi
	if [ -n "$odpid" ] && ! why=$(probe "$odsock" "$alg"); then
		why="not measured: $(nkeys "$alg") signature(s) per message \
expected ($why)"
		[ "$alg" = dual ] && why="$why; OpenDKIM 2.11 has one global \
SignatureAlgorithm: no RSA + Ed25519 in one pass"
		notes+=("opendkim $alg: $why")
		stop "$odpid"
		odpid=
	fi
	cells "$alg" "$emsock" "$empid" "$odsock" "$odpid"
	stop "$empid"
	stop "$odpid"
done

# One round trip a message: milter.defer_refusals = true (egress-milter
# only: refusals at MAIL and RCPT move to the end of the message).
for alg in rsa ed25519; do
	emsock=unix:$dir/em-$alg-1rt.sock
	em_conf "$alg" "$emsock" "defer_refusals = true;" \
	    >"$dir/em-$alg-1rt.conf"
	start "em-$alg-1rt" "$emsock" "$em" -f -c "$dir/em-$alg-1rt.conf" ||
	    exit 1
	empid=$started
	for size in $sizes; do
		for c in $concs; do
			fl=$(floor "$alg" "$size")
			e=$(measure "$emsock" "$empid" "$size" "$c")
			row "$size" "${alg%25519}/1rt" unix "$c" "$e" "" "$fl"
		done
	done
	stop "$empid"
done

# The plumbing alone: tests/bench/nullmilter, our engine with the same
# negotiation and the same two header insertions but no work at all.
# Its CPU per message is what a message costs any milter that answers
# MAIL and end of message here (thread wakeups, reads, writes), against
# which egress-milter's cpu minus the floor is to be read.
if [ -x "$nullm" ]; then
	emsock=unix:$dir/null.sock
	start null "$emsock" "$nullm" -s "$emsock" || exit 1
	empid=$started
	for size in $sizes; do
		for c in $concs; do
			e=$(measure "$emsock" "$empid" "$size" "$c")
			row "$size" null unix "$c" "$e" "" -
		done
	done
	stop "$empid"
fi

# c=8 against c=32, in alternating pairs on one daemon: the ratio of each
# pair, then their median
pairs=${BENCH_PAIRS:-5}
echo
echo "concurrency: msgs/s at c=8 and c=32, $pairs pairs of ${secs} s runs" \
    "back to back (egress-milter, 4 KiB, unix socket)"
for alg in rsa ed25519; do
	emsock=unix:$dir/em-$alg-pairs.sock
	em_conf "$alg" "$emsock" >"$dir/em-$alg-pairs.conf"
	start "em-$alg-pairs" "$emsock" "$em" -f \
	    -c "$dir/em-$alg-pairs.conf" || exit 1
	empid=$started
	ratios=
	line8=
	line32=
	for r in $(seq 1 "$pairs"); do
		a=$("$mload" -s "$emsock" -p "$empid" -S 4k -c 8 -t "$secs" \
		    -F "$from" -q 2>>"$dir/mload.err" | tail -1)
		b=$("$mload" -s "$emsock" -p "$empid" -S 4k -c 32 -t "$secs" \
		    -F "$from" -q 2>>"$dir/mload.err" | tail -1)
		a=$(field rate $a)
		b=$(field rate $b)
		line8="$line8 $a"
		line32="$line32 $b"
		ratios="$ratios $(awk -v a="$a" -v b="$b" 'BEGIN {
		    if (a == "-" || b == "-" || a <= 0) print "-"
		    else printf "%.3f", b / a }')"
	done
	stop "$empid"
	printf '%-7s c=8: %s\n%-7s c=32:%s\n' "$alg" "$line8" "" "$line32"
	echo "$ratios" | tr ' ' '\n' | grep -v '^$' | sort -n | awk -v a="$alg" '
	    { v[NR] = $1; s = s " " $1 }
	    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%-7s c=32/c=8:%s; median %.3f\n", a, s, m }'
done

# TCP: one connection, RSA, 4 KiB.  libmilter does not set TCP_NODELAY,
# and neither does Postfix (nor mload without -N): a milter that writes
# two replies in a row at end of message (insert header, then continue)
# holds the second (Nagle) until the MTA's delayed ACK, about 40 ms.
emsock=inet:$port@127.0.0.1
odsock=inet:$((port + 1))@127.0.0.1
for p in "$port" $((port + 1)); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "milter_bench: 127.0.0.1:$p is in use (set BENCH_PORT)" >&2
		exit 1
	fi
done
em_conf rsa "$emsock" >"$dir/em-tcp.conf"
start em-tcp "$emsock" "$em" -f -c "$dir/em-tcp.conf" || exit 1
empid=$started
odpid=
if [ $have_od = 1 ]; then
	od_conf rsa "$odsock" >"$dir/od-tcp.conf"
	start od-tcp "$odsock" "$opendkim" -f -x "$dir/od-tcp.conf" &&
	    odpid=$started
fi
fl=$(floor rsa 4k)
e=$(measure "$emsock" "$empid" 4k 1)
o=
[ -n "$odpid" ] && o=$(measure "$odsock" "$odpid" 4k 1)
row 4k rsa tcp 1 "$e" "$o" "$fl"
stop "$empid"
stop "$odpid"

for n in "${notes[@]}"; do
	echo "note: $n"
done
if [ -s "$dir/mload.err" ]; then
	echo "mload errors (first lines):"
	head -5 "$dir/mload.err"
fi
[ -n "$tsv" ] && echo "milter_bench: wrote $tsv"
exit 0
