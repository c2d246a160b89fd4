/* Fleet simulation (docs/fleet.md): for a fleet of H hosts and N identities it prints, one
 * labelled key=value line per figure,
 *  - UID collisions per uid_key (name, subject) and range, found by hashing generated names and
 *    subjects with the frozen hash the hosts use (oidc_idhash_uid), next to the birthday
 *    expectation C(n,2)/m;
 *  - IdP requests per hour (discovery + JWKS per host per clamped TTL, device logins, userinfo,
 *    unknown-kid refetches bounded by jwks_cooldown);
 *  - Redis commands per second for the fleet-wide replay store;
 *  - the identity cache size and full rebuild time, built with the real cache writer.
 * Exit 1 when a printed figure is not self-consistent (check= lines). Options: --hosts H
 * --identities N --cache-sizes A,B,C (0: none) --logins-per-day D --token-logins-per-sec T
 * --max-age S --jwks-cooldown S --userinfo 0|1 --approve-sec S --token-lifetime S --redis-auth 0|1
 * --redis-select 0|1 --users-per-host U --extra-range MIN-MAX. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "conf.h"
#include "device.h"
#include "idhash.h"
#include "provider.h"
#include "replay.h"
#include "replay_redis.h"

static int failures;

static void check(int ok, const char *what)
{
    printf("check %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static double now_sec(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *mut(const char *s)
{
    union {
        const char *c;
        char *m;
    } u = {s};
    return u.m;
}

/* ------------------------------------------------------------------ identities */

static const char *const first[] = {
    "james",   "mary",      "john",    "patricia", "robert",  "jennifer", "michael", "linda",
    "william", "elizabeth", "david",   "barbara",  "richard", "susan",    "joseph",  "jessica",
    "thomas",  "sarah",     "charles", "karen",    "wei",     "li",       "yan",     "hiroshi",
    "yuki",    "ahmed",     "fatima",  "olga",     "ivan",    "priya",    "raj",     "anna",
    "lucas",   "sofia",     "noah",    "emma",     "liam",    "mia",      "lars",    "ingrid"};
static const char *const last[] = {
    "smith",    "johnson",   "williams", "brown",     "jones",    "garcia",   "miller",
    "davis",    "rodriguez", "martinez", "hernandez", "lopez",    "gonzalez", "wilson",
    "anderson", "thomas",    "taylor",   "moore",     "jackson",  "martin",   "lee",
    "perez",    "thompson",  "white",    "harris",    "sanchez",  "clark",    "ramirez",
    "lewis",    "robinson",  "walker",   "young",     "allen",    "king",     "wright",
    "scott",    "torres",    "nguyen",   "hill",      "flores",   "green",    "adams",
    "nelson",   "baker",     "hall",     "rivera",    "campbell", "mitchell", "carter",
    "roberts",  "wang",      "zhang",    "chen",      "liu",      "yamamoto", "tanaka",
    "kumar",    "singh",     "ivanov",   "petrov",    "muller",   "schmidt",  "schneider",
    "fischer",  "weber",     "meyer",    "wagner",    "becker",   "schulz",   "hoffmann",
    "rossi",    "russo",     "ferrari",  "esposito",  "bianchi",  "romano",   "colombo",
    "ricci",    "marino",    "greco"};
#define NF (sizeof(first) / sizeof(first[0]))
#define NL (sizeof(last) / sizeof(last[0]))

struct ident {
    char name[OIDC_NAME_MAX + 1];
    char *key_sub; /* iss '\n' sub */
    size_t key_sub_len;
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Identity i: 70% people "first.last[N]" at a Keycloak realm with UUID subjects, 20% numbered
 * accounts "user12345" at Google with 21-digit subjects, 10% CI workloads at GitHub Actions with
 * "repo:org/app:ref:refs/heads/main" subjects. Distinct by construction. */
static void make_ident(struct ident *id, size_t i)
{
    char sub[160];
    const char *iss;
    uint64_t r = mix(i), r2 = mix(i ^ 0xabcdefULL);
    size_t k = i / 10, kind = i % 10, len;

    if (kind < 7) {
        size_t p = k * 7 + kind, f = p % NF, l = (p / NF) % NL, dup = p / (NF * NL);
        if (dup == 0)
            snprintf(id->name, sizeof(id->name), "%s.%s", first[f], last[l]);
        else
            snprintf(id->name, sizeof(id->name), "%s.%s%zu", first[f], last[l], dup + 1);
        iss = "https://sso.example.com/realms/corp";
        snprintf(sub, sizeof(sub), "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(r >> 32),
                 (unsigned)(r >> 16) & 0xffff, (unsigned)r & 0xfff, (unsigned)(r2 >> 52),
                 (unsigned long long)(r2 & 0xffffffffffffULL));
    } else if (kind < 9) {
        snprintf(id->name, sizeof(id->name), "user%05zu", k * 2 + (kind - 7));
        iss = "https://accounts.google.com";
        snprintf(sub, sizeof(sub), "1%010llu%010llu", (unsigned long long)(r % 10000000000ULL),
                 (unsigned long long)(r2 % 10000000000ULL));
    } else {
        static const char *const refs[] = {"ref:refs/heads/main", "environment:prod",
                                           "pull_request", "ref:refs/tags/v1.2.3"};
        snprintf(id->name, sizeof(id->name), "ci-o%zu-a%zu-%zu", k % 997, k / 997, k % 4);
        iss = "https://token.actions.githubusercontent.com";
        snprintf(sub, sizeof(sub), "repo:org%zu/app%zu:%s", k % 997, k / 997, refs[k % 4]);
    }
    len = strlen(iss) + 1 + strlen(sub);
    id->key_sub = malloc(len + 1);
    if (id->key_sub == NULL) {
        perror("malloc");
        exit(1);
    }
    snprintf(id->key_sub, len + 1, "%s\n%s", iss, sub);
    id->key_sub_len = len;
}

/* ------------------------------------------------------------------ collisions */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collisions(const char *key, uint32_t *ids, size_t n, uint32_t lo, uint32_t hi,
                       size_t users_per_host, size_t hosts)
{
    double m = (double)hi - lo + 1, nn = (double)n, e_pairs, sigma, e_users, q, e_hosts;
    unsigned long long pairs = 0, users = 0, possible;
    size_t i = 0, j, h = users_per_host < n ? users_per_host : n;
    char what[160];

    qsort(ids, n, sizeof(*ids), cmp_u32);
    while (i < n) {
        for (j = i + 1; j < n && ids[j] == ids[i]; j++)
            ;
        if (j - i > 1) {
            pairs += (unsigned long long)(j - i) * (j - i - 1) / 2;
            users += j - i;
        }
        i = j;
    }
    possible = (unsigned long long)n * (n - 1) / 2;
    e_pairs = nn * (nn - 1) / 2 / m;
    sigma = sqrt(e_pairs * (1 - 1 / m));
    e_users = nn * (1 - pow(1 - 1 / m, nn - 1));
    /* a colliding pair bites on a host only where both users log in */
    q = n > 1 ? (double)h * (h - 1) / (nn * (nn - 1)) : 0;
    e_hosts = (double)hosts * (1 - pow(1 - q, (double)pairs));
    printf("collisions uid_key=%s range=%u..%u m=%.0f n=%zu pairs=%llu expected_pairs=%.2f "
           "sigma=%.2f users_affected=%llu expected_users_affected=%.2f pairs_possible=%llu "
           "users_per_host=%zu hosts_with_a_colliding_pair=%.2f\n",
           key, lo, hi, m, n, pairs, e_pairs, sigma, users, e_users, possible, h, e_hosts);
    snprintf(what, sizeof(what), "collisions uid_key=%s range=%u..%u", key, lo, hi);
    check(pairs <= possible && users <= n && users <= 2 * pairs && (pairs == 0 || users >= 2) &&
              fabs((double)pairs - e_pairs) <= 6 * sigma + 1,
          what);
}

/* ------------------------------------------------------------------ cache */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

#define GROUPS_PER_USER 5

/* A full rebuild of n users (the first n identities, uid_key = name, default range, each in 5 of
 * n/20 + 1 groups with hashed gids) with the real writer: upserts, one commit. Returns bytes per
 * user of cache.cdb + provenance.cdb. */
static double cache_build(const struct ident *ids, size_t n, const char *base, double *sec)
{
    struct oidc_idmap_env env;
    struct oidc_cache_opts opts;
    struct oidc_cache *c = NULL;
    struct oidc_cache_user u;
    struct oidc_group g[GROUPS_PER_USER];
    char dir[600], path[700], ppath[700], gn[GROUPS_PER_USER][24], pw[600], gr[600];
    struct oidc_err err = {0};
    struct stat st, pst;
    size_t i, j, ngroups = n / 20 + 1, refused = 0;
    double t0, c0, wall, cpu;
    int written = 0;

    snprintf(dir, sizeof(dir), "%s/state", base);
    snprintf(pw, sizeof(pw), "%s/passwd", base);
    snprintf(gr, sizeof(gr), "%s/group", base);
    write_file(pw, "root:x:0:0:root:/root:/bin/bash\n");
    write_file(gr, "root:x:0:\n");
    env.passwd_path = pw;
    env.group_path = gr;
    snprintf(path, sizeof(path), "%s/cache.cdb", dir);
    snprintf(ppath, sizeof(ppath), "%s/provenance.cdb", dir);
    opts.dir = dir;
    opts.env = &env;
    opts.now = 1700000000;
    if (oidc_cache_open(&opts, &c, &err) != OIDC_OK) {
        fprintf(stderr, "fleet_sim: cache open: %s\n", oidc_err_msg(&err));
        exit(1);
    }
    t0 = now_sec(CLOCK_MONOTONIC);
    c0 = now_sec(CLOCK_PROCESS_CPUTIME_ID);
    for (i = 0; i < n; i++) {
        const char *nl = strchr(ids[i].key_sub, '\n');
        memset(&u, 0, sizeof(u));
        memcpy(u.name, ids[i].name, sizeof(u.name));
        u.uid = u.gid =
            oidc_idhash_uid(u.name, strlen(u.name), OIDC_UID_MIN_DEFAULT, OIDC_UID_MAX_DEFAULT);
        u.gecos = mut("Fleet User");
        u.home = mut("/home/fleet");
        u.shell = mut("/bin/bash");
        u.issuer = mut("https://sso.example.com/realms/corp");
        u.subject = mut(nl + 1);
        u.provider = mut("people");
        u.first_login = u.last_login = opts.now;
        u.expires = opts.now + OIDC_CACHE_TTL_DEFAULT;
        u.groups = g;
        u.n_groups = GROUPS_PER_USER;
        for (j = 0; j < GROUPS_PER_USER; j++) {
            snprintf(gn[j], sizeof(gn[j]), "team-%zu", (size_t)(mix(i * 8 + j) % ngroups));
            g[j].name = gn[j];
            g[j].gid =
                oidc_idhash_gid(gn[j], strlen(gn[j]), OIDC_UID_MIN_DEFAULT, OIDC_UID_MAX_DEFAULT);
        }
        /* duplicates in one user's list: keep the first */
        for (j = 1; j < u.n_groups; j++) {
            size_t k;
            for (k = 0; k < j; k++)
                if (strcmp(g[k].name, g[j].name) == 0)
                    break;
            if (k < j) {
                g[j] = g[--u.n_groups];
                memcpy(gn[j], gn[u.n_groups], sizeof(gn[j]));
                g[j].name = gn[j];
                j--;
            }
        }
        if (oidc_cache_upsert(c, &u, &err) != OIDC_OK)
            refused++; /* a uid/gid collision: a host refuses that login the same way */
    }
    if (oidc_cache_commit(c, &written, &err) != OIDC_OK || !written) {
        fprintf(stderr, "fleet_sim: cache commit: %s\n", oidc_err_msg(&err));
        exit(1);
    }
    wall = now_sec(CLOCK_MONOTONIC) - t0;
    cpu = now_sec(CLOCK_PROCESS_CPUTIME_ID) - c0;
    oidc_cache_close(c);
    if (stat(path, &st) != 0 || stat(ppath, &pst) != 0) {
        perror(path);
        exit(1);
    }
    printf("cache users=%zu groups=%zu refused_upserts=%zu cache_cdb_bytes=%lld "
           "provenance_cdb_bytes=%lld rebuild_ms=%.1f rebuild_cpu_ms=%.1f\n",
           n, ngroups, refused, (long long)st.st_size, (long long)pst.st_size, wall * 1e3,
           cpu * 1e3);
    check(refused * 20 <= n + 20, "cache refused upserts are a small share");
    (void)unlink(path);
    (void)unlink(ppath);
    snprintf(path, sizeof(path), "%s/cache.lock", dir);
    (void)unlink(path);
    snprintf(path, sizeof(path), "%s/cache.serial", dir);
    (void)unlink(path);
    (void)rmdir(dir);
    (void)unlink(pw);
    (void)unlink(gr);
    *sec = wall;
    return (double)(st.st_size + pst.st_size) / (double)n;
}

/* ------------------------------------------------------------------ main */

static double arg_num(int argc, char **argv, const char *name, double def)
{
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtod(argv[i + 1], NULL);
    return def;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *def)
{
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static int64_t clamp(int64_t v)
{
    return v < OIDC_DOC_TTL_MIN ? OIDC_DOC_TTL_MIN : v > OIDC_DOC_TTL_MAX ? OIDC_DOC_TTL_MAX : v;
}

int main(int argc, char **argv)
{
    uint32_t ranges[4][2] = {
        {OIDC_UID_MIN_DEFAULT, OIDC_UID_MAX_DEFAULT}, {1000000, 1999999}, {60001, 2147483647u}};
    size_t nranges = 3;
    const char *extra = arg_str(argc, argv, "--extra-range", NULL);
    size_t hosts = (size_t)arg_num(argc, argv, "--hosts", 10000);
    size_t n = (size_t)arg_num(argc, argv, "--identities", 100000);
    size_t uph = (size_t)arg_num(argc, argv, "--users-per-host", 1000);
    double lpd = arg_num(argc, argv, "--logins-per-day", 2);
    double tps = arg_num(argc, argv, "--token-logins-per-sec", 20);
    double max_age = arg_num(argc, argv, "--max-age", 3600);
    double cooldown = arg_num(argc, argv, "--jwks-cooldown", OIDC_JWKS_COOLDOWN);
    double userinfo = arg_num(argc, argv, "--userinfo", 1);
    double approve = arg_num(argc, argv, "--approve-sec", 30);
    double lifetime = arg_num(argc, argv, "--token-lifetime", 600);
    double r_auth = arg_num(argc, argv, "--redis-auth", 1);
    double r_select = arg_num(argc, argv, "--redis-select", 0);
    const char *sizes = arg_str(argc, argv, "--cache-sizes", "1000,10000,100000");
    struct ident *ids;
    uint32_t *v;
    char **names;
    size_t i, r;

    if (n < 2 || hosts < 1) {
        fprintf(stderr, "fleet_sim: need --identities >= 2 and --hosts >= 1\n");
        return 2;
    }
    if (extra != NULL) {
        unsigned long lo = 0, hi = 0;
        if (sscanf(extra, "%lu-%lu", &lo, &hi) != 2 || lo < 1 || lo > hi || hi > 0xFFFFFFFEul) {
            fprintf(stderr, "fleet_sim: --extra-range wants MIN-MAX\n");
            return 2;
        }
        ranges[3][0] = (uint32_t)lo;
        ranges[3][1] = (uint32_t)hi;
        nranges = 4;
    }
    printf("fleet hosts=%zu identities=%zu users_per_host=%zu\n", hosts, n, uph);
    ids = calloc(n, sizeof(*ids));
    v = calloc(n, sizeof(*v));
    names = calloc(n, sizeof(*names));
    if (ids == NULL || v == NULL || names == NULL) {
        perror("calloc");
        return 1;
    }
    for (i = 0; i < n; i++) {
        make_ident(&ids[i], i);
        names[i] = ids[i].name;
        if (!oidc_name_valid(ids[i].name)) {
            fprintf(stderr, "fleet_sim: generated name '%s' is not valid\n", ids[i].name);
            return 1;
        }
    }
    /* distinct keys: a repeated key is the same identity, not a hash collision */
    qsort(names, n, sizeof(*names), cmp_str);
    for (i = 1; i < n && strcmp(names[i - 1], names[i]) != 0; i++)
        ;
    check(i == n, "generated names are distinct");

    for (r = 0; r < nranges; r++) {
        for (i = 0; i < n; i++)
            v[i] = oidc_idhash_uid(ids[i].name, strlen(ids[i].name), ranges[r][0], ranges[r][1]);
        collisions("name", v, n, ranges[r][0], ranges[r][1], uph, hosts);
        for (i = 0; i < n; i++)
            v[i] = oidc_idhash_uid(ids[i].key_sub, ids[i].key_sub_len, ranges[r][0], ranges[r][1]);
        collisions("subject", v, n, ranges[r][0], ranges[r][1], uph, hosts);
    }

    {
        /* IdP requests per hour */
        double ttl = (double)clamp((int64_t)max_age);
        double dev_h = (double)n * lpd / 24.0; /* device logins per hour */
        double polls = approve > 0 ? ceil(approve / OIDC_DEVICE_INTERVAL_DEFAULT) : 1;
        double per_dev = 1 + polls + (userinfo != 0 ? 1 : 0); /* device auth, polls, userinfo */
        double lam = (dev_h / 3600.0 + tps) / (double)hosts;  /* logins/s on one host */
        double bound = 2.0 * (double)hosts * 3600.0 / ttl;    /* discovery + JWKS */
        double lazy = 2.0 * (double)hosts * 3600.0 / (ttl + (lam > 0 ? 1.0 / lam : 1e18));
        double kid = (double)hosts * 3600.0 / cooldown;
        printf("idp max_age=%.0f ttl_after_clamp=%.0f discovery_jwks_per_hour_bound=%.0f "
               "discovery_jwks_per_hour_expected=%.0f host_login_rate_per_sec=%.4f\n",
               max_age, ttl, bound, lazy, lam);
        printf("idp device_logins_per_hour=%.0f requests_per_device_login=%.0f polls=%.0f "
               "userinfo=%d device_requests_per_hour=%.0f\n",
               dev_h, per_dev, polls, userinfo != 0, dev_h * per_dev);
        printf("idp unknown_kid_refetches_per_hour_max=%.0f jwks_cooldown=%.0f\n", kid, cooldown);
        printf("idp total_requests_per_hour=%.0f total_requests_per_sec=%.2f "
               "worst_case_with_forged_kids_per_sec=%.2f\n",
               lazy + dev_h * per_dev, (lazy + dev_h * per_dev) / 3600.0,
               (bound + dev_h * per_dev + kid) / 3600.0);
        check(lazy <= bound + 1e-9, "idp expected discovery+JWKS within the bound");
    }
    {
        /* Redis: one connection per token login: AUTH (with a password file), SELECT (db != 0),
         * SET NX PX; keys live exp - now + 300 s */
        double cmds = 1 + (r_auth != 0) + (r_select != 0);
        double keys = tps * (lifetime + 300);
        double local = tps / (double)hosts * (lifetime + 300);
        printf("redis token_logins_per_sec=%.2f connections_per_sec=%.2f commands_per_login=%.0f "
               "commands_per_sec=%.2f resident_keys=%.0f key_bytes=%d value_bytes=10\n",
               tps, tps, cmds, tps * cmds, keys, OIDC_REDIS_KEY_LEN);
        printf("replay_local entries_per_host=%.1f bound=%d\n", local, OIDC_REPLAY_MAX);
        check(local < OIDC_REPLAY_MAX, "local replay store stays under its bound");
    }
    {
        const char *tmp = getenv("TMPDIR");
        char base[512], *list = strdup(sizes), *save = NULL, *tok;
        double bpu = 0, sec = 0;
        size_t biggest = 0;

        snprintf(base, sizeof(base), "%s/fleet_sim.XXXXXX", tmp != NULL ? tmp : "/tmp");
        if (list == NULL || mkdtemp(base) == NULL) {
            perror(base);
            return 1;
        }
        for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            size_t k = (size_t)strtoul(tok, NULL, 10);
            if (k == 0)
                continue;
            if (k > n)
                k = n;
            bpu = cache_build(ids, k, base, &sec);
            biggest = k;
        }
        if (biggest > 0 && biggest < 100000)
            printf("cache extrapolated users=100000 bytes=%.0f rebuild_ms=%.0f from_users=%zu\n",
                   bpu * 100000, sec * 1e3 * 100000 / (double)biggest, biggest);
        free(list);
        (void)rmdir(base);
    }
    for (i = 0; i < n; i++)
        free(ids[i].key_sub);
    free(ids);
    free(v);
    free(names);
    printf("result %s (%d failed checks)\n", failures == 0 ? "ok" : "FAILED", failures);
    return failures == 0 ? 0 : 1;
}
