/* Configuration: one table of keys, one setter (oidc_cfg_set) shared by the INI parser and the
 * module arguments, safe file loading, drop-ins, and cross-field checks.
 *
 * Every key is a row of `keys[]`; the man page documents them in the same order. Adding a key
 * (for example a PAM argument such as flow= or require_group=) means adding a row, and a field to
 * struct oidc_cfg or struct oidc_provider_cfg when it stores something.
 *
 * A struct oidc_cfg must come from oidc_cfg_new(): it is the first member of a private struct
 * that also records which keys were already set, so a key set twice is refused. */
#include "config.h"
#include "conf.h"
#include "hostname.h"
#include "jwk.h"
#include "replay_redis.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef STATEDIR
#define STATEDIR "/var/lib/nss-pam-oidc"
#endif

#define CONF_FILE        SYSCONFDIR "/nss-pam-oidc.conf"
#define LINE_MAX_BYTES   1024 /* longest accepted line, without its line ending */
#define NAME_MAX_LEN     64   /* provider names, key names */
#define SECRET_MAX       4096 /* client secret file */
#define DROPIN_MAX       256  /* *.conf files in one drop-in directory */
#define SHOW_MAX         40   /* bytes of a bad value quoted in a message */
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

static int is_space(char c)
{
    return c == ' ' || c == '\t';
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
static int has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 1;
    return 0;
}

/* Trims spaces and tabs at both ends, in place. */
static char *trim(char *s)
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* 'value', cut to SHOW_MAX bytes, for messages. */
static const char *show(char *buf, size_t n, const char *v)
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
static const char *name_problem(const char *s)
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
static const char *parse_uid(const char *v, uint32_t *out)
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
                            show(v, sizeof(v), value), problem, e);
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

    if (has_control(key))
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

static int nomem(struct oidc_err *err, const char *where)
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

/* Parses value by the key's type and stores it; the field is unchanged on error. */
static int apply(const struct key *k, void *base, const char *value, const char *where,
                 struct oidc_err *err)
{
    void *field = base != NULL ? (char *)base + k->off : NULL;
    const char *problem = NULL;
    struct oidc_err aerr;
    struct oidc_strlist list = {NULL, 0};
    char *s = NULL, e[128];
    int64_t num = 0;
    uint32_t uid = 0;
    unsigned algs = 0;
    int b = 0, i, r;

    if (has_control(value))
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
        if (k->type == T_PATH && value[0] != '/')
            problem = "is not an absolute path";
        else if (k->type == T_URL)
            problem = url_problem(value, NULL);
        else if (k->type == T_NAME)
            problem = name_problem(value);
        if (problem == NULL && k->check != NULL)
            problem = k->check(value);
        if (problem != NULL)
            return bad_value(err, where, k, k->flags & F_NOSHOW ? NULL : value, problem);
        if (*value != '\0' || !(k->flags & F_EMPTY_NULL)) {
            s = strdup(value);
            if (s == NULL)
                return nomem(err, where);
        }
        free(*(char **)field);
        *(char **)field = s;
        return OIDC_OK;
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
        if (strlist_parse(value, &list) != OIDC_OK)
            return nomem(err, where);
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
    case T_ENUM:
        for (i = 0; k->enums[i].name != NULL; i++)
            if ((k->flags & F_NOCASE ? ascii_casecmp(value, k->enums[i].name)
                                     : strcmp(value, k->enums[i].name)) == 0)
                return store_int(k, field, k->enums[i].value);
        return bad_value(err, where, k, value, "is not a known value");
    case T_UID:
        problem = parse_uid(value, &uid);
        if (problem != NULL)
            return bad_value(err, where, k, value, problem);
        memcpy(field, &uid, sizeof(uid));
        return OIDC_OK;
    case T_ALGS:
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
    case T_UIDKEY: {
        struct oidc_provider_cfg *p = base;
        enum oidc_uid_key kind;

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
                return nomem(err, where);
        } else {
            return bad_value(err, where, k, value, "is not a uid key");
        }
        p->uid_key = kind;
        free(p->uid_claim);
        p->uid_claim = s;
        return OIDC_OK;
    }
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
    free(p->home);
    free(p->shell);
    free(p);
}

static struct oidc_provider_cfg *provider_new(const char *name)
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

static struct oidc_provider_cfg *find_provider(const struct oidc_cfg *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->n_providers; i++)
        if (oidc_streq(cfg->providers[i]->name, name))
            return cfg->providers[i];
    return NULL;
}

const struct oidc_provider_cfg *oidc_cfg_provider(const struct oidc_cfg *cfg, const char *name)
{
    if (cfg == NULL)
        return NULL;
    if (name == NULL)
        name = cfg->default_provider;
    if (name == NULL)
        return cfg->n_providers == 1 ? cfg->providers[0] : NULL;
    return find_provider(cfg, name);
}

/* ---------------------------------------------------------------- the INI parser */

static int parse_section(struct oidc_cfg *cfg, char *s, const char *loc, int *section,
                         struct oidc_provider_cfg **prov, struct oidc_err *err)
{
    struct oidc_provider_cfg *p, **v;
    size_t n = strlen(s);
    const char *problem;
    char *inner, *name, shown[SHOW_MAX + 8];

    if (n < 2 || s[n - 1] != ']')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: section header without a closing ']' (expected [global] or "
                            "[provider NAME])",
                            loc);
    s[n - 1] = '\0';
    inner = trim(s + 1);
    if (strcmp(inner, "global") == 0) {
        *section = OIDC_SCOPE_GLOBAL;
        *prov = NULL;
        return OIDC_OK;
    }
    if (strncmp(inner, "provider", 8) != 0 || (inner[8] != '\0' && !is_space(inner[8]))) {
        if (has_control(inner))
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: unknown section (expected [global] or [provider NAME])", loc);
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: unknown section [%.*s] (expected [global] or [provider NAME])",
                            loc, SHOW_MAX, inner);
    }
    name = trim(inner + 8);
    if (*name == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider]: no provider name (expected [provider NAME])", loc);
    problem = has_control(name) ? "has a control character" : name_problem(name);
    if (problem != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider]: name %s %s (expected 1 to 64 of A-Z a-z 0-9 _ . -, "
                            "not starting with '.')",
                            loc, has_control(name) ? "''" : show(shown, sizeof(shown), name),
                            problem);
    if (find_provider(cfg, name) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider %s]: provider '%s' is already defined (each provider "
                            "is one section, in one file)",
                            loc, name, name);
    if (cfg->n_providers >= OIDC_CFG_MAX_PROVIDERS)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: [provider %s]: more than %d providers", loc,
                            name, OIDC_CFG_MAX_PROVIDERS);
    v = realloc(cfg->providers, (cfg->n_providers + 1) * sizeof(*v));
    if (v == NULL)
        return nomem(err, loc);
    cfg->providers = v;
    p = provider_new(name);
    if (p == NULL)
        return nomem(err, loc);
    cfg->providers[cfg->n_providers++] = p;
    *section = OIDC_SCOPE_PROVIDER;
    *prov = p;
    return OIDC_OK;
}

static int parse_assignment(struct oidc_cfg *cfg, struct oidc_provider_cfg *prov, int section,
                            char *s, const char *loc, struct oidc_err *err)
{
    char *eq = strchr(s, '='), *key, *value;
    size_t n;

    if (eq == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: not a setting (expected 'key = value', a [section] header or a "
                            "# comment)",
                            loc);
    *eq = '\0';
    key = trim(s);
    value = trim(eq + 1);
    if (*key == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: no key before '=' (expected 'key = value')",
                            loc);
    if (section == 0) {
        if (has_control(key))
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: a key contains a control character",
                                loc);
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: %.*s: outside of any section (expected it under [global] or "
                            "[provider NAME])",
                            loc, NAME_MAX_LEN, key);
    }
    n = strlen(value);
    if (value[0] == '"') {
        if (n < 2 || value[n - 1] != '"') {
            if (has_control(key))
                return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: a key contains a control character",
                                    loc);
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: %.*s: unterminated double quote (expected \"value\")", loc,
                                NAME_MAX_LEN, key);
        }
        value[n - 1] = '\0';
        value++;
    }
    return oidc_cfg_set(cfg, prov, (enum oidc_cfg_scope)section, key, value, loc, err);
}

int oidc_cfg_parse_text(struct oidc_cfg *cfg, const char *text, size_t len, const char *where,
                        struct oidc_err *err)
{
    struct oidc_provider_cfg *prov = NULL;
    char line[LINE_MAX_BYTES + 1], loc[512], *s;
    const char *eol;
    size_t pos = 0, n, next;
    unsigned lineno = 0;
    int section = 0, r;

    if (cfg == NULL || (text == NULL && len > 0))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_parse_text: bad arguments");
    if (where == NULL)
        where = "configuration";
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* UTF-8 byte order mark */
    while (pos < len) {
        lineno++;
        snprintf(loc, sizeof(loc), "%s:%u", where, lineno);
        eol = memchr(text + pos, '\n', len - pos);
        n = eol != NULL ? (size_t)(eol - (text + pos)) : len - pos;
        next = pos + n + (eol != NULL ? 1 : 0);
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (n > LINE_MAX_BYTES)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: line is longer than %d bytes", loc,
                                LINE_MAX_BYTES);
        if (memchr(text + pos, '\0', n) != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: line contains a NUL byte", loc);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = next;

        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[')
            r = parse_section(cfg, s, loc, &section, &prov, err);
        else
            r = parse_assignment(cfg, prov, section, s, loc, err);
        if (r != OIDC_OK)
            return r;
    }
    return OIDC_OK;
}

/* ---------------------------------------------------------------- files */

#define CONF_FORBIDDEN   (S_IWGRP | S_IWOTH)
#define CONF_MODE_RULE   "lets group or others write it (expected chmod go-w)"
#define SECRET_FORBIDDEN (S_IRWXG | S_IRWXO)
#define SECRET_MODE_RULE "grants access to group or others (expected mode 0600 or 0400)"

/* Opens name (relative to dirfd) without following a symbolic link, checks through the open
 * descriptor that it is a regular file owned by root, without the forbidden mode bits and at most
 * max bytes, and reads it. OIDC_ERR_NOTFOUND (err untouched) when it does not exist. The buffer
 * is wiped before it is released on failure, since it may hold a secret. */
static int read_safely(int dirfd, const char *name, const char *shown, size_t max, mode_t forbidden,
                       const char *mode_rule, char **out, size_t *outlen, struct oidc_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ssize_t n;
    int fd, r = OIDC_ERR_CONFIG;

    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return OIDC_ERR_NOTFOUND;
        if (errno == ELOOP) {
            OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                         "%s: refused: a symbolic link (expected a regular file)", shown);
            return OIDC_ERR_CONFIG;
        }
        OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot open: %s", shown, strerror(errno));
        return OIDC_ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        r = OIDC_ERR_IO;
        OIDC_ERR_SET(err, r, "%s: cannot stat: %s", shown, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: not a regular file", shown);
        goto out;
    }
    if (st.st_uid != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: owned by uid %u (expected owner root)",
                     shown, (unsigned)st.st_uid);
        goto out;
    }
    if ((st.st_mode & forbidden) != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: mode %04o %s", shown,
                     (unsigned)(st.st_mode & 07777), mode_rule);
        goto out;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: larger than %zu bytes", shown, max);
        goto out;
    }
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        r = OIDC_ERR_NOMEM;
        nomem(err, shown);
        goto out;
    }
    while (len < cap - 1) {
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = OIDC_ERR_IO;
            OIDC_ERR_SET(err, r, "%s: cannot read: %s", shown, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL; /* transferred */
    *outlen = len;
    r = OIDC_OK;
out:
    if (buf != NULL)
        oidc_freezero(buf, cap);
    close(fd);
    return r;
}

int oidc_cfg_load_file(struct oidc_cfg *cfg, const char *path, int explicit_path,
                       struct oidc_err *err)
{
    char *text = NULL, *copy = NULL;
    size_t len = 0;
    int r;

    if (cfg == NULL || path == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_load_file: bad arguments");
    if (path[0] != '/')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: not an absolute path (expected /absolute/path)", path);
    r = read_safely(AT_FDCWD, path, path, OIDC_CFG_MAX_FILE_SIZE, CONF_FORBIDDEN, CONF_MODE_RULE,
                    &text, &len, err);
    if (r == OIDC_ERR_NOTFOUND) {
        if (!explicit_path)
            return OIDC_OK; /* no default file: an empty configuration */
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: no such file", path);
    }
    if (r != OIDC_OK)
        return r;
    if (cfg->config_path == NULL && (copy = strdup(path)) == NULL) {
        r = nomem(err, path);
        goto out;
    }
    r = oidc_cfg_parse_text(cfg, text, len, path, err);
    if (r != OIDC_OK)
        goto out;
    if (copy != NULL) {
        cfg->config_path = copy;
        copy = NULL; /* transferred */
    }
out:
    free(copy);
    free(text);
    return r;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dropin_name(const char *n)
{
    size_t len = strlen(n);

    return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

/* Reads DIR/ *.conf in byte order of their names; a missing DIR is fine. */
static int load_dropins(struct oidc_cfg *cfg, const char *dir, struct oidc_err *err)
{
    struct stat st;
    struct dirent *de;
    DIR *d = NULL;
    char **names = NULL, *text = NULL, shown[4352];
    size_t n = 0, i, len = 0;
    int dfd, fd2, r = OIDC_ERR_CONFIG;

    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return OIDC_OK;
        if (errno == ELOOP || errno == ENOTDIR)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: refused: not a directory or a symbolic link (expected a "
                                "directory)",
                                dir);
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    }
    if (fstat(dfd, &st) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot stat: %s", dir, strerror(errno));
        goto out;
    }
    if (st.st_uid != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: owned by uid %u (expected owner root)",
                     dir, (unsigned)st.st_uid);
        goto out;
    }
    if ((st.st_mode & CONF_FORBIDDEN) != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: mode %04o %s", dir,
                     (unsigned)(st.st_mode & 07777), CONF_MODE_RULE);
        goto out;
    }
    fd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (fd2 < 0 || (d = fdopendir(fd2)) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
        if (fd2 >= 0)
            close(fd2);
        goto out;
    }
    names = calloc(DROPIN_MAX, sizeof(*names));
    if (names == NULL) {
        r = nomem(err, dir);
        goto out;
    }
    for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
        if (!is_dropin_name(de->d_name))
            continue;
        if (n == DROPIN_MAX) {
            OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: more than %d *.conf files", dir, DROPIN_MAX);
            goto out;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            r = nomem(err, dir);
            goto out;
        }
        n++;
    }
    if (errno != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
        goto out;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++) {
        snprintf(shown, sizeof(shown), "%s/%s", dir, names[i]);
        r = read_safely(dfd, names[i], shown, OIDC_CFG_MAX_FILE_SIZE, CONF_FORBIDDEN,
                        CONF_MODE_RULE, &text, &len, err);
        if (r == OIDC_ERR_NOTFOUND)
            r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: disappeared while reading", shown);
        if (r != OIDC_OK)
            goto out;
        r = oidc_cfg_parse_text(cfg, text, len, shown, err);
        free(text);
        text = NULL;
        if (r != OIDC_OK)
            goto out;
    }
    r = OIDC_OK;
out:
    if (names != NULL)
        for (i = 0; i < n; i++)
            free(names[i]);
    free(names);
    if (d != NULL)
        closedir(d);
    close(dfd);
    return r;
}

/* One module argument: KEY=VALUE, or a bare KEY. */
static int apply_arg(struct oidc_cfg *cfg, const char *arg, int index, struct oidc_err *err)
{
    const char *eq = strchr(arg, '=');
    char where[32], key[NAME_MAX_LEN + 1];
    size_t klen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

    snprintf(where, sizeof(where), "argument %d", index);
    if (klen == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: no key (expected KEY=VALUE or a bare word such as debug)", where);
    if (klen > NAME_MAX_LEN)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %.*s...: unknown key", where, 32, arg);
    memcpy(key, arg, klen);
    key[klen] = '\0';
    return oidc_cfg_set(cfg, NULL, OIDC_SCOPE_ARG, key, eq != NULL ? eq + 1 : NULL, where, err);
}

int oidc_cfg_load(int argc, const char **argv, struct oidc_cfg **out, struct oidc_err *err)
{
    struct oidc_cfg *cfg = NULL;
    const char *path = NULL;
    char dropdir[4096], shown[SHOW_MAX + 8];
    int i, r, explicit_path;

    if (out == NULL || argc < 0 || (argc > 0 && argv == NULL))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_load: bad arguments");
    for (i = 0; i < argc; i++) {
        if (argv[i] == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "argument %d: NULL", i + 1);
        if (strncmp(argv[i], "config=", 7) != 0)
            continue;
        if (path != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "argument %d: config: given twice in the module arguments", i + 1);
        path = argv[i] + 7;
        if (path[0] != '/' || has_control(path))
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "argument %d: config: %s is not an absolute path (expected "
                                "config=/absolute/path)",
                                i + 1, has_control(path) ? "''" : show(shown, sizeof(shown), path));
    }

    cfg = oidc_cfg_new();
    if (cfg == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    explicit_path = path != NULL;
    if (path == NULL)
        path = CONF_FILE;
    r = oidc_cfg_load_file(cfg, path, explicit_path, err);
    if (r != OIDC_OK)
        goto out;
    if ((size_t)snprintf(dropdir, sizeof(dropdir), "%s.d", path) >= sizeof(dropdir)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "config: path too long");
        goto out;
    }
    r = load_dropins(cfg, dropdir, err);
    if (r != OIDC_OK)
        goto out;
    for (i = 0; i < argc; i++) {
        r = apply_arg(cfg, argv[i], i + 1, err);
        if (r != OIDC_OK)
            goto out;
    }
    r = oidc_cfg_check(cfg, err);
    if (r != OIDC_OK)
        goto out;
    *out = cfg;
    cfg = NULL; /* transferred */
    r = OIDC_OK;
out:
    oidc_cfg_free(cfg);
    return r;
}

/* ---------------------------------------------------------------- checks and the secret */

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
 * (checked again when it is read). A file this process may not even stat is left to that read. */
static int check_replay_keys(const struct oidc_provider_cfg *p, const char *name,
                             struct oidc_err *err)
{
    const char *pw = p->replay_store_password_file;
    int redis = oidc_replay_store_is_redis(p);
    struct stat st;

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
    if (lstat(pw, &st) != 0) {
        if (errno == EACCES)
            return OIDC_OK;
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: %s", name, pw,
                            strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: refused: not a "
                            "regular file",
                            name, pw);
    if (st.st_uid != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: refused: owned by uid "
                            "%u (expected owner root)",
                            name, pw, (unsigned)st.st_uid);
    if ((st.st_mode & SECRET_FORBIDDEN) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: refused: mode %04o "
                            "%s",
                            name, pw, (unsigned)(st.st_mode & 07777), SECRET_MODE_RULE);
    return OIDC_OK;
}

static int check_provider(const struct oidc_provider_cfg *p, struct oidc_err *err)
{
    const char *name = p->name != NULL ? p->name : "?", *problem;
    char shown[SHOW_MAX + 8];
    struct url u;

    if (p->issuer == NULL || p->issuer[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': issuer: missing (expected issuer = https://...)", name);
    if (p->client_id == NULL || p->client_id[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': client_id: missing (expected the client id registered "
                            "at the issuer)",
                            name);
    problem = has_control(p->issuer) ? "contains a control character" : NULL;
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
                            name, show(shown, sizeof(shown), p->issuer));
    if (!u.https && !url_is_loopback(&u))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': issuer: %s is http on a non-loopback host (expected "
                            "https://, or http:// on 127.0.0.0/8, [::1] or localhost)",
                            name, show(shown, sizeof(shown), p->issuer));
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
    if (cfg->default_provider != NULL && find_provider(cfg, cfg->default_provider) == NULL) {
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

/* One-line secret from a root-only file; key names the setting in messages. */
static int read_secret_file(const char *path, const char *key, char **out, struct oidc_err *err)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int r;

    if (path[0] != '/')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: not an absolute path", path, key);
    r = read_safely(AT_FDCWD, path, path, SECRET_MAX, SECRET_FORBIDDEN, SECRET_MODE_RULE, &buf,
                    &len, err);
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: no such file", path, key);
    if (r != OIDC_OK)
        return r;
    cap = len + 1;
    r = OIDC_ERR_CONFIG;
    if (memchr(buf, '\0', len) != NULL) {
        OIDC_ERR_SET(err, r, "%s: the secret contains a NUL byte", path);
        goto out;
    }
    if (len > 0 && buf[len - 1] == '\n') {
        buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r')
            buf[--len] = '\0';
    }
    if (len == 0) {
        OIDC_ERR_SET(err, r, "%s: the secret is empty", path);
        goto out;
    }
    if (memchr(buf, '\n', len) != NULL || memchr(buf, '\r', len) != NULL) {
        OIDC_ERR_SET(err, r, "%s: the secret spans more than one line (expected one line)", path);
        goto out;
    }
    *out = buf;
    buf = NULL; /* transferred */
    r = OIDC_OK;
out:
    if (buf != NULL)
        oidc_freezero(buf, cap);
    return r;
}

int oidc_cfg_read_secret(const struct oidc_provider_cfg *p, char **out, struct oidc_err *err)
{
    if (p == NULL || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_read_secret: bad arguments");
    if (p->client_secret_file == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOTFOUND,
                            "provider '%s': client_secret_file: not set (a public client)",
                            p->name != NULL ? p->name : "?");
    return read_secret_file(p->client_secret_file, "client_secret_file", out, err);
}

int oidc_cfg_read_replay_password(const struct oidc_provider_cfg *p, char **out,
                                  struct oidc_err *err)
{
    if (p == NULL || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_read_replay_password: bad arguments");
    if (p->replay_store_password_file == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOTFOUND,
                            "provider '%s': replay_store_password_file: not set",
                            p->name != NULL ? p->name : "?");
    return read_secret_file(p->replay_store_password_file, "replay_store_password_file", out, err);
}
