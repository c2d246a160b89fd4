#!/bin/sh
# oidcctl verify-token against the bundled minimal issuer: good tokens of every algorithm, and one
# refusal per verification rule as a user meets it.
. "$(dirname "$0")/lib.sh"
start_idp
CONF=$WORK/conf
write_config "$CONF"
T=$WORK/tok
CI_CLAIMS='{"repository_owner":"org","repository":"org/app","ref":"refs/heads/main"}'

for alg in ES256 RS256 EdDSA; do
    mint --alg $alg --claims "$CI_CLAIMS" >"$T"
    expect_exit "$alg token verifies and maps to ci-org" 0 'name: +ci-org' \
        "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
done
expect_exit "token from standard input" 0 'token valid' \
    sh -c "mint() { node '$IDP_DIR/mint.mjs' --state '$IDP' \"\$@\"; }; mint --claims '$CI_CLAIMS' | '$OIDCCTL' verify-token --config '$CONF' --provider ci -"
# --token-file: a regular file only; FIFOs, devices, symlinks and directories are refused at once
mint --claims "$CI_CLAIMS" >"$T"
expect_exit "token file: a regular file works" 0 'token valid' \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mkfifo "$WORK/fifo"
start=$(date +%s)
expect_exit "token file: a FIFO is refused without blocking" 2 'is a FIFO, not a regular file' \
    timeout 10 "$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/fifo"
check "token file: the FIFO refusal came at once" [ $(($(date +%s) - start)) -le 3 ]
expect_exit "token file: /dev/zero is refused" 2 'is a device, not a regular file' \
    timeout 10 "$OIDCCTL" verify-token --config "$CONF" --provider ci /dev/zero
ln -s "$T" "$WORK/link"
expect_exit "token file: a symbolic link is refused" 2 'is a symbolic link: not followed' \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/link"
mkdir "$WORK/dir"
expect_exit "token file: a directory is refused" 2 'is a directory, not a regular file' \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$WORK/dir"
expect_exit "token file: - reads standard input" 0 'token valid' \
    sh -c "'$OIDCCTL' verify-token --config '$CONF' --provider ci - <'$T'"

mint --claims "$CI_CLAIMS" >"$T"
out=$("$OIDCCTL" verify-token --config "$CONF" --provider ci --json "$T")
check "--json output has the uid from the published hash" \
    sh -c "printf '%s' '$out' | node -e 'let s=\"\";process.stdin.on(\"data\",d=>s+=d).on(\"end\",()=>{const o=JSON.parse(s);process.exit(o.valid===true&&o.identity.name===\"ci-org\"&&o.identity.uid===2015927503&&o.identity.gid===2015927503&&o.claims.repository===\"org/app\"?0:1)})'"

# offline: keys from a file, no provider traffic
curl -sf --cacert "$IDP/ca.pem" "$MINI_URL/jwks" >"$WORK/jwks.json"
mint --claims '{"preferred_username":"robot"}' >"$T"
expect_exit "offline verification with --jwks and --issuer/--audience" 0 'name: +robot' \
    "$OIDCCTL" verify-token --issuer "$MINI_URL" --audience ci-audience --jwks "$WORK/jwks.json" "$T"
expect_exit "--now in the future reports expiry" 1 'expired' \
    "$OIDCCTL" verify-token --issuer "$MINI_URL" --audience ci-audience --jwks "$WORK/jwks.json" \
    --now $(($(date +%s) + 3600)) "$T"

# refusals, each naming its rule
mint --claims "$CI_CLAIMS" --exp-in -120 >"$T"
expect_exit "expired token refused" 1 'expired' "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims "$CI_CLAIMS" --aud someone-else >"$T"
expect_exit "wrong audience refused, both values named" 1 "audience in token is 'someone-else' but the configuration accepts 'ci-audience'" \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims "$CI_CLAIMS" --iss "$MINI_URL/" >"$T"
expect_exit "issuer with a trailing slash refused" 1 "issuer in token is '$MINI_URL/' but the configuration says '$MINI_URL'" \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims "$CI_CLAIMS" --alg none >"$T"
expect_exit "alg none refused" 1 "never accepted" "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims "$CI_CLAIMS" --alg HS256 >"$T"
expect_exit "HS256 signed with the public key refused" 1 "HMAC" "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims "$CI_CLAIMS" --unpublished >"$T"
expect_exit "unpublished key refused after one refetch" 1 "no key with kid" \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims "$CI_CLAIMS" --header '{"jku":"https://127.0.0.1:1/jwks"}' >"$T"
expect_exit "jku header refused" 1 "'jku' is refused" "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims '{"repository_owner":"Org With Space"}' >"$T"
expect_exit "name that is not POSIX-safe refused" 1 "not a valid POSIX name" \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
mint --claims '{"repository_owner":null}' >"$T"
expect_exit "missing template claim refused" 1 "repository_owner" \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"

# large tokens: a 5 KB token is fine, one over 16 KiB is refused as too large
big=$(head -c 3000 /dev/zero | tr '\0' a)
mint --claims "{\"repository_owner\":\"org\",\"pad\":\"$big\"}" >"$T"
expect_exit "token over 4 KB verifies" 0 'token valid' "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
huge=$(head -c 13000 /dev/zero | tr '\0' a)
mint --claims "{\"repository_owner\":\"org\",\"pad\":\"$huge\"}" >"$T"
expect_exit "token over 16 KiB refused" 1 'at most 16384' "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"

# the IdP goes away: cached keys keep working, a cold cache fails quickly and says why
mint --claims "$CI_CLAIMS" >"$T"
"$OIDCCTL" verify-token --config "$CONF" --provider ci "$T" >/dev/null 2>&1
"$IDP_DIR/idp-ctl.sh" stop "$IDP" >/dev/null
expect_exit "IdP down, warm cache: token still verifies" 0 'token valid' \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
rm -rf "$WORK/state"
start=$(date +%s)
expect_exit "IdP down, cold cache: refused as unreachable" 1 'cannot reach' \
    "$OIDCCTL" verify-token --config "$CONF" --provider ci "$T"
check "cold-cache failure came within the connect timeout" [ $(($(date +%s) - start)) -le 6 ]

finish
