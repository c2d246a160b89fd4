#!/usr/bin/env bash
# shellcheck disable=SC2317  # helpers are called through check()/trap
# Self test of the bundled test IdP: starts it in a temporary state dir,
# runs device flows, the approver, the mini issuer and key rotation, stops it.
# Prints "N passed, M failed"; exit status 0 only when nothing failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CTL="$HERE/idp-ctl.sh"
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION COMMAND...
  local d="$1"
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
nonempty() { local a; for a in "$@"; do [ -n "$a" ] || return 1; done; }
finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
  exit $?
}

if [ -n "${IDP_NODE_MODULES:-}" ]; then
  [ -d "$IDP_NODE_MODULES/node_modules/oidc-provider" ] || [ -d "$IDP_NODE_MODULES/oidc-provider" ]
else
  [ -d "$HERE/node_modules/oidc-provider" ]
fi || { bad "node modules present (run 'npm ci' in $HERE)"; finish; }
ok "node modules present"

S="$(mktemp -d "${TMPDIR:-/tmp}/idp-selftest.XXXXXX")"
cleanup() {
  "$CTL" stop "$S" >/dev/null 2>&1 || true
  rm -rf "$S"
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers

# jget PATH  (JSON on stdin; dotted path, numeric parts index arrays)
jget() {
  node -e '
    let v; try { v = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { process.exit(1); }
    for (const k of process.argv[1].split(".").filter(Boolean)) v = v == null ? undefined : v[k];
    if (v === undefined) process.exit(1);
    process.stdout.write(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1"
}
# jwt_part N TOKEN -> decoded JSON of part N (0 header, 1 payload)
jwt_part() {
  node -e 'process.stdout.write(Buffer.from(process.argv[2].split(".")[+process.argv[1]], "base64url").toString())' "$1" "$2"
}
# verify_jwt TOKEN JWKS_URL -> exit 0 if the signature verifies with the key named by kid
cat >"$S/verify.mjs" <<'EOF'
import crypto from 'node:crypto';
import fs from 'node:fs';
const [token, jwksFile] = process.argv.slice(2);
const [h, p, s] = token.split('.');
const header = JSON.parse(Buffer.from(h, 'base64url'));
const jwk = JSON.parse(fs.readFileSync(jwksFile, 'utf8')).keys.find((k) => k.kid === header.kid);
if (!jwk) process.exit(2);
const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
const data = Buffer.from(`${h}.${p}`);
const sig = Buffer.from(s, 'base64url');
const ok = {
  RS256: () => crypto.verify('sha256', data, key, sig),
  ES256: () => crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig),
  EdDSA: () => crypto.verify(null, data, key, sig),
}[header.alg]?.();
process.exit(ok ? 0 : 1);
EOF
approve() { node "$HERE/approve.mjs" "$@" >/dev/null; }
verify_jwt() {
  curl -sS --cacert "$S/ca.pem" "$2" -o "$S/jwks.tmp" && node "$S/verify.mjs" "$1" "$S/jwks.tmp"
}

GRANT=urn:ietf:params:oauth:grant-type:device_code
SCOPE="openid profile email groups"
OP=""
MINI=""

# device_auth ARGS... -> JSON on stdout
device_auth() { curl -sS --cacert "$S/ca.pem" "$@" "$OP/device/auth"; }

# poll_token DEVICE_CODE INTERVAL CURL_AUTH_ARGS... -> final JSON on stdout
poll_token() {
  local dc="$1" iv="$2" out
  shift 2
  for _ in $(seq 1 30); do
    out="$(curl -sS --cacert "$S/ca.pem" "$@" -d grant_type="$GRANT" -d device_code="$dc" "$OP/token")"
    if [ "$(printf '%s' "$out" | jget error 2>/dev/null)" != authorization_pending ]; then
      printf '%s' "$out"
      return 0
    fi
    sleep "$iv"
  done
  printf '%s' "$out"
}

# ---------------------------------------------------------------- start

t0=$(date +%s%N)
if "$CTL" start "$S" 2>"$S/start.err"; then
  ok "start ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
else
  cat "$S/start.err"
  bad "start"
  finish
fi
OP="$(cat "$S/op.url")"
MINI="$(cat "$S/mini.url")"
check "op.url is https://127.0.0.1:PORT" grep -qE '^https://127\.0\.0\.1:[0-9]+$' "$S/op.url"
check "mini.url is https://127.0.0.1:PORT" grep -qE '^https://127\.0\.0\.1:[0-9]+$' "$S/mini.url"
DISCO="$(curl -sS --cacert "$S/ca.pem" "$OP/.well-known/openid-configuration")"
check "OP discovery issuer = op.url" [ "$(printf '%s' "$DISCO" | jget issuer)" = "$OP" ]
check "OP discovery device_authorization_endpoint" \
  [ "$(printf '%s' "$DISCO" | jget device_authorization_endpoint)" = "$OP/device/auth" ]
check "server cert valid for localhost too" \
  curl -sS -o /dev/null --cacert "$S/ca.pem" --resolve "localhost:${OP##*:}:127.0.0.1" "https://localhost:${OP##*:}/jwks"

# ---------------------------------------------------------------- public client, alice

DA="$(device_auth -d client_id=oidc-public -d "scope=$SCOPE")"
UC="$(printf '%s' "$DA" | jget user_code)"
DC="$(printf '%s' "$DA" | jget device_code)"
IV="$(printf '%s' "$DA" | jget interval)"
check "device authorization returns user_code/device_code" nonempty "$UC" "$DC"
check "device authorization has interval=1" [ "$IV" = 1 ]
check "device authorization has verification_uri_complete" \
  [ "$(printf '%s' "$DA" | jget verification_uri_complete)" = "$OP/device?user_code=$UC" ]
PENDING="$(curl -sS --cacert "$S/ca.pem" -d client_id=oidc-public -d grant_type="$GRANT" -d device_code="$DC" "$OP/token")"
check "token endpoint says authorization_pending before approval" [ "$(printf '%s' "$PENDING" | jget error)" = authorization_pending ]
check "approve.mjs as alice" approve --state "$S" --user-code "$UC" --user alice --password alice-pw
TOK="$(poll_token "$DC" "${IV:-1}" -d client_id=oidc-public)"
IDT="$(printf '%s' "$TOK" | jget id_token)"
AT="$(printf '%s' "$TOK" | jget access_token)"
if [ -n "$IDT" ]; then
  ok "token response has id_token"
  HDR="$(jwt_part 0 "$IDT")"
  PAY="$(jwt_part 1 "$IDT")"
  check "ID token alg RS256" [ "$(printf '%s' "$HDR" | jget alg)" = RS256 ]
  check "ID token iss = op.url" [ "$(printf '%s' "$PAY" | jget iss)" = "$OP" ]
  check "ID token aud = oidc-public" [ "$(printf '%s' "$PAY" | jget aud)" = oidc-public ]
  check "ID token sub = sub-alice" [ "$(printf '%s' "$PAY" | jget sub)" = sub-alice ]
  check "ID token preferred_username = alice" [ "$(printf '%s' "$PAY" | jget preferred_username)" = alice ]
  check "ID token groups = [admins,devs]" [ "$(printf '%s' "$PAY" | jget groups)" = '["admins","devs"]' ]
  check "ID token uid_number = 5001" [ "$(printf '%s' "$PAY" | jget uid_number)" = 5001 ]
  check "ID token email/name" [ "$(printf '%s' "$PAY" | jget email)/$(printf '%s' "$PAY" | jget name)" = "alice@example.test/Alice Admin" ]
  check "ID token signature verifies against OP JWKS" verify_jwt "$IDT" "$OP/jwks"
  FIRST_KID="$(printf '%s' "$HDR" | jget kid)"
else
  bad "token response has id_token: $TOK"
fi
UI="$(curl -sS --cacert "$S/ca.pem" -H "Authorization: Bearer $AT" "$OP/me")"
check "userinfo has preferred_username/groups/uid_number" \
  [ "$(printf '%s' "$UI" | jget preferred_username)|$(printf '%s' "$UI" | jget groups)|$(printf '%s' "$UI" | jget uid_number)" = 'alice|["admins","devs"]|5001' ]
AGAIN="$(curl -sS --cacert "$S/ca.pem" -d client_id=oidc-public -d grant_type="$GRANT" -d device_code="$DC" "$OP/token")"
check "device code cannot be redeemed twice" [ "$(printf '%s' "$AGAIN" | jget error)" = invalid_grant ]

# ---------------------------------------------------------------- deny / wrong password

DA="$(device_auth -d client_id=oidc-public -d "scope=$SCOPE")"
check "approve.mjs --deny" approve --state "$S" --user-code "$(printf '%s' "$DA" | jget user_code)" \
  --user bob --password bob-pw --deny
TOK="$(poll_token "$(printf '%s' "$DA" | jget device_code)" 1 -d client_id=oidc-public)"
check "denied flow gets access_denied" [ "$(printf '%s' "$TOK" | jget error)" = access_denied ]

DA="$(device_auth -d client_id=oidc-public -d "scope=$SCOPE")"
node "$HERE/approve.mjs" --state "$S" --user-code "$(printf '%s' "$DA" | jget user_code)" \
  --user alice --password wrong-pw 2>"$S/approve.err"
RC=$?
check "approve.mjs with wrong password exits 3 (got $RC)" [ "$RC" = 3 ]
node "$HERE/approve.mjs" --state "$S" --user-code "ZZZZ-ZZZZ" --user alice --password alice-pw 2>"$S/approve.err"
RC=$?
check "approve.mjs with unknown user code exits 4 (got $RC)" [ "$RC" = 4 ]

# ---------------------------------------------------------------- confidential clients

DA="$(device_auth -u oidc-confidential:confidential-secret -d "scope=$SCOPE offline_access")"
check "approve.mjs --uri (verification_uri_complete) as bob" \
  approve --state "$S" --uri "$(printf '%s' "$DA" | jget verification_uri_complete)" --user bob --password bob-pw
TOK="$(poll_token "$(printf '%s' "$DA" | jget device_code)" 1 -u oidc-confidential:confidential-secret)"
IDT="$(printf '%s' "$TOK" | jget id_token)"
if [ -n "$IDT" ]; then
  check "confidential (basic) ID token is ES256" [ "$(jwt_part 0 "$IDT" | jget alg)" = ES256 ]
  check "confidential ID token preferred_username = bob" [ "$(jwt_part 1 "$IDT" | jget preferred_username)" = bob ]
  check "confidential ES256 ID token verifies" verify_jwt "$IDT" "$OP/jwks"
  check "offline_access yields a refresh_token" [ -n "$(printf '%s' "$TOK" | jget refresh_token)" ]
else
  bad "confidential client token: $TOK"
fi
R="$(device_auth -d client_id=oidc-confidential -d client_secret=confidential-secret -d "scope=openid")"
check "basic-registered client rejected with client_secret_post" [ "$(printf '%s' "$R" | jget error)" = invalid_client ]
R="$(device_auth -u oidc-confidential:wrong-secret -d "scope=openid")"
check "wrong client secret rejected" [ "$(printf '%s' "$R" | jget error)" = invalid_client ]

DA="$(device_auth -d client_id=oidc-confidential-post -d client_secret=confidential-secret -d "scope=$SCOPE")"
check "approve.mjs as Dave.Mixed" approve --state "$S" --user-code "$(printf '%s' "$DA" | jget user_code)" \
  --user Dave.Mixed --password dave-pw
TOK="$(poll_token "$(printf '%s' "$DA" | jget device_code)" 1 -d client_id=oidc-confidential-post -d client_secret=confidential-secret)"
IDT="$(printf '%s' "$TOK" | jget id_token)"
check "confidential-post ID token preferred_username = Dave.Mixed@Example.Test" \
  [ "$(jwt_part 1 "${IDT:-x.e30.x}" | jget preferred_username)" = Dave.Mixed@Example.Test ]
R="$(device_auth -u oidc-confidential-post:confidential-secret -d "scope=openid")"
check "post-registered client rejected with client_secret_basic" [ "$(printf '%s' "$R" | jget error)" = invalid_client ]

# ---------------------------------------------------------------- mini issuer + mint

MD="$(curl -sS --cacert "$S/ca.pem" "$MINI/.well-known/openid-configuration")"
check "mini discovery issuer = mini.url" [ "$(printf '%s' "$MD" | jget issuer)" = "$MINI" ]
check "mini discovery jwks_uri" [ "$(printf '%s' "$MD" | jget jwks_uri)" = "$MINI/jwks" ]
check "mini JWKS sends Cache-Control: max-age=300" \
  sh -c "curl -sS -D- -o /dev/null --cacert '$S/ca.pem' '$MINI/jwks' | grep -qi '^cache-control: max-age=300'"
MJ="$(curl -sS --cacert "$S/ca.pem" "$MINI/jwks")"
check "mini JWKS has 3 keys with use/alg" [ "$(printf '%s' "$MJ" | node -e '
  const k = JSON.parse(require("fs").readFileSync(0, "utf8")).keys;
  process.stdout.write(k.filter((x) => x.use === "sig" && x.kid && !x.d).map((x) => x.alg).sort().join(","))')" = "ES256,EdDSA,RS256" ]
for alg in ES256 RS256 EdDSA; do
  T="$(node "$HERE/mint.mjs" --state "$S" --alg "$alg")"
  KID="$(jwt_part 0 "$T" | jget kid)"
  check "mint $alg: kid $KID published in mini JWKS" sh -c "printf '%s' '$MJ' | grep -qF '\"kid\":\"$KID\"'"
  check "mint $alg: signature verifies" verify_jwt "$T" "$MINI/jwks"
done
T="$(node "$HERE/mint.mjs" --state "$S")"
P="$(jwt_part 1 "$T")"
check "mint defaults (iss, aud, sub, exp-iat=300)" [ "$(printf '%s' "$P" | jget iss)|$(printf '%s' "$P" | jget aud)|$(printf '%s' "$P" | jget sub)|$(( $(printf '%s' "$P" | jget exp) - $(printf '%s' "$P" | jget iat) ))" = "$MINI|ci-audience|repo:org/app:ref:refs/heads/main|300" ]
T="$(node "$HERE/mint.mjs" --state "$S" --alg RS256 --unpublished)"
KID="$(jwt_part 0 "$T" | jget kid)"
check "mint --unpublished kid not in JWKS" sh -c "! printf '%s' '$MJ' | grep -qF '\"kid\":\"$KID\"'"
T="$(node "$HERE/mint.mjs" --state "$S" --no-kid --iat-offset -600 --exp-in -60 --claims '{"aud":null,"extra":"x"}' --header '{"typ":"at+jwt"}')"
check "mint --no-kid/--claims null/--header/negative offsets" [ "$(jwt_part 0 "$T" | jget kid 2>/dev/null || echo none)|$(jwt_part 0 "$T" | jget typ)|$(jwt_part 1 "$T" | jget aud 2>/dev/null || echo none)|$(jwt_part 1 "$T" | jget extra)" = "none|at+jwt|none|x" ]
# shellcheck disable=SC2016
BIG="$(node -e 'process.stdout.write(JSON.stringify({groups: Array.from({length: 800}, (_, i) => `group-${i}`)}))')"
T="$(node "$HERE/mint.mjs" --state "$S" --alg EdDSA --claims "$BIG")"
check "mint a token > 4 KB (${#T} bytes) that verifies" sh -c "[ ${#T} -gt 4096 ] && node '$S/verify.mjs' '$T' '$S/jwks.tmp'"

# ---------------------------------------------------------------- rotate / retire

NEWKID="$("$CTL" rotate "$S" 2>>"$S/rotate.err")"
check "rotate prints a new kid ($NEWKID)" nonempty "$NEWKID"
check "rotated kid differs from the first kid" [ "$NEWKID" != "${FIRST_KID:-}" ]
check "rotate keeps op.url" [ "$(cat "$S/op.url")" = "$OP" ]
J="$(curl -sS --cacert "$S/ca.pem" "$OP/jwks")"
check "after rotate JWKS has new and old kid" sh -c "printf '%s' '$J' | grep -qF '\"kid\":\"$NEWKID\"' && printf '%s' '$J' | grep -qF '\"kid\":\"${FIRST_KID:-none}\"'"
DA="$(device_auth -d client_id=oidc-public -d "scope=$SCOPE")"
node "$HERE/approve.mjs" --state "$S" --user-code "$(printf '%s' "$DA" | jget user_code)" --user carol --password carol-pw >/dev/null
TOK="$(poll_token "$(printf '%s' "$DA" | jget device_code)" 1 -d client_id=oidc-public)"
IDT="$(printf '%s' "$TOK" | jget id_token)"
check "after rotate new ID tokens use the new kid" [ "$(jwt_part 0 "${IDT:-e30.e30.x}" | jget kid)" = "$NEWKID" ]
check "carol's ID token has groups [] and uid_number 5003" \
  [ "$(jwt_part 1 "${IDT:-e30.e30.x}" | jget groups)|$(jwt_part 1 "${IDT:-e30.e30.x}" | jget uid_number)" = "[]|5003" ]
"$CTL" retire "$S" >/dev/null 2>>"$S/rotate.err"
J="$(curl -sS --cacert "$S/ca.pem" "$OP/jwks")"
check "after retire old kid gone, new kid kept" sh -c "printf '%s' '$J' | grep -qF '\"kid\":\"$NEWKID\"' && ! printf '%s' '$J' | grep -qF '\"kid\":\"${FIRST_KID:-none}\"'"
check "after retire ES256 key still published" [ "$(printf '%s' "$J" | node -e '
  process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8")).keys.filter((k) => k.alg === "ES256").length))')" = 1 ]

# ---------------------------------------------------------------- knobs (restart in place)

if IDP_DEVICE_INTERVAL=2 IDP_SLOW_DOWN=1 IDP_ID_TOKEN_TTL=120 "$CTL" start "$S" 2>>"$S/start.err"; then
  ok "restart with IDP_DEVICE_INTERVAL=2 IDP_SLOW_DOWN=1 IDP_ID_TOKEN_TTL=120"
else
  bad "restart with knobs"
fi
check "restart keeps op.url and mini.url" [ "$(cat "$S/op.url") $(cat "$S/mini.url")" = "$OP $MINI" ]
DA="$(device_auth -d client_id=oidc-public -d "scope=$SCOPE")"
check "device authorization has interval=2" [ "$(printf '%s' "$DA" | jget interval)" = 2 ]
DC="$(printf '%s' "$DA" | jget device_code)"
curl -sS --cacert "$S/ca.pem" -d client_id=oidc-public -d grant_type="$GRANT" -d device_code="$DC" "$OP/token" >/dev/null
R="$(curl -sS --cacert "$S/ca.pem" -d client_id=oidc-public -d grant_type="$GRANT" -d device_code="$DC" "$OP/token")"
check "IDP_SLOW_DOWN=1: early poll gets slow_down" [ "$(printf '%s' "$R" | jget error)" = slow_down ]
# a fresh device code: its first poll is never early
DA="$(device_auth -d client_id=oidc-public -d "scope=$SCOPE")"
DC="$(printf '%s' "$DA" | jget device_code)"
approve --state "$S" --user-code "$(printf '%s' "$DA" | jget user_code)" --user alice --password alice-pw
TOK="$(curl -sS --cacert "$S/ca.pem" -d client_id=oidc-public -d grant_type="$GRANT" -d device_code="$DC" "$OP/token")"
IDT="$(printf '%s' "$TOK" | jget id_token)"
check "IDP_ID_TOKEN_TTL=120: exp - iat = 120" \
  [ "$(( $(jwt_part 1 "${IDT:-e30.eyJleHAiOjAsImlhdCI6MH0.x}" | jget exp) - $(jwt_part 1 "${IDT:-e30.eyJleHAiOjAsImlhdCI6MH0.x}" | jget iat) ))" = 120 ]

# ---------------------------------------------------------------- stop

PIDS="$(cat "$S/op.pid" "$S/mini.pid" 2>/dev/null | tr '\n' ' ')"
check "stop" "$CTL" stop "$S"
alive_any() {
  local p st
  for p in $PIDS; do
    st="$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)"
    [ -n "$st" ] && [ "$st" != Z ] && return 0
  done
  pgrep -f -- "--state $S" >/dev/null 2>&1 && return 0
  return 1
}
if alive_any; then bad "no server processes remain after stop"; else ok "no server processes remain after stop"; fi
check "ports closed after stop" sh -c "! curl -s --max-time 2 --cacert '$S/ca.pem' '$OP/jwks' >/dev/null && ! curl -s --max-time 2 --cacert '$S/ca.pem' '$MINI/jwks' >/dev/null"
check "stop again is a no-op" "$CTL" stop "$S"

finish
