/* Replay protection for token logins: a token (by issuer + jti, or by the SHA-256 of the whole
 * token when it has no jti) is accepted once while it is valid.
 *
 * Store: STATE_DIR/replay/ (created 0700, root-owned; refused when group/world accessible or
 * owned by someone else), one file per seen token named by the hex SHA-256 of
 * issuer "\0" jti (or of issuer "\0" "#" token), holding its exp. Recording uses
 * O_CREAT|O_EXCL, so two concurrent logins with the same token cannot both win. Expired entries
 * are purged (a scan at most once per OIDC_REPLAY_PURGE_INTERVAL seconds, and whenever the store
 * is full); the store is bounded to OIDC_REPLAY_MAX entries: when it is full of unexpired
 * entries, recording fails closed (OIDC_ERR_IO with a clear message). */
#ifndef OIDC_REPLAY_H
#define OIDC_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include "conf.h"
#include "util.h"

#define OIDC_REPLAY_MAX            100000
#define OIDC_REPLAY_PURGE_INTERVAL 300

/* Records the token as used. OIDC_OK on first use; OIDC_ERR_DENIED ("token already used (jti
 * 'X')") when it was seen and exp has not passed (the old entry is replaced when it has). jti may
 * be NULL; token/token_len are used only when it is. exp is the token's exp claim; now the
 * current time. */
int oidc_replay_record(const char *state_dir, const char *issuer, const char *jti,
                       const char *token, size_t token_len, int64_t exp, int64_t now,
                       struct oidc_err *err);

/* The provider's replay rule for a token login: nothing when replay_protection = no; else the
 * Redis store first when replay_store names one (see replay_redis.h), then the local store above
 * (always, so a token used on this host while Redis was down stays refused here). When Redis is
 * unavailable (OIDC_ERR_NETWORK) and replay_store_unavailable = local, the login goes on with the
 * local store alone and warn is set (warn->code != 0, warn->msg says why) for the caller to log;
 * with refuse (the default) that error is returned. */
int oidc_replay_check(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                      const char *issuer, const char *jti, const char *token, size_t token_len,
                      int64_t exp, int64_t now, struct oidc_err *warn, struct oidc_err *err);

#endif
