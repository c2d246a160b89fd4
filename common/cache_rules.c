/* Identity cache writer, the rules for a new or changed user (oidc_cache_upsert and
 * oidc_cache_upsert_drops): the fields a user may carry, the binding of a name to its issuer and
 * subject, uid and gid collisions with the cache and the local files, the groups that are dropped
 * or evicted, and when a repeat login is worth a write. It changes the tables in memory only:
 * writing them is cache_commit.c's job. */
#include "config.h"
#include "cache_int.h"
#include "idhash.h"
#include "localdb.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_NO_TTL 3600 /* last_login granularity of an entry that never expires */
#define SHOW_MAX       72   /* bytes of an issuer or subject shown in a message */

/* ------------------------------------------------------------------ upsert */

int oidc_cache_has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 1;
    return 0;
}

/* A string of a record: at most OIDC_CACHE_STR_MAX bytes, no control bytes, and (for the passwd
 * fields) no ':'. */
static int field_ok(const char *s, int passwd_field)
{
    return strnlen(s, OIDC_CACHE_STR_MAX + 1) <= OIDC_CACHE_STR_MAX && !oidc_cache_has_ctl(s) &&
           (!passwd_field || strchr(s, ':') == NULL);
}

static int check_user(const struct oidc_cache_user *u, struct oidc_err *err)
{
    size_t i, k;

    if (!oidc_name_valid(u->name) || strcmp(u->name, "root") == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache: '%.*s' is not a usable login name",
                            OIDC_NAME_MAX, u->name);
    if (u->uid == 0 || u->uid == UINT32_MAX || u->gid != u->uid)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID,
                            "cache: user '%s' has uid %" PRIu32 " and gid %" PRIu32
                            " (expected a non-zero uid and gid == uid)",
                            u->name, u->uid, u->gid);
    if (!field_ok(nz(u->gecos), 1) || !field_ok(nz(u->home), 1) || !field_ok(nz(u->shell), 1) ||
        !field_ok(nz(u->issuer), 0) || !field_ok(nz(u->subject), 0) ||
        !field_ok(nz(u->provider), 0))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID,
                            "cache: user '%s' has a field that is too long or holds a control "
                            "character (or ':' in gecos, home or shell)",
                            u->name);
    if (nz(u->home)[0] != '/' || nz(u->shell)[0] != '/')
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID,
                            "cache: user '%s' needs an absolute home directory and shell", u->name);
    if (nz(u->issuer)[0] == '\0')
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache: user '%s' has no issuer", u->name);
    if (nz(u->subject)[0] == '\0' && !(u->flags & OIDC_CACHE_F_PREPROVISIONED))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID,
                            "cache: user '%s' has no subject and is not pre-provisioned", u->name);
    if (u->n_groups > OIDC_CACHE_GROUPS_MAX || (u->n_groups > 0 && u->groups == NULL))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache: user '%s' has %zu groups (at most %d)",
                            u->name, u->n_groups, OIDC_CACHE_GROUPS_MAX);
    for (i = 0; i < u->n_groups; i++) {
        const struct oidc_group *g = &u->groups[i];
        if (g->name == NULL || !oidc_name_valid(g->name) || strcmp(g->name, "root") == 0 ||
            g->gid == 0 || g->gid == UINT32_MAX)
            return OIDC_ERR_SET(err, OIDC_ERR_INVALID,
                                "cache: user '%s' has an unusable group ('%.*s', gid %" PRIu32 ")",
                                u->name, OIDC_NAME_MAX, nz(g->name), g->gid);
        if (strcmp(g->name, u->name) == 0 || g->gid == u->uid)
            return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                "group '%s' (gid %" PRIu32 ") of user '%s' (uid %" PRIu32
                                ") would take the user's private group",
                                g->name, g->gid, u->name, u->uid);
        for (k = 0; k < i; k++)
            if (strcmp(u->groups[k].name, g->name) == 0 || u->groups[k].gid == g->gid)
                return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                    "groups '%s' and '%s' of user '%s' have the same name or gid "
                                    "%" PRIu32,
                                    u->groups[k].name, g->name, u->name, g->gid);
    }
    return OIDC_OK;
}

int oidc_cache_need_local(struct oidc_cache *c, struct oidc_err *err)
{
    if (c->local != NULL)
        return OIDC_OK;
    return oidc_localdb_load(c->has_env ? &c->env : NULL, &c->local, err);
}

void oidc_cache_drops_free(struct oidc_cache_drops *d)
{
    if (d == NULL)
        return;
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

static int drop_add(struct oidc_cache_drops *d, const char *user, const char *group, uint32_t gid,
                    const char *fmt, ...) OIDC_FORMAT(5, 6);
static int drop_add(struct oidc_cache_drops *d, const char *user, const char *group, uint32_t gid,
                    const char *fmt, ...)
{
    struct oidc_cache_drop *nv, *e;
    va_list ap;

    if (d == NULL)
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap != 0 ? d->cap * 2 : 8;
        if ((nv = realloc(d->v, cap * sizeof(*nv))) == NULL)
            return -1;
        d->v = nv;
        d->cap = cap;
    }
    e = &d->v[d->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->user, sizeof(e->user), "%s", user);
    snprintf(e->group, sizeof(e->group), "%s", group);
    e->gid = gid;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
    va_end(ap);
    return 0;
}

/* Whether the name of supplementary group g of user is taken (docs/cache.md): the user's own
 * name, another cached user's (its private group), a local group or a local account. The
 * membership is then dropped, never the login; the reason goes to drops. 1 = taken, 0 = free,
 * -1 = out of memory. */
int oidc_cache_group_name_taken(struct oidc_cache *c, const char *user, const struct oidc_group *g,
                                struct oidc_cache_drops *drops)
{
    if (c->local == NULL) /* filter_groups refuses this first; never count it as free */
        return 1;
    if (strcmp(g->name, user) == 0)
        return drop_add(drops, user, g->name, g->gid, "it is the user's own private group") < 0 ? -1
                                                                                                : 1;
    if (oidc_cache_lookup_user(c, g->name) >= 0)
        return drop_add(drops, user, g->name, g->gid,
                        "it is the name of cached user '%s' (its private group)", g->name) < 0
                   ? -1
                   : 1;
    if (oidc_localdb_group_name(c->local, g->name) != NULL)
        return drop_add(drops, user, g->name, g->gid, "it is a local group in %s",
                        c->local->group_path) < 0
                   ? -1
                   : 1;
    if (oidc_localdb_user_name(c->local, g->name) != NULL)
        return drop_add(drops, user, g->name, g->gid, "it is the name of local account '%s' in %s",
                        g->name, c->local->passwd_path) < 0
                   ? -1
                   : 1;
    return 0;
}

/* The groups of u whose names are free, into kept (n_groups entries, shallow), the others into
 * drops. */
static int filter_groups(struct oidc_cache *c, const struct oidc_cache_user *u,
                         struct oidc_group *kept, size_t *n_kept, struct oidc_cache_drops *drops,
                         struct oidc_err *err)
{
    size_t k;
    int t;

    *n_kept = 0;
    if (u->n_groups > 0 && (c->local == NULL || kept == NULL))
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cache upsert: local names not loaded");
    for (k = 0; k < u->n_groups; k++) {
        if ((t = oidc_cache_group_name_taken(c, u->name, &u->groups[k], drops)) < 0)
            return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory updating the cache");
        if (t == 0)
            kept[(*n_kept)++] = u->groups[k];
    }
    return OIDC_OK;
}

/* A new user named like a cached supplementary group takes the name for its private group: the
 * group's memberships are reported into drops here, and removed by evict_group(). */
int oidc_cache_report_evictions(struct oidc_cache *c, const char *name, long g,
                                struct oidc_cache_drops *drops, struct oidc_err *err)
{
    size_t i, k;

    for (i = 0; i < c->n_users; i++)
        for (k = 0; k < c->users[i]->n_groups; k++)
            if (strcmp(c->users[i]->groups[k].name, name) == 0 &&
                drop_add(drops, c->users[i]->name, name, c->groups[g].gid,
                         "user '%s' now owns a private group of that name", name) < 0)
                return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory updating the cache");
    return OIDC_OK;
}

static void evict_group(struct oidc_cache *c, const char *name)
{
    size_t i, k;

    for (i = 0; i < c->n_users; i++) {
        struct oidc_cache_user *u = c->users[i];
        for (k = 0; k < u->n_groups; k++)
            if (strcmp(u->groups[k].name, name) == 0) {
                oidc_cache_group_unref(c, name);
                free(u->groups[k].name);
                memmove(&u->groups[k], &u->groups[k + 1],
                        (u->n_groups - k - 1) * sizeof(u->groups[0]));
                u->n_groups--;
                break;
            }
    }
}

/* Refuses a new user whose name or uid (and private gid) is taken; *evict gets the cached
 * supplementary group of the user's name (-1: none), which the user's private group replaces. */
static int check_new_user(struct oidc_cache *c, const struct oidc_cache_user *u, long *evict,
                          struct oidc_err *err)
{
    const struct oidc_localent *l;
    long i;

    *evict = -1;
    if ((l = oidc_localdb_user_name(c->local, u->name)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "user '%s' is a local account in %s", u->name,
                            c->local->passwd_path);
    if ((l = oidc_localdb_group_name(c->local, u->name)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "user '%s' would own a private group of that name, but '%s' is a "
                            "local group in %s",
                            u->name, u->name, c->local->group_path);
    *evict = oidc_cache_lookup_group(c, u->name);
    if ((i = oidc_cache_lookup_uid(c, u->uid)) >= 0)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "uid %" PRIu32 " of user '%s' is already the uid of cached user '%s' "
                            "(refusing to share it; see docs/cache.md on collisions)",
                            u->uid, u->name, c->users[i]->name);
    if ((i = oidc_cache_lookup_gid(c, u->uid)) >= 0 && i != *evict)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "uid %" PRIu32 " of user '%s' (also its private gid) is already the "
                            "gid of cached group '%s'",
                            u->uid, u->name, c->groups[i].name);
    if ((l = oidc_localdb_user_id(c->local, u->uid)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "uid %" PRIu32 " of user '%s' is the uid of local account '%s' in %s",
                            u->uid, u->name, l->name, c->local->passwd_path);
    if ((l = oidc_localdb_group_id(c->local, u->uid)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "uid %" PRIu32 " of user '%s' (also its private gid) is the gid of "
                            "local group '%s' in %s",
                            u->uid, u->name, l->name, c->local->group_path);
    return OIDC_OK;
}

/* The gids of u's groups (their names are free: filter_groups). evict: a group about to go. */
static int check_groups(struct oidc_cache *c, const struct oidc_cache_user *u, long evict,
                        struct oidc_err *err)
{
    const struct oidc_localent *l;
    size_t k;
    long i;

    if (u->n_groups > 0 && u->groups == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cache upsert: groups missing");
    for (k = 0; k < u->n_groups; k++) {
        const struct oidc_group *g = &u->groups[k];
        if ((i = oidc_cache_lookup_group(c, g->name)) >= 0) {
            if (c->groups[i].gid != g->gid)
                return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                    "group '%s' is cached with gid %" PRIu32 ", but user '%s' "
                                    "brings it with gid %" PRIu32,
                                    g->name, c->groups[i].gid, u->name, g->gid);
            if (c->groups[i].nref >= OIDC_CACHE_MEMBERS_MAX)
                return OIDC_ERR_SET(err, OIDC_ERR_TOOBIG,
                                    "group '%s' already has %d members, the most a cache record "
                                    "holds",
                                    g->name, OIDC_CACHE_MEMBERS_MAX);
        } else if ((i = oidc_cache_lookup_gid(c, g->gid)) >= 0 && i != evict) {
            return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                "gid %" PRIu32 " of group '%s' (user '%s') is already the gid of "
                                "cached group '%s'",
                                g->gid, g->name, u->name, c->groups[i].name);
        }
        if ((i = oidc_cache_lookup_uid(c, g->gid)) >= 0 || g->gid == u->uid)
            return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                "gid %" PRIu32 " of group '%s' (user '%s') is the private gid of "
                                "cached user '%s'",
                                g->gid, g->name, u->name, i >= 0 ? c->users[i]->name : u->name);
        if ((l = oidc_localdb_group_id(c->local, g->gid)) != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                                "gid %" PRIu32 " of group '%s' (user '%s') is the gid of local "
                                "group '%s' in %s",
                                g->gid, g->name, u->name, l->name, c->local->group_path);
    }
    return OIDC_OK;
}

/* The name stays bound to its issuer + subject; a pre-provisioned entry without a subject is
 * bound by its first login (from the issuer it names, when it names one). */
static int check_binding(const struct oidc_cache_user *old, const struct oidc_cache_user *u,
                         struct oidc_err *err)
{
    char a[SHOW_MAX], b[SHOW_MAX], x[SHOW_MAX], y[SHOW_MAX];

    if (old->subject[0] == '\0') {
        if (old->issuer[0] == '\0' || strcmp(old->issuer, nz(u->issuer)) == 0)
            return OIDC_OK;
        return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                            "user '%s' is pre-provisioned for issuer '%s', not '%s'", u->name,
                            oidc_printable(a, sizeof(a), old->issuer),
                            oidc_printable(b, sizeof(b), u->issuer));
    }
    if (strcmp(old->issuer, nz(u->issuer)) == 0 && strcmp(old->subject, nz(u->subject)) == 0)
        return OIDC_OK;
    return OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                        "user '%s' is bound to issuer '%s' subject '%s', not issuer '%s' subject "
                        "'%s' (an admin must run 'oidcctl user del %s' first)",
                        u->name, oidc_printable(a, sizeof(a), old->issuer),
                        oidc_printable(b, sizeof(b), old->subject),
                        oidc_printable(x, sizeof(x), nz(u->issuer)),
                        oidc_printable(y, sizeof(y), nz(u->subject)), u->name);
}

static int same_groups(const struct oidc_cache_user *a, const struct oidc_cache_user *b)
{
    size_t i, k;

    if (a->n_groups != b->n_groups)
        return 0;
    if (a->n_groups > 0 && (a->groups == NULL || b->groups == NULL))
        return 0;
    for (i = 0; i < a->n_groups; i++) {
        for (k = 0; k < b->n_groups; k++)
            if (strcmp(a->groups[i].name, b->groups[k].name) == 0)
                break;
        if (k == b->n_groups || a->groups[i].gid != b->groups[k].gid)
            return 0;
    }
    return 1;
}

/* Everything but the times. */
static int same_identity(const struct oidc_cache_user *a, const struct oidc_cache_user *b)
{
    return a->uid == b->uid && a->gid == b->gid && a->flags == b->flags &&
           strcmp(nz(a->gecos), nz(b->gecos)) == 0 && strcmp(nz(a->home), nz(b->home)) == 0 &&
           strcmp(nz(a->shell), nz(b->shell)) == 0 && strcmp(nz(a->issuer), nz(b->issuer)) == 0 &&
           strcmp(nz(a->subject), nz(b->subject)) == 0 &&
           strcmp(nz(a->provider), nz(b->provider)) == 0 && same_groups(a, b);
}

/* The no-op rule (docs/cache.md): a login that changes nothing but the times rewrites the entry
 * only when its stored expiry or last login lags by a tenth of the entry's lifetime or more (an
 * hour for an entry that never expires), or when the new expiry is earlier. */
static int refresh_due(const struct oidc_cache_user *old, const struct oidc_cache_user *u)
{
    int64_t g = u->expires != 0 && u->expires > u->last_login ? (u->expires - u->last_login) / 10
                                                              : REFRESH_NO_TTL;

    if ((old->expires == 0) != (u->expires == 0) || old->first_login != u->first_login)
        return 1;
    if (u->expires != 0 && (u->expires < old->expires || u->expires - old->expires >= g))
        return 1;
    return u->last_login - old->last_login >= g;
}

int oidc_cache_upsert(struct oidc_cache *c, const struct oidc_cache_user *in, struct oidc_err *err)
{
    return oidc_cache_upsert_drops(c, in, NULL, err);
}

int oidc_cache_upsert_drops(struct oidc_cache *c, const struct oidc_cache_user *in,
                            struct oidc_cache_drops *drops, struct oidc_err *err)
{
    struct oidc_cache_user eff, *nu = NULL, *old = NULL;
    struct oidc_group *kept = NULL;
    size_t n0 = drops != NULL ? drops->n : 0;
    long i, evict = -1;
    size_t k;
    int r;

    if (c == NULL || in == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache upsert: missing argument");
    if ((r = check_user(in, err)) != OIDC_OK)
        return r;
    if ((r = oidc_cache_need_local(c, err)) != OIDC_OK)
        return r;
    eff = *in; /* shallow: the times, flags and groups are adjusted below, the strings are in's */
    if (in->n_groups > 0 && (kept = calloc(in->n_groups, sizeof(*kept))) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory updating the cache");
    if ((r = filter_groups(c, in, kept, &eff.n_groups, drops, err)) != OIDC_OK)
        goto out;
    eff.groups = kept;
    if ((i = oidc_cache_lookup_user(c, in->name)) >= 0) {
        old = c->users[i];
        if ((r = check_binding(old, in, err)) != OIDC_OK)
            goto out;
        if (old->uid != in->uid) {
            r = OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                             "user '%s' is cached with uid %" PRIu32 ", but this login maps it "
                             "to uid %" PRIu32 " (never renumbered silently: 'oidcctl user del "
                             "%s' first)",
                             in->name, old->uid, in->uid, in->name);
            goto out;
        }
        /* a name local accounts took since it was cached is refused too */
        if (oidc_localdb_user_name(c->local, in->name) != NULL ||
            oidc_localdb_group_name(c->local, in->name) != NULL) {
            r = OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                             "user '%s' is now a local account or group name in %s or %s", in->name,
                             c->local->passwd_path, c->local->group_path);
            goto out;
        }
        if (oidc_localdb_user_id(c->local, in->uid) != NULL ||
            oidc_localdb_group_id(c->local, in->uid) != NULL) {
            r = OIDC_ERR_SET(err, OIDC_ERR_MAPPING,
                             "uid %" PRIu32 " of user '%s' is now used by a local account or "
                             "group in %s or %s",
                             in->uid, in->name, c->local->passwd_path, c->local->group_path);
            goto out;
        }
        if (old->first_login > 0)
            eff.first_login = old->first_login;
        eff.flags |= old->flags & OIDC_CACHE_F_PREPROVISIONED;
        if (nz(in->subject)[0] == '\0' && old->subject[0] != '\0') { /* never unbind */
            r = OIDC_ERR_SET(err, OIDC_ERR_MAPPING, "user '%s' is already bound to a subject",
                             in->name);
            goto out;
        }
    } else if ((r = check_new_user(c, in, &evict, err)) != OIDC_OK) {
        goto out;
    }
    if (eff.first_login == 0 && nz(eff.subject)[0] != '\0')
        eff.first_login = eff.last_login;
    if ((r = check_groups(c, &eff, evict, err)) != OIDC_OK)
        goto out;
    if (old != NULL && same_identity(old, &eff) && !refresh_due(old, &eff)) {
        r = OIDC_OK; /* a repeat login: nothing to write */
        goto out;
    }
    if (evict >= 0 && (r = oidc_cache_report_evictions(c, in->name, evict, drops, err)) != OIDC_OK)
        goto out;
    if ((nu = oidc_cache_user_dup(&eff)) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory updating the cache");
        goto out;
    }
    if (old == NULL) {
        if (evict >= 0) /* the new user's private group replaces the group of its name */
            evict_group(c, in->name);
        if (oidc_cache_user_add(c, nu) != 0) {
            oidc_cache_user_free(nu);
            r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory updating the cache");
            goto out;
        }
    } else {
        /* reference the new groups before dropping the old ones, so shared ones survive */
        for (k = 0; k < nu->n_groups; k++)
            if (oidc_cache_group_ref(c, nu->groups[k].name, nu->groups[k].gid) != 0) {
                while (k-- > 0)
                    oidc_cache_group_unref(c, nu->groups[k].name);
                oidc_cache_user_free(nu);
                r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory updating the cache");
                goto out;
            }
        for (k = 0; k < old->n_groups; k++)
            oidc_cache_group_unref(c, old->groups[k].name);
        c->users[i] = nu; /* same name and uid: the indexes stay valid */
        oidc_cache_user_free(old);
        oidc_cache_view_invalidate(c);
    }
    c->dirty = 1;
    r = OIDC_OK;
out:
    if (r != OIDC_OK && drops != NULL)
        drops->n = n0; /* nothing was dropped: nothing happened */
    free(kept);
    return r;
}
