/* oidcctl run: the end of a run. Every process of the run is found and ended when the job ends,
 * and also when `oidcctl run` itself is killed:
 *   - a cgroup v2 of its own (oidc-run.PID under the caller's cgroup) when one is writable: the
 *     child joins it before it drops privileges; at the end cgroup.kill, then rmdir;
 *   - for an ephemeral user (its uid is the run's alone), in addition, a sweep: a short-lived
 *     process with the job's uid kills everything that uid still runs (kill(-1, SIGKILL));
 *   - without a cgroup, the job's process group is killed;
 *   - a guardian process, forked before the job, does the same and then closes the PAM session
 *     (which removes the ephemeral user) when `oidcctl run` dies without having done it.
 * One run per process: the state is this unit's. */
#ifndef RUN_REAP_H
#define RUN_REAP_H

#include <sys/types.h>
#include <security/pam_appl.h>

/* The exit status of a job's child that could not join the run's cgroup: the job did not run. */
#define REAP_JOIN_FAILED 125

/* Before the job's fork, with the session open: creates the run's cgroup when a cgroup v2 is
 * writable and forks the guardian (which keeps its copy of pamh). 0, or -1 after printing why:
 * the run must then be refused. */
int reap_setup(pam_handle_t *pamh, uid_t uid, gid_t gid, int ephemeral);

/* reap_enter_child()'s failures: the guardian is gone, or the run's cgroup cannot be joined. */
#define REAP_NO_GUARDIAN (-1)
#define REAP_NO_CGROUP   (-2)

/* In the job's child, while still root: tells the guardian the job's process group and joins
 * the run's cgroup. 0, or REAP_NO_GUARDIAN / REAP_NO_CGROUP with errno set (it prints nothing:
 * the child reports it to oidcctl run, which refuses the run with REAP_JOIN_FAILED). */
int reap_enter_child(void);

/* What a failed join tried, for the message: "join the run's cgroup (PATH/cgroup.procs)". */
const char *reap_join_what(void);

/* After the job ended (job: its pid, or -1 when none was started), before pam_close_session:
 * ends every process of the run. Does nothing when reap_setup did not run. */
void reap_finish(pid_t job);

/* At the very end, after pam_end: tells the guardian that the session is closed, and waits
 * for it to exit. */
void reap_done(void);

#endif
