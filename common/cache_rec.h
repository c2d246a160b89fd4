/* The identity cache's on-disk records: what the writer (cache.c) stores and what the NSS module
 * (via cache_read.c) reads. libc only, so libnss_oidc.so.2 can link it.
 *
 * The cache is one CDB file (tinycdb), STATEDIR/cache.cdb, replaced as a whole by rename(2), plus
 * a small companion file, STATEDIR/cache.serial (below), that tells readers without a system call
 * whether the file they mapped is still the newest.
 * Keys are one type byte followed by a payload; values are the records below. Integers are
 * little-endian and fixed width; strings are NUL-terminated and every record is checked against
 * its length before anything is read (a short or malformed record is "corrupt", never read past).
 *
 *   key                      value
 *   "V"                      OIDC_CACHE_VERSION (the bytes, no NUL): the format; readers refuse
 *                            any other value
 *   "n" NAME                 user record
 *   "u" UID MIX(UID)         user record (the same bytes as under "n"); both u32 LE
 *   "g" NAME                 group record
 *   "h" GID MIX(GID)         group record (the same bytes as under "g"); both u32 LE
 *   "i" NAME                 initgroups record: the user's supplementary gids
 *   "m" NAME                 membership record: the provenance layout with the provenance
 *                            left out (times 0; issuer, subject, provider ""); the writer's
 *                            source of a user's groups (NSS never reads it)
 *   "p"                      preauth record: the providers that answer sshd for unseen names
 *   "o" NAME                 override record: the uid [provider P idmap] gives NAME, for each
 *                            provider P of the preauth record that overrides it (sshd's
 *                            provisional entry carries that uid instead of the hash). Written
 *                            in name order (strcmp), one record a name
 *   "s"                      generation: u64 LE, never 0, the value the writer stores into
 *                            cache.serial right after renaming this file into place. Optional:
 *                            a file without it (or with a malformed one, which readers treat as
 *                            absent) is checked for replacement with stat(2) instead
 *   "x" T                    lookup index of the records of type T ("n", "u", "g", "h"):
 *                            below. Optional: without it (or with one that does not decode)
 *                            readers use the CDB hash tables for T. One that decodes is
 *                            trusted: a bucket that does not fit the file is "unavailable", a
 *                            record it misses "not found" (the writer rebuilds such an index at
 *                            its next commit; cache verify reports it)
 *
 * MIX(x): x ^= x >> 16; x *= 0x45d9f3b; x ^= x >> 16; x *= 0x45d9f3b; x ^= x >> 16 (mod 2^32):
 * with it the CDB hashes of id keys look random even for ids assigned in sequence
 * (oidc_cache_key_id).
 *
 * user record:       u32 uid, u32 gid, i64 expires (0 = never), u32 flags,
 *                    name\0 gecos\0 home\0 shell\0
 * group record:      u32 gid, u32 nmem, i64 expires (0 = never), name\0, nmem x member\0
 * initgroups record: u32 n, n x u32 gid
 * provenance record: i64 first_login, i64 last_login, i64 expires, u32 flags, u32 ngroups,
 *                    issuer\0 subject\0 provider\0, ngroups x (u32 gid, name\0); in cache.cdb
 *                    (the "m" membership record) times 0 and the three strings empty, in
 *                    provenance.cdb (below) ngroups 0
 * preauth record:    u32 n, n x (u32 uid_min, u32 uid_max, u32 npat,
 *                    provider\0 home\0 shell\0, npat x pattern\0)
 * override record:   u32 n (>= 1), n x (u32 uid, provider\0), in the preauth record's
 *                    provider order
 *
 * index record:      u32 version (1), u32 nb (>= 1), (nb + 1) x u32 dir
 *
 * The lookup index. A CDB lookup reads a hash slot in the tables at the end of the file (8 bytes
 * a slot, two slots a record of any type: 11 MB at 100,000 users) and then the record, far from
 * it. The writer therefore stores the records of each indexed type T together, ordered by bucket
 * (oidc_cache_index_bucket of the whole key, type byte included, over nb buckets, about one
 * record a bucket): bucket b's records are the CDB records that start at file offset dir[b] and
 * end where dir[b + 1] begins (dir[nb] is the end of T's records). Other records may sit among
 * them (an "i" record follows its user's "n" record, so initgroups usually finds it in the same
 * cache line) and are skipped. A lookup reads dir[b] and dir[b + 1] (4 bytes a record of T: 400
 * KB at 100,000 users) and walks the bucket's records (oidc_cache_index_find): fewer distinct
 * pages and lines than the hash tables, which bench_nss shows as a 100k/100 ratio of 1.1-1.3
 * instead of 1.3-1.7 (docs/nss.md). Every record stays in the CDB hash tables too: the index
 * only changes where the reader looks first, and a file without it still works.
 *
 * A user's private group (gid == uid, same name) is stored as a group record too. Every user
 * and group record carries the expiry of the entry; readers answer NOTFOUND for an expired one.
 *
 * cache.serial (root-owned, mode 0644, created by the writer and never replaced, truncated or
 * shrunk: only its counter changes, in place): OIDC_CACHE_SERIAL_SIZE bytes, the 8 bytes
 * OIDC_CACHE_SERIAL_MAGIC, then at offset 8 the generation of the newest cache.cdb, a u64 in host
 * byte order (the file never leaves the host), 8-byte aligned so that the writer's atomic store
 * into its shared mapping is seen whole by the readers' atomic loads of theirs. The writer bumps
 * it only after cache.cdb carrying that generation has been renamed into place and the directory
 * synced, so a reader that sees generation G can open cache.cdb and get G's file or a newer one.
 */
#ifndef OIDC_CACHE_REC_H
#define OIDC_CACHE_REC_H

#include <stddef.h>
#include <stdint.h>

#define OIDC_CACHE_VERSION "nss-pam-oidc cache v1"
#define OIDC_CACHE_FILE    "cache.cdb"
/* The root-only companion of cache.cdb (mode 0600): "V" (OIDC_PROV_VERSION), "s" (the generation
 * of the cache.cdb written with it) and one "m" NAME provenance record per user, with its issuer,
 * subject, provider and login times and no groups. docs/cache.md. */
#define OIDC_PROV_FILE         "provenance.cdb"
#define OIDC_PROV_VERSION      "nss-pam-oidc provenance v1"
#define OIDC_CACHE_SERIAL_FILE "cache.serial"
#define OIDC_CACHE_NAME_MAX    32   /* login and group names, as oidc_name_valid() */
#define OIDC_CACHE_STR_MAX     4096 /* gecos, home, shell, issuer, subject, patterns */
#define OIDC_CACHE_MEMBERS_MAX 65536
#define OIDC_CACHE_GROUPS_MAX  256 /* per user, as OIDC_GROUPS_MAX */

/* Record type bytes (first byte of a key). */
#define OIDC_CACHE_K_VERSION    'V'
#define OIDC_CACHE_K_USER_NAME  'n'
#define OIDC_CACHE_K_USER_ID    'u'
#define OIDC_CACHE_K_GROUP_NAME 'g'
#define OIDC_CACHE_K_GROUP_ID   'h'
#define OIDC_CACHE_K_INITGROUPS 'i'
#define OIDC_CACHE_K_META       'm'
#define OIDC_CACHE_K_PREAUTH    'p'
#define OIDC_CACHE_K_OVERRIDE   'o'
#define OIDC_CACHE_K_SERIAL     's'
#define OIDC_CACHE_K_INDEX      'x'

/* cache.serial */
#define OIDC_CACHE_SERIAL_MAGIC "oidcgen1" /* 8 bytes, no NUL */
#define OIDC_CACHE_SERIAL_SIZE  16
#define OIDC_CACHE_SERIAL_OFF   8 /* the u64 counter */

/* flags (user and provenance records) */
#define OIDC_CACHE_F_EPHEMERAL      1u /* removed when the session closes */
#define OIDC_CACHE_F_PREPROVISIONED 2u /* added by an admin; subject bound at first login */

/* Keys: key buffers of at least OIDC_CACHE_KEY_MAX bytes; return the key length, 0 when the name
 * is longer than OIDC_CACHE_NAME_MAX or empty. */
#define OIDC_CACHE_KEY_MAX    (1 + OIDC_CACHE_NAME_MAX)
#define OIDC_CACHE_KEY_ID_LEN 9 /* type, id, MIX(id) */
size_t oidc_cache_key_name(char type, const char *name, unsigned char *key);
size_t oidc_cache_key_id(char type, uint32_t id, unsigned char *key);
/* The id of an id key (type byte included): 0, or -1 when it is not one. */
int oidc_cache_key_id_value(const unsigned char *key, size_t klen, uint32_t *id);

/* Decoded views: pointers into the record bytes, valid while the record is. */
struct oidc_cache_pw {
    uint32_t uid, gid, flags;
    int64_t expires;
    const char *name, *gecos, *home, *shell; /* back to back in the record, in this order */
    size_t strings_len;                      /* from name to the end of the record */
};
struct oidc_cache_gr {
    uint32_t gid, nmem;
    int64_t expires;
    const char *name;
    const char *members; /* nmem consecutive NUL-terminated names */
    size_t members_len;  /* bytes from members to the end of the record */
};
struct oidc_cache_meta {
    int64_t first_login, last_login, expires;
    uint32_t flags, ngroups;
    const char *issuer, *subject, *provider;
    const unsigned char *groups; /* ngroups x (u32 gid, name\0) */
    size_t groups_len;
};

/* Decoders: 0 on success, -1 when the record is malformed (short, a string without its NUL, a
 * count that does not fit, a name that is not valid). */
int oidc_cache_pw_decode(const void *rec, size_t len, struct oidc_cache_pw *out);
int oidc_cache_gr_decode(const void *rec, size_t len, struct oidc_cache_gr *out);
/* The header and name only: the members are not walked (the caller checks each one, with
 * oidc_cache_name_len, and that they take exactly members_len bytes). */
int oidc_cache_gr_decode_head(const void *rec, size_t len, struct oidc_cache_gr *out);
/* The length of the valid name (as oidc_name_valid) that starts at p and ends with a NUL within
 * room bytes; 0 when there is none. */
size_t oidc_cache_name_len(const void *p, size_t room);
int oidc_cache_meta_decode(const void *rec, size_t len, struct oidc_cache_meta *out);
/* Initgroups: *n gids, read with oidc_cache_get_u32(rec + 4 + 4 * i). */
int oidc_cache_initgroups_decode(const void *rec, size_t len, uint32_t *n);
/* The "s" record: 0 with *gen, -1 when it is not 8 bytes or holds 0. */
int oidc_cache_serial_decode(const void *rec, size_t len, uint64_t *gen);
/* Walks the groups of a meta record: *pos starts at 0; returns 1 with gid/name, 0 at the end,
 * -1 when malformed. */
int oidc_cache_meta_next_group(const struct oidc_cache_meta *m, size_t *pos, uint32_t *gid,
                               const char **name);

/* One provider of a preauth record. */
struct oidc_cache_preauth {
    uint32_t uid_min, uid_max, npat;
    const char *provider, *home, *shell;
    const char *patterns; /* npat consecutive NUL-terminated glob patterns */
};
/* Walks a whole preauth record, calling fn for each provider in order (fn returns 0 to go on,
 * anything else to stop the walk early; the record is still checked to its end). Returns 0 when
 * the record is well formed, -1 when it is not (a short record, a string without its NUL or over
 * OIDC_CACHE_STR_MAX, counts that do not fit, trailing bytes). */
int oidc_cache_preauth_walk(const void *rec, size_t len,
                            int (*fn)(void *ctx, const struct oidc_cache_preauth *p), void *ctx);
/* Walks a whole override record, calling fn for each (uid, provider) in order, with the same
 * rules as oidc_cache_preauth_walk. -1 also when it holds no entry or more than
 * OIDC_CACHE_OVERRIDE_MAX (a name is overridden once per provider). */
#define OIDC_CACHE_OVERRIDE_MAX 32 /* >= OIDC_CFG_MAX_PROVIDERS (cache.c checks) */
int oidc_cache_override_walk(const void *rec, size_t len,
                             int (*fn)(void *ctx, uint32_t uid, const char *provider), void *ctx);

/* The lookup index (above). */
#define OIDC_CACHE_INDEX_VERSION  1u
#define OIDC_CACHE_INDEX_WALK_MAX 64 /* records a bucket walk reads before it gives up */
struct oidc_cache_index {
    const unsigned char *dir; /* nb + 1 little-endian u32, in the file image */
    uint32_t nb;              /* 0: no index */
};
/* The types that have an index, in the order the writer stores their records. */
#define OIDC_CACHE_INDEXED "nugh"
/* The bucket of a key (type byte included) among nb >= 1 buckets. Part of the format. */
uint32_t oidc_cache_index_bucket(const unsigned char *key, size_t klen, uint32_t nb);
/* An index record: 0 with *out (dir points into rec), -1 when it is not one (a short or long
 * record, another version, nb == 0). The directory's values are checked by each lookup. */
int oidc_cache_index_decode(const void *rec, size_t len, struct oidc_cache_index *out);
/* Looks key up through ix in a CDB file image mem whose records lie in [2048, dend) (dend:
 * oidc_cache_records_end). Returns 1 with the value (and *next, the offset after the record),
 * 0 when the key is not in its bucket, -1 when the bucket's bounds or records do not fit the
 * file (corrupt), -2 when the bucket holds more than OIDC_CACHE_INDEX_WALK_MAX records (the
 * caller falls back to the hash tables). */
int oidc_cache_index_find(const struct oidc_cache_index *ix, const unsigned char *mem,
                          uint32_t dend, const unsigned char *key, size_t klen,
                          const unsigned char **val, uint32_t *vlen, uint32_t *next);
/* The directory's shape: 0 when dir[0] >= 2048, the offsets never decrease and dir[nb] <= dend;
 * -1 otherwise. O(nb): for the writer's loader and verify; lookups check their own bucket. */
int oidc_cache_index_check(const struct oidc_cache_index *ix, uint32_t dend);
/* The CDB record at offset pos of mem (records in [2048, dend)): 0 with its key and value, -1
 * when it does not fit. */
int oidc_cache_record_at(const unsigned char *mem, uint32_t dend, uint32_t pos,
                         const unsigned char **key, uint32_t *klen, const unsigned char **val,
                         uint32_t *vlen);
/* Where a CDB file's records end: the lowest offset of its 256 hash tables, from the 2048-byte
 * header at mem (fsize bytes in all); 0 when a table lies outside the file. */
uint32_t oidc_cache_records_end(const unsigned char *mem, uint64_t fsize);

/* Encoders append to a growing buffer. */
struct oidc_cache_buf {
    unsigned char *p;
    size_t len, cap;
    int failed; /* allocation failed or a string was too long: the buffer must not be used */
};
void oidc_cache_buf_u32(struct oidc_cache_buf *b, uint32_t v);
void oidc_cache_buf_i64(struct oidc_cache_buf *b, int64_t v);
void oidc_cache_buf_str(struct oidc_cache_buf *b, const char *s); /* with its NUL */
void oidc_cache_buf_bytes(struct oidc_cache_buf *b, const void *p, size_t n);
void oidc_cache_buf_free(struct oidc_cache_buf *b);

uint32_t oidc_cache_get_u32(const unsigned char *p);
void oidc_cache_put_u32(unsigned char *p, uint32_t v);
int64_t oidc_cache_get_i64(const unsigned char *p);

/* Expands a home template for name: "{name}" is the only placeholder a cache record may carry
 * (the writer expands the others). Returns 0, or -1 when out (cap bytes) is too small or the
 * template has another placeholder. */
int oidc_cache_home_expand(const char *tmpl, const char *name, char *out, size_t cap);

#endif
