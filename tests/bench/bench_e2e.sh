#!/bin/sh
# End-to-end figures (prints them; not a test): tests/bench/bench_e2e.sh BUILD_DIR [RUNS [JOBS]]
#
#  1. SSH device login, RUNS times (default 5): the stock ssh client through the real sshd and
#     pam_oidc.so against the bundled OP, driven by tests/e2e/ssh-device.exp with timestamps
#     (E2E_TIMES=1). The wall time is split into
#       - IdP time: the scripted approval (tests/idp/approve.mjs: a browser's five HTTP round trips
#         and the OP's page rendering and login) and the OP's polling interval where the module
#         must wait for it;
#       - module time: everything else, that is ssh start -> device prompt shown (key exchange,
#         sshd's NSS lookup through preauth, discovery, device authorization) plus Enter -> the
#         remote command's first output (token poll, ID token verification, mapping, cache write,
#         account and session phases, the shell starting).
#  2. Token logins through `oidcctl run -- true` with warm caches, JOBS times (default 100), in
#     two shapes: the CI shape of tests/e2e (ephemeral per-run user, replay protection, one fresh
#     token per run) and a long-lived batch user (the same token again, replay protection off:
#     the cache is not rewritten). Reports logins per second and the HTTP requests each login
#     makes, counted by the issuer itself (the mini issuer's /stats counters before and after).
#
# Runs inside the same private namespace as the e2e tests (tests/e2e/lib.sh): needs root, sshd,
# expect and the IdP's Node modules; exits 77 without them.
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [RUNS [JOBS]]" >&2; exit 2; }
if [ -z "${E2E_IN_NS:-}" ]; then
    top_builddir=$(cd "$1" && pwd) || exit 2
    export top_builddir
fi
RUNS=${2:-5}
JOBS=${3:-100}
E2E_NEED_MODULES=1
. "$(cd "$(dirname "$0")/../e2e" && pwd)/lib.sh"
e2e_setup
e2e_start_sshd
ms() { date +%s%3N; }
# median of the numbers on standard input
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
INTERVAL=$(sed -n 's/^IDP_DEVICE_INTERVAL=//p' "$IDP/op.env" 2>/dev/null)
: "${INTERVAL:=1}"

echo "== SSH device login (alice, first login then repeat logins; OP polling interval ${INTERVAL} s; $RUNS runs)"
printf '%-4s %8s %10s %10s %10s %12s %10s %10s\n' run total 'ssh->prmpt' approval 'Enter->out' 'poll wait' 'IdP time' module
: >"$WORK/bench-device"
i=0
while [ "$i" -lt "$RUNS" ]; do
    i=$((i + 1))
    E2E_TIMES=1
    e2e_ssh alice 'true' --user alice --password alice-pw
    E2E_TIMES=
    if [ "$RC" != 0 ]; then
        echo "run $i: the login failed (exit $RC)"
        show_tail
        exit 1
    fi
    t() { sed -n "s/^E2E-T $1 //p" "$OUT.clean" | head -n 1; }
    start=$(t start) prompt=$(t prompt) a0=$(t approve-start) a1=$(t approve-end) enter=$(t enter)
    output=$(t output) end=$(t end)
    # The module polls as soon as the interval since the device authorization (just before the
    # prompt) allows; when the approval and Enter came sooner, the difference is a wait for the
    # IdP's interval, not the module's work.
    wait_ms=$((prompt + INTERVAL * 1000 - enter))
    [ "$wait_ms" -gt 0 ] || wait_ms=0
    total=$((output - start))
    idp=$((a1 - a0 + wait_ms))
    module=$((prompt - start + output - enter - wait_ms))
    printf '%-4s %6s ms %7s ms %7s ms %7s ms %9s ms %7s ms %7s ms\n' "$i" "$total" $((prompt - start)) \
        $((a1 - a0)) $((output - enter)) "$wait_ms" "$idp" "$module"
    printf '%s %s %s %s %s %s\n' "$total" $((prompt - start)) $((a1 - a0)) $((output - enter)) "$idp" "$module" \
        >>"$WORK/bench-device"
done
col() { awk -v c="$1" '{ print $c }' "$WORK/bench-device" | median; }
printf 'median: total %s ms = IdP %s ms + module %s ms (ssh start -> prompt %s ms, Enter -> output %s ms, approval %s ms)\n' \
    "$(col 1)" "$(col 5)" "$(col 6)" "$(col 2)" "$(col 4)" "$(col 3)"
echo "(total = ssh start -> the remote command's output; the person's reading and typing time is not in it: Enter is pressed as soon as the approval script returns)"

stats() { curl -s --cacert "$IDP/ca.pem" "$MINI_URL/stats"; }
http_total() { stats | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.discovery+j.jwks+j.other)})'; }
claims() { printf '{"repository":"org/app","repository_owner":"org","ref":"refs/heads/main","run_id":"%s"}' "$1"; }

# bench_run LABEL TOKEN-FILES...: oidcctl run -- true once per file, timed; HTTP requests counted
bench_run() {
    _label=$1
    shift
    _n=$#
    _h0=$(http_total)
    _t0=$(ms)
    _fail=0
    for _f in "$@"; do
        "$OIDCCTL" run --config "$E2E_CONF" --token-file "$_f" -- /bin/true >/dev/null 2>&1 || _fail=$((_fail + 1))
    done
    _t1=$(ms)
    _h1=$(http_total)
    _el=$((_t1 - _t0))
    printf '%s: %d logins in %d ms: %s logins/s, %s ms each; HTTP requests to the issuer: %d (%s per login); failed: %d\n' \
        "$_label" "$_n" "$_el" "$(awk -v n="$_n" -v t="$_el" 'BEGIN { printf "%.0f", n * 1000 / t }')" \
        "$(awk -v n="$_n" -v t="$_el" 'BEGIN { printf "%.1f", t / n }')" $((_h1 - _h0)) \
        "$(awk -v n="$_n" -v h="$((_h1 - _h0))" 'BEGIN { printf "%.2f", h / n }')" "$_fail"
}

echo
echo "== Token logins through oidcctl run -- true (warm discovery and JWKS caches; $JOBS logins each)"
mkdir -p "$WORK/toks"
# warm-up: the first login fetches discovery and the JWKS (and is not counted)
mint --claims "$(claims 0)" >"$WORK/toks/warm"
w0=$(http_total)
"$OIDCCTL" run --config "$E2E_CONF" --token-file "$WORK/toks/warm" -- /bin/true ||
    e2e_die "the warm-up login failed"
echo "warm-up login (cold caches): $(($(http_total) - w0)) HTTP requests; the issuer's counters since it started: $(stats | tr -d '\n')"
# one fresh token per run (replay protection): minted before the clock starts
j=0
set --
while [ "$j" -lt "$JOBS" ]; do
    j=$((j + 1))
    set -- "$@" "$WORK/toks/t$j"
done
node -e '
const { execFileSync } = require("child_process");
const [mint, state, n, dir] = process.argv.slice(1);
for (let i = 1; i <= Number(n); i++) {
  const c = JSON.stringify({repository:"org/app",repository_owner:"org",ref:"refs/heads/main",run_id:String(1000+i)});
  require("fs").writeFileSync(`${dir}/t${i}`, execFileSync("node", [mint, "--state", state, "--claims", c]));
}' "$IDP_DIR/mint.mjs" "$IDP" "$JOBS" "$WORK/toks" || e2e_die "minting failed"
bench_run "CI shape (ephemeral job-{run_id}, replay protection, a fresh token each)" "$@"

# a long-lived batch user: the same token each time (replay protection off), the cache entry
# already exists and is not rewritten
sed -i 's/^replay_protection = yes$/replay_protection = no/; s/^ephemeral = yes$/ephemeral = no/' "$E2E_CONF"
mint --claims "$(claims 7)" --exp-in 3600 >"$WORK/toks/same"
"$OIDCCTL" run --config "$E2E_CONF" --token-file "$WORK/toks/same" -- /bin/true || e2e_die "the batch-user login failed"
c1=$(e2e_cache_stat)
j=0
set --
while [ "$j" -lt "$JOBS" ]; do
    j=$((j + 1))
    set -- "$@" "$WORK/toks/same"
done
bench_run "long-lived user (job-7 cached, same token, no replay check)" "$@"
if [ "$(e2e_cache_stat)" = "$c1" ]; then
    echo "(the identity cache was not rewritten by these $JOBS logins)"
else
    echo "(the identity cache WAS rewritten during these logins)"
fi
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); OpenSSH $(ssh -V 2>&1 | cut -d, -f1)"
