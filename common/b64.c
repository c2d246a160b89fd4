/* Strict base64url decoding and encoding. */
#include "config.h"
#include "b64.h"

#include <stdlib.h>
#include <string.h>

/* 0..63 for the alphabet, 0xff for everything else. */
static const unsigned char dec_table[256] = {
#define X 0xff
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,  X,  0,  1,  2,  3,  4,  5,  6,
    7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  63,
    X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
#undef X
};

static const char enc_table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t decoded_len(size_t inlen)
{
    return inlen / 4 * 3 + (inlen % 4 == 0 ? 0 : inlen % 4 - 1);
}

int oidc_b64url_decode_buf(const char *in, size_t inlen, unsigned char *out, size_t cap,
                           size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i, o = 0, need;
    uint32_t acc = 0;
    unsigned char v;

    if (inlen % 4 == 1)
        return OIDC_ERR_PARSE;
    need = decoded_len(inlen);
    if (need > cap)
        return OIDC_ERR_TOOBIG;
    for (i = 0; i < inlen; i++) {
        v = dec_table[p[i]];
        if (v == 0xff)
            return OIDC_ERR_PARSE;
        acc = (acc << 6) | v;
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    switch (inlen % 4) {
    case 2: /* 12 bits: 8 used, 4 must be zero */
        if (acc & 0x0f)
            return OIDC_ERR_PARSE;
        out[o++] = (unsigned char)(acc >> 4);
        break;
    case 3: /* 18 bits: 16 used, 2 must be zero */
        if (acc & 0x03)
            return OIDC_ERR_PARSE;
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
        break;
    default:
        break;
    }
    *outlen = o;
    return OIDC_OK;
}

int oidc_b64url_decode(const char *in, size_t inlen, size_t max, unsigned char **out,
                       size_t *outlen)
{
    unsigned char *buf;
    size_t need, len = 0;
    int r;

    if (inlen % 4 == 1)
        return OIDC_ERR_PARSE;
    need = decoded_len(inlen);
    if (need > max)
        return OIDC_ERR_TOOBIG;
    buf = malloc(need + 1);
    if (buf == NULL)
        return OIDC_ERR_NOMEM;
    r = oidc_b64url_decode_buf(in, inlen, buf, need, &len);
    if (r != OIDC_OK) {
        oidc_freezero(buf, need + 1);
        return r;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return OIDC_OK;
}

char *oidc_b64url_encode(const unsigned char *in, size_t len)
{
    size_t o = 0, i;
    char *out;
    uint32_t v;

    if (len > (SIZE_MAX - 1) / 4 * 3)
        return NULL;
    out = malloc((len + 2) / 3 * 4 + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = enc_table[v >> 18];
        out[o++] = enc_table[(v >> 12) & 63];
        out[o++] = enc_table[(v >> 6) & 63];
        out[o++] = enc_table[v & 63];
    }
    if (len - i == 1) {
        v = (uint32_t)in[i] << 16;
        out[o++] = enc_table[v >> 18];
        out[o++] = enc_table[(v >> 12) & 63];
    } else if (len - i == 2) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = enc_table[v >> 18];
        out[o++] = enc_table[(v >> 12) & 63];
        out[o++] = enc_table[(v >> 6) & 63];
    }
    out[o] = '\0';
    return out;
}

int oidc_jws_shape_ok(const char *s)
{
    size_t parts = 0, len = 0;

    if (s == NULL)
        return 0;
    for (;; s++) {
        if (*s == '.' || *s == '\0') {
            if (len == 0)
                return 0;
            parts++;
            len = 0;
            if (*s == '\0')
                break;
            continue;
        }
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
        len++;
    }
    return parts == 3;
}
