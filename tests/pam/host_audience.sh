#!/bin/sh
# host_audience through a real Linux-PAM stack, with tokens minted by the bundled issuer: two
# hosts of one fleet (private UTS namespaces named a.example.test and b.example.test, each with
# its own replay store, one shared configuration) show that without host_audience a token one
# host accepted is accepted by the other, and that with it a token minted for host A is refused
# on host B (naming both audiences) and accepted on A. Also: a token whose aud lacks the host, a
# string aud, the azp rule, {fqdn} from /etc/hosts (and a refusal when it cannot be derived),
# host_name, {hostname}, a bad template at configuration load, device logins, and what
# oidcctl check-config and verify-token show.
. "$(dirname "$0")/lib.sh"
start_idp

HA=a.example.test
HB=b.example.test

# on HOST HOSTS_FILE CMD...: CMD on a simulated host: a private UTS namespace named HOST and, unless
# HOSTS_FILE is -, that file bind-mounted over /etc/hosts (a private mount namespace: the machine's
# /etc/hosts is untouched). Used for the driver (with drv's /dev/log set-up) and for oidcctl.
ON='
    w=$1 h=$2 hf=$3
    shift 3
    hostname "$h" || exit 98
    if [ "$hf" != - ]; then mount --bind "$hf" /etc/hosts || exit 97; fi
    mount --rbind /dev "$w/olddev" && mount -t tmpfs tmpfs /dev || exit 99
    for f in "$w"/olddev/*; do ln -sfn "$f" /dev/; done
    ln -sfn "$w/log.sock" /dev/log
    exec "$@"'
# drv_on HOST HOSTS_FILE ARGS...: pamdrv on that host; output in $OUT, exit code in $RC
drv_on() {
    h=$1 hf=$2
    shift 2
    OUT=$(unshare --uts --mount sh -c "$ON" sh "$WORK" "$h" "$hf" "$PAMDRV" -d "$CONFDIR" "$@" \
        2>"$WORK/drv.err")
    RC=$?
    printf '%s\n' "$OUT" >>"$WORK/drv.all"
}
# ctl_on HOST HOSTS_FILE ARGS...: oidcctl on that host; output (stdout and stderr) in $OUT
ctl_on() {
    h=$1 hf=$2
    shift 2
    OUT=$(unshare --uts --mount sh -c "$ON" sh "$WORK" "$h" "$hf" "$OIDCCTL" "$@" 2>&1)
    RC=$?
}
out_has() { printf '%s\n' "$OUT" | grep -Eq -- "$1"; }

# fleet LINES...: the one configuration every host has (ci provider lines added), and a stack per
# host whose only difference is the state directory (each host keeps its own replay store);
# $GLOBAL, when set, is one more [global] line
GLOBAL=
fleet() {
    write_pam_config "$@"
    for h in a b; do
        mkdir -p "$WORK/state.$h"
        chmod 700 "$WORK/state.$h"
        sed -e "s|^state_dir = .*|state_dir = $WORK/state.$h|" \
            -e "/^state_dir = /a\\
$GLOBAL" "$CONF" >"$WORK/conf.$h"
        chmod 600 "$WORK/conf.$h"
        stack "tok-$h" "config=$WORK/conf.$h provider=ci flow=token"
    done
}

# mint_aud FILE AUD_JSON [mint options]: a ci token (owner org) whose aud is AUD_JSON
mint_aud() {
    f=$1 aud=$2
    shift 2
    mint --claims "{\"repository_owner\":\"org\",\"repository\":\"org/app\",\"aud\":$aud}" "$@" >"$f"
    cp "$f" "$WORK/tokens.$(basename "$f")"
}

# transcript_has FILE PATTERN: the user was told (the conversation transcript matches)
transcript_has() { grep -Eq -- "$2" "$1"; }

# --- without host_audience: replay protection is per host, so host B takes what host A took
fleet
mint_aud "$WORK/plain" '"ci-audience"'
drv_on $HA - -s tok-a -u ci-org -t "$WORK/plain" -o auth
check "host_audience = no: host A accepts the token" phase authenticate PAM_SUCCESS
drv_on $HA - -s tok-a -u ci-org -t "$WORK/plain" -o auth
check "host_audience = no: host A refuses it a second time (replay)" phase authenticate PAM_AUTH_ERR
drv_on $HB - -s tok-b -u ci-org -t "$WORK/plain" -o auth
check "host_audience = no: host B accepts the same token (what host_audience is for)" \
    phase authenticate PAM_SUCCESS

# --- host_audience = yes, one configuration for the fleet
fleet 'host_audience = yes'
mint_aud "$WORK/for-a" "[\"ci-audience\",\"host:$HA\"]"
drv_on $HB - -s tok-b -u ci-org -t "$WORK/for-a" -T "$WORK/transcript.b" -o auth
check "token for host A on host B: refused" phase authenticate PAM_AUTH_ERR
check "token for host A on host B: the user is told the audience host B expects" \
    transcript_has "$WORK/transcript.b" "Login refused: this host requires audience 'host:$HB' \(host_audience\)"
check "token for host A on host B: the message shows the token's audiences" \
    transcript_has "$WORK/transcript.b" "but the token's audience is 'ci-audience', 'host:$HA': it was not minted for this host"
check "token for host A on host B: audit names the expected audience" \
    logged "result=failure .*reason=\"this host requires audience 'host:$HB'"
drv_on $HA - -s tok-a -u ci-org -t "$WORK/for-a"
check "token for host A (aud array) on host A: authenticate succeeds" phase authenticate PAM_SUCCESS
check "token for host A on host A: account succeeds" phase acct_mgmt PAM_SUCCESS
check "token for host A on host A: session opens" phase open_session PAM_SUCCESS
drv_on $HA - -s tok-a -u ci-org -t "$WORK/for-a" -o auth
check "token for host A on host A a second time: refused (replay)" phase authenticate PAM_AUTH_ERR
check "replay is still refused as a replay" logged 'result=failure .*reason="[^"]*already used'

mint_aud "$WORK/no-host" '"ci-audience"'
drv_on $HA - -s tok-a -u ci-org -t "$WORK/no-host" -T "$WORK/transcript.nohost" -o auth
check "aud without this host's audience: refused" phase authenticate PAM_AUTH_ERR
check "aud without this host's audience: the message names host:$HA and the token's aud" \
    transcript_has "$WORK/transcript.nohost" "this host requires audience 'host:$HA' \(host_audience\), but the token's audience is 'ci-audience':"

mint_aud "$WORK/a-only" "\"host:$HA\""
drv_on $HA - -s tok-a -u ci-org -t "$WORK/a-only" -T "$WORK/transcript.aonly" -o auth
check "aud of this host only: refused, the provider's audience is still required" \
    phase authenticate PAM_AUTH_ERR
check "aud of this host only: the message names the provider's audience" \
    transcript_has "$WORK/transcript.aonly" "but the configuration accepts 'ci-audience'"

mint_aud "$WORK/third" "[\"ci-audience\",\"host:$HA\",\"someone-else\"]"
drv_on $HA - -s tok-a -u ci-org -t "$WORK/third" -o auth
check "aud with this host and a third party, no azp: refused (azp rule)" \
    phase authenticate PAM_AUTH_ERR
check "aud with a third party: the reason is the missing azp" \
    logged 'reason="token has several audiences but no authorized party \(azp\) claim"'
mint --claims "{\"repository_owner\":\"org\",\"aud\":[\"ci-audience\",\"host:$HA\",\"someone-else\"],\"azp\":\"ci-audience\"}" \
    >"$WORK/azp"
cp "$WORK/azp" "$WORK/tokens.azp"
drv_on $HA - -s tok-a -u ci-org -t "$WORK/azp" -o auth
check "aud with this host and a third party, azp = client: accepted" phase authenticate PAM_SUCCESS

# a string aud (issuers that mint one audience per token): the fleet's hosts in audience
fleet 'host_audience = yes' "audience = ci-audience host:$HA host:$HB"
mint_aud "$WORK/str-a" "\"host:$HA\""
drv_on $HB - -s tok-b -u ci-org -t "$WORK/str-a" -o auth
check "string aud host:$HA on host B: refused" phase authenticate PAM_AUTH_ERR
check "string aud host:$HA on host B: audit names host:$HB" \
    logged "reason=\"this host requires audience 'host:$HB' \(host_audience\), but the token's audience is 'host:$HA':"
drv_on $HA - -s tok-a -u ci-org -t "$WORK/str-a" -o auth
check "string aud host:$HA on host A: accepted" phase authenticate PAM_SUCCESS

# --- {fqdn} from /etc/hosts when the host name has no dot
fleet 'host_audience = yes'
printf '127.0.0.1 localhost\n# comment a.wrong.test a\n127.0.1.1\tA.Example.Test  a # this host\n' \
    >"$WORK/hosts.a"
printf '127.0.0.1 localhost\n' >"$WORK/hosts.none"
printf '127.0.1.1 a\n' >"$WORK/hosts.short"
chmod 644 "$WORK/hosts.a" "$WORK/hosts.none" "$WORK/hosts.short"
mint_aud "$WORK/fqdn" "[\"ci-audience\",\"host:$HA\"]"
drv_on a "$WORK/hosts.a" -s tok-a -u ci-org -t "$WORK/fqdn" -o auth
check "host name 'a', /etc/hosts gives a.example.test: token for host A accepted" \
    phase authenticate PAM_SUCCESS
mint_aud "$WORK/fqdn2" "[\"ci-audience\",\"host:$HA\"]"
drv_on a "$WORK/hosts.none" -s tok-a -u ci-org -t "$WORK/fqdn2" -T "$WORK/transcript.nofqdn" -o auth
check "host name 'a' in no /etc/hosts line: refused (fails closed)" \
    phase authenticate PAM_SERVICE_ERR
check "host name 'a' in no /etc/hosts line: the message says what to set" \
    transcript_has "$WORK/transcript.nofqdn" "cannot tell this host's fully qualified name for \{fqdn\}: the host name 'a' \(from gethostname\(\)\) has no dot.*set host_name"
drv_on a "$WORK/hosts.short" -s tok-a -u ci-org -t "$WORK/fqdn2" -T "$WORK/transcript.short" -o auth
check "/etc/hosts names 'a' with no domain: refused" phase authenticate PAM_SERVICE_ERR
check "/etc/hosts names 'a' with no domain: the message says so" \
    transcript_has "$WORK/transcript.short" "the /etc/hosts name 'a' of 'a' has no dot"
chmod 666 "$WORK/hosts.a"
drv_on a "$WORK/hosts.a" -s tok-a -u ci-org -t "$WORK/fqdn2" -o auth
check "a world-writable /etc/hosts: refused" phase authenticate PAM_SERVICE_ERR
check "a world-writable /etc/hosts: the reason names it" logged 'reason="host_audience: /etc/hosts refused'
chmod 644 "$WORK/hosts.a"

# --- host_name ([global]) replaces gethostname(); {hostname}
GLOBAL="host_name = $HA"
fleet 'host_audience = yes'
drv_on $HB - -s tok-b -u ci-org -t "$WORK/fqdn2" -o auth
check "host_name = $HA on a host named $HB: the token for host A is accepted" \
    phase authenticate PAM_SUCCESS
GLOBAL='host_name = a'
fleet 'host_audience = yes'
mint_aud "$WORK/fqdn3" "[\"ci-audience\",\"host:$HA\"]"
drv_on $HB "$WORK/hosts.a" -s tok-b -u ci-org -t "$WORK/fqdn3" -o auth
check "host_name = a (no dot) on $HB: {fqdn} from /etc/hosts, token for host A accepted" \
    phase authenticate PAM_SUCCESS
GLOBAL=
fleet 'host_audience = yes' 'host_audience_template = runner/{hostname}'
mint_aud "$WORK/runner" '["ci-audience","runner/build-7"]'
drv_on build-8 - -s tok-b -u ci-org -t "$WORK/runner" -o auth
check "{hostname}: a token for runner/build-7 on build-8: refused" phase authenticate PAM_AUTH_ERR
check "{hostname}: the refusal names runner/build-8" logged "this host requires audience 'runner/build-8'"
drv_on Build-7 - -s tok-a -u ci-org -t "$WORK/runner" -o auth
check "{hostname}: on Build-7 (lower-cased) the token is accepted" phase authenticate PAM_SUCCESS

# --- a bad template is a configuration error: every login through the file fails closed
fleet 'host_audience = yes' 'host_audience_template = host:{ip}'
mint_aud "$WORK/badtmpl" "[\"ci-audience\",\"host:$HA\"]"
drv_on $HA - -s tok-a -u ci-org -t "$WORK/badtmpl" -o auth
check "host_audience_template with {ip}: PAM_SERVICE_ERR" phase authenticate PAM_SERVICE_ERR
check "host_audience_template with {ip}: logged at LOG_ALERT with the line and the rule" \
    logged "^<81>.*conf\.a:[0-9]+: host_audience_template: 'host:\{ip\}' has a placeholder other than \{hostname\} or \{fqdn\}"
ctl_on $HA - check-config --offline --config "$WORK/conf.a"
check "host_audience_template with {ip}: check-config fails" [ "$RC" != 0 ]
check "host_audience_template with {ip}: check-config names the key" \
    out_has 'host_audience_template: .*placeholder other than'

# --- device logins: the host fetches the ID token itself (aud = client_id): not subject to it
{
    printf '[global]\nstate_dir = %s\n\n' "$WORK/state.a"
    printf '[provider people]\nissuer = %s\nclient_id = oidc-public\n' "$OP_URL"
    printf 'scope = openid profile email groups\nca_file = %s\nhost_audience = yes\n' "$IDP/ca.pem"
} >"$WORK/conf.dev"
chmod 600 "$WORK/conf.dev"
stack dev "config=$WORK/conf.dev provider=people flow=device timeout=30"
approve="node $IDP_DIR/approve.mjs --state $IDP --user-code \"\$OIDC_USER_CODE\" --user alice --password alice-pw >/dev/null 2>&1"
drv_on $HA - -s dev -u alice -A "$approve" -o auth
check "device login with host_audience = yes: succeeds (the ID token's aud is the client)" \
    phase authenticate PAM_SUCCESS

# --- oidcctl shows the host audience
fleet 'host_audience = yes'
ctl_on $HA - check-config --offline --config "$WORK/conf.a"
check "check-config on host A: the expected host audience and its origin" \
    out_has "ok +host audience: presented tokens must carry aud 'host:$HA' as well \(template host:\{fqdn\}; \{fqdn\} = $HA from gethostname\(\)\)"
ctl_on a "$WORK/hosts.a" check-config --offline --config "$WORK/conf.a"
check "check-config on host 'a': {fqdn} from /etc/hosts" \
    out_has "aud 'host:$HA' as well \(template host:\{fqdn\}; \{fqdn\} = $HA from /etc/hosts\)"
ctl_on a "$WORK/hosts.none" check-config --offline --config "$WORK/conf.a"
check "check-config on host 'a' without /etc/hosts line: a PROBLEM" \
    out_has "PROBLEM +host audience: host_audience: cannot tell this host's fully qualified name"
check "check-config on host 'a' without /etc/hosts line: fails" [ "$RC" != 0 ]
fleet 'host_audience_template = runner/{hostname}'
ctl_on $HA - check-config --offline --config "$WORK/conf.a"
check "check-config: a template without host_audience = yes is a warning" \
    out_has 'warning +host audience: host_audience_template is set, but host_audience = no'
fleet 'host_audience = yes'
mint_aud "$WORK/verify" "[\"ci-audience\",\"host:$HA\"]"
ctl_on $HB - verify-token --config "$WORK/conf.b" --provider ci "$WORK/verify"
check "verify-token on host B: refused" [ "$RC" != 0 ]
check "verify-token on host B: names the audience host B expects" \
    out_has "token refused: this host requires audience 'host:$HB' \(host_audience\), but the token's audience is 'ci-audience', 'host:$HA'"
ctl_on $HA - verify-token --config "$WORK/conf.a" --provider ci "$WORK/verify"
check "verify-token on host A: valid" [ "$RC" = 0 ]
check "verify-token on host A: shows the host audience it required" \
    out_has "^host audience: 'host:$HA' present \(host_audience = yes; template host:\{fqdn\}"
ctl_on $HA - verify-token --json --config "$WORK/conf.a" --provider ci "$WORK/verify"
check "verify-token --json on host A: host_audience in the answer" \
    out_has "\"host_audience\":[[:space:]]*\"host:$HA\""

no_token_logged "no token appears in syslog, driver output, transcripts or IdP logs"
finish
