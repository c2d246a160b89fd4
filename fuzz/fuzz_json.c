/* libFuzzer target: the strict JSON parser and the dotted-path getter. The first line of the
 * input (up to a newline, at most 256 bytes) is a path, the rest the document. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
    "iss",
    "sub",
    "aud",
    "groups",
    "realm_access.roles",
    "kubernetes.io.serviceaccount.name",
    "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q",
    "",
    ".",
    "..",
    "a..b",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[257];
    const uint8_t *nl = memchr(data, '\n', size < 256 ? size : 256);
    size_t plen = nl != NULL ? (size_t)(nl - data) : 0;
    const char *doc = (const char *)data + (nl != NULL ? plen + 1 : 0);
    size_t dlen = size - (size_t)(doc - (const char *)data);
    struct oidc_err err = {0};
    cJSON *obj = NULL;
    const char *s;
    int64_t i64;
    int b;

    memcpy(path, data, plen);
    path[plen] = '\0';
    fuzz_wrap_begin(data, size);
    if (oidc_json_parse_object(doc, dlen, "fuzz", &obj, &err) == 0) {
        const cJSON *v = oidc_json_get_path(obj, path);
        const cJSON *o;

        if (v != NULL)
            (void)oidc_json_string_or_array_has(v, "admin");
        for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
            if ((v = oidc_json_get_path(obj, paths[k])) != NULL)
                (void)oidc_json_string_or_array_has(v, "x");
        (void)oidc_json_get_string(obj, "iss", &s);
        (void)oidc_json_get_int64(obj, "exp", &i64);
        (void)oidc_json_get_bool(obj, "email_verified", &b);
        (void)oidc_json_get_object(obj, "realm_access", &o);
        (void)oidc_json_get_array(obj, "groups", &o);
        cJSON_Delete(obj);
    }
    (void)oidc_err_msg(&err);
    fuzz_wrap_end();
    return 0;
}
