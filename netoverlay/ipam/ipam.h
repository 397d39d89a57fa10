/* IPv4 address management for bridge networks: subnets as numbers, the
 * addresses handed out in one subnet, and the choice of a free subnet for
 * a network made without --subnet (Docker's default address pools).
 *
 * Pure bookkeeping: nothing here touches the kernel, so it is unit
 * tested in full.  Addresses are host-order uint32_t. */
#ifndef BERTH_NETOVERLAY_IPAM_H
#define BERTH_NETOVERLAY_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define IPAM_ADDR_BUF 16    /* "255.255.255.255" */
#define IPAM_CIDR_BUF 19    /* "255.255.255.255/32" */

/* "a.b.c.d" -> addr; -EINVAL otherwise. */
int ipam_parse_addr(const char *s, uint32_t *addr);
/* "a.b.c.d/len" -> addr (as written) and prefix; -EINVAL otherwise. */
int ipam_parse_cidr(const char *s, uint32_t *addr, int *prefix);
void ipam_format_addr(uint32_t addr, char out[IPAM_ADDR_BUF]);
void ipam_format_cidr(uint32_t addr, int prefix, char out[IPAM_CIDR_BUF]);
static inline uint32_t ipam_mask(int prefix) { return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~0u << (32 - prefix); }
bool ipam_overlaps(uint32_t a, int a_prefix, uint32_t b, int b_prefix);

/* The addresses of one subnet.  Allocation is serial, as Docker's: the
 * next free address after the last one handed out, so an address just
 * released is not reused at once (peers may still cache its MAC). */
typedef struct ipam_pool {
    uint32_t subnet;        /* network address */
    int prefix;
    uint32_t range_first;   /* --ip-range (whole subnet when not given), */
    uint32_t range_last;    /* without network and broadcast addresses */
    uint32_t gateway;
    uint32_t last;          /* last address allocated */
    uint8_t *used;          /* bitmap over the subnet */
} ipam_pool;

/* subnet "a.b.c.d/len" (2..30 bits of host part), ip_range inside it or
 * NULL/"", gateway inside it or NULL/"" (the first host address).  The
 * gateway is reserved.  -EINVAL with Docker's wording on bad input. */
int ipam_pool_init(ipam_pool *p, const char *subnet, const char *ip_range, const char *gateway, berr *e);
void ipam_pool_free(ipam_pool *p);

/* Next free address in the range; -ENOSPC when none is left. */
int ipam_alloc(ipam_pool *p, uint32_t *out, berr *e);
/* Takes a chosen address (--ip): -EINVAL outside the subnet, -EEXIST when in use. */
int ipam_reserve(ipam_pool *p, uint32_t addr, berr *e);
bool ipam_in_use(const ipam_pool *p, uint32_t addr);
void ipam_release(ipam_pool *p, uint32_t addr);

/* A default address pool: subnets of size bits carved out of base. */
typedef struct ipam_default_pool {
    uint32_t base;
    int base_prefix;
    int size;
} ipam_default_pool;

/* Docker's defaults: 172.17.0.0/16 .. 172.31.0.0/16 as /16s, then
 * 192.168.0.0/16 as /20s. */
extern const ipam_default_pool ipam_docker_pools[];
extern const size_t ipam_docker_pools_n;

/* "base=10.10.0.0/16,size=24" (the dockerd flag's form) -> pool. */
int ipam_parse_default_pool(const char *spec, ipam_default_pool *out, berr *e);

/* The first subnet of the pools that overlaps none of taken (n_taken
 * subnets as address/prefix pairs).  -ENOSPC as dockerd's "could not find
 * an available, non-overlapping IPv4 address pool among the defaults to
 * assign to the network". */
typedef struct ipam_subnet {
    uint32_t addr;
    int prefix;
} ipam_subnet;
int ipam_pick_subnet(const ipam_default_pool *pools, size_t n_pools, const ipam_subnet *taken, size_t n_taken,
                     ipam_subnet *out, berr *e);

#endif
