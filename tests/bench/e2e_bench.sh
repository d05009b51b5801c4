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
# "status=sent" in Postfix's log. Each configuration runs BENCH_ROUNDS (2)
# times, interleaved (none, OpenDKIM, ours, none, ...); the best round is
# kept. OpenDKIM signs with the same RSA key (one signature, its common use).
# Prints one line per configuration, the ratio to Postfix alone, and the
# milter's CPU per message; OUTDIR gets e2e_bench.tsv.
set -u
export EGRESS_E2E=1
BUILDDIR=$(cd "${1:-${top_builddir:-.}}" && pwd)
OUTDIR=${2:-}
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/rig.sh"
rig_init "$@"

MSGS=${BENCH_MSGS:-4000}
SESSIONS=${BENCH_SESSIONS:-8}
ROUNDS=${BENCH_ROUNDS:-2}
EM=$BUILDDIR/egress-milter
SRC=$(command -v smtp-source || echo /usr/sbin/smtp-source)
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

sent_count() {
	grep -c 'status=sent' "$RIG_POSTFIX_DIR/maillog" 2>/dev/null || echo 0
}

# run MODE: one round; prints "MODE SECONDS CPU_MS_PER_MSG"
run() {
	local mode=$1 addr= pid= t0 t1 c0 c1 n
	case $mode in
	egress-milter)
		rig_spawn em "$EM" -f -c "$RIG_DIR/em.conf" || return 1
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
	awk -v m="$mode" -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" \
	    -v n="$MSGS" -v hz="$(getconf CLK_TCK)" -v s="$(sent_count)" \
	    'BEGIN { printf "%s %.2f %.3f %d\n", m, b - a,
	        (c * 1000 / hz) / n, s }'
	rig_postfix_stop >/dev/null 2>&1
	rm -rf "$RIG_POSTFIX_DIR"
	case $mode in
	egress-milter) rig_spawn_stop em ;;
	opendkim) rig_spawn_stop od ;;
	esac
	return 0
}

"$SINK" -u postfix 127.0.0.1:10026 512 >/dev/null 2>&1 {RIG_TAP_FD}>&- &
RIG_SINK_PID=$!
_rig_wait_for 10 _rig_smtp_banner 127.0.0.1 10026 || exit 1

: >"$RIG_DIR/results"
for r in $(seq 1 "$ROUNDS"); do
	for mode in postfix-alone opendkim egress-milter; do
		run "$mode" | tee -a "$RIG_DIR/results" | sed 's/^/# /'
	done
done
awk -v msgs="$MSGS" -v sessions="$SESSIONS" '
	NF == 4 { if (!($1 in best) || $2 < best[$1]) { best[$1] = $2; cpu[$1] = $3; sent[$1] = $4 } }
	END {
		printf "%-14s %8s %10s %12s %8s\n", "postfix+", "msgs/s", "vs alone", "milter cpu", "sent"
		base = msgs / best["postfix-alone"]
		n = split("postfix-alone opendkim egress-milter", order, " ")
		for (i = 1; i <= n; i++) {
			m = order[i]
			if (!(m in best)) continue
			rate = msgs / best[m]
			printf "%-14s %8.0f %9.0f%% %9.3f ms %8d\n", m, rate, 100 * rate / base, cpu[m], sent[m]
		}
		printf "(%d messages of 4 KiB, %d SMTP sessions; ours signs RSA-2048 + Ed25519, OpenDKIM RSA-2048)\n", msgs, sessions
	}' "$RIG_DIR/results" | tee "$RIG_DIR/table"
if [ -n "$OUTDIR" ]; then
	mkdir -p "$OUTDIR"
	cp "$RIG_DIR/table" "$OUTDIR/e2e_bench.txt"
fi
tap_done >/dev/null
