/* The dispatcher: the managers' side of the workers' sessions (see
 * dispatcher.h). */
#include "node/dispatcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "node/assignments.h"
#include "node/attachment_tasks.h"
#include "node/dispatcher_health.h"
#include "node/swarm_int.h"

#define TICK_MS 250
/* How often a follower tells the leader what it heard (at most). */
#define ALIVE_PUSH_MS 1000
#define RPC_TIMEOUT_MS 5000
/* A session not heard from for this many periods is forgotten here. */
#define SESSION_FORGET_PERIODS 10
#define DEFAULT_HEARTBEAT_MS 5000
/* Tasks in one report (an agent's scan of a node's tasks makes one). */
#define MAX_REPORT 10000


typedef struct session {
    char node[26];
    uint64_t seen;          /* uv_now of its last request */
    cs_rpc_ctx *parked;     /* its long poll, waiting for a change or the period */
    uint64_t parked_at;
    char version[ASSIGNMENTS_VERSION_LEN + 1];   /* what the worker has */
    char computed[ASSIGNMENTS_VERSION_LEN + 1];  /* its assignments' version when last computed ("": never) */
    uint64_t gen;           /* the dispatcher's gen then */
    json_t *keys;           /* "kind/id" of what those assignments held (registered in the index) */
    struct session *next;
} session;

struct dispatcher {
    swarm *s;
    uv_loop_t *loop;
    cluster_store *cs;
    session *sessions;
    disp_health *health;
    bool leading;
    bool proposing;         /* a Down/Ready change is in flight */
    int pushing;            /* alive reports to the other managers in flight */
    uint64_t last_push;
    uv_timer_t tick, kick;
    int handles_open;
    bool freeing;
    /* Which sessions a change concerns, so that a heartbeat or another
     * node's change costs a session nothing (see on_change): */
    uint64_t gen;           /* bumped by a change that may concern every node */
    json_t *dirty;          /* {node: true}: changed since computed */
    json_t *index;          /* {"kind/id": {node: true}}: who holds what */
    json_t *mesh;           /* {node: true}: holds an ingress network (every node is its concern) */
    json_t *reply;          /* ok_reply's managers, cached until a node or the cluster changes */
    json_t *workers;        /* {node ID: Status.State} of the worker nodes, for judge; NULL: read again */
};

static json_t *rpc_error(int status, const char *msg) { return json_pack("{s:i, s:s}", "status", status, "error", msg); }

static int64_t version_of(json_t *doc)
{
    return json_integer_value(json_object_get(json_object_get(doc, "Version"), "Index"));
}

unsigned dispatcher_heartbeat_ms(cluster_store *cs)
{
    json_t *c = NULL;
    if (!cs || cs_get(cs, CS_CLUSTER, cluster_store_cluster_id(cs), &c, NULL) < 0)
        return DEFAULT_HEARTBEAT_MS;
    json_int_t ns = json_integer_value(json_object_get(json_object_get(json_object_get(c, "Spec"), "Dispatcher"),
                                                       "HeartbeatPeriod"));
    json_decref(c);
    return ns >= 1000000 ? (unsigned)(ns / 1000000) : DEFAULT_HEARTBEAT_MS;
}

static bool is_leader(cluster_store *cs) { return cluster_store_leader(cs) == cluster_store_raft_id(cs); }

/* Where the workers may reach a manager: every manager's advertised
 * address, and its node ID by address (for docker info's RemoteManagers). */
static json_t *ok_reply(dispatcher *d)
{
    if (d->reply)
        return json_deep_copy(d->reply);
    json_t *nodes = cs_list(d->cs, CS_NODE), *addrs = json_array(), *ids = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        const char *addr = json_str(json_object_get(n, "ManagerStatus"), "Addr");
        if (*addr && strncmp(addr, "127.", 4) != 0) {
            json_array_append_new(addrs, json_string(addr));
            json_object_set_new(ids, addr, json_string(json_str(n, "ID")));
        }
    }
    json_decref(nodes);
    d->reply = json_pack("{s:i, s:i, s:o, s:o}", "status", 0, "heartbeat_ms", (int)dispatcher_heartbeat_ms(d->cs),
                         "managers", addrs, "manager_ids", ids);
    return json_deep_copy(d->reply);
}

/* ---- sessions ------------------------------------------------------------------ */

static bool idle(dispatcher *d);
static void tick_again(dispatcher *d);

static session *session_get(dispatcher *d, const char *node)
{
    for (session *x = d->sessions; x; x = x->next)
        if (!strcmp(x->node, node))
            return x;
    session *x = xcalloc(1, sizeof *x);
    snprintf(x->node, sizeof x->node, "%s", node);
    x->next = d->sessions;
    d->sessions = x;
    tick_again(d);
    return x;
}

/* ---- which sessions a change concerns ------------------------------------------------ */

static void set_add(json_t *set, const char *node) { json_object_set_new(set, node, json_true()); }

static void unindex(dispatcher *d, session *x)
{
    size_t i;
    json_t *k;
    json_array_foreach(x->keys, i, k) {
        json_t *holders = json_object_get(d->index, json_string_value(k));
        json_object_del(holders, x->node);
        if (holders && !json_object_size(holders))
            json_object_del(d->index, json_string_value(k));
    }
    json_decref(x->keys);
    x->keys = NULL;
    json_object_del(d->mesh, x->node);
}

/* Registers what x's new assignments hold: a change to any of it, and
 * with an ingress network any node's change, concerns x. */
static void reindex(dispatcher *d, session *x, json_t *a)
{
    unindex(d, x);
    x->keys = json_array();
    const char *kind;
    json_t *docs;
    json_object_foreach(a, kind, docs) {
        size_t i;
        json_t *doc;
        json_array_foreach(docs, i, doc) {
            char key[96];
            snprintf(key, sizeof key, "%s/%s", kind, json_str(doc, "ID"));
            json_t *holders = json_object_get(d->index, key);
            if (!holders)
                json_object_set_new(d->index, key, holders = json_object());
            set_add(holders, x->node);
            json_array_append_new(x->keys, json_string(key));
            if (!strcmp(kind, cs_kind_name(CS_NETWORK)) &&
                json_is_true(json_object_get(json_object_get(doc, "Spec"), "Ingress")))
                set_add(d->mesh, x->node);
        }
    }
}

static void mark_holders(dispatcher *d, cs_kind kind, const char *id)
{
    char key[96];
    snprintf(key, sizeof key, "%s/%s", cs_kind_name(kind), id);
    const char *node;
    json_t *v;
    json_object_foreach(json_object_get(d->index, key), node, v) set_add(d->dirty, node);
}

static void mark_mesh(dispatcher *d)
{
    const char *node;
    json_t *v;
    json_object_foreach(d->mesh, node, v) set_add(d->dirty, node);
}

/* What an applied entry may change in whose assignments (node/assignments.c
 * says what they hold): a task its node's, and the holders' of the task
 * (it moved away) and of its networks (their peers); a node its own and
 * its holders' (peers' nodes), and every mesh member's; a secret or config
 * its holders'.  Services, networks and the cluster object concern every
 * node: rare changes, and a service that publishes turns the mesh on. */
static void note_change(dispatcher *d, const cs_op *ops, size_t n)
{
    if (!n) {   /* a snapshot: anything may have changed */
        d->gen++;
        json_decref(d->reply), d->reply = NULL;
        json_decref(d->workers), d->workers = NULL;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const cs_op *op = &ops[i];
        switch (op->kind) {
        case CS_TASK: {
            mark_holders(d, CS_TASK, op->id);
            if (op->type != CS_PUT)
                break;
            const char *node = json_str(op->doc, "NodeID");
            if (*node)
                set_add(d->dirty, node);
            size_t k;
            json_t *x;
            json_array_foreach(json_object_get(op->doc, "NetworksAttachments"), k, x)
                mark_holders(d, CS_NETWORK, json_str(json_object_get(x, "Network"), "ID"));
            mark_mesh(d);
            break;
        }
        case CS_NODE:
            set_add(d->dirty, op->id);
            mark_holders(d, CS_NODE, op->id);
            mark_mesh(d);
            json_decref(d->reply), d->reply = NULL;
            if (d->workers) {
                json_t *ms = op->type == CS_PUT ? json_object_get(op->doc, "ManagerStatus") : NULL;
                if (op->type == CS_PUT && !json_is_object(ms))
                    json_object_set_new(d->workers, op->id,
                                        json_string(json_str(json_object_get(op->doc, "Status"), "State")));
                else
                    json_object_del(d->workers, op->id);
            }
            break;
        case CS_SECRET:
        case CS_CONFIG:
            mark_holders(d, op->kind, op->id);
            break;
        default:
            d->gen++;
            json_decref(d->reply), d->reply = NULL;
            break;
        }
    }
}

static bool session_dirty(dispatcher *d, session *x)
{
    return !x->computed[0] || x->gen != d->gen || json_object_get(d->dirty, x->node);
}

static void session_free(dispatcher *d, session *x)
{
    unindex(d, x);
    json_object_del(d->dirty, x->node);
    free(x);
}

/* Answers x's long poll: with its assignments when they differ from what
 * it has, else (force) an empty heartbeat answer.  They are computed again
 * only when a change concerned x since the last time. */
static void session_answer(dispatcher *d, session *x, bool force)
{
    if (!x->parked || !d->cs)
        return;
    json_t *a = NULL;
    if (session_dirty(d, x)) {
        a = assignments_for(d->cs, x->node, x->computed);
        x->gen = d->gen;
        json_object_del(d->dirty, x->node);
        reindex(d, x, a);
    }
    bool changed = strcmp(x->computed, x->version) != 0;
    if (!changed && !force) {
        json_decref(a);
        return;
    }
    if (changed && !a) {   /* the worker lost what it had (it starts over): the same again */
        a = assignments_for(d->cs, x->node, x->computed);
        reindex(d, x, a);
    }
    json_t *resp = ok_reply(d);
    json_object_set_new(resp, "version", json_string(x->computed));
    if (changed)
        json_object_set_new(resp, "assignments", a);
    else
        json_decref(a);
    snprintf(x->version, sizeof x->version, "%s", x->computed);
    cs_rpc_reply(x->parked, resp);
    x->parked = NULL;
}

static void handle_session(dispatcher *d, json_t *req, cs_rpc_ctx *ctx)
{
    const char *node = cs_rpc_peer_node(ctx);
    json_t *doc = NULL;
    if (strlen(node) != 25 || cs_get(d->cs, CS_NODE, node, &doc, NULL) < 0) {
        cs_rpc_reply(ctx, rpc_error(-ENOENT, "node is not a member of this swarm (it was removed)"));
        return;
    }
    json_decref(doc);
    session *x = session_get(d, node);
    x->seen = uv_now(d->loop);
    if (d->leading)
        health_seen(d->health, node, x->seen);
    if (x->parked) {   /* a newer poll replaces one still open (its connection is likely gone) */
        cs_rpc_reply(x->parked, rpc_error(-ECANCELED, "superseded by a newer session request"));
        x->parked = NULL;
    }
    snprintf(x->version, sizeof x->version, "%s", json_str(req, "version"));
    x->parked = ctx;
    x->parked_at = x->seen;
    session_answer(d, x, false);
}

/* ---- reports --------------------------------------------------------------------- */

typedef struct report_call {
    cs_rpc_ctx *ctx;
} report_call;

static void on_reported(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    report_call *rc = arg;
    cs_rpc_reply(rc->ctx, status < 0 ? rpc_error(status, e && e->msg[0] ? e->msg : "report failed")
                                     : json_pack("{s:i}", "status", 0));
    free(rc);
}

/* A worker's batch of task states: each replaces the Status of a task of
 * that node, conditioned on the version the worker saw; the rest of the
 * document stays the store's. */
static void handle_report(dispatcher *d, json_t *req, cs_rpc_ctx *ctx)
{
    const char *node = cs_rpc_peer_node(ctx);
    json_t *tasks = json_object_get(req, "tasks");
    size_t n = json_array_size(tasks), k = 0, i;
    if (!n || n > MAX_REPORT) {
        cs_rpc_reply(ctx, rpc_error(-EINVAL, "node RPC: a report needs 1 to 10000 tasks"));
        return;
    }
    cs_op *ops = xcalloc(n, sizeof *ops);
    json_t *docs = json_array(), *t;
    json_array_foreach(tasks, i, t) {
        json_t *cur = NULL;
        const char *id = json_str(t, "ID");
        if (!*id || strlen(id) >= sizeof ops[0].id || cs_get(d->cs, CS_TASK, id, &cur, NULL) < 0)
            continue;
        if (strcmp(json_str(cur, "NodeID"), node) || !json_is_object(json_object_get(t, "Status"))) {
            json_decref(cur);
            continue;   /* not this node's task: never written on its word */
        }
        json_t *doc = json_deep_copy(cur);
        json_decref(cur);
        json_object_set(doc, "Status", json_object_get(t, "Status"));
        if (json_is_string(json_object_get(t, "UpdatedAt")))
            json_object_set(doc, "UpdatedAt", json_object_get(t, "UpdatedAt"));
        json_array_append_new(docs, doc);
        ops[k] = (cs_op){.type = CS_PUT, .kind = CS_TASK, .doc = doc, .if_version = version_of(t)};
        snprintf(ops[k].id, sizeof ops[k].id, "%s", id);
        k++;
    }
    berr e = {0};
    report_call *rc = xcalloc(1, sizeof *rc);
    rc->ctx = ctx;
    if (!k) {
        free(rc);
        cs_rpc_reply(ctx, rpc_error(-EAGAIN, "none of the reported tasks is this node's any more"));
    } else if (cluster_store_propose(d->cs, ops, k, on_reported, rc, &e) < 0) {
        free(rc);
        cs_rpc_reply(ctx, rpc_error(e.code ? e.code : -EIO, e.msg));
    }
    free(ops);
    json_decref(docs);
}

/* ---- network attachments of a worker's containers ---------------------------------------- */

static void on_attached(void *arg, int status, const berr *e, const json_t *task)
{
    cs_rpc_ctx *ctx = arg;
    cs_rpc_reply(ctx, status < 0 ? rpc_error(status, e && e->msg[0] ? e->msg : "attach failed")
                                 : json_pack("{s:i, s:O}", "status", 0, "task", task));
}

/* A plain container on the worker joins an attachable overlay: the task
 * is the worker's own, whatever the request says (node/attachment_tasks.h). */
static void handle_attach(dispatcher *d, json_t *req, cs_rpc_ctx *ctx)
{
    berr e = {0};
    if (attachment_request(d->cs, cs_rpc_peer_node(ctx), req, on_attached, ctx, &e) < 0)
        cs_rpc_reply(ctx, rpc_error(e.code ? e.code : -EIO, e.msg));
}

static void on_detached(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    cs_rpc_reply(arg, status < 0 ? rpc_error(status, e && e->msg[0] ? e->msg : "detach failed")
                                 : json_pack("{s:i}", "status", 0));
}

static void handle_detach(dispatcher *d, json_t *req, cs_rpc_ctx *ctx)
{
    berr e = {0};
    if (attachment_release(d->cs, cs_rpc_peer_node(ctx), json_str(req, "container"), json_str(req, "network"),
                           on_detached, ctx, &e) < 0)
        cs_rpc_reply(ctx, rpc_error(e.code ? e.code : -EIO, e.msg));
}

/* ---- joining workers ----------------------------------------------------------------- */

typedef struct join_call {
    dispatcher *d;
    cs_rpc_ctx *ctx;
    char node[26];
} join_call;

static void on_worker_recorded(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    join_call *j = arg;
    dispatcher *d = j->d;
    if (status < 0 || !d->cs) {
        cs_rpc_reply(j->ctx, rpc_error(-EAGAIN, e && e->msg[0] ? e->msg : "could not record the node"));
    } else {
        json_t *resp = ok_reply(d);
        json_object_set_new(resp, "node", json_string(j->node));
        json_object_set_new(resp, "cluster", json_string(cluster_store_cluster_id(d->cs)));
        cs_rpc_reply(j->ctx, resp);
        log_info("swarm: worker %s joined", j->node);
    }
    free(j);
}

/* The certificate was issued for the worker token: the node it names is
 * recorded (once: a node ID is never given twice). */
static void handle_worker_join(dispatcher *d, json_t *req, cs_rpc_ctx *ctx)
{
    if (cs_rpc_peer_role(ctx) != CS_PEER_WORKER) {
        cs_rpc_reply(ctx, rpc_error(-EPERM, "node RPC: a worker join needs the joining node's worker certificate"));
        return;
    }
    json_t *desc = json_object_get(req, "description");
    const char *addr = json_str(req, "addr");
    if (!json_is_object(desc) || !*addr || strlen(addr) > 64) {
        cs_rpc_reply(ctx, rpc_error(-EINVAL, "node RPC: a worker join needs a description and an address"));
        return;
    }
    join_call *j = xcalloc(1, sizeof *j);
    j->d = d;
    j->ctx = ctx;
    snprintf(j->node, sizeof j->node, "%s", cs_rpc_peer_node(ctx));
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    json_t *doc = json_pack("{s:s, s:{s:i}, s:s, s:s, s:{s:{}, s:s, s:s}, s:O, s:{s:s, s:s}}", "ID", j->node,
                            "Version", "Index", 0, "CreatedAt", now, "UpdatedAt", now, "Spec", "Labels", "Role",
                            "worker", "Availability", "active", "Description", desc, "Status", "State", "ready",
                            "Addr", addr);
    cs_op op = {.type = CS_PUT, .kind = CS_NODE, .doc = doc, .if_version = 0};
    snprintf(op.id, sizeof op.id, "%s", j->node);
    berr e = {0};
    if (cluster_store_propose(d->cs, &op, 1, on_worker_recorded, j, &e) < 0) {
        cs_rpc_reply(ctx, rpc_error(-EAGAIN, e.msg));
        free(j);
    }
    json_decref(doc);
}

/* ---- liveness ---------------------------------------------------------------------------- */

/* Every manager keeps what the others heard (only the leader judges):
 * whoever leads next has the workers' recent heartbeats already, even
 * when a follower's idea of who leads was behind. */
static void handle_alive(dispatcher *d, json_t *req, cs_rpc_ctx *ctx)
{
    uint64_t now = uv_now(d->loop);
    const char *node;
    json_t *age;
    json_object_foreach(json_object_get(req, "nodes"), node, age) {
        json_int_t ms = json_integer_value(age);
        if (ms >= 0 && (uint64_t)ms <= now)
            health_seen(d->health, node, now - (uint64_t)ms);
    }
    cs_rpc_reply(ctx, json_pack("{s:i}", "status", 0));
}

static void on_pushed(void *arg, int status, json_t *resp, const berr *e)
{
    (void)status;
    (void)resp;
    (void)e;
    dispatcher *d = arg;
    d->pushing--;
}

/* A follower tells the other managers, the leader first among them, when
 * it last heard each of its workers (as ages: the clocks need not agree). */
static void push_alive(dispatcher *d, uint64_t now, unsigned grace)
{
    if (d->pushing || now - d->last_push < ALIVE_PUSH_MS)
        return;
    json_t *nodes = json_object();
    for (session *x = d->sessions; x; x = x->next)
        if (now - x->seen <= grace)
            json_object_set_new(nodes, x->node, json_integer((json_int_t)(now - x->seen)));
    if (!json_object_size(nodes)) {
        json_decref(nodes);
        return;
    }
    json_t *req = json_pack("{s:s, s:o}", "op", "alive", "nodes", nodes);
    json_t *peers = cluster_store_peers(d->cs);
    char self[24];
    snprintf(self, sizeof self, "%llu", (unsigned long long)cluster_store_raft_id(d->cs));
    const char *id;
    json_t *addr;
    json_object_foreach(peers, id, addr) {
        berr e = {0};
        if (strcmp(id, self) && json_is_string(addr) &&
            cs_rpc_call_owned(d->loop, d, json_string_value(addr), req, RPC_TIMEOUT_MS, on_pushed, d, &e) == 0)
            d->pushing++;
    }
    json_decref(peers);
    json_decref(req);
    d->last_push = now;
}

static void on_judged(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    dispatcher *d = arg;
    if (status < 0 && e)
        log_debug("dispatcher: node states: %s", e->msg);
    d->proposing = false;
}

/* The leader: every worker's Status.State follows its heartbeats. */
static void judge(dispatcher *d, uint64_t now, unsigned grace)
{
    for (session *x = d->sessions; x; x = x->next)
        health_seen(d->health, x->node, x->seen);
    if (d->proposing)
        return;
    if (!d->workers) {
        /* The worker nodes' states, kept up to date from the changes
         * (note_change): four judgements a second read no documents. */
        d->workers = json_object();
        json_t *all = cs_list(d->cs, CS_NODE), *n;
        size_t i;
        json_array_foreach(all, i, n) if (!json_is_object(json_object_get(n, "ManagerStatus")))
            json_object_set_new(d->workers, json_str(n, "ID"), json_string(json_str(json_object_get(n, "Status"), "State")));
        json_decref(all);
    }
    json_t *docs = json_array();
    size_t k = 0;
    cs_op *ops = xcalloc(json_object_size(d->workers) + 1, sizeof *ops);
    char ts[TIME_RFC3339_BUF];
    time_now_rfc3339(ts);
    const char *id;
    json_t *state;
    json_object_foreach(d->workers, id, state) {
        /* managers follow raft's view (swarm_members.c): not in d->workers */
        health_verdict v = health_judge_state(d->health, id, json_string_value(state), now, grace);
        json_t *n = NULL;
        if (v == HEALTH_KEEP || cs_get(d->cs, CS_NODE, id, &n, NULL) < 0)
            continue;
        json_t *doc = json_deep_copy(n);
        json_t *st = json_object_get(doc, "Status");
        if (!json_is_object(st))
            json_object_set_new(doc, "Status", st = json_object());
        json_object_set_new(st, "State", json_string(v == HEALTH_MARK_DOWN ? "down" : "ready"));
        if (v == HEALTH_MARK_DOWN)
            json_object_set_new(st, "Message", json_string("heartbeat failure"));
        else
            json_object_del(st, "Message");
        json_object_set_new(doc, "UpdatedAt", json_string(ts));
        json_array_append_new(docs, doc);
        ops[k] = (cs_op){.type = CS_PUT, .kind = CS_NODE, .doc = doc, .if_version = version_of(n)};
        snprintf(ops[k].id, sizeof ops[k].id, "%s", json_str(n, "ID"));
        log_info("dispatcher: node %s is %s", ops[k].id, v == HEALTH_MARK_DOWN ? "down (heartbeat failure)" : "ready");
        k++;
        json_decref(n);
    }
    berr e = {0};
    if (k && cluster_store_propose(d->cs, ops, k, on_judged, d, &e) == 0)
        d->proposing = true;
    free(ops);
    json_decref(docs);
}

static void on_tick(uv_timer_t *t)
{
    dispatcher *d = t->data;
    if (!d->cs)
        return;
    uint64_t now = uv_now(d->loop);
    unsigned period = dispatcher_heartbeat_ms(d->cs), grace = HEALTH_GRACE_MULTIPLIER * period;
    for (session **pp = &d->sessions; *pp;) {
        session *x = *pp;
        if (x->parked && now - x->parked_at >= period)
            session_answer(d, x, true);
        if (!x->parked && now - x->seen > (uint64_t)SESSION_FORGET_PERIODS * period) {
            *pp = x->next;
            session_free(d, x);
            continue;
        }
        pp = &x->next;
    }
    bool leading = is_leader(d->cs);
    if (leading && !d->leading)
        health_lead_start(d->health, now);
    d->leading = leading;
    if (leading)
        judge(d, now, grace);
    else
        push_alive(d, now, grace);
    if (idle(d))
        uv_timer_stop(&d->tick);
}

/* Nothing for the tick to do until something changes: no session to
 * answer or forget, no worker node to judge, no other manager to tell.
 * The one-member store of a daemon outside swarm mode is always so, and
 * would otherwise wake four times a second.  A session or a store change
 * starts the tick again (tick_again). */
static bool idle(dispatcher *d)
{
    if (d->sessions || !d->leading || !d->workers || json_object_size(d->workers))
        return false;
    json_t *peers = cluster_store_peers(d->cs);
    bool lone = json_object_size(peers) <= 1;
    json_decref(peers);
    return lone;
}

static void tick_again(dispatcher *d)
{
    if (d->cs && !uv_is_active((uv_handle_t *)&d->tick))
        uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
}

static void on_kick(uv_timer_t *t)
{
    dispatcher *d = t->data;
    for (session *x = d->sessions; x; x = x->next)
        session_answer(d, x, false);
}

static void on_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    dispatcher *d = arg;
    if (d->freeing)
        return;
    note_change(d, ops, n);
    tick_again(d);
    if (d->cs && d->sessions)
        uv_timer_start(&d->kick, on_kick, 0, 0);
}

/* ---- the method table ---------------------------------------------------------------------- */

typedef struct method {
    const char *op;
    disp_role role;
    void (*fn)(dispatcher *d, json_t *req, cs_rpc_ctx *ctx);
} method;

static const method methods[] = {
    {"worker_join", DISP_WORKER, handle_worker_join},
    {"session", DISP_WORKER, handle_session},
    {"report", DISP_WORKER, handle_report},
    {"attach", DISP_WORKER, handle_attach},
    {"detach", DISP_WORKER, handle_detach},
    {"alive", DISP_MANAGER, handle_alive},
};

static const method *find_method(const char *op)
{
    for (size_t i = 0; op && i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(methods[i].op, op))
            return &methods[i];
    return NULL;
}

int dispatcher_method_role(const char *op)
{
    const method *m = find_method(op);
    return m ? (int)m->role : -1;
}

bool dispatcher_rpc(dispatcher *d, const char *op, json_t *req, cs_rpc_ctx *ctx)
{
    const method *m = find_method(op);
    if (!m)
        return false;
    cs_peer_role peer = cs_rpc_peer_role(ctx);
    if (peer == CS_PEER_NONE || (m->role == DISP_MANAGER && peer != CS_PEER_MANAGER)) {
        cs_rpc_reply(ctx, rpc_error(-EPERM, m->role == DISP_MANAGER ? "node RPC: this request needs a manager's "
                                                                      "certificate"
                                                                    : "node RPC: this request needs a certificate "
                                                                      "from the swarm's CA"));
        return true;
    }
    if (!d->cs) {
        cs_rpc_reply(ctx, rpc_error(-EAGAIN, "This node is not a swarm manager. Manager is being prepared or has "
                                             "trouble connecting to the cluster."));
        return true;
    }
    m->fn(d, req, ctx);
    return true;
}

/* ---- life ------------------------------------------------------------------------------------ */

static void on_swarm(void *arg, swarm_event ev)
{
    dispatcher *d = arg;
    if (ev == SWARM_EV_ACTIVE)
        dispatcher_attach(d, swarm_store(d->s));
    else if (ev == SWARM_EV_CLOSING)
        dispatcher_attach(d, NULL);
}

dispatcher *dispatcher_new(swarm *s, uv_loop_t *loop)
{
    dispatcher *d = xcalloc(1, sizeof *d);
    d->s = s;
    d->loop = loop;
    d->health = health_new();
    d->dirty = json_object();
    d->index = json_object();
    d->mesh = json_object();
    uv_timer_init(loop, &d->tick);
    uv_timer_init(loop, &d->kick);
    d->tick.data = d->kick.data = d;
    d->handles_open = 2;
    /* The tick runs while there is a store (dispatcher_attach): outside
     * swarm mode it would wake an idle daemon four times a second for
     * nothing. */
    swarm_subscribe(s, on_swarm, d);
    return d;
}

static void drop_sessions(dispatcher *d)
{
    while (d->sessions) {
        session *x = d->sessions;
        d->sessions = x->next;
        if (x->parked)
            cs_rpc_reply(x->parked, rpc_error(-EAGAIN, "the manager is going"));
        session_free(d, x);
    }
}

void dispatcher_attach(dispatcher *d, cluster_store *cs)
{
    if (d->cs == cs)
        return;
    drop_sessions(d);
    d->cs = cs;
    d->leading = false;
    d->proposing = false;
    d->gen++;   /* another store: nothing computed holds */
    json_decref(d->reply), d->reply = NULL;
    json_decref(d->workers), d->workers = NULL;
    if (cs) {
        cluster_store_watch(cs, on_change, d);
        uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
    } else {
        uv_timer_stop(&d->tick);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    dispatcher *d = h->data;
    if (--d->handles_open == 0) {
        health_free(d->health);
        json_decref(d->dirty);
        json_decref(d->index);
        json_decref(d->mesh);
        json_decref(d->reply);
        json_decref(d->workers);
        free(d);
    }
}

void dispatcher_free(dispatcher *d)
{
    if (!d)
        return;
    d->freeing = true;
    cs_rpc_cancel(d);
    drop_sessions(d);
    d->cs = NULL;
    uv_close((uv_handle_t *)&d->tick, on_handle_closed);
    uv_close((uv_handle_t *)&d->kick, on_handle_closed);
}
