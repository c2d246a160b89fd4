/* Error records, wiping primitives and small checked helpers. */
#include "config.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int oidc_err_set(struct oidc_err *err, int code, const char *func, int line, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    err->func = func;
    err->line = line;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *oidc_err_msg(const struct oidc_err *err)
{
    if (err == NULL)
        return "unknown error";
    if (err->msg[0] != '\0')
        return err->msg;
    return oidc_strerror(err->code);
}

const char *oidc_strerror(int code)
{
    switch (code) {
    case OIDC_OK:
        return "success";
    case OIDC_ERR_INTERNAL:
        return "internal error";
    case OIDC_ERR_NOMEM:
        return "out of memory";
    case OIDC_ERR_INVALID:
        return "invalid argument";
    case OIDC_ERR_CONFIG:
        return "configuration error";
    case OIDC_ERR_IO:
        return "input/output error";
    case OIDC_ERR_NETWORK:
        return "identity provider unreachable";
    case OIDC_ERR_HTTP:
        return "unexpected answer from the identity provider";
    case OIDC_ERR_PARSE:
        return "malformed input";
    case OIDC_ERR_TOOBIG:
        return "input too large";
    case OIDC_ERR_TOKEN:
        return "token refused";
    case OIDC_ERR_NOKEY:
        return "no usable signing key";
    case OIDC_ERR_SIGNATURE:
        return "bad signature";
    case OIDC_ERR_EXPIRED:
        return "expired";
    case OIDC_ERR_DENIED:
        return "access denied";
    case OIDC_ERR_TIMEOUT:
        return "timed out";
    case OIDC_ERR_MAPPING:
        return "identity cannot be mapped to a local account";
    case OIDC_ERR_NOTFOUND:
        return "not found";
    case OIDC_ERR_PENDING:
        return "authorization pending";
    case OIDC_ERR_SLOWDOWN:
        return "polling too fast";
    default:
        return "unknown error";
    }
}

void oidc_memzero(void *p, size_t n)
{
    if (p == NULL || n == 0)
        return;
#ifdef HAVE_EXPLICIT_BZERO
    explicit_bzero(p, n);
#else
    static void *(*const volatile memset_v)(void *, int, size_t) = memset;
    memset_v(p, 0, n);
#endif
}

void oidc_freezero(void *p, size_t n)
{
    if (p == NULL)
        return;
    oidc_memzero(p, n);
    free(p);
}

void oidc_free_secret(char **s)
{
    if (s == NULL || *s == NULL)
        return;
    oidc_freezero(*s, strlen(*s));
    *s = NULL;
}

const char *oidc_printable(char *dst, size_t cap, const char *s)
{
    size_t i;

    if (cap == 0)
        return dst;
    for (i = 0; s != NULL && s[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[i] = '\0';
    return dst;
}

char *oidc_strndup_checked(const char *s, size_t n)
{
    char *r;

    if (s == NULL || memchr(s, '\0', n) != NULL)
        return NULL;
    r = malloc(n + 1);
    if (r == NULL)
        return NULL;
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

int oidc_streq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

int oidc_read_file(const char *path, size_t max, char **out, size_t *outlen, struct oidc_err *err)
{
    int fd, r = OIDC_ERR_IO;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return OIDC_ERR_SET(err, errno == ENOENT ? OIDC_ERR_NOTFOUND : OIDC_ERR_IO,
                            "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        OIDC_ERR_SET(err, OIDC_ERR_IO, "%s is not a regular file", path);
        goto out;
    }
    if ((uintmax_t)st.st_size > max) {
        r = OIDC_ERR_SET(err, OIDC_ERR_TOOBIG, "%s is larger than %zu bytes", path, max);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    while (len < (size_t)st.st_size) {
        n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            OIDC_ERR_SET(err, OIDC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL; /* transferred */
    if (outlen != NULL)
        *outlen = len;
    r = OIDC_OK;
out:
    if (buf != NULL)
        oidc_freezero(buf, (size_t)st.st_size + 1);
    close(fd);
    return r;
}

int64_t oidc_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (int64_t)time(NULL);
    return (int64_t)ts.tv_sec;
}
