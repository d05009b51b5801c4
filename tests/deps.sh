# deps.sh - the Debian packages to build and test egress-milter, and how
# to install them without configuring the machine's own Postfix (sourced
# by tests/run and tests/demo). Set EGRESS_NO_APT=1 to skip.
BUILD_DEPS="build-essential autoconf automake libtool pkg-config
 libopendkim-dev libspf2-dev libopendmarc-dev libconfig-dev
 libssl-dev libhiredis-dev libmicrohttpd-dev libseccomp-dev publicsuffix
 debhelper dpkg-dev fakeroot"
TEST_DEPS="postfix dnsmasq-base python3 python3-dkim python3-dnspython
 python3-nacl libmail-dkim-perl libnet-dns-perl miltertest swaks openssl
 util-linux procps iproute2 opendkim python3-spf
 libmail-dmarc-perl redis-server redis-tools faketime clang valgrind"

deps_install() {
	[ "${EGRESS_NO_APT:-0}" = 1 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "run as root (sudo) to install packages, or set" \
		    "EGRESS_NO_APT=1" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Installing Postfix must not configure or start the default instance.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	# Packages with a daemon (opendkim) must not start it: the tests run
	# their own private instances. policy-rc.d exit 101 = "not allowed".
	local policy=/usr/sbin/policy-rc.d made=0 rc
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" &&
		    made=1
	fi
	apt-get update -qq >/dev/null &&
	    apt-get install -y -qq --no-install-recommends $BUILD_DEPS \
	    $TEST_DEPS >/dev/null
	rc=$?
	[ "$made" = 1 ] && rm -f "$policy"
	return "$rc"
}
