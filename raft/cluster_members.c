/* Raft membership: adding a manager (as a spare that catches up, then a
 * voter), removing one, the members as this node sees them, and where
 * each is reached. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "raft/cluster_store_int.h"

typedef struct change {
    struct raft_change req;
    cluster_store *cs;
    raft_id id;
    bool assigning;          /* the add is done, the promotion under way */
    cs_done_fn done;
    void *arg;
} change;

static void change_finish(change *c, int status)
{
    c->cs->in_flight--;
    berr e = {0};
    int code = 0;
    if (status != 0) {
        code = (status == RAFT_NOTLEADER || status == RAFT_LEADERSHIPLOST) ? -ENOTCONN : -EIO;
        berr_set(&e, code, "raft: %s%s", raft_strerror(status),
                 status == RAFT_NOTLEADER || status == RAFT_LEADERSHIPLOST ? ": node lost leader status" : "");
    }
    if (c->done)
        c->done(c->arg, code, 0, code ? &e : NULL);
    free(c);
}

static void assign_cb(struct raft_change *req, int status)
{
    change_finish(req->data, status);
}

static void add_cb(struct raft_change *req, int status)
{
    change *c = req->data;
    cluster_store *cs = c->cs;
    if (status != 0 || cs->closing) {
        change_finish(c, status ? status : RAFT_SHUTDOWN);
        return;
    }
    /* libraft's assign to voter first replicates the log to the new member
     * in rounds until it is close enough, then commits the promotion. */
    c->assigning = true;
    int rv = raft_assign(&cs->raft, &c->req, c->id, RAFT_VOTER, assign_cb);
    if (rv != 0)
        change_finish(c, rv);
}

int cluster_store_add_voter(cluster_store *cs, uint64_t raft_id, const char *address, cs_done_fn done, void *arg,
                            berr *e)
{
    if (cs->closing || raft_state(&cs->raft) != RAFT_LEADER)
        return berr_set(e, -ENOTCONN, "raft: failed to process the request: node lost leader status");
    cluster_store_set_peer(cs, raft_id, address);
    change *c = xcalloc(1, sizeof *c);
    c->req.data = c;
    c->cs = cs;
    c->id = raft_id;
    c->done = done;
    c->arg = arg;
    int rv = raft_add(&cs->raft, &c->req, raft_id, address, add_cb);
    if (rv != 0) {
        free(c);
        return berr_set(e, rv == RAFT_CANTCHANGE ? -EBUSY : rv == RAFT_DUPLICATEID ? -EEXIST : -EIO,
                        "raft: could not add the member: %s", raft_strerror(rv));
    }
    cs->in_flight++;
    cs_tick_pace(cs); /* not alone any more: heartbeats from now on */
    return 0;
}

int cluster_store_remove_member(cluster_store *cs, uint64_t raft_id, cs_done_fn done, void *arg, berr *e)
{
    if (cs->closing || raft_state(&cs->raft) != RAFT_LEADER)
        return berr_set(e, -ENOTCONN, "raft: failed to process the request: node lost leader status");
    change *c = xcalloc(1, sizeof *c);
    c->req.data = c;
    c->cs = cs;
    c->id = raft_id;
    c->done = done;
    c->arg = arg;
    int rv = raft_remove(&cs->raft, &c->req, raft_id, assign_cb);
    if (rv != 0) {
        free(c);
        return berr_set(e, rv == RAFT_CANTCHANGE ? -EBUSY : rv == RAFT_BADID ? -ENOENT : -EIO,
                        "raft: could not remove the member: %s", raft_strerror(rv));
    }
    cs->in_flight++;
    return 0;
}

typedef struct transfer {
    struct raft_transfer req;
    cluster_store *cs;
} transfer;

static void transfer_cb(struct raft_transfer *req)
{
    transfer *t = req->data;
    t->cs->in_flight--;
    free(t);
}

int cluster_store_transfer(cluster_store *cs, berr *e)
{
    if (cs->closing || raft_state(&cs->raft) != RAFT_LEADER)
        return berr_set(e, -ENOTCONN, "raft: not the leader");
    if (cs->raft.transfer)
        return 0;
    transfer *t = xcalloc(1, sizeof *t);
    t->req.data = t;
    t->cs = cs;
    int rv = raft_transfer(&cs->raft, &t->req, 0, transfer_cb);
    if (rv != 0) {
        free(t);
        return berr_set(e, -EIO, "raft: could not transfer leadership: %s", raft_strerror(rv));
    }
    cs->in_flight++;
    return 0;
}

uint64_t cluster_store_leader(cluster_store *cs)
{
    raft_id id = 0;
    const char *addr = NULL;
    if (cs->closing)
        return 0;
    raft_leader(&cs->raft, &id, &addr);
    return id;
}

size_t cluster_store_members(cluster_store *cs, cs_member *out, size_t max)
{
    const struct raft_configuration *conf = &cs->raft.configuration;
    raft_id leader = cluster_store_leader(cs);
    bool is_leader = raft_state(&cs->raft) == RAFT_LEADER;
    size_t k = 0;
    for (unsigned i = 0; i < conf->n && k < max; i++) {
        const struct raft_server *srv = &conf->servers[i];
        cs_member m = {.raft_id = srv->id, .voter = srv->role == RAFT_VOTER, .leader = srv->id == leader};
        if (srv->id == cs->raft_id) {
            m.reachable = m.known = true;
        } else if (is_leader && cs->raft.leader_state.progress) {
            m.reachable = cs->raft.leader_state.progress[i].recent_recv;
            m.match_index = cs->raft.leader_state.progress[i].match_index;
            m.known = true;
        } else if (srv->id == leader) {
            m.reachable = m.known = true;
        }
        out[k++] = m;
    }
    return k;
}

/* ---- addresses -------------------------------------------------------------------------- */

void cluster_store_set_peer(cluster_store *cs, uint64_t raft_id, const char *address)
{
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)raft_id);
    const char *cur = json_string_value(json_object_get(cs->peers, key));
    if (raft_id == cs->raft_id || (cur && address && strcmp(cur, address) == 0))
        return;
    if (address && *address)
        json_object_set_new(cs->peers, key, json_string(address));
    else
        json_object_del(cs->peers, key);
    cs_transport_set_peer(&cs->transport, raft_id, address);
    berr e = {0};
    if (cs_identity_save(cs, &e) < 0)
        log_warn("cluster store: %s", e.msg);
}

int cluster_store_set_addresses(cluster_store *cs, const char *listen, const char *advertise, berr *e)
{
    if (listen && (!cs->listen || strcmp(listen, cs->listen) != 0)) {
        int rc = cs_transport_set_bind(&cs->transport, listen, e);
        if (rc < 0)
            return rc;
        free(cs->listen);
        cs->listen = xstrdup(listen);
    }
    if (advertise) {
        free(cs->advertise);
        cs->advertise = xstrdup(advertise);
    }
    return cs_identity_save(cs, e);
}

const char *cluster_store_advertise_address(const cluster_store *cs)
{
    return cs->advertise ? cs->advertise : cs->address;
}

uint64_t cluster_store_raft_id(const cluster_store *cs) { return cs->raft_id; }

json_t *cluster_store_peers(cluster_store *cs)
{
    json_t *o = json_deep_copy(cs->peers);
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)cs->raft_id);
    json_object_set_new(o, key, json_string(cluster_store_advertise_address(cs)));
    return o;
}

void cluster_store_on_rpc(cluster_store *cs, cs_rpc_handler fn, void *arg)
{
    cs->rpc = fn;
    cs->rpc_arg = arg;
}
