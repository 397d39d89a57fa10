#include "scheduler/restart.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

static bool is_job(const json_t *service)
{
    json_t *mode = sched_get(service, "Spec.Mode");
    return json_object_get(mode, "ReplicatedJob") || json_object_get(mode, "GlobalJob");
}

long long restart_delay_ns(const json_t *task_spec)
{
    json_t *d = sched_get(task_spec, "RestartPolicy.Delay");
    return json_is_integer(d) ? json_integer_value(d) : RESTART_DEFAULT_DELAY_NS;
}

static long long created_at(const json_t *t)
{
    return sched_time_parse(sched_str(t, "CreatedAt"));
}

static int by_created(const void *a, const void *b)
{
    long long x = created_at(*(json_t *const *)a), y = created_at(*(json_t *const *)b);
    if (x != y)
        return x < y ? -1 : 1;
    return strcmp(sched_str(*(json_t *const *)a, "ID"), sched_str(*(json_t *const *)b, "ID"));
}

/* Creation times of the restarts that led to task: the slot's tasks sorted
 * by creation, the run of tasks with task's spec that ends the list (a
 * spec change starts a new count, as a new SpecVersion does in swarmkit),
 * all but the first of that run.  Returns how many, times in *times. */
static size_t restart_times(const json_t *task, const json_t *slot_tasks, long long **times)
{
    size_t n = json_array_size(slot_tasks), k = 0, i;
    const json_t **v = xcalloc(n + 1, sizeof *v);
    json_t *t;
    bool seen = false;
    json_array_foreach(slot_tasks, i, t) {
        v[k++] = t;
        if (strcmp(sched_str(t, "ID"), sched_str(task, "ID")) == 0)
            seen = true;
    }
    if (!seen)
        v[k++] = task;
    qsort(v, k, sizeof *v, by_created);
    json_t *spec = sched_get(task, "Spec");
    size_t end = k, start = k;
    /* the run ends at task itself: later tasks are not its history */
    for (size_t j = 0; j < k; j++)
        if (strcmp(sched_str(v[j], "ID"), sched_str(task, "ID")) == 0)
            end = j + 1;
    start = end;
    while (start > 0 && json_equal(sched_get(v[start - 1], "Spec"), spec))
        start--;
    size_t nr = end > start ? end - start - 1 : 0;
    *times = xcalloc(nr + 1, sizeof **times);
    for (size_t j = 0; j < nr; j++)
        (*times)[j] = created_at(v[start + 1 + j]);
    free(v);
    return nr;
}

bool restart_should(const json_t *service, const json_t *task, const json_t *slot_tasks, const char **why)
{
    const char *cond = sched_str(task, "Spec.RestartPolicy.Condition");
    int st = sched_task_state(task);
    const char *dummy;
    if (!why)
        why = &dummy;
    if (strcmp(cond, "none") == 0) {
        *why = "restart condition none";
        return false;
    }
    if (st == SCHED_ST_COMPLETE && (strcmp(cond, "on-failure") == 0 || is_job(service))) {
        *why = "task completed";
        return false;
    }
    long long max = sched_int(task, "Spec.RestartPolicy.MaxAttempts", 0);
    if (max <= 0)
        return true;

    long long *times;
    size_t total = restart_times(task, slot_tasks, &times);
    long long window = sched_int(task, "Spec.RestartPolicy.Window", 0);
    long long ended = sched_time_parse(sched_str(task, "Status.Timestamp"));
    long long count = (long long)total;
    if (window > 0 && ended > 0) {
        /* only restarts after ended - window and before the task ended */
        count = 0;
        for (size_t i = 0; i < total; i++)
            if (times[i] > ended - window && times[i] < ended)
                count++;
    }
    free(times);
    if (count < max)
        return true;
    *why = "max attempts reached";
    return false;
}

void restart_decide(const json_t *service, const json_t *task, const json_t *node,
                    const json_t *slot_tasks, long long now_ns, restart_decision *out)
{
    memset(out, 0, sizeof *out);
    if (!restart_should(service, task, slot_tasks, &out->why)) {
        out->verdict = RESTART_NO;
        return;
    }
    out->why = NULL;
    long long delay = 0;
    /* No delay on a drained or down node: its tasks should move at once.
     * The restart delay paces a task that keeps failing; a node's death
     * is not the task's failure (SwarmKit waits the delay here too, which
     * puts 5 s on top of the grace period). */
    bool node_down = node && strcmp(sched_str(node, "Status.State"), "down") == 0;
    if (!node || (strcmp(sched_str(node, "Spec.Availability"), "drain") != 0 && !node_down))
        delay = restart_delay_ns(sched_get(task, "Spec"));
    /* wait for the old task to stop, unless it is dead or unreachable */
    bool wait = !(node_down || sched_task_state(task) > SCHED_ST_RUNNING);
    if (delay <= 0 && !wait) {
        out->verdict = RESTART_NOW;
        return;
    }
    out->verdict = RESTART_AT;
    out->at_ns = now_ns + (delay > 0 ? delay : 0);
    out->wait_old = wait;
}

static const json_t *find_task(const json_t *tasks, const char *id)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
        if (strcmp(sched_str(t, "ID"), id) == 0)
            return t;
    return NULL;
}

bool restart_start_due(const json_t *task, const json_t *tasks, const json_t *nodes, long long now_ns,
                       long long *wake_ns)
{
    long long dummy;
    if (!wake_ns)
        wake_ns = &dummy;
    *wake_ns = 0;
    if (sched_task_desired(task) != SCHED_ST_READY || sched_task_state(task) > SCHED_ST_COMPLETE)
        return false;
    long long start_at;
    if (sched_has(task, "Berth.StartAt"))
        start_at = sched_time_parse(sched_str(task, "Berth.StartAt"));
    else
        start_at = sched_time_parse(sched_str(task, "Status.Timestamp")) +
                   restart_delay_ns(sched_get(task, "Spec"));
    if (now_ns < start_at) {
        *wake_ns = start_at;
        return false;
    }
    const char *wait_id = sched_str(task, "Berth.WaitFor");
    const json_t *old = *wait_id ? find_task(tasks, wait_id) : NULL;
    /* a task never assigned runs nowhere: nothing to wait for */
    if (old && sched_task_state(old) >= SCHED_ST_ASSIGNED && sched_task_state(old) <= SCHED_ST_RUNNING) {
        const json_t *node = sched_find_node(nodes, sched_str(old, "NodeID"));
        bool unreachable = !node || strcmp(sched_str(node, "Status.State"), "down") == 0;
        long long deadline = created_at(task) + RESTART_OLD_TASK_TIMEOUT_NS;
        if (!unreachable && now_ns < deadline) {
            *wake_ns = deadline;
            return false;
        }
    }
    return true;
}

void restart_start(json_t *task, long long now_ns)
{
    bool job = json_is_object(json_object_get(task, "JobIteration"));
    json_object_set_new(task, "DesiredState", json_string(job ? "complete" : "running"));
    json_t *b = json_object_get(task, "Berth");
    if (json_is_object(b)) {
        json_object_del(b, "StartAt");
        json_object_del(b, "WaitFor");
    }
    json_object_set_new(task, "UpdatedAt", sched_time_json(now_ns));
}
