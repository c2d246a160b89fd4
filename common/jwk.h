/* JSON Web Keys: a JWKS is parsed and every usable key imported into OpenSSL once. */
#ifndef OIDC_JWK_H
#define OIDC_JWK_H

#include <stddef.h>
#include <openssl/evp.h>
#include "util.h"

/* Signature algorithms, as bits so a provider's allow-list is one unsigned. */
enum oidc_alg {
    OIDC_ALG_RS256 = 1u << 0,
    OIDC_ALG_RS384 = 1u << 1,
    OIDC_ALG_RS512 = 1u << 2,
    OIDC_ALG_PS256 = 1u << 3,
    OIDC_ALG_PS384 = 1u << 4,
    OIDC_ALG_PS512 = 1u << 5,
    OIDC_ALG_ES256 = 1u << 6,
    OIDC_ALG_ES384 = 1u << 7,
    OIDC_ALG_ES512 = 1u << 8,
    OIDC_ALG_EDDSA = 1u << 9,
};
#define OIDC_ALGS_DEFAULT 0x3ffu
#define OIDC_ALGS_ALL     0x3ffu

/* Returns the bit for an exact, case-sensitive JOSE name, 0 for anything else ("none", "HS256",
 * "rs256" ...). */
unsigned oidc_alg_from_name(const char *name);
const char *oidc_alg_name(unsigned alg);
/* Parses a space- or comma-separated list into a mask; 0 with a message on an unknown or forbidden
 * name. */
int oidc_alg_list_parse(const char *list, unsigned *mask, struct oidc_err *err);

enum oidc_kty { OIDC_KTY_RSA = 1, OIDC_KTY_EC, OIDC_KTY_OKP };

struct oidc_jwk {
    char *kid; /* NULL when the key has none */
    enum oidc_kty kty;
    unsigned algs;  /* algorithms this key may verify: from kty/crv, narrowed by its "alg" */
    int bits;       /* RSA modulus bits, or curve order bits */
    int curve_nid;  /* EC/OKP: NID of the curve */
    size_t sig_len; /* EC: exact raw signature length (2 * field size); 0 otherwise */
    unsigned char ec_order[66]; /* EC: the group order n, big-endian, sig_len / 2 bytes */
    EVP_PKEY *pkey;
};

struct oidc_jwks {
    struct oidc_jwk *keys;
    size_t n;
    size_t n_skipped; /* keys present in the document but unusable (oct, small RSA, enc, ...) */
};

/* Parses a JWKS document ({"keys":[...]}). Unusable keys are skipped and counted, never fatal;
 * a document with no usable key at all is OIDC_ERR_NOKEY. */
int oidc_jwks_parse(const char *json, size_t len, struct oidc_jwks **out, struct oidc_err *err);
void oidc_jwks_free(struct oidc_jwks *jwks);

#endif
