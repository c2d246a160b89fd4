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

#endif
