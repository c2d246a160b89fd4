/* Replay protection (see replay.h): one file per used token under STATE_DIR/replay.
 *
 * First use is an O_CREAT|O_EXCL create, so among concurrent logins with one token exactly one
 * creates the file; the others find it and are refused. An entry whose token has expired (exp +
 * OIDC_REPLAY_GRACE passed) is replaced, and purged by the periodic scan. Removing an entry (to
 * replace it, or in a purge) happens only under an exclusive flock on replay/.lock after the
 * entry was re-read under that lock, so a fresh entry is never removed by a process that saw its
 * expired predecessor. An entry that cannot be read (empty while its writer is still writing, or
 * damaged) counts as used: fail closed; the purge removes it once it is older than
 * OIDC_REPLAY_PURGE_INTERVAL. The bound is checked before the create, so concurrent logins may
 * pass it by at most their number. */
#include "config.h"
#include "replay.h"
#include "replay_int.h"
#include "replay_redis.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define KEY_HEX    OIDC_REPLAY_KEY_HEX /* hex SHA-256: the name of an entry */
#define ENTRY_MAX  32                  /* bytes of an entry's content: a decimal exp and '\n' */
#define SHOW_JTI   64                  /* bytes of a jti quoted in a message */
#define SHOWN_PATH 512
#define ATTEMPTS   3 /* create attempts when entries are replaced concurrently */

struct store {
    int fd;                 /* STATE_DIR/replay */
    int lock_fd;            /* replay/.lock while held, else -1 */
    char shown[SHOWN_PATH]; /* STATE_DIR/replay, for messages */
};

static int is_entry_name(const char *s)
{
    size_t i;

    for (i = 0; i < KEY_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[KEY_HEX] == '\0';
}

/* hex SHA-256 of issuer "\0" jti, or of issuer "\0" "#" and the token's signing input (header
 * "." payload, everything before the last '.'). Not the whole token: an ECDSA signature (r, s) has
 * a second valid form (r, n - s), so a token without jti would be new again with it re-encoded.
 * The token has been verified, so it is a compact JWS with its two dots. */
int oidc_replay_key_hex(const char *issuer, const char *jti, const char *token, size_t token_len,
                        char out[KEY_HEX + 1])
{
    static const char hexd[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (ctx == NULL)
        return OIDC_ERR_NOMEM;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, issuer, strlen(issuer) + 1) == 1; /* with its NUL */
    if (ok && jti != NULL)
        ok = EVP_DigestUpdate(ctx, jti, strlen(jti)) == 1;
    else if (ok) {
        const char *dot = memrchr(token, '.', token_len);

        if (dot != NULL)
            token_len = (size_t)(dot - token);
        ok = EVP_DigestUpdate(ctx, "#", 1) == 1 && EVP_DigestUpdate(ctx, token, token_len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == KEY_HEX / 2;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return OIDC_ERR_INTERNAL;
    for (i = 0; i < n; i++) {
        out[2 * i] = hexd[md[i] >> 4];
        out[2 * i + 1] = hexd[md[i] & 15];
    }
    out[KEY_HEX] = '\0';
    return OIDC_OK;
}

/* Opens STATE_DIR/replay, creating it 0700; refuses anything but a directory of ours that group
 * and others cannot access. */
static int store_open(const char *state_dir, struct store *s, struct oidc_err *err)
{
    struct stat st;
    int dfd, e;

    s->fd = -1;
    s->lock_fd = -1;
    if ((size_t)snprintf(s->shown, sizeof(s->shown), "%s/%s", state_dir, OIDC_REPLAY_DIR) >=
        sizeof(s->shown))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "replay store: state_dir path too long");
    dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store: cannot open %s: %s", state_dir,
                            strerror(errno));
    if (mkdirat(dfd, OIDC_REPLAY_DIR, 0700) != 0 && errno != EEXIST) {
        e = errno;
        close(dfd);
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot create: %s", s->shown,
                            strerror(e));
    }
    s->fd = openat(dfd, OIDC_REPLAY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    e = errno;
    close(dfd);
    if (s->fd < 0) {
        if (e == ELOOP || e == ENOTDIR)
            return OIDC_ERR_SET(err, OIDC_ERR_IO,
                                "replay store %s: refused: not a directory or a symbolic link "
                                "(expected a directory of mode 0700)",
                                s->shown);
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot open: %s", s->shown,
                            strerror(e));
    }
    if (fstat(s->fd, &st) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot stat: %s", s->shown,
                            strerror(errno));
    if (st.st_uid != geteuid())
        return OIDC_ERR_SET(err, OIDC_ERR_IO,
                            "replay store %s: refused: owned by uid %u (expected uid %u)", s->shown,
                            (unsigned)st.st_uid, (unsigned)geteuid());
    if ((st.st_mode & 077) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO,
                            "replay store %s: refused: mode %04o (expected 0700: no access for "
                            "group or others)",
                            s->shown, (unsigned)(st.st_mode & 07777));
    return OIDC_OK;
}

static void store_close(struct store *s)
{
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    if (s->fd >= 0)
        close(s->fd);
    s->fd = s->lock_fd = -1;
}

static int store_lock(struct store *s, struct oidc_err *err)
{
    if (s->lock_fd >= 0)
        return OIDC_OK;
    s->lock_fd = openat(s->fd, OIDC_REPLAY_LOCK_FILE,
                        O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (s->lock_fd < 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot open %s: %s", s->shown,
                            OIDC_REPLAY_LOCK_FILE, strerror(errno));
    while (flock(s->lock_fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(s->lock_fd);
            s->lock_fd = -1;
            return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot lock: %s", s->shown,
                                strerror(e));
        }
    }
    return OIDC_OK;
}

/* Reads an entry's exp: OIDC_OK, OIDC_ERR_NOTFOUND when there is no entry, OIDC_ERR_PARSE when
 * it cannot be read as one (being written, or damaged), OIDC_ERR_IO on other errors. */
static int entry_read(int dirfd, const char *name, int64_t *exp)
{
    char buf[ENTRY_MAX + 1], *end = NULL;
    struct stat st;
    ssize_t n;
    size_t len = 0;
    long long v;
    int fd, r = OIDC_ERR_PARSE;

    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? OIDC_ERR_NOTFOUND : errno == ELOOP ? OIDC_ERR_PARSE : OIDC_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = OIDC_ERR_IO;
            goto out;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len == 0 || len == sizeof(buf) - 1 || buf[len - 1] != '\n' || buf[0] == '\n' ||
        (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9')))
        goto out;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno != 0 || end != buf + len - 1)
        goto out;
    *exp = v;
    r = OIDC_OK;
out:
    close(fd);
    return r;
}

static int entry_expired(int64_t exp, int64_t now)
{
    return exp < now - OIDC_REPLAY_GRACE;
}

/* Opens a fresh directory stream over the store (its own file offset). */
static DIR *store_dir(const struct store *s)
{
    int fd = openat(s->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;

    if (fd < 0)
        return NULL;
    if ((d = fdopendir(fd)) == NULL)
        close(fd);
    return d;
}

/* Counts entries, stopping at max. */
static int store_count(const struct store *s, size_t max, size_t *count, struct oidc_err *err)
{
    struct dirent *de;
    size_t n = 0;
    DIR *d = store_dir(s);

    if (d == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot read: %s", s->shown,
                            strerror(errno));
    for (errno = 0; n < max && (de = readdir(d)) != NULL; errno = 0)
        if (is_entry_name(de->d_name))
            n++;
    if (n < max && errno != 0) {
        int e = errno;
        closedir(d);
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot read: %s", s->shown,
                            strerror(e));
    }
    closedir(d);
    *count = n;
    return OIDC_OK;
}

static int purge_due(const struct store *s, int64_t now)
{
    struct stat st;

    if (fstatat(s->fd, OIDC_REPLAY_PURGE_FILE, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 1;
    return (int64_t)st.st_mtime > now || now - (int64_t)st.st_mtime >= OIDC_REPLAY_PURGE_INTERVAL;
}

/* Removes expired entries, and unreadable ones older than the purge interval; records the time
 * in the mtime of .purge. Takes the lock. */
static int store_purge(struct store *s, int64_t now, struct oidc_err *err)
{
    struct timespec ts[2];
    struct dirent *de;
    struct stat st;
    int64_t exp;
    DIR *d;
    int r, fd;

    if ((r = store_lock(s, err)) != OIDC_OK)
        return r;
    if ((d = store_dir(s)) == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot read: %s", s->shown,
                            strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!is_entry_name(de->d_name))
            continue;
        r = entry_read(s->fd, de->d_name, &exp);
        if ((r == OIDC_OK && entry_expired(exp, now)) ||
            (r == OIDC_ERR_PARSE && fstatat(s->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
             now - (int64_t)st.st_mtime > OIDC_REPLAY_PURGE_INTERVAL))
            (void)unlinkat(s->fd, de->d_name, 0); /* a failure leaves the entry: fail closed */
    }
    closedir(d);
    fd = openat(s->fd, OIDC_REPLAY_PURGE_FILE,
                O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0) {
        ts[0].tv_sec = ts[1].tv_sec = (time_t)now;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        (void)futimens(fd, ts); /* at worst the next login purges again */
        close(fd);
    }
    return OIDC_OK;
}

/* Creates the entry; OIDC_ERR_NOTFOUND when it exists already (EEXIST). */
static int entry_create(const struct store *s, const char *name, int64_t exp, struct oidc_err *err)
{
    char buf[ENTRY_MAX];
    size_t len, off = 0;
    ssize_t n;
    int fd, e;

    len = (size_t)snprintf(buf, sizeof(buf), "%" PRId64 "\n", exp);
    fd = openat(s->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return OIDC_ERR_NOTFOUND;
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot create an entry: %s",
                            s->shown, strerror(errno));
    }
    while (off < len) {
        n = write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n < 0 ? errno : ENOSPC;
            close(fd);
            /* the half-written entry would refuse this token on its next use too: that is
             * what a failed recording means, so the removal may fail */
            (void)unlinkat(s->fd, name, 0);
            return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot write an entry: %s",
                                s->shown, strerror(e));
        }
        off += (size_t)n;
    }
    if (close(fd) != 0) {
        e = errno;
        (void)unlinkat(s->fd, name, 0);
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot write an entry: %s",
                            s->shown, strerror(e));
    }
    return OIDC_OK;
}

static int used(const char *jti, struct oidc_err *err)
{
    char shown[SHOW_JTI + 1];

    if (jti == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "token already used (it has no jti; recognised by its SHA-256)");
    oidc_printable(shown, sizeof(shown), jti);
    return OIDC_ERR_SET(err, OIDC_ERR_DENIED, "token already used (jti '%s%s')", shown,
                        strlen(jti) > SHOW_JTI ? "..." : "");
}

int oidc_replay_record_max(const char *state_dir, const char *issuer, const char *jti,
                           const char *token, size_t token_len, int64_t exp, int64_t now,
                           size_t max, struct oidc_err *err)
{
    struct store s = {-1, -1, ""};
    char name[KEY_HEX + 1];
    size_t count = 0;
    int64_t old = 0;
    int r, attempt;

    if (state_dir == NULL || state_dir[0] == '\0' || issuer == NULL ||
        (jti == NULL && (token == NULL || token_len == 0)) || max == 0)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_replay_record: bad arguments");
    if ((r = oidc_replay_key_hex(issuer, jti, token, token_len, name)) != OIDC_OK)
        return OIDC_ERR_SET(err, r, "replay store: cannot hash the token's key");
    if ((r = store_open(state_dir, &s, err)) != OIDC_OK)
        goto out;

    /* a replay is named as one, even when the store is also full */
    r = entry_read(s.fd, name, &old);
    if ((r == OIDC_OK && !entry_expired(old, now)) || r == OIDC_ERR_PARSE) {
        r = used(jti, err);
        goto out;
    }
    if (r == OIDC_ERR_IO) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot read an entry", s.shown);
        goto out;
    }
    if (purge_due(&s, now) && (r = store_purge(&s, now, err)) != OIDC_OK)
        goto out;
    if ((r = store_count(&s, max, &count, err)) != OIDC_OK)
        goto out;
    if (count >= max) {
        if ((r = store_purge(&s, now, err)) != OIDC_OK ||
            (r = store_count(&s, max, &count, err)) != OIDC_OK)
            goto out;
        if (count >= max) {
            r = OIDC_ERR_SET(err, OIDC_ERR_IO,
                             "replay store %s is full (%zu entries of tokens that have not "
                             "expired): token logins are refused until some expire",
                             s.shown, count);
            goto out;
        }
    }

    for (attempt = 0; attempt < ATTEMPTS; attempt++) {
        r = entry_create(&s, name, exp, err);
        if (r != OIDC_ERR_NOTFOUND)
            goto out; /* created, or an I/O error */
        r = entry_read(s.fd, name, &old);
        if (r == OIDC_ERR_NOTFOUND)
            continue; /* removed meanwhile: try again */
        if (r != OIDC_OK || !entry_expired(old, now))
            break; /* used (or being recorded) by someone else */
        /* an expired entry: remove it under the lock, after reading it again there */
        if ((r = store_lock(&s, err)) != OIDC_OK)
            goto out;
        r = entry_read(s.fd, name, &old);
        if (r == OIDC_OK && entry_expired(old, now) && unlinkat(s.fd, name, 0) != 0 &&
            errno != ENOENT) {
            r = OIDC_ERR_SET(err, OIDC_ERR_IO, "replay store %s: cannot replace an entry: %s",
                             s.shown, strerror(errno));
            goto out;
        }
        if (r != OIDC_OK && r != OIDC_ERR_NOTFOUND)
            break;
    }
    r = used(jti, err);
out:
    store_close(&s);
    return r;
}

int oidc_replay_record(const char *state_dir, const char *issuer, const char *jti,
                       const char *token, size_t token_len, int64_t exp, int64_t now,
                       struct oidc_err *err)
{
    return oidc_replay_record_max(state_dir, issuer, jti, token, token_len, exp, now,
                                  OIDC_REPLAY_MAX, err);
}

int oidc_replay_check(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                      const char *issuer, const char *jti, const char *token, size_t token_len,
                      int64_t exp, int64_t now, struct oidc_err *warn, struct oidc_err *err)
{
    int r;

    if (cfg == NULL || p == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_replay_check: bad arguments");
    if (!p->replay_protection)
        return OIDC_OK;
    if (oidc_replay_store_is_redis(p)) {
        r = oidc_replay_redis_record(p, issuer, jti, token, token_len, exp, now, err);
        if (r == OIDC_ERR_NETWORK && p->replay_store_unavailable == OIDC_REPLAY_UNAVAIL_LOCAL) {
            if (warn != NULL)
                OIDC_ERR_SET(warn, OIDC_ERR_NETWORK,
                             "%s; replay_store_unavailable = local: this login is "
                             "checked against this host's store only",
                             oidc_err_msg(err));
        } else if (r != OIDC_OK) {
            return r;
        }
    }
    /* also with Redis: then a token used here while Redis was down stays refused here */
    return oidc_replay_record(cfg->state_dir, issuer, jti, token, token_len, exp, now, err);
}
