/* Cluster-wide allocation for overlay networks, done from the cluster
 * store's documents: a VXLAN network identifier (VNI) and a subnet for a
 * new network, an address on each of its networks for a task, a virtual
 * IP per network for a service.
 *
 * Pure: the callers (the API on create, the leader's reconciler for
 * tasks) hand in the documents as the store has them and write back what
 * comes out.  The documents are swarmkit's:
 *
 *   network: {ID, Spec {Name, Labels, DriverConfiguration {Name, Options},
 *             IPAMOptions, Internal, Attachable, Ingress},
 *             DriverState {Name "overlay", Options {OVL_VNI_OPTION: "4097"}},
 *             IPAM {Driver {Name "default"}, Configs [{Subnet, Gateway, Range}]}}
 *   task:    NetworksAttachments [{Network {the network}, Addresses ["10.0.1.3/24"]}]
 *   service: Endpoint.VirtualIPs [{NetworkID, Addr "10.0.1.2/24"}]
 */
#ifndef BERTH_NETOVERLAY_OVERLAY_ALLOC_H
#define BERTH_NETOVERLAY_OVERLAY_ALLOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "netoverlay/ipam/ipam.h"

#define OVL_VNI_FIRST 4096u
#define OVL_VNI_LAST 16777215u   /* 24 bits */
#define OVL_VNI_OPTION "com.docker.network.driver.overlay.vxlanid_list"
#define OVL_INGRESS_NAME "ingress"

/* The VNI of a network document, 0 if it has none. */
uint32_t ovl_network_vni(const json_t *net);
/* Its IPv4 subnet and gateway (IPAM.Configs[0]); "" when absent. */
const char *ovl_network_subnet(const json_t *net);
const char *ovl_network_gateway(const json_t *net);
bool ovl_network_is_overlay(const json_t *net);

/* The lowest VNI from OVL_VNI_FIRST that no network in networks has;
 * -ENOSPC when none is left. */
int ovl_pick_vni(const json_t *networks, uint32_t *out, berr *e);

/* A subnet for a new network from the cluster's DefaultAddrPool (CIDRs,
 * default 10.0.0.0/8) in SubnetSize blocks (default 24), overlapping no
 * network in networks.  -ENOSPC as swarmkit says it. */
int ovl_pick_subnet(const json_t *cluster, const json_t *networks, ipam_subnet *out, berr *e);

/* Addresses taken on every overlay network, built from the store. */
typedef struct ovl_alloc ovl_alloc;

/* Reserves gateways, services' VirtualIPs and the addresses of tasks
 * that are not over (a task that ended gives its addresses back).
 * networks/services/tasks are borrowed for the allocator's life. */
ovl_alloc *ovl_alloc_new(const json_t *networks, const json_t *services, const json_t *tasks);
void ovl_alloc_free(ovl_alloc *a);

/* The network document with this ID or name (borrowed), or NULL. */
const json_t *ovl_alloc_network(const ovl_alloc *a, const char *ref);

/* Gives task (edited in place) NetworksAttachments for the networks of
 * its Spec.Networks (by ID; the API resolved names), plus the ingress
 * network when ingress is true (the service publishes ingress ports).
 * A task that has attachments already is left alone.  -ENOENT for a
 * network that is gone, -ENOSPC when a subnet is full. */
int ovl_alloc_task(ovl_alloc *a, json_t *task, bool ingress, berr *e);

/* The Endpoint.VirtualIPs a service should have for the networks of
 * spec (TaskTemplate.Networks, plus ingress when it publishes ingress
 * ports), keeping the addresses of old_vips (the previous version's) for
 * networks it still has; none with EndpointSpec.Mode "dnsrr" except on
 * ingress.  A new array in *out. */
int ovl_alloc_vips(ovl_alloc *a, const json_t *spec, const json_t *old_vips, bool ingress, json_t **out, berr *e);

/* The routing mesh's address of the node at index (its place among the
 * cluster's node IDs in sorted order) on the ingress network: taken from
 * the top of the subnet down, so that it is the same on every node that
 * reads the same store.  -ENOSPC past the subnet's size. */
int ovl_ingress_node_addr(const json_t *net, size_t index, uint32_t *out);
/* Reserves the first n of those on the allocator's ingress network. */
void ovl_alloc_reserve_nodes(ovl_alloc *a, size_t n);

/* Whether a task's state still holds its addresses (a network
 * attachment task's always, unless rejected). */
bool ovl_task_holds_addresses(const json_t *task);

#endif
