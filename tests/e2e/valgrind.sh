#!/bin/bash
# valgrind.sh - representative e2e scripts with the milter under memcheck
#
#   tests/e2e/valgrind.sh [SCRIPT...]
#
# Runs signing.sh, tenants.sh, badmail.sh, alignment.sh and reload.sh (or
# the named scripts of tests/e2e/) one after the other with RIG_VALGRIND=1
# (reload.sh found OpenSSL thread state lost at exit, see mserv.c): the rig
# starts every milter under valgrind's memcheck (errors and definite or
# indirect leaks count; tests/valgrind.supp names leaks of Debian's
# libraries), gives it 120 s to open its socket, and fails a check when a
# milter it stops had an error. Here each script gives two lines: its own
# checks all passed, and memcheck ran at least once and every log says
# "ERROR SUMMARY: 0 errors" (also for milters the rig stopped after the
# script's plan). A script whose checks fail runs once more (see below).
# Prints "ok" / "not ok" lines and, last,
# "N passed, N failed", as tests/fuzz/run.sh does; tests/run --all and
# --valgrind run it on the normal (not sanitizer) build.
#
# Needs root, EGRESS_E2E=1, valgrind, and top_builddir (a configured and
# built tree; make check sets it) or the build in the source tree. The
# rig runs in a private network namespace (RIG_NETNS_ADDRS, default
# 192.0.2.250/32) so its fixed ports meet no other test. Logs are kept in
# $top_builddir/valgrind/ (SCRIPT.TRY.out, SCRIPT/valgrind.*).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${top_builddir:-$top}" && pwd)
out=$build/valgrind

if [ "${EGRESS_E2E:-}" != 1 ] || [ "$(id -u)" != 0 ]; then
	echo "ok - valgrind.sh # SKIP needs root and EGRESS_E2E=1"
	echo "0 passed, 0 failed"
	exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "not ok - valgrind.sh: no valgrind (apt-get install valgrind)"
	echo "0 passed, 1 failed"
	exit 1
fi
if ldd "$build/egress-milter" 2>/dev/null | grep -q libasan; then
	echo "not ok - valgrind.sh: $build/egress-milter is a sanitizer build"
	echo "0 passed, 1 failed"
	exit 1
fi
[ $# -gt 0 ] || set -- signing.sh tenants.sh badmail.sh alignment.sh reload.sh
export RIG_NETNS_ADDRS=${RIG_NETNS_ADDRS:-192.0.2.250/32}
export top_builddir=$build top_srcdir=$top EGRESS_E2E=1 RIG_VALGRIND=1

passed=0
failed=0
result() {	# STATUS DESC
	if [ "$1" -eq 0 ]; then
		echo "ok - $2"
		passed=$((passed + 1))
	else
		echo "not ok - $2"
		failed=$((failed + 1))
	fi
}

rm -rf "$out"
mkdir -p "$out"
# run_script NAME TRY: one run; sets st, n (checks), bad (failed), secs
run_script() {
	local start
	start=$(date +%s)
	RIG_VALGRIND_LOGDIR=$out/$1 bash "$here/$1.sh" >"$out/$1.$2.out" 2>&1
	st=$?
	secs=$(( $(date +%s) - start ))
	n=$(grep -cE '^(not )?ok ' "$out/$1.$2.out")
	bad=$(grep -cE '^not ok |^Bail out!' "$out/$1.$2.out")
	[ "$st" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]
}

for script in "$@"; do
	name=$(basename "$script" .sh)
	# Memcheck slows the milter many times over: on a loaded machine a
	# script's own timing (a 1.5 s DNS timeout) can fail a check. Such
	# a script runs once more; memcheck's logs of both runs count.
	note=
	if ! run_script "$name" 1; then
		note=", 2nd run; 1st: $((n - bad)) of $n in ${secs}s"
		grep -E -A 3 '^not ok |^Bail out!' "$out/$name.1.out" |
		    head -20 | sed 's/^/#   1st run: /'
		run_script "$name" 2
	fi
	result $(( st != 0 || bad != 0 || n == 0 )) "$name.sh under memcheck:\
 $((n - bad)) of $n checks passed (${secs}s$note)"
	[ "$st" -eq 0 ] && [ "$bad" -eq 0 ] ||
	    grep -E -A 3 '^not ok |^Bail out!' "$out/$name.2.out" | head -40 |
	    sed 's/^/#   /'
	runs=0
	dirty=
	for log in "$out/$name"/valgrind.*; do
		[ -f "$log" ] || continue
		runs=$((runs + 1))
		grep -q '^==[0-9]*== ERROR SUMMARY: 0 errors' "$log" ||
		    dirty="$dirty $log"
	done
	result $(( runs == 0 || ${#dirty} > 0 )) \
	    "$name.sh: memcheck clean in $runs milter run(s)"
	for log in $dirty; do
		what=$(grep -o 'ERROR SUMMARY: .*' "$log" | tail -n 1)
		echo "#   ${what:-no ERROR SUMMARY (killed?)} in $log"
	done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
