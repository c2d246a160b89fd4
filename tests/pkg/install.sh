#!/bin/sh
# The Debian packages as an administrator uses them: tests/pkg/install.sh DEBDIR
# (DEBDIR: what tests/pkg/build-deb.sh DEBDIR made). In a throw-away root (lib.sh's private mount
# and PID namespaces, with overlays on /usr, /etc and /var and a tmpfs on /run, so dpkg, its
# database, the maintainer scripts and systemd's enable links write only there, and no systemd is
# seen running) it:
#   1. installs libpam-oidc, libnss-oidc and oidcctl with dpkg -i: the files land at the packaged
#      paths (/lib/MULTIARCH/security/pam_oidc.so, /lib/MULTIARCH/libnss_oidc.so.2,
#      /usr/bin/oidcctl, ...), the postinst adds "oidc" to the passwd and group lines of
#      /etc/nsswitch.conf, and nothing in /etc/pam.d changes but the new oidc-run service (the
#      pam-auth-update profile is off by default);
#   2. enables the profile with `pam-auth-update --enable oidc`, installs the packaged sshd
#      drop-in example as /etc/ssh/sshd_config.d/oidc.conf and starts a real sshd on 127.0.0.1
#      whose configuration enables PAM only through that drop-in, with Debian's own
#      /etc/pam.d/sshd (@include common-*);
#   3. writes /etc/nss-pam-oidc.conf (the packaged path: no config= anywhere) for the bundled IdP,
#      and logs alice in with the device flow through the stock ssh client (URL and code in the
#      prompt, approved at the IdP); `id` shows her published uid and claim groups, and getent
#      resolves her through the installed NSS module;
#   4. adds a second provider as /etc/nss-pam-oidc.conf.d/ci.conf and logs a CI job in with a
#      token (`oidcctl askpass`), the token's issuer picking the provider;
#   5. takes the installed pam_oidc.so away and sees the next token login refused, and the
#      installed libnss_oidc.so.2 away and sees getent stop resolving: the logins went through
#      the installed files and nothing else;
#   6. purges the three packages: /etc/nsswitch.conf and every file in /etc/pam.d have the bytes
#      they had before the install (checksums), the identity cache directory, the pam-auth-update
#      profile and the timer's enable link are gone.
# Outside the namespace, the machine's own /etc/pam.d, /etc/nsswitch.conf and dpkg database must
# be untouched. Exit 0 when every check passed, 1 when one failed (a failed step stops the test
# with its log), 77 when root, dpkg, the test IdP or sshd are missing or the packages are already
# installed on this machine.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
[ $# = 1 ] || { echo "usage: $0 DEBDIR (made by tests/pkg/build-deb.sh DEBDIR)" >&2; exit 2; }
DEBDIR=$(cd "$1" && pwd) || exit 2
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
PKGS="libpam-oidc libnss-oidc oidcctl"
# lib.sh (the e2e harness: the namespaces, the IdP, the ssh drivers) wants a build tree with
# oidcctl; that is the tree build-deb.sh built the packages in. Nothing of it runs here: oidcctl,
# the modules and the configuration are the installed ones.
VERSION=$(sed -n 's/^AC_INIT(\[nss-pam-oidc\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
top_builddir=$DEBDIR/nss-pam-oidc-$VERSION
export top_builddir
[ -x "$top_builddir/tools/oidcctl" ] ||
    { echo "$0: $top_builddir, where tests/pkg/build-deb.sh built the packages, is missing" >&2; exit 2; }

# the machine's files the test must not change: before, the test itself, after
host_fingerprint() {
    for f in /etc/nsswitch.conf /var/lib/dpkg/status $(find /etc/pam.d -mindepth 1 | sort); do
        if [ -f "$f" ]; then printf '%s %s\n' "$f" "$(cksum <"$f")"; else printf '%s\n' "$f"; fi
    done
}
if [ -z "${PKG_IN_TEST:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (dpkg -i in a private mount namespace)"; exit 77; }
    for t in dpkg dpkg-query pam-auth-update; do
        command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed (a Debian system)"; exit 77; }
    done
    for p in $PKGS; do
        if dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q ' installed$'; then
            echo "SKIP: $p is installed on this machine; the test installs and purges it itself"
            exit 77
        fi
    done
    before=$(mktemp) || exit 99
    host_fingerprint >"$before"
    PKG_IN_TEST=1 /bin/sh "$0" "$@"
    rc=$?
    if ! host_fingerprint | diff "$before" - >"$before.diff"; then
        echo "FAIL - the machine's own /etc/pam.d, /etc/nsswitch.conf or dpkg database changed:"
        grep '^[<>]' "$before.diff" | head -n 10
        rc=1
    fi
    rm -f "$before" "$before.diff"
    exit "$rc"
fi

OIDCCTL=/usr/bin/oidcctl
. "$top_srcdir/tests/e2e/lib.sh"

MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
PAM_SO=/lib/$MA/security/pam_oidc.so
NSS_SO=/lib/$MA/libnss_oidc.so.2
DEBS=
for p in $PKGS; do
    d=$(ls "$DEBDIR/${p}_${VERSION}_"*.deb 2>/dev/null | head -n 1)
    [ -n "$d" ] || { echo "FAIL - no ${p}_${VERSION}_*.deb in $DEBDIR (tests/pkg/build-deb.sh $DEBDIR)"; exit 1; }
    DEBS="$DEBS $d"
done

# step NAME CMD...: a step the rest depends on; on failure, its output and the end of the test
step() {
    _name=$1
    shift
    if "$@" >"$WORK/step.log" 2>&1; then
        ok "$_name"
    else
        not_ok "$_name (exit $?):"
        tail -n 25 "$WORK/step.log" | sed 's/^/    /'
        finish
        exit 1
    fi
}
# fingerprint: /etc/nsswitch.conf and every file in /etc/pam.d, one "PATH CHECKSUM" line each
fingerprint() {
    for f in /etc/nsswitch.conf $(find /etc/pam.d -mindepth 1 | sort); do
        if [ -L "$f" ]; then printf '%s -> %s\n' "$f" "$(readlink "$f")";
        elif [ -f "$f" ]; then printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)";
        else printf '%s (%s)\n' "$f" "$(stat -c %F "$f")"; fi
    done
}
# changed BEFORE: the paths whose line in the fingerprint differs from BEFORE (new, gone, changed)
changed() {
    printf '%s\n' "$1" >"$WORK/fp.before"
    fingerprint | diff "$WORK/fp.before" - | sed -n 's/^[<>] \([^ ]*\).*/\1/p' | sort -u
}
nss_line() { sed -n "s/^$1:[[:space:]]*//p" /etc/nsswitch.conf | head -n 1; }
has_word() { printf ' %s ' "$1" | grep -q "[[:space:]]$2[[:space:]]"; }

# ---------------------------------------------------------------- the throw-away root
for d in /lib /lib64 /bin /sbin; do
    [ -e "$d" ] && [ ! -L "$d" ] && e2e_skip "$d is not a link into /usr (merged /usr): the overlays would not cover it"
done
mount -t tmpfs -o mode=0755 pkg-work "$WORK" || e2e_die "cannot mount a tmpfs on $WORK"
for d in /etc /usr /var; do
    o=$WORK/ovl/$(printf '%s' "$d" | tr / _)
    mkdir -p "$o/up" "$o/work"
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$o/up,workdir=$o/work" "$d" ||
        e2e_skip "cannot mount an overlay on $d (overlayfs missing?)"
done
mount -t tmpfs -o mode=0755 pkg-run /run || e2e_die "cannot mount a tmpfs on /run"
mkdir -m 0755 /run/sshd
e2e_syslog
HOME=$WORK/root-home
mkdir -m 0700 "$HOME"
export HOME
# no man-db rebuild on every install (its trigger reads this flag)
rm -f /var/lib/man-db/auto-update

ORIG=$(fingerprint)
orig_passwd=$(nss_line passwd)
orig_group=$(nss_line group)
check "before: no oidc on the passwd/group lines of nsswitch.conf ($orig_passwd / $orig_group)" \
    sh -c '! printf "%s\n%s\n" "$1" "$2" | grep -qw oidc' sh "$orig_passwd" "$orig_group"

# ---------------------------------------------------------------- 1. install
# shellcheck disable=SC2086
step "dpkg -i$(for d in $DEBS; do printf ' %s' "$(basename "$d")"; done)" \
    env DEBIAN_FRONTEND=noninteractive dpkg -i $DEBS
for p in $PKGS; do
    check "$p is installed" sh -c "dpkg-query -W -f '\${Status}' $p | grep -qx 'install ok installed'"
done
for f in "$PAM_SO:libpam-oidc" "$NSS_SO:libnss-oidc" /usr/bin/oidcctl:oidcctl \
    /usr/share/pam-configs/oidc:libpam-oidc /etc/pam.d/oidc-run:oidcctl \
    /lib/systemd/system/oidcctl-prune.timer:oidcctl /usr/lib/tmpfiles.d/nss-pam-oidc.conf:oidcctl \
    /usr/share/man/man8/pam_oidc.8.gz:libpam-oidc /usr/share/man/man5/nss-pam-oidc.conf.5.gz:oidcctl; do
    check "${f%%:*} is there and belongs to ${f##*:}" \
        sh -c "[ -f '${f%%:*}' ] && dpkg -S '${f%%:*}' | grep -Eq '^${f##*:}(:[a-z0-9]+)?: '"
done
check "the state directory /var/lib/nss-pam-oidc exists, root:root 0755" \
    test "$(stat -c '%U:%G %a' /var/lib/nss-pam-oidc 2>&1)" = "root:root 755"
check "oidcctl-prune.timer is enabled (timers.target.wants link)" \
    test -L /etc/systemd/system/timers.target.wants/oidcctl-prune.timer
p=$(nss_line passwd) g=$(nss_line group)
check "the postinst added oidc to the passwd line ($p)" has_word "$p" oidc
check "the postinst added oidc to the group line ($g)" has_word "$g" oidc
check "... and kept what was there, oidc last" \
    test "$p|$g" = "$orig_passwd oidc|$orig_group oidc"
c=$(changed "$ORIG" | grep '^/etc/pam.d/' | grep -vx /etc/pam.d/oidc-run | tr '\n' ' ')
check "nothing in /etc/pam.d changed but the new oidc-run (the profile is off until enabled)${c:+: changed $c}" \
    test -z "$c"

# ---------------------------------------------------------------- 2. enable, sshd
step "pam-auth-update --enable oidc" pam-auth-update --enable oidc
for s in auth account session; do
    check "common-$s calls pam_oidc.so" grep -Eq "^${s}[[:space:]].*[[:space:]]pam_oidc\\.so" "/etc/pam.d/common-$s"
done
check "common-auth: pam_oidc.so flow=auto comes before pam_unix.so" \
    sh -c 'grep -n "pam_oidc.so\|pam_unix.so" /etc/pam.d/common-auth | head -n 1 | grep -q "pam_oidc.so flow=auto"'
c=$(changed "$ORIG" | grep -x /etc/pam.d/sshd)
check "/etc/pam.d/sshd is Debian's, unchanged, and includes common-auth" \
    sh -c '[ -z "$1" ] && grep -q "^@include common-auth" /etc/pam.d/sshd' sh "$c"

mkdir -p /etc/ssh/sshd_config.d
step "install the packaged sshd drop-in example" \
    cp /usr/share/doc/oidcctl/examples/sshd_config.d/oidc.conf /etc/ssh/sshd_config.d/oidc.conf
ssh-keygen -q -t ed25519 -N '' -C pkg-host -f /etc/ssh/pkg_host_ed25519_key || e2e_die "ssh-keygen failed"
# pkg_start_sshd: like e2e_start_sshd, but PAM and keyboard-interactive come from the drop-in
pkg_start_sshd() {
    for _try in 1 2 3; do
        SSHD_PORT=$(e2e_free_port)
        {
            printf 'Include /etc/ssh/sshd_config.d/oidc.conf\n'
            printf 'Port %s\nListenAddress 127.0.0.1\n' "$SSHD_PORT"
            printf 'HostKey /etc/ssh/pkg_host_ed25519_key\nPidFile %s\n' "$WORK/sshd.pid"
            printf 'PasswordAuthentication no\nPubkeyAuthentication no\nPermitRootLogin no\n'
            printf 'PrintMotd no\nPrintLastLog no\nMaxAuthTries 3\nLogLevel DEBUG1\nX11Forwarding no\n'
        } >/etc/ssh/sshd_config
        /usr/sbin/sshd -t -f /etc/ssh/sshd_config || return 1
        : >"$WORK/sshd.log"
        /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config 2>>"$WORK/sshd.log" &
        SSHD_PID=$!
        for _i in $(seq 50); do
            grep -q "Server listening on 127.0.0.1 port $SSHD_PORT" "$WORK/sshd.log" && return 0
            kill -0 "$SSHD_PID" 2>/dev/null || break
            sleep 0.1
        done
        e2e_stop_sshd
    done
    tail -n 20 "$WORK/sshd.log"
    return 1
}
step "sshd starts" pkg_start_sshd
check "sshd has PAM and keyboard-interactive from the drop-in" \
    sh -c '/usr/sbin/sshd -T -f /etc/ssh/sshd_config -C user=x,host=h,addr=127.0.0.1 >"$1" 2>&1 &&
           grep -qx "usepam yes" "$1" && grep -qx "kbdinteractiveauthentication yes" "$1"' sh "$WORK/sshd-T"

# ---------------------------------------------------------------- 3. a device login
start_idp
CONF=/etc/nss-pam-oidc.conf
{
    printf '# a host where people sign in (tests/pkg/install.sh)\n'
    printf '[provider people]\nissuer = %s\nclient_id = oidc-public\n' "$OP_URL"
    printf 'scope = openid profile email groups\nca_file = %s\nflow = device\n' "$IDP/ca.pem"
    printf 'preauth = yes\npreauth_allow = *\nlogin_timeout = 60\n'
} >"$CONF"
chmod 0600 "$CONF"
step "oidcctl check-config accepts $CONF" oidcctl check-config
step "oidcctl cache sync (preauth, so that sshd can resolve a first-time user)" oidcctl cache sync
e2e_ssh alice 'id; env | grep ^OIDC_ | sort' --user alice --password alice-pw
check "device login over ssh: exit 0" [ "$RC" = 0 ]
check "device login: the prompt carried the verification URL with the code" \
    out_has "$OP_URL/device\\?user_code=$USER_CODE"
check "device login: id shows alice with the published uid and her claim group admins" \
    cmd_has '^uid=2131105965\(alice\) gid=2131105965\(alice\) groups=.*1926073551\(admins\)'
check "device login: the session carries OIDC_ISSUER" cmd_has "^OIDC_ISSUER=$OP_URL\$"
check "device login: sshd accepted keyboard-interactive/pam for alice" \
    log_has 'Accepted keyboard-interactive/pam for alice'
check "device login: the audit line of the installed pam_oidc" \
    syslog_has 'pam_oidc\(sshd:auth\): audit: phase=auth result=success service="sshd" user="alice" .*flow="device"'
[ "$RC" = 0 ] || show_tail
check "getent passwd alice through the installed NSS module" \
    sh -c 'getent passwd alice | grep -q "^alice:[^:]*:2131105965:2131105965:"'
check "the identity cache is at the packaged path /var/lib/nss-pam-oidc/cache.cdb" \
    test -s /var/lib/nss-pam-oidc/cache.cdb
check "oidcctl users lists alice" sh -c 'oidcctl users 2>&1 | grep -qw alice'

# ---------------------------------------------------------------- 4. a token login
mkdir -p /etc/nss-pam-oidc.conf.d
{
    printf '# CI jobs, one ephemeral user per run (tests/pkg/install.sh)\n'
    printf '[provider ci]\nissuer = %s\nclient_id = ci-audience\nca_file = %s\n' "$MINI_URL" "$IDP/ca.pem"
    printf 'flow = token\nusername_template = job-{run_id}\ngroups_claim = ""\n'
    printf 'ephemeral = yes\nreplay_protection = yes\npreauth = yes\npreauth_allow = job-*\n'
    printf 'require_claim = repository=org/* ref=refs/heads/main\n'
} >/etc/nss-pam-oidc.conf.d/ci.conf
chmod 0600 /etc/nss-pam-oidc.conf.d/ci.conf
step "oidcctl check-config accepts $CONF with conf.d/ci.conf" oidcctl check-config
step "oidcctl cache sync" oidcctl cache sync
T=$WORK/tok
claims() { printf '{"repository":"org/app","repository_owner":"org","ref":"refs/heads/main","run_id":"%s"}' "$1"; }
mint --claims "$(claims 301)" >"$T"
e2e_ssh_token job-301 'id; env | grep ^OIDC_ | sort' "$T"
check "token login over ssh: exit 0" [ "$RC" = 0 ]
check "token login: runs as job-301 with the published uid" \
    cmd_has "^uid=$(e2e_hash_id uid job-301)\\(job-301\\) "
check "token login: OIDC_ISSUER is the CI issuer" cmd_has "^OIDC_ISSUER=$MINI_URL\$"
check "token login: the audit line of the installed pam_oidc" \
    syslog_has 'pam_oidc\(sshd:auth\): audit: phase=auth result=success service="sshd" user="job-301" .*flow="token"'
[ "$RC" = 0 ] || show_tail

# ---------------------------------------------------------------- 5. only the installed files
[ -f "$PAM_SO" ] && mv "$PAM_SO" "$WORK/pam_oidc.so.away"
mint --claims "$(claims 302)" >"$T"
e2e_ssh_token job-302 'echo SHOULD-NOT-RUN' "$T"
check "without the installed pam_oidc.so: the token login is refused" \
    sh -c '[ "$1" = 255 ] && ! grep -q "^SHOULD-NOT-RUN" "$2"' sh "$RC" "$OUT.clean"
check "... and sshd's PAM says the module is missing" sh -c "grep -q 'pam_oidc.so' '$E2E_SYSLOG' '$WORK/sshd.log'"
[ -f "$WORK/pam_oidc.so.away" ] && mv "$WORK/pam_oidc.so.away" "$PAM_SO"
[ -f "$NSS_SO" ] && mv "$NSS_SO" "$WORK/libnss_oidc.so.2.away"
check "without the installed libnss_oidc.so.2: getent passwd alice finds nothing" \
    sh -c '! getent passwd alice >/dev/null'
[ -f "$WORK/libnss_oidc.so.2.away" ] && mv "$WORK/libnss_oidc.so.2.away" "$NSS_SO"
check "with it back: getent passwd alice resolves again" sh -c 'getent passwd alice >/dev/null'
e2e_stop_sshd

# ---------------------------------------------------------------- 6. purge
rm -rf /etc/nss-pam-oidc.conf /etc/nss-pam-oidc.conf.d/ci.conf
# shellcheck disable=SC2086
step "dpkg --purge $PKGS" env DEBIAN_FRONTEND=noninteractive dpkg --purge $PKGS
for p in $PKGS; do
    check "$p is gone from dpkg's database" sh -c "! dpkg-query -W -f '\${Status}' $p 2>/dev/null | grep -q installed"
done
c=$(changed "$ORIG" | tr '\n' ' ')
check "/etc/nsswitch.conf and every file in /etc/pam.d have their original bytes${c:+: changed $c}" \
    test -z "$c"
check "the identity cache directory is gone" test ! -e /var/lib/nss-pam-oidc
check "the pam-auth-update profile is gone" test ! -e /usr/share/pam-configs/oidc
check "the modules and oidcctl are gone" sh -c "[ ! -e '$PAM_SO' ] && [ ! -e '$NSS_SO' ] && [ ! -e /usr/bin/oidcctl ]"
check "the timer's enable link is gone" test ! -e /etc/systemd/system/timers.target.wants/oidcctl-prune.timer
check "/etc/nss-pam-oidc.conf.d is gone" test ! -e /etc/nss-pam-oidc.conf.d
finish
