/* oidcctl verify-token: verify a JWT offline (JWKS file) or through a provider, then map it. */
#include "config.h"
#include "oidcctl.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "hostname.h"
#include "jwk.h"
#include "jwt.h"
#include "provider.h"

struct verify_args {
    struct ctl_common c;
    const char *issuer, *audience, *jwks_file, *nonce, *token_file;
    int64_t now, leeway;
    int have_now, have_leeway;
};

static int parse_args(int argc, char **argv, struct verify_args *a)
{
    static const struct option opts[] = {
        CTL_OPT_CONFIG,
        CTL_OPT_PROVIDER,
        {"issuer", required_argument, NULL, 'i'},
        {"audience", required_argument, NULL, 'a'},
        {"jwks", required_argument, NULL, 'k'},
        {"now", required_argument, NULL, 'n'},
        {"leeway", required_argument, NULL, 'l'},
        {"nonce", required_argument, NULL, 'N'},
        CTL_OPT_JSON,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            a->issuer = optarg;
            break;
        case 'a':
            a->audience = optarg;
            break;
        case 'k':
            a->jwks_file = optarg;
            break;
        case 'n':
            if (ctl_parse_int64("--now", optarg, 0, OIDC_TIME_MAX, &a->now) != CTL_OK)
                return CTL_USAGE;
            a->have_now = 1;
            break;
        case 'l':
            if (ctl_parse_int64("--leeway", optarg, 0, OIDC_LEEWAY_MAX, &a->leeway) != CTL_OK)
                return CTL_USAGE;
            a->have_leeway = 1;
            break;
        case 'N':
            a->nonce = optarg;
            break;
        case 'h':
            printf("Usage: oidcctl verify-token [--config PATH] [--provider NAME | --issuer URL "
                   "--audience AUD]\n"
                   "       [--jwks FILE] [--now UNIX_TIME] [--leeway SECONDS] [--nonce VALUE] "
                   "[--json] TOKEN_FILE|-\n");
            exit(CTL_OK);
        default:
            if (ctl_common_opt(&a->c, ch, optarg))
                break;
            return CTL_USAGE;
        }
    }
    if (optind != argc - 1) {
        ctl_err("verify-token needs exactly one TOKEN_FILE (or - for standard input)");
        return CTL_USAGE;
    }
    a->token_file = argv[optind];
    if ((a->issuer != NULL) != (a->audience != NULL)) {
        ctl_err("--issuer and --audience go together");
        return CTL_USAGE;
    }
    if (a->issuer != NULL && a->c.provider != NULL) {
        ctl_err("use either --provider or --issuer/--audience, not both");
        return CTL_USAGE;
    }
    return CTL_OK;
}

/* Builds a one-provider configuration for --issuer/--audience through the configuration parser,
 * so the values get the same checks as a file would. */
static int synth_config(const struct verify_args *a, struct oidc_cfg **out)
{
    struct oidc_cfg *cfg = oidc_cfg_new();
    struct oidc_err err = {0};
    int r;

    if (cfg == NULL) {
        ctl_err("out of memory");
        return CTL_USAGE;
    }
    if ((r = oidc_cfg_set(cfg, NULL, OIDC_SCOPE_ARG, "provider", "cli", "command line", &err)) !=
            OIDC_OK ||
        (r = oidc_cfg_parse_text(cfg, "[provider cli]\n", strlen("[provider cli]\n"),
                                 "command line", &err)) != OIDC_OK ||
        (r = oidc_cfg_set(cfg, cfg->providers[0], OIDC_SCOPE_PROVIDER, "issuer", a->issuer,
                          "--issuer", &err)) != OIDC_OK ||
        (r = oidc_cfg_set(cfg, cfg->providers[0], OIDC_SCOPE_PROVIDER, "client_id", a->audience,
                          "--audience", &err)) != OIDC_OK ||
        (r = oidc_cfg_check(cfg, &err)) != OIDC_OK) {
        ctl_err("%s", oidc_err_msg(&err));
        oidc_cfg_free(cfg);
        return CTL_USAGE;
    }
    *out = cfg;
    return CTL_OK;
}

static int load_jwks_file(const char *path, struct oidc_jwks **out)
{
    struct oidc_err err = {0};
    char *buf = NULL;
    size_t len = 0;
    int r;

    if ((r = oidc_read_file(path, 1024 * 1024, &buf, &len, &err)) == OIDC_OK)
        r = oidc_jwks_parse(buf, len, out, &err);
    free(buf);
    if (r != OIDC_OK) {
        ctl_err("%s: %s", path, oidc_err_msg(&err));
        return CTL_USAGE;
    }
    return CTL_OK;
}

static void report_refusal(const struct verify_args *a, const char *what, const char *msg)
{
    if (a->c.json) {
        cJSON *o = cJSON_CreateObject();
        char *s;
        cJSON_AddBoolToObject(o, "valid", 0);
        cJSON_AddStringToObject(o, "stage", what);
        cJSON_AddStringToObject(o, "error", msg);
        s = cJSON_PrintUnformatted(o);
        if (s != NULL)
            puts(s);
        free(s);
        cJSON_Delete(o);
    }
    fprintf(stderr, "oidcctl: %s refused: %s\n", what, msg);
}

int cmd_verify_token(int argc, char **argv)
{
    struct verify_args a = {0};
    struct oidc_cfg *cfg = NULL;
    const struct oidc_provider_cfg *pcfg;
    struct oidc_provider *prov = NULL;
    struct oidc_jwks *jwks = NULL;
    struct oidc_token *tok = NULL;
    struct oidc_identity *id = NULL;
    struct oidc_cache_opts o_cache = {0};
    struct oidc_cache_drops drops = {0};
    struct oidc_err err = {0};
    struct oidc_verify_opts vo;
    struct oidc_host_audience ha;
    const char *aud[1];
    char *token = NULL, *s, origin[640];
    int64_t now;
    int r, rc = CTL_USAGE;

    if ((rc = parse_args(argc, argv, &a)) != CTL_OK)
        return rc;
    rc = a.issuer != NULL ? synth_config(&a, &cfg) : ctl_load_config(a.c.config, &cfg);
    if (rc != CTL_OK)
        goto out;
    rc = CTL_USAGE;
    if ((pcfg = ctl_pick_provider(cfg, a.c.provider)) == NULL)
        goto out;
    if (a.jwks_file != NULL && load_jwks_file(a.jwks_file, &jwks) != CTL_OK)
        goto out;
    if (ctl_read_token(a.token_file, &token) != CTL_OK)
        goto out;
    now = a.have_now ? a.now : oidc_now();

    if (a.have_leeway) /* an override of the provider's leeway, for this run only */
        for (size_t i = 0; i < cfg->n_providers; i++)
            if (cfg->providers[i] == pcfg)
                cfg->providers[i]->leeway = (int)a.leeway;
    /* a token presented to a login: with host_audience = yes it must carry this host's audience */
    if (oidc_host_audience_get(cfg->host_name, pcfg, &ha, &err) != OIDC_OK) {
        report_refusal(&a, "host audience", oidc_err_msg(&err));
        rc = CTL_REFUSED;
        goto out;
    }
    if (jwks != NULL) {
        /* keys from the file: the provider's rules, no network */
        oidc_provider_verify_opts(pcfg, now, aud, &vo);
        vo.nonce = a.nonce;
        vo.host_audience = ha.value[0] != '\0' ? ha.value : NULL;
        r = oidc_token_verify(token, strlen(token), jwks, &vo, &tok, &err);
    } else if ((r = oidc_provider_new(pcfg, cfg->state_dir, &prov, &err)) == OIDC_OK) {
        r = oidc_provider_verify_presented(prov, cfg->host_name, token, strlen(token), now, a.nonce,
                                           &tok, &err);
    }
    if (r != OIDC_OK) {
        report_refusal(&a, "token", oidc_err_msg(&err));
        rc = CTL_REFUSED;
        goto out;
    }
    if ((r = oidc_idmap_map(pcfg, NULL, tok->claims, &id, &err)) != OIDC_OK) {
        report_refusal(&a, "identity", oidc_err_msg(&err));
        rc = CTL_REFUSED;
        goto out;
    }
    /* what the cache writer would drop at a login (docs/cache.md); a cache that cannot be read
     * only costs the warning */
    o_cache.dir = cfg->state_dir;
    if (oidc_cache_preview_drops(&o_cache, id, &drops, &err) != OIDC_OK)
        fprintf(stderr, "note: cannot check the identity cache for dropped groups: %s\n",
                oidc_err_msg(&err));
    if (a.c.json) {
        cJSON *o = cJSON_CreateObject(), *dj = cJSON_CreateArray();
        for (size_t i = 0; i < drops.n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "user", drops.v[i].user);
            cJSON_AddStringToObject(e, "group", drops.v[i].group);
            cJSON_AddNumberToObject(e, "gid", drops.v[i].gid);
            cJSON_AddStringToObject(e, "reason", drops.v[i].reason);
            cJSON_AddItemToArray(dj, e);
        }
        cJSON_AddBoolToObject(o, "valid", 1);
        cJSON_AddStringToObject(o, "provider", pcfg->name);
        cJSON_AddStringToObject(o, "alg", oidc_alg_name(tok->alg));
        if (ha.value[0] != '\0')
            cJSON_AddStringToObject(o, "host_audience", ha.value);
        else
            cJSON_AddNullToObject(o, "host_audience");
        cJSON_AddItemToObject(o, "claims", cJSON_Duplicate(tok->claims, 1));
        cJSON_AddItemToObject(o, "identity", ctl_identity_json(id));
        cJSON_AddItemToObject(o, "dropped_groups", dj);
        s = cJSON_Print(o);
        if (s != NULL)
            puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("token valid: provider %s, alg %s, key %s, expires in %" PRId64 " s\n", pcfg->name,
               oidc_alg_name(tok->alg), tok->kid != NULL ? tok->kid : "(no kid)", tok->exp - now);
        if (ha.value[0] != '\0')
            printf("host audience: '%s' present (host_audience = yes; %s)\n", ha.value,
                   oidc_host_audience_describe(&ha, origin, sizeof(origin)));
        s = cJSON_Print(tok->claims);
        printf("claims:\n%s\n", s != NULL ? s : "{}");
        free(s);
        ctl_print_identity(stdout, id);
        for (size_t i = 0; i < drops.n; i++) {
            if (strcmp(drops.v[i].user, id->name) == 0)
                printf("warning: group '%s' would be dropped: %s\n", drops.v[i].group,
                       drops.v[i].reason);
            else
                printf("warning: group '%s' would be removed from user '%s': %s\n",
                       drops.v[i].group, drops.v[i].user, drops.v[i].reason);
        }
    }
    rc = CTL_OK;
out:
    oidc_cache_drops_free(&drops);
    oidc_identity_free(id);
    oidc_token_free(tok);
    oidc_jwks_free(jwks);
    oidc_provider_free(prov);
    oidc_cfg_free(cfg);
    oidc_free_secret(&token);
    return rc;
}
