/* berth-init --monitor: the per-container process of live restore.
 *
 *   berth-init --monitor <pid> <dir>    (fd 3: a listening SOCK_SEQPACKET socket)
 *
 * pid is the container's PID 1, the monitor's only child; dir the
 * directory of its socket, made its working directory so that whose
 * monitor it is can be told from /proc (tests sweep by it).
 *
 * With live-restore, berthd starts each container as a child of this
 * monitor (runtime/linux/spawn_monitor.c), so the container outlives the
 * daemon: the monitor is its parent (the only process that can learn its
 * exit status), holds the daemon's ends of its stdio (so a write to stdout
 * while no daemon reads lands in the pipe instead of raising SIGPIPE), and
 * answers each daemon that connects.  Messages (runtime/linux/monitor_proto.h):
 *
 *   daemon -> monitor  HOLD  + the daemon's stdio ends (SCM_RIGHTS): keep them
 *   monitor -> daemon  STATE on every connection: pid, exited, wait status,
 *                      + the held fds (a restarted daemon reads on from them)
 *                      EXIT  when the container exits while a daemon is connected
 *
 *   daemon -> monitor  DONE  the exit is recorded and the pipes drained: go
 *
 * Only DONE ends the monitor: a daemon that goes away before it (stopped,
 * killed, even right after it was told of the exit) just closes the
 * connection, and the monitor waits for the next one, which then learns
 * the exit from STATE.
 *
 * No allocation, no stdio: a small static program, like the init. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/linux/monitor_proto.h"

#define LISTEN_FD 3

static int held[RT_MONITOR_MAX_FDS] = {-1, -1, -1};
static unsigned held_mask;

static void send_msg(int conn, rt_monitor_msg *msg, bool with_fds)
{
    msg->fd_mask = with_fds ? held_mask : 0;
    rt_monitor_send(conn, msg, held);
}

enum { MON_MORE, MON_EOF, MON_DONE };

/* A HOLD: its fds replace what was held.  MON_EOF at EOF or error. */
static int read_msg(int conn)
{
    rt_monitor_msg msg;
    int fds[RT_MONITOR_MAX_FDS];
    ssize_t n = rt_monitor_recv(conn, &msg, fds);
    if (n == -EPROTO)
        return MON_MORE;   /* not ours to understand: ignored */
    if (n <= 0)
        return MON_EOF;
    if (msg.type != RT_MONITOR_HOLD) {
        for (int i = 0; i < RT_MONITOR_MAX_FDS; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        return msg.type == RT_MONITOR_DONE ? MON_DONE : MON_MORE;
    }
    for (int i = 0; i < RT_MONITOR_MAX_FDS; i++) {
        if (held[i] >= 0)
            close(held[i]);
        held[i] = fds[i];
    }
    held_mask = msg.fd_mask;
    return MON_MORE;
}

int monitor_main(int argc, char **argv);

int monitor_main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    pid_t child = (pid_t)strtol(argv[2], NULL, 10);
    if (argc > 3 && chdir(argv[3]) < 0)
        return 2;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_SETMASK, &chld, NULL);   /* everything else as the default says */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    /* The daemon made the socket; listening again makes SO_PEERCRED name
     * us to those who connect, so a daemon can find whom to stop. */
    listen(LISTEN_FD, 4);

    int status = 0;
    bool exited = false;
    int conn = -1;
    bool told = false;   /* the connected daemon knows of the exit */
    for (;;) {
        /* Reap first: the container may have exited before we ran. */
        for (;;) {
            int st;
            pid_t p = waitpid(-1, &st, WNOHANG);
            if (p <= 0)
                break;
            if (p == child) {
                status = st;
                exited = true;
            }
        }
        if (exited && conn >= 0 && !told) {
            rt_monitor_msg msg = {.type = RT_MONITOR_EXIT, .pid = child, .exited = 1, .status = status};
            send_msg(conn, &msg, false);
            told = true;
        }
        struct pollfd pf[2] = {{.fd = conn >= 0 ? conn : LISTEN_FD, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        int n = poll(pf, sfd >= 0 ? 2 : 1, 1000);
        if (n < 0 && errno != EINTR)
            return 1;
        if (n <= 0)
            continue;
        if (pf[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0)
                ;
        }
        if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (conn < 0) {
            conn = accept4(LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0)
                continue;
            rt_monitor_msg msg = {.type = RT_MONITOR_STATE, .pid = child, .exited = exited, .status = status};
            send_msg(conn, &msg, true);
            told = exited;
            continue;
        }
        int m = read_msg(conn);
        if (m == MON_DONE && exited)
            return 0;   /* a daemon has recorded the exit and read the pipes */
        if (m != MON_EOF)
            continue;
        close(conn);
        conn = -1;
        told = false;
    }
}
