/* The ingress of one node: ports a service publishes (ingress mode), held
 * here and load balanced by nftables over the addresses of its tasks.
 * With the swarm's ingress overlay (node/overlay_sync.c) the backends are
 * the tasks' ingress addresses on every node: the routing mesh.  Before
 * the swarm is initialized they are the addresses of the tasks running
 * here (node/agent.c): the mesh reduced to one node. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "netoverlay/networks.h"

static void ingress_free(net_ingress *g)
{
    for (size_t i = 0; i < g->n_ports; i++)
        if (g->ports[i].fd >= 0)
            close(g->ports[i].fd);
    free(g->ports);
    free(g->backends);
    free(g);
}

static net_ingress *find(net_manager *nm, const char *service_id, net_ingress ***link)
{
    for (net_ingress **p = &nm->ingress; *p; p = &(*p)->next)
        if (!strcmp((*p)->service_id, service_id)) {
            if (link)
                *link = p;
            return *p;
        }
    return NULL;
}

/* Holds published/proto on every address, so no program takes it; a
 * port some program already has is only logged: the NAT still wins for
 * traffic to it. */
static int hold(const char *proto, uint16_t port)
{
    int s = socket(AF_INET, (!strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
                   !strcmp(proto, "sctp") ? IPPROTO_SCTP : 0);
    if (s < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        log_warn("ingress: port %u/%s is in use on this host: %s", port, proto, strerror(errno));
        close(s);
        return -1;
    }
    return s;
}

int net_ingress_set(net_manager *nm, const char *service_id, json_t *ports, const char *const *backends, size_t n,
                    berr *e)
{
    net_ingress **link = NULL;
    net_ingress *old = find(nm, service_id, &link);
    size_t np = 0;
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) np += strcmp(json_str(p, "PublishMode"), "host") != 0;
    if (!np) {
        if (old) {
            *link = old->next;
            ingress_free(old);
        }
        return net_rules_sync(nm, e);
    }
    net_ingress *g = xcalloc(1, sizeof *g);
    snprintf(g->service_id, sizeof g->service_id, "%s", service_id);
    g->ports = xcalloc(np, sizeof *g->ports);
    json_array_foreach(ports, i, p) {
        if (!strcmp(json_str(p, "PublishMode"), "host"))
            continue;
        net_ingress_port *q = &g->ports[g->n_ports++];
        snprintf(q->proto, sizeof q->proto, "%s", *json_str(p, "Protocol") ? json_str(p, "Protocol") : "tcp");
        q->published = (uint16_t)json_integer_value(json_object_get(p, "PublishedPort"));
        q->target = (uint16_t)json_integer_value(json_object_get(p, "TargetPort"));
        q->fd = -1;
        /* Keep the socket already held for the same port. */
        for (size_t k = 0; old && k < old->n_ports; k++)
            if (old->ports[k].published == q->published && !strcmp(old->ports[k].proto, q->proto)) {
                q->fd = old->ports[k].fd;
                old->ports[k].fd = -1;
            }
        if (q->fd < 0)
            q->fd = hold(q->proto, q->published);
    }
    g->backends = xcalloc(n ? n : 1, sizeof *g->backends);
    for (size_t k = 0; k < n; k++)
        snprintf(g->backends[g->n_backends++], IPAM_ADDR_BUF, "%s", backends[k]);
    if (old) {
        g->next = old->next;
        *link = g;
        ingress_free(old);
    } else {
        g->next = nm->ingress;
        nm->ingress = g;
    }
    return net_rules_sync(nm, e);
}

void net_ingress_retain(net_manager *nm, json_t *keep)
{
    bool changed = false;
    for (net_ingress **p = &nm->ingress; *p;) {
        bool kept = false;
        size_t i;
        json_t *id;
        json_array_foreach(keep, i, id) kept |= !strcmp(json_string_value(id), (*p)->service_id);
        if (kept) {
            p = &(*p)->next;
            continue;
        }
        net_ingress *g = *p;
        *p = g->next;
        ingress_free(g);
        changed = true;
    }
    berr e = {0};
    if (changed && net_rules_sync(nm, &e) < 0)
        log_warn("ingress: %s", e.msg);
}
