#!/bin/bash
# rl_bench.sh - run rl_bench, with a private redis-server on 127.0.0.1:16393
# for the Redis figures (stopped by PID on exit).  Called by `make bench`.
#
#   tests/bench/rl_bench.sh [PROGRAM]
set -u
prog=${1:-${top_builddir:-.}/tests/bench/rl_bench}
port=16393
dir=$(mktemp -d /tmp/em-bench.XXXXXX) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
if command -v redis-server >/dev/null 2>&1; then
	redis-server --port "$port" --bind 127.0.0.1 --save '' \
	    --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	"$prog" -r "127.0.0.1:$port"
else
	echo "redis-server not installed: memory figures only"
	"$prog"
fi
