/* The order of the records in the identity cache's CDB file, and its lookup index (cache_rec.h):
 * the writer (cache.c) and the test fixtures add their records here, and the layout writes them
 * to a cdb_make in the order the readers' index needs. libc + tinycdb; not linked into the NSS
 * module, which only reads. */
#ifndef OIDC_CACHE_LAYOUT_H
#define OIDC_CACHE_LAYOUT_H

#include <cdb.h>
#include <stddef.h>
#include <stdint.h>

struct oidc_cache_layout_rec;

struct oidc_cache_layout {
    unsigned char *arena; /* keys and values, back to back */
    size_t alen, acap;
    struct oidc_cache_layout_rec *recs;
    size_t n, cap;
    int failed; /* out of memory, or a record too large: write refuses */
    int no_index;
    struct cdb_make *stream; /* oidc_cache_layout_stream */
    int last_streamed;       /* the record added last went straight to stream */
};

/* OIDC_CACHE_LAYOUT_FOLLOW: the record is written right after the one added before it, wherever
 * that one goes (an "i" record after its user's "n" record). Ignored for a record of an indexed
 * type, which always goes into its own bucket. */
#define OIDC_CACHE_LAYOUT_FOLLOW 1u

void oidc_cache_layout_init(struct oidc_cache_layout *l);
/* From now on, records of the types without an index (and their followers) go straight to m,
 * which the layout is later written to: they would be written first, in the order added, anyway;
 * this saves copying them (the writer's "m" records are 40% of the file). */
void oidc_cache_layout_stream(struct oidc_cache_layout *l, struct cdb_make *m);
/* Copies the record in (or writes it, when streaming). 0, or -1 (and l->failed) when out of
 * memory or cdb_make_add fails. */
int oidc_cache_layout_add(struct oidc_cache_layout *l, const void *key, size_t klen,
                          const void *val, size_t vlen, unsigned flags);
/* Adds every record to m: first the records of the types without an index, in the order they
 * were added; then, for each type of OIDC_CACHE_INDEXED, its records in bucket order (each
 * followed by its followers); then the "x" index records (none when l->no_index, for tests of
 * readers without one). 0, or -1 with errno (ENOMEM when l->failed, EFBIG past 4 GiB, or
 * cdb_make_add's). */
int oidc_cache_layout_write(struct oidc_cache_layout *l, struct cdb_make *m);
/* (m's records so far, if any, come first: the offsets count from where m stands.) */
void oidc_cache_layout_free(struct oidc_cache_layout *l);

#endif
