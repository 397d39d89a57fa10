/* Docker's "service" and "node" events, from the changes the cluster
 * store applies (so they come from every write, whoever proposed it). */
#ifndef BERTH_NODE_CLUSTER_EVENTS_H
#define BERTH_NODE_CLUSTER_EVENTS_H

#include <jansson.h>

struct berth_daemon;

typedef struct cluster_events {
    struct berth_daemon *d;
    json_t *names;      /* "service/<id>", "node/<id>" -> name: known objects */
} cluster_events;

void cluster_events_start(cluster_events *ce, struct berth_daemon *d);
void cluster_events_stop(cluster_events *ce);

#endif
