/* session_max: a watcher process that warns the session's terminal and ends the session when
 * its recorded end passes (docs/session.md).
 *
 * pam_sm_open_session forks twice; the grandchild (setsid, stdio on /dev/null, every other fd
 * closed) is the watcher and reports its pid through a pipe. The module's process returns
 * normally; the children end with _exit. The watcher exits as soon as the process that opened
 * the session (the PAM application: sshd's session process, su, sudo) is gone, and
 * pam_sm_close_session sends it SIGTERM. At the end it sends SIGHUP, then SIGTERM, then after a
 * grace SIGKILL to that process's descendants and to the process itself. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_int.h"

#define WATCH_DATA  "oidc_session_watcher"
#define WATCH_GRACE 5 /* seconds between SIGTERM and SIGKILL */
#define WATCH_PROCS 4096

struct watch_id {
    pid_t pid;
    unsigned long long start; /* /proc/PID/stat field 22: tells a reused pid apart */
};

/* Field 22 (starttime) and field 4 (ppid) of /proc/PID/stat; 0 when the process is gone. */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
    char path[64], buf[1024], *p;
    ssize_t n;
    int fd, field;
    long long v;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may hold spaces and ')': the fields start after the last ')' */
    if ((p = strrchr(buf, ')')) == NULL)
        return 0;
    p++;
    for (field = 3; field <= 22 && *p != '\0'; field++) {
        while (*p == ' ')
            p++;
        v = strtoll(p, &p, 10);
        if (field == 4 && ppid != NULL)
            *ppid = (pid_t)v;
        if (field == 22) {
            if (start != NULL)
                *start = (unsigned long long)v;
            return 1;
        }
        if (field == 3) /* the state letter: strtoll left p on it */
            while (*p != ' ' && *p != '\0')
                p++;
    }
    return 0;
}

static int alive(const struct watch_id *w)
{
    unsigned long long start;

    return proc_stat(w->pid, NULL, &start) && start == w->start;
}

/* The descendants of root (not root itself), at most cap of them. */
static size_t descendants(pid_t root, pid_t *out, size_t cap)
{
    static pid_t pids[WATCH_PROCS], parents[WATCH_PROCS];
    size_t n = 0, k = 0, i, j;
    struct dirent *e;
    DIR *d;
    pid_t pp;

    if ((d = opendir("/proc")) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < WATCH_PROCS) {
        char *end;
        long v = strtol(e->d_name, &end, 10);

        if (*end != '\0' || v <= 0 || !proc_stat((pid_t)v, &pp, NULL))
            continue;
        pids[n] = (pid_t)v;
        parents[n++] = pp;
    }
    closedir(d);
    /* breadth first from root */
    out[k] = root;
    for (i = 0; i <= k && k + 1 < cap; i++)
        for (j = 0; j < n && k + 1 < cap; j++)
            if (parents[j] == out[i] && pids[j] != getpid())
                out[++k] = pids[j];
    return k; /* out[1..k] */
}

static void signal_all(const struct watch_id *w, int sig)
{
    static pid_t list[WATCH_PROCS];
    size_t n = descendants(w->pid, list, WATCH_PROCS), i;

    for (i = n; i >= 1; i--)
        kill(list[i], sig);
    if (sig != SIGHUP && alive(w))
        kill(w->pid, sig);
}

/* A terminal that the user owns: the session's PAM_TTY, else fd 0..2 of a descendant. */
static int open_tty(const char *tty, uid_t uid, const struct watch_id *w)
{
    static pid_t list[WATCH_PROCS];
    char path[64], link[256];
    struct stat st;
    size_t n, i;
    int fd, j;
    ssize_t len;

    if (tty != NULL && tty[0] != '\0') {
        snprintf(path, sizeof(path), "%s%s", tty[0] == '/' ? "" : "/dev/", tty);
        fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0 && isatty(fd) && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_uid == uid)
            return fd;
        if (fd >= 0)
            close(fd);
    }
    n = descendants(w->pid, list, WATCH_PROCS);
    for (i = 1; i <= n; i++)
        for (j = 0; j <= 2; j++) {
            snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)list[i], j);
            if ((len = readlink(path, link, sizeof(link) - 1)) <= 0)
                continue;
            link[len] = '\0';
            if (strncmp(link, "/dev/pts/", 9) != 0 && strncmp(link, "/dev/tty", 8) != 0)
                continue;
            fd = open(link, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
            if (fd >= 0 && isatty(fd) && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
                st.st_uid == uid)
                return fd;
            if (fd >= 0)
                close(fd);
        }
    return -1;
}

/* Sleeps until t, returning early (0) when the session's process is gone. */
static int sleep_until(time_t t, const struct watch_id *w)
{
    while (time(NULL) < t) {
        if (!alive(w))
            return 0;
        sleep(1);
    }
    return alive(w);
}

static void warn_tty(const char *tty, uid_t uid, const struct watch_id *w, time_t end)
{
    char msg[256];
    int fd = open_tty(tty, uid, w);
    long left = (long)(end - time(NULL));
    ssize_t unused;

    if (fd < 0)
        return;
    snprintf(msg, sizeof(msg),
             "\r\n*** pam_oidc: this session ends in %ld:%02ld (session_max): save your work ***"
             "\r\n",
             left / 60, left % 60);
    unused = write(fd, msg, strlen(msg));
    (void)unused;
    close(fd);
}

static void watch(struct oidc_pam_ctx *c, const struct watch_id *w, const char *tty, uid_t uid,
                  time_t warn_at, time_t end)
{
    sigset_t set;

    if (warn_at > 0) {
        if (!sleep_until(warn_at, w))
            return;
        warn_tty(tty, uid, w, end);
    }
    if (!sleep_until(end, w))
        return;
    /* ending now: close_session's SIGTERM (sshd's cleanup) must not stop this half-way */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    oidc_pam_reason(c, "session_max: the session's end has passed, ending its processes");
    oidc_pam_audit(c, "expired");
    signal_all(w, SIGHUP);
    sleep(1);
    signal_all(w, SIGTERM);
    for (int i = 0; i < WATCH_GRACE && alive(w); i++)
        sleep(1);
    signal_all(w, SIGKILL);
}

static void cleanup_watch(pam_handle_t *pamh, void *data, int error_status)
{
    (void)pamh;
    (void)error_status;
    free(data);
}

int oidc_pam_watch_start(struct oidc_pam_ctx *c, const char *provider, int64_t exp)
{
    const struct oidc_provider_cfg *p = oidc_cfg_provider(c->cfg, provider);
    struct watch_id self, *saved;
    int64_t secs, now = (int64_t)time(NULL), end, warn, warn_at;
    const void *tty_item = NULL;
    const char *tty;
    struct passwd *pw;
    int fds[2], status, fd;
    pid_t child, gc = 0;
    uid_t uid;

    switch (oidc_cfg_session_max(p, &secs)) {
    case OIDC_SESSION_MAX_NONE:
        return PAM_SUCCESS;
    case OIDC_SESSION_MAX_TOKEN:
        if (exp <= 0)
            return PAM_SUCCESS; /* no known expiry: no watcher */
        end = exp;
        break;
    default:
        end = now + secs;
        break;
    }
    if (end <= now) {
        oidc_pam_reason(c, "session_max: the session's end (%lld) has already passed",
                        (long long)end);
        oidc_pam_audit(c, "failure");
        return PAM_SESSION_ERR;
    }
    warn = p->session_warn;
    if (warn <= 0)
        warn_at = 0;
    else if (end - now > warn)
        warn_at = end - warn;
    else
        warn_at = now + (end - now) / 2; /* a short session: warned at half-time */
    if (c->user == NULL || (pw = getpwnam(c->user)) == NULL) {
        oidc_pam_reason(c, "session_max: no passwd entry for the user");
        oidc_pam_audit(c, "failure");
        return PAM_SESSION_ERR;
    }
    uid = pw->pw_uid;
    pam_get_item(c->pamh, PAM_TTY, &tty_item);
    tty = tty_item;
    self.pid = getpid();
    if (!proc_stat(self.pid, NULL, &self.start) || pipe2(fds, O_CLOEXEC) != 0) {
        oidc_pam_reason(c, "session_max: cannot start the watcher: %s", strerror(errno));
        oidc_pam_audit(c, "failure");
        return PAM_SESSION_ERR;
    }
    if ((child = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        oidc_pam_reason(c, "session_max: cannot fork the watcher: %s", strerror(errno));
        oidc_pam_audit(c, "failure");
        return PAM_SESSION_ERR;
    }
    if (child == 0) {
        struct rlimit rl;
        int max = 1024;

        setsid();
        signal(SIGHUP, SIG_IGN);
        if ((gc = fork()) != 0) {
            ssize_t unused = write(fds[1], &gc, sizeof(gc));
            (void)unused;
            _exit(gc < 0);
        }
        signal(SIGHUP, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        if ((fd = open("/dev/null", O_RDWR)) >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < 65536)
            max = (int)rl.rlim_cur;
        for (fd = 3; fd < max; fd++)
            close(fd);
        if (chdir("/") != 0) {
            /* nothing to do: the watcher works from any directory */
        }
        watch(c, &self, tty, uid, (time_t)warn_at, (time_t)end);
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &gc, sizeof(gc)) != (ssize_t)sizeof(gc))
        gc = -1;
    close(fds[0]);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (gc <= 0) {
        oidc_pam_reason(c, "session_max: the watcher did not start");
        oidc_pam_audit(c, "failure");
        return PAM_SESSION_ERR;
    }
    if ((saved = malloc(sizeof(*saved))) != NULL) {
        saved->pid = gc;
        saved->start = 0;
        proc_stat(gc, NULL, &saved->start);
        if (pam_set_data(c->pamh, WATCH_DATA, saved, cleanup_watch) != PAM_SUCCESS)
            free(saved);
    }
    oidc_pam_log(c, LOG_INFO, "session_max: session ends at %lld, watcher pid %d", (long long)end,
                 (int)gc);
    return PAM_SUCCESS;
}

void oidc_pam_watch_stop(struct oidc_pam_ctx *c)
{
    const void *data = NULL;
    const struct watch_id *w;

    if (pam_get_data(c->pamh, WATCH_DATA, &data) != PAM_SUCCESS || data == NULL)
        return;
    w = data;
    if (alive(w))
        kill(w->pid, SIGTERM);
    pam_set_data(c->pamh, WATCH_DATA, NULL, NULL);
}
