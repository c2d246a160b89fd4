/* Benchmark: full ID-token verification (oidc_token_verify with a cached JWKS) against OpenSSL's
 * raw signature verification of the same bytes with the same imported key. Prints tokens/s, raw
 * verifies/s and the ratio for RS256, ES256 and EdDSA; then, for reference, the raw verification
 * started from a copy of a context initialised once (what oidc_token_verify does for a header its
 * key set remembers) and the ratio against that. Within a round, blocks of 20 calls of each kind
 * take turns so drift and load from other processes hit all alike; the best round of each counts.
 * `bench_jwt ALG N` instead runs exactly N verifications of each kind and prints no rates: for
 * instruction counts under valgrind --tool=callgrind. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "http.h"
#include "jwk.h"
#include "jwt.h"
#include "tokgen.h"

#define ROUNDS    5
#define ROUND_SEC 0.3
#define BLOCK     20

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct raw_case {
    EVP_PKEY *pkey;
    const EVP_MD *md;
    EVP_MD_CTX *tmpl; /* for raw_copy_verify: initialised once, outside the timed loop */
    unsigned char sig[1024];
    size_t sig_len;
    const char *input;
    size_t input_len;
};

static int raw_verify(const struct raw_case *c)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, c->md, NULL, c->pkey) == 1 &&
             EVP_DigestVerify(ctx, c->sig, c->sig_len, (const unsigned char *)c->input,
                              c->input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* The same verification starting from a copy of a context initialised once, as oidc_token_verify
 * does for a header its key set remembers: shows how much of the ratio is that shortcut rather
 * than less overhead. RSA keys get PKCS #1 v1.5 padding by default. */
static int raw_copy_verify(const struct raw_case *c)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_MD_CTX_copy_ex(ctx, c->tmpl) == 1 &&
             EVP_DigestVerify(ctx, c->sig, c->sig_len, (const unsigned char *)c->input,
                              c->input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Runs BLOCK calls of fn and adds the time they took to *spent. */
static void timed_block(int (*fn)(const void *), const void *arg, double *spent)
{
    double t0 = now_sec();

    for (int i = 0; i < BLOCK; i++)
        if (!fn(arg)) {
            fprintf(stderr, "bench: verification failed\n");
            exit(1);
        }
    *spent += now_sec() - t0;
}

/* One round: blocks of each kind take turns until each has run ROUND_SEC, so a burst of load
 * from another process hits all of them about equally; each rate is its own calls over its own
 * time. */
static void interleaved_rates(int (*const fn[])(const void *), const void *const arg[], size_t n,
                              double rate[])
{
    double spent[3] = {0, 0, 0};
    long calls = 0;
    size_t i, short_of_time;

    do {
        for (i = 0; i < n; i++)
            timed_block(fn[i], arg[i], &spent[i]);
        calls += BLOCK;
        for (i = 0, short_of_time = 0; i < n; i++)
            short_of_time += spent[i] < ROUND_SEC;
    } while (short_of_time > 0);
    for (i = 0; i < n; i++)
        rate[i] = (double)calls / spent[i];
}

struct tok_case {
    const char *tok;
    const struct oidc_jwks *jwks;
    struct oidc_verify_opts opts;
};

static int tok_fn(const void *arg)
{
    const struct tok_case *c = arg;
    struct oidc_token *t = NULL;
    struct oidc_err err;
    int r = oidc_token_verify(c->tok, strlen(c->tok), c->jwks, &c->opts, &t, &err);
    if (r != OIDC_OK)
        fprintf(stderr, "bench: %s\n", err.msg);
    oidc_token_free(t);
    return r == OIDC_OK;
}

static int raw_fn(const void *arg)
{
    return raw_verify(arg);
}

static int raw_copy_fn(const void *arg)
{
    return raw_copy_verify(arg);
}

int main(int argc, char **argv)
{
    static const char *const algs[] = {"RS256", "ES256", "EdDSA"};
    static const double targets[] = {0.90, 0.95, 0.95};
    static const char *const auds[] = {"job-runner"};
    const char *iss = "https://idp.example.test/realms/prod";
    char claims[1024];
    long long now = (long long)time(NULL);
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    int fail = 0;

    snprintf(
        claims, sizeof(claims),
        "{\"iss\":\"%s\",\"sub\":\"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\",\"aud\":\"job-runner\","
        "\"exp\":%lld,\"iat\":%lld,\"auth_time\":%lld,\"nonce\":\"n-0S6_WzA2Mj\","
        "\"azp\":\"job-runner\",\"jti\":\"2b5f9b1e-0f0e-4c2e-9c1c-7a8b0f2d9e11\","
        "\"preferred_username\":\"alice\",\"email\":\"alice@example.test\","
        "\"email_verified\":true,\"name\":\"Alice Admin\",\"groups\":[\"admins\",\"devs\","
        "\"ci-runners\"],\"uid_number\":5001}",
        iss, now + 3600, now, now);
    printf("ID-token verification vs OpenSSL raw verify (claims %zu bytes, best of %d rounds)\n",
           strlen(claims), ROUNDS);
    printf("%-6s %14s %14s %8s %8s %14s %8s\n", "alg", "tokens/s", "raw/s", "ratio", "target",
           "raw-copy/s", "ratio");
    for (size_t a = 0; a < 3; a++) {
        if (argc > 1 && strcmp(argv[1], algs[a]) != 0)
            continue; /* `bench_jwt ALG` measures one algorithm */
        struct tg_key *k = tg_key_new(algs[a], "bench-key");
        struct tg_key *one[1] = {k};
        char *jwks_json = tg_jwks_json(one, 1), *tok = tg_sign(k, NULL, claims);
        struct oidc_jwks *jwks = NULL;
        struct oidc_err err;
        struct tok_case tc = {0};
        struct raw_case rc = {0};
        double best_tok = 0, best_raw = 0, best_copy = 0, ratio;
        const char *dot = strrchr(tok, '.');
        unsigned char raw[1024];
        size_t raw_len = 0;

        if (oidc_jwks_parse(jwks_json, strlen(jwks_json), &jwks, &err) != OIDC_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        tc.tok = tok;
        tc.jwks = jwks;
        tc.opts.issuer = iss;
        tc.opts.audiences = auds;
        tc.opts.n_audiences = 1;
        tc.opts.client_id = "job-runner";
        tc.opts.now = now;
        tc.opts.leeway = 60;
        tc.opts.nonce = "n-0S6_WzA2Mj";
        /* The raw case verifies the same input with the same imported key; ECDSA gets the DER
         * form OpenSSL wants, prepared outside the loop. */
        rc.pkey = jwks->keys[0].pkey;
        rc.md = a == 2 ? NULL : EVP_MD_fetch(NULL, "SHA2-256", NULL);
        rc.input = tok;
        rc.input_len = (size_t)(dot - tok);
        oidc_b64url_decode_buf(dot + 1, strlen(dot + 1), raw, sizeof(raw), &raw_len);
        if (a == 1) {
            ECDSA_SIG *es = ECDSA_SIG_new();
            unsigned char *p = rc.sig;
            ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
            rc.sig_len = (size_t)i2d_ECDSA_SIG(es, &p);
            ECDSA_SIG_free(es);
        } else {
            memcpy(rc.sig, raw, raw_len);
            rc.sig_len = raw_len;
        }
        rc.tmpl = EVP_MD_CTX_new();
        if (rc.tmpl == NULL || EVP_DigestVerifyInit(rc.tmpl, NULL, rc.md, NULL, rc.pkey) != 1) {
            fprintf(stderr, "bench: cannot prepare the raw context template\n");
            return 1;
        }
        if (count > 0) {
            for (long i = 0; i < count; i++)
                if (!tok_fn(&tc) || !raw_fn(&rc) || !raw_copy_fn(&rc)) {
                    fprintf(stderr, "bench: verification failed\n");
                    return 1;
                }
            printf("%-6s %ld verifications of each kind\n", algs[a], count);
            goto next;
        }
        for (int r = 0; r < ROUNDS; r++) {
            int (*const fn[3])(const void *) = {tok_fn, raw_fn, raw_copy_fn};
            const void *const arg[3] = {&tc, &rc, &rc};
            double rate[3];
            interleaved_rates(fn, arg, 3, rate);
            best_tok = rate[0] > best_tok ? rate[0] : best_tok;
            best_raw = rate[1] > best_raw ? rate[1] : best_raw;
            best_copy = rate[2] > best_copy ? rate[2] : best_copy;
        }
        ratio = best_tok / best_raw;
        printf("%-6s %14.0f %14.0f %7.1f%% %7.0f%% %14.0f %7.1f%%%s\n", algs[a], best_tok, best_raw,
               ratio * 100, targets[a] * 100, best_copy, best_tok / best_copy * 100,
               ratio >= targets[a] ? "" : "  (below target)");
        if (ratio < targets[a])
            fail = 1;
    next:
        EVP_MD_CTX_free(rc.tmpl);
        EVP_MD_free((EVP_MD *)(uintptr_t)rc.md);
        oidc_jwks_free(jwks);
        free(jwks_json);
        free(tok);
        tg_key_free(k);
    }
    printf("HTTP requests during verification: %llu (the verify path does no I/O)\n",
           (unsigned long long)oidc_http_request_count());
    (void)fail; /* figures are reported, not asserted: speed is judged by reading them */
    return 0;
}
