/* Local networks: the default bridge, user-defined bridge networks and the
 * predefined host and none networks, with the endpoints of the containers
 * running on them.
 *
 * A network is a row in the local store (its inspect document) plus, for
 * the bridge driver, a bridge device and an address pool.  An endpoint is
 * one running container's attachment to one network: an address from the
 * pool, a veth pair, DNS names.  Endpoints live only while their container
 * runs; what a container asked for (NetworkingConfig) and what it got last
 * (its address, kept to be asked for again) stays in the container's own
 * document.  The nftables table is regenerated from networks and published
 * ports whenever they change (netoverlay/nft.h).
 *
 * Everything runs on the loop thread. */
#ifndef BERTH_NETOVERLAY_NETWORKS_H
#define BERTH_NETOVERLAY_NETWORKS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/timefmt.h"
#include "netoverlay/ipam/ipam.h"
#include "netoverlay/ipam/ipam6.h"
#include "lib/event_sink.h"

typedef struct net_config {
    const char *bridge;       /* -b/--bridge: the default bridge's device ("" docker0, "none": no default bridge) */
    const char *bip;          /* --bip "a.b.c.d/len": the default bridge's address */
    const char *fixed_cidr;   /* --fixed-cidr: the default bridge's --ip-range */
    const ipam_default_pool *pools;  /* --default-address-pool (NULL: Docker's) */
    size_t n_pools;
    bool icc;                 /* --icc on the default bridge */
    bool ip_masq;             /* --ip-masq */
    bool iptables;            /* --iptables: berth's nftables rules */
    bool ip_forward;          /* --ip-forward: set net.ipv4.ip_forward */
    const char *default_ip;   /* --ip: default host address of published ports ("0.0.0.0") */
    int mtu;                  /* --mtu (0: 1500) */
    bool ipv6;                /* --ipv6: the default bridge is dual-stack */
    const char *bip6;         /* --bip6 "addr/len": the default bridge's IPv6 address */
    const char *fixed_cidr_v6;/* --fixed-cidr-v6: its IPv6 subnet (or, with bip6, its range) */
    bool ip6tables;           /* --ip6tables: the ip6 half of berth's nftables rules */
    const ipam6_default_pool *pools6;  /* IPv6 --default-address-pools (NULL: the ULA pool of host_id) */
    size_t n_pools6;
    const char *host_id;      /* the engine ID, which the ULA pool is derived from as dockerd does */
} net_config;

struct net_endpoint;
struct net_sandbox;
struct net_overlay;

typedef struct net_network {
    char id[65];
    char name[256];
    char created[TIME_RFC3339_BUF];
    char driver[16];           /* "bridge", "host", "null" */
    char bridge[16];           /* device, bridge driver only */
    bool internal, attachable, icc, masquerade, predefined, user_subnet;
    int mtu;
    char subnet[IPAM_CIDR_BUF], ip_range[IPAM_CIDR_BUF], gateway[IPAM_ADDR_BUF];
    char host_binding[IPAM_ADDR_BUF]; /* com.docker.network.bridge.host_binding_ipv4 */
    ipam_pool pool;
    /* IPv6 (EnableIPv6): a second subnet beside the IPv4 one, dual stack. */
    bool ipv6, user_subnet6;
    char subnet6[IPAM6_CIDR_BUF], ip_range6[IPAM6_CIDR_BUF], gateway6[IPAM6_ADDR_BUF];
    ipam6_pool pool6;
    json_t *labels, *options;  /* owned */
    json_t *aux_addresses;     /* IPAM AuxiliaryAddresses: name -> address, reserved in the pool; owned or NULL */
    struct net_endpoint *endpoints;
    struct net_overlay *ov;    /* driver "overlay": mirrored from the cluster store (netoverlay/overlay.h) */
} net_network;

/* What one service publishes through this node's ingress: its ports and
 * the addresses of its tasks running here (netoverlay/ingress.c). */
typedef struct net_ingress_port {
    char proto[5];
    uint16_t published, target;
    int fd;                    /* the host port held, -1 */
} net_ingress_port;

typedef struct net_ingress {
    struct net_ingress *next;
    char service_id[64];
    net_ingress_port *ports;
    size_t n_ports;
    char (*backends)[IPAM_ADDR_BUF];
    size_t n_backends;
} net_ingress;

typedef struct net_manager {
    uv_loop_t *loop;
    sqlite3 *db;
    net_config cfg;            /* strings copied */
    rt_event_sink events;
    struct netlink *nl;        /* the daemon's namespace */
    net_network **nets;
    size_t n_nets;
    struct net_sandbox *sandboxes;
    net_ingress *ingress;
    char *applied_rules;       /* the ruleset last given to nft */
    /* Containers are left running (live restore): close keeps the rules,
     * so their published ports and masquerading work while berthd is
     * down; the next start replaces the table. */
    bool keep_rules;
    ipam6_default_pool ula;    /* the IPv6 pool when cfg has none (from cfg.host_id) */
    char vtep[IPAM_ADDR_BUF];  /* this node's overlay data path address ("" outside a swarm) */
    uint16_t vxlan_port;       /* the cluster's data path port */
} net_manager;

int net_manager_open(net_manager *nm, uv_loop_t *loop, sqlite3 *db, const net_config *cfg, rt_event_sink events,
                     berr *e);
/* Removes berth's rules unless keep_rules (bridges stay, as dockerd leaves its own). */
void net_manager_close(net_manager *nm);

/* By full ID, exact name, then unique ID prefix.  -ENOENT "network X not found". */
int net_network_find(net_manager *nm, const char *ref, net_network **out, berr *e);

/* POST /networks/create: req is the request body; *id gets the new ID. */
int net_network_create(net_manager *nm, json_t *req, char id[65], berr *e);
/* -EPERM for predefined networks, -EBUSY while containers run on it. */
int net_network_remove(net_manager *nm, net_network *n, berr *e);
/* The document of GET /networks/{id} (with Containers). */
json_t *net_network_inspect(net_manager *nm, net_network *n);
bool net_network_in_use(const net_network *n);
/* bridge, host and none are built in; "custom" is everything else. */
bool net_network_is_user(const net_network *n);

/* com.docker.network.driver.mtu: 68..65535, -EINVAL otherwise. */
int net_parse_mtu(const char *s, int *out, berr *e);

/* "local", or "swarm" for overlay networks. */
const char *net_network_scope(const net_network *n);

/* For netoverlay/overlay.c, which mirrors the store's networks: adds n
 * (owned from now on) to the manager, drops one (freed), frees one never
 * added; the bridge device with n's gateway, up. */
void net_network_adopt(net_manager *nm, net_network *n);
void net_network_drop(net_manager *nm, net_network *n);
void net_network_free(net_network *n);
int net_bridge_up(net_manager *nm, net_network *n, berr *e);

/* The ingress of one node: sets what service_id publishes (Ports of its
 * Endpoint, ingress mode) and the addresses of its tasks running here
 * (backends, n), holding the host ports; an empty ports array drops the
 * service.  Then the rules follow. */
int net_ingress_set(net_manager *nm, const char *service_id, json_t *ports, const char *const *backends, size_t n,
                    berr *e);
/* Drops every service not in keep (an array of IDs). */
void net_ingress_retain(net_manager *nm, json_t *keep);

/* Rewrites the nftables table if networks or published ports changed. */
int net_rules_sync(net_manager *nm, berr *e);

#endif
