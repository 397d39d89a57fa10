#include "node/reconcile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "node/attachment_tasks.h"
#include "node/daemon.h"
#include "node/overlay_leader.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "scheduler/common.h"
#include "scheduler/orchestrator.h"
#include "scheduler/placement.h"
#include "scheduler/update.h"

/* Operations in one proposal of a pass, at most. */
#define RECONCILE_MAX_OPS 500

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * SCHED_NS_PER_SEC + ts.tv_nsec;
}

static void new_id(void *arg, char out[26])
{
    (void)arg;
    cs_new_id(out);
}

static void pass(uv_timer_t *t);

static void kick(reconciler *r)
{
    if (r->timers_on)
        uv_timer_start(&r->kick, pass, 0, 0);
}

static json_t *tasks_of(const json_t *tasks, const char *service_id)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) if (!strcmp(json_str(t, "ServiceID"), service_id)) json_array_append(out, t);
    return out;
}

/* Whether a document of list (services, nodes) has this ID. */
static bool has_id(const json_t *list, const char *id)
{
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d) if (!strcmp(json_str(d, "ID"), id)) return true;
    return false;
}

/* The cluster as it will be once ch is applied: what the scheduler must
 * see to place the tasks the orchestrators just made. */
static json_t *tasks_after(const json_t *tasks, const sched_changes *ch)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *t, *d;
    json_array_foreach(tasks, i, t) {
        const char *id = json_str(t, "ID");
        bool gone = false;
        json_array_foreach(ch->deleted, k, d) gone |= !strcmp(json_string_value(d), id);
        if (gone)
            continue;
        json_t *u = json_object_get(ch->updated, id);
        json_array_append(out, u ? u : t);
    }
    json_array_foreach(ch->created, i, t) json_array_append(out, t);
    return out;
}

/* Folds the scheduler's decisions into ch: a task created in this very
 * pass stays a creation (now assigned), any other becomes an update. */
static void merge_placement(sched_changes *ch, sched_changes *placed)
{
    const char *id;
    json_t *doc;
    json_object_foreach(placed->updated, id, doc) {
        bool created = false;
        size_t i;
        json_t *t;
        json_array_foreach(ch->created, i, t) if (!strcmp(json_str(t, "ID"), id)) {
            json_array_set(ch->created, i, doc);
            created = true;
            break;
        }
        if (!created)
            sched_changes_update(ch, doc);
    }
}

static void proposed(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    reconciler *r = arg;
    r->busy = false;
    if (status < 0 && status != -EAGAIN)
        log_warn("orchestrator: proposal failed: %s", e && e->msg[0] ? e->msg : "error");
    if (r->again || status == -EAGAIN) {
        r->again = false;
        kick(r);
    }
}

static void decide(reconciler *r, cluster_store *cs)
{
    long long now = now_ns();
    json_t *services = cs_list(cs, CS_SERVICE), *tasks = cs_list(cs, CS_TASK), *nodes = cs_list(cs, CS_NODE),
           *clusters = cs_list(cs, CS_CLUSTER);
    json_t *hl = sched_get(json_array_get(clusters, 0), "Spec.Orchestration.TaskHistoryRetentionLimit");
    orch_opts o = {.now_ns = now, .new_id = new_id, .history_limit = hl ? json_integer_value(hl) : ORCH_DEFAULT_HISTORY,
                   .updates = r->updates};
    sched_changes ch;
    sched_changes_init(&ch);
    berr e = {0};
    size_t i;
    json_t *svc, *t;
    json_array_foreach(services, i, svc) {
        json_t *mine = tasks_of(tasks, json_str(svc, "ID"));
        if (orch_reconcile(svc, mine, nodes, &o, &ch, &e) < 0)
            log_warn("orchestrator: service %s: %s", json_str(svc, "ID"), e.msg);
        json_decref(mine);
    }
    json_t *orphans = json_array();
    json_array_foreach(tasks, i, t) {
        if (!attachment_task(t)) {
            if (!has_id(services, json_str(t, "ServiceID")))
                json_array_append(orphans, t);
        } else if (!has_id(nodes, json_str(t, "NodeID"))) {
            sched_changes_delete(&ch, json_str(t, "ID"));   /* its node was removed */
        }
    }
    if (json_array_size(orphans))
        orch_service_removed(orphans, &o, &ch);
    json_decref(orphans);
    orch_reap(tasks, &ch);
    /* The allocator's step: new tasks get their overlay addresses and
     * become pending, ready to place. */
    json_t *networks = cs_list(cs, CS_NETWORK);
    ovl_alloc *alloc = ovl_alloc_new(networks, services, tasks);
    ovl_alloc_reserve_nodes(alloc, json_array_size(nodes));
    json_array_foreach(ch.created, i, t) if (overlay_task_allocate(alloc, t, services)) orch_task_pending(t, now);
    json_array_foreach(tasks, i, t) {
        if (strcmp(json_str(json_object_get(t, "Status"), "State"), "new") || json_object_get(ch.updated, json_str(t, "ID")))
            continue;
        json_t *copy = json_deep_copy(t);
        if (attachment_task(copy)) {
            attachment_task_allocate(alloc, copy, now);
            sched_changes_update(&ch, copy);
        } else if (overlay_task_allocate(alloc, copy, services) && orch_task_pending(copy, now)) {
            sched_changes_update(&ch, copy);
        }
        json_decref(copy);
    }
    ovl_alloc_free(alloc);
    json_t *view = tasks_after(tasks, &ch);
    sched_changes placed;
    sched_changes_init(&placed);
    if (sched_place(nodes, view, services, now, &placed, &e) < 0)
        log_warn("scheduler: %s", e.msg);
    merge_placement(&ch, &placed);
    sched_changes_free(&placed);
    json_decref(view);

    if (ch.wake_ns > 0 && r->timers_on) {
        long long ms = (ch.wake_ns - now) / 1000000 + 1;
        uv_timer_start(&r->wake, pass, ms > 0 ? (uint64_t)ms : 1, 0);
    }
    char stamp[40];
    sched_time_format(now, stamp);
    json_t *ingress = overlay_ingress_doc(json_array_get(clusters, 0), networks, stamp);
    json_decref(networks);
    if (!sched_changes_empty(&ch) || ingress) {
        cs_op *ops = NULL;
        size_t n = 0;
        sched_changes_ops(&ch, &ops, &n);
        /* A service of 10,000 replicas is 10,000 new tasks: proposed a
         * slice at a time, the next pass making the next slice, so no
         * entry is so large that applying it stalls a member's loop past
         * raft's election timeout. */
        if (n > RECONCILE_MAX_OPS) {
            n = RECONCILE_MAX_OPS;
            r->again = true;
        }
        if (ingress) {
            ops = xrealloc(ops, (n + 1) * sizeof *ops);
            ops[n] = (cs_op){.type = CS_PUT, .kind = CS_NETWORK, .doc = ingress, .if_version = 0};
            snprintf(ops[n].id, sizeof ops[n].id, "%s", json_str(ingress, "ID"));
            n++;
        }
        if (n) {
            r->busy = true;
            if (cluster_store_propose(cs, ops, n, proposed, r, &e) < 0) {
                r->busy = false;
                log_warn("orchestrator: %s", e.msg);
            }
        }
        free(ops);
    }
    json_decref(ingress);
    sched_changes_free(&ch);
    json_decref(services);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(clusters);
}

static void pass(uv_timer_t *t)
{
    reconciler *r = t->data;
    cluster_store *cs = r->d->swarm ? swarm_store(r->d->swarm) : NULL;
    if (!cs || r->d->stopping)
        return;
    /* Orchestrators and the scheduler run on the leader only: managers
     * deciding at once would create a slot's task twice.  A new leader's
     * first entries (its upkeep of the managers' reachability) kick it. */
    if (cluster_store_leader(cs) != cluster_store_raft_id(cs))
        return;
    if (r->busy) {
        r->again = true;
        return;
    }
    decide(r, cs);
}

static void on_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    (void)ops;
    (void)n;
    reconciler *r = arg;
    if (r->busy)
        r->again = true;
    else
        kick(r);
}

static void on_swarm(void *arg, swarm_event ev)
{
    reconciler *r = arg;
    if (ev == SWARM_EV_ACTIVE) {
        r->busy = false;
        cluster_store_watch(swarm_store(r->d->swarm), on_change, r);
        kick(r);
    } else if (ev == SWARM_EV_CLOSING) {
        r->busy = false;   /* the store answers no more proposals */
    }
}

void reconciler_start(reconciler *r, struct berth_daemon *d)
{
    memset(r, 0, sizeof *r);
    r->d = d;
    r->updates = update_state_new();
    uv_timer_init(d->loop, &r->kick);
    uv_timer_init(d->loop, &r->wake);
    r->kick.data = r->wake.data = r;
    r->timers_on = true;
    if (d->swarm) {
        swarm_subscribe(d->swarm, on_swarm, r);
        if (swarm_store(d->swarm))
            on_swarm(r, SWARM_EV_ACTIVE);
    }
}

void reconciler_stop(reconciler *r)
{
    if (!r->timers_on)
        return;
    r->timers_on = false;
    uv_close((uv_handle_t *)&r->kick, NULL);
    uv_close((uv_handle_t *)&r->wake, NULL);
    update_state_free(r->updates);
    r->updates = NULL;
}
