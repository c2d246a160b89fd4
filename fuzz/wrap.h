/* Fault injection for the fuzz targets (STYLE.md rule 21). The targets are linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup, so every call our objects make
 * to these goes through wrap.c first. A failure is injected roughly once in FUZZ_FAIL_ONE_IN
 * calls, from a PRNG seeded with the input, and only between fuzz_wrap_begin() and
 * fuzz_wrap_end(): libFuzzer's and the targets' own set-up never see a failure, and a crash
 * found with an injected failure reproduces from the same input. FUZZ_NO_FAIL=1 in the
 * environment turns injection off (to tell a NOMEM-path bug from any other). */
#ifndef OIDC_FUZZ_WRAP_H
#define OIDC_FUZZ_WRAP_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_FAIL_ONE_IN 400

void fuzz_wrap_begin(const uint8_t *data, size_t size);
void fuzz_wrap_end(void);

#endif
