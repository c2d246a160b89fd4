/* oidcctl: shared helpers of the subcommands. */
#ifndef OIDCCTL_H
#define OIDCCTL_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "conf.h"
#include "idmap.h"
#include "util.h"

/* Exit codes: 0 success, 1 refused/failed check, 2 usage or configuration error. */
enum { CTL_OK = 0, CTL_REFUSED = 1, CTL_USAGE = 2 };

#define CTL_TOKEN_FILE_MAX (64 * 1024)

/* Options every subcommand understands. */
struct ctl_common {
    const char *config;   /* --config PATH */
    const char *provider; /* --provider NAME */
    int json;             /* --json */
};
/* tools/ctl_common.c: their getopt_long entries (for a table in a file that includes getopt.h)
 * and their handling: ctl_common_opt takes a getopt_long result of one of them ('c', 'p', 'j')
 * into *c and returns 1, or returns 0 for any other. A subcommand lists only the entries it
 * accepts, so getopt_long never returns the others to it. */
/* clang-format off */
#define CTL_OPT_CONFIG   {"config", required_argument, NULL, 'c'}
#define CTL_OPT_PROVIDER {"provider", required_argument, NULL, 'p'}
#define CTL_OPT_JSON     {"json", no_argument, NULL, 'j'}
/* clang-format on */
int ctl_common_opt(struct ctl_common *c, int ch, const char *arg);

int cmd_verify_token(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
/* tools/doctor.c: check the whole host (sshd, PAM, NSS, files, IdPs, clock, cache, uid range) */
int cmd_doctor(int argc, char **argv);

/* tools/check.c: the findings of one provider's checks. level is "ok", "warning" or "PROBLEM";
 * fix may be NULL. Without emit they are printed as check-config prints them. */
struct ctl_report {
    int problems, warnings;
    void (*emit)(void *ctx, const char *level, const char *what, const char *msg, const char *fix);
    void *ctx;
};
/* check-config's checks of one provider: audience, client secret file and, unless offline,
 * discovery (issuer spelled exactly), the clock against the IdP's Date header, the device
 * endpoint, the JWKS and the algorithms. Leaves the real discovery/JWKS cache alone. */
void ctl_check_provider(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p, int offline,
                        struct ctl_report *rep);
/* tools/cache_cmd.c: the identity cache */
int cmd_users(int argc, char **argv);
int cmd_groups(int argc, char **argv);
int cmd_user(int argc, char **argv); /* user add | user del */
int cmd_prune(int argc, char **argv);
int cmd_cache(int argc, char **argv); /* cache verify | cache sync */
/* tools/askpass.c: SSH_ASKPASS helper for token logins */
int cmd_askpass(int argc, char **argv);
/* tools/run.c: run a job under a token's identity through PAM */
int cmd_run(int argc, char **argv);
/* tools/idmap_cmd.c: UID/GID collisions of a list of names, and overrides that resolve them */
int cmd_idmap(int argc, char **argv);

void ctl_err(const char *fmt, ...) OIDC_FORMAT(1, 2);
/* Loads the configuration (config=PATH when path is set) and prints any error. */
int ctl_load_config(const char *path, struct oidc_cfg **out);
/* Picks the provider by name, or the default/only one; prints an error when none fits. */
const struct oidc_provider_cfg *ctl_pick_provider(const struct oidc_cfg *cfg, const char *name);
/* Parses a non-negative integer option value. */
int ctl_parse_int64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);
/* Reads a token from a file or "-" (stdin), trims surrounding whitespace. Release with
 * oidc_free_secret(). */
int ctl_read_token(const char *path, char **out);
/* Human or JSON output of a verified identity. */
cJSON *ctl_identity_json(const struct oidc_identity *id);
void ctl_print_identity(FILE *f, const struct oidc_identity *id);

#endif
