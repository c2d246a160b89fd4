/* The device flow inside a PAM conversation: the verification URL, the user code and an optional
 * QR code go into ONE prompt (OpenSSH holds PAM_TEXT_INFO back until the next prompt), the user
 * answers with Enter once approved, and the module polls within the login deadline. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <security/pam_appl.h>

#include "device.h"
#include "json.h"
#include "provider.h"
#include "pam_int.h"

#define PROMPT_MAX 8192
#define TERM_LINES 24 /* a compact QR code keeps the prompt within an 80x24 terminal */

/* Monotonic milliseconds: whole seconds of oidc_now() could make a poll 1 ms after the code was
 * issued look a second old. */
static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int want_qr(const struct oidc_pam_ctx *c, const struct oidc_provider_cfg *pcfg)
{
    return c->cfg->qr >= 0 ? c->cfg->qr : pcfg->qr;
}

/* Rows that text takes on an 80-column terminal (it is printable ASCII: oidc_printable); a last
 * line without '\n' counts as one. */
static int term_rows(const char *s)
{
    size_t len;
    int n = 0;

    while (*s != '\0') {
        len = strcspn(s, "\n");
        n += len == 0 ? 1 : (int)((len + OIDC_QR_COLUMNS - 1) / OIDC_QR_COLUMNS);
        s += len;
        if (*s == '\n')
            s++;
    }
    return n;
}

/* The one prompt. Everything from the IdP passes through oidc_printable so that it cannot drive
 * the user's terminal. A compact QR code comes only when the whole prompt fits TERM_LINES rows. */
static char *device_prompt(const struct oidc_pam_ctx *c, const struct oidc_provider_cfg *pcfg,
                           const struct oidc_device_auth *da, int64_t deadline, int64_t now)
{
    char url[1024], uri[1024], code[64], user[64], tail[96];
    const char *complete = da->verification_uri_complete;
    char *qr = NULL, *out;
    int64_t left = deadline - now;
    int n, style = want_qr(c, pcfg);

    if ((out = malloc(PROMPT_MAX)) == NULL)
        return NULL;
    oidc_printable(url, sizeof(url), complete != NULL ? complete : da->verification_uri);
    oidc_printable(uri, sizeof(uri), da->verification_uri);
    oidc_printable(code, sizeof(code), da->user_code);
    if (da->expires_at - now < left)
        left = da->expires_at - now;
    n = snprintf(out, PROMPT_MAX,
                 "To sign in%s%s with %s, open this address in a browser:\n\n"
                 "    %s\n\n"
                 "and check that it shows the code: %s\n"
                 "(or open %s and enter the code)\n",
                 c->user != NULL ? " as " : "",
                 c->user != NULL ? oidc_printable(user, sizeof(user), c->user) : "", pcfg->name,
                 url, code, uri);
    snprintf(tail, sizeof(tail),
             "Press Enter once you have approved (within %lld s): ", (long long)left);
    if (n < 0 || n >= PROMPT_MAX) {
        free(out);
        return NULL;
    }
    /* the QR code is followed by an empty line */
    if (complete != NULL && style != OIDC_QR_NO)
        qr = oidc_pam_qr(complete, style, TERM_LINES - term_rows(out) - 1 - term_rows(tail));
    snprintf(out + n, PROMPT_MAX - (size_t)n, "%s%s%s", qr != NULL ? qr : "",
             qr != NULL ? "\n" : "", tail);
    free(qr);
    return out;
}

/* The message the user sees when the flow ends without tokens. */
static void tell_user(struct oidc_pam_ctx *c, int r)
{
    switch (r) {
    case OIDC_ERR_DENIED:
        oidc_pam_error(c, "The sign-in was denied at the identity provider.");
        break;
    case OIDC_ERR_EXPIRED:
        oidc_pam_error(c, "The sign-in code expired before the login was approved.");
        break;
    case OIDC_ERR_TIMEOUT:
        oidc_pam_error(c, "The login was not approved in the time allowed.");
        break;
    case OIDC_ERR_NETWORK:
    case OIDC_ERR_HTTP:
        oidc_pam_error(c, "The identity provider cannot be reached.");
        break;
    default:
        oidc_pam_error(c, "The sign-in failed.");
        break;
    }
}

int oidc_pam_device_login(struct oidc_pam_ctx *c, struct oidc_provider *prov, int64_t deadline,
                          cJSON **claims, struct oidc_groups *groups, int64_t *exp,
                          struct oidc_err *err)
{
    const struct oidc_provider_cfg *pcfg = oidc_provider_cfg(prov);
    struct oidc_device_auth da = {0};
    struct oidc_device_tokens dt = {0};
    struct oidc_token *t = NULL;
    char *prompt = NULL, *resp = NULL, shown[300];
    int64_t now = oidc_now(), issued, issued_ms, wait_ms;
    struct timespec ts;
    int r, rc;

    *claims = NULL;
    memset(groups, 0, sizeof(*groups));
    if ((r = oidc_provider_discover(prov, now, err)) != OIDC_OK ||
        (r = oidc_device_start(prov, now, &da, err)) != OIDC_OK) {
        tell_user(c, r);
        rc = oidc_pam_rc(c->op, r);
        goto out;
    }
    issued = oidc_now();
    issued_ms = mono_ms();
    if ((prompt = device_prompt(c, pcfg, &da, deadline, issued)) == NULL) {
        rc = PAM_BUF_ERR;
        goto out;
    }
    rc = oidc_pam_converse(c, PAM_PROMPT_ECHO_OFF, prompt, &resp);
    oidc_free_secret(&resp);
    if (rc != PAM_SUCCESS) {
        OIDC_ERR_SET(err, OIDC_ERR_INTERNAL, "the conversation failed");
        goto out;
    }
    /* The user says they approved: poll once as soon as the interval since the code was issued
     * allows it (RFC 8628 3.5), then at the interval until the deadline. */
    now = oidc_now();
    wait_ms = issued_ms + (int64_t)da.interval * 1000 - mono_ms();
    if (now + (wait_ms + 999) / 1000 >= deadline) {
        r = OIDC_ERR_SET(err, OIDC_ERR_TIMEOUT, "the login was not approved in the time allowed");
    } else {
        if (wait_ms > 0) {
            ts.tv_sec = (time_t)(wait_ms / 1000);
            ts.tv_nsec = (long)(wait_ms % 1000) * 1000000L;
            while (nanosleep(&ts, &ts) != 0)
                ;
        }
        r = oidc_device_poll_once(prov, &da, &dt, err);
    }
    if (r == OIDC_ERR_PENDING || r == OIDC_ERR_SLOWDOWN || r == OIDC_ERR_NETWORK)
        r = oidc_device_poll(prov, &da, deadline, NULL, NULL, &dt, err);
    if (r != OIDC_OK) {
        tell_user(c, r);
        rc = oidc_pam_rc(c->op, r);
        goto out;
    }
    if ((r = oidc_provider_verify(prov, dt.id_token, strlen(dt.id_token), oidc_now(), NULL, &t,
                                  err)) != OIDC_OK) {
        tell_user(c, r);
        rc = oidc_pam_rc(c->op, r);
        goto out;
    }
    if ((*claims = cJSON_Duplicate(t->claims, 1)) == NULL) {
        rc = PAM_BUF_ERR;
        goto out;
    }
    /* the groups: from the ID token, or from userinfo for the same subject (groups.h) */
    if ((r = oidc_groups_resolve(prov, dt.access_token, *claims, groups, err)) != OIDC_OK) {
        oidc_pam_error(c, "Login refused: %s",
                       oidc_printable(shown, sizeof(shown), oidc_err_msg(err)));
        cJSON_Delete(*claims);
        *claims = NULL;
        rc = oidc_pam_rc(c->op, r);
        goto out;
    }
    *exp = t->exp;
    rc = PAM_SUCCESS;
out:
    free(prompt);
    oidc_token_free(t);
    oidc_device_tokens_clear(&dt);
    oidc_device_auth_clear(&da);
    return rc;
}
