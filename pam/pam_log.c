/* Logging: one wrapper over pam_vsyslog (facility authpriv), debug only with `debug`, and the
 * structured audit line. Nothing logged here may carry a token, a device code or a secret:
 * callers pass error records (which never hold them) and identity fields only. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>

#include "cache.h"
#include "pam_int.h"

static const char *const op_names[] = {"auth", "setcred", "account", "open_session",
                                       "close_session"};

void oidc_pam_log(const struct oidc_pam_ctx *c, int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pam_vsyslog(c->pamh, prio | LOG_AUTHPRIV, fmt, ap);
    va_end(ap);
}

void oidc_pam_debug(const struct oidc_pam_ctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->cfg == NULL || !c->cfg->debug)
        return;
    va_start(ap, fmt);
    pam_vsyslog(c->pamh, LOG_DEBUG | LOG_AUTHPRIV, fmt, ap);
    va_end(ap);
}

void oidc_pam_reason(struct oidc_pam_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
}

/* A value for the audit line: printable ASCII only, without '"' and '\', at most cap - 1 bytes;
 * "-" for NULL or empty. Values come from the network and from users, so they must not be able
 * to forge fields or lines. */
static const char *quote(char *dst, size_t cap, const char *s)
{
    size_t i;

    if (s == NULL || s[0] == '\0')
        s = "-";
    oidc_printable(dst, cap, s);
    for (i = 0; dst[i] != '\0'; i++)
        if (dst[i] == '"' || dst[i] == '\\')
            dst[i] = '?';
    return dst;
}

void oidc_pam_audit(struct oidc_pam_ctx *c, const char *result)
{
    char service[64], user[64], rhost[128], prov[64], iss[256], sub[256], jti[128], groups[256],
        flow[16], reason[256], from[sizeof(c->groups_from)];

    /* MWG: failed logins at LOG_NOTICE; successes are informational */
    oidc_pam_log(c, strcmp(result, "success") == 0 ? LOG_INFO : LOG_NOTICE,
                 "audit: phase=%s result=%s service=\"%s\" user=\"%s\" rhost=\"%s\" "
                 "provider=\"%s\" issuer=\"%s\" subject=\"%s\" jti=\"%s\" groups=\"%s\" "
                 "flow=\"%s\" reason=\"%s\" groups_from=\"%s\"",
                 op_names[c->op], result, quote(service, sizeof(service), c->service),
                 quote(user, sizeof(user),
                       c->user != NULL        ? c->user
                       : c->mapped[0] != '\0' ? c->mapped
                                              : NULL),
                 quote(rhost, sizeof(rhost), c->rhost), quote(prov, sizeof(prov), c->provider),
                 quote(iss, sizeof(iss), c->issuer), quote(sub, sizeof(sub), c->subject),
                 quote(jti, sizeof(jti), c->jti), quote(groups, sizeof(groups), c->groups),
                 quote(flow, sizeof(flow), c->flow), quote(reason, sizeof(reason), c->reason),
                 quote(from, sizeof(from), c->groups_from));
}

void oidc_pam_audit_groups(struct oidc_pam_ctx *c, const struct oidc_groups *g)
{
    if (g == NULL)
        snprintf(c->groups_from, sizeof(c->groups_from), "cache");
    else if (g->from == OIDC_GROUPS_FROM_TOKEN)
        snprintf(c->groups_from, sizeof(c->groups_from), "token");
    else if (g->from == OIDC_GROUPS_FROM_USERINFO)
        snprintf(c->groups_from, sizeof(c->groups_from), "userinfo");
    else
        snprintf(c->groups_from, sizeof(c->groups_from), "none: %s", g->why);
}

void oidc_pam_audit_identity(struct oidc_pam_ctx *c, const struct oidc_identity *id)
{
    size_t i, off = 0;
    int n;

    if (id == NULL)
        return;
    c->issuer = id->issuer;
    c->subject = id->subject;
    snprintf(c->mapped, sizeof(c->mapped), "%s", id->name);
    c->groups[0] = '\0';
    for (i = 0; i < id->n_groups; i++) {
        n = snprintf(c->groups + off, sizeof(c->groups) - off, "%s%s", i > 0 ? "," : "",
                     id->groups[i].name);
        if (n < 0 || (size_t)n >= sizeof(c->groups) - off) {
            /* truncated: mark it rather than cut a name silently */
            if (sizeof(c->groups) > 4)
                memcpy(c->groups + sizeof(c->groups) - 4, "...", 4);
            break;
        }
        off += (size_t)n;
    }
}

void oidc_pam_audit_drop(const struct oidc_pam_ctx *c, const struct oidc_cache_drop *d)
{
    char service[64], user[64], group[64], prov[64], reason[256];

    oidc_pam_log(c, LOG_NOTICE,
                 "audit: phase=%s result=group-dropped service=\"%s\" user=\"%s\" "
                 "provider=\"%s\" group=\"%s\" gid=%" PRIu32 " reason=\"%s\"",
                 op_names[c->op], quote(service, sizeof(service), c->service),
                 quote(user, sizeof(user), d->user), quote(prov, sizeof(prov), c->provider),
                 quote(group, sizeof(group), d->group), d->gid,
                 quote(reason, sizeof(reason), d->reason));
}
