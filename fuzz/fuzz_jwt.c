/* libFuzzer target: JWS/JWT verification against a fixed key set (one RSA and one EC public key,
 * fixed_jwks.h) at a fixed clock, and the unverified decoder. The input is the compact token. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "jwt.h"
#include "wrap.h"
#include "fixed_jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const audiences[] = {"fuzz-client", "other"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oidc_verify_opts opts = {
        .issuer = "https://idp.example.test",
        .audiences = audiences,
        .n_audiences = 2,
        .client_id = "fuzz-client",
        .now = 1700000000, /* gen-corpus.py's tokens are valid at this time */
        .leeway = OIDC_LEEWAY_DEFAULT,
        .max_token_age = 86400,
    };
    struct oidc_jwks *jwks = NULL;
    struct oidc_token *tok = NULL;
    struct oidc_err err = {0};
    static int verbose = -1;

    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    /* A fresh set per input, parsed with injection off: the header memo of a shared set would
     * make a run depend on the inputs before it. */
    if (oidc_jwks_parse(fixed_jwks, sizeof(fixed_jwks) - 1, &jwks, &err) != 0)
        abort(); /* the fixed set itself is broken: nothing to fuzz */
    fuzz_wrap_begin(data, size);
    if (oidc_token_verify((const char *)data, size, jwks, &opts, &tok, &err) == 0)
        oidc_token_free(tok);
    if (verbose) /* FUZZ_VERBOSE=1: why each input was refused, to check the seeds */
        fprintf(stderr, "verify: %d %s\n", err.code, oidc_err_msg(&err));
    /* The same token a second time: the memo path, when the first run verified it. */
    tok = NULL;
    if (oidc_token_verify((const char *)data, size, jwks, &opts, &tok, &err) == 0)
        oidc_token_free(tok);
    tok = NULL;
    if (oidc_token_decode_unverified((const char *)data, size, &tok, &err) == 0)
        oidc_token_free(tok);
    (void)oidc_err_msg(&err);
    fuzz_wrap_end();
    oidc_jwks_free(jwks);
    return 0;
}
