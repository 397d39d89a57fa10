/* Swarm endpoints: GET /swarm, POST /swarm/update, /swarm/leave, /swarm/join,
 * /swarm/unlock, GET /swarm/unlockkey (init is in swarm_init.c), and what
 * /info and /_ping say about swarm.
 *
 * The node is always a manager of its own cluster (node/swarm.h).  While
 * the store is starting, requests that need it wait for it (dockerd does
 * not serve its API before its swarm component is up, at most 20 s), then
 * proceed or get dockerd's "not a manager" 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/swarm_api.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "node/autolock.h"
#include "node/swarm.h"
#include "node/swarm_token.h"
#include "raft/keyring.h"

#define ERR_NOT_READY \
    "This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster."
/* dockerd's errNoManager on a worker. */
#define ERR_WORKER                                                                                                    \
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this " \
    "command on a manager node or promote the current node to a manager."

/* ---- waiting for the store ----------------------------------------------- */

typedef struct parked {
    api_request *r;
    void (*again)(api_request *r);
} parked;

static void on_settled(void *arg)
{
    parked *p = arg;
    api_request *r = p->r;
    void (*again)(api_request *r) = p->again;
    free(p);
    again(r);
}

/* 503 for a store that is not active: dockerd's words while it starts;
 * for a store that failed, what failed (dockerd's "use swarm init" advice
 * would not help: init needs the store too). */
static void reply_unavailable(api_request *r)
{
    swarm *s = r->d->swarm;
    if (s && swarm_get_state(s) == SWARM_PENDING) {
        api_reply_error(r, -EAGAIN, ERR_NOT_READY);
        return;
    }
    if (s && swarm_get_state(s) == SWARM_LOCKED) {
        api_reply_error(r, -EAGAIN, CS_ERR_LOCKED);
        return;
    }
    char msg[BERR_MSG_MAX + 96];
    snprintf(msg, sizeof msg, "This node is not a swarm manager: its cluster store could not start (%s)",
             s ? swarm_error(s) : "not running");
    api_reply_error(r, -EAGAIN, msg);
}

bool api_swarm_settled(api_request *r, void (*again)(api_request *r))
{
    swarm *s = r->d->swarm;
    if (!s)
        return true;
    parked *p = xmalloc(sizeof *p);
    p->r = r;
    p->again = again;
    if (swarm_wait(s, on_settled, p))
        return false;
    free(p);
    return true;
}

cluster_store *api_swarm_store(api_request *r, void (*again)(api_request *r))
{
    if (!api_swarm_settled(r, again))
        return NULL;
    swarm *s = r->d->swarm;
    cluster_store *cs = s ? swarm_store(s) : NULL;
    if (swarm_is_worker(s) && swarm_get_state(s) == SWARM_ACTIVE) {
        /* join and init: dockerd's "already part of a swarm". */
        api_reply_error(r, -EAGAIN, again == api_swarm_join || again == api_swarm_init ? API_SWARM_EXISTS : ERR_WORKER);
        return NULL;
    }
    if (!cs) {
        reply_unavailable(r);
        return NULL;
    }
    /* A demoted manager keeps its (no longer updated) copy of the store:
     * dockerd's answer on a worker. */
    json_t *self = swarm_node_doc(s);
    bool worker = self && strcmp(json_string_value(json_object_get(json_object_get(self, "Spec"), "Role")) ?: "",
                                 "worker") == 0;
    json_decref(self);
    if (worker && again != api_swarm_join) {
        api_reply_error(r, -EAGAIN, ERR_WORKER);
        return NULL;
    }
    return cs;
}

/* ---- writes ---------------------------------------------------------------- */

uint64_t api_swarm_doc_version(json_t *doc)
{
    json_int_t v = json_integer_value(json_object_get(json_object_get(doc, "Version"), "Index"));
    return v > 0 ? (uint64_t)v : 0;
}

static void reply_store_error(api_request *r, int status, const berr *e)
{
    const char *msg = e && e->msg[0] ? e->msg : "the cluster store failed";
    char buf[BERR_MSG_MAX + 64];
    switch (status) {
    case -EAGAIN:
        api_reply_error(r, -EIO, API_SWARM_OUT_OF_SEQUENCE);
        return;
    case -ENOENT:
        snprintf(buf, sizeof buf, "rpc error: code = NotFound desc = %s", msg);
        api_reply_error(r, -ENOENT, buf);
        return;
    case -EEXIST:
        snprintf(buf, sizeof buf, "rpc error: code = AlreadyExists desc = %s", msg);
        api_reply_error(r, -EEXIST, buf);
        return;
    case -ENOTCONN:
        api_reply_error(r, -EAGAIN, e && e->msg[0] ? msg : ERR_NOT_READY);
        return;
    default:
        api_reply_error(r, status < 0 && status != -EAGAIN ? status : -EIO, msg);
        return;
    }
}

typedef struct proposal {
    api_request *r;
    json_t *reply;
} proposal;

static void on_proposed(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    proposal *p = arg;
    api_request *r = p->r;
    json_t *reply = p->reply;
    free(p);
    if (status < 0) {
        json_decref(reply);
        reply_store_error(r, status, e);
    } else if (reply) {
        api_reply_json(r, 200, reply);
    } else {
        api_reply_empty(r, 200);
    }
}

void api_swarm_propose(api_request *r, const cs_op *ops, size_t n, json_t *reply)
{
    cluster_store *cs = r->d->swarm ? swarm_store(r->d->swarm) : NULL;
    if (!cs) {
        json_decref(reply);
        api_reply_error(r, -EAGAIN, ERR_NOT_READY);
        return;
    }
    proposal *p = xmalloc(sizeof *p);
    p->r = r;
    p->reply = reply;
    berr e = {0};
    int rc = cluster_store_propose(cs, ops, n, on_proposed, p, &e);
    if (rc < 0) {
        free(p);
        json_decref(reply);
        reply_store_error(r, rc, &e);
    }
}

int api_swarm_version(api_request *r, const char *what, uint64_t *out, berr *e)
{
    const char *raw = api_query(r, "version");
    if (!raw)
        raw = "";
    const char *why = NULL;
    if (!*raw || strspn(raw, "0123456789") != strlen(raw)) {
        why = "invalid syntax";
    } else {
        errno = 0;
        unsigned long long v = strtoull(raw, NULL, 10);
        if (errno == ERANGE)
            why = "value out of range";
        *out = v;
    }
    if (why)
        return berr_set(e, -EINVAL, "invalid %s version '%s': strconv.ParseUint: parsing \"%s\": %s", what, raw, raw,
                        why);
    return 0;
}

/* Go's strconv.ParseBool, for the rotate* parameters. */
static int query_bool(api_request *r, const char *name, bool *out, berr *e)
{
    const char *v = api_query(r, name);
    *out = false;
    if (!v || !*v)
        return 0;
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    return berr_set(e, -EINVAL, "invalid value for %s: %s", name, v);
}

/* ---- handlers ---------------------------------------------------------------- */

void api_swarm_inspect(api_request *r)
{
    if (!api_swarm_store(r, api_swarm_inspect))
        return;
    json_t *c = swarm_cluster_doc(r->d->swarm);
    if (!c) {
        api_reply_error(r, -EAGAIN, "This node is not part of a swarm");
        return;
    }
    api_reply_json(r, 200, api_swarm_cluster_json(c, true));
    json_decref(c);
}

void api_swarm_update(api_request *r)
{
    berr e = {0};
    json_t *body = NULL;
    uint64_t version = 0;
    bool rot_worker, rot_manager, rot_unlock;
    if (api_body_json(r, &body, &e) < 0 || api_swarm_version(r, "swarm", &version, &e) < 0 ||
        query_bool(r, "rotateWorkerToken", &rot_worker, &e) < 0 ||
        query_bool(r, "rotateManagerToken", &rot_manager, &e) < 0 ||
        query_bool(r, "rotateManagerUnlockKey", &rot_unlock, &e) < 0) {
        json_decref(body);
        api_reply_berr(r, &e);
        return;
    }
    if (!api_swarm_store(r, api_swarm_update)) {
        json_decref(body);
        return;
    }
    json_t *cur = swarm_cluster_doc(r->d->swarm);
    if (!cur) {
        json_decref(body);
        api_reply_error(r, -EAGAIN, "This node is not part of a swarm");
        return;
    }
    /* The client sends the whole spec (what it inspected, edited): fields
     * it leaves out become zero, as in dockerd. */
    json_t *doc = json_deep_copy(cur);
    json_decref(cur);
    json_t *spec = json_object();
    int rc = api_swarm_spec_apply(spec, body, true, &e);
    json_decref(body);
    if (rc == 0)
        rc = swarm_rotate_tokens(doc, rot_worker, rot_manager, &e);
    if (rc < 0) {
        json_decref(spec);
        json_decref(doc);
        api_reply_berr(r, &e);
        return;
    }
    json_object_set_new(doc, "Spec", spec);
    /* The unlock key follows AutoLockManagers; a rotation without autolock
     * is ignored, as SwarmKit does. */
    autolock_apply_spec(doc, rot_unlock);
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    json_object_set_new(doc, "UpdatedAt", json_string(now));
    if (version == 0) {
        /* 0 would mean "must not exist" to the store; to SwarmKit it is
         * just not the current version. */
        json_decref(doc);
        api_reply_error(r, -EIO, API_SWARM_OUT_OF_SEQUENCE);
        return;
    }
    cs_op op = {.type = CS_PUT, .kind = CS_CLUSTER, .doc = doc, .if_version = (int64_t)version};
    snprintf(op.id, sizeof op.id, "%s", swarm_cluster_id(r->d->swarm));
    api_swarm_propose(r, &op, 1, NULL);
    json_decref(doc);
}

static void on_left(void *arg, int status, const berr *e)
{
    api_request *r = arg;
    if (status == 0)
        api_reply_empty(r, 200);
    else
        api_reply_error(r, status == -EAGAIN ? -EIO : status, e && e->msg[0] ? e->msg : "could not leave the swarm");
}

void api_swarm_leave(api_request *r)
{
    bool force = api_query_bool(r, "force", false);
    if (!api_swarm_settled(r, api_swarm_leave))
        return;
    swarm *s = r->d->swarm;
    if (!s) {
        api_reply_error(r, -EAGAIN, "This node is not part of a swarm");
        return;
    }
    swarm_state st = swarm_get_state(s);
    /* dockerd's checks (daemon/cluster/swarm.go Leave): on an active
     * manager, whether leaving loses the quorum, counted from what the
     * leader records of each manager. */
    /* A worker holds no part of the quorum: it leaves without --force. */
    if (!force && !swarm_is_worker(s)) {
        char msg[1024];
        const char *head = "You are attempting to leave the swarm on a node that is participating as a manager. ";
        const char *tail = "The only way to restore a swarm that has lost consensus is to reinitialize it with "
                           "`--force-new-cluster`. Use `--force` to suppress this message.";
        cluster_store *cs = st == SWARM_ACTIVE ? swarm_store(s) : NULL;
        json_t *self = cs ? swarm_node_doc(s) : NULL;
        bool manager = !self || json_is_object(json_object_get(self, "ManagerStatus"));
        json_decref(self);
        if (!cs) {
            snprintf(msg, sizeof msg, "%sDoing so may lose the consensus of your cluster. %s", head, tail);
            api_reply_error(r, -EAGAIN, msg);
            return;
        }
        if (manager) {
            json_t *nodes = cs_list(cs, CS_NODE);
            size_t i;
            long reachable = 0, unreachable = 0;
            json_t *n;
            json_array_foreach(nodes, i, n) {
                json_t *ms = json_object_get(n, "ManagerStatus");
                if (!json_is_object(ms))
                    continue;
                if (strcmp(json_string_value(json_object_get(ms, "Reachability")) ?: "", "reachable") == 0)
                    reachable++;
                else
                    unreachable++;
            }
            json_decref(nodes);
            if (reachable - 2 <= unreachable) {
                if (reachable == 1 && unreachable == 0)
                    /* The trailing space is dockerd's. */
                    snprintf(msg, sizeof msg, "%sRemoving the last manager erases all current state of the swarm. "
                                              "Use `--force` to ignore this message. ", head);
                else
                    snprintf(msg, sizeof msg, "%sRemoving this node leaves %ld managers out of %ld. Without a Raft "
                                              "quorum your swarm will be inaccessible. %s",
                             head, reachable - 1, reachable + unreachable, tail);
            } else {
                snprintf(msg, sizeof msg, "%s%s", head, tail);
            }
            api_reply_error(r, -EAGAIN, msg);
            return;
        }
    }
    berr e = {0};
    if (swarm_leave(s, on_left, r, &e) < 0)
        api_reply_error(r, e.code == -EBUSY ? -EAGAIN : e.code, e.msg);
}

static void on_joined(void *arg, int status, const berr *e)
{
    api_request *r = arg;
    if (status == 0)
        api_reply_empty(r, 200);
    else
        api_reply_error(r, status == -EINVAL ? -EINVAL : status == -ENOSYS ? -ENOSYS : -EAGAIN,
                        e && e->msg[0] ? e->msg : "could not join the swarm");
}

/* What a node's one-member cluster holds of the user's: joining would
 * throw it away. */
static const char *user_objects(cluster_store *cs)
{
    static const struct {
        cs_kind kind;
        const char *what;
    } kinds[] = {{CS_SERVICE, "services"}, {CS_SECRET, "secrets"}, {CS_CONFIG, "configs"}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *l = cs_list(cs, kinds[i].kind);
        size_t n = json_array_size(l);
        json_decref(l);
        if (n)
            return kinds[i].what;
    }
    json_t *nets = cs_list(cs, CS_NETWORK);
    size_t i, user = 0;
    json_t *n;
    json_array_foreach(nets, i, n) user += !json_is_true(json_object_get(json_object_get(n, "Spec"), "Ingress"));
    json_decref(nets);
    return user ? "overlay networks" : NULL;
}

void api_swarm_join(api_request *r)
{
    berr e = {0};
    json_t *body = NULL;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    cluster_store *cs = api_swarm_store(r, api_swarm_join);
    if (!cs) {
        json_decref(body);
        return;
    }
    swarm *s = r->d->swarm;
    json_t *nodes = cs_list(cs, CS_NODE);
    size_t n_nodes = json_array_size(nodes);
    json_decref(nodes);
    const char *what = NULL;
    const char *listen = json_string_value(json_object_get(body, "ListenAddr"));
    const char *adv = json_string_value(json_object_get(body, "AdvertiseAddr"));
    const char *token = json_string_value(json_object_get(body, "JoinToken"));
    json_t *remotes = json_object_get(body, "RemoteAddrs");
    const char *remote = json_string_value(json_array_get(remotes, 0));
    char *lhost = NULL, *lport = NULL, *ahost = NULL, *aport = NULL, *laddr = NULL, *aaddr = NULL, *raddr = NULL;
    if (swarm_initialized(s) || n_nodes > 1) {
        api_reply_error(r, -EAGAIN, API_SWARM_EXISTS);
        goto out;
    }
    if ((what = user_objects(cs)) != NULL) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "This node's own swarm holds %s: joining another swarm would discard them. Remove them, or use "
                 "\"docker swarm leave --force\" to discard this node's swarm, before joining another one.",
                 what);
        api_reply_error(r, -EAGAIN, msg);
        goto out;
    }
    if (!remote || !*remote) {
        api_reply_error(r, -EINVAL, "invalid RemoteAddrs: at least 1 RemoteAddr is required to join");
        goto out;
    }
    if (!token || !*token) {
        api_reply_error(r, -EINVAL, "rpc error: code = InvalidArgument desc = A valid join token is necessary to "
                                    "join this cluster");
        goto out;
    }
    {
        char dg[SWARM_TOKEN_DIGEST_LEN + 1], sec[SWARM_TOKEN_SECRET_LEN + 1];
        if (swarm_token_parse(token, dg, sec, &e) < 0) {
            api_reply_error(r, -EINVAL, e.msg);
            goto out;
        }
    }
    if (api_swarm_listen_addr(listen && *listen ? listen : "0.0.0.0:2377", &lhost, &lport, &e) < 0 ||
        api_swarm_advertise_addr(adv ? adv : "", lport, &ahost, &aport, &e) < 0) {
        api_reply_berr(r, &e);
        goto out;
    }
    laddr = swarm_join_host_port(lhost, lport);
    aaddr = swarm_join_host_port(ahost, aport);
    /* dockerd adds the default port to a remote address without one. */
    raddr = strchr(remote, ':') ? xstrdup(remote) : swarm_join_host_port(remote, "2377");
    if (swarm_join(s, raddr, token, laddr, aaddr, on_joined, r, &e) < 0)
        api_reply_error(r, e.code == -EBUSY ? -EAGAIN : e.code == -EINVAL ? -EINVAL : -EAGAIN, e.msg);
out:
    free(lhost);
    free(lport);
    free(ahost);
    free(aport);
    free(laddr);
    free(aaddr);
    free(raddr);
    json_decref(body);
}

void api_swarm_unlockkey(api_request *r)
{
    if (!api_swarm_store(r, api_swarm_unlockkey))
        return;
    json_t *c = swarm_cluster_doc(r->d->swarm);
    /* Without autolock there is no key: dockerd answers "". */
    api_reply_json(r, 200, json_pack("{s:s}", "UnlockKey", c ? autolock_key(c) : ""));
    json_decref(c);
}

void api_swarm_unlock(api_request *r)
{
    berr e = {0};
    json_t *body = NULL;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (!api_swarm_settled(r, api_swarm_unlock)) {
        json_decref(body);
        return;
    }
    swarm *s = r->d->swarm;
    swarm_state st = s ? swarm_get_state(s) : SWARM_ERROR;
    if (st == SWARM_ACTIVE) {
        api_reply_error(r, -EEXIST, "swarm is not locked");
    } else if (st != SWARM_LOCKED) {
        reply_unavailable(r);
    } else if (swarm_unlock(s, json_string_value(json_object_get(body, "UnlockKey")), &e) == 0) {
        api_reply_empty(r, 200);
    } else if (e.code == -EPERM) {
        /* dockerd's invalidUnlockKey is an Unauthorized error. */
        api_reply_json(r, 401, json_pack("{s:s}", "message", e.msg));
    } else {
        api_reply_berr(r, &e);
    }
    json_decref(body);
}

/* ---- /info and /_ping ---------------------------------------------------------- */

const char *api_swarm_status(api_request *r)
{
    swarm *s = r->d->swarm;
    switch (s ? swarm_get_state(s) : SWARM_ERROR) {
    case SWARM_ACTIVE:
        return swarm_is_worker(s) ? "active/worker" : "active/manager";
    case SWARM_PENDING:
        return "pending";
    case SWARM_LOCKED:
        return "locked";
    default:
        return "error";
    }
}

json_t *api_swarm_info(api_request *r)
{
    swarm *s = r->d->swarm;
    swarm_state st = s ? swarm_get_state(s) : SWARM_ERROR;
    cluster_store *cs = s ? swarm_store(s) : NULL;
    json_t *node = cs ? swarm_node_doc(s) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "NodeID", json_string(s && st != SWARM_ERROR ? swarm_node_id(s) : ""));
    json_object_set_new(o, "NodeAddr",
                        json_string(json_string_value(json_object_get(json_object_get(node, "Status"), "Addr")) ?: ""));
    json_object_set_new(o, "LocalNodeState",
                        json_string(st == SWARM_ACTIVE ? "active" : st == SWARM_PENDING ? "pending" : st == SWARM_LOCKED ? "locked" : "error"));
    json_object_set_new(o, "ControlAvailable", json_boolean(cs != NULL));
    json_object_set_new(o, "Error", json_string(s ? swarm_error(s) : "the cluster store is not running"));
    json_decref(node);
    if (swarm_is_worker(s)) {
        /* What a worker knows: its managers, as its session learnt them
         * (dockerd counts Nodes and Managers on managers only). */
        json_object_set_new(o, "NodeAddr", json_string(swarm_worker_addr(s)));
        json_object_set_new(o, "RemoteManagers", swarm_worker_managers(s));
        return o;
    }
    if (!cs) {
        json_object_set_new(o, "RemoteManagers", json_null());
        return o;
    }
    json_t *nodes = cs_list(cs, CS_NODE);
    json_t *remotes = json_array();
    size_t i, managers = 0;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        json_t *ms = json_object_get(n, "ManagerStatus");
        if (!json_is_object(ms))
            continue;
        managers++;
        json_array_append_new(remotes, json_pack("{s:s, s:s}", "NodeID", json_string_value(json_object_get(n, "ID")) ?: "",
                                                 "Addr", json_string_value(json_object_get(ms, "Addr")) ?: ""));
    }
    json_object_set_new(o, "RemoteManagers", remotes);
    if (json_array_size(nodes) > 0)
        json_object_set_new(o, "Nodes", json_integer((json_int_t)json_array_size(nodes)));
    if (managers > 0)
        json_object_set_new(o, "Managers", json_integer((json_int_t)managers));
    json_decref(nodes);
    json_t *c = swarm_cluster_doc(s);
    if (c)
        json_object_set_new(o, "Cluster", api_swarm_cluster_json(c, false));
    json_decref(c);
    return o;
}
