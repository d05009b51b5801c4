#!/bin/bash
# dns_test.sh - run the dns(3) unit test against a private dnsmasq (TAP)
#
#   tests/unit/dns_test.sh [PROGRAM]
#
# PROGRAM defaults to $top_builddir/tests/unit/dns_test (as make check
# sets top_builddir), else the dns_test next to this script. Needs
# EGRESS_E2E=1 and root, else it prints a SKIP plan.
#
# The script re-runs itself in a private mount namespace, starts dnsmasq
# on 127.0.0.154:53 with the test records, bind-mounts a resolv.conf that
# names it over /etc/resolv.conf (this namespace only: the machine's file
# is not touched) and runs PROGRAM with DNS_TEST_DNSMASQ_PID set; PROGRAM
# stops dnsmasq itself half-way. dnsmasq is stopped by PID on exit.
# Set DNS_TEST_KEEP=1 to keep the scratch directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
prog=${1:-${top_builddir:+$top_builddir/tests/unit/dns_test}}
prog=${prog:-$here/dns_test}
addr=127.0.0.154
ttl=30			# TEST_LOCAL_TTL in dns_test.c

if [ "${EGRESS_E2E:-}" != 1 ] || [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root and dnsmasq (run via tests/run)"
	exit 0
fi
for t in dnsmasq unshare mount; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "Bail out! dns_test.sh: missing $t (package dnsmasq-base)"
		exit 1
	fi
done
if [ ! -x "$prog" ]; then
	echo "Bail out! dns_test.sh: no test program $prog"
	exit 1
fi
if [ -z "${DNS_TEST_NS:-}" ]; then
	export DNS_TEST_NS=1
	exec unshare --mount --propagation private -- /bin/bash "$0" "$prog"
fi

dir=$(mktemp -d /tmp/em-dns.XXXXXX) || exit 1
dns_pid=

cleanup() {
	local st=$?
	trap - EXIT INT TERM
	if [ -n "$dns_pid" ]; then
		kill "$dns_pid" 2>/dev/null
		wait "$dns_pid" 2>/dev/null
	fi
	[ "${DNS_TEST_KEEP:-}" = 1 ] || rm -rf "$dir"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# write_conf - dnsmasq.conf: the records dns_test.c expects, NXDOMAIN
# for every other name
write_conf() {
	local abc=abcdefghijklmnopqrstuvwxyz long= i
	local dmarc="v=DMARC1; p=reject; rua=mailto:dmarc@dns.test"
	while [ ${#long} -lt 400 ]; do long+=$abc; done
	long=${long:0:400}		# char i is 'a' + i % 26
	{
		echo "no-resolv"
		echo "no-hosts"
		echo "no-poll"
		echo "pid-file="
		echo "user=root"
		echo "port=53"
		echo "listen-address=$addr"
		echo "bind-interfaces"
		echo "local=/#/"
		echo "local-ttl=$ttl"
		echo "log-facility=$dir/dnsmasq.log"
		echo 'txt-record=txt1.dns.test,"hello world"'
		echo "txt-record=_dmarc.dns.test,\"$dmarc\""
		echo 'txt-record=multi.dns.test,"one","two","three"'
		echo "txt-record=long.dns.test,\"$long\""
		echo 'txt-record=two.dns.test,"a"'
		echo 'txt-record=two.dns.test,"b"'
		echo 'cname=alias.dns.test,txt1.dns.test'
		echo 'host-record=aonly.dns.test,192.0.2.1'
		for i in $(seq 0 15); do
			echo "txt-record=c$i.dns.test,\"c$i\""
		done
	} >"$dir/dnsmasq.conf"
}

write_conf
# Our timeout:5 attempts:4 must be overridden by dns_cache_new().
printf 'nameserver %s\noptions timeout:5 attempts:4\n' "$addr" \
    >"$dir/resolv.conf"
chmod 644 "$dir/resolv.conf"
if ! mount --bind "$dir/resolv.conf" /etc/resolv.conf; then
	echo "Bail out! dns_test.sh: cannot bind-mount /etc/resolv.conf"
	exit 1
fi
dnsmasq --keep-in-foreground --conf-file="$dir/dnsmasq.conf" \
    >"$dir/dnsmasq.out" 2>&1 &
dns_pid=$!

DNS_TEST_DNSMASQ_PID=$dns_pid "$prog"
st=$?
if [ "$st" != 0 ]; then
	echo "# dnsmasq output and log:"
	sed 's/^/#   /' "$dir/dnsmasq.out" "$dir/dnsmasq.log" 2>/dev/null |
	    grep -v ' query\[\| config \| cached \| reply ' | tail -20
fi
exit "$st"
