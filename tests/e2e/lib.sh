# Harness for the end-to-end tests: real OpenSSH sshd and ssh, real sudo, real glibc NSS and
# Linux-PAM, the built modules and the bundled IdP over HTTPS, all inside one private mount (and
# PID) namespace, so the machine's /etc, /usr, /var and /run are never changed and nothing is left
# running when the test ends.
#
# Sourced by each tests/e2e/*.sh right at its start. It re-executes the test inside
#   unshare --mount --propagation private --pid --fork --mount-proc
# (where / is not a mount point, in a chroot or some containers, that unshare fails with "cannot
# change root filesystem propagation": then it says so, enters a namespace with --propagation
# unchanged, makes every mount it can see private (recursively, so hidden stacked mounts too),
# refuses (77) when a mount stays shared or a directory it mounts on sits on the chroot's
# invisible root mount, and only then opens the PID namespace; tests/e2e/chroot.sh)
# and there:
#   - mounts a tmpfs on the work directory $WORK (tests/integration/lib.sh creates it);
#   - mounts an overlay on /etc whose upper layer lives in $WORK, so the test can write
#     /etc/pam.d/*, /etc/nsswitch.conf, /etc/ssh/*, /etc/sudoers, /etc/nss-pam-oidc.conf and
#     /etc/ld.so.cache (and add local test users) without touching the real files;
#   - mounts a tmpfs on /run (sshd's privilege separation directory /run/sshd, sudo's
#     timestamps; it also hides any nscd socket);
#   - gives the identity cache directory (the STATEDIR the modules were built with, by default
#     /usr/local/var/lib/nss-pam-oidc, /var/lib/nss-pam-oidc with --localstatedir=/var) a fresh
#     private directory, through an overlay on its nearest existing ancestor;
#   - makes glibc load libnss_oidc.so.2 from $WORK/lib (a copy of the built module) by listing that
#     directory in the overlay's /etc/ld.so.cache (ldconfig -X: no link in a real directory is
#     touched). The cache is trusted in secure-execution mode too, so setuid sudo and sshd load the
#     module exactly as they would from /usr/lib; LD_LIBRARY_PATH would be ignored by sudo;
#   - references pam_oidc.so by absolute path ($WORK/lib/security/pam_oidc.so) in the generated
#     PAM service files.
#
# Variables a test may set before sourcing: E2E_NEED_MODULES=1 (skip with 77 unless the built
# pam_oidc.so and libnss_oidc.so.2 exist).
#
# Functions: e2e_setup (everything above plus the IdP and the configuration), e2e_pam_service,
# e2e_nsswitch, e2e_sudoers, e2e_start_sshd, e2e_stop_sshd, e2e_ssh (the expect driver),
# e2e_section (markers), e2e_cache_stat. See each function.

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
E2E_DIR=$top_srcdir/tests/e2e
E2E_PAM_SO=$top_builddir/pam/.libs/pam_oidc.so
E2E_NSS_SO=$top_builddir/nss/.libs/libnss_oidc.so.2

e2e_skip() {
    echo "SKIP: $*"
    exit 77
}

[ "$(id -u)" = 0 ] || e2e_skip "the end-to-end tests need root (mount namespace, sshd, sudo)"
for _t in unshare ssh ssh-keygen expect sudo visudo node; do
    command -v "$_t" >/dev/null 2>&1 || e2e_skip "$_t is not installed (tests/install-deps.sh)"
done
[ -x /usr/sbin/sshd ] || e2e_skip "/usr/sbin/sshd is not installed (apt-get install openssh-server)"
if [ "${E2E_NEED_MODULES:-0}" = 1 ]; then
    [ -f "$E2E_PAM_SO" ] || e2e_skip "pam_oidc.so is not built ($E2E_PAM_SO)"
    [ -f "$E2E_NSS_SO" ] || e2e_skip "libnss_oidc.so.2 is not built ($E2E_NSS_SO)"
fi
[ -x "$top_builddir/tools/oidcctl" ] || e2e_skip "oidcctl is not built in $top_builddir"

# Re-execute inside the private namespaces. The PID namespace makes the kernel kill whatever the
# test started (sshd, the IdP, sessions) when the test exits, even if the test is killed.
if [ -z "${E2E_IN_NS:-}" ]; then
    E2E_IN_NS=1
    export E2E_IN_NS top_srcdir top_builddir
    case $0 in /*) _self=$0 ;; *) _self=$(pwd)/$0 ;; esac
    if _e=$(unshare --mount --propagation private true 2>&1); then
        exec unshare --mount --propagation private --pid --fork --mount-proc /bin/sh "$_self" "$@"
    fi
    case $_e in
    *"cannot change root filesystem propagation"*) ;;
    *) echo "e2e harness: unshare --mount fails: $_e" >&2; exit 99 ;;
    esac
    # A chroot or a container whose / is not a mount point: the kernel cannot make "/" private.
    # Enter a namespace with propagation unchanged, make every mount point we can see private
    # there (E2E_NS_STAGE=private, below), and only then the PID namespace and its /proc.
    echo "e2e harness: / is not a mount point (chroot or container): unshare --propagation private is impossible; making every visible mount private instead" >&2
    E2E_NS_STAGE=private
    export E2E_NS_STAGE
    exec unshare --mount --propagation unchanged /bin/sh "$_self" "$@"
fi
# e2e_ns_mount_of PATH: the mount point PATH lives on, or nothing when that is the invisible mount
# that holds the chroot's / (whose propagation this namespace cannot change)
e2e_ns_mount_of() {
    _m=$1
    while :; do
        mountpoint -q "$_m" 2>/dev/null && { printf '%s\n' "$_m"; return 0; }
        [ "$_m" = / ] && return 1
        _m=$(dirname "$_m")
    done
}
if [ "${E2E_NS_STAGE:-}" = private ]; then
    case $0 in /*) _self=$0 ;; *) _self=$(pwd)/$0 ;; esac
    [ -r /proc/self/mountinfo ] || e2e_skip "/ is not a mount point and /proc is not mounted: cannot make the sandbox's mounts private"
    # recursively, so that a mount hidden under another one at the same place (a second devpts on
    # /dev/pts) is private too: unmounting the one on top of it would otherwise propagate out
    awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r _m; do
        _m=$(printf '%b' "$(printf '%s' "$_m" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')")
        [ -d "$_m" ] && mount --make-rprivate "$_m" 2>/dev/null
    done
    # what is still shared here (a mount stacked directly on the chroot's root mount, which no
    # path reaches) would pass our mounts and unmounts to the parent namespace: refuse
    _shared=$(awk '{ for (i = 7; $i != "-"; i++) if ($i ~ /^shared:/) { print $5; break } }' /proc/self/mountinfo | head -n 3 | tr '\n' ' ')
    [ -z "$_shared" ] ||
        e2e_skip "/ is not a mount point and these mounts stay shared with the parent namespace: $_shared(make them private before entering the chroot)"
    # every directory the harness mounts on must sit on one of those private mounts: a mount on
    # the chroot's own root mount could propagate to the machine outside
    for _p in /proc /etc /run /dev /tmp; do
        e2e_ns_mount_of "$_p" >/dev/null ||
            e2e_skip "/ is not a mount point and $_p is on it: a mount there could reach the parent namespace (bind-mount $_p, or the chroot onto itself, before entering it)"
    done
    E2E_NS_STAGE=fallback
    exec unshare --mount --propagation unchanged --pid --fork --mount-proc /bin/sh "$_self" "$@"
fi

# tests/integration/lib.sh: $WORK, the IdP (start_idp, mint), check/expect_exit/finish
. "$top_srcdir/tests/integration/lib.sh"

# run.sh checks that nothing runs from these work directories after the tests
[ -n "${E2E_WORKLIST:-}" ] && echo "$WORK" >>"$E2E_WORKLIST"

SSHD_PID=
e2e_cleanup() {
    e2e_stop_sshd
    if [ -n "${E2E_DUMP_LOGS:-}" ]; then # for debugging: E2E_DUMP_LOGS=1 tests/e2e/X.sh
        echo "--- syslog"
        cat "${E2E_SYSLOG:-/dev/null}"
        echo "--- sshd.log"
        grep -v '^debug' "$WORK/sshd.log" 2>/dev/null
    fi
    "$IDP_DIR/idp-ctl.sh" stop "$IDP" >/dev/null 2>&1
    cd /
    # the tmpfs first, so that cleanup's rm -rf meets the real, empty directory
    umount -l "$WORK" 2>/dev/null
    cleanup
}
trap e2e_cleanup EXIT
trap 'exit 1' INT TERM HUP

e2e_die() {
    echo "e2e harness: $*" >&2
    exit 99
}

# e2e_make_var NAME: a directory variable of the build under test, read from its Makefile (not
# through make, which could regenerate files in the build directory). Handles the ${prefix}-style
# references configure writes.
e2e_make_var() {
    (
        for _v in prefix exec_prefix localstatedir sysconfdir libdir statedir "$1"; do
            _val=$(sed -n "s/^$_v = //p" "$top_builddir/Makefile" | head -n 1)
            eval "$_v=\"$_val\""
        done
        eval "printf '%s\\n' \"\$$1\""
    )
}

# e2e_private_dir PATH: PATH becomes a fresh, empty, root-owned 0755 directory that only this
# namespace sees. When PATH does not exist, its nearest existing ancestor gets an overlay whose
# upper layer is in $WORK, and PATH is created there.
e2e_private_dir() {
    _p=$1
    _a=$_p
    while [ ! -d "$_a" ]; do _a=$(dirname "$_a"); done
    if [ "${E2E_NS_STAGE:-}" = fallback ] && ! e2e_ns_mount_of "$_a" >/dev/null; then
        e2e_die "/ is not a mount point and $_a is on it: a mount there could reach the parent namespace"
    fi
    if [ "$_a" != "$_p" ]; then
        _o=$WORK/ovl/$(printf '%s' "$_a" | tr / _)
        mkdir -p "$_o/up" "$_o/work"
        mount -t overlay overlay -o "lowerdir=$_a,upperdir=$_o/up,workdir=$_o/work" "$_a" ||
            e2e_die "cannot mount an overlay on $_a"
        mkdir -p "$_p"
    fi
    _b=$WORK/priv/$(printf '%s' "$_p" | tr / _)
    mkdir -p "$_b"
    mount --bind "$_b" "$_p" || e2e_die "cannot bind a private directory over $_p"
    chown root:root "$_p"
    chmod 0755 "$_p"
}

# e2e_pam_service NAME: writes /etc/pam.d/NAME from standard input, replacing @PAM_OIDC@ with the
# absolute path of the module under test and @CONF@ with the configuration file.
e2e_pam_service() {
    sed -e "s|@PAM_OIDC@|$E2E_LIB/security/pam_oidc.so|g" -e "s|@CONF@|$E2E_CONF|g" >"/etc/pam.d/$1"
    chmod 0644 "/etc/pam.d/$1"
}

# e2e_nsswitch SERVICES: passwd and group (and initgroups through group) use SERVICES, e.g.
# "files oidc"; the other databases keep the machine's settings.
e2e_nsswitch() {
    sed -e '/^[[:space:]]*\(passwd\|group\|shadow\|initgroups\)[[:space:]]*:/d' \
        /etc/nsswitch.conf >"$WORK/nsswitch.conf"
    {
        printf 'passwd: %s\ngroup: %s\nshadow: files\n' "$1" "$1"
        cat "$WORK/nsswitch.conf"
    } >/etc/nsswitch.conf
}

# e2e_sudoers: writes /etc/sudoers from standard input after a fixed, include-free header, and
# checks it with visudo.
e2e_sudoers() {
    {
        printf 'Defaults env_reset\nDefaults !fqdn\nDefaults !lecture\nDefaults !syslog\n'
        printf 'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
        printf 'Defaults logfile=%s\n' "$WORK/sudo.log"
        printf 'root ALL=(ALL:ALL) ALL\n'
        cat
    } >/etc/sudoers
    chmod 0440 /etc/sudoers
    visudo -c -q -f /etc/sudoers || e2e_die "visudo refuses the generated sudoers"
}

# e2e_syslog: a syslog receiver on this namespace's /dev/log, so that what the modules log through
# syslog(3) (pam_syslog: audit lines, refusals) lands in $E2E_SYSLOG. /dev gets an overlay (the
# device nodes stay the real ones) with its submounts (pts, shm, ...) bound back in place.
e2e_syslog() {
    E2E_SYSLOG=$WORK/syslog
    : >"$E2E_SYSLOG"
    mkdir -p "$WORK/dev-real" "$WORK/ovl/dev/up" "$WORK/ovl/dev/work"
    mount --rbind /dev "$WORK/dev-real" || e2e_die "cannot bind /dev"
    _subs=$(awk '$5 ~ "^/dev/" {print $5}' /proc/self/mountinfo | sort -u)
    mount -t overlay overlay -o "lowerdir=/dev,upperdir=$WORK/ovl/dev/up,workdir=$WORK/ovl/dev/work" /dev ||
        e2e_die "cannot mount an overlay on /dev"
    for _m in $_subs; do
        [ -d "$_m" ] && mount --rbind "$WORK/dev-real${_m#/dev}" "$_m"
    done
    rm -f /dev/log
    perl -MSocket -e '
        socket(S, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
        bind(S, pack_sockaddr_un($ARGV[0])) or die "bind $ARGV[0]: $!";
        chmod 0666, $ARGV[0];
        open(O, ">>", $ARGV[1]) or die; select O; $| = 1;
        while (defined(recv(S, my $m, 65536, 0))) { $m =~ s/\0?\n?$//; print O "$m\n"; }' \
        /dev/log "$E2E_SYSLOG" &
    for _i in $(seq 50); do [ -S /dev/log ] && break; sleep 0.05; done
    [ -S /dev/log ] || e2e_die "the syslog receiver did not start"
    logger -t e2e-harness "syslog capture on" 2>/dev/null
}

# syslog_has PATTERN: something logged through syslog matches the extended regex PATTERN
syslog_has() { grep -Eq -- "$1" "$E2E_SYSLOG"; }

e2e_free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# e2e_write_config: $E2E_CONF with two providers on one host: "people" (the main OP, device
# flow, preauth so that sshd can resolve a user it has never seen) and "ci" (the mini issuer,
# CI-shaped tokens, one ephemeral user per run). $E2E_PEOPLE_EXTRA and $E2E_CI_EXTRA (lines) are
# added to the sections; $E2E_LOGIN_TIMEOUT (default 60) is people's login_timeout. Then the
# preauth settings are pushed into the identity cache, where the
# NSS module reads them.
e2e_write_config() {
    {
        printf '[global]\nstate_dir = %s\n\n' "$E2E_STATEDIR"
        printf '[provider people]\nissuer = %s\nclient_id = oidc-public\n' "$OP_URL"
        printf 'scope = openid profile email groups\nca_file = %s\nflow = device\n' "$IDP/ca.pem"
        printf 'preauth = yes\npreauth_allow = *\nlogin_timeout = %s\n' "${E2E_LOGIN_TIMEOUT:-60}"
        printf '%s\n' "${E2E_PEOPLE_EXTRA:-}"
        printf '\n[provider ci]\nissuer = %s\nclient_id = ci-audience\nca_file = %s\n' \
            "$MINI_URL" "$IDP/ca.pem"
        printf 'flow = token\nusername_template = job-{run_id}\ngroups_claim = ""\n'
        printf 'ephemeral = yes\nreplay_protection = yes\n'
        printf 'require_claim = repository=org/* ref=refs/heads/main\n'
        printf 'export_claims = repository ref run_id\n'
        printf '%s\n' "${E2E_CI_EXTRA:-}"
    } >"$E2E_CONF"
    chmod 0600 "$E2E_CONF"
    "$OIDCCTL" cache sync --config "$E2E_CONF" >"$WORK/cache-sync.out" 2>&1 ||
        echo "e2e harness: oidcctl cache sync failed: $(tail -n 1 "$WORK/cache-sync.out")" >&2
}

# e2e_setup: the namespace's mounts, the IdP, the modules, the configuration ($E2E_CONF =
# /etc/nss-pam-oidc.conf, see e2e_write_config) and default PAM services (sshd: people, device
# flow; oidc-run: ci, token flow; sudo: pam_deny, so only NOPASSWD rules pass), nsswitch
# "files oidc", sudoers "%admins ALL=(ALL) NOPASSWD: ALL". Tests override what they need.
e2e_setup() {
    mount -t tmpfs -o mode=0755 e2e-work "$WORK" || e2e_die "cannot mount a tmpfs on $WORK"
    mkdir -p "$WORK/ovl/etc/up" "$WORK/ovl/etc/work"
    mount -t overlay overlay -o "lowerdir=/etc,upperdir=$WORK/ovl/etc/up,workdir=$WORK/ovl/etc/work" /etc ||
        e2e_skip "cannot mount an overlay on /etc (overlayfs missing?)"
    mount -t tmpfs -o mode=0755 e2e-run /run || e2e_die "cannot mount a tmpfs on /run"
    e2e_syslog
    mkdir -m 0755 /run/sshd
    HOME=$WORK/root-home
    mkdir -m 0700 "$HOME"
    export HOME

    E2E_STATEDIR=$(e2e_make_var statedir)
    [ -n "$E2E_STATEDIR" ] || e2e_die "cannot read statedir from $top_builddir/Makefile"
    e2e_private_dir "$E2E_STATEDIR"

    # the modules under test, in a root-owned directory of their own
    E2E_LIB=$WORK/lib
    mkdir -p "$E2E_LIB/security"
    if [ -f "$E2E_PAM_SO" ]; then
        cp "$E2E_PAM_SO" "$E2E_LIB/security/pam_oidc.so"
        chmod 0644 "$E2E_LIB/security/pam_oidc.so"
    fi
    if [ -f "$E2E_NSS_SO" ]; then
        cp "$E2E_NSS_SO" "$E2E_LIB/libnss_oidc.so.2"
        chmod 0644 "$E2E_LIB/libnss_oidc.so.2"
    fi
    echo "$E2E_LIB" >/etc/ld.so.conf.d/zz-nss-pam-oidc-e2e.conf
    ldconfig -X || e2e_die "ldconfig failed"

    start_idp
    E2E_CONF=/etc/nss-pam-oidc.conf
    e2e_write_config
    e2e_nsswitch "files oidc"
    e2e_pam_service sshd <<'EOF'
auth     required  @PAM_OIDC@ config=@CONF@ provider=people
account  required  @PAM_OIDC@ config=@CONF@ provider=people
account  required  pam_permit.so
session  required  @PAM_OIDC@ config=@CONF@ provider=people
password required  pam_deny.so
EOF
    e2e_pam_service sudo <<'EOF'
auth     required  pam_deny.so
account  required  pam_permit.so
session  required  pam_permit.so
EOF
    e2e_pam_service oidc-run <<'EOF'
auth     required  @PAM_OIDC@ config=@CONF@ provider=ci flow=token
account  required  @PAM_OIDC@ config=@CONF@ provider=ci
session  required  @PAM_OIDC@ config=@CONF@ provider=ci
password required  pam_deny.so
EOF
    e2e_sudoers <<'EOF'
%admins ALL=(ALL) NOPASSWD: ALL
EOF
}

# e2e_start_sshd [extra sshd_config lines]: a fresh host key, a free port on 127.0.0.1
# ($SSHD_PORT), logs in $WORK/sshd.log. Dies when sshd does not come up.
e2e_start_sshd() {
    e2e_stop_sshd
    [ -f /etc/ssh/e2e_host_ed25519_key ] ||
        ssh-keygen -q -t ed25519 -N '' -C e2e-host -f /etc/ssh/e2e_host_ed25519_key ||
        e2e_die "ssh-keygen failed"
    for _try in 1 2 3; do
        SSHD_PORT=$(e2e_free_port)
        {
            printf 'Port %s\nListenAddress 127.0.0.1\n' "$SSHD_PORT"
            printf 'HostKey /etc/ssh/e2e_host_ed25519_key\nPidFile %s\n' "$WORK/sshd.pid"
            printf 'UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n'
            printf 'PubkeyAuthentication no\nAuthenticationMethods keyboard-interactive\n'
            printf 'LoginGraceTime 120\nPermitRootLogin no\nPrintMotd no\nPrintLastLog no\n'
            printf 'MaxAuthTries 3\nLogLevel DEBUG1\nAcceptEnv none\nX11Forwarding no\n'
            for _l in "$@"; do printf '%s\n' "$_l"; done
        } >/etc/ssh/sshd_config
        /usr/sbin/sshd -t -f /etc/ssh/sshd_config || e2e_die "sshd -t refuses the configuration"
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
    tail -n 20 "$WORK/sshd.log" >&2
    e2e_die "sshd did not start"
}

e2e_stop_sshd() {
    if [ -n "$SSHD_PID" ]; then
        kill "$SSHD_PID" 2>/dev/null
        wait "$SSHD_PID" 2>/dev/null
        SSHD_PID=
    fi
}

# e2e_ssh USER CMD [options for approve.mjs...]: logs in with the stock ssh client driven by
# ssh-device.exp, approving the device login as the approve.mjs options say (--user U --password P
# [--deny]; none: nobody approves), and runs CMD. Sets $RC (ssh's exit status, or the driver's),
# $OUT (the transcript), $CMD_OUT (only CMD's output, between markers) and $USER_CODE.
# Knobs (shell variables, see ssh-device.exp): E2E_PASSWORD, E2E_ENTER_DELAY, E2E_TTY,
# E2E_SUDO_APPROVE, E2E_ON_PROMPT, E2E_TIMES, E2E_TIMEOUT.
e2e_ssh() {
    _user=$1 _cmd=$2
    shift 2
    OUT=$WORK/ssh.out
    E2E_PASSWORD=${E2E_PASSWORD:-} E2E_ENTER_DELAY=${E2E_ENTER_DELAY:-} E2E_TTY=${E2E_TTY:-} \
        E2E_SUDO_APPROVE=${E2E_SUDO_APPROVE:-} E2E_ON_PROMPT=${E2E_ON_PROMPT:-} E2E_TIMES=${E2E_TIMES:-} E2E_PORT=$SSHD_PORT E2E_USER=$_user E2E_CMD="echo E2E-BEGIN; $_cmd; echo E2E-END rc=\$?" \
        E2E_IDP_STATE=$IDP E2E_APPROVE="$IDP_DIR/approve.mjs" \
        expect -f "$E2E_DIR/ssh-device.exp" -- "$@" >"$OUT" 2>&1
    RC=$?
    tr -d '\r' <"$OUT" >"$OUT.clean"
    CMD_OUT=$(sed -n '/^E2E-BEGIN$/,/^E2E-END rc=/p' "$OUT.clean" | sed '1d;$d')
    USER_CODE=$(sed -n 's/^E2E-USER-CODE: //p' "$OUT.clean" | head -n 1)
}

# e2e_ssh_token USER CMD TOKEN_FILE: logs in with a token through the stock ssh client, with no
# terminal, SSH_ASKPASS=oidcctl-askpass-wrapper and SSH_ASKPASS_REQUIRE=force: `oidcctl askpass`
# answers the module's "OIDC token: " prompts in chunks (common/tokprompt.h), to 127.0.0.1 only
# (OIDC_TOKEN_HOSTS: askpass sends a token to no host it is not told). Sets $RC, $OUT (file: the
# whole output), $CMD_OUT.
e2e_ssh_token() {
    _wrap=$WORK/oidcctl-askpass-wrapper
    [ -x "$_wrap" ] || {
        printf '#!/bin/sh\nexec %s askpass "$@"\n' "$OIDCCTL" >"$_wrap"
        chmod 0755 "$_wrap"
    }
    OUT=$WORK/ssh.out
    OIDC_TOKEN_FILE=$3 OIDC_TOKEN_HOSTS=127.0.0.1 SSH_ASKPASS=$_wrap SSH_ASKPASS_REQUIRE=force DISPLAY= \
        setsid -w ssh -F none -p "$SSHD_PORT" -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=INFO \
        -o PreferredAuthentications=keyboard-interactive -o ConnectTimeout=10 -o BatchMode=no \
        -o NumberOfPasswordPrompts=1 \
        "$1@127.0.0.1" "echo E2E-BEGIN; $2; echo E2E-END rc=\$?" </dev/null >"$OUT" 2>&1
    RC=$?
    tr -d '\r' <"$OUT" >"$OUT.clean"
    CMD_OUT=$(sed -n '/^E2E-BEGIN$/,/^E2E-END rc=/p' "$OUT.clean" | sed '1d;$d')
}

# e2e_hash_id uid|gid KEY: the published id hash of KEY (docs/idmap.md), default range
e2e_hash_id() {
    node -e 'let h=0xcbf29ce484222325n;for(const b of Buffer.from(`nss-pam-oidc:v1:${process.argv[1]}:${process.argv[2]}`)){h^=BigInt(b);h=(h*0x100000001b3n)%(1n<<64n)}console.log(String(0x70000000n+h%(0x7FFFFFFEn-0x70000000n+1n)))' "$1" "$2"
}

# e2e_cache_stat: "inode mtime size" of the identity cache file (empty when it does not exist)
e2e_cache_stat() {
    stat -c '%i %Y.%y %s' "$E2E_STATEDIR/cache.cdb" 2>/dev/null
}

# out_has PATTERN: the last transcript ($OUT.clean) matches the extended regex PATTERN
out_has() { grep -Eq -- "$1" "$OUT.clean"; }
# cmd_has PATTERN: CMD's output matches
cmd_has() { printf '%s\n' "$CMD_OUT" | grep -Eq -- "$1"; }
cmd_lacks() { ! cmd_has "$1"; }
# log_has PATTERN: sshd's log matches
log_has() { grep -Eq -- "$1" "$WORK/sshd.log"; }

# show_tail: the last lines of the transcript and of sshd's log, for a failure
show_tail() {
    echo "--- transcript (last 15 lines)"
    tail -n 15 "$OUT.clean" 2>/dev/null
    echo "--- sshd.log (last 15 lines)"
    tail -n 15 "$WORK/sshd.log" 2>/dev/null
}
