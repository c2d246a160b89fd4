#!/bin/sh
# pam_oidc setcred, account and session phases: return codes for our users (in the same handle,
# and in a fresh handle as sshd's session process or an SSH-key login sees them), for unknown
# users, the session environment, and ephemeral users leaving the cache at close_session.
. "$(dirname "$0")/lib.sh"
start_idp
write_pam_config
probe p "provider=ci"

mint_ci "$WORK/t1"
jti=$(node -e 'const p=JSON.parse(Buffer.from(process.argv[1].split(".")[1],"base64url"));console.log(p.jti+" "+p.exp)' "$(cat "$WORK/t1")")
exp=${jti#* }
jti=${jti% *}
drv -s p -u ci-org -t "$WORK/t1"
check "same handle: authenticate PAM_SUCCESS" phase authenticate PAM_SUCCESS
check "same handle: setcred PAM_SUCCESS (what sshd needs)" phase setcred PAM_SUCCESS
check "same handle: open_session PAM_SUCCESS" phase open_session PAM_SUCCESS
check "same handle: close_session PAM_SUCCESS" phase close_session PAM_SUCCESS
check "env: OIDC_ISSUER" has "^env: OIDC_ISSUER=$MINI_URL\$"
check "env: OIDC_SUBJECT" has '^env: OIDC_SUBJECT=repo:org/app:ref:refs/heads/main$'
check "env: OIDC_USERNAME" has '^env: OIDC_USERNAME=ci-org$'
check "env: OIDC_JTI is the token's jti" has "^env: OIDC_JTI=$jti\$"
check "env: OIDC_EXPIRES_AT is the token's exp" has "^env: OIDC_EXPIRES_AT=$exp\$"
check "env: export_claims repository -> OIDC_CLAIM_REPOSITORY" has '^env: OIDC_CLAIM_REPOSITORY=org/app$'
check "env: export_claims ref -> OIDC_CLAIM_REF" has '^env: OIDC_CLAIM_REF=refs/heads/main$'

# a fresh handle, as sshd's session process (which never saw pam_authenticate) or an SSH-key
# login: the cached user is still ours
drv -s p -u ci-org -o acct,setcred,open,close
check "fresh handle, cached user: account PAM_SUCCESS" phase acct_mgmt PAM_SUCCESS
check "fresh handle, cached user: setcred PAM_SUCCESS" phase setcred PAM_SUCCESS
check "fresh handle, cached user: open_session PAM_SUCCESS" phase open_session PAM_SUCCESS
check "fresh handle, cached user: close_session PAM_SUCCESS" phase close_session PAM_SUCCESS
check "fresh handle: OIDC_USERNAME from the cache" has '^env: OIDC_USERNAME=ci-org$'

# a required claim cannot be shown without a token in this handle: closed
probe pc "provider=ci require_claim=ref=refs/heads/main"
drv -s pc -u ci-org -o acct
check "fresh handle, require_claim: account refuses (no token to show the claim)" phase acct_mgmt PAM_PERM_DENIED

# a name that is neither local nor cached
drv -s p -u ci-nobody -o acct,setcred,open,close
check "unknown user: account PAM_IGNORE" phase acct_mgmt $IGNORED
check "unknown user: setcred PAM_IGNORE" phase setcred $IGNORED
check "unknown user: open_session PAM_IGNORE" phase open_session $IGNORED
check "unknown user: close_session PAM_IGNORE" phase close_session $IGNORED

# ephemeral users leave the cache when their session closes
write_pam_config 'ephemeral = yes'
mint --claims '{"repository_owner":"run42"}' >"$WORK/t2"
cp "$WORK/t2" "$WORK/tokens.t2"
drv -s p -u ci-run42 -t "$WORK/t2" -o auth,acct,open
check "ephemeral: login succeeds" phase authenticate PAM_SUCCESS
drv -s p -u ci-run42 -o setcred
check "ephemeral: cached while the session is open" phase setcred PAM_SUCCESS
drv -s p -u ci-run42 -o close
check "ephemeral: close_session PAM_SUCCESS" phase close_session PAM_SUCCESS
check "ephemeral: removal audited" logged 'phase=close_session result=success .*user="ci-run42".*reason="ephemeral user removed'
drv -s p -u ci-run42 -o setcred
check "ephemeral: gone from the cache after close" phase setcred $IGNORED
drv -s p -u ci-org -o setcred
check "ephemeral: other users stay" phase setcred PAM_SUCCESS

# preauth: NSS gives sshd a provisional entry for a matching name that is not cached, so sshd
# can reach the account phase through another method (an SSH key left in a former user's home);
# this module authenticated nobody there: it must refuse, not ignore
write_pam_config 'preauth = yes' 'preauth_allow = ci-*'
drv -s p -u ci-ghost -o acct,open
check "preauth name, not cached, no login here: account PAM_PERM_DENIED" phase acct_mgmt PAM_PERM_DENIED
check "preauth name, not cached, no login here: open_session refused" phase open_session PAM_SESSION_ERR
check "preauth name: the refusal is audited" logged 'phase=account result=denied .*user="ci-ghost".*reason="a preauth name with no cache entry'
drv -s p -u other-nobody -o acct
check "a name outside preauth_allow is still not ours: PAM_IGNORE" phase acct_mgmt $IGNORED
drv -s p -u ci-org -o acct
check "a cached preauth-pattern user still passes" phase acct_mgmt PAM_SUCCESS

# a broken configuration must not lock out local accounts (root) where the module is required
write_pam_config 'bogus_key = 1'
probe broken "provider=ci"
drv -s broken -u root -o acct,setcred,open,close
check "broken config, local root: account PAM_IGNORE (another module decides)" phase acct_mgmt $IGNORED
check "broken config, local root: session PAM_IGNORE" phase open_session $IGNORED
drv -s broken -u ci-org -o acct
check "broken config, an OIDC user: refused (PAM_SERVICE_ERR)" phase acct_mgmt PAM_SERVICE_ERR

no_token_logged "no token in any log"
finish
