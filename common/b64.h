/* Strict base64url (RFC 4648 §5, no padding, no whitespace), bounded. */
#ifndef OIDC_B64_H
#define OIDC_B64_H

#include <stddef.h>
#include "util.h"

/* Decodes exactly inlen characters. Rejects padding, whitespace, any non-alphabet byte, an
 * impossible length (len % 4 == 1) and non-zero trailing bits. The output is NUL-terminated (not
 * counted in *outlen). Returns 0, OIDC_ERR_PARSE, OIDC_ERR_TOOBIG (decoded size > max) or
 * OIDC_ERR_NOMEM. */
int oidc_b64url_decode(const char *in, size_t inlen, size_t max, unsigned char **out,
                       size_t *outlen);
/* Decodes into a caller buffer of size cap; same rules. */
int oidc_b64url_decode_buf(const char *in, size_t inlen, unsigned char *out, size_t cap,
                           size_t *outlen);
/* Encodes without padding; returns a malloc'd NUL-terminated string or NULL. */
char *oidc_b64url_encode(const unsigned char *in, size_t len);

/* Whether s has the shape of a compact JWS: three non-empty parts of base64url characters
 * separated by two dots, nothing else (a cheap test before any decoding: is this a token at all,
 * or a password?). */
int oidc_jws_shape_ok(const char *s);

#endif
