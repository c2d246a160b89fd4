/* JWKS parsing: each usable public key is imported into OpenSSL once; unusable keys are skipped. */
#include "config.h"
#include "jwk.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "b64.h"
#include "json.h"

#define JWKS_MAX_KEYS 64
#define JWK_MAX_KID   256
#define RSA_MIN_BITS  2048
#define RSA_MAX_BITS  16384
#define RSA_FAMILY                                                                        \
    (OIDC_ALG_RS256 | OIDC_ALG_RS384 | OIDC_ALG_RS512 | OIDC_ALG_PS256 | OIDC_ALG_PS384 | \
     OIDC_ALG_PS512)

static const struct {
    const char *name;
    unsigned bit;
} alg_names[] = {
    {"RS256", OIDC_ALG_RS256}, {"RS384", OIDC_ALG_RS384}, {"RS512", OIDC_ALG_RS512},
    {"PS256", OIDC_ALG_PS256}, {"PS384", OIDC_ALG_PS384}, {"PS512", OIDC_ALG_PS512},
    {"ES256", OIDC_ALG_ES256}, {"ES384", OIDC_ALG_ES384}, {"ES512", OIDC_ALG_ES512},
    {"EdDSA", OIDC_ALG_EDDSA},
};

unsigned oidc_alg_from_name(const char *name)
{
    size_t i;

    if (name == NULL)
        return 0;
    for (i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
        if (strcmp(name, alg_names[i].name) == 0)
            return alg_names[i].bit;
    return 0;
}

const char *oidc_alg_name(unsigned alg)
{
    size_t i;

    for (i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
        if (alg == alg_names[i].bit)
            return alg_names[i].name;
    return "?";
}

int oidc_alg_list_parse(const char *list, unsigned *mask, struct oidc_err *err)
{
    char word[32];
    const char *p = list;
    unsigned m = 0, bit;
    size_t n;

    if (list == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "empty algorithm list");
    for (;;) {
        p += strspn(p, " \t,");
        if (*p == '\0')
            break;
        n = strcspn(p, " \t,");
        if (n >= sizeof(word))
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "algorithm name '%.32s...' is too long", p);
        memcpy(word, p, n);
        word[n] = '\0';
        p += n;
        bit = oidc_alg_from_name(word);
        if (bit == 0) {
            if (strcasecmp(word, "none") == 0)
                return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "algorithm 'none' is never accepted");
            if (strncasecmp(word, "HS", 2) == 0)
                return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                    "HMAC algorithm '%s' is never accepted (symmetric keys are "
                                    "shared secrets, not issuer signatures)",
                                    word);
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "unknown algorithm '%s' (known: RS256 RS384 RS512 PS256 PS384 "
                                "PS512 ES256 ES384 ES512 EdDSA)",
                                word);
        }
        m |= bit;
    }
    if (m == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "empty algorithm list");
    *mask = m;
    return OIDC_OK;
}

struct memo_entry {
    char *seg;
    size_t len;
    unsigned alg;
    const struct oidc_jwk *key;
    cJSON *header;
    EVP_MD_CTX *tmpl; /* may be NULL */
};

struct oidc_jwks_memo {
    pthread_mutex_t lock;
    size_t n; /* entries [0, n) are complete and never change */
    struct memo_entry e[OIDC_JWKS_MEMO_SLOTS];
};

static struct oidc_jwks_memo *memo_new(void)
{
    struct oidc_jwks_memo *m = calloc(1, sizeof(*m));

    if (m != NULL && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}

static void memo_free(struct oidc_jwks_memo *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->n; i++) {
        free(m->e[i].seg);
        cJSON_Delete(m->e[i].header);
        EVP_MD_CTX_free(m->e[i].tmpl);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* The index of seg among the complete entries, or -1. Called with the lock held. */
static long memo_index(const struct oidc_jwks_memo *m, const char *seg, size_t len)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (m->e[i].len == len && memcmp(m->e[i].seg, seg, len) == 0)
            return (long)i;
    return -1;
}

int oidc_jwks_memo_find(const struct oidc_jwks *jwks, const char *seg, size_t len, EVP_MD_CTX *ctx,
                        struct oidc_jwks_memo_hit *hit)
{
    struct oidc_jwks_memo *m = jwks != NULL ? jwks->memo : NULL;
    long i;

    if (m == NULL || len > OIDC_JWKS_MEMO_SEG_MAX)
        return 0;
    pthread_mutex_lock(&m->lock);
    i = memo_index(m, seg, len);
    if (i >= 0) {
        hit->alg = m->e[i].alg;
        hit->key = m->e[i].key;
        hit->header = m->e[i].header;
        hit->ctx_ready = 0;
        /* Copied under the lock: OpenSSL does not promise that copying one context from several
         * threads at once is safe. */
        if (ctx != NULL && m->e[i].tmpl != NULL) {
            if (EVP_MD_CTX_copy_ex(ctx, m->e[i].tmpl) == 1)
                hit->ctx_ready = 1;
            else
                EVP_MD_CTX_reset(ctx);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return i >= 0;
}

void oidc_jwks_memo_add(const struct oidc_jwks *jwks, const char *seg, size_t len, unsigned alg,
                        const struct oidc_jwk *key, const struct cJSON *header, EVP_MD_CTX *tmpl)
{
    struct oidc_jwks_memo *m = jwks != NULL ? jwks->memo : NULL;
    struct memo_entry e = {NULL, len, alg, key, NULL, tmpl};

    if (m == NULL || len > OIDC_JWKS_MEMO_SEG_MAX || key == NULL || header == NULL) {
        EVP_MD_CTX_free(tmpl);
        return;
    }
    pthread_mutex_lock(&m->lock);
    if (m->n < OIDC_JWKS_MEMO_SLOTS && memo_index(m, seg, len) < 0 &&
        (e.seg = malloc(len > 0 ? len : 1)) != NULL &&
        (e.header = cJSON_Duplicate(header, 1)) != NULL) {
        memcpy(e.seg, seg, len);
        m->e[m->n++] = e;
        e.seg = NULL; /* transferred */
        e.header = NULL;
        e.tmpl = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    free(e.seg);
    cJSON_Delete(e.header);
    EVP_MD_CTX_free(e.tmpl);
}

static void jwk_clear(struct oidc_jwk *k)
{
    free(k->kid);
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

void oidc_jwks_free(struct oidc_jwks *jwks)
{
    size_t i;

    if (jwks == NULL)
        return;
    memo_free(jwks->memo);
    for (i = 0; i < jwks->n; i++)
        jwk_clear(&jwks->keys[i]);
    free(jwks->keys);
    free(jwks);
}

/* Decodes a base64url member into a fresh buffer; 0 or an error code. */
static int get_b64(const cJSON *jwk, const char *name, size_t max, unsigned char **out, size_t *len)
{
    const char *s;
    int r;

    if ((r = oidc_json_get_string(jwk, name, &s)) != OIDC_OK)
        return r;
    return oidc_b64url_decode(s, strlen(s), max, out, len);
}

static int import_rsa(const cJSON *jwk, struct oidc_jwk *k, const char **why)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nlen = 0, elen = 0;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int r = OIDC_ERR_NOKEY;

    if (get_b64(jwk, "n", RSA_MAX_BITS / 8 + 1, &n, &nlen) != OIDC_OK ||
        get_b64(jwk, "e", 8, &e, &elen) != OIDC_OK) {
        *why = "RSA key without valid n and e";
        goto out;
    }
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    if (bn_n == NULL || bn_e == NULL) {
        *why = "out of memory";
        r = OIDC_ERR_NOMEM;
        goto out;
    }
    k->bits = BN_num_bits(bn_n);
    if (k->bits < RSA_MIN_BITS) {
        *why = "RSA key shorter than 2048 bits";
        goto out;
    }
    if (!BN_is_odd(bn_e) || BN_num_bits(bn_e) < 2) {
        *why = "RSA key with an invalid public exponent";
        goto out;
    }
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        *why = "OpenSSL refused the RSA key";
        goto out;
    }
    k->kty = OIDC_KTY_RSA;
    k->algs = RSA_FAMILY;
    r = OIDC_OK;
out:
    free(n);
    free(e);
    BN_free(bn_n);
    BN_free(bn_e);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

static int import_ec(const cJSON *jwk, struct oidc_jwk *k, const char **why)
{
    static const struct {
        const char *crv, *group;
        int nid;
        size_t len;
        unsigned alg;
    } curves[] = {
        {"P-256", "prime256v1", NID_X9_62_prime256v1, 32, OIDC_ALG_ES256},
        {"P-384", "secp384r1", NID_secp384r1, 48, OIDC_ALG_ES384},
        {"P-521", "secp521r1", NID_secp521r1, 66, OIDC_ALG_ES512},
    };
    const char *crv;
    unsigned char *x = NULL, *y = NULL, pub[1 + 2 * 66];
    size_t xlen = 0, ylen = 0, i, c = sizeof(curves) / sizeof(curves[0]);
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL;
    EC_GROUP *group = NULL;
    int r = OIDC_ERR_NOKEY;

    if (oidc_json_get_string(jwk, "crv", &crv) != OIDC_OK) {
        *why = "EC key without crv";
        return r;
    }
    for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (strcmp(crv, curves[i].crv) == 0)
            c = i;
    if (c == sizeof(curves) / sizeof(curves[0])) {
        *why = "EC key on an unsupported curve";
        return r;
    }
    if (get_b64(jwk, "x", 66, &x, &xlen) != OIDC_OK ||
        get_b64(jwk, "y", 66, &y, &ylen) != OIDC_OK || xlen != curves[c].len ||
        ylen != curves[c].len) {
        *why = "EC key with invalid x or y coordinates";
        goto out;
    }
    pub[0] = 0x04;
    memcpy(pub + 1, x, xlen);
    memcpy(pub + 1 + xlen, y, ylen);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)(uintptr_t)curves[c].group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + xlen + ylen);
    params[2] = OSSL_PARAM_construct_end();
    /* fromdata decodes the point and refuses one that is not on the curve. */
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        *why = "EC key is not a valid point on its curve";
        goto out;
    }
    group = EC_GROUP_new_by_curve_name(curves[c].nid);
    if (group == NULL ||
        BN_bn2binpad(EC_GROUP_get0_order(group), k->ec_order, (int)curves[c].len) < 0) {
        *why = "out of memory";
        r = OIDC_ERR_NOMEM;
        goto out;
    }
    k->kty = OIDC_KTY_EC;
    k->curve_nid = curves[c].nid;
    k->algs = curves[c].alg;
    k->bits = (int)curves[c].len * 8;
    k->sig_len = 2 * curves[c].len;
    r = OIDC_OK;
out:
    free(x);
    free(y);
    EC_GROUP_free(group);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

static int import_okp(const cJSON *jwk, struct oidc_jwk *k, const char **why)
{
    const char *crv;
    unsigned char *x = NULL;
    size_t xlen = 0;
    int type, r = OIDC_ERR_NOKEY;
    size_t want;

    if (oidc_json_get_string(jwk, "crv", &crv) != OIDC_OK) {
        *why = "OKP key without crv";
        return r;
    }
    if (strcmp(crv, "Ed25519") == 0) {
        type = EVP_PKEY_ED25519;
        want = 32;
        k->curve_nid = NID_ED25519;
    } else if (strcmp(crv, "Ed448") == 0) {
        type = EVP_PKEY_ED448;
        want = 57;
        k->curve_nid = NID_ED448;
    } else {
        *why = "OKP key on an unsupported curve (X25519/X448 are for encryption)";
        return r;
    }
    if (get_b64(jwk, "x", 64, &x, &xlen) != OIDC_OK || xlen != want) {
        *why = "OKP key with an invalid x";
        goto out;
    }
    k->pkey = EVP_PKEY_new_raw_public_key(type, NULL, x, xlen);
    if (k->pkey == NULL) {
        *why = "OpenSSL refused the OKP key";
        goto out;
    }
    k->kty = OIDC_KTY_OKP;
    k->algs = OIDC_ALG_EDDSA;
    k->bits = (int)want * 8;
    r = OIDC_OK;
out:
    free(x);
    return r;
}

/* Imports one JWK into k. Returns 0, OIDC_ERR_NOMEM, or OIDC_ERR_NOKEY with *why set. */
static int import_key(const cJSON *jwk, struct oidc_jwk *k, const char **why)
{
    const char *kty, *use, *alg, *kid;
    const cJSON *ops, *op;
    unsigned alg_bit = 0;
    int r, has_verify = 0;

    memset(k, 0, sizeof(*k));
    if (!cJSON_IsObject(jwk)) {
        *why = "not a JSON object";
        return OIDC_ERR_NOKEY;
    }
    if (oidc_json_get_string(jwk, "kty", &kty) != OIDC_OK) {
        *why = "no kty";
        return OIDC_ERR_NOKEY;
    }
    r = oidc_json_get_string(jwk, "use", &use);
    if (r == OIDC_ERR_PARSE || (r == OIDC_OK && strcmp(use, "sig") != 0)) {
        *why = "use is not \"sig\"";
        return OIDC_ERR_NOKEY;
    }
    r = oidc_json_get_array(jwk, "key_ops", &ops);
    if (r == OIDC_ERR_PARSE) {
        *why = "key_ops is not an array";
        return OIDC_ERR_NOKEY;
    }
    if (r == OIDC_OK) {
        cJSON_ArrayForEach(op, ops)
        {
            if (cJSON_IsString(op) && strcmp(op->valuestring, "verify") == 0)
                has_verify = 1;
        }
        if (!has_verify) {
            *why = "key_ops does not include \"verify\"";
            return OIDC_ERR_NOKEY;
        }
    }
    if (cJSON_GetObjectItemCaseSensitive(jwk, "d") != NULL) {
        *why = "a private key was published";
        return OIDC_ERR_NOKEY;
    }
    r = oidc_json_get_string(jwk, "alg", &alg);
    if (r == OIDC_ERR_PARSE || (r == OIDC_OK && (alg_bit = oidc_alg_from_name(alg)) == 0)) {
        *why = "alg is not an accepted signature algorithm";
        return OIDC_ERR_NOKEY;
    }
    r = oidc_json_get_string(jwk, "kid", &kid);
    if (r == OIDC_ERR_PARSE || (r == OIDC_OK && strlen(kid) > JWK_MAX_KID)) {
        *why = "kid is not a string of at most 256 bytes";
        return OIDC_ERR_NOKEY;
    }
    if (r == OIDC_OK && (k->kid = strdup(kid)) == NULL)
        return OIDC_ERR_NOMEM;

    if (strcmp(kty, "RSA") == 0)
        r = import_rsa(jwk, k, why);
    else if (strcmp(kty, "EC") == 0)
        r = import_ec(jwk, k, why);
    else if (strcmp(kty, "OKP") == 0)
        r = import_okp(jwk, k, why);
    else {
        *why = strcmp(kty, "oct") == 0 ? "symmetric (oct) keys are never used" : "unknown kty";
        r = OIDC_ERR_NOKEY;
    }
    if (r == OIDC_OK && alg_bit != 0) {
        if ((k->algs & alg_bit) == 0) {
            *why = "the key's alg does not fit its type or curve";
            r = OIDC_ERR_NOKEY;
        } else
            k->algs = alg_bit;
    }
    if (r != OIDC_OK)
        jwk_clear(k);
    return r;
}

int oidc_jwks_parse(const char *json, size_t len, struct oidc_jwks **out, struct oidc_err *err)
{
    cJSON *root = NULL;
    const cJSON *keys, *jwk;
    struct oidc_jwks *set = NULL;
    const char *why = NULL, *first_why = NULL;
    size_t count;
    int r;

    if ((r = oidc_json_parse_object(json, len, "JWKS", &root, err)) != OIDC_OK)
        return r;
    if (oidc_json_get_array(root, "keys", &keys) != OIDC_OK) {
        r = OIDC_ERR_SET(err, OIDC_ERR_PARSE, "JWKS has no \"keys\" array");
        goto out;
    }
    count = (size_t)cJSON_GetArraySize(keys);
    if (count > JWKS_MAX_KEYS) {
        r = OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "JWKS has %zu keys (at most %d are accepted)", count,
                         JWKS_MAX_KEYS);
        goto out;
    }
    set = calloc(1, sizeof(*set));
    if (set == NULL || (set->keys = calloc(count > 0 ? count : 1, sizeof(*set->keys))) == NULL ||
        (set->memo = memo_new()) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory parsing the JWKS");
        goto out;
    }
    cJSON_ArrayForEach(jwk, keys)
    {
        r = import_key(jwk, &set->keys[set->n], &why);
        if (r == OIDC_ERR_NOMEM) {
            OIDC_ERR_SET(err, r, "out of memory parsing the JWKS");
            goto out;
        }
        if (r == OIDC_OK)
            set->n++;
        else {
            set->n_skipped++;
            if (first_why == NULL)
                first_why = why;
        }
    }
    if (set->n == 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOKEY, "JWKS has no usable signing key%s%s",
                         first_why != NULL ? ": " : "", first_why != NULL ? first_why : "");
        goto out;
    }
    *out = set;
    set = NULL; /* transferred */
    r = OIDC_OK;
out:
    oidc_jwks_free(set);
    cJSON_Delete(root);
    return r;
}
