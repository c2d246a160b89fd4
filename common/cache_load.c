/* Identity cache writer, loading: reading cache.cdb into the tables (cache_table.c) with every
 * record checked, the join of provenance.cdb (issuer, subject, login times) to its users, and the
 * audit of the lookup indexes, which `oidcctl cache verify` (cache_verify.c) runs too. It decides
 * what counts as corrupt; it does not write (cache_commit.c) nor judge a new login
 * (cache_rules.c). */
#include "config.h"
#include "cache_int.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ loading */

struct metaref {
    const char *name; /* NUL-terminated copy in the key buffer below */
    char key[OIDC_CACHE_NAME_MAX + 1];
    const unsigned char *rec;
    unsigned len;
};

#define CORRUPT(what)                                                                       \
    OIDC_ERR_SET(err, OIDC_ERR_PARSE,                                                       \
                 "%s/%s is corrupt (%s); nothing was changed (run 'oidcctl cache verify')", \
                 c->dir, OIDC_CACHE_FILE, (what))

static int load_user(struct oidc_cache *c, const unsigned char *key, unsigned klen,
                     const unsigned char *rec, unsigned len, struct oidc_err *err)
{
    struct oidc_cache_pw pw;
    struct oidc_cache_user *u;

    if (oidc_cache_pw_decode(rec, len, &pw) != 0)
        return CORRUPT("a user record does not decode");
    if (klen - 1 != strlen(pw.name) || memcmp(key + 1, pw.name, klen - 1) != 0)
        return CORRUPT("a user record is stored under another name");
    if (oidc_cache_lookup_user(c, pw.name) >= 0 || oidc_cache_lookup_uid(c, pw.uid) >= 0)
        return CORRUPT("a user name or uid appears twice");
    if ((u = calloc(1, sizeof(*u))) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
    snprintf(u->name, sizeof(u->name), "%s", pw.name);
    u->uid = pw.uid;
    u->gid = pw.gid;
    u->expires = pw.expires;
    u->flags = pw.flags;
    u->first_login = -1; /* marks "no provenance record yet" */
    if ((u->gecos = strdup(pw.gecos)) == NULL || (u->home = strdup(pw.home)) == NULL ||
        (u->shell = strdup(pw.shell)) == NULL || oidc_cache_user_add(c, u) != 0) {
        oidc_cache_user_free(u);
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
    }
    return OIDC_OK;
}

static int load_meta(struct oidc_cache *c, const char *name, const unsigned char *rec, unsigned len,
                     struct oidc_err *err)
{
    struct oidc_cache_meta m;
    struct oidc_cache_user *u;
    const char *gname;
    size_t pos = 0, k;
    uint32_t gid;
    long i = oidc_cache_lookup_user(c, name);
    int r;

    if (oidc_cache_meta_decode(rec, len, &m) != 0 || m.issuer == NULL || m.subject == NULL ||
        m.provider == NULL)
        return CORRUPT("a provenance record does not decode");
    if (i < 0)
        return CORRUPT("a provenance record has no user record");
    u = c->users[i];
    if (u->first_login != -1 || u->issuer != NULL)
        return CORRUPT("a user has two provenance records");
    if (m.expires != u->expires || m.flags != u->flags)
        return CORRUPT("a provenance record disagrees with its user record");
    u->first_login = m.first_login;
    u->last_login = m.last_login;
    if ((u->issuer = strdup(m.issuer)) == NULL || (u->subject = strdup(m.subject)) == NULL ||
        (u->provider = strdup(m.provider)) == NULL ||
        (m.ngroups > 0 && (u->groups = calloc(m.ngroups, sizeof(*u->groups))) == NULL))
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
    while ((r = oidc_cache_meta_next_group(&m, &pos, &gid, &gname)) == 1) {
        if (gname == NULL || u->n_groups >= m.ngroups)
            return CORRUPT("a provenance record has more groups than it says");
        for (k = 0; k < u->n_groups; k++)
            if (oidc_streq(u->groups[k].name, gname))
                return CORRUPT("a user lists a group twice");
        if (strcmp(gname, u->name) == 0)
            return CORRUPT("a user lists its own private group as a supplementary group");
        u->groups[u->n_groups].gid = gid;
        if ((u->groups[u->n_groups].name = strdup(gname)) == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
        u->n_groups++;
    }
    if (r < 0 || u->n_groups != m.ngroups)
        return CORRUPT("a provenance record's group list is malformed");
    if (u->n_groups > 1) /* qsort's array may not be NULL, even when empty */
        qsort(u->groups, u->n_groups, sizeof(*u->groups), oidc_cache_cmp_group_name);
    return OIDC_OK;
}

/* The user record named by a provenance record, then the provenance record. */
static int load_user_and_meta(struct oidc_cache *c, struct cdb *db, const struct metaref *m,
                              struct oidc_err *err)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t klen = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, m->key, key);
    const unsigned char *val;
    int r;

    if (klen == 0 || (r = cdb_find(db, key, (unsigned)klen)) <= 0 ||
        (val = cdb_get(db, cdb_datalen(db), cdb_datapos(db))) == NULL)
        return CORRUPT("a provenance record has no user record");
    if (oidc_cache_lookup_user(c, m->key) >= 0)
        return CORRUPT("a user has two provenance records");
    if ((r = load_user(c, key, (unsigned)klen, val, cdb_datalen(db), err)) != OIDC_OK)
        return r;
    return load_meta(c, m->key, m->rec, m->len, err);
}

/* The 256 hash tables the header points at lie within the file, and the records end exactly
 * where the first table begins. Without this a file cut at a record boundary (its tables gone)
 * would load as a smaller, valid-looking cache, and the next commit would drop the lost users. */
int oidc_cache_cdb_layout_ok(const struct cdb *db, off_t fsize, unsigned records_end)
{
    const unsigned char *h = cdb_get(db, 2048, 0);

    return h != NULL && oidc_cache_records_end(h, (uint64_t)fsize) == records_end;
}

void oidc_cache_audit_start(struct index_audit *a, struct cdb *db)
{
    unsigned char key[2] = {OIDC_CACHE_K_INDEX, 0};
    const unsigned char *mem = cdb_get(db, 2048, 0);
    uint32_t dend = mem != NULL ? oidc_cache_records_end(mem, db->cdb_fsize) : 0;
    const void *v;
    size_t t;

    memset(a, 0, sizeof(*a));
    a->unchecked = dend == 0;
    for (t = 0; t < N_INDEXED && !a->unchecked; t++) {
        key[1] = (unsigned char)OIDC_CACHE_INDEXED[t];
        if (cdb_find(db, key, 2) <= 0 ||
            (v = cdb_get(db, cdb_datalen(db), cdb_datapos(db))) == NULL)
            a->state[t] = IX_ABSENT;
        else if (oidc_cache_index_decode(v, cdb_datalen(db), &a->ix[t]) != 0 ||
                 oidc_cache_index_check(&a->ix[t], dend) != 0)
            a->state[t] = IX_MALFORMED;
        if (a->state[t] != IX_OK)
            a->ix[t].nb = 0;
    }
}

static void audit_boundary(struct index_audit *a, uint32_t at)
{
    size_t t;

    for (t = 0; t < N_INDEXED; t++) {
        const struct oidc_cache_index *ix = &a->ix[t];

        for (; ix->nb != 0 && a->next[t] <= ix->nb; a->next[t]++) {
            uint32_t d = oidc_cache_get_u32(ix->dir + 4 * (size_t)a->next[t]);
            if (d > at)
                break;
            if (d < at)
                a->state[t] = IX_MALFORMED; /* inside a record */
        }
    }
}

/* The record with key at file offset at. */
void oidc_cache_audit_record(struct index_audit *a, const unsigned char *key, unsigned klen,
                             uint32_t at)
{
    const char *t = key[0] != '\0' ? strchr(OIDC_CACHE_INDEXED, key[0]) : NULL;
    const struct oidc_cache_index *ix;
    uint32_t b;

    audit_boundary(a, at);
    if (t == NULL || (ix = &a->ix[t - OIDC_CACHE_INDEXED])->nb == 0)
        return;
    b = oidc_cache_index_bucket(key, klen, ix->nb);
    if (at < oidc_cache_get_u32(ix->dir + 4 * (size_t)b) ||
        at >= oidc_cache_get_u32(ix->dir + 4 * (size_t)b + 4))
        a->misses[t - OIDC_CACHE_INDEXED]++;
}

/* An "x" record in the walk: 0, or -1 for an unknown kind or a second one of a kind. */
static int audit_index_record(struct index_audit *a, const unsigned char *key, unsigned klen)
{
    const char *t = klen == 2 && key[1] != '\0' ? strchr(OIDC_CACHE_INDEXED, key[1]) : NULL;
    unsigned bit;

    if (t == NULL)
        return -1;
    bit = 1u << (t - OIDC_CACHE_INDEXED);
    if (a->seen & bit)
        return -1;
    a->seen |= bit;
    return 0;
}

/* After the walk (end: where the records end): 1 when every index is whole. */
int oidc_cache_audit_finish(struct index_audit *a, uint32_t end)
{
    size_t t;
    int ok = !a->unchecked;

    audit_boundary(a, end);
    for (t = 0; t < N_INDEXED; t++) {
        if (a->state[t] == IX_OK && a->next[t] != a->ix[t].nb + 1)
            a->state[t] = IX_MALFORMED; /* an entry never met a boundary */
        if (a->state[t] != IX_OK || a->misses[t] > 0)
            ok = 0;
    }
    return ok;
}

#define PROV_CORRUPT(what)                                                                       \
    OIDC_ERR_SET(err, OIDC_ERR_PARSE,                                                            \
                 "%s/%s is %s; nothing was changed (run 'oidcctl cache verify'; docs/cache.md)", \
                 c->dir, OIDC_PROV_FILE, (what))

static int replace_str(char **dst, const char *src)
{
    char *n = strdup(src);

    if (n == NULL)
        return -1;
    free(*dst);
    *dst = n;
    return 0;
}

/* The version and generation records of an open provenance.cdb: 0 with *gen, -1 when either is
 * missing or wrong. */
int oidc_cache_prov_head(struct cdb *db, uint64_t *gen)
{
    const unsigned char *val;

    if (cdb_find(db, "V", 1) <= 0 || cdb_datalen(db) != strlen(OIDC_PROV_VERSION) ||
        (val = cdb_get(db, cdb_datalen(db), cdb_datapos(db))) == NULL ||
        memcmp(val, OIDC_PROV_VERSION, cdb_datalen(db)) != 0)
        return -1;
    if (cdb_find(db, "s", 1) <= 0 ||
        (val = cdb_get(db, cdb_datalen(db), cdb_datapos(db))) == NULL ||
        oidc_cache_serial_decode(val, cdb_datalen(db), gen) != 0)
        return -1;
    return 0;
}

/* A provenance record: the "m" layout with no groups (they are public: cache.cdb), an issuer,
 * times that are not negative. 0 with *m, -1 when it is not one. */
int oidc_cache_prov_decode(const unsigned char *rec, unsigned len, struct oidc_cache_meta *m)
{
    if (oidc_cache_meta_decode(rec, len, m) != 0 || m->ngroups != 0 || m->issuer[0] == '\0' ||
        m->first_login < 0 || m->last_login < 0)
        return -1;
    return 0;
}

/* One provenance record joined to its user in memory (K, KL: its key). A user the file holds but
 * cache.cdb does not is ignored when the commit that wrote it was interrupted. */
static int join_record(struct oidc_cache *c, const unsigned char *k, unsigned kl,
                       const unsigned char *val, unsigned vlen, int interrupted,
                       struct oidc_err *err)
{
    char name[OIDC_CACHE_NAME_MAX + 1];
    struct oidc_cache_meta m;
    struct oidc_cache_user *u;
    long ui;

    if (kl < 2 || kl > OIDC_CACHE_NAME_MAX + 1 || k[0] != OIDC_CACHE_K_META) {
        return PROV_CORRUPT("corrupt (a record of an unknown kind)");
    }
    memcpy(name, k + 1, kl - 1);
    name[kl - 1] = '\0';
    if ((ui = oidc_cache_lookup_user(c, name)) < 0) {
        if (interrupted)
            return OIDC_OK; /* a user the interrupted commit was adding */
        return PROV_CORRUPT("not in agreement with cache.cdb (a record of a user it does not "
                            "hold)");
    }
    u = c->users[ui];
    if (oidc_cache_prov_decode(val, vlen, &m) != 0) {
        return PROV_CORRUPT("corrupt (a record does not decode)");
    }
    if (u->first_login != -1) {
        return PROV_CORRUPT("corrupt (a user has two records)");
    }
    if (!interrupted && (m.expires != u->expires || m.flags != u->flags)) {
        return PROV_CORRUPT("not in agreement with cache.cdb (a user's expiry or flags differ)");
    }
    if (replace_str(&u->issuer, m.issuer) != 0 || replace_str(&u->subject, m.subject) != 0 ||
        replace_str(&u->provider, m.provider) != 0) {
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
    }
    u->first_login = m.first_login;
    u->last_login = m.last_login;
    return OIDC_OK;
}

/* Joins provenance.cdb (each user's issuer, subject, provider and login times) to the users
 * loaded from cache.cdb, whose "m" records carry those fields empty.
 *  - A cache.cdb of the format before the split (every "m" record with its issuer) is taken as
 *    it is, and the next commit splits it (the migration); provenance.cdb is not read.
 *  - Otherwise, with users, provenance.cdb must be a CDB file with its version record and the
 *    generation of cache.cdb, and hold exactly one record per user, agreeing on expiry and flags.
 *  - One newer than cache.cdb is an interrupted commit (the writer renames provenance.cdb first):
 *    users it does not hold were being removed by that commit, and are; its records of users
 *    cache.cdb does not hold are ignored; the next commit rewrites both files.
 * Anything else is OIDC_ERR_PARSE and nothing is written: a name whose binding is unknown must
 * not be bound afresh by the next login. A read-only load that may not read the file (not root)
 * leaves the provenance empty (oidc_cache_has_provenance). */
int oidc_cache_load_provenance(struct oidc_cache *c, struct oidc_err *err)
{
    const unsigned char *k, *val;
    struct cdb db;
    struct stat st;
    uint64_t gen = 0;
    size_t i, legacy = 0, n_version = 0, n_serial = 0;
    unsigned pos, kl;
    int fd, r = OIDC_ERR_INTERNAL, interrupted, e;

    for (i = 0; i < c->n_users; i++)
        if (c->users[i]->issuer[0] != '\0')
            legacy++;
    if (legacy > 0 && legacy == c->n_users) { /* the format before provenance.cdb */
        if (!c->readonly)
            c->dirty = 1;
        return OIDC_OK;
    }
    if (legacy > 0)
        return CORRUPT("some users carry their issuer and subject, others do not");
    for (i = 0; i < c->n_users; i++)
        if (c->users[i]->subject[0] != '\0' || c->users[i]->provider[0] != '\0' ||
            c->users[i]->first_login != 0 || c->users[i]->last_login != 0)
            return CORRUPT("a membership record carries a subject, provider or login times but no "
                           "issuer");
    if (c->n_users == 0)
        return OIDC_OK; /* nothing to join; the next commit rewrites provenance.cdb */
    fd = openat(c->dirfd, OIDC_PROV_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        if ((e == EACCES || e == EPERM) && c->readonly) {
            c->no_provenance = 1;
            return OIDC_OK;
        }
        if (e == ENOENT)
            return PROV_CORRUPT("missing, but cache.cdb holds users whose issuer and subject "
                                "only it records");
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot open %s/%s: %s", c->dir, OIDC_PROV_FILE,
                            e == ELOOP ? "it is a symbolic link" : strerror(e));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CACHE_FILE_MAX) {
        close(fd);
        return PROV_CORRUPT("not a regular file of at most 2 GiB");
    }
    /* readable by others, or not root's: the next commit writes it afresh, root's and 0600 */
    if (!c->readonly && ((st.st_mode & 07777) != 0600 || (geteuid() == 0 && st.st_uid != 0)))
        c->dirty = 1;
    if (cdb_init(&db, fd) != 0) {
        close(fd);
        return PROV_CORRUPT("corrupt (not a CDB file)");
    }
    if ((k = cdb_get(&db, 2048, 0)) == NULL ||
        oidc_cache_records_end(k, (uint64_t)st.st_size) == 0) {
        r = PROV_CORRUPT("corrupt (truncated: its hash tables lie outside the file)");
        goto out;
    }
    if (oidc_cache_prov_head(&db, &gen) != 0) {
        r = PROV_CORRUPT("corrupt (no or an unknown version record, or no generation record)");
        goto out;
    }
    if (gen < c->file_gen || c->file_gen == 0) {
        r = PROV_CORRUPT("older than cache.cdb (their generations disagree)");
        goto out;
    }
    interrupted = gen > c->file_gen;
    for (i = 0; i < c->n_users; i++)
        c->users[i]->first_login = -1; /* marks "no record yet" (records' times are >= 0) */
    cdb_seqinit(&pos, &db);
    while ((r = cdb_seqnext(&pos, &db)) > 0) {
        if ((k = cdb_getkey(&db)) == NULL || (val = cdb_getdata(&db)) == NULL) {
            r = -1;
            break;
        }
        kl = cdb_keylen(&db);
        if (kl == 1 && (k[0] == OIDC_CACHE_K_VERSION || k[0] == OIDC_CACHE_K_SERIAL)) {
            if (k[0] == OIDC_CACHE_K_VERSION)
                n_version++;
            else
                n_serial++;
            continue; /* their values: oidc_cache_prov_head */
        }
        if ((r = join_record(c, k, kl, val, cdb_datalen(&db), interrupted, err)) != OIDC_OK)
            goto out;
    }
    if (r < 0 || !oidc_cache_cdb_layout_ok(&db, st.st_size, pos)) {
        r = PROV_CORRUPT("corrupt (the record chain is broken, or the file is truncated)");
        goto out;
    }
    if (n_version != 1 || n_serial != 1) {
        r = PROV_CORRUPT("corrupt (a second version or generation record)");
        goto out;
    }
    for (i = c->n_users; i-- > 0;) {
        if (c->users[i]->first_login != -1)
            continue;
        if (!interrupted) {
            r = PROV_CORRUPT("not in agreement with cache.cdb (a user has no record)");
            goto out;
        }
        oidc_cache_user_remove(c, (uint32_t)i); /* the interrupted commit was removing it */
    }
    if (interrupted && !c->readonly)
        c->dirty = 1;
    r = OIDC_OK;
out:
    cdb_free(&db);
    close(fd);
    return r;
}

/* What the walk over cache.cdb's records (walk_records) gathers for the steps after it. */
struct load_walk {
    struct metaref *metas; /* the "m" records, in file order */
    size_t n_metas, cap_metas;
    size_t n_user_recs; /* the "n" records seen */
    int have_version;
    char last_override[OIDC_CACHE_NAME_MAX + 1]; /* the name of the "o" record before */
    unsigned end;                                /* where the records end */
    struct index_audit audit;
};

/* Keeps a provenance ("m") record for load_users; its bytes stay in the file's mapping. */
static int walk_add_meta(struct oidc_cache *c, struct load_walk *w, const unsigned char *key,
                         unsigned klen, const unsigned char *val, unsigned vlen,
                         struct oidc_err *err)
{
    struct metaref *nm;

    if (klen < 2 || klen > OIDC_CACHE_KEY_MAX)
        return CORRUPT("a provenance key has a bad length");
    if (w->n_metas == w->cap_metas) {
        w->cap_metas = w->cap_metas != 0 ? w->cap_metas * 2 : 64;
        if ((nm = realloc(w->metas, w->cap_metas * sizeof(*nm))) == NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
        w->metas = nm;
    }
    memcpy(w->metas[w->n_metas].key, key + 1, klen - 1);
    w->metas[w->n_metas].key[klen - 1] = '\0';
    w->metas[w->n_metas].rec = val;
    w->metas[w->n_metas].len = vlen;
    w->n_metas++;
    return OIDC_OK;
}

/* Keeps a copy of the "p" record (the one allowed) for the next commit. */
static int load_preauth(struct oidc_cache *c, unsigned klen, const unsigned char *val,
                        unsigned vlen, struct oidc_err *err)
{
    if (klen != 1 || c->has_preauth)
        return CORRUPT("a bad or second preauth record");
    if ((c->preauth.p = malloc(vlen > 0 ? vlen : 1)) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
    memcpy(c->preauth.p, val, vlen);
    c->preauth.len = c->preauth.cap = vlen;
    c->has_preauth = 1;
    return OIDC_OK;
}

/* Keeps a copy of an "o" record for the next commit (c->overrides). The writer stores them in
 * name order, which makes a second one for a name (the reader would see only the first) plain. */
static int load_override(struct oidc_cache *c, struct load_walk *w, const unsigned char *key,
                         unsigned klen, const unsigned char *val, unsigned vlen,
                         struct oidc_err *err)
{
    char name[OIDC_CACHE_NAME_MAX + 1];

    if (klen < 2 || klen > OIDC_CACHE_KEY_MAX)
        return CORRUPT("an override key has a bad length");
    memcpy(name, key + 1, klen - 1);
    name[klen - 1] = '\0';
    if (oidc_cache_name_len(name, sizeof(name)) != klen - 1 ||
        oidc_cache_override_walk(val, vlen, NULL, NULL) != 0)
        return CORRUPT("an override record does not decode");
    if (c->overrides.len != 0 && strcmp(w->last_override, name) >= 0)
        return CORRUPT("override records out of name order, or two for one name");
    memcpy(w->last_override, name, klen);
    oidc_cache_buf_str(&c->overrides, name);
    oidc_cache_buf_u32(&c->overrides, vlen);
    oidc_cache_buf_bytes(&c->overrides, val, vlen);
    if (c->overrides.failed)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
    return OIDC_OK;
}

/* One record of the walk: checked by its kind; users are only counted here (load_users loads
 * them with their provenance records), the derived records only decoded. */
static int walk_record(struct oidc_cache *c, struct load_walk *w, const unsigned char *key,
                       unsigned klen, const unsigned char *val, unsigned vlen, struct oidc_err *err)
{
    struct oidc_cache_gr gr;
    struct oidc_cache_pw pw;
    uint32_t n, idv;
    uint64_t gen;

    switch (key[0]) {
    case OIDC_CACHE_K_VERSION:
        if (klen != 1 || vlen != strlen(OIDC_CACHE_VERSION) ||
            memcmp(val, OIDC_CACHE_VERSION, vlen) != 0)
            return CORRUPT("unknown format version");
        w->have_version = 1;
        return OIDC_OK;
    case OIDC_CACHE_K_USER_NAME: /* loaded with its provenance record, by load_users */
        if (klen < 2 || klen > OIDC_CACHE_KEY_MAX)
            return CORRUPT("a user key has a bad length");
        w->n_user_recs++;
        return OIDC_OK;
    case OIDC_CACHE_K_META:
        return walk_add_meta(c, w, key, klen, val, vlen, err);
    case OIDC_CACHE_K_USER_ID:
        if (oidc_cache_key_id_value(key, klen, &idv) != 0 ||
            oidc_cache_pw_decode(val, vlen, &pw) != 0 || pw.uid != idv)
            return CORRUPT("a uid record does not decode or sits under another uid");
        return OIDC_OK;
    case OIDC_CACHE_K_GROUP_NAME:
    case OIDC_CACHE_K_GROUP_ID:
        if (oidc_cache_gr_decode(val, vlen, &gr) != 0 ||
            (key[0] == OIDC_CACHE_K_GROUP_ID
                 ? (oidc_cache_key_id_value(key, klen, &idv) != 0 || gr.gid != idv)
                 : (klen - 1 != strlen(gr.name) || memcmp(key + 1, gr.name, klen - 1) != 0)))
            return CORRUPT("a group record does not decode or sits under another key");
        return OIDC_OK;
    case OIDC_CACHE_K_INITGROUPS:
        if (oidc_cache_initgroups_decode(val, vlen, &n) != 0)
            return CORRUPT("an initgroups record does not decode");
        return OIDC_OK;
    case OIDC_CACHE_K_PREAUTH:
        return load_preauth(c, klen, val, vlen, err);
    case OIDC_CACHE_K_OVERRIDE:
        return load_override(c, w, key, klen, val, vlen, err);
    case OIDC_CACHE_K_INDEX: /* its content: oidc_cache_audit_start */
        if (audit_index_record(&w->audit, key, klen) != 0)
            return CORRUPT("a lookup index of an unknown kind, or a second one");
        return OIDC_OK;
    case OIDC_CACHE_K_SERIAL:
        if (klen != 1 || c->file_gen != 0 || oidc_cache_serial_decode(val, vlen, &gen) != 0)
            return CORRUPT("a bad or second generation record");
        c->file_gen = gen;
        return OIDC_OK;
    default:
        return CORRUPT("a record of an unknown kind");
    }
}

/* Walks every record of the file in order (walk_record), auditing the lookup indexes on the way,
 * then checks that the records end where the hash tables begin and that there was a version. */
static int walk_records(struct oidc_cache *c, struct cdb *cdb, off_t fsize, struct load_walk *w,
                        struct oidc_err *err)
{
    const unsigned char *key, *val;
    unsigned pos, klen, vlen;
    int r;

    oidc_cache_audit_start(&w->audit, cdb);
    cdb_seqinit(&pos, cdb);
    for (;;) {
        unsigned at = pos;

        if ((r = cdb_seqnext(&pos, cdb)) <= 0)
            break;
        klen = cdb_keylen(cdb);
        vlen = cdb_datalen(cdb);
        key = cdb_getkey(cdb);
        val = cdb_getdata(cdb);
        if (key == NULL || val == NULL || klen == 0)
            return CORRUPT("a record lies outside the file");
        oidc_cache_audit_record(&w->audit, key, klen, at);
        if ((r = walk_record(c, w, key, klen, val, vlen, err)) != OIDC_OK)
            return r;
    }
    if (r < 0)
        return CORRUPT("the record chain is broken");
    if (!oidc_cache_cdb_layout_ok(cdb, fsize, pos))
        return CORRUPT("its hash tables are missing or out of place (truncated?)");
    if (!w->have_version)
        return CORRUPT("no version record");
    w->end = pos;
    return OIDC_OK;
}

/* Each user with its provenance record, in the order of those (the writer's: by name), so that
 * the users lie in memory in the order everything after the load visits them; the "n" records
 * are stored by lookup bucket. */
static int load_users(struct oidc_cache *c, struct cdb *cdb, const struct load_walk *w,
                      struct oidc_err *err)
{
    size_t i;
    int r;

    for (i = 0; i < w->n_metas; i++)
        if ((r = load_user_and_meta(c, cdb, &w->metas[i], err)) != OIDC_OK)
            return r;
    if (c->n_users != w->n_user_recs)
        return CORRUPT("a user has no provenance record");
    return OIDC_OK;
}

/* The groups, derived from the users' lists: one gid per name, one name per gid, and none that
 * is a user's private group. */
static int derive_groups(struct oidc_cache *c, struct oidc_err *err)
{
    size_t i, k;

    for (i = 0; i < c->n_users; i++) {
        struct oidc_cache_user *u = c->users[i];
        for (k = 0; k < u->n_groups; k++) {
            long g = oidc_cache_lookup_group(c, u->groups[k].name);
            if (g >= 0 && c->groups[g].gid != u->groups[k].gid)
                return CORRUPT("one group name has two gids");
            if (g < 0 && oidc_cache_lookup_gid(c, u->groups[k].gid) >= 0)
                return CORRUPT("one gid has two group names");
            if (g < 0 && (oidc_cache_lookup_user(c, u->groups[k].name) >= 0 ||
                          oidc_cache_lookup_uid(c, u->groups[k].gid) >= 0))
                return CORRUPT("a group collides with a user's private group");
            if (oidc_cache_group_ref(c, u->groups[k].name, u->groups[k].gid) != 0)
                return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory loading the cache");
        }
    }
    return OIDC_OK;
}

int oidc_cache_load_file(struct oidc_cache *c, int fd, struct oidc_err *err)
{
    struct load_walk w;
    struct cdb cdb;
    struct stat st;
    int r = OIDC_ERR_INTERNAL, cdb_open = 0;

    memset(&w, 0, sizeof(w));
    if (fstat(fd, &st) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot stat %s/%s: %s", c->dir, OIDC_CACHE_FILE,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return CORRUPT("not a regular file");
    if (st.st_size > CACHE_FILE_MAX)
        return CORRUPT("larger than 2 GiB");
    if (cdb_init(&cdb, fd) != 0) {
        r = CORRUPT("not a CDB file");
        goto out;
    }
    cdb_open = 1;
    if ((r = walk_records(c, &cdb, st.st_size, &w, err)) != OIDC_OK)
        goto out;
    /* A file without a lookup index (written before there was one), or with one that misses
     * records, is rewritten with a new one by the next commit, even when nothing else changed. */
    if (!oidc_cache_audit_finish(&w.audit, w.end) && !c->readonly)
        c->dirty = 1;
    if ((r = load_users(c, &cdb, &w, err)) != OIDC_OK || (r = derive_groups(c, err)) != OIDC_OK)
        goto out;
    r = oidc_cache_load_provenance(c, err);
out:
    free(w.metas);
    if (cdb_open)
        cdb_free(&cdb);
    return r;
}
