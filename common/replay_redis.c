/* The Redis replay store (see replay_redis.h): a tiny RESP client. hiredis connects (with the
 * deadline as its connect timeout) and formats commands; sending and receiving go through
 * poll() against one monotonic deadline, with MSG_NOSIGNAL (no SIGPIPE inside sshd or sudo), and
 * the replies are parsed here with a fixed bound, so a hostile or broken server can neither hang
 * a login past replay_store_timeout nor make us allocate. */
#include "config.h"
#include "replay_redis.h"
#include "replay_int.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifdef HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

#define SHOW_JTI  64  /* bytes of a jti quoted in a message */
#define SHOW_TEXT 120 /* bytes of a server's error text quoted in a message */

int oidc_replay_store_is_redis(const struct oidc_provider_cfg *p)
{
    return p != NULL && p->replay_store != NULL && strcmp(p->replay_store, "local") != 0;
}

/* ---------------------------------------------------------------- URL, key, TTL */

static int host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* Decimal in [min, max] spanning exactly [s, e). */
static int parse_dec(const char *s, const char *e, long min, long max, int *out)
{
    long v = 0;

    if (s == e || e - s > 6)
        return -1;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

const char *oidc_redis_url_parse(const char *s, struct oidc_redis_url *out)
{
    struct oidc_redis_url u;
    const char *h, *he, *p, *rest;
    size_t n, i;

    memset(&u, 0, sizeof(u));
    if (strncmp(s, "rediss://", 9) == 0)
        return "is rediss:// (TLS), which this build cannot do: hiredis 0.14 has no TLS; use "
               "redis:// over a trusted network or a local TLS tunnel (docs/replay.md)";
    if (strncmp(s, "redis://", 8) != 0)
        return "is neither local nor a redis:// URL";
    h = s + 8;
    rest = h + strcspn(h, "/?#");
    if (memchr(h, '@', (size_t)(rest - h)) != NULL)
        return "has a user or password in the URL (the password belongs in "
               "replay_store_password_file)";
    if (strpbrk(s, "?#") != NULL)
        return "has a query or fragment";
    if (*h == '[') {
        he = memchr(h, ']', (size_t)(rest - h));
        if (he == NULL)
            return "has an unclosed '[' in an IPv6 literal";
        h++;
        p = he + 1;
        for (i = 0; h + i < he; i++)
            if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f') ||
                  (h[i] >= 'A' && h[i] <= 'F') || h[i] == ':' || h[i] == '.'))
                return "has an IPv6 literal with a character other than hex digits, ':' and '.'";
    } else {
        he = h + strcspn(h, ":/");
        p = he;
        for (i = 0; h + i < he; i++)
            if (!host_char_ok(h[i]))
                return "has a host with a character other than A-Z a-z 0-9 . - _";
    }
    n = (size_t)(he - h);
    if (n == 0)
        return "has no host";
    if (n > OIDC_REDIS_HOST_MAX)
        return "has a host longer than 253 characters";
    memcpy(u.host, h, n);
    u.host[n] = '\0';
    u.port = OIDC_REDIS_DEFAULT_PORT;
    if (*p == ':') {
        if (parse_dec(p + 1, rest, 1, 65535, &u.port) != 0)
            return "has a port that is not a number in 1..65535";
    } else if (p != rest) {
        return "has something after the host that is not :PORT or /DB";
    }
    if (*rest == '/' && rest[1] != '\0' &&
        parse_dec(rest + 1, rest + strlen(rest), 0, OIDC_REDIS_DB_MAX, &u.db) != 0)
        return "has a database that is not a number in 0..65535";
#ifndef HAVE_HIREDIS
    return "names a Redis store, but this build has no Redis support (rebuild with "
           "libhiredis-dev and configure --with-hiredis)";
#endif
    if (out != NULL)
        *out = u;
    return NULL;
}

int oidc_redis_key(const char *issuer, const char *jti, const char *token, size_t token_len,
                   char out[OIDC_REDIS_KEY_LEN + 1])
{
    const char *prefix = jti != NULL ? OIDC_REDIS_KEY_JTI : OIDC_REDIS_KEY_TOKEN;
    int r;

    if (issuer == NULL || (jti == NULL && (token == NULL || token_len == 0)))
        return OIDC_ERR_INVALID;
    memcpy(out, prefix, 9);
    if ((r = oidc_replay_key_hex(issuer, jti, token, token_len, out + 9)) != OIDC_OK)
        return r;
    return OIDC_OK;
}

int oidc_redis_ttl(int64_t exp, int64_t now, int64_t *ttl, struct oidc_err *err)
{
    int64_t t;

    /* exp comes from a verified token; the bound keeps the arithmetic far from overflow */
    if (exp > now + OIDC_REDIS_TTL_MAX)
        return OIDC_ERR_SET(err, OIDC_ERR_TOKEN,
                            "the token is valid for %" PRId64 " more seconds: longer than the "
                            "Redis replay store keeps a key (%lld days)",
                            exp - now, OIDC_REDIS_TTL_MAX / 86400);
    t = exp < now - OIDC_REDIS_TTL_MAX ? 1 : exp - now + OIDC_REPLAY_GRACE;
    *ttl = t < 1 ? 1 : t > OIDC_REDIS_TTL_MAX ? OIDC_REDIS_TTL_MAX : t;
    return OIDC_OK;
}

/* ---------------------------------------------------------------- replies */

/* The offset of the first "\r\n" in buf[0..len), or -1. A lone '\r' or '\n' is malformed (-2). */
static long line_end(const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] == '\n')
            return -2;
        if (buf[i] == '\r') {
            if (i + 1 == len)
                return -1;
            return buf[i + 1] == '\n' ? (long)i : -2;
        }
    }
    return -1;
}

int oidc_redis_reply_parse(const char *buf, size_t len, struct oidc_redis_reply *out, size_t *used)
{
    long e, n = 0, i;
    size_t body;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return OIDC_ERR_PENDING;
    e = line_end(buf + 1, len - 1 < OIDC_REDIS_REPLY_MAX ? len - 1 : OIDC_REDIS_REPLY_MAX);
    if (e == -2)
        return OIDC_ERR_PARSE;
    if (e == -1)
        return len - 1 < OIDC_REDIS_REPLY_MAX ? OIDC_ERR_PENDING : OIDC_ERR_PARSE;
    switch (buf[0]) {
    case '+':
    case '-':
    case ':':
        out->type = buf[0] == '+'   ? OIDC_REDIS_STATUS
                    : buf[0] == '-' ? OIDC_REDIS_ERROR
                                    : OIDC_REDIS_INTEGER;
        memcpy(out->text, buf + 1, (size_t)e);
        out->text[e] = '\0';
        out->len = (size_t)e;
        if (out->type == OIDC_REDIS_INTEGER) {
            for (i = 0; i < e; i++)
                if (!((buf[1 + i] >= '0' && buf[1 + i] <= '9') || (i == 0 && buf[1] == '-')))
                    return OIDC_ERR_PARSE;
            if (e == 0 || (e == 1 && buf[1] == '-'))
                return OIDC_ERR_PARSE;
        }
        *used = (size_t)e + 3;
        return OIDC_OK;
    case '_': /* RESP3 null */
        if (e != 0)
            return OIDC_ERR_PARSE;
        out->type = OIDC_REDIS_NIL;
        *used = 3;
        return OIDC_OK;
    case '$':
    case '*':
        if (e == 2 && buf[1] == '-' && buf[2] == '1') {
            out->type = OIDC_REDIS_NIL; /* null bulk, null array */
            *used = 5;
            return OIDC_OK;
        }
        if (buf[0] == '*' || e == 0 || e > 4)
            return OIDC_ERR_PARSE; /* arrays are never an answer to our commands */
        for (i = 0; i < e; i++) {
            if (buf[1 + i] < '0' || buf[1 + i] > '9')
                return OIDC_ERR_PARSE;
            n = n * 10 + (buf[1 + i] - '0');
        }
        if (n > OIDC_REDIS_REPLY_MAX - 10)
            return OIDC_ERR_PARSE;
        body = (size_t)e + 3;
        if (len < body + (size_t)n + 2)
            return OIDC_ERR_PENDING;
        if (buf[body + (size_t)n] != '\r' || buf[body + (size_t)n + 1] != '\n')
            return OIDC_ERR_PARSE;
        out->type = OIDC_REDIS_BULK;
        memcpy(out->text, buf + body, (size_t)n);
        out->text[n] = '\0';
        out->len = (size_t)n;
        *used = body + (size_t)n + 2;
        return OIDC_OK;
    default:
        return OIDC_ERR_PARSE;
    }
}

/* ---------------------------------------------------------------- the client */

#ifdef HAVE_HIREDIS

struct conn {
    redisContext *ctx;
    int64_t deadline;  /* CLOCK_MONOTONIC, milliseconds */
    const char *shown; /* the replay_store value, for messages (holds no secret) */
    char in[OIDC_REDIS_REPLY_MAX];
    size_t in_len;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unavailable(struct conn *c, struct oidc_err *err, const char *what)
{
    return OIDC_ERR_SET(err, OIDC_ERR_NETWORK, "replay store %s is unavailable: %s", c->shown,
                        what);
}

/* Waits until fd is ready for ev, or the deadline: OIDC_OK or OIDC_ERR_NETWORK. */
static int wait_fd(struct conn *c, short ev, const char *doing, struct oidc_err *err)
{
    struct pollfd pfd;
    int64_t left;
    char what[96];
    int n;

    for (;;) {
        left = c->deadline - mono_ms();
        if (left <= 0) {
            snprintf(what, sizeof(what), "no answer within replay_store_timeout (%s)", doing);
            return unavailable(c, err, what);
        }
        pfd.fd = c->ctx->fd;
        pfd.events = ev;
        pfd.revents = 0;
        n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(what, sizeof(what), "poll: %s", strerror(errno));
            return unavailable(c, err, what);
        }
        if (n > 0)
            return OIDC_OK; /* readable, writable, or an error the next call reports */
    }
}

static int send_all(struct conn *c, const char *buf, size_t len, struct oidc_err *err)
{
    size_t off = 0;
    ssize_t n;
    char what[96];
    int r;

    while (off < len) {
        n = send(c->ctx->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if ((r = wait_fd(c, POLLOUT, "sending", err)) != OIDC_OK)
                return r;
            continue;
        }
        snprintf(what, sizeof(what), "cannot send: %s", n < 0 ? strerror(errno) : "no progress");
        return unavailable(c, err, what);
    }
    return OIDC_OK;
}

/* Reads exactly one reply: we send one command at a time, so bytes after it are a protocol
 * error. */
static int read_reply(struct conn *c, struct oidc_redis_reply *rep, struct oidc_err *err)
{
    size_t used = 0;
    ssize_t n;
    char what[96];
    int r;

    c->in_len = 0;
    for (;;) {
        r = oidc_redis_reply_parse(c->in, c->in_len, rep, &used);
        if (r == OIDC_OK && used == c->in_len)
            return OIDC_OK;
        if (r == OIDC_OK || r == OIDC_ERR_PARSE || c->in_len == sizeof(c->in))
            return unavailable(c, err,
                               "the server's reply is not one this client accepts "
                               "(not Redis, or a protocol error)");
        n = recv(c->ctx->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n == 0)
            return unavailable(c, err, "the server closed the connection");
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if ((r = wait_fd(c, POLLIN, "waiting for a reply", err)) != OIDC_OK)
                return r;
            continue;
        }
        snprintf(what, sizeof(what), "cannot receive: %s", strerror(errno));
        return unavailable(c, err, what);
    }
}

/* Sends one command and reads its reply. secret: the formatted command holds the password, so
 * it is wiped before it is released. */
static int command(struct conn *c, int argc, const char **argv, const size_t *lens, int secret,
                   struct oidc_redis_reply *rep, struct oidc_err *err)
{
    char *cmd = NULL;
    int len, r;

    len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0 || cmd == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "replay store %s: cannot format a command",
                            c->shown);
    r = send_all(c, cmd, (size_t)len, err);
    if (secret)
        oidc_memzero(cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (r != OIDC_OK)
        return r;
    return read_reply(c, rep, err);
}

/* An error reply: errors that say the server is there but cannot serve now (loading, busy,
 * read-only replica, out of memory, ...) count as unavailable; the rest (NOAUTH, WRONGPASS,
 * NOPERM, ERR ...) mean this host is configured wrongly, which no fallback should hide. */
static int error_reply(struct conn *c, const char *doing, const struct oidc_redis_reply *rep,
                       struct oidc_err *err)
{
    static const char *const transient[] = {"LOADING",  "BUSY",        "READONLY", "MASTERDOWN",
                                            "TRYAGAIN", "CLUSTERDOWN", "OOM",      "MISCONF"};
    char shown[SHOW_TEXT + 1], what[SHOW_TEXT + 64];
    size_t i, n;

    oidc_printable(shown, sizeof(shown), rep->text);
    for (i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        n = strlen(transient[i]);
        if (strncmp(rep->text, transient[i], n) == 0 &&
            (rep->text[n] == ' ' || rep->text[n] == '\0')) {
            snprintf(what, sizeof(what), "%s refused: %s", doing, shown);
            return unavailable(c, err, what);
        }
    }
    return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "replay store %s: %s refused: %s%s", c->shown, doing,
                        shown,
                        strncmp(rep->text, "NOAUTH", 6) == 0
                            ? " (expected replay_store_password_file naming the password)"
                            : "");
}

static int expect_ok(struct conn *c, const char *doing, const struct oidc_redis_reply *rep,
                     struct oidc_err *err)
{
    if (rep->type == OIDC_REDIS_STATUS && strcmp(rep->text, "OK") == 0)
        return OIDC_OK;
    if (rep->type == OIDC_REDIS_ERROR)
        return error_reply(c, doing, rep, err);
    return unavailable(c, err, "an unexpected reply (not +OK)");
}

static int used_on_fleet(struct conn *c, const char *jti, struct oidc_err *err)
{
    char shown[SHOW_JTI + 1];

    if (jti == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                            "token already used on this fleet (replay store %s; the token has no "
                            "jti, recognised by its SHA-256)",
                            c->shown);
    oidc_printable(shown, sizeof(shown), jti);
    return OIDC_ERR_SET(err, OIDC_ERR_DENIED,
                        "token already used on this fleet (jti '%s%s', replay store %s)", shown,
                        strlen(jti) > SHOW_JTI ? "..." : "", c->shown);
}

int oidc_replay_redis_record(const struct oidc_provider_cfg *p, const char *issuer, const char *jti,
                             const char *token, size_t token_len, int64_t exp, int64_t now,
                             struct oidc_err *err)
{
    struct conn c;
    struct oidc_redis_url u;
    struct oidc_redis_reply rep;
    struct timeval tv;
    const char *problem, *argv[6];
    char key[OIDC_REDIS_KEY_LEN + 1], val[24], px[24], db[8], what[160];
    char *password = NULL;
    size_t lens[6];
    int64_t ttl = 0, left;
    int r;

    memset(&c, 0, sizeof(c));
    if (!oidc_replay_store_is_redis(p) || issuer == NULL ||
        (jti == NULL && (token == NULL || token_len == 0)))
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_replay_redis_record: bad arguments");
    c.shown = p->replay_store;
    if ((problem = oidc_redis_url_parse(p->replay_store, &u)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "provider '%s': replay_store: %s", p->name,
                            problem);
    if ((r = oidc_redis_ttl(exp, now, &ttl, err)) != OIDC_OK)
        return r;
    if ((r = oidc_redis_key(issuer, jti, token, token_len, key)) != OIDC_OK)
        return OIDC_ERR_SET(err, r, "replay store %s: cannot hash the token's key", c.shown);
    if (p->replay_store_password_file != NULL &&
        (r = oidc_cfg_read_replay_password(p, &password, err)) != OIDC_OK)
        return r;

    c.deadline = mono_ms() + (int64_t)p->replay_store_timeout * 1000;
    tv.tv_sec = p->replay_store_timeout;
    tv.tv_usec = 0;
    c.ctx = redisConnectWithTimeout(u.host, u.port, tv);
    if (c.ctx == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "replay store %s: out of memory", c.shown);
        goto out;
    }
    if (c.ctx->err != 0) {
        snprintf(what, sizeof(what), "cannot connect: %s", c.ctx->errstr);
        r = unavailable(&c, err, what);
        goto out;
    }
    left = c.deadline - mono_ms();
    if (left <= 0) {
        r = unavailable(&c, err, "no answer within replay_store_timeout (connecting)");
        goto out;
    }

    if (password != NULL) {
        argv[0] = "AUTH";
        argv[1] = password;
        lens[0] = 4;
        lens[1] = strlen(password);
        if ((r = command(&c, 2, argv, lens, 1, &rep, err)) != OIDC_OK ||
            (r = expect_ok(&c, "AUTH", &rep, err)) != OIDC_OK)
            goto out;
    }
    if (u.db != 0) {
        snprintf(db, sizeof(db), "%d", u.db);
        argv[0] = "SELECT";
        argv[1] = db;
        lens[0] = 6;
        lens[1] = strlen(db);
        if ((r = command(&c, 2, argv, lens, 0, &rep, err)) != OIDC_OK ||
            (r = expect_ok(&c, "SELECT", &rep, err)) != OIDC_OK)
            goto out;
    }
    snprintf(val, sizeof(val), "%" PRId64, exp);
    snprintf(px, sizeof(px), "%" PRId64, ttl * 1000);
    argv[0] = "SET";
    argv[1] = key;
    argv[2] = val;
    argv[3] = "NX";
    argv[4] = "PX";
    argv[5] = px;
    lens[0] = 3;
    lens[1] = strlen(key);
    lens[2] = strlen(val);
    lens[3] = 2;
    lens[4] = 2;
    lens[5] = strlen(px);
    if ((r = command(&c, 6, argv, lens, 0, &rep, err)) != OIDC_OK)
        goto out;
    if (rep.type == OIDC_REDIS_NIL)
        r = used_on_fleet(&c, jti, err);
    else
        r = expect_ok(&c, "SET", &rep, err);
out:
    if (c.ctx != NULL)
        redisFree(c.ctx);
    oidc_free_secret(&password);
    return r;
}

#else /* !HAVE_HIREDIS */

int oidc_replay_redis_record(const struct oidc_provider_cfg *p, const char *issuer, const char *jti,
                             const char *token, size_t token_len, int64_t exp, int64_t now,
                             struct oidc_err *err)
{
    (void)issuer;
    (void)jti;
    (void)token;
    (void)token_len;
    (void)exp;
    (void)now;
    return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                        "provider '%s': replay_store: names a Redis store, but this build has no "
                        "Redis support",
                        p != NULL && p->name != NULL ? p->name : "?");
}

#endif
