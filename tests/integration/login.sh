#!/bin/sh
# oidcctl login end to end through the real OpenID Provider: the device flow approved, denied and
# timed out; a confidential client; key rotation at the IdP.
. "$(dirname "$0")/lib.sh"
start_idp
CONF=$WORK/conf
write_config "$CONF" "jwks_cooldown = 1"
{
    printf '\n[provider staff]\nissuer = %s\nclient_id = oidc-confidential\n' "$OP_URL"
    printf 'client_secret_file = %s\nscope = openid profile email groups\n' "$WORK/secret"
    printf 'ca_file = %s\nlowercase = yes\nstrip_domain = yes\n' "$IDP/ca.pem"
} >>"$CONF"
printf 'confidential-secret\n' >"$WORK/secret"
chmod 600 "$WORK/secret"

# login_as PROVIDER USER PASSWORD [approve options]: runs oidcctl login, approves as USER once the
# code is shown, and leaves the output in $OUT and the exit code in $RC.
login_as() {
    prov=$1 user=$2 pass=$3
    shift 3
    OUT=$WORK/login.out
    : >"$OUT"
    "$OIDCCTL" login --config "$CONF" --provider "$prov" --timeout 30 >"$OUT" 2>&1 &
    pid=$!
    code=
    for _ in $(seq 100); do
        code=$(sed -n 's/.*shows the code: *\([A-Z0-9-]*\).*/\1/p' "$OUT")
        [ -n "$code" ] && break
        sleep 0.1
    done
    if [ -n "$code" ]; then
        node "$IDP_DIR/approve.mjs" --state "$IDP" --user-code "$code" --user "$user" \
            --password "$pass" "$@" >/dev/null 2>&1
    fi
    wait $pid
    RC=$?
}

login_as people alice alice-pw
check "alice: login succeeds" [ "$RC" = 0 ]
check "alice: the prompt showed the verification URL with the code" grep -q "$OP_URL/device?user_code=" "$OUT"
check "alice: mapped name" grep -Eq 'name: +alice$' "$OUT"
check "alice: uid is the published hash of 'alice'" grep -Eq 'uid: +2131105965$' "$OUT"
check "alice: groups from the ID token with their hashed gids" grep -Eq 'groups: +admins\(1926073551\) devs\(2052918232\)' "$OUT"
check "alice: RS256 ID token" grep -q 'alg RS256' "$OUT"

login_as people bob bob-pw --deny
check "denied approval: login fails" [ "$RC" = 1 ]
check "denied approval: says access was denied" grep -qi 'denied' "$OUT"

login_as staff Dave.Mixed dave-pw
check "confidential client (Basic auth, ES256 ID token): login succeeds" [ "$RC" = 0 ]
check "confidential client: 'Dave.Mixed@Example.Test' maps to dave.mixed" grep -Eq 'name: +dave.mixed$' "$OUT"
check "confidential client: ES256" grep -q 'alg ES256' "$OUT"

login_as people rooty rooty-pw
check "a user whose name maps to root is refused" [ "$RC" = 1 ]
check "refusal names the reserved name" grep -q "'root' is reserved" "$OUT"

# nobody approves: the caller's deadline ends the poll with a clear message
OUT=$WORK/timeout.out
start=$(date +%s)
"$OIDCCTL" login --config "$CONF" --provider people --timeout 3 >"$OUT" 2>&1
RC=$?
check "unapproved login times out with exit 1" [ "$RC" = 1 ]
check "timeout is reported as such" grep -q 'not approved in the time allowed' "$OUT"
check "timeout honoured (<= 6 s)" [ $(($(date +%s) - start)) -le 6 ]

# key rotation at the IdP: the new kid is fetched once and the login works
"$IDP_DIR/idp-ctl.sh" rotate "$IDP" >/dev/null
sleep 1.2 # past jwks_cooldown
login_as people carol carol-pw
check "after key rotation: login succeeds with the new key" [ "$RC" = 0 ]
check "after key rotation: carol has no groups" grep -Eq 'groups: +\(none\)' "$OUT"

finish
