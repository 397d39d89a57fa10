#include "node/overlay_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "netoverlay/overlay.h"
#include "netoverlay/overlay_alloc.h"
#include "node/attachment_tasks.h"
#include "node/daemon.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"

static json_t *get2(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

/* Where a node's VXLAN traffic goes: its data path address, else the
 * address it advertises. */
static const char *node_vtep(const json_t *node)
{
    const char *dp = json_str(json_object_get(node, "Berth"), "DataPathAddr");
    return *dp ? dp : json_str(json_object_get(node, "Status"), "Addr");
}

static uint32_t vtep_of(const json_t *nodes, const char *node_id)
{
    size_t i;
    json_t *n;
    uint32_t a = 0;
    json_array_foreach(nodes, i, n) if (!strcmp(json_str(n, "ID"), node_id) && ipam_parse_addr(node_vtep(n), &a) == 0) return a;
    return 0;
}

/* The task's address on network net_id (0: not attached). */
static uint32_t task_addr(const json_t *task, const char *net_id)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(task, "NetworksAttachments"), i, x) {
        if (strcmp(json_str(json_object_get(x, "Network"), "ID"), net_id))
            continue;
        uint32_t ip;
        int len;
        if (ipam_parse_cidr(json_string_value(json_array_get(json_object_get(x, "Addresses"), 0)), &ip, &len) == 0)
            return ip;
    }
    return 0;
}

static const json_t *service_of(const json_t *services, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(services, i, s) if (!strcmp(json_str(s, "ID"), id)) return s;
    return NULL;
}

/* Docker's container name of a task: <service>.<slot>.<task>, or
 * <service>.<node>.<task> without a slot. */
static void task_name(const json_t *task, const json_t *svc, char *out, size_t n)
{
    const char *sname = json_str(json_object_get(svc, "Spec"), "Name");
    long long slot = json_integer_value(json_object_get(task, "Slot"));
    if (slot > 0)
        snprintf(out, n, "%s.%lld.%s", sname, slot, json_str(task, "ID"));
    else
        snprintf(out, n, "%s.%s.%s", sname, json_str(task, "NodeID"), json_str(task, "ID"));
}

static bool serving(const json_t *task)
{
    return !strcmp(json_str(json_object_get(task, "Status"), "State"), "running") &&
           !strcmp(json_str(task, "DesiredState"), "running");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The place of each node among the sorted node IDs: what its routing
 * mesh address on the ingress network is derived from. */
static size_t node_index(const json_t *nodes, const char *id)
{
    size_t n = json_array_size(nodes), at = 0;
    const char **ids = xcalloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = json_str(json_array_get(nodes, i), "ID");
    qsort(ids, n, sizeof *ids, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id))
            at = i;
    free(ids);
    return at;
}

bool overlay_mesh_wanted(const json_t *services)
{
    size_t i, k;
    json_t *s, *p;
    json_array_foreach(services, i, s) json_array_foreach(get2(s, "Endpoint", "Ports"), k, p)
        if (strcmp(json_str(p, "PublishMode"), "host"))
            return true;
    return false;
}

/* The ingress network's own part: every node's mesh address is a peer,
 * this node's is set on its bridge, the network stays up while services
 * publish through it, and the published ports of every service spread
 * over its running tasks on all nodes. */
static size_t mesh_of(net_manager *nm, net_network *n, const char *me, json_t *nodes, json_t *services,
                      json_t *tasks, net_peer *peers)
{
    size_t np = 0, i, k;
    json_t *node, *s, *t;
    json_t *doc = json_pack("{s:{s:[{s:s}]}}", "IPAM", "Configs", "Subnet", n->subnet);
    uint32_t mine = 0;
    json_array_foreach(nodes, i, node) {
        uint32_t addr, vtep = 0;
        if (ovl_ingress_node_addr(doc, node_index(nodes, json_str(node, "ID")), &addr) < 0)
            continue;
        if (!strcmp(json_str(node, "ID"), me))
            mine = addr;
        else if (ipam_parse_addr(node_vtep(node), &vtep) == 0 && vtep)
            peers[np++] = (net_peer){.ip = addr, .vtep = vtep};
    }
    json_decref(doc);
    bool wanted = overlay_mesh_wanted(services);
    net_overlay_set_mesh(nm, n, mine, wanted);
    json_t *keep = json_array();
    json_array_foreach(services, i, s) {
        json_t *ports = get2(s, "Endpoint", "Ports");
        if (!json_array_size(ports))
            continue;
        json_array_append_new(keep, json_string(json_str(s, "ID")));
        char(*ips)[IPAM_ADDR_BUF] = xcalloc(json_array_size(tasks) + 1, IPAM_ADDR_BUF);
        const char **list = xcalloc(json_array_size(tasks) + 1, sizeof *list);
        size_t nb = 0;
        json_array_foreach(tasks, k, t) {
            uint32_t ip;
            if (strcmp(json_str(t, "ServiceID"), json_str(s, "ID")) || !serving(t) || !(ip = task_addr(t, n->id)))
                continue;
            ipam_format_addr(ip, ips[nb]);
            list[nb] = ips[nb];
            nb++;
        }
        berr e = {0};
        if (net_ingress_set(nm, json_str(s, "ID"), ports, list, nb, &e) < 0)
            log_warn("routing mesh: service %s: %s", json_str(s, "ID"), e.msg);
        free(list);
        free(ips);
    }
    net_ingress_retain(nm, keep);
    json_decref(keep);
    return np;
}

static void view_of(net_manager *nm, net_network *n, const char *me, json_t *nodes, json_t *services, json_t *tasks)
{
    size_t i, k;
    json_t *t, *s, *x;
    net_peer *peers = xcalloc(json_array_size(tasks) + json_array_size(nodes) + 1, sizeof *peers);
    size_t np = n->ov->ingress ? mesh_of(nm, n, me, nodes, services, tasks, peers) : 0;
    json_array_foreach(tasks, i, t) {
        if (!ovl_task_holds_addresses(t) || !strcmp(json_str(t, "NodeID"), me))
            continue;
        uint32_t ip = task_addr(t, n->id), vtep = vtep_of(nodes, json_str(t, "NodeID"));
        if (!ip || !vtep)
            continue;
        peers[np] = (net_peer){.ip = ip, .vtep = vtep};
        const json_t *svc = service_of(services, json_str(t, "ServiceID"));
        if (svc)
            task_name(t, svc, peers[np].name, sizeof peers[np].name);
        else if (attachment_task(t) && serving(t))   /* a plain container, by its name while it runs */
            snprintf(peers[np].name, sizeof peers[np].name, "%s", json_str(json_object_get(t, "Berth"), "ContainerName"));
        np++;
    }
    net_svc *svcs = xcalloc(json_array_size(services) + 1, sizeof *svcs);
    size_t ns = 0;
    json_array_foreach(services, i, s) {
        net_svc v = {0};
        json_array_foreach(get2(s, "Endpoint", "VirtualIPs"), k, x) {
            int len;
            if (!strcmp(json_str(x, "NetworkID"), n->id))
                ipam_parse_cidr(json_str(x, "Addr"), &v.vip, &len);
        }
        bool on = v.vip != 0;
        json_array_foreach(get2(json_object_get(s, "Spec"), "TaskTemplate", "Networks"), k, x) {
            if (strcmp(json_str(x, "Target"), n->id))
                continue;
            on = true;
            if (json_array_size(json_object_get(x, "Aliases")))
                v.aliases = json_deep_copy(json_object_get(x, "Aliases"));
        }
        if (!on)
            continue;
        snprintf(v.name, sizeof v.name, "%s", json_str(json_object_get(s, "Spec"), "Name"));
        v.backends = xcalloc(json_array_size(tasks) + 1, sizeof *v.backends);
        json_array_foreach(tasks, k, t) {
            uint32_t ip;
            if (!strcmp(json_str(t, "ServiceID"), json_str(s, "ID")) && serving(t) && (ip = task_addr(t, n->id)))
                v.backends[v.n_backends++] = ip;
        }
        svcs[ns++] = v;
    }
    net_overlay_set_view(nm, n, peers, np, svcs, ns);
}

void overlay_sync_now(struct berth_daemon *d)
{
    /* The store on a manager; on a worker the copy of its assignments,
     * which carry the peers of its networks (node/assignments.c). */
    cluster_store *cs = d->swarm ? swarm_agent_store(d->swarm) : NULL;
    if (!cs)
        return;
    net_manager *nm = &d->networks;
    const char *me = swarm_node_id(d->swarm);
    json_t *nodes = cs_list(cs, CS_NODE), *clusters = cs_list(cs, CS_CLUSTER), *networks = cs_list(cs, CS_NETWORK);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) if (!strcmp(json_str(n, "ID"), me)) net_overlay_set_local(
        nm, node_vtep(n), (uint16_t)json_integer_value(json_object_get(json_array_get(clusters, 0), "DataPathPort")));
    net_overlay_set_networks(nm, networks);
    json_t *services = cs_list(cs, CS_SERVICE), *tasks = cs_list(cs, CS_TASK);
    for (size_t k = 0; k < nm->n_nets; k++)
        if (nm->nets[k]->ov)
            view_of(nm, nm->nets[k], me, nodes, services, tasks);
    json_decref(services);
    json_decref(tasks);
    json_decref(networks);
    json_decref(clusters);
    json_decref(nodes);
}

bool overlay_mesh_in_store(cluster_store *cs)
{
    json_t *nets = cs_list(cs, CS_NETWORK);
    bool found = false;
    size_t i;
    json_t *n;
    json_array_foreach(nets, i, n) found |= json_is_true(get2(n, "Spec", "Ingress"));
    json_decref(nets);
    return found;
}

void overlay_task_networking(json_t *body, json_t *task)
{
    json_t *atts = json_object_get(task, "NetworksAttachments");
    if (!json_array_size(atts))
        return;
    json_t *eps = json_object();
    const char *first = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(atts, i, x) {
        json_t *net = json_object_get(x, "Network");
        const char *name = json_str(json_object_get(net, "Spec"), "Name");
        uint32_t ip;
        int len;
        char addr[IPAM_ADDR_BUF] = "";
        if (ipam_parse_cidr(json_string_value(json_array_get(json_object_get(x, "Addresses"), 0)), &ip, &len) == 0)
            ipam_format_addr(ip, addr);
        /* No endpoint aliases: the service's aliases are the service's
         * names (view_of above), answering its VIP, or its
         * tasks under dnsrr, as libnetwork's service aliases do; as
         * container aliases they would add this one task's address. */
        json_t *ep = json_pack("{s:{s:s}}", "IPAMConfig", "IPv4Address", addr);
        json_object_set_new(eps, name, ep);
        /* The default route goes out of the first network that is not the
         * ingress: a task reaches the world through its own networks. */
        if (!first && !json_is_true(get2(net, "Spec", "Ingress")))
            first = name;
    }
    if (!first)
        first = json_str(get2(json_array_get(atts, 0), "Network", "Spec"), "Name");
    json_object_set_new(json_object_get(body, "HostConfig"), "NetworkMode", json_string(first));
    json_object_set_new(body, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", eps));
}

static void pass(uv_timer_t *t)
{
    overlay_sync *s = t->data;
    if (!s->d->stopping)
        overlay_sync_now(s->d);
}

static void on_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    overlay_sync *s = arg;
    bool relevant = n == 0;   /* a snapshot: everything may have changed */
    for (size_t i = 0; i < n && !relevant; i++)
        relevant = ops[i].kind != CS_SECRET && ops[i].kind != CS_CONFIG;
    if (relevant && s->timer_on)
        uv_timer_start(&s->timer, pass, 0, 0);
}

static void on_swarm(void *arg, swarm_event ev)
{
    overlay_sync *s = arg;
    if ((ev == SWARM_EV_ACTIVE || ev == SWARM_EV_ASSIGNED) && swarm_agent_store(s->d->swarm)) {
        cluster_store_watch(swarm_agent_store(s->d->swarm), on_change, s);
        if (s->timer_on)
            uv_timer_start(&s->timer, pass, 0, 0);
    } else if (ev == SWARM_EV_LEFT) {
        /* The swarm's networks go with it (after their last endpoint). */
        json_t *none = json_array();
        net_overlay_set_networks(&s->d->networks, none);
        json_decref(none);
    }
}

void overlay_sync_start(overlay_sync *s, struct berth_daemon *d)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    uv_timer_init(d->loop, &s->timer);
    s->timer.data = s;
    s->timer_on = true;
    if (d->swarm) {
        swarm_subscribe(d->swarm, on_swarm, s);
        if (swarm_agent_store(d->swarm))
            on_swarm(s, SWARM_EV_ACTIVE);
    }
}

void overlay_sync_stop(overlay_sync *s)
{
    if (!s->timer_on)
        return;
    s->timer_on = false;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, NULL);
}
