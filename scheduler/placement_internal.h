/* Internals shared by placement.c (filters, node accounting) and spread.c
 * (the preference tree and the walk over nodes).  Not for other modules. */
#ifndef BERTH_SCHEDULER_PLACEMENT_INTERNAL_H
#define BERTH_SCHEDULER_PLACEMENT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "scheduler/common.h"
#include "scheduler/constraints.h"

/* A node as the scheduler sees it during one pass (swarmkit's NodeInfo). */
typedef struct nodeinfo {
    const json_t *node;   /* borrowed */
    const char *id;
    long long cpu, mem;   /* Description.Resources minus reservations of its tasks */
    int active;           /* its tasks desired to run (or complete) */
    json_t *by_service;   /* service ID -> number of such tasks */
    json_t *ports;        /* "tcp/8080" -> true: host ports in use */
    int failures;         /* recent failures of the group being placed */
} nodeinfo;

/* The filters set up for one task (swarmkit's Pipeline). */
typedef struct pipeline {
    const json_t *task;
    const char *service_id;
    bool enabled[6];
    int fail[6];
    long long cpu, mem;
    sched_constraints cons;
    const json_t *platforms;
    const json_t *ports;
    long long max_replicas;
} pipeline;

typedef struct place_ctx {
    long long now;
    nodeinfo *nodes;      /* sorted by ID */
    size_t n;
    json_t *ports_by_service;
    pipeline p;
} place_ctx;

/* Pending tasks of one service and spec, placed together. */
typedef struct task_group {
    const json_t **tasks;
    bool *done;
    size_t n;
} task_group;

void sched_place_pipeline_set(place_ctx *pc, const json_t *task);
void sched_place_pipeline_clear(pipeline *p);
bool sched_place_process(pipeline *p, const nodeinfo *ni);
char *sched_place_explain(const pipeline *p);
bool sched_place_node_less(const place_ctx *pc, const nodeinfo *a, const nodeinfo *b);
int sched_place_node_count(const nodeinfo *ni, const char *service_id);
void sched_place_node_add(place_ctx *pc, nodeinfo *ni, const json_t *task);
void sched_place_assign(place_ctx *pc, const json_t *task, nodeinfo *ni, const char *msg, sched_changes *out);

/* spread.c: places the group's tasks over the preference tree; sets
 * g->done[i] for each task placed. */
void sched_place_spread(place_ctx *pc, task_group *g, const json_t *preferences, sched_changes *out);

#endif
