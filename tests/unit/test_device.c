/* Device Authorization Grant (RFC 8628) client: start, polling with interval/slow_down/denial/
 * expiry/deadline, client authentication, userinfo. The HTTP layer is replaced at link time
 * (-Wl,--wrap=oidc_http_request) by a script of replies; every request is recorded. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "http.h"
#include "provider.h"

#define ISS        "https://idp.example.com"
#define CLIENT_ID  "client-1"
#define DISC_URL   ISS "/.well-known/openid-configuration"
#define DEVICE_URL ISS "/device"
#define TOKEN_URL  ISS "/token"
#define UINFO_URL  ISS "/userinfo"
#define GRANT      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"

static const char disc_doc[] =
    "{\"issuer\":\"" ISS "\",\"jwks_uri\":\"" ISS "/jwks\",\"token_endpoint\":\"" TOKEN_URL "\","
    "\"device_authorization_endpoint\":\"" DEVICE_URL "\",\"userinfo_endpoint\":\"" UINFO_URL "\"}";

static const char device_ok[] =
    "{\"device_code\":\"DEV-CODE-1\",\"user_code\":\"ABCD-EFGH\","
    "\"verification_uri\":\"https://idp.example.com/activate\","
    "\"verification_uri_complete\":\"https://idp.example.com/activate?user_code=ABCD-EFGH\","
    "\"expires_in\":600,\"interval\":5}";

static const char disc_no_device[] =
    "{\"issuer\":\"" ISS "\",\"jwks_uri\":\"" ISS "/jwks\",\"token_endpoint\":\"" TOKEN_URL "\"}";
static const char *disc_body;

static const char pending[] = "{\"error\":\"authorization_pending\"}";
static const char slow_down[] = "{\"error\":\"slow_down\"}";
static const char tokens_ok[] =
    "{\"id_token\":\"eyJ.id.token\",\"access_token\":\"AT-1\",\"token_type\":\"Bearer\"}";

/* ------------------------------------------------------------------ HTTP mock */

struct reply {
    const char *url;
    int rc;
    long status;
    const char *body;
    const char *content_type;
};

struct recorded {
    char *url, *form, *basic_user, *basic_pass, *bearer;
};

#define MAX_STEPS 16
static struct reply script[MAX_STEPS];
static size_t n_script, next_reply;
static struct recorded reqs[MAX_STEPS];
static size_t n_reqs;

static char *dup_or_null(const char *s)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    assert_non_null(d);
    return d;
}

static void expect_reply(const char *url, int rc, long status, const char *body)
{
    assert_true(n_script < MAX_STEPS);
    script[n_script].url = url;
    script[n_script].rc = rc;
    script[n_script].status = status;
    script[n_script].body = body;
    script[n_script].content_type = "application/json";
    n_script++;
}

/* Requests to a URL, in order; discovery is answered without being scripted or recorded. */
static size_t count_requests(const char *url)
{
    size_t i, n = 0;

    for (i = 0; i < n_reqs; i++)
        n += strcmp(reqs[i].url, url) == 0;
    return n;
}

int __wrap_oidc_http_request(const struct oidc_http_opts *opts, const struct oidc_http_req *req,
                             struct oidc_http_resp *resp, struct oidc_err *err);
int __wrap_oidc_http_request(const struct oidc_http_opts *opts, const struct oidc_http_req *req,
                             struct oidc_http_resp *resp, struct oidc_err *err)
{
    const struct reply *r;
    struct recorded *rec;

    (void)opts;
    memset(resp, 0, sizeof(*resp));
    resp->max_age = -1;
    if (strcmp(req->url, DISC_URL) == 0) {
        resp->status = 200;
        resp->body = dup_or_null(disc_body);
        resp->len = strlen(disc_body);
        return OIDC_OK;
    }
    assert_true(n_reqs < MAX_STEPS);
    rec = &reqs[n_reqs++];
    rec->url = dup_or_null(req->url);
    rec->form = dup_or_null(req->form);
    rec->basic_user = dup_or_null(req->basic_user);
    rec->basic_pass = dup_or_null(req->basic_pass);
    rec->bearer = dup_or_null(req->bearer);
    if (next_reply >= n_script)
        fail_msg("unscripted request to %s", req->url);
    r = &script[next_reply++];
    assert_string_equal(req->url, r->url);
    if (r->rc != 0)
        return OIDC_ERR_SET(err, r->rc, "cannot reach %s: mock outage", req->url);
    resp->status = r->status;
    resp->body = dup_or_null(r->body);
    resp->len = strlen(r->body);
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", r->content_type);
    return OIDC_OK;
}

/* ------------------------------------------------------------------ fixtures */

static int sleeps[MAX_STEPS];
static size_t n_sleeps;
static int abort_sleep;

static int record_sleep(void *ctx, int seconds)
{
    (void)ctx;
    assert_true(n_sleeps < MAX_STEPS);
    sleeps[n_sleeps++] = seconds;
    return abort_sleep;
}

static char issuer_buf[128], client_buf[64], scope_buf[64], secret_path[128], tmpdir[64];
static struct oidc_provider_cfg pcfg;
static struct oidc_provider *prov;
static struct oidc_device_auth da;
static struct oidc_device_tokens tok;

static int setup(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    memset(&pcfg, 0, sizeof(pcfg));
    snprintf(issuer_buf, sizeof(issuer_buf), "%s", ISS);
    snprintf(client_buf, sizeof(client_buf), "%s", CLIENT_ID);
    snprintf(scope_buf, sizeof(scope_buf), "openid profile");
    pcfg.issuer = issuer_buf;
    pcfg.client_id = client_buf;
    pcfg.scope = scope_buf;
    pcfg.algs = OIDC_ALGS_DEFAULT;
    pcfg.leeway = 60;
    pcfg.jwks_cooldown = 60;
    n_script = next_reply = n_reqs = n_sleeps = 0;
    abort_sleep = 0;
    tmpdir[0] = '\0';
    disc_body = disc_doc;
    memset(&da, 0, sizeof(da));
    memset(&tok, 0, sizeof(tok));
    assert_int_equal(oidc_provider_new(&pcfg, NULL, &prov, &err), OIDC_OK);
    return 0;
}

static int teardown(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < n_reqs; i++) {
        free(reqs[i].url);
        free(reqs[i].form);
        free(reqs[i].basic_user);
        free(reqs[i].basic_pass);
        free(reqs[i].bearer);
    }
    memset(reqs, 0, sizeof(reqs));
    oidc_device_auth_clear(&da);
    oidc_device_tokens_clear(&tok);
    oidc_provider_free(prov);
    prov = NULL;
    if (secret_path[0] != '\0')
        unlink(secret_path);
    secret_path[0] = '\0';
    if (tmpdir[0] != '\0')
        rmdir(tmpdir);
    return 0;
}

/* Writes a 0600 client secret file and points the configuration at it. */
static void use_secret(const char *secret, enum oidc_client_auth how)
{
    int fd;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_device.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(secret_path, sizeof(secret_path), "%s/secret", tmpdir);
    fd = open(secret_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0600), 0);
    assert_int_equal(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    pcfg.client_secret_file = secret_path;
    pcfg.client_auth = how;
}

static void start_ok(const char *body)
{
    struct oidc_err err = {0};

    expect_reply(DEVICE_URL, 0, 200, body);
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_OK);
}

/* ------------------------------------------------------------------ start */

static void test_start_parses_answer(void **state)
{
    int64_t now = oidc_now();
    struct oidc_err err = {0};

    (void)state;
    expect_reply(DEVICE_URL, 0, 200, device_ok);
    assert_int_equal(oidc_device_start(prov, now, &da, &err), OIDC_OK);
    assert_string_equal(da.device_code, "DEV-CODE-1");
    assert_string_equal(da.user_code, "ABCD-EFGH");
    assert_string_equal(da.verification_uri, "https://idp.example.com/activate");
    assert_string_equal(da.verification_uri_complete,
                        "https://idp.example.com/activate?user_code=ABCD-EFGH");
    assert_int_equal(da.expires_at, now + 600);
    assert_int_equal(da.interval, 5);
    assert_int_equal(n_reqs, 1);
    assert_string_equal(reqs[0].form, "client_id=client-1&scope=openid+profile");
    assert_null(reqs[0].basic_user);
    assert_null(reqs[0].bearer);
}

static void test_start_interval_absent_defaults_to_5(void **state)
{
    (void)state;
    start_ok("{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_url\":"
             "\"https://www.example.com/device\",\"expires_in\":1800}");
    assert_int_equal(da.interval, OIDC_DEVICE_INTERVAL_DEFAULT);
    /* Google's spelling is accepted */
    assert_string_equal(da.verification_uri, "https://www.example.com/device");
    assert_null(da.verification_uri_complete);
}

static void test_start_interval_and_expiry_clamped(void **state)
{
    int64_t now = oidc_now();
    struct oidc_err err = {0};

    (void)state;
    expect_reply(DEVICE_URL, 0, 200,
                 "{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":"
                 "\"https://e.example/d\",\"expires_in\":86400,\"interval\":0}");
    assert_int_equal(oidc_device_start(prov, now, &da, &err), OIDC_OK);
    assert_int_equal(da.interval, 1);
    assert_int_equal(da.expires_at, now + 3600);
    oidc_device_auth_clear(&da);
    expect_reply(DEVICE_URL, 0, 200,
                 "{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":"
                 "\"https://e.example/d\",\"expires_in\":60,\"interval\":600}");
    assert_int_equal(oidc_device_start(prov, now, &da, &err), OIDC_OK);
    assert_int_equal(da.interval, 60);
}

static void test_start_requires_fields(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    expect_reply(DEVICE_URL, 0, 200,
                 "{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":"
                 "\"https://e.example/d\"}");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "device authorization answer has no expires_in");
    assert_null(da.device_code);
    expect_reply(DEVICE_URL, 0, 200,
                 "{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":"
                 "\"https://e.example/d\",\"expires_in\":0}");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_HTTP);
    expect_reply(DEVICE_URL, 0, 200,
                 "{\"user_code\":\"U\",\"verification_uri\":\"https://e.example/d\","
                 "\"expires_in\":60}");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "device authorization answer has no device_code");
    expect_reply(DEVICE_URL, 0, 200,
                 "{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":"
                 "\"javascript:alert(1)\",\"expires_in\":60}");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_HTTP);
    assert_null(da.device_code);
}

static void test_start_error_response_message(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    expect_reply(DEVICE_URL, 0, 401,
                 "{\"error\":\"invalid_client\",\"error_description\":\"client authentication "
                 "failed\"}");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg,
                        "device authorization refused: invalid_client (client authentication "
                        "failed)");
    expect_reply(DEVICE_URL, 0, 400, "{\"error\":\"invalid_scope\"}");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "device authorization refused: invalid_scope");
    expect_reply(DEVICE_URL, 0, 502, "<html>bad gateway</html>");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg,
                        "device authorization endpoint answered HTTP 502 without a JSON object");
    expect_reply(DEVICE_URL, OIDC_ERR_NETWORK, 0, "");
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_NETWORK);
}

static void test_start_without_device_endpoint(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    disc_body = disc_no_device;
    assert_int_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "the provider's discovery document has no device_authorization_endpoint");
    assert_int_equal(n_reqs, 0);
}

/* ------------------------------------------------------------------ client authentication */

static void test_client_secret_basic(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    use_secret("s3cr:et&x y", OIDC_CLIENT_AUTH_BASIC);
    start_ok(device_ok);
    assert_string_equal(reqs[0].basic_user, CLIENT_ID);
    assert_string_equal(reqs[0].basic_pass, "s3cr:et&x y");
    assert_null(strstr(reqs[0].form, "client_secret"));
    assert_string_equal(reqs[0].form, "client_id=client-1&scope=openid+profile");
    expect_reply(TOKEN_URL, 0, 200, tokens_ok);
    assert_int_equal(oidc_device_poll_once(prov, &da, &tok, &err), OIDC_OK);
    assert_string_equal(reqs[1].basic_user, CLIENT_ID);
    assert_string_equal(reqs[1].basic_pass, "s3cr:et&x y");
    assert_null(strstr(reqs[1].form, "client_secret"));
}

static void test_client_secret_post(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    use_secret("s3cr:et&x y", OIDC_CLIENT_AUTH_POST);
    start_ok(device_ok);
    assert_null(reqs[0].basic_user);
    assert_null(reqs[0].basic_pass);
    assert_string_equal(reqs[0].form,
                        "client_id=client-1&client_secret=s3cr%3Aet%26x+y&scope=openid+profile");
    expect_reply(TOKEN_URL, 0, 200, tokens_ok);
    assert_int_equal(oidc_device_poll_once(prov, &da, &tok, &err), OIDC_OK);
    assert_null(reqs[1].basic_user);
    assert_string_equal(reqs[1].form, GRANT "&device_code=DEV-CODE-1&client_id=client-1"
                                            "&client_secret=s3cr%3Aet%26x+y");
}

static void test_client_secret_unreadable(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    use_secret("x", OIDC_CLIENT_AUTH_BASIC);
    assert_int_equal(chmod(secret_path, 0644), 0);
    assert_int_not_equal(oidc_device_start(prov, oidc_now(), &da, &err), OIDC_OK);
    assert_int_equal(n_reqs, 0);
}

/* ------------------------------------------------------------------ polling */

static void test_poll_pending_pending_success(void **state)
{
    struct oidc_err err = {0};
    size_t i;

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, 0, 400, pending);
    expect_reply(TOKEN_URL, 0, 400, pending);
    expect_reply(TOKEN_URL, 0, 200, tokens_ok);
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_OK);
    assert_string_equal(tok.id_token, "eyJ.id.token");
    assert_string_equal(tok.access_token, "AT-1");
    assert_int_equal(count_requests(TOKEN_URL), 3);
    assert_int_equal(n_sleeps, 3);
    for (i = 0; i < n_sleeps; i++)
        assert_true(sleeps[i] >= 5);
    for (i = 1; i < n_reqs; i++) {
        assert_string_equal(reqs[i].form, GRANT "&device_code=DEV-CODE-1&client_id=client-1");
        assert_null(reqs[i].basic_user);
    }
}

static void test_poll_slow_down_adds_5(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, 0, 400, pending);
    expect_reply(TOKEN_URL, 0, 400, slow_down);
    expect_reply(TOKEN_URL, 0, 400, pending);
    expect_reply(TOKEN_URL, 0, 400, slow_down);
    expect_reply(TOKEN_URL, 0, 200, tokens_ok);
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_OK);
    assert_int_equal(n_sleeps, 5);
    assert_int_equal(sleeps[0], 5);
    assert_int_equal(sleeps[1], 5);
    assert_int_equal(sleeps[2], 10);
    assert_int_equal(sleeps[3], 10);
    assert_int_equal(sleeps[4], 15);
    assert_int_equal(da.interval, 15);
}

static void test_poll_once_slow_down(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, 0, 400, slow_down);
    assert_int_equal(oidc_device_poll_once(prov, &da, &tok, &err), OIDC_ERR_SLOWDOWN);
    assert_int_equal(da.interval, 10);
    expect_reply(TOKEN_URL, 0, 400, pending);
    assert_int_equal(oidc_device_poll_once(prov, &da, &tok, &err), OIDC_ERR_PENDING);
    assert_null(tok.id_token);
}

static void test_poll_access_denied(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, 0, 400, pending);
    expect_reply(TOKEN_URL, 0, 400, "{\"error\":\"access_denied\"}");
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_DENIED);
    assert_string_equal(err.msg, "the login was denied at the identity provider");
    assert_int_equal(n_sleeps, 2);
    assert_null(tok.id_token);
}

static void test_poll_expired_token(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, 0, 400, "{\"error\":\"expired_token\"}");
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_EXPIRED);
    assert_int_equal(count_requests(TOKEN_URL), 1);
}

static void test_poll_other_error(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, 0, 400,
                 "{\"error\":\"invalid_grant\",\"error_description\":\"unknown \\u001b[31mcode\"}");
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "token endpoint refused the device code: invalid_grant (unknown "
                                 "?[31mcode)");
    expect_reply(TOKEN_URL, 0, 200, "{\"access_token\":\"AT\"}");
    assert_int_equal(oidc_device_poll_once(prov, &da, &tok, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "token endpoint answer has no usable id_token");
    assert_null(tok.id_token);
    expect_reply(TOKEN_URL, 0, 500, "oops");
    assert_int_equal(oidc_device_poll_once(prov, &da, &tok, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "token endpoint answered HTTP 500 without a JSON object");
}

static void test_poll_deadline_reached(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, 0, 400, pending);
    expect_reply(TOKEN_URL, 0, 400, pending);
    /* polls at +5 and +10; the next one (+15) would be past the deadline (+12) */
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 12, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_TIMEOUT);
    assert_int_equal(count_requests(TOKEN_URL), 2);
    assert_int_equal(n_sleeps, 2);
    assert_string_equal(err.msg, "the login was not approved in the time allowed");
}

static void test_poll_deadline_before_first_poll(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 3, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_TIMEOUT);
    assert_int_equal(count_requests(TOKEN_URL), 0);
    assert_int_equal(n_sleeps, 0);
}

static void test_poll_code_expires_first(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok("{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":"
             "\"https://e.example/d\",\"expires_in\":12,\"interval\":5}");
    expect_reply(TOKEN_URL, 0, 400, pending);
    expect_reply(TOKEN_URL, 0, 400, pending);
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_EXPIRED);
    assert_int_equal(count_requests(TOKEN_URL), 2);
}

static void test_poll_network_error_is_transient(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    expect_reply(TOKEN_URL, OIDC_ERR_NETWORK, 0, "");
    expect_reply(TOKEN_URL, 0, 200, tokens_ok);
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_OK);
    /* a connection failure doubles the interval (RFC 8628 §3.5) */
    assert_int_equal(n_sleeps, 2);
    assert_int_equal(sleeps[0], 5);
    assert_int_equal(sleeps[1], 10);
    assert_int_equal(da.interval, 10);
    oidc_device_tokens_clear(&tok);
    da.interval = 5;
    n_sleeps = 0;
    expect_reply(TOKEN_URL, OIDC_ERR_NETWORK, 0, "");
    /* polled at +5, failed: the next poll (+15) would be past the deadline (+12); the IdP was
     * unreachable at the last poll, so that is the reason, not a missing approval */
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 12, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_NETWORK);
    assert_int_equal(n_sleeps, 1);
    assert_non_null(strstr(err.msg, "could not be reached while the login waited"));
    assert_non_null(strstr(err.msg, "mock outage"));
}

static void test_poll_sleep_abort(void **state)
{
    struct oidc_err err = {0};

    (void)state;
    start_ok(device_ok);
    abort_sleep = 1;
    assert_int_equal(oidc_device_poll(prov, &da, oidc_now() + 600, record_sleep, NULL, &tok, &err),
                     OIDC_ERR_TIMEOUT);
    assert_string_equal(err.msg, "the device login was interrupted");
    assert_int_equal(count_requests(TOKEN_URL), 0);
}

/* ------------------------------------------------------------------ userinfo */

static void test_userinfo_bearer(void **state)
{
    struct oidc_err err = {0};
    cJSON *ui = NULL;

    (void)state;
    expect_reply(UINFO_URL, 0, 200, "{\"sub\":\"alice\",\"groups\":[\"a\",\"b\"]}");
    assert_int_equal(oidc_userinfo_fetch(prov, "AT-1", &ui, &err), OIDC_OK);
    assert_non_null(ui);
    assert_string_equal(reqs[0].bearer, "AT-1");
    assert_null(reqs[0].form);
    cJSON_Delete(ui);
    ui = NULL;
    expect_reply(UINFO_URL, 0, 401, "");
    assert_int_equal(oidc_userinfo_fetch(prov, "AT-1", &ui, &err), OIDC_ERR_HTTP);
    assert_string_equal(err.msg, "userinfo at " UINFO_URL " answered HTTP 401");
    assert_null(ui);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_start_parses_answer),
        T(test_start_interval_absent_defaults_to_5),
        T(test_start_interval_and_expiry_clamped),
        T(test_start_requires_fields),
        T(test_start_error_response_message),
        T(test_start_without_device_endpoint),
        T(test_client_secret_basic),
        T(test_client_secret_post),
        T(test_client_secret_unreadable),
        T(test_poll_pending_pending_success),
        T(test_poll_slow_down_adds_5),
        T(test_poll_once_slow_down),
        T(test_poll_access_denied),
        T(test_poll_expired_token),
        T(test_poll_other_error),
        T(test_poll_deadline_reached),
        T(test_poll_deadline_before_first_poll),
        T(test_poll_code_expires_first),
        T(test_poll_network_error_is_transient),
        T(test_poll_sleep_abort),
        T(test_userinfo_bearer),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
