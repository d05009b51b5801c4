# mclient_lib.sh - shared set-up of the tests that drive the milter with
# the raw protocol client (tests/tools/mclient.py); sourced after tap.sh.
#
# Sets py (Debian's python3), dir (a scratch directory, removed at exit
# with every daemon whose PID is in pids or pid), user (whom the daemon
# runs as) and $dir/ed.key (an Ed25519 key that user may read).
# mclient_relay FILE: the "ok ..."/"not ok ..." lines a client printed to
# FILE become this script's TAP checks, other lines diagnostics.

py=/usr/bin/python3
[ -x "$py" ] || py=python3
dir=$(mktemp -d)
pid=
pids=()
_mclient_cleanup() {
	local p
	for p in ${pid:+"$pid"} "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$dir"
}
trap _mclient_cleanup EXIT
chmod 755 "$dir"		# the sockets are reached after the drop
user=nobody
[ "$(id -u)" = 0 ] || user=$(id -un)
openssl genpkey -algorithm ed25519 -out "$dir/ed.key" 2>/dev/null
chmod 600 "$dir/ed.key"
[ "$(id -u)" = 0 ] && chown "$user" "$dir/ed.key"

mclient_relay() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"not ok "*) not_ok "${line#not ok }" ;;
		*) diag "$line" ;;
		esac
	done <"$1"
	grep -q 'ok ' "$1" || not_ok "the protocol client ran"
}

# mclient_listens SOCKET LABEL LOG: wait up to 5 s for the unix SOCKET;
# "LABEL: the milter listens" is a check (LOG shown when it fails)
mclient_listens() {
	local _
	for _ in $(seq 1 50); do
		[ -S "$1" ] && break
		sleep 0.1
	done
	if [ -S "$1" ]; then ok "$2the milter listens"
	else not_ok "$2the milter listens"; sed 's/^/#   /' "$3"; fi
}
