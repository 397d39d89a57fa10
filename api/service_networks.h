/* A service's overlay networks and VIPs (api/service_networks.c). */
#ifndef BERTH_API_SERVICE_NETWORKS_H
#define BERTH_API_SERVICE_NETWORKS_H

#include <jansson.h>

#include "lib/err.h"
#include "netoverlay/networks.h"
#include "raft/cluster_store.h"

/* Resolves spec's TaskTemplate.Networks (edited: Target becomes the
 * network's ID) and sets endpoint's VirtualIPs: one per network and on
 * ingress when it publishes ports there, keeping old_endpoint's, none
 * under dnsrr.  -ENOENT "network X not found", -EINVAL for a local
 * network or the ingress named explicitly. */
int svc_networks_resolve(cluster_store *cs, net_manager *nm, json_t *spec, const json_t *old_endpoint, json_t *endpoint,
                         berr *e);

#endif
