/* Writes cache fixtures for the NSS tests and the benchmark (see fixture.h):
 *   mkcache basic PATH [TAG]
 *   mkcache bulk PATH N
 *   mkcache files PASSWD GROUP N
 *   mkcache damaged PATH empty|truncated|corrupt|garbage|badversion|noversion|badrecord
 *   mkcache path                  prints the cache path the module reads (STATEDIR/cache.cdb)
 *   mkcache uid NAME MIN MAX      prints oidc_idhash_uid(NAME) in MIN..MAX
 *   mkcache gen PATH              prints the counter of cache.serial next to PATH and the
 *                                 generation record of PATH (0 for none)
 * Like the writer, every file written carries a generation record and bumps cache.serial after
 * its rename; with MKCACHE_NO_SERIAL=1 in the environment cache.serial is left alone, and with
 * MKCACHE_NO_INDEX=1 the files have no lookup index (as files from before it existed). */
#include "config.h"
#include "fixture.h"
#include "cache_rec.h"
#include "idhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned count(const char *s)
{
    char *end;
    unsigned long n = strtoul(s, &end, 10);

    if (*s == '\0' || *end != '\0' || n == 0 || n > 10000000UL) {
        fprintf(stderr, "mkcache: bad count '%s'\n", s);
        exit(2);
    }
    return (unsigned)n;
}

int main(int argc, char **argv)
{
    int r = -1;

    if (getenv("MKCACHE_NO_SERIAL") != NULL)
        fx_set_serial(0);
    if (getenv("MKCACHE_NO_INDEX") != NULL)
        fx_set_index(0);
    if (argc == 3 && strcmp(argv[1], "gen") == 0) {
        printf("%llu %llu\n", (unsigned long long)fx_serial_read(argv[2]),
               (unsigned long long)fx_file_gen(argv[2]));
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "path") == 0) {
        printf("%s\n", STATEDIR "/" OIDC_CACHE_FILE);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "uid") == 0) {
        printf("%u\n",
               oidc_idhash_uid(argv[2], strlen(argv[2]), (uint32_t)strtoul(argv[3], NULL, 0),
                               (uint32_t)strtoul(argv[4], NULL, 0)));
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "basic") == 0)
        r = fx_write_basic(argv[2], argc > 3 ? argv[3] : "v1");
    else if (argc == 4 && strcmp(argv[1], "bulk") == 0)
        r = fx_write_bulk(argv[2], count(argv[3]));
    else if (argc == 5 && strcmp(argv[1], "files") == 0)
        r = fx_write_bulk_files(argv[2], argv[3], count(argv[4]));
    else if (argc == 4 && strcmp(argv[1], "damaged") == 0)
        r = fx_write_damaged(argv[2], argv[3]);
    else {
        fprintf(stderr, "usage: mkcache basic PATH [TAG] | bulk PATH N | files PASSWD GROUP N |"
                        " damaged PATH HOW | path | uid NAME MIN MAX | gen PATH\n");
        return 2;
    }
    if (r != 0) {
        perror("mkcache");
        return 1;
    }
    return 0;
}
