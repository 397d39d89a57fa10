/* Which worker nodes are alive, as the leader judges it: the deadlines of
 * the dispatcher's heartbeats (node/dispatcher.c), kept pure (times are
 * passed in, in milliseconds of one monotonic clock) so the state machine
 * is tested without a loop or a network.
 *
 * Every manager's dispatcher sees the heartbeats of the workers whose
 * session it holds and tells the leader how long ago it last heard each;
 * the leader keeps the latest of them per node.  A node is Down once
 * nothing was heard from it for the grace period (SwarmKit's three
 * heartbeat periods), counted from the later of its last heartbeat and the
 * start of this leader's term: a new leader does not mark every node
 * Unknown as SwarmKit does, it gives each one a full grace period in which
 * the other managers' reports of recent heartbeats arrive. */
#ifndef BERTH_NODE_DISPATCHER_HEALTH_H
#define BERTH_NODE_DISPATCHER_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* SwarmKit's GracePeriodMultiplier. */
#define HEALTH_GRACE_MULTIPLIER 3

typedef struct disp_health disp_health;

typedef enum health_verdict {
    HEALTH_KEEP,        /* its recorded state is right */
    HEALTH_MARK_DOWN,   /* recorded ready, silent past the grace period */
    HEALTH_MARK_READY,  /* recorded down (or unknown), heard from again */
} health_verdict;

disp_health *health_new(void);
void health_free(disp_health *h);

/* This manager became leader at now: deadlines count from there at least. */
void health_lead_start(disp_health *h, uint64_t now);
/* A heartbeat of node at time at (an older report never moves it back). */
void health_seen(disp_health *h, const char *node, uint64_t at);
void health_forget(disp_health *h, const char *node);
/* When node was last heard from (0: never, in this term's records). */
uint64_t health_last_seen(const disp_health *h, const char *node);

/* What to do with a worker's node document (its Status.State) at now. */
health_verdict health_judge(const disp_health *h, json_t *node, uint64_t now, uint64_t grace_ms);
/* The same from the node's ID and recorded Status.State alone. */
health_verdict health_judge_state(const disp_health *h, const char *id, const char *state, uint64_t now,
                                  uint64_t grace_ms);

#endif
