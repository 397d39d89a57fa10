/* Live restore, the daemon's side of a container's monitor (`berth-init
 * --monitor`, runtime/linux/init/berth_monitor.c; the messages are in
 * runtime/linux/monitor_proto.h).
 *
 * With live-restore each start makes a listening socket
 * <exec-root>/monitors/<id>.sock, which rt_spawn hands to the monitor it
 * starts the container under.  The daemon connects once the process runs,
 * gives the monitor its ends of the container's stdio to hold, and learns
 * the exit from the monitor on that connection (the container is the
 * monitor's child, not ours).  A daemon that starts later connects again
 * and gets the state and the held ends back (runtime/container/restore.c).
 *
 * Socket paths are reached through /proc/self/fd/<dir fd>/..., so a long
 * exec root does not run into sun_path's 108 bytes. */
#include "runtime/container/monitor.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "runtime/container/internal.h"
#include "runtime/container/io.h"
#include "runtime/linux/monitor_proto.h"

struct rt_monitor {
    rt_container *c;
    int fd;
    uv_poll_t poll;
    bool polling;
};

void rt_containers_set_live_restore(rt_containers *m, const char *exec_root, bool enabled)
{
    if (exec_root)
        snprintf(m->monitor_dir, sizeof m->monitor_dir, "%s/monitors", exec_root);
    m->live_restore = enabled;
}

bool rt_monitor_wanted(const rt_containers *m)
{
    return m->live_restore && m->init_path[0] && m->monitor_dir[0];
}

/* The directory as an fd and the socket's name through it. */
static int sock_addr(const rt_containers *m, const rt_container *c, bool create, struct sockaddr_un *sa, berr *e)
{
    if (create) {
        int r = fs_mkdir_p(m->monitor_dir, 0700, e);
        if (r < 0)
            return r;
    }
    int dfd = open(m->monitor_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return berr_sys(e, -errno, "open %s", m->monitor_dir);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s.sock", dfd, c->id);
    return dfd;
}

int rt_monitor_listen(rt_containers *m, rt_container *c, int *listen_fd, berr *e)
{
    struct sockaddr_un sa;
    int dfd = sock_addr(m, c, true, &sa, e);
    if (dfd < 0)
        return dfd;
    char name[80];
    snprintf(name, sizeof name, "%s.sock", c->id);
    unlinkat(dfd, name, 0);   /* a leftover of a run that was never restored */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    int r = 0;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0)
        r = berr_sys(e, -errno, "monitor socket for container %.12s", c->id);
    close(dfd);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    *listen_fd = fd;
    return 0;
}

static void send_hold(int fd, const int fds[3])
{
    rt_monitor_msg msg = {.type = RT_MONITOR_HOLD};
    for (int i = 0; i < RT_MONITOR_MAX_FDS; i++)
        if (fds[i] >= 0)
            msg.fd_mask |= 1u << i;
    if (rt_monitor_send(fd, &msg, fds) < 0)
        log_warn("monitor: hand over stdio: %s", strerror(errno));
}

static void on_monitor(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct rt_monitor *mon = p->data;
    rt_container *c = mon->c;
    rt_monitor_msg msg;
    int fds[RT_MONITOR_MAX_FDS] = {-1, -1, -1};
    ssize_t n = status < 0 ? status : rt_monitor_recv(mon->fd, &msg, fds);
    for (int i = 0; i < RT_MONITOR_MAX_FDS; i++)
        if (fds[i] >= 0)
            close(fds[i]);   /* the STATE of a first start holds nothing we lack */
    if (n == -EAGAIN || n == -EPROTO)
        return;
    int code;
    if (n > 0 && (msg.type == RT_MONITOR_EXIT || (msg.type == RT_MONITOR_STATE && msg.exited)))
        code = rt_exit_code_of(msg.status);
    else if (n > 0)
        return;   /* the STATE of a first start: nothing new */
    else {
        /* The monitor is gone without a word (killed): the container is
         * no one's to watch now, so it goes as at a daemon start. */
        log_error("container %.12s: its monitor went away; killing the container", c->id);
        rt_cgroup_destroy(&c->manager->cgroups, c->id, NULL);
        code = 255;
    }
    uv_poll_stop(p);
    mon->polling = false;
    rt_container_exited(c->manager, c, code);
}

/* The held set again, without stdin now. */
static void stdin_closed(void *arg)
{
    struct rt_monitor *mon = arg;
    int fds[3] = {-1, -1, -1};
    if (mon->c->io)
        rt_io_monitor_fds(mon->c->io, fds);
    send_hold(mon->fd, fds);
}

static struct rt_monitor *monitor_new(rt_containers *m, rt_container *c, int fd)
{
    struct rt_monitor *mon = xcalloc(1, sizeof *mon);
    mon->c = c;
    mon->fd = fd;
    uv_poll_init(m->loop, &mon->poll, fd);
    mon->poll.data = mon;
    c->monitor = mon;
    if (c->io)
        rt_io_on_stdin_closed(c->io, stdin_closed, mon);
    return mon;
}

static int connect_to(rt_containers *m, rt_container *c, berr *e)
{
    struct sockaddr_un sa;
    int dfd = sock_addr(m, c, false, &sa, e);
    if (dfd < 0)
        return dfd;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    int r = fd;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        r = berr_sys(e, -errno, "connect to the monitor of container %.12s", c->id);
        if (fd >= 0)
            close(fd);
    }
    close(dfd);
    return r;
}

int rt_monitor_attach(rt_containers *m, rt_container *c, berr *e)
{
    int fd = connect_to(m, c, e);
    if (fd < 0)
        return fd;
    int fds[3] = {-1, -1, -1};
    if (c->io)
        rt_io_monitor_fds(c->io, fds);
    send_hold(fd, fds);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    struct rt_monitor *mon = monitor_new(m, c, fd);
    uv_poll_start(&mon->poll, UV_READABLE, on_monitor);
    mon->polling = true;
    return 0;
}

int rt_monitor_reconnect(rt_containers *m, rt_container *c, int *pid, bool *exited, int *code, int fds[3], berr *e)
{
    int fd = connect_to(m, c, e);
    if (fd < 0)
        return fd;
    /* The monitor answers at once; one that hangs is not waited for. */
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    rt_monitor_msg msg;
    ssize_t n = rt_monitor_recv(fd, &msg, fds);
    if (n <= 0 || msg.type != RT_MONITOR_STATE) {
        for (int i = 0; i < RT_MONITOR_MAX_FDS; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        close(fd);
        return berr_set(e, n < 0 ? (int)n : -EPROTO, "container %.12s: no state from its monitor", c->id);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    monitor_new(m, c, fd);
    *pid = msg.pid;
    *exited = msg.exited;
    *code = rt_exit_code_of(msg.status);
    return 0;
}

void rt_monitor_watch(rt_container *c)
{
    if (c->monitor && c->io)
        rt_io_on_stdin_closed(c->io, stdin_closed, c->monitor);
    if (c->monitor && !c->monitor->polling) {
        uv_poll_start(&c->monitor->poll, UV_READABLE, on_monitor);
        c->monitor->polling = true;
    }
}

static void monitor_closed(uv_handle_t *h) { free(h->data); }

void rt_monitor_detach(rt_container *c)
{
    struct rt_monitor *mon = c->monitor;
    if (!mon)
        return;
    c->monitor = NULL;
    if (c->io)
        rt_io_on_stdin_closed(c->io, NULL, NULL);
    close(mon->fd);   /* the monitor waits for the next daemon */
    uv_close((uv_handle_t *)&mon->poll, monitor_closed);
}

static void unlink_sock(rt_containers *m, const rt_container *c)
{
    if (!m->monitor_dir[0])
        return;
    cleanup_free char *path = xasprintf("%s/%s.sock", m->monitor_dir, c->id);
    unlink(path);
}

void rt_monitor_release(rt_containers *m, rt_container *c)
{
    if (c->monitor) {
        rt_monitor_msg done = {.type = RT_MONITOR_DONE};
        int none[RT_MONITOR_MAX_FDS] = {-1, -1, -1};
        rt_monitor_send(c->monitor->fd, &done, none);
    }
    rt_monitor_detach(c);
    unlink_sock(m, c);
}

void rt_monitor_discard(rt_containers *m, rt_container *c)
{
    if (!m->monitor_dir[0])
        return;
    cleanup_free char *path = xasprintf("%s/%s.sock", m->monitor_dir, c->id);
    if (access(path, F_OK) < 0)
        return;
    int fd = connect_to(m, c, NULL);
    if (fd >= 0) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
            log_info("container %.12s: stopping the monitor left of an earlier run (pid %d)", c->id, (int)cred.pid);
            kill(cred.pid, SIGKILL);
        }
        close(fd);
    }
    unlink(path);
}
