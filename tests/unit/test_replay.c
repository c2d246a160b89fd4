/* replay: the file-per-token store of used tokens. Each test gets its own state directory under
 * a mkdtemp() directory; entry names are recomputed here (SHA-256 of issuer "\0" jti, or of
 * issuer "\0" "#" token) so the on-disk naming is checked too. The concurrency tests fork real
 * processes that race for one token. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "replay.h"
#include "replay_int.h"

#define ISS    "https://idp.example.test"
#define ISS2   "https://other.example.test"
#define NOW    1700000000
#define EXP    (NOW + 600)
#define RACERS 16

struct fixture {
    char dir[64];   /* state_dir */
    char store[96]; /* state_dir/replay */
    struct oidc_err err;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/test_replay.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->store, sizeof(f->store), "%s/" OIDC_REPLAY_DIR, f->dir);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    chmod(f->store, 0700);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int record(struct fixture *f, const char *iss, const char *jti, int64_t exp, int64_t now)
{
    memset(&f->err, 0, sizeof(f->err));
    return oidc_replay_record(f->dir, iss, jti, NULL, 0, exp, now, &f->err);
}

static int record_token(struct fixture *f, const char *token, int64_t exp, int64_t now)
{
    memset(&f->err, 0, sizeof(f->err));
    return oidc_replay_record(f->dir, ISS, NULL, token, strlen(token), exp, now, &f->err);
}

static int record_max(struct fixture *f, const char *jti, int64_t exp, int64_t now, size_t max)
{
    memset(&f->err, 0, sizeof(f->err));
    return oidc_replay_record_max(f->dir, ISS, jti, NULL, 0, exp, now, max, &f->err);
}

static void assert_msg(const struct fixture *f, const char *want)
{
    if (strstr(f->err.msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", f->err.msg, want);
}

/* The entry path for issuer + jti, or (jti NULL) for the token itself. */
static const char *entry_path(const struct fixture *f, const char *iss, const char *jti,
                              const char *token, char *buf, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    char hex[65];
    unsigned len = 0, i;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, iss, strlen(iss) + 1), 1);
    if (jti != NULL) {
        assert_int_equal(EVP_DigestUpdate(ctx, jti, strlen(jti)), 1);
    } else {
        assert_int_equal(EVP_DigestUpdate(ctx, "#", 1), 1);
        /* the signing input: the signature (after the last '.') is not part of the key */
        assert_int_equal(EVP_DigestUpdate(ctx, token, strrchr(token, '.') - token), 1);
    }
    assert_int_equal(EVP_DigestFinal_ex(ctx, md, &len), 1);
    EVP_MD_CTX_free(ctx);
    for (i = 0; i < len; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    snprintf(buf, n, "%s/%s", f->store, hex);
    return buf;
}

/* Number of entries (64 hex characters) in the store. */
static size_t count_entries(const struct fixture *f)
{
    struct dirent *de;
    size_t n = 0;
    DIR *d = opendir(f->store);

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strlen(de->d_name) == 64)
            n++;
    closedir(d);
    return n;
}

static void write_entry(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    assert_int_equal(close(fd), 0);
}

/* ---------------------------------------------------------------- first use and replays */

static void test_first_use_ok(void **state)
{
    struct fixture *f = *state;
    char path[256], buf[64];
    struct stat st;
    FILE *fp;

    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_OK);
    /* the store is created private, the entry is named by the hash and holds exp */
    assert_int_equal(lstat(f->store, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    entry_path(f, ISS, "jti-1", NULL, path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    assert_string_equal(buf, "1700000600\n");
    assert_int_equal(count_entries(f), 1);
}

static void test_second_use_refused(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_OK);
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW + 1), OIDC_ERR_DENIED);
    assert_string_equal(f->err.msg, "token already used (jti 'jti-1')");
    /* right up to exp, and through the leeway after it */
    assert_int_equal(record(f, ISS, "jti-1", EXP, EXP), OIDC_ERR_DENIED);
    assert_int_equal(record(f, ISS, "jti-1", EXP, EXP + OIDC_REPLAY_GRACE), OIDC_ERR_DENIED);
    assert_int_equal(count_entries(f), 1);
}

static void test_replay_message_escapes_jti(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(record(f, ISS, "a\nb\033c", EXP, NOW), OIDC_OK);
    assert_int_equal(record(f, ISS, "a\nb\033c", EXP, NOW), OIDC_ERR_DENIED);
    assert_string_equal(f->err.msg, "token already used (jti 'a?b?c')");
}

static void test_same_jti_other_issuer_ok(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_OK);
    assert_int_equal(record(f, ISS2, "jti-1", EXP, NOW), OIDC_OK);
    assert_int_equal(record(f, ISS, "jti-2", EXP, NOW), OIDC_OK);
    assert_int_equal(count_entries(f), 3);
    assert_int_equal(record(f, ISS2, "jti-1", EXP, NOW), OIDC_ERR_DENIED);
}

static void test_expired_entry_replaced(void **state)
{
    struct fixture *f = *state;
    int64_t later = EXP + OIDC_REPLAY_GRACE + 1;

    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_OK);
    /* the issuer reused the jti for a new token once the old one expired */
    assert_int_equal(record(f, ISS, "jti-1", later + 600, later), OIDC_OK);
    assert_int_equal(count_entries(f), 1);
    assert_int_equal(record(f, ISS, "jti-1", later + 600, later + 1), OIDC_ERR_DENIED);
}

static void test_no_jti_keyed_by_signing_input(void **state)
{
    struct fixture *f = *state;
    char path[256];
    struct stat st;

    assert_int_equal(record_token(f, "aaa.bbb.ccc", EXP, NOW), OIDC_OK);
    assert_int_equal(lstat(entry_path(f, ISS, NULL, "aaa.bbb.ccc", path, sizeof(path)), &st), 0);
    assert_int_equal(record_token(f, "aaa.bbb.ccc", EXP, NOW), OIDC_ERR_DENIED);
    assert_string_equal(f->err.msg,
                        "token already used (it has no jti; recognised by its SHA-256)");
    /* another encoding of the signature (ECDSA's (r, n - s)) is the same token */
    assert_int_equal(record_token(f, "aaa.bbb.ccd", EXP, NOW), OIDC_ERR_DENIED);
    /* another payload is another token */
    assert_int_equal(record_token(f, "aaa.bbc.ccc", EXP, NOW), OIDC_OK);
    /* a token whose text equals some jti does not collide with that jti */
    assert_int_equal(record(f, ISS, "aaa.bbb.ccc", EXP, NOW), OIDC_OK);
    /* only the given length counts */
    memset(&f->err, 0, sizeof(f->err));
    assert_int_equal(oidc_replay_record(f->dir, ISS, NULL, "aaa.bbb.cccXYZ", 11, EXP, NOW, &f->err),
                     OIDC_ERR_DENIED);
}

static void test_unreadable_entry_refused(void **state)
{
    struct fixture *f = *state;
    char path[256];

    /* an entry whose writer has not written yet (or a damaged one) counts as used */
    assert_int_equal(record(f, ISS, "other", EXP, NOW), OIDC_OK);
    write_entry(entry_path(f, ISS, "jti-1", NULL, path, sizeof(path)), "");
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_ERR_DENIED);
    write_entry(path, "12ab\n");
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_ERR_DENIED);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/dev/null", path), 0);
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_ERR_DENIED);
}

static void test_bad_arguments_refused(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(oidc_replay_record(NULL, ISS, "j", NULL, 0, EXP, NOW, NULL), OIDC_ERR_INVALID);
    assert_int_equal(oidc_replay_record("", ISS, "j", NULL, 0, EXP, NOW, NULL), OIDC_ERR_INVALID);
    assert_int_equal(oidc_replay_record(f->dir, NULL, "j", NULL, 0, EXP, NOW, NULL),
                     OIDC_ERR_INVALID);
    /* neither a jti nor a token: nothing to key on */
    assert_int_equal(oidc_replay_record(f->dir, ISS, NULL, NULL, 0, EXP, NOW, NULL),
                     OIDC_ERR_INVALID);
    assert_int_equal(oidc_replay_record(f->dir, ISS, NULL, "x", 0, EXP, NOW, NULL),
                     OIDC_ERR_INVALID);
}

/* ---------------------------------------------------------------- the directory */

static void test_bad_directory_permissions_refused(void **state)
{
    struct fixture *f = *state;
    static const mode_t bad[] = {0755, 0750, 0701, 0770, 0707};
    size_t i;

    assert_int_equal(mkdir(f->store, 0700), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[64];

        assert_int_equal(chmod(f->store, bad[i]), 0);
        assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_ERR_IO);
        snprintf(want, sizeof(want), "refused: mode %04o", (unsigned)bad[i]);
        assert_msg(f, want);
        assert_msg(f, f->store);
    }
    assert_int_equal(count_entries(f), 0);
    assert_int_equal(chmod(f->store, 0700), 0);
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_OK);
}

static void test_directory_symlink_refused(void **state)
{
    struct fixture *f = *state;
    char real[128];

    snprintf(real, sizeof(real), "%s/real", f->dir);
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, f->store), 0);
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_ERR_IO);
    assert_msg(f, "refused: not a directory or a symbolic link");
}

static void test_directory_not_a_directory_refused(void **state)
{
    struct fixture *f = *state;

    write_entry(f->store, "");
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_ERR_IO);
    assert_msg(f, "refused: not a directory");
}

static void test_directory_other_owner_refused(void **state)
{
    struct fixture *f = *state;

    if (geteuid() != 0) {
        print_message("not root: cannot give the store to another user; skipped\n");
        skip();
    }
    assert_int_equal(mkdir(f->store, 0700), 0);
    assert_int_equal(chown(f->store, 65534, 65534), 0);
    assert_int_equal(record(f, ISS, "jti-1", EXP, NOW), OIDC_ERR_IO);
    assert_msg(f, "refused: owned by uid 65534 (expected uid 0)");
}

static void test_missing_state_dir_fails(void **state)
{
    struct fixture *f = *state;
    char missing[128];

    snprintf(missing, sizeof(missing), "%s/absent", f->dir);
    memset(&f->err, 0, sizeof(f->err));
    assert_int_equal(oidc_replay_record(missing, ISS, "j", NULL, 0, EXP, NOW, &f->err),
                     OIDC_ERR_IO);
    assert_msg(f, "cannot open");
}

/* ---------------------------------------------------------------- bound and purge */

static void test_store_full_fails_closed(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(record_max(f, "a", EXP, NOW, 3), OIDC_OK);
    assert_int_equal(record_max(f, "b", EXP, NOW, 3), OIDC_OK);
    assert_int_equal(record_max(f, "c", EXP, NOW, 3), OIDC_OK);
    assert_int_equal(record_max(f, "d", EXP, NOW, 3), OIDC_ERR_IO);
    assert_msg(f, "is full (3 entries of tokens that have not expired)");
    assert_int_equal(count_entries(f), 3);
    /* a replay is still named as a replay */
    assert_int_equal(record_max(f, "a", EXP, NOW, 3), OIDC_ERR_DENIED);
    /* and the real bound is the documented one */
    assert_int_equal(record(f, ISS, "d", EXP, NOW), OIDC_OK);
}

static void test_store_full_purges_expired(void **state)
{
    struct fixture *f = *state;
    int64_t soon = NOW - 280; /* still valid at NOW (within the grace), expired at NOW + 60 */

    assert_int_equal(record_max(f, "a", soon, NOW - 2000, 3), OIDC_OK);
    assert_int_equal(record_max(f, "b", soon, NOW - 2000, 3), OIDC_OK);
    /* a periodic purge runs here (the last was 2000 s ago) and keeps a and b */
    assert_int_equal(record_max(f, "c", EXP, NOW, 3), OIDC_OK);
    assert_int_equal(count_entries(f), 3);
    /* a minute later no periodic purge is due, but the store is full: the purge runs anyway
     * and frees a and b */
    assert_int_equal(record_max(f, "d", EXP, NOW + 60, 3), OIDC_OK);
    assert_int_equal(count_entries(f), 2);
    assert_int_equal(record_max(f, "c", EXP, NOW + 60, 3), OIDC_ERR_DENIED);
    assert_int_equal(record_max(f, "e", EXP, NOW + 60, 3), OIDC_OK);
    assert_int_equal(record_max(f, "f", EXP, NOW + 60, 3), OIDC_ERR_IO);
}

static void test_periodic_purge(void **state)
{
    struct fixture *f = *state;
    char path[256];
    struct stat st;

    assert_int_equal(record(f, ISS, "first", EXP, NOW), OIDC_OK); /* purges: no purge yet */
    assert_int_equal(record(f, ISS, "old", NOW - 1000, NOW + 1), OIDC_OK);
    assert_int_equal(lstat(entry_path(f, ISS, "old", NULL, path, sizeof(path)), &st), 0);
    /* "old" has expired, but the last purge is less than the interval ago: it stays */
    assert_int_equal(record(f, ISS, "new1", EXP, NOW + 100), OIDC_OK);
    assert_int_equal(lstat(path, &st), 0);
    /* once the interval has passed, the next recording purges it */
    assert_int_equal(record(f, ISS, "new2", EXP, NOW + OIDC_REPLAY_PURGE_INTERVAL), OIDC_OK);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(count_entries(f), 3);
}

static void test_purge_keeps_fresh_unreadable_entry(void **state)
{
    struct fixture *f = *state;
    char path[256];
    struct stat st;

    /* an empty entry just created by a concurrent writer survives a purge */
    assert_int_equal(mkdir(f->store, 0700), 0);
    write_entry(entry_path(f, ISS, "busy", NULL, path, sizeof(path)), "");
    assert_int_equal(record(f, ISS, "x", EXP, (int64_t)time(NULL)), OIDC_OK);
    assert_int_equal(lstat(path, &st), 0);
    /* one older than the purge interval is removed */
    assert_int_equal(record(f, ISS, "y", EXP, (int64_t)time(NULL) + 2 * OIDC_REPLAY_PURGE_INTERVAL),
                     OIDC_OK);
    assert_int_equal(lstat(path, &st), -1);
}

/* ---------------------------------------------------------------- concurrency */

/* Forks RACERS processes that wait on a pipe, then record the same jti at once; returns how
 * many got OIDC_OK and checks the others were refused as replays. */
static int race(struct fixture *f, const char *jti, int64_t now)
{
    pid_t pids[RACERS];
    int go[2], i, status, wins = 0, refused = 0;
    char c;

    assert_int_equal(pipe(go), 0);
    for (i = 0; i < RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct oidc_err err = {0};
            int r;

            close(go[1]);
            if (read(go[0], &c, 1) != 0) /* EOF when the parent closes: everyone starts */
                _exit(3);
            r = oidc_replay_record(f->dir, ISS, jti, NULL, 0, now + 600, now, &err);
            _exit(r == OIDC_OK ? 0 : r == OIDC_ERR_DENIED ? 1 : 2);
        }
    }
    close(go[0]);
    close(go[1]);
    for (i = 0; i < RACERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 0)
            wins++;
        else if (WEXITSTATUS(status) == 1)
            refused++;
    }
    assert_int_equal(wins + refused, RACERS);
    return wins;
}

static void test_concurrent_same_token_one_wins(void **state)
{
    struct fixture *f = *state;
    int round;

    for (round = 0; round < 5; round++) {
        char jti[16];

        snprintf(jti, sizeof(jti), "race-%d", round);
        assert_int_equal(race(f, jti, NOW), 1);
    }
    assert_int_equal(count_entries(f), 5);
}

static void test_concurrent_expired_replacement_one_wins(void **state)
{
    struct fixture *f = *state;
    int round;

    /* every racer finds the expired entry and tries to replace it; no periodic purge is due
     * (the entry was recorded, with a purge, 100 s before), so the replacement path runs */
    for (round = 0; round < 5; round++) {
        int64_t now = NOW + (int64_t)round * 10000;
        char path[256];
        struct stat st;

        assert_int_equal(record(f, ISS, "reused", now - OIDC_REPLAY_GRACE - 50, now - 100),
                         OIDC_OK);
        assert_int_equal(lstat(entry_path(f, ISS, "reused", NULL, path, sizeof(path)), &st), 0);
        assert_int_equal(race(f, "reused", now), 1);
    }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_first_use_ok),
        T(test_second_use_refused),
        T(test_replay_message_escapes_jti),
        T(test_same_jti_other_issuer_ok),
        T(test_expired_entry_replaced),
        T(test_no_jti_keyed_by_signing_input),
        T(test_unreadable_entry_refused),
        T(test_bad_arguments_refused),
        T(test_bad_directory_permissions_refused),
        T(test_directory_symlink_refused),
        T(test_directory_not_a_directory_refused),
        T(test_directory_other_owner_refused),
        T(test_missing_state_dir_fails),
        T(test_store_full_fails_closed),
        T(test_store_full_purges_expired),
        T(test_periodic_purge),
        T(test_purge_keeps_fresh_unreadable_entry),
        T(test_concurrent_same_token_one_wins),
        T(test_concurrent_expired_replacement_one_wins),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
