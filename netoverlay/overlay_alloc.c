#include "netoverlay/overlay_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/jsonutil.h"

static json_t *get2(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

static const json_t *ipam_config(const json_t *net)
{
    return json_array_get(get2(net, "IPAM", "Configs"), 0);
}

uint32_t ovl_network_vni(const json_t *net)
{
    const char *s = json_str(get2(net, "DriverState", "Options"), OVL_VNI_OPTION);
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    return *s && (*end == 0 || *end == ',') && v <= OVL_VNI_LAST ? (uint32_t)v : 0;
}

const char *ovl_network_subnet(const json_t *net) { return json_str(ipam_config(net), "Subnet"); }
const char *ovl_network_gateway(const json_t *net) { return json_str(ipam_config(net), "Gateway"); }

bool ovl_network_is_overlay(const json_t *net)
{
    return !strcmp(json_str(get2(net, "Spec", "DriverConfiguration"), "Name"), "overlay");
}

int ovl_pick_vni(const json_t *networks, uint32_t *out, berr *e)
{
    /* Few networks: a scan per candidate is cheaper than a bitmap of 2^24. */
    for (uint32_t v = OVL_VNI_FIRST; v <= OVL_VNI_LAST; v++) {
        bool used = false;
        size_t i;
        json_t *n;
        json_array_foreach(networks, i, n) used |= ovl_network_vni(n) == v;
        if (!used) {
            *out = v;
            return 0;
        }
    }
    return berr_set(e, -ENOSPC, "no VXLAN network identifier is left");
}

int ovl_pick_subnet(const json_t *cluster, const json_t *networks, ipam_subnet *out, berr *e)
{
    json_t *pool = json_object_get(cluster, "DefaultAddrPool");
    long long size = json_integer_value(json_object_get(cluster, "SubnetSize"));
    if (size <= 0)
        size = 24;
    size_t np = json_array_size(pool) ? json_array_size(pool) : 1;
    ipam_default_pool *pools = xcalloc(np, sizeof *pools);
    size_t k = 0;
    if (!json_array_size(pool)) {
        pools[k++] = (ipam_default_pool){0x0a000000u, 8, (int)size};
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(pool, i, c) {
            uint32_t a;
            int len;
            if (!json_is_string(c) || ipam_parse_cidr(json_string_value(c), &a, &len) < 0 || len > size)
                continue;
            pools[k++] = (ipam_default_pool){a & ipam_mask(len), len, (int)size};
        }
    }
    ipam_subnet *taken = xcalloc(json_array_size(networks) + 1, sizeof *taken);
    size_t nt = 0, i;
    json_t *n;
    json_array_foreach(networks, i, n)
        if (ipam_parse_cidr(ovl_network_subnet(n), &taken[nt].addr, &taken[nt].prefix) == 0)
            nt++;
    int r = ipam_pick_subnet(pools, k, taken, nt, out, e);
    free(taken);
    free(pools);
    return r;
}

/* ---- addresses ----------------------------------------------------------- */

typedef struct ovl_pool {
    const json_t *net;
    ipam_pool pool;
    bool ok;          /* the network's IPAM config made a pool */
} ovl_pool;

struct ovl_alloc {
    ovl_pool *pools;
    size_t n;
};

static ovl_pool *pool_of(ovl_alloc *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(json_str(a->pools[i].net, "ID"), id))
            return a->pools[i].ok ? &a->pools[i] : NULL;
    return NULL;
}

static void reserve_cidr(ovl_pool *p, const char *cidr)
{
    uint32_t ip;
    int len;
    if (p && ipam_parse_cidr(cidr, &ip, &len) == 0)
        ipam_reserve(&p->pool, ip, NULL);
}

bool ovl_task_holds_addresses(const json_t *task)
{
    static const char *const over[] = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"};
    const char *st = json_str(json_object_get(task, "Status"), "State");
    /* A plain container's attachment (node/attachment_tasks.h) keeps its
     * address while it exists: the container comes back to it after a
     * stop, as the task's state says. */
    if (*json_str(get2(task, "Spec", "NetworkAttachmentSpec"), "ContainerID"))
        return strcmp(st, "rejected") != 0;
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++)
        if (!strcmp(st, over[i]))
            return false;
    return true;
}

ovl_alloc *ovl_alloc_new(const json_t *networks, const json_t *services, const json_t *tasks)
{
    ovl_alloc *a = xcalloc(1, sizeof *a);
    a->pools = xcalloc(json_array_size(networks) + 1, sizeof *a->pools);
    size_t i, k;
    json_t *n, *s, *t, *x;
    json_array_foreach(networks, i, n) {
        if (!ovl_network_is_overlay(n))
            continue;
        ovl_pool *p = &a->pools[a->n++];
        p->net = n;
        const json_t *c = ipam_config(n);
        p->ok = ipam_pool_init(&p->pool, json_str(c, "Subnet"), json_str(c, "Range"), json_str(c, "Gateway"), NULL) == 0;
    }
    json_array_foreach(services, i, s)
        json_array_foreach(get2(s, "Endpoint", "VirtualIPs"), k, x)
            reserve_cidr(pool_of(a, json_str(x, "NetworkID")), json_str(x, "Addr"));
    json_array_foreach(tasks, i, t) {
        if (!ovl_task_holds_addresses(t))
            continue;
        json_array_foreach(json_object_get(t, "NetworksAttachments"), k, x) {
            size_t j;
            json_t *addr;
            ovl_pool *p = pool_of(a, json_str(json_object_get(x, "Network"), "ID"));
            json_array_foreach(json_object_get(x, "Addresses"), j, addr) reserve_cidr(p, json_string_value(addr));
        }
    }
    return a;
}

void ovl_alloc_free(ovl_alloc *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        if (a->pools[i].ok)
            ipam_pool_free(&a->pools[i].pool);
    free(a->pools);
    free(a);
}

const json_t *ovl_alloc_network(const ovl_alloc *a, const char *ref)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(json_str(a->pools[i].net, "ID"), ref))
            return a->pools[i].net;
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(json_str(json_object_get(a->pools[i].net, "Spec"), "Name"), ref))
            return a->pools[i].net;
    return NULL;
}

static const json_t *ingress_network(const ovl_alloc *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (json_is_true(get2(a->pools[i].net, "Spec", "Ingress")))
            return a->pools[i].net;
    return NULL;
}

int ovl_ingress_node_addr(const json_t *net, size_t index, uint32_t *out)
{
    uint32_t a;
    int len;
    if (ipam_parse_cidr(ovl_network_subnet(net), &a, &len) < 0 || len > 30)
        return -EINVAL;
    uint32_t last = (a & ipam_mask(len)) | ~ipam_mask(len);   /* the broadcast address */
    uint64_t hosts = ((uint64_t)1 << (32 - len)) - 3;           /* without network, broadcast, gateway */
    if (index >= hosts / 2)
        return -ENOSPC;
    *out = last - 1 - (uint32_t)index;
    return 0;
}

void ovl_alloc_reserve_nodes(ovl_alloc *a, size_t n)
{
    const json_t *ing = ingress_network(a);
    ovl_pool *p = ing ? pool_of(a, json_str(ing, "ID")) : NULL;
    uint32_t ip;
    for (size_t i = 0; p && i < n && ovl_ingress_node_addr(ing, i, &ip) == 0; i++)
        ipam_reserve(&p->pool, ip, NULL);
}

/* One address "a.b.c.d/len" on net, in *out. */
static int take(ovl_alloc *a, const json_t *net, char out[IPAM_CIDR_BUF], berr *e)
{
    ovl_pool *p = pool_of(a, json_str(net, "ID"));
    if (!p)
        return berr_set(e, -EINVAL, "network %s has no usable IPv4 configuration", json_str(json_object_get(net, "Spec"), "Name"));
    uint32_t ip;
    if (ipam_alloc(&p->pool, &ip, NULL) < 0)
        return berr_set(e, -ENOSPC, "could not find an available IP while allocating on network %s",
                        json_str(json_object_get(net, "Spec"), "Name"));
    ipam_format_cidr(ip, p->pool.prefix, out);
    return 0;
}

/* The network a spec's {Target} names; NULL with *r = -ENOENT if gone. */
static const json_t *target(ovl_alloc *a, const json_t *want, berr *e, int *r)
{
    const json_t *net = ovl_alloc_network(a, json_str(want, "Target"));
    if (!net)
        *r = berr_set(e, -ENOENT, "network %s not found", json_str(want, "Target"));
    return net;
}

static json_t *attachment(const json_t *net, const char *addr)
{
    json_t *copy = json_deep_copy(net);
    json_object_del(copy, "Berth");
    return json_pack("{s:o, s:[s]}", "Network", copy, "Addresses", addr);
}

int ovl_alloc_task(ovl_alloc *a, json_t *task, bool ingress, berr *e)
{
    if (json_array_size(json_object_get(task, "NetworksAttachments")))
        return 0;
    json_t *nets = get2(task, "Spec", "Networks");
    const json_t *ing = ingress ? ingress_network(a) : NULL;
    if (!json_array_size(nets) && !ing)
        return 0;
    json_t *list = json_array();
    int r = 0;
    char addr[IPAM_CIDR_BUF];
    if (ing && (r = take(a, ing, addr, e)) == 0)
        json_array_append_new(list, attachment(ing, addr));
    size_t i;
    json_t *n;
    json_array_foreach(nets, i, n) {
        const json_t *net = r < 0 ? NULL : target(a, n, e, &r);
        if (!net)
            break;
        if (net == ing)
            continue;
        if ((r = take(a, net, addr, e)) == 0)
            json_array_append_new(list, attachment(net, addr));
    }
    if (r < 0) {
        /* Give back what this task got, so a retry finds them free. */
        size_t k;
        json_t *x;
        json_array_foreach(list, k, x) {
            uint32_t ip;
            int len;
            ovl_pool *p = pool_of(a, json_str(json_object_get(x, "Network"), "ID"));
            if (p && ipam_parse_cidr(json_string_value(json_array_get(json_object_get(x, "Addresses"), 0)), &ip, &len) == 0)
                ipam_release(&p->pool, ip);
        }
        json_decref(list);
        return r;
    }
    json_object_set_new(task, "NetworksAttachments", list);
    return 0;
}

static const char *old_vip(const json_t *old_vips, const char *net_id)
{
    size_t i;
    json_t *v;
    json_array_foreach(old_vips, i, v) if (!strcmp(json_str(v, "NetworkID"), net_id)) return json_str(v, "Addr");
    return NULL;
}

static int add_vip(ovl_alloc *a, const json_t *net, const json_t *old_vips, json_t *out, berr *e)
{
    const char *id = json_str(net, "ID");
    size_t i;
    json_t *v;
    json_array_foreach(out, i, v) if (!strcmp(json_str(v, "NetworkID"), id)) return 0;
    const char *kept = old_vip(old_vips, id);
    char addr[IPAM_CIDR_BUF];
    if (kept && *kept) {
        snprintf(addr, sizeof addr, "%s", kept);
    } else {
        int r = take(a, net, addr, e);
        if (r < 0)
            return r;
    }
    json_array_append_new(out, json_pack("{s:s, s:s}", "NetworkID", id, "Addr", addr));
    return 0;
}

int ovl_alloc_vips(ovl_alloc *a, const json_t *spec, const json_t *old_vips, bool ingress, json_t **out, berr *e)
{
    bool dnsrr = !strcmp(json_str(json_object_get(spec, "EndpointSpec"), "Mode"), "dnsrr");
    json_t *vips = json_array();
    int r = 0;
    const json_t *ing = ingress ? ingress_network(a) : NULL;
    if (ing)
        r = add_vip(a, ing, old_vips, vips, e);
    size_t i;
    json_t *n;
    json_array_foreach(dnsrr ? NULL : get2(spec, "TaskTemplate", "Networks"), i, n) {
        const json_t *net = r < 0 ? NULL : target(a, n, e, &r);
        if (!net)
            break;
        r = add_vip(a, net, old_vips, vips, e);
    }
    if (r < 0) {
        json_decref(vips);
        return r;
    }
    *out = vips;
    return 0;
}
