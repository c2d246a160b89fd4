/* oidcctl check-config: parse everything, talk to every provider, and say how to fix each
 * problem. Most failed OIDC set-ups are typos; the hints name the likely one. */
#include "config.h"
#include "oidcctl.h"

#include <ftw.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hostname.h"

#include "provider.h"

#define CLOCK_WARN 5

/* One finding: counted, then printed or handed to the caller's emit (oidcctl doctor). */
static void line(struct ctl_report *rep, const char *level, const char *what, const char *msg,
                 const char *fix)
{
    if (strcmp(level, "PROBLEM") == 0)
        rep->problems++;
    else if (strcmp(level, "warning") == 0)
        rep->warnings++;
    if (rep->emit != NULL) {
        rep->emit(rep->ctx, level, what, msg, fix);
        return;
    }
    printf("  %-8s %s: %s\n", level, what, msg);
    if (fix != NULL)
        printf("           fix: %s\n", fix);
}

static const char *network_fix(const char *msg)
{
    if (strstr(msg, "certificate") != NULL || strstr(msg, "SSL") != NULL ||
        strstr(msg, "TLS") != NULL)
        return "the IdP's TLS certificate is not trusted: set ca_file = /path/to/ca.pem for a "
               "private CA, and check that the host name in issuer matches the certificate";
    if (strstr(msg, "resolve") != NULL)
        return "the host name in issuer does not resolve: check it for typos";
    if (strstr(msg, "timed out") != NULL || strstr(msg, "Timeout") != NULL)
        return "the IdP did not answer in time: check firewalls and proxies, or raise timeout";
    return "check the scheme, host and port in issuer, and that the IdP is running";
}

static const char *http_fix(const char *msg)
{
    if (strstr(msg, "404") != NULL)
        return "no discovery document at issuer + /.well-known/openid-configuration: check the "
               "issuer path (Keycloak issuers end in /realms/NAME)";
    return NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* host_audience: the audience this host expects, and where its names came from. */
static void check_host_audience(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                                struct ctl_report *rep)
{
    struct oidc_host_audience ha;
    struct oidc_err err = {0};
    char msg[1400], origin[640];

    if (!p->host_audience) {
        if (p->host_audience_template != NULL)
            line(rep, "warning", "host audience",
                 "host_audience_template is set, but host_audience = no: tokens are not bound to "
                 "this host",
                 "set host_audience = yes, or remove host_audience_template");
        return;
    }
    if (oidc_host_audience_get(cfg->host_name, p, &ha, &err) != OIDC_OK) {
        line(rep, "PROBLEM", "host audience", oidc_err_msg(&err),
             "set host_name = this host's fully qualified name (compare with hostname -f), or "
             "list the name in /etc/hosts: every token login through this provider is refused "
             "until then");
        return;
    }
    snprintf(msg, sizeof(msg), "presented tokens must carry aud '%s' as well (%s)", ha.value,
             oidc_host_audience_describe(&ha, origin, sizeof(origin)));
    line(rep, "ok", "host audience", msg, NULL);
}

void ctl_check_provider(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p, int offline,
                        struct ctl_report *rep)
{
    struct oidc_provider *prov = NULL;
    struct oidc_provider_stats st;
    const struct oidc_jwks *jwks = NULL;
    struct oidc_err err = {0};
    char tmpl[] = "/tmp/oidcctl-check.XXXXXX", msg[512], *secret = NULL, *state;
    int64_t now = oidc_now(), skew;
    size_t i;
    int in_aud = p->audiences.n == 0;

    for (i = 0; i < p->audiences.n; i++)
        if (strcmp(p->audiences.v[i], p->client_id) == 0)
            in_aud = 1;
    if (!in_aud) {
        snprintf(msg, sizeof(msg),
                 "audience does not include client_id '%s': ID tokens from the device flow carry "
                 "aud = client_id and would be refused",
                 p->client_id);
        line(rep, "warning", "audience", msg,
             "add the client_id to audience (or leave audience unset for people logins)");
    }
    if (p->client_secret_file != NULL) {
        if (oidc_cfg_read_secret(p, &secret, &err) != OIDC_OK)
            line(rep, "PROBLEM", "client secret", oidc_err_msg(&err),
                 "store the secret alone in a root-owned file with mode 0600");
        else
            line(rep, "ok", "client secret", "readable, root-only", NULL);
        oidc_free_secret(&secret);
    }
    check_host_audience(cfg, p, rep);
    if (offline)
        return;
    /* A private, empty cache: check-config always fetches fresh and leaves the real cache alone. */
    if ((state = mkdtemp(tmpl)) == NULL) {
        line(rep, "PROBLEM", "internal", "cannot create a temporary directory", NULL);
        return;
    }
    memset(&err, 0, sizeof(err));
    if (oidc_provider_new(p, state, &prov, &err) != OIDC_OK) {
        line(rep, "PROBLEM", "provider", oidc_err_msg(&err), NULL);
        goto out;
    }
    switch (oidc_provider_discover(prov, now, &err)) {
    case OIDC_OK:
        line(rep, "ok", "discovery", "reachable, issuer matches exactly", NULL);
        break;
    case OIDC_ERR_NETWORK:
    case OIDC_ERR_TOOBIG:
        line(rep, "PROBLEM", "discovery", oidc_err_msg(&err), network_fix(err.msg));
        goto out;
    case OIDC_ERR_CONFIG:
        line(rep, "PROBLEM", "discovery", oidc_err_msg(&err),
             "copy the issuer from the IdP's discovery document exactly, including or omitting "
             "the trailing slash as it does");
        goto out;
    default:
        line(rep, "PROBLEM", "discovery", oidc_err_msg(&err), http_fix(err.msg));
        goto out;
    }
    oidc_provider_stats(prov, &st);
    if (st.server_date > 0) {
        skew = st.local_at_fetch - st.server_date;
        snprintf(msg, sizeof(msg), "this host's clock is %lld s %s the IdP's",
                 (long long)llabs(skew), skew >= 0 ? "ahead of" : "behind");
        if (llabs(skew) > p->leeway)
            line(rep, "PROBLEM", "clock", msg,
                 "synchronise the clock (systemd-timesyncd or chrony): tokens will look expired "
                 "or not yet valid");
        else if (llabs(skew) > CLOCK_WARN)
            line(rep, "warning", "clock", msg, "synchronise the clock (systemd-timesyncd, chrony)");
        else
            line(rep, "ok", "clock", msg, NULL);
    }
    if (p->flow == OIDC_FLOW_TOKEN)
        line(rep, "ok", "device flow", "not used (flow = token)", NULL);
    else if (oidc_provider_endpoint(prov, "device_authorization_endpoint") == NULL)
        line(rep, "warning", "device flow",
             "the IdP publishes no device_authorization_endpoint: people cannot sign in with a "
             "code (token logins still work)",
             "enable the device authorization grant for this client at the IdP");
    else
        line(rep, "ok", "device flow",
             oidc_provider_endpoint(prov, "device_authorization_endpoint"), NULL);
    memset(&err, 0, sizeof(err));
    if (oidc_provider_jwks(prov, now, 0, &jwks, &err) != OIDC_OK) {
        line(rep, "PROBLEM", "jwks", oidc_err_msg(&err),
             err.code == OIDC_ERR_NETWORK ? network_fix(err.msg) : NULL);
        goto out;
    }
    snprintf(msg, sizeof(msg), "%zu usable signing key%s, %zu skipped", jwks->n,
             jwks->n == 1 ? "" : "s", jwks->n_skipped);
    line(rep, "ok", "jwks", msg, NULL);
    for (i = 0; i < jwks->n; i++)
        if ((jwks->keys[i].algs & p->algs) != 0)
            break;
    if (i == jwks->n)
        line(rep, "PROBLEM", "algorithms", "no published key fits the allowed algorithms",
             "add the IdP's signing algorithm to algorithms =");
out:
    oidc_provider_free(prov);
    nftw(state, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int cmd_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        CTL_OPT_CONFIG,
        CTL_OPT_PROVIDER,
        {"offline", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ctl_common c = {0};
    struct oidc_cfg *cfg = NULL;
    const struct oidc_provider_cfg *only = NULL;
    struct ctl_report rep = {0};
    int ch, offline = 0, rc;
    size_t i;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            offline = 1;
            break;
        case 'h':
            printf("Usage: oidcctl check-config [--config PATH] [--provider NAME] [--offline]\n");
            return CTL_OK;
        default:
            if (ctl_common_opt(&c, ch, optarg))
                break;
            return CTL_USAGE;
        }
    }
    if ((rc = ctl_load_config(c.config, &cfg)) != CTL_OK)
        return rc;
    printf("configuration %s: parsed, %zu provider%s\n",
           cfg->config_path != NULL ? cfg->config_path : "(none)", cfg->n_providers,
           cfg->n_providers == 1 ? "" : "s");
    if (c.provider != NULL && (only = ctl_pick_provider(cfg, c.provider)) == NULL) {
        oidc_cfg_free(cfg);
        return CTL_USAGE;
    }
    if (cfg->n_providers == 0) {
        printf("  warning  no [provider NAME] section: nobody can sign in\n");
        rep.warnings++;
    }
    for (i = 0; i < cfg->n_providers; i++)
        if (only == NULL || only == cfg->providers[i]) {
            printf("provider %s (%s)\n", cfg->providers[i]->name, cfg->providers[i]->issuer);
            ctl_check_provider(cfg, cfg->providers[i], offline, &rep);
        }
    printf("%d problem%s, %d warning%s\n", rep.problems, rep.problems == 1 ? "" : "s", rep.warnings,
           rep.warnings == 1 ? "" : "s");
    oidc_cfg_free(cfg);
    return rep.problems > 0 ? CTL_REFUSED : CTL_OK;
}
