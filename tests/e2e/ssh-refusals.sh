#!/bin/sh
# SSH device logins that must fail, each with the module's message shown to the person and no
# identity cache entry written: the approval is denied at the IdP; the code is approved by a
# different IdP user than the one logging in; the user is not admitted by the provider's policy;
# nobody approves until the code expires.
E2E_NEED_MODULES=1
E2E_PEOPLE_EXTRA='allow_groups = admins devs'
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_start_sshd

# refused NAME USER: the login failed, the command did not run, USER is not cached
refused() {
    check "$1: ssh fails" [ "$RC" = 255 ]
    check "$1: the remote command did not run" sh -c "! grep -q '^E2E-BEGIN' '$OUT.clean'"
    check "$1: no identity cache entry for $2" sh -c "! getent passwd '$2' >/dev/null"
}

e2e_ssh bob id --user bob --password bob-pw --deny
check "denied: approve.mjs denied the code" out_has '^E2E-APPROVE-EXIT: 0$'
refused "denied approval" bob
check "denied approval: the person is told the sign-in was denied" out_has 'denied at the identity provider'
check "denied approval: one audit line with the reason" \
    syslog_has 'pam_oidc\(sshd:auth\): audit: .*result=failure .*user="bob".*reason="[^"]*denied'
[ "$RC" = 255 ] || show_tail

e2e_ssh alice id --user bob --password bob-pw
check "other user: bob approved the code" out_has '^E2E-APPROVE-EXIT: 0$'
refused "approval by a different IdP user (alice logs in, bob approves)" alice
check "different IdP user: bob is not cached either" sh -c '! getent passwd bob >/dev/null'
check "different IdP user: the person is told whose sign-in it was" out_has "belongs to 'bob', not to 'alice'"
check "different IdP user: the audit line names the mismatch" \
    syslog_has 'audit: .*result=failure .*user="alice".*subject="sub-bob".*reason="[^"]*bob'
[ "$RC" = 255 ] || show_tail

e2e_ssh carol id --user carol --password carol-pw
check "policy: carol approved the code" out_has '^E2E-APPROVE-EXIT: 0$'
refused "user outside allow_groups (carol, no groups)" carol
check "policy: the audit line names the rule" \
    syslog_has 'audit: .*result=failure .*user="carol".*reason="allow_groups: [^"]*carol'
[ "$RC" = 255 ] || show_tail

# the code expires: restart the OP (same port) with 4-second device codes, and let nobody approve
IDP_DEVICE_TTL=4 "$IDP_DIR/idp-ctl.sh" start "$IDP" >/dev/null 2>&1 || e2e_die "cannot restart the IdP"
E2E_ENTER_DELAY=6
e2e_ssh erin id
E2E_ENTER_DELAY=
refused "expired code" erin
check "expired code: the person is told the code expired" out_has 'code expired'
check "expired code: the audit line says so" syslog_has 'audit: .*result=failure .*user="erin".*reason="[^"]*expired'
[ "$RC" = 255 ] || show_tail

check "each refusal is logged once" \
    sh -c "[ \$(grep -c 'audit: phase=auth result=failure' '$E2E_SYSLOG') = 4 ]"
finish
