/* Bounded JSON: the rules oidc_json_parse_object adds on top of cJSON, and the typed getters. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

#define WHAT "test doc"

static struct oidc_err last_err;

/* Parses exactly len bytes from a heap copy with no terminator, so any read past len is caught by
 * valgrind. Returns the status; on success *out holds the tree (or it is freed when out is NULL).
 */
static int parse_n(const char *s, size_t len, cJSON **out)
{
    cJSON *root = NULL;
    char *copy = malloc(len > 0 ? len : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, s, len);
    memset(&last_err, 0, sizeof(last_err));
    r = oidc_json_parse_object(copy, len, WHAT, &root, &last_err);
    free(copy);
    if (r == OIDC_OK) {
        assert_non_null(root);
        assert_int_equal(last_err.code, 0);
        if (out != NULL)
            *out = root;
        else
            cJSON_Delete(root);
    } else {
        assert_null(root);
        assert_int_equal(last_err.code, r);
    }
    return r;
}

static int parse(const char *s)
{
    return parse_n(s, strlen(s), NULL);
}

static void assert_msg_has(const char *needle)
{
    if (strstr(last_err.msg, needle) == NULL)
        fail_msg("error message \"%s\" lacks \"%s\"", last_err.msg, needle);
}

/* {"a":{"a":...{inner}...}} with levels objects. Caller frees. */
static char *nested_objects(int levels, const char *inner)
{
    size_t cap = (size_t)levels * 6 + strlen(inner) + 1;
    char *s = malloc(cap), *p = s;
    int i;

    assert_non_null(s);
    for (i = 0; i < levels; i++) {
        *p++ = '{';
        if (i + 1 < levels) {
            memcpy(p, "\"a\":", 4);
            p += 4;
        }
    }
    memcpy(p, inner, strlen(inner));
    p += strlen(inner);
    for (i = 0; i < levels; i++)
        *p++ = '}';
    *p = '\0';
    return s;
}

/* {"a":[[...[inner]...]]}: one object and levels - 1 arrays. Caller frees. */
static char *nested_arrays(int levels, const char *inner)
{
    size_t cap = (size_t)levels * 2 + strlen(inner) + 8;
    char *s = malloc(cap), *p = s;
    int i;

    assert_non_null(s);
    memcpy(p, "{\"a\":", 5);
    p += 5;
    for (i = 1; i < levels; i++)
        *p++ = '[';
    memcpy(p, inner, strlen(inner));
    p += strlen(inner);
    for (i = 1; i < levels; i++)
        *p++ = ']';
    *p++ = '}';
    *p = '\0';
    return s;
}

/* An object with n members "m0".."m<n-1>", then extra (e.g. ",\"m5\":0") before the brace. */
static char *many_members(int n, const char *extra)
{
    size_t cap = (size_t)n * 16 + strlen(extra) + 4;
    char *s = malloc(cap);
    size_t o = 0;
    int i;

    assert_non_null(s);
    s[o++] = '{';
    for (i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s\"m%d\":%d", i ? "," : "", i, i);
    o += (size_t)snprintf(s + o, cap - o, "%s}", extra);
    assert_true(o < cap);
    return s;
}

/* ---- oidc_json_parse_object ---- */

static void test_parse_valid_object(void **state)
{
    cJSON *root = NULL;
    const char *s = NULL;
    int64_t n = 0;
    static const char doc[] =
        " {\"iss\":\"https://idp\",\"n\":7,\"o\":{\"x\":[1,\"two\",null,true]},\"e\":{}} ";

    (void)state;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    assert_true(cJSON_IsObject(root));
    assert_int_equal(oidc_json_get_string(root, "iss", &s), OIDC_OK);
    assert_string_equal(s, "https://idp");
    assert_int_equal(oidc_json_get_int64(root, "n", &n), OIDC_OK);
    assert_int_equal(n, 7);
    cJSON_Delete(root);
    assert_int_equal(parse("{}"), OIDC_OK);
}

static void test_parse_root_not_object(void **state)
{
    static const char *roots[] = {"[]", "[{\"a\":1}]", "\"str\"", "42", "-1.5", "null", "true"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        assert_int_equal(parse(roots[i]), OIDC_ERR_PARSE);
        assert_msg_has("not a JSON object");
        assert_msg_has(WHAT);
    }
}

static void test_parse_invalid_json(void **state)
{
    static const char *docs[] = {"", " ", "{", "{\"a\":}", "{\"a\" 1}", "{'a':1}", "{\"a\":1,}"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        assert_int_equal(parse(docs[i]), OIDC_ERR_PARSE);
}

static void test_parse_trailing_garbage_rejected(void **state)
{
    static const char *docs[] = {"{}x", "{} x", "{}{}", "{},", "{}}", "{\"a\":1} 2", "{}\n\"\""};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        assert_int_equal(parse(docs[i]), OIDC_ERR_PARSE);
        assert_msg_has("trailing");
    }
}

static void test_parse_trailing_whitespace_accepted(void **state)
{
    (void)state;
    assert_int_equal(parse("{} "), OIDC_OK);
    assert_int_equal(parse("{\"a\":1}\n"), OIDC_OK);
    assert_int_equal(parse("{}  \t\r\n \n"), OIDC_OK);
    assert_int_equal(parse("\n\t {\"a\" : [ 1 , 2 ] }\r\n"), OIDC_OK);
}

static void test_parse_nul_byte_rejected(void **state)
{
    static const char in_string[] = "{\"a\":\"x\0y\"}";
    static const char after[] = "{\"a\":1}\0";
    static const char in_name[] = "{\"x\0y\":1}";

    (void)state;
    assert_int_equal(parse_n(in_string, sizeof(in_string) - 1, NULL), OIDC_ERR_PARSE);
    assert_msg_has("NUL");
    assert_int_equal(parse_n(after, sizeof(after) - 1, NULL), OIDC_ERR_PARSE);
    assert_msg_has("NUL");
    assert_int_equal(parse_n(in_name, sizeof(in_name) - 1, NULL), OIDC_ERR_PARSE);
    assert_msg_has("NUL");
}

static void test_parse_escaped_nul_in_value_rejected(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"sub\":\"alice\\u0000admin\"}"), OIDC_ERR_PARSE);
    assert_msg_has("escaped NUL");
    assert_int_equal(parse("{\"sub\":\"\\u0000\"}"), OIDC_ERR_PARSE);
    assert_int_equal(parse("{\"a\":[\"x\",\"\\u0000\"]}"), OIDC_ERR_PARSE);
    /* An escaped backslash followed by an escaped NUL is still an escaped NUL. */
    assert_int_equal(parse("{\"sub\":\"a\\\\\\u0000\"}"), OIDC_ERR_PARSE);
    assert_msg_has("escaped NUL");
}

static void test_parse_escaped_nul_in_name_rejected(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"sub\\u0000x\":\"alice\"}"), OIDC_ERR_PARSE);
    assert_msg_has("escaped NUL");
    assert_int_equal(parse("{\"o\":{\"\\u0000\":1}}"), OIDC_ERR_PARSE);
    assert_msg_has("escaped NUL");
}

static void test_parse_escaped_backslash_then_u0000_accepted(void **state)
{
    cJSON *root = NULL;
    const char *s = NULL;
    static const char doc[] = "{\"a\":\"x\\\\u0000y\",\"k\\\\u0000\":1}";

    (void)state;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    assert_int_equal(oidc_json_get_string(root, "a", &s), OIDC_OK);
    assert_string_equal(s, "x\\u0000y");
    assert_non_null(oidc_json_get_path(root, "k\\u0000"));
    cJSON_Delete(root);
}

static void test_parse_depth_max_objects_accepted(void **state)
{
    char *s = nested_objects(OIDC_JSON_MAX_DEPTH, "");

    (void)state;
    assert_int_equal(parse(s), OIDC_OK);
    free(s);
}

/* OIDC_JSON_MAX_DEPTH nested containers holding a scalar are accepted: depth counts containers. */
static void test_parse_depth_max_objects_with_scalar_leaf_accepted(void **state)
{
    char *obj = nested_objects(OIDC_JSON_MAX_DEPTH, "\"x\":1");
    char *arr = nested_arrays(OIDC_JSON_MAX_DEPTH, "1");
    int r_obj, r_arr;

    (void)state;
    r_obj = parse(obj);
    r_arr = parse(arr);
    free(obj);
    free(arr);
    if (r_obj != OIDC_OK || r_arr != OIDC_OK)
        fail_msg("%d nested containers with a scalar in the innermost one are refused (objects: "
                 "%d, arrays: %d, want 0)",
                 OIDC_JSON_MAX_DEPTH, r_obj, r_arr);
}

static void test_parse_depth_over_max_objects_rejected(void **state)
{
    char *s = nested_objects(OIDC_JSON_MAX_DEPTH + 1, "");
    char *deep = nested_objects(OIDC_JSON_MAX_DEPTH * 4, "\"x\":1");

    (void)state;
    assert_int_equal(parse(s), OIDC_ERR_TOOBIG);
    assert_msg_has("nested deeper");
    assert_int_equal(parse(deep), OIDC_ERR_TOOBIG);
    free(s);
    free(deep);
}

static void test_parse_depth_arrays(void **state)
{
    char *ok = nested_arrays(OIDC_JSON_MAX_DEPTH, "");
    char *over = nested_arrays(OIDC_JSON_MAX_DEPTH + 1, "");
    char *over_leaf = nested_arrays(OIDC_JSON_MAX_DEPTH + 1, "1");

    (void)state;
    assert_int_equal(parse(ok), OIDC_OK);
    assert_int_equal(parse(over), OIDC_ERR_TOOBIG);
    assert_msg_has("nested deeper");
    assert_int_equal(parse(over_leaf), OIDC_ERR_TOOBIG);
    free(ok);
    free(over);
    free(over_leaf);
}

static void test_parse_depth_brackets_in_strings_ignored(void **state)
{
    char *wrapped, *doc;
    size_t len;

    (void)state;
    /* Forty brackets in a value and a name: not nesting. */
    assert_int_equal(parse("{\"s\":\"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{\","
                           "\"{{{{{{{{{{{{{{{{{{{{[[[[[[[[[[[[[[[[[[[[\":1}"),
                     OIDC_OK);
    /* An escaped quote does not end the string, so the brackets after it are still text. */
    assert_int_equal(parse("{\"s\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[\"}"), OIDC_OK);
    /* Brackets in strings inside a document already at the maximum depth. */
    wrapped = nested_objects(OIDC_JSON_MAX_DEPTH, "");
    len = strlen(wrapped);
    doc = malloc(len + 64);
    assert_non_null(doc);
    /* Insert a member with a bracket-laden value into the outermost object. */
    snprintf(doc, len + 64, "{\"b\":\"{{{{[[[[\",%s", wrapped + 1);
    assert_int_equal(parse(doc), OIDC_OK);
    free(doc);
    free(wrapped);
}

static void test_parse_duplicate_top_level(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"sub\":\"alice\",\"sub\":\"root\"}"), OIDC_ERR_PARSE);
    assert_msg_has("duplicate");
    assert_msg_has("\"sub\"");
    /* Same name after unescaping. */
    assert_int_equal(parse("{\"ab\":1,\"\\u0061b\":2}"), OIDC_ERR_PARSE);
    assert_msg_has("\"ab\"");
    /* Names differing only in case are distinct. */
    assert_int_equal(parse("{\"sub\":1,\"Sub\":2,\"SUB\":3}"), OIDC_OK);
}

static void test_parse_duplicate_nested(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"a\":1,\"o\":{\"p\":{\"role\":1,\"x\":2,\"role\":3}}}"),
                     OIDC_ERR_PARSE);
    assert_msg_has("\"role\"");
    assert_int_equal(parse("{\"arr\":[1,{\"k\":1},{\"dup\":1,\"dup\":1}]}"), OIDC_ERR_PARSE);
    assert_msg_has("\"dup\"");
    /* The same name in sibling objects is not a duplicate. */
    assert_int_equal(parse("{\"a\":{\"k\":1},\"b\":{\"k\":2},\"c\":[{\"k\":1},{\"k\":1}]}"),
                     OIDC_OK);
}

static void test_parse_duplicate_small_object(void **state)
{
    char *ok = many_members(16, "");
    char *dup_end = many_members(15, ",\"m0\":0");    /* 16 members, pairwise path */
    char *dup_pair = many_members(2, ",\"m1\":true"); /* 3 members */

    (void)state;
    assert_int_equal(parse(ok), OIDC_OK);
    assert_int_equal(parse(dup_end), OIDC_ERR_PARSE);
    assert_msg_has("\"m0\"");
    assert_int_equal(parse(dup_pair), OIDC_ERR_PARSE);
    assert_msg_has("\"m1\"");
    free(ok);
    free(dup_end);
    free(dup_pair);
}

static void test_parse_duplicate_large_object(void **state)
{
    char *ok = many_members(100, "");
    char *ok17 = many_members(17, "");
    char *dup_end = many_members(99, ",\"m57\":0");   /* 100 members, sorted path */
    char *dup17 = many_members(16, ",\"m15\":0");     /* 17 members: first size on sorted path */
    char *dup_last = many_members(100, ",\"m99\":0"); /* sorts last */
    char *dup_first = many_members(100, ",\"m0\":0"); /* sorts first */
    char *nested = malloc(4096), *inner = many_members(40, ",\"m3\":0");

    (void)state;
    assert_int_equal(parse(ok), OIDC_OK);
    assert_int_equal(parse(ok17), OIDC_OK);
    assert_int_equal(parse(dup_end), OIDC_ERR_PARSE);
    assert_msg_has("duplicate");
    assert_msg_has("\"m57\"");
    assert_int_equal(parse(dup17), OIDC_ERR_PARSE);
    assert_msg_has("\"m15\"");
    assert_int_equal(parse(dup_last), OIDC_ERR_PARSE);
    assert_msg_has("\"m99\"");
    assert_int_equal(parse(dup_first), OIDC_ERR_PARSE);
    assert_msg_has("\"m0\"");
    assert_non_null(nested);
    snprintf(nested, 4096, "{\"x\":{\"y\":%s}}", inner);
    assert_int_equal(parse(nested), OIDC_ERR_PARSE);
    assert_msg_has("\"m3\"");
    free(ok);
    free(ok17);
    free(dup_end);
    free(dup17);
    free(dup_last);
    free(dup_first);
    free(nested);
    free(inner);
}

static void test_parse_size_over_max_rejected(void **state)
{
    size_t len = OIDC_JSON_MAX_SIZE + 1;
    char *buf = malloc(len);
    cJSON *root = NULL;

    (void)state;
    assert_non_null(buf);
    /* A valid object padded with whitespace to the limit is accepted... */
    memset(buf, ' ', len);
    memcpy(buf, "{\"a\":1}", 7);
    memset(&last_err, 0, sizeof(last_err));
    assert_int_equal(oidc_json_parse_object(buf, OIDC_JSON_MAX_SIZE, WHAT, &root, &last_err),
                     OIDC_OK);
    cJSON_Delete(root);
    root = NULL;
    /* ...one more byte is not. */
    assert_int_equal(oidc_json_parse_object(buf, len, WHAT, &root, &last_err), OIDC_ERR_TOOBIG);
    assert_null(root);
    assert_msg_has("larger than");
    free(buf);
}

static void test_parse_not_nul_terminated(void **state)
{
    static const char buf[] = "{\"n\":123}456{\"n\":9}";
    cJSON *root = NULL;
    int64_t n = 0;

    (void)state;
    /* parse_n copies into an unterminated heap buffer of exactly len bytes. */
    assert_int_equal(parse_n(buf, 9, &root), OIDC_OK);
    assert_int_equal(oidc_json_get_int64(root, "n", &n), OIDC_OK);
    assert_int_equal(n, 123);
    cJSON_Delete(root);
    /* The same buffer in full has trailing data. */
    assert_int_equal(parse_n(buf, strlen(buf), NULL), OIDC_ERR_PARSE);
    /* A prefix that cuts the object short is invalid. */
    assert_int_equal(parse_n(buf, 8, NULL), OIDC_ERR_PARSE);
    /* A string ending exactly at the buffer end. */
    assert_int_equal(parse_n("{\"s\":\"v\"}", 9, NULL), OIDC_OK);
}

/* ---- typed getters ---- */

static const char getter_doc[] = "{\"s\":\"str\",\"e\":\"\",\"t\":true,\"f\":false,\"i\":42,"
                                 "\"neg\":-7,\"d\":1.5,\"z\":null,\"o\":{\"k\":1},\"a\":[1,2]}";

static cJSON *getter_root(void)
{
    cJSON *root = NULL;

    assert_int_equal(parse_n(getter_doc, strlen(getter_doc), &root), OIDC_OK);
    return root;
}

static void test_get_string(void **state)
{
    cJSON *root = getter_root();
    const char *s = NULL;

    (void)state;
    assert_int_equal(oidc_json_get_string(root, "s", &s), OIDC_OK);
    assert_string_equal(s, "str");
    assert_int_equal(oidc_json_get_string(root, "e", &s), OIDC_OK);
    assert_string_equal(s, "");
    assert_int_equal(oidc_json_get_string(root, "missing", &s), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_string(root, "z", &s), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_string(root, "S", &s), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_string(root, "t", &s), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_string(root, "i", &s), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_string(root, "o", &s), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_string(root, "a", &s), OIDC_ERR_PARSE);
    cJSON_Delete(root);
}

static void test_get_bool(void **state)
{
    cJSON *root = getter_root();
    int b = -1;

    (void)state;
    assert_int_equal(oidc_json_get_bool(root, "t", &b), OIDC_OK);
    assert_int_equal(b, 1);
    assert_int_equal(oidc_json_get_bool(root, "f", &b), OIDC_OK);
    assert_int_equal(b, 0);
    assert_int_equal(oidc_json_get_bool(root, "missing", &b), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_bool(root, "z", &b), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_bool(root, "s", &b), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_bool(root, "i", &b), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_bool(root, "o", &b), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_bool(root, "a", &b), OIDC_ERR_PARSE);
    cJSON_Delete(root);
}

static void test_get_int64(void **state)
{
    cJSON *root = getter_root();
    int64_t n = 0;

    (void)state;
    assert_int_equal(oidc_json_get_int64(root, "i", &n), OIDC_OK);
    assert_int_equal(n, 42);
    assert_int_equal(oidc_json_get_int64(root, "neg", &n), OIDC_OK);
    assert_int_equal(n, -7);
    assert_int_equal(oidc_json_get_int64(root, "missing", &n), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_int64(root, "z", &n), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_int64(root, "s", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "t", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "o", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "a", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "d", &n), OIDC_ERR_PARSE);
    cJSON_Delete(root);
}

static void test_get_int64_range(void **state)
{
    static const char doc[] = "{\"max\":9007199254740992,\"min\":-9007199254740992,"
                              "\"over\":9007199254740994,\"under\":-9007199254740994,"
                              "\"half\":1.5,\"nhalf\":-0.5,\"inf\":1e400,\"ninf\":-1e400,"
                              "\"exp\":1e3,\"big\":1e300,\"zero\":0}";
    cJSON *root = NULL;
    int64_t n = 0;

    (void)state;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    assert_int_equal(oidc_json_get_int64(root, "max", &n), OIDC_OK);
    assert_true(n == INT64_C(9007199254740992));
    assert_int_equal(oidc_json_get_int64(root, "min", &n), OIDC_OK);
    assert_true(n == -INT64_C(9007199254740992));
    assert_int_equal(oidc_json_get_int64(root, "exp", &n), OIDC_OK);
    assert_int_equal(n, 1000);
    assert_int_equal(oidc_json_get_int64(root, "zero", &n), OIDC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(oidc_json_get_int64(root, "over", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "under", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "half", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "nhalf", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "inf", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "ninf", &n), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_int64(root, "big", &n), OIDC_ERR_PARSE);
    cJSON_Delete(root);
}

static void test_get_object(void **state)
{
    cJSON *root = getter_root();
    const cJSON *o = NULL;
    int64_t k = 0;

    (void)state;
    assert_int_equal(oidc_json_get_object(root, "o", &o), OIDC_OK);
    assert_non_null(o);
    assert_int_equal(oidc_json_get_int64(o, "k", &k), OIDC_OK);
    assert_int_equal(k, 1);
    assert_int_equal(oidc_json_get_object(root, "missing", &o), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_object(root, "z", &o), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_object(root, "a", &o), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_object(root, "s", &o), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_object(root, "i", &o), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_object(root, "t", &o), OIDC_ERR_PARSE);
    cJSON_Delete(root);
}

static void test_get_array(void **state)
{
    cJSON *root = getter_root();
    const cJSON *a = NULL;

    (void)state;
    assert_int_equal(oidc_json_get_array(root, "a", &a), OIDC_OK);
    assert_non_null(a);
    assert_int_equal(cJSON_GetArraySize(a), 2);
    assert_int_equal(oidc_json_get_array(root, "missing", &a), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_array(root, "z", &a), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_array(root, "o", &a), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_array(root, "s", &a), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_array(root, "i", &a), OIDC_ERR_PARSE);
    assert_int_equal(oidc_json_get_array(root, "f", &a), OIDC_ERR_PARSE);
    cJSON_Delete(root);
}

/* The getters look into objects only: an array's elements are not members. */
static void test_get_on_non_object(void **state)
{
    cJSON *root = getter_root();
    const cJSON *a = NULL;
    const char *s = NULL;

    (void)state;
    assert_int_equal(oidc_json_get_array(root, "a", &a), OIDC_OK);
    assert_int_equal(oidc_json_get_string(a, "0", &s), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_json_get_string(NULL, "s", &s), OIDC_ERR_NOTFOUND);
    cJSON_Delete(root);
}

/* ---- oidc_json_get_path ---- */

/* The empty member names make sure an empty path segment is refused, not looked up. */
static const char path_doc[] =
    "{\"a\":{\"b\":{\"c\":\"v\",\"n\":null,\"\":{\"c\":2}},\"\":{\"b\":3}},"
    "\"\":{\"a\":4},\"x\":1,\"s\":\"str\","
    "\"realm_access\":{\"roles\":[\"r1\",\"r2\"]},\"arr\":[{\"b\":1}]}";

static void test_get_path_found(void **state)
{
    cJSON *root = NULL;
    const cJSON *v;

    (void)state;
    assert_int_equal(parse_n(path_doc, strlen(path_doc), &root), OIDC_OK);
    v = oidc_json_get_path(root, "a.b.c");
    assert_non_null(v);
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, "v");
    v = oidc_json_get_path(root, "realm_access.roles");
    assert_non_null(v);
    assert_true(cJSON_IsArray(v));
    v = oidc_json_get_path(root, "a.b");
    assert_non_null(v);
    assert_true(cJSON_IsObject(v));
    v = oidc_json_get_path(root, "x");
    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    cJSON_Delete(root);
}

static void test_get_path_missing_step(void **state)
{
    cJSON *root = NULL;

    (void)state;
    assert_int_equal(parse_n(path_doc, strlen(path_doc), &root), OIDC_OK);
    assert_null(oidc_json_get_path(root, "a.b.zz"));
    assert_null(oidc_json_get_path(root, "a.zz.c"));
    assert_null(oidc_json_get_path(root, "zz.b.c"));
    assert_null(oidc_json_get_path(root, "zz"));
    assert_null(oidc_json_get_path(root, "A.b.c"));
    cJSON_Delete(root);
}

static void test_get_path_non_object_intermediate(void **state)
{
    cJSON *root = NULL;

    (void)state;
    assert_int_equal(parse_n(path_doc, strlen(path_doc), &root), OIDC_OK);
    assert_null(oidc_json_get_path(root, "x.y"));
    assert_null(oidc_json_get_path(root, "s.y"));
    assert_null(oidc_json_get_path(root, "a.b.c.d"));
    assert_null(oidc_json_get_path(root, "a.b.n.d"));
    assert_null(oidc_json_get_path(root, "arr.b"));
    assert_null(oidc_json_get_path(root, "realm_access.roles.r1"));
    cJSON_Delete(root);
}

static void test_get_path_empty(void **state)
{
    cJSON *root = NULL;

    (void)state;
    assert_int_equal(parse_n(path_doc, strlen(path_doc), &root), OIDC_OK);
    assert_null(oidc_json_get_path(root, ""));
    assert_null(oidc_json_get_path(root, NULL));
    assert_null(oidc_json_get_path(NULL, "a"));
    cJSON_Delete(root);
}

static void test_get_path_empty_segment(void **state)
{
    cJSON *root = NULL;

    (void)state;
    assert_int_equal(parse_n(path_doc, strlen(path_doc), &root), OIDC_OK);
    assert_null(oidc_json_get_path(root, "a..b"));
    assert_null(oidc_json_get_path(root, "a.b..c"));
    assert_null(oidc_json_get_path(root, ".a"));
    assert_null(oidc_json_get_path(root, "a."));
    assert_null(oidc_json_get_path(root, "."));
    cJSON_Delete(root);
}

/* ---- oidc_json_string_or_array_has ---- */

static const char has_doc[] =
    "{\"s\":\"admin\",\"arr\":[\"users\",\"admin\"],\"none\":[\"users\"],"
    "\"empty\":[],\"mixed\":[1,null,true,{\"admin\":\"admin\"},[\"admin\"]],"
    "\"mixed_hit\":[1,{\"x\":2},\"admin\"],\"n\":1,\"b\":true,\"z\":null,"
    "\"o\":{\"admin\":\"admin\"}}";

static void test_has_string(void **state)
{
    cJSON *root = NULL;
    const cJSON *v;

    (void)state;
    assert_int_equal(parse_n(has_doc, strlen(has_doc), &root), OIDC_OK);
    v = oidc_json_get_path(root, "s");
    assert_int_equal(oidc_json_string_or_array_has(v, "admin"), 1);
    assert_int_equal(oidc_json_string_or_array_has(v, "adm"), 0);
    assert_int_equal(oidc_json_string_or_array_has(v, "admin2"), 0);
    assert_int_equal(oidc_json_string_or_array_has(v, "Admin"), 0);
    assert_int_equal(oidc_json_string_or_array_has(v, ""), 0);
    cJSON_Delete(root);
}

static void test_has_array(void **state)
{
    cJSON *root = NULL;

    (void)state;
    assert_int_equal(parse_n(has_doc, strlen(has_doc), &root), OIDC_OK);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "arr"), "admin"), 1);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "arr"), "users"), 1);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "arr"), "adm"), 0);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "none"), "admin"), 0);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "empty"), "admin"), 0);
    cJSON_Delete(root);
}

static void test_has_array_with_non_strings(void **state)
{
    cJSON *root = NULL;

    (void)state;
    assert_int_equal(parse_n(has_doc, strlen(has_doc), &root), OIDC_OK);
    /* Nested arrays and objects holding the string do not count. */
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "mixed"), "admin"), 0);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "mixed"), "1"), 0);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "mixed"), "true"), 0);
    /* A string element after non-strings is still found. */
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "mixed_hit"), "admin"),
                     1);
    cJSON_Delete(root);
}

static void test_has_other_types(void **state)
{
    cJSON *root = NULL;

    (void)state;
    assert_int_equal(parse_n(has_doc, strlen(has_doc), &root), OIDC_OK);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "n"), "1"), 0);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "b"), "true"), 0);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "z"), "null"), 0);
    assert_int_equal(oidc_json_string_or_array_has(oidc_json_get_path(root, "o"), "admin"), 0);
    assert_int_equal(oidc_json_string_or_array_has(NULL, "admin"), 0);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_object),
        cmocka_unit_test(test_parse_root_not_object),
        cmocka_unit_test(test_parse_invalid_json),
        cmocka_unit_test(test_parse_trailing_garbage_rejected),
        cmocka_unit_test(test_parse_trailing_whitespace_accepted),
        cmocka_unit_test(test_parse_nul_byte_rejected),
        cmocka_unit_test(test_parse_escaped_nul_in_value_rejected),
        cmocka_unit_test(test_parse_escaped_nul_in_name_rejected),
        cmocka_unit_test(test_parse_escaped_backslash_then_u0000_accepted),
        cmocka_unit_test(test_parse_depth_max_objects_accepted),
        cmocka_unit_test(test_parse_depth_max_objects_with_scalar_leaf_accepted),
        cmocka_unit_test(test_parse_depth_over_max_objects_rejected),
        cmocka_unit_test(test_parse_depth_arrays),
        cmocka_unit_test(test_parse_depth_brackets_in_strings_ignored),
        cmocka_unit_test(test_parse_duplicate_top_level),
        cmocka_unit_test(test_parse_duplicate_nested),
        cmocka_unit_test(test_parse_duplicate_small_object),
        cmocka_unit_test(test_parse_duplicate_large_object),
        cmocka_unit_test(test_parse_size_over_max_rejected),
        cmocka_unit_test(test_parse_not_nul_terminated),
        cmocka_unit_test(test_get_string),
        cmocka_unit_test(test_get_bool),
        cmocka_unit_test(test_get_int64),
        cmocka_unit_test(test_get_int64_range),
        cmocka_unit_test(test_get_object),
        cmocka_unit_test(test_get_array),
        cmocka_unit_test(test_get_on_non_object),
        cmocka_unit_test(test_get_path_found),
        cmocka_unit_test(test_get_path_missing_step),
        cmocka_unit_test(test_get_path_non_object_intermediate),
        cmocka_unit_test(test_get_path_empty),
        cmocka_unit_test(test_get_path_empty_segment),
        cmocka_unit_test(test_has_string),
        cmocka_unit_test(test_has_array),
        cmocka_unit_test(test_has_array_with_non_strings),
        cmocka_unit_test(test_has_other_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
