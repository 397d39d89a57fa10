/* /networks: list, inspect, create, remove, prune, connect, disconnect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/networks_swarm.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/jsonutil.h"
#include "lib/timefmt.h"
#include "netoverlay/networks.h"
#include "node/daemon.h"
#include "node/swarm.h"
#include "runtime/container/network.h"

static net_manager *nets(api_request *r) { return &r->d->networks; }

static bool lookup(api_request *r, net_network **out)
{
    berr e = {0};
    if (net_network_find(nets(r), r->params[0], out, &e) < 0) {
        api_reply_berr(r, &e);
        return false;
    }
    return true;
}

static long long created_unix(const net_network *n)
{
    return time_parse_rfc3339(n->created);
}

/* ---- GET /networks ----------------------------------------------------------- */

static bool matches_any(json_t *f, const char *name, const char *value, bool prefix)
{
    json_t *vals = json_object_get(f, name);
    if (!json_array_size(vals))
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        const char *s = json_string_value(v);
        if (prefix ? !strncmp(value, s, strlen(s)) : strstr(value, s) != NULL)
            return true;
    }
    return false;
}

static int list_filter(json_t *f, net_network *n, bool *keep, berr *e)
{
    *keep = false;
    if (!matches_any(f, "driver", n->driver, false) || !matches_any(f, "id", n->id, true) ||
        !matches_any(f, "name", n->name, false) || !matches_any(f, "scope", net_network_scope(n), false) ||
        !filters_match_labels(f, "label", n->labels))
        return 0;
    json_t *types = json_object_get(f, "type");
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v) {
        const char *t = json_string_value(v);
        if (strcmp(t, "custom") && strcmp(t, "builtin"))
            return berr_set(e, -EINVAL, "invalid filter: 'type'='%s'", t);
    }
    if (json_array_size(types)) {
        const char *t = net_network_is_user(n) ? "custom" : "builtin";
        bool any = false;
        json_array_foreach(types, i, v) any |= !strcmp(json_string_value(v), t);
        if (!any)
            return 0;
    }
    if (filters_has(f, "dangling")) {
        bool dangling = false;
        int r = filters_bool(f, "dangling", &dangling, e);
        if (r < 0)
            return r;
        /* Dangling: custom networks no container uses. */
        bool is = net_network_is_user(n) && !net_network_in_use(n);
        if (is != dangling)
            return 0;
    }
    *keep = true;
    return 0;
}

void api_networks_list(api_request *r)
{
    static const char *const allowed[] = {"dangling", "driver", "id", "label", "name", "scope", "type", NULL};
    berr e = {0};
    json_t *f = NULL;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    json_t *out = json_array();
    net_manager *nm = nets(r);
    for (size_t i = 0; i < nm->n_nets; i++) {
        bool keep;
        if (list_filter(f, nm->nets[i], &keep, &e) < 0) {
            json_decref(f);
            json_decref(out);
            api_reply_berr(r, &e);
            return;
        }
        if (!keep)
            continue;
        json_t *doc = net_network_inspect(nm, nm->nets[i]);
        /* The list carries no Containers, as with dockerd. */
        json_object_set_new(doc, "Containers", json_object());
        json_array_append_new(out, doc);
    }
    json_decref(f);
    api_reply_json(r, 200, out);
}

void api_network_inspect(api_request *r)
{
    /* ?scope= narrows the lookup as dockerd's scope filter does (an exact
     * match, no check of the value): a network of another scope is not
     * found (docker network inspect --scope swarm of a local network). */
    const char *scope = api_query(r, "scope");
    net_network *n;
    if (!lookup(r, &n))
        return;
    json_t *doc = net_network_inspect(nets(r), n);
    if (scope && *scope && strcmp(json_string_value(json_object_get(doc, "Scope")) ?: "", scope)) {
        json_decref(doc);
        berr e;
        berr_set(&e, -ENOENT, "network %s not found", r->params[0]);
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 200, doc);
}

/* ---- create / remove / prune --------------------------------------------------- */

void api_network_create(api_request *r)
{
    berr e = {0};
    json_t *body = NULL;
    if (api_body_json(r, &body, &e) < 0 || !json_is_object(body)) {
        if (!e.code)
            berr_set(&e, -EINVAL, "network name must be specified");
        json_decref(body);
        api_reply_berr(r, &e);
        return;
    }
    if (api_network_wants_overlay(body)) {
        api_overlay_network_create(r, body);
        json_decref(body);
        return;
    }
    char id[65];
    int rc = net_network_create(nets(r), body, id, &e);
    json_decref(body);
    if (rc < 0) {
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 201, json_pack("{s:s, s:s}", "Id", id, "Warning", ""));
}

void api_network_delete(api_request *r)
{
    net_network *n;
    berr e = {0};
    if (!lookup(r, &n))
        return;
    if (n->ov) {
        api_overlay_network_remove(r, n);
        return;
    }
    if (net_network_remove(nets(r), n, &e) < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 204);
}

void api_networks_prune(api_request *r)
{
    static const char *const allowed[] = {"until", "label", "label!", NULL};
    berr e = {0};
    json_t *f = NULL;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    long long until = 0;
    if (filters_until(f, &until, &e) < 0) {
        json_decref(f);
        api_reply_berr(r, &e);
        return;
    }
    net_manager *nm = nets(r);
    json_t *deleted = json_array();
    for (size_t i = 0; i < nm->n_nets;) {
        net_network *n = nm->nets[i];
        /* Overlays are the cluster's: pruned by no single node. */
        bool keep = !net_network_is_user(n) || n->ov || net_network_in_use(n) || !filters_match_labels(f, "label", n->labels) ||
                    filters_match_any_label(f, "label!", n->labels) || (until && created_unix(n) >= until);
        char name[sizeof n->name];
        snprintf(name, sizeof name, "%s", n->name);
        if (keep || net_network_remove(nm, n, &e) < 0) {
            i++;
            continue;
        }
        json_array_append_new(deleted, json_string(name));
    }
    json_decref(f);
    api_reply_json(r, 200, json_pack("{s:o}", "NetworksDeleted",
                                     json_array_size(deleted) ? deleted : (json_decref(deleted), json_null())));
}

/* ---- connect / disconnect ------------------------------------------------------- */

static bool body_container(api_request *r, json_t **body, rt_container **c)
{
    berr e = {0};
    *body = NULL;
    if (api_body_json(r, body, &e) < 0) {
        api_reply_berr(r, &e);
        return false;
    }
    const char *ref = json_string_value(json_object_get(*body, "Container"));
    if (!ref || !*ref) {
        api_reply_error(r, -EINVAL, "container name or ID is required");
        json_decref(*body);
        return false;
    }
    if (rt_container_find(&r->d->containers, ref, c, &e) < 0) {
        api_reply_berr(r, &e);
        json_decref(*body);
        return false;
    }
    return true;
}

static void connect_now(api_request *r, rt_container *c, net_network *n, json_t *body)
{
    berr e = {0};
    int rc = rt_container_connect(&r->d->containers, c, n, json_object_get(body, "EndpointConfig"), &e);
    json_decref(body);
    if (rc < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 200);
}

typedef struct connect_call {
    api_request *r;
    json_t *body;
    char id[DIGEST_HEX_LEN + 1];
} connect_call;

static void connect_attached(void *arg, int status, const berr *e, const char *net_id)
{
    connect_call *cc = arg;
    api_request *r = cc->r;
    rt_container *c = NULL;
    net_network *n = NULL;
    berr err = {0};
    if (status < 0) {
        json_decref(cc->body);
        api_reply_berr(r, e);
    } else if (rt_container_find(&r->d->containers, cc->id, &c, &err) < 0 ||
               net_network_find(nets(r), net_id, &n, &err) < 0) {
        json_decref(cc->body);
        attachments_release(&r->d->attachments, cc->id, net_id);
        api_reply_berr(r, &err);
    } else {
        connect_now(r, c, n, cc->body);
        /* A refused connect leaves no attachment behind. */
        if (!json_object_get(c->networks, n->name))
            attachments_release(&r->d->attachments, cc->id, net_id);
    }
    free(cc);
}

void api_network_connect(api_request *r)
{
    net_network *n = NULL;
    json_t *body;
    rt_container *c;
    berr e = {0};
    int found = net_network_find(nets(r), r->params[0], &n, &e);
    /* A worker learns a network with its first container on it. */
    bool worker = r->d->swarm && swarm_is_worker(r->d->swarm) && swarm_agent_store(r->d->swarm);
    if (found < 0 && !(found == -ENOENT && worker)) {
        api_reply_berr(r, &e);
        return;
    }
    if (!body_container(r, &body, &c))
        return;
    if (found == 0 && (!n->ov || rt_container_is_task(c))) {
        connect_now(r, c, n, body);
        return;
    }
    /* A swarm overlay, or one this worker has not been told of yet: the
     * swarm gives the address first (node/attachments.h). */
    connect_call *cc = xcalloc(1, sizeof *cc);
    *cc = (connect_call){.r = r, .body = body};
    snprintf(cc->id, sizeof cc->id, "%s", c->id);
    attachments_prepare_one(&r->d->attachments, c, n ? n->id : r->params[0],
                            json_object_get(json_object_get(body, "EndpointConfig"), "Aliases"), connect_attached, cc);
}

void api_network_disconnect(api_request *r)
{
    net_network *n;
    json_t *body;
    rt_container *c;
    if (!lookup(r, &n) || !body_container(r, &body, &c))
        return;
    berr e = {0};
    int rc = rt_container_disconnect(&r->d->containers, c, n, json_is_true(json_object_get(body, "Force")), &e);
    json_decref(body);
    if (rc == 0 && n->ov)
        attachments_release(&r->d->attachments, c->id, n->id);
    if (rc < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 200);
}
