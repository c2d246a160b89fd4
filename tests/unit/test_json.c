/* Bounded JSON: the rules of oidc_json_parse_object's strict single-pass parser (size, depth,
 * duplicates, NULs, RFC 8259 grammar, UTF-8), and the typed getters. */
#include "config.h"

#include <locale.h>
#include <math.h>
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

/* ---- strict grammar (RFC 8259): what cJSON's own parser let through ---- */

static void assert_all_refused(const char *const *docs, size_t n, int code, const char *needle)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int r = parse_n(docs[i], strlen(docs[i]), NULL);
        if (r != code)
            fail_msg("document #%zu (%s) gave %d, want %d", i, docs[i], r, code);
        if (needle != NULL)
            assert_msg_has(needle);
    }
}

static void test_strict_leading_zero_rejected(void **state)
{
    static const char *bad[] = {"{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":[1,002]}",
                                "{\"a\":00.5}"};
    static const char *good[] = {"{\"a\":0}",   "{\"a\":-0}", "{\"a\":0.5}",
                                 "{\"a\":0e1}", "{\"a\":10}", "{\"a\":-0.0}"};
    size_t i;

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, "leading zero");
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(parse(good[i]), OIDC_OK);
}

static void test_strict_number_grammar(void **state)
{
    static const char *bad[] = {
        "{\"a\":1.}",   "{\"a\":.5}",       "{\"a\":+1}",        "{\"a\":1e}",    "{\"a\":1e+}",
        "{\"a\":-}",    "{\"a\":--1}",      "{\"a\":0x10}",      "{\"a\":1.e5}",  "{\"a\":NaN}",
        "{\"a\":-NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":1_000}", "{\"a\":1 2}",
        "{\"a\":- 1}",  "{\"a\":1.5.2}",    "{\"a\":1e5e5}"};
    static const char *good[] = {"{\"a\":1e5}", "{\"a\":1E+5}", "{\"a\":1.5e-3}", "{\"a\":-12.25}",
                                 "{\"a\":123456789}"};
    size_t i;

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, NULL);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(parse(good[i]), OIDC_OK);
}

static void test_number_values_exact(void **state)
{
    static const char doc[] =
        "{\"fast\":123456789012345,\"slow\":1234567890123456,\"neg\":-42,\"nz\":-0,"
        "\"frac\":2.5,\"exp\":25e-1,\"big\":9007199254740993,\"tiny\":1e-400}";
    cJSON *root = NULL;
    const cJSON *v;

    (void)state;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "fast")->valuedouble == 123456789012345.0);
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "slow")->valuedouble == 1234567890123456.0);
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "neg")->valuedouble == -42.0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "neg")->valueint, -42);
    v = cJSON_GetObjectItemCaseSensitive(root, "nz");
    assert_true(v->valuedouble == 0.0 && signbit(v->valuedouble));
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "frac")->valuedouble == 2.5);
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "exp")->valuedouble == 2.5);
    /* 2^53 + 1 rounds to 2^53 as a double, as strtod does. */
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "big")->valuedouble == 9007199254740992.0);
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "tiny")->valuedouble == 0.0);
    cJSON_Delete(root);
}

/* Numbers are read in the C locale even when the program has set one with a decimal comma. */
static void test_number_ignores_locale(void **state)
{
    static const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"};
    static const char doc[] = "{\"x\":1.5,\"y\":2.25e1}";
    cJSON *root = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++)
        if (setlocale(LC_NUMERIC, locales[i]) != NULL)
            break;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    setlocale(LC_NUMERIC, "C");
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "x")->valuedouble == 1.5);
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "y")->valuedouble == 22.5);
    cJSON_Delete(root);
}

static void test_number_too_long_rejected(void **state)
{
    char doc[OIDC_JSON_MAX_NUMBER + 32];
    int n;

    (void)state;
    /* Exactly OIDC_JSON_MAX_NUMBER characters: 1.000...0 */
    n = snprintf(doc, sizeof(doc), "{\"a\":1.%0*d}", OIDC_JSON_MAX_NUMBER - 2, 0);
    assert_true(n > 0);
    assert_int_equal(parse(doc), OIDC_OK);
    /* One more. */
    n = snprintf(doc, sizeof(doc), "{\"a\":1.%0*d}", OIDC_JSON_MAX_NUMBER - 1, 0);
    assert_true(n > 0);
    assert_int_equal(parse(doc), OIDC_ERR_TOOBIG);
    assert_msg_has("longer than");
    /* Integer digits count too, on the strtod path. */
    n = snprintf(doc, sizeof(doc), "{\"a\":-1%0*d}", OIDC_JSON_MAX_NUMBER - 1, 0);
    assert_true(n > 0);
    assert_int_equal(parse(doc), OIDC_ERR_TOOBIG);
}

static void test_literals_strict(void **state)
{
    static const char *bad[] = {"{\"a\":tru}",      "{\"a\":True}",  "{\"a\":nul}",
                                "{\"a\":nulll}",    "{\"a\":FALSE}", "{\"a\":t}",
                                "{\"a\":undefined}"};
    static const char ok[] = "{\"t\":true,\"f\":false,\"n\":null}";
    cJSON *root = NULL;

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, NULL);
    assert_int_equal(parse_n(ok, strlen(ok), &root), OIDC_OK);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "t")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "f")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "n")));
    cJSON_Delete(root);
}

static void test_strict_whitespace(void **state)
{
    static const char *bad[] = {"\f{}",           "{}\v",          "{\x01}", "{\"a\":\x7f 1}",
                                "\xef\xbb\xbf{}", "{\"a\"\x0b:1}", "{}\x1f"};

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, NULL);
    assert_int_equal(parse(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n1 \t\r\n} \t\r\n"), OIDC_OK);
}

static void test_bad_escapes_rejected(void **state)
{
    static const char *bad[] = {
        "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12G4\"}",   "{\"a\":\"\\U0041\"}",
        "{\"a\":\"\\'\"}",   "{\"a\":\"\\a\"}",   "{\"a\":\"\\0\"}",       "{\"a\":\"\\u\"}",
        "{\"a\":\"x\\\"}",   "{\"\\q\":1}",       "{\"a\":\"\\\xc3\xa9\"}"};

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, NULL);
}

static void test_escapes_decoded(void **state)
{
    static const char doc[] = "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"e\":\"\\u00e9\\u20AC\","
                              "\"p\":\"\\uD83D\\uDE00\",\"c\":\"\\u0001\",\"k\\u0041\":1}";
    cJSON *root = NULL;
    const char *s = NULL;

    (void)state;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    assert_int_equal(oidc_json_get_string(root, "a", &s), OIDC_OK);
    assert_string_equal(s, "\"\\/\b\f\n\r\t");
    assert_int_equal(oidc_json_get_string(root, "e", &s), OIDC_OK);
    assert_string_equal(s, "\xc3\xa9\xe2\x82\xac");
    assert_int_equal(oidc_json_get_string(root, "p", &s), OIDC_OK);
    assert_string_equal(s, "\xf0\x9f\x98\x80");
    assert_int_equal(oidc_json_get_string(root, "c", &s), OIDC_OK);
    assert_string_equal(s, "\x01");
    assert_non_null(oidc_json_get_path(root, "kA"));
    cJSON_Delete(root);
}

static void test_unpaired_surrogates_rejected(void **state)
{
    static const char *bad[] = {"{\"a\":\"\\uD83D\"}",        "{\"a\":\"\\uD83Dx\"}",
                                "{\"a\":\"\\uD83D\\u0041\"}", "{\"a\":\"\\uDE00\"}",
                                "{\"a\":\"\\uDE00\\uD83D\"}", "{\"a\":\"\\uD83D\\uD83D\"}",
                                "{\"a\":\"\\uD83D\\n\"}",     "{\"\\udbff\":1}",
                                "{\"a\":\"\\uD83D\\uDE0\"}"};

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, NULL);
    assert_int_equal(parse("{\"a\":\"\\uDBFF\\uDFFF\"}"), OIDC_OK);
}

static void test_control_character_in_string_rejected(void **state)
{
    static const char *bad[] = {"{\"a\":\"x\x01y\"}", "{\"a\":\"line\nbreak\"}", "{\"a\":\"\t\"}",
                                "{\"a\x1f\":1}", "{\"a\":\"\\n\x02\"}"};

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, "control character");
    assert_int_equal(parse("{\"a\":\"line\\nbreak\\t\"}"), OIDC_OK);
}

static void test_invalid_utf8_rejected(void **state)
{
    static const char *bad[] = {
        "{\"a\":\"\xc0\xaf\"}",         /* overlong '/' */
        "{\"a\":\"\xc1\xbf\"}",         /* overlong */
        "{\"a\":\"\xe0\x80\xaf\"}",     /* overlong, 3 bytes */
        "{\"a\":\"\xf0\x80\x80\xaf\"}", /* overlong, 4 bytes */
        "{\"a\":\"\xed\xa0\x80\"}",     /* encoded surrogate U+D800 */
        "{\"a\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
        "{\"a\":\"\xf5\x80\x80\x80\"}", /* no such lead byte */
        "{\"a\":\"\xff\"}",
        "{\"a\":\"\x80\"}",     /* lone continuation */
        "{\"a\":\"\xe2\x82\"}", /* truncated before the quote */
        "{\"a\":\"\xc3\"}",     /* lead byte then the quote */
        "{\"a\":\"\xc3\x28\"}", /* bad continuation */
        "{\"\xe9t\xe9\":1}",    /* Latin-1 in a name */
    };
    cJSON *root = NULL;
    const char *s = NULL;
    static const char good[] = "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\","
                               "\"\xc3\xa9t\xc3\xa9\":1}";

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, "UTF-8");
    assert_int_equal(parse_n(good, strlen(good), &root), OIDC_OK);
    assert_int_equal(oidc_json_get_string(root, "a", &s), OIDC_OK);
    assert_string_equal(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    cJSON_Delete(root);
}

/* Cut-off input must fail without reading past len (valgrind sees the heap copy's end). */
static void test_truncated_input_rejected(void **state)
{
    static const char doc[] = "{\"s\":\"a\\u00e9\\\\\",\"n\":-12.5e+3,\"t\":true,\"l\":[null,{}]}";
    size_t len;

    (void)state;
    for (len = 0; len < sizeof(doc) - 1; len++) {
        int r = parse_n(doc, len, NULL);
        if (r != OIDC_ERR_PARSE)
            fail_msg("prefix of %zu bytes gave %d", len, r);
    }
    assert_int_equal(parse_n(doc, sizeof(doc) - 1, NULL), OIDC_OK);
}

static void test_syntax_errors_rejected(void **state)
{
    static const char *bad[] = {"{\"a\":1,,\"b\":2}", "{,}",
                                "{\"a\":1 \"b\":2}",  "{\"a\"}",
                                "{\"a\"::1}",         "{1:2}",
                                "{\"a\":[1,]}",       "{\"a\":[,1]}",
                                "{\"a\":[1 2]}",      "{\"a\":]}",
                                "{\"a\":}",           "{\"a\":[}",
                                "{\"a\":1]",          "{\"a\":{\"b\":1}"};

    (void)state;
    assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]), OIDC_ERR_PARSE, "not valid JSON");
}

/* The tree is a normal cJSON tree: cJSON's own functions can walk, extend, copy, edit and print
 * it, including members whose names the parser takes from its table of common names ("iss",
 * "sub", "x": flagged cJSON_StringIsConst). valgrind checks that nothing is freed twice or leaked.
 */
static void test_tree_is_plain_cjson(void **state)
{
    static const char doc[] = "{\"a\":[1,\"two\",{\"x\":null}],\"o\":{\"k\":\"v\",\"m\":false},"
                              "\"iss\":\"i\",\"sub\":\"s\",\"aud\":\"a\"}";
    cJSON *root = NULL, *copy;
    cJSON *arr;
    char *text;

    (void)state;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    arr = cJSON_GetObjectItemCaseSensitive(root, "a");
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    assert_true(arr->child->prev == cJSON_GetArrayItem(arr, 2));
    assert_true(root->child->prev == cJSON_GetObjectItemCaseSensitive(root, "aud"));
    assert_non_null(cJSON_AddNumberToObject(root, "z", 9));
    assert_true(cJSON_AddItemToArray(arr, cJSON_CreateString("four")));
    assert_int_equal(cJSON_GetArraySize(arr), 4);
    cJSON_DeleteItemFromArray(arr, 0);
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(root, "sub", cJSON_CreateString("s2")));
    cJSON_DeleteItemFromObjectCaseSensitive(root, "aud");
    copy = cJSON_Duplicate(root, 1);
    assert_non_null(copy);
    cJSON_Delete(root);
    text = cJSON_PrintUnformatted(copy);
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"a\":[\"two\",{\"x\":null},\"four\"],\"o\":{\"k\":\"v\",\"m\":false},"
                        "\"iss\":\"i\",\"sub\":\"s2\",\"z\":9}");
    cJSON_free(text);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(copy, "iss")));
    cJSON_Delete(copy);
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

/* Member names may contain dots: nested objects come first, dotted names when no nesting fits. */
static void test_get_path_dotted_member_names(void **state)
{
    static const char doc[] = "{\"kubernetes.io\":{\"serviceaccount\":{\"name\":\"b\"}},"
                              "\"kubernetes\":{\"io\":{\"x\":1}},\"a.b\":{\"c\":2},"
                              "\"a\":{\"b\":{\"d\":3}},\"r.s\":\"top\",\"r\":{\"s\":\"nested\"}}";
    cJSON *root = NULL;
    const cJSON *v;
    char deep[64];
    size_t i;

    (void)state;
    assert_int_equal(parse_n(doc, strlen(doc), &root), OIDC_OK);
    /* no "kubernetes" member leads there: "kubernetes.io" does */
    v = oidc_json_get_path(root, "kubernetes.io.serviceaccount.name");
    assert_non_null(v);
    assert_string_equal(v->valuestring, "b");
    /* nesting first: "kubernetes" -> "io" -> "x" */
    v = oidc_json_get_path(root, "kubernetes.io.x");
    assert_non_null(v);
    assert_int_equal((int)v->valuedouble, 1);
    /* "a" -> "b" has no "c": the walk backs up and finds "a.b" -> "c" */
    v = oidc_json_get_path(root, "a.b.c");
    assert_non_null(v);
    assert_int_equal((int)v->valuedouble, 2);
    v = oidc_json_get_path(root, "a.b.d");
    assert_non_null(v);
    assert_int_equal((int)v->valuedouble, 3);
    /* a top-level claim named like a path does not shadow the nested one */
    v = oidc_json_get_path(root, "r.s");
    assert_non_null(v);
    assert_string_equal(v->valuestring, "nested");
    assert_null(oidc_json_get_path(root, "kubernetes.io."));
    /* over 16 dots: refused, whatever the document */
    for (i = 0; i < 17; i++)
        memcpy(deep + 2 * i, "a.", 2);
    memcpy(deep + 34, "b", 2);
    assert_null(oidc_json_get_path(root, deep));
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
        cmocka_unit_test(test_strict_leading_zero_rejected),
        cmocka_unit_test(test_strict_number_grammar),
        cmocka_unit_test(test_number_values_exact),
        cmocka_unit_test(test_number_ignores_locale),
        cmocka_unit_test(test_number_too_long_rejected),
        cmocka_unit_test(test_literals_strict),
        cmocka_unit_test(test_strict_whitespace),
        cmocka_unit_test(test_bad_escapes_rejected),
        cmocka_unit_test(test_escapes_decoded),
        cmocka_unit_test(test_unpaired_surrogates_rejected),
        cmocka_unit_test(test_control_character_in_string_rejected),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_truncated_input_rejected),
        cmocka_unit_test(test_syntax_errors_rejected),
        cmocka_unit_test(test_tree_is_plain_cjson),
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
        cmocka_unit_test(test_get_path_dotted_member_names),
        cmocka_unit_test(test_has_string),
        cmocka_unit_test(test_has_array),
        cmocka_unit_test(test_has_array_with_non_strings),
        cmocka_unit_test(test_has_other_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
