/* Node endpoints: GET /nodes, GET /nodes/{id}, POST /nodes/{id}/update,
 * DELETE /nodes/{id}, with dockerd's lookups (ID, then hostname, then ID
 * prefix), SwarmKit's filters and its checks: the last manager cannot be
 * demoted, a raft member cannot be removed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/swarm_api.h"
#include "lib/filters.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "node/swarm.h"

/* ---- the Node object ------------------------------------------------------- */

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key)) ?: "";
}

static void put_str(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
}

/* A copy of o without the members whose values are "", 0, false, null or
 * empty: Go's omitempty on the fields of NodeDescription's structs. */
static json_t *omit_empty(json_t *o)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (json_is_null(v) || json_is_false(v) || (json_is_string(v) && !*json_string_value(v)) ||
            (json_is_integer(v) && json_integer_value(v) == 0) ||
            (json_is_object(v) && json_object_size(v) == 0) || (json_is_array(v) && json_array_size(v) == 0))
            continue;
        json_object_set(out, k, v);
    }
    return out;
}

/* The stored node as the Engine API's Node (a new object). */
static json_t *node_json(api_request *r, json_t *n)
{
    json_t *o = json_object();
    json_object_set_new(o, "ID", json_string(str(n, "ID")));
    json_t *ver = json_object();
    if (api_swarm_doc_version(n))
        json_object_set_new(ver, "Index", json_integer((json_int_t)api_swarm_doc_version(n)));
    json_object_set_new(o, "Version", ver);
    json_object_set_new(o, "CreatedAt", json_string(str(n, "CreatedAt")));
    json_object_set_new(o, "UpdatedAt", json_string(str(n, "UpdatedAt")));

    json_t *spec = json_object_get(n, "Spec");
    json_t *so = json_object();
    put_str(so, "Name", str(spec, "Name"));
    json_t *labels = json_object_get(spec, "Labels");
    json_object_set_new(so, "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object());
    put_str(so, "Role", str(spec, "Role"));
    put_str(so, "Availability", str(spec, "Availability"));
    json_object_set_new(o, "Spec", so);

    json_t *desc = json_object_get(n, "Description");
    json_t *d = json_object();
    put_str(d, "Hostname", str(desc, "Hostname"));
    json_object_set_new(d, "Platform", omit_empty(json_object_get(desc, "Platform")));
    json_object_set_new(d, "Resources", omit_empty(json_object_get(desc, "Resources")));
    json_object_set_new(d, "Engine", omit_empty(json_object_get(desc, "Engine")));
    json_object_set_new(d, "TLSInfo", omit_empty(json_object_get(desc, "TLSInfo")));
    json_object_set_new(o, "Description", d);

    json_object_set_new(o, "Status", omit_empty(json_object_get(n, "Status")));
    json_t *ms = json_object_get(n, "ManagerStatus");
    if (json_is_object(ms)) {
        json_t *m = omit_empty(ms);
        /* Leadership is raft's to say, not the stored document's. */
        json_object_del(m, "Leader");
        if (swarm_node_is_leader(r->d->swarm, n)) {
            /* Keep Docker's member order: Leader, Reachability, Addr. */
            json_t *ordered = json_pack("{s:b}", "Leader", 1);
            json_object_update(ordered, m);
            json_decref(m);
            m = ordered;
        }
        json_object_set_new(o, "ManagerStatus", m);
    }
    return o;
}

/* ---- lookups ------------------------------------------------------------------- */

static int by_id(const void *a, const void *b)
{
    return strcmp(str(*(json_t *const *)a, "ID"), str(*(json_t *const *)b, "ID"));
}

/* Every node, sorted by ID as SwarmKit's store lists them (a new array). */
static json_t *all_nodes(cluster_store *cs)
{
    json_t *list = cs_list(cs, CS_NODE);
    size_t n = json_array_size(list);
    json_t **v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(list, i));
    qsort(v, n, sizeof *v, by_id);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    json_decref(list);
    return out;
}

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* dockerd's getNode: full ID, then hostname, then ID prefix.  A new
 * reference, or NULL with the reply already sent. */
static json_t *find_node(api_request *r, cluster_store *cs, const char *input)
{
    json_t *doc = NULL;
    if (cs_get(cs, CS_NODE, input, &doc, NULL) == 0)
        return doc;
    json_t *nodes = all_nodes(cs);
    json_t *match = NULL;
    size_t n_match = 0;
    for (int pass = 0; pass < 2 && n_match == 0; pass++) {
        size_t i;
        json_t *it;
        json_array_foreach(nodes, i, it) {
            bool hit = pass == 0 ? strcmp(str(json_object_get(it, "Description"), "Hostname"), input) == 0
                                 : has_prefix(str(it, "ID"), input);
            if (hit) {
                if (!match)
                    match = it;
                n_match++;
            }
        }
    }
    char msg[512];
    if (n_match == 0) {
        snprintf(msg, sizeof msg, "node %s not found", input);
        api_reply_error(r, -ENOENT, msg);
    } else if (n_match > 1) {
        snprintf(msg, sizeof msg, "node %s is ambiguous (%zu matches found)", input, n_match);
        api_reply_error(r, -EINVAL, msg);
    } else {
        doc = json_incref(match);
    }
    json_decref(nodes);
    return n_match == 1 ? doc : NULL;
}

/* ---- GET /nodes ------------------------------------------------------------------ */

/* SwarmKit's filterMatchLabels over "key" / "key=value" filter values:
 * every one must hold; an empty value only asks for the key. */
static bool labels_match(json_t *vals, json_t *labels)
{
    size_t i;
    json_t *it;
    json_array_foreach(vals, i, it) {
        const char *kv = json_string_value(it);
        const char *eq = strchr(kv, '=');
        char key[512];
        snprintf(key, sizeof key, "%.*s", (int)(eq ? (size_t)(eq - kv) : strlen(kv)), kv);
        json_t *have = json_object_get(labels, key);
        if (!have)
            return false;
        if (eq && eq[1] && strcmp(json_string_value(have) ?: "", eq + 1) != 0)
            return false;
    }
    return true;
}

static bool any_prefix(json_t *vals, const char *s)
{
    if (json_array_size(vals) == 0)
        return true;
    size_t i;
    json_t *it;
    json_array_foreach(vals, i, it) if (has_prefix(s, json_string_value(it))) return true;
    return false;
}

static bool any_equal(json_t *vals, const char *s)
{
    size_t i;
    json_t *it;
    json_array_foreach(vals, i, it) if (strcmp(s, json_string_value(it)) == 0) return true;
    return false;
}

void api_nodes_list(api_request *r)
{
    static const char *const allowed[] = {"name", "id", "label", "role", "membership", "node.label", NULL};
    berr e = {0};
    json_t *f = NULL;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    /* SwarmKit's enums, lower-cased; unknown values are plain errors in
     * dockerd (500). */
    json_t *roles = json_array(), *members = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(f, "role"), i, it) {
        const char *v = json_string_value(it);
        if (strcasecmp(v, "worker") == 0 || strcasecmp(v, "manager") == 0)
            json_array_append_new(roles, json_string(strcasecmp(v, "worker") == 0 ? "worker" : "manager"));
        else if (*v)
            berr_set(&e, -EIO, "Invalid role filter: '%s'", v);
    }
    json_array_foreach(json_object_get(f, "membership"), i, it) {
        const char *v = json_string_value(it);
        if (strcasecmp(v, "accepted") == 0 || strcasecmp(v, "pending") == 0)
            json_array_append_new(members, json_string(strcasecmp(v, "accepted") == 0 ? "accepted" : "pending"));
        else if (*v && !e.code)
            berr_set(&e, -EIO, "Invalid membership filter: '%s'", v);
    }
    cluster_store *cs = e.code ? NULL : api_swarm_store(r, api_nodes_list);
    if (e.code)
        api_reply_berr(r, &e);
    if (!cs) {
        json_decref(f);
        json_decref(roles);
        json_decref(members);
        return;
    }
    json_t *nodes = all_nodes(cs);
    json_t *out = json_array();
    json_array_foreach(nodes, i, it) {
        json_t *desc = json_object_get(it, "Description");
        json_t *spec = json_object_get(it, "Spec");
        /* Every node of a one-member cluster, and every node berth records,
         * has been accepted. */
        if (!any_prefix(json_object_get(f, "name"), str(desc, "Hostname")) ||
            !any_prefix(json_object_get(f, "id"), str(it, "ID")) ||
            !labels_match(json_object_get(f, "label"), json_object_get(json_object_get(desc, "Engine"), "Labels")) ||
            !labels_match(json_object_get(f, "node.label"), json_object_get(spec, "Labels")) ||
            (json_array_size(roles) && !any_equal(roles, str(spec, "Role"))) ||
            (json_array_size(members) && !any_equal(members, "accepted")))
            continue;
        json_array_append_new(out, node_json(r, it));
    }
    json_decref(nodes);
    json_decref(f);
    json_decref(roles);
    json_decref(members);
    api_reply_json(r, 200, out);
}

/* ---- GET /nodes/{id} ---------------------------------------------------------------- */

void api_node_inspect(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_node_inspect);
    if (!cs)
        return;
    json_t *n = find_node(r, cs, r->params[0]);
    if (!n)
        return;
    api_reply_json(r, 200, node_json(r, n));
    json_decref(n);
}

/* ---- POST /nodes/{id}/update -------------------------------------------------------- */

/* dockerd's NodeSpecToGRPC: Role and Availability must be SwarmKit enum
 * names; the result in the stored form. */
static int node_spec(json_t *body, json_t **out, berr *e)
{
    if (body && !json_is_object(body))
        return berr_set(e, -EINVAL, "json: cannot unmarshal into Go value of type swarm.NodeSpec");
    json_t *labels = json_object_get(body, "Labels");
    if (labels && !json_is_null(labels)) {
        const char *k;
        json_t *v;
        if (!json_is_object(labels))
            return berr_set(e, -EINVAL, "json: cannot unmarshal into Go struct field NodeSpec.Labels of type map[string]string");
        json_object_foreach(labels, k, v) if (!json_is_string(v)) return berr_set(
            e, -EINVAL, "json: cannot unmarshal into Go struct field NodeSpec.Labels of type string");
    }
    const char *role = json_string_value(json_object_get(body, "Role")) ?: "";
    const char *avail = json_string_value(json_object_get(body, "Availability")) ?: "";
    if (strcasecmp(role, "worker") != 0 && strcasecmp(role, "manager") != 0)
        return berr_set(e, -EINVAL, "invalid Role: \"%s\"", role);
    if (strcasecmp(avail, "active") != 0 && strcasecmp(avail, "pause") != 0 && strcasecmp(avail, "drain") != 0)
        return berr_set(e, -EINVAL, "invalid Availability: \"%s\"", avail);
    json_t *s = json_object();
    const char *name = json_string_value(json_object_get(body, "Name"));
    if (name && *name)
        json_object_set_new(s, "Name", json_string(name));
    json_object_set_new(s, "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object());
    json_object_set_new(s, "Role", json_string(strcasecmp(role, "worker") == 0 ? "worker" : "manager"));
    json_object_set_new(s, "Availability", json_string(strcasecmp(avail, "active") == 0  ? "active"
                                                       : strcasecmp(avail, "pause") == 0 ? "pause"
                                                                                         : "drain"));
    *out = s;
    return 0;
}

static size_t count_managers(cluster_store *cs)
{
    json_t *nodes = cs_list(cs, CS_NODE);
    size_t i, n = 0;
    json_t *it;
    json_array_foreach(nodes, i, it) n += strcmp(str(json_object_get(it, "Spec"), "Role"), "manager") == 0;
    json_decref(nodes);
    return n;
}

/* SwarmKit's check before a demotion: the managers left must still hold
 * a majority of reachable members. */
static bool demote_loses_quorum(cluster_store *cs, json_t *target)
{
    json_t *nodes = cs_list(cs, CS_NODE);
    size_t i, total = 0, reachable = 0;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        json_t *ms = json_object_get(n, "ManagerStatus");
        if (!json_is_object(ms) || strcmp(str(n, "ID"), str(target, "ID")) == 0)
            continue;
        total++;
        reachable += strcmp(str(ms, "Reachability"), "reachable") == 0;
    }
    json_decref(nodes);
    return reachable <= total / 2;
}

void api_node_update(api_request *r)
{
    berr e = {0};
    json_t *body = NULL, *spec = NULL;
    uint64_t version = 0;
    if (api_body_json(r, &body, &e) < 0 || api_swarm_version(r, "node", &version, &e) < 0 ||
        node_spec(body, &spec, &e) < 0) {
        json_decref(body);
        api_reply_berr(r, &e);
        return;
    }
    json_decref(body);
    cluster_store *cs = api_swarm_store(r, api_node_update);
    json_t *cur = cs ? find_node(r, cs, r->params[0]) : NULL;
    if (!cur) {
        json_decref(spec);
        return;
    }
    const char *id = str(cur, "ID");
    const char *was = str(json_object_get(cur, "Spec"), "Role");
    if (strcmp(was, "manager") == 0 && strcmp(str(spec, "Role"), "worker") == 0 && count_managers(cs) <= 1) {
        api_reply_error(r, -EINVAL, "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm");
        goto out;
    }
    if (strcmp(was, "worker") == 0 && strcmp(str(spec, "Role"), "manager") == 0 &&
        !*str(json_object_get(cur, "Berth"), "RaftAddr")) {
        /* The leader adds a promoted node to raft where it was reached as
         * a manager (node/swarm_members.c); a node that never was one has
         * no such address. */
        api_reply_error(r, -ENOSYS, "berthd cannot promote a node that joined as a worker: worker nodes are not "
                                    "implemented yet");
        goto out;
    }
    if (strcmp(was, "manager") == 0 && strcmp(str(spec, "Role"), "worker") == 0 && demote_loses_quorum(cs, cur)) {
        api_reply_error(r, -EINVAL, "rpc error: code = FailedPrecondition desc = can't remove member from the raft: "
                                    "this would result in a loss of quorum");
        goto out;
    }
    if (version == 0) {
        api_reply_error(r, -EIO, API_SWARM_OUT_OF_SEQUENCE);
        goto out;
    }
    json_t *doc = json_deep_copy(cur);
    json_object_set(doc, "Spec", spec);
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    json_object_set_new(doc, "UpdatedAt", json_string(now));
    cs_op op = {.type = CS_PUT, .kind = CS_NODE, .doc = doc, .if_version = (int64_t)version};
    snprintf(op.id, sizeof op.id, "%s", id);
    api_swarm_propose(r, &op, 1, NULL);
    json_decref(doc);
out:
    json_decref(spec);
    json_decref(cur);
}

/* ---- DELETE /nodes/{id} --------------------------------------------------------------- */

/* Task states before "complete" in SwarmKit's order: a removed node's
 * tasks in these become orphaned, in the same entry. */
static bool task_live(const char *state)
{
    static const char *const live[] = {"new",      "allocated", "pending", "assigned", "accepted",
                                       "preparing", "ready",    "starting", "running"};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (strcmp(state, live[i]) == 0)
            return true;
    return false;
}

void api_node_delete(api_request *r)
{
    bool force = api_query_bool(r, "force", false);
    cluster_store *cs = api_swarm_store(r, api_node_delete);
    json_t *n = cs ? find_node(r, cs, r->params[0]) : NULL;
    if (!n)
        return;
    const char *id = str(n, "ID");
    char msg[512];
    /* This node is the raft cluster's only member; a manager elsewhere in
     * the store would be one too. */
    bool member = strcmp(id, swarm_node_id(r->d->swarm)) == 0 || json_is_object(json_object_get(n, "ManagerStatus"));
    if (strcmp(str(json_object_get(n, "Spec"), "Role"), "manager") == 0 && member) {
        snprintf(msg, sizeof msg,
                 "rpc error: code = FailedPrecondition desc = node %s is a cluster manager and is a member of the raft "
                 "cluster. It must be demoted to worker before removal",
                 id);
        api_reply_error(r, -EINVAL, msg);
        json_decref(n);
        return;
    }
    if (!force && strcmp(str(json_object_get(n, "Status"), "State"), "ready") == 0) {
        snprintf(msg, sizeof msg, "rpc error: code = FailedPrecondition desc = node %s is not down and can't be removed",
                 id);
        api_reply_error(r, -EINVAL, msg);
        json_decref(n);
        return;
    }
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.NodeID", id);
    size_t nt = json_array_size(tasks);
    cs_op *ops = xcalloc(nt + 2, sizeof *ops);
    json_t **docs = xcalloc(nt + 2, sizeof *docs);
    size_t k = 0;
    /* The removed node's certificate is refused from now on: the cluster
     * object lists it, in the same entry. */
    json_t *cluster = NULL;
    if (cs_get(cs, CS_CLUSTER, swarm_cluster_id(r->d->swarm), &cluster, NULL) == 0) {
        docs[k] = swarm_cluster_with_removed(cluster, id);
        json_object_set_new(docs[k], "UpdatedAt", json_string(now));
        ops[k] = (cs_op){.type = CS_PUT, .kind = CS_CLUSTER, .doc = docs[k],
                         .if_version = json_integer_value(json_object_get(json_object_get(cluster, "Version"), "Index"))};
        snprintf(ops[k].id, sizeof ops[k].id, "%s", swarm_cluster_id(r->d->swarm));
        k++;
        json_decref(cluster);
    }
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        if (!task_live(str(json_object_get(t, "Status"), "State")))
            continue;
        json_t *doc = json_deep_copy(t);
        json_object_set_new(doc, "Status", json_pack("{s:s, s:s, s:s}", "Timestamp", now, "State", "orphaned",
                                                     "Message", "Task belonged to a node that has been deleted"));
        json_object_set_new(doc, "UpdatedAt", json_string(now));
        docs[k] = doc;
        ops[k] = (cs_op){.type = CS_PUT, .kind = CS_TASK, .doc = doc, .if_version = -1};
        snprintf(ops[k].id, sizeof ops[k].id, "%s", str(t, "ID"));
        k++;
    }
    ops[k] = (cs_op){.type = CS_DEL, .kind = CS_NODE, .if_version = -1};
    snprintf(ops[k].id, sizeof ops[k].id, "%s", id);
    api_swarm_propose(r, ops, k + 1, NULL);
    for (size_t j = 0; j < k; j++)
        json_decref(docs[j]);
    free(docs);
    free(ops);
    json_decref(tasks);
    json_decref(n);
}
