/* The configuration reader: INI syntax (sections, "key = value" lines, comments, quotes, line
 * limits), [provider NAME idmap] override lines, the walk of a drop-in directory in name order,
 * and the split of a module argument into key and value. Every setting it finds goes to
 * oidc_cfg_set() in conf_keys.c, which owns the keys, types and ranges; this file does not know
 * any key. Whether a file or directory is safe to read (owner, mode, no symbolic link) is
 * decided in conf_file.c. */
#include "config.h"
#include "conf_int.h"
#include "idhash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DROPIN_MAX 256 /* *.conf files in one drop-in directory */

/* The parser's section state for [provider NAME idmap] (beside the OIDC_SCOPE_* values) */
#define SECTION_IDMAP 0x100

/* Trims spaces and tabs at both ends, in place. */
static char *trim(char *s)
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* ---------------------------------------------------------------- the INI parser */

static int parse_section(struct oidc_cfg *cfg, char *s, const char *loc, int *section,
                         struct oidc_provider_cfg **prov, struct oidc_err *err)
{
    struct oidc_provider_cfg *p, **v;
    size_t n = strlen(s);
    const char *problem;
    char *inner, *name, shown[SHOW_MAX + 8];
    int idmap = 0;

    if (n < 2 || s[n - 1] != ']')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: section header without a closing ']' (expected [global] or "
                            "[provider NAME])",
                            loc);
    s[n - 1] = '\0';
    inner = trim(s + 1);
    if (strcmp(inner, "global") == 0) {
        *section = OIDC_SCOPE_GLOBAL;
        *prov = NULL;
        return OIDC_OK;
    }
    if (strncmp(inner, "provider", 8) != 0 || (inner[8] != '\0' && !is_space(inner[8]))) {
        if (oidc_conf_has_control(inner))
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: unknown section (expected [global] or [provider NAME])", loc);
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: unknown section [%.*s] (expected [global] or [provider NAME])",
                            loc, SHOW_MAX, inner);
    }
    name = trim(inner + 8);
    n = strlen(name);
    if (n > 6 && strcmp(name + n - 5, "idmap") == 0 && is_space(name[n - 6])) {
        idmap = 1; /* [provider NAME idmap]: uid overrides, in any file, any number of times */
        name[n - 5] = '\0';
        name = trim(name);
    }
    if (*name == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider]: no provider name (expected [provider NAME])", loc);
    problem =
        oidc_conf_has_control(name) ? "has a control character" : oidc_conf_name_problem(name);
    if (problem != NULL)
        return OIDC_ERR_SET(
            err, OIDC_ERR_CONFIG,
            "%s: [provider]: name %s %s (expected 1 to 64 of A-Z a-z 0-9 _ . -, "
            "not starting with '.')",
            loc, oidc_conf_has_control(name) ? "''" : oidc_conf_show(shown, sizeof(shown), name),
            problem);
    if ((p = oidc_conf_find_provider(cfg, name)) != NULL && (idmap || !p->defined)) {
        /* an idmap section adds to the provider; [provider NAME] completes one that only idmap
         * sections named so far */
        if (!idmap)
            p->defined = 1;
        *section = idmap ? SECTION_IDMAP : OIDC_SCOPE_PROVIDER;
        *prov = p;
        return OIDC_OK;
    }
    if (p != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider %s]: provider '%s' is already defined (each provider "
                            "is one section, in one file)",
                            loc, name, name);
    if (cfg->n_providers >= OIDC_CFG_MAX_PROVIDERS)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: [provider %s]: more than %d providers", loc,
                            name, OIDC_CFG_MAX_PROVIDERS);
    v = realloc(cfg->providers, (cfg->n_providers + 1) * sizeof(*v));
    if (v == NULL)
        return oidc_conf_nomem(err, loc);
    cfg->providers = v;
    p = oidc_conf_provider_new(name);
    if (p == NULL)
        return oidc_conf_nomem(err, loc);
    cfg->providers[cfg->n_providers++] = p;
    p->defined = !idmap;
    *section = idmap ? SECTION_IDMAP : OIDC_SCOPE_PROVIDER;
    *prov = p;
    return OIDC_OK;
}

/* One "NAME = UID" line of a [provider NAME idmap] section. The name and the number are checked
 * here; duplicates, the range and systemd's reserved ids once every file is read
 * (check_overrides). */
static int set_override(struct oidc_cfg *cfg, struct oidc_provider_cfg *prov, const char *key,
                        const char *value, const char *loc, struct oidc_err *err)
{
    struct oidc_idmap_override *v, o = {NULL, 0, NULL};
    const char *problem;
    char shown[SHOW_MAX + 8];
    size_t n;

    (void)cfg;
    if (!oidc_name_valid(key) || strcmp(key, "root") == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider %s idmap]: %s is not a login name (expected NAME = UID, "
                            "NAME of [a-z_][a-z0-9_.-]*, at most 32 bytes, not root)",
                            loc, prov->name,
                            oidc_conf_has_control(key) ? "the key"
                                                       : oidc_conf_show(shown, sizeof(shown), key));
    if ((problem = oidc_conf_parse_uid(value, &o.uid)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: [provider %s idmap]: %s: %s %s (expected a uid, decimal or 0x "
                            "hexadecimal)",
                            loc, prov->name, key,
                            oidc_conf_has_control(value)
                                ? "the value"
                                : oidc_conf_show(shown, sizeof(shown), value),
                            problem);
    if (prov->n_overrides >= OIDC_IDMAP_OVERRIDES_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: [provider %s idmap]: more than %d overrides",
                            loc, prov->name, OIDC_IDMAP_OVERRIDES_MAX);
    /* capacity 8, then doubling: the array is full when n is 0, or a power of two from 8 on */
    n = prov->n_overrides;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        if ((v = realloc(prov->overrides, (n == 0 ? 8 : 2 * n) * sizeof(*v))) == NULL)
            return oidc_conf_nomem(err, loc);
        prov->overrides = v;
    }
    if ((o.name = strdup(key)) == NULL || (o.where = strdup(loc)) == NULL) {
        free(o.name);
        return oidc_conf_nomem(err, loc);
    }
    prov->overrides[prov->n_overrides++] = o;
    return OIDC_OK;
}

static int parse_assignment(struct oidc_cfg *cfg, struct oidc_provider_cfg *prov, int section,
                            char *s, const char *loc, struct oidc_err *err)
{
    char *eq = strchr(s, '='), *key, *value;
    size_t n;

    if (eq == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: not a setting (expected 'key = value', a [section] header or a "
                            "# comment)",
                            loc);
    *eq = '\0';
    key = trim(s);
    value = trim(eq + 1);
    if (*key == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: no key before '=' (expected 'key = value')",
                            loc);
    if (section == 0) {
        if (oidc_conf_has_control(key))
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: a key contains a control character",
                                loc);
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: %.*s: outside of any section (expected it under [global] or "
                            "[provider NAME])",
                            loc, NAME_MAX_LEN, key);
    }
    n = strlen(value);
    if (value[0] == '"') {
        if (n < 2 || value[n - 1] != '"') {
            if (oidc_conf_has_control(key))
                return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: a key contains a control character",
                                    loc);
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: %.*s: unterminated double quote (expected \"value\")", loc,
                                NAME_MAX_LEN, key);
        }
        value[n - 1] = '\0';
        value++;
    }
    if (section == SECTION_IDMAP)
        return set_override(cfg, prov, key, value, loc, err);
    return oidc_cfg_set(cfg, prov, (enum oidc_cfg_scope)section, key, value, loc, err);
}

int oidc_cfg_parse_text(struct oidc_cfg *cfg, const char *text, size_t len, const char *where,
                        struct oidc_err *err)
{
    struct oidc_provider_cfg *prov = NULL;
    char line[LINE_MAX_BYTES + 1], loc[512], *s;
    const char *eol;
    size_t pos = 0, n, next;
    unsigned lineno = 0;
    int section = 0, r;

    if (cfg == NULL || (text == NULL && len > 0))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_parse_text: bad arguments");
    if (where == NULL)
        where = "configuration";
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* UTF-8 byte order mark */
    while (pos < len) {
        lineno++;
        snprintf(loc, sizeof(loc), "%s:%u", where, lineno);
        eol = memchr(text + pos, '\n', len - pos);
        n = eol != NULL ? (size_t)(eol - (text + pos)) : len - pos;
        next = pos + n + (eol != NULL ? 1 : 0);
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (n > LINE_MAX_BYTES)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: line is longer than %d bytes", loc,
                                LINE_MAX_BYTES);
        if (memchr(text + pos, '\0', n) != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: line contains a NUL byte", loc);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = next;

        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[')
            r = parse_section(cfg, s, loc, &section, &prov, err);
        else
            r = parse_assignment(cfg, prov, section, s, loc, err);
        if (r != OIDC_OK)
            return r;
    }
    return OIDC_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dropin_name(const char *n)
{
    size_t len = strlen(n);

    return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

/* Reads DIR/ *.conf in byte order of their names; a missing DIR is fine. */
int oidc_conf_load_dropins(struct oidc_cfg *cfg, const char *dir, struct oidc_err *err)
{
    struct dirent *de;
    DIR *d = NULL;
    char **names = NULL, *text = NULL, shown[4352];
    size_t n = 0, i, len = 0;
    int dfd, fd2, r;

    r = oidc_conf_open_dir(dir, &dfd, err);
    if (r != OIDC_OK || dfd < 0)
        return r; /* refused, or no directory */
    r = OIDC_ERR_CONFIG;
    fd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (fd2 < 0 || (d = fdopendir(fd2)) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
        if (fd2 >= 0)
            close(fd2);
        goto out;
    }
    names = calloc(DROPIN_MAX, sizeof(*names));
    if (names == NULL) {
        r = oidc_conf_nomem(err, dir);
        goto out;
    }
    for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
        if (!is_dropin_name(de->d_name))
            continue;
        if (n == DROPIN_MAX) {
            OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: more than %d *.conf files", dir, DROPIN_MAX);
            goto out;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            r = oidc_conf_nomem(err, dir);
            goto out;
        }
        n++;
    }
    if (errno != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
        goto out;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++) {
        snprintf(shown, sizeof(shown), "%s/%s", dir, names[i]);
        r = oidc_conf_read_safely(dfd, names[i], shown, OIDC_CFG_MAX_FILE_SIZE, CONF_FORBIDDEN,
                                  CONF_MODE_RULE, &text, &len, err);
        if (r == OIDC_ERR_NOTFOUND)
            r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: disappeared while reading", shown);
        if (r != OIDC_OK)
            goto out;
        r = oidc_cfg_parse_text(cfg, text, len, shown, err);
        free(text);
        text = NULL;
        if (r != OIDC_OK)
            goto out;
    }
    r = OIDC_OK;
out:
    if (names != NULL)
        for (i = 0; i < n; i++)
            free(names[i]);
    free(names);
    if (d != NULL)
        closedir(d);
    close(dfd);
    return r;
}

/* One module argument: KEY=VALUE, or a bare KEY. */
int oidc_conf_apply_arg(struct oidc_cfg *cfg, const char *arg, int index, struct oidc_err *err)
{
    const char *eq = strchr(arg, '=');
    char where[32], key[NAME_MAX_LEN + 1];
    size_t klen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

    snprintf(where, sizeof(where), "argument %d", index);
    if (klen == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "%s: no key (expected KEY=VALUE or a bare word such as debug)", where);
    if (klen > NAME_MAX_LEN)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %.*s...: unknown key", where, 32, arg);
    memcpy(key, arg, klen);
    key[klen] = '\0';
    return oidc_cfg_set(cfg, NULL, OIDC_SCOPE_ARG, key, eq != NULL ? eq + 1 : NULL, where, err);
}
