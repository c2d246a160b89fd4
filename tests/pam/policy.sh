#!/bin/sh
# pam_oidc authorization by claims: required groups (argument and provider), required claims with
# globs, deny and allow lists; refused in the account phase and, for a stack with pam_oidc in auth,
# already before anything is cached.
. "$(dirname "$0")/lib.sh"
start_idp
write_pam_config

# login SERVICE [mint options]: a fresh token for ci-org through SERVICE (auth and account)
login() {
    svc=$1
    shift
    mint_ci "$WORK/tok.$svc" "$@"
    drv -s "$svc" -u ci-org -t "$WORK/tok.$svc" -o auth,acct
}

stack grp "provider=ci require_group=deploy"
login grp
check "require_group present: authenticate succeeds" phase authenticate PAM_SUCCESS
check "require_group present: account succeeds" phase acct_mgmt PAM_SUCCESS

stack nogrp "provider=ci require_group=admins"
login nogrp
check "require_group missing: authenticate refused" phase authenticate PAM_AUTH_ERR
check "require_group missing: audit names the group" logged 'reason="[^"]*admins'

# the group required on the account line only (sudo step-up style): auth passes, account refuses
stack acctgrp "provider=ci" "provider=ci require_group=admins"
login acctgrp
check "require_group on the account line: authenticate succeeds" phase authenticate PAM_SUCCESS
check "require_group on the account line: account refuses" phase acct_mgmt PAM_PERM_DENIED
check "account refusal is audited" logged 'phase=account result=denied .*reason="[^"]*admins'

stack glob "provider=ci require_claim=repository=org/*"
login glob
check "require_claim glob org/* matches org/app" phase acct_mgmt PAM_SUCCESS
login glob --claims '{"repository_owner":"org","repository":"other/app","groups":["deploy"]}'
check "require_claim glob org/* refuses other/app" phase authenticate PAM_AUTH_ERR

stack ref "provider=ci" "provider=ci require_claim=ref=refs/heads/main"
login ref
check "require_claim ref=refs/heads/main: main passes" phase acct_mgmt PAM_SUCCESS
login ref --claims '{"repository_owner":"org","ref":"refs/heads/dev"}'
check "require_claim ref=refs/heads/main: dev refused in account" phase acct_mgmt PAM_PERM_DENIED
login ref --claims '{"repository_owner":"org","ref":null}'
check "require_claim: a missing claim is refused" phase acct_mgmt PAM_PERM_DENIED

# provider rules from the configuration file
write_pam_config 'deny_users = ci-evil*' 'require_claim = environment=prod'
stack conf "provider=ci"
login conf --claims '{"repository_owner":"org","environment":"prod"}'
check "provider require_claim environment=prod: passes" phase acct_mgmt PAM_SUCCESS
login conf --claims '{"repository_owner":"org","environment":"staging"}'
check "provider require_claim environment=prod: staging refused" phase authenticate PAM_AUTH_ERR
mint --claims '{"repository_owner":"evil-org","environment":"prod"}' >"$WORK/evil"
cp "$WORK/evil" "$WORK/tokens.evil"
drv -s conf -u ci-evil-org -t "$WORK/evil" -o auth,acct
check "deny_users ci-evil*: refused" phase authenticate PAM_AUTH_ERR

write_pam_config 'allow_groups = release'
login conf
check "allow_groups release: a user only in deploy is refused" phase authenticate PAM_AUTH_ERR
login conf --claims '{"repository_owner":"org","groups":["release"]}'
check "allow_groups release: a member passes" phase acct_mgmt PAM_SUCCESS

no_token_logged "no token in any log"
finish
