#!/bin/sh
# Builds the RPM packages from a `make dist` tarball: tests/pkg/build-rpm.sh TARBALL OUTDIR
# rpmbuild -tb reads the configured spec inside the tarball (packaging/rpm/nss-pam-oidc.spec). On
# Debian (package rpm) the BuildRequires are Fedora names that rpm's database does not know, so
# --nodeps; find-debuginfo is missing there, so no debuginfo subpackages. Then checks that the
# three packages exist and hold the file split of debian/ (pam-oidc: the PAM module; nss-oidc: the
# NSS module; oidcctl: the tool, the oidc-run service, the units).
set -eu
[ $# = 2 ] || { echo "usage: $0 TARBALL OUTDIR" >&2; exit 2; }
TARBALL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
rm -rf "$OUT/rpmbuild"
mkdir -p "$OUT/rpmbuild"
extra=
[ -f /etc/debian_version ] && extra="--nodeps"
# shellcheck disable=SC2086
rpmbuild -tb $extra --define "_topdir $OUT/rpmbuild" --define 'debug_package %{nil}' \
    --define "_smp_mflags -j${JOBS:-2}" "$TARBALL"
fail=0
for p in pam-oidc nss-oidc oidcctl; do
    rpm=$(ls "$OUT"/rpmbuild/RPMS/*/"$p"-[0-9]*.rpm 2>/dev/null | head -n 1)
    [ -n "$rpm" ] || { echo "FAIL no $p package"; fail=1; continue; }
    rpm -qlp "$rpm" >"$OUT/$p.files"
    echo "$rpm:"
    sed 's/^/    /' "$OUT/$p.files"
done
has() { grep -Eq "$2" "$OUT/$1.files" || { echo "FAIL $1 lacks $2"; fail=1; }; }
has pam-oidc '/security/pam_oidc\.so$'
has nss-oidc '/libnss_oidc\.so\.2$'
has oidcctl '/bin/oidcctl$'
has oidcctl '^/etc/pam\.d/oidc-run$'
has oidcctl '/oidcctl-prune\.timer$'
has oidcctl '/tmpfiles\.d/nss-pam-oidc\.conf$'
[ "$fail" = 0 ] && echo "build-rpm: pam-oidc, nss-oidc and oidcctl built"
exit "$fail"
