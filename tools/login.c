/* oidcctl login: the device flow in a terminal, ending with the verified, mapped identity. */
#include "config.h"
#include "oidcctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "groups.h"
#include "json.h"
#include "provider.h"

int cmd_login(int argc, char **argv)
{
    static const struct option opts[] = {
        CTL_OPT_CONFIG,
        CTL_OPT_PROVIDER,
        {"timeout", required_argument, NULL, 't'},
        CTL_OPT_JSON,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ctl_common c = {0};
    struct oidc_cfg *cfg = NULL;
    const struct oidc_provider_cfg *pcfg;
    struct oidc_provider *prov = NULL;
    struct oidc_device_auth da = {0};
    struct oidc_device_tokens dt = {0};
    struct oidc_token *tok = NULL;
    struct oidc_identity *id = NULL;
    struct oidc_groups groups = {0};
    struct oidc_err err = {0};
    int64_t timeout = 0, now, deadline;
    int ch, r, rc = CTL_USAGE;
    char *s;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            if (ctl_parse_int64("--timeout", optarg, 1, 3600, &timeout) != CTL_OK)
                return CTL_USAGE;
            break;
        case 'h':
            printf("Usage: oidcctl login [--config PATH] [--provider NAME] [--timeout SECONDS] "
                   "[--json]\n");
            return CTL_OK;
        default:
            if (ctl_common_opt(&c, ch, optarg))
                break;
            return CTL_USAGE;
        }
    }
    if (optind != argc) {
        ctl_err("login takes no arguments besides options");
        return CTL_USAGE;
    }
    if ((rc = ctl_load_config(c.config, &cfg)) != CTL_OK)
        return rc;
    rc = CTL_USAGE;
    if ((pcfg = ctl_pick_provider(cfg, c.provider)) == NULL)
        goto out;
    rc = CTL_REFUSED;
    now = oidc_now();
    if ((r = oidc_provider_new(pcfg, cfg->state_dir, &prov, &err)) != OIDC_OK ||
        (r = oidc_provider_discover(prov, now, &err)) != OIDC_OK ||
        (r = oidc_device_start(prov, now, &da, &err)) != OIDC_OK) {
        ctl_err("%s", oidc_err_msg(&err));
        goto out;
    }
    /* The prompt goes to stderr with --json so stdout stays machine-readable. */
    fprintf(c.json ? stderr : stdout,
            "To sign in to %s, open this address in a browser:\n\n"
            "    %s\n\n"
            "and check that it shows the code:  %s\n"
            "(or open %s and enter the code)\n"
            "Waiting for approval (the code expires in %lld s)...\n",
            pcfg->name,
            da.verification_uri_complete != NULL ? da.verification_uri_complete
                                                 : da.verification_uri,
            da.user_code, da.verification_uri, (long long)(da.expires_at - now));
    fflush(NULL);
    deadline = timeout > 0 ? now + timeout : da.expires_at;
    if ((r = oidc_device_poll(prov, &da, deadline, NULL, NULL, &dt, &err)) != OIDC_OK) {
        ctl_err("sign-in failed: %s", oidc_err_msg(&err));
        goto out;
    }
    if ((r = oidc_provider_verify(prov, dt.id_token, strlen(dt.id_token), oidc_now(), NULL, &tok,
                                  &err)) != OIDC_OK) {
        ctl_err("ID token refused: %s", oidc_err_msg(&err));
        goto out;
    }
    if ((r = oidc_groups_resolve(prov, dt.access_token, tok->claims, &groups, &err)) != OIDC_OK) {
        ctl_err("groups refused: %s", oidc_err_msg(&err));
        goto out;
    }
    if ((r = oidc_idmap_map_groups(pcfg, NULL, tok->claims, &groups, &id, &err)) != OIDC_OK) {
        ctl_err("identity refused: %s", oidc_err_msg(&err));
        goto out;
    }
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "valid", 1);
        cJSON_AddStringToObject(o, "provider", pcfg->name);
        cJSON_AddItemToObject(o, "claims", cJSON_Duplicate(tok->claims, 1));
        cJSON_AddItemToObject(o, "identity", ctl_identity_json(id));
        s = cJSON_Print(o);
        if (s != NULL)
            puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("Signed in: ID token verified (alg %s, key %s).\n", oidc_alg_name(tok->alg),
               tok->kid != NULL ? tok->kid : "(no kid)");
        ctl_print_identity(stdout, id);
    }
    rc = CTL_OK;
out:
    oidc_identity_free(id);
    oidc_groups_clear(&groups);
    oidc_token_free(tok);
    oidc_device_tokens_clear(&dt);
    oidc_device_auth_clear(&da);
    oidc_provider_free(prov);
    oidc_cfg_free(cfg);
    return rc;
}
