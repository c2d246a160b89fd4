/* ptyrun: runs a command with a fresh pseudo-terminal as its controlling terminal, standing in
 * for an admin's terminal in the tests of `oidcctl run` (tests/e2e/run-tty.sh), and reports what
 * happened to that terminal.
 *
 *   ptyrun [-i tty|inherit|null] [-t TEXT] [-k TEXT] [-w ROWSxCOLS] [-W ROWSxCOLS] [-s SIGNAL]
 *          [-H] [-T SECONDS] -- COMMAND [ARGS...]
 *
 * The command's fds 1 and 2 are the pty slave; fd 0 is the slave too (-i tty, the default), this
 * program's own stdin (-i inherit: e.g. a pipe carrying a token) or /dev/null (-i null). The
 * command runs in a new session whose controlling terminal is the slave. -t TEXT is "typed" into
 * the terminal before the command starts, -k TEXT when the output shows PTYRUN-TYPE. -w sets the
 * window size at the start; when the output shows PTYRUN-WINCH, -W sets a new one. When the output
 * shows PTYRUN-SIGNAL, -s SIGNAL (a number) goes to the command. With -H, the terminal hangs up
 * (the master is closed) when the output shows PTYRUN-HANGUP. When the output shows PTYRUN-CHECK,
 * the terminal's mode is noted. Everything the command writes to the terminal is copied to stdout.
 * On stderr, after the command ended (or was killed after -T SECONDS, default 60): ptyrun: tty
 * rdev=MAJ:MIN          the terminal's device number ptyrun: mode at check: raw|cooked the mode
 * when PTYRUN-CHECK was seen ptyrun: mode restored: yes|no     the mode afterwards is the mode
 * before ptyrun: foreground taken by N     a process group other than the command's was in the
 *                                     foreground of the terminal at some point (polled)
 *   ptyrun: leftover input: 'TEXT'    what is left in the terminal's input queue (C escapes)
 *   ptyrun: exit N                    the command's exit status (128+N: killed by signal N)
 * and it exits with the command's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX (1024 * 1024)

static char out[OUT_MAX + 1];
static size_t out_len;

__attribute__((noreturn)) static void die(const char *what)
{
    fprintf(stderr, "ptyrun: %s: %s\n", what, strerror(errno));
    exit(99);
}

static int parse_size(const char *s, struct winsize *ws)
{
    unsigned r, c;

    if (sscanf(s, "%ux%u", &r, &c) != 2)
        return -1;
    memset(ws, 0, sizeof(*ws));
    ws->ws_row = (unsigned short)r;
    ws->ws_col = (unsigned short)c;
    return 0;
}

static void print_escaped(const char *label, const char *s, size_t n)
{
    size_t i;

    fprintf(stderr, "ptyrun: %s: '", label);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            fputs("\\n", stderr);
        else if (ch == '\r')
            fputs("\\r", stderr);
        else if (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '\'')
            fprintf(stderr, "\\x%02x", ch);
        else
            fputc(ch, stderr);
    }
    fputs("'\n", stderr);
}

static void child(int slave, const char *in, char **cmd)
{
    int fd0 = slave;

    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) != 0)
        die("setsid/TIOCSCTTY");
    if (strcmp(in, "inherit") == 0)
        fd0 = 0;
    else if (strcmp(in, "null") == 0 && (fd0 = open("/dev/null", O_RDONLY)) < 0)
        die("/dev/null");
    if ((fd0 != 0 && dup2(fd0, 0) < 0) || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
        die("dup2");
    execvp(cmd[0], cmd);
    die(cmd[0]);
}

/* copies what the master has: 1, 0 when there is nothing now, -1 when the slave side is gone */
static int pump(int master)
{
    char buf[4096];
    ssize_t n = read(master, buf, sizeof(buf));

    if (n <= 0)
        return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    (void)!write(1, buf, (size_t)n);
    if (out_len + (size_t)n <= OUT_MAX) {
        memcpy(out + out_len, buf, (size_t)n);
        out_len += (size_t)n;
        out[out_len] = '\0';
    }
    return 1;
}

static int is_raw(int fd)
{
    struct termios t;

    return tcgetattr(fd, &t) == 0 && (t.c_lflag & (ICANON | ECHO | ISIG)) == 0;
}

static int same_mode(const struct termios *a, const struct termios *b)
{
    return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
           a->c_lflag == b->c_lflag && memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0;
}

static void report_leftover(int slave)
{
    struct termios t;
    char buf[8192];
    ssize_t n;
    size_t len = 0;

    /* non-canonical, so that a partial line counts too */
    if (tcgetattr(slave, &t) == 0) {
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        (void)tcsetattr(slave, TCSANOW, &t);
    }
    (void)fcntl(slave, F_SETFL, O_NONBLOCK);
    while (len < sizeof(buf) && (n = read(slave, buf + len, sizeof(buf) - len)) > 0)
        len += (size_t)n;
    print_escaped("leftover input", buf, len);
}

int main(int argc, char **argv)
{
    const char *in = "tty", *text = NULL, *keys = NULL;
    struct winsize ws0 = {24, 80, 0, 0}, ws1 = {0, 0, 0, 0};
    struct termios before, after;
    struct pollfd pf;
    struct stat st;
    int opt, master, slave, status = 0, sig = 0, timeout = 60, alive = 1, checked = 0;
    int winched = 0, signalled = 0, typed = 0, hangup = 0;
    pid_t pid, fg, stolen = 0;
    time_t end;

    while ((opt = getopt(argc, argv, "+i:t:k:w:W:s:HT:")) != -1) {
        switch (opt) {
        case 'i':
            in = optarg;
            break;
        case 't':
            text = optarg;
            break;
        case 'k':
            keys = optarg;
            break;
        case 'H':
            hangup = 1;
            break;
        case 'w':
            if (parse_size(optarg, &ws0) != 0)
                return 2;
            break;
        case 'W':
            if (parse_size(optarg, &ws1) != 0)
                return 2;
            break;
        case 's':
            sig = atoi(optarg);
            break;
        case 'T':
            timeout = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (optind >= argc)
        return 2;
    if ((master = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(master) != 0 ||
        unlockpt(master) != 0 || (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0)
        die("pty");
    (void)ioctl(slave, TIOCSWINSZ, &ws0);
    if (tcgetattr(slave, &before) != 0 || fstat(slave, &st) != 0)
        die("tcgetattr");
    if (text != NULL)
        (void)!write(master, text, strlen(text));
    fflush(NULL);
    if ((pid = fork()) < 0)
        die("fork");
    if (pid == 0) {
        (void)close(master);
        child(slave, in, argv + optind);
    }
    (void)fcntl(master, F_SETFL, O_NONBLOCK);
    end = time(NULL) + timeout;
    while (alive) {
        if (hangup == 2) {
            (void)poll(NULL, 0, 10);
            fg = 0;
        } else {
            pf = (struct pollfd){.fd = master, .events = POLLIN};
            if (poll(&pf, 1, 10) > 0)
                (void)pump(master);
            /* the terminal's foreground process group: only the command's own may ever be there */
            fg = tcgetpgrp(master);
        }
        if (fg > 0 && fg != pid && stolen == 0)
            stolen = fg;
        if (!checked && strstr(out, "PTYRUN-CHECK") != NULL) {
            checked = 1;
            fprintf(stderr, "ptyrun: mode at check: %s\n", is_raw(slave) ? "raw" : "cooked");
        }
        if (!winched && ws1.ws_row != 0 && strstr(out, "PTYRUN-WINCH") != NULL) {
            winched = 1;
            (void)ioctl(master, TIOCSWINSZ, &ws1);
        }
        if (keys != NULL && !typed && strstr(out, "PTYRUN-TYPE") != NULL) {
            typed = 1;
            (void)!write(master, keys, strlen(keys));
        }
        if (hangup == 1 && strstr(out, "PTYRUN-HANGUP") != NULL) {
            hangup = 2;
            (void)close(master);
            (void)close(slave);
            fprintf(stderr, "ptyrun: hung up the terminal\n");
        }
        if (!signalled && sig != 0 && strstr(out, "PTYRUN-SIGNAL") != NULL) {
            signalled = 1;
            (void)kill(pid, sig);
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            alive = 0;
        else if (time(NULL) > end) {
            fprintf(stderr, "ptyrun: timeout after %d s: killing the command\n", timeout);
            (void)kill(pid, SIGKILL);
            (void)waitpid(pid, &status, 0);
            alive = 0;
        }
    }
    for (opt = 0; opt < 1000 && hangup != 2; opt++) { /* what is left of the output */
        pf = (struct pollfd){.fd = master, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0 || pump(master) < 0)
            break;
    }
    fprintf(stderr, "ptyrun: tty rdev=%u:%u\n", major(st.st_rdev), minor(st.st_rdev));
    if (hangup != 2 && tcgetattr(slave, &after) == 0)
        fprintf(stderr, "ptyrun: mode restored: %s\n", same_mode(&before, &after) ? "yes" : "no");
    if (stolen != 0)
        fprintf(stderr, "ptyrun: foreground taken by %d\n", (int)stolen);
    if (hangup != 2)
        report_leftover(slave);
    status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr, "ptyrun: exit %d\n", status);
    return status;
}
