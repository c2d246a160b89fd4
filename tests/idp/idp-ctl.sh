#!/usr/bin/env bash
# Control the nss-pam-oidc test identity providers (main OP + mini issuer).
#
#   idp-ctl.sh start  STATE_DIR   generate CA/TLS/keys if missing, (re)start both servers
#   idp-ctl.sh stop   STATE_DIR   stop both servers (exit 0 if already stopped)
#   idp-ctl.sh rotate STATE_DIR   add a new RS256 signing key (used first), restart OP on same port; prints new kid
#   idp-ctl.sh retire STATE_DIR   keep only the newest key per alg, restart OP on same port; prints kept kids
#   idp-ctl.sh status STATE_DIR   print urls/pids, exit 0 if both servers answer
#
# Files in STATE_DIR: ca.pem ca.key server.pem server.key op-keys.json mini-keys/
#   op.url mini.url op.pid mini.pid op.log mini.log op.env
# Env read at start: IDP_DEVICE_INTERVAL (1) IDP_DEVICE_TTL (600) IDP_ID_TOKEN_TTL (3600)
#   IDP_SLOW_DOWN (0; 1 = answer slow_down to device_code polls faster than the interval)
#   IDP_NODE_MODULES: directory holding node_modules (default: this directory)
#   IDP_START_TIMEOUT: seconds to wait for the servers (20)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROG="idp-ctl.sh"

usage() {
  echo "usage: $PROG start|stop|rotate|retire|status STATE_DIR" >&2
  exit 2
}

err() { echo "$PROG: $*" >&2; }
die() { err "$*"; exit 1; }

[ $# -eq 2 ] || usage
CMD="$1"
STATE_ARG="$2"

check_node() {
  command -v node >/dev/null 2>&1 || die "node not found in PATH (Node >= 18 required)"
  if [ -n "${IDP_NODE_MODULES:-}" ]; then
    if [ ! -d "$IDP_NODE_MODULES/node_modules/oidc-provider" ] && [ ! -d "$IDP_NODE_MODULES/oidc-provider" ]; then
      die "IDP_NODE_MODULES=$IDP_NODE_MODULES does not contain node_modules/oidc-provider; run 'npm ci' in a copy of $HERE there"
    fi
  elif [ ! -d "$HERE/node_modules/oidc-provider" ]; then
    die "node modules missing: run 'npm ci' in $HERE (or set IDP_NODE_MODULES to a directory holding node_modules)"
  fi
}

# --------------------------------------------------------------- TLS material

gen_tls() {
  local s="$1"
  command -v openssl >/dev/null 2>&1 || die "openssl not found"
  if [ ! -s "$s/ca.pem" ] || [ ! -s "$s/ca.key" ]; then
    rm -f "$s/server.pem" "$s/server.key"
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 3650 \
      -keyout "$s/ca.key" -out "$s/ca.pem" \
      -subj "/O=nss-pam-oidc tests/CN=nss-pam-oidc test CA $(date +%s)" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" >/dev/null 2>"$s/openssl.err") \
      || { cat "$s/openssl.err" >&2; die "CA generation failed"; }
    chmod 644 "$s/ca.pem"
  fi
  if [ ! -s "$s/server.pem" ] || [ ! -s "$s/server.key" ]; then
    local ext="$s/server.ext"
    cat >"$ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
    (umask 077 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
      -keyout "$s/server.key" -out "$s/server.csr" -subj "/CN=localhost" >/dev/null 2>"$s/openssl.err" \
      && openssl x509 -req -in "$s/server.csr" -CA "$s/ca.pem" -CAkey "$s/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 -extfile "$ext" \
        -out "$s/server.pem" >/dev/null 2>>"$s/openssl.err") \
      || { cat "$s/openssl.err" >&2; die "server certificate generation failed"; }
    chmod 644 "$s/server.pem"
    rm -f "$s/server.csr" "$ext"
  fi
  rm -f "$s/openssl.err"
}

# --------------------------------------------------------------- processes

# true if PID exists and is not a zombie (an orphaned server is reaped by
# init, which may take a while; a zombie no longer holds its port)
alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/stat" ]; then
    st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1 || true)"
    [ "$st" != Z ] && [ -n "$st" ] || return 1
  fi
  return 0
}

# pid of a running server NAME (op|mini) or empty
server_pid() {
  local s="$1" name="$2" pid script
  case "$name" in op) script=provider.mjs ;; mini) script=mini-issuer.mjs ;; esac
  [ -f "$s/$name.pid" ] || return 0
  pid="$(cat "$s/$name.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  alive "$pid" || return 0
  # guard against pid reuse: must be our node script, or (just after launch_server forked it,
  # before the exec) the subshell of this script that is about to become it
  if [ -r "/proc/$pid/cmdline" ] &&
    ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE "$script|idp-ctl\.sh"; then
    return 0
  fi
  echo "$pid"
}

stop_server() {
  local s="$1" name="$2" pid
  pid="$(server_pid "$s" "$name")"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do
        alive "$pid" || break
        sleep 0.05
      done
    fi
  fi
  rm -f "$s/$name.pid"
}

url_port() {
  [ -f "$1" ] || return 0
  sed -n 's|^https://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$1" 2>/dev/null | head -n1 || true
}

# launch NAME with port arguments; does not wait
launch_server() {
  local s="$1" name="$2" script
  shift 2
  case "$name" in op) script=provider.mjs ;; mini) script=mini-issuer.mjs ;; esac
  rm -f "$s/$name.url"
  echo "---- $(date -u +%Y-%m-%dT%H:%M:%SZ) starting $script $*" >>"$s/$name.log"
  (
    if [ "$name" = op ] && [ -f "$s/op.env" ]; then
      # shellcheck disable=SC1091
      . "$s/op.env"
      export IDP_DEVICE_INTERVAL IDP_DEVICE_TTL IDP_ID_TOKEN_TTL IDP_SLOW_DOWN
    fi
    exec node "$HERE/$script" --state "$s" "$@" </dev/null >>"$s/$name.log" 2>&1
  ) &
  echo $! >"$s/$name.pid"
}

# wait until NAME answers discovery with the right issuer; optional kid to expect in its JWKS
wait_ready() {
  local s="$1" name="$2" want_kid="${3:-}" deadline url pid body
  deadline=$(( $(date +%s) + ${IDP_START_TIMEOUT:-20} ))
  while :; do
    pid="$(server_pid "$s" "$name")"
    if [ -z "$pid" ]; then
      err "$name server exited during startup; last lines of $s/$name.log:"
      tail -n 30 "$s/$name.log" >&2 || true
      return 1
    fi
    if [ -s "$s/$name.url" ]; then
      url="$(cat "$s/$name.url")"
      body="$(curl -sS --max-time 2 --cacert "$s/ca.pem" "$url/.well-known/openid-configuration" 2>/dev/null || true)"
      if printf '%s' "$body" | grep -qF "\"issuer\":\"$url\""; then
        if [ -z "$want_kid" ]; then
          return 0
        fi
        if curl -sS --max-time 2 --cacert "$s/ca.pem" "$url/jwks" 2>/dev/null | grep -qF "\"kid\":\"$want_kid\""; then
          return 0
        fi
      fi
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      err "$name server did not become ready within ${IDP_START_TIMEOUT:-20}s; last lines of $s/$name.log:"
      tail -n 30 "$s/$name.log" >&2 || true
      stop_server "$s" "$name"
      return 1
    fi
    sleep 0.05
  done
}

restart_op_same_port() {
  local s="$1" want_kid="${2:-}" port
  if [ -z "$(server_pid "$s" op)" ]; then
    err "OP not running; keys updated, they will be used on next start"
    return 0
  fi
  port="$(url_port "$s/op.url")"
  [ -n "$port" ] || die "cannot read port from $s/op.url"
  stop_server "$s" op
  launch_server "$s" op --port "$port"
  wait_ready "$s" op "$want_kid" || exit 1
}

# --------------------------------------------------------------- commands

case "$CMD" in
  start)
    mkdir -p "$STATE_ARG"
    STATE="$(cd "$STATE_ARG" && pwd)"
    check_node
    command -v curl >/dev/null 2>&1 || die "curl not found"
    stop_server "$STATE" op
    stop_server "$STATE" mini
    gen_tls "$STATE"
    {
      printf 'IDP_DEVICE_INTERVAL=%q\n' "${IDP_DEVICE_INTERVAL:-1}"
      printf 'IDP_DEVICE_TTL=%q\n' "${IDP_DEVICE_TTL:-600}"
      printf 'IDP_ID_TOKEN_TTL=%q\n' "${IDP_ID_TOKEN_TTL:-3600}"
      printf 'IDP_SLOW_DOWN=%q\n' "${IDP_SLOW_DOWN:-0}"
    } >"$STATE/op.env"
    for name in op mini; do
      port="$(url_port "$STATE/$name.url")"
      if [ -n "$port" ]; then
        launch_server "$STATE" "$name" --prefer-port "$port"
      else
        launch_server "$STATE" "$name"
      fi
    done
    if ! wait_ready "$STATE" op || ! wait_ready "$STATE" mini; then
      stop_server "$STATE" op
      stop_server "$STATE" mini
      die "start failed"
    fi
    echo "op:   $(cat "$STATE/op.url") (pid $(cat "$STATE/op.pid"))" >&2
    echo "mini: $(cat "$STATE/mini.url") (pid $(cat "$STATE/mini.pid"))" >&2
    ;;
  stop)
    [ -d "$STATE_ARG" ] || exit 0
    STATE="$(cd "$STATE_ARG" && pwd)"
    stop_server "$STATE" op
    stop_server "$STATE" mini
    ;;
  rotate)
    [ -d "$STATE_ARG" ] || die "no such state dir: $STATE_ARG"
    STATE="$(cd "$STATE_ARG" && pwd)"
    check_node
    kid="$(node "$HERE/keys.mjs" rotate "$STATE")" || die "key rotation failed"
    restart_op_same_port "$STATE" "$kid"
    echo "$kid"
    ;;
  retire)
    [ -d "$STATE_ARG" ] || die "no such state dir: $STATE_ARG"
    STATE="$(cd "$STATE_ARG" && pwd)"
    check_node
    kept="$(node "$HERE/keys.mjs" retire "$STATE")" || die "key retirement failed"
    restart_op_same_port "$STATE" "$(printf '%s\n' "$kept" | head -n1)"
    printf '%s\n' "$kept"
    ;;
  status)
    [ -d "$STATE_ARG" ] || die "no such state dir: $STATE_ARG"
    STATE="$(cd "$STATE_ARG" && pwd)"
    rc=0
    for name in op mini; do
      pid="$(server_pid "$STATE" "$name")"
      url="$(cat "$STATE/$name.url" 2>/dev/null || true)"
      if [ -n "$pid" ] && [ -n "$url" ] \
        && curl -fsS --max-time 2 --cacert "$STATE/ca.pem" "$url/.well-known/openid-configuration" >/dev/null 2>&1; then
        echo "$name: $url pid $pid up"
      else
        echo "$name: ${url:-?} ${pid:+pid $pid }down"
        rc=1
      fi
    done
    exit "$rc"
    ;;
  *)
    usage
    ;;
esac
