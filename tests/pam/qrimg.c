/* qrimg: turns the text of a terminal QR code (stdin) into the picture a terminal with light text
 * on a dark background shows, as a binary PGM (stdout), for zbarimg to decode.
 *
 *   qrimg [-s PIXELS] [-m CELLS] < lines > image.pgm
 *
 * Terminal model: a character cell is PIXELS wide and 2*PIXELS tall (the usual 1:2 cell), ink is
 * white (255) and the background black (0). ' ' is background; '#' and U+2588 (full block) fill
 * the cell with ink, U+2580 (upper half block) its upper half, U+2584 (lower half block) its lower
 * half. So "##" (ascii) and one half block (compact) are both one square module. A margin of
 * CELLS background cells (default 4) surrounds the text, as the rest of a terminal would. Lines
 * may differ in length (the rest of a line is background). Anything else in the input is not a
 * QR line: exit 2 naming the byte offset, so a stray character cannot pass unnoticed. Independent
 * of the module's code on purpose: it reads what the user would see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_COLS  400
#define MAX_LINES 400

/* ink per cell: bit 0 upper half, bit 1 lower half */
static unsigned char cells[MAX_LINES][MAX_COLS];

int main(int argc, char **argv)
{
    int px = 4, margin = 4, opt, c, col = 0, line = 0, cols = 0, lines, x, y, w, h, cx, cy;
    long off = 0;
    unsigned char *row;

    while ((opt = getopt(argc, argv, "s:m:")) != -1) {
        switch (opt) {
        case 's':
            px = atoi(optarg);
            break;
        case 'm':
            margin = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: qrimg [-s PIXELS] [-m CELLS] < text > image.pgm\n");
            return 2;
        }
    }
    if (px < 1 || px > 32 || margin < 0 || margin > 64) {
        fprintf(stderr, "qrimg: -s 1..32, -m 0..64\n");
        return 2;
    }
    while ((c = getchar()) != EOF) {
        unsigned char ink;

        if (c == '\n') {
            line++;
            col = 0;
            off++;
            continue;
        }
        if (c == ' ') {
            ink = 0;
        } else if (c == '#') {
            ink = 3;
        } else if (c == 0xe2) { /* U+2580..U+25BF: E2 96 80..BF */
            int c2 = getchar(), c3 = getchar();

            if (c2 != 0x96 || (c3 != 0x80 && c3 != 0x84 && c3 != 0x88)) {
                fprintf(stderr, "qrimg: byte %ld: not a QR character\n", off);
                return 2;
            }
            ink = c3 == 0x80 ? 1 : c3 == 0x84 ? 2 : 3;
            off += 2;
        } else {
            fprintf(stderr, "qrimg: byte %ld: not a QR character (0x%02x)\n", off, c);
            return 2;
        }
        if (line >= MAX_LINES || col >= MAX_COLS) {
            fprintf(stderr, "qrimg: more than %d lines or columns\n", MAX_COLS);
            return 2;
        }
        cells[line][col++] = ink;
        if (col > cols)
            cols = col;
        off++;
    }
    lines = col > 0 ? line + 1 : line;
    if (lines == 0 || cols == 0) {
        fprintf(stderr, "qrimg: no QR lines on stdin\n");
        return 2;
    }
    w = (cols + 2 * margin) * px;
    h = (lines + 2 * margin) * 2 * px;
    if ((row = malloc((size_t)w)) == NULL)
        return 1;
    printf("P5\n%d %d\n255\n", w, h);
    for (y = 0; y < h; y++) {
        cy = y / (2 * px) - margin;
        for (x = 0; x < w; x++) {
            cx = x / px - margin;
            row[x] = 0;
            if (cy >= 0 && cy < lines && cx >= 0 && cx < cols)
                row[x] = cells[cy][cx] & (y % (2 * px) < px ? 1 : 2) ? 255 : 0;
        }
        fwrite(row, 1, (size_t)w, stdout);
    }
    free(row);
    return fflush(stdout) == 0 ? 0 : 1;
}
