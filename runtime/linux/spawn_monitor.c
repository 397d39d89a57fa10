/* Spawning a container under a monitor, for live restore.
 *
 * A process's exit status goes to its parent only, and a pipe whose
 * reader is gone raises SIGPIPE in the writer: a container that is to
 * outlive the daemon needs a parent and a holder of its stdio that are not
 * the daemon.  So the clone is done twice more:
 *
 *   daemon --clone--> I --clone--> M --clone3(namespaces)--> container
 *                     |            '-- execve(berth-init --monitor <pid> <dir>)
 *                     '-- _exit: M is reparented at once (init or the
 *                         nearest subreaper), as a daemonised containerd-shim
 *
 * I and M are copies of the daemon like the container's child: only
 * system calls until M's execve.  M tells the daemon both pids on a pipe;
 * the container then waits for the daemon's "go" and reports exec errors
 * exactly as without a monitor (spawn.c), and the daemon watches it by
 * the pidfd it opens here and by the monitor's socket. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "runtime/linux/spawn_internal.h"

#define MONITOR_LISTEN_FD 3   /* as berth_monitor.c expects it */

typedef struct monitor_report {
    int32_t pid;      /* the container's, or -errno */
    int32_t monitor;  /* M's */
} monitor_report;

static void report(int fd, int32_t pid)
{
    monitor_report r = {pid, (int32_t)syscall(SYS_getpid)};
    while (write(fd, &r, sizeof r) < 0 && errno == EINTR)
        ;
}

/* In M after the container's clone: become the monitor. */
static _Noreturn void exec_monitor(const rt_spawn_spec *s, pid_t child)
{
    int lfd = s->monitor_listen_fd;
    if (lfd == MONITOR_LISTEN_FD)
        fcntl(lfd, F_SETFD, 0);
    else if (dup2(lfd, MONITOR_LISTEN_FD) < 0)
        _exit(1);
    close_range(MONITOR_LISTEN_FD + 1, ~0U, 0);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        if (null_fd > 2)
            close(null_fd);
    }
    /* The daemon's terminal and session are not the monitor's. */
    setsid();
    char pid_text[16];
    int n = 0;
    char rev[16];
    for (unsigned v = (unsigned)child; n == 0 || v; v /= 10)
        rev[n++] = (char)('0' + v % 10);
    for (int i = 0; i < n; i++)
        pid_text[i] = rev[n - 1 - i];
    pid_text[n] = 0;
    char *argv[] = {(char *)s->monitor_path, (char *)"--monitor", pid_text, (char *)s->monitor_dir, NULL};
    char *envp[] = {NULL};
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(s->monitor_path, argv, envp);
    _exit(127);
}

pid_t spawn_monitor_clone(spawn_child *c, struct clone_args *cargs, int pid_ns_fd, int *pidfd, int *monitor_pidfd,
                          pid_t *monitor_pid, berr *e)
{
    const rt_spawn_spec *s = c->spec;
    *pidfd = *monitor_pidfd = -1;
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0)
        return berr_sys(e, -errno, "pipe");
    cleanup_close int rd = pp[0], wr = pp[1];
    /* The pidfd the caller asked for is for its own child: here it opens one. */
    cargs->flags &= ~(uint64_t)CLONE_PIDFD;
    cargs->pidfd = 0;
    struct clone_args plain;
    memset(&plain, 0, sizeof plain);
    plain.exit_signal = SIGCHLD;
    pid_t ipid = (pid_t)syscall(SYS_clone3, &plain, sizeof plain);
    if (ipid < 0)
        return berr_sys(e, -errno, "clone3 (monitor)");
    if (ipid == 0) {
        close(rd);
        pid_t mpid = (pid_t)syscall(SYS_clone3, &plain, sizeof plain);
        if (mpid != 0) {
            if (mpid < 0)
                report(wr, -errno);
            _exit(0);
        }
        /* M: only its children are born in a joined pid namespace. */
        if (pid_ns_fd >= 0 && setns(pid_ns_fd, CLONE_NEWPID) < 0) {
            report(wr, -errno);
            _exit(1);
        }
        pid_t cpid = (pid_t)syscall(SYS_clone3, cargs, sizeof *cargs);
        if (cpid == 0)
            spawn_child_main(c);
        report(wr, cpid < 0 ? -errno : cpid);
        if (cpid < 0)
            _exit(1);
        exec_monitor(s, cpid);
    }
    close(steal_fd(&wr));
    monitor_report r = {0, 0};
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(rd, (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int st;
    while (waitpid(ipid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof r)
        return berr_set(e, -EIO, "start the container's monitor: no report");
    if (r.pid < 0)
        return berr_sys(e, r.pid, "clone3");
    *monitor_pid = (pid_t)r.monitor;
    *monitor_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)r.monitor, 0);
    *pidfd = (int)syscall(SYS_pidfd_open, (pid_t)r.pid, 0);
    if (*pidfd < 0) {
        int err = -errno;
        spawn_monitor_abandon(-1, *monitor_pidfd);
        *monitor_pidfd = -1;
        return berr_sys(e, err, "pidfd_open");
    }
    return (pid_t)r.pid;
}

void spawn_monitor_abandon(int pidfd, int monitor_pidfd)
{
    if (pidfd >= 0)
        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    if (monitor_pidfd >= 0) {
        pidfd_send_signal(monitor_pidfd, SIGKILL, NULL, 0);
        close(monitor_pidfd);
    }
}
