/* Starting containers and watching them: spawn, exit, restart policies. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/container/internal.h"
#include "runtime/container/network.h"
#include "runtime/container/fs.h"
#include "runtime/container/io.h"
#include "runtime/container/monitor.h"
#include "runtime/container/mounts.h"
#include "runtime/container/spec.h"
#include "runtime/layer/rwlayer.h"

#define RESTART_BACKOFF_MIN_MS 100
#define RESTART_BACKOFF_MAX_MS 60000
#define RESTART_RESET_AFTER_MS 10000

bool rt_container_running(const rt_container *c)
{
    return (c->state == RT_STATE_RUNNING || c->state == RT_STATE_PAUSED) && c->proc.pidfd >= 0;
}

const char *rt_restart_policy(const rt_container *c, int *max_retries)
{
    json_t *rp = json_object_get(c->host_config, "RestartPolicy");
    const char *name = json_string_value(json_object_get(rp, "Name"));
    if (max_retries)
        *max_retries = (int)json_integer_value(json_object_get(rp, "MaximumRetryCount"));
    return name && *name ? name : "no";
}

static void set_now(char *dst) { time_now_rfc3339(dst); }

/* ---- waiters -------------------------------------------------------------- */

typedef struct rt_waiter {
    rt_container *c;
    rt_wait_cond cond;
    rt_wait_fn fn;
    void *arg;
    struct rt_waiter *next;
} rt_waiter;

struct rt_waiter *rt_container_wait(rt_containers *m, rt_container *c, rt_wait_cond cond, rt_wait_fn fn, void *arg)
{
    (void)m;
    if (cond == RT_WAIT_NOT_RUNNING && !rt_container_running(c) && c->state != RT_STATE_RESTARTING) {
        fn(arg, c->exit_code, c->error[0] ? c->error : NULL);
        return NULL;
    }
    rt_waiter *w = xcalloc(1, sizeof *w);
    *w = (rt_waiter){c, cond, fn, arg, c->waiters};
    c->waiters = w;
    return w;
}

bool rt_container_wait_cancel(rt_containers *m, struct rt_waiter *w)
{
    (void)m;
    if (!w)
        return false;
    for (rt_waiter **p = &w->c->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            free(w);
            return true;
        }
    return false;   /* already being fired */
}

/* Fires the waiters whose condition now holds (all of them when removed).
 * They are taken off the container first: a callback may remove (and
 * free) the container, so nothing here touches c after the first call. */
void rt_container_fire_waiters(rt_container *c, bool removed, const char *error)
{
    rt_waiter *ready = NULL, **tail = &ready;
    for (rt_waiter **p = &c->waiters; *p;) {
        rt_waiter *w = *p;
        if (removed || w->cond != RT_WAIT_REMOVED) {
            *p = w->next;
            w->next = NULL;
            *tail = w;
            tail = &w->next;
        } else {
            p = &w->next;
        }
    }
    int code = c->exit_code;
    char msg[sizeof c->error];
    snprintf(msg, sizeof msg, "%s", error ? error : (!removed && c->error[0]) ? c->error : "");
    c->firing++;
    while (ready) {
        rt_waiter *w = ready;
        ready = w->next;
        w->fn(w->arg, code, msg[0] ? msg : NULL);
        free(w);
    }
    if (--c->firing == 0 && c->doomed)
        rt_container_free(c);
}

/* ---- exit --------------------------------------------------------------- */

static void restart_later(rt_containers *m, rt_container *c);

static void close_exit_watch(rt_container *c)
{
    if (c->exit_watch) {
        uv_poll_stop(c->exit_watch);
        uv_close((uv_handle_t *)c->exit_watch, (uv_close_cb)free);
        c->exit_watch = NULL;
    }
    if (c->proc.pidfd >= 0)
        close(c->proc.pidfd);
    c->proc.pidfd = -1;
}

static void stop_timer_cancel(rt_container *c)
{
    if (c->stop_timer) {
        uv_timer_stop(c->stop_timer);
        uv_close((uv_handle_t *)c->stop_timer, (uv_close_cb)free);
        c->stop_timer = NULL;
    }
}

/* Releases what a run holds: stdio, cgroup, mounted root. */
static void release_run(rt_containers *m, rt_container *c)
{
    berr e = {0};
    if (c->io)
        rt_io_close(c->io);
    rt_container_net_down(m, c);
    rt_mounts_release(m, c);
    if (rt_cgroup_destroy(&m->cgroups, c->id, &e) < 0)
        log_warn("container %.12s: %s", c->id, e.msg);
    if (rt_rwlayer_unmount(m->driver, c->id, &e) < 0)
        log_warn("container %.12s: %s", c->id, e.msg);
    char dir[PATH_MAX];
    rt_container_dir(m, c, dir);
    cleanup_free char *shm = xasprintf("%s/shm", dir);
    umount2(shm, MNT_DETACH);   /* --ipc shareable; nothing mounted otherwise */
    c->rootfs[0] = 0;
}

static bool should_restart(rt_containers *m, rt_container *c)
{
    if (c->manual_stop || c->removing || m->shutting_down)
        return false;
    int max;
    const char *policy = rt_restart_policy(c, &max);
    if (!strcmp(policy, "always") || !strcmp(policy, "unless-stopped"))
        return true;
    if (!strcmp(policy, "on-failure"))
        return c->exit_code != 0 && (max == 0 || c->restart_count < max);
    return false;
}

static void handle_exit(rt_containers *m, rt_container *c, int code)
{
    uint64_t ooms = 0;
    if (rt_cgroup_oom_kills(&m->cgroups, c->id, &ooms, NULL) == 0 && ooms > c->oom_before)
        c->oom_killed = true;
    stop_timer_cancel(c);
    close_exit_watch(c);
    rt_container_health_stop(c);
    release_run(m, c);
    c->exit_code = code;
    c->pid = 0;
    c->state = RT_STATE_EXITED;
    set_now(c->finished_at);
    if (c->oom_killed)
        rt_container_emit(m, c, "oom", NULL);
    char code_s[16];
    snprintf(code_s, sizeof code_s, "%d", code);
    rt_container_emit(m, c, "die", json_pack("{s:s}", "exitCode", code_s));
    bool restart = should_restart(m, c);
    if (restart)
        c->state = RT_STATE_RESTARTING;
    berr e = {0};
    if (rt_container_save(m, c, &e) < 0)
        log_error("%s", e.msg);
    /* only now: a daemon killed before the save finds the monitor again
     * and learns the exit from it */
    rt_monitor_release(m, c);
    bool auto_remove = !restart && json_is_true(json_object_get(c->host_config, "AutoRemove")) && !c->removing &&
                       !m->shutting_down;
    if (restart)
        restart_later(m, c);
    else if (auto_remove)
        c->removing = true;   /* no one may start it again; removed right after the waiters */
    char id[sizeof c->id];
    snprintf(id, sizeof id, "%s", c->id);
    /* A waiter may remove the container (rm -f): look it up again after. */
    rt_container_fire_waiters(c, false, NULL);
    rt_container *still;
    if (auto_remove && rt_container_find(m, id, &still, NULL) == 0 && still == c) {
        c->removing = false;
        rt_container_remove(m, c, true, true, NULL, NULL, NULL);
    }
}

void rt_container_exited(rt_containers *m, rt_container *c, int code) { handle_exit(m, c, code); }

static void on_exit_ready(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    rt_container *c = p->data;
    rt_containers *m = c->manager;
    siginfo_t si = {0};
    if (waitid((idtype_t)P_PIDFD, (id_t)c->proc.pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
        return;
    int code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
    handle_exit(m, c, code);
}

/* ---- start --------------------------------------------------------------- */

static int enter_cgroup(pid_t pid, void *ctx, berr *e)
{
    rt_container *c = ctx;
    return rt_cgroup_enter(&c->manager->cgroups, c->id, pid, e);
}

/* The exit code dockerd records for a start that failed, so `docker run`
 * exits 127 for a missing command and 126 for one it cannot run. */
static int failed_start_code(int err)
{
    return err == -ENOENT ? 127 : err == -EACCES ? 126 : 128;
}

static int do_start(rt_containers *m, rt_container *c, berr *e)
{
    c->manager = m;
    int r = rt_container_mount_root(m, c, c->rootfs, e);
    if (r < 0)
        return r;
    /* The network comes first: /etc/hosts needs its addresses and the
     * process joins its namespace. */
    if ((r = rt_container_net_up(m, c, e)) < 0) {
        release_run(m, c);
        return r;
    }
    rt_spec_storage st;
    r = rt_spec_build(m, c, c->rootfs, &st, e);
    if (r == 0)
        r = rt_cgroup_create(&m->cgroups, c->id, &st.resources, st.spec.privileged,
                             (const char *const *)st.device_rules, st.n_device_rules, e);
    uint64_t ooms = 0;
    rt_cgroup_oom_kills(&m->cgroups, c->id, &ooms, NULL);
    c->oom_before = ooms;
    int child[3] = {-1, -1, -1};
    if (r == 0)
        r = rt_io_open(m, c, child, e);
    /* With Tty the terminal is made in the container's own devpts, as runc
     * does, and its master comes back from the spawn. */
    int master = -1;
    bool tty = r == 0 && st.spec.tty;
    /* live restore: the process is the child of a monitor that outlives us */
    int monitor_listen = -1;
    if (r == 0 && rt_monitor_wanted(m))
        r = rt_monitor_listen(m, c, &monitor_listen, e);
    if (r == 0) {
        memcpy(st.spec.stdio, child, sizeof child);
        st.spec.console_master = tty ? &master : NULL;
        st.spec.before_exec = enter_cgroup;
        st.spec.ctx = c;
        st.spec.monitor_path = monitor_listen >= 0 ? m->init_path : NULL;
        st.spec.monitor_listen_fd = monitor_listen;
        st.spec.monitor_dir = m->monitor_dir;
        r = rt_spawn(&st.spec, &c->proc, e);
    }
    if (monitor_listen >= 0)
        close(monitor_listen);
    rt_spec_free(&st);
    if (r < 0) {
        c->proc.pidfd = -1;
        release_run(m, c);
        return r;
    }
    if (tty)
        rt_io_set_console(c->io, master);
    rt_io_started(c->io);
    c->pid = c->proc.pid;
    if (monitor_listen >= 0) {
        /* The exit comes from the monitor (the process is not our child). */
        if ((r = rt_monitor_attach(m, c, e)) < 0) {
            /* unreachable, the monitor would wait for a daemon for good */
            if (c->proc.monitor_pid > 0)
                kill(c->proc.monitor_pid, SIGKILL);
            syscall(SYS_pidfd_send_signal, c->proc.pidfd, SIGKILL, NULL, 0);
            close_exit_watch(c);
            release_run(m, c);
        }
        return r;
    }
    c->exit_watch = xcalloc(1, sizeof *c->exit_watch);
    uv_poll_init(m->loop, c->exit_watch, c->proc.pidfd);
    c->exit_watch->data = c;
    uv_poll_start(c->exit_watch, UV_READABLE, on_exit_ready);
    return 0;
}

void rt_container_start_failed(rt_containers *m, rt_container *c, int r, const berr *e)
{
    c->exit_code = failed_start_code(r);
    snprintf(c->error, sizeof c->error, "%s", e->msg);
    if (c->state == RT_STATE_RESTARTING)
        c->state = RT_STATE_EXITED;
    rt_container_save(m, c, NULL);
    /* It never ran: a wait for its next exit keeps waiting, as with
     * dockerd, but --rm still means gone (the CLI waits for that). */
    if (json_is_true(json_object_get(c->host_config, "AutoRemove")))
        rt_container_remove(m, c, true, true, NULL, NULL, NULL);
}

int rt_container_start(rt_containers *m, rt_container *c, berr *e)
{
    if (rt_container_running(c))
        return 0;
    if (c->removing || c->state == RT_STATE_REMOVING || c->state == RT_STATE_DEAD)
        return berr_set(e, -EBUSY, "container is marked for removal and cannot be started");
    if (c->restart_timer) {
        uv_timer_stop(c->restart_timer);
        uv_close((uv_handle_t *)c->restart_timer, (uv_close_cb)free);
        c->restart_timer = NULL;
    }
    int r = do_start(m, c, e);
    if (r < 0) {
        rt_monitor_release(m, c);   /* its socket, if one was made */
        rt_container_start_failed(m, c, r, e);
        return r;
    }
    c->state = RT_STATE_RUNNING;
    c->has_been_started = true;
    c->manual_stop = false;
    c->oom_killed = false;
    c->exit_code = 0;
    c->error[0] = 0;
    set_now(c->started_at);
    c->started_mono_ms = uv_now(m->loop);
    rt_container_save(m, c, NULL);
    rt_container_emit(m, c, "start", NULL);
    rt_container_health_start(m, c);
    return 0;
}

/* ---- restart policy ---------------------------------------------------------- */

static void on_restart_timer(uv_timer_t *t)
{
    rt_container *c = t->data;
    rt_containers *m = c->manager;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    c->restart_timer = NULL;
    if (c->state != RT_STATE_RESTARTING)
        return;
    c->restart_count++;
    berr e = {0};
    if (rt_container_start(m, c, &e) < 0)
        log_error("container %.12s: restart failed: %s", c->id, e.msg);
}

/* dockerd's back-off: 100 ms, doubling up to a minute, back to 100 ms once
 * a run lasted 10 s. */
static void restart_later(rt_containers *m, rt_container *c)
{
    c->restart_delay_ms = rt_restart_backoff_next(c->restart_delay_ms, uv_now(m->loop) - c->started_mono_ms);
    c->restart_timer = xcalloc(1, sizeof *c->restart_timer);
    uv_timer_init(m->loop, c->restart_timer);
    c->restart_timer->data = c;
    uv_timer_start(c->restart_timer, on_restart_timer, c->restart_delay_ms, 0);
}

uint64_t rt_restart_backoff_next(uint64_t current_ms, uint64_t ran_ms)
{
    if (ran_ms >= RESTART_RESET_AFTER_MS || current_ms == 0)
        return RESTART_BACKOFF_MIN_MS;
    return current_ms * 2 > RESTART_BACKOFF_MAX_MS ? RESTART_BACKOFF_MAX_MS : current_ms * 2;
}
