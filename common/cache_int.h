/* What the files of the identity cache writer share (common/cache*.c; the interface is cache.h,
 * the records cache_rec.h, the rules docs/cache.md): struct oidc_cache and its hash indexes, the
 * index audit that loading and verify both run, and the functions one file of the writer calls in
 * another. Private to those files: nothing outside common/cache*.c includes it, and the NSS
 * module's reader (cache_read.c) does not depend on it. */
#ifndef OIDC_CACHE_INT_H
#define OIDC_CACHE_INT_H

#include "cache.h"
#include "cache_layout.h"
#include "cache_rec.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cdb;

#define TMP_PREFIX     OIDC_CACHE_FILE "."
#define TMP_SUFFIX_LEN 6
#define CACHE_FILE_MAX ((off_t)0x7FFFFFFF)

struct oidc_cache;

/* Open addressing, linear probing, backward-shift deletion. A slot holds 32 bits of the key's
 * hash (its home slot and a filter that spares most key comparisons) and the item index + 1. */
struct slot {
    uint32_t h, item;
};
struct htab {
    struct slot *slot;
    size_t mask, n; /* mask = capacity - 1 (a power of two) or 0 before the first insert */
};

struct grp {
    char name[OIDC_NAME_MAX + 1];
    uint32_t gid;
    uint32_t nref; /* cached users holding the group */
};

struct view { /* users in name order, for oidc_cache_at(); rebuilt after a change */
    const struct oidc_cache_user **sorted;
    size_t n;
    int valid;
};

struct oidc_cache {
    char *dir;
    int dirfd, lockfd;
    struct oidc_idmap_env env;
    int has_env;
    int64_t now;
    struct oidc_cache_user **users;
    size_t n_users, cap_users;
    struct grp *groups;
    size_t n_groups, cap_groups;
    struct htab u_name, u_id, g_name, g_id;
    struct oidc_cache_buf preauth; /* the "p" record; len 0 = none */
    int has_preauth;
    /* the "o" records, back to back as (name\0, u32 len, record) in name order; len 0 = none */
    struct oidc_cache_buf overrides;
    struct oidc_localdb *local; /* loaded on first use */
    struct view *view;
    int dirty;
    int readonly;      /* oidc_cache_load(): no lock, commit refuses */
    uint64_t file_gen; /* the "s" record of the loaded file (0: none) */
    int no_provenance; /* a read-only load that may not read provenance.cdb (not root) */
};

/* The check of the lookup indexes, by the loader and by verify, in the same pass as their record
 * walk: each index must decode and have a sane shape (oidc_cache_index_check), every directory
 * entry must be a record boundary (or the end of the records), and every indexed record must lie
 * in its bucket's range. Then a lookup through the index finds each record (its walk from dir[b]
 * steps over whole records to it), which the NSS module relies on: a record its index misses is
 * "not found" there. The loader has a file that fails (or has no index) rebuilt, with a new
 * index, by the next commit: the index is derived data, so this is not corruption. */
#define N_INDEXED (sizeof(OIDC_CACHE_INDEXED) - 1)
enum { IX_OK, IX_ABSENT, IX_MALFORMED };
struct index_audit {
    struct oidc_cache_index ix[N_INDEXED]; /* nb 0: none, or not usable */
    int state[N_INDEXED];                  /* IX_* */
    uint32_t next[N_INDEXED];              /* the first entry not yet seen as a boundary */
    size_t misses[N_INDEXED];              /* records outside their bucket */
    unsigned seen;                         /* the "x" records walked, a bit per type */
    int unchecked;                         /* the hash tables do not fit: nothing checked */
};

static inline const char *nz(const char *s)
{
    return s != NULL ? s : "";
}

/* cache_table.c: the users, groups and their hash indexes in memory. */
uint64_t oidc_cache_mix64(uint64_t x);
void oidc_cache_ht_free(struct htab *t);
long oidc_cache_lookup_user(const struct oidc_cache *c, const char *name);
long oidc_cache_lookup_uid(const struct oidc_cache *c, uint32_t uid);
long oidc_cache_lookup_group(const struct oidc_cache *c, const char *name);
long oidc_cache_lookup_gid(const struct oidc_cache *c, uint32_t gid);
void oidc_cache_user_free(struct oidc_cache_user *u);
int oidc_cache_cmp_group_name(const void *a, const void *b);
struct oidc_cache_user *oidc_cache_user_dup(const struct oidc_cache_user *s);
void oidc_cache_view_invalidate(struct oidc_cache *c);
int oidc_cache_view_build(const struct oidc_cache *c);
int oidc_cache_group_ref(struct oidc_cache *c, const char *name, uint32_t gid);
void oidc_cache_group_unref(struct oidc_cache *c, const char *name);
int oidc_cache_user_add(struct oidc_cache *c, struct oidc_cache_user *u);
void oidc_cache_user_remove(struct oidc_cache *c, uint32_t i);

/* cache_dir.c: the state directory, its lock and the temporary files. */
int oidc_cache_dir_check(int dirfd, const char *dir, struct oidc_err *err);
int oidc_cache_dir_open(const char *dir, int *out, struct oidc_err *err);
int oidc_cache_dir_lock(struct oidc_cache *c, struct oidc_err *err);
void oidc_cache_dir_clean_tmp(struct oidc_cache *c);
int oidc_cache_dir_create_tmp(struct oidc_cache *c, char name[sizeof(TMP_PREFIX) + TMP_SUFFIX_LEN],
                              struct oidc_err *err);

/* cache_load.c: reading cache.cdb, the provenance.cdb join and the index audit (also used by
 * cache_verify.c). */
int oidc_cache_cdb_layout_ok(const struct cdb *db, off_t fsize, unsigned records_end);
void oidc_cache_audit_start(struct index_audit *a, struct cdb *db);
void oidc_cache_audit_record(struct index_audit *a, const unsigned char *key, unsigned klen,
                             uint32_t at);
int oidc_cache_audit_finish(struct index_audit *a, uint32_t end);
int oidc_cache_prov_head(struct cdb *db, uint64_t *gen);
int oidc_cache_prov_decode(const unsigned char *rec, unsigned len, struct oidc_cache_meta *m);
int oidc_cache_load_provenance(struct oidc_cache *c, struct oidc_err *err);
int oidc_cache_load_file(struct oidc_cache *c, int fd, struct oidc_err *err);

/* cache_rules.c: the rules for a new or changed user (oidc_cache_upsert_drops). */
int oidc_cache_has_ctl(const char *s);
int oidc_cache_need_local(struct oidc_cache *c, struct oidc_err *err);
int oidc_cache_group_name_taken(struct oidc_cache *c, const char *user, const struct oidc_group *g,
                                struct oidc_cache_drops *drops);
int oidc_cache_report_evictions(struct oidc_cache *c, const char *name, long g,
                                struct oidc_cache_drops *drops, struct oidc_err *err);

/* cache.c */
int oidc_cache_preauth_home_ok(const char *tmpl);

#endif
