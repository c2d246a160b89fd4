/* libnss_oidc.so.2: the NSS entry points for passwd, group and initgroups. Only the NSS contract
 * lives here (argument checks, status and errno mapping, the enumeration lock); the cache reader
 * is common/cache_read.c. libc (and tinycdb, linked in statically) only: see DESIGN.md. */
#include "config.h"
#include "nss_oidc.h"
#include "cache_read.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>

/* The reader's result as an NSS status and errno (STYLE.md rule 5). */
static enum nss_status nss_status_of(int r, int *errnop)
{
    switch (r) {
    case OIDC_OK:
        return NSS_STATUS_SUCCESS;
    case OIDC_ERR_NOTFOUND:
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
    case OIDC_ERR_TOOBIG:
        *errnop = ERANGE; /* glibc retries with a larger buffer */
        return NSS_STATUS_TRYAGAIN;
    case OIDC_ERR_NOMEM:
        *errnop = ENOMEM;
        return NSS_STATUS_TRYAGAIN;
    case OIDC_ERR_PARSE:
    case OIDC_ERR_IO:
    default:
        *errnop = EIO; /* the cache file is unreadable, untrusted or corrupt */
        return NSS_STATUS_UNAVAIL;
    }
}

/* A NULL or empty buffer can never hold an entry: ask for a larger one. */
#define CHECK_BUFFER(buf, len, errnop)     \
    do {                                   \
        if ((buf) == NULL || (len) == 0) { \
            *(errnop) = ERANGE;            \
            return NSS_STATUS_TRYAGAIN;    \
        }                                  \
    } while (0)

enum nss_status _nss_oidc_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                                     int *errnop)
{
    CHECK_BUFFER(buf, len, errnop);
    return nss_status_of(oidc_cache_read_pwnam(name, pw, buf, len), errnop);
}

enum nss_status _nss_oidc_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
                                     int *errnop)
{
    CHECK_BUFFER(buf, len, errnop);
    return nss_status_of(oidc_cache_read_pwuid(uid, pw, buf, len), errnop);
}

enum nss_status _nss_oidc_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
                                     int *errnop)
{
    CHECK_BUFFER(buf, len, errnop);
    return nss_status_of(oidc_cache_read_grnam(name, gr, buf, len), errnop);
}

enum nss_status _nss_oidc_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
                                     int *errnop)
{
    CHECK_BUFFER(buf, len, errnop);
    return nss_status_of(oidc_cache_read_grgid(gid, gr, buf, len), errnop);
}

enum nss_status _nss_oidc_initgroups_dyn(const char *user, gid_t group, long int *start,
                                         long int *size, gid_t **groupsp, long int limit,
                                         int *errnop)
{
    return nss_status_of(oidc_cache_read_initgroups(user, group, start, size, groupsp, limit),
                         errnop);
}

/* ---------------------------------------------------------------- enumeration
 * One iterator per database, each under its own mutex. Each *_locked() helper runs with the lock
 * held and returns; the entry point is the only place that locks and unlocks (STYLE.md rule 6). */

static pthread_mutex_t pw_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oidc_cache_iter pw_iter = {NULL, 0, 1};
static pthread_mutex_t gr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oidc_cache_iter gr_iter = {NULL, 0, 1};

static enum nss_status setent_locked(struct oidc_cache_iter *it)
{
    int e = 0;

    return nss_status_of(oidc_cache_iter_open(it), &e);
}

static enum nss_status endent_locked(struct oidc_cache_iter *it)
{
    oidc_cache_iter_close(it);
    return NSS_STATUS_SUCCESS;
}

static enum nss_status getpwent_locked(struct passwd *pw, char *buf, size_t len, int *errnop)
{
    int r;

    if (buf == NULL || len == 0) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    if (pw_iter.map == NULL && (r = oidc_cache_iter_open(&pw_iter)) != OIDC_OK)
        return nss_status_of(r, errnop);
    return nss_status_of(oidc_cache_iter_next_pw(&pw_iter, pw, buf, len), errnop);
}

static enum nss_status getgrent_locked(struct group *gr, char *buf, size_t len, int *errnop)
{
    int r;

    if (buf == NULL || len == 0) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    if (gr_iter.map == NULL && (r = oidc_cache_iter_open(&gr_iter)) != OIDC_OK)
        return nss_status_of(r, errnop);
    return nss_status_of(oidc_cache_iter_next_gr(&gr_iter, gr, buf, len), errnop);
}

enum nss_status _nss_oidc_setpwent(int stayopen)
{
    enum nss_status s;

    (void)stayopen;
    pthread_mutex_lock(&pw_lock);
    s = setent_locked(&pw_iter);
    pthread_mutex_unlock(&pw_lock);
    return s;
}

enum nss_status _nss_oidc_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop)
{
    enum nss_status s;

    pthread_mutex_lock(&pw_lock);
    s = getpwent_locked(pw, buf, len, errnop);
    pthread_mutex_unlock(&pw_lock);
    return s;
}

enum nss_status _nss_oidc_endpwent(void)
{
    enum nss_status s;

    pthread_mutex_lock(&pw_lock);
    s = endent_locked(&pw_iter);
    pthread_mutex_unlock(&pw_lock);
    return s;
}

enum nss_status _nss_oidc_setgrent(int stayopen)
{
    enum nss_status s;

    (void)stayopen;
    pthread_mutex_lock(&gr_lock);
    s = setent_locked(&gr_iter);
    pthread_mutex_unlock(&gr_lock);
    return s;
}

enum nss_status _nss_oidc_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop)
{
    enum nss_status s;

    pthread_mutex_lock(&gr_lock);
    s = getgrent_locked(gr, buf, len, errnop);
    pthread_mutex_unlock(&gr_lock);
    return s;
}

enum nss_status _nss_oidc_endgrent(void)
{
    enum nss_status s;

    pthread_mutex_lock(&gr_lock);
    s = endent_locked(&gr_iter);
    pthread_mutex_unlock(&gr_lock);
    return s;
}
