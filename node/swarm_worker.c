/* This node as a worker: the join with a worker token, and its one
 * session with a manager (node/dispatcher.h says what travels on it).
 *
 * A worker holds no raft state: <data-root>/swarm/worker.json keeps its
 * node ID, its cluster, its address, the managers it knows, the cluster's
 * CA and its worker certificate and key, so a restarted worker opens its
 * session again without a token.  It listens on no port: every call is
 * its own, over TLS with that certificate.  What its
 * tasks need lives in memory, in a mirror of the store's read interface
 * (raft/cluster_store.h) that each session answer with new assignments
 * replaces; the agent reads it as a manager's agent reads the store, and
 * its reports go to the manager as one RPC per batch.
 *
 * The session moves to the next manager it knows when its manager does
 * not answer (a dead manager, a cut link): after a heartbeat period and a
 * margin at most, at once when the connection is refused.  Moving costs
 * nothing of what runs: the new manager sends the same assignments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/tls_ca.h"
#include "node/assignments.h"
#include "node/dispatcher.h"
#include "node/swarm_int.h"

#define WORKER_FILE "worker.json"
#define RPC_TIMEOUT_MS 5000
/* What a session call may wait beyond the period the manager parks it. */
#define SESSION_MARGIN_MS 2000
#define RETRY_MS 250
#define RETRY_ROUND_MS 1000
#define DEFAULT_PERIOD_MS 5000

struct worker {
    swarm *s;
    char *path;
    char *addr;                 /* this node's address, as the managers record it */
    json_t *managers;           /* ["ip:port", ...] */
    json_t *manager_ids;        /* {"ip:port": node ID} as the last answer said */
    size_t cur;                 /* the one the session is with */
    unsigned failed;            /* managers tried in a row without an answer */
    char version[ASSIGNMENTS_VERSION_LEN + 1];
    unsigned period_ms;
    char *ca, *cert, *key;      /* PEM: the cluster's CA, this node's certificate and key */
    tls_creds *creds;
    cluster_store *mirror;
    bool loaded;                /* the mirror has had its first assignments */
    bool polling;
    bool promoting;             /* promoted: asking for the peers before joining raft */
    uv_timer_t retry;
    bool stopping;
};

static const char *current(worker *w)
{
    return json_string_value(json_array_get(w->managers, w->cur)) ?: "";
}

static int save(worker *w, berr *e)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:s}", "node", w->s->node_id, "cluster", w->s->cluster_id,
                          "addr", w->addr, "managers", w->managers, "ca", w->ca, "cert", w->cert, "key", w->key);
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (fs_mkdir_p(w->s->dir, 0700, e) < 0)
        return e->code;
    int r = fs_write_file_atomic(w->path, text, strlen(text), 0600, e);
    tls_free_secret(text);   /* it holds the key */
    return r;
}

static void session_call(worker *w);
static void check_role(worker *w);

static void on_retry(uv_timer_t *t) { session_call(t->data); }

static void retry(worker *w, unsigned ms)
{
    if (!w->stopping)
        uv_timer_start(&w->retry, on_retry, ms, 0);
}

/* The managers the last answer listed (the one that answered first, so a
 * session stays where it is). */
static void learn_managers(worker *w, json_t *list)
{
    if (!json_is_array(list) || !json_array_size(list))
        return;
    json_t *next = json_array();
    json_array_append_new(next, json_string(current(w)));
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) {
        bool dup = false;
        size_t k;
        json_t *x;
        json_array_foreach(next, k, x) dup |= json_equal(x, m);
        if (!dup && json_is_string(m))
            json_array_append(next, m);
    }
    if (json_equal(next, w->managers)) {
        json_decref(next);
        return;
    }
    json_decref(w->managers);
    w->managers = next;
    w->cur = 0;
    berr e = {0};
    if (save(w, &e) < 0)
        log_warn("swarm: %s", e.msg);
}

static void move_on(worker *w, const char *why)
{
    size_t n = json_array_size(w->managers);
    log_info("swarm: session with manager %s: %s%s", current(w), why, n > 1 ? "; trying the next manager" : "");
    w->cur = n ? (w->cur + 1) % n : 0;
    /* The next manager resends everything: whatever a lost report left
     * unsaid, the agent's rescan of the fresh copy says again. */
    w->version[0] = 0;
    w->failed++;
    retry(w, w->failed >= n ? RETRY_ROUND_MS : RETRY_MS);
    if (w->failed >= n)
        w->failed = 0;
}

static void on_session(void *arg, int status, json_t *resp, const berr *e)
{
    worker *w = arg;
    w->polling = false;
    if (w->stopping)
        return;
    if (status < 0) {
        move_on(w, e && e->msg[0] ? e->msg : "no answer");
        return;
    }
    int st = (int)json_integer_value(json_object_get(resp, "status"));
    if (st == -ECANCELED) {   /* this session's newer poll took over */
        return;
    }
    if (st != 0) {
        const char *msg = json_str(resp, "error");
        if (st == -ENOENT) {
            log_warn("swarm: manager %s: %s", current(w), msg);
            retry(w, w->period_ms);
            return;
        }
        move_on(w, *msg ? msg : "refused");
        return;
    }
    w->failed = 0;
    check_role(w);
    if (w->promoting)
        return;
    json_int_t hb = json_integer_value(json_object_get(resp, "heartbeat_ms"));
    if (hb > 0)
        w->period_ms = (unsigned)hb;
    learn_managers(w, json_object_get(resp, "managers"));
    json_t *ids = json_object_get(resp, "manager_ids");
    if (json_is_object(ids)) {
        json_decref(w->manager_ids);
        w->manager_ids = json_incref(ids);
    }
    json_t *a = json_object_get(resp, "assignments");
    if (json_is_object(a)) {
        berr le = {0};
        if (cluster_mirror_load(w->mirror, a, &le) < 0) {
            log_warn("swarm: assignments: %s", le.msg);
        } else {
            snprintf(w->version, sizeof w->version, "%s", json_str(resp, "version"));
            if (!w->loaded) {
                w->loaded = true;
                swarm_notify(w->s, SWARM_EV_ASSIGNED);
            }
        }
    }
    session_call(w);
}

/* The long poll that is also the heartbeat. */
static void session_call(worker *w)
{
    if (w->stopping || w->polling || !json_array_size(w->managers))
        return;
    /* Who asks is the certificate's node: no node ID in the request. */
    json_t *req = json_pack("{s:s, s:s}", "op", "session", "version", w->version);
    berr e = {0};
    int rc = cs_rpc_call_owned(w->s->loop, w, current(w), req, w->period_ms + SESSION_MARGIN_MS, on_session, w, &e);
    json_decref(req);
    if (rc < 0)
        move_on(w, e.msg);
    else
        w->polling = true;
}

/* The worker's state in memory; its certificate becomes what this
 * process calls its managers with. */
static worker *worker_new(swarm *s, const char *addr, json_t *managers, unsigned period_ms, const char *ca,
                          const char *cert, const char *key, berr *e)
{
    tls_creds *creds = tls_creds_new(ca, cert, key, e);
    if (!creds)
        return NULL;
    worker *w = xcalloc(1, sizeof *w);
    if (cluster_mirror_new(s->node_id, s->cluster_id, &w->mirror, e) < 0) {
        tls_creds_unref(creds);
        free(w);
        return NULL;
    }
    w->creds = creds;
    cs_rpc_set_creds(creds);
    w->ca = xstrdup(ca);
    w->cert = xstrdup(cert);
    w->key = xstrdup(key);
    w->s = s;
    w->path = xasprintf("%s/%s", s->dir, WORKER_FILE);
    w->addr = xstrdup(addr ? addr : "");
    w->managers = json_is_array(managers) ? json_deep_copy(managers) : json_array();
    w->period_ms = period_ms ? period_ms : DEFAULT_PERIOD_MS;
    uv_timer_init(s->loop, &w->retry);
    w->retry.data = w;
    return w;
}

static void on_retry_closed(uv_handle_t *h)
{
    worker *w = h->data;
    cluster_mirror_free(w->mirror);
    tls_creds_unref(w->creds);
    free(w->ca);
    free(w->cert);
    tls_free_secret(w->key);
    json_decref(w->managers);
    json_decref(w->manager_ids);
    free(w->addr);
    free(w->path);
    free(w);
}

void swarm_worker_end(swarm *s)
{
    worker *w = s->worker;
    if (!w)
        return;
    s->worker = NULL;
    w->stopping = true;
    cs_rpc_cancel(w);
    uv_close((uv_handle_t *)&w->retry, on_retry_closed);
}

/* Active as a worker: the API answers as a worker does from now on; the
 * agent starts once the first assignments arrive (an empty copy would
 * have it remove the containers of tasks still its own). */
static void start(swarm *s, worker *w)
{
    s->worker = w;
    log_info("swarm: node %s is a worker of cluster %s (manager %s)", s->node_id, s->cluster_id, current(w));
    swarm_become_active(s);
    session_call(w);
}

int swarm_worker_resume(swarm *s, berr *e)
{
    cleanup_free char *path = xasprintf("%s/%s", s->dir, WORKER_FILE);
    cleanup_free char *text = NULL;
    size_t len = 0;
    struct stat sb;
    if (stat(path, &sb) < 0)
        return 0;
    if (fs_read_file(path, &text, &len, e) < 0)
        return e->code;
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    const char *node = json_str(o, "node"), *cluster = json_str(o, "cluster");
    if (strlen(node) != 25 || strlen(cluster) != 25 || !json_array_size(json_object_get(o, "managers"))) {
        json_decref(o);
        return berr_set(e, -EINVAL, "%s: not a worker's state (node, cluster, managers)", path);
    }
    snprintf(s->node_id, sizeof s->node_id, "%s", node);
    snprintf(s->cluster_id, sizeof s->cluster_id, "%s", cluster);
    worker *w = worker_new(s, json_str(o, "addr"), json_object_get(o, "managers"), 0, json_str(o, "ca"),
                           json_str(o, "cert"), json_str(o, "key"), e);
    json_decref(o);
    if (!w)
        return e->code;
    start(s, w);
    return 1;
}

/* ---- joining ------------------------------------------------------------------------ */

static void on_worker_join(void *arg, int status, json_t *resp, const berr *e)
{
    swarm *s = arg;
    if (!swarm_join_answered(s, status, e))
        return;
    berr err = {0};
    int st = (int)json_integer_value(json_object_get(resp, "status"));
    const char *node = json_str(resp, "node"), *cluster = json_str(resp, "cluster");
    if (st != 0 || strcmp(node, s->node_id) != 0 || strcmp(cluster, s->join_cluster) != 0) {
        const char *msg = json_str(resp, "error");
        berr_set(&err, st == -EINVAL ? -EINVAL : -EAGAIN, "%s", *msg ? msg : "the manager refused the join");
        swarm_join_failed(s, err.code, &err);
        return;
    }
    snprintf(s->cluster_id, sizeof s->cluster_id, "%s", cluster);
    /* The manager that answered first, then the others it named. */
    json_t *managers = json_pack("[s]", s->join_remote);
    const char *colon = strrchr(s->join_advertise, ':');
    cleanup_free char *host = xstrndup(s->join_advertise, colon ? (size_t)(colon - s->join_advertise)
                                                                : strlen(s->join_advertise));
    worker *w = worker_new(s, host, managers, (unsigned)json_integer_value(json_object_get(resp, "heartbeat_ms")),
                           s->join_ca, s->join_cert, s->join_key, &err);
    json_decref(managers);
    if (!w) {
        swarm_join_failed(s, -EIO, &err);
        return;
    }
    learn_managers(w, json_object_get(resp, "managers"));
    if (save(w, &err) < 0) {
        s->worker = w;
        swarm_worker_end(s);
        swarm_join_failed(s, err.code, &err);
        return;
    }
    swarm_join_clear(s);
    start(s, w);
}

/* Certified: the node is recorded as a worker by the manager. */
static void on_worker_issued(void *arg, int status, json_t *resp, const berr *e)
{
    swarm *s = arg;
    if (!swarm_join_answered(s, status, e))
        return;
    berr err = {0};
    const char *cert = json_str(resp, "cert");
    tls_ident id;
    if (json_integer_value(json_object_get(resp, "status")) != 0 || !*cert) {
        berr_set(&err, -EINVAL, "%s", *json_str(resp, "error") ? json_str(resp, "error") : "no certificate issued");
        swarm_join_failed(s, err.code, &err);
        return;
    }
    /* What was asked for, from the CA that was pinned. */
    if (tls_cert_verify(s->join_ca, cert, &id, &err) < 0 || strcmp(id.cn, s->node_id) != 0 ||
        strcmp(id.ou, TLS_ROLE_WORKER) != 0 || strcmp(id.o, s->join_cluster) != 0) {
        if (!err.msg[0])
            berr_set(&err, -EPROTO, "the manager issued a certificate for another node or role");
        berr_wrap(&err, "could not join the swarm");
        swarm_join_failed(s, -EAGAIN, &err);
        return;
    }
    tls_creds *creds = tls_creds_new(s->join_ca, cert, s->join_key, &err);
    if (!creds) {
        swarm_join_failed(s, -EIO, &err);
        return;
    }
    cs_rpc_set_creds(creds);
    tls_creds_unref(creds);
    free(s->join_cert);
    s->join_cert = xstrdup(cert);
    const char *colon = strrchr(s->join_advertise, ':');
    cleanup_free char *host = xstrndup(s->join_advertise, colon ? (size_t)(colon - s->join_advertise)
                                                                : strlen(s->join_advertise));
    json_t *req = json_pack("{s:s, s:s, s:o}", "op", "worker_join", "addr", host, "description",
                            swarm_node_description(s));
    int rc = cs_rpc_call_owned(s->loop, s, s->join_remote, req, RPC_TIMEOUT_MS, on_worker_join, s, &err);
    json_decref(req);
    if (rc < 0)
        swarm_join_failed(s, -EAGAIN, &err);
}

void swarm_worker_join(swarm *s)
{
    /* A node ID of its own, named in the certificate it asks for. */
    cs_new_id(s->node_id);
    snprintf(s->cluster_id, sizeof s->cluster_id, "%s", s->join_cluster);
    char *csr = NULL;
    berr e = {0};
    int rc = tls_key_new(&s->join_key, &e);
    if (rc == 0)
        rc = tls_csr_new(s->join_key, &csr, &e);
    if (rc == 0) {
        json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "op", "issue", "token", s->join_token, "csr", csr, "node",
                                s->node_id);
        rc = cs_rpc_call_bootstrap(s->loop, s, s->join_remote, s->join_ca, req, RPC_TIMEOUT_MS, on_worker_issued, s,
                                   &e);
        json_decref(req);
    }
    free(csr);
    if (rc < 0)
        swarm_join_failed(s, -EAGAIN, &e);
}

/* ---- role changes ------------------------------------------------------------------------- */

/* How long a demoted manager keeps its store after it learnt of its
 * demotion: the leader removes it from raft once it saw it has the entry
 * (two of its 200 ms upkeep ticks). */
#define DEMOTE_SETTLE_MS 1000

static void on_promote_hello(void *arg, int status, json_t *resp, const berr *e)
{
    worker *w = arg;
    swarm *s = w->s;
    if (w->stopping)
        return;
    json_t *peers = json_object_get(resp, "peers");
    if (status < 0 || !json_is_object(peers) || strcmp(json_str(resp, "cluster"), s->cluster_id) != 0) {
        log_warn("swarm: promoted, but manager %s did not name the raft members: %s", current(w),
                 status < 0 && e ? e->msg : "no peers");
        w->promoting = false;
        session_call(w);
        return;
    }
    log_info("swarm: node %s was promoted: joining the managers through %s", s->node_id, current(w));
    swarm_join_clear(s);
    s->join_remote = xstrdup(current(w));
    s->join_advertise = swarm_join_host_port(w->addr, SWARM_RAFT_PORT);
    s->join_listen = xstrdup("0.0.0.0:" SWARM_RAFT_PORT);
    snprintf(s->join_cluster, sizeof s->join_cluster, "%s", s->cluster_id);
    snprintf(s->join_node, sizeof s->join_node, "%s", s->node_id);
    s->join_peers = json_deep_copy(peers);
    s->join_ca = xstrdup(w->ca);   /* no token: the worker certificate asks for the manager one */
    /* The node stays itself: same ID, same tasks; a store replaces the
     * session (w is gone once this returns). */
    s->keep_identity = true;
    s->leaving = true;
    s->leave_done = NULL;
    swarm_replace_store(s, swarm_join_reopen);
}

/* Its own node document says manager: become a raft member. */
static void check_role(worker *w)
{
    json_t *self = NULL;
    if (w->promoting || cs_get(w->mirror, CS_NODE, w->s->node_id, &self, NULL) < 0)
        return;
    bool manager = !strcmp(json_str(json_object_get(self, "Spec"), "Role"), "manager");
    json_decref(self);
    if (!manager)
        return;
    json_t *req = json_pack("{s:s}", "op", "hello");
    berr e = {0};
    if (cs_rpc_call_owned(w->s->loop, w, current(w), req, RPC_TIMEOUT_MS, on_promote_hello, w, &e) == 0)
        w->promoting = true;
    json_decref(req);
}

static void worker_after_demotion(swarm *s)
{
    json_t *bw = s->become_worker;
    s->become_worker = NULL;
    berr e = {0};
    worker *w = worker_new(s, json_str(bw, "addr"), json_object_get(bw, "managers"), 0, json_str(bw, "ca"),
                           json_str(bw, "cert"), json_str(bw, "key"), &e);
    json_decref(bw);
    if (!w || save(w, &e) < 0) {
        if (w) {
            s->worker = w;
            swarm_worker_end(s);
        }
        swarm_enter_error(s, &e);
        return;
    }
    start(s, w);
}

void swarm_check_demoted(swarm *s, cluster_store *cs)
{
    json_t *self = swarm_node_doc(s);
    bool demoted = self && !strcmp(json_str(json_object_get(self, "Spec"), "Role"), "worker");
    uint64_t now = uv_now(s->loop);
    if (!demoted || s->leaving || s->closing) {
        s->demoted_at = 0;
        json_decref(self);
        return;
    }
    if (!s->demoted_at)
        s->demoted_at = now;
    if (now - s->demoted_at < DEMOTE_SETTLE_MS) {
        json_decref(self);
        return;
    }
    json_t *managers = json_array(), *nodes = cs_list(cs, CS_NODE), *n;
    size_t i;
    json_array_foreach(nodes, i, n) {
        const char *addr = json_str(json_object_get(n, "ManagerStatus"), "Addr");
        if (strcmp(json_str(n, "ID"), s->node_id) && *addr && strncmp(addr, "127.", 4) &&
            !strcmp(json_str(json_object_get(n, "Spec"), "Role"), "manager"))
            json_array_append_new(managers, json_string(addr));
    }
    json_decref(nodes);
    if (!json_array_size(managers)) {
        json_decref(managers);
        json_decref(self);
        return;
    }
    /* A worker's certificate, signed here with the cluster's CA this
     * manager still holds: the session needs it, the store is going. */
    json_t *cluster = swarm_cluster_doc(s);
    char *key = NULL, *csr = NULL, *cert = NULL;
    berr e = {0};
    int rc = cluster ? tls_key_new(&key, &e) : berr_set(&e, -EAGAIN, "no cluster object");
    if (rc == 0)
        rc = tls_csr_new(key, &csr, &e);
    if (rc == 0)
        rc = swarm_ca_issue(s, cluster, csr, s->node_id, TLS_ROLE_WORKER, &cert, &e);
    free(csr);
    if (rc < 0) {
        log_warn("swarm: demoted, but no worker certificate: %s", e.msg);
        tls_free_secret(key);
        json_decref(cluster);
        json_decref(managers);
        json_decref(self);
        return;
    }
    log_info("swarm: node %s was demoted: its store goes, a session with a manager replaces it", s->node_id);
    json_decref(s->become_worker);
    s->become_worker = json_pack("{s:s, s:o, s:s, s:s, s:s}", "addr", json_str(json_object_get(self, "Status"), "Addr"),
                                 "managers", managers, "ca", swarm_ca_cert(cluster), "cert", cert, "key", key);
    free(cert);
    tls_free_secret(key);
    json_decref(cluster);
    json_decref(self);
    s->demoted_at = 0;
    s->keep_identity = true;
    s->leaving = true;
    s->leave_done = NULL;
    swarm_replace_store(s, worker_after_demotion);
}

/* ---- what the rest of the daemon asks --------------------------------------------------- */

bool swarm_is_worker(const swarm *s) { return s && s->worker; }

cluster_store *swarm_agent_store(swarm *s)
{
    if (s->worker)
        return s->state == SWARM_ACTIVE && s->worker->loaded ? s->worker->mirror : NULL;
    return swarm_store(s);
}

typedef struct report_call {
    worker *w;
    cs_done_fn done;
    void *arg;
} report_call;

static void on_report(void *arg, int status, json_t *resp, const berr *e)
{
    report_call *rc = arg;
    worker *w = rc->w;
    berr err = {0};
    int st = status < 0 ? -ENOTCONN : (int)json_integer_value(json_object_get(resp, "status"));
    if (status < 0)
        berr_set(&err, -ENOTCONN, "manager %s: %s", w->stopping ? "" : current(w), e && e->msg[0] ? e->msg : "no answer");
    else if (st)
        berr_set(&err, st, "%s", json_str(resp, "error"));
    if (st && !w->stopping)
        w->version[0] = 0;   /* the next session answer resends everything: the agent looks again */
    /* A conflict is seen again once the new assignments arrive: no retry
     * on the old copy. */
    if (rc->done)
        rc->done(rc->arg, st == -EAGAIN ? -ESTALE : st, 0, &err);
    free(rc);
}

int swarm_agent_report(swarm *s, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e)
{
    if (!s->worker) {
        cluster_store *cs = swarm_store(s);
        if (!cs)
            return berr_set(e, -ENOTCONN, "the cluster store is not running");
        return cluster_store_propose(cs, ops, n, done, arg, e);
    }
    worker *w = s->worker;
    json_t *tasks = json_array();
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == CS_TASK && ops[i].type == CS_PUT)
            json_array_append(tasks, ops[i].doc);
    json_t *req = json_pack("{s:s, s:o}", "op", "report", "tasks", tasks);
    report_call *rc = xcalloc(1, sizeof *rc);
    *rc = (report_call){w, done, arg};
    int r = cs_rpc_call_owned(s->loop, w, current(w), req, RPC_TIMEOUT_MS, on_report, rc, e);
    json_decref(req);
    if (r < 0)
        free(rc);
    return r;
}

int swarm_worker_call(swarm *s, json_t *req, cs_rpc_done done, void *arg, berr *e)
{
    if (!s->worker || s->state != SWARM_ACTIVE)
        return berr_set(e, -ENOTCONN, "this node has no session with a manager");
    return cs_rpc_call_owned(s->loop, s->worker, current(s->worker), req, RPC_TIMEOUT_MS, done, arg, e);
}

json_t *swarm_worker_managers(swarm *s)
{
    json_t *out = json_array(), *a;
    size_t i;
    if (!s->worker)
        return out;
    json_array_foreach(s->worker->managers, i, a) {
        const char *id = json_str(s->worker->manager_ids, json_string_value(a));
        json_array_append_new(out, json_pack("{s:s, s:O}", "NodeID", id, "Addr", a));
    }
    return out;
}

const char *swarm_worker_addr(swarm *s) { return s->worker ? s->worker->addr : ""; }
