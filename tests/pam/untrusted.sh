#!/bin/sh
# Untrusted strings through the real PAM stack: a PAM user with control bytes and a newline never
# reaches the log raw (debug on), and a home template whose claim brings shell metacharacters or
# '..' refuses the login, naming the template and the character.
. "$(dirname "$0")/lib.sh"
start_idp

# Every byte the sink wrote is printable ASCII or the newline between messages, and every line is
# one syslog message ("<PRI>..."): a raw newline in a message would start a line of its own.
log_clean() {
    [ "$(LC_ALL=C tr -d '\n -~' <"$LOG" | wc -c)" -eq 0 ] && ! grep -qv '^<[0-9]*>' "$LOG"
}

# ---- 9b: the PAM user is printable before it is logged
write_pam_config 'home = /srv/ci/{environment}/{name}'
stack dbg "provider=ci debug"
probe dbgprobe "provider=ci debug"
check "the log is clean before the test" log_clean
EVIL=$(printf 'ci-x\nFORGED: audit: phase=auth result=success\033[2J\tend\177')
drv -s dbgprobe -u "$EVIL" -o acct
check "account with a control-byte user: ignored (not ours)" phase acct_mgmt "$IGNORED"
check "the debug line about that user is logged, made printable" \
    logged "account: 'ci-x\?FORGED: audit: phase=auth result=success\?\[2J\?end\?' is not cached"
mint_ci "$WORK/tok.dbg" --claims '{"repository_owner":"org","environment":"prod"}'
drv -s dbg -u "$EVIL" -t "$WORK/tok.dbg" -o auth,acct
check "auth with a control-byte user and another user's token: refused" \
    phase authenticate PAM_AUTH_ERR
check "no raw control byte or forged line in the log (debug on)" log_clean
check "no line of the log starts with the forged text" sh -c "! grep -q '^FORGED' '$LOG'"

# ---- 9d: home directories from claims
stack home "provider=ci"
login_env() {
    mint --claims "{\"repository_owner\":\"org\",\"environment\":$1}" >"$WORK/tok.home"
    cp "$WORK/tok.home" "$WORK/tokens.home.$2"
    drv -s home -u ci-org -t "$WORK/tok.home" -o auth,acct,open
}
login_env '"prod"' good
check "home template with a plain claim: login succeeds" phase open_session PAM_SUCCESS
n=0
for v in '"$(id)"' '"`id`"' '"prod;id"' '"a|b"' '"a&b"' '"a>b"' '"a b"' '"a*"' "\"a'b\""; do
    n=$((n + 1))
    login_env "$v" "bad$n"
    check "home template with claim $v: refused" phase authenticate PAM_AUTH_ERR
done
login_env '"a\nb"' newline
check "home template with a claim holding a newline: refused" phase authenticate PAM_AUTH_ERR
login_env '"$(id)"' dollar
check "home refusal: audit names the template and the character" \
    logged "reason=\"home directory '/srv/ci/\\\$\(id\)/ci-org' from template '/srv/ci/\{environment\}/\{name\}' has '\\\$' at byte 9"
login_env '".."' dotdot
check "home template with claim '..': refused" phase authenticate PAM_AUTH_ERR
check "'..' refusal: audit says so" \
    logged "reason=\"home directory '/srv/ci/../ci-org' from template '/srv/ci/\{environment\}/\{name\}' has a '..' component\""

check "the log is still clean" log_clean
no_token_logged "no token in any log"
finish
