/* Loads the built libnss_oidc.so.2 the way glibc does (dlopen, RTLD_NOW: every symbol must
 * resolve) and checks its exports: every _nss_oidc_* entry point is there, and the internals
 * (oidc_*, the tinycdb functions linked into it) are not. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const entry_points[] = {
    "_nss_oidc_getpwnam_r", "_nss_oidc_getpwuid_r",     "_nss_oidc_setpwent",
    "_nss_oidc_getpwent_r", "_nss_oidc_endpwent",       "_nss_oidc_getgrnam_r",
    "_nss_oidc_getgrgid_r", "_nss_oidc_setgrent",       "_nss_oidc_getgrent_r",
    "_nss_oidc_endgrent",   "_nss_oidc_initgroups_dyn",
};
static const char *const internals[] = {
    "oidc_cache_read_pwnam",
    "oidc_cache_read_set_path",
    "oidc_cache_pw_decode",
    "oidc_idhash_uid",
    "oidc_name_valid",
    "cdb_find",
    "cdb_init",
};

int main(int argc, char **argv)
{
    const char *top = getenv("top_builddir");
    char path[4096];
    void *h;
    size_t i;
    int fail = 0;

    if (argc > 1)
        snprintf(path, sizeof(path), "%s", argv[1]);
    else
        snprintf(path, sizeof(path), "%s/nss/.libs/libnss_oidc.so.2", top != NULL ? top : ".");
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        printf("FAIL - dlopen %s: %s\n", path, dlerror());
        return 1;
    }
    printf("ok   - dlopen(RTLD_NOW) %s\n", path);
    for (i = 0; i < sizeof(entry_points) / sizeof(entry_points[0]); i++) {
        int ok = dlsym(h, entry_points[i]) != NULL;

        printf("%s - exports %s\n", ok ? "ok  " : "FAIL", entry_points[i]);
        fail |= !ok;
    }
    for (i = 0; i < sizeof(internals) / sizeof(internals[0]); i++) {
        int ok = dlsym(h, internals[i]) == NULL;

        printf("%s - does not export %s\n", ok ? "ok  " : "FAIL", internals[i]);
        fail |= !ok;
    }
    if (dlclose(h) != 0) {
        printf("FAIL - dlclose: %s\n", dlerror());
        fail = 1;
    }
    return fail;
}
