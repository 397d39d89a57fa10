/* Published ports: HostConfig.PortBindings (and -P's exposed ports) read
 * into bindings, and the host ports held for them.
 *
 * Traffic never passes through the daemon (nftables DNATs it, see
 * netoverlay/nft.h); a socket bound to the host port is still held for
 * each binding so that no other program can take the port and a port
 * already taken is an error at start, as with dockerd. */
#ifndef BERTH_NETOVERLAY_PORTS_H
#define BERTH_NETOVERLAY_PORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "netoverlay/ipam/ipam.h"
#include "netoverlay/ipam/ipam6.h"

typedef struct net_port_binding {
    char proto[5];                 /* "tcp", "udp", "sctp" */
    uint16_t container_port;
    char host_ip[IPAM6_ADDR_BUF];  /* "0.0.0.0" for every IPv4 address, "::" for every IPv6 one */
    uint16_t host_port;            /* 0: any (ephemeral); after reserve: the port held */
    uint16_t host_port_end;        /* a range "8000-8010": any free one in it; else == host_port */
    int fd;                        /* the held socket, -1 */
    bool both_families;            /* no HostIp given: an IPv6 twin ("::") joins it on an IPv6 endpoint */
} net_port_binding;

/* "80/tcp" -> port and protocol (tcp when none is given).  -EINVAL. */
int net_port_key_parse(const char *key, uint16_t *port, char proto[5], berr *e);

/* The bindings of PortBindings, then (publish_all) one ephemeral binding
 * for every exposed port that has none.  An empty HostIp means
 * default_ip ("0.0.0.0" when that is empty, and then both families, as
 * dockerd binds 0.0.0.0 and ::).  -EINVAL with dockerd's wording for bad
 * specs. */
int net_ports_parse(json_t *port_bindings, json_t *exposed_ports, bool publish_all, const char *default_ip,
                    net_port_binding **out, size_t *n, berr *e);
void net_ports_free(net_port_binding *b, size_t n);

/* b's IPv6 twin: "::" and the port b holds. */
net_port_binding net_port_twin6(const net_port_binding *b);

/* Whether two bindings would hold the same host port. */
bool net_ports_clash(const net_port_binding *a, const net_port_binding *b);

/* Holds a host port for b (choosing one for ephemeral bindings and
 * ranges).  -EADDRINUSE when the port is taken. */
int net_port_hold(net_port_binding *b, berr *e);
void net_port_release(net_port_binding *b);

#endif
