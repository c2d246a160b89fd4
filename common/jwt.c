/* JWS/JWT verification. The token's own header never chooses how it is verified: the algorithm
 * must be allow-listed, the key must fit it, and the claims that make an ID token meaningful are
 * mandatory. */
#include "config.h"
#include "jwt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "json.h"

#define HEADER_MAX 4096
#define SIG_MAX    2048 /* RSA 16384 bits */

/* The built-in digest objects: nothing to free, so a module that is unloaded (pam_end) leaves
 * nothing behind. The cost of the implicit fetch they imply is paid once per key and header (the
 * header memo keeps an initialised context), not per token. */
static const EVP_MD *alg_md(unsigned alg)
{
    switch (alg) {
    case OIDC_ALG_RS256:
    case OIDC_ALG_PS256:
    case OIDC_ALG_ES256:
        return EVP_sha256();
    case OIDC_ALG_RS384:
    case OIDC_ALG_PS384:
    case OIDC_ALG_ES384:
        return EVP_sha384();
    case OIDC_ALG_RS512:
    case OIDC_ALG_PS512:
    case OIDC_ALG_ES512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

void oidc_token_free(struct oidc_token *tok)
{
    if (tok == NULL)
        return;
    cJSON_Delete(tok->header);
    cJSON_Delete(tok->claims);
    free(tok);
}

/* Splits a compact JWS into its three segments; everything else is refused. */
static int split(const char *jwt, size_t len, size_t seg[3][2], struct oidc_err *err)
{
    const char *d1, *d2;

    if (len > OIDC_TOKEN_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "token is %zu bytes (at most %d are accepted)",
                            len, OIDC_TOKEN_MAX);
    d1 = memchr(jwt, '.', len);
    d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
    if (d1 == NULL || d2 == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE,
                            "token is not a compact JWS (expected three dot-separated parts)");
    if (memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE,
                            "token has more than three parts (JWE and other forms are refused)");
    seg[0][0] = 0;
    seg[0][1] = (size_t)(d1 - jwt);
    seg[1][0] = seg[0][1] + 1;
    seg[1][1] = (size_t)(d2 - jwt) - seg[1][0];
    seg[2][0] = (size_t)(d2 - jwt) + 1;
    seg[2][1] = len - seg[2][0];
    if (seg[0][1] == 0 || seg[1][1] == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE, "token has an empty header or payload");
    return OIDC_OK;
}

/* Decoded JSON up to this size stays on the stack: a typical ID token's claims are well under. */
#define DECODE_STACK 2048

static int decode_json(const char *b64, size_t len, size_t max, const char *what, cJSON **out,
                       struct oidc_err *err)
{
    unsigned char stack[DECODE_STACK], *raw = stack;
    size_t rawlen = 0;
    int r;

    /* decode_buf refuses output over its cap with TOOBIG, like decode does over max. */
    if (len / 4 * 3 + 2 <= sizeof(stack))
        r = oidc_b64url_decode_buf(b64, len, stack, max < sizeof(stack) ? max : sizeof(stack),
                                   &rawlen);
    else
        r = oidc_b64url_decode(b64, len, max, &raw, &rawlen);
    if (r == OIDC_ERR_TOOBIG)
        return OIDC_ERR_SET(err, r, "%s is too large", what);
    if (r != OIDC_OK)
        return OIDC_ERR_SET(err, r == OIDC_ERR_NOMEM ? r : OIDC_ERR_PARSE,
                            "%s is not strict base64url (no padding, whitespace or other "
                            "characters are allowed)",
                            what);
    r = oidc_json_parse_object((const char *)raw, rawlen, what, out, err);
    if (raw == stack)
        oidc_memzero(stack, rawlen);
    else
        oidc_freezero(raw, rawlen + 1);
    return r;
}

/* Header rules: allow-listed alg, no parameters that would let the token choose its own key or
 * change what is signed. */
static int check_header(const cJSON *hdr, unsigned allowed, unsigned *alg_out, const char **kid,
                        struct oidc_err *err)
{
    static const char *const refused[] = {"jwk", "jku", "x5u", "x5c", "b64", "zip", "enc"};
    const char *alg, *c, *typ;
    const cJSON *crit;
    unsigned alg_bit;
    char b[72];
    size_t i;
    int r;

    if (oidc_json_get_string(hdr, "alg", &alg) != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token header has no alg");
    alg_bit = oidc_alg_from_name(alg);
    if (alg_bit == 0) {
        if (strcasecmp(alg, "none") == 0)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "alg 'none' is never accepted");
        if (strncasecmp(alg, "HS", 2) == 0)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "HMAC alg '%.16s' is never accepted",
                                oidc_printable(b, sizeof(b), alg));
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "alg '%.16s' is not supported",
                            oidc_printable(b, sizeof(b), alg));
    }
    if ((alg_bit & allowed) == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "alg '%s' is not in this provider's allowed algorithms", alg);
    r = oidc_json_get_array(hdr, "crit", &crit);
    if (r != OIDC_ERR_NOTFOUND) {
        c = (r == OIDC_OK && cJSON_GetArraySize(crit) > 0 && cJSON_IsString(crit->child))
                ? crit->child->valuestring
                : "?";
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "token header marks '%.32s' as critical, which is not understood",
                            oidc_printable(b, sizeof(b), c));
    }
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (cJSON_GetObjectItemCaseSensitive(hdr, refused[i]) != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                                "token header parameter '%s' is refused (keys come only from the "
                                "provider's JWKS)",
                                refused[i]);
    /* Explicit typing (RFC 8725 §3.11): an access token (at+jwt) or a logout token must not pass
     * as an ID token. Absent or JWT is what ID-token and CI-token issuers send. */
    r = oidc_json_get_string(hdr, "typ", &typ);
    if (r == OIDC_ERR_PARSE ||
        (r == OIDC_OK && strcasecmp(typ, "JWT") != 0 && strcasecmp(typ, "application/jwt") != 0))
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "token type (typ) '%.32s' is not an ID token (JWT); access and logout "
                            "tokens are refused",
                            r == OIDC_OK ? oidc_printable(b, sizeof(b), typ) : "?");
    *kid = NULL;
    r = oidc_json_get_string(hdr, "kid", kid);
    if (r == OIDC_ERR_PARSE)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token header kid is not a string");
    *alg_out = alg_bit;
    return OIDC_OK;
}

static int select_key(const struct oidc_jwks *jwks, unsigned alg, const char *kid,
                      const struct oidc_jwk **out, struct oidc_err *err)
{
    const struct oidc_jwk *found = NULL;
    size_t i, fits = 0, kid_seen = 0;
    char b[72];

    if (jwks == NULL || jwks->n == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_NOKEY, "no signing keys are available");
    for (i = 0; i < jwks->n; i++) {
        const struct oidc_jwk *k = &jwks->keys[i];
        if (kid != NULL) {
            if (k->kid == NULL || strcmp(k->kid, kid) != 0)
                continue;
            kid_seen++;
        }
        if ((k->algs & alg) == 0)
            continue;
        if (found == NULL)
            found = k;
        fits++;
    }
    if (kid != NULL && kid_seen == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_NOKEY, "no key with kid '%.64s' in the provider's JWKS",
                            oidc_printable(b, sizeof(b), kid));
    if (kid != NULL && fits == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "key '%.64s' does not fit alg %s (wrong key type, curve or alg)",
                            oidc_printable(b, sizeof(b), kid), oidc_alg_name(alg));
    if (found == NULL || (kid == NULL && fits != 1))
        return OIDC_ERR_SET(err, OIDC_ERR_NOKEY,
                            "token has no kid and %zu keys of the JWKS fit alg %s (exactly one "
                            "must)",
                            fits, oidc_alg_name(alg));
    *out = found;
    return OIDC_OK;
}

/* Appends one DER INTEGER holding the unsigned big-endian value v. */
static size_t der_uint(unsigned char *out, const unsigned char *v, size_t len)
{
    size_t o = 0;

    while (len > 1 && v[0] == 0) {
        v++;
        len--;
    }
    out[o++] = 0x02;
    out[o++] = (unsigned char)(len + (v[0] & 0x80 ? 1 : 0));
    if (v[0] & 0x80)
        out[o++] = 0x00;
    memcpy(out + o, v, len);
    return o + len;
}

static int is_zero(const unsigned char *v, size_t len)
{
    unsigned char acc = 0;
    size_t i;

    for (i = 0; i < len; i++)
        acc |= v[i];
    return acc == 0;
}

/* Re-encodes a raw r||s ECDSA signature as DER after checking 1 <= r, s <= n - 1 (JWA §3.4). */
static int ecdsa_der(const struct oidc_jwk *k, const unsigned char *sig, size_t len,
                     unsigned char *der, size_t *der_len, struct oidc_err *err)
{
    unsigned char body[2 * (2 + 1 + 66)];
    size_t half = len / 2, n = 0, o = 0;

    if (len != k->sig_len)
        return OIDC_ERR_SET(err, OIDC_ERR_SIGNATURE,
                            "ECDSA signature is %zu bytes but the curve needs exactly %zu", len,
                            k->sig_len);
    /* Fixed-width big-endian values compare like numbers. */
    if (is_zero(sig, half) || is_zero(sig + half, half) || memcmp(sig, k->ec_order, half) >= 0 ||
        memcmp(sig + half, k->ec_order, half) >= 0)
        return OIDC_ERR_SET(err, OIDC_ERR_SIGNATURE,
                            "ECDSA signature value r or s is out of range");
    n = der_uint(body, sig, half);
    n += der_uint(body + n, sig + half, half);
    der[o++] = 0x30;
    if (n >= 0x80)
        der[o++] = 0x81;
    der[o++] = (unsigned char)n;
    memcpy(der + o, body, n);
    *der_len = o + n;
    return OIDC_OK;
}

/* Sets the RSA padding for alg in one EVP_PKEY_CTX_set_params call: PKCS #1 v1.5 for RS*, PSS
 * with MGF1 over the same digest and a salt as long as the digest for PS*. (Each
 * EVP_PKEY_CTX_set_rsa_* helper goes through OpenSSL's legacy control translation, which cost
 * ~3.7k instructions per token for the padding alone.) */
static int set_rsa_padding(EVP_PKEY_CTX *pctx, unsigned alg, const EVP_MD *md)
{
    int pad = RSA_PKCS1_PADDING, saltlen = RSA_PSS_SALTLEN_DIGEST;
    char mgf1[32];
    OSSL_PARAM p[4];
    size_t n = 0;

    if (alg & (OIDC_ALG_PS256 | OIDC_ALG_PS384 | OIDC_ALG_PS512)) {
        pad = RSA_PKCS1_PSS_PADDING;
        if (snprintf(mgf1, sizeof(mgf1), "%s", EVP_MD_get0_name(md)) >= (int)sizeof(mgf1))
            return 0;
        p[n++] = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad);
        p[n++] = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &saltlen);
        p[n++] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, mgf1, 0);
    } else
        p[n++] = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad);
    p[n] = OSSL_PARAM_construct_end();
    return EVP_PKEY_CTX_set_params(pctx, p) > 0;
}

/* Prepares mctx (fresh or reset) to verify alg signatures with k: digest and RSA padding. The
 * header memo keeps one such context per remembered header as a template. */
static int init_verify(EVP_MD_CTX *mctx, const struct oidc_jwk *k, unsigned alg,
                       struct oidc_err *err)
{
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = alg_md(alg);

    if (k->kty != OIDC_KTY_OKP && md == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "digest for %s is unavailable",
                            oidc_alg_name(alg));
    if (EVP_DigestVerifyInit(mctx, &pctx, k->kty == OIDC_KTY_OKP ? NULL : md, NULL, k->pkey) <= 0)
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cannot initialise signature verification");
    if (k->kty == OIDC_KTY_RSA && !set_rsa_padding(pctx, alg, md))
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cannot set RSA padding parameters");
    return OIDC_OK;
}

/* Verifies with mctx, which init_verify prepared for k and alg already when ready is set (a copy
 * of the memo's template) and is prepared here otherwise. */
static int verify_signature(const struct oidc_jwk *k, unsigned alg, EVP_MD_CTX *mctx, int ready,
                            const char *input, size_t input_len, const char *sig_b64,
                            size_t sig_b64_len, struct oidc_err *err)
{
    unsigned char sig[SIG_MAX], der[3 + 2 * (2 + 1 + 66)];
    const unsigned char *vsig = sig;
    size_t sig_len = 0, vlen;
    int r;

    if (sig_b64_len == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_SIGNATURE, "token has an empty signature");
    r = oidc_b64url_decode_buf(sig_b64, sig_b64_len, sig, sizeof(sig), &sig_len);
    if (r != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE, "token signature is not strict base64url");
    vlen = sig_len;
    if (k->kty == OIDC_KTY_RSA && sig_len != (size_t)EVP_PKEY_get_size(k->pkey))
        return OIDC_ERR_SET(err, OIDC_ERR_SIGNATURE,
                            "RSA signature is %zu bytes but the key needs exactly %d", sig_len,
                            EVP_PKEY_get_size(k->pkey));
    if (k->kty == OIDC_KTY_EC) {
        if ((r = ecdsa_der(k, sig, sig_len, der, &vlen, err)) != OIDC_OK)
            return r;
        vsig = der;
    }
    if (!ready && (r = init_verify(mctx, k, alg, err)) != OIDC_OK)
        return r;
    if (EVP_DigestVerify(mctx, vsig, vlen, (const unsigned char *)input, input_len) != 1)
        return OIDC_ERR_SET(err, OIDC_ERR_SIGNATURE,
                            "token signature does not verify with key '%.64s'",
                            k->kid != NULL ? k->kid : "(no kid)");
    return OIDC_OK;
}

/* After a token verified with a header the memo does not know yet: remember the header with a
 * verification context template for its key and alg. Best effort; failures only cost speed. */
static void memo_remember(const struct oidc_jwks *jwks, const char *seg, size_t len,
                          const struct oidc_token *tok, const struct oidc_jwk *key)
{
    EVP_MD_CTX *tmpl = EVP_MD_CTX_new();

    if (tmpl != NULL && init_verify(tmpl, key, tok->alg, NULL) != OIDC_OK) {
        EVP_MD_CTX_free(tmpl);
        tmpl = NULL;
    }
    oidc_jwks_memo_add(jwks, seg, len, tok->alg, key, tok->header, tmpl); /* takes tmpl */
}

/* A NumericDate: a finite number within [0, OIDC_TIME_MAX]; fractions are truncated. v is the
 * member named name, or NULL when the token has none. */
static int get_time(const cJSON *v, const char *name, int required, int64_t *out,
                    struct oidc_err *err)
{
    if (v == NULL) {
        if (required)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token has no '%s' claim (it is required)",
                                name);
        *out = 0;
        return OIDC_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > (double)OIDC_TIME_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "token claim '%s' is not a NumericDate (seconds since 1970, up to "
                            "year 9999)",
                            name);
    *out = (int64_t)v->valuedouble;
    return OIDC_OK;
}

/* The claims check_claims reads, found in one walk over the members instead of a lookup (a walk
 * with strcmp) per claim. The parser refuses duplicate names, so each is found at most once. */
struct claim_refs {
    const cJSON *iss, *sub, *aud, *azp, *exp, *iat, *nbf, *nonce, *acr, *auth_time, *jti;
};

static void collect_claims(const cJSON *claims, struct claim_refs *c)
{
    const cJSON *m;
    const char *n;

    memset(c, 0, sizeof(*c));
    for (m = claims->child; m != NULL; m = m->next) {
        if ((n = m->string) == NULL)
            continue;
        switch (n[0]) {
        case 'a':
            if (strcmp(n, "aud") == 0)
                c->aud = m;
            else if (strcmp(n, "azp") == 0)
                c->azp = m;
            else if (strcmp(n, "acr") == 0)
                c->acr = m;
            else if (strcmp(n, "auth_time") == 0)
                c->auth_time = m;
            break;
        case 'e':
            if (strcmp(n, "exp") == 0)
                c->exp = m;
            break;
        case 'i':
            if (strcmp(n, "iss") == 0)
                c->iss = m;
            else if (strcmp(n, "iat") == 0)
                c->iat = m;
            break;
        case 'j':
            if (strcmp(n, "jti") == 0)
                c->jti = m;
            break;
        case 'n':
            if (strcmp(n, "nbf") == 0)
                c->nbf = m;
            else if (strcmp(n, "nonce") == 0)
                c->nonce = m;
            break;
        case 's':
            if (strcmp(n, "sub") == 0)
                c->sub = m;
            break;
        default:
            break;
        }
    }
}

/* oidc_json_get_string's contract on a member already found: 0, NOTFOUND (absent or null) or
 * PARSE (another type). */
static int str_of(const cJSON *v, const char **out)
{
    if (v == NULL || cJSON_IsNull(v))
        return OIDC_ERR_NOTFOUND;
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return OIDC_ERR_PARSE;
    *out = v->valuestring;
    return OIDC_OK;
}

static void describe_aud(const cJSON *aud, char *buf, size_t cap)
{
    const cJSON *it;
    size_t n = 0;

    buf[0] = '\0';
    if (cJSON_IsString(aud)) {
        snprintf(buf, cap, "'%.96s'", aud->valuestring);
        return;
    }
    cJSON_ArrayForEach(it, aud)
    {
        if (n + 4 >= cap)
            break;
        n += (size_t)snprintf(buf + n, cap - n, "%s'%.48s'", n > 0 ? ", " : "",
                              cJSON_IsString(it) ? it->valuestring : "?");
    }
}

/* The entries of an aud array other than this host's audience (which may be NULL). */
static int other_audiences(const cJSON *aud, const char *host_audience)
{
    const cJSON *it;
    int n = 0;

    cJSON_ArrayForEach(it, aud)
    {
        if (host_audience == NULL || !cJSON_IsString(it) || it->valuestring == NULL ||
            strcmp(it->valuestring, host_audience) != 0)
            n++;
    }
    return n;
}

/* exp and iat required, nbf honoured, all within the leeway; the optional max_token_age. */
static int check_times(struct oidc_token *tok, const struct claim_refs *c,
                       const struct oidc_verify_opts *o, struct oidc_err *err)
{
    int r;

    if ((r = get_time(c->exp, "exp", 1, &tok->exp, err)) != OIDC_OK ||
        (r = get_time(c->iat, "iat", 1, &tok->iat, err)) != OIDC_OK ||
        (r = get_time(c->nbf, "nbf", 0, &tok->nbf, err)) != OIDC_OK)
        return r;
    if (o->now >= tok->exp + o->leeway)
        return OIDC_ERR_SET(
            err, OIDC_ERR_EXPIRED, "token expired %lld s ago (exp %lld, now %lld, leeway %d s)",
            (long long)(o->now - tok->exp), (long long)tok->exp, (long long)o->now, o->leeway);
    if (tok->iat > o->now + o->leeway)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "token was issued %lld s in the future (iat %lld, now %lld, leeway %d "
                            "s): check the clocks",
                            (long long)(tok->iat - o->now), (long long)tok->iat, (long long)o->now,
                            o->leeway);
    if (tok->nbf != 0 && o->now + o->leeway < tok->nbf)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "token is not valid before %lld (now %lld, leeway %d s)",
                            (long long)tok->nbf, (long long)o->now, o->leeway);
    if (o->max_token_age > 0 && o->now - tok->iat > o->max_token_age + o->leeway)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token is %lld s old but max_token_age is %lld s",
                            (long long)(o->now - tok->iat), (long long)o->max_token_age);
    return OIDC_OK;
}

static int check_claims(struct oidc_token *tok, const struct oidc_verify_opts *o,
                        struct oidc_err *err)
{
    const cJSON *aud, *it;
    struct claim_refs c;
    const char *s;
    char desc[200], b[200];
    size_t i;
    int r, ok = 0;

    collect_claims(tok->claims, &c);

    /* iss: exact, byte for byte. */
    if ((r = str_of(c.iss, &tok->iss)) != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token has no string 'iss' claim");
    if (strcmp(tok->iss, o->issuer) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "issuer in token is '%.96s' but the configuration says '%.96s'",
                            oidc_printable(b, sizeof(b), tok->iss), o->issuer);
    /* sub: present and non-empty. */
    if (str_of(c.sub, &tok->sub) != OIDC_OK || tok->sub[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token has no non-empty string 'sub' claim");
    /* aud: a string or an array of strings containing an accepted audience. */
    aud = c.aud;
    if (aud == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token has no 'aud' claim (it is required)");
    if (cJSON_IsArray(aud)) {
        cJSON_ArrayForEach(it, aud)
        {
            if (!cJSON_IsString(it))
                return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token 'aud' array holds a non-string");
        }
    } else if (!cJSON_IsString(aud))
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token 'aud' is neither a string nor an array");
    for (i = 0; i < o->n_audiences && !ok; i++)
        ok = oidc_json_string_or_array_has(aud, o->audiences[i]);
    if (!ok) {
        describe_aud(aud, desc, sizeof(desc));
        return OIDC_ERR_SET(
            err, OIDC_ERR_TOKEN, "audience in token is %s but the configuration accepts '%.64s'%s",
            oidc_printable(b, sizeof(b), desc), o->n_audiences > 0 ? o->audiences[0] : "",
            o->n_audiences > 1 ? " (and others)" : "");
    }
    /* host_audience: this host's audience as well, so a token minted for one host is refused on
     * every other (replay protection alone is per host). */
    if (o->host_audience != NULL && !oidc_json_string_or_array_has(aud, o->host_audience)) {
        describe_aud(aud, desc, sizeof(desc));
        /* the expected audience first: a long aud is what the 256-byte message cuts */
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "this host requires audience '%.128s' (host_audience), but the "
                            "token's audience is %s: it was not minted for this host",
                            o->host_audience, oidc_printable(b, sizeof(b), desc));
    }
    /* azp: when present it must be this client; with several audiences it must be present, or a
     * token issued to another party that merely lists us would pass (OIDC Core §3.1.3.7). This
     * host's own audience names no other party, so it is not counted. */
    r = str_of(c.azp, &s);
    if (r == OIDC_ERR_PARSE)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token 'azp' is not a string");
    if (r == OIDC_ERR_NOTFOUND && o->client_id != NULL && cJSON_IsArray(aud) &&
        other_audiences(aud, o->host_audience) > 1)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "token has several audiences but no authorized party (azp) claim");
    if (r == OIDC_OK && o->client_id != NULL && strcmp(s, o->client_id) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "authorized party (azp) in token is '%.64s' but the client is '%.64s'",
                            oidc_printable(b, sizeof(b), s), o->client_id);
    /* Times. */
    if ((r = check_times(tok, &c, o, err)) != OIDC_OK)
        return r;
    /* Optional requirements. */
    if (o->nonce != NULL) {
        size_t nl = strlen(o->nonce);
        if (str_of(c.nonce, &s) != OIDC_OK)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                                "token has no 'nonce' claim but one is "
                                "required");
        if (strlen(s) != nl || CRYPTO_memcmp(s, o->nonce, nl) != 0)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token nonce does not match");
    }
    if (o->acr != NULL) {
        if (str_of(c.acr, &s) != OIDC_OK)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                                "token has no 'acr' claim but '%.64s' is "
                                "required",
                                o->acr);
        if (strcmp(s, o->acr) != 0)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                                "acr in token is '%.64s' but the configuration requires '%.64s'",
                                oidc_printable(b, sizeof(b), s), o->acr);
    }
    if (o->require_auth_time) {
        int64_t at;
        if (c.auth_time == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token has no 'auth_time' claim");
        if ((r = get_time(c.auth_time, "auth_time", 1, &at, err)) != OIDC_OK)
            return r;
    }
    tok->jti = NULL;
    r = str_of(c.jti, &tok->jti);
    if (r == OIDC_ERR_PARSE)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "token 'jti' is not a string");
    return OIDC_OK;
}

int oidc_token_verify(const char *jwt, size_t len, const struct oidc_jwks *jwks,
                      const struct oidc_verify_opts *opts, struct oidc_token **out,
                      struct oidc_err *err)
{
    struct oidc_token *tok = NULL;
    const struct oidc_jwk *key = NULL;
    struct oidc_jwks_memo_hit hit;
    EVP_MD_CTX *mctx = NULL;
    size_t seg[3][2];
    unsigned allowed;
    int r, memo_hit;

    if (jwt == NULL || opts == NULL || out == NULL || opts->issuer == NULL ||
        opts->n_audiences == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "verification needs an issuer and an audience");
    if (opts->leeway < 0 || opts->leeway > OIDC_LEEWAY_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "leeway %d s is outside 0..%d", opts->leeway,
                            OIDC_LEEWAY_MAX);
    allowed = opts->algs != 0 ? opts->algs : OIDC_ALGS_DEFAULT;
    if ((r = split(jwt, len, seg, err)) != OIDC_OK)
        return r;
    if ((tok = calloc(1, sizeof(*tok))) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    if ((mctx = EVP_MD_CTX_new()) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory verifying a signature");
        goto out;
    }
    /* A header segment this key set has seen on a verified token passed check_header and
     * select_key then; of their inputs only the allow-list can differ between calls. */
    memo_hit = oidc_jwks_memo_find(jwks, jwt, seg[0][1], mctx, &hit);
    if (memo_hit) {
        tok->alg = hit.alg;
        key = hit.key;
        if ((tok->alg & allowed) == 0) {
            r = OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                             "alg '%s' is not in this provider's allowed algorithms",
                             oidc_alg_name(tok->alg));
            goto out;
        }
        if ((tok->header = cJSON_Duplicate(hit.header, 1)) == NULL) {
            r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
            goto out;
        }
        tok->kid = NULL;
        (void)oidc_json_get_string(tok->header, "kid", &tok->kid);
    } else {
        if ((r = decode_json(jwt, seg[0][1], HEADER_MAX, "token header", &tok->header, err)) !=
            OIDC_OK)
            goto out;
        if ((r = check_header(tok->header, allowed, &tok->alg, &tok->kid, err)) != OIDC_OK)
            goto out;
        if ((r = select_key(jwks, tok->alg, tok->kid, &key, err)) != OIDC_OK)
            goto out;
    }
    /* The payload is parsed only after its signature is known to be good. */
    if ((r = verify_signature(key, tok->alg, mctx, memo_hit && hit.ctx_ready, jwt,
                              seg[1][0] + seg[1][1], jwt + seg[2][0], seg[2][1], err)) != OIDC_OK)
        goto out;
    if (!memo_hit)
        memo_remember(jwks, jwt, seg[0][1], tok, key);
    if ((r = decode_json(jwt + seg[1][0], seg[1][1], OIDC_TOKEN_MAX, "token claims", &tok->claims,
                         err)) != OIDC_OK)
        goto out;
    if ((r = check_claims(tok, opts, err)) != OIDC_OK)
        goto out;
    *out = tok;
    tok = NULL; /* transferred */
    r = OIDC_OK;
out:
    EVP_MD_CTX_free(mctx);
    oidc_token_free(tok);
    return r;
}

int oidc_token_decode_unverified(const char *jwt, size_t len, struct oidc_token **out,
                                 struct oidc_err *err)
{
    struct oidc_token *tok = NULL;
    size_t seg[3][2];
    int r;

    if ((r = split(jwt, len, seg, err)) != OIDC_OK)
        return r;
    if ((tok = calloc(1, sizeof(*tok))) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    if ((r = decode_json(jwt, seg[0][1], HEADER_MAX, "token header", &tok->header, err)) !=
            OIDC_OK ||
        (r = decode_json(jwt + seg[1][0], seg[1][1], OIDC_TOKEN_MAX, "token claims", &tok->claims,
                         err)) != OIDC_OK)
        goto out;
    (void)oidc_json_get_string(tok->header, "kid", &tok->kid);
    (void)oidc_json_get_string(tok->claims, "iss", &tok->iss);
    (void)oidc_json_get_string(tok->claims, "sub", &tok->sub);
    (void)oidc_json_get_string(tok->claims, "jti", &tok->jti);
    *out = tok;
    tok = NULL; /* transferred */
out:
    oidc_token_free(tok);
    return r;
}
