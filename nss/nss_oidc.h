/* The entry points of libnss_oidc.so.2 (exported through nss_oidc.map), declared for the module
 * itself and for the tests that call them directly. */
#ifndef OIDC_NSS_OIDC_H
#define OIDC_NSS_OIDC_H

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

enum nss_status _nss_oidc_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                                     int *errnop);
enum nss_status _nss_oidc_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
                                     int *errnop);
enum nss_status _nss_oidc_setpwent(int stayopen);
enum nss_status _nss_oidc_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop);
enum nss_status _nss_oidc_endpwent(void);
enum nss_status _nss_oidc_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
                                     int *errnop);
enum nss_status _nss_oidc_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
                                     int *errnop);
enum nss_status _nss_oidc_setgrent(int stayopen);
enum nss_status _nss_oidc_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop);
enum nss_status _nss_oidc_endgrent(void);
enum nss_status _nss_oidc_initgroups_dyn(const char *user, gid_t group, long int *start,
                                         long int *size, gid_t **groupsp, long int limit,
                                         int *errnop);

#endif
