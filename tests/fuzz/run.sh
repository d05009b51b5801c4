#!/bin/bash
# run.sh - build the libFuzzer harnesses with clang and run each for a while
#
#   tests/fuzz/run.sh BUILDDIR [SECONDS]
#
# BUILDDIR is a configured build (its config.h is used). Each harness
# (fuzz_*.c here) is compiled with -fsanitize=fuzzer,address,undefined
# together with the sources it needs, and run for SECONDS (default 60,
# FUZZ_SECS) on a copy of its seed corpus in corpus/NAME, so the committed
# corpus does not change. A crash, leak or sanitizer report fails the run:
# the input is kept in BUILDDIR/fuzz/NAME/ (add it to corpus/NAME as a
# regression input once fixed). dict/NAME.dict, when there is one, gives
# libFuzzer the tokens of the format. FUZZ_ONLY="fuzz_a fuzz_b" runs only
# those harnesses. Prints one "ok" / "not ok" line per harness and
# "N passed, N failed". lsan.supp names leaks of third-party code.
#
# The third-party libraries (libspf2, libopendmarc, hiredis) are Debian's,
# not instrumented: libFuzzer sees no coverage inside them, and ASan only
# what passes through its interceptors. tests/fuzz/deep.sh fuzzes them
# instrumented, from their upstream sources.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILDDIR [SECONDS]}" && pwd)
secs=${2:-${FUZZ_SECS:-60}}
out=$build/fuzz
cc=${FUZZ_CC:-clang}
mkdir -p "$out"

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "tests/fuzz/run.sh: $cc not found (apt-get install clang)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# the sources of libcore, without the daemon's and the tool's own files
core=$(cd "$top/milter" && ls ./*.c | sed 's|^\./||' |
    grep -vE '^(main|mlfi|ctl|ctl_explain|metrics_http|sandbox)\.c$' |
    sed "s|^|$top/milter/|")
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
    -I$build -I$top/milter $(pkg-config --cflags opendkim libconfig libcrypto hiredis)"
libs="$(pkg-config --libs opendkim libconfig libcrypto hiredis) -lspf2
    -lopendmarc -lresolv -lpthread"

passed=0
failed=0
for src in "$here"/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=${name#fuzz_}
	case " ${FUZZ_ONLY:-$name} " in
	*" $name "*) ;;
	*) continue ;;
	esac
	bin=$out/$name
	log=$out/$name.log
	# a harness that #includes a core source (to reach its statics)
	# is built without that file's own copy
	own=$(sed -n 's|^#include "\([a-z_]*\.c\)"$|\1|p' "$src")
	srcs=$core
	for f in $own; do
		srcs=$(echo "$srcs" | grep -v "/$f\$")
	done
	# shellcheck disable=SC2086
	if ! $cc $flags -DHAVE_CONFIG_H -o "$bin" "$src" $srcs $libs \
	    >"$out/$name.build" 2>&1; then
		echo "not ok - $name: build failed"
		tail -20 "$out/$name.build" | sed 's/^/#   /'
		failed=$((failed + 1))
		continue
	fi
	rm -rf "$out/$name.corpus" "$out/$name.crash"
	mkdir -p "$out/$name.corpus" "$out/$name.crash"
	cp "$here/corpus/$corpus"/* "$out/$name.corpus/" 2>/dev/null
	dict=
	[ -f "$here/dict/$corpus.dict" ] && dict=-dict=$here/dict/$corpus.dict
	# shellcheck disable=SC2086
	if ASAN_OPTIONS=detect_leaks=1 \
	    LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0" \
	    "$bin" -max_total_time="$secs" $dict \
	    -max_len=4096 -timeout=10 -artifact_prefix="$out/$name.crash/" \
	    "$out/$name.corpus" >"$log" 2>&1; then
		echo "ok - $name: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | head -1)s"
		passed=$((passed + 1))
	else
		echo "not ok - $name: crash or sanitizer report (input in $out/$name.crash/)"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
