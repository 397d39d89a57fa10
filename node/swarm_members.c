/* The leader's upkeep of the managers, level-triggered every 200 ms:
 *   - ManagerStatus.Reachability and Status.State of every manager follow
 *     what raft sees of it (a manager not heard from within an election
 *     timeout is Unreachable and Down);
 *   - raft membership follows the node documents' Spec.Role: a node
 *     demoted to worker is removed from the raft configuration (and turns
 *     into a worker, node/swarm_worker.c), a leader that was demoted hands
 *     leadership over first; a worker promoted to manager joins raft by
 *     itself, as a joining manager does (node/swarm_join.c).
 * One change at a time: libraft takes one membership change at a time, and
 * each document write waits for the previous one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "node/swarm_int.h"

#define MAX_MEMBERS 16

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)) ?: ""; }

static int64_t version_of(json_t *doc)
{
    return json_integer_value(json_object_get(json_object_get(doc, "Version"), "Index"));
}

static void on_done(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    swarm *s = arg;
    if (status < 0 && e)
        log_debug("swarm: manager upkeep: %s", e->msg);
    s->reach_proposing = false;
}

static bool put(swarm *s, cluster_store *cs, json_t *cur, json_t *doc)
{
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    json_object_set_new(doc, "UpdatedAt", json_string(now));
    cs_op op = {.type = CS_PUT, .kind = CS_NODE, .doc = doc, .if_version = version_of(cur)};
    snprintf(op.id, sizeof op.id, "%s", str(cur, "ID"));
    berr e = {0};
    bool ok = cluster_store_propose(cs, &op, 1, on_done, s, &e) == 0;
    if (ok)
        s->reach_proposing = true;
    json_decref(doc);
    return ok;
}

static const cs_member *member(const cs_member *m, size_t n, uint64_t id)
{
    for (size_t k = 0; k < n; k++)
        if (m[k].raft_id == id)
            return &m[k];
    return NULL;
}

/* A removal from raft finished: the document follows (a worker's, with
 * no ManagerStatus and no raft ID). */
typedef struct role_change {
    swarm *s;
    char node[26];
} role_change;

static void on_membership(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    role_change *c = arg;
    swarm *s = c->s;
    cluster_store *cs = s->closing ? NULL : swarm_store(s);
    s->reach_proposing = false;
    json_t *cur = NULL;
    if (status < 0)
        log_warn("swarm: membership change of %s: %s", c->node, e ? e->msg : "failed");
    if (status == 0 && cs && cs_get(cs, CS_NODE, c->node, &cur, NULL) == 0) {
        json_t *doc = json_deep_copy(cur);
        json_t *berth = json_object_get(doc, "Berth");
        /* A worker now (node/swarm_worker.c): a promotion joins it to raft
         * anew, with a raft ID of its own then. */
        json_object_del(doc, "ManagerStatus");
        if (json_is_object(berth)) {
            json_object_del(berth, "RaftID");
            json_object_del(berth, "RaftAddr");
        }
        put(s, cs, cur, doc);
        log_info("swarm: node %s left the raft cluster", c->node);
    }
    json_decref(cur);
    free(c);
}

/* Membership follows roles; returns true when it started something. */
static bool reconcile_role(swarm *s, cluster_store *cs, json_t *n, const cs_member *m, size_t nm)
{
    const char *rid = str(json_object_get(n, "Berth"), "RaftID");
    uint64_t id = strtoull(rid, NULL, 10);
    if (!id)
        return false;
    const cs_member *mm = member(m, nm, id);
    bool manager = strcmp(str(json_object_get(n, "Spec"), "Role"), "manager") == 0;
    berr e = {0};
    if (!manager && mm) {
        if (id == cluster_store_raft_id(cs)) {
            /* The leader itself was demoted: another manager takes over
             * and removes it. */
            if (cluster_store_transfer(cs, &e) < 0)
                log_warn("swarm: %s", e.msg);
            return true;
        }
        /* Once removed, the node hears nothing more: it must first have the
         * entry that made it a worker, and a heartbeat telling it that
         * entry is committed (one tick later), so it knows it is one. */
        if (mm->match_index < (uint64_t)version_of(n))
            return false;
        if (strcmp(s->demote_seen, str(n, "ID")) != 0) {
            snprintf(s->demote_seen, sizeof s->demote_seen, "%s", str(n, "ID"));
            return false;
        }
        s->demote_seen[0] = 0;
        role_change *c = xcalloc(1, sizeof *c);
        c->s = s;
        snprintf(c->node, sizeof c->node, "%s", str(n, "ID"));
        if (cluster_store_remove_member(cs, id, on_membership, c, &e) < 0) {
            free(c);
            return false;
        }
        s->reach_proposing = true;
        return true;
    }
    /* A promoted node is added by its own join (swarm_join.c), as any
     * manager: it was a worker, with no raft state. */
    return false;
}

static bool reconcile_reach(swarm *s, cluster_store *cs, json_t *n, const cs_member *m, size_t nm)
{
    json_t *ms = json_object_get(n, "ManagerStatus");
    const cs_member *mm = member(m, nm, strtoull(str(json_object_get(n, "Berth"), "RaftID"), NULL, 10));
    /* A demoted manager waiting for its removal is a worker already: its
     * heartbeats come through a dispatcher (node/dispatcher.c). */
    if (!json_is_object(ms) || !mm || !mm->known || strcmp(str(json_object_get(n, "Spec"), "Role"), "manager") != 0)
        return false;
    const char *want = mm->reachable ? "reachable" : "unreachable";
    const char *state = mm->reachable ? "ready" : "down";
    if (strcmp(str(ms, "Reachability"), want) == 0 && strcmp(str(json_object_get(n, "Status"), "State"), state) == 0)
        return false;
    json_t *doc = json_deep_copy(n);
    json_object_set_new(json_object_get(doc, "ManagerStatus"), "Reachability", json_string(want));
    json_t *st = json_object_get(doc, "Status");
    if (json_is_object(st)) {
        json_object_set_new(st, "State", json_string(state));
        if (mm->reachable)
            json_object_del(st, "Message");
        else
            json_object_set_new(st, "Message", json_string("heartbeat failure"));
    }
    return put(s, cs, n, doc);
}

void swarm_members_tick(uv_timer_t *t)
{
    swarm *s = t->data;
    cluster_store *cs = swarm_store(s);
    if (cs && !s->closing && cluster_store_leader(cs) != cluster_store_raft_id(cs))
        swarm_check_demoted(s, cs);
    cs = swarm_store(s);
    if (!cs || s->closing || s->reach_proposing || cluster_store_leader(cs) != cluster_store_raft_id(cs))
        return;
    cs_member m[MAX_MEMBERS];
    size_t nm = cluster_store_members(cs, m, MAX_MEMBERS);
    json_t *nodes = cs_list(cs, CS_NODE);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        if (reconcile_role(s, cs, n, m, nm) || reconcile_reach(s, cs, n, m, nm))
            break;
    }
    json_decref(nodes);
}
