#!/bin/bash
# deep.sh - fuzz libspf2 and libopendmarc themselves, instrumented, and
# report what Debian's builds of them get wrong
#
#   tests/fuzz/deep.sh BUILDDIR [SECONDS]
#
# run.sh links Debian's libraries, which are not instrumented: libFuzzer
# sees no coverage inside them. This downloads the upstream sources Debian
# builds them from (the .orig tarballs on deb.debian.org), compiles them
# with -fsanitize=fuzzer-no-link,address,undefined, links fuzz_spf and
# fuzz_dmarc against them and fuzzes each for SECONDS (default 600) in
# fork mode, so a crash does not end the run. Upstream lacks Debian's
# patches (libspf2 1.2.10-7.1: CVE-2021-20314, a "sanity check for
# sprintf", the reverse macro fix), so such crashes come back within
# seconds; every crash input and the whole corpus are then replayed
# against Debian's own libraries, built without sanitizers (replay.c),
# under valgrind. What
# valgrind reports there is a finding; the upstream-only crashes are
# counted and kept. libopendmarc gets Debian's cleanup-buflen.patch (an
# off-by-one in opendmarc_util_cleanup(), a stack read valgrind would not
# see) applied here by hand.
#
# Not part of make check or CI: it needs deb.debian.org, valgrind and
# minutes. Work files are in BUILDDIR/deepfuzz. Prints one "ok"/"not ok"
# line per library and "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: deep.sh BUILDDIR [SECONDS]}" && pwd)
secs=${2:-600}
w=$build/deepfuzz
pool=http://deb.debian.org/debian/pool/main
san="-g -O1 -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize=signed-integer-overflow,shift -w"
mkdir -p "$w"
for tool in clang gcc valgrind curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "deep.sh: $tool not found" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# fetch URL: into $w, once
fetch() {
	[ -s "$w/${1##*/}" ] || curl -sSf -o "$w/${1##*/}" "$1"
}

# libspf2: the variadic debug macro needs "##" for clang; its own
# libreplace is not needed (Debian drops it too), so the objects are
# archived by hand
build_spf() {
	fetch "$pool/libs/libspf2/libspf2_1.2.10.orig.tar.gz" || return 1
	rm -rf "$w/libspf2-1.2.10"
	tar -C "$w" -xzf "$w/libspf2_1.2.10.orig.tar.gz" || return 1
	(
		cd "$w/libspf2-1.2.10" || exit 1
		sed -i 's/format, __VA_ARGS__ )/format, ##__VA_ARGS__ )/' \
		    src/include/spf_log.h
		CC=clang ./configure --disable-shared >/dev/null || exit 1
		cd src/libspf2 || exit 1
		for f in *.c; do
			# shellcheck disable=SC2086
			clang $san -DHAVE_CONFIG_H -I. -I../.. -I../include \
			    -I.. -c "$f" || exit 1
		done
		rm -f "$w/libspf2-deep.a"
		ar rcs "$w/libspf2-deep.a" ./*.o
	) >"$w/spf.build" 2>&1
}

# libopendmarc: only the library, with a hand-written build-config.h and
# Debian's fix of opendmarc_util_cleanup() (">" to ">=")
build_dmarc() {
	fetch "$pool/o/opendmarc/opendmarc_1.4.2.orig.tar.gz" || return 1
	rm -rf "$w/OpenDMARC-rel-opendmarc-1-4-2"
	tar -C "$w" -xzf "$w/opendmarc_1.4.2.orig.tar.gz" || return 1
	(
		cd "$w/OpenDMARC-rel-opendmarc-1-4-2/libopendmarc" || exit 1
		sed -i 's/strlen((char \*)str) > buflen)/strlen((char *)str) >= buflen)/' \
		    opendmarc_util.c
		grep -q '>= buflen' opendmarc_util.c || exit 1
		for h in CTYPE ERRNO POLL FCNTL MEMORY STDIO STDLIB STRING \
		    SYS_SOCKET SYS_STAT SYS_TYPES SYSEXITS SYSLOG UNISTD NETDB \
		    NETINET_IN SYS_PARAM ARPA_INET ARPA_NAMESER RESOLV PTHREAD \
		    STDBOOL STRINGS RES_NINIT; do
			echo "#define HAVE_${h}_H 1"
		done >build-config.h
		echo "#define HAVE_RES_NINIT 1" >>build-config.h
		printf '#include <time.h>\n#include <sys/time.h>\n' \
		    >>build-config.h
		for f in policy util strl tld hash dns xml spf spf_dns; do
			# shellcheck disable=SC2086
			clang $san -DHAVE_CONFIG_H -I. -c "opendmarc_$f.c" ||
			    exit 1
		done
		rm -f "$w/libopendmarc-deep.a"
		ar rcs "$w/libopendmarc-deep.a" ./*.o
	) >"$w/dmarc.build" 2>&1
}

# the core sources, less the daemon's own files and what a harness
# compiles in itself (as run.sh)
core_for() {
	local own f srcs
	srcs=$(cd "$top/milter" && ls ./*.c | sed 's|^\./||' |
	    grep -vE '^(main|mlfi|ctl|ctl_explain|metrics_http|sandbox)\.c$' |
	    sed "s|^|$top/milter/|")
	own=$(sed -n 's|^#include "\([a-z_]*\.c\)"$|\1|p' "$1")
	for f in $own; do
		srcs=$(echo "$srcs" | grep -v "/$f\$")
	done
	echo "$srcs"
}

pkgs="opendkim libconfig libcrypto hiredis"
passed=0
failed=0
# deep NAME LIB-ARCHIVE SYSTEM-LIB OTHER-LIBS
deep() {
	local name=$1 arch=$2 syslib=$3 other=$4 src=$here/fuzz_$1.c
	local d=$w/$1 ncrash nbad
	rm -rf "$d"
	mkdir -p "$d/corpus" "$d/crash"
	cp "$here/corpus/$name"/* "$d/corpus/"
	# shellcheck disable=SC2046,SC2086
	if ! clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -I"$build" -I"$top/milter" $(pkg-config --cflags $pkgs) \
	    -DHAVE_CONFIG_H -o "$d/fuzz" "$src" $(core_for "$src") "$arch" \
	    $(pkg-config --libs $pkgs) $other -lresolv -lpthread \
	    >"$d/build.log" 2>&1 ||
	    ! gcc -g -O1 -I"$build" -I"$top/milter" \
	    $(pkg-config --cflags $pkgs) -DHAVE_CONFIG_H -o "$d/replay" \
	    "$here/replay.c" "$src" $(core_for "$src") \
	    $(pkg-config --libs $pkgs) "$syslib" $other -lresolv -lpthread \
	    >>"$d/build.log" 2>&1; then
		echo "not ok - $name: build failed"
		tail -5 "$d/build.log" | sed 's/^/#   /'
		failed=$((failed + 1))
		return
	fi
	ASAN_OPTIONS=detect_leaks=0 "$d/fuzz" -fork=1 -ignore_crashes=1 \
	    -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$secs" \
	    -max_len=16384 -timeout=10 -dict="$here/dict/$name.dict" \
	    -artifact_prefix="$d/crash/" "$d/corpus" >"$d/fuzz.log" 2>&1
	ncrash=$(find "$d/crash" -type f | wc -l)
	# valgrind over Debian's library: every crash, then the corpus
	# (an abort, e.g. the stack protector's, ends a batch with a signal:
	# xargs then fails too)
	find "$d/crash" "$d/corpus" -type f -print0 |
	    xargs -0 -n 200 valgrind -q --error-exitcode=9 "$d/replay" \
	    >"$d/valgrind.log" 2>&1
	st=$?
	nbad=$(grep -c '^==[0-9]*== Invalid\|^==[0-9]*== Conditional\|^==[0-9]*== Syscall param' \
	    "$d/valgrind.log")
	[ "$st" -ne 0 ] && [ "$nbad" -eq 0 ] && nbad=1
	if [ "$nbad" -eq 0 ]; then
		echo "ok - $name: $(grep -Eo '#[0-9]+' "$d/fuzz.log" | tail -1 | tr -d '#') runs, $ncrash crashes of upstream, $(find "$d/corpus" -type f | wc -l) corpus inputs: none in Debian's library under valgrind"
		passed=$((passed + 1))
	else
		echo "not ok - $name: valgrind reports $nbad errors in Debian's library ($d/valgrind.log)"
		grep -m5 -A3 'Invalid\|Conditional\|signal\|smashing' \
		    "$d/valgrind.log" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

if build_spf; then
	deep spf "$w/libspf2-deep.a" -lspf2 -lopendmarc
else
	echo "not ok - spf: libspf2 did not build ($w/spf.build)"
	failed=$((failed + 1))
fi
if build_dmarc; then
	deep dmarc "$w/libopendmarc-deep.a" -lopendmarc "-lspf2 -l:libbsd.so.0"
else
	echo "not ok - dmarc: libopendmarc did not build ($w/dmarc.build)"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
