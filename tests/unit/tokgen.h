/* Test-only token forge: keys, JWK/JWKS documents and signed compact JWS, built with OpenSSL.
 * Never linked into anything installed. */
#ifndef TOKGEN_H
#define TOKGEN_H

#include <stddef.h>
#include <openssl/evp.h>

struct tg_key {
    EVP_PKEY *pkey;
    char alg[16]; /* JOSE name used to sign: RS256 ... PS512, ES256/384/512, EdDSA */
    char kid[64];
};

/* alg: a JOSE name; "RS256" makes a 2048-bit key, "RS256-1024" a 1024-bit one (for negative
 * tests), "EdDSA" an Ed25519 key, "EdDSA-448" an Ed448 key. kid may be NULL. Aborts on failure
 * (test code only). */
struct tg_key *tg_key_new(const char *alg, const char *kid);
void tg_key_free(struct tg_key *k);
/* One JWK object for the public key, with "kid" and "alg" members (unless include_alg is 0) and
 * extra members spliced in verbatim (e.g. "\"use\":\"enc\"", or NULL). malloc'd. */
char *tg_jwk_json(const struct tg_key *k, int include_alg, const char *extra);
/* {"keys":[...]} of the given keys' JWKs with kid, alg and "use":"sig". malloc'd. */
char *tg_jwks_json(struct tg_key *const *keys, size_t n);
/* Signs claims_json with k. header_json NULL means {"alg":k->alg,"typ":"JWT","kid":k->kid}.
 * Header and claims are used verbatim (they may be invalid on purpose). malloc'd compact JWS. */
char *tg_sign(const struct tg_key *k, const char *header_json, const char *claims_json);
/* Raw JOSE signature of "input" with k: for tampering tests. malloc'd base64url. */
char *tg_sig_b64(const struct tg_key *k, const char *input, size_t len);

#endif
