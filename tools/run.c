/* oidcctl run: run a job under the identity of a token, through a PAM stack (default service
 * oidc-run): authenticate with no user (the stack's pam_oidc.so verifies the token, checks policy
 * and replay, writes the identity cache, audits and names the user), account, credentials,
 * session; then drop to the mapped user and run the command, and close the session when it ends.
 * Run by root (a batch agent). */
#include "config.h"
#include "oidcctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "cache.h"
#include "provider.h"
#include "run_pty.h"
#include "run_reap.h"
#include "tokprompt.h"

#define RUN_SERVICE_DEFAULT "oidc-run"
#define RUN_PATH            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define RUN_KILL_GRACE      5 /* seconds between SIGTERM and SIGKILL at token expiry */
#define RUN_ENV_MAX         256
#define RUN_FAILED          125 /* oidcctl run itself failed or was refused: the job did not run */

struct run_args {
    struct ctl_common c;
    const char *service, *token_file, *token_env;
    int kill_at_expiry;
    char **cmd;
};

static const char run_usage[] =
    "Usage: oidcctl run [--config PATH] [--provider NAME] [--service SERVICE]\n"
    "                   (--token-file FILE | --token-env VAR) [--kill-at-expiry] -- COMMAND "
    "[ARGS...]\n";

static int parse_args(int argc, char **argv, struct run_args *a)
{
    static const struct option opts[] = {
        CTL_OPT_CONFIG,
        CTL_OPT_PROVIDER,
        {"service", required_argument, NULL, 's'},
        {"token-file", required_argument, NULL, 'f'},
        {"token-env", required_argument, NULL, 'e'},
        {"kill-at-expiry", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            a->service = optarg;
            break;
        case 'f':
            a->token_file = optarg;
            break;
        case 'e':
            a->token_env = optarg;
            break;
        case 'k':
            a->kill_at_expiry = 1;
            break;
        case 'h':
            fputs(run_usage, stdout);
            return -1;
        default:
            if (ctl_common_opt(&a->c, ch, optarg))
                break;
            return CTL_USAGE;
        }
    }
    if ((a->token_file != NULL) == (a->token_env != NULL)) {
        ctl_err("run needs exactly one of --token-file FILE and --token-env VAR");
        return CTL_USAGE;
    }
    if (optind >= argc) {
        ctl_err("run needs a command after --");
        return CTL_USAGE;
    }
    a->cmd = argv + optind;
    if (a->service == NULL)
        a->service = RUN_SERVICE_DEFAULT;
    return CTL_OK;
}

/* The token from --token-env VAR: copied, and the variable removed so the job never sees it. */
static int token_from_env(const char *var, char **out)
{
    const char *v = getenv(var);
    char *s;

    if (v == NULL || *v == '\0') {
        ctl_err("--token-env %s: the variable is not set", var);
        return CTL_USAGE;
    }
    if (strlen(v) > CTL_TOKEN_FILE_MAX) {
        ctl_err("--token-env %s: the token is larger than %d bytes", var, CTL_TOKEN_FILE_MAX);
        return CTL_USAGE;
    }
    if ((s = strdup(v)) == NULL) {
        ctl_err("out of memory");
        return CTL_USAGE;
    }
    oidc_memzero((char *)(uintptr_t)v, strlen(v));
    unsetenv(var);
    *out = s;
    return CTL_OK;
}

/* Without --provider, and with several providers, the provider whose issuer the token names
 * (read before verification, only to choose; the verification then checks it exactly). */
static const struct oidc_provider_cfg *pick_provider(const struct oidc_cfg *cfg, const char *name,
                                                     const char *token)
{
    struct oidc_token *tok = NULL;
    struct oidc_err err = {0};
    const struct oidc_provider_cfg *p = NULL;
    size_t i;

    if (name != NULL || cfg->n_providers <= 1 || cfg->default_provider != NULL)
        return ctl_pick_provider(cfg, name);
    if (oidc_token_decode_unverified(token, strlen(token), &tok, &err) == OIDC_OK &&
        tok->iss != NULL)
        for (i = 0; i < cfg->n_providers && p == NULL; i++)
            if (strcmp(cfg->providers[i]->issuer, tok->iss) == 0)
                p = cfg->providers[i];
    oidc_token_free(tok);
    if (p == NULL)
        ctl_err("the token's issuer matches no configured provider: choose one with --provider");
    return p;
}

/* The conversation: the token answers the module's token prompt, whole (no 1023-byte limit
 * here); messages go to stderr; any other prompt is refused, so the stack cannot ask for
 * something the batch agent does not have. */
struct conv_ctx {
    const char *token;
};

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    const struct conv_ctx *ctx = data;
    struct pam_response *r;
    int i;

    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
        return PAM_BUF_ERR;
    for (i = 0; i < n; i++) {
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON:
            if (msg[i]->msg != NULL &&
                (strncmp(msg[i]->msg, OIDC_TOKPROMPT_FIRST, strlen(OIDC_TOKPROMPT_FIRST)) == 0 ||
                 strncmp(msg[i]->msg, OIDC_TOKPROMPT_AUTO, strlen(OIDC_TOKPROMPT_AUTO)) == 0) &&
                (r[i].resp = strdup(ctx->token)) != NULL)
                break;
            fprintf(stderr, "oidcctl: run: the PAM stack asked '%s', which a token cannot answer\n",
                    msg[i]->msg != NULL ? msg[i]->msg : "");
            goto fail;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
            fprintf(stderr, "%s\n", msg[i]->msg != NULL ? msg[i]->msg : "");
            break;
        default:
            goto fail;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
fail:
    for (i = 0; i < n; i++)
        oidc_free_secret(&r[i].resp);
    free(r);
    return PAM_CONV_ERR;
}

/* The job's environment: a clean one, plus what the session exported (OIDC_*). */
static char **job_env(pam_handle_t *pamh, const struct oidc_identity *id)
{
    char **env = calloc(RUN_ENV_MAX + 1, sizeof(*env)), **pe;
    size_t n = 0, i;
    const char *lang = getenv("LANG");

    if (env == NULL)
        return NULL;
    if (asprintf(&env[n++], "PATH=%s", RUN_PATH) < 0 ||
        asprintf(&env[n++], "HOME=%s", id->home != NULL ? id->home : "/") < 0 ||
        asprintf(&env[n++], "USER=%s", id->name) < 0 ||
        asprintf(&env[n++], "LOGNAME=%s", id->name) < 0 ||
        asprintf(&env[n++], "SHELL=%s", id->shell != NULL ? id->shell : "/bin/sh") < 0 ||
        (lang != NULL && asprintf(&env[n++], "LANG=%s", lang) < 0))
        goto fail;
    pe = pam_getenvlist(pamh);
    for (i = 0; pe != NULL && pe[i] != NULL; i++) {
        if (n < RUN_ENV_MAX && strchr(pe[i], '=') != NULL)
            env[n++] = pe[i];
        else
            free(pe[i]);
    }
    free(pe);
    return env;
fail:
    for (i = 0; i < n; i++)
        free(env[i]);
    free(env);
    return NULL;
}

static void env_free(char **env)
{
    size_t i;

    for (i = 0; env != NULL && env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

static volatile sig_atomic_t got_signal, got_winch;
static int wake_wr = -1; /* the self-pipe that wakes wait_job()'s poll on a signal */

static void on_signal(int sig)
{
    int saved = errno;

    if (sig == SIGWINCH)
        got_winch = 1;
    else if (sig != SIGCHLD)
        got_signal = sig;
    if (wake_wr >= 0)
        (void)!write(wake_wr, "", 1);
    errno = saved;
}

/* The handshake between oidcctl run and its child, the job before exec: an O_CLOEXEC pipe. The
 * child writes one READY record once it is in its own session with its terminal and descriptors
 * set up, and a FAIL record (the step, errno) when a step fails, then exits 126 (127: the command
 * was not found). End of file without a FAIL record means the exec happened. The parent prints
 * the child's errors, and signals the job's process group only after READY. */
enum { HS_READY = 1, HS_FAIL = 2 };
enum run_step {
    STEP_SETSID = 1,
    STEP_TTY,
    STEP_GUARDIAN,
    STEP_CGROUP,
    STEP_FDS,
    STEP_GROUPS,
    STEP_GID,
    STEP_UID,
    STEP_REGAIN,
    STEP_CHDIR,
    STEP_ENV,
    STEP_EXEC,
};
struct hs_rec {
    int32_t kind, step, err;
};

static const char *step_what(int32_t step)
{
    switch (step) {
    case STEP_SETSID:
        return "start a session of its own (setsid)";
    case STEP_TTY:
        return "make the new pseudo-terminal its controlling terminal";
    case STEP_GUARDIAN:
        return "reach the run's guardian, so nothing could stop the job";
    case STEP_CGROUP:
        return reap_join_what();
    case STEP_FDS:
        return "keep inherited descriptors from the job (close_range and the /proc/self/fd walk "
               "both failed)";
    case STEP_GROUPS:
        return "set the supplementary groups";
    case STEP_GID:
        return "switch to the user's gid";
    case STEP_UID:
        return "switch to the user's uid";
    case STEP_REGAIN:
        return "drop root for good (it could be regained)";
    case STEP_CHDIR:
        return "change to the user's home directory or /";
    case STEP_ENV:
        return "set the job's PATH";
    default:
        return "run the command";
    }
}

static void hs_write(int hs, int32_t kind, int32_t step, int err)
{
    struct hs_rec rec = {kind, step, (int32_t)err};

    while (write(hs, &rec, sizeof(rec)) < 0 && errno == EINTR)
        ;
}

/* In the child: reports the failed step to the parent and exits. */
static void child_fail(int hs, enum run_step step)
{
    int err = errno;

    hs_write(hs, HS_FAIL, (int32_t)step, err);
    if (step == STEP_GUARDIAN || step == STEP_CGROUP)
        _exit(REAP_JOIN_FAILED); /* the run is refused: the job would escape its cleanup */
    _exit(step == STEP_EXEC && err == ENOENT ? 127 : 126);
}

/* In the child: marks every descriptor above 2 close-on-exec, so that nothing of ours or of the
 * PAM modules' reaches the job: close_range() where the kernel (and any seccomp filter) allows
 * it, else each descriptor /proc/self/fd lists (the handshake pipe is close-on-exec already).
 * 0, or -1 with errno when that cannot be done: the job must then not run. */
static int cloexec_from_3(void)
{
    struct dirent *e;
    DIR *d;
    char *end;
    long fd;
    int dfd, r = -1, err;

    if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
        return 0;
    if ((d = opendir("/proc/self/fd")) == NULL)
        return -1;
    dfd = dirfd(d);
    for (errno = 0; (e = readdir(d)) != NULL; errno = 0) {
        if (e->d_name[0] == '.')
            continue;
        fd = strtol(e->d_name, &end, 10);
        if (*end != '\0' || fd < 0 || fd > INT_MAX) {
            errno = EINVAL;
            goto out;
        }
        if (fd > 2 && fd != dfd && fcntl((int)fd, F_SETFD, FD_CLOEXEC) != 0 && errno != EBADF)
            goto out;
    }
    if (errno == 0)
        r = 0;
out:
    err = errno;
    (void)closedir(d);
    errno = err;
    return r;
}

/* In the child, in this order (documented in oidcctl(8)); never returns:
 *  1. setsid(): a new session and process group without a controlling terminal, so the job can
 *     never reach the caller's terminal (TIOCSTI, tcsetpgrp, /dev/tty);
 *  2. with a pty (some of the caller's fds 0-2 were terminals): its slave becomes the
 *     controlling terminal and replaces each of those fds; the others are passed as they are;
 *  3. [the run's cleanup hook, item 4];
 *  4. every descriptor above 2 becomes close-on-exec, or the job does not run;
 *  5. READY to the parent, which may signal the job's process group from then on;
 *  6. supplementary groups (from the mapped identity, which is what the cache and so NSS hold),
 *     gid, uid, and a check that root cannot be regained; home (or /); the job's PATH;
 *  7. exec.
 * A failing step goes to the parent through the handshake pipe; the child prints nothing. */
static void become_and_exec(const struct oidc_identity *id, char **cmd, char **env,
                            const struct run_pty *pt, int hs)
{
    gid_t groups[OIDC_GROUPS_MAX + 1];
    size_t i, n = 0;
    int r;

    if (setsid() < 0)
        child_fail(hs, STEP_SETSID);
    if (run_pty_child(pt) != 0)
        child_fail(hs, STEP_TTY);
    /* into the run's cgroup, and the guardian told the job's process group, while still root
     * (tools/run_reap.c) */
    if ((r = reap_enter_child()) != 0)
        child_fail(hs, r == REAP_NO_GUARDIAN ? STEP_GUARDIAN : STEP_CGROUP);
    if (cloexec_from_3() != 0)
        child_fail(hs, STEP_FDS);
    hs_write(hs, HS_READY, 0, 0);

    groups[n++] = (gid_t)id->gid;
    for (i = 0; i < id->n_groups && n < OIDC_GROUPS_MAX + 1; i++)
        groups[n++] = (gid_t)id->groups[i].gid;
    if (setgroups(n, groups) != 0)
        child_fail(hs, STEP_GROUPS);
    if (setgid((gid_t)id->gid) != 0)
        child_fail(hs, STEP_GID);
    if (setuid((uid_t)id->uid) != 0)
        child_fail(hs, STEP_UID);
    if (setuid(0) == 0) { /* dropping must be irreversible */
        errno = EPERM;
        child_fail(hs, STEP_REGAIN);
    }
    if ((id->home == NULL || chdir(id->home) != 0) && chdir("/") != 0)
        child_fail(hs, STEP_CHDIR);
    /* execvpe() searches the PATH of this process: make it the job's */
    if (setenv("PATH", RUN_PATH, 1) != 0)
        child_fail(hs, STEP_ENV);
    execvpe(cmd[0], cmd, env);
    child_fail(hs, STEP_EXEC);
}

/* The parent's side of the handshake. 0 once the job runs (READY, then end of file: the exec
 * happened). Otherwise prints the child's error, reaps it and returns the status to report. */
static int handshake(int hs, pid_t pid, const struct oidc_identity *id, const char *cmd0)
{
    struct hs_rec rec;
    ssize_t n;
    int ready = 0, status = 0;

    for (;;) {
        n = read(hs, &rec, sizeof(rec));
        if (n < 0 && errno == EINTR) {
            if (ready && got_signal != 0) { /* a stuck exec can still be interrupted */
                (void)kill(-pid, got_signal);
                got_signal = 0;
            }
            continue;
        }
        if (n == 0 && ready)
            return 0;
        if (n == (ssize_t)sizeof(rec) && rec.kind == HS_READY && !ready) {
            ready = 1;
            continue;
        }
        if (n == (ssize_t)sizeof(rec) && rec.kind == HS_FAIL) {
            if (rec.step == STEP_EXEC)
                ctl_err("run: cannot run %s: %s", cmd0, strerror(rec.err));
            else
                ctl_err("run: for user %s (uid %" PRIu32 "): cannot %s: %s", id->name, id->uid,
                        step_what(rec.step), strerror(rec.err));
        } else if (n != 0) {
            ctl_err("run: the job's set-up broke off (handshake: %zd bytes)", n);
            (void)kill(pid, SIGKILL);
        } else {
            ctl_err("run: the job ended before it was set up");
        }
        break;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 126;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 126;
}

/* Waits for the job, relaying its terminal if it has one; at token expiry (kill_at) stops it:
 * SIGTERM, then SIGKILL after a grace period. Forwards SIGINT/SIGTERM/SIGHUP to the job's process
 * group and window size changes to its terminal. Returns the exit status to report. */
static int wait_job(pid_t pid, int64_t kill_at, struct run_pty *pt, int wake_rd)
{
    int status = 0, termed = 0;
    int64_t killed_at = 0, now;
    pid_t w;

    for (;;) {
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return 1;
        if (got_signal != 0) {
            (void)kill(-pid, got_signal);
            got_signal = 0;
        }
        if (got_winch != 0) {
            got_winch = 0;
            run_pty_winch(pt);
        }
        now = oidc_now();
        if (kill_at > 0 && now >= kill_at && !termed) {
            fprintf(stderr, "oidcctl: run: the token expired: stopping the job\n");
            (void)kill(-pid, SIGTERM);
            termed = 1;
            killed_at = now;
        } else if (termed && now >= killed_at + RUN_KILL_GRACE) {
            (void)kill(-pid, SIGKILL);
        }
        run_pty_poll(pt, wake_rd, 250);
    }
    run_pty_drain(pt);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/* The signals oidcctl run handles while the job runs; the child restores the defaults. */
static const int run_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGCHLD};

static void set_signals(int on)
{
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sa.sa_flags = SA_NOCLDSTOP; /* no SA_RESTART: a signal interrupts the handshake's read */
    for (i = 0; i < sizeof(run_signals) / sizeof(run_signals[0]); i++)
        (void)sigaction(run_signals[i], &sa, NULL);
    (void)signal(SIGPIPE, on ? SIG_IGN : SIG_DFL);
}

/* The ids the job gets must be the ones the module stored (and the cache writer checked for
 * collisions): the same uid, gid, issuer and subject as the cache entry of the user. */
static int matches_cache(const struct oidc_cfg *cfg, const struct oidc_identity *id)
{
    struct oidc_cache_opts opts = {0};
    struct oidc_cache *cache = NULL;
    const struct oidc_cache_user *u;
    struct oidc_err err = {0};
    int rc = RUN_FAILED;

    opts.dir = cfg->state_dir;
    if (oidc_cache_load(&opts, &cache, &err) != OIDC_OK) {
        ctl_err("run: identity cache: %s", oidc_err_msg(&err));
        return RUN_FAILED;
    }
    if ((u = oidc_cache_find(cache, id->name)) == NULL)
        ctl_err("run: '%s' is not in the identity cache after the PAM login", id->name);
    else if (u->uid != id->uid || u->gid != id->gid || !oidc_streq(u->issuer, id->issuer) ||
             !oidc_streq(u->subject, id->subject))
        ctl_err("run: the cache entry of '%s' (uid %" PRIu32 ", issuer %s) is not this token's "
                "identity (uid %" PRIu32 ", issuer %s)",
                id->name, u->uid, u->issuer != NULL ? u->issuer : "?", id->uid,
                id->issuer != NULL ? id->issuer : "?");
    else
        rc = CTL_OK;
    oidc_cache_close(cache);
    return rc;
}

/* Fds 0-2 that the caller left closed would be taken by the first descriptors opened here (the
 * handshake pipe, the pty) and then be replaced in the child: they get /dev/null. */
static int stdio_open(void)
{
    int fd, nfd;

    for (fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        if ((nfd = open("/dev/null", O_RDWR)) != fd) {
            if (nfd >= 0)
                (void)close(nfd);
            ctl_err("run: cannot open /dev/null for the closed fd %d: %s", fd,
                    nfd < 0 ? strerror(errno) : "another descriptor was taken");
            return -1;
        }
    }
    return 0;
}

static void close_pair(int fds[2])
{
    int i;

    for (i = 0; i < 2; i++)
        if (fds[i] >= 0)
            (void)close(fds[i]);
    fds[0] = fds[1] = -1;
}

/* Starts the job (the child's side is become_and_exec()) and waits for it. The signal handlers
 * stay installed after it returns, until cmd_run() has closed the session. Returns the exit
 * status to report. */
static int run_job(const struct oidc_identity *id, char **cmd, char **env, int64_t kill_at,
                   pid_t *job)
{
    struct run_pty pt;
    int hs[2] = {-1, -1}, wake[2] = {-1, -1}, rc = RUN_FAILED;
    pid_t pid;

    run_pty_init(&pt);
    /* the handshake pipe, the self-pipe, and the job's terminal when the caller has one (its
     * window size is copied once the handlers see SIGWINCH) */
    if (pipe2(hs, O_CLOEXEC) != 0 || pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        ctl_err("run: pipe: %s", strerror(errno));
        goto out;
    }
    wake_wr = wake[1];
    set_signals(1);
    if (run_pty_open(&pt) != 0)
        goto out;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        ctl_err("run: fork: %s", strerror(errno));
        goto out;
    }
    *job = pid;
    if (pid == 0) {
        set_signals(0);
        become_and_exec(id, cmd, env, &pt, hs[1]);
    }
    (void)close(hs[1]);
    hs[1] = -1;
    if ((rc = handshake(hs[0], pid, id, cmd[0])) == 0) {
        (void)run_pty_start(&pt); /* without raw mode the relay still works, line by line */
        rc = wait_job(pid, kill_at, &pt, wake[0]);
    }
out:
    run_pty_end(&pt);
    wake_wr = -1; /* the handlers write nowhere from here on */
    close_pair(hs);
    close_pair(wake);
    return rc;
}

static int pam_failed(pam_handle_t *pamh, const char *what, int pr)
{
    ctl_err("run: %s refused: %s", what, pam_strerror(pamh, pr));
    return RUN_FAILED;
}

int cmd_run(int argc, char **argv)
{
    struct run_args a = {0};
    struct oidc_cfg *cfg = NULL;
    const struct oidc_provider_cfg *pcfg;
    struct oidc_provider *prov = NULL;
    struct oidc_token *tok = NULL;
    struct oidc_identity *id = NULL;
    struct oidc_err err = {0};
    struct conv_ctx ctx = {NULL};
    struct pam_conv pc = {conv, &ctx};
    pam_handle_t *pamh = NULL;
    const void *user = NULL;
    char *token = NULL, **env = NULL;
    int rc, pr = PAM_SUCCESS, session = 0, cred = 0;
    int64_t now;
    pid_t job = -1;

    if ((rc = parse_args(argc, argv, &a)) != CTL_OK)
        return rc < 0 ? CTL_OK : RUN_FAILED;
    if (stdio_open() != 0)
        return RUN_FAILED;
    if (geteuid() != 0) {
        ctl_err("run must be started by root (it opens a PAM session and switches users)");
        return RUN_FAILED;
    }
    rc = RUN_FAILED; /* until the job has run */
    if ((a.token_file != NULL ? ctl_read_token(a.token_file, &token)
                              : token_from_env(a.token_env, &token)) != CTL_OK ||
        ctl_load_config(a.c.config, &cfg) != CTL_OK)
        goto out;
    /* PAM first, with no user: pam_oidc.so verifies the token, applies policy and replay rules,
     * writes the cache, audits the decision (refusals too) and sets PAM_USER. */
    ctx.token = token;
    if ((pr = pam_start(a.service, NULL, &pc, &pamh)) != PAM_SUCCESS) {
        ctl_err("run: cannot start PAM service '%s'", a.service);
        pamh = NULL;
        goto out;
    }
    (void)pam_set_item(pamh, PAM_RUSER, "root");
    if ((pr = pam_authenticate(pamh, 0)) != PAM_SUCCESS) {
        rc = pam_failed(pamh, "authentication", pr);
        goto out;
    }
    if ((pr = pam_acct_mgmt(pamh, 0)) != PAM_SUCCESS) {
        rc = pam_failed(pamh, "account", pr);
        goto out;
    }
    if (pam_get_item(pamh, PAM_USER, &user) != PAM_SUCCESS || user == NULL) {
        ctl_err("run: the PAM stack of '%s' named no user (is pam_oidc.so in its auth lines?)",
                a.service);
        goto out;
    }

    /* The job's uid, gid, groups, home and shell: the same mapping the module stored (with warm
     * caches this verification does no I/O). It must name the user PAM authenticated. */
    now = oidc_now();
    if ((pcfg = pick_provider(cfg, a.c.provider, token)) == NULL)
        goto out;
    if (oidc_provider_new(pcfg, cfg->state_dir, &prov, &err) != OIDC_OK ||
        oidc_provider_verify(prov, token, strlen(token), now, NULL, &tok, &err) != OIDC_OK ||
        oidc_idmap_map(pcfg, NULL, tok->claims, &id, &err) != OIDC_OK) {
        ctl_err("run: token refused: %s", oidc_err_msg(&err));
        goto out;
    }
    if (strcmp(id->name, user) != 0) {
        ctl_err("run: PAM authenticated '%s' but the token maps to '%s' with provider '%s'",
                (const char *)user, id->name, pcfg->name);
        goto out;
    }
    if (matches_cache(cfg, id) != CTL_OK)
        goto out;
    if ((pr = pam_setcred(pamh, PAM_ESTABLISH_CRED)) != PAM_SUCCESS) {
        rc = pam_failed(pamh, "credentials", pr);
        goto out;
    }
    cred = 1;
    if ((pr = pam_open_session(pamh, 0)) != PAM_SUCCESS) {
        rc = pam_failed(pamh, "session", pr);
        goto out;
    }
    session = 1;
    /* the token is not needed any more: nothing of it reaches the job */
    oidc_free_secret(&token);
    ctx.token = NULL;
    if ((env = job_env(pamh, id)) == NULL) {
        ctl_err("out of memory");
        goto out;
    }

    /* the run's cgroup and its guardian, so that no process of the job outlives the run */
    if (reap_setup(pamh, (uid_t)id->uid, (gid_t)id->gid, pcfg->ephemeral) != 0)
        goto out;
    rc = run_job(id, a.cmd, env, a.kill_at_expiry ? tok->exp : 0, &job);
out:
    reap_finish(job); /* every process of the run ends before its session closes */
    if (pamh != NULL) {
        if (session && (pr = pam_close_session(pamh, 0)) != PAM_SUCCESS)
            ctl_err("run: closing the session failed: %s", pam_strerror(pamh, pr));
        if (cred)
            (void)pam_setcred(pamh, PAM_DELETE_CRED);
        pam_end(pamh, pr);
    }
    reap_done(); /* the session is closed: the guardian can go */
    set_signals(0);
    env_free(env);
    oidc_identity_free(id);
    oidc_token_free(tok);
    oidc_provider_free(prov);
    oidc_cfg_free(cfg);
    oidc_free_secret(&token);
    return rc;
}
