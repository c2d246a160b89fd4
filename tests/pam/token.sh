#!/bin/sh
# pam_oidc token logins through a real Linux-PAM stack: good, expired, wrong audience, wrong
# issuer, replayed, for another user, a 4 KB token in chunks, PAM_AUTHTOK, flow=auto, token
# expiry in the account phase, and the audit lines (never a token).
. "$(dirname "$0")/lib.sh"
start_idp
write_pam_config
stack tok "provider=ci flow=token"

mint_ci "$WORK/good"
drv -s tok -u ci-org -r 192.0.2.7 -t "$WORK/good" -T "$WORK/transcript.good"
check "good token: authenticate succeeds" phase authenticate PAM_SUCCESS
check "good token: account succeeds" phase acct_mgmt PAM_SUCCESS
check "good token: setcred succeeds" phase setcred PAM_SUCCESS
check "good token: session opens" phase open_session PAM_SUCCESS
check "good token: session closes" phase close_session PAM_SUCCESS
check "good token: one prompt, the token prompt" \
    [ "$(grep -c '^\[' "$WORK/transcript.good")" = 1 ]
check "good token: it is 'OIDC token: ' (echo off)" grep -qx '\[1\] OIDC token: ' "$WORK/transcript.good"
check "audit: success line with service, user, rhost, provider, issuer, subject, jti, groups" \
    logged "audit: phase=auth result=success service=\"tok\" user=\"ci-org\" rhost=\"192.0.2.7\" provider=\"ci\" issuer=\"$MINI_URL\" subject=\"repo:org/app:ref:refs/heads/main\" jti=\"[^\"-][^\"]*\" groups=\"deploy\" flow=\"token\""
check "audit: account decision logged" logged 'audit: phase=account result=success .*user="ci-org"'

drv -s tok -u ci-org -t "$WORK/good"
check "replayed token: refused" phase authenticate PAM_AUTH_ERR
check "replayed token: audit names the reuse" logged 'result=failure .*reason="[^"]*already used'

# A token without jti is known by its signed part: an ES256 signature (r, s) has a second valid
# form (r, n - s), and re-encoding it must not make the token new.
mint --claims '{"repository_owner":"org","repository":"org/app","ref":"refs/heads/main","groups":["deploy"],"jti":null}' >"$WORK/nojti"
node -e '
const t = require("fs").readFileSync(process.argv[1], "utf8").trim().split(".");
const sig = Buffer.from(t[2], "base64url");
const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const s = n - BigInt("0x" + sig.subarray(32).toString("hex"));
const s2 = Buffer.from(s.toString(16).padStart(64, "0"), "hex");
process.stdout.write(t[0] + "." + t[1] + "." + Buffer.concat([sig.subarray(0, 32), s2]).toString("base64url") + "\n");
' "$WORK/nojti" >"$WORK/nojti.other"
check "no-jti ES256 token: the re-encoded signature is another string" \
    sh -c "! cmp -s '$WORK/nojti' '$WORK/nojti.other'"
drv -s tok -u ci-org -t "$WORK/nojti"
check "no-jti ES256 token: first use succeeds" phase authenticate PAM_SUCCESS
drv -s tok -u ci-org -t "$WORK/nojti.other"
check "no-jti ES256 token with its second signature form: refused as a replay" \
    phase authenticate PAM_AUTH_ERR
check "no-jti ES256 token with its second signature form: audit names the reuse" \
    logged 'result=failure .*reason="[^"]*already used[^"]*no jti'

mint_ci "$WORK/expired" --exp-in -600
drv -s tok -u ci-org -t "$WORK/expired" -T "$WORK/transcript.expired"
check "expired token: refused" phase authenticate PAM_AUTH_ERR
check "expired token: the user is told why (PAM_ERROR_MSG)" \
    grep -q '^\[3\] Login refused: .*expired' "$WORK/transcript.expired"
drv -s tok -u ci-org -t "$WORK/expired" -T "$WORK/transcript.silent" -S
check "expired token, PAM_SILENT: nothing is shown" \
    sh -c "! grep -q 'Login refused' '$WORK/transcript.silent'"

mint_ci "$WORK/aud" --aud someone-else
drv -s tok -u ci-org -t "$WORK/aud"
check "wrong audience: refused" phase authenticate PAM_AUTH_ERR
check "wrong audience: audit names the audience" logged 'reason="[^"]*someone-else'

mint_ci "$WORK/iss" --iss https://evil.example.test
drv -s tok -u ci-org -t "$WORK/iss"
check "wrong issuer: refused" phase authenticate PAM_AUTH_ERR
check "wrong issuer: audit names the issuer" logged 'reason="[^"]*evil.example.test'

mint_ci "$WORK/other"
drv -s tok -u ci-someone -t "$WORK/other"
check "token for another user: refused" phase authenticate PAM_AUTH_ERR
check "token for another user: audit says whose it is" logged "reason=\"the token is for 'ci-org', not for the PAM user\""
check "token for another user: no session environment" sh -c '! printf "%s\n" "$1" | grep -q "^env: "' sh "$OUT"

mint_ci "$WORK/nouser"
drv -s tok -t "$WORK/nouser"
check "no PAM user given: the token's identity becomes PAM_USER" has '^user: ci-org$'
check "no PAM user given: login succeeds" phase authenticate PAM_SUCCESS

# a 4 KB token: chunks of at most 1000 bytes (tokprompt.h), as oidcctl askpass answers
pad=$(head -c 3000 /dev/zero | tr '\0' 'x')
mint --claims "{\"repository_owner\":\"org\",\"pad\":\"$pad\"}" >"$WORK/big"
cp "$WORK/big" "$WORK/tokens.big"
big_len=$(wc -c <"$WORK/big")
drv -s tok -u ci-org -t "$WORK/big" -k 1000 -T "$WORK/transcript.big"
check "4 KB token ($big_len bytes) is over 4096 bytes" [ "$big_len" -gt 4096 ]
check "4 KB token in 1000-byte chunks: login succeeds" phase authenticate PAM_SUCCESS
check "4 KB token: the module asked for continuations with the offset" \
    grep -q 'OIDC token (continued, 4000 bytes so far): ' "$WORK/transcript.big"
check "4 KB token: five prompts" [ "$(grep -c '^\[1\]' "$WORK/transcript.big")" = 5 ]

# use_first_pass: the token comes from PAM_AUTHTOK, set by pam_unix's password prompt (as in
# an sshd password stack); pam_oidc asks nothing itself
mint_ci "$WORK/authtok"
{
    printf 'auth optional pam_unix.so\n'
    printf 'auth required %s config=%s provider=ci flow=token use_first_pass\n' "$MODULE" "$CONF"
} >"$CONFDIR/first"
drv -s first -u ci-org -a "Password=@$WORK/authtok" -T "$WORK/transcript.first" -o auth
check "use_first_pass: the token from PAM_AUTHTOK logs in" phase authenticate PAM_SUCCESS
check "use_first_pass: pam_oidc itself asked nothing" sh -c '! grep -q "OIDC token" "$1"' sh "$WORK/transcript.first"
drv -s first -u ci-org -a "Password=not-a-token" -o auth
check "use_first_pass with a password that is no token: refused" phase authenticate PAM_AUTH_ERR

# flow=auto: one prompt that takes a token (or Enter for the browser)
stack auto "provider=ci flow=auto"
mint_ci "$WORK/auto"
drv -s auto -u ci-org -t "$WORK/auto" -T "$WORK/transcript.auto"
check "flow=auto: a pasted token logs in" phase authenticate PAM_SUCCESS
check "flow=auto: the prompt offers the browser" \
    grep -q 'OIDC token (or press Enter to sign in with a browser): ' "$WORK/transcript.auto"

# an empty answer in flow=token
drv -s tok -u ci-org -a 'OIDC token=' -o auth
check "empty answer: refused" phase authenticate PAM_AUTH_ERR

# token expiry in the account phase (leeway 0, a token valid for 2 s, account after 4 s)
write_pam_config 'leeway = 0'
mint_ci "$WORK/short" --exp-in 2
drv -s tok -u ci-org -t "$WORK/short" -P 4 -o auth,acct
check "short token: authenticate succeeds" phase authenticate PAM_SUCCESS
check "short token: account phase reports expiry" phase acct_mgmt PAM_ACCT_EXPIRED
check "short token: audit says expired" logged 'phase=account result=expired .*reason="the token has expired"'

# a local account is not ours: no prompt, another module decides
probe probe "provider=ci flow=token"
drv -s probe -u root -T "$WORK/transcript.root"
check "local user: authenticate is PAM_USER_UNKNOWN" phase authenticate PAM_USER_UNKNOWN
check "local user: account is PAM_IGNORE" phase acct_mgmt $IGNORED
check "local user: open_session is PAM_IGNORE" phase open_session $IGNORED
check "local user: close_session is PAM_IGNORE" phase close_session $IGNORED
check "local user: no prompt" sh -c '! grep -q "^\[[12]\]" "$1"' sh "$WORK/transcript.root"
drv -s probe -u root -o setcred
check "local user: setcred is PAM_IGNORE" phase setcred $IGNORED

# an unknown module argument is an error, not ignored
stack bad "provider=ci flow=token no_such_option=1"
drv -s bad -u ci-org -t "$WORK/good" -o auth
check "unknown argument: PAM_SERVICE_ERR" phase authenticate PAM_SERVICE_ERR
check "unknown argument: logged at LOG_ERR" logged '^<83>.*no_such_option'

no_token_logged "no token appears in syslog, driver output, transcripts or IdP logs"
finish
