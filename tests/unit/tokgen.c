/* Test-only token forge. Failures abort: this is test code, never linked into a module. */
#include "config.h"
#include "tokgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "b64.h"

#define CHECK(x)                                                                     \
    do {                                                                             \
        if (!(x)) {                                                                  \
            fprintf(stderr, "tokgen: %s failed at %s:%d\n", #x, __FILE__, __LINE__); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static const char *md_of(const char *alg)
{
    if (strstr(alg, "256") != NULL)
        return "SHA256";
    if (strstr(alg, "384") != NULL)
        return "SHA384";
    if (strstr(alg, "512") != NULL)
        return "SHA512";
    return NULL;
}

/* An RSA key of bits: generated, or, when TG_KEY_DIR names a directory of PEM files
 * rsa<bits>-<n>.pem (n from 1), the next of those in turn. RSA key generation under valgrind takes
 * minutes; tests/run-all.sh makes such a pool with openssl for its valgrind stage. */
static EVP_PKEY *rsa_key(unsigned bits)
{
    static unsigned next[2];
    const char *dir = getenv("TG_KEY_DIR");
    unsigned *n = &next[bits == 1024 ? 0 : 1];
    char path[4096];
    EVP_PKEY *pkey = NULL;
    FILE *f;

    if (dir != NULL && *dir != '\0') {
        snprintf(path, sizeof(path), "%s/rsa%u-%u.pem", dir, bits, *n + 1);
        if ((f = fopen(path, "re")) == NULL && *n > 0) {
            *n = 0; /* wrap around */
            snprintf(path, sizeof(path), "%s/rsa%u-%u.pem", dir, bits, 1u);
            f = fopen(path, "re");
        }
        if (f != NULL) {
            pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
            fclose(f);
            CHECK(pkey != NULL && EVP_PKEY_get_bits(pkey) == (int)bits);
            (*n)++;
            return pkey;
        }
    }
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

struct tg_key *tg_key_new(const char *alg, const char *kid)
{
    struct tg_key *k = calloc(1, sizeof(*k));

    CHECK(k != NULL);
    if (strcmp(alg, "RS256-1024") == 0) {
        k->pkey = rsa_key(1024);
        snprintf(k->alg, sizeof(k->alg), "RS256");
    } else if (alg[0] == 'R' || alg[0] == 'P') {
        k->pkey = rsa_key(2048);
        snprintf(k->alg, sizeof(k->alg), "%s", alg);
    } else if (strcmp(alg, "ES256") == 0) {
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        snprintf(k->alg, sizeof(k->alg), "%s", alg);
    } else if (strcmp(alg, "ES384") == 0) {
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        snprintf(k->alg, sizeof(k->alg), "%s", alg);
    } else if (strcmp(alg, "ES512") == 0) {
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
        snprintf(k->alg, sizeof(k->alg), "%s", alg);
    } else if (strcmp(alg, "EdDSA") == 0) {
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        snprintf(k->alg, sizeof(k->alg), "EdDSA");
    } else if (strcmp(alg, "EdDSA-448") == 0) {
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
        snprintf(k->alg, sizeof(k->alg), "EdDSA");
    }
    CHECK(k->pkey != NULL);
    if (kid != NULL)
        snprintf(k->kid, sizeof(k->kid), "%s", kid);
    return k;
}

void tg_key_free(struct tg_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

static char *b64_bn(EVP_PKEY *pkey, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;

    CHECK(EVP_PKEY_get_bn_param(pkey, param, &bn) == 1);
    n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return oidc_b64url_encode(buf, (size_t)n);
}

char *tg_jwk_json(const struct tg_key *k, int include_alg, const char *extra)
{
    char body[4096], head[256];
    char *a = NULL, *b = NULL, *out;
    unsigned char pub[256];
    size_t len = 0, half;
    int id = EVP_PKEY_get_base_id(k->pkey);

    if (id == EVP_PKEY_RSA) {
        a = b64_bn(k->pkey, OSSL_PKEY_PARAM_RSA_N);
        b = b64_bn(k->pkey, OSSL_PKEY_PARAM_RSA_E);
        snprintf(body, sizeof(body), "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", a, b);
    } else if (id == EVP_PKEY_EC) {
        char group[64];
        const char *crv;
        CHECK(EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                             sizeof(group), NULL) == 1);
        CHECK(EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                              &len) == 1);
        crv = strcmp(group, "prime256v1") == 0  ? "P-256"
              : strcmp(group, "secp384r1") == 0 ? "P-384"
                                                : "P-521";
        half = (len - 1) / 2;
        a = oidc_b64url_encode(pub + 1, half);
        b = oidc_b64url_encode(pub + 1 + half, half);
        snprintf(body, sizeof(body), "\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"", crv,
                 a, b);
    } else {
        len = sizeof(pub);
        CHECK(EVP_PKEY_get_raw_public_key(k->pkey, pub, &len) == 1);
        a = oidc_b64url_encode(pub, len);
        snprintf(body, sizeof(body), "\"kty\":\"OKP\",\"crv\":\"%s\",\"x\":\"%s\"",
                 id == EVP_PKEY_ED25519 ? "Ed25519" : "Ed448", a);
    }
    head[0] = '\0';
    if (k->kid[0] != '\0')
        snprintf(head, sizeof(head), "\"kid\":\"%s\",", k->kid);
    if (include_alg)
        snprintf(head + strlen(head), sizeof(head) - strlen(head), "\"alg\":\"%s\",", k->alg);
    out = malloc(strlen(head) + strlen(body) + (extra != NULL ? strlen(extra) : 0) + 8);
    CHECK(out != NULL);
    sprintf(out, "{%s%s%s%s}", head, body, extra != NULL ? "," : "", extra != NULL ? extra : "");
    free(a);
    free(b);
    return out;
}

char *tg_jwks_json(struct tg_key *const *keys, size_t n)
{
    size_t i, cap = 64, len;
    char *out = malloc(cap), *jwk;

    CHECK(out != NULL);
    strcpy(out, "{\"keys\":[");
    for (i = 0; i < n; i++) {
        jwk = tg_jwk_json(keys[i], 1, "\"use\":\"sig\"");
        len = strlen(out) + strlen(jwk) + 4;
        if (len > cap) {
            cap = len * 2;
            out = realloc(out, cap);
            CHECK(out != NULL);
        }
        if (i > 0)
            strcat(out, ",");
        strcat(out, jwk);
        free(jwk);
    }
    out = realloc(out, strlen(out) + 4);
    CHECK(out != NULL);
    strcat(out, "]}");
    return out;
}

char *tg_sig_b64(const struct tg_key *k, const char *input, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const char *md = md_of(k->alg);
    unsigned char sig[2048], raw[200];
    size_t slen = sizeof(sig);
    int id = EVP_PKEY_get_base_id(k->pkey);
    char *out;

    CHECK(ctx != NULL);
    CHECK(EVP_DigestSignInit_ex(ctx, &pctx,
                                id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : md, NULL,
                                NULL, k->pkey, NULL) == 1);
    if (k->alg[0] == 'P') {
        CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
        CHECK(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1);
    }
    CHECK(EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)input, len) == 1);
    EVP_MD_CTX_free(ctx);
    if (id == EVP_PKEY_EC) {
        /* DER -> fixed-width r || s */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
        int bits = EVP_PKEY_get_bits(k->pkey);
        size_t half = ((size_t)bits + 7) / 8;
        CHECK(es != NULL);
        CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half) == (int)half);
        CHECK(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half) == (int)half);
        ECDSA_SIG_free(es);
        return oidc_b64url_encode(raw, 2 * half);
    }
    out = oidc_b64url_encode(sig, slen);
    CHECK(out != NULL);
    return out;
}

char *tg_sign(const struct tg_key *k, const char *header_json, const char *claims_json)
{
    char hdr[512], *h, *c, *s, *input, *out;

    if (header_json == NULL) {
        if (k->kid[0] != '\0')
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k->alg,
                     k->kid);
        else
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", k->alg);
        header_json = hdr;
    }
    h = oidc_b64url_encode((const unsigned char *)header_json, strlen(header_json));
    c = oidc_b64url_encode((const unsigned char *)claims_json, strlen(claims_json));
    CHECK(h != NULL && c != NULL);
    input = malloc(strlen(h) + strlen(c) + 2);
    CHECK(input != NULL);
    sprintf(input, "%s.%s", h, c);
    s = tg_sig_b64(k, input, strlen(input));
    out = malloc(strlen(input) + strlen(s) + 2);
    CHECK(out != NULL);
    sprintf(out, "%s.%s", input, s);
    free(h);
    free(c);
    free(s);
    free(input);
    return out;
}
