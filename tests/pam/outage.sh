#!/bin/sh
# pam_oidc when the IdP is down: with warm discovery/JWKS caches token logins still work; with
# cold caches the answer is PAM_AUTHINFO_UNAVAIL, within the configured HTTP timeout, both when
# the IdP refuses connections and when it accepts them and never answers.
. "$(dirname "$0")/lib.sh"
start_idp
write_pam_config 'timeout = 3' 'connect_timeout = 2'
stack tok "provider=ci"
stack dev "provider=people flow=device timeout=10"

mint_ci "$WORK/warm"
drv -s tok -u ci-org -t "$WORK/warm" -o auth
check "IdP up: token login (warms the caches)" phase authenticate PAM_SUCCESS

"$IDP_DIR/idp-ctl.sh" stop "$IDP" >/dev/null
mint_ci "$WORK/down" 2>/dev/null || true
drv -s tok -u ci-org -t "$WORK/down" -o auth,acct
check "IdP down, warm keys: token login works" phase authenticate PAM_SUCCESS
check "IdP down, warm keys: account works" phase acct_mgmt PAM_SUCCESS

# cold: an empty state directory
STATE=$WORK/state-cold
mkdir -p "$STATE"
chmod 700 "$STATE"
write_pam_config 'timeout = 3' 'connect_timeout = 2'
mint_ci "$WORK/cold"
start=$(date +%s)
drv -s tok -u ci-org -t "$WORK/cold" -o auth
took=$(($(date +%s) - start))
check "IdP down (refused), cold caches: PAM_AUTHINFO_UNAVAIL" phase authenticate PAM_AUTHINFO_UNAVAIL
check "IdP down (refused), cold caches: fast (${took}s)" [ "$took" -le 5 ]
check "IdP down: audit says unavailable" logged 'result=unavailable .*provider="ci"'
drv -s dev -u alice -A true -o auth
check "IdP down: device login is PAM_AUTHINFO_UNAVAIL" phase authenticate PAM_AUTHINFO_UNAVAIL

# an IdP that accepts connections and never answers (stopped process)
start_idp
STATE=$WORK/state-hang
mkdir -p "$STATE"
chmod 700 "$STATE"
write_pam_config 'timeout = 3' 'connect_timeout = 2'
mint_ci "$WORK/hang"
MINI_STOPPED=$(cat "$IDP/mini.pid")
kill -STOP "$MINI_STOPPED"
start=$(date +%s)
drv -s tok -u ci-org -t "$WORK/hang" -o auth
took=$(($(date +%s) - start))
kill -CONT "$MINI_STOPPED"
MINI_STOPPED=
check "IdP hanging, cold caches: PAM_AUTHINFO_UNAVAIL" phase authenticate PAM_AUTHINFO_UNAVAIL
check "IdP hanging: within the 3 s timeout (+3 s), took ${took}s" [ "$took" -le 6 ]

no_token_logged "no token in any log"
finish
