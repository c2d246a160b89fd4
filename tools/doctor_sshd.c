/* oidcctl doctor: sshd's effective configuration, as `sshd -T -C user=...` prints it (Match
 * blocks and sshd_config.d drop-ins applied), judged for pam_oidc: PAM on, keyboard-interactive
 * offered, LoginGraceTime longer than the device login, root not left to a password. */
#include "config.h"
#include "oidcctl.h"
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SSHD_OUT_MAX (256 * 1024)
/* The device login starts after the key exchange, a few seconds into LoginGraceTime. */
#define GRACE_MARGIN 5

struct sshd_out {
    char *buf;
    size_t len;
    int status; /* wait status */
};

/* Runs argv with stdin from /dev/null and stdout+stderr into out (bounded). */
static int run_capture(char *const argv[], struct sshd_out *out)
{
    int fds[2], devnull;
    pid_t pid;
    ssize_t n;

    memset(out, 0, sizeof(*out));
    if ((out->buf = malloc(SSHD_OUT_MAX + 1)) == NULL)
        return -1;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    if ((pid = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    while (out->len < SSHD_OUT_MAX &&
           ((n = read(fds[0], out->buf + out->len, SSHD_OUT_MAX - out->len)) > 0 ||
            (n < 0 && errno == EINTR)))
        if (n > 0)
            out->len += (size_t)n;
    close(fds[0]); /* a child still writing gets EPIPE */
    out->buf[out->len] = '\0';
    while (waitpid(pid, &out->status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

/* The value of key in sshd -T output ("key value" lines, keys lower-case), or NULL. */
static const char *value_of(const char *text, const char *key, char *buf, size_t cap)
{
    size_t kn = strlen(key), n;
    const char *p;

    for (p = text; *p != '\0'; p += n + (p[n] == '\n')) {
        n = strcspn(p, "\n");
        if (n > kn && strncmp(p, key, kn) == 0 && p[kn] == ' ') {
            snprintf(buf, cap, "%.*s", (int)(n - kn - 1), p + kn + 1);
            return buf;
        }
    }
    return NULL;
}

static void check_yes(struct doc *d, const char *text, const char *key, const char *item,
                      const char *why)
{
    char buf[64], fix[128];
    const char *v = value_of(text, key, buf, sizeof(buf));

    snprintf(fix, sizeof(fix), "set `%s yes` in sshd_config (packaging/sshd/oidc.conf)", item);
    if (v == NULL)
        doc_add(d, DOC_WARN, "sshd", item, fix, "sshd -T does not print %s", key);
    else if (strcmp(v, "yes") != 0)
        doc_add(d, DOC_ERROR, "sshd", item, fix, "%s %s: %s", item, v, why);
    else
        doc_add(d, DOC_OK, "sshd", item, NULL, "yes");
}

static void check_methods(struct doc *d, const char *text)
{
    char buf[1024], *list, *save = NULL;
    const char *v = value_of(text, "authenticationmethods", buf, sizeof(buf));

    if (v == NULL || strcmp(v, "any") == 0) {
        doc_add(d, DOC_OK, "sshd", "AuthenticationMethods", NULL, "any");
        return;
    }
    for (list = strtok_r(buf, " ", &save); list != NULL; list = strtok_r(NULL, " ", &save))
        if (strstr(list, "keyboard-interactive") != NULL) {
            doc_add(d, DOC_OK, "sshd", "AuthenticationMethods", NULL,
                    "%s offers keyboard-interactive", list);
            return;
        }
    doc_add(d, DOC_ERROR, "sshd", "AuthenticationMethods",
            "add keyboard-interactive to a list of AuthenticationMethods (or set it to any)",
            "no list in AuthenticationMethods allows keyboard-interactive: pam_oidc's device "
            "prompt and token chunks are never asked");
}

static void check_grace(struct doc *d, const char *text)
{
    char buf[64], fix[256];
    const char *v = value_of(text, "logingracetime", buf, sizeof(buf));
    long grace = v != NULL ? strtol(v, NULL, 10) : -1;

    if (v == NULL) {
        doc_add(d, DOC_WARN, "sshd", "LoginGraceTime", NULL, "sshd -T does not print it");
    } else if (!d->device_flow) {
        doc_add(d, DOC_OK, "sshd", "LoginGraceTime", NULL,
                "%ld s (sshd's PAM stack runs no device login)", grace);
    } else if (grace == 0) {
        doc_add(d, DOC_NOTE, "sshd", "LoginGraceTime", NULL,
                "0 (no limit): the device login always has its %d s, but unauthenticated "
                "connections are never cut off (MaxStartups bounds them)",
                d->login_timeout);
    } else if (grace < d->login_timeout + GRACE_MARGIN) {
        snprintf(fix, sizeof(fix),
                 "raise LoginGraceTime to at least %d, or lower login_timeout (timeout= on the "
                 "pam_oidc.so line) to %ld or less",
                 d->login_timeout + GRACE_MARGIN, grace - GRACE_MARGIN);
        doc_add(d, DOC_ERROR, "sshd", "LoginGraceTime", fix,
                "%ld s is not longer than the device login's deadline (login_timeout %d s + %d "
                "s for the key exchange): sshd drops the connection while pam_oidc still polls, "
                "and a user who approves the code late finds the login gone. The device code's "
                "own lifetime (expires_in, set by the IdP) need not fit: pam_oidc stops polling "
                "at login_timeout, so login_timeout is what must end before LoginGraceTime",
                grace, d->login_timeout, GRACE_MARGIN);
    } else {
        doc_add(d, DOC_OK, "sshd", "LoginGraceTime", NULL,
                "%ld s, longer than the device login's %d s (+%d s)", grace, d->login_timeout,
                GRACE_MARGIN);
    }
}

static void check_root(struct doc *d, const char *text)
{
    char buf[64];
    const char *v = value_of(text, "permitrootlogin", buf, sizeof(buf));

    if (v != NULL && strcmp(v, "yes") == 0)
        doc_add(d, DOC_WARN, "sshd", "PermitRootLogin", "PermitRootLogin no (or prohibit-password)",
                "yes: root is a local account that pam_oidc never vouches for, so its password "
                "alone guards it");
    else
        doc_add(d, DOC_OK, "sshd", "PermitRootLogin", NULL, "%s", v != NULL ? v : "(default)");
}

void doctor_sshd(struct doc *d)
{
    struct sshd_out out;
    char conn[160], first[256], bin[1024], opt_t[] = "-T", opt_c[] = "-C";
    char *argv[5] = {bin, opt_t, opt_c, conn, NULL};

    if (access(d->sshd, X_OK) != 0) {
        doc_add(d, DOC_NOTE, "sshd", d->sshd, NULL,
                "not installed (%s): the sshd checks are skipped (--sshd PATH names another)",
                strerror(errno));
        return;
    }
    snprintf(conn, sizeof(conn), "user=%s,host=localhost,addr=127.0.0.1", d->ssh_user);
    snprintf(bin, sizeof(bin), "%s", d->sshd);
    if (run_capture(argv, &out) != 0) {
        doc_add(d, DOC_ERROR, "sshd", "sshd -T", NULL, "cannot run %s: %s", d->sshd,
                strerror(errno));
        free(out.buf);
        return;
    }
    if (!WIFEXITED(out.status) || WEXITSTATUS(out.status) != 0) {
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(out.buf, "\r\n"), out.buf);
        oidc_printable(first, sizeof(first), first);
        doc_add(d, DOC_ERROR, "sshd", "sshd -T",
                strstr(first, "privilege separation") != NULL
                    ? "mkdir -m 0755 /run/sshd (sshd.service's RuntimeDirectory creates it)"
                    : "run sshd -t and fix what it names",
                "%s -T -C %s failed: %s", d->sshd, conn, first[0] != '\0' ? first : "no output");
        free(out.buf);
        return;
    }
    check_yes(d, out.buf, "usepam", "UsePAM",
              "sshd never calls PAM, so pam_oidc.so is never asked");
    if (value_of(out.buf, "kbdinteractiveauthentication", first, sizeof(first)) != NULL)
        check_yes(d, out.buf, "kbdinteractiveauthentication", "KbdInteractiveAuthentication",
                  "pam_oidc's device prompt and token chunks need keyboard-interactive");
    else
        check_yes(d, out.buf, "challengeresponseauthentication", "ChallengeResponseAuthentication",
                  "pam_oidc's device prompt and token chunks need keyboard-interactive");
    check_methods(d, out.buf);
    check_grace(d, out.buf);
    check_root(d, out.buf);
    free(out.buf);
}
