/* An OpenID Provider at run time: discovery document and JWKS, cached on disk and in memory. */
#ifndef OIDC_PROVIDER_H
#define OIDC_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include "conf.h"
#include "http.h"
#include "jwk.h"
#include "jwt.h"
#include "util.h"

#define OIDC_DOC_TTL_MIN   300 /* Cache-Control max-age is clamped to [5 min, 24 h] */
#define OIDC_DOC_TTL_MAX   86400
#define OIDC_JWKS_COOLDOWN 60

struct oidc_provider;

/* Binds a provider configuration to a cache directory (state_dir/idp, created 0700 root-only when
 * writable). Loads what the disk cache holds; performs no network I/O. */
int oidc_provider_new(const struct oidc_provider_cfg *pcfg, const char *state_dir,
                      struct oidc_provider **out, struct oidc_err *err);
void oidc_provider_free(struct oidc_provider *p);
const struct oidc_provider_cfg *oidc_provider_cfg(const struct oidc_provider *p);
/* The HTTP options derived from the provider configuration. */
void oidc_provider_http_opts(const struct oidc_provider *p, struct oidc_http_opts *opts);

/* Makes sure a discovery document is available: fresh from cache, else fetched (and stored);
 * a stale document is kept and used when the IdP cannot be reached, but not once it is more than
 * jwks_max_stale seconds past its expiry (then OIDC_ERR_NETWORK). The document's issuer must
 * equal the configured issuer byte for byte. */
int oidc_provider_discover(struct oidc_provider *p, int64_t now, struct oidc_err *err);
/* An endpoint from the discovery document ("token_endpoint", "device_authorization_endpoint",
 * "userinfo_endpoint", "jwks_uri"), or NULL. Valid until the document is replaced. */
const char *oidc_provider_endpoint(const struct oidc_provider *p, const char *name);

/* Makes sure a JWKS is available (same caching rules as discovery). force asks for a refetch,
 * honoured at most once per jwks_cooldown seconds; otherwise the cached set is kept. Only an
 * outage (no answer, an HTTP error status, a body that is not a JWK Set) lets a stale set stand
 * in, for at most jwks_max_stale seconds past its expiry. A JWK Set the IdP serves with no usable
 * key is authoritative: the cached set is dropped (memory and disk) and OIDC_ERR_NOKEY returned. */
int oidc_provider_jwks(struct oidc_provider *p, int64_t now, int force,
                       const struct oidc_jwks **out, struct oidc_err *err);

/* Verifies a token with this provider's rules (issuer, audiences, client_id, algorithms, leeway,
 * max_token_age, acr) and keys. An unknown kid triggers one rate-limited JWKS refetch and one
 * retry. With a warm cache it performs no I/O. nonce may be NULL. */
int oidc_provider_verify(struct oidc_provider *p, const char *jwt, size_t len, int64_t now,
                         const char *nonce, struct oidc_token **out, struct oidc_err *err);

/* oidc_provider_verify for a token a client presented (token logins, oidcctl verify-token):
 * with host_audience = yes, aud must also contain this host's audience (hostname.h). Device-flow
 * ID tokens, which the host fetches itself, go through oidc_provider_verify. host_name is the
 * [global] host_name, or NULL. */
int oidc_provider_verify_presented(struct oidc_provider *p, const char *host_name, const char *jwt,
                                   size_t len, int64_t now, const char *nonce,
                                   struct oidc_token **out, struct oidc_err *err);

/* Fills opts from the provider configuration (for callers that verify against their own keys). */
void oidc_provider_verify_opts(const struct oidc_provider_cfg *pcfg, int64_t now,
                               const char **aud_storage, struct oidc_verify_opts *opts);

/* Statistics for benchmarks and check-config. */
struct oidc_provider_stats {
    uint64_t discovery_fetches, jwks_fetches, jwks_refetch_refused;
    int64_t discovery_expires, jwks_expires;
    int64_t server_date; /* Date header of the last fetch, 0 if none */
    int64_t local_at_fetch;
    int cache_on_disk;    /* 1 when state_dir/idp is usable, 0 when working in memory only */
    char last_error[256]; /* why the disk cache is unused or the last refetch failed (a stale
                           * copy may be in use); "" if nothing went wrong. For debug output. */
};
void oidc_provider_stats(const struct oidc_provider *p, struct oidc_provider_stats *st);

#endif
