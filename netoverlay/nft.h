/* Berth's nftables rules: NAT for published ports, masquerade and the
 * isolation of bridge networks, in two tables that berth owns: "table ip
 * berth" for IPv4 and, with --ip6tables, "table ip6 berth" for IPv6 (what
 * dockerd does with iptables and ip6tables).  Berth never touches a rule
 * outside them.
 *
 * Both tables are regenerated whole from one model of networks and
 * published ports and replaced in one nftables transaction, so the kernel
 * never sees half of a change (nor one family changed without the other),
 * and a daemon that was killed puts back exactly what its store says on
 * the next start. */
#ifndef BERTH_NETOVERLAY_NFT_H
#define BERTH_NETOVERLAY_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

#define NFT_TABLE "berth"

typedef struct nft_net {
    const char *bridge;      /* "docker0", "br-0123456789ab" */
    const char *subnet;      /* "172.17.0.0/16" */
    bool internal;           /* no traffic in or out of the bridge but its own */
    bool icc;                /* containers on the bridge may talk to each other */
    bool masquerade;         /* outbound NAT (com.docker.network.bridge.enable_ip_masquerade) */
    const char *subnet6;     /* "fd00:1::/64", or NULL/"": the network has no IPv6 */
} nft_net;

/* A port is of one family, its container address's: an IPv6 container_ip
 * puts its rule in the ip6 table, with host_ip "::" (every local IPv6
 * address; "" is IPv4's only) or an IPv6 address.  A host address of the
 * other family is invalid (nft_model_check): one binding on both families
 * is two ports. */
typedef struct nft_port {
    const char *proto;       /* "tcp", "udp" or "sctp" */
    const char *host_ip;     /* IPv4: "" or "0.0.0.0": every local address; IPv6: "::" */
    uint16_t host_port;
    const char *bridge;      /* the bridge the container is reached on */
    const char *container_ip;
    uint16_t container_port;
} nft_port;

/* A port published by a service (the ingress of one node): connections
 * are spread over the backends, round-robin, by the kernel.  IPv4 only:
 * no rule in the ip6 table. */
typedef struct nft_lb {
    const char *proto;
    uint16_t host_port;
    uint16_t target_port;
    const char *const *backends;   /* the tasks' container addresses */
    size_t n_backends;             /* 0: nothing answers (no rule) */
    /* The routing mesh: connections leave on mesh_bridge (the ingress
     * overlay's) with the source mesh_addr, this node's address there,
     * so tasks on other nodes answer through this one.  NULL: the
     * one-node ingress (masquerade). */
    const char *mesh_bridge;
    const char *mesh_addr;
} nft_lb;

typedef struct nft_model {
    const nft_net *nets;
    size_t n_nets;
    const nft_port *ports;
    size_t n_ports;
    const nft_lb *lbs;
    size_t n_lbs;
    bool ip6;                /* --ip6tables: when false the ip6 table is only removed (not created) */
} nft_model;

/* The nft script that replaces the berth tables with model's rules
 * ("add table" and "delete table" for ip and ip6, "table ip berth { ... }",
 * then "table ip6 berth { ... }" if model->ip6), appended to out.  Pure:
 * no kernel involved. */
void nft_ruleset(const nft_model *model, buf *out);

/* Checks that every name, address and protocol in model is one that can
 * go into the script as it is (no quote in a bridge name, addresses that
 * parse): -EINVAL naming the first that cannot.  nft_apply calls it; a
 * caller using nft_ruleset + nft_run should too. */
int nft_model_check(const nft_model *model, berr *e);

/* Opens the daemon's libnftables context (nft_run opens it if need be):
 * call it at start, while descriptor numbers are low (see nft.c). */
int nft_open(berr *e);

/* Runs an nft script through libnftables in one transaction; -EIO with
 * nft's own error text on failure. */
int nft_run(const char *script, berr *e);

/* nft_run in the calling thread's current network namespace (a container's,
 * entered by the caller) with a context made there for this run: the
 * daemon's context speaks to the daemon's namespace only. */
int nft_run_here(const char *script, berr *e);

/* nft_ruleset + nft_run. */
int nft_apply(const nft_model *model, berr *e);

/* Removes both berth tables, ip and ip6 (absent: 0). */
int nft_remove(berr *e);

#endif
