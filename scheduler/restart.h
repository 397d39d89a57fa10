/* The restart supervisor's decisions, as swarmkit's orchestrator/restart.
 *
 * When a task ends (its Status.State passes "running") or its node goes
 * away while it is desired to run, the orchestrator shuts it down and asks
 * here whether to replace it:
 *
 *   - TaskTemplate.RestartPolicy.Condition "none" never restarts,
 *     "on-failure" restarts unless the task completed, "any" (the default)
 *     always restarts, except that a job's completed task is done.
 *   - MaxAttempts > 0 caps the restarts of the slot (of the node, for
 *     global services) under the current spec; with Window > 0 only the
 *     restarts within Window before the task ended count.  The count comes
 *     from the slot's task history: every task of the slot's latest run of
 *     tasks with this spec, except the first, was a restart made when it
 *     was created (what swarmkit rebuilds at start; the task reaper keeps
 *     MaxAttempts + 1 tasks per slot so the history is there).
 *   - The replacement starts after Delay (5s by default; none when the node
 *     is drained), and not before the old task has stopped unless it is
 *     dead already or its node is down (at most a minute).
 *
 * A replacement that has to wait is created in desired state "ready" and
 * says in its private "Berth" member when it may start ("StartAt") and
 * which task it waits for ("WaitFor"); restart_start_due tells when that
 * time has come, from documents only, so a new leader picks it up. */
#ifndef BERTH_SCHEDULER_RESTART_H
#define BERTH_SCHEDULER_RESTART_H

#include <jansson.h>
#include <stdbool.h>

#include "scheduler/common.h"

#define RESTART_DEFAULT_DELAY_NS (5 * SCHED_NS_PER_SEC)
/* How long a replacement waits for the task it replaces to stop. */
#define RESTART_OLD_TASK_TIMEOUT_NS (60 * SCHED_NS_PER_SEC)

typedef enum restart_verdict {
    RESTART_NO,      /* leave the slot as it is */
    RESTART_NOW,     /* create the replacement desired to run at once */
    RESTART_AT,      /* create it in "ready"; it may start at at_ns (and after the old task stopped) */
} restart_verdict;

typedef struct restart_decision {
    restart_verdict verdict;
    long long at_ns;      /* RESTART_AT: earliest start */
    bool wait_old;        /* RESTART_AT: also wait for the old task to stop */
    const char *why;      /* RESTART_NO: "restart condition none", "task completed", "max attempts reached" */
} restart_decision;

/* Whether task (which ended, or whose node is gone) should be replaced
 * under its restart policy.  slot_tasks: the tasks of its slot (same
 * service and Slot, or same NodeID for global modes), task included or
 * not; service: its service (for the mode).  why, if not NULL, gets a
 * static reason when the answer is no. */
bool restart_should(const json_t *service, const json_t *task, const json_t *slot_tasks, const char **why);

/* The whole decision for an ended task: node is the task's node document
 * (NULL if gone), now_ns the decision's clock. */
void restart_decide(const json_t *service, const json_t *task, const json_t *node,
                    const json_t *slot_tasks, long long now_ns, restart_decision *out);

/* For a task in desired state "ready": whether it may be told to run now.
 * tasks: the service's tasks (to find the one it waits for); nodes: all
 * nodes.  When not yet, *wake_ns (if not NULL) gets the time to ask again.
 * A "ready" task without Berth.StartAt (made by another leader or tool)
 * waits RestartPolicy.Delay from its Status.Timestamp, as swarmkit's
 * taskinit does. */
bool restart_start_due(const json_t *task, const json_t *tasks, const json_t *nodes, long long now_ns,
                       long long *wake_ns);

/* Moves a "ready" task on: DesiredState "running" ("complete" for a job's
 * task, which has a JobIteration), Berth.StartAt / WaitFor dropped.
 * Modifies task in place; UpdatedAt = now. */
void restart_start(json_t *task, long long now_ns);

/* RestartPolicy.Delay of a task spec owner (task or TaskTemplate holder):
 * the value in ns, or the 5s default when absent. */
long long restart_delay_ns(const json_t *task_spec);

#endif
