/* Swarm mode on this node: the cluster store's life and the cluster and
 * node objects (see swarm.h). */
#include "node/swarm.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "node/swarm_int.h"
#include "node/swarm_token.h"
#include "raft/keyring.h"

/* Ensuring the two objects races only with API writes; a few retries on a
 * stale version settle it. */
#define ENSURE_TRIES 5

void swarm_notify(swarm *s, swarm_event ev)
{
    for (int i = 0; i < s->n_subs; i++)
        s->subs[i].fn(s->subs[i].arg, ev);
}

/* Waiters run after the list is detached: one may queue itself again. */
static void release_waiters(swarm *s)
{
    waiter *w = s->waiters;
    s->waiters = NULL;
    uv_timer_stop(&s->timer);
    while (w) {
        waiter *next = w->next;
        w->fn(w->arg);
        free(w);
        w = next;
    }
}

static void on_wait_timeout(uv_timer_t *t)
{
    swarm *s = t->data;
    log_warn("swarm component could not be started before timeout was reached");
    release_waiters(s);
}

void swarm_enter_pending(swarm *s)
{
    s->state = SWARM_PENDING;
    s->error[0] = 0;
    s->pending_since = uv_now(s->loop);
}

void swarm_finish_leave(swarm *s, int status, const berr *e)
{
    if (!s->leaving)
        return;
    s->leaving = false;
    swarm_done_fn done = s->leave_done;
    s->leave_done = NULL;
    if (done)
        done(s->leave_arg, status, e);
}

void swarm_enter_error(swarm *s, const berr *e)
{
    s->state = SWARM_ERROR;
    snprintf(s->error, sizeof s->error, "%s", e && e->msg[0] ? e->msg : "the cluster store failed");
    log_error("swarm: %s", s->error);
    release_waiters(s);
    swarm_finish_leave(s, e && e->code ? e->code : -EIO, e);
}

static void become_active(swarm *s)
{
    s->state = SWARM_ACTIVE;
    s->error[0] = 0;
    log_info("swarm: node %s is the manager of cluster %s", s->node_id, s->cluster_id);
    swarm_ca_schedule(s);
    /* Subscribers first: their watchers are in place before any parked
     * request gets to write. */
    swarm_notify(s, SWARM_EV_ACTIVE);
    release_waiters(s);
    swarm_finish_leave(s, 0, NULL);
}

/* ---- the documents ------------------------------------------------------ */

json_t *swarm_default_spec(void)
{
    /* SwarmKit's defaults (manager/state/store DefaultClusterSpec), in the
     * units and order the Engine API shows them. */
    return json_pack("{s:s, s:{}, s:{s:i}, s:{s:i, s:i, s:i, s:i, s:i}, s:{s:I}, s:{s:I}, s:{}, s:{s:b}}",
                     "Name", "default", "Labels",
                     "Orchestration", "TaskHistoryRetentionLimit", 5,
                     "Raft", "SnapshotInterval", 10000, "KeepOldSnapshots", 0, "LogEntriesForSlowFollowers", 500,
                     "ElectionTick", 10, "HeartbeatTick", 1,
                     "Dispatcher", "HeartbeatPeriod", (json_int_t)5000000000LL,
                     "CAConfig", "NodeCertExpiry", (json_int_t)(90LL * 24 * 3600 * 1000000000LL),
                     "TaskDefaults",
                     "EncryptionConfig", "AutoLockManagers", 0);
}

int swarm_rotate_tokens(json_t *cluster, bool worker, bool manager, berr *e)
{
    const char *ca = swarm_ca_cert(cluster);
    json_t *tokens = json_object_get(cluster, "JoinTokens");
    if (!json_is_object(tokens)) {
        tokens = json_object();
        json_object_set_new(cluster, "JoinTokens", tokens);
    }
    char tok[SWARM_TOKEN_LEN + 1];
    if (worker) {
        int r = swarm_token_new(ca, tok, e);
        if (r < 0)
            return r;
        json_object_set_new(tokens, "Worker", json_string(tok));
    }
    if (manager) {
        int r = swarm_token_new(ca, tok, e);
        if (r < 0)
            return r;
        json_object_set_new(tokens, "Manager", json_string(tok));
    }
    return 0;
}

char *swarm_join_host_port(const char *host, const char *port)
{
    return strchr(host, ':') ? xasprintf("[%s]:%s", host, port) : xasprintf("%s:%s", host, port);
}

static json_t *new_cluster_doc(swarm *s, const char *now, berr *e)
{
    json_t *doc = json_pack("{s:s, s:{s:i}, s:s, s:s, s:o, s:{}, s:b, s:[s], s:i, s:i, s:{}, s:{s:b}}",
                            "ID", s->cluster_id, "Version", "Index", 0, "CreatedAt", now, "UpdatedAt", now,
                            "Spec", swarm_default_spec(), "TLSInfo", "RootRotationInProgress", 0,
                            "DefaultAddrPool", "10.0.0.0/8", "SubnetSize", 24, "DataPathPort", 4789,
                            "JoinTokens", "Berth", "Initialized", 0);
    if (swarm_ca_new(doc, e) < 0 || swarm_rotate_tokens(doc, true, true, e) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* The engine's plugins as dockerd's executor lists them in the node
 * description: sorted by type, then name. */
static json_t *engine_plugins(void)
{
    return json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
                     "Type", "Log", "Name", "json-file", "Type", "Network", "Name", "bridge",
                     "Type", "Network", "Name", "host", "Type", "Network", "Name", "null",
                     "Type", "Volume", "Name", "local");
}

json_t *swarm_node_description(swarm *s)
{
    json_t *d = json_pack("{s:s, s:{s:s, s:s}, s:{s:I, s:I}, s:{s:s, s:o}}",
                          "Hostname", s->hostname,
                          "Platform", "Architecture", s->arch, "OS", "linux",
                          "Resources", "NanoCPUs", (json_int_t)s->nano_cpus, "MemoryBytes", (json_int_t)s->memory_bytes,
                          "Engine", "EngineVersion", s->engine_version, "Plugins", engine_plugins());
    /* The certificate this node shows on the swarm port, as dockerd
     * describes it. */
    tls_creds *creds = s->cs ? cluster_store_tls(s->cs) : NULL;
    json_t *info = creds ? swarm_tls_info(tls_creds_ca(creds), tls_creds_cert(creds)) : NULL;
    if (info)
        json_object_set_new(d, "TLSInfo", info);
    return d;
}

static json_t *new_node_doc(swarm *s, const char *now)
{
    cleanup_free char *maddr = swarm_join_host_port(SWARM_RAFT_HOST, SWARM_RAFT_PORT);
    char rid[24];
    snprintf(rid, sizeof rid, "%llu", (unsigned long long)cluster_store_raft_id(s->cs));
    /* Leadership is not stored: readers ask raft (swarm_node_leader). */
    return json_pack("{s:s, s:{s:i}, s:s, s:s, s:{s:{}, s:s, s:s}, s:o, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s}}",
                     "ID", s->node_id, "Version", "Index", 0, "CreatedAt", now, "UpdatedAt", now,
                     "Spec", "Labels", "Role", "manager", "Availability", "active",
                     "Description", swarm_node_description(s),
                     "Status", "State", "ready", "Addr", SWARM_RAFT_HOST,
                     "ManagerStatus", "Reachability", "reachable", "Addr", maddr,
                     "Berth", "RaftID", rid);
}

static int64_t doc_version(json_t *doc)
{
    return json_integer_value(json_object_get(json_object_get(doc, "Version"), "Index"));
}

/* The existing node object brought up to date with this host and this
 * start (NULL when nothing changed).  Addresses stay what init recorded. */
static json_t *refreshed_node_doc(swarm *s, json_t *cur, const char *now)
{
    json_t *doc = json_deep_copy(cur);
    bool changed = false;
    json_t *desc = swarm_node_description(s);
    if (!json_equal(desc, json_object_get(doc, "Description"))) {
        json_object_set(doc, "Description", desc);
        changed = true;
    }
    json_decref(desc);
    json_t *st = json_object_get(doc, "Status");
    if (!json_is_object(st)) {
        json_object_set_new(doc, "Status", json_pack("{s:s, s:s}", "State", "ready", "Addr", SWARM_RAFT_HOST));
        changed = true;
    } else if (strcmp(json_string_value(json_object_get(st, "State")) ?: "", "ready") != 0) {
        json_object_set_new(st, "State", json_string("ready"));
        json_object_del(st, "Message");
        changed = true;
    }
    json_t *ms = json_object_get(doc, "ManagerStatus");
    if (!json_is_object(ms)) {
        const char *adv = cluster_store_advertise_address(s->cs);
        json_object_set_new(doc, "ManagerStatus", json_pack("{s:s, s:s}", "Reachability", "reachable", "Addr", adv));
        changed = true;
    } else if (json_object_get(ms, "Leader") ||
               strcmp(json_string_value(json_object_get(ms, "Reachability")) ?: "", "reachable") != 0) {
        json_object_del(ms, "Leader");
        json_object_set_new(ms, "Reachability", json_string("reachable"));
        changed = true;
    }
    json_t *berth = json_object_get(doc, "Berth");
    char rid[24];
    snprintf(rid, sizeof rid, "%llu", (unsigned long long)cluster_store_raft_id(s->cs));
    if (!json_is_object(berth)) {
        berth = json_object();
        json_object_set_new(doc, "Berth", berth);
    }
    if (strcmp(json_string_value(json_object_get(berth, "RaftID")) ?: "", rid) != 0) {
        json_object_set_new(berth, "RaftID", json_string(rid));
        changed = true;
    }
    if (!changed) {
        json_decref(doc);
        return NULL;
    }
    json_object_set_new(doc, "UpdatedAt", json_string(now));
    return doc;
}

static void ensure_objects(swarm *s);

static void on_ensure_done(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    swarm *s = arg;
    if (s->closing || s->state != SWARM_PENDING)
        return;
    if (status == 0) {
        become_active(s);
        return;
    }
    if ((status == -EAGAIN || status == -EEXIST || status == -ENOENT) && ++s->ensure_tries < ENSURE_TRIES) {
        ensure_objects(s);
        return;
    }
    berr err = {0};
    berr_set(&err, status, "could not record the cluster and node objects: %s", e && e->msg[0] ? e->msg : "failed");
    swarm_enter_error(s, &err);
}

/* Makes the cluster object and this node's object exist and describe the
 * present, in one proposal; active once it has been applied. */
static void ensure_objects(swarm *s)
{
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    berr e = {0};
    cs_op ops[2];
    size_t n = 0;
    json_t *docs[2] = {NULL, NULL};

    json_t *cluster = NULL;
    if (cs_get(s->cs, CS_CLUSTER, s->cluster_id, &cluster, &e) < 0) {
        docs[n] = new_cluster_doc(s, now, &e);
        if (!docs[n]) {
            swarm_enter_error(s, &e);
            return;
        }
        ops[n] = (cs_op){.type = CS_PUT, .kind = CS_CLUSTER, .doc = docs[n], .if_version = 0};
        snprintf(ops[n].id, sizeof ops[n].id, "%s", s->cluster_id);
        n++;
    } else if (!swarm_ca_cert(cluster)) {
        /* A cluster object from before the CA (its tokens pinned a bare
         * key): give it a CA, and tokens that match it. */
        json_t *doc = json_deep_copy(cluster);
        json_object_del(json_object_get(doc, "Berth"), "RootSecret");
        if (swarm_ca_new(doc, &e) < 0 || swarm_rotate_tokens(doc, true, true, &e) < 0) {
            json_decref(doc);
            json_decref(cluster);
            swarm_enter_error(s, &e);
            return;
        }
        json_object_set_new(doc, "UpdatedAt", json_string(now));
        docs[n] = doc;
        ops[n] = (cs_op){.type = CS_PUT, .kind = CS_CLUSTER, .doc = doc, .if_version = doc_version(cluster)};
        snprintf(ops[n].id, sizeof ops[n].id, "%s", s->cluster_id);
        n++;
    }
    /* This node's certificate, before its description is written. */
    json_t *with_ca = n > 0 ? docs[0] : cluster;
    if (swarm_ca_sign_self(s, with_ca, &e) < 0) {
        for (size_t i = 0; i < n; i++)
            json_decref(docs[i]);
        json_decref(cluster);
        berr_wrap(&e, "could not give this node a certificate");
        swarm_enter_error(s, &e);
        return;
    }
    json_decref(cluster);

    json_t *node = NULL;
    berr_clear(&e);
    if (cs_get(s->cs, CS_NODE, s->node_id, &node, &e) < 0) {
        docs[n] = new_node_doc(s, now);
        ops[n] = (cs_op){.type = CS_PUT, .kind = CS_NODE, .doc = docs[n], .if_version = 0};
    } else {
        docs[n] = refreshed_node_doc(s, node, now);
        ops[n] = (cs_op){.type = CS_PUT, .kind = CS_NODE, .doc = docs[n], .if_version = doc_version(node)};
    }
    json_decref(node);
    if (docs[n]) {
        snprintf(ops[n].id, sizeof ops[n].id, "%s", s->node_id);
        n++;
    }

    if (n == 0) {
        become_active(s);
        return;
    }
    berr_clear(&e);
    int r = cluster_store_propose(s->cs, ops, n, on_ensure_done, s, &e);
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i]);
    if (r < 0)
        swarm_enter_error(s, &e);
}

static void on_store_ready(void *arg)
{
    swarm *s = arg;
    if (s->closing)
        return;
    s->ensure_tries = 0;
    ensure_objects(s);
}

/* ---- lifecycle ------------------------------------------------------------ */

/* Every manager's node document says where it is reached: the transport
 * learns each member's address from there. */
static void on_store_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    swarm *s = arg;
    if (!s->cs)
        return;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind != CS_NODE || ops[i].type != CS_PUT)
            continue;
        const char *rid = json_string_value(json_object_get(json_object_get(ops[i].doc, "Berth"), "RaftID"));
        const char *addr = json_string_value(json_object_get(json_object_get(ops[i].doc, "ManagerStatus"), "Addr"));
        if (rid && addr && strncmp(addr, "127.", 4) != 0)
            cluster_store_set_peer(s->cs, strtoull(rid, NULL, 10), addr);
    }
}

/* unlock_key: the autolock key given to `swarm unlock`, NULL otherwise. */
static int open_store_as(swarm *s, const char *join_cluster_id, const char *listen, const char *advertise,
                         const char *unlock_key, berr *e)
{
    swarm_enter_pending(s);
    cs_options o = {.dir = s->dir,
                    .raft_address = advertise ? advertise : SWARM_RAFT_ADDRESS,
                    .listen_address = listen,
                    .join_cluster_id = join_cluster_id,
                    .force_new_cluster = s->force_new,
                    .unlock_key = unlock_key};
    s->force_new = false;
    int r = cluster_store_open(s->loop, &o, &s->cs, e);
    if (r == -EACCES || (r == -EPERM && unlock_key)) {
        /* Autolock: nothing of the store is readable until the key comes. */
        s->cs = NULL;
        s->state = SWARM_LOCKED;
        if (!unlock_key)
            log_info("swarm: the cluster store is locked; use \"docker swarm unlock\"");
        release_waiters(s);
        return r;
    }
    if (r < 0) {
        s->cs = NULL;
        berr_wrap(e, "could not open the cluster store in %s", s->dir);
        swarm_enter_error(s, e);
        return r;
    }
    snprintf(s->node_id, sizeof s->node_id, "%s", cluster_store_node_id(s->cs));
    snprintf(s->cluster_id, sizeof s->cluster_id, "%s", cluster_store_cluster_id(s->cs));
    cluster_store_watch(s->cs, on_store_change, s);
    cluster_store_on_rpc(s->cs, swarm_rpc, s);
    cluster_store_set_peer_check(s->cs, swarm_peer_check, s);
    cluster_store_on_ready(s->cs, on_store_ready, s);
    return 0;
}

int swarm_open_store(swarm *s, const char *join_cluster_id, const char *listen, const char *advertise, berr *e)
{
    return open_store_as(s, join_cluster_id, listen, advertise, NULL, e);
}

static int open_store(swarm *s, const char *unlock_key, berr *e)
{
    return open_store_as(s, NULL, NULL, NULL, unlock_key, e);
}

swarm *swarm_open(uv_loop_t *loop, const char *data_root, const swarm_host *host)
{
    swarm *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->dir = xasprintf("%s/%s", data_root, SWARM_DIR);
    s->hostname = xstrdup(host->hostname ? host->hostname : "");
    s->arch = xstrdup(host->arch ? host->arch : "");
    s->engine_version = xstrdup(host->engine_version ? host->engine_version : "");
    s->nano_cpus = host->nano_cpus;
    s->memory_bytes = host->memory_bytes;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_timer_init(loop, &s->reach_timer);
    s->reach_timer.data = s;
    uv_timer_init(loop, &s->renew_timer);
    s->renew_timer.data = s;
    uv_timer_start(&s->reach_timer, swarm_members_tick, 200, 200);
    berr e = {0};
    /* What an interrupted leave set aside. */
    cleanup_free char *trash = xasprintf("%s.old", s->dir);
    if (cluster_store_wipe(trash, &e) < 0)
        log_warn("swarm: %s", e.msg);
    berr_clear(&e);
    open_store(s, NULL, &e); /* a failure leaves s in SWARM_ERROR, logged */
    return s;
}

int swarm_unlock(swarm *s, const char *key, berr *e)
{
    if (s->state != SWARM_LOCKED)
        return berr_set(e, -EEXIST, "swarm is not locked");
    uint8_t raw[32];
    int r = cs_unlock_key_parse(key, raw, e);
    sodium_memzero(raw, sizeof raw);
    if (r < 0)
        return r;
    return open_store(s, key, e);
}

static void on_timer_closed(uv_handle_t *h)
{
    swarm *s = h->data;
    if (!uv_is_closing((uv_handle_t *)&s->reach_timer)) {
        uv_close((uv_handle_t *)&s->reach_timer, on_timer_closed);
        return;
    }
    if (!uv_is_closing((uv_handle_t *)&s->renew_timer)) {
        uv_close((uv_handle_t *)&s->renew_timer, on_timer_closed);
        return;
    }
    free(s->join_ca);
    tls_free_secret(s->join_key);
    free(s->join_remote);
    free(s->join_token);
    free(s->join_listen);
    free(s->join_advertise);
    json_decref(s->join_peers);
    void (*done)(void *) = s->close_done;
    void *arg = s->close_arg;
    free(s->dir);
    free(s->hostname);
    free(s->arch);
    free(s->engine_version);
    free(s);
    if (done)
        done(arg);
}

static void close_finish(swarm *s)
{
    release_waiters(s);
    uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

static void on_store_closed_final(void *arg)
{
    close_finish(arg);
}

#define TRANSFER_POLL_MS 10
#define TRANSFER_MAX_TICKS 50

static void close_store_now(swarm *s)
{
    uv_timer_stop(&s->reach_timer);
    uv_timer_stop(&s->renew_timer);
    swarm_notify(s, SWARM_EV_CLOSING);
    cluster_store *cs = s->cs;
    s->cs = NULL;
    cluster_store_close(cs, on_store_closed_final, s);
}

static void on_transfer_tick(uv_timer_t *t)
{
    swarm *s = t->data;
    if (cluster_store_leader(s->cs) == cluster_store_raft_id(s->cs) && ++s->transfer_ticks < TRANSFER_MAX_TICKS)
        return;
    log_info("swarm: %s", cluster_store_leader(s->cs) == cluster_store_raft_id(s->cs)
                              ? "leadership transfer did not finish in time; stopping anyway"
                              : "leadership handed over");
    close_store_now(s);
}

void swarm_close(swarm *s, void (*done)(void *arg), void *arg)
{
    s->closing = true;
    cs_rpc_cancel(s); /* joins and dial-backs under way */
    s->close_done = done;
    s->close_arg = arg;
    berr e = {0};
    berr_set(&e, -ECANCELED, "the daemon is shutting down");
    swarm_finish_leave(s, -ECANCELED, &e);
    release_waiters(s);
    if (!s->cs) {
        /* No store, or a leave is closing the old one: its callback
         * finishes the close. */
        if (!s->old_store_closing)
            close_finish(s);
        return;
    }
    /* A leader of several hands leadership over before it stops, so the
     * others need not wait out an election timeout. */
    berr te = {0};
    cs_member m[16];
    if (s->state == SWARM_ACTIVE && cluster_store_leader(s->cs) == cluster_store_raft_id(s->cs) &&
        cluster_store_members(s->cs, m, 16) > 1 && cluster_store_transfer(s->cs, &te) == 0) {
        s->transfer_ticks = 0;
        uv_timer_stop(&s->reach_timer);
        uv_timer_start(&s->reach_timer, on_transfer_tick, TRANSFER_POLL_MS, TRANSFER_POLL_MS);
        return;
    }
    close_store_now(s);
}

/* ---- leave ------------------------------------------------------------------ */

static int open_store(swarm *s, const char *unlock_key, berr *e);

static void on_leave_store_closed(void *arg)
{
    swarm *s = arg;
    s->old_store_closing = false;
    if (s->closing) {
        close_finish(s);
        return;
    }
    log_info("swarm: node %s left cluster %s", s->node_id, s->cluster_id);
    swarm_notify(s, SWARM_EV_LEFT);
    s->node_id[0] = 0;
    s->cluster_id[0] = 0;
    /* The old state goes aside in one rename before it is deleted: a crash
     * halfway through a deletion must not leave an identity without its
     * raft log. */
    berr e = {0};
    cleanup_free char *trash = xasprintf("%s.old", s->dir);
    if (cluster_store_wipe(trash, &e) < 0 || (rename(s->dir, trash) < 0 && errno != ENOENT &&
                                              berr_sys(&e, -errno, "rename %s", s->dir) < 0)) {
        berr_wrap(&e, "could not remove the swarm state");
        swarm_enter_error(s, &e);
        return;
    }
    if (cluster_store_wipe(trash, &e) < 0)
        log_warn("swarm: %s", e.msg);
    /* A failure is recorded by open_store (error state, leave answered);
     * success is answered when the fresh cluster is active. */
    void (*reopen)(swarm *s) = s->reopen;
    s->reopen = NULL;
    if (reopen)
        reopen(s);
    else
        open_store(s, NULL, &e);
}

static void on_recover_closed(void *arg)
{
    swarm *s = arg;
    s->old_store_closing = false;
    if (s->closing) {
        close_finish(s);
        return;
    }
    berr e = {0};
    s->force_new = true;
    open_store(s, NULL, &e); /* answered once active, or by the error state */
}

int swarm_force_new_cluster(swarm *s, swarm_done_fn done, void *arg, berr *e)
{
    if (s->closing)
        return berr_set(e, -ECANCELED, "the daemon is shutting down");
    if (s->leaving || !s->cs)
        return berr_set(e, -EBUSY, "the node is already leaving or joining a swarm");
    s->leaving = true;
    s->leave_done = done;
    s->leave_arg = arg;
    swarm_enter_pending(s);
    uv_timer_stop(&s->renew_timer);
    swarm_notify(s, SWARM_EV_CLOSING);
    cluster_store *cs = s->cs;
    s->cs = NULL;
    s->old_store_closing = true;
    cluster_store_close(cs, on_recover_closed, s);
    return 0;
}

void swarm_replace_store(swarm *s, void (*then)(swarm *s))
{
    s->reopen = then;
    swarm_enter_pending(s);
    uv_timer_stop(&s->renew_timer);
    if (!s->cs) {
        on_leave_store_closed(s);
        return;
    }
    swarm_notify(s, SWARM_EV_CLOSING);
    cluster_store *cs = s->cs;
    s->cs = NULL;
    s->old_store_closing = true;
    cluster_store_close(cs, on_leave_store_closed, s);
}

int swarm_leave(swarm *s, swarm_done_fn done, void *arg, berr *e)
{
    if (s->closing)
        return berr_set(e, -ECANCELED, "the daemon is shutting down");
    if (s->leaving)
        return berr_set(e, -EBUSY, "the node is already leaving its swarm");
    s->leaving = true;
    s->leave_done = done;
    s->leave_arg = arg;
    /* A store that never opened (error state) has nothing to close. */
    swarm_replace_store(s, NULL);
    return 0;
}

/* ---- accessors -------------------------------------------------------------- */

swarm_state swarm_get_state(const swarm *s) { return s->state; }

const char *swarm_error(const swarm *s) { return s->state == SWARM_ERROR ? s->error : ""; }

cluster_store *swarm_store(swarm *s) { return s->state == SWARM_ACTIVE ? s->cs : NULL; }

const char *swarm_node_id(const swarm *s) { return s->node_id; }

const char *swarm_cluster_id(const swarm *s) { return s->cluster_id; }

bool swarm_wait(swarm *s, void (*fn)(void *arg), void *arg)
{
    if (s->closing || s->state != SWARM_PENDING)
        return false;
    uint64_t now = uv_now(s->loop);
    if (now - s->pending_since >= SWARM_WAIT_MS)
        return false;
    waiter *w = xcalloc(1, sizeof *w);
    w->fn = fn;
    w->arg = arg;
    waiter **tail = &s->waiters;
    while (*tail)
        tail = &(*tail)->next;
    *tail = w;
    if (!uv_is_active((uv_handle_t *)&s->timer))
        uv_timer_start(&s->timer, on_wait_timeout, s->pending_since + SWARM_WAIT_MS - now, 0);
    return true;
}

int swarm_subscribe(swarm *s, void (*fn)(void *arg, swarm_event ev), void *arg)
{
    if (s->n_subs == MAX_SUBSCRIBERS)
        return -ENOSPC;
    s->subs[s->n_subs++] = (subscriber){fn, arg};
    return 0;
}

json_t *swarm_cluster_doc(swarm *s)
{
    cluster_store *cs = swarm_store(s);
    json_t *doc = NULL;
    if (!cs || cs_get(cs, CS_CLUSTER, s->cluster_id, &doc, NULL) < 0)
        return NULL;
    return doc;
}

json_t *swarm_node_doc(swarm *s)
{
    cluster_store *cs = swarm_store(s);
    json_t *doc = NULL;
    if (!cs || cs_get(cs, CS_NODE, s->node_id, &doc, NULL) < 0)
        return NULL;
    return doc;
}

int swarm_set_addresses(swarm *s, const char *listen, const char *advertise, berr *e)
{
    cluster_store *cs = swarm_store(s);
    if (!cs)
        return berr_set(e, -EAGAIN, "the cluster store is not running");
    return cluster_store_set_addresses(cs, listen, advertise, e);
}

bool swarm_node_is_leader(swarm *s, json_t *node)
{
    cluster_store *cs = swarm_store(s);
    const char *rid = json_string_value(json_object_get(json_object_get(node, "Berth"), "RaftID"));
    uint64_t leader = cs ? cluster_store_leader(cs) : 0;
    return rid && leader && strtoull(rid, NULL, 10) == leader;
}

bool swarm_initialized(swarm *s)
{
    json_t *c = swarm_cluster_doc(s);
    bool init = json_is_true(json_object_get(json_object_get(c, "Berth"), "Initialized"));
    json_decref(c);
    return init;
}
