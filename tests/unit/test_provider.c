/* Provider: discovery and JWKS caching (memory and disk), outages, unknown-kid refetch rate
 * limiting, key rotation. The HTTP layer is replaced at link time (-Wl,--wrap=oidc_http_request)
 * by a scripted set of routes that counts requests. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "provider.h"
#include "tokgen.h"

#define ISS       "https://idp.example.com"
#define CLIENT_ID "client-1"
#define DISC_URL  ISS "/.well-known/openid-configuration"
#define JWKS_URL  ISS "/jwks"
#define T0        ((int64_t)1700000000)

/* ------------------------------------------------------------------ HTTP mock */

struct route {
    char url[256];
    int rc; /* non-zero: fail with this code (OIDC_ERR_NETWORK = outage) */
    long status;
    char *body;
    int64_t max_age;
    unsigned hits;
};

static struct route routes[4];
static unsigned n_requests;

static struct route *route_find(const char *url)
{
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(routes[i].url, url) == 0)
            return &routes[i];
    return NULL;
}

static void route_set(const char *url, int rc, long status, const char *body, int64_t max_age)
{
    struct route *r = route_find(url);
    size_t i;

    for (i = 0; r == NULL && i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].url[0] == '\0')
            r = &routes[i];
    if (r == NULL) {
        fail_msg("too many routes");
        return;
    }
    snprintf(r->url, sizeof(r->url), "%s", url);
    r->rc = rc;
    r->status = status;
    free(r->body);
    r->body = body != NULL ? strdup(body) : NULL;
    r->max_age = max_age;
}

static unsigned hits(const char *url)
{
    struct route *r = route_find(url);

    return r != NULL ? r->hits : 0;
}

static void routes_reset(void)
{
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        free(routes[i].body);
    memset(routes, 0, sizeof(routes));
    n_requests = 0;
}

int __wrap_oidc_http_request(const struct oidc_http_opts *opts, const struct oidc_http_req *req,
                             struct oidc_http_resp *resp, struct oidc_err *err);
int __wrap_oidc_http_request(const struct oidc_http_opts *opts, const struct oidc_http_req *req,
                             struct oidc_http_resp *resp, struct oidc_err *err)
{
    struct route *r;

    (void)opts;
    memset(resp, 0, sizeof(*resp));
    resp->max_age = -1;
    n_requests++;
    r = route_find(req->url);
    if (r == NULL) {
        fail_msg("unexpected request to %s", req->url);
        return OIDC_ERR_INTERNAL;
    }
    r->hits++;
    if (r->rc != 0)
        return OIDC_ERR_SET(err, r->rc, "cannot reach %s: mock outage", req->url);
    resp->status = r->status;
    resp->body = strdup(r->body != NULL ? r->body : "");
    assert_non_null(resp->body);
    resp->len = strlen(resp->body);
    resp->max_age = r->max_age;
    resp->date = T0;
    return OIDC_OK;
}

/* ------------------------------------------------------------------ fixtures */

static struct tg_key *k1, *k2;
static char issuer_buf[128], client_buf[64];
static struct oidc_provider_cfg pcfg;
static char tmpdir[64];

static const char disc_doc[] = "{\"issuer\":\"" ISS "\",\"jwks_uri\":\"" JWKS_URL "\","
                               "\"token_endpoint\":\"" ISS "/token\","
                               "\"device_authorization_endpoint\":\"" ISS "/device\"}";

static int group_setup(void **state)
{
    (void)state;
    k1 = tg_key_new("ES256", "k1");
    k2 = tg_key_new("ES256", "k2");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tg_key_free(k1);
    tg_key_free(k2);
    return 0;
}

static void set_jwks(struct tg_key *const *keys, size_t n, int64_t max_age)
{
    char *j = tg_jwks_json(keys, n);

    route_set(JWKS_URL, 0, 200, j, max_age);
    free(j);
}

static int setup(void **state)
{
    (void)state;
    routes_reset();
    memset(&pcfg, 0, sizeof(pcfg));
    snprintf(issuer_buf, sizeof(issuer_buf), "%s", ISS);
    snprintf(client_buf, sizeof(client_buf), "%s", CLIENT_ID);
    pcfg.issuer = issuer_buf;
    pcfg.client_id = client_buf;
    pcfg.algs = OIDC_ALGS_DEFAULT;
    pcfg.leeway = 60;
    pcfg.jwks_cooldown = 60;
    route_set(DISC_URL, 0, 200, disc_doc, 3600);
    set_jwks(&k1, 1, 3600);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_provider.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static void rm_rf(const char *dir)
{
    char path[512];
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (de->d_type == DT_DIR)
            rm_rf(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    (void)state;
    routes_reset();
    rm_rf(tmpdir);
    return 0;
}

static struct oidc_provider *new_provider(const char *state_dir)
{
    struct oidc_provider *p = NULL;
    struct oidc_err err = {0};

    assert_int_equal(oidc_provider_new(&pcfg, state_dir, &p, &err), OIDC_OK);
    assert_non_null(p);
    return p;
}

/* A valid ID token for the fixture issuer and client, issued at iat. */
static char *mint(const struct tg_key *k, const char *header, int64_t iat)
{
    char claims[512];

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" ISS "\",\"aud\":\"" CLIENT_ID "\",\"sub\":\"alice\",\"iat\":%lld,"
             "\"exp\":%lld}",
             (long long)iat, (long long)(iat + 3600));
    return tg_sign(k, header, claims);
}

static int verify(struct oidc_provider *p, const char *jwt, int64_t now, struct oidc_err *err)
{
    struct oidc_token *tok = NULL;
    int r;

    r = oidc_provider_verify(p, jwt, strlen(jwt), now, NULL, &tok, err);
    if (r == OIDC_OK) {
        assert_non_null(tok);
        assert_string_equal(tok->sub, "alice");
    }
    oidc_token_free(tok);
    return r;
}

/* Finds the cache file with the given suffix under tmpdir/idp. */
static int cache_file(const char *suffix, char *out, size_t cap)
{
    char dir[128];
    struct dirent *de;
    DIR *d;
    size_t ns = strlen(suffix), n;
    int found = 0;

    snprintf(dir, sizeof(dir), "%s/idp", tmpdir);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while (!found && (de = readdir(d)) != NULL) {
        n = strlen(de->d_name);
        if (n == 64 + ns && strcmp(de->d_name + 64, suffix) == 0) {
            snprintf(out, cap, "%s/%s", dir, de->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* ------------------------------------------------------------------ discovery */

static void test_discovery_issuer_mismatch_trailing_slash(void **state)
{
    struct oidc_provider *p;
    struct oidc_err err = {0};

    (void)state;
    route_set(DISC_URL, 0, 200, "{\"issuer\":\"" ISS "/\",\"jwks_uri\":\"" JWKS_URL "\"}", 3600);
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_CONFIG);
    assert_string_equal(err.msg, "issuer in discovery is 'https://idp.example.com/' but the "
                                 "configuration says 'https://idp.example.com'");
    assert_int_equal(hits(DISC_URL), 1);
    assert_null(oidc_provider_endpoint(p, "jwks_uri"));
    oidc_provider_free(p);
}

static void test_discovery_url_not_doubled(void **state)
{
    struct oidc_provider *p;
    struct oidc_err err = {0};

    (void)state;
    /* the configured issuer ends with '/': the discovery URL must not get "//" */
    snprintf(issuer_buf, sizeof(issuer_buf), "%s/", ISS);
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_CONFIG);
    assert_int_equal(hits(DISC_URL), 1);
    assert_string_equal(err.msg, "issuer in discovery is 'https://idp.example.com' but the "
                                 "configuration says 'https://idp.example.com/'");
    oidc_provider_free(p);
}

static void test_discovery_cached(void **state)
{
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_OK);
    assert_string_equal(oidc_provider_endpoint(p, "token_endpoint"), ISS "/token");
    assert_string_equal(oidc_provider_endpoint(p, "jwks_uri"), JWKS_URL);
    assert_null(oidc_provider_endpoint(p, "userinfo_endpoint"));
    assert_int_equal(oidc_provider_discover(p, T0 + 10, &err), OIDC_OK);
    assert_int_equal(oidc_provider_discover(p, T0 + 3599, &err), OIDC_OK);
    assert_int_equal(n_requests, 1);
    /* expired: fetched again */
    assert_int_equal(oidc_provider_discover(p, T0 + 3600, &err), OIDC_OK);
    assert_int_equal(n_requests, 2);
    oidc_provider_free(p);
}

static void test_discovery_rejects_plain_http_endpoint(void **state)
{
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};

    (void)state;
    route_set(DISC_URL, 0, 200,
              "{\"issuer\":\"" ISS "\",\"jwks_uri\":\"http://idp.example.com/jwks\"}", 3600);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_HTTP);
    assert_non_null(strstr(err.msg, "jwks_uri"));
    assert_non_null(strstr(err.msg, "only https is allowed"));
    route_set(DISC_URL, 0, 200, "{\"issuer\":\"" ISS "\"}", 3600);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "discovery document has no jwks_uri");
    route_set(DISC_URL, 0, 200, "<html>", 3600);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_PARSE);
    route_set(DISC_URL, 0, 404, "{}", 3600);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "discovery at " DISC_URL " answered HTTP 404");
    oidc_provider_free(p);
}

static void test_loopback_http_issuer(void **state)
{
    struct oidc_provider *p;
    struct oidc_err err = {0};

    (void)state;
    snprintf(issuer_buf, sizeof(issuer_buf), "http://127.0.0.1:8080");
    route_set("http://127.0.0.1:8080/.well-known/openid-configuration", 0, 200,
              "{\"issuer\":\"http://127.0.0.1:8080\",\"jwks_uri\":\"http://127.0.0.1:8080/j\"}",
              -1);
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "only https is allowed"));
    assert_int_equal(n_requests, 0);
    pcfg.insecure_http_loopback = 1;
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_OK);
    assert_int_equal(n_requests, 1);
    oidc_provider_free(p);
}

static void test_url_check(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(oidc_http_url_check("https://idp.example.com/x", 0, &err), OIDC_OK);
    assert_int_equal(oidc_http_url_check("http://idp.example.com/x", 0, &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("http://127.0.0.1/x", 0, &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("http://127.0.0.1:9/x", 1, &err), OIDC_OK);
    assert_int_equal(oidc_http_url_check("http://127.9.8.7/x", 1, &err), OIDC_OK);
    assert_int_equal(oidc_http_url_check("http://[::1]:8080/x", 1, &err), OIDC_OK);
    assert_int_equal(oidc_http_url_check("http://localhost:8080/x", 1, &err), OIDC_OK);
    assert_int_equal(oidc_http_url_check("http://idp.example.com/x", 1, &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("http://127.0.0.1.example.com/", 1, &err),
                     OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("http://128.0.0.1/", 1, &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("http://[::2]/", 1, &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("ftp://127.0.0.1/", 1, &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("idp.example.com/x", 0, &err), OIDC_ERR_CONFIG);
    assert_int_equal(oidc_http_url_check("https://u:secret@idp.example.com/", 0, &err),
                     OIDC_ERR_CONFIG);
    assert_null(strstr(err.msg, "secret"));
}

static void test_form_escape(void **state)
{
    char *s = oidc_http_form_escape("a b&c=d:/~*-._%+\xc3\xa9");

    (void)state;
    assert_string_equal(s, "a+b%26c%3Dd%3A%2F%7E*-._%25%2B%C3%A9");
    free(s);
}

static void test_ttl_clamped(void **state)
{
    struct oidc_provider_stats st;
    const struct oidc_jwks *set = NULL;
    struct oidc_provider *p;
    struct oidc_err err = {0};

    (void)state;
    /* too short: raised to OIDC_DOC_TTL_MIN */
    route_set(DISC_URL, 0, 200, disc_doc, 10);
    set_jwks(&k1, 1, 0); /* no-store */
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_jwks(p, T0, 0, &set, &err), OIDC_OK);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.discovery_expires, T0 + OIDC_DOC_TTL_MIN);
    assert_int_equal(st.jwks_expires, T0 + OIDC_DOC_TTL_MIN);
    assert_int_equal(st.discovery_fetches, 1);
    assert_int_equal(st.jwks_fetches, 1);
    assert_int_equal(st.server_date, T0);
    oidc_provider_free(p);

    /* too long: lowered to OIDC_DOC_TTL_MAX */
    route_set(DISC_URL, 0, 200, disc_doc, 10000000);
    set_jwks(&k1, 1, 1000);
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_jwks(p, T0, 0, &set, &err), OIDC_OK);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.discovery_expires, T0 + OIDC_DOC_TTL_MAX);
    assert_int_equal(st.jwks_expires, T0 + 1000);
    oidc_provider_free(p);

    /* absent: the minimum */
    route_set(DISC_URL, 0, 200, disc_doc, -1);
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_OK);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.discovery_expires, T0 + OIDC_DOC_TTL_MIN);
    oidc_provider_free(p);
}

static void test_stale_discovery_during_outage(void **state)
{
    struct oidc_provider_stats st;
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};

    (void)state;
    route_set(DISC_URL, 0, 200, disc_doc, 300);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_OK);
    route_set(DISC_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    assert_int_equal(oidc_provider_discover(p, T0 + 400, &err), OIDC_OK);
    assert_int_equal(hits(DISC_URL), 2);
    assert_string_equal(oidc_provider_endpoint(p, "token_endpoint"), ISS "/token");
    oidc_provider_stats(p, &st);
    assert_int_equal(st.discovery_expires, T0 + 300);
    assert_non_null(strstr(st.last_error, "mock outage"));
    /* no hammering while the outage lasts */
    assert_int_equal(oidc_provider_discover(p, T0 + 401, &err), OIDC_OK);
    assert_int_equal(hits(DISC_URL), 2);
    /* an HTTP error status is an outage too */
    route_set(DISC_URL, 0, 503, "busy", -1);
    assert_int_equal(oidc_provider_discover(p, T0 + 500, &err), OIDC_OK);
    assert_int_equal(hits(DISC_URL), 3);
    /* back: replaced */
    route_set(DISC_URL, 0, 200, disc_doc, 300);
    assert_int_equal(oidc_provider_discover(p, T0 + 600, &err), OIDC_OK);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.discovery_expires, T0 + 900);
    assert_string_equal(st.last_error, "");
    oidc_provider_free(p);
}

static void test_no_discovery_no_stale(void **state)
{
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};

    (void)state;
    route_set(DISC_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_ERR_NETWORK);
    assert_non_null(strstr(err.msg, "cannot reach " DISC_URL));
    /* no backoff without a stale copy: every call tries */
    assert_int_equal(oidc_provider_discover(p, T0 + 1, &err), OIDC_ERR_NETWORK);
    assert_int_equal(hits(DISC_URL), 2);
    oidc_provider_free(p);
}

static void test_stale_jwks_during_outage(void **state)
{
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};
    char *t1, *t2;

    (void)state;
    route_set(DISC_URL, 0, 200, disc_doc, 300);
    set_jwks(&k1, 1, 300);
    t1 = mint(k1, NULL, T0);
    assert_int_equal(verify(p, t1, T0, &err), OIDC_OK);
    assert_int_equal(n_requests, 2);
    route_set(DISC_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    route_set(JWKS_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    t2 = mint(k1, NULL, T0 + 390);
    assert_int_equal(verify(p, t2, T0 + 400, &err), OIDC_OK);
    /* discovery was stale too: it was tried, then the JWKS fetch with the stale jwks_uri */
    assert_int_equal(hits(DISC_URL), 2);
    assert_int_equal(hits(JWKS_URL), 2);
    assert_int_equal(verify(p, t2, T0 + 401, &err), OIDC_OK);
    assert_int_equal(n_requests, 4);
    free(t1);
    free(t2);
    oidc_provider_free(p);
}

/* ------------------------------------------------------------------ disk cache */

static void test_disk_cache_survives_new_provider(void **state)
{
    struct oidc_provider_stats st;
    struct oidc_provider *p;
    struct oidc_err err = {0};
    struct stat sb;
    char path[256], *t = mint(k1, NULL, T0);

    (void)state;
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    assert_int_equal(n_requests, 2);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.cache_on_disk, 1);
    oidc_provider_free(p);

    snprintf(path, sizeof(path), "%s/idp", tmpdir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_true(cache_file(".discovery.json", path, sizeof(path)));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_true(cache_file(".jwks.json", path, sizeof(path)));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);

    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0 + 5, &err), OIDC_OK);
    assert_int_equal(oidc_provider_discover(p, T0 + 5, &err), OIDC_OK);
    assert_string_equal(oidc_provider_endpoint(p, "token_endpoint"), ISS "/token");
    assert_int_equal(n_requests, 2);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.jwks_fetches, 0);
    assert_int_equal(st.jwks_expires, T0 + 3600);
    oidc_provider_free(p);
    free(t);
}

static void test_disk_cache_corrupt_ignored(void **state)
{
    struct oidc_provider *p;
    struct oidc_err err = {0};
    char dpath[256], jpath[256], *t = mint(k1, NULL, T0);

    (void)state;
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    oidc_provider_free(p);
    assert_true(cache_file(".discovery.json", dpath, sizeof(dpath)));
    assert_true(cache_file(".jwks.json", jpath, sizeof(jpath)));
    write_text(dpath, "{\"fetched_at\":1,\"expires_at\":");
    write_text(jpath, "{\"fetched_at\":1700000000,\"expires_at\":1700003600,\"server_date\":0,"
                      "\"source\":\"" JWKS_URL "\",\"doc\":{\"keys\":[]}}");
    n_requests = 0;
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0 + 5, &err), OIDC_OK);
    assert_int_equal(n_requests, 2);
    oidc_provider_free(p);

    /* overwritten with good copies: a third provider needs no request */
    n_requests = 0;
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0 + 6, &err), OIDC_OK);
    assert_int_equal(n_requests, 0);
    oidc_provider_free(p);

    /* a cache file for another issuer (a copied file) is refused */
    write_text(dpath,
               "{\"fetched_at\":1700000000,\"expires_at\":1700003600,\"server_date\":0,"
               "\"doc\":{\"issuer\":\"https://evil.example\",\"jwks_uri\":\"https://e/j\"}}");
    p = new_provider(tmpdir);
    assert_int_equal(oidc_provider_discover(p, T0 + 7, &err), OIDC_OK);
    assert_int_equal(n_requests, 1);
    oidc_provider_free(p);
    free(t);
}

static void test_disk_cache_world_writable_ignored(void **state)
{
    struct oidc_provider *p;
    struct oidc_err err = {0};
    char dpath[256];

    (void)state;
    p = new_provider(tmpdir);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_OK);
    oidc_provider_free(p);
    assert_true(cache_file(".discovery.json", dpath, sizeof(dpath)));
    assert_int_equal(chmod(dpath, 0666), 0);
    p = new_provider(tmpdir);
    assert_int_equal(oidc_provider_discover(p, T0 + 1, &err), OIDC_OK);
    assert_int_equal(n_requests, 2);
    oidc_provider_free(p);
}

static void test_unwritable_state_dir_memory_only(void **state)
{
    struct oidc_provider_stats st;
    struct oidc_provider *p;
    struct oidc_err err = {0};
    char path[128];

    (void)state;
    snprintf(path, sizeof(path), "%s/missing/deeper", tmpdir);
    p = new_provider(path);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.cache_on_disk, 0);
    assert_non_null(strstr(st.last_error, "disk cache unused"));
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_OK);
    assert_int_equal(oidc_provider_discover(p, T0 + 1, &err), OIDC_OK);
    assert_int_equal(n_requests, 1);
    oidc_provider_free(p);
}

/* ------------------------------------------------------------------ JWKS and verification */

static void test_unknown_kid_refetch_rate_limited(void **state)
{
    struct oidc_provider_stats st;
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};
    char *good = mint(k1, NULL, T0);
    char *unknown = mint(k2, NULL, T0 + 100);
    char *forged = mint(k2, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k3\"}", T0 + 100);

    (void)state;
    assert_int_equal(verify(p, good, T0, &err), OIDC_OK);
    assert_int_equal(hits(JWKS_URL), 1);
    /* unknown kid after the cooldown: exactly one refetch, still unknown */
    assert_int_equal(verify(p, unknown, T0 + 100, &err), OIDC_ERR_NOKEY);
    assert_non_null(strstr(err.msg, "k2"));
    assert_int_equal(hits(JWKS_URL), 2);
    /* another unknown kid within the cooldown: no refetch */
    assert_int_equal(verify(p, forged, T0 + 130, &err), OIDC_ERR_NOKEY);
    assert_int_equal(verify(p, unknown, T0 + 159, &err), OIDC_ERR_NOKEY);
    assert_int_equal(hits(JWKS_URL), 2);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.jwks_refetch_refused, 2);
    assert_int_equal(st.jwks_fetches, 2);
    /* after the cooldown: one more refetch */
    assert_int_equal(verify(p, forged, T0 + 160, &err), OIDC_ERR_NOKEY);
    assert_int_equal(hits(JWKS_URL), 3);
    /* the good token never needed one */
    assert_int_equal(verify(p, good, T0 + 161, &err), OIDC_OK);
    assert_int_equal(hits(JWKS_URL), 3);
    assert_int_equal(hits(DISC_URL), 1);
    free(good);
    free(unknown);
    free(forged);
    oidc_provider_free(p);
}

static void test_key_rotation(void **state)
{
    struct tg_key *both[2];
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};
    char *old = mint(k1, NULL, T0), *rotated = mint(k2, NULL, T0 + 100);

    (void)state;
    assert_int_equal(verify(p, old, T0, &err), OIDC_OK);
    both[0] = k1;
    both[1] = k2;
    set_jwks(both, 2, 3600);
    assert_int_equal(verify(p, rotated, T0 + 100, &err), OIDC_OK);
    assert_int_equal(hits(JWKS_URL), 2);
    /* both keys now known: no more fetches */
    assert_int_equal(verify(p, old, T0 + 101, &err), OIDC_OK);
    assert_int_equal(verify(p, rotated, T0 + 102, &err), OIDC_OK);
    assert_int_equal(hits(JWKS_URL), 2);
    free(old);
    free(rotated);
    oidc_provider_free(p);
}

/* A JWK Set the IdP serves (HTTP 200, valid JSON, a "keys" array) with no usable key is its
 * answer, not an outage: the keys it published before are withdrawn, and the old set must go from
 * memory and from the disk cache, even before that set's own expiry. */
static void served_set_drops_old_keys(const char *body, const char *why)
{
    const struct oidc_jwks *set = NULL;
    struct oidc_provider_stats st;
    struct oidc_provider *p = new_provider(tmpdir);
    struct oidc_err err = {0};
    char *t = mint(k1, NULL, T0), *other = mint(k2, NULL, T0 + 100), path[256];

    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    assert_true(cache_file(".jwks.json", path, sizeof(path)));
    route_set(JWKS_URL, 0, 200, body, 3600);
    /* an unknown kid forces a refetch within the old set's lifetime: the IdP's answer wins */
    assert_int_equal(verify(p, other, T0 + 100, &err), OIDC_ERR_NOKEY);
    assert_int_equal(hits(JWKS_URL), 2);
    assert_non_null(strstr(err.msg, "the IdP now serves no usable signing key at " JWKS_URL
                                    ", so the keys cached before are no longer trusted"));
    assert_non_null(strstr(err.msg, why));
    assert_false(cache_file(".jwks.json", path, sizeof(path)));
    oidc_provider_stats(p, &st);
    assert_int_equal(st.jwks_expires, 0);
    /* the token signed with the old key no longer verifies: no stale set stands in */
    assert_int_equal(verify(p, t, T0 + 101, &err), OIDC_ERR_NOKEY);
    assert_non_null(strstr(err.msg, "no usable signing key"));
    assert_int_equal(oidc_provider_jwks(p, T0 + 102, 0, &set, &err), OIDC_ERR_NOKEY);
    oidc_provider_free(p);
    /* a new process does not find the old keys on disk either */
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0 + 103, &err), OIDC_ERR_NOKEY);
    oidc_provider_free(p);
    /* the IdP publishes keys again: back to normal */
    set_jwks(&k1, 1, 3600);
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0 + 104, &err), OIDC_OK);
    oidc_provider_free(p);
    free(t);
    free(other);
}

static void test_jwks_served_empty_drops_old_keys(void **state)
{
    (void)state;
    served_set_drops_old_keys("{\"keys\":[]}", "JWKS has no usable signing key");
}

static void test_jwks_served_only_unusable_keys_drops_old_keys(void **state)
{
    (void)state;
    /* an HMAC secret and an encryption-only key: present, but never usable for ID tokens */
    served_set_drops_old_keys("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"c2VjcmV0\"}]}",
                              "JWKS has no usable signing key: ");
}

/* Outages (no answer, an error status, a body that is not a JWK Set) keep the last good set, within
 * jwks_max_stale of its expiry. */
static void test_jwks_outage_within_max_stale_uses_old_keys(void **state)
{
    struct oidc_provider_stats st;
    struct oidc_provider *p;
    struct oidc_err err = {0};
    char *t = mint(k1, NULL, T0), *t2;

    (void)state;
    pcfg.jwks_max_stale = 3600;
    set_jwks(&k1, 1, 300);
    p = new_provider(NULL);
    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    /* expired at T0 + 300: every kind of outage keeps the old set */
    route_set(JWKS_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    assert_int_equal(verify(p, t, T0 + 400, &err), OIDC_OK);
    route_set(JWKS_URL, 0, 503, "busy", -1);
    assert_int_equal(verify(p, t, T0 + 500, &err), OIDC_OK);
    route_set(JWKS_URL, 0, 200, "<html>maintenance</html>", -1);
    assert_int_equal(verify(p, t, T0 + 600, &err), OIDC_OK);
    route_set(JWKS_URL, 0, 200, "{\"error\":\"temporarily_unavailable\"}", -1);
    assert_int_equal(verify(p, t, T0 + 700, &err), OIDC_OK);
    assert_int_equal(hits(JWKS_URL), 5);
    oidc_provider_stats(p, &st);
    assert_int_equal(st.jwks_expires, T0 + 300); /* not replaced */
    assert_non_null(strstr(st.last_error, "last good key set in use"));
    /* the last second of the bound: still used */
    route_set(JWKS_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    t2 = mint(k1, NULL, T0 + 300 + 3600 - 10);
    assert_int_equal(verify(p, t2, T0 + 300 + 3600, &err), OIDC_OK);
    free(t);
    free(t2);
    oidc_provider_free(p);
}

static void test_jwks_outage_beyond_max_stale_refused(void **state)
{
    const struct oidc_jwks *set = NULL;
    struct oidc_provider *p;
    struct oidc_err err = {0};
    char name[] = "corp";
    char *t = mint(k1, NULL, T0), *t2;
    unsigned before;

    (void)state;
    pcfg.name = name;
    pcfg.jwks_max_stale = 3600;
    set_jwks(&k1, 1, 300);
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    route_set(JWKS_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    assert_int_equal(verify(p, t, T0 + 400, &err), OIDC_OK);
    /* one second past the bound: refused, with the reason */
    t2 = mint(k1, NULL, T0 + 300 + 3600 - 10);
    assert_int_equal(verify(p, t2, T0 + 300 + 3601, &err), OIDC_ERR_NETWORK);
    assert_string_equal(err.msg,
                        "the cached keys of provider corp are older than jwks_max_stale "
                        "and the IdP cannot be reached (cannot reach " JWKS_URL ": mock outage)");
    /* the retry backoff never hands out a set past the bound: every call asks the IdP */
    before = hits(JWKS_URL);
    assert_int_equal(oidc_provider_jwks(p, T0 + 300 + 3602, 0, &set, &err), OIDC_ERR_NETWORK);
    assert_int_equal(oidc_provider_jwks(p, T0 + 300 + 3603, 1, &set, &err), OIDC_ERR_NETWORK);
    assert_null(set);
    assert_int_equal(hits(JWKS_URL), before + 2);
    /* an error status is an outage too, with the same bound */
    route_set(JWKS_URL, 0, 502, "bad gateway", -1);
    assert_int_equal(verify(p, t2, T0 + 300 + 3604, &err), OIDC_ERR_NETWORK);
    assert_non_null(strstr(err.msg, "older than jwks_max_stale"));
    assert_non_null(strstr(err.msg, "answered HTTP 502"));
    oidc_provider_free(p);
    /* a new process with only the old disk cache: refused as well */
    route_set(JWKS_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    p = new_provider(tmpdir);
    assert_int_equal(verify(p, t2, T0 + 300 + 3605, &err), OIDC_ERR_NETWORK);
    assert_non_null(strstr(err.msg, "the cached keys of provider corp are older than "
                                    "jwks_max_stale"));
    /* the IdP is back: keys are fetched and used again */
    set_jwks(&k1, 1, 300);
    assert_int_equal(verify(p, t2, T0 + 300 + 3606, &err), OIDC_OK);
    free(t);
    free(t2);
    oidc_provider_free(p);
}

/* Without jwks_max_stale in the configuration the bound is OIDC_JWKS_MAX_STALE_DEFAULT (1 day). */
static void test_jwks_max_stale_default_one_day(void **state)
{
    const struct oidc_jwks *set = NULL;
    struct oidc_provider *p;
    struct oidc_err err = {0};

    (void)state;
    assert_int_equal(OIDC_JWKS_MAX_STALE_DEFAULT, 86400);
    pcfg.jwks_max_stale = 0;
    route_set(DISC_URL, 0, 200, disc_doc, 86400);
    set_jwks(&k1, 1, 300);
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_jwks(p, T0, 0, &set, &err), OIDC_OK);
    route_set(JWKS_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    assert_int_equal(oidc_provider_jwks(p, T0 + 300 + 86400, 0, &set, &err), OIDC_OK);
    assert_int_equal(oidc_provider_jwks(p, T0 + 300 + 86401, 0, &set, &err), OIDC_ERR_NETWORK);
    assert_non_null(strstr(err.msg, "older than jwks_max_stale"));
    oidc_provider_free(p);
}

static void test_discovery_outage_beyond_max_stale_refused(void **state)
{
    struct oidc_provider *p;
    struct oidc_err err = {0};

    (void)state;
    pcfg.jwks_max_stale = 600;
    route_set(DISC_URL, 0, 200, disc_doc, 300);
    p = new_provider(NULL);
    assert_int_equal(oidc_provider_discover(p, T0, &err), OIDC_OK);
    route_set(DISC_URL, OIDC_ERR_NETWORK, 0, NULL, -1);
    assert_int_equal(oidc_provider_discover(p, T0 + 300 + 600, &err), OIDC_OK);
    /* within the retry backoff, but past the bound: not handed out */
    assert_int_equal(oidc_provider_discover(p, T0 + 300 + 601, &err), OIDC_ERR_NETWORK);
    assert_string_equal(err.msg, "the cached discovery document of provider " ISS
                                 " is older than jwks_max_stale and the IdP cannot be reached "
                                 "(cannot reach " DISC_URL ": mock outage)");
    assert_int_equal(hits(DISC_URL), 3);
    oidc_provider_free(p);
}

static void test_no_jwks_at_all_is_an_error(void **state)
{
    const struct oidc_jwks *set = NULL;
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};

    (void)state;
    route_set(JWKS_URL, 0, 200, "{\"keys\":[]}", 300);
    assert_int_equal(oidc_provider_jwks(p, T0, 0, &set, &err), OIDC_ERR_NOKEY);
    assert_null(set);
    route_set(JWKS_URL, 0, 500, "oops", 300);
    assert_int_equal(oidc_provider_jwks(p, T0, 0, &set, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "JWKS at " JWKS_URL " answered HTTP 500");
    oidc_provider_free(p);
}

static void test_warm_verify_makes_no_request(void **state)
{
    struct oidc_provider *p = new_provider(tmpdir);
    struct oidc_err err = {0};
    char *t = mint(k1, NULL, T0);
    int i;

    (void)state;
    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    n_requests = 0;
    /* remove the disk cache: a warm verify must not need it (no stat, no open) */
    rm_rf(tmpdir);
    for (i = 0; i < 50; i++)
        assert_int_equal(verify(p, t, T0 + i, &err), OIDC_OK);
    assert_int_equal(n_requests, 0);
    free(t);
    oidc_provider_free(p);
}

static void test_verify_rules_from_config(void **state)
{
    struct oidc_provider *p = new_provider(NULL);
    struct oidc_err err = {0};
    char claims[512], *t;
    char aud2[] = "other-aud";
    char *auds[] = {aud2, NULL};

    (void)state;
    /* wrong audience: refused by the default audience {client_id} */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" ISS "\",\"aud\":\"other-aud\",\"sub\":\"alice\",\"iat\":%lld,"
             "\"exp\":%lld}",
             (long long)T0, (long long)T0 + 3600);
    t = tg_sign(k1, NULL, claims);
    assert_int_equal(verify(p, t, T0, &err), OIDC_ERR_TOKEN);
    /* configured audiences replace the default */
    pcfg.audiences.v = auds;
    pcfg.audiences.n = 1;
    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    pcfg.audiences.v = NULL;
    pcfg.audiences.n = 0;
    /* algorithm allow-list from the configuration */
    pcfg.algs = OIDC_ALG_RS256;
    free(t);
    t = mint(k1, NULL, T0);
    assert_int_equal(verify(p, t, T0, &err), OIDC_ERR_TOKEN);
    pcfg.algs = OIDC_ALGS_DEFAULT;
    assert_int_equal(verify(p, t, T0, &err), OIDC_OK);
    /* expired */
    assert_int_equal(verify(p, t, T0 + 3600 + 61, &err), OIDC_ERR_EXPIRED);
    free(t);
    oidc_provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discovery_issuer_mismatch_trailing_slash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_discovery_url_not_doubled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_rejects_plain_http_endpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_loopback_http_issuer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_clamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_discovery_during_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_discovery_no_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_jwks_during_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_cache_survives_new_provider, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_cache_corrupt_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_cache_world_writable_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_state_dir_memory_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_kid_refetch_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_served_empty_drops_old_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_served_only_unusable_keys_drops_old_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jwks_outage_within_max_stale_uses_old_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jwks_outage_beyond_max_stale_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_max_stale_default_one_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_outage_beyond_max_stale_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_jwks_at_all_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warm_verify_makes_no_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_rules_from_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
