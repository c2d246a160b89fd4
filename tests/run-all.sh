#!/bin/sh
# The whole test suite, as CI runs it: dependencies, then gcc and clang builds with -Werror and
# `make check` (unit tests and integration tests against the bundled IdP), a libFuzzer smoke run
# of every parser, unit tests under ASan+UBSan and under valgrind, `make distcheck`, the Debian
# packages (built, installed, used for a device and a token login over sshd, purged: tests/pkg/)
# and the RPMs, scan-build, the clang-format check, the end-to-end tests (real sshd, ssh, sudo in
# a sandbox), the benchmarks, and a check that the build left no untracked files. Exit 0 only if
# every stage passed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JOBS=$(nproc 2>/dev/null || echo 2)
LOGDIR=$ROOT/build-logs
PASSED=0
FAILED=0
FAILED_NAMES=

tests/install-deps.sh || { echo "run-all: installing dependencies failed"; exit 1; }
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || { echo "run-all: autogen.sh failed"; exit 1; }
mkdir -p "$LOGDIR"
export IDP_NODE_MODULES="$ROOT/tests/idp" # lets copies of the tree (distcheck) reach the IdP's modules

# stage NAME CMD...: runs CMD with its output in build-logs/NAME.log; prints the tail on failure.
stage() {
    name=$1
    shift
    start=$(date +%s)
    if "$@" >"$LOGDIR/$name.log" 2>&1; then
        PASSED=$((PASSED + 1))
        echo "ok   - $name ($(($(date +%s) - start)) s)"
    else
        FAILED=$((FAILED + 1))
        FAILED_NAMES="$FAILED_NAMES $name"
        echo "FAIL - $name ($(($(date +%s) - start)) s); last lines of build-logs/$name.log:"
        tail -n 40 "$LOGDIR/$name.log" | sed 's/^/    /'
    fi
}

# build DIR CONFIGURE-ARGS...: a fresh out-of-tree build
build() {
    dir=$1
    shift
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" && "$ROOT/configure" "$@" && make -j"$JOBS"
}

check_in() {
    cd "$1" && make -j"$JOBS" check
    rc=$?
    cat tests/unit/*.log tests/integration/*.log tests/nss/*.log tests/pam/*.log 2>/dev/null | grep -E '^(ok|FAIL|not ok) |passed|PASSED|FAILED' | tail -n 200
    return $rc
}

unit_under_valgrind() {
    cd "$ROOT/build-gcc" || return 1
    top_srcdir=$ROOT top_builddir=$ROOT/build-gcc
    # RSA key generation under valgrind takes minutes: the tests take pre-made keys in turn
    TG_KEY_DIR=$ROOT/build-gcc/tg-keys
    export top_srcdir top_builddir TG_KEY_DIR
    mkdir -p "$TG_KEY_DIR" || return 1
    for i in 1 2 3 4 5 6 7 8; do
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TG_KEY_DIR/rsa2048-$i.pem" 2>/dev/null || return 1
    done
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$TG_KEY_DIR/rsa1024-1.pem" 2>/dev/null || return 1
    # in parallel, one test a core; a test's valgrind report is printed when it fails
    for t in tests/unit/test_* tests/nss/test_nss_reader; do
        case $t in *.o | *.log | *.trs | *.vg) continue ;; esac
        [ -x "$t" ] && echo "$t"
    done | xargs -P "$JOBS" -I{} sh -c '
        start=$(date +%s)
        if valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=1 "$1" >/dev/null 2>"$1.vg"; then
            echo "valgrind $1: clean ($(($(date +%s) - start)) s)"
        else
            echo "valgrind $1: FAILED"; cat "$1.vg"; exit 1
        fi' sh {}
}

# packages: the .deb files built once (tests/pkg/build-deb.sh, lintian clean), installed, enabled,
# used for a device and a token login and purged in a throw-away root (tests/pkg/install.sh), and
# the RPMs from a `make dist` tarball (tests/pkg/build-rpm.sh), all in build-pkg/. The units and the
# tmpfiles entry (tests/pkg/units.sh) run in `make check`.
packages() {
    out=$ROOT/build-pkg
    rm -rf "$out" && mkdir -p "$out" || return 1
    rc=0
    t=$(date +%s)
    if JOBS=$JOBS "$ROOT/tests/pkg/build-deb.sh" "$out/deb"; then
        echo "packages: .deb build and lintian: $(($(date +%s) - t)) s"
        t=$(date +%s)
        "$ROOT/tests/pkg/install.sh" "$out/deb"
        r=$?
        echo "packages: install test: exit $r, $(($(date +%s) - t)) s"
        case $r in 0) ;; 77) echo "packages: tests/pkg/install.sh skipped (see above)" ;; *) rc=1 ;; esac
    else
        echo "packages: tests/pkg/build-deb.sh failed"
        rc=1
    fi
    t=$(date +%s)
    version=$(sed -n 's/^AC_INIT(\[nss-pam-oidc\], \[\([^]]*\)\].*/\1/p' "$ROOT/configure.ac")
    if (cd "$ROOT/build-gcc" && make dist >/dev/null) &&
        JOBS=$JOBS "$ROOT/tests/pkg/build-rpm.sh" "$ROOT/build-gcc/nss-pam-oidc-$version.tar.gz" "$out/rpm"; then
        echo "packages: RPM build: $(($(date +%s) - t)) s"
    else
        echo "packages: tests/pkg/build-rpm.sh failed"
        rc=1
    fi
    return $rc
}

format_check() {
    git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror
}

untracked_check() {
    [ -d .git ] || return 0
    left=$(git status --porcelain --untracked-files=all | grep -v '^ M\|^M ' || true)
    [ -z "$left" ] || { echo "the build left untracked files:"; echo "$left"; return 1; }
}

stage gcc-build build "$ROOT/build-gcc" CC=gcc --enable-werror
stage gcc-check check_in "$ROOT/build-gcc"
stage clang-build build "$ROOT/build-clang" CC=clang --enable-werror
stage clang-check check_in "$ROOT/build-clang"
stage fuzz-build build "$ROOT/build-fuzz" CC=clang --enable-fuzzing --enable-werror CFLAGS='-O1 -g'
stage fuzz-smoke "$ROOT/tests/fuzz-smoke.sh" "$ROOT/build-fuzz"
stage asan-ubsan-build build "$ROOT/build-asan" CC=gcc \
    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
    LDFLAGS="-fsanitize=address,undefined"
stage asan-ubsan-check env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    sh -c "cd '$ROOT/build-asan' && make -j$JOBS check"
stage valgrind-unit unit_under_valgrind
stage distcheck sh -c "cd '$ROOT/build-gcc' && make -j$JOBS distcheck"
stage packages packages
stage scan-build sh -c "rm -rf '$ROOT/build-scan' && mkdir -p '$ROOT/build-scan' && cd '$ROOT/build-scan' && scan-build -disable-checker deadcode.DeadStores -o '$ROOT/build-scan/report' --status-bugs '$ROOT/configure' >/dev/null && scan-build -disable-checker deadcode.DeadStores -o '$ROOT/build-scan/report' --status-bugs make -j$JOBS"
stage clang-format format_check
stage e2e "$ROOT/tests/e2e/run.sh" "$ROOT/build-gcc"
B="cd '$ROOT/build-gcc' && top_srcdir='$ROOT' top_builddir='$ROOT/build-gcc'"
stage bench-jwt sh -c "$B && make tests/bench/bench_jwt >/dev/null && tests/bench/bench_jwt"
stage bench-nss sh -c "$B && make tests/bench/bench_nss >/dev/null && tests/bench/bench_nss"
stage bench-cache sh -c "$B && make tests/bench/bench_cache >/dev/null && tests/bench/bench_cache"
stage bench-fleet sh -c "$B && make tests/bench/fleet_sim >/dev/null && tests/bench/fleet_sim"
stage bench-pam sh -c "$B && make tests/bench/bench_pam >/dev/null && sh '$ROOT/tests/pam/bench.sh' 200 5"
stage untracked-files untracked_check

for b in jwt nss cache pam fleet; do
    echo
    echo "benchmark figures (build-logs/bench-$b.log):"
    sed 's/^/    /' "$LOGDIR/bench-$b.log"
done
echo
[ "$FAILED" = 0 ] || echo "failed stages:$FAILED_NAMES"
echo "stages: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
