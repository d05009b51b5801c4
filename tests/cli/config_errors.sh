#!/bin/bash
# config_errors.sh - egress-milter -n: exit status and file:line messages
set -u
src=${top_srcdir:-$(dirname "$0")/../..}
bin=${top_builddir:-.}/egress-milter
. "$src/tests/tap.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

openssl genpkey -algorithm ed25519 -out "$dir/ed.key" 2>/dev/null
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 \
    -out "$dir/rsa.key" 2>/dev/null
chmod 600 "$dir"/*.key
good() {
	cat <<CONF
milter: { user = "nobody"; };
domains = ( { name = "example.com";
              keys = ( { selector = "rsa1"; file = "$dir/rsa.key"; },
                       { selector = "ed1"; file = "$dir/ed.key"; } ); } );
CONF
}

# expect NAME WANT_STATUS WANT_PATTERN - run -n on $dir/c.conf
expect() {
	local out st
	out=$("$bin" -n -c "$dir/c.conf" 2>&1)
	st=$?
	if [ "$st" -eq "$2" ] && printf '%s' "$out" | grep -qE -- "$3"; then
		ok "$1"
	else
		not_ok "$1 (status $st, want $2)"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

good > "$dir/c.conf"
expect "valid config: exit 0 and a summary" 0 \
    'ok: 1 tenant\(s\), 1 domain\(s\), 2 key\(s\)'
{ good; echo 'signing: { oversgn = ["from"]; };'; } > "$dir/c.conf"
expect "typo: exit 1 naming file:line and setting" 1 \
    "c.conf:5: signing.oversgn: unknown setting in signing"
{ good; echo 'milter: { user = "nobody"; };'; } > "$dir/c.conf"
expect "duplicate group: syntax error with line" 1 "c.conf:5: syntax error"
good | sed 's/"nobody"/42/' > "$dir/c.conf"
expect "wrong type named" 1 "c.conf:1: milter.user: expected a string"
good > "$dir/c.conf"
chmod 644 "$dir/ed.key"
expect "world-readable key refused" 1 \
    "c.conf:4: domains.\[0\].keys.\[1\]: key file $dir/ed.key is accessible by group or others"
chmod 600 "$dir/ed.key"
chown nobody "$dir/rsa.key" 2>/dev/null && {
	good | sed 's/"nobody"/"root"/' > "$dir/c.conf"
	expect "key owned by another user refused" 1 "is owned by uid"
	chown root "$dir/rsa.key"
}
{ good; echo 'ratelimit: { redis: { password = "s3cret"; }; };'; } \
    > "$dir/c.conf"
chmod 644 "$dir/c.conf"
expect "Redis password in a world-readable config: warned, mode named" 0 \
    "c.conf has mode 0644 and holds ratelimit.redis.password: every local user can read it"
chmod 640 "$dir/c.conf"
# no_warning TEXT: -n on $dir/c.conf exits 0 and says nothing of TEXT
no_warning() {
	local out
	out=$("$bin" -n -c "$dir/c.conf" 2>&1) || return 1
	! printf '%s\n' "$out" | grep -qF -- "$1"
}
check "the same config at 0640: no warning" no_warning redis.password
chmod 644 "$dir/c.conf"
good > "$dir/c.conf"
check "no Redis password at 0644: no warning" no_warning redis.password
{ good; echo 'metrics: { listen = "192.0.2.10:9465"; };'; } > "$dir/c.conf"
expect "metrics on a non-loopback address, allow at its default: warned" 0 \
    "metrics.listen 192.0.2.10:9465 is not a loopback address, but metrics.allow admits loopback clients only"
{ good; echo 'metrics: { listen = "192.0.2.10:9465"; allow = [ "192.0.2.0/24" ]; };'; } > "$dir/c.conf"
check "the same with its scraper in metrics.allow: no warning" \
    no_warning metrics.listen
{ good; echo 'metrics: { listen = "127.0.0.1:9465"; allow = [ "10.0.0.0/33" ]; };'; } > "$dir/c.conf"
expect "a bad network in metrics.allow: file:line and setting named" 1 \
    "c.conf:5: metrics.allow"
expect2() { "$bin" -n -c "$dir/missing.conf" >/dev/null 2>&1; }
if expect2; then not_ok "missing file: non-zero exit"; else ok "missing file: non-zero exit"; fi
out=$("$bin" -V)
case $out in
"egress-milter "*) ok "-V prints the version ($out)" ;;
*) not_ok "-V prints the version" ;;
esac
"$bin" -x >/dev/null 2>&1
[ $? -eq 2 ] && ok "unknown option: usage, exit 2" || not_ok "unknown option: usage, exit 2"
tap_done
