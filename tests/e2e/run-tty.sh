#!/bin/sh
# `oidcctl run` and the terminal of the admin who starts it: the job always runs in a session of
# its own, never holds a descriptor of the caller's terminal, and when the caller's stdin, stdout
# or stderr is a terminal it gets a pseudo-terminal of its own that oidcctl relays. The caller's
# terminal is a pty made by tests/e2e/ptyrun.c (the command's controlling terminal); the job is
# tests/e2e/ttyprobe.c, which tries TIOCSTI, tcsetpgrp and reading on its fds 0-2 and /dev/tty.
# Then: the relay (raw mode while it runs and restored afterwards, also after a signal; window
# size at the start and on SIGWINCH; ^C and ^D reach the job through its terminal; the exit status;
# a hangup) and 50 runs in a row on a terminal, which must all succeed (the setsid/setpgid race).
E2E_NEED_MODULES=1
. "$(dirname "$0")/lib.sh"
command -v cc >/dev/null 2>&1 || e2e_skip "no C compiler for the pty helper"
e2e_setup
PTYRUN=$WORK/ptyrun
PROBE=$WORK/ttyprobe
cc -O1 -o "$PTYRUN" "$E2E_DIR/ptyrun.c" || e2e_die "cannot build ptyrun"
cc -O1 -o "$PROBE" "$E2E_DIR/ttyprobe.c" || e2e_die "cannot build ttyprobe"
mkdir -m 1777 "$WORK/jobs"
T=$WORK/job.tok
REP=$WORK/jobs/probe.rep
echo "info: kernel: dev.tty.legacy_tiocsti=$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo '(not present: TIOCSTI allowed)')"

RUN_ID=200
# new_token: a fresh CI token in $T (replay protection refuses a token seen before)
new_token() {
    RUN_ID=$((RUN_ID + 1))
    mint --claims "{\"repository\":\"org/app\",\"repository_owner\":\"org\",\"ref\":\"refs/heads/main\",\"run_id\":\"$RUN_ID\"}" >"$T" ||
        e2e_die "mint failed"
}
# pty ARGS...: ptyrun ARGS with the terminal's output in $PT_OUT, its report in $PT_ERR (files),
# the exit status in $RC, the terminal's device number in $CALLER
pty() {
    PT_OUT=$WORK/pty.out PT_ERR=$WORK/pty.err
    "$PTYRUN" "$@" >"$PT_OUT" 2>"$PT_ERR"
    RC=$?
    CALLER=$(sed -n 's/^ptyrun: tty rdev=//p' "$PT_ERR")
}
RUN="$OIDCCTL run --config $E2E_CONF"
rep_has() { grep -Eq -- "$1" "$REP"; }
rep_lacks() { ! rep_has "$1"; }
err_has() { grep -Eq -- "$1" "$PT_ERR"; }
err_lacks() { ! err_has "$1"; }
out_has() { tr -d '\r' <"$PT_OUT" | grep -Eq -- "$1"; }
show() {
    echo "--- ptyrun report"
    cat "$PT_ERR"
    echo "--- terminal output (last 10 lines)"
    tr -d '\r' <"$PT_OUT" | tail -n 10
    echo "--- probe report"
    cat "$REP" 2>/dev/null
}
# what the kernel let the job do, for the record
allowed() {
    sed -n 's/^\(tcsetpgrp\|tiocsti\) \([a-z0-9]*\) ok$/\1 on \2/p' "$REP" 2>/dev/null | tr '\n' ',' |
        sed 's/,$//; s/,/, /g'
}

# probe_checks CASE: what must hold whatever the caller's fds were
probe_checks() {
    _f=$FAIL
    check "$1: the job ran (exit $RC)" [ "$RC" = 0 -a -s "$REP" ]
    check "$1: none of the job's fds 0-2 is the caller's terminal ($CALLER)" \
        rep_lacks "^fd[012] tty rdev=$CALLER\$"
    check "$1: the job's /dev/tty is not the caller's terminal" rep_lacks "^devtty rdev=$CALLER\$"
    check "$1: nothing the job pushed with TIOCSTI reached the caller's input" \
        err_lacks "^ptyrun: leftover input: .*INJECTED-BY-JOB"
    check "$1: the job never took the caller's terminal's foreground (tcsetpgrp)" \
        err_lacks '^ptyrun: foreground taken'
    check "$1: the caller's terminal is in its old mode afterwards" err_has '^ptyrun: mode restored: yes$'
    echo "info: $1: the kernel allowed the job: $(allowed) (on its own terminal, when it has one)"
    [ "$_f" = "$FAIL" ] || show
}

# --- 1. stdin is a pipe carrying the token (--token-file -), stdout and stderr the terminal
new_token
rm -f "$REP"
pty -t 'TYPED-BY-ROOT
' -- sh -c "cat $T | exec $RUN --token-file - -- $PROBE $REP"
probe_checks "token on a pipe"
check "token on a pipe: the job's stdin is the pipe, passed as it is" rep_has '^fd0 notty$'
check "token on a pipe: the job's stdout is a terminal (its own)" rep_has '^fd1 tty rdev='
check "token on a pipe: the job could not read what root typed" rep_lacks "TYPED-BY-ROOT"
check "token on a pipe: what root typed is still waiting for root" \
    err_has "^ptyrun: leftover input: 'TYPED-BY-ROOT"

# --- 2. stdin is /dev/null, stdout and stderr the terminal
new_token
rm -f "$REP"
pty -i null -t 'TYPED-BY-ROOT
' -- $RUN --token-file "$T" -- "$PROBE" "$REP"
probe_checks "stdin /dev/null"
check "stdin /dev/null: the job's stdin is /dev/null, passed as it is" rep_has '^fd0 notty$'
check "stdin /dev/null: the job's stderr is a terminal (its own)" rep_has '^fd2 tty rdev='
check "stdin /dev/null: the job could not read what root typed" rep_lacks "TYPED-BY-ROOT"
check "stdin /dev/null: what root typed is still waiting for root" \
    err_has "^ptyrun: leftover input: 'TYPED-BY-ROOT"

# --- 3. all of stdin, stdout and stderr the terminal: the relay gives the job what root types
new_token
rm -f "$REP"
pty -w 33x111 -t 'TYPED-BY-ROOT
' -- $RUN --token-file "$T" -- "$PROBE" "$REP"
probe_checks "all on the terminal"
check "all on the terminal: fds 0-2 are one terminal of the job's own" \
    sh -c "[ \$(grep -c '^fd[012] tty rdev=' '$REP') = 3 ]"
check "all on the terminal: /dev/tty is the job's own terminal" \
    sh -c "grep -q \"^devtty rdev=\$(sed -n 's/^fd0 tty rdev=//p' '$REP')\$\" '$REP'"
check "all on the terminal: what root types reaches the job through the relay" \
    rep_has "^read fd0 'TYPED-BY-ROOT'\$"
check "all on the terminal: the job's terminal has the caller's window size" rep_has '^winsize 33x111$'

# --- stdin closed, stdout and stderr the terminal: the job's stdin is /dev/null, not a pipe of ours
new_token
rm -f "$REP"
pty -- sh -c "exec $RUN --token-file $T -- $PROBE $REP <&-"
probe_checks "stdin closed"
check "stdin closed: the job's stdin is a non-terminal (/dev/null)" rep_has '^fd0 notty$'
check "stdin closed: the job's stdout is a terminal (its own)" rep_has '^fd1 tty rdev='

# --- 4. no fd is a terminal, but oidcctl has a controlling terminal: the job has none
new_token
rm -f "$REP"
pty -- sh -c "exec $RUN --token-file $T -- $PROBE $REP </dev/null >/dev/null 2>&1"
probe_checks "no terminal fd"
check "no terminal fd: the job's fds 0-2 are passed as they are" \
    sh -c "[ \$(grep -c '^fd[012] notty\$' '$REP') = 3 ]"
check "no terminal fd: the job has no controlling terminal (/dev/tty: ENXIO)" \
    rep_has '^devtty error ENXIO$'

# --- the relay
new_token
pty -- $RUN --token-file "$T" -- sh -c 'echo PTYRUN-CHECK; sleep 1; exit 7'
check "relay: the caller's terminal is in raw mode while the job runs" \
    err_has '^ptyrun: mode at check: raw$'
check "relay: the mode is restored when the job ends" err_has '^ptyrun: mode restored: yes$'
check "relay: the job's exit status is oidcctl run's (7, got $RC)" [ "$RC" = 7 ]

new_token
pty -w 33x111 -W 44x122 -- $RUN --token-file "$T" -- \
    sh -c 'stty size; trap "stty size; kill \$!; exit 0" WINCH; echo PTYRUN-WINCH; sleep 20 & wait'
check "relay: the window size is passed on at the start" out_has '^33 111$'
check "relay: and on SIGWINCH" out_has '^44 122$'
check "relay: the job ended after SIGWINCH (exit $RC)" [ "$RC" = 0 ]

new_token
pty -k "$(printf '\003')" -- $RUN --token-file "$T" -- sh -c 'echo PTYRUN-TYPE; sleep 20'
check "relay: ^C typed by root interrupts the job through its terminal (exit 130, got $RC)" \
    [ "$RC" = 130 ]
check "relay: the mode is restored after ^C" err_has '^ptyrun: mode restored: yes$'

new_token
pty -k "$(printf 'line\r\004')" -- $RUN --token-file "$T" -- \
    sh -c 'echo PTYRUN-TYPE; n=$(wc -l); echo "CAT-DONE lines=$n"'
check "relay: ^D typed by root is end of file for the job" out_has '^CAT-DONE lines=1$'
check "relay: the job ended at end of file (exit $RC)" [ "$RC" = 0 ]

new_token
pty -s 15 -- $RUN --token-file "$T" -- sh -c 'echo PTYRUN-SIGNAL; sleep 20'
check "relay: SIGTERM to oidcctl run reaches the job (exit 143, got $RC)" [ "$RC" = 143 ]
check "relay: the mode is restored after SIGTERM" err_has '^ptyrun: mode restored: yes$'

new_token
start=$(date +%s)
pty -H -- $RUN --token-file "$T" -- sh -c 'echo PTYRUN-HANGUP; sleep 20'
took=$(($(date +%s) - start))
check "relay: a hangup of the caller's terminal ends the job (SIGHUP, exit 129, got $RC)" \
    [ "$RC" = 129 ]
check "relay: and oidcctl run at once (took $took s)" [ "$took" -le 10 ]

# --- 2. 50 runs in a row on a terminal: all succeed (no setsid/setpgid race, no exit 126)
i=0
: >"$WORK/tokens"
while [ $i -lt 50 ]; do
    i=$((i + 1))
    new_token
    cp "$T" "$WORK/tok.$i"
done
pty -T 300 -- sh -c "ok=0; i=0; while [ \$i -lt 50 ]; do i=\$((i + 1)); $RUN --token-file $WORK/tok.\$i -- true && ok=\$((ok + 1)) || echo \"RUN \$i FAILED: \$?\"; done; echo \"RESULT ok=\$ok\""
check "50 runs on a terminal: 50 succeed ($(tr -d '\r' <"$PT_OUT" | grep -c FAILED) failed)" \
    out_has '^RESULT ok=50$'
out_has '^RESULT ok=50$' || tr -d '\r' <"$PT_OUT" | grep -E 'FAILED|oidcctl' | sort | uniq -c | head

finish
