/* Many threads look users and groups up through the entry points while another process
 * replaces the cache file in a loop, alternating two valid files whose entries differ (every
 * gecos carries the file's tag, and alice's home and the devs members differ too). Every answer
 * must be a whole, correct entry of one of the two versions; a miss stays a miss; nothing is
 * ever UNAVAIL. Two phases: the replacer writes like the writer (a generation record, then
 * cache.serial bumped after each rename), so the readers follow the serial; then the serial is
 * removed and the replacer leaves it alone, so the readers fall back to stat (after noticing
 * the change within the once-a-second backstop). Built into the ASan+UBSan stage of
 * tests/run-all.sh like every check program. */
#include "config.h"
#include "nss_oidc.h"
#include "cache_read.h"
#include "cache_rec.h"
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8
#define SECONDS 2 /* per phase */

static char g_dir[256], g_path[512], g_serial[512];
static volatile int g_stop;

struct result {
    unsigned long lookups, bad, seen[2];
    char why[256];
};

/* Version tag -> index (0 for "vA", 1 for "vB"), -1 for anything else. */
static int version_of(const char *gecos, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(gecos, prefix, n) != 0)
        return -1;
    if (strcmp(gecos + n, "vA") == 0)
        return 0;
    if (strcmp(gecos + n, "vB") == 0)
        return 1;
    return -1;
}

static int write_version(const char *path, int v)
{
    static const uint32_t groups_a[] = {2100001, 2100002};
    static const uint32_t groups_b[] = {2100002};
    static const char *const devs_a[] = {"alice", "bob"};
    static const char *const devs_b[] = {"bob", "carl", "dora"};
    const struct fx_user users[] = {
        {"alice", 2000001, 2000001, 0, v ? "Alice vB" : "Alice vA",
         v ? "/home/b/alice" : "/home/a/alice", "/bin/bash", v ? groups_b : groups_a, v ? 1u : 2u},
        {"bob", 2000002, 2000002, 0, v ? "Bob vB" : "Bob vA", "/home/bob", "/bin/sh", NULL, 0},
    };
    const struct fx_group devs = {"devs", 2100001, 0, v ? devs_b : devs_a, v ? 3u : 2u};
    const struct fx_group ops = {"ops", 2100002, 0, devs_a, 1};
    struct fx f;
    size_t i;

    if (fx_open(&f, path) != 0)
        return -1;
    fx_version(&f, OIDC_CACHE_VERSION);
    for (i = 0; i < 2; i++)
        fx_user(&f, &users[i]);
    fx_group(&f, &devs);
    fx_group(&f, &ops);
    return fx_finish(&f);
}

static int check_pw(const struct passwd *pw, const char *name, struct result *r)
{
    int v;

    if (strcmp(name, "alice") == 0) {
        v = version_of(pw->pw_gecos, "Alice ");
        if (v < 0 || strcmp(pw->pw_name, "alice") != 0 || pw->pw_uid != 2000001 ||
            pw->pw_gid != 2000001 || strcmp(pw->pw_shell, "/bin/bash") != 0 ||
            strcmp(pw->pw_dir, v ? "/home/b/alice" : "/home/a/alice") != 0)
            return -1;
    } else {
        v = version_of(pw->pw_gecos, "Bob ");
        if (v < 0 || strcmp(pw->pw_name, "bob") != 0 || pw->pw_uid != 2000002 ||
            strcmp(pw->pw_dir, "/home/bob") != 0 || strcmp(pw->pw_shell, "/bin/sh") != 0)
            return -1;
    }
    r->seen[v]++;
    return 0;
}

static int check_devs(const struct group *gr)
{
    if (strcmp(gr->gr_name, "devs") != 0 || gr->gr_gid != 2100001)
        return -1;
    if (gr->gr_mem[0] != NULL && strcmp(gr->gr_mem[0], "alice") == 0)
        return gr->gr_mem[1] != NULL && strcmp(gr->gr_mem[1], "bob") == 0 && gr->gr_mem[2] == NULL
                   ? 0
                   : -1;
    return gr->gr_mem[0] != NULL && strcmp(gr->gr_mem[0], "bob") == 0 && gr->gr_mem[1] != NULL &&
                   strcmp(gr->gr_mem[1], "carl") == 0 && gr->gr_mem[2] != NULL &&
                   strcmp(gr->gr_mem[2], "dora") == 0 && gr->gr_mem[3] == NULL
               ? 0
               : -1;
}

#define BAD(...)                                           \
    do {                                                   \
        if (r->bad++ == 0)                                 \
            snprintf(r->why, sizeof(r->why), __VA_ARGS__); \
    } while (0)

static void *worker(void *arg)
{
    struct result *r = arg;
    char buf[1024];
    struct passwd pw;
    struct group gr;
    long start, size = 8;
    gid_t *groups = malloc(8 * sizeof(gid_t));
    unsigned long i = 0;
    int err;
    enum nss_status s;

    if (groups == NULL) {
        BAD("out of memory");
        return NULL;
    }
    while (!g_stop) {
        switch (i++ % 7) {
        case 0:
            s = _nss_oidc_getpwnam_r("alice", &pw, buf, sizeof(buf), &err);
            if (s != NSS_STATUS_SUCCESS || check_pw(&pw, "alice", r) != 0)
                BAD("getpwnam alice: status %d", s);
            break;
        case 1:
            s = _nss_oidc_getpwuid_r(2000002, &pw, buf, sizeof(buf), &err);
            if (s != NSS_STATUS_SUCCESS || check_pw(&pw, "bob", r) != 0)
                BAD("getpwuid bob: status %d", s);
            break;
        case 2:
            s = _nss_oidc_getgrnam_r("devs", &gr, buf, sizeof(buf), &err);
            if (s != NSS_STATUS_SUCCESS || check_devs(&gr) != 0)
                BAD("getgrnam devs: status %d", s);
            break;
        case 3:
            s = _nss_oidc_getgrgid_r(2100001, &gr, buf, sizeof(buf), &err);
            if (s != NSS_STATUS_SUCCESS || check_devs(&gr) != 0)
                BAD("getgrgid devs: status %d", s);
            break;
        case 4:
            s = _nss_oidc_getpwnam_r("nobody", &pw, buf, sizeof(buf), &err);
            if (s != NSS_STATUS_NOTFOUND || err != ENOENT)
                BAD("getpwnam nobody: status %d", s);
            break;
        case 5:
            start = 1;
            groups[0] = 2000001;
            s = _nss_oidc_initgroups_dyn("alice", 2000001, &start, &size, &groups, 0, &err);
            if (s != NSS_STATUS_SUCCESS ||
                !((start == 3 && groups[1] == 2100001 && groups[2] == 2100002) ||
                  (start == 2 && groups[1] == 2100002)))
                BAD("initgroups alice: status %d, %ld groups", s, start);
            break;
        default:
            s = _nss_oidc_getpwnam_r("alice", &pw, buf, 16, &err); /* too small, always */
            if (s != NSS_STATUS_TRYAGAIN || err != ERANGE)
                BAD("getpwnam alice, small buffer: status %d", s);
            break;
        }
        r->lookups++;
    }
    free(groups);
    return NULL;
}

/* The replacer: writes A or B afresh (fx_finish: a new temporary file renamed over the cache,
 * then, when serial is set, the serial bumped as the writer does), in a loop, so every
 * replacement is a new inode and old mappings are retired while threads may read. */
static void replacer(int serial)
{
    unsigned long n = 0;

    fx_set_serial(serial);
    for (;;) {
        if (write_version(g_path, (int)(n++ % 2)) != 0)
            _exit(1);
        usleep(200);
    }
}

/* One phase; returns 1 when it failed. */
static int phase(int serial, const char *what)
{
    pthread_t t[THREADS];
    struct result res[THREADS];
    unsigned long lookups = 0, bad = 0, seen[2] = {0, 0};
    pid_t pid;
    int i, st, fail = 0;

    g_stop = 0;
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0)
        replacer(serial);
    memset(res, 0, sizeof(res));
    for (i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, &res[i]) != 0) {
            perror("pthread_create");
            exit(99);
        }
    sleep(SECONDS);
    g_stop = 1;
    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        lookups += res[i].lookups;
        bad += res[i].bad;
        seen[0] += res[i].seen[0];
        seen[1] += res[i].seen[1];
        if (res[i].bad != 0)
            printf("thread %d: %lu bad answers, the first: %s\n", i, res[i].bad, res[i].why);
    }
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    printf("%s: %lu lookups in %d threads over %d s, %lu of version A and %lu of version B\n", what,
           lookups, THREADS, SECONDS, seen[0], seen[1]);
    if (bad != 0) {
        printf("FAIL - %s: %lu answers were not a whole entry of either version\n", what, bad);
        fail = 1;
    } else {
        printf("ok   - %s: every answer was a whole, correct entry of one version\n", what);
    }
    if (seen[0] == 0 || seen[1] == 0) {
        printf("FAIL - %s: the threads did not see both versions\n", what);
        fail = 1;
    } else {
        printf("ok   - %s: both versions were seen\n", what);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
        printf("FAIL - %s: the replacer failed\n", what);
        fail = 1;
    }
    return fail;
}

int main(void)
{
    char tmp[600];
    int fail = 0;

    snprintf(g_dir, sizeof(g_dir), "%s/oidc-nss-conc.XXXXXX", P_tmpdir);
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 99;
    }
    snprintf(g_path, sizeof(g_path), "%s/cache.cdb", g_dir);
    snprintf(g_serial, sizeof(g_serial), "%s/%s", g_dir, OIDC_CACHE_SERIAL_FILE);
    if (write_version(g_path, 0) != 0) {
        perror("writing the fixture");
        return 99;
    }
    oidc_cache_read_set_path(g_path);
    fail |= phase(1, "serial");
    if (unlink(g_serial) != 0) {
        perror("removing the serial");
        fail = 1;
    }
    fail |= phase(0, "stat fallback");
    oidc_cache_read_set_path(NULL);
    unlink(g_path);
    unlink(g_serial);
    snprintf(tmp, sizeof(tmp), "%s.tmp", g_path);
    unlink(tmp);
    rmdir(g_dir);
    return fail;
}
