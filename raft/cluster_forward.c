/* Writes on any manager: a follower forwards its proposals to the leader
 * over node RPC ({"op": "propose", "ops": [...]}) and completes them once
 * the entry is applied to its own store, so a client that wrote through a
 * follower reads its write there at once.
 *
 * No write is sent twice unless the first try provably never reached a
 * leader: a connection refused, or a leader that answered "not leader"
 * before proposing.  A request that reached a leader and got no answer is
 * reported as such (the entry may or may not commit), never retried: a
 * retry could apply it twice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "raft/cluster_store_int.h"

/* How long a forwarded write waits for a leader to be known and to take
 * it: an election takes 300-600 ms (cluster_store.c). */
#define FORWARD_PATIENCE_MS 3000
#define FORWARD_RETRY_MS 50
#define FORWARD_TIMEOUT_MS 10000

struct cs_forward {
    cluster_store *cs;       /* NULL once cancelled (the store is closing) */
    cs_forward *next;
    json_t *req;
    cs_done_fn done;
    void *arg;
    uint64_t started;        /* uv_now */
    uint64_t retry_at;       /* 0: not waiting to retry */
    bool sending;            /* an RPC is under way */
    uint64_t index;          /* > 0: accepted, waiting for the apply here */
};

static void unlink_fwd(cluster_store *cs, cs_forward *f)
{
    for (cs_forward **p = &cs->forwards; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            return;
        }
}

/* Completes f (unlinked by the caller or here) and frees it unless an RPC
 * still holds it. */
static void finish(cs_forward *f, int status, uint64_t index, const berr *e)
{
    cs_done_fn done = f->done;
    f->done = NULL;
    if (f->cs)
        unlink_fwd(f->cs, f);
    f->cs = NULL;
    if (done)
        done(f->arg, status, index, e);
    if (!f->sending) {
        json_decref(f->req);
        free(f);
    }
}

const char *cs_leader_address(cluster_store *cs)
{
    raft_id id = 0;
    const char *addr = NULL;
    raft_leader(&cs->raft, &id, &addr);
    if (id == 0 || id == cs->raft_id)
        return NULL;
    const char *known = cs_transport_peer(&cs->transport, id);
    return known ? known : addr;
}

static void send_fwd(cs_forward *f);
static int ops_from_json(json_t *arr, cs_op **out, size_t *n_out, berr *e);

static void retry_later(cs_forward *f, const char *why)
{
    cluster_store *cs = f->cs;
    uint64_t now = uv_now(cs->loop);
    if (now - f->started >= FORWARD_PATIENCE_MS) {
        berr e = {0};
        berr_set(&e, -ENOTCONN, "%s", CS_NO_LEADER_MSG);
        log_debug("cluster store: forwarded write given up: %s", why);
        finish(f, -ENOTCONN, 0, &e);
        return;
    }
    f->retry_at = now + FORWARD_RETRY_MS;
}

static void on_reply(void *arg, int status, json_t *resp, const berr *e)
{
    cs_forward *f = arg;
    f->sending = false;
    if (!f->cs) {
        /* Cancelled while the RPC was out; finish() already answered. */
        json_decref(f->req);
        free(f);
        return;
    }
    if (status == -ECONNREFUSED || status == -EHOSTUNREACH) {
        retry_later(f, e ? e->msg : "connect");
        return;
    }
    if (status < 0) {
        berr err = {0};
        berr_set(&err, -EIO, "the leader did not confirm the write (%s): it may or may not have been applied",
                 e && e->msg[0] ? e->msg : "no answer");
        finish(f, -EIO, 0, &err);
        return;
    }
    int st = (int)json_integer_value(json_object_get(resp, "status"));
    const char *msg = json_string_value(json_object_get(resp, "error"));
    if (st == -ENOTCONN && json_is_true(json_object_get(resp, "not_proposed"))) {
        retry_later(f, msg ? msg : "not leader");
        return;
    }
    if (st != 0) {
        berr err = {0};
        berr_set(&err, st, "%s", msg ? msg : "the leader refused the write");
        finish(f, st, 0, &err);
        return;
    }
    json_int_t idx = json_integer_value(json_object_get(resp, "index"));
    f->index = idx > 0 ? (uint64_t)idx : 1;
    cs_forward_poll(f->cs);
}

static void send_fwd(cs_forward *f)
{
    cluster_store *cs = f->cs;
    f->retry_at = 0;
    const char *leader = cs_leader_address(cs);
    if (!leader) {
        if (raft_state(&cs->raft) == RAFT_LEADER) {
            /* This member won the election meanwhile: the request was
             * never accepted elsewhere, so propose it here; the local
             * proposal answers the caller. */
            cs_op *ops = NULL;
            size_t n = 0;
            berr e = {0};
            int rc = ops_from_json(json_object_get(f->req, "ops"), &ops, &n, &e);
            cs_done_fn done = f->done;
            if (rc == 0) {
                rc = cs_propose_local(cs, ops, n, done, f->arg, &e);
                free(ops);
            }
            if (rc == 0)
                f->done = NULL;
            finish(f, rc, 0, &e);
            return;
        }
        retry_later(f, "no leader known");
        return;
    }
    berr e = {0};
    f->sending = true;
    if (cs_rpc_call_owned(cs->loop, cs, leader, f->req, FORWARD_TIMEOUT_MS, on_reply, f, &e) < 0) {
        f->sending = false;
        retry_later(f, e.msg);
    }
}

void cs_forward_poll(cluster_store *cs)
{
    uint64_t now = uv_now(cs->loop);
    uint64_t applied = raft_last_applied(&cs->raft);
    cs_forward *f = cs->forwards;
    while (f) {
        cs_forward *next = f->next;
        if (f->index && applied >= f->index)
            finish(f, 0, f->index, NULL);
        else if (!f->index && !f->sending && f->retry_at && now >= f->retry_at)
            send_fwd(f);
        f = next;
    }
}

void cs_forward_cancel(cluster_store *cs)
{
    cs_rpc_cancel(cs);
    berr e = {0};
    berr_set(&e, -ENOTCONN, "the cluster store is closing");
    while (cs->forwards)
        finish(cs->forwards, -ENOTCONN, 0, &e);
}

/* ---- ops as JSON -------------------------------------------------------------------- */

static json_t *ops_json(const cs_op *ops, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "kind", cs_kind_name(ops[i].kind), "id", ops[i].id, "type",
                              ops[i].type == CS_PUT ? "put" : "del", "if_version", (json_int_t)ops[i].if_version);
        if (ops[i].type == CS_PUT)
            json_object_set(o, "doc", ops[i].doc);
        json_array_append_new(arr, o);
    }
    return arr;
}

static int ops_from_json(json_t *arr, cs_op **out, size_t *n_out, berr *e)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > CS_MAX_OPS)
        return berr_set(e, -EINVAL, "node RPC: a proposal needs a list of operations");
    size_t n = json_array_size(arr);
    cs_op *ops = xcalloc(n, sizeof *ops);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *type = json_string_value(json_object_get(o, "type"));
        json_t *ver = json_object_get(o, "if_version");
        int k = -1;
        for (int j = 0; kind && j < CS_KIND_N; j++)
            if (strcmp(kind, cs_kind_name((cs_kind)j)) == 0)
                k = j;
        if (k < 0 || !id || strlen(id) >= sizeof ops[i].id || !type || !json_is_integer(ver) ||
            (strcmp(type, "put") != 0 && strcmp(type, "del") != 0)) {
            free(ops);
            return berr_set(e, -EINVAL, "node RPC: malformed operation %zu", i);
        }
        ops[i].kind = (cs_kind)k;
        ops[i].type = strcmp(type, "put") == 0 ? CS_PUT : CS_DEL;
        snprintf(ops[i].id, sizeof ops[i].id, "%s", id);
        ops[i].if_version = json_integer_value(ver);
        ops[i].doc = ops[i].type == CS_PUT ? json_object_get(o, "doc") : NULL;
        if (cs_op_validate(&ops[i], e) < 0) {
            free(ops);
            return e->code ? e->code : -EINVAL;
        }
    }
    *out = ops;
    *n_out = n;
    return 0;
}

int cs_forward_propose(cluster_store *cs, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e)
{
    for (size_t i = 0; i < n; i++)
        if (cs_op_validate(&ops[i], e) < 0)
            return e->code ? e->code : -EINVAL;
    cs_forward *f = xcalloc(1, sizeof *f);
    f->cs = cs;
    f->req = json_pack("{s:s, s:s, s:o}", "op", "propose", "cluster", cs->cluster_id, "ops", ops_json(ops, n));
    f->done = done;
    f->arg = arg;
    f->started = uv_now(cs->loop);
    f->next = cs->forwards;
    cs->forwards = f;
    /* Never answered before propose returns: a first failure waits for
     * the next poll. */
    const char *leader = cs_leader_address(cs);
    if (!leader) {
        f->retry_at = f->started + FORWARD_RETRY_MS;
        return 0;
    }
    f->sending = true;
    berr ce = {0};
    if (cs_rpc_call_owned(cs->loop, cs, leader, f->req, FORWARD_TIMEOUT_MS, on_reply, f, &ce) < 0) {
        f->sending = false;
        f->retry_at = f->started + FORWARD_RETRY_MS;
    }
    return 0;
}

/* ---- the leader's side ------------------------------------------------------------------ */

static void on_local_done(void *arg, int status, uint64_t index, const berr *e)
{
    cs_rpc_ctx *ctx = arg;
    json_t *resp = json_pack("{s:i, s:I}", "status", status, "index", (json_int_t)index);
    if (status != 0)
        json_object_set_new(resp, "error", json_string(e && e->msg[0] ? e->msg : "failed"));
    cs_rpc_reply(ctx, resp);
}

void cs_rpc_dispatch(void *arg, json_t *req, cs_rpc_ctx *ctx)
{
    cluster_store *cs = arg;
    const char *op = json_string_value(json_object_get(req, "op"));
    if (!op || strcmp(op, "propose") != 0) {
        if (cs->rpc && !cs->closing) {
            cs->rpc(cs->rpc_arg, req, ctx);
            return;
        }
        cs_rpc_reply(ctx, json_pack("{s:i, s:s}", "status", -EINVAL, "error", "node RPC: unknown request"));
        return;
    }
    /* Writes come from managers only. */
    if (cs_rpc_peer_role(ctx) != CS_PEER_MANAGER) {
        cs_rpc_reply(ctx, json_pack("{s:i, s:s}", "status", -EPERM, "error",
                                    "node RPC: only a manager's certificate may propose"));
        return;
    }
    const char *cluster = json_string_value(json_object_get(req, "cluster"));
    if (!cluster || strcmp(cluster, cs->cluster_id) != 0) {
        cs_rpc_reply(ctx, json_pack("{s:i, s:s}", "status", -EPERM, "error", "node RPC: not a member of this cluster"));
        return;
    }
    if (cs->closing || raft_state(&cs->raft) != RAFT_LEADER) {
        cs_rpc_reply(ctx, json_pack("{s:i, s:s, s:b}", "status", -ENOTCONN, "error", CS_NO_LEADER_MSG,
                                    "not_proposed", 1));
        return;
    }
    cs_op *ops = NULL;
    size_t n = 0;
    berr e = {0};
    int rc = ops_from_json(json_object_get(req, "ops"), &ops, &n, &e);
    if (rc == 0)
        rc = cs_propose_local(cs, ops, n, on_local_done, ctx, &e);
    free(ops);
    if (rc < 0) {
        json_t *resp = json_pack("{s:i, s:s}", "status", rc, "error", e.msg);
        if (rc == -ENOTCONN)
            json_object_set_new(resp, "not_proposed", json_true());
        cs_rpc_reply(ctx, resp);
    }
}
