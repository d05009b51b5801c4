#!/bin/bash
# faults_redis.sh - redis-server (the rate limiter's shared counters) is
# killed while a client sends 300 numbered messages through Postfix as
# three tenants whose limits say what to do without Redis: alice's limit
# falls back to local counters, bob's tempfails, carol's accepts.  The
# limits (1000/1h, burst 1000) are far from reached, so only the outage
# can refuse; generous Redis timeouts keep a loaded machine from looking
# like an outage (a stopped server refuses at once).  Redis comes back,
# empty, after two seconds.  Checked:
# alice and carol were never refused; bob got "451 4.3.0 ... cannot be
# checked now" at RCPT, only during the outage, and each of his messages
# was delivered on retry; counted at the sink, zero lost, zero
# duplicated, zero unsigned.
set -u
export RIG_NETNS_ADDRS=${RIG_NETNS_ADDRS:-192.0.2.250/32}
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

N=${FAULTS_N:-300}
REDIS_PORT=16394

write_conf() {
	cat >"$1" <<CONF_END
milter: { socket = "unix:$RIG_DIR/milter.sock"; user = "nobody";
          socket_group = "postfix"; };
alignment: { enabled = false; };
ratelimit: { backend = "redis";
             redis: { server = "127.0.0.1:$REDIS_PORT"; on_failure = "tempfail";
                      timeout_ms = 2000; connect_timeout_ms = 2000; }; };
tenants = (
  { name = "acme"; logins = ["alice"];
    limits = ( { name = "acme-local"; per = "tenant";
                 messages = "1000/1h"; on_failure = "local"; } );
    domains = ( { name = "acme.example";
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; },
                           { selector = "ed2026"; file = "$RIG_DIR/acme-ed.key"; } ); } ); },
  { name = "beta"; logins = ["bob"];
    limits = ( { name = "beta-tempfail"; per = "tenant";
                 messages = "1000/1h"; on_failure = "tempfail"; } );
    domains = ( { name = "beta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); },
  { name = "gamma"; logins = ["carol"];
    limits = ( { name = "gamma-accept"; per = "login";
                 messages = "1000/1h"; on_failure = "accept"; } );
    domains = ( { name = "gamma.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); }
);
CONF_END
}

redis_start() {
	rig_spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
	    --save '' --appendonly no --dir "$RIG_DIR" &&
	_rig_wait_for 10 redis-cli -p "$REDIS_PORT" ping
}

redis_keys() {	# PATTERN: Redis holds a key matching PATTERN
	redis-cli -p "$REDIS_PORT" --scan --pattern "$1" | grep .
}

rig_check "keys" em_keys
rig_dkim_record s1 gamma.example "$RIG_DIR/beta-rsa.key"
write_conf "$RIG_DIR/em.conf"
rig_check "the config is valid" "$EM_BIN" -n -c "$RIG_DIR/em.conf"
rig_check "redis-server starts on 127.0.0.1:$REDIS_PORT" redis_start
em_start "$RIG_DIR/em.conf" || tap_done

faults_send --count "$N" --sessions 6 --rate 40 \
    --as alice,alice@acme.example --as bob,bob@beta.example \
    --as carol,carol@gamma.example
rig_check "a third of the messages are through" faults_wait_done $((N / 3))
rig_check "the buckets are in Redis while it is up" \
    redis_keys "{egress}:rl:beta:beta-tempfail:*"
T_DOWN=$(faults_now)
rig_check "redis-server is stopped mid-run" rig_spawn_stop redis
sleep 2
T_UP=$(faults_now)
rig_check "redis-server starts again (empty)" redis_start
faults_outage Redis "$T_DOWN" "$T_UP"

faults_finish "alice=acme.example/rsa2026,acme.example/ed2026" \
    "bob=beta.example/s1" "carol=gamma.example/s1"

rig_check "on_failure=tempfail: bob was refused while Redis was down" \
    audit refusals bob '^451 4\.3\.0 rate limit beta-tempfail cannot be checked now' 1 -
rig_check "on_failure=tempfail: bob's only refusals are that 451 4.3.0" \
    audit refusals-only bob '^451 4\.3\.0 rate limit beta-tempfail cannot be checked now'
# The milter tries Redis again with a doubling backoff (at most 10 s).
rig_check "on_failure=tempfail: only during the outage (+ the milter's backoff, 12 s)" \
    audit refused-within bob "$T_DOWN" "$T_UP" 12
rig_check "on_failure=local: alice was never refused" \
    audit refusals alice '.' 0 0
rig_check "on_failure=accept: carol was never refused" \
    audit refusals carol '.' 0 0
rig_check "each accepted message has one summary line action=accept, signed" \
    audit summaries '.*' "$RIG_DIR/milter.log" \
    ' tenant=(acme|beta|gamma) .*action=accept signed=[a-z]'
rig_check "the milter logged Redis unreachable exactly once" \
    log_count "$RIG_DIR/milter.log" "redis 127\.0\.0\.1:$REDIS_PORT: unreachable" 1
rig_check "and reachable again exactly once" \
    log_count "$RIG_DIR/milter.log" "redis 127\.0\.0\.1:$REDIS_PORT: reachable again" 1
rig_check "the budgets live in Redis again" \
    redis_keys "{egress}:rl:beta:beta-tempfail:*"
em_sane
tap_done
