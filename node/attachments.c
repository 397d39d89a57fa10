/* This node's network attachments (see attachments.h). */
#include "node/attachments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "netoverlay/ipam/ipam.h"
#include "node/attachment_tasks.h"
#include "node/daemon.h"
#include "node/overlay_sync.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "runtime/container/network.h"

/* How long a start waits for the leader's allocation to come back. */
#define WAIT_MS 20000
/* Besides the store's changes, the waits look again this often (a
 * worker's mirror is replaced whole, its watchers hear a resync). */
#define RECHECK_MS 100

typedef struct wait_item {
    char *key;                   /* the endpoint's key in the container's networks; NULL for a connect */
    char *ref;                   /* what the request names */
    json_t *aliases;
    char task_id[26];            /* the answer's task */
    char net_id[65];
} wait_item;

typedef struct attach_wait {
    attachments *a;
    char cid[65];
    wait_item *items;
    size_t n;
    int refs;                    /* the wait itself, and each request in flight */
    bool over;
    uv_timer_t timer;
    uint64_t started;
    attachments_done done;       /* prepare */
    attachments_net_done net_done;   /* prepare_one */
    void *arg;
    struct attach_wait *next;
} attach_wait;

static cluster_store *agent_store(attachments *a)
{
    return a->d && a->d->swarm ? swarm_agent_store(a->d->swarm) : NULL;
}

static const char *me(attachments *a) { return swarm_node_id(a->d->swarm); }

/* The address of an attachment task ("" when it has none yet). */
static void task_address(const json_t *task, char out[IPAM_ADDR_BUF])
{
    out[0] = 0;
    json_t *x = json_array_get(json_object_get(task, "NetworksAttachments"), 0);
    uint32_t ip;
    int len;
    if (ipam_parse_cidr(json_string_value(json_array_get(json_object_get(x, "Addresses"), 0)), &ip, &len) == 0)
        ipam_format_addr(ip, out);
}

/* ---- the runtime's question --------------------------------------------------- */

/* This node's attachment task of container_id on net_id (any network when
 * net_id is NULL or ""), a new reference, or NULL. */
static json_t *find_attachment(attachments *a, const char *container_id, const char *net_id)
{
    cluster_store *cs = agent_store(a);
    if (!cs)
        return NULL;
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.NodeID", me(a)), *found = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) if (!found && !strcmp(attachment_task_container(t), container_id) &&
                                        (!net_id || !*net_id || !strcmp(attachment_task_network(t), net_id)))
        found = json_incref(t);
    json_decref(tasks);
    return found;
}

static bool address_of(void *ctx, const char *container_id, const char *net_id, char out[16])
{
    json_t *t = find_attachment(ctx, container_id, net_id);
    char addr[IPAM_ADDR_BUF] = "";
    if (t && ovl_task_holds_addresses(t))
        task_address(t, addr);
    json_decref(t);
    if (!*addr || strlen(addr) >= 16)
        return false;
    snprintf(out, 16, "%s", addr);
    return true;
}

static bool on_worker(void *ctx)
{
    attachments *a = ctx;
    return agent_store(a) && swarm_is_worker(a->d->swarm);
}

rt_attachments attachments_hooks(attachments *a)
{
    return (rt_attachments){.ctx = a, .address = address_of, .on_worker = on_worker};
}

/* ---- waits --------------------------------------------------------------------- */

static void wait_unref(attach_wait *w)
{
    if (--w->refs > 0)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].key);
        free(w->items[i].ref);
        json_decref(w->items[i].aliases);
    }
    free(w->items);
    free(w);
}

static void timer_closed(uv_handle_t *h) { wait_unref(h->data); }

/* Endpoints kept under the name or prefix the user gave take their
 * network's name and ID, as a network known at create would have. */
static void rename_endpoints(attach_wait *w, rt_container *c)
{
    net_manager *nm = &w->a->d->networks;
    bool changed = false;
    for (size_t i = 0; i < w->n; i++) {
        wait_item *it = &w->items[i];
        net_network *n;
        json_t *settings = it->key ? json_object_get(c->networks, it->key) : NULL;
        if (!settings || net_network_find(nm, it->net_id, &n, NULL) < 0)
            continue;
        json_object_set_new(settings, "NetworkID", json_string(n->id));
        if (strcmp(it->key, n->name)) {
            json_incref(settings);
            json_object_del(c->networks, it->key);
            json_object_set_new(c->networks, n->name, settings);
            if (!strcmp(json_str(c->host_config, "NetworkMode"), it->key))
                json_object_set_new(c->host_config, "NetworkMode", json_string(n->name));
        }
        changed = true;
    }
    if (changed)
        rt_container_save(&w->a->d->containers, c, NULL);
}

static void finish(attach_wait *w, int status, const berr *e)
{
    if (w->over)
        return;
    w->over = true;
    attachments *a = w->a;
    for (attach_wait **p = &a->waits; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    uv_timer_stop(&w->timer);
    rt_container *c = NULL;
    berr err = {0};
    if (status == 0) {
        /* The networks, on a worker just arrived with the assignments,
         * are mirrored here before the container needs them. */
        overlay_sync_now(a->d);
        if (rt_container_find(&a->d->containers, w->cid, &c, NULL) < 0 || strcmp(c->id, w->cid)) {
            status = berr_set(&err, -ENOENT, "No such container: %s", w->cid);
            e = &err;
        } else {
            rename_endpoints(w, c);
        }
    }
    if (w->done)
        w->done(w->arg, status, e);
    else
        w->net_done(w->arg, status, e, status == 0 && w->n ? w->items[0].net_id : "");
    uv_close((uv_handle_t *)&w->timer, timer_closed);
}

/* Whether every asked attachment is in the store with its address. */
static void check(attach_wait *w)
{
    cluster_store *cs = agent_store(w->a);
    size_t ready = 0;
    for (size_t i = 0; i < w->n && cs; i++) {
        json_t *t = NULL;
        if (!w->items[i].task_id[0] || cs_get(cs, CS_TASK, w->items[i].task_id, &t, NULL) < 0)
            continue;
        const json_t *st = json_object_get(t, "Status");
        if (!strcmp(json_str(st, "State"), "rejected")) {
            berr e = {0};
            berr_set(&e, -EINVAL, "Could not attach to network %s: %s", w->items[i].ref, json_str(st, "Err"));
            json_decref(t);
            finish(w, e.code, &e);
            return;
        }
        char addr[IPAM_ADDR_BUF];
        task_address(t, addr);
        ready += *addr != 0;
        json_decref(t);
    }
    if (ready == w->n) {
        finish(w, 0, NULL);
    } else if (uv_now(w->a->d->loop) - w->started > WAIT_MS) {
        berr e = {0};
        berr_set(&e, -ETIMEDOUT, "timed out waiting for the swarm to attach container %.12s to its networks", w->cid);
        finish(w, e.code, &e);
    }
}

static void on_timer(uv_timer_t *t) { check(t->data); }

typedef struct item_call {
    attach_wait *w;
    size_t i;
} item_call;

static void answered(item_call *ic, int status, const berr *e, const json_t *task)
{
    attach_wait *w = ic->w;
    if (!w->over) {
        if (status < 0) {
            finish(w, status, e);
        } else {
            snprintf(w->items[ic->i].task_id, sizeof w->items[ic->i].task_id, "%s", json_str(task, "ID"));
            snprintf(w->items[ic->i].net_id, sizeof w->items[ic->i].net_id, "%s", attachment_task_network(task));
            check(w);
        }
    }
    wait_unref(w);
    free(ic);
}

static void on_local_answer(void *arg, int status, const berr *e, const json_t *task) { answered(arg, status, e, task); }

static void on_rpc_answer(void *arg, int status, json_t *resp, const berr *e)
{
    berr err = {0};
    int st = status < 0 ? -ENOTCONN : (int)json_integer_value(json_object_get(resp, "status"));
    if (status < 0)
        berr_set(&err, -ENOTCONN, "Could not attach to network: the swarm's manager did not answer: %s",
                 e && e->msg[0] ? e->msg : "no answer");
    else if (st)
        berr_set(&err, st, "%s", json_str(resp, "error"));
    answered(arg, st, &err, st ? NULL : json_object_get(resp, "task"));
}

/* Asks for item i: to the store on a manager, to its manager on a worker. */
static void request(attach_wait *w, size_t i, const char *name)
{
    attachments *a = w->a;
    wait_item *it = &w->items[i];
    json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "op", "attach", "container", w->cid, "name", name, "network",
                            it->ref);
    if (json_array_size(it->aliases))
        json_object_set(req, "aliases", it->aliases);
    item_call *ic = xcalloc(1, sizeof *ic);
    *ic = (item_call){w, i};
    w->refs++;
    berr e = {0};
    cluster_store *cs = swarm_store(a->d->swarm);
    int r = cs ? attachment_request(cs, me(a), req, on_local_answer, ic, &e)
               : swarm_worker_call(a->d->swarm, req, on_rpc_answer, ic, &e);
    json_decref(req);
    if (r < 0) {
        w->refs--;
        free(ic);
        finish(w, r, &e);
    }
}

static attach_wait *wait_new(attachments *a, rt_container *c, void *arg)
{
    attach_wait *w = xcalloc(1, sizeof *w);
    w->a = a;
    snprintf(w->cid, sizeof w->cid, "%s", c->id);
    w->refs = 1;
    w->arg = arg;
    w->items = xcalloc(json_object_size(c->networks) + 1, sizeof *w->items);
    uv_timer_init(a->d->loop, &w->timer);
    w->timer.data = w;
    w->started = uv_now(a->d->loop);
    return w;
}

static void run(attach_wait *w, const char *name)
{
    attachments *a = w->a;
    w->next = a->waits;
    a->waits = w;
    /* Nothing to ask for: done on the next turn, as the callers expect. */
    uv_timer_start(&w->timer, on_timer, w->n ? RECHECK_MS : 0, RECHECK_MS);
    for (size_t i = 0; i < w->n && !w->over; i++)
        request(w, i, name);
}

/* Whether the endpoint under key is on a swarm overlay, or on a network
 * this node does not know (then *n is NULL). */
static bool endpoint_needs(net_manager *nm, const char *key, json_t *settings, net_network **n)
{
    const char *nid = json_str(settings, "NetworkID");
    if ((*nid && net_network_find(nm, nid, n, NULL) == 0) || net_network_find(nm, key, n, NULL) == 0)
        return (*n)->ov != NULL;
    *n = NULL;
    return true;
}

bool attachments_needed(attachments *a, rt_container *c)
{
    if (!agent_store(a) || rt_container_is_task(c) || !rt_network_mode_sandboxed(json_str(c->host_config, "NetworkMode")))
        return false;
    const char *key;
    json_t *settings;
    net_network *n;
    json_object_foreach(c->networks, key, settings) if (endpoint_needs(&a->d->networks, key, settings, &n)) return true;
    return false;
}

void attachments_prepare(attachments *a, rt_container *c, attachments_done done, void *arg)
{
    attach_wait *w = wait_new(a, c, arg);
    w->done = done;
    const char *key;
    json_t *settings;
    net_network *n;
    if (attachments_needed(a, c))
        json_object_foreach(c->networks, key, settings) {
            if (!endpoint_needs(&a->d->networks, key, settings, &n))
                continue;
            wait_item *it = &w->items[w->n++];
            it->key = xstrdup(key);
            it->ref = xstrdup(n ? n->id : key);
            it->aliases = json_incref(json_object_get(settings, "Aliases"));
        }
    run(w, c->name);
}

void attachments_prepare_one(attachments *a, rt_container *c, const char *ref, json_t *aliases,
                             attachments_net_done done, void *arg)
{
    attach_wait *w = wait_new(a, c, arg);
    w->net_done = done;
    wait_item *it = &w->items[w->n++];
    it->ref = xstrdup(ref);
    it->aliases = json_incref(aliases);
    run(w, c->name);
}

/* ---- releases ------------------------------------------------------------------ */

static void on_released_local(void *arg, int status, uint64_t index, const berr *e)
{
    (void)arg;
    (void)index;
    if (status < 0 && status != -ENOENT)
        log_warn("attachments: release: %s", e && e->msg[0] ? e->msg : "failed");
}

static void on_released_rpc(void *arg, int status, json_t *resp, const berr *e)
{
    (void)arg;
    /* The next scan tries again while the task is still there. */
    if (status < 0 || json_integer_value(json_object_get(resp, "status")))
        log_warn("attachments: release: %s", status < 0 ? (e && e->msg[0] ? e->msg : "no answer") : json_str(resp, "error"));
}

void attachments_release(attachments *a, const char *container_id, const char *net_id)
{
    json_t *held = a->on ? find_attachment(a, container_id, net_id) : NULL;
    if (!held)
        return;
    json_decref(held);
    berr e = {0};
    cluster_store *cs = swarm_store(a->d->swarm);
    int r;
    if (cs) {
        r = attachment_release(cs, me(a), container_id, net_id, on_released_local, a, &e);
    } else {
        json_t *req = json_pack("{s:s, s:s, s:s}", "op", "detach", "container", container_id, "network",
                                net_id ? net_id : "");
        r = swarm_worker_call(a->d->swarm, req, on_released_rpc, a, &e);
        json_decref(req);
    }
    if (r < 0)
        log_warn("attachments: release of %.12s: %s", container_id, e.msg);
}

/* ---- the agent's scan ---------------------------------------------------------- */

static bool waiting(attachments *a, const char *cid)
{
    for (attach_wait *w = a->waits; w; w = w->next)
        if (!strcmp(w->cid, cid))
            return true;
    return false;
}

static bool on_network(const rt_container *c, const char *net_id)
{
    const char *key;
    json_t *s;
    json_object_foreach(c->networks, key, s) if (!strcmp(json_str(s, "NetworkID"), net_id)) return true;
    return false;
}

static void on_reported(void *arg, int status, uint64_t index, const berr *e)
{
    (void)arg;
    (void)index;
    if (status < 0 && status != -EAGAIN && status != -ESTALE)
        log_warn("attachments: state report: %s", e && e->msg[0] ? e->msg : "failed");
}

/* The task's state follows its container: running, or complete when it
 * stopped (the address stays; DNS names only running ones). */
static void report(attachments *a, json_t *task, bool running)
{
    const char *want = running ? "running" : "complete";
    const char *st = json_str(json_object_get(task, "Status"), "State");
    if (!strcmp(st, want) || !strcmp(st, "rejected") || !strcmp(st, "new"))
        return;
    json_t *doc = json_deep_copy(task);
    char ts[TIME_RFC3339_BUF];
    time_now_rfc3339(ts);
    json_object_set_new(doc, "Status", json_pack("{s:s, s:s, s:s}", "Timestamp", ts, "State", want, "Message",
                                                 running ? "started" : "finished"));
    json_object_set_new(doc, "UpdatedAt", json_string(ts));
    cs_op op = {.type = CS_PUT, .kind = CS_TASK, .doc = doc,
                .if_version = json_integer_value(json_object_get(json_object_get(task, "Version"), "Index"))};
    snprintf(op.id, sizeof op.id, "%s", json_str(task, "ID"));
    berr e = {0};
    if (swarm_agent_report(a->d->swarm, &op, 1, on_reported, a, &e) < 0)
        log_warn("attachments: state report: %s", e.msg);
    json_decref(doc);
}

void attachments_scan(attachments *a, json_t *tasks)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        const char *cid = attachment_task_container(t);
        if (!*cid || waiting(a, cid))
            continue;
        rt_container *c = NULL;
        if (rt_container_find(&a->d->containers, cid, &c, NULL) < 0 || strcmp(c->id, cid)) {
            attachments_release(a, cid, NULL);
        } else if (!on_network(c, attachment_task_network(t))) {
            attachments_release(a, cid, attachment_task_network(t));
        } else {
            report(a, t, rt_container_running(c));
        }
    }
}

/* ---- life ---------------------------------------------------------------------- */

static void on_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    (void)ops;
    (void)n;
    attachments *a = arg;
    attach_wait *next;
    for (attach_wait *w = a->waits; w; w = next) {
        next = w->next;   /* check may finish w */
        check(w);
    }
}

static void on_swarm(void *arg, swarm_event ev)
{
    attachments *a = arg;
    if ((ev == SWARM_EV_ACTIVE || ev == SWARM_EV_ASSIGNED) && agent_store(a))
        cluster_store_watch(agent_store(a), on_change, a);
}

/* A removed container's attachments go with it; a start or an exit
 * changes their state (the agent's next scan reports it). */
static bool on_event(void *ctx, json_t *ev)
{
    attachments *a = ctx;
    if (strcmp(json_str(ev, "Type"), "container") || !a->d->swarm)
        return true;
    const char *action = json_str(ev, "Action");
    if (!strcmp(action, "destroy"))
        attachments_release(a, json_str(json_object_get(ev, "Actor"), "ID"), NULL);
    else if (!strcmp(action, "start") || !strcmp(action, "die"))
        agent_rescan(&a->d->agent);
    return true;
}

void attachments_start(attachments *a, struct berth_daemon *d)
{
    memset(a, 0, sizeof *a);
    a->d = d;
    a->on = true;
    a->listener = (events_listener){.deliver = on_event, .ctx = a};
    events_listen(&d->events, &a->listener);
    if (d->swarm) {
        swarm_subscribe(d->swarm, on_swarm, a);
        if (agent_store(a))
            on_swarm(a, SWARM_EV_ACTIVE);
    }
}

void attachments_stop(attachments *a)
{
    if (!a->on)
        return;
    a->on = false;
    events_unlisten(&a->d->events, &a->listener);
    while (a->waits) {
        berr e = {0};
        berr_set(&e, -ECANCELED, "the daemon is stopping");
        finish(a->waits, e.code, &e);
    }
}
