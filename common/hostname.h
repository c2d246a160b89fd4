/* This host's audience for host_audience = yes: host_audience_template with {hostname} and {fqdn}
 * expanded to this host's names, so a token minted for one host is refused on another.
 *
 * {hostname} is the [global] host_name when it is set, else gethostname(). {fqdn} is that name
 * when it has a dot; otherwise the canonical (first) name of the first line of /etc/hosts that
 * lists it, when that has a dot. Nothing here asks DNS: a login must not wait on a resolver, and
 * a host's identity must not depend on what a network answers. Both names are lower-cased (DNS
 * names are case-insensitive; the audience is then compared byte for byte). When a name cannot be
 * derived the audience is an error, and token logins through that provider fail closed. */
#ifndef OIDC_HOSTNAME_H
#define OIDC_HOSTNAME_H

#include <stddef.h>
#include "conf.h"
#include "util.h"

#define OIDC_HOST_TEMPLATE_DEFAULT "host:{fqdn}"
#define OIDC_HOST_TEMPLATE_MAX     128 /* bytes of host_audience_template */
#define OIDC_HOST_NAME_MAX         253 /* bytes of a DNS name */
#define OIDC_HOST_AUDIENCE_MAX     512 /* bytes of an expanded host audience */
#define OIDC_HOSTS_FILE            "/etc/hosts"
#define OIDC_HOSTS_MAX             (1024 * 1024) /* bytes of /etc/hosts read */

/* The problem with a host_audience_template value (printable ASCII without blanks, at most
 * OIDC_HOST_TEMPLATE_MAX bytes, '{' only in {hostname} or {fqdn}, at least one of them, no stray
 * '}'), or NULL when it is good. */
const char *oidc_host_template_problem(const char *tmpl);
/* The problem with a host name (host_name, gethostname(), /etc/hosts): A-Z a-z 0-9 - _ and dots
 * between labels of 1 to 63 bytes, at most OIDC_HOST_NAME_MAX bytes; or NULL when it is good. */
const char *oidc_host_name_problem(const char *name);

struct oidc_host_audience {
    char value[OIDC_HOST_AUDIENCE_MAX + 1]; /* "" when the provider has host_audience = no */
    const char *tmpl;                       /* the template used */
    char hostname[OIDC_HOST_NAME_MAX + 1];  /* lower-cased */
    char fqdn[OIDC_HOST_NAME_MAX + 1];      /* "" when the template does not use {fqdn} */
    const char *hostname_from;              /* "host_name" or "gethostname()" */
    const char *fqdn_from;                  /* like hostname_from, or OIDC_HOSTS_FILE; or NULL */
};

/* Expands the provider's host audience into *ha (value "" when host_audience = no); host_name is
 * the [global] host_name (NULL: gethostname()). OIDC_ERR_CONFIG when a name cannot be derived or
 * the result is too long, OIDC_ERR_IO when /etc/hosts cannot be read; err says which name, from
 * where, and what to set. */
int oidc_host_audience_get(const char *host_name, const struct oidc_provider_cfg *p,
                           struct oidc_host_audience *ha, struct oidc_err *err);

/* "template T; {fqdn} = F from SOURCE; {hostname} = H from SOURCE" (the placeholders the template
 * uses), for oidcctl. Returns buf. */
const char *oidc_host_audience_describe(const struct oidc_host_audience *ha, char *buf, size_t cap);

/* The canonical name (first name) of the first hosts(5) line in text[0..len) that lists name
 * (ASCII case-insensitive), copied into out (cap bytes). OIDC_OK, OIDC_ERR_NOTFOUND, or
 * OIDC_ERR_TOOBIG when it does not fit. Lines longer than 4096 bytes are skipped. */
int oidc_hosts_canonical(const char *text, size_t len, const char *name, char *out, size_t cap);

#endif
