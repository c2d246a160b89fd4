/* Error codes, the error record, and the secret-wiping primitives shared by every unit. */
#ifndef OIDC_UTIL_H
#define OIDC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define OIDC_FORMAT(a, b) __attribute__((format(printf, a, b)))
#define OIDC_UNUSED       __attribute__((unused))

/* Internal status codes: 0 is success, everything else is negative. Mapped to PAM/NSS codes only in
 * pam/ and nss/; oidc_strerror() names them. */
typedef enum {
    OIDC_OK = 0,
    OIDC_ERR_INTERNAL = -1,   /* a bug or an impossible state */
    OIDC_ERR_NOMEM = -2,      /* allocation failed */
    OIDC_ERR_INVALID = -3,    /* bad argument from the caller */
    OIDC_ERR_CONFIG = -4,     /* configuration is wrong */
    OIDC_ERR_IO = -5,         /* local file or system call failed */
    OIDC_ERR_NETWORK = -6,    /* the IdP could not be reached (DNS, connect, TLS, timeout) */
    OIDC_ERR_HTTP = -7,       /* the IdP answered with an unexpected status or content */
    OIDC_ERR_PARSE = -8,      /* malformed JSON, base64 or token */
    OIDC_ERR_TOOBIG = -9,     /* input over a size or depth cap */
    OIDC_ERR_TOKEN = -10,     /* token refused by a verification rule (claims, header) */
    OIDC_ERR_NOKEY = -11,     /* no usable key for the token (unknown kid) */
    OIDC_ERR_SIGNATURE = -12, /* signature does not verify */
    OIDC_ERR_EXPIRED = -13,   /* token or device code expired */
    OIDC_ERR_DENIED = -14,    /* the user or the IdP denied the request */
    OIDC_ERR_TIMEOUT = -15,   /* the caller's deadline passed */
    OIDC_ERR_MAPPING = -16,   /* the identity cannot be mapped to a local account */
    OIDC_ERR_NOTFOUND = -17,  /* a looked-up item does not exist */
    OIDC_ERR_PENDING = -18,   /* device flow: authorization_pending */
    OIDC_ERR_SLOWDOWN = -19,  /* device flow: slow_down */
} oidc_err_t;

/* Error record: code plus a one-line human message naming the exact failed rule. The message must
 * never contain token, secret, device-code or authorization-code bytes. */
struct oidc_err {
    int code;
    const char *func;
    int line;
    char msg[256];
};

/* Records the error (if err is not NULL) and returns code, so callers can write
 * `return OIDC_ERR_SET(err, OIDC_ERR_TOKEN, "...")`. */
int oidc_err_set(struct oidc_err *err, int code, const char *func, int line, const char *fmt, ...)
    OIDC_FORMAT(5, 6);
/* The macro's value is the code itself, so callers (and static analysers) see that an error path
 * never yields OIDC_OK. code must be free of side effects (it is a constant everywhere). */
static inline int oidc_err_code(int recorded, int code)
{
    (void)recorded;
    return code;
}
#define OIDC_ERR_SET(err, code, ...) \
    oidc_err_code(oidc_err_set((err), (code), __func__, __LINE__, __VA_ARGS__), (code))
/* The message of err; never NULL (falls back to oidc_strerror(code)). */
const char *oidc_err_msg(const struct oidc_err *err);
const char *oidc_strerror(int code);

/* Wiping: one audited primitive (explicit_bzero) and helpers; never zero secrets with a loop. */
void oidc_memzero(void *p, size_t n);
void oidc_freezero(void *p, size_t n);
void oidc_free_secret(char **s);

/* Copies s (NULL-safe) into dst for an error message: at most cap - 1 bytes, every byte outside
 * printable ASCII replaced by '?', so text from the network or a token cannot forge log lines or
 * drive a terminal. Returns dst. */
const char *oidc_printable(char *dst, size_t cap, const char *s);

/* Small checked helpers. */
char *oidc_strndup_checked(const char *s, size_t n); /* NULL when s contains a NUL before n */
int oidc_streq(const char *a, const char *b);        /* NULL-safe equality */
/* Reads a whole file of at most max bytes into a NUL-terminated buffer. */
int oidc_read_file(const char *path, size_t max, char **out, size_t *outlen, struct oidc_err *err);
/* Wall-clock time in seconds. Verification takes "now" as a parameter so tests inject it. */
int64_t oidc_now(void);

#endif
