/* Overlay networks on one node: the cluster store's overlay networks
 * mirrored as net_networks of driver "overlay", and their data path.
 *
 * A node programs a network when it first has an endpoint on it (a task
 * or an attached container) and removes it after the last one: a bridge
 * "ov-<vni>" with the network's gateway, and a VXLAN device "vx-<vni>"
 * (the network's VNI, the node's data path address and port) enslaved to
 * it.  The other nodes' endpoints come from the store, never from
 * gossip: each is a static FDB entry (its MAC -> its node's address) and
 * a permanent ARP entry on the VXLAN device, which answers the local
 * containers' ARP requests itself (proxy) so nothing is flooded.
 *
 * Isolation: the bridge lives in the daemon's namespace next to the
 * bridge networks, so the nftables forward rules that keep bridge
 * networks apart (netoverlay/nft.c) keep overlays apart from each other
 * and from bridges, and --internal drops everything routed in or out.
 * Frames between containers of one overlay are bridged, never routed.
 *
 * The view of services on each network (their VIPs and running tasks)
 * serves the embedded DNS and the VIP rules (netoverlay/vip.c). */
#ifndef BERTH_NETOVERLAY_OVERLAY_H
#define BERTH_NETOVERLAY_OVERLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "netoverlay/networks.h"

/* An endpoint on another node. */
typedef struct net_peer {
    uint32_t ip;
    uint32_t vtep;        /* its node's data path address */
    char name[160];       /* its container's name ("web.1.<task id>"), "" if none */
} net_peer;

/* A service with tasks (or a VIP) on one network. */
typedef struct net_svc {
    char name[64];
    json_t *aliases;      /* strings, owned; may be NULL */
    uint32_t vip;         /* 0: none (dnsrr) */
    uint32_t *backends;   /* the addresses of its running tasks, owned */
    size_t n_backends;
} net_svc;

typedef struct net_overlay {
    uint32_t vni;
    bool ingress;
    bool up;              /* the bridge and VXLAN device exist */
    bool gone;            /* no longer in the store: dropped with its last endpoint */
    char vxlan[16];
    net_peer *peers;      /* wanted */
    size_t n_peers;
    net_peer *applied;    /* in the kernel (while up) */
    size_t n_applied;
    net_svc *svcs;
    size_t n_svcs;
    /* The ingress network of the routing mesh: kept up while any service
     * publishes through it, endpoints or not, with this node's own
     * address on the bridge (the source of what it forwards to tasks on
     * other nodes, so their answers come back here). */
    bool pinned;
    uint32_t node_addr;
    uint32_t addr_applied;   /* node_addr as on the bridge */
} net_overlay;

/* This node's data path: its VTEP address (the advertise or data path
 * address) and the cluster's data path port. */
void net_overlay_set_local(net_manager *nm, const char *vtep, uint16_t port);

/* Mirrors the store's overlay network documents (an array; other
 * drivers are skipped): new ones appear in nm->nets, changed ones are
 * updated, missing ones go (after their last endpoint). */
void net_overlay_set_networks(net_manager *nm, json_t *docs);

/* Replaces n's view of remote endpoints and services (the arrays and
 * what they hold become n's) and brings the kernel and the VIP rules of
 * the containers on n in line with it. */
void net_overlay_set_view(net_manager *nm, net_network *n, net_peer *peers, size_t n_peers, net_svc *svcs,
                          size_t n_svcs);

/* The routing mesh's part of n's view: this node's address on it (0:
 * none) and whether it must be up without endpoints. */
void net_overlay_set_mesh(net_manager *nm, net_network *n, uint32_t node_addr, bool pinned);

/* The ingress network when it is up here with this node's address
 * (the routing mesh can forward), else NULL. */
net_network *net_overlay_mesh(net_manager *nm);

/* Called by the sandbox around endpoints: up before the first, down
 * after the last. */
int net_overlay_up(net_manager *nm, net_network *n, berr *e);
void net_overlay_down(net_manager *nm, net_network *n);

/* Frees n->ov (devices are the caller's business). */
void net_overlay_free(net_overlay *ov);

/* DNS on an overlay: service names and aliases (the VIP, or under dnsrr
 * the tasks' addresses), "tasks.<service>" (every running task) and the
 * containers of other nodes by name.  Adds to out[*count] up to max. */
void net_overlay_lookup_a(const net_network *n, const char *name, struct in_addr *out, size_t *count, size_t max);
bool net_overlay_lookup_ptr(const net_network *n, uint32_t ip, char *name, size_t cap);

/* The Peers member of network inspect: this node and every node with an
 * endpoint on n ({Name, IP}); NULL when n is not up here. */
json_t *net_overlay_peers_json(net_manager *nm, const net_network *n, const char *self_name);

/* "02:42:" then the four bytes of the address: the MAC every node
 * derives for an endpoint from its address alone. */
void net_overlay_mac(uint32_t ip, uint8_t mac[6]);

#endif
