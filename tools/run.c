/* oidcctl run: run a job under the identity of a token, through a PAM stack (default service
 * oidc-run): authenticate with no user (the stack's pam_oidc.so verifies the token, checks policy
 * and replay, writes the identity cache, audits and names the user), account, credentials,
 * session; then drop to the mapped user and run the command, and close the session when it ends.
 * Run by root (a batch agent). */
#include "config.h"
#include "oidcctl.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
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
        {"config", required_argument, NULL, 'c'},
        {"provider", required_argument, NULL, 'p'},
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
        case 'c':
            a->c.config = optarg;
            break;
        case 'p':
            a->c.provider = optarg;
            break;
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

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* In the child: become the user (supplementary groups from the mapped identity, which is what
 * the cache and so NSS hold), then exec. Never returns. */
static void become_and_exec(const struct oidc_identity *id, char **cmd, char **env)
{
    gid_t groups[OIDC_GROUPS_MAX + 1];
    size_t i, n = 0;

    groups[n++] = (gid_t)id->gid;
    for (i = 0; i < id->n_groups && n < OIDC_GROUPS_MAX + 1; i++)
        groups[n++] = (gid_t)id->groups[i].gid;
    /* its own process group, to be stopped as a whole; and, on a terminal, its own session, so
     * it cannot push input into root's terminal (TIOCSTI) */
    if (isatty(STDIN_FILENO) ? setsid() < 0 : setpgid(0, 0) != 0)
        _exit(126);
    reap_enter_child(); /* into the run's cgroup while still root (tools/run_reap.c) */
    /* nothing of ours, or of the PAM modules', reaches the job but stdin, stdout and stderr */
    (void)close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    if (setgroups(n, groups) != 0 || setgid((gid_t)id->gid) != 0 || setuid((uid_t)id->uid) != 0) {
        fprintf(stderr, "oidcctl: run: cannot switch to user %s (uid %" PRIu32 "): %s\n", id->name,
                id->uid, strerror(errno));
        _exit(126);
    }
    if (setuid(0) == 0) { /* dropping must be irreversible */
        fprintf(stderr, "oidcctl: run: could regain root after dropping privileges\n");
        _exit(126);
    }
    if (id->home == NULL || chdir(id->home) != 0) {
        if (chdir("/") != 0)
            _exit(126);
    }
    /* execvpe() searches the PATH of this process: make it the job's */
    if (setenv("PATH", RUN_PATH, 1) != 0)
        _exit(126);
    execvpe(cmd[0], cmd, env);
    fprintf(stderr, "oidcctl: run: cannot run %s: %s\n", cmd[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

/* Waits for the job; at token expiry (kill_at) stops it: SIGTERM, then SIGKILL after a grace
 * period. Forwards SIGINT/SIGTERM/SIGHUP to the job. Returns the exit status to report. */
static int wait_job(pid_t pid, int64_t kill_at)
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
        now = oidc_now();
        if (kill_at > 0 && now >= kill_at && !termed) {
            fprintf(stderr, "oidcctl: run: the token expired: stopping the job\n");
            (void)kill(-pid, SIGTERM);
            termed = 1;
            killed_at = now;
        } else if (termed && now >= killed_at + RUN_KILL_GRACE) {
            (void)kill(-pid, SIGKILL);
        }
        (void)usleep(50 * 1000);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
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
    struct sigaction sa;
    pam_handle_t *pamh = NULL;
    const void *user = NULL;
    char *token = NULL, **env = NULL;
    int rc, pr = PAM_SUCCESS, session = 0, cred = 0;
    int64_t now;
    pid_t pid = -1;

    if ((rc = parse_args(argc, argv, &a)) != CTL_OK)
        return rc < 0 ? CTL_OK : RUN_FAILED;
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

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    /* the run's cgroup and its guardian, so that no process of the job outlives the run */
    if (reap_setup(pamh, (uid_t)id->uid, (gid_t)id->gid, pcfg->ephemeral) != 0)
        goto out;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        ctl_err("run: fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        become_and_exec(id, a.cmd, env);
    }
    (void)setpgid(pid, pid); /* also here: no race with the first kill() */
    rc = wait_job(pid, a.kill_at_expiry ? tok->exp : 0);
out:
    reap_finish(pid); /* every process of the run ends before its session closes */
    if (pamh != NULL) {
        if (session && (pr = pam_close_session(pamh, 0)) != PAM_SUCCESS)
            ctl_err("run: closing the session failed: %s", pam_strerror(pamh, pr));
        if (cred)
            (void)pam_setcred(pamh, PAM_DELETE_CRED);
        pam_end(pamh, pr);
    }
    reap_done(); /* the session is closed: the guardian can go */
    env_free(env);
    oidc_identity_free(id);
    oidc_token_free(tok);
    oidc_provider_free(prov);
    oidc_cfg_free(cfg);
    oidc_free_secret(&token);
    return rc;
}
