/* oidcctl doctor: the parts shared by tools/doctor*.c. */
#ifndef OIDCCTL_DOCTOR_H
#define OIDCCTL_DOCTOR_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "conf.h"
#include "util.h"

/* Severity of a finding: notes and oks never change the exit status, warnings make it 1,
 * errors 2. */
enum doc_level { DOC_OK = 0, DOC_NOTE, DOC_WARN, DOC_ERROR };

struct doc {
    int json;                   /* --json: findings collected into arr, printed at the end */
    cJSON *arr;                 /* the findings (json only) */
    int n_err, n_warn;          /* counted findings */
    char last[128];             /* the check of the last printed finding (section headers) */
    const char *sshd;           /* the sshd binary (--sshd) */
    const char *ssh_user;       /* the user whose Match blocks sshd -T applies (--ssh-user) */
    const struct oidc_cfg *cfg; /* NULL when the configuration cannot be loaded */
    int login_timeout;          /* the device login deadline sshd's stack gives pam_oidc (0: none
                                 * found, doctor_pam fills it in before doctor_sshd runs) */
    int device_flow;            /* sshd's stack can run a device login */
};

/* Records one finding of check (a section such as "sshd" or "pam sshd") about item. fix (may be
 * NULL) says how to repair it. The message must never hold a secret. */
void doc_add(struct doc *d, enum doc_level lv, const char *check, const char *item, const char *fix,
             const char *fmt, ...) OIDC_FORMAT(6, 7);

/* tools/doctor_sshd.c: sshd's effective configuration (sshd -T). */
void doctor_sshd(struct doc *d);
/* tools/doctor_pam.c: the PAM stacks of sshd, sudo and oidc-run under /etc/pam.d. */
void doctor_pam(struct doc *d);

#endif
