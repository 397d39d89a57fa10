/* IPv6 address management for bridge networks, the sibling of ipam.h:
 * subnets as numbers, the addresses handed out in one subnet, and the
 * choice of a free subnet for a network made with --ipv6 and no IPv6
 * --subnet (dockerd's ULA pool or a configured default address pool).
 *
 * Pure bookkeeping: nothing here touches the kernel, so it is unit tested
 * in full.  A subnet can hold 2^64 addresses or more, so nothing here is
 * sized by the subnet: costs follow what is in use. */
#ifndef BERTH_NETOVERLAY_IPAM6_H
#define BERTH_NETOVERLAY_IPAM6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* An IPv6 address as a number, host order: the address's first bit is
 * bit 127, so subnets are masks and the next address is + 1, as with
 * ipam.h's uint32_t. */
typedef unsigned __int128 ipam6_addr;

#define IPAM6_ADDR_BUF 46   /* INET6_ADDRSTRLEN */
#define IPAM6_CIDR_BUF 50   /* address + "/128" */

/* inet_pton(AF_INET6): -EINVAL otherwise, also for IPv4 text and NULL. */
int ipam6_parse_addr(const char *s, ipam6_addr *out);
/* "addr/len", len 0..128 -> addr (as written) and prefix; -EINVAL otherwise. */
int ipam6_parse_cidr(const char *s, ipam6_addr *addr, int *prefix);
/* inet_ntop: RFC 5952's canonical text, "fd00::2". */
void ipam6_format_addr(ipam6_addr a, char out[IPAM6_ADDR_BUF]);
void ipam6_format_cidr(ipam6_addr a, int prefix, char out[IPAM6_CIDR_BUF]);
/* To and from the network-order bytes of struct in6_addr and netlink. */
void ipam6_to_bytes(ipam6_addr a, uint8_t out[16]);
ipam6_addr ipam6_from_bytes(const uint8_t in[16]);
/* The network mask of a prefix length: 0 -> 0, 128 -> all ones. */
ipam6_addr ipam6_mask(int prefix);
bool ipam6_overlaps(ipam6_addr a, int a_prefix, ipam6_addr b, int b_prefix);
/* Whether s (an address or a CIDR) is IPv6 text: it contains ':'.  Lets a
 * caller route a --subnet or --ip to this module or to ipam.h. */
bool ipam6_is_v6_text(const char *s);

/* The addresses of one IPv6 subnet.  Allocation is serial like
 * ipam_pool's (the next free address after the last one handed out,
 * wrapping), but a /64 has 2^64 addresses, so no bitmap: the addresses in
 * use are a sorted array searched by bisection. */
typedef struct ipam6_pool {
    ipam6_addr subnet;      /* network address */
    int prefix;
    /* --ip-range within the subnet, else the whole subnet without its
     * network (subnet-router anycast) address */
    ipam6_addr range_first, range_last;
    ipam6_addr gateway;     /* reserved */
    ipam6_addr last;        /* last address allocated */
    ipam6_addr *used;       /* ascending, the gateway included */
    size_t n_used, cap_used;
} ipam6_pool;

/* subnet "addr/len" with len 1..126 (at least two addresses beside the
 * network address), ip_range inside it or NULL/"", gateway inside it or
 * NULL/"" (then subnet + 1, "fd00::1" for fd00::/64).  The gateway is
 * reserved.  The network address is never handed out; unlike IPv4 the
 * last address of the subnet is usable (IPv6 has no broadcast).
 * -EINVAL with ipam_pool_init's (Docker's) wording on bad input. */
int ipam6_pool_init(ipam6_pool *p, const char *subnet, const char *ip_range, const char *gateway, berr *e);
/* Safe on a zeroed or already freed pool. */
void ipam6_pool_free(ipam6_pool *p);

/* Next free address in the range; -ENOSPC when none is left. */
int ipam6_alloc(ipam6_pool *p, ipam6_addr *out, berr *e);
/* Takes a chosen address (--ip6), anywhere in the subnet: -EINVAL outside
 * it or for the network address, -EEXIST when in use. */
int ipam6_reserve(ipam6_pool *p, ipam6_addr addr, berr *e);
bool ipam6_in_use(const ipam6_pool *p, ipam6_addr addr);
/* Never releases the gateway; an address not in use is a no-op. */
void ipam6_release(ipam6_pool *p, ipam6_addr addr);

/* A default address pool: subnets of size bits carved out of base. */
typedef struct ipam6_default_pool {
    ipam6_addr base;
    int base_prefix;
    int size;
} ipam6_default_pool;

typedef struct ipam6_subnet {
    ipam6_addr addr;
    int prefix;
} ipam6_subnet;

/* dockerd's pool when no IPv6 default-address-pool is configured: a ULA
 * /48 split into /64s, its 40-bit global ID derived from the host's ID as
 * moby's deriveULABaseNetwork does, so a host keeps its subnets across
 * restarts and two hosts are unlikely to pick the same ones. */
ipam6_default_pool ipam6_ula_pool(const char *host_id);
/* "base=fd00:1::/48,size=64" (dockerd's --default-address-pool form with
 * an IPv6 base) -> pool; size up to 128 and not above the base's. */
int ipam6_parse_default_pool(const char *spec, ipam6_default_pool *out, berr *e);
/* The first subnet of the pools (in order, ascending within a pool) that
 * overlaps none of taken.  -ENOSPC as dockerd's "could not find an
 * available, non-overlapping IPv6 address pool among the defaults to
 * assign to the network". */
int ipam6_pick_subnet(const ipam6_default_pool *pools, size_t n_pools, const ipam6_subnet *taken, size_t n_taken,
                      ipam6_subnet *out, berr *e);

#endif
