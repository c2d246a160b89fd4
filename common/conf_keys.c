/* Configuration keys: the one table of keys (name, scopes, type, field, range, default rule) in
 * the order of nss-pam-oidc.conf(5), the per-type parsers and validators, the setter that every
 * file line and module argument goes through (oidc_cfg_set), the objects with their defaults
 * (oidc_cfg_new, providers) and the cross-field checks run once everything is read
 * (oidc_cfg_check). It reads no file and knows no INI syntax: the reader is conf_ini.c, the
 * owner and mode checks of files are in conf_file.c, loading is in conf.c.
 *
 * Adding a key (for example a PAM argument such as flow= or require_group=) means adding a row,
 * and a field to struct oidc_cfg or struct oidc_provider_cfg when it stores something.
 *
 * A struct oidc_cfg must come from oidc_cfg_new(): it is the first member of a private struct
 * that also records which keys were already set, so a key set twice is refused. */
#include "config.h"
#include "conf_int.h"
#include "hostname.h"
#include "idhash.h"
#include "jwk.h"
#include "replay_redis.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STATEDIR
#define STATEDIR "/var/lib/nss-pam-oidc"
#endif

#define SUGGEST_DISTANCE 2

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum type {
    T_STRING,  /* text; empty only with F_EMPTY_OK */
    T_BOOL,    /* yes/no, true/false, on/off, 1/0 */
    T_INT,     /* decimal integer in [min, max] */
    T_SECONDS, /* like T_INT, with an optional s/m/h/d suffix; stored as int or int64_t */
    T_LIST,    /* comma- and/or space-separated items, into a struct oidc_strlist */
    T_ENUM,    /* one of enums[], stored as int */
    T_PATH,    /* absolute path */
    T_URL,     /* http(s)://host[:port][/path], no userinfo, query or fragment */
    T_UID,     /* decimal or 0x hexadecimal, 0..0xFFFFFFFE, stored as uint32_t */
    T_ALGS,    /* JOSE algorithm names, via oidc_alg_list_parse(), stored as unsigned */
    T_UIDKEY,  /* name | subject | claim:NAME (uid_key and uid_claim) */
    T_NAME,    /* provider name: [A-Za-z0-9_.-]{1,64}, not starting with '.' */
    T_CONFIG,  /* config=PATH: consumed by oidc_cfg_load(); only validated here */
};

enum target { IN_NONE = 0, IN_CFG, IN_PROVIDER };

#define F_EMPTY_OK   1u /* an empty value is valid */
#define F_EMPTY_NULL 2u /* an empty string value is stored as NULL */
#define F_BARE       4u /* module argument given as a bare word means "yes" */
#define F_NOCASE     8u /* T_ENUM: names match ignoring ASCII case (as booleans do) */

/* a bad value is not quoted in the message (replay_store: a URL may hold a password) */
#define F_NOSHOW 16u

struct enum_val {
    const char *name;
    int value;
};

struct key {
    const char *name;
    unsigned scopes; /* mask of enum oidc_cfg_scope */
    enum type type;
    enum target in;
    size_t off, size; /* field in struct oidc_cfg or struct oidc_provider_cfg */
    int64_t min, max; /* T_INT, T_SECONDS */
    const struct enum_val *enums;
    const char *(*check)(const char *value); /* extra rule: returns the problem, or NULL */
    unsigned flags;
    const char *expect; /* what a valid value looks like; NULL: derived from the type */
};

#define CFG(m) \
    .in = IN_CFG, .off = offsetof(struct oidc_cfg, m), .size = sizeof(((struct oidc_cfg *)0)->m)
#define PRV(m)                                                       \
    .in = IN_PROVIDER, .off = offsetof(struct oidc_provider_cfg, m), \
    .size = sizeof(((struct oidc_provider_cfg *)0)->m)

#define SG OIDC_SCOPE_GLOBAL
#define SP OIDC_SCOPE_PROVIDER
#define SA OIDC_SCOPE_ARG

static const struct enum_val client_auth_vals[] = {
    {"basic", OIDC_CLIENT_AUTH_BASIC},
    {"post", OIDC_CLIENT_AUTH_POST},
    {NULL, 0},
};

static const struct enum_val flow_vals[] = {
    {"device", OIDC_FLOW_DEVICE},
    {"token", OIDC_FLOW_TOKEN},
    {"auto", OIDC_FLOW_AUTO},
    {NULL, 0},
};

/* qr: a style, or a boolean (yes = ascii, the rendering every terminal shows). */
static const struct enum_val qr_vals[] = {
    {"no", OIDC_QR_NO},
    {"ascii", OIDC_QR_ASCII},
    {"compact", OIDC_QR_COMPACT},
    {"yes", OIDC_QR_ASCII},
    {"true", OIDC_QR_ASCII},
    {"on", OIDC_QR_ASCII},
    {"1", OIDC_QR_ASCII},
    {"false", OIDC_QR_NO},
    {"off", OIDC_QR_NO},
    {"0", OIDC_QR_NO},
    {NULL, 0},
};

/* replay_store_unavailable */
static const struct enum_val replay_unavail_vals[] = {
    {"refuse", OIDC_REPLAY_UNAVAIL_REFUSE},
    {"local", OIDC_REPLAY_UNAVAIL_LOCAL},
    {NULL, 0},
};

/* groups_source */
static const struct enum_val groups_source_vals[] = {
    {"token", OIDC_GROUPS_SOURCE_TOKEN},
    {"userinfo", OIDC_GROUPS_SOURCE_USERINFO},
    {NULL, 0},
};

/* groups_overage */
static const struct enum_val groups_overage_vals[] = {
    {"refuse", OIDC_GROUPS_OVERAGE_REFUSE},
    {"userinfo", OIDC_GROUPS_OVERAGE_USERINFO},
    {NULL, 0},
};

static const char *check_scope(const char *value);
static const char *check_replay_store(const char *value);
static const char *check_claim_rule(const char *value);
static const char *check_claim_name(const char *value);
static const char *check_session_max(const char *value);
static const char *parse_number(const char *v, int units, int64_t min, int64_t max, int64_t *out);

#define SESSION_MAX_MIN 10
#define SESSION_MAX_MAX (30LL * 86400)

static const char *check_session_max(const char *value)
{
    int64_t n;

    if (strcmp(value, "token") == 0 || strcmp(value, "none") == 0)
        return NULL;
    if (parse_number(value, 1, SESSION_MAX_MIN, SESSION_MAX_MAX, &n) != NULL)
        return "is not token, none or a duration of 10s to 30d";
    return NULL;
}

enum oidc_session_max oidc_cfg_session_max(const struct oidc_provider_cfg *p, int64_t *secs)
{
    *secs = 0;
    if (p == NULL || p->session_max == NULL || strcmp(p->session_max, "none") == 0)
        return OIDC_SESSION_MAX_NONE;
    if (strcmp(p->session_max, "token") == 0)
        return OIDC_SESSION_MAX_TOKEN;
    if (parse_number(p->session_max, 1, SESSION_MAX_MIN, SESSION_MAX_MAX, secs) != NULL)
        return OIDC_SESSION_MAX_NONE; /* checked when read: cannot happen */
    return OIDC_SESSION_MAX_DURATION;
}

static const char *check_host_template(const char *value);
static const char *check_host_name(const char *value);

/* The keys, in the order of nss-pam-oidc.conf(5). */
static const struct key keys[] = {
    /* [global] */
    {"state_dir", SG, T_PATH, CFG(state_dir)},
    {"debug", SG | SA, T_BOOL, CFG(debug), .flags = F_BARE},
    {"default_provider", SG, T_NAME, CFG(default_provider)},
    {"host_name", SG, T_STRING, CFG(host_name), .check = check_host_name,
     .flags = F_EMPTY_OK | F_EMPTY_NULL, .expect = "a DNS name such as build-7.example.com"},
    {"cache_ttl", SG, T_SECONDS, CFG(cache_ttl), .min = 60, .max = 3650LL * 86400},
    /* [provider NAME]: the issuer and the client */
    {"issuer", SP, T_URL, PRV(issuer)},
    {"client_id", SP, T_STRING, PRV(client_id)},
    {"client_secret_file", SP, T_PATH, PRV(client_secret_file)},
    {"client_auth", SP, T_ENUM, PRV(client_auth), .enums = client_auth_vals},
    {"audience", SP, T_LIST, PRV(audiences), .flags = F_EMPTY_OK},
    {"host_audience", SP, T_BOOL, PRV(host_audience)},
    {"host_audience_template", SP, T_STRING, PRV(host_audience_template),
     .check = check_host_template,
     .expect = "at most 128 printable bytes with {fqdn} and/or {hostname}, such as host:{fqdn}"},
    {"scope", SP, T_STRING, PRV(scope), .check = check_scope,
     .expect = "space-separated OAuth scopes including openid"},
    /* token verification */
    {"algorithms", SP, T_ALGS, PRV(algs)},
    {"leeway", SP, T_SECONDS, PRV(leeway), .min = 0, .max = 300},
    {"max_token_age", SP, T_SECONDS, PRV(max_token_age), .min = 0, .max = INT32_MAX},
    {"acr", SP, T_STRING, PRV(acr)},
    /* talking to the provider */
    {"ca_file", SP, T_PATH, PRV(ca_file)},
    {"insecure_http_loopback", SP, T_BOOL, PRV(insecure_http_loopback)},
    {"connect_timeout", SP, T_SECONDS, PRV(connect_timeout), .min = 1, .max = 60},
    {"timeout", SP, T_SECONDS, PRV(timeout), .min = 1, .max = 300},
    {"jwks_cooldown", SP, T_SECONDS, PRV(jwks_cooldown), .min = 1, .max = 86400},
    {"jwks_max_stale", SP, T_SECONDS, PRV(jwks_max_stale), .min = 1, .max = 30 * 86400},
    {"userinfo", SP, T_BOOL, PRV(userinfo)},
    /* identity mapping */
    {"username_claim", SP, T_LIST, PRV(username_claims)},
    {"username_template", SP, T_STRING, PRV(username_template)},
    {"require_email_verified", SP, T_BOOL, PRV(require_email_verified)},
    {"strip_domain", SP, T_BOOL, PRV(strip_domain)},
    {"lowercase", SP, T_BOOL, PRV(lowercase)},
    {"groups_claim", SP, T_STRING, PRV(groups_claim), .flags = F_EMPTY_OK,
     .expect = "a claim name or path such as realm_access.roles, or an empty value"},
    {"groups_source", SP, T_ENUM, PRV(groups_source), .enums = groups_source_vals},
    {"groups_overage", SP, T_ENUM, PRV(groups_overage), .enums = groups_overage_vals},
    {"group_prefix", SP, T_STRING, PRV(group_prefix), .flags = F_EMPTY_OK | F_EMPTY_NULL},
    {"group_allow", SP, T_LIST, PRV(group_allow), .flags = F_EMPTY_OK,
     .expect = "a comma- or space-separated list of glob patterns"},
    {"uid_key", SP, T_UIDKEY, PRV(uid_key)},
    {"uid_min", SP, T_UID, PRV(uid_min)},
    {"uid_max", SP, T_UID, PRV(uid_max)},
    {"home", SP, T_PATH, PRV(home), .expect = "an absolute path template such as /home/{name}"},
    {"shell", SP, T_PATH, PRV(shell)},
    {"preauth", SP, T_BOOL, PRV(preauth)},
    {"preauth_allow", SP, T_LIST, PRV(preauth_allow), .expect = "glob patterns of login names"},
    /* authentication and authorization (pam_oidc.so) */
    {"flow", SP, T_ENUM, PRV(flow), .enums = flow_vals},
    {"login_timeout", SP, T_SECONDS, PRV(login_timeout), .min = 10, .max = 3600},
    {"qr", SP, T_ENUM, PRV(qr), .enums = qr_vals, .flags = F_NOCASE,
     .expect = "no, yes, ascii or compact"},
    {"ephemeral", SP, T_BOOL, PRV(ephemeral)},
    {"replay_protection", SP, T_BOOL, PRV(replay_protection)},
    {"replay_store", SP, T_STRING, PRV(replay_store), .check = check_replay_store,
     .flags = F_NOSHOW, .expect = "local or redis://HOST[:PORT][/DB]"},
    {"replay_store_password_file", SP, T_PATH, PRV(replay_store_password_file)},
    {"replay_store_timeout", SP, T_SECONDS, PRV(replay_store_timeout), .min = 1,
     .max = OIDC_REDIS_TIMEOUT_MAX},
    {"replay_store_unavailable", SP, T_ENUM, PRV(replay_store_unavailable),
     .enums = replay_unavail_vals},
    {"session_max", SP, T_STRING, PRV(session_max), .check = check_session_max,
     .expect = "token, none or a duration of 10s to 30d"},
    {"session_warn", SP, T_SECONDS, PRV(session_warn), .min = 0, .max = 86400},
    {"allow_users", SP, T_LIST, PRV(allow_users), .expect = "glob patterns of login names"},
    {"allow_groups", SP, T_LIST, PRV(allow_groups), .expect = "group names"},
    {"deny_users", SP, T_LIST, PRV(deny_users), .expect = "glob patterns of login names"},
    {"deny_groups", SP, T_LIST, PRV(deny_groups), .expect = "group names"},
    {"require_group", SP, T_LIST, PRV(require_groups), .expect = "group names"},
    {"require_claim", SP, T_LIST, PRV(require_claims), .check = check_claim_rule,
     .expect = "NAME=GLOB items such as repository=org/*"},
    {"export_claims", SP, T_LIST, PRV(export_claims), .check = check_claim_name,
     .expect = "claim names"},
    /* module arguments only */
    {"config", SA, T_CONFIG, .in = IN_NONE},
    {"provider", SA, T_NAME, CFG(default_provider)},
    {"flow", SA, T_ENUM, CFG(flow), .enums = flow_vals},
    {"timeout", SA, T_SECONDS, CFG(login_timeout), .min = 10, .max = 3600},
    {"qr", SA, T_ENUM, CFG(qr), .enums = qr_vals, .flags = F_NOCASE,
     .expect = "no, yes, ascii or compact"},
    {"use_first_pass", SA, T_BOOL, CFG(use_first_pass), .flags = F_BARE},
    {"try_first_pass", SA, T_BOOL, CFG(try_first_pass), .flags = F_BARE},
    {"require_group", SA, T_LIST, CFG(require_groups), .expect = "group names"},
    {"require_claim", SA, T_LIST, CFG(require_claims), .check = check_claim_rule,
     .expect = "NAME=GLOB items such as repository=org/*"},
};

#define N_KEYS     ARRAY_SIZE(keys)
#define SEEN_BYTES ((N_KEYS + 7) / 8)
#define SEEN_SETS  (2 + OIDC_CFG_MAX_PROVIDERS) /* [global], arguments, one per provider */

/* What oidc_cfg_new() allocates: the public struct first, so a struct oidc_cfg pointer is also a
 * pointer to this. */
struct cfg_priv {
    struct oidc_cfg pub;
    unsigned char seen[SEEN_SETS][SEEN_BYTES];
};

/* ---------------------------------------------------------------- small helpers */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int ascii_casecmp(const char *a, const char *b)
{
    while (*a != '\0' && lower(*a) == lower(*b)) {
        a++;
        b++;
    }
    return (unsigned char)lower(*a) - (unsigned char)lower(*b);
}

/* Control characters other than tab. */
int oidc_conf_has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 1;
    return 0;
}

/* 'value', cut to SHOW_MAX bytes, for messages. */
const char *oidc_conf_show(char *buf, size_t n, const char *v)
{
    size_t len = strlen(v);

    if (len > SHOW_MAX)
        snprintf(buf, n, "'%.*s...'", SHOW_MAX, v);
    else
        snprintf(buf, n, "'%s'", v);
    return buf;
}

static const char *scope_name(enum oidc_cfg_scope scope)
{
    switch (scope) {
    case OIDC_SCOPE_GLOBAL:
        return "[global]";
    case OIDC_SCOPE_PROVIDER:
        return "a [provider NAME] section";
    case OIDC_SCOPE_ARG:
        return "the module arguments";
    }
    return "?";
}

static void strlist_clear(struct oidc_strlist *l)
{
    size_t i;

    if (l->v != NULL)
        for (i = 0; i < l->n; i++)
            free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Splits value at commas and blanks. An empty list still has v = { NULL }. */
static int strlist_parse(const char *value, struct oidc_strlist *out)
{
    struct oidc_strlist l = {NULL, 0};
    const char *p = value;
    size_t cap = 1, len;
    int r = OIDC_ERR_NOMEM;

    for (; *p != '\0'; p++)
        if (*p == ',' || is_space(*p))
            cap++;
    l.v = calloc(cap + 1, sizeof(*l.v));
    if (l.v == NULL)
        goto out;
    for (p = value; *p != '\0';) {
        while (*p == ',' || is_space(*p))
            p++;
        len = strcspn(p, ", \t");
        if (len == 0)
            break;
        l.v[l.n] = strndup(p, len);
        if (l.v[l.n] == NULL)
            goto out;
        l.n++;
        p += len;
    }
    *out = l;
    l.v = NULL; /* transferred */
    l.n = 0;
    r = OIDC_OK;
out:
    strlist_clear(&l);
    return r;
}

static int strlist_set1(struct oidc_strlist *l, const char *item)
{
    struct oidc_strlist n = {NULL, 0};

    n.v = calloc(2, sizeof(*n.v));
    if (n.v == NULL)
        return OIDC_ERR_NOMEM;
    n.v[0] = strdup(item);
    if (n.v[0] == NULL) {
        free(n.v);
        return OIDC_ERR_NOMEM;
    }
    n.n = 1;
    strlist_clear(l);
    *l = n;
    return OIDC_OK;
}

static int strlist_empty(struct oidc_strlist *l)
{
    char **v = calloc(1, sizeof(*v));

    if (v == NULL)
        return OIDC_ERR_NOMEM;
    strlist_clear(l);
    l->v = v;
    return OIDC_OK;
}

/* Optimal string alignment distance (edits and adjacent swaps), ASCII case folded; SIZE_MAX for
 * strings longer than NAME_MAX_LEN. Row i lives in rows[i % 3]. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j, v, cost;
    size_t rows[3][NAME_MAX_LEN + 1];
    size_t *c, *p, *pp;

    if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
        return SIZE_MAX;
    for (j = 0; j <= lb; j++)
        rows[0][j] = j;
    for (i = 1; i <= la; i++) {
        c = rows[i % 3];
        p = rows[(i + 2) % 3];  /* row i - 1 */
        pp = rows[(i + 1) % 3]; /* row i - 2 */
        c[0] = i;
        for (j = 1; j <= lb; j++) {
            cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (p[j - 1] + cost < v)
                v = p[j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
    }
    return rows[la % 3][lb];
}

/* ---------------------------------------------------------------- value rules */

/* Provider names: [A-Za-z0-9_.-]{1,64}, and not starting with '.' so a name is never "." or ".."
 * when it becomes part of a path. */
const char *oidc_conf_name_problem(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0)
        return "is empty";
    if (n > NAME_MAX_LEN)
        return "is longer than 64 characters";
    if (s[0] == '.')
        return "starts with '.'";
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
              c == '.' || c == '-'))
            return "has a character other than A-Z a-z 0-9 _ . -";
    }
    return NULL;
}

struct url {
    int https;
    const char *host; /* includes the brackets of an IPv6 literal */
    size_t host_len;
};

/* Syntax of an issuer URL; the https-only rule is in oidc_cfg_check(), since it depends on
 * insecure_http_loopback. */
static const char *url_problem(const char *u, struct url *out)
{
    const char *p, *end, *port, *close;
    struct url r = {0, NULL, 0};
    unsigned long pv = 0;

    if (strncmp(u, "https://", 8) == 0) {
        r.https = 1;
        p = u + 8;
    } else if (strncmp(u, "http://", 7) == 0) {
        p = u + 7;
    } else {
        return "does not start with https://";
    }
    for (end = u; *end != '\0'; end++)
        if ((unsigned char)*end <= 0x20 || *end == 0x7f)
            return "contains a blank or control character";
    if (strchr(u, '?') != NULL)
        return "has a query ('?')";
    if (strchr(u, '#') != NULL)
        return "has a fragment ('#')";
    end = p + strcspn(p, "/");
    if (memchr(p, '@', (size_t)(end - p)) != NULL)
        return "contains user information ('@')";
    if (*p == '[') {
        close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL)
            return "has an unterminated IPv6 address";
        r.host_len = (size_t)(close + 1 - p);
        port = close + 1;
    } else {
        port = memchr(p, ':', (size_t)(end - p));
        if (port == NULL)
            port = end;
        r.host_len = (size_t)(port - p);
    }
    r.host = p;
    if (r.host_len == 0 || (*p == '[' && r.host_len == 2))
        return "has no host";
    if (port < end) {
        if (*port != ':' || port + 1 == end || end - port > 6)
            return "has a bad port";
        for (p = port + 1; p < end; p++) {
            if (!is_digit(*p))
                return "has a bad port";
            pv = pv * 10 + (unsigned long)(*p - '0');
        }
        if (pv == 0 || pv > 65535)
            return "has a bad port";
    }
    if (out != NULL)
        *out = r;
    return NULL;
}

/* 127.0.0.0/8 as a strict dotted quad, [::1], or localhost. */
static int url_is_loopback(const struct url *u)
{
    const char *p = u->host, *end = u->host + u->host_len;
    unsigned part, parts = 0, digits;
    char lh[10];

    if (u->host_len == 5 && memcmp(p, "[::1]", 5) == 0)
        return 1;
    if (u->host_len == 9) {
        memcpy(lh, p, 9);
        lh[9] = '\0';
        if (ascii_casecmp(lh, "localhost") == 0)
            return 1;
    }
    while (p < end) {
        part = 0;
        digits = 0;
        while (p < end && is_digit(*p) && digits < 4) {
            part = part * 10 + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || digits > 3 || part > 255 || (digits > 1 && p[-(int)digits] == '0'))
            return 0;
        if (parts == 0 && part != 127)
            return 0;
        parts++;
        if (p == end)
            break;
        if (*p != '.' || parts == 4)
            return 0;
        p++;
        if (p == end)
            return 0;
    }
    return parts == 4;
}

/* require_claim items: NAME=GLOB, NAME a claim path of [A-Za-z0-9_.-] (dots walk objects), GLOB
 * not empty. export_claims items: NAME only (it becomes part of an environment variable name). */
static const char *claim_name_problem(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return "has an empty claim name";
    if (n > NAME_MAX_LEN)
        return "has a claim name over 64 bytes";
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || is_digit(s[i]) ||
              s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return "has a claim name with a character other than A-Z a-z 0-9 _ . -";
    return NULL;
}

static const char *check_claim_rule(const char *value)
{
    const char *eq = strchr(value, '=');

    if (eq == NULL)
        return "is not NAME=GLOB";
    if (eq[1] == '\0')
        return "has an empty pattern after '='";
    return claim_name_problem(value, (size_t)(eq - value));
}

static const char *check_claim_name(const char *value)
{
    size_t i;

    for (i = 0; value[i] != '\0'; i++)
        if (value[i] == '.' || value[i] == '-')
            return "has a claim name with '.' or '-' (top-level claims of A-Z a-z 0-9 _ only)";
    return claim_name_problem(value, i);
}

static const char *check_host_template(const char *value)
{
    return oidc_host_template_problem(value);
}

static const char *check_host_name(const char *value)
{
    return *value == '\0' ? NULL : oidc_host_name_problem(value);
}

static const char *check_scope(const char *value)
{
    const char *p = value;
    size_t n;

    while (*p != '\0') {
        while (is_space(*p))
            p++;
        n = strcspn(p, " \t");
        if (n == 6 && strncmp(p, "openid", 6) == 0)
            return NULL;
        p += n;
    }
    return "does not include openid";
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    size_t i;

    for (i = 0; i < ARRAY_SIZE(yes); i++) {
        if (ascii_casecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (ascii_casecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Decimal number in [min, max] (max >= 0); with units, an optional s, m, h or d suffix. */
static const char *parse_number(const char *v, int units, int64_t min, int64_t max, int64_t *out)
{
    uint64_t n = 0, mul = 1;
    const char *p = v;

    if (!is_digit(*p))
        return "is not a number";
    for (; is_digit(*p); p++) {
        if (n > (UINT64_MAX - 9) / 10)
            return "is out of range";
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (*p != '\0') {
        if (!units || p[1] != '\0')
            return "is not a number";
        switch (*p) {
        case 's':
            mul = 1;
            break;
        case 'm':
            mul = 60;
            break;
        case 'h':
            mul = 3600;
            break;
        case 'd':
            mul = 86400;
            break;
        default:
            return "has an unknown unit (s, m, h or d)";
        }
    }
    if (n > (uint64_t)max / mul || (int64_t)(n * mul) < min)
        return "is out of range";
    *out = (int64_t)(n * mul);
    return NULL;
}

/* Decimal or 0x hexadecimal, 0..0xFFFFFFFE ((uid_t)-1 is never an id). */
const char *oidc_conf_parse_uid(const char *v, uint32_t *out)
{
    uint64_t n = 0;
    const char *p = v;
    int hex = 0, any = 0;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        hex = 1;
        p += 2;
    }
    for (; *p != '\0'; p++, any = 1) {
        unsigned d;
        if (is_digit(*p))
            d = (unsigned)(*p - '0');
        else if (hex && lower(*p) >= 'a' && lower(*p) <= 'f')
            d = (unsigned)(lower(*p) - 'a' + 10);
        else
            return "is not a number";
        n = n * (hex ? 16 : 10) + d;
        if (n > 0xFFFFFFFEu)
            return "is out of range";
    }
    if (!any)
        return "is not a number";
    *out = (uint32_t)n;
    return NULL;
}

static void expect_text(const struct key *k, char *buf, size_t n)
{
    size_t i, len;

    if (k->expect != NULL) {
        snprintf(buf, n, "%s", k->expect);
        return;
    }
    switch (k->type) {
    case T_STRING:
        snprintf(buf, n, "a non-empty value");
        break;
    case T_BOOL:
        snprintf(buf, n, "yes or no");
        break;
    case T_INT:
        snprintf(buf, n, "%lld to %lld", (long long)k->min, (long long)k->max);
        break;
    case T_SECONDS:
        snprintf(buf, n, "%lld to %lld seconds", (long long)k->min, (long long)k->max);
        break;
    case T_LIST:
        snprintf(buf, n, "a comma- or space-separated list");
        break;
    case T_ENUM:
        buf[0] = '\0';
        for (i = 0; k->enums[i].name != NULL; i++) {
            len = strlen(buf);
            snprintf(buf + len, n - len, "%s%s",
                     i == 0                 ? ""
                     : k->enums[i + 1].name ? ", "
                                            : " or ",
                     k->enums[i].name);
        }
        break;
    case T_PATH:
        snprintf(buf, n, "an absolute path");
        break;
    case T_URL:
        snprintf(buf, n, "https://host[:port][/path]");
        break;
    case T_UID:
        snprintf(buf, n, "a decimal or 0x hexadecimal id below 0xFFFFFFFF");
        break;
    case T_ALGS:
        snprintf(buf, n, "a list of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA");
        break;
    case T_UIDKEY:
        snprintf(buf, n, "name, subject or claim:NAME");
        break;
    case T_NAME:
        snprintf(buf, n, "1 to 64 of A-Z a-z 0-9 _ . -, not starting with '.'");
        break;
    case T_CONFIG:
        snprintf(buf, n, "config=/absolute/path");
        break;
    }
}

/* "WHERE: KEY: 'VALUE' PROBLEM (expected ...)", or without the value when value is NULL. */
static int bad_value(struct oidc_err *err, const char *where, const struct key *k,
                     const char *value, const char *problem)
{
    char e[128], v[SHOW_MAX + 8];

    expect_text(k, e, sizeof(e));
    if (value != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: %s %s (expected %s)", where, k->name,
                            oidc_conf_show(v, sizeof(v), value), problem, e);
    return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: %s (expected %s)", where, k->name, problem,
                        e);
}

static const char *scopes_text(unsigned scopes)
{
    if (scopes & OIDC_SCOPE_PROVIDER)
        return "a [provider NAME] section";
    if (scopes & OIDC_SCOPE_GLOBAL)
        return "[global]";
    return "the module arguments";
}

/* The closest key within SUGGEST_DISTANCE edits, preferring keys valid in scope; NULL if none. */
static const struct key *suggest(const char *name, unsigned scope)
{
    const struct key *best = NULL;
    size_t i, d, rank, best_rank = SIZE_MAX, len = strlen(name);

    for (i = 0; i < N_KEYS; i++) {
        d = edit_distance(name, keys[i].name);
        if (d > SUGGEST_DISTANCE || d >= len)
            continue;
        rank = 2 * d + ((keys[i].scopes & scope) ? 0 : 1);
        if (rank < best_rank) {
            best_rank = rank;
            best = &keys[i];
        }
    }
    return best;
}

static int unknown_key(struct oidc_err *err, const char *where, const char *key,
                       enum oidc_cfg_scope scope, const struct key *other)
{
    const struct key *s;

    if (oidc_conf_has_control(key))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: a key contains a control character", where);
    if (other != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: not allowed in %s (it belongs in %s)",
                            where, key, scope_name(scope), scopes_text(other->scopes));
    if (strcmp(key, "client_secret") == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: %s: secrets do not belong in the configuration (expected "
                            "client_secret_file = /path/to/a/root-only/file)",
                            where, key);
    s = suggest(key, scope);
    if (s != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %.*s: unknown key (did you mean '%s'?)",
                            where, NAME_MAX_LEN, key, s->name);
    return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                        "%s: %.*s: unknown key in %s (expected a key from nss-pam-oidc.conf(5))",
                        where, NAME_MAX_LEN, key, scope_name(scope));
}

static int store_int(const struct key *k, void *field, int64_t v)
{
    int i;

    if (k->size == sizeof(int64_t)) {
        memcpy(field, &v, sizeof(v));
        return OIDC_OK;
    }
    if (k->size == sizeof(int) && v >= INT32_MIN && v <= INT32_MAX) {
        i = (int)v;
        memcpy(field, &i, sizeof(i));
        return OIDC_OK;
    }
    return OIDC_ERR_INTERNAL;
}

int oidc_conf_nomem(struct oidc_err *err, const char *where)
{
    return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "%s: out of memory", where);
}

/* replay_store: local, or a Redis URL this build can use. */
static const char *check_replay_store(const char *value)
{
    struct oidc_redis_url u;

    if (strcmp(value, "local") == 0)
        return NULL;
    return oidc_redis_url_parse(value, &u);
}

/* T_STRING, T_PATH, T_URL, T_NAME: checks the text and stores a copy (NULL for an empty value
 * with F_EMPTY_NULL). */
static int apply_text(const struct key *k, void *field, const char *value, const char *where,
                      struct oidc_err *err)
{
    const char *problem = NULL;
    char *s = NULL;

    if (k->type == T_PATH && value[0] != '/')
        problem = "is not an absolute path";
    else if (k->type == T_URL)
        problem = url_problem(value, NULL);
    else if (k->type == T_NAME)
        problem = oidc_conf_name_problem(value);
    if (problem == NULL && k->check != NULL)
        problem = k->check(value);
    if (problem != NULL)
        return bad_value(err, where, k, k->flags & F_NOSHOW ? NULL : value, problem);
    if (*value != '\0' || !(k->flags & F_EMPTY_NULL)) {
        s = strdup(value);
        if (s == NULL)
            return oidc_conf_nomem(err, where);
    }
    free(*(char **)field);
    *(char **)field = s;
    return OIDC_OK;
}

/* T_LIST: splits the value and checks every item before it replaces the list. */
static int apply_list(const struct key *k, void *field, const char *value, const char *where,
                      struct oidc_err *err)
{
    struct oidc_strlist list = {NULL, 0};
    const char *problem;
    int i, r;

    if (strlist_parse(value, &list) != OIDC_OK)
        return oidc_conf_nomem(err, where);
    if (list.n == 0 && !(k->flags & F_EMPTY_OK)) {
        strlist_clear(&list);
        return bad_value(err, where, k, value, "has no items");
    }
    for (i = 0; k->check != NULL && i < (int)list.n; i++) {
        problem = k->check(list.v[i]);
        if (problem != NULL) {
            r = bad_value(err, where, k, list.v[i], problem);
            strlist_clear(&list);
            return r;
        }
    }
    strlist_clear((struct oidc_strlist *)field);
    *(struct oidc_strlist *)field = list;
    return OIDC_OK;
}

/* T_ALGS: a list of JOSE algorithm names, as a mask. */
static int apply_algs(const struct key *k, void *field, const char *value, const char *where,
                      struct oidc_err *err)
{
    struct oidc_err aerr;
    unsigned algs = 0;
    char e[128];

    memset(&aerr, 0, sizeof(aerr));
    if (oidc_alg_list_parse(value, &algs, &aerr) != OIDC_OK || algs == 0) {
        if (aerr.msg[0] != '\0' && strchr(aerr.msg, '(') != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: %s", where, k->name, aerr.msg);
        expect_text(k, e, sizeof(e));
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: %s (expected %s)", where, k->name,
                            aerr.msg[0] != '\0' ? aerr.msg : "no usable algorithm", e);
    }
    memcpy(field, &algs, sizeof(algs));
    return OIDC_OK;
}

/* T_UIDKEY: name, subject or claim:NAME, into uid_key and uid_claim of the provider. */
static int apply_uidkey(const struct key *k, struct oidc_provider_cfg *p, const char *value,
                        const char *where, struct oidc_err *err)
{
    enum oidc_uid_key kind;
    char *s = NULL;

    if (strcmp(value, "name") == 0) {
        kind = OIDC_UID_KEY_NAME;
    } else if (strcmp(value, "subject") == 0) {
        kind = OIDC_UID_KEY_SUBJECT;
    } else if (strncmp(value, "claim:", 6) == 0) {
        kind = OIDC_UID_KEY_CLAIM;
        if (value[6] == '\0')
            return bad_value(err, where, k, value, "names no claim");
        if (strpbrk(value + 6, " \t,") != NULL)
            return bad_value(err, where, k, value, "has a blank or comma in the claim name");
        s = strdup(value + 6);
        if (s == NULL)
            return oidc_conf_nomem(err, where);
    } else {
        return bad_value(err, where, k, value, "is not a uid key");
    }
    p->uid_key = kind;
    free(p->uid_claim);
    p->uid_claim = s;
    return OIDC_OK;
}

/* Parses value by the key's type and stores it; the field is unchanged on error. */
static int apply(const struct key *k, void *base, const char *value, const char *where,
                 struct oidc_err *err)
{
    void *field = base != NULL ? (char *)base + k->off : NULL;
    const char *problem = NULL;
    int64_t num = 0;
    uint32_t uid = 0;
    int b = 0, i;

    if (oidc_conf_has_control(value))
        return bad_value(err, where, k, NULL, "contains a control character");
    if (*value == '\0' && !(k->flags & F_EMPTY_OK))
        return bad_value(err, where, k, NULL, "is empty");
    if (field == NULL && k->type != T_CONFIG)
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "%s: %s: no field", where, k->name);

    switch (k->type) {
    case T_STRING:
    case T_PATH:
    case T_URL:
    case T_NAME:
        return apply_text(k, field, value, where, err);
    case T_BOOL:
        if (parse_bool(value, &b) != 0)
            return bad_value(err, where, k, value, "is not a boolean");
        return store_int(k, field, b);
    case T_INT:
    case T_SECONDS:
        problem = parse_number(value, k->type == T_SECONDS, k->min, k->max, &num);
        if (problem != NULL)
            return bad_value(err, where, k, value, problem);
        return store_int(k, field, num);
    case T_LIST:
        return apply_list(k, field, value, where, err);
    case T_ENUM:
        for (i = 0; k->enums[i].name != NULL; i++)
            if ((k->flags & F_NOCASE ? ascii_casecmp(value, k->enums[i].name)
                                     : strcmp(value, k->enums[i].name)) == 0)
                return store_int(k, field, k->enums[i].value);
        return bad_value(err, where, k, value, "is not a known value");
    case T_UID:
        problem = oidc_conf_parse_uid(value, &uid);
        if (problem != NULL)
            return bad_value(err, where, k, value, problem);
        memcpy(field, &uid, sizeof(uid));
        return OIDC_OK;
    case T_ALGS:
        return apply_algs(k, field, value, where, err);
    case T_UIDKEY:
        return apply_uidkey(k, base, value, where, err);
    case T_CONFIG:
        if (value[0] != '/')
            return bad_value(err, where, k, value, "is not an absolute path");
        return OIDC_OK; /* read by oidc_cfg_load() before the arguments are applied */
    }
    return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "%s: %s: unknown type", where, k->name);
}

/* ---------------------------------------------------------------- the setter */

static struct cfg_priv *priv_of(struct oidc_cfg *cfg)
{
    return (struct cfg_priv *)(void *)((char *)cfg - offsetof(struct cfg_priv, pub));
}

/* The set of "already set" bits for this scope and provider, or NULL (a provider that is not in
 * cfg->providers is not tracked). */
static unsigned char *seen_set(struct oidc_cfg *cfg, struct oidc_provider_cfg *prov,
                               enum oidc_cfg_scope scope)
{
    struct cfg_priv *pc = priv_of(cfg);
    size_t i;

    if (scope == OIDC_SCOPE_GLOBAL)
        return pc->seen[0];
    if (scope == OIDC_SCOPE_ARG)
        return pc->seen[1];
    for (i = 0; i < cfg->n_providers && i < OIDC_CFG_MAX_PROVIDERS; i++)
        if (cfg->providers[i] == prov)
            return pc->seen[2 + i];
    return NULL;
}

int oidc_cfg_set(struct oidc_cfg *cfg, struct oidc_provider_cfg *prov, enum oidc_cfg_scope scope,
                 const char *key, const char *value, const char *where, struct oidc_err *err)
{
    const struct key *k = NULL, *other = NULL;
    unsigned char *seen;
    size_t i, bit;
    void *base = NULL;
    int r;

    if (where == NULL)
        where = "configuration";
    if (cfg == NULL || key == NULL ||
        (scope != OIDC_SCOPE_GLOBAL && scope != OIDC_SCOPE_PROVIDER && scope != OIDC_SCOPE_ARG) ||
        (scope == OIDC_SCOPE_PROVIDER && prov == NULL))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "%s: oidc_cfg_set: bad arguments", where);
    for (i = 0; i < N_KEYS && k == NULL; i++) {
        if (strcmp(keys[i].name, key) != 0)
            continue;
        if (keys[i].scopes & (unsigned)scope)
            k = &keys[i];
        else if (other == NULL) /* the first row: the file's meaning of a shared name */
            other = &keys[i];
    }
    if (k == NULL)
        return unknown_key(err, where, key, scope, other);
    if (value == NULL) {
        if (scope != OIDC_SCOPE_ARG || !(k->flags & F_BARE))
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: needs a value (expected %s=VALUE)",
                                where, k->name, k->name);
        value = "yes";
    }

    bit = (size_t)(k - keys);
    seen = seen_set(cfg, prov, scope);
    if (seen != NULL && (seen[bit / 8] & (1u << (bit % 8)))) {
        if (scope == OIDC_SCOPE_PROVIDER)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: %s: already set for provider '%s' (a key may be set once "
                                "per provider)",
                                where, k->name, prov->name != NULL ? prov->name : "?");
        if (scope == OIDC_SCOPE_GLOBAL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: %s: already set in [global] (a key may be set once, in one "
                                "file)",
                                where, k->name);
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: given twice in the module arguments",
                            where, k->name);
    }

    if (k->in == IN_CFG)
        base = cfg;
    else if (k->in == IN_PROVIDER)
        base = prov;
    if (k->in == IN_PROVIDER && prov == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "%s: %s: no provider to set", where, k->name);
    r = apply(k, base, value, where, err);
    if (r == OIDC_OK && seen != NULL)
        seen[bit / 8] |= (unsigned char)(1u << (bit % 8));
    return r;
}

/* ---------------------------------------------------------------- objects */

#define DEFAULT_SCOPE          "openid profile email"
#define DEFAULT_USERNAME_CLAIM "preferred_username"
#define DEFAULT_GROUPS_CLAIM   "groups"
#define DEFAULT_HOME           "/home/{name}"
#define DEFAULT_SHELL          "/bin/bash"

static void provider_free(struct oidc_provider_cfg *p)
{
    if (p == NULL)
        return;
    free(p->name);
    free(p->issuer);
    free(p->client_id);
    free(p->client_secret_file);
    strlist_clear(&p->audiences);
    free(p->host_audience_template);
    free(p->scope);
    free(p->acr);
    free(p->ca_file);
    strlist_clear(&p->username_claims);
    free(p->username_template);
    free(p->groups_claim);
    free(p->group_prefix);
    strlist_clear(&p->group_allow);
    strlist_clear(&p->preauth_allow);
    free(p->replay_store);
    free(p->replay_store_password_file);
    free(p->session_max);
    strlist_clear(&p->allow_users);
    strlist_clear(&p->allow_groups);
    strlist_clear(&p->deny_users);
    strlist_clear(&p->deny_groups);
    strlist_clear(&p->require_groups);
    strlist_clear(&p->require_claims);
    strlist_clear(&p->export_claims);
    free(p->uid_claim);
    for (size_t i = 0; i < p->n_overrides; i++) {
        free(p->overrides[i].name);
        free(p->overrides[i].where);
    }
    free(p->overrides);
    free(p->home);
    free(p->shell);
    free(p);
}

struct oidc_provider_cfg *oidc_conf_provider_new(const char *name)
{
    struct oidc_provider_cfg *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->client_auth = OIDC_CLIENT_AUTH_BASIC;
    p->algs = OIDC_ALGS_DEFAULT;
    p->leeway = 60;
    p->max_token_age = 0;
    p->connect_timeout = 5;
    p->timeout = 15;
    p->jwks_cooldown = 60;
    p->jwks_max_stale = OIDC_JWKS_MAX_STALE_DEFAULT;
    p->uid_key = OIDC_UID_KEY_NAME;
    p->uid_min = OIDC_UID_MIN_DEFAULT;
    p->uid_max = OIDC_UID_MAX_DEFAULT;
    p->flow = OIDC_FLOW_DEVICE;
    p->login_timeout = OIDC_LOGIN_TIMEOUT_DEFAULT;
    p->replay_protection = 1;
    p->replay_store_timeout = OIDC_REDIS_TIMEOUT_DEFAULT;
    p->replay_store_unavailable = OIDC_REPLAY_UNAVAIL_REFUSE;
    p->session_warn = 300;
    p->groups_source = OIDC_GROUPS_SOURCE_TOKEN;
    p->groups_overage = OIDC_GROUPS_OVERAGE_REFUSE;
    p->require_email_verified = 1;
    if ((p->name = strdup(name)) == NULL || (p->scope = strdup(DEFAULT_SCOPE)) == NULL ||
        (p->groups_claim = strdup(DEFAULT_GROUPS_CLAIM)) == NULL ||
        (p->home = strdup(DEFAULT_HOME)) == NULL || (p->shell = strdup(DEFAULT_SHELL)) == NULL ||
        strlist_empty(&p->audiences) != OIDC_OK || strlist_empty(&p->group_allow) != OIDC_OK ||
        strlist_empty(&p->preauth_allow) != OIDC_OK || strlist_empty(&p->allow_users) != OIDC_OK ||
        strlist_empty(&p->allow_groups) != OIDC_OK || strlist_empty(&p->deny_users) != OIDC_OK ||
        strlist_empty(&p->deny_groups) != OIDC_OK || strlist_empty(&p->require_groups) != OIDC_OK ||
        strlist_empty(&p->require_claims) != OIDC_OK ||
        strlist_empty(&p->export_claims) != OIDC_OK ||
        strlist_set1(&p->username_claims, DEFAULT_USERNAME_CLAIM) != OIDC_OK) {
        provider_free(p);
        return NULL;
    }
    return p;
}

struct oidc_cfg *oidc_cfg_new(void)
{
    struct cfg_priv *pc = calloc(1, sizeof(*pc));

    if (pc == NULL)
        return NULL;
    pc->pub.cache_ttl = OIDC_CACHE_TTL_DEFAULT;
    pc->pub.flow = OIDC_FLOW_UNSET;
    pc->pub.qr = -1;
    pc->pub.state_dir = strdup(STATEDIR);
    if (pc->pub.state_dir == NULL || strlist_empty(&pc->pub.require_groups) != OIDC_OK ||
        strlist_empty(&pc->pub.require_claims) != OIDC_OK) {
        oidc_cfg_free(&pc->pub);
        return NULL;
    }
    return &pc->pub;
}

void oidc_cfg_free(struct oidc_cfg *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->n_providers; i++)
        provider_free(cfg->providers[i]);
    free(cfg->providers);
    free(cfg->config_path);
    free(cfg->state_dir);
    free(cfg->default_provider);
    free(cfg->host_name);
    strlist_clear(&cfg->require_groups);
    strlist_clear(&cfg->require_claims);
    free(priv_of(cfg));
}

/* ---------------------------------------------------------------- cross-field checks */

/* A '{' that does not start "{name}". */
static int home_has_other_placeholder(const char *home)
{
    const char *b = home;

    while (b != NULL && (b = strchr(b, '{')) != NULL) {
        if (strncmp(b, "{name}", 6) != 0)
            return 1;
        b += 6;
    }
    return 0;
}

/* The replay_store keys: a Redis store needs replay_protection; a password file only goes with
 * a Redis store, and must be a root-owned regular file that group and others cannot access
 * (oidc_conf_check_secret_path; checked again when it is read). */
static int check_replay_keys(const struct oidc_provider_cfg *p, const char *name,
                             struct oidc_err *err)
{
    const char *pw = p->replay_store_password_file;
    int redis = oidc_replay_store_is_redis(p);

    if (redis && !p->replay_protection)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store: names a Redis store but "
                            "replay_protection = no (expected replay_protection = yes, or no "
                            "replay_store)",
                            name);
    if (pw == NULL)
        return OIDC_OK;
    if (!redis)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: set, but replay_store is "
                            "not redis:// (expected replay_store = redis://HOST[:PORT][/DB])",
                            name);
    return oidc_conf_check_secret_path(name, pw, err);
}

static int cmp_override_name(const void *a, const void *b)
{
    const struct oidc_idmap_override *x = *(const struct oidc_idmap_override *const *)a;
    const struct oidc_idmap_override *y = *(const struct oidc_idmap_override *const *)b;

    return strcmp(x->name, y->name);
}

static int cmp_override_uid(const void *a, const void *b)
{
    const struct oidc_idmap_override *x = *(const struct oidc_idmap_override *const *)a;
    const struct oidc_idmap_override *y = *(const struct oidc_idmap_override *const *)b;

    if (x->uid != y->uid)
        return x->uid < y->uid ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* [provider NAME idmap]: only for uid_key = name (the overrides name login names); with preauth
 * the cache writer copies them into the cache for sshd's provisional entry ("o" records,
 * cache_rec.h). Every uid inside the provider's range and outside systemd's reserved ranges; a name
 * overridden once; a uid given to one name. Local accounts' ids are not known here: `oidcctl idmap
 * check` and the cache writer compare them. */
static int check_overrides(const struct oidc_provider_cfg *p, const char *name,
                           struct oidc_err *err)
{
    const struct oidc_idmap_override **v = NULL, *o;
    const struct oidc_idrange *res;
    size_t i;
    int r = OIDC_OK;

    if (p->n_overrides == 0)
        return OIDC_OK;
    o = &p->overrides[0];
    if (p->uid_key != OIDC_UID_KEY_NAME)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider %s idmap]: overrides need uid_key = name (they map "
                            "login names; this provider hashes %s)",
                            o->where, name,
                            p->uid_key == OIDC_UID_KEY_SUBJECT ? "the subject"
                                                               : "nothing: the uid is a claim");
    for (i = 0; i < p->n_overrides; i++) {
        o = &p->overrides[i];
        if (o->uid < p->uid_min || o->uid > p->uid_max)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: [provider %s idmap]: %s = %u is outside the provider's uid "
                                "range %u..%u (uid_min..uid_max)",
                                o->where, name, o->name, (unsigned)o->uid, (unsigned)p->uid_min,
                                (unsigned)p->uid_max);
        if ((res = oidc_idhash_reserved(o->uid)) != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: [provider %s idmap]: %s = %u is in %s",
                                o->where, name, o->name, (unsigned)o->uid, res->what);
    }
    if ((v = malloc(p->n_overrides * sizeof(*v))) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory checking [provider %s idmap]",
                            name);
    for (i = 0; i < p->n_overrides; i++)
        v[i] = &p->overrides[i];
    qsort(v, p->n_overrides, sizeof(*v), cmp_override_name);
    for (i = 1; i < p->n_overrides && r == OIDC_OK; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                             "[provider %s idmap]: %s is overridden twice: %u at %s and %u at %s "
                             "(expected one line per name)",
                             name, v[i]->name, (unsigned)v[i - 1]->uid, v[i - 1]->where,
                             (unsigned)v[i]->uid, v[i]->where);
    if (r == OIDC_OK) {
        qsort(v, p->n_overrides, sizeof(*v), cmp_override_uid);
        for (i = 1; i < p->n_overrides && r == OIDC_OK; i++)
            if (v[i - 1]->uid == v[i]->uid)
                r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                 "[provider %s idmap]: uid %u is given to two names: %s at %s "
                                 "and %s at %s",
                                 name, (unsigned)v[i]->uid, v[i - 1]->name, v[i - 1]->where,
                                 v[i]->name, v[i]->where);
    }
    free(v);
    return r;
}

static int check_provider(const struct oidc_provider_cfg *p, struct oidc_err *err)
{
    const char *name = p->name != NULL ? p->name : "?", *problem;
    char shown[SHOW_MAX + 8];
    struct url u;
    int r;

    if (!p->defined)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s%s[provider %s idmap]: no [provider %s] section is defined",
                            p->n_overrides > 0 ? p->overrides[0].where : "",
                            p->n_overrides > 0 ? ": " : "", name, name);
    if (p->issuer == NULL || p->issuer[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': issuer: missing (expected issuer = https://...)", name);
    if (p->client_id == NULL || p->client_id[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': client_id: missing (expected the client id registered "
                            "at the issuer)",
                            name);
    problem = oidc_conf_has_control(p->issuer) ? "contains a control character" : NULL;
    if (problem == NULL)
        problem = url_problem(p->issuer, &u);
    if (problem != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': issuer: %s (expected https://host[:port][/path])", name,
                            problem);
    if (!u.https && !p->insecure_http_loopback)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': issuer: %s is not https (expected https://; http:// "
                            "only on a loopback host with insecure_http_loopback = yes)",
                            name, oidc_conf_show(shown, sizeof(shown), p->issuer));
    if (!u.https && !url_is_loopback(&u))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': issuer: %s is http on a non-loopback host (expected "
                            "https://, or http:// on 127.0.0.0/8, [::1] or localhost)",
                            name, oidc_conf_show(shown, sizeof(shown), p->issuer));
    if (p->uid_min < 1000)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': uid_min: %u reaches system ids (expected at least "
                            "1000; default 0x%X)",
                            name, (unsigned)p->uid_min, OIDC_UID_MIN_DEFAULT);
    if (p->uid_max > 0xFFFFFFFEu)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': uid_max: 0x%X is not a valid id (expected at most "
                            "0xFFFFFFFE)",
                            name, (unsigned)p->uid_max);
    if (p->uid_min > p->uid_max)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': uid_min: %u (0x%X) is above uid_max %u (0x%X) "
                            "(expected uid_min <= uid_max)",
                            name, (unsigned)p->uid_min, (unsigned)p->uid_min, (unsigned)p->uid_max,
                            (unsigned)p->uid_max);
    if (p->preauth && p->uid_key != OIDC_UID_KEY_NAME)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': preauth: needs uid_key = name (sshd must see the uid "
                            "the user will have before the token names the subject; pre-provision "
                            "users with 'oidcctl user add' instead)",
                            name);
    if (p->preauth && home_has_other_placeholder(p->home))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': home: with preauth = yes the template may use only "
                            "{name} (the NSS module expands it before any token is seen)",
                            name);
    if (p->preauth && p->preauth_allow.n == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': preauth: needs preauth_allow (glob patterns of the "
                            "names sshd may be answered for, such as preauth_allow = *)",
                            name);
    if (p->uid_key == OIDC_UID_KEY_CLAIM && (p->uid_claim == NULL || p->uid_claim[0] == '\0'))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': uid_key: claim without a claim name (expected "
                            "claim:NAME)",
                            name);
    if (p->algs == 0 || (p->algs & ~(unsigned)OIDC_ALGS_ALL) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': algorithms: empty or unknown (expected a list of "
                            "RS256 ... EdDSA)",
                            name);
    if (p->username_claims.n == 0 && p->username_template == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': username_claim: empty and no username_template "
                            "(expected at least one claim)",
                            name);
    if ((r = check_overrides(p, name, err)) != OIDC_OK)
        return r;
    return check_replay_keys(p, name, err);
}

int oidc_cfg_check(const struct oidc_cfg *cfg, struct oidc_err *err)
{
    char names[160];
    size_t i, len;
    int r;

    if (cfg == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_check: no configuration");
    for (i = 0; i < cfg->n_providers; i++) {
        r = check_provider(cfg->providers[i], err);
        if (r != OIDC_OK)
            return r;
    }
    if (cfg->default_provider != NULL &&
        oidc_conf_find_provider(cfg, cfg->default_provider) == NULL) {
        names[0] = '\0';
        for (i = 0; i < cfg->n_providers; i++) {
            len = strlen(names);
            snprintf(names + len, sizeof(names) - len, "%s%s", i == 0 ? "" : ", ",
                     cfg->providers[i]->name);
        }
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "default_provider: no [provider %s] is defined (expected one of: %s)",
                            cfg->default_provider, cfg->n_providers > 0 ? names : "none defined");
    }
    return OIDC_OK;
}
