/* HTTP over libcurl, treated as hostile input: HTTPS only, verified, bounded, timed out. */
#ifndef OIDC_HTTP_H
#define OIDC_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define OIDC_HTTP_MAX_BODY (256 * 1024)

struct oidc_http_opts {
    const char *ca_file;        /* NULL = system trust store */
    int connect_timeout;        /* seconds; 0 = 5 */
    int timeout;                /* seconds for the whole request; 0 = 15 */
    size_t max_body;            /* 0 = OIDC_HTTP_MAX_BODY */
    int insecure_http_loopback; /* allow http:// to 127.0.0.0/8, ::1 or localhost only */
};

struct oidc_http_req {
    const char *url;
    const char *form;       /* when set: POST application/x-www-form-urlencoded with this body */
    const char *basic_user; /* when set: HTTP Basic client authentication (RFC 6749 §2.3.1) */
    const char *basic_pass;
    const char *bearer; /* when set: Authorization: Bearer (userinfo) */
};

struct oidc_http_resp {
    long status;
    char *body; /* NUL-terminated; wiped and freed by oidc_http_resp_clear */
    size_t len;
    int64_t max_age; /* from Cache-Control max-age, -1 when absent; no-store/no-cache -> 0 */
    int64_t date;    /* server Date header as epoch seconds, 0 when absent */
    char content_type[128];
};

/* Performs one request. Network failures (DNS, connect, TLS, timeout, too big) are OIDC_ERR_NETWORK
 * or OIDC_ERR_TOOBIG with a message naming the URL (never a token) and the cause; any HTTP status
 * is returned in resp (the caller judges it). No redirects are followed. */
int oidc_http_request(const struct oidc_http_opts *opts, const struct oidc_http_req *req,
                      struct oidc_http_resp *resp, struct oidc_err *err);
void oidc_http_resp_clear(struct oidc_http_resp *resp);
/* Checks a URL against the transport rules of oidc_http_request without connecting: an absolute
 * https:// URL (http:// only to 127.0.0.0/8, [::1] or localhost when insecure_http_loopback is
 * set), no credentials in it. OIDC_ERR_CONFIG with a message naming the URL otherwise. */
int oidc_http_url_check(const char *url, int insecure_http_loopback, struct oidc_err *err);
/* application/x-www-form-urlencoded escaping (RFC 6749 appendix B); malloc'd or NULL. */
char *oidc_http_form_escape(const char *s);
/* Number of requests performed by this process (benchmarks count network use with it). */
uint64_t oidc_http_request_count(void);
/* One-time global init of libcurl (thread-safe, idempotent). */
int oidc_http_global_init(struct oidc_err *err);

#endif
