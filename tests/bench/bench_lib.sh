# bench_lib.sh - what the benchmarks that drive egress-milter alone share
# (sourced by milter_bench.sh and icount.sh)

# bench_run_user: sets run_user, the milter.user to run as (egress-milter
# refuses to stay root)
bench_run_user() {
	if [ "$(id -u)" = 0 ]; then
		run_user=nobody
	else
		run_user=$(id -un)
	fi
}

# bench_keys DIR: an RSA-2048 key DIR/rsa.pem and an Ed25519 key
# DIR/ed.pem, mode 0600; non-zero if openssl fails
bench_keys() {
	(umask 077
	 openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	     -out "$1/rsa.pem" 2>/dev/null &&
	 openssl genpkey -algorithm ED25519 -out "$1/ed.pem" 2>/dev/null)
}

# bench_em_conf DIR ALG SOCKET [MILTER-SETTINGS]: an egress-milter
# configuration on stdout signing acme.example with DIR's keys (ALG: rsa,
# ed25519 or dual), as $run_user
bench_em_conf() {
	local rsa="{ selector = \"rsa\"; file = \"$1/rsa.pem\"; }"
	local ed="{ selector = \"ed\"; file = \"$1/ed.pem\"; }"
	local keys
	case $2 in
	rsa)	keys=$rsa ;;
	ed25519) keys=$ed ;;
	dual)	keys="$rsa, $ed" ;;
	esac
	cat <<CONF_END
alignment: { enabled = false; };
milter: { socket = "$3"; user = "$run_user"; shutdown_timeout = 2;
	  max_messages_per_connection = 0; ${4:-} };
domains = ( { name = "acme.example"; keys = ( $keys ); } );
CONF_END
}
