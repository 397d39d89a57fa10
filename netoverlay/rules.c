/* net_rules_sync: the nftables model (netoverlay/nft.h) made from the
 * manager's networks, the published ports of its sandboxes and the
 * services its ingress serves, given to nft only when it differs from
 * the one last applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "netoverlay/networks.h"
#include "netoverlay/nft.h"
#include "netoverlay/overlay.h"
#include "netoverlay/sandbox.h"

/* Where a sandbox's published ports lead: its first endpoint on a network
 * that reaches out, as dockerd maps them. */
static net_endpoint *ports_endpoint(net_sandbox *sb)
{
    for (size_t i = 0; i < sb->n_eps; i++)
        if (!sb->eps[i]->net->internal)
            return sb->eps[i];
    return NULL;
}

int net_rules_sync(net_manager *nm, berr *e)
{
    if (!nm->cfg.iptables)
        return 0;
    size_t nn = 0, np = 0, cap_p = 0;
    cleanup_free nft_net *nets = xcalloc(nm->n_nets + 1, sizeof *nets);
    for (size_t i = 0; i < nm->n_nets; i++) {
        net_network *n = nm->nets[i];
        /* An overlay's bridge exists while it has endpoints here (or the mesh). */
        if (!strcmp(n->driver, "bridge") || (n->ov && n->ov->up))
            nets[nn++] = (nft_net){n->bridge, n->subnet, n->internal, n->icc, n->masquerade,
                                   n->ipv6 ? n->subnet6 : NULL};
    }
    for (net_sandbox *sb = nm->sandboxes; sb; sb = sb->next)
        cap_p += sb->n_ports;
    cleanup_free nft_port *ports = xcalloc(cap_p + 1, sizeof *ports);
    /* The address strings must outlive the model: one buffer per port. */
    cleanup_free char(*ips)[IPAM6_ADDR_BUF] = xcalloc(cap_p + 1, IPAM6_ADDR_BUF);
    for (net_sandbox *sb = nm->sandboxes; sb; sb = sb->next) {
        net_endpoint *ep = ports_endpoint(sb);
        if (!ep)
            continue;
        for (size_t i = 0; i < sb->n_ports; i++) {
            net_port_binding *b = &sb->ports[i];
            /* An IPv6 host address leads to the container's IPv6 address;
             * the sandbox kept such bindings only if it has one. */
            if (ipam6_is_v6_text(b->host_ip)) {
                if (!ep->has_ip6)
                    continue;
                ipam6_format_addr(ep->ip6, ips[np]);
            } else {
                ipam_format_addr(ep->ip, ips[np]);
            }
            ports[np] = (nft_port){b->proto, b->host_ip, b->host_port, ep->net->bridge, ips[np], b->container_port};
            np++;
        }
    }
    size_t nl = 0, nb = 0;
    for (net_ingress *g = nm->ingress; g; g = g->next) {
        nl += g->n_ports;
        nb += g->n_ports * g->n_backends;
    }
    cleanup_free nft_lb *lbs = xcalloc(nl + 1, sizeof *lbs);
    cleanup_free const char **addrs = xcalloc(nb + 1, sizeof *addrs);
    size_t li = 0, ai = 0;
    net_network *mesh = net_overlay_mesh(nm);
    char mesh_addr[IPAM_ADDR_BUF] = "";
    if (mesh)
        ipam_format_addr(mesh->ov->node_addr, mesh_addr);
    for (net_ingress *g = nm->ingress; g; g = g->next)
        for (size_t i = 0; i < g->n_ports; i++) {
            const char **first = &addrs[ai];
            for (size_t k = 0; k < g->n_backends; k++)
                addrs[ai++] = g->backends[k];
            lbs[li++] = (nft_lb){g->ports[i].proto, g->ports[i].published, g->ports[i].target, first, g->n_backends,
                                 mesh ? mesh->bridge : NULL, mesh ? mesh_addr : NULL};
        }
    nft_model model = {nets, nn, ports, np, lbs, li, nm->cfg.ip6tables};
    int r = nft_model_check(&model, e);
    if (r < 0)
        return r;
    cleanup_buf buf script = BUF_INIT;
    nft_ruleset(&model, &script);
    if (nm->applied_rules && !strcmp(nm->applied_rules, script.data))
        return 0;
    if ((r = nft_run(script.data, e)) < 0)
        return r;
    free(nm->applied_rules);
    nm->applied_rules = buf_steal(&script);
    return 0;
}
