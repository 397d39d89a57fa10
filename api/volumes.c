/* Volume endpoints: list, create, inspect, remove, prune (runtime/volume/volumes.h).
 * PUT /volumes/{name} updates cluster volumes only and stays unbuilt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/versions.h"
#include "lib/filters.h"
#include "node/daemon.h"
#include "runtime/volume/volumes.h"

static rt_volumes *store(api_request *r) { return r->d->volumes; }

void api_volumes_list(api_request *r)
{
    static const char *const allowed[] = {"dangling", "driver", "label", "name", NULL};
    berr e = {0};
    json_t *f;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    bool dangling = false;
    if (filters_bool(f, "dangling", &dangling, &e) < 0) {
        json_decref(f);
        api_reply_berr(r, &e);
        return;
    }
    rt_volumes *s = store(r);
    json_t *out = json_array();
    for (size_t i = 0; i < s->n; i++) {
        rt_volume *v = s->list[i];
        json_t *users = rt_volume_users(s, v->name);
        bool used = json_array_size(users) > 0;
        json_decref(users);
        if (rt_volume_list_match(f, v, used))
            json_array_append_new(out, rt_volume_json(v));
    }
    json_decref(f);
    api_reply_json(r, 200, json_pack("{s:o, s:n}", "Volumes", out, "Warnings"));
}

static bool string_map(json_t *o)
{
    if (!o || json_is_null(o))
        return true;
    if (!json_is_object(o))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) if (!json_is_string(v)) return false;
    return true;
}

void api_volume_create(api_request *r)
{
    berr e = {0};
    json_t *body;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (body && !json_is_object(body)) {
        json_decref(body);
        api_reply_error(r, -EINVAL, "invalid JSON: the body must be an object");
        return;
    }
    json_t *name = json_object_get(body, "Name"), *driver = json_object_get(body, "Driver");
    json_t *opts = json_object_get(body, "DriverOpts"), *labels = json_object_get(body, "Labels");
    if ((name && !json_is_string(name) && !json_is_null(name)) ||
        (driver && !json_is_string(driver) && !json_is_null(driver)) || !string_map(opts) || !string_map(labels)) {
        json_decref(body);
        api_reply_error(r, -EINVAL, "invalid JSON: wrong type for a field of the volume configuration");
        return;
    }
    json_t *cluster = json_object_get(body, "ClusterVolumeSpec");
    if (cluster && !json_is_null(cluster) && api_has(r, API_CLUSTER_VOLUMES)) {
        json_decref(body);
        api_reply_error(r, -ENOSYS, "cluster volumes are not available in berthd yet");
        return;
    }
    rt_volume *v;
    int rc = rt_volume_create(store(r), json_string_value(name), json_string_value(driver),
                              json_is_object(opts) ? opts : NULL, json_is_object(labels) ? labels : NULL, &v, &e);
    json_decref(body);
    if (rc < 0)
        api_reply_berr(r, &e);
    else
        api_reply_json(r, 201, rt_volume_json(v));
}

void api_volume_inspect(api_request *r)
{
    berr e = {0};
    rt_volume *v;
    if (rt_volume_get(store(r), r->params[0], &v, &e) < 0)
        api_reply_berr(r, &e);
    else
        api_reply_json(r, 200, rt_volume_json(v));
}

void api_volume_delete(api_request *r)
{
    berr e = {0};
    if (rt_volume_remove(store(r), r->params[0], api_query_bool(r, "force", false), &e) < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 204);
}

static void pruned(void *arg, json_t *deleted, long long reclaimed)
{
    api_request *r = arg;
    api_reply_json(r, 200, json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed));
}

void api_volumes_prune(api_request *r)
{
    static const char *const allowed[] = {"label", "label!", "all", NULL};
    berr e = {0};
    json_t *f;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    /* Before API 1.42 prune took every unused volume, not only anonymous ones. */
    if (api_has(r, API_VOLUME_PRUNE_ALL)) {
        json_object_del(f, "all");
        json_object_set_new(f, "all", json_pack("[s]", "true"));
    }
    int rc = rt_volume_prune_filters(f, &e);
    if (rc == 0)
        rc = rt_volumes_prune(store(r), f, pruned, r, &e);
    json_decref(f);
    if (rc < 0)
        api_reply_berr(r, &e);
}
