#include "netoverlay/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "netoverlay/netlink.h"
#include "netoverlay/netns.h"
#include "netoverlay/overlay.h"
#include "netoverlay/dns/resolver.h"
#include "netoverlay/vip.h"

static void emit(net_manager *nm, net_network *n, const char *action, const char *container)
{
    if (nm->events.emit)
        nm->events.emit(nm->events.ctx, "network", action, n->id,
                        json_pack("{s:s, s:s, s:s}", "container", container, "name", n->name, "type", n->driver));
}

net_sandbox *net_sandbox_of(net_manager *nm, const char *container_id)
{
    for (net_sandbox *sb = nm->sandboxes; sb; sb = sb->next)
        if (!strcmp(sb->container_id, container_id))
            return sb;
    return NULL;
}

/* ---- embedded DNS lookups ------------------------------------------------------ */

/* Whether name is o's container as seen on network n: its name, an alias,
 * its short ID, or "name.network". */
static bool names_endpoint(const net_endpoint *o, const net_network *n, const char *name)
{
    const char *cname = o->sb->name;
    if (!strcasecmp(name, cname) || (strlen(name) == 12 && !strncasecmp(name, o->sb->container_id, 12)))
        return true;
    size_t cl = strlen(cname);
    if (!strncasecmp(name, cname, cl) && name[cl] == '.' && !strcasecmp(name + cl + 1, n->name))
        return true;
    size_t i;
    json_t *a;
    json_array_foreach(o->aliases, i, a) if (!strcasecmp(name, json_string_value(a))) return true;
    return false;
}

/* A legacy link of the asking container's endpoint ("db:alias"): on its
 * network the alias stands for the linked container's name, for this
 * container alone (libnetwork's endpoint aliases). */
static const char *link_target(const net_endpoint *ep, const char *name, char *buf, size_t cap)
{
    size_t i;
    json_t *v;
    json_array_foreach(ep->links, i, v) {
        const char *l = json_string_value(v);
        const char *colon = l ? strchr(l, ':') : NULL;
        const char *alias = colon ? colon + 1 : l;
        if (!alias)
            continue;
        const char *slash = strrchr(alias, '/');
        if (slash)
            alias = slash + 1;
        if (strcasecmp(alias, name))
            continue;
        size_t len = colon ? (size_t)(colon - l) : strlen(l);
        if (*l == '/')
            l++, len--;
        if (len && len < cap) {
            memcpy(buf, l, len);
            buf[len] = 0;
            return buf;
        }
    }
    return name;
}

/* Answers are shuffled, as Docker's resolver does: round-robin across
 * the containers behind an alias.  Items of at most 16 bytes. */
static void shuffle(void *items, size_t n, size_t size)
{
    uint8_t *a = items, t[16];
    for (size_t i = n; i > 1; i--) {
        size_t k = randombytes_uniform((uint32_t)i);
        memcpy(t, a + (i - 1) * size, size);
        memcpy(a + (i - 1) * size, a + k * size, size);
        memcpy(a + k * size, t, size);
    }
}

static size_t lookup_a(void *ctx, const char *name, struct in_addr *out, size_t max)
{
    net_sandbox *sb = ctx;
    size_t count = 0;
    for (size_t i = 0; i < sb->n_eps; i++) {
        net_network *n = sb->eps[i]->net;
        if (n->predefined)
            continue;   /* the default bridge has no name resolution, as with dockerd */
        char linked[256];
        const char *want = link_target(sb->eps[i], name, linked, sizeof linked);
        for (net_endpoint *o = n->endpoints; o && count < max; o = o->next) {
            if (!names_endpoint(o, n, want))
                continue;
            bool dup = false;
            for (size_t k = 0; k < count && !dup; k++)
                dup = out[k].s_addr == htonl(o->ip);
            if (!dup)
                out[count++].s_addr = htonl(o->ip);
        }
        /* Services and the containers of other nodes, from the store. */
        if (n->ov)
            net_overlay_lookup_a(n, name, out, &count, max);
    }
    shuffle(out, count, sizeof *out);
    return count;
}

static bool lookup_ptr(void *ctx, struct in_addr addr, char *name, size_t cap)
{
    net_sandbox *sb = ctx;
    uint32_t ip = ntohl(addr.s_addr);
    for (size_t i = 0; i < sb->n_eps; i++) {
        net_network *n = sb->eps[i]->net;
        if (n->predefined)
            continue;
        for (net_endpoint *o = n->endpoints; o; o = o->next)
            if (o->ip == ip) {
                snprintf(name, cap, "%s.%s", o->sb->name, n->name);
                return true;
            }
        if (n->ov && net_overlay_lookup_ptr(n, ip, name, cap))
            return true;
    }
    return false;
}

/* The IPv6 half: containers on IPv6 networks (overlays are IPv4 only). */
static size_t lookup_aaaa(void *ctx, const char *name, struct in6_addr *out, size_t max)
{
    net_sandbox *sb = ctx;
    size_t count = 0;
    for (size_t i = 0; i < sb->n_eps; i++) {
        net_network *n = sb->eps[i]->net;
        if (n->predefined || !n->ipv6)
            continue;
        char linked[256];
        const char *want = link_target(sb->eps[i], name, linked, sizeof linked);
        for (net_endpoint *o = n->endpoints; o && count < max; o = o->next) {
            if (!o->has_ip6 || !names_endpoint(o, n, want))
                continue;
            struct in6_addr a;
            ipam6_to_bytes(o->ip6, a.s6_addr);
            bool dup = false;
            for (size_t k = 0; k < count && !dup; k++)
                dup = !memcmp(&out[k], &a, sizeof a);
            if (!dup)
                out[count++] = a;
        }
    }
    shuffle(out, count, sizeof *out);
    return count;
}

static bool lookup_ptr6(void *ctx, const struct in6_addr *addr, char *name, size_t cap)
{
    net_sandbox *sb = ctx;
    ipam6_addr ip = ipam6_from_bytes(addr->s6_addr);
    for (size_t i = 0; i < sb->n_eps; i++) {
        net_network *n = sb->eps[i]->net;
        if (n->predefined || !n->ipv6)
            continue;
        for (net_endpoint *o = n->endpoints; o; o = o->next)
            if (o->has_ip6 && o->ip6 == ip) {
                snprintf(name, cap, "%s.%s", o->sb->name, n->name);
                return true;
            }
    }
    return false;
}

static const dns_lookup_ops lookup_ops = {lookup_a, lookup_ptr, lookup_aaaa, lookup_ptr6};

int net_sandbox_ns_fd(const net_sandbox *sb) { return sb->ns_fd; }

const char *net_sandbox_gateway(const net_sandbox *sb)
{
    for (size_t i = 0; i < sb->n_eps; i++)
        if (!sb->eps[i]->net->internal)
            return sb->eps[i]->net->gateway;
    return "";
}

bool net_sandbox_embedded_dns(const net_sandbox *sb)
{
    for (size_t i = 0; i < sb->n_eps; i++)
        if (!sb->eps[i]->net->predefined)
            return true;
    return false;
}

/* The servers names are forwarded to: the container's --dns, else the
 * host's resolv.conf (IPv4 servers). */
static void upstreams(net_sandbox *sb)
{
    const char *list[3];
    char store[3][64];
    size_t n = 0;
    cleanup_free char *host = NULL;
    if (json_array_size(sb->dns_servers)) {
        size_t i;
        json_t *v;
        json_array_foreach(sb->dns_servers, i, v) if (n < 3 && json_string_value(v)) list[n++] = json_string_value(v);
    } else if (fs_read_file("/etc/resolv.conf", &host, NULL, NULL) == 0) {
        char *save = NULL;
        for (char *line = strtok_r(host, "\n", &save); line && n < 3; line = strtok_r(NULL, "\n", &save)) {
            struct in_addr a;
            if (sscanf(line, " nameserver %63s", store[n]) == 1 && inet_pton(AF_INET, store[n], &a) == 1) {
                list[n] = store[n];
                n++;
            }
        }
    }
    bool forward = false;
    for (size_t i = 0; i < sb->n_eps; i++)
        forward |= !sb->eps[i]->net->internal;
    dns_resolver_set_upstreams(sb->dns, list, n, forward);
}

static int dns_start(net_sandbox *sb, berr *e)
{
    if (sb->dns || !net_sandbox_embedded_dns(sb))
        return 0;
    int udp = -1, tcp = -1;
    int r = netns_bound_socket(sb->ns_fd, SOCK_DGRAM, "127.0.0.11", 53, &udp, e);
    if (r == 0 && (r = netns_bound_socket(sb->ns_fd, SOCK_STREAM, "127.0.0.11", 53, &tcp, e)) < 0)
        close(udp);
    if (r == 0)
        r = dns_resolver_start(sb->nm->loop, udp, tcp, &lookup_ops, sb, &sb->dns, e);
    if (r < 0)
        return berr_wrap(e, "embedded DNS server");
    upstreams(sb);
    return 0;
}

/* ---- endpoints ------------------------------------------------------------ */

static net_endpoint *endpoint_on(net_sandbox *sb, net_network *n)
{
    for (size_t i = 0; i < sb->n_eps; i++)
        if (sb->eps[i]->net == n)
            return sb->eps[i];
    return NULL;
}

/* eth0, eth1...: the lowest number not in use, as a fresh connect gets. */
static void pick_ifname(net_sandbox *sb, char out[16])
{
    for (int k = 0;; k++) {
        snprintf(out, 16, "eth%d", k);
        bool used = false;
        for (size_t i = 0; i < sb->n_eps && !used; i++)
            used = !strcmp(sb->eps[i]->ifname, out);
        if (!used)
            return;
    }
}

static bool has_route(net_sandbox *sb)
{
    for (size_t i = 0; i < sb->n_eps; i++)
        if (!sb->eps[i]->net->internal)
            return true;
    return false;
}

static bool has_route6(net_sandbox *sb)
{
    for (size_t i = 0; i < sb->n_eps; i++)
        if (!sb->eps[i]->net->internal && sb->eps[i]->has_ip6)
            return true;
    return false;
}

/* The IPv6 address on an IPv6 network, chosen as the IPv4 one: --ip6,
 * else last time's, else the next free. */
static int take_address6(net_sandbox *sb, net_network *n, json_t *settings, net_endpoint *ep, berr *e)
{
    const char *want = json_str(json_object_get(settings, "IPAMConfig"), "IPv6Address");
    if (!n->ipv6) {
        if (*want)
            return berr_set(e, -EINVAL, "invalid endpoint settings:\nno configured subnet contains IP address %s", want);
        return 0;
    }
    int r;
    if (*want) {
        if (!n->user_subnet6)
            return berr_set(e, -EINVAL, "user specified IP address is supported only when connecting to networks with user configured subnets");
        if (ipam6_parse_addr(want, &ep->ip6) < 0)
            return berr_set(e, -EINVAL, "invalid IPv6 address: %s", want);
        if ((r = ipam6_reserve(&n->pool6, ep->ip6, e)) < 0)
            return berr_wrap(e, "failed to set up container networking for %s", sb->name);
    } else {
        const char *last = json_str(settings, "GlobalIPv6Address");
        if (!(*last && !strcmp(json_str(settings, "NetworkID"), n->id) && ipam6_parse_addr(last, &ep->ip6) == 0 &&
              ipam6_reserve(&n->pool6, ep->ip6, NULL) == 0) &&
            (r = ipam6_alloc(&n->pool6, &ep->ip6, e)) < 0)
            return berr_set(e, r, "no available IPv6 addresses on this network's address pools: %s (%s)", n->name, n->id);
    }
    ep->has_ip6 = true;
    return 0;
}

/* The address: --ip, else the one the container had last time if still
 * free (a restarted container keeps its address), else the next free. */
static int take_address(net_sandbox *sb, net_network *n, json_t *settings, uint32_t *ip, berr *e)
{
    const char *want = json_str(json_object_get(settings, "IPAMConfig"), "IPv4Address");
    if (*want) {
        if (!n->user_subnet)
            return berr_set(e, -EINVAL, "user specified IP address is supported only when connecting to networks with user configured subnets");
        if (ipam_parse_addr(want, ip) < 0)
            return berr_set(e, -EINVAL, "invalid IPv4 address: %s", want);
        int r = ipam_reserve(&n->pool, *ip, e);
        return r < 0 ? berr_wrap(e, "failed to set up container networking for %s", sb->name) : 0;
    }
    const char *last = json_str(settings, "IPAddress");
    if (*last && !strcmp(json_str(settings, "NetworkID"), n->id) && ipam_parse_addr(last, ip) == 0 &&
        ipam_reserve(&n->pool, *ip, NULL) == 0)
        return 0;
    int r = ipam_alloc(&n->pool, ip, e);
    if (r < 0)
        berr_set(e, r, "no available IPv4 addresses on this network's address pools: %s (%s)", n->name, n->id);
    return r;
}

static void fill_settings(net_endpoint *ep, json_t *settings)
{
    net_network *n = ep->net;
    char ip[IPAM_ADDR_BUF], mac[18];
    ipam_format_addr(ep->ip, ip);
    net_endpoint_mac_text(ep->mac, mac);
    json_object_set_new(settings, "NetworkID", json_string(n->id));
    json_object_set_new(settings, "EndpointID", json_string(ep->id));
    json_object_set_new(settings, "Gateway", json_string(n->internal ? "" : n->gateway));
    json_object_set_new(settings, "IPAddress", json_string(ip));
    json_object_set_new(settings, "IPPrefixLen", json_integer(n->pool.prefix));
    json_object_set_new(settings, "MacAddress", json_string(mac));
    char ip6[IPAM6_ADDR_BUF] = "";
    if (ep->has_ip6)
        ipam6_format_addr(ep->ip6, ip6);
    json_object_set_new(settings, "IPv6Gateway", json_string(ep->has_ip6 && !n->internal ? n->gateway6 : ""));
    json_object_set_new(settings, "GlobalIPv6Address", json_string(ip6));
    json_object_set_new(settings, "GlobalIPv6PrefixLen", json_integer(ep->has_ip6 ? n->pool6.prefix : 0));
    if (!n->predefined) {
        json_t *names = json_pack("[s]", ep->sb->name);
        size_t i;
        json_t *a;
        json_array_foreach(ep->aliases, i, a) json_array_append(names, a);
        json_array_append_new(names, json_sprintf("%.12s", ep->sb->container_id));
        json_object_set_new(settings, "DNSNames", names);
    } else {
        json_object_set_new(settings, "DNSNames", json_null());
    }
}

static void endpoint_free(net_endpoint *ep)
{
    json_decref(ep->aliases);
    json_decref(ep->links);
    free(ep);
}

/* Everything an endpoint made goes: the veth (its peer with it), the
 * address, its place on the network.  When the whole sandbox goes the
 * veth is left to the kernel: the namespace's teardown deletes the pair
 * once the last process and fd are gone, off our path (deleting it here
 * waits for RCU grace periods, 10-25 ms per docker run). */
static void endpoint_detach(net_sandbox *sb, net_endpoint *ep, bool delete_veth)
{
    net_manager *nm = sb->nm;
    berr e = {0};
    if (delete_veth && ep->veth[0] && netlink_link_delete(nm->nl, ep->veth, &e) < 0)
        log_warn("container %.12s: %s", sb->container_id, e.msg);
    ipam_release(&ep->net->pool, ep->ip);
    if (ep->has_ip6)
        ipam6_release(&ep->net->pool6, ep->ip6);
    for (net_endpoint **p = &ep->net->endpoints; *p; p = &(*p)->next)
        if (*p == ep) {
            *p = ep->next;
            break;
        }
    for (size_t i = 0; i < sb->n_eps; i++)
        if (sb->eps[i] == ep) {
            memmove(&sb->eps[i], &sb->eps[i + 1], (sb->n_eps - i - 1) * sizeof *sb->eps);
            sb->n_eps--;
            break;
        }
    emit(nm, ep->net, "disconnect", sb->container_id);
    net_network *n = ep->net;
    endpoint_free(ep);
    /* An overlay's devices live while this node has endpoints on it. */
    if (n->ov && !n->endpoints) {
        net_overlay_down(nm, n);
        if (n->ov->gone)
            net_network_drop(nm, n);
    }
}

static int configure_inside(net_sandbox *sb, net_endpoint *ep, const char *peer, bool route, bool route6, berr *e)
{
    net_network *n = ep->net;
    netlink *in = NULL;
    int r = netlink_open(sb->ns_fd, &in, e);
    if (r < 0)
        return r;
    char cidr[IPAM_CIDR_BUF];
    ipam_format_cidr(ep->ip, n->pool.prefix, cidr);
    r = netlink_link_rename(in, peer, ep->ifname, e);
    if (r == 0)
        r = netlink_addr_add(in, ep->ifname, cidr, e);
    if (r == 0)
        r = netlink_link_up(in, ep->ifname, e);
    if (r == 0 && route)
        r = netlink_route_default(in, ep->ifname, n->gateway, e);
    if (r == 0 && ep->has_ip6) {
        char cidr6[IPAM6_CIDR_BUF];
        ipam6_format_cidr(ep->ip6, n->pool6.prefix, cidr6);
        r = netlink_addr_add(in, ep->ifname, cidr6, e);
        if (r == 0 && route6)
            r = netlink_route_default(in, ep->ifname, n->gateway6, e);
    }
    netlink_close(in);
    return r;
}

/* A live-restored container's endpoint: what the last daemon made is
 * still there (the veth named after the endpoint, the address inside);
 * only the books are made again. */
static int endpoint_adopt(net_sandbox *sb, net_endpoint *ep, json_t *settings, berr *e)
{
    const char *id = json_str(settings, "EndpointID");
    if (strlen(id) != 64 || ipam_parse_addr(json_str(settings, "IPAddress"), &ep->ip) < 0)
        return berr_set(e, -EINVAL, "container %.12s: no endpoint recorded on %s", sb->container_id, ep->net->name);
    snprintf(ep->id, sizeof ep->id, "%s", id);
    int r = ipam_reserve(&ep->net->pool, ep->ip, e);
    if (r == 0 && ep->net->ipv6 && ipam6_parse_addr(json_str(settings, "GlobalIPv6Address"), &ep->ip6) == 0) {
        ep->has_ip6 = true;
        r = ipam6_reserve(&ep->net->pool6, ep->ip6, e);
    }
    return r;
}

static int endpoint_attach(net_sandbox *sb, net_network *n, json_t *settings, bool adopt, berr *e)
{
    net_manager *nm = sb->nm;
    if (strcmp(n->driver, "bridge") && !n->ov)
        return berr_set(e, -EINVAL, "container cannot be connected to network %s: %s networks take no endpoints", n->name,
                        n->driver);
    int r = net_overlay_up(nm, n, e);
    if (r < 0)
        return r;
    if (endpoint_on(sb, n))
        return berr_set(e, -EPERM, "endpoint with name %s already exists in network %s", sb->name, n->name);
    json_t *aliases = json_object_get(settings, "Aliases");
    if (json_array_size(aliases) && n->predefined)
        return berr_set(e, -EINVAL, "network-scoped alias is supported only for containers in user defined networks");
    net_endpoint *ep = xcalloc(1, sizeof *ep);
    ep->net = n;
    ep->sb = sb;
    ep->aliases = json_is_array(aliases) ? json_deep_copy(aliases) : json_array();
    json_t *links = json_object_get(settings, "Links");
    ep->links = json_is_array(links) ? json_deep_copy(links) : NULL;
    if (!adopt)
        digest_random_id(ep->id);
    r = adopt ? endpoint_adopt(sb, ep, settings, e) : take_address(sb, n, settings, &ep->ip, e);
    if (r == 0 && !adopt && (r = take_address6(sb, n, settings, ep, e)) < 0)
        ipam_release(&n->pool, ep->ip);
    if (r < 0) {
        endpoint_free(ep);
        if (n->ov && !n->endpoints)
            net_overlay_down(nm, n);
        return r;
    }
    /* Docker's MAC scheme: 02:42 then the IPv4 address, so it is unique
     * wherever the address is. */
    uint8_t mac[6] = {0x02, 0x42, (uint8_t)(ep->ip >> 24), (uint8_t)(ep->ip >> 16), (uint8_t)(ep->ip >> 8),
                      (uint8_t)ep->ip};
    memcpy(ep->mac, mac, 6);
    pick_ifname(sb, ep->ifname);
    char peer[16];
    snprintf(ep->veth, sizeof ep->veth, "veth%.7s", ep->id);
    snprintf(peer, sizeof peer, "vp%.11s", ep->id);
    bool route = !n->internal && !has_route(sb);
    bool route6 = !n->internal && ep->has_ip6 && !has_route6(sb);
    r = adopt ? 0 : netlink_veth_create(nm->nl, ep->veth, n->bridge, peer, ep->mac, n->mtu, sb->ns_fd, e);
    if (r < 0) {
        ep->veth[0] = 0;
    } else if (!adopt) {
        r = configure_inside(sb, ep, peer, route, route6, e);
    }
    ep->next = n->endpoints;
    n->endpoints = ep;
    sb->eps = xrealloc(sb->eps, (sb->n_eps + 1) * sizeof *sb->eps);
    sb->eps[sb->n_eps++] = ep;
    if (r < 0) {
        berr_wrap(e, "failed to set up container networking for %s on %s", sb->name, n->name);
        endpoint_detach(sb, ep, true);
        return r;
    }
    fill_settings(ep, settings);
    emit(nm, n, "connect", sb->container_id);
    return 0;
}

/* ---- published ports ------------------------------------------------------------ */

/* The ports lead to the first endpoint that reaches out (see
 * netoverlay/rules.c).  Without IPv6 there, a binding to an IPv6 host
 * address leads nowhere and is dropped (dockerd would proxy it in user
 * space); with it, a binding given no host address gets an IPv6 twin on
 * the same port, as dockerd binds both 0.0.0.0 and ::. */
static bool ports_v6(net_sandbox *sb)
{
    for (size_t i = 0; i < sb->n_eps; i++)
        if (!sb->eps[i]->net->internal)
            return sb->eps[i]->has_ip6;
    return false;
}

static void drop_v6_ports(net_sandbox *sb)
{
    size_t k = 0;
    for (size_t i = 0; i < sb->n_ports; i++)
        if (!strchr(sb->ports[i].host_ip, ':'))
            sb->ports[k++] = sb->ports[i];
    sb->n_ports = k;
}

static int hold_ports(net_sandbox *sb, berr *e)
{
    net_manager *nm = sb->nm;
    bool v6 = ports_v6(sb);
    if (!v6)
        drop_v6_ports(sb);
    for (size_t i = 0; i < sb->n_ports; i++) {
        net_port_binding *b = &sb->ports[i];
        for (net_sandbox *o = nm->sandboxes; o; o = o->next)
            for (size_t k = 0; k < (o == sb ? i : o->n_ports); k++)
                if (net_ports_clash(b, &o->ports[k]) && b->host_port == b->host_port_end)
                    return berr_set(e, -EADDRINUSE, "Bind for %s%s%s:%u failed: port is already allocated",
                                    strchr(b->host_ip, ':') ? "[" : "", b->host_ip, strchr(b->host_ip, ':') ? "]" : "",
                                    b->host_port);
        int r = net_port_hold(b, e);
        if (r < 0)
            return berr_wrap(e, "driver failed programming external connectivity on endpoint %s (%s)", sb->name,
                             sb->n_eps ? sb->eps[0]->id : "");
        if (v6 && b->both_families) {
            /* Held next, in this loop: its port is b's, now chosen. */
            net_port_binding twin = net_port_twin6(b);
            sb->ports = xrealloc(sb->ports, (sb->n_ports + 1) * sizeof *sb->ports);
            sb->ports[sb->n_ports++] = twin;
        }
    }
    return 0;
}

json_t *net_sandbox_ports_json(const net_sandbox *sb, json_t *exposed_ports)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(exposed_ports, key, v) {
        char k[32];
        snprintf(k, sizeof k, "%s%s", key, strchr(key, '/') ? "" : "/tcp");
        json_object_set_new(out, k, json_null());
    }
    for (size_t i = 0; sb && i < sb->n_ports; i++) {
        const net_port_binding *b = &sb->ports[i];
        char k[32], hp[8];
        snprintf(k, sizeof k, "%u/%s", b->container_port, b->proto);
        snprintf(hp, sizeof hp, "%u", b->host_port);
        json_t *list = json_object_get(out, k);
        if (!json_is_array(list)) {
            list = json_array();
            json_object_set_new(out, k, list);
        }
        json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", b->host_ip, "HostPort", hp));
    }
    return out;
}

/* ---- the sandbox ------------------------------------------------------------ */

void net_sandbox_hosts(const net_sandbox *sb, const char *hostname, buf *out)
{
    if (!sb->n_eps)
        return;
    char ip[IPAM6_ADDR_BUF];
    ipam_format_addr(sb->eps[0]->ip, ip);
    buf_printf(out, "%s\t%s\n", ip, hostname);
    if (sb->eps[0]->has_ip6) {
        ipam6_format_addr(sb->eps[0]->ip6, ip);
        buf_printf(out, "%s\t%s\n", ip, hostname);
    }
}

static void sandbox_link(net_sandbox *sb)
{
    sb->next = sb->nm->sandboxes;
    sb->nm->sandboxes = sb;
}

static void sandbox_unlink(net_sandbox *sb)
{
    for (net_sandbox **p = &sb->nm->sandboxes; *p; p = &(*p)->next)
        if (*p == sb) {
            *p = sb->next;
            return;
        }
}

int net_sandbox_open(net_manager *nm, const net_sandbox_req *req, net_sandbox **out, berr *e)
{
    net_sandbox *sb = xcalloc(1, sizeof *sb);
    sb->nm = nm;
    sb->ns_fd = -1;
    snprintf(sb->container_id, sizeof sb->container_id, "%s", req->container_id);
    snprintf(sb->name, sizeof sb->name, "%s", req->name);
    sb->dns_servers = json_is_array(req->dns) ? json_incref(req->dns) : NULL;
    sandbox_link(sb);
    netlink *in = NULL;
    bool adopt = req->adopt_ns_fd != NULL;
    int r = 0;
    if (adopt && (sb->ns_fd = fcntl(*req->adopt_ns_fd, F_DUPFD_CLOEXEC, 0)) < 0)
        r = berr_sys(e, -errno, "dup network namespace");
    if (!adopt && (r = netns_create(&sb->ns_fd, e)) == 0 && (r = netlink_open(sb->ns_fd, &in, e)) == 0) {
        r = netlink_link_up(in, "lo", e);
        netlink_close(in);
    }
    const char *key;
    json_t *settings;
    json_object_foreach(req->networks, key, settings) {
        if (r < 0)
            break;
        net_network *n;
        /* By ID first: the network may have been renamed... or removed. */
        const char *nid = json_str(settings, "NetworkID");
        if ((!*nid || net_network_find(nm, nid, &n, NULL) < 0) && (r = net_network_find(nm, key, &n, e)) < 0)
            break;
        r = endpoint_attach(sb, n, settings, adopt, e);
    }
    if (r == 0 && sb->n_eps && has_route(sb) &&
        (r = net_ports_parse(req->port_bindings, req->exposed_ports, req->publish_all,
                             sb->eps[0]->net->host_binding, &sb->ports, &sb->n_ports, e)) == 0)
        r = hold_ports(sb, e);
    if (r == 0)
        r = dns_start(sb, e);
    if (r == 0)
        r = net_rules_sync(nm, e);
    if (r < 0) {
        net_sandbox_close(sb);
        return r;
    }
    net_vip_sync(sb);
    *out = sb;
    return 0;
}

void net_sandbox_close(net_sandbox *sb)
{
    net_manager *nm = sb->nm;
    sandbox_unlink(sb);
    if (sb->dns)
        dns_resolver_stop(sb->dns);
    while (sb->n_eps)
        endpoint_detach(sb, sb->eps[sb->n_eps - 1], false);
    net_ports_free(sb->ports, sb->n_ports);
    if (sb->ns_fd >= 0)
        close(sb->ns_fd);
    json_decref(sb->dns_servers);
    free(sb->vip_rules);
    free(sb->eps);
    free(sb);
    berr e = {0};
    if (net_rules_sync(nm, &e) < 0)
        log_warn("nftables: %s", e.msg);
}

int net_sandbox_connect(net_sandbox *sb, net_network *net, json_t *settings, berr *e)
{
    int r = endpoint_attach(sb, net, settings, false, e);
    if (r == 0)
        r = dns_start(sb, e);
    if (r == 0 && sb->dns)
        upstreams(sb);
    if (r == 0)
        r = net_rules_sync(sb->nm, e);
    if (r == 0)
        net_vip_sync(sb);
    return r;
}

int net_sandbox_disconnect(net_sandbox *sb, net_network *net, berr *e)
{
    net_endpoint *ep = endpoint_on(sb, net);
    if (!ep)
        return berr_set(e, -ENOENT, "container %.12s is not connected to network %s", sb->container_id, net->name);
    endpoint_detach(sb, ep, true);
    if (sb->dns)
        upstreams(sb);
    net_vip_sync(sb);
    return net_rules_sync(sb->nm, e);
}
