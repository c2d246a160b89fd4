/* Private to the configuration unit (conf.c, conf_keys.c, conf_ini.c, conf_file.c): the limits
 * they share, and the few functions one of them provides to the others. Nothing outside these
 * four files includes it; the API the rest of the code uses is conf.h. */
#ifndef OIDC_CONF_INT_H
#define OIDC_CONF_INT_H

#include "conf.h"

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define LINE_MAX_BYTES 1024 /* longest accepted line, without its line ending */
#define NAME_MAX_LEN   64   /* provider names, key names */
#define SHOW_MAX       40   /* bytes of a bad value quoted in a message */

/* What a configuration file or drop-in directory may not allow (see oidc_conf_read_safely) */
#define CONF_FORBIDDEN (S_IWGRP | S_IWOTH)
#define CONF_MODE_RULE "lets group or others write it (expected chmod go-w)"

static inline int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* conf_keys.c: value rules and objects */

/* Control characters other than tab. */
int oidc_conf_has_control(const char *s);
/* 'value', cut to SHOW_MAX bytes, for messages; buf needs SHOW_MAX + 8 bytes. */
const char *oidc_conf_show(char *buf, size_t n, const char *v);
/* The problem with a provider name, or NULL. */
const char *oidc_conf_name_problem(const char *s);
/* Decimal or 0x hexadecimal uid: the problem, or NULL with *out set. */
const char *oidc_conf_parse_uid(const char *v, uint32_t *out);
/* Sets an out-of-memory error naming where; returns OIDC_ERR_NOMEM. */
int oidc_conf_nomem(struct oidc_err *err, const char *where);
/* A provider with every default set, or NULL when out of memory. */
struct oidc_provider_cfg *oidc_conf_provider_new(const char *name);

/* conf.c */
struct oidc_provider_cfg *oidc_conf_find_provider(const struct oidc_cfg *cfg, const char *name);

/* conf_ini.c: the reader */

/* Reads DIR/ *.conf in byte order of their names; a missing DIR is fine. */
int oidc_conf_load_dropins(struct oidc_cfg *cfg, const char *dir, struct oidc_err *err);
/* One module argument (index counts from 1): KEY=VALUE, or a bare KEY. */
int oidc_conf_apply_arg(struct oidc_cfg *cfg, const char *arg, int index, struct oidc_err *err);

/* conf_file.c: file safety */

/* Reads a root-owned regular file without following a symbolic link; see conf_file.c. */
int oidc_conf_read_safely(int dirfd, const char *name, const char *shown, size_t max,
                          mode_t forbidden, const char *mode_rule, char **out, size_t *outlen,
                          struct oidc_err *err);
/* Opens a drop-in directory (no symbolic link, owned by root, not group or world writable):
 * OIDC_OK with *out = -1 when it does not exist. */
int oidc_conf_open_dir(const char *dir, int *out, struct oidc_err *err);
/* replay_store_password_file as oidc_cfg_check() sees it: a root-owned regular file that group
 * and others cannot access; a file this process may not stat is left to the read. */
int oidc_conf_check_secret_path(const char *name, const char *path, struct oidc_err *err);

#endif
