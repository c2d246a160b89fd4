/* libFuzzer target: every decoder of the identity cache's records (common/cache_rec.h) on the
 * input as one record, then the NSS reader (common/cache_read.c) on a small CDB file that holds
 * the input under every key type it reads, so the packing of records into struct passwd/group
 * buffers is fuzzed as well. The input is also the lookup index of every indexed type: its
 * directory's offsets point into that file's own records (write_cdb says where they lie), and
 * into a heap copy of the input, where ASan sees a read one byte past the end. */
#include <cdb.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_read.h"
#include "cache_rec.h"
#include "wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static char path[96];

static void cleanup(void)
{
    char tmp[128];

    snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
    unlink(tmp);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "/tmp/fuzz-cache-rec.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/%s", dir, OIDC_CACHE_FILE);
    atexit(cleanup);
    return 0;
}

static int count_preauth(void *ctx, const struct oidc_cache_preauth *p)
{
    const char *s = p->patterns;
    size_t *n = ctx;

    for (uint32_t i = 0; i < p->npat; i++)
        s += strlen(s) + 1; /* the walk vouches for npat terminated patterns */
    (void)strlen(p->provider);
    (void)strlen(p->home);
    (void)strlen(p->shell);
    return ++*n > 1000;
}

static int count_override(void *ctx, uint32_t uid, const char *provider)
{
    size_t *n = ctx;

    (void)uid;
    (void)strlen(provider); /* the walk vouches for a terminated string */
    return ++*n > 1000;
}

/* The input as an index record: its shape (oidc_cache_index_check) against the end of the file
 * that write_cdb writes and against its own last offset, and lookups through it (reading the
 * bucket, walking records, the record after a hit) in an image of exactly 2048 + size bytes: a
 * zeroed CDB header, then the input, so offsets 2048.. are the input's own bytes. */
static void index_decoders(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"alice", "bob"};
    const unsigned char *val, *k, *v;
    unsigned char key[OIDC_CACHE_KEY_MAX], *mem;
    struct oidc_cache_index ix;
    uint32_t dend, vlen, next, kl, vl, sum = 0;
    size_t i, klen;

    if (size >= 2048)
        (void)oidc_cache_records_end(data, size);
    if (oidc_cache_index_decode(data, size, &ix) != 0)
        return;
    dend = (uint32_t)(2048 + size);
    (void)oidc_cache_index_check(&ix, dend);
    (void)oidc_cache_index_check(&ix, oidc_cache_get_u32(ix.dir + 4 * (size_t)ix.nb));
    if ((mem = malloc(dend)) == NULL)
        return;
    memset(mem, 0, 2048);
    memcpy(mem + 2048, data, size);
    for (i = 0; i < 2 * sizeof(names) / sizeof(names[0]); i++) {
        klen = i % 2 == 0 ? oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, names[i / 2], key)
                          : oidc_cache_key_id(OIDC_CACHE_K_USER_ID, 0x70000000u + (uint32_t)i, key);
        (void)oidc_cache_index_bucket(key, klen, ix.nb);
        if (oidc_cache_index_find(&ix, mem, dend, key, klen, &val, &vlen, &next) != 1)
            continue;
        for (uint32_t j = 0; j < vlen; j++)
            sum += val[j];
        if (oidc_cache_record_at(mem, dend, next, &k, &kl, &v, &vl) == 0)
            sum += (uint32_t)k[0] * kl + vl;
    }
    free(mem);
    if (sum == 0xFFFFFFFFu)
        fprintf(stderr, "fuzz_cache_rec: sum\n"); /* keeps the reads */
}

static void decoders(const uint8_t *data, size_t size)
{
    struct oidc_cache_pw pw;
    struct oidc_cache_gr gr;
    struct oidc_cache_meta meta;
    char home[256];
    uint32_t n, gid, id;
    uint64_t gen;
    size_t pos = 0, npre = 0;
    const char *name;

    if (oidc_cache_pw_decode(data, size, &pw) == 0) {
        (void)strlen(pw.name);
        (void)strlen(pw.shell);
        (void)oidc_cache_home_expand(pw.home, pw.name, home, sizeof(home));
    }
    if (oidc_cache_gr_decode(data, size, &gr) == 0) {
        const char *m = gr.members;

        for (uint32_t i = 0; i < gr.nmem; i++)
            m += strlen(m) + 1;
    }
    if (oidc_cache_gr_decode_head(data, size, &gr) == 0)
        (void)oidc_cache_name_len(gr.members, gr.members_len);
    if (oidc_cache_meta_decode(data, size, &meta) == 0)
        while (oidc_cache_meta_next_group(&meta, &pos, &gid, &name) == 1)
            (void)strlen(name);
    if (oidc_cache_initgroups_decode(data, size, &n) == 0)
        for (uint32_t i = 0; i < n; i++)
            (void)oidc_cache_get_u32(data + 4 + 4 * (size_t)i);
    (void)oidc_cache_serial_decode(data, size, &gen);
    (void)oidc_cache_preauth_walk(data, size, count_preauth, &npre);
    npre = 0;
    (void)oidc_cache_override_walk(data, size, count_override, &npre);
    (void)oidc_cache_key_id_value(data, size, &id);
    (void)oidc_cache_name_len(data, size);
    index_decoders(data, size);
}

static void add(struct cdb_make *mk, const unsigned char *k, size_t kl, const void *v, size_t vl)
{
    if (kl != 0)
        cdb_make_add(mk, k, (unsigned)kl, v, (unsigned)vl);
}

/* The input under "n"/"g"/"i" alice, under "u"/"h" the id its first 4 bytes hold, as "p", and as
 * the four lookup indexes "xn", "xu", "xg", "xh". The records lie in the order added from offset
 * 2048, each 8 + key + value bytes: "V" (30 bytes), then with N input bytes "n", "g", "i" at
 * 14 + N each, "u", "h" at 17 + N, "p" at 9 + N, the four "x" at 10 + N (fuzz/gen-corpus.py's
 * index seeds point there). */
static int write_cdb(const uint8_t *data, size_t size, uint32_t *id)
{
    unsigned char k[OIDC_CACHE_KEY_MAX];
    struct cdb_make mk;
    char tmp[128];
    const char *t;
    int fd, r;

    *id = size >= 4 ? oidc_cache_get_u32(data) : 0x70000000u;
    snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || cdb_make_start(&mk, fd) != 0)
        abort();
    k[0] = OIDC_CACHE_K_VERSION;
    add(&mk, k, 1, OIDC_CACHE_VERSION, strlen(OIDC_CACHE_VERSION));
    add(&mk, k, oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, "alice", k), data, size);
    add(&mk, k, oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, "alice", k), data, size);
    add(&mk, k, oidc_cache_key_name(OIDC_CACHE_K_INITGROUPS, "alice", k), data, size);
    add(&mk, k, oidc_cache_key_id(OIDC_CACHE_K_USER_ID, *id, k), data, size);
    add(&mk, k, oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, *id, k), data, size);
    k[0] = OIDC_CACHE_K_PREAUTH;
    add(&mk, k, 1, data, size);
    k[0] = OIDC_CACHE_K_INDEX;
    for (t = OIDC_CACHE_INDEXED; *t != '\0'; t++) {
        k[1] = (unsigned char)*t;
        add(&mk, k, 2, data, size);
    }
    r = cdb_make_finish(&mk);
    close(fd);
    if (r != 0 || rename(tmp, path) != 0)
        abort();
    return 0;
}

static void reader(const uint8_t *data, size_t size)
{
    static char buf[1024];
    struct oidc_cache_iter it = {0};
    struct passwd pwd, *pp = &pwd;
    struct group grp, *gp = &grp;
    gid_t *groups = malloc(4 * sizeof(*groups));
    long start = 0, gsize = 4;
    uint32_t id;
    int r;

    if (groups == NULL)
        abort();
    write_cdb(data, size, &id);
    oidc_cache_read_set_path(path); /* drops the old mapping: the new file is read */
    oidc_cache_read_set_caller_sshd(size > 0 && data[size - 1] == 's');
    fuzz_wrap_begin(data, size);
    (void)oidc_cache_read_pwnam("alice", pp, buf, sizeof(buf));
    (void)oidc_cache_read_pwnam("ci-runner", pp, buf, sizeof(buf)); /* preauth */
    (void)oidc_cache_read_pwuid(id, pp, buf, sizeof(buf));
    (void)oidc_cache_read_pwnam("alice", pp, buf, 40); /* ERANGE paths */
    (void)oidc_cache_read_grnam("alice", gp, buf, sizeof(buf));
    (void)oidc_cache_read_grgid(id, gp, buf, sizeof(buf));
    (void)oidc_cache_read_grnam("alice", gp, buf, 24);
    (void)oidc_cache_read_initgroups("alice", 0, &start, &gsize, &groups, 64);
    if (oidc_cache_iter_open(&it) == 0) {
        for (int i = 0; i < 16; i++)
            if ((r = oidc_cache_iter_next_pw(&it, pp, buf, sizeof(buf))) != 0)
                break;
        oidc_cache_iter_close(&it);
    }
    if (oidc_cache_iter_open(&it) == 0) {
        for (int i = 0; i < 16; i++)
            if ((r = oidc_cache_iter_next_gr(&it, gp, buf, sizeof(buf))) != 0)
                break;
        oidc_cache_iter_close(&it);
    }
    fuzz_wrap_end();
    free(groups);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    fuzz_wrap_begin(data, size);
    decoders(data, size);
    fuzz_wrap_end();
    reader(data, size);
    return 0;
}
