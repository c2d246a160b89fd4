/* Bounded JSON: one strict pass (RFC 8259) that builds the cJSON tree directly while enforcing the
 * size cap, the depth limit, duplicate-free objects, no escaped NULs and valid UTF-8; plus typed
 * access. cJSON's own parser is not used: it is lenient (leading zeros, control characters and any
 * byte below 0x20 as whitespace, no UTF-8 check) and needed two more passes for depth and
 * duplicates. */
#include "config.h"
#include "json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define JSON_INT_LIMIT 9007199254740992.0 /* 2^53: integers beyond are not exact in a double */
/* Integers of at most this many digits are exact in a double and converted without strtod. */
#define FAST_INT_DIGITS 15
/* Members whose names are checked for duplicates as they are added; larger objects are sorted. */
#define DUP_INLINE 16

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a duplicate member name in one object by sorting the names (large objects only). */
static int find_duplicate_sorted(const cJSON *obj, size_t n, const char **dup)
{
    const cJSON *a;
    const char **names;
    size_t i;
    int r = OIDC_OK;

    names = malloc(n * sizeof(*names));
    if (names == NULL)
        return OIDC_ERR_NOMEM;
    i = 0;
    for (a = obj->child; a != NULL && i < n; a = a->next)
        names[i++] = a->string;
    qsort(names, i, sizeof(*names), cmp_names);
    for (n = i, i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            *dup = names[i];
            r = OIDC_ERR_PARSE;
            break;
        }
    free(names);
    return r;
}

/* Numbers that need strtod are read in the C locale whatever the host program set (a PAM module
 * runs inside programs that call setlocale). */
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static void c_locale_free(void) __attribute__((destructor));
static void c_locale_free(void)
{
    if (c_locale != (locale_t)0)
        freelocale(c_locale);
    c_locale = (locale_t)0;
}

/* Byte classes inside a string: 0 is copied as is; 1 is '"', '\\', a control character or a
 * non-ASCII byte, which the slow path looks at. */
static const unsigned char str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

struct parser {
    const unsigned char *start, *p, *end;
    const char *what;
    struct oidc_err *err;
};

static int syntax(const struct parser *ps, const char *why)
{
    return OIDC_ERR_SET(ps->err, OIDC_ERR_PARSE, "%s is not valid JSON: %s at byte %zu", ps->what,
                        why, (size_t)(ps->p - ps->start));
}

static int nomem(const struct parser *ps)
{
    return OIDC_ERR_SET(ps->err, OIDC_ERR_NOMEM, "out of memory parsing %s", ps->what);
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0, i, d;

    for (i = 0; i < 4; i++) {
        if (is_digit(p[i]))
            d = p[i] - '0';
        else if (p[i] >= 'a' && p[i] <= 'f')
            d = p[i] - 'a' + 10;
        else if (p[i] >= 'A' && p[i] <= 'F')
            d = p[i] - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode Table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t avail = (size_t)(end - p);

    if (c >= 0xc2 && c <= 0xdf)
        return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
            (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80 ||
            (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

static size_t utf8_put(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the body [s, q) of a string that has escapes or non-ASCII bytes into o, checking every
 * rule. o has room for q - s bytes: no escape decodes to more bytes than it takes. Sets ps->p to
 * the offending byte on error. */
static int decode_string(struct parser *ps, const unsigned char *s, const unsigned char *q,
                         unsigned char *o, size_t *outlen)
{
    const unsigned char *i = s;
    unsigned char *o0 = o;
    unsigned cp, lo;
    size_t n;

    while (i < q) {
        ps->p = i;
        if (*i == '\\') {
            switch (i[1]) { /* the scan guarantees i + 1 < q */
            case '"':
            case '\\':
            case '/':
                *o++ = i[1];
                break;
            case 'b':
                *o++ = '\b';
                break;
            case 'f':
                *o++ = '\f';
                break;
            case 'n':
                *o++ = '\n';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'u':
                if (q - i < 6 || hex4(i + 2, &cp) != 0)
                    return syntax(ps, "bad \\u escape");
                if (cp == 0)
                    return OIDC_ERR_SET(ps->err, OIDC_ERR_PARSE,
                                        "%s contains an escaped NUL (\\u0000)", ps->what);
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return syntax(ps, "unpaired UTF-16 surrogate");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (q - i < 12 || i[6] != '\\' || i[7] != 'u' || hex4(i + 8, &lo) != 0 ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return syntax(ps, "unpaired UTF-16 surrogate");
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
                o += utf8_put(o, cp);
                i += 4;
                break;
            default:
                return syntax(ps, "bad escape");
            }
            i += 2;
        } else if (*i < 0x20) {
            return syntax(ps, "unescaped control character in a string");
        } else if (*i < 0x80) {
            *o++ = *i++;
        } else {
            if ((n = utf8_seq(i, q)) == 0)
                return syntax(ps, "invalid UTF-8");
            memcpy(o, i, n);
            o += n;
            i += n;
        }
    }
    *outlen = (size_t)(o - o0);
    return OIDC_OK;
}

/* Member names common in ID tokens, JOSE headers, JWKS and discovery documents. A parsed member
 * with one of these names points at this table instead of a malloc'd copy, flagged
 * cJSON_StringIsConst (cJSON's own mark for names it must not free or rewrite; cJSON_Delete,
 * cJSON_Duplicate and the replace functions honour it): a token's claims then cost a dozen fewer
 * allocations. cJSON types names as char *, hence a writable array; nothing writes to it. */
#define KNOWN_SLOTS 256
static char known_names[][24] = {"alg",
                                 "kid",
                                 "typ",
                                 "cty",
                                 "crit",
                                 "x5t",
                                 "x5t#S256",
                                 "iss",
                                 "sub",
                                 "aud",
                                 "exp",
                                 "iat",
                                 "nbf",
                                 "jti",
                                 "azp",
                                 "acr",
                                 "amr",
                                 "sid",
                                 "nonce",
                                 "auth_time",
                                 "at_hash",
                                 "c_hash",
                                 "session_state",
                                 "scope",
                                 "client_id",
                                 "name",
                                 "given_name",
                                 "family_name",
                                 "middle_name",
                                 "nickname",
                                 "preferred_username",
                                 "email",
                                 "email_verified",
                                 "phone_number",
                                 "phone_number_verified",
                                 "locale",
                                 "zoneinfo",
                                 "updated_at",
                                 "picture",
                                 "groups",
                                 "roles",
                                 "realm_access",
                                 "resource_access",
                                 "oid",
                                 "tid",
                                 "upn",
                                 "uid",
                                 "uid_number",
                                 "gid_number",
                                 "keys",
                                 "kty",
                                 "use",
                                 "crv",
                                 "key_ops",
                                 "n",
                                 "e",
                                 "x",
                                 "y",
                                 "issuer",
                                 "jwks_uri",
                                 "token_endpoint",
                                 "authorization_endpoint",
                                 "userinfo_endpoint",
                                 "access_token",
                                 "id_token",
                                 "refresh_token",
                                 "token_type",
                                 "expires_in",
                                 "device_code",
                                 "user_code",
                                 "verification_uri",
                                 "interval",
                                 "error",
                                 "error_description"};
static unsigned char known_slot[KNOWN_SLOTS]; /* index + 1 into known_names, 0 for empty */
static pthread_once_t known_once = PTHREAD_ONCE_INIT;

static unsigned known_hash(const unsigned char *s, size_t len)
{
    return (unsigned)(len * 61u + s[0] * 31u + s[len - 1] * 7u + s[len / 2]) % KNOWN_SLOTS;
}

static void known_init(void)
{
    size_t i, len;
    unsigned h;

    for (i = 0; i < sizeof(known_names) / sizeof(known_names[0]); i++) {
        len = strlen(known_names[i]);
        for (h = known_hash((const unsigned char *)known_names[i], len); known_slot[h] != 0;
             h = (h + 1) % KNOWN_SLOTS)
            ;
        known_slot[h] = (unsigned char)(i + 1);
    }
}

/* The table's copy of the len bytes at s, or NULL. */
static char *known_name(const unsigned char *s, size_t len)
{
    unsigned h;
    char *k;

    if (len == 0 || len >= sizeof(known_names[0]))
        return NULL;
    pthread_once(&known_once, known_init);
    for (h = known_hash(s, len); known_slot[h] != 0; h = (h + 1) % KNOWN_SLOTS) {
        k = known_names[known_slot[h] - 1];
        if (memcmp(k, s, len) == 0 && k[len] == '\0')
            return k;
    }
    return NULL;
}

/* Finds the end of the string at ps->p (the opening quote): *q is its closing quote; *plain says
 * whether the body is printable ASCII without escapes, to be copied as is. */
static int scan_string(struct parser *ps, const unsigned char **q_out, int *plain)
{
    const unsigned char *q = ps->p + 1;

    *plain = 1;
    for (;;) {
        while (q < ps->end && !str_special[*q])
            q++;
        if (q >= ps->end)
            return syntax(ps, "unterminated string");
        if (*q == '"')
            break;
        *plain = 0;
        if (*q == '\\') {
            if (ps->end - q < 2)
                return syntax(ps, "unterminated string");
            q++;
        }
        q++;
    }
    *q_out = q;
    return OIDC_OK;
}

/* The string at ps->p (the opening quote) into a fresh cJSON_malloc'd, NUL-terminated buffer.
 * With is_const non-NULL (member names), a name from known_names is returned instead when it
 * matches, and *is_const set. */
static int parse_string(struct parser *ps, char **out, size_t *outlen, int *is_const)
{
    const unsigned char *s = ps->p + 1, *q;
    int plain, r;
    size_t len;
    char *buf;

    if ((r = scan_string(ps, &q, &plain)) != OIDC_OK)
        return r;
    if (is_const != NULL) {
        *is_const = 0;
        if (plain && (buf = known_name(s, (size_t)(q - s))) != NULL) {
            *is_const = 1;
            len = (size_t)(q - s);
            goto done;
        }
    }
    if ((buf = cJSON_malloc((size_t)(q - s) + 1)) == NULL)
        return nomem(ps);
    if (plain) {
        len = (size_t)(q - s);
        memcpy(buf, s, len);
    } else if ((r = decode_string(ps, s, q, (unsigned char *)buf, &len)) != OIDC_OK) {
        cJSON_free(buf);
        return r;
    }
    buf[len] = '\0';
done:
    ps->p = q + 1;
    *out = buf;
    *outlen = len;
    return OIDC_OK;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at ps->p. Short integers are converted exactly
 * without strtod; everything else through strtod_l in the C locale. Values beyond a double's range
 * become +-inf or 0 as strtod makes them; the typed getters refuse what they cannot represent. */
static int parse_number(struct parser *ps, cJSON **out)
{
    const unsigned char *s = ps->p, *q = s, *digits;
    char text[OIDC_JSON_MAX_NUMBER + 1];
    uint64_t v = 0;
    int neg = 0, simple = 1;
    double d;

    if (*q == '-') {
        neg = 1;
        q++;
    }
    digits = q;
    if (q >= ps->end || !is_digit(*q))
        return syntax(ps, "bad number");
    if (*q == '0') {
        q++;
        if (q < ps->end && is_digit(*q)) {
            ps->p = q;
            return syntax(ps, "leading zero in a number");
        }
    } else
        while (q < ps->end && is_digit(*q)) {
            v = v * 10 + (uint64_t)(*q - '0'); /* only used when there are few digits */
            q++;
        }
    if (q - digits > FAST_INT_DIGITS)
        simple = 0;
    if (q < ps->end && *q == '.') {
        simple = 0;
        q++;
        if (q >= ps->end || !is_digit(*q)) {
            ps->p = q;
            return syntax(ps, "digit expected after the decimal point");
        }
        while (q < ps->end && is_digit(*q))
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        simple = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || !is_digit(*q)) {
            ps->p = q;
            return syntax(ps, "digit expected in the exponent");
        }
        while (q < ps->end && is_digit(*q))
            q++;
    }
    if (q - s > OIDC_JSON_MAX_NUMBER)
        return OIDC_ERR_SET(ps->err, OIDC_ERR_TOOBIG,
                            "%s has a number longer than %d characters at byte %zu", ps->what,
                            OIDC_JSON_MAX_NUMBER, (size_t)(s - ps->start));
    if (simple)
        d = neg ? -(double)v : (double)v;
    else {
        pthread_once(&c_locale_once, c_locale_init);
        if (c_locale == (locale_t)0)
            return nomem(ps);
        memcpy(text, s, (size_t)(q - s));
        text[q - s] = '\0';
        d = strtod_l(text, NULL, c_locale);
    }
    if ((*out = cJSON_CreateNumber(d)) == NULL)
        return nomem(ps);
    ps->p = q;
    return OIDC_OK;
}

static int parse_value(struct parser *ps, int depth, cJSON **out);

/* Appends item to container; cJSON keeps the last child in child->prev. */
static void append(cJSON *container, cJSON **last, cJSON *item)
{
    if (*last == NULL)
        container->child = item;
    else {
        (*last)->next = item;
        item->prev = *last;
    }
    container->child->prev = item;
    *last = item;
}

static int too_deep(const struct parser *ps)
{
    return OIDC_ERR_SET(ps->err, OIDC_ERR_TOOBIG, "%s is nested deeper than %d levels", ps->what,
                        OIDC_JSON_MAX_DEPTH);
}

static int parse_object(struct parser *ps, int depth, cJSON **out)
{
    struct {
        const char *name;
        size_t len;
    } seen[DUP_INLINE];
    int name_const = 0;
    char b[72];
    cJSON *obj = NULL, *item = NULL, *last = NULL;
    const char *dup = NULL;
    char *name = NULL;
    size_t n = 0, len, i;
    int r;

    if (depth > OIDC_JSON_MAX_DEPTH)
        return too_deep(ps);
    if ((obj = cJSON_CreateObject()) == NULL)
        return nomem(ps);
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        *out = obj;
        return OIDC_OK;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"') {
            r = syntax(ps, "member name expected");
            goto fail;
        }
        if ((r = parse_string(ps, &name, &len, &name_const)) != OIDC_OK)
            goto fail;
        for (i = 0; i < n && i < DUP_INLINE; i++)
            if (seen[i].len == len && seen[i].name[0] == name[0] &&
                memcmp(seen[i].name, name, len) == 0) {
                r = OIDC_ERR_SET(ps->err, OIDC_ERR_PARSE, "%s has a duplicate member \"%.64s\"",
                                 ps->what, oidc_printable(b, sizeof(b), name));
                goto fail;
            }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            r = syntax(ps, "':' expected");
            goto fail;
        }
        ps->p++;
        skip_ws(ps);
        if ((r = parse_value(ps, depth + 1, &item)) != OIDC_OK)
            goto fail;
        item->string = name;
        if (name_const)
            item->type |= cJSON_StringIsConst;
        if (n < DUP_INLINE) {
            seen[n].name = name;
            seen[n].len = len;
        }
        name = NULL; /* owned by item */
        append(obj, &last, item);
        n++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        r = syntax(ps, "',' or '}' expected");
        goto fail;
    }
    if (n > DUP_INLINE && (r = find_duplicate_sorted(obj, n, &dup)) != OIDC_OK) {
        if (r == OIDC_ERR_NOMEM)
            r = nomem(ps);
        else
            r = OIDC_ERR_SET(ps->err, OIDC_ERR_PARSE, "%s has a duplicate member \"%.64s\"",
                             ps->what, oidc_printable(b, sizeof(b), dup));
        goto fail;
    }
    *out = obj;
    return OIDC_OK;
fail:
    if (!name_const)
        cJSON_free(name);
    cJSON_Delete(obj);
    return r;
}

static int parse_array(struct parser *ps, int depth, cJSON **out)
{
    cJSON *arr = NULL, *item = NULL, *last = NULL;
    int r;

    if (depth > OIDC_JSON_MAX_DEPTH)
        return too_deep(ps);
    if ((arr = cJSON_CreateArray()) == NULL)
        return nomem(ps);
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        *out = arr;
        return OIDC_OK;
    }
    for (;;) {
        if ((r = parse_value(ps, depth + 1, &item)) != OIDC_OK)
            goto fail;
        append(arr, &last, item);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        }
        r = syntax(ps, "',' or ']' expected");
        goto fail;
    }
    *out = arr;
    return OIDC_OK;
fail:
    cJSON_Delete(arr);
    return r;
}

static int parse_literal(struct parser *ps, const char *word, size_t len, cJSON **out)
{
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
        return syntax(ps, "unexpected character");
    if (len == 4 && word[0] == 't')
        *out = cJSON_CreateTrue();
    else if (len == 4)
        *out = cJSON_CreateNull();
    else
        *out = cJSON_CreateFalse();
    if (*out == NULL)
        return nomem(ps);
    ps->p += len;
    return OIDC_OK;
}

/* One value at ps->p (no leading whitespace). depth counts the containers this value would be
 * nested in, itself included: scalars at any depth are fine. */
static int parse_value(struct parser *ps, int depth, cJSON **out)
{
    char *s = NULL;
    size_t len;
    int r;

    if (ps->p >= ps->end)
        return syntax(ps, "value expected");
    switch (*ps->p) {
    case '{':
        return parse_object(ps, depth, out);
    case '[':
        return parse_array(ps, depth, out);
    case '"':
        if ((r = parse_string(ps, &s, &len, NULL)) != OIDC_OK)
            return r;
        if ((*out = cJSON_CreateNull()) == NULL) {
            cJSON_free(s);
            return nomem(ps);
        }
        (*out)->type = cJSON_String;
        (*out)->valuestring = s;
        return OIDC_OK;
    case 't':
        return parse_literal(ps, "true", 4, out);
    case 'f':
        return parse_literal(ps, "false", 5, out);
    case 'n':
        return parse_literal(ps, "null", 4, out);
    default:
        if (*ps->p == '-' || is_digit(*ps->p))
            return parse_number(ps, out);
        return syntax(ps, "unexpected character");
    }
}

int oidc_json_parse_object(const char *buf, size_t len, const char *what, cJSON **out,
                           struct oidc_err *err)
{
    struct parser ps;
    cJSON *root = NULL;
    int r;

    if (len > OIDC_JSON_MAX_SIZE)
        return OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "%s is larger than %d bytes", what,
                            OIDC_JSON_MAX_SIZE);
    if (memchr(buf, '\0', len) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s contains a NUL byte", what);
    ps.start = ps.p = (const unsigned char *)buf;
    ps.end = ps.start + len;
    ps.what = what;
    ps.err = err;
    skip_ws(&ps);
    if ((r = parse_value(&ps, 1, &root)) != OIDC_OK)
        return r;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        r = OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s has trailing data after the JSON value", what);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s is not a JSON object", what);
        goto fail;
    }
    *out = root;
    return OIDC_OK;
fail:
    cJSON_Delete(root);
    return r;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
    if (!cJSON_IsObject(obj) || name == NULL)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

int oidc_json_get_string(const cJSON *obj, const char *name, const char **out)
{
    const cJSON *v = member(obj, name);

    if (v == NULL || cJSON_IsNull(v))
        return OIDC_ERR_NOTFOUND;
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return OIDC_ERR_PARSE;
    *out = v->valuestring;
    return OIDC_OK;
}

int oidc_json_get_bool(const cJSON *obj, const char *name, int *out)
{
    const cJSON *v = member(obj, name);

    if (v == NULL || cJSON_IsNull(v))
        return OIDC_ERR_NOTFOUND;
    if (!cJSON_IsBool(v))
        return OIDC_ERR_PARSE;
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return OIDC_OK;
}

int oidc_json_get_int64(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *v = member(obj, name);
    double d;

    if (v == NULL || cJSON_IsNull(v))
        return OIDC_ERR_NOTFOUND;
    if (!cJSON_IsNumber(v))
        return OIDC_ERR_PARSE;
    d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d > JSON_INT_LIMIT || d < -JSON_INT_LIMIT)
        return OIDC_ERR_PARSE;
    *out = (int64_t)d;
    return OIDC_OK;
}

int oidc_json_get_object(const cJSON *obj, const char *name, const cJSON **out)
{
    const cJSON *v = member(obj, name);

    if (v == NULL || cJSON_IsNull(v))
        return OIDC_ERR_NOTFOUND;
    if (!cJSON_IsObject(v))
        return OIDC_ERR_PARSE;
    *out = v;
    return OIDC_OK;
}

int oidc_json_get_array(const cJSON *obj, const char *name, const cJSON **out)
{
    const cJSON *v = member(obj, name);

    if (v == NULL || cJSON_IsNull(v))
        return OIDC_ERR_NOTFOUND;
    if (!cJSON_IsArray(v))
        return OIDC_ERR_PARSE;
    *out = v;
    return OIDC_OK;
}

#define PATH_DOTS_MAX 16 /* bounds the backtracking of path_walk() */

/* The member at path below cur: the first step is the shortest run of the path that names a
 * member from which the rest resolves; so nested objects come first ("realm_access.roles"), and
 * member names that hold dots ("kubernetes.io") are reached when no nesting fits. */
static const cJSON *path_walk(const cJSON *cur, const char *p)
{
    char step[128];
    const cJSON *next, *found;
    size_t n;

    for (n = 0;; n++) {
        if (p[n] != '.' && p[n] != '\0')
            continue;
        if (n == 0 || p[n - 1] == '.' || n >= sizeof(step))
            return NULL; /* an empty step, or one too long */
        memcpy(step, p, n);
        step[n] = '\0';
        if ((next = member(cur, step)) != NULL) {
            if (p[n] == '\0')
                return next;
            if ((found = path_walk(next, p + n + 1)) != NULL)
                return found;
        }
        if (p[n] == '\0')
            return NULL;
    }
}

const cJSON *oidc_json_get_path(const cJSON *obj, const char *path)
{
    size_t dots = 0;
    const char *p;

    if (obj == NULL || path == NULL || *path == '\0')
        return NULL;
    for (p = path; *p != '\0'; p++)
        if (*p == '.' && ++dots > PATH_DOTS_MAX)
            return NULL;
    return path_walk(obj, path);
}

int oidc_json_string_or_array_has(const cJSON *v, const char *s)
{
    const cJSON *it;

    if (cJSON_IsString(v))
        return v->valuestring != NULL && strcmp(v->valuestring, s) == 0;
    if (!cJSON_IsArray(v))
        return 0;
    cJSON_ArrayForEach(it, v)
    {
        if (cJSON_IsString(it) && it->valuestring != NULL && strcmp(it->valuestring, s) == 0)
            return 1;
    }
    return 0;
}
