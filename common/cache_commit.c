/* Identity cache writer, committing: encoding the tables into cache.cdb (users, groups,
 * memberships, initgroups lists, the preauth and serial records, through cache_layout.c's record
 * order and index) and provenance.cdb, and replacing both atomically (temporary file, fsync,
 * rename, then the cache.serial bump). It does not decide what is stored (cache_rules.c) nor read
 * the old file (cache_load.c). */
#include "config.h"
#include "cache_int.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ commit */

static int put_flags(struct oidc_cache_layout *m, const unsigned char *key, size_t klen,
                     const struct oidc_cache_buf *b, unsigned flags)
{
    if (b->failed)
        return -1;
    return oidc_cache_layout_add(m, key, klen, b->p, b->len, flags);
}

static int put(struct oidc_cache_layout *m, const unsigned char *key, size_t klen,
               const struct oidc_cache_buf *b)
{
    return put_flags(m, key, klen, b, 0);
}

static void enc_pw(struct oidc_cache_buf *b, const struct oidc_cache_user *u)
{
    b->len = 0;
    oidc_cache_buf_u32(b, u->uid);
    oidc_cache_buf_u32(b, u->gid);
    oidc_cache_buf_i64(b, u->expires);
    oidc_cache_buf_u32(b, u->flags);
    oidc_cache_buf_str(b, u->name);
    oidc_cache_buf_str(b, u->gecos);
    oidc_cache_buf_str(b, u->home);
    oidc_cache_buf_str(b, u->shell);
}

/* The "m" record of cache.cdb (world-readable): expiry, flags and the groups, with the
 * provenance left out (login times 0; issuer, subject and provider ""). */
static void enc_meta(struct oidc_cache_buf *b, const struct oidc_cache_user *u)
{
    size_t k;

    b->len = 0;
    oidc_cache_buf_i64(b, 0);
    oidc_cache_buf_i64(b, 0);
    oidc_cache_buf_i64(b, u->expires);
    oidc_cache_buf_u32(b, u->flags);
    oidc_cache_buf_u32(b, (uint32_t)u->n_groups);
    oidc_cache_buf_str(b, "");
    oidc_cache_buf_str(b, "");
    oidc_cache_buf_str(b, "");
    for (k = 0; k < u->n_groups; k++) {
        oidc_cache_buf_u32(b, u->groups[k].gid);
        oidc_cache_buf_str(b, u->groups[k].name);
    }
}

/* The "m" record of provenance.cdb (root-only): the same layout with the provenance and no
 * groups (they are public, in cache.cdb). */
static void enc_prov(struct oidc_cache_buf *b, const struct oidc_cache_user *u)
{
    b->len = 0;
    oidc_cache_buf_i64(b, u->first_login);
    oidc_cache_buf_i64(b, u->last_login);
    oidc_cache_buf_i64(b, u->expires);
    oidc_cache_buf_u32(b, u->flags);
    oidc_cache_buf_u32(b, 0);
    oidc_cache_buf_str(b, u->issuer);
    oidc_cache_buf_str(b, u->subject);
    oidc_cache_buf_str(b, u->provider);
}

static void enc_initgroups(struct oidc_cache_buf *b, const struct oidc_cache_user *u)
{
    size_t k;

    b->len = 0;
    oidc_cache_buf_u32(b, (uint32_t)u->n_groups);
    for (k = 0; k < u->n_groups; k++)
        oidc_cache_buf_u32(b, u->groups[k].gid);
}

static void enc_group_head(struct oidc_cache_buf *b, uint32_t gid, uint32_t nmem, int64_t expires,
                           const char *name)
{
    b->len = 0;
    oidc_cache_buf_u32(b, gid);
    oidc_cache_buf_u32(b, nmem);
    oidc_cache_buf_i64(b, expires);
    oidc_cache_buf_str(b, name);
}

static int cmp_grp_idx(const void *a, const void *b, void *ctx)
{
    const struct grp *g = ctx;

    return strcmp(g[*(const uint32_t *)a].name, g[*(const uint32_t *)b].name);
}

static int put_user(struct oidc_cache_layout *m, struct oidc_cache_buf *b,
                    const struct oidc_cache_user *u)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t kn, ki;

    kn = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, u->name, key);
    enc_pw(b, u);
    if (put(m, key, kn, b) != 0)
        return -1;
    /* right after the "n" record: initgroups reads both, and finds this one on the same page */
    oidc_cache_key_name(OIDC_CACHE_K_INITGROUPS, u->name, key);
    enc_initgroups(b, u);
    if (put_flags(m, key, kn, b, OIDC_CACHE_LAYOUT_FOLLOW) != 0)
        return -1;
    enc_pw(b, u);
    ki = oidc_cache_key_id(OIDC_CACHE_K_USER_ID, u->uid, key);
    if (put(m, key, ki, b) != 0)
        return -1;
    oidc_cache_key_name(OIDC_CACHE_K_META, u->name, key);
    enc_meta(b, u);
    if (put(m, key, kn, b) != 0)
        return -1;
    /* the private group: gid == uid, the user's name, no listed members */
    enc_group_head(b, u->gid, 0, u->expires, u->name);
    oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, u->name, key);
    if (put(m, key, kn, b) != 0)
        return -1;
    ki = oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, u->gid, key);
    return put(m, key, ki, b);
}

/* The "o" records, from c->overrides (name\0, u32 len, record; cache_int.h), in its order. */
static int put_overrides(struct oidc_cache_layout *m, const struct oidc_cache_buf *o)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t off = 0, kl, nl;
    uint32_t len;

    while (off < o->len) {
        nl = strnlen((const char *)o->p + off, o->len - off);
        if (nl >= o->len - off || o->len - off - nl - 1 < 4)
            return errno = EINVAL, -1;
        kl = oidc_cache_key_name(OIDC_CACHE_K_OVERRIDE, (const char *)o->p + off, key);
        off += nl + 1;
        len = oidc_cache_get_u32(o->p + off);
        off += 4;
        if (kl == 0 || len > o->len - off)
            return errno = EINVAL, -1;
        if (oidc_cache_layout_add(m, key, kl, o->p + off, len, 0) != 0)
            return -1;
        off += len;
    }
    return 0;
}

/* Adds every record to m, the generation record "s" = gen first. */
static int add_records(struct oidc_cache *c, struct oidc_cache_layout *m, uint64_t gen,
                       struct oidc_err *err)
{
    const struct oidc_cache_user **users;
    struct oidc_cache_buf b = {0};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    uint32_t *off = NULL, *fill = NULL, *mem = NULL, *order = NULL;
    int64_t *gexp = NULL;
    size_t i, k, total = 0, kl;
    int r = OIDC_ERR_INTERNAL;

    if (oidc_cache_view_build(c) != 0)
        goto nomem;
    users = c->view->sorted;
    for (i = 0; i < c->n_groups; i++)
        total += c->groups[i].nref;
    if ((off = calloc(c->n_groups + 1, sizeof(*off))) == NULL ||
        (fill = calloc(c->n_groups + 1, sizeof(*fill))) == NULL ||
        (order = calloc(c->n_groups + 1, sizeof(*order))) == NULL ||
        (gexp = calloc(c->n_groups + 1, sizeof(*gexp))) == NULL ||
        (mem = calloc(total + 1, sizeof(*mem))) == NULL)
        goto nomem;
    for (i = 0; i < c->n_groups; i++) {
        off[i + 1] = off[i] + c->groups[i].nref;
        order[i] = (uint32_t)i;
        gexp[i] = -1;
    }
    /* memberships in user-name order; a group lives as long as its longest-lived member */
    for (i = 0; i < c->n_users; i++)
        for (k = 0; k < users[i]->n_groups; k++) {
            long g = oidc_cache_lookup_group(c, users[i]->groups[k].name);
            if (g < 0 || fill[g] >= c->groups[g].nref) {
                r = OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "cache: group index out of step");
                goto out;
            }
            mem[off[g] + fill[g]++] = (uint32_t)i;
            if (gexp[g] != 0 && (users[i]->expires == 0 || users[i]->expires > gexp[g]))
                gexp[g] = users[i]->expires;
        }
    qsort_r(order, c->n_groups, sizeof(*order), cmp_grp_idx, c->groups);

    if (oidc_cache_layout_add(m, "V", 1, OIDC_CACHE_VERSION, strlen(OIDC_CACHE_VERSION), 0) != 0)
        goto io;
    oidc_cache_buf_i64(&b, (int64_t)gen);
    if (put(m, (const unsigned char *)"s", 1, &b) != 0)
        goto io;
    for (i = 0; i < c->n_users; i++)
        if (put_user(m, &b, users[i]) != 0)
            goto io;
    for (i = 0; i < c->n_groups; i++) {
        const struct grp *g = &c->groups[order[i]];
        uint32_t j;

        enc_group_head(&b, g->gid, g->nref, gexp[order[i]] < 0 ? 0 : gexp[order[i]], g->name);
        for (j = 0; j < g->nref; j++)
            oidc_cache_buf_str(&b, users[mem[off[order[i]] + j]]->name);
        kl = oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, g->name, key);
        if (put(m, key, kl, &b) != 0)
            goto io;
        kl = oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, g->gid, key);
        if (put(m, key, kl, &b) != 0)
            goto io;
    }
    if (c->has_preauth && oidc_cache_layout_add(m, "p", 1, c->preauth.p, c->preauth.len, 0) != 0)
        goto io;
    if (put_overrides(m, &c->overrides) != 0)
        goto io;
    r = OIDC_OK;
    goto out;
io: /* the layout: out of memory, or (streaming) cdb_make_add failed */
    r = b.failed || errno == ENOMEM
            ? OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory encoding the cache")
            : OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot write the new cache file: %s",
                           strerror(errno));
    goto out;
nomem:
    r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory writing the cache");
out:
    oidc_cache_buf_free(&b);
    free(off);
    free(fill);
    free(mem);
    free(order);
    free(gexp);
    return r;
}

/* Opens (creating it when missing) STATE/cache.serial and maps its counter for writing; repairs
 * its owner, mode and a missing or damaged header in place (the file is never replaced: readers
 * keep a mapping of it). *cur gets the generation it holds. Called under the lock, before
 * anything is written, so that the bump after the rename cannot fail. */
static int serial_open(struct oidc_cache *c, void **map, uint64_t *cur, struct oidc_err *err)
{
    unsigned char head[OIDC_CACHE_SERIAL_SIZE];
    struct stat st;
    void *p;
    int fd, r;

    fd = openat(c->dirfd, OIDC_CACHE_SERIAL_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot open %s/%s: %s", c->dir,
                            OIDC_CACHE_SERIAL_FILE,
                            errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "%s/%s is not a regular file", c->dir,
                         OIDC_CACHE_SERIAL_FILE);
        goto fail;
    }
    if ((geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) && fchown(fd, 0, 0) != 0) ||
        ((st.st_mode & 07777) != 0644 && fchmod(fd, 0644) != 0)) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot set the owner and mode of %s/%s: %s", c->dir,
                         OIDC_CACHE_SERIAL_FILE, strerror(errno));
        goto fail;
    }
    if (st.st_size < OIDC_CACHE_SERIAL_SIZE ||
        pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
        memcmp(head, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF) != 0) {
        /* New or damaged: a header in place, with the loaded file's generation. Readers that
         * mapped it while it was damaged are in stat mode; they move over at their next reload. */
        memcpy(head, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF);
        memcpy(head + OIDC_CACHE_SERIAL_OFF, &c->file_gen, sizeof(c->file_gen));
        if (pwrite(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head)) {
            r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot write %s/%s: %s", c->dir,
                             OIDC_CACHE_SERIAL_FILE, strerror(errno));
            goto fail;
        }
    }
    p = mmap(NULL, OIDC_CACHE_SERIAL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot map %s/%s: %s", c->dir, OIDC_CACHE_SERIAL_FILE,
                         strerror(errno));
        goto fail;
    }
    close(fd);
    *map = p;
    *cur = __atomic_load_n((uint64_t *)(void *)((unsigned char *)p + OIDC_CACHE_SERIAL_OFF),
                           __ATOMIC_ACQUIRE);
    return OIDC_OK;
fail:
    close(fd);
    return r;
}

/* Writes provenance.cdb (root-only) for generation gen: a temporary file, every user's
 * provenance record, owner root, mode 0600, fsync, rename, fsync of the directory. The commit
 * calls it before it writes cache.cdb, so every user that cache.cdb (and NSS) shows has its
 * binding on disk; a crash between the two renames leaves a provenance file newer than cache.cdb,
 * which the loader accepts (oidc_cache_load_provenance). */
static int write_provenance(struct oidc_cache *c, uint64_t gen, struct oidc_err *err)
{
    char tmp[sizeof(TMP_PREFIX) + TMP_SUFFIX_LEN];
    unsigned char key[OIDC_CACHE_KEY_MAX];
    struct oidc_cache_buf b = {0};
    struct cdb_make m;
    size_t i, kl;
    int fd, r = OIDC_ERR_INTERNAL, made = 0;

    if (oidc_cache_view_build(c) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory writing the cache");
    if ((fd = oidc_cache_dir_create_tmp(c, tmp, err)) < 0)
        return fd;
    if (cdb_make_start(&m, fd) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "cannot start a CDB file: %s", strerror(errno));
        goto out;
    }
    made = 1;
    if (cdb_make_add(&m, "V", 1, OIDC_PROV_VERSION, strlen(OIDC_PROV_VERSION)) != 0)
        goto io;
    oidc_cache_buf_i64(&b, (int64_t)gen);
    if (b.failed || cdb_make_add(&m, "s", 1, b.p, (unsigned)b.len) != 0)
        goto io;
    for (i = 0; i < c->n_users; i++) {
        const struct oidc_cache_user *u = c->view->sorted[i];
        kl = oidc_cache_key_name(OIDC_CACHE_K_META, u->name, key);
        enc_prov(&b, u);
        if (kl == 0 || b.failed || cdb_make_add(&m, key, (unsigned)kl, b.p, (unsigned)b.len) != 0)
            goto io;
    }
    made = 0;
    if (cdb_make_finish(&m) != 0 || (geteuid() == 0 && fchown(fd, 0, 0) != 0) ||
        fchmod(fd, 0600) != 0 || fsync(fd) != 0)
        goto io;
    if (renameat(c->dirfd, tmp, c->dirfd, OIDC_PROV_FILE) != 0)
        goto io;
    tmp[0] = '\0'; /* renamed: nothing to remove */
    /* on disk before cache.cdb is renamed: the order is the contract (docs/cache.md) */
    if (fsync(c->dirfd) != 0)
        goto io;
    r = OIDC_OK;
    goto out;
io:
    r = b.failed ? OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory encoding the cache")
                 : OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot write %s/%s: %s", c->dir, OIDC_PROV_FILE,
                                strerror(errno));
out:
    if (made)
        (void)cdb_make_finish(&m);
    oidc_cache_buf_free(&b);
    close(fd);
    if (tmp[0] != '\0')
        (void)unlinkat(c->dirfd, tmp, 0);
    return r;
}

int oidc_cache_commit(struct oidc_cache *c, int *written, struct oidc_err *err)
{
    char tmp[sizeof(TMP_PREFIX) + TMP_SUFFIX_LEN];
    struct oidc_cache_layout layout;
    struct cdb_make m;
    void *serial = NULL;
    uint64_t cur = 0, gen;
    int fd, r = OIDC_ERR_INTERNAL, made = 0, synced;

    if (written != NULL)
        *written = 0;
    if (c == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache commit: missing argument");
    if (!c->dirty)
        return OIDC_OK;
    if (c->readonly)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "cache commit: the cache was loaded read-only");
    if ((r = serial_open(c, &serial, &cur, err)) != OIDC_OK)
        return r;
    /* Above both the serial and the loaded file's generation: after a crash between a rename and
     * the bump, or a serial file created afresh, the counter may lag behind the file. */
    gen = (cur > c->file_gen ? cur : c->file_gen) + 1;
    if ((r = write_provenance(c, gen, err)) != OIDC_OK) {
        munmap(serial, OIDC_CACHE_SERIAL_SIZE);
        return r;
    }
    if ((fd = oidc_cache_dir_create_tmp(c, tmp, err)) < 0) {
        munmap(serial, OIDC_CACHE_SERIAL_SIZE);
        return fd;
    }
    if (cdb_make_start(&m, fd) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "cannot start a CDB file: %s", strerror(errno));
        goto out;
    }
    made = 1;
    oidc_cache_layout_init(&layout);
    oidc_cache_layout_stream(&layout, &m);
    r = add_records(c, &layout, gen, err);
    if (r == OIDC_OK && oidc_cache_layout_write(&layout, &m) != 0)
        r = OIDC_ERR_SET(err, errno == ENOMEM ? OIDC_ERR_NOMEM : OIDC_ERR_IO,
                         "cannot write the new cache file: %s", strerror(errno));
    oidc_cache_layout_free(&layout);
    if (r != OIDC_OK)
        goto out;
    made = 0;
    if (cdb_make_finish(&m) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot write %s/%s: %s", c->dir, tmp, strerror(errno));
        goto out;
    }
    if ((geteuid() == 0 && fchown(fd, 0, 0) != 0) || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot finish %s/%s: %s", c->dir, tmp, strerror(errno));
        goto out;
    }
    if (renameat(c->dirfd, tmp, c->dirfd, OIDC_CACHE_FILE) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot rename %s/%s to %s: %s", c->dir, tmp,
                         OIDC_CACHE_FILE, strerror(errno));
        goto out;
    }
    tmp[0] = '\0'; /* renamed: nothing to remove */
    synced = fsync(c->dirfd) == 0 ? 0 : errno;
    /* Only now (renamed, directory synced) do readers learn of the new file: one that sees gen
     * and opens cache.cdb gets this file or a newer one. Bumped even when the sync failed: the
     * file at the path is this one either way. The counter is not synced to disk: after a reboot
     * every reader starts afresh, and a counter left behind is overtaken by the next commit. */
    __atomic_store_n((uint64_t *)(void *)((unsigned char *)serial + OIDC_CACHE_SERIAL_OFF), gen,
                     __ATOMIC_RELEASE);
    c->file_gen = gen;
    if (synced != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot sync %s: %s", c->dir, strerror(synced));
        goto out;
    }
    c->dirty = 0;
    if (written != NULL)
        *written = 1;
    r = OIDC_OK;
out:
    if (made) { /* cdb_make_finish frees its memory; an abandoned make must too */
        (void)cdb_make_finish(&m);
    }
    close(fd);
    if (tmp[0] != '\0')
        (void)unlinkat(c->dirfd, tmp, 0);
    munmap(serial, OIDC_CACHE_SERIAL_SIZE);
    return r;
}
