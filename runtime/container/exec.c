#include "runtime/container/exec.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "runtime/container/internal.h"
#include "runtime/container/links.h"
#include "runtime/container/spec.h"
#include "runtime/container/userns.h"
#include "runtime/linux/seccomp.h"
#include "runtime/linux/user.h"

rt_exec *rt_exec_find(rt_containers *m, const char *id)
{
    for (rt_exec *x = m->execs; x; x = x->next)
        if (strcmp(x->id, id) == 0)
            return x;
    return NULL;
}

static void exec_free(rt_exec *x)
{
    json_decref(x->config);
    free(x);
}

void rt_exec_forget(rt_containers *m, rt_exec *x)
{
    for (rt_exec **p = &m->execs; *p; p = &(*p)->next)
        if (*p == x) {
            *p = x->next;
            exec_free(x);
            return;
        }
}

void rt_exec_forget_container(rt_containers *m, const char *container_id)
{
    rt_exec **p = &m->execs;
    while (*p) {
        rt_exec *x = *p;
        if (strcmp(x->container_id, container_id) == 0 && !x->running) {
            *p = x->next;
            exec_free(x);
        } else {
            p = &x->next;
        }
    }
}

int rt_exec_create(rt_containers *m, rt_container *c, json_t *body, rt_exec **out, berr *e)
{
    if (!rt_container_running(c))
        return berr_set(e, -EBUSY, "container %s is not running", c->id);
    if (c->state == RT_STATE_PAUSED)
        return berr_set(e, -EBUSY, "Container %s is paused, unpause the container before exec", c->id);
    json_t *cmd = json_object_get(body, "Cmd");
    if (!json_is_array(cmd) || json_array_size(cmd) == 0)
        return berr_set(e, -EINVAL, "No exec command specified");
    rt_exec *x = xcalloc(1, sizeof *x);
    digest_random_id(x->id);
    snprintf(x->container_id, sizeof x->container_id, "%s", c->id);
    x->config = json_deep_copy(body);
    x->proc.pidfd = -1;
    x->exit_code = 0;
    x->next = m->execs;
    m->execs = x;
    *out = x;
    return 0;
}

/* ---- exit ----------------------------------------------------------------- */

static void on_exec_exit(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    rt_exec *x = p->data;
    siginfo_t si = {0};
    if (waitid((idtype_t)P_PIDFD, (id_t)x->proc.pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
        return;
    x->exit_code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
    x->running = false;
    x->exited = true;
    x->pid = 0;
    uv_poll_stop(p);
    uv_close((uv_handle_t *)p, (uv_close_cb)free);
    x->watch = NULL;
    close(x->proc.pidfd);
    x->proc.pidfd = -1;
    if (x->io)
        rt_io_close(x->io);
    if (x->on_exit)
        x->on_exit(x->exit_ctx, x);
}

/* ---- start ---------------------------------------------------------------- */

typedef struct exec_spec {
    rt_spawn_spec spec;
    rt_ns_join joins[6];
    int fds[7];
    char **argv;
    char **env;
    rt_user user;
    struct sock_fprog *seccomp;
    rt_containers *m;
    rt_container *c;
} exec_spec;

static void strv_push(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = xstrdup(s);
    (*v)[*n] = NULL;
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static int exec_enter_cgroup(pid_t pid, void *ctx, berr *e)
{
    exec_spec *es = ctx;
    return rt_cgroup_enter(&es->m->cgroups, es->c->id, pid, e);
}

static int build(exec_spec *es, rt_exec *x, berr *e)
{
    rt_container *c = es->c;
    json_t *cfg = x->config;
    memset(&es->spec, 0, sizeof es->spec);
    for (int i = 0; i < 7; i++)
        es->fds[i] = -1;
    es->spec.pid_ns_fd = -1;
    /* The pid namespace is entered by the parent before clone; the others
     * by the child, mount last so /proc paths still resolve. */
    static const struct { const char *name; int type; } nss[] = {
        {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP},
        {"mnt", CLONE_NEWNS},
    };
    char pidns[64];
    snprintf(pidns, sizeof pidns, "/proc/%d/ns/pid", c->pid);
    es->fds[0] = open(pidns, O_RDONLY | O_CLOEXEC);
    if (es->fds[0] < 0)
        return berr_sys(e, -errno, "open %s", pidns);
    es->spec.pid_ns_fd = es->fds[0];
    int r = 0;
    size_t joined = 0;
    for (size_t i = 0; i < sizeof nss / sizeof nss[0] && r == 0; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", c->pid, nss[i].name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            r = berr_sys(e, -errno, "open %s", path);
            break;
        }
        es->fds[1 + joined] = fd;
        es->joins[joined++] = (rt_ns_join){nss[i].type, fd};
    }
    if (r < 0)
        return r;
    /* A remapped container's user namespace: rt_spawn enters it after
     * the others, which belong to the host's. */
    if (rt_container_userns(es->m, c)) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", c->pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return berr_sys(e, -errno, "open %s", path);
        es->fds[1 + joined] = fd;
        es->joins[joined++] = (rt_ns_join){CLONE_NEWUSER, fd};
    }
    es->spec.joins = es->joins;
    es->spec.n_joins = joined;

    const char *user = *json_str(cfg, "User") ? json_str(cfg, "User") : json_str(c->config, "User");
    const char **ga = xcalloc(json_array_size(json_object_get(c->host_config, "GroupAdd")) + 1, sizeof *ga);
    size_t n_ga = 0, i;
    json_t *v;
    json_array_foreach(json_object_get(c->host_config, "GroupAdd"), i, v) ga[n_ga++] = json_string_value(v);
    r = rt_user_resolve(c->rootfs, user, ga, n_ga, &es->user, e);
    free(ga);
    if (r < 0)
        return r;

    size_t n = 0;
    json_array_foreach(json_object_get(cfg, "Cmd"), i, v) if (json_is_string(v)) strv_push(&es->argv, &n, json_string_value(v));
    n = 0;
    strv_push(&es->env, &n, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    /* dockerd's CreateDaemonEnvironment: HOSTNAME, then the links'
     * variables (failing as start does), then the container's Env. */
    cleanup_free char *hostname = xasprintf("HOSTNAME=%s", json_str(c->config, "Hostname"));
    strv_push(&es->env, &n, hostname);
    json_t *link_env;
    cleanup_free char *link_hosts = NULL;
    if ((r = rt_links_for_start(es->m, c, &link_env, &link_hosts, e)) < 0) {
        json_decref(link_env);
        return r;
    }
    rt_env_put_all(&es->env, &n, link_env);
    json_decref(link_env);
    rt_env_put_all(&es->env, &n, json_object_get(c->config, "Env"));
    rt_env_put_all(&es->env, &n, json_object_get(cfg, "Env"));
    if (!rt_env_has(es->env, "HOME")) {
        cleanup_free char *home = xasprintf("HOME=%s", es->user.home[0] ? es->user.home : "/");
        strv_push(&es->env, &n, home);
    }
    if (json_is_true(json_object_get(cfg, "Tty")) && !rt_env_has(es->env, "TERM"))
        strv_push(&es->env, &n, "TERM=xterm");

    bool privileged = json_is_true(json_object_get(cfg, "Privileged")) ||
                      json_is_true(json_object_get(c->host_config, "Privileged"));
    uint64_t caps;
    if ((r = rt_spec_caps(c->host_config, privileged, &caps, e)) < 0 ||
        (r = rt_spec_seccomp(es->m, c->host_config, privileged, caps, &es->spec.no_new_privs, &es->spec.seccomp,
                             &es->seccomp, e)) < 0)
        return r;
    const char *wd = *json_str(cfg, "WorkingDir") ? json_str(cfg, "WorkingDir") : json_str(c->config, "WorkingDir");
    es->spec.argv = es->argv;
    es->spec.env = es->env;
    es->spec.cwd = *wd ? wd : "/";
    es->spec.rootfs = NULL;
    es->spec.uid = es->user.uid;
    es->spec.gid = es->user.gid;
    es->spec.groups = es->user.groups;
    es->spec.n_groups = es->user.n_groups;
    es->spec.caps = caps;
    es->spec.tty = json_is_true(json_object_get(cfg, "Tty"));
    es->spec.before_exec = exec_enter_cgroup;
    es->spec.ctx = es;
    return 0;
}

static void spec_free(exec_spec *es)
{
    for (int i = 0; i < 7; i++)
        if (es->fds[i] >= 0)
            close(es->fds[i]);
    strv_free(es->argv);
    strv_free(es->env);
    rt_user_free(&es->user);
    if (es->seccomp)
        rt_seccomp_free(es->seccomp);
}

int rt_exec_start(rt_containers *m, rt_exec *x, rt_io_sink *sink, berr *e)
{
    if (x->started)
        return berr_set(e, -EBUSY, "Error: Exec command %s is already running", x->id);
    rt_container *c;
    if (rt_container_find(m, x->container_id, &c, e) < 0)
        return -ENOENT;
    if (!rt_container_running(c))
        return berr_set(e, -EBUSY, "container %s is not running", c->id);
    if (c->state == RT_STATE_PAUSED)
        return berr_set(e, -EBUSY, "Container %s is paused, unpause the container before exec", c->id);
    exec_spec es = {.m = m, .c = c};
    int r = build(&es, x, e);
    int child[3] = {-1, -1, -1};
    char ptmx[64];
    snprintf(ptmx, sizeof ptmx, "/proc/%d/root/dev/pts/ptmx", c->pid);
    if (r == 0)
        r = rt_io_open_plain(m->loop, x->id, json_is_true(json_object_get(x->config, "Tty")), ptmx,
                             json_is_true(json_object_get(x->config, "AttachStdin")), child, &x->io, e);
    if (r == 0) {
        if (sink)
            rt_io_add_sink(x->io, sink);
        memcpy(es.spec.stdio, child, sizeof child);
        r = rt_spawn(&es.spec, &x->proc, e);
    }
    spec_free(&es);
    x->started = true;
    if (r < 0) {
        x->exit_code = r == -ENOENT ? 127 : r == -EACCES ? 126 : 1;
        x->exited = true;
        if (x->io) {
            if (sink)
                rt_io_remove_sink(x->io, sink);
            rt_io_close(x->io);
        }
        return r;
    }
    rt_io_started(x->io);
    x->running = true;
    x->pid = x->proc.pid;
    x->watch = xcalloc(1, sizeof *x->watch);
    uv_poll_init(m->loop, x->watch, x->proc.pidfd);
    x->watch->data = x;
    uv_poll_start(x->watch, UV_READABLE, on_exec_exit);
    if (!x->internal) {
        cleanup_buf buf cmdline = BUF_INIT;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(x->config, "Cmd"), i, v)
            buf_printf(&cmdline, "%s%s", i ? " " : "", json_string_value(v));
        char action[600];
        snprintf(action, sizeof action, "exec_start: %s", cmdline.data ? cmdline.data : "");
        rt_container_emit(m, c, action, json_pack("{s:s}", "execID", x->id));
    }
    return 0;
}
