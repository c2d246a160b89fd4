/* A stand-in NSS module for the harness self-test (tests/e2e/harness.sh): compiled there into a
 * libnss_oidc.so.2 that knows one user and one group, so the harness can prove that sshd, setuid
 * sudo and getent load "oidc" from the namespace's loader path before the real module exists.
 * Not part of the product. */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>
#include <sys/types.h>

#define SU_NAME "e2e-nss"
#define SU_UID  2999999
#define SG_NAME "admins"
#define SG_GID  2888888
#define SG_MEM  "e2e-local" /* a local (files) user the stand-in adds to admins */

enum nss_status _nss_oidc_getpwnam_r(const char *, struct passwd *, char *, size_t, int *);
enum nss_status _nss_oidc_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
enum nss_status _nss_oidc_getgrnam_r(const char *, struct group *, char *, size_t, int *);
enum nss_status _nss_oidc_getgrgid_r(gid_t, struct group *, char *, size_t, int *);
enum nss_status _nss_oidc_initgroups_dyn(const char *, gid_t, long *, long *, gid_t **, long,
                                         int *);

static enum nss_status fill_pw(struct passwd *pw, char *buf, size_t len, int *errnop)
{
    static const char strs[] = SU_NAME "\0x\0E2E stand-in\0/\0/bin/sh";
    if (len < sizeof(strs)) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    memcpy(buf, strs, sizeof(strs));
    pw->pw_name = buf;
    pw->pw_passwd = buf + sizeof(SU_NAME);
    pw->pw_gecos = pw->pw_passwd + 2;
    pw->pw_dir = pw->pw_gecos + sizeof("E2E stand-in");
    pw->pw_shell = pw->pw_dir + 2;
    pw->pw_uid = SU_UID;
    pw->pw_gid = SU_UID;
    return NSS_STATUS_SUCCESS;
}

static enum nss_status fill_gr(struct group *gr, char *buf, size_t len, int *errnop)
{
    static const char strs[] = SG_NAME "\0x\0" SG_MEM;
    char **mem;
    size_t off = (sizeof(strs) + sizeof(char *) - 1) & ~(sizeof(char *) - 1);
    if (len < off + 2 * sizeof(char *)) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    memcpy(buf, strs, sizeof(strs));
    mem = (char **)(void *)(buf + off);
    mem[0] = buf + sizeof(SG_NAME) + 2;
    mem[1] = NULL;
    gr->gr_name = buf;
    gr->gr_passwd = buf + sizeof(SG_NAME);
    gr->gr_gid = SG_GID;
    gr->gr_mem = mem;
    return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_oidc_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                                     int *errnop)
{
    if (strcmp(name, SU_NAME) != 0)
        return NSS_STATUS_NOTFOUND;
    return fill_pw(pw, buf, len, errnop);
}

enum nss_status _nss_oidc_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
                                     int *errnop)
{
    if (uid != SU_UID)
        return NSS_STATUS_NOTFOUND;
    return fill_pw(pw, buf, len, errnop);
}

enum nss_status _nss_oidc_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
                                     int *errnop)
{
    if (strcmp(name, SG_NAME) != 0)
        return NSS_STATUS_NOTFOUND;
    return fill_gr(gr, buf, len, errnop);
}

enum nss_status _nss_oidc_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
                                     int *errnop)
{
    if (gid != SG_GID)
        return NSS_STATUS_NOTFOUND;
    return fill_gr(gr, buf, len, errnop);
}

enum nss_status _nss_oidc_initgroups_dyn(const char *user, gid_t skip, long *start, long *size,
                                         gid_t **groups, long limit, int *errnop)
{
    (void)skip;
    (void)limit;
    (void)errnop;
    if (strcmp(user, SG_MEM) != 0 && strcmp(user, SU_NAME) != 0)
        return NSS_STATUS_NOTFOUND;
    if (*start >= *size)
        return NSS_STATUS_SUCCESS; /* no room: glibc's buffer is full, keep what it has */
    (*groups)[(*start)++] = SG_GID;
    return NSS_STATUS_SUCCESS;
}
