#!/bin/sh
# Real glibc resolution through the built libnss_oidc.so.2: getent passwd/group/initgroups, id,
# enumeration, and the sshd-only provisional entry. Inside `unshare --mount`: an nsswitch.conf with
# `passwd: files oidc` / `group: files oidc` is bind-mounted over /etc/nsswitch.conf, a fixture
# cache over the module's state directory (an overlay provides the directory when it does not
# exist, so the real file system is never written), and the module is found through
# LD_LIBRARY_PATH. Needs root (mount namespaces); exits 77 without it.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
SO=$top_builddir/nss/.libs/libnss_oidc.so.2
MKCACHE=$top_builddir/tests/nss/mkcache

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root for a private mount namespace"
    exit 77
fi
if [ -z "${OIDC_NSS_IN_NS:-}" ]; then
    unshare --mount true 2>/dev/null || { echo "SKIP: unshare --mount is not permitted here"; exit 77; }
    [ -f "$SO" ] && [ -x "$MKCACHE" ] || { echo "FAIL - the module or mkcache is not built"; exit 1; }
    OIDC_NSS_IN_NS=1 exec unshare --mount "$0" "$@"
fi

# ---------------------------------------------------------------- inside the namespace
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
WORK=$(mktemp -d /tmp/oidc-nss-getent.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mount --make-rprivate / || { echo "FAIL - cannot make / private"; exit 1; }

CACHE=$("$MKCACHE" path)
STATE=$(dirname "$CACHE")
mkdir -p "$WORK/state" "$WORK/lib" "$WORK/bin" "$WORK/up" "$WORK/wk"
# The module's state directory: bind over it when it exists; otherwise an overlay on its nearest
# existing ancestor (writes go to $WORK/up) lets us create it without touching the real tree.
if [ ! -d "$STATE" ]; then
    anc=$STATE
    while [ ! -d "$anc" ]; do anc=$(dirname "$anc"); done
    case $anc in
    / | /usr | /var | /etc | /tmp) echo "SKIP: would overlay $anc"; exit 77 ;;
    esac
    mount -t overlay overlay -o "lowerdir=$anc,upperdir=$WORK/up,workdir=$WORK/wk" "$anc" ||
        { echo "SKIP: overlayfs is not available"; exit 77; }
    mkdir -p "$STATE"
fi
mount --bind "$WORK/state" "$STATE" || { echo "FAIL - cannot bind the state directory"; exit 1; }
printf 'passwd: files oidc\ngroup: files oidc\nshadow: files\n' >"$WORK/nsswitch.conf"
mount --bind "$WORK/nsswitch.conf" /etc/nsswitch.conf || { echo "FAIL - cannot bind nsswitch.conf"; exit 1; }
cp "$SO" "$WORK/lib/libnss_oidc.so.2"
LD_LIBRARY_PATH=$WORK/lib
export LD_LIBRARY_PATH
# A sanitizer build of the module needs its runtime loaded first into the (uninstrumented) tools.
sanitizers=$(ldd "$SO" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ {print $3}' | tr '\n' ':')
if [ -n "$sanitizers" ]; then
    LD_PRELOAD=$sanitizers
    ASAN_OPTIONS=detect_leaks=0:${ASAN_OPTIONS:-}
    export LD_PRELOAD ASAN_OPTIONS
fi
unset _OIDC_NSS_LOOPS
LC_ALL=C
export LC_ALL

"$MKCACHE" basic "$CACHE" v1 || { echo "FAIL - cannot write the fixture"; exit 1; }

# expect NAME WANTED-EXIT WANTED-OUTPUT CMD...
expect() {
    name=$1 code=$2 want=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$code" ] && [ "$out" = "$want" ]; then
        ok "$name"
    else
        not_ok "$name (exit $rc, wanted $code)"
        printf '    got:    %s\n    wanted: %s\n' "$out" "$want"
    fi
}

ALICE='alice:*:2000001:2000001:Alice Example v1:/home/alice:/bin/bash'
L32=longname_0123456789abcdefghijklm
expect "getent passwd alice" 0 "$ALICE" getent passwd alice
expect "getent passwd 2000001" 0 "$ALICE" getent passwd 2000001
expect "getent passwd bob (expires in 2100)" 0 'bob:*:2000002:2000002:Bob v1:/home/bob:/bin/sh' getent passwd bob
expect "getent group devs" 0 'devs:*:2100001:alice,bob,carol' getent group devs
expect "getent group 2100001" 0 'devs:*:2100001:alice,bob,carol' getent group 2100001
expect "getent group alice (private group)" 0 'alice:*:2000001:' getent group alice
expect "id alice" 0 "uid=2000001(alice) gid=2000001(alice) groups=2000001(alice),2100001(devs),2100002(ops),2100006($L32)" id alice
# getent initgroups asks with no primary group: the supplementary ones, gid 10 (below 1000) left out
expect "getent initgroups alice" 0 "$(printf '%-21s %s' alice '2100001 2100002 2100006')" getent initgroups alice
expect "getent passwd (32-byte name)" 0 "$L32:*:2000006:2000006:Long v1:/home/$L32:/bin/sh" getent passwd "$L32"
expect "getent passwd (33-byte name)" 2 "" getent passwd "${L32}n"
expect "expired user is not found" 2 "" getent passwd carol
expect "expired user's uid is not found" 2 "" getent passwd 2000003
expect "expired group is not found" 2 "" getent group oldgrp
expect "uid below 1000 is not answered" 2 "" getent passwd lowuid
expect "gid below 1000 is not answered" 2 "" getent group wheelish
expect "unknown user" 2 "" getent passwd nobody-here
expect "local users still come from files" 0 "$(grep '^root:' /etc/passwd)" getent passwd root
out=$(getent passwd | grep -c ':2000001:\|:2000002:\|^squatter:\|^longname_')
if [ "$out" = 4 ]; then ok "getent passwd enumerates the cached users"; else not_ok "getent passwd enumerated $out cached users, wanted 4"; fi
if getent group | grep -qx 'devs:\*:2100001:alice,bob,carol'; then ok "getent group enumerates the cached groups"; else not_ok "getent group enumeration"; fi
expect "recursion guard" 2 "" env _OIDC_NSS_LOOPS=NO getent passwd alice

# sshd, and only sshd, gets the provisional entry.
cp "$(command -v getent)" "$WORK/bin/sshd"
cp "$(command -v getent)" "$WORK/bin/sshd-session"
UID_CI=$("$MKCACHE" uid ci-builder 0x70000000 0x7FFFFFFE)
PROV="ci-builder:*:$UID_CI:$UID_CI:nss-pam-oidc provisional:/home/ci-builder:/bin/bash"
expect "sshd gets the provisional entry" 0 "$PROV" "$WORK/bin/sshd" passwd ci-builder
expect "sshd-session gets the provisional entry" 0 "$PROV" "$WORK/bin/sshd-session" passwd ci-builder
expect "getent does not get the provisional entry" 2 "" getent passwd ci-builder
expect "getent started as argv[0] 'sshd' does not get it (the executable decides)" 2 "" \
    bash -c 'exec -a sshd getent passwd ci-builder'
expect "the provisional uid does not resolve" 2 "" "$WORK/bin/sshd" passwd "$UID_CI"
expect "sshd: no provisional entry for a name no pattern allows" 2 "" "$WORK/bin/sshd" passwd someone
expect "sshd: no provisional entry when the uid is taken" 2 "" "$WORK/bin/sshd" passwd newsquat
expect "sshd: a cached name gets its real entry" 0 "$ALICE" "$WORK/bin/sshd" passwd alice
expect "sshd: no provisional entry for a local name" 0 "$(grep '^root:' /etc/passwd)" "$WORK/bin/sshd" passwd root

# Replacing the file is noticed: a new process, and a miss in a running one, see the new file.
"$MKCACHE" basic "$CACHE" v2
expect "replaced file is read" 0 'alice:*:2000001:2000001:Alice Example v2:/home/alice:/bin/bash' getent passwd alice
# A file without the lookup index (written before it existed): the hash tables answer the same.
MKCACHE_NO_INDEX=1 "$MKCACHE" basic "$CACHE" v1
expect "no index: getent passwd alice" 0 "$ALICE" getent passwd alice
expect "no index: getent passwd 2000001" 0 "$ALICE" getent passwd 2000001
expect "no index: getent group 2100001" 0 'devs:*:2100001:alice,bob,carol' getent group 2100001
expect "no index: getent group alice" 0 'alice:*:2000001:' getent group alice
expect "no index: id alice" 0 "uid=2000001(alice) gid=2000001(alice) groups=2000001(alice),2100001(devs),2100002(ops),2100006($L32)" id alice
expect "no index: unknown user" 2 "" getent passwd nobody-here
# Damaged and missing files: NOTFOUND/UNAVAIL (exit 2), never a crash; files still answer.
for how in empty truncated corrupt garbage badversion; do
    "$MKCACHE" damaged "$CACHE" "$how"
    expect "$how cache: alice not found" 2 "" getent passwd alice
    expect "$how cache: id alice fails cleanly" 1 "id: 'alice': no such user" id alice
    expect "$how cache: root still resolves" 0 "$(grep '^root:' /etc/passwd)" getent passwd root
done
rm -f "$CACHE"
expect "no cache file: alice not found" 2 "" getent passwd alice
expect "no cache file: group devs not found" 2 "" getent group devs

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
