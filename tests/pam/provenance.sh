#!/bin/sh
# The login provenance is not world-readable (docs/cache.md): after a token login through a real
# Linux-PAM stack, cache.cdb (mode 0644, what NSS reads) holds no byte of the issuer or the
# subject; provenance.cdb (mode 0600, root) holds them; glibc's getent and id still answer for the
# user through the built libnss_oidc.so.2 from cache.cdb alone; and the root-side tools (oidcctl
# users, prune, cache verify, the next login's binding check) still see the provenance.
. "$(dirname "$0")/lib.sh"
SO=$top_builddir/nss/.libs/libnss_oidc.so.2
MKCACHE=$top_builddir/tests/nss/mkcache
[ -f "$SO" ] && [ -x "$MKCACHE" ] || { echo "FAIL - the NSS module or mkcache is not built"; exit 1; }
unshare --mount true 2>/dev/null || { echo "SKIP: unshare --mount is not permitted here"; exit 77; }

start_idp
write_pam_config
stack tok "provider=ci flow=token"
SUB='repo:org/app:ref:refs/heads/main'

mint_ci "$WORK/good"
drv -s tok -u ci-org -t "$WORK/good"
check "login: authenticate succeeds" phase authenticate PAM_SUCCESS
check "login: session opens" phase open_session PAM_SUCCESS
check "login: cache.cdb and provenance.cdb written" test -f "$STATE/cache.cdb" -a -f "$STATE/provenance.cdb"

# has_bytes FILE STRING: FILE contains STRING (binary-safe)
has_bytes() { grep -aqF -- "$2" "$1"; }
check "cache.cdb (world-readable) holds no byte string of the subject '$SUB'" \
    sh -c '! grep -aqF -- "$1" "$2"' sh "$SUB" "$STATE/cache.cdb"
check "cache.cdb (world-readable) holds no byte string of the issuer '$MINI_URL'" \
    sh -c '! grep -aqF -- "$1" "$2"' sh "$MINI_URL" "$STATE/cache.cdb"
check "cache.cdb is mode 0644, owned by root" [ "$(stat -c %a:%u:%g "$STATE/cache.cdb")" = 644:0:0 ]
check "provenance.cdb is mode 0600, owned by root" \
    [ "$(stat -c %a:%u:%g "$STATE/provenance.cdb")" = 600:0:0 ]
check "provenance.cdb holds the subject" has_bytes "$STATE/provenance.cdb" "$SUB"
check "provenance.cdb holds the issuer" has_bytes "$STATE/provenance.cdb" "$MINI_URL"

# NSS, from cache.cdb alone: a copy of the state directory without provenance.cdb is bound over
# the directory the module reads, in a private mount namespace with passwd/group: files oidc.
CACHE_PATH=$("$MKCACHE" path)
NSS_STATE=$(dirname "$CACHE_PATH")
mkdir -p "$WORK/nss/state" "$WORK/nss/lib" "$WORK/nss/up" "$WORK/nss/wk"
cp -p "$STATE/cache.cdb" "$STATE/cache.serial" "$WORK/nss/state/"
cp "$SO" "$WORK/nss/lib/libnss_oidc.so.2"
printf 'passwd: files oidc\ngroup: files oidc\nshadow: files\n' >"$WORK/nss/nsswitch.conf"
NSS_SAN=$(nss_sanitizers "$SO")
export NSS_SAN
# nss CMD...: CMD resolving through the module (output in $NSS_OUT, exit code in $NSS_RC)
nss() {
    NSS_OUT=$(unshare --mount sh -c '
        w=$1 target=$2
        shift 2
        mount --make-rprivate / || exit 99
        if [ ! -d "$target" ]; then
            anc=$target
            while [ ! -d "$anc" ]; do anc=$(dirname "$anc"); done
            case $anc in / | /usr | /var | /etc | /tmp) exit 98 ;; esac
            mount -t overlay overlay -o "lowerdir=$anc,upperdir=$w/up,workdir=$w/wk" "$anc" || exit 98
            mkdir -p "$target"
        fi
        mount --bind "$w/state" "$target" || exit 99
        mount --bind "$w/nsswitch.conf" /etc/nsswitch.conf || exit 99
        [ -z "$NSS_SAN" ] || export LD_PRELOAD="$NSS_SAN" ASAN_OPTIONS=detect_leaks=0
        LD_LIBRARY_PATH=$w/lib LC_ALL=C exec "$@"' sh "$WORK/nss" "$NSS_STATE" "$@" 2>&1)
    NSS_RC=$?
}
nss getent passwd ci-org
[ "$NSS_RC" = 98 ] && { echo "SKIP: cannot provide the module's state directory $NSS_STATE"; exit 77; }
check "NSS (no provenance.cdb): getent passwd ci-org answers ($NSS_OUT)" \
    sh -c '[ "$1" = 0 ] && printf "%s\n" "$2" | grep -q "^ci-org:\*:[0-9]*:[0-9]*:"' sh "$NSS_RC" "$NSS_OUT"
uid=$(printf '%s\n' "$NSS_OUT" | cut -d: -f3)
nss getent passwd "$uid"
check "NSS: getent passwd $uid answers ci-org" sh -c '[ "$1" = 0 ] && printf "%s\n" "$2" | grep -q "^ci-org:"' sh "$NSS_RC" "$NSS_OUT"
nss id -nG ci-org
check "NSS: id -nG ci-org lists the token's group deploy ($NSS_OUT)" \
    sh -c '[ "$1" = 0 ] && printf "%s\n" "$2" | grep -qw deploy' sh "$NSS_RC" "$NSS_OUT"
nss getent group deploy
check "NSS: getent group deploy lists ci-org" \
    sh -c '[ "$1" = 0 ] && printf "%s\n" "$2" | grep -q "^deploy:\*:[0-9]*:ci-org$"' sh "$NSS_RC" "$NSS_OUT"

# root still sees the provenance
out=$("$OIDCCTL" users --config "$CONF" 2>&1)
check "oidcctl users (root) shows the subject" sh -c 'printf "%s\n" "$1" | grep -qF -- "$2"' sh "$out" "$SUB"
out=$("$OIDCCTL" users --json --config "$CONF" 2>&1)
check "oidcctl users --json (root) shows the issuer" sh -c 'printf "%s\n" "$1" | grep -q "\"issuer\":[[:space:]]*\"$2\""' sh "$out" "$MINI_URL"
expect_exit "oidcctl cache verify (root) is clean: both files" 0 'cache OK: 1 user' \
    "$OIDCCTL" cache verify --config "$CONF"
expect_exit "oidcctl prune keeps the unexpired user" 0 'removed 0 expired' "$OIDCCTL" prune --config "$CONF"
out=$("$OIDCCTL" users --config "$CONF" 2>&1)
check "oidcctl users after prune still shows the subject" sh -c 'printf "%s\n" "$1" | grep -qF -- "$2"' sh "$out" "$SUB"

# another user cannot read provenance.cdb: a copy of the two files in a directory others may
# enter, listed as nobody, shows the users but not their subjects
if command -v setpriv >/dev/null; then
    chmod 711 "$WORK"
    mkdir -m 755 "$WORK/pub"
    cp -p "$STATE/cache.cdb" "$STATE/cache.serial" "$STATE/provenance.cdb" "$WORK/pub/"
    sed "s|^state_dir = .*|state_dir = $WORK/pub|" "$CONF" >"$WORK/pub.conf"
    chmod 644 "$WORK/pub.conf"
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$OIDCCTL" users --config "$WORK/pub.conf" 2>&1)
    check "oidcctl users as nobody: lists ci-org" sh -c 'printf "%s\n" "$1" | grep -q "^ci-org "' sh "$out"
    check "oidcctl users as nobody: no subject, and says provenance.cdb is root's" \
        sh -c 'printf "%s\n" "$1" | grep -qF -- "$2" && exit 1; printf "%s\n" "$1" | grep -q "provenance.cdb, which only root may read"' sh "$out" "$SUB"
    chmod 700 "$WORK"
fi

# a second login of the same identity: the binding is read back from provenance.cdb, and a
# repeat login writes neither file
ino_c=$(stat -c %i "$STATE/cache.cdb")
ino_p=$(stat -c %i "$STATE/provenance.cdb")
mint_ci "$WORK/again"
drv -s tok -u ci-org -t "$WORK/again"
check "repeat login: succeeds" phase authenticate PAM_SUCCESS
check "repeat login: cache.cdb not rewritten" [ "$(stat -c %i "$STATE/cache.cdb")" = "$ino_c" ]
check "repeat login: provenance.cdb not rewritten" [ "$(stat -c %i "$STATE/provenance.cdb")" = "$ino_p" ]

# without provenance.cdb the bindings are unknown: logins are refused (fail closed), NSS answers
mv "$STATE/provenance.cdb" "$WORK/provenance.aside"
mint_ci "$WORK/lost"
drv -s tok -u ci-org -t "$WORK/lost"
check "provenance.cdb missing: the login is refused" phase authenticate PAM_AUTH_ERR
check "provenance.cdb missing: the log names the file" logged 'provenance.cdb is missing'
expect_exit "provenance.cdb missing: cache verify says so" 1 'provenance.cdb is missing' \
    "$OIDCCTL" cache verify --config "$CONF"
mv "$WORK/provenance.aside" "$STATE/provenance.cdb"
no_token_logged "no token in any log"
finish
