#include "netoverlay/overlay.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "netoverlay/netlink.h"
#include "netoverlay/overlay_alloc.h"
#include "netoverlay/sandbox.h"
#include "netoverlay/vip.h"

#define OPT_MTU "com.docker.network.driver.mtu"
#define VXLAN_OVERHEAD 50

void net_overlay_mac(uint32_t ip, uint8_t mac[6])
{
    uint8_t m[6] = {0x02, 0x42, (uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip};
    memcpy(mac, m, 6);
}

void net_overlay_set_local(net_manager *nm, const char *vtep, uint16_t port)
{
    snprintf(nm->vtep, sizeof nm->vtep, "%s", vtep ? vtep : "");
    nm->vxlan_port = port ? port : 4789;
}

static void svcs_free(net_svc *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(s[i].aliases);
        free(s[i].backends);
    }
    free(s);
}

void net_overlay_free(net_overlay *ov)
{
    if (!ov)
        return;
    free(ov->peers);
    free(ov->applied);
    svcs_free(ov->svcs, ov->n_svcs);
    free(ov);
}

/* ---- the mirror of the store's networks ----------------------------------- */

static json_t *get2(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

/* A net_network for the store's document, or NULL when it cannot be one
 * (no VNI or subnet: not made by a berth manager). */
static net_network *from_doc(net_manager *nm, const json_t *doc)
{
    uint32_t vni = ovl_network_vni(doc);
    const json_t *spec = json_object_get(doc, "Spec");
    if (!vni || !*ovl_network_subnet(doc))
        return NULL;
    net_network *n = xcalloc(1, sizeof *n);
    n->ov = xcalloc(1, sizeof *n->ov);
    n->ov->vni = vni;
    n->ov->ingress = json_is_true(json_object_get(spec, "Ingress"));
    snprintf(n->ov->vxlan, sizeof n->ov->vxlan, "vx-%u", vni);
    snprintf(n->id, sizeof n->id, "%s", json_str(doc, "ID"));
    snprintf(n->name, sizeof n->name, "%s", json_str(spec, "Name"));
    snprintf(n->created, sizeof n->created, "%s", json_str(doc, "CreatedAt"));
    snprintf(n->driver, sizeof n->driver, "overlay");
    snprintf(n->bridge, sizeof n->bridge, "ov-%u", vni);
    n->internal = json_is_true(json_object_get(spec, "Internal"));
    n->attachable = json_is_true(json_object_get(spec, "Attachable"));
    n->icc = true;
    n->masquerade = !n->ov->ingress;
    n->user_subnet = true;   /* --ip is allowed: every overlay has a subnet of its own */
    const json_t *cfg = json_array_get(get2(doc, "IPAM", "Configs"), 0);
    snprintf(n->subnet, sizeof n->subnet, "%s", json_str(cfg, "Subnet"));
    snprintf(n->gateway, sizeof n->gateway, "%s", json_str(cfg, "Gateway"));
    snprintf(n->ip_range, sizeof n->ip_range, "%s", json_str(cfg, "Range"));
    json_t *labels = json_object_get(spec, "Labels");
    n->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    json_t *opts = get2(spec, "DriverConfiguration", "Options");
    n->options = json_is_object(opts) ? json_deep_copy(opts) : json_object();
    json_object_set_new(n->options, OVL_VNI_OPTION, json_sprintf("%u", vni));
    int mtu = atoi(json_str(n->options, OPT_MTU));
    n->mtu = mtu > 0 ? mtu : (nm->cfg.mtu > 0 ? nm->cfg.mtu : 1500) - VXLAN_OVERHEAD;
    if (ipam_pool_init(&n->pool, n->subnet, n->ip_range, n->gateway, NULL) < 0) {
        net_network_free(n);
        return NULL;
    }
    return n;
}

void net_overlay_set_networks(net_manager *nm, json_t *docs)
{
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        if (!ovl_network_is_overlay(doc))
            continue;
        net_network *cur = NULL;
        for (size_t k = 0; k < nm->n_nets && !cur; k++)
            if (nm->nets[k]->ov && !strcmp(nm->nets[k]->id, json_str(doc, "ID")))
                cur = nm->nets[k];
        if (cur) {
            cur->ov->gone = false;
            continue;   /* overlay networks cannot be changed once made */
        }
        net_network *n = from_doc(nm, doc);
        if (n)
            net_network_adopt(nm, n);
    }
    for (size_t k = 0; k < nm->n_nets;) {
        net_network *n = nm->nets[k];
        bool kept = !n->ov;
        json_array_foreach(docs, i, doc) kept |= !strcmp(n->id, json_str(doc, "ID"));
        if (kept) {
            k++;
            continue;
        }
        n->ov->gone = true;
        if (net_network_in_use(n)) {
            k++;
            continue;
        }
        net_overlay_down(nm, n);
        net_network_drop(nm, n);
    }
}

/* ---- the data path ---------------------------------------------------------- */

static bool same_peer(const net_peer *a, const net_peer *b) { return a->ip == b->ip && a->vtep == b->vtep; }

static int peer_set(net_manager *nm, net_network *n, const net_peer *p, bool add, berr *e)
{
    uint8_t mac[6];
    char ip[IPAM_ADDR_BUF], vtep[IPAM_ADDR_BUF];
    net_overlay_mac(p->ip, mac);
    ipam_format_addr(p->ip, ip);
    ipam_format_addr(p->vtep, vtep);
    int r = netlink_fdb_set(nm->nl, n->ov->vxlan, mac, vtep, add, e);
    if (r == 0)
        r = netlink_neigh_set(nm->nl, n->ov->vxlan, ip, mac, add, e);
    return r;
}

/* Brings the kernel's FDB and ARP entries to the wanted peers: removes
 * the ones that went, adds the new ones. */
static void apply_peers(net_manager *nm, net_network *n)
{
    net_overlay *ov = n->ov;
    berr e = {0};
    for (size_t i = 0; i < ov->n_applied; i++) {
        bool keep = false;
        for (size_t k = 0; k < ov->n_peers && !keep; k++)
            keep = same_peer(&ov->applied[i], &ov->peers[k]);
        if (!keep && peer_set(nm, n, &ov->applied[i], false, &e) < 0)
            log_warn("overlay %s: %s", n->name, e.msg);
    }
    for (size_t k = 0; k < ov->n_peers; k++) {
        bool had = false;
        for (size_t i = 0; i < ov->n_applied && !had; i++)
            had = same_peer(&ov->applied[i], &ov->peers[k]);
        if (!had && peer_set(nm, n, &ov->peers[k], true, &e) < 0)
            log_warn("overlay %s: %s", n->name, e.msg);
    }
    free(ov->applied);
    ov->applied = ov->n_peers ? xmalloc(ov->n_peers * sizeof *ov->applied) : NULL;
    if (ov->n_peers)
        memcpy(ov->applied, ov->peers, ov->n_peers * sizeof *ov->applied);
    ov->n_applied = ov->n_peers;
}

/* This node's mesh address on the bridge, with the MAC the other nodes
 * derive for it, so frames the VXLAN brings for it reach the host. */
static void apply_node_addr(net_manager *nm, net_network *n)
{
    net_overlay *ov = n->ov;
    if (!ov->up || ov->addr_applied == ov->node_addr)
        return;
    berr e = {0};
    char cidr[IPAM_CIDR_BUF];
    if (ov->addr_applied) {
        ipam_format_cidr(ov->addr_applied, n->pool.prefix, cidr);
        netlink_addr_del(nm->nl, n->bridge, cidr, NULL);
    }
    ov->addr_applied = 0;
    if (!ov->node_addr)
        return;
    uint8_t mac[6];
    net_overlay_mac(ov->node_addr, mac);
    ipam_format_cidr(ov->node_addr, n->pool.prefix, cidr);
    if (netlink_link_set_mac(nm->nl, n->bridge, mac, &e) < 0 || netlink_addr_add(nm->nl, n->bridge, cidr, &e) < 0) {
        log_warn("overlay %s: %s", n->name, e.msg);
        return;
    }
    ov->addr_applied = ov->node_addr;
}

void net_overlay_set_mesh(net_manager *nm, net_network *n, uint32_t node_addr, bool pinned)
{
    net_overlay *ov = n->ov;
    ov->node_addr = node_addr;
    ov->pinned = pinned;
    berr e = {0};
    if (pinned && !ov->up && net_overlay_up(nm, n, &e) < 0)
        log_warn("routing mesh: %s", e.msg);
    else if (!pinned && ov->up && !n->endpoints)
        net_overlay_down(nm, n);
    apply_node_addr(nm, n);
    if (net_rules_sync(nm, &e) < 0)
        log_warn("routing mesh: %s", e.msg);
}

net_network *net_overlay_mesh(net_manager *nm)
{
    for (size_t i = 0; i < nm->n_nets; i++) {
        net_network *n = nm->nets[i];
        if (n->ov && n->ov->ingress && n->ov->up && n->ov->addr_applied)
            return n;
    }
    return NULL;
}

int net_overlay_up(net_manager *nm, net_network *n, berr *e)
{
    if (!n->ov || n->ov->up)
        return 0;
    if (!nm->vtep[0])
        return berr_set(e, -ENOTCONN, "network %s: this node has no data path address (is it part of a swarm?)", n->name);
    int r = net_bridge_up(nm, n, e);
    if (r == 0)
        r = netlink_vxlan_ensure(nm->nl, n->ov->vxlan, n->ov->vni, nm->vtep, nm->vxlan_port, n->bridge, n->mtu, e);
    if (r < 0) {
        netlink_link_delete(nm->nl, n->ov->vxlan, NULL);
        netlink_link_delete(nm->nl, n->bridge, NULL);
        return berr_wrap(e, "network %s", n->name);
    }
    n->ov->up = true;
    n->ov->n_applied = 0;
    n->ov->addr_applied = 0;
    apply_peers(nm, n);
    apply_node_addr(nm, n);
    log_info("overlay %s: VNI %u up on %s:%u, %zu remote endpoints", n->name, n->ov->vni, nm->vtep, nm->vxlan_port,
             n->ov->n_peers);
    return 0;
}

void net_overlay_down(net_manager *nm, net_network *n)
{
    if (!n->ov || !n->ov->up || n->ov->pinned)
        return;
    berr e = {0};
    /* The FDB and ARP entries go with the device. */
    if (netlink_link_delete(nm->nl, n->ov->vxlan, &e) < 0 || netlink_link_delete(nm->nl, n->bridge, &e) < 0)
        log_warn("overlay %s: %s", n->name, e.msg);
    n->ov->up = false;
    n->ov->addr_applied = 0;
    free(n->ov->applied);
    n->ov->applied = NULL;
    n->ov->n_applied = 0;
}

void net_overlay_set_view(net_manager *nm, net_network *n, net_peer *peers, size_t n_peers, net_svc *svcs,
                          size_t n_svcs)
{
    net_overlay *ov = n->ov;
    free(ov->peers);
    ov->peers = peers;
    ov->n_peers = n_peers;
    svcs_free(ov->svcs, ov->n_svcs);
    ov->svcs = svcs;
    ov->n_svcs = n_svcs;
    if (ov->up)
        apply_peers(nm, n);
    for (net_endpoint *ep = n->endpoints; ep; ep = ep->next)
        net_vip_sync(ep->sb);
}

/* ---- names ------------------------------------------------------------------ */

static void add_addr(uint32_t ip, struct in_addr *out, size_t *count, size_t max)
{
    for (size_t k = 0; k < *count; k++)
        if (out[k].s_addr == htonl(ip))
            return;
    if (*count < max)
        out[(*count)++].s_addr = htonl(ip);
}

static bool svc_named(const net_svc *s, const char *name)
{
    if (!strcasecmp(s->name, name))
        return true;
    size_t i;
    json_t *a;
    json_array_foreach(s->aliases, i, a) if (!strcasecmp(json_string_value(a), name)) return true;
    return false;
}

void net_overlay_lookup_a(const net_network *n, const char *name, struct in_addr *out, size_t *count, size_t max)
{
    const net_overlay *ov = n->ov;
    bool tasks = !strncasecmp(name, "tasks.", 6);
    for (size_t i = 0; i < ov->n_svcs; i++) {
        const net_svc *s = &ov->svcs[i];
        if (tasks && svc_named(s, name + 6)) {
            for (size_t k = 0; k < s->n_backends; k++)
                add_addr(s->backends[k], out, count, max);
        } else if (!tasks && svc_named(s, name)) {
            if (s->vip)
                add_addr(s->vip, out, count, max);
            else
                for (size_t k = 0; k < s->n_backends; k++)
                    add_addr(s->backends[k], out, count, max);
        }
    }
    for (size_t i = 0; i < ov->n_peers; i++)
        if (ov->peers[i].name[0] && !strcasecmp(ov->peers[i].name, name))
            add_addr(ov->peers[i].ip, out, count, max);
}

bool net_overlay_lookup_ptr(const net_network *n, uint32_t ip, char *name, size_t cap)
{
    const net_overlay *ov = n->ov;
    for (size_t i = 0; i < ov->n_peers; i++)
        if (ov->peers[i].ip == ip && ov->peers[i].name[0]) {
            snprintf(name, cap, "%s.%s", ov->peers[i].name, n->name);
            return true;
        }
    for (size_t i = 0; i < ov->n_svcs; i++)
        if (ov->svcs[i].vip == ip) {
            snprintf(name, cap, "%s", ov->svcs[i].name);
            return true;
        }
    return false;
}

json_t *net_overlay_peers_json(net_manager *nm, const net_network *n, const char *self_name)
{
    if (!n->ov || !n->ov->up)
        return NULL;
    json_t *out = json_pack("[{s:s, s:s}]", "Name", self_name, "IP", nm->vtep);
    const net_overlay *ov = n->ov;
    for (size_t i = 0; i < ov->n_peers; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = ov->peers[k].vtep == ov->peers[i].vtep;
        if (seen)
            continue;
        char ip[IPAM_ADDR_BUF];
        ipam_format_addr(ov->peers[i].vtep, ip);
        json_array_append_new(out, json_pack("{s:s, s:s}", "Name", ip, "IP", ip));
    }
    return out;
}
