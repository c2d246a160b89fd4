/* Identity cache writer, `oidcctl cache verify` (oidc_cache_verify): a read-only check of
 * cache.cdb, cache.serial and provenance.cdb against each other, reporting every problem found
 * (up to a bound) rather than stopping at the first. It shares the index audit with loading
 * (cache_load.c) and changes nothing: repairs are the next commit's job. */
#include "config.h"
#include "cache_int.h"
#include "localdb.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ verify */

#define VERIFY_REPORT_MAX 200

struct vctx {
    void (*report)(void *ctx, const char *line);
    void *ctx;
    size_t problems;
    struct cdb *db;
    size_t legacy; /* users whose "m" record in cache.cdb still carries the issuer */
};

static void problem(struct vctx *v, const char *fmt, ...) OIDC_FORMAT(2, 3);
static void problem(struct vctx *v, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (v->problems++ >= VERIFY_REPORT_MAX || v->report == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    v->report(v->ctx, line);
}

/* The one record under type+payload: NULL when absent; *dups gets the number of records. */
static const unsigned char *vget(struct vctx *v, char type, const void *payload, size_t plen,
                                 unsigned *len, unsigned *count)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    const unsigned char *rec = NULL;
    struct cdb_find f;
    unsigned n = 0;

    if (plen + 1 > sizeof(key))
        return NULL;
    key[0] = (unsigned char)type;
    memcpy(key + 1, payload, plen);
    if (cdb_findinit(&f, v->db, key, (unsigned)plen + 1) < 0)
        return NULL;
    while (cdb_findnext(&f) > 0) {
        if (n++ == 0) {
            *len = cdb_datalen(v->db);
            rec = cdb_get(v->db, *len, cdb_datapos(v->db));
        }
    }
    if (count != NULL)
        *count = n;
    return rec;
}

static const unsigned char *vget_name(struct vctx *v, char type, const char *name, unsigned *len)
{
    return vget(v, type, name, strlen(name), len, NULL);
}

static const unsigned char *vget_id(struct vctx *v, char type, uint32_t id, unsigned *len)
{
    unsigned char k[OIDC_CACHE_KEY_ID_LEN];

    oidc_cache_key_id(type, id, k);
    return vget(v, type, k + 1, sizeof(k) - 1, len, NULL);
}

static int members_has(const struct oidc_cache_gr *g, const char *name)
{
    const char *p = g->members;
    uint32_t i;

    for (i = 0; i < g->nmem; i++, p += strlen(p) + 1)
        if (strcmp(p, name) == 0)
            return 1;
    return 0;
}

static int initgroups_has(const unsigned char *rec, uint32_t n, uint32_t gid)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if (oidc_cache_get_u32(rec + 4 + 4 * (size_t)i) == gid)
            return 1;
    return 0;
}

static void verify_user(struct vctx *v, const struct oidc_cache_pw *pw, const unsigned char *rec,
                        unsigned len, const struct oidc_localdb *local)
{
    const unsigned char *r2, *ig;
    unsigned l2, ilen;
    struct oidc_cache_meta m;
    struct oidc_cache_gr g;
    uint32_t n = 0, gid;
    const char *gname;
    size_t pos = 0;

    if (pw->gid != pw->uid)
        problem(v, "user '%s': gid %" PRIu32 " is not its uid %" PRIu32, pw->name, pw->gid,
                pw->uid);
    if ((r2 = vget_id(v, OIDC_CACHE_K_USER_ID, pw->uid, &l2)) == NULL || l2 != len ||
        memcmp(r2, rec, len) != 0)
        problem(v, "user '%s': the record under uid %" PRIu32 " is missing or differs", pw->name,
                pw->uid);
    if ((ig = vget_name(v, OIDC_CACHE_K_INITGROUPS, pw->name, &ilen)) == NULL ||
        oidc_cache_initgroups_decode(ig, ilen, &n) != 0) {
        problem(v, "user '%s': the initgroups record is missing or malformed", pw->name);
        ig = NULL;
    }
    if ((r2 = vget_name(v, OIDC_CACHE_K_META, pw->name, &l2)) == NULL ||
        oidc_cache_meta_decode(r2, l2, &m) != 0) {
        problem(v, "user '%s': the provenance record is missing or malformed", pw->name);
    } else {
        if (m.expires != pw->expires || m.flags != pw->flags)
            problem(v, "user '%s': provenance and user record disagree on expiry or flags",
                    pw->name);
        if (m.issuer[0] != '\0') { /* the format before provenance.cdb (summed up by verify) */
            v->legacy++;
            if (m.subject[0] == '\0' && !(m.flags & OIDC_CACHE_F_PREPROVISIONED))
                problem(v, "user '%s': no subject without being pre-provisioned", pw->name);
        } else if (m.subject[0] != '\0' || m.provider[0] != '\0' || m.first_login != 0 ||
                   m.last_login != 0) {
            problem(v,
                    "user '%s': its provenance record has a subject, provider or login times "
                    "but no issuer",
                    pw->name);
        }
        if (ig != NULL && m.ngroups != n)
            problem(v, "user '%s': %" PRIu32 " groups in provenance but %" PRIu32 " in initgroups",
                    pw->name, m.ngroups, n);
        while (oidc_cache_meta_next_group(&m, &pos, &gid, &gname) == 1) {
            if (ig != NULL && !initgroups_has(ig, n, gid))
                problem(v, "user '%s': group '%s' (%" PRIu32 ") is missing from initgroups",
                        pw->name, gname, gid);
            if ((r2 = vget_name(v, OIDC_CACHE_K_GROUP_NAME, gname, &l2)) == NULL ||
                oidc_cache_gr_decode(r2, l2, &g) != 0 || g.gid != gid || !members_has(&g, pw->name))
                problem(v,
                        "user '%s': group '%s' (%" PRIu32 ") is missing, has another gid or "
                        "does not list the user",
                        pw->name, gname, gid);
        }
    }
    if ((r2 = vget_name(v, OIDC_CACHE_K_GROUP_NAME, pw->name, &l2)) == NULL ||
        oidc_cache_gr_decode(r2, l2, &g) != 0 || g.gid != pw->uid || g.nmem != 0 ||
        g.expires != pw->expires)
        problem(v, "user '%s': its private group (gid %" PRIu32 ") is missing or wrong", pw->name,
                pw->uid);
    if (local != NULL) {
        const struct oidc_localent *l;
        if (oidc_localdb_user_name(local, pw->name) != NULL ||
            oidc_localdb_group_name(local, pw->name) != NULL)
            problem(v, "user '%s': the name is a local account or group (%s, %s)", pw->name,
                    local->passwd_path, local->group_path);
        if ((l = oidc_localdb_user_id(local, pw->uid)) != NULL)
            problem(v, "user '%s': uid %" PRIu32 " is local account '%s' in %s", pw->name, pw->uid,
                    l->name, local->passwd_path);
        if ((l = oidc_localdb_group_id(local, pw->uid)) != NULL)
            problem(v, "user '%s': private gid %" PRIu32 " is local group '%s' in %s", pw->name,
                    pw->uid, l->name, local->group_path);
    }
}

static void verify_group(struct vctx *v, const struct oidc_cache_gr *g, const unsigned char *rec,
                         unsigned len, const struct oidc_localdb *local)
{
    const unsigned char *r2, *ig;
    unsigned l2, ilen;
    struct oidc_cache_pw pw;
    const char *p = g->members;
    uint32_t i, n;
    int private_group = 0;

    if ((r2 = vget_id(v, OIDC_CACHE_K_GROUP_ID, g->gid, &l2)) == NULL || l2 != len ||
        memcmp(r2, rec, len) != 0)
        problem(v, "group '%s': the record under gid %" PRIu32 " is missing or differs", g->name,
                g->gid);
    if ((r2 = vget_name(v, OIDC_CACHE_K_USER_NAME, g->name, &l2)) != NULL) {
        if (oidc_cache_pw_decode(r2, l2, &pw) == 0 && pw.uid == g->gid)
            private_group = 1;
        else
            problem(v, "group '%s' (%" PRIu32 ") has the name of a user whose private gid differs",
                    g->name, g->gid);
    } else if ((r2 = vget_id(v, OIDC_CACHE_K_USER_ID, g->gid, &l2)) != NULL) {
        problem(v, "group '%s': gid %" PRIu32 " is a cached user's private gid", g->name, g->gid);
    }
    if (!private_group && g->nmem == 0)
        problem(v, "group '%s' (%" PRIu32 ") has no members", g->name, g->gid);
    for (i = 0; i < g->nmem; i++, p += strlen(p) + 1) {
        if ((ig = vget_name(v, OIDC_CACHE_K_INITGROUPS, p, &ilen)) == NULL ||
            oidc_cache_initgroups_decode(ig, ilen, &n) != 0 || !initgroups_has(ig, n, g->gid))
            problem(v, "group '%s' (%" PRIu32 ") lists '%s', whose initgroups lack it", g->name,
                    g->gid, p);
    }
    if (local != NULL && !private_group) {
        const struct oidc_localent *l;
        if (oidc_localdb_group_name(local, g->name) != NULL ||
            oidc_localdb_user_name(local, g->name) != NULL)
            problem(v, "group '%s': the name is a local group or account (%s, %s)", g->name,
                    local->group_path, local->passwd_path);
        if ((l = oidc_localdb_group_id(local, g->gid)) != NULL)
            problem(v, "group '%s': gid %" PRIu32 " is local group '%s' in %s", g->name, g->gid,
                    l->name, local->group_path);
    }
}

/* preauth record: u32 n, n x (u32 uid_min, u32 uid_max, u32 npat, provider\0 home\0 shell\0,
 * npat x pattern\0) */
static int preauth_visit_valid(void *ctx, const struct oidc_cache_preauth *p)
{
    int *ok = ctx;

    if (p->uid_min < 1000 || p->uid_min > p->uid_max || p->uid_max == UINT32_MAX ||
        p->npat > 4096 || p->home == NULL || !oidc_cache_preauth_home_ok(p->home))
        *ok = 0;
    return !*ok;
}

static int preauth_valid(const unsigned char *p, size_t len)
{
    int ok = 1;

    if (len < 4 || oidc_cache_get_u32(p) > OIDC_CFG_MAX_PROVIDERS)
        return 0;
    return oidc_cache_preauth_walk(p, len, preauth_visit_valid, &ok) == 0 && ok;
}

/* cache.serial, when there is one (readers without it fall back to stat): what readers need to
 * trust it, and a counter not behind the file's generation. */
static void verify_serial(struct vctx *v, int dirfd, const char *dir, uint64_t file_gen)
{
    unsigned char head[OIDC_CACHE_SERIAL_SIZE];
    uint64_t cur;
    struct stat st;
    int fd = openat(dirfd, OIDC_CACHE_SERIAL_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        if (errno != ENOENT)
            problem(v, "cannot open %s/%s: %s", dir, OIDC_CACHE_SERIAL_FILE,
                    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        problem(v, "%s/%s is not a regular file", dir, OIDC_CACHE_SERIAL_FILE);
    } else {
        if ((st.st_mode & 07777) != 0644)
            problem(v,
                    "%s/%s has mode %04o (expected 0644; readers ignore it and fall back to stat)",
                    dir, OIDC_CACHE_SERIAL_FILE, (unsigned)(st.st_mode & 07777));
        if (st.st_uid != 0 && (geteuid() == 0 || st.st_uid != geteuid()))
            problem(v, "%s/%s is owned by uid %u (expected root)", dir, OIDC_CACHE_SERIAL_FILE,
                    (unsigned)st.st_uid);
        if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
            memcmp(head, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF) != 0) {
            problem(v, "%s/%s is damaged (the next write repairs it)", dir, OIDC_CACHE_SERIAL_FILE);
        } else {
            memcpy(&cur, head + OIDC_CACHE_SERIAL_OFF, sizeof(cur));
            if (cur < file_gen)
                problem(v,
                        "%s/%s holds generation %" PRIu64 ", behind the file's %" PRIu64
                        " (a writer crashed? the next write repairs it)",
                        dir, OIDC_CACHE_SERIAL_FILE, cur, file_gen);
        }
    }
    close(fd);
}

/* What the index audit found, a line per damaged index. */
static void verify_index_report(struct vctx *v, const struct index_audit *a)
{
    size_t t;

    if (a->unchecked)
        return; /* the hash tables' place is reported */
    for (t = 0; t < N_INDEXED; t++) {
        char c = OIDC_CACHE_INDEXED[t];

        if (a->state[t] == IX_ABSENT)
            problem(v,
                    "no lookup index for '%c' records (lookups use the hash tables, which is "
                    "slower; 'oidcctl cache sync' rewrites the file with one)",
                    c);
        else if (a->state[t] == IX_MALFORMED)
            problem(v,
                    "the lookup index for '%c' records is malformed ('oidcctl cache sync' "
                    "rewrites it)",
                    c);
        else if (a->misses[t] > 0)
            problem(v,
                    "the lookup index for '%c' records misses %zu of them ('oidcctl cache "
                    "sync' rewrites it)",
                    c, a->misses[t]);
    }
}

/* provenance.cdb against the cache.cdb open in v (users: its user records, legacy: those whose
 * "m" record still carries the issuer; file_gen: its "s"): owner root, mode 0600, its version
 * and generation, exactly one record per user, each decoding and agreeing on expiry and flags,
 * with a subject unless pre-provisioned. A cache.cdb of the format before the split is one
 * problem (its provenance is world-readable), and its provenance.cdb is not read (the loader does
 * not read it either). */
static void verify_provenance(struct vctx *v, int dirfd, const char *dir, size_t users,
                              size_t legacy, uint64_t file_gen)
{
    struct oidc_cache_meta m;
    struct oidc_cache_pw pw;
    const unsigned char *val, *k, *rec;
    struct cdb db;
    struct stat st;
    uint64_t gen = 0;
    unsigned pos, kl, rl;
    size_t n = 0;
    char name[OIDC_CACHE_NAME_MAX + 1];
    int fd, r, e;

    if (legacy > 0 && legacy == users) {
        problem(v,
                "%s/%s: the issuer, subject and login times of its %zu user%s are in this "
                "world-readable file (written by an earlier version); the next commit moves them "
                "to the root-only %s ('oidcctl cache sync')",
                dir, OIDC_CACHE_FILE, users, users == 1 ? "" : "s", OIDC_PROV_FILE);
        return;
    }
    if (legacy > 0)
        problem(v, "%s/%s: %zu of its %zu users carry their issuer and subject, the others not",
                dir, OIDC_CACHE_FILE, legacy, users);
    fd = openat(dirfd, OIDC_PROV_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        if (e == ENOENT && users > 0)
            problem(v,
                    "%s/%s is missing, but %s holds %zu user%s: their bindings (issuer and "
                    "subject) are lost and every login is refused (docs/cache.md: restore it, or "
                    "remove both files)",
                    dir, OIDC_PROV_FILE, OIDC_CACHE_FILE, users, users == 1 ? "" : "s");
        else if (e != ENOENT)
            problem(v, "cannot open %s/%s: %s%s", dir, OIDC_PROV_FILE,
                    e == ELOOP ? "it is a symbolic link" : strerror(e),
                    e == EACCES ? " (it is root's: run as root)" : "");
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CACHE_FILE_MAX) {
        problem(v, "%s/%s is not a regular file of at most 2 GiB", dir, OIDC_PROV_FILE);
        close(fd);
        return;
    }
    if (st.st_uid != 0 && (geteuid() == 0 || st.st_uid != geteuid()))
        problem(v, "%s/%s is owned by uid %u (expected root)", dir, OIDC_PROV_FILE,
                (unsigned)st.st_uid);
    if ((st.st_mode & 07777) != 0600)
        problem(v, "%s/%s has mode %04o (expected 0600: it holds issuers and subjects)", dir,
                OIDC_PROV_FILE, (unsigned)(st.st_mode & 07777));
    if (cdb_init(&db, fd) != 0) {
        problem(v, "%s/%s is not a CDB file (truncated or overwritten?)", dir, OIDC_PROV_FILE);
        close(fd);
        return;
    }
    if ((k = cdb_get(&db, 2048, 0)) == NULL ||
        oidc_cache_records_end(k, (uint64_t)st.st_size) == 0) {
        problem(v, "%s/%s is truncated (its hash tables lie outside the file)", dir,
                OIDC_PROV_FILE);
        goto out;
    }
    if (oidc_cache_prov_head(&db, &gen) != 0)
        problem(v, "%s/%s: no or an unknown version record ('%s'), or no generation record", dir,
                OIDC_PROV_FILE, OIDC_PROV_VERSION);
    else if (gen != file_gen)
        problem(v, "%s/%s is generation %" PRIu64 ", but %s is generation %" PRIu64 "%s", dir,
                OIDC_PROV_FILE, gen, OIDC_CACHE_FILE, file_gen,
                gen > file_gen ? " (an interrupted commit: the next one completes it)"
                               : " (older: the bindings of newer users are unknown)");
    cdb_seqinit(&pos, &db);
    while ((r = cdb_seqnext(&pos, &db)) > 0) {
        k = cdb_getkey(&db);
        val = cdb_getdata(&db);
        kl = cdb_keylen(&db);
        if (k == NULL || val == NULL) {
            r = -1;
            break;
        }
        if (kl == 1 && (k[0] == OIDC_CACHE_K_VERSION || k[0] == OIDC_CACHE_K_SERIAL))
            continue;
        if (k[0] != OIDC_CACHE_K_META || kl < 2 || kl > OIDC_CACHE_NAME_MAX + 1) {
            problem(v, "%s/%s: a record of an unknown kind '%c'", dir, OIDC_PROV_FILE, k[0]);
            continue;
        }
        n++;
        memcpy(name, k + 1, kl - 1);
        name[kl - 1] = '\0';
        if (oidc_cache_prov_decode(val, cdb_datalen(&db), &m) != 0) {
            problem(v, "user '%s': its record in %s does not decode", name, OIDC_PROV_FILE);
            continue;
        }
        if ((rec = vget_name(v, OIDC_CACHE_K_USER_NAME, name, &rl)) == NULL ||
            oidc_cache_pw_decode(rec, rl, &pw) != 0) {
            problem(v, "user '%s' is in %s but not in %s", name, OIDC_PROV_FILE, OIDC_CACHE_FILE);
            continue;
        }
        if (m.expires != pw.expires || m.flags != pw.flags)
            problem(v, "user '%s': %s and %s disagree on expiry or flags", name, OIDC_PROV_FILE,
                    OIDC_CACHE_FILE);
        if (m.subject[0] == '\0' && !(m.flags & OIDC_CACHE_F_PREPROVISIONED))
            problem(v, "user '%s': no subject in %s without being pre-provisioned", name,
                    OIDC_PROV_FILE);
    }
    if (r < 0 || !oidc_cache_cdb_layout_ok(&db, st.st_size, pos))
        problem(v, "%s/%s: the record chain is broken or the hash tables are out of place", dir,
                OIDC_PROV_FILE);
    else if (n != users)
        problem(v, "%s/%s holds %zu record%s for the %zu user%s of %s (a user without its record)",
                dir, OIDC_PROV_FILE, n, n == 1 ? "" : "s", users, users == 1 ? "" : "s",
                OIDC_CACHE_FILE);
out:
    cdb_free(&db);
    close(fd);
}

/* What the walk over cache.cdb's records gathers for the checks after it. */
struct verify_walk {
    int have_version;
    size_t users, groups;
    uint64_t file_gen;
    char last_override[OIDC_CACHE_NAME_MAX + 1]; /* the "o" record before, "" for none */
};

/* An override record's entry: a provider of the preauth record, a uid inside its range. */
struct override_check {
    const unsigned char *preauth; /* NULL: the file has none */
    unsigned plen;
    const char *provider; /* preauth_range's question */
    uint32_t uid_min, uid_max;
    int found, bad;
};

static int preauth_range(void *ctx, const struct oidc_cache_preauth *p)
{
    struct override_check *o = ctx;

    if (p->provider == NULL || strcmp(p->provider, o->provider) != 0)
        return 0;
    o->uid_min = p->uid_min;
    o->uid_max = p->uid_max;
    return o->found = 1;
}

static int override_entry_ok(void *ctx, uint32_t uid, const char *provider)
{
    struct override_check *o = ctx;

    o->provider = provider;
    o->found = 0;
    if (o->preauth != NULL)
        (void)oidc_cache_preauth_walk(o->preauth, o->plen, preauth_range, o);
    if (!o->found || uid < o->uid_min || uid > o->uid_max)
        o->bad = 1;
    return o->bad;
}

static void verify_override(struct vctx *v, struct verify_walk *w, const unsigned char *val,
                            unsigned vlen, const char *name)
{
    struct override_check o = {NULL, 0, NULL, 0, 0, 0, 0};

    o.preauth = vget(v, OIDC_CACHE_K_PREAUTH, "", 0, &o.plen, NULL);
    if (oidc_cache_name_len(name, OIDC_CACHE_NAME_MAX + 1) != strlen(name) ||
        oidc_cache_override_walk(val, vlen, NULL, NULL) != 0)
        problem(v, "override record '%s' is malformed", name);
    else if (w->last_override[0] != '\0' && strcmp(w->last_override, name) >= 0)
        problem(v, "override record '%s' is out of name order, or a second one", name);
    else if (oidc_cache_override_walk(val, vlen, override_entry_ok, &o) != 0 || o.bad)
        problem(v,
                "override record '%s' names a provider the preauth record lacks, or a uid "
                "outside its range ('oidcctl cache sync' rewrites it from the configuration)",
                name);
    snprintf(w->last_override, sizeof(w->last_override), "%s", name);
}

/* One record of oidc_cache_verify's walk, checked by its kind (NAME: the key without its type). */
static void verify_record(struct vctx *v, struct verify_walk *w, const unsigned char *key,
                          unsigned klen, const unsigned char *val, unsigned vlen, const char *name,
                          struct oidc_localdb *local)
{
    const unsigned char *r2;
    struct oidc_cache_pw pw;
    struct oidc_cache_gr gr;
    struct oidc_cache_meta m;
    uint32_t n, idv;
    unsigned l2;

    switch (key[0]) {
    case OIDC_CACHE_K_VERSION:
        if (klen == 1 && vlen == strlen(OIDC_CACHE_VERSION) &&
            memcmp(val, OIDC_CACHE_VERSION, vlen) == 0)
            w->have_version = 1;
        else
            problem(v, "the version record is not '%s'", OIDC_CACHE_VERSION);
        break;
    case OIDC_CACHE_K_USER_NAME:
        w->users++;
        if (oidc_cache_pw_decode(val, vlen, &pw) != 0 || strcmp(pw.name, name) != 0)
            problem(v, "user record '%s' is malformed or names another user", name);
        else
            verify_user(v, &pw, val, vlen, local);
        break;
    case OIDC_CACHE_K_USER_ID:
        if (oidc_cache_key_id_value(key, klen, &idv) != 0 ||
            oidc_cache_pw_decode(val, vlen, &pw) != 0 || pw.uid != idv)
            problem(v, "a uid record is malformed or sits under another uid");
        else if ((r2 = vget_name(v, OIDC_CACHE_K_USER_NAME, pw.name, &l2)) == NULL || l2 != vlen ||
                 memcmp(r2, val, vlen) != 0)
            problem(v, "uid %" PRIu32 " ('%s') has no matching name record", pw.uid, pw.name);
        break;
    case OIDC_CACHE_K_GROUP_NAME:
        w->groups++;
        if (oidc_cache_gr_decode(val, vlen, &gr) != 0 || strcmp(gr.name, name) != 0)
            problem(v, "group record '%s' is malformed or names another group", name);
        else
            verify_group(v, &gr, val, vlen, local);
        break;
    case OIDC_CACHE_K_GROUP_ID:
        if (oidc_cache_key_id_value(key, klen, &idv) != 0 ||
            oidc_cache_gr_decode(val, vlen, &gr) != 0 || gr.gid != idv)
            problem(v, "a gid record is malformed or sits under another gid");
        else if ((r2 = vget_name(v, OIDC_CACHE_K_GROUP_NAME, gr.name, &l2)) == NULL || l2 != vlen ||
                 memcmp(r2, val, vlen) != 0)
            problem(v, "gid %" PRIu32 " ('%s') has no matching name record", gr.gid, gr.name);
        break;
    case OIDC_CACHE_K_INITGROUPS:
        if (oidc_cache_initgroups_decode(val, vlen, &n) != 0)
            problem(v, "initgroups record '%s' is malformed", name);
        else if (vget_name(v, OIDC_CACHE_K_USER_NAME, name, &l2) == NULL)
            problem(v, "initgroups record '%s' has no user", name);
        break;
    case OIDC_CACHE_K_META:
        if (oidc_cache_meta_decode(val, vlen, &m) != 0)
            problem(v, "provenance record '%s' is malformed", name);
        else if (vget_name(v, OIDC_CACHE_K_USER_NAME, name, &l2) == NULL)
            problem(v, "provenance record '%s' has no user", name);
        break;
    case OIDC_CACHE_K_PREAUTH:
        if (klen != 1 || !preauth_valid(val, vlen))
            problem(v, "the preauth record is malformed");
        break;
    case OIDC_CACHE_K_OVERRIDE:
        verify_override(v, w, val, vlen, name);
        break;
    case OIDC_CACHE_K_SERIAL:
        if (klen != 1 || oidc_cache_serial_decode(val, vlen, &w->file_gen) != 0)
            problem(v, "the generation record is malformed");
        break;
    case OIDC_CACHE_K_INDEX:
        if (klen != 2 || key[1] == '\0' || strchr(OIDC_CACHE_INDEXED, key[1]) == NULL)
            problem(v, "a lookup index of unknown kind");
        break; /* the known ones: oidc_cache_audit_start */
    default:
        problem(v, "a record of unknown kind '%c'", key[0]);
    }
}

int oidc_cache_verify(const struct oidc_cache_opts *opts,
                      void (*report)(void *ctx, const char *line), void *ctx, struct oidc_err *err)
{
    struct vctx v = {report, ctx, 0, NULL, 0};
    struct oidc_localdb *local = NULL;
    struct oidc_err lerr = {0};
    struct cdb db;
    struct stat st;
    unsigned pos, klen, vlen, count, l2;
    const unsigned char *key, *val;
    struct verify_walk w = {0, 0, 0, 0, ""};
    struct index_audit audit;
    char name[OIDC_CACHE_NAME_MAX + 1];
    int dirfd = -1, fd = -1, db_open = 0, rc;

    if (opts == NULL || opts->dir == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache verify: missing argument");
    dirfd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0) {
        if (errno == ENOENT)
            goto done; /* no directory, no file: an empty cache */
        problem(&v, "cannot open the state directory %s: %s", opts->dir, strerror(errno));
        goto done;
    }
    if (oidc_cache_dir_check(dirfd, opts->dir, &lerr) != OIDC_OK)
        problem(&v, "%s", oidc_err_msg(&lerr));
    fd = openat(dirfd, OIDC_CACHE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            problem(&v, "cannot open %s/%s: %s", opts->dir, OIDC_CACHE_FILE, strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        problem(&v, "%s/%s is not a regular file", opts->dir, OIDC_CACHE_FILE);
        goto done;
    }
    if ((st.st_mode & 07777) != 0644)
        problem(&v, "%s/%s has mode %04o (expected 0644)", opts->dir, OIDC_CACHE_FILE,
                (unsigned)(st.st_mode & 07777));
    if (st.st_uid != 0 && (geteuid() == 0 || st.st_uid != geteuid()))
        problem(&v, "%s/%s is owned by uid %u (expected root)", opts->dir, OIDC_CACHE_FILE,
                (unsigned)st.st_uid);
    if (st.st_size > CACHE_FILE_MAX || cdb_init(&db, fd) != 0) {
        problem(&v, "%s/%s is not a CDB file (truncated or overwritten?)", opts->dir,
                OIDC_CACHE_FILE);
        goto done;
    }
    db_open = 1;
    v.db = &db;
    if (oidc_localdb_load(opts->env, &local, &lerr) != OIDC_OK)
        problem(&v, "local accounts not checked: %s", oidc_err_msg(&lerr));
    oidc_cache_audit_start(&audit, &db);

    cdb_seqinit(&pos, &db);
    for (;;) {
        unsigned at = pos;

        if ((rc = cdb_seqnext(&pos, &db)) <= 0)
            break;
        klen = cdb_keylen(&db);
        vlen = cdb_datalen(&db);
        key = cdb_getkey(&db);
        val = cdb_getdata(&db);
        if (key == NULL || val == NULL || klen == 0 || klen > OIDC_CACHE_KEY_MAX) {
            problem(&v, "a record has a bad key or lies outside the file");
            continue;
        }
        count = 0;
        (void)vget(&v, (char)key[0], key + 1, klen - 1, &l2, &count);
        if (count != 1)
            problem(&v, "key '%c' + %u bytes appears %u times", key[0], klen - 1, count);
        memcpy(name, key + 1, klen - 1);
        name[klen - 1] = '\0';
        oidc_cache_audit_record(&audit, key, klen, at);
        verify_record(&v, &w, key, klen, val, vlen, name, local);
    }
    if (rc < 0)
        problem(&v, "the record chain of %s/%s is broken", opts->dir, OIDC_CACHE_FILE);
    else if (!oidc_cache_cdb_layout_ok(&db, st.st_size, pos))
        problem(&v, "the hash tables of %s/%s are missing or out of place (truncated?)", opts->dir,
                OIDC_CACHE_FILE);
    if (!w.have_version)
        problem(&v, "no version record");
    (void)oidc_cache_audit_finish(&audit, pos);
    verify_index_report(&v, &audit);
    verify_serial(&v, dirfd, opts->dir, w.file_gen);
    verify_provenance(&v, dirfd, opts->dir, w.users, v.legacy, w.file_gen);
    (void)w.groups;
done:
    if (v.problems > VERIFY_REPORT_MAX && report != NULL) {
        char line[96];
        snprintf(line, sizeof(line), "... and %zu more problems", v.problems - VERIFY_REPORT_MAX);
        report(ctx, line);
    }
    oidc_localdb_free(local);
    if (db_open)
        cdb_free(&db);
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    if (v.problems > 0)
        return OIDC_ERR_SET(err, OIDC_ERR_PARSE, "the identity cache has %zu problem%s", v.problems,
                            v.problems == 1 ? "" : "s");
    return OIDC_OK;
}
