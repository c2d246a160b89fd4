/* Replay store internals shared with tests/unit/test_replay.c. */
#ifndef OIDC_REPLAY_INT_H
#define OIDC_REPLAY_INT_H

#include "replay.h"

/* An entry stays while now <= exp + OIDC_REPLAY_GRACE: the longest leeway the configuration
 * accepts (conf.c: leeway 0..300), so a token the verifier still accepts under its leeway is
 * still refused as a replay, whatever exp the caller passes. */
#define OIDC_REPLAY_GRACE 300

/* Sub-directory of state_dir, and the files in it that are not entries. */
#define OIDC_REPLAY_DIR        "replay"
#define OIDC_REPLAY_LOCK_FILE  ".lock"
#define OIDC_REPLAY_PURGE_FILE ".purge" /* its mtime is the time of the last purge */

#define OIDC_REPLAY_KEY_HEX 64 /* hex SHA-256 */

/* The hex SHA-256 of issuer "\0" jti, or (jti NULL) of issuer "\0" "#" token: the name of a
 * local entry and the tail of a Redis key. */
int oidc_replay_key_hex(const char *issuer, const char *jti, const char *token, size_t token_len,
                        char out[OIDC_REPLAY_KEY_HEX + 1]);

/* oidc_replay_record() with the bound as a parameter (oidc_replay_record passes OIDC_REPLAY_MAX),
 * so tests can fill a store without writing 100,000 files. */
int oidc_replay_record_max(const char *state_dir, const char *issuer, const char *jti,
                           const char *token, size_t token_len, int64_t exp, int64_t now,
                           size_t max, struct oidc_err *err);

#endif
