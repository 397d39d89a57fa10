/* Live restore: taking over, at daemon start, a container that kept
 * running under its monitor while the daemon was down, and letting go of
 * one at daemon stop.
 *
 * What a run holds is rebuilt from what is still there: the process (its
 * PID checked against the one recorded), the mounted root (mounting is a
 * no-op on a mount point), the volumes' users, the network namespace of
 * the process with the endpoints recorded in NetworkSettings (the veths
 * and addresses are there; the address books, published ports and DNS
 * server are made again), the cgroup, and the stdio ends the monitor kept:
 * what the container wrote meanwhile waits in the pipes (64 KiB and more;
 * a container that fills them blocks until we read, as with dockerd) and
 * goes to the log now. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "runtime/container/fs.h"
#include "runtime/container/internal.h"
#include "runtime/container/io.h"
#include "runtime/container/monitor.h"
#include "runtime/container/mounts.h"
#include "runtime/container/network.h"

/* The loop time the container would have started at, so restart back-off
 * sees how long it really ran. */
static uint64_t started_mono(rt_containers *m, const rt_container *c)
{
    long long started = time_parse_rfc3339(c->started_at);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ran_ms = started > 0 ? ((long long)now.tv_sec * 1000000000LL + now.tv_nsec - started) / 1000000 : 0;
    uint64_t loop_now = uv_now(m->loop);
    return ran_ms > 0 && (uint64_t)ran_ms < loop_now ? loop_now - (uint64_t)ran_ms : 0;
}

static int take_over(rt_containers *m, rt_container *c, int pid, bool exited, const int fds[3], berr *e)
{
    int r = rt_container_mount_root(m, c, c->rootfs, e);
    if (r == 0 && !exited)
        r = rt_container_net_adopt(m, c, pid, e);
    if (r == 0)
        r = rt_mounts_setup(m, c, c->rootfs, e);
    if (r < 0)
        return r;
    r = rt_io_adopt(m, c, fds, e);
    if (r < 0)
        return r;
    c->proc.pid = pid;
    c->proc.pidfd = exited ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
    c->oom_before = 0;   /* the cgroup was made for this run */
    c->started_mono_ms = started_mono(m, c);
    return 0;
}

bool rt_container_restore(rt_containers *m, rt_container *c)
{
    if (c->state != RT_STATE_RUNNING && c->state != RT_STATE_PAUSED)
        return false;
    c->manager = m;
    int pid = 0, code = 0;
    bool exited = false;
    int fds[3] = {-1, -1, -1};
    berr e = {0};
    if (rt_monitor_reconnect(m, c, &pid, &exited, &code, fds, &e) < 0) {
        log_debug("%s", e.msg);
        return false;
    }
    int r = 0;
    if (!m->live_restore)
        r = berr_set(&e, -ECANCELED, "live-restore is off: stopping it");
    else if (pid != c->pid)
        r = berr_set(&e, -ESRCH, "its monitor runs PID %d, not %d", pid, c->pid);
    if (r == 0)
        r = take_over(m, c, pid, exited, fds, &e);
    else
        for (int i = 0; i < 3; i++)
            if (fds[i] >= 0)
                close(fds[i]);
    if (r < 0) {
        log_warn("container %.12s: not restored: %s", c->id, e.msg);
        /* the caller destroys the cgroup and records the exit */
        if (c->io)
            rt_io_close(c->io);
        rt_container_net_down(m, c);
        rt_mounts_release(m, c);
        rt_monitor_detach(c);
        rt_monitor_discard(m, c);
        return false;
    }
    if (exited) {
        log_info("container %.12s exited with %d while the daemon was down", c->id, code);
        rt_container_exited(m, c, code);
        return true;
    }
    rt_monitor_watch(c);
    rt_container_health_start(m, c);
    log_info("container %.12s restored (pid %d)", c->id, pid);
    return true;
}

void rt_container_leave_running(rt_containers *m, rt_container *c)
{
    if (c->stop_timer) {
        uv_timer_stop(c->stop_timer);
        uv_close((uv_handle_t *)c->stop_timer, (uv_close_cb)free);
        c->stop_timer = NULL;
    }
    rt_container_health_stop(c);
    if (c->io)
        rt_io_detach(c->io);
    rt_container_net_down(m, c);
    rt_monitor_detach(c);
    if (c->proc.pidfd >= 0)
        close(c->proc.pidfd);
    c->proc.pidfd = -1;
    if (m->net)
        m->net->keep_rules = true;
    log_info("container %.12s left running (live-restore)", c->id);
}
