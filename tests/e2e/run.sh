#!/bin/sh
# Runs every end-to-end test against a build: tests/e2e/run.sh BUILD_DIR [TEST...]
# (TEST: a script name such as ssh-device-login.sh; default all). Builds nothing. Each test runs in
# its own private mount and PID namespace (lib.sh) and exits 0 (pass), 1 (fail) or 77 (skip: not
# root, no sshd/expect/sudo, no IdP Node modules, or the modules not built). Also checks that the
# machine's PAM, NSS, SSH and sudo configuration is the same before and after, and that no test
# left a process behind. Exit 0 when nothing failed (skips are reported, not failures).
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [TEST...]" >&2; exit 2; }
top_builddir=$(cd "$1" && pwd) || exit 2
shift
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
export top_srcdir top_builddir
E2E=$top_srcdir/tests/e2e
[ $# -gt 0 ] || set -- token-shapes.sh harness.sh ssh-device-login.sh ssh-refusals.sh sudo.sh \
    batch-run.sh run-isolation.sh run-tty.sh run-fds.sh ssh-token.sh session-max.sh two-issuers.sh faults.sh chroot.sh doctor.sh

fingerprint() {
    find /etc/pam.d /etc/ssh /etc/nsswitch.conf /etc/sudoers /etc/sudoers.d /etc/ld.so.cache \
        /etc/passwd /etc/group /etc/nss-pam-oidc.conf /dev/log -maxdepth 1 2>/dev/null |
        sort | while read -r f; do
            if [ -f "$f" ]; then printf '%s %s\n' "$f" "$(cksum <"$f")"; else printf '%s\n' "$f"; fi
        done
}
# procs: processes of the tests that still run (sshd with the harness's config, anything whose
# command line names one of the tests' work directories)
E2E_WORKLIST=$(mktemp)
export E2E_WORKLIST
procs() {
    ps -eo pid=,args= 2>/dev/null | grep -F -f "$E2E_WORKLIST" | grep -v -e 'grep' -e "$$"
    ps -eo pid=,args= 2>/dev/null | grep -E 'sshd -D -e -f /etc/ssh/sshd_config' | grep -v grep
}

before=$(fingerprint)
pass=0 fail=0 skip=0 failed=
for t in "$@"; do
    start=$(date +%s)
    log=$(mktemp)
    /bin/sh "$E2E/$t" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    case $rc in
    0) pass=$((pass + 1)); echo "PASS $t ($took s): $(tail -n 1 "$log")" ;;
    77) skip=$((skip + 1)); echo "SKIP $t: $(grep -m1 '^SKIP' "$log")" ;;
    *)
        fail=$((fail + 1)); failed="$failed $t"
        echo "FAIL $t ($took s, exit $rc):"
        grep -E '^(FAIL|XPASS)|^e2e harness' "$log" | sed 's/^/    /'
        tail -n 1 "$log" | sed 's/^/    /'
        ;;
    esac
    rm -f "$log"
done
if [ "$(fingerprint)" != "$before" ]; then
    echo "FAIL the machine's configuration changed during the tests"
    fail=$((fail + 1))
fi
sleep 1
if [ -n "$(procs)" ]; then
    echo "FAIL processes were left running:"
    procs
    fail=$((fail + 1))
fi
rm -f "$E2E_WORKLIST"
echo "e2e: $pass passed, $fail failed, $skip skipped${failed:+ (failed:$failed)}"
[ "$fail" = 0 ]
