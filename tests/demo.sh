#!/bin/sh
# The demo: build nss-pam-oidc, start the bundled OpenID Provider on loopback HTTPS, and sign in
# with the device flow as a person would (the browser step is automated), then verify a CI-style
# token. Leaves nothing running and changes no system file.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Dependencies (Debian packages and the test IdP's Node modules)"
tests/install-deps.sh
step "2. Build"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
mkdir -p build-demo
cd build-demo
[ -f Makefile ] || ../configure --quiet >/dev/null
make -s -j"$(nproc)" tools/oidcctl >/dev/null
OIDCCTL=$PWD/tools/oidcctl
echo "built $OIDCCTL"

WORK=$(mktemp -d /tmp/oidc-demo.XXXXXX)
IDP=$WORK/idp
trap '"$ROOT/tests/idp/idp-ctl.sh" stop "$IDP" >/dev/null 2>&1; rm -rf "$WORK"' EXIT INT TERM

step "3. Start the bundled OpenID Provider (oidc-provider on 127.0.0.1, HTTPS with a fresh test CA)"
"$ROOT/tests/idp/idp-ctl.sh" start "$IDP" 2>/dev/null >/dev/null
OP=$(cat "$IDP/op.url")
MINI=$(cat "$IDP/mini.url")
echo "issuer: $OP"

step "4. Configuration (/etc is untouched: the demo uses its own file)"
CONF=$WORK/nss-pam-oidc.conf
cat >"$CONF" <<CONF
[global]
state_dir = $WORK/state

[provider people]
issuer = $OP
client_id = oidc-public
scope = openid profile email groups
ca_file = $IDP/ca.pem

[provider ci]
issuer = $MINI
client_id = ci-audience
ca_file = $IDP/ca.pem
username_template = ci-{repository_owner}
groups_claim =
CONF
chmod 600 "$CONF"
cat "$CONF"
"$OIDCCTL" check-config --config "$CONF"

step "5. Device login: oidcctl shows a URL and a code; 'alice' approves in her browser"
OUT=$WORK/login.out
"$OIDCCTL" login --config "$CONF" --provider people --timeout 60 >"$OUT" 2>&1 &
pid=$!
code=
for _ in $(seq 100); do
    code=$(sed -n 's/.*shows the code: *\([A-Z0-9-]*\).*/\1/p' "$OUT")
    [ -n "$code" ] && break
    sleep 0.1
done
cat "$OUT"
[ -n "$code" ] || { echo "demo: no code was shown"; exit 1; }
echo "[browser] alice opens the URL, checks code $code, signs in and approves"
node "$ROOT/tests/idp/approve.mjs" --state "$IDP" --user-code "$code" --user alice --password alice-pw
wait $pid
sed -n '/Waiting for approval/,$p' "$OUT" | tail -n +2

step "6. A CI job's token (GitHub-Actions-like claims), verified against the second issuer"
TOKEN=$WORK/ci.jwt
node "$ROOT/tests/idp/mint.mjs" --state "$IDP" --alg ES256 \
    --claims '{"repository_owner":"org","repository":"org/app","ref":"refs/heads/main","run_id":"42"}' >"$TOKEN"
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$TOKEN" | grep -E '^token valid|^identity|^  (name|uid):'

step "7. A forged token (signed with a key the issuer never published) is refused"
node "$ROOT/tests/idp/mint.mjs" --state "$IDP" --unpublished --claims '{"repository_owner":"org"}' >"$TOKEN"
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$TOKEN" || echo "(exit $?: refused, as it must be)"

step "Done: the IdP is stopped and the temporary files removed"
