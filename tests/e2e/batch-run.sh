#!/bin/sh
# Per-run identity on a batch host: `oidcctl run` with CI-shaped tokens from the second issuer
# (the mini issuer), through the oidc-run PAM stack with the real pam_oidc.so and libnss_oidc.so.2:
# the job runs as the mapped per-run user with the OIDC_* session variables; the provider's
# required-claim rules refuse another repository and another ref; a replayed token and an expired
# token are refused; the ephemeral user is gone from NSS once the run ends; --kill-at-expiry stops
# a job whose token expires.
E2E_NEED_MODULES=1
. "$(dirname "$0")/lib.sh"
e2e_setup
T=$WORK/job.tok
mkdir -m 1777 "$WORK/jobs"
MARK=$WORK/jobs/job-ran

# ci_claims RUN_ID [REPOSITORY [REF]]: the claims of a GitHub-Actions-like job token
ci_claims() {
    printf '{"repository":"%s","repository_owner":"org","ref":"%s","run_id":"%s","workflow":"build"}' \
        "${2:-org/app}" "${3:-refs/heads/main}" "$1"
}
# run_job OIDCCTL-RUN-ARGS...: output in $JOB_OUT, exit status in $RC
run_job() {
    rm -f "$MARK"
    JOB_OUT=$("$OIDCCTL" run --config "$E2E_CONF" "$@" 2>&1)
    RC=$?
}
job_has() { printf '%s\n' "$JOB_OUT" | grep -Eq -- "$1"; }
job_lacks() { ! job_has "$1"; }
ran() { [ "$RC" = 0 ] && [ -f "$MARK" ]; }
refused_not_run() { [ "$RC" = 125 ] && [ ! -f "$MARK" ]; }
no_user() { ! getent passwd "$1" >/dev/null; }
JOB='touch '$MARK'; id; env | sort | grep -E "^(OIDC_|USER=|HOME=)"; getent passwd "$(id -un)"'

mint --sub repo:org/app:ref:refs/heads/main --claims "$(ci_claims 101)" >"$T"
run_job --token-file "$T" -- /bin/sh -c "$JOB"
check "good token: the job runs and exits 0" ran
check "good token: the job runs as job-101 with the published uid" \
    job_has "^uid=$(e2e_hash_id uid job-101)\\(job-101\\) "
check "good token: OIDC_ISSUER is the CI issuer" job_has "^OIDC_ISSUER=$MINI_URL\$"
check "good token: OIDC_SUBJECT" job_has '^OIDC_SUBJECT=repo:org/app:ref:refs/heads/main$'
check "good token: OIDC_USERNAME" job_has '^OIDC_USERNAME=job-101$'
check "good token: OIDC_JTI is set" job_has '^OIDC_JTI=.+'
check "good token: OIDC_EXPIRES_AT is set" job_has '^OIDC_EXPIRES_AT=[0-9]+$'
check "good token: exported claim OIDC_CLAIM_REPOSITORY" job_has '^OIDC_CLAIM_REPOSITORY=org/app$'
check "good token: exported claim OIDC_CLAIM_RUN_ID" job_has '^OIDC_CLAIM_RUN_ID=101$'
check "good token: during the run NSS resolves job-101" job_has '^job-101:'
check "ephemeral: job-101 is gone from NSS after the run" no_user job-101
check "good token: one audit line for the token login" \
    syslog_has 'pam_oidc\(oidc-run:auth\): audit: phase=auth result=success service="oidc-run" user="job-101".*flow="token"'
check "good token: the token appears in no log" sh -c "! grep -qF \"\$(cut -d. -f3 '$T')\" '$E2E_SYSLOG'"
ran || printf '%s\n' "$JOB_OUT" | tail -n 5

run_job --token-file "$T" -- /bin/sh -c "$JOB"
check "replayed token: refused (exit 125), the job did not run" refused_not_run

check "replayed token: the audit line says the token was already used" \
    syslog_has 'audit: phase=auth result=failure service="oidc-run" user="job-101".*reason="token already used'

mint --claims "$(ci_claims 102 other/app)" >"$T"
run_job --token-file "$T" -- /bin/sh -c "$JOB"
check "wrong repository: refused (exit 125), the job did not run" refused_not_run
check "wrong repository: the audit line names the rule and the value" \
    syslog_has "user=\"job-102\".*reason=\"require_claim: claim 'repository' is 'other/app'"

mint --claims "$(ci_claims 103 org/app refs/heads/dev)" >"$T"
run_job --token-file "$T" -- /bin/sh -c "$JOB"
check "wrong ref: refused (exit 125), the job did not run" refused_not_run
check "wrong ref: the audit line names the rule and the value" \
    syslog_has "user=\"job-103\".*reason=\"require_claim: claim 'ref' is 'refs/heads/dev'"
check "refused runs leave no user behind" sh -c '! getent passwd job-102 && ! getent passwd job-103'

mint --claims "$(ci_claims 104)" --exp-in -120 >"$T"
run_job --token-file "$T" -- /bin/sh -c "$JOB"
check "expired token: refused (exit 125), the job did not run" refused_not_run
check "expired token: oidcctl run says expired" job_has '[Ee]xpired'

JOB_TOKEN=$(mint --claims "$(ci_claims 105)")
export JOB_TOKEN
run_job --token-env JOB_TOKEN -- /bin/sh -c 'id -un'
check "--token-env: the job runs" [ "$RC" = 0 ]
check "--token-env: as job-105" job_has '^job-105$'
unset JOB_TOKEN

run_job --token-file /dev/null -- /bin/sh -c "$JOB"
check "empty token file: refused (exit 125), the job did not run" refused_not_run

mint --claims "$(ci_claims 106)" >"$T"
run_job --token-file "$T" -- /bin/sh -c 'exit 7'
check "the job's exit status is oidcctl run's" [ "$RC" = 7 ]

# --kill-at-expiry: the token expires 3 s from now, the job would sleep 60 s
mint --claims "$(ci_claims 107)" --exp-in 3 >"$T"
start=$(date +%s)
run_job --token-file "$T" --kill-at-expiry -- /bin/sh -c 'sleep 60; echo NOT-KILLED'
took=$(($(date +%s) - start))
check "--kill-at-expiry: the job is stopped (status not 0)" [ "$RC" != 0 ]
check "--kill-at-expiry: within the grace period (took $took s, at most 15)" [ "$took" -le 15 ]
check "--kill-at-expiry: the job did not finish" job_lacks NOT-KILLED
check "--kill-at-expiry: job-107 is gone afterwards" no_user job-107

finish
