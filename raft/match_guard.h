/* A follower never tells its leader it holds more of the leader's log
 * than the leader has sent it.
 *
 * libraft 0.15 answers an AppendEntries it accepts with its own last
 * stored index, whatever the request covered.  A follower that still
 * holds entries of an older term past the request's end (a deposed
 * leader's, never committed) so reports them as matching the new
 * leader's: the leader counts that follower in the quorum of its own,
 * different, entries at those indexes and commits them without a real
 * majority.  Seen in bench/simworkers.py at 500 workers: a leader of
 * term 5 committed entry 3291 on such an answer, the next leader (term 6)
 * held another entry 3291, and the first one shut its raft down on the
 * "conflicting terms 5 and 4 for entry 3291 (commit index 3291)"; it
 * stayed without a leader for good, after applying an entry no majority
 * had.  Later libraft answers prev_log_index + n_entries, bounded by what
 * is stored; this guard does the same from outside, on the messages.
 * libraft answers an append that brings nothing new while it handles it
 * (inside raft_recv): that answer is bounded by the append's own
 * prev_log_index + n_entries.  An append that brings entries is answered
 * once they are written, which truncates any older tail first; such
 * answers, and a snapshot's, are bounded by the furthest index the
 * appends and snapshots of the term reached. */
#ifndef BERTH_RAFT_MATCH_GUARD_H
#define BERTH_RAFT_MATCH_GUARD_H

#include <raft.h>
#include <stdbool.h>

typedef struct match_guard {
    raft_term term;      /* of the latest append or snapshot received */
    raft_index reach;    /* the furthest index they cover in that term */
    bool answering;      /* libraft is handling an append (inside raft_recv) */
    raft_term answering_term;
    raft_index answering_end;  /* its prev_log_index + n_entries */
} match_guard;

/* Around libraft's handling of an incoming message: begin before, end
 * after. */
void match_guard_begin(match_guard *g, const struct raft_message *m);
void match_guard_end(match_guard *g);

/* An outgoing message: true when it is an accepting AppendEntries result
 * that claims more than its bound, then *out is m with last_log_index
 * lowered to the bound. */
bool match_guard_clamp(const match_guard *g, const struct raft_message *m, struct raft_message *out);

#endif
