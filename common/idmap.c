/* Identity mapping: verified claims -> local name, uid, gid, groups, gecos, home and shell.
 * docs/idmap.md is the reference for every rule here; keep the two in step. */
#include "config.h"
#include "idmap.h"
#include "idhash.h"
#include "json.h"
#include "localdb.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_USERNAME_CLAIM "preferred_username"
#define DEFAULT_HOME           "/home/{name}"
#define DEFAULT_SHELL          "/bin/bash"

#define SUB_MAX        255  /* OpenID Connect Core 1.0, section 2: sub is at most 255 ASCII chars */
#define GECOS_MAX      128  /* bytes of the sanitised "name" claim kept as gecos */
#define HOME_MAX       512  /* bytes of an expanded home directory, NUL included */
#define RAW_NAME_MAX   1024 /* bytes of a username before strip_domain, NUL included */
#define CLAIM_NAME_MAX 128  /* bytes of a placeholder's claim name */
#define ECHO_MAX       64   /* bytes of an untrusted value echoed into an error message */

/* Copies at most ECHO_MAX bytes of an untrusted value for an error message: control bytes become
 * '?', a cut never splits a UTF-8 sequence, and a cut is marked with "...". */
static const char *echo(const char *s, char buf[ECHO_MAX + 4])
{
    size_t i, n = 0;

    for (i = 0; s[i] != '\0' && n < ECHO_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (s[i] != '\0') {
        if (((unsigned char)s[i] & 0xC0) == 0x80) { /* drop the incomplete sequence */
            while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
                n--;
            if (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0xC0)
                n--;
        }
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 1;
    return 0;
}

static void ascii_lower(char *s)
{
    for (; *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Appends n bytes at *pos in out (cap bytes, NUL included); 0 on success, -1 on overflow. */
static int put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (n >= cap - *pos)
        return -1;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
    return 0;
}

#define WHY_MAX (ECHO_MAX + 24)

/* Whether the token vouches for its email claim: email_verified is JSON true, or exactly the
 * string "true" (some IdPs and claim-mapping layers send booleans as strings; the value is signed
 * and unambiguous). Anything else (absent, false, "false", "True", 1 ...) is unverified, and why
 * says what the token carries. */
static int email_verified(const cJSON *claims, char why[WHY_MAX])
{
    const char *s = NULL;
    char e[ECHO_MAX + 4];
    int b = 0, r;

    r = oidc_json_get_bool(claims, "email_verified", &b);
    if (r == OIDC_OK && b)
        return 1;
    if (r == OIDC_OK)
        snprintf(why, WHY_MAX, "false");
    else if (r == OIDC_ERR_NOTFOUND)
        snprintf(why, WHY_MAX, "missing");
    else if (oidc_json_get_string(claims, "email_verified", &s) == OIDC_OK) {
        if (strcmp(s, "true") == 0)
            return 1;
        snprintf(why, WHY_MAX, "the string '%s'", echo(s, e));
    } else
        snprintf(why, WHY_MAX, "not a boolean");
    return 0;
}

/* The value of one placeholder: name_value for {name} when given (home templates), otherwise a
 * top-level claim that is a string or an integer. num holds the decimal form of an integer. With
 * need_verified_email, {email} is refused unless the token says the address is verified. */
static int placeholder_value(const char *tmpl, const char *key, const cJSON *claims,
                             const char *name_value, int need_verified_email, char num[24],
                             const char **val, struct oidc_err *err)
{
    char why[WHY_MAX];
    int64_t i;
    int r;

    if (name_value != NULL && strcmp(key, "name") == 0) {
        *val = name_value;
        return OIDC_OK;
    }
    if (need_verified_email && strcmp(key, "email") == 0 &&
        oidc_json_get_string(claims, key, val) == OIDC_OK && !email_verified(claims, why))
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "template '%.64s' uses claim email, which is not verified "
                            "(email_verified is %s, not true; see require_email_verified)",
                            tmpl, why);
    if (strchr(key, '.') != NULL) { /* a path into nested claims: {kubernetes.io.namespace} */
        const cJSON *v = oidc_json_get_path(claims, key);

        if (v == NULL)
            r = OIDC_ERR_NOTFOUND;
        else if (cJSON_IsString(v) && v->valuestring != NULL) {
            *val = v->valuestring;
            r = OIDC_OK;
        } else if (cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble &&
                   v->valuedouble >= -9007199254740992.0 && v->valuedouble <= 9007199254740992.0) {
            snprintf(num, 24, "%" PRId64, (int64_t)v->valuedouble);
            *val = num;
            return OIDC_OK;
        } else
            r = OIDC_ERR_PARSE;
    } else {
        r = oidc_json_get_string(claims, key, val);
    }
    if (r == OIDC_OK)
        return OIDC_OK;
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "template '%.64s' needs claim '%s', which the token does not carry",
                            tmpl, key);
    if (strchr(key, '.') == NULL && oidc_json_get_int64(claims, key, &i) == OIDC_OK) {
        snprintf(num, 24, "%" PRId64, i);
        *val = num;
        return OIDC_OK;
    }
    return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                        "claim '%s' used in template '%.64s' is not a string or an integer", key,
                        tmpl);
}

/* Expands tmpl into out (cap bytes, NUL included). Syntax errors are OIDC_ERR_CONFIG (the template
 * comes from the configuration); missing or ill-typed claims, an unverified {email} when
 * need_verified_email is set, and overflow are OIDC_ERR_MAPPING (they depend on the token). out is
 * "" after a failure. */
static int expand(const char *tmpl, const cJSON *claims, const char *name_value,
                  int need_verified_email, char *out, size_t cap, struct oidc_err *err)
{
    char key[CLAIM_NAME_MAX + 1], num[24];
    const char *p = tmpl, *end, *val;
    size_t pos = 0, n;
    int r = OIDC_ERR_INTERNAL;

    out[0] = '\0';
    while (*p != '\0') {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (put(out, cap, &pos, p, 1) != 0)
                goto overflow;
            p += 2;
            continue;
        }
        if (*p == '}') {
            r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                             "template '%.64s': unmatched '}' (write '}}' for a literal brace)",
                             tmpl);
            goto out;
        }
        if (*p != '{') {
            n = strcspn(p, "{}");
            if (put(out, cap, &pos, p, n) != 0)
                goto overflow;
            p += n;
            continue;
        }
        p++;
        n = strcspn(p, "{}");
        end = p + n;
        if (*end != '}') {
            r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                             "template '%.64s': unterminated '{' (write '{{' for a literal brace)",
                             tmpl);
            goto out;
        }
        if (n == 0 || n > CLAIM_NAME_MAX) {
            r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                             "template '%.64s': a placeholder needs a claim name of 1 to %d bytes",
                             tmpl, CLAIM_NAME_MAX);
            goto out;
        }
        memcpy(key, p, n);
        key[n] = '\0';
        if ((r = placeholder_value(tmpl, key, claims, name_value, need_verified_email, num, &val,
                                   err)) != OIDC_OK)
            goto out;
        if (put(out, cap, &pos, val, strlen(val)) != 0)
            goto overflow;
        p = end + 1;
    }
    r = OIDC_OK;
    goto out;
overflow:
    r = OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "template '%.64s' expands to more than %zu bytes", tmpl,
                     cap - 1);
out:
    if (r != OIDC_OK)
        out[0] = '\0';
    return r;
}

int oidc_idmap_template(const char *tmpl, const cJSON *claims, char *out, size_t cap,
                        struct oidc_err *err)
{
    if (tmpl == NULL || out == NULL || cap == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "template: no template or no output buffer");
    return expand(tmpl, claims, NULL, 0, out, cap, err);
}

/* The configuration hint for an unusable username. */
static const char *name_hint(const struct oidc_provider_cfg *p, const char *name)
{
    int upper = 0, at = strchr(name, '@') != NULL && !p->strip_domain;
    const char *s;

    for (s = name; *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'Z')
            upper = !p->lowercase;
    if (upper && at)
        return "set lowercase = yes and/or strip_domain = yes";
    if (upper)
        return "set lowercase = yes";
    if (at)
        return "set strip_domain = yes";
    return "choose another username_claim or a username_template";
}

/* The login name from username_template or the first usable username_claim, after strip_domain
 * and lowercase, checked against the POSIX rule and the reserved names. With
 * require_email_verified, the email claim counts only when email_verified is true: anyone can put
 * an address they do not own into an unverified email claim at many IdPs. */
static int map_name(const struct oidc_provider_cfg *p, const cJSON *claims,
                    char name[OIDC_NAME_MAX + 1], struct oidc_err *err)
{
    static const char *const default_claims[] = {DEFAULT_USERNAME_CLAIM};
    const char *const *list = default_claims;
    char raw[RAW_NAME_MAX], src[CLAIM_NAME_MAX + 16], e[ECHO_MAX + 4], why[WHY_MAX] = "", *at;
    const char *v = NULL;
    size_t n = 1, i, len;
    int r;

    if (p->username_template != NULL && p->username_template[0] != '\0') {
        if ((r = expand(p->username_template, claims, NULL, p->require_email_verified, raw,
                        sizeof(raw), err)) != OIDC_OK)
            return r;
        snprintf(src, sizeof(src), "template '%.40s'", p->username_template);
    } else {
        if (p->username_claims.n > 0) {
            list = (const char *const *)p->username_claims.v;
            n = p->username_claims.n;
        }
        for (i = 0; i < n && v == NULL; i++)
            if (oidc_json_get_string(claims, list[i], &v) != OIDC_OK || v[0] == '\0')
                v = NULL;
            else if (p->require_email_verified && strcmp(list[i], "email") == 0 &&
                     !email_verified(claims, why))
                v = NULL; /* skipped, why says so; the next claim is tried */
            else
                snprintf(src, sizeof(src), "claim %.*s", CLAIM_NAME_MAX, list[i]);
        if (v == NULL) {
            char names[160] = "";
            size_t k = 0;
            for (i = 0; i < n; i++)
                if (why[0] == '\0' || strcmp(list[i], "email") != 0)
                    snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                             k++ > 0 ? ", " : "", list[i]);
            if (why[0] != '\0' && k == 0)
                return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                    "no usable username: claim email is not verified "
                                    "(email_verified is %s, not true; see require_email_verified)",
                                    why);
            if (why[0] != '\0')
                return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                    "no usable username: claim email is not verified "
                                    "(email_verified is %s, not true) and the token has none of "
                                    "the claims %.100s as a non-empty string",
                                    why, names);
            return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                "no usable username: the token has none of the claims %s as a "
                                "non-empty string",
                                names);
        }
        len = strlen(v);
        if (len >= sizeof(raw))
            return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                "username '%s' from %s is %zu bytes long; POSIX names are at "
                                "most %d bytes",
                                echo(v, e), src, len, OIDC_NAME_MAX);
        memcpy(raw, v, len + 1);
    }
    if (p->strip_domain && (at = strrchr(raw, '@')) != NULL)
        *at = '\0';
    if (p->lowercase)
        ascii_lower(raw);
    len = strlen(raw);
    if (len > OIDC_NAME_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "username '%s' from %s is %zu bytes long; POSIX names are at most %d "
                            "bytes; %s",
                            echo(raw, e), src, len, OIDC_NAME_MAX, name_hint(p, raw));
    if (!oidc_name_valid(raw))
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "username '%s' from %s is not a valid POSIX name (allowed: "
                            "[a-z_][a-z0-9_.-]*, at most %d bytes); %s",
                            echo(raw, e), src, OIDC_NAME_MAX, name_hint(p, raw));
    if (strcmp(raw, "root") == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "username 'root' is reserved");
    memcpy(name, raw, len + 1);
    return OIDC_OK;
}

/* uid_key = claim:NAME: a JSON integer or a decimal string (no sign, no leading zero), inside
 * [min, max]. Never hashed. */
static int uid_from_claim(const struct oidc_provider_cfg *p, const cJSON *claims, uint32_t min,
                          uint32_t max, uint32_t *uid, struct oidc_err *err)
{
    const char *name = p->uid_claim, *s;
    char e[ECHO_MAX + 4];
    int64_t v;
    uint64_t u = 0;
    size_t i;
    int r;

    if (name == NULL || name[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "uid_key = claim: names no claim");
    r = oidc_json_get_int64(claims, name, &v);
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "uid claim '%.64s' is missing from the token",
                            name);
    if (r == OIDC_OK) {
        if (v < (int64_t)min || v > (int64_t)max)
            return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                "uid claim '%.64s' is %" PRId64 ", outside the uid range %" PRIu32
                                "..%" PRIu32,
                                name, v, min, max);
        *uid = (uint32_t)v;
        return OIDC_OK;
    }
    if (oidc_json_get_string(claims, name, &s) != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "uid claim '%.64s' is neither an integer nor a decimal string", name);
    for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 19; i++)
        u = u * 10 + (uint64_t)(s[i] - '0');
    if (i == 0 || s[i] != '\0' || (s[0] == '0' && i > 1))
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "uid claim '%.64s' is the string '%s', not a decimal integer", name,
                            echo(s, e));
    if (u < min || u > max)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "uid claim '%.64s' is %s, outside the uid range %" PRIu32 "..%" PRIu32,
                            name, echo(s, e), min, max);
    *uid = (uint32_t)u;
    return OIDC_OK;
}

/* uid_key = subject: the key is the issuer, one '\n' byte, then sub. */
static int uid_from_subject(const char *iss, const char *sub, uint32_t min, uint32_t max,
                            uint32_t *uid, struct oidc_err *err)
{
    size_t ilen = strlen(iss), slen = strlen(sub);
    char *key = malloc(ilen + 1 + slen);

    if (key == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory mapping the uid");
    memcpy(key, iss, ilen);
    key[ilen] = '\n';
    memcpy(key + ilen + 1, sub, slen);
    *uid = oidc_idhash_uid(key, ilen + 1 + slen, min, max);
    free(key);
    return OIDC_OK;
}

/* gecos: the "name" claim without ':' and control bytes, at most GECOS_MAX bytes, not cut inside
 * a UTF-8 sequence; "" when absent or not a string. */
static char *make_gecos(const cJSON *claims)
{
    const char *v = NULL;
    char buf[GECOS_MAX + 1];
    size_t n = 0;

    if (oidc_json_get_string(claims, "name", &v) != OIDC_OK)
        v = "";
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == ':' || c < 0x20 || c == 0x7f)
            continue;
        if (n == GECOS_MAX) {
            if ((c & 0xC0) == 0x80) { /* next byte continues a sequence: drop its start */
                while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
                    n--;
                if (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0xC0)
                    n--;
            }
            break;
        }
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return strdup(buf);
}

/* The bytes a home directory may have after expansion. Claims are untrusted, and a home directory
 * ends up in places that are not always quoted (scripts, sshd_config tokens, user tools): no
 * shell metacharacters, quotes, globs, spaces, control bytes, ':' (the passwd separator) or
 * non-ASCII bytes. */
#define HOME_CHARS   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+@/"
#define HOME_WHY_MAX 96

/* NULL when h is a usable home directory: absolute, only HOME_CHARS, and no "." or ".."
 * component (so a claim cannot point it elsewhere); otherwise what is wrong, in why. */
static const char *home_unsafe(const char *h, char why[HOME_WHY_MAX])
{
    const char *c, *end;
    size_t n, len;

    if (h[0] != '/')
        return "is not an absolute path";
    n = strspn(h, HOME_CHARS);
    if (h[n] != '\0') {
        unsigned char b = (unsigned char)h[n];

        if (b > 0x20 && b < 0x7f)
            snprintf(why, HOME_WHY_MAX,
                     "has '%c' at byte %zu, which is not allowed (only A-Z a-z 0-9 . _ - + @ /)", b,
                     n + 1);
        else
            snprintf(why, HOME_WHY_MAX,
                     "has byte 0x%02x at byte %zu, which is not allowed (only A-Z a-z 0-9 . _ - + "
                     "@ /)",
                     b, n + 1);
        return why;
    }
    for (c = h; *c != '\0'; c = end) {
        c += strspn(c, "/");
        end = c + strcspn(c, "/");
        len = (size_t)(end - c);
        if ((len == 1 || len == 2) && strncmp(c, "..", len) == 0) {
            snprintf(why, HOME_WHY_MAX, "has a '%.*s' component", (int)len, c);
            return why;
        }
    }
    return NULL;
}

static int make_home(const struct oidc_provider_cfg *p, const cJSON *claims, const char *name,
                     char **out, struct oidc_err *err)
{
    const char *tmpl = p->home != NULL && p->home[0] != '\0' ? p->home : DEFAULT_HOME, *bad;
    char buf[HOME_MAX], e[ECHO_MAX + 4], why[HOME_WHY_MAX];
    int r;

    if ((r = expand(tmpl, claims, name, 0, buf, sizeof(buf), err)) != OIDC_OK)
        return r;
    if ((bad = home_unsafe(buf, why)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "home directory '%s' from template '%.64s' %s",
                            echo(buf, e), tmpl, bad);
    if ((*out = strdup(buf)) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory mapping the home directory");
    return OIDC_OK;
}

static int group_allowed(const struct oidc_provider_cfg *p, const char *idp_name)
{
    size_t i;

    if (p->group_allow.n == 0)
        return 1;
    for (i = 0; i < p->group_allow.n; i++)
        if (p->group_allow.v[i] != NULL && fnmatch(p->group_allow.v[i], idp_name, 0) == 0)
            return 1;
    return 0;
}

/* Adds one IdP group to cand[] (at most OIDC_GROUPS_MAX) unless it is not allowed, not a valid
 * name after group_prefix and lowercase, the user's own name, or already there. */
static int add_group_candidate(const struct oidc_provider_cfg *p, const char *user,
                               const char *idp_name, char **cand, size_t *n)
{
    const char *prefix = p->group_prefix != NULL ? p->group_prefix : "";
    char g[OIDC_NAME_MAX + 1];
    size_t plen = strlen(prefix), glen = strlen(idp_name), i;

    if (*n >= OIDC_GROUPS_MAX || !group_allowed(p, idp_name) || plen + glen > OIDC_NAME_MAX)
        return OIDC_OK;
    memcpy(g, prefix, plen);
    memcpy(g + plen, idp_name, glen + 1);
    if (p->lowercase)
        ascii_lower(g);
    if (!oidc_name_valid(g) || strcmp(g, user) == 0)
        return OIDC_OK;
    for (i = 0; i < *n; i++)
        if (strcmp(cand[i], g) == 0)
            return OIDC_OK;
    if ((cand[*n] = strdup(g)) == NULL)
        return OIDC_ERR_NOMEM;
    (*n)++;
    return OIDC_OK;
}

/* The candidate supplementary groups from the groups claim's value v (a string or an array of
 * strings; from the token or from userinfo, see groups.h; NULL: none). */
static int group_candidates(const struct oidc_provider_cfg *p, const cJSON *v, const char *user,
                            char **cand, size_t *n, struct oidc_err *err)
{
    const cJSON *it;
    int r = OIDC_OK;

    if (v == NULL)
        return OIDC_OK;
    if (cJSON_IsString(v) && v->valuestring != NULL) {
        r = add_group_candidate(p, user, v->valuestring, cand, n);
    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(it, v)
        {
            if (*n >= OIDC_GROUPS_MAX)
                break;
            if (!cJSON_IsString(it) || it->valuestring == NULL)
                continue;
            if ((r = add_group_candidate(p, user, it->valuestring, cand, n)) != OIDC_OK)
                break;
        }
    }
    if (r != OIDC_OK)
        return OIDC_ERR_SET(err, r, "out of memory mapping groups");
    return OIDC_OK;
}

/* The uid range, with 0..0 (a zeroed configuration) meaning the default range. A range that
 * includes 0 (root) or 0xFFFFFFFF ((uid_t)-1) is refused. */
static int uid_range(const struct oidc_provider_cfg *p, uint32_t *min, uint32_t *max,
                     struct oidc_err *err)
{
    *min = p->uid_min;
    *max = p->uid_max;
    if (*min == 0 && *max == 0) {
        *min = OIDC_UID_MIN_DEFAULT;
        *max = OIDC_UID_MAX_DEFAULT;
    }
    if (*min == 0 || *min > *max || *max == UINT32_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "uid range %" PRIu32 "..%" PRIu32
                            " is not usable (it must be non-empty and exclude 0 and 4294967295)",
                            *min, *max);
    return OIDC_OK;
}

static int get_iss_sub(const cJSON *claims, const char **iss, const char **sub,
                       struct oidc_err *err)
{
    size_t n;

    if (oidc_json_get_string(claims, "iss", iss) != OIDC_OK || (*iss)[0] == '\0' || has_ctl(*iss))
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "the token's 'iss' claim is missing, empty, not a string or contains "
                            "control characters");
    if (oidc_json_get_string(claims, "sub", sub) != OIDC_OK || (*sub)[0] == '\0' || has_ctl(*sub))
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "the token's 'sub' claim is missing, empty, not a string or contains "
                            "control characters");
    if ((n = strlen(*sub)) > SUB_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "the token's 'sub' claim is %zu bytes long; at most %d are allowed", n,
                            SUB_MAX);
    return OIDC_OK;
}

int oidc_idmap_map(const struct oidc_provider_cfg *pcfg, const struct oidc_idmap_env *env,
                   const cJSON *claims, struct oidc_identity **out, struct oidc_err *err)
{
    struct oidc_groups g;
    int r;

    if (pcfg == NULL || claims == NULL || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "identity mapping: missing argument");
    if ((r = oidc_groups_from_token(pcfg, claims, "token", &g, err)) != OIDC_OK)
        return r;
    r = oidc_idmap_map_groups(pcfg, env, claims, &g, out, err);
    oidc_groups_clear(&g);
    return r;
}

int oidc_idmap_map_groups(const struct oidc_provider_cfg *pcfg, const struct oidc_idmap_env *env,
                          const cJSON *claims, const struct oidc_groups *groups,
                          struct oidc_identity **out, struct oidc_err *err)
{
    const char *shell, *iss, *sub;
    /* names[0] is the user's name (and private group); names[1..n] the candidate groups */
    char *names[1 + OIDC_GROUPS_MAX] = {NULL};
    struct oidc_localdb *local = NULL;
    struct oidc_identity *id = NULL;
    uint32_t min, max;
    size_t n = 0, i;
    int r = OIDC_ERR_INTERNAL;

    if (pcfg == NULL || claims == NULL || groups == NULL || out == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_INVALID, "identity mapping: missing argument");
        goto out;
    }
    if ((r = uid_range(pcfg, &min, &max, err)) != OIDC_OK)
        goto out;
    if ((r = get_iss_sub(claims, &iss, &sub, err)) != OIDC_OK)
        goto out;
    if ((id = calloc(1, sizeof(*id))) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory mapping the identity");
        goto out;
    }
    if ((r = map_name(pcfg, claims, id->name, err)) != OIDC_OK)
        goto out;
    names[0] = id->name;
    if ((r = group_candidates(pcfg, groups->raw, id->name, names + 1, &n, err)) != OIDC_OK)
        goto out;

    /* Local accounts and groups win: the user is refused, an IdP group is dropped. The files are
     * read directly (localdb), never through getpwnam()/getgrnam(): see docs/idmap.md. */
    if ((r = oidc_localdb_load(env, &local, err)) != OIDC_OK)
        goto out;
    if (oidc_localdb_user_name(local, id->name) != NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "username '%s' is a local account in %s", id->name,
                         local->passwd_path);
        goto out;
    }
    if (oidc_localdb_group_name(local, id->name) != NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "username '%s' is a local group in %s", id->name,
                         local->group_path);
        goto out;
    }

    switch (pcfg->uid_key) {
    case OIDC_UID_KEY_NAME:
        id->uid = oidc_idmap_name_uid(pcfg, id->name, min, max);
        break;
    case OIDC_UID_KEY_SUBJECT:
        if ((r = uid_from_subject(iss, sub, min, max, &id->uid, err)) != OIDC_OK)
            goto out;
        break;
    case OIDC_UID_KEY_CLAIM:
        if ((r = uid_from_claim(pcfg, claims, min, max, &id->uid, err)) != OIDC_OK)
            goto out;
        break;
    default:
        r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "unknown uid_key %d", (int)pcfg->uid_key);
        goto out;
    }
    id->gid = id->uid;

    shell = pcfg->shell != NULL && pcfg->shell[0] != '\0' ? pcfg->shell : DEFAULT_SHELL;
    if ((id->issuer = strdup(iss)) == NULL || (id->subject = strdup(sub)) == NULL ||
        (id->gecos = make_gecos(claims)) == NULL || (id->shell = strdup(shell)) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory mapping the identity");
        goto out;
    }
    if ((r = make_home(pcfg, claims, id->name, &id->home, err)) != OIDC_OK)
        goto out;

    if (n > 0 && (id->groups = calloc(n, sizeof(*id->groups))) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory mapping groups");
        goto out;
    }
    for (i = 1; i <= n; i++) {
        if (oidc_localdb_group_name(local, names[i]) != NULL)
            continue;
        id->groups[id->n_groups].name = names[i];
        id->groups[id->n_groups].gid = oidc_idhash_gid(names[i], strlen(names[i]), min, max);
        id->n_groups++;
        names[i] = NULL; /* transferred */
    }

    *out = id;
    id = NULL; /* transferred */
    r = OIDC_OK;
out:
    for (i = 1; i <= n; i++)
        free(names[i]);
    oidc_localdb_free(local);
    oidc_identity_free(id);
    return r;
}

const struct oidc_idmap_override *oidc_idmap_override_find(const struct oidc_provider_cfg *p,
                                                           const char *name)
{
    size_t i;

    if (p == NULL || name == NULL)
        return NULL;
    for (i = 0; i < p->n_overrides; i++)
        if (strcmp(p->overrides[i].name, name) == 0)
            return &p->overrides[i];
    return NULL;
}

uint32_t oidc_idmap_name_uid(const struct oidc_provider_cfg *p, const char *name, uint32_t min,
                             uint32_t max)
{
    const struct oidc_idmap_override *o = oidc_idmap_override_find(p, name);

    if (o != NULL)
        return o->uid; /* oidc_cfg_check() kept it inside the range, off systemd's ranges */
    return oidc_idhash_uid(name, strlen(name), min, max);
}

void oidc_identity_free(struct oidc_identity *id)
{
    size_t i;

    if (id == NULL)
        return;
    for (i = 0; i < id->n_groups; i++)
        free(id->groups[i].name);
    free(id->groups);
    free(id->issuer);
    free(id->subject);
    free(id->gecos);
    free(id->home);
    free(id->shell);
    free(id);
}
