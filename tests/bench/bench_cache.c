/* Benchmark: the identity cache writer at 100, 10,000 and 100,000 users (each in 5 groups of
 * about 20 members, so N/4 groups). Per size it prints: the in-memory upserts of every user, the
 * commit (writing, fsync and rename of provenance.cdb and of the whole cache.cdb), their sum (a
 * full rebuild), the size of cache.cdb and of provenance.cdb,
 * the open (lock and load) of the existing file, one upsert of a new user into it (open, upsert,
 * commit, close), a repeat login that writes nothing, and `cache verify`. Target: a full rebuild
 * of 100k users under 1 s. The rebuild's CPU time is printed too (it leaves out waiting for the
 * disk in fsync, and moves less than the wall clock on a busy machine). `bench_cache N` runs one
 * size. The state directory is a fresh directory under $TMPDIR (default /tmp). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"

#define GROUPS_PER_USER 5
#define MEMBERS         20

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the process: on a shared machine it moves less than the wall clock. */
static double cpu_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *mut(const char *s)
{
    union {
        const char *c;
        char *m;
    } u = {s};

    return u.m;
}

static void die(const char *what, const struct oidc_err *err)
{
    fprintf(stderr, "bench_cache: %s: %s\n", what, oidc_err_msg(err));
    exit(1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* User i of n: sequential ids (the hash would need collision handling that is not under test). */
static void make_user(struct oidc_cache_user *u, struct oidc_group *g, char gnames[][16], size_t i,
                      size_t n, int64_t now)
{
    size_t ngroups = n / 4 > 0 ? n / 4 : 1, per = ngroups / GROUPS_PER_USER, j;
    static char subject[32];

    memset(u, 0, sizeof(*u));
    snprintf(u->name, sizeof(u->name), "user%06zu", i);
    snprintf(subject, sizeof(subject), "sub-%zu", i);
    u->uid = u->gid = 0x70000000u + (uint32_t)i;
    u->gecos = mut("Bench User");
    u->home = mut("/home/bench");
    u->shell = mut("/bin/bash");
    u->issuer = mut("https://idp.example.com/realms/bench");
    u->subject = subject;
    u->provider = mut("people");
    u->first_login = u->last_login = now;
    u->expires = now + 30 * 86400;
    u->groups = g;
    u->n_groups = per > 0 ? GROUPS_PER_USER : 1;
    for (j = 0; j < u->n_groups; j++) {
        size_t k = per > 0 ? (i / MEMBERS) % per + j * per : 0;
        snprintf(gnames[j], 16, "grp%06zu", k);
        g[j].name = gnames[j];
        g[j].gid = 0x78000000u + (uint32_t)k;
    }
}

static void run(size_t n, const char *base)
{
    struct oidc_idmap_env env;
    struct oidc_cache_opts opts;
    struct oidc_cache *c = NULL;
    struct oidc_cache_user u;
    struct oidc_group g[GROUPS_PER_USER];
    char dir[512], path[600], ppath[600], gnames[GROUPS_PER_USER][16];
    struct oidc_err err = {0};
    struct stat st, pst;
    double t0, c0, t_ups, t_commit, c_rebuild, t_open, t_one, t_noop, t_verify;
    int64_t now = 1700000000;
    int written = 0;
    size_t i;

    snprintf(dir, sizeof(dir), "%s/state", base);
    snprintf(path, sizeof(path), "%s/passwd", base);
    write_file(path, "root:x:0:0:root:/root:/bin/bash\n");
    env.passwd_path = strdup(path);
    snprintf(path, sizeof(path), "%s/group", base);
    write_file(path, "root:x:0:\n");
    env.group_path = strdup(path);
    snprintf(path, sizeof(path), "%s/cache.cdb", dir);
    snprintf(ppath, sizeof(ppath), "%s/provenance.cdb", dir);
    (void)unlink(path);
    (void)unlink(ppath);
    opts.dir = dir;
    opts.env = &env;
    opts.now = now;

    /* full rebuild: every user upserted into an empty cache, then one commit */
    if (oidc_cache_open(&opts, &c, &err) != OIDC_OK)
        die("open", &err);
    t0 = now_sec();
    c0 = cpu_sec();
    for (i = 0; i < n; i++) {
        make_user(&u, g, gnames, i, n, now);
        if (oidc_cache_upsert(c, &u, &err) != OIDC_OK)
            die("upsert", &err);
    }
    t_ups = now_sec() - t0;
    t0 = now_sec();
    if (oidc_cache_commit(c, &written, &err) != OIDC_OK || !written)
        die("commit", &err);
    t_commit = now_sec() - t0;
    c_rebuild = cpu_sec() - c0;
    oidc_cache_close(c);
    if (stat(path, &st) != 0 || stat(ppath, &pst) != 0) {
        perror(path);
        exit(1);
    }

    /* open (lock + load) of the file just written */
    t0 = now_sec();
    if (oidc_cache_open(&opts, &c, &err) != OIDC_OK)
        die("reopen", &err);
    t_open = now_sec() - t0;
    oidc_cache_close(c);

    /* one new user's login into the full cache: open, upsert, commit, close */
    make_user(&u, g, gnames, n, n + 1, now);
    t0 = now_sec();
    if (oidc_cache_open(&opts, &c, &err) != OIDC_OK || oidc_cache_upsert(c, &u, &err) != OIDC_OK ||
        oidc_cache_commit(c, &written, &err) != OIDC_OK || !written)
        die("one upsert", &err);
    oidc_cache_close(c);
    t_one = now_sec() - t0;

    /* the same login again a minute later: nothing is written */
    opts.now = now + 60;
    u.last_login += 60;
    u.expires += 60;
    t0 = now_sec();
    if (oidc_cache_open(&opts, &c, &err) != OIDC_OK || oidc_cache_upsert(c, &u, &err) != OIDC_OK ||
        oidc_cache_commit(c, &written, &err) != OIDC_OK || written)
        die("repeat login", &err);
    oidc_cache_close(c);
    t_noop = now_sec() - t0;

    t0 = now_sec();
    if (oidc_cache_verify(&opts, NULL, NULL, &err) != OIDC_OK)
        die("verify", &err);
    t_verify = now_sec() - t0;

    printf("%7zu users %6zu groups: rebuild %7.1f ms (upserts %6.1f + commit %6.1f; cpu %6.1f), "
           "file %6.1f MB + provenance %5.1f MB; open %6.1f ms, one upsert %6.1f ms, repeat login "
           "%6.1f ms, "
           "verify %6.1f ms\n",
           n, n / 4 > 0 ? n / 4 : 1, (t_ups + t_commit) * 1e3, t_ups * 1e3, t_commit * 1e3,
           c_rebuild * 1e3, (double)st.st_size / 1e6, (double)pst.st_size / 1e6, t_open * 1e3,
           t_one * 1e3, t_noop * 1e3, t_verify * 1e3);
    fflush(stdout);
    (void)unlink(path);
    (void)unlink(ppath);
    snprintf(path, sizeof(path), "%s/cache.lock", dir);
    (void)unlink(path);
    snprintf(path, sizeof(path), "%s/cache.serial", dir);
    (void)unlink(path);
    (void)rmdir(dir);
    (void)unlink(env.passwd_path);
    (void)unlink(env.group_path);
    free(mut(env.passwd_path));
    free(mut(env.group_path));
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {100, 10000, 100000};
    const char *tmp = getenv("TMPDIR");
    char base[512];
    size_t i;

    snprintf(base, sizeof(base), "%s/bench_cache.XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(base) == NULL) {
        perror(base);
        return 1;
    }
    if (argc > 1) {
        run((size_t)strtoul(argv[1], NULL, 10), base);
    } else {
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
            run(sizes[i], base);
    }
    (void)rmdir(base);
    return 0;
}
