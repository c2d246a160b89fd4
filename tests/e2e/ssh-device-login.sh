#!/bin/sh
# First SSH login of a person the host has never seen, with the device flow, through the real
# sshd and the stock ssh client: the URL and code come inside the prompt, the approval happens at
# the IdP, and `id` in the session shows the uid and groups derived from the claims (the published
# hash, docs/idmap.md). A second login gives the same uid and does not rewrite the identity cache.
E2E_NEED_MODULES=1
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_start_sshd

check "before the first login alice is unknown to getent (preauth answers sshd only)" \
    sh -c '! getent passwd alice >/dev/null'

e2e_ssh alice 'id; echo "HOME=$HOME SHELL=$SHELL"; env | grep ^OIDC_ | sort' --user alice --password alice-pw
check "first login: ssh exits 0" [ "$RC" = 0 ]
check "first login: the prompt carried the verification URL with the code" \
    out_has "$OP_URL/device\\?user_code=$USER_CODE"
check "first login: the prompt asked to press Enter once approved" out_has 'ress Enter once you have approved'
check "first login: approve.mjs approved the code" out_has '^E2E-APPROVE-EXIT: 0$'
check "first login: id shows alice with the published uid 2131105965" \
    cmd_has '^uid=2131105965\(alice\) gid=2131105965\(alice\) '
check "first login: id shows the claim group admins(1926073551)" \
    cmd_has '^uid=2131105965\(alice\) .*groups=.*1926073551\(admins\)'
check "first login: id shows the claim group devs(2052918232)" \
    cmd_has '^uid=2131105965\(alice\) .*groups=.*2052918232\(devs\)'
check "first login: the session carries OIDC_ISSUER" cmd_has "^OIDC_ISSUER=$OP_URL\$"
check "first login: the session carries OIDC_SUBJECT" cmd_has '^OIDC_SUBJECT=sub-alice$'
check "first login: the session carries OIDC_USERNAME" cmd_has '^OIDC_USERNAME=alice$'
[ "$RC" = 0 ] || show_tail

check "after the first login: getent passwd alice resolves through NSS" \
    sh -c 'getent passwd alice | grep -q "^alice:[^:]*:2131105965:2131105965:"'
check "after the first login: getent group admins lists alice" \
    sh -c 'getent group admins | grep -Eq "^admins:[^:]*:1926073551:(.*,)?alice(,|$)"'
check "after the first login: the cache file exists" [ -f "$E2E_STATEDIR/cache.cdb" ]
before=$(e2e_cache_stat)

sleep 1.1 # so that a rewrite would show in the mtime
e2e_ssh alice 'id -u; id -Gn' --user alice --password alice-pw
check "second login: ssh exits 0" [ "$RC" = 0 ]
check "second login: the same uid" cmd_has '^2131105965$'
check "second login: the same groups" cmd_has '(^| )admins( |$)'
check "second login: the identity cache was not rewritten (inode, mtime, size unchanged)" \
    [ "$(e2e_cache_stat)" = "$before" ]
[ "$RC" = 0 ] || show_tail

check "first login: one audit line for the successful device login" \
    syslog_has 'pam_oidc\(sshd:auth\): audit: phase=auth result=success service="sshd" user="alice" .*subject="sub-alice".*flow="device"'
check "the user code appears in no log (sshd, syslog)" \
    sh -c "! grep -q '$USER_CODE' '$WORK/sshd.log' '$E2E_SYSLOG'"
finish
