/* The agent: on this node, the tasks the scheduler assigned here become
 * containers, and what happens to those containers goes back to the
 * cluster store as task states.
 *
 * It rescans this node's tasks after every applied entry (coalesced to one
 * scan per loop turn) and listens to container events for exits.  Every
 * report is a proposal conditioned on the task's version, so an
 * orchestrator's concurrent change wins and the agent looks again. */
#include "node/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "node/agent_pull.h"
#include "node/attachment_tasks.h"
#include "node/daemon.h"
#include "node/secrets.h"
#include "netoverlay/sandbox.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "runtime/container/container.h"

#define LABEL_TASK_ID "com.docker.swarm.task.id"
#define LABEL_NODE_ID "com.docker.swarm.node.id"

static json_t *jpath(json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

static void schedule_scan(agent *a);
static void flush(agent *a);

/* ---- reporting ------------------------------------------------------------ */

static void report_done(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    agent *a = arg;
    /* -ESTALE: a worker's task changed meanwhile; its new assignments
     * bring a rescan. */
    if (status < 0 && status != -EAGAIN && status != -ESTALE)
        log_warn("agent: task report: %s", e && e->msg[0] ? e->msg : "failed");
    if (status == -EAGAIN)
        schedule_scan(a);   /* someone else changed the task: look again */
}

/* Proposes task with Status replaced (state, message, err, container). */
static void report(agent *a, json_t *task, const char *state, const char *message, const char *err,
                   const rt_container *c, int exit_code)
{
    if (!a->batch || !swarm_agent_store(a->d->swarm))
        return;
    json_t *doc = json_deep_copy(task);
    char ts[TIME_RFC3339_BUF];
    time_now_rfc3339(ts);   /* with nanoseconds, as swarmkit writes them */
    json_t *st = json_pack("{s:s, s:s, s:s}", "Timestamp", ts, "State", state, "Message", message);
    if (err && *err)
        json_object_set_new(st, "Err", json_string(err));
    if (c)
        json_object_set_new(st, "ContainerStatus", json_pack("{s:s, s:i, s:i}", "ContainerID", c->id, "PID",
                                                             c->pid, "ExitCode", exit_code));
    if (c && c->sandbox && c->sandbox->n_ports) {
        /* Host-mode ports as `docker service ps` shows them. */
        json_t *ports = json_array();
        for (size_t i = 0; i < c->sandbox->n_ports; i++) {
            const net_port_binding *b = &c->sandbox->ports[i];
            json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "Protocol", b->proto, "TargetPort",
                                                   b->container_port, "PublishedPort", b->host_port, "PublishMode",
                                                   "host"));
        }
        json_object_set_new(st, "PortStatus", json_pack("{s:o}", "Ports", ports));
    }
    json_object_set_new(doc, "Status", st);
    json_object_set_new(doc, "UpdatedAt", json_string(ts));
    /* Reports made during a scan go out together (see flush). */
    json_array_append_new(a->batch, doc);
    if (!a->scanning)
        flush(a);
}

/* Proposes the pending reports as one entry, each conditioned on the
 * version its task was read at: 100 tasks started in one scan cost one
 * raft entry, and a conflict on any of them makes the agent look again. */
static void flush(agent *a)
{
    size_t n = json_array_size(a->batch);
    cluster_store *cs = a->d->swarm ? swarm_agent_store(a->d->swarm) : NULL;
    if (!n || !cs) {
        json_array_clear(a->batch);
        return;
    }
    cs_op *ops = xcalloc(n, sizeof *ops);
    size_t i;
    json_t *doc;
    json_array_foreach(a->batch, i, doc) {
        ops[i] = (cs_op){.type = CS_PUT, .kind = CS_TASK, .doc = doc,
                         .if_version = json_integer_value(jpath(doc, "Version", "Index"))};
        snprintf(ops[i].id, sizeof ops[i].id, "%s", json_str(doc, "ID"));
    }
    berr e = {0};
    if (swarm_agent_report(a->d->swarm, ops, n, report_done, a, &e) < 0)
        log_warn("agent: task reports: %s", e.msg);
    free(ops);
    json_array_clear(a->batch);
}

/* ---- tasks into containers -------------------------------------------------- */

/* src's member skey, matched without regard to case as Go's JSON decoding
 * matches it (the CLI sends "Healthcheck" for the spec's "HealthCheck"). */
static json_t *member(json_t *src, const char *skey)
{
    json_t *v = json_object_get(src, skey);
    if (v)
        return v;
    const char *k;
    json_object_foreach(src, k, v) if (!strcasecmp(k, skey)) return v;
    return NULL;
}

static void copy_key(json_t *dst, const char *dkey, json_t *src, const char *skey)
{
    json_t *v = member(src, skey);
    if (v && !json_is_null(v))
        json_object_set(dst, dkey, v);
}

/* The create body of a task's container, as swarmkit's container adapter
 * builds it: Command is the entrypoint, Args the command. */
static json_t *container_body(json_t *task, json_t *svc, const char *node_id, const char *name)
{
    json_t *cs = jpath(task, "Spec", "ContainerSpec");
    json_t *res = jpath(task, "Spec", "Resources");
    json_t *body = json_pack("{s:O}", "Image", json_object_get(cs, "Image"));
    copy_key(body, "Entrypoint", cs, "Command");
    copy_key(body, "Cmd", cs, "Args");
    copy_key(body, "Env", cs, "Env");
    copy_key(body, "WorkingDir", cs, "Dir");
    copy_key(body, "User", cs, "User");
    copy_key(body, "Hostname", cs, "Hostname");
    copy_key(body, "StopSignal", cs, "StopSignal");
    copy_key(body, "Healthcheck", cs, "HealthCheck");
    copy_key(body, "Tty", cs, "TTY");
    copy_key(body, "OpenStdin", cs, "OpenStdin");
    json_t *grace = json_object_get(cs, "StopGracePeriod");
    if (json_is_integer(grace))
        json_object_set_new(body, "StopTimeout", json_integer(json_integer_value(grace) / 1000000000LL));
    json_t *labels = json_object();
    json_object_update(labels, json_object_get(cs, "Labels"));
    json_object_set_new(labels, LABEL_NODE_ID, json_string(node_id));
    json_object_set_new(labels, "com.docker.swarm.service.id", json_string(json_str(task, "ServiceID")));
    json_object_set_new(labels, "com.docker.swarm.service.name", json_string(json_str(json_object_get(svc, "Spec"), "Name")));
    json_object_set_new(labels, "com.docker.swarm.task", json_string(""));
    json_object_set_new(labels, LABEL_TASK_ID, json_string(json_str(task, "ID")));
    json_object_set_new(labels, "com.docker.swarm.task.name", json_string(name));
    json_object_set_new(body, "Labels", labels);
    /* Restarts are the orchestrator's business (a new task), never the
     * container's. */
    json_t *hc = json_pack("{s:s, s:{s:s}}", "NetworkMode", "bridge", "RestartPolicy", "Name", "no");
    copy_key(hc, "Init", cs, "Init");
    copy_key(hc, "ReadonlyRootfs", cs, "ReadOnly");
    copy_key(hc, "Mounts", cs, "Mounts");
    copy_key(hc, "CapAdd", cs, "CapabilityAdd");
    copy_key(hc, "CapDrop", cs, "CapabilityDrop");
    copy_key(hc, "Sysctls", cs, "Sysctls");
    copy_key(hc, "Ulimits", cs, "Ulimits");
    copy_key(hc, "GroupAdd", cs, "Groups");
    json_t *lim = json_object_get(res, "Limits");
    copy_key(hc, "NanoCpus", lim, "NanoCPUs");
    copy_key(hc, "Memory", lim, "MemoryBytes");
    copy_key(hc, "PidsLimit", lim, "Pids");
    json_t *dns = json_object_get(cs, "DNSConfig");
    copy_key(hc, "Dns", dns, "Nameservers");
    copy_key(hc, "DnsSearch", dns, "Search");
    copy_key(hc, "DnsOptions", dns, "Options");
    copy_key(hc, "ExtraHosts", cs, "Hosts");
    /* Host-mode published ports: the container's own -p. */
    json_t *bindings = json_object();
    size_t i;
    json_t *port;
    json_t *ports = json_object_get(json_object_get(json_object_get(task, "Berth"), "EndpointSpec"), "Ports");
    if (!ports)
        ports = json_object_get(json_object_get(json_object_get(svc, "Spec"), "EndpointSpec"), "Ports");
    json_array_foreach(ports, i, port) {
        if (strcmp(json_str(port, "PublishMode"), "host"))
            continue;
        char key[32], hp[16] = "";
        snprintf(key, sizeof key, "%lld/%s", (long long)json_integer_value(json_object_get(port, "TargetPort")),
                 *json_str(port, "Protocol") ? json_str(port, "Protocol") : "tcp");
        long long pub = json_integer_value(json_object_get(port, "PublishedPort"));
        if (pub > 0)
            snprintf(hp, sizeof hp, "%lld", pub);
        json_t *list = json_object_get(bindings, key);
        if (!list)
            json_object_set_new(bindings, key, list = json_array());
        json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", "", "HostPort", hp));
    }
    json_object_set_new(hc, "PortBindings", bindings);
    json_object_set_new(body, "HostConfig", hc);
    return body;
}

/* "<service>.<slot>.<task id>", or "<service>.<node id>.<task id>" for
 * global services: Docker's container names for tasks. */
static void task_container_name(json_t *task, json_t *svc, char *out, size_t n)
{
    const char *sname = json_str(json_object_get(svc, "Spec"), "Name");
    long long slot = json_integer_value(json_object_get(task, "Slot"));
    if (slot > 0)
        snprintf(out, n, "%s.%lld.%s", sname, slot, json_str(task, "ID"));
    else
        snprintf(out, n, "%s.%s.%s", sname, json_str(task, "NodeID"), json_str(task, "ID"));
}

static void run_task(agent *a, cluster_store *cs, json_t *task)
{
    rt_containers *m = &a->d->containers;
    json_t *svc = NULL;
    if (cs_get(cs, CS_SERVICE, json_str(task, "ServiceID"), &svc, NULL) < 0)
        return;   /* the service is going: the orchestrator shuts the task down */
    char name[512];
    task_container_name(task, svc, name, sizeof name);
    rt_container *c = NULL;
    berr e = {0};
    if (rt_container_find(m, name, &c, NULL) == 0 && !rt_container_running(c) && !c->has_been_started) {
        /* Created by an earlier scan, never started: the daemon died between
         * the two (found by the kill -9 chaos test, the task stayed
         * "assigned" for good).  Start it now. */
        json_decref(svc);
        goto start;
    }
    if (c) {
        /* Made by an earlier scan whose report did not land (or has not
         * yet): report again what the container is doing. */
        json_decref(svc);
        char err[64];
        snprintf(err, sizeof err, "task: non-zero exit (%d)", c->exit_code);
        if (rt_container_running(c))
            report(a, task, "running", "started", NULL, c, 0);
        else if (c->has_been_started)
            report(a, task, c->exit_code ? "failed" : "complete", c->exit_code ? "started" : "finished",
                   c->exit_code ? err : NULL, c, c->exit_code);
        return;
    }
    /* The image first: pulled here when missing, the task "preparing"
     * meanwhile (the pull's end rescans). */
    char err[sizeof e.msg];
    agent_image img = agent_image_for_task(a, task, err, sizeof err);
    if (img != AGENT_IMAGE_HERE) {
        json_decref(svc);
        if (img == AGENT_IMAGE_FAILED)
            report(a, task, "rejected", "preparing", err, NULL, 0);
        else if (strcmp(json_str(json_object_get(task, "Status"), "State"), "preparing"))
            report(a, task, "preparing", "preparing", NULL, NULL, 0);
        return;
    }
    json_t *body = container_body(task, svc, swarm_node_id(a->d->swarm), name);
    /* The task's overlay networks, mirrored here before its container needs them. */
    overlay_sync_now(a->d);
    overlay_task_networking(body, task);
    /* Secrets and configs: files on the task's tmpfs, bound in read-only
     * (Mounts is the task's own array until copied). */
    json_t *hc = json_object_get(body, "HostConfig");
    json_t *mounts = json_deep_copy(json_object_get(hc, "Mounts"));
    if (!json_is_array(mounts)) {
        json_decref(mounts);
        mounts = json_array();
    }
    int r = secrets_task_prepare(a->d->cfg.exec_root, cs, task, mounts, a->d->remap_on ? &a->d->remap : NULL, &e);
    json_object_set_new(hc, "Mounts", mounts);
    if (r < 0) {
        json_decref(body);
        json_decref(svc);
        report(a, task, "rejected", "preparing", e.msg, NULL, 0);
        return;
    }
    json_t *warnings = json_array();
    r = rt_container_create(m, name, body, &c, warnings, &e);
    json_decref(body);
    json_decref(warnings);
    json_decref(svc);
    if (r < 0) {
        secrets_task_release(a->d->cfg.exec_root, json_str(task, "ID"));
        /* A missing image rejects the task, with the reason service ps shows. */
        report(a, task, r == -ENOENT ? "rejected" : "failed", "preparing", e.msg, NULL, 0);
        return;
    }
start:
    if ((r = rt_container_start(m, c, &e)) < 0) {
        report(a, task, "failed", "starting", e.msg, c, c->exit_code);
        return;
    }
    report(a, task, "running", "started", NULL, c, 0);
}

static void stopped(void *arg, int status, const berr *e)
{
    (void)arg;
    if (status < 0 && e)
        log_warn("agent: stopping a task's container: %s", e->msg);
}

static bool terminal(const char *state)
{
    static const char *const t[] = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(state, t[i]))
            return true;
    return false;
}

static rt_container *task_container(agent *a, const char *task_id)
{
    rt_containers *m = &a->d->containers;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(json_str(json_object_get(m->list[i]->config, "Labels"), LABEL_TASK_ID), task_id))
            return m->list[i];
    return NULL;
}

static void handle_task(agent *a, cluster_store *cs, json_t *task)
{
    const char *state = json_str(json_object_get(task, "Status"), "State");
    const char *desired = json_str(task, "DesiredState");
    bool want_run = !strcmp(desired, "running") || !strcmp(desired, "complete");
    rt_container *c = task_container(a, json_str(task, "ID"));
    /* "ready": a replacement waiting for its predecessor to stop (or its
     * restart delay); it starts once the orchestrator says "running". */
    if (!strcmp(desired, "ready"))
        return;
    if (want_run && (!strcmp(state, "assigned") || !strcmp(state, "accepted") || !strcmp(state, "preparing"))) {
        run_task(a, cs, task);
        return;
    }
    if (terminal(state))
        return;
    if (!want_run) {
        /* shutdown or remove: stop what runs; report once it is down. */
        if (c && rt_container_running(c))
            rt_container_stop(&a->d->containers, c, -1, stopped, a, NULL);
        else
            report(a, task, "shutdown", "shutdown", NULL, c, c ? c->exit_code : 0);
        return;
    }
    if (!strcmp(state, "running") && (!c || !rt_container_running(c))) {
        /* It died while we were not looking (a daemon restart). */
        char err[64];
        int code = c ? c->exit_code : 255;
        snprintf(err, sizeof err, "task: non-zero exit (%d)", code);
        report(a, task, code == 0 ? "complete" : "failed", code == 0 ? "finished" : "started", code ? err : NULL, c,
               code);
    }
}

static void removed(void *arg, int status, const berr *e)
{
    (void)arg;
    if (status < 0 && e)
        log_warn("agent: removing a task's container: %s", e->msg);
}

/* Containers of tasks the store no longer has (history trimmed, service
 * removed) go. */
static void remove_orphans(agent *a, json_t *tasks)
{
    rt_containers *m = &a->d->containers;
    const char *me = swarm_node_id(a->d->swarm);
    size_t n = m->n;
    rt_container **all = xmalloc((n ? n : 1) * sizeof *all);
    if (n)
        memcpy(all, m->list, n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        json_t *labels = json_object_get(all[i]->config, "Labels");
        const char *tid = json_str(labels, LABEL_TASK_ID);
        if (!*tid || strcmp(json_str(labels, LABEL_NODE_ID), me) || all[i]->removing)
            continue;
        bool known = false;
        size_t k;
        json_t *t;
        json_array_foreach(tasks, k, t) known |= !strcmp(json_str(t, "ID"), tid);
        if (!known)
            rt_container_remove(m, all[i], true, true, removed, a, NULL);
    }
    free(all);
}

/* The ingress of this node follows the services' published ports and
 * the addresses of their tasks running here. */
static void sync_ingress(agent *a, cluster_store *cs, json_t *tasks)
{
    if (overlay_mesh_in_store(cs))
        return;   /* the routing mesh's (node/overlay_sync.c) */
    json_t *services = cs_list(cs, CS_SERVICE), *keep = json_array();
    size_t i, k;
    json_t *svc, *t;
    json_array_foreach(services, i, svc) {
        json_t *ports = json_object_get(json_object_get(svc, "Endpoint"), "Ports");
        if (!json_array_size(ports))
            continue;
        const char *sid = json_str(svc, "ID");
        json_array_append_new(keep, json_string(sid));
        const char **ips = xcalloc(json_array_size(tasks) + 1, sizeof *ips);
        size_t n = 0;
        json_array_foreach(tasks, k, t) {
            if (strcmp(json_str(t, "ServiceID"), sid) || strcmp(json_str(json_object_get(t, "Status"), "State"), "running"))
                continue;
            rt_container *c = task_container(a, json_str(t, "ID"));
            if (!c || !c->sandbox || !rt_container_running(c))
                continue;
            const char *key;
            json_t *ep;
            json_object_foreach(c->networks, key, ep) {
                if (*json_str(ep, "IPAddress")) {
                    ips[n++] = json_str(ep, "IPAddress");
                    break;
                }
            }
        }
        berr e = {0};
        if (net_ingress_set(&a->d->networks, sid, ports, ips, n, &e) < 0)
            log_warn("agent: ingress of service %s: %s", sid, e.msg);
        free(ips);
    }
    net_ingress_retain(&a->d->networks, keep);
    json_decref(keep);
    json_decref(services);
}

/* A task's secrets stay while its container runs (or is about to). */
static bool task_runs_here(void *arg, const char *task_id)
{
    rt_container *c = task_container(arg, task_id);
    return c && rt_container_running(c);
}

static void scan(uv_timer_t *t)
{
    agent *a = t->data;
    cluster_store *cs = a->d->swarm ? swarm_agent_store(a->d->swarm) : NULL;
    if (!cs || a->d->stopping)
        return;
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.NodeID", swarm_node_id(a->d->swarm));
    size_t i;
    json_t *task;
    a->scanning = true;
    json_array_foreach(tasks, i, task) if (!attachment_task(task)) handle_task(a, cs, task);
    a->scanning = false;
    flush(a);
    attachments_scan(&a->d->attachments, tasks);
    agent_pulls_sweep(a);
    sync_ingress(a, cs, tasks);
    remove_orphans(a, tasks);
    secrets_task_sweep(a->d->cfg.exec_root, task_runs_here, a);
    json_decref(tasks);
}

static void schedule_scan(agent *a)
{
    if (a->timer_on)
        uv_timer_start(&a->timer, scan, 0, 0);
}

void agent_rescan(agent *a) { schedule_scan(a); }

static void on_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    agent *a = arg;
    if (n == 0) {   /* a snapshot was installed: everything may have changed */
        schedule_scan(a);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == CS_TASK || ops[i].kind == CS_SERVICE || ops[i].kind == CS_NODE) {
            schedule_scan(a);
            return;
        }
}

static void on_swarm(void *arg, swarm_event ev)
{
    agent *a = arg;
    if (ev == SWARM_EV_LEFT) {
        /* Leaving the swarm takes its tasks with it, as on dockerd. */
        agent_pulls_stop(a);
        rt_containers *m = &a->d->containers;
        size_t n = m->n;
        rt_container **all = xmalloc((n ? n : 1) * sizeof *all);
        if (n)
            memcpy(all, m->list, n * sizeof *all);
        for (size_t i = 0; i < n; i++)
            if (*json_str(json_object_get(all[i]->config, "Labels"), LABEL_TASK_ID) && !all[i]->removing)
                rt_container_remove(m, all[i], true, true, removed, a, NULL);
        free(all);
        return;
    }
    /* The store on a manager, the copy of its assignments on a worker:
     * read the same way. */
    if ((ev == SWARM_EV_ACTIVE || ev == SWARM_EV_ASSIGNED) && swarm_agent_store(a->d->swarm)) {
        cluster_store_watch(swarm_agent_store(a->d->swarm), on_change, a);
        schedule_scan(a);
    }
}

/* Container exits become task states. */
static bool on_event(void *ctx, json_t *ev)
{
    agent *a = ctx;
    /* A stopping daemon stops every container: that is no news for the
     * cluster (the next start finds them down and reports then). */
    if (a->d->stopping || strcmp(json_str(ev, "Type"), "container") || strcmp(json_str(ev, "Action"), "die"))
        return true;
    json_t *attrs = jpath(ev, "Actor", "Attributes");
    const char *tid = json_str(attrs, LABEL_TASK_ID);
    cluster_store *cs = a->d->swarm ? swarm_agent_store(a->d->swarm) : NULL;
    json_t *task = NULL;
    if (!*tid || !cs || cs_get(cs, CS_TASK, tid, &task, NULL) < 0)
        return true;
    rt_container *c = task_container(a, tid);
    int code = atoi(json_str(attrs, "exitCode"));
    const char *desired = json_str(task, "DesiredState");
    if (terminal(json_str(json_object_get(task, "Status"), "State"))) {
        /* already reported */
    } else if (strcmp(desired, "running") && strcmp(desired, "complete")) {
        report(a, task, "shutdown", "shutdown", NULL, c, code);
    } else if (code == 0) {
        report(a, task, "complete", "finished", NULL, c, 0);
    } else {
        char err[64];
        snprintf(err, sizeof err, "task: non-zero exit (%d)", code);
        report(a, task, "failed", "started", err, c, code);
    }
    json_decref(task);
    return true;
}

void agent_start(agent *a, struct berth_daemon *d)
{
    memset(a, 0, sizeof *a);
    a->d = d;
    a->batch = json_array();
    uv_timer_init(d->loop, &a->timer);
    a->timer.data = a;
    a->timer_on = true;
    a->listener = (events_listener){.deliver = on_event, .ctx = a};
    events_listen(&d->events, &a->listener);
    /* Secrets left on a tmpfs by the previous run (its containers are down
     * now) go at once, locked store or not. */
    secrets_task_sweep(d->cfg.exec_root, task_runs_here, a);
    if (d->swarm) {
        swarm_subscribe(d->swarm, on_swarm, a);
        if (swarm_agent_store(d->swarm))
            on_swarm(a, SWARM_EV_ACTIVE);
    }
}

void agent_stop(agent *a)
{
    if (!a->d)
        return;
    json_decref(a->batch);
    a->batch = NULL;
    events_unlisten(&a->d->events, &a->listener);
    agent_pulls_stop(a);
    if (a->timer_on) {
        uv_timer_stop(&a->timer);
        uv_close((uv_handle_t *)&a->timer, NULL);
        a->timer_on = false;
    }
}
