#!/bin/sh
# oidcctl users / groups / user add / user del / prune / cache verify / cache sync against a
# temporary configuration and state directory, a corrupt cache that must be refused and left
# alone, and 200 concurrent `oidcctl user add` processes that must all land in one valid file.
# Needs no IdP; needs root (the configuration file must be root-owned), else exits 77.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
OIDCCTL=${OIDCCTL:-$top_builddir/tools/oidcctl}
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: the configuration must be root-owned, so these tests run as root"
    exit 77
fi
WORK=$(mktemp -d /tmp/oidc-cache.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
STATE=$WORK/state
CONF=$WORK/conf
CACHE=$STATE/cache.cdb

. "$top_srcdir/tests/integration/results.sh"
write_config() { # write_config [home template of the preauth provider]
    {
        printf '[global]\nstate_dir = %s\n\n' "$STATE"
        printf '[provider people]\nissuer = https://idp.example.test\nclient_id = c1\n'
        printf 'preauth = yes\npreauth_allow = *\nhome = %s\n\n' "${1:-/home/{name\}}"
        printf '[provider subj]\nissuer = https://other.example.test\nclient_id = c2\n'
        printf 'uid_key = subject\n\n'
        printf '[provider numeric]\nissuer = https://third.example.test\nclient_id = c3\n'
        printf 'uid_key = claim:uidNumber\n'
    } >"$CONF"
    chmod 600 "$CONF"
}
ctl() { "$OIDCCTL" "$@" --config "$CONF"; }

write_config

# --- an empty cache
expect_exit "users on a missing cache lists nobody" 0 '^0 users' ctl users
expect_exit "users --json on a missing cache is []" 0 '^\[\]$' ctl users --json
expect_exit "groups on a missing cache lists nothing" 0 '^0 groups' ctl groups
expect_exit "cache verify on a missing cache is clean" 0 'cache OK: 0 users' ctl cache verify

# --- pre-provisioning
expect_exit "user add pre-provisions a name" 0 'added alice: uid [0-9]+, provider people' \
    ctl user add alice --provider people
check "the cache file is root-owned, mode 0644" test "$(stat -c '%a %U' "$CACHE")" = "644 root"
check "the state directory is root-owned, mode 0755" test "$(stat -c '%a %U' "$STATE")" = "755 root"
expect_exit "users lists it, pre-provisioned and unbound, never expiring" 0 \
    '^alice +[0-9]+ people +- +never +preprovisioned,unbound' ctl users
expect_exit "user add of a cached name refused" 1 "'alice' is already in the cache" \
    ctl user add alice --provider people
expect_exit "user add of root refused" 2 "not a usable login name" ctl user add root --provider people
expect_exit "user add of an invalid name refused" 2 "not a usable login name" \
    ctl user add Bad.Name --provider people
expect_exit "user add of a local account refused" 1 "local account in /etc/passwd" \
    ctl user add daemon --provider people
expect_exit "uid_key = subject needs --subject" 2 "uid_key = subject.*--subject" \
    ctl user add bob --provider subj
expect_exit "uid_key = subject with --subject binds at once" 0 'added bob: .*bound to the given subject' \
    ctl user add bob --provider subj --subject 0f6a5c1e-7b1d --gecos "Bob B"
expect_exit "uid_key = claim cannot be pre-provisioned" 2 "claim:uidNumber" \
    ctl user add carl --provider numeric
expect_exit "unknown provider refused" 2 "no provider named 'nope'" ctl user add dora --provider nope
expect_exit "users shows bob's subject" 0 '^bob +[0-9]+ subj .*preprovisioned +0f6a5c1e-7b1d$' ctl users
out=$(ctl users --json)
check "users --json carries name, provider, subject and flags" sh -c \
    "printf '%s' '$out' | tr -d '\t\n ' | grep -q '\"name\":\"bob\",\"uid\":[0-9]*,\"gid\":[0-9]*,\"gecos\":\"BobB\".*\"provider\":\"subj\",\"issuer\":\"https://other.example.test\",\"subject\":\"0f6a5c1e-7b1d\".*\"flags\":\\[\"preprovisioned\"\\]'"
expect_exit "groups --json is a JSON array" 0 '^\[\]$' ctl groups --json
expect_exit "cache verify clean after changes" 0 'cache OK: 2 users' ctl cache verify

# --- delete and prune
expect_exit "user del removes a user" 0 'removed alice' ctl user del alice
expect_exit "user del of an absent user fails" 1 "'alice' is not in the cache" ctl user del alice
expect_exit "users no longer lists alice" 0 '^1 user$' ctl users
expect_exit "prune keeps entries that never expire" 0 'removed 0 expired entries' ctl prune

# --- the preauth record
expect_exit "cache sync writes the preauth record" 0 'cache file rewritten .preauth record: 1 provider' ctl cache sync
expect_exit "cache sync again changes nothing" 0 'cache file unchanged' ctl cache sync
ino=$(stat -c %i "$CACHE")
ctl cache sync >/dev/null
check "an unchanged sync does not replace the file" test "$(stat -c %i "$CACHE")" = "$ino"
write_config '/home/{email}'
expect_exit "the configuration refuses a preauth home with a claim placeholder" 2 \
    "provider 'people': home: with preauth = yes the template may use only \{name\}" ctl cache sync
write_config
expect_exit "cache verify clean with a preauth record" 0 'cache OK' ctl cache verify

# --- usage errors
expect_exit "user without a verb" 2 "expected 'add' or 'del'" "$OIDCCTL" user
expect_exit "cache without a verb" 2 "expected 'verify' or 'sync'" "$OIDCCTL" cache
expect_exit "users with an argument" 2 "unexpected argument" ctl users extra
expect_exit "users with an option it does not take" 2 "option --provider is not used here" \
    ctl users --provider people
expect_exit "user add without a name" 2 "expected one NAME" ctl user add

# --- a corrupt cache is refused and left alone
cp "$CACHE" "$WORK/good.cdb"
printf 'garbage, not a cdb' >"$CACHE"
expect_exit "cache verify reports a corrupt file" 1 'problem: .*not a CDB file' ctl cache verify
expect_exit "users refuses a corrupt file" 1 'corrupt' ctl users
expect_exit "user add refuses a corrupt file" 1 'corrupt.*nothing was changed' \
    ctl user add erin --provider people
check "the corrupt file was not overwritten" sh -c "printf 'garbage, not a cdb' | cmp -s - '$CACHE'"
cp "$WORK/good.cdb" "$CACHE"

# --- an unsafe state directory is refused
chmod 0775 "$STATE"
expect_exit "a group-writable state directory is refused" 1 'writable by group or others' \
    ctl user add erin --provider people
chmod 0755 "$STATE"

# --- 200 concurrent writers, one user each
mkdir "$WORK/rc"
i=0
while [ $i -lt 200 ]; do
    (ctl user add "c$i" --provider people >/dev/null 2>"$WORK/rc/$i.err"; echo $? >"$WORK/rc/$i") &
    i=$((i + 1))
done
wait
bad=$(cat "$WORK"/rc/[0-9]* | grep -cv '^0$')
check "200 concurrent user add processes all succeed" test "$bad" = 0
[ "$bad" = 0 ] || head -n 3 "$WORK"/rc/*.err | head -n 12
n=$(ctl users | grep -c '^c[0-9]* ')
check "all 200 concurrently added users are present ($n)" test "$n" = 200
expect_exit "cache verify clean after 200 concurrent writers" 0 'cache OK: 201 users' ctl cache verify
check "no temporary file left behind" test "$(ls "$STATE" | grep -c '^cache\.cdb\.')" = 0

finish
