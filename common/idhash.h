/* The frozen UID/GID hash (part of the on-disk contract; see docs/idmap.md for test vectors).
 * Dependency-free so the NSS module can link it. */
#ifndef OIDC_IDHASH_H
#define OIDC_IDHASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64-bit of the bytes. */
uint64_t oidc_fnv1a64(const void *data, size_t len);
/* id = min + FNV-1a-64(domain ":" key) mod (max - min + 1), where domain is "nss-pam-oidc:v1:uid"
 * for users and "nss-pam-oidc:v1:gid" for groups. Requires min <= max. */
uint32_t oidc_idhash_uid(const char *key, size_t len, uint32_t min, uint32_t max);
uint32_t oidc_idhash_gid(const char *key, size_t len, uint32_t min, uint32_t max);
/* The id ranges systemd and Linux reserve (https://systemd.io/UIDS-GIDS/): a UID or GID in one of
 * them is never given to a federated user or group. */
struct oidc_idrange {
    uint32_t lo, hi;
    const char *what;
};
/* The reserved range holding id, or NULL. */
const struct oidc_idrange *oidc_idhash_reserved(uint32_t id);
/* POSIX-safe login/group name: 1..32 bytes of [a-z_][a-z0-9_.-]* (no trailing '-' rule). */
int oidc_name_valid(const char *name);

#endif
