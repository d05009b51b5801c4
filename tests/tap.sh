# tap.sh - TAP helpers for shell tests (sourced)
# ok/not_ok print one line each; check runs a command; tap_done ends.
tap_n=0
tap_failed=0

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

# diag TEXT - a TAP comment line
diag() {
	echo "# $*"
}

# check DESC CMD... - ok when CMD exits 0; its output as comments otherwise
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'
	fi
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}
