/* raft/match_guard.c: a follower's accepting answers never claim more of
 * the leader's log than the append they answer (or, for answers given
 * after a write, the appends and snapshots of the leader's term) reached,
 * whatever the follower holds from older terms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "raft/match_guard.h"

static struct raft_message append(raft_term term, raft_index prev, unsigned n)
{
    struct raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_APPEND_ENTRIES;
    m.append_entries.term = term;
    m.append_entries.prev_log_index = prev;
    m.append_entries.n_entries = n;
    return m;
}

static struct raft_message result(raft_term term, raft_index rejected, raft_index last)
{
    struct raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_APPEND_ENTRIES_RESULT;
    m.append_entries_result.term = term;
    m.append_entries_result.rejected = rejected;
    m.append_entries_result.last_log_index = last;
    return m;
}

/* libraft answering inside raft_recv: begin, the answer, end. */
static bool answer_in_recv(match_guard *g, struct raft_message in, struct raft_message res, raft_index *claimed)
{
    struct raft_message out;
    match_guard_begin(g, &in);
    bool changed = match_guard_clamp(g, &res, &out);
    match_guard_end(g);
    *claimed = changed ? out.append_entries_result.last_log_index : res.append_entries_result.last_log_index;
    return changed;
}

/* The bench's case: the follower holds 3291 and 3292 of term 4; the leader
 * of term 5 sends a heartbeat after 3290 and must not hear "3292". */
static void test_stale_entries_not_claimed(void **state)
{
    (void)state;
    match_guard g = {0};
    raft_index claimed;
    assert_true(answer_in_recv(&g, append(5, 3290, 0), result(5, 0, 3292), &claimed));
    assert_int_equal(claimed, 3290);
    /* The entries then sent are written, and answered after the write. */
    struct raft_message in = append(5, 3290, 2), res = result(5, 0, 3292), out;
    match_guard_begin(&g, &in);
    match_guard_end(&g);
    assert_false(match_guard_clamp(&g, &res, &out));
    /* A heartbeat answered at once is bounded by its own end, the rest of
     * the message kept. */
    assert_true(answer_in_recv(&g, append(5, 3291, 0), result(5, 0, 3292), &claimed));
    assert_int_equal(claimed, 3291);
    res = result(5, 0, 3300);
    assert_true(match_guard_clamp(&g, &res, &out));
    assert_int_equal(out.type, RAFT_IO_APPEND_ENTRIES_RESULT);
    assert_int_equal(out.append_entries_result.term, 5);
    assert_int_equal(out.append_entries_result.last_log_index, 3292);
}

static void test_rejections_and_other_terms_untouched(void **state)
{
    (void)state;
    match_guard g = {0};
    raft_index claimed;
    /* A rejection's hint is the follower's to give. */
    assert_false(answer_in_recv(&g, append(7, 100, 0), result(7, 101, 150), &claimed));
    assert_int_equal(claimed, 150);
    /* A term the guard knows nothing of. */
    struct raft_message res = result(8, 0, 150), out;
    assert_false(match_guard_clamp(&g, &res, &out));
    /* An append with entries that is refused for its prev_log_index does
     * not let later answers claim its range... */
    struct raft_message in = append(7, 300, 5);
    match_guard_begin(&g, &in);
    match_guard_end(&g);
    /* ...but it was an append that writes: later answers of the term may
     * reach it (written entries truncate any stale tail first). */
    res = result(7, 0, 305);
    assert_false(match_guard_clamp(&g, &res, &out));
    /* A new term starts from its own appends. */
    assert_true(answer_in_recv(&g, append(9, 50, 0), result(9, 0, 305), &claimed));
    assert_int_equal(claimed, 50);
    res = result(9, 0, 305);
    assert_false(match_guard_clamp(&g, &res, &out));   /* nothing written in term 9 yet: no bound known */
    /* Other messages pass. */
    in = append(9, 50, 1);
    assert_false(match_guard_clamp(&g, &in, &out));
}

static void test_snapshot_reaches_its_last_index(void **state)
{
    (void)state;
    match_guard g = {0};
    struct raft_message m, out;
    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_INSTALL_SNAPSHOT;
    m.install_snapshot.term = 3;
    m.install_snapshot.last_index = 2480;
    match_guard_begin(&g, &m);
    match_guard_end(&g);
    m = result(3, 0, 2480);
    assert_false(match_guard_clamp(&g, &m, &out));
    m = result(3, 0, 2500);
    assert_true(match_guard_clamp(&g, &m, &out));
    assert_int_equal(out.append_entries_result.last_log_index, 2480);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_entries_not_claimed),
        cmocka_unit_test(test_rejections_and_other_terms_untouched),
        cmocka_unit_test(test_snapshot_reaches_its_last_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
