/* JWS/JWT verification: compact serialization only, allow-listed algorithms, mandatory claims. */
#ifndef OIDC_JWT_H
#define OIDC_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "jwk.h"
#include "util.h"

#define OIDC_TOKEN_MAX      (16 * 1024) /* bytes of compact JWS */
#define OIDC_LEEWAY_DEFAULT 60
#define OIDC_LEEWAY_MAX     300
#define OIDC_TIME_MAX       253402300799LL /* 9999-12-31T23:59:59Z: sane upper bound for times */

struct oidc_verify_opts {
    const char *issuer;           /* required: iss must equal it byte for byte */
    const char *const *audiences; /* required: aud must contain one of these */
    size_t n_audiences;
    const char *client_id; /* when set and azp is present, azp must equal it */
    /* when set, aud must also contain it (host_audience: this host's own audience, required in
     * addition to one of audiences); it does not count as another party for the azp rule */
    const char *host_audience;
    unsigned algs;         /* allow-list mask; 0 means OIDC_ALGS_DEFAULT */
    int64_t now;           /* seconds since the epoch */
    int leeway;            /* seconds, 0..OIDC_LEEWAY_MAX */
    int64_t max_token_age; /* > 0: now - iat must not exceed it (+ leeway) */
    const char *nonce;     /* when set, the token's nonce must equal it */
    const char *acr;       /* when set, the token's acr must equal it */
    int require_auth_time; /* when set, auth_time must be present and numeric */
};

struct oidc_token {
    cJSON *header;
    cJSON *claims;
    const char *iss, *sub, *jti, *kid; /* point into header/claims; jti and kid may be NULL */
    int64_t exp, iat, nbf;             /* nbf is 0 when absent */
    unsigned alg;
};

/* Verifies a compact JWS against a key set and the options. On success *out holds the decoded
 * token. OIDC_ERR_NOKEY means no key in the set fits (the caller may refetch the JWKS once and
 * retry); OIDC_ERR_SIGNATURE a bad signature; OIDC_ERR_EXPIRED an expired token; OIDC_ERR_TOKEN
 * any other refused rule; OIDC_ERR_PARSE/TOOBIG malformed input. err names the exact rule. */
int oidc_token_verify(const char *jwt, size_t len, const struct oidc_jwks *jwks,
                      const struct oidc_verify_opts *opts, struct oidc_token **out,
                      struct oidc_err *err);
/* Decodes header and claims without checking anything: for display and diagnostics only. */
int oidc_token_decode_unverified(const char *jwt, size_t len, struct oidc_token **out,
                                 struct oidc_err *err);
void oidc_token_free(struct oidc_token *tok);

#endif
