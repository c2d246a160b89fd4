/* logsink: a syslog socket for tests. Binds a Unix datagram socket at PATH (as /dev/log is) and
 * appends every message it receives, one per line, to FILE, until killed.
 *
 *   logsink PATH FILE */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_un sa;
    char buf[8192];
    ssize_t n;
    FILE *out;
    int fd;

    if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: logsink SOCKET_PATH OUTPUT_FILE\n");
        return 2;
    }
    if ((out = fopen(argv[2], "ae")) == NULL) {
        perror(argv[2]);
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
    unlink(argv[1]);
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("logsink: socket");
        return 1;
    }
    for (;;) {
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            continue;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
            n--;
        buf[n] = '\0';
        fprintf(out, "%s\n", buf);
        fflush(out);
    }
}
