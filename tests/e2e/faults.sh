#!/bin/sh
# Bad input and faults, through the real sshd, the stock ssh client and `oidcctl run`: each is
# refused with a message that names the fault, is logged once (one audit line in the private
# syslog), and writes no identity cache entry (the cache file keeps its inode, mtime and size, and
# `oidcctl users --json` does not list the name).
#  - the IdP stops after the device prompt has shown (ssh device login): the login fails within
#    login_timeout and says the IdP cannot be reached (PAM_AUTHINFO_UNAVAIL);
#  - a wrong CA (ca_file names another CA): the TLS handshake is refused (ssh device login,
#    oidcctl run);
#  - a token for another audience (ssh token login through `oidcctl askpass`, oidcctl run);
#  - claims that map to a local account: `root` (the IdP user rooty, preferred_username root, over
#    the device flow; and a minted token), an existing system user (daemon);
#  - a name over 32 bytes, and names with forbidden characters.
# Minted tokens (tests/idp/mint.mjs --claims) name the user exactly: in this test the ci provider
# takes the login name from the claim "login" instead of the template job-{run_id}.
E2E_NEED_MODULES=1
E2E_LOGIN_TIMEOUT=20
E2E_CI_EXTRA='preauth = yes
preauth_allow = *'
. "$(dirname "$0")/lib.sh"
e2e_setup
sed -i 's/^username_template = job-{run_id}$/username_claim = login/' "$E2E_CONF"
grep -q '^username_claim = login$' "$E2E_CONF" || e2e_die "cannot switch ci to username_claim = login"
"$OIDCCTL" cache sync --config "$E2E_CONF" >/dev/null 2>&1 || e2e_die "oidcctl cache sync failed"
e2e_start_sshd
T=$WORK/tok
mkdir -m 1777 "$WORK/jobs"

# ci_token LOGIN [mint options...]: a CI-shaped token whose login claim is LOGIN, in $T
ci_token() {
    _l=$1
    shift
    mint "$@" --claims "$(printf '{"login":"%s","repository":"org/app","ref":"refs/heads/main","run_id":"1"}' "$_l")" >"$T"
}
# audits USER: how many audit lines refuse USER (result=failure, unavailable, ...)
audits() { grep -E "audit: phase=[a-z_]* result=[a-z_]+ service=\"[^\"]*\" user=\"$1\"" "$E2E_SYSLOG" | grep -vc 'result=success'; }
# cached NAME: the identity cache lists NAME
cached() { "$OIDCCTL" users --config "$E2E_CONF" --json 2>/dev/null | grep -qF "\"name\":\"$1\""; }
not_cached() { ! cached "$1"; }
# mark NAME: remember the cache file and the audit count before a case
mark() {
    CACHE_BEFORE=$(e2e_cache_stat)
    AUDITS_BEFORE=$(audits "$1")
}
# no_trace CASE NAME: no cache write, NAME not cached, exactly one new audit line for NAME
no_trace() {
    check "$1: logged once (one audit line for '$2')" [ "$(($(audits "$2") - AUDITS_BEFORE))" = 1 ]
    check "$1: no identity cache entry written (cache file unchanged)" [ "$(e2e_cache_stat)" = "$CACHE_BEFORE" ]
    check "$1: '$2' is not in the identity cache" not_cached "$2"
    check "$1: getent does not resolve '$2'" sh -c "! getent passwd '$2' >/dev/null"
}
# ssh_refused CASE: the ssh login failed and the remote command did not run
ssh_refused() {
    check "$1: ssh fails" [ "$RC" = 255 ]
    check "$1: the remote command did not run" sh -c "! grep -q '^E2E-BEGIN' '$OUT.clean'"
}
# run_refused CASE: oidcctl run refused (125) and the job did not run; output in $JOB_OUT
run_job() {
    rm -f "$WORK/jobs/ran"
    JOB_OUT=$("$OIDCCTL" run --config "$E2E_CONF" --token-file "$T" -- /bin/sh -c "touch $WORK/jobs/ran" 2>&1)
    RC=$?
}
run_refused() {
    check "$1: oidcctl run refuses (exit 125)" [ "$RC" = 125 ]
    check "$1: the job did not run" [ ! -f "$WORK/jobs/ran" ]
}
job_has() { printf '%s\n' "$JOB_OUT" | grep -Eq -- "$1"; }

# ---------------------------------------------------------------- a wrong CA
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=some other CA' \
    -days 1 -keyout "$WORK/other-ca.key" -out "$WORK/other-ca.pem" >/dev/null 2>&1 ||
    e2e_die "cannot make the other CA"
cp "$E2E_CONF" "$WORK/conf.good"
sed -i "s|^ca_file = .*|ca_file = $WORK/other-ca.pem|" "$E2E_CONF"

mark carol
e2e_ssh carol id --user carol --password carol-pw
ssh_refused "wrong CA (ssh device login)"
check "wrong CA (ssh): no device prompt was shown" sh -c "! grep -q '^E2E-USER-CODE' '$OUT.clean'"
check "wrong CA (ssh): the person is told the identity provider cannot be reached" \
    out_has '^The identity provider cannot be reached\.$'
check "wrong CA (ssh): the audit line names the TLS failure" \
    syslog_has 'audit: .*result=unavailable .*user="carol".*reason="cannot reach https://[^"]*: SSL certificate problem: unable to get local issuer certificate"'
no_trace "wrong CA (ssh)" carol
[ "$RC" = 255 ] || show_tail

ci_token wrongca-job
mark wrongca-job
run_job
run_refused "wrong CA (oidcctl run)"
check "wrong CA (oidcctl run): the message names the TLS failure" job_has 'certificate|TLS|SSL'
cp "$WORK/conf.good" "$E2E_CONF"

# ---------------------------------------------------------------- the IdP stops mid-login
mark erin
start=$(date +%s)
E2E_ON_PROMPT="kill \$(cat '$IDP/op.pid')"
e2e_ssh erin id
E2E_ON_PROMPT=
took=$(($(date +%s) - start))
check "IdP stopped mid-login: the device prompt had shown" out_has '^E2E-USER-CODE: '
check "IdP stopped mid-login: the OP was stopped at the prompt" out_has '^E2E-ON-PROMPT-EXIT: 0$'
ssh_refused "IdP stopped mid-login"
check "IdP stopped mid-login: within login_timeout ($took s, login_timeout $E2E_LOGIN_TIMEOUT s)" \
    [ "$took" -le $((E2E_LOGIN_TIMEOUT + 5)) ]
# The module polls through transport errors until login_timeout; as the IdP was unreachable at
# the last poll, that is what the person is told (not "not approved in time").
check "IdP stopped mid-login: the person is told the identity provider cannot be reached" \
    out_has '^The identity provider cannot be reached\.$'
check "IdP stopped mid-login: the audit line names the unreachable token endpoint" \
    syslog_has "audit: .*result=unavailable .*user=\"erin\".*reason=\"[^\"]*could not be reached while the login waited[^\"]*cannot reach $OP_URL/token: Failed to connect"
no_trace "IdP stopped mid-login" erin
[ "$RC" = 255 ] || show_tail
"$IDP_DIR/idp-ctl.sh" start "$IDP" >/dev/null 2>&1 || e2e_die "cannot restart the IdP"

# ---------------------------------------------------------------- claims that map to local accounts
# sshd itself keeps local accounts away from the module: for root (PermitRootLogin no) and for
# names it cannot resolve it answers PAM's prompts with a fake password, and pam_oidc.so declines
# a PAM user that is a local account (PAM_USER_UNKNOWN, before any prompt). So the person logs in
# under a name of their own (rooty, probeN: resolvable through preauth) and the token or the
# IdP's claims name the local account; the mapping must refuse it.
mark rooty
e2e_ssh rooty id --user rooty --password rooty-pw
ssh_refused "IdP user rooty (preferred_username root) over the device flow"
check "rooty: approve.mjs approved the code" out_has '^E2E-APPROVE-EXIT: 0$'
check "rooty: the audit line says the name root is refused" \
    syslog_has "audit: .*result=failure .*user=\"rooty\".*subject=\"sub-rooty\".*reason=\"[^\"]*username 'root' is (reserved|a local account)"
# (the module sends "Login refused: username 'root' is reserved" as PAM_ERROR_MSG, but the ssh
# client shows nothing of it: reported)
no_trace "rooty (device)" rooty
check "rooty: root is still uid 0, from /etc/passwd" sh -c '[ "$(getent passwd root | cut -d: -f3)" = 0 ]'
[ "$RC" = 255 ] || show_tail

# the token flow over ssh: the stack takes a token, the issuer picks the provider (ci)
e2e_pam_service sshd <<'EOS'
auth     required  @PAM_OIDC@ config=@CONF@ flow=token
account  required  @PAM_OIDC@ config=@CONF@
account  required  pam_permit.so
session  required  @PAM_OIDC@ config=@CONF@
password required  pam_deny.so
EOS

LONG=abcdefghijklmnopqrstuvwxyz0123456 # 33 bytes
check "the long name is 33 bytes" [ "${#LONG}" = 33 ]
i=0
for bad in root daemon "$LONG" Bad.Name 'has space' 'x;id' '-dash' '9lives' 'a/../b' 'caf\u00e9'; do
    i=$((i + 1))
    probe=probe$i
    case $bad in
    root) why="username 'root' is (reserved|a local account)" ;;
    daemon) why="username 'daemon' is a local account in /etc/passwd" ;;
    "$LONG") why="username '$LONG' from claim login is 33 bytes long; POSIX names are at most 32 bytes" ;;
    *) why="username '[^']*' from claim login is not a valid POSIX name" ;;
    esac
    ci_token "$bad"
    mark "$probe"
    e2e_ssh_token "$probe" 'echo SHOULD-NOT-RUN' "$T"
    ssh_refused "token naming '$bad' (ssh as $probe)"
    check "token naming '$bad' (ssh): the audit line says why" \
        syslog_has "audit: .*result=failure .*user=\"$probe\".*reason=\"$why"
    no_trace "token naming '$bad' (ssh)" "$probe"
    case $bad in root | daemon) ;; *)
        check "token naming '$bad': not in the identity cache" not_cached "$bad" ;;
    esac
    mark "$probe"
    run_job
    run_refused "token naming '$bad' (oidcctl run)"
    check "token naming '$bad' (oidcctl run): the message says why" job_has "$why"
    check "token naming '$bad' (oidcctl run): no identity cache entry written" \
        [ "$(e2e_cache_stat)" = "$CACHE_BEFORE" ]
done

# ---------------------------------------------------------------- another audience
ci_token aud-job --aud someone-else
mark aud-job
e2e_ssh_token aud-job 'echo SHOULD-NOT-RUN' "$T"
ssh_refused "another audience (ssh)"
check "another audience (ssh): the audit line names both audiences" \
    syslog_has "user=\"aud-job\".*reason=\"[^\"]*audience in token is 'someone-else'[^\"]*ci-audience"
no_trace "another audience (ssh)" aud-job
run_job
run_refused "another audience (oidcctl run)"
check "another audience (oidcctl run): the message names the audience" \
    job_has "audience in token is 'someone-else'"

finish
