/* OAuth 2.0 Device Authorization Grant client (RFC 8628). */
#ifndef OIDC_DEVICE_H
#define OIDC_DEVICE_H

#include <stdint.h>
#include "provider.h"
#include "util.h"

#define OIDC_DEVICE_INTERVAL_DEFAULT 5
#define OIDC_DEVICE_SLOWDOWN_STEP    5

struct oidc_device_auth {
    char *device_code; /* secret: wiped on clear */
    char *user_code;
    char *verification_uri;
    char *verification_uri_complete; /* may be NULL */
    int64_t expires_at;              /* absolute, from expires_in */
    int interval;                    /* seconds between polls (>= 1) */
};

struct oidc_device_tokens {
    char *id_token;     /* secret */
    char *access_token; /* secret, may be NULL */
};

/* Posts the device authorization request (client_id, scope, client secret by Basic or body). */
int oidc_device_start(struct oidc_provider *p, int64_t now, struct oidc_device_auth *da,
                      struct oidc_err *err);
/* One token-endpoint poll: 0 with tokens, OIDC_ERR_PENDING, OIDC_ERR_SLOWDOWN (interval already
 * raised by 5 s), OIDC_ERR_DENIED (access_denied), OIDC_ERR_EXPIRED (expired_token), or another
 * error. */
int oidc_device_poll_once(struct oidc_provider *p, struct oidc_device_auth *da,
                          struct oidc_device_tokens *tok, struct oidc_err *err);
/* Polls until tokens, a final error, the code's expiry, or deadline (absolute epoch seconds):
 * OIDC_ERR_TIMEOUT when the deadline comes first. Never polls faster than the interval.
 * sleep_fn (NULL = nanosleep) lets callers interrupt; it returns non-zero to abort. */
typedef int (*oidc_sleep_fn)(void *ctx, int seconds);
int oidc_device_poll(struct oidc_provider *p, struct oidc_device_auth *da, int64_t deadline,
                     oidc_sleep_fn sleep_fn, void *sleep_ctx, struct oidc_device_tokens *tok,
                     struct oidc_err *err);
/* Fetches userinfo with the access token; *out is a parsed object. groups.c decides when and
 * checks its subject. */
int oidc_userinfo_fetch(struct oidc_provider *p, const char *access_token, cJSON **out,
                        struct oidc_err *err);
void oidc_device_auth_clear(struct oidc_device_auth *da);
void oidc_device_tokens_clear(struct oidc_device_tokens *tok);

#endif
