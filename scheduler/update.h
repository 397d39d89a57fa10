/* The rolling updater, as swarmkit's orchestrator/update.
 *
 * When a service's TaskTemplate changes (or ForceUpdate is bumped), its
 * slots run outdated tasks ("dirty" slots, see orch_task_dirty).  The
 * updater replaces them Parallelism slots at a time (0: all at once):
 * stop-first shuts the old task down and starts the new one once it
 * stopped; start-first starts the new one and shuts the old one down once
 * the new one runs.  A worker waits for its new task to run (or fail),
 * then Delay, before it takes the next slot.  A new task that fails
 * before it ran for Monitor (5s by default) counts as a failure; once
 * failures / dirty slots exceeds MaxFailureRatio the FailureAction applies:
 * "pause" stops (UpdateStatus "paused"), "rollback" puts PreviousSpec back
 * and rolls that out with RollbackConfig (a rollback that fails pauses,
 * "rollback_paused"), "continue" carries on.  When no slot is dirty any
 * more the update completes after one more monitoring period.
 *
 * Service.UpdateStatus is what `docker service inspect` shows:
 *   {"State": "updating", "StartedAt": ..., "Message": "update in progress"}
 *   "paused" / "update paused due to failure or early termination of task <id>"
 *   "rollback_started" / "update rolled back due to failure or early termination of task <id>"
 *   "rollback_paused" / "rollback paused due to failure or early termination of task <id>"
 *   "completed" / "update completed", "rollback_completed" / "rollback completed",
 *   with CompletedAt.
 *
 * The updater runs inside orch_reconcile (stage 3).  What it must remember
 * between calls (the tasks it started, when they came up, the failures
 * seen) lives in an update_state the driver keeps; like swarmkit's
 * in-memory updaters it starts afresh on a new leader.  Without one, each
 * call acts as a fresh updater: no pacing across calls, no failure
 * counting. */
#ifndef BERTH_SCHEDULER_UPDATE_H
#define BERTH_SCHEDULER_UPDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "scheduler/common.h"
#include "scheduler/orchestrator.h"

/* The updates' memory, one entry per service being updated.  Owned by the
 * driver; free with update_state_free. */
update_state *update_state_new(void);
void update_state_free(update_state *s);
/* Forget a service (deleted, or this member stopped leading). */
void update_state_forget(update_state *s, const char *service_id);

/* UpdateConfig (or RollbackConfig) with swarmkit's defaults filled in:
 * no config at all means parallelism 1, failure action pause, monitor 5s,
 * stop-first. */
typedef struct update_config {
    long long parallelism;      /* 0: every dirty slot at once */
    long long delay_ns;
    char failure_action[16];    /* "pause", "continue", "rollback" */
    long long monitor_ns;
    double max_failure_ratio;
    bool start_first;
} update_config;
void update_config_read(const json_t *service, bool rollback, update_config *out);

/* What a plan saw and did (for tests and logs). */
typedef struct update_report {
    size_t dirty;         /* slots running an outdated spec */
    size_t in_flight;     /* slots whose new task this update is still starting */
    size_t dispatched;    /* slots this call began to replace */
    int failures;         /* failures counted in the current update */
    char state[24];       /* UpdateStatus.State afterwards, "" if none */
} update_report;

/* The updater alone over a service's tasks (orch_reconcile runs it with
 * the slots it keeps after sizing; here every slot desired to run is
 * considered).  report may be NULL. */
int update_plan(const json_t *service, const json_t *tasks, const json_t *nodes, const orch_opts *o,
                sched_changes *out, update_report *report, berr *e);

/* The service document after `docker service update` (what swarmkit's
 * controlapi does): PreviousSpec = the old Spec, Spec = new_spec,
 * UpdateStatus cleared (so the next update starts afresh), and for jobs
 * JobStatus.JobIteration.Index + 1 and LastExecution = now.  A new
 * reference; UpdatedAt = now. */
json_t *update_service_apply_spec(const json_t *service, const json_t *new_spec, long long now_ns);

/* `docker service rollback` (update with rollback=previous): Spec and
 * PreviousSpec swap, UpdateStatus "rollback_started" / "manually requested
 * rollback".  -EINVAL "service <id> does not have a previous spec" when
 * there is none. */
int update_service_rollback(const json_t *service, long long now_ns, json_t **out, berr *e);

#endif
