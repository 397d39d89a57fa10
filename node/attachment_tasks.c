/* Network attachment tasks (see attachment_tasks.h). */
#include "node/attachment_tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/jsonutil.h"
#include "lib/timefmt.h"
#include "scheduler/common.h"

static json_t *get2(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

const char *attachment_task_container(const json_t *task)
{
    return json_str(get2(task, "Spec", "NetworkAttachmentSpec"), "ContainerID");
}

const char *attachment_task_network(const json_t *task)
{
    return json_str(json_array_get(get2(task, "Spec", "Networks"), 0), "Target");
}

const json_t *attachment_network_resolve(const json_t *networks, const char *ref, berr *e)
{
    const json_t *found = NULL;
    size_t i, matches = 0, len = strlen(ref);
    json_t *n;
    /* dockerd's order: full ID, then name, then a unique ID prefix. */
    json_array_foreach(networks, i, n) if (!strcmp(json_str(n, "ID"), ref)) found = n;
    if (!found)
        json_array_foreach(networks, i, n) if (!strcmp(json_str(json_object_get(n, "Spec"), "Name"), ref)) found = n;
    if (!found && len)
        json_array_foreach(networks, i, n) if (!strncmp(json_str(n, "ID"), ref, len)) {
            found = n;
            matches++;
        }
    if (!found || matches > 1) {
        berr_set(e, -ENOENT, "network %s not found", ref);
        return NULL;
    }
    const char *name = json_str(json_object_get(found, "Spec"), "Name");
    if (!ovl_network_is_overlay(found) || !json_is_true(get2(found, "Spec", "Attachable")) ||
        json_is_true(get2(found, "Spec", "Ingress"))) {
        berr_set(e, -EPERM,
                 "Could not attach to network %s: rpc error: code = PermissionDenied desc = network %s not manually "
                 "attachable",
                 ref, name);
        return NULL;
    }
    return found;
}

typedef struct request_call {
    attachment_done done;
    void *arg;
    json_t *task;
} request_call;

static void on_recorded(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    request_call *rc = arg;
    berr err = {0};
    if (status < 0)
        berr_set(&err, status, "%s", e && e->msg[0] ? e->msg : "could not record the network attachment");
    rc->done(rc->arg, status, &err, status < 0 ? NULL : rc->task);
    json_decref(rc->task);
    free(rc);
}

/* The node's task for this container on this network, if it has one. */
static json_t *existing(cluster_store *cs, const char *node_id, const char *container_id, const char *net_id)
{
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.NodeID", node_id), *found = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) if (!strcmp(attachment_task_container(t), container_id) &&
                                        !strcmp(attachment_task_network(t), net_id)) found = json_incref(t);
    json_decref(tasks);
    return found;
}

static bool valid_aliases(const json_t *aliases)
{
    if (!aliases)
        return true;
    if (!json_is_array(aliases) || json_array_size(aliases) > 64)
        return false;
    size_t i;
    json_t *a;
    json_array_foreach(aliases, i, a) if (!json_is_string(a) || !json_string_length(a) || json_string_length(a) > 255) return false;
    return true;
}

int attachment_request(cluster_store *cs, const char *node_id, const json_t *req, attachment_done done, void *arg,
                       berr *e)
{
    const char *cid = json_str(req, "container"), *name = json_str(req, "name"), *ref = json_str(req, "network");
    json_t *aliases = json_object_get(req, "aliases");
    if (strlen(cid) != 64 || !*ref || strlen(ref) > 255 || strlen(name) > 255 || !valid_aliases(aliases))
        return berr_set(e, -EINVAL, "node RPC: an attachment needs a container ID, its name, a network and at most 64 aliases");
    json_t *networks = cs_list(cs, CS_NETWORK);
    const json_t *net = attachment_network_resolve(networks, ref, e);
    if (!net) {
        json_decref(networks);
        return e->code;
    }
    char net_id[65];
    snprintf(net_id, sizeof net_id, "%s", json_str(net, "ID"));
    json_decref(networks);
    json_t *had = existing(cs, node_id, cid, net_id);
    if (had) {
        done(arg, 0, NULL, had);
        json_decref(had);
        return 0;
    }
    char id[26], now[TIME_RFC3339_BUF];
    cs_new_id(id);
    time_now_rfc3339(now);
    json_t *target = json_pack("{s:s}", "Target", net_id);
    if (json_array_size(aliases))
        json_object_set(target, "Aliases", aliases);
    json_t *task = json_pack("{s:s, s:{s:i}, s:s, s:s, s:{s:{s:s}, s:[o]}, s:s, s:s, s:s, s:{s:s, s:s, s:s}, "
                             "s:{s:s}}",
                             "ID", id, "Version", "Index", 0, "CreatedAt", now, "UpdatedAt", now, "Spec",
                             "NetworkAttachmentSpec", "ContainerID", cid, "Networks", target, "ServiceID", "",
                             "NodeID", node_id, "DesiredState", "running", "Status", "Timestamp", now, "State", "new",
                             "Message", "created", "Berth", "ContainerName", name);
    cs_op op = {.type = CS_PUT, .kind = CS_TASK, .doc = task, .if_version = 0};
    snprintf(op.id, sizeof op.id, "%s", id);
    request_call *rc = xcalloc(1, sizeof *rc);
    *rc = (request_call){done, arg, task};
    int r = cluster_store_propose(cs, &op, 1, on_recorded, rc, e);
    if (r < 0) {
        json_decref(task);
        free(rc);
    }
    return r;
}

typedef struct release_call {
    cs_done_fn done;
    void *arg;
} release_call;

static void on_released(void *arg, int status, uint64_t index, const berr *e)
{
    release_call *rc = arg;
    /* -ENOENT: another release got there first; the task is gone either way. */
    if (rc->done)
        rc->done(rc->arg, status == -ENOENT ? 0 : status, index, e);
    free(rc);
}

int attachment_release(cluster_store *cs, const char *node_id, const char *container_id, const char *net_id,
                       cs_done_fn done, void *arg, berr *e)
{
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.NodeID", node_id);
    size_t i, n = 0;
    json_t *t;
    cs_op *ops = xcalloc(json_array_size(tasks) + 1, sizeof *ops);
    json_array_foreach(tasks, i, t) {
        if (!*container_id || strcmp(attachment_task_container(t), container_id) ||
            (net_id && *net_id && strcmp(attachment_task_network(t), net_id)))
            continue;
        ops[n] = (cs_op){.type = CS_DEL, .kind = CS_TASK, .if_version = -1};
        snprintf(ops[n].id, sizeof ops[n].id, "%s", json_str(t, "ID"));
        n++;
    }
    json_decref(tasks);
    int r = 0;
    if (!n) {
        if (done)
            done(arg, 0, 0, NULL);
    } else {
        release_call *rc = xcalloc(1, sizeof *rc);
        *rc = (release_call){done, arg};
        if ((r = cluster_store_propose(cs, ops, n, on_released, rc, e)) < 0)
            free(rc);
    }
    free(ops);
    return r;
}

void attachment_task_allocate(ovl_alloc *a, json_t *task, long long now_ns)
{
    berr e = {0};
    bool ok = ovl_alloc_task(a, task, false, &e) == 0;
    json_t *st = json_pack("{s:o, s:s, s:s}", "Timestamp", sched_time_json(now_ns), "State", ok ? "assigned" : "rejected",
                           "Message", ok ? "network attachment allocated" : "allocation failed");
    if (!ok)
        json_object_set_new(st, "Err", json_string(e.msg));
    json_object_set_new(task, "Status", st);
    json_object_set_new(task, "UpdatedAt", sched_time_json(now_ns));
}
