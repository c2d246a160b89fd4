/* pam_sm_setcred, pam_sm_open_session, pam_sm_close_session: the session carries the identity in
 * its environment (OIDC_*), and ephemeral users leave the cache when their session closes.
 *
 * setcred: this module holds no credentials to establish; it returns PAM_SUCCESS for its users
 * (sshd aborts a login whose pam_setcred(PAM_ESTABLISH_CRED) fails after a successful
 * authentication) and PAM_IGNORE for others. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "cache.h"
#include "json.h"
#include "pam_int.h"

#define ENV_VALUE_MAX 1024

static int put(struct oidc_pam_ctx *c, const char *name, const char *value)
{
    char buf[128 + ENV_VALUE_MAX];
    char clean[ENV_VALUE_MAX];

    if (value == NULL)
        return PAM_SUCCESS;
    /* no control characters (a newline could forge a line in an environment file) */
    oidc_printable(clean, sizeof(clean), value);
    if (snprintf(buf, sizeof(buf), "%s=%s", name, clean) >= (int)sizeof(buf))
        return PAM_BUF_ERR; /* name is ours and short: cannot happen */
    return pam_putenv(c->pamh, buf);
}

/* OIDC_CLAIM_<NAME>: upper case, every character outside [A-Z0-9] becomes '_'. */
static void env_name(const char *claim, char *out, size_t cap)
{
    size_t i, n = (size_t)snprintf(out, cap, "OIDC_CLAIM_");

    for (i = 0; claim[i] != '\0' && n + 1 < cap; i++, n++)
        out[n] = isalnum((unsigned char)claim[i]) ? (char)toupper((unsigned char)claim[i]) : '_';
    out[n] = '\0';
}

/* A claim's value as text: strings as they are, numbers and booleans in JSON, arrays of strings
 * joined with ','; objects and null are not exported. */
static int claim_text(const cJSON *v, char *out, size_t cap)
{
    const cJSON *e;
    size_t n = 0;
    char *s;

    out[0] = '\0';
    if (cJSON_IsString(v)) {
        snprintf(out, cap, "%s", v->valuestring);
        return 1;
    }
    if (cJSON_IsNumber(v) || cJSON_IsBool(v)) {
        if ((s = cJSON_PrintUnformatted(v)) == NULL)
            return 0;
        snprintf(out, cap, "%s", s);
        free(s);
        return 1;
    }
    if (!cJSON_IsArray(v))
        return 0;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e))
            continue;
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n > 0 ? "," : "",
                              e->valuestring);
        if (n >= cap)
            break;
    }
    return 1;
}

int oidc_pam_export(struct oidc_pam_ctx *c, const struct oidc_pam_login *l)
{
    const struct oidc_provider_cfg *pcfg = oidc_cfg_provider(c->cfg, l->provider);
    char name[96], value[ENV_VALUE_MAX], num[32];
    size_t i;
    int rc;

    snprintf(num, sizeof(num), "%lld", (long long)l->exp);
    if ((rc = put(c, "OIDC_ISSUER", l->id->issuer)) != PAM_SUCCESS ||
        (rc = put(c, "OIDC_SUBJECT", l->id->subject)) != PAM_SUCCESS ||
        (rc = put(c, "OIDC_USERNAME", l->id->name)) != PAM_SUCCESS ||
        (rc = put(c, "OIDC_JTI", l->jti)) != PAM_SUCCESS ||
        (rc = put(c, "OIDC_EXPIRES_AT", num)) != PAM_SUCCESS)
        return rc;
    for (i = 0; pcfg != NULL && i < pcfg->export_claims.n; i++) {
        env_name(pcfg->export_claims.v[i], name, sizeof(name));
        if (claim_text(oidc_json_get_path(l->claims, pcfg->export_claims.v[i]), value,
                       sizeof(value)) &&
            (rc = put(c, name, value)) != PAM_SUCCESS)
            return rc;
    }
    return PAM_SUCCESS;
}

/* Whether the user is ours without a login record: a cache entry. *u is filled when it is. */
static int cached(struct oidc_pam_ctx *c, struct oidc_cache_user *u)
{
    struct oidc_err err = {0};
    int r;

    memset(u, 0, sizeof(*u));
    if (c->user == NULL || oidc_pam_local_user(c->user))
        return 0;
    r = oidc_pam_cache_lookup(c->cfg, c->user, u, &err);
    if (r != OIDC_OK && r != OIDC_ERR_NOTFOUND)
        oidc_pam_log(c, LOG_ERR, "identity cache: %s", oidc_err_msg(&err));
    return r == OIDC_OK;
}

int oidc_pam_setcred(struct oidc_pam_ctx *c)
{
    struct oidc_cache_user u;
    int ours;

    if (oidc_pam_login_get(c) != NULL)
        return PAM_SUCCESS;
    ours = cached(c, &u);
    oidc_cache_user_clear(&u);
    return ours ? PAM_SUCCESS : PAM_IGNORE;
}

/* OIDC_EXPIRES_AT of the PAM environment, 0 when unset or not a number. */
static int64_t env_exp(struct oidc_pam_ctx *c)
{
    const char *v = pam_getenv(c->pamh, "OIDC_EXPIRES_AT");
    char *end;
    long long n;

    if (v == NULL || *v == '\0')
        return 0;
    errno = 0;
    n = strtoll(v, &end, 10);
    return errno == 0 && *end == '\0' && n > 0 ? (int64_t)n : 0;
}

int oidc_pam_open_session(struct oidc_pam_ctx *c)
{
    const struct oidc_pam_login *l = oidc_pam_login_get(c);
    struct oidc_cache_user u;
    int rc;

    if (l != NULL) {
        if ((rc = oidc_pam_export(c, l)) != PAM_SUCCESS)
            return rc;
        return oidc_pam_watch_start(c, l->provider, l->exp);
    }
    if (!cached(c, &u)) {
        oidc_cache_user_clear(&u);
        if (c->user != NULL && !oidc_pam_local_user(c->user) &&
            oidc_pam_preauth_name(c->cfg, c->user)) {
            oidc_pam_reason(c, "a preauth name with no cache entry and no login by this module");
            oidc_pam_audit(c, "failure");
            return PAM_SESSION_ERR;
        }
        return PAM_IGNORE;
    }
    /* authenticated elsewhere (sshd's authentication child, an SSH key): what the cache knows;
     * sshd has already copied the rest of the environment over from the child */
    if ((rc = put(c, "OIDC_ISSUER", u.issuer)) == PAM_SUCCESS &&
        (rc = put(c, "OIDC_SUBJECT", u.subject)) == PAM_SUCCESS)
        rc = put(c, "OIDC_USERNAME", u.name);
    /* the token's exp as the authentication process exported it (sshd copies the PAM
     * environment of its root authentication child: the user cannot set it) */
    if (rc == PAM_SUCCESS)
        rc = oidc_pam_watch_start(c, u.provider, env_exp(c));
    oidc_cache_user_clear(&u);
    return rc;
}

int oidc_pam_close_session(struct oidc_pam_ctx *c)
{
    const struct oidc_pam_login *l = oidc_pam_login_get(c);
    struct oidc_cache_user u;
    struct oidc_err err = {0};
    int ours, ephemeral, r;

    oidc_pam_watch_stop(c);
    if (l != NULL) {
        ours = 1;
        ephemeral = l->ephemeral;
        memset(&u, 0, sizeof(u));
    } else {
        ours = cached(c, &u);
        ephemeral = ours && (u.flags & OIDC_CACHE_F_EPHEMERAL) != 0;
    }
    c->provider = l != NULL ? l->provider : u.provider;
    if (!ours || !ephemeral) {
        oidc_cache_user_clear(&u);
        return ours ? PAM_SUCCESS : PAM_IGNORE;
    }
    r = oidc_cache_remove_user(c->cfg, l != NULL ? l->id->name : c->user, &err);
    if (r != OIDC_OK) {
        oidc_pam_reason(c, "cannot remove the ephemeral user: %s", oidc_err_msg(&err));
        oidc_pam_audit(c, "failure");
    } else {
        oidc_pam_reason(c, "ephemeral user removed from the cache");
        oidc_pam_audit(c, "success");
    }
    oidc_cache_user_clear(&u);
    return r == OIDC_OK ? PAM_SUCCESS : PAM_SESSION_ERR;
}
