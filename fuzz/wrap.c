/* Fault injection: see wrap.h. */
#include "wrap.h"

#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t nmemb, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t nmemb, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static int active;
static uint64_t state;

void fuzz_wrap_begin(const uint8_t *data, size_t size)
{
    static int disabled = -1;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the input */

    if (disabled < 0) {
        const char *e = getenv("FUZZ_NO_FAIL");
        disabled = e != NULL && strcmp(e, "1") == 0;
    }
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3ull;
    state = h | 1;
    active = !disabled;
}

void fuzz_wrap_end(void)
{
    active = 0;
}

/* xorshift64*: cheap, deterministic, good enough to spread the failures. */
static int should_fail(void)
{
    if (!active)
        return 0;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (state * 0x2545f4914f6cdd1dull) % FUZZ_FAIL_ONE_IN == 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t nmemb, size_t n)
{
    return should_fail() ? NULL : __real_calloc(nmemb, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}
