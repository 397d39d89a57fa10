/* The subnets of bridge networks: what a network create asks for in its
 * IPAM config, the default bridge's from the daemon's flags, a free one
 * from the default pools when none is given, and the address pools made
 * from them.  IPv4 always; IPv6 beside it on networks with EnableIPv6
 * (dual stack, as dockerd's bridge driver). */
#include "netoverlay/net_addressing.h"

#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/jsonutil.h"
#include "lib/log.h"

/* Auxiliary addresses, checked and kept from containers as libnetwork
 * does (its words, its status codes). */
static int reserve_aux(net_network *n, berr *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(n->aux_addresses, k, v) {
        const char *addr = json_string_value(v);
        uint32_t a;
        if (!addr || ipam_parse_addr(addr, &a) < 0)
            return berr_set(e, -EINVAL, "non parsable secondary ip address (%s:%s) passed for network %s", k,
                            addr ? addr : "", n->name);
        if ((a & ipam_mask(n->pool.prefix)) != n->pool.subnet)
            return berr_set(e, -EPERM, "auxiliary address: (%s:%s) must belong to the master pool: %s", k, addr,
                            n->subnet);
        berr why = {0};
        if (ipam_reserve(&n->pool, a, &why) < 0 && why.code == -EEXIST)
            return berr_set(e, -EIO, "failed to allocate secondary ip address (%s:%s): %s", k, addr, why.msg);
    }
    return 0;
}

int net_pools_init(net_network *n, berr *e)
{
    ipam_pool_free(&n->pool);
    ipam6_pool_free(&n->pool6);
    int r = ipam_pool_init(&n->pool, n->subnet, n->ip_range, n->gateway, e);
    if (r == 0 && !n->gateway[0])
        ipam_format_addr(n->pool.gateway, n->gateway);
    if (r == 0)
        r = reserve_aux(n, e);
    if (r == 0 && n->ipv6) {
        r = ipam6_pool_init(&n->pool6, n->subnet6, n->ip_range6, n->gateway6, e);
        if (r == 0 && !n->gateway6[0])
            ipam6_format_addr(n->pool6.gateway, n->gateway6);
    }
    return r;
}

/* ---- free subnets ------------------------------------------------------------ */

/* IPv4 subnets of every network but skip. */
static ipam_subnet *taken_subnets(net_manager *nm, const net_network *skip, size_t *n)
{
    ipam_subnet *t = xcalloc(nm->n_nets + 1, sizeof *t);
    *n = 0;
    for (size_t i = 0; i < nm->n_nets; i++) {
        net_network *o = nm->nets[i];
        if (o != skip && o->subnet[0] && ipam_parse_cidr(o->subnet, &t[*n].addr, &t[*n].prefix) == 0)
            (*n)++;
    }
    return t;
}

static ipam6_subnet *taken_subnets6(net_manager *nm, const net_network *skip, size_t *n)
{
    ipam6_subnet *t = xcalloc(nm->n_nets + 1, sizeof *t);
    *n = 0;
    for (size_t i = 0; i < nm->n_nets; i++) {
        net_network *o = nm->nets[i];
        if (o != skip && o->ipv6 && o->subnet6[0] && ipam6_parse_cidr(o->subnet6, &t[*n].addr, &t[*n].prefix) == 0)
            (*n)++;
    }
    return t;
}

static int pick_subnet(net_manager *nm, net_network *n, berr *e)
{
    size_t nt;
    cleanup_free ipam_subnet *taken = taken_subnets(nm, n, &nt);
    ipam_subnet s;
    const ipam_default_pool *pools = nm->cfg.pools ? nm->cfg.pools : ipam_docker_pools;
    size_t np = nm->cfg.pools ? nm->cfg.n_pools : ipam_docker_pools_n;
    int r = ipam_pick_subnet(pools, np, taken, nt, &s, e);
    if (r < 0)
        return r;
    ipam_format_cidr(s.addr, s.prefix, n->subnet);
    n->gateway[0] = 0;
    return 0;
}

/* From the IPv6 default address pools, else (as dockerd) the ULA /48 of
 * this host split into /64s. */
static int pick_subnet6(net_manager *nm, net_network *n, berr *e)
{
    size_t nt;
    cleanup_free ipam6_subnet *taken = taken_subnets6(nm, n, &nt);
    ipam6_subnet s;
    const ipam6_default_pool *pools = nm->cfg.n_pools6 ? nm->cfg.pools6 : &nm->ula;
    size_t np = nm->cfg.n_pools6 ? nm->cfg.n_pools6 : 1;
    int r = ipam6_pick_subnet(pools, np, taken, nt, &s, e);
    if (r < 0)
        return r;
    ipam6_format_cidr(s.addr, s.prefix, n->subnet6);
    n->gateway6[0] = 0;
    n->ip_range6[0] = 0;
    return 0;
}

/* ---- the default bridge ---------------------------------------------------- */

/* IPv6 as dockerd works it out (daemon_unix.go getDefaultBridgeIPAMConf):
 * --bip6 gives the subnet and the bridge's address, --fixed-cidr-v6 the
 * range containers' addresses come from (and the subnet without --bip6);
 * with neither, a subnet from the pools, kept across restarts. */
static int default_bridge_v6(net_manager *nm, net_network *n, berr *e)
{
    const net_config *c = &nm->cfg;
    n->ipv6 = c->ipv6;
    if (!c->ipv6) {
        n->subnet6[0] = n->ip_range6[0] = n->gateway6[0] = 0;
        n->user_subnet6 = false;
        return 0;
    }
    ipam6_addr a, f;
    int len, flen;
    const char *bip6 = c->bip6 ? c->bip6 : "", *fixed = c->fixed_cidr_v6 ? c->fixed_cidr_v6 : "";
    if (*fixed && ipam6_parse_cidr(fixed, &f, &flen) < 0)
        return berr_set(e, -EINVAL, "invalid fixed-cidr-v6: invalid CIDR address: %s", fixed);
    if (*bip6) {
        if (ipam6_parse_cidr(bip6, &a, &len) < 0)
            return berr_set(e, -EINVAL, "parse bip6 failed: invalid CIDR address: %s", bip6);
        ipam6_format_cidr(a & ipam6_mask(len), len, n->subnet6);
        ipam6_format_addr(a, n->gateway6);
        snprintf(n->ip_range6, sizeof n->ip_range6, "%s", fixed);
        n->user_subnet6 = true;
    } else if (*fixed) {
        ipam6_format_cidr(f & ipam6_mask(flen), flen, n->subnet6);
        n->ip_range6[0] = n->gateway6[0] = 0;
        n->user_subnet6 = true;
    } else if (!n->subnet6[0] || n->user_subnet6) {
        n->user_subnet6 = false;
        return pick_subnet6(nm, n, e);
    }
    return 0;
}

/* The default bridge follows --bip, --fixed-cidr and the IPv6 flags at
 * every start; without --bip it keeps the subnet it got the first time. */
int net_default_bridge_subnets(net_manager *nm, net_network *n, berr *e)
{
    const net_config *c = &nm->cfg;
    snprintf(n->ip_range, sizeof n->ip_range, "%s", c->fixed_cidr);
    if (*c->bip) {
        uint32_t a;
        int len;
        if (ipam_parse_cidr(c->bip, &a, &len) < 0)
            return berr_set(e, -EINVAL, "invalid value for --bip: %s", c->bip);
        ipam_format_cidr(a & ipam_mask(len), len, n->subnet);
        ipam_format_addr(a, n->gateway);
    } else if (!n->subnet[0]) {
        int r = pick_subnet(nm, n, e);
        if (r < 0)
            return r;
    }
    int r = default_bridge_v6(nm, n, e);
    if (r == 0)
        r = net_pools_init(n, e);
    return r < 0 ? berr_wrap(e, "default bridge") : 0;
}

/* ---- a network's IPAM config --------------------------------------------------- */

/* One family's config: its subnet (masked, checked against the other
 * networks'), range and gateway, or a subnet from the pools. */
static int create_v4(net_manager *nm, net_network *n, json_t *v4, berr *e)
{
    json_t *aux = v4 ? json_object_get(v4, "AuxiliaryAddresses") : NULL;
    if (json_object_size(aux))
        n->aux_addresses = json_deep_copy(aux);
    const char *subnet = v4 ? json_str(v4, "Subnet") : "";
    if (!*subnet && v4 && (*json_str(v4, "Gateway") || *json_str(v4, "IPRange")))
        return berr_set(e, -EINVAL, "a subnet is required with --gateway or --ip-range");
    if (!*subnet)
        return pick_subnet(nm, n, e);
    uint32_t a;
    int len;
    if (ipam_parse_cidr(subnet, &a, &len) < 0)
        return berr_set(e, -EINVAL, "invalid CIDR address: %s", subnet);
    ipam_format_cidr(a & ipam_mask(len), len, n->subnet);
    size_t nt;
    cleanup_free ipam_subnet *taken = taken_subnets(nm, n, &nt);
    for (size_t t = 0; t < nt; t++)
        if (ipam_overlaps(a, len, taken[t].addr, taken[t].prefix))
            return berr_set(e, -EPERM, "invalid pool request: Pool overlaps with other one on this address space");
    snprintf(n->ip_range, sizeof n->ip_range, "%s", json_str(v4, "IPRange"));
    snprintf(n->gateway, sizeof n->gateway, "%s", json_str(v4, "Gateway"));
    n->user_subnet = true;
    return 0;
}

static int create_v6(net_manager *nm, net_network *n, json_t *v6, berr *e)
{
    if (json_object_size(json_object_get(v6, "AuxiliaryAddresses")))
        return berr_set(e, -ENOSYS, "IPv6 auxiliary addresses are not supported by berthd yet");
    const char *subnet = v6 ? json_str(v6, "Subnet") : "";
    if (!*subnet && v6 && (*json_str(v6, "Gateway") || *json_str(v6, "IPRange")))
        return berr_set(e, -EINVAL, "a subnet is required with --gateway or --ip-range");
    if (!*subnet)
        return pick_subnet6(nm, n, e);
    ipam6_addr a;
    int len;
    if (ipam6_parse_cidr(subnet, &a, &len) < 0)
        return berr_set(e, -EINVAL, "invalid CIDR address: %s", subnet);
    ipam6_format_cidr(a & ipam6_mask(len), len, n->subnet6);
    size_t nt;
    cleanup_free ipam6_subnet *taken = taken_subnets6(nm, n, &nt);
    for (size_t t = 0; t < nt; t++)
        if (ipam6_overlaps(a, len, taken[t].addr, taken[t].prefix))
            return berr_set(e, -EPERM, "invalid pool request: Pool overlaps with other one on this address space");
    snprintf(n->ip_range6, sizeof n->ip_range6, "%s", json_str(v6, "IPRange"));
    snprintf(n->gateway6, sizeof n->gateway6, "%s", json_str(v6, "Gateway"));
    n->user_subnet6 = true;
    return 0;
}

/* The family of a config is its subnet's, else its range's or gateway's. */
static bool config_is_v6(json_t *c)
{
    const char *s = json_str(c, "Subnet");
    if (!*s)
        s = json_str(c, "IPRange");
    if (!*s)
        s = json_str(c, "Gateway");
    return ipam6_is_v6_text(s);
}

int net_create_ipam(net_manager *nm, net_network *n, json_t *ipam, bool enable_ipv6, berr *e)
{
    const char *drv = json_str(ipam, "Driver");
    if (*drv && strcmp(drv, "default"))
        return berr_set(e, -ENOSYS, "IPAM driver %s is not available in berthd: only \"default\"", drv);
    json_t *v4 = NULL, *v6 = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ipam, "Config"), i, c) {
        json_t **slot = config_is_v6(c) ? &v6 : &v4;
        if (*slot)
            return berr_set(e, -ENOSYS, "berthd supports one IPv%c subnet per network", slot == &v6 ? '6' : '4');
        *slot = c;
    }
    int r = create_v4(nm, n, v4, e);
    /* As dockerd: an IPv6 config on a network without EnableIPv6 is not used. */
    n->ipv6 = enable_ipv6;
    if (r == 0 && enable_ipv6)
        r = create_v6(nm, n, v6, e);
    return r < 0 ? r : net_pools_init(n, e);
}
