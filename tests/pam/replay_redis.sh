#!/bin/sh
# The fleet-wide replay store (replay_store = redis://...) through real Linux-PAM stacks and a
# real redis-server on 127.0.0.1: two "hosts" (each its own configuration and state directory)
# share one Redis, so a token used on host A is refused on host B; the same token twice on one
# host; Redis down (refused connections, and a server that never answers) with
# replay_store_unavailable = refuse (within the timeout) and = local; AUTH with a password from a
# root-only file, a wrong password (never shown), a password file mode 0644, rediss://; and the
# link lines (pam_oidc.so needs hiredis, libnss_oidc.so.2 does not).
# Skips (77) when redis-server is missing or the build has no hiredis.
. "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 ||
    { echo "SKIP: redis-server/redis-cli missing"; exit 77; }
grep -q '^#define HAVE_HIREDIS 1' "$top_builddir/config.h" ||
    { echo "SKIP: built without hiredis (configure --with-hiredis)"; exit 77; }

REDIS_PIDS=
redis_cleanup() {
    for p in $REDIS_PIDS; do
        kill -CONT "$p" 2>/dev/null
        kill "$p" 2>/dev/null
    done
    pam_cleanup
}
trap redis_cleanup EXIT

# start_redis NAME [redis.conf lines]: a redis-server on a free port of 127.0.0.1, its own dir,
# no persistence; sets PORT and PID (and NAME_port). Settings (requirepass) come from a file, so
# no password appears on a command line.
start_redis() {
    rname=$1
    shift
    rdir=$WORK/redis-$rname
    mkdir -p "$rdir"
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
        {
            printf 'port %s\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\n' "$PORT" "$rdir"
            printf 'daemonize no\nlogfile %s/log\n' "$rdir"
            for l in "$@"; do printf '%s\n' "$l"; done
        } >"$rdir/redis.conf"
        chmod 600 "$rdir/redis.conf"
        redis-server "$rdir/redis.conf" &
        PID=$!
        for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            if ! kill -0 "$PID" 2>/dev/null; then break; fi
            if grep -q 'Ready to accept connections' "$rdir/log" 2>/dev/null; then
                REDIS_PIDS="$REDIS_PIDS $PID"
                return 0
            fi
            sleep 0.1
        done
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    done
    echo "cannot start redis-server"
    exit 99
}

# host NAME [config lines]: a host = its own state directory and configuration, and a stack
# named NAME that uses them
host() {
    hname=$1
    shift
    STATE=$WORK/state-$hname
    CONF=$WORK/conf-$hname
    mkdir -p "$STATE"
    chmod 700 "$STATE"
    write_pam_config "$@"
    stack "$hname" "provider=ci flow=token"
}

ms() { date +%s%3N; }

start_idp
start_redis main
MAIN_PORT=$PORT
MAIN_PID=$PID
STORE="replay_store = redis://127.0.0.1:$MAIN_PORT/3"

# ---------------------------------------------------------------- link lines
needed_pam=$(readelf -d "$MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
needed_nss=$(readelf -d "$top_builddir/nss/.libs/libnss_oidc.so.2" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
check "pam_oidc.so links hiredis" sh -c 'printf "%s\n" "$1" | grep -q "^libhiredis"' sh "$needed_pam"
check "libnss_oidc.so.2 does not link hiredis" \
    sh -c '! printf "%s\n" "$1" | grep -q "hiredis"' sh "$needed_nss"

# ---------------------------------------------------------------- two hosts, one Redis
host host-a "$STORE"
host host-b "$STORE"
mint_ci "$WORK/fleet"
drv -s host-a -u ci-org -t "$WORK/fleet" -o auth
check "fleet: the token logs in on host A" phase authenticate PAM_SUCCESS
keys=$(redis-cli -h 127.0.0.1 -p "$MAIN_PORT" -n 3 --scan --pattern '*')
check "fleet: Redis db 3 holds exactly one key, oidc:jti:<hex SHA-256>" \
    sh -c 'printf "%s\n" "$1" | grep -Eqx "oidc:jti:[0-9a-f]{64}" && [ "$(printf "%s\n" "$1" | wc -l)" = 1 ]' sh "$keys"
ttl=$(redis-cli -h 127.0.0.1 -p "$MAIN_PORT" -n 3 ttl "$keys")
check "fleet: the key expires with the token (exp + 300 s leeway bound; TTL $ttl)" \
    [ "$ttl" -gt 300 ] && [ "$ttl" -le 1000 ]
sig=$(sed 's/.*\.//' "$WORK/fleet")
check "fleet: no token bytes in Redis (keys and values)" \
    sh -c '! redis-cli -h 127.0.0.1 -p "$1" -n 3 --scan | while read -r k; do printf "%s %s\n" "$k" "$(redis-cli -h 127.0.0.1 -p "$1" -n 3 get "$k")"; done | grep -qF "$2"' sh "$MAIN_PORT" "$sig"
drv -s host-b -u ci-org -t "$WORK/fleet" -o auth -T "$WORK/transcript.host-b"
check "fleet: the same token on host B is refused (PAM_AUTH_ERR)" phase authenticate PAM_AUTH_ERR
check "fleet: host B's audit says it was used on this fleet" \
    logged 'result=failure service="host-b".*reason="token already used on this fleet \(jti '
check "fleet: host B's user is told" \
    grep -q 'Login refused: token already used on this fleet' "$WORK/transcript.host-b"
drv -s host-a -u ci-org -t "$WORK/fleet" -o auth
check "fleet: the same token twice on host A is refused" phase authenticate PAM_AUTH_ERR
check "fleet: host A's audit names the reuse" \
    logged 'result=failure service="host-a".*reason="token already used'
mint_ci "$WORK/fleet2"
drv -s host-b -u ci-org -t "$WORK/fleet2" -o auth
check "fleet: another token logs in on host B" phase authenticate PAM_SUCCESS

# control: the same two-host scenario with the local store only lets the token in on both hosts,
# so the refusal above comes from the shared store
host host-c
host host-d
mint_ci "$WORK/control"
drv -s host-c -u ci-org -t "$WORK/control" -o auth
check "control (local stores): the token logs in on host C" phase authenticate PAM_SUCCESS
drv -s host-d -u ci-org -t "$WORK/control" -o auth
check "control (local stores): host D does not know it (logs in)" phase authenticate PAM_SUCCESS

# ---------------------------------------------------------------- Redis down
start_redis gone
GONE_PORT=$PORT
kill "$PID"
wait "$PID" 2>/dev/null
host down-refuse "replay_store = redis://127.0.0.1:$GONE_PORT" "replay_store_timeout = 2"
mint_ci "$WORK/down"
t0=$(ms)
drv -s down-refuse -u ci-org -t "$WORK/down" -o auth -T "$WORK/transcript.down-refuse"
took=$(($(ms) - t0))
check "Redis stopped, unavailable = refuse: refused (PAM_AUTHINFO_UNAVAIL)" \
    phase authenticate PAM_AUTHINFO_UNAVAIL
check "Redis stopped: within timeout + 1 s (${took} ms)" [ "$took" -lt 3000 ]
check "Redis stopped: the log says the store is unavailable and why" \
    logged "reason=\"replay store redis://127.0.0.1:$GONE_PORT is unavailable: cannot connect: Connection refused"
check "Redis stopped: the user is told, without the store's address" \
    sh -c 'grep -q "Login refused: the token cannot be checked for reuse now" "$1" && ! grep -q "$2" "$1"' \
    sh "$WORK/transcript.down-refuse" "$GONE_PORT"

host down-local "replay_store = redis://127.0.0.1:$GONE_PORT" "replay_store_unavailable = local"
drv -s down-local -u ci-org -t "$WORK/down" -o auth
check "Redis stopped, unavailable = local: the login succeeds on the local store" \
    phase authenticate PAM_SUCCESS
check "Redis stopped, unavailable = local: a warning names the fallback" \
    logged '^<84>.*replay store redis://127.0.0.1:[0-9]+ is unavailable: .*replay_store_unavailable = local'
drv -s down-local -u ci-org -t "$WORK/down" -o auth
check "Redis stopped, unavailable = local: the same token again on that host is refused" \
    phase authenticate PAM_AUTH_ERR

# a Redis that accepts connections and never answers (stopped process): the deadline holds
start_redis hung
HUNG_PORT=$PORT
HUNG_PID=$PID
kill -STOP "$HUNG_PID"
host hung "replay_store = redis://127.0.0.1:$HUNG_PORT" "replay_store_timeout = 2"
mint_ci "$WORK/hung"
t0=$(ms)
drv -s hung -u ci-org -t "$WORK/hung" -o auth
took=$(($(ms) - t0))
kill -CONT "$HUNG_PID"
check "Redis hanging: refused (PAM_AUTHINFO_UNAVAIL)" phase authenticate PAM_AUTHINFO_UNAVAIL
check "Redis hanging: after the 2 s timeout, under timeout + 1 s (${took} ms)" \
    [ "$took" -ge 2000 ] && [ "$took" -lt 3000 ]
check "Redis hanging: the log says no answer within replay_store_timeout" \
    logged "replay store redis://127.0.0.1:$HUNG_PORT is unavailable: no answer within replay_store_timeout"

# ---------------------------------------------------------------- AUTH
PW='s3cret-Redis-pw-4711'
start_redis auth "requirepass $PW"
AUTH_PORT=$PORT
printf '%s\n' "$PW" >"$WORK/redis.pw"
chmod 600 "$WORK/redis.pw"
printf 'wrong-Pw-0815\n' >"$WORK/redis.wrong"
chmod 600 "$WORK/redis.wrong"
host auth-ok "replay_store = redis://127.0.0.1:$AUTH_PORT" \
    "replay_store_password_file = $WORK/redis.pw"
mint_ci "$WORK/auth"
drv -s auth-ok -u ci-org -t "$WORK/auth" -o auth
check "AUTH: the right password logs in" phase authenticate PAM_SUCCESS
check "AUTH: the key is in Redis" \
    [ "$(REDISCLI_AUTH=$PW redis-cli -h 127.0.0.1 -p "$AUTH_PORT" --no-auth-warning dbsize)" = 1 ]
drv -s auth-ok -u ci-org -t "$WORK/auth" -o auth
check "AUTH: the same token again is refused" phase authenticate PAM_AUTH_ERR

host auth-bad "replay_store = redis://127.0.0.1:$AUTH_PORT" \
    "replay_store_password_file = $WORK/redis.wrong"
mint_ci "$WORK/wrong"
drv -s auth-bad -u ci-org -t "$WORK/wrong" -o auth -T "$WORK/transcript.wrong"
check "AUTH, wrong password: refused" phase authenticate PAM_SERVICE_ERR
check "AUTH, wrong password: the log says AUTH was refused" \
    logged "reason=\"replay store redis://127.0.0.1:$AUTH_PORT: AUTH refused: WRONGPASS"
check "AUTH, wrong password: no password in syslog, driver output or transcripts" \
    sh -c '! grep -rqF -e "$1" -e "$2" "$3" "$4" "$5" "$6" "$7"' sh "$PW" "wrong-Pw-0815" "$LOG" \
    "$WORK/drv.all" "$WORK/drv.err" "$WORK/transcript.wrong" "$WORK/transcript.down-refuse"
host auth-none "replay_store = redis://127.0.0.1:$AUTH_PORT" "replay_store_unavailable = local"
drv -s auth-none -u ci-org -t "$WORK/wrong" -o auth
check "AUTH required, no password file: refused even with unavailable = local" \
    phase authenticate PAM_SERVICE_ERR
check "AUTH required, no password file: the log says NOAUTH and what to set" \
    logged 'SET refused: NOAUTH.*expected replay_store_password_file'

# ---------------------------------------------------------------- configuration refusals
printf '%s\n' "$PW" >"$WORK/redis.644"
chmod 644 "$WORK/redis.644"
host pw-644 "replay_store = redis://127.0.0.1:$AUTH_PORT" \
    "replay_store_password_file = $WORK/redis.644"
mint_ci "$WORK/pw-644"
drv -s pw-644 -u ci-org -t "$WORK/pw-644" -o auth
check "password file mode 0644: the configuration is refused (PAM_SERVICE_ERR)" \
    phase authenticate PAM_SERVICE_ERR
check "password file mode 0644: the log names the file and its mode" \
    logged "replay_store_password_file: $WORK/redis.644: refused: mode 0644 grants access to group or others"
expect_exit "password file mode 0644: oidcctl check-config refuses it" 2 \
    "redis.644: refused: mode 0644" "$OIDCCTL" check-config --config "$CONF"

host tls "replay_store = rediss://127.0.0.1:$AUTH_PORT"
drv -s tls -u ci-org -t "$WORK/pw-644" -o auth
check "rediss://: the configuration is refused" phase authenticate PAM_SERVICE_ERR
check "rediss://: the log says TLS is not available" logged "replay_store: .*rediss:// \(TLS\), which this build cannot do"
host userinfo "replay_store = redis://:$PW@127.0.0.1:$AUTH_PORT"
drv -s userinfo -u ci-org -t "$WORK/pw-644" -o auth
check "a password in the URL: the configuration is refused" phase authenticate PAM_SERVICE_ERR
check "a password in the URL: the log says where it belongs" logged "user or password in the URL"
check "no Redis password anywhere in syslog, driver output or transcripts" \
    sh -c '! cat "$2" "$3" "$4" "$5"/transcript.* | grep -qF -e "$1" -e "wrong-Pw-0815"' sh "$PW" \
    "$LOG" "$WORK/drv.all" "$WORK/drv.err" "$WORK"

no_token_logged "no token appears in syslog, driver output or transcripts"
finish
