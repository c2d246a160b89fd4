/* conf: the key table, the INI grammar, module arguments, safe file loading, drop-ins, checks and
 * the client secret. File tests create files under a mkdtemp() directory and need root (the
 * loader insists on root-owned files); they skip when not run as root. */
#define _GNU_SOURCE
#include "config.h"
#include "conf.h"
#include "jwk.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ISSUER  "https://idp.example.com/realms/corp"
#define MINIMAL "[provider corp]\nissuer = " ISSUER "\nclient_id = shell\n"

/* ---------------------------------------------------------------- helpers */

/* Parses text as "test.conf" into a new configuration; returns the status, *out always set. */
static int parse(const char *text, struct oidc_cfg **out, struct oidc_err *err)
{
    struct oidc_cfg *cfg = oidc_cfg_new();

    assert_non_null(cfg);
    memset(err, 0, sizeof(*err));
    *out = cfg;
    return oidc_cfg_parse_text(cfg, text, strlen(text), "test.conf", err);
}

/* Parses text that must be refused with OIDC_ERR_CONFIG and a message containing want. */
static void parse_fails(const char *text, const char *want)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;
    int r = parse(text, &cfg, &err);

    if (r != OIDC_ERR_CONFIG || strstr(err.msg, want) == NULL)
        fail_msg("text:\n%s\nstatus %d, message \"%s\"\nwanted \"%s\"", text, r, err.msg, want);
    oidc_cfg_free(cfg);
}

/* Parses and checks text that must pass both; returns the configuration. */
static struct oidc_cfg *parse_ok(const char *text)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;
    int r = parse(text, &cfg, &err);

    if (r == OIDC_OK)
        r = oidc_cfg_check(cfg, &err);
    if (r != OIDC_OK)
        fail_msg("text:\n%s\nstatus %d, message \"%s\"", text, r, err.msg);
    return cfg;
}

/* Parses text (which must parse) and expects oidc_cfg_check() to refuse it with want. */
static void check_fails(const char *text, const char *want)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;
    int r = parse(text, &cfg, &err);

    if (r != OIDC_OK)
        fail_msg("text:\n%s\nparse failed: %s", text, err.msg);
    memset(&err, 0, sizeof(err));
    r = oidc_cfg_check(cfg, &err);
    if (r != OIDC_ERR_CONFIG || strstr(err.msg, want) == NULL)
        fail_msg("text:\n%s\ncheck status %d, message \"%s\"\nwanted \"%s\"", text, r, err.msg,
                 want);
    oidc_cfg_free(cfg);
}

static void assert_msg(const struct oidc_err *err, const char *want)
{
    if (strstr(err->msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err->msg, want);
}

/* A temporary directory per file test. */
static int tmpdir_setup(void **state)
{
    char *dir = strdup("/tmp/test_conf.XXXXXX");

    if (dir == NULL || mkdtemp(dir) == NULL) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int tmpdir_teardown(void **state)
{
    char *dir = *state;

    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return 0;
}

static void need_root(void)
{
    if (geteuid() != 0) {
        print_message("not root: the loader only accepts root-owned files; skipped\n");
        skip();
    }
}

/* Writes dir/name (dir may be a path below the temp dir) with the given mode; returns the path
 * in buf. */
static const char *write_file(char *buf, size_t n, const char *dir, const char *name,
                              const char *content, size_t len, mode_t mode)
{
    int fd;

    snprintf(buf, n, "%s/%s", dir, name);
    fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
    return buf;
}

static const char *write_text(char *buf, size_t n, const char *dir, const char *name,
                              const char *content, mode_t mode)
{
    return write_file(buf, n, dir, name, content, strlen(content), mode);
}

/* oidc_cfg_load() with one config= argument plus extra arguments. */
static int load_with(const char *path, int extra_argc, const char **extra, struct oidc_cfg **cfg,
                     struct oidc_err *err)
{
    char arg[512];
    const char *argv[8];
    int i, argc = 0;

    snprintf(arg, sizeof(arg), "config=%s", path);
    argv[argc++] = arg;
    for (i = 0; i < extra_argc && argc < 8; i++)
        argv[argc++] = extra[i];
    memset(err, 0, sizeof(*err));
    *cfg = NULL;
    return oidc_cfg_load(argc, argv, cfg, err);
}

/* ---------------------------------------------------------------- objects and defaults */

static void test_new_defaults(void **state)
{
    struct oidc_cfg *cfg = oidc_cfg_new();

    (void)state;
    assert_non_null(cfg);
    assert_string_equal(cfg->state_dir, STATEDIR);
    assert_int_equal(cfg->debug, 0);
    assert_null(cfg->default_provider);
    assert_null(cfg->config_path);
    assert_int_equal(cfg->n_providers, 0);
    assert_int_equal(oidc_cfg_check(cfg, NULL), OIDC_OK);
    oidc_cfg_free(cfg);
}

static void test_free_null(void **state)
{
    (void)state;
    oidc_cfg_free(NULL);
}

static void test_provider_defaults(void **state)
{
    struct oidc_cfg *cfg = parse_ok(MINIMAL);
    const struct oidc_provider_cfg *p;

    (void)state;
    assert_int_equal(cfg->n_providers, 1);
    p = cfg->providers[0];
    assert_string_equal(p->name, "corp");
    assert_string_equal(p->issuer, ISSUER);
    assert_string_equal(p->client_id, "shell");
    assert_null(p->client_secret_file);
    assert_int_equal(p->client_auth, OIDC_CLIENT_AUTH_BASIC);
    assert_int_equal(p->audiences.n, 0);
    assert_non_null(p->audiences.v);
    assert_null(p->audiences.v[0]);
    assert_string_equal(p->scope, "openid profile email");
    assert_int_equal(p->algs, OIDC_ALGS_DEFAULT);
    assert_int_equal(p->leeway, 60);
    assert_int_equal(p->max_token_age, 0);
    assert_null(p->acr);
    assert_null(p->ca_file);
    assert_int_equal(p->insecure_http_loopback, 0);
    assert_int_equal(p->connect_timeout, 5);
    assert_int_equal(p->timeout, 15);
    assert_int_equal(p->jwks_cooldown, 60);
    assert_int_equal(p->jwks_max_stale, OIDC_JWKS_MAX_STALE_DEFAULT);
    assert_int_equal(p->userinfo, 0);
    assert_int_equal(p->username_claims.n, 1);
    assert_string_equal(p->username_claims.v[0], "preferred_username");
    assert_null(p->username_claims.v[1]);
    assert_null(p->username_template);
    assert_int_equal(p->require_email_verified, 1);
    assert_int_equal(p->strip_domain, 0);
    assert_int_equal(p->lowercase, 0);
    assert_string_equal(p->groups_claim, "groups");
    assert_null(p->group_prefix);
    assert_int_equal(p->group_allow.n, 0);
    assert_non_null(p->group_allow.v);
    assert_int_equal(p->uid_key, OIDC_UID_KEY_NAME);
    assert_null(p->uid_claim);
    assert_int_equal(p->uid_min, OIDC_UID_MIN_DEFAULT);
    assert_int_equal(p->uid_max, OIDC_UID_MAX_DEFAULT);
    assert_string_equal(p->home, "/home/{name}");
    assert_string_equal(p->shell, "/bin/bash");
    oidc_cfg_free(cfg);
}

static void test_every_key_parses(void **state)
{
    struct oidc_cfg *cfg = parse_ok("[global]\n"
                                    "state_dir = /var/lib/oidc-test\n"
                                    "debug = yes\n"
                                    "default_provider = corp\n"
                                    "[provider corp]\n"
                                    "issuer = " ISSUER "\n"
                                    "client_id = shell\n"
                                    "client_secret_file = /etc/nss-pam-oidc/corp.secret\n"
                                    "client_auth = post\n"
                                    "audience = shell, api\n"
                                    "scope = openid email groups\n"
                                    "algorithms = RS256 ES256\n"
                                    "leeway = 30\n"
                                    "max_token_age = 1h\n"
                                    "acr = urn:mfa\n"
                                    "ca_file = /etc/ssl/corp-ca.pem\n"
                                    "insecure_http_loopback = no\n"
                                    "connect_timeout = 3\n"
                                    "timeout = 2m\n"
                                    "jwks_cooldown = 1d\n"
                                    "jwks_max_stale = 7d\n"
                                    "userinfo = on\n"
                                    "username_claim = preferred_username email\n"
                                    "username_template = ci-{repository_owner}\n"
                                    "require_email_verified = no\n"
                                    "strip_domain = true\n"
                                    "lowercase = 1\n"
                                    "groups_claim = realm_access.roles\n"
                                    "groups_source = userinfo\n"
                                    "groups_overage = userinfo\n"
                                    "group_prefix = corp-\n"
                                    "group_allow = admins, dev-*\n"
                                    "uid_key = subject\n"
                                    "uid_min = 0x60000000\n"
                                    "uid_max = 1879048191\n"
                                    "home = /srv/home/{name}\n"
                                    "shell = /bin/zsh\n");
    const struct oidc_provider_cfg *p = cfg->providers[0];

    (void)state;
    assert_string_equal(cfg->state_dir, "/var/lib/oidc-test");
    assert_int_equal(cfg->debug, 1);
    assert_string_equal(cfg->default_provider, "corp");
    assert_string_equal(p->client_secret_file, "/etc/nss-pam-oidc/corp.secret");
    assert_int_equal(p->client_auth, OIDC_CLIENT_AUTH_POST);
    assert_int_equal(p->audiences.n, 2);
    assert_string_equal(p->audiences.v[0], "shell");
    assert_string_equal(p->audiences.v[1], "api");
    assert_null(p->audiences.v[2]);
    assert_string_equal(p->scope, "openid email groups");
    assert_int_equal(p->algs, OIDC_ALG_RS256 | OIDC_ALG_ES256);
    assert_int_equal(p->leeway, 30);
    assert_int_equal(p->max_token_age, 3600);
    assert_string_equal(p->acr, "urn:mfa");
    assert_string_equal(p->ca_file, "/etc/ssl/corp-ca.pem");
    assert_int_equal(p->insecure_http_loopback, 0);
    assert_int_equal(p->connect_timeout, 3);
    assert_int_equal(p->timeout, 120);
    assert_int_equal(p->jwks_cooldown, 86400);
    assert_int_equal(p->jwks_max_stale, 7 * 86400);
    assert_int_equal(p->userinfo, 1);
    assert_int_equal(p->username_claims.n, 2);
    assert_string_equal(p->username_claims.v[1], "email");
    assert_string_equal(p->username_template, "ci-{repository_owner}");
    assert_int_equal(p->require_email_verified, 0);
    assert_int_equal(p->strip_domain, 1);
    assert_int_equal(p->lowercase, 1);
    assert_string_equal(p->groups_claim, "realm_access.roles");
    assert_int_equal(p->groups_source, OIDC_GROUPS_SOURCE_USERINFO);
    assert_int_equal(p->groups_overage, OIDC_GROUPS_OVERAGE_USERINFO);
    assert_string_equal(p->group_prefix, "corp-");
    assert_int_equal(p->group_allow.n, 2);
    assert_string_equal(p->group_allow.v[1], "dev-*");
    assert_int_equal(p->uid_key, OIDC_UID_KEY_SUBJECT);
    assert_int_equal(p->uid_min, 0x60000000u);
    assert_int_equal(p->uid_max, 1879048191u);
    assert_string_equal(p->home, "/srv/home/{name}");
    assert_string_equal(p->shell, "/bin/zsh");
    oidc_cfg_free(cfg);
}

/* ---------------------------------------------------------------- grammar */

static void test_unknown_key_suggests(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nissuer = " ISSUER "\nclientid = shell\n",
                "test.conf:3: clientid: unknown key (did you mean 'client_id'?)");
    parse_fails("[provider corp]\nisuer = " ISSUER "\n",
                "test.conf:2: isuer: unknown key (did you mean 'issuer'?)");
    parse_fails("[provider corp]\nusername_claims = email\n", "(did you mean 'username_claim'?)");
    /* a transposition is one edit; case is folded */
    parse_fails("[provider corp]\nscoep = openid\n", "(did you mean 'scope'?)");
    parse_fails("[provider corp]\nClient_ID = x\n", "(did you mean 'client_id'?)");
    /* keys of another section are still suggested */
    parse_fails("[provider corp]\nstate_dri = /x\n", "(did you mean 'state_dir'?)");
}

static void test_unknown_key_without_suggestion(void **state)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;

    (void)state;
    assert_int_equal(parse("[provider corp]\nfrobnicate = 1\n", &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "test.conf:2: frobnicate: unknown key in a [provider NAME] section");
    assert_null(strstr(err.msg, "did you mean"));
    oidc_cfg_free(cfg);
}

static void test_client_secret_key_refused(void **state)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;

    (void)state;
    assert_int_equal(parse("[provider corp]\nclient_secret = s3cr3t-value\n", &cfg, &err),
                     OIDC_ERR_CONFIG);
    assert_msg(&err, "client_secret_file");
    assert_null(strstr(err.msg, "s3cr3t"));
    oidc_cfg_free(cfg);
}

static void test_key_before_section(void **state)
{
    (void)state;
    parse_fails("# top\nissuer = " ISSUER "\n[provider corp]\n",
                "test.conf:2: issuer: outside of any section");
}

static void test_key_in_wrong_section(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nstate_dir = /x\n",
                "test.conf:2: state_dir: not allowed in a [provider NAME] section (it belongs in "
                "[global])");
    parse_fails("[global]\nissuer = " ISSUER "\n",
                "test.conf:2: issuer: not allowed in [global] (it belongs in a [provider NAME] "
                "section)");
    /* module-argument-only keys are not file keys */
    parse_fails("[global]\nprovider = corp\n", "provider: not allowed in [global]");
    parse_fails("[global]\nconfig = /etc/x.conf\n", "config: not allowed in [global]");
}

static void test_bool_values(void **state)
{
    static const char *const yes[] = {"yes", "true", "on", "1", "YES", "True"};
    static const char *const no[] = {"no", "false", "off", "0", "No", "OFF"};
    char text[128];
    struct oidc_cfg *cfg;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        snprintf(text, sizeof(text), "[global]\ndebug = %s\n", yes[i]);
        cfg = parse_ok(text);
        assert_int_equal(cfg->debug, 1);
        oidc_cfg_free(cfg);
        snprintf(text, sizeof(text), "[global]\ndebug = %s\n", no[i]);
        cfg = parse_ok(text);
        assert_int_equal(cfg->debug, 0);
        oidc_cfg_free(cfg);
    }
}

static void test_bad_bool(void **state)
{
    (void)state;
    parse_fails("[global]\ndebug = maybe\n",
                "test.conf:2: debug: 'maybe' is not a boolean (expected yes or no)");
    parse_fails("[provider corp]\nuserinfo = 2\n", "userinfo: '2' is not a boolean");
    parse_fails("[provider corp]\ngroups_source = graph\n", "groups_source: 'graph'");
    parse_fails("[provider corp]\ngroups_overage = ignore\n", "groups_overage: 'ignore'");
    parse_fails("[global]\ndebug =\n", "test.conf:2: debug: is empty (expected yes or no)");
}

static void test_leeway_range(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    parse_fails("[provider corp]\nleeway = 301\n",
                "test.conf:2: leeway: '301' is out of range (expected 0 to 300 seconds)");
    parse_fails("[provider corp]\nleeway = -1\n", "leeway: '-1' is not a number");
    parse_fails("[provider corp]\nleeway = 60 # seconds\n", "leeway: '60 # seconds' is not");
    parse_fails("[provider corp]\nleeway = 6m\n", "leeway: '6m' is out of range");
    parse_fails("[provider corp]\nleeway = 5x\n", "leeway: '5x' has an unknown unit");
    parse_fails("[provider corp]\nleeway = 99999999999999999999999\n", "is out of range");
    cfg = parse_ok(MINIMAL "leeway = 300\n");
    assert_int_equal(cfg->providers[0]->leeway, 300);
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "leeway = 0\n");
    assert_int_equal(cfg->providers[0]->leeway, 0);
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "leeway = 5m\n");
    assert_int_equal(cfg->providers[0]->leeway, 300);
    oidc_cfg_free(cfg);
}

static void test_timeout_ranges(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nconnect_timeout = 0\n",
                "connect_timeout: '0' is out of range (expected 1 to 60 seconds)");
    parse_fails("[provider corp]\nconnect_timeout = 61\n", "connect_timeout: '61' is out of range");
    parse_fails("[provider corp]\ntimeout = 301\n", "timeout: '301' is out of range");
    parse_fails("[provider corp]\njwks_cooldown = 86401\n",
                "jwks_cooldown: '86401' is out of range (expected 1 to 86400 seconds)");
    parse_fails("[provider corp]\njwks_cooldown = 2d\n", "jwks_cooldown: '2d' is out of range");
    /* no "no limit" value: an unbounded stale key set keeps withdrawn keys alive */
    parse_fails("[provider corp]\njwks_max_stale = 0\n",
                "jwks_max_stale: '0' is out of range (expected 1 to 2592000 seconds)");
    parse_fails("[provider corp]\njwks_max_stale = 31d\n", "jwks_max_stale: '31d' is out of range");
    parse_fails("[provider corp]\nmax_token_age = -5\n", "max_token_age: '-5' is not a number");
}

static void test_lists(void **state)
{
    struct oidc_cfg *cfg;
    const struct oidc_provider_cfg *p;

    (void)state;
    cfg = parse_ok(MINIMAL "audience = a, b c,d\t,e\n"
                           "group_allow =\n");
    p = cfg->providers[0];
    assert_int_equal(p->audiences.n, 5);
    assert_string_equal(p->audiences.v[0], "a");
    assert_string_equal(p->audiences.v[3], "d");
    assert_string_equal(p->audiences.v[4], "e");
    assert_null(p->audiences.v[5]);
    assert_int_equal(p->group_allow.n, 0);
    assert_non_null(p->group_allow.v);
    oidc_cfg_free(cfg);
    parse_fails("[provider corp]\nusername_claim =\n", "username_claim: is empty");
    parse_fails("[provider corp]\nusername_claim = , ,\n", "username_claim: ', ,' has no items");
}

static void test_enum(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nclient_auth = digest\n",
                "test.conf:2: client_auth: 'digest' is not a known value (expected basic or "
                "post)");
}

static void test_paths_absolute(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nca_file = certs/ca.pem\n",
                "ca_file: 'certs/ca.pem' is not an absolute path (expected an absolute path)");
    parse_fails("[global]\nstate_dir = var/lib\n", "state_dir: 'var/lib' is not an absolute path");
    parse_fails("[provider corp]\nclient_secret_file = secret\n",
                "client_secret_file: 'secret' is not an absolute path");
    parse_fails("[provider corp]\nhome = home/{name}\n", "home: 'home/{name}' is not an absolute");
    parse_fails("[provider corp]\nshell = bash\n", "shell: 'bash' is not an absolute path");
}

static void test_scope_needs_openid(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nscope = profile email\n",
                "scope: 'profile email' does not include openid");
    parse_fails("[provider corp]\nscope = openidx\n", "does not include openid");
}

static void test_quoted_values(void **state)
{
    struct oidc_cfg *cfg;
    const struct oidc_provider_cfg *p;

    (void)state;
    cfg = parse_ok("[provider corp]\n"
                   "issuer = \"" ISSUER "\"\n"
                   "client_id = \" shell \"\n"
                   "scope = \"openid  email\"\n"
                   "group_prefix = \"\"\n"
                   "groups_claim = \"\"\n"
                   "username_template = \"a\"b\"\n");
    p = cfg->providers[0];
    assert_string_equal(p->issuer, ISSUER);
    assert_string_equal(p->client_id, " shell ");
    assert_string_equal(p->scope, "openid  email");
    assert_null(p->group_prefix);
    assert_string_equal(p->groups_claim, "");
    assert_string_equal(p->username_template, "a\"b");
    oidc_cfg_free(cfg);
    parse_fails("[provider corp]\nclient_id = \"shell\n",
                "test.conf:2: client_id: unterminated double quote");
    parse_fails("[provider corp]\nclient_id = \"\n", "unterminated double quote");
    parse_fails("[provider corp]\nclient_id = \"\"\n", "client_id: is empty");
}

static void test_comments_blank_lines_whitespace(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok("\xef\xbb\xbf# a comment\r\n"
                   "; another comment\r\n"
                   "\r\n"
                   "   \t\n"
                   "  [ global ]  \n"
                   "\tdebug\t=\tyes  \r\n"
                   "   # indented comment with = sign\n"
                   "[provider   corp]\n"
                   "issuer=" ISSUER "\n"
                   "client_id    =    shell\n"
                   "acr = a # not a comment");
    assert_int_equal(cfg->debug, 1);
    assert_string_equal(cfg->providers[0]->client_id, "shell");
    assert_string_equal(cfg->providers[0]->acr, "a # not a comment");
    oidc_cfg_free(cfg);
    parse_fails("[global]\njust words\n",
                "test.conf:2: not a setting (expected 'key = value', a [section] header");
    parse_fails("[global]\n = yes\n", "test.conf:2: no key before '='");
}

static void test_sections(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    parse_fails("[globals]\n", "test.conf:1: unknown section [globals] (expected [global] or "
                               "[provider NAME])");
    parse_fails("[global\n", "test.conf:1: section header without a closing ']'");
    parse_fails("[provider]\n", "test.conf:1: [provider]: no provider name");
    parse_fails("[providercorp]\n", "unknown section [providercorp]");
    /* [global] may appear again; its keys still count once */
    cfg = parse_ok("[global]\ndebug = yes\n" MINIMAL "[global]\nstate_dir = /srv/oidc\n");
    assert_string_equal(cfg->state_dir, "/srv/oidc");
    oidc_cfg_free(cfg);
}

static void test_provider_name_bad_chars(void **state)
{
    char text[256];

    (void)state;
    parse_fails("[provider co rp]\n", "test.conf:1: [provider]: name 'co rp' has a character "
                                      "other than A-Z a-z 0-9 _ . -");
    parse_fails("[provider a/b]\n", "name 'a/b' has a character other than");
    parse_fails("[provider ..]\n", "name '..' starts with '.'");
    parse_fails("[provider caf\xc3\xa9]\n", "has a character other than");
    snprintf(text, sizeof(text), "[provider %065d]\n", 0);
    parse_fails(text, "is longer than 64 characters");
    snprintf(text, sizeof(text), "[provider %064d]\nissuer = " ISSUER "\nclient_id = x\n", 0);
    oidc_cfg_free(parse_ok(text));
    oidc_cfg_free(parse_ok("[provider Corp_1.prod-eu]\nissuer = " ISSUER "\nclient_id = x\n"));
}

static void test_duplicate_key(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nclient_id = a\nclient_id = b\n",
                "test.conf:3: client_id: already set for provider 'corp'");
    parse_fails("[global]\ndebug = yes\n[global]\ndebug = no\n",
                "test.conf:4: debug: already set in [global]");
    /* the same key in two providers is fine */
    oidc_cfg_free(parse_ok(MINIMAL "[provider ci]\nissuer = https://token.actions."
                                   "githubusercontent.com\nclient_id = x\n"));
}

static void test_duplicate_provider(void **state)
{
    (void)state;
    parse_fails(MINIMAL "[provider corp]\n",
                "test.conf:4: [provider corp]: provider 'corp' is already defined");
}

static void test_provider_limit(void **state)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;
    char text[64 * (OIDC_CFG_MAX_PROVIDERS + 1)];
    size_t len = 0;
    int i;

    (void)state;
    for (i = 0; i < OIDC_CFG_MAX_PROVIDERS; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "[provider p%d]\n", i);
    assert_int_equal(parse(text, &cfg, &err), OIDC_OK);
    assert_int_equal(cfg->n_providers, OIDC_CFG_MAX_PROVIDERS);
    oidc_cfg_free(cfg);
    snprintf(text + len, sizeof(text) - len, "[provider one-too-many]\n");
    parse_fails(text, "[provider one-too-many]: more than 32 providers");
}

static void test_line_length(void **state)
{
    static const char head[] = "[provider corp]\nacr = ";
    char text[1200];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    (void)state;
    /* line 2 of exactly 1024 bytes (CRLF not counted) is fine, 1025 is not */
    memset(text, 'a', sizeof(text));
    memcpy(text, head, sizeof(head) - 1);
    memcpy(text + 16 + 1024, "\r\n", 3);
    assert_int_equal(parse(text, &cfg, &err), OIDC_OK);
    assert_int_equal(strlen(cfg->providers[0]->acr), 1024 - 6);
    oidc_cfg_free(cfg);
    memcpy(text + 16 + 1024, "a\n", 3);
    parse_fails(text, "test.conf:2: line is longer than 1024 bytes");
}

static void test_control_bytes(void **state)
{
    static const char nul[] = "[global]\ndebug = y\0es\n";
    struct oidc_cfg *cfg = oidc_cfg_new();
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(oidc_cfg_parse_text(cfg, nul, sizeof(nul) - 1, "nul.conf", &err),
                     OIDC_ERR_CONFIG);
    assert_msg(&err, "nul.conf:2: line contains a NUL byte");
    oidc_cfg_free(cfg);
    parse_fails("[provider corp]\nclient_id = a\x1b[31mb\n",
                "client_id: contains a control character");
}

/* ---------------------------------------------------------------- issuer and checks */

static void test_http_issuer_refused(void **state)
{
    (void)state;
    check_fails("[provider corp]\nissuer = http://idp.example.com\nclient_id = x\n",
                "provider 'corp': issuer: 'http://idp.example.com' is not https");
    parse_fails("[provider corp]\nissuer = ftp://idp.example.com\n",
                "issuer: 'ftp://idp.example.com' does not start with https://");
    parse_fails("[provider corp]\nissuer = idp.example.com\n", "does not start with https://");
}

static void test_http_loopback_needs_flag(void **state)
{
    static const char *const loopback[] = {
        "http://127.0.0.1:8080", "http://127.1.2.3/realms/x", "http://localhost:9000/x",
        "http://LocalHost",      "http://[::1]:8443/",
    };
    static const char *const not_loopback[] = {
        "http://idp.example.com", "http://127.0.0.1.nip.io:8080",
        "http://128.0.0.1",       "http://127.0.0.1.2",
        "http://127.00.0.1",      "http://localhost.evil.com",
        "http://[::2]:8080",      "http://127.0.0.256",
        "http://0x7f.0.0.1",
    };
    char text[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        snprintf(text, sizeof(text), "[provider t]\nissuer = %s\nclient_id = x\n", loopback[i]);
        check_fails(text, "is not https");
        snprintf(text, sizeof(text),
                 "[provider t]\nissuer = %s\nclient_id = x\ninsecure_http_loopback = yes\n",
                 loopback[i]);
        oidc_cfg_free(parse_ok(text));
    }
    for (i = 0; i < sizeof(not_loopback) / sizeof(not_loopback[0]); i++) {
        snprintf(text, sizeof(text),
                 "[provider t]\nissuer = %s\nclient_id = x\ninsecure_http_loopback = yes\n",
                 not_loopback[i]);
        check_fails(text, "is http on a non-loopback host");
    }
    /* https never needs the flag, and the flag does not weaken https */
    oidc_cfg_free(parse_ok("[provider t]\nissuer = https://127.0.0.1:8443\nclient_id = x\n"
                           "insecure_http_loopback = yes\n"));
}

static void test_issuer_syntax(void **state)
{
    (void)state;
    parse_fails("[provider corp]\nissuer = https://idp.example.com/#frag\n",
                "test.conf:2: issuer: 'https://idp.example.com/#frag' has a fragment ('#') "
                "(expected https://host[:port][/path])");
    parse_fails("[provider corp]\nissuer = https://idp.example.com/?a=b\n", "has a query ('?')");
    parse_fails("[provider corp]\nissuer = https://user@idp.example.com\n",
                "contains user information");
    parse_fails("[provider corp]\nissuer = https://\n", "has no host");
    parse_fails("[provider corp]\nissuer = https:///path\n", "has no host");
    parse_fails("[provider corp]\nissuer = https://idp:0/\n", "has a bad port");
    parse_fails("[provider corp]\nissuer = https://idp:65536/\n", "has a bad port");
    parse_fails("[provider corp]\nissuer = https://idp:44x3/\n", "has a bad port");
    parse_fails("[provider corp]\nissuer = https://[::1/\n", "unterminated IPv6");
    parse_fails("[provider corp]\nissuer = https://idp example\n", "contains a blank");
    oidc_cfg_free(parse_ok("[provider corp]\nissuer = https://idp.example.com:8443/realms/a/\n"
                           "client_id = x\n"));
}

static void test_check_missing_issuer_client_id(void **state)
{
    (void)state;
    check_fails("[provider corp]\nclient_id = x\n",
                "provider 'corp': issuer: missing (expected issuer = https://...)");
    check_fails("[provider corp]\nissuer = " ISSUER "\n", "provider 'corp': client_id: missing");
    check_fails(MINIMAL "[provider second]\nissuer = " ISSUER "\n",
                "provider 'second': client_id: missing");
}

static void test_uid_values(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok(MINIMAL "uid_min = 0x10000\nuid_max = 0XfffffffE\n");
    assert_int_equal(cfg->providers[0]->uid_min, 0x10000u);
    assert_int_equal(cfg->providers[0]->uid_max, 0xFFFFFFFEu);
    oidc_cfg_free(cfg);
    parse_fails("[provider corp]\nuid_max = 0xFFFFFFFF\n", "uid_max: '0xFFFFFFFF' is out of range");
    parse_fails("[provider corp]\nuid_max = 4294967295\n", "is out of range");
    parse_fails("[provider corp]\nuid_min = 0x\n", "uid_min: '0x' is not a number");
    parse_fails("[provider corp]\nuid_min = 12a\n", "uid_min: '12a' is not a number");
    parse_fails("[provider corp]\nuid_min = -1\n", "uid_min: '-1' is not a number");
}

static void test_uid_range_below_1000(void **state)
{
    (void)state;
    check_fails(MINIMAL "uid_min = 999\nuid_max = 5000\n",
                "provider 'corp': uid_min: 999 reaches system ids (expected at least 1000");
    check_fails(MINIMAL "uid_min = 0\n", "uid_min: 0 reaches system ids");
    oidc_cfg_free(parse_ok(MINIMAL "uid_min = 1000\nuid_max = 1000\n"));
}

static void test_uid_min_above_max(void **state)
{
    (void)state;
    check_fails(MINIMAL "uid_min = 0x70000000\nuid_max = 0x6FFFFFFF\n",
                "provider 'corp': uid_min: 1879048192 (0x70000000) is above uid_max");
}

static void test_uid_key(void **state)
{
    struct oidc_cfg *cfg;
    struct oidc_provider_cfg *p;
    struct oidc_err err = {0};

    (void)state;
    cfg = parse_ok(MINIMAL "uid_key = claim:employee_number\n");
    p = cfg->providers[0];
    assert_int_equal(p->uid_key, OIDC_UID_KEY_CLAIM);
    assert_string_equal(p->uid_claim, "employee_number");
    /* check() refuses a claim key without a name (a hand-edited structure) */
    free(p->uid_claim);
    p->uid_claim = NULL;
    assert_int_equal(oidc_cfg_check(cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "provider 'corp': uid_key: claim without a claim name (expected claim:NAME)");
    oidc_cfg_free(cfg);

    cfg = parse_ok(MINIMAL "uid_key = name\n");
    assert_int_equal(cfg->providers[0]->uid_key, OIDC_UID_KEY_NAME);
    oidc_cfg_free(cfg);
    parse_fails("[provider corp]\nuid_key = claim:\n",
                "uid_key: 'claim:' names no claim (expected name, subject or claim:NAME)");
    parse_fails("[provider corp]\nuid_key = claim\n", "uid_key: 'claim' is not a uid key");
    parse_fails("[provider corp]\nuid_key = email\n", "uid_key: 'email' is not a uid key");
}

static void test_algorithms(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok(MINIMAL "algorithms = RS256,PS256, EdDSA\n");
    assert_int_equal(cfg->providers[0]->algs, OIDC_ALG_RS256 | OIDC_ALG_PS256 | OIDC_ALG_EDDSA);
    oidc_cfg_free(cfg);
    parse_fails("[provider corp]\nalgorithms = none\n", "test.conf:2: algorithms: ");
    parse_fails("[provider corp]\nalgorithms = none\n", "'none'");
    parse_fails("[provider corp]\nalgorithms = RS256 HS256\n", "test.conf:2: algorithms: ");
    parse_fails("[provider corp]\nalgorithms = RS256 HS256\n", "HS256");
    parse_fails("[provider corp]\nalgorithms = rs256\n", "rs256");
    parse_fails("[provider corp]\nalgorithms = ,\n", "algorithms: ");
}

static void test_provider_lookup(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok(MINIMAL);
    assert_ptr_equal(oidc_cfg_provider(cfg, NULL), cfg->providers[0]);
    assert_ptr_equal(oidc_cfg_provider(cfg, "corp"), cfg->providers[0]);
    assert_null(oidc_cfg_provider(cfg, "Corp"));
    oidc_cfg_free(cfg);

    cfg = parse_ok(MINIMAL "[provider ci]\nissuer = https://ci.example\nclient_id = y\n");
    assert_null(oidc_cfg_provider(cfg, NULL));
    assert_ptr_equal(oidc_cfg_provider(cfg, "ci"), cfg->providers[1]);
    oidc_cfg_free(cfg);

    cfg = parse_ok("[global]\ndefault_provider = ci\n" MINIMAL
                   "[provider ci]\nissuer = https://ci.example\nclient_id = y\n");
    assert_ptr_equal(oidc_cfg_provider(cfg, NULL), cfg->providers[1]);
    assert_ptr_equal(oidc_cfg_provider(cfg, "corp"), cfg->providers[0]);
    oidc_cfg_free(cfg);

    cfg = oidc_cfg_new();
    assert_null(oidc_cfg_provider(cfg, NULL));
    assert_null(oidc_cfg_provider(NULL, NULL));
    oidc_cfg_free(cfg);
}

static void test_default_provider_must_exist(void **state)
{
    (void)state;
    check_fails("[global]\ndefault_provider = crop\n" MINIMAL,
                "default_provider: no [provider crop] is defined (expected one of: corp)");
    parse_fails("[global]\ndefault_provider = a b\n", "default_provider: 'a b' has a character");
}

static void test_set_api(void **state)
{
    struct oidc_cfg *cfg = oidc_cfg_new();
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(oidc_cfg_set(cfg, NULL, OIDC_SCOPE_GLOBAL, "debug", "on", "cli", &err),
                     OIDC_OK);
    assert_int_equal(cfg->debug, 1);
    assert_int_equal(oidc_cfg_set(cfg, NULL, OIDC_SCOPE_PROVIDER, "issuer", ISSUER, "cli", &err),
                     OIDC_ERR_INVALID);
    assert_int_equal(oidc_cfg_set(cfg, NULL, OIDC_SCOPE_GLOBAL, "state_dir", NULL, NULL, &err),
                     OIDC_ERR_CONFIG);
    assert_msg(&err, "configuration: state_dir: needs a value");
    assert_int_equal(oidc_cfg_set(NULL, NULL, OIDC_SCOPE_GLOBAL, "debug", "on", "cli", NULL),
                     OIDC_ERR_INVALID);
    oidc_cfg_free(cfg);
}

static void test_failed_set_keeps_value(void **state)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;

    (void)state;
    assert_int_equal(parse("[provider corp]\n", &cfg, &err), OIDC_OK);
    assert_int_equal(
        oidc_cfg_set(cfg, cfg->providers[0], OIDC_SCOPE_PROVIDER, "leeway", "500", "x", &err),
        OIDC_ERR_CONFIG);
    assert_int_equal(cfg->providers[0]->leeway, 60);
    assert_int_equal(
        oidc_cfg_set(cfg, cfg->providers[0], OIDC_SCOPE_PROVIDER, "audience", ",", "x", &err),
        OIDC_OK);
    /* a refused value does not count as set: the key can still be set once */
    assert_int_equal(
        oidc_cfg_set(cfg, cfg->providers[0], OIDC_SCOPE_PROVIDER, "leeway", "10", "x", &err),
        OIDC_OK);
    assert_int_equal(cfg->providers[0]->leeway, 10);
    assert_int_equal(
        oidc_cfg_set(cfg, cfg->providers[0], OIDC_SCOPE_PROVIDER, "home", "rel", "x", &err),
        OIDC_ERR_CONFIG);
    assert_string_equal(cfg->providers[0]->home, "/home/{name}");
    oidc_cfg_free(cfg);
}

/* ---------------------------------------------------------------- loading and arguments */

static void test_load_missing_default_ok(void **state)
{
    struct oidc_cfg *cfg = NULL;
    struct oidc_err err = {0};
    struct stat st;

    (void)state;
    if (stat(SYSCONFDIR "/nss-pam-oidc.conf", &st) == 0 ||
        stat(SYSCONFDIR "/nss-pam-oidc.conf.d", &st) == 0) {
        print_message("%s/nss-pam-oidc.conf exists here; skipped\n", SYSCONFDIR);
        skip();
    }
    assert_int_equal(oidc_cfg_load(0, NULL, &cfg, &err), OIDC_OK);
    assert_non_null(cfg);
    assert_null(cfg->config_path);
    assert_int_equal(cfg->n_providers, 0);
    oidc_cfg_free(cfg);
}

static void test_load_missing_explicit_fails(void **state)
{
    char path[512];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    snprintf(path, sizeof(path), "%s/absent.conf", (char *)*state);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_null(cfg);
    assert_msg(&err, "absent.conf: no such file");
}

static void test_load_file_and_args(void **state)
{
    const char *dir = *state;
    char path[512];
    const char *args[] = {"provider=ci", "debug"};
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), dir, "main.conf",
               "[global]\ndebug = no\ndefault_provider = corp\n" MINIMAL
               "[provider ci]\nissuer = https://token.actions.githubusercontent.com\n"
               "client_id = https://github.com/org\n",
               0644);
    assert_int_equal(load_with(path, 2, args, &cfg, &err), OIDC_OK);
    assert_string_equal(cfg->config_path, path);
    /* argv wins over the file */
    assert_int_equal(cfg->debug, 1);
    assert_string_equal(cfg->default_provider, "ci");
    assert_string_equal(oidc_cfg_provider(cfg, NULL)->name, "ci");
    oidc_cfg_free(cfg);

    args[1] = "debug=no";
    assert_int_equal(load_with(path, 2, args, &cfg, &err), OIDC_OK);
    assert_int_equal(cfg->debug, 0);
    oidc_cfg_free(cfg);

    /* argument values go through the same checks */
    args[0] = "provider=nope";
    assert_int_equal(load_with(path, 1, args, &cfg, &err), OIDC_ERR_CONFIG);
    assert_null(cfg);
    assert_msg(&err, "default_provider: no [provider nope] is defined (expected one of: corp, ci)");
}

static void test_arg_unknown_key(void **state)
{
    const char *argv[] = {"debug", "provder=corp"};
    struct oidc_cfg *cfg = NULL;
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_null(cfg);
    assert_msg(&err, "argument 2: provder: unknown key (did you mean 'provider'?)");

    argv[1] = "nodebug";
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: nodebug: unknown key");

    argv[1] = "issuer=" ISSUER;
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: issuer: not allowed in the module arguments (it belongs in a "
                     "[provider NAME] section)");

    argv[1] = "provider";
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: provider: needs a value (expected provider=VALUE)");

    argv[1] = "=x";
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: no key");

    argv[0] = "provider=corp";
    argv[1] = "debug=maybe";
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: debug: 'maybe' is not a boolean");
}

static void test_arg_repeated(void **state)
{
    const char *argv[] = {"provider=a", "provider=b"};
    struct oidc_cfg *cfg = NULL;
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: provider: given twice in the module arguments");
    argv[0] = "config=/a.conf";
    argv[1] = "config=/b.conf";
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: config: given twice");
    assert_null(cfg);
}

static void test_arg_config_relative(void **state)
{
    const char *argv[] = {"debug", "config=etc/nss-pam-oidc.conf"};
    struct oidc_cfg *cfg = NULL;
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_null(cfg);
    assert_msg(&err, "argument 2: config: 'etc/nss-pam-oidc.conf' is not an absolute path "
                     "(expected config=/absolute/path)");
    argv[1] = "config=";
    assert_int_equal(oidc_cfg_load(2, argv, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "is not an absolute path");
}

static void test_load_reports_file_and_line(void **state)
{
    const char *dir = *state;
    char path[512], want[600];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), dir, "typo.conf",
               "[provider corp]\nissuer = " ISSUER "\n\n"
               "client-id = shell\n",
               0600);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s:4: client-id: unknown key (did you mean 'client_id'?)", path);
    assert_string_equal(err.msg, want);
}

static void test_dropin_order(void **state)
{
    const char *dir = *state;
    char path[512], d[520], tmp[600];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), dir, "main.conf", "[global]\ndebug = yes\n" MINIMAL, 0644);
    snprintf(d, sizeof(d), "%s.d", path);
    assert_int_equal(mkdir(d, 0755), 0);
    write_text(tmp, sizeof(tmp), d, "20-b.conf",
               "[provider b]\nissuer = https://b.example\nclient_id = b\n", 0644);
    write_text(tmp, sizeof(tmp), d, "10-a.conf",
               "[global]\ndefault_provider = a\n"
               "[provider a]\nissuer = https://a.example\nclient_id = a\n",
               0644);
    write_text(tmp, sizeof(tmp), d, "30-c.conf",
               "[provider c]\nissuer = https://c.example\nclient_id = c\n", 0644);
    /* not *.conf, or hidden: never read (they would not parse) */
    write_text(tmp, sizeof(tmp), d, ".hidden.conf", "garbage\n", 0644);
    write_text(tmp, sizeof(tmp), d, "40-d.conf.dpkg-old", "garbage\n", 0644);
    write_text(tmp, sizeof(tmp), d, "README", "garbage\n", 0644);
    write_text(tmp, sizeof(tmp), d, ".conf", "garbage\n", 0644);

    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_OK);
    assert_int_equal(cfg->n_providers, 4);
    assert_string_equal(cfg->providers[0]->name, "corp");
    assert_string_equal(cfg->providers[1]->name, "a");
    assert_string_equal(cfg->providers[2]->name, "b");
    assert_string_equal(cfg->providers[3]->name, "c");
    assert_int_equal(cfg->debug, 1);
    assert_string_equal(cfg->default_provider, "a");
    oidc_cfg_free(cfg);
}

static void test_dropin_cannot_reset_key(void **state)
{
    const char *dir = *state;
    char path[512], d[520], tmp[600], want[700];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), dir, "main.conf", "[global]\ndebug = yes\n" MINIMAL, 0644);
    snprintf(d, sizeof(d), "%s.d", path);
    assert_int_equal(mkdir(d, 0755), 0);
    write_text(tmp, sizeof(tmp), d, "50-debug.conf", "# later\n[global]\ndebug = no\n", 0644);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s:3: debug: already set in [global]", tmp);
    assert_msg(&err, want);
    unlink(tmp);

    write_text(tmp, sizeof(tmp), d, "50-corp.conf", "[provider corp]\nleeway = 5\n", 0644);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s:1: [provider corp]: provider 'corp' is already defined", tmp);
    assert_msg(&err, want);
}

static void test_dropin_dir_unsafe(void **state)
{
    const char *dir = *state;
    char path[512], d[520];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), dir, "main.conf", MINIMAL, 0644);
    snprintf(d, sizeof(d), "%s.d", path);
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(chmod(d, 0775), 0);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "main.conf.d: refused: mode 0775 lets group or others write it");
    assert_int_equal(chmod(d, 0755), 0);
    assert_int_equal(chown(d, 65534, 65534), 0);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "main.conf.d: refused: owned by uid 65534 (expected owner root)");
}

static void test_file_group_writable(void **state)
{
    char path[512];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), *state, "gw.conf", MINIMAL, 0664);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "gw.conf: refused: mode 0664 lets group or others write it");
    assert_int_equal(chmod(path, 0646), 0);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "mode 0646");
    assert_int_equal(chmod(path, 0444), 0);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_OK);
    oidc_cfg_free(cfg);
}

static void test_file_symlink_refused(void **state)
{
    const char *dir = *state;
    char path[512], link[512];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), dir, "real.conf", MINIMAL, 0644);
    snprintf(link, sizeof(link), "%s/link.conf", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(load_with(link, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "link.conf: refused: a symbolic link");
}

static void test_file_not_regular(void **state)
{
    const char *dir = *state;
    char path[512];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    snprintf(path, sizeof(path), "%s/fifo.conf", dir);
    assert_int_equal(mkfifo(path, 0644), 0);
    /* must not block waiting for a writer */
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "fifo.conf: refused: not a regular file");
    snprintf(path, sizeof(path), "%s/dir.conf", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "dir.conf: refused: not a regular file");
}

static void test_file_too_large(void **state)
{
    char path[512];
    char *big = malloc(OIDC_CFG_MAX_FILE_SIZE + 1);
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    assert_non_null(big);
    memset(big, '#', OIDC_CFG_MAX_FILE_SIZE + 1);
    for (size_t i = 80; i < OIDC_CFG_MAX_FILE_SIZE + 1; i += 81)
        big[i] = '\n';
    write_file(path, sizeof(path), *state, "big.conf", big, OIDC_CFG_MAX_FILE_SIZE + 1, 0644);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "big.conf: refused: larger than 65536 bytes");
    /* exactly the limit is fine */
    write_file(path, sizeof(path), *state, "big.conf", big, OIDC_CFG_MAX_FILE_SIZE, 0644);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_OK);
    oidc_cfg_free(cfg);
    free(big);
}

static void test_file_not_root_owned(void **state)
{
    char path[512];
    struct oidc_cfg *cfg;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), *state, "nobody.conf", MINIMAL, 0644);
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "nobody.conf: refused: owned by uid 65534 (expected owner root)");
}

/* ---------------------------------------------------------------- the client secret */

static int read_secret_file(const char *path, char **out, struct oidc_err *err)
{
    struct oidc_provider_cfg p;

    memset(&p, 0, sizeof(p));
    p.name = (char *)(uintptr_t) "corp";
    p.client_secret_file = (char *)(uintptr_t)path;
    memset(err, 0, sizeof(*err));
    *out = NULL;
    return oidc_cfg_read_secret(&p, out, err);
}

static void test_secret_ok(void **state)
{
    char path[512], *s = NULL;
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), *state, "s1", "s3cr3t\n", 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_OK);
    assert_string_equal(s, "s3cr3t");
    oidc_free_secret(&s);
    assert_null(s);

    write_text(path, sizeof(path), *state, "s2", "s3cr3t\r\n", 0400);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_OK);
    assert_string_equal(s, "s3cr3t");
    oidc_free_secret(&s);

    write_text(path, sizeof(path), *state, "s3", "no-newline", 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_OK);
    assert_string_equal(s, "no-newline");
    oidc_free_secret(&s);
}

static void test_secret_mode_refused(void **state)
{
    static const mode_t modes[] = {0644, 0640, 0604, 0610, 0601};
    char path[512], *s = NULL;
    struct oidc_err err;
    size_t i;

    need_root();
    write_text(path, sizeof(path), *state, "secret", "s3cr3t\n", 0600);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
        assert_null(s);
        assert_msg(&err, "grants access to group or others (expected mode 0600 or 0400)");
        assert_null(strstr(err.msg, "s3cr3t"));
    }
}

static void test_secret_content_refused(void **state)
{
    char path[512], *s = NULL, big[4098];
    struct oidc_err err;

    need_root();
    write_text(path, sizeof(path), *state, "empty", "", 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "the secret is empty");
    write_text(path, sizeof(path), *state, "nl", "\n", 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "the secret is empty");
    write_file(path, sizeof(path), *state, "nul", "s3c\0r3t\n", 8, 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "the secret contains a NUL byte");
    assert_null(strstr(err.msg, "s3c"));
    write_text(path, sizeof(path), *state, "twolines", "s3cr3t\n\n", 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "spans more than one line");
    assert_null(strstr(err.msg, "s3cr3t"));
    memset(big, 'x', sizeof(big));
    write_file(path, sizeof(path), *state, "big", big, 4097, 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "larger than 4096 bytes");
    write_file(path, sizeof(path), *state, "max", big, 4096, 0600);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_OK);
    assert_int_equal(strlen(s), 4096);
    oidc_free_secret(&s);
    assert_null(s);
}

static void test_secret_file_refused(void **state)
{
    const char *dir = *state;
    char path[512], link[512], *s = NULL;
    struct oidc_err err;
    struct oidc_provider_cfg p;

    need_root();
    write_text(path, sizeof(path), dir, "owned", "s3cr3t\n", 0600);
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "refused: owned by uid 65534");

    write_text(path, sizeof(path), dir, "target", "s3cr3t\n", 0600);
    snprintf(link, sizeof(link), "%s/link", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(read_secret_file(link, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "refused: a symbolic link");

    snprintf(path, sizeof(path), "%s/absent", dir);
    assert_int_equal(read_secret_file(path, &s, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "client_secret_file: no such file");
    assert_null(s);

    memset(&p, 0, sizeof(p));
    p.name = (char *)(uintptr_t) "pub";
    assert_int_equal(oidc_cfg_read_secret(&p, &s, &err), OIDC_ERR_NOTFOUND);
    assert_msg(&err, "provider 'pub': client_secret_file: not set");
    assert_null(s);
}

/* ---------------------------------------------------------------- keys of the PAM module */

/* Applies one module argument (value NULL: a bare word); returns the status. */
static int set_arg(struct oidc_cfg *cfg, const char *key, const char *value, struct oidc_err *err)
{
    memset(err, 0, sizeof(*err));
    return oidc_cfg_set(cfg, NULL, OIDC_SCOPE_ARG, key, value, "argument 1", err);
}

static void test_pam_keys_defaults(void **state)
{
    struct oidc_cfg *cfg = parse_ok(MINIMAL);
    const struct oidc_provider_cfg *p = cfg->providers[0];
    const struct oidc_strlist *lists[] = {&p->preauth_allow,  &p->allow_users,  &p->allow_groups,
                                          &p->deny_users,     &p->deny_groups,  &p->require_groups,
                                          &p->require_claims, &p->export_claims};
    size_t i;

    (void)state;
    assert_int_equal(p->preauth, 0);
    assert_int_equal(p->flow, OIDC_FLOW_DEVICE);
    assert_int_equal(p->login_timeout, OIDC_LOGIN_TIMEOUT_DEFAULT);
    assert_int_equal(p->login_timeout, 110);
    assert_int_equal(p->qr, 0);
    assert_int_equal(p->ephemeral, 0);
    assert_int_equal(p->replay_protection, 1);
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        assert_int_equal(lists[i]->n, 0);
        assert_non_null(lists[i]->v);
        assert_null(lists[i]->v[0]);
    }
    /* global and argument-only fields */
    assert_int_equal(cfg->cache_ttl, OIDC_CACHE_TTL_DEFAULT);
    assert_int_equal(cfg->cache_ttl, 30 * 86400);
    assert_int_equal(cfg->flow, OIDC_FLOW_UNSET);
    assert_int_equal(cfg->login_timeout, 0);
    assert_int_equal(cfg->qr, -1);
    assert_int_equal(cfg->use_first_pass, 0);
    assert_int_equal(cfg->try_first_pass, 0);
    assert_int_equal(cfg->require_groups.n, 0);
    assert_non_null(cfg->require_groups.v);
    assert_int_equal(cfg->require_claims.n, 0);
    assert_non_null(cfg->require_claims.v);
    oidc_cfg_free(cfg);
}

static void test_pam_keys_parse(void **state)
{
    struct oidc_cfg *cfg = parse_ok("[global]\n"
                                    "cache_ttl = 7d\n"
                                    "[provider corp]\n"
                                    "issuer = " ISSUER "\n"
                                    "client_id = shell\n"
                                    "preauth = yes\n"
                                    "preauth_allow = ci-*, alice\n"
                                    "flow = auto\n"
                                    "login_timeout = 2m\n"
                                    "qr = on\n"
                                    "ephemeral = true\n"
                                    "replay_protection = no\n"
                                    "allow_users = alice bob ci-*\n"
                                    "allow_groups = dev, ops\n"
                                    "deny_users = mallory\n"
                                    "deny_groups = contractors\n"
                                    "require_group = vpn-users\n"
                                    "require_claim = repository=org/*, ref=refs/heads/main\n"
                                    "export_claims = repository run_id\n");
    const struct oidc_provider_cfg *p = cfg->providers[0];

    (void)state;
    assert_int_equal(cfg->cache_ttl, 7 * 86400);
    assert_int_equal(p->preauth, 1);
    assert_int_equal(p->preauth_allow.n, 2);
    assert_string_equal(p->preauth_allow.v[0], "ci-*");
    assert_string_equal(p->preauth_allow.v[1], "alice");
    assert_int_equal(p->flow, OIDC_FLOW_AUTO);
    assert_int_equal(p->login_timeout, 120);
    assert_int_equal(p->qr, 1);
    assert_int_equal(p->ephemeral, 1);
    assert_int_equal(p->replay_protection, 0);
    assert_int_equal(p->allow_users.n, 3);
    assert_string_equal(p->allow_users.v[2], "ci-*");
    assert_null(p->allow_users.v[3]);
    assert_int_equal(p->allow_groups.n, 2);
    assert_string_equal(p->allow_groups.v[1], "ops");
    assert_int_equal(p->deny_users.n, 1);
    assert_string_equal(p->deny_users.v[0], "mallory");
    assert_int_equal(p->deny_groups.n, 1);
    assert_string_equal(p->deny_groups.v[0], "contractors");
    assert_int_equal(p->require_groups.n, 1);
    assert_string_equal(p->require_groups.v[0], "vpn-users");
    /* the first '=' of the line separates the key; the rule keeps its own '=' */
    assert_int_equal(p->require_claims.n, 2);
    assert_string_equal(p->require_claims.v[0], "repository=org/*");
    assert_string_equal(p->require_claims.v[1], "ref=refs/heads/main");
    assert_int_equal(p->export_claims.n, 2);
    assert_string_equal(p->export_claims.v[0], "repository");
    assert_string_equal(p->export_claims.v[1], "run_id");
    /* module-argument fields are untouched by the file */
    assert_int_equal(cfg->flow, OIDC_FLOW_UNSET);
    assert_int_equal(cfg->require_claims.n, 0);
    oidc_cfg_free(cfg);
}

static void test_flow_values(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok(MINIMAL "flow = token\n");
    assert_int_equal(cfg->providers[0]->flow, OIDC_FLOW_TOKEN);
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "flow = device\n");
    assert_int_equal(cfg->providers[0]->flow, OIDC_FLOW_DEVICE);
    oidc_cfg_free(cfg);
    parse_fails(MINIMAL "flow = browser\n", "test.conf:4: flow: 'browser' is not a known value "
                                            "(expected device, token or auto)");
    /* enum values are case-sensitive, like the rest of the grammar's words */
    parse_fails(MINIMAL "flow = Token\n", "flow: 'Token' is not a known value");
    parse_fails(MINIMAL "flow =\n", "flow: is empty");
}

static void test_login_timeout_range(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok(MINIMAL "login_timeout = 10\n");
    assert_int_equal(cfg->providers[0]->login_timeout, 10);
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "login_timeout = 1h\n");
    assert_int_equal(cfg->providers[0]->login_timeout, 3600);
    oidc_cfg_free(cfg);
    parse_fails(MINIMAL "login_timeout = 9\n",
                "login_timeout: '9' is out of range (expected 10 to 3600 seconds)");
    parse_fails(MINIMAL "login_timeout = 3601\n", "login_timeout: '3601' is out of range");
    parse_fails(MINIMAL "login_timeout = 2w\n", "login_timeout: '2w' has an unknown unit");
}

/* qr: a style, or a boolean meaning ascii or no, in any ASCII case (as booleans are); the same
 * values as a module argument */
static void test_qr_values(void **state)
{
    static const struct {
        const char *value;
        int qr;
    } vals[] = {
        {"no", OIDC_QR_NO},       {"yes", OIDC_QR_ASCII},
        {"ascii", OIDC_QR_ASCII}, {"compact", OIDC_QR_COMPACT},
        {"true", OIDC_QR_ASCII},  {"false", OIDC_QR_NO},
        {"on", OIDC_QR_ASCII},    {"off", OIDC_QR_NO},
        {"1", OIDC_QR_ASCII},     {"0", OIDC_QR_NO},
        {"YES", OIDC_QR_ASCII},   {"Compact", OIDC_QR_COMPACT},
        {"ASCII", OIDC_QR_ASCII}, {"Off", OIDC_QR_NO},
    };
    char text[256];
    struct oidc_cfg *cfg;
    struct oidc_err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        snprintf(text, sizeof(text), MINIMAL "qr = %s\n", vals[i].value);
        cfg = parse_ok(text);
        assert_int_equal(cfg->providers[0]->qr, vals[i].qr);
        oidc_cfg_free(cfg);
        cfg = oidc_cfg_new();
        assert_non_null(cfg);
        assert_int_equal(set_arg(cfg, "qr", vals[i].value, &err), OIDC_OK);
        assert_int_equal(cfg->qr, vals[i].qr);
        oidc_cfg_free(cfg);
    }
    parse_fails(MINIMAL "qr = unicode\n", "qr: 'unicode' is not a known value");
    parse_fails(MINIMAL "qr = 2\n", "qr: '2' is not a known value");
    parse_fails(MINIMAL "qr = compact-ish\n", "qr: 'compact-ish' is not a known value");
    parse_fails(MINIMAL "qr =\n", "qr: is empty (expected no, yes, ascii or compact)");
}

static void test_pam_bools(void **state)
{
    (void)state;
    parse_fails(MINIMAL "preauth = sometimes\n", "preauth: 'sometimes' is not a boolean");
    parse_fails(MINIMAL "qr = maybe\n",
                "qr: 'maybe' is not a known value (expected no, yes, ascii or compact)");
    parse_fails(MINIMAL "ephemeral = 2\n", "ephemeral: '2' is not a boolean");
    parse_fails(MINIMAL "replay_protection = off-ish\n",
                "replay_protection: 'off-ish' is not a boolean");
}

static void test_access_lists_need_items(void **state)
{
    (void)state;
    parse_fails(MINIMAL "allow_users =\n", "allow_users: is empty (expected glob patterns of "
                                           "login names)");
    parse_fails(MINIMAL "allow_groups = ,\n", "allow_groups: ',' has no items (expected group "
                                              "names)");
    parse_fails(MINIMAL "deny_users =\n", "deny_users: is empty");
    parse_fails(MINIMAL "deny_groups =\n", "deny_groups: is empty");
    parse_fails(MINIMAL "require_group =\n", "require_group: is empty");
    parse_fails(MINIMAL "preauth_allow =\n", "preauth_allow: is empty");
    parse_fails(MINIMAL "export_claims =\n", "export_claims: is empty");
    parse_fails(MINIMAL "require_claim =\n", "require_claim: is empty");
}

static void test_require_claim_rule_checked(void **state)
{
    struct oidc_cfg *cfg;
    char line[256];

    (void)state;
    /* NAME=GLOB with a dotted path and any glob after the first '=' */
    cfg = parse_ok(MINIMAL "require_claim = realm_access.roles=admin, env=a=b, x-y_Z.1=[ab]*\n");
    assert_int_equal(cfg->providers[0]->require_claims.n, 3);
    assert_string_equal(cfg->providers[0]->require_claims.v[1], "env=a=b");
    oidc_cfg_free(cfg);
    parse_fails(MINIMAL "require_claim = repository\n",
                "require_claim: 'repository' is not NAME=GLOB (expected NAME=GLOB items such as "
                "repository=org/*)");
    parse_fails(MINIMAL "require_claim = =org/*\n", "require_claim: '=org/*' has an empty claim "
                                                    "name");
    parse_fails(MINIMAL "require_claim = ref=\n",
                "require_claim: 'ref=' has an empty pattern after '='");
    parse_fails(MINIMAL "require_claim = re$f=x\n",
                "require_claim: 're$f=x' has a claim name with a character other than A-Z a-z "
                "0-9 _ . -");
    parse_fails(MINIMAL "require_claim = a/b=x\n", "has a claim name with a character other than");
    /* one bad item refuses the whole list, and names that item */
    parse_fails(MINIMAL "require_claim = env=prod, team\n",
                "require_claim: 'team' is not NAME=GLOB");
    /* blanks separate items: "repository = org/x" is three items, the first without '=' */
    parse_fails(MINIMAL "require_claim = repository = org/x\n",
                "require_claim: 'repository' is not NAME=GLOB");
    snprintf(line, sizeof(line), MINIMAL "require_claim = %065d=x\n", 0);
    parse_fails(line, "has a claim name over 64 bytes");
    snprintf(line, sizeof(line), MINIMAL "require_claim = %064d=x\n", 0);
    cfg = parse_ok(line);
    oidc_cfg_free(cfg);
}

static void test_export_claims_names_checked(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok(MINIMAL "export_claims = repository, run_id, Job_Workflow_Ref2\n");
    assert_int_equal(cfg->providers[0]->export_claims.n, 3);
    oidc_cfg_free(cfg);
    /* names become part of OIDC_CLAIM_<NAME>: top-level names of A-Z a-z 0-9 _ only */
    parse_fails(MINIMAL "export_claims = realm_access.roles\n",
                "export_claims: 'realm_access.roles' has a claim name with '.' or '-' (top-level "
                "claims of A-Z a-z 0-9 _ only)");
    parse_fails(MINIMAL "export_claims = job-id\n", "export_claims: 'job-id' has a claim name with "
                                                    "'.' or '-'");
    parse_fails(MINIMAL "export_claims = run$id\n",
                "export_claims: 'run$id' has a claim name with a character other than");
    parse_fails(MINIMAL "export_claims = a=b\n", "export_claims: 'a=b' has a claim name with a "
                                                 "character other than");
}

/* host_audience, host_audience_template and host_name (item: tokens bound to one host) */
static void test_host_audience_keys(void **state)
{
    struct oidc_cfg *cfg;
    struct oidc_err err = {0};
    char line[512];

    (void)state;
    cfg = parse_ok(MINIMAL);
    assert_int_equal(cfg->providers[0]->host_audience, 0);
    assert_null(cfg->providers[0]->host_audience_template); /* host:{fqdn} */
    assert_null(cfg->host_name);
    oidc_cfg_free(cfg);
    cfg = parse_ok("[global]\nhost_name = Build-7.CI.example.com\n" MINIMAL "host_audience = yes\n"
                   "host_audience_template = https://{fqdn}/login/{hostname}\n");
    assert_int_equal(cfg->providers[0]->host_audience, 1);
    assert_string_equal(cfg->providers[0]->host_audience_template,
                        "https://{fqdn}/login/{hostname}");
    assert_string_equal(cfg->host_name, "Build-7.CI.example.com");
    oidc_cfg_free(cfg);
    /* an empty host_name means: not set, gethostname() */
    cfg = parse_ok("[global]\nhost_name =\n");
    assert_null(cfg->host_name);
    oidc_cfg_free(cfg);

    parse_fails(MINIMAL "host_audience = maybe\n", "host_audience: 'maybe' is not a boolean");
    parse_fails(MINIMAL "host_audience_template = host:{ip}\n",
                "test.conf:4: host_audience_template: 'host:{ip}' has a placeholder other than "
                "{hostname} or {fqdn} (expected at most 128 printable bytes with {fqdn} and/or "
                "{hostname}, such as host:{fqdn})");
    parse_fails(MINIMAL "host_audience_template = host:{fqdn\n",
                "host_audience_template: 'host:{fqdn' has a placeholder other than");
    parse_fails(MINIMAL "host_audience_template = host:{FQDN}\n",
                "has a placeholder other than {hostname} or {fqdn}");
    parse_fails(MINIMAL "host_audience_template = host:fqdn}\n",
                "host_audience_template: 'host:fqdn}' has a '}' outside {hostname} or {fqdn}");
    parse_fails(MINIMAL "host_audience_template = every-host\n",
                "host_audience_template: 'every-host' has neither {hostname} nor {fqdn} (every "
                "host would expect the same audience)");
    parse_fails(MINIMAL "host_audience_template = host: {fqdn}\n",
                "has a blank, control or non-ASCII character");
    parse_fails(MINIMAL "host_audience_template = h\xc3\xb6st:{fqdn}\n",
                "has a blank, control or non-ASCII character");
    parse_fails(MINIMAL "host_audience_template =\n", "host_audience_template: is empty");
    snprintf(line, sizeof(line), MINIMAL "host_audience_template = {fqdn}%0123d\n", 0);
    parse_fails(line, "is longer than 128 bytes");
    snprintf(line, sizeof(line), MINIMAL "host_audience_template = {fqdn}%0122d\n", 0);
    cfg = parse_ok(line); /* 128 bytes */
    oidc_cfg_free(cfg);

    parse_fails("[global]\nhost_name = build 7\n", "host_name: 'build 7' has a character other "
                                                   "than A-Z a-z 0-9 - _ .");
    parse_fails("[global]\nhost_name = build-7.\n", "host_name: 'build-7.' ends with '.'");
    parse_fails("[global]\nhost_name = .example.com\n", "has an empty label");
    parse_fails("[global]\nhost_name = a..example.com\n", "has an empty label");
    snprintf(line, sizeof(line), "[global]\nhost_name = %064d.example.com\n", 0);
    parse_fails(line, "has a label longer than 63 bytes");

    /* host_audience and its template are provider keys, host_name a [global] one; none is a
     * module argument */
    parse_fails("[global]\nhost_audience = yes\n", "host_audience: not allowed in [global]");
    parse_fails(MINIMAL "host_name = a.example.com\n",
                "host_name: not allowed in a [provider NAME] section (it belongs in [global])");
    cfg = oidc_cfg_new();
    assert_non_null(cfg);
    assert_int_equal(
        oidc_cfg_set(cfg, NULL, OIDC_SCOPE_ARG, "host_audience", "yes", "argument 1", &err),
        OIDC_ERR_CONFIG);
    assert_msg(&err, "host_audience: not allowed in the module arguments");
    assert_int_equal(
        oidc_cfg_set(cfg, NULL, OIDC_SCOPE_ARG, "host_name", "a.example.com", "argument 1", &err),
        OIDC_ERR_CONFIG);
    assert_msg(&err, "host_name: not allowed in the module arguments");
    oidc_cfg_free(cfg);
}

static void test_cache_ttl(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok("[global]\ncache_ttl = 60\n");
    assert_int_equal(cfg->cache_ttl, 60);
    oidc_cfg_free(cfg);
    cfg = parse_ok("[global]\ncache_ttl = 3650d\n");
    assert_int_equal(cfg->cache_ttl, 3650LL * 86400);
    oidc_cfg_free(cfg);
    parse_fails("[global]\ncache_ttl = 59\n", "cache_ttl: '59' is out of range (expected 60 to "
                                              "315360000 seconds)");
    parse_fails("[global]\ncache_ttl = 3651d\n", "cache_ttl: '3651d' is out of range");
    parse_fails("[global]\ncache_ttl = -1\n", "cache_ttl: '-1' is not a number");
    parse_fails(MINIMAL "cache_ttl = 1d\n", "test.conf:4: cache_ttl: not allowed in a [provider "
                                            "NAME] section (it belongs in [global])");
}

static void test_provider_only_keys_refused_in_global(void **state)
{
    (void)state;
    parse_fails("[global]\nreplay_protection = no\n",
                "replay_protection: not allowed in [global] (it belongs in a [provider NAME] "
                "section)");
    parse_fails("[global]\nrequire_claim = a=b\n", "require_claim: not allowed in [global]");
    parse_fails("[global]\npreauth = yes\n", "preauth: not allowed in [global]");
    /* names that are both provider keys and module arguments point to the provider section */
    parse_fails("[global]\nflow = token\n",
                "flow: not allowed in [global] (it belongs in a [provider NAME] section)");
    parse_fails("[global]\ntimeout = 30\n",
                "timeout: not allowed in [global] (it belongs in a [provider NAME] section)");
    parse_fails("[global]\nrequire_group = admins\n",
                "require_group: not allowed in [global] (it belongs in a [provider NAME] section)");
}

static void test_argument_only_keys_refused_in_file(void **state)
{
    (void)state;
    parse_fails(MINIMAL "use_first_pass = yes\n", "test.conf:4: use_first_pass: not allowed in a "
                                                  "[provider NAME] section (it belongs in the "
                                                  "module arguments)");
    parse_fails("[global]\ntry_first_pass = yes\n", "try_first_pass: not allowed in [global]");
    parse_fails("[global]\nprovider = corp\n", "provider: not allowed in [global]");
}

static void test_preauth_needs_uid_key_name(void **state)
{
    (void)state;
    check_fails(MINIMAL "preauth = yes\npreauth_allow = *\nuid_key = subject\n",
                "provider 'corp': preauth: needs uid_key = name (sshd must see the uid the user "
                "will have before the token names the subject; pre-provision users with 'oidcctl "
                "user add' instead)");
    check_fails(MINIMAL "preauth = yes\npreauth_allow = *\nuid_key = claim:uid_number\n",
                "preauth: needs uid_key = name");
}

static void test_preauth_needs_preauth_allow(void **state)
{
    (void)state;
    check_fails(MINIMAL "preauth = yes\n",
                "provider 'corp': preauth: needs preauth_allow (glob patterns of the names sshd "
                "may be answered for, such as preauth_allow = *)");
}

static void test_preauth_home_only_name(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    check_fails(MINIMAL "preauth = yes\npreauth_allow = *\nhome = /home/{email}\n",
                "provider 'corp': home: with preauth = yes the template may use only {name} (the "
                "NSS module expands it before any token is seen)");
    check_fails(MINIMAL "preauth = yes\npreauth_allow = *\nhome = /srv/{name}/{sub}\n",
                "home: with preauth = yes the template may use only {name}");
    cfg = parse_ok(MINIMAL "preauth = yes\npreauth_allow = *\nhome = /srv/{name}/x{name}\n");
    oidc_cfg_free(cfg);
    /* without preauth any claim may be used */
    cfg = parse_ok(MINIMAL "home = /home/{email}\n");
    oidc_cfg_free(cfg);
}

static void test_preauth_ok(void **state)
{
    struct oidc_cfg *cfg;

    (void)state;
    cfg = parse_ok(MINIMAL "preauth = yes\npreauth_allow = ci-*\nuid_key = name\n");
    assert_int_equal(cfg->providers[0]->preauth, 1);
    oidc_cfg_free(cfg);
    /* preauth_allow alone (preauth off) and uid_key = subject without preauth are fine */
    cfg = parse_ok(MINIMAL "preauth_allow = ci-*\nuid_key = subject\n");
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "preauth = no\nuid_key = subject\n");
    oidc_cfg_free(cfg);
}

static void test_args_pam_keys(void **state)
{
    struct oidc_cfg *cfg = oidc_cfg_new();
    struct oidc_err err;

    (void)state;
    assert_non_null(cfg);
    assert_int_equal(set_arg(cfg, "flow", "token", &err), OIDC_OK);
    assert_int_equal(cfg->flow, OIDC_FLOW_TOKEN);
    assert_int_equal(set_arg(cfg, "timeout", "45", &err), OIDC_OK);
    assert_int_equal(cfg->login_timeout, 45);
    assert_int_equal(set_arg(cfg, "qr", "no", &err), OIDC_OK);
    assert_int_equal(cfg->qr, 0);
    assert_int_equal(set_arg(cfg, "use_first_pass", NULL, &err), OIDC_OK);
    assert_int_equal(cfg->use_first_pass, 1);
    assert_int_equal(set_arg(cfg, "try_first_pass", "yes", &err), OIDC_OK);
    assert_int_equal(cfg->try_first_pass, 1);
    assert_int_equal(set_arg(cfg, "require_group", "sudoers,admins", &err), OIDC_OK);
    assert_int_equal(cfg->require_groups.n, 2);
    assert_string_equal(cfg->require_groups.v[0], "sudoers");
    assert_string_equal(cfg->require_groups.v[1], "admins");
    assert_int_equal(set_arg(cfg, "require_claim", "ref=refs/heads/main,environment=prod", &err),
                     OIDC_OK);
    assert_int_equal(cfg->require_claims.n, 2);
    assert_string_equal(cfg->require_claims.v[0], "ref=refs/heads/main");
    assert_string_equal(cfg->require_claims.v[1], "environment=prod");
    assert_int_equal(set_arg(cfg, "qr", "yes", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: qr: given twice in the module arguments");
    oidc_cfg_free(cfg);

    cfg = oidc_cfg_new();
    assert_int_equal(set_arg(cfg, "flow", "auto", &err), OIDC_OK);
    assert_int_equal(cfg->flow, OIDC_FLOW_AUTO);
    assert_int_equal(set_arg(cfg, "qr", "1", &err), OIDC_OK);
    assert_int_equal(cfg->qr, 1);
    oidc_cfg_free(cfg);
}

static void test_args_pam_keys_refused(void **state)
{
    struct oidc_cfg *cfg = oidc_cfg_new();
    struct oidc_err err;

    (void)state;
    assert_non_null(cfg);
    assert_int_equal(set_arg(cfg, "flow", "password", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: flow: 'password' is not a known value (expected device, token "
                     "or auto)");
    assert_int_equal(cfg->flow, OIDC_FLOW_UNSET);
    assert_int_equal(set_arg(cfg, "timeout", "5", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: timeout: '5' is out of range (expected 10 to 3600 seconds)");
    assert_int_equal(set_arg(cfg, "timeout", "2h", &err), OIDC_ERR_CONFIG);
    assert_int_equal(cfg->login_timeout, 0);
    assert_int_equal(set_arg(cfg, "qr", "perhaps", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: qr: 'perhaps' is not a known value (expected no, yes, ascii or "
                     "compact)");
    assert_int_equal(cfg->qr, -1);
    /* only debug and the *_first_pass words may stand alone */
    assert_int_equal(set_arg(cfg, "flow", NULL, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: flow: needs a value (expected flow=VALUE)");
    assert_int_equal(set_arg(cfg, "qr", NULL, &err), OIDC_ERR_CONFIG);
    assert_int_equal(set_arg(cfg, "require_group", NULL, &err), OIDC_ERR_CONFIG);
    assert_int_equal(set_arg(cfg, "use_first_pass", "sometimes", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: use_first_pass: 'sometimes' is not a boolean");
    /* rules get the same checks as in the file */
    assert_int_equal(set_arg(cfg, "require_claim", "environment", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: require_claim: 'environment' is not NAME=GLOB");
    assert_int_equal(set_arg(cfg, "require_claim", "=prod", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "has an empty claim name");
    assert_int_equal(set_arg(cfg, "require_claim", "env=", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "has an empty pattern after '='");
    assert_int_equal(cfg->require_claims.n, 0);
    assert_int_equal(set_arg(cfg, "require_group", "", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: require_group: is empty");
    /* provider-only keys are not module arguments */
    assert_int_equal(set_arg(cfg, "login_timeout", "30", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 1: login_timeout: not allowed in the module arguments (it belongs "
                     "in a [provider NAME] section)");
    assert_int_equal(set_arg(cfg, "replay_protection", "no", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "replay_protection: not allowed in the module arguments");
    assert_int_equal(set_arg(cfg, "allow_users", "alice", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "allow_users: not allowed in the module arguments");
    assert_int_equal(set_arg(cfg, "deny_users", "alice", &err), OIDC_ERR_CONFIG);
    assert_int_equal(set_arg(cfg, "preauth", "yes", &err), OIDC_ERR_CONFIG);
    assert_int_equal(set_arg(cfg, "export_claims", "sub", &err), OIDC_ERR_CONFIG);
    assert_int_equal(set_arg(cfg, "cache_ttl", "1d", &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "cache_ttl: not allowed in the module arguments (it belongs in [global])");
    oidc_cfg_free(cfg);
}

static void test_timeout_means_http_in_file_login_in_args(void **state)
{
    struct oidc_cfg *cfg = parse_ok(MINIMAL "timeout = 30\n");
    struct oidc_err err;

    (void)state;
    /* in a provider section, timeout is the HTTP request limit... */
    assert_int_equal(cfg->providers[0]->timeout, 30);
    assert_int_equal(cfg->providers[0]->login_timeout, 110);
    /* ...as a module argument, the whole login's */
    assert_int_equal(set_arg(cfg, "timeout", "60", &err), OIDC_OK);
    assert_int_equal(cfg->login_timeout, 60);
    assert_int_equal(cfg->providers[0]->timeout, 30);
    oidc_cfg_free(cfg);
}

static void test_flow_in_file_and_args(void **state)
{
    struct oidc_cfg *cfg = parse_ok(MINIMAL "flow = device\nqr = yes\n");
    struct oidc_err err;

    (void)state;
    /* both scopes hold their own value; pam_oidc lets the argument override the provider's */
    assert_int_equal(set_arg(cfg, "flow", "token", &err), OIDC_OK);
    assert_int_equal(set_arg(cfg, "qr", "no", &err), OIDC_OK);
    assert_int_equal(cfg->providers[0]->flow, OIDC_FLOW_DEVICE);
    assert_int_equal(cfg->providers[0]->qr, 1);
    assert_int_equal(cfg->flow, OIDC_FLOW_TOKEN);
    assert_int_equal(cfg->qr, 0);
    oidc_cfg_free(cfg);
}

static void test_load_pam_arguments(void **state)
{
    const char *dir = *state;
    const char *args[] = {"flow=token",
                          "require_claim=repository=org/*",
                          "require_group=sudoers",
                          "use_first_pass",
                          "timeout=30",
                          "qr=no"};
    struct oidc_cfg *cfg;
    struct oidc_err err;
    char path[256];

    need_root();
    write_text(path, sizeof(path), dir, "c.conf", MINIMAL "require_claim = ref=refs/heads/*\n",
               0600);
    /* the argument's key ends at its first '=': the rule keeps its own */
    assert_int_equal(load_with(path, 6, args, &cfg, &err), OIDC_OK);
    assert_int_equal(cfg->flow, OIDC_FLOW_TOKEN);
    assert_int_equal(cfg->require_claims.n, 1);
    assert_string_equal(cfg->require_claims.v[0], "repository=org/*");
    assert_string_equal(cfg->providers[0]->require_claims.v[0], "ref=refs/heads/*");
    assert_int_equal(cfg->require_groups.n, 1);
    assert_int_equal(cfg->use_first_pass, 1);
    assert_int_equal(cfg->try_first_pass, 0);
    assert_int_equal(cfg->login_timeout, 30);
    assert_int_equal(cfg->qr, 0);
    oidc_cfg_free(cfg);

    /* the cross-field checks run after the arguments too */
    write_text(path, sizeof(path), dir, "p.conf", MINIMAL "preauth = yes\n", 0600);
    assert_int_equal(load_with(path, 0, NULL, &cfg, &err), OIDC_ERR_CONFIG);
    assert_null(cfg);
    assert_msg(&err, "preauth: needs preauth_allow");

    args[0] = "require_claim=team";
    assert_int_equal(load_with(path, 1, args, &cfg, &err), OIDC_ERR_CONFIG);
    assert_msg(&err, "argument 2: require_claim: 'team' is not NAME=GLOB");
}

/* ---------------------------------------------------------------- documentation */

/* Every key, in the order of the table in common/conf.c (file keys, then argument-only keys). */
static const char *const doc_keys[] = {
    "state_dir",
    "debug",
    "default_provider",
    "host_name",
    "issuer",
    "client_id",
    "client_secret_file",
    "client_auth",
    "audience",
    "host_audience",
    "host_audience_template",
    "scope",
    "algorithms",
    "leeway",
    "max_token_age",
    "acr",
    "ca_file",
    "insecure_http_loopback",
    "connect_timeout",
    "timeout",
    "jwks_cooldown",
    "jwks_max_stale",
    "userinfo",
    "username_claim",
    "username_template",
    "require_email_verified",
    "strip_domain",
    "lowercase",
    "groups_claim",
    "groups_source",
    "groups_overage",
    "group_prefix",
    "group_allow",
    "uid_key",
    "uid_min",
    "uid_max",
    "home",
    "shell",
};

/* The provider keys of the PAM module and the NSS preauth, which follow "shell" in the table. The
 * example file does not show them yet, so only the man page is checked for them. */
static const char *const doc_keys_pam[] = {
    "preauth",       "preauth_allow",     "flow",        "login_timeout", "qr",
    "ephemeral",     "replay_protection", "session_max", "session_warn",  "allow_users",
    "allow_groups",  "deny_users",        "deny_groups", "require_group", "require_claim",
    "export_claims",
};

/* Reads $top_srcdir/rel (set by make check); skips the test when top_srcdir is not set. */
static char *read_source(const char *rel)
{
    const char *top = getenv("top_srcdir");
    char path[1024], *text = NULL;
    struct oidc_err err = {0};

    if (top == NULL) {
        print_message("top_srcdir not set (run through make check); skipped\n");
        skip();
    }
    snprintf(path, sizeof(path), "%s/%s", top, rel);
    if (oidc_read_file(path, 1024 * 1024, &text, NULL, &err) != OIDC_OK)
        fail_msg("%s", err.msg);
    return text;
}

/* session_max = token | DURATION | none, session_warn (docs/session.md) */
static void test_session_max(void **state)
{
    struct oidc_cfg *cfg;
    const struct oidc_provider_cfg *p;
    int64_t secs;

    (void)state;
    cfg = parse_ok(MINIMAL);
    p = oidc_cfg_provider(cfg, NULL);
    assert_int_equal(oidc_cfg_session_max(p, &secs), OIDC_SESSION_MAX_NONE);
    assert_int_equal(p->session_warn, 300);
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "session_max = token\nsession_warn = 10s\n");
    p = oidc_cfg_provider(cfg, NULL);
    assert_int_equal(oidc_cfg_session_max(p, &secs), OIDC_SESSION_MAX_TOKEN);
    assert_int_equal(p->session_warn, 10);
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "session_max = 8h\n");
    p = oidc_cfg_provider(cfg, NULL);
    assert_int_equal(oidc_cfg_session_max(p, &secs), OIDC_SESSION_MAX_DURATION);
    assert_int_equal(secs, 8 * 3600);
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "session_max = none\n");
    assert_int_equal(oidc_cfg_session_max(oidc_cfg_provider(cfg, NULL), &secs),
                     OIDC_SESSION_MAX_NONE);
    oidc_cfg_free(cfg);
    parse_fails(MINIMAL "session_max = forever\n",
                "session_max: 'forever' is not token, none or a duration of 10s to 30d");
    parse_fails(MINIMAL "session_max = 5s\n", "is not token, none or a duration");
    parse_fails(MINIMAL "session_max = 31d\n", "is not token, none or a duration");
    parse_fails(MINIMAL "session_warn = -1\n", "session_warn");
}

static void test_example_file(void **state)
{
    char *text = read_source("packaging/nss-pam-oidc.conf.example"), *on, *line, *p;
    struct oidc_cfg *cfg;
    const struct oidc_provider_cfg *pr;
    char want[64];
    size_t i;

    (void)state;
    /* as shipped: everything commented out, a valid empty configuration */
    cfg = parse_ok(text);
    assert_int_equal(cfg->n_providers, 0);
    oidc_cfg_free(cfg);
    /* every key is shown, once, as "#key = " */
    for (i = 0; i < sizeof(doc_keys) / sizeof(doc_keys[0]); i++) {
        snprintf(want, sizeof(want), "\n#%s =", doc_keys[i]);
        p = strstr(text, want);
        if (p == NULL || strstr(p + 1, want) != NULL)
            fail_msg("example shows '%s' %s", doc_keys[i], p == NULL ? "never" : "twice");
    }
    /* uncommenting every key line and the provider header gives a valid configuration whose
     * values are the defaults, apart from the sample strings */
    on = malloc(strlen(text) + 1);
    assert_non_null(on);
    on[0] = '\0';
    for (line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#' && (line[1] == '[' || (line[1] >= 'a' && line[1] <= 'z')))
            line++;
        strcat(on, line);
        strcat(on, "\n");
    }
    cfg = parse_ok(on);
    assert_int_equal(cfg->n_providers, 1);
    assert_string_equal(cfg->state_dir, "/var/lib/nss-pam-oidc");
    assert_int_equal(cfg->debug, 0);
    pr = oidc_cfg_provider(cfg, NULL);
    assert_non_null(pr);
    assert_int_equal(pr->client_auth, OIDC_CLIENT_AUTH_BASIC);
    assert_int_equal(pr->audiences.n, 0);
    assert_string_equal(pr->scope, "openid profile email");
    assert_int_equal(pr->algs, OIDC_ALGS_DEFAULT);
    assert_int_equal(pr->leeway, 60);
    assert_int_equal(pr->max_token_age, 0);
    assert_int_equal(pr->insecure_http_loopback, 0);
    assert_int_equal(pr->connect_timeout, 5);
    assert_int_equal(pr->timeout, 15);
    assert_int_equal(pr->jwks_cooldown, 60);
    assert_int_equal(pr->jwks_max_stale, 86400);
    assert_int_equal(pr->userinfo, 0);
    assert_int_equal(pr->username_claims.n, 1);
    assert_string_equal(pr->username_claims.v[0], "preferred_username");
    assert_int_equal(pr->require_email_verified, 1);
    assert_int_equal(pr->strip_domain, 0);
    assert_int_equal(pr->lowercase, 0);
    assert_string_equal(pr->groups_claim, "groups");
    assert_int_equal(pr->groups_source, OIDC_GROUPS_SOURCE_TOKEN);
    assert_int_equal(pr->groups_overage, OIDC_GROUPS_OVERAGE_REFUSE);
    assert_null(pr->group_prefix);
    assert_int_equal(pr->group_allow.n, 0);
    assert_int_equal(pr->uid_key, OIDC_UID_KEY_NAME);
    assert_int_equal(pr->uid_min, OIDC_UID_MIN_DEFAULT);
    assert_int_equal(pr->uid_max, OIDC_UID_MAX_DEFAULT);
    assert_string_equal(pr->home, "/home/{name}");
    assert_string_equal(pr->shell, "/bin/bash");
    oidc_cfg_free(cfg);
    free(on);
    free(text);
}

/* The man page documents every key, in table order. */
static void test_man_page_keys(void **state)
{
    char *text = read_source("packaging/man/nss-pam-oidc.conf.5"), *p, want[64], want2[64];
    char *a, *b;
    size_t i;

    (void)state;
    p = text;
    for (i = 0; i < sizeof(doc_keys) / sizeof(doc_keys[0]); i++) {
        snprintf(want, sizeof(want), "\n.BI %s \" = \"", doc_keys[i]);
        snprintf(want2, sizeof(want2), "\n.BR %s \" = \"", doc_keys[i]);
        a = strstr(p, want);
        b = strstr(p, want2);
        if (a == NULL || (b != NULL && b < a))
            a = b;
        if (a == NULL)
            fail_msg("man page: '%s' missing or out of table order", doc_keys[i]);
        p = a + 1;
    }
    for (i = 0; i < sizeof(doc_keys_pam) / sizeof(doc_keys_pam[0]); i++) {
        snprintf(want, sizeof(want), "\n.BI %s \" = \"", doc_keys_pam[i]);
        snprintf(want2, sizeof(want2), "\n.BR %s \" = \"", doc_keys_pam[i]);
        a = strstr(p, want);
        b = strstr(p, want2);
        if (a == NULL || (b != NULL && b < a))
            a = b;
        if (a == NULL)
            fail_msg("man page: '%s' missing or out of table order", doc_keys_pam[i]);
        p = a + 1;
    }
    /* cache_ttl is documented with the other [global] keys */
    assert_non_null(strstr(text, "\n.BI cache_ttl \" = \""));
    assert_non_null(strstr(text, "\n.BI config= "));
    assert_non_null(strstr(text, "\n.BI provider= "));
    assert_non_null(strstr(text, "\n.BR flow= "));
    assert_non_null(strstr(text, "\n.BI timeout= "));
    assert_non_null(strstr(text, "\n.BR qr= "));
    assert_non_null(strstr(text, "\n.BR use_first_pass \", \" try_first_pass"));
    assert_non_null(strstr(text, "\n.BI require_group= "));
    assert_non_null(strstr(text, "\n.BI require_claim= "));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_defaults),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_provider_defaults),
        cmocka_unit_test(test_every_key_parses),
        cmocka_unit_test(test_unknown_key_suggests),
        cmocka_unit_test(test_unknown_key_without_suggestion),
        cmocka_unit_test(test_client_secret_key_refused),
        cmocka_unit_test(test_key_before_section),
        cmocka_unit_test(test_key_in_wrong_section),
        cmocka_unit_test(test_bool_values),
        cmocka_unit_test(test_bad_bool),
        cmocka_unit_test(test_leeway_range),
        cmocka_unit_test(test_timeout_ranges),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_paths_absolute),
        cmocka_unit_test(test_scope_needs_openid),
        cmocka_unit_test(test_quoted_values),
        cmocka_unit_test(test_comments_blank_lines_whitespace),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_provider_name_bad_chars),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_duplicate_provider),
        cmocka_unit_test(test_provider_limit),
        cmocka_unit_test(test_line_length),
        cmocka_unit_test(test_control_bytes),
        cmocka_unit_test(test_http_issuer_refused),
        cmocka_unit_test(test_http_loopback_needs_flag),
        cmocka_unit_test(test_issuer_syntax),
        cmocka_unit_test(test_check_missing_issuer_client_id),
        cmocka_unit_test(test_uid_values),
        cmocka_unit_test(test_uid_range_below_1000),
        cmocka_unit_test(test_uid_min_above_max),
        cmocka_unit_test(test_uid_key),
        cmocka_unit_test(test_algorithms),
        cmocka_unit_test(test_provider_lookup),
        cmocka_unit_test(test_default_provider_must_exist),
        cmocka_unit_test(test_set_api),
        cmocka_unit_test(test_failed_set_keeps_value),
        cmocka_unit_test(test_load_missing_default_ok),
        cmocka_unit_test(test_arg_unknown_key),
        cmocka_unit_test(test_arg_repeated),
        cmocka_unit_test(test_arg_config_relative),
        cmocka_unit_test(test_pam_keys_defaults),
        cmocka_unit_test(test_pam_keys_parse),
        cmocka_unit_test(test_flow_values),
        cmocka_unit_test(test_login_timeout_range),
        cmocka_unit_test(test_qr_values),
        cmocka_unit_test(test_pam_bools),
        cmocka_unit_test(test_access_lists_need_items),
        cmocka_unit_test(test_require_claim_rule_checked),
        cmocka_unit_test(test_export_claims_names_checked),
        cmocka_unit_test(test_cache_ttl),
        cmocka_unit_test(test_provider_only_keys_refused_in_global),
        cmocka_unit_test(test_argument_only_keys_refused_in_file),
        cmocka_unit_test(test_preauth_needs_uid_key_name),
        cmocka_unit_test(test_preauth_needs_preauth_allow),
        cmocka_unit_test(test_preauth_home_only_name),
        cmocka_unit_test(test_preauth_ok),
        cmocka_unit_test(test_args_pam_keys),
        cmocka_unit_test(test_args_pam_keys_refused),
        cmocka_unit_test(test_timeout_means_http_in_file_login_in_args),
        cmocka_unit_test(test_flow_in_file_and_args),
        cmocka_unit_test_setup_teardown(test_load_pam_arguments, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_load_missing_explicit_fails, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_load_file_and_args, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_load_reports_file_and_line, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_dropin_order, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_dropin_cannot_reset_key, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_dropin_dir_unsafe, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_group_writable, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_symlink_refused, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_not_regular, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_too_large, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_not_root_owned, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_secret_ok, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_secret_mode_refused, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_secret_content_refused, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_secret_file_refused, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(test_host_audience_keys),
        cmocka_unit_test(test_session_max),
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_man_page_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
