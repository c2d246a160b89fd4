/* Configuration: the public API of conf.h that is neither a key nor a syntax rule: loading the
 * file, its drop-ins and the module arguments in that order (oidc_cfg_load, oidc_cfg_load_file)
 * and looking up a provider. The table of keys, the setter, the defaults and the cross-field
 * checks are in conf_keys.c; the INI reader and argument splitting in conf_ini.c; owner, mode
 * and symbolic-link checks of files and the secret files in conf_file.c. */
#include "config.h"
#include "conf_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CONF_FILE SYSCONFDIR "/nss-pam-oidc.conf"

struct oidc_provider_cfg *oidc_conf_find_provider(const struct oidc_cfg *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->n_providers; i++)
        if (oidc_streq(cfg->providers[i]->name, name))
            return cfg->providers[i];
    return NULL;
}

const struct oidc_provider_cfg *oidc_cfg_provider(const struct oidc_cfg *cfg, const char *name)
{
    if (cfg == NULL)
        return NULL;
    if (name == NULL)
        name = cfg->default_provider;
    if (name == NULL)
        return cfg->n_providers == 1 ? cfg->providers[0] : NULL;
    return oidc_conf_find_provider(cfg, name);
}

int oidc_cfg_load_file(struct oidc_cfg *cfg, const char *path, int explicit_path,
                       struct oidc_err *err)
{
    char *text = NULL, *copy = NULL;
    size_t len = 0;
    int r;

    if (cfg == NULL || path == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_load_file: bad arguments");
    if (path[0] != '/')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: not an absolute path (expected /absolute/path)", path);
    r = oidc_conf_read_safely(AT_FDCWD, path, path, OIDC_CFG_MAX_FILE_SIZE, CONF_FORBIDDEN,
                              CONF_MODE_RULE, &text, &len, err);
    if (r == OIDC_ERR_NOTFOUND) {
        if (!explicit_path)
            return OIDC_OK; /* no default file: an empty configuration */
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: no such file", path);
    }
    if (r != OIDC_OK)
        return r;
    if (cfg->config_path == NULL && (copy = strdup(path)) == NULL) {
        r = oidc_conf_nomem(err, path);
        goto out;
    }
    r = oidc_cfg_parse_text(cfg, text, len, path, err);
    if (r != OIDC_OK)
        goto out;
    if (copy != NULL) {
        cfg->config_path = copy;
        copy = NULL; /* transferred */
    }
out:
    free(copy);
    free(text);
    return r;
}

int oidc_cfg_load(int argc, const char **argv, struct oidc_cfg **out, struct oidc_err *err)
{
    struct oidc_cfg *cfg = NULL;
    const char *path = NULL;
    char dropdir[4096], shown[SHOW_MAX + 8];
    int i, r, explicit_path;

    if (out == NULL || argc < 0 || (argc > 0 && argv == NULL))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_load: bad arguments");
    for (i = 0; i < argc; i++) {
        if (argv[i] == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "argument %d: NULL", i + 1);
        if (strncmp(argv[i], "config=", 7) != 0)
            continue;
        if (path != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "argument %d: config: given twice in the module arguments", i + 1);
        path = argv[i] + 7;
        if (path[0] != '/' || oidc_conf_has_control(path))
            return OIDC_ERR_SET(
                err, OIDC_ERR_CONFIG,
                "argument %d: config: %s is not an absolute path (expected "
                "config=/absolute/path)",
                i + 1,
                oidc_conf_has_control(path) ? "''" : oidc_conf_show(shown, sizeof(shown), path));
    }

    cfg = oidc_cfg_new();
    if (cfg == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    explicit_path = path != NULL;
    if (path == NULL)
        path = CONF_FILE;
    r = oidc_cfg_load_file(cfg, path, explicit_path, err);
    if (r != OIDC_OK)
        goto out;
    if ((size_t)snprintf(dropdir, sizeof(dropdir), "%s.d", path) >= sizeof(dropdir)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "config: path too long");
        goto out;
    }
    r = oidc_conf_load_dropins(cfg, dropdir, err);
    if (r != OIDC_OK)
        goto out;
    for (i = 0; i < argc; i++) {
        r = oidc_conf_apply_arg(cfg, argv[i], i + 1, err);
        if (r != OIDC_OK)
            goto out;
    }
    r = oidc_cfg_check(cfg, err);
    if (r != OIDC_OK)
        goto out;
    *out = cfg;
    cfg = NULL; /* transferred */
    r = OIDC_OK;
out:
    oidc_cfg_free(cfg);
    return r;
}
