#!/bin/sh
# sudo gated by the group claim, through real sudo in real SSH sessions:
#  1. sudoers "%admins ALL=(ALL) NOPASSWD: ALL" with groups from NSS (the identity cache): alice
#     (admins) may `sudo -n true`, bob (devs only) may not;
#  2. pam_oidc.so require_group=admins in sudo's own PAM stack ("%devs ALL=(ALL) ALL", so sudo
#     authenticates): sudo asks for a fresh device login inside the session, and only a token of
#     the invoking user that carries admins is admitted.
E2E_NEED_MODULES=1
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_start_sshd

e2e_ssh alice 'id -Gn; sudo -n true 2>&1 && echo SUDO-OK || echo SUDO-REFUSED' --user alice --password alice-pw
check "%admins: alice logs in" [ "$RC" = 0 ]
check "%admins: alice's session has admins from NSS" cmd_has '(^| )admins( |$)'
check "%admins: sudo -n true is allowed for alice" cmd_has '^SUDO-OK$'
[ "$RC" = 0 ] || show_tail

e2e_ssh bob 'id -Gn; sudo -n true 2>&1 && echo SUDO-OK || echo SUDO-REFUSED' --user bob --password bob-pw
check "%admins: bob logs in" [ "$RC" = 0 ]
check "%admins: bob's session has devs" cmd_has '(^| )devs( |$)'
check "%admins: bob's session does not have admins" cmd_lacks '(^| )admins( |$)'
check "%admins: sudo -n true is refused for bob" cmd_has '^SUDO-REFUSED$'
[ "$RC" = 0 ] || show_tail

# 2. step-up: sudo's own stack demands a fresh device login with admins
e2e_sudoers <<'EOS'
Defaults timestamp_timeout=0
Defaults passwd_tries=1
%devs ALL=(ALL) ALL
EOS
e2e_pam_service sudo <<'EOS'
auth     required  @PAM_OIDC@ config=@CONF@ provider=people flow=device require_group=admins
account  required  @PAM_OIDC@ config=@CONF@ provider=people require_group=admins
account  required  pam_permit.so
session  required  pam_permit.so
EOS
STEPUP='sudo -k; sudo true && echo STEPUP-OK || echo STEPUP-REFUSED'
E2E_TTY=1

E2E_SUDO_APPROVE='--user alice --password alice-pw'
e2e_ssh alice "$STEPUP" --user alice --password alice-pw
check "step-up: two device prompts (ssh, then sudo)" [ "$(grep -c '^E2E-USER-CODE: ' "$OUT.clean")" = 2 ]
check "step-up: alice approving with her admins token gets sudo" cmd_has '^STEPUP-OK$'
check "step-up: one audit line for sudo's device login" \
    syslog_has 'pam_oidc\(sudo:auth\): audit: phase=auth result=success service="sudo" user="alice".*flow="device"'
[ "$RC" = 0 ] || show_tail

E2E_SUDO_APPROVE='--user bob --password bob-pw'
e2e_ssh bob "$STEPUP" --user bob --password bob-pw
check "step-up: bob's fresh token has no admins: sudo refused" cmd_has '^STEPUP-REFUSED$'
check "step-up: bob is refused by require_group (audit line)" \
    syslog_has "pam_oidc\\(sudo:auth\\): audit: .*result=failure .*user=\"bob\".*reason=\"require_group: user 'bob' is not in group 'admins'"

E2E_SUDO_APPROVE='--user alice --password alice-pw'
e2e_ssh bob "$STEPUP" --user bob --password bob-pw
check "step-up: bob cannot borrow alice's approval (token for another user)" cmd_has '^STEPUP-REFUSED$'
check "step-up: borrowing is refused as a token for another user (audit line)" \
    syslog_has "pam_oidc\\(sudo:auth\\): audit: .*user=\"bob\".*subject=\"sub-alice\".*reason=\"the token is for 'alice', not for the PAM user"
# (sudo 1.9.13 authenticates with PAM_SILENT, so the module's message is not shown; sudo >= 1.9.16
# shows it with "Defaults !pam_silent".)
E2E_TTY= E2E_SUDO_APPROVE=

finish
