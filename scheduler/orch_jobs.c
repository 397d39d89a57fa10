/* Job services, as swarmkit's orchestrator/jobs/replicated and
 * jobs/global reconcilers.
 *
 * A job runs its tasks to completion once per JobIteration (the API bumps
 * Service.JobStatus.JobIteration.Index on every update of a job): tasks of
 * an earlier iteration are removed, failed tasks of this one restarted per
 * the restart policy ("any" acts as "on-failure": a completed task is
 * done).  Job tasks are desired "complete", not "running". */
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "scheduler/constraints.h"
#include "scheduler/orch_internal.h"

static long long iteration(const json_t *service)
{
    return sched_int(service, "JobStatus.JobIteration.Index", 0);
}

static bool has_iteration(const json_t *t)
{
    return json_is_object(json_object_get(t, "JobIteration"));
}

void orch_reconcile_replicated_job(orch_work *w)
{
    long long iter = iteration(w->service), total, maxc;
    orch_job_counts(w->service, &total, &maxc);
    long long running = 0, complete = 0;
    bool *used = xcalloc(total > 0 ? (size_t)total : 1, sizeof *used);
    json_t *restart = json_array(), *remove = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(w->tasks, i, t) {
        if (!has_iteration(t))
            continue;
        int st = sched_task_state(t), ds = sched_task_desired(t);
        long long slot = sched_int(t, "Slot", 0);
        if (sched_int(t, "JobIteration.Index", 0) == iter) {
            if (st == SCHED_ST_COMPLETE) {
                complete++;
                if (slot >= 0 && slot < total)
                    used[slot] = true;
            } else if (ds <= SCHED_ST_COMPLETE) {
                /* in progress, or failed and waiting for its restart: it
                 * holds its slot either way */
                running++;
                if (slot >= 0 && slot < total)
                    used[slot] = true;
                if (st > SCHED_ST_COMPLETE)
                    json_array_append(restart, t);
            }
        } else if (st <= SCHED_ST_RUNNING && ds != SCHED_ST_REMOVE) {
            json_array_append(remove, t);
        }
    }

    long long possible = maxc - running, allowed = total - complete - running;
    long long create = possible < allowed ? possible : allowed;
    for (long long k = 0; k < create; k++) {
        long long slot = 0;
        while (slot < total && used[slot])
            slot++;
        if (slot >= total)
            break;
        used[slot] = true;
        /* slot 0 is a real slot for jobs; orch_new_task leaves Slot out
         * for 0, as Docker's JSON does */
        orch_work_create(w, orch_new_task(w->service, slot, NULL, w->o));
    }
    json_array_foreach(restart, i, t)
        orch_restart(w, t);
    json_array_foreach(remove, i, t)
        orch_work_set_desired(w, t, "remove");
    json_decref(restart);
    json_decref(remove);
    free(used);
}

void orch_reconcile_global_job(orch_work *w)
{
    long long iter = iteration(w->service);
    json_t *cons = sched_get(w->service, "Spec.TaskTemplate.Placement.Constraints");
    json_t *by_node = json_object(), *restart = json_array(), *remove = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(w->tasks, i, t) {
        if (!has_iteration(t))
            continue;
        if (sched_int(t, "JobIteration.Index", 0) == iter) {
            if (sched_task_desired(t) <= SCHED_ST_COMPLETE) {
                if (sched_task_state(t) > SCHED_ST_COMPLETE)
                    json_array_append(restart, t);
                json_object_set(by_node, sched_str(t, "NodeID"), t);
            }
        } else if (sched_task_desired(t) != SCHED_ST_REMOVE) {
            json_array_append(remove, t);
        }
    }

    json_t *invalid = json_array();
    json_t *node;
    json_array_foreach(w->nodes, i, node) {
        if (!sched_constraint_match_list(cons, node))
            continue;
        if (sched_node_invalid(node)) {
            json_array_append(invalid, node);
            continue;
        }
        if (strcmp(sched_str(node, "Spec.Availability"), "active") != 0 ||
            strcmp(sched_str(node, "Status.State"), "ready") != 0)
            continue;
        const char *nid = sched_str(node, "ID");
        if (!json_object_get(by_node, nid))
            orch_work_create(w, orch_new_task(w->service, 0, nid, w->o));
    }
    json_array_foreach(restart, i, t)
        orch_restart(w, t);
    json_array_foreach(remove, i, t)
        orch_work_set_desired(w, t, "remove");
    json_array_foreach(invalid, i, node) {
        t = json_object_get(by_node, sched_str(node, "ID"));
        if (t && (sched_task_desired(t) > SCHED_ST_COMPLETE || sched_task_state(t) <= SCHED_ST_RUNNING))
            orch_work_set_desired(w, t, "shutdown");
    }
    json_decref(invalid);
    json_decref(by_node);
    json_decref(restart);
    json_decref(remove);
}
