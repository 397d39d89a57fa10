/* Operations on existing containers: stop, kill, restart, pause, remove,
 * rename; and the daemon-level recovery at start and stop at shutdown. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "runtime/container/internal.h"
#include "runtime/container/io.h"
#include "runtime/container/monitor.h"
#include "runtime/container/mounts.h"
#include "runtime/container/exec.h"
#include "runtime/container/links.h"
#include "runtime/layer/rwlayer.h"
#include "runtime/linux/signals.h"

#define DEFAULT_STOP_TIMEOUT 10

static int send_signal(rt_container *c, int sig, berr *e)
{
    if (syscall(SYS_pidfd_send_signal, c->proc.pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
        return berr_sys(e, -errno, "cannot kill container %s", c->id);
    return 0;
}

static int stop_signal(const rt_container *c)
{
    const char *s = json_string_value(json_object_get(c->config, "StopSignal"));
    int sig = s && *s ? rt_signal_parse(s) : SIGTERM;
    return sig > 0 ? sig : SIGTERM;
}

static int stop_timeout(const rt_container *c, int timeout)
{
    if (timeout >= 0)
        return timeout;
    json_t *t = json_object_get(c->config, "StopTimeout");
    return json_is_integer(t) ? (int)json_integer_value(t) : DEFAULT_STOP_TIMEOUT;
}

static void emit_kill(rt_containers *m, rt_container *c, int sig)
{
    char num[16];
    snprintf(num, sizeof num, "%d", sig);
    rt_container_emit(m, c, "kill", json_pack("{s:s}", "signal", num));
}

int rt_container_kill(rt_containers *m, rt_container *c, int sig, berr *e)
{
    if (!rt_container_running(c))
        return berr_set(e, -EBUSY, "cannot kill container: %s: container %s is not running", c->name, c->id);
    if (c->state == RT_STATE_PAUSED) {
        /* a frozen process cannot take a signal, not even SIGKILL, until it thaws */
        int r = rt_container_pause(m, c, false, e);
        if (r < 0)
            return r;
    }
    int r = send_signal(c, sig, e);
    if (r == 0)
        emit_kill(m, c, sig);
    return r;
}

/* dockerd answers a SIGKILL only once the container has exited (daemon/kill.go
 * Kill), so the caller's next inspect sees "exited" and 137; other signals
 * are answered when sent.  A process that ignores SIGKILL for this long
 * (uninterruptible sleep) gets dockerd's error instead of a hang. */
#define KILL_WAIT_MS 12000

typedef struct kill_ctx {
    rt_containers *m;
    struct rt_waiter *w;
    uv_timer_t timer;
    rt_done_fn done;
    void *arg;
} kill_ctx;

static void kill_ctx_free(uv_handle_t *h) { free(h->data); }

static void kill_finish(kill_ctx *k, int status, const berr *e)
{
    uv_timer_stop(&k->timer);
    k->w = NULL;
    k->done(k->arg, status, e);
    uv_close((uv_handle_t *)&k->timer, kill_ctx_free);
}

static void kill_exited(void *arg, int exit_code, const char *error)
{
    (void)exit_code;
    (void)error;
    kill_finish(arg, 0, NULL);
}

static void kill_timed_out(uv_timer_t *t)
{
    kill_ctx *k = t->data;
    /* false: the waiter is being fired right now and will finish */
    if (!rt_container_wait_cancel(k->m, k->w))
        return;
    berr e = {0};
    berr_set(&e, -EIO, "tried to kill container, but did not receive an exit event");
    kill_finish(k, e.code, &e);
}

int rt_container_kill_wait(rt_containers *m, rt_container *c, int sig, rt_done_fn done, void *arg, berr *e)
{
    int r = rt_container_kill(m, c, sig, e);
    if (r < 0)
        return r;
    if (sig != SIGKILL) {
        done(arg, 0, NULL);
        return 0;
    }
    kill_ctx *k = xcalloc(1, sizeof *k);
    *k = (kill_ctx){.m = m, .done = done, .arg = arg};
    uv_timer_init(m->loop, &k->timer);
    k->timer.data = k;
    uv_timer_start(&k->timer, kill_timed_out, KILL_WAIT_MS, 0);
    /* fires at once (and finishes) if the exit was already reaped */
    struct rt_waiter *w = rt_container_wait(m, c, RT_WAIT_NOT_RUNNING, kill_exited, k);
    if (uv_is_active((uv_handle_t *)&k->timer))
        k->w = w;
    return 0;
}

/* ---- stop ------------------------------------------------------------------ */

static void on_stop_timeout(uv_timer_t *t)
{
    rt_container *c = t->data;
    log_info("Container %.12s failed to exit within its stop timeout; killing it", c->id);
    if (rt_container_running(c))
        rt_container_kill(c->manager, c, SIGKILL, NULL);
}

typedef struct stop_ctx {
    rt_containers *m;
    rt_container *c;
    rt_done_fn done;
    void *arg;
    bool emit_stop;
} stop_ctx;

static void stopped(void *arg, int exit_code, const char *error)
{
    (void)exit_code;
    (void)error;
    stop_ctx *s = arg;
    /* A stop waiter called before this one may have removed the container. */
    if (s->emit_stop && !s->c->doomed)
        rt_container_emit(s->m, s->c, "stop", NULL);
    if (s->done)
        s->done(s->arg, 0, NULL);
    free(s);
}

int rt_container_stop(rt_containers *m, rt_container *c, int timeout, rt_done_fn done, void *arg, berr *e)
{
    return rt_container_stop_with(m, c, timeout, 0, done, arg, e);
}

int rt_container_stop_with(rt_containers *m, rt_container *c, int timeout, int sig, rt_done_fn done, void *arg,
                           berr *e)
{
    if (c->state == RT_STATE_RESTARTING && c->restart_timer) {
        /* between two runs: stopping means no next run */
        uv_timer_stop(c->restart_timer);
        uv_close((uv_handle_t *)c->restart_timer, (uv_close_cb)free);
        c->restart_timer = NULL;
        c->state = RT_STATE_EXITED;
        c->manual_stop = true;
        rt_container_save(m, c, NULL);
        rt_container_fire_waiters(c, false, NULL);
    }
    if (!rt_container_running(c)) {
        if (done)
            done(arg, 0, NULL);
        return 0;
    }
    c->manual_stop = !m->shutting_down;
    rt_container_save(m, c, NULL);
    stop_ctx *s = xcalloc(1, sizeof *s);
    *s = (stop_ctx){m, c, done, arg, true};
    rt_container_wait(m, c, RT_WAIT_NOT_RUNNING, stopped, s);
    int secs = stop_timeout(c, timeout);
    int r = secs == 0 ? rt_container_kill(m, c, SIGKILL, e) : rt_container_kill(m, c, sig > 0 ? sig : stop_signal(c), e);
    if (r < 0)
        return r;   /* the waiter stays: the exit will still complete the stop */
    if (secs > 0 && !c->stop_timer) {
        c->stop_timer = xcalloc(1, sizeof *c->stop_timer);
        uv_timer_init(m->loop, c->stop_timer);
        c->stop_timer->data = c;
        uv_timer_start(c->stop_timer, on_stop_timeout, (uint64_t)secs * 1000, 0);
    }
    return 0;
}

/* ---- restart ------------------------------------------------------------- */

typedef struct restart_ctx {
    rt_containers *m;
    rt_container *c;
    rt_done_fn done;
    void *arg;
} restart_ctx;

static void restart_stopped(void *arg, int status, const berr *err)
{
    restart_ctx *rc = arg;
    berr e = {0};
    int r = status;
    if (r == 0)
        r = rt_container_start(rc->m, rc->c, &e);
    else if (err)
        e = *err;
    if (r == 0)
        rt_container_emit(rc->m, rc->c, "restart", NULL);
    if (rc->done)
        rc->done(rc->arg, r, r < 0 ? &e : NULL);
    free(rc);
}

int rt_container_restart(rt_containers *m, rt_container *c, int timeout, rt_done_fn done, void *arg, berr *e)
{
    return rt_container_restart_with(m, c, timeout, 0, done, arg, e);
}

int rt_container_restart_with(rt_containers *m, rt_container *c, int timeout, int sig, rt_done_fn done, void *arg,
                              berr *e)
{
    if (c->removing)
        return berr_set(e, -EBUSY, "container is marked for removal and cannot be started");
    restart_ctx *rc = xcalloc(1, sizeof *rc);
    *rc = (restart_ctx){m, c, done, arg};
    return rt_container_stop_with(m, c, timeout, sig, restart_stopped, rc, e);
}

/* ---- pause ------------------------------------------------------------------ */

int rt_container_pause(rt_containers *m, rt_container *c, bool pause, berr *e)
{
    if (!rt_container_running(c))
        return berr_set(e, -EBUSY, "Container %s is not running", c->id);
    if (pause && c->state == RT_STATE_PAUSED)
        return berr_set(e, -EBUSY, "Container %s is already paused", c->id);
    if (!pause && c->state != RT_STATE_PAUSED)
        return berr_set(e, -EBUSY, "Container %s is not paused", c->id);
    int r = rt_cgroup_freeze(&m->cgroups, c->id, pause, e);
    if (r < 0)
        return r;
    c->state = pause ? RT_STATE_PAUSED : RT_STATE_RUNNING;
    rt_container_save(m, c, NULL);
    rt_container_emit(m, c, pause ? "pause" : "unpause", NULL);
    return 0;
}

/* ---- remove ------------------------------------------------------------------ */

typedef struct remove_ctx {
    rt_containers *m;
    rt_container *c;
    rt_done_fn done;
    void *arg;
    bool volumes;
} remove_ctx;

static int finish_remove(rt_containers *m, rt_container *c, bool volumes, berr *e)
{
    int r = rt_rwlayer_remove(m->driver, c->id, e);
    char dir[PATH_MAX];
    rt_container_dir(m, c, dir);
    if (r == 0)
        r = fs_rm_rf(dir, e);
    if (r == 0)
        r = rt_container_delete_row(m, c, e);
    if (r < 0) {
        c->state = RT_STATE_DEAD;
        c->removing = false;
        snprintf(c->error, sizeof c->error, "%s", e->msg);
        rt_container_save(m, c, NULL);
        return r;
    }
    rt_container_emit(m, c, "destroy", NULL);
    rt_exec_forget_container(m, c->id);
    /* clients attached to a container that never started */
    while (c->pending_sinks) {
        rt_io_sink *s = c->pending_sinks;
        c->pending_sinks = s->next;
        if (s->ended)
            s->ended(s->ctx);
    }
    rt_containers_forget(m, c);
    if (volumes)   /* now that c no longer counts as a user */
        rt_mounts_remove_anonymous(m, c);
    rt_container_fire_waiters(c, true, NULL);
    if (c->firing)
        c->doomed = true;   /* removed from inside a waiter: the round frees it */
    else
        rt_container_free(c);
    return 0;
}

static void remove_after_stop(void *arg, int status, const berr *err)
{
    (void)err;
    remove_ctx *rc = arg;
    berr e = {0};
    int r = status == 0 ? finish_remove(rc->m, rc->c, rc->volumes, &e) : status;
    if (rc->done)
        rc->done(rc->arg, r, r < 0 ? &e : NULL);
    free(rc);
}

int rt_container_remove(rt_containers *m, rt_container *c, bool force, bool volumes, rt_done_fn done, void *arg,
                        berr *e)
{
    if (c->removing)
        return berr_set(e, -EBUSY, "removal of container %s is already in progress", c->id);
    if (c->state == RT_STATE_PAUSED && !force)
        return berr_set(e, -EBUSY, "cannot remove container \"/%s\": container is paused and must be unpaused first",
                        c->name);
    if ((rt_container_running(c) || c->state == RT_STATE_RESTARTING) && !force)
        return berr_set(e, -EBUSY, "cannot remove container \"/%s\": container is running: stop the container before removing or force remove",
                        c->name);
    c->removing = true;
    if (c->state == RT_STATE_RESTARTING && c->restart_timer) {
        uv_timer_stop(c->restart_timer);
        uv_close((uv_handle_t *)c->restart_timer, (uv_close_cb)free);
        c->restart_timer = NULL;
        c->state = RT_STATE_EXITED;
    }
    if (!rt_container_running(c)) {
        int r = finish_remove(m, c, volumes, e);
        if (done)
            done(arg, r, r < 0 ? e : NULL);
        return r;
    }
    remove_ctx *rc = xcalloc(1, sizeof *rc);
    *rc = (remove_ctx){m, c, done, arg, volumes};
    int r = rt_container_stop(m, c, 0, remove_after_stop, rc, e);
    if (r < 0)
        c->removing = false;
    return r;
}

int rt_container_rename(rt_containers *m, rt_container *c, const char *name, berr *e)
{
    if (!name || !*name)
        return berr_set(e, -EINVAL, "Neither old nor new names may be empty");
    const char *n = name[0] == '/' ? name + 1 : name;
    rt_container *other = rt_container_by_name(m, n);
    if (other == c)
        return berr_set(e, -EINVAL, "Renaming a container with the same name as its current name");
    if (other)
        return berr_set(e, -EEXIST,
                        "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
                        n, other->id);
    bool ok = n[0] && strlen(n) >= 2;
    for (const char *p = n; *p && ok; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             (p != n && strchr("_.-", *p));
    if (!ok)
        return berr_set(e, -EINVAL, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", n);
    char old[256];
    snprintf(old, sizeof old, "%s", c->name);
    snprintf(c->name, sizeof c->name, "%s", n);
    rt_links_renamed(m, c, old);
    int r = rt_container_save(m, c, e);
    if (r < 0) {
        snprintf(c->name, sizeof c->name, "%s", old);
        return r;
    }
    char oldname[260];
    snprintf(oldname, sizeof oldname, "/%s", old);
    rt_container_emit(m, c, "rename", json_pack("{s:s}", "oldName", oldname));
    return 0;
}

/* ---- daemon start and stop ---------------------------------------------- */

void rt_containers_recover(rt_containers *m)
{
    /* Iterate over a copy: starting or removing changes the list. */
    size_t n = m->n;
    rt_container **all = xmalloc((n ? n : 1) * sizeof *all);
    if (n)
        memcpy(all, m->list, n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        rt_container *c = all[i];
        berr e = {0};
        /* live restore: it kept running under its monitor */
        if (rt_container_restore(m, c))
            continue;
        rt_monitor_discard(m, c);
        bool was_running = c->state == RT_STATE_RUNNING || c->state == RT_STATE_PAUSED ||
                           c->state == RT_STATE_RESTARTING;
        /* Nothing else runs across a daemon start, so whatever is left of a run
         * goes, whatever the saved state says: a daemon killed in the middle
         * of a start (rootfs mounted, process spawned, "running" not yet
         * saved) or of an exit (state saved, rootfs not yet unmounted)
         * leaves a process or a mount behind a container shown created or
         * exited.  Both calls do nothing when there is nothing. */
        rt_cgroup_destroy(&m->cgroups, c->id, NULL);
        rt_rwlayer_unmount(m->driver, c->id, NULL);
        if (was_running || c->state == RT_STATE_REMOVING) {
            if (c->state != RT_STATE_REMOVING) {
                c->state = RT_STATE_EXITED;
                c->exit_code = 255;
                c->pid = 0;
                time_now_rfc3339(c->finished_at);
                rt_container_save(m, c, NULL);
            }
        }
        if (c->state == RT_STATE_REMOVING ||
            (json_is_true(json_object_get(c->host_config, "AutoRemove")) && c->state == RT_STATE_EXITED)) {
            if (rt_container_remove(m, c, true, true, NULL, NULL, &e) < 0)
                log_warn("container %.12s: %s", c->id, e.msg);
            continue;
        }
        const char *policy = rt_restart_policy(c, NULL);
        bool start = !strcmp(policy, "always") || (!strcmp(policy, "unless-stopped") && !c->manual_stop) ||
                     (!strcmp(policy, "on-failure") && c->exit_code != 0 && !c->manual_stop && c->has_been_started);
        if (start && c->state == RT_STATE_EXITED && rt_container_start(m, c, &e) < 0)
            log_error("container %.12s: restart on daemon start failed: %s", c->id, e.msg);
    }
    free(all);
}

static void shutdown_one_done(void *arg, int status, const berr *e)
{
    (void)status;
    (void)e;
    rt_containers *m = arg;
    if (--m->stopping == 0 && m->shutdown_done) {
        /* Nobody will see these containers exit again: answer the waiters. */
        for (size_t i = 0; i < m->n; i++)
            rt_container_fire_waiters(m->list[i], true, "the daemon is shutting down");
        void (*done)(void *) = m->shutdown_done;
        m->shutdown_done = NULL;
        done(m->shutdown_arg);
    }
}

void rt_containers_shutdown(rt_containers *m, void (*done)(void *), void *arg)
{
    m->shutting_down = true;
    m->shutdown_done = done;
    m->shutdown_arg = arg;
    m->stopping = 1;   /* held until every stop is issued */
    for (size_t i = 0; i < m->n; i++) {
        rt_container *c = m->list[i];
        if (c->restart_timer) {
            uv_timer_stop(c->restart_timer);
            uv_close((uv_handle_t *)c->restart_timer, (uv_close_cb)free);
            c->restart_timer = NULL;
        }
        if (!rt_container_running(c))
            continue;
        if (m->live_restore && c->monitor) {
            rt_container_leave_running(m, c);
            continue;
        }
        m->stopping++;
        berr e = {0};
        if (rt_container_stop(m, c, -1, shutdown_one_done, m, &e) < 0)
            log_warn("container %.12s: %s", c->id, e.msg);
    }
    shutdown_one_done(m, 0, NULL);
}
