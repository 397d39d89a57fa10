/* Links, addresses and routes through rtnetlink (libnl-route-3).
 *
 * A handle is a netlink socket bound to one network namespace: the
 * daemon's own (bridges, host ends of veths) or a container's (lo, eth0,
 * routes).  Every call is idempotent where Docker's users would expect it
 * to be: creating what exists with the same shape, or deleting what is
 * gone, succeeds.  Names are kernel interface names (< 16 bytes). */
#ifndef BERTH_NETOVERLAY_NETLINK_H
#define BERTH_NETOVERLAY_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

typedef struct netlink netlink;

/* ns_fd -1: the calling thread's current namespace. */
int netlink_open(int ns_fd, netlink **out, berr *e);
void netlink_close(netlink *h);

bool netlink_link_exists(netlink *h, const char *name);
/* Interface index, -ENOENT if absent. */
int netlink_link_index(netlink *h, const char *name, berr *e);

/* A bridge named name, created if missing, with mtu (0: kernel default),
 * up.  An existing non-bridge link with that name is -EEXIST. */
int netlink_bridge_ensure(netlink *h, const char *name, int mtu, berr *e);

/* Deletes a link (a veth takes its peer with it).  Absent: 0. */
int netlink_link_delete(netlink *h, const char *name, berr *e);

int netlink_link_up(netlink *h, const char *name, berr *e);

/* A veth pair: host_name enslaved to bridge and up, peer_name down with
 * mac (6 bytes, NULL: random) and mtu (0: default), then moved into the
 * namespace peer_ns_fd.  On failure nothing is left. */
int netlink_veth_create(netlink *h, const char *host_name, const char *bridge, const char *peer_name,
                        const uint8_t *mac, int mtu, int peer_ns_fd, berr *e);

/* Sets the link's hardware address (6 bytes). */
int netlink_link_set_mac(netlink *h, const char *name, const uint8_t mac[6], berr *e);

int netlink_link_rename(netlink *h, const char *name, const char *new_name, berr *e);

/* Adds/removes an address "a.b.c.d/len" or "fd00::2/64" on name (IPv6
 * ones without duplicate address detection).  Adding one that is
 * there, or removing one that is not, is 0. */
int netlink_addr_add(netlink *h, const char *name, const char *cidr, berr *e);
int netlink_addr_del(netlink *h, const char *name, const char *cidr, berr *e);

/* Default route via gateway (IPv4 or IPv6, its family's) out of name
 * (replaces an existing one). */
int netlink_route_default(netlink *h, const char *name, const char *gateway, berr *e);

/* A VXLAN device name for vni, its UDP socket on local:port in this
 * handle's namespace, without learning and answering ARP from its
 * neighbour table (proxy), enslaved to bridge and up.  One left by an
 * earlier run is replaced. */
int netlink_vxlan_ensure(netlink *h, const char *name, uint32_t vni, const char *local, uint16_t port,
                         const char *bridge, int mtu, berr *e);
/* Adds (add) or removes a permanent FDB entry on the VXLAN device dev:
 * frames for mac go to the VTEP vtep.  Removing one that is gone is 0. */
int netlink_fdb_set(netlink *h, const char *dev, const uint8_t mac[6], const char *vtep, bool add, berr *e);
/* Adds or removes a permanent ARP entry ip -> mac on dev. */
int netlink_neigh_set(netlink *h, const char *dev, const char *ip, const uint8_t mac[6], bool add, berr *e);

/* Deletes every link named prefix then digits only ("vx-4097"); how many. */
int netlink_delete_prefixed(netlink *h, const char *prefix);

/* Counts, for tests and leak checks: links whose name starts with prefix
 * ("" for all), and IPv4 addresses on links starting with prefix. */
int netlink_count_links(netlink *h, const char *prefix);
int netlink_count_addrs(netlink *h, const char *prefix);

#endif
