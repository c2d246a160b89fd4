#!/bin/sh
# oidcctl askpass: answers pam_oidc's token prompts (common/tokprompt.h) in chunks, exactly as the
# module reassembles them, and refuses every other prompt with nothing on standard output.
# Needs neither the test IdP nor root: it runs oidcctl on its own.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
OIDCCTL=${OIDCCTL:-$top_builddir/tools/oidcctl}
WORK=$(mktemp -d /tmp/oidc-askpass.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
unset OIDC_TOKEN OIDC_TOKEN_FILE SSH_ASKPASS_PROMPT
# askpass sends the token only to listed hosts; the prompts below come from runner.example, as
# OpenSSH 8.4 and later show them: "(user@host) PROMPT"
export OIDC_TOKEN_HOSTS=runner.example
P='(ci@runner.example) '

. "$top_srcdir/tests/integration/results.sh"
# all NAME CONDITION...: like check, for a condition given as one shell string (&& inside)
all() {
    name=$1
    shift
    if eval "$*"; then ok "$name"; else not_ok "$name"; fi
}

# The prompts, as pam_oidc.so sends them (tokprompt.h).
BARE_FIRST='OIDC token: '
FIRST="$P$BARE_FIRST"
AUTO="${P}OIDC token (or press Enter to sign in with a browser): "
next_prompt() { printf '%sOIDC token (continued, %s bytes so far): ' "$P" "$1"; }

# b64url N: N random base64url characters
b64url() {
    head -c $(($1 * 2)) /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' | head -c "$1"
}

# A well-formed (unsigned, fake) JWS of about 4 KB: header.payload.signature.
HEADER=$(printf '{"alg":"RS256","typ":"JWT","kid":"k1"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
TOKEN="$HEADER.$(b64url 3700).$(b64url 342)"
printf '%s\n' "$TOKEN" >"$WORK/token"
SMALL="$HEADER.$(b64url 300).$(b64url 86)"
printf '%s' "$SMALL" >"$WORK/small"

# ask PROMPT [ARGS...]: runs askpass; the answer's raw bytes go to $WORK/out, the status to $RC
ask() {
    prompt=$1
    shift
    "$OIDCCTL" askpass "$@" "$prompt" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    cat "$WORK/err" >>"$WORK/allerr"
}

# reassemble FIRST_PROMPT [ARGS...]: drives askpass as the module does: strip a trailing '\' and
# prompt again with the byte count, until an answer has no '\'. Sets $GOT, $ROUNDS, $MAXLEN, and
# BAD when an answer was not terminated by exactly one newline or askpass failed.
reassemble() {
    prompt=$1
    shift
    GOT=
    ROUNDS=0
    MAXLEN=0
    BAD=
    while [ "$ROUNDS" -lt 64 ]; do
        ROUNDS=$((ROUNDS + 1))
        ask "$prompt" "$@"
        [ "$RC" = 0 ] || { BAD="exit $RC: $(cat "$WORK/err")"; return; }
        len=$(wc -c <"$WORK/out")
        [ "$len" -gt "$MAXLEN" ] && MAXLEN=$len
        [ "$(tail -c 1 "$WORK/out" | od -An -c | tr -d ' ')" = '\n' ] || { BAD="no newline"; return; }
        # $(...) strips the newline, as ssh does with the helper's output
        answer=$(cat "$WORK/out")
        case $answer in
        *'
'*) BAD="more than one line"; return ;;
        *\\)
            GOT="$GOT${answer%\\}"
            prompt=$(next_prompt ${#GOT})
            ;;
        *)
            GOT="$GOT$answer"
            return
            ;;
        esac
    done
    BAD="more than 64 rounds"
}

# reassembled NAME EXPECTED_TOKEN FIRST_PROMPT [ARGS...]
reassembled() {
    name=$1 want=$2
    shift 2
    reassemble "$@"
    if [ -z "$BAD" ] && [ "$GOT" = "$want" ]; then
        ok "$name ($ROUNDS answers)"
    else
        not_ok "$name (${BAD:-reassembled ${#GOT} bytes, wanted ${#want}})"
    fi
}

# refused NAME CODE PROMPT [ARGS...]: askpass exits CODE with nothing on standard output
refused() {
    name=$1 code=$2 prompt=$3
    shift 3
    ask "$prompt" "$@"
    if [ "$RC" = "$code" ] && [ ! -s "$WORK/out" ]; then
        ok "$name"
    else
        not_ok "$name (exit $RC, wanted $code; $(wc -c <"$WORK/out") bytes on stdout; $(cat "$WORK/err"))"
    fi
}

[ -x "$OIDCCTL" ] || { echo "no $OIDCCTL (build first)"; exit 99; }
all "the test token is about 4 KB" '[ "${#TOKEN}" -gt 4000 ] && [ "${#TOKEN}" -lt 4200 ]'

# ---- the three prompt kinds
ask "$FIRST" --token-file "$WORK/token"
check "first prompt: exit 0" [ "$RC" = 0 ]
check "first prompt: 1000 token bytes, '\\', newline" [ "$(wc -c <"$WORK/out")" = 1002 ]
check "first prompt: the token's first 1000 bytes" \
    [ "$(head -c 1000 "$WORK/out")" = "$(printf '%s' "$TOKEN" | head -c 1000)" ]
check "first prompt: continuation mark" [ "$(head -c 1001 "$WORK/out" | tail -c 1)" = '\' ]

ask "$AUTO" --token-file "$WORK/token"
all "flow=auto prompt: answered with the first chunk" \
    '[ "$RC" = 0 ] && [ "$(head -c 1000 "$WORK/out")" = "$(printf %s "$TOKEN" | head -c 1000)" ]'

ask "$(next_prompt 2000)" --token-file "$WORK/token"
all "continuation prompt: the 1000 bytes from offset 2000, then the mark" \
    '[ "$RC" = 0 ] && [ "$(cat "$WORK/out")" = "$(printf %s "$TOKEN" | cut -c 2001-3000)\\" ]'
ask "$(next_prompt 4000)" --token-file "$WORK/token"
all "continuation prompt: the last chunk has no continuation mark" \
    '[ "$RC" = 0 ] && [ "$(cat "$WORK/out")" = "$(printf %s "$TOKEN" | cut -c 4001-)" ]'

# ---- reassembly, from every token source
reassembled "4 KB token reassembled exactly (--token-file)" "$TOKEN" "$FIRST" --token-file "$WORK/token"
check "every answer fits OpenSSH's 1023-byte limit" [ "$MAXLEN" -le 1002 ]
check "5 answers for 4 KB" [ "$ROUNDS" = 5 ]
reassembled "4 KB token reassembled exactly (flow=auto prompt)" "$TOKEN" "$AUTO" --token-file "$WORK/token"
export OIDC_TOKEN_FILE="$WORK/token"
reassembled "4 KB token reassembled exactly (\$OIDC_TOKEN_FILE, as SSH_ASKPASS)" "$TOKEN" "$FIRST"
unset OIDC_TOKEN_FILE
export OIDC_TOKEN="$TOKEN"
reassembled "4 KB token reassembled exactly (\$OIDC_TOKEN)" "$TOKEN" "$FIRST"
unset OIDC_TOKEN
export CI_JOB_JWT="$TOKEN"
reassembled "4 KB token reassembled exactly (--token-env CI_JOB_JWT)" "$TOKEN" "$FIRST" --token-env CI_JOB_JWT
unset CI_JOB_JWT
reassembled "small token: one answer" "$SMALL" "$FIRST" --token-file "$WORK/small"
check "small token: no continuation mark" [ "$ROUNDS" = 1 ]
# the first 996 bytes are header.payload-prefix; ".abc" makes it a 1000-byte JWS
printf '%s' "$TOKEN" | head -c 996 >"$WORK/t1000"
printf '.abc' >>"$WORK/t1000"
reassembled "token of exactly 1000 bytes: one answer" "$(cat "$WORK/t1000")" "$FIRST" --token-file "$WORK/t1000"
check "token of exactly 1000 bytes: no continuation mark" [ "$ROUNDS" = 1 ]

# OpenSSH 8.4 and later show keyboard-interactive prompts as "(user@host) PROMPT"
refused "password prompt as ssh shows it refused" 1 "${P}Password: " --token-file "$WORK/token"
refused "a prefix that is not (user@host) refused" 1 "(runner) $BARE_FIRST" --token-file "$WORK/token"
# the host list: the token goes only to the hosts it names (ProxyJump hops and other hosts ask too)
ask "$FIRST" --token-file "$WORK/token" --hosts "bastion, runner.*"
all "host list: a listed host is answered" '[ "$RC" = 0 ] && [ "$(wc -c <"$WORK/out")" = 1002 ]'
refused "host list: an unlisted host is not answered" 1 "(ci@evil.example) $BARE_FIRST" \
    --token-file "$WORK/token" --hosts "bastion, runner.*"
check "host list: the refusal names the unlisted host" \
    grep -q "host 'evil.example' is not in the host list" "$WORK/err"
refused "host list: an unlisted host is not answered (\$OIDC_TOKEN_HOSTS)" 1 \
    "(ci@evil.example) $BARE_FIRST" --token-file "$WORK/token"
refused "host list: a prompt without (user@host) is not answered" 1 "$BARE_FIRST" \
    --token-file "$WORK/token" --hosts "runner.*"
ask "$(printf '%sWelcome\n%s' "$P" "$BARE_FIRST")" --token-file "$WORK/token"
all "host list from \$OIDC_TOKEN_HOSTS, prefix before PAM messages: answered" '[ "$RC" = 0 ]'
OIDC_TOKEN_HOSTS="bastion"
ask "$FIRST" --token-file "$WORK/token"
all "host list from \$OIDC_TOKEN_HOSTS: another host is not answered" \
    '[ "$RC" = 1 ] && [ ! -s "$WORK/out" ]'
# no host list at all: nothing is sent, and the message says how to name hosts
unset OIDC_TOKEN_HOSTS
refused "no host list: the token is sent to no host" 2 "$FIRST" --token-file "$WORK/token"
check "no host list: the refusal says how to name hosts" \
    grep -q 'name the hosts it may go to with --hosts PATTERNS or OIDC_TOKEN_HOSTS' "$WORK/err"
export OIDC_TOKEN_HOSTS=
refused "empty \$OIDC_TOKEN_HOSTS: the token is sent to no host" 2 "$FIRST" --token-file "$WORK/token"
refused "empty --hosts: the token is sent to no host" 2 "$FIRST" --token-file "$WORK/token" --hosts ' , '
export OIDC_TOKEN_HOSTS=runner.example

# sshd puts PAM text messages in front of the prompt (and ssh the host before them)
ask "$(printf '%sWelcome to the job runner\nToken logins only\n%s' "$P" "$BARE_FIRST")" \
    --token-file "$WORK/token"
all "prompt after PAM messages: answered" '[ "$RC" = 0 ] && [ "$(wc -c <"$WORK/out")" = 1002 ]'

# ---- prompts that are never answered
refused "password prompt refused" 1 "alice@runner's password: " --token-file "$WORK/token"
refused "password prompt refused before any token is read" 1 "Password: " --token-env HOME
refused "key passphrase prompt refused" 1 "Enter passphrase for key '/root/.ssh/id_ed25519': " \
    --token-file "$WORK/token"
refused "host key confirmation refused" 1 "The authenticity of host 'runner (127.0.0.1)' can't be established.
ED25519 key fingerprint is SHA256:abc.
Are you sure you want to continue connecting (yes/no/[fingerprint])? " --token-file "$WORK/token"
export SSH_ASKPASS_PROMPT=confirm
refused "token prompt while ssh asks for a confirmation refused" 1 "$FIRST" --token-file "$WORK/token"
unset SSH_ASKPASS_PROMPT
refused "our prompt text inside another prompt refused" 1 "Password for $BARE_FIRST" --token-file "$WORK/token"
refused "our prompt with trailing text refused" 1 "${FIRST}x" --token-file "$WORK/token"
refused "empty prompt refused" 1 "" --token-file "$WORK/token"
check "a refusal says why on stderr" grep -q 'not an OIDC token prompt' "$WORK/err"

# ---- malformed continuation prompts and offsets
refused "offset beyond the token refused" 2 "$(next_prompt 5000)" --token-file "$WORK/token"
refused "offset at the token's end refused" 2 "$(next_prompt ${#TOKEN})" --token-file "$WORK/token"
refused "count with a leading zero refused" 2 "$(next_prompt 01000)" --token-file "$WORK/token"
refused "negative count refused" 2 "$(next_prompt -5)" --token-file "$WORK/token"
refused "empty count refused" 2 "$(next_prompt '')" --token-file "$WORK/token"
refused "count with trailing text refused" 2 "$(next_prompt 1000)x" --token-file "$WORK/token"
refused "count in another form refused" 2 "$(next_prompt 1e3)" --token-file "$WORK/token"
refused "count over 64 bits refused" 2 "$(next_prompt 999999999999999999999999)" \
    --token-file "$WORK/token"

# ---- the token must look like a JWS
for bad in 'not a token' 'abc.def' 'a.b.c.d' 'a..c' '.b.c' 'a.b.' 'ab+c.de/f.gh' 'YWJj.ZGVm.Z2g=' \
    "$HEADER.payload.sig;rm"; do
    printf '%s' "$bad" >"$WORK/bad"
    refused "malformed token refused: '$bad'" 2 "$FIRST" --token-file "$WORK/bad"
done
head -c 17000 /dev/zero | tr '\0' 'a' >"$WORK/huge"
printf '.b.c' >>"$WORK/huge"
refused "token over 16 KB refused" 2 "$FIRST" --token-file "$WORK/huge"

# ---- where the token comes from
refused "no token source: error" 2 "$FIRST"
check "no token source: names the variables" grep -q 'OIDC_TOKEN_FILE' "$WORK/err"
export OIDC_TOKEN="$TOKEN" OIDC_TOKEN_FILE="$WORK/token"
refused "both variables set: error" 2 "$FIRST"
unset OIDC_TOKEN OIDC_TOKEN_FILE
refused "--token-file and --token-env together: error" 2 "$FIRST" --token-file "$WORK/token" \
    --token-env HOME
refused "missing token file: error" 2 "$FIRST" --token-file "$WORK/absent"
refused "unset --token-env variable: error" 2 "$FIRST" --token-env OIDC_NO_SUCH_VARIABLE
"$OIDCCTL" askpass --token-file "$WORK/token" >"$WORK/out" 2>&1
check "no prompt argument: exit 2" [ $? = 2 ]
check "no part of the token ever appeared on stderr" \
    sh -c '! grep -qF "$1" "$2"' - "$(printf %s "$TOKEN" | cut -c 100-140)" "$WORK/allerr"

finish
