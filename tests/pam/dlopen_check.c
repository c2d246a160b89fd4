/* The built pam_oidc.so loads with RTLD_NOW (no undefined symbols), exports the five pam_sm_*
 * entry points, and nothing of the core (STYLE.md rule 8). */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    static const char *const present[] = {"pam_sm_authenticate", "pam_sm_setcred",
                                          "pam_sm_acct_mgmt", "pam_sm_open_session",
                                          "pam_sm_close_session"};
    /* a sample of the core and of the module's own internals: all must stay hidden */
    static const char *const hidden[] = {
        "oidc_cfg_load", "oidc_provider_verify",  "oidc_token_verify", "oidc_cache_store_identity",
        "oidc_pam_run",  "oidc_pam_authenticate", "oidc_memzero",      "pam_sm_chauthtok"};
    char path[4096];
    const char *dir = getenv("top_builddir");
    void *h;
    size_t i;
    int fail = 0;

    if (argc > 1)
        snprintf(path, sizeof(path), "%s", argv[1]);
    else
        snprintf(path, sizeof(path), "%s/pam/.libs/pam_oidc.so", dir != NULL ? dir : ".");
    if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        printf("FAIL - dlopen(RTLD_NOW) %s: %s\n", path, dlerror());
        return 1;
    }
    printf("ok   - dlopen(RTLD_NOW) %s\n", path);
    for (i = 0; i < sizeof(present) / sizeof(present[0]); i++) {
        if (dlsym(h, present[i]) == NULL) {
            printf("FAIL - %s is not exported\n", present[i]);
            fail = 1;
        } else {
            printf("ok   - %s is exported\n", present[i]);
        }
    }
    for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        if (dlsym(h, hidden[i]) != NULL) {
            printf("FAIL - %s is exported\n", hidden[i]);
            fail = 1;
        } else {
            printf("ok   - %s is not exported\n", hidden[i]);
        }
    }
    dlclose(h);
    return fail;
}
