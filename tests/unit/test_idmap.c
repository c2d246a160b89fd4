/* Identity mapping and the frozen UID/GID hash. The numbers below are the published test vectors
 * of docs/idmap.md, computed independently (python3 one-liner in that document); a failure here
 * means the on-disk contract changed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idhash.h"
#include "idmap.h"
#include "json.h"

#define DEF_MIN OIDC_UID_MIN_DEFAULT
#define DEF_MAX OIDC_UID_MAX_DEFAULT
#define NAME32  "abcdefghijklmnopqrstuvwxyz012345"
#define ISS     "https://idp.example.test"

/* Fixture files in a mkdtemp() directory, shared by all tests. */
static char dir[64], passwd_path[96], group_path[96], missing_path[96];
static struct oidc_idmap_env env;
/* The provider under test: zeroed before each test, fields set by hand (no config parser). */
static struct oidc_provider_cfg P;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    char longline[8300];
    char *passwd;
    size_t n, at;

    (void)state;
    strcpy(dir, "/tmp/test_idmap.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
    snprintf(group_path, sizeof(group_path), "%s/group", dir);
    snprintf(missing_path, sizeof(missing_path), "%s/absent", dir);
    /* An over-long line with "alice:" where a continuation would start for a reader with a
     * 1024- or 4096-byte buffer (localdb reads 4095 bytes per fgets), at bytes 1023, 4095 and
     * 8190: the reader must not take any of them for alice's entry. */
    n = (size_t)snprintf(longline, sizeof(longline), "filler:x:1:1:");
    memset(longline + n, 'x', sizeof(longline) - n);
    for (at = 1023; at <= 8190; at = at == 1023 ? 4095 : at + 4095)
        memcpy(longline + at, "alice:x:2:2:", 12);
    snprintf(longline + 8190 + 12, sizeof(longline) - 8190 - 12, ":/:/bin/sh\n");
    passwd = malloc(16384);
    if (passwd == NULL)
        return -1;
    snprintf(passwd, 16384,
             "root:x:0:0:root:/root:/bin/bash\n"
             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
             "%s"
             "carol:x:1001:1001::/home/carol:/bin/bash\n",
             longline);
    write_file(passwd_path, passwd);
    free(passwd);
    write_file(group_path, "root:x:0:\n"
                           "staff:x:50:\n"
                           "wheel:x:10:carol\n"
                           "docker:x:999:\n");
    env.passwd_path = passwd_path;
    env.group_path = group_path;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(passwd_path);
    unlink(group_path);
    rmdir(dir);
    return 0;
}

static char *S(const char *s)
{
    char *d = strdup(s);

    assert_non_null(d);
    return d;
}

static void list_set(struct oidc_strlist *l, const char *a, const char *b)
{
    l->v = calloc(3, sizeof(char *));
    assert_non_null(l->v);
    l->n = 0;
    if (a != NULL)
        l->v[l->n++] = S(a);
    if (b != NULL)
        l->v[l->n++] = S(b);
}

static void list_clear(struct oidc_strlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int cfg_setup(void **state)
{
    (void)state;
    memset(&P, 0, sizeof(P));
    P.require_email_verified = 1; /* the configuration's default */
    return 0;
}

static int cfg_teardown(void **state)
{
    (void)state;
    list_clear(&P.username_claims);
    list_clear(&P.group_allow);
    free(P.username_template);
    free(P.groups_claim);
    free(P.group_prefix);
    free(P.uid_claim);
    free(P.home);
    free(P.shell);
    memset(&P, 0, sizeof(P));
    return 0;
}

/* Maps claims given as JSON text with the provider P and the fixture files. */
static int map(const char *json, struct oidc_identity **id, struct oidc_err *err)
{
    cJSON *claims = NULL;
    int r;

    memset(err, 0, sizeof(*err));
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &claims, err), OIDC_OK);
    r = oidc_idmap_map(&P, &env, claims, id, err);
    cJSON_Delete(claims);
    return r;
}

/* Maps and expects success. */
static struct oidc_identity *map_ok(const char *json)
{
    struct oidc_identity *id = NULL;
    struct oidc_err err;
    int r = map(json, &id, &err);

    if (r != OIDC_OK)
        fail_msg("mapping failed (%d): %s", r, oidc_err_msg(&err));
    assert_non_null(id);
    return id;
}

/* Maps, expects the code, and checks that the message contains want and *out stayed untouched. */
static void map_fails(const char *json, int code, const char *want)
{
    struct oidc_identity *id = (struct oidc_identity *)&P; /* sentinel: must stay as is */
    struct oidc_err err;
    int r = map(json, &id, &err);

    if (r != code)
        fail_msg("expected %d, got %d: %s", code, r, oidc_err_msg(&err));
    assert_ptr_equal(id, (struct oidc_identity *)&P);
    if (strstr(oidc_err_msg(&err), want) == NULL)
        fail_msg("message '%s' lacks '%s'", oidc_err_msg(&err), want);
}

static int has_group(const struct oidc_identity *id, const char *name, uint32_t gid)
{
    size_t i;

    for (i = 0; i < id->n_groups; i++)
        if (strcmp(id->groups[i].name, name) == 0)
            return id->groups[i].gid == gid;
    return 0;
}

/* ---- the frozen hash ---- */

static void test_fnv1a64_reference_vectors(void **state)
{
    (void)state;
    /* The published FNV-1a 64-bit vectors (Fowler/Noll/Vo test suite). */
    assert_true(oidc_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
    assert_true(oidc_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(oidc_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
    assert_true(oidc_fnv1a64(NULL, 0) == 0xcbf29ce484222325ULL);
    /* The hashed byte string for uid "alice" (domain, ':', key). */
    assert_true(oidc_fnv1a64("nss-pam-oidc:v1:uid:alice", 25) == 0x50c813336284e527ULL);
}

static void test_idhash_uid_vectors_default_range(void **state)
{
    (void)state;
    assert_int_equal(oidc_idhash_uid("alice", 5, DEF_MIN, DEF_MAX), 2131105965u);
    assert_int_equal(oidc_idhash_uid("bob", 3, DEF_MIN, DEF_MAX), 2101486350u);
    assert_int_equal(oidc_idhash_uid("ci-org", 6, DEF_MIN, DEF_MAX), 2015927503u);
    assert_int_equal(oidc_idhash_uid("a", 1, DEF_MIN, DEF_MAX), 2111599130u);
    assert_int_equal(oidc_idhash_uid(NAME32, 32, DEF_MIN, DEF_MAX), 2091303999u);
    assert_int_equal(oidc_idhash_uid("dave.mixed", 10, DEF_MIN, DEF_MAX), 2101429092u);
    /* the key is the bytes given, not up to a NUL */
    assert_int_equal(oidc_idhash_uid("alicex", 5, DEF_MIN, DEF_MAX), 2131105965u);
}

static void test_idhash_gid_vectors_default_range(void **state)
{
    (void)state;
    assert_int_equal(oidc_idhash_gid("admins", 6, DEF_MIN, DEF_MAX), 1926073551u);
    assert_int_equal(oidc_idhash_gid("devs", 4, DEF_MIN, DEF_MAX), 2052918232u);
    assert_int_equal(oidc_idhash_gid("oidc-admins", 11, DEF_MIN, DEF_MAX), 2102512133u);
    assert_int_equal(oidc_idhash_gid("oidc-devs", 9, DEF_MIN, DEF_MAX), 1912454841u);
    /* uid and gid domains differ */
    assert_int_not_equal(oidc_idhash_gid("alice", 5, DEF_MIN, DEF_MAX), 2131105965u);
}

static void test_idhash_custom_ranges(void **state)
{
    (void)state;
    assert_int_equal(oidc_idhash_uid("alice", 5, 10000, 10099), 10003u);
    assert_int_equal(oidc_idhash_uid("bob", 3, 10000, 10099), 10048u);
    assert_int_equal(oidc_idhash_gid("admins", 6, 10000, 10099), 10019u);
    assert_int_equal(oidc_idhash_uid("alice", 5, 5000, 5000), 5000u);
    /* the whole 32-bit range: the divisor is 2^32 and must not overflow */
    assert_int_equal(oidc_idhash_uid("alice", 5, 0, UINT32_MAX), 0x6284e527u);
    /* min > max is a caller bug: the result is min, never a division by zero */
    assert_int_equal(oidc_idhash_uid("alice", 5, 7, 6), 7u);
}

static void test_name_valid_table(void **state)
{
    static const char *const valid[] = {"a",       "_",  "alice", "ci-org", "dave.mixed",
                                        "a_b-c.d", "x9", "a-",    NAME32};
    static const char *const invalid[] = {"",         "Alice", "aLice", "9lives", "-dash",
                                          NAME32 "6", "a@b",   "a b",   "a/b",    ".",
                                          "..",       ".a",    "1234",  "a:b",    "é"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        if (!oidc_name_valid(valid[i]))
            fail_msg("'%s' should be valid", valid[i]);
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        if (oidc_name_valid(invalid[i]))
            fail_msg("'%s' should be invalid", invalid[i]);
    assert_false(oidc_name_valid(NULL));
}

/* ---- login name ---- */

static void test_map_default_claim_is_preferred_username(void **state)
{
    struct oidc_identity *id;

    (void)state;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"email\":\"bob@example.test\"}");
    assert_string_equal(id->name, "alice");
    assert_int_equal(id->uid, 2131105965u);
    assert_int_equal(id->gid, id->uid);
    assert_string_equal(id->issuer, ISS);
    assert_string_equal(id->subject, "1");
    oidc_identity_free(id);
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\"}", OIDC_ERR_MAPPING,
              "none of the claims preferred_username as a non-empty string");
}

static void test_map_claim_order_fallback(void **state)
{
    struct oidc_identity *id;

    (void)state;
    list_set(&P.username_claims, "preferred_username", "email");
    /* first claim wins when usable */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"email\":\"bob\",\"email_verified\":true}");
    assert_string_equal(id->name, "alice");
    oidc_identity_free(id);
    /* absent, empty, null or non-string: the next claim is used */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\",\"email_verified\":true}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"\","
                "\"email\":\"bob\",\"email_verified\":true}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":null,"
                "\"email\":\"bob\",\"email_verified\":true}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":42,"
                "\"email\":\"bob\",\"email_verified\":true}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    /* a present but invalid first claim is not skipped: it is refused */
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"Bad Name\","
              "\"email\":\"bob\",\"email_verified\":true}",
              OIDC_ERR_MAPPING, "from claim preferred_username is not a valid POSIX name");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\"}", OIDC_ERR_MAPPING,
              "no usable username: the token has none of the claims preferred_username, email "
              "as a non-empty string");
}

/* require_email_verified (default yes): the email claim names a user only when the token says the
 * address is verified. Many IdPs let users type any address into their profile; without this check
 * "bob@corp.example" typed by someone else would become the local user bob. */
static void test_map_unverified_email_skipped_to_next_claim(void **state)
{
    struct oidc_identity *id;

    (void)state;
    list_set(&P.username_claims, "email", "preferred_username");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"mallory\","
                "\"email_verified\":false,\"preferred_username\":\"alice\"}");
    assert_string_equal(id->name, "alice");
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"mallory\","
                "\"preferred_username\":\"alice\"}");
    assert_string_equal(id->name, "alice");
    oidc_identity_free(id);
    /* verified: email is used, first in the list */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\","
                "\"email_verified\":true,\"preferred_username\":\"alice\"}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    /* none left: refused, naming why email did not count and what else was tried */
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\",\"email_verified\":false}",
              OIDC_ERR_MAPPING,
              "no usable username: claim email is not verified (email_verified is false, not "
              "true) and the token has none of the claims preferred_username as a non-empty "
              "string");
}

static void test_map_unverified_email_refused(void **state)
{
    (void)state;
    list_set(&P.username_claims, "email", NULL);
    P.strip_domain = 1;
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\"}",
              OIDC_ERR_MAPPING,
              "no usable username: claim email is not verified (email_verified is missing, not "
              "true; see require_email_verified)");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\","
              "\"email_verified\":null}",
              OIDC_ERR_MAPPING, "(email_verified is missing, not true;");
    /* only JSON true or exactly the string "true" count */
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\","
              "\"email_verified\":\"false\"}",
              OIDC_ERR_MAPPING, "(email_verified is the string 'false', not true;");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\","
              "\"email_verified\":\"True\"}",
              OIDC_ERR_MAPPING, "(email_verified is the string 'True', not true;");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\","
              "\"email_verified\":1}",
              OIDC_ERR_MAPPING, "(email_verified is not a boolean, not true;");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\","
              "\"email_verified\":\"yes\"}",
              OIDC_ERR_MAPPING, "(email_verified is the string 'yes', not true;");
}

static void test_map_verified_email_string_true_accepted(void **state)
{
    struct oidc_identity *id;

    (void)state;
    list_set(&P.username_claims, "email", NULL);
    P.strip_domain = 1;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\","
                "\"email_verified\":true}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob@corp.example\","
                "\"email_verified\":\"true\"}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
}

static void test_map_template_unverified_email_refused(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.username_template = S("x-{email}");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\"}", OIDC_ERR_MAPPING,
              "template 'x-{email}' uses claim email, which is not verified (email_verified is "
              "missing, not true; see require_email_verified)");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\",\"email_verified\":true}");
    assert_string_equal(id->name, "x-bob");
    oidc_identity_free(id);
    /* a literal "{{email}}" is not a placeholder */
    free(P.username_template);
    P.username_template = S("x{{email}}");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\"}", OIDC_ERR_MAPPING,
              "is not a valid POSIX name");
}

/* require_email_verified = no: the admin knowingly trusts the IdP's email claim as it is. */
static void test_map_email_verified_not_required_when_off(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.require_email_verified = 0;
    list_set(&P.username_claims, "email", NULL);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\"}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\",\"email_verified\":false}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
    P.username_template = S("{email}");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"email\":\"bob\"}");
    assert_string_equal(id->name, "bob");
    oidc_identity_free(id);
}

static void test_map_strip_domain_and_lowercase(void **state)
{
    const char *claims = "{\"iss\":\"" ISS "\",\"sub\":\"1\","
                         "\"preferred_username\":\"Dave.Mixed@Example.Test\"}";
    struct oidc_identity *id;

    (void)state;
    map_fails(claims, OIDC_ERR_MAPPING,
              "username 'Dave.Mixed@Example.Test' from claim preferred_username is not a valid "
              "POSIX name (allowed: [a-z_][a-z0-9_.-]*, at most 32 bytes); set lowercase = yes "
              "and/or strip_domain = yes");
    P.lowercase = 1;
    map_fails(claims, OIDC_ERR_MAPPING,
              "username 'dave.mixed@example.test' from claim preferred_username is not a valid "
              "POSIX name (allowed: [a-z_][a-z0-9_.-]*, at most 32 bytes); set strip_domain = yes");
    P.strip_domain = 1;
    id = map_ok(claims);
    assert_string_equal(id->name, "dave.mixed");
    assert_int_equal(id->uid, 2101429092u);
    oidc_identity_free(id);
    P.lowercase = 0;
    map_fails(claims, OIDC_ERR_MAPPING,
              "username 'Dave.Mixed' from claim preferred_username is not a valid POSIX name "
              "(allowed: [a-z_][a-z0-9_.-]*, at most 32 bytes); set lowercase = yes");
    /* strip_domain cuts at the last '@' only */
    P.lowercase = 1;
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"a@b@example.test\"}",
              OIDC_ERR_MAPPING, "username 'a@b' from claim");
    /* no '@': nothing is stripped */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"ALICE\"}");
    assert_string_equal(id->name, "alice");
    oidc_identity_free(id);
}

static void test_map_name_too_long_names_length(void **state)
{
    struct oidc_identity *id;

    (void)state;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"" NAME32 "\"}");
    assert_string_equal(id->name, NAME32);
    assert_int_equal(id->uid, 2091303999u);
    oidc_identity_free(id);
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"" NAME32 "6\"}",
              OIDC_ERR_MAPPING,
              "username '" NAME32 "6' from claim preferred_username is 33 bytes long; POSIX "
              "names are at most 32 bytes");
}

static void test_map_echoed_value_is_capped_and_sanitised(void **state)
{
    char json[512], want[256], as[101];

    (void)state;
    /* 100 'A's, a newline, 'Z': the message echoes 64 bytes and "...", the length is exact */
    memset(as, 'A', 100);
    as[100] = '\0';
    snprintf(json, sizeof(json),
             "{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"%s\\nZ\"}", as);
    snprintf(want, sizeof(want),
             "username '%.64s...' from claim preferred_username is 102 bytes long; POSIX names "
             "are at most 32 bytes",
             as);
    map_fails(json, OIDC_ERR_MAPPING, want);
    /* control bytes are echoed as '?' */
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"a\\nb\"}",
              OIDC_ERR_MAPPING, "username 'a?b' from claim");
}

static void test_map_root_is_reserved(void **state)
{
    const char *json = "{\"iss\":\"x\",\"sub\":\"1\",\"preferred_username\":\"root\"}";
    struct oidc_idmap_env empty = {missing_path, missing_path};
    struct oidc_identity *id = NULL;
    struct oidc_err err;
    cJSON *claims = NULL;

    (void)state;
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"root\"}",
              OIDC_ERR_MAPPING, "username 'root' is reserved");
    P.lowercase = 1;
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"ROOT\"}",
              OIDC_ERR_MAPPING, "username 'root' is reserved");
    /* reserved even when no passwd file is consulted (the check comes first) */
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &claims, &err), OIDC_OK);
    assert_int_equal(oidc_idmap_map(&P, &empty, claims, &id, &err), OIDC_ERR_MAPPING);
    assert_string_equal(err.msg, "username 'root' is reserved");
    assert_null(id);
    cJSON_Delete(claims);
}

static void test_map_local_passwd_name_refused(void **state)
{
    char want[160];

    (void)state;
    snprintf(want, sizeof(want), "username 'daemon' is a local account in %s", passwd_path);
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"daemon\"}",
              OIDC_ERR_MAPPING, want);
    /* the entry after an over-long line is still found */
    snprintf(want, sizeof(want), "username 'carol' is a local account in %s", passwd_path);
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"carol\"}",
              OIDC_ERR_MAPPING, want);
}

static void test_map_local_group_name_refused(void **state)
{
    char want[160];

    (void)state;
    snprintf(want, sizeof(want), "username 'staff' is a local group in %s", group_path);
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"staff\"}",
              OIDC_ERR_MAPPING, want);
}

static void test_map_long_line_continuation_is_not_a_name(void **state)
{
    struct oidc_identity *id;

    (void)state;
    /* "alice:" appears in passwd only as the tail of an over-long line */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}");
    assert_string_equal(id->name, "alice");
    oidc_identity_free(id);
}

static void test_map_unreadable_passwd_fails_closed(void **state)
{
    struct oidc_idmap_env saved = env;

    (void)state;
    env.passwd_path = missing_path;
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}", OIDC_ERR_IO,
              "cannot read");
    env = saved;
    env.group_path = missing_path;
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}", OIDC_ERR_IO,
              "cannot read");
    env = saved;
}

/* ---- templates ---- */

static void test_template_expands_strings_integers_and_braces(void **state)
{
    const char *json = "{\"repository_owner\":\"org\",\"run\":42,\"neg\":-7}";
    struct oidc_err err;
    cJSON *claims = NULL;
    char out[64];

    (void)state;
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &claims, &err), OIDC_OK);
    assert_int_equal(oidc_idmap_template("ci-{repository_owner}", claims, out, sizeof(out), &err),
                     OIDC_OK);
    assert_string_equal(out, "ci-org");
    assert_int_equal(oidc_idmap_template("r{run}/{neg}", claims, out, sizeof(out), &err), OIDC_OK);
    assert_string_equal(out, "r42/-7");
    assert_int_equal(oidc_idmap_template("{{x}} {{{run}}}", claims, out, sizeof(out), &err),
                     OIDC_OK);
    assert_string_equal(out, "{x} {42}");
    assert_int_equal(oidc_idmap_template("", claims, out, sizeof(out), &err), OIDC_OK);
    assert_string_equal(out, "");
    /* exactly fits: 6 bytes + NUL */
    assert_int_equal(oidc_idmap_template("ci-{repository_owner}", claims, out, 7, &err), OIDC_OK);
    assert_string_equal(out, "ci-org");
    cJSON_Delete(claims);
}

/* Kubernetes service-account tokens nest the account under a member named "kubernetes.io". */
static void test_template_paths_and_dotted_member_names(void **state)
{
    const char *json = "{\"kubernetes.io\":{\"namespace\":\"ci\",\"serviceaccount\":"
                       "{\"name\":\"builder\",\"uid\":7}},\"o\":{\"x\":\"y\"}}";
    struct oidc_err err;
    cJSON *claims = NULL;
    char out[64];

    (void)state;
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &claims, &err), OIDC_OK);
    assert_int_equal(oidc_idmap_template("k8s-{kubernetes.io.namespace}-"
                                         "{kubernetes.io.serviceaccount.name}",
                                         claims, out, sizeof(out), &err),
                     OIDC_OK);
    assert_string_equal(out, "k8s-ci-builder");
    assert_int_equal(
        oidc_idmap_template("{kubernetes.io.serviceaccount.uid}", claims, out, sizeof(out), &err),
        OIDC_OK);
    assert_string_equal(out, "7");
    assert_int_equal(oidc_idmap_template("{o.x}", claims, out, sizeof(out), &err), OIDC_OK);
    assert_string_equal(out, "y");
    assert_int_equal(
        oidc_idmap_template("{kubernetes.io.serviceaccount}", claims, out, sizeof(out), &err),
        OIDC_ERR_MAPPING);
    cJSON_Delete(claims);
}

static void test_template_errors(void **state)
{
    const char *json = "{\"s\":\"v\",\"b\":true,\"f\":1.5,\"o\":{\"x\":\"y\"}}";
    struct oidc_err err;
    cJSON *claims = NULL;
    char out[8];

    (void)state;
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &claims, &err), OIDC_OK);
    assert_int_equal(oidc_idmap_template("u-{missing}", claims, out, sizeof(out), &err),
                     OIDC_ERR_MAPPING);
    assert_string_equal(err.msg,
                        "template 'u-{missing}' needs claim 'missing', which the token does not "
                        "carry");
    assert_string_equal(out, "");
    assert_int_equal(oidc_idmap_template("{b}", claims, out, sizeof(out), &err), OIDC_ERR_MAPPING);
    assert_non_null(strstr(err.msg, "claim 'b' used in template '{b}' is not a string or an "
                                    "integer"));
    assert_int_equal(oidc_idmap_template("{f}", claims, out, sizeof(out), &err), OIDC_ERR_MAPPING);
    assert_int_equal(oidc_idmap_template("{o}", claims, out, sizeof(out), &err), OIDC_ERR_MAPPING);
    /* a dotted name is a path into nested claims: missing steps and objects are refused */
    assert_int_equal(oidc_idmap_template("{o.zz}", claims, out, sizeof(out), &err),
                     OIDC_ERR_MAPPING);
    assert_non_null(strstr(err.msg, "needs claim 'o.zz', which the token does not carry"));
    assert_int_equal(oidc_idmap_template("{s.x}", claims, out, sizeof(out), &err),
                     OIDC_ERR_MAPPING);
    assert_int_equal(oidc_idmap_template("x{s", claims, out, sizeof(out), &err), OIDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "unterminated '{'"));
    assert_int_equal(oidc_idmap_template("x}", claims, out, sizeof(out), &err), OIDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "unmatched '}'"));
    assert_int_equal(oidc_idmap_template("{}", claims, out, sizeof(out), &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_idmap_template("{a{s}}", claims, out, sizeof(out), &err),
                     OIDC_ERR_CONFIG);
    /* output cap: 8 bytes hold 7 characters */
    assert_int_equal(oidc_idmap_template("1234567", claims, out, sizeof(out), &err), OIDC_OK);
    assert_int_equal(oidc_idmap_template("1234567{s}", claims, out, sizeof(out), &err),
                     OIDC_ERR_MAPPING);
    assert_non_null(strstr(err.msg, "expands to more than 7 bytes"));
    assert_string_equal(out, "");
    assert_int_equal(oidc_idmap_template(NULL, claims, out, sizeof(out), &err), OIDC_ERR_INVALID);
    assert_int_equal(oidc_idmap_template("x", claims, out, 0, &err), OIDC_ERR_INVALID);
    cJSON_Delete(claims);
}

static void test_map_username_template_missing_claim(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.username_template = S("ci-{repository_owner}");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"repository_owner\":\"org\","
                "\"preferred_username\":\"alice\"}");
    assert_string_equal(id->name, "ci-org");
    assert_int_equal(id->uid, 2015927503u);
    oidc_identity_free(id);
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}",
              OIDC_ERR_MAPPING,
              "template 'ci-{repository_owner}' needs claim 'repository_owner', which the token "
              "does not carry");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"repository_owner\":\"Org X\"}",
              OIDC_ERR_MAPPING,
              "username 'ci-Org X' from template 'ci-{repository_owner}' is not a valid POSIX "
              "name");
}

/* ---- uid_key ---- */

static void test_map_uid_key_subject(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.uid_key = OIDC_UID_KEY_SUBJECT;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"248289761001\",\"preferred_username\":\"alice\"}");
    /* FNV-1a over "nss-pam-oidc:v1:uid:https://idp.example.test\n248289761001" */
    assert_int_equal(id->uid, 1921774011u);
    assert_int_equal(id->gid, 1921774011u);
    assert_string_equal(id->name, "alice");
    oidc_identity_free(id);
    P.uid_min = 10000;
    P.uid_max = 10099;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"248289761001\",\"preferred_username\":\"bob\"}");
    assert_int_equal(id->uid, 10089u);
    oidc_identity_free(id);
}

/* [provider NAME idmap] overrides (docs/idmap.md 8.2): the test vector pair paozdy/yzxdfd hashes
 * to one uid; an override gives yzxdfd another, and its private group the same number. */
static void test_map_idmap_override(void **state)
{
    struct oidc_idmap_override o[1] = {{S("yzxdfd"), 1967748509u, S("test:1")}};
    struct oidc_identity *id;

    (void)state;
    assert_int_equal(oidc_idhash_uid("paozdy", 6, 0x70000000u, 0x7FFFFFFEu), 2105811470u);
    assert_int_equal(oidc_idhash_uid("yzxdfd", 6, 0x70000000u, 0x7FFFFFFEu), 2105811470u);
    P.overrides = o;
    P.n_overrides = 1;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"yzxdfd\"}");
    assert_int_equal(id->uid, 1967748509u);
    assert_int_equal(id->gid, 1967748509u);
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"2\",\"preferred_username\":\"paozdy\"}");
    assert_int_equal(id->uid, 2105811470u); /* not overridden: the hash */
    oidc_identity_free(id);
    assert_int_equal(oidc_idmap_name_uid(&P, "yzxdfd", 0x70000000u, 0x7FFFFFFEu), 1967748509u);
    assert_null(oidc_idmap_override_find(&P, "paozdy"));
    /* an override applies to login names only: with uid_key = subject the subject is hashed */
    P.uid_key = OIDC_UID_KEY_SUBJECT;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"248289761001\",\"preferred_username\":\"yzxdfd\"}");
    assert_int_equal(id->uid, 1921774011u);
    oidc_identity_free(id);
    P.overrides = NULL;
    P.n_overrides = 0;
    free(o[0].name);
    free(o[0].where);
}

/* systemd's reserved ranges (https://systemd.io/UIDS-GIDS/), edges included */
static void test_idhash_reserved_ranges(void **state)
{
    static const uint32_t in[] = {
        0,     1,     999,    60001,      60513,      60514,      61184,       65519,
        65534, 65535, 524288, 1879048191, 2147352576, 2147418111, 4294967294u, 4294967295u};
    static const uint32_t out[] = {1000,       60000,      61183,      65520,
                                   65536,      524287,     1879048192, 2147352575,
                                   2147418112, 2147483646, 4294967293u};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        if (oidc_idhash_reserved(in[i]) == NULL)
            fail_msg("%u should be reserved", (unsigned)in[i]);
    for (i = 0; i < sizeof(out) / sizeof(out[0]); i++)
        if (oidc_idhash_reserved(out[i]) != NULL)
            fail_msg("%u should not be reserved (%s)", (unsigned)out[i],
                     oidc_idhash_reserved(out[i])->what);
    assert_non_null(strstr(oidc_idhash_reserved(61184)->what, "dynamic"));
    assert_non_null(strstr(oidc_idhash_reserved(2147352576)->what, "foreign"));
}

static void test_map_uid_key_claim(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.uid_key = OIDC_UID_KEY_CLAIM;
    P.uid_claim = S("uid_number");
    P.uid_min = 70000;
    P.uid_max = 79999;
#define C(v) \
    "{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\",\"uid_number\":" v "}"
    id = map_ok(C("70001"));
    assert_int_equal(id->uid, 70001u);
    assert_int_equal(id->gid, 70001u);
    oidc_identity_free(id);
    id = map_ok(C("\"79999\""));
    assert_int_equal(id->uid, 79999u);
    oidc_identity_free(id);
    id = map_ok(C("7.0e4"));
    assert_int_equal(id->uid, 70000u);
    oidc_identity_free(id);
    map_fails(C("69999"), OIDC_ERR_MAPPING,
              "uid claim 'uid_number' is 69999, outside the uid range 70000..79999");
    map_fails(C("-1"), OIDC_ERR_MAPPING, "is -1, outside the uid range");
    map_fails(C("\"80000\""), OIDC_ERR_MAPPING,
              "uid claim 'uid_number' is 80000, outside the uid range 70000..79999");
    map_fails(C("\"99999999999999999999999\""), OIDC_ERR_MAPPING, "not a decimal integer");
    map_fails(C("70001.5"), OIDC_ERR_MAPPING,
              "uid claim 'uid_number' is neither an integer nor a decimal string");
    map_fails(C("true"), OIDC_ERR_MAPPING, "neither an integer nor a decimal string");
    map_fails(C("\"70001.0\""), OIDC_ERR_MAPPING,
              "uid claim 'uid_number' is the string '70001.0', not a decimal integer");
    map_fails(C("\"070001\""), OIDC_ERR_MAPPING, "not a decimal integer");
    map_fails(C("\" 70001\""), OIDC_ERR_MAPPING, "not a decimal integer");
    map_fails(C("\"\""), OIDC_ERR_MAPPING, "not a decimal integer");
#undef C
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}",
              OIDC_ERR_MAPPING, "uid claim 'uid_number' is missing from the token");
    free(P.uid_claim);
    P.uid_claim = NULL;
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}",
              OIDC_ERR_CONFIG, "uid_key = claim: names no claim");
}

static void test_map_uid_range_checked(void **state)
{
    const char *claims = "{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}";
    struct oidc_identity *id;

    (void)state;
    /* 0..0, a zeroed configuration, means the default range */
    id = map_ok(claims);
    assert_int_equal(id->uid, 2131105965u);
    oidc_identity_free(id);
    P.uid_min = 10000;
    P.uid_max = 10099;
    id = map_ok(claims);
    assert_int_equal(id->uid, 10003u);
    oidc_identity_free(id);
    P.uid_min = 0;
    P.uid_max = 100;
    map_fails(claims, OIDC_ERR_CONFIG, "uid range 0..100 is not usable");
    P.uid_min = 200;
    map_fails(claims, OIDC_ERR_CONFIG, "uid range 200..100 is not usable");
    P.uid_min = 1;
    P.uid_max = UINT32_MAX;
    map_fails(claims, OIDC_ERR_CONFIG, "not usable");
}

/* ---- iss, sub, gecos, home, shell ---- */

static void test_map_requires_iss_and_sub(void **state)
{
    char json[512], sub[300];

    (void)state;
    map_fails("{\"sub\":\"1\",\"preferred_username\":\"alice\"}", OIDC_ERR_MAPPING, "'iss'");
    map_fails("{\"iss\":7,\"sub\":\"1\",\"preferred_username\":\"alice\"}", OIDC_ERR_MAPPING,
              "'iss'");
    map_fails("{\"iss\":\"" ISS "\",\"preferred_username\":\"alice\"}", OIDC_ERR_MAPPING, "'sub'");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"\",\"preferred_username\":\"alice\"}",
              OIDC_ERR_MAPPING, "'sub'");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"a\\nb\",\"preferred_username\":\"alice\"}",
              OIDC_ERR_MAPPING, "'sub'");
    memset(sub, 's', 256);
    sub[256] = '\0';
    snprintf(json, sizeof(json),
             "{\"iss\":\"" ISS "\",\"sub\":\"%s\",\"preferred_username\":\"a\"}", sub);
    map_fails(json, OIDC_ERR_MAPPING, "'sub' claim is 256 bytes long; at most 255");
    sub[255] = '\0';
    snprintf(json, sizeof(json),
             "{\"iss\":\"" ISS "\",\"sub\":\"%s\",\"preferred_username\":\"a\"}", sub);
    oidc_identity_free(map_ok(json));
}

static void test_map_gecos_sanitised(void **state)
{
    struct oidc_identity *id;
    char json[1024], want[200], name[400];
    size_t i;

    (void)state;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"name\":\"Alice: O'Brien\\n\\tSmith\\u007f, Ops\"}");
    assert_string_equal(id->gecos, "Alice O'BrienSmith, Ops");
    oidc_identity_free(id);
    /* absent or not a string: empty */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}");
    assert_string_equal(id->gecos, "");
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\",\"name\":5}");
    assert_string_equal(id->gecos, "");
    oidc_identity_free(id);
    /* capped at 128 bytes, not inside a UTF-8 sequence: 127 'x' then "é" (2 bytes) */
    for (i = 0; i < 127; i++)
        name[i] = 'x';
    strcpy(name + 127, "\xc3\xa9zzz");
    snprintf(json, sizeof(json),
             "{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\",\"name\":\"%s\"}",
             name);
    id = map_ok(json);
    memcpy(want, name, 127);
    want[127] = '\0';
    assert_string_equal(id->gecos, want);
    oidc_identity_free(id);
    /* 126 'x' then "é": exactly 128 bytes, kept whole */
    strcpy(name + 126, "\xc3\xa9zzz");
    snprintf(json, sizeof(json),
             "{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\",\"name\":\"%s\"}",
             name);
    id = map_ok(json);
    assert_int_equal(strlen(id->gecos), 128);
    assert_memory_equal(id->gecos + 126, "\xc3\xa9", 2);
    oidc_identity_free(id);
}

static void test_map_home_and_shell_defaults_and_templates(void **state)
{
    struct oidc_identity *id;

    (void)state;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}");
    assert_string_equal(id->home, "/home/alice");
    assert_string_equal(id->shell, "/bin/bash");
    oidc_identity_free(id);
    /* {name} in home is the mapped login name, not the "name" claim */
    P.home = S("/srv/{tenant}/{name}");
    P.shell = S("/bin/zsh");
    P.lowercase = 1;
    P.strip_domain = 1;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"Alice@x\","
                "\"name\":\"Alice Full\",\"tenant\":\"t1\"}");
    assert_string_equal(id->home, "/srv/t1/alice");
    assert_string_equal(id->shell, "/bin/zsh");
    oidc_identity_free(id);
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}",
              OIDC_ERR_MAPPING, "needs claim 'tenant'");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
              "\"tenant\":\"../etc\"}",
              OIDC_ERR_MAPPING,
              "home directory '/srv/../etc/alice' from template '/srv/{tenant}/{name}' has a "
              "'..' component");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
              "\"tenant\":\"a:b\"}",
              OIDC_ERR_MAPPING, "has ':' at byte 7, which is not allowed");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
              "\"tenant\":\".\"}",
              OIDC_ERR_MAPPING, "has a '.' component");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"tenant\":\"..x\"}");
    assert_string_equal(id->home, "/srv/..x/alice");
    oidc_identity_free(id);
    free(P.home);
    P.home = S("{tenant}/{name}");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
              "\"tenant\":\"t1\"}",
              OIDC_ERR_MAPPING, "is not an absolute path");
}

/* home_fails(TENANT_JSON, WANT): /srv/{tenant}/{name} with that tenant claim is refused and the
 * message is exactly WANT */
static void home_fails(const char *tenant_json, const char *want)
{
    struct oidc_identity *id = (struct oidc_identity *)&P;
    struct oidc_err err;
    char json[512];
    int r;

    snprintf(json, sizeof(json),
             "{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\",\"tenant\":%s}",
             tenant_json);
    r = map(json, &id, &err);
    if (r != OIDC_ERR_MAPPING)
        fail_msg("tenant %s: expected OIDC_ERR_MAPPING, got %d: %s", tenant_json, r,
                 oidc_err_msg(&err));
    assert_ptr_equal(id, (struct oidc_identity *)&P);
    assert_string_equal(oidc_err_msg(&err), want);
}

static void test_map_home_shell_metacharacters_refused(void **state)
{
    /* the tenant claim (JSON), the offending character, the home directory as echoed */
    static const struct {
        const char *json;
        char c;
        const char *home;
    } bad[] = {
        {"\"$(id)\"", '$', "$(id)"},  {"\"`id`\"", '`', "`id`"}, {"\"x;y\"", ';', "x;y"},
        {"\"x|y\"", '|', "x|y"},      {"\"x&y\"", '&', "x&y"},   {"\"x<y\"", '<', "x<y"},
        {"\"x>y\"", '>', "x>y"},      {"\"x'y\"", '\'', "x'y"},  {"\"x\\\"y\"", '"', "x\"y"},
        {"\"x*\"", '*', "x*"},        {"\"x?\"", '?', "x?"},     {"\"x[y]\"", '[', "x[y]"},
        {"\"x\\\\y\"", '\\', "x\\y"}, {"\"x~y\"", '~', "x~y"},   {"\"x=y\"", '=', "x=y"},
        {"\"x,y\"", ',', "x,y"},      {"\"x%y\"", '%', "x%y"},   {"\"x#y\"", '#', "x#y"},
        {"\"x!y\"", '!', "x!y"},      {"\"x{y\"", '{', "x{y"},   {"\"x}y\"", '}', "x}y"},
        {"\"x^y\"", '^', "x^y"},      {"\"x:y\"", ':', "x:y"},   {"\"x(y\"", '(', "x(y"},
    };
    char want[256];
    size_t i;

    (void)state;
    P.home = S("/srv/{tenant}/{name}");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(want, sizeof(want),
                 "home directory '/srv/%s/alice' from template '/srv/{tenant}/{name}' has '%c' at "
                 "byte %zu, which is not allowed (only A-Z a-z 0-9 . _ - + @ /)",
                 bad[i].home, bad[i].c,
                 (size_t)6 + strcspn(bad[i].home, "$`;|&<>'\"*?[\\~=,%#!{}^:("));
        home_fails(bad[i].json, want);
    }
    /* a space, a newline, a tab, non-ASCII: named by their byte value, echoed printable */
    home_fails("\"a b\"", "home directory '/srv/a b/alice' from template '/srv/{tenant}/{name}' "
                          "has byte 0x20 at byte 7, which is not allowed (only A-Z a-z 0-9 . _ - "
                          "+ @ /)");
    home_fails("\"a\\nb\"", "home directory '/srv/a?b/alice' from template '/srv/{tenant}/{name}' "
                            "has byte 0x0a at byte 7, which is not allowed (only A-Z a-z 0-9 . _ "
                            "- + @ /)");
    home_fails("\"a\\tb\"", "home directory '/srv/a?b/alice' from template '/srv/{tenant}/{name}' "
                            "has byte 0x09 at byte 7, which is not allowed (only A-Z a-z 0-9 . _ "
                            "- + @ /)");
    home_fails("\"caf\\u00e9\"",
               "home directory '/srv/caf\xc3\xa9/alice' from template '/srv/{tenant}/{name}' has "
               "byte 0xc3 at byte 9, which is not allowed (only A-Z a-z 0-9 . _ - + @ /)");
    /* '..' and '.' components, wherever a claim puts them */
    home_fails("\"..\"", "home directory '/srv/../alice' from template '/srv/{tenant}/{name}' has "
                         "a '..' component");
    home_fails("\"a/../../etc\"", "home directory '/srv/a/../../etc/alice' from template "
                                  "'/srv/{tenant}/{name}' has a '..' component");
    home_fails("\"a/.\"", "home directory '/srv/a/./alice' from template '/srv/{tenant}/{name}' "
                          "has a '.' component");
    home_fails("\"a//..\"", "home directory '/srv/a//../alice' from template "
                            "'/srv/{tenant}/{name}' has a '..' component");
}

static void test_map_home_allowed_characters(void **state)
{
    struct oidc_identity *id;

    (void)state;
    /* every allowed class, and names that only start with dots */
    P.home = S("/srv/{tenant}/{name}");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"tenant\":\"Org_1.x-y+z@corp.example/...a/.b/..c\"}");
    assert_string_equal(id->home, "/srv/Org_1.x-y+z@corp.example/...a/.b/..c/alice");
    oidc_identity_free(id);
    free(P.home);
    /* the checks apply to the expanded path, the template's own text included */
    P.home = S("/home/{name} x");
    map_fails("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}",
              OIDC_ERR_MAPPING,
              "home directory '/home/alice x' from template '/home/{name} x' has byte 0x20 at "
              "byte 12");
    free(P.home);
    P.home = S("/home/{name}/");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}");
    assert_string_equal(id->home, "/home/alice/");
    oidc_identity_free(id);
}

/* ---- groups ---- */

static void test_map_groups_default_claim(void **state)
{
    struct oidc_identity *id;

    (void)state;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"admins\",\"devs\"]}");
    assert_int_equal(id->n_groups, 2);
    assert_string_equal(id->groups[0].name, "admins");
    assert_int_equal(id->groups[0].gid, 1926073551u);
    assert_string_equal(id->groups[1].name, "devs");
    assert_int_equal(id->groups[1].gid, 2052918232u);
    oidc_identity_free(id);
    /* a single string is one group; a non-string, non-array value is no group */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":\"devs\"}");
    assert_int_equal(id->n_groups, 1);
    assert_true(has_group(id, "devs", 2052918232u));
    oidc_identity_free(id);
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":{\"a\":1}}");
    assert_int_equal(id->n_groups, 0);
    oidc_identity_free(id);
}

static void test_map_groups_nested_path(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.groups_claim = S("realm_access.roles");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"ignored\"],\"realm_access\":{\"roles\":[\"admins\",\"devs\"]}}");
    assert_int_equal(id->n_groups, 2);
    assert_true(has_group(id, "admins", 1926073551u));
    assert_true(has_group(id, "devs", 2052918232u));
    oidc_identity_free(id);
    free(P.groups_claim);
    P.groups_claim = S("resource_access.ci-client.roles");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"resource_access\":{\"ci-client\":{\"roles\":[\"devs\"]}}}");
    assert_int_equal(id->n_groups, 1);
    assert_true(has_group(id, "devs", 2052918232u));
    oidc_identity_free(id);
    /* missing path: no groups, not an error */
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\"}");
    assert_int_equal(id->n_groups, 0);
    oidc_identity_free(id);
}

static void test_map_groups_disabled_by_empty_claim(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.groups_claim = S("");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"admins\"]}");
    assert_int_equal(id->n_groups, 0);
    assert_null(id->groups);
    oidc_identity_free(id);
}

static void test_map_groups_prefix(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.group_prefix = S("oidc-");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"admins\",\"devs\",\"staff\",\"abcdefghijklmnopqrstuvwxyz01\"]}");
    /* "staff" becomes "oidc-staff", not the local group; the 33-byte prefixed name is skipped */
    assert_int_equal(id->n_groups, 3);
    assert_true(has_group(id, "oidc-admins", 2102512133u));
    assert_true(has_group(id, "oidc-devs", 1912454841u));
    assert_true(has_group(id, "oidc-staff", oidc_idhash_gid("oidc-staff", 10, DEF_MIN, DEF_MAX)));
    oidc_identity_free(id);
}

static void test_map_groups_allow_globs_match_idp_name(void **state)
{
    struct oidc_identity *id;

    (void)state;
    list_set(&P.group_allow, "dev*", "org/ops");
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"devs\",\"admins\",\"developers\",\"org/ops\",\"xdevs\"]}");
    /* "org/ops" is allowed but not a valid name: skipped */
    assert_int_equal(id->n_groups, 2);
    assert_true(has_group(id, "devs", 2052918232u));
    assert_true(has_group(id, "developers", 2141288791u));
    oidc_identity_free(id);
    /* the glob sees the IdP's name, before group_prefix and lowercase */
    P.group_prefix = S("oidc-");
    P.lowercase = 1;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"devs\",\"DEVS2\",\"oidc-devs3\"]}");
    assert_int_equal(id->n_groups, 1);
    assert_true(has_group(id, "oidc-devs", 1912454841u));
    oidc_identity_free(id);
}

static void test_map_groups_invalid_names_skipped(void **state)
{
    struct oidc_identity *id;

    (void)state;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"Has Space\",\"ok\",\"9lives\",\"a/b\",\"\",\"Admins\",7,null,"
                "\"" NAME32 "x\"]}");
    assert_int_equal(id->n_groups, 1);
    assert_true(has_group(id, "ok", 2081105838u));
    oidc_identity_free(id);
    P.lowercase = 1;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"Admins\"]}");
    assert_int_equal(id->n_groups, 1);
    assert_true(has_group(id, "admins", 1926073551u));
    oidc_identity_free(id);
}

static void test_map_groups_local_and_own_name_skipped(void **state)
{
    struct oidc_identity *id;

    (void)state;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"wheel\",\"devs\",\"docker\",\"root\",\"alice\",\"staff\"]}");
    assert_int_equal(id->n_groups, 1);
    assert_true(has_group(id, "devs", 2052918232u));
    oidc_identity_free(id);
}

static void test_map_groups_duplicates_removed(void **state)
{
    struct oidc_identity *id;

    (void)state;
    P.lowercase = 1;
    id = map_ok("{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                "\"groups\":[\"devs\",\"admins\",\"devs\",\"DEVS\",\"Devs\"]}");
    assert_int_equal(id->n_groups, 2);
    assert_string_equal(id->groups[0].name, "devs");
    assert_string_equal(id->groups[1].name, "admins");
    oidc_identity_free(id);
}

static void test_map_groups_capped(void **state)
{
    struct oidc_identity *id;
    char *json = malloc(16384);
    size_t n, i;

    (void)state;
    assert_non_null(json);
    n = (size_t)snprintf(json, 16384,
                         "{\"iss\":\"" ISS "\",\"sub\":\"1\",\"preferred_username\":\"alice\","
                         "\"groups\":[");
    for (i = 0; i < OIDC_GROUPS_MAX + 50; i++)
        n += (size_t)snprintf(json + n, 16384 - n, "%s\"g%zu\"", i > 0 ? "," : "", i);
    snprintf(json + n, 16384 - n, "]}");
    id = map_ok(json);
    free(json);
    assert_int_equal(id->n_groups, OIDC_GROUPS_MAX);
    assert_string_equal(id->groups[0].name, "g0");
    assert_string_equal(id->groups[OIDC_GROUPS_MAX - 1].name, "g255");
    oidc_identity_free(id);
}

static void test_identity_free_accepts_null(void **state)
{
    (void)state;
    oidc_identity_free(NULL);
}

static void test_map_rejects_missing_arguments(void **state)
{
    struct oidc_identity *id = NULL;
    struct oidc_err err;

    (void)state;
    assert_int_equal(oidc_idmap_map(&P, &env, NULL, &id, &err), OIDC_ERR_INVALID);
    assert_int_equal(oidc_idmap_map(NULL, &env, NULL, &id, &err), OIDC_ERR_INVALID);
    assert_null(id);
}

#define T(f) cmocka_unit_test_setup_teardown(f, cfg_setup, cfg_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fnv1a64_reference_vectors),
        T(test_idhash_uid_vectors_default_range),
        T(test_idhash_gid_vectors_default_range),
        T(test_idhash_custom_ranges),
        T(test_name_valid_table),
        T(test_map_default_claim_is_preferred_username),
        T(test_map_claim_order_fallback),
        T(test_map_strip_domain_and_lowercase),
        T(test_map_name_too_long_names_length),
        T(test_map_echoed_value_is_capped_and_sanitised),
        T(test_map_root_is_reserved),
        T(test_map_unverified_email_skipped_to_next_claim),
        T(test_map_unverified_email_refused),
        T(test_map_verified_email_string_true_accepted),
        T(test_map_template_unverified_email_refused),
        T(test_map_email_verified_not_required_when_off),
        T(test_map_local_passwd_name_refused),
        T(test_map_local_group_name_refused),
        T(test_map_long_line_continuation_is_not_a_name),
        T(test_map_unreadable_passwd_fails_closed),
        T(test_template_expands_strings_integers_and_braces),
        T(test_template_paths_and_dotted_member_names),
        T(test_template_errors),
        T(test_map_username_template_missing_claim),
        T(test_map_uid_key_subject),
        T(test_map_uid_key_claim),
        T(test_map_uid_range_checked),
        T(test_map_requires_iss_and_sub),
        T(test_map_gecos_sanitised),
        T(test_map_home_and_shell_defaults_and_templates),
        T(test_map_home_shell_metacharacters_refused),
        T(test_map_home_allowed_characters),
        T(test_map_groups_default_claim),
        T(test_map_groups_nested_path),
        T(test_map_groups_disabled_by_empty_claim),
        T(test_map_groups_prefix),
        T(test_map_groups_allow_globs_match_idp_name),
        T(test_map_groups_invalid_names_skipped),
        T(test_map_groups_local_and_own_name_skipped),
        T(test_map_groups_duplicates_removed),
        T(test_map_groups_capped),
        T(test_map_idmap_override),
        T(test_idhash_reserved_ranges),
        T(test_identity_free_accepts_null),
        T(test_map_rejects_missing_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
