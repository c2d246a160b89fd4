/* Identity cache reader for libnss_oidc.so.2 (libc + tinycdb only; record layout: cache_rec.h).
 *
 * The cache file (STATEDIR/cache.cdb) is mapped once and the mapping is kept across calls. Each
 * thread holds a reference to the mapping it last used; a lookup takes no lock and makes no
 * system call on the fast path (one coarse clock read, three atomic loads, one cdb_find).
 * Whether the mapping is still the newest file:
 *  - serial mode (the normal case): each mapping also maps STATEDIR/cache.serial, a counter the
 *    writer bumps after each rename, and compares it with the generation its file carries; one
 *    atomic load on every call, so every lookup (hit, miss, initgroups) sees a commit at once.
 *    Every OIDC_CACHE_RECHECK_MS the file is also compared with stat (a backstop for files
 *    replaced without a bump, or a serial file removed and created afresh);
 *  - stat mode (no trusted serial file, or a file without the generation record): the file is
 *    compared with stat (device, inode, size, mtime) before every "not found" and on every
 *    initgroups call, and on a hit at most every OIDC_CACHE_RECHECK_MS, so a changed or removed
 *    entry may be answered from the previous file for that long.
 * A replaced file is mapped afresh (the writer renames whole files into place, so a mapping never
 * sees a half-written file); the old mapping (and its mapping of the serial) is unmapped when the
 * last thread holding it moves on or exits, never while a thread may still read it. Only that
 * slow path takes a mutex.
 *
 * Results are oidc_err_t codes (util.h), mapped to NSS codes only in nss/:
 *   OIDC_OK             the entry was written to the caller's structure and buffer
 *   OIDC_ERR_NOTFOUND   no such entry (also: expired, below the id floor, recursion guard set,
 *                       no cache file yet, name longer than OIDC_CACHE_NAME_MAX)
 *   OIDC_ERR_TOOBIG     the caller's buffer is too small (or NULL/zero): ERANGE
 *   OIDC_ERR_NOMEM      allocation failed
 *   OIDC_ERR_IO         the cache file cannot be read or is not trustworthy (owner, mode)
 *   OIDC_ERR_PARSE      the cache file or a record is corrupt, or its version is not ours
 */
#ifndef OIDC_CACHE_READ_H
#define OIDC_CACHE_READ_H

#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>
#include "cache_rec.h"

/* Entries with a uid or gid below this are never answered, whatever the file says. */
#define OIDC_CACHE_ID_FLOOR 1000u
/* Stat mode: how long a hit may be answered without comparing the mapping with the file; serial
 * mode: how often the file is compared with stat as a backstop. */
#define OIDC_CACHE_RECHECK_MS 1000
/* The environment guard (STYLE.md rule 7): "NO" makes every lookup NOTFOUND. */
#define OIDC_CACHE_LOOPS_ENV "_OIDC_NSS_LOOPS"
/* The gecos of a provisional (preauth) entry. */
#define OIDC_CACHE_PROVISIONAL_GECOS "nss-pam-oidc provisional"

/* By name and by id. A name longer than OIDC_CACHE_NAME_MAX is NOTFOUND. getpwnam also answers
 * sshd with a provisional entry when the preauth record allows it (see docs/nss.md). */
int oidc_cache_read_pwnam(const char *name, struct passwd *pw, char *buf, size_t len);
int oidc_cache_read_pwuid(uid_t uid, struct passwd *pw, char *buf, size_t len);
int oidc_cache_read_grnam(const char *name, struct group *gr, char *buf, size_t len);
int oidc_cache_read_grgid(gid_t gid, struct group *gr, char *buf, size_t len);

/* Appends the user's supplementary gids (except skip) to *groups (*start used of *size, grown
 * with realloc up to limit when limit > 0), as glibc's initgroups_dyn contract wants. OIDC_OK
 * when the user is cached (even with no group to add). */
int oidc_cache_read_initgroups(const char *name, gid_t skip, long *start, long *size,
                               gid_t **groups, long limit);

/* Enumeration (setpwent/getpwent_r, setgrent/getgrent_r). Not thread-safe: the caller serialises
 * the use of one iterator (nss_oidc.c holds one per database under a mutex). An iterator holds
 * its own reference to one mapping, so a replaced file does not disturb a listing in progress.
 * next_* skip expired entries, entries below the floor and records that do not decode; on
 * OIDC_ERR_TOOBIG the position is kept, so the same entry comes back with a larger buffer. */
struct oidc_cache_map;
struct oidc_cache_iter {
    struct oidc_cache_map *map; /* NULL: closed */
    unsigned pos;               /* tinycdb sequential position */
    int eof;
};
int oidc_cache_iter_open(struct oidc_cache_iter *it);
int oidc_cache_iter_next_pw(struct oidc_cache_iter *it, struct passwd *pw, char *buf, size_t len);
int oidc_cache_iter_next_gr(struct oidc_cache_iter *it, struct group *gr, char *buf, size_t len);
void oidc_cache_iter_close(struct oidc_cache_iter *it); /* safe on a closed iterator */

/* Narrow path hook for tests that link the reader directly (the module itself never calls it;
 * the version script keeps it out of libnss_oidc.so.2): reads path instead of
 * STATEDIR "/" OIDC_CACHE_FILE (NULL: back to the default) and drops the current mapping and
 * the calling thread's. Call it while no lookup is running. */
void oidc_cache_read_set_path(const char *path);
/* Narrow hook for the same tests: decides whether the calling process counts as sshd (1/0), or
 * (-1) looks at /proc/self/exe again. tests/nss/getent.sh checks the real decision. */
void oidc_cache_read_set_caller_sshd(int v);

#endif
