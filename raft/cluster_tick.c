/* The pace of raft's tick.
 *
 * raft_uv ticks raft every heartbeat timeout (50 ms) for as long as it
 * runs, and the store polled leadership at the same rate: an idle daemon
 * woke 20-25 times a second even when it was no swarm at all (its store is
 * then a cluster of one).  A lone leader, the only server in its raft
 * configuration, has nobody to send heartbeats to and nobody whose
 * silence would start an election, so its tick has nothing to do; the
 * tick is taken over here and slowed down to once a second for such a
 * member, and back to every heartbeat timeout the moment anyone else is in
 * the configuration or this member is not the leader (which is re-checked
 * after every tick, every message received and every membership change
 * made here).  raft measures its timeouts with io->time(), not by
 * counting ticks, so a slower tick does not change what a tick decides.
 *
 * raft_uv's own tick timer is left running, with a one-hour period, so
 * that nothing of raft_uv changes but the interval.
 *
 * The messages raft receives and sends pass here too, for the match
 * guard (raft/match_guard.h). */
#include <limits.h>
#include <stddef.h>

#include "raft/cluster_store_int.h"

/* A lone leader's tick: nothing is expected of it, but should something be
 * missed (a message that arrives while the configuration is one server),
 * it is seen within a second. */
#define CS_LONE_TICK_MS 1000
#define CS_INNER_TICK_MS (3600u * 1000u)

static cluster_store *of_io(struct raft_io *io)
{
    return (cluster_store *)((char *)io - offsetof(cluster_store, io));
}

static bool lone_leader(cluster_store *cs)
{
    return raft_state(&cs->raft) == RAFT_LEADER && cs->raft.configuration.n == 1;
}

static void on_tick(uv_timer_t *t)
{
    cluster_store *cs = t->data;
    if (cs->raft_tick)
        cs->raft_tick(&cs->io);
    cs_poll_leader(cs);
    cs_tick_pace(cs);
}

void cs_tick_pace(cluster_store *cs)
{
    if (cs->closing || !cs->raft_tick)
        return;
    uint64_t want = lone_leader(cs) ? CS_LONE_TICK_MS : cs->raft.heartbeat_timeout;
    uv_timer_t *t = &cs->timer;
    if (uv_is_active((uv_handle_t *)t) && uv_timer_get_repeat(t) == want)
        return;
    uv_timer_start(t, on_tick, want, want);
}

static void inner_tick(struct raft_io *io)
{
    (void)io; /* the store's timer ticks raft (on_tick) */
}

static void on_recv(struct raft_io *io, struct raft_message *msg)
{
    cluster_store *cs = of_io(io);
    match_guard_begin(&cs->guard, msg);
    cs->raft_recv(io, msg);
    match_guard_end(&cs->guard);
    /* A message can depose a lone leader or bring news of other servers. */
    cs_tick_pace(cs);
}

static int paced_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv)
{
    (void)msecs; /* raft's heartbeat timeout, read back from cs->raft */
    cluster_store *cs = of_io(io);
    cs->raft_tick = tick;
    cs->raft_recv = recv;
    return cs->io_start(io, CS_INNER_TICK_MS, inner_tick, on_recv);
}

/* Every message raft sends passes here: see raft/match_guard.h.  raft_uv
 * encodes the message before send returns, so a changed copy on the
 * stack does. */
static int guarded_send(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m, raft_io_send_cb cb)
{
    cluster_store *cs = of_io(io);
    struct raft_message bounded;
    if (match_guard_clamp(&cs->guard, m, &bounded))
        return cs->io_send(io, req, &bounded, cb);
    return cs->io_send(io, req, m, cb);
}

void cs_tick_wrap(cluster_store *cs)
{
    cs->io_start = cs->io.start;
    cs->io.start = paced_start;
    cs->io_send = cs->io.send;
    cs->io.send = guarded_send;
}
