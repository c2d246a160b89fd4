/* Identity cache reader for libnss_oidc.so.2 (libc + tinycdb only). How mappings are shared,
 * checked and retired: cache_read.h. Records: cache_rec.h. Nothing here logs: this is the NSS hot
 * path, and a module must not write to the caller's stderr or syslog on a lookup. */
#include "config.h"
#include "cache_read.h"
#include "idhash.h"
#include "util.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH STATEDIR "/" OIDC_CACHE_FILE

/* One mapping of one file (or the memory of "there was no usable file"). Immutable once
 * published, except refs, which only changes under g_lock. */
struct oidc_cache_map {
    struct cdb cdb; /* template: lookups copy it (struct cdb holds per-lookup state) */
    int status;     /* OIDC_OK, OIDC_ERR_NOTFOUND (no file), OIDC_ERR_IO, OIDC_ERR_PARSE */
    int stat_err;   /* errno of open/fstat, 0 when the identity below is valid */
    dev_t dev;      /* identity of the mapped file, from fstat of the mapped descriptor */
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint64_t gen;  /* publication number (never reused, unlike an address) */
    unsigned refs; /* g_cur's reference, each thread's, each open iterator's; under g_lock */
    int mapped;    /* cdb_init succeeded: cdb_free unmaps */
    /* Serial mode (cache_rec.h): the counter word of this map's own read-only mapping of
     * cache.serial, unmapped with the map (so no thread can read it after that), and the newest
     * generation this file is known to be at least as new as. NULL: stat mode (no trusted serial
     * file, no "s" record in the file, or no usable file at all). */
    const uint64_t *serial;
    void *serial_map;
    uint64_t have;
    /* The lookup index of each type of OIDC_CACHE_INDEXED (nb 0: none; cache_rec.h), the file
     * image it points into, and where the file's records end (0: the index is not used). */
    struct oidc_cache_index ix[sizeof(OIDC_CACHE_INDEXED) - 1];
    const unsigned char *mem;
    uint32_t dend;
};

/* Per-thread state: the mapping this thread reads without a lock. */
struct tstate {
    struct oidc_cache_map *map;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oidc_cache_map *g_cur; /* the newest mapping; under g_lock */
static uint64_t g_gen;               /* g_cur->gen; written under g_lock, read atomically */
static uint64_t g_next_gen;          /* under g_lock */
static int64_t g_checked_ms;         /* when g_cur was last compared with the file; atomic */
static const char *g_path;           /* NULL: DEFAULT_PATH; atomic pointer, never freed */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static int g_key_ok;

/* ---------------------------------------------------------------- mappings */

static const char *cache_path(void)
{
    const char *p = __atomic_load_n(&g_path, __ATOMIC_ACQUIRE);

    return p != NULL ? p : DEFAULT_PATH;
}

static int64_t coarse_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0 && clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The file is trusted only when root (or the reading process's own user, who can only fool
 * itself) owns it and nobody else may write it. */
static int file_trusted(const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return 0;
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return 0;
    return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* The slot of a type in m->ix, -1 for a type without an index. */
static int index_slot(unsigned char type)
{
    switch (type) {
    case OIDC_CACHE_K_USER_NAME:
        return 0;
    case OIDC_CACHE_K_USER_ID:
        return 1;
    case OIDC_CACHE_K_GROUP_NAME:
        return 2;
    case OIDC_CACHE_K_GROUP_ID:
        return 3;
    default:
        return -1;
    }
}

/* A lookup: OIDC_OK with the value, OIDC_ERR_NOTFOUND, or OIDC_ERR_PARSE when the file is
 * inconsistent. Through the type's index when the file has one (*next: the offset after the
 * record, where the writer puts a user's "i" record after its "n" record); otherwise, or when the
 * bucket is too long to walk, on a copy of the template (struct cdb holds per-lookup state) with
 * tinycdb (*next 0). */
static int map_find_next(const struct oidc_cache_map *m, const unsigned char *key, size_t klen,
                         const unsigned char **val, unsigned *vlen, uint32_t *next)
{
    struct cdb c = m->cdb;
    const void *v;
    int r, slot = klen > 0 && m->dend != 0 ? index_slot(key[0]) : -1;
    uint32_t len;

    *next = 0;
    if (slot >= 0 && m->ix[slot].nb != 0) {
        r = oidc_cache_index_find(&m->ix[slot], m->mem, m->dend, key, klen, val, &len, next);
        if (r == 1) {
            *vlen = len;
            return OIDC_OK;
        }
        if (r == 0)
            return OIDC_ERR_NOTFOUND;
        if (r == -1)
            return OIDC_ERR_PARSE;
        /* -2: an overlong bucket; the hash tables answer */
    }
    r = cdb_find(&c, key, (unsigned)klen);
    if (r < 0)
        return OIDC_ERR_PARSE;
    if (r == 0)
        return OIDC_ERR_NOTFOUND;
    v = cdb_get(&c, cdb_datalen(&c), cdb_datapos(&c));
    if (v == NULL)
        return OIDC_ERR_PARSE;
    *val = v;
    *vlen = cdb_datalen(&c);
    return OIDC_OK;
}

static int map_find(const struct oidc_cache_map *m, const unsigned char *key, size_t klen,
                    const unsigned char **val, unsigned *vlen)
{
    uint32_t next;

    return map_find_next(m, key, klen, val, vlen, &next);
}

/* The file's lookup indexes, when its hash tables lie within it (as cdb_init does not check). */
static void index_load(struct oidc_cache_map *m)
{
    unsigned char key[2] = {OIDC_CACHE_K_INDEX, 0};
    const unsigned char *v;
    unsigned vlen;
    size_t i;

    m->mem = cdb_get(&m->cdb, 2048, 0);
    /* the size tinycdb mapped, not an earlier fstat's */
    if (m->mem == NULL || (m->dend = oidc_cache_records_end(m->mem, m->cdb.cdb_fsize)) == 0)
        return;
    for (i = 0; i < sizeof(m->ix) / sizeof(m->ix[0]); i++) {
        key[1] = (unsigned char)OIDC_CACHE_INDEXED[i];
        if (map_find(m, key, 2, &v, &vlen) != OIDC_OK ||
            oidc_cache_index_decode(v, vlen, &m->ix[i]) != 0)
            m->ix[i].nb = 0; /* none, or malformed: the hash tables answer */
    }
}

static int version_ok(const struct oidc_cache_map *m)
{
    const unsigned char key[1] = {OIDC_CACHE_K_VERSION};
    const unsigned char *v;
    unsigned vlen;

    if (map_find(m, key, 1, &v, &vlen) != OIDC_OK)
        return 0;
    return vlen == sizeof(OIDC_CACHE_VERSION) - 1 &&
           memcmp(v, OIDC_CACHE_VERSION, sizeof(OIDC_CACHE_VERSION) - 1) == 0;
}

/* The generation the file carries ("s"), 0 when it has none or a malformed one. */
static uint64_t file_generation(const struct oidc_cache_map *m)
{
    const unsigned char key[1] = {OIDC_CACHE_K_SERIAL};
    const unsigned char *v;
    unsigned vlen;
    uint64_t gen;

    if (map_find(m, key, 1, &v, &vlen) != OIDC_OK || oidc_cache_serial_decode(v, vlen, &gen) != 0)
        return 0;
    return gen;
}

/* STATEDIR/cache.serial, or the file of that name next to the path the test hook set. */
static int serial_path(char *out, size_t cap)
{
    const char *p = cache_path(), *slash = strrchr(p, '/');
    size_t dlen = slash != NULL ? (size_t)(slash - p) + 1 : 0;

    if (dlen + sizeof(OIDC_CACHE_SERIAL_FILE) > cap)
        return -1;
    memcpy(out, p, dlen);
    memcpy(out + dlen, OIDC_CACHE_SERIAL_FILE, sizeof(OIDC_CACHE_SERIAL_FILE));
    return 0;
}

/* Maps cache.serial read-only into m when it is trustworthy (the same rule as the cache file) and
 * holds the magic, and returns the generation it holds now; 0 (and no mapping) otherwise. Read
 * before the cache file is opened: the writer bumps the serial only after the rename, so the file
 * opened next is that generation's or a newer one. The file is never truncated (the writer only
 * stores into it), so the mapped bytes stay valid. */
static uint64_t serial_map(struct oidc_cache_map *m)
{
    char path[PATH_MAX];
    struct stat st;
    void *p;
    int fd;

    if (serial_path(path, sizeof(path)) != 0)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !file_trusted(&st) || st.st_size < OIDC_CACHE_SERIAL_SIZE) {
        close(fd);
        return 0;
    }
    p = mmap(NULL, OIDC_CACHE_SERIAL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return 0;
    if (memcmp(p, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF) != 0) {
        munmap(p, OIDC_CACHE_SERIAL_SIZE);
        return 0;
    }
    m->serial_map = p;
    m->serial = (const uint64_t *)(void *)((unsigned char *)p + OIDC_CACHE_SERIAL_OFF);
    return __atomic_load_n(m->serial, __ATOMIC_ACQUIRE);
}

static void serial_unmap(struct oidc_cache_map *m)
{
    if (m->serial_map != NULL)
        munmap(m->serial_map, OIDC_CACHE_SERIAL_SIZE);
    m->serial_map = NULL;
    m->serial = NULL;
}

/* Serial mode: is this map still the newest file? One atomic load, no system call. A counter
 * below what the map has (the writer renamed the file and has not stored the new counter yet, or
 * a crash left the counter behind) means nothing newer either. */
static int serial_fresh(const struct oidc_cache_map *m)
{
    return __atomic_load_n(m->serial, __ATOMIC_ACQUIRE) <= m->have;
}

/* Maps path. Returns NULL only when out of memory; every other failure is a map whose status
 * says what went wrong, so that "still broken" is remembered and costs no new open. */
static struct oidc_cache_map *map_load(const char *path)
{
    struct oidc_cache_map *m = calloc(1, sizeof(*m));
    uint64_t seen, fgen;
    struct stat st;
    int fd;

    if (m == NULL)
        return NULL;
    seen = serial_map(m); /* before the open: see serial_map */
    m->status = OIDC_ERR_IO;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        m->stat_err = errno != 0 ? errno : EIO;
        if (m->stat_err == ENOENT)
            m->status = OIDC_ERR_NOTFOUND; /* no cache yet: nobody to answer for */
        serial_unmap(m);
        return m;
    }
    if (fstat(fd, &st) != 0) {
        m->stat_err = errno != 0 ? errno : EIO;
        goto out;
    }
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->size = st.st_size;
    m->mtime = st.st_mtim;
    if (!file_trusted(&st))
        goto out;
    m->status = OIDC_ERR_PARSE;
    if (st.st_size > (off_t)UINT32_MAX)
        goto out;
    if (cdb_init(&m->cdb, fd) != 0) /* short (< 2048 bytes: empty, truncated) or mmap failed */
        goto out;
    m->mapped = 1;
    if (version_ok(m)) {
        m->status = OIDC_OK;
        index_load(m);
    }
out:
    close(fd);
    fgen = m->status == OIDC_OK ? file_generation(m) : 0;
    if (m->serial != NULL && fgen != 0)
        m->have = fgen > seen ? fgen : seen;
    else
        serial_unmap(m); /* stat mode */
    return m;
}

static void map_unref(struct oidc_cache_map *m) /* under g_lock */
{
    if (m == NULL || --m->refs != 0)
        return;
    if (m->mapped)
        cdb_free(&m->cdb);
    serial_unmap(m);
    free(m);
}

/* Does the file at the path (stat result st, or errno e) still look like the mapped one? */
static int map_current(const struct oidc_cache_map *m, int e, const struct stat *st)
{
    if (e != 0 || m->stat_err != 0)
        return e == m->stat_err;
    return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
           m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static int stat_path(struct stat *st)
{
    if (stat(cache_path(), st) == 0)
        return 0;
    return errno != 0 ? errno : EIO;
}

static int recently_checked(int64_t now)
{
    return now - __atomic_load_n(&g_checked_ms, __ATOMIC_RELAXED) < OIDC_CACHE_RECHECK_MS;
}

/* Under g_lock: makes g_cur the newest file, mapping a replaced one.
 *  - serial mode: the serial says whether g_cur is the newest (exact, whatever force); and
 *    every OIDC_CACHE_RECHECK_MS the file is compared with stat as well, a backstop for a file
 *    replaced without a serial bump (by hand, by another tool) or a serial file that was removed
 *    and created afresh (this map's mapping of the old one would never move again);
 *  - stat mode: compares with stat when force, and otherwise when the last comparison is older
 *    than OIDC_CACHE_RECHECK_MS. */
static int global_refresh_locked(int force, int64_t now)
{
    struct oidc_cache_map *m, *old;
    struct stat st;
    int e, stale = g_cur == NULL;

    if (!stale && g_cur->serial != NULL) {
        if (!serial_fresh(g_cur))
            stale = 1;
        else if (recently_checked(now))
            return OIDC_OK;
    } else if (!stale && !force && recently_checked(now)) {
        return OIDC_OK;
    }
    if (!stale) {
        e = stat_path(&st);
        stale = !map_current(g_cur, e, &st);
    }
    if (stale) {
        m = map_load(cache_path());
        if (m == NULL)
            return OIDC_ERR_NOMEM;
        m->gen = ++g_next_gen;
        m->refs = 1;
        old = g_cur;
        g_cur = m;
        __atomic_store_n(&g_gen, m->gen, __ATOMIC_RELEASE);
        map_unref(old);
    }
    __atomic_store_n(&g_checked_ms, now, __ATOMIC_RELAXED);
    return OIDC_OK;
}

/* A counted reference to the newest mapping (for iterators), after an exact freshness check. */
static int map_get_ref(struct oidc_cache_map **out)
{
    int r;

    pthread_mutex_lock(&g_lock);
    r = global_refresh_locked(1, coarse_ms());
    if (r == OIDC_OK) {
        g_cur->refs++;
        *out = g_cur;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

static void map_put_ref(struct oidc_cache_map *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    map_unref(m);
    pthread_mutex_unlock(&g_lock);
}

/* ---------------------------------------------------------------- per-thread state */

static void tstate_free(void *p)
{
    struct tstate *ts = p;

    map_put_ref(ts->map);
    free(ts);
}

/* fork() while another thread holds g_lock must not leave the child with a lock nobody will
 * release. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_lock);
}

static void atfork_release(void)
{
    pthread_mutex_unlock(&g_lock);
}

static void once_init(void)
{
    g_key_ok = pthread_key_create(&g_key, tstate_free) == 0;
    (void)pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

/* When the module is unloaded (dlclose), thread exits must no longer call into it. The mappings
 * the threads hold stay (they are not freed under a thread that might still read them). */
__attribute__((destructor)) static void module_fini(void)
{
    if (g_key_ok) {
        pthread_key_delete(g_key);
        g_key_ok = 0;
    }
}

static struct tstate *tstate_get(void)
{
    struct tstate *ts;

    pthread_once(&g_once, once_init);
    if (!g_key_ok)
        return NULL;
    ts = pthread_getspecific(g_key);
    if (ts != NULL)
        return ts;
    ts = calloc(1, sizeof(*ts));
    if (ts == NULL)
        return NULL;
    if (pthread_setspecific(g_key, ts) != 0) {
        free(ts);
        return NULL;
    }
    return ts;
}

/* Makes ts->map fit to read from, without a lock or a system call on the fast path.
 *  - serial mode: always exact (one atomic load of the serial), plus the stat backstop every
 *    OIDC_CACHE_RECHECK_MS (global_refresh_locked);
 *  - stat mode: exact compares with the file now (one stat, no lock when it is unchanged);
 *    otherwise a mapping compared within OIDC_CACHE_RECHECK_MS is trusted. */
static int acquire(struct tstate *ts, int exact)
{
    struct oidc_cache_map *m = ts->map;
    int64_t now = coarse_ms();
    int e, r;

    if (m != NULL && m->gen == __atomic_load_n(&g_gen, __ATOMIC_ACQUIRE)) {
        if (m->serial != NULL) {
            if (serial_fresh(m) && recently_checked(now))
                return OIDC_OK;
        } else if (!exact) {
            if (recently_checked(now))
                return OIDC_OK;
        } else {
            struct stat st; /* here: the hardening flags clear it where it is declared */

            e = stat_path(&st);
            if (map_current(m, e, &st))
                return OIDC_OK;
        }
    }
    pthread_mutex_lock(&g_lock);
    r = global_refresh_locked(exact, now);
    if (r == OIDC_OK && ts->map != g_cur) {
        map_unref(ts->map);
        g_cur->refs++;
        ts->map = g_cur;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

/* STYLE.md rule 7. secure_getenv: a set-id program (sudo, su) ignores the guard, so an unprivileged
 * caller cannot hide its own group memberships from it. */
static int guard_set(void)
{
    const char *v = secure_getenv(OIDC_CACHE_LOOPS_ENV);

    return v != NULL && strcmp(v, "NO") == 0;
}

typedef int (*lookup_fn)(const struct oidc_cache_map *m, void *ctx);

/* Runs fn on this thread's mapping. In stat mode, a result that is not an answer (not found,
 * unreadable, corrupt) is confirmed against the file on disk first: when the file was replaced,
 * fn runs again on the new one (in serial mode the first check was exact). fallback (may be NULL)
 * runs when the confirmed answer is "not found" in a readable file. exact: compare with the file
 * before the first attempt too (and run fn once: it may have side effects). */
static int run(lookup_fn fn, lookup_fn fallback, void *ctx, int exact)
{
    struct tstate *ts;
    uint64_t gen;
    int r;

    if (guard_set())
        return OIDC_ERR_NOTFOUND;
    ts = tstate_get();
    if (ts == NULL)
        return OIDC_ERR_NOMEM;
    if ((r = acquire(ts, exact)) != OIDC_OK)
        return r;
    r = ts->map->status == OIDC_OK ? fn(ts->map, ctx) : ts->map->status;
    /* In serial mode the check above was exact already. */
    if (!exact && ts->map->serial == NULL &&
        (r == OIDC_ERR_NOTFOUND || r == OIDC_ERR_IO || r == OIDC_ERR_PARSE)) {
        gen = ts->map->gen;
        if (acquire(ts, 1) == OIDC_OK && ts->map->gen != gen)
            r = ts->map->status == OIDC_OK ? fn(ts->map, ctx) : ts->map->status;
    }
    if (r == OIDC_ERR_NOTFOUND && fallback != NULL && ts->map->status == OIDC_OK)
        r = fallback(ts->map, ctx);
    return r;
}

/* ---------------------------------------------------------------- records to structures */

static int name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strnlen(name, OIDC_CACHE_NAME_MAX + 1);
    return n > 0 && n <= OIDC_CACHE_NAME_MAX;
}

static int expired(int64_t expires)
{
    return expires != 0 && expires <= (int64_t)time(NULL);
}

/* Copies the strings of a passwd entry into buf; OIDC_ERR_TOOBIG when they do not fit. */
static int pack_pw(uint32_t uid, uint32_t gid, const char *name, const char *gecos,
                   const char *home, const char *shell, struct passwd *pw, char *buf, size_t len)
{
    const char *src[5] = {name, "*", gecos, home, shell};
    char *dst[5];
    size_t n[5], need = 0, i;

    for (i = 0; i < 5; i++) {
        n[i] = strlen(src[i]) + 1;
        need += n[i];
    }
    if (buf == NULL || len < need)
        return OIDC_ERR_TOOBIG;
    for (i = 0; i < 5; i++) {
        dst[i] = buf;
        memcpy(buf, src[i], n[i]);
        buf += n[i];
    }
    pw->pw_name = dst[0];
    pw->pw_passwd = dst[1];
    pw->pw_gecos = dst[2];
    pw->pw_dir = dst[3];
    pw->pw_shell = dst[4];
    pw->pw_uid = (uid_t)uid;
    pw->pw_gid = (gid_t)gid;
    return OIDC_OK;
}

/* The same from a decoded user record, whose four strings lie back to back (name, gecos, home,
 * shell, each with its NUL, as the decoder checked): one copy, then "*" for the password. */
static int pack_pw_rec(const struct oidc_cache_pw *p, struct passwd *pw, char *buf, size_t len)
{
    size_t n = p->strings_len;

    if (buf == NULL || len < n + 2)
        return OIDC_ERR_TOOBIG;
    memcpy(buf, p->name, n);
    memcpy(buf + n, "*", 2);
    pw->pw_name = buf;
    pw->pw_gecos = buf + (p->gecos - p->name);
    pw->pw_dir = buf + (p->home - p->name);
    pw->pw_shell = buf + (p->shell - p->name);
    pw->pw_passwd = buf + n;
    pw->pw_uid = (uid_t)p->uid;
    pw->pw_gid = (gid_t)p->gid;
    return OIDC_OK;
}

/* Decodes a user record and checks it against the key it was found under (want_name, or
 * want_id when want_name is NULL): a disagreement is corruption. Expired entries and entries
 * below the floor are NOTFOUND. */
static int pw_check(const unsigned char *rec, unsigned len, const char *want_name, uint32_t want_id,
                    struct oidc_cache_pw *out)
{
    if (oidc_cache_pw_decode(rec, len, out) != 0)
        return OIDC_ERR_PARSE;
    if (want_name != NULL ? strcmp(out->name, want_name) != 0 : out->uid != want_id)
        return OIDC_ERR_PARSE;
    if (expired(out->expires) || out->uid < OIDC_CACHE_ID_FLOOR || out->gid < OIDC_CACHE_ID_FLOOR)
        return OIDC_ERR_NOTFOUND;
    return OIDC_OK;
}

/* The members are checked by pack_gr, as it copies them. */
static int gr_check(const unsigned char *rec, unsigned len, const char *want_name, uint32_t want_id,
                    struct oidc_cache_gr *out)
{
    if (oidc_cache_gr_decode_head(rec, len, out) != 0)
        return OIDC_ERR_PARSE;
    if (want_name != NULL ? strcmp(out->name, want_name) != 0 : out->gid != want_id)
        return OIDC_ERR_PARSE;
    if (expired(out->expires) || out->gid < OIDC_CACHE_ID_FLOOR)
        return OIDC_ERR_NOTFOUND;
    return OIDC_OK;
}

/* Layout in buf: padding to pointer alignment, nmem + 1 member pointers, the member strings (as
 * in the record), the name, the password field. The members are checked in the copy, in one
 * pass: each a valid name with its NUL, exactly nmem of them filling members_len (OIDC_ERR_PARSE
 * otherwise; the copy is in the caller's buffer, never in the mapping, so it cannot change
 * between check and use). */
static int pack_gr(const struct oidc_cache_gr *g, struct group *gr, char *buf, size_t len)
{
    size_t pad, ptrs, nlen = strlen(g->name) + 1, need, off = 0, n;
    char **mem, *s;
    uint32_t i;

    if (buf == NULL)
        return OIDC_ERR_TOOBIG;
    pad = (alignof(char *) - (uintptr_t)buf % alignof(char *)) % alignof(char *);
    ptrs = ((size_t)g->nmem + 1) * sizeof(char *);
    need = pad + ptrs + g->members_len + nlen + 2;
    if (len < need)
        return OIDC_ERR_TOOBIG;
    mem = (char **)(void *)(buf + pad);
    s = buf + pad + ptrs;
    memcpy(s, g->members, g->members_len);
    for (i = 0; i < g->nmem; i++) {
        n = oidc_cache_name_len(s + off, g->members_len - off);
        if (n == 0)
            return OIDC_ERR_PARSE;
        mem[i] = s + off;
        off += n + 1;
    }
    if (off != g->members_len)
        return OIDC_ERR_PARSE;
    mem[g->nmem] = NULL;
    s = buf + pad + ptrs + g->members_len;
    memcpy(s, g->name, nlen);
    gr->gr_name = s;
    s += nlen;
    memcpy(s, "*", 2);
    gr->gr_passwd = s;
    gr->gr_gid = (gid_t)g->gid;
    gr->gr_mem = mem;
    return OIDC_OK;
}

/* ---------------------------------------------------------------- lookups */

struct pw_ctx {
    const char *name;
    uint32_t id;
    struct passwd *pw;
    char *buf;
    size_t len;
};

static int pw_lookup(const struct oidc_cache_map *m, void *vctx)
{
    struct pw_ctx *c = vctx;
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t klen = c->name != NULL ? oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, c->name, key)
                                  : oidc_cache_key_id(OIDC_CACHE_K_USER_ID, c->id, key);
    struct oidc_cache_pw pw;
    const unsigned char *rec;
    unsigned rlen;
    int r;

    if (klen == 0)
        return OIDC_ERR_NOTFOUND;
    if ((r = map_find(m, key, klen, &rec, &rlen)) != OIDC_OK)
        return r;
    if ((r = pw_check(rec, rlen, c->name, c->id, &pw)) != OIDC_OK)
        return r;
    return pack_pw_rec(&pw, c->pw, c->buf, c->len);
}

static int is_sshd_name(const char *s)
{
    return s != NULL && (strcmp(s, "sshd") == 0 || strcmp(s, "sshd-session") == 0);
}

/* The calling process is sshd, by its executable only: argv[0] (program_invocation_short_name) is
 * whatever the caller exec'd it with (`exec -a sshd su`), and sshd overwrites it with its process
 * title anyway. Never in a setuid or otherwise secure-execution process (AT_SECURE), which a user
 * starts with an environment and argv of their choosing. The executable is looked at once per
 * process (only exec changes it, and exec starts afresh). */
static int g_exe_is_sshd = -1; /* -1: not looked at yet; atomic */

static int exe_is_sshd(void)
{
    char exe[PATH_MAX];
    const char *base;
    ssize_t n;
    size_t l;
    int v = __atomic_load_n(&g_exe_is_sshd, __ATOMIC_RELAXED);

    if (v >= 0)
        return v;
    v = 0;
    if (getauxval(AT_SECURE) != 0) {
        __atomic_store_n(&g_exe_is_sshd, 0, __ATOMIC_RELAXED);
        return 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        l = (size_t)n;
        if (l > 10 && strcmp(exe + l - 10, " (deleted)") == 0) /* upgraded under a running sshd */
            exe[l - 10] = '\0';
        base = strrchr(exe, '/');
        v = is_sshd_name(base != NULL ? base + 1 : exe);
        __atomic_store_n(&g_exe_is_sshd, v, __ATOMIC_RELAXED); /* not cached when /proc failed */
    }
    return v;
}

void oidc_cache_read_set_caller_sshd(int v)
{
    __atomic_store_n(&g_exe_is_sshd, v < 0 ? -1 : v != 0, __ATOMIC_RELAXED);
}

static int caller_is_sshd(void)
{
    return exe_is_sshd();
}

struct preauth_match {
    const char *name;
    uint32_t uid_min, uid_max;
    const char *provider, *home, *shell;
    int found, bad;
};

/* The first provider with a pattern matching the name wins. */
static int preauth_visit(void *vctx, const struct oidc_cache_preauth *p)
{
    struct preauth_match *m = vctx;
    const char *pat = p->patterns;
    uint32_t j;

    for (j = 0; j < p->npat; j++, pat += strlen(pat) + 1) {
        if (fnmatch(pat, m->name, 0) == 0) {
            m->bad = p->uid_min > p->uid_max || p->provider == NULL || p->home == NULL ||
                     p->shell == NULL;
            m->uid_min = p->uid_min;
            m->uid_max = p->uid_max;
            m->provider = p->provider;
            m->home = p->home;
            m->shell = p->shell;
            m->found = 1;
            return 1;
        }
    }
    return 0;
}

/* Walks the whole record (a malformed one is corrupt even past the match). */
static int preauth_find(const unsigned char *rec, unsigned len, const char *name,
                        struct preauth_match *out)
{
    struct preauth_match m = {name, 0, 0, NULL, NULL, NULL, 0, 0};

    if (oidc_cache_preauth_walk(rec, len, preauth_visit, &m) != 0 || m.bad)
        return OIDC_ERR_PARSE;
    *out = m;
    return m.found ? OIDC_OK : OIDC_ERR_NOTFOUND;
}

struct override_match {
    const char *provider;
    uint32_t uid;
    int found;
};

static int override_visit(void *vctx, uint32_t uid, const char *provider)
{
    struct override_match *o = vctx;

    if (strcmp(provider, o->provider) != 0)
        return 0;
    o->uid = uid;
    return o->found = 1;
}

/* The uid a provider gives the name: its entry in the name's "o" record (orec, NULL when there
 * is none: the fleet's [provider NAME idmap] override, which the mapper applies too), else the
 * hash in its range. */
static int provider_uid(const unsigned char *orec, unsigned olen, const char *name,
                        const char *provider, uint32_t min, uint32_t max, uint32_t *uid)
{
    struct override_match o = {provider, 0, 0};

    if (orec != NULL && oidc_cache_override_walk(orec, olen, override_visit, &o) != 0)
        return OIDC_ERR_PARSE;
    if (o.found && (o.uid < min || o.uid > max))
        return OIDC_ERR_PARSE; /* the writer keeps overrides inside their provider's range */
    *uid = o.found ? o.uid : oidc_idhash_uid(name, strlen(name), min, max);
    return OIDC_OK;
}

struct preauth_agree {
    const char *name;
    const unsigned char *orec;
    unsigned olen;
    uint32_t uid;
    int differ, bad;
};

/* Every provider whose patterns match the name must give it the same uid. */
static int agree_visit(void *vctx, const struct oidc_cache_preauth *p)
{
    struct preauth_agree *a = vctx;
    const char *pat = p->patterns;
    uint32_t j, uid;

    for (j = 0; j < p->npat; j++, pat += strlen(pat) + 1) {
        if (fnmatch(pat, a->name, 0) != 0)
            continue;
        if (p->provider == NULL || p->uid_min > p->uid_max ||
            provider_uid(a->orec, a->olen, a->name, p->provider, p->uid_min, p->uid_max, &uid) !=
                OIDC_OK)
            return a->bad = 1;
        if (uid != a->uid)
            return a->differ = 1;
        return 0;
    }
    return 0;
}

/* The uid of the provisional entry: the one the first matching provider gives the name, when
 * every other provider whose patterns match gives the same. sshd runs the session under the uid
 * of the entry it resolved before PAM, and which provider's token will come is not known yet:
 * when they differ (other ranges, or an override in one only) there is no provisional entry
 * (OIDC_ERR_NOTFOUND), never a guess. */
static int preauth_uid(const struct oidc_cache_map *m, const unsigned char *prec, unsigned plen,
                       const char *name, const struct preauth_match *pm, uint32_t *uid)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    struct preauth_agree a = {name, NULL, 0, 0, 0, 0};
    int r;

    r = map_find(m, key, oidc_cache_key_name(OIDC_CACHE_K_OVERRIDE, name, key), &a.orec, &a.olen);
    if (r == OIDC_ERR_NOTFOUND)
        a.orec = NULL;
    else if (r != OIDC_OK)
        return r;
    if ((r = provider_uid(a.orec, a.olen, name, pm->provider, pm->uid_min, pm->uid_max, &a.uid)) !=
        OIDC_OK)
        return r;
    if (oidc_cache_preauth_walk(prec, plen, agree_visit, &a) != 0 || a.bad)
        return OIDC_ERR_PARSE;
    if (a.differ)
        return OIDC_ERR_NOTFOUND;
    *uid = a.uid;
    return OIDC_OK;
}

/* The provisional entry itself. Out of line: the home buffer is 4 KiB, which the hardening
 * flags (-ftrivial-auto-var-init=zero) would otherwise clear on every miss. */
__attribute__((noinline)) static int preauth_pack(struct pw_ctx *c, uint32_t uid,
                                                  const struct preauth_match *pm)
{
    char home[OIDC_CACHE_STR_MAX + 1];

    if (oidc_cache_home_expand(pm->home, c->name, home, sizeof(home)) != 0)
        return OIDC_ERR_PARSE;
    return pack_pw(uid, uid, c->name, OIDC_CACHE_PROVISIONAL_GECOS, home, pm->shell, c->pw, c->buf,
                   c->len);
}

/* sshd asks for a name the cache does not hold: a provisional entry with the uid the real one
 * will get, unless that uid (or gid, or the name as a group) already belongs to someone else. */
static int pw_preauth(const struct oidc_cache_map *m, void *vctx)
{
    struct pw_ctx *c = vctx;
    const unsigned char pkey[1] = {OIDC_CACHE_K_PREAUTH};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    struct preauth_match pm = {NULL, 0, 0, NULL, NULL, NULL, 0, 0};
    struct oidc_cache_pw other;
    struct oidc_cache_gr grp;
    const unsigned char *rec;
    unsigned rlen;
    uint32_t uid;
    int r;

    /* cheapest first: most caches have no preauth record, and most misses match no pattern */
    if (c->name == NULL || oidc_cache_name_len(c->name, OIDC_CACHE_NAME_MAX + 1) == 0)
        return OIDC_ERR_NOTFOUND; /* not a valid name (name_ok bounded it, NUL included) */
    if ((r = map_find(m, pkey, 1, &rec, &rlen)) != OIDC_OK)
        return r;
    r = preauth_find(rec, rlen, c->name, &pm);
    if (r == OIDC_ERR_NOTFOUND || !caller_is_sshd()) /* a bad record concerns sshd alone */
        return OIDC_ERR_NOTFOUND;
    if (r != OIDC_OK)
        return r;
    if ((r = preauth_uid(m, rec, rlen, c->name, &pm, &uid)) != OIDC_OK)
        return r;
    if (uid < OIDC_CACHE_ID_FLOOR)
        return OIDC_ERR_NOTFOUND;
    /* The same name's own expired entry may stand there; anyone else's may not. */
    r = map_find(m, key, oidc_cache_key_id(OIDC_CACHE_K_USER_ID, uid, key), &rec, &rlen);
    if (r == OIDC_OK) {
        if (oidc_cache_pw_decode(rec, rlen, &other) != 0)
            return OIDC_ERR_PARSE;
        if (strcmp(other.name, c->name) != 0)
            return OIDC_ERR_NOTFOUND;
    } else if (r != OIDC_ERR_NOTFOUND) {
        return r;
    }
    r = map_find(m, key, oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, uid, key), &rec, &rlen);
    if (r == OIDC_OK) {
        if (oidc_cache_gr_decode(rec, rlen, &grp) != 0)
            return OIDC_ERR_PARSE;
        if (strcmp(grp.name, c->name) != 0)
            return OIDC_ERR_NOTFOUND;
    } else if (r != OIDC_ERR_NOTFOUND) {
        return r;
    }
    r = map_find(m, key, oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, c->name, key), &rec, &rlen);
    if (r == OIDC_OK) {
        if (oidc_cache_gr_decode(rec, rlen, &grp) != 0)
            return OIDC_ERR_PARSE;
        if (grp.gid != uid)
            return OIDC_ERR_NOTFOUND;
    } else if (r != OIDC_ERR_NOTFOUND) {
        return r;
    }
    return preauth_pack(c, uid, &pm);
}

int oidc_cache_read_pwnam(const char *name, struct passwd *pw, char *buf, size_t len)
{
    struct pw_ctx c = {name, 0, pw, buf, len};

    if (!name_ok(name))
        return OIDC_ERR_NOTFOUND;
    return run(pw_lookup, pw_preauth, &c, 0);
}

int oidc_cache_read_pwuid(uid_t uid, struct passwd *pw, char *buf, size_t len)
{
    struct pw_ctx c = {NULL, (uint32_t)uid, pw, buf, len};

    if (uid < OIDC_CACHE_ID_FLOOR)
        return OIDC_ERR_NOTFOUND;
    return run(pw_lookup, NULL, &c, 0);
}

struct gr_ctx {
    const char *name;
    uint32_t id;
    struct group *gr;
    char *buf;
    size_t len;
};

static int gr_lookup(const struct oidc_cache_map *m, void *vctx)
{
    struct gr_ctx *c = vctx;
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t klen = c->name != NULL ? oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, c->name, key)
                                  : oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, c->id, key);
    struct oidc_cache_gr g;
    const unsigned char *rec;
    unsigned rlen;
    int r;

    if (klen == 0)
        return OIDC_ERR_NOTFOUND;
    if ((r = map_find(m, key, klen, &rec, &rlen)) != OIDC_OK)
        return r;
    if ((r = gr_check(rec, rlen, c->name, c->id, &g)) != OIDC_OK)
        return r;
    return pack_gr(&g, c->gr, c->buf, c->len);
}

int oidc_cache_read_grnam(const char *name, struct group *gr, char *buf, size_t len)
{
    struct gr_ctx c = {name, 0, gr, buf, len};

    if (!name_ok(name))
        return OIDC_ERR_NOTFOUND;
    return run(gr_lookup, NULL, &c, 0);
}

int oidc_cache_read_grgid(gid_t gid, struct group *gr, char *buf, size_t len)
{
    struct gr_ctx c = {NULL, (uint32_t)gid, gr, buf, len};

    if (gid < OIDC_CACHE_ID_FLOOR)
        return OIDC_ERR_NOTFOUND;
    return run(gr_lookup, NULL, &c, 0);
}

struct ig_ctx {
    const char *name;
    gid_t skip;
    long *start, *size;
    gid_t **groups;
    long limit;
};

static int ig_lookup(const struct oidc_cache_map *m, void *vctx)
{
    struct ig_ctx *c = vctx;
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t klen = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, c->name, key);
    struct oidc_cache_pw pw;
    const unsigned char *rec, *k;
    unsigned rlen;
    uint32_t n, i, gid, next, kl, len;
    long newsize;
    gid_t *g;
    int r;

    if (klen == 0)
        return OIDC_ERR_NOTFOUND;
    if ((r = map_find_next(m, key, klen, &rec, &rlen, &next)) != OIDC_OK)
        return r;
    if ((r = pw_check(rec, rlen, c->name, 0, &pw)) != OIDC_OK) /* expired users have no groups */
        return r;
    key[0] = OIDC_CACHE_K_INITGROUPS;
    if (next != 0 && oidc_cache_record_at(m->mem, m->dend, next, &k, &kl, &rec, &len) == 0 &&
        kl == klen && memcmp(k, key, klen) == 0) {
        rlen = len; /* the writer put it right after the user record */
        r = OIDC_OK;
    } else {
        r = map_find(m, key, klen, &rec, &rlen);
    }
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_OK; /* a user without supplementary groups */
    if (r != OIDC_OK)
        return r;
    if (oidc_cache_initgroups_decode(rec, rlen, &n) != 0)
        return OIDC_ERR_PARSE;
    for (i = 0; i < n; i++) {
        gid = oidc_cache_get_u32(rec + 4 + 4 * (size_t)i);
        if (gid < OIDC_CACHE_ID_FLOOR || (gid_t)gid == c->skip)
            continue;
        if (c->limit > 0 && *c->start >= c->limit)
            break; /* glibc's limit reached: the rest is dropped, as nss_files does */
        if (*c->start >= *c->size) {
            newsize = *c->size > 0 ? 2 * *c->size : 16;
            if (c->limit > 0 && newsize > c->limit)
                newsize = c->limit;
            g = realloc(*c->groups, (size_t)newsize * sizeof(**c->groups));
            if (g == NULL)
                return OIDC_ERR_NOMEM;
            *c->groups = g;
            *c->size = newsize;
        }
        (*c->groups)[(*c->start)++] = (gid_t)gid;
    }
    return OIDC_OK;
}

int oidc_cache_read_initgroups(const char *name, gid_t skip, long *start, long *size,
                               gid_t **groups, long limit)
{
    struct ig_ctx c = {name, skip, start, size, groups, limit};

    if (!name_ok(name) || start == NULL || size == NULL || groups == NULL)
        return OIDC_ERR_NOTFOUND;
    /* Exact: a login's new group list must not be answered from the file it replaced. */
    return run(ig_lookup, NULL, &c, 1);
}

/* ---------------------------------------------------------------- enumeration */

int oidc_cache_iter_open(struct oidc_cache_iter *it)
{
    struct oidc_cache_map *m = NULL;
    int r;

    oidc_cache_iter_close(it);
    if ((r = map_get_ref(&m)) != OIDC_OK)
        return r;
    it->map = m;
    cdb_seqinit(&it->pos, &m->cdb);
    it->eof = m->status != OIDC_OK;
    return m->status == OIDC_ERR_NOTFOUND ? OIDC_OK : m->status;
}

void oidc_cache_iter_close(struct oidc_cache_iter *it)
{
    map_put_ref(it->map);
    it->map = NULL;
    it->pos = 0;
    it->eof = 1;
}

/* The next record whose key starts with type: OIDC_OK with key, value and the position after
 * it (the caller commits it), or OIDC_ERR_NOTFOUND at the end. */
static int iter_next(struct oidc_cache_iter *it, unsigned char type, const unsigned char **key,
                     unsigned *klen, const unsigned char **val, unsigned *vlen, unsigned *next)
{
    struct cdb c;
    unsigned pos;

    if (it->map == NULL || it->eof)
        return OIDC_ERR_NOTFOUND;
    c = it->map->cdb;
    pos = it->pos;
    for (;;) {
        if (cdb_seqnext(&pos, &c) <= 0) { /* the end, or an inconsistent file: stop */
            it->eof = 1;
            return OIDC_ERR_NOTFOUND;
        }
        *key = cdb_getkey(&c);
        *val = cdb_getdata(&c);
        if (*key == NULL || *val == NULL) {
            it->eof = 1;
            return OIDC_ERR_NOTFOUND;
        }
        if (cdb_keylen(&c) >= 1 && (*key)[0] == type)
            break;
        it->pos = pos; /* skipping another type is progress too */
    }
    *klen = cdb_keylen(&c);
    *vlen = cdb_datalen(&c);
    *next = pos;
    return OIDC_OK;
}

/* The key's name (after the type byte) as a string, for the consistency check. */
static int key_name(const unsigned char *key, unsigned klen, char *out)
{
    if (klen < 2 || klen - 1 > OIDC_CACHE_NAME_MAX || memchr(key + 1, '\0', klen - 1) != NULL)
        return -1;
    memcpy(out, key + 1, klen - 1);
    out[klen - 1] = '\0';
    return 0;
}

int oidc_cache_iter_next_pw(struct oidc_cache_iter *it, struct passwd *pw, char *buf, size_t len)
{
    const unsigned char *key, *rec;
    unsigned klen, rlen, next;
    char name[OIDC_CACHE_NAME_MAX + 1];
    struct oidc_cache_pw p;
    int r;

    if (guard_set())
        return OIDC_ERR_NOTFOUND;
    while ((r = iter_next(it, OIDC_CACHE_K_USER_NAME, &key, &klen, &rec, &rlen, &next)) ==
           OIDC_OK) {
        if (key_name(key, klen, name) == 0 && pw_check(rec, rlen, name, 0, &p) == OIDC_OK) {
            r = pack_pw_rec(&p, pw, buf, len);
            if (r == OIDC_OK)
                it->pos = next;
            return r;
        }
        it->pos = next; /* expired, below the floor or malformed: not listed */
    }
    return r;
}

int oidc_cache_iter_next_gr(struct oidc_cache_iter *it, struct group *gr, char *buf, size_t len)
{
    const unsigned char *key, *rec;
    unsigned klen, rlen, next;
    char name[OIDC_CACHE_NAME_MAX + 1];
    struct oidc_cache_gr g;
    int r;

    if (guard_set())
        return OIDC_ERR_NOTFOUND;
    while ((r = iter_next(it, OIDC_CACHE_K_GROUP_NAME, &key, &klen, &rec, &rlen, &next)) ==
           OIDC_OK) {
        if (key_name(key, klen, name) == 0 && gr_check(rec, rlen, name, 0, &g) == OIDC_OK) {
            r = pack_gr(&g, gr, buf, len);
            if (r == OIDC_OK)
                it->pos = next;
            if (r != OIDC_ERR_PARSE)
                return r;
        }
        it->pos = next; /* expired, below the floor or malformed: not listed */
    }
    return r;
}

/* ---------------------------------------------------------------- test hook */

void oidc_cache_read_set_path(const char *path)
{
    char *copy = path != NULL ? strdup(path) : NULL;
    char *old = (char *)(uintptr_t)__atomic_load_n(&g_path, __ATOMIC_ACQUIRE);
    struct tstate *ts = tstate_get();

    pthread_mutex_lock(&g_lock);
    __atomic_store_n(&g_path, copy, __ATOMIC_RELEASE);
    map_unref(g_cur);
    g_cur = NULL;
    __atomic_store_n(&g_gen, 0, __ATOMIC_RELEASE); /* no mapping has gen 0: all threads reload */
    if (ts != NULL) {
        map_unref(ts->map);
        ts->map = NULL;
    }
    pthread_mutex_unlock(&g_lock);
    free(old);
}
