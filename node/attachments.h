/* This node's side of the network attachments of plain containers on
 * attachable overlays (node/attachment_tasks.h has the cluster's): before
 * such a container starts or connects, its node asks for the attachment
 * (its manager, itself on a manager) and waits until its store or its
 * assignments show the task with the address the leader allocated; the
 * runtime then takes that address (rt_attachments).  Removing the
 * container or disconnecting it releases the task, and every scan of the
 * node's tasks (node/agent.c) reports the attachments' states (running
 * with their container, complete without) and releases those whose
 * container is gone or off the network. */
#ifndef BERTH_NODE_ATTACHMENTS_H
#define BERTH_NODE_ATTACHMENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "lib/err.h"
#include "node/events.h"
#include "runtime/container/container.h"

struct berth_daemon;
struct attach_wait;

typedef struct attachments {
    struct berth_daemon *d;
    events_listener listener;   /* container destroys */
    struct attach_wait *waits;  /* attachments asked for, not yet in the store */
    bool on;
} attachments;

void attachments_start(attachments *a, struct berth_daemon *d);
void attachments_stop(attachments *a);

/* What the runtime asks (rt_containers.attachments). */
rt_attachments attachments_hooks(attachments *a);

typedef void (*attachments_done)(void *arg, int status, const berr *e);

/* Whether c, a plain container in a swarm, has endpoints that need the
 * swarm's addresses before it starts (what attachments_prepare gets). */
bool attachments_needed(attachments *a, rt_container *c);

/* Gets container c the swarm's addresses on every network it is to join
 * that is a swarm overlay or that this node does not know (a worker's
 * first container on a network), renaming an endpoint kept under an ID or
 * a prefix to its network's name; done (never before this returns) gets 0
 * at once when there is none. */
void attachments_prepare(attachments *a, rt_container *c, attachments_done done, void *arg);
/* The same for one network ref about to be connected (aliases: the
 * endpoint's, borrowed); done gets the network's ID. */
typedef void (*attachments_net_done)(void *arg, int status, const berr *e, const char *net_id);
void attachments_prepare_one(attachments *a, rt_container *c, const char *ref, json_t *aliases,
                             attachments_net_done done, void *arg);

/* Gives back container_id's attachment to net_id (NULL: all of them). */
void attachments_release(attachments *a, const char *container_id, const char *net_id);

/* The agent's scan: tasks are this node's (borrowed). */
void attachments_scan(attachments *a, json_t *tasks);

#endif
