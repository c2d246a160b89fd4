/* qrgen: prints what the module's QR renderer (oidc_pam_qr, pam/pam_qr.c) draws for TEXT, for
 * tests/pam/qr.sh to check the size limits and decode the result.
 *
 *   qrgen ascii|compact MAX_LINES TEXT
 *
 * Exit 0 with the drawing on stdout, 1 when the renderer returned NULL (the symbol does not fit),
 * 2 on usage errors, 77 when the module is built without libqrencode. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam_int.h"

int main(int argc, char **argv)
{
    char *out;
    int style;

    if (argc != 4 || (strcmp(argv[1], "ascii") != 0 && strcmp(argv[1], "compact") != 0)) {
        fprintf(stderr, "usage: qrgen ascii|compact MAX_LINES TEXT\n");
        return 2;
    }
#ifdef HAVE_QRENCODE
    style = strcmp(argv[1], "ascii") == 0 ? OIDC_QR_ASCII : OIDC_QR_COMPACT;
    if ((out = oidc_pam_qr(argv[3], style, atoi(argv[2]))) == NULL)
        return 1;
    fputs(out, stdout);
    free(out);
    return 0;
#else
    (void)out;
    (void)style;
    return 77;
#endif
}
