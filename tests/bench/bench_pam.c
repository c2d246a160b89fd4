/* bench_pam: logins through a real Linux-PAM stack (pam_start_confdir) with pam_oidc.so.
 *
 *   bench_pam -d CONFDIR -s SERVICE -u USER token FILE...
 *       one full login (authenticate, acct_mgmt, open_session, close_session) per token file,
 *       each token answered in 1000-byte chunks as oidcctl askpass does; prints logins/s
 *   bench_pam -d CONFDIR -s SERVICE -u USER -n N device CMD
 *       N device logins; CMD (sh -c, OIDC_USER_CODE set) approves; prints, per login, the time
 *       from the approval being pollable (CMD has returned) to pam_authenticate's PAM_SUCCESS
 *
 * HTTP requests per login are counted at the IdP by tests/pam/bench.sh, which runs this. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "tokprompt.h"

struct bctx {
    const char *token; /* current token */
    size_t len;
    const char *approve;
    double approved_at;
};

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *answer(struct bctx *b, const char *prompt)
{
    size_t off = 0, n;
    const char *p;
    char code[64], *out;
    int st;

    if ((p = strstr(prompt, "shows the code: ")) != NULL) {
        p += strlen("shows the code: ");
        n = strcspn(p, " \n");
        snprintf(code, sizeof(code), "%.*s", (int)n, p);
        setenv("OIDC_USER_CODE", code, 1);
        st = system(b->approve);
        b->approved_at = mono();
        if (st != 0)
            fprintf(stderr, "bench_pam: approve command failed (%d)\n", st);
        return strdup("");
    }
    if (b->token == NULL)
        return NULL;
    if (strncmp(prompt, OIDC_TOKPROMPT_NEXT_MATCH, strlen(OIDC_TOKPROMPT_NEXT_MATCH)) == 0 &&
        sscanf(prompt + strlen(OIDC_TOKPROMPT_NEXT_MATCH), "%zu", &off) != 1)
        return NULL;
    if (off > b->len)
        return NULL;
    n = b->len - off > OIDC_TOKPROMPT_CHUNK ? OIDC_TOKPROMPT_CHUNK : b->len - off;
    if ((out = malloc(n + 2)) == NULL)
        return NULL;
    memcpy(out, b->token + off, n);
    if (off + n < b->len)
        out[n++] = OIDC_TOKPROMPT_MORE;
    out[n] = '\0';
    return out;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    int i;

    if (r == NULL)
        return PAM_BUF_ERR;
    for (i = 0; i < n; i++) {
        if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
            continue;
        if ((r[i].resp = answer(data, msg[i]->msg)) == NULL) {
            while (i-- > 0)
                free(r[i].resp);
            free(r);
            return PAM_CONV_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    char *buf = malloc(65536);
    size_t n = 0;

    if (f != NULL && buf != NULL)
        n = fread(buf, 1, 65535, f);
    if (f != NULL)
        fclose(f);
    if (buf == NULL || n == 0) {
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* One login; returns the first failing PAM code, or PAM_SUCCESS. */
static int login(const char *confdir, const char *service, const char *user, struct bctx *b)
{
    struct pam_conv pc = {conv, b};
    pam_handle_t *pamh = NULL;
    int rc;

#ifdef HAVE_PAM_START_CONFDIR
    if ((rc = pam_start_confdir(service, user, &pc, confdir, &pamh)) != PAM_SUCCESS)
        return rc;
#else
    (void)pc;
    (void)confdir;
    (void)service;
    (void)user;
    return PAM_SYSTEM_ERR;
#endif
    if ((rc = pam_authenticate(pamh, 0)) == PAM_SUCCESS && (rc = pam_acct_mgmt(pamh, 0)) == 0 &&
        (rc = pam_open_session(pamh, 0)) == PAM_SUCCESS)
        rc = pam_close_session(pamh, 0);
    pam_end(pamh, rc);
    return rc;
}

int main(int argc, char **argv)
{
    const char *confdir = NULL, *service = NULL, *user = NULL;
    struct bctx b;
    double t0, dt, worst = 0, sum = 0;
    int ch, i, n = 5, rc, ok = 0;
    char *tok;

    memset(&b, 0, sizeof(b));
    while ((ch = getopt(argc, argv, "d:s:u:n:")) != -1) {
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
        case 'n':
            n = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (confdir == NULL || service == NULL || optind >= argc) {
        fprintf(stderr, "usage: bench_pam -d CONFDIR -s SERVICE [-u USER] [-n N] "
                        "token FILE... | device CMD\n");
        return 2;
    }
    if (strcmp(argv[optind], "token") == 0) {
        t0 = mono();
        for (i = optind + 1; i < argc; i++) {
            if ((tok = slurp(argv[i], &b.len)) == NULL) {
                perror(argv[i]);
                return 1;
            }
            b.token = tok;
            rc = login(confdir, service, user, &b);
            free(tok);
            b.token = NULL;
            if (rc != PAM_SUCCESS) {
                fprintf(stderr, "bench_pam: login %d failed: %s\n", i - optind,
                        pam_strerror(NULL, rc));
                return 1;
            }
            ok++;
        }
        dt = mono() - t0;
        printf("token logins: %d in %.3f s: %.1f logins/s, %.2f ms per login\n", ok, dt, ok / dt,
               dt * 1000.0 / ok);
        return 0;
    }
    if (strcmp(argv[optind], "device") == 0 && optind + 1 < argc) {
        b.approve = argv[optind + 1];
        for (i = 0; i < n; i++) {
            b.approved_at = 0;
            if ((rc = login(confdir, service, user, &b)) != PAM_SUCCESS || b.approved_at == 0) {
                fprintf(stderr, "bench_pam: device login %d failed: %s\n", i,
                        pam_strerror(NULL, rc));
                return 1;
            }
            /* approved_at .. the end of the login: authenticate's remaining work plus
             * acct/session, an upper bound of approval -> PAM_SUCCESS */
            dt = mono() - b.approved_at;
            sum += dt;
            if (dt > worst)
                worst = dt;
        }
        printf("device logins: %d, approval pollable -> login done: mean %.0f ms, worst %.0f ms\n",
               n, sum * 1000.0 / n, worst * 1000.0);
        return 0;
    }
    fprintf(stderr, "bench_pam: unknown mode '%s'\n", argv[optind]);
    return 2;
}
