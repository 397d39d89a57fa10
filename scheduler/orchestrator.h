/* The orchestrators: one service's spec -> the tasks that should exist, as
 * swarmkit's orchestrator/replicated, global, jobs, restart, update and
 * taskreaper together.
 *
 * orch_reconcile is the one call the driver makes per service, on every
 * change to the service, its tasks or the nodes, and again at
 * out->wake_ns when it asks.  It is level-triggered: it looks at the
 * documents as they are and says what to write; calling it twice on the
 * same documents writes nothing the second time.  In order it
 *
 *   1. sizes the service: replicated: Replicas slots numbered 1..N (a new
 *      task takes the lowest free slot; scaling down removes the slots on
 *      the most loaded nodes first, tasks not running first, then the
 *      highest slot numbers: their tasks get desired state "remove");
 *      global: one task per node that is not drained or down and meets
 *      the constraints (paused nodes keep what they have, get nothing new),
 *      tasks elsewhere are shut down; replicated-job: up to MaxConcurrent
 *      tasks at a time until TotalCompletions completed, slots 0..Total-1;
 *      global-job: one task per ready, active node meeting the constraints;
 *      tasks of an earlier JobIteration are removed;
 *   2. restarts: a task desired to run that ended, or whose node is gone,
 *      down or drained, is shut down and replaced per its restart policy
 *      (restart.h);
 *   3. rolls out spec changes with the rolling updater (update.h);
 *   4. starts replacements whose wait is over (desired "ready" -> "running");
 *   5. deletes history: per slot (per node for global) the oldest ended
 *      tasks beyond TaskHistoryRetentionLimit (MaxAttempts + 1 when the
 *      restart policy caps attempts), and tasks desired "remove" once they
 *      stopped or if they never ran.
 *
 * New tasks are Docker-shaped: ID, CreatedAt, UpdatedAt, Labels {}, Spec
 * (a copy of TaskTemplate), ServiceID, Slot (replicated modes), NodeID
 * (global modes), Status {Timestamp, State "new", Message "created"},
 * DesiredState "running" ("complete" for jobs, "ready" while waiting to
 * start), JobIteration (jobs), and the private "Berth" member.  The driver
 * (or an allocator) moves them from "new" to "pending" for the scheduler.
 *
 * Everything here is pure: see common.h. */
#ifndef BERTH_SCHEDULER_ORCHESTRATOR_H
#define BERTH_SCHEDULER_ORCHESTRATOR_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"
#include "scheduler/common.h"

typedef struct update_state update_state;

/* Docker's default TaskHistoryRetentionLimit. */
#define ORCH_DEFAULT_HISTORY 5

typedef struct orch_opts {
    long long now_ns;          /* the decision's clock */
    sched_id_fn new_id;        /* makes task IDs (required when tasks are created) */
    void *id_arg;
    long long history_limit;   /* the cluster's Orchestration.TaskHistoryRetentionLimit; < 0 keeps all */
    update_state *updates;     /* the rolling updates' memory (update.h), kept by the driver; NULL: none */
} orch_opts;

typedef enum orch_mode {
    ORCH_REPLICATED,
    ORCH_GLOBAL,
    ORCH_REPLICATED_JOB,
    ORCH_GLOBAL_JOB,
} orch_mode;

/* The service's mode; a spec without Mode is replicated (as dockerd
 * converts it). */
orch_mode orch_service_mode(const json_t *service);
/* Replicas (1 when absent); for a replicated job, TotalCompletions
 * (MaxConcurrent when absent) and MaxConcurrent (1 when absent). */
long long orch_replicas(const json_t *service);
void orch_job_counts(const json_t *service, long long *total, long long *max_concurrent);

/* A new task for slot (0 for none) or node_id (NULL for none), as
 * swarmkit's NewTask.  A new reference. */
json_t *orch_new_task(const json_t *service, long long slot, const char *node_id, const orch_opts *o);

/* What swarmkit's allocator does once a new task's networks are
 * allocated: Status {State "pending", Message "pending task scheduling"},
 * the scheduler's input.  Edits task in place (UpdatedAt = now); false,
 * leaving it alone, unless it is "new" and still desired to run. */
bool orch_task_pending(json_t *task, long long now_ns);

/* "<service>.<slot>.<taskid>", or "<service>.<nodeid>.<taskid>" for a task
 * without a slot (swarmkit's naming.Task): the container name.  Free it. */
char *orch_task_name(const char *service_name, const json_t *task);

/* Whether the task runs an outdated spec: its Spec differs from the
 * service's TaskTemplate (ForceUpdate included), or the endpoint spec it
 * was made for differs; a change of placement constraints alone does not
 * count while node still satisfies them. */
bool orch_task_dirty(const json_t *service, const json_t *task, const json_t *node);

/* The driver's call (see above).  tasks: the service's tasks; nodes: all
 * nodes.  -EINVAL for a service without ID or with an unknown mode. */
int orch_reconcile(const json_t *service, const json_t *tasks, const json_t *nodes, const orch_opts *o,
                   sched_changes *out, berr *e);

/* The service was deleted: every task of it gets desired state "remove"
 * (never lowering a desired state), as swarmkit's SetServiceTasksRemove. */
void orch_service_removed(const json_t *tasks, const orch_opts *o, sched_changes *out);

/* The task reaper for tasks no service looks after any more (call it on
 * all tasks): deletes tasks desired "remove" that stopped or never got to
 * a node, and orphaned tasks without a service. */
void orch_reap(const json_t *tasks, sched_changes *out);

#endif
