/* Claims-based authorization (pam_oidc account phase, oidcctl run): allow/deny lists, required
 * groups and required claims, from the provider section and the module arguments. */
#ifndef OIDC_POLICY_H
#define OIDC_POLICY_H

#include <cjson/cJSON.h>
#include "conf.h"
#include "groups.h"
#include "idmap.h"
#include "util.h"

/* Checks, in this order, and stops at the first refusal (OIDC_ERR_DENIED, err names the rule and
 * the value that failed it, e.g. "require_claim: claim 'ref' is 'refs/heads/dev', which does not
 * match 'refs/heads/main'"):
 *  1. deny_users (globs over the mapped name), 2. deny_groups, 3. allow_users (when not empty,
 *  the name must match one), 4. allow_groups (when not empty, the user must be in one of them),
 *  5. require_group of the provider and of the arguments (cfg->require_groups): the user must be
 *  in every one, 6. require_claim of the provider and of the arguments (cfg->require_claims):
 *  NAME=GLOB, NAME a claim path (oidc_json_get_path); a string claim must match the glob; a
 *  number or boolean is matched in its JSON text; an array matches when one string element
 *  matches; a missing claim, an object or null fails.
 * Group rules (2, 4, 5) see the groups as the IdP sent them: the string values of the provider's
 * groups_claim in the token (oidc_groups_from_token: a token with the overage marker is refused,
 * and with groups_source = userinfo a token has no groups), all of them, before the identity
 * mapping cuts, drops or lower-cases any. A rule names a value when the two are equal up to ASCII
 * case, or when the rule is group_prefix followed by the value (again up to ASCII case).
 * deny_groups also refuses when the claim is neither a string, an array nor null, or has more than
 * OIDC_GROUPS_MAX values. When the groups are not known (the claim is absent, groups are off,
 * userinfo cannot be asked) and any group rule is set, the check refuses first, naming the rule and
 * why. Globs are fnmatch(3) patterns without flags ('*' also matches '/'). cfg may be NULL (no
 * module arguments). */
int oidc_policy_check(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                      const struct oidc_identity *id, const cJSON *claims, struct oidc_err *err);
/* The same with the login's groups given (a device login's, oidc_groups_resolve, or a token
 * login's). groups NULL: no login is at hand (the account phase of a cached user): the rules see
 * id->groups, the mapped names, the same way. */
int oidc_policy_check_groups(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                             const struct oidc_identity *id, const cJSON *claims,
                             const struct oidc_groups *groups, struct oidc_err *err);

#endif
