/* The cluster store: libraft (raft_uv on the daemon's loop) driving the
 * SQLite state machine in raft/fsm.c.
 *
 * Leadership: libraft 0.15 has no state-change callback, so a timer polls
 * raft_state().  Once this member is leader it appends a barrier; when the
 * barrier applies, every entry committed before it has been applied too
 * (and the leader has committed an entry of its own term, which is what
 * makes its commit index trustworthy), so the store is ready.  A single
 * voter self-elects inside raft_start(), so on one node readiness is one
 * disk write after open. */
#include "raft/cluster_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <inttypes.h>
#include <raft.h>
#include <raft/uv.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "raft/cluster_store_int.h"
#include "raft/crypt_io.h"
#include "raft/fsm.h"

/* One voter elects itself at start; these matter once there are several.
 * A follower that hears nothing for a randomized 300-600 ms starts a
 * (pre-)vote, so a dead leader is replaced well inside a second (SwarmKit's
 * 10-20 s); heartbeats every 50 ms keep a live leader far from that even
 * on a loaded host. */
#define CS_ELECTION_TIMEOUT_MS 300
#define CS_HEARTBEAT_TIMEOUT_MS 50
/* raft_uv's default 8 MiB segments would hold tens of thousands of our
 * small entries, and only whole segments are removed behind a snapshot, so
 * the log on disk would grow to 8 MiB and more before the first trim. */
#define CS_SEGMENT_SIZE (1024 * 1024)


void cs_new_id(char out[26])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    /* 25 uniform base-36 digits carry 129 bits, like swarmkit's IDs. */
    for (int i = 0; i < 25; i++)
        out[i] = digits[randombytes_uniform(36)];
    out[25] = 0;
}

static bool valid_id(const char *s)
{
    if (!s || strlen(s) != 25)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
            return false;
    return true;
}

/* ---- identity ---------------------------------------------------------------- */

static int identity_load(cluster_store *cs, berr *e)
{
    cleanup_free char *path = xasprintf("%s/identity.json", cs->dir);
    cleanup_free char *data = NULL;
    size_t len;
    int rc = fs_read_file(path, &data, &len, e);
    if (rc < 0)
        return rc;
    json_error_t je;
    json_t *j = json_loadb(data, len, 0, &je);
    const char *node = json_string_value(json_object_get(j, "NodeID"));
    const char *cluster = json_string_value(json_object_get(j, "ClusterID"));
    const char *raft = json_string_value(json_object_get(j, "RaftID"));
    char *end = NULL;
    unsigned long long rid = raft ? strtoull(raft, &end, 10) : 0;
    if (!valid_id(node) || !valid_id(cluster) || !raft || *end || rid == 0) {
        json_decref(j);
        return berr_set(e, -EINVAL, "%s: malformed identity", path);
    }
    memcpy(cs->node_id, node, 26);
    memcpy(cs->cluster_id, cluster, 26);
    cs->raft_id = rid;
    const char *listen = json_string_value(json_object_get(j, "ListenAddr"));
    const char *adv = json_string_value(json_object_get(j, "AdvertiseAddr"));
    const char *addr = json_string_value(json_object_get(j, "RaftAddr"));
    if (listen && *listen)
        cs->listen = xstrdup(listen);
    if (adv && *adv)
        cs->advertise = xstrdup(adv);
    if (addr && *addr) {
        free(cs->address);
        cs->address = xstrdup(addr);
    }
    json_t *peers = json_object_get(j, "Peers");
    if (json_is_object(peers))
        json_object_update(cs->peers, peers);
    json_decref(j);
    return 0;
}

int cs_identity_save(cluster_store *cs, berr *e)
{
    cleanup_free char *path = xasprintf("%s/identity.json", cs->dir);
    char rid[24];
    snprintf(rid, sizeof rid, "%llu", cs->raft_id);
    /* The raft ID is a string: JSON readers lose integers above 2^53.
     * RaftAddr is what raft_init got on the first start (and libraft's
     * configuration recorded): it must stay the same on every start. */
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "NodeID", cs->node_id, "ClusterID", cs->cluster_id,
                          "RaftID", rid, "RaftAddr", cs->address, "ListenAddr", cs->listen ? cs->listen : "",
                          "AdvertiseAddr", cs->advertise ? cs->advertise : "", "Peers", cs->peers);
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    int rc = fs_write_file_atomic(path, text, strlen(text), 0600, e);
    free(text);
    return rc;
}

static void identity_new(cluster_store *cs, const char *cluster_id, const char *node_id)
{
    if (node_id && valid_id(node_id))
        snprintf(cs->node_id, sizeof cs->node_id, "%s", node_id);
    else
        cs_new_id(cs->node_id);
    if (cluster_id)
        snprintf(cs->cluster_id, sizeof cs->cluster_id, "%s", cluster_id);
    else
        cs_new_id(cs->cluster_id);
    do
        randombytes_buf(&cs->raft_id, sizeof cs->raft_id);
    while (cs->raft_id == 0);
}

/* ---- leadership and readiness ------------------------------------------------ */

static void fire_ready(cluster_store *cs)
{
    if (!cs->ready_fired && cs->on_ready) {
        cs->ready_fired = true;
        cs->on_ready(cs->ready_arg);
    }
}

static void barrier_cb(struct raft_barrier *req, int status)
{
    cluster_store *cs = req->data;
    cs->barrier_pending = false;
    if (status != 0 || cs->closing)
        return;
    if (raft_state(&cs->raft) != RAFT_LEADER || cs->raft.current_term != cs->barrier_term)
        return;
    cs->ready = true;
    cs->ready_term = cs->barrier_term;
    fire_ready(cs);
}

/* A follower is ready once it hears from a leader and has applied what
 * that leader told it is committed: its reads are then at most a heartbeat
 * behind.  It stays ready (serving reads) when the leader goes away. */
static void poll_follower(cluster_store *cs)
{
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&cs->raft, &leader, &addr);
    if (leader == 0 || cs->raft.commit_index == 0 || raft_last_applied(&cs->raft) < cs->raft.commit_index)
        return;
    if (!cs->ready_fired) {
        cs->ready = true;
        fire_ready(cs);
    }
}

/* Leadership polling, after every tick (cluster_tick.c).  It does not
 * delay a single node, which is leader when raft_start returns and is
 * checked right then; it only notices a leadership won or lost later,
 * which costs an election timeout anyway. */
void cs_poll_leader(cluster_store *cs)
{
    if (cs->closing)
        return;
    cs_forward_poll(cs);
    if (raft_state(&cs->raft) != RAFT_LEADER) {
        cs->ready = cs->ready_fired;
        poll_follower(cs);
        return;
    }
    if ((cs->ready_term == cs->raft.current_term && cs->ready_fired) || cs->barrier_pending)
        return;
    cs->barrier.data = cs;
    int rv = raft_barrier(&cs->raft, &cs->barrier, barrier_cb);
    if (rv == 0) {
        cs->barrier_pending = true;
        cs->barrier_term = cs->raft.current_term;
    } else {
        log_debug("cluster store: barrier: %s", raft_strerror(rv));
    }
}

void cluster_store_on_ready(cluster_store *cs, void (*ready)(void *arg), void *arg)
{
    cs->on_ready = ready;
    cs->ready_arg = arg;
    if (ready && cs->ready && !cs->ready_fired) {
        cs->ready_fired = true;
        ready(arg);
    }
}

bool cluster_store_ready(const cluster_store *cs)
{
    return cs->ready && !cs->closing;
}

/* ---- open and close ----------------------------------------------------------- */

/* libraft 0.15's raft_uv can call its close callback twice: an open
 * segment leaves the queue its close check looks at before its writer has
 * closed, so the close callback fires once the rest is quiet and again from
 * the writer's own close callback, later (seen in CI as a SEGV in libraft
 * reading the struct uv we had freed in between, when berthd got SIGTERM
 * right after start).  So the callback is passed on once only, and the
 * memory libraft may still touch (the store with its raft_io, the raft_uv
 * and transport allocations) stays allocated for a while after close:
 * closed stores wait in a graveyard and are released once they have been
 * dead long enough, or when the loop has ended (cluster_store_reap). */
#define CS_GRAVE_MS 10000

static cluster_store *graveyard;

static void release(cluster_store *cs)
{
    cs_crypt_io_unwrap(&cs->io);
    if (cs->raft_inited) {
        raft_uv_close(&cs->io);
        cs_transport_release(&cs->transport);
    }
    free(cs);
}

static void reap(uv_loop_t *loop, bool all)
{
    cluster_store **p = &graveyard;
    while (*p) {
        cluster_store *cs = *p;
        if (all || (cs->loop == loop && uv_now(loop) - cs->buried_at >= CS_GRAVE_MS)) {
            *p = cs->next_buried;
            release(cs);
        } else {
            p = &cs->next_buried;
        }
    }
}

void cluster_store_reap(void)
{
    reap(NULL, true);
}

static void io_close_once(struct raft_io *io)
{
    cluster_store *cs = (cluster_store *)((char *)io - offsetof(cluster_store, io));
    if (cs->io_close_fired)
        return;
    cs->io_close_fired = true;
    cs->io_closed(io);
}

static void guarded_io_close(struct raft_io *io, raft_io_close_cb cb)
{
    cluster_store *cs = (cluster_store *)((char *)io - offsetof(cluster_store, io));
    cs->io_closed = cb;
    cs->io_close(io, io_close_once);
}

/* What nothing can reach once the store is closed goes now; the rest to the
 * graveyard. */
static void store_free(cluster_store *cs)
{
    cs_fsm_free(cs->fsm);
    cs->fsm = NULL;
    free(cs->dir);
    free(cs->raft_dir);
    free(cs->address);
    free(cs->listen);
    free(cs->advertise);
    json_decref(cs->peers);
    tls_creds_unref(cs->creds);
    cs->creds = NULL;
    cs->dir = cs->raft_dir = cs->address = cs->listen = cs->advertise = NULL;
    cs->peers = NULL;
    if (!cs->raft_inited) {
        release(cs);
        return;
    }
    reap(cs->loop, false);
    cs->buried_at = uv_now(cs->loop);
    cs->next_buried = graveyard;
    graveyard = cs;
}

static void close_step(cluster_store *cs)
{
    if (--cs->close_pending > 0)
        return;
    void (*done)(void *) = cs->close_done;
    void *arg = cs->close_arg;
    store_free(cs);
    if (done)
        done(arg);
}

static void raft_closed(struct raft *r)
{
    /* raft_uv's and the transport's memory is released from the graveyard. */
    close_step(r->data);
}

static void timer_closed(uv_handle_t *h)
{
    close_step(h->data);
}

/* Stops raft (failing proposals still in flight) and frees everything once
 * libuv has closed the last handle. */
static void close_now(cluster_store *cs)
{
    cs->close_pending = 2;
    uv_close((uv_handle_t *)&cs->timer, timer_closed);
    raft_close(&cs->raft, raft_closed);
}

/* libraft 0.15 can crash when it is closed with a disk write of an entry
 * or barrier under way (seen once in ~400 daemon stops under ASan): let
 * what is in flight land first, for at most a second. */
static void drain_cb(uv_timer_t *t)
{
    cluster_store *cs = t->data;
    if ((cs->in_flight > 0 || cs->barrier_pending) && ++cs->drain_ticks < 200) {
        /* raft keeps its heartbeat pace meanwhile (cluster_tick.c is
         * done once closing): the others' answers commit what waits. */
        if (cs->raft_tick && cs->drain_ticks % 10 == 0)
            cs->raft_tick(&cs->io);
        return;
    }
    uv_timer_stop(&cs->timer);
    close_now(cs);
}

static void teardown(cluster_store *cs, void (*done)(void *), void *arg)
{
    cs->closing = true;
    cs_forward_cancel(cs);
    cs->close_done = done;
    cs->close_arg = arg;
    if (cs->raft_inited && (cs->in_flight > 0 || cs->barrier_pending) && uv_is_active((uv_handle_t *)&cs->timer)) {
        uv_timer_stop(&cs->timer);
        uv_timer_start(&cs->timer, drain_cb, 5, 5);
        return;
    }
    close_now(cs);
}

void cluster_store_close(cluster_store *cs, void (*done)(void *arg), void *arg)
{
    teardown(cs, done, arg);
}

static int raft_error(cluster_store *cs, int rv, const char *what, berr *e)
{
    const char *msg = cs->raft_inited ? raft_errmsg(&cs->raft) : "";
    if (!msg || !*msg)
        msg = raft_strerror(rv);
    return berr_set(e, rv == RAFT_NOMEM ? -ENOMEM : -EIO, "cluster store: %s: %s", what, msg);
}

/* Whether "host:port" cannot be bound because something holds it. */
static bool address_in_use(const char *address)
{
    char host[64];
    const char *colon = strrchr(address, ':');
    if (!colon || (size_t)(colon - address) >= sizeof host)
        return false;
    snprintf(host, sizeof host, "%.*s", (int)(colon - address), address);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool busy = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno == EADDRINUSE;
    close(fd);
    return busy;
}

/* Bootstraps the raft log with this member as the only voter. */
static int bootstrap(cluster_store *cs, berr *e)
{
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    int rv = raft_configuration_add(&conf, cs->raft_id, cs->address, RAFT_VOTER);
    if (rv == 0)
        rv = raft_bootstrap(&cs->raft, &conf);
    raft_configuration_close(&conf);
    return rv ? raft_error(cs, rv, "bootstrap", e) : 0;
}

int cluster_store_open(uv_loop_t *loop, const cs_options *o, cluster_store **out, berr *e)
{
    if (!o || !o->dir || !*o->dir || !o->raft_address || !*o->raft_address)
        return berr_set(e, -EINVAL, "cluster store: a directory and a raft address are required");

    cluster_store *cs = xcalloc(1, sizeof *cs);
    cs->loop = loop;
    cs->dir = xstrdup(o->dir);
    cs->raft_dir = xasprintf("%s/raft", o->dir);
    cs->address = xstrdup(o->raft_address);
    cs->peers = json_object();

    int rc = fs_mkdir_p(cs->dir, 0700, e);
    if (rc < 0)
        goto fail;

    /* identity.json is written last on the first start, so its presence
     * says the raft log was bootstrapped too; without it, start over. */
    bool fresh = false;
    rc = identity_load(cs, e);
    if (rc == -ENOENT) {
        fresh = true;
        identity_new(cs, o->join_cluster_id, o->join_node_id);
        cs->joining = o->join_cluster_id != NULL;
        if (o->listen_address)
            cs->listen = xstrdup(o->listen_address);
        rc = fs_rm_rf(cs->raft_dir, e);
    }
    if (rc < 0)
        goto fail;
    if ((rc = fs_mkdir_p(cs->raft_dir, 0700, e)) < 0)
        goto fail;
    if ((rc = cs_fsm_new(&cs->fsm, e)) < 0)
        goto fail;

    if ((rc = cs_transport_init(&cs->transport, loop, e)) < 0)
        goto fail;
    if (cs->listen && (rc = cs_transport_set_bind(&cs->transport, cs->listen, e)) < 0) {
        cs_transport_release(&cs->transport);
        goto fail;
    }
    const char *key;
    json_t *val;
    json_object_foreach(cs->peers, key, val) cs_transport_set_peer(&cs->transport, strtoull(key, NULL, 10),
                                                                   json_string_value(val));
    cs_transport_on_rpc(&cs->transport, cs_rpc_dispatch, cs);
    int rv = raft_uv_init(&cs->io, loop, cs->raft_dir, &cs->transport);
    if (rv != 0) {
        rc = berr_set(e, -EIO, "cluster store: %s: %s", cs->raft_dir, cs->io.errmsg);
        cs_transport_release(&cs->transport);
        goto fail;
    }
    raft_uv_set_segment_size(&cs->io, CS_SEGMENT_SIZE);
    cs->io_close = cs->io.close;
    cs->io.close = guarded_io_close;
    cs_tick_wrap(cs);
    /* Encryption at rest: the node's DEK seals what raft writes. */
    if (!o->unsealed && (rc = cs_crypt_io_open(&cs->io, cs->dir, !fresh, o->unlock_key, e)) < 0) {
        raft_uv_close(&cs->io);
        cs_transport_release(&cs->transport);
        goto fail;
    }
    /* After the keyring: with autolock the node key is sealed with the DEK. */
    cs_certs_load(cs);
    rv = raft_init(&cs->raft, &cs->io, cs_fsm_raft(cs->fsm), cs->raft_id, cs->address);
    if (rv != 0) {
        rc = berr_set(e, -EIO, "cluster store: raft: %s", cs->raft.errmsg[0] ? cs->raft.errmsg : raft_strerror(rv));
        raft_uv_close(&cs->io);
        cs_transport_release(&cs->transport);
        goto fail;
    }
    cs->raft_inited = true;
    cs->raft.data = cs;
    cs_fsm_attach(cs->fsm, &cs->raft);
    uv_timer_init(loop, &cs->timer);
    cs->timer.data = cs;

    /* From here on raft owns handles: failures unwind through teardown(),
     * which frees cs from the loop. */
    if (fresh && ((!cs->joining && (rc = bootstrap(cs, e)) < 0) || (rc = cs_identity_save(cs, e)) < 0))
        goto fail_raft;

    if (!fresh && o->force_new_cluster) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        rv = raft_configuration_add(&conf, cs->raft_id, cs->address, RAFT_VOTER);
        if (rv == 0)
            rv = raft_recover(&cs->raft, &conf);
        raft_configuration_close(&conf);
        if (rv != 0) {
            rc = raft_error(cs, rv, "force new cluster", e);
            goto fail_raft;
        }
        log_warn("cluster store: forced a new cluster of this member alone, keeping its state");
    }

    raft_set_election_timeout(&cs->raft, CS_ELECTION_TIMEOUT_MS);
    raft_set_heartbeat_timeout(&cs->raft, CS_HEARTBEAT_TIMEOUT_MS);
    /* A manager that was cut off and comes back must not depose a healthy
     * leader with its higher term. */
    raft_set_pre_vote(&cs->raft, true);
    raft_set_snapshot_threshold(&cs->raft, o->snapshot_threshold ? o->snapshot_threshold : 1024);
    raft_set_snapshot_trailing(&cs->raft, o->snapshot_trailing ? o->snapshot_trailing : 128);

    rv = raft_start(&cs->raft);
    if (rv != 0) {
        /* libraft reports a taken port as a bare I/O error: say which. */
        const char *bound = cs->listen ? cs->listen : cs->address;
        if (address_in_use(bound))
            rc = berr_set(e, -EADDRINUSE, "cluster store: listen tcp %s: bind: address already in use", bound);
        else
            rc = raft_error(cs, rv, "start", e);
        goto fail_raft;
    }
    cs_tick_pace(cs);
    cs_poll_leader(cs);
    *out = cs;
    return 0;

fail_raft:
    teardown(cs, NULL, NULL);
    return rc;
fail:
    store_free(cs);
    return rc;
}

int cluster_store_rekey(cluster_store *cs, const char *unlock_key, berr *e)
{
    int rc = cs_crypt_io_rewrap(&cs->io, cs->dir, unlock_key, e);
    return rc < 0 ? rc : cs_certs_rewrite_key(cs, e);
}

int cluster_store_wipe(const char *dir, berr *e)
{
    return fs_rm_rf(dir, e);
}

const char *cluster_store_node_id(const cluster_store *cs) { return cs->node_id; }
const char *cluster_store_cluster_id(const cluster_store *cs) { return cs->cluster_id; }

/* ---- writes -------------------------------------------------------------------- */

static int not_leader(berr *e)
{
    return berr_set(e, -ENOTCONN, CS_NO_LEADER_MSG);
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    cs_request *r = req->data;
    r->cs->in_flight--;
    berr e = {0};
    if (status != 0) {
        /* Leadership lost (raft_close included): the entry may still
         * commit under another leader, so the caller re-reads rather than
         * assumes it failed. */
        int code = (status == RAFT_NOTLEADER || status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN ||
                    status == RAFT_CANCELED)
                       ? -ENOTCONN
                       : -EIO;
        berr_set(&e, code, "cluster store: %s", raft_strerror(status));
        if (r->done)
            r->done(r->arg, code, 0, &e);
    } else {
        const cs_fsm_result *res = result;
        if (res->status)
            berr_set(&e, res->status, "%s", res->msg);
        if (r->done)
            r->done(r->arg, res->status, res->index, &e);
    }
    free(r);
}

int cluster_store_propose(cluster_store *cs, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e)
{
    if (cs->mirror)
        return berr_set(e, -EPERM, "a worker's copy of its assignments is written by its manager only");
    if (cs->closing)
        return not_leader(e);
    if (raft_state(&cs->raft) != RAFT_LEADER)
        return cs_forward_propose(cs, ops, n, done, arg, e);
    return cs_propose_local(cs, ops, n, done, arg, e);
}

int cs_propose_local(cluster_store *cs, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e)
{
    if (cs->closing || raft_state(&cs->raft) != RAFT_LEADER)
        return not_leader(e);
    struct raft_buffer buf;
    int rc = cs_command_encode(ops, n, &buf, e);
    if (rc < 0)
        return rc;
    cs_request *r = xcalloc(1, sizeof *r);
    r->req.data = r;
    r->cs = cs;
    r->done = done;
    r->arg = arg;
    int rv = raft_apply(&cs->raft, &r->req, &buf, 1, apply_cb);
    if (rv == 0)
        cs->in_flight++;
    if (rv != 0) {
        raft_free(buf.base);
        free(r);
        if (rv == RAFT_NOTLEADER || rv == RAFT_LEADERSHIPLOST)
            return not_leader(e);
        return raft_error(cs, rv, "propose", e);
    }
    return 0;
}

/* ---- reads ---------------------------------------------------------------------- */

/* Reads prepare their statements each time: a snapshot restore swaps the
 * database underneath, and preparing costs microseconds. */
static json_t *query_docs(cluster_store *cs, const char *sql, cs_kind kind, const char *a, const char *b)
{
    json_t *arr = json_array();
    sqlite3 *db = cs_fsm_db(cs->fsm);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("cluster store: %s", sqlite3_errmsg(db));
        return arr;
    }
    sqlite3_bind_text(st, 1, cs_kind_name(kind), -1, SQLITE_STATIC);
    if (a)
        sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_error_t je;
        json_t *doc = json_loadb((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0), 0,
                                 &je);
        if (doc)
            json_array_append_new(arr, doc);
    }
    sqlite3_finalize(st);
    return arr;
}

int cs_get(cluster_store *cs, cs_kind kind, const char *id, json_t **doc, berr *e)
{
    if ((unsigned)kind >= CS_KIND_N || !id)
        return berr_set(e, -EINVAL, "invalid object kind or ID");
    json_t *arr = query_docs(cs, "SELECT doc FROM objects WHERE kind = ?1 AND id = ?2", kind, id, NULL);
    json_t *d = json_array_get(arr, 0);
    if (!d) {
        json_decref(arr);
        return berr_set(e, -ENOENT, "%s %s not found", cs_kind_name(kind), id);
    }
    *doc = json_incref(d);
    json_decref(arr);
    return 0;
}

json_t *cs_list(cluster_store *cs, cs_kind kind)
{
    return query_docs(cs, "SELECT doc FROM objects WHERE kind = ?1 ORDER BY seq", kind, NULL, NULL);
}

json_t *cs_list_where(cluster_store *cs, cs_kind kind, const char *json_path, const char *value)
{
    if (!json_path || !value)
        return json_array();
    if (!strcmp(json_path, "$.NodeID"))
        return query_docs(cs, "SELECT doc FROM objects WHERE kind = ?1 AND " CS_NODE_EXPR " = ?2 ORDER BY seq", kind,
                          value, NULL);
    return query_docs(cs, "SELECT doc FROM objects WHERE kind = ?1 AND json_extract(doc, ?2) = ?3 ORDER BY seq",
                      kind, json_path, value);
}

/* ---- watchers and figures ---------------------------------------------------------- */

void cluster_store_watch(cluster_store *cs, cs_watch_fn fn, void *arg)
{
    if (cs_fsm_watch(cs->fsm, fn, arg) < 0)
        log_error("cluster store: more than %d watchers; one ignored", CS_MAX_WATCHERS);
}

void cluster_store_stats(const cluster_store *cs, cs_stats *out)
{
    struct raft *r = (struct raft *)&cs->raft;
    const struct raft_log *l = &r->log;
    out->applied = raft_last_applied(r);
    out->log_entries = l->back >= l->front ? l->back - l->front : l->size - l->front + l->back;
    out->snapshot_index = l->snapshot.last_index;
    out->leader = raft_state(r) == RAFT_LEADER;
}
