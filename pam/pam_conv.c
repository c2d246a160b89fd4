/* The conversation: single prompts, messages, and the chunked token prompt (tokprompt.h). Every
 * answer is wiped before it is freed. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include "jwt.h"
#include "pam_int.h"
#include "tokprompt.h"

int oidc_pam_converse(struct oidc_pam_ctx *c, int style, const char *msg, char **resp)
{
    const struct pam_conv *conv = NULL;
    const void *item = NULL;
    struct pam_message m;
    const struct pam_message *mp = &m;
    struct pam_response *r = NULL;
    int rc;

    if (resp != NULL)
        *resp = NULL;
    if (pam_get_item(c->pamh, PAM_CONV, &item) != PAM_SUCCESS || item == NULL)
        return PAM_CONV_ERR;
    conv = item;
    if (conv->conv == NULL)
        return PAM_CONV_ERR;
    m.msg_style = style;
    m.msg = msg;
    rc = conv->conv(1, &mp, &r, conv->appdata_ptr);
    if (rc != PAM_SUCCESS) {
        if (r != NULL) {
            oidc_free_secret(&r->resp);
            free(r);
        }
        return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_CONV_ERR;
    }
    if (r == NULL)
        return resp != NULL ? PAM_CONV_ERR : PAM_SUCCESS;
    if (resp != NULL) {
        *resp = r->resp; /* transferred */
        r->resp = NULL;
        if (*resp == NULL)
            rc = PAM_CONV_ERR;
    }
    oidc_free_secret(&r->resp);
    free(r);
    return rc;
}

OIDC_FORMAT(3, 0)
static void message(struct oidc_pam_ctx *c, int style, const char *fmt, va_list ap)
{
    char buf[1024];

    if (c->flags & PAM_SILENT)
        return;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    (void)oidc_pam_converse(c, style, buf, NULL);
}

void oidc_pam_info(struct oidc_pam_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message(c, PAM_TEXT_INFO, fmt, ap);
    va_end(ap);
}

void oidc_pam_error(struct oidc_pam_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message(c, PAM_ERROR_MSG, fmt, ap);
    va_end(ap);
}

int oidc_pam_read_token(struct oidc_pam_ctx *c, const char *first_prompt, char **tok, size_t *len)
{
    char prompt[128];
    char *buf = NULL, *resp = NULL;
    size_t have = 0, total, n;
    unsigned chunks;
    int more, rc;

    *tok = NULL;
    *len = 0;
    if ((buf = malloc(OIDC_TOKEN_MAX + 1)) == NULL)
        return PAM_BUF_ERR;
    snprintf(prompt, sizeof(prompt), "%s", first_prompt);
    for (chunks = 1;; chunks++) {
        if ((rc = oidc_pam_converse(c, PAM_PROMPT_ECHO_OFF, prompt, &resp)) != PAM_SUCCESS)
            goto out;
        n = strlen(resp);
        more = n > 0 && resp[n - 1] == OIDC_TOKPROMPT_MORE;
        if (more)
            n--;
        if (n > OIDC_TOKEN_MAX - have) {
            oidc_pam_reason(c, "the token is longer than %d bytes", OIDC_TOKEN_MAX);
            rc = PAM_AUTH_ERR;
            goto out;
        }
        memcpy(buf + have, resp, n);
        have += n;
        oidc_free_secret(&resp);
        if (!more)
            break;
        if (chunks >= OIDC_TOKPROMPT_MAX_CHUNKS) {
            oidc_pam_reason(c, "the token came in more than %d chunks", OIDC_TOKPROMPT_MAX_CHUNKS);
            rc = PAM_AUTH_ERR;
            goto out;
        }
        snprintf(prompt, sizeof(prompt), OIDC_TOKPROMPT_NEXT_FMT, have);
    }
    /* a pasted token may carry surrounding blanks or a line end */
    total = have;
    while (have > 0 && (buf[have - 1] == ' ' || buf[have - 1] == '\t' || buf[have - 1] == '\r' ||
                        buf[have - 1] == '\n'))
        have--;
    n = 0;
    while (n < have && (buf[n] == ' ' || buf[n] == '\t'))
        n++;
    memmove(buf, buf + n, have - n);
    have -= n;
    oidc_memzero(buf + have, total - have + 1); /* oidc_free_secret wipes strlen() bytes only */
    *tok = buf;                                 /* transferred */
    *len = have;
    buf = NULL;
    rc = PAM_SUCCESS;
out:
    oidc_free_secret(&resp);
    if (buf != NULL)
        oidc_freezero(buf, OIDC_TOKEN_MAX + 1);
    return rc;
}
