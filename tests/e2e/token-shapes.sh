#!/bin/sh
# Token shapes from the field: each provider example shipped in packaging/examples/ verifies a
# token of the shape that provider really issues (minted by the bundled mini issuer, with only the
# example's issuer replaced by the test issuer) and maps it to the expected name, uid and groups;
# and each refuses the token mistake that matters most for it (another audience, another
# algorithm). Needs only oidcctl and the IdP; exits 77 without root or the IdP's Node modules.
. "$(dirname "$0")/../integration/lib.sh"
start_idp
EX=$top_srcdir/packaging/examples
T=$WORK/tok
NOW=$(date +%s)

# example_conf FILE: the example as a configuration of its own, talking to the mini issuer
example_conf() {
    conf=$WORK/$(basename "$1")
    {
        printf '[global]\nstate_dir = %s\n\n' "$WORK/state"
        sed -e "s|^issuer = .*|issuer = $MINI_URL\\nca_file = $IDP/ca.pem|" "$1"
    } >"$conf"
    chmod 600 "$conf"
    echo "$conf"
}

# hash_id uid|gid KEY: the published id hash (docs/idmap.md, default range)
hash_id() {
    node -e 'let h=0xcbf29ce484222325n;for(const b of Buffer.from(`nss-pam-oidc:v1:${process.argv[1]}:${process.argv[2]}`)){h^=BigInt(b);h=(h*0x100000001b3n)%(1n<<64n)}console.log(String(0x70000000n+h%(0x7FFFFFFEn-0x70000000n+1n)))' "$1" "$2"
}

# verify CONF PROVIDER: verify-token --json on $T into $OUT, exit code in $RC
verify() {
    OUT=$("$OIDCCTL" verify-token --config "$1" --provider "$2" --json "$T" 2>&1)
    RC=$?
}

# json_ok JS: the JSON in $OUT, as o, makes JS true
json_ok() {
    printf '%s' "$OUT" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let o;try{o=JSON.parse(s)}catch(e){process.exit(1)}process.exit(eval(process.argv[1])?0:1)})' "$1"
}

# identity_is NAME UID GROUPS: the verified identity has this name, uid and (space-separated)
# group names, each with its published gid
identity_is() {
    want_groups=
    for g in $3; do want_groups="$want_groups $g:$(hash_id gid "$g")"; done
    json_ok "o.valid===true && o.identity.name==='$1' && o.identity.uid===$2 && o.identity.gid===$2 && o.identity.groups.map(g=>' '+g.name+':'+g.gid).join('')==='$want_groups'"
}

# --- GitHub Actions: RS256, aud = https://github.com/ORG, one user per run (gha-RUN_ID)
CONF=$(example_conf "$EX/github-actions.conf")
GH_CLAIMS='{"nbf":'$((NOW - 5))',"repository":"example-org/app","repository_id":"690000001",
 "repository_owner":"example-org","repository_owner_id":"1000001","repository_visibility":"private",
 "ref":"refs/heads/main","ref_type":"branch","ref_protected":"true","sha":"8b3c4f1e2d",
 "run_id":"9876543210","run_number":"42","run_attempt":"1","actor":"octocat","actor_id":"583231",
 "workflow":"build","workflow_ref":"example-org/app/.github/workflows/build.yml@refs/heads/main",
 "job_workflow_ref":"example-org/app/.github/workflows/build.yml@refs/heads/main",
 "event_name":"push","environment":"prod","runner_environment":"github-hosted"}'
mint --alg RS256 --aud https://github.com/example-org --sub repo:example-org/app:ref:refs/heads/main \
    --claims "$GH_CLAIMS" >"$T"
verify "$CONF" github
check "github-actions: token verifies" [ "$RC" = 0 ]
check "github-actions: one user per run, gha-9876543210 with the published uid, no groups" \
    identity_is gha-9876543210 "$(hash_id uid gha-9876543210)" ""
mint --alg RS256 --aud https://github.com/other-org --claims "$GH_CLAIMS" >"$T"
expect_exit "github-actions: a token another organisation asked for is refused" 1 \
    "audience in token is 'https://github.com/other-org'" \
    "$OIDCCTL" verify-token --config "$CONF" --provider github "$T"
mint --alg ES256 --aud https://github.com/example-org --claims "$GH_CLAIMS" >"$T"
expect_exit "github-actions: ES256 refused by algorithms = RS256" 1 "ES256" \
    "$OIDCCTL" verify-token --config "$CONF" --provider github "$T"
mint --alg RS256 --aud https://github.com/example-org --iat-offset -900 --claims "$GH_CLAIMS" >"$T"
expect_exit "github-actions: a token older than max_token_age (10m) is refused" 1 "old|age" \
    "$OIDCCTL" verify-token --config "$CONF" --provider github "$T"

# --- GitLab CI id_tokens: RS256, aud = the runner's URL, one user per job (glci-JOB_ID)
CONF=$(example_conf "$EX/gitlab-ci.conf")
GL_CLAIMS='{"nbf":'$((NOW - 5))',"namespace_id":"72","namespace_path":"example-group",
 "project_id":"42","project_path":"example-group/app","user_id":"5","user_login":"jdoe",
 "user_email":"jdoe@example.com","user_identities":[],"pipeline_id":"1001","pipeline_source":"push",
 "job_id":"302","ref":"main","ref_type":"branch","ref_path":"refs/heads/main","ref_protected":"true",
 "environment":"production","environment_protected":"true","deployment_tier":"production",
 "runner_id":17,"runner_environment":"self-hosted","sha":"714a629c0b401fdce83e847fc9589983fc6f46bc",
 "project_visibility":"private","ci_config_ref_uri":"gitlab.com/example-group/app//.gitlab-ci.yml@refs/heads/main"}'
mint --alg RS256 --aud https://ci-runner.example.com \
    --sub project_path:example-group/app:ref_type:branch:ref:main --claims "$GL_CLAIMS" >"$T"
verify "$CONF" gitlab
check "gitlab-ci: token verifies" [ "$RC" = 0 ]
check "gitlab-ci: one user per job, glci-302 with the published uid, no groups" \
    identity_is glci-302 "$(hash_id uid glci-302)" ""
mint --alg RS256 --aud https://gitlab.com --claims "$GL_CLAIMS" >"$T"
expect_exit "gitlab-ci: a token for another audience is refused" 1 \
    "audience in token is 'https://gitlab.com'" \
    "$OIDCCTL" verify-token --config "$CONF" --provider gitlab "$T"

# --- Google-signed service identity token (Cloud Run, Dataflow, GCE): aud is a URL, no jti,
# the name is the service account's, the uid is derived from issuer + sub
CONF=$(example_conf "$EX/google.conf")
G_SUB=117133467023461395000
mint --alg RS256 --aud https://batch.example.com --sub "$G_SUB" --claims '{"jti":null,
 "azp":"'$G_SUB'","email":"deployer@my-project.iam.gserviceaccount.com","email_verified":true}' >"$T"
verify "$CONF" google
check "google: token without jti verifies" [ "$RC" = 0 ]
check "google: service account deployer, uid from issuer+sub (uid_key = subject)" \
    identity_is deployer "$(hash_id uid "$MINI_URL
$G_SUB")" ""
check "google: the uid is not the name's hash" json_ok "o.identity.uid!==$(hash_id uid deployer)"
mint --alg RS256 --aud https://batch.example.com --sub 117000000000000000001 --claims '{"jti":null,
 "azp":"117000000000000000001","email":"intruder@my-project.iam.gserviceaccount.com","email_verified":true}' >"$T"
expect_exit "google: another service account (azp) is refused even with the right audience" 1 \
    "authorized party \\(azp\\) in token is '117000000000000000001'" \
    "$OIDCCTL" verify-token --config "$CONF" --provider google "$T"
mint --alg RS256 --aud https://other-service.example.com --sub "$G_SUB" --claims '{"jti":null,
 "azp":"'$G_SUB'","email":"deployer@my-project.iam.gserviceaccount.com","email_verified":true}' >"$T"
expect_exit "google: a token minted for another service URL is refused" 1 \
    "audience in token is 'https://other-service.example.com'" \
    "$OIDCCTL" verify-token --config "$CONF" --provider google "$T"

# --- Keycloak: realm roles under realm_access.roles; the built-in roles are not kept
CONF=$(example_conf "$EX/keycloak.conf")
mint --alg RS256 --aud shell-login --sub 6f1c0d2e-4f5a-4b8e-9c3d-2a1b0c9d8e7f --claims '{
 "typ":"ID","azp":"shell-login","sid":"5d1e","acr":"1","email_verified":true,
 "preferred_username":"Alice@Example.com","email":"alice@example.com","name":"Alice Admin",
 "realm_access":{"roles":["admins","devs","offline_access","uma_authorization","default-roles-corp"]},
 "resource_access":{"account":{"roles":["manage-account"]}}}' >"$T"
verify "$CONF" keycloak
check "keycloak: token verifies" [ "$RC" = 0 ]
check "keycloak: Alice@Example.com maps to alice (uid 2131105965) with roles admins, devs only" \
    identity_is alice 2131105965 "admins devs"

# --- Okta / Entra: a plain groups claim with mixed-case names
CONF=$(example_conf "$EX/okta.conf")
mint --alg RS256 --aud 0oa1b2c3d4e5f6g7h8i9 --sub 00u1a2b3c4d5e6f7g8h9 --claims '{
 "ver":1,"amr":["pwd","mfa"],"idp":"00o1","auth_time":'$((NOW - 30))',
 "preferred_username":"Alice@Example.com","email":"alice@example.com",
 "groups":["Everyone","Admins","Devs"]}' >"$T"
verify "$CONF" okta
check "okta: token verifies" [ "$RC" = 0 ]
check "okta: alice with groups admins, devs (lower-cased; Everyone dropped by group_allow)" \
    identity_is alice 2131105965 "admins devs"

# --- Kubernetes projected service account token: aud is an array, names under "kubernetes.io"
CONF=$(example_conf "$EX/kubernetes.conf")
K8S_CLAIMS='{"aud":["https://batch.example.com"],"nbf":'$((NOW - 5))',
 "kubernetes.io":{"namespace":"batch","serviceaccount":{"name":"builder","uid":"3c1f6a52-9d1e-4c8a-b1e4-5a6f7b8c9d0e"},
 "pod":{"name":"build-7f9c-x2x4q","uid":"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"}}}'
mint --alg RS256 --sub system:serviceaccount:batch:builder --claims "$K8S_CLAIMS" >"$T"
verify "$CONF" k8s
check "kubernetes: token verifies" [ "$RC" = 0 ]
check "kubernetes: the service account under 'kubernetes.io' maps to k8s-builder, no groups" \
    identity_is k8s-builder "$(hash_id uid k8s-builder)" ""
mint --alg RS256 --sub system:serviceaccount:batch:builder \
    --claims "$(printf '%s' "$K8S_CLAIMS" | sed 's|"aud":\["https://batch.example.com"\]|"aud":["https://kubernetes.default.svc.cluster.local"]|')" >"$T"
expect_exit "kubernetes: a token for the cluster's own API audience is refused" 1 \
    "audience in token" "$OIDCCTL" verify-token --config "$CONF" --provider k8s "$T"

finish
