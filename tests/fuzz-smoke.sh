#!/bin/sh
# Fuzz smoke run (STYLE.md rule 21): replays each target's seed corpus, then fuzzes each target
# for FUZZ_SECONDS (default 20) under ASan+UBSan, and fails on any crash, leak, sanitizer report
# or timeout. Builds nothing: give it a build directory configured with
#   CC=clang ./configure --enable-fuzzing && make
# Usage: tests/fuzz-smoke.sh BUILDDIR
# The seed corpora (fuzz/corpus/TARGET) are only read; inputs the run finds go to a scratch
# directory that is removed afterwards (FUZZ_KEEP=1 keeps it, and prints where).
set -eu

builddir=${1:?usage: $0 BUILDDIR (configured with CC=clang --enable-fuzzing and built)}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-20}
targets="fuzz_jwt fuzz_jwks fuzz_json fuzz_config fuzz_cache_rec"

for t in $targets; do
    if [ ! -x "$builddir/fuzz/$t" ]; then
        echo "fuzz-smoke: $builddir/fuzz/$t is missing (configure CC=clang --enable-fuzzing; make)" >&2
        exit 1
    fi
done

# UBSan findings abort (the objects are built with -fno-sanitize-recover=all as well); leaks fail.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX")
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
    echo "fuzz-smoke: scratch directory $scratch kept"
else
    trap 'rm -rf "$scratch"' EXIT
fi

fail=0
summary=
for t in $targets; do
    bin=$builddir/fuzz/$t
    seeds=$srcdir/fuzz/corpus/$t
    work=$scratch/$t
    mkdir -p "$work"
    # 1. Replay: every seed once (-runs=0 runs just the given inputs).
    if ! "$bin" -runs=0 "$seeds" >"$scratch/$t.replay.log" 2>&1; then
        echo "FAIL: $t: replaying $seeds" >&2
        tail -n 40 "$scratch/$t.replay.log" >&2
        fail=1
        continue
    fi
    # 2. Fuzz: new inputs go to the scratch directory (the first corpus directory), the seeds
    #    are read from the second. Crash reproducers land in the scratch directory too.
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$scratch/$t-" \
        "$work" "$seeds" >"$scratch/$t.log" 2>&1; then
        echo "FAIL: $t: fuzzing found a problem" >&2
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$scratch/$t.log" >&2 || true
        tail -n 60 "$scratch/$t.log" >&2
        if [ "${FUZZ_KEEP:-0}" != 1 ]; then
            mkdir -p "$builddir/fuzz/artifacts"
            cp "$scratch/$t-"* "$builddir/fuzz/artifacts/" 2>/dev/null || true
            echo "fuzz-smoke: reproducers copied to $builddir/fuzz/artifacts/" >&2
        fi
        fail=1
        continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log" | tail -n 1)
    secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$scratch/$t.log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+' "$scratch/$t.log" | tail -n 1)
    line=$(printf '%-16s %8s exec/s  %9s runs  %s' "$t" "${secs:-?}" "${runs:-?}" "${cov:-}")
    echo "ok: $line"
    summary="$summary$line
"
done

printf '\nfuzz-smoke: %s s per target\n%s' "$seconds" "$summary"
if [ "$fail" != 0 ]; then
    echo "fuzz-smoke: FAILED" >&2
    exit 1
fi
echo "fuzz-smoke: all targets clean"
