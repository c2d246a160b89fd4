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

struct oidc_jwks_memo;

struct oidc_jwks {
    struct oidc_jwk *keys;
    size_t n;
    size_t n_skipped; /* keys present in the document but unusable (oct, small RSA, enc, ...) */
    /* Token headers already verified with this set (see oidc_jwks_memo_find); NULL when the set
     * was not made by oidc_jwks_parse, which only disables the memo. */
    struct oidc_jwks_memo *memo;
};

/* Parses a JWKS document ({"keys":[...]}). Unusable keys are skipped and counted, never fatal;
 * a document with no usable key at all is OIDC_ERR_NOKEY. */
int oidc_jwks_parse(const char *json, size_t len, struct oidc_jwks **out, struct oidc_err *err);
void oidc_jwks_free(struct oidc_jwks *jwks);

/* Header memo. An IdP sends the same header bytes on every token it signs with a key, so the
 * verifier remembers, per key set, the exact base64url header segments of tokens whose signature
 * verified: the alg it named, the key chosen for it, the parsed header, and a signature
 * verification context already initialised for that key and alg, which a copy (EVP_MD_CTX_copy_ex,
 * ~0.4 us) replaces EVP_DigestVerifyInit (~5 us) with. A set is shared
 * read-only by its users; the memo is the one mutable part and takes its own lock. Entries never
 * change or go away once added (at most OIDC_JWKS_MEMO_SLOTS, first come), so what find returns
 * stays valid for as long as the caller holds the set; oidc_jwks_free drops them all. */
#define OIDC_JWKS_MEMO_SLOTS   8
#define OIDC_JWKS_MEMO_SEG_MAX 1024 /* longer header segments are not remembered */

struct cJSON;
struct oidc_jwks_memo_hit {
    unsigned alg;               /* the header's alg */
    const struct oidc_jwk *key; /* the key chosen for it, a key of the set */
    const struct cJSON *header; /* owned by the set: read or copy it, never modify or free it */
    int ctx_ready;              /* the caller's context now holds a copy of the template */
};
/* Returns 1 and fills *hit when exactly these len bytes were added before; 0 otherwise. When the
 * entry has a verification context template, it is copied into ctx (fresh or reset) and
 * hit->ctx_ready set; on a failed copy ctx is reset and ctx_ready is 0. */
int oidc_jwks_memo_find(const struct oidc_jwks *jwks, const char *seg, size_t len, EVP_MD_CTX *ctx,
                        struct oidc_jwks_memo_hit *hit);
/* Remembers seg (copied) with alg, key, a copy of header and tmpl, a context prepared by the
 * verifier for key and alg (EVP_DigestVerifyInit and padding, no data yet; may be NULL). Takes
 * tmpl in every case. Only for a header whose token's signature verified with key: nothing an
 * attacker can send without the IdP's key gets in. Does nothing (but free tmpl) when the segment
 * is already known, too long, the memo is full, or memory is short. */
void oidc_jwks_memo_add(const struct oidc_jwks *jwks, const char *seg, size_t len, unsigned alg,
                        const struct oidc_jwk *key, const struct cJSON *header, EVP_MD_CTX *tmpl);

#endif
