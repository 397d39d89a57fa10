/* Shared vocabulary of the scheduler/ decisions: task states in swarmkit's
 * order, times as the documents spell them, small JSON readers, and the
 * change set every decision function fills.
 *
 * Everything in scheduler/ is pure: documents in (the JSON the Docker
 * Engine API shows for Service, Task and Node), decisions out.  No I/O, no
 * clocks (the caller passes "now"), no timers (a decision that has to wait
 * says until when), no randomness (the caller passes an ID generator).  The
 * driver on the leader reads the store, calls these functions and proposes
 * what they return.
 *
 * Documents may carry one private member, "Berth", that the API never
 * shows (see node/swarm.h); tasks made here keep in it what swarmkit keeps
 * in fields Docker does not print: the endpoint spec the task was made
 * for and when a task waiting in desired state "ready" may start. */
#ifndef BERTH_SCHEDULER_COMMON_H
#define BERTH_SCHEDULER_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "raft/cluster_store.h"

#define SCHED_NS_PER_SEC 1000000000LL

/* Task states, valued as swarmkit's TaskState so that "later" is "greater"
 * (Docker has "allocated"; swarmkit never uses it: it sits in the gap). */
enum {
    SCHED_ST_NEW = 0,
    SCHED_ST_PENDING = 64,
    SCHED_ST_ALLOCATED = 128,
    SCHED_ST_ASSIGNED = 192,
    SCHED_ST_ACCEPTED = 256,
    SCHED_ST_PREPARING = 320,
    SCHED_ST_READY = 384,
    SCHED_ST_STARTING = 448,
    SCHED_ST_RUNNING = 512,
    SCHED_ST_COMPLETE = 576,
    SCHED_ST_SHUTDOWN = 640,
    SCHED_ST_FAILED = 704,
    SCHED_ST_REJECTED = 768,
    SCHED_ST_REMOVE = 800,
    SCHED_ST_ORPHANED = 832,
};

/* "running" -> SCHED_ST_RUNNING; NULL or unknown -> SCHED_ST_NEW. */
int sched_state_rank(const char *name);
/* The task's Status.State and DesiredState as ranks. */
int sched_task_state(const json_t *task);
int sched_task_desired(const json_t *task);

/* Times: documents write RFC 3339 with nanoseconds; decisions count
 * nanoseconds since the epoch.  0 for a missing or unreadable time. */
long long sched_time_parse(const char *s);
/* out must hold 40 bytes: "2024-01-02T03:04:05.123456789Z". */
void sched_time_format(long long ns, char out[40]);
/* A new JSON string for ns. */
json_t *sched_time_json(long long ns);

/* Readers that tolerate missing members.  path is dotted
 * ("Spec.Resources.Reservations.NanoCPUs"). */
json_t *sched_get(const json_t *doc, const char *path);
const char *sched_str(const json_t *doc, const char *path);   /* "" if absent */
long long sched_int(const json_t *doc, const char *path, long long dflt);
bool sched_has(const json_t *doc, const char *path);

/* Node validity as the orchestrators see it: a node that is gone, down or
 * drained cannot keep tasks. */
bool sched_node_invalid(const json_t *node);
/* The node with that ID in nodes (an array), or NULL (borrowed). */
const json_t *sched_find_node(const json_t *nodes, const char *id);

/* Makes task IDs: in the daemon a wrapper around cs_new_id, in tests a
 * counter. */
typedef void (*sched_id_fn)(void *arg, char out[26]);

/* ---- change sets ---------------------------------------------------------- */

/* What a decision wants written.  Documents are owned by the set; the
 * driver proposes them (sched_changes_ops) and frees the set. */
typedef struct sched_changes {
    json_t *created;     /* array: new task documents */
    json_t *updated;     /* object: task ID -> whole new task document */
    json_t *deleted;     /* array of task IDs to delete */
    json_t *service;     /* the whole new service document, or NULL */
    long long wake_ns;   /* 0, or the time the caller should decide again */
} sched_changes;

void sched_changes_init(sched_changes *c);
void sched_changes_free(sched_changes *c);
bool sched_changes_empty(const sched_changes *c);
/* Asks to be called again at ns (keeps the earliest). */
void sched_changes_wake(sched_changes *c, long long ns);
/* Records doc (a task, new reference taken) as updated. */
void sched_changes_update(sched_changes *c, json_t *task);
void sched_changes_delete(sched_changes *c, const char *task_id);

/* The set as store operations: created tasks with if_version 0, updated
 * tasks and the service conditioned on the Version.Index they were read at
 * (so a concurrent write by an agent makes the proposal fail with -EAGAIN
 * and the driver decides again), deletions unconditional.  *ops is a new
 * array (free() it) whose docs are borrowed from c. */
void sched_changes_ops(const sched_changes *c, cs_op **ops, size_t *n);

#endif
