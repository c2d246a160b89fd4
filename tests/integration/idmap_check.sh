#!/bin/sh
# UID collisions known before rollout (docs/idmap.md, section 8): `oidcctl idmap check` over name
# lists with the committed colliding pair, a local-user and a reserved-range collision, overrides
# that collide and must be refused at load, `--suggest` output applied as a drop-in, and two
# simulated hosts (two configurations with the same drop-in, two state directories, real PAM
# stacks through pamdrv, real getent through libnss_oidc.so.2 in a mount namespace) that log the
# colliding pair in opposite orders and must then agree on both passwd lines.
# Needs root (root-owned configuration, mount namespaces) and the test IdP; else exits 77.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/pam/lib.sh"

# The test vector (docs/idmap.md 8.1): two login names with one hashed uid in the default range,
# found by brute force over random 6-letter names with the frozen hash.
A=paozdy
B=yzxdfd
AB_UID=2105811470

ctl() { "$OIDCCTL" "$@"; }

# conf FILE [lines for the provider]: a provider "fleet" (default range) whose login name is the
# token's repository_owner; state in FILE.state
conf() {
    f=$1
    shift
    mkdir -p "$f.state" "$f.d"
    chmod 700 "$f.state"
    {
        printf '[global]\nstate_dir = %s\n\n' "$f.state"
        printf '[provider fleet]\nissuer = %s\nclient_id = ci-audience\nca_file = %s\n' \
            "$MINI_URL" "$IDP/ca.pem"
        printf 'username_template = {repository_owner}\nflow = token\ngroups_claim =\n'
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$f"
    chmod 600 "$f"
}

# dropin CONF NAME TEXT: CONF.d/NAME.conf with TEXT (printf format)
dropin() {
    printf "$3" >"$1.d/$2.conf"
    chmod 600 "$1.d/$2.conf"
}

start_idp
C=$WORK/c1
conf "$C"

# ---------------------------------------------------------------- the hash and the vector
# hash_uid KEY: the frozen uid hash (docs/idmap.md 3.2) in the default range, computed
# independently of the C code (node is there for the IdP anyway)
hash_uid() {
    node -e '
let h = 0xcbf29ce484222325n;
for (const b of Buffer.from("nss-pam-oidc:v1:uid:" + process.argv[1]))
    h = ((h ^ BigInt(b)) * 0x100000001b3n) % (1n << 64n);
console.log((0x70000000n + h % (0x7FFFFFFEn - 0x70000000n + 1n)).toString());' "$1"
}
check "test vector: alice hashes to 2131105965 (docs/idmap.md 3.2: the helper is right)" \
    [ "$(hash_uid alice)" = 2131105965 ]
check "test vector: $A and $B hash to uid $AB_UID (docs/idmap.md 8.1)" \
    sh -c '[ "$1" = "$3" ] && [ "$2" = "$3" ]' sh "$(hash_uid "$A")" "$(hash_uid "$B")" "$AB_UID"

# ---------------------------------------------------------------- collisions among the names
printf 'alice\n%s\n# a comment\n\nbob\n%s\n' "$A" "$B" >"$WORK/list"
expect_exit "idmap_check_reports_pair: exit 1" 1 . ctl idmap check --config "$C" "$WORK/list"
check "idmap_check_reports_pair: one line names both users and the uid" \
    sh -c "'$OIDCCTL' idmap check --config '$C' '$WORK/list' 2>/dev/null |
        grep -qx \"uid $AB_UID: user '$A' and user '$B' have the same uid\""
check "idmap_check_reports_pair: exactly one collision line" \
    [ "$(ctl idmap check --config "$C" "$WORK/list" 2>/dev/null | wc -l)" = 1 ]
printf '["alice", "%s", "%s"]\n' "$A" "$B" >"$WORK/list.json"
expect_exit "idmap_check_json_array_input: the pair is found in a JSON array too" 1 \
    "uid $AB_UID: user '$A' and user '$B'" ctl idmap check --config "$C" "$WORK/list.json"
expect_exit "idmap_check_json_output: --json names both" 1 "\"other\":[[:space:]]*\"$B\"" \
    ctl idmap check --config "$C" --json "$WORK/list"
printf 'alice\nbob\ncarol\n' >"$WORK/clean"
expect_exit "idmap_check_clean_list: exit 0" 0 '0 collisions among 3 users' \
    ctl idmap check --config "$C" "$WORK/clean"
expect_exit "idmap_check_stdin: - reads standard input" 1 "user '$A' and user '$B'" \
    sh -c "printf '%s\n%s\n' $A $B | '$OIDCCTL' idmap check --config '$C' -"
# a group's gid against a user's private group: the group devs hashes (gid domain) to 2052918232
printf 'alice\n%%devs\n' >"$WORK/grp"
expect_exit "idmap_check_group_entries: %NAME is a group with a hashed gid (no collision)" 0 \
    'among 1 user and 1 group' ctl idmap check --config "$C" "$WORK/grp"

# ---------------------------------------------------------------- bounds and usage errors
printf 'alice\nBad Name\n' >"$WORK/bad"
expect_exit "idmap_check_bad_name: exit 2 naming the line" 2 "line 2: 'Bad Name' is not a valid login name" \
    ctl idmap check --config "$C" "$WORK/bad"
awk 'BEGIN { s = ""; for (i = 0; i < 1100; i++) s = s "a"; print s }' >"$WORK/long"
expect_exit "idmap_check_line_limit: a line over 1024 bytes is refused" 2 'line 1: longer than 1024 bytes' \
    ctl idmap check --config "$C" "$WORK/long"
awk 'BEGIN { for (i = 0; i <= 1000000; i++) print "u" i }' >"$WORK/many"
expect_exit "idmap_check_count_limit: more than 1000000 entries are refused" 2 'more than 1000000 entries' \
    ctl idmap check --config "$C" "$WORK/many"
rm -f "$WORK/many"
expect_exit "idmap_check_json_not_strings: a non-string element is refused" 2 'element 2 is not a string' \
    sh -c "printf '[\"alice\", 7]' | '$OIDCCTL' idmap check --config '$C' -"
expect_exit "idmap_check_usage: no file is a usage error" 2 'Usage: oidcctl idmap check' \
    ctl idmap check --config "$C"

# ---------------------------------------------------------------- local users and groups
# A fixture /etc/passwd and /etc/group (bind-mounted in a private mount namespace) whose entries
# take alice's hashed uid and bob's hashed id as a group's gid.
ALICE_UID=2131105965
BOB_UID=2101486350
cp /etc/passwd "$WORK/passwd"
cp /etc/group "$WORK/group"
printf 'squat:x:%s:%s::/nonexistent:/usr/sbin/nologin\n' "$ALICE_UID" "$ALICE_UID" >>"$WORK/passwd"
printf 'squatgrp:x:%s:\n' "$BOB_UID" >>"$WORK/group"
local_ctl() {
    unshare --mount sh -c 'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group || exit 99
        shift 2; exec "$@"' sh "$WORK/passwd" "$WORK/group" "$OIDCCTL" "$@"
}
expect_exit "idmap_check_local_user: a local user's uid is reported" 1 \
    "uid $ALICE_UID: user 'alice' and local user 'squat' in /etc/passwd have the same uid" \
    local_ctl idmap check --config "$C" "$WORK/clean"
expect_exit "idmap_check_local_group: a local group's gid against a private group is reported" 1 \
    "gid $BOB_UID: user 'bob' \\(its private group\\) and local group 'squatgrp' in /etc/group" \
    local_ctl idmap check --config "$C" "$WORK/clean"
printf 'daemon\n' >"$WORK/localname"
expect_exit "idmap_check_local_name: a local account's name is reported" 1 \
    "name: user 'daemon' is the name of a local user in /etc/passwd" \
    ctl idmap check --config "$C" "$WORK/localname"

# ---------------------------------------------------------------- systemd's reserved ranges
R=$WORK/reserved
conf "$R" 'uid_min = 61184' 'uid_max = 65519'
expect_exit "idmap_check_reserved_range: a uid in systemd's dynamic range is reported" 1 \
    "user 'alice' is in systemd's dynamic user range 61184-65519" \
    ctl idmap check --config "$R" "$WORK/clean"

# ---------------------------------------------------------------- overrides refused at load
O=$WORK/ovr
conf "$O"
dropin "$O" 10-fleet "[provider fleet idmap]\nalice = 1900000123\n"
dropin "$O" 20-fleet "[provider fleet idmap]\nbob = 1900000123\n"
expect_exit "idmap_override_two_names_one_uid: refused at load, naming both lines" 2 \
    "uid 1900000123 is given to two names: alice at .*10-fleet.conf:2 and bob at .*20-fleet.conf:2" \
    ctl idmap check --config "$O" "$WORK/clean"
dropin "$O" 20-fleet "[provider fleet idmap]\nbob = 2147352576\n"
expect_exit "idmap_override_reserved: a uid in systemd's foreign range is refused at load" 2 \
    "bob = 2147352576 is in systemd's foreign range" ctl idmap check --config "$O" "$WORK/clean"
dropin "$O" 20-fleet "[provider fleet idmap]\nbob = 65534\n"
expect_exit "idmap_override_outside_range: a uid outside uid_min..uid_max is refused at load" 2 \
    "bob = 65534 is outside the provider's uid range" ctl idmap check --config "$O" "$WORK/clean"
dropin "$O" 20-fleet "[provider fleet idmap]\nalice = 1900000124\n"
expect_exit "idmap_override_twice: one name overridden twice is refused at load" 2 \
    "alice is overridden twice" ctl idmap check --config "$O" "$WORK/clean"
dropin "$O" 20-fleet "[provider other idmap]\nbob = 1900000124\n"
expect_exit "idmap_override_unknown_provider: an idmap section without its provider is refused" 2 \
    "\\[provider other idmap\\]: no \\[provider other\\] section is defined" \
    ctl idmap check --config "$O" "$WORK/clean"
dropin "$O" 20-fleet "[provider fleet idmap]\nbob = 1900000123\n"
stack ovr "config=$O provider=fleet"
mint --claims "{\"repository_owner\":\"bob\",\"sub\":\"u-bob\"}" >"$WORK/tok.bob"
drv -s ovr -u bob -t "$WORK/tok.bob"
check "idmap_override_refused_by_pam: a colliding override fails the PAM stack (no login)" \
    sh -c '! printf "%s\n" "$1" | grep -qx "authenticate: PAM_SUCCESS"' sh "$OUT"
check "idmap_override_refused_by_pam: syslog names the colliding lines" \
    logged "uid 1900000123 is given to two names"
# an override that collides with a local user's uid is found by idmap check
dropin "$O" 20-fleet "[provider fleet idmap]\nbob = $ALICE_UID\n"
rm -f "$O.d/10-fleet.conf"
printf 'bob\n' >"$WORK/bobonly"
expect_exit "idmap_override_local_user: an override on a local user's uid is reported" 1 \
    "uid $ALICE_UID: user 'bob' \\(override at .*20-fleet.conf:2\\) and local user 'squat'" \
    local_ctl idmap check --config "$O" "$WORK/bobonly"
expect_exit "idmap_override_hashed_name: an override on another name's hashed uid is reported" 1 \
    "uid $ALICE_UID: user 'bob' \\(override at .*\\) and user 'alice' have the same uid" \
    ctl idmap check --config "$O" "$WORK/clean"

# ---------------------------------------------------------------- --suggest
printf '%s\n%s\nalice\nbob\n' "$B" "$A" >"$WORK/pair"
ctl idmap check --config "$C" --suggest "$WORK/pair" >"$WORK/suggest" 2>"$WORK/suggest.err"
check "idmap_suggest: exit 1 (collisions were found)" [ $? = 1 ]
check "idmap_suggest: the collision is reported on stderr" \
    grep -q "uid $AB_UID: user '$A' and user '$B'" "$WORK/suggest.err"
check "idmap_suggest: stdout is a drop-in with exactly one override, for $B (the later name)" \
    [ "$(grep -v '^#' "$WORK/suggest" | tr '\n' ' ')" = "[provider fleet idmap] $B = $(hash_uid "$B#1") " ]
ctl idmap check --config "$C" --suggest "$WORK/pair" >"$WORK/suggest2" 2>/dev/null
check "idmap_suggest_deterministic: a second run prints the same lines" cmp -s "$WORK/suggest" "$WORK/suggest2"
cp "$WORK/suggest" "$C.d/fleet-idmap.conf"
chmod 600 "$C.d/fleet-idmap.conf"
expect_exit "idmap_suggest_applied: with the suggested drop-in, idmap check exits 0" 0 \
    '0 collisions among 4 users .*1 override' ctl idmap check --config "$C" "$WORK/pair"
# local and reserved collisions are resolved too
local_ctl idmap check --config "$C" --suggest "$WORK/clean" >"$WORK/suggest.local" 2>/dev/null
cp "$WORK/suggest.local" "$C.d/local-idmap.conf"
chmod 600 "$C.d/local-idmap.conf"
expect_exit "idmap_suggest_local_applied: a local-user and a local-group collision are resolved" 0 \
    '0 collisions' local_ctl idmap check --config "$C" "$WORK/clean"
rm -f "$C.d/local-idmap.conf"

# oidcctl user add pre-provisions an overridden name with its override
SUG_UID=$(hash_uid "$B#1")
expect_exit "idmap_user_add_override: user add takes the override's uid" 0 . \
    ctl user add "$B" --config "$C"
expect_exit "idmap_user_add_override: the cached entry has uid $SUG_UID" 0 \
    "\"uid\":[[:space:]]*$SUG_UID" ctl users --json --config "$C"

# ---------------------------------------------------------------- two simulated hosts
# Host 1 logs in A then B, host 2 B then A; both carry the suggested drop-in. Each login is a real
# PAM stack (token flow) writing that host's cache; then getent reads each host's cache through
# the NSS module in a mount namespace. The passwd lines must be identical on both hosts.
MKCACHE=$top_builddir/tests/nss/mkcache
SO=$top_builddir/nss/.libs/libnss_oidc.so.2
[ -x "$MKCACHE" ] && [ -f "$SO" ] || { echo "FAIL - tests/nss/mkcache or the NSS module is not built"; exit 1; }
NSS_STATE=$(dirname "$("$MKCACHE" path)")
mkdir -p "$WORK/lib"
cp "$SO" "$WORK/lib/libnss_oidc.so.2"
printf 'passwd: files oidc\ngroup: files oidc\nshadow: files\n' >"$WORK/nsswitch.conf"
NSS_SAN=$(nss_sanitizers "$SO")
export NSS_SAN
# getent_as BIN STATE NAME...: `BIN passwd NAME...` (BIN a getent) with STATE as the module's
# state directory; getent_on STATE NAME...: with the system's getent
getent_on() { getent_as getent "$@"; }
getent_as() {
    bin=$1 st=$2
    shift 2
    unshare --mount sh -c '
        bin=$1 st=$2 ns=$3 w=$4
        shift 4
        mount --make-rprivate / || exit 99
        if [ ! -d "$ns" ]; then
            anc=$ns
            while [ ! -d "$anc" ]; do anc=$(dirname "$anc"); done
            mkdir -p "$w/up" "$w/wk"
            mount -t overlay overlay -o "lowerdir=$anc,upperdir=$w/up,workdir=$w/wk" "$anc" || exit 99
            mkdir -p "$ns"
        fi
        mount --bind "$st" "$ns" && mount --bind "$w/nsswitch.conf" /etc/nsswitch.conf || exit 99
        unset _OIDC_NSS_LOOPS
        [ -z "$NSS_SAN" ] || export LD_PRELOAD="$NSS_SAN" ASAN_OPTIONS=detect_leaks=0
        LD_LIBRARY_PATH=$w/lib exec "$bin" passwd "$@"' sh "$bin" "$st" "$NSS_STATE" "$WORK" "$@"
}

# ---------------------------------------------------------------- overrides and preauth
# With preauth = yes, sshd asks NSS for a name before any token is seen and gets a provisional
# entry (docs/nss.md); its uid must be the one the login will give, so the overrides go into the
# cache with the preauth record. The NSS module answers sshd only, by its executable: a copy of
# getent named sshd stands in for it.
P=$WORK/preauth
conf "$P" 'preauth = yes' 'preauth_allow = *'
cp "$WORK/suggest" "$P.d/fleet-idmap.conf"
chmod 600 "$P.d/fleet-idmap.conf"
expect_exit "idmap_override_preauth: overrides with preauth = yes load" 0 \
    '0 collisions among 4 users .*1 override' ctl idmap check --config "$P" "$WORK/pair"
expect_exit "idmap_override_preauth: oidcctl cache sync writes the preauth record" 0 \
    'preauth record: 1 provider with preauth = yes, 1 override' ctl cache sync --config "$P"
mkdir -p "$WORK/bin"
cp "$(command -v getent)" "$WORK/bin/sshd"
PROV=$(getent_as "$WORK/bin/sshd" "$P.state" "$B" "$A")
uid_of() { printf '%s\n' "$1" | awk -F: -v n="$2" '$1 == n { print $3 ":" $4 }'; }
check "idmap_override_preauth_nss: sshd's provisional entry for $B has the override's uid $SUG_UID" \
    [ "$(uid_of "$PROV" "$B")" = "$SUG_UID:$SUG_UID" ]
check "idmap_override_preauth_nss: $A (not overridden) keeps the hashed uid $AB_UID" \
    [ "$(uid_of "$PROV" "$A")" = "$AB_UID:$AB_UID" ]
check "idmap_override_preauth_nss: getent, not sshd, gets no provisional entry" \
    [ -z "$(getent_on "$P.state" "$B")" ]
stack preauth "config=$P provider=fleet"
mint --claims "{\"repository_owner\":\"$B\",\"sub\":\"u-$B\"}" >"$WORK/tok.pre.$B"
drv -s preauth -u "$B" -t "$WORK/tok.pre.$B"
check "idmap_override_preauth_login: $B logs in" phase open_session PAM_SUCCESS
check "idmap_override_preauth_login: the cached entry has the provisional entry's uid" \
    [ "$(uid_of "$(getent_on "$P.state" "$B")" "$B")" = "$SUG_UID:$SUG_UID" ]
ctl cache verify --config "$P" >"$WORK/verify.pre" 2>&1
check "idmap_override_preauth_verify: cache verify finds the file with its override record clean" \
    [ $? = 0 ]

for h in 1 2; do
    conf "$WORK/host$h"
    cp "$WORK/suggest" "$WORK/host$h.d/fleet-idmap.conf"
    chmod 600 "$WORK/host$h.d/fleet-idmap.conf"
    stack "host$h" "config=$WORK/host$h provider=fleet"
done
login() { # login HOST NAME
    mint --claims "{\"repository_owner\":\"$2\",\"sub\":\"u-$2\",\"name\":\"User $2\"}" >"$WORK/tok.$1.$2"
    drv -s "host$1" -u "$2" -t "$WORK/tok.$1.$2"
    check "idmap_two_hosts: host $1 logs $2 in" phase open_session PAM_SUCCESS
}
login 1 "$A"
login 1 "$B"
login 2 "$B"
login 2 "$A"
H1=$(getent_on "$WORK/host1.state" "$A" "$B")
H2=$(getent_on "$WORK/host2.state" "$A" "$B")
check "idmap_two_hosts: host 1 answers both users" [ "$(printf '%s\n' "$H1" | grep -c .)" = 2 ]
check "idmap_two_hosts: $A keeps the hashed uid $AB_UID on host 1" \
    sh -c "printf '%s\n' \"\$1\" | grep -q '^$A:\*:$AB_UID:$AB_UID:'" sh "$H1"
check "idmap_two_hosts: identical getent passwd lines on both hosts" [ "$H1" = "$H2" ]
[ "$H1" = "$H2" ] || printf '    host 1: %s\n    host 2: %s\n' "$H1" "$H2"

finish
