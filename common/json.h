/* Bounded JSON parsing over cJSON and typed getters: no raw cJSON_GetObjectItem chains elsewhere.
 */
#ifndef OIDC_JSON_H
#define OIDC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "util.h"

#define OIDC_JSON_MAX_DEPTH 16
#define OIDC_JSON_MAX_SIZE  (1024 * 1024)

#define OIDC_JSON_MAX_NUMBER 64 /* characters in one number */

/* Parses len bytes (need not be NUL-terminated) in one strict pass (RFC 8259 grammar: only space,
 * tab, CR and LF as whitespace, no leading zeros, no unescaped control characters, well-formed
 * UTF-8 and UTF-16 surrogate pairs). Rejects trailing garbage, nesting deeper than
 * OIDC_JSON_MAX_DEPTH, input over OIDC_JSON_MAX_SIZE, a number longer than OIDC_JSON_MAX_NUMBER
 * characters (OIDC_ERR_TOOBIG), NUL bytes and escaped NULs (\u0000), duplicate member names in
 * any object, and a root that is not an object. what names the document in error messages
 * ("token header"). The tree is an ordinary cJSON tree: free it with cJSON_Delete. */
int oidc_json_parse_object(const char *buf, size_t len, const char *what, cJSON **out,
                           struct oidc_err *err);

/* Typed getters on an object. Return 0 when present and of the right type, OIDC_ERR_NOTFOUND when
 * absent (or JSON null), OIDC_ERR_PARSE when present with another type. Pointers returned point
 * into obj. */
int oidc_json_get_string(const cJSON *obj, const char *name, const char **out);
int oidc_json_get_bool(const cJSON *obj, const char *name, int *out);
/* A finite integral number in [-2^53, 2^53]. */
int oidc_json_get_int64(const cJSON *obj, const char *name, int64_t *out);
int oidc_json_get_object(const cJSON *obj, const char *name, const cJSON **out);
int oidc_json_get_array(const cJSON *obj, const char *name, const cJSON **out);
/* Dotted path lookup ("realm_access.roles"); NULL when no walk reaches a member. Nested objects
 * come first; a member whose name holds dots is reached when no nesting fits:
 * "kubernetes.io.serviceaccount.name" walks "kubernetes.io" (there is no "kubernetes"), then
 * "serviceaccount". At most 16 dots. */
const cJSON *oidc_json_get_path(const cJSON *obj, const char *path);
/* Whether a claim value (string or array of strings) contains s. */
int oidc_json_string_or_array_has(const cJSON *v, const char *s);

#endif
