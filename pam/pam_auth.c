/* pam_sm_authenticate: a device-flow or token login, verified, mapped to the PAM user, checked
 * against the claims policy, recorded against replay, stored in the identity cache, and kept on
 * the handle for the later phases. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "b64.h"
#include "cache.h"
#include "json.h"
#include "jwt.h"
#include "policy.h"
#include "provider.h"
#include "replay.h"
#include "tokprompt.h"
#include "pam_int.h"

/* Fails the login: records the reason, writes the audit line, returns rc. */
static int refuse(struct oidc_pam_ctx *c, int rc, const char *reason)
{
    if (reason != NULL)
        oidc_pam_reason(c, "%s", reason);
    oidc_pam_audit(c, rc == PAM_AUTHINFO_UNAVAIL ? "unavailable" : "failure");
    return rc;
}

/* Fails the login as refuse() does, and tells the user why (unless PAM_SILENT): the reason names
 * the failed rule, never token bytes, and is made printable. */
static int refuse_tell(struct oidc_pam_ctx *c, int rc, const char *reason)
{
    char shown[300];

    oidc_pam_error(c, "Login refused: %s", oidc_printable(shown, sizeof(shown), reason));
    return refuse(c, rc, reason);
}

/* The token: PAM_AUTHTOK with use_first_pass/try_first_pass, else the chunked prompt. */
static int get_token(struct oidc_pam_ctx *c, const char *prompt, char **tok, size_t *len)
{
    const void *item = NULL;

    *tok = NULL;
    *len = 0;
    if (c->cfg->use_first_pass || c->cfg->try_first_pass) {
        if (pam_get_item(c->pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL &&
            oidc_jws_shape_ok(item)) {
            if ((*tok = strdup(item)) == NULL)
                return PAM_BUF_ERR;
            *len = strlen(*tok);
            return PAM_SUCCESS;
        }
        if (c->cfg->use_first_pass) {
            oidc_pam_reason(c, "use_first_pass: no token in PAM_AUTHTOK");
            return PAM_AUTH_ERR;
        }
    }
    return oidc_pam_read_token(c, prompt, tok, len);
}

/* The provider whose issuer is the token's (unverified) iss: for several providers without a
 * default. Verification then checks everything against that provider's rules. */
static const struct oidc_provider_cfg *provider_by_issuer(struct oidc_pam_ctx *c, const char *tok,
                                                          size_t len)
{
    struct oidc_token *t = NULL;
    const struct oidc_provider_cfg *found = NULL;
    char iss[128];
    size_t i;

    if (oidc_token_decode_unverified(tok, len, &t, NULL) != OIDC_OK || t->iss == NULL) {
        oidc_pam_reason(c, "the token is not a JWT with an issuer");
        goto out;
    }
    for (i = 0; i < c->cfg->n_providers; i++)
        if (strcmp(c->cfg->providers[i]->issuer, t->iss) == 0)
            found = c->cfg->providers[i];
    if (found == NULL)
        oidc_pam_reason(c, "no provider is configured for issuer '%s'",
                        oidc_printable(iss, sizeof(iss), t->iss));
out:
    oidc_token_free(t);
    return found;
}

/* The memberships the cache writer dropped: one audit line each, and this login's identity (its
 * audit line and session) loses them too, so it tells what NSS will answer. */
static void drop_groups(struct oidc_pam_ctx *c, struct oidc_identity *id,
                        const struct oidc_cache_drops *d)
{
    size_t i, k;

    for (i = 0; i < d->n; i++) {
        oidc_pam_audit_drop(c, &d->v[i]);
        if (strcmp(d->v[i].user, id->name) != 0)
            continue;
        for (k = 0; k < id->n_groups; k++)
            if (strcmp(id->groups[k].name, d->v[i].group) == 0) {
                free(id->groups[k].name);
                memmove(&id->groups[k], &id->groups[k + 1],
                        (id->n_groups - k - 1) * sizeof(id->groups[0]));
                id->n_groups--;
                break;
            }
    }
    if (d->n > 0)
        oidc_pam_audit_identity(c, id);
}

/* The common end of both flows. claims and groups (whose raw may point into claims) are taken
 * over. */
static int finish(struct oidc_pam_ctx *c, const struct oidc_provider_cfg *pcfg, cJSON *claims,
                  struct oidc_groups *groups, int64_t exp, const char *jti, int token_flow,
                  const char *tok, size_t len)
{
    struct oidc_err err = {0}, warn = {0};
    struct oidc_identity *id = NULL;
    struct oidc_pam_login *l = NULL;
    struct oidc_cache_drops drops = {0};
    const void *item = NULL;
    int64_t now = oidc_now();
    char name[64], user[64];
    int r, rc;

    c->jti = jti;
    /* verified: the audit line names the token's issuer and subject even if mapping fails */
    (void)oidc_json_get_string(claims, "iss", &c->issuer);
    (void)oidc_json_get_string(claims, "sub", &c->subject);
    oidc_pam_audit_groups(c, groups);
    if ((r = oidc_idmap_map_groups(pcfg, NULL, claims, groups, &id, &err)) != OIDC_OK) {
        rc = refuse_tell(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
        goto out;
    }
    oidc_pam_audit_identity(c, id);
    if (c->user != NULL && strcmp(c->user, id->name) != 0) {
        oidc_pam_reason(c, "the token is for '%s', not for the PAM user",
                        oidc_printable(name, sizeof(name), id->name));
        oidc_pam_error(c, "This sign-in belongs to '%s', not to '%s'.", id->name,
                       oidc_printable(user, sizeof(user), c->user));
        rc = refuse(c, PAM_AUTH_ERR, NULL);
        goto out;
    }
    /* the account phase checks again; checking here keeps refused users out of the cache and
     * keeps a stack without our account line from failing open */
    if ((r = oidc_policy_check_groups(c->cfg, pcfg, id, claims, groups, &err)) != OIDC_OK) {
        rc = refuse_tell(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
        goto out;
    }
    if (token_flow && (r = oidc_replay_check(c->cfg, pcfg, id->issuer, jti, tok, len, exp, now,
                                             &warn, &err)) != OIDC_OK) {
        /* a replay is the user's to know; where the replay store lives is not */
        if (r == OIDC_ERR_DENIED || r == OIDC_ERR_TOKEN) {
            rc = refuse_tell(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
        } else {
            oidc_pam_error(c, "Login refused: the token cannot be checked for reuse now.");
            rc = refuse(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
        }
        goto out;
    }
    if (warn.code != 0)
        oidc_pam_log(c, LOG_WARNING, "%s", oidc_err_msg(&warn));
    if ((r = oidc_cache_store_identity(c->cfg, pcfg, id,
                                       pcfg->ephemeral ? OIDC_CACHE_F_EPHEMERAL : 0, now, NULL,
                                       &drops, &err)) != OIDC_OK) {
        rc = refuse(c, r == OIDC_ERR_MAPPING ? PAM_AUTH_ERR : oidc_pam_rc(c->op, r),
                    oidc_err_msg(&err));
        goto out;
    }
    drop_groups(c, id, &drops);
    if (c->user == NULL) {
        if ((rc = pam_set_item(c->pamh, PAM_USER, id->name)) != PAM_SUCCESS ||
            (rc = pam_get_item(c->pamh, PAM_USER, &item)) != PAM_SUCCESS) {
            rc = refuse(c, rc, "cannot set PAM_USER");
            goto out;
        }
        c->user = item;
    }
    if ((l = calloc(1, sizeof(*l))) == NULL || (l->provider = strdup(pcfg->name)) == NULL ||
        (jti != NULL && (l->jti = strdup(jti)) == NULL)) {
        oidc_pam_login_free(l);
        rc = refuse(c, PAM_BUF_ERR, "out of memory");
        goto out;
    }
    l->id = id;
    id = NULL; /* transferred */
    l->claims = claims;
    claims = NULL; /* transferred */
    l->groups = *groups;
    memset(groups, 0, sizeof(*groups)); /* transferred */
    l->exp = exp;
    l->token_flow = token_flow;
    l->ephemeral = pcfg->ephemeral;
    c->jti = l->jti;
    /* the environment goes now too: sshd authenticates in a child process and carries the PAM
     * environment (not pam_data) over to the process that opens the session */
    if ((rc = oidc_pam_export(c, l)) != PAM_SUCCESS) {
        oidc_pam_login_free(l);
        rc = refuse(c, rc, "cannot set the PAM environment");
        goto out;
    }
    if ((rc = oidc_pam_login_set(c, l)) != PAM_SUCCESS) {
        rc = refuse(c, rc, "pam_set_data failed");
        goto out;
    }
    oidc_pam_reason(c, "%s login verified", token_flow ? "token" : "device");
    oidc_pam_audit(c, "success");
    rc = PAM_SUCCESS;
out:
    oidc_cache_drops_free(&drops);
    oidc_identity_free(id);
    oidc_groups_clear(groups);
    cJSON_Delete(claims);
    return rc;
}

static int token_login(struct oidc_pam_ctx *c, const struct oidc_provider_cfg *pcfg,
                       const char *tok, size_t len)
{
    struct oidc_err err = {0};
    struct oidc_provider *prov = NULL;
    struct oidc_token *t = NULL;
    struct oidc_groups groups = {0};
    cJSON *claims = NULL;
    char *jti = NULL;
    int r, rc;

    c->flow = "token";
    if (pcfg == NULL && (pcfg = provider_by_issuer(c, tok, len)) == NULL)
        return refuse(c, PAM_AUTH_ERR, NULL);
    c->provider = pcfg->name;
    if ((r = oidc_provider_new(pcfg, c->cfg->state_dir, &prov, &err)) != OIDC_OK ||
        (r = oidc_provider_verify_presented(prov, c->cfg->host_name, tok, len, oidc_now(), NULL, &t,
                                            &err)) != OIDC_OK) {
        oidc_pam_debug(c, "token refused: %s", oidc_err_msg(&err));
        rc = refuse_tell(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
        goto out;
    }
    if ((claims = cJSON_Duplicate(t->claims, 1)) == NULL ||
        (t->jti != NULL && (jti = strdup(t->jti)) == NULL)) {
        rc = refuse(c, PAM_BUF_ERR, "out of memory");
        goto out;
    }
    /* the token's groups, or a refusal for its overage marker (groups.h) */
    if ((r = oidc_groups_from_token(pcfg, claims, "token", &groups, &err)) != OIDC_OK) {
        (void)oidc_json_get_string(claims, "iss", &c->issuer);
        (void)oidc_json_get_string(claims, "sub", &c->subject);
        rc = refuse_tell(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
        goto out;
    }
    rc = finish(c, pcfg, claims, &groups, t->exp, jti, 1, tok, len);
    claims = NULL; /* transferred */
out:
    oidc_groups_clear(&groups);
    cJSON_Delete(claims);
    free(jti);
    oidc_token_free(t);
    oidc_provider_free(prov);
    return rc;
}

static int device_login(struct oidc_pam_ctx *c, const struct oidc_provider_cfg *pcfg, int64_t start)
{
    struct oidc_err err = {0};
    struct oidc_provider *prov = NULL;
    struct oidc_groups groups = {0};
    cJSON *claims = NULL;
    int64_t exp = 0;
    int timeout, r, rc;

    c->flow = "device";
    if (pcfg == NULL)
        return refuse(c, PAM_SERVICE_ERR,
                      "the device flow needs one provider: set default_provider or provider=");
    c->provider = pcfg->name;
    timeout = c->cfg->login_timeout > 0 ? c->cfg->login_timeout : pcfg->login_timeout;
    if ((r = oidc_provider_new(pcfg, c->cfg->state_dir, &prov, &err)) != OIDC_OK) {
        rc = refuse(c, oidc_pam_rc(c->op, r), oidc_err_msg(&err));
        goto out;
    }
    if ((rc = oidc_pam_device_login(c, prov, start + timeout, &claims, &groups, &exp, &err)) !=
        PAM_SUCCESS) {
        rc = refuse(c, rc, oidc_err_msg(&err));
        goto out;
    }
    rc = finish(c, pcfg, claims, &groups, exp, NULL, 0, NULL, 0);
    claims = NULL; /* transferred */
out:
    oidc_groups_clear(&groups);
    cJSON_Delete(claims);
    oidc_provider_free(prov);
    return rc;
}

int oidc_pam_authenticate(struct oidc_pam_ctx *c)
{
    const struct oidc_provider_cfg *pcfg;
    enum oidc_flow flow;
    int64_t start = oidc_now();
    char *tok = NULL;
    size_t len = 0;
    int rc;

    if (c->user != NULL && oidc_pam_local_user(c->user)) {
        char shown[64];

        /* a local account: another module decides, and nobody sees a device prompt */
        oidc_pam_debug(c, "'%s' is a local account: not ours",
                       oidc_printable(shown, sizeof(shown), c->user));
        return PAM_USER_UNKNOWN;
    }
    if (c->cfg->n_providers == 0) {
        oidc_pam_log(c, LOG_ALERT, "no provider is configured");
        return PAM_SERVICE_ERR;
    }
    /* the named, default or only provider; with several and no default, a token's issuer
     * picks one (so the flow is token unless flow= says otherwise) */
    pcfg = oidc_cfg_provider(c->cfg, NULL);
    flow = c->cfg->flow != OIDC_FLOW_UNSET ? c->cfg->flow
           : pcfg != NULL                  ? pcfg->flow
                                           : OIDC_FLOW_TOKEN;
    if (flow == OIDC_FLOW_DEVICE)
        return device_login(c, pcfg, start);
    c->flow = "token";
    rc = get_token(c, flow == OIDC_FLOW_AUTO ? OIDC_TOKPROMPT_AUTO : OIDC_TOKPROMPT_FIRST, &tok,
                   &len);
    if (rc != PAM_SUCCESS) {
        oidc_free_secret(&tok);
        if (c->reason[0] == '\0')
            oidc_pam_reason(c, "no token: the conversation failed (%s)", oidc_pam_rc_name(rc));
        return refuse(c, rc, NULL);
    }
    if (len == 0) {
        oidc_free_secret(&tok);
        if (flow == OIDC_FLOW_AUTO)
            return device_login(c, pcfg, start);
        return refuse(c, PAM_AUTH_ERR, "no token was given");
    }
    rc = token_login(c, pcfg, tok, len);
    oidc_free_secret(&tok);
    return rc;
}
