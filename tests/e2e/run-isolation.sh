#!/bin/sh
# No process of a run outlives it: `oidcctl run` with CI tokens from the mini issuer, the real
# oidc-run PAM stack, pam_oidc.so and libnss_oidc.so.2. Each job daemonizes before it ends or is
# stopped: `setsid sleep &`, a classic double fork (fork, setsid, fork: the grandchild is
# reparented to init in a session of its own) and a plain background process. Afterwards no
# process of the job's uid is left (read from /proc/*/status Uid lines: real, effective or saved
# uid; zombies do not count) and the ephemeral user is gone (getent) —
#  - after the run ends normally, after --kill-at-expiry (a token that expires 3 s after it was
#    minted), after SIGKILL of `oidcctl run` (the guardian ends the processes and closes the
#    session), after SIGINT to the caller's process group followed by SIGKILL, and with a job
#    that keeps forking while the run ends;
#  - with the run's cgroup v2 (the job is in oidc-run.PID, which is gone afterwards; also for a
#    non-ephemeral user, where only the cgroup can catch a daemon), and with no usable cgroup (an
#    empty read-only directory bind-mounted over the cgroup v2 mount inside this test's mount
#    namespace), where the uid sweep of an ephemeral user must catch them.
E2E_NEED_MODULES=1
. "$(dirname "$0")/lib.sh"
e2e_setup
T=$WORK/job.tok
JOBS=$WORK/jobs
mkdir -m 1777 "$JOBS"
READY=$JOBS/ready

ci_claims() {
    printf '{"repository":"org/app","repository_owner":"org","ref":"refs/heads/main","run_id":"%s","workflow":"build"}' "$1"
}
# uid_procs UID: "pid state" of each process whose real, effective or saved uid is UID, no zombie
uid_procs() {
    for _s in /proc/[0-9]*/status; do
        awk -v u="$1" '/^State:/ { st = $2 }
            /^Uid:/ { if ($2 == u || $3 == u || $4 == u) hit = 1 }
            END { if (hit && st != "Z") { split(FILENAME, p, "/"); print p[3], st } }' "$_s" 2>/dev/null
    done
}
no_uid_procs() { [ -z "$(uid_procs "$1")" ]; }
# gone UID NAME: no process of UID is left and NAME does not resolve
gone() { no_uid_procs "$1" && no_user "$2"; }
section() { echo "# $*"; }
no_user() { ! getent passwd "$1" >/dev/null; }
# no oidcctl process is left (the guardian exits with the run)
no_oidcctl() {
    for _c in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' <"$_c" 2>/dev/null | grep -q "^$OIDCCTL run " && return 1
    done
    return 0
}
# wait_until SECONDS CMD...: polls CMD every 0.1 s
wait_until() {
    _n=$(($1 * 10))
    shift
    while [ "$_n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        _n=$((_n - 1))
    done
    "$@"
}

# The job: it says which cgroup it is in, leaves three processes behind (setsid; fork, setsid,
# fork; plain background), waits until the three run, and marks itself ready. $1: what it does
# then ("" ends at once; "sleep 600" waits to be stopped).
job() {
    cat <<EOF
echo "CGROUP=\$(sed -n 's/^0:://p' /proc/self/cgroup)"
setsid sleep 600 </dev/null >/dev/null 2>&1 &
( setsid sh -c 'sleep 601 </dev/null >/dev/null 2>&1 &' </dev/null >/dev/null 2>&1 & )
sleep 602 </dev/null >/dev/null 2>&1 &
i=0
while [ "\$(pgrep -c -u "\$(id -u)" -x sleep)" -lt 3 ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "LEFT=\$(pgrep -c -u "\$(id -u)" -x sleep)"
touch $READY
$1
EOF
}
# A job that keeps forking: a forker in a session of its own starts daemons in a loop (bounded)
# and the job ends while it runs.
FORKER="setsid sh -c 'i=0; while [ \$i -lt 400 ]; do (setsid sleep 700 </dev/null >/dev/null 2>&1 &); i=\$((i + 1)); done' </dev/null >/dev/null 2>&1 &
sleep 0.3"

# run_fg RUN_ID JOB [oidcctl run options]: in the foreground; $JOB_OUT, $RC, $U (uid), $N (name)
run_fg() {
    N=job-$1 U=$(e2e_hash_id uid "job-$1")
    _job=$2
    shift 2
    rm -f "$READY"
    mint --claims "$(ci_claims "${N#job-}")" ${EXP_IN:+--exp-in "$EXP_IN"} >"$T"
    JOB_OUT=$("$OIDCCTL" run --config "$E2E_CONF" --token-file "$T" "$@" -- /bin/sh -c "$_job" 2>&1)
    RC=$?
}
# run_bg RUN_ID: in the background, in a process group of its own (as a terminal's shell would
# start it); waits until the job is ready. $BG: the pid of oidcctl run.
run_bg() {
    N=job-$1 U=$(e2e_hash_id uid "job-$1")
    rm -f "$READY"
    mint --claims "$(ci_claims "$1")" >"$T"
    setsid "$OIDCCTL" run --config "$E2E_CONF" --token-file "$T" -- /bin/sh -c "$2" \
        >"$WORK/bg.out" 2>&1 &
    BG=$!
    wait_until 20 [ -f "$READY" ] || { echo "the job did not get ready:"; cat "$WORK/bg.out"; }
}
job_cgroup() { printf '%s\n' "$JOB_OUT" | sed -n 's/^CGROUP=//p' | head -n 1; }
show() { printf '%s\n' "$JOB_OUT" | tail -n 5 | sed 's/^/    | /'; uid_procs "$U" | sed 's/^/    left: /'; }

# ends CASE: the checks after a run of $N / $U
ends() {
    check "$1: the job left its processes behind while it ran ($(printf '%s\n' "$JOB_OUT" | sed -n 's/^LEFT=//p'))" \
        sh -c "printf '%s\n' \"\$1\" | grep -q '^LEFT=[3-9]'" - "$JOB_OUT"
    check "$1: no process of uid $U is left" no_uid_procs "$U"
    check "$1: the ephemeral user $N is gone" no_user "$N"
    check "$1: no oidcctl run process (guardian) is left" no_oidcctl
    no_uid_procs "$U" || show
}

# Where oidcctl run makes the run's cgroup: under its own cgroup in the cgroup v2 hierarchy.
CG_ROOT=
for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && { CG_ROOT=$d; break; }
done
CG_PARENT=$CG_ROOT$(sed -n 's/^0::\(\/.*\)$/\1/p' /proc/self/cgroup | sed 's|^/$||')
# (names with $WORK's unique suffix: the cgroup tree is the host's, and $$ is 1 in this PID namespace)
CG_MINE=oidc-e2e.${WORK##*/}
if [ -n "$CG_ROOT" ] && mkdir "$CG_PARENT/$CG_MINE" 2>/dev/null; then
    rmdir "$CG_PARENT/$CG_MINE"
    cg_gone() { [ -n "$1" ] && [ ! -d "$CG_ROOT$1" ]; }
    # cg_case CASE: the job ran in the run's own cgroup, which is gone now
    cg_case() {
        _cg=$(job_cgroup)
        check "$1: the job ran in the run's cgroup (${_cg:-none})" \
            sh -c "printf '%s\n' '$_cg' | grep -Eq '/oidc-run\\.[0-9]+(\\.[0-9]+)?\$'"
        check "$1: the run's cgroup is removed" cg_gone "$_cg"
    }

    section "cgroup: normal end"
    run_fg 301 "$(job "")"
    check "cgroup, normal end: the job exits 0" [ "$RC" = 0 ]
    cg_case "cgroup, normal end"
    ends "cgroup, normal end"

    section "cgroup: --kill-at-expiry"
    EXP_IN=4 run_fg 302 "$(job "sleep 600")" --kill-at-expiry
    check "cgroup, --kill-at-expiry: the job was stopped (exit $RC)" [ "$RC" != 0 ]
    cg_case "cgroup, --kill-at-expiry"
    ends "cgroup, --kill-at-expiry"

    section "cgroup: SIGKILL of oidcctl run"
    run_bg 303 "$(job "sleep 600")"
    JOB_OUT=$(cat "$WORK/bg.out")
    _cg=$(job_cgroup)
    kill -KILL "$BG"
    wait "$BG" 2>/dev/null
    wait_until 10 gone "$U" "$N"
    ends "cgroup, SIGKILL"
    check "cgroup, SIGKILL: the run's cgroup is removed" cg_gone "$_cg"
    check "cgroup, SIGKILL: the guardian logged that it closed the run" \
        syslog_has "oidcctl\\[[0-9]+\\]: run: oidcctl run \\(pid [0-9]+\\) ended without closing its session.*uid $U"
    check "cgroup, SIGKILL: the session was closed (ephemeral user removed, audited)" \
        syslog_has "phase=close_session result=success .*user=\"$N\".*ephemeral user removed"

    section "cgroup: a job that keeps forking"
    run_fg 304 "$(job "$FORKER")"
    cg_case "cgroup, forking job"
    ends "cgroup, forking job"

    section "cgroup: a user that is not ephemeral"
    sed -i 's/^ephemeral = yes$/ephemeral = no/' "$E2E_CONF"
    grep -q '^ephemeral = no$' "$E2E_CONF" || e2e_die "cannot switch ci to ephemeral = no"
    run_fg 305 "$(job "")"
    cg_case "cgroup, not ephemeral"
    check "cgroup, not ephemeral: no process of uid $U is left (the cgroup alone)" no_uid_procs "$U"
    check "cgroup, not ephemeral: the user stays cached" sh -c "getent passwd $N >/dev/null"
    no_uid_procs "$U" || show
    sed -i 's/^ephemeral = no$/ephemeral = yes/' "$E2E_CONF"

    # oidcctl run in a threaded cgroup: the run's cgroup is made there as "domain invalid",
    # which the kernel lets no process join, so the job's child cannot: fail closed
    section "cgroup: the run's cgroup cannot be joined"
    TP=$CG_PARENT/$CG_MINE
    trap 'rmdir "$TP/sub" "$TP" 2>/dev/null; e2e_cleanup' EXIT
    mkdir "$TP" "$TP/sub" && echo threaded >"$TP/sub/cgroup.type" ||
        e2e_die "cannot make the threaded cgroup $TP/sub"
    N=job-306 U=$(e2e_hash_id uid job-306)
    mint --claims "$(ci_claims 306)" >"$T"
    rm -f "$JOBS/ran"
    JOB_OUT=$(sh -c 'echo 0 >"$0/cgroup.procs" && exec "$@"' "$TP/sub" "$OIDCCTL" run \
        --config "$E2E_CONF" --token-file "$T" -- /bin/sh -c "touch $JOBS/ran" 2>&1)
    RC=$?
    check "cgroup not joinable: the run is refused (exit $RC, want 125)" [ "$RC" = 125 ]
    check "cgroup not joinable: the job did not run" [ ! -f "$JOBS/ran" ]
    check "cgroup not joinable: the message names the cgroup" \
        sh -c "printf '%s\n' \"\$1\" | grep -q \"cannot join the run's cgroup ($TP/sub/oidc-run\\.[0-9.]*/cgroup.procs)\"" - "$JOB_OUT"
    check "cgroup not joinable: the run's cgroup is removed" \
        sh -c "! ls -d '$TP/sub'/oidc-run.* 2>/dev/null"
    check "cgroup not joinable: the ephemeral user $N is gone" no_user "$N"
    printf '%s\n' "$JOB_OUT" | grep -q "cannot join" || show
    rmdir "$TP/sub" "$TP" 2>/dev/null
    trap e2e_cleanup EXIT
else
    echo "SKIP: the cgroup part: no writable cgroup v2 here (${CG_ROOT:-none mounted})"
fi

# From here on no cgroup v2 is usable: an empty read-only directory over the mount.
section "uid sweep (no cgroup)"
mkdir -p "$WORK/no-cgroup"
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] &&
        { mount --bind -o ro "$WORK/no-cgroup" "$d" || e2e_die "cannot hide the cgroup mount $d"; }
done
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [ "$(stat -f -c %T "$d" 2>/dev/null)" != cgroup2fs ] || e2e_die "$d is still a cgroup v2"
done
no_cg_case() {
    check "$1: the job ran in no run cgroup ($(job_cgroup))" \
        sh -c "! printf '%s\n' '$(job_cgroup)' | grep -q oidc-run"
}

run_fg 311 "$(job "")"
check "sweep, normal end: the job exits 0" [ "$RC" = 0 ]
no_cg_case "sweep, normal end"
ends "sweep, normal end"

EXP_IN=4 run_fg 312 "$(job "sleep 600")" --kill-at-expiry
check "sweep, --kill-at-expiry: the job was stopped (exit $RC)" [ "$RC" != 0 ]
ends "sweep, --kill-at-expiry"

run_bg 313 "$(job "sleep 600")"
JOB_OUT=$(cat "$WORK/bg.out")
kill -KILL "$BG"
wait "$BG" 2>/dev/null
wait_until 10 gone "$U" "$N"
ends "sweep, SIGKILL"
check "sweep, SIGKILL: the guardian logged that it closed the run" \
    syslog_has "run: oidcctl run \\(pid [0-9]+\\) ended without closing its session.*uid $U"

# the terminal's ^C reaches the caller's process group (oidcctl run, and the guardian if it were
# there); the job ignores it; then oidcctl run is killed: the guardian must still be there
run_bg 314 "trap '' INT; $(job "sleep 600")"
JOB_OUT=$(cat "$WORK/bg.out")
kill -INT -"$BG"
sleep 0.5
kill -KILL "$BG" 2>/dev/null
wait "$BG" 2>/dev/null
wait_until 10 gone "$U" "$N"
ends "sweep, SIGINT to the group then SIGKILL"

run_fg 315 "$(job "$FORKER")"
ends "sweep, forking job"

finish
