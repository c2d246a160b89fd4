/* Claims-based authorization (see policy.h): deny lists, allow lists, required groups and required
 * claims, checked in that order; the first refusal ends the check with a message that names the
 * rule and the value that failed it. Values from the token are untrusted: every one goes through
 * oidc_printable() and is cut to SHOW_MAX bytes before it reaches a message. */
#include "config.h"
#include "policy.h"
#include "json.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX   48 /* bytes of one value quoted in a message */
#define SHOW_BUF   (SHOW_MAX + 4)
#define LIST_BUF   96 /* bytes of a quoted list of patterns or groups */
#define CLAIM_MAX  64 /* bytes of a claim path (conf.c allows 64) */
#define NUMBER_BUF 64
#define JSON_EXACT 9007199254740992.0 /* 2^53 */

/* s made printable and cut to SHOW_MAX bytes, a cut marked with "...". */
static const char *show(char buf[SHOW_BUF], const char *s)
{
    oidc_printable(buf, SHOW_MAX + 1, s);
    if (s != NULL && strlen(s) > SHOW_MAX)
        memcpy(buf + SHOW_MAX, "...", 4);
    return buf;
}

/* The items of l joined by ", ", printable, cut to fit LIST_BUF. */
static const char *show_list(char buf[LIST_BUF], const struct oidc_strlist *l)
{
    char item[SHOW_BUF];
    size_t i, len = 0;
    int n;

    buf[0] = '\0';
    for (i = 0; i < l->n && l->v[i] != NULL; i++) {
        n = snprintf(buf + len, LIST_BUF - len, "%s%s", i == 0 ? "" : ", ", show(item, l->v[i]));
        if (n < 0 || (size_t)n >= LIST_BUF - len) {
            memcpy(buf + LIST_BUF - 4, "...", 4);
            break;
        }
        len += (size_t)n;
    }
    return buf;
}

static int glob_match(const char *pattern, const char *s)
{
    return pattern != NULL && s != NULL && fnmatch(pattern, s, 0) == 0;
}

static int ascii_fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive for ASCII letters only, whatever the locale (strcasecmp(3) follows LC_CTYPE,
 * and the application's locale is not ours to trust): the first n bytes of a and b, or all of
 * them with n == SIZE_MAX. */
static int ascii_eq_n(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (ascii_fold((unsigned char)a[i]) != ascii_fold((unsigned char)b[i]))
            return 0;
        if (a[i] == '\0')
            return 1;
    }
    return 1;
}

/* Whether the group rule names the IdP group value: the same name up to ASCII case, as the IdP
 * sends it or with the provider's group_prefix in front (the local name the mapping would give
 * it, so a rule written for the mapped name still holds). */
static int rule_names(const char *rule, const char *value, const char *prefix)
{
    size_t plen = prefix != NULL ? strlen(prefix) : 0;

    if (rule == NULL || value == NULL)
        return 0;
    if (ascii_eq_n(rule, value, SIZE_MAX))
        return 1;
    return plen > 0 && ascii_eq_n(rule, prefix, plen) && ascii_eq_n(rule + plen, value, SIZE_MAX);
}

/* What the group rules look at. After a login: the values of groups_claim as the IdP sent them
 * (raw), in the token or in userinfo (groups.h), before the mapping cuts them at OIDC_GROUPS_MAX,
 * drops names that are not POSIX-safe, not in group_allow or local, and lower-cases. Without a
 * login (the account phase of a cached user, where no token is at hand): the mapped groups. */
struct groups_view {
    const cJSON *raw;   /* the claim: a string or an array; NULL: use id->groups */
    const char *path;   /* groups_claim, for messages */
    const char *prefix; /* group_prefix */
    const struct oidc_identity *id;
};

static void groups_view_init(struct groups_view *g, const struct oidc_provider_cfg *p,
                             const struct oidc_identity *id, const struct oidc_groups *groups)
{
    g->path = p->groups_claim != NULL ? p->groups_claim : "groups";
    g->prefix = p->group_prefix;
    g->id = id;
    g->raw = groups != NULL ? groups->raw : NULL;
}

/* A login whose groups are not known (groups.h: OIDC_GROUPS_FROM_NONE) passes no group rule:
 * an empty list would let deny_groups pass silently. */
static int check_groups_known(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                              const struct oidc_groups *groups, struct oidc_err *err)
{
    const char *rule;

    if (groups == NULL || groups->from != OIDC_GROUPS_FROM_NONE ||
        !oidc_groups_rules(cfg, p, &rule))
        return OIDC_OK;
    return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                        "%s is set, but the login's groups are not known: %s; refused", rule,
                        groups->why);
}

/* The group value that the rule names, or NULL. */
static const char *view_find(const struct groups_view *g, const char *rule)
{
    const cJSON *it;
    size_t i;

    if (rule == NULL)
        return NULL;
    if (g->raw == NULL) {
        for (i = 0; i < g->id->n_groups; i++)
            if (rule_names(rule, g->id->groups[i].name, g->prefix))
                return g->id->groups[i].name;
        return NULL;
    }
    if (cJSON_IsString(g->raw))
        return rule_names(rule, g->raw->valuestring, g->prefix) ? g->raw->valuestring : NULL;
    if (cJSON_IsArray(g->raw)) {
        cJSON_ArrayForEach(it, g->raw)
        {
            if (cJSON_IsString(it) && rule_names(rule, it->valuestring, g->prefix))
                return it->valuestring;
        }
    }
    return NULL;
}

/* " (the IdP sends 'X')" when the value is spelled otherwise than the rule, else "". */
static const char *spelled(char buf[SHOW_BUF + 24], const char *rule, const char *value)
{
    char v[SHOW_BUF];

    if (strcmp(rule, value) == 0)
        return "";
    snprintf(buf, SHOW_BUF + 24, " (the IdP sends '%s')", show(v, value));
    return buf;
}

static int check_deny(const struct oidc_provider_cfg *p, const struct oidc_identity *id,
                      const struct groups_view *g, struct oidc_err *err)
{
    char a[SHOW_BUF], b[SHOW_BUF], c[SHOW_BUF + 24], d[SHOW_BUF];
    const char *v;
    size_t i;
    int n;

    for (i = 0; i < p->deny_users.n; i++)
        if (glob_match(p->deny_users.v[i], id->name))
            return OIDC_ERR_SET(err, OIDC_ERR_DENIED, "deny_users: user '%s' matches '%s'",
                                show(a, id->name), show(b, p->deny_users.v[i]));
    for (i = 0; i < p->deny_groups.n; i++)
        if ((v = view_find(g, p->deny_groups.v[i])) != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_DENIED, "deny_groups: user '%s' is in group '%s'%s",
                                show(a, id->name), show(b, p->deny_groups.v[i]),
                                spelled(c, p->deny_groups.v[i], v));
    if (p->deny_groups.n == 0 || g->raw == NULL || cJSON_IsNull(g->raw) || cJSON_IsString(g->raw))
        return OIDC_OK;
    /* A deny list is only as good as the group list it sees: refuse when the claim cannot be read
     * as groups, or when it has more values than the mapping keeps (NSS and sudoers %group would
     * see a cut list). */
    if (!cJSON_IsArray(g->raw))
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "deny_groups: claim '%s' is %s, not a string or an array of strings, "
                            "so the deny list cannot be checked",
                            show(d, g->path),
                            cJSON_IsObject(g->raw)   ? "an object"
                            : cJSON_IsNumber(g->raw) ? "a number"
                                                     : "a boolean");
    if ((n = cJSON_GetArraySize(g->raw)) > OIDC_GROUPS_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "deny_groups: claim '%s' has %d values, more than the %d groups the "
                            "identity mapping keeps; refused because deny_groups is set",
                            show(d, g->path), n, OIDC_GROUPS_MAX);
    return OIDC_OK;
}

static int check_allow(const struct oidc_provider_cfg *p, const struct oidc_identity *id,
                       const struct groups_view *g, struct oidc_err *err)
{
    char a[SHOW_BUF], l[LIST_BUF];
    size_t i;

    if (p->allow_users.n > 0) {
        for (i = 0; i < p->allow_users.n; i++)
            if (glob_match(p->allow_users.v[i], id->name))
                break;
        if (i == p->allow_users.n)
            return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                                "allow_users: user '%s' matches none of the allowed patterns (%s)",
                                show(a, id->name), show_list(l, &p->allow_users));
    }
    if (p->allow_groups.n > 0) {
        for (i = 0; i < p->allow_groups.n; i++)
            if (view_find(g, p->allow_groups.v[i]) != NULL)
                break;
        if (i == p->allow_groups.n)
            return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                                "allow_groups: user '%s' is in none of the allowed groups (%s)",
                                show(a, id->name), show_list(l, &p->allow_groups));
    }
    return OIDC_OK;
}

static int check_required_groups(const struct oidc_strlist *l, const char *source,
                                 const struct oidc_identity *id, const struct groups_view *g,
                                 struct oidc_err *err)
{
    char a[SHOW_BUF], b[SHOW_BUF];
    size_t i;

    for (i = 0; i < l->n; i++)
        if (view_find(g, l->v[i]) == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                                "require_group: user '%s' is not in group '%s'%s",
                                show(a, id->name), show(b, l->v[i]), source);
    return OIDC_OK;
}

/* The JSON text of a number: integers exactly, others as cJSON prints them (which uses '.'
 * whatever the locale). NULL on ENOMEM. */
static const char *number_text(const cJSON *v, char buf[NUMBER_BUF])
{
    double d = v->valuedouble;
    char *s;

    if (isfinite(d) && d == floor(d) && fabs(d) <= JSON_EXACT) {
        snprintf(buf, NUMBER_BUF, "%" PRId64, (int64_t)d);
        return buf;
    }
    s = cJSON_PrintUnformatted(v);
    if (s == NULL)
        return NULL;
    snprintf(buf, NUMBER_BUF, "%s", s);
    cJSON_free(s);
    return buf;
}

/* One NAME=GLOB rule against the claims. */
static int check_claim_rule(const char *rule, const char *source, const cJSON *claims,
                            struct oidc_err *err)
{
    char name[CLAIM_MAX + 1], a[SHOW_BUF], b[SHOW_BUF], c[SHOW_BUF], num[NUMBER_BUF];
    const char *eq = rule != NULL ? strchr(rule, '=') : NULL, *glob, *text;
    const cJSON *v, *it;
    size_t n;

    if (eq == NULL || eq == rule || (size_t)(eq - rule) > CLAIM_MAX || eq[1] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "require_claim: '%s' is not NAME=GLOB%s (refused: a rule that cannot "
                            "be checked never passes)",
                            show(a, rule), source);
    n = (size_t)(eq - rule);
    memcpy(name, rule, n);
    name[n] = '\0';
    glob = eq + 1;
    v = oidc_json_get_path(claims, name);
    if (v == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "require_claim: claim '%s' is missing (required to match '%s')%s",
                            show(a, name), show(b, glob), source);
    if (cJSON_IsString(v)) {
        if (glob_match(glob, v->valuestring))
            return OIDC_OK;
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "require_claim: claim '%s' is '%s', which does not match '%s'%s",
                            show(a, name), show(b, v->valuestring), show(c, glob), source);
    }
    if (cJSON_IsBool(v) || cJSON_IsNumber(v)) {
        text = cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "true" : "false") : number_text(v, num);
        if (text == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "require_claim: out of memory");
        if (glob_match(glob, text))
            return OIDC_OK;
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "require_claim: claim '%s' is %s, which does not match '%s'%s",
                            show(a, name), text, show(b, glob), source);
    }
    if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(it, v)
        {
            if (cJSON_IsString(it) && glob_match(glob, it->valuestring))
                return OIDC_OK;
        }
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "require_claim: claim '%s' is an array with no string element that "
                            "matches '%s'%s",
                            show(a, name), show(b, glob), source);
    }
    return OIDC_ERR_SET(
        err, OIDC_ERR_DENIED, "require_claim: claim '%s' is %s, which never matches '%s'%s",
        show(a, name), cJSON_IsObject(v) ? "an object" : "null", show(b, glob), source);
}

static int check_required_claims(const struct oidc_strlist *l, const char *source,
                                 const cJSON *claims, struct oidc_err *err)
{
    size_t i;
    int r;

    for (i = 0; i < l->n; i++)
        if ((r = check_claim_rule(l->v[i], source, claims, err)) != OIDC_OK)
            return r;
    return OIDC_OK;
}

int oidc_policy_check(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                      const struct oidc_identity *id, const cJSON *claims, struct oidc_err *err)
{
    struct oidc_groups g;
    int r;

    if (p == NULL || id == NULL || !cJSON_IsObject(claims))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_policy_check: bad arguments");
    if ((r = oidc_groups_from_token(p, claims, "token", &g, err)) != OIDC_OK)
        return r;
    r = oidc_policy_check_groups(cfg, p, id, claims, &g, err);
    oidc_groups_clear(&g);
    return r;
}

int oidc_policy_check_groups(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                             const struct oidc_identity *id, const cJSON *claims,
                             const struct oidc_groups *groups, struct oidc_err *err)
{
    static const char from_provider[] = "";
    static const char from_args[] = " (module argument)";
    struct groups_view g;
    int r;

    if (p == NULL || id == NULL || !cJSON_IsObject(claims))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_policy_check: bad arguments");
    groups_view_init(&g, p, id, groups);
    if ((r = check_groups_known(cfg, p, groups, err)) != OIDC_OK)
        return r;
    if ((r = check_deny(p, id, &g, err)) != OIDC_OK)
        return r;
    if ((r = check_allow(p, id, &g, err)) != OIDC_OK)
        return r;
    if ((r = check_required_groups(&p->require_groups, from_provider, id, &g, err)) != OIDC_OK)
        return r;
    if (cfg != NULL &&
        (r = check_required_groups(&cfg->require_groups, from_args, id, &g, err)) != OIDC_OK)
        return r;
    if ((r = check_required_claims(&p->require_claims, from_provider, claims, err)) != OIDC_OK)
        return r;
    if (cfg != NULL &&
        (r = check_required_claims(&cfg->require_claims, from_args, claims, err)) != OIDC_OK)
        return r;
    return OIDC_OK;
}
