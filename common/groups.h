/* Where a login's groups come from (docs/groups.md): the groups_claim of the verified token, or
 * of the userinfo response (groups_source = userinfo, or groups_overage = userinfo when the token
 * carries the overage marker, or the older userinfo = yes when the claim is absent), and why a
 * login has none. The mapping (idmap.c) and the group rules (policy.c) both read the result, so
 * they always see the same groups. */
#ifndef OIDC_GROUPS_H
#define OIDC_GROUPS_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "conf.h"
#include "util.h"

struct oidc_provider;

enum oidc_groups_from {
    OIDC_GROUPS_FROM_TOKEN = 0, /* the token's groups_claim */
    OIDC_GROUPS_FROM_USERINFO,  /* the userinfo response's groups_claim */
    OIDC_GROUPS_FROM_NONE,      /* no groups are known: why says why; group rules refuse */
};

#define OIDC_GROUPS_WHY_MAX 200

struct oidc_groups {
    enum oidc_groups_from from;
    const cJSON *raw; /* the claim's value as the IdP sent it (any JSON type); NULL with NONE */
    cJSON *doc;       /* owned: the userinfo document raw points into, or NULL */
    char why[OIDC_GROUPS_WHY_MAX]; /* FROM_NONE: why there are no groups (audited) */
};

/* Whether claims carry the groups overage marker for groups_claim (its first path segment TOP):
 * a "_claim_names" object with a member TOP (OpenID Connect Core 5.6.2 distributed claims, which
 * Entra ID sends instead of more than 200 groups), or, for TOP "groups", "hasgroups": true (or
 * "true"). Writes the marker's name ("_claim_names.groups", "hasgroups") into buf. */
int oidc_groups_overage(const cJSON *claims, const char *groups_claim, char *buf, size_t cap);

/* The groups of a presented token (a token login: no access token, so no userinfo). OIDC_OK with
 * *g filled (FROM_TOKEN or FROM_NONE); OIDC_ERR_DENIED naming the marker when the token carries
 * the overage marker (groups_overage = refuse, or = userinfo, which needs a device login). what
 * names the token in messages ("token", "ID token"). Clear *g with oidc_groups_clear. */
int oidc_groups_from_token(const struct oidc_provider_cfg *p, const cJSON *claims, const char *what,
                           struct oidc_groups *g, struct oidc_err *err);

/* The groups of a device login: the ID token's claims, or userinfo fetched with access_token
 * (may be NULL when the IdP sent none) when the configuration asks for it. */
int oidc_groups_resolve(struct oidc_provider *prov, const char *access_token, const cJSON *claims,
                        struct oidc_groups *g, struct oidc_err *err);

/* The groups from a userinfo response ui (taken over, also on failure) for the ID token's
 * claims: ui's "sub" must equal the ID token's (OpenID Connect Core 5.3.2), else
 * OIDC_ERR_TOKEN naming both; an overage marker in ui is OIDC_ERR_DENIED. reason says why
 * userinfo was asked ("groups_source = userinfo"), for the messages. */
int oidc_groups_from_userinfo(const struct oidc_provider_cfg *p, const cJSON *claims, cJSON *ui,
                              const char *reason, struct oidc_groups *g, struct oidc_err *err);

/* Whether any group rule applies: allow_groups, deny_groups, require_group of the provider, or
 * require_group= of the module arguments (cfg may be NULL). Writes the first one's name. */
int oidc_groups_rules(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                      const char **which);

void oidc_groups_clear(struct oidc_groups *g);

#endif
