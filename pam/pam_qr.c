/* A QR code of the verification URL for the device prompt (libqrencode, when built with it), in
 * one of two renderings of a symbol w modules wide, one-module quiet zone included:
 *
 *   OIDC_QR_ASCII    "##" or "  " per module, one line per module row: 2w columns, w lines.
 *                    Only ASCII, so every terminal and every conversation (sshd
 *                    keyboard-interactive included) passes it through unchanged.
 *   OIDC_QR_COMPACT  one column per module and two module rows per line, with the Unicode half
 *                    blocks U+2580 (upper), U+2584 (lower), U+2588 (full) and the space, in UTF-8:
 *                    w columns, (w + 1) / 2 lines. A version-3 symbol (29 modules, URLs up to 53
 *                    bytes) takes 31 columns and 16 lines, so it fits an 80x24 terminal together
 *                    with the prompt's 8 other lines. Needs a UTF-8 terminal.
 *
 * Both are drawn for light text on a dark background (most terminals): a light module is ink
 * ('#' or a block), a dark module is the terminal's background. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pam_int.h"

#ifdef HAVE_QRENCODE
#include <qrencode.h>

#define QUIET 1 /* modules of light border around the symbol */

/* UTF-8 of the half blocks, indexed by (upper is ink) | (lower is ink) << 1 */
static const char *const half[4] = {" ", "\xe2\x96\x80", "\xe2\x96\x84", "\xe2\x96\x88"};

/* 1 when module (x, y) of the bordered w x w symbol is light (drawn as ink); outside it, 0 */
static int ink(const QRcode *qr, int w, int x, int y)
{
    if (x < 0 || y < 0 || x >= w || y >= w)
        return 0;
    if (x < QUIET || y < QUIET || x >= w - QUIET || y >= w - QUIET)
        return 1;
    return !(qr->data[(y - QUIET) * qr->width + (x - QUIET)] & 1);
}

static char *draw_ascii(const QRcode *qr, int w)
{
    char *out, *p;
    int x, y;

    if ((out = malloc((size_t)w * (size_t)(2 * w + 1) + 1)) == NULL)
        return NULL;
    p = out;
    for (y = 0; y < w; y++) {
        for (x = 0; x < w; x++) {
            *p++ = ink(qr, w, x, y) ? '#' : ' ';
            *p++ = ink(qr, w, x, y) ? '#' : ' ';
        }
        *p++ = '\n';
    }
    *p = '\0';
    return out;
}

static char *draw_compact(const QRcode *qr, int w)
{
    int lines = (w + 1) / 2, x, y;
    char *out, *p;
    const char *c;

    if ((out = malloc((size_t)lines * (size_t)(3 * w + 1) + 1)) == NULL)
        return NULL;
    p = out;
    for (y = 0; y < w; y += 2) {
        for (x = 0; x < w; x++) {
            c = half[ink(qr, w, x, y) | ink(qr, w, x, y + 1) << 1];
            memcpy(p, c, strlen(c));
            p += strlen(c);
        }
        *p++ = '\n';
    }
    *p = '\0';
    return out;
}

char *oidc_pam_qr(const char *text, int style, int max_lines)
{
    QRcode *qr;
    char *out = NULL;
    int w;

    if (text == NULL || (style != OIDC_QR_ASCII && style != OIDC_QR_COMPACT) ||
        (qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1)) == NULL)
        return NULL;
    w = qr->width + 2 * QUIET;
    /* too long a URL for the terminal: the prompt shows the URL and the code only */
    if (style == OIDC_QR_ASCII && 2 * w <= OIDC_QR_COLUMNS)
        out = draw_ascii(qr, w);
    else if (style == OIDC_QR_COMPACT && w <= OIDC_QR_COLUMNS && (w + 1) / 2 <= max_lines)
        out = draw_compact(qr, w);
    QRcode_free(qr);
    return out;
}
#else
char *oidc_pam_qr(const char *text, int style, int max_lines)
{
    (void)text;
    (void)style;
    (void)max_lines;
    return NULL;
}
#endif
