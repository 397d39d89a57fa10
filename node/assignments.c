/* A node's assignments (see assignments.h). */
#include "node/assignments.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/jsonutil.h"
#include "netoverlay/overlay_alloc.h"
#include "node/overlay_sync.h"

static void add_ref(cluster_store *cs, json_t *out, cs_kind kind, const char *id)
{
    json_t *list = json_object_get(out, cs_kind_name(kind));
    size_t i;
    json_t *d;
    if (!id || !*id)
        return;
    json_array_foreach(list, i, d) if (!strcmp(json_str(d, "ID"), id)) return;
    json_t *doc = NULL;
    if (cs_get(cs, kind, id, &doc, NULL) == 0)
        json_array_append_new(list, doc);
}

static void add_refs(cluster_store *cs, json_t *out, cs_kind kind, json_t *refs, const char *key)
{
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r) add_ref(cs, out, kind, json_str(r, key));
}

static bool in_list(json_t *ids, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) if (!strcmp(json_string_value(v), id)) return true;
    return false;
}

static bool attached_to_any(json_t *task, json_t *net_ids)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(task, "NetworksAttachments"), i, x)
        if (in_list(net_ids, json_str(json_object_get(x, "Network"), "ID")))
            return true;
    return false;
}

/* A node programs its overlay networks from its assignments as a manager
 * does from the store (node/overlay_sync.c), so a network its tasks are on
 * comes with its peers: every task holding an address on it, on any node
 * (FDB and ARP entries, DNS names, VIP backends), that task's service
 * (name, aliases, VIPs) and its node (where the VXLAN traffic goes).  With
 * a routing mesh every node takes part in the ingress network: then all
 * nodes, the publishing services and their tasks come too.  The peers'
 * secrets and configs stay out, and so does the cluster object but for
 * the data path port. */
static void add_overlay_peers(cluster_store *cs, json_t *out, const char *node_id)
{
    json_t *net_ids = json_array();
    json_t *listed = json_object_get(out, cs_kind_name(CS_TASK));   /* the node's own, then the peers */
    size_t i, k;
    json_t *t, *x;
    json_array_foreach(listed, i, t) json_array_foreach(json_object_get(t, "NetworksAttachments"), k, x) {
        const char *id = json_str(json_object_get(x, "Network"), "ID");
        if (*id && !in_list(net_ids, id))
            json_array_append_new(net_ids, json_string(id));
    }
    json_t *services = cs_list(cs, CS_SERVICE);
    bool mesh = overlay_mesh_wanted(services);
    if (mesh) {
        json_t *all = cs_list(cs, CS_NETWORK);
        json_array_foreach(all, i, x) if (json_is_true(json_object_get(json_object_get(x, "Spec"), "Ingress")) &&
                                          !in_list(net_ids, json_str(x, "ID")))
            json_array_append_new(net_ids, json_string(json_str(x, "ID")));
        json_decref(all);
        json_t *nodes = cs_list(cs, CS_NODE);
        json_array_foreach(nodes, i, x) add_ref(cs, out, CS_NODE, json_str(x, "ID"));
        json_decref(nodes);
        json_array_foreach(services, i, x) if (json_array_size(json_object_get(json_object_get(x, "Endpoint"), "Ports")))
            add_ref(cs, out, CS_SERVICE, json_str(x, "ID"));
    }
    json_decref(services);
    if (!json_array_size(net_ids)) {
        json_decref(net_ids);
        return;
    }
    json_array_foreach(net_ids, i, x) add_ref(cs, out, CS_NETWORK, json_string_value(x));
    json_t *tasks = cs_list(cs, CS_TASK);
    json_array_foreach(tasks, i, t) {
        if (!strcmp(json_str(t, "NodeID"), node_id) || !*json_str(t, "NodeID") || !ovl_task_holds_addresses(t) ||
            !attached_to_any(t, net_ids))
            continue;
        json_array_append(listed, t);
        add_ref(cs, out, CS_SERVICE, json_str(t, "ServiceID"));
        add_ref(cs, out, CS_NODE, json_str(t, "NodeID"));
    }
    json_decref(tasks);
    json_decref(net_ids);
    json_t *cluster = NULL;
    if (cs_get(cs, CS_CLUSTER, cluster_store_cluster_id(cs), &cluster, NULL) == 0) {
        json_t *slim = json_pack("{s:s, s:O, s:I}", "ID", json_str(cluster, "ID"), "Version",
                                 json_object_get(cluster, "Version"), "DataPathPort",
                                 json_integer_value(json_object_get(cluster, "DataPathPort")));
        if (slim)
            json_array_append_new(json_object_get(out, cs_kind_name(CS_CLUSTER)), slim);
        json_decref(cluster);
    }
}

/* FNV-1a, 64 bits: a digest for equality, not for secrecy. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

json_t *assignments_for(cluster_store *cs, const char *node_id, char version[ASSIGNMENTS_VERSION_LEN + 1])
{
    json_t *out = json_object();
    for (int k = 0; k < CS_KIND_N; k++)
        json_object_set_new(out, cs_kind_name((cs_kind)k), json_array());
    add_ref(cs, out, CS_NODE, node_id);
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.NodeID", node_id);
    json_object_set_new(out, cs_kind_name(CS_TASK), tasks);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        add_ref(cs, out, CS_SERVICE, json_str(t, "ServiceID"));
        json_t *ctr = json_object_get(json_object_get(t, "Spec"), "ContainerSpec");
        add_refs(cs, out, CS_SECRET, json_object_get(ctr, "Secrets"), "SecretID");
        add_refs(cs, out, CS_CONFIG, json_object_get(ctr, "Configs"), "ConfigID");
        add_refs(cs, out, CS_NETWORK, json_object_get(json_object_get(t, "Spec"), "Networks"), "Target");
    }
    add_overlay_peers(cs, out, node_id);
    uint64_t h = 14695981039346656037ULL;
    for (int k = 0; k < CS_KIND_N; k++) {
        size_t j;
        json_t *d;
        json_array_foreach(json_object_get(out, cs_kind_name((cs_kind)k)), j, d) {
            char v[32];
            snprintf(v, sizeof v, "/%" JSON_INTEGER_FORMAT ";",
                     json_integer_value(json_object_get(json_object_get(d, "Version"), "Index")));
            h = fnv(fnv(fnv(h, cs_kind_name((cs_kind)k)), json_str(d, "ID")), v);
        }
    }
    snprintf(version, ASSIGNMENTS_VERSION_LEN + 1, "%016" PRIx64, h);
    return out;
}
