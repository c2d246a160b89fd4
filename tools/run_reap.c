/* oidcctl run: every process of the run is found and ended (see run_reap.h).
 *
 * The cgroup: under the caller's own cgroup v2 (the "0::/path" line of /proc/self/cgroup), in
 * the v2 hierarchy at /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified (hybrid), so a batch
 * agent run by systemd keeps its jobs inside its unit (give it Delegate=yes) and a host without
 * systemd works the same. The guardian: a pipe whose write end only this process (and, until its
 * exec, the job's child) holds; the guardian reads "job PGID" and "done" lines, and end of file
 * without "done" means that oidcctl run died: it then ends the run's processes and closes the
 * session itself. */
#include "config.h"
#include "oidcctl.h"
#include "run_reap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#define REAP_STEP_US      (10 * 1000) /* one round of the waits below */
#define REAP_CG_ROUNDS    200         /* 2 s for the cgroup to empty after cgroup.kill */
#define REAP_SWEEP_ROUNDS 200         /* 2 s for the uid sweep */
#define REAP_NAME_TRIES   16          /* oidc-run.PID, then oidc-run.PID.1 ... (PID namespaces) */
#define REAP_FILE_MAX     8192        /* /proc/self/cgroup, cgroup.events, /proc/N/status */
#define REAP_PROCS_MAX    65536       /* cgroup.procs, when there is no cgroup.kill */
#define REAP_LINE_MAX     64          /* a line of the guardian's pipe */

static const char *const cg_roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};

static struct {
    int active;        /* reap_setup ran */
    int in_guardian;   /* this process is the guardian: messages go to syslog */
    char cg[PATH_MAX]; /* the run's cgroup directory; "" when there is none */
    uid_t uid;
    gid_t gid;
    int ephemeral;
    int wfd;        /* the write end of the guardian's pipe */
    pid_t guardian; /* in the main process */
    pid_t main_pid; /* oidcctl run */
    pam_handle_t *pamh;
} st = {.wfd = -1, .guardian = -1};

static void say(const char *fmt, ...) OIDC_FORMAT(1, 2);
static void guardian(int rfd) __attribute__((noreturn));
static void sweep_child(uid_t uid, gid_t gid) __attribute__((noreturn));

/* Messages name what failed; they never carry anything of the token (none is left here). */
static void say(const char *fmt, ...)
{
    va_list ap;

    char msg[512];

    va_start(ap, fmt);
    if (st.in_guardian) {
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        syslog(LOG_AUTHPRIV | LOG_ERR, "run: %s", msg);
    } else {
        fputs("oidcctl: run: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

/* Reads at most cap - 1 bytes of a small file into buf, NUL-terminated; length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return -1;
    while (n + 1 < cap && ((r = read(fd, buf + n, cap - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0)
            n += (size_t)r;
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

static int write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), r = -1, e;

    if (fd < 0)
        return -1;
    if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
        r = 0;
    e = errno;
    close(fd);
    errno = e;
    return r;
}

/* The caller's cgroup v2 directory, from the "0::/path" line of /proc/self/cgroup. */
static int own_cgroup(char *out, size_t cap)
{
    char buf[REAP_FILE_MAX], *line, *save = NULL, *p;
    const char *root = NULL;
    struct statfs sf;
    size_t i;

    for (i = 0; i < sizeof(cg_roots) / sizeof(cg_roots[0]) && root == NULL; i++)
        if (statfs(cg_roots[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
            root = cg_roots[i];
    if (root == NULL || read_small("/proc/self/cgroup", buf, sizeof(buf)) <= 0)
        return -1;
    for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "0::/", 4) != 0)
            continue;
        p = line + 3;
        if (strstr(p, "/..") != NULL || strchr(p, ' ') != NULL)
            return -1; /* not a plain path ("(deleted)", or odd): no cgroup */
        return snprintf(out, cap, "%s%s", root, strcmp(p, "/") == 0 ? "" : p) < (int)cap ? 0 : -1;
    }
    return -1;
}

/* st.cg: a new cgroup for the run, or "" when no cgroup v2 is writable here. */
static void cg_create(void)
{
    char parent[PATH_MAX], dir[PATH_MAX];
    int i, n;

    st.cg[0] = '\0';
    if (own_cgroup(parent, sizeof(parent)) != 0)
        return;
    for (i = 0; i < REAP_NAME_TRIES; i++) {
        n = i == 0 ? snprintf(dir, sizeof(dir), "%s/oidc-run.%d", parent, (int)getpid())
                   : snprintf(dir, sizeof(dir), "%s/oidc-run.%d.%d", parent, (int)getpid(), i);
        if (n < 0 || (size_t)n >= sizeof(dir))
            return;
        if (mkdir(dir, 0755) == 0) {
            memcpy(st.cg, dir, (size_t)n + 1);
            return;
        }
        if (errno != EEXIST)
            return; /* read-only, not ours to write, no room: the run goes without a cgroup */
    }
}

/* 1 while the cgroup has processes, 0 when it is empty or gone. */
static int cg_populated(const char *dir)
{
    char path[PATH_MAX + 32], buf[REAP_FILE_MAX];

    snprintf(path, sizeof(path), "%s/cgroup.events", dir);
    if (read_small(path, buf, sizeof(buf)) < 0)
        return access(dir, F_OK) == 0;
    return strstr(buf, "populated 1") != NULL;
}

/* Without cgroup.kill (kernels before 5.14): SIGKILL to each process the cgroup lists. */
static void cg_kill_listed(const char *dir)
{
    char path[PATH_MAX + 32], *buf, *p, *end;
    long v;

    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    if ((buf = malloc(REAP_PROCS_MAX)) == NULL)
        return;
    if (read_small(path, buf, REAP_PROCS_MAX) > 0)
        for (p = buf; *p != '\0'; p = end) {
            errno = 0;
            v = strtol(p, &end, 10);
            if (end == p || errno != 0)
                break;
            if (v > 1) /* 0: a process outside our PID namespace */
                (void)kill((pid_t)v, SIGKILL);
        }
    free(buf);
}

/* cgroup.kill, wait until the cgroup is empty, rmdir. The kill is repeated while waiting, so a
 * child that joins late is caught too. */
static int cg_end(const char *dir)
{
    char kill_file[PATH_MAX + 32];
    int i, have_kill;

    snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", dir);
    have_kill = access(kill_file, F_OK) == 0;
    for (i = 0; i < REAP_CG_ROUNDS && cg_populated(dir); i++) {
        if (have_kill && write_str(kill_file, "1") != 0) {
            say("cannot write %s: %s; killing the processes it lists", kill_file, strerror(errno));
            have_kill = 0;
        }
        if (!have_kill)
            cg_kill_listed(dir);
        (void)usleep(REAP_STEP_US);
    }
    if (cg_populated(dir)) {
        say("the run's cgroup %s still has processes %d ms after the kill; it is left in place",
            dir, REAP_CG_ROUNDS * REAP_STEP_US / 1000);
        return -1;
    }
    for (i = 0; i < 10 && rmdir(dir) != 0 && errno == EBUSY; i++)
        (void)usleep(REAP_STEP_US);
    if (access(dir, F_OK) == 0) {
        say("cannot remove the run's cgroup %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Whether a process other than this one, not a zombie, has uid as its real or saved uid (the ids
 * kill(2) checks). Reads /proc/N/status; after the privileges are dropped, with hidepid= too. */
static int uid_alive(uid_t uid)
{
    struct dirent *de;
    char path[sizeof(de->d_name) + 16], buf[REAP_FILE_MAX], *p;
    unsigned long ruid, euid, suid;
    DIR *d = opendir("/proc");
    int found = 0;
    char state;

    if (d == NULL)
        return 1; /* cannot tell: keep sweeping until the bound */
    while (!found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || atoi(de->d_name) == (int)getpid())
            continue;
        snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
        if (read_small(path, buf, sizeof(buf)) <= 0)
            continue; /* gone meanwhile */
        if ((p = strstr(buf, "\nState:\t")) == NULL || sscanf(p, "\nState:\t%c", &state) != 1 ||
            state == 'Z' || state == 'X')
            continue;
        if ((p = strstr(buf, "\nUid:\t")) != NULL &&
            sscanf(p, "\nUid:\t%lu\t%lu\t%lu", &ruid, &euid, &suid) == 3 &&
            (ruid == (unsigned long)uid || suid == (unsigned long)uid))
            found = 1;
    }
    closedir(d);
    return found;
}

/* In a child: become uid (and nothing else) and kill everything it runs, until nothing is left.
 * kill(-1) reaches every process the caller may signal, atomically with respect to fork; it
 * fails with ESRCH only when there is no other process at all, so /proc says when it is done. */
static void sweep_child(uid_t uid, gid_t gid)
{
    uid_t r, e, s;
    int i;

    if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0 ||
        getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid || uid == 0)
        _exit(2); /* never kill(-1) with any other identity */
    for (i = 0; i < REAP_SWEEP_ROUNDS; i++) {
        if (kill(-1, SIGKILL) != 0 && errno == ESRCH)
            _exit(0);
        if (!uid_alive(uid))
            _exit(0);
        (void)usleep(REAP_STEP_US);
    }
    _exit(1);
}

static void sweep(uid_t uid, gid_t gid)
{
    int status = 0;
    pid_t pid, w;

    if (uid == 0 || uid == getuid())
        return;
    fflush(NULL);
    if ((pid = fork()) < 0) {
        say("cannot sweep the processes of uid %lu: fork: %s", (unsigned long)uid, strerror(errno));
        return;
    }
    if (pid == 0)
        sweep_child(uid, gid);
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        say("processes of uid %lu may have survived the sweep (%s)", (unsigned long)uid,
            w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 1 ? "still there after 2 s"
                                                                      : "the sweep failed");
}

/* Ends every process of the run: the cgroup, or else the job's process group; and for an
 * ephemeral user every process of its uid. */
static void end_all(pid_t job)
{
    if (st.cg[0] != '\0') {
        if (cg_end(st.cg) == 0)
            st.cg[0] = '\0';
    } else if (job > 1) {
        (void)kill(-job, SIGKILL);
    }
    if (st.ephemeral)
        sweep(st.uid, st.gid);
}

/* One line from the pipe: "job PGID" (from the job's child) or "done" (from oidcctl run). */
static void guardian_line(const char *line, pid_t *job)
{
    char *end;
    long v;

    if (strcmp(line, "done") == 0)
        _exit(0);
    if (strncmp(line, "job ", 4) == 0) {
        errno = 0;
        v = strtol(line + 4, &end, 10);
        if (errno == 0 && *end == '\0' && v > 1 && v <= INT_MAX)
            *job = (pid_t)v;
    }
}

/* The guardian: out of the terminal's session and signals, waits; when oidcctl run dies without
 * "done", ends the run's processes and closes the session (its copy of the PAM handle). */
static void guardian(int rfd)
{
    static const int sigs[] = {SIGINT,  SIGQUIT, SIGHUP,  SIGTERM,
                               SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
    char buf[REAP_LINE_MAX + 1], *nl;
    size_t n = 0, i;
    pid_t job = -1;
    ssize_t r;
    int fd;

    st.in_guardian = 1;
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        (void)signal(sigs[i], SIG_IGN);
    (void)setsid();
    /* no hold on the caller's terminal or pipes: a shell waiting for oidcctl run's output must
     * not wait for the guardian */
    if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
        (void)dup2(fd, STDIN_FILENO);
        (void)dup2(fd, STDOUT_FILENO);
        (void)dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    for (;;) {
        r = read(rfd, buf + n, REAP_LINE_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        while ((nl = memchr(buf, '\n', n)) != NULL) {
            *nl = '\0';
            guardian_line(buf, &job);
            n -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, n + 1);
        }
        if (n == REAP_LINE_MAX)
            n = 0; /* not a line of ours: dropped */
    }
    openlog("oidcctl", LOG_PID, LOG_AUTHPRIV);
    syslog(LOG_AUTHPRIV | LOG_WARNING,
           "run: oidcctl run (pid %d) ended without closing its session: ending the run's "
           "processes (uid %lu) and closing the session",
           (int)st.main_pid, (unsigned long)st.uid);
    end_all(job);
    if (pam_close_session(st.pamh, 0) != PAM_SUCCESS)
        say("closing the session of uid %lu failed", (unsigned long)st.uid);
    (void)pam_setcred(st.pamh, PAM_DELETE_CRED);
    pam_end(st.pamh, PAM_SUCCESS);
    _exit(0);
}

int reap_setup(pam_handle_t *pamh, uid_t uid, gid_t gid, int ephemeral)
{
    int p[2];
    pid_t pid;

    st.pamh = pamh;
    st.uid = uid;
    st.gid = gid;
    st.ephemeral = ephemeral;
    st.main_pid = getpid();
    cg_create();
    if (pipe2(p, O_CLOEXEC) != 0) {
        say("pipe: %s", strerror(errno));
        goto fail;
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        say("cannot start the guardian: fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        goto fail;
    }
    if (pid == 0) {
        close(p[1]);
        guardian(p[0]);
    }
    close(p[0]);
    st.wfd = p[1];
    st.guardian = pid;
    st.active = 1;
    return 0;
fail:
    if (st.cg[0] != '\0')
        (void)rmdir(st.cg);
    st.cg[0] = '\0';
    return -1;
}

int reap_enter_child(void)
{
    char msg[32], procs[PATH_MAX + 32];
    struct sigaction ign, old;
    ssize_t w;
    int n, err;

    if (!st.active)
        return 0;
    n = snprintf(msg, sizeof(msg), "job %d\n", (int)getpgrp());
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &ign, &old);
    w = write(st.wfd, msg, (size_t)n);
    err = w < 0 ? errno : EPIPE;
    (void)sigaction(SIGPIPE, &old, NULL); /* an ignored signal would stay ignored in the job */
    if (w != n) {
        errno = err;
        return REAP_NO_GUARDIAN;
    }
    if (st.cg[0] == '\0')
        return 0;
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", st.cg);
    return write_str(procs, "0") != 0 ? REAP_NO_CGROUP : 0;
}

const char *reap_join_what(void)
{
    static char what[PATH_MAX + 64];

    snprintf(what, sizeof(what), "join the run's cgroup (%s/cgroup.procs)", st.cg);
    return what;
}

void reap_finish(pid_t job)
{
    if (st.active)
        end_all(job);
}

void reap_done(void)
{
    struct sigaction ign, old;

    if (!st.active)
        return;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &ign, &old);
    (void)!write(st.wfd, "done\n", 5); /* a guardian that is gone cannot act anyway */
    (void)sigaction(SIGPIPE, &old, NULL);
    close(st.wfd);
    st.wfd = -1;
    while (waitpid(st.guardian, NULL, 0) < 0 && errno == EINTR)
        ;
    st.active = 0;
}
