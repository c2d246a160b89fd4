# Result helpers of the shell tests, sourced: ok/not_ok count, check runs a condition, expect_exit
# matches a command's status and output, finish prints the totals and gives the exit status.
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }

# check NAME CONDITION...: runs the condition, records the result
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# expect_exit NAME CODE PATTERN CMD...: CMD must exit with CODE and its output match PATTERN
expect_exit() {
    name=$1 code=$2 pattern=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$code" ] && printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
        ok "$name"
    else
        not_ok "$name (exit $rc, wanted $code; output: $(printf '%s' "$out" | tail -n 3))"
    fi
}

finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}
