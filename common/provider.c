/* An OpenID Provider at run time: the discovery document and the JWKS, kept in memory (keys
 * imported once) and in a small disk cache under state_dir/idp so that short-lived processes (one
 * sshd child per login) do not refetch them. Expiry times live in memory: a warm verification does
 * no I/O at all. A stale document or key set is kept and used while the IdP cannot be reached
 * (no answer, an error status, a body we cannot use), for at most jwks_max_stale seconds past its
 * expiry. A key set the IdP does serve is authoritative even when it holds no usable key: the keys
 * it no longer publishes were rotated out or revoked, so the cached set is dropped, not kept.
 *
 * Cache files: state_dir/idp/<sha256(issuer) hex>.{discovery,jwks}.json, each
 *   {"fetched_at":N,"expires_at":N,"server_date":N[,"source":URL],"doc":{...}}
 * written atomically (temporary file, fsync, rename, fsync of the directory), mode 0600. A file
 * that is corrupt, not ours, or writable by others is ignored (and overwritten at the next fetch).
 *
 * The JWKS attempt record, state_dir/idp/<sha256(issuer) hex>.jwks-attempt, holds the time of the
 * last JWKS fetch attempt as a decimal number, written the same way before each request, whether
 * it then succeeds or not: the unknown-kid refetch cooldown holds across processes (one sshd child
 * per login), so forged or unknown kids cost the IdP at most one request per jwks_cooldown even
 * while it is down. A record in the future (the clock was stepped back) counts as "now" and is
 * rewritten, so it delays the next attempt by one cooldown, never for ever.
 *
 * Not thread-safe: one provider object per thread. */
#include "config.h"
#include "provider.h"
#include "hostname.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define WELL_KNOWN          ".well-known/openid-configuration"
#define CACHE_FILE_MAX      (OIDC_HTTP_MAX_BODY + 4096)
#define RETRY_AFTER_FAILURE 30 /* seconds a stale document is used before the next refetch try */

struct doc_times {
    int64_t fetched_at, expires_at, server_date;
    int64_t failed_at; /* last failed refetch while a stale copy was in use; 0 if none */
};

struct oidc_provider {
    const struct oidc_provider_cfg *cfg; /* borrowed: must outlive the provider */
    char *dir;                           /* state_dir/idp, NULL when the disk cache is unusable */
    char *disc_path, *jwks_path, *attempt_path;
    cJSON *disc; /* validated discovery document */
    struct doc_times dt;
    struct oidc_jwks *jwks; /* last good key set */
    char *jwks_src;         /* the jwks_uri it came from */
    struct doc_times jt;
    int64_t jwks_last_fetch; /* last fetch attempt (or the cached fetch time), for the cooldown */
    uint64_t jwks_gen;       /* bumped each time a new key set is installed */
    int disk_unusable;       /* a state_dir was given but cannot be used: keep that note */
    struct oidc_provider_stats st;
};

static void note(struct oidc_provider *p, const struct oidc_err *e, const char *what)
{
    snprintf(p->st.last_error, sizeof(p->st.last_error), "%s: %s", what, oidc_err_msg(e));
}

static int64_t clamp_ttl(int64_t max_age)
{
    if (max_age < OIDC_DOC_TTL_MIN)
        return OIDC_DOC_TTL_MIN;
    if (max_age > OIDC_DOC_TTL_MAX)
        return OIDC_DOC_TTL_MAX;
    return max_age;
}

static int jwks_cooldown(const struct oidc_provider *p)
{
    return p->cfg->jwks_cooldown > 0 ? p->cfg->jwks_cooldown : OIDC_JWKS_COOLDOWN;
}

/* Whether a copy that expired at t->expires_at may still stand in while the IdP cannot be
 * reached: at most jwks_max_stale seconds past its expiry. */
static int stale_usable(const struct oidc_provider *p, const struct doc_times *t, int64_t now)
{
    int64_t max = p->cfg->jwks_max_stale > 0 ? p->cfg->jwks_max_stale : OIDC_JWKS_MAX_STALE_DEFAULT;

    return now < t->expires_at || now - t->expires_at <= max;
}

/* The refusal when the IdP cannot be reached and the cached copy is too old to stand in. */
static int too_stale(struct oidc_provider *p, const char *what, const char *verb,
                     const struct oidc_err *cause, struct oidc_err *err)
{
    struct oidc_err e = {0};

    OIDC_ERR_SET(&e, OIDC_ERR_NETWORK,
                 "the cached %s of provider %.64s %s older than jwks_max_stale and the IdP cannot "
                 "be reached (%s)",
                 what, p->cfg->name != NULL ? p->cfg->name : p->cfg->issuer, verb,
                 oidc_err_msg(cause));
    note(p, &e, "refused");
    if (err != NULL)
        *err = e;
    return OIDC_ERR_NETWORK;
}

/* ------------------------------------------------------------------ disk cache */

static int hex_sha256(const char *s, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return OIDC_ERR_INTERNAL;
    for (i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return OIDC_OK;
}

static char *path_join(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *s = malloc(n);

    if (s != NULL)
        snprintf(s, n, "%s/%s%s", dir, name, suffix);
    return s;
}

/* Whether a file or directory may be trusted: ours or root's, not writable by group or others. */
static int trusted_owner_mode(const struct stat *st)
{
    return (st->st_uid == geteuid() || st->st_uid == 0) && (st->st_mode & 022) == 0;
}

/* Sets up state_dir/idp; on any problem the provider works in memory only. */
static int cache_dir_init(struct oidc_provider *p, const char *state_dir)
{
    struct oidc_err e = {0};
    struct stat st;
    char hex[65];
    char *dir;

    if (state_dir == NULL || *state_dir == '\0')
        return OIDC_OK;
    if (hex_sha256(p->cfg->issuer, hex) != OIDC_OK)
        return OIDC_ERR_INTERNAL;
    dir = path_join(state_dir, "idp", "");
    if (dir == NULL)
        return OIDC_ERR_NOMEM;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        OIDC_ERR_SET(&e, OIDC_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
        goto memory_only;
    }
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !trusted_owner_mode(&st)) {
        OIDC_ERR_SET(&e, OIDC_ERR_IO, "%s is not a private directory", dir);
        goto memory_only;
    }
    p->disc_path = path_join(dir, hex, ".discovery.json");
    p->jwks_path = path_join(dir, hex, ".jwks.json");
    p->attempt_path = path_join(dir, hex, ".jwks-attempt");
    if (p->disc_path == NULL || p->jwks_path == NULL || p->attempt_path == NULL) {
        free(dir);
        return OIDC_ERR_NOMEM;
    }
    p->dir = dir;
    p->st.cache_on_disk = 1;
    return OIDC_OK;
memory_only:
    p->disk_unusable = 1;
    note(p, &e, "disk cache unused");
    free(dir);
    return OIDC_OK;
}

/* Reads and parses a cache wrapper; any failure means "no cache". */
static int cache_read_file(const char *path, cJSON **out)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int fd, r = OIDC_ERR_NOTFOUND;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return OIDC_ERR_NOTFOUND;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !trusted_owner_mode(&st) ||
        st.st_size <= 0 || st.st_size > CACHE_FILE_MAX)
        goto out;
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        r = OIDC_ERR_NOMEM;
        goto out;
    }
    while (len < (size_t)st.st_size) {
        n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (len != (size_t)st.st_size)
        goto out;
    buf[len] = '\0';
    r = oidc_json_parse_object(buf, len, "cache file", out, NULL) == OIDC_OK ? OIDC_OK
                                                                             : OIDC_ERR_PARSE;
out:
    free(buf);
    close(fd);
    return r;
}

/* Extracts the times and the document of a wrapper; the document stays owned by the wrapper. */
static int cache_unwrap(const cJSON *w, struct doc_times *t, const cJSON **doc)
{
    if (oidc_json_get_int64(w, "fetched_at", &t->fetched_at) != OIDC_OK ||
        oidc_json_get_int64(w, "expires_at", &t->expires_at) != OIDC_OK ||
        oidc_json_get_int64(w, "server_date", &t->server_date) != OIDC_OK ||
        oidc_json_get_object(w, "doc", doc) != OIDC_OK)
        return OIDC_ERR_PARSE;
    if (t->fetched_at <= 0 || t->expires_at < t->fetched_at ||
        t->expires_at - t->fetched_at > OIDC_DOC_TTL_MAX || t->server_date < 0)
        return OIDC_ERR_PARSE;
    t->failed_at = 0;
    return OIDC_OK;
}

static int write_all(int fd, const char *s, size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes text to path atomically (temporary file in the cache directory, mode 0600, fsync,
 * rename, fsync of the directory). Failures are only noted, prefixed with what. */
static void write_atomic(struct oidc_provider *p, const char *path, const char *text,
                         const char *what)
{
    struct oidc_err e = {0};
    char *tmp = NULL;
    size_t n;
    int fd = -1, dfd;

    n = strlen(path) + sizeof(".XXXXXX");
    tmp = malloc(n);
    if (tmp != NULL)
        snprintf(tmp, n, "%s.XXXXXX", path);
    if (tmp == NULL) {
        OIDC_ERR_SET(&e, OIDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        OIDC_ERR_SET(&e, OIDC_ERR_IO, "cannot create a file in %s: %s", p->dir, strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
        OIDC_ERR_SET(&e, OIDC_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        OIDC_ERR_SET(&e, OIDC_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        OIDC_ERR_SET(&e, OIDC_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL; /* in place */
    dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL) {
        (void)unlink(tmp);
        free(tmp);
    }
    if (e.code != 0)
        note(p, &e, what);
}

/* Writes the wrapper for doc atomically. Failures are only noted: the provider keeps working from
 * memory. */
static void cache_write(struct oidc_provider *p, const char *path, cJSON *doc,
                        const struct doc_times *t, const char *source)
{
    struct oidc_err e = {0};
    cJSON *w = NULL;
    char *text = NULL;

    if (p->dir == NULL || path == NULL)
        return;
    w = cJSON_CreateObject();
    if (w == NULL || cJSON_AddNumberToObject(w, "fetched_at", (double)t->fetched_at) == NULL ||
        cJSON_AddNumberToObject(w, "expires_at", (double)t->expires_at) == NULL ||
        cJSON_AddNumberToObject(w, "server_date", (double)t->server_date) == NULL ||
        (source != NULL && cJSON_AddStringToObject(w, "source", source) == NULL) ||
        !cJSON_AddItemReferenceToObject(w, "doc", doc) ||
        (text = cJSON_PrintUnformatted(w)) == NULL) {
        OIDC_ERR_SET(&e, OIDC_ERR_NOMEM, "out of memory");
        note(p, &e, "disk cache not written");
        goto out;
    }
    write_atomic(p, path, text, "disk cache not written");
out:
    free(text);
    cJSON_Delete(w); /* doc is a reference: not freed */
}

/* The JWKS attempt record: the time of the last fetch attempt of any process, 0 when there is
 * none or it cannot be trusted (not a regular file, not ours or root's, writable by others, not a
 * plain decimal number). */
static int64_t attempt_read(const struct oidc_provider *p)
{
    struct stat st;
    char buf[32];
    ssize_t n;
    int64_t v = 0;
    size_t i;
    int fd;

    if (p->attempt_path == NULL)
        return 0;
    fd = open(p->attempt_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !trusted_owner_mode(&st) ||
        st.st_size <= 0 || st.st_size >= (off_t)sizeof(buf)) {
        close(fd);
        return 0;
    }
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return 0;
    for (i = 0; i < (size_t)n && buf[i] != '\n'; i++) {
        if (buf[i] < '0' || buf[i] > '9' || i >= 12) /* 12 digits: beyond year 9999 */
            return 0;
        v = v * 10 + (buf[i] - '0');
    }
    return i == 0 ? 0 : v;
}

static void attempt_write(struct oidc_provider *p, int64_t t)
{
    char text[32];

    if (p->dir == NULL || p->attempt_path == NULL)
        return;
    snprintf(text, sizeof(text), "%lld\n", (long long)t);
    write_atomic(p, p->attempt_path, text, "JWKS attempt record not written");
}

/* ------------------------------------------------------------------ discovery */

static int endpoint_check(const struct oidc_provider *p, const cJSON *doc, const char *name,
                          int required, struct oidc_err *err)
{
    struct oidc_err e = {0};
    const char *v = NULL;
    int r;

    r = oidc_json_get_string(doc, name, &v);
    if (r == OIDC_ERR_NOTFOUND && !required)
        return OIDC_OK;
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "discovery document has no %s", name);
    if (r != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "discovery document: %s is not a string", name);
    if (oidc_http_url_check(v, p->cfg->insecure_http_loopback, &e) != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "discovery document: %s: %s", name,
                            oidc_err_msg(&e));
    return OIDC_OK;
}

/* The rules a discovery document must meet, whether fetched or read from the cache. */
static int discovery_validate(const struct oidc_provider *p, const cJSON *doc, struct oidc_err *err)
{
    char a[112], b[112];
    const char *iss = NULL;
    int r;

    r = oidc_json_get_string(doc, "issuer", &iss);
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "discovery document has no issuer");
    if (r != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_HTTP, "discovery document: issuer is not a string");
    if (strcmp(iss, p->cfg->issuer) != 0)
        return OIDC_ERR_SET(
            err, OIDC_ERR_CONFIG, "issuer in discovery is '%s' but the configuration says '%s'",
            oidc_printable(a, sizeof(a), iss), oidc_printable(b, sizeof(b), p->cfg->issuer));
    if ((r = endpoint_check(p, doc, "jwks_uri", 1, err)) != OIDC_OK ||
        (r = endpoint_check(p, doc, "token_endpoint", 0, err)) != OIDC_OK ||
        (r = endpoint_check(p, doc, "device_authorization_endpoint", 0, err)) != OIDC_OK ||
        (r = endpoint_check(p, doc, "userinfo_endpoint", 0, err)) != OIDC_OK ||
        (r = endpoint_check(p, doc, "authorization_endpoint", 0, err)) != OIDC_OK)
        return r;
    return OIDC_OK;
}

static int fetch_discovery(struct oidc_provider *p, int64_t now, struct oidc_err *err)
{
    struct oidc_http_opts o;
    struct oidc_http_req req = {0};
    struct oidc_http_resp resp = {0};
    cJSON *doc = NULL;
    char *url = NULL;
    size_t n = strlen(p->cfg->issuer);
    int r;

    url = malloc(n + sizeof(WELL_KNOWN) + 1);
    if (url == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    snprintf(url, n + sizeof(WELL_KNOWN) + 1, "%s%s%s", p->cfg->issuer,
             (n > 0 && p->cfg->issuer[n - 1] == '/') ? "" : "/", WELL_KNOWN);
    if ((r = oidc_http_url_check(p->cfg->issuer, p->cfg->insecure_http_loopback, err)) != OIDC_OK)
        goto out;
    oidc_provider_http_opts(p, &o);
    req.url = url;
    p->st.discovery_fetches++;
    if ((r = oidc_http_request(&o, &req, &resp, err)) != OIDC_OK)
        goto out;
    if (resp.status != 200) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "discovery at %.160s answered HTTP %ld", url,
                         resp.status);
        goto out;
    }
    if ((r = oidc_json_parse_object(resp.body, resp.len, "discovery document", &doc, err)) !=
        OIDC_OK)
        goto out;
    if ((r = discovery_validate(p, doc, err)) != OIDC_OK)
        goto out;
    cJSON_Delete(p->disc);
    p->disc = doc;
    doc = NULL; /* transferred */
    p->dt.fetched_at = now;
    p->dt.expires_at = now + clamp_ttl(resp.max_age);
    p->dt.server_date = resp.date;
    p->dt.failed_at = 0;
    p->st.discovery_expires = p->dt.expires_at;
    p->st.server_date = resp.date;
    p->st.local_at_fetch = now;
    if (!p->disk_unusable)
        p->st.last_error[0] = '\0';
    cache_write(p, p->disc_path, p->disc, &p->dt, NULL);
    r = OIDC_OK;
out:
    cJSON_Delete(doc);
    oidc_http_resp_clear(&resp);
    free(url);
    return r;
}

int oidc_provider_discover(struct oidc_provider *p, int64_t now, struct oidc_err *err)
{
    struct oidc_err e = {0};
    int r, usable;

    if (p == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "no provider");
    if (p->disc != NULL && now < p->dt.expires_at)
        return OIDC_OK;
    usable = p->disc != NULL && stale_usable(p, &p->dt, now);
    /* stale and the last refetch failed a moment ago: keep using it without hammering the IdP */
    if (usable && p->dt.failed_at != 0 && now >= p->dt.failed_at &&
        now - p->dt.failed_at < RETRY_AFTER_FAILURE)
        return OIDC_OK;
    r = fetch_discovery(p, now, &e);
    if (r == OIDC_OK)
        return OIDC_OK;
    if (p->disc != NULL && (r == OIDC_ERR_NETWORK || r == OIDC_ERR_HTTP)) {
        if (usable) {
            p->dt.failed_at = now;
            note(p, &e, "discovery refetch failed, stale document in use");
            return OIDC_OK;
        }
        return too_stale(p, "discovery document", "is", &e, err);
    }
    note(p, &e, "discovery failed");
    if (err != NULL)
        *err = e;
    return r;
}

const char *oidc_provider_endpoint(const struct oidc_provider *p, const char *name)
{
    const char *v = NULL;

    if (p == NULL || p->disc == NULL || name == NULL)
        return NULL;
    return oidc_json_get_string(p->disc, name, &v) == OIDC_OK ? v : NULL;
}

/* ------------------------------------------------------------------ JWKS */

/* The IdP served a key set without a usable key: the keys it published before are withdrawn
 * (rotated out or revoked). Forget them in memory and on disk, where the next process would
 * otherwise load them again. */
static void jwks_drop(struct oidc_provider *p)
{
    struct oidc_err e = {0};

    oidc_jwks_free(p->jwks);
    p->jwks = NULL;
    free(p->jwks_src);
    p->jwks_src = NULL;
    p->jt.fetched_at = p->jt.expires_at = p->jt.server_date = p->jt.failed_at = 0;
    p->jwks_gen++;
    p->st.jwks_expires = 0;
    if (p->jwks_path != NULL && unlink(p->jwks_path) != 0 && errno != ENOENT) {
        OIDC_ERR_SET(&e, OIDC_ERR_IO, "cannot remove %s: %s", p->jwks_path, strerror(errno));
        note(p, &e, "withdrawn keys still in the disk cache");
    }
}

static int fetch_jwks(struct oidc_provider *p, int64_t now, const char *uri, struct oidc_err *err)
{
    struct oidc_err e = {0};
    struct oidc_http_opts o;
    struct oidc_http_req req = {0};
    struct oidc_http_resp resp = {0};
    struct oidc_jwks *set = NULL;
    cJSON *doc = NULL;
    char *src = NULL;
    int r;

    oidc_provider_http_opts(p, &o);
    req.url = uri;
    p->st.jwks_fetches++;
    p->jwks_last_fetch = now;
    attempt_write(p, now); /* before the request: it counts whether or not it succeeds */
    if ((r = oidc_http_request(&o, &req, &resp, err)) != OIDC_OK)
        goto out;
    if (resp.status != 200) {
        r = OIDC_ERR_SET(err, OIDC_ERR_HTTP, "JWKS at %.160s answered HTTP %ld", uri, resp.status);
        goto out;
    }
    if ((r = oidc_json_parse_object(resp.body, resp.len, "JWKS", &doc, err)) != OIDC_OK)
        goto out;
    if ((r = oidc_jwks_parse(resp.body, resp.len, &set, &e)) == OIDC_ERR_NOKEY) {
        /* a JWK Set, served, with no key we can use: authoritative, not an outage */
        jwks_drop(p);
        r = OIDC_ERR_SET(err, r,
                         "the IdP now serves no usable signing key at %.100s, so the keys cached "
                         "before are no longer trusted (%s)",
                         uri, oidc_err_msg(&e));
        goto out;
    }
    if (r != OIDC_OK) {
        if (err != NULL)
            *err = e;
        goto out;
    }
    if ((src = strdup(uri)) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    oidc_jwks_free(p->jwks);
    p->jwks = set;
    set = NULL; /* transferred */
    free(p->jwks_src);
    p->jwks_src = src;
    src = NULL; /* transferred */
    p->jwks_gen++;
    p->jt.fetched_at = now;
    p->jt.expires_at = now + clamp_ttl(resp.max_age);
    p->jt.server_date = resp.date;
    p->jt.failed_at = 0;
    p->st.jwks_expires = p->jt.expires_at;
    p->st.server_date = resp.date;
    p->st.local_at_fetch = now;
    if (!p->disk_unusable)
        p->st.last_error[0] = '\0';
    cache_write(p, p->jwks_path, doc, &p->jt, uri);
    r = OIDC_OK;
out:
    free(src);
    oidc_jwks_free(set);
    cJSON_Delete(doc);
    oidc_http_resp_clear(&resp);
    return r;
}

/* Whether the cached set came from the jwks_uri the current discovery document names. */
static int jwks_source_current(const struct oidc_provider *p)
{
    const char *uri = oidc_provider_endpoint(p, "jwks_uri");

    return uri == NULL || oidc_streq(uri, p->jwks_src);
}

int oidc_provider_jwks(struct oidc_provider *p, int64_t now, int force,
                       const struct oidc_jwks **out, struct oidc_err *err)
{
    struct oidc_err e = {0};
    const char *uri;
    int r, usable;

    if (p == NULL || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "no provider");
    if (p->jwks != NULL && !force && now < p->jt.expires_at && jwks_source_current(p)) {
        *out = p->jwks; /* warm path: memory only */
        return OIDC_OK;
    }
    /* a set too far past its expiry counts as none: no shortcut below may hand it out */
    usable = p->jwks != NULL && stale_usable(p, &p->jt, now);
    if (usable && force) {
        /* another process may have tried since this one loaded the cache */
        int64_t last = attempt_read(p);

        if (last > now) { /* the clock was stepped back: the cooldown runs from now */
            last = now;
            attempt_write(p, now);
        }
        if (last > p->jwks_last_fetch || p->jwks_last_fetch > now)
            p->jwks_last_fetch = last > 0 ? last : now;
    }
    if (usable && force && now >= p->jwks_last_fetch &&
        now - p->jwks_last_fetch < jwks_cooldown(p)) {
        p->st.jwks_refetch_refused++;
        *out = p->jwks;
        return OIDC_OK;
    }
    if (usable && !force && p->jt.failed_at != 0 && now >= p->jt.failed_at &&
        now - p->jt.failed_at < RETRY_AFTER_FAILURE) {
        *out = p->jwks;
        return OIDC_OK;
    }
    r = oidc_provider_discover(p, now, &e);
    if (r == OIDC_OK) {
        uri = oidc_provider_endpoint(p, "jwks_uri");
        r = uri != NULL ? fetch_jwks(p, now, uri, &e)
                        : OIDC_ERR_SET(&e, OIDC_ERR_HTTP, "discovery document has no jwks_uri");
    }
    if (r == OIDC_OK) {
        *out = p->jwks;
        return OIDC_OK;
    }
    /* keep the last good set through outages (no answer, an error status, a body that is not a
     * JWK Set), within jwks_max_stale; a served set without a usable key already dropped it */
    if (p->jwks != NULL && (r == OIDC_ERR_NETWORK || r == OIDC_ERR_HTTP || r == OIDC_ERR_PARSE ||
                            r == OIDC_ERR_TOOBIG)) {
        if (usable) {
            p->jt.failed_at = now;
            note(p, &e, "JWKS refetch failed, last good key set in use");
            *out = p->jwks;
            return OIDC_OK;
        }
        return too_stale(p, "keys", "are", &e, err);
    }
    note(p, &e, "JWKS unavailable");
    if (err != NULL)
        *err = e;
    return r;
}

/* ------------------------------------------------------------------ verification */

void oidc_provider_verify_opts(const struct oidc_provider_cfg *pcfg, int64_t now,
                               const char **aud_storage, struct oidc_verify_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->issuer = pcfg->issuer;
    if (pcfg->audiences.n > 0) {
        opts->audiences = (const char *const *)pcfg->audiences.v;
        opts->n_audiences = pcfg->audiences.n;
    } else {
        aud_storage[0] = pcfg->client_id;
        opts->audiences = aud_storage;
        opts->n_audiences = 1;
    }
    opts->client_id = pcfg->client_id;
    opts->algs = pcfg->algs;
    opts->now = now;
    opts->leeway = pcfg->leeway;
    opts->max_token_age = pcfg->max_token_age;
    opts->acr = pcfg->acr;
}

static int verify_with(struct oidc_provider *p, const char *jwt, size_t len, int64_t now,
                       const char *nonce, const char *host_audience, struct oidc_token **out,
                       struct oidc_err *err)
{
    struct oidc_verify_opts opts;
    struct oidc_err e = {0};
    const struct oidc_jwks *set = NULL;
    const char *aud[1];
    uint64_t gen;
    int r, rf;

    if (p == NULL || jwt == NULL || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_provider_verify: missing argument");
    if ((r = oidc_provider_jwks(p, now, 0, &set, err)) != OIDC_OK)
        return r;
    oidc_provider_verify_opts(p->cfg, now, aud, &opts);
    opts.nonce = nonce;
    opts.host_audience = host_audience;
    r = oidc_token_verify(jwt, len, set, &opts, out, err);
    if (r != OIDC_ERR_NOKEY)
        return r;
    /* unknown kid: one refetch (rate-limited by the cooldown), one retry with the new set */
    gen = p->jwks_gen;
    rf = oidc_provider_jwks(p, now, 1, &set, &e);
    if (rf != OIDC_OK && p->jwks == NULL) { /* the IdP withdrew every key: say so */
        if (err != NULL)
            *err = e;
        return rf;
    }
    if (rf != OIDC_OK || p->jwks_gen == gen)
        return r; /* err still names the missing key */
    return oidc_token_verify(jwt, len, set, &opts, out, err);
}

int oidc_provider_verify(struct oidc_provider *p, const char *jwt, size_t len, int64_t now,
                         const char *nonce, struct oidc_token **out, struct oidc_err *err)
{
    return verify_with(p, jwt, len, now, nonce, NULL, out, err);
}

int oidc_provider_verify_presented(struct oidc_provider *p, const char *host_name, const char *jwt,
                                   size_t len, int64_t now, const char *nonce,
                                   struct oidc_token **out, struct oidc_err *err)
{
    struct oidc_host_audience ha;
    int r;

    if (p == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_provider_verify: missing argument");
    if ((r = oidc_host_audience_get(host_name, p->cfg, &ha, err)) != OIDC_OK)
        return r;
    return verify_with(p, jwt, len, now, nonce, ha.value[0] != '\0' ? ha.value : NULL, out, err);
}

/* ------------------------------------------------------------------ object */

static void load_discovery_cache(struct oidc_provider *p)
{
    struct doc_times t;
    const cJSON *doc;
    cJSON *w = NULL;

    if (p->disc_path == NULL || cache_read_file(p->disc_path, &w) != OIDC_OK)
        return;
    if (cache_unwrap(w, &t, &doc) != OIDC_OK || discovery_validate(p, doc, NULL) != OIDC_OK)
        goto out;
    p->disc = cJSON_DetachItemFromObjectCaseSensitive(w, "doc");
    if (p->disc == NULL)
        goto out;
    p->dt = t;
    p->st.discovery_expires = t.expires_at;
    p->st.server_date = t.server_date;
    p->st.local_at_fetch = t.fetched_at;
out:
    cJSON_Delete(w);
}

static void load_jwks_cache(struct oidc_provider *p)
{
    struct doc_times t;
    struct oidc_jwks *set = NULL;
    const cJSON *doc;
    const char *src = NULL;
    cJSON *w = NULL;
    char *text = NULL, *s = NULL;

    if (p->jwks_path == NULL || cache_read_file(p->jwks_path, &w) != OIDC_OK)
        return;
    if (cache_unwrap(w, &t, &doc) != OIDC_OK || oidc_json_get_string(w, "source", &src) != OIDC_OK)
        goto out;
    if (oidc_http_url_check(src, p->cfg->insecure_http_loopback, NULL) != OIDC_OK)
        goto out;
    if ((text = cJSON_PrintUnformatted(doc)) == NULL ||
        oidc_jwks_parse(text, strlen(text), &set, NULL) != OIDC_OK || (s = strdup(src)) == NULL)
        goto out;
    p->jwks = set;
    set = NULL; /* transferred */
    p->jwks_src = s;
    s = NULL; /* transferred */
    p->jt = t;
    p->jwks_last_fetch = t.fetched_at;
    p->jwks_gen++;
    p->st.jwks_expires = t.expires_at;
out:
    free(s);
    free(text);
    oidc_jwks_free(set);
    cJSON_Delete(w);
}

int oidc_provider_new(const struct oidc_provider_cfg *pcfg, const char *state_dir,
                      struct oidc_provider **out, struct oidc_err *err)
{
    struct oidc_provider *p = NULL;
    int r;

    if (pcfg == NULL || out == NULL || pcfg->issuer == NULL || pcfg->client_id == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "a provider needs an issuer and a client_id");
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
    p->cfg = pcfg;
    if ((r = cache_dir_init(p, state_dir)) != OIDC_OK) {
        OIDC_ERR_SET(err, r, "cannot set up the provider cache");
        goto out;
    }
    load_discovery_cache(p);
    load_jwks_cache(p);
    *out = p;
    p = NULL; /* transferred */
    r = OIDC_OK;
out:
    oidc_provider_free(p);
    return r;
}

void oidc_provider_free(struct oidc_provider *p)
{
    if (p == NULL)
        return;
    cJSON_Delete(p->disc);
    oidc_jwks_free(p->jwks);
    free(p->jwks_src);
    free(p->disc_path);
    free(p->jwks_path);
    free(p->attempt_path);
    free(p->dir);
    free(p);
}

const struct oidc_provider_cfg *oidc_provider_cfg(const struct oidc_provider *p)
{
    return p != NULL ? p->cfg : NULL;
}

void oidc_provider_http_opts(const struct oidc_provider *p, struct oidc_http_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->ca_file = p->cfg->ca_file;
    opts->connect_timeout = p->cfg->connect_timeout;
    opts->timeout = p->cfg->timeout;
    opts->max_body = OIDC_HTTP_MAX_BODY;
    opts->insecure_http_loopback = p->cfg->insecure_http_loopback;
}

void oidc_provider_stats(const struct oidc_provider *p, struct oidc_provider_stats *st)
{
    if (p == NULL) {
        memset(st, 0, sizeof(*st));
        return;
    }
    *st = p->st;
}
