/* libFuzzer target: the JWKS parser and the key import behind it. */
#include <stddef.h>
#include <stdint.h>

#include "jwk.h"
#include "wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oidc_jwks *set = NULL;
    struct oidc_err err = {0};

    fuzz_wrap_begin(data, size);
    if (oidc_jwks_parse((const char *)data, size, &set, &err) == 0) {
        for (size_t i = 0; i < set->n; i++)
            (void)oidc_alg_name(set->keys[i].algs & (0u - set->keys[i].algs)); /* lowest bit */
        oidc_jwks_free(set);
    }
    (void)oidc_err_msg(&err);
    fuzz_wrap_end();
    return 0;
}
