/* Where a login's groups come from (see groups.h and docs/groups.md). Everything here reads
 * verified claims or a userinfo response fetched over TLS with the login's access token; values
 * from either reach a message only through show(): printable and cut. */
#include "config.h"
#include "groups.h"
#include "device.h"
#include "json.h"
#include "provider.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX 64  /* bytes of one value quoted in a message */
#define TOP_MAX  128 /* bytes of groups_claim's first path segment */

static const char *show(char buf[SHOW_MAX + 4], const char *s)
{
    oidc_printable(buf, SHOW_MAX + 1, s);
    if (s != NULL && strlen(s) > SHOW_MAX)
        memcpy(buf + SHOW_MAX, "...", 4);
    return buf;
}

static const char *claim_path(const struct oidc_provider_cfg *p)
{
    return p->groups_claim != NULL ? p->groups_claim : "groups";
}

/* groups_claim's first path segment (what a distributed claim would be called), or "" when it
 * does not fit. */
static void top_name(const char *path, char top[TOP_MAX])
{
    size_t n = strcspn(path, ".");

    if (n >= TOP_MAX)
        n = 0;
    memcpy(top, path, n);
    top[n] = '\0';
}

int oidc_groups_overage(const cJSON *claims, const char *groups_claim, char *buf, size_t cap)
{
    char top[TOP_MAX];
    const cJSON *names, *has;

    if (buf != NULL && cap > 0)
        buf[0] = '\0';
    if (claims == NULL || groups_claim == NULL || groups_claim[0] == '\0')
        return 0;
    top_name(groups_claim, top);
    if (top[0] == '\0')
        return 0;
    names = cJSON_GetObjectItemCaseSensitive(claims, "_claim_names");
    if (cJSON_IsObject(names) && cJSON_GetObjectItemCaseSensitive(names, top) != NULL) {
        if (buf != NULL)
            snprintf(buf, cap, "_claim_names.%s", top);
        return 1;
    }
    has = cJSON_GetObjectItemCaseSensitive(claims, "hasgroups");
    if (strcmp(top, "groups") == 0 &&
        (cJSON_IsTrue(has) || (cJSON_IsString(has) && strcmp(has->valuestring, "true") == 0))) {
        if (buf != NULL)
            snprintf(buf, cap, "hasgroups");
        return 1;
    }
    return 0;
}

static void set_none(struct oidc_groups *g, const char *fmt, ...) OIDC_FORMAT(2, 3);
static void set_none(struct oidc_groups *g, const char *fmt, ...)
{
    va_list ap;

    g->from = OIDC_GROUPS_FROM_NONE;
    g->raw = NULL;
    va_start(ap, fmt);
    vsnprintf(g->why, sizeof(g->why), fmt, ap);
    va_end(ap);
}

/* The token's own claim: FROM_TOKEN, or FROM_NONE when it is absent or groups are off. */
static void take_token(const struct oidc_provider_cfg *p, const cJSON *claims, const char *what,
                       struct oidc_groups *g)
{
    const char *path = claim_path(p);
    char s[SHOW_MAX + 4];

    memset(g, 0, sizeof(*g));
    if (path[0] == '\0') {
        set_none(g, "groups_claim is empty (groups are off)");
        return;
    }
    if ((g->raw = oidc_json_get_path(claims, path)) == NULL) {
        set_none(g, "the %s carries no '%s' claim", what, show(s, path));
        return;
    }
    g->from = OIDC_GROUPS_FROM_TOKEN;
}

int oidc_groups_from_token(const struct oidc_provider_cfg *p, const cJSON *claims, const char *what,
                           struct oidc_groups *g, struct oidc_err *err)
{
    char marker[TOP_MAX + 16];

    if (p == NULL || claims == NULL || g == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_groups_from_token: missing argument");
    if (what == NULL)
        what = "token";
    take_token(p, claims, what, g);
    if (claim_path(p)[0] == '\0')
        return OIDC_OK;
    if (p->groups_source == OIDC_GROUPS_SOURCE_USERINFO) {
        /* the configured source cannot be asked: the token's own claim may be another list
         * (object IDs instead of names, say), so it is not used in its place */
        set_none(g,
                 "groups_source = userinfo, but this %s came without an access token to "
                 "fetch userinfo with",
                 what);
        return OIDC_OK;
    }
    if (!oidc_groups_overage(claims, claim_path(p), marker, sizeof(marker)))
        return OIDC_OK;
    memset(g, 0, sizeof(*g));
    if (p->groups_overage == OIDC_GROUPS_OVERAGE_USERINFO)
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "the %s carries the groups overage marker '%s' (the IdP left the "
                            "groups out); groups_overage = userinfo needs a device login (this "
                            "%s came without an access token for userinfo): refused",
                            what, marker, what);
    return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                        "the %s carries the groups overage marker '%s' (the IdP left the groups "
                        "out, as Entra ID does beyond 200): refused (groups_overage = refuse)",
                        what, marker);
}

int oidc_groups_from_userinfo(const struct oidc_provider_cfg *p, const cJSON *claims, cJSON *ui,
                              const char *reason, struct oidc_groups *g, struct oidc_err *err)
{
    const char *sub_id = NULL, *sub_ui = NULL, *path;
    char a[SHOW_MAX + 4], b[SHOW_MAX + 4], marker[TOP_MAX + 16];
    int r;

    if (p == NULL || claims == NULL || ui == NULL || g == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_groups_from_userinfo: missing argument");
        goto out;
    }
    memset(g, 0, sizeof(*g));
    path = claim_path(p);
    if (oidc_json_get_string(claims, "sub", &sub_id) != OIDC_OK) {
        r = OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "the ID token has no 'sub' string");
        goto out;
    }
    if (oidc_json_get_string(ui, "sub", &sub_ui) != OIDC_OK) {
        r = OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                         "userinfo (asked because %s) has no 'sub' string: refused", reason);
        goto out;
    }
    if (strcmp(sub_id, sub_ui) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                         "userinfo is for subject '%s', but the ID token is for '%s' (OpenID "
                         "Connect Core 5.3.2): refused",
                         show(a, sub_ui), show(b, sub_id));
        goto out;
    }
    if (oidc_groups_overage(ui, path, marker, sizeof(marker))) {
        r = OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                         "userinfo (asked because %s) carries the groups overage marker '%s' "
                         "too: refused",
                         reason, marker);
        goto out;
    }
    if ((g->raw = oidc_json_get_path(ui, path)) == NULL) {
        snprintf(g->why, sizeof(g->why), "userinfo (asked because %s) carries no '%s' claim",
                 reason, show(a, path));
        g->from = OIDC_GROUPS_FROM_NONE;
    } else {
        g->from = OIDC_GROUPS_FROM_USERINFO;
    }
    g->doc = ui;
    ui = NULL; /* transferred */
    r = OIDC_OK;
out:
    cJSON_Delete(ui);
    return r;
}

int oidc_groups_resolve(struct oidc_provider *prov, const char *access_token, const cJSON *claims,
                        struct oidc_groups *g, struct oidc_err *err)
{
    const struct oidc_provider_cfg *p = prov != NULL ? oidc_provider_cfg(prov) : NULL;
    char marker[TOP_MAX + 16], reason[TOP_MAX + 96];
    cJSON *ui = NULL;
    int r;

    if (p == NULL || claims == NULL || g == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_groups_resolve: missing argument");
    memset(g, 0, sizeof(*g));
    if (claim_path(p)[0] == '\0') {
        take_token(p, claims, "ID token", g);
        return OIDC_OK;
    }
    if (p->groups_source == OIDC_GROUPS_SOURCE_USERINFO) {
        snprintf(reason, sizeof(reason), "groups_source = userinfo");
    } else if (oidc_groups_overage(claims, claim_path(p), marker, sizeof(marker))) {
        if (p->groups_overage != OIDC_GROUPS_OVERAGE_USERINFO)
            return oidc_groups_from_token(p, claims, "ID token", g, err);
        snprintf(reason, sizeof(reason),
                 "the ID token carries the overage marker '%s' and groups_overage = userinfo",
                 marker);
    } else {
        take_token(p, claims, "ID token", g);
        if (g->from != OIDC_GROUPS_FROM_NONE || !p->userinfo)
            return OIDC_OK;
        snprintf(reason, sizeof(reason), "the ID token has no groups claim and userinfo = yes");
    }
    if (access_token == NULL || access_token[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "groups from userinfo (%s): the IdP sent no access token with the "
                            "ID token",
                            reason);
    if ((r = oidc_userinfo_fetch(prov, access_token, &ui, err)) != OIDC_OK)
        return r;
    return oidc_groups_from_userinfo(p, claims, ui, reason, g, err);
}

int oidc_groups_rules(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                      const char **which)
{
    const char *w = NULL;

    if (p->deny_groups.n > 0)
        w = "deny_groups";
    else if (p->allow_groups.n > 0)
        w = "allow_groups";
    else if (p->require_groups.n > 0)
        w = "require_group";
    else if (cfg != NULL && cfg->require_groups.n > 0)
        w = "require_group (module argument)";
    if (which != NULL)
        *which = w;
    return w != NULL;
}

void oidc_groups_clear(struct oidc_groups *g)
{
    if (g == NULL)
        return;
    cJSON_Delete(g->doc);
    memset(g, 0, sizeof(*g));
}
