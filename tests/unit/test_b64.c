/* Strict base64url: RFC 4648 vectors, round trips, alphabet, length, canonical trailing bits and
 * the size caps of both decoders. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* RFC 4648 §10 vectors, with the padding removed (base64url as used in JWS has none). */
static const struct {
    const char *plain;
    const char *enc;
} rfc_vectors[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};
#define N_RFC (sizeof(rfc_vectors) / sizeof(rfc_vectors[0]))

/* Deterministic PRNG so a failure is reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Decodes s (strlen) with oidc_b64url_decode and a generous cap; frees any output. */
static int decode_status(const char *s, size_t len)
{
    unsigned char *out = NULL;
    size_t outlen = 0;
    int r = oidc_b64url_decode(s, len, 1024, &out, &outlen);

    if (r == OIDC_OK) {
        assert_non_null(out);
        free(out);
    } else {
        assert_null(out);
    }
    return r;
}

/* Same through the caller-buffer decoder. */
static int decode_buf_status(const char *s, size_t len)
{
    unsigned char buf[1024];
    size_t outlen = 0;

    return oidc_b64url_decode_buf(s, len, buf, sizeof(buf), &outlen);
}

static void round_trip(const unsigned char *in, size_t len)
{
    char *enc = oidc_b64url_encode(in, len);
    unsigned char *dec = NULL, buf[512];
    size_t declen = 0, buflen = 0;

    assert_non_null(enc);
    assert_int_equal(strlen(enc), (len * 4 + 2) / 3);
    assert_int_equal(oidc_b64url_decode(enc, strlen(enc), len, &dec, &declen), OIDC_OK);
    assert_int_equal(declen, len);
    if (len > 0)
        assert_memory_equal(dec, in, len);
    assert_true(len <= sizeof(buf));
    assert_int_equal(oidc_b64url_decode_buf(enc, strlen(enc), buf, len, &buflen), OIDC_OK);
    assert_int_equal(buflen, len);
    if (len > 0)
        assert_memory_equal(buf, in, len);
    free(dec);
    free(enc);
}

static void test_encode_rfc4648_vectors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < N_RFC; i++) {
        char *enc = oidc_b64url_encode((const unsigned char *)rfc_vectors[i].plain,
                                       strlen(rfc_vectors[i].plain));
        assert_non_null(enc);
        assert_string_equal(enc, rfc_vectors[i].enc);
        free(enc);
    }
}

static void test_decode_rfc4648_vectors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < N_RFC; i++) {
        const char *enc = rfc_vectors[i].enc, *plain = rfc_vectors[i].plain;
        unsigned char *out = NULL, buf[16];
        size_t outlen = 99, buflen = 99;

        assert_int_equal(oidc_b64url_decode(enc, strlen(enc), 64, &out, &outlen), OIDC_OK);
        assert_non_null(out);
        assert_int_equal(outlen, strlen(plain));
        assert_memory_equal(out, plain, outlen);
        free(out);

        assert_int_equal(oidc_b64url_decode_buf(enc, strlen(enc), buf, sizeof(buf), &buflen),
                         OIDC_OK);
        assert_int_equal(buflen, strlen(plain));
        assert_memory_equal(buf, plain, buflen);
    }
}

static void test_round_trip_all_byte_values(void **state)
{
    unsigned char all[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(all); i++)
        all[i] = (unsigned char)i;
    round_trip(all, sizeof(all));
    /* Each value alone and in every position of a 3-byte group. */
    for (i = 0; i < 256; i++) {
        unsigned char one[3] = {(unsigned char)i, (unsigned char)(255 - i), (unsigned char)i};
        round_trip(one, 1);
        round_trip(one, 2);
        round_trip(one, 3);
    }
}

static void test_round_trip_random_lengths(void **state)
{
    unsigned char data[300];
    size_t len, i;
    int iter;

    (void)state;
    for (len = 0; len <= sizeof(data); len++) {
        for (iter = 0; iter < 3; iter++) {
            for (i = 0; i < len; i++)
                data[i] = (unsigned char)rng_next();
            round_trip(data, len);
        }
    }
}

static void test_decode_url_alphabet_chars(void **state)
{
    static const unsigned char want[] = {0xfb, 0xef, 0xff};
    unsigned char *out = NULL;
    size_t outlen = 0;

    (void)state;
    /* '-' is 62 and '_' is 63: 111110 111110 111111 111111. */
    assert_int_equal(oidc_b64url_decode("--__", 4, 16, &out, &outlen), OIDC_OK);
    assert_int_equal(outlen, 3);
    assert_memory_equal(out, want, 3);
    free(out);
    /* And the encoder emits them rather than '+' and '/'. */
    {
        char *enc = oidc_b64url_encode(want, 3);
        assert_non_null(enc);
        assert_string_equal(enc, "--__");
        free(enc);
    }
}

static void test_decode_rejects_non_alphabet(void **state)
{
    static const char bad[] = {'+', '/', '=', ' ', '\n', '.', '\r', '\t', '\0', '*'};
    char quad[5], pair[3];
    size_t i, pos;

    (void)state;
    for (i = 0; i < sizeof(bad); i++) {
        for (pos = 0; pos < 4; pos++) {
            memcpy(quad, "QUJD", 5);
            quad[pos] = bad[i];
            assert_int_equal(decode_status(quad, 4), OIDC_ERR_PARSE);
            assert_int_equal(decode_buf_status(quad, 4), OIDC_ERR_PARSE);
        }
        for (pos = 0; pos < 2; pos++) {
            memcpy(pair, "QQ", 3);
            pair[pos] = bad[i];
            assert_int_equal(decode_status(pair, 2), OIDC_ERR_PARSE);
            assert_int_equal(decode_buf_status(pair, 2), OIDC_ERR_PARSE);
        }
    }
    /* Standard-alphabet input that would decode under RFC 4648 §4. */
    assert_int_equal(decode_status("+/+/", 4), OIDC_ERR_PARSE);
    /* Padded forms. */
    assert_int_equal(decode_status("Zg==", 4), OIDC_ERR_PARSE);
    assert_int_equal(decode_status("Zm8=", 4), OIDC_ERR_PARSE);
    assert_int_equal(decode_status("Zg=", 3), OIDC_ERR_PARSE);
}

static void test_decode_rejects_high_bytes(void **state)
{
    char quad[4] = {'Q', 'U', 'J', 0};
    int b;

    (void)state;
    for (b = 0x80; b <= 0xff; b++) {
        quad[3] = (char)b;
        assert_int_equal(decode_status(quad, 4), OIDC_ERR_PARSE);
        assert_int_equal(decode_buf_status(quad, 4), OIDC_ERR_PARSE);
    }
}

/* Exhaustive: a byte decodes if and only if it is one of the 64 base64url characters. */
static void test_decode_accepts_exactly_the_alphabet(void **state)
{
    char quad[4] = {'Q', 'U', 'J', 0};
    int b;

    (void)state;
    for (b = 0; b <= 0xff; b++) {
        int in_alphabet = b != 0 && strchr(alphabet, b) != NULL;
        quad[3] = (char)b;
        assert_int_equal(decode_status(quad, 4), in_alphabet ? OIDC_OK : OIDC_ERR_PARSE);
    }
}

static void test_decode_rejects_length_mod4_1(void **state)
{
    static const char *inputs[] = {"A", "QUJDR", "QUJDRUZHS"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        assert_int_equal(decode_status(inputs[i], strlen(inputs[i])), OIDC_ERR_PARSE);
        assert_int_equal(decode_buf_status(inputs[i], strlen(inputs[i])), OIDC_ERR_PARSE);
    }
    /* The neighbouring lengths are fine. */
    assert_int_equal(decode_status("QUJDRQ", 6), OIDC_OK);
    assert_int_equal(decode_status("QUJDRUY", 7), OIDC_OK);
}

/* Two-character remainder: 12 bits carry 8, the low 4 bits of the second char must be zero. */
static void test_decode_rejects_trailing_bits_two_char(void **state)
{
    unsigned char *out = NULL;
    size_t outlen = 0, v;
    char pair[2];

    (void)state;
    assert_int_equal(decode_status("Zh", 2), OIDC_ERR_PARSE);
    assert_int_equal(decode_buf_status("Zh", 2), OIDC_ERR_PARSE);
    assert_int_equal(oidc_b64url_decode("Zg", 2, 16, &out, &outlen), OIDC_OK);
    assert_int_equal(outlen, 1);
    assert_int_equal(out[0], 'f');
    free(out);
    pair[0] = 'Z';
    for (v = 0; v < 64; v++) {
        pair[1] = alphabet[v];
        assert_int_equal(decode_status(pair, 2), (v & 0x0f) == 0 ? OIDC_OK : OIDC_ERR_PARSE);
        assert_int_equal(decode_buf_status(pair, 2), (v & 0x0f) == 0 ? OIDC_OK : OIDC_ERR_PARSE);
    }
    /* The same rule after a full quad. */
    assert_int_equal(decode_status("Zm9vYh", 6), OIDC_ERR_PARSE);
}

/* Three-character remainder: 18 bits carry 16, the low 2 bits of the third char must be zero. */
static void test_decode_rejects_trailing_bits_three_char(void **state)
{
    unsigned char *out = NULL;
    size_t outlen = 0, v;
    char triple[3];

    (void)state;
    assert_int_equal(decode_status("Zm9", 3), OIDC_ERR_PARSE);
    assert_int_equal(decode_buf_status("Zm9", 3), OIDC_ERR_PARSE);
    assert_int_equal(oidc_b64url_decode("Zm8", 3, 16, &out, &outlen), OIDC_OK);
    assert_int_equal(outlen, 2);
    assert_memory_equal(out, "fo", 2);
    free(out);
    triple[0] = 'Z';
    triple[1] = 'm';
    for (v = 0; v < 64; v++) {
        triple[2] = alphabet[v];
        assert_int_equal(decode_status(triple, 3), (v & 0x03) == 0 ? OIDC_OK : OIDC_ERR_PARSE);
        assert_int_equal(decode_buf_status(triple, 3), (v & 0x03) == 0 ? OIDC_OK : OIDC_ERR_PARSE);
    }
    /* The same rule after a full quad. */
    assert_int_equal(decode_status("Zm9vYmF", 7), OIDC_ERR_PARSE);
}

static void test_decode_max_cap_toobig(void **state)
{
    unsigned char *out = NULL;
    size_t outlen = 0;

    (void)state;
    /* "foobar": exactly 6 bytes fits a cap of 6, not 5. */
    assert_int_equal(oidc_b64url_decode("Zm9vYmFy", 8, 5, &out, &outlen), OIDC_ERR_TOOBIG);
    assert_null(out);
    assert_int_equal(oidc_b64url_decode("Zm9vYmFy", 8, 6, &out, &outlen), OIDC_OK);
    assert_int_equal(outlen, 6);
    free(out);
    out = NULL;
    /* Remainder lengths count only their real bytes. */
    assert_int_equal(oidc_b64url_decode("Zm9vYg", 6, 3, &out, &outlen), OIDC_ERR_TOOBIG);
    assert_int_equal(oidc_b64url_decode("Zm9vYmE", 7, 4, &out, &outlen), OIDC_ERR_TOOBIG);
    assert_int_equal(oidc_b64url_decode("Zg", 2, 0, &out, &outlen), OIDC_ERR_TOOBIG);
    assert_null(out);
    assert_int_equal(oidc_b64url_decode("Zm9vYmE", 7, 5, &out, &outlen), OIDC_OK);
    assert_int_equal(outlen, 5);
    free(out);
}

static void test_decode_buf_small_cap_toobig(void **state)
{
    unsigned char buf[8];
    size_t outlen = 0;

    (void)state;
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(oidc_b64url_decode_buf("Zm9vYmFy", 8, buf, 5, &outlen), OIDC_ERR_TOOBIG);
    assert_int_equal(oidc_b64url_decode_buf("Zm9vYg", 6, buf, 3, &outlen), OIDC_ERR_TOOBIG);
    assert_int_equal(oidc_b64url_decode_buf("Zg", 2, buf, 0, &outlen), OIDC_ERR_TOOBIG);
    /* An exact cap works and writes nothing past it. */
    assert_int_equal(oidc_b64url_decode_buf("Zm9vYmE", 7, buf, 5, &outlen), OIDC_OK);
    assert_int_equal(outlen, 5);
    assert_memory_equal(buf, "fooba", 5);
    assert_int_equal(buf[5], 0xaa);
    assert_int_equal(buf[6], 0xaa);
}

static void test_decode_output_nul_terminated(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < N_RFC; i++) {
        const char *enc = rfc_vectors[i].enc;
        unsigned char *out = NULL;
        size_t outlen = 99;

        assert_int_equal(oidc_b64url_decode(enc, strlen(enc), 64, &out, &outlen), OIDC_OK);
        assert_non_null(out);
        assert_int_equal(outlen, strlen(rfc_vectors[i].plain));
        assert_int_equal(out[outlen], '\0');
        assert_string_equal((const char *)out, rfc_vectors[i].plain);
        free(out);
    }
}

/* Only inlen characters are read: a prefix of a longer string decodes on its own. */
static void test_decode_reads_exactly_inlen(void **state)
{
    unsigned char *out = NULL;
    size_t outlen = 0;

    (void)state;
    assert_int_equal(oidc_b64url_decode("Zm9vYmFy.garbage", 4, 16, &out, &outlen), OIDC_OK);
    assert_int_equal(outlen, 3);
    assert_string_equal((const char *)out, "foo");
    free(out);
}

static void test_encode_never_pads(void **state)
{
    unsigned char data[64];
    size_t len, i;

    (void)state;
    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(0xff - i);
    for (len = 0; len <= sizeof(data); len++) {
        char *enc = oidc_b64url_encode(data, len);
        assert_non_null(enc);
        assert_int_equal(strlen(enc), (len * 4 + 2) / 3);
        assert_int_not_equal(strlen(enc) % 4, 1);
        assert_null(strchr(enc, '='));
        assert_int_equal(strspn(enc, alphabet), strlen(enc));
        free(enc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rfc4648_vectors),
        cmocka_unit_test(test_decode_rfc4648_vectors),
        cmocka_unit_test(test_round_trip_all_byte_values),
        cmocka_unit_test(test_round_trip_random_lengths),
        cmocka_unit_test(test_decode_url_alphabet_chars),
        cmocka_unit_test(test_decode_rejects_non_alphabet),
        cmocka_unit_test(test_decode_rejects_high_bytes),
        cmocka_unit_test(test_decode_accepts_exactly_the_alphabet),
        cmocka_unit_test(test_decode_rejects_length_mod4_1),
        cmocka_unit_test(test_decode_rejects_trailing_bits_two_char),
        cmocka_unit_test(test_decode_rejects_trailing_bits_three_char),
        cmocka_unit_test(test_decode_max_cap_toobig),
        cmocka_unit_test(test_decode_buf_small_cap_toobig),
        cmocka_unit_test(test_decode_output_nul_terminated),
        cmocka_unit_test(test_decode_reads_exactly_inlen),
        cmocka_unit_test(test_encode_never_pads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
