/* See raft/match_guard.h for the libraft behaviour this bounds. */
#include "raft/match_guard.h"

static void reach(match_guard *g, raft_term term, raft_index index)
{
    if (term > g->term) {
        g->term = term;
        g->reach = index;
    } else if (term == g->term && index > g->reach) {
        g->reach = index;
    }
    /* An older term's message is refused by libraft: it confirms nothing. */
}

void match_guard_begin(match_guard *g, const struct raft_message *m)
{
    g->answering = false;
    if (m->type == RAFT_IO_APPEND_ENTRIES) {
        const struct raft_append_entries *a = &m->append_entries;
        g->answering = true;
        g->answering_term = a->term;
        g->answering_end = a->prev_log_index + a->n_entries;
        /* Only appends that write count for later answers: one rejected
         * for a prev_log_index the follower lacks must not raise them. */
        if (a->n_entries)
            reach(g, a->term, g->answering_end);
    } else if (m->type == RAFT_IO_INSTALL_SNAPSHOT) {
        reach(g, m->install_snapshot.term, m->install_snapshot.last_index);
    }
}

void match_guard_end(match_guard *g) { g->answering = false; }

bool match_guard_clamp(const match_guard *g, const struct raft_message *m, struct raft_message *out)
{
    if (m->type != RAFT_IO_APPEND_ENTRIES_RESULT)
        return false;
    const struct raft_append_entries_result *r = &m->append_entries_result;
    /* A rejection's index is a hint for where to go back to: left alone. */
    if (r->rejected)
        return false;
    raft_index bound;
    if (g->answering && r->term == g->answering_term)
        bound = g->answering_end;   /* the answer to the append in hand */
    else if (r->term == g->term)
        bound = g->reach;
    else
        return false;
    if (r->last_log_index <= bound)
        return false;
    *out = *m;
    out->append_entries_result.last_log_index = bound;
    return true;
}
