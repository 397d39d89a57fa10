/* The constraint enforcer (see placement.h), as swarmkit's
 * orchestrator/constraintenforcer. */
#include <string.h>

#include "scheduler/constraints.h"
#include "scheduler/placement.h"

static const json_t *find_service(const json_t *services, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(services, i, s)
        if (strcmp(sched_str(s, "ID"), id) == 0)
            return s;
    return NULL;
}

void sched_place_enforce(const json_t *node, const json_t *tasks, const json_t *services, long long now_ns,
                         sched_changes *out)
{
    /* drained nodes lose their tasks to the orchestrator; paused ones
     * keep them */
    if (strcmp(sched_str(node, "Spec.Availability"), "active") != 0)
        return;
    const char *nid = sched_str(node, "ID");
    long long cpu = sched_int(node, "Description.Resources.NanoCPUs", 0);
    long long mem = sched_int(node, "Description.Resources.MemoryBytes", 0);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        int ds = sched_task_desired(t);
        if (strcmp(sched_str(t, "NodeID"), nid) != 0 || ds < SCHED_ST_ASSIGNED || ds > SCHED_ST_COMPLETE)
            continue;
        /* finished tasks (a job's completed ones) hold nothing */
        if (sched_task_state(t) >= SCHED_ST_COMPLETE)
            continue;
        /* the service's constraints, not the task's: an update that only
         * changed constraints leaves tasks with the old ones */
        const json_t *svc = find_service(services, sched_str(t, "ServiceID"));
        json_t *cons = svc ? sched_get(svc, "Spec.TaskTemplate.Placement.Constraints")
                           : sched_get(t, "Spec.Placement.Constraints");
        bool reject = json_array_size(cons) > 0 && !sched_constraint_match_list(cons, node);
        if (!reject) {
            long long rc = sched_int(t, "Spec.Resources.Reservations.NanoCPUs", 0);
            long long rm = sched_int(t, "Spec.Resources.Reservations.MemoryBytes", 0);
            if (rm > mem || rc > cpu) {
                reject = true;
            } else {
                cpu -= rc;
                mem -= rm;
            }
        }
        if (!reject)
            continue;
        json_t *c = json_deep_copy(t);
        json_t *st = json_object_get(c, "Status");
        if (!json_is_object(st)) {
            st = json_object();
            json_object_set_new(c, "Status", st);
        }
        json_object_set_new(st, "State", json_string("rejected"));
        json_object_set_new(st, "Message", json_string("task rejected by constraint enforcer"));
        json_object_set_new(st, "Err", json_string("assigned node no longer meets constraints"));
        json_object_set_new(st, "Timestamp", sched_time_json(now_ns));
        json_object_set_new(c, "UpdatedAt", sched_time_json(now_ns));
        sched_changes_update(out, c);
        json_decref(c);
    }
}
