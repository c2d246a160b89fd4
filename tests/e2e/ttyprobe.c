/* ttyprobe: a job for `oidcctl run` that tries to reach the terminal of whoever started it
 * (tests/e2e/run-tty.sh). Writes what it found and what the kernel let it do to REPORT:
 *
 *   fdN tty rdev=MAJ:MIN | fdN notty | fdN closed      what fds 0-2 are
 *   devtty rdev=MAJ:MIN | devtty error ENXIO           its controlling terminal, /dev/tty
 *   winsize ROWSxCOLS                                  the first terminal's window size
 *   tcsetpgrp NAME ok | tcsetpgrp NAME error E         taking the terminal's foreground
 *   tiocsti NAME ok | tiocsti NAME error E             pushing INJECTED-BY-JOB into its input
 *   read NAME 'LINE'                                   input it could read (a line at a time)
 *
 * (in that order: it reads before it injects, so that what it pushes stays in the terminal's
 * queue for whoever reads next.)
 * NAME is fd0, fd1, fd2 or devtty, for every one of them that is a terminal. After tcsetpgrp it
 * holds the foreground for 300 ms, so that a watcher of the terminal can see it.
 *
 *   ttyprobe REPORT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define INJECT "INJECTED-BY-JOB\n"

static FILE *rep;

static const char *ename(int e)
{
    const char *s = strerrorname_np(e);

    return s != NULL ? s : "?";
}

static void result(const char *what, const char *name, int r)
{
    if (r == 0)
        fprintf(rep, "%s %s ok\n", what, name);
    else
        fprintf(rep, "%s %s error %s\n", what, name, ename(errno));
}

static int inject(int fd)
{
    const char *p;

    for (p = INJECT; *p != '\0'; p++)
        if (ioctl(fd, TIOCSTI, p) != 0)
            return -1;
    return 0;
}

static void read_lines(int fd, const char *name)
{
    struct pollfd pf;
    char buf[512];
    ssize_t n;
    int i;

    for (i = 0; i < 16; i++) {
        pf = (struct pollfd){.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 200) <= 0 || (pf.revents & POLLIN) == 0)
            return;
        if ((n = read(fd, buf, sizeof(buf) - 1)) <= 0)
            return;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        buf[n] = '\0';
        fprintf(rep, "read %s '%s'\n", name, buf);
    }
}

int main(int argc, char **argv)
{
    static const char *names[] = {"fd0", "fd1", "fd2", "devtty"};
    struct timespec hold = {0, 300 * 1000 * 1000};
    struct winsize ws;
    struct stat st;
    unsigned int dev;
    int fds[4] = {-1, -1, -1, -1}, i, sized = 0;

    if (argc != 2 || (rep = fopen(argv[1], "w")) == NULL)
        return 2;
    setvbuf(rep, NULL, _IOLBF, 0);
    signal(SIGTTOU, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    for (i = 0; i < 3; i++) {
        if (fstat(i, &st) != 0)
            fprintf(rep, "fd%d closed\n", i);
        else if (!isatty(i))
            fprintf(rep, "fd%d notty\n", i);
        else {
            fprintf(rep, "fd%d tty rdev=%u:%u\n", i, major(st.st_rdev), minor(st.st_rdev));
            fds[i] = i;
        }
    }
    if ((fds[3] = open("/dev/tty", O_RDWR | O_NOCTTY)) < 0)
        fprintf(rep, "devtty error %s\n", ename(errno));
    else if (ioctl(fds[3], TIOCGDEV, &dev) == 0) /* the terminal behind /dev/tty (5:0) */
        fprintf(rep, "devtty rdev=%u:%u\n", major(dev), minor(dev));
    else
        fprintf(rep, "devtty rdev=? (TIOCGDEV: %s)\n", ename(errno));
    for (i = 0; i < 4; i++)
        if (fds[i] >= 0 && !sized && ioctl(fds[i], TIOCGWINSZ, &ws) == 0) {
            fprintf(rep, "winsize %ux%u\n", ws.ws_row, ws.ws_col);
            sized = 1;
        }
    for (i = 0; i < 4; i++)
        if (fds[i] >= 0)
            result("tcsetpgrp", names[i], tcsetpgrp(fds[i], getpgrp()));
    (void)nanosleep(&hold, NULL);
    /* what was typed on the terminal; then the injection, left for whoever reads next */
    for (i = 0; i < 4; i++)
        if (fds[i] >= 0)
            read_lines(fds[i], names[i]);
    for (i = 0; i < 4; i++)
        if (fds[i] >= 0)
            result("tiocsti", names[i], inject(fds[i]));
    fclose(rep);
    return 0;
}
