/* The scheduler pass (see placement.h).  The shape follows swarmkit's
 * scheduler.go, nodeinfo.go, filter.go, pipeline.go and decision_tree.go;
 * the spread tree itself is in spread.c. */
#include "scheduler/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "scheduler/constraints.h"
#include "scheduler/placement_internal.h"

/* A node that failed this many tasks of a service within the window goes
 * last for that service (swarmkit's maxFailures / monitorFailures). */
#define MAX_FAILURES 5
#define FAILURE_WINDOW_NS (5 * 60 * SCHED_NS_PER_SEC)

/* ---- node accounting ------------------------------------------------------ */

/* Host ports ("tcp/8080") a service publishes in host mode: they make two
 * of its tasks unable to share a node. */
static json_t *service_host_ports(const json_t *service)
{
    json_t *ports = sched_get(service, "Spec.EndpointSpec.Ports");
    if (!ports)
        ports = sched_get(service, "Endpoint.Spec.Ports");
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) {
        long long pub = sched_int(p, "PublishedPort", 0);
        if (strcmp(sched_str(p, "PublishMode"), "host") != 0 || pub == 0)
            continue;
        const char *proto = sched_str(p, "Protocol");
        char key[32];
        snprintf(key, sizeof key, "%s/%lld", *proto ? proto : "tcp", pub);
        json_array_append_new(out, json_string(key));
    }
    return out;
}

static json_t *task_ports(const place_ctx *pc, const json_t *task)
{
    return json_object_get(pc->ports_by_service, sched_str(task, "ServiceID"));
}

void sched_place_node_add(place_ctx *pc, nodeinfo *ni, const json_t *task)
{
    ni->cpu -= sched_int(task, "Spec.Resources.Reservations.NanoCPUs", 0);
    ni->mem -= sched_int(task, "Spec.Resources.Reservations.MemoryBytes", 0);
    size_t i;
    json_t *p;
    json_array_foreach(task_ports(pc, task), i, p)
        json_object_set_new(ni->ports, json_string_value(p), json_true());
    if (sched_task_desired(task) <= SCHED_ST_COMPLETE) {
        const char *sid = sched_str(task, "ServiceID");
        ni->active++;
        json_object_set_new(ni->by_service, sid, json_integer(sched_place_node_count(ni, sid) + 1));
    }
}

int sched_place_node_count(const nodeinfo *ni, const char *service_id)
{
    return (int)json_integer_value(json_object_get(ni->by_service, service_id));
}

static int node_id_cmp(const void *a, const void *b)
{
    return strcmp(((const nodeinfo *)a)->id, ((const nodeinfo *)b)->id);
}

static void ctx_init(place_ctx *pc, const json_t *nodes, const json_t *services, long long now)
{
    memset(pc, 0, sizeof *pc);
    pc->now = now;
    pc->ports_by_service = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(services, i, v)
        json_object_set_new(pc->ports_by_service, sched_str(v, "ID"), service_host_ports(v));
    pc->n = json_array_size(nodes);
    pc->nodes = xcalloc(pc->n, sizeof *pc->nodes);
    json_array_foreach(nodes, i, v) {
        nodeinfo *ni = &pc->nodes[i];
        ni->node = v;
        ni->id = sched_str(v, "ID");
        ni->cpu = sched_int(v, "Description.Resources.NanoCPUs", 0);
        ni->mem = sched_int(v, "Description.Resources.MemoryBytes", 0);
        ni->by_service = json_object();
        ni->ports = json_object();
    }
    /* swarmkit walks a map; a fixed order makes every decision repeatable */
    qsort(pc->nodes, pc->n, sizeof *pc->nodes, node_id_cmp);
}

static void ctx_free(place_ctx *pc)
{
    for (size_t i = 0; i < pc->n; i++) {
        json_decref(pc->nodes[i].by_service);
        json_decref(pc->nodes[i].ports);
    }
    free(pc->nodes);
    json_decref(pc->ports_by_service);
    sched_place_pipeline_clear(&pc->p);
}

static nodeinfo *ctx_node(place_ctx *pc, const char *id)
{
    for (size_t i = 0; i < pc->n; i++)
        if (strcmp(pc->nodes[i].id, id) == 0)
            return &pc->nodes[i];
    return NULL;
}

/* ---- the filter pipeline -------------------------------------------------- */

enum { F_READY, F_RESOURCES, F_CONSTRAINTS, F_PLATFORM, F_HOSTPORT, F_MAXREPLICAS, F_N };

void sched_place_pipeline_clear(pipeline *p)
{
    sched_constraint_free(&p->cons);
    memset(p, 0, sizeof *p);
}

void sched_place_pipeline_set(place_ctx *pc, const json_t *task)
{
    pipeline *p = &pc->p;
    sched_place_pipeline_clear(p);
    p->task = task;
    p->service_id = sched_str(task, "ServiceID");
    p->enabled[F_READY] = true;
    p->cpu = sched_int(task, "Spec.Resources.Reservations.NanoCPUs", 0);
    p->mem = sched_int(task, "Spec.Resources.Reservations.MemoryBytes", 0);
    p->enabled[F_RESOURCES] = p->cpu > 0 || p->mem > 0;
    json_t *cons = sched_get(task, "Spec.Placement.Constraints");
    if (json_array_size(cons) > 0) {
        /* the API refused bad constraints already; one that slipped
         * through turns the filter off, as in swarmkit */
        if (sched_constraint_parse(cons, &p->cons, NULL) == 0)
            p->enabled[F_CONSTRAINTS] = true;
        else
            sched_constraint_free(&p->cons);
    }
    p->platforms = sched_get(task, "Spec.Placement.Platforms");
    p->enabled[F_PLATFORM] = json_array_size(p->platforms) > 0;
    p->ports = task_ports(pc, task);
    p->enabled[F_HOSTPORT] = json_array_size(p->ports) > 0;
    p->max_replicas = sched_int(task, "Spec.Placement.MaxReplicas", 0);
    p->enabled[F_MAXREPLICAS] = p->max_replicas > 0;
}

static const char *norm_arch(const char *a)
{
    if (strcmp(a, "x86_64") == 0)
        return "amd64";
    if (strcmp(a, "aarch64") == 0)
        return "arm64";
    return a;
}

static bool platform_ok(const json_t *platforms, const json_t *node)
{
    json_t *np = sched_get(node, "Description.Platform");
    if (!json_is_object(np))
        return false;
    const char *narch = norm_arch(sched_str(np, "Architecture")), *nos = sched_str(np, "OS");
    size_t i;
    json_t *p;
    json_array_foreach(platforms, i, p) {
        const char *arch = sched_str(p, "Architecture"), *os = sched_str(p, "OS");
        if ((!*arch || strcmp(norm_arch(arch), narch) == 0) && (!*os || strcmp(os, nos) == 0))
            return true;
    }
    return false;
}

static bool check(const pipeline *p, int f, const nodeinfo *ni)
{
    size_t i;
    json_t *v;
    switch (f) {
    case F_READY:
        return strcmp(sched_str(ni->node, "Status.State"), "ready") == 0 &&
               strcmp(sched_str(ni->node, "Spec.Availability"), "active") == 0;
    case F_RESOURCES:
        return p->cpu <= ni->cpu && p->mem <= ni->mem;
    case F_CONSTRAINTS:
        return sched_constraint_match(&p->cons, ni->node);
    case F_PLATFORM:
        return platform_ok(p->platforms, ni->node);
    case F_HOSTPORT:
        json_array_foreach(p->ports, i, v)
            if (json_object_get(ni->ports, json_string_value(v)))
                return false;
        return true;
    case F_MAXREPLICAS:
        return sched_place_node_count(ni, p->service_id) < p->max_replicas;
    }
    return true;
}

/* Like swarmkit's Pipeline.Process: the first failing filter counts the
 * node against itself; a node that passes clears the counts. */
bool sched_place_process(pipeline *p, const nodeinfo *ni)
{
    for (int f = 0; f < F_N; f++) {
        if (p->enabled[f] && !check(p, f, ni)) {
            p->fail[f]++;
            return false;
        }
    }
    memset(p->fail, 0, sizeof p->fail);
    return true;
}

static void explain_one(buf *b, int f, int n)
{
    bool one = n == 1;
    switch (f) {
    case F_READY:
        if (one)
            buf_puts(b, "1 node not available for new tasks");
        else
            buf_printf(b, "%d nodes not available for new tasks", n);
        break;
    case F_RESOURCES:
        buf_printf(b, "insufficient resources on %d node%s", n, one ? "" : "s");
        break;
    case F_CONSTRAINTS:
        buf_printf(b, "scheduling constraints not satisfied on %d node%s", n, one ? "" : "s");
        break;
    case F_PLATFORM:
        buf_printf(b, "unsupported platform on %d node%s", n, one ? "" : "s");
        break;
    case F_HOSTPORT:
        buf_printf(b, "host-mode port already in use on %d node%s", n, one ? "" : "s");
        break;
    case F_MAXREPLICAS:
        buf_puts(b, "max replicas per node limit exceed");
        break;
    }
}

/* Filters by failures, most first; ties keep the filter order (Go's
 * insertion sort on so few entries is stable). */
char *sched_place_explain(const pipeline *p)
{
    int order[F_N];
    for (int i = 0; i < F_N; i++)
        order[i] = i;
    for (int i = 1; i < F_N; i++)
        for (int j = i; j > 0 && p->fail[order[j]] > p->fail[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    buf b = BUF_INIT;
    for (int i = 0; i < F_N; i++) {
        if (p->fail[order[i]] <= 0)
            continue;
        if (b.len)
            buf_puts(&b, "; ");
        explain_one(&b, order[i], p->fail[order[i]]);
    }
    return buf_steal(&b);
}

/* ---- ordering ------------------------------------------------------------- */

/* Failed or rejected tasks of this service and spec on each node within the
 * window: what swarmkit's scheduler remembers in recentFailures, read back
 * from the task history the store keeps. */
static void count_failures(place_ctx *pc, const json_t *tasks, const json_t *t0)
{
    const char *sid = sched_str(t0, "ServiceID");
    json_t *spec = sched_get(t0, "Spec");
    for (size_t k = 0; k < pc->n; k++)
        pc->nodes[k].failures = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        int st = sched_task_state(t);
        if ((st != SCHED_ST_FAILED && st != SCHED_ST_REJECTED) || !*sid ||
            strcmp(sched_str(t, "ServiceID"), sid) != 0)
            continue;
        if (pc->now - sched_time_parse(sched_str(t, "Status.Timestamp")) > FAILURE_WINDOW_NS)
            continue;
        if (!json_equal(sched_get(t, "Spec"), spec))
            continue;
        nodeinfo *ni = ctx_node(pc, sched_str(t, "NodeID"));
        if (ni)
            ni->failures++;
    }
}

bool sched_place_node_less(const place_ctx *pc, const nodeinfo *a, const nodeinfo *b)
{
    if (a->failures >= MAX_FAILURES || b->failures >= MAX_FAILURES) {
        if (a->failures != b->failures)
            return a->failures < b->failures;
    }
    int sa = sched_place_node_count(a, pc->p.service_id), sb = sched_place_node_count(b, pc->p.service_id);
    if (sa != sb)
        return sa < sb;
    if (a->active != b->active)
        return a->active < b->active;
    return strcmp(a->id, b->id) < 0;
}

/* ---- decisions ------------------------------------------------------------ */

static json_t *with_status(const json_t *task, const char *state, const char *msg, const char *err,
                           long long now)
{
    json_t *t = json_deep_copy(task);
    json_t *st = json_object_get(t, "Status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(t, "Status", st);
    }
    if (state) {
        /* a new state starts a new status, as swarmkit's TaskStatus{} */
        json_object_clear(st);
        json_object_set_new(st, "State", json_string(state));
        json_object_set_new(st, "Message", json_string(msg));
    }
    json_object_set_new(st, "Timestamp", sched_time_json(now));
    if (err)
        json_object_set_new(st, "Err", json_string(err));
    json_object_set_new(t, "UpdatedAt", sched_time_json(now));
    return t;
}

void sched_place_assign(place_ctx *pc, const json_t *task, nodeinfo *ni, const char *msg, sched_changes *out)
{
    json_t *t = with_status(task, "assigned", msg, NULL, pc->now);
    json_object_set_new(t, "NodeID", json_string(ni->id));
    sched_place_node_add(pc, ni, t);
    sched_changes_update(out, t);
    json_decref(t);
}

/* Keeps the task pending with err, unless that is what it says already
 * (so a pass with nothing new writes nothing). */
static void hold(place_ctx *pc, const json_t *task, const char *err, sched_changes *out)
{
    if (strcmp(sched_str(task, "Status.Err"), err) == 0)
        return;
    json_t *t = with_status(task, NULL, NULL, err, pc->now);
    sched_changes_update(out, t);
    json_decref(t);
}

static void sched_place_preassigned(place_ctx *pc, const json_t *task, sched_changes *out)
{
    nodeinfo *ni = ctx_node(pc, sched_str(task, "NodeID"));
    if (!ni)
        return; /* the node is gone: the orchestrator will shut the task down */
    sched_place_pipeline_set(pc, task);
    if (sched_place_process(&pc->p, ni)) {
        sched_place_assign(pc, task, ni, "scheduler confirmed task can run on preassigned node", out);
        return;
    }
    char *why = sched_place_explain(&pc->p);
    hold(pc, task, why, out);
    free(why);
}

static void sched_place_group(place_ctx *pc, const json_t *tasks, task_group *g, sched_changes *out)
{
    const json_t *t0 = g->tasks[0];
    sched_place_pipeline_set(pc, t0);
    count_failures(pc, tasks, t0);
    size_t left = g->n;
    sched_place_spread(pc, g, sched_get(t0, "Spec.Placement.Preferences"), out);
    for (size_t i = 0; i < g->n; i++)
        if (g->done[i])
            left--;
    if (!left)
        return;

    /* Explain over every node as they stand now: the message the next
     * pass would settle on. */
    memset(pc->p.fail, 0, sizeof pc->p.fail);
    for (size_t k = 0; k < pc->n; k++)
        sched_place_process(&pc->p, &pc->nodes[k]);
    char *why = sched_place_explain(&pc->p);
    char *err = *why ? xasprintf("no suitable node (%s)", why) : xstrdup("no suitable node");
    for (size_t i = 0; i < g->n; i++)
        if (!g->done[i])
            hold(pc, g->tasks[i], err, out);
    free(err);
    free(why);
}

static bool same_group(const task_group *g, const json_t *t)
{
    const char *sid = sched_str(t, "ServiceID");
    return *sid && strcmp(sched_str(g->tasks[0], "ServiceID"), sid) == 0 &&
           json_equal(sched_get(g->tasks[0], "Spec"), sched_get(t, "Spec"));
}

int sched_place(const json_t *nodes, const json_t *tasks, const json_t *services, long long now_ns,
                sched_changes *out, berr *e)
{
    if (!json_is_array(nodes) || !json_is_array(tasks) || (services && !json_is_array(services)))
        return berr_set(e, -EINVAL, "scheduler: nodes, tasks and services must be arrays");
    place_ctx pc;
    ctx_init(&pc, nodes, services, now_ns);

    size_t nt = json_array_size(tasks), npre = 0, ngroups = 0;
    const json_t **pre = xcalloc(nt, sizeof *pre);
    task_group *groups = xcalloc(nt, sizeof *groups);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        int st = sched_task_state(t);
        if (st < SCHED_ST_PENDING || st > SCHED_ST_RUNNING)
            continue;
        /* updated, removed or scaled away before it was placed */
        if (st == SCHED_ST_PENDING && sched_task_desired(t) > SCHED_ST_COMPLETE)
            continue;
        const char *node = sched_str(t, "NodeID");
        if (!*node) {
            size_t k = 0;
            while (k < ngroups && !same_group(&groups[k], t))
                k++;
            if (k == ngroups) {
                groups[k].tasks = xcalloc(nt, sizeof *groups[k].tasks);
                groups[k].done = xcalloc(nt, sizeof *groups[k].done);
                ngroups++;
            }
            groups[k].tasks[groups[k].n++] = t;
        } else if (st == SCHED_ST_PENDING) {
            pre[npre++] = t;
        } else {
            nodeinfo *ni = ctx_node(&pc, node);
            if (ni)
                sched_place_node_add(&pc, ni, t);
        }
    }

    /* preassigned tasks first, as swarmkit: global services should start
     * before replicas take the room */
    for (size_t k = 0; k < npre; k++)
        sched_place_preassigned(&pc, pre[k], out);
    for (size_t k = 0; k < ngroups; k++)
        sched_place_group(&pc, tasks, &groups[k], out);

    for (size_t k = 0; k < ngroups; k++) {
        free(groups[k].tasks);
        free(groups[k].done);
    }
    free(groups);
    free(pre);
    ctx_free(&pc);
    return 0;
}

char *sched_place_explain_node(const json_t *node, const json_t *task, const json_t *tasks,
                               const json_t *services)
{
    json_t *nodes = json_pack("[O]", node);
    place_ctx pc;
    ctx_init(&pc, nodes, services, 0);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        int st = sched_task_state(t);
        if (st <= SCHED_ST_PENDING || st > SCHED_ST_RUNNING || t == task)
            continue;
        if (strcmp(sched_str(t, "NodeID"), pc.nodes[0].id) == 0)
            sched_place_node_add(&pc, &pc.nodes[0], t);
    }
    sched_place_pipeline_set(&pc, task);
    char *why = sched_place_process(&pc.p, &pc.nodes[0]) ? NULL : sched_place_explain(&pc.p);
    ctx_free(&pc);
    json_decref(nodes);
    return why;
}
