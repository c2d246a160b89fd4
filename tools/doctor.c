/* oidcctl doctor: one command that checks the whole host and prints each problem with its fix.
 * sshd's effective configuration (doctor_sshd.c), the PAM stacks (doctor_pam.c), nsswitch.conf,
 * ownership and modes of the files, each provider's IdP and clock (check-config's checks, called,
 * not copied), the identity cache (cache verify's function) and the uid range. Exit status: 0
 * nothing to fix, 1 warnings only, 2 errors, 3 usage. Paths are the real system's. */
#include "config.h"
#include "oidcctl.h"
#include "doctor.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "localdb.h"

#define DOCTOR_USAGE 3
#define NSSWITCH     "/etc/nsswitch.conf"
#define LOGIN_DEFS   "/etc/login.defs"
#define LINE_MAX_LEN 4096

static const char *const level_names[] = {"ok", "note", "warning", "error"};

void doc_add(struct doc *d, enum doc_level lv, const char *check, const char *item, const char *fix,
             const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    cJSON *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (lv == DOC_ERROR)
        d->n_err++;
    else if (lv == DOC_WARN)
        d->n_warn++;
    if (d->json) {
        if ((o = cJSON_CreateObject()) == NULL)
            return;
        cJSON_AddStringToObject(o, "check", check);
        cJSON_AddStringToObject(o, "item", item);
        cJSON_AddStringToObject(o, "level", level_names[lv]);
        cJSON_AddStringToObject(o, "message", msg);
        if (fix != NULL)
            cJSON_AddStringToObject(o, "fix", fix);
        cJSON_AddItemToArray(d->arr, o);
        return;
    }
    if (strcmp(d->last, check) != 0)
        printf("%s\n", check);
    snprintf(d->last, sizeof(d->last), "%s", check);
    printf("  %-8s %s: %s\n", lv == DOC_ERROR ? "ERROR" : level_names[lv], item, msg);
    if (fix != NULL && lv >= DOC_WARN)
        printf("           fix: %s\n", fix);
}

/* ------------------------------------------------------------------ files */

/* Ownership and mode of one path: root-owned, not a symbolic link, not writable by group or
 * others; exact_mode (0: any) when the readers need one (the cache must be world-readable). */
static void check_path(struct doc *d, const char *item, const char *path, int dir, int missing_ok,
                       mode_t exact_mode)
{
    struct stat st;
    char fix[512];

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT && missing_ok)
            doc_add(d, DOC_NOTE, "files", item, NULL, "%s does not exist (yet)", path);
        else
            doc_add(d, DOC_ERROR, "files", item, NULL, "cannot stat %s: %s", path, strerror(errno));
        return;
    }
    if (S_ISLNK(st.st_mode)) {
        doc_add(d, DOC_ERROR, "files", item, "replace the link by the file itself",
                "%s is a symbolic link: it is not followed", path);
        return;
    }
    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        doc_add(d, DOC_ERROR, "files", item, NULL, "%s is not a %s", path,
                dir ? "directory" : "regular file");
        return;
    }
    if (st.st_uid != 0) {
        snprintf(fix, sizeof(fix), "chown root:root %s", path);
        doc_add(d, DOC_ERROR, "files", item, fix,
                "%s is owned by uid %u, not root: that user can change who logs in", path,
                (unsigned)st.st_uid);
    }
    if ((st.st_mode & 022) != 0) {
        snprintf(fix, sizeof(fix), "chmod %s %s",
                 dir          ? "0755"
                 : exact_mode ? "0644"
                              : "0600",
                 path);
        doc_add(d, DOC_ERROR, "files", item, fix,
                "%s has mode %04o: writable by %s (the modules refuse it or trust what anyone "
                "wrote)",
                path, (unsigned)(st.st_mode & 07777),
                (st.st_mode & 002) != 0 ? "everyone" : "its group");
    } else if (exact_mode != 0 && (st.st_mode & 07777) != exact_mode) {
        snprintf(fix, sizeof(fix), "chmod %04o %s", (unsigned)exact_mode, path);
        doc_add(d, DOC_ERROR, "files", item, fix,
                "%s has mode %04o (expected %04o: every process's NSS lookups read it)", path,
                (unsigned)(st.st_mode & 07777), (unsigned)exact_mode);
    } else if (st.st_uid == 0) {
        doc_add(d, DOC_OK, "files", item, NULL, "%s: root-owned, mode %04o", path,
                (unsigned)(st.st_mode & 07777));
    }
}

static void check_files(struct doc *d, const char *config)
{
    char pattern[1024], path[1024];
    glob_t g;
    size_t i;

    check_path(d, "configuration", config, 0, 1, 0);
    snprintf(pattern, sizeof(pattern), "%s.d/*.conf", config);
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (i = 0; i < g.gl_pathc; i++)
            check_path(d, "drop-in", g.gl_pathv[i], 0, 0, 0);
        globfree(&g);
    }
    if (d->cfg == NULL)
        return;
    check_path(d, "state directory", d->cfg->state_dir, 1, 1, 0);
    snprintf(path, sizeof(path), "%s/%s", d->cfg->state_dir, OIDC_CACHE_FILE);
    check_path(d, "identity cache", path, 0, 1, 0644);
    snprintf(path, sizeof(path), "%s/idp", d->cfg->state_dir);
    check_path(d, "IdP cache directory", path, 1, 1, 0);
    /* client_secret_file: ctl_check_provider reads it with the modules' own checks */
}

/* ------------------------------------------------------------------ nsswitch */

/* Checks one database line's sources: oidc present, after files, and reachable. */
static void nss_line(struct doc *d, const char *db, char *sources, int required)
{
    char *tok, *save = NULL;
    int pos = 0, files_at = -1, oidc_at = -1, stop_before_oidc = 0;
    char fix[256];

    snprintf(fix, sizeof(fix), "%s: files oidc (in %s; keep other sources after files)", db,
             NSSWITCH);
    for (tok = strtok_r(sources, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
        if (tok[0] == '[') {
            /* an action after files that returns before oidc is asked */
            if (oidc_at < 0 &&
                (strstr(tok, "NOTFOUND=return") != NULL || strstr(tok, "notfound=return") != NULL))
                stop_before_oidc = 1;
            continue;
        }
        if (strcmp(tok, "files") == 0 && files_at < 0)
            files_at = pos;
        if (strcmp(tok, "oidc") == 0 && oidc_at < 0)
            oidc_at = pos;
        pos++;
    }
    if (oidc_at < 0)
        doc_add(d, required ? DOC_ERROR : DOC_WARN, "nsswitch", db, fix,
                "'%s:' does not list oidc: federated users%s are unknown to the system", db,
                strcmp(db, "passwd") == 0 ? "" : "' groups");
    else if (files_at < 0 || files_at > oidc_at)
        doc_add(d, DOC_ERROR, "nsswitch", db, fix,
                "'%s:' %s: local accounts must be answered by files first", db,
                files_at < 0 ? "has oidc but not files" : "lists oidc before files");
    else if (stop_before_oidc)
        doc_add(d, DOC_ERROR, "nsswitch", db, fix,
                "'%s:' returns on NOTFOUND before oidc: the oidc source is never asked", db);
    else
        doc_add(d, DOC_OK, "nsswitch", db, NULL, "oidc after files");
}

static void check_nsswitch(struct doc *d)
{
    FILE *f = fopen(NSSWITCH, "re");
    char line[LINE_MAX_LEN], *p, *colon, *hash;
    int seen_pw = 0, seen_gr = 0;

    if (f == NULL) {
        doc_add(d, DOC_ERROR, "nsswitch", NSSWITCH,
                "add 'passwd: files oidc' and 'group: files oidc'", "cannot read %s: %s", NSSWITCH,
                strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if ((hash = strchr(line, '#')) != NULL)
            *hash = '\0';
        line[strcspn(line, "\r\n")] = '\0';
        for (p = line; *p == ' ' || *p == '\t'; p++)
            ;
        if ((colon = strchr(p, ':')) == NULL)
            continue;
        *colon = '\0';
        if (strcmp(p, "passwd") == 0 && !seen_pw) {
            seen_pw = 1;
            nss_line(d, "passwd", colon + 1, 1);
        } else if (strcmp(p, "group") == 0 && !seen_gr) {
            seen_gr = 1;
            nss_line(d, "group", colon + 1, 1);
        } else if (strcmp(p, "initgroups") == 0) {
            nss_line(d, "initgroups", colon + 1, 1);
        }
    }
    fclose(f);
    if (!seen_pw)
        doc_add(d, DOC_ERROR, "nsswitch", "passwd", "passwd: files oidc",
                "%s has no passwd line: glibc's default does not ask oidc", NSSWITCH);
    if (!seen_gr)
        doc_add(d, DOC_ERROR, "nsswitch", "group", "group: files oidc",
                "%s has no group line: glibc's default does not ask oidc", NSSWITCH);
}

/* ------------------------------------------------------------------ uid range */

struct range {
    uint32_t lo, hi;
    enum doc_level lv;
    const char *what;
};

/* systemd's UID/GID assignments (https://systemd.io/UIDS-GIDS/); the regular users' range comes
 * from /etc/login.defs. */
static const struct range reserved[] = {
    {1, 999, DOC_ERROR, "system users"},
    {60001, 60513, DOC_ERROR, "systemd-homed users"},
    {60514, 60577, DOC_ERROR, "host users mapped into containers (systemd-nspawn --bind-user)"},
    {61184, 65519, DOC_ERROR, "DynamicUser= service users"},
    {65534, 65535, DOC_ERROR, "nobody and the 16-bit (uid_t) -1"},
    {524288, 1879048191u, DOC_ERROR, "container UID ranges (systemd-nspawn --private-users)"},
    {0x7FFE0000u, 0x7FFEFFFFu, DOC_NOTE,
     "the foreign UID range of newer systemd releases (systemd-mountfsd, "
     "systemd-nsresourced): a federated uid hashed there is taken for a foreign image's owner"},
    {0x80000000u, 0xFFFFFFFEu, DOC_WARN,
     "ids above 2^31-1, which systemd leaves unused (programs take them as negative)"},
};

/* UID_MIN/UID_MAX/GID_MIN/GID_MAX of /etc/login.defs (defaults 1000..60000). */
static void login_defs(uint32_t *uid_lo, uint32_t *uid_hi, uint32_t *gid_lo, uint32_t *gid_hi)
{
    FILE *f = fopen(LOGIN_DEFS, "re");
    char line[512], key[64];
    unsigned long v;

    *uid_lo = *gid_lo = 1000;
    *uid_hi = *gid_hi = 60000;
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, " %63s %lu", key, &v) != 2 || v > 0xFFFFFFFEul)
            continue;
        if (strcmp(key, "UID_MIN") == 0)
            *uid_lo = (uint32_t)v;
        else if (strcmp(key, "UID_MAX") == 0)
            *uid_hi = (uint32_t)v;
        else if (strcmp(key, "GID_MIN") == 0)
            *gid_lo = (uint32_t)v;
        else if (strcmp(key, "GID_MAX") == 0)
            *gid_hi = (uint32_t)v;
    }
    fclose(f);
}

static void range_vs(struct doc *d, const struct oidc_provider_cfg *p, const char *check,
                     const struct range *r, int *clean)
{
    char fix[256];

    if (p->uid_min > r->hi || p->uid_max < r->lo)
        return;
    snprintf(fix, sizeof(fix),
             "move uid_min..uid_max of [provider %s] out of %" PRIu32 "..%" PRIu32
             " (the default 0x70000000..0x7FFFFFFE avoids every range systemd assigns)",
             p->name, r->lo, r->hi);
    doc_add(d, r->lv, check, "uid range", fix,
            "uid_min..uid_max %" PRIu32 "..%" PRIu32 " overlaps %" PRIu32 "..%" PRIu32 ", %s",
            p->uid_min, p->uid_max, r->lo, r->hi, r->what);
    *clean = 0;
}

/* Local accounts and groups whose id lies in the range: a federated name hashed onto one of them
 * is refused (the cache never shares an id). */
static void range_local(struct doc *d, const struct oidc_provider_cfg *p, const char *check,
                        const struct oidc_localdb *db, int *clean)
{
    size_t i, n = 0;
    char names[160] = "";

    for (i = 0; i < db->n_pw + db->n_gr; i++) {
        const struct oidc_localent *e = i < db->n_pw ? &db->pw[i] : &db->gr[i - db->n_pw];
        if (e->id < p->uid_min || e->id > p->uid_max)
            continue;
        if (n++ < 3 && strlen(names) + strlen(e->name) + 16 < sizeof(names))
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s %s (%" PRIu32 ")",
                     names[0] != '\0' ? ", " : "", i < db->n_pw ? "user" : "group", e->name, e->id);
    }
    if (n == 0)
        return;
    *clean = 0;
    doc_add(d, DOC_WARN, check, "uid range",
            "renumber the local entries, or move uid_min..uid_max away from them",
            "%zu local account%s or group%s use%s ids inside uid_min..uid_max: %s%s; a "
            "federated user hashed onto one is refused",
            n, n == 1 ? "" : "s", n == 1 ? "" : "s", n == 1 ? "s" : "", names,
            n > 3 ? ", ..." : "");
}

/* One provider's range against systemd's, login.defs' and the local ids (db may be NULL). */
static void check_uid_range(struct doc *d, const struct oidc_provider_cfg *p, const char *check,
                            const struct oidc_localdb *db)
{
    struct range defs[2];
    size_t j;
    int clean = 1;

    login_defs(&defs[0].lo, &defs[0].hi, &defs[1].lo, &defs[1].hi);
    defs[0].lv = defs[1].lv = DOC_ERROR;
    defs[0].what = "regular users (UID_MIN..UID_MAX in " LOGIN_DEFS ": useradd allocates them)";
    defs[1].what = "regular groups (GID_MIN..GID_MAX in " LOGIN_DEFS ": groupadd allocates them)";
    for (j = 0; j < sizeof(defs) / sizeof(defs[0]); j++)
        range_vs(d, p, check, &defs[j], &clean);
    for (j = 0; j < sizeof(reserved) / sizeof(reserved[0]); j++)
        range_vs(d, p, check, &reserved[j], &clean);
    if (db != NULL)
        range_local(d, p, check, db, &clean);
    if (clean)
        doc_add(d, DOC_OK, check, "uid range", NULL,
                "%" PRIu32 "..%" PRIu32 ": no id systemd, useradd or a local entry uses",
                p->uid_min, p->uid_max);
}

/* ------------------------------------------------------------------ IdPs, cache */

struct emit_ctx {
    struct doc *d;
    const char *check;
};

static void provider_emit(void *ctx, const char *level, const char *what, const char *msg,
                          const char *fix)
{
    struct emit_ctx *e = ctx;
    enum doc_level lv = strcmp(level, "PROBLEM") == 0   ? DOC_ERROR
                        : strcmp(level, "warning") == 0 ? DOC_WARN
                                                        : DOC_OK;

    doc_add(e->d, lv, e->check, what, fix, "%s", msg);
}

static void check_providers(struct doc *d, int offline)
{
    struct ctl_report rep = {0};
    struct emit_ctx e = {d, NULL};
    struct oidc_localdb *db = NULL;
    struct oidc_err err = {0};
    char check[128];
    size_t i;

    if (d->cfg->n_providers == 0)
        doc_add(d, DOC_WARN, "configuration", "providers",
                "add a [provider NAME] section (nss-pam-oidc.conf(5))",
                "no [provider NAME] section in %s: nobody can sign in",
                d->cfg->config_path != NULL ? d->cfg->config_path : "the configuration");
    if (oidc_localdb_load(NULL, &db, &err) != OIDC_OK)
        doc_add(d, DOC_ERROR, "uid range", "local accounts", NULL, "%s", oidc_err_msg(&err));
    rep.emit = provider_emit;
    rep.ctx = &e;
    for (i = 0; i < d->cfg->n_providers; i++) {
        snprintf(check, sizeof(check), "provider %s", d->cfg->providers[i]->name);
        e.check = check;
        doc_add(d, DOC_OK, check, "issuer", NULL, "%s", d->cfg->providers[i]->issuer);
        ctl_check_provider(d->cfg, d->cfg->providers[i], offline, &rep);
        check_uid_range(d, d->cfg->providers[i], check, db);
    }
    oidc_localdb_free(db);
}

static void cache_problem(void *ctx, const char *line)
{
    doc_add(ctx, DOC_ERROR, "identity cache", OIDC_CACHE_FILE,
            "see `oidcctl cache verify`; remove the file to start afresh (users are cached again "
            "at their next login)",
            "%s", line);
}

static void check_cache(struct doc *d)
{
    struct oidc_cache_opts co = {0};
    struct oidc_err err = {0};
    int before = d->n_err;

    co.dir = d->cfg->state_dir;
    if (oidc_cache_verify(&co, cache_problem, d, &err) != OIDC_OK) {
        if (d->n_err == before) /* a failure no line described */
            cache_problem(d, oidc_err_msg(&err));
        return;
    }
    doc_add(d, DOC_OK, "identity cache", OIDC_CACHE_FILE, NULL,
            "%s/%s passes every check of oidcctl cache verify", co.dir, OIDC_CACHE_FILE);
}

/* ------------------------------------------------------------------ command */

static const char usage[] =
    "Usage: oidcctl doctor [--config PATH] [--json] [--offline] [--sshd PATH] [--ssh-user NAME]\n"
    "Checks sshd, the PAM stacks, nsswitch.conf, file modes, each IdP, the clock, the identity\n"
    "cache and the uid range. Exit 0 all good, 1 warnings, 2 errors, 3 usage error.\n";

static int parse_opts(int argc, char **argv, struct doc *d, const char **config, int *offline)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"offline", no_argument, NULL, 'o'},
        {"sshd", required_argument, NULL, 's'},
        {"ssh-user", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            *config = optarg;
            break;
        case 'j':
            d->json = 1;
            break;
        case 'o':
            *offline = 1;
            break;
        case 's':
            d->sshd = optarg;
            break;
        case 'u':
            d->ssh_user = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            fputs(usage, stderr);
            return DOCTOR_USAGE;
        }
    }
    if (optind < argc) {
        ctl_err("doctor: unexpected argument '%s'", argv[optind]);
        return DOCTOR_USAGE;
    }
    if (d->sshd[0] != '/') {
        ctl_err("doctor: --sshd needs an absolute path, not '%s'", d->sshd);
        return DOCTOR_USAGE;
    }
    return CTL_OK;
}

static void load_config(struct doc *d, const char *path, struct oidc_cfg **cfg)
{
    struct oidc_err err = {0};
    char *arg = NULL;
    const char *argv[1];

    if ((arg = malloc(strlen(path) + 8)) == NULL) {
        doc_add(d, DOC_ERROR, "configuration", "file", NULL, "out of memory");
        return;
    }
    sprintf(arg, "config=%s", path);
    argv[0] = arg;
    if (oidc_cfg_load(1, argv, cfg, &err) != OIDC_OK)
        doc_add(d, DOC_ERROR, "configuration", "file",
                "fix the line named, then run oidcctl doctor again (the checks that need the "
                "configuration were skipped)",
                "%s", oidc_err_msg(&err));
    else
        doc_add(d, DOC_OK, "configuration", "file", NULL, "%s: parsed, %zu provider%s", path,
                (*cfg)->n_providers, (*cfg)->n_providers == 1 ? "" : "s");
    free(arg);
}

int cmd_doctor(int argc, char **argv)
{
    struct doc d = {0};
    struct oidc_cfg *cfg = NULL;
    struct stat st;
    const char *config = NULL;
    int offline = 0, rc;
    char *out;

    d.sshd = "/usr/sbin/sshd";
    d.ssh_user = "oidc-doctor";
    if ((rc = parse_opts(argc, argv, &d, &config, &offline)) != CTL_OK)
        return rc < 0 ? CTL_OK : rc;
    if (d.json && (d.arr = cJSON_CreateArray()) == NULL) {
        ctl_err("out of memory");
        return CTL_USAGE;
    }
    if (config == NULL)
        config = SYSCONFDIR "/nss-pam-oidc.conf";
    if (stat(config, &st) == 0 || errno != ENOENT ||
        strcmp(config, SYSCONFDIR "/nss-pam-oidc.conf") != 0)
        load_config(&d, config, &cfg);
    else
        doc_add(&d, DOC_WARN, "configuration", "file", "see nss-pam-oidc.conf(5)",
                "%s does not exist: nobody can sign in", config);
    d.cfg = cfg;
    check_files(&d, config);
    doctor_pam(&d);
    doctor_sshd(&d);
    check_nsswitch(&d);
    if (cfg != NULL) {
        check_providers(&d, offline);
        check_cache(&d);
    }
    rc = d.n_err > 0 ? 2 : d.n_warn > 0 ? 1 : 0;
    if (d.json) {
        cJSON *o = cJSON_CreateObject();
        if (o != NULL) {
            cJSON_AddNumberToObject(o, "status", rc);
            cJSON_AddNumberToObject(o, "errors", d.n_err);
            cJSON_AddNumberToObject(o, "warnings", d.n_warn);
            cJSON_AddItemToObject(o, "findings", d.arr);
            d.arr = NULL; /* transferred */
            if ((out = cJSON_Print(o)) != NULL)
                printf("%s\n", out);
            free(out);
        }
        cJSON_Delete(o);
    } else {
        printf("doctor: %d error%s, %d warning%s\n", d.n_err, d.n_err == 1 ? "" : "s", d.n_warn,
               d.n_warn == 1 ? "" : "s");
    }
    cJSON_Delete(d.arr);
    oidc_cfg_free(cfg);
    return rc;
}
