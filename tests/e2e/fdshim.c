/* fdshim: an LD_PRELOAD shim for tests/e2e/run-fds.sh that takes away what `oidcctl run` uses to
 * keep its descriptors from the job: close_range() fails with ENOSYS (an old kernel, or a seccomp
 * filter), and with -DFDSHIM_NO_PROC_FD opendir("/proc/self/fd") fails with EACCES too. Each call
 * it answers is logged to the file named by $FDSHIM_LOG, so the test knows the shim was used.
 *
 *   cc -shared -fPIC -o fdshim.so fdshim.c -ldl [-DFDSHIM_NO_PROC_FD] */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note(const char *what)
{
    const char *log = getenv("FDSHIM_LOG");
    FILE *f;

    if (log != NULL && (f = fopen(log, "a")) != NULL) {
        fprintf(f, "fdshim: %s\n", what);
        fclose(f);
    }
}

int close_range(unsigned int first, unsigned int last, int flags);

int close_range(unsigned int first, unsigned int last, int flags)
{
    (void)first;
    (void)last;
    (void)flags;
    note("close_range: ENOSYS");
    errno = ENOSYS;
    return -1;
}

#ifdef FDSHIM_NO_PROC_FD
DIR *opendir(const char *name)
{
    static DIR *(*real)(const char *);

    if (strcmp(name, "/proc/self/fd") == 0) {
        note("opendir /proc/self/fd: EACCES");
        errno = EACCES;
        return NULL;
    }
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "opendir");
    return real != NULL ? real(name) : NULL;
}
#endif
