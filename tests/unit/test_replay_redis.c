/* replay_redis: the parts of the Redis replay store that need no server. The key derivation is
 * checked against vectors computed outside this code (printf 'ISS\0JTI' | sha256sum), the TTL
 * rule and its bounds, the replay_store URL syntax, and the bounded RESP reply parser. The
 * client itself is tested against a real redis-server by tests/pam/replay_redis.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "replay_int.h"
#include "replay_redis.h"

#define ISS "https://issuer.example"
#define NOW 1700000000

/* ---------------------------------------------------------------- key derivation */

static void test_key_vectors(void **state)
{
    char key[OIDC_REDIS_KEY_LEN + 1];

    (void)state;
    /* printf 'https://issuer.example\0jti-1' | sha256sum */
    assert_int_equal(oidc_redis_key(ISS, "jti-1", NULL, 0, key), OIDC_OK);
    assert_string_equal(
        key, "oidc:jti:1019ee7c37c7df63e45b226a59d80255e4ec08dc9c4a71b2262764b7b6760e67");
    /* the issuer is part of the key, byte for byte (a trailing slash is another issuer) */
    assert_int_equal(oidc_redis_key(ISS "/", "jti-1", NULL, 0, key), OIDC_OK);
    assert_string_equal(
        key, "oidc:jti:839747fa90cc3e0a038b5c3ac7840fe4005f12e76f92f5fb469439206bb75b8f");
    /* no jti: the token's signing input, in its own namespace;
     * printf 'ISS\0#aaa.bbb' | sha256sum */
    assert_int_equal(oidc_redis_key(ISS, NULL, "aaa.bbb.ccc", 11, key), OIDC_OK);
    assert_string_equal(
        key, "oidc:tok:6d5f1623f48e4e582b7d02ec31f3e53c765ea576a34f512325aa54648488b2ec");
    /* a re-encoded signature (ECDSA's (r, n - s)) is the same token */
    assert_int_equal(oidc_redis_key(ISS, NULL, "aaa.bbb.ddd", 11, key), OIDC_OK);
    assert_string_equal(
        key, "oidc:tok:6d5f1623f48e4e582b7d02ec31f3e53c765ea576a34f512325aa54648488b2ec");
    assert_int_equal(strlen(key), OIDC_REDIS_KEY_LEN);
}

static void test_key_has_no_token_bytes(void **state)
{
    char key[OIDC_REDIS_KEY_LEN + 1];

    (void)state;
    assert_int_equal(oidc_redis_key(ISS, NULL, "eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", 32, key),
                     OIDC_OK);
    assert_null(strstr(key, "eyJ"));
    assert_null(strstr(key, "c2lnbmF0dXJl"));
    assert_int_equal(oidc_redis_key(ISS, "a-jti", NULL, 0, key), OIDC_OK);
    assert_null(strstr(key, "a-jti"));
}

static void test_key_bad_arguments(void **state)
{
    char key[OIDC_REDIS_KEY_LEN + 1];

    (void)state;
    assert_int_equal(oidc_redis_key(NULL, "j", NULL, 0, key), OIDC_ERR_INVALID);
    assert_int_equal(oidc_redis_key(ISS, NULL, NULL, 0, key), OIDC_ERR_INVALID);
    assert_int_equal(oidc_redis_key(ISS, NULL, "x", 0, key), OIDC_ERR_INVALID);
}

/* ---------------------------------------------------------------- TTL */

static void test_ttl(void **state)
{
    struct oidc_err err = {0};
    int64_t ttl = 0;

    (void)state;
    assert_int_equal(oidc_redis_ttl(NOW + 600, NOW, &ttl, &err), OIDC_OK);
    assert_int_equal(ttl, 600 + OIDC_REPLAY_GRACE);
    /* expired, but still inside the longest leeway: kept for the rest of it */
    assert_int_equal(oidc_redis_ttl(NOW - 100, NOW, &ttl, &err), OIDC_OK);
    assert_int_equal(ttl, OIDC_REPLAY_GRACE - 100);
    /* past any leeway: at least 1 s, never 0 or negative (PX 0 is an error in Redis) */
    assert_int_equal(oidc_redis_ttl(NOW - 10000, NOW, &ttl, &err), OIDC_OK);
    assert_int_equal(ttl, 1);
    assert_int_equal(oidc_redis_ttl(INT64_MIN, NOW, &ttl, &err), OIDC_OK);
    assert_int_equal(ttl, 1);
    /* the bound: a token valid for longer than a key is kept is refused, not half-protected */
    assert_int_equal(oidc_redis_ttl(NOW + OIDC_REDIS_TTL_MAX, NOW, &ttl, &err), OIDC_OK);
    assert_int_equal(ttl, OIDC_REDIS_TTL_MAX);
    assert_int_equal(oidc_redis_ttl(NOW + OIDC_REDIS_TTL_MAX + 1, NOW, &ttl, &err), OIDC_ERR_TOKEN);
    assert_non_null(strstr(err.msg, "longer than the Redis replay store keeps a key (31 days)"));
    assert_int_equal(oidc_redis_ttl(INT64_MAX, NOW, &ttl, &err), OIDC_ERR_TOKEN);
}

/* ---------------------------------------------------------------- URL */

#ifdef HAVE_HIREDIS
static void url_ok(const char *s, const char *host, int port, int db)
{
    struct oidc_redis_url u;
    const char *problem = oidc_redis_url_parse(s, &u);

    if (problem != NULL)
        fail_msg("'%s': %s", s, problem);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_int_equal(u.db, db);
}
#endif

static void url_bad(const char *s, const char *want)
{
    const char *problem = oidc_redis_url_parse(s, NULL);

    if (problem == NULL || strstr(problem, want) == NULL)
        fail_msg("'%s': got '%s', wanted '%s'", s, problem != NULL ? problem : "(accepted)", want);
}

static void test_url(void **state)
{
    (void)state;
#ifdef HAVE_HIREDIS
    url_ok("redis://127.0.0.1", "127.0.0.1", 6379, 0);
    url_ok("redis://127.0.0.1/", "127.0.0.1", 6379, 0);
    url_ok("redis://127.0.0.1:6380/2", "127.0.0.1", 6380, 2);
    url_ok("redis://redis.internal.example:7000", "redis.internal.example", 7000, 0);
    url_ok("redis://[::1]:6379/15", "::1", 6379, 15);
    url_bad("redis://", "has no host");
    url_bad("redis://:6379", "has no host");
    url_bad("redis://127.0.0.1:0", "port that is not a number in 1..65535");
    url_bad("redis://127.0.0.1:65536", "port that is not a number in 1..65535");
    url_bad("redis://127.0.0.1:x", "port that is not a number");
    url_bad("redis://127.0.0.1/65536", "database that is not a number in 0..65535");
    url_bad("redis://127.0.0.1/-1", "database that is not a number");
    url_bad("redis://127.0.0.1/1/2", "database that is not a number");
    url_bad("redis://:secret@127.0.0.1", "user or password in the URL");
    url_bad("redis://user:secret@127.0.0.1:6379/0", "user or password in the URL");
    url_bad("redis://127.0.0.1?db=1", "query or fragment");
    url_bad("redis://[::1", "unclosed '['");
    url_bad("redis://[::g]:1", "IPv6 literal");
    url_bad("redis://a b", "character other than");
    url_bad("redis://127.0.0.1%2F:1", "character other than");
#else
    url_bad("redis://127.0.0.1", "this build has no Redis support");
#endif
    url_bad("rediss://127.0.0.1:6380", "rediss:// (TLS), which this build cannot do");
    url_bad("http://127.0.0.1", "neither local nor a redis:// URL");
    url_bad("Redis://127.0.0.1", "neither local nor a redis:// URL");
}

/* ---------------------------------------------------------------- replies */

static void reply_ok(const char *buf, size_t len, enum oidc_redis_type type, const char *text)
{
    struct oidc_redis_reply rep;
    size_t used = 0;

    assert_int_equal(oidc_redis_reply_parse(buf, len, &rep, &used), OIDC_OK);
    assert_int_equal(rep.type, type);
    assert_string_equal(rep.text, text);
    assert_int_equal(used, len);
}

static int reply_rc(const char *buf, size_t len)
{
    struct oidc_redis_reply rep;
    size_t used = 0;

    return oidc_redis_reply_parse(buf, len, &rep, &used);
}

static void test_reply_parse(void **state)
{
    char big[OIDC_REDIS_REPLY_MAX + 16];
    size_t i;

    (void)state;
    reply_ok("+OK\r\n", 5, OIDC_REDIS_STATUS, "OK");
    reply_ok("$-1\r\n", 5, OIDC_REDIS_NIL, "");
    reply_ok("_\r\n", 3, OIDC_REDIS_NIL, "");
    reply_ok("-WRONGPASS invalid username-password pair\r\n", 43, OIDC_REDIS_ERROR,
             "WRONGPASS invalid username-password pair");
    reply_ok(":42\r\n", 5, OIDC_REDIS_INTEGER, "42");
    reply_ok("$2\r\nab\r\n", 8, OIDC_REDIS_BULK, "ab");
    /* incomplete beginnings wait for more */
    assert_int_equal(reply_rc("", 0), OIDC_ERR_PENDING);
    assert_int_equal(reply_rc("+O", 2), OIDC_ERR_PENDING);
    assert_int_equal(reply_rc("+OK\r", 4), OIDC_ERR_PENDING);
    assert_int_equal(reply_rc("$5\r\nab", 6), OIDC_ERR_PENDING);
    /* one reply is consumed; what follows is the caller's business */
    {
        struct oidc_redis_reply rep;
        size_t used = 0;
        assert_int_equal(oidc_redis_reply_parse("+OK\r\n+OK\r\n", 10, &rep, &used), OIDC_OK);
        assert_int_equal(used, 5);
    }
    /* never a reply this client accepts */
    assert_int_equal(reply_rc("*1\r\n$1\r\na\r\n", 11), OIDC_ERR_PARSE); /* arrays */
    assert_int_equal(reply_rc("*1000000000\r\n", 13), OIDC_ERR_PARSE);
    assert_int_equal(reply_rc("$100000\r\n", 9), OIDC_ERR_PARSE); /* over the bound */
    assert_int_equal(reply_rc("$-2\r\n", 5), OIDC_ERR_PARSE);
    assert_int_equal(reply_rc("$2\r\nabc\r\n", 9), OIDC_ERR_PARSE);
    assert_int_equal(reply_rc("+OK\n", 4), OIDC_ERR_PARSE);     /* bare LF */
    assert_int_equal(reply_rc("+O\rK\r\n", 6), OIDC_ERR_PARSE); /* bare CR */
    assert_int_equal(reply_rc(":4x\r\n", 5), OIDC_ERR_PARSE);
    assert_int_equal(reply_rc(":\r\n", 3), OIDC_ERR_PARSE);
    assert_int_equal(reply_rc("HTTP/1.1 400\r\n", 14), OIDC_ERR_PARSE);
    assert_int_equal(reply_rc("_x\r\n", 4), OIDC_ERR_PARSE);
    /* a line without an end within the bound is refused, not waited for */
    big[0] = '+';
    for (i = 1; i < sizeof(big); i++)
        big[i] = 'a';
    assert_int_equal(reply_rc(big, OIDC_REDIS_REPLY_MAX), OIDC_ERR_PENDING);
    assert_int_equal(reply_rc(big, sizeof(big)), OIDC_ERR_PARSE);
}

/* ---------------------------------------------------------------- the store name */

static void test_store_is_redis(void **state)
{
    struct oidc_provider_cfg p;
    char local[] = "local", redis[] = "redis://127.0.0.1";

    (void)state;
    memset(&p, 0, sizeof(p));
    assert_false(oidc_replay_store_is_redis(NULL));
    assert_false(oidc_replay_store_is_redis(&p));
    p.replay_store = local;
    assert_false(oidc_replay_store_is_redis(&p));
    p.replay_store = redis;
    assert_true(oidc_replay_store_is_redis(&p));
}

/* ---------------------------------------------------------------- configuration keys */

#define ISSUER  "https://idp.example.test"
#define MINIMAL "[provider corp]\nissuer = " ISSUER "\nclient_id = shell\n"

static int parse(const char *text, struct oidc_cfg **out, struct oidc_err *err)
{
    *out = oidc_cfg_new();
    assert_non_null(*out);
    memset(err, 0, sizeof(*err));
    return oidc_cfg_parse_text(*out, text, strlen(text), "test.conf", err);
}

static void parse_fails(const char *text, const char *want)
{
    struct oidc_cfg *cfg;
    struct oidc_err err;
    int r = parse(text, &cfg, &err);

    if (r != OIDC_ERR_CONFIG || strstr(err.msg, want) == NULL)
        fail_msg("text:\n%s\nstatus %d, message \"%s\"\nwanted \"%s\"", text, r, err.msg, want);
    oidc_cfg_free(cfg);
}

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

static void test_replay_store_keys(void **state)
{
    struct oidc_cfg *cfg;
    const struct oidc_provider_cfg *p;
#ifdef HAVE_HIREDIS
    char pw[] = "/tmp/test_conf_pw.XXXXXX", text[512];
    int fd;
#endif

    (void)state;
    /* defaults: the local store, 2 s, refuse */
    cfg = parse_ok(MINIMAL);
    p = cfg->providers[0];
    assert_null(p->replay_store);
    assert_null(p->replay_store_password_file);
    assert_int_equal(p->replay_store_timeout, 2);
    assert_int_equal(p->replay_store_unavailable, OIDC_REPLAY_UNAVAIL_REFUSE);
    assert_false(oidc_replay_store_is_redis(p));
    oidc_cfg_free(cfg);
    cfg = parse_ok(MINIMAL "replay_store = local\n");
    assert_false(oidc_replay_store_is_redis(cfg->providers[0]));
    oidc_cfg_free(cfg);
#ifdef HAVE_HIREDIS
    cfg = parse_ok(MINIMAL "replay_store = redis://10.0.0.5:6380/2\nreplay_store_timeout = 5s\n"
                           "replay_store_unavailable = local\n");
    p = cfg->providers[0];
    assert_string_equal(p->replay_store, "redis://10.0.0.5:6380/2");
    assert_true(oidc_replay_store_is_redis(p));
    assert_int_equal(p->replay_store_timeout, 5);
    assert_int_equal(p->replay_store_unavailable, OIDC_REPLAY_UNAVAIL_LOCAL);
    oidc_cfg_free(cfg);
    parse_fails(MINIMAL "replay_store = redis://:hunter2@10.0.0.5\n",
                "replay_store: has a user or password in the URL");
    /* the value is never quoted back: it may hold a password */
    {
        struct oidc_cfg *c2 = NULL;
        struct oidc_err err;
        assert_int_equal(parse(MINIMAL "replay_store = redis://:hunter2@10.0.0.5\n", &c2, &err),
                         OIDC_ERR_CONFIG);
        assert_null(strstr(err.msg, "hunter2"));
        oidc_cfg_free(c2);
    }
    check_fails(MINIMAL "replay_store = redis://10.0.0.5\nreplay_protection = no\n",
                "replay_store: names a Redis store but replay_protection = no");
    /* the password file: at load, as the client secret is at use */
    if (geteuid() == 0) {
        fd = mkstemp(pw);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "pw\n", 3), 3);
        close(fd);
        assert_int_equal(chmod(pw, 0600), 0);
        snprintf(text, sizeof(text),
                 MINIMAL "replay_store = redis://10.0.0.5\nreplay_store_password_file = %s\n", pw);
        cfg = parse_ok(text);
        oidc_cfg_free(cfg);
        assert_int_equal(chmod(pw, 0644), 0);
        check_fails(text, "refused: mode 0644 grants access to group or others");
        assert_int_equal(chmod(pw, 0640), 0);
        check_fails(text, "refused: mode 0640 grants access to group or others");
        unlink(pw);
        check_fails(text, "replay_store_password_file: /tmp/test_conf_pw.");
    }
#else
    parse_fails(MINIMAL "replay_store = redis://10.0.0.5\n", "this build has no Redis support");
#endif
    parse_fails(MINIMAL "replay_store = rediss://10.0.0.5\n",
                "replay_store: is rediss:// (TLS), which this build cannot do");
    parse_fails(MINIMAL "replay_store = memcached://10.0.0.5\n",
                "replay_store: is neither local nor a redis:// URL (expected local or "
                "redis://HOST[:PORT][/DB])");
    parse_fails(MINIMAL "replay_store_timeout = 0\n", "replay_store_timeout:");
    parse_fails(MINIMAL "replay_store_timeout = 11\n", "replay_store_timeout:");
    parse_fails(MINIMAL "replay_store_unavailable = allow\n",
                "replay_store_unavailable: 'allow' is not a known value");
    parse_fails(MINIMAL "replay_store_password_file = relative\n",
                "replay_store_password_file: 'relative' is not an absolute path");
    check_fails(MINIMAL "replay_store_password_file = /etc/redis.pw\n",
                "replay_store_password_file: set, but replay_store is not redis://");
    parse_fails("[global]\nreplay_store = local\n", "replay_store: not allowed in [global]");
}

/* nss-pam-oidc.conf(5) documents the keys in table order: after replay_protection, before
 * allow_users (test_conf checks the other keys the same way). */
static void test_man_page_keys(void **state)
{
    static const char *const keys[] = {
        "replay_protection",          "replay_store",
        "replay_store_password_file", "replay_store_timeout",
        "replay_store_unavailable",   "allow_users",
    };
    const char *top = getenv("top_srcdir");
    char path[1024], want[80], want2[80], *text = NULL, *p, *a, *b;
    struct oidc_err err = {0};
    size_t i;

    (void)state;
    if (top == NULL) {
        print_message("top_srcdir not set (run through make check); skipped\n");
        skip();
    }
    snprintf(path, sizeof(path), "%s/packaging/man/nss-pam-oidc.conf.5", top);
    if (oidc_read_file(path, 1024 * 1024, &text, NULL, &err) != OIDC_OK)
        fail_msg("%s", err.msg);
    p = text;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(want, sizeof(want), "\n.BI %s \" = \"", keys[i]);
        snprintf(want2, sizeof(want2), "\n.BR %s \" = \"", keys[i]);
        a = strstr(p, want);
        b = strstr(p, want2);
        if (a == NULL || (b != NULL && b < a))
            a = b;
        if (a == NULL)
            fail_msg("man page: '%s' missing or out of table order", keys[i]);
        p = a + 1;
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_vectors),
        cmocka_unit_test(test_key_has_no_token_bytes),
        cmocka_unit_test(test_key_bad_arguments),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_reply_parse),
        cmocka_unit_test(test_store_is_redis),
        cmocka_unit_test(test_replay_store_keys),
        cmocka_unit_test(test_man_page_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
