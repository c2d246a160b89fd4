#!/bin/sh
# The unknown-kid JWKS refetch cooldown holds across processes, also while the IdP is down: each
# `oidcctl verify-token` is a new process (as each sshd child is), and N of them with tokens whose
# kid the cached key set lacks must cost the IdP at most one request per jwks_cooldown. A stand-in
# listener on the IdP's port counts the connections (it accepts and closes: the IdP is "down").
. "$(dirname "$0")/lib.sh"
start_idp
CONF=$WORK/conf
write_config "$CONF"
COOLDOWN=4
printf 'jwks_cooldown = %s\n' "$COOLDOWN" >>"$CONF" # the ci provider's section is the last one
T=$WORK/tok
CI_CLAIMS='{"repository_owner":"org"}'
PORT=${MINI_URL##*:}

# warm cache: discovery and the key set on disk
mint --claims "$CI_CLAIMS" >"$T"
expect_exit "warm-up: a good token verifies (discovery and JWKS cached)" 0 'token valid' \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
for i in 1 2 3 4 5 6; do mint --claims "$CI_CLAIMS" --unpublished >"$WORK/unknown$i"; done
"$IDP_DIR/idp-ctl.sh" stop "$IDP" >/dev/null

# the stand-in: counts connections into $WORK/count, answers nothing
node -e '
const net = require("net"); const fs = require("fs");
let n = 0; const f = process.argv[2];
fs.writeFileSync(f, "0\n");
net.createServer((c) => { n++; fs.writeFileSync(f, `${n}\n`); c.destroy(); })
  .listen(Number(process.argv[1]), "127.0.0.1", () => fs.writeFileSync(f + ".ready", ""));
' "$PORT" "$WORK/count" &
STANDIN=$!
trap 'kill $STANDIN 2>/dev/null; cleanup' EXIT
for i in $(seq 50); do [ -e "$WORK/count.ready" ] && break; sleep 0.1; done
check "stand-in listener up on the IdP's port $PORT" [ -e "$WORK/count.ready" ]
count() { cat "$WORK/count"; }

sleep $((COOLDOWN + 1)) # the warm-up fetch is out of the cooldown: the next unknown kid may refetch
for i in 1 2 3 4 5; do
    expect_exit "IdP down: unknown-kid token $i refused, naming the kid" 1 'no key with kid' \
        "$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/unknown$i"
done
check "5 processes with unknown kids, IdP down: one request within the cooldown (got $(count))" \
    [ "$(count)" = 1 ]
ATTEMPT=$(ls "$WORK/state/idp"/*.jwks-attempt 2>/dev/null | head -n 1)
check "the attempt record is on disk, root's, mode 0600" \
    sh -c '[ -f "$1" ] && [ "$(stat -c %u:%a "$1")" = 0:600 ]' - "$ATTEMPT"

sleep $((COOLDOWN + 1))
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/unknown6" >/dev/null 2>&1
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/unknown1" >/dev/null 2>&1
check "after the cooldown: one more request, then the cooldown again (got $(count))" \
    [ "$(count)" = 2 ]

# the clock stepped back: a record in the future counts as now, so it holds for one cooldown and
# then lets the next attempt through, instead of being skipped (old code) or blocking for ever
sleep $((COOLDOWN + 1))
printf '%s\n' $(($(date +%s) + 86400)) >"$ATTEMPT"
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/unknown2" >/dev/null 2>&1
check "attempt record in the future: no request (got $(count))" [ "$(count)" = 2 ]
check "attempt record in the future: rewritten to now" \
    [ "$(cat "$ATTEMPT")" -le "$(date +%s)" ]
sleep $((COOLDOWN + 1))
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/unknown3" >/dev/null 2>&1
check "attempt record was in the future: one cooldown later, a request again (got $(count))" \
    [ "$(count)" = 3 ]

kill $STANDIN 2>/dev/null
finish
