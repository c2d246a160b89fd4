/* The record order of the identity cache file and its lookup index: see cache_layout.h and
 * cache_rec.h. */
#include "config.h"
#include "cache_layout.h"
#include "cache_rec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct oidc_cache_layout_rec {
    size_t off;          /* of the key in the arena; the value follows it */
    uint32_t klen, vlen; /* both fit a CDB record */
    uint32_t bucket;     /* indexed heads only */
    unsigned char follow;
    unsigned char type; /* the key's first byte, 0 for an empty key */
};

#define PREFETCH 8 /* records ahead */

void oidc_cache_layout_init(struct oidc_cache_layout *l)
{
    memset(l, 0, sizeof(*l));
}

void oidc_cache_layout_free(struct oidc_cache_layout *l)
{
    free(l->arena);
    free(l->recs);
    oidc_cache_layout_init(l);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap != 0 ? *cap : 64;
    void *q;

    while (n < need) {
        if (n > SIZE_MAX / 2 / size)
            return -1;
        n *= 2;
    }
    if (n == *cap)
        return 0;
    if ((q = realloc(*p, n * size)) == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int indexed(unsigned char type)
{
    return type != 0 && strchr(OIDC_CACHE_INDEXED, type) != NULL;
}

void oidc_cache_layout_stream(struct oidc_cache_layout *l, struct cdb_make *m)
{
    l->stream = m;
}

int oidc_cache_layout_add(struct oidc_cache_layout *l, const void *key, size_t klen,
                          const void *val, size_t vlen, unsigned flags)
{
    struct oidc_cache_layout_rec *r;
    unsigned char type = klen > 0 ? ((const unsigned char *)key)[0] : 0;

    if (l->failed)
        return -1;
    if (l->stream != NULL && !indexed(type) &&
        ((flags & OIDC_CACHE_LAYOUT_FOLLOW) == 0 || l->n == 0 || l->last_streamed)) {
        /* a head without an index, or a follower of one that was streamed */
        if (klen > UINT32_MAX - 8 || vlen > UINT32_MAX - 8 - klen ||
            cdb_make_add(l->stream, key, (unsigned)klen, val, (unsigned)vlen) != 0) {
            l->failed = 1;
            return -1;
        }
        l->last_streamed = 1;
        return 0;
    }
    l->last_streamed = 0;
    if (klen > UINT32_MAX - 8 || vlen > UINT32_MAX - 8 - klen || l->alen > SIZE_MAX - klen - vlen ||
        grow((void **)&l->arena, &l->acap, l->alen + klen + vlen, 1) != 0 ||
        grow((void **)&l->recs, &l->cap, l->n + 1, sizeof(*l->recs)) != 0) {
        l->failed = 1;
        return -1;
    }
    r = &l->recs[l->n++];
    r->off = l->alen;
    r->klen = (uint32_t)klen;
    r->vlen = (uint32_t)vlen;
    r->bucket = 0;
    /* a follower needs someone to follow */
    r->type = type;
    /* a record of an indexed type always goes into its own bucket */
    r->follow = (flags & OIDC_CACHE_LAYOUT_FOLLOW) != 0 && l->n > 1 && !indexed(type);
    if (klen > 0)
        memcpy(l->arena + l->alen, key, klen);
    if (vlen > 0)
        memcpy(l->arena + l->alen + klen, val, vlen);
    l->alen += klen + vlen;
    return 0;
}

/* A head of the given type (followers go with their head). */
static int head_of(const struct oidc_cache_layout *l, size_t i, unsigned char type)
{
    return !l->recs[i].follow && l->recs[i].type == type;
}

struct emitter {
    struct oidc_cache_layout *l;
    struct cdb_make *m;
    uint64_t pos; /* file offset of the next record */
};

static int emit_raw(struct emitter *e, const void *key, uint32_t klen, const void *val,
                    uint32_t vlen)
{
    if (e->pos + 8 + klen + vlen > UINT32_MAX) {
        errno = EFBIG;
        return -1;
    }
    if (cdb_make_add(e->m, key, klen, val, vlen) != 0)
        return -1;
    e->pos += 8 + (uint64_t)klen + vlen;
    return 0;
}

/* Record h and the followers added right after it. */
static int emit_unit(struct emitter *e, size_t h)
{
    const struct oidc_cache_layout *l = e->l;
    size_t i = h;

    do {
        const unsigned char *k = l->arena + l->recs[i].off;
        if (emit_raw(e, k, l->recs[i].klen, k + l->recs[i].klen, l->recs[i].vlen) != 0)
            return -1;
        i++;
    } while (i < l->n && l->recs[i].follow);
    return 0;
}

/* The records of one indexed type in bucket order, then its index record. */
static int emit_indexed(struct emitter *e, unsigned char type)
{
    struct oidc_cache_layout *l = e->l;
    size_t i, k, count = 0;
    uint32_t nb, b, *start = NULL, *order = NULL;
    unsigned char *ix = NULL, key[2] = {OIDC_CACHE_K_INDEX, type};
    int r = -1;

    for (i = 0; i < l->n; i++)
        if (head_of(l, i, type))
            count++;
    if (l->no_index) {
        for (i = 0; i < l->n; i++)
            if (head_of(l, i, type) && emit_unit(e, i) != 0)
                return -1;
        return 0;
    }
    if (count >= UINT32_MAX / 4 - 4) {
        errno = EFBIG;
        return -1;
    }
    nb = count > 0 ? (uint32_t)count : 1; /* about one record a bucket */
    if ((start = calloc((size_t)nb + 1, sizeof(*start))) == NULL ||
        (order = calloc(count > 0 ? count : 1, sizeof(*order))) == NULL ||
        (ix = malloc(8 + 4 * ((size_t)nb + 1))) == NULL) {
        errno = ENOMEM;
        goto out;
    }
    /* a counting sort by bucket; stable, so a bucket keeps the order the records came in */
    for (i = 0; i < l->n; i++)
        if (head_of(l, i, type)) {
            b = oidc_cache_index_bucket(l->arena + l->recs[i].off, l->recs[i].klen, nb);
            l->recs[i].bucket = b;
            start[b + 1]++;
        }
    for (b = 0; b < nb; b++)
        start[b + 1] += start[b];
    for (i = 0; i < l->n; i++)
        if (head_of(l, i, type))
            order[start[l->recs[i].bucket]++] = (uint32_t)i;
    oidc_cache_put_u32(ix, OIDC_CACHE_INDEX_VERSION);
    oidc_cache_put_u32(ix + 4, nb);
    /* start[b] is now where bucket b + 1 begins in order[]: the buckets' bounds without going
     * back to the (randomly placed) records */
    for (b = 0, k = 0; b < nb; b++) {
        oidc_cache_put_u32(ix + 8 + 4 * (size_t)b, (uint32_t)e->pos);
        for (; k < start[b]; k++) {
            if (k + PREFETCH < count) { /* the records come in random order: fetch ahead */
                const struct oidc_cache_layout_rec *ahead = &l->recs[order[k + PREFETCH]];
                __builtin_prefetch(ahead);
                __builtin_prefetch(l->arena + l->recs[order[k + PREFETCH / 2]].off);
            }
            if (emit_unit(e, order[k]) != 0)
                goto out;
        }
    }
    oidc_cache_put_u32(ix + 8 + 4 * (size_t)nb, (uint32_t)e->pos);
    r = emit_raw(e, key, 2, ix, (uint32_t)(8 + 4 * ((size_t)nb + 1)));
out:
    free(start);
    free(order);
    free(ix);
    return r;
}

int oidc_cache_layout_write(struct oidc_cache_layout *l, struct cdb_make *m)
{
    struct emitter e = {l, m, m->cdb_dpos}; /* 2048 for a fresh one */
    const char *t;
    size_t i;

    if (l->failed) {
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; i < l->n; i++)
        if (!l->recs[i].follow && !indexed(l->recs[i].type) && emit_unit(&e, i) != 0)
            return -1;
    for (t = OIDC_CACHE_INDEXED; *t != '\0'; t++)
        if (emit_indexed(&e, (unsigned char)*t) != 0)
            return -1;
    return 0;
}
