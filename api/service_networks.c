/* A service's networks: TaskTemplate.Networks resolved to the swarm's
 * networks (names become IDs, as dockerd converts them) and the
 * service's virtual IPs allocated on them (Endpoint.VirtualIPs). */
#include <stdio.h>
#include <string.h>

#include "api/service_networks.h"
#include "lib/jsonutil.h"
#include "netoverlay/overlay_alloc.h"

static bool publishes_ingress(const json_t *endpoint)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(endpoint, "Ports"), i, p) if (strcmp(json_str(p, "PublishMode"), "host")) return true;
    return false;
}

int svc_networks_resolve(cluster_store *cs, net_manager *nm, json_t *spec, const json_t *old_endpoint, json_t *endpoint,
                         berr *e)
{
    json_t *tt = json_object_get(spec, "TaskTemplate");
    json_t *nets = json_object_get(tt, "Networks");
    /* The deprecated top-level Networks (API < 1.25) means the same. */
    if (!json_array_size(nets) && json_array_size(json_object_get(spec, "Networks"))) {
        json_object_set(tt, "Networks", json_object_get(spec, "Networks"));
        nets = json_object_get(tt, "Networks");
    }
    json_object_del(spec, "Networks");
    json_t *networks = cs_list(cs, CS_NETWORK), *services = cs_list(cs, CS_SERVICE), *tasks = cs_list(cs, CS_TASK);
    ovl_alloc *a = ovl_alloc_new(networks, services, tasks);
    json_t *nodes = cs_list(cs, CS_NODE);
    ovl_alloc_reserve_nodes(a, json_array_size(nodes));
    json_decref(nodes);
    int r = 0;
    size_t i, k;
    json_t *n, *m;
    json_array_foreach(nets, i, n) {
        const char *target = json_str(n, "Target");
        const json_t *net = ovl_alloc_network(a, target);
        if (!net) {
            net_network *local;
            if (nm && net_network_find(nm, target, &local, NULL) == 0 && !local->ov)
                r = berr_set(e, -EINVAL, "The network %s cannot be used with services. Only networks scoped to the swarm "
                                         "can be used, such as those created with the overlay driver.", local->name);
            else
                r = berr_set(e, -ENOENT, "network %s not found", target);
            break;
        }
        if (json_is_true(json_object_get(json_object_get(net, "Spec"), "Ingress"))) {
            r = berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = service cannot be explicitly attached to the ingress network \"%s\"",
                         json_str(json_object_get(net, "Spec"), "Name"));
            break;
        }
        json_object_set_new(n, "Target", json_string(json_str(net, "ID")));
        for (k = 0; k < i; k++) {
            m = json_array_get(nets, k);
            if (!strcmp(json_str(m, "Target"), json_str(net, "ID"))) {
                r = berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = duplicate network %s in service spec",
                             json_str(json_object_get(net, "Spec"), "Name"));
                break;
            }
        }
        if (r < 0)
            break;
    }
    json_t *vips = NULL;
    if (r == 0)
        r = ovl_alloc_vips(a, spec, json_object_get(old_endpoint, "VirtualIPs"), publishes_ingress(endpoint), &vips, e);
    if (r == 0) {
        json_t *es = json_object_get(endpoint, "Spec");
        if (json_is_object(es) && !*json_str(es, "Mode"))
            json_object_set_new(es, "Mode", json_string("vip"));
        if (json_array_size(vips))
            json_object_set(endpoint, "VirtualIPs", vips);
        else
            json_object_del(endpoint, "VirtualIPs");
    }
    json_decref(vips);
    ovl_alloc_free(a);
    json_decref(networks);
    json_decref(services);
    json_decref(tasks);
    return r;
}
