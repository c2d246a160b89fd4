/* The identity cache file's record order and lookup index, without the writer: the frozen bucket
 * function (common/cache_rec.c), the order oidc_cache_layout_write (common/cache_layout.c) gives
 * the records, the index directory it writes (read back from the finished CDB file), and every
 * refusal of the index primitives, each a named negative test on a file image made by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_layout.h"
#include "cache_rec.h"

#define HDR 2048u /* the CDB header: records start here */

static char path[64];

static int setup(void **st)
{
    int fd;

    (void)st;
    strcpy(path, "/tmp/test_cache_layout.XXXXXX");
    if ((fd = mkstemp(path)) < 0)
        return -1;
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------ the bucket function */

/* These vectors are part of the on-disk format: a file written by one version is looked up by
 * another (the NSS module of a host may be older or newer than the writer), so any change to
 * oidc_cache_index_bucket must fail here. Computed once from the implementation and checked
 * against an independent transcription of the algorithm in cache_rec.c. Keys cover no bytes,
 * one byte, one partial round, exactly one and two 8-byte rounds, a byte >= 0x80 and the longest
 * key (33 bytes: five rounds). */
static void test_bucket_vectors_frozen(void **st)
{
    static const unsigned char uid_key[] = {0x75, 0x01, 0x00, 0x00, 0x70, 0xfb, 0x1e, 0x2f, 0x46};
    static const struct {
        const char *key; /* NULL: uid_key */
        uint32_t b7, b1000, bmax;
    } v[] = {
        {"", 3, 566, 2432201882u},
        {"n", 6, 908, 3900029670u},
        {"nalice", 5, 728, 3129118277u},
        {"nabcdefg", 3, 459, 1975346888u},
        {"galice.smith-01", 2, 410, 1763317454u},
        {"habcdefghijklmno", 4, 701, 3011969586u},
        {"nabcdefghijklmnopqrstuvwxyz012345", 5, 837, 3595289639u},
        {NULL, 2, 326, 1401153222u},
    };
    unsigned char key[OIDC_CACHE_KEY_MAX];
    const unsigned char *k;
    size_t i, kl;

    (void)st;
    /* the id key of uid 0x70000001 is the one in the table */
    assert_int_equal(oidc_cache_key_id(OIDC_CACHE_K_USER_ID, 0x70000001u, key), sizeof(uid_key));
    assert_memory_equal(key, uid_key, sizeof(uid_key));
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        k = v[i].key != NULL ? (const unsigned char *)v[i].key : uid_key;
        kl = v[i].key != NULL ? strlen(v[i].key) : sizeof(uid_key);
        assert_int_equal(oidc_cache_index_bucket(k, kl, 1), 0);
        assert_int_equal(oidc_cache_index_bucket(k, kl, 7), v[i].b7);
        assert_int_equal(oidc_cache_index_bucket(k, kl, 1000), v[i].b1000);
        assert_int_equal(oidc_cache_index_bucket(k, kl, UINT32_MAX), v[i].bmax);
    }
}

static void test_bucket_always_below_nb_and_zero_for_one(void **st)
{
    static const uint32_t nbs[] = {1, 2, 3, 7, 64, 1000, 65536, 100003, 0x80000000u, UINT32_MAX};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    char name[24];
    size_t kl, j;
    uint32_t i, b;

    (void)st;
    for (i = 0; i < 5000; i++) {
        if (i % 2 == 0) {
            snprintf(name, sizeof(name), "user%u", i);
            kl = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, name, key);
        } else {
            kl = oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, 0x70000000u + i, key);
        }
        assert_int_equal(oidc_cache_index_bucket(key, kl, 1), 0);
        for (j = 0; j < sizeof(nbs) / sizeof(nbs[0]); j++) {
            b = oidc_cache_index_bucket(key, kl, nbs[j]);
            if (b >= nbs[j])
                fail_msg("key %u: bucket %u of %u", i, b, nbs[j]);
        }
    }
}

/* ------------------------------------------------------------------ a layout written to a file */

/* The records a test adds, in the order it adds them. Keys are unique, values too. */
struct in_rec {
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t klen, vlen;
    unsigned char val[16];
    unsigned flags;
};

#define IN_MAX 512
static struct in_rec in[IN_MAX];
static size_t nin;

static void in_add(const unsigned char *key, size_t klen, int with_value, unsigned flags)
{
    struct in_rec *r = &in[nin];

    assert_true(nin < IN_MAX && klen > 0 && klen <= sizeof(r->key));
    memcpy(r->key, key, klen);
    r->klen = klen;
    r->vlen = with_value ? (size_t)snprintf((char *)r->val, sizeof(r->val), "value %zu", nin) : 0;
    r->flags = flags;
    nin++;
}

static void in_name(char type, const char *name, unsigned flags)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];

    in_add(key, oidc_cache_key_name(type, name, key), 1, flags);
}

static void in_id(char type, uint32_t id)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];

    in_add(key, oidc_cache_key_id(type, id, key), 1, 0);
}

/* Records shaped like the writer's: a version and a generation record, per user "n" followed by
 * its "i", then "u", "m", "g" and "h"; some shared groups; a preauth record with an empty value.
 * User 3's "n" has a second follower (its "m"). */
static void in_fill(size_t users)
{
    static const unsigned char version = OIDC_CACHE_K_VERSION, serial = OIDC_CACHE_K_SERIAL,
                               preauth = OIDC_CACHE_K_PREAUTH;
    char name[16];
    size_t i;

    nin = 0;
    in_add(&version, 1, 1, 0);
    in_add(&serial, 1, 1, 0);
    for (i = 0; i < users; i++) {
        snprintf(name, sizeof(name), "user%02zu", i);
        in_name(OIDC_CACHE_K_USER_NAME, name, 0);
        in_name(OIDC_CACHE_K_INITGROUPS, name, OIDC_CACHE_LAYOUT_FOLLOW);
        if (i == 3)
            in_name(OIDC_CACHE_K_META, name, OIDC_CACHE_LAYOUT_FOLLOW);
        in_id(OIDC_CACHE_K_USER_ID, 0x70000000u + (uint32_t)i);
        if (i != 3)
            in_name(OIDC_CACHE_K_META, name, 0);
        in_name(OIDC_CACHE_K_GROUP_NAME, name, 0);
        in_id(OIDC_CACHE_K_GROUP_ID, 0x70000000u + (uint32_t)i);
    }
    for (i = 0; i < users / 4; i++) {
        snprintf(name, sizeof(name), "team%02zu", i);
        in_name(OIDC_CACHE_K_GROUP_NAME, name, 0);
        in_id(OIDC_CACHE_K_GROUP_ID, 0x71000000u + (uint32_t)i);
    }
    in_add(&preauth, 1, 0, 0);
}

static int indexed(unsigned char type)
{
    return type != '\0' && strchr(OIDC_CACHE_INDEXED, type) != NULL;
}

/* A follower is written after the record added before it; the first record has none to follow,
 * and a record of an indexed type always goes into its own bucket. */
static int in_follows(size_t i)
{
    return i > 0 && (in[i].flags & OIDC_CACHE_LAYOUT_FOLLOW) != 0 && !indexed(in[i].key[0]);
}

static size_t in_heads(unsigned char type)
{
    size_t i, n = 0;

    for (i = 0; i < nin; i++)
        n += !in_follows(i) && in[i].key[0] == type;
    return n;
}

/* The finished file, mapped by tinycdb: its image (mem) and where its records end (dend). */
static struct cdb db;
static int dbfd = -1;
static const unsigned char *mem;
static uint32_t dend;

static void db_close(void)
{
    if (dbfd >= 0) {
        cdb_free(&db);
        close(dbfd);
        dbfd = -1;
    }
}

static int teardown(void **st)
{
    (void)st;
    db_close();
    return unlink(path);
}

/* Adds the records of in[] to a layout, writes it as a CDB file at path and maps the file. */
static void write_and_map(int no_index)
{
    struct oidc_cache_layout l;
    struct cdb_make m;
    struct stat s;
    size_t i;
    int fd = open(path, O_RDWR | O_TRUNC);

    assert_true(fd >= 0);
    oidc_cache_layout_init(&l);
    l.no_index = no_index;
    for (i = 0; i < nin; i++)
        assert_int_equal(
            oidc_cache_layout_add(&l, in[i].key, in[i].klen, in[i].val, in[i].vlen, in[i].flags),
            0);
    assert_int_equal(cdb_make_start(&m, fd), 0);
    assert_int_equal(oidc_cache_layout_write(&l, &m), 0);
    assert_int_equal(cdb_make_finish(&m), 0);
    oidc_cache_layout_free(&l);
    close(fd);
    dbfd = open(path, O_RDONLY);
    assert_true(dbfd >= 0);
    assert_int_equal(cdb_init(&db, dbfd), 0);
    assert_int_equal(fstat(dbfd, &s), 0);
    mem = cdb_get(&db, HDR, 0);
    assert_non_null(mem);
    dend = oidc_cache_records_end(mem, (uint64_t)s.st_size);
    assert_true(dend >= HDR);
}

/* The index record of type t (through the CDB hash tables), decoded. */
static void index_of(unsigned char t, struct oidc_cache_index *ix)
{
    const unsigned char key[2] = {OIDC_CACHE_K_INDEX, t};
    unsigned len;

    assert_int_equal(cdb_find(&db, key, 2), 1);
    len = cdb_datalen(&db);
    assert_int_equal(oidc_cache_index_decode(cdb_get(&db, len, cdb_datapos(&db)), len, ix), 0);
    assert_int_equal(oidc_cache_index_check(ix, dend), 0);
}

static uint32_t dir_at(const struct oidc_cache_index *ix, uint32_t b)
{
    return oidc_cache_get_u32(ix->dir + 4 * (size_t)b);
}

/* The file's records in file order, each with the in[] entry it came from (NONE: not one of
 * them, an index record). */
#define NONE SIZE_MAX
struct wrec {
    uint32_t pos, klen, vlen;
    const unsigned char *key, *val;
    size_t in;
};
static struct wrec w[IN_MAX + 8];

static size_t walk(void)
{
    static unsigned char seen[IN_MAX];
    uint32_t pos = HDR;
    size_t n = 0, i;

    memset(seen, 0, sizeof(seen));
    while (pos < dend) {
        struct wrec *r = &w[n];

        assert_true(n < sizeof(w) / sizeof(w[0]));
        assert_int_equal(oidc_cache_record_at(mem, dend, pos, &r->key, &r->klen, &r->val, &r->vlen),
                         0);
        r->pos = pos;
        r->in = NONE;
        for (i = 0; i < nin; i++)
            if (in[i].klen == r->klen && memcmp(in[i].key, r->key, r->klen) == 0) {
                assert_false(seen[i]);
                seen[i] = 1;
                assert_int_equal(r->vlen, in[i].vlen);
                assert_memory_equal(r->val, in[i].val, in[i].vlen);
                r->in = i;
            }
        pos += 8 + r->klen + r->vlen;
        n++;
    }
    assert_int_equal(pos, dend); /* the last record ends where the hash tables begin */
    for (i = 0; i < nin; i++)
        assert_true(seen[i]);
    return n;
}

/* w[*j] on are in[i] and its followers, in the order they were added. */
static void expect_unit(size_t i, size_t *j)
{
    do
        assert_int_equal(w[(*j)++].in, i++);
    while (i < nin && in_follows(i));
}

/* The order layout_write promises. First the records of the types without an index, in the order
 * they were added. Then for each indexed type its heads grouped by bucket, buckets ascending, the
 * order they were added within a bucket, each head directly followed by its followers; then the
 * type's index record, whose directory entry b is the offset of bucket b's first record (the next
 * bucket's, or the index record's, when b is empty). Without an index every head is in "bucket
 * 0" and no index record follows. Returns how many heads of "n" share their bucket with the head
 * before them. */
static size_t check_order(int with_index)
{
    size_t n = walk(), j = 0, i, heads, prev, shared = 0;
    struct oidc_cache_index ix = {NULL, 1};
    uint32_t b, prevb, nextdir;
    const char *t;

    for (i = 0; i < nin; i++)
        if (!in_follows(i) && !indexed(in[i].key[0]))
            expect_unit(i, &j);
    for (t = OIDC_CACHE_INDEXED; *t != '\0'; t++) {
        if (with_index)
            index_of((unsigned char)*t, &ix);
        heads = 0;
        prev = 0;
        prevb = nextdir = 0;
        while (j < n && w[j].in != NONE && !in_follows(w[j].in) && w[j].key[0] == *t) {
            i = w[j].in;
            b = oidc_cache_index_bucket(in[i].key, in[i].klen, ix.nb);
            if (heads > 0) {
                assert_true(b >= prevb);
                if (b == prevb) {
                    assert_true(i > prev);
                    shared += *t == OIDC_CACHE_K_USER_NAME;
                }
            }
            for (; with_index && nextdir <= b; nextdir++)
                assert_int_equal(dir_at(&ix, nextdir), w[j].pos);
            prevb = b;
            prev = i;
            heads++;
            expect_unit(i, &j);
        }
        assert_int_equal(heads, in_heads((unsigned char)*t));
        if (!with_index)
            continue;
        assert_int_equal(ix.nb, heads > 0 ? heads : 1); /* about one record a bucket */
        assert_true(j < n);
        assert_int_equal(w[j].klen, 2);
        assert_int_equal(w[j].key[0], OIDC_CACHE_K_INDEX);
        assert_int_equal(w[j].key[1], *t);
        assert_ptr_equal(w[j].val + 8, ix.dir); /* the record the hash tables give */
        for (; nextdir <= ix.nb; nextdir++)
            assert_int_equal(dir_at(&ix, nextdir), w[j].pos);
        j++;
    }
    assert_int_equal(j, n);
    return shared;
}

static void test_layout_order_and_directory(void **st)
{
    struct oidc_cache_index ix;
    uint32_t b, empty = 0;

    (void)st;
    in_fill(40);
    write_and_map(0);
    /* the data exercises grouping: a bucket with two heads or more, and an empty one */
    assert_true(check_order(1) > 0);
    index_of(OIDC_CACHE_K_USER_NAME, &ix);
    for (b = 0; b < ix.nb; b++)
        empty += dir_at(&ix, b) == dir_at(&ix, b + 1);
    assert_true(empty > 0);
}

/* Through the index, every head of an indexed type is found as the very value bytes of its
 * record, *next is where the record ends (a user's "i" record starts there), and keys that are
 * not in the file are not found. */
static void test_index_find_every_record(void **st)
{
    struct oidc_cache_index ix[sizeof(OIDC_CACHE_INDEXED) - 1];
    unsigned char key[OIDC_CACHE_KEY_MAX];
    const unsigned char *val, *k2, *v2;
    uint32_t vlen, next, kl2, vl2;
    size_t n, j, t, found = 0;

    (void)st;
    in_fill(40);
    write_and_map(0);
    n = walk();
    for (t = 0; t < sizeof(ix) / sizeof(ix[0]); t++)
        index_of((unsigned char)OIDC_CACHE_INDEXED[t], &ix[t]);
    for (j = 0; j < n; j++) {
        const struct wrec *r = &w[j];

        if (r->in == NONE || in_follows(r->in) || !indexed(r->key[0]))
            continue;
        t = (size_t)(strchr(OIDC_CACHE_INDEXED, r->key[0]) - OIDC_CACHE_INDEXED);
        assert_int_equal(
            oidc_cache_index_find(&ix[t], mem, dend, r->key, r->klen, &val, &vlen, &next), 1);
        assert_ptr_equal(val, r->val);
        assert_int_equal(vlen, r->vlen);
        assert_int_equal(next, r->pos + 8 + r->klen + r->vlen);
        if (r->key[0] == OIDC_CACHE_K_USER_NAME) {
            assert_int_equal(oidc_cache_record_at(mem, dend, next, &k2, &kl2, &v2, &vl2), 0);
            assert_int_equal(k2[0], OIDC_CACHE_K_INITGROUPS);
            assert_int_equal(kl2, r->klen);
            assert_memory_equal(k2 + 1, r->key + 1, r->klen - 1);
        }
        found++;
    }
    assert_int_equal(found, 40 * 4 + 10 * 2);
    n = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, "nobody", key);
    assert_int_equal(oidc_cache_index_find(&ix[0], mem, dend, key, n, &val, &vlen, &next), 0);
    n = oidc_cache_key_id(OIDC_CACHE_K_USER_ID, 0x70000000u + 40, key);
    assert_int_equal(oidc_cache_index_find(&ix[1], mem, dend, key, n, &val, &vlen, &next), 0);
    n = oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, "team99", key);
    assert_int_equal(oidc_cache_index_find(&ix[2], mem, dend, key, n, &val, &vlen, &next), 0);
    n = oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, 0x71000000u + 10, key);
    assert_int_equal(oidc_cache_index_find(&ix[3], mem, dend, key, n, &val, &vlen, &next), 0);
    /* an "i" record sits among the "n" records but is not in the index */
    n = oidc_cache_key_name(OIDC_CACHE_K_INITGROUPS, "user00", key);
    assert_int_equal(oidc_cache_index_find(&ix[0], mem, dend, key, n, &val, &vlen, &next), 0);
}

/* A type without records still gets an index: one empty bucket. A FOLLOW flag on the first
 * record has nothing to follow: that record is a head like any other. */
static void test_type_without_records_gets_one_empty_bucket(void **st)
{
    struct oidc_cache_index ix;
    unsigned char key[OIDC_CACHE_KEY_MAX];
    const unsigned char *val;
    uint32_t vlen, next;
    size_t kl;
    const char *t;

    (void)st;
    nin = 0;
    in_name(OIDC_CACHE_K_USER_NAME, "solo", OIDC_CACHE_LAYOUT_FOLLOW);
    write_and_map(0);
    check_order(1);
    for (t = &OIDC_CACHE_INDEXED[1]; *t != '\0'; t++) { /* "u", "g", "h": none */
        index_of((unsigned char)*t, &ix);
        assert_int_equal(ix.nb, 1);
        assert_int_equal(dir_at(&ix, 0), dir_at(&ix, 1));
        kl = oidc_cache_key_name(*t, "solo", key);
        assert_int_equal(oidc_cache_index_find(&ix, mem, dend, key, kl, &val, &vlen, &next), 0);
    }
    index_of(OIDC_CACHE_K_USER_NAME, &ix);
    kl = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, "solo", key);
    assert_int_equal(oidc_cache_index_find(&ix, mem, dend, key, kl, &val, &vlen, &next), 1);
    assert_memory_equal(val, in[0].val, in[0].vlen);
}

/* FOLLOW on a record of an indexed type is ignored: placed after its head, outside its own
 * type's buckets, the index would miss it while the hash tables found it. */
static void test_follow_ignored_for_indexed_types(void **st)
{
    struct oidc_cache_index ix;
    unsigned char key[OIDC_CACHE_KEY_MAX];
    const unsigned char *val;
    uint32_t vlen, next;
    size_t kl;

    (void)st;
    nin = 0;
    in_name(OIDC_CACHE_K_USER_NAME, "ann", 0);
    kl = oidc_cache_key_id(OIDC_CACHE_K_USER_ID, 0x70000001u, key);
    in_add(key, kl, 1, OIDC_CACHE_LAYOUT_FOLLOW);
    write_and_map(0);
    check_order(1);
    index_of(OIDC_CACHE_K_USER_ID, &ix);
    assert_int_equal(oidc_cache_index_find(&ix, mem, dend, key, kl, &val, &vlen, &next), 1);
    assert_memory_equal(val, in[1].val, in[1].vlen);
}

/* no_index (for tests of readers without one): the same records, grouped the same way, and no
 * "x" record; every record is still in the hash tables. */
static void test_no_index_writes_no_index_records(void **st)
{
    size_t n, j;

    (void)st;
    in_fill(40);
    write_and_map(1);
    check_order(0);
    n = walk();
    assert_int_equal(n, nin);
    for (j = 0; j < n; j++) {
        assert_int_not_equal(w[j].key[0], OIDC_CACHE_K_INDEX);
        assert_int_equal(cdb_find(&db, w[j].key, w[j].klen), 1);
        assert_int_equal(cdb_datapos(&db), w[j].pos + 8 + w[j].klen);
    }
    assert_int_equal(cdb_find(&db, "xn", 2), 0);
}

/* ------------------------------------------------------------------ images made by hand */

/* An index record: version, nb and nb + 1 directory entries. */
static size_t index_rec(unsigned char *p, uint32_t version, uint32_t nb, const uint32_t *dir)
{
    uint32_t b;

    oidc_cache_put_u32(p, version);
    oidc_cache_put_u32(p + 4, nb);
    for (b = 0; b <= nb; b++)
        oidc_cache_put_u32(p + 8 + 4 * (size_t)b, dir[b]);
    return 8 + 4 * ((size_t)nb + 1);
}

static void test_index_decode_refuses_malformed_records(void **st)
{
    static const uint32_t dir[4] = {2048, 2100, 2100, 2200};
    unsigned char rec[32] = {0};
    struct oidc_cache_index ix = {NULL, 0};
    size_t len = index_rec(rec, OIDC_CACHE_INDEX_VERSION, 2, dir);

    (void)st;
    assert_int_equal(len, 20);
    assert_int_equal(oidc_cache_index_decode(rec, len, &ix), 0);
    assert_ptr_equal(ix.dir, rec + 8);
    assert_int_equal(ix.nb, 2);
    ix.nb = 0;
    assert_int_equal(oidc_cache_index_decode(rec, 11, &ix), -1);      /* shorter than one entry */
    assert_int_equal(oidc_cache_index_decode(rec, len - 4, &ix), -1); /* nb 2, two entries */
    assert_int_equal(oidc_cache_index_decode(rec, len + 1, &ix), -1);
    assert_int_equal(oidc_cache_index_decode(rec, len + 4, &ix), -1); /* nb 2, four entries */
    oidc_cache_put_u32(rec + 4, 0x40000000u); /* 8 + 4 * (2^30 + 1) is not 12 (mod 2^32) */
    assert_int_equal(oidc_cache_index_decode(rec, 12, &ix), -1);
    index_rec(rec, 0, 2, dir);
    assert_int_equal(oidc_cache_index_decode(rec, len, &ix), -1);
    index_rec(rec, OIDC_CACHE_INDEX_VERSION + 1, 2, dir);
    assert_int_equal(oidc_cache_index_decode(rec, len, &ix), -1);
    /* nb 0 with one entry: the length would fit, nb does not */
    assert_int_equal(index_rec(rec, OIDC_CACHE_INDEX_VERSION, 0, dir), 12);
    assert_int_equal(oidc_cache_index_decode(rec, 12, &ix), -1);
    assert_int_equal(ix.nb, 0); /* untouched by every refusal */
}

/* One directory after another, each checked against records ending at 2200. */
static int check_dir(uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3)
{
    const uint32_t dir[4] = {d0, d1, d2, d3};
    unsigned char rec[24];
    struct oidc_cache_index ix;

    assert_int_equal(index_rec(rec, OIDC_CACHE_INDEX_VERSION, 3, dir), sizeof(rec));
    assert_int_equal(oidc_cache_index_decode(rec, sizeof(rec), &ix), 0);
    return oidc_cache_index_check(&ix, 2200);
}

static void test_index_check_refuses_bad_directories(void **st)
{
    (void)st;
    assert_int_equal(check_dir(2048, 2048, 2100, 2200), 0);  /* an empty bucket; dir[nb] == dend */
    assert_int_equal(check_dir(2048, 2100, 2090, 2200), -1); /* decreasing */
    assert_int_equal(check_dir(2047, 2100, 2150, 2200), -1); /* dir[0] in the header */
    assert_int_equal(check_dir(2048, 2100, 2150, 2201), -1); /* dir[nb] past the records */
}

/* A file image of records only (nothing at the header's place): nrec records "nk00", "nk01"...,
 * one bucket holding them all. */
static unsigned char img[HDR + 80 * 32];
static uint32_t img_end;

static void img_key(unsigned char *key, unsigned i)
{
    snprintf((char *)key, 5, "nk%02u", i);
}

static void img_build(unsigned nrec, struct oidc_cache_index *ix, unsigned char *rec)
{
    uint32_t dir[2];
    unsigned i;

    memset(img, 0, sizeof(img));
    img_end = HDR;
    for (i = 0; i < nrec; i++) {
        assert_true(img_end + 8 + 4 + 6 <= sizeof(img));
        oidc_cache_put_u32(img + img_end, 4);
        oidc_cache_put_u32(img + img_end + 4, 6);
        img_key(img + img_end + 8, i);
        memcpy(img + img_end + 12, "value", 6);
        img_end += 8 + 4 + 6;
    }
    dir[0] = HDR;
    dir[1] = img_end;
    index_rec(rec, OIDC_CACHE_INDEX_VERSION, 1, dir);
    assert_int_equal(oidc_cache_index_decode(rec, 16, ix), 0);
}

static int img_find(const struct oidc_cache_index *ix, unsigned i, uint32_t end)
{
    unsigned char key[8];
    const unsigned char *val;
    uint32_t vlen, next;

    img_key(key, i);
    return oidc_cache_index_find(ix, img, end, key, 4, &val, &vlen, &next);
}

static void test_index_find_refuses_bounds_outside_file(void **st)
{
    unsigned char rec[16];
    struct oidc_cache_index ix;

    (void)st;
    img_build(3, &ix, rec);
    assert_int_equal(img_find(&ix, 2, img_end), 1);
    assert_int_equal(img_find(&ix, 3, img_end), 0);
    oidc_cache_put_u32(rec + 8, HDR - 1); /* the bucket starts in the header */
    assert_int_equal(img_find(&ix, 2, img_end), -1);
    oidc_cache_put_u32(rec + 8, HDR);
    assert_int_equal(img_find(&ix, 2, img_end - 1), -1); /* it ends past the records */
    oidc_cache_put_u32(rec + 8, img_end);
    oidc_cache_put_u32(rec + 12, HDR); /* it ends before it starts */
    assert_int_equal(img_find(&ix, 2, img_end), -1);
}

static void test_index_find_refuses_record_past_bucket_end(void **st)
{
    unsigned char rec[16];
    struct oidc_cache_index ix;

    (void)st;
    img_build(3, &ix, rec);
    oidc_cache_put_u32(rec + 12, img_end - 1);      /* the last record runs one byte past it */
    assert_int_equal(img_find(&ix, 0, img_end), 1); /* found before the walk reaches it */
    assert_int_equal(img_find(&ix, 2, img_end), -1);
    oidc_cache_put_u32(rec + 12, img_end);
    oidc_cache_put_u32(img + HDR + 18, 0x7fffffffu); /* the second record's key length */
    assert_int_equal(img_find(&ix, 2, img_end), -1);
}

/* A bucket of 70 records: the walk reads OIDC_CACHE_INDEX_WALK_MAX of them, then gives the lookup
 * to the hash tables (-2), for a key beyond them and for an absent one alike. */
static void test_index_find_gives_up_on_overlong_bucket(void **st)
{
    unsigned char rec[16];
    struct oidc_cache_index ix;

    (void)st;
    assert_true(OIDC_CACHE_INDEX_WALK_MAX < 70);
    img_build(70, &ix, rec);
    assert_int_equal(img_find(&ix, 0, img_end), 1);
    assert_int_equal(img_find(&ix, OIDC_CACHE_INDEX_WALK_MAX - 1, img_end), 1);
    assert_int_equal(img_find(&ix, OIDC_CACHE_INDEX_WALK_MAX, img_end), -2);
    assert_int_equal(img_find(&ix, 69, img_end), -2);
    assert_int_equal(img_find(&ix, 70, img_end), -2); /* absent */
}

static void test_record_at_refuses_out_of_range(void **st)
{
    unsigned char rec[16];
    struct oidc_cache_index ix;
    const unsigned char *k, *v;
    uint32_t kl, vl, second = HDR + 18;

    (void)st;
    img_build(2, &ix, rec);
    assert_int_equal(oidc_cache_record_at(img, img_end, second, &k, &kl, &v, &vl), 0);
    assert_ptr_equal(k, img + second + 8);
    assert_int_equal(kl, 4);
    assert_ptr_equal(v, img + second + 12);
    assert_int_equal(vl, 6);
    assert_int_equal(oidc_cache_record_at(img, img_end, HDR - 1, &k, &kl, &v, &vl), -1);
    assert_int_equal(oidc_cache_record_at(img, img_end, img_end, &k, &kl, &v, &vl), -1);
    assert_int_equal(oidc_cache_record_at(img, img_end, img_end - 7, &k, &kl, &v, &vl), -1);
    assert_int_equal(oidc_cache_record_at(img, img_end - 1, second, &k, &kl, &v, &vl), -1);
    oidc_cache_put_u32(img + second, 11); /* the key takes the value's place and one byte more */
    assert_int_equal(oidc_cache_record_at(img, img_end, second, &k, &kl, &v, &vl), -1);
    oidc_cache_put_u32(img + second, UINT32_MAX);
    assert_int_equal(oidc_cache_record_at(img, img_end, second, &k, &kl, &v, &vl), -1);
    oidc_cache_put_u32(img + second, 4);
    oidc_cache_put_u32(img + second + 4, UINT32_MAX - 3); /* kl + vl wraps to 0 */
    assert_int_equal(oidc_cache_record_at(img, img_end, second, &k, &kl, &v, &vl), -1);
}

/* records_end reads the 256 (position, slots) pairs of a CDB header. */
static void header_tables(unsigned char *h, uint32_t pos, uint32_t slots)
{
    unsigned i;

    for (i = 0; i < 256; i++) {
        oidc_cache_put_u32(h + 8 * i, pos + 16 * i);
        oidc_cache_put_u32(h + 8 * i + 4, slots);
    }
}

static void test_records_end_refuses_tables_outside_file(void **st)
{
    static unsigned char h[HDR];
    const uint64_t size = 3000 + 16 * 255 + 16; /* the last table ends at the end of the file */

    (void)st;
    header_tables(h, 3000, 2);
    assert_int_equal(oidc_cache_records_end(h, size), 3000);
    oidc_cache_put_u32(h + 8 * 200, 2900); /* the lowest need not be the first */
    assert_int_equal(oidc_cache_records_end(h, size), 2900);
    assert_int_equal(oidc_cache_records_end(h, HDR - 1), 0);  /* no room for the header */
    assert_int_equal(oidc_cache_records_end(h, size - 1), 0); /* the last table runs past it */
    header_tables(h, 3000, 2);
    oidc_cache_put_u32(h + 8 * 7, HDR - 8); /* a table in the header */
    assert_int_equal(oidc_cache_records_end(h, size), 0);
    header_tables(h, 3000, 2);
    oidc_cache_put_u32(h + 8 * 255, (uint32_t)size + 1); /* a table past the end */
    oidc_cache_put_u32(h + 8 * 255 + 4, 0);
    assert_int_equal(oidc_cache_records_end(h, size), 0);
    oidc_cache_put_u32(h + 8 * 255, (uint32_t)size); /* an empty one right at the end is fine */
    assert_int_equal(oidc_cache_records_end(h, size), 3000);
    oidc_cache_put_u32(h + 8 * 255 + 4, 0x20000000u); /* slots * 8 past the end, not wrapped */
    assert_int_equal(oidc_cache_records_end(h, size), 0);
}

/* ------------------------------------------------------------------ layout_add failures */

/* A failed layout refuses every later record and the write, which adds nothing to the file. */
static void expect_write_refused(struct oidc_cache_layout *l)
{
    struct cdb_make m;
    int fd = open(path, O_RDWR | O_TRUNC);

    assert_true(fd >= 0);
    assert_int_equal(l->failed, 1);
    assert_int_equal(oidc_cache_layout_add(l, "V", 1, "v", 1, 0), -1);
    assert_int_equal(cdb_make_start(&m, fd), 0);
    errno = 0;
    assert_int_equal(oidc_cache_layout_write(l, &m), -1);
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(cdb_make_finish(&m), 0);
    close(fd);
    oidc_cache_layout_free(l);
    dbfd = open(path, O_RDONLY);
    assert_true(dbfd >= 0);
    assert_int_equal(cdb_init(&db, dbfd), 0);
    assert_int_equal(cdb_find(&db, "nalice", 6), 0);
    assert_int_equal(cdb_find(&db, "V", 1), 0);
}

/* Allocation failure cannot be provoked here without wrapping malloc; it sets the same flag as
 * the record too large for a CDB file, which can. */
static void test_layout_add_refuses_oversized_record(void **st)
{
    static const unsigned char k[] = "nalice";
    struct oidc_cache_layout l;

    (void)st;
    oidc_cache_layout_init(&l);
    assert_int_equal(oidc_cache_layout_add(&l, k, 6, "v", 1, 0), 0);
    assert_int_equal(oidc_cache_layout_add(&l, k, (size_t)UINT32_MAX - 7, "v", 1, 0), -1);
    assert_int_equal(l.n, 1); /* nothing added */
    expect_write_refused(&l);
    db_close();
    oidc_cache_layout_init(&l);
    assert_int_equal(oidc_cache_layout_add(&l, k, 6, "v", (size_t)UINT32_MAX - 8 - 5, 0), -1);
    assert_int_equal(l.n, 0);
    expect_write_refused(&l);
}

static void test_layout_write_refuses_failed_layout(void **st)
{
    struct oidc_cache_layout l;

    (void)st;
    oidc_cache_layout_init(&l);
    assert_int_equal(oidc_cache_layout_add(&l, "nalice", 6, "v", 1, 0), 0);
    l.failed = 1; /* as an allocation failure leaves it */
    assert_int_equal(oidc_cache_layout_add(&l, "ubob", 4, "v", 1, 0), -1);
    assert_int_equal(l.n, 1);
    expect_write_refused(&l);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_bucket_vectors_frozen),
        T(test_bucket_always_below_nb_and_zero_for_one),
        T(test_layout_order_and_directory),
        T(test_index_find_every_record),
        T(test_type_without_records_gets_one_empty_bucket),
        T(test_follow_ignored_for_indexed_types),
        T(test_no_index_writes_no_index_records),
        T(test_index_decode_refuses_malformed_records),
        T(test_index_check_refuses_bad_directories),
        T(test_index_find_refuses_bounds_outside_file),
        T(test_index_find_refuses_record_past_bucket_end),
        T(test_index_find_gives_up_on_overlong_bucket),
        T(test_record_at_refuses_out_of_range),
        T(test_records_end_refuses_tables_outside_file),
        T(test_layout_add_refuses_oversized_record),
        T(test_layout_write_refuses_failed_layout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
