#include "node/cluster_events.h"

#include <stdio.h>
#include <string.h>

#include "node/daemon.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"

static const char *name_of(cs_kind kind, json_t *doc)
{
    json_t *v = kind != CS_NODE ? json_object_get(json_object_get(doc, "Spec"), "Name")
                                   : json_object_get(json_object_get(doc, "Description"), "Hostname");
    return json_string_value(v) ? json_string_value(v) : "";
}

/* What exists now, so that the next write of it is an "update". */
static void learn_all(cluster_events *ce, cluster_store *cs)
{
    json_object_clear(ce->names);
    static const cs_kind kinds[] = {CS_SERVICE, CS_NODE, CS_SECRET, CS_CONFIG};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        json_t *all = cs_list(cs, kinds[k]);
        size_t i;
        json_t *doc;
        json_array_foreach(all, i, doc) {
            char key[128];
            snprintf(key, sizeof key, "%s/%s", cs_kind_name(kinds[k]), json_string_value(json_object_get(doc, "ID")));
            json_object_set_new(ce->names, key, json_string(name_of(kinds[k], doc)));
        }
        json_decref(all);
    }
}

static void on_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    cluster_events *ce = arg;
    cluster_store *cs = ce->d->swarm ? swarm_store(ce->d->swarm) : NULL;
    if (n == 0 && cs) {   /* a snapshot was installed */
        learn_all(ce, cs);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const cs_op *op = &ops[i];
        if (op->kind != CS_SERVICE && op->kind != CS_NODE && op->kind != CS_SECRET && op->kind != CS_CONFIG)
            continue;
        char key[128];
        snprintf(key, sizeof key, "%s/%s", cs_kind_name(op->kind), op->id);
        json_t *known = json_object_get(ce->names, key);
        const char *action;
        char name[256];
        if (op->type == CS_DEL) {
            action = "remove";
            snprintf(name, sizeof name, "%s", known ? json_string_value(known) : "");
            json_object_del(ce->names, key);
        } else {
            action = known ? "update" : "create";
            snprintf(name, sizeof name, "%s", name_of(op->kind, op->doc));
            json_object_set_new(ce->names, key, json_string(name));
        }
        events_emit(&ce->d->events, cs_kind_name(op->kind), action, op->id, json_pack("{s:s}", "name", name));
    }
}

static void on_swarm(void *arg, swarm_event ev)
{
    cluster_events *ce = arg;
    if (ev != SWARM_EV_ACTIVE)
        return;
    cluster_store *cs = swarm_store(ce->d->swarm);
    learn_all(ce, cs);
    cluster_store_watch(cs, on_change, ce);
}

void cluster_events_start(cluster_events *ce, struct berth_daemon *d)
{
    ce->d = d;
    ce->names = json_object();
    if (d->swarm) {
        swarm_subscribe(d->swarm, on_swarm, ce);
        if (swarm_store(d->swarm))
            on_swarm(ce, SWARM_EV_ACTIVE);
    }
}

void cluster_events_stop(cluster_events *ce)
{
    json_decref(ce->names);
    ce->names = NULL;
}
