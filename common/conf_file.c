/* File safety for the configuration: opening a configuration file, a drop-in file, a drop-in
 * directory or a secret file without following a symbolic link, and refusing it unless it is a
 * regular file (or directory) owned by root with no forbidden mode bits and within its size cap
 * (oidc_conf_read_safely); reading the one-line secrets (client_secret_file,
 * replay_store_password_file) and wiping them on failure. It does not parse configuration text
 * (conf_ini.c) or know the keys (conf_keys.c). */
#include "config.h"
#include "conf_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX 4096 /* client secret file */

/* ---------------------------------------------------------------- files */

#define SECRET_FORBIDDEN (S_IRWXG | S_IRWXO)
#define SECRET_MODE_RULE "grants access to group or others (expected mode 0600 or 0400)"

/* Opens name (relative to dirfd) without following a symbolic link, checks through the open
 * descriptor that it is a regular file owned by root, without the forbidden mode bits and at most
 * max bytes, and reads it. OIDC_ERR_NOTFOUND (err untouched) when it does not exist. The buffer
 * is wiped before it is released on failure, since it may hold a secret. */
int oidc_conf_read_safely(int dirfd, const char *name, const char *shown, size_t max,
                          mode_t forbidden, const char *mode_rule, char **out, size_t *outlen,
                          struct oidc_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ssize_t n;
    int fd, r = OIDC_ERR_CONFIG;

    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return OIDC_ERR_NOTFOUND;
        if (errno == ELOOP) {
            OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                         "%s: refused: a symbolic link (expected a regular file)", shown);
            return OIDC_ERR_CONFIG;
        }
        OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot open: %s", shown, strerror(errno));
        return OIDC_ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        r = OIDC_ERR_IO;
        OIDC_ERR_SET(err, r, "%s: cannot stat: %s", shown, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: not a regular file", shown);
        goto out;
    }
    if (st.st_uid != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: owned by uid %u (expected owner root)",
                     shown, (unsigned)st.st_uid);
        goto out;
    }
    if ((st.st_mode & forbidden) != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: mode %04o %s", shown,
                     (unsigned)(st.st_mode & 07777), mode_rule);
        goto out;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: larger than %zu bytes", shown, max);
        goto out;
    }
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        r = OIDC_ERR_NOMEM;
        oidc_conf_nomem(err, shown);
        goto out;
    }
    while (len < cap - 1) {
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = OIDC_ERR_IO;
            OIDC_ERR_SET(err, r, "%s: cannot read: %s", shown, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL; /* transferred */
    *outlen = len;
    r = OIDC_OK;
out:
    if (buf != NULL)
        oidc_freezero(buf, cap);
    close(fd);
    return r;
}

int oidc_conf_open_dir(const char *dir, int *out, struct oidc_err *err)
{
    struct stat st;
    int dfd, r = OIDC_ERR_CONFIG;

    *out = -1;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return OIDC_OK;
        if (errno == ELOOP || errno == ENOTDIR)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "%s: refused: not a directory or a symbolic link (expected a "
                                "directory)",
                                dir);
        return OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    }
    if (fstat(dfd, &st) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "%s: cannot stat: %s", dir, strerror(errno));
        goto out;
    }
    if (st.st_uid != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: owned by uid %u (expected owner root)",
                     dir, (unsigned)st.st_uid);
        goto out;
    }
    if ((st.st_mode & CONF_FORBIDDEN) != 0) {
        OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: refused: mode %04o %s", dir,
                     (unsigned)(st.st_mode & 07777), CONF_MODE_RULE);
        goto out;
    }
    *out = dfd;
    dfd = -1; /* transferred */
    r = OIDC_OK;
out:
    if (dfd >= 0)
        close(dfd);
    return r;
}

int oidc_conf_check_secret_path(const char *name, const char *path, struct oidc_err *err)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == EACCES)
            return OIDC_OK;
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: %s", name, path,
                            strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: refused: not a "
                            "regular file",
                            name, path);
    if (st.st_uid != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: refused: owned by uid "
                            "%u (expected owner root)",
                            name, path, (unsigned)st.st_uid);
    if ((st.st_mode & SECRET_FORBIDDEN) != 0)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "provider '%s': replay_store_password_file: %s: refused: mode %04o "
                            "%s",
                            name, path, (unsigned)(st.st_mode & 07777), SECRET_MODE_RULE);
    return OIDC_OK;
}

/* One-line secret from a root-only file; key names the setting in messages. */
static int read_secret_file(const char *path, const char *key, char **out, struct oidc_err *err)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int r;

    if (path[0] != '/')
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: not an absolute path", path, key);
    r = oidc_conf_read_safely(AT_FDCWD, path, path, SECRET_MAX, SECRET_FORBIDDEN, SECRET_MODE_RULE,
                              &buf, &len, err);
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "%s: %s: no such file", path, key);
    if (r != OIDC_OK)
        return r;
    cap = len + 1;
    r = OIDC_ERR_CONFIG;
    if (memchr(buf, '\0', len) != NULL) {
        OIDC_ERR_SET(err, r, "%s: the secret contains a NUL byte", path);
        goto out;
    }
    if (len > 0 && buf[len - 1] == '\n') {
        buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r')
            buf[--len] = '\0';
    }
    if (len == 0) {
        OIDC_ERR_SET(err, r, "%s: the secret is empty", path);
        goto out;
    }
    if (memchr(buf, '\n', len) != NULL || memchr(buf, '\r', len) != NULL) {
        OIDC_ERR_SET(err, r, "%s: the secret spans more than one line (expected one line)", path);
        goto out;
    }
    *out = buf;
    buf = NULL; /* transferred */
    r = OIDC_OK;
out:
    if (buf != NULL)
        oidc_freezero(buf, cap);
    return r;
}

int oidc_cfg_read_secret(const struct oidc_provider_cfg *p, char **out, struct oidc_err *err)
{
    if (p == NULL || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_read_secret: bad arguments");
    if (p->client_secret_file == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOTFOUND,
                            "provider '%s': client_secret_file: not set (a public client)",
                            p->name != NULL ? p->name : "?");
    return read_secret_file(p->client_secret_file, "client_secret_file", out, err);
}

int oidc_cfg_read_replay_password(const struct oidc_provider_cfg *p, char **out,
                                  struct oidc_err *err)
{
    if (p == NULL || out == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_cfg_read_replay_password: bad arguments");
    if (p->replay_store_password_file == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_NOTFOUND,
                            "provider '%s': replay_store_password_file: not set",
                            p->name != NULL ? p->name : "?");
    return read_secret_file(p->replay_store_password_file, "replay_store_password_file", out, err);
}
