/* oidcctl users | groups | user add/del | prune | cache verify/sync: the identity cache
 * (common/cache.h, docs/cache.md). Listing reads a snapshot without the lock; every change takes
 * the writer's lock. */
#include "config.h"
#include "oidcctl.h"

#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "idhash.h"

#define DEFAULT_HOME  "/home/{name}"
#define DEFAULT_SHELL "/bin/bash"

/* Options of the cache subcommands. */
struct opts {
    struct ctl_common c;
    char *subject, *home, *gecos; /* optarg strings */
};

enum {
    O_CONFIG = 'c',
    O_JSON = 'j',
    O_PROVIDER = 'p',
    O_SUBJECT = 's',
    O_HOME = 'H',
    O_GECOS = 'g'
};

/* Parses argv[1..] against the options named in allowed (a string of O_* letters); positional
 * arguments are left in argv[optind..]. */
static int parse(int argc, char **argv, const char *allowed, const char *usage, struct opts *o)
{
    static const struct option all[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"json", no_argument, NULL, O_JSON},
        {"provider", required_argument, NULL, O_PROVIDER},
        {"subject", required_argument, NULL, O_SUBJECT},
        {"home", required_argument, NULL, O_HOME},
        {"gecos", required_argument, NULL, O_GECOS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        if (ch == 'h') {
            printf("Usage: oidcctl %s\n", usage);
            return -1;
        }
        if (ch == '?' || strchr(allowed, ch) == NULL) {
            const struct option *op;
            for (op = all; ch != '?' && op->name != NULL; op++)
                if (op->val == ch)
                    ctl_err("option --%s is not used here (usage: oidcctl %s)", op->name, usage);
            return CTL_USAGE;
        }
        switch (ch) {
        case O_CONFIG:
            o->c.config = optarg;
            break;
        case O_JSON:
            o->c.json = 1;
            break;
        case O_PROVIDER:
            o->c.provider = optarg;
            break;
        case O_SUBJECT:
            o->subject = optarg;
            break;
        case O_HOME:
            o->home = optarg;
            break;
        case O_GECOS:
            o->gecos = optarg;
            break;
        }
    }
    return CTL_OK;
}

/* The parse result as an exit code: -1 (help printed) is success. */
static int parsed(int r)
{
    return r < 0 ? CTL_OK : r;
}

static int exit_code(int r)
{
    return r == OIDC_ERR_CONFIG || r == OIDC_ERR_INVALID ? CTL_USAGE : CTL_REFUSED;
}

static void cache_opts(const struct oidc_cfg *cfg, struct oidc_cache_opts *co)
{
    memset(co, 0, sizeof(*co));
    co->dir = cfg->state_dir;
}

/* "2024-05-01T10:00:00Z", or what instead of 0. */
static const char *when(int64_t t, const char *zero, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0)
        return zero;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "%" PRId64, t);
    return buf;
}

static void flag_words(const struct oidc_cache_user *u, int64_t now, int prov, char *buf,
                       size_t cap)
{
    buf[0] = '\0';
    if (u->expires != 0 && u->expires <= now)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%sexpired", buf[0] ? "," : "");
    if (u->flags & OIDC_CACHE_F_PREPROVISIONED)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%spreprovisioned", buf[0] ? "," : "");
    if (u->flags & OIDC_CACHE_F_EPHEMERAL)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%sephemeral", buf[0] ? "," : "");
    if (prov && u->subject[0] == '\0')
        snprintf(buf + strlen(buf), cap - strlen(buf), "%sunbound", buf[0] ? "," : "");
    if (buf[0] == '\0')
        snprintf(buf, cap, "-");
}

static int print_json(cJSON *doc)
{
    char *s = doc != NULL ? cJSON_Print(doc) : NULL;

    cJSON_Delete(doc);
    if (s == NULL) {
        ctl_err("out of memory");
        return CTL_REFUSED;
    }
    puts(s);
    free(s);
    return CTL_OK;
}

/* Loads the configuration and a read-only snapshot of the cache. */
static int snapshot(const struct opts *o, struct oidc_cfg **cfg, struct oidc_cache **c)
{
    struct oidc_cache_opts co;
    struct oidc_err err = {0};
    int rc, r;

    if ((rc = ctl_load_config(o->c.config, cfg)) != CTL_OK)
        return rc;
    cache_opts(*cfg, &co);
    if ((r = oidc_cache_load(&co, c, &err)) != OIDC_OK) {
        ctl_err("%s", oidc_err_msg(&err));
        oidc_cfg_free(*cfg);
        *cfg = NULL;
        return exit_code(r);
    }
    return CTL_OK;
}

/* prov: the provenance was readable (oidc_cache_has_provenance); otherwise its fields are null */
static cJSON *user_json(const struct oidc_cache_user *u, int64_t now, int prov)
{
    cJSON *o = cJSON_CreateObject(), *g = cJSON_CreateArray(), *f = cJSON_CreateArray(), *e;
    size_t k;

    if (o == NULL || g == NULL || f == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(g);
        cJSON_Delete(f);
        return NULL;
    }
    cJSON_AddStringToObject(o, "name", u->name);
    cJSON_AddNumberToObject(o, "uid", u->uid);
    cJSON_AddNumberToObject(o, "gid", u->gid);
    cJSON_AddStringToObject(o, "gecos", u->gecos);
    cJSON_AddStringToObject(o, "home", u->home);
    cJSON_AddStringToObject(o, "shell", u->shell);
    if (prov) {
        cJSON_AddStringToObject(o, "provider", u->provider);
        cJSON_AddStringToObject(o, "issuer", u->issuer);
        cJSON_AddStringToObject(o, "subject", u->subject);
        cJSON_AddNumberToObject(o, "first_login", (double)u->first_login);
        cJSON_AddNumberToObject(o, "last_login", (double)u->last_login);
    } else {
        cJSON_AddNullToObject(o, "provider");
        cJSON_AddNullToObject(o, "issuer");
        cJSON_AddNullToObject(o, "subject");
        cJSON_AddNullToObject(o, "first_login");
        cJSON_AddNullToObject(o, "last_login");
    }
    cJSON_AddNumberToObject(o, "expires", (double)u->expires);
    cJSON_AddBoolToObject(o, "expired", u->expires != 0 && u->expires <= now);
    if (u->flags & OIDC_CACHE_F_PREPROVISIONED)
        cJSON_AddItemToArray(f, cJSON_CreateString("preprovisioned"));
    if (u->flags & OIDC_CACHE_F_EPHEMERAL)
        cJSON_AddItemToArray(f, cJSON_CreateString("ephemeral"));
    cJSON_AddItemToObject(o, "flags", f);
    for (k = 0; k < u->n_groups; k++) {
        if ((e = cJSON_CreateObject()) == NULL)
            break;
        cJSON_AddStringToObject(e, "name", u->groups[k].name);
        cJSON_AddNumberToObject(e, "gid", u->groups[k].gid);
        cJSON_AddItemToArray(g, e);
    }
    cJSON_AddItemToObject(o, "groups", g);
    return o;
}

int cmd_users(int argc, char **argv)
{
    static const char usage[] = "users [--config PATH] [--json]";
    struct oidc_cfg *cfg = NULL;
    struct oidc_cache *c = NULL;
    const struct oidc_cache_user *u;
    struct opts o;
    char t1[32], t2[32], fl[64];
    int64_t now = oidc_now();
    size_t i, n;
    int rc, prov;

    if ((rc = parse(argc, argv, "cj", usage, &o)) != CTL_OK)
        return parsed(rc);
    if (optind < argc) {
        ctl_err("users: unexpected argument '%s' (usage: oidcctl %s)", argv[optind], usage);
        return CTL_USAGE;
    }
    if ((rc = snapshot(&o, &cfg, &c)) != CTL_OK)
        return rc;
    n = oidc_cache_count(c);
    prov = oidc_cache_has_provenance(c);
    if (!prov)
        ctl_err("note: the provider, subject and login times are in %s/%s, which only root may "
                "read",
                cfg->state_dir, OIDC_PROV_FILE);
    if (o.c.json) {
        cJSON *a = cJSON_CreateArray();
        for (i = 0; a != NULL && i < n; i++)
            cJSON_AddItemToArray(a, user_json(oidc_cache_at(c, i), now, prov));
        rc = print_json(a);
    } else {
        printf("%-20s %10s %-12s %-20s %-20s %-24s %s\n", "NAME", "UID", "PROVIDER", "LAST LOGIN",
               "EXPIRES", "FLAGS", "SUBJECT");
        for (i = 0; i < n; i++) {
            u = oidc_cache_at(c, i);
            flag_words(u, now, prov, fl, sizeof(fl));
            printf("%-20s %10" PRIu32 " %-12s %-20s %-20s %-24s %s\n", u->name, u->uid,
                   prov ? u->provider : "?", prov ? when(u->last_login, "-", t1) : "?",
                   when(u->expires, "never", t2), fl,
                   !prov                   ? "?"
                   : u->subject[0] != '\0' ? u->subject
                                           : "-");
        }
        printf("%zu user%s\n", n, n == 1 ? "" : "s");
    }
    oidc_cache_close(c);
    oidc_cfg_free(cfg);
    return rc;
}

/* groups: (group, member) pairs from every user, sorted by group then member. */
struct pair {
    const char *group, *member;
    uint32_t gid;
    int64_t expires;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int r = strcmp(x->group, y->group);

    return r != 0 ? r : strcmp(x->member, y->member);
}

int cmd_groups(int argc, char **argv)
{
    static const char usage[] = "groups [--config PATH] [--json]";
    struct oidc_cfg *cfg = NULL;
    struct oidc_cache *c = NULL;
    const struct oidc_cache_user *u;
    struct pair *p = NULL;
    struct opts o;
    size_t i, k, n = 0, cap = 0, start, ngroups = 0;
    cJSON *a = NULL, *g = NULL, *m = NULL;
    char t[32];
    int rc;

    if ((rc = parse(argc, argv, "cj", usage, &o)) != CTL_OK)
        return parsed(rc);
    if (optind < argc) {
        ctl_err("groups: unexpected argument '%s' (usage: oidcctl %s)", argv[optind], usage);
        return CTL_USAGE;
    }
    if ((rc = snapshot(&o, &cfg, &c)) != CTL_OK)
        return rc;
    for (i = 0; i < oidc_cache_count(c); i++) {
        u = oidc_cache_at(c, i);
        for (k = 0; k < u->n_groups; k++) {
            if (n == cap) {
                struct pair *np;
                cap = cap != 0 ? cap * 2 : 64;
                if ((np = realloc(p, cap * sizeof(*p))) == NULL) {
                    ctl_err("out of memory");
                    rc = CTL_REFUSED;
                    goto out;
                }
                p = np;
            }
            p[n].group = u->groups[k].name;
            p[n].member = u->name;
            p[n].gid = u->groups[k].gid;
            p[n].expires = u->expires;
            n++;
        }
    }
    if (n > 0)
        qsort(p, n, sizeof(*p), cmp_pair);
    if (o.c.json && (a = cJSON_CreateArray()) == NULL) {
        ctl_err("out of memory");
        rc = CTL_REFUSED;
        goto out;
    }
    if (!o.c.json)
        printf("%-32s %10s %-20s %s\n", "GROUP", "GID", "EXPIRES", "MEMBERS");
    for (start = 0; start < n; start = i) {
        int64_t exp = p[start].expires;
        for (i = start; i < n && strcmp(p[i].group, p[start].group) == 0; i++)
            if (exp != 0 && (p[i].expires == 0 || p[i].expires > exp))
                exp = p[i].expires;
        ngroups++;
        if (o.c.json) {
            if ((g = cJSON_CreateObject()) == NULL || (m = cJSON_CreateArray()) == NULL) {
                cJSON_Delete(g);
                break;
            }
            cJSON_AddStringToObject(g, "name", p[start].group);
            cJSON_AddNumberToObject(g, "gid", p[start].gid);
            cJSON_AddNumberToObject(g, "expires", (double)exp);
            for (k = start; k < i; k++)
                cJSON_AddItemToArray(m, cJSON_CreateString(p[k].member));
            cJSON_AddItemToObject(g, "members", m);
            cJSON_AddItemToArray(a, g);
        } else {
            printf("%-32s %10" PRIu32 " %-20s ", p[start].group, p[start].gid,
                   when(exp, "never", t));
            for (k = start; k < i; k++)
                printf("%s%s", k > start ? "," : "", p[k].member);
            printf("\n");
        }
    }
    if (o.c.json) {
        rc = print_json(a);
        a = NULL;
    } else {
        printf("%zu group%s (each user also has a private group of its own name)\n", ngroups,
               ngroups == 1 ? "" : "s");
    }
out:
    cJSON_Delete(a);
    free(p);
    oidc_cache_close(c);
    oidc_cfg_free(cfg);
    return rc;
}

/* The uid a pre-provisioned name will have at its first login. */
static int preprovision_uid(const struct oidc_provider_cfg *p, const char *name,
                            const char *subject, uint32_t *uid)
{
    struct oidc_err err = {0};
    const struct oidc_idmap_override *o;
    int r = oidc_cache_preprovision_uid(p, name, subject, uid, &err);

    if (r == OIDC_OK) {
        /* the uid the mapper gives the name: a [provider NAME idmap] override wins */
        if (p->uid_key == OIDC_UID_KEY_NAME && (o = oidc_idmap_override_find(p, name)) != NULL)
            *uid = o->uid;
        return CTL_OK;
    }
    ctl_err("user add: %s", oidc_err_msg(&err));
    return exit_code(r);
}

static int user_add(const struct opts *o, const struct oidc_cfg *cfg, const char *name)
{
    char home[1024], shell[] = DEFAULT_SHELL, empty[] = "";
    const struct oidc_provider_cfg *p;
    const char *tmpl;
    struct oidc_cache_user u;
    struct oidc_cache_opts co;
    struct oidc_cache *c = NULL;
    struct oidc_err err = {0};
    int r, rc;

    if (!oidc_name_valid(name) || strcmp(name, "root") == 0) {
        ctl_err("user add: '%s' is not a usable login name ([a-z_][a-z0-9_.-]*, at most %d bytes)",
                name, OIDC_NAME_MAX);
        return CTL_USAGE;
    }
    if ((p = ctl_pick_provider(cfg, o->c.provider)) == NULL)
        return CTL_USAGE;
    if (o->subject != NULL && (o->subject[0] == '\0' || strlen(o->subject) > 255)) {
        ctl_err("user add: --subject must be 1 to 255 bytes");
        return CTL_USAGE;
    }
    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", name);
    if ((rc = preprovision_uid(p, name, o->subject, &u.uid)) != CTL_OK)
        return rc;
    u.gid = u.uid;
    tmpl = p->home != NULL && p->home[0] != '\0' ? p->home : DEFAULT_HOME;
    if (o->home != NULL) {
        snprintf(home, sizeof(home), "%s", o->home);
    } else if (oidc_cache_home_expand(tmpl, name, home, sizeof(home)) != 0) {
        ctl_err("user add: provider '%s': home template '%s' uses claims other than {name}; give "
                "the home directory with --home PATH",
                p->name, tmpl);
        return CTL_USAGE;
    }
    /* the strings are borrowed for the upsert, which copies them */
    u.home = home;
    u.shell = p->shell != NULL && p->shell[0] != '\0' ? p->shell : shell;
    u.gecos = o->gecos != NULL ? o->gecos : empty;
    u.issuer = p->issuer;
    u.subject = o->subject != NULL ? o->subject : empty;
    u.provider = p->name;
    /* never logged in and never expiring until the first login binds it (docs/cache.md) */
    u.flags = OIDC_CACHE_F_PREPROVISIONED;
    cache_opts(cfg, &co);
    if ((r = oidc_cache_open(&co, &c, &err)) != OIDC_OK) {
        ctl_err("user add: %s", oidc_err_msg(&err));
        return exit_code(r);
    }
    if (oidc_cache_find(c, name) != NULL) {
        ctl_err("user add: '%s' is already in the cache (oidcctl user del %s first)", name, name);
        r = OIDC_ERR_MAPPING;
    } else if ((r = oidc_cache_upsert(c, &u, &err)) != OIDC_OK ||
               (r = oidc_cache_commit(c, NULL, &err)) != OIDC_OK) {
        ctl_err("user add: %s", oidc_err_msg(&err));
    }
    oidc_cache_close(c);
    if (r != OIDC_OK)
        return exit_code(r);
    printf("added %s: uid %" PRIu32 ", provider %s, %s\n", name, u.uid, p->name,
           o->subject != NULL ? "bound to the given subject" : "bound by its first login");
    return CTL_OK;
}

static int user_del(const struct oidc_cfg *cfg, const char *name)
{
    struct oidc_cache_opts co;
    struct oidc_cache *c = NULL;
    struct oidc_err err = {0};
    int r;

    cache_opts(cfg, &co);
    if ((r = oidc_cache_open(&co, &c, &err)) == OIDC_OK &&
        (r = oidc_cache_delete(c, name, &err)) == OIDC_OK)
        r = oidc_cache_commit(c, NULL, &err);
    oidc_cache_close(c);
    if (r != OIDC_OK) {
        ctl_err("user del: %s", oidc_err_msg(&err));
        return exit_code(r);
    }
    printf("removed %s\n", name);
    return CTL_OK;
}

int cmd_user(int argc, char **argv)
{
    static const char usage[] = "user add NAME [--provider NAME] [--subject SUB] [--home PATH] "
                                "[--gecos TEXT] [--config PATH]\n"
                                "       oidcctl user del NAME [--config PATH]";
    struct oidc_cfg *cfg = NULL;
    const char *verb, *name;
    struct opts o;
    int rc, add;

    if (argc < 2 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "del") != 0)) {
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            printf("Usage: oidcctl %s\n", usage);
            return CTL_OK;
        }
        ctl_err("user: expected 'add' or 'del' (usage: oidcctl %s)", usage);
        return CTL_USAGE;
    }
    verb = argv[1];
    add = strcmp(verb, "add") == 0;
    if ((rc = parse(argc - 1, argv + 1, add ? "cpsHg" : "c", usage, &o)) != CTL_OK)
        return parsed(rc);
    if (argc - 1 - optind != 1) {
        ctl_err("user %s: expected one NAME (usage: oidcctl %s)", verb, usage);
        return CTL_USAGE;
    }
    name = argv[1 + optind];
    if ((rc = ctl_load_config(o.c.config, &cfg)) != CTL_OK)
        return rc;
    rc = add ? user_add(&o, cfg, name) : user_del(cfg, name);
    oidc_cfg_free(cfg);
    return rc;
}

int cmd_prune(int argc, char **argv)
{
    static const char usage[] = "prune [--config PATH]";
    struct oidc_cfg *cfg = NULL;
    struct oidc_cache_opts co;
    struct oidc_cache *c = NULL;
    struct oidc_err err = {0};
    struct opts o;
    size_t removed = 0;
    int rc, r;

    if ((rc = parse(argc, argv, "c", usage, &o)) != CTL_OK)
        return parsed(rc);
    if (optind < argc) {
        ctl_err("prune: unexpected argument '%s' (usage: oidcctl %s)", argv[optind], usage);
        return CTL_USAGE;
    }
    if ((rc = ctl_load_config(o.c.config, &cfg)) != CTL_OK)
        return rc;
    cache_opts(cfg, &co);
    if ((r = oidc_cache_open(&co, &c, &err)) == OIDC_OK &&
        (r = oidc_cache_prune(c, &removed, &err)) == OIDC_OK)
        r = oidc_cache_commit(c, NULL, &err);
    oidc_cache_close(c);
    oidc_cfg_free(cfg);
    if (r != OIDC_OK) {
        ctl_err("prune: %s", oidc_err_msg(&err));
        return exit_code(r);
    }
    printf("removed %zu expired entr%s\n", removed, removed == 1 ? "y" : "ies");
    return CTL_OK;
}

static void report_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("  problem: %s\n", line);
}

static int cache_verify(const struct oidc_cfg *cfg)
{
    struct oidc_cache_opts co;
    struct oidc_cache *c = NULL;
    struct oidc_err err = {0};
    int r;

    cache_opts(cfg, &co);
    printf("checking %s/%s and %s\n", cfg->state_dir, OIDC_CACHE_FILE, OIDC_PROV_FILE);
    if ((r = oidc_cache_verify(&co, report_line, NULL, &err)) != OIDC_OK) {
        printf("%s\n", oidc_err_msg(&err));
        return CTL_REFUSED;
    }
    if ((r = oidc_cache_load(&co, &c, &err)) != OIDC_OK) { /* verify passed; this should too */
        printf("%s\n", oidc_err_msg(&err));
        return CTL_REFUSED;
    }
    printf("cache OK: %zu user%s\n", oidc_cache_count(c), oidc_cache_count(c) == 1 ? "" : "s");
    oidc_cache_close(c);
    return CTL_OK;
}

static uint32_t preauth_uid_of(const struct oidc_provider_cfg *p, const char *name)
{
    uint32_t min = p->uid_min, max = p->uid_max;

    if (min == 0 && max == 0) {
        min = OIDC_UID_MIN_DEFAULT;
        max = OIDC_UID_MAX_DEFAULT;
    }
    return oidc_idmap_name_uid(p, name, min, max);
}

static int preauth_matches(const struct oidc_provider_cfg *p, const char *name)
{
    size_t k;

    for (k = 0; k < p->preauth_allow.n; k++)
        if (fnmatch(p->preauth_allow.v[k], name, 0) == 0)
            return 1;
    return 0;
}

/* An overridden name that the patterns of two preauth providers match, with different uids:
 * the NSS module gives sshd no provisional entry for it (it cannot know whose token will
 * come), so its first SSH login fails. Says so, once per name; returns how many. */
static size_t warn_ambiguous_overrides(const struct oidc_cfg *cfg)
{
    size_t i, j, k, n = 0;

    for (i = 0; i < cfg->n_providers; i++) {
        const struct oidc_provider_cfg *p = cfg->providers[i];

        if (!p->preauth)
            continue;
        for (k = 0; k < p->n_overrides; k++) {
            const char *name = p->overrides[k].name;

            if (!preauth_matches(p, name))
                continue;
            for (j = 0; j < cfg->n_providers; j++) {
                const struct oidc_provider_cfg *q = cfg->providers[j];

                if (j == i || !q->preauth || !preauth_matches(q, name) ||
                    preauth_uid_of(q, name) == p->overrides[k].uid)
                    continue;
                if (j < i && oidc_idmap_override_find(q, name) != NULL)
                    break; /* said when q's overrides were looked at */
                ctl_err("warning: '%s' matches the preauth_allow patterns of providers '%s' "
                        "(uid %" PRIu32 ", override at %s) and '%s' (uid %" PRIu32
                        "): sshd gets no provisional entry for it, so its first SSH login fails; "
                        "give it the same override in both, or narrow preauth_allow",
                        name, p->name, p->overrides[k].uid, p->overrides[k].where, q->name,
                        preauth_uid_of(q, name));
                n++;
                break;
            }
        }
    }
    return n;
}

static int cache_sync(const struct oidc_cfg *cfg)
{
    struct oidc_cache_opts co;
    struct oidc_cache *c = NULL;
    struct oidc_err err = {0};
    int r, written = 0;
    size_t i, n = 0, nov = 0;

    for (i = 0; i < cfg->n_providers; i++)
        if (cfg->providers[i]->preauth) {
            n++;
            nov += cfg->providers[i]->n_overrides;
        }
    cache_opts(cfg, &co);
    if ((r = oidc_cache_open(&co, &c, &err)) == OIDC_OK &&
        (r = oidc_cache_set_preauth(c, cfg, &err)) == OIDC_OK)
        r = oidc_cache_commit(c, &written, &err);
    oidc_cache_close(c);
    if (r != OIDC_OK) {
        ctl_err("cache sync: %s", oidc_err_msg(&err));
        return exit_code(r);
    }
    printf("cache file %s (preauth record: %zu provider%s with preauth = yes, %zu override%s)\n",
           written ? "rewritten" : "unchanged", n, n == 1 ? "" : "s", nov, nov == 1 ? "" : "s");
    (void)warn_ambiguous_overrides(cfg);
    return CTL_OK;
}

int cmd_cache(int argc, char **argv)
{
    static const char usage[] = "cache verify|sync [--config PATH]";
    struct oidc_cfg *cfg = NULL;
    struct opts o;
    int rc, verify;

    if (argc < 2 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "sync") != 0)) {
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            printf("Usage: oidcctl %s\n", usage);
            return CTL_OK;
        }
        ctl_err("cache: expected 'verify' or 'sync' (usage: oidcctl %s)", usage);
        return CTL_USAGE;
    }
    verify = strcmp(argv[1], "verify") == 0;
    if ((rc = parse(argc - 1, argv + 1, "c", usage, &o)) != CTL_OK)
        return parsed(rc);
    if (optind < argc - 1) {
        ctl_err("cache %s: unexpected argument '%s'", argv[1], argv[1 + optind]);
        return CTL_USAGE;
    }
    if ((rc = ctl_load_config(o.c.config, &cfg)) != CTL_OK)
        return rc;
    rc = verify ? cache_verify(cfg) : cache_sync(cfg);
    oidc_cfg_free(cfg);
    return rc;
}
