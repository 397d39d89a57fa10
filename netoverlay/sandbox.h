/* A running container's network: its network namespace, one endpoint per
 * network it is connected to, its published ports and its embedded DNS
 * server.
 *
 * The sandbox is made before the container's process (which joins its
 * namespace) and goes when the process has exited, taking every address,
 * veth, rule and DNS record with it. */
#ifndef BERTH_NETOVERLAY_SANDBOX_H
#define BERTH_NETOVERLAY_SANDBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "netoverlay/networks.h"
#include "netoverlay/ports.h"

typedef struct net_endpoint {
    struct net_endpoint *next;   /* in net->endpoints */
    net_network *net;
    struct net_sandbox *sb;
    char id[65];
    uint32_t ip;
    bool has_ip6;                /* on an IPv6 network */
    ipam6_addr ip6;
    uint8_t mac[6];
    char ifname[16];             /* in the container: eth0, eth1, ... */
    char veth[16];               /* the host end */
    json_t *aliases;             /* array of strings, owned */
    json_t *links;               /* legacy links "name:alias" only this container resolves; owned, or NULL */
} net_endpoint;

typedef struct net_sandbox {
    struct net_sandbox *next;    /* in the manager's list */
    net_manager *nm;
    char container_id[65];
    char name[256];              /* container name, without '/' */
    int ns_fd;
    net_endpoint **eps;
    size_t n_eps;
    net_port_binding *ports;     /* published ports, with their reservations */
    size_t n_ports;
    struct dns_resolver *dns;
    json_t *dns_servers;         /* the container's --dns (array, owned) or NULL */
    char *vip_rules;             /* the VIP table last put in its namespace (netoverlay/vip.h), or NULL */
} net_sandbox;

/* What a container brings to its sandbox. */
typedef struct net_sandbox_req {
    const char *container_id;
    const char *name;
    /* NetworkSettings.Networks of the container: name -> EndpointSettings.
     * Read for IPAMConfig, Aliases and the last addresses; written with what
     * the endpoint got (IPAddress, Gateway, MacAddress, NetworkID,
     * EndpointID, IPPrefixLen, DNSNames, and GlobalIPv6Address,
     * GlobalIPv6PrefixLen, IPv6Gateway on IPv6 networks). */
    json_t *networks;
    json_t *port_bindings;       /* HostConfig.PortBindings */
    json_t *exposed_ports;       /* Config.ExposedPorts */
    bool publish_all;            /* HostConfig.PublishAllPorts */
    json_t *dns;                 /* HostConfig.Dns */
    /* Live restore: the namespace of a container that kept running while
     * the daemon was down (not closed here).  Its endpoints are taken as
     * networks records them (EndpointID, IPAddress) instead of being made. */
    const int *adopt_ns_fd;
} net_sandbox_req;

int net_sandbox_open(net_manager *nm, const net_sandbox_req *req, net_sandbox **out, berr *e);
/* Also what a container left running at a daemon stop (live restore)
 * gets: the books, ports and DNS go; its namespace and veths stay with the
 * process, for net_sandbox_open's adopt_ns_fd next time. */
void net_sandbox_close(net_sandbox *sb);

/* docker network connect/disconnect on a running container; settings is
 * the container's EndpointSettings for net (written as for open). */
int net_sandbox_connect(net_sandbox *sb, net_network *net, json_t *settings, berr *e);
int net_sandbox_disconnect(net_sandbox *sb, net_network *net, berr *e);

int net_sandbox_ns_fd(const net_sandbox *sb);
/* The gateway of the container's first network ("" if none): the host
 * as the container reaches it, for --add-host name:host-gateway. */
const char *net_sandbox_gateway(const net_sandbox *sb);

/* True when the container resolves through 127.0.0.11 (it is on a
 * user-defined network). */
bool net_sandbox_embedded_dns(const net_sandbox *sb);
/* "<address>\t<hostname>\n" lines for /etc/hosts. */
void net_sandbox_hosts(const net_sandbox *sb, const char *hostname, buf *out);
/* NetworkSettings.Ports: {"80/tcp": [{"HostIp","HostPort"}], "81/tcp": null}. */
json_t *net_sandbox_ports_json(const net_sandbox *sb, json_t *exposed_ports);

/* "02:42:ac:11:00:02" */
void net_endpoint_mac_text(const uint8_t mac[6], char out[18]);

/* For API and DNS: the sandbox of a running container, or NULL. */
net_sandbox *net_sandbox_of(net_manager *nm, const char *container_id);

#endif
