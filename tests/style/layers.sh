#!/bin/bash
# layers.sh - the base layer and third-party quarantine (STYLE rules 1, 2)
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
. "$src/tests/tap.sh"
cd "$src/milter" || exit 1

base="log.c xalloc.c addr.c cidr.c hdr.c log.h xalloc.h addr.h cidr.h hdr.h"
for f in $base; do
	bad=$(grep -nE '#include "(cfg|txn|conn|policy|sign|keys|tenant|mlfi)\.h"|#include <(libmilter|opendkim|libconfig|spf2|opendmarc|hiredis|openssl)/?' "$f")
	if [ -z "$bad" ]; then ok "base file $f includes no upper or third-party header"
	else not_ok "base file $f includes an upper or third-party header"; echo "# $bad"; fi
done

# Each third-party header is included by exactly one glue file.
for pair in "opendkim/dkim.h sign.c" \
    "libconfig.h cfg.c" "hiredis/hiredis.h rl_redis.c" \
    "microhttpd.h metrics_http.c" "seccomp.h sandbox.c"; do
	set -- $pair
	files=$(grep -l "#include <$1>" ./*.c ./*.h | sed 's|^\./||' | tr '\n' ' ')
	if [ "$files" = "$2 " ]; then ok "<$1> only in $2"
	else not_ok "<$1> only in $2 (found in: $files)"; fi
done
# The milter protocol is ours (mproto.c): no libmilter anywhere, and the
# codec does no I/O of its own (mserv.c does), so tests and fuzzers drive it.
files=$(grep -l '#include <libmilter/' ./*.c ./*.h | tr '\n' ' ')
if [ -z "$files" ]; then ok "no file includes libmilter"
else not_ok "no file includes libmilter (found in: $files)"; fi
bad=$(grep -nE '\b(read|write|recv|send|poll|accept4?|close)\(' mproto.c)
if [ -z "$bad" ]; then ok "mproto.c does no I/O"
else not_ok "mproto.c does no I/O"; echo "# $bad"; fi
files=$(grep -l '#include <openssl/' ./*.c ./*.h | sed 's|^\./||' | tr '\n' ' ')
if [ "$files" = "keys.c " ]; then ok "OpenSSL only in keys.c"
else not_ok "OpenSSL only in keys.c (found in: $files)"; fi

# Nothing names itself in a library's namespace.
bad=$(grep -nE '^[a-z_ ]*\b(config_|dkim_|SPF_|redis|smfi_)[a-z_]+\(' ./*.c | grep -v '^\S*:\s' | head -5)
if [ -z "$bad" ]; then ok "no function defined in a library's namespace"
else not_ok "no function defined in a library's namespace"; echo "# $bad"; fi
# Every protocol scenario ships in the tarball (EXTRA_DIST lists files).
for f in ../tests/miltertest/*.lua; do
	name=tests/miltertest/$(basename "$f")
	if grep -qF "$name" ../Makefile.am; then ok "$name is distributed"
	else not_ok "$name is listed in Makefile.am EXTRA_DIST"; fi
done
tap_done
