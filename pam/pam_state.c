/* What the module knows about a user between phases: the login record it leaves on the PAM
 * handle, the identity cache, and the local passwd file. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <security/pam_modules.h>

#include "cache.h"
#include "localdb.h"
#include "pam_int.h"

void oidc_pam_login_free(struct oidc_pam_login *l)
{
    if (l == NULL)
        return;
    oidc_identity_free(l->id);
    oidc_groups_clear(&l->groups);
    cJSON_Delete(l->claims);
    free(l->provider);
    free(l->jti);
    oidc_memzero(l, sizeof(*l));
    free(l);
}

static void login_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
    (void)pamh;
    (void)error_status;
    oidc_pam_login_free(data);
}

const struct oidc_pam_login *oidc_pam_login_get(struct oidc_pam_ctx *c)
{
    const void *data = NULL;

    if (pam_get_data(c->pamh, OIDC_PAM_DATA, &data) != PAM_SUCCESS)
        return NULL;
    return data;
}

int oidc_pam_login_set(struct oidc_pam_ctx *c, struct oidc_pam_login *l)
{
    int rc = pam_set_data(c->pamh, OIDC_PAM_DATA, l, login_cleanup);

    if (rc != PAM_SUCCESS)
        oidc_pam_login_free(l);
    return rc;
}

int oidc_pam_local_user(const char *name)
{
    struct oidc_localdb *db = NULL;
    struct oidc_err err = {0};
    int found;

    /* the files, not getpwnam(): NSS would ask libnss_oidc too. A passwd file that cannot be
     * read counts as "local": this module then stays out (auth says PAM_USER_UNKNOWN), so a
     * broken host never shows local users a device prompt nor lets anyone in through us. */
    if (oidc_localdb_load(NULL, &db, &err) != OIDC_OK)
        return 1;
    found = oidc_localdb_user_name(db, name) != NULL;
    oidc_localdb_free(db);
    return found;
}

int oidc_pam_preauth_name(const struct oidc_cfg *cfg, const char *name)
{
    size_t i, j;

    for (i = 0; cfg != NULL && name != NULL && i < cfg->n_providers; i++) {
        const struct oidc_provider_cfg *p = cfg->providers[i];

        if (!p->preauth)
            continue;
        for (j = 0; j < p->preauth_allow.n; j++)
            if (fnmatch(p->preauth_allow.v[j], name, 0) == 0)
                return 1;
    }
    return 0;
}

int oidc_pam_cache_lookup(const struct oidc_cfg *cfg, const char *name, struct oidc_cache_user *out,
                          struct oidc_err *err)
{
    struct oidc_cache_opts opts = {0};
    struct oidc_cache *cache = NULL;
    const struct oidc_cache_user *u;
    char path[4096];
    struct stat st;
    int r;

    memset(out, 0, sizeof(*out));
    /* no cache file: nobody is cached (and opening would create the lock file on hosts where
     * only local users ever log in) */
    if (snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, OIDC_CACHE_FILE) >= (int)sizeof(path))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "state_dir is too long");
    if (stat(path, &st) != 0)
        return errno == ENOENT ? OIDC_ERR_NOTFOUND
                               : OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: %s", path, strerror(errno));
    opts.dir = cfg->state_dir;
    /* a read-only snapshot: no lock, so a writer never holds up an account or session phase */
    if ((r = oidc_cache_load(&opts, &cache, err)) != OIDC_OK)
        return r;
    if ((u = oidc_cache_find(cache, name)) == NULL)
        r = OIDC_ERR_NOTFOUND;
    else
        r = oidc_cache_user_copy(u, out);
    oidc_cache_close(cache);
    return r;
}
