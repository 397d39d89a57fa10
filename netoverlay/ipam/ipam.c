#include "netoverlay/ipam/ipam.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

int ipam_parse_addr(const char *s, uint32_t *addr)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *addr = ntohl(a.s_addr);
    return 0;
}

int ipam_parse_cidr(const char *s, uint32_t *addr, int *prefix)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash - s >= IPAM_ADDR_BUF || !slash[1])
        return -EINVAL;
    char a[IPAM_ADDR_BUF];
    snprintf(a, sizeof a, "%.*s", (int)(slash - s), s);
    char *end;
    long len = strtol(slash + 1, &end, 10);
    if (*end || len < 0 || len > 32 || ipam_parse_addr(a, addr) < 0)
        return -EINVAL;
    *prefix = (int)len;
    return 0;
}

void ipam_format_addr(uint32_t addr, char out[IPAM_ADDR_BUF])
{
    snprintf(out, IPAM_ADDR_BUF, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}

void ipam_format_cidr(uint32_t addr, int prefix, char out[IPAM_CIDR_BUF])
{
    char a[IPAM_ADDR_BUF];
    ipam_format_addr(addr, a);
    snprintf(out, IPAM_CIDR_BUF, "%s/%d", a, prefix);
}

bool ipam_overlaps(uint32_t a, int a_prefix, uint32_t b, int b_prefix)
{
    uint32_t m = ipam_mask(a_prefix < b_prefix ? a_prefix : b_prefix);
    return (a & m) == (b & m);
}

static bool bit(const ipam_pool *p, uint32_t addr)
{
    uint32_t i = addr - p->subnet;
    return p->used[i / 8] & (1u << (i % 8));
}

static void set_bit(ipam_pool *p, uint32_t addr, bool on)
{
    uint32_t i = addr - p->subnet;
    if (on)
        p->used[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        p->used[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static bool in_subnet(const ipam_pool *p, uint32_t addr)
{
    return (addr & ipam_mask(p->prefix)) == p->subnet;
}

int ipam_pool_init(ipam_pool *p, const char *subnet, const char *ip_range, const char *gateway, berr *e)
{
    memset(p, 0, sizeof *p);
    uint32_t a;
    int len;
    if (ipam_parse_cidr(subnet, &a, &len) < 0)
        return berr_set(e, -EINVAL, "invalid CIDR address: %s", subnet ? subnet : "");
    /* Below /16 the bitmap grows past 8 KiB for little use; Docker's own
     * pools are /16 at most, and /31, /32 leave no host addresses. */
    if (len < 8 || len > 30)
        return berr_set(e, -EINVAL, "invalid subnet %s: the prefix length must be between 8 and 30", subnet);
    p->subnet = a & ipam_mask(len);
    p->prefix = len;
    uint32_t broadcast = p->subnet | ~ipam_mask(len);
    p->range_first = p->subnet + 1;
    p->range_last = broadcast - 1;
    if (ip_range && *ip_range) {
        uint32_t r;
        int rlen;
        if (ipam_parse_cidr(ip_range, &r, &rlen) < 0)
            return berr_set(e, -EINVAL, "invalid CIDR address: %s", ip_range);
        r &= ipam_mask(rlen);
        if (rlen < len || !in_subnet(p, r))
            return berr_set(e, -EINVAL, "Invalid Address: %s is not in %s", ip_range, subnet);
        uint32_t last = r | ~ipam_mask(rlen);
        p->range_first = r > p->range_first ? r : p->range_first;
        p->range_last = last < p->range_last ? last : p->range_last;
    }
    if (gateway && *gateway) {
        if (ipam_parse_addr(gateway, &p->gateway) < 0)
            return berr_set(e, -EINVAL, "invalid gateway address %s", gateway);
        if (!in_subnet(p, p->gateway) || p->gateway == p->subnet || p->gateway == broadcast)
            return berr_set(e, -EINVAL, "no matching subnet for gateway %s", gateway);
    } else {
        p->gateway = p->subnet + 1;
    }
    size_t bits = (size_t)1 << (32 - len);
    p->used = xcalloc(bits / 8 + 1, 1);
    set_bit(p, p->gateway, true);
    p->last = p->range_first - 1;
    return 0;
}

void ipam_pool_free(ipam_pool *p)
{
    free(p->used);
    p->used = NULL;
}

int ipam_alloc(ipam_pool *p, uint32_t *out, berr *e)
{
    uint32_t n = p->range_last - p->range_first + 1;
    uint32_t a = p->last;
    for (uint32_t i = 0; i < n; i++) {
        a = a >= p->range_last || a < p->range_first ? p->range_first : a + 1;
        if (!bit(p, a)) {
            set_bit(p, a, true);
            p->last = a;
            *out = a;
            return 0;
        }
    }
    return berr_set(e, -ENOSPC, "no available IPv4 addresses on this network's address pools");
}

int ipam_reserve(ipam_pool *p, uint32_t addr, berr *e)
{
    char s[IPAM_ADDR_BUF];
    ipam_format_addr(addr, s);
    if (!in_subnet(p, addr) || addr == p->subnet || addr == (p->subnet | ~ipam_mask(p->prefix))) {
        char c[IPAM_CIDR_BUF];
        ipam_format_cidr(p->subnet, p->prefix, c);
        return berr_set(e, -EINVAL, "no configured subnet or ip-range contain the IP address %s (subnet %s)", s, c);
    }
    if (bit(p, addr))
        return berr_set(e, -EEXIST, "Address already in use");
    set_bit(p, addr, true);
    return 0;
}

bool ipam_in_use(const ipam_pool *p, uint32_t addr)
{
    return in_subnet(p, addr) && bit(p, addr);
}

void ipam_release(ipam_pool *p, uint32_t addr)
{
    if (in_subnet(p, addr) && addr != p->gateway)
        set_bit(p, addr, false);
}

/* ---- default pools --------------------------------------------------------- */

const ipam_default_pool ipam_docker_pools[] = {
    {0xac110000, 16, 16}, {0xac120000, 16, 16}, {0xac130000, 16, 16}, {0xac140000, 16, 16},
    {0xac150000, 16, 16}, {0xac160000, 16, 16}, {0xac170000, 16, 16}, {0xac180000, 16, 16},
    {0xac190000, 16, 16}, {0xac1a0000, 16, 16}, {0xac1b0000, 16, 16}, {0xac1c0000, 16, 16},
    {0xac1d0000, 16, 16}, {0xac1e0000, 16, 16}, {0xac1f0000, 16, 16}, {0xc0a80000, 16, 20},
};
const size_t ipam_docker_pools_n = sizeof ipam_docker_pools / sizeof ipam_docker_pools[0];

int ipam_parse_default_pool(const char *spec, ipam_default_pool *out, berr *e)
{
    memset(out, 0, sizeof *out);
    bool have_base = false;
    cleanup_free char *copy = xstrdup(spec);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strncmp(tok, "base=", 5)) {
            if (ipam_parse_cidr(tok + 5, &out->base, &out->base_prefix) < 0)
                return berr_set(e, -EINVAL, "invalid default address pool %s: invalid CIDR address: %s", spec, tok + 5);
            out->base &= ipam_mask(out->base_prefix);
            have_base = true;
        } else if (!strncmp(tok, "size=", 5)) {
            char *end;
            long v = strtol(tok + 5, &end, 10);
            if (*end || v < 1 || v > 30)
                return berr_set(e, -EINVAL, "invalid default address pool %s: invalid size %s", spec, tok + 5);
            out->size = (int)v;
        } else {
            return berr_set(e, -EINVAL, "invalid default address pool %s: unexpected field %s", spec, tok);
        }
    }
    if (!have_base || !out->size)
        return berr_set(e, -EINVAL, "invalid default address pool %s: base and size are both required", spec);
    if (out->size < out->base_prefix)
        return berr_set(e, -EINVAL, "invalid default address pool %s: size %d is larger than the base's /%d", spec,
                        out->size, out->base_prefix);
    return 0;
}

int ipam_pick_subnet(const ipam_default_pool *pools, size_t n_pools, const ipam_subnet *taken, size_t n_taken,
                     ipam_subnet *out, berr *e)
{
    for (size_t i = 0; i < n_pools; i++) {
        const ipam_default_pool *p = &pools[i];
        uint64_t count = (uint64_t)1 << (p->size - p->base_prefix);
        uint64_t step = (uint64_t)1 << (32 - p->size);
        for (uint64_t k = 0; k < count; k++) {
            uint32_t cand = (uint32_t)(p->base + k * step);
            bool clash = false;
            for (size_t t = 0; t < n_taken && !clash; t++)
                clash = ipam_overlaps(cand, p->size, taken[t].addr, taken[t].prefix);
            if (!clash) {
                *out = (ipam_subnet){cand, p->size};
                return 0;
            }
        }
    }
    return berr_set(e, -ENOSPC,
                    "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
}
