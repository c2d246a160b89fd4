#!/bin/sh
# Benchmark of pam_oidc through a real Linux-PAM stack (not a test): token logins with warm
# discovery/JWKS caches (logins/s, HTTP requests per login counted at the IdP), and device logins
# (time from the approval being pollable to the login being done).
#   make check TESTS= && top_builddir=$PWD sh $srcdir/tests/pam/bench.sh [N_TOKENS] [N_DEVICE]
. "$(dirname "$0")/lib.sh"
N=${1:-200}
ND=${2:-5}
BENCH=$top_builddir/tests/bench/bench_pam
start_idp
write_pam_config
stack tok "provider=ci flow=token"
stack dev "provider=people flow=device timeout=60"

stats() { curl -fsS --cacert "$IDP/ca.pem" "$MINI_URL/stats"; }
total() { node -e 'const s=JSON.parse(process.argv[1]);console.log(s.discovery+s.jwks+s.other)' "$1"; }

mkdir -p "$WORK/toks"
echo "minting $N tokens..."
seq 0 "$N" | xargs -P 2 -I{} sh -c 'node "$1/mint.mjs" --state "$2" --claims "{\"repository_owner\":\"org\",\"repository\":\"org/app\",\"ref\":\"refs/heads/main\"}" >"$3/t.{}"' \
    sh "$IDP_DIR" "$IDP" "$WORK/toks"
# warm-up login: fetches discovery and the JWKS once, writes the cache entry
"$BENCH" -d "$CONFDIR" -s tok -u ci-org token "$WORK/toks/t.0" >/dev/null || exit 1
before=$(total "$(stats)")
files=$(seq 1 "$N" | sed "s|^|$WORK/toks/t.|")
# shellcheck disable=SC2086
"$BENCH" -d "$CONFDIR" -s tok -u ci-org token $files || exit 1
after=$(total "$(stats)")
echo "HTTP requests at the IdP during $N token logins: $((after - before)) ($(node -e "console.log(($after-$before)/$N)") per login)"
echo "(replay protection on: each login records its jti; identity cache: rewritten only on change)"

grep -E '^IDP_DEVICE_INTERVAL' "$IDP/op.env"
"$BENCH" -d "$CONFDIR" -s dev -u alice -n "$ND" device \
    "node $IDP_DIR/approve.mjs --state $IDP --user-code \"\$OIDC_USER_CODE\" --user alice --password alice-pw >/dev/null 2>&1" ||
    exit 1
# the same with the approval coming after the interval has passed: what remains is the module's
# own work (one poll, ID token verification, mapping, cache, account, session)
"$BENCH" -d "$CONFDIR" -s dev -u alice -n "$ND" device \
    "sleep 1; node $IDP_DIR/approve.mjs --state $IDP --user-code \"\$OIDC_USER_CODE\" --user alice --password alice-pw >/dev/null 2>&1" ||
    exit 1
