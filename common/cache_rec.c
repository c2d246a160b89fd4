/* Identity cache records: bounded decoders and simple encoders (see cache_rec.h). libc only. */
#include "config.h"
#include "cache_rec.h"
#include "idhash.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

uint32_t oidc_cache_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int64_t oidc_cache_get_i64(const unsigned char *p)
{
    uint64_t v = (uint64_t)oidc_cache_get_u32(p) | (uint64_t)oidc_cache_get_u32(p + 4) << 32;

    return (int64_t)v;
}

size_t oidc_cache_key_name(char type, const char *name, unsigned char *key)
{
    size_t n = name != NULL ? strnlen(name, OIDC_CACHE_NAME_MAX + 1) : 0;

    if (n == 0 || n > OIDC_CACHE_NAME_MAX)
        return 0;
    key[0] = (unsigned char)type;
    memcpy(key + 1, name, n);
    return n + 1;
}

/* CDB's hash (djb: h = h * 33 ^ byte) spreads the bytes of nearby numbers badly: with the id
 * alone as the key, ids assigned in sequence (a numeric claim; the benchmark's data) shared their
 * full 32-bit hash with others so often that a getpwuid read ~7 records instead of 1, and even
 * random ids collided ~0.6% of the time (4 bytes through djb span about 2^23 values). The id is
 * therefore followed by a mix of it (xorshift-multiply), which makes the hashes of any ids look
 * random. */
static uint32_t id_mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x45d9f3bu;
    x ^= x >> 16;
    x *= 0x45d9f3bu;
    x ^= x >> 16;
    return x;
}

void oidc_cache_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

size_t oidc_cache_key_id(char type, uint32_t id, unsigned char *key)
{
    key[0] = (unsigned char)type;
    oidc_cache_put_u32(key + 1, id);
    oidc_cache_put_u32(key + 5, id_mix(id));
    return OIDC_CACHE_KEY_ID_LEN;
}

int oidc_cache_key_id_value(const unsigned char *key, size_t klen, uint32_t *id)
{
    uint32_t v;

    if (klen != OIDC_CACHE_KEY_ID_LEN)
        return -1;
    v = oidc_cache_get_u32(key + 1);
    if (oidc_cache_get_u32(key + 5) != id_mix(v))
        return -1;
    *id = v;
    return 0;
}

/* A bounded reader over one record. */
struct rd {
    const unsigned char *p;
    size_t len, off;
    int bad;
};

static uint32_t rd_u32(struct rd *r)
{
    uint32_t v;

    if (r->bad || r->len - r->off < 4) {
        r->bad = 1;
        return 0;
    }
    v = oidc_cache_get_u32(r->p + r->off);
    r->off += 4;
    return v;
}

static int64_t rd_i64(struct rd *r)
{
    int64_t v;

    if (r->bad || r->len - r->off < 8) {
        r->bad = 1;
        return 0;
    }
    v = oidc_cache_get_i64(r->p + r->off);
    r->off += 8;
    return v;
}

/* A NUL-terminated string of at most max bytes (before the NUL). */
static const char *rd_str(struct rd *r, size_t max)
{
    const unsigned char *s, *nul;
    size_t room;

    if (r->bad) {
        return NULL;
    }
    s = r->p + r->off;
    room = r->len - r->off;
    nul = memchr(s, '\0', room < max + 1 ? room : max + 1);
    if (nul == NULL) {
        r->bad = 1;
        return NULL;
    }
    r->off += (size_t)(nul - s) + 1;
    return (const char *)s;
}

/* oidc_name_valid()'s classes by byte value, for the NSS hot path (a group lookup checks every
 * member name): 3 = may start a name ([a-z_]), 1 = may follow ([0-9.-]), 0 = never. test_cache
 * checks that oidc_cache_name_len agrees with oidc_name_valid. */
static const unsigned char name_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, /* 50 */
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 60 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, /* 70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0 */
};

size_t oidc_cache_name_len(const void *p, size_t room)
{
    const unsigned char *s = p;
    size_t i, max = room < OIDC_CACHE_NAME_MAX + 1 ? room : OIDC_CACHE_NAME_MAX + 1;

    if (max == 0 || (name_class[s[0]] & 2) == 0)
        return 0;
    for (i = 1; i < max; i++)
        if (name_class[s[i]] == 0)
            return s[i] == '\0' ? i : 0;
    return 0;
}

static const char *rd_name(struct rd *r)
{
    const char *s;
    size_t n;

    if (r->bad)
        return NULL;
    s = (const char *)r->p + r->off;
    n = oidc_cache_name_len(s, r->len - r->off);
    if (n == 0) {
        r->bad = 1;
        return NULL;
    }
    r->off += n + 1;
    return s;
}

int oidc_cache_pw_decode(const void *rec, size_t len, struct oidc_cache_pw *out)
{
    struct rd r = {rec, len, 0, 0};
    struct oidc_cache_pw pw;

    pw.uid = rd_u32(&r);
    pw.gid = rd_u32(&r);
    pw.expires = rd_i64(&r);
    pw.flags = rd_u32(&r);
    pw.name = rd_name(&r);
    pw.gecos = rd_str(&r, OIDC_CACHE_STR_MAX);
    pw.home = rd_str(&r, OIDC_CACHE_STR_MAX);
    pw.shell = rd_str(&r, OIDC_CACHE_STR_MAX);
    if (r.bad || r.off != len)
        return -1;
    pw.strings_len = len - (size_t)(pw.name - (const char *)r.p);
    *out = pw;
    return 0;
}

int oidc_cache_gr_decode_head(const void *rec, size_t len, struct oidc_cache_gr *out)
{
    struct rd r = {rec, len, 0, 0};
    struct oidc_cache_gr gr;

    gr.gid = rd_u32(&r);
    gr.nmem = rd_u32(&r);
    gr.expires = rd_i64(&r);
    gr.name = rd_name(&r);
    if (r.bad || gr.nmem > OIDC_CACHE_MEMBERS_MAX)
        return -1;
    gr.members = (const char *)r.p + r.off;
    gr.members_len = len - r.off;
    if (gr.members_len / 2 < gr.nmem) /* each member takes at least 2 bytes */
        return -1;
    *out = gr;
    return 0;
}

int oidc_cache_gr_decode(const void *rec, size_t len, struct oidc_cache_gr *out)
{
    struct oidc_cache_gr gr;
    struct rd r = {rec, len, 0, 0};
    uint32_t i;

    if (oidc_cache_gr_decode_head(rec, len, &gr) != 0)
        return -1;
    r.off = len - gr.members_len;
    for (i = 0; i < gr.nmem && !r.bad; i++)
        (void)rd_name(&r);
    if (r.bad || r.off != len)
        return -1;
    *out = gr;
    return 0;
}

int oidc_cache_meta_decode(const void *rec, size_t len, struct oidc_cache_meta *out)
{
    struct rd r = {rec, len, 0, 0};
    struct oidc_cache_meta m;
    uint32_t i;

    m.first_login = rd_i64(&r);
    m.last_login = rd_i64(&r);
    m.expires = rd_i64(&r);
    m.flags = rd_u32(&r);
    m.ngroups = rd_u32(&r);
    m.issuer = rd_str(&r, OIDC_CACHE_STR_MAX);
    m.subject = rd_str(&r, OIDC_CACHE_STR_MAX);
    m.provider = rd_str(&r, OIDC_CACHE_STR_MAX);
    if (r.bad || m.ngroups > OIDC_CACHE_GROUPS_MAX)
        return -1;
    m.groups = r.p + r.off;
    m.groups_len = len - r.off;
    for (i = 0; i < m.ngroups && !r.bad; i++) {
        (void)rd_u32(&r);
        (void)rd_name(&r);
    }
    if (r.bad || r.off != len)
        return -1;
    *out = m;
    return 0;
}

int oidc_cache_meta_next_group(const struct oidc_cache_meta *m, size_t *pos, uint32_t *gid,
                               const char **name)
{
    struct rd r = {m->groups, m->groups_len, *pos, 0};

    if (*pos >= m->groups_len)
        return 0;
    *gid = rd_u32(&r);
    *name = rd_name(&r);
    if (r.bad)
        return -1;
    *pos = r.off;
    return 1;
}

int oidc_cache_preauth_walk(const void *rec, size_t len,
                            int (*fn)(void *ctx, const struct oidc_cache_preauth *p), void *ctx)
{
    struct rd r = {rec, len, 0, 0};
    struct oidc_cache_preauth p;
    uint32_t n, i, j;
    int go_on = 1;

    n = rd_u32(&r);
    for (i = 0; i < n && !r.bad; i++) {
        p.uid_min = rd_u32(&r);
        p.uid_max = rd_u32(&r);
        p.npat = rd_u32(&r);
        p.provider = rd_str(&r, OIDC_CACHE_STR_MAX);
        p.home = rd_str(&r, OIDC_CACHE_STR_MAX);
        p.shell = rd_str(&r, OIDC_CACHE_STR_MAX);
        p.patterns = (const char *)r.p + r.off;
        for (j = 0; j < p.npat && !r.bad; j++)
            (void)rd_str(&r, OIDC_CACHE_STR_MAX);
        if (!r.bad && go_on && fn != NULL && fn(ctx, &p) != 0)
            go_on = 0;
    }
    return r.bad || r.off != len ? -1 : 0;
}

int oidc_cache_override_walk(const void *rec, size_t len,
                             int (*fn)(void *ctx, uint32_t uid, const char *provider), void *ctx)
{
    struct rd r = {rec, len, 0, 0};
    const char *provider;
    uint32_t n, i, uid;
    int go_on = 1;

    n = rd_u32(&r);
    if (n == 0 || n > OIDC_CACHE_OVERRIDE_MAX)
        return -1;
    for (i = 0; i < n && !r.bad; i++) {
        uid = rd_u32(&r);
        provider = rd_str(&r, OIDC_CACHE_STR_MAX);
        if (!r.bad && go_on && fn != NULL && fn(ctx, uid, provider) != 0)
            go_on = 0;
    }
    return r.bad || r.off != len ? -1 : 0;
}

int oidc_cache_initgroups_decode(const void *rec, size_t len, uint32_t *n)
{
    uint32_t count;

    if (len < 4)
        return -1;
    count = oidc_cache_get_u32(rec);
    if (count > OIDC_CACHE_GROUPS_MAX || len != 4 + 4 * (size_t)count)
        return -1;
    *n = count;
    return 0;
}

int oidc_cache_serial_decode(const void *rec, size_t len, uint64_t *gen)
{
    uint64_t g;

    if (len != 8)
        return -1;
    g = (uint64_t)oidc_cache_get_i64(rec);
    if (g == 0)
        return -1;
    *gen = g;
    return 0;
}

/* ---------------------------------------------------------------- encoders */

static unsigned char *buf_room(struct oidc_cache_buf *b, size_t n)
{
    unsigned char *p;
    size_t cap;

    if (b->failed)
        return NULL;
    if (b->cap - b->len < n) {
        cap = b->cap != 0 ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    p = b->p + b->len;
    b->len += n;
    return p;
}

void oidc_cache_buf_u32(struct oidc_cache_buf *b, uint32_t v)
{
    unsigned char *p = buf_room(b, 4);

    if (p == NULL)
        return;
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

void oidc_cache_buf_i64(struct oidc_cache_buf *b, int64_t v)
{
    uint64_t u = (uint64_t)v;

    oidc_cache_buf_u32(b, (uint32_t)(u & 0xffffffffu));
    oidc_cache_buf_u32(b, (uint32_t)(u >> 32));
}

void oidc_cache_buf_str(struct oidc_cache_buf *b, const char *s)
{
    size_t n;
    unsigned char *p;

    if (s == NULL)
        s = "";
    n = strnlen(s, OIDC_CACHE_STR_MAX + 1);
    if (n > OIDC_CACHE_STR_MAX) {
        b->failed = 1;
        return;
    }
    p = buf_room(b, n + 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
}

void oidc_cache_buf_bytes(struct oidc_cache_buf *b, const void *p, size_t n)
{
    unsigned char *d;

    if (n == 0 || (d = buf_room(b, n)) == NULL)
        return;
    memcpy(d, p, n);
}

void oidc_cache_buf_free(struct oidc_cache_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

int oidc_cache_home_expand(const char *tmpl, const char *name, char *out, size_t cap)
{
    size_t o = 0, n;
    const char *t = tmpl;

    if (tmpl == NULL || name == NULL || cap == 0)
        return -1;
    while (*t != '\0') {
        if (*t == '{') {
            if (strncmp(t, "{name}", 6) != 0)
                return -1;
            n = strlen(name);
            if (cap - o <= n)
                return -1;
            memcpy(out + o, name, n);
            o += n;
            t += 6;
            continue;
        }
        if (cap - o <= 1)
            return -1;
        out[o++] = *t++;
    }
    out[o] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- lookup index */

/* Little-endian load of n <= 8 bytes. */
static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    if (n == 8) {
        memcpy(&v, p, 8);
        return le64toh(v);
    }
    while (n-- > 0)
        v = v << 8 | p[n];
    return v;
}

uint32_t oidc_cache_index_bucket(const unsigned char *key, size_t klen, uint32_t nb)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ klen;
    size_t i;

    /* Eight bytes a multiply (a key is at most 33 bytes: five rounds at most), then a
     * multiply-xorshift finish; the high 32 bits map onto [0, nb) without a division. */
    for (i = 0; i < klen; i += 8) {
        h ^= load_le(key + i, klen - i < 8 ? klen - i : 8);
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    return (uint32_t)(((h >> 32) * (uint64_t)nb) >> 32);
}

int oidc_cache_index_decode(const void *rec, size_t len, struct oidc_cache_index *out)
{
    const unsigned char *p = rec;
    uint32_t nb;

    if (len < 12 || oidc_cache_get_u32(p) != OIDC_CACHE_INDEX_VERSION)
        return -1;
    nb = oidc_cache_get_u32(p + 4);
    if (nb == 0 || (uint64_t)len != 8 + 4 * ((uint64_t)nb + 1))
        return -1;
    out->dir = p + 8;
    out->nb = nb;
    return 0;
}

int oidc_cache_index_check(const struct oidc_cache_index *ix, uint32_t dend)
{
    uint32_t b, prev = 2048, v;

    for (b = 0; b <= ix->nb; b++) {
        v = oidc_cache_get_u32(ix->dir + 4 * (size_t)b);
        if (v < prev)
            return -1;
        prev = v;
    }
    return prev <= dend ? 0 : -1;
}

int oidc_cache_record_at(const unsigned char *mem, uint32_t dend, uint32_t pos,
                         const unsigned char **key, uint32_t *klen, const unsigned char **val,
                         uint32_t *vlen)
{
    uint32_t kl, vl;

    if (pos < 2048 || pos >= dend || dend - pos < 8)
        return -1;
    kl = oidc_cache_get_u32(mem + pos);
    vl = oidc_cache_get_u32(mem + pos + 4);
    if (kl > dend - pos - 8 || vl > dend - pos - 8 - kl)
        return -1;
    *key = mem + pos + 8;
    *klen = kl;
    *val = mem + pos + 8 + kl;
    *vlen = vl;
    return 0;
}

int oidc_cache_index_find(const struct oidc_cache_index *ix, const unsigned char *mem,
                          uint32_t dend, const unsigned char *key, size_t klen,
                          const unsigned char **val, uint32_t *vlen, uint32_t *next)
{
    uint32_t b = oidc_cache_index_bucket(key, klen, ix->nb), pos, end, kl, vl;
    const unsigned char *k, *v;
    unsigned walked = 0;

    pos = oidc_cache_get_u32(ix->dir + 4 * (size_t)b);
    end = oidc_cache_get_u32(ix->dir + 4 * (size_t)b + 4);
    if (pos < 2048 || pos > end || end > dend)
        return -1;
    while (pos < end) {
        if (++walked > OIDC_CACHE_INDEX_WALK_MAX)
            return -2;
        if (oidc_cache_record_at(mem, end, pos, &k, &kl, &v, &vl) != 0)
            return -1; /* a record that runs past its bucket */
        pos += 8 + kl + vl;
        if (kl == klen && memcmp(k, key, klen) == 0) {
            *val = v;
            *vlen = vl;
            *next = pos;
            return 1;
        }
    }
    return 0;
}

uint32_t oidc_cache_records_end(const unsigned char *mem, uint64_t fsize)
{
    uint32_t pos, n, first = UINT32_MAX;
    unsigned i;

    if (fsize < 2048)
        return 0;
    for (i = 0; i < 256; i++) {
        pos = oidc_cache_get_u32(mem + 8 * i);
        n = oidc_cache_get_u32(mem + 8 * i + 4);
        if (pos < 2048 || pos > fsize || (uint64_t)n * 8 > fsize - pos)
            return 0;
        if (pos < first)
            first = pos;
    }
    return first;
}
