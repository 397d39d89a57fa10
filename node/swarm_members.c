/* The leader's upkeep of the managers, level-triggered every 200 ms while
 * the raft configuration has other members (and once after every store
 * change, which is what a promotion or a join is, when it has not):
 *   - ManagerStatus.Reachability and Status.State of every manager follow
 *     what raft sees of it (a manager not heard from within an election
 *     timeout is Unreachable, and Down once silent for the grace period);
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
#define MEMBERS_TICK_MS 200

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

/* The grace period after which a silent node is Down: SwarmKit's three
 * heartbeat periods of the cluster's dispatcher spec (5 s by default). */
static uint64_t down_grace_ms(swarm *s, cluster_store *cs)
{
    json_t *cluster = NULL;
    uint64_t period_ms = 5000;
    if (cs_get(cs, CS_CLUSTER, s->cluster_id, &cluster, NULL) == 0) {
        json_t *hb = json_object_get(json_object_get(json_object_get(cluster, "Spec"), "Dispatcher"), "HeartbeatPeriod");
        if (json_is_integer(hb) && json_integer_value(hb) > 0)
            period_ms = (uint64_t)json_integer_value(hb) / 1000000u;
        json_decref(cluster);
    }
    return 3 * period_ms;
}

/* How long raft has not heard from the member (0 when it has): the time
 * it was first seen silent is kept until it is heard again. */
static uint64_t silent_for(swarm *s, const cs_member *mm)
{
    size_t n = sizeof s->unheard / sizeof *s->unheard, free_slot = n;
    uint64_t now = uv_now(s->reach_timer.loop);
    for (size_t i = 0; i < n; i++) {
        if (s->unheard[i].raft_id == mm->raft_id) {
            if (mm->reachable) {
                s->unheard[i].raft_id = 0;
                return 0;
            }
            return now - s->unheard[i].since;
        }
        if (!s->unheard[i].raft_id && free_slot == n)
            free_slot = i;
    }
    if (!mm->reachable && free_slot < n)
        s->unheard[free_slot].raft_id = mm->raft_id, s->unheard[free_slot].since = now;
    return 0;
}

static bool reconcile_reach(swarm *s, cluster_store *cs, json_t *n, const cs_member *m, size_t nm)
{
    json_t *ms = json_object_get(n, "ManagerStatus");
    const cs_member *mm = member(m, nm, strtoull(str(json_object_get(n, "Berth"), "RaftID"), NULL, 10));
    /* A demoted manager waiting for its removal is a worker already: its
     * heartbeats come through a dispatcher (node/dispatcher.c). */
    if (!json_is_object(ms) || !mm || !mm->known || strcmp(str(json_object_get(n, "Spec"), "Role"), "manager") != 0)
        return false;
    /* Unreachable as soon as raft misses it (MANAGER STATUS says what raft
     * sees), but Down, which moves its tasks, only past the grace period:
     * a manager that stalls for a moment (a loaded host) keeps them. */
    uint64_t silent = silent_for(s, mm);
    const char *want = mm->reachable ? "reachable" : "unreachable";
    const char *now_state = str(json_object_get(n, "Status"), "State");
    const char *state = mm->reachable ? "ready" : silent >= down_grace_ms(s, cs) ? "down" : now_state;
    if (strcmp(str(ms, "Reachability"), want) == 0 && strcmp(str(json_object_get(n, "Status"), "State"), state) == 0)
        return false;
    json_t *doc = json_deep_copy(n);
    json_object_set_new(json_object_get(doc, "ManagerStatus"), "Reachability", json_string(want));
    json_t *st = json_object_get(doc, "Status");
    if (json_is_object(st)) {
        json_object_set_new(st, "State", json_string(state));
        if (strcmp(state, "down"))
            json_object_del(st, "Message");
        else
            json_object_set_new(st, "Message", json_string("heartbeat failure"));
    }
    return put(s, cs, n, doc);
}

/* Alone in the configuration and in the store's nodes, with nothing
 * started, there is nothing to follow until the store changes: the timer
 * stops (an idle daemon sleeps) and swarm_members_kick() starts it again. */
void swarm_members_tick(uv_timer_t *t)
{
    swarm *s = t->data;
    cluster_store *cs = swarm_store(s);
    if (!cs || s->closing) {
        uv_timer_stop(t);
        return;
    }
    /* A follower watches for its own demotion (node/swarm_worker.c); once
     * it is a worker it has no store here and the timer stops. */
    if (cluster_store_leader(cs) != cluster_store_raft_id(cs)) {
        swarm_check_demoted(s, cs);
        cs = swarm_store(s);
        if (!cs || s->closing) {
            uv_timer_stop(t);
            return;
        }
    }
    cs_member m[MAX_MEMBERS];
    size_t nm = cluster_store_members(cs, m, MAX_MEMBERS);
    if (s->reach_proposing || cluster_store_leader(cs) != cluster_store_raft_id(cs)) {
        if (nm <= 1 && !s->reach_proposing && !s->demoted_at)
            uv_timer_stop(t);
        return;
    }
    json_t *nodes = cs_list(cs, CS_NODE);
    size_t i;
    json_t *n;
    bool started = false;
    json_array_foreach(nodes, i, n) {
        if (reconcile_role(s, cs, n, m, nm) || reconcile_reach(s, cs, n, m, nm)) {
            started = true;
            break;
        }
    }
    /* Other nodes in the store: a join or a promotion is under way (its
     * raft membership may come after its document), keep the pace. */
    bool others = json_array_size(nodes) > 1;
    json_decref(nodes);
    if (!started && nm <= 1 && !others)
        uv_timer_stop(t);
}

void swarm_members_kick(swarm *s)
{
    if (!s->closing && !uv_is_active((uv_handle_t *)&s->reach_timer))
        uv_timer_start(&s->reach_timer, swarm_members_tick, 0, MEMBERS_TICK_MS);
}
