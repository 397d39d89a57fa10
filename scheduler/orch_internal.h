/* Internals shared by orchestrator.c, orch_jobs.c, orch_history.c and
 * update.c: the working set one orch_reconcile call edits.  Not for other
 * modules. */
#ifndef BERTH_SCHEDULER_ORCH_INTERNAL_H
#define BERTH_SCHEDULER_ORCH_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "scheduler/common.h"
#include "scheduler/orchestrator.h"

/* Copies of the service's tasks that the stages edit in place; whatever a
 * stage changes is recorded in out, and later stages see it. */
typedef struct orch_work {
    const json_t *service;
    const json_t *nodes;
    const orch_opts *o;
    sched_changes *out;
    orch_mode mode;
    json_t *tasks;        /* array of working copies, new tasks appended */
} orch_work;

void orch_work_init(orch_work *w, const json_t *service, const json_t *tasks, const json_t *nodes,
                    const orch_opts *o, sched_changes *out);
void orch_work_free(orch_work *w);

/* Raises the task's DesiredState to state (never lowers it); true if it
 * changed. */
bool orch_work_set_desired(orch_work *w, json_t *task, const char *state);
/* Adds a new task (reference stolen). */
void orch_work_create(orch_work *w, json_t *task);
void orch_work_delete(orch_work *w, json_t *task);
/* Records an in-place edit of task. */
void orch_work_touch(orch_work *w, json_t *task);

/* The slot key of a task: its Slot for replicated modes, its NodeID for
 * global ones.  Tasks share a slot when their keys are equal. */
void orch_slot_key(orch_mode mode, const json_t *task, char *out, size_t len);
/* The working tasks in the slot of task (a new array of borrowed
 * references). */
json_t *orch_work_slot(orch_work *w, const json_t *task);
/* The working tasks grouped by slot: object key -> array. */
json_t *orch_work_slots(orch_work *w);
/* swarmkit's UpdatableTasksInSlot: the tasks desired to run, or the newest
 * task alone when none is and it should not be restarted; NULL for a dead
 * slot.  A new array. */
json_t *orch_updatable(orch_work *w, json_t *slot);

/* Shuts task down and replaces it per its restart policy. */
void orch_restart(orch_work *w, json_t *task);

/* orch_jobs.c */
void orch_reconcile_replicated_job(orch_work *w);
void orch_reconcile_global_job(orch_work *w);

/* orch_history.c: stage 5. */
void orch_history(orch_work *w);

/* update.c: the rolling updater over slots (arrays of working tasks);
 * report may be NULL. */
struct update_report;
void update_run(orch_work *w, json_t *slots, struct update_report *report);

#endif
