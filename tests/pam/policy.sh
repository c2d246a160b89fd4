#!/bin/sh
# pam_oidc authorization by claims: required groups (argument and provider), required claims with
# globs, deny and allow lists; refused in the account phase and, for a stack with pam_oidc in auth,
# already before anything is cached. Group rules against the raw groups claim: a denied group at
# position 257, more than 256 groups with deny_groups set, spellings the mapping changes or drops,
# a local group's name, and require_group= (sudo step-up) past the mapping's limit.
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

# Group rules see the groups claim as the IdP sent it, not the mapped list (which keeps 256
# groups, drops names that are not POSIX-safe or that are local groups, and lower-cases).
# groups_json N AT NAME: a JSON array of N groups g0, g1 ... with NAME at index AT
groups_json() {
    awk -v n="$1" -v at="$2" -v name="$3" 'BEGIN {
        printf "["
        for (i = 0; i < n; i++) printf "%s\"%s\"", (i ? "," : ""), (i == at ? name : "g" i)
        printf "]"
    }'
}
# login_groups SERVICE GROUPS_JSON: a token for ci-org with these groups
login_groups() {
    login "$1" --claims "{\"repository_owner\":\"org\",\"groups\":$2}"
}
stack raw "provider=ci"

write_pam_config 'deny_groups = contractors'
login_groups raw "$(groups_json 300 256 contractors)"
check "deny_groups: a denied group at position 257 is refused" phase authenticate PAM_AUTH_ERR
check "deny_groups at position 257: audit names the group" \
    logged "phase=auth result=failure .*reason=\"deny_groups: user 'ci-org' is in group 'contractors'\""
login_groups raw "$(groups_json 257 -1 x)"
check "deny_groups: more than 256 groups are refused when deny_groups is set" \
    phase authenticate PAM_AUTH_ERR
check "deny_groups, more than 256 groups: audit says why" \
    logged "reason=\"deny_groups: claim 'groups' has 257 values, more than the 256 groups"
login_groups raw "$(groups_json 256 -1 x)"
check "deny_groups: 256 groups without a denied one pass" phase acct_mgmt PAM_SUCCESS

login_groups raw '["deploy","Contractors"]'
check "deny_groups: 'Contractors' (dropped by the mapping) is refused" \
    phase authenticate PAM_AUTH_ERR
check "deny_groups 'Contractors': audit names the IdP's spelling" \
    logged "reason=\"deny_groups: user 'ci-org' is in group 'contractors' \(the IdP sends 'Contractors'\)\""
write_pam_config 'deny_groups = contractors@partner.example'
login_groups raw '["deploy","contractors@partner.example"]'
check "deny_groups: a group name that is not POSIX-safe is refused" \
    phase authenticate PAM_AUTH_ERR
check "deny_groups, not POSIX-safe: audit names the group" \
    logged "reason=\"deny_groups: user 'ci-org' is in group 'contractors@partner.example'\""

# a local group's name (the mapping drops it: an IdP group never takes a local name)
LOCALGRP=$(awk -F: '$1 ~ /^[a-z_][a-z0-9_-]*$/ && $1 != "root" { print $1; exit }' /etc/group)
if [ -n "$LOCALGRP" ]; then
    write_pam_config "deny_groups = $LOCALGRP"
    login_groups raw "[\"deploy\",\"$LOCALGRP\"]"
    check "deny_groups: a denied group named like local group '$LOCALGRP' is refused" \
        phase authenticate PAM_AUTH_ERR
    check "deny_groups, local group name: audit names it, the mapped groups lack it" \
        logged "groups=\"deploy\" .*reason=\"deny_groups: user 'ci-org' is in group '$LOCALGRP'\""
else
    check "a local group in /etc/group to test with" false
fi

# sudo step-up: require_group= on the account line sees the raw claim the same way
write_pam_config
stack rawsudo "provider=ci" "provider=ci require_group=sudoers"
login_groups rawsudo "$(groups_json 300 299 Sudoers)"
check "require_group= argument: 'Sudoers' at position 300 counts" phase acct_mgmt PAM_SUCCESS
login_groups rawsudo '["deploy","sudoers-x","xsudoers"]'
check "require_group= argument: a longer name is not the group" phase acct_mgmt PAM_PERM_DENIED
check "require_group= argument refusal: audit names the group" \
    logged "phase=account result=denied .*reason=\"require_group: user 'ci-org' is not in group 'sudoers' \(module argument\)\""

no_token_logged "no token in any log"
finish
