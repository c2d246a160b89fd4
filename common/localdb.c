/* Local passwd/group files: names and ids, read directly (see localdb.h). */
#include "config.h"
#include "localdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PASSWD_PATH "/etc/passwd"
#define DEFAULT_GROUP_PATH  "/etc/group"
#define LINE_BUF            4096 /* bytes read per fgets(); the rest of a longer line is skipped */
#define ENTRIES_MAX         1000000 /* entries per file, a bound on memory */

/* name:x:ID:...: the name (non-empty) and the third field as a decimal u32. 0 when usable. */
static int parse_line(char *line, char **name, uint32_t *id)
{
    char *f1, *f2, *end;
    unsigned long long v;

    if (line[0] == '\0' || line[0] == '#' || line[0] == '+' || line[0] == '-' || line[0] == ':' ||
        line[0] == '\n')
        return -1;
    if ((f1 = strchr(line, ':')) == NULL)
        return -1;
    *f1++ = '\0';
    if ((f2 = strchr(f1, ':')) == NULL)
        return -1;
    f2++;
    if (*f2 < '0' || *f2 > '9')
        return -1;
    errno = 0;
    v = strtoull(f2, &end, 10);
    if (errno != 0 || (*end != ':' && *end != '\n' && *end != '\0') || v > UINT32_MAX)
        return -1;
    *name = line;
    *id = (uint32_t)v;
    return 0;
}

static int read_file(const char *path, struct oidc_localent **out, size_t *n_out,
                     struct oidc_err *err)
{
    char line[LINE_BUF], *name;
    struct oidc_localent *v = NULL, *nv;
    size_t n = 0, cap = 0, i;
    int in_long_line = 0, r = OIDC_ERR_INTERNAL;
    uint32_t id;
    FILE *f;

    if ((f = fopen(path, "re")) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot read %s to check for local accounts: %s",
                            path, strerror(errno));
    for (;;) {
        int starts_line = !in_long_line;

        line[sizeof(line) - 2] = '\0'; /* still NUL after fgets unless the buffer filled */
        if (fgets(line, sizeof(line), f) == NULL)
            break;
        in_long_line = line[sizeof(line) - 2] != '\0' && line[sizeof(line) - 2] != '\n';
        if (!starts_line || parse_line(line, &name, &id) != 0)
            continue;
        if (n == cap) {
            if (cap >= ENTRIES_MAX) {
                r = OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "%s has more than %d entries", path,
                                 ENTRIES_MAX);
                goto out;
            }
            cap = cap != 0 ? cap * 2 : 64;
            if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
                goto nomem;
            v = nv;
        }
        if ((v[n].name = strdup(name)) == NULL)
            goto nomem;
        v[n++].id = id;
    }
    if (ferror(f)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "error reading %s", path);
        goto out;
    }
    *out = v;
    *n_out = n;
    v = NULL; /* transferred */
    n = 0;
    r = OIDC_OK;
    goto out;
nomem:
    r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory reading %s", path);
out:
    for (i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    fclose(f);
    return r;
}

int oidc_localdb_load(const struct oidc_idmap_env *env, struct oidc_localdb **out,
                      struct oidc_err *err)
{
    struct oidc_localdb *db;
    int r;

    if ((db = calloc(1, sizeof(*db))) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    db->passwd_path =
        env != NULL && env->passwd_path != NULL ? env->passwd_path : DEFAULT_PASSWD_PATH;
    db->group_path = env != NULL && env->group_path != NULL ? env->group_path : DEFAULT_GROUP_PATH;
    if ((r = read_file(db->passwd_path, &db->pw, &db->n_pw, err)) != OIDC_OK ||
        (r = read_file(db->group_path, &db->gr, &db->n_gr, err)) != OIDC_OK) {
        oidc_localdb_free(db);
        return r;
    }
    *out = db;
    return OIDC_OK;
}

void oidc_localdb_free(struct oidc_localdb *db)
{
    size_t i;

    if (db == NULL)
        return;
    for (i = 0; i < db->n_pw; i++)
        free(db->pw[i].name);
    for (i = 0; i < db->n_gr; i++)
        free(db->gr[i].name);
    free(db->pw);
    free(db->gr);
    free(db);
}

static const struct oidc_localent *by_name(const struct oidc_localent *v, size_t n,
                                           const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static const struct oidc_localent *by_id(const struct oidc_localent *v, size_t n, uint32_t id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (v[i].id == id)
            return &v[i];
    return NULL;
}

const struct oidc_localent *oidc_localdb_user_name(const struct oidc_localdb *db, const char *name)
{
    return by_name(db->pw, db->n_pw, name);
}

const struct oidc_localent *oidc_localdb_user_id(const struct oidc_localdb *db, uint32_t uid)
{
    return by_id(db->pw, db->n_pw, uid);
}

const struct oidc_localent *oidc_localdb_group_name(const struct oidc_localdb *db, const char *name)
{
    return by_name(db->gr, db->n_gr, name);
}

const struct oidc_localent *oidc_localdb_group_id(const struct oidc_localdb *db, uint32_t gid)
{
    return by_id(db->gr, db->n_gr, gid);
}
