#!/bin/sh
# Self-test of the end-to-end harness with stand-ins instead of the product's modules: a
# stand-in libnss_oidc.so.2 (nss_standin.c: one user, and the group admins holding the local user
# e2e-local), pam_unix with local users made in the namespace's /etc, pam_deny for sudo. Proves the
# plumbing the real tests rely on: glibc loads "oidc" from the namespace's loader path in getent,
# sshd and setuid sudo; the real sshd and the stock ssh client driven by expect log in over
# keyboard-interactive; sudoers %admins sees a group that comes from NSS; the sandbox leaves the
# machine alone and nothing running.
. "$(dirname "$0")/lib.sh"
command -v cc >/dev/null 2>&1 || e2e_skip "no C compiler for the stand-in NSS module"
e2e_setup

# the stand-in NSS module replaces any built one, through the same loader path
cc -shared -fPIC -O1 -Wl,-soname,libnss_oidc.so.2 -o "$E2E_LIB/libnss_oidc.so.2" \
    "$E2E_DIR/nss_standin.c" || e2e_die "cannot build the stand-in NSS module"
ldconfig -X
e2e_nsswitch "files oidc"

# local users, only in this namespace's /etc
useradd -M -d /tmp -s /bin/sh e2e-local && echo 'e2e-local:local-pw-1' | chpasswd ||
    e2e_die "useradd e2e-local"
useradd -M -d /tmp -s /bin/sh e2e-other && echo 'e2e-other:other-pw-2' | chpasswd ||
    e2e_die "useradd e2e-other"

e2e_pam_service sshd <<'EOF'
auth     required  pam_unix.so
account  required  pam_unix.so
session  required  pam_unix.so
password required  pam_deny.so
EOF
e2e_pam_service sudo <<'EOF'
auth     required  pam_deny.so
account  required  pam_permit.so
session  required  pam_permit.so
EOF

check "sandbox: /etc is a private overlay" grep -q ' /etc overlay ' /proc/self/mounts
check "sandbox: the identity cache directory is a private mount" \
    grep -q " $E2E_STATEDIR " /proc/self/mountinfo
check "sandbox: syslog(3) lands in the capture file" syslog_has 'e2e-harness.*syslog capture on'
check "sandbox: /dev/null and /dev/pts still work" sh -c 'echo x >/dev/null && [ -c /dev/ptmx ] && [ -d /dev/pts ]'
check "sandbox: the local test user exists here" sh -c 'getent passwd e2e-local >/dev/null'
check "NSS: getent resolves the stand-in user through service oidc" \
    sh -c 'getent passwd e2e-nss | grep -q "^e2e-nss:x:2999999:"'
check "NSS: group admins comes from the stand-in" \
    sh -c 'getent group admins | grep -q "^admins:x:2888888:e2e-local$"'
check "NSS: initgroups of e2e-local includes admins" sh -c 'id -Gn e2e-local | grep -qw admins'

e2e_start_sshd
check "sshd listens on 127.0.0.1:$SSHD_PORT" log_has "Server listening on 127.0.0.1 port $SSHD_PORT"

E2E_PASSWORD=local-pw-1
e2e_ssh e2e-local 'id; sudo -n true 2>&1 && echo SUDO-OK || echo SUDO-REFUSED'
check "ssh: keyboard-interactive login through PAM succeeds" [ "$RC" = 0 ]
check "ssh: the remote command ran as e2e-local" cmd_has '^uid=[0-9]+\(e2e-local\)'
check "ssh: the session has the NSS group admins" cmd_has 'groups=.*2888888\(admins\)'
check "sudo: %admins through an NSS group: sudo -n true allowed" cmd_has '^SUDO-OK$'
[ "$RC" = 0 ] || show_tail

E2E_PASSWORD=other-pw-2
e2e_ssh e2e-other 'id; sudo -n true 2>&1 && echo SUDO-OK || echo SUDO-REFUSED'
check "ssh: second user logs in" [ "$RC" = 0 ]
check "sudo: a user without admins is refused" cmd_has '^SUDO-REFUSED$'
check "sudo: the refusal is sudo's" out_has 'a password is required|may not run sudo|not in the sudoers'

E2E_PASSWORD=wrong
e2e_ssh e2e-local 'echo SHOULD-NOT-RUN'
check "ssh: a wrong password is refused" [ "$RC" = 255 ]
check "ssh: the command did not run" sh -c "! grep -q '^SHOULD-NOT-RUN' '$OUT.clean'"
check "sshd logged the PAM failure" log_has 'Failed keyboard-interactive/pam for e2e-local|error: PAM: Authentication failure'
check "pam_unix's own syslog line about the failure was captured" syslog_has 'pam_unix\(sshd:auth\): authentication failure.*user=e2e-local'

pid=$SSHD_PID
e2e_stop_sshd
check "sshd is stopped" sh -c "! kill -0 $pid 2>/dev/null"
finish
