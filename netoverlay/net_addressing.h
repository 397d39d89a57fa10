/* The subnets of bridge networks and their address pools, IPv4 and (on
 * EnableIPv6 networks) IPv6: for netoverlay/networks.c. */
#ifndef BERTH_NETOVERLAY_NET_ADDRESSING_H
#define BERTH_NETOVERLAY_NET_ADDRESSING_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"
#include "netoverlay/networks.h"

/* n's pools (pool, and pool6 when n->ipv6) from its subnets, ranges and
 * gateways; a gateway not given becomes the subnet's first address.
 * The IPv4 auxiliary addresses are reserved. */
int net_pools_init(net_network *n, berr *e);

/* The default bridge's subnets from --bip, --fixed-cidr, --ipv6, --bip6
 * and --fixed-cidr-v6 (or the default pools), and its pools. */
int net_default_bridge_subnets(net_manager *nm, net_network *n, berr *e);

/* POST /networks/create's IPAM object (NULL: defaults): at most one
 * IPv4 and one IPv6 config; the IPv6 one is used only with enable_ipv6,
 * which without one takes a subnet from the pools.  Then the pools. */
int net_create_ipam(net_manager *nm, net_network *n, json_t *ipam, bool enable_ipv6, berr *e);

#endif
