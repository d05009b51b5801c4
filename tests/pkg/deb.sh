#!/bin/bash
# deb.sh - the Debian package: build it with dpkg-buildpackage from a copy of
# the source (packaging/debian as ./debian), install it (no service start:
# policy-rc.d), check what it installs, purge it, check it is gone.
#
# Needs EGRESS_E2E=1, root, dpkg-buildpackage and debhelper (tests/deps.sh).
# It installs the package on this machine for a few seconds; it is skipped
# when egress-milter is already installed or /etc/egress-milter exists.
# Everything it adds (package, keys, user, policy-rc.d, scratch dir) is
# removed on exit, also on failure.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
src=$(cd "$src" && pwd)
. "$src/tests/tap.sh"

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ "${EGRESS_E2E:-0}" = 1 ] || skip_all "set EGRESS_E2E=1 (run via tests/run)"
[ "$(id -u)" -eq 0 ] || skip_all "needs root"
for t in dpkg-buildpackage dh apt-get; do
	command -v "$t" >/dev/null ||
	    skip_all "no $t (apt-get install debhelper dpkg-dev)"
done
# The package does not depend on this build's configure flags: build it
# once, in the normal build, not again in the sanitizer build.
if grep -q -- '-fsanitize' "${top_builddir:-.}/Makefile" 2>/dev/null; then
	skip_all "sanitizer build (the package is tested in the normal build)"
fi
if dpkg-query -W -f='${Status}' egress-milter 2>/dev/null |
    grep -qv 'not-installed'; then
	skip_all "egress-milter is already installed on this machine"
fi
[ -e /etc/egress-milter ] && skip_all "/etc/egress-milter exists (not ours)"

conf=/etc/egress-milter/egress-milter.conf
keydir=/etc/egress-milter/keys/example.com
dir=$(mktemp -d /tmp/egress-pkg.XXXXXX)
user_made=0
policy_made=0
keys_made=0
id egress-milter >/dev/null 2>&1 || user_made=1
export DEBIAN_FRONTEND=noninteractive

installed() {
	dpkg-query -W -f='${Status}' egress-milter 2>/dev/null |
	    grep -qv 'not-installed'
}
drop_keys() {
	[ "$keys_made" = 1 ] || return 0
	rm -f "$keydir/rsa2026.key" "$keydir/ed2026.key"
	rmdir "$keydir" 2>/dev/null
	keys_made=0
}
cleanup() {
	drop_keys
	if installed; then
		apt-get purge -y -qq egress-milter >/dev/null 2>&1 ||
		    dpkg --purge --force-all egress-milter >/dev/null 2>&1
	fi
	if [ "$user_made" = 1 ] && id egress-milter >/dev/null 2>&1; then
		userdel egress-milter 2>/dev/null
		getent group egress-milter >/dev/null &&
		    groupdel egress-milter 2>/dev/null
	fi
	[ "$policy_made" = 1 ] && rm -f /usr/sbin/policy-rc.d
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- a copy of the source: files git knows (tracked or new, not ignored),
# else the whole tree without build output
copy_source() {
	mkdir "$dir/src" || return 1
	if [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$src" ]
	then
		git -C "$src" ls-files -z --cached --others --exclude-standard |
		    tar -C "$src" --null -T - --ignore-failed-read -cf - \
		    2>/dev/null | tar -C "$dir/src" -xf -
	else
		tar -C "$src" --exclude=./_build --exclude=./autom4te.cache \
		    --exclude=./.git -cf - . | tar -C "$dir/src" -xf -
	fi &&
	    [ -f "$dir/src/configure.ac" ] &&
	    [ -d "$dir/src/packaging/debian" ] &&
	    ln -s packaging/debian "$dir/src/debian"
}
build() {
	# not the outer make check's jobserver and variables
	(cd "$dir/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    -u top_srcdir -u top_builddir DEB_BUILD_OPTIONS="nocheck parallel=2" \
	    dpkg-buildpackage -us -uc -b >"$dir/build.log" 2>&1)
	local st=$?
	[ "$st" -eq 0 ] || tail -25 "$dir/build.log"
	return "$st"
}
check "source copied, packaging/debian linked as debian" copy_source
check "dpkg-buildpackage -us -uc -b" build
debs=("$dir"/egress-milter_*.deb)
if [ ! -f "${debs[0]}" ]; then
	not_ok "a .deb was built"
	tap_done
fi

# --- install, with services kept from starting (as tests/deps.sh does)
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
	    chmod 755 /usr/sbin/policy-rc.d && policy_made=1
fi
install_deb() {
	(cd "$dir" && apt-get install -y -qq --no-install-recommends \
	    ./"$(basename "${debs[0]}")")
}
check "apt-get install ./$(basename "${debs[0]}")" install_deb
is_installed() {
	dpkg-query -W -f='${Status}\n' egress-milter | grep -x 'install ok installed'
}
check "dpkg: install ok installed" is_installed
is_installed >/dev/null 2>&1 || tap_done

# egress-milter -V names the version of the package (configure.ac and
# debian/changelog agree)
version_matches() {
	local v out
	v=$(dpkg-query -W -f='${Version}' egress-milter) || return 1
	v=${v%%-*}
	out=$(/usr/sbin/egress-milter -V) || return 1
	echo "$out"
	case $out in "egress-milter $v "*) return 0 ;; esac
	echo "expected version $v"
	return 1
}
check "egress-milter -V runs and prints the package version" version_matches
check "egress-ctl is installed" test -x /usr/sbin/egress-ctl

user_ok() {
	getent passwd egress-milter &&
	    [ "$(getent passwd egress-milter | cut -d: -f7)" = /usr/sbin/nologin ]
}
check "user egress-milter exists (sysusers), shell nologin" user_ok
keys_mode() {
	local m
	m=$(stat -c '%a %U:%G' /etc/egress-milter/keys) || return 1
	echo "$m"
	[ "$m" = "750 root:egress-milter" ]
}
check "/etc/egress-milter/keys is 0750 root:egress-milter" keys_mode
conf_mode() {
	local m
	m=$(stat -c '%a %U:%G' "$conf") || return 1
	echo "$m"
	[ "$m" = "640 root:egress-milter" ]
}
check "$conf is 0640 root:egress-milter (it may hold a password)" conf_mode
check "user egress-milter can read $conf (reload after dropping root)" \
    setpriv --reuid=egress-milter --regid=egress-milter --init-groups \
    test -r "$conf"
unreadable() {
	! setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    test -r "$conf"
}
check "user nobody cannot read $conf" unreadable
is_conffile() {
	dpkg-query -W -f='${Conffiles}\n' egress-milter |
	    grep -q "^ $conf [0-9a-f]\{32\}\$"
}
check "$conf is a conffile" is_conffile

unit=$(dpkg -L egress-milter | grep '/systemd/system/egress-milter\.service$')
check "the unit egress-milter.service is installed" test -f "$unit"
check "the unit is the one in packaging/systemd" \
    cmp "$unit" "$src/packaging/systemd/egress-milter.service"
# verify exits 0 on unknown keys: any word about our unit is a failure
verify_unit() {
	local out st
	out=$(systemd-analyze verify "$unit" 2>&1)
	st=$?
	printf '%s\n' "$out"
	[ "$st" -eq 0 ] && ! printf '%s\n' "$out" | grep -q 'egress-milter'
}
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify: no complaint about the unit" verify_unit
else
	ok "systemd-analyze verify # SKIP no systemd-analyze"
fi
not_running() { ! pgrep -f '^/usr/sbin/egress-milter( |$)'; }
check "the service was not started" not_running
check "the service is enabled" test -L \
    /etc/systemd/system/multi-user.target.wants/egress-milter.service
check "sysusers file installed" \
    test -f /usr/lib/sysusers.d/egress-milter.conf
mans() {
	local m
	for m in man8/egress-milter.8.gz man5/egress-milter.conf.5.gz; do
		dpkg -L egress-milter | grep -qx "/usr/share/man/$m" ||
		    { echo "no $m"; return 1; }
	done
}
check "man pages egress-milter(8), egress-milter.conf(5)" mans
check "example config in the docs" \
    test -f /usr/share/doc/egress-milter/examples/egress-milter.conf

# The shipped config names two keys of example.com, which an admin makes
# (docs/postfix.md), and socket_group "postfix".
make_keys() {
	[ -d /etc/egress-milter/keys ] && [ ! -e "$keydir" ] || return 1
	keys_made=1
	install -d -m 0700 "$keydir" &&
	    (umask 077 &&
	    openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 \
		-out "$keydir/rsa2026.key" 2>/dev/null &&
	    openssl genpkey -algorithm ed25519 -out "$keydir/ed2026.key")
}
if ! getent group postfix >/dev/null; then
	ok "egress-milter -n on the shipped config # SKIP no group postfix"
elif make_keys; then
	check "egress-milter -n accepts the shipped config (with its keys)" \
	    /usr/sbin/egress-milter -n -c "$conf"
else
	not_ok "generate the example's keys"
fi
drop_keys

# --- purge: nothing of the package is left
purge() { apt-get purge -y -qq egress-milter >/dev/null; }
check "apt-get purge egress-milter" purge
gone() {
	local f
	! installed || { echo "still known to dpkg"; return 1; }
	for f in /usr/sbin/egress-milter /usr/sbin/egress-ctl /etc/egress-milter \
	    "$unit" /usr/lib/sysusers.d/egress-milter.conf \
	    /etc/systemd/system/multi-user.target.wants/egress-milter.service
	do
		[ -e "$f" ] && { echo "left: $f"; return 1; }
	done
	return 0
}
check "purged: package, files, config and enable link gone" gone
tap_done
