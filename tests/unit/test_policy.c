/* policy: deny/allow lists, required groups and required claims, from the provider section (read
 * by the real configuration parser) and the module arguments (through oidc_cfg_set, as
 * pam_oidc.so applies them). One named test per rule, passing and refusing, each refusal with its
 * message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "idmap.h"
#include "json.h"
#include "policy.h"

#define PROVIDER "[provider corp]\nissuer = https://idp.example.test\nclient_id = shell\n"

/* The claims every test checks against: a GitHub-Actions-like token with groups and roles. */
static const char CLAIMS[] =
    "{\"iss\":\"https://idp.example.test\",\"sub\":\"repo:org/app:ref:refs/heads/main\","
    "\"repository\":\"org/app\",\"ref\":\"refs/heads/main\",\"environment\":\"prod\","
    "\"run_number\":42,\"run_attempt\":1,\"ratio\":0.5,\"email_verified\":true,"
    "\"mfa\":false,\"nothing\":null,\"groups\":[\"dev\",\"ops\",7],"
    "\"realm_access\":{\"roles\":[\"admin\",\"user\"],\"tier\":\"gold\"},"
    "\"weird\":\"line1\\nline2\\u001b[31m\"}";

/* The user: alice in groups dev and ops (mapped names). */
static char g_dev[] = "dev", g_ops[] = "ops";
static struct oidc_group groups[] = {{g_dev, 0x70000001u}, {g_ops, 0x70000002u}};
static struct oidc_identity alice;

struct fixture {
    struct oidc_cfg *cfg;
    cJSON *claims;
    struct oidc_err err;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL ||
        oidc_json_parse_object(CLAIMS, strlen(CLAIMS), "claims", &f->claims, NULL) != OIDC_OK)
        return -1;
    memset(&alice, 0, sizeof(alice));
    strcpy(alice.name, "alice");
    alice.uid = alice.gid = 0x70000000u;
    alice.groups = groups;
    alice.n_groups = 2;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    oidc_cfg_free(f->cfg);
    cJSON_Delete(f->claims);
    free(f);
    return 0;
}

/* Parses PROVIDER plus the extra lines into f->cfg. */
static void provider(struct fixture *f, const char *extra)
{
    char text[2048];
    struct oidc_err err = {0};

    snprintf(text, sizeof(text), "%s%s", PROVIDER, extra);
    oidc_cfg_free(f->cfg);
    f->cfg = oidc_cfg_new();
    assert_non_null(f->cfg);
    if (oidc_cfg_parse_text(f->cfg, text, strlen(text), "test.conf", &err) != OIDC_OK ||
        oidc_cfg_check(f->cfg, &err) != OIDC_OK)
        fail_msg("configuration refused: %s", err.msg);
}

/* A module argument, as pam_oidc.so would apply it. */
static void arg(struct fixture *f, const char *key, const char *value)
{
    struct oidc_err err = {0};

    if (oidc_cfg_set(f->cfg, NULL, OIDC_SCOPE_ARG, key, value, "argument", &err) != OIDC_OK)
        fail_msg("argument %s=%s refused: %s", key, value, err.msg);
}

static int check(struct fixture *f)
{
    memset(&f->err, 0, sizeof(f->err));
    return oidc_policy_check(f->cfg, f->cfg->providers[0], &alice, f->claims, &f->err);
}

static void allowed(struct fixture *f)
{
    int r = check(f);

    if (r != OIDC_OK)
        fail_msg("refused (%d): %s", r, f->err.msg);
}

/* Refused with OIDC_ERR_DENIED and exactly this message. */
static void denied(struct fixture *f, const char *msg)
{
    int r = check(f);

    if (r != OIDC_ERR_DENIED)
        fail_msg("status %d (wanted OIDC_ERR_DENIED), message \"%s\"", r, f->err.msg);
    assert_string_equal(f->err.msg, msg);
}

/* The account phase of a cached user: no login, the mapped groups. */
static int check_cached(struct fixture *f)
{
    memset(&f->err, 0, sizeof(f->err));
    return oidc_policy_check_groups(f->cfg, f->cfg->providers[0], &alice, f->claims, NULL, &f->err);
}

static void cached_denied(struct fixture *f, const char *msg)
{
    int r = check_cached(f);

    if (r != OIDC_ERR_DENIED)
        fail_msg("status %d (wanted OIDC_ERR_DENIED), message \"%s\"", r, f->err.msg);
    assert_string_equal(f->err.msg, msg);
}

/* ---------------------------------------------------------------- no rules */

static void test_no_rules_allows(void **state)
{
    struct fixture *f = *state;

    provider(f, "");
    allowed(f);
    /* cfg NULL: no module arguments */
    memset(&f->err, 0, sizeof(f->err));
    assert_int_equal(oidc_policy_check(NULL, f->cfg->providers[0], &alice, f->claims, &f->err),
                     OIDC_OK);
}

static void test_bad_arguments_refused(void **state)
{
    struct fixture *f = *state;
    cJSON *arr = cJSON_CreateArray();

    provider(f, "");
    assert_int_equal(oidc_policy_check(f->cfg, NULL, &alice, f->claims, NULL), OIDC_ERR_INVALID);
    assert_int_equal(oidc_policy_check(f->cfg, f->cfg->providers[0], NULL, f->claims, NULL),
                     OIDC_ERR_INVALID);
    assert_int_equal(oidc_policy_check(f->cfg, f->cfg->providers[0], &alice, NULL, NULL),
                     OIDC_ERR_INVALID);
    assert_int_equal(oidc_policy_check(f->cfg, f->cfg->providers[0], &alice, arr, NULL),
                     OIDC_ERR_INVALID);
    cJSON_Delete(arr);
}

/* ---------------------------------------------------------------- deny and allow lists */

static void test_deny_users_refused(void **state)
{
    struct fixture *f = *state;

    provider(f, "deny_users = bob, ali*\n");
    denied(f, "deny_users: user 'alice' matches 'ali*'");
    provider(f, "deny_users = bob, mallory\n");
    allowed(f);
}

static void test_deny_users_wins_over_allow_users(void **state)
{
    struct fixture *f = *state;

    provider(f, "allow_users = alice\ndeny_users = alice\n");
    denied(f, "deny_users: user 'alice' matches 'alice'");
}

static void test_deny_groups_refused(void **state)
{
    struct fixture *f = *state;

    provider(f, "deny_groups = contractors, ops\n");
    denied(f, "deny_groups: user 'alice' is in group 'ops'");
    provider(f, "deny_groups = contractors\n");
    allowed(f);
}

static void test_deny_groups_wins_over_allow_groups(void **state)
{
    struct fixture *f = *state;

    provider(f, "allow_groups = dev\ndeny_groups = ops\n");
    denied(f, "deny_groups: user 'alice' is in group 'ops'");
}

static void test_deny_groups_exact_names(void **state)
{
    struct fixture *f = *state;

    /* group lists are names, not globs */
    provider(f, "deny_groups = o*\n");
    allowed(f);
}

static void test_allow_users_match(void **state)
{
    struct fixture *f = *state;

    provider(f, "allow_users = bob, a*e\n");
    allowed(f);
}

static void test_allow_users_refused(void **state)
{
    struct fixture *f = *state;

    provider(f, "allow_users = bob, ci-*\n");
    denied(f, "allow_users: user 'alice' matches none of the allowed patterns (bob, ci-*)");
}

static void test_allow_groups_match(void **state)
{
    struct fixture *f = *state;

    provider(f, "allow_groups = admins, ops\n");
    allowed(f);
}

static void test_allow_groups_refused(void **state)
{
    struct fixture *f = *state;

    provider(f, "allow_groups = admins, sre\n");
    denied(f, "allow_groups: user 'alice' is in none of the allowed groups (admins, sre)");
}

static void test_allow_groups_no_groups_refused(void **state)
{
    struct fixture *f = *state;

    provider(f, "allow_groups = dev\n");
    alice.n_groups = 0;
    /* no claim at all: the groups are not known, which is said as such (groups.c) */
    cJSON_DeleteItemFromObjectCaseSensitive(f->claims, "groups");
    denied(f, "allow_groups is set, but the login's groups are not known: the token carries no "
              "'groups' claim; refused");
    /* the claim says the user is in none */
    assert_non_null(cJSON_AddArrayToObject(f->claims, "groups"));
    denied(f, "allow_groups: user 'alice' is in none of the allowed groups (dev)");
}

/* ---------------------------------------------------------------- required groups */

static void test_require_group_present(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_group = dev ops\n");
    allowed(f);
}

static void test_require_group_missing(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_group = dev, admins\n");
    denied(f, "require_group: user 'alice' is not in group 'admins'");
}

static void test_require_group_argument_missing(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_group = dev\n");
    arg(f, "require_group", "sudoers");
    denied(f, "require_group: user 'alice' is not in group 'sudoers' (module argument)");
}

static void test_require_group_argument_present(void **state)
{
    struct fixture *f = *state;

    provider(f, "");
    arg(f, "require_group", "ops");
    allowed(f);
}

/* ---------------------------------------------------------------- required claims */

static void test_require_claim_exact(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = environment=prod\n");
    allowed(f);
}

static void test_require_claim_exact_mismatch(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = environment=staging\n");
    denied(f, "require_claim: claim 'environment' is 'prod', which does not match 'staging'");
    /* exact means the whole value: no prefix or substring match */
    provider(f, "require_claim = environment=pro\n");
    denied(f, "require_claim: claim 'environment' is 'prod', which does not match 'pro'");
}

static void test_require_claim_glob(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = repository=org/*\n");
    allowed(f);
    provider(f, "require_claim = repository=*/app\n");
    allowed(f);
    provider(f, "require_claim = repository=org/ap?\n");
    allowed(f);
    provider(f, "require_claim = repository=org/[a-c]pp\n");
    allowed(f);
}

static void test_require_claim_glob_mismatch(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = repository=other/*\n");
    denied(f, "require_claim: claim 'repository' is 'org/app', which does not match 'other/*'");
    /* a glob anchors at both ends */
    provider(f, "require_claim = repository=org\n");
    denied(f, "require_claim: claim 'repository' is 'org/app', which does not match 'org'");
}

static void test_require_claim_glob_star_crosses_slash(void **state)
{
    struct fixture *f = *state;

    /* no FNM_PATHNAME: a star also matches '/', so 'refs/STAR' covers nested refs */
    provider(f, "require_claim = ref=refs/*\n");
    allowed(f);
}

static void test_require_claim_ref_main(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = ref=refs/heads/main\n");
    allowed(f);
}

static void test_require_claim_ref_dev_refused(void **state)
{
    struct fixture *f = *state;
    static const char dev[] = "{\"ref\":\"refs/heads/dev\"}";

    provider(f, "require_claim = ref=refs/heads/main\n");
    cJSON_Delete(f->claims);
    assert_int_equal(oidc_json_parse_object(dev, strlen(dev), "claims", &f->claims, NULL), OIDC_OK);
    denied(f, "require_claim: claim 'ref' is 'refs/heads/dev', which does not match "
              "'refs/heads/main'");
}

static void test_require_claim_array_element(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = groups=ops\n");
    allowed(f);
    provider(f, "require_claim = groups=o*\n");
    allowed(f);
}

static void test_require_claim_array_no_match(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = groups=admins\n");
    denied(f, "require_claim: claim 'groups' is an array with no string element that matches "
              "'admins'");
    /* a number element is not matched as text */
    provider(f, "require_claim = groups=7\n");
    denied(f, "require_claim: claim 'groups' is an array with no string element that matches '7'");
}

static void test_require_claim_number(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = run_number=42\n");
    allowed(f);
    provider(f, "require_claim = run_number=4*\n");
    allowed(f);
    provider(f, "require_claim = ratio=0.5\n");
    allowed(f);
}

static void test_require_claim_number_mismatch(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = run_number=43\n");
    denied(f, "require_claim: claim 'run_number' is 42, which does not match '43'");
    provider(f, "require_claim = run_attempt=1.0\n");
    denied(f, "require_claim: claim 'run_attempt' is 1, which does not match '1.0'");
}

static void test_require_claim_bool(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = email_verified=true\n");
    allowed(f);
    provider(f, "require_claim = mfa=false\n");
    allowed(f);
}

static void test_require_claim_bool_mismatch(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = mfa=true\n");
    denied(f, "require_claim: claim 'mfa' is false, which does not match 'true'");
    /* the JSON text, not a truthy spelling */
    provider(f, "require_claim = email_verified=yes\n");
    denied(f, "require_claim: claim 'email_verified' is true, which does not match 'yes'");
}

static void test_require_claim_nested_path(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = realm_access.roles=admin\n");
    allowed(f);
    provider(f, "require_claim = realm_access.tier=gold\n");
    allowed(f);
}

static void test_require_claim_nested_path_mismatch(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = realm_access.roles=root\n");
    denied(f, "require_claim: claim 'realm_access.roles' is an array with no string element that "
              "matches 'root'");
    provider(f, "require_claim = realm_access.missing=x\n");
    denied(f, "require_claim: claim 'realm_access.missing' is missing (required to match 'x')");
    /* a path through a non-object is missing */
    provider(f, "require_claim = repository.owner=org\n");
    denied(f, "require_claim: claim 'repository.owner' is missing (required to match 'org')");
}

static void test_require_claim_missing(void **state)
{
    struct fixture *f = *state;

    /* even '*' needs the claim to be there */
    provider(f, "require_claim = job_workflow_ref=*\n");
    denied(f, "require_claim: claim 'job_workflow_ref' is missing (required to match '*')");
}

static void test_require_claim_object_refused(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = realm_access=*\n");
    denied(f, "require_claim: claim 'realm_access' is an object, which never matches '*'");
}

static void test_require_claim_null_refused(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = nothing=*\n");
    denied(f, "require_claim: claim 'nothing' is null, which never matches '*'");
    provider(f, "require_claim = nothing=null\n");
    denied(f, "require_claim: claim 'nothing' is null, which never matches 'null'");
}

static void test_require_claim_all_required(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = repository=org/*, environment=prod, ref=refs/tags/*\n");
    denied(f, "require_claim: claim 'ref' is 'refs/heads/main', which does not match "
              "'refs/tags/*'");
}

static void test_require_claim_argument_adds(void **state)
{
    struct fixture *f = *state;

    /* the provider's rule passes; the argument's rule applies on top of it */
    provider(f, "require_claim = repository=org/*\n");
    arg(f, "require_claim", "environment=staging");
    denied(f, "require_claim: claim 'environment' is 'prod', which does not match 'staging' "
              "(module argument)");
}

static void test_require_claim_argument_cannot_relax(void **state)
{
    struct fixture *f = *state;

    /* a permissive argument does not override a failing provider rule */
    provider(f, "require_claim = environment=staging\n");
    arg(f, "require_claim", "environment=*");
    denied(f, "require_claim: claim 'environment' is 'prod', which does not match 'staging'");
}

static void test_require_claim_argument_passes(void **state)
{
    struct fixture *f = *state;

    provider(f, "require_claim = repository=org/*\n");
    arg(f, "require_claim", "ref=refs/heads/main environment=prod");
    allowed(f);
}

static void test_require_claim_value_escaped(void **state)
{
    struct fixture *f = *state;

    /* control bytes from the token never reach the message */
    provider(f, "require_claim = weird=x\n");
    denied(f, "require_claim: claim 'weird' is 'line1?line2?[31m', which does not match 'x'");
}

static void test_require_claim_long_value_cut(void **state)
{
    struct fixture *f = *state;
    char json[600], want[256];

    snprintf(json, sizeof(json), "{\"environment\":\"%0300d\"}", 7);
    cJSON_Delete(f->claims);
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &f->claims, NULL),
                     OIDC_OK);
    provider(f, "require_claim = environment=prod\n");
    snprintf(want, sizeof(want),
             "require_claim: claim 'environment' is '%048d...', which does not match 'prod'", 0);
    denied(f, want);
}

static void test_require_claim_malformed_rule_fails_closed(void **state)
{
    struct fixture *f = *state;
    struct oidc_provider_cfg *p;
    char r_noeq[] = "environment", r_noname[] = "=prod", r_noglob[] = "environment=";
    char *rules[] = {r_noeq, NULL};
    struct oidc_strlist saved;

    /* the parser refuses such rules; the check still fails closed if one gets through */
    provider(f, "");
    p = f->cfg->providers[0];
    saved = p->require_claims;
    p->require_claims.v = rules;
    p->require_claims.n = 1;
    memset(&f->err, 0, sizeof(f->err));
    assert_int_equal(oidc_policy_check(f->cfg, p, &alice, f->claims, &f->err), OIDC_ERR_CONFIG);
    assert_string_equal(f->err.msg, "require_claim: 'environment' is not NAME=GLOB (refused: a "
                                    "rule that cannot be checked never passes)");
    rules[0] = r_noname;
    assert_int_equal(oidc_policy_check(f->cfg, p, &alice, f->claims, &f->err), OIDC_ERR_CONFIG);
    rules[0] = r_noglob;
    assert_int_equal(oidc_policy_check(f->cfg, p, &alice, f->claims, &f->err), OIDC_ERR_CONFIG);
    p->require_claims = saved;
}

/* ---------------------------------------------------------------- group rules see the raw claim
 *
 * These map the claims with the real identity mapping (oidc_idmap_map, local files from the
 * fixture below) and check the policy against that identity and the same claims, as pam_oidc
 * does: the mapping cuts the group list at OIDC_GROUPS_MAX, drops names that are not POSIX-safe,
 * not in group_allow or local groups, and lower-cases; the group rules must see what the IdP
 * sent. */

static char fixdir[64], fix_passwd[96], fix_group[96];
static struct oidc_idmap_env fixenv;

static int write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    if (fputs(text, fp) < 0) {
        fclose(fp);
        return -1;
    }
    return fclose(fp) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    strcpy(fixdir, "/tmp/test_policy.XXXXXX");
    if (mkdtemp(fixdir) == NULL)
        return -1;
    snprintf(fix_passwd, sizeof(fix_passwd), "%s/passwd", fixdir);
    snprintf(fix_group, sizeof(fix_group), "%s/group", fixdir);
    fixenv.passwd_path = fix_passwd;
    fixenv.group_path = fix_group;
    return write_text(fix_passwd, "root:x:0:0:root:/root:/bin/bash\n") != 0 ||
                   write_text(fix_group, "root:x:0:\nwheel:x:10:\ncontractors:x:1500:\n") != 0
               ? -1
               : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(fix_passwd);
    unlink(fix_group);
    rmdir(fixdir);
    return 0;
}

/* claims = {"iss","sub","preferred_username":"alice","groups":GROUPS} */
static void claims_with_groups(struct fixture *f, const char *groups_json)
{
    char json[16384];
    int n;

    n = snprintf(json, sizeof(json),
                 "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\","
                 "\"preferred_username\":\"alice\",\"groups\":%s}",
                 groups_json);
    assert_true(n > 0 && (size_t)n < sizeof(json));
    cJSON_Delete(f->claims);
    f->claims = NULL;
    assert_int_equal(oidc_json_parse_object(json, (size_t)n, "claims", &f->claims, NULL), OIDC_OK);
}

/* A JSON array of n groups "g0", "g1", ... with special at index at (when at < n). */
static void many_groups(char *out, size_t cap, int n, int at, const char *special)
{
    size_t len = 0;
    int i, k;

    out[len++] = '[';
    for (i = 0; i < n; i++) {
        if (i == at)
            k = snprintf(out + len, cap - len, "%s\"%s\"", i > 0 ? "," : "", special);
        else
            k = snprintf(out + len, cap - len, "%s\"g%d\"", i > 0 ? "," : "", i);
        assert_true(k > 0 && (size_t)k < cap - len);
        len += (size_t)k;
    }
    assert_true(len + 2 <= cap);
    out[len++] = ']';
    out[len] = '\0';
}

/* Maps f->claims with the configured provider, then runs the policy on that identity. */
static int mapped_check(struct fixture *f, struct oidc_identity **idp)
{
    struct oidc_identity *id = NULL;
    int r;

    memset(&f->err, 0, sizeof(f->err));
    r = oidc_idmap_map(f->cfg->providers[0], &fixenv, f->claims, &id, &f->err);
    if (r != OIDC_OK)
        fail_msg("mapping failed (%d): %s", r, f->err.msg);
    r = oidc_policy_check(f->cfg, f->cfg->providers[0], id, f->claims, &f->err);
    if (idp != NULL)
        *idp = id;
    else
        oidc_identity_free(id);
    return r;
}

static void mapped_denied(struct fixture *f, const char *msg)
{
    int r = mapped_check(f, NULL);

    if (r != OIDC_ERR_DENIED)
        fail_msg("status %d (wanted OIDC_ERR_DENIED), message \"%s\"", r, f->err.msg);
    assert_string_equal(f->err.msg, msg);
}

static void mapped_allowed(struct fixture *f)
{
    int r = mapped_check(f, NULL);

    if (r != OIDC_OK)
        fail_msg("refused (%d): %s", r, f->err.msg);
}

static void test_deny_groups_raw_position_257(void **state)
{
    struct fixture *f = *state;
    struct oidc_identity *id = NULL;
    char list[8192];

    /* 257th value: past what the mapping keeps */
    many_groups(list, sizeof(list), 300, 256, "contractors-x");
    claims_with_groups(f, list);
    provider(f, "deny_groups = contractors-x\n");
    assert_int_equal(mapped_check(f, &id), OIDC_ERR_DENIED);
    assert_string_equal(f->err.msg, "deny_groups: user 'alice' is in group 'contractors-x'");
    /* the premise: the mapped list does not have it */
    assert_int_equal(id->n_groups, OIDC_GROUPS_MAX);
    for (size_t i = 0; i < id->n_groups; i++)
        assert_string_not_equal(id->groups[i].name, "contractors-x");
    oidc_identity_free(id);
}

static void test_deny_groups_raw_overflow_refused(void **state)
{
    struct fixture *f = *state;
    char list[8192];

    /* no denied group anywhere, but more values than the mapping keeps */
    many_groups(list, sizeof(list), OIDC_GROUPS_MAX + 1, -1, NULL);
    claims_with_groups(f, list);
    provider(f, "deny_groups = contractors-x\n");
    mapped_denied(f, "deny_groups: claim 'groups' has 257 values, more than the 256 groups the "
                     "identity mapping keeps; refused because deny_groups is set");
    /* exactly the limit: allowed */
    many_groups(list, sizeof(list), OIDC_GROUPS_MAX, -1, NULL);
    claims_with_groups(f, list);
    mapped_allowed(f);
    /* without deny rules, a long list is no reason to refuse */
    many_groups(list, sizeof(list), 300, -1, NULL);
    claims_with_groups(f, list);
    provider(f, "deny_users = bob\n");
    mapped_allowed(f);
}

static void test_deny_groups_raw_spelling(void **state)
{
    struct fixture *f = *state;

    /* not POSIX-safe (capital letter): the mapping drops it */
    claims_with_groups(f, "[\"dev\",\"Contractors\"]");
    provider(f, "deny_groups = contractors-x, contractors\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'contractors' (the IdP sends "
                     "'Contractors')");
    /* the rule in capitals, the IdP in small letters: ASCII case does not matter either way */
    claims_with_groups(f, "[\"contractors\"]");
    provider(f, "deny_groups = CONTRACTORS\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'CONTRACTORS' (the IdP sends "
                     "'contractors')");
    /* lower-cased by the mapping: still the IdP's spelling in the message */
    claims_with_groups(f, "[\"ConTractors-X\"]");
    provider(f, "lowercase = yes\ndeny_groups = contractors-x\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'contractors-x' (the IdP sends "
                     "'ConTractors-X')");
    /* not POSIX-safe ('@', '!'), longer than 32 bytes: dropped by the mapping, seen here */
    claims_with_groups(f, "[\"ext@corp.example\"]");
    provider(f, "deny_groups = ext@corp.example\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'ext@corp.example'");
    claims_with_groups(f, "[\"contractors!\"]");
    provider(f, "deny_groups = contractors!\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'contractors!'");
    claims_with_groups(f, "[\"external-contractors-of-the-night-shift\"]");
    provider(f, "deny_groups = external-contractors-of-the-night-shift\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group "
                     "'external-contractors-of-the-night-shift'");
    /* not in group_allow: not mapped, still denied */
    claims_with_groups(f, "[\"dev\",\"contractors-x\"]");
    provider(f, "group_allow = dev\ndeny_groups = contractors-x\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'contractors-x'");
    /* a single string value */
    claims_with_groups(f, "\"Contractors-X\"");
    provider(f, "deny_groups = contractors-x\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'contractors-x' (the IdP sends "
                     "'Contractors-X')");
    /* the same name, not a prefix, substring or glob of it */
    claims_with_groups(f, "[\"contractors-xy\",\"xcontractors-x\",\"contractors\"]");
    provider(f, "deny_groups = contractors-x, contractors-*\n");
    mapped_allowed(f);
}

static void test_deny_groups_raw_local_group_name(void **state)
{
    struct fixture *f = *state;
    struct oidc_identity *id = NULL;

    /* 'contractors' and 'wheel' are local groups in the fixture: the mapping drops them */
    claims_with_groups(f, "[\"dev\",\"contractors\"]");
    provider(f, "deny_groups = contractors\n");
    assert_int_equal(mapped_check(f, &id), OIDC_ERR_DENIED);
    assert_string_equal(f->err.msg, "deny_groups: user 'alice' is in group 'contractors'");
    assert_int_equal(id->n_groups, 1);
    assert_string_equal(id->groups[0].name, "dev");
    oidc_identity_free(id);
    claims_with_groups(f, "[\"wheel\"]");
    provider(f, "deny_groups = wheel\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'wheel'");
}

static void test_deny_groups_raw_prefixed_rule(void **state)
{
    struct fixture *f = *state;

    /* a rule written with group_prefix (the mapped name) still holds */
    claims_with_groups(f, "[\"dev\",\"Contractors-X\"]");
    provider(f, "group_prefix = corp-\ndeny_groups = corp-contractors-x\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'corp-contractors-x' (the IdP sends "
                     "'Contractors-X')");
    /* the prefix is only taken off a rule, never added to one: 'corp-' alone names nothing */
    claims_with_groups(f, "[\"dev\"]");
    provider(f, "group_prefix = corp-\ndeny_groups = corp-\n");
    mapped_allowed(f);
}

static void test_deny_groups_raw_claim_not_groups(void **state)
{
    struct fixture *f = *state;

    /* a claim the mapping ignores cannot be checked against a deny list: refused */
    claims_with_groups(f, "{\"contractors\":true}");
    provider(f, "deny_groups = contractors\n");
    mapped_denied(f, "deny_groups: claim 'groups' is an object, not a string or an array of "
                     "strings, so the deny list cannot be checked");
    claims_with_groups(f, "7");
    mapped_denied(f, "deny_groups: claim 'groups' is a number, not a string or an array of "
                     "strings, so the deny list cannot be checked");
    /* null and non-string elements: no groups, nothing to refuse */
    claims_with_groups(f, "null");
    mapped_allowed(f);
    claims_with_groups(f, "[7,true,{\"a\":1},\"dev\"]");
    mapped_allowed(f);
    /* without deny rules the claim's shape only means "no groups" */
    claims_with_groups(f, "{\"contractors\":true}");
    provider(f, "deny_users = bob\n");
    mapped_allowed(f);
}

static void test_deny_groups_nested_claim_path(void **state)
{
    struct fixture *f = *state;
    static const char json[] = "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\","
                               "\"preferred_username\":\"alice\",\"groups\":[\"dev\"],"
                               "\"realm_access\":{\"roles\":[\"user\",\"Contractors\"]}}";

    cJSON_Delete(f->claims);
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &f->claims, NULL),
                     OIDC_OK);
    provider(f, "groups_claim = realm_access.roles\ndeny_groups = contractors\n");
    mapped_denied(f, "deny_groups: user 'alice' is in group 'contractors' (the IdP sends "
                     "'Contractors')");
}

static void test_allow_groups_raw(void **state)
{
    struct fixture *f = *state;
    char list[8192];

    /* the allowed group past the mapping's limit, and one the mapping drops, both count */
    many_groups(list, sizeof(list), 300, 280, "Release");
    claims_with_groups(f, list);
    provider(f, "allow_groups = release\n");
    mapped_allowed(f);
    claims_with_groups(f, "[\"dev\",\"releasers\"]");
    mapped_denied(f, "allow_groups: user 'alice' is in none of the allowed groups (release)");
}

static void test_require_group_argument_raw(void **state)
{
    struct fixture *f = *state;
    char list[8192];

    /* sudo's require_group= sees the raw claim too: spelled otherwise, past the limit */
    many_groups(list, sizeof(list), 300, 299, "SUDOERS");
    claims_with_groups(f, list);
    provider(f, "");
    arg(f, "require_group", "sudoers");
    mapped_allowed(f);
    /* the same name, not a longer one */
    claims_with_groups(f, "[\"sudoers-x\",\"xsudoers\"]");
    mapped_denied(f, "require_group: user 'alice' is not in group 'sudoers' (module argument)");
    claims_with_groups(f, "[]");
    mapped_denied(f, "require_group: user 'alice' is not in group 'sudoers' (module argument)");
}

static void test_group_rules_cached_identity(void **state)
{
    struct fixture *f = *state;
    static const char json[] = "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\"}";

    /* the account phase of a cached user: no login (groups NULL), the mapped names, same rule */
    cJSON_Delete(f->claims);
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &f->claims, NULL),
                     OIDC_OK);
    provider(f, "deny_groups = OPS\n");
    cached_denied(f, "deny_groups: user 'alice' is in group 'OPS' (the IdP sends 'ops')");
    provider(f, "group_prefix = corp-\nallow_groups = corp-dev\n");
    assert_int_equal(check_cached(f), OIDC_OK);
    provider(f, "require_group = dev, sre\n");
    cached_denied(f, "require_group: user 'alice' is not in group 'sre'");
    /* the same claims as a token's: no groups claim, so the rule refuses */
    denied(f, "require_group is set, but the login's groups are not known: the token carries no "
              "'groups' claim; refused");
}

/* ---------------------------------------------------------------- where the groups come from */

/* Replaces f->claims with json. */
static void set_claims(struct fixture *f, const char *json)
{
    cJSON_Delete(f->claims);
    f->claims = NULL;
    assert_int_equal(oidc_json_parse_object(json, strlen(json), "claims", &f->claims, NULL),
                     OIDC_OK);
}

static void test_groups_overage_markers(void **state)
{
    struct fixture *f = *state;
    char m[64];

    (void)f;
    set_claims(f, "{\"sub\":\"1\",\"_claim_names\":{\"groups\":\"src1\"},"
                  "\"_claim_sources\":{\"src1\":{\"endpoint\":\"https://graph.example/x\"}}}");
    assert_true(oidc_groups_overage(f->claims, "groups", m, sizeof(m)));
    assert_string_equal(m, "_claim_names.groups");
    /* another claim's distributed source is no marker for groups */
    assert_false(oidc_groups_overage(f->claims, "roles", m, sizeof(m)));
    set_claims(f, "{\"sub\":\"1\",\"hasgroups\":true}");
    assert_true(oidc_groups_overage(f->claims, "groups", m, sizeof(m)));
    assert_string_equal(m, "hasgroups");
    set_claims(f, "{\"sub\":\"1\",\"hasgroups\":\"true\"}");
    assert_true(oidc_groups_overage(f->claims, "groups", m, sizeof(m)));
    set_claims(f, "{\"sub\":\"1\",\"hasgroups\":false,\"_claim_names\":\"groups\"}");
    assert_false(oidc_groups_overage(f->claims, "groups", m, sizeof(m)));
    assert_string_equal(m, "");
    set_claims(f, "{\"sub\":\"1\",\"_claim_names\":{\"realm_access\":\"s\"}}");
    assert_true(oidc_groups_overage(f->claims, "realm_access.roles", m, sizeof(m)));
    assert_string_equal(m, "_claim_names.realm_access");
    assert_false(oidc_groups_overage(f->claims, "", m, sizeof(m)));
}

/* A token with the overage marker is refused, naming the marker, whatever the rules; with a
 * partial groups list too (the list is known to be incomplete). */
static void test_groups_overage_refused(void **state)
{
    struct fixture *f = *state;

    set_claims(f, "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\",\"groups\":[\"dev\"],"
                  "\"_claim_names\":{\"groups\":\"src1\"},\"_claim_sources\":{\"src1\":{}}}");
    provider(f, "deny_groups = contractors\n");
    denied(f, "the token carries the groups overage marker '_claim_names.groups' (the IdP left "
              "the groups out, as Entra ID does beyond 200): refused (groups_overage = refuse)");
    provider(f, "");
    denied(f, "the token carries the groups overage marker '_claim_names.groups' (the IdP left "
              "the groups out, as Entra ID does beyond 200): refused (groups_overage = refuse)");
    set_claims(f, "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\",\"hasgroups\":true}");
    provider(f, "groups_overage = userinfo\n");
    denied(f, "the token carries the groups overage marker 'hasgroups' (the IdP left the groups "
              "out); groups_overage = userinfo needs a device login (this token came without an "
              "access token for userinfo): refused");
    /* groups off: no marker matters */
    provider(f, "groups_claim =\n");
    allowed(f);
}

/* groups_source = userinfo for a presented token: no groups (never the token's own list), so a
 * group rule refuses and a login without group rules maps no groups. */
static void test_groups_source_userinfo_token_login(void **state)
{
    struct fixture *f = *state;
    struct oidc_identity *id = NULL;

    provider(f, "groups_source = userinfo\ndeny_groups = contractors\n");
    denied(f, "deny_groups is set, but the login's groups are not known: groups_source = "
              "userinfo, but this token came without an access token to fetch userinfo with; "
              "refused");
    provider(f, "groups_source = userinfo\n");
    arg(f, "require_group", "dev");
    denied(f, "require_group (module argument) is set, but the login's groups are not known: "
              "groups_source = userinfo, but this token came without an access token to fetch "
              "userinfo with; refused");
    set_claims(f, "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\","
                  "\"preferred_username\":\"alice\",\"groups\":[\"dev\",\"ops\"]}");
    provider(f, "groups_source = userinfo\n");
    assert_int_equal(oidc_idmap_map(f->cfg->providers[0], &fixenv, f->claims, &id, &f->err),
                     OIDC_OK);
    assert_int_equal(id->n_groups, 0);
    oidc_identity_free(id);
}

/* deny_groups with no groups claim: refused, not passed (the old silent pass). */
static void test_groups_missing_deny_refused(void **state)
{
    struct fixture *f = *state;

    set_claims(f, "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\"}");
    provider(f, "deny_groups = contractors\n");
    denied(f, "deny_groups is set, but the login's groups are not known: the token carries no "
              "'groups' claim; refused");
    provider(f, "groups_claim =\ndeny_groups = contractors\n");
    denied(f, "deny_groups is set, but the login's groups are not known: groups_claim is empty "
              "(groups are off); refused");
    /* no group rule: the login goes on, with no groups */
    provider(f, "deny_users = bob\n");
    allowed(f);
}

/* Entra ID object IDs: 36 bytes, past the POSIX name rule, so the mapping skips them (also with
 * a prefix); the group rules still see and name them (docs/groups.md, section 4). */
static void test_groups_entra_object_ids(void **state)
{
    struct fixture *f = *state;
    struct oidc_identity *id = NULL;

    claims_with_groups(f, "[\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\","
                          "\"a1b2c3d4-0000-4000-8000-000000000001\",\"dev\"]");
    provider(f, "group_prefix = entra-\ndeny_groups = 3f2504e0-4f89-11d3-9a0c-0305e82c3301\n");
    assert_int_equal(mapped_check(f, &id), OIDC_ERR_DENIED);
    assert_string_equal(f->err.msg, "deny_groups: user 'alice' is in group "
                                    "'3f2504e0-4f89-11d3-9a0c-0305e82c3301'");
    assert_int_equal(id->n_groups, 1);
    assert_string_equal(id->groups[0].name, "entra-dev");
    oidc_identity_free(id);
    provider(f, "require_group = a1b2c3d4-0000-4000-8000-000000000001\n");
    assert_int_equal(mapped_check(f, &id), OIDC_OK);
    assert_int_equal(id->n_groups, 1);
    assert_string_equal(id->groups[0].name, "dev");
    oidc_identity_free(id);
}

/* The userinfo subject must be the ID token's (OpenID Connect Core 5.3.2). */
static void test_groups_userinfo_subject(void **state)
{
    struct fixture *f = *state;
    struct oidc_groups g;
    struct oidc_err err = {0};
    cJSON *ui = NULL;
    static const char other[] = "{\"sub\":\"impostor\",\"groups\":[\"admins\"]}";
    static const char nosub[] = "{\"groups\":[\"admins\"]}";
    static const char same[] = "{\"sub\":\"1\",\"groups\":[\"admins\",\"ops\"]}";
    static const char none[] = "{\"sub\":\"1\"}";
    static const char over[] = "{\"sub\":\"1\",\"hasgroups\":true}";

    set_claims(f, "{\"iss\":\"https://idp.example.test\",\"sub\":\"1\",\"groups\":[\"dev\"]}");
    provider(f, "groups_source = userinfo\nrequire_group = admins\n");
    assert_int_equal(oidc_json_parse_object(other, strlen(other), "u", &ui, NULL), OIDC_OK);
    assert_int_equal(
        oidc_groups_from_userinfo(f->cfg->providers[0], f->claims, ui, "test", &g, &err),
        OIDC_ERR_TOKEN);
    assert_string_equal(err.msg, "userinfo is for subject 'impostor', but the ID token is for "
                                 "'1' (OpenID Connect Core 5.3.2): refused");
    assert_int_equal(oidc_json_parse_object(nosub, strlen(nosub), "u", &ui, NULL), OIDC_OK);
    assert_int_equal(
        oidc_groups_from_userinfo(f->cfg->providers[0], f->claims, ui, "test", &g, &err),
        OIDC_ERR_TOKEN);
    assert_string_equal(err.msg, "userinfo (asked because test) has no 'sub' string: refused");
    assert_int_equal(oidc_json_parse_object(over, strlen(over), "u", &ui, NULL), OIDC_OK);
    assert_int_equal(
        oidc_groups_from_userinfo(f->cfg->providers[0], f->claims, ui, "test", &g, &err),
        OIDC_ERR_DENIED);
    assert_string_equal(err.msg, "userinfo (asked because test) carries the groups overage "
                                 "marker 'hasgroups' too: refused");
    /* the same subject: userinfo's groups are what the rules see, not the ID token's */
    assert_int_equal(oidc_json_parse_object(same, strlen(same), "u", &ui, NULL), OIDC_OK);
    assert_int_equal(
        oidc_groups_from_userinfo(f->cfg->providers[0], f->claims, ui, "test", &g, &err), OIDC_OK);
    assert_int_equal(g.from, OIDC_GROUPS_FROM_USERINFO);
    assert_int_equal(
        oidc_policy_check_groups(f->cfg, f->cfg->providers[0], &alice, f->claims, &g, &err),
        OIDC_OK);
    provider(f, "groups_source = userinfo\nrequire_group = dev\n");
    assert_int_equal(
        oidc_policy_check_groups(f->cfg, f->cfg->providers[0], &alice, f->claims, &g, &err),
        OIDC_ERR_DENIED);
    assert_string_equal(err.msg, "require_group: user 'alice' is not in group 'dev'");
    oidc_groups_clear(&g);
    /* userinfo without the claim: no groups, and the rule says why */
    assert_int_equal(oidc_json_parse_object(none, strlen(none), "u", &ui, NULL), OIDC_OK);
    assert_int_equal(
        oidc_groups_from_userinfo(f->cfg->providers[0], f->claims, ui, "test", &g, &err), OIDC_OK);
    assert_int_equal(g.from, OIDC_GROUPS_FROM_NONE);
    assert_int_equal(
        oidc_policy_check_groups(f->cfg, f->cfg->providers[0], &alice, f->claims, &g, &err),
        OIDC_ERR_DENIED);
    assert_string_equal(err.msg, "require_group is set, but the login's groups are not known: "
                                 "userinfo (asked because test) carries no 'groups' claim; "
                                 "refused");
    oidc_groups_clear(&g);
}

/* ---------------------------------------------------------------- order */

static void test_rules_order(void **state)
{
    struct fixture *f = *state;

    /* every rule fails; the first in the documented order is reported */
    provider(f, "deny_groups = dev\nallow_users = bob\nrequire_group = admins\n"
                "require_claim = environment=x\n");
    denied(f, "deny_groups: user 'alice' is in group 'dev'");
    provider(f, "allow_users = bob\nallow_groups = admins\nrequire_group = admins\n"
                "require_claim = environment=x\n");
    denied(f, "allow_users: user 'alice' matches none of the allowed patterns (bob)");
    provider(f, "allow_groups = admins\nrequire_group = admins\nrequire_claim = environment=x\n");
    denied(f, "allow_groups: user 'alice' is in none of the allowed groups (admins)");
    provider(f, "require_group = admins\nrequire_claim = environment=x\n");
    arg(f, "require_group", "sre");
    denied(f, "require_group: user 'alice' is not in group 'admins'");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_rules_allows),
        T(test_bad_arguments_refused),
        T(test_deny_users_refused),
        T(test_deny_users_wins_over_allow_users),
        T(test_deny_groups_refused),
        T(test_deny_groups_wins_over_allow_groups),
        T(test_deny_groups_exact_names),
        T(test_allow_users_match),
        T(test_allow_users_refused),
        T(test_allow_groups_match),
        T(test_allow_groups_refused),
        T(test_allow_groups_no_groups_refused),
        T(test_require_group_present),
        T(test_require_group_missing),
        T(test_require_group_argument_missing),
        T(test_require_group_argument_present),
        T(test_require_claim_exact),
        T(test_require_claim_exact_mismatch),
        T(test_require_claim_glob),
        T(test_require_claim_glob_mismatch),
        T(test_require_claim_glob_star_crosses_slash),
        T(test_require_claim_ref_main),
        T(test_require_claim_ref_dev_refused),
        T(test_require_claim_array_element),
        T(test_require_claim_array_no_match),
        T(test_require_claim_number),
        T(test_require_claim_number_mismatch),
        T(test_require_claim_bool),
        T(test_require_claim_bool_mismatch),
        T(test_require_claim_nested_path),
        T(test_require_claim_nested_path_mismatch),
        T(test_require_claim_missing),
        T(test_require_claim_object_refused),
        T(test_require_claim_null_refused),
        T(test_require_claim_all_required),
        T(test_require_claim_argument_adds),
        T(test_require_claim_argument_cannot_relax),
        T(test_require_claim_argument_passes),
        T(test_require_claim_value_escaped),
        T(test_require_claim_long_value_cut),
        T(test_require_claim_malformed_rule_fails_closed),
        T(test_rules_order),
        T(test_deny_groups_raw_position_257),
        T(test_deny_groups_raw_overflow_refused),
        T(test_deny_groups_raw_spelling),
        T(test_deny_groups_raw_local_group_name),
        T(test_deny_groups_raw_prefixed_rule),
        T(test_deny_groups_raw_claim_not_groups),
        T(test_deny_groups_nested_claim_path),
        T(test_allow_groups_raw),
        T(test_require_group_argument_raw),
        T(test_group_rules_cached_identity),
        T(test_groups_overage_markers),
        T(test_groups_overage_refused),
        T(test_groups_source_userinfo_token_login),
        T(test_groups_missing_deny_refused),
        T(test_groups_userinfo_subject),
        T(test_groups_entra_object_ids),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
