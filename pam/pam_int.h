/* pam_oidc.so internals: the core behind the thin pam_sm_* entry points of pam_oidc.c. Every
 * function here returns a PAM status code: pam/ is where oidc_err_t becomes a PAM code
 * (oidc_pam_rc). Nothing here is exported from the module (pam_oidc.map).
 *
 * The calls run one way, never back up:
 *   entry points  pam_oidc.c (pam_sm_*)
 *     -> dispatcher  pam_run.c (oidc_pam_run)
 *     -> phases      pam_auth.c, pam_acct.c, pam_session.c (pam_auth.c uses pam_device.c for the
 *                    device flow and pam_session.c's oidc_pam_export)
 *     -> helpers     pam_rc.c (status codes), pam_conv.c, pam_log.c (logs, audit), pam_state.c
 *                    (login record, cache), pam_qr.c
 * A helper calls no phase and not the dispatcher (pam_conv.c uses pam_log.c). */
#ifndef OIDC_PAM_INT_H
#define OIDC_PAM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <security/pam_modules.h>
#include <cjson/cJSON.h>

#include "conf.h"
#include "groups.h"
#include "idmap.h"
#include "util.h"

enum oidc_pam_op {
    OIDC_PAM_AUTH = 0,
    OIDC_PAM_SETCRED,
    OIDC_PAM_ACCT,
    OIDC_PAM_OPEN_SESSION,
    OIDC_PAM_CLOSE_SESSION,
};

/* The pam_set_data key of the login record. */
#define OIDC_PAM_DATA "pam_oidc:login"

/* What a successful authentication leaves for the later phases of the same PAM handle
 * (pam_set_data; the cleanup wipes it). It holds no token, only what was verified from it. */
struct oidc_pam_login {
    struct oidc_identity *id;
    cJSON *claims;             /* the verified claims of the token */
    struct oidc_groups groups; /* where the groups came from (raw points into claims or its doc) */
    char *provider;            /* provider name */
    char *jti;                 /* NULL when the token had none */
    int64_t exp;               /* the token's exp */
    int token_flow;            /* 1: a pre-issued token, 0: the device flow */
    int ephemeral;             /* the provider's ephemeral setting at login */
};

/* Per-call context and the audit record that is filled while the decision is made. */
struct oidc_pam_ctx {
    pam_handle_t *pamh;
    int flags;
    enum oidc_pam_op op;
    struct oidc_cfg *cfg;               /* NULL when the configuration could not be loaded */
    const char *service, *user, *rhost; /* PAM items (may be NULL) */
    const char *provider;               /* audit fields, NULL = "-" */
    const char *issuer, *subject, *jti;
    const char *flow;
    char groups[256];
    char groups_from[OIDC_GROUPS_WHY_MAX + 8]; /* "token", "userinfo", "none: why", "cache" */
    char reason[256];
    char mapped[OIDC_NAME_MAX + 1]; /* the token's mapped name, audited when PAM_USER is unset */
};

/* pam_run.c: one call of a pam_sm_* function. */
int oidc_pam_run(enum oidc_pam_op op, pam_handle_t *pamh, int flags, int argc, const char **argv);

/* pam_rc.c: the status codes. The PAM code for an internal status (op decides between AUTH_ERR and
 * PERM_DENIED). */
int oidc_pam_rc(enum oidc_pam_op op, int oidc_code);
/* The symbolic name of a PAM code for logs ("PAM_AUTH_ERR"). */
const char *oidc_pam_rc_name(int pam_code);

/* pam_auth.c, pam_acct.c, pam_session.c: the phases. */
int oidc_pam_authenticate(struct oidc_pam_ctx *c);
int oidc_pam_acct(struct oidc_pam_ctx *c);
int oidc_pam_setcred(struct oidc_pam_ctx *c);
int oidc_pam_open_session(struct oidc_pam_ctx *c);
int oidc_pam_close_session(struct oidc_pam_ctx *c);

/* pam_device.c: the device flow with the URL and code inside one prompt. On success *claims
 * holds the verified ID token claims, *groups the login's groups (oidc_groups_resolve: from the
 * ID token or from userinfo; raw may point into *claims) and *exp the ID token's exp. */
struct oidc_provider;
int oidc_pam_device_login(struct oidc_pam_ctx *c, struct oidc_provider *prov, int64_t deadline,
                          cJSON **claims, struct oidc_groups *groups, int64_t *exp,
                          struct oidc_err *err);
/* pam_qr.c: a QR code of text drawn for a terminal of OIDC_QR_COLUMNS columns in style
 * OIDC_QR_ASCII (ASCII only, 2 columns per module) or OIDC_QR_COMPACT (UTF-8 half blocks, two
 * module rows per line, at most max_lines lines), each line ending in '\n'; to be freed. NULL when
 * not built with libqrencode, when the symbol does not fit, or out of memory. */
#define OIDC_QR_COLUMNS 80
char *oidc_pam_qr(const char *text, int style, int max_lines);

/* pam_conv.c: the conversation. */
/* One message; *resp (when not NULL) receives the answer, to be freed with oidc_free_secret. */
int oidc_pam_converse(struct oidc_pam_ctx *c, int style, const char *msg, char **resp);
/* PAM_TEXT_INFO / PAM_ERROR_MSG, suppressed with PAM_SILENT. */
void oidc_pam_info(struct oidc_pam_ctx *c, const char *fmt, ...) OIDC_FORMAT(2, 3);
void oidc_pam_error(struct oidc_pam_ctx *c, const char *fmt, ...) OIDC_FORMAT(2, 3);
/* Reads a token by the chunked prompt protocol of tokprompt.h, starting with first_prompt.
 * *tok is NUL-terminated (trailing whitespace removed) and must be released with
 * oidc_free_secret; an empty first answer gives *len == 0. */
int oidc_pam_read_token(struct oidc_pam_ctx *c, const char *first_prompt, char **tok, size_t *len);

/* pam_log.c: all logging goes through these (pam_syslog, facility authpriv). */
void oidc_pam_log(const struct oidc_pam_ctx *c, int prio, const char *fmt, ...) OIDC_FORMAT(3, 4);
/* LOG_DEBUG, only when debug is set. */
void oidc_pam_debug(const struct oidc_pam_ctx *c, const char *fmt, ...) OIDC_FORMAT(2, 3);
/* Copies a message into c->reason. */
void oidc_pam_reason(struct oidc_pam_ctx *c, const char *fmt, ...) OIDC_FORMAT(2, 3);
/* The one structured audit line of a decision: result is "success", "failure", "denied", ... */
void oidc_pam_audit(struct oidc_pam_ctx *c, const char *result);
/* Sets the audit line's groups_from field from g (NULL: the cached identity's groups). */
void oidc_pam_audit_groups(struct oidc_pam_ctx *c, const struct oidc_groups *g);
/* Fills c's audit fields from a login record or a verified identity. */
void oidc_pam_audit_identity(struct oidc_pam_ctx *c, const struct oidc_identity *id);
/* One audit line per membership the cache writer dropped (docs/cache.md): result=group-dropped,
 * the user who lost it, the group, its gid and the writer's reason. */
struct oidc_cache_drop;
void oidc_pam_audit_drop(const struct oidc_pam_ctx *c, const struct oidc_cache_drop *d);

/* pam_state.c: the login record and the cache. */
void oidc_pam_login_free(struct oidc_pam_login *l);
/* The record this module left on the handle, or NULL. */
const struct oidc_pam_login *oidc_pam_login_get(struct oidc_pam_ctx *c);
/* Hands l to the handle (ownership moves, also on failure). */
int oidc_pam_login_set(struct oidc_pam_ctx *c, struct oidc_pam_login *l);
/* Whether name is an account of the local passwd file (which this module never serves); an
 * unreadable file counts as yes, which keeps the module out. */
int oidc_pam_local_user(const char *name);
/* Whether name matches the preauth_allow of a provider with preauth = yes: NSS answers sshd for
 * such a name with a provisional entry, so sshd may reach the account phase for it without this
 * module having authenticated anyone (an SSH key left in a former user's home). */
int oidc_pam_preauth_name(const struct oidc_cfg *cfg, const char *name);
/* Looks a user up in the identity cache: OIDC_OK with a copy in *out (clear it with
 * oidc_cache_user_clear), OIDC_ERR_NOTFOUND when the user or the cache file is absent. */
struct oidc_cache_user;
int oidc_pam_cache_lookup(const struct oidc_cfg *cfg, const char *name, struct oidc_cache_user *out,
                          struct oidc_err *err);

/* pam_session.c: exports the identity to the PAM environment (OIDC_*). */
int oidc_pam_export(struct oidc_pam_ctx *c, const struct oidc_pam_login *l);

/* pam_watch.c: session_max. Starts the watcher for a session that ends at exp (the token's) or
 * after the provider's duration; nothing when session_max is none or exp is unknown (0). */
int oidc_pam_watch_start(struct oidc_pam_ctx *c, const char *provider, int64_t exp);
/* Stops this handle's watcher, if any (close_session). */
void oidc_pam_watch_stop(struct oidc_pam_ctx *c);

#endif
