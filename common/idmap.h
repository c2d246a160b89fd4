/* Identity mapping: verified claims -> local name, uid, gid and groups. */
#ifndef OIDC_IDMAP_H
#define OIDC_IDMAP_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "conf.h"
#include "groups.h"
#include "util.h"

#define OIDC_NAME_MAX   32
#define OIDC_GROUPS_MAX 256

struct oidc_group {
    char *name;
    uint32_t gid;
};

struct oidc_identity {
    char name[OIDC_NAME_MAX + 1];
    uint32_t uid, gid; /* gid == uid: private primary group */
    char *issuer, *subject, *gecos, *home, *shell;
    struct oidc_group *groups;
    size_t n_groups;
};

/* The files that decide whether a name is a local account or group (default /etc/passwd and
 * /etc/group), read directly by localdb.c, never through getpwnam()/getgrnam(), so no NSS module
 * (ours, LDAP, SSSD ...) is consulted: names that only other NSS sources know are not checked (see
 * docs/idmap.md). Tests point these at fixture files. */
struct oidc_idmap_env {
    const char *passwd_path; /* NULL = /etc/passwd */
    const char *group_path;  /* NULL = /etc/group */
};

/* Maps verified claims of a presented token (iss and sub must be present); the groups are the
 * token's (oidc_groups_from_token: none with groups_source = userinfo, a refusal for a token with
 * the overage marker). Refuses with OIDC_ERR_MAPPING and a precise
 * message: no usable username claim, a name that is not POSIX-safe after the configured
 * transformations, root, a name present in passwd or group, a missing uid claim. Groups that are
 * not POSIX-safe, not allowed, or local group names are skipped, not fatal. */
int oidc_idmap_map(const struct oidc_provider_cfg *pcfg, const struct oidc_idmap_env *env,
                   const cJSON *claims, struct oidc_identity **out, struct oidc_err *err);
/* The same with the groups taken from groups (a device login's, oidc_groups_resolve): groups->raw
 * gives the supplementary groups, claims everything else. */
int oidc_idmap_map_groups(const struct oidc_provider_cfg *pcfg, const struct oidc_idmap_env *env,
                          const cJSON *claims, const struct oidc_groups *groups,
                          struct oidc_identity **out, struct oidc_err *err);
void oidc_identity_free(struct oidc_identity *id);

/* The [provider NAME idmap] override of a login name, or NULL. */
const struct oidc_idmap_override *oidc_idmap_override_find(const struct oidc_provider_cfg *p,
                                                           const char *name);
/* The uid of a login name under uid_key = name: its override when there is one, else the frozen
 * hash into min..max. The private group's gid is the same number. */
uint32_t oidc_idmap_name_uid(const struct oidc_provider_cfg *p, const char *name, uint32_t min,
                             uint32_t max);

/* Expands "{claim}" placeholders (top-level string or integer claims only; "{{" is a literal
 * brace) into out (cap bytes). Missing claims are OIDC_ERR_MAPPING. */
int oidc_idmap_template(const char *tmpl, const cJSON *claims, char *out, size_t cap,
                        struct oidc_err *err);

#endif
