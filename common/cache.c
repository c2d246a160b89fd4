/* Identity cache writer, the public operations (see cache.h for the interface, cache_rec.h for
 * the records and docs/cache.md for the rules): opening and closing a cache, delete and prune, the
 * preauth record, read access to the users, and the one-call helpers the PAM module and oidcctl
 * use. The users are the source of truth: groups, memberships and the initgroups lists are derived
 * from them when the file is written. The work itself is elsewhere: the tables in
 * cache_table.c, the directory and lock in cache_dir.c, loading in cache_load.c, the upsert rules
 * in cache_rules.c, writing in cache_commit.c and verify in cache_verify.c (cache_int.h). */
#include "config.h"
#include "cache_int.h"
#include "idhash.h"
#include "localdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREAUTH_HOME_MAX 512
#define DEFAULT_HOME     "/home/{name}"
#define DEFAULT_SHELL    "/bin/bash"

_Static_assert(OIDC_CFG_MAX_PROVIDERS <= OIDC_CACHE_OVERRIDE_MAX,
               "an override record holds one entry per provider");

/* ------------------------------------------------------------------ open and close */

static int open_common(const struct oidc_cache_opts *opts, int readonly, struct oidc_cache **out,
                       struct oidc_err *err)
{
    struct oidc_cache *c = NULL;
    int fd = -1, r = OIDC_ERR_INTERNAL;

    if (opts == NULL || out == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache open: missing argument");
        goto out;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->view = calloc(1, sizeof(*c->view))) == NULL ||
        (c->dir = strdup(nz(opts->dir))) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory opening the cache");
        goto out;
    }
    c->dirfd = c->lockfd = -1;
    c->now = opts->now != 0 ? opts->now : oidc_now();
    if (opts->env != NULL) {
        c->env = *opts->env;
        c->has_env = 1;
    }
    c->readonly = readonly;
    if (readonly) {
        c->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c->dirfd < 0 && errno == ENOENT)
            goto done; /* no directory: an empty cache */
        if (c->dirfd < 0) {
            r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot open the state directory %s: %s", c->dir,
                             strerror(errno));
            goto out;
        }
    } else {
        if ((r = oidc_cache_dir_open(opts->dir, &c->dirfd, err)) != OIDC_OK)
            goto out;
        if ((r = oidc_cache_dir_lock(c, err)) != OIDC_OK)
            goto out;
        oidc_cache_dir_clean_tmp(c);
    }
    fd = openat(c->dirfd, OIDC_CACHE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot open %s/%s: %s", c->dir, OIDC_CACHE_FILE,
                         errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        goto out;
    }
    if (fd >= 0 && (r = oidc_cache_load_file(c, fd, err)) != OIDC_OK)
        goto out;
done:
    *out = c;
    c = NULL; /* transferred */
    r = OIDC_OK;
out:
    if (fd >= 0)
        close(fd);
    oidc_cache_close(c);
    return r;
}

int oidc_cache_open(const struct oidc_cache_opts *opts, struct oidc_cache **out,
                    struct oidc_err *err)
{
    return open_common(opts, 0, out, err);
}

int oidc_cache_load(const struct oidc_cache_opts *opts, struct oidc_cache **out,
                    struct oidc_err *err)
{
    return open_common(opts, 1, out, err);
}

void oidc_cache_close(struct oidc_cache *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n_users; i++)
        oidc_cache_user_free(c->users[i]);
    free(c->users);
    free(c->groups);
    oidc_cache_ht_free(&c->u_name);
    oidc_cache_ht_free(&c->u_id);
    oidc_cache_ht_free(&c->g_name);
    oidc_cache_ht_free(&c->g_id);
    oidc_cache_buf_free(&c->preauth);
    oidc_cache_buf_free(&c->overrides);
    oidc_localdb_free(c->local);
    if (c->view != NULL)
        free(c->view->sorted);
    free(c->view);
    if (c->lockfd >= 0)
        close(c->lockfd); /* releases the flock */
    if (c->dirfd >= 0)
        close(c->dirfd);
    free(c->dir);
    free(c);
}

int oidc_cache_delete(struct oidc_cache *c, const char *name, struct oidc_err *err)
{
    long i;

    if (c == NULL || name == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache delete: missing argument");
    if ((i = oidc_cache_lookup_user(c, name)) < 0)
        return OIDC_ERR_SET(err, OIDC_ERR_NOTFOUND, "user '%.*s' is not in the cache",
                            OIDC_NAME_MAX, name);
    oidc_cache_user_remove(c, (uint32_t)i);
    c->dirty = 1;
    return OIDC_OK;
}

int oidc_cache_prune(struct oidc_cache *c, size_t *removed, struct oidc_err *err)
{
    size_t i, n = 0;

    if (c == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache prune: missing argument");
    for (i = c->n_users; i-- > 0;)
        if (c->users[i]->expires != 0 && c->users[i]->expires <= c->now) {
            oidc_cache_user_remove(c, (uint32_t)i);
            n++;
        }
    if (n > 0)
        c->dirty = 1;
    if (removed != NULL)
        *removed = n;
    return OIDC_OK;
}

/* ------------------------------------------------------------------ preauth */

/* A preauth home template may carry "{name}" only: sshd's provisional entry is built from it
 * without any token. */
int oidc_cache_preauth_home_ok(const char *tmpl)
{
    char buf[PREAUTH_HOME_MAX];
    const char *p;

    if (tmpl[0] != '/' || oidc_cache_has_ctl(tmpl) || strchr(tmpl, ':') != NULL ||
        oidc_cache_home_expand(tmpl, "x", buf, sizeof(buf)) != 0)
        return 0;
    for (p = tmpl; *p != '\0'; p++) {
        if (strncmp(p, "{name}", 6) == 0)
            p += 5;
        else if (*p == '{' || *p == '}')
            return 0;
    }
    return 1;
}

struct ovref {
    const char *name, *provider;
    uint32_t uid;
    size_t order; /* the provider's place in the preauth record */
};

static int cmp_ovref(const void *a, const void *b)
{
    const struct ovref *x = a, *y = b;
    int d = strcmp(x->name, y->name);

    if (d != 0)
        return d;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The "o" records of the preauth providers' [provider NAME idmap] overrides, in the layout of
 * c->overrides: sorted by name, one record a name, its entries in provider order. */
static int build_overrides(const struct oidc_cfg *cfg, struct oidc_cache_buf *out,
                           struct oidc_err *err)
{
    struct ovref *v;
    size_t i, j, k, n = 0, order = 0;

    for (i = 0; i < cfg->n_providers; i++)
        if (cfg->providers[i]->preauth)
            n += cfg->providers[i]->n_overrides;
    if (n == 0)
        return OIDC_OK;
    if ((v = calloc(n, sizeof(*v))) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory building the override records");
    for (i = 0, k = 0; i < cfg->n_providers; i++) {
        const struct oidc_provider_cfg *p = cfg->providers[i];

        if (!p->preauth)
            continue;
        for (j = 0; j < p->n_overrides; j++, k++) {
            v[k].name = p->overrides[j].name;
            v[k].provider = nz(p->name);
            v[k].uid = p->overrides[j].uid;
            v[k].order = order;
        }
        order++;
    }
    qsort(v, n, sizeof(*v), cmp_ovref);
    for (i = 0; i < n; i = j) {
        uint32_t len = 4;

        for (j = i; j < n && strcmp(v[j].name, v[i].name) == 0; j++)
            len += 4 + (uint32_t)strlen(v[j].provider) + 1;
        if (strlen(v[i].name) > OIDC_CACHE_NAME_MAX || j - i > OIDC_CACHE_OVERRIDE_MAX) {
            out->failed = 1; /* oidc_cfg_check() allows neither */
            break;
        }
        oidc_cache_buf_str(out, v[i].name);
        oidc_cache_buf_u32(out, len);
        oidc_cache_buf_u32(out, (uint32_t)(j - i));
        for (k = i; k < j; k++) {
            oidc_cache_buf_u32(out, v[k].uid);
            oidc_cache_buf_str(out, v[k].provider);
        }
    }
    free(v);
    if (out->failed) {
        oidc_cache_buf_free(out);
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "[provider NAME idmap]: a name longer than %d bytes, or out of memory",
                            OIDC_CACHE_NAME_MAX);
    }
    return OIDC_OK;
}

static int buf_same(const struct oidc_cache_buf *a, const struct oidc_cache_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

int oidc_cache_set_preauth(struct oidc_cache *c, const struct oidc_cfg *cfg, struct oidc_err *err)
{
    struct oidc_cache_buf b = {0}, o = {0};
    uint32_t n = 0, min, max;
    size_t i, k;
    int r;

    if (c == NULL || cfg == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache preauth: missing argument");
    for (i = 0; i < cfg->n_providers; i++)
        if (cfg->providers[i]->preauth)
            n++;
    oidc_cache_buf_u32(&b, n);
    for (i = 0; i < cfg->n_providers; i++) {
        const struct oidc_provider_cfg *p = cfg->providers[i];
        const char *home = p->home != NULL && p->home[0] != '\0' ? p->home : DEFAULT_HOME;
        const char *shell = p->shell != NULL && p->shell[0] != '\0' ? p->shell : DEFAULT_SHELL;

        if (!p->preauth)
            continue;
        if (!oidc_cache_preauth_home_ok(home)) {
            oidc_cache_buf_free(&b);
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "provider '%s': home: '%.64s' has a placeholder other than {name} "
                                "(or is not an absolute path); preauth = yes needs a home that "
                                "sshd can be told before any token is seen",
                                nz(p->name), home);
        }
        if (p->uid_key != OIDC_UID_KEY_NAME) {
            oidc_cache_buf_free(&b);
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "provider '%s': preauth: needs uid_key = name", nz(p->name));
        }
        min = p->uid_min;
        max = p->uid_max;
        if (min == 0 && max == 0) {
            min = OIDC_UID_MIN_DEFAULT;
            max = OIDC_UID_MAX_DEFAULT;
        }
        oidc_cache_buf_u32(&b, min);
        oidc_cache_buf_u32(&b, max);
        oidc_cache_buf_u32(&b, (uint32_t)p->preauth_allow.n);
        oidc_cache_buf_str(&b, nz(p->name));
        oidc_cache_buf_str(&b, home);
        oidc_cache_buf_str(&b, shell);
        for (k = 0; k < p->preauth_allow.n; k++)
            oidc_cache_buf_str(&b, p->preauth_allow.v[k]);
    }
    if (b.failed) {
        oidc_cache_buf_free(&b);
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "preauth: a provider name, home, shell or pattern is longer than %d "
                            "bytes (or out of memory)",
                            OIDC_CACHE_STR_MAX);
    }
    if ((r = build_overrides(cfg, &o, err)) != OIDC_OK) {
        oidc_cache_buf_free(&b);
        return r;
    }
    if (!buf_same(&c->overrides, &o)) {
        oidc_cache_buf_free(&c->overrides);
        c->overrides = o;
        c->dirty = 1;
    } else {
        oidc_cache_buf_free(&o);
    }
    /* no record and none needed, or the same one */
    if ((!c->has_preauth && n == 0) || (c->has_preauth && buf_same(&c->preauth, &b))) {
        oidc_cache_buf_free(&b);
        return OIDC_OK;
    }
    oidc_cache_buf_free(&c->preauth);
    c->preauth = b;
    c->has_preauth = 1;
    c->dirty = 1;
    return OIDC_OK;
}

/* ------------------------------------------------------------------ read access */

const struct oidc_cache_user *oidc_cache_find(const struct oidc_cache *c, const char *name)
{
    long i;

    if (c == NULL || name == NULL || (i = oidc_cache_lookup_user(c, name)) < 0)
        return NULL;
    return c->users[i];
}

int oidc_cache_has_provenance(const struct oidc_cache *c)
{
    return c != NULL && !c->no_provenance;
}

size_t oidc_cache_count(const struct oidc_cache *c)
{
    return c != NULL ? c->n_users : 0;
}

const struct oidc_cache_user *oidc_cache_at(const struct oidc_cache *c, size_t i)
{
    if (c == NULL || i >= c->n_users || oidc_cache_view_build(c) != 0)
        return NULL;
    return c->view->sorted[i];
}

/* ------------------------------------------------------------------ one-call helpers */

int oidc_cache_preprovision_uid(const struct oidc_provider_cfg *p, const char *name,
                                const char *subject, uint32_t *uid, struct oidc_err *err)
{
    uint32_t min, max;
    size_t ilen, slen;
    char *key;

    if (p == NULL || name == NULL || uid == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "pre-provision: missing argument");
    min = p->uid_min;
    max = p->uid_max;
    if (min == 0 && max == 0) {
        min = OIDC_UID_MIN_DEFAULT;
        max = OIDC_UID_MAX_DEFAULT;
    }
    if (min == 0 || min > max || max == UINT32_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "provider '%s': the uid range is not usable",
                            nz(p->name));
    switch (p->uid_key) {
    case OIDC_UID_KEY_NAME:
        *uid = oidc_idhash_uid(name, strlen(name), min, max);
        return OIDC_OK;
    case OIDC_UID_KEY_SUBJECT:
        if (subject == NULL || subject[0] == '\0')
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "provider '%s' has uid_key = subject: the uid comes from the "
                                "subject, so it must be given (--subject SUB)",
                                nz(p->name));
        /* docs/idmap.md: the key is the issuer, one '\n' byte, then sub */
        ilen = strlen(nz(p->issuer));
        slen = strlen(subject);
        if ((key = malloc(ilen + 1 + slen)) == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
        memcpy(key, nz(p->issuer), ilen);
        key[ilen] = '\n';
        memcpy(key + ilen + 1, subject, slen);
        *uid = oidc_idhash_uid(key, ilen + 1 + slen, min, max);
        free(key);
        return OIDC_OK;
    default:
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s' takes the uid from a token claim (uid_key = claim:%s); "
                            "a user cannot be pre-provisioned before the token is seen",
                            nz(p->name), nz(p->uid_claim));
    }
}

int oidc_cache_store_identity_opts(const struct oidc_cache_opts *opts, const struct oidc_cfg *cfg,
                                   const struct oidc_provider_cfg *p,
                                   const struct oidc_identity *id, uint32_t flags, int *written,
                                   struct oidc_cache_drops *drops, struct oidc_err *err)
{
    struct oidc_cache_user u;
    struct oidc_cache *c = NULL;
    int64_t now;
    int r;

    if (written != NULL)
        *written = 0;
    if (opts == NULL || cfg == NULL || p == NULL || id == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache store: missing argument");
    if ((r = oidc_cache_open(opts, &c, err)) != OIDC_OK)
        return r;
    now = c->now;
    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", id->name);
    u.uid = id->uid;
    u.gid = id->gid;
    /* the strings are borrowed: u is never cleared */
    u.gecos = id->gecos;
    u.home = id->home;
    u.shell = id->shell;
    u.issuer = id->issuer;
    u.subject = id->subject;
    u.provider = p->name;
    u.first_login = now; /* an existing entry keeps its own */
    u.last_login = now;
    u.expires = cfg->cache_ttl > 0 ? now + cfg->cache_ttl : 0;
    u.flags = flags & ~OIDC_CACHE_F_PREPROVISIONED;
    u.groups = id->groups;
    u.n_groups = id->n_groups;
    if ((r = oidc_cache_upsert_drops(c, &u, drops, err)) == OIDC_OK &&
        (r = oidc_cache_set_preauth(c, cfg, err)) == OIDC_OK)
        r = oidc_cache_commit(c, written, err);
    oidc_cache_close(c);
    return r;
}

int oidc_cache_store_identity(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                              const struct oidc_identity *id, uint32_t flags, int64_t now,
                              int *written, struct oidc_cache_drops *drops, struct oidc_err *err)
{
    struct oidc_cache_opts o = {NULL, NULL, now};

    if (cfg == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache store: missing configuration");
    o.dir = cfg->state_dir;
    return oidc_cache_store_identity_opts(&o, cfg, p, id, flags, written, drops, err);
}

int oidc_cache_preview_drops(const struct oidc_cache_opts *opts, const struct oidc_identity *id,
                             struct oidc_cache_drops *drops, struct oidc_err *err)
{
    struct oidc_cache *c = NULL;
    size_t k;
    long g;
    int r;

    if (opts == NULL || id == NULL || drops == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache preview: missing argument");
    if ((r = oidc_cache_load(opts, &c, err)) != OIDC_OK)
        return r;
    if ((r = oidc_cache_need_local(c, err)) != OIDC_OK)
        goto out;
    for (k = 0; k < id->n_groups; k++)
        if (oidc_cache_group_name_taken(c, id->name, &id->groups[k], drops) < 0) {
            r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
            goto out;
        }
    if (oidc_cache_lookup_user(c, id->name) < 0 && (g = oidc_cache_lookup_group(c, id->name)) >= 0)
        r = oidc_cache_report_evictions(c, id->name, g, drops, err);
out:
    oidc_cache_close(c);
    return r;
}

int oidc_cache_remove_user_opts(const struct oidc_cache_opts *opts, const char *name,
                                struct oidc_err *err)
{
    struct oidc_cache *c = NULL;
    int r;

    if ((r = oidc_cache_open(opts, &c, err)) != OIDC_OK)
        return r;
    r = oidc_cache_delete(c, name, err);
    if (r == OIDC_ERR_NOTFOUND)
        r = OIDC_OK;
    else if (r == OIDC_OK)
        r = oidc_cache_commit(c, NULL, err);
    oidc_cache_close(c);
    return r;
}

int oidc_cache_remove_user(const struct oidc_cfg *cfg, const char *name, struct oidc_err *err)
{
    struct oidc_cache_opts o = {NULL, NULL, 0};

    if (cfg == NULL || name == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache remove: missing argument");
    o.dir = cfg->state_dir;
    return oidc_cache_remove_user_opts(&o, name, err);
}
