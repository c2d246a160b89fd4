#!/bin/sh
# The demo: the whole story of nss-pam-oidc on one machine, narrated step by step. Run it as root
# on a fresh Debian 12 machine, from a checkout of this repository:
#
#     tests/demo.sh
#
#  1. installs what it needs (tests/install-deps.sh) and builds into build-demo/;
#  2. enters a private sandbox (tests/e2e/lib.sh: its own mount and PID namespaces, overlays on
#     /etc and /dev), starts the bundled OpenID Provider (tests/idp) on 127.0.0.1 over HTTPS and a
#     real OpenSSH sshd on 127.0.0.1 whose PAM stack is pam_oidc.so, with libnss_oidc.so.2 in
#     nsswitch.conf;
#  3. alice, whom the host has never seen, logs in with the stock ssh client and the device flow:
#     the URL and code arrive in the ssh prompt, a scripted browser (tests/idp/approve.mjs) signs
#     in at the IdP and approves, and `id` in the session shows the uid and groups derived from
#     her claims;
#  4. sudo through sudoers "%admins": allowed for alice (her token says admins), refused for bob;
#  5. a batch job runs under its own per-run identity with `oidcctl run` and a CI token minted by
#     the bundled second issuer; the per-run user is gone when the job ends.
#
# Nothing is left running (the PID namespace ends with the demo) and no system file changes: the
# demo checks the checksums of /etc/pam.d, /etc/nsswitch.conf, /etc/ssh and /etc/sudoers before
# and after. Exit 0 when every step did what it shows.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
top_srcdir=$ROOT
top_builddir=$ROOT/build-demo
export top_srcdir top_builddir

if [ -t 1 ]; then B=$(printf '\033[1m') D=$(printf '\033[2m') N=$(printf '\033[0m'); else B='' D='' N=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*" | fold -s -w 100; }
indent() { sed -u 's/^/    /'; }
# show CMD...: prints the command as a person would type it, then runs it
show() {
    printf '%s# %s%s\n' "$B" "$*" "$N"
    "$@"
}
# cmdline TEXT: prints a command line whose output goes elsewhere (a file)
cmdline() { printf '%s# %s%s\n' "$B" "$*" "$N"; }
# showi CMD...: the same, with the command's output (and errors) indented under it
showi() {
    printf '%s# %s%s\n' "$B" "$*" "$N"
    "$@" 2>&1 | indent
}
die() {
    printf '\ndemo: %s\n' "$*" >&2
    exit 1
}

# The machine's PAM, NSS, SSH and sudo configuration, one checksum line per file
fingerprint() {
    find /etc/pam.d /etc/nsswitch.conf /etc/ssh /etc/sudoers /etc/sudoers.d /etc/nss-pam-oidc.conf \
        -maxdepth 2 2>/dev/null | sort | while read -r f; do
        if [ -f "$f" ]; then printf '%s %s\n' "$(sha256sum <"$f" | cut -c1-16)" "$f"; else printf 'dir %s\n' "$f"; fi
    done
}

# ---------------------------------------------------------------- outside the sandbox
if [ -z "${DEMO_IN_SANDBOX:-}" ]; then
    [ "$(id -u)" = 0 ] || die "run the demo as root (it installs packages and starts sshd in a sandbox)"
    t0=$(date +%s)
    cd "$ROOT" || exit 1

    step "1. Dependencies: Debian packages and the test IdP's Node modules"
    show tests/install-deps.sh || die "tests/install-deps.sh failed"
    echo "(installed what was missing)"
    t_deps=$(date +%s)

    step "2. Build (out of tree, in build-demo/)"
    if [ ! -x configure ]; then
        cmdline ./autogen.sh
        ./autogen.sh >autogen.log 2>&1 || { tail -n 20 autogen.log; die "autogen.sh failed"; }
    fi
    mkdir -p "$top_builddir"
    cd "$top_builddir" || exit 1
    if [ ! -f Makefile ]; then
        cmdline "mkdir build-demo && cd build-demo && ../configure"
        ../configure >configure.log 2>&1 || { tail -n 20 configure.log; die "configure failed"; }
    fi
    cmdline make -j"$(nproc)"
    make -j"$(nproc)" >make.log 2>&1 || { tail -n 30 make.log; die "the build failed"; }
    cd "$ROOT" || exit 1
    for f in pam/.libs/pam_oidc.so nss/.libs/libnss_oidc.so.2 tools/oidcctl; do
        [ -f "build-demo/$f" ] || die "build-demo/$f was not built"
        echo "built build-demo/$f"
    done
    t_build=$(date +%s)

    step "3. A sandbox, so that the machine's configuration stays as it is"
    say "Everything from here on runs inside 'unshare --mount --pid' (tests/e2e/lib.sh): /etc and /dev get overlays that vanish with the sandbox, the identity cache directory is private, and every process the demo starts dies with it. The demo writes its own /etc/pam.d/sshd, /etc/nsswitch.conf, /etc/ssh/sshd_config and /etc/sudoers there; the real ones are not touched. Checksums of the real files now:"
    before=$(fingerprint)
    printf '%s\n' "$before" | grep -c . | sed 's/^/    /; s/$/ files and directories under \/etc\/pam.d, \/etc\/ssh, \/etc\/nsswitch.conf, \/etc\/sudoers/'
    E2E_WORKLIST=$(mktemp)
    export E2E_WORKLIST
    DEMO_IN_SANDBOX=1 /bin/sh "$ROOT/tests/demo.sh"
    rc=$?
    t_run=$(date +%s)

    step "12. After the sandbox: nothing changed, nothing left running"
    after=$(fingerprint)
    if [ "$after" = "$before" ]; then
        echo "the checksums of /etc/pam.d, /etc/nsswitch.conf, /etc/ssh and /etc/sudoers are the same as before"
    else
        echo "FAIL: the machine's configuration changed:"
        printf '%s\n' "$before" >"$E2E_WORKLIST.before"
        printf '%s\n' "$after" | diff "$E2E_WORKLIST.before" - | indent
        rm -f "$E2E_WORKLIST.before"
        rc=1
    fi
    sleep 0.5
    left=
    while read -r w; do
        [ -n "$w" ] || continue
        [ -e "$w" ] && left="$left $w (directory still exists)"
        p=$(ps -eo pid=,args= | grep -F -e "$w" | grep -v -e grep -e "^ *$$ ")
        [ -n "$p" ] && left="$left $p"
    done <"$E2E_WORKLIST"
    p=$(ps -eo pid=,args= | grep -E 'sshd -D -e -f /etc/ssh/sshd_config' | grep -v grep)
    [ -n "$p" ] && left="$left $p"
    rm -f "$E2E_WORKLIST"
    if [ -z "$left" ]; then
        echo "no process of the demo is running (sshd, the IdP, sessions) and its work directory is gone"
    else
        echo "FAIL: left behind:$left"
        rc=1
    fi
    printf '\n%sDone%s in %s s (dependencies %s s, build %s s, the story %s s).\n' "$B" "$N" \
        $((t_run - t0)) $((t_deps - t0)) $((t_build - t_deps)) $((t_run - t_build))
    [ "$rc" = 0 ] || echo "demo: some step did not do what it shows (exit $rc)"
    exit "$rc"
fi

# ---------------------------------------------------------------- inside the sandbox
# lib.sh re-executes this script inside the private namespaces, then provides the harness.
E2E_NEED_MODULES=1
. "$ROOT/tests/e2e/lib.sh"
cd "$ROOT" || exit 1
PATH=$top_builddir/tools:$PATH
FAILED=0
# ok WHAT CONDITION...: each step checks that it did what it shows
ok() {
    _n=$1
    shift
    if "$@"; then printf '%s  [ok] %s%s\n' "$D" "$_n" "$N"; else
        printf '  [FAILED] %s\n' "$_n"
        FAILED=$((FAILED + 1))
    fi
}

step "4. Start the bundled OpenID Provider, the machine's configuration for it, and sshd"
cmdline tests/idp/idp-ctl.sh start STATE_DIR
e2e_setup
say "Two HTTPS servers on 127.0.0.1 with a fresh test CA:"
echo "    $OP_URL   a real OpenID Provider (oidc-provider) with the device flow; users alice (groups admins, devs) and bob (devs)"
echo "    $MINI_URL   a second issuer for CI tokens (tokens minted by tests/idp/mint.mjs)"
say "The configuration, $E2E_CONF (inside the sandbox): provider 'people' signs people in with the device flow, 'ci' admits CI tokens of org/* on refs/heads/main as one ephemeral user per run:"
grep -v '^$' "$E2E_CONF" | indent
say "PAM for sshd (/etc/pam.d/sshd), NSS (/etc/nsswitch.conf) and sudo (/etc/sudoers):"
indent </etc/pam.d/sshd
grep -E '^(passwd|group):' /etc/nsswitch.conf | indent
grep -E '^%' /etc/sudoers | indent
e2e_start_sshd
echo "sshd (OpenSSH $(ssh -V 2>&1 | sed 's/^OpenSSH_\([^ ,]*\).*/\1/')) listens on 127.0.0.1:$SSHD_PORT, keyboard-interactive through PAM"

# demo_ssh USER CMD APPROVE-OPTIONS...: e2e_ssh, with the transcript shown live as the ssh client
# prints it (the harness's markers turned into narration)
demo_ssh() {
    printf '%s# ssh -p %s %s@127.0.0.1 %s%s\n' "$B" "$SSHD_PORT" "$1" "'$2'" "$N"
    OUT=$WORK/ssh.out
    : >"$OUT"
    (
        e2e_ssh "$@"
        exit "$RC"
    ) &
    _pid=$!
    tail -n +1 -f --pid="$_pid" "$OUT" 2>/dev/null | tr -d '\r' | sed -u \
        -e '/^spawn ssh /d' -e '/^Warning: Permanently added/d' -e '/^E2E-BEGIN$/d' -e '/^$/d' \
        -e 's/^\(Could not chdir to home directory .*\)$/\1   (the demo adds no pam_mkhomedir: the real \/home stays as it is)/' \
        -e 's/^E2E-END rc=\(.*\)$/[the remote command exited with status \1]/' \
        -e "s/^E2E-USER-CODE: \\(.*\\)\$/[browser] the person opens that URL and checks the code \\1; here tests\\/idp\\/approve.mjs signs in at the IdP as $DEMO_APPROVER and approves/" \
        -e 's/^E2E-APPROVE-EXIT: 0$/[browser] approved; [terminal] the person presses Enter/' \
        -e 's/^E2E-APPROVE-EXIT: \(.*\)$/[browser] the approval script failed (exit \1)/' | indent
    wait "$_pid"
    RC=$?
    tr -d '\r' <"$OUT" >"$OUT.clean"
    CMD_OUT=$(sed -n '/^E2E-BEGIN$/,/^E2E-END rc=/p' "$OUT.clean" | sed '1d;$d')
    USER_CODE=$(sed -n 's/^E2E-USER-CODE: //p' "$OUT.clean" | head -n 1)
    echo "[ssh exited with status $RC]" | indent
}

step "5. alice has never been on this host"
showi getent passwd alice
ok "getent passwd alice finds nothing: she is in no local file and not in the identity cache" \
    sh -c '! getent passwd alice >/dev/null'
showi oidcctl users --config "$E2E_CONF"

step "6. alice logs in over SSH with the device flow"
say "The stock ssh client, driven by expect as a person at a terminal: pam_oidc.so puts the URL and the code inside the prompt (OpenSSH shows nothing else until a prompt), the person approves in a browser and presses Enter, and the module polls the IdP until the approval arrives."
DEMO_APPROVER=alice
t=$(date +%s)
demo_ssh alice 'id; env | grep ^OIDC_ | sort' --user alice --password alice-pw
t=$(($(date +%s) - t))
uid=$(e2e_hash_id uid alice)
ok "ssh exited 0 ($t s from ssh start to logout)" [ "$RC" = 0 ]
ok "the prompt showed the verification URL with code $USER_CODE" out_has "$OP_URL/device\\?user_code=$USER_CODE"
ok "id shows alice with uid $uid, the published hash of her name (docs/idmap.md)" \
    cmd_has "^uid=$uid\\(alice\\) gid=$uid\\(alice\\) "
ok "id shows the group admins from her token's groups claim" cmd_has '^uid=.*\(admins\)'
ok "id shows the group devs from her token's groups claim" cmd_has '^uid=.*\(devs\)'

ok "the session carries OIDC_ISSUER" cmd_has "^OIDC_ISSUER=$OP_URL\$"
ok "the session carries OIDC_SUBJECT" cmd_has '^OIDC_SUBJECT=sub-alice$'

step "7. What the host remembers: the identity cache, read by libnss_oidc.so.2"
say "pam_oidc.so wrote alice and her groups into the identity cache ($E2E_STATEDIR/cache.cdb); glibc's NSS now resolves them like local users, with no network:"
showi getent passwd alice
showi getent group admins
showi oidcctl users --config "$E2E_CONF"
say "and the audit line pam_oidc.so sent to syslog (never the token):"
grep -m1 'audit: phase=auth result=success service="sshd" user="alice"' "$E2E_SYSLOG" | sed 's/^<[0-9]*>//' | fold -s -w 96 | indent
ok "getent passwd alice resolves to uid $uid" sh -c "getent passwd alice | grep -q ':$uid:$uid:'"

step "8. sudo: allowed for alice (token group admins), refused for bob (devs only)"
say "sudoers says '%admins ALL=(ALL) NOPASSWD: ALL'; the group comes from NSS, so from the token's claims. alice logs in again (the cache is not rewritten for an unchanged identity):"
before=$(e2e_cache_stat)
demo_ssh alice 'id -Gn; sudo -n whoami' --user alice --password alice-pw
ok "alice: sudo -n whoami prints root" cmd_has '^root$'
ok "alice's second login did not rewrite the identity cache" [ "$(e2e_cache_stat)" = "$before" ]
say "bob, also new to this host, signs in the same way; his token has devs but not admins:"
DEMO_APPROVER=bob
demo_ssh bob 'id; sudo -n whoami || echo "sudo refused bob"' --user bob --password bob-pw
ok "bob logs in with his own uid $(e2e_hash_id uid bob)" cmd_has "^uid=$(e2e_hash_id uid bob)\\(bob\\) "
ok "bob: sudo refused" cmd_has '^sudo refused bob$'
ok "bob has no admins group" cmd_lacks '\(admins\)'

step "9. A batch job under its own per-run identity: oidcctl run with a CI token"
say "A CI system hands the job a token signed by its issuer (here the bundled second issuer, like GitHub Actions' token.actions.githubusercontent.com). The batch agent, as root, runs the job with it: oidcctl run authenticates the token through the PAM service oidc-run (pam_oidc.so, provider ci), checks repository and ref, creates the user job-{run_id} for this run only, drops to it and runs the command."
T=$WORK/job.jwt
mkdir -m 1777 "$WORK/jobs"
CLAIMS='{"repository":"org/app","repository_owner":"org","ref":"refs/heads/main","run_id":"4242","workflow":"build"}'
cmdline "node tests/idp/mint.mjs --state $IDP --sub repo:org/app:ref:refs/heads/main --claims '$CLAIMS' >$T"
node "$IDP_DIR/mint.mjs" --state "$IDP" --sub repo:org/app:ref:refs/heads/main --claims "$CLAIMS" >"$T" ||
    die "mint.mjs failed"
echo "the token's claims (its middle part, base64url-decoded):"
cut -d. -f2 "$T" | tr '_-' '/+' | awk '{ n = length($0) % 4; if (n) $0 = $0 substr("===", 1, 4 - n); print }' |
    base64 -d 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s),null,1).replace(/\n */g," ")))' | fold -s -w 96 | indent
showi getent passwd job-4242
ok "before the run, job-4242 does not exist" sh -c '! getent passwd job-4242 >/dev/null'
cmdline "oidcctl run --config $E2E_CONF --token-file $T -- /bin/sh -c 'id; env | grep ^OIDC_ | sort; touch $WORK/jobs/ran'"
JOB_OUT=$(oidcctl run --config "$E2E_CONF" --token-file "$T" -- /bin/sh -c \
    "id; env | grep ^OIDC_ | sort; touch $WORK/jobs/ran" 2>&1)
RC=$?
printf '%s\n' "$JOB_OUT" | indent
echo "[oidcctl run exited with status $RC, the job's]" | indent
job_has() { printf '%s\n' "$JOB_OUT" | grep -Eq -- "$1"; }
job_ran() { [ "$RC" = 0 ] && [ -f "$WORK/jobs/ran" ]; }
ok "the job ran (exit 0)" job_ran
ok "as job-4242 with uid $(e2e_hash_id uid job-4242)" job_has "^uid=$(e2e_hash_id uid job-4242)\\(job-4242\\) "
ok "with OIDC_SUBJECT" job_has '^OIDC_SUBJECT=repo:org/app:ref:refs/heads/main$'
ok "with the exported claim OIDC_CLAIM_REPOSITORY" job_has '^OIDC_CLAIM_REPOSITORY=org/app$'
say "After the run, the per-run user is gone:"
showi getent passwd job-4242
ok "job-4242 no longer exists (ephemeral = yes)" sh -c '! getent passwd job-4242 >/dev/null'
say "The same token again is a replay, and a token of another repository breaks the provider's rules; neither job runs:"
cmdline "oidcctl run --config $E2E_CONF --token-file $T -- true"
oidcctl run --config "$E2E_CONF" --token-file "$T" -- true 2>&1 | indent
node "$IDP_DIR/mint.mjs" --state "$IDP" \
    --claims '{"repository":"evil/app","repository_owner":"evil","ref":"refs/heads/main","run_id":"4243"}' >"$T"
cmdline "oidcctl run --config $E2E_CONF --token-file $T -- true    (a token of evil/app)"
oidcctl run --config "$E2E_CONF" --token-file "$T" -- true 2>&1 | indent
echo "(oidcctl run hands the token to PAM silently; the module's reason is in its audit line:)"
grep 'pam_oidc(oidc-run:auth): audit: phase=auth result=failure' "$E2E_SYSLOG" |
    sed 's/.* user="\([^"]*\)".* reason="\(.*\)"$/\1: \2/' | indent
ok "both refused, as the audit lines say" sh -c "[ \$(grep -c 'pam_oidc(oidc-run:auth): audit: phase=auth result=failure' '$E2E_SYSLOG') = 2 ]"

step "10. The audit trail: one syslog line per decision"
say "Every decision of pam_oidc.so is one structured line in syslog (LOG_AUTHPRIV; here the sandbox's private /dev/log), with issuer, subject, jti and groups, never a token. In short:"
printf '%-9s %-14s %-8s %-9s %s\n' service phase result user reason | indent
sed -n 's/.*: audit: phase=\([^ ]*\) result=\([^ ]*\) service="\([^"]*\)" user="\([^"]*\)".* reason="\(.*\)"$/\3|\1|\2|\4|\5/p' \
    "$E2E_SYSLOG" | awk -F'|' '{ printf "%-9s %-14s %-8s %-9s %s\n", $1, $2, $3, $4, substr($5, 1, 80) }' | indent
ok "no token in any log" sh -c "! grep -qF \"\$(cut -d. -f3 '$T')\" '$E2E_SYSLOG' '$WORK/sshd.log'"

step "11. Stop everything"
e2e_stop_sshd
echo "sshd stopped; the IdP stops and the sandbox's mounts and files go when this shell exits"
if [ "$FAILED" = 0 ]; then
    echo "every step did what it shows"
else
    echo "$FAILED step(s) did not do what they show"
fi
[ "$FAILED" = 0 ]
