/* The messages between berthd and a container's monitor (`berth-init
 * --monitor`, runtime/linux/init/berth_monitor.c) on its SOCK_SEQPACKET
 * socket: one fixed-size record per message, fds as SCM_RIGHTS.  Shared by
 * the static monitor and the daemon (runtime/container/monitor.c), so it
 * holds only plain C. */
#ifndef BERTH_RUNTIME_MONITOR_PROTO_H
#define BERTH_RUNTIME_MONITOR_PROTO_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The held fds by index: the daemon's ends of stdout (or the pty master),
 * stderr and stdin. */
#define RT_MONITOR_MAX_FDS 3
enum { RT_MONITOR_FD_OUT = 0, RT_MONITOR_FD_ERR = 1, RT_MONITOR_FD_IN = 2 };

enum {
    RT_MONITOR_HOLD = 'H',    /* daemon -> monitor: keep these fds (fd_mask says which) */
    RT_MONITOR_STATE = 'S',   /* monitor -> daemon, on connect: the state and the held fds */
    RT_MONITOR_EXIT = 'X',    /* monitor -> daemon: the container exited (status) */
    RT_MONITOR_DONE = 'D',    /* daemon -> monitor: the exit is recorded, the pipes read: go */
};

typedef struct rt_monitor_msg {
    uint32_t type;
    int32_t pid;              /* the container's PID 1, as the host sees it */
    int32_t exited;           /* 1 once it has exited */
    int32_t status;           /* its wait status (WIFEXITED, WTERMSIG, ...) */
    uint32_t fd_mask;         /* bit i: fd i of RT_MONITOR_FD_* is attached, in order */
} rt_monitor_msg;

/* Sends msg with fds[i] attached for each bit i of msg->fd_mask. */
static inline ssize_t rt_monitor_send(int sock, const rt_monitor_msg *msg, const int fds[RT_MONITOR_MAX_FDS])
{
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = sizeof *msg};
    union {
        char buf[CMSG_SPACE(sizeof(int) * RT_MONITOR_MAX_FDS)];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    int list[RT_MONITOR_MAX_FDS], n = 0;
    for (int i = 0; i < RT_MONITOR_MAX_FDS; i++)
        if (msg->fd_mask & (1u << i))
            list[n++] = fds[i];
    if (n) {
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(cm), list, sizeof(int) * (size_t)n);
    }
    ssize_t w;
    do
        w = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w;
}

/* Receives one message: fds[i] gets the fd attached for bit i of its
 * fd_mask (close-on-exec), -1 elsewhere.  The size, 0 at EOF, or -errno;
 * -EPROTO (nothing kept) for a record of another size. */
static inline ssize_t rt_monitor_recv(int sock, rt_monitor_msg *msg, int fds[RT_MONITOR_MAX_FDS])
{
    struct iovec iov = {.iov_base = msg, .iov_len = sizeof *msg};
    union {
        char buf[CMSG_SPACE(sizeof(int) * RT_MONITOR_MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    for (int i = 0; i < RT_MONITOR_MAX_FDS; i++)
        fds[i] = -1;
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    int got[RT_MONITOR_MAX_FDS], k = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                int f;
                memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
                if (k < RT_MONITOR_MAX_FDS)
                    got[k++] = f;
                else
                    close(f);
            }
    bool ok = (size_t)n == sizeof *msg;
    int j = 0;
    for (int i = 0; ok && i < RT_MONITOR_MAX_FDS && j < k; i++)
        if (msg->fd_mask & (1u << i))
            fds[i] = got[j++];
    while (j < k)   /* not announced, or not a message of ours */
        close(got[j++]);
    return ok ? n : n == 0 ? 0 : -EPROTO;
}

/* The exit code of a wait status, as docker reports it: 128+N for signal N. */
static inline int rt_exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

#endif
