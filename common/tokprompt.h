/* The token prompt protocol between pam_oidc.so (flow=token|auto) and a client that answers
 * prompts, such as `oidcctl askpass` under OpenSSH (whose client cuts an answer at 1023 bytes).
 *
 * The module prompts (PAM_PROMPT_ECHO_OFF) with OIDC_TOKPROMPT_FIRST (flow=token) or
 * OIDC_TOKPROMPT_AUTO (flow=auto: an empty answer starts the device flow). An answer that ends in
 * OIDC_TOKPROMPT_MORE ('\' never occurs in a JWT) is a chunk: the module strips it and prompts
 * again with OIDC_TOKPROMPT_NEXT_FMT, which names how many bytes it holds so far, so the client
 * needs no state of its own: it answers with the token bytes from that offset, at most
 * OIDC_TOKPROMPT_CHUNK of them, plus OIDC_TOKPROMPT_MORE when more remain. The module gives up
 * after OIDC_TOKPROMPT_MAX_CHUNKS chunks or OIDC_TOKEN_MAX bytes. */
#ifndef OIDC_TOKPROMPT_H
#define OIDC_TOKPROMPT_H

#define OIDC_TOKPROMPT_FIRST      "OIDC token: "
#define OIDC_TOKPROMPT_AUTO       "OIDC token (or press Enter to sign in with a browser): "
#define OIDC_TOKPROMPT_NEXT_FMT   "OIDC token (continued, %zu bytes so far): "
#define OIDC_TOKPROMPT_NEXT_MATCH "OIDC token (continued, " /* prefix of the NEXT prompt */
#define OIDC_TOKPROMPT_MORE       '\\'
#define OIDC_TOKPROMPT_CHUNK      1000
#define OIDC_TOKPROMPT_MAX_CHUNKS 64

#endif
