/* HTTP over libcurl, treated as hostile input: HTTPS only (plain HTTP to a loopback host only when
 * the configuration says so), peer and host verified, no redirects, bounded body, timed out, no
 * signals. Request bodies and authorization headers are never logged and are wiped after use; the
 * receive buffer is wiped on growth and on clear. */
#include "config.h"
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#define CONNECT_TIMEOUT_DEFAULT 5
#define TIMEOUT_DEFAULT         15
#define MAX_AGE_CAP             (INT64_C(1) << 31) /* far beyond any TTL clamp */
#define USER_AGENT              "nss-pam-oidc/" PACKAGE_VERSION

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;
static uint64_t request_count;

static int keylog_refused;

/* libcurl's TLS backend reads SSLKEYLOGFILE when it initialises and then writes every session key
 * to that file. In a PAM stack (sudo, su) the environment is the calling user's: root would write
 * the keys protecting client secrets and tokens wherever the user says. Refuse instead. */
static void global_init_once(void)
{
    if (getenv("SSLKEYLOGFILE") != NULL) {
        keylog_refused = 1;
        return;
    }
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int oidc_http_global_init(struct oidc_err *err)
{
    if (pthread_once(&init_once, global_init_once) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cannot initialise libcurl");
    if (keylog_refused)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "SSLKEYLOGFILE is set in the environment: refusing to use TLS, which "
                            "would write session keys to that file");
    if (init_rc != CURLE_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cannot initialise libcurl: %s",
                            curl_easy_strerror(init_rc));
    return OIDC_OK;
}

uint64_t oidc_http_request_count(void)
{
    return __atomic_load_n(&request_count, __ATOMIC_RELAXED);
}

static int is_loopback_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n;

    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    n = strlen(host);
    if (n < 3 || n >= sizeof(buf) || host[0] != '[' || host[n - 1] != ']')
        return 0;
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Checks a URL against the transport rules; *plain_http tells whether it is an allowed http:// URL.
 */
static int url_check(const char *url, int insecure_http_loopback, int *plain_http,
                     struct oidc_err *err)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL;
    char shown[160];
    int r = OIDC_ERR_CONFIG;

    *plain_http = 0;
    if (url == NULL || *url == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "empty URL");
    u = curl_url();
    if (u == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory parsing a URL");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        OIDC_ERR_SET(err, r, "'%s' is not a valid absolute URL", oidc_printable(shown, 120, url));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        OIDC_ERR_SET(err, r, "refusing a URL to host '%s': credentials in URLs are not allowed",
                     oidc_printable(shown, 120, host));
        goto out;
    }
    if (strcmp(scheme, "https") == 0) {
        r = OIDC_OK;
    } else if (strcmp(scheme, "http") == 0 && insecure_http_loopback && is_loopback_host(host)) {
        *plain_http = 1;
        r = OIDC_OK;
    } else if (strcmp(scheme, "http") == 0 && insecure_http_loopback) {
        OIDC_ERR_SET(err, r,
                     "refusing URL '%s': plain http is allowed only to 127.0.0.0/8, [::1] or "
                     "localhost",
                     oidc_printable(shown, 120, url));
    } else {
        OIDC_ERR_SET(err, r, "refusing URL '%s': only https is allowed",
                     oidc_printable(shown, 120, url));
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return r;
}

int oidc_http_url_check(const char *url, int insecure_http_loopback, struct oidc_err *err)
{
    int plain;

    return url_check(url, insecure_http_loopback, &plain, err);
}

char *oidc_http_form_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0, i;
    char *out, *o;

    if (s == NULL)
        return NULL;
    for (i = 0; s[i] != '\0'; i++)
        n += (isalnum((unsigned char)s[i]) || strchr("-._*", s[i]) != NULL || s[i] == ' ') ? 1 : 3;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (o = out, i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || (c != '\0' && strchr("-._*", c) != NULL)) {
            *o++ = (char)c;
        } else if (c == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

void oidc_http_resp_clear(struct oidc_http_resp *resp)
{
    if (resp == NULL)
        return;
    if (resp->body != NULL)
        oidc_freezero(resp->body, resp->len + 1);
    memset(resp, 0, sizeof(*resp));
    resp->max_age = -1;
}

/* ------------------------------------------------------------------ callbacks */

struct rbuf {
    char *p;
    size_t len, cap, max;
    int too_big;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct rbuf *b = ud;
    size_t n = size * nmemb, cap;
    char *np;

    if (size != 0 && n / size != nmemb)
        return 0;
    if (n > b->max - b->len) {
        b->too_big = 1;
        oidc_memzero(data, n);
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        cap = b->cap < 4096 ? 4096 : b->cap;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        np = malloc(cap);
        if (np == NULL) {
            oidc_memzero(data, n);
            return 0;
        }
        if (b->p != NULL) {
            memcpy(np, b->p, b->len);
            oidc_freezero(b->p, b->cap);
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    oidc_memzero(data, n); /* libcurl's copy of the body may hold tokens */
    return n;
}

struct hinfo {
    int64_t max_age;
    int no_cache;
    int64_t date;
    char content_type[128];
};

/* Trims leading and trailing blanks of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && strchr(" \t\r\n", (*s)[*n - 1]) != NULL)
        (*n)--;
}

static void parse_cache_control(struct hinfo *h, const char *v, size_t n)
{
    const char *tok, *end = v + n;
    size_t tn;
    int64_t age;

    while (v < end) {
        tok = v;
        while (v < end && *v != ',')
            v++;
        tn = (size_t)(v - tok);
        if (v < end)
            v++;
        trim(&tok, &tn);
        if ((tn == 8 && strncasecmp(tok, "no-store", 8) == 0) ||
            (tn == 8 && strncasecmp(tok, "no-cache", 8) == 0)) {
            h->no_cache = 1;
        } else if (tn > 8 && strncasecmp(tok, "max-age=", 8) == 0) {
            size_t i = 8;
            if (i < tn && tok[i] == '"')
                i++;
            if (i >= tn || !isdigit((unsigned char)tok[i]))
                continue;
            for (age = 0; i < tn && isdigit((unsigned char)tok[i]); i++)
                if (age < MAX_AGE_CAP)
                    age = age * 10 + (tok[i] - '0');
            h->max_age = age > MAX_AGE_CAP ? MAX_AGE_CAP : age;
        }
    }
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hinfo *h = ud;
    size_t n = size * nmemb, vn;
    const char *colon, *v;
    char tmp[128];
    time_t t;

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after 1xx): forget what an earlier one said */
        h->max_age = -1;
        h->no_cache = 0;
        h->date = 0;
        h->content_type[0] = '\0';
        return n;
    }
    colon = memchr(data, ':', n);
    if (colon == NULL)
        return n;
    v = colon + 1;
    vn = n - (size_t)(v - data);
    trim(&v, &vn);
    if ((size_t)(colon - data) == 13 && strncasecmp(data, "cache-control", 13) == 0) {
        parse_cache_control(h, v, vn);
    } else if ((size_t)(colon - data) == 4 && strncasecmp(data, "date", 4) == 0) {
        if (vn > 0 && vn < sizeof(tmp)) {
            memcpy(tmp, v, vn);
            tmp[vn] = '\0';
            t = curl_getdate(tmp, NULL);
            h->date = t > 0 ? (int64_t)t : 0;
        }
    } else if ((size_t)(colon - data) == 12 && strncasecmp(data, "content-type", 12) == 0) {
        if (vn >= sizeof(h->content_type))
            vn = sizeof(h->content_type) - 1;
        memcpy(h->content_type, v, vn);
        h->content_type[vn] = '\0';
        oidc_printable(h->content_type, sizeof(h->content_type), h->content_type);
    }
    return n;
}

/* ------------------------------------------------------------------ request */

/* Wipes every header line (they may carry credentials) and frees the list. */
static void slist_free_wiped(struct curl_slist *l)
{
    struct curl_slist *it;

    for (it = l; it != NULL; it = it->next)
        if (it->data != NULL)
            oidc_memzero(it->data, strlen(it->data));
    curl_slist_free_all(l);
}

/* Appends a header line; the list copies it (and is wiped by slist_free_wiped). */
static int add_header(struct curl_slist **l, const char *line)
{
    struct curl_slist *n = curl_slist_append(*l, line);

    if (n == NULL)
        return OIDC_ERR_NOMEM;
    *l = n;
    return OIDC_OK;
}

/* "Authorization: Basic base64(form(user) ":" form(pass))" (RFC 6749 §2.3.1). */
static int add_basic_auth(struct curl_slist **l, const char *user, const char *pass)
{
    static const char prefix[] = "Authorization: Basic ";
    char *eu = NULL, *ep = NULL, *joined = NULL, *line = NULL;
    size_t nu, np, nj = 0, nl = 0;
    int r = OIDC_ERR_NOMEM;

    eu = oidc_http_form_escape(user);
    ep = oidc_http_form_escape(pass != NULL ? pass : "");
    if (eu == NULL || ep == NULL)
        goto out;
    nu = strlen(eu);
    np = strlen(ep);
    nj = nu + 1 + np;
    if (nj > 64 * 1024) {
        r = OIDC_ERR_TOOBIG;
        goto out;
    }
    joined = malloc(nj + 1);
    nl = sizeof(prefix) - 1 + 4 * ((nj + 2) / 3) + 1;
    line = malloc(nl);
    if (joined == NULL || line == NULL)
        goto out;
    memcpy(joined, eu, nu);
    joined[nu] = ':';
    memcpy(joined + nu + 1, ep, np);
    joined[nj] = '\0';
    memcpy(line, prefix, sizeof(prefix) - 1);
    EVP_EncodeBlock((unsigned char *)line + sizeof(prefix) - 1, (const unsigned char *)joined,
                    (int)nj);
    r = add_header(l, line);
out:
    oidc_free_secret(&eu);
    oidc_free_secret(&ep);
    if (joined != NULL)
        oidc_freezero(joined, nj + 1);
    if (line != NULL)
        oidc_freezero(line, nl);
    return r;
}

static int add_bearer(struct curl_slist **l, const char *token)
{
    static const char prefix[] = "Authorization: Bearer ";
    size_t nt = strlen(token), nl = sizeof(prefix) + nt;
    char *line;
    int r;

    if (strpbrk(token, "\r\n") != NULL)
        return OIDC_ERR_INVALID;
    line = malloc(nl);
    if (line == NULL)
        return OIDC_ERR_NOMEM;
    memcpy(line, prefix, sizeof(prefix) - 1);
    memcpy(line + sizeof(prefix) - 1, token, nt + 1);
    r = add_header(l, line);
    oidc_freezero(line, nl);
    return r;
}

#define SETOPT(h, opt, val)                                                     \
    do {                                                                        \
        if ((cc = curl_easy_setopt((h), (opt), (val))) != CURLE_OK) {           \
            r = OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cannot set %s: %s", #opt, \
                             curl_easy_strerror(cc));                           \
            goto out;                                                           \
        }                                                                       \
    } while (0)

/* Transport options: protocols, TLS verification, timeouts, no proxy, the body and header
 * callbacks, all checked. */
static int set_transport(CURL *h, const struct oidc_http_opts *opts, const char *url,
                         const char *protos, struct rbuf *buf, struct hinfo *hi, char *errbuf,
                         struct oidc_err *err)
{
    long connect_timeout, timeout;
    CURLcode cc;
    int r = OIDC_OK;

    connect_timeout = opts->connect_timeout > 0 ? opts->connect_timeout : CONNECT_TIMEOUT_DEFAULT;
    timeout = opts->timeout > 0 ? opts->timeout : TIMEOUT_DEFAULT;
    SETOPT(h, CURLOPT_URL, url);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, protos);
    SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, protos);
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (opts->ca_file != NULL)
        SETOPT(h, CURLOPT_CAINFO, opts->ca_file);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT, connect_timeout);
    SETOPT(h, CURLOPT_TIMEOUT, timeout);
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    /* No proxy, and none from the environment (http_proxy, https_proxy, ALL_PROXY): under sudo or
     * su that environment belongs to the calling user, who could route the IdP traffic. */
    SETOPT(h, CURLOPT_PROXY, "");
    SETOPT(h, CURLOPT_NOPROXY, "*");
    SETOPT(h, CURLOPT_NOPROGRESS, 1L);
    SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)buf->max);
    SETOPT(h, CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(h, CURLOPT_WRITEDATA, buf);
    SETOPT(h, CURLOPT_HEADERFUNCTION, header_cb);
    SETOPT(h, CURLOPT_HEADERDATA, hi);
    SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(h, CURLOPT_USERAGENT, USER_AGENT);
out:
    return r;
}

/* The request itself: the form body (POST) and the headers (Accept, Content-Type, client
 * credentials or bearer token) into *hdrs, which the caller frees wiped. */
static int set_request(CURL *h, const struct oidc_http_req *req, struct curl_slist **hdrs,
                       struct oidc_err *err)
{
    CURLcode cc;
    int r;

    if ((r = add_header(hdrs, "Accept: application/json")) != OIDC_OK)
        goto nomem;
    if (req->form != NULL) {
        if ((r = add_header(hdrs, "Content-Type: application/x-www-form-urlencoded")) != OIDC_OK)
            goto nomem;
        SETOPT(h, CURLOPT_POST, 1L);
        /* not copied by libcurl: the caller's buffer (which it wipes) is the only copy */
        SETOPT(h, CURLOPT_POSTFIELDS, req->form);
        SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->form));
    }
    if (req->basic_user != NULL) {
        r = add_basic_auth(hdrs, req->basic_user, req->basic_pass);
        if (r == OIDC_ERR_TOOBIG) {
            r = OIDC_ERR_SET(err, OIDC_ERR_INVALID, "client credentials are too long");
            goto out;
        }
        if (r != OIDC_OK)
            goto nomem;
    }
    if (req->bearer != NULL) {
        r = add_bearer(hdrs, req->bearer);
        if (r == OIDC_ERR_INVALID) {
            r = OIDC_ERR_SET(err, r, "the access token contains a line break");
            goto out;
        }
        if (r != OIDC_OK)
            goto nomem;
    }
    SETOPT(h, CURLOPT_HTTPHEADER, *hdrs);
    r = OIDC_OK;
    goto out;
nomem:
    r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory preparing a request to %.160s", req->url);
out:
    return r;
}

int oidc_http_request(const struct oidc_http_opts *opts, const struct oidc_http_req *req,
                      struct oidc_http_resp *resp, struct oidc_err *err)
{
    CURL *h = NULL;
    CURLcode cc;
    struct curl_slist *hdrs = NULL;
    struct rbuf buf = {0};
    struct hinfo hi;
    char errbuf[CURL_ERROR_SIZE];
    long status = 0;
    int plain_http = 0, r;

    if (resp != NULL) {
        memset(resp, 0, sizeof(*resp));
        resp->max_age = -1;
    }
    if (opts == NULL || req == NULL || resp == NULL || req->url == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_http_request: missing argument");
    if ((r = oidc_http_global_init(err)) != OIDC_OK)
        return r;
    if ((r = url_check(req->url, opts->insecure_http_loopback, &plain_http, err)) != OIDC_OK)
        return r;
    buf.max = opts->max_body > 0 ? opts->max_body : OIDC_HTTP_MAX_BODY;
    memset(&hi, 0, sizeof(hi));
    hi.max_age = -1;
    errbuf[0] = '\0';

    h = curl_easy_init();
    if (h == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "cannot create a libcurl handle");
    r = set_transport(h, opts, req->url, plain_http ? "https,http" : "https", &buf, &hi, errbuf,
                      err);
    if (r != OIDC_OK)
        goto out;
    if ((r = set_request(h, req, &hdrs, err)) != OIDC_OK)
        goto out;

    __atomic_add_fetch(&request_count, 1, __ATOMIC_RELAXED);
    cc = curl_easy_perform(h);
    if (buf.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        r = OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "answer from %.160s is larger than %zu bytes",
                         req->url, buf.max);
        goto out;
    }
    if (cc != CURLE_OK) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NETWORK, "cannot reach %.160s: %s", req->url,
                         errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    if ((cc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status)) != CURLE_OK) {
        r = OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cannot read the HTTP status: %s",
                         curl_easy_strerror(cc));
        goto out;
    }
    if (buf.p == NULL) {
        buf.p = calloc(1, 1);
        buf.cap = 1;
        if (buf.p == NULL)
            goto nomem;
    }
    resp->status = status;
    resp->body = buf.p;
    resp->len = buf.len;
    buf.p = NULL; /* transferred */
    resp->max_age = hi.no_cache ? 0 : hi.max_age;
    resp->date = hi.date;
    memcpy(resp->content_type, hi.content_type, sizeof(resp->content_type));
    r = OIDC_OK;
    goto out;
nomem:
    r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory preparing a request to %.160s", req->url);
out:
    if (h != NULL)
        curl_easy_cleanup(h);
    slist_free_wiped(hdrs);
    if (buf.p != NULL)
        oidc_freezero(buf.p, buf.cap);
    return r;
}
