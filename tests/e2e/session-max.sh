#!/bin/sh
# session_max (docs/session.md): an interactive ssh session with a CI token ends with the token
# (session_max = token) or after a duration (session_max = 15s): the user's terminal gets the
# warning first, then ssh exits and no process of the user is left. With session_max unset the
# session outlives the token; a session the user ends first leaves no watcher behind.
E2E_NEED_MODULES=1
E2E_CI_EXTRA='session_max = token
session_warn = 8s'
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_pam_service sshd <<'EOS'
auth     required  @PAM_OIDC@ config=@CONF@ flow=token
account  required  @PAM_OIDC@ config=@CONF@
account  required  pam_permit.so
session  required  @PAM_OIDC@ config=@CONF@
password required  pam_deny.so
EOS
e2e_start_sshd
T=$WORK/tok
claims() { printf '{"repository":"org/app","repository_owner":"org","ref":"refs/heads/main","run_id":"%s"}' "$1"; }

# ssh_bg USER COMMAND: an interactive (-tt) ssh session in the background; $BG its pid, $OUT its
# transcript
ssh_bg() {
    _wrap=$WORK/oidcctl-askpass-wrapper
    [ -x "$_wrap" ] || {
        printf '#!/bin/sh\nexec %s askpass "$@"\n' "$OIDCCTL" >"$_wrap"
        chmod 0755 "$_wrap"
    }
    OUT=$WORK/ssh-$1.out
    OIDC_TOKEN_FILE=$T OIDC_TOKEN_HOSTS=127.0.0.1 SSH_ASKPASS=$_wrap SSH_ASKPASS_REQUIRE=force DISPLAY= \
        setsid ssh -tt -F none -p "$SSHD_PORT" -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=INFO \
        -o PreferredAuthentications=keyboard-interactive -o ConnectTimeout=10 -o BatchMode=no \
        -o NumberOfPasswordPrompts=1 "$1@127.0.0.1" "echo E2E-BEGIN; $2" </dev/null >"$OUT" 2>&1 &
    BG=$!
}
# wait_gone PID SECONDS: 0 when PID ended within SECONDS
wait_gone() {
    _i=0
    while kill -0 "$1" 2>/dev/null; do
        [ "$_i" -ge "$2" ] && return 1
        sleep 1
        _i=$((_i + 1))
    done
}
# up_within FILE SECONDS: FILE shows E2E-BEGIN within SECONDS
up_within() {
    _i=0
    until grep -q E2E-BEGIN "$1" 2>/dev/null; do
        [ "$_i" -ge "$2" ] && return 1
        sleep 1
        _i=$((_i + 1))
    done
}
user_procs() { ps -e -o uid= | grep -cx " *$(e2e_hash_id uid "$1")" || true; }

# 1. session_max = token, a token valid 20 s: warned at 12 s, ended at 20 s
mint --claims "$(claims 301)" --exp-in 20 >"$T"
ssh_bg job-301 'sleep 600'
check "token: the session starts" up_within "$OUT" 10
check "token: the terminal gets the warning" sh -c "sleep 14; grep -q 'this session ends in' '$OUT'"
check "token: ssh exits after the token's exp" wait_gone "$BG" 20
check "token: no process of job-301 is left" [ "$(user_procs job-301)" = 0 ]
check "token: the audit line says the session expired" \
    syslog_has 'audit: phase=open_session result=expired service="sshd" user="job-301"'

# 2. session_max = 15s with a token valid 10 min: ended after 15 s
E2E_CI_EXTRA='session_max = 15s
session_warn = 6s'
e2e_write_config
mint --claims "$(claims 302)" --exp-in 600 >"$T"
ssh_bg job-302 'sleep 600'
check "15s: the session starts" up_within "$OUT" 10
check "15s: the terminal gets the warning" sh -c "sleep 11; grep -q 'this session ends in' '$OUT'"
check "15s: ssh exits after 15 s" wait_gone "$BG" 15
check "15s: no process of job-302 is left" [ "$(user_procs job-302)" = 0 ]

# 3. session_max unset: the session outlives a 10 s token
E2E_CI_EXTRA=
e2e_write_config
mint --claims "$(claims 303)" --exp-in 10 >"$T"
ssh_bg job-303 'sleep 600'
check "unset: the session starts" up_within "$OUT" 10
check "unset: the session is still up 8 s after the token's exp" sh -c "sleep 18; kill -0 $BG"
check "unset: no warning on the terminal" sh -c "! grep -q 'this session ends in' '$OUT'"
kill "$BG" 2>/dev/null
wait_gone "$BG" 10

# 4. a session the user ends first leaves no watcher
E2E_CI_EXTRA='session_max = 10m'
e2e_write_config
mint --claims "$(claims 304)" --exp-in 600 >"$T"
ssh_bg job-304 'sleep 3'
check "early end: the session starts" up_within "$OUT" 10
check "early end: the watcher was started" sh -c "sleep 1; grep -q 'session_max: session ends at' '$E2E_SYSLOG'"
pid=$(sed -n 's/.*session_max: session ends at [0-9]*, watcher pid \([0-9]*\).*/\1/p' "$E2E_SYSLOG" | tail -n 1)
check "early end: ssh exits when the command ends" wait_gone "$BG" 10
check "early end: the watcher ($pid) is gone" sh -c "sleep 2; [ -n '$pid' ] && ! kill -0 '$pid' 2>/dev/null"
finish
