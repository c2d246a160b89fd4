/* The NSS module's entry points, called directly (linked with the reader), against fixture
 * caches written by tests/nss/fixture.c: hits and misses, the ERANGE contract at every buffer
 * size, expiry, the uid/gid floor, name limits, the recursion guard, enumeration, initgroups,
 * damaged and missing files, replacement (through cache.serial without a system call, and the
 * stat fallback when the serial is missing, damaged or untrusted), and the sshd-only provisional
 * entry. Linked with -Wl,--wrap=stat,--wrap=open (nss/Makefile.inc) to count the reader's system
 * calls on the cache files. */
#include "config.h"
#include "nss_oidc.h"
#include "cache_read.h"
#include "fixture.h"
#include "idhash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char g_dir[256];
static char g_path[PATH_MAX];
static char g_serial[PATH_MAX];
static char g_buf[1 << 16];

/* ---------------------------------------------------------------- system call counters */

static unsigned long g_stats, g_opens; /* stat() of the cache file, open() of the cache file */

int __real_stat(const char *path, struct stat *st);
int __wrap_stat(const char *path, struct stat *st);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

int __wrap_stat(const char *path, struct stat *st)
{
    if (strcmp(path, g_path) == 0)
        __atomic_add_fetch(&g_stats, 1, __ATOMIC_RELAXED);
    return __real_stat(path, st);
}

int __wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    va_list ap;

    if ((flags & O_CREAT) != 0) {
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (strcmp(path, g_path) == 0)
        __atomic_add_fetch(&g_opens, 1, __ATOMIC_RELAXED);
    return __real_open(path, flags, mode);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A window in which the reader makes no stat(): its once-a-second backstop may fall inside when
 * the window lasts long enough (a slow machine), once per elapsed second. */
struct window {
    unsigned long stats, opens;
    int64_t t0;
};

static void window_start(struct window *w)
{
    w->stats = __atomic_load_n(&g_stats, __ATOMIC_RELAXED);
    w->opens = __atomic_load_n(&g_opens, __ATOMIC_RELAXED);
    w->t0 = mono_ms();
}

static unsigned long window_stats(const struct window *w)
{
    return __atomic_load_n(&g_stats, __ATOMIC_RELAXED) - w->stats;
}

static unsigned long window_opens(const struct window *w)
{
    return __atomic_load_n(&g_opens, __ATOMIC_RELAXED) - w->opens;
}

static void assert_no_stat(const struct window *w)
{
    unsigned long allowed = (unsigned long)((mono_ms() - w->t0) / OIDC_CACHE_RECHECK_MS);

    if (window_stats(w) > allowed)
        fail_msg("%lu stat() calls of the cache file in %lld ms (at most %lu allowed)",
                 window_stats(w), (long long)(mono_ms() - w->t0), allowed);
}

#define ALICE 2000001u
#define BOB   2000002u
#define DEVS  2100001u
#define BIG   2100007u

static void write_basic(const char *tag)
{
    assert_int_equal(fx_write_basic(g_path, tag), 0);
}

/* What the file at g_path holds as the lookup index of type t (cache_rec.h), as the reader sees
 * it: none, a record that does not decode, one that decodes but whose directory does not fit
 * (oidc_cache_index_check), or a usable one; -1 when the file cannot be read. */
enum { INDEX_NONE, INDEX_MALFORMED, INDEX_BAD_SHAPE, INDEX_OK };

static int index_state(char type)
{
    const unsigned char key[2] = {OIDC_CACHE_K_INDEX, (unsigned char)type};
    struct oidc_cache_index ix;
    struct fx_image img;
    uint32_t pos, vpos, vlen;
    int r = INDEX_NONE;

    if (fx_image_load(g_path, &img) != 0 || img.dend == 0) {
        fx_image_free(&img);
        return -1;
    }
    if (fx_image_find(&img, key, 2, &pos, &vpos, &vlen) == 0)
        r = oidc_cache_index_decode(img.mem + vpos, vlen, &ix) != 0 ? INDEX_MALFORMED
            : oidc_cache_index_check(&ix, img.dend) != 0            ? INDEX_BAD_SHAPE
                                                                    : INDEX_OK;
    fx_image_free(&img);
    return r;
}

/* The basic fixture, with a lookup index for every indexed type (index_on) or without any (a
 * file written before the index existed); the setup checks that it is so. */
static int setup_layout(int index_on)
{
    const char *t;

    snprintf(g_dir, sizeof(g_dir), "%s/oidc-nss-test.XXXXXX", P_tmpdir);
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_path, sizeof(g_path), "%s/cache.cdb", g_dir);
    snprintf(g_serial, sizeof(g_serial), "%s/%s", g_dir, OIDC_CACHE_SERIAL_FILE);
    oidc_cache_read_set_path(g_path);
    unsetenv(OIDC_CACHE_LOOPS_ENV);
    fx_set_serial(1);
    fx_set_index(index_on);
    if (fx_write_basic(g_path, "v1") != 0)
        return -1;
    for (t = OIDC_CACHE_INDEXED; *t != '\0'; t++)
        if (index_state(*t) != (index_on ? INDEX_OK : INDEX_NONE))
            return -1;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_layout(1);
}

static int setup_without_index(void **state)
{
    (void)state;
    return setup_layout(0);
}

static int teardown(void **state)
{
    char tmp[PATH_MAX + 8];

    (void)state;
    unlink(g_path);
    unlink(g_serial);
    snprintf(tmp, sizeof(tmp), "%s.tmp", g_path);
    unlink(tmp);
    oidc_cache_read_set_path(NULL);
    fx_set_serial(1);
    fx_set_index(1);
    return rmdir(g_dir);
}

static enum nss_status pwnam(const char *name, struct passwd *pw, int *err)
{
    return _nss_oidc_getpwnam_r(name, pw, g_buf, sizeof(g_buf), err);
}

static enum nss_status grnam(const char *name, struct group *gr, int *err)
{
    return _nss_oidc_getgrnam_r(name, gr, g_buf, sizeof(g_buf), err);
}

static void test_pwnam_hit(void **state)
{
    struct passwd pw;
    int err = 0;

    (void)state;
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_name, "alice");
    assert_string_equal(pw.pw_passwd, "*");
    assert_int_equal(pw.pw_uid, ALICE);
    assert_int_equal(pw.pw_gid, ALICE);
    assert_string_equal(pw.pw_gecos, "Alice Example v1");
    assert_string_equal(pw.pw_dir, "/home/alice");
    assert_string_equal(pw.pw_shell, "/bin/bash");
    /* bob expires in 2100: not yet */
    assert_int_equal(pwnam("bob", &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_shell, "/bin/sh");
}

static void test_pwuid_hit(void **state)
{
    struct passwd pw;
    int err = 0;

    (void)state;
    assert_int_equal(_nss_oidc_getpwuid_r(BOB, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_name, "bob");
    assert_int_equal(pw.pw_uid, BOB);
    assert_string_equal(pw.pw_gecos, "Bob v1");
}

static void test_group_hits(void **state)
{
    struct group gr;
    int err = 0;

    (void)state;
    assert_int_equal(grnam("devs", &gr, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(gr.gr_name, "devs");
    assert_int_equal(gr.gr_gid, DEVS);
    assert_string_equal(gr.gr_mem[0], "alice");
    assert_string_equal(gr.gr_mem[1], "bob");
    assert_string_equal(gr.gr_mem[2], "carol");
    assert_null(gr.gr_mem[3]);
    assert_int_equal(_nss_oidc_getgrgid_r(ALICE, &gr, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_SUCCESS);
    assert_string_equal(gr.gr_name, "alice"); /* the private group */
    assert_null(gr.gr_mem[0]);
    assert_int_equal(grnam("emptygrp", &gr, &err), NSS_STATUS_SUCCESS);
    assert_null(gr.gr_mem[0]);
    assert_int_equal(grnam("big", &gr, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(gr.gr_mem[0], "m0000");
    assert_string_equal(gr.gr_mem[FX_BIG_MEMBERS - 1], "m0299");
    assert_null(gr.gr_mem[FX_BIG_MEMBERS]);
}

static void test_misses(void **state)
{
    struct passwd pw;
    struct group gr;
    int err = 0;

    (void)state;
    assert_int_equal(pwnam("nobody-here", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    err = 0;
    assert_int_equal(_nss_oidc_getpwuid_r(2999999, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    assert_int_equal(grnam("nogroup-here", &gr, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getgrgid_r(2999999, &gr, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    /* a user name is not a group and the other way round */
    assert_int_equal(pwnam("devs", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(grnam("lowgid", &gr, &err), NSS_STATUS_NOTFOUND);
}

/* Every size from 0 to the one needed: TRYAGAIN/ERANGE, then success exactly at that size. */
static void test_erange_every_size_pw(void **state)
{
    size_t need = sizeof("alice") + sizeof("*") + sizeof("Alice Example v1") +
                  sizeof("/home/alice") + sizeof("/bin/bash");
    char *buf = malloc(need);
    struct passwd pw;
    size_t len;
    int err;

    (void)state;
    assert_non_null(buf);
    err = 0;
    assert_int_equal(_nss_oidc_getpwnam_r("alice", &pw, NULL, 100, &err), NSS_STATUS_TRYAGAIN);
    assert_int_equal(err, ERANGE);
    for (len = 0; len < need; len++) {
        err = 0;
        assert_int_equal(_nss_oidc_getpwnam_r("alice", &pw, buf, len, &err), NSS_STATUS_TRYAGAIN);
        assert_int_equal(err, ERANGE);
        err = 0;
        assert_int_equal(_nss_oidc_getpwuid_r(ALICE, &pw, buf, len, &err), NSS_STATUS_TRYAGAIN);
        assert_int_equal(err, ERANGE);
    }
    assert_int_equal(_nss_oidc_getpwnam_r("alice", &pw, buf, need, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_shell, "/bin/bash");
    assert_true(pw.pw_shell + strlen(pw.pw_shell) + 1 <= buf + need);
    assert_int_equal(_nss_oidc_getpwuid_r(ALICE, &pw, buf, need, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_name, "alice");
    free(buf);
}

/* Groups: the member array must be aligned whatever the buffer's alignment. */
static void test_erange_every_size_gr(void **state)
{
    static char raw[1 << 14] __attribute__((aligned(16)));
    struct group gr;
    size_t len, off, first_ok;
    int err;
    enum nss_status s;

    (void)state;
    for (off = 0; off < sizeof(char *); off++) {
        first_ok = 0;
        for (len = 0; len < 8192 && first_ok == 0; len++) {
            err = 0;
            s = _nss_oidc_getgrnam_r("big", &gr, raw + off, len, &err);
            if (s == NSS_STATUS_SUCCESS) {
                first_ok = len;
                break;
            }
            assert_int_equal(s, NSS_STATUS_TRYAGAIN);
            assert_int_equal(err, ERANGE);
        }
        assert_true(first_ok > 0);
        /* pointers (aligned) + 300 "mNNNN" + "big" + "*" */
        assert_true(first_ok >= (FX_BIG_MEMBERS + 1) * sizeof(char *) + FX_BIG_MEMBERS * 6 + 6);
        assert_true(first_ok < (FX_BIG_MEMBERS + 1) * sizeof(char *) + FX_BIG_MEMBERS * 6 + 6 +
                                   sizeof(char *));
        assert_int_equal((uintptr_t)gr.gr_mem % sizeof(char *), 0);
        assert_string_equal(gr.gr_name, "big");
        assert_string_equal(gr.gr_mem[FX_BIG_MEMBERS - 1], "m0299");
        assert_int_equal(_nss_oidc_getgrgid_r(BIG, &gr, raw + off, first_ok - 1, &err),
                         NSS_STATUS_TRYAGAIN);
        assert_int_equal(err, ERANGE);
        assert_int_equal(_nss_oidc_getgrgid_r(BIG, &gr, raw + off, first_ok, &err),
                         NSS_STATUS_SUCCESS);
    }
}

static void test_expired(void **state)
{
    struct passwd pw;
    struct group gr;
    int err = 0;

    (void)state;
    assert_int_equal(pwnam("carol", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    assert_int_equal(_nss_oidc_getpwuid_r(2000003, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(grnam("carol", &gr, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(grnam("oldgrp", &gr, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getgrgid_r(2100003, &gr, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
}

/* Entries below uid/gid 1000 are never answered, whatever the file says. */
static void test_id_floor(void **state)
{
    struct passwd pw;
    struct group gr;
    int err = 0;

    (void)state;
    assert_int_equal(pwnam("lowuid", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getpwuid_r(999, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(pwnam("lowgid", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getpwuid_r(2000005, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getpwuid_r(0, &pw, g_buf, sizeof(g_buf), &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(grnam("wheelish", &gr, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getgrgid_r(10, &gr, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getgrgid_r(0, &gr, g_buf, sizeof(g_buf), &err), NSS_STATUS_NOTFOUND);
}

static void test_name_limits(void **state)
{
    struct passwd pw;
    struct group gr;
    int err = 0;

    (void)state;
    assert_int_equal(strlen(FX_NAME32), 32);
    assert_int_equal(pwnam(FX_NAME32, &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_name, FX_NAME32);
    assert_int_equal(grnam(FX_NAME32, &gr, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(gr.gr_gid, 2100006);
    assert_int_equal(pwnam(FX_NAME33, &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    assert_int_equal(grnam(FX_NAME33, &gr, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(pwnam("", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(pwnam(NULL, &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(grnam(NULL, &gr, &err), NSS_STATUS_NOTFOUND);
}

static void test_recursion_guard(void **state)
{
    struct passwd pw;
    struct group gr;
    long start = 0, size = 4;
    gid_t *groups = calloc(4, sizeof(gid_t));
    int err = 0;

    (void)state;
    assert_non_null(groups);
    setenv(OIDC_CACHE_LOOPS_ENV, "NO", 1);
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getpwuid_r(ALICE, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(grnam("devs", &gr, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_getgrgid_r(DEVS, &gr, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_initgroups_dyn("alice", ALICE, &start, &size, &groups, 0, &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(start, 0);
    _nss_oidc_setpwent(0);
    assert_int_equal(_nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err), NSS_STATUS_NOTFOUND);
    _nss_oidc_endpwent();
    setenv(OIDC_CACHE_LOOPS_ENV, "YES", 1); /* only "NO" is the guard */
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    unsetenv(OIDC_CACHE_LOOPS_ENV);
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    free(groups);
}

static void test_initgroups(void **state)
{
    long start = 1, size = 1;
    gid_t *groups = malloc(sizeof(gid_t));
    int err = 0;

    (void)state;
    assert_non_null(groups);
    groups[0] = ALICE;
    /* alice: devs, ops, the 32-byte group; gid 10 is below the floor and left out */
    assert_int_equal(_nss_oidc_initgroups_dyn("alice", ALICE, &start, &size, &groups, 0, &err),
                     NSS_STATUS_SUCCESS);
    assert_int_equal(start, 4);
    assert_true(size >= 4);
    assert_int_equal(groups[0], ALICE);
    assert_int_equal(groups[1], DEVS);
    assert_int_equal(groups[2], 2100002);
    assert_int_equal(groups[3], 2100006);
    /* the group passed in is not added again */
    start = 1;
    assert_int_equal(_nss_oidc_initgroups_dyn("alice", DEVS, &start, &size, &groups, 0, &err),
                     NSS_STATUS_SUCCESS);
    assert_int_equal(start, 3);
    assert_int_equal(groups[1], 2100002);
    /* glibc's limit */
    start = 1;
    assert_int_equal(_nss_oidc_initgroups_dyn("alice", ALICE, &start, &size, &groups, 2, &err),
                     NSS_STATUS_SUCCESS);
    assert_int_equal(start, 2);
    /* unknown, expired, too long */
    start = 1;
    assert_int_equal(_nss_oidc_initgroups_dyn("nobody", ALICE, &start, &size, &groups, 0, &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    assert_int_equal(_nss_oidc_initgroups_dyn("carol", 2000003, &start, &size, &groups, 0, &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_initgroups_dyn(FX_NAME33, 1, &start, &size, &groups, 0, &err),
                     NSS_STATUS_NOTFOUND);
    assert_int_equal(start, 1);
    /* a user without an initgroups record: found, nothing added */
    assert_int_equal(_nss_oidc_initgroups_dyn("squatter", 1, &start, &size, &groups, 0, &err),
                     NSS_STATUS_SUCCESS);
    assert_int_equal(start, 1);
    free(groups);
}

static int in_list(const char *const *list, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return (int)i;
    return -1;
}

static void test_enumerate_users(void **state)
{
    static const char *const want[] = {"alice", "bob", FX_NAME32, "squatter"};
    int seen[4] = {0};
    struct passwd pw;
    char small[8];
    size_t n = 0;
    int err = 0, i, tried_small = 0;
    enum nss_status s;

    (void)state;
    assert_int_equal(_nss_oidc_setpwent(0), NSS_STATUS_SUCCESS);
    for (;;) {
        if (!tried_small && n == 1) {
            /* too small in the middle: the same entry comes back with a larger buffer */
            assert_int_equal(_nss_oidc_getpwent_r(&pw, small, sizeof(small), &err),
                             NSS_STATUS_TRYAGAIN);
            assert_int_equal(err, ERANGE);
            assert_int_equal(_nss_oidc_getpwent_r(&pw, NULL, 0, &err), NSS_STATUS_TRYAGAIN);
            tried_small = 1;
        }
        s = _nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err);
        if (s != NSS_STATUS_SUCCESS)
            break;
        i = in_list(want, 4, pw.pw_name);
        assert_true(i >= 0);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        n++;
    }
    assert_int_equal(s, NSS_STATUS_NOTFOUND);
    assert_int_equal(n, 4);
    /* at the end it stays at the end; setpwent rewinds */
    assert_int_equal(_nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_setpwent(0), NSS_STATUS_SUCCESS);
    assert_int_equal(_nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err), NSS_STATUS_SUCCESS);
    assert_int_equal(_nss_oidc_endpwent(), NSS_STATUS_SUCCESS);
    /* getpwent_r without setpwent starts at the beginning */
    assert_int_equal(_nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err), NSS_STATUS_SUCCESS);
    assert_int_equal(_nss_oidc_endpwent(), NSS_STATUS_SUCCESS);
}

static void test_enumerate_groups(void **state)
{
    static const char *const want[] = {"devs",  "ops", FX_NAME32, "big",     "emptygrp",
                                       "alice", "bob", "lowuid",  "squatter"};
    int seen[9] = {0};
    struct group gr;
    size_t n = 0;
    int err = 0, i;

    (void)state;
    assert_int_equal(_nss_oidc_setgrent(0), NSS_STATUS_SUCCESS);
    while (_nss_oidc_getgrent_r(&gr, g_buf, sizeof(g_buf), &err) == NSS_STATUS_SUCCESS) {
        i = in_list(want, 9, gr.gr_name);
        assert_true(i >= 0);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        n++;
        if (strcmp(gr.gr_name, "devs") == 0)
            assert_string_equal(gr.gr_mem[2], "carol");
    }
    assert_int_equal(err, ENOENT);
    assert_int_equal(n, 9);
    assert_int_equal(_nss_oidc_endgrent(), NSS_STATUS_SUCCESS);
}

/* A file that is there but cannot be trusted or read: UNAVAIL (EIO); none at all: NOTFOUND. */
static void expect_all(enum nss_status want_pw, enum nss_status want_gr)
{
    struct passwd pw;
    struct group gr;
    long start = 0, size = 4;
    gid_t *groups = calloc(4, sizeof(gid_t));
    int err = 0;

    assert_non_null(groups);
    assert_int_equal(pwnam("alice", &pw, &err), want_pw);
    assert_int_equal(err, want_pw == NSS_STATUS_UNAVAIL ? EIO : ENOENT);
    assert_int_equal(_nss_oidc_getpwuid_r(ALICE, &pw, g_buf, sizeof(g_buf), &err), want_pw);
    assert_int_equal(grnam("devs", &gr, &err), want_gr);
    assert_int_equal(_nss_oidc_getgrgid_r(DEVS, &gr, g_buf, sizeof(g_buf), &err), want_gr);
    assert_int_equal(_nss_oidc_initgroups_dyn("alice", ALICE, &start, &size, &groups, 0, &err),
                     want_pw);
    free(groups);
}

static void test_missing_file(void **state)
{
    struct passwd pw;
    int err = 0;

    (void)state;
    assert_int_equal(unlink(g_path), 0);
    expect_all(NSS_STATUS_NOTFOUND, NSS_STATUS_NOTFOUND);
    assert_int_equal(_nss_oidc_setpwent(0), NSS_STATUS_SUCCESS);
    assert_int_equal(_nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err), NSS_STATUS_NOTFOUND);
    _nss_oidc_endpwent();
    /* and a file that appears is used at once (a miss always looks at the disk) */
    write_basic("v1");
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
}

static void test_version_mismatch(void **state)
{
    (void)state;
    assert_int_equal(fx_write_damaged(g_path, "badversion"), 0);
    expect_all(NSS_STATUS_UNAVAIL, NSS_STATUS_UNAVAIL);
    assert_int_equal(fx_write_damaged(g_path, "noversion"), 0);
    expect_all(NSS_STATUS_UNAVAIL, NSS_STATUS_UNAVAIL);
    write_basic("v1");
}

static void test_empty_file(void **state)
{
    struct passwd pw;
    int err = 0;

    (void)state;
    assert_int_equal(fx_write_damaged(g_path, "empty"), 0);
    expect_all(NSS_STATUS_UNAVAIL, NSS_STATUS_UNAVAIL);
    assert_int_equal(_nss_oidc_setpwent(0), NSS_STATUS_UNAVAIL);
    assert_int_equal(_nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err), NSS_STATUS_NOTFOUND);
    _nss_oidc_endpwent();
    write_basic("v1");
}

/* Truncated, corrupt, garbage: no crash, no hang, never an answer made of wrong bytes. */
static void lookups_survive(void)
{
    static const char *const names[] = {"alice", "bob", "devs", "big", "nobody", FX_NAME32};
    struct passwd pw;
    struct group gr;
    long start = 0, size = 1;
    gid_t *groups = calloc(1, sizeof(gid_t));
    size_t i;
    int err;
    enum nss_status s;

    assert_non_null(groups);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        s = pwnam(names[i], &pw, &err);
        assert_true(s == NSS_STATUS_UNAVAIL || s == NSS_STATUS_NOTFOUND);
        s = grnam(names[i], &gr, &err);
        assert_true(s == NSS_STATUS_UNAVAIL || s == NSS_STATUS_NOTFOUND);
        s = _nss_oidc_initgroups_dyn(names[i], 1, &start, &size, &groups, 0, &err);
        assert_true(s == NSS_STATUS_UNAVAIL || s == NSS_STATUS_NOTFOUND);
    }
    for (i = 0; i < 64; i++) {
        s = _nss_oidc_getpwuid_r(2000000 + (uid_t)i, &pw, g_buf, sizeof(g_buf), &err);
        assert_true(s == NSS_STATUS_UNAVAIL || s == NSS_STATUS_NOTFOUND);
        s = _nss_oidc_getgrgid_r(2100000 + (gid_t)i, &gr, g_buf, sizeof(g_buf), &err);
        assert_true(s == NSS_STATUS_UNAVAIL || s == NSS_STATUS_NOTFOUND);
    }
    _nss_oidc_setpwent(0);
    for (i = 0;
         i < 100000 && _nss_oidc_getpwent_r(&pw, g_buf, sizeof(g_buf), &err) == NSS_STATUS_SUCCESS;
         i++)
        ;
    assert_true(i < 100000);
    _nss_oidc_endpwent();
    _nss_oidc_setgrent(0);
    for (i = 0;
         i < 100000 && _nss_oidc_getgrent_r(&gr, g_buf, sizeof(g_buf), &err) == NSS_STATUS_SUCCESS;
         i++)
        ;
    assert_true(i < 100000);
    _nss_oidc_endgrent();
    free(groups);
}

static void test_truncated_corrupt_garbage(void **state)
{
    static const char *const how[] = {"truncated", "corrupt", "garbage"};
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        assert_int_equal(fx_write_damaged(g_path, how[i]), 0);
        lookups_survive();
    }
    write_basic("v1");
}

/* One malformed record makes that lookup UNAVAIL; the others still answer. */
static void test_bad_record(void **state)
{
    struct passwd pw;
    struct group gr;
    long start = 0, size = 1;
    gid_t *groups = calloc(1, sizeof(gid_t));
    int err = 0;

    (void)state;
    assert_non_null(groups);
    assert_int_equal(fx_write_damaged(g_path, "badrecord"), 0);
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pwnam("bob", &pw, &err), NSS_STATUS_UNAVAIL);
    assert_int_equal(err, EIO);
    assert_int_equal(_nss_oidc_getpwuid_r(BOB, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_UNAVAIL);
    assert_int_equal(grnam("bob", &gr, &err), NSS_STATUS_UNAVAIL);
    assert_int_equal(_nss_oidc_initgroups_dyn("alice", ALICE, &start, &size, &groups, 0, &err),
                     NSS_STATUS_UNAVAIL);
    free(groups);
    write_basic("v1");
}

/* Group records whose member list is malformed (checked while it is copied): UNAVAIL, never a
 * partial answer; enumeration skips them. */
static void raw_group(struct fx *f, const char *name, uint32_t gid, uint32_t nmem,
                      const void *members, size_t mlen)
{
    struct oidc_cache_buf b = {0};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    unsigned char *p;

    oidc_cache_buf_u32(&b, gid);
    oidc_cache_buf_u32(&b, nmem);
    oidc_cache_buf_i64(&b, 0);
    oidc_cache_buf_str(&b, name);
    p = realloc(b.p, b.len + mlen);
    assert_non_null(p);
    memcpy(p + b.len, members, mlen);
    fx_raw(f, key, oidc_cache_key_name(OIDC_CACHE_K_GROUP_NAME, name, key), p, b.len + mlen);
    fx_raw(f, key, oidc_cache_key_id(OIDC_CACHE_K_GROUP_ID, gid, key), p, b.len + mlen);
    free(p);
}

static void test_group_bad_members(void **state)
{
    static const char *const good_members[] = {"alice", "bob"};
    const struct fx_group good = {"good", 2100101, 0, good_members, 2};
    static const struct {
        const char *name;
        uint32_t nmem;
        const char *bytes;
        size_t len;
    } bad[] = {
        {"upper", 2, "alice\0Bob", 10},   /* not a valid name */
        {"fewer", 3, "alice\0bob", 10},   /* says 3, holds 2 */
        {"more", 1, "alice\0bob", 10},    /* says 1, holds 2 */
        {"nonul", 2, "alice\0bob", 9},    /* the last one without its NUL */
        {"empty", 2, "alice\0\0", 7},     /* an empty name */
        {"space", 1, "al ice", 7},        /* a byte no name has */
        {"toolong", 1, FX_NAME33 "", 34}, /* 33 bytes */
    };
    struct group gr;
    struct fx f;
    size_t i, n = 0;
    int err = 0;

    (void)state;
    assert_int_equal(fx_open(&f, g_path), 0);
    fx_version(&f, OIDC_CACHE_VERSION);
    fx_group(&f, &good);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        raw_group(&f, bad[i].name, 2100110 + (uint32_t)i, bad[i].nmem, bad[i].bytes, bad[i].len);
    assert_int_equal(fx_finish(&f), 0);
    assert_int_equal(grnam("good", &gr, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(gr.gr_mem[1], "bob");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = 0;
        if (grnam(bad[i].name, &gr, &err) != NSS_STATUS_UNAVAIL || err != EIO)
            fail_msg("group '%s' was not UNAVAIL/EIO", bad[i].name);
        assert_int_equal(_nss_oidc_getgrgid_r(2100110 + (gid_t)i, &gr, g_buf, sizeof(g_buf), &err),
                         NSS_STATUS_UNAVAIL);
    }
    assert_int_equal(_nss_oidc_setgrent(0), NSS_STATUS_SUCCESS);
    while (_nss_oidc_getgrent_r(&gr, g_buf, sizeof(g_buf), &err) == NSS_STATUS_SUCCESS) {
        assert_string_equal(gr.gr_name, "good");
        n++;
    }
    assert_int_equal(n, 1);
    _nss_oidc_endgrent();
}

/* The reader trusts only a regular file owned by root or by the caller and writable by nobody
 * else. */
static void test_untrusted_file(void **state)
{
    char link[PATH_MAX + 8], real[PATH_MAX + 8];

    (void)state;
    assert_int_equal(chmod(g_path, 0666), 0);
    expect_all(NSS_STATUS_UNAVAIL, NSS_STATUS_UNAVAIL);
    assert_int_equal(chmod(g_path, 0664), 0);
    expect_all(NSS_STATUS_UNAVAIL, NSS_STATUS_UNAVAIL);
    write_basic("v1");
    /* a symbolic link in its place is not followed */
    snprintf(real, sizeof(real), "%s.real", g_path);
    snprintf(link, sizeof(link), "%s", g_path);
    assert_int_equal(rename(g_path, real), 0);
    assert_int_equal(symlink(real, link), 0);
    expect_all(NSS_STATUS_UNAVAIL, NSS_STATUS_UNAVAIL);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(rename(real, g_path), 0);
}

/* A user added by the writer is answered at once; a changed entry within the recheck interval;
 * initgroups always from the newest file. */
static void test_replacement(void **state)
{
    static const uint32_t one[] = {DEVS};
    const struct fx_user dave = {"dave",       2000010,   2000010, 0, "Dave",
                                 "/home/dave", "/bin/sh", one,     1};
    struct fx f;
    struct passwd pw;
    long start = 1, size = 4;
    gid_t *groups = calloc(4, sizeof(gid_t));
    int err = 0;

    (void)state;
    assert_non_null(groups);
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_gecos, "Alice Example v1");
    assert_int_equal(pwnam("dave", &pw, &err), NSS_STATUS_NOTFOUND);
    /* v2 with dave */
    assert_int_equal(fx_open(&f, g_path), 0);
    fx_version(&f, OIDC_CACHE_VERSION);
    fx_user(&f, &dave);
    assert_int_equal(fx_finish(&f), 0);
    assert_int_equal(pwnam("dave", &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_gecos, "Dave");
    assert_int_equal(_nss_oidc_initgroups_dyn("dave", 2000010, &start, &size, &groups, 0, &err),
                     NSS_STATUS_SUCCESS);
    assert_int_equal(start, 2);
    assert_int_equal(groups[1], DEVS);
    /* back to the basic file, tag v2: within OIDC_CACHE_RECHECK_MS (+ the coarse clock) */
    write_basic("v2");
    usleep((OIDC_CACHE_RECHECK_MS + 50) * 1000);
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_gecos, "Alice Example v2");
    assert_int_equal(pwnam("dave", &pw, &err), NSS_STATUS_NOTFOUND);
    free(groups);
}

/* ---------------------------------------------------------------- freshness: cache.serial */

static const uint32_t g_dave_groups[] = {DEVS, 2100002};

/* The basic fixture's users plus dave (in devs and ops), tag in every gecos; alice's
 * supplementary groups become devs only. */
static void write_with_dave(const char *tag, int no_gen)
{
    static const uint32_t alice_groups[] = {DEVS};
    char ga[64], gd[64];
    const struct fx_user alice = {"alice",       ALICE,       ALICE,        0, ga,
                                  "/home/alice", "/bin/bash", alice_groups, 1};
    const struct fx_user dave = {"dave",       2000010,   2000010,       0, gd,
                                 "/home/dave", "/bin/sh", g_dave_groups, 2};
    struct fx f;

    snprintf(ga, sizeof(ga), "Alice Example %s", tag);
    snprintf(gd, sizeof(gd), "Dave %s", tag);
    assert_int_equal(fx_open(&f, g_path), 0);
    f.no_gen = no_gen;
    fx_version(&f, OIDC_CACHE_VERSION);
    fx_user(&f, &alice);
    fx_user(&f, &dave);
    assert_int_equal(fx_finish(&f), 0);
}

static const char *gecos_of(const char *name)
{
    static struct passwd pw;
    int err = 0;

    if (pwnam(name, &pw, &err) != NSS_STATUS_SUCCESS)
        return "(not found)";
    return pw.pw_gecos;
}

static long initgroups_of(const char *name, gid_t primary, gid_t *out, long max)
{
    long start = 1, size = 8, i;
    gid_t *groups = calloc(8, sizeof(gid_t));
    int err = 0;

    assert_non_null(groups);
    groups[0] = primary;
    if (_nss_oidc_initgroups_dyn(name, primary, &start, &size, &groups, 0, &err) !=
        NSS_STATUS_SUCCESS)
        start = -1;
    for (i = 1; i < start && i - 1 < max; i++)
        out[i - 1] = groups[i];
    free(groups);
    return start < 0 ? -1 : start - 1;
}

/* A hit sees a rewrite at once (stat mode would answer from the old file for up to
 * OIDC_CACHE_RECHECK_MS), and without a stat(). */
static void test_serial_hit_sees_rewrite_at_once(void **state)
{
    struct window w;
    int i;

    (void)state;
    assert_string_equal(gecos_of("alice"), "Alice Example v1");
    window_start(&w);
    for (i = 2; i < 6; i++) {
        char tag[16], want[32];

        snprintf(tag, sizeof(tag), "v%d", i);
        snprintf(want, sizeof(want), "Alice Example v%d", i);
        write_basic(tag);
        assert_string_equal(gecos_of("alice"), want);
        assert_string_equal(gecos_of("alice"), want);
    }
    assert_no_stat(&w);
    assert_int_equal(fx_serial_read(g_path), fx_file_gen(g_path));
}

/* A miss sees a user added a moment ago, and a removed user is gone at once; no stat(). */
static void test_serial_miss_sees_new_user_at_once(void **state)
{
    struct window w;

    (void)state;
    assert_string_equal(gecos_of("dave"), "(not found)");
    window_start(&w);
    write_with_dave("v2", 0);
    assert_string_equal(gecos_of("dave"), "Dave v2");
    assert_string_equal(gecos_of("bob"), "(not found)"); /* not in the new file */
    write_basic("v3");
    assert_string_equal(gecos_of("dave"), "(not found)");
    assert_string_equal(gecos_of("bob"), "Bob v3");
    assert_no_stat(&w);
}

/* initgroups answers from the newest file at once (a login's new groups), without a stat(). */
static void test_serial_initgroups_sees_new_groups_at_once(void **state)
{
    gid_t g[8];
    struct window w;

    (void)state;
    assert_int_equal(initgroups_of("alice", ALICE, g, 8), 3); /* devs, ops, the 32-byte one */
    assert_int_equal(initgroups_of("dave", 2000010, g, 8), -1);
    window_start(&w);
    write_with_dave("v2", 0);
    assert_int_equal(initgroups_of("alice", ALICE, g, 8), 1);
    assert_int_equal(g[0], DEVS);
    assert_int_equal(initgroups_of("dave", 2000010, g, 8), 2);
    assert_int_equal(g[0], DEVS);
    assert_int_equal(g[1], 2100002);
    write_basic("v3");
    assert_int_equal(initgroups_of("alice", ALICE, g, 8), 3);
    assert_no_stat(&w);
}

/* Many lookups on an unchanged file: no stat() and no open() (the mapping is kept). */
static void test_serial_no_syscall_on_unchanged_file(void **state)
{
    struct passwd pw;
    gid_t g[8];
    struct window w;
    int i, err = 0;

    (void)state;
    assert_string_equal(gecos_of("alice"), "Alice Example v1");
    window_start(&w);
    for (i = 0; i < 1000; i++) {
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
        assert_int_equal(pwnam("nobody-here", &pw, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(initgroups_of("alice", ALICE, g, 8), 3);
    }
    assert_no_stat(&w);
    assert_int_equal(window_opens(&w), 0);
}

/* A counter behind the mapped file's generation (a writer between its rename and its bump, or
 * a crash there) is not a reason to reload: no open() per lookup. */
static void test_serial_behind_file_does_not_reload(void **state)
{
    struct passwd pw;
    struct window w;
    int i, err = 0;

    (void)state;
    assert_true(fx_file_gen(g_path) > 1);
    assert_int_equal(fx_serial_store(g_path, 1), 0);
    write_basic("v2"); /* a new file; the fixture bumps to max(serial, its last) + 1 */
    assert_string_equal(gecos_of("alice"), "Alice Example v2");
    assert_int_equal(fx_serial_store(g_path, 1), 0); /* behind the file again */
    window_start(&w);
    for (i = 0; i < 100; i++)
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(window_opens(&w), 0);
    /* and the next bump past the file is seen */
    write_basic("v3");
    assert_string_equal(gecos_of("alice"), "Alice Example v3");
}

/* Without a usable serial the reader falls back to stat: a miss and initgroups compare with the
 * file (stat() counted) and see a rewrite at once; a hit within OIDC_CACHE_RECHECK_MS. */
static void expect_stat_mode(void)
{
    struct window w;
    gid_t g[8];

    window_start(&w);
    write_with_dave("s2", 0);
    assert_string_equal(gecos_of("dave"), "Dave s2"); /* the miss stat()ed */
    assert_true(window_stats(&w) >= 1);
    window_start(&w);
    write_basic("s3");
    assert_int_equal(initgroups_of("alice", ALICE, g, 8), 3);
    assert_true(window_stats(&w) >= 1);
    assert_string_equal(gecos_of("alice"), "Alice Example s3");
    window_start(&w);
    assert_string_equal(gecos_of("nobody-here"), "(not found)");
    assert_true(window_stats(&w) >= 1);
    /* a hit: within the recheck interval */
    write_basic("s4");
    usleep((OIDC_CACHE_RECHECK_MS + 50) * 1000);
    assert_string_equal(gecos_of("alice"), "Alice Example s4");
}

static void test_serial_missing_falls_back_to_stat(void **state)
{
    (void)state;
    fx_set_serial(0);
    assert_int_equal(unlink(g_serial), 0);
    write_basic("s1");
    assert_string_equal(gecos_of("alice"), "Alice Example s1");
    expect_stat_mode();
}

static void test_serial_damaged_falls_back_to_stat(void **state)
{
    static const char junk[16] = "not a serial....";
    int fd;

    (void)state;
    fx_set_serial(0);
    fd = open(g_serial, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
    close(fd);
    write_basic("s1");
    assert_string_equal(gecos_of("alice"), "Alice Example s1");
    expect_stat_mode();
}

static void test_serial_short_falls_back_to_stat(void **state)
{
    (void)state;
    fx_set_serial(0);
    assert_int_equal(truncate(g_serial, 8), 0); /* the magic, no counter */
    write_basic("s1");
    assert_string_equal(gecos_of("alice"), "Alice Example s1");
    expect_stat_mode();
}

/* A serial others may write could freeze every reader on an old file: not trusted. */
static void test_serial_writable_by_others_falls_back_to_stat(void **state)
{
    (void)state;
    fx_set_serial(0);
    assert_int_equal(chmod(g_serial, 0666), 0);
    write_basic("s1");
    assert_string_equal(gecos_of("alice"), "Alice Example s1");
    expect_stat_mode();
}

/* Owned by someone else than root and the caller (needs root to set up; skipped otherwise). */
static void test_serial_foreign_owner_falls_back_to_stat(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    fx_set_serial(0);
    assert_int_equal(chown(g_serial, 12345, 12345), 0);
    write_basic("s1");
    assert_string_equal(gecos_of("alice"), "Alice Example s1");
    expect_stat_mode();
}

static void test_serial_symlink_falls_back_to_stat(void **state)
{
    char real[PATH_MAX + 8];

    (void)state;
    fx_set_serial(0);
    snprintf(real, sizeof(real), "%s.real", g_serial);
    assert_int_equal(rename(g_serial, real), 0);
    assert_int_equal(symlink(real, g_serial), 0);
    write_basic("s1");
    assert_string_equal(gecos_of("alice"), "Alice Example s1");
    expect_stat_mode();
    unlink(real);
}

/* A file without the generation record (a writer that knows nothing of the serial) is checked
 * with stat, whatever the serial says. */
static void test_file_without_generation_falls_back_to_stat(void **state)
{
    struct window w;

    (void)state;
    write_with_dave("n1", 1);
    assert_string_equal(gecos_of("dave"), "Dave n1");
    window_start(&w);
    assert_string_equal(gecos_of("nobody-here"), "(not found)");
    assert_true(window_stats(&w) >= 1);
    write_basic("n2"); /* with the record and a bump: serial mode again */
    assert_string_equal(gecos_of("bob"), "Bob n2"); /* a miss in the old file: stat, reload */
    window_start(&w);
    assert_string_equal(gecos_of("nobody-here"), "(not found)");
    assert_no_stat(&w);
}

/* The backstop: a file replaced without a bump (by hand, by another tool) is noticed within
 * OIDC_CACHE_RECHECK_MS; and a serial removed and created afresh (readers hold the old one)
 * too, after which the new serial is followed. */
static void test_serial_backstop(void **state)
{
    int64_t t0;

    (void)state;
    assert_string_equal(gecos_of("alice"), "Alice Example v1");
    fx_set_serial(0);
    t0 = mono_ms();
    /* no bump */
    write_basic("b2");
    if (mono_ms() - t0 < OIDC_CACHE_RECHECK_MS / 2) /* the serial, not stat, was consulted */
        assert_string_equal(gecos_of("alice"), "Alice Example v1");
    usleep((OIDC_CACHE_RECHECK_MS + 50) * 1000);
    assert_string_equal(gecos_of("alice"), "Alice Example b2");
    /* the serial removed; the writer creates a new one */
    assert_int_equal(unlink(g_serial), 0);
    fx_set_serial(1);
    write_basic("b3");
    usleep((OIDC_CACHE_RECHECK_MS + 50) * 1000);
    assert_string_equal(gecos_of("alice"), "Alice Example b3");
    write_basic("b4"); /* followed through the new serial: at once */
    assert_string_equal(gecos_of("alice"), "Alice Example b4");
}

/* sshd (and only sshd) gets a provisional entry for a name the preauth record allows. Whether
 * the caller is sshd comes from /proc/self/exe (tests/nss/getent.sh runs a copy of getent named
 * sshd); here the reader's hook decides. */
static void set_sshd(int yes)
{
    oidc_cache_read_set_caller_sshd(yes);
}

static void test_preauth_sshd(void **state)
{
    uint32_t uid = oidc_idhash_uid("ci-builder", 10, 0x70000000u, 0x7FFFFFFEu);
    uint32_t zuid = oidc_idhash_uid("zzfoo", 5, 5000, 5999);
    struct passwd pw;
    char small[16];
    int err = 0;

    (void)state;
    set_sshd(1);
    assert_int_equal(pwnam("ci-builder", &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_name, "ci-builder");
    assert_int_equal(pw.pw_uid, uid);
    assert_int_equal(pw.pw_gid, uid);
    assert_string_equal(pw.pw_gecos, OIDC_CACHE_PROVISIONAL_GECOS);
    assert_string_equal(pw.pw_dir, "/home/ci-builder");
    assert_string_equal(pw.pw_shell, "/bin/bash");
    assert_int_equal(_nss_oidc_getpwnam_r("ci-builder", &pw, small, sizeof(small), &err),
                     NSS_STATUS_TRYAGAIN);
    assert_int_equal(err, ERANGE);
    /* the second provider, its own range and template */
    assert_int_equal(pwnam("zzfoo", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, zuid);
    assert_true(zuid >= 5000 && zuid <= 5999);
    assert_string_equal(pw.pw_dir, "/srv/zzfoo/home");
    assert_string_equal(pw.pw_shell, "/bin/sh");
    /* a cached name gets its real entry */
    assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_gecos, "Alice Example v1");
    /* not by uid */
    assert_int_equal(_nss_oidc_getpwuid_r(uid, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
    set_sshd(1);
    assert_int_equal(pwnam("new-user", &pw, &err), NSS_STATUS_SUCCESS);
    set_sshd(1);
    /* no pattern matches, or not a valid name */
    assert_int_equal(pwnam("other", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(pwnam("new-UPPER", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(pwnam("new user", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(pwnam("-new", &pw, &err), NSS_STATUS_NOTFOUND);
    /* the guard wins */
    setenv(OIDC_CACHE_LOOPS_ENV, "NO", 1);
    assert_int_equal(pwnam("ci-builder", &pw, &err), NSS_STATUS_NOTFOUND);
    unsetenv(OIDC_CACHE_LOOPS_ENV);
    set_sshd(-1);
}

static void test_preauth_not_for_others(void **state)
{
    struct passwd pw;
    int err = 0;

    (void)state;
    set_sshd(0);
    assert_int_equal(pwnam("ci-builder", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    set_sshd(0);
    assert_int_equal(pwnam("ci-builder", &pw, &err), NSS_STATUS_NOTFOUND);
    set_sshd(0);
    assert_int_equal(pwnam("ci-builder", &pw, &err), NSS_STATUS_NOTFOUND);
    set_sshd(-1);
}

/* The uid the name would hash to belongs to another cached user: no provisional entry. */
static void test_preauth_uid_taken(void **state)
{
    struct passwd pw;
    int err = 0;

    (void)state;
    set_sshd(1);
    assert_int_equal(pwnam("newsquat", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    assert_int_equal(pwnam("squatter", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, oidc_idhash_uid("newsquat", 8, 0x70000000u, 0x7FFFFFFEu));
    set_sshd(-1);
}

/* A fleet's [provider NAME idmap] override reaches sshd's provisional entry through the name's
 * "o" record: the entry of the provider whose pattern matched gives the uid (another provider's
 * entry does not), a taken override uid gives nothing, and a record that does not decode or
 * puts the uid outside the provider's range makes the lookup fail (never the hashed uid). */
static void test_preauth_override(void **state)
{
    static const struct fx_override pinned[] = {{0x70000123u, "people"}};
    static const struct fx_override other_only[] = {{5123, "other"}};
    static const struct fx_override both[] = {{0x70000456u, "people"}, {5456, "other"}};
    static const struct fx_override outside[] = {{5123, "people"}};
    /* squatter's uid */
    const struct fx_override taken[] = {
        {oidc_idhash_uid("newsquat", 8, 0x70000000u, 0x7FFFFFFEu), "people"}};
    uint32_t hashed = oidc_idhash_uid("ci-other", 8, 0x70000000u, 0x7FFFFFFEu);
    struct passwd pw;
    struct fx f;
    int err = 0;

    (void)state;
    assert_int_equal(fx_open(&f, g_path), 0);
    fx_basic(&f, "ov");
    fx_override(&f, "ci-both", both, 2);
    fx_override(&f, "ci-other", other_only, 1);
    fx_override(&f, "ci-outside", outside, 1);
    fx_override(&f, "ci-pinned", pinned, 1);
    fx_override(&f, "ci-taken", taken, 1);
    fx_override(&f, "zzboth", both, 2);
    fx_raw(&f, "oci-short", 9, "\1\0\0", 3);
    assert_int_equal(fx_finish(&f), 0);
    set_sshd(1);
    assert_int_equal(pwnam("ci-pinned", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, 0x70000123u);
    assert_int_equal(pw.pw_gid, 0x70000123u);
    assert_string_equal(pw.pw_gecos, OIDC_CACHE_PROVISIONAL_GECOS);
    assert_int_equal(pwnam("ci-other", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, hashed);
    assert_int_equal(pwnam("ci-both", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, 0x70000456u);
    assert_int_equal(pwnam("zzboth", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, 5456);
    assert_string_equal(pw.pw_dir, "/srv/zzboth/home");
    assert_int_equal(pwnam("ci-taken", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_not_equal(pwnam("ci-outside", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_not_equal(pwnam("ci-outside", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_not_equal(pwnam("ci-short", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_not_equal(pwnam("ci-short", &pw, &err), NSS_STATUS_NOTFOUND);
    /* nobody else sees provisional entries, overridden or not */
    set_sshd(0);
    assert_int_equal(pwnam("ci-pinned", &pw, &err), NSS_STATUS_NOTFOUND);
    set_sshd(-1);
    write_basic("v1");
}

/* Several preauth providers may match a name, and sshd runs the session under the uid of the
 * provisional entry before it knows whose token comes: the entry exists only when every matching
 * provider gives the name the same uid (the same range and override, or none). */
static void test_preauth_ambiguous(void **state)
{
    static const char *const all[] = {"*"};
    static const char *const jobs[] = {"job-*"};
    static const char *const far[] = {"far-*"};
    static const struct fx_preauth pa[] = {
        {0x70000000u, 0x7FFFFFFEu, "people", "/home/{name}", "/bin/bash", all, 1},
        {0x70000000u, 0x7FFFFFFEu, "ci", "/home/{name}", "/bin/sh", jobs, 1},
        {5000, 5999, "far", "/srv/{name}", "/bin/sh", far, 1},
    };
    static const struct fx_override both[] = {{0x70000100u, "people"}, {0x70000100u, "ci"}};
    static const struct fx_override ci_only[] = {{0x70000200u, "ci"}};
    static const struct fx_override ci_bad[] = {{4000, "ci"}};
    struct passwd pw;
    struct fx f;
    int err = 0;

    (void)state;
    assert_int_equal(fx_open(&f, g_path), 0);
    fx_version(&f, OIDC_CACHE_VERSION);
    fx_preauth(&f, pa, 3);
    fx_override(&f, "job-bad", ci_bad, 1);
    fx_override(&f, "job-both", both, 2);
    fx_override(&f, "job-one", ci_only, 1);
    assert_int_equal(fx_finish(&f), 0);
    set_sshd(1);
    assert_int_equal(pwnam("job-both", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, 0x70000100u);
    assert_string_equal(pw.pw_shell, "/bin/bash"); /* the first matching provider's */
    assert_int_equal(pwnam("job-plain", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, oidc_idhash_uid("job-plain", 9, 0x70000000u, 0x7FFFFFFEu));
    assert_int_equal(pwnam("alone", &pw, &err), NSS_STATUS_SUCCESS);
    /* people would give the hash, ci the override */
    assert_int_equal(pwnam("job-one", &pw, &err), NSS_STATUS_NOTFOUND);
    /* people's range and far's */
    assert_int_equal(pwnam("far-x", &pw, &err), NSS_STATUS_NOTFOUND);
    /* a matching provider's entry outside its range fails the lookup */
    assert_int_not_equal(pwnam("job-bad", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_not_equal(pwnam("job-bad", &pw, &err), NSS_STATUS_NOTFOUND);
    set_sshd(-1);
    write_basic("v1");
}

/* Without a preauth record (or with no file at all) sshd gets nothing either. */
static void test_preauth_no_record(void **state)
{
    struct passwd pw;
    int err = 0;

    (void)state;
    set_sshd(1);
    assert_int_equal(fx_write_damaged(g_path, "badrecord"), 0); /* no "p" record */
    assert_int_equal(pwnam("ci-builder", &pw, &err), NSS_STATUS_NOTFOUND);
    unlink(g_path);
    assert_int_equal(pwnam("ci-builder", &pw, &err), NSS_STATUS_NOTFOUND);
    set_sshd(-1);
    write_basic("v1");
}

/* ---------------------------------------------------------------- the lookup index
 * (cache_rec.h). The tests above run on the basic fixture with its index and without one (main);
 * these give the reader indexes that are malformed, that do not fit the file, that are wrong, or
 * that hold an overlong bucket, and check where initgroups finds the "i" record. */

static enum nss_status lookup_pwnam(int *err)
{
    struct passwd pw;

    return pwnam("alice", &pw, err);
}

static enum nss_status lookup_pwuid(int *err)
{
    struct passwd pw;

    return _nss_oidc_getpwuid_r(ALICE, &pw, g_buf, sizeof(g_buf), err);
}

static enum nss_status lookup_grnam(int *err)
{
    struct group gr;

    return grnam("devs", &gr, err);
}

static enum nss_status lookup_grgid(int *err)
{
    struct group gr;

    return _nss_oidc_getgrgid_r(DEVS, &gr, g_buf, sizeof(g_buf), err);
}

static enum nss_status lookup_initgroups(int *err)
{
    long start = 0, size = 4;
    gid_t *groups = calloc(4, sizeof(gid_t));
    enum nss_status s;

    assert_non_null(groups);
    s = _nss_oidc_initgroups_dyn("alice", ALICE, &start, &size, &groups, 0, err);
    free(groups);
    return s;
}

/* One key of each indexed type of the basic fixture, and the lookups that read it (initgroups
 * reads alice's "n" record first). */
static const struct {
    char type;
    const char *name; /* NULL: the key is by id */
    uint32_t id;
    enum nss_status (*lookup[2])(int *err);
} g_typed[] = {
    {OIDC_CACHE_K_USER_NAME, "alice", 0, {lookup_pwnam, lookup_initgroups}},
    {OIDC_CACHE_K_USER_ID, NULL, ALICE, {lookup_pwuid, NULL}},
    {OIDC_CACHE_K_GROUP_NAME, "devs", 0, {lookup_grnam, NULL}},
    {OIDC_CACHE_K_GROUP_ID, NULL, DEVS, {lookup_grgid, NULL}},
};
#define N_TYPED (sizeof(g_typed) / sizeof(g_typed[0]))

static size_t typed_key(size_t i, unsigned char *key)
{
    return g_typed[i].name != NULL ? oidc_cache_key_name(g_typed[i].type, g_typed[i].name, key)
                                   : oidc_cache_key_id(g_typed[i].type, g_typed[i].id, key);
}

/* The lookups of type g_typed[damaged] answer want (with EIO for UNAVAIL, ENOENT for NOTFOUND);
 * those of the other types, whose indexes are intact, still succeed. */
static void expect_typed(size_t damaged, enum nss_status want, const char *what)
{
    enum nss_status s, w;
    size_t i, j;
    int err;

    for (i = 0; i < N_TYPED; i++)
        for (j = 0; j < 2 && g_typed[i].lookup[j] != NULL; j++) {
            err = 0;
            w = i == damaged ? want : NSS_STATUS_SUCCESS;
            s = g_typed[i].lookup[j](&err);
            if (s != w || (w == NSS_STATUS_UNAVAIL && err != EIO) ||
                (w == NSS_STATUS_NOTFOUND && err != ENOENT))
                fail_msg("index '%c' %s: a lookup of type '%c' gave %d (errno %d), not %d",
                         g_typed[damaged].type, what, g_typed[i].type, (int)s, err, (int)w);
        }
}

static uint32_t dir_get(const unsigned char *ix, uint32_t b)
{
    return oidc_cache_get_u32(ix + 8 + 4 * (size_t)b);
}

static void dir_set(unsigned char *ix, uint32_t b, uint32_t v)
{
    oidc_cache_put_u32(ix + 8 + 4 * (size_t)b, v);
}

/* An index record to edit in place (same length): ix is the record (version, nb, directory), nb
 * its bucket count, dend where the file's records end, rec and end the offsets where the key's
 * record starts and ends, b the key's bucket (which holds it). */
struct index_at {
    unsigned char *ix;
    uint32_t nb, dend, rec, end, b;
};

struct index_edit {
    const char *what;
    void (*edit)(const struct index_at *x);
    int state; /* index_state of the edited record */
};

/* The basic fixture (tag v1) with the index of type g_typed[i] edited by e. */
static void write_edited_index(size_t i, const struct index_edit *e)
{
    const unsigned char xkey[2] = {OIDC_CACHE_K_INDEX, (unsigned char)g_typed[i].type};
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t klen = typed_key(i, key);
    struct oidc_cache_index ix;
    struct index_at x;
    struct fx_image img;
    uint32_t xpos, xv, xlen, vpos, vlen;

    write_basic("v1");
    assert_int_equal(fx_image_load(g_path, &img), 0);
    assert_int_equal(fx_image_find(&img, xkey, 2, &xpos, &xv, &xlen), 0);
    assert_int_equal(oidc_cache_index_decode(img.mem + xv, xlen, &ix), 0);
    assert_int_equal(fx_image_find(&img, key, klen, &x.rec, &vpos, &vlen), 0);
    x.ix = img.mem + xv;
    x.nb = ix.nb;
    x.dend = img.dend;
    x.end = vpos + vlen;
    x.b = oidc_cache_index_bucket(key, klen, ix.nb);
    /* the fixture's own index holds the key in its bucket */
    assert_true(dir_get(x.ix, x.b) <= x.rec && x.end <= dir_get(x.ix, x.b + 1));
    e->edit(&x);
    assert_int_equal(fx_image_store(&img, g_path), 0);
    if (index_state(g_typed[i].type) != e->state)
        fail_msg("index '%c' %s: state %d, not %d", g_typed[i].type, e->what,
                 index_state(g_typed[i].type), e->state);
}

static void edit_version(const struct index_at *x)
{
    oidc_cache_put_u32(x->ix, OIDC_CACHE_INDEX_VERSION + 1);
}

static void edit_nb_more(const struct index_at *x)
{
    oidc_cache_put_u32(x->ix + 4, x->nb + 1); /* the record is 4 bytes short for it */
}

static void edit_nb_fewer(const struct index_at *x)
{
    oidc_cache_put_u32(x->ix + 4, x->nb - 1); /* the record is 4 bytes too long for it */
}

static void edit_nb_zero(const struct index_at *x)
{
    oidc_cache_put_u32(x->ix + 4, 0);
}

/* A malformed index record: that type's lookups use the hash tables, and every answer of the
 * basic fixture stays the same. */
static void expect_basic_answers(void)
{
    test_pwnam_hit(NULL);
    test_pwuid_hit(NULL);
    test_group_hits(NULL);
    test_misses(NULL);
    test_expired(NULL);
    test_initgroups(NULL);
}

static void test_index_malformed_falls_back_to_hash_tables(void **state)
{
    static const struct index_edit edits[] = {
        {"of another version", edit_version, INDEX_MALFORMED},
        {"shorter than nb says", edit_nb_more, INDEX_MALFORMED},
        {"longer than nb says", edit_nb_fewer, INDEX_MALFORMED},
        {"with nb 0", edit_nb_zero, INDEX_MALFORMED},
    };
    size_t i, k;

    (void)state;
    for (k = 0; k < sizeof(edits) / sizeof(edits[0]); k++)
        for (i = 0; i < N_TYPED; i++) {
            write_edited_index(i, &edits[k]);
            expect_typed(i, NSS_STATUS_SUCCESS, edits[k].what);
            expect_basic_answers();
        }
}

/* Index records too short to hold a directory (a hand-made file: the other types have none). */
static void test_index_short_record_falls_back_to_hash_tables(void **state)
{
    static const unsigned char head[8] = {1, 0, 0, 0, 1, 0, 0, 0}; /* version 1, nb 1, no dir */
    static const size_t lens[] = {0, 4, 8, 11};
    unsigned char xkey[2] = {OIDC_CACHE_K_INDEX, 0};
    struct fx f;
    size_t i, k;

    (void)state;
    for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
        for (i = 0; i < N_TYPED; i++) {
            unsigned char rec[11] = {0};

            memcpy(rec, head, sizeof(head));
            xkey[1] = (unsigned char)g_typed[i].type;
            assert_int_equal(fx_open(&f, g_path), 0);
            f.lay.no_index = 1;
            fx_basic(&f, "v1");
            fx_raw(&f, xkey, 2, rec, lens[k]);
            assert_int_equal(fx_finish(&f), 0);
            assert_int_equal(index_state(g_typed[i].type), INDEX_MALFORMED);
            expect_basic_answers();
        }
}

static void edit_past_records(const struct index_at *x)
{
    uint32_t b;

    for (b = 0; b <= x->nb; b++)
        dir_set(x->ix, b, x->dend + 8); /* into the hash tables */
}

static void edit_past_file(const struct index_at *x)
{
    uint32_t b;

    for (b = 0; b <= x->nb; b++)
        dir_set(x->ix, b, UINT32_MAX - 3 * (x->nb - b)); /* far outside the mapping */
}

static void edit_last_past_records(const struct index_at *x)
{
    uint32_t b;

    for (b = x->b + 1; b <= x->nb; b++) /* the key's bucket ends past the records */
        dir_set(x->ix, b, x->dend + 1);
}

static void edit_into_header(const struct index_at *x)
{
    uint32_t b;

    for (b = 0; b <= x->nb; b++)
        dir_set(x->ix, b, 1024); /* inside the CDB header's table of contents */
}

/* cut: the key's bucket ends one byte before the key's record does, or inside its 8-byte CDB
 * header; or the bucket starts one byte into the record. The directory keeps its shape (the
 * loader's oidc_cache_index_check passes): only the lookup's own bounds checks see it. */
static void edit_cut_value(const struct index_at *x)
{
    dir_set(x->ix, x->b + 1, x->end - 1);
}

static void edit_cut_header(const struct index_at *x)
{
    dir_set(x->ix, x->b + 1, x->rec + 4);
}

static void edit_start_inside(const struct index_at *x)
{
    dir_set(x->ix, x->b, x->rec + 1);
}

static int is_answer(enum nss_status s)
{
    return s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND || s == NSS_STATUS_UNAVAIL;
}

/* Every name and id of the basic fixture and around it, by every lookup: an answer of some kind,
 * whatever buckets the damage reaches. */
static void lookups_answer_something(void)
{
    static const char *const names[] = {"alice",    "bob",      "carol",   "devs",    "ops",
                                        "big",      "nobody",   "lowuid",  "lowgid",  "oldgrp",
                                        "wheelish", "emptygrp", FX_NAME32, "squatter"};
    struct passwd pw;
    struct group gr;
    gid_t g[8];
    size_t i;
    int err;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_true(is_answer(pwnam(names[i], &pw, &err)));
        assert_true(is_answer(grnam(names[i], &gr, &err)));
        (void)initgroups_of(names[i], 1, g, 8);
    }
    for (i = 0; i < 16; i++) {
        assert_true(
            is_answer(_nss_oidc_getpwuid_r(2000000 + (uid_t)i, &pw, g_buf, sizeof(g_buf), &err)));
        assert_true(
            is_answer(_nss_oidc_getgrgid_r(2100000 + (gid_t)i, &gr, g_buf, sizeof(g_buf), &err)));
    }
}

/* Bounds that do not fit the file: lookups of that type are UNAVAIL (OIDC_ERR_PARSE, as for any
 * corrupt file), those of the other types are unaffected, and no lookup crashes (a read far
 * outside the file would fault; the ASan and valgrind stages run this; fuzz_cache_rec walks
 * indexes over a heap copy, where ASan sees a read one byte too far). */
static void test_index_out_of_bounds_unavail(void **state)
{
    static const struct index_edit edits[] = {
        {"past the records end", edit_past_records, INDEX_BAD_SHAPE},
        {"past the file", edit_past_file, INDEX_BAD_SHAPE},
        {"with the key's bucket ending past the records", edit_last_past_records, INDEX_BAD_SHAPE},
        {"into the CDB header", edit_into_header, INDEX_BAD_SHAPE},
        {"cutting the key's record", edit_cut_value, INDEX_OK},
        {"cutting the key's record header", edit_cut_header, INDEX_OK},
        {"starting inside the key's record", edit_start_inside, INDEX_OK},
    };
    size_t i, k;

    (void)state;
    for (k = 0; k < sizeof(edits) / sizeof(edits[0]); k++)
        for (i = 0; i < N_TYPED; i++) {
            write_edited_index(i, &edits[k]);
            expect_typed(i, NSS_STATUS_UNAVAIL, edits[k].what);
            lookups_answer_something();
        }
}

/* A well-formed index that is wrong: the key's bucket ends where the key's record begins, so the
 * key lies in the next bucket's range. The index is authoritative when present (NOTFOUND, not
 * a second look in the hash tables); 'oidcctl cache verify' reports such a file. */
static void edit_shift(const struct index_at *x)
{
    dir_set(x->ix, x->b + 1, x->rec);
}

static void test_index_wrong_bucket_notfound(void **state)
{
    static const struct index_edit shift = {"with the key out of its bucket", edit_shift, INDEX_OK};
    struct passwd pw;
    size_t i;
    int err = 0;

    (void)state;
    for (i = 0; i < N_TYPED; i++) {
        write_edited_index(i, &shift);
        expect_typed(i, NSS_STATUS_NOTFOUND, shift.what);
    }
    /* the other entries of the type still answer */
    assert_int_equal(pwnam("bob", &pw, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(_nss_oidc_getpwuid_r(BOB, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_SUCCESS);
}

/* A hand-made index with one bucket over the "n" (then the "u") records of OVL_USERS users, each
 * followed by its "i" record: more than OIDC_CACHE_INDEX_WALK_MAX records, so a walk gives up and
 * the hash tables answer. The bucket leaves the last user's records out: that user is found only
 * because the reader does fall back (a walk to the bucket's end would say NOTFOUND). */
#define OVL_USERS 100
#define OVL_UID   2200000u

/* The run of records of type t (with the "i" records that follow them) in a file without an
 * index: from *lo to *hi, the last record of type t at *last; the number of records in it. */
static unsigned type_run(const struct fx_image *img, char t, uint32_t *lo, uint32_t *last,
                         uint32_t *hi)
{
    const unsigned char *k, *v;
    uint32_t at = 2048, kl, vl;
    unsigned n = 0;

    *lo = *last = *hi = 0;
    for (; oidc_cache_record_at(img->mem, img->dend, at, &k, &kl, &v, &vl) == 0;
         at += 8 + kl + vl) {
        if (kl > 0 && k[0] == (unsigned char)t) {
            if (n == 0)
                *lo = at;
            *last = at;
        } else if (n == 0 || kl == 0 || k[0] != OIDC_CACHE_K_INITGROUPS || at != *hi) {
            if (n > 0)
                break;
            continue;
        }
        *hi = at + 8 + kl + vl;
        n++;
    }
    return n;
}

static void write_overlong(void)
{
    static const unsigned char placeholder[16] = {1, 0, 0, 0, 1, 0, 0, 0}; /* v1, nb 1 */
    static const uint32_t groups[] = {DEVS};
    unsigned char xkey[2] = {OIDC_CACHE_K_INDEX, 0};
    const char *t;
    char name[16];
    struct fx_image img;
    struct fx f;
    uint32_t lo, last, hi, xpos, xv, xlen;
    unsigned i, n;

    assert_int_equal(fx_open(&f, g_path), 0);
    f.lay.no_index = 1; /* the records in the order added, and our own index records */
    fx_version(&f, OIDC_CACHE_VERSION);
    for (i = 0; i < OVL_USERS; i++) {
        const struct fx_user u = {name, OVL_UID + i, OVL_UID + i, 0, "Ovl",
                                  "/",  "/bin/sh",   groups,      1};

        snprintf(name, sizeof(name), "ovl%03u", i);
        fx_user(&f, &u);
    }
    for (t = "nu"; *t != '\0'; t++) {
        xkey[1] = (unsigned char)*t;
        fx_raw(&f, xkey, 2, placeholder, sizeof(placeholder));
    }
    assert_int_equal(fx_finish(&f), 0);
    /* the same bytes, with the directories pointing at the runs the records form */
    assert_int_equal(fx_image_load(g_path, &img), 0);
    for (t = "nu"; *t != '\0'; t++) {
        xkey[1] = (unsigned char)*t;
        n = type_run(&img, *t, &lo, &last, &hi);
        assert_int_equal(n, *t == OIDC_CACHE_K_USER_NAME ? 2 * OVL_USERS : OVL_USERS);
        assert_true(n - 2 > OIDC_CACHE_INDEX_WALK_MAX);
        assert_int_equal(fx_image_find(&img, xkey, 2, &xpos, &xv, &xlen), 0);
        dir_set(img.mem + xv, 0, lo);
        dir_set(img.mem + xv, 1, last); /* all but the last user */
    }
    assert_int_equal(fx_image_store(&img, g_path), 0);
    assert_int_equal(index_state(OIDC_CACHE_K_USER_NAME), INDEX_OK);
    assert_int_equal(index_state(OIDC_CACHE_K_USER_ID), INDEX_OK);
}

static void test_index_overlong_bucket_falls_back_to_hash_tables(void **state)
{
    struct passwd pw;
    char name[16];
    gid_t g[4];
    unsigned i;
    int err = 0;

    (void)state;
    write_overlong();
    for (i = 0; i < OVL_USERS; i++) {
        snprintf(name, sizeof(name), "ovl%03u", i);
        if (pwnam(name, &pw, &err) != NSS_STATUS_SUCCESS || pw.pw_uid != OVL_UID + i)
            fail_msg("%s not found by name", name);
        if (_nss_oidc_getpwuid_r(OVL_UID + i, &pw, g_buf, sizeof(g_buf), &err) !=
                NSS_STATUS_SUCCESS ||
            strcmp(pw.pw_name, name) != 0)
            fail_msg("%s not found by uid", name);
    }
    assert_int_equal(initgroups_of("ovl000", OVL_UID, g, 4), 1);
    assert_int_equal(g[0], DEVS);
    assert_int_equal(initgroups_of("ovl099", OVL_UID + 99, g, 4), 1);
    assert_int_equal(g[0], DEVS);
    assert_int_equal(pwnam("ovl100", &pw, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(err, ENOENT);
    assert_int_equal(_nss_oidc_getpwuid_r(OVL_UID + OVL_USERS, &pw, g_buf, sizeof(g_buf), &err),
                     NSS_STATUS_NOTFOUND);
}

/* initgroups reads the "i" record right after the user's "n" record when its key is the user's,
 * and looks it up otherwise. Two users with names of the same length: */
enum ig_layout {
    IG_FOLLOWS,  /* the writer's layout: each "i" right after its "n" */
    IG_NO_INDEX, /* the same order, no index (the reader does not look after "n") */
    IG_APART,    /* the "i" records stored among the unindexed types, away from "n" */
    IG_SWAPPED,  /* after each "n" the other user's "i" record */
};

static const uint32_t g_ig_alice[] = {DEVS, 2100002}, g_ig_bobby[] = {2100006};

static void write_ig_layout(enum ig_layout how)
{
    const struct fx_user users[2] = {
        {"alice", ALICE, ALICE, 0, "A", "/home/alice", "/bin/sh", g_ig_alice, 2},
        {"bobby", 2000020, 2000020, 0, "B", "/home/bobby", "/bin/sh", g_ig_bobby, 1},
    };
    struct fx f;
    size_t i;

    assert_int_equal(fx_open(&f, g_path), 0);
    f.lay.no_index = how == IG_NO_INDEX;
    fx_version(&f, OIDC_CACHE_VERSION);
    for (i = 0; i < 2; i++) {
        fx_user_pw(&f, &users[i], OIDC_CACHE_K_USER_NAME);
        fx_user_ig(&f, &users[how == IG_SWAPPED ? 1 - i : i],
                   how == IG_APART ? 0 : OIDC_CACHE_LAYOUT_FOLLOW);
        fx_user_pw(&f, &users[i], OIDC_CACHE_K_USER_ID);
    }
    assert_int_equal(fx_finish(&f), 0);
}

/* The key of the record right after name's "n" record, as "type + name" ("?" when none). */
static void record_after_user(const char *name, char *out, size_t cap)
{
    unsigned char key[OIDC_CACHE_KEY_MAX];
    size_t klen = oidc_cache_key_name(OIDC_CACHE_K_USER_NAME, name, key);
    const unsigned char *k, *v;
    struct fx_image img;
    uint32_t pos, vpos, vlen, kl, vl;

    assert_int_equal(fx_image_load(g_path, &img), 0);
    assert_int_equal(fx_image_find(&img, key, klen, &pos, &vpos, &vlen), 0);
    if (oidc_cache_record_at(img.mem, img.dend, vpos + vlen, &k, &kl, &v, &vl) == 0)
        snprintf(out, cap, "%.*s", (int)kl, (const char *)k);
    else
        snprintf(out, cap, "?");
    fx_image_free(&img);
}

static void expect_ig_answers(void)
{
    gid_t g[4];

    assert_int_equal(initgroups_of("alice", ALICE, g, 4), 2);
    assert_int_equal(g[0], g_ig_alice[0]);
    assert_int_equal(g[1], g_ig_alice[1]);
    assert_int_equal(initgroups_of("bobby", 2000020, g, 4), 1);
    assert_int_equal(g[0], g_ig_bobby[0]);
}

static void test_initgroups_same_whatever_the_layout(void **state)
{
    char after[64];

    (void)state;
    write_ig_layout(IG_FOLLOWS);
    assert_int_equal(index_state(OIDC_CACHE_K_USER_NAME), INDEX_OK);
    record_after_user("alice", after, sizeof(after));
    assert_string_equal(after, "ialice");
    expect_ig_answers();
    write_ig_layout(IG_NO_INDEX);
    assert_int_equal(index_state(OIDC_CACHE_K_USER_NAME), INDEX_NONE);
    expect_ig_answers();
    write_ig_layout(IG_APART);
    assert_int_equal(index_state(OIDC_CACHE_K_USER_NAME), INDEX_OK);
    record_after_user("alice", after, sizeof(after));
    assert_true(after[0] != OIDC_CACHE_K_INITGROUPS);
    expect_ig_answers();
}

/* Another user's "i" record right after the "n" record (same key length, other name) is not
 * taken for this user's. */
static void test_initgroups_ignores_other_users_record_after_user(void **state)
{
    char after[64];

    (void)state;
    write_ig_layout(IG_SWAPPED);
    record_after_user("alice", after, sizeof(after));
    assert_string_equal(after, "ibobby");
    record_after_user("bobby", after, sizeof(after));
    assert_string_equal(after, "ialice");
    expect_ig_answers();
}

/* A test of the basic fixture, run on the file with its lookup index and on the same file
 * without one (written before the index existed): the answers must not differ. */
#define BOTH_LAYOUTS(f)                                             \
    cmocka_unit_test_setup_teardown(f, setup, teardown),            \
    {                                                               \
#f "_without_index", f, setup_without_index, teardown, NULL \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH_LAYOUTS(test_pwnam_hit),
        BOTH_LAYOUTS(test_pwuid_hit),
        BOTH_LAYOUTS(test_group_hits),
        BOTH_LAYOUTS(test_misses),
        BOTH_LAYOUTS(test_erange_every_size_pw),
        BOTH_LAYOUTS(test_erange_every_size_gr),
        BOTH_LAYOUTS(test_expired),
        BOTH_LAYOUTS(test_id_floor),
        BOTH_LAYOUTS(test_name_limits),
        cmocka_unit_test_setup_teardown(test_recursion_guard, setup, teardown),
        BOTH_LAYOUTS(test_initgroups),
        BOTH_LAYOUTS(test_enumerate_users),
        BOTH_LAYOUTS(test_enumerate_groups),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_corrupt_garbage, setup, teardown),
        BOTH_LAYOUTS(test_bad_record),
        BOTH_LAYOUTS(test_group_bad_members),
        cmocka_unit_test_setup_teardown(test_untrusted_file, setup, teardown),
        BOTH_LAYOUTS(test_replacement),
        cmocka_unit_test_setup_teardown(test_serial_hit_sees_rewrite_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_miss_sees_new_user_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_initgroups_sees_new_groups_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serial_no_syscall_on_unchanged_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_behind_file_does_not_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_missing_falls_back_to_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_damaged_falls_back_to_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_short_falls_back_to_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_writable_by_others_falls_back_to_stat, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serial_foreign_owner_falls_back_to_stat, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serial_symlink_falls_back_to_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_without_generation_falls_back_to_stat, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serial_backstop, setup, teardown),
        BOTH_LAYOUTS(test_preauth_sshd),
        cmocka_unit_test_setup_teardown(test_preauth_not_for_others, setup, teardown),
        BOTH_LAYOUTS(test_preauth_uid_taken),
        cmocka_unit_test_setup_teardown(test_preauth_no_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preauth_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preauth_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_malformed_falls_back_to_hash_tables, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_index_short_record_falls_back_to_hash_tables, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_index_out_of_bounds_unavail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_wrong_bucket_notfound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_overlong_bucket_falls_back_to_hash_tables, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_initgroups_same_whatever_the_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initgroups_ignores_other_users_record_after_user,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
