/* Overlay networks in the cluster store (api/networks_swarm.c), for the
 * /networks handlers of api/networks.c. */
#ifndef BERTH_API_NETWORKS_SWARM_H
#define BERTH_API_NETWORKS_SWARM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "netoverlay/networks.h"

/* The create request asks for an overlay network. */
bool api_network_wants_overlay(json_t *body);
/* POST /networks/create for an overlay (req borrowed); replies. */
void api_overlay_network_create(api_request *r, json_t *req);
/* DELETE /networks/{id} of an overlay; replies. */
void api_overlay_network_remove(api_request *r, net_network *n);
/* Brings this node's mirror of the store's networks up to date now
 * (the store's watcher would, a turn of the loop later). */
void api_overlay_mirror(api_request *r);
/* The swarmkit Network document for a create request (ipam_config
 * borrowed). */
json_t *api_overlay_network_doc(const char *id, const char *now, json_t *req, json_t *ipam_config, uint32_t vni);

#endif
