/* JWS/JWT verification: every rule has a named negative test next to a positive one. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rsa.h>

#include "b64.h"
#include "jwk.h"
#include "jwt.h"
#include "tokgen.h"

#define ISS "https://idp.example.test"
#define AUD "client-1"
#define NOW 1700000000LL

static struct tg_key *rs, *es, *ed, *ps, *es384, *es512, *ed448, *rs_other;
static struct oidc_jwks *jwks; /* rs, es, ed, ps, es384, es512, ed448 */

static struct oidc_jwks *parse_jwks(const char *json)
{
    struct oidc_jwks *set = NULL;
    struct oidc_err err = {0};
    int r = oidc_jwks_parse(json, strlen(json), &set, &err);
    if (r != OIDC_OK)
        fail_msg("JWKS parse failed: %s", err.msg);
    return set;
}

static int group_setup(void **state)
{
    struct tg_key *all[7];
    char *json;

    (void)state;
    rs = tg_key_new("RS256", "rs");
    es = tg_key_new("ES256", "es");
    ed = tg_key_new("EdDSA", "ed");
    ps = tg_key_new("PS256", "ps");
    es384 = tg_key_new("ES384", "es384");
    es512 = tg_key_new("ES512", "es512");
    ed448 = tg_key_new("EdDSA-448", "ed448");
    rs_other = tg_key_new("RS256", "rs");
    all[0] = rs, all[1] = es, all[2] = ed, all[3] = ps, all[4] = es384, all[5] = es512;
    all[6] = ed448;
    json = tg_jwks_json(all, 7);
    jwks = parse_jwks(json);
    free(json);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    oidc_jwks_free(jwks);
    tg_key_free(rs), tg_key_free(es), tg_key_free(ed), tg_key_free(ps);
    tg_key_free(es384), tg_key_free(es512), tg_key_free(ed448), tg_key_free(rs_other);
    return 0;
}

static const char *const auds[] = {AUD};

static struct oidc_verify_opts opts_default(void)
{
    struct oidc_verify_opts o = {0};
    o.issuer = ISS;
    o.audiences = auds;
    o.n_audiences = 1;
    o.client_id = AUD;
    o.now = NOW;
    o.leeway = 60;
    return o;
}

/* Standard valid claims with printf-style extra members appended. */
static char *claims(const char *extra)
{
    static char buf[OIDC_TOKEN_MAX + 1024];
    snprintf(buf, sizeof(buf),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"exp\":%lld,"
             "\"iat\":%lld%s%s}",
             NOW + 300, NOW - 10, extra != NULL ? "," : "", extra != NULL ? extra : "");
    return buf;
}

static int verify_with(const char *tok, const struct oidc_jwks *set,
                       const struct oidc_verify_opts *o, struct oidc_err *err)
{
    struct oidc_token *t = NULL;
    int r;

    memset(err, 0, sizeof(*err));
    r = oidc_token_verify(tok, strlen(tok), set, o, &t, err);
    if (r == OIDC_OK) {
        assert_non_null(t);
        assert_string_equal(t->sub, "user-1");
    } else
        assert_null(t);
    oidc_token_free(t);
    return r;
}

static int verify(const char *tok, struct oidc_err *err)
{
    struct oidc_verify_opts o = opts_default();
    return verify_with(tok, jwks, &o, err);
}

/* Signs with key k, an optional custom header, and claims; verifies with default options. */
static int sign_verify(const struct tg_key *k, const char *hdr, const char *cl, struct oidc_err *e)
{
    char *tok = tg_sign(k, hdr, cl);
    int r = verify(tok, e);
    free(tok);
    return r;
}

#define assert_msg_has(err, s)                                   \
    do {                                                         \
        if (strstr((err).msg, (s)) == NULL)                      \
            fail_msg("message '%s' lacks '%s'", (err).msg, (s)); \
    } while (0)

/* ---------------------------------------------------------------- positive paths */

static void test_every_algorithm_verifies(void **state)
{
    const struct tg_key *keys[] = {rs, es, ed, ps, es384, es512, ed448};
    struct oidc_err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int r = sign_verify(keys[i], NULL, claims(NULL), &err);
        if (r != OIDC_OK)
            fail_msg("%s (%s): %s", keys[i]->alg, keys[i]->kid, err.msg);
    }
}

static void test_all_rsa_digests_verify(void **state)
{
    const char *algs[] = {"RS384", "RS512", "PS384", "PS512"};
    struct oidc_err err;
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        struct tg_key *k = tg_key_new(algs[i], "k");
        struct tg_key *one[1] = {k};
        char *json = tg_jwks_json(one, 1), *tok = tg_sign(k, NULL, claims(NULL));
        struct oidc_jwks *set = parse_jwks(json);
        struct oidc_verify_opts o = opts_default();
        if (verify_with(tok, set, &o, &err) != OIDC_OK)
            fail_msg("%s: %s", algs[i], err.msg);
        oidc_jwks_free(set);
        free(json), free(tok);
        tg_key_free(k);
    }
}

static void test_aud_array_with_client_and_azp(void **state)
{
    struct oidc_err err;
    char cl[512];

    (void)state;
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":[\"other\",\"" AUD "\"],"
             "\"azp\":\"" AUD "\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_OK);
}

static void test_no_kid_accepted_when_exactly_one_key_fits(void **state)
{
    struct oidc_err err;
    /* Only one EdDSA Ed25519 key... but ed448 is EdDSA too: use ES384, unique in the set. */
    (void)state;
    assert_int_equal(sign_verify(es384, "{\"alg\":\"ES384\"}", claims(NULL), &err), OIDC_OK);
}

static void test_fractional_times_accepted(void **state)
{
    struct oidc_err err;
    char cl[512];

    (void)state;
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"exp\":%lld.5,"
             "\"iat\":%lld.25}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_OK);
}

/* ---------------------------------------------------------------- serialization */

static void test_reject_not_three_segments(void **state)
{
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims(NULL)), *dot = strrchr(tok, '.'), buf[4096];

    (void)state;
    *dot = '\0';
    assert_int_equal(verify(tok, &err), OIDC_ERR_PARSE); /* two segments */
    assert_msg_has(err, "three");
    *dot = '.';
    snprintf(buf, sizeof(buf), "%s.AAAA.BBBB", tok); /* five segments: JWE shape */
    assert_int_equal(verify(buf, &err), OIDC_ERR_PARSE);
    assert_msg_has(err, "JWE");
    free(tok);
}

static void test_reject_base64_padding(void **state)
{
    struct oidc_err err;
    char hdr[] = "{\"alg\":\"RS256\",\"kid\":\"rs\"}"; /* 27 bytes: encodes with padding */
    char *h = oidc_b64url_encode((unsigned char *)hdr, strlen(hdr)),
         *tok = tg_sign(rs, hdr, claims(NULL));
    char buf[8192];

    (void)state;
    assert_int_equal(verify(tok, &err), OIDC_OK);
    snprintf(buf, sizeof(buf), "%s=%s", h, strchr(tok, '.'));
    assert_int_equal(verify(buf, &err), OIDC_ERR_PARSE);
    assert_msg_has(err, "base64url");
    free(h), free(tok);
}

static void test_reject_whitespace_and_foreign_characters(void **state)
{
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims(NULL));
    size_t len = strlen(tok);
    char *buf = malloc(len + 2);
    const char bad[] = {' ', '\n', '+', '/', '=', '\0'};
    size_t i;

    (void)state;
    for (i = 0; bad[i] != '\0'; i++) {
        /* insert the character inside the payload */
        size_t at = (size_t)(strchr(tok, '.') - tok) + 5;
        memcpy(buf, tok, at);
        buf[at] = bad[i];
        memcpy(buf + at + 1, tok + at, len - at + 1);
        assert_int_not_equal(verify(buf, &err), OIDC_OK);
    }
    /* and inside the signature */
    memcpy(buf, tok, len + 1);
    buf[len - 3] = '+';
    assert_int_equal(verify(buf, &err), OIDC_ERR_PARSE);
    free(buf), free(tok);
}

static void test_reject_oversized_token(void **state)
{
    struct oidc_err err;
    char *big = malloc(OIDC_TOKEN_MAX + 64), *tok;
    size_t n;

    (void)state;
    n = (size_t)snprintf(big, OIDC_TOKEN_MAX + 64, "\"pad\":\"");
    memset(big + n, 'a', OIDC_TOKEN_MAX);
    strcpy(big + n + OIDC_TOKEN_MAX - 64, "\"");
    tok = tg_sign(rs, NULL, claims(big));
    assert_true(strlen(tok) > OIDC_TOKEN_MAX);
    assert_int_equal(verify(tok, &err), OIDC_ERR_TOOBIG);
    free(tok), free(big);
}

static void test_reject_deep_json(void **state)
{
    struct oidc_err err;
    char deep[256] = "\"x\":", *tok;
    int i;

    (void)state;
    for (i = 0; i < 40; i++)
        strcat(deep, "[");
    for (i = 0; i < 40; i++)
        strcat(deep, "]");
    tok = tg_sign(rs, NULL, claims(deep));
    assert_int_equal(verify(tok, &err), OIDC_ERR_TOOBIG);
    assert_msg_has(err, "nested");
    free(tok);
}

static void test_reject_duplicate_claim(void **state)
{
    struct oidc_err err;

    (void)state;
    /* a second "sub" could smuggle another identity past a parser that keeps the last one */
    assert_int_equal(sign_verify(rs, NULL, claims("\"sub\":\"admin\""), &err), OIDC_ERR_PARSE);
    assert_msg_has(err, "duplicate member \"sub\"");
}

static void test_reject_duplicate_header_member(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(
        sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rs\",\"alg\":\"none\"}", claims(NULL), &err),
        OIDC_ERR_PARSE);
    assert_msg_has(err, "duplicate");
}

static void test_reject_header_and_claims_not_objects(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(sign_verify(rs, "[\"RS256\"]", claims(NULL), &err), OIDC_ERR_PARSE);
    assert_msg_has(err, "not a JSON object");
    assert_int_equal(sign_verify(rs, NULL, "[1,2]", &err), OIDC_ERR_PARSE);
    assert_int_equal(sign_verify(rs, NULL, "\"a string\"", &err), OIDC_ERR_PARSE);
    assert_int_equal(sign_verify(rs, NULL, "{\"iss\":1} trailing", &err), OIDC_ERR_PARSE);
}

/* ---------------------------------------------------------------- algorithms and header */

static void test_reject_alg_none_any_spelling(void **state)
{
    const char *spellings[] = {"none", "None", "NONE", "nOnE"};
    struct oidc_err err;
    char hdr[64], buf[4096], *h, *c;
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", spellings[i]);
        h = oidc_b64url_encode((unsigned char *)hdr, strlen(hdr));
        c = oidc_b64url_encode((unsigned char *)claims(NULL), strlen(claims(NULL)));
        snprintf(buf, sizeof(buf), "%s.%s.", h, c); /* unsecured JWS: empty signature */
        assert_int_not_equal(verify(buf, &err), OIDC_OK);
        snprintf(buf, sizeof(buf), "%s.%s.AAAA", h, c);
        assert_int_equal(verify(buf, &err), OIDC_ERR_TOKEN);
        assert_msg_has(err, "never accepted");
        free(h), free(c);
    }
}

static void test_reject_hmac_key_confusion(void **state)
{
    /* HS256 "signed" with the RSA public key as the secret: must be refused before any key use */
    struct oidc_err err;
    const char *algs[] = {"HS256", "HS384", "HS512", "hs256"};
    char hdr[64], buf[4096], *h, *c;
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"rs\"}", algs[i]);
        h = oidc_b64url_encode((unsigned char *)hdr, strlen(hdr));
        c = oidc_b64url_encode((unsigned char *)claims(NULL), strlen(claims(NULL)));
        snprintf(buf, sizeof(buf), "%s.%s.c2lnbmF0dXJl", h, c);
        assert_int_equal(verify(buf, &err), OIDC_ERR_TOKEN);
        assert_msg_has(err, "HMAC");
        free(h), free(c);
    }
}

static void test_reject_alg_outside_allow_list(void **state)
{
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok = tg_sign(es, NULL, claims(NULL));

    (void)state;
    o.algs = OIDC_ALG_RS256; /* provider pinned to RS256: an ES256 token is a downgrade/switch */
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "not in this provider's allowed algorithms");
    o.algs = OIDC_ALG_ES256;
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_OK);
    free(tok);
}

static void test_reject_unknown_alg(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(sign_verify(rs, "{\"alg\":\"RS1\",\"kid\":\"rs\"}", claims(NULL), &err),
                     OIDC_ERR_TOKEN);
    assert_int_equal(sign_verify(rs, "{\"kid\":\"rs\"}", claims(NULL), &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "no alg");
}

static void test_reject_crit(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(sign_verify(rs,
                                 "{\"alg\":\"RS256\",\"kid\":\"rs\",\"crit\":[\"exp2\"],"
                                 "\"exp2\":1}",
                                 claims(NULL), &err),
                     OIDC_ERR_TOKEN);
    assert_msg_has(err, "'exp2' as critical");
}

static void test_reject_b64_header(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(
        sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rs\",\"b64\":false}", claims(NULL), &err),
        OIDC_ERR_TOKEN);
    assert_msg_has(err, "'b64'");
}

static void test_reject_embedded_key_headers(void **state)
{
    const char *params[] = {"\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}",
                            "\"jku\":\"https://evil.example/jwks\"",
                            "\"x5u\":\"https://evil.example/cert\"", "\"x5c\":[\"MIIB\"]"};
    const char *names[] = {"'jwk'", "'jku'", "'x5u'", "'x5c'"};
    struct oidc_err err;
    char hdr[256];
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"rs\",%s}", params[i]);
        assert_int_equal(sign_verify(rs, hdr, claims(NULL), &err), OIDC_ERR_TOKEN);
        assert_msg_has(err, names[i]);
    }
}

/* ---------------------------------------------------------------- key selection */

static void test_unknown_kid_is_nokey(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rotated\"}", claims(NULL), &err),
                     OIDC_ERR_NOKEY);
    assert_msg_has(err, "no key with kid 'rotated'");
}

static void test_no_kid_ambiguous_is_refused(void **state)
{
    struct oidc_verify_opts o = opts_default();
    struct tg_key *two[2] = {rs, rs_other};
    char *json = tg_jwks_json(two, 2), *tok = tg_sign(rs, "{\"alg\":\"RS256\"}", claims(NULL));
    struct oidc_jwks *set = parse_jwks(json);
    struct oidc_err err;

    (void)state;
    /* two RS256 keys: a kid-less token is ambiguous and must not be tried against each */
    assert_int_equal(verify_with(tok, set, &o, &err), OIDC_ERR_NOKEY);
    assert_msg_has(err, "exactly one");
    oidc_jwks_free(set);
    free(json), free(tok);
}

static void test_kty_must_fit_alg(void **state)
{
    struct oidc_err err;
    char *tok, *swapped;

    (void)state;
    /* ES256 header naming the RSA key */
    assert_int_equal(sign_verify(es, "{\"alg\":\"ES256\",\"kid\":\"rs\"}", claims(NULL), &err),
                     OIDC_ERR_TOKEN);
    assert_msg_has(err, "does not fit alg ES256");
    /* RS256 header naming the EdDSA key */
    tok = tg_sign(rs, "{\"alg\":\"RS256\",\"kid\":\"ed\"}", claims(NULL));
    assert_int_equal(verify(tok, &err), OIDC_ERR_TOKEN);
    swapped = tok;
    free(swapped);
}

static void test_crv_must_fit_alg(void **state)
{
    struct oidc_err err;

    (void)state;
    /* ES384 header naming the P-256 key */
    assert_int_equal(sign_verify(es384, "{\"alg\":\"ES384\",\"kid\":\"es\"}", claims(NULL), &err),
                     OIDC_ERR_TOKEN);
    assert_msg_has(err, "does not fit");
}

static void test_jwk_alg_must_equal_header_alg(void **state)
{
    struct oidc_err err;
    struct oidc_verify_opts o = opts_default();
    struct tg_key *k = tg_key_new("RS256", "k1");
    char *jwk = tg_jwk_json(k, 0, "\"alg\":\"RS512\""), json[8192], *tok;
    struct oidc_jwks *set;

    (void)state;
    snprintf(json, sizeof(json), "{\"keys\":[%s]}", jwk);
    set = parse_jwks(json);
    tok = tg_sign(k, NULL, claims(NULL)); /* RS256 */
    assert_int_equal(verify_with(tok, set, &o, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "does not fit alg RS256");
    oidc_jwks_free(set);
    free(jwk), free(tok);
    tg_key_free(k);
}

static void test_jwk_use_must_be_sig(void **state)
{
    struct oidc_err err;
    struct oidc_jwks *set = NULL;
    struct tg_key *k = tg_key_new("RS256", "k1");
    char *jwk = tg_jwk_json(k, 1, "\"use\":\"enc\""), json[8192];

    (void)state;
    snprintf(json, sizeof(json), "{\"keys\":[%s]}", jwk);
    assert_int_equal(oidc_jwks_parse(json, strlen(json), &set, &err), OIDC_ERR_NOKEY);
    assert_msg_has(err, "use is not \"sig\"");
    assert_null(set);
    free(jwk);
    tg_key_free(k);
}

static void test_small_rsa_and_oct_keys_never_used(void **state)
{
    struct oidc_err err;
    struct oidc_jwks *set = NULL;
    struct tg_key *small = tg_key_new("RS256-1024", "small");
    char *jwk = tg_jwk_json(small, 1, NULL), json[8192], *tok;
    struct oidc_verify_opts o = opts_default();

    (void)state;
    snprintf(json, sizeof(json), "{\"keys\":[%s]}", jwk);
    assert_int_equal(oidc_jwks_parse(json, strlen(json), &set, &err), OIDC_ERR_NOKEY);
    assert_msg_has(err, "2048");
    snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"}]}");
    assert_int_equal(oidc_jwks_parse(json, strlen(json), &set, &err), OIDC_ERR_NOKEY);
    assert_msg_has(err, "oct");
    /* with a good key beside them, the bad ones are skipped, not fatal */
    {
        char *good = tg_jwk_json(rs, 1, NULL);
        snprintf(
            json, sizeof(json),
            "{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},{\"kty\":\"EC\",\"crv\":\"P-256\","
            "\"x\":\"AAAA\",\"y\":\"AAAA\"},{\"kty\":\"RSA\"},%s]}",
            jwk, good);
        set = parse_jwks(json);
        assert_int_equal(set->n, 1);
        assert_int_equal(set->n_skipped, 4);
        tok = tg_sign(rs, NULL, claims(NULL));
        assert_int_equal(verify_with(tok, set, &o, &err), OIDC_OK);
        free(tok);
        tok = tg_sign(small, NULL, claims(NULL));
        assert_int_equal(verify_with(tok, set, &o, &err), OIDC_ERR_NOKEY);
        free(tok), free(good);
        oidc_jwks_free(set);
    }
    free(jwk);
    tg_key_free(small);
}

static void test_ec_point_not_on_curve_refused(void **state)
{
    struct oidc_err err;
    struct oidc_jwks *set = NULL;
    /* x = 1, y = 1 is not on P-256 */
    const char *json = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                       "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
                       "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}";

    (void)state;
    assert_int_equal(oidc_jwks_parse(json, strlen(json), &set, &err), OIDC_ERR_NOKEY);
    assert_msg_has(err, "not a valid point");
}

/* ---------------------------------------------------------------- signatures */

static char *with_signature(const char *tok, const unsigned char *sig, size_t len)
{
    char *s = oidc_b64url_encode(sig, len), *out = malloc(strlen(tok) + strlen(s) + 2);
    size_t head = (size_t)(strrchr(tok, '.') - tok);
    memcpy(out, tok, head + 1);
    strcpy(out + head + 1, s);
    free(s);
    return out;
}

static void test_reject_tampered_payload(void **state)
{
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims(NULL)), *forged;
    char *other = tg_sign(rs, NULL, claims("\"admin\":true"));
    size_t t1 = (size_t)(strrchr(tok, '.') - tok), t2 = (size_t)(strrchr(other, '.') - other);

    (void)state;
    /* other's header+payload with tok's signature */
    forged = malloc(t2 + strlen(tok) - t1 + 1);
    memcpy(forged, other, t2);
    strcpy(forged + t2, tok + t1);
    assert_int_equal(verify(forged, &err), OIDC_ERR_SIGNATURE);
    assert_msg_has(err, "does not verify");
    free(tok), free(other), free(forged);
}

static void test_reject_signature_by_unpublished_key(void **state)
{
    struct oidc_err err;

    (void)state;
    /* same kid as the published key, different key material */
    assert_int_equal(sign_verify(rs_other, NULL, claims(NULL), &err), OIDC_ERR_SIGNATURE);
}

static void test_reject_rsa_signature_wrong_length(void **state)
{
    struct oidc_err err;
    unsigned char sig[255];
    char *tok = tg_sign(rs, NULL, claims(NULL)), *bad;

    (void)state;
    memset(sig, 0x11, sizeof(sig));
    bad = with_signature(tok, sig, sizeof(sig));
    assert_int_equal(verify(bad, &err), OIDC_ERR_SIGNATURE);
    assert_msg_has(err, "exactly 256");
    free(tok), free(bad);
}

static void test_reject_ecdsa_signature_wrong_length(void **state)
{
    struct oidc_err err;
    unsigned char raw[200], der[80];
    size_t rawlen = 0;
    char *tok = tg_sign(es, NULL, claims(NULL)), *bad;

    (void)state;
    assert_int_equal(oidc_b64url_decode_buf(strrchr(tok, '.') + 1, strlen(strrchr(tok, '.') + 1),
                                            raw, sizeof(raw), &rawlen),
                     OIDC_OK);
    assert_int_equal(rawlen, 64);
    bad = with_signature(tok, raw, 63);
    assert_int_equal(verify(bad, &err), OIDC_ERR_SIGNATURE);
    assert_msg_has(err, "exactly 64");
    free(bad);
    /* a DER-encoded signature (what OpenSSL produces) is not the JOSE form */
    der[0] = 0x30, der[1] = 68, der[2] = 0x02, der[3] = 32;
    memcpy(der + 4, raw, 32);
    der[36] = 0x02, der[37] = 32;
    memcpy(der + 38, raw + 32, 32);
    bad = with_signature(tok, der, 70);
    assert_int_equal(verify(bad, &err), OIDC_ERR_SIGNATURE);
    free(bad), free(tok);
}

static void test_reject_ecdsa_r_or_s_out_of_range(void **state)
{
    /* P-256 order n */
    static const unsigned char n[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                        0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    struct oidc_err err;
    unsigned char raw[64];
    size_t rawlen = 0;
    char *tok = tg_sign(es, NULL, claims(NULL)), *bad;

    (void)state;
    assert_int_equal(oidc_b64url_decode_buf(strrchr(tok, '.') + 1, strlen(strrchr(tok, '.') + 1),
                                            raw, sizeof(raw), &rawlen),
                     OIDC_OK);
    memset(raw, 0, 32); /* r = 0 */
    bad = with_signature(tok, raw, 64);
    assert_int_equal(verify(bad, &err), OIDC_ERR_SIGNATURE);
    assert_msg_has(err, "out of range");
    free(bad);
    memcpy(raw, n, 32); /* r = n */
    bad = with_signature(tok, raw, 64);
    assert_int_equal(verify(bad, &err), OIDC_ERR_SIGNATURE);
    assert_msg_has(err, "out of range");
    free(bad);
    memset(raw + 32, 0xff, 32); /* s > n */
    raw[0] = 1;
    bad = with_signature(tok, raw, 64);
    assert_int_equal(verify(bad, &err), OIDC_ERR_SIGNATURE);
    assert_msg_has(err, "out of range");
    free(bad), free(tok);
}

/* ---------------------------------------------------------------- claims */

static void test_reject_issuer_mismatch(void **state)
{
    struct oidc_err err;
    char cl[512];

    (void)state;
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "/\",\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"exp\":%lld,"
             "\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_string_equal(err.msg, "issuer in token is 'https://idp.example.test/' but the "
                                 "configuration says 'https://idp.example.test'");
    snprintf(cl, sizeof(cl), "{\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "'iss'");
}

static void test_reject_missing_sub(void **state)
{
    struct oidc_err err;
    char cl[512];

    (void)state;
    snprintf(cl, sizeof(cl), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "'sub'");
}

static void test_reject_wrong_audience(void **state)
{
    struct oidc_err err;
    char cl[512];

    (void)state;
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":[\"a\",\"b\"],\"exp\":%lld,"
             "\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_string_equal(err.msg,
                        "audience in token is 'a', 'b' but the configuration accepts 'client-1'");
    snprintf(cl, sizeof(cl), "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "'aud'");
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":[\"" AUD "\",7],\"exp\":%lld,"
             "\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
}

static void test_reject_azp_not_client(void **state)
{
    struct oidc_err err;
    char cl[512];

    (void)state;
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":[\"" AUD "\",\"other\"],"
             "\"azp\":\"other\",\"exp\":%lld,\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "azp");
}

static void test_reject_missing_or_bad_exp_iat(void **state)
{
    struct oidc_err err;
    char cl[512];
    const char *bad[] = {"\"1700000300\"", "1e400", "-1", "1e20", "true", "null"};
    size_t i;

    (void)state;
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"iat\":%lld}", NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "no 'exp'");
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"exp\":%lld}",
             NOW + 300);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "no 'iat'");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char fmt[256];
        const char *val = bad[i];
        snprintf(fmt, sizeof(fmt),
                 "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"exp\":%s,"
                 "\"iat\":%lld}",
                 val, NOW);
        assert_int_not_equal(sign_verify(rs, NULL, fmt, &err), OIDC_OK);
    }
}

static char *timed_claims(long long exp, long long iat, const char *extra)
{
    static char cl[512];
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"" AUD "\",\"exp\":%lld,"
             "\"iat\":%lld%s%s}",
             exp, iat, extra ? "," : "", extra ? extra : "");
    return cl;
}

static void test_reject_expired_at_leeway_boundary(void **state)
{
    struct oidc_err err;

    (void)state;
    /* now = exp + leeway - 1: still valid; now = exp + leeway: expired */
    assert_int_equal(sign_verify(rs, NULL, timed_claims(NOW - 59, NOW - 600, NULL), &err), OIDC_OK);
    assert_int_equal(sign_verify(rs, NULL, timed_claims(NOW - 60, NOW - 600, NULL), &err),
                     OIDC_ERR_EXPIRED);
    assert_msg_has(err, "expired");
}

static void test_reject_iat_in_future(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(sign_verify(rs, NULL, timed_claims(NOW + 600, NOW + 60, NULL), &err), OIDC_OK);
    assert_int_equal(sign_verify(rs, NULL, timed_claims(NOW + 600, NOW + 61, NULL), &err),
                     OIDC_ERR_TOKEN);
    assert_msg_has(err, "future");
}

static void test_reject_before_nbf(void **state)
{
    struct oidc_err err;
    char nbf[64];

    (void)state;
    snprintf(nbf, sizeof(nbf), "\"nbf\":%lld", NOW + 60);
    assert_int_equal(sign_verify(rs, NULL, timed_claims(NOW + 600, NOW, nbf), &err), OIDC_OK);
    snprintf(nbf, sizeof(nbf), "\"nbf\":%lld", NOW + 61);
    assert_int_equal(sign_verify(rs, NULL, timed_claims(NOW + 600, NOW, nbf), &err),
                     OIDC_ERR_TOKEN);
    assert_msg_has(err, "not valid before");
}

static void test_leeway_is_bounded(void **state)
{
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims(NULL));

    (void)state;
    o.leeway = OIDC_LEEWAY_MAX + 1;
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_ERR_INVALID);
    o.leeway = -1;
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_ERR_INVALID);
    free(tok);
}

static void test_reject_too_old_token(void **state)
{
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, timed_claims(NOW + 600, NOW - 400, NULL));

    (void)state;
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_OK);
    o.max_token_age = 300;
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "max_token_age");
    free(tok);
}

static void test_reject_nonce_mismatch(void **state)
{
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims("\"nonce\":\"n-123\""));
    char *none = tg_sign(rs, NULL, claims(NULL));

    (void)state;
    o.nonce = "n-123";
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_OK);
    o.nonce = "n-124";
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "nonce");
    assert_int_equal(verify_with(none, jwks, &o, &err), OIDC_ERR_TOKEN);
    free(tok), free(none);
}

static void test_reject_acr_mismatch(void **state)
{
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims("\"acr\":\"urn:mfa\""));

    (void)state;
    o.acr = "urn:mfa";
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_OK);
    o.acr = "urn:phr";
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "acr in token is 'urn:mfa'");
    free(tok);
}

static void test_decode_unverified(void **state)
{
    struct oidc_token *t = NULL;
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims("\"jti\":\"j1\""));

    (void)state;
    assert_int_equal(oidc_token_decode_unverified(tok, strlen(tok), &t, &err), OIDC_OK);
    assert_string_equal(t->kid, "rs");
    assert_string_equal(t->jti, "j1");
    oidc_token_free(t);
    free(tok);
}

static void test_reject_several_audiences_without_azp(void **state)
{
    struct oidc_err err;
    char cl[512];

    (void)state;
    /* issued to evil-client, merely listing us: without azp it must not pass */
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":[\"evil-client\",\"" AUD "\"],"
             "\"exp\":%lld,\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "several audiences but no authorized party");
    /* a one-element array is a single audience */
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":[\"" AUD "\"],\"exp\":%lld,"
             "\"iat\":%lld}",
             NOW + 300, NOW);
    assert_int_equal(sign_verify(rs, NULL, cl, &err), OIDC_OK);
}

static void test_reject_typ_other_than_jwt(void **state)
{
    struct oidc_err err;

    (void)state;
    assert_int_equal(sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rs\",\"typ\":\"at+jwt\"}",
                                 claims(NULL), &err),
                     OIDC_ERR_TOKEN);
    assert_msg_has(err, "'at+jwt' is not an ID token");
    assert_int_equal(sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rs\",\"typ\":\"logout+jwt\"}",
                                 claims(NULL), &err),
                     OIDC_ERR_TOKEN);
    assert_int_equal(
        sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rs\",\"typ\":7}", claims(NULL), &err),
        OIDC_ERR_TOKEN);
    assert_int_equal(
        sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rs\",\"typ\":\"jwt\"}", claims(NULL), &err),
        OIDC_OK);
    assert_int_equal(sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"rs\"}", claims(NULL), &err),
                     OIDC_OK);
}

static void test_messages_never_carry_control_bytes(void **state)
{
    struct oidc_err err;
    size_t i;

    (void)state;
    /* the kid is read before the signature is checked: a newline or escape in it must not reach
     * a log line or a terminal */
    assert_int_equal(sign_verify(rs, "{\"alg\":\"RS256\",\"kid\":\"zz\\n\\u001b[31mFAKE LOG\"}",
                                 claims(NULL), &err),
                     OIDC_ERR_NOKEY);
    assert_msg_has(err, "zz??[31mFAKE LOG");
    for (i = 0; err.msg[i] != '\0'; i++)
        assert_true((unsigned char)err.msg[i] >= 0x20 && err.msg[i] != 0x7f);
}

/* ---------------------------------------------------------------- RSA padding */

/* {"keys":[jwk]} for k without an "alg" member, so the key fits every RSA alg. Caller frees. */
static struct oidc_jwks *jwks_without_alg(const struct tg_key *k)
{
    char *jwk = tg_jwk_json(k, 0, NULL), *json = malloc(strlen(jwk) + 16);
    struct oidc_jwks *set;

    sprintf(json, "{\"keys\":[%s]}", jwk);
    set = parse_jwks(json);
    free(jwk), free(json);
    return set;
}

/* The header names the padding: a PSS signature is refused under RS256 and a PKCS #1 v1.5 one
 * under PS256, even by a key that may do both. */
static void test_rsa_padding_follows_header_alg(void **state)
{
    struct tg_key *kp = tg_key_new("PS256", "k"), *k1 = tg_key_new("RS256", "k");
    struct oidc_jwks *setp = jwks_without_alg(kp), *set1 = jwks_without_alg(k1);
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok;

    (void)state;
    tok = tg_sign(kp, "{\"alg\":\"RS256\",\"kid\":\"k\"}", claims(NULL)); /* PSS inside */
    assert_int_equal(verify_with(tok, setp, &o, &err), OIDC_ERR_SIGNATURE);
    free(tok);
    tok = tg_sign(kp, NULL, claims(NULL));
    assert_int_equal(verify_with(tok, setp, &o, &err), OIDC_OK);
    free(tok);
    tok = tg_sign(k1, "{\"alg\":\"PS256\",\"kid\":\"k\"}", claims(NULL)); /* v1.5 inside */
    assert_int_equal(verify_with(tok, set1, &o, &err), OIDC_ERR_SIGNATURE);
    free(tok);
    tok = tg_sign(k1, NULL, claims(NULL));
    assert_int_equal(verify_with(tok, set1, &o, &err), OIDC_OK);
    free(tok);
    oidc_jwks_free(setp), oidc_jwks_free(set1);
    tg_key_free(kp), tg_key_free(k1);
}

/* A PSS signature over the token's input with the given salt length, as a token. */
static char *pss_token(const struct tg_key *k, int saltlen)
{
    char *tok = tg_sign(k, NULL, claims(NULL)), *out;
    size_t in_len = (size_t)(strrchr(tok, '.') - tok), sig_len = 0;
    unsigned char sig[512];
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;

    assert_non_null(m);
    assert_int_equal(EVP_DigestSignInit(m, &pc, EVP_sha256(), NULL, k->pkey), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, saltlen), 1);
    sig_len = sizeof(sig);
    assert_int_equal(EVP_DigestSign(m, sig, &sig_len, (const unsigned char *)tok, in_len), 1);
    EVP_MD_CTX_free(m);
    out = with_signature(tok, sig, sig_len);
    free(tok);
    return out;
}

/* PS256 means a salt as long as the digest (RFC 7518 §3.5). */
static void test_pss_salt_length_enforced(void **state)
{
    struct tg_key *kp = tg_key_new("PS256", "k");
    struct oidc_jwks *set = jwks_without_alg(kp);
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok;

    (void)state;
    tok = pss_token(kp, 32);
    assert_int_equal(verify_with(tok, set, &o, &err), OIDC_OK);
    free(tok);
    tok = pss_token(kp, 0);
    assert_int_equal(verify_with(tok, set, &o, &err), OIDC_ERR_SIGNATURE);
    free(tok);
    tok = pss_token(kp, 64);
    assert_int_equal(verify_with(tok, set, &o, &err), OIDC_ERR_SIGNATURE);
    free(tok);
    oidc_jwks_free(set);
    tg_key_free(kp);
}

/* ---------------------------------------------------------------- header memo */

/* Whether set remembers tok's header; *ready (may be NULL) says whether its verification context
 * template could be copied. */
static int memo_has_ctx(const struct oidc_jwks *set, const char *tok, int *ready)
{
    struct oidc_jwks_memo_hit hit;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int found;

    assert_non_null(ctx);
    memset(&hit, 0, sizeof(hit));
    found = oidc_jwks_memo_find(set, tok, (size_t)(strchr(tok, '.') - tok), ctx, &hit);
    if (ready != NULL)
        *ready = found && hit.ctx_ready;
    EVP_MD_CTX_free(ctx);
    return found;
}

static int memo_has(const struct oidc_jwks *set, const char *tok)
{
    return memo_has_ctx(set, tok, NULL);
}

/* Every algorithm: once remembered, the header comes with a ready verification context, and the
 * copied context still refuses a signature over other bytes and accepts a good one. */
static void test_header_memo_template_every_alg(void **state)
{
    struct tg_key *keys[] = {rs, es, ed, ps, es384, es512, ed448};
    struct oidc_err err;
    size_t i;
    int ready;

    (void)state;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *a = tg_sign(keys[i], NULL, claims(NULL));
        char *b = tg_sign(keys[i], NULL, claims("\"admin\":true"));
        size_t ha = (size_t)(strrchr(a, '.') - a), hb = (size_t)(strrchr(b, '.') - b);
        char *forged = malloc(hb + strlen(a) - ha + 1);

        assert_non_null(forged);
        memcpy(forged, b, hb); /* b's header and payload, a's signature */
        strcpy(forged + hb, a + ha);
        if (verify(a, &err) != OIDC_OK)
            fail_msg("%s: %s", keys[i]->alg, err.msg);
        ready = 0;
        assert_true(memo_has_ctx(jwks, a, &ready));
        if (!ready)
            fail_msg("%s: no verification context template", keys[i]->alg);
        assert_int_equal(verify(forged, &err), OIDC_ERR_SIGNATURE);
        assert_int_equal(verify(b, &err), OIDC_OK);
        assert_int_equal(verify(a, &err), OIDC_OK);
        free(a), free(b), free(forged);
    }
}

/* A header seen on a verified token is remembered; the next token with the same header bytes
 * gets the same alg, key, kid and header tree as a full parse gives. */
static void test_header_memo_reused_and_equivalent(void **state)
{
    struct tg_key *k = tg_key_new("ES256", "mk");
    struct tg_key *one[1] = {k};
    char *json = tg_jwks_json(one, 1);
    struct oidc_jwks *set = parse_jwks(json);
    struct oidc_verify_opts o = opts_default();
    struct oidc_token *t1 = NULL, *t2 = NULL, *t3 = NULL;
    struct oidc_err err;
    char *a = tg_sign(k, NULL, claims(NULL)), *b = tg_sign(k, NULL, claims("\"x\":1"));

    (void)state;
    assert_false(memo_has(set, a));
    assert_int_equal(oidc_token_verify(a, strlen(a), set, &o, &t1, &err), OIDC_OK);
    assert_true(memo_has(set, a));
    assert_true(memo_has(set, b)); /* same header bytes */
    assert_int_equal(oidc_token_verify(b, strlen(b), set, &o, &t2, &err), OIDC_OK);
    assert_int_equal(oidc_token_decode_unverified(b, strlen(b), &t3, &err), OIDC_OK);
    assert_int_equal(t2->alg, OIDC_ALG_ES256);
    assert_int_equal(t2->alg, t1->alg);
    assert_string_equal(t2->kid, "mk");
    assert_true(cJSON_Compare(t2->header, t3->header, 1));
    assert_true(t2->header != t1->header);
    assert_true(cJSON_GetObjectItemCaseSensitive(t2->claims, "x") != NULL);
    oidc_token_free(t1), oidc_token_free(t2), oidc_token_free(t3);
    oidc_jwks_free(set);
    free(json), free(a), free(b);
    tg_key_free(k);
}

/* Only headers of tokens whose signature verified get in: what an attacker sends without the
 * IdP's key never fills the memo. */
static void test_header_memo_needs_good_signature(void **state)
{
    struct tg_key *k = tg_key_new("RS256", "mk"), *other = tg_key_new("RS256", "mk");
    struct tg_key *one[1] = {k};
    char *json = tg_jwks_json(one, 1);
    struct oidc_jwks *set = parse_jwks(json);
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *forged = tg_sign(other, "{\"alg\":\"RS256\",\"kid\":\"mk\",\"x\":1}", claims(NULL));
    char *good = tg_sign(k, "{\"alg\":\"RS256\",\"kid\":\"mk\",\"x\":1}", claims(NULL));

    (void)state;
    assert_int_equal(verify_with(forged, set, &o, &err), OIDC_ERR_SIGNATURE);
    assert_false(memo_has(set, forged));
    /* the same header signed by the IdP's key is genuine and remembered */
    assert_int_equal(verify_with(good, set, &o, &err), OIDC_OK);
    assert_true(memo_has(set, good));
    /* a remembered header does not stand in for the signature */
    assert_int_equal(verify_with(forged, set, &o, &err), OIDC_ERR_SIGNATURE);
    assert_msg_has(err, "does not verify");
    oidc_jwks_free(set);
    free(json), free(forged), free(good);
    tg_key_free(k), tg_key_free(other);
}

/* The allow-list is a per-call option: a remembered header is still checked against it. */
static void test_header_memo_honours_allow_list(void **state)
{
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    char *tok = tg_sign(rs, NULL, claims(NULL));

    (void)state;
    assert_int_equal(verify(tok, &err), OIDC_OK);
    assert_true(memo_has(jwks, tok));
    o.algs = OIDC_ALG_ES256 | OIDC_ALG_EDDSA;
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "not in this provider's allowed algorithms");
    o.algs = OIDC_ALG_RS256;
    assert_int_equal(verify_with(tok, jwks, &o, &err), OIDC_OK);
    free(tok);
}

/* A tampered payload or a wrong key under a remembered header still fails. */
static void test_header_memo_does_not_skip_checks(void **state)
{
    struct oidc_err err;
    char *tok = tg_sign(es, NULL, claims(NULL)), *bad;
    unsigned char junk[64];

    (void)state;
    assert_int_equal(verify(tok, &err), OIDC_OK);
    assert_true(memo_has(jwks, tok));
    memset(junk, 0x5a, sizeof(junk));
    bad = with_signature(tok, junk, sizeof(junk));
    assert_int_equal(verify(bad, &err), OIDC_ERR_SIGNATURE);
    free(bad);
    bad = tg_sign(es, NULL, claims("\"aud\":\"x\"")); /* duplicate aud: refused after the memo */
    assert_int_equal(verify(bad, &err), OIDC_ERR_PARSE);
    free(bad);
    bad = tg_sign(es, NULL, "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"" AUD "\"}");
    assert_int_equal(verify(bad, &err), OIDC_ERR_TOKEN);
    assert_msg_has(err, "exp");
    free(bad);
    free(tok);
}

/* More distinct headers than slots: all verify, the memo stops growing. */
static void test_header_memo_full(void **state)
{
    struct tg_key *k = tg_key_new("EdDSA", "mk");
    struct tg_key *one[1] = {k};
    char *json = tg_jwks_json(one, 1), hdr[128], *tok;
    struct oidc_jwks *set = parse_jwks(json);
    struct oidc_verify_opts o = opts_default();
    struct oidc_err err;
    int i, remembered = 0;

    (void)state;
    for (i = 0; i < OIDC_JWKS_MEMO_SLOTS + 4; i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"EdDSA\",\"kid\":\"mk\",\"n\":%d}", i);
        tok = tg_sign(k, hdr, claims(NULL));
        assert_int_equal(verify_with(tok, set, &o, &err), OIDC_OK);
        assert_int_equal(verify_with(tok, set, &o, &err), OIDC_OK);
        remembered += memo_has(set, tok);
        free(tok);
    }
    assert_int_equal(remembered, OIDC_JWKS_MEMO_SLOTS);
    oidc_jwks_free(set);
    free(json);
    tg_key_free(k);
}

/* A key set not made by oidc_jwks_parse has no memo and verifies the long way. */
static void test_header_memo_absent(void **state)
{
    struct oidc_jwks copy = *jwks;
    struct oidc_err err;
    struct oidc_verify_opts o = opts_default();
    char *tok = tg_sign(ed, NULL, claims(NULL));

    (void)state;
    copy.memo = NULL;
    assert_int_equal(verify_with(tok, &copy, &o, &err), OIDC_OK);
    assert_int_equal(verify_with(tok, &copy, &o, &err), OIDC_OK);
    assert_false(memo_has(&copy, tok));
    free(tok);
}

struct memo_thread {
    const struct oidc_jwks *set;
    char *toks[6];
    int failures;
};

static void *memo_worker(void *arg)
{
    struct memo_thread *m = arg;
    struct oidc_verify_opts o = opts_default();
    int i;

    for (i = 0; i < 60; i++) {
        struct oidc_token *t = NULL;
        struct oidc_err err;
        const char *tok = m->toks[i % 6];
        if (oidc_token_verify(tok, strlen(tok), m->set, &o, &t, &err) != OIDC_OK || t == NULL ||
            strcmp(t->kid, "mk") != 0)
            m->failures++;
        oidc_token_free(t);
    }
    return NULL;
}

/* Several threads share one key set, as PAM conversations in one process do, while the memo
 * fills (run under valgrind --tool=helgrind to check the locking). */
static void test_header_memo_threads(void **state)
{
    struct tg_key *k = tg_key_new("ES256", "mk");
    struct tg_key *one[1] = {k};
    char *json = tg_jwks_json(one, 1), hdr[128];
    struct oidc_jwks *set = parse_jwks(json);
    struct memo_thread m[4];
    pthread_t th[4];
    int i, j;

    (void)state;
    for (j = 0; j < 4; j++) {
        m[j].set = set;
        m[j].failures = 0;
        for (i = 0; i < 6; i++) {
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"mk\",\"v\":%d}", i);
            m[j].toks[i] = tg_sign(k, hdr, claims(NULL));
        }
    }
    for (j = 0; j < 4; j++)
        assert_int_equal(pthread_create(&th[j], NULL, memo_worker, &m[j]), 0);
    for (j = 0; j < 4; j++) {
        assert_int_equal(pthread_join(th[j], NULL), 0);
        assert_int_equal(m[j].failures, 0);
        for (i = 0; i < 6; i++)
            free(m[j].toks[i]);
    }
    oidc_jwks_free(set);
    free(json);
    tg_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_algorithm_verifies),
        cmocka_unit_test(test_all_rsa_digests_verify),
        cmocka_unit_test(test_aud_array_with_client_and_azp),
        cmocka_unit_test(test_no_kid_accepted_when_exactly_one_key_fits),
        cmocka_unit_test(test_fractional_times_accepted),
        cmocka_unit_test(test_reject_not_three_segments),
        cmocka_unit_test(test_reject_base64_padding),
        cmocka_unit_test(test_reject_whitespace_and_foreign_characters),
        cmocka_unit_test(test_reject_oversized_token),
        cmocka_unit_test(test_reject_deep_json),
        cmocka_unit_test(test_reject_duplicate_claim),
        cmocka_unit_test(test_reject_duplicate_header_member),
        cmocka_unit_test(test_reject_header_and_claims_not_objects),
        cmocka_unit_test(test_reject_alg_none_any_spelling),
        cmocka_unit_test(test_reject_hmac_key_confusion),
        cmocka_unit_test(test_reject_alg_outside_allow_list),
        cmocka_unit_test(test_reject_unknown_alg),
        cmocka_unit_test(test_reject_crit),
        cmocka_unit_test(test_reject_b64_header),
        cmocka_unit_test(test_reject_embedded_key_headers),
        cmocka_unit_test(test_unknown_kid_is_nokey),
        cmocka_unit_test(test_no_kid_ambiguous_is_refused),
        cmocka_unit_test(test_kty_must_fit_alg),
        cmocka_unit_test(test_crv_must_fit_alg),
        cmocka_unit_test(test_jwk_alg_must_equal_header_alg),
        cmocka_unit_test(test_jwk_use_must_be_sig),
        cmocka_unit_test(test_small_rsa_and_oct_keys_never_used),
        cmocka_unit_test(test_ec_point_not_on_curve_refused),
        cmocka_unit_test(test_reject_tampered_payload),
        cmocka_unit_test(test_reject_signature_by_unpublished_key),
        cmocka_unit_test(test_reject_rsa_signature_wrong_length),
        cmocka_unit_test(test_reject_ecdsa_signature_wrong_length),
        cmocka_unit_test(test_reject_ecdsa_r_or_s_out_of_range),
        cmocka_unit_test(test_reject_issuer_mismatch),
        cmocka_unit_test(test_reject_missing_sub),
        cmocka_unit_test(test_reject_wrong_audience),
        cmocka_unit_test(test_reject_azp_not_client),
        cmocka_unit_test(test_reject_missing_or_bad_exp_iat),
        cmocka_unit_test(test_reject_expired_at_leeway_boundary),
        cmocka_unit_test(test_reject_iat_in_future),
        cmocka_unit_test(test_reject_before_nbf),
        cmocka_unit_test(test_leeway_is_bounded),
        cmocka_unit_test(test_reject_too_old_token),
        cmocka_unit_test(test_reject_nonce_mismatch),
        cmocka_unit_test(test_reject_acr_mismatch),
        cmocka_unit_test(test_decode_unverified),
        cmocka_unit_test(test_reject_several_audiences_without_azp),
        cmocka_unit_test(test_reject_typ_other_than_jwt),
        cmocka_unit_test(test_messages_never_carry_control_bytes),
        cmocka_unit_test(test_rsa_padding_follows_header_alg),
        cmocka_unit_test(test_pss_salt_length_enforced),
        cmocka_unit_test(test_header_memo_reused_and_equivalent),
        cmocka_unit_test(test_header_memo_template_every_alg),
        cmocka_unit_test(test_header_memo_needs_good_signature),
        cmocka_unit_test(test_header_memo_honours_allow_list),
        cmocka_unit_test(test_header_memo_does_not_skip_checks),
        cmocka_unit_test(test_header_memo_full),
        cmocka_unit_test(test_header_memo_absent),
        cmocka_unit_test(test_header_memo_threads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
