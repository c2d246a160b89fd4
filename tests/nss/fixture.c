/* Test fixtures for the cache reader: see fixture.h. */
#include "config.h"
#include "fixture.h"
#include "cache_rec.h"
#include "idhash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- cache.serial */

static int g_serial_on = 1;
static uint64_t g_last_gen;

void fx_set_serial(int on)
{
    g_serial_on = on;
}

int fx_serial_path(const char *cache_path, char *out, size_t cap)
{
    const char *slash = strrchr(cache_path, '/');
    size_t dlen = slash != NULL ? (size_t)(slash - cache_path) + 1 : 0;

    if (dlen + sizeof(OIDC_CACHE_SERIAL_FILE) > cap)
        return -1;
    memcpy(out, cache_path, dlen);
    memcpy(out + dlen, OIDC_CACHE_SERIAL_FILE, sizeof(OIDC_CACHE_SERIAL_FILE));
    return 0;
}

uint64_t fx_serial_read(const char *cache_path)
{
    unsigned char head[OIDC_CACHE_SERIAL_SIZE];
    char path[4096];
    uint64_t v = 0;
    int fd;

    if (fx_serial_path(cache_path, path, sizeof(path)) != 0 ||
        (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
        memcmp(head, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF) == 0)
        memcpy(&v, head + OIDC_CACHE_SERIAL_OFF, sizeof(v));
    close(fd);
    return v;
}

int fx_serial_store(const char *cache_path, uint64_t gen)
{
    unsigned char head[OIDC_CACHE_SERIAL_SIZE];
    char path[4096];
    struct stat st;
    void *p;
    int fd, ok;

    if (fx_serial_path(cache_path, path, sizeof(path)) != 0 ||
        (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return -1;
    ok = fstat(fd, &st) == 0 && fchmod(fd, 0644) == 0;
    if (ok && (st.st_size < OIDC_CACHE_SERIAL_SIZE ||
               pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
               memcmp(head, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF) != 0)) {
        memset(head, 0, sizeof(head));
        memcpy(head, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF);
        ok = pwrite(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head);
    }
    p = ok ? mmap(NULL, OIDC_CACHE_SERIAL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
           : MAP_FAILED;
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    __atomic_store_n((uint64_t *)(void *)((unsigned char *)p + OIDC_CACHE_SERIAL_OFF), gen,
                     __ATOMIC_RELEASE);
    munmap(p, OIDC_CACHE_SERIAL_SIZE);
    return 0;
}

static uint64_t next_gen(const char *cache_path)
{
    uint64_t s = fx_serial_read(cache_path);

    g_last_gen = (s > g_last_gen ? s : g_last_gen) + 1;
    return g_last_gen;
}

uint64_t fx_file_gen(const char *cache_path)
{
    struct cdb c;
    uint64_t gen = 0;
    int fd = open(cache_path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    if (cdb_init(&c, fd) == 0) {
        const void *v;

        if (cdb_find(&c, "s", 1) > 0 && cdb_datalen(&c) == 8 &&
            (v = cdb_get(&c, 8, cdb_datapos(&c))) != NULL)
            (void)oidc_cache_serial_decode(v, 8, &gen);
        cdb_free(&c);
    }
    close(fd);
    return gen;
}

/* ---------------------------------------------------------------- cdb files */

static int g_index_on = 1;

void fx_set_index(int on)
{
    g_index_on = on;
}

int fx_open(struct fx *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    if ((size_t)snprintf(f->path, sizeof(f->path), "%s", path) >= sizeof(f->path) ||
        (size_t)snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", path) >= sizeof(f->tmp))
        return -1;
    f->fd = open(f->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return -1;
    if (cdb_make_start(&f->mk, f->fd) != 0) {
        close(f->fd);
        return -1;
    }
    oidc_cache_layout_init(&f->lay);
    f->lay.no_index = !g_index_on;
    return 0;
}

static void add(struct fx *f, const void *key, size_t klen, const void *val, size_t vlen,
                unsigned flags)
{
    if (oidc_cache_layout_add(&f->lay, key, klen, val, vlen, flags) != 0)
        f->failed = 1;
}

void fx_raw(struct fx *f, const void *key, size_t klen, const void *val, size_t vlen)
{
    add(f, key, klen, val, vlen, 0);
}

void fx_version(struct fx *f, const char *version)
{
    unsigned char k = OIDC_CACHE_K_VERSION;

    fx_raw(f, &k, 1, version, strlen(version));
}

static void put_buf_flags(struct fx *f, const unsigned char *key, size_t klen,
                          struct oidc_cache_buf *b, unsigned flags)
{
    if (klen == 0 || b->failed)
        f->failed = 1;
    else
        add(f, key, klen, b->p, b->len, flags);
}

static void put_buf(struct fx *f, const unsigned char *key, size_t klen, struct oidc_cache_buf *b)
{
    put_buf_flags(f, key, klen, b, 0);
}

void fx_user_pw(struct fx *f, const struct fx_user *u, char type)
{
    struct oidc_cache_buf b = {0};
    unsigned char key[OIDC_CACHE_KEY_MAX];

    oidc_cache_buf_u32(&b, u->uid);
    oidc_cache_buf_u32(&b, u->gid);
    oidc_cache_buf_i64(&b, u->expires);
    oidc_cache_buf_u32(&b, 0);
    oidc_cache_buf_str(&b, u->name);
    oidc_cache_buf_str(&b, u->gecos);
    oidc_cache_buf_str(&b, u->home);
    oidc_cache_buf_str(&b, u->shell);
    put_buf(f, key,
            type == OIDC_CACHE_K_USER_ID ? oidc_cache_key_id(type, u->uid, key)
                                         : oidc_cache_key_name(type, u->name, key),
            &b);
    oidc_cache_buf_free(&b);
}

void fx_user_ig(struct fx *f, const struct fx_user *u, unsigned flags)
{
    struct oidc_cache_buf b = {0};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t i;

    if (u->ngroups == 0)
        return;
    oidc_cache_buf_u32(&b, (uint32_t)u->ngroups);
    for (i = 0; i < u->ngroups; i++)
        oidc_cache_buf_u32(&b, u->groups[i]);
    put_buf_flags(f, key, oidc_cache_key_name(OIDC_CACHE_K_INITGROUPS, u->name, key), &b, flags);
    oidc_cache_buf_free(&b);
}

void fx_user(struct fx *f, const struct fx_user *u)
{
    fx_user_pw(f, u, OIDC_CACHE_K_USER_NAME);
    fx_user_ig(f, u, OIDC_CACHE_LAYOUT_FOLLOW); /* right after "n", as the writer does */
    fx_user_pw(f, u, OIDC_CACHE_K_USER_ID);
}

void fx_group(struct fx *f, const struct fx_group *g)
{
    struct oidc_cache_buf b = {0};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t i;

    oidc_cache_buf_u32(&b, g->gid);
    oidc_cache_buf_u32(&b, (uint32_t)g->nmem);
    oidc_cache_buf_i64(&b, g->expires);
    oidc_cache_buf_str(&b, g->name);
    for (i = 0; i < g->nmem; i++)
        oidc_cache_buf_str(&b, g->members[i]);
    put_buf(f, key, oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, g->name, key), &b);
    put_buf(f, key, oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, g->gid, key), &b);
    oidc_cache_buf_free(&b);
}

void fx_preauth(struct fx *f, const struct fx_preauth *p, size_t n)
{
    struct oidc_cache_buf b = {0};
    unsigned char k = OIDC_CACHE_K_PREAUTH;
    size_t i, j;

    oidc_cache_buf_u32(&b, (uint32_t)n);
    for (i = 0; i < n; i++) {
        oidc_cache_buf_u32(&b, p[i].uid_min);
        oidc_cache_buf_u32(&b, p[i].uid_max);
        oidc_cache_buf_u32(&b, (uint32_t)p[i].npat);
        oidc_cache_buf_str(&b, p[i].provider);
        oidc_cache_buf_str(&b, p[i].home);
        oidc_cache_buf_str(&b, p[i].shell);
        for (j = 0; j < p[i].npat; j++)
            oidc_cache_buf_str(&b, p[i].patterns[j]);
    }
    put_buf(f, &k, 1, &b);
    oidc_cache_buf_free(&b);
}

void fx_override(struct fx *f, const char *name, const struct fx_override *o, size_t n)
{
    struct oidc_cache_buf b = {0};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t i;

    oidc_cache_buf_u32(&b, (uint32_t)n);
    for (i = 0; i < n; i++) {
        oidc_cache_buf_u32(&b, o[i].uid);
        oidc_cache_buf_str(&b, o[i].provider);
    }
    put_buf(f, key, oidc_cache_key_name(OIDC_CACHE_K_OVERRIDE, name, key), &b);
    oidc_cache_buf_free(&b);
}

int fx_finish(struct fx *f)
{
    struct oidc_cache_buf b = {0};
    unsigned char k = OIDC_CACHE_K_SERIAL;
    uint64_t gen = 0;
    int bad;

    if (!f->no_gen) {
        gen = next_gen(f->path);
        oidc_cache_buf_i64(&b, (int64_t)gen);
        put_buf(f, &k, 1, &b);
        oidc_cache_buf_free(&b);
    }
    bad = f->failed || oidc_cache_layout_write(&f->lay, &f->mk) != 0;
    oidc_cache_layout_free(&f->lay);
    if (cdb_make_finish(&f->mk) != 0 || fsync(f->fd) != 0)
        bad = 1;
    if (fchmod(f->fd, 0644) != 0)
        bad = 1;
    if (close(f->fd) != 0)
        bad = 1;
    if (bad || rename(f->tmp, f->path) != 0) {
        unlink(f->tmp);
        return -1;
    }
    /* after the rename, as the writer does */
    if (!f->no_gen && g_serial_on && fx_serial_store(f->path, gen) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- the basic fixture
 * users (uid = gid, private group of the same name unless noted):
 *   alice    2000001  "Alice Example TAG"  /home/alice  /bin/bash  groups devs, ops
 *   bob      2000002  "Bob TAG"            /home/bob    /bin/sh    groups devs; expires 2100
 *   carol    2000003  expired (1970)                               groups devs
 *   lowuid   999      below the floor
 *   lowgid   2000005, gid 500 (below the floor)
 *   FX_NAME32 2000006  a name of exactly 32 bytes                  groups FX_NAME32 group
 *   squatter the uid preauth would give "newsquat"
 * groups: devs 2100001 (alice bob carol), ops 2100002 (alice), oldgrp 2100003 (expired),
 *   wheelish 10 (below the floor), FX_NAME32 2100006 (alice), big 2100007 (FX_BIG_MEMBERS members
 *   m0000..), and the private groups.
 * preauth: provider "people", 0x70000000..0x7FFFFFFE, home /home/{name}, shell /bin/bash, names
 *   ci-* and new*; provider "other" (uid range 5000..5999) for names zz*. */
void fx_basic(struct fx *f, const char *tag)
{
    static const uint32_t alice_groups[] = {2100001, 2100002, 2100006, 10};
    static const uint32_t bob_groups[] = {2100001};
    static const uint32_t long_groups[] = {2100006};
    static const char *const devs[] = {"alice", "bob", "carol"};
    static const char *const ops[] = {"alice"};
    static const char *const patterns[] = {"ci-*", "new*"};
    static const char *const zz[] = {"zz*"};
    const struct fx_preauth pa[] = {
        {0x70000000u, 0x7FFFFFFEu, "people", "/home/{name}", "/bin/bash", patterns, 2},
        {5000, 5999, "other", "/srv/{name}/home", "/bin/sh", zz, 1},
    };
    char gecos[6][128];
    const char *bigmem[FX_BIG_MEMBERS];
    char bigname[FX_BIG_MEMBERS][8];
    size_t i;
    uint32_t squat = oidc_idhash_uid("newsquat", 8, 0x70000000u, 0x7FFFFFFEu);

    snprintf(gecos[0], sizeof(gecos[0]), "Alice Example %s", tag);
    snprintf(gecos[1], sizeof(gecos[1]), "Bob %s", tag);
    snprintf(gecos[2], sizeof(gecos[2]), "Carol %s", tag);
    snprintf(gecos[3], sizeof(gecos[3]), "Low %s", tag);
    snprintf(gecos[4], sizeof(gecos[4]), "Long %s", tag);
    snprintf(gecos[5], sizeof(gecos[5]), "Squatter %s", tag);
    const struct fx_user users[] = {
        {"alice", 2000001, 2000001, 0, gecos[0], "/home/alice", "/bin/bash", alice_groups, 4},
        {"bob", 2000002, 2000002, 4102444800LL, gecos[1], "/home/bob", "/bin/sh", bob_groups, 1},
        {"carol", 2000003, 2000003, 1, gecos[2], "/home/carol", "/bin/sh", bob_groups, 1},
        {"lowuid", 999, 2000004, 0, gecos[3], "/home/lowuid", "/bin/sh", NULL, 0},
        {"lowgid", 2000005, 500, 0, gecos[3], "/home/lowgid", "/bin/sh", NULL, 0},
        {FX_NAME32, 2000006, 2000006, 0, gecos[4], "/home/" FX_NAME32, "/bin/sh", long_groups, 1},
        {"squatter", squat, squat, 0, gecos[5], "/home/squatter", "/bin/sh", NULL, 0},
    };
    for (i = 0; i < FX_BIG_MEMBERS; i++) {
        snprintf(bigname[i], sizeof(bigname[i]), "m%04zu", i);
        bigmem[i] = bigname[i];
    }
    const struct fx_group groups[] = {
        {"devs", 2100001, 0, devs, 3},      {"ops", 2100002, 0, ops, 1},
        {"oldgrp", 2100003, 1, ops, 1},     {"wheelish", 10, 0, ops, 1},
        {FX_NAME32 "", 2100006, 0, ops, 1}, {"big", 2100007, 0, bigmem, FX_BIG_MEMBERS},
        {"emptygrp", 2100008, 0, NULL, 0},
    };

    fx_version(f, OIDC_CACHE_VERSION);
    for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        struct fx_group pg = {users[i].name, users[i].gid, users[i].expires, NULL, 0};

        fx_user(f, &users[i]);
        if (strcmp(users[i].name, FX_NAME32) != 0) /* its name is taken by the 2100006 group */
            fx_group(f, &pg);
    }
    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        fx_group(f, &groups[i]);
    fx_preauth(f, pa, 2);
}

int fx_write_basic(const char *path, const char *tag)
{
    struct fx f;

    if (fx_open(&f, path) != 0)
        return -1;
    fx_basic(&f, tag);
    return fx_finish(&f);
}

/* ---------------------------------------------------------------- bulk data */

static unsigned bulk_ngroups(unsigned n)
{
    return n < 4 ? 1 : (n * 5 + 19) / 20;
}

/* Membership slot s = k * n + i (k = 0..4) of user i is in group s / 20. */
static unsigned bulk_group_of(unsigned n, unsigned i, unsigned k)
{
    return (unsigned)(((unsigned long)k * n + i) / 20) % bulk_ngroups(n);
}

int fx_write_bulk(const char *path, unsigned n)
{
    unsigned ng = bulk_ngroups(n), i, j, k, s;
    char name[16], (*mnames)[16] = NULL;
    const char *mem[20];
    uint32_t gids[5];
    struct fx f;
    int r = -1;

    if (fx_open(&f, path) != 0)
        return -1;
    fx_version(&f, OIDC_CACHE_VERSION);
    for (i = 0; i < n; i++) {
        char home[32];
        struct fx_user u = {
            name, FX_BULK_UID + i, FX_BULK_UID + i, 0, "Bulk User", home, "/bin/bash", gids, 5};
        struct fx_group pg = {name, FX_BULK_UID + i, 0, NULL, 0};

        snprintf(name, sizeof(name), "u%06u", i);
        snprintf(home, sizeof(home), "/home/u%06u", i);
        for (k = 0; k < 5; k++)
            gids[k] = FX_BULK_GID + bulk_group_of(n, i, k);
        fx_user(&f, &u);
        fx_group(&f, &pg);
    }
    mnames = calloc(20, sizeof(*mnames));
    if (mnames == NULL)
        goto out;
    for (j = 0; j < ng; j++) {
        struct fx_group g = {name, FX_BULK_GID + j, 0, mem, 0};

        snprintf(name, sizeof(name), "g%06u", j);
        /* The members of group j are the slots 20j .. 20j+19. */
        for (s = 20 * j; s < 20 * j + 20 && s < 5 * n; s++) {
            snprintf(mnames[g.nmem], sizeof(mnames[0]), "u%06u", s % n);
            mem[g.nmem] = mnames[g.nmem];
            g.nmem++;
        }
        fx_group(&f, &g);
    }
    r = 0;
out:
    free(mnames);
    if (fx_finish(&f) != 0)
        r = -1;
    return r;
}

int fx_write_bulk_files(const char *passwd, const char *group, unsigned n)
{
    unsigned ng = bulk_ngroups(n), i, j, s;
    FILE *pw = fopen(passwd, "we"), *gr = fopen(group, "we");
    int r = -1;

    if (pw == NULL || gr == NULL)
        goto out;
    /* Like a real host: the system accounts first. */
    fprintf(pw, "root:x:0:0:root:/root:/bin/bash\n");
    fprintf(gr, "root:x:0:\n");
    for (i = 0; i < n; i++) {
        fprintf(pw, "u%06u:x:%u:%u:Bulk User:/home/u%06u:/bin/bash\n", i, FX_BULK_UID + i,
                FX_BULK_UID + i, i);
        fprintf(gr, "u%06u:x:%u:\n", i, FX_BULK_UID + i);
    }
    for (j = 0; j < ng; j++) {
        fprintf(gr, "g%06u:x:%u:", j, FX_BULK_GID + j);
        for (s = 20 * j; s < 20 * j + 20 && s < 5 * n; s++)
            fprintf(gr, "%su%06u", s == 20 * j ? "" : ",", s % n);
        fputc('\n', gr);
    }
    r = 0;
out:
    if (pw != NULL && fclose(pw) != 0)
        r = -1;
    if (gr != NULL && fclose(gr) != 0)
        r = -1;
    return r;
}

/* ---------------------------------------------------------------- damaged files */

static int rewrite(const char *path, const unsigned char *p, size_t n)
{
    char tmp[4096];
    int fd, ok;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ok = (n == 0 || write(fd, p, n) == (ssize_t)n) && fchmod(fd, 0644) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        return -1;
    return g_serial_on ? fx_serial_store(path, next_gen(path)) : 0;
}

static int read_all(const char *path, unsigned char **out, size_t *n)
{
    struct stat st;
    unsigned char *p;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || (p = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return -1;
    }
    if (read(fd, p, (size_t)st.st_size) != st.st_size) {
        free(p);
        close(fd);
        return -1;
    }
    close(fd);
    *out = p;
    *n = (size_t)st.st_size;
    return 0;
}

int fx_write_damaged(const char *path, const char *how)
{
    unsigned char *p = NULL;
    size_t n = 0, i;
    struct fx f;
    int r = -1;

    if (strcmp(how, "empty") == 0)
        return rewrite(path, NULL, 0);
    if (strcmp(how, "badversion") == 0 || strcmp(how, "noversion") == 0 ||
        strcmp(how, "badrecord") == 0) {
        const struct fx_user u = {"alice",       2000001,   2000001, 0, "A",
                                  "/home/alice", "/bin/sh", NULL,    0};
        unsigned char key[OIDC_CACHE_KEY_MAX];
        static const unsigned char shortrec[6] = {1, 2, 3, 4, 5, 6};

        if (fx_open(&f, path) != 0)
            return -1;
        if (strcmp(how, "badversion") == 0)
            fx_version(&f, "nss-pam-oidc cache v2");
        else if (strcmp(how, "badrecord") == 0)
            fx_version(&f, OIDC_CACHE_VERSION);
        fx_user(&f, &u);
        if (strcmp(how, "badrecord") == 0) { /* "bob" by name and by id: 6 bytes, not a record */
            fx_raw(&f, key, oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, "bob", key), shortrec, 6);
            fx_raw(&f, key, oidc_cache_key_id(OIDC_CACHE_K_USER_ID, 2000002, key), shortrec, 6);
            fx_raw(&f, key, oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, "bob", key), shortrec, 6);
            fx_raw(&f, key, oidc_cache_key_name(OIDC_CACHE_K_INITGROUPS, "alice", key), shortrec,
                   6);
        }
        return fx_finish(&f);
    }
    if (fx_write_basic(path, "x") != 0 || read_all(path, &p, &n) != 0)
        return -1;
    if (strcmp(how, "truncated") == 0) {
        r = rewrite(path, p, n / 2);
    } else if (strcmp(how, "corrupt") == 0) {
        /* The table of contents points everywhere, and the hash tables hold garbage. */
        for (i = 0; i < 2048; i++)
            p[i] = (unsigned char)(0xA5 ^ (i * 7));
        for (i = n > 4096 ? n - 4096 : 2048; i < n; i++)
            p[i] = (unsigned char)(i * 13);
        r = rewrite(path, p, n);
    } else if (strcmp(how, "garbage") == 0) {
        for (i = 0; i < n; i++)
            p[i] = (unsigned char)((i * 2654435761u) >> 13);
        r = rewrite(path, p, n);
    }
    free(p);
    return r;
}

/* ---------------------------------------------------------------- file images */

int fx_image_load(const char *path, struct fx_image *img)
{
    memset(img, 0, sizeof(*img));
    if (read_all(path, &img->mem, &img->size) != 0)
        return -1;
    img->dend = oidc_cache_records_end(img->mem, img->size);
    return 0;
}

int fx_image_find(const struct fx_image *img, const void *key, size_t klen, uint32_t *pos,
                  uint32_t *vpos, uint32_t *vlen)
{
    const unsigned char *k, *v;
    uint32_t at = 2048, kl, vl;

    while (oidc_cache_record_at(img->mem, img->dend, at, &k, &kl, &v, &vl) == 0) {
        if (kl == klen && memcmp(k, key, klen) == 0) {
            *pos = at;
            *vpos = (uint32_t)(v - img->mem);
            *vlen = vl;
            return 0;
        }
        at += 8 + kl + vl;
    }
    return -1;
}

int fx_image_store(struct fx_image *img, const char *path)
{
    int r = rewrite(path, img->mem, img->size);

    fx_image_free(img);
    return r;
}

void fx_image_free(struct fx_image *img)
{
    free(img->mem);
    memset(img, 0, sizeof(*img));
}
