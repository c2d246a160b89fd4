/* Identity cache writer, the state directory: its ownership and mode checks, opening it, the
 * writer's lock (cache.lock, with its bounded wait), removing stale temporary files and creating
 * a new one exclusively. It neither reads nor encodes any cache content (cache_load.c,
 * cache_commit.c). */
#include "config.h"
#include "cache_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_FILE    "cache.lock"
#define LOCK_WAIT_MS 30000 /* a writer waits this long for the lock, then gives up */

/* ------------------------------------------------------------------ the state directory */

int oidc_cache_dir_check(int dirfd, const char *dir, struct oidc_err *err)
{
    struct stat st;
    uid_t euid = geteuid();

    if (fstat(dirfd, &st) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot stat %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "%s is not a directory", dir);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO,
                            "%s is writable by group or others (mode %04o); refusing to keep the "
                            "identity cache there (chmod 0755 it)",
                            dir, (unsigned)(st.st_mode & 07777));
    if (st.st_uid != 0 && (euid == 0 || st.st_uid != euid))
        return OIDC_ERR_SET(err, OIDC_ERR_IO,
                            "%s is owned by uid %u, not root; refusing to keep the identity cache "
                            "there",
                            dir, (unsigned)st.st_uid);
    return OIDC_OK;
}

int oidc_cache_dir_open(const char *dir, int *out, struct oidc_err *err)
{
    int fd, created = 0, r;

    if (dir == NULL || dir[0] != '/')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "state directory '%s' is not an absolute path",
                            nz(dir));
    if (mkdir(dir, 0755) == 0)
        created = 1;
    else if (errno != EEXIST)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot create the state directory %s: %s", dir,
                            strerror(errno));
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct stat st;
        int e = errno;
        if (e == ELOOP || (e == ENOTDIR && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)))
            return OIDC_ERR_SET(err, OIDC_ERR_IO,
                                "cannot open the state directory %s: it is a symbolic link", dir);
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot open the state directory %s: %s", dir,
                            strerror(e));
    }
    if (created && fchmod(fd, 0755) != 0) { /* whatever the umask */
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot chmod %s: %s", dir, strerror(errno));
        close(fd);
        return r;
    }
    if ((r = oidc_cache_dir_check(fd, dir, err)) != OIDC_OK) {
        close(fd);
        return r;
    }
    *out = fd;
    return OIDC_OK;
}

int oidc_cache_dir_lock(struct oidc_cache *c, struct oidc_err *err)
{
    struct timespec ts = {0, 1000000};
    long waited_ms = 0;
    int fd;

    fd = openat(c->dirfd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot open %s/%s: %s", c->dir, LOCK_FILE,
                            strerror(errno));
    c->lockfd = fd;
    /* Poll rather than block, so a wedged writer cannot hang a login forever. */
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot lock %s/%s: %s", c->dir, LOCK_FILE,
                                strerror(errno));
        if (waited_ms >= LOCK_WAIT_MS)
            return OIDC_ERR_SET(err, OIDC_ERR_TIMEOUT,
                                "another process has held %s/%s for %d s; giving up", c->dir,
                                LOCK_FILE, LOCK_WAIT_MS / 1000);
        nanosleep(&ts, NULL);
        waited_ms += ts.tv_nsec / 1000000;
        if (ts.tv_nsec < 32000000)
            ts.tv_nsec *= 2;
    }
    return OIDC_OK;
}

/* Removes temporary files a crashed writer left behind (we hold the lock: nobody writes one). */
void oidc_cache_dir_clean_tmp(struct oidc_cache *c)
{
    struct dirent *de;
    DIR *d;
    int fd = fcntl(c->dirfd, F_DUPFD_CLOEXEC, 0);

    if (fd < 0)
        return;
    if ((d = fdopendir(fd)) == NULL) {
        close(fd);
        return;
    }
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
            strlen(de->d_name) == strlen(TMP_PREFIX) + TMP_SUFFIX_LEN)
            (void)unlinkat(c->dirfd, de->d_name, 0);
    closedir(d);
}

/* Creates STATE/cache.cdb.XXXXXX exclusively (no symlink followed), mode 0600 until complete. */
int oidc_cache_dir_create_tmp(struct oidc_cache *c, char name[sizeof(TMP_PREFIX) + TMP_SUFFIX_LEN],
                              struct oidc_err *err)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char rnd[TMP_SUFFIX_LEN];
    int attempt, fd, i;

    for (attempt = 0; attempt < 64; attempt++) {
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
            uint64_t x = oidc_cache_mix64((uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^
                                          (uint64_t)attempt);
            memcpy(rnd, &x, sizeof(rnd));
        }
        memcpy(name, TMP_PREFIX, strlen(TMP_PREFIX));
        for (i = 0; i < TMP_SUFFIX_LEN; i++)
            name[strlen(TMP_PREFIX) + (size_t)i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
        name[strlen(TMP_PREFIX) + TMP_SUFFIX_LEN] = '\0';
        fd = openat(c->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            break;
    }
    return OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot create a temporary file in %s: %s", c->dir,
                        strerror(errno));
}
