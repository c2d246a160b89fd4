/* Test fixtures: cache files written with the cache_rec.h encoders, laid out (record order and
 * lookup index) by common/cache_layout.c, independently of the real writer (common/cache.c), so
 * the reader's tests control every byte. */
#ifndef OIDC_TEST_FIXTURE_H
#define OIDC_TEST_FIXTURE_H

#include "cache_layout.h"

#include <cdb.h>
#include <stddef.h>
#include <stdint.h>

struct fx {
    struct cdb_make mk;
    int fd;
    char tmp[4096], path[4096];
    int failed;
    int no_gen; /* set after fx_open: no "s" record, and cache.serial is left alone */
    struct oidc_cache_layout lay;
};

struct fx_user {
    const char *name;
    uint32_t uid, gid;
    int64_t expires;
    const char *gecos, *home, *shell;
    const uint32_t *groups; /* supplementary gids (the initgroups record) */
    size_t ngroups;
};

struct fx_group {
    const char *name;
    uint32_t gid;
    int64_t expires;
    const char *const *members;
    size_t nmem;
};

struct fx_preauth {
    uint32_t uid_min, uid_max;
    const char *provider, *home, *shell;
    const char *const *patterns;
    size_t npat;
};

/* Starts path (written to path.tmp, renamed over path by fx_finish). */
int fx_open(struct fx *f, const char *path);
void fx_raw(struct fx *f, const void *key, size_t klen, const void *val, size_t vlen);
/* fx_set_index(0): the files written from now on have no lookup index ("x" records), as files
 * from before it existed; 1 (the default): they have one. */
void fx_set_index(int on);
void fx_version(struct fx *f, const char *version);
void fx_user(struct fx *f, const struct fx_user *u); /* "n", (with groups) "i" after it, "u" */
/* fx_user's records one at a time, for hand-made layouts: the passwd record by name (type "n")
 * or by id ("u"); the initgroups record ("i", nothing when u has no groups) with flags 0 (a
 * record of its own, stored among the types without an index) or OIDC_CACHE_LAYOUT_FOLLOW
 * (right after the record added before it, wherever that one goes). */
void fx_user_pw(struct fx *f, const struct fx_user *u, char type);
void fx_user_ig(struct fx *f, const struct fx_user *u, unsigned flags);
void fx_group(struct fx *f, const struct fx_group *g); /* "g" and "h" */
void fx_preauth(struct fx *f, const struct fx_preauth *p, size_t n);
/* An override record ("o" NAME): n entries (uid, provider). */
struct fx_override {
    uint32_t uid;
    const char *provider;
};
void fx_override(struct fx *f, const char *name, const struct fx_override *o, size_t n);
/* Finishes, fsyncs, sets mode 0644 and renames into place; 0 or -1. Like the writer, the file
 * carries a generation record ("s", one above both cache.serial next to path and the last one
 * this process wrote), and after the rename the generation is stored into cache.serial (created,
 * mode 0644, when missing; its header repaired when damaged) with an atomic store into a shared
 * mapping. fx_set_serial(0) keeps the "s" record but leaves cache.serial alone (and uncreated):
 * a serial that is missing, damaged or untrusted stays so, for the fallback tests. */
int fx_finish(struct fx *f);
void fx_set_serial(int on);
/* cache.serial next to the cache file path: its counter (0 when missing or damaged); storing gen
 * into it as the writer does. */
uint64_t fx_serial_read(const char *cache_path);
int fx_serial_store(const char *cache_path, uint64_t gen);
int fx_serial_path(const char *cache_path, char *out, size_t cap);
/* The generation record of a cache file (0 when it has none). */
uint64_t fx_file_gen(const char *cache_path);

/* The basic fixture of the reader tests and tests/nss/getent.sh (see fixture.c for its
 * content). tag is written into every gecos ("Alice Example tag") so that two versions can be
 * told apart. */
int fx_write_basic(const char *path, const char *tag);
/* The basic fixture's records added to f: fx_write_basic is fx_open, this and fx_finish. */
void fx_basic(struct fx *f, const char *tag);
/* N users u000000.. (uid FX_BULK_UID + i) each in 5 of N/4 groups g000000.. of 20 members
 * (gid FX_BULK_GID + j) plus a private group. */
#define FX_BULK_UID 0x70000000u
#define FX_BULK_GID 0x78000000u
int fx_write_bulk(const char *path, unsigned n);
/* The same data as passwd and group files (for glibc's nss_files as the reference). */
int fx_write_bulk_files(const char *passwd, const char *group, unsigned n);

/* Damaged files for the fault tests: "empty", "truncated", "corrupt" (hash tables overwritten),
 * "badversion", "noversion", "badrecord" (a user record that does not decode), "garbage". The
 * serial is bumped after each (unless fx_set_serial(0)), so running readers look at once. */
int fx_write_damaged(const char *path, const char *how);

/* A cache file read into memory, for tests that edit its bytes in place (the lookup index). */
struct fx_image {
    unsigned char *mem;
    size_t size;
    uint32_t dend; /* where its records end (oidc_cache_records_end; 0: the tables do not fit) */
};
int fx_image_load(const char *path, struct fx_image *img);
/* The record with this key, the first one in file order: 0 with the offsets of the record (its
 * CDB header) and of its value, and the value's length; -1 when there is none. */
int fx_image_find(const struct fx_image *img, const void *key, size_t klen, uint32_t *pos,
                  uint32_t *vpos, uint32_t *vlen);
/* Renames the (edited) image over path and bumps cache.serial (unless fx_set_serial(0)), as
 * fx_write_damaged does; frees the image. 0 or -1. */
int fx_image_store(struct fx_image *img, const char *path);
void fx_image_free(struct fx_image *img);

/* Names of the basic fixture, for the tests. */
#define FX_NAME32      "longname_0123456789abcdefghijklm" /* exactly 32 bytes */
#define FX_NAME33      "longname_0123456789abcdefghijklmn"
#define FX_BIG_MEMBERS 300

#endif
