/* An ASCII QR code for the device prompt (libqrencode, when built with it). Two characters per
 * module ("##" dark, "  " light) and one line per module row, so that any terminal and any
 * conversation (sshd keyboard-interactive included) passes it through unchanged, and a phone can
 * read it off the screen. Only ASCII leaves this file. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pam_int.h"

#ifdef HAVE_QRENCODE
#include <qrencode.h>

#define QUIET   1  /* modules of light border around the symbol */
#define MAX_COL 80 /* the prompt must fit an 80-column terminal */

char *oidc_pam_qr_ascii(const char *text)
{
    QRcode *qr;
    char *out = NULL, *p;
    int x, y, w, dark;

    if (text == NULL || (qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1)) == NULL)
        return NULL;
    w = qr->width + 2 * QUIET;
    if (2 * w > MAX_COL)
        goto out; /* too long a URL: the prompt shows the URL and the code only */
    if ((out = malloc((size_t)w * (size_t)(2 * w + 1) + 1)) == NULL)
        goto out;
    p = out;
    for (y = 0; y < w; y++) {
        for (x = 0; x < w; x++) {
            dark = x >= QUIET && y >= QUIET && x < w - QUIET && y < w - QUIET &&
                   (qr->data[(y - QUIET) * qr->width + (x - QUIET)] & 1);
            /* inverted: most terminals are light text on a dark background */
            *p++ = dark ? ' ' : '#';
            *p++ = dark ? ' ' : '#';
        }
        *p++ = '\n';
    }
    *p = '\0';
out:
    QRcode_free(qr);
    return out;
}
#else
char *oidc_pam_qr_ascii(const char *text)
{
    (void)text;
    return NULL;
}
#endif
