/* berth-init: the init a container gets with `docker run --init`, in the
 * manner of tini / docker-init.
 *
 *   berth-init [--] cmd [args...]
 *   berth-init --monitor pid dir      (live restore: berth_monitor.c)
 *
 * As PID 1 it has two jobs the command usually does not do: pass on the
 * signals sent to the container (the kernel does not deliver to PID 1 the
 * signals it has no handler for, so a plain `docker stop` would otherwise
 * wait for the timeout), and reap the orphans reparented to it.  It exits
 * with the command's status, 128+N when the command died of signal N.
 *
 * Built static (no libc at run time in the container), so it stays small
 * and uses only basic libc calls.  Signals are taken synchronously with
 * sigtimedwait: no handlers, no races between a handler and waitpid. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/linux/monitor_proto.h"

/* Faults are the process's own, not something to forward; SIGTTIN/SIGTTOU
 * are ignored so init can hand the terminal over with tcsetpgrp. */
static const int not_forwarded[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};

static void usage(void)
{
    fputs("usage: berth-init [--] command [args...]\n", stderr);
    exit(2);
}

/* In the child: own process group, the terminal if there is one, default
 * signal state, then the command.  Does not return. */
static void run_child(char **argv, const sigset_t *orig)
{
    setpgid(0, 0);
    /* Blocked SIGTTOU (inherited) lets a background process take the tty. */
    if (isatty(STDIN_FILENO))
        tcsetpgrp(STDIN_FILENO, getpgrp());
    signal(SIGTTIN, SIG_DFL);
    signal(SIGTTOU, SIG_DFL);
    sigprocmask(SIG_SETMASK, orig, NULL);
    execvp(argv[0], argv);
    int err = errno;
    fprintf(stderr, "berth-init: exec %s failed: %s\n", argv[0], strerror(err));
    _exit(err == ENOENT ? 127 : 126);
}

/* Reaps every child that has exited; returns 1 and sets *code when the
 * command was among them. */
static int reap(pid_t child, int *code)
{
    int done = 0;
    for (;;) {
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p < 0 && errno == EINTR)
            continue;
        if (p <= 0)
            return done;   /* nothing more now, or no children at all */
        if (p == child) {
            *code = rt_exit_code_of(status);
            done = 1;
        }
    }
}

int monitor_main(int argc, char **argv);   /* berth_monitor.c: live restore's monitor */

int main(int argc, char **argv)
{
    /* berthd runs its init as `berth-init -- cmd`, so this cannot be a command. */
    if (argc > 1 && strcmp(argv[1], "--monitor") == 0)
        return monitor_main(argc, argv);
    int i = 1;
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc)
        usage();

    sigset_t all, orig;
    sigfillset(&all);
    for (size_t k = 0; k < sizeof not_forwarded / sizeof not_forwarded[0]; k++)
        sigdelset(&all, not_forwarded[k]);
    sigprocmask(SIG_SETMASK, &all, &orig);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);

    /* Outside a PID namespace (tests, `docker run --pid=host`) orphans would
     * go to the real init; as a subreaper they come to us as they would to
     * PID 1. */
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "berth-init: fork failed: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0)
        run_child(argv + i, &orig);

    int code = 0;
    for (;;) {
        /* A timeout as a safety net: a SIGCHLD merged with another one or
         * pending before we waited is still noticed by the next reap. */
        struct timespec tick = {1, 0};
        siginfo_t si;
        int sig = sigtimedwait(&all, &si, &tick);
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "berth-init: sigtimedwait: %s\n", strerror(errno));
            return 1;
        }
        if (sig > 0 && sig != SIGCHLD)
            kill(child, sig);
        if (reap(child, &code))
            return code;
    }
}
