/* The status-code mapping of pam/: oidc_err_t codes to PAM codes, and PAM codes to their names
 * for logs. A leaf: the dispatcher (pam_run.c) and the phases call it, it calls nothing here. */
#include "config.h"

#include <stddef.h>
#include <security/pam_modules.h>

#include "pam_int.h"

int oidc_pam_rc(enum oidc_pam_op op, int oidc_code)
{
    switch (oidc_code) {
    case OIDC_OK:
        return PAM_SUCCESS;
    case OIDC_ERR_NOMEM:
        return PAM_BUF_ERR;
    case OIDC_ERR_CONFIG:
        return PAM_SERVICE_ERR;
    case OIDC_ERR_NETWORK:
    case OIDC_ERR_HTTP:
        /* the IdP cannot be reached (or answers nonsense) and nothing cached applies */
        return PAM_AUTHINFO_UNAVAIL;
    case OIDC_ERR_IO:
    case OIDC_ERR_INTERNAL:
        return PAM_SYSTEM_ERR;
    case OIDC_ERR_EXPIRED:
        return op == OIDC_PAM_ACCT ? PAM_ACCT_EXPIRED : PAM_AUTH_ERR;
    default:
        /* a refused credential, identity or policy: fail closed */
        return op == OIDC_PAM_ACCT ? PAM_PERM_DENIED : PAM_AUTH_ERR;
    }
}

const char *oidc_pam_rc_name(int pam_code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {PAM_SUCCESS, "PAM_SUCCESS"},
        {PAM_AUTH_ERR, "PAM_AUTH_ERR"},
        {PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL"},
        {PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN"},
        {PAM_IGNORE, "PAM_IGNORE"},
        {PAM_PERM_DENIED, "PAM_PERM_DENIED"},
        {PAM_ACCT_EXPIRED, "PAM_ACCT_EXPIRED"},
        {PAM_SERVICE_ERR, "PAM_SERVICE_ERR"},
        {PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR"},
        {PAM_BUF_ERR, "PAM_BUF_ERR"},
        {PAM_CONV_ERR, "PAM_CONV_ERR"},
        {PAM_INCOMPLETE, "PAM_INCOMPLETE"},
        {PAM_CRED_ERR, "PAM_CRED_ERR"},
        {PAM_SESSION_ERR, "PAM_SESSION_ERR"},
        {PAM_ABORT, "PAM_ABORT"},
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == pam_code)
            return names[i].name;
    return "PAM_(other)";
}
