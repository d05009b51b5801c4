#!/bin/bash
# hardening.sh - the built binaries carry the hardening configure asks for:
# PIE, full RELRO (relro + now), the stack protector, fortified calls
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
bld=${top_builddir:-.}
. "$src/tests/tap.sh"
if ! command -v readelf >/dev/null 2>&1; then
	echo "1..0 # SKIP readelf not installed"
	exit 0
fi
if readelf -sW "$bld/egress-milter" 2>/dev/null | grep -q '__asan_init'; then
	echo "1..0 # SKIP sanitizer build (hardening flags are not used there)"
	exit 0
fi
for b in egress-milter egress-ctl; do
	f=$bld/$b
	hdr=$(readelf -h "$f" 2>/dev/null)
	dyn=$(readelf -d "$f" 2>/dev/null)
	seg=$(readelf -lW "$f" 2>/dev/null)
	sym=$(readelf -sW --dyn-syms "$f" 2>/dev/null)
	if printf '%s' "$hdr" | grep -q 'Type:.*DYN' &&
	    printf '%s' "$dyn" | grep -q 'FLAGS_1.*PIE'; then
		ok "$b is a position-independent executable"
	else
		not_ok "$b is a position-independent executable"
	fi
	if printf '%s' "$seg" | grep -q 'GNU_RELRO' &&
	    printf '%s' "$dyn" | grep -qE 'BIND_NOW|FLAGS.*NOW'; then
		ok "$b has full RELRO (relro, now)"
	else
		not_ok "$b has full RELRO (relro, now)"
	fi
	if printf '%s' "$sym" | grep -q '__stack_chk_fail'; then
		ok "$b uses the stack protector"
	else
		not_ok "$b uses the stack protector"
	fi
	if printf '%s' "$sym" | grep -qE '__[a-z]+_chk@'; then
		ok "$b calls fortified libc functions (_FORTIFY_SOURCE)"
	else
		not_ok "$b calls fortified libc functions (_FORTIFY_SOURCE)"
	fi
done
tap_done
