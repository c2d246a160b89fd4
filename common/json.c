/* Bounded JSON: cJSON does the parsing; this unit enforces size, depth, duplicate-free objects and
 * typed access. */
#include "config.h"
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JSON_INT_LIMIT 9007199254740992.0 /* 2^53: integers beyond are not exact in a double */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a duplicate member name in one object: pairwise for small objects, sorted otherwise. */
static int find_duplicate(const cJSON *obj, const char **dup)
{
    const cJSON *a, *b;
    const char **names;
    size_t n = 0, i;
    int r = OIDC_OK;

    for (a = obj->child; a != NULL; a = a->next)
        n++;
    if (n <= 16) {
        for (a = obj->child; a != NULL; a = a->next)
            for (b = a->next; b != NULL; b = b->next)
                if (strcmp(a->string, b->string) == 0) {
                    *dup = a->string;
                    return OIDC_ERR_PARSE;
                }
        return OIDC_OK;
    }
    names = malloc(n * sizeof(*names));
    if (names == NULL)
        return OIDC_ERR_NOMEM;
    i = 0;
    for (a = obj->child; a != NULL; a = a->next)
        names[i++] = a->string;
    qsort(names, n, sizeof(*names), cmp_names);
    for (i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            *dup = names[i];
            r = OIDC_ERR_PARSE;
            break;
        }
    free(names);
    return r;
}

/* Depth-first check of nesting and duplicate member names. */
static int check_tree(const cJSON *node, int depth, const char **dup)
{
    const cJSON *a;
    int r;

    /* depth counts containers: a scalar inside the deepest allowed one is fine */
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
        return OIDC_OK;
    if (depth > OIDC_JSON_MAX_DEPTH)
        return OIDC_ERR_TOOBIG;
    if (cJSON_IsObject(node) && (r = find_duplicate(node, dup)) != OIDC_OK)
        return r;
    for (a = node->child; a != NULL; a = a->next)
        if ((r = check_tree(a, depth + 1, dup)) != OIDC_OK)
            return r;
    return OIDC_OK;
}

/* Counts the bracket depth before handing text to cJSON's recursive parser, and finds escaped NULs:
 * cJSON would cut "abc\u0000x" to "abc", letting two different claims compare equal. Returns 0,
 * -1 (too deep) or -2 (escaped NUL). */
static int prescan(const char *buf, size_t len)
{
    size_t i;
    int depth = 0, in_str = 0;

    for (i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\') {
                if (i + 5 < len && buf[i + 1] == 'u' && memcmp(buf + i + 2, "0000", 4) == 0)
                    return -2;
                i++;
            } else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[') {
            if (++depth > OIDC_JSON_MAX_DEPTH)
                return -1;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 0;
}

int oidc_json_parse_object(const char *buf, size_t len, const char *what, cJSON **out,
                           struct oidc_err *err)
{
    cJSON *root = NULL;
    const char *end = NULL, *dup = NULL;
    int r;

    if (len > OIDC_JSON_MAX_SIZE)
        return OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "%s is larger than %d bytes", what,
                            OIDC_JSON_MAX_SIZE);
    if (memchr(buf, '\0', len) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s contains a NUL byte", what);
    switch (prescan(buf, len)) {
    case -1:
        return OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "%s is nested deeper than %d levels", what,
                            OIDC_JSON_MAX_DEPTH);
    case -2:
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s contains an escaped NUL (\\u0000)", what);
    default:
        break;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (root == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s is not valid JSON", what);
    while (end != NULL && end < buf + len && strchr(" \t\r\n", *end) != NULL)
        end++;
    if (end == NULL || end != buf + len) {
        r = OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s has trailing data after the JSON value", what);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_PARSE, "%s is not a JSON object", what);
        goto fail;
    }
    r = check_tree(root, 1, &dup);
    if (r != OIDC_OK) {
        if (r == OIDC_ERR_NOMEM)
            OIDC_ERR_SET(err, r, "out of memory checking %s", what);
        else if (dup != NULL)
            OIDC_ERR_SET(err, r, "%s has a duplicate member \"%.64s\"", what, dup);
        else
            OIDC_ERR_SET(err, r, "%s is nested deeper than %d levels", what, OIDC_JSON_MAX_DEPTH);
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

const cJSON *oidc_json_get_path(const cJSON *obj, const char *path)
{
    char step[128];
    const char *p = path, *dot;
    const cJSON *cur = obj;
    size_t n;

    if (path == NULL || *path == '\0')
        return NULL;
    while (cur != NULL) {
        dot = strchr(p, '.');
        n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof(step))
            return NULL;
        memcpy(step, p, n);
        step[n] = '\0';
        cur = member(cur, step);
        if (dot == NULL)
            return cur;
        p = dot + 1;
    }
    return NULL;
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
