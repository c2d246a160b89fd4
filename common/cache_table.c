/* Identity cache writer, the tables in memory: the users and the groups they hold, with their
 * hash indexes by name and id (open addressing), the reference counts that derive groups from
 * users, and the name-ordered view behind oidc_cache_at(). Only memory: no file is read or written
 * here and no rule about which user may be stored is applied (cache_rules.c). */
#include "config.h"
#include "cache_int.h"
#include "idhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ hash indexes */

uint64_t oidc_cache_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_str(const char *s)
{
    return oidc_cache_mix64(oidc_fnv1a64(s, strlen(s)));
}

static uint32_t hash_id(uint32_t id)
{
    return (uint32_t)oidc_cache_mix64(id);
}

static uint32_t hash_name(const char *s)
{
    return (uint32_t)hash_str(s);
}

static int ht_grow(struct htab *t)
{
    size_t cap = t->mask != 0 ? (t->mask + 1) * 2 : 64, i, j;
    struct slot *slot;

    if (cap > UINT32_MAX || (slot = calloc(cap, sizeof(*slot))) == NULL)
        return -1;
    for (i = 0; t->mask != 0 && i <= t->mask; i++) {
        if (t->slot[i].item == 0)
            continue;
        for (j = t->slot[i].h & (cap - 1); slot[j].item != 0; j = (j + 1) & (cap - 1))
            ;
        slot[j] = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->mask = cap - 1;
    return 0;
}

static int ht_insert(struct htab *t, uint32_t h, uint32_t item)
{
    size_t j;

    if ((t->n + 1) * 2 > t->mask + 1 && ht_grow(t) != 0)
        return -1;
    for (j = h & t->mask; t->slot[j].item != 0; j = (j + 1) & t->mask)
        ;
    t->slot[j].h = h;
    t->slot[j].item = item + 1;
    t->n++;
    return 0;
}

/* The slot holding item, whose key hashes to h (it must be present). */
static size_t ht_slot_of(const struct htab *t, uint32_t h, uint32_t item)
{
    size_t j;

    for (j = h & t->mask; t->slot[j].item != item + 1; j = (j + 1) & t->mask)
        ;
    return j;
}

static void ht_remove(struct htab *t, uint32_t h, uint32_t item)
{
    size_t s = ht_slot_of(t, h, item), j = s, k;

    for (;;) {
        j = (j + 1) & t->mask;
        if (t->slot[j].item == 0)
            break;
        k = t->slot[j].h & t->mask;
        /* move slot[j] back to s unless its home k lies cyclically in (s, j] */
        if ((s <= j) ? (k <= s || k > j) : (k <= s && k > j)) {
            t->slot[s] = t->slot[j];
            s = j;
        }
    }
    t->slot[s].item = 0;
    t->slot[s].h = 0;
    t->n--;
}

/* Item old (key hash h) moves to index new (the caller moves the array element). */
static void ht_renumber(struct htab *t, uint32_t h, uint32_t old, uint32_t new)
{
    t->slot[ht_slot_of(t, h, old)].item = new + 1;
}

void oidc_cache_ht_free(struct htab *t)
{
    free(t->slot);
    t->slot = NULL;
    t->mask = t->n = 0;
}

long oidc_cache_lookup_user(const struct oidc_cache *c, const char *name)
{
    const struct htab *t = &c->u_name;
    uint32_t h = hash_name(name);
    size_t j;

    if (t->mask == 0)
        return -1;
    for (j = h & t->mask; t->slot[j].item != 0; j = (j + 1) & t->mask)
        if (t->slot[j].h == h && strcmp(c->users[t->slot[j].item - 1]->name, name) == 0)
            return (long)t->slot[j].item - 1;
    return -1;
}

long oidc_cache_lookup_uid(const struct oidc_cache *c, uint32_t uid)
{
    const struct htab *t = &c->u_id;
    uint32_t h = hash_id(uid);
    size_t j;

    if (t->mask == 0)
        return -1;
    for (j = h & t->mask; t->slot[j].item != 0; j = (j + 1) & t->mask)
        if (t->slot[j].h == h && c->users[t->slot[j].item - 1]->uid == uid)
            return (long)t->slot[j].item - 1;
    return -1;
}

long oidc_cache_lookup_group(const struct oidc_cache *c, const char *name)
{
    const struct htab *t = &c->g_name;
    uint32_t h = hash_name(name);
    size_t j;

    if (t->mask == 0)
        return -1;
    for (j = h & t->mask; t->slot[j].item != 0; j = (j + 1) & t->mask)
        if (t->slot[j].h == h && strcmp(c->groups[t->slot[j].item - 1].name, name) == 0)
            return (long)t->slot[j].item - 1;
    return -1;
}

long oidc_cache_lookup_gid(const struct oidc_cache *c, uint32_t gid)
{
    const struct htab *t = &c->g_id;
    uint32_t h = hash_id(gid);
    size_t j;

    if (t->mask == 0)
        return -1;
    for (j = h & t->mask; t->slot[j].item != 0; j = (j + 1) & t->mask)
        if (t->slot[j].h == h && c->groups[t->slot[j].item - 1].gid == gid)
            return (long)t->slot[j].item - 1;
    return -1;
}

/* ------------------------------------------------------------------ users and groups in memory */

void oidc_cache_user_clear(struct oidc_cache_user *u)
{
    size_t i;

    if (u == NULL)
        return;
    for (i = 0; u->groups != NULL && i < u->n_groups; i++) /* n_groups counts u->groups */
        free(u->groups[i].name);
    free(u->groups);
    free(u->gecos);
    free(u->home);
    free(u->shell);
    free(u->issuer);
    free(u->subject);
    free(u->provider);
    memset(u, 0, sizeof(*u));
}

void oidc_cache_user_free(struct oidc_cache_user *u)
{
    oidc_cache_user_clear(u);
    free(u);
}

int oidc_cache_cmp_group_name(const void *a, const void *b)
{
    return strcmp(((const struct oidc_group *)a)->name, ((const struct oidc_group *)b)->name);
}

int oidc_cache_user_copy(const struct oidc_cache_user *s, struct oidc_cache_user *u)
{
    memset(u, 0, sizeof(*u));
    memcpy(u->name, s->name, sizeof(u->name));
    u->uid = s->uid;
    u->gid = s->gid;
    u->first_login = s->first_login;
    u->last_login = s->last_login;
    u->expires = s->expires;
    u->flags = s->flags;
    if ((u->gecos = strdup(nz(s->gecos))) == NULL || (u->home = strdup(nz(s->home))) == NULL ||
        (u->shell = strdup(nz(s->shell))) == NULL || (u->issuer = strdup(nz(s->issuer))) == NULL ||
        (u->subject = strdup(nz(s->subject))) == NULL ||
        (u->provider = strdup(nz(s->provider))) == NULL)
        goto fail;
    if (s->n_groups > 0) {
        if ((u->groups = calloc(s->n_groups, sizeof(*u->groups))) == NULL)
            goto fail;
        for (; u->n_groups < s->n_groups; u->n_groups++) {
            u->groups[u->n_groups].gid = s->groups[u->n_groups].gid;
            if ((u->groups[u->n_groups].name = strdup(s->groups[u->n_groups].name)) == NULL)
                goto fail;
        }
        if (u->n_groups > 1)
            qsort(u->groups, u->n_groups, sizeof(*u->groups), oidc_cache_cmp_group_name);
    }
    return OIDC_OK;
fail:
    oidc_cache_user_clear(u);
    return OIDC_ERR_NOMEM;
}

/* A deep copy on the heap. */
struct oidc_cache_user *oidc_cache_user_dup(const struct oidc_cache_user *s)
{
    struct oidc_cache_user *u = malloc(sizeof(*u));

    if (u == NULL)
        return NULL;
    if (oidc_cache_user_copy(s, u) != OIDC_OK) {
        free(u);
        return NULL;
    }
    return u;
}

void oidc_cache_view_invalidate(struct oidc_cache *c)
{
    c->view->valid = 0;
}

static int cmp_user_ptr(const void *a, const void *b)
{
    const struct oidc_cache_user *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

int oidc_cache_view_build(const struct oidc_cache *c)
{
    struct view *v = c->view;
    const struct oidc_cache_user **s;
    size_t i;

    if (v->valid)
        return 0;
    if (c->n_users > v->n || v->sorted == NULL) {
        if ((s = realloc(v->sorted, (c->n_users + 1) * sizeof(*s))) == NULL)
            return -1;
        v->sorted = s;
    }
    for (i = 0; i < c->n_users; i++)
        v->sorted[i] = c->users[i];
    v->n = c->n_users;
    if (v->n > 1) /* qsort's array may not be NULL, even when empty */
        qsort(v->sorted, v->n, sizeof(*v->sorted), cmp_user_ptr);
    v->valid = 1;
    return 0;
}

/* Adds one reference to group name/gid (creating it). */
int oidc_cache_group_ref(struct oidc_cache *c, const char *name, uint32_t gid)
{
    long g = oidc_cache_lookup_group(c, name);
    struct grp *ng;

    if (g >= 0) {
        c->groups[g].nref++;
        return 0;
    }
    if (c->n_groups == c->cap_groups) {
        size_t cap = c->cap_groups != 0 ? c->cap_groups * 2 : 64;
        if ((ng = realloc(c->groups, cap * sizeof(*ng))) == NULL)
            return -1;
        c->groups = ng;
        c->cap_groups = cap;
    }
    g = (long)c->n_groups;
    memset(&c->groups[g], 0, sizeof(c->groups[g]));
    snprintf(c->groups[g].name, sizeof(c->groups[g].name), "%s", name);
    c->groups[g].gid = gid;
    c->groups[g].nref = 1;
    if (ht_insert(&c->g_name, hash_name(name), (uint32_t)g) != 0)
        return -1;
    if (ht_insert(&c->g_id, hash_id(gid), (uint32_t)g) != 0) {
        ht_remove(&c->g_name, hash_name(name), (uint32_t)g);
        return -1;
    }
    c->n_groups++;
    return 0;
}

/* Drops one reference; the last one removes the group. */
void oidc_cache_group_unref(struct oidc_cache *c, const char *name)
{
    long g = oidc_cache_lookup_group(c, name);
    uint32_t last;

    if (g < 0 || --c->groups[g].nref > 0)
        return;
    ht_remove(&c->g_name, hash_name(c->groups[g].name), (uint32_t)g);
    ht_remove(&c->g_id, hash_id(c->groups[g].gid), (uint32_t)g);
    last = (uint32_t)c->n_groups - 1;
    if ((uint32_t)g != last) {
        ht_renumber(&c->g_name, hash_name(c->groups[last].name), last, (uint32_t)g);
        ht_renumber(&c->g_id, hash_id(c->groups[last].gid), last, (uint32_t)g);
        c->groups[g] = c->groups[last];
    }
    c->n_groups--;
}

/* Appends u (taking ownership) and indexes it; its groups gain a reference. */
int oidc_cache_user_add(struct oidc_cache *c, struct oidc_cache_user *u)
{
    struct oidc_cache_user **nu;
    uint32_t i = (uint32_t)c->n_users;
    size_t k;

    if (c->n_users >= c->cap_users || c->users == NULL) {
        size_t cap = c->cap_users != 0 ? c->cap_users * 2 : 64;
        if ((nu = realloc(c->users, cap * sizeof(*nu))) == NULL)
            return -1;
        c->users = nu;
        c->cap_users = cap;
    }
    c->users[i] = u;
    if (ht_insert(&c->u_name, hash_name(u->name), i) != 0)
        return -1;
    if (ht_insert(&c->u_id, hash_id(u->uid), i) != 0) {
        ht_remove(&c->u_name, hash_name(u->name), i);
        return -1;
    }
    for (k = 0; k < u->n_groups; k++)
        if (oidc_cache_group_ref(c, u->groups[k].name, u->groups[k].gid) != 0) {
            while (k-- > 0)
                oidc_cache_group_unref(c, u->groups[k].name);
            ht_remove(&c->u_name, hash_name(u->name), i);
            ht_remove(&c->u_id, hash_id(u->uid), i);
            return -1;
        }
    c->n_users++;
    oidc_cache_view_invalidate(c);
    return 0;
}

/* Removes and frees user i. */
void oidc_cache_user_remove(struct oidc_cache *c, uint32_t i)
{
    struct oidc_cache_user *u;
    uint32_t last = (uint32_t)c->n_users - 1;
    size_t k;

    if (c->users == NULL || i >= c->n_users)
        return;
    u = c->users[i];

    for (k = 0; k < u->n_groups; k++)
        oidc_cache_group_unref(c, u->groups[k].name);
    ht_remove(&c->u_name, hash_name(u->name), i);
    ht_remove(&c->u_id, hash_id(u->uid), i);
    if (i != last) {
        ht_renumber(&c->u_name, hash_name(c->users[last]->name), last, i);
        ht_renumber(&c->u_id, hash_id(c->users[last]->uid), last, i);
        c->users[i] = c->users[last];
    }
    c->n_users--;
    oidc_cache_user_free(u);
    oidc_cache_view_invalidate(c);
}
