/* oidcctl idmap check: finds every UID/GID collision of a list of names before the names log in,
 * with the same hash, range and [provider NAME idmap] overrides the hosts use, and (--suggest)
 * prints the override lines that resolve them. docs/idmap.md, section 8, describes the checks and
 * the suggestion rule; this file implements exactly that. */
#include "config.h"
#include "oidcctl.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "idhash.h"
#include "localdb.h"

#define IDMAP_INPUT_MAX   (64u * 1024 * 1024) /* bytes of the whole list */
#define IDMAP_LINE_MAX    1024                /* bytes of one line or JSON string */
#define IDMAP_COUNT_MAX   1000000             /* entries */
#define IDMAP_SUB_MAX     255                 /* a subject (OpenID Connect Core, section 2) */
#define IDMAP_PROBE_MAX   1000000             /* counters tried for one suggestion */
#define SUGGEST_PROBE_FMT "%s#%lu"            /* the probe key: NAME '#' decimal counter */

enum kind { K_USER = 0, K_GROUP = 1 };

struct ent {
    char *key;   /* login name, group name, or subject (uid_key = subject) */
    uint32_t id; /* uid (and private gid) of a user, gid of a group */
    int kind;
    const struct oidc_idmap_override *ovr; /* the user's override, or NULL */
    int moves;                             /* --suggest: must get another uid */
};

struct ctx {
    const struct oidc_provider_cfg *p;
    uint32_t min, max;
    int subject; /* uid_key = subject: users are subjects */
    struct ent *v;
    size_t n, cap;
    struct oidc_localdb *local;
    FILE *out;   /* collision lines */
    cJSON *json; /* --json: the array of collisions */
    size_t found;
};

static int ent_add(struct ctx *c, int kind, const char *s, size_t len, const char *where,
                   const char *unit, size_t no)
{
    struct ent *nv;
    char *key;

    if (len == 0)
        return CTL_OK;
    if (c->n >= IDMAP_COUNT_MAX) {
        ctl_err("idmap check: %s: more than %d entries", where, IDMAP_COUNT_MAX);
        return CTL_USAGE;
    }
    if ((key = oidc_strndup_checked(s, len)) == NULL) {
        ctl_err("idmap check: %s, %s %zu: contains a NUL byte (or out of memory)", where, unit, no);
        return CTL_USAGE;
    }
    if (kind == K_GROUP || !c->subject) {
        if (!oidc_name_valid(key) || (kind == K_USER && strcmp(key, "root") == 0)) {
            char shown[80];
            ctl_err("idmap check: %s, %s %zu: '%s' is not a valid %s name ([a-z_][a-z0-9_.-]*, "
                    "at most %d bytes%s)",
                    where, unit, no, oidc_printable(shown, sizeof(shown), key),
                    kind == K_USER ? "login" : "group", OIDC_NAME_MAX,
                    kind == K_USER ? ", not root" : "");
            free(key);
            return CTL_USAGE;
        }
    } else {
        size_t i;
        for (i = 0; i < len; i++)
            if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
                break;
        if (len > IDMAP_SUB_MAX || i < len) {
            ctl_err("idmap check: %s, %s %zu: a subject is 1 to %d bytes without control "
                    "characters",
                    where, unit, no, IDMAP_SUB_MAX);
            free(key);
            return CTL_USAGE;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap == 0 ? 1024 : c->cap * 2;
        if ((nv = realloc(c->v, cap * sizeof(*nv))) == NULL) {
            free(key);
            ctl_err("idmap check: out of memory");
            return CTL_USAGE;
        }
        c->v = nv;
        c->cap = cap;
    }
    memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
    c->v[c->n].key = key;
    c->v[c->n].kind = kind;
    c->n++;
    return CTL_OK;
}

/* One entry: "%NAME" is a group, anything else a user. */
static int entry(struct ctx *c, const char *s, size_t len, const char *where, const char *unit,
                 size_t no)
{
    if (len > 0 && s[0] == '%')
        return ent_add(c, K_GROUP, s + 1, len - 1, where, unit, no);
    return ent_add(c, K_USER, s, len, where, unit, no);
}

static int parse_lines(struct ctx *c, const char *buf, size_t len, const char *where)
{
    size_t pos = 0, no = 0, n, next;
    const char *eol, *s;
    int rc;

    while (pos < len) {
        no++;
        eol = memchr(buf + pos, '\n', len - pos);
        n = eol != NULL ? (size_t)(eol - (buf + pos)) : len - pos;
        next = pos + n + (eol != NULL ? 1 : 0);
        s = buf + pos;
        pos = next;
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
            s++, n--;
        if (n > IDMAP_LINE_MAX) {
            ctl_err("idmap check: %s, line %zu: longer than %d bytes", where, no, IDMAP_LINE_MAX);
            return CTL_USAGE;
        }
        if (n == 0 || s[0] == '#')
            continue;
        if ((rc = entry(c, s, n, where, "line", no)) != CTL_OK)
            return rc;
    }
    return CTL_OK;
}

static int parse_json(struct ctx *c, const char *buf, size_t len, const char *where)
{
    cJSON *a = cJSON_ParseWithLength(buf, len), *it;
    size_t no = 0;
    int rc = CTL_OK;

    if (a == NULL || !cJSON_IsArray(a)) {
        ctl_err("idmap check: %s: not a JSON array of strings", where);
        cJSON_Delete(a);
        return CTL_USAGE;
    }
    cJSON_ArrayForEach(it, a)
    {
        no++;
        if (!cJSON_IsString(it) || it->valuestring == NULL) {
            ctl_err("idmap check: %s: element %zu is not a string", where, no);
            rc = CTL_USAGE;
            break;
        }
        if (strlen(it->valuestring) > IDMAP_LINE_MAX) {
            ctl_err("idmap check: %s: element %zu is longer than %d bytes", where, no,
                    IDMAP_LINE_MAX);
            rc = CTL_USAGE;
            break;
        }
        if ((rc = entry(c, it->valuestring, strlen(it->valuestring), where, "element", no)) !=
            CTL_OK)
            break;
    }
    cJSON_Delete(a);
    return rc;
}

static int read_input(const char *path, char **out, size_t *outlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    size_t len = 0, cap = 0, got;
    char *buf = NULL, *nb;

    if (f == NULL) {
        ctl_err("idmap check: cannot open %s: %m", path);
        return CTL_USAGE;
    }
    for (;;) {
        if (cap - len < 65536) {
            cap = cap == 0 ? 65536 : cap * 2;
            if (cap > IDMAP_INPUT_MAX + 1)
                cap = IDMAP_INPUT_MAX + 1;
            if ((nb = realloc(buf, cap + 1)) == NULL)
                break;
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0 || len > IDMAP_INPUT_MAX)
            break;
    }
    if (buf == NULL || ferror(f) || len > IDMAP_INPUT_MAX) {
        if (buf == NULL)
            ctl_err("idmap check: out of memory");
        else if (len > IDMAP_INPUT_MAX)
            ctl_err("idmap check: %s is larger than %u bytes", path, IDMAP_INPUT_MAX);
        else
            ctl_err("idmap check: cannot read %s", path);
        free(buf);
        if (f != stdin)
            fclose(f);
        return CTL_USAGE;
    }
    if (f != stdin)
        fclose(f);
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return CTL_OK;
}

static int cmp_key(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;

    if (x->kind != y->kind)
        return x->kind - y->kind;
    return strcmp(x->key, y->key);
}

/* Collision order: by id, users before groups, overridden users first, then by key bytes. */
static int cmp_id(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    if ((x->ovr != NULL) != (y->ovr != NULL))
        return x->ovr != NULL ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Drops repeated entries, adds every overridden name the list lacks (it is a user of the fleet
 * too), and computes each id. */
static int prepare(struct ctx *c)
{
    size_t i, j;
    int rc;

    if (c->n > 0)
        qsort(c->v, c->n, sizeof(*c->v), cmp_key);
    for (i = 0, j = 0; i < c->n; i++) {
        if (j > 0 && cmp_key(&c->v[j - 1], &c->v[i]) == 0) {
            free(c->v[i].key);
            continue;
        }
        c->v[j++] = c->v[i];
    }
    c->n = j;
    if (!c->subject) {
        for (i = 0; i < c->p->n_overrides; i++) {
            struct ent probe = {c->p->overrides[i].name, 0, K_USER, NULL, 0};
            if (c->n > 0 && bsearch(&probe, c->v, c->n, sizeof(*c->v), cmp_key) != NULL)
                continue;
            if ((rc = ent_add(c, K_USER, probe.key, strlen(probe.key), "overrides", "line",
                              i + 1)) != CTL_OK)
                return rc;
        }
    }
    for (i = 0; i < c->n; i++) {
        struct ent *e = &c->v[i];
        if (e->kind == K_GROUP) {
            e->id = oidc_idhash_gid(e->key, strlen(e->key), c->min, c->max);
        } else if (c->subject) {
            size_t il = strlen(c->p->issuer), sl = strlen(e->key);
            char *k = malloc(il + 1 + sl);
            if (k == NULL) {
                ctl_err("idmap check: out of memory");
                return CTL_USAGE;
            }
            memcpy(k, c->p->issuer, il);
            k[il] = '\n'; /* docs/idmap.md: issuer, one '\n' byte, then sub */
            memcpy(k + il + 1, e->key, sl);
            e->id = oidc_idhash_uid(k, il + 1 + sl, c->min, c->max);
            free(k);
        } else {
            e->ovr = oidc_idmap_override_find(c->p, e->key);
            e->id = oidc_idmap_name_uid(c->p, e->key, c->min, c->max);
        }
    }
    return CTL_OK;
}

static const char *kind_word(const struct ctx *c, const struct ent *e)
{
    if (e->kind == K_GROUP)
        return "group";
    return c->subject ? "subject" : "user";
}

/* "user 'alice'", "user 'alice' (override at FILE:LINE)", "group 'devs'" */
static void describe(const struct ctx *c, const struct ent *e, char *buf, size_t n)
{
    char shown[IDMAP_SUB_MAX + 1];

    oidc_printable(shown, sizeof(shown), e->key);
    if (e->ovr != NULL)
        snprintf(buf, n, "%s '%s' (override at %s)", kind_word(c, e), shown, e->ovr->where);
    else
        snprintf(buf, n, "%s '%s'", kind_word(c, e), shown);
}

/* One collision: text line "TYPE ID: A and B" (or "TYPE ID: A B" for a reserved range), or a JSON
 * object. other_kind: user, group, subject, local_user, local_group, reserved, local_name. */
static void report(struct ctx *c, const char *type, uint32_t id, const struct ent *a,
                   const char *other_kind, const char *other, const char *text)
{
    char da[IDMAP_SUB_MAX + 128];

    c->found++;
    describe(c, a, da, sizeof(da));
    if (c->json != NULL) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            return;
        cJSON_AddStringToObject(o, "type", type);
        if (strcmp(type, "name") != 0)
            cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "kind", kind_word(c, a));
        cJSON_AddStringToObject(o, "name", a->key);
        if (a->ovr != NULL)
            cJSON_AddStringToObject(o, "override", a->ovr->where);
        cJSON_AddStringToObject(o, "other_kind", other_kind);
        cJSON_AddStringToObject(o, "other", other);
        cJSON_AddItemToArray(c->json, o);
        return;
    }
    if (strcmp(type, "name") == 0)
        fprintf(c->out, "name: %s %s\n", da, text);
    else
        fprintf(c->out, "%s %" PRIu32 ": %s %s\n", type, id, da, text);
}

static void check_all(struct ctx *c)
{
    const struct oidc_localent *le;
    const struct oidc_idrange *res;
    char text[IDMAP_SUB_MAX + 256], db[IDMAP_SUB_MAX + 128];
    size_t i, j, k;

    qsort(c->v, c->n, sizeof(*c->v), cmp_id);
    /* among the list: the first of a run of equal ids against each of the others */
    for (i = 0; i < c->n; i = j) {
        size_t ng = 0;
        for (j = i + 1; j < c->n && c->v[j].id == c->v[i].id; j++)
            ;
        /* who moves: a group cannot (no override gives a group a gid), so with a group in the
         * run every user moves, and a second group is unresolvable; among users alone the
         * first (an overridden one, else the first name in byte order) keeps the id */
        for (k = i; k < j; k++) {
            if (c->v[k].kind == K_GROUP && ng++ > 0)
                c->v[k].moves = 1;
            else if (c->v[k].kind == K_USER && j - i > 1 && k > i)
                c->v[k].moves = 1;
        }
        for (k = i; k < j && ng > 0; k++)
            if (c->v[k].kind == K_USER)
                c->v[k].moves = 1;
        for (k = i + 1; k < j; k++) {
            const struct ent *a = &c->v[i], *b = &c->v[k];
            describe(c, b, db, sizeof(db));
            if (a->kind == K_USER && b->kind == K_USER) {
                snprintf(text, sizeof(text), "and %s have the same uid", db);
                report(c, "uid", a->id, a, kind_word(c, b), b->key, text);
            } else if (a->kind == K_USER) {
                snprintf(text, sizeof(text), "(its private group) and %s have the same gid", db);
                report(c, "gid", a->id, a, "group", b->key, text);
            } else {
                snprintf(text, sizeof(text), "and %s have the same gid", db);
                report(c, "gid", a->id, a, "group", b->key, text);
            }
        }
    }
    /* with the local accounts and groups, and with the reserved ranges */
    for (i = 0; i < c->n; i++) {
        struct ent *e = &c->v[i];
        if (e->kind == K_USER) {
            if ((le = oidc_localdb_user_id(c->local, e->id)) != NULL) {
                snprintf(text, sizeof(text), "and local user '%s' in %s have the same uid",
                         le->name, c->local->passwd_path);
                report(c, "uid", e->id, e, "local_user", le->name, text);
                e->moves = 1;
            }
            if ((le = oidc_localdb_group_id(c->local, e->id)) != NULL) {
                snprintf(text, sizeof(text),
                         "(its private group) and local group '%s' in %s have the same gid",
                         le->name, c->local->group_path);
                report(c, "gid", e->id, e, "local_group", le->name, text);
                e->moves = 1;
            }
            if (!c->subject && oidc_localdb_user_name(c->local, e->key) != NULL) {
                snprintf(text, sizeof(text), "is the name of a local user in %s (logins refuse it)",
                         c->local->passwd_path);
                report(c, "name", 0, e, "local_name", e->key, text);
            } else if (!c->subject && oidc_localdb_group_name(c->local, e->key) != NULL) {
                snprintf(text, sizeof(text),
                         "is the name of a local group in %s (logins refuse it)",
                         c->local->group_path);
                report(c, "name", 0, e, "local_name", e->key, text);
            }
        } else {
            if ((le = oidc_localdb_group_id(c->local, e->id)) != NULL) {
                snprintf(text, sizeof(text), "and local group '%s' in %s have the same gid",
                         le->name, c->local->group_path);
                report(c, "gid", e->id, e, "local_group", le->name, text);
                e->moves = 1;
            }
            if (oidc_localdb_group_name(c->local, e->key) != NULL) {
                snprintf(text, sizeof(text),
                         "is the name of a local group in %s (logins leave the group out)",
                         c->local->group_path);
                report(c, "name", 0, e, "local_name", e->key, text);
            }
        }
        if ((res = oidc_idhash_reserved(e->id)) != NULL) {
            snprintf(text, sizeof(text), "is in %s", res->what);
            report(c, e->kind == K_USER ? "uid" : "gid", e->id, e, "reserved", res->what, text);
            e->moves = 1;
        }
    }
}

/* ---------------------------------------------------------------- --suggest */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

struct taken {
    uint32_t *v; /* sorted: every id of the list, local uids and gids */
    size_t n;
    uint32_t *extra; /* suggestions made so far */
    size_t n_extra;
};

static int is_taken(const struct taken *t, uint32_t id)
{
    size_t i;

    if (oidc_idhash_reserved(id) != NULL ||
        (t->n > 0 && bsearch(&id, t->v, t->n, sizeof(*t->v), cmp_u32) != NULL))
        return 1;
    for (i = 0; i < t->n_extra; i++)
        if (t->extra[i] == id)
            return 1;
    return 0;
}

/* The rule (docs/idmap.md 8.2): users are taken in byte order of their names; one that must move
 * gets the first probe id(NAME "#" K), K = 1, 2, ..., hashed like a login name into the
 * provider's range, that is no id of the list, of a local account or group, of an earlier
 * suggestion, nor reserved. */
static int suggest(struct ctx *c, const char *provider)
{
    struct taken t = {NULL, 0, NULL, 0};
    char key[OIDC_NAME_MAX + 24];
    size_t i, n_moves = 0, unresolved = 0;
    unsigned long k;
    uint32_t id;
    int rc = CTL_OK;

    qsort(c->v, c->n, sizeof(*c->v), cmp_key); /* users first, by name */
    for (i = 0; i < c->n; i++)
        n_moves += c->v[i].kind == K_USER && c->v[i].moves;
    t.v = malloc((c->n + c->local->n_pw + c->local->n_gr + 1) * sizeof(*t.v));
    t.extra = malloc((n_moves + 1) * sizeof(*t.extra));
    if (t.v == NULL || t.extra == NULL) {
        ctl_err("idmap check: out of memory");
        rc = CTL_USAGE;
        goto out;
    }
    for (i = 0; i < c->n; i++)
        t.v[t.n++] = c->v[i].id;
    for (i = 0; i < c->local->n_pw; i++)
        t.v[t.n++] = c->local->pw[i].id;
    for (i = 0; i < c->local->n_gr; i++)
        t.v[t.n++] = c->local->gr[i].id;
    qsort(t.v, t.n, sizeof(*t.v), cmp_u32);

    printf("# oidcctl idmap check --suggest: uid overrides for provider '%s' (uid range "
           "%" PRIu32 "..%" PRIu32 ")\n",
           provider, c->min, c->max);
    printf("# install as " SYSCONFDIR "/nss-pam-oidc.conf.d/%s-idmap.conf, the same file on every "
           "host\n",
           provider);
    printf("[provider %s idmap]\n", provider);
    for (i = 0; i < c->n; i++) {
        const struct ent *e = &c->v[i];
        if (e->kind == K_GROUP) {
            if (e->moves) {
                printf("# unresolved: group '%s' (gid %" PRIu32 ") collides with another group, a "
                       "local group or a reserved range; a group's gid has no override: rename "
                       "the group or set group_prefix\n",
                       e->key, e->id);
                unresolved++;
            }
            continue;
        }
        if (!e->moves)
            continue;
        for (k = 1; k <= IDMAP_PROBE_MAX; k++) {
            snprintf(key, sizeof(key), SUGGEST_PROBE_FMT, e->key, k);
            id = oidc_idhash_uid(key, strlen(key), c->min, c->max);
            if (!is_taken(&t, id))
                break;
        }
        if (k > IDMAP_PROBE_MAX) {
            ctl_err("idmap check: no free uid for '%s' after %d probes: the range is too full",
                    e->key, IDMAP_PROBE_MAX);
            rc = CTL_USAGE;
            goto out;
        }
        t.extra[t.n_extra++] = id;
        if (e->ovr != NULL)
            printf("# %s = %" PRIu32 "   (replaces %s = %" PRIu32 " at %s: edit that line)\n",
                   e->key, id, e->key, e->ovr->uid, e->ovr->where);
        else
            printf("%s = %" PRIu32 "\n", e->key, id);
    }
    if (unresolved > 0)
        ctl_err("idmap check: %zu group collision%s cannot be resolved by uid overrides",
                unresolved, unresolved == 1 ? "" : "s");
out:
    free(t.v);
    free(t.extra);
    return rc;
}

/* ---------------------------------------------------------------- the command */

enum { O_SUGGEST = 256 };

static void usage(FILE *f)
{
    fprintf(f, "Usage: oidcctl idmap check [--provider NAME] [--json | --suggest] FILE|-\n"
               "  FILE: one login name per line (a subject with uid_key = subject; %%NAME is a\n"
               "  group), or a JSON array of such strings. Exit 0 no collision, 1 collisions\n"
               "  found, 2 usage or configuration error.\n");
}

int cmd_idmap(int argc, char **argv)
{
    static const struct option all[] = {
        CTL_OPT_CONFIG,
        CTL_OPT_PROVIDER,
        CTL_OPT_JSON,
        {"suggest", no_argument, NULL, O_SUGGEST},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ctl_common co = {NULL, NULL, 0};
    struct oidc_cfg *cfg = NULL;
    struct oidc_err err = {0};
    struct ctx c;
    const char *path, *s;
    char *buf = NULL, *js;
    size_t len = 0, i;
    int ch, rc = CTL_USAGE, want_suggest = 0;

    memset(&c, 0, sizeof(c));
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            usage(stdout);
            return CTL_OK;
        }
        usage(stderr);
        return CTL_USAGE;
    }
    argc--, argv++;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        switch (ch) {
        case O_SUGGEST:
            want_suggest = 1;
            break;
        case 'h':
            usage(stdout);
            return CTL_OK;
        default:
            if (ctl_common_opt(&co, ch, optarg))
                break;
            usage(stderr);
            return CTL_USAGE;
        }
    }
    if (optind != argc - 1 || (co.json && want_suggest)) {
        usage(stderr);
        return CTL_USAGE;
    }
    path = argv[optind];
    if ((rc = ctl_load_config(co.config, &cfg)) != CTL_OK)
        return rc;
    rc = CTL_USAGE;
    if ((c.p = ctl_pick_provider(cfg, co.provider)) == NULL)
        goto out;
    if (c.p->uid_key == OIDC_UID_KEY_CLAIM) {
        ctl_err("idmap check: provider '%s' takes the uid from the claim %s (uid_key = claim): "
                "nothing is hashed, so there is nothing to check here",
                c.p->name, c.p->uid_claim != NULL ? c.p->uid_claim : "?");
        goto out;
    }
    c.subject = c.p->uid_key == OIDC_UID_KEY_SUBJECT;
    if (want_suggest && c.subject) {
        ctl_err("idmap check: --suggest needs uid_key = name: overrides name login names, and "
                "provider '%s' hashes subjects",
                c.p->name);
        goto out;
    }
    c.min = c.p->uid_min;
    c.max = c.p->uid_max;
    if (c.min == 0 && c.max == 0) {
        c.min = OIDC_UID_MIN_DEFAULT;
        c.max = OIDC_UID_MAX_DEFAULT;
    }
    if ((rc = read_input(path, &buf, &len)) != CTL_OK)
        goto out;
    rc = CTL_USAGE;
    for (s = buf; s < buf + len && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'); s++)
        ;
    if (s < buf + len && *s == '[')
        rc = parse_json(&c, buf, len, path);
    else
        rc = parse_lines(&c, buf, len, path);
    if (rc != CTL_OK || (rc = prepare(&c)) != CTL_OK)
        goto out;
    rc = CTL_USAGE;
    /* the files the cache writer compares, read directly: never through NSS, so neither our
     * module nor a network source answers (docs/idmap.md, section 1) */
    if (oidc_localdb_load(NULL, &c.local, &err) != OIDC_OK) {
        ctl_err("idmap check: %s", oidc_err_msg(&err));
        goto out;
    }
    c.out = want_suggest ? stderr : stdout;
    if (co.json && (c.json = cJSON_CreateArray()) == NULL) {
        ctl_err("idmap check: out of memory");
        goto out;
    }
    check_all(&c);
    if (want_suggest && (rc = suggest(&c, c.p->name)) != CTL_OK)
        goto out;
    if (c.json != NULL) {
        if ((js = cJSON_Print(c.json)) == NULL) {
            ctl_err("idmap check: out of memory");
            goto out;
        }
        printf("%s\n", js);
        free(js);
    }
    {
        size_t users = 0, groups = 0;
        for (i = 0; i < c.n; i++)
            c.v[i].kind == K_USER ? users++ : groups++;
        fprintf(stderr,
                "oidcctl: idmap check: %zu collision%s among %zu %s%s and %zu group%s "
                "(provider '%s', range %" PRIu32 "..%" PRIu32 ", %zu override%s)\n",
                c.found, c.found == 1 ? "" : "s", users, c.subject ? "subject" : "user",
                users == 1 ? "" : "s", groups, groups == 1 ? "" : "s", c.p->name, c.min, c.max,
                c.p->n_overrides, c.p->n_overrides == 1 ? "" : "s");
    }
    rc = c.found > 0 ? CTL_REFUSED : CTL_OK;
out:
    for (i = 0; i < c.n; i++)
        free(c.v[i].key);
    free(c.v);
    free(buf);
    cJSON_Delete(c.json);
    oidc_localdb_free(c.local);
    oidc_cfg_free(cfg);
    return rc;
}
