/* This node's overlay networks follow the cluster store
 * (node/overlay_sync.c): the store's overlay networks mirrored into the
 * network manager, and for each network the endpoints of the other nodes
 * (FDB and ARP entries) and the services on it (embedded DNS, VIP
 * rules).  The store replaces Docker's gossip: after every applied entry
 * that touches networks, services, tasks or nodes, the whole view is
 * computed again and the kernel changed where it differs. */
#ifndef BERTH_NODE_OVERLAY_SYNC_H
#define BERTH_NODE_OVERLAY_SYNC_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

struct berth_daemon;
struct cluster_store;

typedef struct overlay_sync {
    struct berth_daemon *d;
    uv_timer_t timer;            /* coalesces changes to one pass per loop turn */
    bool timer_on;
} overlay_sync;

void overlay_sync_start(overlay_sync *s, struct berth_daemon *d);
void overlay_sync_stop(overlay_sync *s);

/* One pass now (the agent calls it before starting a task on an overlay,
 * so the network is there for its container). */
void overlay_sync_now(struct berth_daemon *d);

/* Whether some service publishes ports through the routing mesh
 * (services: the store's). */
bool overlay_mesh_wanted(const json_t *services);

/* Whether the store has the ingress network: then the routing mesh (this
 * file) owns every node's published ports of services, not the agent's
 * one-node ingress. */
bool overlay_mesh_in_store(struct cluster_store *cs);

/* The container networking of a task attached to overlays: NetworkMode
 * and EndpointsConfig (its addresses from the store, its aliases) set in
 * the create body; a task without attachments is left alone. */
void overlay_task_networking(json_t *body, json_t *task);

#endif
