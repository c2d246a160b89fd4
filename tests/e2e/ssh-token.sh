#!/bin/sh
# SSH with a CI token longer than the OpenSSH client's 1023-byte answer limit, through the stock
# ssh client: `oidcctl askpass` as SSH_ASKPASS answers the module's token prompts in chunks. The
# sshd stack uses flow=token without a provider, so the token's issuer picks the provider (ci).
# Also: a token for another audience, a replayed token and a token whose required claim does not
# match are refused over SSH. And a [provider ci idmap] override reaches sshd: the provisional
# entry sshd resolves before any token, and so the uid the session runs as, is the override's.
E2E_NEED_MODULES=1
E2E_CI_EXTRA='preauth = yes
preauth_allow = job-*

[provider ci idmap]
job-205 = 1900000205
job-206 = 1900000206

[provider people idmap]
job-206 = 1900000206'
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_pam_service sshd <<'EOS'
auth     required  @PAM_OIDC@ config=@CONF@ flow=token
account  required  @PAM_OIDC@ config=@CONF@
account  required  pam_permit.so
session  required  @PAM_OIDC@ config=@CONF@
password required  pam_deny.so
EOS
e2e_start_sshd
T=$WORK/tok
PAD=$(head -c 2400 /dev/zero | tr '\0' p)
claims() { # claims RUN_ID [REPOSITORY]
    printf '{"repository":"%s","repository_owner":"org","ref":"refs/heads/main","run_id":"%s","pad":"%s"}' \
        "${2:-org/app}" "$1" "$PAD"
}

mint --claims "$(claims 201)" >"$T"
size=$(wc -c <"$T")
check "the token is longer than 2 KB ($size bytes), over ssh's 1023-byte answer limit" [ "$size" -gt 2048 ]
e2e_ssh_token job-201 'id; env | grep ^OIDC_ | sort' "$T"
check "token login over ssh: exit 0" [ "$RC" = 0 ]
check "token login over ssh: runs as job-201 with the published uid" \
    cmd_has "^uid=$(e2e_hash_id uid job-201)\\(job-201\\) "
check "token login over ssh: OIDC_ISSUER is the CI issuer" cmd_has "^OIDC_ISSUER=$MINI_URL\$"
check "token login over ssh: OIDC_CLAIM_RUN_ID" cmd_has '^OIDC_CLAIM_RUN_ID=201$'
check "token login over ssh: sshd accepted keyboard-interactive/pam for job-201" \
    log_has 'Accepted keyboard-interactive/pam for job-201'
check "ephemeral: job-201 is gone after the session closed" sh -c 'sleep 1; ! getent passwd job-201 >/dev/null'
check "the token appears in no log (its signature is not in sshd's log or syslog)" \
    sh -c "sig=\$(cut -d. -f3 '$T'); ! grep -qF \"\$sig\" '$WORK/sshd.log' '$E2E_SYSLOG'"
[ "$RC" = 0 ] || show_tail

e2e_ssh_token job-201 'echo SHOULD-NOT-RUN' "$T"
check "replayed token over ssh: refused" [ "$RC" = 255 ]
check "replayed token over ssh: the command did not run" sh -c "! grep -q '^SHOULD-NOT-RUN' '$OUT.clean'"
check "replayed token over ssh: refused as already used (audit line)" \
    syslog_has 'audit: phase=auth result=failure service="sshd" user="job-201".*reason="token already used'

mint --aud someone-else --claims "$(claims 202)" >"$T"
e2e_ssh_token job-202 'echo SHOULD-NOT-RUN' "$T"
check "token for another audience over ssh: refused" [ "$RC" = 255 ]
check "another audience: the command did not run" sh -c "! grep -q '^SHOULD-NOT-RUN' '$OUT.clean'"
check "another audience: no cache entry" sh -c '! getent passwd job-202 >/dev/null'
check "another audience: the audit line names the audience" \
    syslog_has "user=\"job-202\".*reason=\"[^\"]*audience in token is 'someone-else'"

mint --claims "$(claims 203 other/app)" >"$T"
e2e_ssh_token job-203 'echo SHOULD-NOT-RUN' "$T"
check "token of another repository over ssh: refused" [ "$RC" = 255 ]
check "another repository: the command did not run" sh -c "! grep -q '^SHOULD-NOT-RUN' '$OUT.clean'"
check "another repository: the audit line names the rule" \
    syslog_has "user=\"job-203\".*reason=\"require_claim: claim 'repository' is 'other/app'"

mint --claims "$(claims 204)" >"$T"
e2e_ssh_token job-999 'echo SHOULD-NOT-RUN' "$T"
check "a good token for job-204 cannot log in as job-999" [ "$RC" = 255 ]
check "token for another user: the audit line says whose token it is" \
    syslog_has "user=\"job-999\".*reason=\"the token is for 'job-204', not for the PAM user"
check "token for another user: no cache entry for either" \
    sh -c '! getent passwd job-999 >/dev/null && ! getent passwd job-204 >/dev/null'

# sshd runs the session under the uid of the entry it resolved before PAM, so that entry must
# carry the uid the login stores. Both providers' patterns match job-* (people allows *):
# job-206, overridden alike in both, gets the override's uid from the cache's "o" record;
# job-205, overridden in ci only, would get another uid from a people token, so sshd gets no
# provisional entry and the login fails instead of running under a guessed uid.
grep -q "warning: 'job-205' matches the preauth_allow patterns of providers 'ci'" "$WORK/cache-sync.out"
check "override in one of two matching preauth providers: cache sync warns" [ $? = 0 ]
mint --claims "$(claims 206)" >"$T"
e2e_ssh_token job-206 'id' "$T"
check "override over ssh: exit 0" [ "$RC" = 0 ]
check "override over ssh: job-206 runs as its [provider ci idmap] uid 1900000206, not the hash" \
    cmd_has '^uid=1900000206\(job-206\) gid=1900000206\(job-206\)'
[ "$RC" = 0 ] || show_tail
mint --claims "$(claims 205)" >"$T"
e2e_ssh_token job-205 'echo SHOULD-NOT-RUN; id' "$T"
check "override in one matching provider only: refused over ssh" [ "$RC" = 255 ]
check "override in one matching provider only: nothing ran (under no uid)" \
    sh -c "! grep -q '^SHOULD-NOT-RUN' '$OUT.clean'"
check "override in one matching provider only: sshd did not know the user" log_has 'Invalid user job-205'

finish
