/* The frozen UID/GID hash and the POSIX name rule. Part of the on-disk contract: every host of a
 * fleet must compute the same numbers, release after release. docs/idmap.md describes the
 * algorithm byte by byte and lists test vectors; tests/unit/test_idmap.c asserts them. Do not
 * change anything here without a new domain string ("nss-pam-oidc:v2:...") and a migration plan.
 *
 * libc only: the NSS module links this unit. */
#include "config.h"
#include "idhash.h"

#define FNV1A64_OFFSET 0xcbf29ce484222325ULL
#define FNV1A64_PRIME  0x100000001b3ULL

/* Domain-separation prefixes; the ':' that follows is hashed as a separate byte. */
#define IDHASH_DOMAIN_UID "nss-pam-oidc:v1:uid"
#define IDHASH_DOMAIN_GID "nss-pam-oidc:v1:gid"

#define NAME_MAX_BYTES 32

static uint64_t fnv1a64_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    if (p == NULL)
        return h;
    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV1A64_PRIME; /* modulo 2^64 by unsigned wrap-around */
    }
    return h;
}

uint64_t oidc_fnv1a64(const void *data, size_t len)
{
    return fnv1a64_update(FNV1A64_OFFSET, data, len);
}

/* h = FNV-1a-64(domain || ':' || key); id = min + h mod (max - min + 1), computed in 64 bits so
 * the full range 0..0xFFFFFFFF cannot overflow the divisor. */
static uint32_t idhash(const char *domain, size_t dlen, const char *key, size_t len, uint32_t min,
                       uint32_t max)
{
    uint64_t h = FNV1A64_OFFSET;

    if (min > max) /* a caller bug; callers validate the range first */
        return min;
    h = fnv1a64_update(h, domain, dlen);
    h = fnv1a64_update(h, ":", 1);
    h = fnv1a64_update(h, key, len);
    return (uint32_t)(min + h % ((uint64_t)max - min + 1));
}

uint32_t oidc_idhash_uid(const char *key, size_t len, uint32_t min, uint32_t max)
{
    return idhash(IDHASH_DOMAIN_UID, sizeof(IDHASH_DOMAIN_UID) - 1, key, len, min, max);
}

uint32_t oidc_idhash_gid(const char *key, size_t len, uint32_t min, uint32_t max)
{
    return idhash(IDHASH_DOMAIN_GID, sizeof(IDHASH_DOMAIN_GID) - 1, key, len, min, max);
}

/* systemd's UIDS-GIDS document and uid-classification.h, in ascending order. The regular range
 * 1000..60000 is not listed: local accounts there are checked one by one from /etc/passwd. */
static const struct oidc_idrange reserved[] = {
    {0, 0, "root"},
    {1, 999, "the system user range 1-999"},
    {60001, 60513, "systemd-homed's range 60001-60513"},
    {60514, 60577, "systemd's greeter range 60514-60577"},
    {61184, 65519, "systemd's dynamic user range 61184-65519"},
    {65534, 65534, "nobody (65534)"},
    {65535, 65535, "the 16-bit (uid_t)-1 (65535)"},
    {524288, 1879048191, "systemd's container range 524288-1879048191"},
    {2147352576, 2147418111,
     "systemd's foreign range 2147352576-2147418111 (0x7FFE0000-0x7FFEFFFF)"},
    {4294967294u, 4294967294u, "the 32-bit (uid_t)-2 (4294967294)"},
    {4294967295u, 4294967295u, "the 32-bit (uid_t)-1 (4294967295)"},
};

const struct oidc_idrange *oidc_idhash_reserved(uint32_t id)
{
    size_t i;

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (id >= reserved[i].lo && id <= reserved[i].hi)
            return &reserved[i];
    return NULL;
}

/* ASCII classes spelled out: no locale, no <ctype.h>. */
static int is_first(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

static int is_rest(unsigned char c)
{
    return is_first(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* 1..32 bytes; the first is [a-z_], the others [a-z0-9_.-]. Because the first byte is never a digit
 * or a '.', the name can be neither all digits (it would read as a numeric id) nor "." or "..". */
int oidc_name_valid(const char *name)
{
    size_t i;

    if (name == NULL || !is_first((unsigned char)name[0]))
        return 0;
    for (i = 1; name[i] != '\0'; i++) {
        if (i >= NAME_MAX_BYTES || !is_rest((unsigned char)name[i]))
            return 0;
    }
    return 1;
}
