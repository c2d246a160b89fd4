# Helpers of the pam_oidc tests: the integration helpers (IdP, counters; tests/integration/lib.sh)
# plus a PAM service directory, a configuration, and the driver run inside a private mount
# namespace whose /dev/log is a socket this test listens on (the machine's /dev is untouched).
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"

PAMDRV=$top_builddir/tests/pam/pamdrv
LOGSINK=$top_builddir/tests/pam/logsink
MODULE=$top_builddir/pam/.libs/pam_oidc.so
CONFDIR=$WORK/pam.d
CONF=$WORK/conf
LOG=$WORK/syslog
STATE=$WORK/state
mkdir -p "$CONFDIR" "$WORK/olddev" "$STATE"
chmod 700 "$STATE"
: >"$LOG"
command -v unshare >/dev/null || { echo "SKIP: unshare(1) is missing"; exit 77; }

"$LOGSINK" "$WORK/log.sock" "$LOG" &
SINK_PID=$!
pam_cleanup() {
    kill "$SINK_PID" 2>/dev/null
    [ -n "${MINI_STOPPED:-}" ] && kill -CONT "$MINI_STOPPED" 2>/dev/null
    cleanup
}
trap pam_cleanup EXIT

# write_pam_config [extra lines for the ci provider]: people = the OP's public client (device
# flow), ci = the mini issuer (tokens minted by mint.mjs).
write_pam_config() {
    {
        printf '[global]\nstate_dir = %s\n\n' "$STATE"
        printf '[provider people]\nissuer = %s\nclient_id = oidc-public\n' "$OP_URL"
        printf 'scope = openid profile email groups\nca_file = %s\n' "$IDP/ca.pem"
        printf '\n[provider ci]\nissuer = %s\nclient_id = ci-audience\nca_file = %s\n' \
            "$MINI_URL" "$IDP/ca.pem"
        printf 'username_template = ci-{repository_owner}\nflow = token\n'
        printf 'export_claims = repository, ref\n'
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$CONF"
    chmod 600 "$CONF"
}

# stack NAME AUTH_ARGS [ACCOUNT_ARGS [SESSION_ARGS]]: a service file with pam_oidc in every
# group (each line gets config=$CONF unless the arguments name one).
stack() {
    name=$1 a=$2
    b=${3:-$2}
    s=${4:-$b}
    case "$a" in *config=*) ;; *) a="config=$CONF $a" ;; esac
    case "$b" in *config=*) ;; *) b="config=$CONF $b" ;; esac
    case "$s" in *config=*) ;; *) s="config=$CONF $s" ;; esac
    {
        printf 'auth     required %s %s\n' "$MODULE" "$a"
        printf 'account  required %s %s\n' "$MODULE" "$b"
        printf 'password required pam_deny.so\n'
        printf 'session  required %s %s\n' "$MODULE" "$s"
    } >"$CONFDIR/$name"
}

# probe NAME ARGS: a stack that tells the module's own return code in every group: pam_oidc
# decides on success and failure; when it returns PAM_IGNORE, pam_debug.so answers
# PAM_NO_MODULE_DATA, a code nothing else here returns (an all-ignore stack would be
# PAM_PERM_DENIED, which a failure could be too).
probe() {
    name=$1 a=$2
    case "$a" in *config=*) ;; *) a="config=$CONF $a" ;; esac
    dbg='pam_debug.so auth=no_module_data cred=no_module_data acct=no_module_data'
    dbg="$dbg open_session=no_module_data close_session=no_module_data"
    for g in auth account session; do
        printf '%-8s [success=done ignore=ignore default=die] %s %s\n' "$g" "$MODULE" "$a"
        printf '%-8s required %s\n' "$g" "$dbg"
    done >"$CONFDIR/$name"
}
IGNORED=PAM_NO_MODULE_DATA

# drv ARGS...: pamdrv with /dev/log pointing at our socket; output in $OUT, exit code in $RC.
drv() {
    OUT=$(unshare --mount sh -c '
        w=$1
        shift
        mount --rbind /dev "$w/olddev" && mount -t tmpfs tmpfs /dev || exit 99
        for f in "$w"/olddev/*; do ln -sfn "$f" /dev/; done
        ln -sfn "$w/log.sock" /dev/log
        exec "$@"' sh "$WORK" "$PAMDRV" -d "$CONFDIR" "$@" 2>"$WORK/drv.err")
    RC=$?
    printf '%s\n' "$OUT" >>"$WORK/drv.all"
}

# has PATTERN: the last driver output matches (grep -E)
has() { printf '%s\n' "$OUT" | grep -Eq -- "$1"; }
# phase NAME CODE: the last driver output reports CODE for phase NAME
phase() { printf '%s\n' "$OUT" | grep -qx -- "$1: $2"; }
# logged PATTERN: a syslog line matches (the sink writes asynchronously: allow it a moment)
logged() {
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        grep -Eq -- "$1" "$LOG" && return 0
        sleep 0.1
    done
    return 1
}

# mint_ci FILE [mint options]: a token for the ci provider (owner org) into FILE
mint_ci() {
    f=$1
    shift
    mint --claims '{"repository_owner":"org","repository":"org/app","ref":"refs/heads/main","groups":["deploy"]}' \
        "$@" >"$f"
    cp "$f" "$WORK/tokens.$(basename "$f")" # every token minted, for the no-token-in-logs check
}

# no_token_logged NAME: none of the tokens minted in this test appears in syslog, in the
# driver's output or in the IdP logs
no_token_logged() {
    leaked=
    for t in "$WORK"/tokens.*; do
        [ -f "$t" ] || continue
        sig=$(sed 's/.*\.//' "$t")
        for f in "$LOG" "$WORK/drv.all" "$WORK/drv.err" "$IDP/op.log" "$IDP/mini.log" \
            "$WORK"/transcript*; do
            [ -f "$f" ] && grep -qF -- "$sig" "$f" && leaked="$leaked $f"
        done
    done
    check "$1" [ -z "$leaked" ]
}
