# rig.sh - end-to-end test rig for egress-milter (bash library, TAP output)
# shellcheck shell=bash
#
# Sourced by tests/e2e/*.sh; call rig_init first (the script is run again
# from the top inside a private mount namespace):
#
#   . "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
#   rig_init "$@"
#   rig_key rsa "$RIG_DIR/k.pem"; rig_dkim_record sel rig.example "$RIG_DIR/k.pem"
#   rig_check "dns" rig_dns_start
#   rig_check "milter" rig_milter_start ./egress-milter -f "$RIG_DIR/conf"
#   rig_check "sink" rig_sink_start
#   rig_check "postfix" rig_postfix_start "$(rig_milter_addr)"
#   rig_check "send" rig_send --from a@rig.example --to b@dest.example
#   rig_check "delivered" rig_sink_wait 1
#   rig_sink_message "$(rig_sink_files | tail -n 1)" >"$RIG_DIR/m.eml"
#   rig_check "signed" rig_verify_expect "$RIG_DIR/m.eml" 1
#   tap_done
#
# Everything runs on loopback: dnsmasq on 127.0.0.153:53 (bind-mounted
# /etc/resolv.conf, this namespace only), Postfix smtpd on 127.0.0.1:10025
# relaying to smtp-sink on 127.0.0.1:10026.  Every process the rig starts
# is stopped by PID when the script exits (also on SIGINT/SIGTERM);
# $RIG_DIR is removed unless RIG_KEEP=1.  Run e2e scripts one at a time:
# the ports are fixed.
#
# API (each function's comment below has the details):
#   TAP      ok, not_ok, skip, diag, tap_ok STATUS DESC, rig_check DESC CMD...,
#            rig_check_fails DESC CMD..., tap_done
#   setup    rig_init "$@"
#   keys     rig_key rsa|ed25519 FILE [BITS], rig_key_type FILE,
#            rig_dkim_pubrec KEYFILE, rig_dkim_record SELECTOR DOMAIN KEYFILE
#   DNS      rig_dns_txt NAME TEXT, rig_dns_a NAME ADDR, rig_dns_mx DOM HOST [PREF],
#            rig_dns_conf LINE, rig_dns_start, rig_dns_stop, rig_dns_restart,
#            rig_dns_query NAME
#   sink     rig_sink_start [OPTS], rig_sink_stop, rig_sink_wait N [TIMEOUT],
#            rig_sink_files, rig_sink_count, rig_sink_grep ERE,
#            rig_sink_message FILE, rig_sink_record FILE NAME
#   postfix  rig_postfix_start [MILTERS], rig_postfix_stop, rig_postfix_log,
#            rig_postconf ARGS, rig_postfix_reload, rig_postfix_queue,
#            rig_postfix_flush
#   send     rig_send [SWAKS-ARGS], rig_send_file FILE [SWAKS-ARGS],
#            rig_last_reply, rig_last_queue_id, rig_last_log
#   milter   rig_milter_start CMD..., rig_milter_stop [TIMEOUT], rig_milter_log,
#            rig_milter_addr, rig_wait_socket TARGET [TIMEOUT [PID]]
#   others   rig_spawn NAME CMD..., rig_spawn_stop NAME, rig_spawn_pid NAME
#   verify   rig_verify FILE, rig_verify_expect FILE N, rig_sig_count FILE
#
# Environment: EGRESS_E2E=1 (else the script skips), RIG_KEEP=1,
# RIG_VERBOSE=1 (show output of passing checks), RIG_TMPDIR (default /tmp;
# must be reachable by the postfix user), RIG_POSTFIX_EXTRA (main.cf lines
# "name = value", applied with postconf -e), RIG_POSTFIX_MASTER_EXTRA
# (lines appended to master.cf), RIG_FROM / RIG_TO (rig_send defaults),
# RIG_MILTER_SOCKET (default $RIG_DIR/milter.sock; set it after rig_init),
# RIG_VALGRIND=1 (rig_milter_start runs the milter under memcheck;
# RIG_VALGRIND_LOGDIR, RIG_VALGRIND_OPTS: see _rig_valgrind).

set -u

RIG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG_TOOLS=${RIG_TOOLS:-$(cd "$RIG_LIB_DIR/../tools" 2>/dev/null && pwd)}
# Debian's interpreter: python3-dkim/dnspython live there, not in pyenv & co.
RIG_PYTHON=${RIG_PYTHON:-/usr/bin/python3}

RIG_DNS_ADDR=${RIG_DNS_ADDR:-127.0.0.153}
RIG_SMTPD_ADDR=${RIG_SMTPD_ADDR:-127.0.0.1}
RIG_SMTPD_PORT=${RIG_SMTPD_PORT:-10025}
RIG_SINK_ADDR=${RIG_SINK_ADDR:-127.0.0.1}
RIG_SINK_PORT=${RIG_SINK_PORT:-10026}
RIG_FROM=${RIG_FROM:-sender@rig.example}
RIG_TO=${RIG_TO:-rcpt@dest.example}
RIG_POSTFIX_EXTRA=${RIG_POSTFIX_EXTRA:-}
RIG_POSTFIX_MASTER_EXTRA=${RIG_POSTFIX_MASTER_EXTRA:-}

RIG_DIR=${RIG_DIR:-}
RIG_MILTER_SOCKET=${RIG_MILTER_SOCKET:-}
RIG_DNS_PID=
RIG_SINK_PID=
RIG_MILTER_PID=
RIG_MILTER_STATUS=
RIG_MILTER_VGLOG=
RIG_VALGRIND_CMD=()
RIG_DNS_MOUNTED=0
RIG_DNS_RECORDS=()
declare -gA RIG_SPAWN_PIDS=()

_rig_tap_n=0
_rig_tap_failed=0
_rig_tap_done=0

# ---------------------------------------------------------------- TAP

# TAP lines go to the test's real stdout (fd $RIG_TAP_FD, saved by
# rig_init), also when a signal's exit runs inside a redirected command.
RIG_TAP_FD=${RIG_TAP_FD:-1}

_rig_tap() {
	printf '%s\n' "$@" >&"$RIG_TAP_FD"
}

ok() {
	_rig_tap_n=$((_rig_tap_n + 1))
	_rig_tap "ok $_rig_tap_n - $*"
}

not_ok() {
	_rig_tap_n=$((_rig_tap_n + 1))
	_rig_tap_failed=$((_rig_tap_failed + 1))
	_rig_tap "not ok $_rig_tap_n - $*"
}

# skip DESC REASON: one passing line marked as skipped.
skip() {
	_rig_tap_n=$((_rig_tap_n + 1))
	_rig_tap "ok $_rig_tap_n - $1 # SKIP ${2:-}"
}

# diag TEXT...: TAP comment lines, one per line of TEXT.
diag() {
	printf '%s\n' "$*" | sed 's/^/# /' >&"$RIG_TAP_FD"
}

# tap_ok STATUS DESC: ok when STATUS is 0 (e.g. tap_ok $? "it worked").
tap_ok() {
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi
}

# _rig_check_run WANT DESC CMD...: WANT=0: CMD must succeed, 1: fail.
_rig_check_run() {
	local want=$1 desc=$2 out st good
	shift 2
	out=$(_rig_tmpfile check)
	"$@" >"$out" 2>&1
	st=$?
	good=$(( (st == 0) == (want == 0) ))
	if [ "$good" -eq 1 ]; then
		ok "$desc"
		[ "${RIG_VERBOSE:-0}" != 1 ] || sed 's/^/#   /' "$out" >&"$RIG_TAP_FD"
	else
		not_ok "$desc"
		diag "command: $* (exit $st, expected $([ "$want" -eq 0 ] && echo 0 || echo non-zero))"
		head -n 60 "$out" | sed 's/^/#   /' >&"$RIG_TAP_FD"
	fi
	rm -f "$out"
	return "$st"
}

# rig_check DESC CMD [ARGS...]: runs CMD in this shell (so rig_*_start
# keep their PIDs); ok if it exits 0, else not ok plus its output as
# comments (RIG_VERBOSE=1: always).  Returns CMD's status.
rig_check() {
	_rig_check_run 0 "$@"
}

# rig_check_fails DESC CMD [ARGS...]: ok if CMD exits non-zero.
rig_check_fails() {
	! _rig_check_run 1 "$@"
}

# tap_done: prints the plan and exits (1 if any check failed).
tap_done() {
	_rig_tap_done=1
	_rig_tap "1..$_rig_tap_n"
	if [ "$_rig_tap_failed" -gt 0 ]; then
		diag "$_rig_tap_failed of $_rig_tap_n checks failed"
		exit 1
	fi
	exit 0
}

_rig_tmpfile() {
	mktemp "${RIG_DIR:-${TMPDIR:-/tmp}}/$1.XXXXXX"
}

# ---------------------------------------------------------------- setup

# rig_init "$@": call first, passing the script's arguments.
rig_init() {
	if [ "${EGRESS_E2E:-}" != 1 ]; then
		echo "1..0 # SKIP e2e tests need root; run via the test runner"
		exit 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP e2e tests need root (EGRESS_E2E=1 but uid $(id -u))"
		exit 0
	fi
	[ -n "${EGRESS_RIG_NS:-}" ] || _rig_reexec "$@"
	_rig_need_tools || exit 1
	exec {RIG_TAP_FD}>&1
	RIG_DIR=$(mktemp -d "${RIG_TMPDIR:-/tmp}/egress-rig.XXXXXX") || exit 1
	chmod 755 "$RIG_DIR"
	RIG_MILTER_SOCKET=${RIG_MILTER_SOCKET:-$RIG_DIR/milter.sock}
	trap _rig_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Re-run the calling script in a private mount namespace, so that the
# bind-mounted /etc/resolv.conf is seen by this test only.  With
# RIG_NETNS_ADDRS ("192.0.2.2/32 ..."), also in a private network
# namespace whose loopback carries those addresses (the machine's own
# interfaces are not touched).
_rig_reexec() {
	local script
	script=$(readlink -f -- "$0")
	if ! unshare --mount true 2>/dev/null; then
		echo "Bail out! rig: unshare --mount failed (needs CAP_SYS_ADMIN)"
		exit 1
	fi
	export EGRESS_RIG_NS=1
	if [ -n "${RIG_NETNS_ADDRS:-}" ]; then
		# A private network too: its own loopback, with these extra
		# addresses (e.g. egress IPs outside 127/8) on it.
		exec unshare --mount --net --propagation private -- /bin/bash -c \
		    'ip link set lo up && for a in $RIG_NETNS_ADDRS; do
			ip addr add "$a" dev lo || exit 1; done &&
		    mount --make-rprivate / && exec /bin/bash "$@"' rig-ns \
		    "$script" "$@"
	fi
	exec unshare --mount --propagation private -- /bin/bash -c \
		'mount --make-rprivate / && exec /bin/bash "$@"' rig-ns \
		"$script" "$@"
}

_rig_need_tools() {
	local t missing=0
	for t in dnsmasq swaks postfix postconf openssl unshare perl "$RIG_PYTHON"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "Bail out! rig: missing tool $t"
			missing=1
		fi
	done
	return "$missing"
}

_rig_cleanup() {
	local st=$?
	trap - EXIT INT TERM
	local name
	rig_milter_stop 5 >/dev/null 2>&1
	for name in "${!RIG_SPAWN_PIDS[@]}"; do
		rig_spawn_stop "$name" 5 >/dev/null 2>&1
	done
	rig_postfix_stop >/dev/null 2>&1
	rig_sink_stop >/dev/null 2>&1
	rig_dns_stop >/dev/null 2>&1
	if [ -n "$RIG_DIR" ] && [ -d "$RIG_DIR" ]; then
		if [ "${RIG_KEEP:-0}" = 1 ]; then
			diag "RIG_KEEP=1: kept $RIG_DIR"
		else
			rm -rf -- "$RIG_DIR"
		fi
	fi
	if [ "$_rig_tap_done" -eq 0 ]; then
		not_ok "script ended before tap_done (exit status $st)"
		_rig_tap "1..$_rig_tap_n"
		[ "$st" -ne 0 ] || st=1
	fi
	exit "$st"
}

# ---------------------------------------------------------------- processes

# _rig_alive PID: true if PID exists and is not a zombie.
_rig_alive() {
	local state
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# _rig_bg LOG CMD...: CMD in the background, output appended to LOG,
# without the TAP descriptor (a leftover holder would keep a harness's
# pipe open).  Sets RIG_BG_PID.
_rig_bg() {
	local log=$1
	shift
	"$@" >>"$log" 2>&1 {RIG_TAP_FD}>&- &
	RIG_BG_PID=$!
}

# _rig_stop_pid PID [TIMEOUT]: SIGTERM, wait, then SIGKILL.  Reaps the
# process if it is our child and returns its exit status (or 0).
_rig_stop_pid() {
	local pid=$1 timeout=${2:-10} i=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	while _rig_alive "$pid" && [ "$i" -lt $((timeout * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if _rig_alive "$pid"; then
		echo "rig: pid $pid ignored SIGTERM for ${timeout}s, sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 137
	fi
	wait "$pid" 2>/dev/null
}

# _rig_wait_for TIMEOUT CMD...: retry CMD every 0.1 s until it succeeds.
_rig_wait_for() {
	local timeout=$1 i=0
	shift
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt $((timeout * 10)) ] || return 1
		sleep 0.1
	done
}

# _rig_connect TARGET: one connection to /unix/path or host:port.
_rig_connect() {
	"$RIG_PYTHON" - "$1" <<'EOF'
import socket, sys
t = sys.argv[1]
if t.startswith("/"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(t)
else:
    host, port = t.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), 2)
s.close()
EOF
}

# _rig_smtp_banner HOST PORT: true if the server greets with 220.
_rig_smtp_banner() {
	"$RIG_PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
s.settimeout(5)
banner = s.recv(512)
s.sendall(b"QUIT\r\n")
try:
    s.recv(512)
except OSError:
    pass
s.close()
sys.exit(0 if banner.startswith(b"220") else 1)
EOF
}

# rig_spawn NAME CMD [ARGS...]: any other helper process (a second
# milter, redis-server, ...), output in $RIG_DIR/NAME.log, stopped by PID
# at exit.  Sets RIG_SPAWN_PID; rig_spawn_pid NAME prints it later.
rig_spawn() {
	local name=$1
	shift
	_rig_bg "$RIG_DIR/$name.log" "$@"
	RIG_SPAWN_PID=$RIG_BG_PID
	RIG_SPAWN_PIDS[$name]=$RIG_SPAWN_PID
}

rig_spawn_pid() {
	echo "${RIG_SPAWN_PIDS[$1]:-}"
}

# rig_spawn_stop NAME [TIMEOUT]: SIGTERM, then SIGKILL; returns its status.
rig_spawn_stop() {
	local pid=${RIG_SPAWN_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	unset "RIG_SPAWN_PIDS[$1]"
	_rig_stop_pid "$pid" "${2:-10}"
}

# ---------------------------------------------------------------- keys

# rig_key rsa|ed25519 FILE [BITS]: new private key (PKCS#8 PEM), mode 600.
rig_key() {
	local type=$1 file=$2 bits=${3:-2048}
	(
		umask 077
		case "$type" in
		rsa) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$file" ;;
		ed25519) openssl genpkey -algorithm ed25519 -out "$file" ;;
		*) echo "rig_key: unknown key type $type" >&2; exit 2 ;;
		esac
	) 2>/dev/null || { echo "rig_key: openssl failed for $file" >&2; return 1; }
	chmod 600 "$file"
}

# rig_key_type FILE: prints rsa or ed25519.
rig_key_type() {
	local text
	text=$(openssl pkey -in "$1" -noout -text 2>/dev/null | head -n 1)
	case "$text" in
	*ED25519*) echo ed25519 ;;
	*Private-Key*) echo rsa ;;
	*) echo "rig_key_type: cannot read $1" >&2; return 1 ;;
	esac
}

# rig_dkim_pubrec KEYFILE: prints the DKIM DNS record for a private key.
rig_dkim_pubrec() {
	local type p
	type=$(rig_key_type "$1") || return 1
	if [ "$type" = ed25519 ]; then
		# RFC 8463: the raw 32-byte key, not the DER SubjectPublicKeyInfo.
		p=$(openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | base64 -w0)
	else
		p=$(openssl pkey -in "$1" -pubout -outform DER | base64 -w0)
	fi
	[ -n "$p" ] || return 1
	echo "v=DKIM1; k=$type; p=$p"
}

# rig_dkim_record SELECTOR DOMAIN KEYFILE: publishes the key's record.
rig_dkim_record() {
	local rec
	rec=$(rig_dkim_pubrec "$3") || return 1
	rig_dns_txt "$1._domainkey.$2" "$rec"
}

# ---------------------------------------------------------------- DNS

# rig_dns_txt NAME TEXT: adds a TXT record (split into 255-byte strings).
# Records take effect at rig_dns_start (or rig_dns_restart).
rig_dns_txt() {
	local name=$1 text=$2 line chunk
	local LC_ALL=C
	line="txt-record=$name"
	while :; do
		chunk=${text:0:255}
		text=${text:255}
		chunk=${chunk//\\/\\\\}
		chunk=${chunk//\"/\\\"}
		line+=",\"$chunk\""
		[ -n "$text" ] || break
	done
	RIG_DNS_RECORDS+=("$line")
}

# rig_dns_conf LINE: any other dnsmasq.conf line (srv-host=, cname=, ...).
rig_dns_conf() {
	RIG_DNS_RECORDS+=("$1")
}

# rig_dns_a NAME ADDR: an A (or AAAA) record.
rig_dns_a() {
	rig_dns_conf "host-record=$1,$2"
}

# rig_dns_mx DOMAIN HOST [PREF]: an MX record (give HOST an rig_dns_a).
rig_dns_mx() {
	rig_dns_conf "mx-host=$1,$2,${3:-10}"
}

_rig_dns_write_conf() {
	local conf=$RIG_DIR/dnsmasq.conf
	{
		echo "no-resolv"
		echo "no-hosts"
		echo "no-poll"
		echo "pid-file="
		echo "user=root"
		echo "port=53"
		echo "listen-address=$RIG_DNS_ADDR"
		echo "bind-interfaces"
		# Answer every name from this file alone: NXDOMAIN for the rest.
		echo "local=/#/"
		echo "log-queries"
		echo "log-facility=$RIG_DIR/dnsmasq.log"
		echo 'txt-record=rig-probe.rig.test,"rig dns ok"'
		printf '%s\n' "${RIG_DNS_RECORDS[@]}"
	} >"$conf"
}

# _rig_dns_query NAME [SERVER]: prints the TXT strings of NAME.
_rig_dns_query() {
	"$RIG_PYTHON" - "$@" <<'EOF'
import sys
import dns.resolver
r = dns.resolver.Resolver(configure=(len(sys.argv) < 3))
if len(sys.argv) >= 3:
    r.nameservers = [sys.argv[2]]
r.lifetime = 2
for rr in r.resolve(sys.argv[1], "TXT"):
    print(b"".join(rr.strings).decode())
EOF
}

# rig_dns_query NAME: TXT lookup through the system resolver.
rig_dns_query() {
	_rig_dns_query "$1"
}

# rig_dns_start: starts dnsmasq and points /etc/resolv.conf at it.
rig_dns_start() {
	_rig_dns_write_conf
	_rig_bg "$RIG_DIR/dnsmasq.out" \
		dnsmasq --keep-in-foreground --conf-file="$RIG_DIR/dnsmasq.conf"
	RIG_DNS_PID=$RIG_BG_PID
	if ! _rig_wait_for 10 _rig_dns_query rig-probe.rig.test "$RIG_DNS_ADDR"; then
		echo "rig_dns_start: dnsmasq does not answer on $RIG_DNS_ADDR" >&2
		cat "$RIG_DIR/dnsmasq.out" "$RIG_DIR/dnsmasq.log" >&2 2>/dev/null
		return 1
	fi
	_rig_dns_mount || return 1
	_rig_dns_query rig-probe.rig.test >/dev/null
}

_rig_dns_mount() {
	[ "$RIG_DNS_MOUNTED" -eq 1 ] && return 0
	if [ -z "${EGRESS_RIG_NS:-}" ]; then
		echo "rig_dns_start: not in the rig's mount namespace (call rig_init)" >&2
		return 1
	fi
	echo "nameserver $RIG_DNS_ADDR" >"$RIG_DIR/resolv.conf"
	echo "options timeout:2 attempts:2" >>"$RIG_DIR/resolv.conf"
	chmod 644 "$RIG_DIR/resolv.conf"
	mount --bind "$RIG_DIR/resolv.conf" /etc/resolv.conf || return 1
	RIG_DNS_MOUNTED=1
}

# rig_dns_stop: stops dnsmasq and removes the resolv.conf bind mount.
rig_dns_stop() {
	_rig_stop_pid "$RIG_DNS_PID" 5
	RIG_DNS_PID=
	if [ "$RIG_DNS_MOUNTED" -eq 1 ]; then
		umount /etc/resolv.conf && RIG_DNS_MOUNTED=0
	fi
	return 0
}

# rig_dns_restart: reloads all records (dnsmasq reads them only at start).
# rig_dns_outage - stop the DNS server but keep resolv.conf pointing at
# it, as a real outage looks to clients (rig_dns_stop also unmounts, and
# new resolver states would then use the machine's own resolver).
# rig_dns_start brings it back.
rig_dns_outage() {
	_rig_stop_pid "$RIG_DNS_PID" 5
	RIG_DNS_PID=
}
rig_dns_restart() {
	_rig_stop_pid "$RIG_DNS_PID" 5
	RIG_DNS_PID=
	rig_dns_start
}

# ---------------------------------------------------------------- sink

_rig_sink_bin() {
	local b
	for b in "$(command -v smtp-sink)" /usr/sbin/smtp-sink /usr/lib/postfix/sbin/smtp-sink; do
		[ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
	done
	echo "rig: smtp-sink not found" >&2
	return 1
}

# rig_sink_start [SMTP-SINK-OPTIONS...]: Postfix's smtp-sink on
# $RIG_SINK_ADDR:$RIG_SINK_PORT, one dump file per mail transaction in
# $RIG_DIR/sink.  -C: no XCLIENT, so X-Client-Addr is the real TCP peer.
rig_sink_start() {
	local bin
	bin=$(_rig_sink_bin) || return 1
	mkdir -p "$RIG_DIR/sink"
	chown postfix "$RIG_DIR/sink"
	# smtp-sink refuses to run as root without -u.
	_rig_bg "$RIG_DIR/sink.log" "$bin" -C -u postfix "$@" \
		-d "$RIG_DIR/sink/%Y%m%d%H%M%S." "$RIG_SINK_ADDR:$RIG_SINK_PORT" 256
	RIG_SINK_PID=$RIG_BG_PID
	if ! _rig_wait_for 10 _rig_smtp_banner "$RIG_SINK_ADDR" "$RIG_SINK_PORT"; then
		echo "rig_sink_start: smtp-sink did not come up" >&2
		cat "$RIG_DIR/sink.log" >&2
		return 1
	fi
}

rig_sink_stop() {
	_rig_stop_pid "$RIG_SINK_PID" 5
	RIG_SINK_PID=
	return 0
}

# Files smtp-sink still has open belong to transactions in progress.
_rig_sink_open_files() {
	local fd
	[ -n "$RIG_SINK_PID" ] || return 0
	for fd in /proc/"$RIG_SINK_PID"/fd/*; do
		readlink "$fd" 2>/dev/null
	done
}

# rig_sink_files: completed dump files, oldest delivery first.
rig_sink_files() {
	local open
	[ -d "$RIG_DIR/sink" ] || return 0
	open=$(_rig_sink_open_files)
	find "$RIG_DIR/sink" -type f -printf '%T@ %p\n' | sort -n -k1,1 -k2 |
		cut -d' ' -f2- | while IFS= read -r f; do
		grep -qxF -- "$f" <<<"$open" || echo "$f"
	done
}

# rig_sink_count: number of completed deliveries.
rig_sink_count() {
	rig_sink_files | wc -l
}

# rig_sink_wait N [TIMEOUT]: waits until at least N deliveries completed.
rig_sink_wait() {
	local want=$1 timeout=${2:-30}
	if _rig_wait_for "$timeout" _rig_sink_has "$want"; then
		return 0
	fi
	echo "rig_sink_wait: $(rig_sink_count) of $want messages after ${timeout}s" >&2
	echo "--- postfix log (tail)" >&2
	rig_postfix_log 2>/dev/null | tail -n 20 >&2
	return 1
}

_rig_sink_has() {
	[ "$(rig_sink_count)" -ge "$1" ]
}

# rig_sink_grep ERE: completed dump files whose content matches ERE.
rig_sink_grep() {
	local f
	rig_sink_files | while IFS= read -r f; do
		grep -qE -- "$1" "$f" && echo "$f"
	done
}

# rig_sink_message FILE: the RFC 5322 message as received (headers and
# body, LF line ends), without smtp-sink's records: X-Client-Addr: ...,
# X-Rcpt-Args: ..., then its own 3-line "Received: ... (smtp-sink) ..."
# header; smtp-sink also appends one empty line after the message.
rig_sink_message() {
	awk '
	state == 0 { if ($0 ~ /^Received: /) state = 1; next }
	state == 1 { if ($0 ~ /^[ \t]/) next; state = 2 }
	state == 2 { if (n++) print prev; prev = $0 }
	END { if (n && prev != "") print prev }
	' "$1"
}

# rig_sink_record FILE NAME: a value smtp-sink recorded (X-Client-Addr,
# X-Client-Proto, X-Helo-Args, X-Mail-Args, X-Rcpt-Args; one per line).
rig_sink_record() {
	awk -v name="$2" '
	/^Received: / { exit }
	index($0, name ": ") == 1 { print substr($0, length(name) + 3) }
	' "$1"
}

# ---------------------------------------------------------------- postfix

RIG_POSTFIX_DIR=

# rig_postfix_start [MILTER_ADDR]: throwaway Postfix instance in
# $RIG_DIR/postfix (etc/, queue/, data/, maillog); no milter if empty.
rig_postfix_start() {
	local milter=${1:-}
	RIG_POSTFIX_DIR=$RIG_DIR/postfix
	mkdir -p "$RIG_POSTFIX_DIR/etc" "$RIG_POSTFIX_DIR/queue" "$RIG_POSTFIX_DIR/data"
	chown postfix "$RIG_POSTFIX_DIR/data"
	chmod 700 "$RIG_POSTFIX_DIR/data"
	_rig_postfix_main_cf "$milter" >"$RIG_POSTFIX_DIR/etc/main.cf"
	_rig_postfix_master_cf >"$RIG_POSTFIX_DIR/etc/master.cf"
	_rig_postfix_extra || return 1
	if ! postfix -c "$RIG_POSTFIX_DIR/etc" start >"$RIG_POSTFIX_DIR/start.log" 2>&1 \
		{RIG_TAP_FD}>&-; then
		echo "rig_postfix_start: postfix start failed" >&2
		cat "$RIG_POSTFIX_DIR/start.log" >&2
		return 1
	fi
	if ! _rig_wait_for 20 _rig_smtp_banner "$RIG_SMTPD_ADDR" "$RIG_SMTPD_PORT"; then
		echo "rig_postfix_start: no SMTP greeting on $RIG_SMTPD_ADDR:$RIG_SMTPD_PORT" >&2
		rig_postfix_log >&2
		return 1
	fi
}

_rig_postfix_main_cf() {
	local d=$RIG_POSTFIX_DIR
	cat <<EOF
# egress-milter e2e rig: throwaway instance, loopback only
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
maillog_file = $d/maillog
maillog_file_prefixes = $d
myhostname = mta.rig.test
mydomain = rig.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery is off in the rig
inet_interfaces = $RIG_SMTPD_ADDR
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [$RIG_SINK_ADDR]:$RIG_SINK_PORT
smtpd_banner = \$myhostname ESMTP rig
smtpd_peername_lookup = no
biff = no
message_size_limit = 41943040
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_milters = $1
non_smtpd_milters = $1
milter_default_action = tempfail
milter_protocol = 6
milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}
# XCLIENT LOGIN=user from 127.0.0.1 simulates a SASL login: milters get
# {auth_type}=XCLIENT, {auth_authen}=user.  Postfix 3.7 passes them even
# without SASL; newer releases only with smtpd_sasl_auth_enable=yes.
smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_sasl_auth_enable = yes
smtpd_sasl_authenticated_header = yes
EOF
}

# Caller's main.cf lines replace the defaults (no duplicate warnings).
_rig_postfix_extra() {
	local line
	while IFS= read -r line; do
		case "$line" in '' | '#'*) continue ;; esac
		postconf -c "$RIG_POSTFIX_DIR/etc" -e "$line" || return 1
	done <<<"$RIG_POSTFIX_EXTRA"
}

_rig_postfix_master_cf() {
	cat <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
$RIG_SMTPD_ADDR:$RIG_SMTPD_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
$RIG_POSTFIX_MASTER_EXTRA
EOF
}

_rig_postfix_master_pid() {
	local f=$RIG_POSTFIX_DIR/queue/pid/master.pid
	[ -n "$RIG_POSTFIX_DIR" ] && [ -r "$f" ] && tr -dc '0-9' <"$f"
}

# Processes in the master's process group (the master and its children).
_rig_pgroup_pids() {
	ps -e -o pid=,pgid= | awk -v g="$1" '$2 == g { print $1 }'
}

_rig_pgroup_empty() {
	[ -z "$(_rig_pgroup_pids "$1")" ]
}

# rig_postfix_stop: SIGTERM to the master (it stops its children).
rig_postfix_stop() {
	local pid
	pid=$(_rig_postfix_master_pid) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	if ! _rig_wait_for 10 _rig_pgroup_empty "$pid"; then
		echo "rig_postfix_stop: process group $pid still alive, SIGKILL" >&2
		kill -KILL -- "-$pid" 2>/dev/null
	fi
	rm -f "$RIG_POSTFIX_DIR/queue/pid/master.pid"
}

# rig_postfix_log: the instance's maillog.
rig_postfix_log() {
	cat "$RIG_POSTFIX_DIR/maillog" 2>/dev/null
}

# rig_postconf ARGS...: postconf for the rig's instance (e.g. -e 'x = y').
rig_postconf() {
	postconf -c "$RIG_POSTFIX_DIR/etc" "$@"
}

# rig_postfix_reload: after rig_postconf -e.
rig_postfix_reload() {
	postfix -c "$RIG_POSTFIX_DIR/etc" reload >/dev/null 2>&1
}

# rig_postfix_queue: postqueue -p (prints "Mail queue is empty" when empty).
rig_postfix_queue() {
	postqueue -c "$RIG_POSTFIX_DIR/etc" -p
}

# rig_postfix_flush: retry deferred mail now.
rig_postfix_flush() {
	postqueue -c "$RIG_POSTFIX_DIR/etc" -f
}

# ---------------------------------------------------------------- sending

_rig_has_opt() {
	local a o
	for a in "${@:3}"; do
		for o in "$1" "$2"; do
			[ "$a" = "$o" ] || [ "${a#"$o"=}" != "$a" ] && return 0
		done
	done
	return 1
}

_rig_swaks_log() {
	local n=1
	while [ -e "$RIG_DIR/swaks.$n.log" ]; do n=$((n + 1)); done
	echo "$RIG_DIR/swaks.$n.log"
}

# rig_send [SWAKS-ARGS...]: one SMTP transaction to the rig's smtpd;
# --from/--to default to $RIG_FROM/$RIG_TO.  Transcript in
# $RIG_DIR/swaks.N.log; returns swaks' exit status.  Note: swaks expands
# %TOKENS% and "\n" in --data; use rig_send_file for exact bytes.
rig_send() {
	local log args=()
	log=$(_rig_swaks_log)
	_rig_has_opt -f --from "$@" || args+=(--from "$RIG_FROM")
	_rig_has_opt -t --to "$@" || args+=(--to "$RIG_TO")
	swaks --server "$RIG_SMTPD_ADDR" --port "$RIG_SMTPD_PORT" \
		--helo client.rig.test --timeout 120 "${args[@]}" "$@" \
		</dev/null >"$log" 2>&1
	local st=$?
	if [ "$st" -ne 0 ]; then
		echo "rig_send: swaks exit $st, last reply: $(rig_last_reply)" >&2
		grep -v '^ -> ' "$log" | tail -n 8 >&2
	fi
	return "$st"
}

# rig_send_file FILE [SWAKS-ARGS...]: sends FILE byte for byte as the
# message (LF or CRLF line ends; 8-bit fine) with swaks --no-data-fixup.
rig_send_file() {
	local file=$1 smtp
	shift
	smtp=$(_rig_tmpfile data) || return 1
	# CRLF line ends, dot-stuffing, and the final "." (swaks adds its CRLF).
	perl -0777 -pe 's/\r?\n/\r\n/g; $_ .= "\r\n" if length($_) && !/\r\n\z/;
		s/^\./../mg; $_ .= "."' "$file" >"$smtp" || return 1
	rig_send --no-data-fixup --data "@$smtp" "$@"
}

# rig_last_log: path of the newest swaks transcript.
rig_last_log() {
	local n=1
	while [ -e "$RIG_DIR/swaks.$((n + 1)).log" ]; do n=$((n + 1)); done
	echo "$RIG_DIR/swaks.$n.log"
}

# rig_last_reply: the server's last reply line before QUIT in the newest
# transcript (the DATA reply, or the first failure), e.g. "250 2.0.0 Ok:
# queued as 4Xyz" or "451 4.7.1 Service unavailable - try again later".
rig_last_reply() {
	local log
	log=$(rig_last_log)
	[ -r "$log" ] || return 1
	awk '
	/^ -> QUIT/ { quit = 1 }
	!quit && /^<(-|\*\*) / { last = substr($0, 5) }
	!quit && /^\*\*\* / && last == "" { err = $0 }
	END { if (last != "") print last; else if (err != "") print err; else exit 1 }
	' "$log"
}

# rig_last_queue_id: Postfix queue id from the newest transcript.
rig_last_queue_id() {
	rig_last_reply | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | grep .
}

# ---------------------------------------------------------------- milter

# rig_milter_addr: $RIG_MILTER_SOCKET in Postfix syntax (unix:/path,
# inet:host:port).
rig_milter_addr() {
	case "$RIG_MILTER_SOCKET" in
	/*) echo "unix:$RIG_MILTER_SOCKET" ;;
	*) echo "inet:$RIG_MILTER_SOCKET" ;;
	esac
}

# rig_wait_socket TARGET [TIMEOUT [PID]]: waits (default 10 s) until
# TARGET (/unix/path or host:port) accepts a connection; gives up early
# if PID is given and exits.
rig_wait_socket() {
	local target=$1 timeout=${2:-10} pid=${3:-} i=0
	until _rig_connect "$target" 2>/dev/null; do
		if [ -n "$pid" ] && ! _rig_alive "$pid"; then
			echo "rig_wait_socket: pid $pid exited before $target was ready" >&2
			return 1
		fi
		i=$((i + 1))
		if [ "$i" -ge $((timeout * 10)) ]; then
			echo "rig_wait_socket: $target not ready after ${timeout}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# rig_milter_start CMD [ARGS...]: runs CMD in the background (output in
# $RIG_DIR/milter.log) and waits up to RIG_MILTER_WAIT (10) seconds for
# $RIG_MILTER_SOCKET (a /path or host:port) to accept connections.
# With RIG_VALGRIND=1, CMD runs under valgrind's memcheck (_rig_valgrind)
# and the wait is 120 s unless RIG_MILTER_WAIT says otherwise (memcheck
# and a loaded machine have taken 50 s).
rig_milter_start() {
	local wait=${RIG_MILTER_WAIT:-10}
	RIG_MILTER_VGLOG=
	if [ "${RIG_VALGRIND:-0}" = 1 ]; then
		wait=${RIG_MILTER_WAIT:-120}
		_rig_valgrind "$@" || return 1
		set -- "${RIG_VALGRIND_CMD[@]}"
	fi
	_rig_bg "$RIG_DIR/milter.log" "$@"
	RIG_MILTER_PID=$RIG_BG_PID
	RIG_MILTER_STATUS=
	if ! rig_wait_socket "$RIG_MILTER_SOCKET" "$wait" "$RIG_MILTER_PID"; then
		echo "--- milter.log (tail)" >&2
		tail -n 30 "$RIG_DIR/milter.log" >&2
		[ -z "$RIG_MILTER_VGLOG" ] || tail -n 30 "$RIG_MILTER_VGLOG" >&2
		return 1
	fi
}

# _rig_valgrind CMD [ARGS...]: sets RIG_VALGRIND_CMD to CMD under
# memcheck, RIG_MILTER_VGLOG to its log: a new file in RIG_VALGRIND_LOGDIR
# (default $RIG_DIR). Errors and definite or indirect leaks (less those
# in tests/valgrind.supp) make the exit status 97; rig_milter_stop reads
# the log. RIG_VALGRIND_OPTS adds options (e.g. --track-origins=yes).
# Children are traced, so a milter started through env or another
# wrapper that execs it is the program checked (it rewrites the log).
_rig_valgrind() {
	local dir=${RIG_VALGRIND_LOGDIR:-$RIG_DIR}
	local supp=$RIG_LIB_DIR/../valgrind.supp
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "rig: RIG_VALGRIND=1 but no valgrind (apt-get install valgrind)" >&2
		return 1
	fi
	mkdir -p "$dir" && RIG_MILTER_VGLOG=$(mktemp "$dir/valgrind.XXXXXX") ||
	    return 1
	chmod 644 "$RIG_MILTER_VGLOG"
	# shellcheck disable=SC2206
	RIG_VALGRIND_CMD=(valgrind --tool=memcheck --error-exitcode=97
	    --leak-check=full --show-leak-kinds=definite,indirect
	    --errors-for-leak-kinds=definite,indirect --num-callers=40
	    --trace-children=yes
	    --suppressions="$supp" --gen-suppressions=all
	    --log-file="$RIG_MILTER_VGLOG" ${RIG_VALGRIND_OPTS:-} "$@")
}

# _rig_valgrind_check LOG: 0 if memcheck's LOG ends with "ERROR SUMMARY:
# 0 errors"; else the errors on stderr and one failed TAP check (or, once
# the plan is printed, a "Bail out!").
_rig_valgrind_check() {
	local log=$1 what
	if grep -q '^==[0-9]*== ERROR SUMMARY: 0 errors' "$log"; then
		[ "$_rig_tap_done" -eq 1 ] ||
		    ok "memcheck: no errors in the milter ($(basename "$log"))"
		return 0
	fi
	what=$(grep -o 'ERROR SUMMARY: .*' "$log" | tail -n 1)
	what=${what:-no ERROR SUMMARY (killed?)}
	if [ "$_rig_tap_done" -eq 1 ]; then
		_rig_tap "Bail out! memcheck: $what in $log"
	else
		not_ok "memcheck: no errors in the milter ($(basename "$log"))"
		diag "$what; log: $log"
		grep -vE '^==[0-9]+== *$' "$log" | grep -A 25 -E \
		    '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ .*(definitely|indirectly) lost)' |
		    head -n 60 | sed 's/^/#   /' >&"$RIG_TAP_FD"
	fi
	echo "rig: memcheck: $what (log: $log)" >&2
	return 1
}

# rig_milter_stop [TIMEOUT]: SIGTERM, wait (default 10 s, under valgrind
# at least 120 s), then SIGKILL. Sets RIG_MILTER_STATUS to the milter's
# exit status; returns 0 if it exited by itself with status 0 (and, under
# valgrind, memcheck found no error: _rig_valgrind_check).
rig_milter_stop() {
	local pid=$RIG_MILTER_PID timeout=${1:-10} st=0
	[ -n "$pid" ] || return 0
	RIG_MILTER_PID=
	[ -z "${RIG_MILTER_VGLOG:-}" ] || [ "$timeout" -ge 120 ] || timeout=120
	_rig_stop_pid "$pid" "$timeout"
	RIG_MILTER_STATUS=$?
	if [ -n "${RIG_MILTER_VGLOG:-}" ]; then
		_rig_valgrind_check "$RIG_MILTER_VGLOG" || st=1
		RIG_MILTER_VGLOG=
	fi
	[ "$RIG_MILTER_STATUS" -eq 0 ] && [ "$st" -eq 0 ]
}

# rig_milter_log: the milter's stdout and stderr.
rig_milter_log() {
	cat "$RIG_DIR/milter.log" 2>/dev/null
}

# ---------------------------------------------------------------- verify

# rig_verify FILE: dkimpy and Mail::DKIM both verify every signature
# (at least one).  Prints both verifiers' lines.
rig_verify() {
	local st=0
	"$RIG_PYTHON" "$RIG_TOOLS/dkim-verify-py" "$1" || st=1
	perl "$RIG_TOOLS/dkim-verify-pl" "$1" || st=1
	return "$st"
}

# rig_verify_expect FILE N: rig_verify, and exactly N signatures.
rig_verify_expect() {
	local out st=0 n
	out=$(rig_verify "$1") || st=1
	echo "$out"
	n=$(grep -c '^dkimpy sig=' <<<"$out")
	if [ "$n" -ne "$2" ]; then
		echo "rig_verify_expect: $n signatures, expected $2"
		st=1
	fi
	return "$st"
}

# rig_sig_count FILE: number of DKIM-Signature header fields.
rig_sig_count() {
	awk '/^$/ { exit } tolower($0) ~ /^dkim-signature:/ { n++ } END { print n + 0 }' "$1"
}
