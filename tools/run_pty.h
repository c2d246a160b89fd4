/* oidcctl run: the job's own pseudo-terminal, and the relay between it and the caller's terminal.
 *
 * The job never gets a descriptor of the caller's terminal, nor that terminal as its controlling
 * terminal. When any of the caller's fds 0-2 is a terminal, the job gets a fresh pty instead: its
 * slave replaces each of those fds in the job (the others are passed as they are) and becomes the
 * job's controlling terminal; oidcctl relays the caller's terminal (fd 0, in raw mode for the
 * relay) to the pty master, and the master to the caller's terminal, the way su --pty and sudo's
 * use_pty do. */
#ifndef RUN_PTY_H
#define RUN_PTY_H

#include <stddef.h>
#include <termios.h>

#define RUN_PTY_BUF 4096

struct run_pty_buf {
    char data[RUN_PTY_BUF];
    size_t off, len;
};

struct run_pty {
    int master, slave; /* -1: the job gets no pty (none of the caller's fds 0-2 is a terminal) */
    unsigned tty_fds;  /* bit n set: the caller's fd n (0..2) is a terminal */
    int in_fd;         /* the caller's terminal read for the job's input (fd 0), -1: none */
    int out_fd;        /* the caller's terminal the job's terminal output is written to */
    int size_fd;       /* the caller's terminal the window size is read from */
    int raw;           /* in_fd is in raw mode, and saved holds the mode to restore */
    int in_eof, master_eof, out_dead;
    struct termios saved; /* in_fd's mode before the relay */
    struct run_pty_buf to_job, to_caller;
};

/* Marks p unused (run_pty_end() is then a no-op). */
void run_pty_init(struct run_pty *p);
/* Parent, before fork: when a caller's fd 0-2 is a terminal, opens a pty pair (the slave with
 * O_NOCTTY) with the caller's terminal mode and window size. 0, or -1 after printing why. */
int run_pty_open(struct run_pty *p);
/* Child, right after setsid(): the slave becomes the controlling terminal (TIOCSCTTY) and
 * replaces each of fds 0-2 that was a terminal. 0, or -1 with errno. No-op without a pty. */
int run_pty_child(const struct run_pty *p);
/* Parent, once the child has set up: closes its copy of the slave and puts the caller's terminal
 * into raw mode. 0, or -1 after printing why. */
int run_pty_start(struct run_pty *p);
/* Parent, on SIGWINCH: passes the caller's window size on to the job's terminal. */
void run_pty_winch(struct run_pty *p);
/* One round of the relay: polls wake_fd (drained, to wake up on signals) and the relay's
 * descriptors for at most timeout_ms and moves what is ready. Only waits without a pty. */
void run_pty_poll(struct run_pty *p, int wake_fd, int timeout_ms);
/* After the job ended: relays what it left in the pty (bounded) to the caller. */
void run_pty_drain(struct run_pty *p);
/* Every exit path: restores the caller's terminal mode and closes the pty. */
void run_pty_end(struct run_pty *p);

#endif
