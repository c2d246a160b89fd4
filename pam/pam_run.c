/* One call of a pam_sm_* function: load the configuration (file + module arguments), read the
 * PAM items and dispatch to the phase; the phases map internal codes with pam_rc.c. */
#include "config.h"

#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_int.h"

static const char *item(pam_handle_t *pamh, int type)
{
    const void *v = NULL;

    if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || v == NULL)
        return NULL;
    return (const char *)v;
}

int oidc_pam_run(enum oidc_pam_op op, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct oidc_pam_ctx c;
    struct oidc_err err = {0};
    int r, rc;

    memset(&c, 0, sizeof(c));
    c.pamh = pamh;
    c.flags = flags;
    c.op = op;
    if (pamh == NULL)
        return PAM_SYSTEM_ERR;
    c.service = item(pamh, PAM_SERVICE);
    c.user = item(pamh, PAM_USER);
    if (c.user != NULL && c.user[0] == '\0')
        c.user = NULL;
    c.rhost = item(pamh, PAM_RHOST);
    /* Local accounts are never ours, and must not depend on this module's configuration: a typo
     * in it must not lock root out of a stack where this module's lines are required. */
    if (c.user != NULL && oidc_pam_local_user(c.user))
        return op == OIDC_PAM_AUTH ? PAM_USER_UNKNOWN : PAM_IGNORE;
    if ((r = oidc_cfg_load(argc, argv, &c.cfg, &err)) != OIDC_OK) {
        /* MWG: unrecognized options at LOG_ERR, a broken configuration file at LOG_ALERT */
        oidc_pam_log(&c,
                     r == OIDC_ERR_NOMEM                                ? LOG_CRIT
                     : strncmp(oidc_err_msg(&err), "argument ", 9) == 0 ? LOG_ERR
                                                                        : LOG_ALERT,
                     "configuration: %s", oidc_err_msg(&err));
        /* a configuration that cannot be read must not let anyone in, nor be silently
         * skipped in a stack where this module decides */
        return r == OIDC_ERR_NOMEM ? PAM_BUF_ERR : PAM_SERVICE_ERR;
    }
    switch (op) {
    case OIDC_PAM_AUTH:
        rc = oidc_pam_authenticate(&c);
        break;
    case OIDC_PAM_SETCRED:
        rc = oidc_pam_setcred(&c);
        break;
    case OIDC_PAM_ACCT:
        rc = oidc_pam_acct(&c);
        break;
    case OIDC_PAM_OPEN_SESSION:
        rc = oidc_pam_open_session(&c);
        break;
    case OIDC_PAM_CLOSE_SESSION:
        rc = oidc_pam_close_session(&c);
        break;
    default:
        rc = PAM_SERVICE_ERR;
        break;
    }
    if (rc == PAM_CONV_AGAIN)
        rc = PAM_INCOMPLETE;
    oidc_pam_debug(&c, "returns %s", oidc_pam_rc_name(rc));
    oidc_cfg_free(c.cfg);
    return rc;
}
