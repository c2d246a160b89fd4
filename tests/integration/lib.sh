# Shared helpers for the integration tests: start the bundled IdP, write a configuration, count
# results. Sourced by each test; tests print "N passed, N failed" and exit 0 only when all passed.
# Exit 77 (skip) when the IdP's Node modules are missing.

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
OIDCCTL=${OIDCCTL:-$top_builddir/tools/oidcctl}
IDP_DIR=$top_srcdir/tests/idp
if [ -z "${IDP_NODE_MODULES:-}" ] && [ ! -d "$IDP_DIR/node_modules" ]; then
    echo "SKIP: the test IdP's Node modules are missing (cd tests/idp && npm ci)"
    exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: the configuration must be root-owned, so these tests run as root"
    exit 77
fi

WORK=$(mktemp -d /tmp/oidc-it.XXXXXX)
IDP=$WORK/idp
cleanup() {
    "$IDP_DIR/idp-ctl.sh" stop "$IDP" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$top_srcdir/tests/integration/results.sh"

start_idp() {
    "$IDP_DIR/idp-ctl.sh" start "$IDP" >/dev/null || { echo "cannot start the test IdP"; exit 99; }
    OP_URL=$(cat "$IDP/op.url")
    MINI_URL=$(cat "$IDP/mini.url")
}

# write_config FILE [extra lines for the people provider]: people = the main OP's public client,
# ci = the mini issuer.
write_config() {
    file=$1
    shift
    mkdir -p "$WORK/state"
    {
        printf '[global]\nstate_dir = %s\n\n' "$WORK/state"
        printf '[provider people]\nissuer = %s\nclient_id = oidc-public\n' "$OP_URL"
        printf 'scope = openid profile email groups\nca_file = %s\n' "$IDP/ca.pem"
        for l in "$@"; do printf '%s\n' "$l"; done
        printf '\n[provider ci]\nissuer = %s\nclient_id = ci-audience\nca_file = %s\n' \
            "$MINI_URL" "$IDP/ca.pem"
        printf 'username_template = ci-{repository_owner}\ngroups_claim =\n'
    } >"$file"
    chmod 600 "$file"
}

mint() { node "$IDP_DIR/mint.mjs" --state "$IDP" "$@"; }

# nss_sanitizers SO: the sanitizer runtimes a sanitizer build of the NSS module needs loaded first
# into the (uninstrumented) tools that load it, such as getent and id, as an LD_PRELOAD list;
# empty for a normal build.
nss_sanitizers() {
    ldd "$1" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ {print $3}' | tr '\n' ':'
}
