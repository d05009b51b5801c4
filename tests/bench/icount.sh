#!/bin/bash
# icount.sh - instructions per message: the one figure this kind of
# machine does not drift on.  A benchmark tool, not a test (it prints
# figures and asserts nothing).  Called by `make bench-icount`.
#
#   tests/bench/icount.sh BUILDDIR [OTHER-EGRESS-MILTER...]
#
# Runs egress-milter (BUILDDIR/egress-milter, then each other binary
# given, an older build say) under valgrind's callgrind, sends it
# ICOUNT_MSGS (default 300) and then three times as many messages with
# mload, and prints the instructions of one message: the difference of the
# two runs' totals divided by the difference of their message counts, so
# start-up, key loading and the exit cancel out.  One milter connection per
# message (mload -m 1), as Postfix opens one per SMTP session, 2 at a time.
# ICOUNT_ALGS (default "rsa ed25519 dual") and ICOUNT_SIZE (default 4k)
# choose the cells.
#
# Use it to tell a change's cost from the machine's drift: two runs of
# one build agree to tens of instructions with Ed25519 and to 0.2% with
# RSA (its blinding is random), where msgs/s differ by 10% from one
# minute to the next.  The crypto's share is
# not the native one: valgrind hides CPU features it does not emulate
# (SHA-NI, AVX-512), so OpenSSL takes other code paths under it; compare
# builds with each other, not with cfloor.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

builddir=${1:?usage: icount.sh BUILDDIR [OTHER-EGRESS-MILTER...]}
shift
msgs=${ICOUNT_MSGS:-300}
algs=${ICOUNT_ALGS:-rsa ed25519 dual}
size=${ICOUNT_SIZE:-4k}
mload=$builddir/tests/bench/mload
[ -x "$mload" ] || mload=$builddir/mload
bins=("$builddir/egress-milter" "$@")

for f in "$mload" "${bins[@]}"; do
	[ -x "$f" ] || { echo "icount: $f: not built" >&2; exit 1; }
done
command -v valgrind >/dev/null ||
    { echo "icount: valgrind is not installed" >&2; exit 1; }
bench_run_user

dir=$(mktemp -d /tmp/icount.XXXXXX) || exit 1
chmod 755 "$dir"		# the socket is reached after the drop
vpid=
cleanup() {
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_keys "$dir" || { echo "icount: openssl genpkey failed" >&2; exit 1; }

# total BIN ALG N: callgrind's instruction total for a run of N messages
total() {
	local out=$dir/cg.out i
	# created here, writable after egress-milter drops its privileges:
	# callgrind writes its file when the process exits
	rm -f "$out"
	: >"$out" && chmod 666 "$out"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$1" -f \
	    -c "$dir/$2.conf" >"$dir/valgrind.log" 2>&1 &
	vpid=$!
	for i in $(seq 1 200); do
		"$mload" -s "unix:$dir/em.sock" -c 1 -n 1 -q >/dev/null 2>&1 &&
		    break
		kill -0 "$vpid" 2>/dev/null || break
		sleep 0.2
	done
	if ! "$mload" -s "unix:$dir/em.sock" -c 2 -m 1 -n "$3" -S "$size" \
	    -q >"$dir/mload.out" 2>&1; then
		echo "icount: mload failed:" >&2
		tail -3 "$dir/mload.out" "$dir/valgrind.log" >&2
		return 1
	fi
	kill "$vpid"
	wait "$vpid"
	vpid=
	awk '/^totals:/ { print $2; found = 1 } END { exit !found }' "$out" ||
	    { echo "icount: no callgrind totals" >&2; tail -3 \
	    "$dir/valgrind.log" >&2; return 1; }
}

echo "icount: instructions per message under callgrind (${size}, a milter" \
    "connection per message; $msgs and $((3 * msgs)) messages, the" \
    "difference)"
printf '%-8s %-40s %12s\n' alg build "instr/msg"
for alg in $algs; do
	bench_em_conf "$dir" "$alg" "unix:$dir/em.sock" >"$dir/$alg.conf"
	for bin in "${bins[@]}"; do
		a=$(total "$bin" "$alg" "$msgs") || exit 1
		b=$(total "$bin" "$alg" $((3 * msgs))) || exit 1
		printf '%-8s %-40s %12.0f\n' "$alg" "$bin" \
		    "$(awk -v a="$a" -v b="$b" -v n="$msgs" \
		    'BEGIN { print (b - a) / (2 * n) }')"
	done
done
exit 0
