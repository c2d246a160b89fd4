/* Claims-based authorization (pam_oidc account phase, oidcctl run): allow/deny lists, required
 * groups and required claims, from the provider section and the module arguments. */
#ifndef OIDC_POLICY_H
#define OIDC_POLICY_H

#include <cjson/cJSON.h>
#include "conf.h"
#include "idmap.h"
#include "util.h"

/* Checks, in this order, and stops at the first refusal (OIDC_ERR_DENIED, err names the rule and
 * the value that failed it, e.g. "require_claim: claim 'ref' is 'refs/heads/dev', which does not
 * match 'refs/heads/main'"):
 *  1. deny_users (globs over the mapped name), 2. deny_groups (mapped group names),
 *  3. allow_users (when not empty, the name must match one), 4. allow_groups (when not empty, one
 *  of the user's groups must be listed), 5. require_group of the provider and of the arguments
 *  (cfg->require_groups): every one must be among the user's groups, 6. require_claim of the
 *  provider and of the arguments (cfg->require_claims): NAME=GLOB, NAME a claim path
 *  (oidc_json_get_path); a string claim must match the glob; a number or boolean is matched in
 *  its JSON text; an array matches when one string element matches; a missing claim, an object
 *  or null fails.
 * Globs are fnmatch(3) patterns without flags ('*' also matches '/'). cfg may be NULL (no module
 * arguments). */
int oidc_policy_check(const struct oidc_cfg *cfg, const struct oidc_provider_cfg *p,
                      const struct oidc_identity *id, const cJSON *claims, struct oidc_err *err);

#endif
