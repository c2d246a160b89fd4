#!/bin/sh
# Builds the Debian packages from this tree: tests/pkg/build-deb.sh OUTDIR
# Copies the tree (the files git knows and the untracked ones it does not ignore; everything but
# build directories when it is not a git checkout) to OUTDIR/nss-pam-oidc-VERSION, runs
# `dpkg-buildpackage -us -uc -b` there (so the .deb files land in OUTDIR, outside the tree), then
# lintian on the result: exit 1 on a lintian error, warnings are printed. Writes OUTDIR/lintian.txt.
set -eu
[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
VERSION=$(sed -n 's/^AC_INIT(\[nss-pam-oidc\], \[\([^]]*\)\].*/\1/p' "$ROOT/configure.ac")
[ -n "$VERSION" ] || { echo "build-deb: no version in configure.ac" >&2; exit 1; }
SRC=$OUT/nss-pam-oidc-$VERSION
rm -rf "$SRC" "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$SRC")
else
    (cd "$ROOT" && tar -cf - --exclude='./build*' --exclude=./tests/idp/node_modules .) | (cd "$SRC" && tar -xf -)
fi
(cd "$SRC" && dpkg-buildpackage -us -uc -b -j"${JOBS:-2}")
ls -l "$OUT"/*.deb
changes=$(ls "$OUT"/nss-pam-oidc_"$VERSION"_*.changes)
lintian --no-tag-display-limit --info "$changes" >"$OUT/lintian.txt" 2>&1 || true
cat "$OUT/lintian.txt"
if grep -q '^E: ' "$OUT/lintian.txt"; then
    echo "build-deb: lintian reports errors" >&2
    exit 1
fi
echo "build-deb: $(grep -c '^W: ' "$OUT/lintian.txt" || true) lintian warning(s), no errors"
