/* Service VIPs inside a container: connections to a service's virtual IP
 * are DNATed, in the container's own network namespace, to one of the
 * service's running tasks (numgen round-robin), wherever they run.  The
 * kernel here has no IPVS; nftables' NAT does the balancing, and only
 * the first packet of a connection is balanced (conntrack keeps the
 * rest on the same task).  A VIP with no running task refuses at once
 * (reject) instead of leaving the client to time out.
 *
 * Each container on an overlay gets a table "ip berth" of its own,
 * generated whole from the services on its networks and replaced in one
 * transaction when they change. */
#ifndef BERTH_NETOVERLAY_VIP_H
#define BERTH_NETOVERLAY_VIP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct net_sandbox;

typedef struct net_vip {
    uint32_t vip;
    const uint32_t *backends;
    size_t n_backends;
} net_vip;

/* The script for the container's table (appended to out); with no VIPs,
 * a script that only removes the table.  Pure. */
void net_vip_ruleset(const net_vip *vips, size_t n, buf *out);

/* Brings the container's table in line with the services on its overlay
 * networks (nothing when unchanged); failures are logged. */
void net_vip_sync(struct net_sandbox *sb);

#endif
