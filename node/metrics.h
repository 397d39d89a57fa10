/* The metrics-addr listener: GET /metrics in Prometheus text, with
 * dockerd's engine_daemon_* names where berth has the same thing and
 * berth_* names for its own. */
#ifndef BERTH_NODE_METRICS_H
#define BERTH_NODE_METRICS_H

#include "lib/err.h"

struct berth_daemon;
typedef struct metrics_server metrics_server;

/* Listens on d->cfg.metrics_addr (host:port); nothing when it is empty. */
int metrics_start(struct berth_daemon *d, metrics_server **out, berr *e);
void metrics_stop(metrics_server *m);

#endif
