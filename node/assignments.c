/* A node's assignments (see assignments.h). */
#include "node/assignments.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/jsonutil.h"

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
        if (k != CS_CLUSTER)   /* the cluster object holds the root secret and the join tokens */
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
