#!/bin/sh
# Hardening item 7 through a real Linux-PAM stack with tokens from the bundled IdP: an IdP group
# whose name is another cached user's, a later user's, a local account's or a local group's is
# dropped from that user's groups with an audit line, and the login goes on; a user-name
# collision is still refused. The cache is read back with oidcctl (users/groups) and through the
# initgroups records the NSS module serves (oidcctl groups lists exactly those memberships).
. "$(dirname "$0")/lib.sh"
start_idp
write_pam_config
stack tok "provider=ci flow=token"

# member USER GROUP: oidcctl groups lists USER as a member of GROUP
member() { "$OIDCCTL" groups --config "$CONF" | grep -Eq "^$2[[:space:]].*\\b$1\\b"; }
groups_of() { "$OIDCCTL" users --config "$CONF" --json; }

# mallory first: her IdP groups are ci-bob (the later user's name), sshd (a local account here),
# daemon (a local group, which the mapping drops already) and deploy
mint --claims '{"repository_owner":"mallory","groups":["ci-bob","sshd","daemon","deploy"]}' --sub sub-mallory >"$WORK/m1"
cp "$WORK/m1" "$WORK/tokens.m1"
drv -s tok -u ci-mallory -t "$WORK/m1"
check "group named like a local account: mallory's login succeeds" phase authenticate PAM_SUCCESS
check "group named like a local account: account succeeds" phase acct_mgmt PAM_SUCCESS
check "group named like a local account: audit line names the dropped group" \
    logged 'audit: phase=auth result=group-dropped service="tok" user="ci-mallory" provider="ci" group="sshd" gid=[0-9]+ reason="it is the name of local account .sshd. in /etc/passwd"'
check "group named like a local account: sshd is not among mallory's groups" \
    sh -c '! "$1" users --config "$2" --json | grep -q "\"sshd\""' sh "$OIDCCTL" "$CONF"
check "group named like a local group: daemon is not among mallory's groups" \
    sh -c '! "$1" users --config "$2" --json | grep -q "\"daemon\""' sh "$OIDCCTL" "$CONF"
check "success audit: groups= shows what the cache holds" \
    logged 'audit: phase=auth result=success .*user="ci-mallory".*groups="ci-bob,deploy"'
check "before bob exists mallory is in a group ci-bob" member ci-mallory ci-bob

# the real bob's first login: his private group ci-bob wins, mallory loses the membership
mint --claims '{"repository_owner":"bob","groups":["deploy"]}' --sub sub-bob >"$WORK/b1"
cp "$WORK/b1" "$WORK/tokens.b1"
drv -s tok -u ci-bob -t "$WORK/b1"
check "group named like a later user: bob's first login succeeds" phase authenticate PAM_SUCCESS
check "group named like a later user: audit line names mallory's dropped group" \
    logged 'audit: phase=auth result=group-dropped service="tok" user="ci-mallory" provider="ci" group="ci-bob" gid=[0-9]+ reason="user .ci-bob. now owns a private group of that name"'
check "group named like a later user: mallory is no member of ci-bob any more" \
    sh -c '! "$1" groups --config "$2" | grep -Eq "^ci-bob[[:space:]]"' sh "$OIDCCTL" "$CONF"
check "cache verify is clean after the eviction" "$OIDCCTL" cache verify --config "$CONF"

# mallory again with ci-bob: dropped as another user's name, login goes on
mint --claims '{"repository_owner":"mallory","groups":["ci-bob","deploy"]}' --sub sub-mallory >"$WORK/m2"
cp "$WORK/m2" "$WORK/tokens.m2"
: >"$LOG"
drv -s tok -u ci-mallory -t "$WORK/m2"
check "group named like another cached user: mallory's login succeeds" phase authenticate PAM_SUCCESS
check "group named like another cached user: audit line names it" \
    logged 'result=group-dropped .*user="ci-mallory" .*group="ci-bob" .*reason="it is the name of cached user .ci-bob. \(its private group\)"'
check "deploy still lists both" sh -c '"$1" groups --config "$2" | grep -E "^deploy[[:space:]]" | grep -q ci-mallory' sh "$OIDCCTL" "$CONF"

# a user-name collision stays a refusal: another subject for the cached name ci-bob
mint --claims '{"repository_owner":"bob","groups":["deploy"]}' --sub other-subject >"$WORK/b2"
cp "$WORK/b2" "$WORK/tokens.b2"
drv -s tok -u ci-bob -t "$WORK/b2"
check "user-name collision (another subject): refused" phase authenticate PAM_AUTH_ERR
check "user-name collision: audit names the binding" logged "result=failure .*user=\"ci-bob\".*reason=\"[^\"]*bound to issuer"

# verify-token warns about the drops a login would make
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/m2" >"$WORK/vt.out" 2>&1
check "verify-token: warns that ci-bob would be dropped" \
    grep -q "warning: group 'ci-bob' would be dropped: it is the name of cached user 'ci-bob'" "$WORK/vt.out"
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/m1" >"$WORK/vt1.out" 2>&1
check "verify-token: warns that sshd would be dropped" \
    grep -q "warning: group 'sshd' would be dropped: it is the name of local account 'sshd'" "$WORK/vt1.out"

no_token_logged "no token in any log"
finish
