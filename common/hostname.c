/* This host's names and the host audience (see hostname.h). */
#include "config.h"
#include "hostname.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOSTS_LINE_MAX 4096
#define PH_HOSTNAME    "{hostname}"
#define PH_FQDN        "{fqdn}"

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

const char *oidc_host_template_problem(const char *t)
{
    size_t n = strlen(t), i;
    int placeholders = 0;

    if (n == 0)
        return "is empty";
    if (n > OIDC_HOST_TEMPLATE_MAX)
        return "is longer than 128 bytes";
    for (i = 0; i < n; i++) {
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return "has a blank, control or non-ASCII character";
        if (t[i] == '}')
            return "has a '}' outside {hostname} or {fqdn}";
        if (t[i] != '{')
            continue;
        if (strncmp(t + i, PH_HOSTNAME, strlen(PH_HOSTNAME)) == 0)
            i += strlen(PH_HOSTNAME) - 1;
        else if (strncmp(t + i, PH_FQDN, strlen(PH_FQDN)) == 0)
            i += strlen(PH_FQDN) - 1;
        else
            return "has a placeholder other than {hostname} or {fqdn}";
        placeholders++;
    }
    if (placeholders == 0)
        return "has neither {hostname} nor {fqdn} (every host would expect the same audience)";
    return NULL;
}

const char *oidc_host_name_problem(const char *s)
{
    size_t n = strlen(s), i, label = 0;

    if (n == 0)
        return "is empty";
    if (n > OIDC_HOST_NAME_MAX)
        return "is longer than 253 bytes";
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return "has an empty label (a leading or doubled '.')";
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return "has a character other than A-Z a-z 0-9 - _ .";
        if (++label > 63)
            return "has a label longer than 63 bytes";
    }
    if (label == 0)
        return "ends with '.'";
    return NULL;
}

static int name_eq(const char *a, size_t alen, const char *b)
{
    size_t i;

    if (strlen(b) != alen)
        return 0;
    for (i = 0; i < alen; i++)
        if (lower(a[i]) != lower(b[i]))
            return 0;
    return 1;
}

int oidc_hosts_canonical(const char *text, size_t len, const char *name, char *out, size_t cap)
{
    const char *line = text, *end = text + len, *eol, *p, *tok, *canon;
    size_t n, clen, field;

    while (line < end) {
        eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        n = (size_t)(eol - line);
        if (n <= HOSTS_LINE_MAX) {
            p = line;
            canon = NULL;
            clen = 0;
            for (field = 0;; field++) {
                while (p < eol && (is_blank(*p) || *p == '\r'))
                    p++;
                if (p == eol || *p == '#')
                    break;
                tok = p;
                while (p < eol && !is_blank(*p) && *p != '\r' && *p != '#')
                    p++;
                if (field == 1) {
                    canon = tok;
                    clen = (size_t)(p - tok);
                }
                if (field >= 1 && name_eq(tok, (size_t)(p - tok), name)) {
                    if (clen + 1 > cap)
                        return OIDC_ERR_TOOBIG;
                    memcpy(out, canon, clen);
                    out[clen] = '\0';
                    return OIDC_OK;
                }
            }
        }
        if (eol == end)
            break;
        line = eol + 1;
    }
    return OIDC_ERR_NOTFOUND;
}

/* Reads at most OIDC_HOSTS_MAX bytes of /etc/hosts: a regular file owned by root and not writable
 * by group or others, since it decides which host's tokens this host accepts. */
static int read_hosts(char **out, size_t *outlen, struct oidc_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap;
    ssize_t n;
    int fd, r = OIDC_ERR_CONFIG;

    fd = open(OIDC_HOSTS_FILE, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return OIDC_ERR_SET(err, OIDC_ERR_IO,
                            "host_audience: cannot open " OIDC_HOSTS_FILE
                            " to find this host's fully qualified name: %s (set host_name)",
                            strerror(errno));
    if (fstat(fd, &st) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_IO, "host_audience: cannot stat " OIDC_HOSTS_FILE ": %s",
                         strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        r = OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                         "host_audience: " OIDC_HOSTS_FILE
                         " refused: not a regular file owned by root and writable by root only "
                         "(it decides which host's tokens are accepted)");
        goto out;
    }
    /* its size now, at most OIDC_HOSTS_MAX; a file growing meanwhile is read that far */
    cap = st.st_size > 0 && (uintmax_t)st.st_size < OIDC_HOSTS_MAX ? (size_t)st.st_size
                                                                   : OIDC_HOSTS_MAX;
    if ((buf = malloc(cap)) == NULL) {
        r = OIDC_ERR_SET(err, OIDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    while (len < cap) {
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = OIDC_ERR_SET(err, OIDC_ERR_IO, "host_audience: cannot read " OIDC_HOSTS_FILE ": %s",
                             strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    buf = NULL; /* transferred */
    *outlen = len;
    r = OIDC_OK;
out:
    free(buf);
    close(fd);
    return r;
}

static void lower_in_place(char *s)
{
    for (; *s != '\0'; s++)
        *s = lower(*s);
}

/* {hostname}: host_name, else gethostname(). */
static int get_hostname(const char *host_name, struct oidc_host_audience *ha, struct oidc_err *err)
{
    char buf[OIDC_HOST_NAME_MAX + 1], shown[80];
    const char *problem;

    if (host_name != NULL && host_name[0] != '\0') {
        problem = oidc_host_name_problem(host_name);
        if (problem != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "host_name: %s", problem);
        snprintf(ha->hostname, sizeof(ha->hostname), "%s", host_name);
        ha->hostname_from = "host_name";
    } else {
        memset(buf, 0, sizeof(buf));
        if (gethostname(buf, sizeof(buf) - 1) != 0)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "host_audience: gethostname() failed: %s (set host_name)",
                                strerror(errno));
        problem = oidc_host_name_problem(buf);
        if (problem != NULL)
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "host_audience: this host's name '%s' from gethostname() %s "
                                "(set the host name with hostnamectl, or set host_name)",
                                oidc_printable(shown, sizeof(shown), buf), problem);
        memcpy(ha->hostname, buf, strlen(buf) + 1); /* checked: at most 253 bytes */
        ha->hostname_from = "gethostname()";
    }
    lower_in_place(ha->hostname);
    return OIDC_OK;
}

/* {fqdn}: the host name when it has a dot, else its canonical name in /etc/hosts. */
static int get_fqdn(struct oidc_host_audience *ha, struct oidc_err *err)
{
    char *text = NULL, canon[OIDC_HOST_NAME_MAX + 1], shown[80];
    const char *problem;
    size_t len = 0;
    int r;

    if (strchr(ha->hostname, '.') != NULL) {
        snprintf(ha->fqdn, sizeof(ha->fqdn), "%s", ha->hostname);
        ha->fqdn_from = ha->hostname_from;
        return OIDC_OK;
    }
    if ((r = read_hosts(&text, &len, err)) != OIDC_OK)
        return r;
    r = oidc_hosts_canonical(text, len, ha->hostname, canon, sizeof(canon));
    free(text);
    if (r == OIDC_ERR_NOTFOUND)
        return OIDC_ERR_SET(
            err, OIDC_ERR_CONFIG,
            "host_audience: cannot tell this host's fully qualified name for "
            "{fqdn}: the host name '%s' (from %s) has no dot and no " OIDC_HOSTS_FILE
            " line lists it (add 'ADDRESS %s.DOMAIN %s' to " OIDC_HOSTS_FILE ", or set host_name)",
            ha->hostname, ha->hostname_from, ha->hostname, ha->hostname);
    if (r != OIDC_OK)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "host_audience: the " OIDC_HOSTS_FILE
                            " name of '%s' is longer than 253 bytes (set host_name)",
                            ha->hostname);
    problem = oidc_host_name_problem(canon);
    if (problem == NULL && strchr(canon, '.') == NULL)
        problem = "has no dot (the first name of the line is the canonical one)";
    if (problem != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                            "host_audience: cannot tell this host's fully qualified name for "
                            "{fqdn}: the " OIDC_HOSTS_FILE " name '%s' of '%s' %s (set host_name)",
                            oidc_printable(shown, sizeof(shown), canon), ha->hostname, problem);
    snprintf(ha->fqdn, sizeof(ha->fqdn), "%s", canon);
    lower_in_place(ha->fqdn);
    ha->fqdn_from = OIDC_HOSTS_FILE;
    return OIDC_OK;
}

int oidc_host_audience_get(const char *host_name, const struct oidc_provider_cfg *p,
                           struct oidc_host_audience *ha, struct oidc_err *err)
{
    const char *t, *problem, *add;
    size_t len = 0, n;
    int r;

    if (p == NULL || ha == NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_INVALID, "oidc_host_audience_get: bad arguments");
    memset(ha, 0, sizeof(*ha));
    ha->tmpl =
        p->host_audience_template != NULL ? p->host_audience_template : OIDC_HOST_TEMPLATE_DEFAULT;
    if (!p->host_audience)
        return OIDC_OK;
    /* the parser checked it; a struct filled by other means is checked here too */
    if ((problem = oidc_host_template_problem(ha->tmpl)) != NULL)
        return OIDC_ERR_SET(err, OIDC_ERR_CONFIG, "host_audience_template: %s", problem);
    if ((r = get_hostname(host_name, ha, err)) != OIDC_OK)
        return r;
    if (strstr(ha->tmpl, PH_FQDN) != NULL && (r = get_fqdn(ha, err)) != OIDC_OK)
        return r;
    for (t = ha->tmpl; *t != '\0';) {
        if (strncmp(t, PH_HOSTNAME, strlen(PH_HOSTNAME)) == 0) {
            add = ha->hostname;
            n = strlen(add);
            t += strlen(PH_HOSTNAME);
        } else if (strncmp(t, PH_FQDN, strlen(PH_FQDN)) == 0) {
            add = ha->fqdn;
            n = strlen(add);
            t += strlen(PH_FQDN);
        } else {
            add = t;
            n = 1;
            t++;
        }
        if (len + n > OIDC_HOST_AUDIENCE_MAX) {
            ha->value[0] = '\0';
            return OIDC_ERR_SET(err, OIDC_ERR_CONFIG,
                                "host_audience_template: expands to more than %d bytes",
                                OIDC_HOST_AUDIENCE_MAX);
        }
        memcpy(ha->value + len, add, n);
        len += n;
    }
    ha->value[len] = '\0';
    return OIDC_OK;
}

const char *oidc_host_audience_describe(const struct oidc_host_audience *ha, char *buf, size_t cap)
{
    size_t n;

    if (cap == 0)
        return buf;
    snprintf(buf, cap, "template %s", ha->tmpl != NULL ? ha->tmpl : OIDC_HOST_TEMPLATE_DEFAULT);
    if (ha->fqdn_from != NULL) {
        n = strlen(buf);
        snprintf(buf + n, cap - n, "; {fqdn} = %s from %s", ha->fqdn, ha->fqdn_from);
    }
    if (ha->hostname_from != NULL && ha->tmpl != NULL && strstr(ha->tmpl, PH_HOSTNAME) != NULL) {
        n = strlen(buf);
        snprintf(buf + n, cap - n, "; {hostname} = %s from %s", ha->hostname, ha->hostname_from);
    }
    return buf;
}
