/* oidcctl doctor: the PAM stacks of sshd, sudo and oidc-run. Each service file under /etc/pam.d
 * is read the way Linux-PAM reads it (comments, backslash continuations, "-type" lines,
 * @include, include and substack followed, bounded depth and size), and the stack around
 * pam_oidc.so is judged: present and loadable, not behind pam_deny.so or an always-succeeding
 * module, and with a control that ends the stack when it refuses (docs/pam.md): with
 * `sufficient`, `optional` or `default=ignore` a refused token falls through to the next module,
 * and whatever that module says (a password, pam_permit) decides the login. */
#include "config.h"
#include "oidcctl.h"
#include "doctor.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PAM_D       "/etc/pam.d"
#define MAX_LINES   256
#define MAX_DEPTH   8
#define LINE_CAP    2048
#define MODULE_NAME "pam_oidc.so"

/* What a control does with one return code (Linux-PAM's actions; a number is a jump). */
enum act { A_BAD = 0, A_DIE, A_OK, A_DONE, A_IGNORE, A_RESET, A_JUMP };

struct pline {
    char type[16];
    char control[256];
    char module[256];
    char args[512];
    char where[288]; /* "file:line" */
};

struct stack {
    struct pline *v;
    size_t n;
    int truncated;
};

/* The action of control for the return code named code ("success", "auth_err", ...). */
static enum act control_act(const char *control, const char *code)
{
    const char *p, *dflt = NULL, *hit = NULL;
    size_t cn = strlen(code);

    if (control[0] != '[') {
        int success = strcmp(code, "success") == 0;
        if (strcmp(control, "required") == 0)
            return success ? A_OK : A_BAD;
        if (strcmp(control, "requisite") == 0)
            return success ? A_OK : A_DIE;
        if (strcmp(control, "sufficient") == 0)
            return success ? A_DONE : A_IGNORE;
        if (strcmp(control, "optional") == 0)
            return success ? A_OK : A_IGNORE;
        if (strcmp(control, "definitive") == 0)
            return success ? A_DONE : A_DIE;
        return A_BAD; /* Linux-PAM treats an unknown control as bad */
    }
    for (p = control + 1; *p != '\0' && *p != ']';) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, code, cn) == 0 && p[cn] == '=')
            hit = p + cn + 1;
        else if (strncmp(p, "default=", 8) == 0)
            dflt = p + 8;
        while (*p != '\0' && *p != ']' && *p != ' ' && *p != '\t')
            p++;
    }
    p = hit != NULL ? hit : dflt;
    if (p == NULL)
        return A_BAD; /* unset values default to bad */
    if (isdigit((unsigned char)*p))
        return A_JUMP;
    if (strncmp(p, "ignore", 6) == 0)
        return A_IGNORE;
    if (strncmp(p, "die", 3) == 0)
        return A_DIE;
    if (strncmp(p, "ok", 2) == 0)
        return A_OK;
    if (strncmp(p, "done", 4) == 0)
        return A_DONE;
    if (strncmp(p, "reset", 5) == 0)
        return A_RESET;
    return A_BAD;
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');

    return s != NULL ? s + 1 : path;
}

static int is_module(const struct pline *l, const char *name)
{
    return strcmp(basename_of(l->module), name) == 0;
}

static int load_service(struct doc *d, const char *file, const char *type, struct stack *s,
                        int depth);

/* Splits one logical line into type, control, module and arguments; follows includes. */
static void add_line(struct doc *d, char *p, const char *file, int lineno, const char *type,
                     struct stack *s, int depth)
{
    struct pline l;
    char *tok, *end;
    size_t n;

    memset(&l, 0, sizeof(l));
    snprintf(l.where, sizeof(l.where), "%.256s:%d", file, lineno);
    if (strncmp(p, "@include", 8) == 0 && (p[8] == ' ' || p[8] == '\t')) {
        for (tok = p + 8; *tok == ' ' || *tok == '\t'; tok++)
            ;
        tok[strcspn(tok, " \t")] = '\0';
        load_service(d, tok, type, s, depth + 1);
        return;
    }
    n = strcspn(p, " \t");
    tok = p[0] == '-' ? p + 1 : p;
    if (n == 0 || (size_t)(p + n - tok) >= sizeof(l.type))
        return;
    memcpy(l.type, tok, (size_t)(p + n - tok));
    if (strcasecmp(l.type, type) != 0)
        return;
    for (p += n; *p == ' ' || *p == '\t'; p++)
        ;
    end = *p == '[' ? strchr(p, ']') : p + strcspn(p, " \t");
    if (end == NULL)
        return;
    if (*end == ']')
        end++;
    if ((size_t)(end - p) >= sizeof(l.control))
        return;
    memcpy(l.control, p, (size_t)(end - p));
    for (p = end; *p == ' ' || *p == '\t'; p++)
        ;
    n = strcspn(p, " \t");
    if (n == 0 || n >= sizeof(l.module))
        return;
    memcpy(l.module, p, n);
    for (p += n; *p == ' ' || *p == '\t'; p++)
        ;
    snprintf(l.args, sizeof(l.args), "%s", p);
    if (strcmp(l.control, "include") == 0 || strcmp(l.control, "substack") == 0) {
        load_service(d, l.module, type, s, depth + 1);
        return;
    }
    if (s->n == MAX_LINES) {
        s->truncated = 1;
        return;
    }
    s->v[s->n++] = l;
}

/* Reads PAM_D/file (or an absolute file) and appends its lines of type to s. */
static int load_service(struct doc *d, const char *file, const char *type, struct stack *s,
                        int depth)
{
    char path[512], buf[LINE_CAP], line[LINE_CAP], *p;
    size_t len = 0, n;
    int lineno = 0, start = 0;
    FILE *f;

    if (depth > MAX_DEPTH) {
        s->truncated = 1;
        return -1;
    }
    snprintf(path, sizeof(path), file[0] == '/' ? "%s" : PAM_D "/%s", file);
    if ((f = fopen(path, "re")) == NULL) {
        if (depth > 0)
            doc_add(d, DOC_ERROR, "pam", file, NULL, "an included file %s cannot be read: %s", path,
                    strerror(errno));
        return -1;
    }
    line[0] = '\0';
    while (fgets(buf, sizeof(buf), f) != NULL) {
        lineno++;
        if (len == 0)
            start = lineno;
        buf[strcspn(buf, "\r\n")] = '\0';
        if ((p = strchr(buf, '#')) != NULL)
            *p = '\0';
        n = strlen(buf);
        if (len + n + 1 >= sizeof(line)) {
            len = 0; /* an overlong logical line: dropped, as a garbled line would be */
            continue;
        }
        memcpy(line + len, buf, n + 1);
        len += n;
        if (len > 0 && line[len - 1] == '\\') {
            line[len - 1] = ' ';
            continue;
        }
        for (p = line; *p == ' ' || *p == '\t'; p++)
            ;
        if (*p != '\0')
            add_line(d, p, path, start, type, s, depth);
        len = 0;
    }
    fclose(f);
    return 0;
}

/* Linux-PAM looks up a relative module name in its own directory, not in the --with-pam-dir
 * this package was built with. */
static int module_found(const char *module, char *where, size_t cap)
{
    static const char *const dirs[] = {"/lib/*/security",   "/usr/lib/*/security",
                                       "/lib/security",     "/lib64/security",
                                       "/usr/lib/security", "/usr/lib64/security"};
    struct stat st;
    char pattern[512];
    glob_t g;
    size_t i;
    int found = 0;

    if (module[0] == '/') {
        snprintf(where, cap, "%s", module);
        return stat(module, &st) == 0 && S_ISREG(st.st_mode);
    }
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !found; i++) {
        snprintf(pattern, sizeof(pattern), "%s/%s", dirs[i], module);
        if (glob(pattern, 0, NULL, &g) == 0) {
            snprintf(where, cap, "%s", g.gl_pathv[0]);
            found = 1;
            globfree(&g);
        }
    }
    return found;
}

/* The failure codes pam_oidc's auth returns, each of which must stop the stack. */
static const char *const fail_codes[] = {"auth_err", "authinfo_unavail", "service_err",
                                         "system_err", "buf_err"};

static void judge_control(struct doc *d, const char *check, const struct pline *l, int locals)
{
    size_t i;
    enum act a;

    for (i = 0; i < sizeof(fail_codes) / sizeof(fail_codes[0]); i++) {
        a = control_act(l->control, fail_codes[i]);
        if (a == A_IGNORE || a == A_RESET || a == A_JUMP) {
            doc_add(d, DOC_ERROR, check, "auth control",
                    "use `auth [success=done user_unknown=ignore default=die] pam_oidc.so ...` "
                    "(docs/pam.md)",
                    "%s: '%s' %s on %s: a refused token or an IdP outage falls through to the "
                    "next module, which then decides the login",
                    l->where, l->control,
                    a == A_JUMP    ? "jumps"
                    : a == A_RESET ? "resets"
                                   : "is ignored",
                    fail_codes[i]);
            return;
        }
    }
    if (locals && control_act(l->control, "user_unknown") != A_IGNORE)
        doc_add(d, DOC_NOTE, check, "auth control", NULL,
                "%s: '%s' does not ignore user_unknown: local accounts cannot sign in through "
                "this stack",
                l->where, l->control);
    doc_add(d, DOC_OK, check, "auth control", NULL,
            "%s: '%s' stops the stack when pam_oidc refuses", l->where, l->control);
}

/* Lines before pam_oidc.so that decide for everyone, and lines after it that fail its users. */
static void judge_order(struct doc *d, const char *check, const struct stack *s, size_t at)
{
    const struct pline *l = &s->v[at];
    enum act a;
    size_t i;

    for (i = 0; i < at; i++) {
        if (is_module(&s->v[i], "pam_deny.so") &&
            ((a = control_act(s->v[i].control, "auth_err")) == A_DIE || a == A_BAD))
            doc_add(d, DOC_ERROR, check, "order",
                    "put the pam_oidc.so line before the other auth modules (before @include "
                    "common-auth)",
                    "%s: pam_oidc.so comes after pam_deny.so (%s): federated users are refused "
                    "before it is asked",
                    l->where, s->v[i].where);
        if (is_module(&s->v[i], "pam_permit.so") &&
            control_act(s->v[i].control, "success") == A_DONE)
            doc_add(d, DOC_ERROR, check, "order", "remove that pam_permit.so line",
                    "%s: pam_permit.so (%s) ends the stack with success before pam_oidc.so: "
                    "anyone gets in",
                    l->where, s->v[i].where);
    }
    a = control_act(l->control, "success");
    for (i = at + 1; i < s->n && a != A_DONE && a != A_JUMP; i++)
        if (is_module(&s->v[i], "pam_unix.so") || is_module(&s->v[i], "pam_deny.so")) {
            doc_add(d, DOC_WARN, check, "order",
                    "end the stack on success: success=done (or a jump past pam_deny.so)",
                    "%s: after pam_oidc.so succeeds, %s (%s) still runs and refuses federated "
                    "users",
                    l->where, basename_of(s->v[i].module), s->v[i].where);
            break;
        }
}

static const char *arg_value(const char *args, const char *key, char *buf, size_t cap)
{
    size_t kn = strlen(key), n;
    const char *p = args;

    while (*p != '\0') {
        while (*p == ' ' || *p == '\t')
            p++;
        n = strcspn(p, " \t");
        if (n > kn && strncmp(p, key, kn) == 0 && p[kn] == '=') {
            snprintf(buf, cap, "%.*s", (int)(n - kn - 1), p + kn + 1);
            return buf;
        }
        p += n;
    }
    return NULL;
}

/* sshd's device login deadline, for doctor_sshd's LoginGraceTime check. */
static void note_deadline(struct doc *d, const struct pline *l)
{
    const struct oidc_provider_cfg *p = NULL;
    char buf[128];
    const char *flow, *v;

    if (d->cfg != NULL)
        p = oidc_cfg_provider(d->cfg, arg_value(l->args, "provider", buf, sizeof(buf)));
    flow = arg_value(l->args, "flow", buf, sizeof(buf));
    if (flow != NULL ? strcmp(flow, "token") == 0 : p != NULL && p->flow == OIDC_FLOW_TOKEN)
        return;
    if (flow == NULL && p == NULL && (d->cfg == NULL || d->cfg->n_providers != 1))
        return; /* the flow follows the token's issuer: token */
    d->device_flow = 1;
    d->login_timeout = p != NULL ? p->login_timeout : OIDC_LOGIN_TIMEOUT_DEFAULT;
    if ((v = arg_value(l->args, "timeout", buf, sizeof(buf))) != NULL)
        d->login_timeout = atoi(v);
}

/* The index of the first pam_oidc.so line at or after from, or s->n. */
static size_t find_module(const struct stack *s, size_t from)
{
    size_t i;

    for (i = from; i < s->n; i++)
        if (is_module(&s->v[i], MODULE_NAME))
            return i;
    return s->n;
}

static void check_auth(struct doc *d, const char *service, const char *check, int needed)
{
    struct stack s = {NULL, 0, 0};
    char where[512];
    size_t at;

    if ((s.v = calloc(MAX_LINES, sizeof(*s.v))) == NULL) {
        doc_add(d, DOC_ERROR, check, "auth", NULL, "out of memory");
        return;
    }
    load_service(d, service, "auth", &s, 0);
    if (s.truncated)
        doc_add(d, DOC_WARN, check, "auth", "simplify the includes",
                "the auth stack nests deeper than %d includes or has more than %d lines: "
                "only the first part was checked",
                MAX_DEPTH, MAX_LINES);
    if ((at = find_module(&s, 0)) == s.n) {
        doc_add(d, needed ? DOC_ERROR : DOC_NOTE, check, "auth",
                needed ? "add the pam_oidc.so auth line of docs/pam.md" : NULL,
                "pam_oidc.so is not in the auth stack%s",
                needed ? ": federated users cannot sign in"
                       : " (access is granted by other means, e.g. %group in sudoers)");
        goto out;
    }
    /* every pam_oidc.so line (one per provider, say) must stop the stack on a refusal */
    for (; at < s.n; at = find_module(&s, at + 1)) {
        if (!module_found(s.v[at].module, where, sizeof(where)))
            doc_add(d, DOC_ERROR, check, "module",
                    "install pam_oidc.so in Linux-PAM's module directory or name it by absolute "
                    "path",
                    "%s: %s is not found%s", s.v[at].where, s.v[at].module,
                    s.v[at].module[0] == '/' ? ""
                                             : " in Linux-PAM's module directories; this build "
                                               "installs it in " PAMDIR);
        else
            doc_add(d, DOC_OK, check, "module", NULL, "%s", where);
        judge_control(d, check, &s.v[at], strcmp(service, "oidc-run") != 0);
        judge_order(d, check, &s, at);
        if (strcmp(service, "sshd") == 0 && !d->device_flow)
            note_deadline(d, &s.v[at]);
    }
out:
    free(s.v);
}

static void check_other(struct doc *d, const char *service, const char *check, const char *type,
                        enum doc_level missing)
{
    struct stack s = {NULL, 0, 0};
    size_t at;
    enum act a;

    if ((s.v = calloc(MAX_LINES, sizeof(*s.v))) == NULL) {
        doc_add(d, DOC_ERROR, check, type, NULL, "out of memory");
        return;
    }
    load_service(d, service, type, &s, 0);
    if ((at = find_module(&s, 0)) == s.n) {
        doc_add(d, missing, check, type, "add the pam_oidc.so line of docs/pam.md",
                "pam_oidc.so is not in the %s stack: %s", type,
                strcmp(type, "account") == 0
                    ? "cached users who sign in otherwise (an SSH key) skip its allow/deny rules"
                    : "the session gets no OIDC_* environment and ephemeral users stay cached");
        goto out;
    }
    a = control_act(s.v[at].control, "perm_denied");
    if (strcmp(type, "account") == 0 && (a == A_IGNORE || a == A_RESET || a == A_JUMP))
        doc_add(d, DOC_ERROR, check, type,
                "use `account [success=ok ignore=ignore default=bad] pam_oidc.so`",
                "%s: '%s' ignores perm_denied: a user the account rules refuse still gets in",
                s.v[at].where, s.v[at].control);
    else
        doc_add(d, DOC_OK, check, type, NULL, "%s: '%s'", s.v[at].where, s.v[at].control);
out:
    free(s.v);
}

void doctor_pam(struct doc *d)
{
    static const struct {
        const char *service;
        int needed; /* pam_oidc.so must be in its auth stack */
    } services[] = {{"sshd", 1}, {"sudo", 0}, {"oidc-run", 1}};
    char path[256], check[64];
    struct stat st;
    size_t i;

    for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        snprintf(path, sizeof(path), PAM_D "/%s", services[i].service);
        snprintf(check, sizeof(check), "pam %s", services[i].service);
        if (stat(path, &st) != 0) {
            doc_add(d, services[i].needed ? DOC_WARN : DOC_NOTE, check, path,
                    strcmp(services[i].service, "oidc-run") == 0
                        ? "install packaging/pam.d/oidc-run as " PAM_D "/oidc-run"
                        : NULL,
                    "%s does not exist: %s", path,
                    strcmp(services[i].service, "oidc-run") == 0
                        ? "oidcctl run cannot open a session"
                        : "Linux-PAM uses " PAM_D "/other for it");
            continue;
        }
        check_auth(d, services[i].service, check, services[i].needed);
        if (services[i].needed) {
            check_other(d, services[i].service, check, "account", DOC_WARN);
            check_other(d, services[i].service, check, "session", DOC_NOTE);
        }
    }
}
