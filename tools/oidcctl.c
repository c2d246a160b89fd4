/* oidcctl: admin and user command line of nss-pam-oidc. */
#include "config.h"
#include "oidcctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

static const char usage_text[] =
    "Usage: oidcctl COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  verify-token [--provider NAME | --issuer URL --audience AUD] [--jwks FILE]\n"
    "               [--now UNIX_TIME] [--leeway SECONDS] [--nonce VALUE] [--json]\n"
    "               TOKEN_FILE|-\n"
    "      Verify a JWT. With --jwks the keys come from FILE and nothing is fetched;\n"
    "      otherwise from the provider's cached or fetched JWKS. Prints the claims and\n"
    "      the mapped local identity. Exit 0 valid, 1 refused (one line naming the\n"
    "      failed rule), 2 usage or configuration error.\n"
    "  login [--provider NAME] [--timeout SECONDS] [--json]\n"
    "      Sign in with the OAuth 2.0 Device Authorization Grant in this terminal and\n"
    "      print the verified identity.\n"
    "  check-config [--provider NAME] [--offline]\n"
    "      Parse the configuration, fetch each provider's discovery document and JWKS,\n"
    "      and report every problem with its fix.\n"
    "  askpass [--token-file FILE | --token-env VAR] --hosts PATTERNS PROMPT\n"
    "      SSH_ASKPASS helper for token logins: answers pam_oidc's token prompts in\n"
    "      chunks from FILE, $VAR, $OIDC_TOKEN_FILE or $OIDC_TOKEN, for the hosts\n"
    "      PATTERNS (or $OIDC_TOKEN_HOSTS) name only; any other prompt exits 1\n"
    "      unanswered, and without a host list nothing is answered.\n"
    "  run [--provider NAME] [--service SERVICE] (--token-file FILE|- | --token-env VAR)\n"
    "      [--kill-at-expiry] -- COMMAND [ARGS...]\n"
    "      Run COMMAND as the user the token maps to, through the PAM service\n"
    "      oidc-run, in a session, terminal and cgroup of its own; every process of\n"
    "      the run ends with it. Exit: the command's, 125 refused, 126/127 not run.\n"
    "  doctor [--json] [--offline] [--sshd PATH] [--ssh-user NAME]\n"
    "      Check the whole host (sshd, PAM stacks, nsswitch, file modes, the IdPs,\n"
    "      the clock, the cache, the uid range) and print each problem with its fix.\n"
    "      Exit 0 good, 1 warnings, 2 errors, 3 usage.\n"
    "  idmap check [--provider NAME] [--json | --suggest] FILE|-\n"
    "      Report every uid/gid collision of a list of names (or subjects) with each\n"
    "      other, local accounts and systemd's ranges; --suggest prints overrides.\n"
    "      Exit 0 none, 1 collisions, 2 error.\n"
    "  users [--json]\n"
    "  groups [--json]\n"
    "      List the identity cache: users with provider, subject, last login, expiry\n"
    "      and flags; groups with gid, expiry and members.\n"
    "  user add NAME [--provider NAME] [--subject SUB] [--home PATH] [--gecos TEXT]\n"
    "      Pre-provision NAME with the uid its first login will map to (uid_key =\n"
    "      subject needs --subject; uid_key = claim cannot be pre-provisioned).\n"
    "  user del NAME\n"
    "      Remove NAME from the cache (a cached name stays bound to its subject\n"
    "      until removed or expired).\n"
    "  prune\n"
    "      Remove expired cache entries.\n"
    "  cache verify\n"
    "      Check the cache file and every invariant; exit 0 clean, 1 problems.\n"
    "  cache sync\n"
    "      Rewrite the cache's preauth and override records from the configuration.\n"
    "  idmap check [--provider NAME] [--json | --suggest] FILE|-\n"
    "      Report every uid/gid collision of a list of login names (subjects with\n"
    "      uid_key = subject; %NAME is a group), one per line or a JSON array: among\n"
    "      them, with local users and groups, and with systemd's reserved ranges.\n"
    "      --suggest prints [provider NAME idmap] lines that resolve them. Exit 0 no\n"
    "      collision, 1 collisions, 2 usage or configuration error.\n"
    "\n"
    "Options for every command:\n"
    "  --config PATH   configuration file (default " SYSCONFDIR "/nss-pam-oidc.conf)\n"
    "\n"
    "oidcctl --help prints this text; oidcctl --version the version.\n";

void ctl_err(const char *fmt, ...)
{
    va_list ap;

    fputs("oidcctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int ctl_load_config(const char *path, struct oidc_cfg **out)
{
    struct oidc_err err = {0};
    char *arg = NULL;
    const char *argv[1];
    int r;

    if (path != NULL) {
        if ((arg = malloc(strlen(path) + 8)) == NULL) {
            ctl_err("out of memory");
            return CTL_USAGE;
        }
        sprintf(arg, "config=%s", path);
        argv[0] = arg;
    }
    r = oidc_cfg_load(path != NULL ? 1 : 0, argv, out, &err);
    free(arg);
    if (r != OIDC_OK) {
        ctl_err("%s", oidc_err_msg(&err));
        return CTL_USAGE;
    }
    return CTL_OK;
}

const struct oidc_provider_cfg *ctl_pick_provider(const struct oidc_cfg *cfg, const char *name)
{
    const struct oidc_provider_cfg *p = oidc_cfg_provider(cfg, name);

    if (p != NULL)
        return p;
    if (name != NULL)
        ctl_err("no provider named '%s' in %s", name,
                cfg->config_path != NULL ? cfg->config_path : "the configuration");
    else if (cfg->n_providers == 0)
        ctl_err("no provider is configured in %s",
                cfg->config_path != NULL ? cfg->config_path : "the configuration");
    else
        ctl_err("%zu providers are configured: choose one with --provider NAME (or set "
                "default_provider)",
                cfg->n_providers);
    return NULL;
}

int ctl_parse_int64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        ctl_err("%s: '%s' is not a number between %" PRId64 " and %" PRId64, opt, s, min, max);
        return CTL_USAGE;
    }
    *out = v;
    return CTL_OK;
}

/* Reads a token file: a regular file only, at most CTL_TOKEN_FILE_MAX bytes. The last component
 * must not be a symbolic link (O_NOFOLLOW); O_NONBLOCK keeps a FIFO from blocking the open, and
 * fstat on the open descriptor refuses FIFOs, devices, sockets and directories before any read. */
static int read_token_file(const char *path, char **out, size_t *outlen)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ssize_t n;
    int fd, r = CTL_USAGE;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP)
            ctl_err("token file %s is a symbolic link: not followed (name the file itself)", path);
        else
            ctl_err("cannot open the token file %s: %s", path, strerror(errno));
        return CTL_USAGE;
    }
    if (fstat(fd, &st) != 0) {
        ctl_err("cannot stat the token file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ctl_err("token file %s is %s, not a regular file: refused (use - for standard input)", path,
                S_ISFIFO(st.st_mode)                         ? "a FIFO"
                : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                : S_ISDIR(st.st_mode)                        ? "a directory"
                : S_ISSOCK(st.st_mode)                       ? "a socket"
                                                             : "not a regular file");
        goto out;
    }
    if (st.st_size > CTL_TOKEN_FILE_MAX) {
        ctl_err("token file %s is larger than %d bytes", path, CTL_TOKEN_FILE_MAX);
        goto out;
    }
    cap = CTL_TOKEN_FILE_MAX + 1;
    if ((buf = malloc(cap)) == NULL) {
        ctl_err("out of memory");
        goto out;
    }
    /* read to the cap, not to st_size: a file that grows after fstat is still bounded */
    while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ctl_err("cannot read the token file %s: %s", path, strerror(errno));
            goto out;
        }
        len += (size_t)n;
    }
    if (len == cap - 1) {
        ctl_err("token file %s is larger than %d bytes", path, CTL_TOKEN_FILE_MAX);
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL; /* transferred */
    *outlen = len;
    r = CTL_OK;
out:
    if (buf != NULL)
        oidc_freezero(buf, cap);
    close(fd);
    return r;
}

int ctl_read_token(const char *path, char **out)
{
    char *buf = NULL, *s, *e;
    size_t len = 0, cap = 0;
    ssize_t n;
    int r;

    if (strcmp(path, "-") == 0) {
        cap = CTL_TOKEN_FILE_MAX + 1;
        if ((buf = malloc(cap)) == NULL) {
            ctl_err("out of memory");
            return CTL_USAGE;
        }
        while (len < cap - 1 && (n = read(STDIN_FILENO, buf + len, cap - 1 - len)) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                ctl_err("cannot read the token from standard input: %s", strerror(errno));
                oidc_freezero(buf, cap);
                return CTL_USAGE;
            }
            len += (size_t)n;
        }
        if (len == cap - 1) {
            ctl_err("the token on standard input is larger than %d bytes", CTL_TOKEN_FILE_MAX);
            oidc_freezero(buf, cap);
            return CTL_USAGE;
        }
        buf[len] = '\0';
    } else if ((r = read_token_file(path, &buf, &len)) != CTL_OK) {
        return r;
    }
    /* trim surrounding whitespace in place */
    for (s = buf; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'; s++)
        ;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    if (s != buf) {
        /* the moved-from tail still holds token bytes: wipe it */
        size_t kept = strlen(s);
        memmove(buf, s, kept + 1);
        oidc_memzero(buf + kept + 1, (size_t)(s - buf));
    }
    if (buf[0] == '\0') {
        ctl_err("%s holds no token", strcmp(path, "-") == 0 ? "standard input" : path);
        oidc_free_secret(&buf);
        return CTL_USAGE;
    }
    *out = buf;
    return CTL_OK;
}

cJSON *ctl_identity_json(const struct oidc_identity *id)
{
    cJSON *o = cJSON_CreateObject(), *groups = cJSON_CreateArray();
    size_t i;

    if (o == NULL || groups == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(groups);
        return NULL;
    }
    cJSON_AddStringToObject(o, "name", id->name);
    cJSON_AddNumberToObject(o, "uid", id->uid);
    cJSON_AddNumberToObject(o, "gid", id->gid);
    cJSON_AddStringToObject(o, "gecos", id->gecos != NULL ? id->gecos : "");
    cJSON_AddStringToObject(o, "home", id->home != NULL ? id->home : "");
    cJSON_AddStringToObject(o, "shell", id->shell != NULL ? id->shell : "");
    cJSON_AddStringToObject(o, "issuer", id->issuer != NULL ? id->issuer : "");
    cJSON_AddStringToObject(o, "subject", id->subject != NULL ? id->subject : "");
    for (i = 0; i < id->n_groups; i++) {
        cJSON *g = cJSON_CreateObject();
        if (g == NULL)
            break;
        cJSON_AddStringToObject(g, "name", id->groups[i].name);
        cJSON_AddNumberToObject(g, "gid", id->groups[i].gid);
        cJSON_AddItemToArray(groups, g);
    }
    cJSON_AddItemToObject(o, "groups", groups);
    return o;
}

void ctl_print_identity(FILE *f, const struct oidc_identity *id)
{
    size_t i;

    fprintf(f, "identity:\n");
    fprintf(f, "  name:    %s\n", id->name);
    fprintf(f, "  uid:     %" PRIu32 "\n", id->uid);
    fprintf(f, "  gid:     %" PRIu32 " (%s)\n", id->gid, id->name);
    fprintf(f, "  groups: ");
    for (i = 0; i < id->n_groups; i++)
        fprintf(f, " %s(%" PRIu32 ")", id->groups[i].name, id->groups[i].gid);
    fprintf(f, "%s\n", id->n_groups == 0 ? " (none)" : "");
    fprintf(f, "  gecos:   %s\n", id->gecos != NULL ? id->gecos : "");
    fprintf(f, "  home:    %s\n", id->home != NULL ? id->home : "");
    fprintf(f, "  shell:   %s\n", id->shell != NULL ? id->shell : "");
    fprintf(f, "  issuer:  %s\n", id->issuer != NULL ? id->issuer : "");
    fprintf(f, "  subject: %s\n", id->subject != NULL ? id->subject : "");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"verify-token", cmd_verify_token},
        {"login", cmd_login},
        {"check-config", cmd_check_config},
        {"users", cmd_users},
        {"groups", cmd_groups},
        {"user", cmd_user},
        {"prune", cmd_prune},
        {"cache", cmd_cache},
        {"askpass", cmd_askpass},
        {"run", cmd_run},
        {"doctor", cmd_doctor},
        {"idmap", cmd_idmap},
    };
    size_t i;

    if (argc < 2) {
        fputs(usage_text, stderr);
        return CTL_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return CTL_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("oidcctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return CTL_OK;
    }
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    ctl_err("unknown command '%s' (see oidcctl --help)", argv[1]);
    return CTL_USAGE;
}
