/* Configuration: /etc/nss-pam-oidc.conf, its .conf.d drop-ins and PAM module arguments, all through
 * one table-driven setter (oidc_cfg_set). */
#ifndef OIDC_CONF_H
#define OIDC_CONF_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define OIDC_CFG_MAX_FILE_SIZE (64 * 1024)
#define OIDC_CFG_MAX_PROVIDERS 32
#define OIDC_UID_MIN_DEFAULT   0x70000000u
#define OIDC_UID_MAX_DEFAULT   0x7FFFFFFEu

enum oidc_client_auth { OIDC_CLIENT_AUTH_BASIC = 0, OIDC_CLIENT_AUTH_POST };
enum oidc_uid_key { OIDC_UID_KEY_NAME = 0, OIDC_UID_KEY_SUBJECT, OIDC_UID_KEY_CLAIM };
/* How pam_oidc.so obtains a credential. OIDC_FLOW_UNSET only in struct oidc_cfg (no flow= arg). */
enum oidc_flow { OIDC_FLOW_UNSET = -1, OIDC_FLOW_DEVICE = 0, OIDC_FLOW_TOKEN, OIDC_FLOW_AUTO };
/* The device prompt's QR code (qr = no | yes | ascii | compact): yes means ascii. */
enum oidc_qr { OIDC_QR_NO = 0, OIDC_QR_ASCII = 1, OIDC_QR_COMPACT = 2 };
/* replay_store_unavailable: what a token login does when the Redis replay store cannot be
 * reached: refuse it, or fall back to the host's local store. */
enum oidc_replay_unavail { OIDC_REPLAY_UNAVAIL_REFUSE = 0, OIDC_REPLAY_UNAVAIL_LOCAL };
/* groups_source: where a login's groups come from (docs/groups.md). */
enum oidc_groups_source { OIDC_GROUPS_SOURCE_TOKEN = 0, OIDC_GROUPS_SOURCE_USERINFO };
/* groups_overage: what a token with the groups overage marker (Entra ID's _claim_names.groups,
 * hasgroups) gets: a refusal, or (device logins only) the groups from userinfo. */
enum oidc_groups_overage { OIDC_GROUPS_OVERAGE_REFUSE = 0, OIDC_GROUPS_OVERAGE_USERINFO };

#define OIDC_CACHE_TTL_DEFAULT      (30 * 86400) /* cache_ttl: entries expire 30 days after login */
#define OIDC_LOGIN_TIMEOUT_DEFAULT  110          /* below sshd's LoginGraceTime (120 s) */
#define OIDC_JWKS_MAX_STALE_DEFAULT 86400        /* jwks_max_stale: 1 day past a copy's expiry */

/* A NULL-terminated list of strings with its count. */
struct oidc_strlist {
    char **v;
    size_t n;
};

/* One line of a [provider NAME idmap] section: the login name NAME gets this uid (and its private
 * group gid = uid) instead of the hashed one. where is "FILE:LINE", for messages. */
struct oidc_idmap_override {
    char *name;
    uint32_t uid;
    char *where;
};

#define OIDC_IDMAP_OVERRIDES_MAX 65536 /* override lines per provider */

struct oidc_provider_cfg {
    char *name;                        /* from [provider NAME] */
    char *issuer;                      /* required; https (http only with insecure_http_loopback) */
    char *client_id;                   /* required */
    char *client_secret_file;          /* optional; root-only file holding the secret */
    enum oidc_client_auth client_auth; /* client_auth = basic | post */
    struct oidc_strlist audiences;     /* audience = ...; empty means { client_id } */
    int host_audience;                 /* presented tokens must also carry this host's audience */
    char *host_audience_template;      /* "host:{fqdn}" when NULL; see hostname.h */
    char *scope;                       /* default "openid profile email" */
    unsigned algs;                     /* algorithms = ...; default OIDC_ALGS_DEFAULT */
    int leeway;                        /* seconds, 0..300, default 60 */
    int64_t max_token_age;             /* seconds; 0 = no limit */
    char *acr;                         /* required acr value, or NULL */
    char *ca_file;                     /* PEM bundle to trust instead of the system store */
    int insecure_http_loopback;        /* allow http:// for a loopback issuer (tests only) */
    int connect_timeout;               /* seconds, default 5 */
    int timeout;                       /* seconds, default 15 (whole request) */
    int jwks_cooldown;                 /* seconds between unknown-kid refetches, default 60 */
    int jwks_max_stale;                /* seconds a stale JWKS/discovery serves in an outage */
    int userinfo;                      /* fetch userinfo when the ID token lacks the groups claim */
    /* identity mapping */
    struct oidc_strlist username_claims; /* username_claim = preferred_username, email */
    char *username_template;             /* "ci-{repository_owner}"; overrides username_claims */
    int require_email_verified;          /* email claim only with email_verified, default yes */
    int strip_domain;                    /* strip a trailing "@domain" */
    int lowercase;                       /* lower-case the name */
    char *groups_claim;                  /* path, default "groups"; "" disables groups */
    int groups_source;                   /* enum oidc_groups_source, default token */
    int groups_overage;                  /* enum oidc_groups_overage, default refuse */
    char *group_prefix;                  /* prepended to every group name */
    struct oidc_strlist group_allow;     /* glob patterns; empty = all groups allowed */
    enum oidc_uid_key uid_key;           /* uid_key = name | subject | claim:NAME */
    char *uid_claim;                     /* NAME of claim:NAME */
    uint32_t uid_min, uid_max;           /* hash range, default 0x70000000..0x7FFFFFFE */
    char *home;                          /* home template, default "/home/{name}" */
    char *shell;                         /* default "/bin/bash" */
    /* NSS: first SSH login of a never-seen user (needs uid_key = name) */
    int preauth;                       /* answer sshd with a provisional entry */
    struct oidc_strlist preauth_allow; /* glob patterns of names preauth may answer */
    /* PAM */
    enum oidc_flow flow;                /* flow = device | token | auto, default device */
    int login_timeout;                  /* seconds for a whole device login, default 110 */
    int qr;                             /* enum oidc_qr, the device prompt's QR code; default no */
    int ephemeral;                      /* remove the cache entry when the session closes */
    int replay_protection;              /* refuse a jti seen before (token flow), default yes */
    char *replay_store;                 /* NULL (= local) or redis://host[:port][/db] */
    char *replay_store_password_file;   /* root-only file with the Redis AUTH password */
    int replay_store_timeout;           /* seconds for connect + commands, default 2, 1..10 */
    int replay_store_unavailable;       /* enum oidc_replay_unavail, default refuse */
    char *session_max;                  /* NULL/"none", "token" or a duration (docs/session.md) */
    int session_warn;                   /* seconds of warning before the end, default 300 */
    struct oidc_strlist allow_users;    /* glob patterns; empty = everyone */
    struct oidc_strlist allow_groups;   /* mapped group names; empty = no group needed */
    struct oidc_strlist deny_users;     /* glob patterns */
    struct oidc_strlist deny_groups;    /* mapped group names */
    struct oidc_strlist require_groups; /* every one of these groups is required */
    struct oidc_strlist require_claims; /* NAME=GLOB items, all required */
    struct oidc_strlist export_claims;  /* claims exported as OIDC_CLAIM_<NAME> in the session */

    /* [provider NAME idmap] sections (any file, any number): name = uid lines */
    struct oidc_idmap_override *overrides;
    size_t n_overrides;
    int defined; /* a [provider NAME] section was read (an idmap section alone is not one) */
};

struct oidc_cfg {
    char *config_path; /* file read (or NULL when none) */
    char *state_dir;   /* default STATEDIR; discovery/JWKS cache lives in state_dir/idp */
    int debug;
    char *default_provider; /* global default_provider, or the PAM argument provider= */
    char *host_name;        /* replaces gethostname() for {hostname} and {fqdn} (hostname.h) */
    int64_t cache_ttl;      /* seconds an identity cache entry lives after its last login */
    /* PAM module arguments only; they add to (require_*) or override the provider's values */
    enum oidc_flow flow;                /* flow=; OIDC_FLOW_UNSET when absent */
    int login_timeout;                  /* timeout=; 0 when absent */
    int qr;                             /* qr= (enum oidc_qr); -1 when absent */
    int use_first_pass, try_first_pass; /* bare words */
    struct oidc_strlist require_groups; /* require_group= */
    struct oidc_strlist require_claims; /* require_claim= NAME=GLOB items */
    struct oidc_provider_cfg **providers;
    size_t n_providers;
};

/* Where a key may appear. */
enum oidc_cfg_scope { OIDC_SCOPE_GLOBAL = 1, OIDC_SCOPE_PROVIDER = 2, OIDC_SCOPE_ARG = 4 };

struct oidc_cfg *oidc_cfg_new(void); /* defaults, no providers; NULL on ENOMEM */
void oidc_cfg_free(struct oidc_cfg *cfg);

/* Loads the configuration for a module or tool: argv is scanned for config=PATH first; the file
 * (default SYSCONFDIR/nss-pam-oidc.conf) and its PATH.d/ *.conf drop-ins (sorted) are read; then
 * every argv item is applied with OIDC_SCOPE_ARG (argv wins). A missing default file is fine, a
 * missing explicit file is an error. The file must be a regular root-owned file not writable by
 * group or others, opened with O_NOFOLLOW, at most OIDC_CFG_MAX_FILE_SIZE. Finally
 * oidc_cfg_check() runs. */
int oidc_cfg_load(int argc, const char **argv, struct oidc_cfg **out, struct oidc_err *err);
/* Reads one INI file into cfg (explicit: missing is an error). */
int oidc_cfg_load_file(struct oidc_cfg *cfg, const char *path, int explicit_path,
                       struct oidc_err *err);
/* Parses INI text (used by the file loader and by tests); where names it in errors. */
int oidc_cfg_parse_text(struct oidc_cfg *cfg, const char *text, size_t len, const char *where,
                        struct oidc_err *err);
/* The one setter: applies key=value in a scope (prov is the section's provider for
 * OIDC_SCOPE_PROVIDER, else NULL). Unknown keys and bad values are OIDC_ERR_CONFIG with a
 * message "WHERE: KEY: problem". */
int oidc_cfg_set(struct oidc_cfg *cfg, struct oidc_provider_cfg *prov, enum oidc_cfg_scope scope,
                 const char *key, const char *value, const char *where, struct oidc_err *err);
/* Cross-field checks: every provider has issuer and client_id, issuer scheme, uid range sane,
 * uid_key=claim has a claim, default_provider exists. */
int oidc_cfg_check(const struct oidc_cfg *cfg, struct oidc_err *err);
/* The named provider, or (name NULL) the default provider, or the only one. NULL if none fits. */
const struct oidc_provider_cfg *oidc_cfg_provider(const struct oidc_cfg *cfg, const char *name);
/* Reads the client secret from client_secret_file (root-owned, mode 0600/0400, trailing newline
 * stripped). *out must be released with oidc_free_secret(). */
int oidc_cfg_read_secret(const struct oidc_provider_cfg *p, char **out, struct oidc_err *err);
/* session_max of p: 0 none, 1 token (the token's exp), 2 a duration (*secs). */
enum oidc_session_max {
    OIDC_SESSION_MAX_NONE = 0,
    OIDC_SESSION_MAX_TOKEN,
    OIDC_SESSION_MAX_DURATION
};
enum oidc_session_max oidc_cfg_session_max(const struct oidc_provider_cfg *p, int64_t *secs);

/* Reads the Redis AUTH password from replay_store_password_file, with the same rules as the
 * client secret (root-owned, no access for group or others, one line). *out must be released
 * with oidc_free_secret(). OIDC_ERR_NOTFOUND when no file is configured. */
int oidc_cfg_read_replay_password(const struct oidc_provider_cfg *p, char **out,
                                  struct oidc_err *err);

#endif
