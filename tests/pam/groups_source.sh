#!/bin/sh
# Group claims that arrive elsewhere (issue "Fleets", item 3), through a real Linux-PAM stack and
# the bundled IdP, whose clients oidc-groups-* put no groups claim into the ID token and serve
# the groups through userinfo only (-overage: the ID token carries Entra ID's overage marker
# instead; -othersub: userinfo answers for another subject):
#  - groups_source = userinfo: a device login takes its groups from userinfo and passes
#    require_group; with groups_source = token the same login has no groups and require_group
#    refuses, saying why; without group rules it goes on with no groups, and the audit says so;
#  - userinfo for another subject than the ID token's is refused, naming both;
#  - the overage marker (ID token, or a presented token: _claim_names/_claim_sources, hasgroups)
#    with deny_groups set is refused naming the marker; groups_overage = userinfo takes the
#    groups from userinfo in a device login, and still refuses a token login;
#  - groups_source = userinfo for a token login (no access token) refuses when a group rule is
#    set, and otherwise maps no groups.
. "$(dirname "$0")/lib.sh"
start_idp

# device PROVIDER CLIENT [lines]: a provider section for the OP client CLIENT
device() {
    name=$1 client=$2
    shift 2
    printf '[provider %s]\nissuer = %s\nclient_id = %s\n' "$name" "$OP_URL" "$client"
    printf 'scope = openid profile email groups\nca_file = %s\n' "$IDP/ca.pem"
    for l in "$@"; do printf '%s\n' "$l"; done
}
# config [lines for the ci provider]: the standard providers plus the device ones below
config() {
    write_pam_config "$@"
    {
        echo
        device ui oidc-groups-userinfo 'groups_source = userinfo' 'require_group = admins'
        device uitok oidc-groups-userinfo 'require_group = admins'
        device uinorule oidc-groups-userinfo
        device other oidc-groups-othersub 'groups_source = userinfo'
        device over oidc-groups-overage 'deny_groups = contractors'
        device overui oidc-groups-overage 'groups_overage = userinfo' 'require_group = admins'
    } >>"$CONF"
}
config
for p in ui uitok uinorule other over overui; do
    stack "$p" "provider=$p flow=device timeout=30"
done
stack tok "provider=ci flow=token"
# a sudo step-up stack: require_group= as a module argument, a provider without group rules
stack stepup "provider=uinorule flow=device timeout=30 require_group=admins"

approve() {
    printf 'node %s/approve.mjs --state %s --user-code "$OIDC_USER_CODE" --user %s --password %s >/dev/null 2>&1' \
        "$IDP_DIR" "$IDP" "$1" "$2"
}
# login PROVIDER USER PASSWORD: a device login; output in $OUT, syslog fresh
login() {
    : >"$LOG"
    drv -s "$1" -u "$2" -A "$(approve "$2" "$3")" -T "$WORK/transcript.$1.$2"
}

# member_of USER GROUP: the identity cache (what NSS serves) has USER in GROUP
member_of() { "$OIDCCTL" groups --config "$CONF" | grep -Eq "^$2[[:space:]].*\\b$1\\b"; }

login ui alice alice-pw
check "groups_source = userinfo: alice's device login succeeds" phase authenticate PAM_SUCCESS
check "groups_source = userinfo: require_group = admins passes in the account phase" phase acct_mgmt PAM_SUCCESS
check "groups_source = userinfo: the mapped groups are userinfo's" \
    logged 'audit: phase=auth result=success .*user="alice".*groups="admins,devs" flow="device" reason="device login verified" groups_from="userinfo"'
check "groups_source = userinfo: NSS sees alice in admins" member_of alice admins

login ui bob bob-pw
check "groups_source = userinfo: bob (userinfo says devs only) is refused" phase authenticate PAM_AUTH_ERR
check "groups_source = userinfo: the refusal names the group" \
    logged "reason=\"require_group: user 'bob' is not in group 'admins'\" groups_from=\"userinfo\""

login uitok alice alice-pw
check "groups_source = token, ID token without groups: require_group refuses" phase authenticate PAM_AUTH_ERR
check "groups_source = token: the refusal says the ID token carries no groups claim" \
    logged "reason=\"require_group is set, but the login's groups are not known: the ID token carries no 'groups' claim; refused\""
check "groups_source = token: the user is told why" \
    grep -q "Login refused: require_group is set, but the login's groups are not known" "$WORK/transcript.uitok.alice"

login uinorule alice alice-pw
check "no group rule, no groups claim: the login goes on" phase authenticate PAM_SUCCESS
check "no group rule, no groups claim: the audit line says there are none, and why" \
    logged "result=success .*user=\"alice\".*groups=\"-\" .*groups_from=\"none: the ID token carries no 'groups' claim\""

login stepup alice alice-pw
check "sudo step-up (require_group= argument), ID token without groups: refused" phase authenticate PAM_AUTH_ERR
check "sudo step-up: the refusal names the argument and why" \
    logged "reason=\"require_group \(module argument\) is set, but the login's groups are not known: the ID token carries no 'groups' claim; refused\""

login other alice alice-pw
check "userinfo for another subject: refused" phase authenticate PAM_AUTH_ERR
check "userinfo for another subject: the audit names both subjects" \
    logged "reason=\"userinfo is for subject 'sub-alice-impostor', but the ID token is for 'sub-alice' \(OpenID Connect Core 5.3.2\): refused\""

login over alice alice-pw
check "ID token with the overage marker, deny_groups set: refused" phase authenticate PAM_AUTH_ERR
check "ID token with the overage marker: the refusal names the marker" \
    logged "reason=\"the ID token carries the groups overage marker '_claim_names.groups' \(the IdP left the groups out, as Entra ID does beyond 200\): refused \(groups_overage = refuse\)\""
check "ID token with the overage marker: the user is told" \
    grep -q "Login refused: the ID token carries the groups overage marker '_claim_names.groups'" "$WORK/transcript.over.alice"

login overui alice alice-pw
check "overage marker, groups_overage = userinfo: the device login succeeds" phase authenticate PAM_SUCCESS
check "overage marker, groups_overage = userinfo: require_group = admins passes" phase acct_mgmt PAM_SUCCESS
check "overage marker, groups_overage = userinfo: the groups are userinfo's" \
    logged 'result=success .*user="alice".*groups="admins,devs" .*groups_from="userinfo"'

# presented tokens (the mini issuer) with the overage marker and deny_groups
config 'deny_groups = contractors'
ci_token() {
    mint --claims "$1" >"$WORK/$2"
    cp "$WORK/$2" "$WORK/tokens.$2"
    : >"$LOG"
    drv -s tok -u ci-org -t "$WORK/$2"
}
ci_token '{"repository_owner":"org","_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://graph.example.test/v1.0/users/x/getMemberObjects"}}}' over1
check "token with _claim_names.groups, deny_groups set: refused" phase authenticate PAM_AUTH_ERR
check "token with _claim_names.groups: the refusal names the marker" \
    logged "reason=\"the token carries the groups overage marker '_claim_names.groups' \(the IdP left the groups out, as Entra ID does beyond 200\): refused \(groups_overage = refuse\)\""
ci_token '{"repository_owner":"org","hasgroups":true}' over2
check "token with hasgroups: true, deny_groups set: refused" phase authenticate PAM_AUTH_ERR
check "token with hasgroups: the refusal names the marker" \
    logged "reason=\"the token carries the groups overage marker 'hasgroups'"
ci_token '{"repository_owner":"org"}' nogroups
check "token without a groups claim, deny_groups set: refused (not a silent empty list)" phase authenticate PAM_AUTH_ERR
check "token without a groups claim: the refusal says so" \
    logged "reason=\"deny_groups is set, but the login's groups are not known: the token carries no 'groups' claim; refused\""

config 'groups_overage = userinfo'
ci_token '{"repository_owner":"org","hasgroups":true}' over3
check "token with the overage marker, groups_overage = userinfo: refused (a token login has no access token)" \
    phase authenticate PAM_AUTH_ERR
check "groups_overage = userinfo in a token login: the refusal says it needs a device login" \
    logged "reason=\"the token carries the groups overage marker 'hasgroups' \(the IdP left the groups out\); groups_overage = userinfo needs a device login"

config 'groups_source = userinfo' 'deny_groups = contractors'
ci_token '{"repository_owner":"org","groups":["deploy"]}' srcui1
check "groups_source = userinfo, token login, deny_groups set: refused" phase authenticate PAM_AUTH_ERR
check "groups_source = userinfo, token login: the refusal says userinfo cannot be asked" \
    logged "reason=\"deny_groups is set, but the login's groups are not known: groups_source = userinfo, but this token came without an access token to fetch userinfo with; refused\""
config 'groups_source = userinfo'
ci_token '{"repository_owner":"org","groups":["deploy"]}' srcui2
check "groups_source = userinfo, token login, no group rule: the login goes on" phase authenticate PAM_SUCCESS
check "groups_source = userinfo, token login: no groups (not the token's), and the audit says why" \
    logged "result=success .*user=\"ci-org\".*groups=\"-\" .*groups_from=\"none: groups_source = userinfo, but this token came without an access token"

no_token_logged "no token in any log"
finish
