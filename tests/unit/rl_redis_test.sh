#!/bin/bash
# rl_redis_test.sh - run the rl_redis(3) unit test against a private
# redis-server (TAP)
#
#   tests/unit/rl_redis_test.sh [PROGRAM]
#
# PROGRAM defaults to $top_builddir/tests/unit/rl_redis_test (as make
# check sets top_builddir), else the rl_redis_test next to this script.
# Needs EGRESS_E2E=1 and redis-server, else it prints a SKIP plan.
#
# The script starts redis-server on 127.0.0.1:16391 and on a unix socket,
# both in a scratch directory, without persistence, and runs PROGRAM with
# RL_REDIS_TEST_PORT, RL_REDIS_TEST_SOCK and RL_REDIS_TEST_PID set
# (and RL_REDIS_TEST_V6=1 when the server also answers on [::1]);
# PROGRAM stops the server (SIGSTOP) and resumes it (SIGCONT) half-way.
# The server is resumed and stopped by PID on exit. Set
# RL_REDIS_TEST_KEEP=1 to keep the scratch directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
prog=${1:-${top_builddir:+$top_builddir/tests/unit/rl_redis_test}}
prog=${prog:-$here/rl_redis_test}
port=16391

if [ "${EGRESS_E2E:-}" != 1 ]; then
	echo "1..0 # SKIP needs redis-server (run via tests/run)"
	exit 0
fi
for t in redis-server redis-cli; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "Bail out! rl_redis_test.sh: missing $t" \
		    "(package redis-server)"
		exit 1
	fi
done
if [ ! -x "$prog" ]; then
	echo "Bail out! rl_redis_test.sh: no test program $prog"
	exit 1
fi

dir=$(mktemp -d /tmp/em-redis.XXXXXX) || exit 1
redis_pid=

cleanup() {
	local st=$?
	trap - EXIT INT TERM
	if [ -n "$redis_pid" ]; then
		kill -CONT "$redis_pid" 2>/dev/null	# the test may stop it
		kill "$redis_pid" 2>/dev/null
		wait "$redis_pid" 2>/dev/null
	fi
	[ "${RL_REDIS_TEST_KEEP:-}" = 1 ] || rm -rf "$dir"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# "-::1": also on ::1 when the machine has it (RL_REDIS_TEST_V6=1).
redis-server --port "$port" --bind 127.0.0.1 -::1 --save '' --appendonly no \
    --daemonize no --dir "$dir" --unixsocket "$dir/redis.sock" \
    --unixsocketperm 700 --logfile "$dir/redis.log" </dev/null &
redis_pid=$!

# Wait at most 10 s for the server to answer.
up=0
for _ in $(seq 100); do
	if ! kill -0 "$redis_pid" 2>/dev/null; then
		break
	fi
	if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] &&
	    [ -S "$dir/redis.sock" ]; then
		up=1
		break
	fi
	sleep 0.1
done
if [ "$up" != 1 ]; then
	echo "Bail out! rl_redis_test.sh: redis-server did not start on" \
	    "port $port"
	sed 's/^/#   /' "$dir/redis.log" 2>/dev/null | tail -10
	exit 1
fi

v6=0
[ "$(redis-cli -h ::1 -p "$port" ping 2>/dev/null)" = PONG ] && v6=1

RL_REDIS_TEST_PORT=$port RL_REDIS_TEST_SOCK=$dir/redis.sock \
    RL_REDIS_TEST_PID=$redis_pid RL_REDIS_TEST_V6=$v6 "$prog"
st=$?
if [ "$st" != 0 ]; then
	echo "# redis-server log:"
	sed 's/^/#   /' "$dir/redis.log" 2>/dev/null | tail -20
fi
exit "$st"
