/* oidcctl askpass: the client side of the token prompt protocol (common/tokprompt.h), run by the
 * OpenSSH client as SSH_ASKPASS, so a token longer than the 1023 bytes ssh passes in one answer
 * logs in over several keyboard-interactive prompts.
 *
 * ssh runs the program with the prompt as its only argument, so the token's source also comes
 * from the environment: --token-file F or --token-env VAR, else OIDC_TOKEN_FILE (a file holding
 * the token) or OIDC_TOKEN (the token itself), and the hosts it may go to from --hosts or
 * OIDC_TOKEN_HOSTS: without a host list it answers nothing. The answer depends only on the prompt:
 * the first prompt gets the first chunk, a "continued, N bytes so far" prompt the chunk at offset
 * N, so no state is kept between runs. Any other prompt (a password, a passphrase, a host key
 * question) is not answered: exit 1, nothing on standard output, because an answer to a prompt we
 * do not understand could hand the token to the wrong question or say "yes" to an unknown host key.
 */
#include "config.h"
#include "b64.h"
#include "oidcctl.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jwt.h"
#include "tokprompt.h"

#define ENV_FILE  "OIDC_TOKEN_FILE"
#define ENV_TOKEN "OIDC_TOKEN"
#define ENV_HOSTS "OIDC_TOKEN_HOSTS"
#define HOST_MAX  256
#define SHOW_MAX  80 /* bytes of a refused prompt echoed on standard error */
#define COUNT_MAX 20 /* digits of a byte count */
#define ASKPASS_N 1  /* exit code for a prompt that is not answered */

enum prompt_kind { PROMPT_OTHER = 0, PROMPT_FIRST, PROMPT_NEXT, PROMPT_BAD_NEXT };

static void usage(FILE *f)
{
    fprintf(f, "Usage: oidcctl askpass [--token-file FILE | --token-env VAR] --hosts PATTERNS "
               "PROMPT\n"
               "  As SSH_ASKPASS: the token comes from $" ENV_FILE " (a file) or $" ENV_TOKEN
               ";\n  $" ENV_HOSTS " (or --hosts, required) names the hosts it is given to.\n");
}

/* The prompt the module wrote, out of what ssh passes: sshd puts PAM text messages, each ending
 * in '\n', in front of the prompt, so the prompt proper is the text after the last newline; and
 * OpenSSH 8.4 and later put "(user@host) " in front of a keyboard-interactive prompt, which is on
 * that line when there were no messages. */
static const char *module_prompt(const char *prompt)
{
    const char *p = strrchr(prompt, '\n'), *close;

    p = p != NULL ? p + 1 : prompt;
    if (*p != '(')
        return p;
    close = strchr(p, ')');
    if (close == NULL || close[1] != ' ' || memchr(p, '@', (size_t)(close - p)) == NULL ||
        memchr(p + 1, '(', (size_t)(close - p - 1)) != NULL)
        return p;
    return close + 2;
}

/* The host of the "(user@host) " prefix OpenSSH puts in front of a keyboard-interactive prompt
 * (before any PAM messages), into host (cap bytes); 0 when the prompt has no such prefix. */
static int prompt_host(const char *prompt, char *host, size_t cap)
{
    const char *p = prompt, *at, *close;

    if (*p != '(' || (close = strpbrk(p, ")\n")) == NULL || *close != ')' || close[1] != ' ')
        return 0;
    for (at = close; at > p && *at != '@'; at--)
        ;
    if (at == p || (size_t)(close - at - 1) >= cap || close == at + 1)
        return 0;
    memcpy(host, at + 1, (size_t)(close - at - 1));
    host[close - at - 1] = '\0';
    return 1;
}

/* Whether host matches one of the glob patterns of list (commas and blanks separate them). */
static int host_allowed(const char *list, const char *host)
{
    char pat[HOST_MAX];
    size_t n;

    while (*list != '\0') {
        n = strcspn(list, ", \t");
        if (n > 0 && n < sizeof(pat)) {
            memcpy(pat, list, n);
            pat[n] = '\0';
            if (fnmatch(pat, host, FNM_CASEFOLD) == 0)
                return 1;
        }
        list += n;
        list += strspn(list, ", \t");
    }
    return 0;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Classifies the prompt; for PROMPT_NEXT sets *offset. The "continued" prompt must be exactly
 * OIDC_TOKPROMPT_NEXT_FMT with a decimal count (no sign, no leading zero, no trailing text). */
static enum prompt_kind classify(const char *prompt, size_t *offset)
{
    const char *p = module_prompt(prompt), *fmt_rest, *q;
    size_t v = 0, digits = 0;

    if (starts_with(p, OIDC_TOKPROMPT_FIRST) && p[strlen(OIDC_TOKPROMPT_FIRST)] == '\0')
        return PROMPT_FIRST;
    if (starts_with(p, OIDC_TOKPROMPT_AUTO) && p[strlen(OIDC_TOKPROMPT_AUTO)] == '\0')
        return PROMPT_FIRST;
    if (!starts_with(p, OIDC_TOKPROMPT_NEXT_MATCH))
        return PROMPT_OTHER;
    fmt_rest = strstr(OIDC_TOKPROMPT_NEXT_FMT, "%zu");
    if (fmt_rest == NULL || !starts_with(OIDC_TOKPROMPT_NEXT_FMT, OIDC_TOKPROMPT_NEXT_MATCH) ||
        (size_t)(fmt_rest - OIDC_TOKPROMPT_NEXT_FMT) != strlen(OIDC_TOKPROMPT_NEXT_MATCH))
        return PROMPT_BAD_NEXT; /* tokprompt.h changed shape: refuse rather than guess */
    fmt_rest += 3;
    for (q = p + strlen(OIDC_TOKPROMPT_NEXT_MATCH); *q >= '0' && *q <= '9'; q++) {
        if (++digits > COUNT_MAX || (digits == 2 && v == 0) || v > (SIZE_MAX - 9) / 10)
            return PROMPT_BAD_NEXT;
        v = v * 10 + (size_t)(*q - '0');
    }
    if (digits == 0 || strcmp(q, fmt_rest) != 0)
        return PROMPT_BAD_NEXT;
    *offset = v;
    return PROMPT_NEXT;
}

/* The token from the variable name (trimmed, copied). */
static int token_from_env(const char *var, char **out)
{
    const char *v = getenv(var), *s, *e;
    char *t;

    if (v == NULL) {
        ctl_err("askpass: the variable %s is not set", var);
        return CTL_USAGE;
    }
    for (s = v; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'; s++)
        ;
    for (e = s + strlen(s);
         e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'); e--)
        ;
    if (e == s) {
        ctl_err("askpass: the variable %s holds no token", var);
        return CTL_USAGE;
    }
    if ((size_t)(e - s) > CTL_TOKEN_FILE_MAX) {
        ctl_err("askpass: the token in %s is larger than %d bytes", var, CTL_TOKEN_FILE_MAX);
        return CTL_USAGE;
    }
    if ((t = strndup(s, (size_t)(e - s))) == NULL) {
        ctl_err("out of memory");
        return CTL_USAGE;
    }
    *out = t;
    return CTL_OK;
}

/* Writes all of buf to standard output (no stdio buffer keeps a copy of the token). */
static int write_all(const char *buf, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int cmd_askpass(int argc, char **argv)
{
    static const struct option opts[] = {
        {"token-file", required_argument, NULL, 'f'},
        {"token-env", required_argument, NULL, 'e'},
        {"hosts", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *var = NULL, *hosts = NULL, *prompt, *hint;
    char host[HOST_MAX];
    char out[OIDC_TOKPROMPT_CHUNK + 2], shown[SHOW_MAX + 1];
    char *token = NULL;
    size_t offset = 0, len, n;
    enum prompt_kind kind;
    int ch, r = CTL_USAGE;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            file = optarg;
            break;
        case 'e':
            var = optarg;
            break;
        case 'H':
            hosts = optarg;
            break;
        case 'h':
            usage(stdout);
            return CTL_OK;
        default:
            usage(stderr);
            return CTL_USAGE;
        }
    }
    if (optind != argc - 1) {
        ctl_err("askpass needs exactly one PROMPT argument (ssh passes the prompt text)");
        usage(stderr);
        return CTL_USAGE;
    }
    if (file != NULL && var != NULL) {
        ctl_err("askpass: use either --token-file or --token-env, not both");
        return CTL_USAGE;
    }
    prompt = argv[optind];

    /* ssh marks confirmations (host keys, agent use) and notices; none of them is ours */
    hint = getenv("SSH_ASKPASS_PROMPT");
    kind = hint != NULL && hint[0] != '\0' ? PROMPT_OTHER : classify(prompt, &offset);
    if (kind == PROMPT_OTHER) {
        ctl_err("askpass: not an OIDC token prompt, not answered: '%s'",
                oidc_printable(shown, sizeof(shown), prompt));
        return ASKPASS_N;
    }
    if (kind == PROMPT_BAD_NEXT) {
        ctl_err("askpass: malformed continuation prompt, not answered: '%s'",
                oidc_printable(shown, sizeof(shown), prompt));
        return CTL_USAGE;
    }
    /* every host ssh reaches while SSH_ASKPASS is set (each ProxyJump hop too) can show this
     * prompt, and a token one host accepts works on every host that trusts the issuer: the token
     * goes only to the hosts named in a host list, matched against the prompt's prefix. Without a
     * list nothing is sent. */
    if (hosts == NULL && (hosts = getenv(ENV_HOSTS)) != NULL && hosts[0] == '\0')
        hosts = NULL;
    if (hosts == NULL || hosts[strspn(hosts, ", \t")] == '\0') {
        ctl_err("askpass: no host list, so the token is sent to no host: name the hosts it may go "
                "to with --hosts PATTERNS or " ENV_HOSTS "=PATTERNS (glob patterns, separated by "
                "commas or blanks, e.g. " ENV_HOSTS "='runner*.example.org')");
        return CTL_USAGE;
    }
    if (!prompt_host(prompt, host, sizeof(host))) {
        ctl_err("askpass: the prompt names no host ('(user@host) ', OpenSSH 8.4 and later), so "
                "it cannot be checked against the host list: not answered");
        return ASKPASS_N;
    }
    if (!host_allowed(hosts, host)) {
        ctl_err("askpass: host '%s' is not in the host list (--hosts or " ENV_HOSTS
                "): not answered",
                oidc_printable(shown, sizeof(shown), host));
        return ASKPASS_N;
    }

    if (file == NULL && var == NULL) {
        const char *env_token = getenv(ENV_TOKEN);

        file = getenv(ENV_FILE);
        if (file != NULL && file[0] == '\0')
            file = NULL;
        if (env_token != NULL && env_token[0] != '\0') {
            if (file != NULL) {
                ctl_err("askpass: both " ENV_FILE " and " ENV_TOKEN " are set; set one");
                return CTL_USAGE;
            }
            var = ENV_TOKEN;
        }
        if (file == NULL && var == NULL) {
            ctl_err("askpass: no token: set " ENV_FILE " (a file holding the token) or " ENV_TOKEN
                    ", or pass --token-file FILE or --token-env VAR");
            return CTL_USAGE;
        }
    }
    r = file != NULL ? ctl_read_token(file, &token) : token_from_env(var, &token);
    if (r != CTL_OK)
        return r;
    r = CTL_USAGE;
    len = strlen(token);
    if (!oidc_jws_shape_ok(token)) {
        ctl_err("askpass: the token is not a JWS in compact form (three base64url parts "
                "separated by dots)");
        goto out;
    }
    if (len > OIDC_TOKEN_MAX) {
        ctl_err("askpass: the token is %zu bytes; the PAM module accepts at most %d", len,
                OIDC_TOKEN_MAX);
        goto out;
    }
    if (kind == PROMPT_NEXT && offset >= len) {
        ctl_err("askpass: the prompt asks for the token from byte %zu, but it has only %zu bytes",
                offset, len);
        goto out;
    }
    n = len - offset;
    if (n > OIDC_TOKPROMPT_CHUNK)
        n = OIDC_TOKPROMPT_CHUNK;
    memcpy(out, token + offset, n);
    if (offset + n < len)
        out[n++] = OIDC_TOKPROMPT_MORE;
    out[n++] = '\n';
    if (write_all(out, n) != 0) {
        ctl_err("askpass: cannot write the answer: %s", strerror(errno));
        goto out;
    }
    r = CTL_OK;
out:
    oidc_memzero(out, sizeof(out));
    oidc_free_secret(&token);
    return r;
}
