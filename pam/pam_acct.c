/* pam_sm_acct_mgmt: the claims policy (allow/deny lists, required groups and claims) and token
 * expiry. Fails closed for identities this module knows (a login record on the handle, or an
 * entry in the identity cache); PAM_IGNORE for everyone else, so local logins are unaffected. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <security/pam_modules.h>

#include "cache.h"
#include "json.h"
#include "policy.h"
#include "pam_int.h"

static int deny(struct oidc_pam_ctx *c, int rc, const char *reason)
{
    oidc_pam_reason(c, "%s", reason);
    oidc_pam_audit(c, rc == PAM_ACCT_EXPIRED ? "expired" : "denied");
    return rc;
}

/* This handle authenticated the user: the verified claims are at hand. */
static int acct_login(struct oidc_pam_ctx *c, const struct oidc_pam_login *l)
{
    const struct oidc_provider_cfg *pcfg;
    struct oidc_err err = {0};
    int r;

    c->provider = l->provider;
    c->jti = l->jti;
    c->flow = l->token_flow ? "token" : "device";
    oidc_pam_audit_identity(c, l->id);
    oidc_pam_audit_groups(c, &l->groups);
    if (c->user == NULL || strcmp(c->user, l->id->name) != 0)
        return deny(c, PAM_PERM_DENIED, "PAM_USER changed after the authentication");
    if ((pcfg = oidc_cfg_provider(c->cfg, l->provider)) == NULL)
        return deny(c, PAM_PERM_DENIED, "the login's provider is not configured here");
    if ((r = oidc_policy_check_groups(c->cfg, pcfg, l->id, l->claims, &l->groups, &err)) != OIDC_OK)
        return deny(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
    if (l->token_flow && oidc_now() > l->exp + pcfg->leeway)
        return deny(c, PAM_ACCT_EXPIRED, "the token has expired");
    oidc_pam_reason(c, "policy passed");
    oidc_pam_audit(c, "success");
    return PAM_SUCCESS;
}

/* Another module (an SSH key, or sshd's authentication child) authenticated a cached user: the
 * rules that need only the name and groups apply; a required claim cannot be shown without a
 * token, so it fails (closed). */
static int acct_cached(struct oidc_pam_ctx *c, const struct oidc_cache_user *u)
{
    const struct oidc_provider_cfg *pcfg;
    struct oidc_identity id;
    struct oidc_err err = {0};
    cJSON *claims = NULL;
    char msg[300];
    int r, rc;

    memset(&id, 0, sizeof(id));
    memcpy(id.name, u->name, sizeof(id.name));
    id.uid = u->uid;
    id.gid = u->gid;
    id.issuer = u->issuer;
    id.subject = u->subject;
    id.groups = u->groups;
    id.n_groups = u->n_groups;
    c->provider = u->provider;
    c->flow = "cached";
    oidc_pam_audit_identity(c, &id);
    oidc_pam_audit_groups(c, NULL);
    if ((pcfg = oidc_cfg_provider(c->cfg, u->provider)) == NULL)
        return deny(c, PAM_PERM_DENIED, "the cached user's provider is not configured here");
    if (u->expires != 0 && oidc_now() >= u->expires)
        return deny(c, PAM_ACCT_EXPIRED, "the cache entry has expired");
    if ((claims = cJSON_CreateObject()) == NULL ||
        (u->issuer != NULL && cJSON_AddStringToObject(claims, "iss", u->issuer) == NULL) ||
        (u->subject != NULL && cJSON_AddStringToObject(claims, "sub", u->subject) == NULL)) {
        cJSON_Delete(claims);
        return deny(c, PAM_BUF_ERR, "out of memory");
    }
    /* no login at hand: the rules see the cached (mapped) groups */
    r = oidc_policy_check_groups(c->cfg, pcfg, &id, claims, NULL, &err);
    cJSON_Delete(claims);
    if (r != OIDC_OK) {
        snprintf(msg, sizeof(msg), "no token in this session: %s", oidc_err_msg(&err));
        return deny(c, oidc_pam_rc(c->op, r), msg);
    }
    oidc_pam_reason(c, "policy passed (cached identity)");
    oidc_pam_audit(c, "success");
    rc = PAM_SUCCESS;
    return rc;
}

int oidc_pam_acct(struct oidc_pam_ctx *c)
{
    const struct oidc_pam_login *l = oidc_pam_login_get(c);
    struct oidc_cache_user u;
    struct oidc_err err = {0};
    char shown[64];
    int r, rc;

    if (l != NULL)
        return acct_login(c, l);
    if (c->user == NULL || oidc_pam_local_user(c->user)) {
        oidc_pam_debug(c, "account: not a user of this module");
        return PAM_IGNORE;
    }
    r = oidc_pam_cache_lookup(c->cfg, c->user, &u, &err);
    if (r == OIDC_ERR_NOTFOUND && oidc_pam_preauth_name(c->cfg, c->user))
        /* only NSS's provisional entry makes this user exist: nobody authenticated it here */
        return deny(c, PAM_PERM_DENIED,
                    "a preauth name with no cache entry and no login by this module (another "
                    "authentication method cannot stand in for a token)");
    if (r == OIDC_ERR_NOTFOUND) {
        /* PAM_USER is whatever the application was given: printable before it is logged */
        oidc_pam_debug(c, "account: '%s' is not cached: not a user of this module",
                       oidc_printable(shown, sizeof(shown), c->user));
        return PAM_IGNORE;
    }
    if (r != OIDC_OK) {
        /* cannot tell whether the user is ours: closed */
        return deny(c, r == OIDC_ERR_NOMEM ? PAM_BUF_ERR : PAM_PERM_DENIED, oidc_err_msg(&err));
    }
    rc = acct_cached(c, &u);
    oidc_cache_user_clear(&u);
    return rc;
}
