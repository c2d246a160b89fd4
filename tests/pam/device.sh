#!/bin/sh
# pam_oidc device-flow logins through a real Linux-PAM stack and the real OpenID Provider:
# approved, denied, never approved (deadline), expired code, and an IdP that answers slow_down to
# early polls (the module must never get one).
. "$(dirname "$0")/lib.sh"
IDP_SLOW_DOWN=1
export IDP_SLOW_DOWN
start_idp
write_pam_config
stack dev "provider=people flow=device timeout=30"

# approve USER PASSWORD [approve.mjs options]: the hook pamdrv runs when the device prompt shows
approve() {
    printf 'node %s/approve.mjs --state %s --user-code "$OIDC_USER_CODE" --user %s --password %s %s >/dev/null 2>&1' \
        "$IDP_DIR" "$IDP" "$1" "$2" "${3:-}"
}

drv -s dev -u alice -r 198.51.100.4 -A "$(approve alice alice-pw)" -T "$WORK/transcript.ok"
check "approved: authenticate succeeds" phase authenticate PAM_SUCCESS
check "approved: account succeeds" phase acct_mgmt PAM_SUCCESS
check "approved: setcred succeeds" phase setcred PAM_SUCCESS
check "approved: session opens" phase open_session PAM_SUCCESS
check "approved: session closes" phase close_session PAM_SUCCESS
check "approved: OIDC_USERNAME in the session" has '^env: OIDC_USERNAME=alice$'
check "approved: OIDC_SUBJECT in the session" has '^env: OIDC_SUBJECT=sub-alice$'
check "approved: OIDC_ISSUER in the session" has "^env: OIDC_ISSUER=$OP_URL\$"
check "approved: OIDC_EXPIRES_AT in the session" has '^env: OIDC_EXPIRES_AT=[0-9]+$'
check "approved: exactly one conversation message" [ "$(grep -c '^\[' "$WORK/transcript.ok")" = 1 ]
check "approved: it is a prompt (echo off), not an info message" grep -q '^\[1\] To sign in as alice with people' "$WORK/transcript.ok"
check "approved: the URL with the code is inside the prompt" grep -q "^    $OP_URL/device?user_code=" "$WORK/transcript.ok"
check "approved: the prompt ends with 'Press Enter once you have approved'" \
    grep -Eq '^Press Enter once you have approved \(within [0-9]+ s\): $' "$WORK/transcript.ok"
check "approved: audit line" logged "phase=auth result=success service=\"dev\" user=\"alice\" rhost=\"198.51.100.4\" provider=\"people\" issuer=\"$OP_URL\" subject=\"sub-alice\" jti=\"-\" groups=\"admins,devs\" flow=\"device\""

drv -s dev -A "$(approve alice alice-pw)"
check "no PAM user: the approved identity becomes PAM_USER" has '^user: alice$'

drv -s dev -u bob -A "$(approve alice alice-pw)" -o auth
check "approved by someone else: refused" phase authenticate PAM_AUTH_ERR
check "approved by someone else: audit names the mismatch" logged "reason=\"the token is for 'alice', not for the PAM user\""

drv -s dev -u bob -A "$(approve bob bob-pw --deny)" -T "$WORK/transcript.deny" -o auth
check "denied: refused" phase authenticate PAM_AUTH_ERR
check "denied: the user is told" grep -q '^\[3\] The sign-in was denied' "$WORK/transcript.deny"
check "denied: audit" logged 'user="bob" .*flow="device" reason="the login was denied'

stack slow "provider=people flow=device timeout=10"
start=$(date +%s)
drv -s slow -u carol -A true -T "$WORK/transcript.never" -o auth
took=$(($(date +%s) - start))
check "never approved: refused" phase authenticate PAM_AUTH_ERR
check "never approved: within the 10 s deadline (+2 s), took ${took}s" [ "$took" -le 12 ]
check "never approved: the user is told" grep -q 'not approved in the time allowed' "$WORK/transcript.never"

check "slow_down: the module never polled early (no slow_down at the IdP)" \
    sh -c '! grep -q "slow_down:" "$1"' sh "$IDP/op.log"

# the code expires (IDP_DEVICE_TTL=3) long before the login deadline
IDP_DEVICE_TTL=3
export IDP_DEVICE_TTL
start_idp
start=$(date +%s)
drv -s dev -u carol -A true -T "$WORK/transcript.exp" -o auth
took=$(($(date +%s) - start))
check "expired code: refused" phase authenticate PAM_AUTH_ERR
check "expired code: ends with the code, not the 30 s deadline (took ${took}s)" [ "$took" -le 8 ]
check "expired code: the user is told" grep -q 'code expired' "$WORK/transcript.exp"

finish
