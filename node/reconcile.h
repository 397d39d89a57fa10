/* The leader's loop: after every change to the cluster store (and when a
 * decision asked to be woken), run the orchestrators and the scheduler of
 * scheduler/ over the whole cluster and propose what they decide, as one
 * raft entry.  Only one proposal is in flight at a time; a change that
 * arrives meanwhile, or a proposal refused because an agent changed a task
 * under it, makes another pass. */
#ifndef BERTH_NODE_RECONCILE_H
#define BERTH_NODE_RECONCILE_H

#include <stdbool.h>
#include <uv.h>

struct berth_daemon;
struct update_state;

typedef struct reconciler {
    struct berth_daemon *d;
    uv_timer_t kick;               /* coalesces passes to one per loop turn */
    uv_timer_t wake;               /* a decision's "call me again at" */
    bool timers_on;
    bool busy;                     /* a proposal is in flight */
    bool again;                    /* something changed while busy */
    struct update_state *updates;  /* the rolling updates' memory */
} reconciler;

void reconciler_start(reconciler *r, struct berth_daemon *d);
/* Closes the timers (the loop must run once more). */
void reconciler_stop(reconciler *r);

#endif
