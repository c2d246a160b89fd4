/* The local account databases (/etc/passwd and /etc/group, or the fixture files of struct
 * oidc_idmap_env), read directly so no NSS module, ours included, is consulted. The one reader of
 * these files: the identity mapping refuses a login name they hold and drops an IdP group whose
 * name they hold; the identity cache writer refuses any uid, gid or name they already use. */
#ifndef OIDC_LOCALDB_H
#define OIDC_LOCALDB_H

#include <stddef.h>
#include <stdint.h>
#include "idmap.h"
#include "util.h"

struct oidc_localent {
    char *name;
    uint32_t id; /* uid (passwd) or gid (group) */
};

struct oidc_localdb {
    const char *passwd_path, *group_path; /* the files read (for messages) */
    struct oidc_localent *pw, *gr;
    size_t n_pw, n_gr;
};

/* Reads the name and id of every entry of both files (env NULL or a NULL path: /etc/passwd,
 * /etc/group). Lines are read in bounded chunks; a line whose name or id field is malformed is
 * skipped. A file that cannot be read is OIDC_ERR_IO: callers fail closed. */
int oidc_localdb_load(const struct oidc_idmap_env *env, struct oidc_localdb **out,
                      struct oidc_err *err);
void oidc_localdb_free(struct oidc_localdb *db);

/* The first entry with that name or id, or NULL. */
const struct oidc_localent *oidc_localdb_user_name(const struct oidc_localdb *db, const char *name);
const struct oidc_localent *oidc_localdb_user_id(const struct oidc_localdb *db, uint32_t uid);
const struct oidc_localent *oidc_localdb_group_name(const struct oidc_localdb *db,
                                                    const char *name);
const struct oidc_localent *oidc_localdb_group_id(const struct oidc_localdb *db, uint32_t gid);

#endif
