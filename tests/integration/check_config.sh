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

chmod 666 "$CONF"
expect_exit "world-writable configuration refused" 2 'group or others write' "$OIDCCTL" check-config --config "$CONF"

finish
