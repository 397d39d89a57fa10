/* Replicated and global services, the working set and the reconcile entry
 * point (see orchestrator.h).  Jobs are in orch_jobs.c, history cleanup in
 * orch_history.c, the rolling updater in update.c. */
#include "scheduler/orchestrator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "scheduler/constraints.h"
#include "scheduler/orch_internal.h"
#include "scheduler/restart.h"

/* ---- service facts -------------------------------------------------------- */

orch_mode orch_service_mode(const json_t *service)
{
    json_t *mode = sched_get(service, "Spec.Mode");
    if (json_object_get(mode, "Global"))
        return ORCH_GLOBAL;
    if (json_object_get(mode, "ReplicatedJob"))
        return ORCH_REPLICATED_JOB;
    if (json_object_get(mode, "GlobalJob"))
        return ORCH_GLOBAL_JOB;
    return ORCH_REPLICATED;
}

long long orch_replicas(const json_t *service)
{
    return sched_int(service, "Spec.Mode.Replicated.Replicas", 1);
}

void orch_job_counts(const json_t *service, long long *total, long long *max_concurrent)
{
    long long mc = sched_int(service, "Spec.Mode.ReplicatedJob.MaxConcurrent", 1);
    *max_concurrent = mc;
    *total = sched_int(service, "Spec.Mode.ReplicatedJob.TotalCompletions", mc);
}

static bool mode_is_job(orch_mode m)
{
    return m == ORCH_REPLICATED_JOB || m == ORCH_GLOBAL_JOB;
}

static bool mode_is_global(orch_mode m)
{
    return m == ORCH_GLOBAL || m == ORCH_GLOBAL_JOB;
}

json_t *orch_new_task(const json_t *service, long long slot, const char *node_id, const orch_opts *o)
{
    char id[26] = "";
    o->new_id(o->id_arg, id);
    json_t *spec = sched_get(service, "Spec.TaskTemplate");
    json_t *status = json_pack("{s:o, s:s, s:s}", "Timestamp", sched_time_json(o->now_ns), "State", "new",
                               "Message", "created");
    json_t *t = json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:s}", "ID", id, "CreatedAt",
                          sched_time_json(o->now_ns), "UpdatedAt", sched_time_json(o->now_ns), "Labels",
                          json_object(), "Spec", spec ? json_deep_copy(spec) : json_object(), "ServiceID",
                          sched_str(service, "ID"), "Status", status, "DesiredState", "running");
    if (slot > 0)
        json_object_set_new(t, "Slot", json_integer(slot));
    if (node_id && *node_id)
        json_object_set_new(t, "NodeID", json_string(node_id));
    if (mode_is_job(orch_service_mode(service))) {
        json_object_set_new(t, "JobIteration",
                            json_pack("{s:I}", "Index",
                                      (json_int_t)sched_int(service, "JobStatus.JobIteration.Index", 0)));
        json_object_set_new(t, "DesiredState", json_string("complete"));
    }
    /* swarmkit keeps the endpoint spec in the task (Docker does not show
     * it): a change of published ports makes the task outdated */
    json_t *ep = sched_get(service, "Spec.EndpointSpec");
    json_object_set_new(t, "Berth", json_pack("{s:o}", "EndpointSpec", ep ? json_deep_copy(ep) : json_null()));
    return t;
}

bool orch_task_pending(json_t *task, long long now_ns)
{
    if (sched_task_state(task) != SCHED_ST_NEW || sched_task_desired(task) > SCHED_ST_COMPLETE)
        return false;
    json_object_set_new(task, "Status", json_pack("{s:o, s:s, s:s}", "Timestamp", sched_time_json(now_ns), "State",
                                                  "pending", "Message", "pending task scheduling"));
    json_object_set_new(task, "UpdatedAt", sched_time_json(now_ns));
    return true;
}

char *orch_task_name(const char *service_name, const json_t *task)
{
    long long slot = sched_int(task, "Slot", 0);
    if (slot != 0)
        return xasprintf("%s.%lld.%s", service_name, slot, sched_str(task, "ID"));
    return xasprintf("%s.%s.%s", service_name, sched_str(task, "NodeID"), sched_str(task, "ID"));
}

bool orch_task_dirty(const json_t *service, const json_t *task, const json_t *node)
{
    json_t *want = sched_get(service, "Spec.TaskTemplate");
    json_t *have = sched_get(task, "Spec");
    json_t *empty = json_object();
    if (!want)
        want = empty;
    if (!have)
        have = empty;
    bool dirty = !json_equal(want, have);
    if (dirty) {
        /* only the placement changed and the node still fits: keep it */
        json_t *w = json_deep_copy(want);
        json_t *hp = json_object_get(have, "Placement");
        if (hp)
            json_object_set(w, "Placement", hp);
        else
            json_object_del(w, "Placement");
        if (json_equal(w, have) && node &&
            sched_constraint_match_list(sched_get(want, "Placement.Constraints"), node))
            dirty = false;
        json_decref(w);
    }
    json_decref(empty);
    json_t *b = json_object_get(task, "Berth");
    if (!dirty && json_is_object(b) && json_object_get(b, "EndpointSpec")) {
        json_t *ep = sched_get(service, "Spec.EndpointSpec");
        json_t *tep = json_object_get(b, "EndpointSpec");
        if (!(json_is_null(tep) ? !ep || json_is_null(ep) : ep && json_equal(ep, tep)))
            dirty = true;
    }
    return dirty;
}

/* ---- the working set ------------------------------------------------------ */

void orch_work_init(orch_work *w, const json_t *service, const json_t *tasks, const json_t *nodes,
                    const orch_opts *o, sched_changes *out)
{
    w->service = service;
    w->nodes = nodes;
    w->o = o;
    w->out = out;
    w->mode = orch_service_mode(service);
    w->tasks = json_array();
    size_t i;
    json_t *t;
    const char *sid = sched_str(service, "ID");
    json_array_foreach(tasks, i, t)
        if (strcmp(sched_str(t, "ServiceID"), sid) == 0)
            json_array_append_new(w->tasks, json_deep_copy(t));
}

void orch_work_free(orch_work *w)
{
    json_decref(w->tasks);
    w->tasks = NULL;
}

static bool is_created(orch_work *w, const json_t *task)
{
    size_t i;
    json_t *t;
    json_array_foreach(w->out->created, i, t)
        if (t == task)
            return true;
    return false;
}

void orch_work_touch(orch_work *w, json_t *task)
{
    json_object_set_new(task, "UpdatedAt", sched_time_json(w->o->now_ns));
    if (!is_created(w, task))
        sched_changes_update(w->out, task);
}

bool orch_work_set_desired(orch_work *w, json_t *task, const char *state)
{
    if (sched_task_desired(task) >= sched_state_rank(state))
        return false;
    json_object_set_new(task, "DesiredState", json_string(state));
    orch_work_touch(w, task);
    return true;
}

void orch_work_create(orch_work *w, json_t *task)
{
    json_array_append(w->out->created, task);
    json_array_append_new(w->tasks, task);
}

void orch_work_delete(orch_work *w, json_t *task)
{
    size_t i;
    json_t *t;
    json_array_foreach(w->out->created, i, t) {
        if (t == task) {
            json_array_remove(w->out->created, i);
            break;
        }
    }
    if (!is_created(w, task))
        sched_changes_delete(w->out, sched_str(task, "ID"));
    json_array_foreach(w->tasks, i, t) {
        if (t == task) {
            json_array_remove(w->tasks, i);
            break;
        }
    }
}

void orch_slot_key(orch_mode mode, const json_t *task, char *out, size_t len)
{
    if (mode_is_global(mode))
        snprintf(out, len, "%s", sched_str(task, "NodeID"));
    else
        snprintf(out, len, "%lld", sched_int(task, "Slot", 0));
}

json_t *orch_work_slot(orch_work *w, const json_t *task)
{
    char want[80], key[80];
    orch_slot_key(w->mode, task, want, sizeof want);
    json_t *slot = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(w->tasks, i, t) {
        orch_slot_key(w->mode, t, key, sizeof key);
        if (strcmp(key, want) == 0)
            json_array_append(slot, t);
    }
    return slot;
}

json_t *orch_work_slots(orch_work *w)
{
    json_t *slots = json_object();
    size_t i;
    json_t *t;
    char key[80];
    json_array_foreach(w->tasks, i, t) {
        orch_slot_key(w->mode, t, key, sizeof key);
        json_t *a = json_object_get(slots, key);
        if (!a) {
            a = json_array();
            json_object_set_new(slots, key, a);
        }
        json_array_append(a, t);
    }
    return slots;
}

json_t *orch_updatable(orch_work *w, json_t *slot)
{
    json_t *upd = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(slot, i, t)
        if (sched_task_desired(t) <= SCHED_ST_RUNNING)
            json_array_append(upd, t);
    if (json_array_size(upd))
        return upd;
    json_decref(upd);
    if (json_array_size(slot) == 0)
        return NULL;
    /* a rollback must converge: ended tasks that would not restart do not
     * hold their slot then */
    if (strcmp(sched_str(w->service, "UpdateStatus.State"), "rollback_started") == 0)
        return NULL;
    json_t *newest = json_array_get(slot, 0);
    json_array_foreach(slot, i, t)
        if (sched_time_parse(sched_str(newest, "Status.Timestamp")) <
            sched_time_parse(sched_str(t, "Status.Timestamp")))
            newest = t;
    if (restart_should(w->service, newest, slot, NULL))
        return NULL;
    return json_pack("[O]", newest);
}

/* ---- restarts ------------------------------------------------------------- */

void orch_restart(orch_work *w, json_t *task)
{
    /* shut down already: another pass restarted it (swarmkit refuses too) */
    if (sched_task_desired(task) > SCHED_ST_COMPLETE)
        return;
    orch_work_set_desired(w, task, "shutdown");
    json_t *slot = orch_work_slot(w, task);
    const json_t *node = sched_find_node(w->nodes, sched_str(task, "NodeID"));
    restart_decision d;
    restart_decide(w->service, task, node, slot, w->o->now_ns, &d);
    json_decref(slot);
    if (d.verdict == RESTART_NO)
        return;
    bool global = mode_is_global(w->mode);
    json_t *nt = orch_new_task(w->service, global ? 0 : sched_int(task, "Slot", 0),
                               global ? sched_str(task, "NodeID") : NULL, w->o);
    if (d.verdict == RESTART_AT) {
        json_object_set_new(nt, "DesiredState", json_string("ready"));
        json_t *b = json_object_get(nt, "Berth");
        json_object_set_new(b, "StartAt", sched_time_json(d.at_ns));
        if (d.wait_old)
            json_object_set_new(b, "WaitFor", json_string(sched_str(task, "ID")));
    }
    orch_work_create(w, nt);
}

/* Tasks desired to run whose run ended, or (replicated) whose node cannot
 * keep them. */
static void restarts(orch_work *w)
{
    json_t *snapshot = json_copy(w->tasks);
    size_t i;
    json_t *t;
    json_array_foreach(snapshot, i, t) {
        if (sched_task_desired(t) > SCHED_ST_RUNNING)
            continue;
        const char *nid = sched_str(t, "NodeID");
        const json_t *node = sched_find_node(w->nodes, nid);
        bool ended = sched_task_state(t) > SCHED_ST_RUNNING;
        if (w->mode == ORCH_GLOBAL) {
            if (!ended || sched_node_invalid(node))
                continue; /* sizing shut it down already */
            if (strcmp(sched_str(node, "Spec.Availability"), "pause") == 0 ||
                !sched_constraint_match_list(sched_get(w->service, "Spec.TaskTemplate.Placement.Constraints"),
                                             node)) {
                orch_work_set_desired(w, t, "shutdown");
                continue;
            }
        } else if (!ended && !(*nid && sched_node_invalid(node))) {
            continue;
        }
        orch_restart(w, t);
    }
    json_decref(snapshot);
}

/* ---- replicated ----------------------------------------------------------- */

typedef struct rslot {
    long long num;
    json_t *tasks;     /* updatable tasks */
    bool running;      /* one of them is running */
    long index;        /* nth slot of the service on its node, -1 if unknown */
    size_t pos;
} rslot;

static int rslot_by_running(const void *a, const void *b)
{
    const rslot *x = a, *y = b;
    if (x->running != y->running)
        return x->running ? -1 : 1;
    return x->num < y->num ? -1 : x->num > y->num;
}

static int rslot_by_index(const void *a, const void *b)
{
    const rslot *x = a, *y = b;
    if ((x->index < 0) != (y->index < 0))
        return x->index < 0 ? 1 : -1;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static bool is_live(const json_t *t)
{
    int st = sched_task_state(t);
    return st >= SCHED_ST_ASSIGNED && st <= SCHED_ST_RUNNING;
}

/* Sizes a replicated service; returns the keys of the slots it keeps. */
static json_t *size_replicated(orch_work *w)
{
    json_t *slots = orch_work_slots(w);
    size_t n = json_object_size(slots), nrun = 0;
    rslot *run = xcalloc(n, sizeof *run);
    json_t *dead = json_object();
    const char *key;
    json_t *slot;
    json_object_foreach(slots, key, slot) {
        json_t *upd = orch_updatable(w, slot);
        if (!upd) {
            json_object_set(dead, key, slot);
            continue;
        }
        rslot *r = &run[nrun++];
        r->num = strtoll(key, NULL, 10);
        r->tasks = upd;
        size_t i;
        json_t *t;
        json_array_foreach(upd, i, t)
            if (sched_task_state(t) == SCHED_ST_RUNNING)
                r->running = true;
    }
    long long want = orch_replicas(w->service);
    json_t *kept = json_array();
    char kbuf[32];

    if (want > (long long)nrun) {
        long long num = 0;
        for (long long k = 0; k < want - (long long)nrun; k++) {
            bool taken;
            do {
                num++;
                taken = false;
                for (size_t i = 0; i < nrun; i++)
                    if (run[i].num == num)
                        taken = true;
            } while (taken);
            snprintf(kbuf, sizeof kbuf, "%lld", num);
            json_object_del(dead, kbuf); /* the slot is reused: keep its history */
            orch_work_create(w, orch_new_task(w->service, num, NULL, w->o));
        }
        for (size_t i = 0; i < nrun; i++) {
            snprintf(kbuf, sizeof kbuf, "%lld", run[i].num);
            json_array_append_new(kept, json_string(kbuf));
        }
    } else {
        /* Scaling down (or not): remove slots from the nodes holding the
         * most tasks of the service, tasks not running first, then the
         * highest slots (the first slots often hold a stateful service's
         * primary). */
        qsort(run, nrun, sizeof *run, rslot_by_running);
        json_t *per_node = json_object();
        for (size_t i = 0; i < nrun; i++) {
            run[i].pos = i;
            run[i].index = -1;
            const char *nid = sched_str(json_array_get(run[i].tasks, 0), "NodeID");
            if (json_array_size(run[i].tasks) == 1 && *nid) {
                long c = (long)json_integer_value(json_object_get(per_node, nid)) + 1;
                json_object_set_new(per_node, nid, json_integer(c));
                run[i].index = c;
            }
        }
        json_decref(per_node);
        qsort(run, nrun, sizeof *run, rslot_by_index);
        for (size_t i = 0; i < nrun; i++) {
            if ((long long)i < want) {
                snprintf(kbuf, sizeof kbuf, "%lld", run[i].num);
                json_array_append_new(kept, json_string(kbuf));
                continue;
            }
            size_t j;
            json_t *t;
            json_array_foreach(run[i].tasks, j, t)
                orch_work_set_desired(w, t, "remove");
        }
    }

    /* Dead slots (nothing desired to run, nothing to restart: slots scaled
     * away) go.  swarmkit deletes them outright; we leave tasks that may
     * still run on a node until they stop, so agents never lose a running
     * container's task. */
    json_object_foreach(dead, key, slot) {
        size_t j;
        json_t *t;
        json_array_foreach(slot, j, t)
            if (!is_live(t))
                orch_work_delete(w, t);
    }
    for (size_t i = 0; i < nrun; i++)
        json_decref(run[i].tasks);
    free(run);
    json_decref(dead);
    json_decref(slots);
    return kept;
}

/* ---- global --------------------------------------------------------------- */

static bool global_eligible(const json_t *node)
{
    return !sched_node_invalid(node);
}

static void shutdown_all(orch_work *w, json_t *tasks)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
        orch_work_set_desired(w, t, "shutdown");
}

static json_t *size_global(orch_work *w)
{
    json_t *slots = orch_work_slots(w);
    json_t *cons = sched_get(w->service, "Spec.TaskTemplate.Placement.Constraints");
    json_t *kept = json_array();
    size_t i;
    json_t *node;
    json_t *seen = json_object();
    /* nodes in ID order, as every other walk here */
    json_t *order = json_copy((json_t *)w->nodes);
    for (size_t a = 1; a < json_array_size(order); a++)
        for (size_t b = a; b > 0 && strcmp(sched_str(json_array_get(order, b - 1), "ID"),
                                           sched_str(json_array_get(order, b), "ID")) > 0; b--) {
            json_t *x = json_incref(json_array_get(order, b));
            json_array_set(order, b, json_array_get(order, b - 1));
            json_array_set_new(order, b - 1, x);
        }
    json_array_foreach(order, i, node) {
        if (!global_eligible(node))
            continue;
        const char *nid = sched_str(node, "ID");
        json_object_set_new(seen, nid, json_true());
        json_t *slot = json_object_get(slots, nid);
        json_t *upd = slot ? orch_updatable(w, slot) : NULL;
        if (!sched_constraint_match_list(cons, node)) {
            shutdown_all(w, upd);
        } else if (strcmp(sched_str(node, "Spec.Availability"), "pause") == 0) {
            /* a paused node keeps what it runs and gets nothing new */
        } else if (!upd) {
            orch_work_create(w, orch_new_task(w->service, 0, nid, w->o));
        } else {
            json_array_append_new(kept, json_string(nid));
        }
        json_decref(upd);
    }
    /* tasks on nodes that are gone, drained or down */
    const char *key;
    json_t *slot;
    json_object_foreach(slots, key, slot) {
        if (json_object_get(seen, key))
            continue;
        json_t *upd = orch_updatable(w, slot);
        shutdown_all(w, upd);
        json_decref(upd);
    }
    json_decref(order);
    json_decref(seen);
    json_decref(slots);
    return kept;
}

/* ---- delayed starts ------------------------------------------------------- */

static void start_ready(orch_work *w)
{
    size_t i;
    json_t *t;
    json_array_foreach(w->tasks, i, t) {
        if (sched_task_desired(t) != SCHED_ST_READY)
            continue;
        long long wake = 0;
        if (restart_start_due(t, w->tasks, w->nodes, w->o->now_ns, &wake)) {
            restart_start(t, w->o->now_ns);
            orch_work_touch(w, t);
        } else {
            sched_changes_wake(w->out, wake);
        }
    }
}

/* ---- entry points --------------------------------------------------------- */

int orch_reconcile(const json_t *service, const json_t *tasks, const json_t *nodes, const orch_opts *o,
                   sched_changes *out, berr *e)
{
    if (!*sched_str(service, "ID"))
        return berr_set(e, -EINVAL, "orchestrator: service without ID");
    if (!json_is_array(tasks) || !json_is_array(nodes))
        return berr_set(e, -EINVAL, "orchestrator: tasks and nodes must be arrays");
    json_t *mode = sched_get(service, "Spec.Mode");
    if (json_is_object(mode) && json_object_size(mode) > 0 && !json_object_get(mode, "Replicated") &&
        !json_object_get(mode, "Global") && !json_object_get(mode, "ReplicatedJob") &&
        !json_object_get(mode, "GlobalJob"))
        return berr_set(e, -EINVAL, "Unrecognized service mode");

    orch_work w;
    orch_work_init(&w, service, tasks, nodes, o, out);
    if (w.mode == ORCH_REPLICATED || w.mode == ORCH_GLOBAL) {
        json_t *kept = w.mode == ORCH_REPLICATED ? size_replicated(&w) : size_global(&w);
        restarts(&w);
        /* the updater sees the slots as the restarts left them */
        json_t *slots = orch_work_slots(&w);
        json_t *upd_slots = json_array();
        size_t i;
        json_t *k;
        json_array_foreach(kept, i, k) {
            json_t *u = orch_updatable(&w, json_object_get(slots, json_string_value(k)));
            if (u)
                json_array_append_new(upd_slots, u);
        }
        update_run(&w, upd_slots, NULL);
        json_decref(upd_slots);
        json_decref(slots);
        json_decref(kept);
    } else if (w.mode == ORCH_REPLICATED_JOB) {
        orch_reconcile_replicated_job(&w);
    } else {
        orch_reconcile_global_job(&w);
    }
    start_ready(&w);
    orch_history(&w);
    orch_work_free(&w);
    return 0;
}

void orch_service_removed(const json_t *tasks, const orch_opts *o, sched_changes *out)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        if (sched_task_desired(t) >= SCHED_ST_REMOVE)
            continue;
        json_t *c = json_deep_copy(t);
        json_object_set_new(c, "DesiredState", json_string("remove"));
        json_object_set_new(c, "UpdatedAt", sched_time_json(o->now_ns));
        sched_changes_update(out, c);
        json_decref(c);
    }
}
