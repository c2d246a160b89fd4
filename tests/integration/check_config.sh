#!/bin/sh
# oidcctl check-config: a good configuration passes; each typical mistake is reported with a fix.
. "$(dirname "$0")/lib.sh"
start_idp
CONF=$WORK/conf

write_config "$CONF"
expect_exit "good configuration: no problems" 0 '0 problems' "$OIDCCTL" check-config --config "$CONF"
expect_exit "good configuration: device endpoint found" 0 'ok +device flow' "$OIDCCTL" check-config --config "$CONF"
expect_exit "good configuration: keys counted" 0 'ok +jwks: 2 usable signing keys' \
    "$OIDCCTL" check-config --config "$CONF" --provider people

sed "s|^issuer = $OP_URL\$|issuer = $OP_URL/|" "$CONF" >"$CONF.slash"
chmod 600 "$CONF.slash"
expect_exit "issuer with a trailing slash: named with a fix" 1 'trailing slash' \
    "$OIDCCTL" check-config --config "$CONF.slash" --provider people

grep -v '^ca_file' "$CONF" >"$CONF.noca"
chmod 600 "$CONF.noca"
expect_exit "private CA without ca_file: certificate problem with a fix" 1 'ca_file' \
    "$OIDCCTL" check-config --config "$CONF.noca" --provider people

sed 's/^client_id = oidc-public$/client_ld = oidc-public/' "$CONF" >"$CONF.typo"
chmod 600 "$CONF.typo"
expect_exit "misspelt key: file, line and suggestion" 2 "conf.typo:[0-9]+: client_ld: .*client_id" \
    "$OIDCCTL" check-config --config "$CONF.typo"

printf '[provider people]\nissuer = https://127.0.0.1:9\nclient_id = x\nconnect_timeout = 2\n' >"$CONF.down"
chmod 600 "$CONF.down"
expect_exit "unreachable IdP: reported as a problem" 1 'PROBLEM +discovery: cannot reach' \
    "$OIDCCTL" check-config --config "$CONF.down"

printf '[provider people]\nissuer = %s\nclient_id = oidc-public\naudience = something-else\nca_file = %s\n' \
    "$OP_URL" "$IDP/ca.pem" >"$CONF.aud"
chmod 600 "$CONF.aud"
expect_exit "audience without the client_id: warned with a fix" 0 "warning +audience" \
    "$OIDCCTL" check-config --config "$CONF.aud"

# a slow IdP: accepts the connection, never answers; the whole-request timeout ends the wait
node -e 'const s=require("net").createServer(c=>{}).listen(0,"127.0.0.1",()=>{require("fs").writeFileSync(process.argv[1],String(s.address().port))});setTimeout(()=>process.exit(0),30000)' "$WORK/slow.port" &
slow_pid=$!
for _ in $(seq 50); do [ -s "$WORK/slow.port" ] && break; sleep 0.1; done
printf '[provider people]\nissuer = https://127.0.0.1:%s\nclient_id = x\ntimeout = 2\n' "$(cat "$WORK/slow.port")" >"$CONF.slow"
chmod 600 "$CONF.slow"
start=$(date +%s)
expect_exit "slow IdP: reported as a timeout" 1 'PROBLEM +discovery: .*([Tt]imeout|timed out)' \
    "$OIDCCTL" check-config --config "$CONF.slow"
check "slow IdP: gave up within the configured 2 s timeout (<= 4 s)" [ $(($(date +%s) - start)) -le 4 ]
kill "$slow_pid" 2>/dev/null

chmod 666 "$CONF"
expect_exit "world-writable configuration refused" 2 'group or others write' "$OIDCCTL" check-config --config "$CONF"

finish
