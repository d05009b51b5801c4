#!/bin/bash
# ratelimit.sh - rate limits through a real Postfix, shared by two milter
# processes through one real redis-server (started here on 127.0.0.1:16392,
# stopped by PID).  Postfix's smtpd on 10025 uses milter A, a second smtpd
# on 10027 uses milter B; both load the same limits and the same Redis:
#   - alice's tenant may send 4 messages an hour: 6 attempts alternating
#     between the two milters give exactly 4 deliveries and two 451 4.7.1
#     replies at RCPT naming the limit;
#   - redis-server killed: each limit's on_failure (local: this relay's
#     own buckets, which still limit; tempfail: 451 4.3.0; accept), one log
#     line for the change, and recovery when Redis returns;
#   - a client refused by a 1-per-5-seconds limit gets its message
#     delivered when it retries after the window.
# Milter B logs in as a Redis 6 ACL user that may touch only the {egress}
# keys and run only the scripts' commands (the recipe of
# egress-milter.conf(5), ratelimit.redis.username); milter A as the
# default user.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/rig.sh"
rig_init "$@"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REDIS_PORT=16392
PORT_B=10027

write_conf() {	# FILE SOCKET [REDIS-SETTINGS]
	cat >"$1" <<CONF_END
milter: { socket = "unix:$2"; user = "nobody"; socket_group = "postfix"; };
alignment: { enabled = false; };
ratelimit: { backend = "redis";
             redis: { server = "127.0.0.1:$REDIS_PORT"; timeout_ms = 200;
                       on_failure = "local"; ${3:-} }; };
tenants = (
  { name = "acme"; logins = ["alice"];
    limits = ( { name = "hourly"; per = "tenant"; messages = "4/1h"; } );
    domains = ( { name = "acme.example";
                  keys = ( { selector = "rsa2026"; file = "$RIG_DIR/acme-rsa.key"; } ); } ); },
  { name = "beta"; logins = ["bob"];
    limits = ( { name = "strict"; per = "tenant"; messages = "100/1h";
                 on_failure = "tempfail"; } );
    domains = ( { name = "beta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); },
  { name = "gamma"; logins = ["carol"];
    limits = ( { name = "lenient"; per = "tenant"; messages = "1/1h";
                 on_failure = "accept"; } );
    domains = ( { name = "gamma.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); },
  { name = "delta"; logins = ["dave"];
    limits = ( { name = "window"; per = "tenant"; messages = "1/5s"; } );
    domains = ( { name = "delta.example";
                  keys = ( { selector = "s1"; file = "$RIG_DIR/beta-rsa.key"; } ); } ); }
);
CONF_END
}

redis_start() {	# with milter B's ACL user (Redis keeps no ACL file here)
	rig_spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
	    --save '' --appendonly no --dir "$RIG_DIR" &&
	_rig_wait_for 10 redis-cli -p "$REDIS_PORT" ping &&
	[ "$(redis-cli -p "$REDIS_PORT" ACL SETUSER relay-b on '>b-secret' \
	    resetkeys '~{egress}:*' resetchannels -@all +evalsha +eval +get \
	    +set +del +time +select)" = OK ]
}

# send LOGIN SUBJECT [A|B]: one message through milter A (port 10025) or
# B (port 10027).
send() {
	local port=10025
	[ "${3:-A}" = B ] && port=$PORT_B
	RIG_SMTPD_PORT=$port rig_send --xclient "LOGIN=$1" \
	    --from "$1@$(domain_of "$1")" --h-From "$1@$(domain_of "$1")" \
	    --header "Subject: $2"
}

domain_of() {
	case $1 in
	alice) echo acme.example ;; bob) echo beta.example ;;
	carol) echo gamma.example ;; dave) echo delta.example ;;
	esac
}

# accepted LOGIN SUBJECT [A|B]: the message is queued.
accepted() {
	send "$@" || return 1
	reply_starts "250 "
}

# limited LOGIN SUBJECT [A|B] REPLY: refused at RCPT with REPLY...
limited() {
	send "$1" "$2" "$3"
	reply_starts "$4" && refused_after "RCPT TO"
}

# delivered_subjects ERE N: exactly N delivered messages match.
delivered_subjects() {
	local k
	sleep 1
	rig_postfix_flush >/dev/null 2>&1
	_rig_wait_for 20 test "$(rig_sink_grep "^Subject: $1\$" | wc -l)" -ge "$2"
	k=$(rig_sink_grep "^Subject: $1\$" | wc -l)
	echo "$k delivered messages match Subject: $1 (expected $2)"
	[ "$k" -eq "$2" ]
}

# log_count FILE ERE N: exactly N lines of FILE match.
log_count() {
	local k
	k=$(grep -cE -- "$2" "$1")
	echo "$k lines of $(basename "$1") match $2 (expected $3)"
	[ "$k" -eq "$3" ]
}

acl_user_seen() {	# USER: a client of Redis is logged in as USER
	redis-cli -p "$REDIS_PORT" CLIENT LIST | grep -q " user=$1 "
}

redis_keys() {
	redis-cli -p "$REDIS_PORT" --scan --pattern "$1" | grep .
}

rig_check "keys" em_keys
write_conf "$RIG_DIR/a.conf" "$RIG_DIR/milter.sock"
write_conf "$RIG_DIR/b.conf" "$RIG_DIR/milter-b.sock" \
    'username = "relay-b"; password = "b-secret";'
RIG_POSTFIX_MASTER_EXTRA="127.0.0.1:$PORT_B inet n - n - - smtpd
  -o smtpd_milters=unix:$RIG_DIR/milter-b.sock"
rig_check "redis-server starts on 127.0.0.1:$REDIS_PORT" redis_start
rig_check "milter B starts" rig_spawn milter-b "$EM_BIN" -f -c "$RIG_DIR/b.conf"
rig_check "milter B's socket is ready" rig_wait_socket "$RIG_DIR/milter-b.sock" 10 \
    "$(rig_spawn_pid milter-b)"
em_start "$RIG_DIR/a.conf"
LOG_A=$RIG_DIR/milter.log
LOG_B=$RIG_DIR/milter-b.log

# ---- one budget for two relays
rig_check "1st of alice's hour, through milter A" accepted alice SH1 A
rig_check "2nd, through milter B" accepted alice SH2 B
rig_check "3rd, through A" accepted alice SH3 A
rig_check "4th, through B" accepted alice SH4 B
rig_check "5th, through A: 451 4.7.1 at RCPT naming the limit" limited \
    alice SH5 A "451 4.7.1 rate limit hourly reached: 4/1h messages for acme"
rig_check "6th, through B: refused too (the budget is shared)" limited \
    alice SH6 B "451 4.7.1 rate limit hourly reached"
rig_check "exactly the 4 accepted messages are delivered" \
    delivered_subjects "SH[0-9]" 4
rig_check "the bucket is in Redis under the {egress} hash tag" \
    redis_keys "{egress}:rl:acme:hourly:1h:acme"
rig_check "both milters refused by the shared count" \
    grep -q "rate limit hourly reached" "$LOG_B"
rig_check "milter B is logged in as its ACL user" acl_user_seen relay-b

# spend carol's budget (1/1h) while Redis is up
rig_check "carol's one message an hour" accepted carol LE1 A
rig_check "carol's second: 451 4.7.1" limited carol LE2 A "451 4.7.1"

# ---- Redis goes away
rig_check "redis-server is killed" rig_spawn_stop redis
rig_check "tempfail limit: 451 4.3.0 while Redis is down" limited bob DN1 A \
    "451 4.3.0 rate limit strict cannot be checked now"
rig_check "accept limit: carol sends although her budget is spent" \
    accepted carol DN2 A
rig_check "local limit: alice's mail falls back to this relay's buckets (1)" \
    accepted alice DL1 A
rig_check "local (2)" accepted alice DL2 A
rig_check "local (3)" accepted alice DL3 A
rig_check "local (4)" accepted alice DL4 A
rig_check "local: the 5th is refused by the local bucket" limited alice DL5 A \
    "451 4.7.1 rate limit hourly reached"
rig_check "milter A logged Redis unreachable exactly once" \
    log_count "$LOG_A" "redis 127\.0\.0\.1:$REDIS_PORT: unreachable" 1
rig_check "no message was lost while Redis was down (DN2 + DL1-4)" \
    delivered_subjects "(DN2|DL[0-9])" 5

# ---- Redis comes back (empty: it kept nothing on disk)
rig_check "redis-server restarts" redis_start
retry_bob() {
	local i
	for i in $(seq 1 30); do
		send bob UP1 A && reply_starts "250 " >/dev/null && return 0
		sleep 0.5
	done
	rig_last_reply
	return 1
}
rig_check "tempfail limit recovers when Redis returns (within its backoff)" \
    retry_bob
rig_check "milter A logged Redis reachable again exactly once" \
    log_count "$LOG_A" "redis 127\.0\.0\.1:$REDIS_PORT: reachable again" 1
rig_check "the budget lives in Redis again" redis_keys "{egress}:rl:beta:*"

# ---- the client retries after the window and its message is delivered
rig_check "dave's first message" accepted dave RT1 A
rig_check "dave's second, at once: 451 4.7.1 with the wait" limited dave RT2 A \
    "451 4.7.1 rate limit window reached: 1/5s messages for delta; try again in"
sleep 5.2
rig_check "the retry after the window is accepted" accepted dave RT2 A
rig_check "both of dave's messages are delivered, once each" \
    delivered_subjects "RT[0-9]" 2
rig_check "milter B stops cleanly" rig_spawn_stop milter-b
em_sane
tap_done
