#!/bin/sh
# `oidcctl run` keeps its descriptors (and the PAM modules') from the job even when close_range()
# is not available (an old kernel, a seccomp filter): it falls back to marking each descriptor of
# /proc/self/fd close-on-exec, and when that fails too it refuses to run the job (exit 126, with
# the error printed by oidcctl run itself). The caller holds a root-only file open on fd 3; the job
# (an unprivileged per-run user) tries to read fd 3. tests/e2e/fdshim.c, preloaded into oidcctl
# (root, not setuid, so LD_PRELOAD is honoured), makes close_range() fail with ENOSYS, and in a
# second variant opendir("/proc/self/fd") fail too.
E2E_NEED_MODULES=1
. "$(dirname "$0")/lib.sh"
command -v cc >/dev/null 2>&1 || e2e_skip "no C compiler for the LD_PRELOAD shim"
e2e_setup
SHIM=$WORK/fdshim.so
SHIM_NOPROC=$WORK/fdshim-noproc.so
cc -shared -fPIC -O1 -o "$SHIM" "$E2E_DIR/fdshim.c" -ldl || e2e_die "cannot build the shim"
cc -shared -fPIC -O1 -DFDSHIM_NO_PROC_FD -o "$SHIM_NOPROC" "$E2E_DIR/fdshim.c" -ldl ||
    e2e_die "cannot build the shim"
mkdir -m 1777 "$WORK/jobs"
MARK=$WORK/jobs/job-ran
SECRET=$WORK/root-only
printf 'ROOT-ONLY-SECRET\n' >"$SECRET"
chmod 0600 "$SECRET"
T=$WORK/job.tok
FDSHIM_LOG=$WORK/fdshim.log
export FDSHIM_LOG

RUN_ID=300
new_token() {
    RUN_ID=$((RUN_ID + 1))
    mint --claims "{\"repository\":\"org/app\",\"repository_owner\":\"org\",\"ref\":\"refs/heads/main\",\"run_id\":\"$RUN_ID\"}" >"$T" ||
        e2e_die "mint failed"
}
# the job (perl, from perl-base): reads fd 3 if it can, and names every descriptor above 2 it
# holds but the directory it lists them with
JOB='open(M, ">", $ARGV[0]) and close(M);
if (open(my $f, "<&=", 3)) { my $l = <$f>; print "FD3-READABLE: ", $l // "(empty)\n"; }
else { print "FD3-CLOSED\n"; }
opendir(my $d, "/proc/self/fd") or die "opendir: $!";
for (readdir $d) { print "INHERITED fd $_\n" if /^\d+$/ && $_ > 2 && $_ != fileno($d); }'
# run_job [PRELOAD]: oidcctl run with the root-only file on fd 3 (and PRELOAD in LD_PRELOAD);
# output in $JOB_OUT, status in $RC
run_job() {
    rm -f "$MARK" "$FDSHIM_LOG"
    new_token
    JOB_OUT=$(LD_PRELOAD=${1:-} "$OIDCCTL" run --config "$E2E_CONF" --token-file "$T" \
        -- perl -e "$JOB" "$MARK" 3<"$SECRET" 2>&1)
    RC=$?
}
job_has() { printf '%s\n' "$JOB_OUT" | grep -Eq -- "$1"; }
job_lacks() { ! job_has "$1"; }
shim_says() { grep -q -- "$1" "$FDSHIM_LOG" 2>/dev/null; }
show() { printf '%s\n' "$JOB_OUT" | tail -n 8 | sed 's/^/    | /'; }

run_job
_f=$FAIL
check "close_range: the job ran (exit $RC)" [ "$RC" = 0 -a -f "$MARK" ]
check "close_range: the job cannot read the caller's fd 3" job_has '^FD3-CLOSED$'
check "close_range: the root-only file's content is not in the job's output" job_lacks ROOT-ONLY-SECRET
check "close_range: the job holds no descriptor above 2" job_lacks '^INHERITED'
[ "$_f" = "$FAIL" ] || show

run_job "$SHIM"
_f=$FAIL
check "close_range ENOSYS: the shim answered oidcctl's close_range()" shim_says 'close_range: ENOSYS'
check "close_range ENOSYS: the job ran (exit $RC)" [ "$RC" = 0 -a -f "$MARK" ]
check "close_range ENOSYS: the job cannot read the caller's fd 3" job_has '^FD3-CLOSED$'
check "close_range ENOSYS: the root-only file's content is not in the job's output" \
    job_lacks ROOT-ONLY-SECRET
check "close_range ENOSYS: the job holds no descriptor above 2 (/proc/self/fd walk)" \
    job_lacks '^INHERITED'
[ "$_f" = "$FAIL" ] || show

run_job "$SHIM_NOPROC"
_f=$FAIL
check "close_range ENOSYS, /proc/self/fd unreadable: the shim answered both" \
    sh -c "grep -q 'close_range: ENOSYS' '$FDSHIM_LOG' && grep -q 'opendir /proc/self/fd: EACCES' '$FDSHIM_LOG'"
check "close_range ENOSYS, /proc/self/fd unreadable: refused with exit 126 (got $RC)" [ "$RC" = 126 ]
check "close_range ENOSYS, /proc/self/fd unreadable: the job did not run" [ ! -f "$MARK" ]
check "close_range ENOSYS, /proc/self/fd unreadable: oidcctl run says why" \
    job_has '^oidcctl: run: for user job-[0-9]+ \(uid [0-9]+\): cannot keep inherited descriptors from the job \(close_range and the /proc/self/fd walk both failed\): Permission denied$'
check "close_range ENOSYS, /proc/self/fd unreadable: the root-only file's content is not in the output" \
    job_lacks ROOT-ONLY-SECRET
check "close_range ENOSYS, /proc/self/fd unreadable: the per-run user is gone afterwards" \
    sh -c "! getent passwd job-$RUN_ID"
[ "$_f" = "$FAIL" ] || show

finish
