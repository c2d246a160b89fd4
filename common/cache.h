/* Identity cache writer: the PAM module and oidcctl store, refresh, remove and prune the users
 * libnss_oidc answers for. Record layout: cache_rec.h.
 *
 * Two files: cache.cdb (mode 0644: what NSS reads) and provenance.cdb (mode 0600: each user's
 * issuer, subject, provider and login times); the loader joins them.
 * One writer at a time: oidc_cache_open() takes an exclusive lock (flock on STATE_DIR/cache.lock)
 * and loads the current files; changes are made in memory; oidc_cache_commit() picks a new
 * generation number, writes provenance.cdb (temporary file, fsync, mode 0600, rename, fsync of
 * the directory), then a new STATE_DIR/cache.cdb.XXXXXX carrying that generation, fsyncs it, sets
 * mode 0644, renames it over cache.cdb, fsyncs the directory and only then stores the generation
 * into STATE_DIR/cache.serial (created once, updated in place; readers compare it with their
 * mapping instead of calling stat), and only when something changed (a repeat login with the same
 * data writes nothing). oidc_cache_close() releases the lock. Readers never lock.
 *
 * Invariants the writer refuses to break (OIDC_ERR_MAPPING with a message naming both sides):
 *  - a uid or gid used by another cached user or group, or by a local account or group (the
 *    passwd/group files of struct oidc_idmap_env);
 *  - a cached name bound to another issuer + subject (until an admin deletes the entry); a
 *    pre-provisioned entry (no subject yet) is bound by its first login;
 *  - a gid of a supplementary group taken by another cached group, a cached user's private
 *    group, or a local group.
 * A supplementary group whose NAME is taken is not a refusal: the group is dropped from that
 * user's groups and reported through struct oidc_cache_drops (the caller audits it), so an IdP
 * group cannot lock anyone out. Taken means: the user's own name, another cached user's name
 * (its private group), or a local group or account name. A new user whose name is a cached
 * supplementary group takes the name for its private group: the group is removed from every
 * member, each removal reported. The cache never holds a group name equal to a user name unless
 * it is that user's private group.
 */
#ifndef OIDC_CACHE_H
#define OIDC_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "cache_rec.h"
#include "conf.h"
#include "idmap.h"
#include "util.h"

struct oidc_cache;

/* One cached user, as the writer holds it. */
struct oidc_cache_user {
    char name[OIDC_NAME_MAX + 1];
    uint32_t uid, gid;
    char *gecos, *home, *shell;
    char *issuer, *subject, *provider; /* subject "" for a pre-provisioned entry */
    int64_t first_login, last_login, expires;
    uint32_t flags; /* OIDC_CACHE_F_* */
    struct oidc_group *groups;
    size_t n_groups;
};

struct oidc_cache_opts {
    const char *dir;                  /* directory of cache.cdb (normally cfg->state_dir) */
    const struct oidc_idmap_env *env; /* local passwd/group files (NULL: /etc) */
    int64_t now;                      /* 0: oidc_now() */
};

/* One dropped membership: user lost group (gid) because of reason (text fit for a log line,
 * naming the other side: "it is a local group in /etc/group"). */
struct oidc_cache_drop {
    char user[OIDC_NAME_MAX + 1];
    char group[OIDC_NAME_MAX + 1];
    uint32_t gid;
    char reason[160];
};
/* The drops of one or more upserts, appended in order; the caller owns it (zero-initialise, free
 * with oidc_cache_drops_free). */
struct oidc_cache_drops {
    struct oidc_cache_drop *v;
    size_t n, cap;
};
void oidc_cache_drops_free(struct oidc_cache_drops *d); /* frees the array, not d; NULL-safe */

/* Opens (creating the directory's files as needed) and locks the cache, and loads cache.cdb when
 * it exists, joined with provenance.cdb. A corrupt file is OIDC_ERR_PARSE (nothing is
 * overwritten; `oidcctl cache verify` explains), and so is a provenance.cdb that is missing or
 * disagrees while cache.cdb holds users; a missing cache.cdb is an empty cache. A cache.cdb of
 * the format before provenance.cdb loads, and the next commit splits it. */
int oidc_cache_open(const struct oidc_cache_opts *opts, struct oidc_cache **out,
                    struct oidc_err *err);
/* A read-only snapshot for listing (oidcctl users/groups, any user may run it): no lock, no
 * directory or lock file created, a missing directory or file is an empty cache, a corrupt file
 * is OIDC_ERR_PARSE; changes may be made in memory but oidc_cache_commit() refuses them. */
int oidc_cache_load(const struct oidc_cache_opts *opts, struct oidc_cache **out,
                    struct oidc_err *err);
/* Releases the lock and frees; uncommitted changes are dropped. NULL-safe. */
void oidc_cache_close(struct oidc_cache *c);

/* Inserts or refreshes a user (its private group and its groups' memberships follow). Refuses
 * the invariant breaks listed above. */
int oidc_cache_upsert(struct oidc_cache *c, const struct oidc_cache_user *u, struct oidc_err *err);
/* The same, reporting the dropped memberships into drops (may be NULL). On failure nothing is
 * changed and drops is as it was. */
int oidc_cache_upsert_drops(struct oidc_cache *c, const struct oidc_cache_user *u,
                            struct oidc_cache_drops *drops, struct oidc_err *err);
/* What a login of id would drop, without changing anything (oidcctl verify-token): the cache
 * under opts->dir read as a snapshot (oidc_cache_load) and the local files. */
int oidc_cache_preview_drops(const struct oidc_cache_opts *opts, const struct oidc_identity *id,
                             struct oidc_cache_drops *drops, struct oidc_err *err);
/* Removes a user (OIDC_ERR_NOTFOUND when absent); groups left without members disappear. */
int oidc_cache_delete(struct oidc_cache *c, const char *name, struct oidc_err *err);
/* Removes users whose expiry has passed; *removed (may be NULL) gets the count. */
int oidc_cache_prune(struct oidc_cache *c, size_t *removed, struct oidc_err *err);
/* Replaces the preauth record with the providers of cfg that enable preauth. */
int oidc_cache_set_preauth(struct oidc_cache *c, const struct oidc_cfg *cfg, struct oidc_err *err);
/* Writes the file if anything changed; *written (may be NULL) tells whether it did. */
int oidc_cache_commit(struct oidc_cache *c, int *written, struct oidc_err *err);

/* Read access for oidcctl and the PAM module: the user by name (NULL when absent; valid until the
 * next change or close), and all users in name order. */
const struct oidc_cache_user *oidc_cache_find(const struct oidc_cache *c, const char *name);
size_t oidc_cache_count(const struct oidc_cache *c);
const struct oidc_cache_user *oidc_cache_at(const struct oidc_cache *c, size_t i);
/* 0 when the cache was loaded read-only by a process that may not read the root-only
 * provenance.cdb: every user's issuer, subject and provider are then "" and its login times 0. */
int oidc_cache_has_provenance(const struct oidc_cache *c);

/* Checks the cache files without locking: readable, the version record, every record decodes,
 * every key/record pair is consistent (name and id records agree, memberships match, no duplicate
 * ids), no entry collides with a local account; provenance.cdb root's, mode 0600, of the same
 * generation, one agreeing record per user; a cache.cdb of the format before provenance.cdb is
 * a problem. Each problem goes to report (one line each, may be NULL); returns OIDC_OK when
 * none, OIDC_ERR_PARSE otherwise. */
int oidc_cache_verify(const struct oidc_cache_opts *opts,
                      void (*report)(void *ctx, const char *line), void *ctx, struct oidc_err *err);

/* The PAM module's one call after a verified login: open, upsert the identity with provider
 * p (expires = now + cfg->cache_ttl, flags as given; first_login kept from an existing entry),
 * refresh the preauth record, commit, close. *written (may be NULL) tells whether the file was
 * rewritten; drops (may be NULL) gets the dropped memberships (only meaningful on success). */
int oidc_cache_store_identity(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                              const struct oidc_identity *id, uint32_t flags, int64_t now,
                              int *written, struct oidc_cache_drops *drops, struct oidc_err *err);
/* Removes one user (an ephemeral user at session close); absent is OIDC_OK. */
int oidc_cache_remove_user(const struct oidc_cfg *cfg, const char *name, struct oidc_err *err);
/* The same two with explicit options (directory, local passwd/group files, clock), for tests and
 * tools: opts->dir replaces cfg->state_dir. */
int oidc_cache_store_identity_opts(const struct oidc_cache_opts *opts, const struct oidc_cfg *cfg,
                                   const struct oidc_provider_cfg *p,
                                   const struct oidc_identity *id, uint32_t flags, int *written,
                                   struct oidc_cache_drops *drops, struct oidc_err *err);
int oidc_cache_remove_user_opts(const struct oidc_cache_opts *opts, const char *name,
                                struct oidc_err *err);

/* The uid a login through provider p will map name to, for pre-provisioning (oidcctl user add):
 * uid_key = name hashes the name, uid_key = subject needs the subject, uid_key = claim is
 * OIDC_ERR_CONFIG (the uid is only known from a token). Same algorithm as oidc_idmap_map(). */
int oidc_cache_preprovision_uid(const struct oidc_provider_cfg *p, const char *name,
                                const char *subject, uint32_t *uid, struct oidc_err *err);

void oidc_cache_user_clear(struct oidc_cache_user *u); /* frees the members, not u */
/* A deep copy of src into dst (groups in name order); on failure dst is left cleared. */
int oidc_cache_user_copy(const struct oidc_cache_user *src, struct oidc_cache_user *dst);

#endif
