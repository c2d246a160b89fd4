#!/bin/sh
# oidcctl doctor against a whole host in the sandbox (lib.sh: an overlay on /etc, a private state
# directory): the real sshd -T, the PAM stacks under /etc/pam.d (common-auth written by the real
# pam-auth-update from packaging/pam-configs/oidc), /etc/nsswitch.conf, the bundled IdP and a
# stand-in IdP whose Date header is an hour ahead. First a good host, where doctor exits 0 (also
# with --json); then each broken situation, built on that host and put back afterwards, must be
# named: UsePAM no, LoginGraceTime shorter than the device login, AuthenticationMethods without
# keyboard-interactive, PermitRootLogin yes, a `sufficient` pam_oidc.so line (in common-auth and
# in the sshd file), pam_oidc.so after pam_deny.so, nsswitch without oidc, a group-writable
# configuration, a world-readable client secret file, a wrong issuer spelling, clock skew, a
# corrupt cache and a uid range overlapping systemd's DynamicUser range.
E2E_NEED_MODULES=1
. "$(dirname "$0")/lib.sh"
command -v pam-auth-update >/dev/null 2>&1 || e2e_skip "pam-auth-update is not installed (libpam-runtime)"
e2e_setup

# the people provider is the default one (flow=auto on the common-auth line picks it)
sed -i 's|^state_dir = .*|&\ndefault_provider = people|' "$E2E_CONF"

# doctor ARGS...: runs oidcctl doctor on the sandbox's /etc; $DOC_OUT, $DOC_RC
doctor() {
    DOC_OUT=$("$OIDCCTL" doctor --config "$E2E_CONF" "$@" 2>&1)
    DOC_RC=$?
}
doc_has() { printf '%s\n' "$DOC_OUT" | grep -Eq -- "$1"; }
# expect_doctor NAME RC PATTERN [ARGS...]: doctor exits RC and prints a line matching PATTERN
expect_doctor() {
    _name=$1 _rc=$2 _pat=$3
    shift 3
    doctor "$@"
    if [ "$DOC_RC" = "$_rc" ] && doc_has "$_pat"; then
        ok "$_name"
    else
        not_ok "$_name (exit $DOC_RC, wanted $_rc and /$_pat/)"
        printf '%s\n' "$DOC_OUT" | grep -E '^  (ERROR|warning)' | sed 's/^/    /'
    fi
}

# --- a good host ---------------------------------------------------------------------------
# sshd as packaging/sshd/oidc.conf says, with the harness's host key
ssh-keygen -q -t ed25519 -N '' -C e2e-host -f /etc/ssh/e2e_host_ed25519_key || e2e_die "ssh-keygen"
sshd_config() {
    {
        # sshd takes the first value of a keyword: the changes go first
        for _l in "$@"; do printf '%s\n' "$_l"; done
        printf 'HostKey /etc/ssh/e2e_host_ed25519_key\nListenAddress 127.0.0.1\n'
        printf 'UsePAM yes\nKbdInteractiveAuthentication yes\nLoginGraceTime 120\n'
        printf 'PermitRootLogin no\nPasswordAuthentication no\n'
    } >/etc/ssh/sshd_config
    rm -rf /etc/ssh/sshd_config.d
}
sshd_config

# pam_oidc.so where Linux-PAM looks for a relative name (an overlay on its module directory)
SECDIR=$(dirname "$(find /lib /usr/lib -name pam_unix.so -path '*/security/*' 2>/dev/null | head -n 1)")
[ -d "$SECDIR" ] || e2e_die "cannot find Linux-PAM's module directory"
mkdir -p "$WORK/ovl/sec/up" "$WORK/ovl/sec/work"
mount -t overlay overlay -o "lowerdir=$SECDIR,upperdir=$WORK/ovl/sec/up,workdir=$WORK/ovl/sec/work" \
    "$SECDIR" || e2e_die "cannot mount an overlay on $SECDIR"
cp "$E2E_LIB/security/pam_oidc.so" "$SECDIR/pam_oidc.so" 2>/dev/null || : >"$SECDIR/pam_oidc.so"

# common-auth, -account, -session from the real pam-auth-update with the package's profile
# (private copies of /usr/share/pam-configs and of its state in /var/lib/pam)
for _d in /usr/share/pam-configs /var/lib/pam; do
    _c=$WORK/priv/$(printf '%s' "$_d" | tr / _)
    mkdir -p "$_c"
    cp -a "$_d/." "$_c/"
    mount --bind "$_c" "$_d" || e2e_die "cannot bind a private copy over $_d"
done
cp "$top_srcdir/packaging/pam-configs/oidc" /usr/share/pam-configs/oidc
DEBIAN_FRONTEND=noninteractive pam-auth-update --package --enable oidc >"$WORK/pam-auth-update.out" 2>&1 ||
    e2e_die "pam-auth-update failed: $(tail -n 3 "$WORK/pam-auth-update.out")"
grep -q 'pam_oidc.so' /etc/pam.d/common-auth || e2e_die "pam-auth-update did not add pam_oidc.so"
cp /etc/pam.d/common-auth "$WORK/common-auth.good"
# the stock Debian sshd service around it
cat >/etc/pam.d/sshd <<'EOF'
@include common-auth
account    required     pam_nologin.so
@include common-account
session    required     pam_loginuid.so
@include common-session
@include common-password
EOF
cp /etc/pam.d/sshd "$WORK/sshd.pam.good"

e2e_section() { echo "== $*"; }
e2e_section "good host"
doctor
printf "%s\n" "$DOC_OUT" | sed "s/^/    /"
check "good host: doctor exits 0" [ "$DOC_RC" = 0 ]
[ "$DOC_RC" = 0 ] || printf '%s\n' "$DOC_OUT" | grep -E '^  (ERROR|warning)' | sed 's/^/    /'
check "good host: the profile's common-auth line stops the stack when pam_oidc refuses" \
    doc_has "common-auth:[0-9]+: '\[success=[0-9]+ user_unknown=ignore default=die\]' stops the stack"
check "good host: the relative pam_oidc.so is found in Linux-PAM's directory" \
    doc_has "ok +module: (/usr)?${SECDIR#/usr}/pam_oidc.so\$"
check "good host: LoginGraceTime is judged against login_timeout 60" \
    doc_has 'LoginGraceTime: 120 s, longer than the device login.s 60 s'
check "good host: discovery with the issuer spelled exactly" \
    doc_has 'discovery: reachable, issuer matches exactly'
check "good host: the cache passes cache verify" doc_has 'passes every check of oidcctl cache verify'
doctor --json
check "good host: --json exits 0" [ "$DOC_RC" = 0 ]
check "good host: --json is one JSON document with status 0 and findings" node -e '
    const r = JSON.parse(process.argv[1]);
    if (r.status !== 0 || r.errors !== 0 || !Array.isArray(r.findings) || r.findings.length < 10) process.exit(1);
    if (!r.findings.every((f) => f.check && f.item && f.level && typeof f.message === "string")) process.exit(1);' \
    "$DOC_OUT"

# --- sshd ------------------------------------------------------------------------------------
e2e_section "sshd"
sshd_config "UsePAM no"
expect_doctor "sshd UsePAM no: named, exit 2" 2 'ERROR +UsePAM: UsePAM no: sshd never calls PAM'
expect_doctor "sshd UsePAM no: --json names it as an error" 2 '"message":[[:space:]]*"UsePAM no' --json
sshd_config "LoginGraceTime 30"
expect_doctor "sshd LoginGraceTime 30 < login_timeout 60: named with the direction" 2 \
    "ERROR +LoginGraceTime: 30 s is not longer than the device login's deadline \(login_timeout 60 s"
sshd_config "AuthenticationMethods publickey"
expect_doctor "sshd AuthenticationMethods without keyboard-interactive: named" 2 \
    'ERROR +AuthenticationMethods: no list in AuthenticationMethods allows keyboard-interactive'
sshd_config "AuthenticationMethods publickey,keyboard-interactive"
expect_doctor "sshd AuthenticationMethods publickey,keyboard-interactive: fine" 0 \
    'AuthenticationMethods: publickey,keyboard-interactive offers keyboard-interactive'
sshd_config
printf 'Match User ci-*\n    KbdInteractiveAuthentication no\n' >>/etc/ssh/sshd_config
expect_doctor "sshd a Match block for other users: not applied to the default --ssh-user" 0 \
    'KbdInteractiveAuthentication: yes'
expect_doctor "sshd a Match block for --ssh-user ci-bot: applied and named" 2 \
    'ERROR +KbdInteractiveAuthentication: KbdInteractiveAuthentication no' --ssh-user ci-bot
sshd_config "PermitRootLogin yes"
expect_doctor "sshd PermitRootLogin yes: a warning, exit 1" 1 'warning +PermitRootLogin: yes'
sshd_config

# --- PAM -------------------------------------------------------------------------------------
e2e_section "pam"
sed 's/^auth[[:space:]]*\[success=[0-9]* user_unknown=ignore default=die\]\([[:space:]]*pam_oidc.so\)/auth sufficient\1/' \
    "$WORK/common-auth.good" >/etc/pam.d/common-auth
check "pam: the sufficient stack was written" grep -q '^auth sufficient[[:space:]]*pam_oidc.so' /etc/pam.d/common-auth
expect_doctor "pam common-auth with sufficient pam_oidc.so: falls through, named" 2 \
    "ERROR +auth control: /etc/pam.d/common-auth:[0-9]+: 'sufficient' is ignored on auth_err: a refused token"
cp "$WORK/common-auth.good" /etc/pam.d/common-auth
e2e_pam_service sshd <<'EOF'
auth     sufficient  pam_oidc.so flow=auto
@include common-auth
account  [success=ok ignore=ignore default=bad] pam_oidc.so
EOF
expect_doctor "pam sshd file with sufficient pam_oidc.so (no die): named" 2 \
    "ERROR +auth control: /etc/pam.d/sshd:1: 'sufficient' is ignored on auth_err"
e2e_pam_service sshd <<'EOF'
auth     [success=done user_unknown=ignore default=die] pam_oidc.so provider=people flow=device
auth     sufficient  pam_oidc.so provider=ci flow=token
account  [success=ok ignore=ignore default=bad] pam_oidc.so
EOF
expect_doctor "pam a second pam_oidc.so line that is sufficient: named by its line" 2 \
    "ERROR +auth control: /etc/pam.d/sshd:2: 'sufficient' is ignored on auth_err"
e2e_pam_service sshd <<'EOF'
auth     [success=done user_unknown=ignore default=ignore] pam_oidc.so flow=auto
account  [success=ok ignore=ignore default=bad] pam_oidc.so
EOF
expect_doctor "pam sshd with default=ignore: named" 2 \
    "ERROR +auth control: /etc/pam.d/sshd:1: .* is ignored on auth_err"
e2e_pam_service sshd <<'EOF'
auth     [success=done user_unknown=ignore default=die] @PAM_OIDC@ flow=auto
account  [success=ok ignore=ignore default=bad] @PAM_OIDC@
session  optional @PAM_OIDC@
EOF
expect_doctor "pam sshd as docs/pam.md recommends (module by absolute path): fine" 0 \
    "auth control: /etc/pam.d/sshd:1: '\[success=done user_unknown=ignore default=die\]' stops"
cp "$WORK/common-auth.good" "$WORK/common-auth.noidc"
sed -i '/pam_oidc.so/d' "$WORK/common-auth.noidc"
cp "$WORK/common-auth.noidc" /etc/pam.d/common-auth
e2e_pam_service sshd <<'EOF'
@include common-auth
auth     [success=done user_unknown=ignore default=die] pam_oidc.so flow=auto
account  [success=ok ignore=ignore default=bad] pam_oidc.so
EOF
expect_doctor "pam pam_oidc.so after common-auth's pam_deny.so: named" 2 \
    'ERROR +order: /etc/pam.d/sshd:2: pam_oidc.so comes after pam_deny.so'
e2e_pam_service sshd <<'EOF'
@include common-auth
EOF
expect_doctor "pam sshd without pam_oidc.so: named" 2 'ERROR +auth: pam_oidc.so is not in the auth stack'
e2e_pam_service sshd <<'EOF'
auth     [success=done user_unknown=ignore default=die] /nonexistent/pam_oidc.so flow=auto
EOF
expect_doctor "pam a module path that does not exist: named" 2 \
    'ERROR +module: /etc/pam.d/sshd:1: /nonexistent/pam_oidc.so is not found'
cp "$WORK/common-auth.good" /etc/pam.d/common-auth
cp "$WORK/sshd.pam.good" /etc/pam.d/sshd
expect_doctor "pam back to the good stacks: exit 0" 0 'doctor: 0 errors, 0 warnings'

# --- nsswitch --------------------------------------------------------------------------------
e2e_section "nsswitch"
e2e_nsswitch "files systemd"
expect_doctor "nsswitch without oidc: named" 2 "ERROR +passwd: 'passwd:' does not list oidc"
e2e_nsswitch "oidc files"
expect_doctor "nsswitch oidc before files: named" 2 "ERROR +group: 'group:' lists oidc before files"
e2e_nsswitch "files [NOTFOUND=return] oidc"
expect_doctor "nsswitch NOTFOUND=return before oidc: named" 2 "returns on NOTFOUND before oidc"
e2e_nsswitch "files oidc"

# --- files -----------------------------------------------------------------------------------
e2e_section "files"
chmod 0660 "$E2E_CONF"
expect_doctor "files group-writable configuration: named with the fix" 2 \
    "ERROR +configuration: $E2E_CONF has mode 0660: writable by its group"
check "files group-writable configuration: the fix is chmod 0600" doc_has "fix: chmod 0600 $E2E_CONF"
chmod 0600 "$E2E_CONF"
mkdir -p "$E2E_CONF.d"
printf '[global]\ncache_ttl = 86400\n' >"$E2E_CONF.d/10-local.conf"
chown 1:1 "$E2E_CONF.d/10-local.conf"
chmod 0644 "$E2E_CONF.d/10-local.conf"
expect_doctor "files drop-in not owned by root: named" 2 \
    "ERROR +drop-in: $E2E_CONF.d/10-local.conf is owned by uid 1, not root"
rm -rf "$E2E_CONF.d"
chmod 0777 "$E2E_STATEDIR"
expect_doctor "files world-writable state directory: named" 2 \
    "ERROR +state directory: $E2E_STATEDIR has mode 0777: writable by everyone"
chmod 0755 "$E2E_STATEDIR"

# --- IdP, clock, cache, uid range: separate configurations ----------------------------------
# mkconf FILE ISSUER [LINES...]: one provider "p" on ISSUER with the tests' CA
mkconf() {
    _f=$1 _iss=$2
    shift 2
    {
        printf '[global]\nstate_dir = %s\n\n' "$E2E_STATEDIR"
        printf '[provider p]\nissuer = %s\nclient_id = ci-audience\nca_file = %s\nflow = token\n' \
            "$_iss" "$IDP/ca.pem"
        for _l in "$@"; do printf '%s\n' "$_l"; done
    } >"$_f"
    chmod 0600 "$_f"
}
e2e_section "idp"
MINI_PORT=${MINI_URL##*:}
mkconf "$WORK/typo.conf" "https://localhost:$MINI_PORT"
expect_doctor "idp issuer spelled differently (localhost for 127.0.0.1): names both spellings" 2 \
    "ERROR +discovery: issuer in discovery is '$MINI_URL' but the configuration says 'https://localhost:$MINI_PORT'" \
    --config "$WORK/typo.conf"
mkconf "$WORK/mini.conf" "$MINI_URL"
expect_doctor "idp the same issuer spelled exactly: no discovery error" 0 \
    'discovery: reachable, issuer matches exactly' --config "$WORK/mini.conf"

printf 's3cret\n' >"$WORK/secret"
chmod 0644 "$WORK/secret"
mkconf "$WORK/secret.conf" "$MINI_URL" "client_secret_file = $WORK/secret"
expect_doctor "files a world-readable client_secret_file: named" 2 \
    "ERROR +client secret: $WORK/secret.*(mode|0644)" --config "$WORK/secret.conf" --offline
check "files the secret itself is never printed" sh -c '! printf "%s" "$1" | grep -q s3cret' - "$DOC_OUT"
chmod 0600 "$WORK/secret"
expect_doctor "files a root-only client_secret_file: fine" 0 'ok +client secret: readable, root-only' \
    --config "$WORK/secret.conf" --offline

e2e_section "clock"
# a stand-in IdP with the tests' certificate whose Date header is one hour ahead
cat >"$WORK/skew.mjs" <<'EOF'
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
const [state, portFile] = process.argv.slice(2);
const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'skew', alg: 'ES256', use: 'sig' };
const srv = https.createServer({
  key: fs.readFileSync(`${state}/server.key`), cert: fs.readFileSync(`${state}/server.pem`),
}, (req, res) => {
  const iss = `https://127.0.0.1:${srv.address().port}`;
  const body = req.url === '/jwks' ? { keys: [jwk] } : {
    issuer: iss, jwks_uri: `${iss}/jwks`, response_types_supported: ['id_token'],
    subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'],
  };
  res.setHeader('date', new Date(Date.now() + 3600 * 1000).toUTCString());
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
});
srv.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(srv.address().port)));
EOF
node "$WORK/skew.mjs" "$IDP" "$WORK/skew.port" &
SKEW_PID=$!
for _i in $(seq 100); do [ -s "$WORK/skew.port" ] && break; sleep 0.05; done
[ -s "$WORK/skew.port" ] || e2e_die "the stand-in IdP did not start"
mkconf "$WORK/skew.conf" "https://127.0.0.1:$(cat "$WORK/skew.port")"
expect_doctor "clock an IdP whose Date is an hour ahead: skew named" 2 \
    "ERROR +clock: this host's clock is 3[56][0-9][0-9] s behind the IdP's" --config "$WORK/skew.conf"
kill "$SKEW_PID" 2>/dev/null
wait "$SKEW_PID" 2>/dev/null

e2e_section "cache"
cp "$E2E_STATEDIR/cache.cdb" "$WORK/cache.good"
printf 'this is not a CDB file\n' >"$E2E_STATEDIR/cache.cdb"
chmod 0644 "$E2E_STATEDIR/cache.cdb"
expect_doctor "cache corrupt file: named" 2 'ERROR +cache.cdb: '
cp "$WORK/cache.good" "$E2E_STATEDIR/cache.cdb"
chmod 0644 "$E2E_STATEDIR/cache.cdb"
chmod 0600 "$E2E_STATEDIR/cache.cdb"
expect_doctor "cache not world-readable: named" 2 \
    "ERROR +identity cache: $E2E_STATEDIR/cache.cdb has mode 0600 \(expected 0644"
chmod 0644 "$E2E_STATEDIR/cache.cdb"

e2e_section "uid range"
mkconf "$WORK/range.conf" "$MINI_URL" "uid_min = 61184" "uid_max = 65519"
expect_doctor "uid range overlapping systemd's DynamicUser range: named" 2 \
    'ERROR +uid range: uid_min..uid_max 61184..65519 overlaps 61184..65519, DynamicUser= service users' \
    --config "$WORK/range.conf" --offline
mkconf "$WORK/range2.conf" "$MINI_URL" "uid_min = 20000" "uid_max = 70000"
expect_doctor "uid range overlapping login.defs' regular users: named" 2 \
    'ERROR +uid range: uid_min..uid_max 20000..70000 overlaps [0-9]+..[0-9]+, regular users \(UID_MIN..UID_MAX' \
    --config "$WORK/range2.conf" --offline
echo "e2e-inrange:x:2000000000:100::/nonexistent:/usr/sbin/nologin" >>/etc/passwd
expect_doctor "uid range holding a local account: a warning naming it" 1 \
    'warning +uid range: 1 local account or group uses ids inside uid_min..uid_max: user e2e-inrange \(2000000000\)' \
    --config "$WORK/mini.conf" --offline

e2e_section "usage"
expect_doctor "usage an unknown option: exit 3" 3 'Usage: oidcctl doctor' --bogus
finish
