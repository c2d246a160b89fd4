/* pam_oidc.so: the PAM entry points. Each one dispatches to the core (pam_run.c), which runs
 * the phase (pam_int.h has the call layout). Only these five symbols are exported (pam_oidc.map).
 */
#include "config.h"

#include <security/pam_modules.h>

#include "pam_int.h"

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    return oidc_pam_run(OIDC_PAM_AUTH, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    return oidc_pam_run(OIDC_PAM_SETCRED, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    return oidc_pam_run(OIDC_PAM_ACCT, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    return oidc_pam_run(OIDC_PAM_OPEN_SESSION, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    return oidc_pam_run(OIDC_PAM_CLOSE_SESSION, pamh, flags, argc, argv);
}
