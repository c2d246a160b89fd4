/* Identity cache writer (common/cache.c): the records it writes, read back through the
 * cache_rec.h decoders and cdb_find; every invariant it refuses to break (each a named negative
 * test); name <-> subject binding; expiry and prune; the no-op rule; corrupt files; the state
 * directory rules; verify; the lookup index (written, rebuilt when missing or malformed, refused
 * when of an unknown kind); provenance.cdb (the provenance out of the world-readable file, the
 * join, missing/corrupt/truncated/older/disagreeing files refused, the interrupted commit, the
 * order of the renames, the migration of the previous format). Each test runs in a fresh
 * mkdtemp() state directory with fixture passwd/group files. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cdb.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cache_rec.h"
#include "idhash.h"
#include "idmap.h"

#define ISS   "https://idp.example.test"
#define ISS2  "https://other.example.test"
#define T0    1700000000LL
#define TTL   (30 * 86400LL)
#define UID_A 0x70000001u
#define UID_B 0x70000002u
#define UID_C 0x70000003u
#define GID_D 0x71000001u /* dev */
#define GID_O 0x71000002u /* ops */

static char dir[64], state[96], passwd_path[96], group_path[96], cache_path[128], serial_path[128],
    prov_path[128];
static struct oidc_idmap_env env;
static struct oidc_cache_opts opts;
static struct oidc_err err;

/* The cache structures hold char * (they own their strings when loaded); tests point them at
 * literals they never free or modify. */
static char *mut(const char *s)
{
    union {
        const char *c;
        char *m;
    } u = {s};

    return u.m;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **st)
{
    (void)st;
    strcpy(dir, "/tmp/test_cache.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(state, sizeof(state), "%s/state", dir);
    snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
    snprintf(group_path, sizeof(group_path), "%s/group", dir);
    snprintf(cache_path, sizeof(cache_path), "%s/%s", state, OIDC_CACHE_FILE);
    snprintf(serial_path, sizeof(serial_path), "%s/%s", state, OIDC_CACHE_SERIAL_FILE);
    snprintf(prov_path, sizeof(prov_path), "%s/%s", state, OIDC_PROV_FILE);
    write_file(passwd_path, "root:x:0:0:root:/root:/bin/bash\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                            "carol:x:1001:1001::/home/carol:/bin/bash\n");
    write_file(group_path, "root:x:0:\n"
                           "staff:x:50:\n"
                           "wheel:x:10:carol\n"
                           "docker:x:999:\n");
    env.passwd_path = passwd_path;
    env.group_path = group_path;
    opts.dir = state;
    opts.env = &env;
    opts.now = T0;
    memset(&err, 0, sizeof(err));
    return 0;
}

static int teardown(void **st)
{
    char cmd[128];

    (void)st;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A user in a static buffer: groups given as name,gid pairs ending with NULL. */
static struct oidc_group ugroups[8];
static struct oidc_cache_user U;

static struct oidc_cache_user *user(const char *name, uint32_t uid, const char *iss,
                                    const char *sub, ...)
{
    va_list ap;
    const char *g;

    memset(&U, 0, sizeof(U));
    snprintf(U.name, sizeof(U.name), "%s", name);
    U.uid = U.gid = uid;
    U.gecos = mut("Test User");
    U.home = mut("/home/x");
    U.shell = mut("/bin/bash");
    U.issuer = mut(iss);
    U.subject = mut(sub);
    U.provider = mut("people");
    U.first_login = U.last_login = opts.now;
    U.expires = opts.now + TTL;
    U.groups = ugroups;
    va_start(ap, sub);
    while ((g = va_arg(ap, const char *)) != NULL && U.n_groups < 8) {
        ugroups[U.n_groups].name = mut(g);
        ugroups[U.n_groups].gid = va_arg(ap, uint32_t);
        U.n_groups++;
    }
    va_end(ap);
    return &U;
}

/* open, upsert, commit, close; returns upsert's code */
static int store(const struct oidc_cache_user *u, int *written)
{
    struct oidc_cache *c = NULL;
    int r;

    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    r = oidc_cache_upsert(c, u, &err);
    if (r == OIDC_OK)
        assert_int_equal(oidc_cache_commit(c, written, &err), OIDC_OK);
    oidc_cache_close(c);
    return r;
}

static void store_ok(const struct oidc_cache_user *u)
{
    int r = store(u, NULL);

    if (r != OIDC_OK)
        fail_msg("store %s: %s", u->name, oidc_err_msg(&err));
}

/* Refused with OIDC_ERR_MAPPING and a message naming both sides. */
static void refused(const struct oidc_cache_user *u, const char *side1, const char *side2)
{
    struct stat before, after;
    int have = stat(cache_path, &before) == 0, r;

    r = store(u, NULL);
    assert_int_equal(r, OIDC_ERR_MAPPING);
    if (strstr(err.msg, side1) == NULL || strstr(err.msg, side2) == NULL)
        fail_msg("message '%s' does not name '%s' and '%s'", err.msg, side1, side2);
    if (have) { /* nothing was written */
        assert_int_equal(stat(cache_path, &after), 0);
        assert_int_equal(before.st_ino, after.st_ino);
    }
}

/* ------------------------------------------------------------------ reading the file back */

struct rec {
    const unsigned char *p;
    unsigned len;
};

static struct cdb db;
static int dbfd = -1;

static void db_open(void)
{
    dbfd = open(cache_path, O_RDONLY);
    assert_true(dbfd >= 0);
    assert_int_equal(cdb_init(&db, dbfd), 0);
}

static void db_close(void)
{
    cdb_free(&db);
    close(dbfd);
    dbfd = -1;
}

static int db_get(const unsigned char *key, size_t klen, struct rec *r)
{
    if (cdb_find(&db, key, (unsigned)klen) <= 0)
        return 0;
    r->len = cdb_datalen(&db);
    r->p = cdb_get(&db, r->len, cdb_datapos(&db));
    assert_non_null(r->p);
    return 1;
}

static int db_name(char type, const char *name, struct rec *r)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t n = oidc_cache_key_name(type, name, key);

    assert_true(n > 0);
    return db_get(key, n, r);
}

static int db_id(char type, uint32_t id, struct rec *r)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t n = oidc_cache_key_id(type, id, key);

    return db_get(key, n, r);
}

static int members_equal(const struct oidc_cache_gr *g, const char *const *want, size_t n)
{
    const char *p = g->members;
    size_t i;

    if (g->nmem != n)
        return 0;
    for (i = 0; i < n; i++, p += strlen(p) + 1)
        if (strcmp(p, want[i]) != 0)
            return 0;
    return 1;
}

/* The open file's image and its four lookup indexes, each present and well-formed. */
struct ixview {
    const unsigned char *mem;
    uint32_t dend;
    struct oidc_cache_index ix[sizeof(OIDC_CACHE_INDEXED) - 1];
};

static void ix_load(struct ixview *x)
{
    unsigned char key[2] = {OIDC_CACHE_K_INDEX, 0};
    struct stat s;
    struct rec r = {NULL, 0};
    size_t i;

    assert_int_equal(fstat(dbfd, &s), 0);
    x->mem = cdb_get(&db, 2048, 0);
    assert_non_null(x->mem);
    x->dend = oidc_cache_records_end(x->mem, (uint64_t)s.st_size);
    assert_true(x->dend >= 2048);
    for (i = 0; i < sizeof(x->ix) / sizeof(x->ix[0]); i++) {
        key[1] = (unsigned char)OIDC_CACHE_INDEXED[i];
        if (!db_get(key, 2, &r))
            fail_msg("no lookup index for '%c'", key[1]);
        assert_int_equal(oidc_cache_index_decode(r.p, r.len, &x->ix[i]), 0);
        assert_int_equal(oidc_cache_index_check(&x->ix[i], x->dend), 0);
    }
}

/* Walks the open file: every n/u/g/h record is found through its type's index as the very bytes
 * the walk sees, and a user's "i" record starts where its "n" record ends. Returns the number of
 * indexed records. */
static size_t ix_find_all(const struct ixview *x)
{
    unsigned char ikey[OIDC_CACHE_KEY_MAX];
    const unsigned char *key, *val, *found, *k2, *v2;
    uint32_t flen, next, kl2, vl2;
    unsigned pos, klen;
    const char *t;
    struct rec r;
    size_t n = 0;

    cdb_seqinit(&pos, &db);
    while (cdb_seqnext(&pos, &db) > 0) {
        klen = cdb_keylen(&db);
        key = cdb_getkey(&db);
        val = cdb_getdata(&db);
        assert_true(klen > 0 && klen <= sizeof(ikey));
        if (key[0] == '\0' || (t = strchr(OIDC_CACHE_INDEXED, key[0])) == NULL)
            continue;
        n++;
        assert_int_equal(oidc_cache_index_find(&x->ix[t - OIDC_CACHE_INDEXED], x->mem, x->dend, key,
                                               klen, &found, &flen, &next),
                         1);
        assert_ptr_equal(found, val);
        assert_int_equal(flen, cdb_datalen(&db));
        if (key[0] != OIDC_CACHE_K_USER_NAME)
            continue;
        memcpy(ikey, key, klen);
        ikey[0] = OIDC_CACHE_K_INITGROUPS;
        assert_int_equal(oidc_cache_record_at(x->mem, x->dend, next, &k2, &kl2, &v2, &vl2), 0);
        assert_int_equal(kl2, klen);
        assert_memory_equal(k2, ikey, klen);
        assert_true(db_get(ikey, klen, &r)); /* the one the hash tables give */
        assert_ptr_equal(r.p, v2);
    }
    return n;
}

/* Opens the committed file and checks its indexes: n/u/g/h records expected in all. */
static void expect_indexed(size_t records)
{
    struct ixview x;

    db_open();
    ix_load(&x);
    assert_int_equal(ix_find_all(&x), records);
    db_close();
}

/* ------------------------------------------------------------------ tests */

static void test_roundtrip_every_key_kind(void **st)
{
    struct oidc_cache_pw pw;
    struct oidc_cache_gr gr;
    struct oidc_cache_meta m;
    struct rec r, r2;
    uint32_t n, gid;
    const char *gname;
    size_t pos = 0;
    static const char *const dev_members[] = {"alice", "bob"};
    static const char *const ops_members[] = {"alice"};

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "ops", GID_O, "dev", GID_D, NULL));
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));
    db_open();

    assert_true(db_get((const unsigned char *)"V", 1, &r));
    assert_int_equal(r.len, strlen(OIDC_CACHE_VERSION));
    assert_memory_equal(r.p, OIDC_CACHE_VERSION, r.len);

    assert_true(db_name(OIDC_CACHE_K_USER_NAME, "alice", &r));
    assert_int_equal(oidc_cache_pw_decode(r.p, r.len, &pw), 0);
    assert_int_equal(pw.uid, UID_A);
    assert_int_equal(pw.gid, UID_A);
    assert_int_equal(pw.expires, T0 + TTL);
    assert_int_equal(pw.flags, 0);
    assert_string_equal(pw.name, "alice");
    assert_string_equal(pw.gecos, "Test User");
    assert_string_equal(pw.home, "/home/x");
    assert_string_equal(pw.shell, "/bin/bash");
    assert_true(db_id(OIDC_CACHE_K_USER_ID, UID_A, &r2));
    assert_int_equal(r2.len, r.len);
    assert_memory_equal(r2.p, r.p, r.len);

    assert_true(db_name(OIDC_CACHE_K_INITGROUPS, "alice", &r));
    assert_int_equal(oidc_cache_initgroups_decode(r.p, r.len, &n), 0);
    assert_int_equal(n, 2); /* in group-name order: dev, ops */
    assert_int_equal(oidc_cache_get_u32(r.p + 4), GID_D);
    assert_int_equal(oidc_cache_get_u32(r.p + 8), GID_O);

    /* cache.cdb's "m": the memberships, expiry and flags; the provenance fields empty */
    assert_true(db_name(OIDC_CACHE_K_META, "alice", &r));
    assert_int_equal(oidc_cache_meta_decode(r.p, r.len, &m), 0);
    assert_int_equal(m.first_login, 0);
    assert_int_equal(m.last_login, 0);
    assert_int_equal(m.expires, T0 + TTL);
    assert_string_equal(m.issuer, "");
    assert_string_equal(m.subject, "");
    assert_string_equal(m.provider, "");
    assert_int_equal(m.ngroups, 2);
    assert_int_equal(oidc_cache_meta_next_group(&m, &pos, &gid, &gname), 1);
    assert_string_equal(gname, "dev");
    assert_int_equal(gid, GID_D);
    assert_int_equal(oidc_cache_meta_next_group(&m, &pos, &gid, &gname), 1);
    assert_string_equal(gname, "ops");
    assert_int_equal(oidc_cache_meta_next_group(&m, &pos, &gid, &gname), 0);

    /* the private group: gid == uid, no listed members, the user's expiry */
    assert_true(db_name(OIDC_CACHE_K_GROUP_NAME, "alice", &r));
    assert_int_equal(oidc_cache_gr_decode(r.p, r.len, &gr), 0);
    assert_int_equal(gr.gid, UID_A);
    assert_int_equal(gr.nmem, 0);
    assert_int_equal(gr.expires, T0 + TTL);
    assert_true(db_id(OIDC_CACHE_K_GROUP_ID, UID_A, &r2));
    assert_int_equal(r2.len, r.len);
    assert_memory_equal(r2.p, r.p, r.len);

    assert_true(db_name(OIDC_CACHE_K_GROUP_NAME, "dev", &r));
    assert_int_equal(oidc_cache_gr_decode(r.p, r.len, &gr), 0);
    assert_int_equal(gr.gid, GID_D);
    assert_string_equal(gr.name, "dev");
    assert_true(members_equal(&gr, dev_members, 2));
    assert_true(db_id(OIDC_CACHE_K_GROUP_ID, GID_D, &r2));
    assert_int_equal(r2.len, r.len);
    assert_memory_equal(r2.p, r.p, r.len);
    assert_true(db_name(OIDC_CACHE_K_GROUP_NAME, "ops", &r));
    assert_int_equal(oidc_cache_gr_decode(r.p, r.len, &gr), 0);
    assert_true(members_equal(&gr, ops_members, 1));

    assert_false(db_name(OIDC_CACHE_K_USER_NAME, "nobody", &r));
    assert_false(db_get((const unsigned char *)"p", 1, &r)); /* no preauth provider: no record */
    db_close();
}

static void test_reload_keeps_everything(void **st)
{
    struct oidc_cache *c = NULL;
    const struct oidc_cache_user *a;

    (void)st;
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));
    store_ok(user("alice", UID_A, ISS, "sub-a", "ops", GID_O, "dev", GID_D, NULL));
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_count(c), 2);
    assert_string_equal(oidc_cache_at(c, 0)->name, "alice"); /* name order */
    assert_string_equal(oidc_cache_at(c, 1)->name, "bob");
    assert_null(oidc_cache_at(c, 2));
    a = oidc_cache_find(c, "alice");
    assert_non_null(a);
    assert_int_equal(a->uid, UID_A);
    assert_string_equal(a->issuer, ISS);
    assert_string_equal(a->subject, "sub-a");
    assert_string_equal(a->provider, "people");
    assert_string_equal(a->gecos, "Test User");
    assert_int_equal(a->first_login, T0);
    assert_int_equal(a->expires, T0 + TTL);
    assert_int_equal(a->n_groups, 2);
    assert_string_equal(a->groups[0].name, "dev");
    assert_int_equal(a->groups[0].gid, GID_D);
    assert_null(oidc_cache_find(c, "nobody"));
    oidc_cache_close(c);
}

static void collect(void *ctx, const char *line)
{
    int *n = ctx;

    (*n)++;
    print_message("  verify: %s\n", line);
}

static void test_verify_clean_file(void **st)
{
    int n = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "ops", GID_O, "dev", GID_D, NULL));
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
    assert_int_equal(n, 0);
}

static void test_file_mode_0644_and_lock_file(void **st)
{
    struct stat s;
    char lock[160];

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_int_equal(stat(cache_path, &s), 0);
    assert_int_equal(s.st_mode & 07777, 0644);
    assert_int_equal(s.st_uid, geteuid());
    assert_int_equal(stat(state, &s), 0);
    assert_int_equal(s.st_mode & 07777, 0755); /* created by the writer, whatever the umask */
    snprintf(lock, sizeof(lock), "%s/cache.lock", state);
    assert_int_equal(stat(lock, &s), 0);
}

/* ---- collisions: each refused with OIDC_ERR_MAPPING, naming both sides */

static void test_refuse_uid_of_cached_user(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    refused(user("bob", UID_A, ISS, "sub-b", NULL), "bob", "alice");
}

static void test_refuse_uid_of_cached_group(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    refused(user("bob", GID_D, ISS, "sub-b", NULL), "bob", "dev");
}

static void test_refuse_uid_of_local_account(void **st)
{
    (void)st;
    refused(user("bob", 1001, ISS, "sub-b", NULL), "bob", "carol");
}

static void test_refuse_uid_of_local_group(void **st)
{
    (void)st;
    refused(user("bob", 999, ISS, "sub-b", NULL), "bob", "docker");
}

static void test_refuse_name_of_local_account(void **st)
{
    (void)st;
    refused(user("carol", UID_C, ISS, "sub-c", NULL), "carol", passwd_path);
}

static void test_refuse_name_of_local_group(void **st)
{
    (void)st;
    refused(user("staff", UID_C, ISS, "sub-c", NULL), "staff", group_path);
}

/* ---- item 7: an IdP group named like a user or a local name is dropped, never the login */

static struct oidc_cache_drops drops;

/* open, upsert with drops, commit, close: OIDC_OK required */
static void store_drops(const struct oidc_cache_user *u, int *written)
{
    struct oidc_cache *c = NULL;
    int r;

    oidc_cache_drops_free(&drops);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    r = oidc_cache_upsert_drops(c, u, &drops, &err);
    if (r != OIDC_OK)
        fail_msg("store %s: %s", u->name, oidc_err_msg(&err));
    assert_int_equal(oidc_cache_commit(c, written, &err), OIDC_OK);
    oidc_cache_close(c);
}

/* drops holds exactly one entry: user lost group, the reason containing why */
static void one_drop(const char *user, const char *group, const char *why)
{
    if (drops.n != 1)
        fail_msg("%zu drops, expected one (%s loses %s)", drops.n, user, group);
    assert_string_equal(drops.v[0].user, user);
    assert_string_equal(drops.v[0].group, group);
    if (strstr(drops.v[0].reason, why) == NULL)
        fail_msg("reason '%s' does not say '%s'", drops.v[0].reason, why);
}

/* name's initgroups record lists gid (1) or not (0) */
static int initgroups_has_gid(const char *name, uint32_t gid)
{
    struct rec r;
    uint32_t n, i;
    int found = 0;

    db_open();
    assert_true(db_name(OIDC_CACHE_K_INITGROUPS, name, &r));
    assert_int_equal(oidc_cache_initgroups_decode(r.p, r.len, &n), 0);
    for (i = 0; i < n; i++)
        if (oidc_cache_get_u32(r.p + 4 + 4 * i) == gid)
            found = 1;
    db_close();
    return found;
}

/* the file's group record of name: present (gid, members) or absent (*gid 0) */
static uint32_t group_gid_in_file(const char *name, uint32_t *nmem)
{
    struct oidc_cache_gr g;
    struct rec r;
    uint32_t gid = 0;

    *nmem = 0;
    db_open();
    if (db_name(OIDC_CACHE_K_GROUP_NAME, name, &r)) {
        assert_int_equal(oidc_cache_gr_decode(r.p, r.len, &g), 0);
        gid = g.gid;
        *nmem = g.nmem;
    }
    db_close();
    return gid;
}

static void test_group_named_like_cached_user_is_dropped(void **st)
{
    uint32_t nmem;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    store_drops(user("bob", UID_B, ISS, "sub-b", "alice", GID_D, "ops", GID_O, NULL), NULL);
    one_drop("bob", "alice", "cached user 'alice'");
    assert_false(initgroups_has_gid("bob", GID_D));
    assert_true(initgroups_has_gid("bob", GID_O));
    assert_int_equal(group_gid_in_file("alice", &nmem), UID_A); /* alice's private group */
    assert_int_equal(nmem, 0);
    oidc_cache_drops_free(&drops);
}

/* mallory (IdP group "bob") first, then the real bob's first login: bob's private group wins
 * and mallory's membership of "bob" is gone from the file and from the loaded cache. */
static void test_group_named_like_later_user_is_evicted(void **st)
{
    struct oidc_cache *c = NULL;
    const struct oidc_cache_user *m;
    uint32_t nmem;
    int written = -1;
    size_t k;

    (void)st;
    store_drops(user("mallory", UID_A, ISS, "sub-m", "bob", GID_D, "ops", GID_O, NULL), NULL);
    assert_int_equal(drops.n, 0);
    assert_true(initgroups_has_gid("mallory", GID_D));
    store_drops(user("bob", UID_B, ISS, "sub-b", NULL), NULL);
    one_drop("mallory", "bob", "user 'bob' now owns a private group");
    assert_int_equal(group_gid_in_file("bob", &nmem), UID_B);
    assert_int_equal(nmem, 0);
    assert_false(initgroups_has_gid("mallory", GID_D));
    assert_true(initgroups_has_gid("mallory", GID_O));
    db_open();
    {
        struct rec r;
        assert_false(db_id(OIDC_CACHE_K_GROUP_ID, GID_D, &r));
    }
    db_close();
    assert_int_equal(oidc_cache_load(&opts, &c, &err), OIDC_OK);
    assert_non_null(m = oidc_cache_find(c, "mallory"));
    for (k = 0; k < m->n_groups; k++)
        assert_string_not_equal(m->groups[k].name, "bob");
    oidc_cache_close(c);
    /* mallory again with "bob": dropped (now bob's private group), and nothing to write */
    store_drops(user("mallory", UID_A, ISS, "sub-m", "bob", GID_D, "ops", GID_O, NULL), &written);
    one_drop("mallory", "bob", "cached user 'bob'");
    assert_int_equal(written, 0);
    oidc_cache_drops_free(&drops);
}

static void test_group_named_like_local_group_is_dropped(void **st)
{
    uint32_t nmem;

    (void)st;
    store_drops(user("bob", UID_B, ISS, "sub-b", "wheel", GID_D, NULL), NULL);
    one_drop("bob", "wheel", group_path);
    assert_false(initgroups_has_gid("bob", GID_D));
    assert_int_equal(group_gid_in_file("wheel", &nmem), 0);
    oidc_cache_drops_free(&drops);
}

static void test_group_named_like_local_account_is_dropped(void **st)
{
    uint32_t nmem;

    (void)st;
    store_drops(user("bob", UID_B, ISS, "sub-b", "daemon", GID_D, NULL), NULL);
    one_drop("bob", "daemon", passwd_path);
    assert_false(initgroups_has_gid("bob", GID_D));
    assert_int_equal(group_gid_in_file("daemon", &nmem), 0);
    oidc_cache_drops_free(&drops);
}

/* a user-name collision stays a refusal: a local account name, another subject's name */
static void test_user_name_collision_still_refused(void **st)
{
    (void)st;
    refused(user("daemon", UID_B, ISS, "sub-b", NULL), "daemon", passwd_path);
    store_ok(user("bob", UID_B, ISS, "sub-b", NULL));
    refused(user("bob", UID_B, ISS, "sub-mallory", NULL), "sub-b", "sub-mallory");
}

/* what verify-token shows: the drops a login would make, nothing written */
static void test_preview_drops(void **st)
{
    struct oidc_identity id;
    struct oidc_group g[3] = {{mut("alice"), GID_D}, {mut("wheel"), GID_O}, {mut("qa"), GID_O + 1}};
    struct stat before, after;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_int_equal(stat(cache_path, &before), 0);
    memset(&id, 0, sizeof(id));
    snprintf(id.name, sizeof(id.name), "bob");
    id.uid = id.gid = UID_B;
    id.groups = g;
    id.n_groups = 3;
    oidc_cache_drops_free(&drops);
    assert_int_equal(oidc_cache_preview_drops(&opts, &id, &drops, &err), OIDC_OK);
    assert_int_equal(drops.n, 2);
    assert_string_equal(drops.v[0].group, "alice");
    assert_string_equal(drops.v[1].group, "wheel");
    assert_non_null(strstr(drops.v[1].reason, "local group"));
    assert_int_equal(stat(cache_path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    oidc_cache_drops_free(&drops);
}

static void test_refuse_group_gid_of_other_cached_group(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    refused(user("bob", UID_B, ISS, "sub-b", "qa", GID_D, NULL), "qa", "dev");
}

static void test_refuse_group_gid_of_cached_user(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    refused(user("bob", UID_B, ISS, "sub-b", "qa", UID_A, NULL), "qa", "alice");
}

static void test_refuse_group_gid_of_local_group(void **st)
{
    (void)st;
    refused(user("bob", UID_B, ISS, "sub-b", "qa", 50, NULL), "qa", "staff");
}

static void test_refuse_group_with_other_gid(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    refused(user("bob", UID_B, ISS, "sub-b", "dev", GID_O, NULL), "dev", "bob");
}

static void test_refuse_uid_change_of_cached_user(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    refused(user("alice", UID_B, ISS, "sub-a", NULL), "alice", "uid");
}

static void test_refuse_invalid_input(void **st)
{
    struct oidc_cache *c = NULL;
    struct oidc_cache_user *u;

    (void)st;
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    u = user("alice", 0, ISS, "s", NULL);
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_INVALID); /* uid 0 */
    u = user("alice", UID_A, ISS, "s", NULL);
    u->gid = UID_B;
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_INVALID); /* gid != uid */
    u = user("alice", UID_A, ISS, "s", NULL);
    u->gecos = mut("a:b");
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_INVALID); /* ':' in a passwd field */
    u = user("alice", UID_A, ISS, "s", NULL);
    u->home = mut("relative");
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_INVALID);
    u = user("Alice", UID_A, ISS, "s", NULL);
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_INVALID);
    u = user("root", UID_A, ISS, "s", NULL);
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_INVALID);
    u = user("alice", UID_A, ISS, "", NULL); /* no subject, not pre-provisioned */
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_INVALID);
    u = user("alice", UID_A, ISS, "s", "alice", GID_D, NULL); /* own name as a group */
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_MAPPING);
    u = user("alice", UID_A, ISS, "s", "dev", GID_D, "dev2", GID_D, NULL); /* one gid twice */
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_MAPPING);
    assert_int_equal(oidc_cache_count(c), 0);
    oidc_cache_close(c);
}

/* ---- name <-> subject binding */

static void test_refuse_other_subject_for_cached_name(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    refused(user("alice", UID_A, ISS, "sub-evil", NULL), "sub-a", "sub-evil");
}

static void test_refuse_other_issuer_for_cached_name(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    refused(user("alice", UID_A, ISS2, "sub-a", NULL), ISS, ISS2);
}

static void test_same_subject_updates_entry(void **st)
{
    struct oidc_cache *c = NULL;
    struct oidc_cache_user *u;
    int written = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    opts.now = T0 + 10;
    u = user("alice", UID_A, ISS, "sub-a", NULL);
    u->gecos = mut("Alice Changed");
    assert_int_equal(store(u, &written), OIDC_OK);
    assert_int_equal(written, 1);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_string_equal(oidc_cache_find(c, "alice")->gecos, "Alice Changed");
    assert_int_equal(oidc_cache_find(c, "alice")->first_login, T0); /* kept */
    oidc_cache_close(c);
}

static void test_deleted_name_can_be_claimed_again(void **st)
{
    struct oidc_cache *c = NULL;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_delete(c, "alice", &err), OIDC_OK);
    assert_int_equal(oidc_cache_commit(c, NULL, &err), OIDC_OK);
    oidc_cache_close(c);
    store_ok(user("alice", UID_A, ISS, "sub-new", NULL));
}

static void test_preprovisioned_bound_by_first_login(void **st)
{
    struct oidc_cache *c = NULL;
    struct oidc_cache_user *u;
    const struct oidc_cache_user *a;

    (void)st;
    u = user("alice", UID_A, ISS, "", NULL);
    u->flags = OIDC_CACHE_F_PREPROVISIONED;
    u->first_login = u->last_login = u->expires = 0;
    store_ok(u);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    a = oidc_cache_find(c, "alice");
    assert_non_null(a);
    assert_string_equal(a->subject, "");
    assert_int_equal(a->expires, 0);
    oidc_cache_close(c);

    opts.now = T0 + 100;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL)); /* the first login binds */
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    a = oidc_cache_find(c, "alice");
    assert_string_equal(a->subject, "sub-a");
    assert_int_equal(a->flags & OIDC_CACHE_F_PREPROVISIONED, OIDC_CACHE_F_PREPROVISIONED);
    assert_int_equal(a->first_login, T0 + 100);
    assert_int_equal(a->expires, T0 + 100 + TTL);
    oidc_cache_close(c);
    refused(user("alice", UID_A, ISS, "sub-other", NULL), "sub-a", "sub-other"); /* now bound */
}

static void test_preprovisioned_for_other_issuer_refused(void **st)
{
    struct oidc_cache_user *u;

    (void)st;
    u = user("alice", UID_A, ISS, "", NULL);
    u->flags = OIDC_CACHE_F_PREPROVISIONED;
    store_ok(u);
    refused(user("alice", UID_A, ISS2, "sub-a", NULL), ISS, ISS2);
}

static void test_refuse_unbinding_a_bound_entry(void **st)
{
    struct oidc_cache_user *u;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    u = user("alice", UID_A, ISS, "", NULL);
    u->flags = OIDC_CACHE_F_PREPROVISIONED;
    refused(u, "alice", "bound");
}

/* ---- expiry and prune */

static void test_prune_removes_expired_entries(void **st)
{
    struct oidc_cache *c = NULL;
    struct rec r;
    size_t removed = 99;
    int n = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "ops", GID_O, "dev", GID_D, NULL));
    opts.now = T0 + TTL / 2;
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));

    opts.now = T0 + TTL - 1; /* nobody expired yet */
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_prune(c, &removed, &err), OIDC_OK);
    assert_int_equal(removed, 0);
    oidc_cache_close(c);

    opts.now = T0 + TTL; /* alice's entry expires now */
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_prune(c, &removed, &err), OIDC_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(oidc_cache_commit(c, NULL, &err), OIDC_OK);
    assert_null(oidc_cache_find(c, "alice"));
    assert_non_null(oidc_cache_find(c, "bob"));
    oidc_cache_close(c);

    db_open();
    assert_false(db_name(OIDC_CACHE_K_USER_NAME, "alice", &r));
    assert_false(db_id(OIDC_CACHE_K_USER_ID, UID_A, &r));
    assert_false(db_name(OIDC_CACHE_K_GROUP_NAME, "alice", &r)); /* private group too */
    assert_false(db_name(OIDC_CACHE_K_GROUP_NAME, "ops", &r));   /* no member left */
    assert_false(db_id(OIDC_CACHE_K_GROUP_ID, GID_O, &r));
    assert_true(db_name(OIDC_CACHE_K_GROUP_NAME, "dev", &r));
    db_close();
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
}

static void test_group_expiry_is_longest_member(void **st)
{
    struct oidc_cache_gr gr;
    struct rec r;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    opts.now = T0 + 5000;
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));
    db_open();
    assert_true(db_name(OIDC_CACHE_K_GROUP_NAME, "dev", &r));
    assert_int_equal(oidc_cache_gr_decode(r.p, r.len, &gr), 0);
    assert_int_equal(gr.expires, T0 + 5000 + TTL);
    db_close();
}

/* ---- the no-op rule */

static struct oidc_cfg cfg;
static struct oidc_provider_cfg prov;
static struct oidc_provider_cfg *provs[1] = {&prov};
static struct oidc_identity ident;
static struct oidc_group igroups[1];

static void identity_setup(void)
{
    memset(&cfg, 0, sizeof(cfg));
    memset(&prov, 0, sizeof(prov));
    memset(&ident, 0, sizeof(ident));
    cfg.state_dir = state;
    cfg.cache_ttl = TTL;
    cfg.providers = provs;
    cfg.n_providers = 1;
    prov.name = mut("people");
    prov.uid_key = OIDC_UID_KEY_NAME;
    snprintf(ident.name, sizeof(ident.name), "alice");
    ident.uid = ident.gid = UID_A;
    ident.issuer = mut(ISS);
    ident.subject = mut("sub-a");
    ident.gecos = mut("Alice");
    ident.home = mut("/home/alice");
    ident.shell = mut("/bin/bash");
    igroups[0].name = mut("dev");
    igroups[0].gid = GID_D;
    ident.groups = igroups;
    ident.n_groups = 1;
}

static void test_repeat_login_costs_no_write(void **st)
{
    struct stat a, b, pa, pb;
    int written = -1;

    (void)st;
    identity_setup();
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, &written, NULL, &err),
        OIDC_OK);
    assert_int_equal(written, 1);
    expect_indexed(6); /* with its lookup indexes: n, u alice; g, h alice and dev */
    assert_int_equal(stat(cache_path, &a), 0);
    assert_int_equal(stat(prov_path, &pa), 0);
    sleep(1);                     /* a rewrite would show in mtime as well as in the inode */
    opts.now = T0 + TTL / 10 - 1; /* just under a tenth of cache_ttl later */
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, &written, NULL, &err),
        OIDC_OK);
    assert_int_equal(written, 0);
    assert_int_equal(stat(cache_path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
    /* nor provenance.cdb */
    assert_int_equal(stat(prov_path, &pb), 0);
    assert_int_equal(pa.st_ino, pb.st_ino);
    assert_int_equal(pa.st_mtim.tv_sec, pb.st_mtim.tv_sec);
    assert_int_equal(pa.st_mtim.tv_nsec, pb.st_mtim.tv_nsec);
}

static void test_login_after_tenth_of_ttl_refreshes_expiry(void **st)
{
    struct oidc_cache *c = NULL;
    struct stat a, b;
    int written = -1;

    (void)st;
    identity_setup();
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, &written, NULL, &err),
        OIDC_OK);
    assert_int_equal(stat(cache_path, &a), 0);
    opts.now = T0 + TTL / 10;
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, &written, NULL, &err),
        OIDC_OK);
    assert_int_equal(written, 1);
    assert_int_equal(stat(cache_path, &b), 0);
    assert_int_not_equal(a.st_ino, b.st_ino);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_find(c, "alice")->last_login, T0 + TTL / 10);
    assert_int_equal(oidc_cache_find(c, "alice")->expires, T0 + TTL / 10 + TTL);
    assert_int_equal(oidc_cache_find(c, "alice")->first_login, T0);
    oidc_cache_close(c);
}

static void test_changed_identity_rewrites_at_once(void **st)
{
    int written = -1;

    (void)st;
    identity_setup();
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, &written, NULL, &err),
        OIDC_OK);
    opts.now = T0 + 1;
    ident.n_groups = 0; /* left group dev */
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, &written, NULL, &err),
        OIDC_OK);
    assert_int_equal(written, 1);
}

static void test_group_membership_follows_logins(void **st)
{
    struct oidc_cache_gr gr;
    struct rec r;
    uint32_t n;
    static const char *const only_bob[] = {"bob"};
    int problems = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));
    /* alice leaves dev and joins ops */
    store_ok(user("alice", UID_A, ISS, "sub-a", "ops", GID_O, NULL));
    db_open();
    assert_true(db_name(OIDC_CACHE_K_GROUP_NAME, "dev", &r));
    assert_int_equal(oidc_cache_gr_decode(r.p, r.len, &gr), 0);
    assert_true(members_equal(&gr, only_bob, 1));
    assert_true(db_name(OIDC_CACHE_K_INITGROUPS, "alice", &r));
    assert_int_equal(oidc_cache_initgroups_decode(r.p, r.len, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(oidc_cache_get_u32(r.p + 4), GID_O);
    db_close();
    /* bob leaves dev: the group disappears */
    store_ok(user("bob", UID_B, ISS, "sub-b", NULL));
    db_open();
    assert_false(db_name(OIDC_CACHE_K_GROUP_NAME, "dev", &r));
    assert_false(db_id(OIDC_CACHE_K_GROUP_ID, GID_D, &r));
    db_close();
    assert_int_equal(oidc_cache_verify(&opts, collect, &problems, &err), OIDC_OK);
}

/* ---- delete */

static void test_delete_user_and_emptied_groups(void **st)
{
    struct oidc_cache *c = NULL;
    struct rec r;
    int written = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "ops", GID_O, "dev", GID_D, NULL));
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_delete(c, "alice", &err), OIDC_OK);
    assert_int_equal(oidc_cache_delete(c, "alice", &err), OIDC_ERR_NOTFOUND);
    assert_int_equal(oidc_cache_commit(c, &written, &err), OIDC_OK);
    assert_int_equal(written, 1);
    oidc_cache_close(c);
    db_open();
    assert_false(db_name(OIDC_CACHE_K_USER_NAME, "alice", &r));
    assert_false(db_name(OIDC_CACHE_K_META, "alice", &r));
    assert_false(db_name(OIDC_CACHE_K_INITGROUPS, "alice", &r));
    assert_false(db_name(OIDC_CACHE_K_GROUP_NAME, "ops", &r));
    assert_true(db_name(OIDC_CACHE_K_GROUP_NAME, "dev", &r));
    assert_true(db_name(OIDC_CACHE_K_USER_NAME, "bob", &r));
    db_close();
}

static void test_remove_user_absent_is_ok(void **st)
{
    (void)st;
    identity_setup();
    assert_int_equal(oidc_cache_remove_user_opts(&opts, "ghost", &err), OIDC_OK);
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_int_equal(oidc_cache_remove_user_opts(&opts, "alice", &err), OIDC_OK);
    db_open();
    {
        struct rec r;
        assert_false(db_name(OIDC_CACHE_K_USER_NAME, "alice", &r));
    }
    db_close();
}

/* ---- corrupt files are refused and left alone */

/* The whole cache file, malloc'd. */
static unsigned char *cache_bytes(size_t *len)
{
    struct stat s;
    unsigned char *p;
    int fd = open(cache_path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &s), 0);
    p = malloc((size_t)s.st_size + 1);
    assert_non_null(p);
    assert_int_equal(read(fd, p, (size_t)s.st_size + 1), s.st_size);
    close(fd);
    *len = (size_t)s.st_size;
    return p;
}

/* The bytes as a cache file: open refuses it (naming why, when why is given), a login's store
 * writes nothing, and verify reports it. */
static void corrupt_case(const void *bytes, size_t len, const char *why)
{
    struct oidc_cache *c = NULL;
    unsigned char *back;
    int written = -1, fd, n = 0;
    size_t got;

    assert_int_equal(mkdir(state, 0755), 0);
    fd = open(cache_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE);
    assert_null(c);
    assert_non_null(strstr(err.msg, "corrupt"));
    if (why != NULL && strstr(err.msg, why) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, why);
    identity_setup();
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, &written, NULL, &err),
        OIDC_ERR_PARSE);
    assert_int_equal(written, 0);
    back = cache_bytes(&got);
    assert_int_equal(got, len);
    assert_memory_equal(back, bytes, len); /* not overwritten */
    free(back);
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_ERR_PARSE);
    assert_true(n > 0);
}

/* The first keep bytes of the committed file (all of it: SIZE_MAX) as a corrupt case, which
 * starts from no state directory. */
static void committed_file_is_corrupt(size_t keep, const char *why)
{
    char cmd[256];
    unsigned char *p;
    size_t len;

    p = cache_bytes(&len);
    if (keep != SIZE_MAX)
        assert_true(len > keep);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
    assert_int_equal(system(cmd), 0);
    corrupt_case(p, keep != SIZE_MAX ? keep : len, why);
    free(p);
}

static void test_corrupt_garbage_refused_not_overwritten(void **st)
{
    static const char garbage[] = "this is not a cdb file at all";

    (void)st;
    corrupt_case(garbage, sizeof(garbage), "not a CDB file");
}

static void test_corrupt_empty_file_refused(void **st)
{
    (void)st;
    corrupt_case("", 0, "not a CDB file");
}

static void test_truncated_file_refused(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    /* the hash tables survive, the tail of the records does not */
    committed_file_is_corrupt(2100, NULL);
}

/* A CDB file written by hand at cache_path: cdb_begin, cdb_make_add..., cdb_end. */
static int cdb_begin(struct cdb_make *m)
{
    int fd;

    (void)mkdir(state, 0755);
    fd = open(cache_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(cdb_make_start(m, fd), 0);
    return fd;
}

static void cdb_end(struct cdb_make *m, int fd)
{
    assert_int_equal(cdb_make_finish(m), 0);
    close(fd);
}

/* A well-formed CDB of string keys and values. */
static void write_cdb(const char *const *kv, size_t n)
{
    struct cdb_make m;
    size_t i;
    int fd = cdb_begin(&m);

    for (i = 0; i + 1 < n; i += 2)
        assert_int_equal(cdb_make_add(&m, kv[i], (unsigned)strlen(kv[i]), kv[i + 1],
                                      (unsigned)strlen(kv[i + 1])),
                         0);
    cdb_end(&m, fd);
}

static void test_wrong_version_refused(void **st)
{
    static const char *const kv[] = {"V", "nss-pam-oidc cache v0"};
    struct oidc_cache *c = NULL;
    int n = 0;

    (void)st;
    write_cdb(kv, 2);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE);
    assert_non_null(strstr(err.msg, "version"));
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_ERR_PARSE);
}

static void test_missing_version_refused(void **st)
{
    struct oidc_cache *c = NULL;

    (void)st;
    write_cdb(NULL, 0); /* a CDB file without any record */
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE);
    assert_non_null(strstr(err.msg, "no version record"));
}

static void test_verify_reports_inconsistent_records(void **st)
{
    struct oidc_cache_buf b = {0};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    struct cdb_make m;
    int fd, n = 0;
    size_t kl;

    (void)st;
    /* a user record with no uid, initgroups, provenance or private-group records */
    oidc_cache_buf_u32(&b, UID_A);
    oidc_cache_buf_u32(&b, UID_A);
    oidc_cache_buf_i64(&b, 0);
    oidc_cache_buf_u32(&b, 0);
    oidc_cache_buf_str(&b, "alice");
    oidc_cache_buf_str(&b, "");
    oidc_cache_buf_str(&b, "/home/alice");
    oidc_cache_buf_str(&b, "/bin/sh");
    assert_int_equal(b.failed, 0);
    fd = cdb_begin(&m);
    assert_int_equal(
        cdb_make_add(&m, "V", 1, OIDC_CACHE_VERSION, (unsigned)strlen(OIDC_CACHE_VERSION)), 0);
    kl = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, "alice", key);
    assert_int_equal(cdb_make_add(&m, key, (unsigned)kl, b.p, (unsigned)b.len), 0);
    cdb_end(&m, fd);
    oidc_cache_buf_free(&b);
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_ERR_PARSE);
    assert_true(n >= 4); /* uid, initgroups, provenance, private group */
    {
        struct oidc_cache *c = NULL;
        assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE); /* no provenance */
    }
}

/* A hand-made file with "o" records (name, value) after the version: open refuses it naming
 * why, verify reports it. */
static void override_file_refused(const char *const *names, const struct oidc_cache_buf *vals,
                                  size_t n, const char *why)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    struct oidc_cache *c = NULL;
    struct cdb_make m;
    int fd = cdb_begin(&m), problems = 0;
    size_t i, kl;

    assert_int_equal(
        cdb_make_add(&m, "V", 1, OIDC_CACHE_VERSION, (unsigned)strlen(OIDC_CACHE_VERSION)), 0);
    for (i = 0; i < n; i++) {
        kl = oidc_cache_key_name(OIDC_CACHE_K_OVERRIDE, names[i], key);
        assert_int_equal(cdb_make_add(&m, key, (unsigned)kl, vals[i].p, (unsigned)vals[i].len), 0);
    }
    cdb_end(&m, fd);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE);
    if (strstr(err.msg, why) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, why);
    assert_int_equal(oidc_cache_verify(&opts, collect, &problems, &err), OIDC_ERR_PARSE);
    assert_true(problems > 0);
}

/* Override records are checked on load: each must decode (at least one entry, nothing after the
 * last), and they come in name order, one a name. */
static void test_override_records_checked(void **st)
{
    static const char *const order[] = {"amy", "abe"};
    static const char *const empty[] = {"amy"};
    struct oidc_cache_buf v[2] = {{0}, {0}};

    (void)st;
    oidc_cache_buf_u32(&v[0], 1);
    oidc_cache_buf_u32(&v[0], 0x70000010u);
    oidc_cache_buf_str(&v[0], "people");
    oidc_cache_buf_u32(&v[1], 1);
    oidc_cache_buf_u32(&v[1], 0x70000020u);
    oidc_cache_buf_str(&v[1], "people");
    override_file_refused(order, v, 2, "out of name order");
    oidc_cache_buf_free(&v[1]);
    oidc_cache_buf_u32(&v[1], 0); /* no entry */
    override_file_refused(empty, &v[1], 1, "override record does not decode");
    oidc_cache_buf_u32(&v[0], 7); /* a trailing byte */
    override_file_refused(empty, &v[0], 1, "override record does not decode");
    oidc_cache_buf_free(&v[0]);
    oidc_cache_buf_free(&v[1]);
}

static void test_verify_reports_local_collision(void **st)
{
    int n = 0;
    char line[128];
    FILE *f;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    f = fopen(passwd_path, "a"); /* an admin later adds a local account with alice's uid */
    assert_non_null(f);
    snprintf(line, sizeof(line), "local1:x:%u:100::/home/local1:/bin/sh\n", UID_A);
    fputs(line, f);
    fclose(f);
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_ERR_PARSE);
    assert_int_equal(n, 1);
}

static void test_verify_missing_file_is_empty_cache(void **st)
{
    int n = 0;

    (void)st;
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
    assert_int_equal(n, 0);
}

/* ---- the state directory */

static void test_refuse_group_writable_state_dir(void **st)
{
    struct oidc_cache *c = NULL;

    (void)st;
    assert_int_equal(mkdir(state, 0755), 0);
    assert_int_equal(chmod(state, 0775), 0);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_IO);
    assert_non_null(strstr(err.msg, "writable"));
    assert_int_equal(chmod(state, 0757), 0);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_IO);
}

static void test_refuse_symlinked_state_dir(void **st)
{
    struct oidc_cache *c = NULL;
    char real[128];

    (void)st;
    snprintf(real, sizeof(real), "%s/real", dir);
    assert_int_equal(mkdir(real, 0755), 0);
    assert_int_equal(symlink(real, state), 0);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_IO);
    assert_non_null(strstr(err.msg, "symbolic link"));
}

static void test_refuse_symlinked_cache_file(void **st)
{
    struct oidc_cache *c = NULL;

    (void)st;
    assert_int_equal(mkdir(state, 0755), 0);
    assert_int_equal(symlink(passwd_path, cache_path), 0);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_IO);
    assert_non_null(strstr(err.msg, "symbolic link"));
}

static void test_refuse_relative_state_dir(void **st)
{
    struct oidc_cache *c = NULL;

    (void)st;
    opts.dir = "relative/dir";
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_CONFIG);
}

static void test_stale_temp_files_removed(void **st)
{
    struct oidc_cache *c = NULL;
    char tmp[160];
    int fd;

    (void)st;
    assert_int_equal(mkdir(state, 0755), 0);
    snprintf(tmp, sizeof(tmp), "%s/cache.cdb.AbC123", state);
    fd = open(tmp, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    oidc_cache_close(c);
    assert_int_equal(access(tmp, F_OK), -1);
}

/* ---- preauth record */

/* open, refresh the preauth and override records from cfg, commit, close: whether it wrote */
static int sync_preauth(void)
{
    struct oidc_cache *c = NULL;
    int written = -1;

    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_set_preauth(c, &cfg, &err), OIDC_OK);
    assert_int_equal(oidc_cache_commit(c, &written, &err), OIDC_OK);
    oidc_cache_close(c);
    return written;
}

static void test_preauth_record(void **st)
{
    char *pats[3];

    pats[0] = mut("ci-*");
    pats[1] = mut("dev?");
    pats[2] = NULL;
    struct rec r;
    const unsigned char *p;

    (void)st;
    identity_setup();
    prov.preauth = 1;
    prov.uid_min = 0x60000000u;
    prov.uid_max = 0x6FFFFFFFu;
    prov.home = mut("/srv/home/{name}");
    prov.shell = mut("/bin/zsh");
    prov.preauth_allow.v = pats;
    prov.preauth_allow.n = 2;
    assert_int_equal(sync_preauth(), 1);
    db_open();
    assert_true(db_get((const unsigned char *)"p", 1, &r));
    p = r.p;
    assert_int_equal(oidc_cache_get_u32(p), 1);
    assert_int_equal(oidc_cache_get_u32(p + 4), 0x60000000u);
    assert_int_equal(oidc_cache_get_u32(p + 8), 0x6FFFFFFFu);
    assert_int_equal(oidc_cache_get_u32(p + 12), 2);
    p += 16;
    assert_string_equal((const char *)p, "people");
    p += strlen((const char *)p) + 1;
    assert_string_equal((const char *)p, "/srv/home/{name}");
    p += strlen((const char *)p) + 1;
    assert_string_equal((const char *)p, "/bin/zsh");
    p += strlen((const char *)p) + 1;
    assert_string_equal((const char *)p, "ci-*");
    p += strlen((const char *)p) + 1;
    assert_string_equal((const char *)p, "dev?");
    p += strlen((const char *)p) + 1;
    assert_int_equal((size_t)(p - r.p), r.len);
    db_close();
    /* the same configuration again: nothing to write */
    assert_int_equal(sync_preauth(), 0);
    /* preauth switched off: the record becomes an empty list */
    prov.preauth = 0;
    assert_int_equal(sync_preauth(), 1);
    db_open();
    assert_true(db_get((const unsigned char *)"p", 1, &r));
    assert_int_equal(r.len, 4);
    assert_int_equal(oidc_cache_get_u32(r.p), 0);
    db_close();
}

/* An "o" record's entries: u32 n, then n (uid, provider) pairs; 1 when name's record holds exactly
 * the one entry (uid, provider). */
static int override_is(const char *name, uint32_t uid, const char *provider)
{
    struct rec r;
    int ok;

    db_open();
    ok = db_name(OIDC_CACHE_K_OVERRIDE, name, &r) && r.len == 8 + strlen(provider) + 1 &&
         oidc_cache_get_u32(r.p) == 1 && oidc_cache_get_u32(r.p + 4) == uid &&
         strcmp((const char *)r.p + 8, provider) == 0;
    db_close();
    return ok;
}

static int has_override(const char *name)
{
    struct rec r;
    int found;

    db_open();
    found = db_name(OIDC_CACHE_K_OVERRIDE, name, &r);
    db_close();
    return found;
}

/* [provider NAME idmap] overrides of a preauth provider go into the cache as "o" records (what
 * sshd's provisional entry reads), in name order whatever the configuration's order; a commit
 * that does not refresh preauth keeps them; the same configuration writes nothing; a changed
 * override rewrites its record; preauth off drops them. verify finds the file clean throughout. */
static void test_preauth_overrides(void **st)
{
    struct oidc_idmap_override ov[2];
    char *pats[2];
    int n = 0;

    pats[0] = mut("*");
    pats[1] = NULL;
    (void)st;
    identity_setup();
    prov.preauth = 1;
    prov.uid_min = 0x60000000u;
    prov.uid_max = 0x6FFFFFFFu;
    prov.preauth_allow.v = pats;
    prov.preauth_allow.n = 1;
    ov[0].name = mut("zed");
    ov[0].uid = 0x60000010u;
    ov[0].where = mut("t:1");
    ov[1].name = mut("amy");
    ov[1].uid = 0x60000020u;
    ov[1].where = mut("t:2");
    prov.overrides = ov;
    prov.n_overrides = 2;
    assert_int_equal(sync_preauth(), 1);
    assert_true(override_is("zed", 0x60000010u, "people"));
    assert_true(override_is("amy", 0x60000020u, "people"));
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
    assert_int_equal(n, 0);
    /* the same configuration: nothing to write (the loaded records equal the built ones) */
    assert_int_equal(sync_preauth(), 0);
    /* a commit without set_preauth keeps them */
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_true(override_is("amy", 0x60000020u, "people"));
    assert_true(override_is("zed", 0x60000010u, "people"));
    /* a changed override */
    ov[0].uid = 0x60000011u;
    assert_int_equal(sync_preauth(), 1);
    assert_true(override_is("zed", 0x60000011u, "people"));
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
    assert_int_equal(n, 0);
    /* preauth off: no provisional entries, no override records */
    prov.preauth = 0;
    assert_int_equal(sync_preauth(), 1);
    assert_false(has_override("amy"));
    assert_false(has_override("zed"));
    prov.overrides = NULL;
    prov.n_overrides = 0;
}

static void test_preauth_refuses_home_placeholder(void **st)
{
    struct oidc_cache *c = NULL;
    char *pats[2];

    pats[0] = mut("*");
    pats[1] = NULL;

    (void)st;
    identity_setup();
    prov.preauth = 1;
    prov.home = mut("/home/{email}");
    prov.preauth_allow.v = pats;
    prov.preauth_allow.n = 1;
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_set_preauth(c, &cfg, &err), OIDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "people"));
    assert_non_null(strstr(err.msg, "{email}"));
    oidc_cache_close(c);
    /* store_identity refreshes preauth, so the login's store fails the same way */
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, NULL, NULL, &err),
        OIDC_ERR_CONFIG);
}

/* ---- many users: the hash indexes under deletions */

static void test_many_users_and_deletes(void **st)
{
    struct oidc_cache *c = NULL;
    char name[32], gname[32];
    struct oidc_cache_user *u;
    int i, n = 0;

    (void)st;
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    for (i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "u%04d", i);
        snprintf(gname, sizeof(gname), "g%03d", i % 100);
        u = user(name, UID_A + (uint32_t)i, ISS, name, gname, GID_D + (uint32_t)(i % 100), NULL);
        if (oidc_cache_upsert(c, u, &err) != OIDC_OK)
            fail_msg("%s", err.msg);
    }
    for (i = 0; i < 2000; i += 3) {
        snprintf(name, sizeof(name), "u%04d", i);
        assert_int_equal(oidc_cache_delete(c, name, &err), OIDC_OK);
    }
    for (i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "u%04d", i);
        if (i % 3 == 0)
            assert_null(oidc_cache_find(c, name));
        else
            assert_int_equal(oidc_cache_find(c, name)->uid, UID_A + (uint32_t)i);
    }
    /* a freed uid can be taken again, a kept one cannot */
    u = user("newcomer", UID_A, ISS, "new", NULL);
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_OK);
    u = user("newcomer2", UID_A + 1, ISS, "new2", NULL);
    assert_int_equal(oidc_cache_upsert(c, u, &err), OIDC_ERR_MAPPING);
    assert_int_equal(oidc_cache_commit(c, NULL, &err), OIDC_OK);
    oidc_cache_close(c);
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_count(c), 2000 - 667 + 1);
    oidc_cache_close(c);
}

/* ---- pre-provisioning computes the uid the first login will map to */

static void expect_same_uid(enum oidc_uid_key key, const char *name, const char *sub)
{
    struct oidc_provider_cfg p;
    struct oidc_identity *id = NULL;
    char json[256];
    cJSON *claims;
    uint32_t uid = 0;

    memset(&p, 0, sizeof(p));
    p.name = mut("people");
    p.issuer = mut(ISS);
    p.uid_key = key;
    snprintf(json, sizeof(json), "{\"iss\":\"%s\",\"sub\":\"%s\",\"preferred_username\":\"%s\"}",
             ISS, sub, name);
    claims = cJSON_Parse(json);
    assert_non_null(claims);
    if (oidc_idmap_map(&p, &env, claims, &id, &err) != OIDC_OK)
        fail_msg("idmap: %s", err.msg);
    assert_int_equal(oidc_cache_preprovision_uid(&p, name, sub, &uid, &err), OIDC_OK);
    assert_int_equal(uid, id->uid);
    oidc_identity_free(id);
    cJSON_Delete(claims);
}

static void test_preprovision_uid_matches_idmap(void **st)
{
    struct oidc_provider_cfg p;
    uint32_t uid;

    (void)st;
    expect_same_uid(OIDC_UID_KEY_NAME, "alice", "sub-a");
    expect_same_uid(OIDC_UID_KEY_SUBJECT, "alice", "0f6a5c1e-7b1d-4c53-9a8e-2a1f3b4c5d6e");
    memset(&p, 0, sizeof(p));
    p.name = mut("people");
    p.issuer = mut(ISS);
    p.uid_key = OIDC_UID_KEY_SUBJECT; /* needs the subject */
    assert_int_equal(oidc_cache_preprovision_uid(&p, "alice", NULL, &uid, &err), OIDC_ERR_CONFIG);
    p.uid_key = OIDC_UID_KEY_CLAIM; /* only a token knows */
    p.uid_claim = mut("uidNumber");
    assert_int_equal(oidc_cache_preprovision_uid(&p, "alice", "s", &uid, &err), OIDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "uidNumber"));
}

/* ------------------------------------------------------------------ cache.serial */

/* The counter of cache.serial (0 when missing or without the magic). */
static uint64_t serial_value(void)
{
    unsigned char head[OIDC_CACHE_SERIAL_SIZE];
    uint64_t v = 0;
    int fd = open(serial_path, O_RDONLY);

    if (fd < 0)
        return 0;
    if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
        memcmp(head, OIDC_CACHE_SERIAL_MAGIC, OIDC_CACHE_SERIAL_OFF) == 0)
        memcpy(&v, head + OIDC_CACHE_SERIAL_OFF, sizeof(v));
    close(fd);
    return v;
}

/* The generation record of the file at cache_path (0 when none). */
static uint64_t file_gen(void)
{
    struct rec r;
    uint64_t g = 0;

    db_open();
    if (db_get((const unsigned char *)"s", 1, &r))
        assert_int_equal(oidc_cache_serial_decode(r.p, r.len, &g), 0);
    db_close();
    return g;
}

static void set_serial(uint64_t v)
{
    int fd = open(serial_path, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &v, sizeof(v), OIDC_CACHE_SERIAL_OFF), (ssize_t)sizeof(v));
    close(fd);
}

/* After each commit returns, the serial holds the generation the new file carries, one more
 * than the previous; a commit that writes nothing leaves both alone. */
static void test_commit_bumps_serial_to_file_generation(void **st)
{
    struct stat s;
    int written = -1;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_int_equal(stat(serial_path, &s), 0);
    assert_true(S_ISREG(s.st_mode));
    assert_int_equal(s.st_mode & 07777, 0644);
    assert_int_equal(s.st_uid, geteuid());
    assert_int_equal(s.st_size, OIDC_CACHE_SERIAL_SIZE);
    assert_int_equal(file_gen(), 1);
    assert_int_equal(serial_value(), 1);
    store_ok(user("bob", UID_B, ISS, "sub-b", NULL));
    assert_int_equal(file_gen(), 2);
    assert_int_equal(serial_value(), 2);
    assert_int_equal(store(user("bob", UID_B, ISS, "sub-b", NULL), &written), OIDC_OK);
    assert_int_equal(written, 0);
    assert_int_equal(file_gen(), 2);
    assert_int_equal(serial_value(), 2);
    /* updated in place, never replaced: readers keep a mapping of it */
    {
        struct stat s2;

        store_ok(user("carl", UID_C, ISS, "sub-c", NULL));
        assert_int_equal(stat(serial_path, &s2), 0);
        assert_int_equal(s.st_ino, s2.st_ino);
        assert_int_equal(serial_value(), 3);
    }
}

/* Observed from outside while commits run: whenever the serial says G, the file opened after
 * that carries G or more. A bump before the rename would show as a file behind the serial. */
static volatile int g_obs_stop;
static unsigned long g_obs_checks, g_obs_behind;

static void *observer(void *arg)
{
    const volatile uint64_t *ctr = arg;
    struct cdb c;
    uint64_t s, g;
    int fd;

    while (!g_obs_stop) {
        s = __atomic_load_n(ctr, __ATOMIC_ACQUIRE);
        fd = open(cache_path, O_RDONLY);
        if (fd < 0)
            continue;
        g = 0;
        if (cdb_init(&c, fd) == 0) {
            if (cdb_find(&c, "s", 1) > 0 && cdb_datalen(&c) == 8)
                memcpy(&g, cdb_get(&c, 8, cdb_datapos(&c)), 8); /* LE, like the host */
            cdb_free(&c);
        }
        close(fd);
        g_obs_checks++;
        if (g < s)
            g_obs_behind++;
    }
    return NULL;
}

static void test_serial_never_ahead_of_file(void **st)
{
    char name[16];
    pthread_t t;
    void *map;
    int fd, i;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL)); /* creates the serial */
    fd = open(serial_path, O_RDONLY);
    assert_true(fd >= 0);
    map = mmap(NULL, OIDC_CACHE_SERIAL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(map != MAP_FAILED);
    g_obs_stop = 0;
    g_obs_checks = g_obs_behind = 0;
    assert_int_equal(
        pthread_create(&t, NULL, observer, (unsigned char *)map + OIDC_CACHE_SERIAL_OFF), 0);
    for (i = 0; i < 60; i++) {
        snprintf(name, sizeof(name), "u%03d", i);
        store_ok(user(name, UID_C + 16 + (uint32_t)i, ISS, name, NULL));
    }
    g_obs_stop = 1;
    pthread_join(t, NULL);
    munmap(map, OIDC_CACHE_SERIAL_SIZE);
    print_message("  %lu observations during 60 commits\n", g_obs_checks);
    assert_true(g_obs_checks > 0);
    assert_int_equal(g_obs_behind, 0);
    assert_int_equal(serial_value(), 61);
    assert_int_equal(file_gen(), 61);
}

/* A damaged serial (no magic) is repaired in place by the next commit, which verify reports
 * until then; a mode others could write is put back to 0644. */
static void test_damaged_serial_repaired(void **st)
{
    static const char junk[OIDC_CACHE_SERIAL_SIZE] = "garbage garbage";
    struct stat a, b;
    int fd, n = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_int_equal(stat(serial_path, &a), 0);
    fd = open(serial_path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
    close(fd);
    assert_int_equal(chmod(serial_path, 0666), 0);
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_ERR_PARSE);
    assert_int_equal(n, 2); /* the mode, the damage */
    store_ok(user("bob", UID_B, ISS, "sub-b", NULL));
    assert_int_equal(stat(serial_path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(b.st_mode & 07777, 0644);
    assert_int_equal(file_gen(), 2); /* above the loaded file's 1 */
    assert_int_equal(serial_value(), 2);
    n = 0;
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
    assert_int_equal(n, 0);
}

/* A counter behind the file (a crash between rename and bump) is overtaken; a counter ahead of
 * the file (a serial kept from an earlier file) is followed. Either way the new generation is
 * above both. A missing serial is created afresh. */
static void test_serial_behind_or_ahead_or_missing(void **st)
{
    int n = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    store_ok(user("bob", UID_B, ISS, "sub-b", NULL));
    set_serial(0);
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_ERR_PARSE);
    assert_int_equal(n, 1); /* behind the file */
    store_ok(user("carl", UID_C, ISS, "sub-c", NULL));
    assert_int_equal(file_gen(), 3);
    assert_int_equal(serial_value(), 3);
    set_serial(100);
    store_ok(user("dora", UID_C + 1, ISS, "sub-d", NULL));
    assert_int_equal(file_gen(), 101);
    assert_int_equal(serial_value(), 101);
    assert_int_equal(unlink(serial_path), 0);
    n = 0;
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK); /* readers stat */
    store_ok(user("erin", UID_C + 2, ISS, "sub-e", NULL));
    assert_int_equal(file_gen(), 102);
    assert_int_equal(serial_value(), 102);
}

/* The serial is never followed through a symbolic link; the commit fails before anything is
 * written. */
static void test_symlinked_serial_refused(void **st)
{
    struct oidc_cache *c = NULL;
    struct stat a, b;
    char target[160];
    int written = -1;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", NULL));
    assert_int_equal(stat(cache_path, &a), 0);
    snprintf(target, sizeof(target), "%s/elsewhere", dir);
    assert_int_equal(unlink(serial_path), 0);
    assert_int_equal(symlink(target, serial_path), 0);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_upsert(c, user("bob", UID_B, ISS, "sub-b", NULL), &err), OIDC_OK);
    assert_int_equal(oidc_cache_commit(c, &written, &err), OIDC_ERR_IO);
    assert_int_equal(written, 0);
    oidc_cache_close(c);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(stat(cache_path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(access(target, F_OK), -1);
}

/* A file cut exactly where its records end (the hash tables gone) is refused, not loaded as a
 * smaller cache whose next commit would drop the lost users. */
static void test_file_cut_at_record_boundary_refused(void **st)
{
    struct oidc_cache *c = NULL;
    unsigned char head[2048];
    uint32_t first = UINT32_MAX, pos;
    int fd, i, n = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    store_ok(user("bob", UID_B, ISS, "sub-b", NULL));
    fd = open(cache_path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, head, sizeof(head)), (ssize_t)sizeof(head));
    for (i = 0; i < 256; i++) {
        pos = oidc_cache_get_u32(head + 8 * i);
        if (pos < first)
            first = pos;
    }
    assert_int_equal(ftruncate(fd, first), 0);
    close(fd);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE);
    assert_null(c);
    assert_non_null(strstr(err.msg, "hash tables"));
    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_ERR_PARSE);
    assert_true(n > 0);
}

/* ------------------------------------------------------------------ the lookup index */

/* verify's problems: how many, and how many of them say what. */
struct vsaid {
    const char *what;
    int n, said;
};

static void collect_said(void *ctx, const char *line)
{
    struct vsaid *v = ctx;

    collect(&v->n, line);
    v->said += strstr(line, v->what) != NULL;
}

/* verify finds problems, each of which says what. */
static void verify_says(const char *what, int problems)
{
    struct vsaid v = {what, 0, 0};

    assert_int_equal(oidc_cache_verify(&opts, collect_said, &v, &err), OIDC_ERR_PARSE);
    assert_int_equal(v.n, problems);
    assert_int_equal(v.said, problems);
}

static void verify_clean(void)
{
    int n = 0;

    assert_int_equal(oidc_cache_verify(&opts, collect, &n, &err), OIDC_OK);
    assert_int_equal(n, 0);
}

/* Alice (groups dev, ops) and bob (dev): n 2, u 2, g 4 (two private), h 4. */
#define TWO_USERS_INDEXED 12
static void store_two_users(void)
{
    store_ok(user("alice", UID_A, ISS, "sub-a", "ops", GID_O, "dev", GID_D, NULL));
    store_ok(user("bob", UID_B, ISS, "sub-b", "dev", GID_D, NULL));
}

static void test_commit_writes_four_indexes_verify_clean(void **st)
{
    struct ixview x;

    (void)st;
    store_two_users();
    db_open();
    ix_load(&x);
    assert_int_equal(x.ix[0].nb, 2); /* "n": about one record a bucket */
    assert_int_equal(x.ix[2].nb, 4); /* "g" */
    assert_int_equal(ix_find_all(&x), TWO_USERS_INDEXED);
    db_close();
    verify_clean();
}

static void test_index_finds_every_record_of_300_users(void **st)
{
    struct oidc_cache *c = NULL;
    char name[16], team[16];
    uint32_t i;

    (void)st;
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    for (i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "ix%03u", i);
        snprintf(team, sizeof(team), "team%02u", i % 30);
        if (oidc_cache_upsert(
                c, user(name, UID_A + i, ISS, name, team, GID_D + i % 30, "all", GID_D + 100, NULL),
                &err) != OIDC_OK)
            fail_msg("%s", err.msg);
    }
    assert_int_equal(oidc_cache_commit(c, NULL, &err), OIDC_OK);
    oidc_cache_close(c);
    expect_indexed(300 + 300 + (300 + 31) * 2);
    verify_clean();
}

/* How damage_index damages the committed file's lookup indexes. */
enum ix_damage {
    IX_DROP,          /* no "x" records at all (a file written before there were any) */
    IX_BAD_VERSION,   /* "xn" of version 2 */
    IX_PAST_RECORDS,  /* "xu"'s last directory entry past the end of the records */
    IX_EMPTY_BUCKETS, /* "xn" well-formed, but every bucket empty: it misses every user */
    IX_UNKNOWN_KIND,  /* "xn" renamed "xq" */
    IX_SECOND_N,      /* "xu" renamed "xn": a second "xn" */
    IX_BAD_SECOND_N,  /* "xn" of version 2, and "xu" renamed "xn" after it */
};

/* One index record of the committed file (key "x" + type, val its value), damaged: 0 to leave it
 * out. */
static int damage_one(enum ix_damage how, unsigned char *key, unsigned char *val, uint32_t dend)
{
    uint32_t nb = oidc_cache_get_u32(val + 4), b;

    switch (how) {
    case IX_DROP:
        return 0;
    case IX_BAD_VERSION:
        if (key[1] == OIDC_CACHE_K_USER_NAME)
            oidc_cache_put_u32(val, OIDC_CACHE_INDEX_VERSION + 1);
        break;
    case IX_PAST_RECORDS:
        if (key[1] == OIDC_CACHE_K_USER_ID)
            oidc_cache_put_u32(val + 8 + 4 * nb, dend + 1);
        break;
    case IX_EMPTY_BUCKETS:
        for (b = 0; key[1] == OIDC_CACHE_K_USER_NAME && b < nb; b++)
            oidc_cache_put_u32(val + 8 + 4 * b, oidc_cache_get_u32(val + 8 + 4 * nb));
        break;
    case IX_UNKNOWN_KIND:
        if (key[1] == OIDC_CACHE_K_USER_NAME)
            key[1] = 'q';
        break;
    case IX_SECOND_N:
    case IX_BAD_SECOND_N:
        if (how == IX_BAD_SECOND_N && key[1] == OIDC_CACHE_K_USER_NAME)
            oidc_cache_put_u32(val, OIDC_CACHE_INDEX_VERSION + 1);
        if (key[1] == OIDC_CACHE_K_USER_ID)
            key[1] = OIDC_CACHE_K_USER_NAME;
        break;
    }
    return 1;
}

/* Rebuilds the committed file from its own records in file order, each written as many times as
 * copies(key, klen, val, dend) says (0: left out); it may change the record in place, keeping
 * its lengths. */
static void rewrite_records(int (*copies)(unsigned char *key, uint32_t klen, unsigned char *val,
                                          uint32_t dend))
{
    const unsigned char *k, *v;
    unsigned char *img, *key;
    uint32_t pos, dend, kl, vl;
    struct cdb_make m;
    size_t len;
    int fd, n;

    img = cache_bytes(&len);
    dend = oidc_cache_records_end(img, len);
    assert_true(dend >= 2048);
    fd = cdb_begin(&m);
    for (pos = 2048; pos < dend; pos += 8 + kl + vl) {
        assert_int_equal(oidc_cache_record_at(img, dend, pos, &k, &kl, &v, &vl), 0);
        key = img + pos + 8; /* k, writable */
        for (n = copies(key, kl, key + kl, dend); n > 0; n--)
            assert_int_equal(cdb_make_add(&m, key, kl, key + kl, vl), 0);
    }
    cdb_end(&m, fd);
    free(img);
}

static enum ix_damage g_damage;

static int damage_copies(unsigned char *key, uint32_t klen, unsigned char *val, uint32_t dend)
{
    if (klen == 2 && key[0] == OIDC_CACHE_K_INDEX)
        return damage_one(g_damage, key, val, dend);
    return 1;
}

/* The committed file, rebuilt so that every record keeps its offset (renames and changes keep
 * the lengths), with its indexes damaged as named. */
static void damage_index(enum ix_damage how)
{
    g_damage = how;
    rewrite_records(damage_copies);
}

/* Derived data: a file whose indexes are missing or malformed loads as it is, verify reports each
 * damaged index, and the next commit, with nothing else to change, writes the file anew with
 * good ones. */
static void index_rebuilt_case(enum ix_damage how, const char *what, int problems)
{
    struct oidc_cache *c = NULL;
    struct rec r;
    int written = -1;

    store_two_users();
    damage_index(how);
    verify_says(what, problems);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_count(c), 2);
    assert_int_equal(oidc_cache_commit(c, &written, &err), OIDC_OK);
    assert_int_equal(written, 1);
    oidc_cache_close(c);
    expect_indexed(TWO_USERS_INDEXED);
    verify_clean();
    db_open(); /* the users came through */
    assert_true(db_name(OIDC_CACHE_K_USER_NAME, "alice", &r));
    assert_true(db_name(OIDC_CACHE_K_INITGROUPS, "bob", &r));
    db_close();
    /* and the new indexes are good: the commit after that has nothing to write */
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_commit(c, &written, &err), OIDC_OK);
    assert_int_equal(written, 0);
    oidc_cache_close(c);
}

static void test_file_without_index_rebuilt_by_next_commit(void **st)
{
    (void)st;
    index_rebuilt_case(IX_DROP, "no lookup index", 4); /* one for each type */
}

static void test_index_of_bad_version_rebuilt_by_next_commit(void **st)
{
    (void)st;
    index_rebuilt_case(IX_BAD_VERSION, "lookup index for 'n' records is malformed", 1);
}

static void test_index_past_records_rebuilt_by_next_commit(void **st)
{
    (void)st;
    index_rebuilt_case(IX_PAST_RECORDS, "lookup index for 'u' records is malformed", 1);
}

/* A well-formed index that misses records (the NSS module would answer "not found" for them):
 * verify names the records it misses, and the loader notices too, so the next commit (as
 * 'oidcctl cache sync', which verify suggests) rebuilds it. */
static void test_index_missing_records_rebuilt_by_next_commit(void **st)
{
    (void)st;
    index_rebuilt_case(IX_EMPTY_BUCKETS, "lookup index for 'n' records misses 2 of them", 1);
}

/* The loader joins each provenance record with its user record (users are created in the order
 * of the provenance records): one without the other, or a second provenance record for a user,
 * is corruption. */
static const char *g_join_name;
static int g_join_copies;
static char g_join_type;

static int join_copies(unsigned char *key, uint32_t klen, unsigned char *val, uint32_t dend)
{
    (void)val;
    (void)dend;
    if (key[0] == (unsigned char)g_join_type && klen - 1 == strlen(g_join_name) &&
        memcmp(key + 1, g_join_name, klen - 1) == 0)
        return g_join_copies;
    return 1;
}

static void join_case(char type, int copies, const char *why)
{
    store_two_users();
    g_join_name = "bob";
    g_join_type = type;
    g_join_copies = copies;
    rewrite_records(join_copies);
    committed_file_is_corrupt(SIZE_MAX, why);
}

static void test_user_without_provenance_refused(void **st)
{
    (void)st;
    join_case(OIDC_CACHE_K_META, 0, "a user has no provenance record");
}

static void test_provenance_without_user_refused(void **st)
{
    (void)st;
    join_case(OIDC_CACHE_K_USER_NAME, 0, "a provenance record has no user record");
}

static void test_second_provenance_record_refused(void **st)
{
    (void)st;
    join_case(OIDC_CACHE_K_META, 2, "a user has two provenance records");
}

/* An index record of a kind the writer does not know, or a second one of a kind, is not the
 * writer's: the file is refused and left alone. */
static void test_index_of_unknown_kind_refused(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    damage_index(IX_UNKNOWN_KIND);
    committed_file_is_corrupt(SIZE_MAX, "lookup index of an unknown kind");
}

static void test_second_index_of_a_kind_refused(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    damage_index(IX_SECOND_N);
    committed_file_is_corrupt(SIZE_MAX, "or a second one");
}

/* Even when the first of the two does not decode. */
static void test_second_index_after_a_malformed_one_refused(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-a", "dev", GID_D, NULL));
    damage_index(IX_BAD_SECOND_N);
    committed_file_is_corrupt(SIZE_MAX, "or a second one");
}

/* Id keys: the id in clear and a mix of it, so that CDB's hash of sequential ids looks random
 * (with the id alone, 83% of 100,000 sequential uids shared their hash with another). */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void test_id_keys_spread_sequential_ids(void **st)
{
    enum { N = 100000 };
    unsigned char key[OIDC_CACHE_KEY_ID_LEN];
    uint32_t *h = calloc(N, sizeof(*h)), id;
    size_t i, dups = 0;

    (void)st;
    assert_non_null(h);
    for (i = 0; i < N; i++) {
        assert_int_equal(oidc_cache_key_id(OIDC_CACHE_K_USER_ID, 0x70000000u + (uint32_t)i, key),
                         OIDC_CACHE_KEY_ID_LEN);
        h[i] = cdb_hash(key, sizeof(key));
    }
    qsort(h, N, sizeof(*h), cmp_u32);
    for (i = 1; i < N; i++)
        dups += h[i] == h[i - 1];
    free(h);
    print_message("  %zu shared hashes among %d sequential uids\n", dups, N);
    assert_true(dups <= 10); /* random 32-bit hashes: about 1 */
    /* decoding: the id back, and a key whose mix does not fit is not an id key */
    oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, GID_D, key);
    assert_int_equal(oidc_cache_key_id_value(key, sizeof(key), &id), 0);
    assert_int_equal(id, GID_D);
    assert_int_equal(oidc_cache_key_id_value(key, 5, &id), -1);
    key[8] ^= 1;
    assert_int_equal(oidc_cache_key_id_value(key, sizeof(key), &id), -1);
}

/* The reader's table-driven name check (oidc_cache_name_len) agrees with oidc_name_valid: every
 * byte value first, in the middle and last, and the lengths around the limit. */
static void test_record_name_check_matches_name_valid(void **st)
{
    char s[40];
    size_t len, pos;
    int c, want, got;

    (void)st;
    for (len = 1; len <= 34; len++)
        for (pos = 0; pos < len; pos += (pos + 1 < len - 1 ? len - 2 : 1))
            for (c = 1; c < 256; c++) {
                memset(s, 'a', len);
                s[len] = '\0';
                s[pos] = (char)c;
                want = oidc_name_valid(s);
                got = oidc_cache_name_len(s, len + 1) == len;
                if (want != got)
                    fail_msg("len %zu, byte %d at %zu: oidc_name_valid %d, record check %d", len, c,
                             pos, want, got);
                /* without room for the NUL it is never a name */
                assert_int_equal(oidc_cache_name_len(s, len), 0);
            }
    assert_int_equal(oidc_cache_name_len("", 1), 0);
    assert_int_equal(oidc_cache_name_len("ab\0cd", 6), 2);
}

/* ---- item 9a: the provenance (issuer, subject, provider, login times) lives in the root-only
 * provenance.cdb; cache.cdb (world-readable, what NSS reads) keeps users, groups, memberships,
 * the preauth record and the lookup indexes */

/* the whole file at path, NUL-terminated; *len its size */
static char *slurp(const char *path, size_t *len)
{
    struct stat st;
    char *buf;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    buf = calloc(1, (size_t)st.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static int file_has(const char *path, const char *needle)
{
    size_t len;
    char *buf = slurp(path, &len);
    int found = memmem(buf, len, needle, strlen(needle)) != NULL;

    free(buf);
    return found;
}

/* the generation ("s") of cache.cdb */
static uint64_t cache_gen(void)
{
    struct rec r = {NULL, 0};
    uint64_t gen = 0;

    db_open();
    assert_true(db_get((const unsigned char *)"s", 1, &r));
    assert_int_equal(oidc_cache_serial_decode(r.p, r.len, &gen), 0);
    db_close();
    return gen;
}

/* the generation ("s") of provenance.cdb */
static uint64_t prov_gen(void)
{
    struct cdb p;
    const unsigned char *v;
    uint64_t gen = 0;
    int fd = open(prov_path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(cdb_init(&p, fd), 0);
    assert_true(cdb_find(&p, "s", 1) > 0);
    assert_non_null(v = cdb_get(&p, cdb_datalen(&p), cdb_datapos(&p)));
    assert_int_equal(oidc_cache_serial_decode(v, cdb_datalen(&p), &gen), 0);
    cdb_free(&p);
    close(fd);
    return gen;
}

/* a provenance.cdb of generation gen holding the records of the users named (NULL-terminated),
 * each issuer ISS, subject "sub-" + name, expiry T0 + TTL, the given flags */
static void write_prov_flags(uint64_t gen, uint32_t flags, va_list ap)
{
    struct oidc_cache_buf b = {0};
    struct cdb_make m;
    unsigned char key[OIDC_CACHE_KEY_MAX];
    char sub[64];
    const char *name;
    size_t kl;
    int fd = open(prov_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(cdb_make_start(&m, fd), 0);
    assert_int_equal(cdb_make_add(&m, "V", 1, OIDC_PROV_VERSION, strlen(OIDC_PROV_VERSION)), 0);
    oidc_cache_buf_i64(&b, (int64_t)gen);
    assert_int_equal(cdb_make_add(&m, "s", 1, b.p, (unsigned)b.len), 0);
    while ((name = va_arg(ap, const char *)) != NULL) {
        snprintf(sub, sizeof(sub), "sub-%s", name);
        b.len = 0;
        oidc_cache_buf_i64(&b, T0);
        oidc_cache_buf_i64(&b, T0);
        oidc_cache_buf_i64(&b, T0 + TTL);
        oidc_cache_buf_u32(&b, flags);
        oidc_cache_buf_u32(&b, 0);
        oidc_cache_buf_str(&b, ISS);
        oidc_cache_buf_str(&b, sub);
        oidc_cache_buf_str(&b, "people");
        kl = oidc_cache_key_name(OIDC_CACHE_K_META, name, key);
        assert_int_equal(cdb_make_add(&m, key, (unsigned)kl, b.p, (unsigned)b.len), 0);
    }
    assert_int_equal(cdb_make_finish(&m), 0);
    close(fd);
    oidc_cache_buf_free(&b);
}

static void write_prov(uint64_t gen, ...)
{
    va_list ap;

    va_start(ap, gen);
    write_prov_flags(gen, 0, ap);
    va_end(ap);
}

static void write_prov_with_flags(uint64_t gen, uint32_t flags, ...)
{
    va_list ap;

    va_start(ap, flags);
    write_prov_flags(gen, flags, ap);
    va_end(ap);
}

/* open (so every login) and load (listings) refuse with OIDC_ERR_PARSE naming provenance.cdb
 * and what; cache.cdb is untouched */
static void prov_refused(const char *what)
{
    struct oidc_cache *c = NULL;
    struct stat before, after;

    assert_int_equal(stat(cache_path, &before), 0);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE);
    if (strstr(err.msg, OIDC_PROV_FILE) == NULL || strstr(err.msg, what) == NULL)
        fail_msg("message '%s' does not name %s and '%s'", err.msg, OIDC_PROV_FILE, what);
    assert_int_equal(oidc_cache_load(&opts, &c, &err), OIDC_ERR_PARSE);
    if (strstr(err.msg, what) == NULL)
        fail_msg("load: message '%s' does not say '%s'", err.msg, what);
    assert_int_equal(stat(cache_path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
}

/* verify fails and one of its lines says what */
static void verify_mentions(const char *what)
{
    struct vsaid v = {what, 0, 0};

    assert_int_equal(oidc_cache_verify(&opts, collect_said, &v, &err), OIDC_ERR_PARSE);
    if (v.said < 1)
        fail_msg("no verify line says '%s'", what);
}

static void test_provenance_not_in_world_readable_file(void **st)
{
    struct oidc_cache *c = NULL;
    const struct oidc_cache_user *u;
    struct stat sc, sp;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-secret-alice", "dev", GID_D, NULL));
    assert_false(file_has(cache_path, "sub-secret-alice"));
    assert_false(file_has(cache_path, ISS));
    assert_false(file_has(cache_path, "people")); /* the provider */
    assert_true(file_has(prov_path, "sub-secret-alice"));
    assert_true(file_has(prov_path, ISS));
    assert_int_equal(stat(cache_path, &sc), 0);
    assert_int_equal(stat(prov_path, &sp), 0);
    assert_int_equal(sc.st_mode & 07777, 0644);
    assert_int_equal(sp.st_mode & 07777, 0600);
    assert_int_equal(sp.st_uid, geteuid());
    assert_int_equal(prov_gen(), cache_gen());
    /* the loader joins the two */
    assert_int_equal(oidc_cache_load(&opts, &c, &err), OIDC_OK);
    assert_true(oidc_cache_has_provenance(c));
    assert_non_null(u = oidc_cache_find(c, "alice"));
    assert_string_equal(u->subject, "sub-secret-alice");
    assert_string_equal(u->issuer, ISS);
    assert_string_equal(u->provider, "people");
    assert_int_equal(u->first_login, T0);
    assert_int_equal(u->last_login, T0);
    assert_int_equal(u->n_groups, 1);
    oidc_cache_close(c);
    verify_clean();
    /* and the binding still holds */
    refused(user("alice", UID_A, ISS, "sub-mallory", NULL), "sub-secret-alice", "sub-mallory");
}

static void test_provenance_missing_refused(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    assert_int_equal(unlink(prov_path), 0);
    prov_refused("missing");
    verify_says("provenance.cdb is missing", 1);
    /* a login under that name (here another subject's) is refused, not bound afresh */
    identity_setup();
    ident.subject = mut("sub-mallory");
    assert_int_equal(
        oidc_cache_store_identity_opts(&opts, &cfg, &prov, &ident, 0, NULL, NULL, &err),
        OIDC_ERR_PARSE);
}

static void test_provenance_corrupt_refused(void **st)
{
    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    write_file(prov_path, "this is not a cdb file");
    prov_refused("not a CDB file");
    verify_says("provenance.cdb is not a CDB file", 1);
    /* a CDB file of another kind: no version record */
    write_file(prov_path, "");
    prov_refused("corrupt");
}

/* cut at the end of its records (the hash tables gone): refused even when it is newer than
 * cache.cdb, where a lost record would otherwise read as "removed by the interrupted commit" */
static void test_provenance_truncated_refused(void **st)
{
    unsigned char head[2048];
    struct stat s;
    uint32_t end;
    int fd;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    store_ok(user("bob", UID_B, ISS, "sub-bob", NULL));
    write_prov(cache_gen() + 1, "alice", "bob", (const char *)NULL);
    assert_int_equal(stat(prov_path, &s), 0);
    assert_true((fd = open(prov_path, O_RDWR)) >= 0);
    assert_int_equal(pread(fd, head, sizeof(head), 0), (ssize_t)sizeof(head));
    end = oidc_cache_records_end(head, (uint64_t)s.st_size);
    assert_true(end > 2048 && end < s.st_size);
    assert_int_equal(ftruncate(fd, end), 0);
    close(fd);
    prov_refused("truncated");
    verify_mentions("provenance.cdb is truncated");
}

static void test_provenance_disagreeing_refused(void **st)
{
    struct oidc_cache_user *u;
    uint64_t gen;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    store_ok(user("bob", UID_B, ISS, "sub-bob", NULL));
    gen = cache_gen();
    write_prov(gen, "alice", (const char *)NULL); /* bob has no record */
    prov_refused("a user has no record");
    verify_says("a user without its record", 1);
    write_prov(gen, "alice", "bob", "mallory", (const char *)NULL); /* one user too many */
    prov_refused("a record of a user it does not hold");
    verify_mentions("'mallory' is in provenance.cdb but not in cache.cdb");
    write_prov(gen - 1, "alice", "bob", (const char *)NULL); /* older than cache.cdb */
    prov_refused("older than cache.cdb");
    verify_says("older: the bindings of newer users are unknown", 1);
    /* the flags disagree */
    u = user("carl", UID_C, ISS, "sub-carl", NULL);
    u->flags = OIDC_CACHE_F_EPHEMERAL;
    write_prov(gen, "alice", "bob", (const char *)NULL);
    store_ok(u);
    write_prov_with_flags(cache_gen(), 0, "alice", "bob", "carl", (const char *)NULL);
    prov_refused("expiry or flags differ");
    verify_says("disagree on expiry or flags", 1);
}

/* provenance.cdb is renamed first: one newer than cache.cdb is an interrupted commit, whose
 * removals are completed (never a lockout) and which the next commit repairs */
static void test_provenance_newer_is_interrupted_commit(void **st)
{
    struct oidc_cache *c = NULL;
    const struct oidc_cache_user *u;
    int written = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    store_ok(user("bob", UID_B, ISS, "sub-bob", NULL));
    /* a commit removing bob and adding carl, cut off between the renames */
    write_prov(cache_gen() + 1, "alice", "carl", (const char *)NULL);
    verify_mentions("an interrupted commit");
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_null(oidc_cache_find(c, "bob"));
    assert_null(oidc_cache_find(c, "carl")); /* never shown by cache.cdb: not there */
    assert_non_null(u = oidc_cache_find(c, "alice"));
    assert_string_equal(u->subject, "sub-alice");
    assert_int_equal(oidc_cache_commit(c, &written, &err), OIDC_OK);
    assert_int_equal(written, 1); /* completed at once */
    oidc_cache_close(c);
    verify_clean();
    assert_int_equal(prov_gen(), cache_gen());
}

/* The order: a commit whose cache.cdb cannot be renamed into place has already renamed
 * provenance.cdb (so every user NSS can see has its binding on disk), and the loader takes that
 * state. With the other order the failed commit would leave provenance.cdb behind. */
static void test_provenance_renamed_before_cache(void **st)
{
    struct oidc_cache *c = NULL;
    char aside[160], inside[192];
    uint64_t g0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    g0 = cache_gen();
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_upsert(c, user("bob", UID_B, ISS, "sub-bob", NULL), &err), OIDC_OK);
    /* cache.cdb becomes a non-empty directory: its rename fails */
    snprintf(aside, sizeof(aside), "%s/aside", dir);
    snprintf(inside, sizeof(inside), "%s/x", cache_path);
    assert_int_equal(rename(cache_path, aside), 0);
    assert_int_equal(mkdir(cache_path, 0755), 0);
    write_file(inside, "x");
    assert_int_equal(oidc_cache_commit(c, NULL, &err), OIDC_ERR_IO);
    oidc_cache_close(c);
    assert_int_equal(unlink(inside), 0);
    assert_int_equal(rmdir(cache_path), 0);
    assert_int_equal(rename(aside, cache_path), 0);
    assert_int_equal(cache_gen(), g0);
    assert_int_equal(prov_gen(), g0 + 1);                        /* renamed before cache.cdb */
    assert_true(file_has(prov_path, "sub-bob"));                 /* the failed commit's */
    assert_int_equal(oidc_cache_load(&opts, &c, &err), OIDC_OK); /* an interrupted commit */
    assert_string_equal(oidc_cache_find(c, "alice")->subject, "sub-alice");
    assert_null(oidc_cache_find(c, "bob"));
    oidc_cache_close(c);
    store_ok(user("bob", UID_B, ISS, "sub-bob", NULL));
    verify_clean();
}

/* a provenance.cdb others may read (an admin's chmod, or restored without its mode) is a verify
 * problem, and the next commit writes it afresh with mode 0600 even when nothing changed */
static void test_provenance_world_readable_is_repaired(void **st)
{
    struct oidc_cache *c = NULL;
    struct stat s;
    int written = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    assert_int_equal(chmod(prov_path, 0644), 0);
    verify_says("has mode 0644 (expected 0600", 1);
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_OK);
    assert_int_equal(oidc_cache_commit(c, &written, &err), OIDC_OK);
    oidc_cache_close(c);
    assert_int_equal(written, 1);
    assert_int_equal(stat(prov_path, &s), 0);
    assert_int_equal(s.st_mode & 07777, 0600);
    verify_clean();
}

/* Rewrites cache.cdb as the previous version wrote it: each "m" record (of the users named, or
 * of every user when only is NULL) with its issuer ISS, subject "sub-" + name, provider and
 * login times; no lookup index (its offsets would no longer fit); provenance.cdb removed. */
static void make_old_format(const char *only)
{
    struct oidc_cache_buf b = {0};
    struct oidc_cache_meta m;
    struct cdb_make mk;
    unsigned pos;
    char tmp[160], name[OIDC_CACHE_NAME_MAX + 1], sub[64];
    const char *gname;
    size_t gpos;
    uint32_t gid;
    int fd;

    snprintf(tmp, sizeof(tmp), "%s/old.cdb", dir);
    assert_true((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
    assert_int_equal(cdb_make_start(&mk, fd), 0);
    db_open();
    cdb_seqinit(&pos, &db);
    while (cdb_seqnext(&pos, &db) > 0) {
        const unsigned char *k = cdb_getkey(&db), *v = cdb_getdata(&db);
        unsigned kl = cdb_keylen(&db), vl = cdb_datalen(&db);

        assert_non_null(k);
        assert_non_null(v);
        if (k[0] == OIDC_CACHE_K_INDEX)
            continue;
        memcpy(name, k + 1, kl - 1);
        name[kl - 1] = '\0';
        if (k[0] == OIDC_CACHE_K_META && (only == NULL || strcmp(only, name) == 0)) {
            assert_int_equal(oidc_cache_meta_decode(v, vl, &m), 0);
            snprintf(sub, sizeof(sub), "sub-%s", name);
            b.len = 0;
            oidc_cache_buf_i64(&b, T0);
            oidc_cache_buf_i64(&b, T0);
            oidc_cache_buf_i64(&b, m.expires);
            oidc_cache_buf_u32(&b, m.flags);
            oidc_cache_buf_u32(&b, m.ngroups);
            oidc_cache_buf_str(&b, ISS);
            oidc_cache_buf_str(&b, sub);
            oidc_cache_buf_str(&b, "people");
            gpos = 0;
            while (oidc_cache_meta_next_group(&m, &gpos, &gid, &gname) == 1) {
                oidc_cache_buf_u32(&b, gid);
                oidc_cache_buf_str(&b, gname);
            }
            assert_false(b.failed);
            assert_int_equal(cdb_make_add(&mk, k, kl, b.p, (unsigned)b.len), 0);
        } else {
            assert_int_equal(cdb_make_add(&mk, k, kl, v, vl), 0);
        }
    }
    db_close();
    assert_int_equal(cdb_make_finish(&mk), 0);
    close(fd);
    oidc_cache_buf_free(&b);
    assert_int_equal(rename(tmp, cache_path), 0);
    assert_int_equal(unlink(prov_path), 0);
}

/* A cache.cdb written by the previous version (provenance inside, no provenance.cdb) loads with
 * its bindings, verify says it is world-readable, and the next commit (here a repeat login,
 * which otherwise writes nothing) moves the provenance into provenance.cdb */
static void test_provenance_migrated_from_old_format(void **st)
{
    struct oidc_cache *c = NULL;
    const struct oidc_cache_user *u;
    struct stat s;
    int written = 0;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", "dev", GID_D, NULL));
    store_ok(user("bob", UID_B, ISS, "sub-bob", "dev", GID_D, NULL));
    make_old_format(NULL);
    assert_true(file_has(cache_path, "sub-bob"));
    assert_int_equal(oidc_cache_load(&opts, &c, &err), OIDC_OK);
    assert_non_null(u = oidc_cache_find(c, "bob"));
    assert_string_equal(u->subject, "sub-bob");
    assert_string_equal(u->issuer, ISS);
    assert_int_equal(u->first_login, T0);
    assert_int_equal(u->n_groups, 1);
    oidc_cache_close(c);
    verify_mentions("written by an earlier version");
    /* alice's repeat login: nothing of hers changed, the file is rewritten anyway, split */
    assert_int_equal(store(user("alice", UID_A, ISS, "sub-alice", "dev", GID_D, NULL), &written),
                     OIDC_OK);
    assert_int_equal(written, 1);
    assert_false(file_has(cache_path, "sub-bob"));
    assert_false(file_has(cache_path, "sub-alice"));
    assert_false(file_has(cache_path, ISS));
    assert_true(file_has(prov_path, "sub-bob"));
    assert_int_equal(stat(prov_path, &s), 0);
    assert_int_equal(s.st_mode & 07777, 0600);
    verify_clean();
    /* bob's binding came through the migration */
    refused(user("bob", UID_B, ISS, "sub-mallory", "dev", GID_D, NULL), "sub-bob", "sub-mallory");
    /* and the next repeat login writes nothing again */
    assert_int_equal(store(user("alice", UID_A, ISS, "sub-alice", "dev", GID_D, NULL), &written),
                     OIDC_OK);
    assert_int_equal(written, 0);
}

/* some users with their provenance in cache.cdb, others without: no format ever wrote that */
static void test_provenance_half_migrated_refused(void **st)
{
    struct oidc_cache *c = NULL;

    (void)st;
    store_ok(user("alice", UID_A, ISS, "sub-alice", NULL));
    store_ok(user("bob", UID_B, ISS, "sub-bob", NULL));
    make_old_format("bob");
    assert_int_equal(oidc_cache_open(&opts, &c, &err), OIDC_ERR_PARSE);
    if (strstr(err.msg, "some users carry their issuer and subject, others do not") == NULL)
        fail_msg("message '%s'", err.msg);
    verify_mentions("1 of its 2 users carry their issuer and subject");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_roundtrip_every_key_kind),
        T(test_reload_keeps_everything),
        T(test_verify_clean_file),
        T(test_file_mode_0644_and_lock_file),
        T(test_refuse_uid_of_cached_user),
        T(test_refuse_uid_of_cached_group),
        T(test_refuse_uid_of_local_account),
        T(test_refuse_uid_of_local_group),
        T(test_refuse_name_of_local_account),
        T(test_refuse_name_of_local_group),
        T(test_group_named_like_cached_user_is_dropped),
        T(test_group_named_like_later_user_is_evicted),
        T(test_group_named_like_local_group_is_dropped),
        T(test_group_named_like_local_account_is_dropped),
        T(test_user_name_collision_still_refused),
        T(test_preview_drops),
        T(test_provenance_not_in_world_readable_file),
        T(test_provenance_missing_refused),
        T(test_provenance_corrupt_refused),
        T(test_provenance_truncated_refused),
        T(test_provenance_disagreeing_refused),
        T(test_provenance_newer_is_interrupted_commit),
        T(test_provenance_renamed_before_cache),
        T(test_provenance_world_readable_is_repaired),
        T(test_provenance_migrated_from_old_format),
        T(test_provenance_half_migrated_refused),
        T(test_refuse_group_gid_of_other_cached_group),
        T(test_refuse_group_gid_of_cached_user),
        T(test_refuse_group_gid_of_local_group),
        T(test_refuse_group_with_other_gid),
        T(test_refuse_uid_change_of_cached_user),
        T(test_refuse_invalid_input),
        T(test_refuse_other_subject_for_cached_name),
        T(test_refuse_other_issuer_for_cached_name),
        T(test_same_subject_updates_entry),
        T(test_deleted_name_can_be_claimed_again),
        T(test_preprovisioned_bound_by_first_login),
        T(test_preprovisioned_for_other_issuer_refused),
        T(test_refuse_unbinding_a_bound_entry),
        T(test_prune_removes_expired_entries),
        T(test_group_expiry_is_longest_member),
        T(test_repeat_login_costs_no_write),
        T(test_login_after_tenth_of_ttl_refreshes_expiry),
        T(test_changed_identity_rewrites_at_once),
        T(test_group_membership_follows_logins),
        T(test_delete_user_and_emptied_groups),
        T(test_remove_user_absent_is_ok),
        T(test_corrupt_garbage_refused_not_overwritten),
        T(test_corrupt_empty_file_refused),
        T(test_truncated_file_refused),
        T(test_wrong_version_refused),
        T(test_missing_version_refused),
        T(test_verify_reports_inconsistent_records),
        T(test_verify_reports_local_collision),
        T(test_verify_missing_file_is_empty_cache),
        T(test_refuse_group_writable_state_dir),
        T(test_refuse_symlinked_state_dir),
        T(test_refuse_symlinked_cache_file),
        T(test_refuse_relative_state_dir),
        T(test_stale_temp_files_removed),
        T(test_preauth_record),
        T(test_preauth_refuses_home_placeholder),
        T(test_preauth_overrides),
        T(test_override_records_checked),
        T(test_many_users_and_deletes),
        T(test_preprovision_uid_matches_idmap),
        T(test_commit_bumps_serial_to_file_generation),
        T(test_serial_never_ahead_of_file),
        T(test_damaged_serial_repaired),
        T(test_serial_behind_or_ahead_or_missing),
        T(test_symlinked_serial_refused),
        T(test_file_cut_at_record_boundary_refused),
        T(test_commit_writes_four_indexes_verify_clean),
        T(test_index_finds_every_record_of_300_users),
        T(test_file_without_index_rebuilt_by_next_commit),
        T(test_index_of_bad_version_rebuilt_by_next_commit),
        T(test_index_past_records_rebuilt_by_next_commit),
        T(test_index_missing_records_rebuilt_by_next_commit),
        T(test_index_of_unknown_kind_refused),
        T(test_second_index_of_a_kind_refused),
        T(test_second_index_after_a_malformed_one_refused),
        T(test_user_without_provenance_refused),
        T(test_provenance_without_user_refused),
        T(test_second_provenance_record_refused),
        T(test_id_keys_spread_sequential_ids),
        T(test_record_name_check_matches_name_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
