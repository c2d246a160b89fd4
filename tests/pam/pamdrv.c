/* pamdrv: drives a real Linux-PAM stack (pam_start_confdir) with a scripted conversation and
 * prints the result of each phase, for the pam_oidc tests.
 *
 *   pamdrv -d CONFDIR -s SERVICE [-u USER] [-r RHOST] [options]
 *     -a SUBSTR=VALUE  answer a prompt that contains SUBSTR with VALUE (repeatable, first wins;
 *                      VALUE @FILE answers with the contents of FILE)
 *     -t FILE          answer token prompts from FILE the way `oidcctl askpass` does
 *                      (tokprompt.h: chunks of at most -k bytes, '\' when more follow)
 *     -k N             chunk size for -t (default OIDC_TOKPROMPT_CHUNK; 0 = whole token)
 *     -A CMD           device prompts: run CMD (sh -c) with OIDC_USER_CODE set to the code parsed
 *                      from the prompt, then answer Enter
 *     -P SECONDS       pause between pam_authenticate and pam_acct_mgmt
 *     -T FILE          append every message and prompt (never an answer) to FILE
 *     -o PHASES        comma-separated subset of auth,acct,setcred,open,close (default: all)
 *     -S               pass PAM_SILENT to pam_authenticate and pam_acct_mgmt
 *
 * Output, one line each: "authenticate: PAM_...", "acct_mgmt: ...", "setcred: ...",
 * "open_session: ...", "env: OIDC_...=..." (the session's OIDC_* variables), "close_session: ...",
 * "user: NAME" (PAM_USER at the end), and "approval-to-result-ms: N" after a device login.
 * Exit 0 when every phase run returned PAM_SUCCESS, 1 otherwise, 2 on usage errors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "tokprompt.h"

#define MAX_ANSWERS 16

struct drv {
    const char *subs[MAX_ANSWERS], *vals[MAX_ANSWERS];
    int n_answers;
    char *token;
    size_t token_len, chunk;
    const char *approve_cmd;
    FILE *transcript;
    double approved_at; /* monotonic seconds when the approve hook finished, 0 if never */
};

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    char *buf;
    size_t n;

    if (f == NULL)
        return NULL;
    buf = malloc(1 << 20);
    n = buf != NULL ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf == NULL)
        return NULL;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* The askpass side of tokprompt.h: the chunk that starts at the offset the prompt names. */
static char *token_answer(struct drv *d, const char *prompt)
{
    size_t off = 0, n;
    char *out;

    if (strncmp(prompt, OIDC_TOKPROMPT_NEXT_MATCH, strlen(OIDC_TOKPROMPT_NEXT_MATCH)) == 0 &&
        sscanf(prompt + strlen(OIDC_TOKPROMPT_NEXT_MATCH), "%zu", &off) != 1)
        return NULL;
    if (off > d->token_len)
        return NULL;
    n = d->token_len - off;
    if (d->chunk > 0 && n > d->chunk)
        n = d->chunk;
    if ((out = malloc(n + 2)) == NULL)
        return NULL;
    memcpy(out, d->token + off, n);
    if (off + n < d->token_len)
        out[n++] = OIDC_TOKPROMPT_MORE;
    out[n] = '\0';
    return out;
}

/* The device prompt: "shows the code: CODE" -> run the approver, answer Enter. */
static char *device_answer(struct drv *d, const char *prompt)
{
    const char *p = strstr(prompt, "shows the code: ");
    char code[64];
    size_t n = 0;
    int st;

    if (p == NULL)
        return NULL;
    p += strlen("shows the code: ");
    while (n + 1 < sizeof(code) && p[n] != '\0' && p[n] != '\n' && p[n] != ' ') {
        code[n] = p[n];
        n++;
    }
    code[n] = '\0';
    if (d->approve_cmd != NULL) {
        setenv("OIDC_USER_CODE", code, 1);
        st = system(d->approve_cmd);
        d->approved_at = mono();
        if (st != 0)
            fprintf(stderr, "pamdrv: approve hook exited with status %d\n", st);
    }
    return strdup("");
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    struct drv *d = data;
    struct pam_response *r;
    const char *text;
    int i, j;

    if (n <= 0 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
        return PAM_CONV_ERR;
    for (i = 0; i < n; i++) {
        text = msg[i]->msg != NULL ? msg[i]->msg : "";
        if (d->transcript != NULL) {
            fprintf(d->transcript, "[%d] %s\n", msg[i]->msg_style, text);
            fflush(d->transcript);
        }
        if (msg[i]->msg_style == PAM_TEXT_INFO || msg[i]->msg_style == PAM_ERROR_MSG)
            continue;
        for (j = 0; j < d->n_answers && r[i].resp == NULL; j++)
            if (strstr(text, d->subs[j]) != NULL)
                r[i].resp =
                    d->vals[j][0] == '@' ? read_file(d->vals[j] + 1, NULL) : strdup(d->vals[j]);
        if (r[i].resp == NULL && d->token != NULL &&
            (strncmp(text, OIDC_TOKPROMPT_FIRST, strlen(OIDC_TOKPROMPT_FIRST)) == 0 ||
             strncmp(text, OIDC_TOKPROMPT_AUTO, strlen(OIDC_TOKPROMPT_AUTO)) == 0 ||
             strncmp(text, OIDC_TOKPROMPT_NEXT_MATCH, strlen(OIDC_TOKPROMPT_NEXT_MATCH)) == 0))
            r[i].resp = token_answer(d, text);
        if (r[i].resp == NULL && strstr(text, "shows the code: ") != NULL)
            r[i].resp = device_answer(d, text);
        if (r[i].resp == NULL) {
            fprintf(stderr, "pamdrv: no answer for prompt: %.200s\n", text);
            for (j = 0; j < i; j++)
                free(r[j].resp);
            free(r);
            return PAM_CONV_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static int want(const char *phases, const char *name)
{
    const char *p = phases;
    size_t n = strlen(name);

    if (phases == NULL)
        return 1;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == phases || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
        p += n;
    }
    return 0;
}

static const char *rc_name(int rc)
{
    switch (rc) {
    case PAM_SUCCESS:
        return "PAM_SUCCESS";
    case PAM_AUTH_ERR:
        return "PAM_AUTH_ERR";
    case PAM_AUTHINFO_UNAVAIL:
        return "PAM_AUTHINFO_UNAVAIL";
    case PAM_USER_UNKNOWN:
        return "PAM_USER_UNKNOWN";
    case PAM_IGNORE:
        return "PAM_IGNORE";
    case PAM_PERM_DENIED:
        return "PAM_PERM_DENIED";
    case PAM_ACCT_EXPIRED:
        return "PAM_ACCT_EXPIRED";
    case PAM_SERVICE_ERR:
        return "PAM_SERVICE_ERR";
    case PAM_SYSTEM_ERR:
        return "PAM_SYSTEM_ERR";
    case PAM_BUF_ERR:
        return "PAM_BUF_ERR";
    case PAM_CONV_ERR:
        return "PAM_CONV_ERR";
    case PAM_CRED_ERR:
        return "PAM_CRED_ERR";
    case PAM_SESSION_ERR:
        return "PAM_SESSION_ERR";
    case PAM_INCOMPLETE:
        return "PAM_INCOMPLETE";
    case PAM_ABORT:
        return "PAM_ABORT";
    case PAM_NO_MODULE_DATA:
        return "PAM_NO_MODULE_DATA";
    default:
        return "PAM_(other)";
    }
}

static int report(const char *phase, int rc, int *all)
{
    printf("%s: %s\n", phase, rc_name(rc));
    fflush(stdout);
    if (rc != PAM_SUCCESS)
        *all = 0;
    return rc;
}

int main(int argc, char **argv)
{
    struct drv d;
    struct pam_conv pc;
    pam_handle_t *pamh = NULL;
    const char *confdir = NULL, *service = NULL, *user = NULL, *rhost = NULL, *phases = NULL;
    const void *item = NULL;
    char **env, *eq;
    int ch, rc, all = 1, pause_s = 0, silent = 0, i;

    /* line-buffered: the phases already reported survive an abnormal end (a sanitizer's exit) */
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&d, 0, sizeof(d));
    d.chunk = OIDC_TOKPROMPT_CHUNK;
    while ((ch = getopt(argc, argv, "d:s:u:r:a:t:k:A:P:T:o:S")) != -1) {
        switch (ch) {
        case 'd':
            confdir = optarg;
            break;
        case 's':
            service = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'r':
            rhost = optarg;
            break;
        case 'a':
            if (d.n_answers == MAX_ANSWERS || (eq = strchr(optarg, '=')) == NULL)
                return 2;
            *eq = '\0';
            d.subs[d.n_answers] = optarg;
            d.vals[d.n_answers++] = eq + 1;
            break;
        case 't':
            if ((d.token = read_file(optarg, &d.token_len)) == NULL) {
                perror(optarg);
                return 2;
            }
            break;
        case 'k':
            d.chunk = (size_t)strtoul(optarg, NULL, 10);
            break;
        case 'A':
            d.approve_cmd = optarg;
            break;
        case 'P':
            pause_s = atoi(optarg);
            break;
        case 'T':
            if ((d.transcript = fopen(optarg, "ae")) == NULL) {
                perror(optarg);
                return 2;
            }
            break;
        case 'S':
            silent = PAM_SILENT;
            break;
        case 'o':
            phases = optarg;
            break;
        default:
            return 2;
        }
    }
    if (confdir == NULL || service == NULL) {
        fprintf(stderr, "usage: pamdrv -d CONFDIR -s SERVICE [-u USER] [options]\n");
        return 2;
    }
    pc.conv = conv;
    pc.appdata_ptr = &d;
#ifdef HAVE_PAM_START_CONFDIR
    rc = pam_start_confdir(service, user, &pc, confdir, &pamh);
#else
    fprintf(stderr, "pamdrv: this Linux-PAM has no pam_start_confdir\n");
    return 77;
#endif
    if (rc != PAM_SUCCESS) {
        printf("pam_start: %s\n", rc_name(rc));
        return 1;
    }
    if (rhost != NULL)
        pam_set_item(pamh, PAM_RHOST, rhost);
    if (want(phases, "auth")) {
        rc = report("authenticate", pam_authenticate(pamh, silent), &all);
        if (d.approved_at > 0)
            printf("approval-to-result-ms: %.0f\n", (mono() - d.approved_at) * 1000.0);
    }
    if (pause_s > 0)
        sleep((unsigned)pause_s);
    if (want(phases, "acct"))
        report("acct_mgmt", pam_acct_mgmt(pamh, silent), &all);
    if (want(phases, "setcred"))
        report("setcred", pam_setcred(pamh, PAM_ESTABLISH_CRED), &all);
    if (want(phases, "open")) {
        report("open_session", pam_open_session(pamh, 0), &all);
        if ((env = pam_getenvlist(pamh)) != NULL) {
            for (i = 0; env[i] != NULL; i++) {
                if (strncmp(env[i], "OIDC_", 5) == 0)
                    printf("env: %s\n", env[i]);
                free(env[i]);
            }
            free(env);
        }
    }
    if (want(phases, "close"))
        report("close_session", pam_close_session(pamh, 0), &all);
    if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS && item != NULL)
        printf("user: %s\n", (const char *)item);
    pam_end(pamh, PAM_SUCCESS);
    if (d.transcript != NULL)
        fclose(d.transcript);
    free(d.token);
    return all ? 0 : 1;
}
