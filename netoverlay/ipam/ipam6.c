#include "netoverlay/ipam/ipam6.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

#define ALL_ONES (~(ipam6_addr)0)

int ipam6_parse_addr(const char *s, ipam6_addr *out)
{
    struct in6_addr a;
    if (!s || inet_pton(AF_INET6, s, &a) != 1)
        return -EINVAL;
    *out = ipam6_from_bytes(a.s6_addr);
    return 0;
}

int ipam6_parse_cidr(const char *s, ipam6_addr *addr, int *prefix)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash - s >= IPAM6_ADDR_BUF)
        return -EINVAL;
    /* Digits only and no leading zero, as Go's netip.ParsePrefix: strtol
     * would also take " 64", "+64" and "064". */
    const char *len = slash + 1;
    size_t n = strspn(len, "0123456789");
    if (n == 0 || n > 3 || len[n] || (n > 1 && len[0] == '0'))
        return -EINVAL;
    int v = atoi(len);
    char a[IPAM6_ADDR_BUF];
    snprintf(a, sizeof a, "%.*s", (int)(slash - s), s);
    if (v > 128 || ipam6_parse_addr(a, addr) < 0)
        return -EINVAL;
    *prefix = v;
    return 0;
}

void ipam6_format_addr(ipam6_addr a, char out[IPAM6_ADDR_BUF])
{
    uint8_t b[16];
    ipam6_to_bytes(a, b);
    if (!inet_ntop(AF_INET6, b, out, IPAM6_ADDR_BUF))
        out[0] = 0;   /* cannot happen: the buffer is INET6_ADDRSTRLEN */
}

void ipam6_format_cidr(ipam6_addr a, int prefix, char out[IPAM6_CIDR_BUF])
{
    char s[IPAM6_ADDR_BUF];
    ipam6_format_addr(a, s);
    snprintf(out, IPAM6_CIDR_BUF, "%s/%d", s, prefix);
}

void ipam6_to_bytes(ipam6_addr a, uint8_t out[16])
{
    for (int i = 15; i >= 0; i--, a >>= 8)
        out[i] = (uint8_t)a;
}

ipam6_addr ipam6_from_bytes(const uint8_t in[16])
{
    ipam6_addr a = 0;
    for (int i = 0; i < 16; i++)
        a = a << 8 | in[i];
    return a;
}

ipam6_addr ipam6_mask(int prefix)
{
    /* Shifting a 128-bit value by 128 is undefined, hence both ends apart. */
    return prefix <= 0 ? 0 : prefix >= 128 ? ALL_ONES : ALL_ONES << (128 - prefix);
}

bool ipam6_overlaps(ipam6_addr a, int a_prefix, ipam6_addr b, int b_prefix)
{
    ipam6_addr m = ipam6_mask(a_prefix < b_prefix ? a_prefix : b_prefix);
    return (a & m) == (b & m);
}

bool ipam6_is_v6_text(const char *s)
{
    return s && strchr(s, ':');
}

/* ---- one subnet's addresses ------------------------------------------------ */

static bool in_subnet(const ipam6_pool *p, ipam6_addr a)
{
    return (a & ipam6_mask(p->prefix)) == p->subnet;
}

/* Index of the first used address >= a (n_used when none). */
static size_t lower_bound(const ipam6_pool *p, ipam6_addr a)
{
    size_t lo = 0, hi = p->n_used;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->used[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool used(const ipam6_pool *p, ipam6_addr a)
{
    size_t i = lower_bound(p, a);
    return i < p->n_used && p->used[i] == a;
}

/* Callers have checked that a is not in use. */
static void mark_used(ipam6_pool *p, ipam6_addr a)
{
    if (p->n_used == p->cap_used) {
        p->cap_used = p->cap_used ? p->cap_used * 2 : 16;
        p->used = xrealloc(p->used, p->cap_used * sizeof *p->used);
    }
    size_t i = lower_bound(p, a);
    memmove(&p->used[i + 1], &p->used[i], (p->n_used - i) * sizeof *p->used);
    p->used[i] = a;
    p->n_used++;
}

int ipam6_pool_init(ipam6_pool *p, const char *subnet, const char *ip_range, const char *gateway, berr *e)
{
    memset(p, 0, sizeof *p);
    ipam6_addr a;
    int len;
    if (ipam6_parse_cidr(subnet, &a, &len) < 0)
        return berr_set(e, -EINVAL, "invalid CIDR address: %s", subnet ? subnet : "");
    /* A /127 or /128 leaves no address beside the network address and the
     * gateway; /0 is no bridge's subnet. */
    if (len < 1 || len > 126)
        return berr_set(e, -EINVAL, "invalid subnet %s: the prefix length must be between 1 and 126", subnet);
    p->subnet = a & ipam6_mask(len);
    p->prefix = len;
    p->range_first = p->subnet + 1;
    p->range_last = p->subnet | ~ipam6_mask(len);
    if (ip_range && *ip_range) {
        ipam6_addr r;
        int rlen;
        if (ipam6_parse_cidr(ip_range, &r, &rlen) < 0)
            return berr_set(e, -EINVAL, "invalid CIDR address: %s", ip_range);
        r &= ipam6_mask(rlen);
        if (rlen < len || !in_subnet(p, r))
            return berr_set(e, -EINVAL, "Invalid Address: %s is not in %s", ip_range, subnet);
        /* A range at the subnet's start keeps the network address out; a
         * /128 range on it is left empty, and ipam6_alloc says so. */
        p->range_first = r > p->range_first ? r : p->range_first;
        p->range_last = r | ~ipam6_mask(rlen);
    }
    if (gateway && *gateway) {
        if (ipam6_parse_addr(gateway, &p->gateway) < 0)
            return berr_set(e, -EINVAL, "invalid gateway address %s", gateway);
        if (!in_subnet(p, p->gateway) || p->gateway == p->subnet)
            return berr_set(e, -EINVAL, "no matching subnet for gateway %s", gateway);
    } else {
        p->gateway = p->subnet + 1;
    }
    mark_used(p, p->gateway);
    p->last = p->range_first - 1;
    return 0;
}

void ipam6_pool_free(ipam6_pool *p)
{
    free(p->used);
    p->used = NULL;
    p->n_used = p->cap_used = 0;
}

/* The first free address in [from, to] (from <= to): walking the run of
 * used addresses that starts at from, so the cost is that run's length,
 * at most n_used, never the size of the range. */
static bool first_free(const ipam6_pool *p, ipam6_addr from, ipam6_addr to, ipam6_addr *out)
{
    ipam6_addr a = from;
    for (size_t i = lower_bound(p, from); i < p->n_used && p->used[i] == a; i++) {
        if (a == to)
            return false;
        a++;
    }
    *out = a;
    return true;
}

int ipam6_alloc(ipam6_pool *p, ipam6_addr *out, berr *e)
{
    if (p->range_first <= p->range_last) {
        bool wrapped = p->last >= p->range_last || p->last < p->range_first;
        ipam6_addr start = wrapped ? p->range_first : p->last + 1;
        ipam6_addr a;
        /* After the last one handed out, then from the range's start. */
        if (first_free(p, start, p->range_last, &a) ||
            (start > p->range_first && first_free(p, p->range_first, start - 1, &a))) {
            mark_used(p, a);
            p->last = a;
            *out = a;
            return 0;
        }
    }
    return berr_set(e, -ENOSPC, "no available IPv6 addresses on this network's address pools");
}

int ipam6_reserve(ipam6_pool *p, ipam6_addr addr, berr *e)
{
    if (!in_subnet(p, addr) || addr == p->subnet) {
        char s[IPAM6_ADDR_BUF], c[IPAM6_CIDR_BUF];
        ipam6_format_addr(addr, s);
        ipam6_format_cidr(p->subnet, p->prefix, c);
        return berr_set(e, -EINVAL, "no configured subnet or ip-range contain the IP address %s (subnet %s)", s, c);
    }
    if (used(p, addr))
        return berr_set(e, -EEXIST, "Address already in use");
    mark_used(p, addr);
    return 0;
}

bool ipam6_in_use(const ipam6_pool *p, ipam6_addr addr)
{
    return in_subnet(p, addr) && used(p, addr);
}

void ipam6_release(ipam6_pool *p, ipam6_addr addr)
{
    if (addr == p->gateway)
        return;
    size_t i = lower_bound(p, addr);
    if (i < p->n_used && p->used[i] == addr) {
        memmove(&p->used[i], &p->used[i + 1], (p->n_used - i - 1) * sizeof *p->used);
        p->n_used--;
    }
}

/* ---- default pools --------------------------------------------------------- */

ipam6_default_pool ipam6_ula_pool(const char *host_id)
{
    /* moby's deriveULABaseNetwork: the 40 low bits of the big-endian
     * uint64 that opens sha256(host ID) are the RFC 4193 global ID, put
     * after "fd" to make an fdXX:XXXX:XXXX::/48. */
    const char *id = host_id ? host_id : "";
    uint8_t sha[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(sha, (const unsigned char *)id, strlen(id));
    uint64_t gid = 0;
    for (int i = 0; i < 8; i++)
        gid = gid << 8 | sha[i];
    gid &= ((uint64_t)1 << 40) - 1;
    ipam6_addr fd00 = (ipam6_addr)0xfd00 << 112;
    return (ipam6_default_pool){fd00 + ((ipam6_addr)gid << 80), 48, 64};
}

int ipam6_parse_default_pool(const char *spec, ipam6_default_pool *out, berr *e)
{
    memset(out, 0, sizeof *out);
    if (!spec)
        spec = "";
    bool have_base = false;
    cleanup_free char *copy = xstrdup(spec);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strncmp(tok, "base=", 5)) {
            if (ipam6_parse_cidr(tok + 5, &out->base, &out->base_prefix) < 0)
                return berr_set(e, -EINVAL, "invalid default address pool %s: invalid CIDR address: %s", spec, tok + 5);
            out->base &= ipam6_mask(out->base_prefix);
            have_base = true;
        } else if (!strncmp(tok, "size=", 5)) {
            char *end;
            long v = strtol(tok + 5, &end, 10);
            if (!tok[5] || *end || v < 1 || v > 128)
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

/* The last address of a subnet. */
static ipam6_addr last_of(ipam6_addr a, int prefix)
{
    return a | ~ipam6_mask(prefix);
}

int ipam6_pick_subnet(const ipam6_default_pool *pools, size_t n_pools, const ipam6_subnet *taken, size_t n_taken,
                      ipam6_subnet *out, berr *e)
{
    for (size_t i = 0; i < n_pools; i++) {
        const ipam6_default_pool *p = &pools[i];
        if (p->size < p->base_prefix || p->size > 128)
            continue;
        ipam6_addr cand = p->base & ipam6_mask(p->base_prefix);
        ipam6_addr pool_last = last_of(cand, p->base_prefix);
        /* Each round either returns or moves cand past a taken subnet it
         * overlapped, never to meet it again (candidates only ascend): at
         * most n_taken + 1 rounds, however many subnets the pool holds. */
        for (;;) {
            size_t t = 0;
            while (t < n_taken && !ipam6_overlaps(cand, p->size, taken[t].addr, taken[t].prefix))
                t++;
            if (t == n_taken) {
                *out = (ipam6_subnet){cand, p->size};
                return 0;
            }
            /* One of the two holds the other: skip past the larger. */
            ipam6_addr end = last_of(cand, p->size);
            ipam6_addr t_end = last_of(taken[t].addr, taken[t].prefix);
            if (t_end > end)
                end = t_end;
            if (end >= pool_last)
                break;
            cand = end + 1;
        }
    }
    return berr_set(e, -ENOSPC,
                    "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network");
}
