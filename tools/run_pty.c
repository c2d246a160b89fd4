/* oidcctl run: the job's own pseudo-terminal and the relay to the caller's terminal (run_pty.h). */
#include "config.h"
#include "oidcctl.h"
#include "run_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define RUN_PTY_DRAIN_MAX  (1024 * 1024) /* bytes relayed after the job ended, at most */
#define RUN_PTY_DRAIN_IDLE 100           /* ms without output that end the drain */
#define RUN_PTY_OUT_STALL  5000          /* ms a blocked caller's terminal may take per write */

void run_pty_init(struct run_pty *p)
{
    memset(p, 0, sizeof(*p));
    p->master = p->slave = p->in_fd = p->out_fd = p->size_fd = -1;
}

/* The pty's descriptors stay off 0-2 even when the caller started us with some of them closed. */
static int above_stdio(int *fd)
{
    int nfd;

    if (*fd > 2)
        return 0;
    if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3)) < 0)
        return -1;
    (void)close(*fd);
    *fd = nfd;
    return 0;
}

static int open_pair(struct run_pty *p)
{
    char name[128];

    if ((p->master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
        above_stdio(&p->master) != 0 || unlockpt(p->master) != 0)
        return -1;
    /* the slave through the master itself where the kernel can (no path to look up) */
    p->slave = ioctl(p->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->slave < 0 && (errno == EINVAL || errno == ENOTTY)) {
        if (ptsname_r(p->master, name, sizeof(name)) != 0)
            return -1;
        p->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    }
    if (p->slave < 0 || above_stdio(&p->slave) != 0)
        return -1;
    return fcntl(p->master, F_SETFL, O_NONBLOCK);
}

int run_pty_open(struct run_pty *p)
{
    struct termios tio;
    struct winsize ws;
    int fd;

    for (fd = 0; fd <= 2; fd++)
        if (isatty(fd))
            p->tty_fds |= 1u << fd;
    if (p->tty_fds == 0)
        return 0;
    /* input only from a terminal on fd 0; output to the first terminal among 1, 2 (else 0) */
    p->in_fd = (p->tty_fds & 1u) ? 0 : -1;
    p->out_fd = (p->tty_fds & 2u) ? 1 : (p->tty_fds & 4u) ? 2 : 0;
    p->size_fd = (p->tty_fds & 1u) ? 0 : p->out_fd;
    if (open_pair(p) != 0) {
        ctl_err("run: cannot open a pseudo-terminal for the job: %s", strerror(errno));
        run_pty_end(p);
        return -1;
    }
    /* the job's terminal starts in the caller's mode and size */
    if (tcgetattr(p->size_fd, &tio) == 0)
        (void)tcsetattr(p->slave, TCSANOW, &tio);
    if (ioctl(p->size_fd, TIOCGWINSZ, &ws) == 0)
        (void)ioctl(p->slave, TIOCSWINSZ, &ws);
    return 0;
}

int run_pty_child(const struct run_pty *p)
{
    int fd;

    if (p->master < 0)
        return 0;
    if (ioctl(p->slave, TIOCSCTTY, 0) != 0)
        return -1;
    for (fd = 0; fd <= 2; fd++)
        if ((p->tty_fds & (1u << fd)) != 0 && dup2(p->slave, fd) < 0)
            return -1;
    return 0; /* the master and the slave's own descriptor are close-on-exec */
}

int run_pty_start(struct run_pty *p)
{
    struct termios raw;

    if (p->master < 0)
        return 0;
    (void)close(p->slave); /* the job holds it now: the master sees EIO once the job lets go */
    p->slave = -1;
    if (p->in_fd < 0)
        return 0;
    if (tcgetattr(p->in_fd, &p->saved) != 0) {
        ctl_err("run: cannot read the terminal's mode: %s", strerror(errno));
        return -1;
    }
    raw = p->saved;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(p->in_fd, TCSADRAIN, &raw) != 0) {
        ctl_err("run: cannot put the terminal into raw mode: %s", strerror(errno));
        return -1;
    }
    p->raw = 1;
    return 0;
}

void run_pty_winch(struct run_pty *p)
{
    struct winsize ws;

    if (p->master >= 0 && ioctl(p->size_fd, TIOCGWINSZ, &ws) == 0)
        (void)ioctl(p->master, TIOCSWINSZ, &ws);
}

static void restore_mode(struct run_pty *p)
{
    sigset_t ttou, old;

    if (!p->raw)
        return;
    /* also when oidcctl was moved to the background meanwhile: no SIGTTOU stop here */
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    (void)sigprocmask(SIG_BLOCK, &ttou, &old);
    (void)tcsetattr(p->in_fd, TCSADRAIN, &p->saved);
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    p->raw = 0;
}

/* Reads what fd has into the empty buffer b; *eof at end of file or on an error (EIO: the other
 * side of the terminal hung up). */
static void fill(int fd, struct run_pty_buf *b, int *eof)
{
    ssize_t n = read(fd, b->data, sizeof(b->data));

    if (n > 0) {
        b->off = 0;
        b->len = (size_t)n;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        *eof = 1;
    }
}

/* Writes some of b to fd; -1 (and b emptied) on an error. */
static int flush(int fd, struct run_pty_buf *b)
{
    ssize_t n = write(fd, b->data + b->off, b->len);

    if (n > 0) {
        b->off += (size_t)n;
        b->len -= (size_t)n;
        return 0;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    b->len = 0;
    return -1;
}

/* The job's output to the caller; once the caller's terminal is gone, output is dropped so
 * that the job never blocks on a full pty. */
static void to_caller(struct run_pty *p)
{
    if (p->out_dead || flush(p->out_fd, &p->to_caller) != 0) {
        p->out_dead = 1;
        p->to_caller.len = 0;
    }
}

void run_pty_poll(struct run_pty *p, int wake_fd, int timeout_ms)
{
    struct pollfd pf[4];
    nfds_t n = 0;
    int iin = -1, im = -1, iout = -1;
    char junk[64];

    pf[n++] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
    if (p->master >= 0) {
        if (p->in_fd >= 0 && !p->in_eof && !p->master_eof && p->to_job.len == 0) {
            iin = (int)n;
            pf[n++] = (struct pollfd){.fd = p->in_fd, .events = POLLIN};
        }
        if (!p->master_eof) {
            im = (int)n;
            pf[n++] = (struct pollfd){.fd = p->master,
                                      .events = (short)((p->to_caller.len == 0 ? POLLIN : 0) |
                                                        (p->to_job.len > 0 ? POLLOUT : 0))};
        }
        if (p->to_caller.len > 0) {
            iout = (int)n;
            pf[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLOUT};
        }
    }
    if (poll(pf, n, timeout_ms) <= 0)
        return;
    if (pf[0].revents != 0)
        while (read(wake_fd, junk, sizeof(junk)) > 0)
            ;
    if (iin >= 0 && pf[iin].revents != 0)
        fill(p->in_fd, &p->to_job, &p->in_eof);
    if (im >= 0 && (pf[im].revents & POLLOUT) != 0 && flush(p->master, &p->to_job) != 0)
        p->master_eof = 1;
    if (im >= 0 && p->to_caller.len == 0 && (pf[im].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
        fill(p->master, &p->to_caller, &p->master_eof);
    if (iout >= 0 && pf[iout].revents != 0)
        to_caller(p);
    if (p->master_eof && p->raw) {
        /* the job let go of its terminal (and may run on): nothing more to relay, so the
         * caller's terminal is the caller's again (^C reaches oidcctl, which forwards it) */
        p->to_job.len = 0;
        restore_mode(p);
    }
}

void run_pty_drain(struct run_pty *p)
{
    struct pollfd pf;
    size_t total = 0;

    if (p->master < 0)
        return;
    for (;;) {
        while (p->to_caller.len > 0) {
            pf = (struct pollfd){.fd = p->out_fd, .events = POLLOUT};
            if (!p->out_dead && poll(&pf, 1, RUN_PTY_OUT_STALL) <= 0)
                p->out_dead = 1;
            to_caller(p);
        }
        if (p->master_eof || total >= RUN_PTY_DRAIN_MAX)
            break;
        /* what the job wrote last may still be on its way through the line discipline */
        pf = (struct pollfd){.fd = p->master, .events = POLLIN};
        if (poll(&pf, 1, RUN_PTY_DRAIN_IDLE) <= 0)
            break;
        fill(p->master, &p->to_caller, &p->master_eof);
        total += p->to_caller.len;
    }
}

void run_pty_end(struct run_pty *p)
{
    restore_mode(p);
    if (p->slave >= 0)
        (void)close(p->slave);
    if (p->master >= 0)
        (void)close(p->master);
    p->master = p->slave = -1;
}
