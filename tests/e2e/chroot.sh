#!/bin/sh
# The sandbox (lib.sh) inside a chroot, where / is not a mount point and
# `unshare --mount --propagation private` fails with "cannot change root filesystem propagation".
# The test makes minimal chroots in a private mount namespace of its own: a tmpfs, made shared
# like a host's / under systemd, holds each chroot directory (a subdirectory, so the chroot's / is
# not a mount point), with bind mounts of /usr, /etc, /dev, /proc and the tree, the usrmerge
# symlinks and fresh tmpfs on /tmp and /run, all made shared too, and a second tmpfs stacked on
# /dev/shm (a mount hidden under another one, as /dev/pts often is). In the first chroot,
# tests/e2e/ssh-token.sh runs unchanged (token logins through real sshd) and must:
#   - pass (lib.sh fell back to making every mount it can see private, and said so);
#   - leave the mount table outside the chroot exactly as it was: none of the sandbox's mounts
#     (the /etc and /dev overlays, the tmpfs on its work directory and /run, its /proc) and none of
#     its unmounts (the copy of /dev with the hidden /dev/shm it unmounts at the end) propagated.
# A chroot whose /tmp is a plain directory on the chroot's root mount: lib.sh refuses (77) rather
# than mount there, naming /tmp. A chroot with a shared mount stacked directly on its root mount
# (which no path reaches, so it cannot be made private): refused (77), naming it.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespace, chroot)"; exit 77; }
for t in unshare chroot mountpoint findmnt; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed"; exit 77; }
done
if [ -z "${CHROOT_TEST_NS:-}" ]; then
    CHROOT_TEST_NS=1
    export CHROOT_TEST_NS top_srcdir top_builddir
    case $0 in /*) _self=$0 ;; *) _self=$(pwd)/$0 ;; esac
    exec unshare --mount --propagation private /bin/sh "$_self" "$@"
fi
. "$top_srcdir/tests/integration/results.sh"
# the tree, the build and the IdP's Node modules must be visible at the same paths in the chroot
TOP=/$(printf '%s' "$top_srcdir" | cut -d/ -f2)
case $TOP in /tmp | /run | /dev | /proc) echo "SKIP: the tree is under $TOP, which the chroot gets fresh"; exit 77 ;; esac
for d in "$top_builddir" "${IDP_NODE_MODULES:-$top_srcdir/tests/idp}"; do
    case $d in "$TOP"/*) ;; *) echo "SKIP: $d is not under $TOP, which the chroot binds"; exit 77 ;; esac
done

C=$(mktemp -d /tmp/oidc-chroot.XXXXXX)
trap 'umount -R "$C" 2>/dev/null; rm -rf "$C"' EXIT
mount -t tmpfs -o mode=0755 chroot-holder "$C" || exit 99
mount --make-shared "$C"

# make_chroot ROOT TMP(yes|no) STACK(shm|run): a chroot in ROOT, with a tmpfs on /tmp or not, and a
# second tmpfs stacked on /dev/shm (inside the /dev bind) or on /run (directly on the root mount)
make_chroot() {
    R=$1
    mkdir -p "$R"
    for d in usr etc dev proc tmp run var "$TOP"; do mkdir -p "$R/$d"; done
    for l in bin lib lib32 lib64 libx32 sbin; do [ -L "/$l" ] && ln -s "$(readlink "/$l")" "$R/$l"; done
    mount --bind /usr "$R/usr" && mount --bind /etc "$R/etc" && mount --rbind /dev "$R/dev" &&
        mount --rbind /proc "$R/proc" && mount --rbind "$TOP" "$R$TOP" &&
        mount -t tmpfs -o mode=0755 chroot-run "$R/run" || return 1
    chmod 1777 "$R/tmp"
    if [ "$2" = yes ]; then mount -t tmpfs -o mode=1777 chroot-tmp "$R/tmp" || return 1; fi
    for d in usr etc dev proc run tmp "$TOP"; do
        mountpoint -q "$R/$d" && { mount --make-rshared "$R/$d" || return 1; }
    done
    # the stacked mount, shared as well (after the lower one was made shared above)
    case $3 in
    shm) mount -t tmpfs -o mode=1777 chroot-shm "$R/dev/shm" && mount --make-shared "$R/dev/shm" ;;
    run) mount -t tmpfs -o mode=0755 chroot-run2 "$R/run" && mount --make-shared "$R/run" ;;
    esac
}
mounts() { findmnt -rn -o TARGET,FSTYPE,SOURCE | grep -F "$C/" | sort; }
# same_mounts NAME BEFORE: the mount table under $C is BEFORE, or the lines that differ
same_mounts() {
    _now=$(mounts)
    if [ "$_now" = "$2" ]; then
        ok "$1"
    else
        not_ok "$1: $(printf '%s\n' "$2" >"$C.before"; printf '%s\n' "$_now" | diff "$C.before" - | grep '^[<>]' | head -n 6 | tr '\n' ' ')"
        rm -f "$C.before"
    fi
}
# in_chroot ROOT SCRIPT: runs a tests/e2e script in the chroot ROOT with a clean environment; sets
# $OUT and $RC
in_chroot() {
    OUT=$(chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin IDP_NODE_MODULES="${IDP_NODE_MODULES:-}" \
        top_srcdir="$top_srcdir" top_builddir="$top_builddir" /bin/sh "$top_srcdir/tests/e2e/$2" 2>&1)
    RC=$?
}
out_has() { printf '%s\n' "$OUT" | grep -q -- "$1"; }

make_chroot "$C/root" yes shm || { echo "FAIL: cannot build the chroot"; exit 99; }
check "the chroot's / is not a mount point" sh -c "! chroot '$C/root' mountpoint -q /"
e=$(chroot "$C/root" unshare --mount --propagation private true 2>&1)
check "plain unshare --propagation private fails there ($e)" \
    sh -c 'printf "%s" "$1" | grep -q "cannot change root filesystem propagation"' sh "$e"
before=$(mounts)
check "the chroot's /dev/shm holds stacked mounts" [ "$(printf '%s\n' "$before" | grep -c "^$C/root/dev/shm ")" -ge 2 ]
in_chroot "$C/root" ssh-token.sh
check "tests/e2e/ssh-token.sh passes inside the chroot (exit $RC: $(printf '%s\n' "$OUT" | grep -E '^(FAIL|SKIP)|^e2e harness|^unshare' | head -n 3 | tr '\n' ' '))" \
    [ "$RC" = 0 ]
check "lib.sh said why it fell back" out_has '/ is not a mount point (chroot or container)'
same_mounts "no mount or unmount of the sandbox propagated out of the chroot" "$before"

make_chroot "$C/bare" no shm || { echo "FAIL: cannot build the second chroot"; exit 99; }
before=$(mounts)
in_chroot "$C/bare" ssh-token.sh
check "a chroot with /tmp on its root mount: the sandbox refuses (77), naming /tmp (exit $RC: $(printf '%s\n' "$OUT" | grep '^SKIP' | head -n 1))" \
    sh -c '[ "$1" = 77 ] && printf "%s\n" "$2" | grep -q "^SKIP: / is not a mount point and /tmp is on it"' sh "$RC" "$OUT"
same_mounts "... and nothing propagated out" "$before"

make_chroot "$C/stack" yes run || { echo "FAIL: cannot build the third chroot"; exit 99; }
before=$(mounts)
in_chroot "$C/stack" ssh-token.sh
check "a chroot with a shared mount hidden on its root mount: refused (77), naming /run (exit $RC: $(printf '%s\n' "$OUT" | grep '^SKIP' | head -n 1))" \
    sh -c '[ "$1" = 77 ] && printf "%s\n" "$2" | grep -q "^SKIP: / is not a mount point and these mounts stay shared .*: /run "' sh "$RC" "$OUT"
same_mounts "... and nothing propagated out" "$before"
finish
