/* Task history cleanup, as swarmkit's taskreaper: tasks desired "remove"
 * go once they stopped (or never reached a node), and each slot keeps at
 * most TaskHistoryRetentionLimit tasks, the oldest ended ones going
 * first.  When the restart policy caps attempts the slot keeps
 * MaxAttempts + 1, enough for restart.c to count them. */
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "scheduler/orch_internal.h"

static bool reapable(const json_t *t)
{
    int st = sched_task_state(t);
    if (sched_task_desired(t) == SCHED_ST_REMOVE && (st < SCHED_ST_ASSIGNED || st >= SCHED_ST_COMPLETE))
        return true;
    return st >= SCHED_ST_ORPHANED && !*sched_str(t, "ServiceID");
}

void orch_reap(const json_t *tasks, sched_changes *out)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
        if (reapable(t))
            sched_changes_delete(out, sched_str(t, "ID"));
}

static int by_timestamp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long tx = sched_time_parse(sched_str(x, "Status.Timestamp"));
    long long ty = sched_time_parse(sched_str(y, "Status.Timestamp"));
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return strcmp(sched_str(x, "ID"), sched_str(y, "ID"));
}

static void trim_slot(orch_work *w, json_t *slot, long long limit)
{
    size_t n = json_array_size(slot);
    if ((long long)n <= limit)
        return;
    json_t **v = xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(slot, i);
    qsort(v, n, sizeof *v, by_timestamp);
    size_t gone = 0;
    for (size_t i = 0; i < n && (long long)(n - gone) > limit; i++) {
        int st = sched_task_state(v[i]);
        bool ended = st > SCHED_ST_RUNNING;
        bool never = st < SCHED_ST_ASSIGNED && sched_task_desired(v[i]) > SCHED_ST_RUNNING;
        if (ended || never) {
            orch_work_delete(w, v[i]);
            gone++;
        }
    }
    free(v);
}

void orch_history(orch_work *w)
{
    json_t *snapshot = json_copy(w->tasks);
    size_t i;
    json_t *t;
    json_array_foreach(snapshot, i, t)
        if (reapable(t))
            orch_work_delete(w, t);
    json_decref(snapshot);

    /* swarmkit's reaper trims replicated and global services only */
    if (w->mode != ORCH_REPLICATED && w->mode != ORCH_GLOBAL)
        return;
    long long limit = w->o->history_limit;
    long long max = sched_int(w->service, "Spec.TaskTemplate.RestartPolicy.MaxAttempts", 0);
    if (max > 0)
        limit = max + 1;
    if (limit < 0)
        return;
    json_t *slots = orch_work_slots(w);
    const char *key;
    json_t *slot;
    json_object_foreach(slots, key, slot)
        trim_slot(w, slot, limit);
    json_decref(slots);
}
