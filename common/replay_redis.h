/* The fleet-wide replay store on Redis (replay_store = redis://HOST[:PORT][/DB]): every host of a
 * fleet records a used token there, so a token used on one host is refused on all of them.
 *
 * Protocol: [AUTH password] [SELECT db] SET key exp NX PX ttl_ms, one command at a time, over a
 * hiredis connection; the replies are read and parsed here, bounded to OIDC_REDIS_REPLY_MAX
 * bytes. "+OK" to the SET is a first use; a null reply ("$-1", the key existed) is a replay.
 *
 * Key: "oidc:jti:" + hex SHA-256(issuer "\0" jti), or "oidc:tok:" + hex SHA-256(issuer "\0" "#"
 * token) for a token without a jti: no token bytes reach Redis. TTL: exp - now +
 * OIDC_REPLAY_GRACE (the longest leeway any host may configure), at least 1 s; a token valid for
 * longer than OIDC_REDIS_TTL_MAX is refused.
 *
 * Everything (connect, AUTH, SELECT, SET) shares one deadline of replay_store_timeout seconds,
 * except name resolution: give an IP address, or a name in /etc/hosts. hiredis 0.14 has no TLS,
 * so rediss:// is refused. */
#ifndef OIDC_REPLAY_REDIS_H
#define OIDC_REPLAY_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include "conf.h"
#include "util.h"

#define OIDC_REDIS_DEFAULT_PORT    6379
#define OIDC_REDIS_DB_MAX          65535
#define OIDC_REDIS_HOST_MAX        253
#define OIDC_REDIS_TIMEOUT_DEFAULT 2  /* replay_store_timeout, seconds */
#define OIDC_REDIS_TIMEOUT_MAX     10 /* its upper bound */
#define OIDC_REDIS_TTL_MAX         (31LL * 86400)
#define OIDC_REDIS_REPLY_MAX       512 /* bytes of one reply, with its framing */
#define OIDC_REDIS_KEY_JTI         "oidc:jti:"
#define OIDC_REDIS_KEY_TOKEN       "oidc:tok:"
#define OIDC_REDIS_KEY_LEN         (9 + 64) /* prefix and hex SHA-256 */

struct oidc_redis_url {
    char host[OIDC_REDIS_HOST_MAX + 1]; /* without the brackets of an IPv6 literal */
    int port;
    int db;
};

/* 1 when the provider's replay_store names Redis (anything but unset or "local"). */
int oidc_replay_store_is_redis(const struct oidc_provider_cfg *p);

/* Parses redis://HOST[:PORT][/DB]; returns NULL, or the problem (for a configuration message).
 * Refuses rediss:// (no TLS in this build), a user or password in the URL (that goes in
 * replay_store_password_file), a query, and any redis:// when built without hiredis. */
const char *oidc_redis_url_parse(const char *s, struct oidc_redis_url *out);

/* The Redis key of a token (see above); jti may be NULL, token/token_len are used only then. */
int oidc_redis_key(const char *issuer, const char *jti, const char *token, size_t token_len,
                   char out[OIDC_REDIS_KEY_LEN + 1]);

/* The key's TTL in seconds for a token with this exp: exp - now + OIDC_REPLAY_GRACE, at least
 * 1. OIDC_ERR_TOKEN when that is over OIDC_REDIS_TTL_MAX. */
int oidc_redis_ttl(int64_t exp, int64_t now, int64_t *ttl, struct oidc_err *err);

enum oidc_redis_type {
    OIDC_REDIS_STATUS = 1, /* +text */
    OIDC_REDIS_ERROR,      /* -text */
    OIDC_REDIS_INTEGER,    /* :text */
    OIDC_REDIS_BULK,       /* $n text */
    OIDC_REDIS_NIL,        /* $-1, *-1 or _ */
};

struct oidc_redis_reply {
    enum oidc_redis_type type;
    char text[OIDC_REDIS_REPLY_MAX + 1]; /* NUL-terminated; a bulk may hold NULs (see len) */
    size_t len;
};

/* Parses one reply at the start of buf[0..len): OIDC_OK with *used bytes consumed,
 * OIDC_ERR_PENDING when buf holds a valid but incomplete beginning, OIDC_ERR_PARSE when it can
 * never be a reply this client accepts (unknown type, array, malformed or oversized). */
int oidc_redis_reply_parse(const char *buf, size_t len, struct oidc_redis_reply *out, size_t *used);

/* Records the token in the provider's Redis store. OIDC_OK on first use; OIDC_ERR_DENIED when
 * the key existed ("token already used on this fleet ..."); OIDC_ERR_NETWORK when the store
 * cannot be reached or answers nothing usable within replay_store_timeout (the only case
 * replay_store_unavailable = local falls back on); OIDC_ERR_CONFIG when it refuses us (AUTH,
 * SELECT, NOAUTH, ...) or the password file is refused; OIDC_ERR_TOKEN from oidc_redis_ttl.
 * Messages name the store and never the password or token bytes. */
int oidc_replay_redis_record(const struct oidc_provider_cfg *p, const char *issuer, const char *jti,
                             const char *token, size_t token_len, int64_t exp, int64_t now,
                             struct oidc_err *err);

#endif
