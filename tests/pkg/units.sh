#!/bin/sh
# The systemd units and the tmpfiles.d entry as this build configured them
# (packaging/systemd/*.in, installed by make install):
#   - `systemd-analyze verify` accepts oidcctl-prune.service and .timer with no warning at all
#     (unknown keys, a timer without its service, a bad ExecStart are all reported);
#   - the service runs `$(bindir)/oidcctl prune` and `systemd-analyze security --offline` rates it
#     at most 2.0 ("OK"; an unhardened oneshot rates 9.6, "UNSAFE"; --threshold counts tenths);
#   - the timer fires daily, persistently, and is installable (WantedBy=timers.target);
#   - `systemd-tmpfiles --create --root=DIR` makes the state directory root:root 0755, and puts a
#     directory that was 0700 or owned by someone else back to that.
# Skips (77) without systemd-analyze or systemd-tmpfiles (apt-get install systemd), or not as root.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/results.sh"
for t in systemd-analyze systemd-tmpfiles; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed (apt-get install systemd)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: systemd-tmpfiles --root must chown, so this test runs as root"; exit 77; }
SVC=$top_builddir/packaging/systemd/oidcctl-prune.service
TIMER=$top_srcdir/packaging/systemd/oidcctl-prune.timer
TMPF=$top_builddir/packaging/systemd/nss-pam-oidc.tmpfiles
[ -f "$SVC" ] && [ -f "$TMPF" ] || { echo "FAIL: $SVC or $TMPF not built (make)"; exit 1; }
WORK=$(mktemp -d /tmp/oidc-units.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# make-style variables of this build (bindir, statedir), from its Makefile
mkvar() {
    (
        for v in prefix exec_prefix localstatedir sysconfdir bindir statedir; do
            val=$(sed -n "s/^$v = //p" "$top_builddir/Makefile" | head -n 1)
            eval "$v=\"$val\""
        done
        eval "printf '%s\\n' \"\$$1\""
    )
}
BINDIR=$(mkvar bindir)
STATEDIR=$(mkvar statedir)

check "the service runs $BINDIR/oidcctl prune" grep -qx "ExecStart=$BINDIR/oidcctl prune" "$SVC"
check "the service may write $STATEDIR and nothing else" \
    sh -c "grep -qx 'ReadWritePaths=$STATEDIR' '$SVC' && grep -qx 'ProtectSystem=strict' '$SVC'"
check "the timer fires daily, catches up after downtime, is enabled by timers.target" \
    sh -c "grep -qx 'OnCalendar=daily' '$TIMER' && grep -qx 'Persistent=true' '$TIMER' &&
           grep -qx 'WantedBy=timers.target' '$TIMER'"

# verify: the same units, with ExecStart pointing at the built oidcctl (verify wants an existing,
# executable binary; the installed path is checked above)
mkdir -p "$WORK/units"
sed "s|^ExecStart=$BINDIR/oidcctl |ExecStart=$top_builddir/tools/oidcctl |" "$SVC" \
    >"$WORK/units/oidcctl-prune.service"
cp "$TIMER" "$WORK/units/oidcctl-prune.timer"
out=$(systemd-analyze verify --man=no "$WORK/units/oidcctl-prune.service" \
    "$WORK/units/oidcctl-prune.timer" 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
    ok "systemd-analyze verify: service and timer, no warning"
else
    not_ok "systemd-analyze verify (exit $rc): $out"
fi
out=$(systemd-analyze security --offline=yes --threshold=20 "$WORK/units/oidcctl-prune.service" 2>&1)
rc=$?
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for oidcctl-prune.service: \([0-9.]*\).*/\1/p')
if [ "$rc" = 0 ] && [ -n "$level" ]; then
    ok "systemd-analyze security: exposure $level, at most 2.0"
else
    not_ok "systemd-analyze security: exposure '${level:-?}' above 2.0 (exit $rc): $(printf '%s\n' "$out" | grep '✗' | head -n 8)"
fi

# tmpfiles: a fresh root, then a root where the directory exists with the wrong mode and owner
R=$WORK/root
mkdir -p "$R/usr/lib/tmpfiles.d" "$R/etc"
cp "$TMPF" "$R/usr/lib/tmpfiles.d/nss-pam-oidc.conf"
stat_of() { stat -c '%U:%G %a %F' "$R$STATEDIR" 2>&1; }
out=$(systemd-tmpfiles --create --root="$R" nss-pam-oidc.conf 2>&1)
check "systemd-tmpfiles --create makes $STATEDIR root:root 0755 (got: $(stat_of); $out)" \
    test "$(stat_of)" = "root:root 755 directory"
chmod 0700 "$R$STATEDIR"
chown 1:1 "$R$STATEDIR"
out=$(systemd-tmpfiles --create --root="$R" nss-pam-oidc.conf 2>&1)
check "systemd-tmpfiles --create repairs a 0700 daemon-owned $STATEDIR (got: $(stat_of); $out)" \
    test "$(stat_of)" = "root:root 755 directory"
finish
