/* OAuth 2.0 Device Authorization Grant client (RFC 8628) and the userinfo fetch. The device code,
 * the client secret, the tokens and every buffer that held them (request bodies, response bodies,
 * parsed responses) are wiped before they are freed. Error messages never carry them. */
#include "config.h"
#include "device.h"
#include "conf.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEVICE_GRANT     "urn:ietf:params:oauth:grant-type:device_code"
#define EXPIRES_IN_MAX   3600
#define INTERVAL_MAX     60
#define INTERVAL_CEILING 600 /* slow_down may raise the interval up to this */
#define DEVICE_CODE_MAX  4096
#define USER_CODE_MAX    128
#define URI_MAX          2048
#define ACCESS_TOKEN_MAX (64 * 1024)
#define SCOPE_DEFAULT    "openid"

static int all_printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* Wipes every string of a parsed response (it may hold tokens or the device code), then frees. */
static void json_wipe(cJSON *n)
{
    for (; n != NULL; n = n->next) {
        if (n->valuestring != NULL)
            oidc_memzero(n->valuestring, strlen(n->valuestring));
        json_wipe(n->child);
    }
}

static void json_free_wiped(cJSON *root)
{
    if (root == NULL)
        return;
    json_wipe(root->child);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------------ form bodies */

/* A form body that may hold secrets: grown by copy-and-wipe, wiped when freed. */
struct form {
    char *p;
    size_t len, cap;
};

static int form_add(struct form *f, const char *name, const char *value)
{
    char *ev, *np;
    size_t nn = strlen(name), ne, need, cap;
    int r = OIDC_ERR_NOMEM;

    ev = oidc_http_form_escape(value);
    if (ev == NULL)
        return OIDC_ERR_NOMEM;
    ne = strlen(ev);
    need = f->len + (f->len > 0) + nn + 1 + ne + 1;
    if (need > f->cap) {
        cap = need < 256 ? 256 : need * 2;
        np = malloc(cap);
        if (np == NULL)
            goto out;
        if (f->p != NULL) {
            memcpy(np, f->p, f->len + 1);
            oidc_freezero(f->p, f->cap);
        }
        f->p = np;
        f->cap = cap;
    }
    if (f->len > 0)
        f->p[f->len++] = '&';
    memcpy(f->p + f->len, name, nn);
    f->len += nn;
    f->p[f->len++] = '=';
    memcpy(f->p + f->len, ev, ne);
    f->len += ne;
    f->p[f->len] = '\0';
    r = OIDC_OK;
out:
    oidc_free_secret(&ev);
    return r;
}

static void form_free(struct form *f)
{
    if (f->p != NULL)
        oidc_freezero(f->p, f->cap);
    memset(f, 0, sizeof(*f));
}

/* Adds client authentication: client_id always in the body (RFC 8628 §3.1), the secret (when a
 * client_secret_file is configured) as HTTP Basic or as client_secret in the body. *secret must be
 * wiped by the caller after the request. */
static int client_auth(struct oidc_provider *p, struct form *f, struct oidc_http_req *req,
                       char **secret, struct oidc_err *err)
{
    const struct oidc_provider_cfg *c = oidc_provider_cfg(p);
    int r;

    *secret = NULL;
    if (form_add(f, "client_id", c->client_id) != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    if (c->client_secret_file == NULL)
        return OIDC_OK;
    if ((r = oidc_cfg_read_secret(c, secret, err)) != OIDC_OK)
        return r;
    if (c->client_auth == OIDC_CLIENT_AUTH_POST) {
        if (form_add(f, "client_secret", *secret) != OIDC_OK)
            return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    } else {
        req->basic_user = c->client_id;
        req->basic_pass = *secret;
    }
    return OIDC_OK;
}

/* The OAuth error of a response ({"error":"...","error_description":"..."}), printable and bounded;
 * 0 when there is none. */
static int oauth_error(const cJSON *doc, char *code, size_t ncode, char *desc, size_t ndesc)
{
    const char *e = NULL, *d = NULL;

    code[0] = desc[0] = '\0';
    if (doc == NULL || oidc_json_get_string(doc, "error", &e) != OIDC_OK || *e == '\0')
        return 0;
    oidc_printable(code, ncode, e);
    if (oidc_json_get_string(doc, "error_description", &d) == OIDC_OK)
        oidc_printable(desc, ndesc, d);
    return 1;
}

/* Posts form to the endpoint named name and parses the answer (when it is JSON). */
static int post(struct oidc_provider *p, const char *name, struct form *f,
                struct oidc_http_req *req, struct oidc_http_resp *resp, cJSON **doc,
                struct oidc_err *err)
{
    struct oidc_http_opts o;
    const char *url;
    int r;

    *doc = NULL;
    url = oidc_provider_endpoint(p, name);
    if (url == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "the provider's discovery document has no %s",
                            name);
    oidc_provider_http_opts(p, &o);
    req->url = url;
    req->form = f->p;
    if ((r = oidc_http_request(&o, req, resp, err)) != OIDC_OK)
        return r;
    if (resp->len > 0)
        (void)oidc_json_parse_object(resp->body, resp->len, name, doc, NULL);
    return OIDC_OK;
}

/* ------------------------------------------------------------------ device authorization */

static int get_bounded_string(const cJSON *doc, const char *name, size_t max, int required,
                              char **out, struct oidc_err *err)
{
    const char *v = NULL;
    int r;

    *out = NULL;
    r = oidc_json_get_string(doc, name, &v);
    if (r == OIDC_ERR_NOTFOUND && !required)
        return OIDC_OK;
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "device authorization answer has no %s", name);
    if (r != OIDC_OK || *v == '\0' || strlen(v) > max || !all_printable(v))
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "device authorization answer: bad %s", name);
    *out = strdup(v);
    if (*out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    return OIDC_OK;
}

static int check_uri(struct oidc_provider *p, const char *name, const char *uri,
                     struct oidc_err *err)
{
    struct oidc_err e = {0};

    if (uri == NULL ||
        oidc_http_url_check(uri, oidc_provider_cfg(p)->insecure_http_loopback, &e) == OIDC_OK)
        return OIDC_OK;
    return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "device authorization answer: %s: %s", name,
                        oidc_err_msg(&e));
}

static int parse_device_auth(struct oidc_provider *p, const cJSON *doc, int64_t now,
                             struct oidc_device_auth *da, struct oidc_err *err)
{
    int64_t expires_in = 0, interval = OIDC_DEVICE_INTERVAL_DEFAULT;
    const char *uri_name = "verification_uri", *v = NULL;
    int r;

    if ((r = get_bounded_string(doc, "device_code", DEVICE_CODE_MAX, 1, &da->device_code, err)) !=
            OIDC_OK ||
        (r = get_bounded_string(doc, "user_code", USER_CODE_MAX, 1, &da->user_code, err)) !=
            OIDC_OK)
        return r;
    if (oidc_json_get_string(doc, uri_name, &v) == OIDC_ERR_NOTFOUND)
        uri_name = "verification_url"; /* Google's spelling */
    if ((r = get_bounded_string(doc, uri_name, URI_MAX, 1, &da->verification_uri, err)) !=
            OIDC_OK ||
        (r = get_bounded_string(doc, "verification_uri_complete", URI_MAX, 0,
                                &da->verification_uri_complete, err)) != OIDC_OK)
        return r;
    if ((r = check_uri(p, uri_name, da->verification_uri, err)) != OIDC_OK ||
        (r = check_uri(p, "verification_uri_complete", da->verification_uri_complete, err)) !=
            OIDC_OK)
        return r;
    r = oidc_json_get_int64(doc, "expires_in", &expires_in);
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "device authorization answer has no expires_in");
    if (r != OIDC_OK || expires_in < 1)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP,
                            "device authorization answer: expires_in is not a positive integer");
    if (expires_in > EXPIRES_IN_MAX)
        expires_in = EXPIRES_IN_MAX;
    r = oidc_json_get_int64(doc, "interval", &interval);
    if (r == OIDC_ERR_NOTFOUND)
        interval = OIDC_DEVICE_INTERVAL_DEFAULT;
    else if (r != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP,
                            "device authorization answer: interval is not an integer");
    if (interval < 1)
        interval = 1;
    if (interval > INTERVAL_MAX)
        interval = INTERVAL_MAX;
    da->expires_at = now + expires_in;
    da->interval = (int)interval;
    return OIDC_OK;
}

int oidc_device_start(struct oidc_provider *p, int64_t now, struct oidc_device_auth *da,
                      struct oidc_err *err)
{
    struct oidc_device_auth tmp = {0};
    struct oidc_http_req req = {0};
    struct oidc_http_resp resp = {0};
    struct form f = {0};
    const struct oidc_provider_cfg *c;
    cJSON *doc = NULL;
    char *secret = NULL, code[64], desc[128];
    int r;

    if (p == NULL || da == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_device_start: missing argument");
    c = oidc_provider_cfg(p);
    if ((r = oidc_provider_discover(p, now, err)) != OIDC_OK)
        goto out;
    if ((r = client_auth(p, &f, &req, &secret, err)) != OIDC_OK)
        goto out;
    if (form_add(&f, "scope", c->scope != NULL ? c->scope : SCOPE_DEFAULT) != OIDC_OK) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((r = post(p, "device_authorization_endpoint", &f, &req, &resp, &doc, err)) != OIDC_OK)
        goto out;
    if (oauth_error(doc, code, sizeof(code), desc, sizeof(desc))) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "device authorization refused: %s%s%s%s", code,
                         desc[0] != '\0' ? " (" : "", desc, desc[0] != '\0' ? ")" : "");
        goto out;
    }
    if (resp.status != 200 || doc == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "device authorization endpoint answered HTTP %ld%s",
                         resp.status, doc == NULL ? " without a JSON object" : "");
        goto out;
    }
    if ((r = parse_device_auth(p, doc, now, &tmp, err)) != OIDC_OK)
        goto out;
    *da = tmp;                    /* overwritten, not freed: the caller clears a previous one */
    memset(&tmp, 0, sizeof(tmp)); /* transferred */
    r = OIDC_OK;
out:
    oidc_device_auth_clear(&tmp);
    json_free_wiped(doc);
    oidc_http_resp_clear(&resp);
    form_free(&f);
    oidc_free_secret(&secret);
    return r;
}

/* ------------------------------------------------------------------ token polling */

int oidc_device_poll_once(struct oidc_provider *p, struct oidc_device_auth *da,
                          struct oidc_device_tokens *tok, struct oidc_err *err)
{
    struct oidc_http_req req = {0};
    struct oidc_http_resp resp = {0};
    struct form f = {0};
    cJSON *doc = NULL;
    const char *id = NULL, *at = NULL;
    char *secret = NULL, *id_copy = NULL, *at_copy = NULL, code[64], desc[128];
    int r;

    if (p == NULL || da == NULL || da->device_code == NULL || tok == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_device_poll_once: missing argument");
    if (form_add(&f, "grant_type", DEVICE_GRANT) != OIDC_OK ||
        form_add(&f, "device_code", da->device_code) != OIDC_OK) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((r = client_auth(p, &f, &req, &secret, err)) != OIDC_OK)
        goto out;
    if ((r = post(p, "token_endpoint", &f, &req, &resp, &doc, err)) != OIDC_OK)
        goto out;
    if (oauth_error(doc, code, sizeof(code), desc, sizeof(desc))) {
        if (strcmp(code, "authorization_pending") == 0) {
            r = OIDC_ERR_SET(err, OIDC_ERR_PENDING, "authorization pending");
        } else if (strcmp(code, "slow_down") == 0) {
            if (da->interval < INTERVAL_CEILING)
                da->interval += OIDC_DEVICE_SLOWDOWN_STEP;
            r = OIDC_ERR_SET(err, OIDC_ERR_SLOWDOWN, "polling too fast: interval now %d s",
                             da->interval);
        } else if (strcmp(code, "access_denied") == 0) {
            r = OIDC_ERR_SET(err, OIDC_ERR_DENIED, "the login was denied at the identity provider");
        } else if (strcmp(code, "expired_token") == 0) {
            r = OIDC_ERR_SET(err, OIDC_ERR_EXPIRED,
                             "the device code expired before the login was approved");
        } else {
            r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "token endpoint refused the device code: %s%s%s%s",
                             code, desc[0] != '\0' ? " (" : "", desc, desc[0] != '\0' ? ")" : "");
        }
        goto out;
    }
    if (resp.status != 200 || doc == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "token endpoint answered HTTP %ld%s", resp.status,
                         doc == NULL ? " without a JSON object" : "");
        goto out;
    }
    if (oidc_json_get_string(doc, "id_token", &id) != OIDC_OK || *id == '\0' ||
        strlen(id) > OIDC_TOKEN_MAX) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "token endpoint answer has no usable id_token");
        goto out;
    }
    r = oidc_json_get_string(doc, "access_token", &at);
    if (r == OIDC_ERR_NOTFOUND) {
        at = NULL;
    } else if (r != OIDC_OK || strlen(at) > ACCESS_TOKEN_MAX) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "token endpoint answer has a bad access_token");
        goto out;
    }
    id_copy = strdup(id);
    at_copy = at != NULL ? strdup(at) : NULL;
    if (id_copy == NULL || (at != NULL && at_copy == NULL)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    tok->id_token = id_copy; /* overwritten, not freed: the caller clears previous tokens */
    tok->access_token = at_copy;
    id_copy = at_copy = NULL; /* transferred */
    r = OIDC_OK;
out:
    oidc_free_secret(&id_copy);
    oidc_free_secret(&at_copy);
    json_free_wiped(doc);
    oidc_http_resp_clear(&resp);
    form_free(&f);
    oidc_free_secret(&secret);
    return r;
}

static int default_sleep(void *ctx, int seconds)
{
    struct timespec req, rem;

    (void)ctx;
    req.tv_sec = seconds;
    req.tv_nsec = 0;
    while (nanosleep(&req, &rem) != 0) {
        if (errno != EINTR)
            return -1;
        req = rem;
    }
    return 0;
}

int oidc_device_poll(struct oidc_provider *p, struct oidc_device_auth *da, int64_t deadline,
                     oidc_sleep_fn sleep_fn, void *sleep_ctx, struct oidc_device_tokens *tok,
                     struct oidc_err *err)
{
    struct oidc_err last = {0};
    int64_t start, slept = 0, t, next;
    int r;

    if (p == NULL || da == NULL || tok == NULL || da->interval < 1)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_device_poll: missing argument");
    if (sleep_fn == NULL)
        sleep_fn = default_sleep;
    if (deadline <= 0)
        deadline = da->expires_at;
    start = oidc_now();
    for (;;) {
        /* the time is at least what we have slept since the start, even when the sleep function
         * returned early: never poll sooner than the interval allows */
        t = oidc_now();
        if (t < start + slept)
            t = start + slept;
        next = t + da->interval;
        if (next >= da->expires_at && da->expires_at <= deadline)
            return OIDC_ERR_SET(err, OIDC_ERR_EXPIRED,
                                "the device code expired before the login was approved");
        if (next > deadline) {
            if (last.code == OIDC_ERR_NETWORK) /* nobody could have approved: say why */
                return OIDC_ERR_SET(err, OIDC_ERR_NETWORK,
                                    "the identity provider could not be reached while the login "
                                    "waited for approval (last error: %.160s)",
                                    last.msg);
            if (last.code != 0)
                return OIDC_ERR_SET(err, OIDC_ERR_TIMEOUT,
                                    "the login was not approved in the time allowed (last error: "
                                    "%.160s)",
                                    last.msg);
            return OIDC_ERR_SET(err, OIDC_ERR_TIMEOUT,
                                "the login was not approved in the time allowed");
        }
        if (sleep_fn(sleep_ctx, da->interval) != 0)
            return OIDC_ERR_SET(err, OIDC_ERR_TIMEOUT, "the device login was interrupted");
        slept += da->interval;
        r = oidc_device_poll_once(p, da, tok, &last);
        if (r == OIDC_ERR_PENDING || r == OIDC_ERR_SLOWDOWN) {
            last.code = 0;
            continue;
        }
        if (r == OIDC_ERR_NETWORK) {
            /* transient: keep polling until the deadline, but back off (RFC 8628 §3.5) */
            da->interval =
                da->interval > INTERVAL_CEILING / 2 ? INTERVAL_CEILING : da->interval * 2;
            continue;
        }
        if (r != OIDC_OK && err != NULL)
            *err = last;
        return r;
    }
}

/* ------------------------------------------------------------------ userinfo */

int oidc_userinfo_fetch(struct oidc_provider *p, const char *access_token, cJSON **out,
                        struct oidc_err *err)
{
    struct oidc_http_opts o;
    struct oidc_http_req req = {0};
    struct oidc_http_resp resp = {0};
    const char *url;
    cJSON *doc = NULL;
    int r;

    if (p == NULL || access_token == NULL || *access_token == '\0' || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_userinfo_fetch: missing argument");
    if ((r = oidc_provider_discover(p, oidc_now(), err)) != OIDC_OK)
        return r;
    url = oidc_provider_endpoint(p, "userinfo_endpoint");
    if (url == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "the provider's discovery document has no userinfo_endpoint");
    oidc_provider_http_opts(p, &o);
    req.url = url;
    req.bearer = access_token;
    if ((r = oidc_http_request(&o, &req, &resp, err)) != OIDC_OK)
        goto out;
    if (resp.status != 200) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "userinfo at %.160s answered HTTP %ld", url,
                         resp.status);
        goto out;
    }
    if (strncmp(resp.content_type, "application/jwt", 15) == 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP,
                         "userinfo at %.160s is a signed JWT, which is not supported", url);
        goto out;
    }
    if ((r = oidc_json_parse_object(resp.body, resp.len, "userinfo", &doc, err)) != OIDC_OK)
        goto out;
    *out = doc;
    doc = NULL; /* transferred */
    r = OIDC_OK;
out:
    cJSON_Delete(doc);
    oidc_http_resp_clear(&resp);
    return r;
}

void oidc_device_auth_clear(struct oidc_device_auth *da)
{
    if (da == NULL)
        return;
    oidc_free_secret(&da->device_code);
    free(da->user_code);
    free(da->verification_uri);
    free(da->verification_uri_complete);
    memset(da, 0, sizeof(*da));
}

void oidc_device_tokens_clear(struct oidc_device_tokens *tok)
{
    if (tok == NULL)
        return;
    oidc_free_secret(&tok->id_token);
    oidc_free_secret(&tok->access_token);
}
