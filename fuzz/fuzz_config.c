/* libFuzzer target: the configuration parser (INI text, every key through oidc_cfg_set) and the
 * cross-field checks after it. */
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oidc_err err = {0};
    struct oidc_cfg *cfg;

    if (size > OIDC_CFG_MAX_FILE_SIZE) /* the loader refuses bigger files before parsing */
        return 0;
    fuzz_wrap_begin(data, size);
    cfg = oidc_cfg_new();
    if (cfg != NULL) {
        if (oidc_cfg_parse_text(cfg, (const char *)data, size, "fuzz.conf", &err) == 0 &&
            oidc_cfg_check(cfg, &err) == 0)
            (void)oidc_cfg_provider(cfg, NULL);
        oidc_cfg_free(cfg);
    }
    (void)oidc_err_msg(&err);
    fuzz_wrap_end();
    return 0;
}
