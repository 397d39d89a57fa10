/* The agent of this node: assigned tasks -> containers -> task states
 * (node/agent.c).  Part of the daemon context. */
#ifndef BERTH_NODE_AGENT_H
#define BERTH_NODE_AGENT_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "node/events.h"

struct berth_daemon;

typedef struct agent {
    struct berth_daemon *d;
    uv_timer_t timer;            /* coalesces rescans to one per loop turn */
    bool timer_on;
    events_listener listener;    /* container exits */
    json_t *batch;               /* task reports waiting for the end of a scan */
    bool scanning;
    struct agent_pull *pulls;    /* images being pulled for tasks (node/agent_pull.c) */
} agent;

/* Starts following the swarm's store (when it becomes active) and the
 * daemon's container events.  d->swarm may still be pending. */
void agent_start(agent *a, struct berth_daemon *d);
/* Looks at this node's tasks again, soon (once per loop turn). */
void agent_rescan(agent *a);
/* Stops listening; the timer handle is closed (the loop must run once). */
void agent_stop(agent *a);

#endif
