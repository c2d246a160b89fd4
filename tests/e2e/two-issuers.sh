#!/bin/sh
# Two issuers on one host, one sshd, one identity cache: people sign in with the device flow of the
# main OP, CI jobs log in with tokens of the mini issuer, over the same sshd and through
# `oidcctl run`, without interfering: each gets the identity its own provider maps, a person's
# entry survives the jobs, a job user goes away with its session, and a token of one issuer is
# never checked against the other's rules.
# sshd stack: pam_oidc.so flow=token without a provider (the token's issuer picks ci) and, when
# no token is given (a person presses Enter), pam_oidc.so provider=people with the device flow.
E2E_NEED_MODULES=1
# short device logins: the forgery case below ends in a device prompt nobody answers
E2E_LOGIN_TIMEOUT=12
E2E_CI_EXTRA='preauth = yes
preauth_allow = job-*'
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_pam_service sshd <<'EOS'
auth     [success=done default=ignore]  @PAM_OIDC@ config=@CONF@ flow=token
auth     required  @PAM_OIDC@ config=@CONF@ provider=people flow=device
account  required  @PAM_OIDC@ config=@CONF@
account  required  pam_permit.so
session  required  @PAM_OIDC@ config=@CONF@
password required  pam_deny.so
EOS
e2e_start_sshd
T=$WORK/tok
claims() { printf '{"repository":"org/app","repository_owner":"org","ref":"refs/heads/main","run_id":"%s"}' "$1"; }

e2e_ssh alice 'id; echo "ISS=$OIDC_ISSUER"' --user alice --password alice-pw
check "person: alice signs in with the device flow on the shared sshd" [ "$RC" = 0 ]
check "person: uid 2131105965 and groups from the OP" \
    cmd_has '^uid=2131105965\(alice\) .*1926073551\(admins\)'
check "person: OIDC_ISSUER is the OP" cmd_has "^ISS=$OP_URL\$"
[ "$RC" = 0 ] || show_tail
alice_entry=$(getent passwd alice)

mint --claims "$(claims 301)" >"$T"
e2e_ssh_token job-301 'id -un; echo "ISS=$OIDC_ISSUER"' "$T"
check "job over ssh: job-301 logs in with its CI token on the same sshd" [ "$RC" = 0 ]
check "job over ssh: OIDC_ISSUER is the CI issuer" cmd_has "^ISS=$MINI_URL\$"
[ "$RC" = 0 ] || show_tail

mint --claims "$(claims 302)" >"$T"
JOB_OUT=$("$OIDCCTL" run --config "$E2E_CONF" --token-file "$T" -- /bin/sh -c 'id -un; getent passwd alice' 2>&1)
RC=$?
check "batch job: oidcctl run picks ci by the token's issuer" [ "$RC" = 0 ]
check "batch job: runs as job-302 and sees alice's entry through NSS" \
    sh -c "printf '%s\n' \"\$1\" | grep -qx job-302 && printf '%s\n' \"\$1\" | grep -q '^alice:'" _ "$JOB_OUT"

check "no interference: alice's entry is unchanged after the jobs" [ "$(getent passwd alice)" = "$alice_entry" ]
check "no interference: the job users are gone" \
    sh -c '! getent passwd job-301 >/dev/null && ! getent passwd job-302 >/dev/null'

# a token signed by the CI issuer's key that claims the OP as its issuer: the issuer picks the
# people provider, whose keys do not verify it
mint --iss "$OP_URL" --aud oidc-public --claims '{"preferred_username":"alice","groups":["admins"]}' >"$T"
e2e_ssh_token alice 'echo SHOULD-NOT-RUN' "$T"
check "cross-issuer forgery: a mini-signed token claiming the OP as issuer cannot log in as alice" [ "$RC" = 255 ]
check "cross-issuer forgery: the command did not run" sh -c "! grep -q '^SHOULD-NOT-RUN' '$OUT.clean'"
check "cross-issuer forgery: alice's entry is unchanged" [ "$(getent passwd alice)" = "$alice_entry" ]

finish
