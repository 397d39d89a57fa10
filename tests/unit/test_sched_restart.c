/* scheduler/restart.c: restart conditions, MaxAttempts within Window
 * counted from the slot's history, delays and delayed starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/restart.h"
#include "test_sched_fixtures.h"

static json_t *svc_with_policy(const char *mode, const char *policy)
{
    json_t *s = fx_service("svc1", "web", mode, NULL);
    json_object_set_new(sched_get(s, "Spec.TaskTemplate"), "RestartPolicy", J("%s", policy));
    return s;
}

/* A slot's history: n tasks created 10s apart from start, all failed
 * 5s after creation but the last one given by last_state. */
static json_t *history(const json_t *svc, int n, long long start, const char *last_state)
{
    json_t *slot = json_array();
    for (int i = 0; i < n; i++) {
        char id[8];
        snprintf(id, sizeof id, "h%d", i);
        long long created = start + i * 10 * SEC;
        bool last = i == n - 1;
        json_t *t = fx_task(id, svc, 1, "n1", last ? last_state : "failed", last ? "running" : "shutdown",
                            created + 5 * SEC);
        json_object_set_new(t, "CreatedAt", json_string(TS(created)));
        json_array_append_new(slot, t);
    }
    return slot;
}

static void test_conditions(void **state)
{
    (void)state;
    const char *why = NULL;
    json_t *s = svc_with_policy("{\"Replicated\": {\"Replicas\": 1}}", "{\"Condition\": \"none\"}");
    json_t *slot = history(s, 1, T0, "failed");
    assert_false(restart_should(s, json_array_get(slot, 0), slot, &why));
    assert_string_equal(why, "restart condition none");
    json_decref(slot);
    json_decref(s);

    s = svc_with_policy("{\"Replicated\": {\"Replicas\": 1}}", "{\"Condition\": \"on-failure\"}");
    slot = history(s, 1, T0, "complete");
    assert_false(restart_should(s, json_array_get(slot, 0), slot, &why));
    assert_string_equal(why, "task completed");
    fx_set_state(json_array_get(slot, 0), "failed", T0 + 5 * SEC);
    assert_true(restart_should(s, json_array_get(slot, 0), slot, NULL));
    json_decref(slot);
    json_decref(s);

    /* "any" restarts a completed service task... */
    s = svc_with_policy("{\"Replicated\": {\"Replicas\": 1}}", "{\"Condition\": \"any\"}");
    slot = history(s, 1, T0, "complete");
    assert_true(restart_should(s, json_array_get(slot, 0), slot, NULL));
    json_decref(slot);
    json_decref(s);
    /* ...but a completed job task is done */
    s = svc_with_policy("{\"ReplicatedJob\": {\"MaxConcurrent\": 1, \"TotalCompletions\": 1}}",
                        "{\"Condition\": \"any\"}");
    slot = history(s, 1, T0, "complete");
    assert_false(restart_should(s, json_array_get(slot, 0), slot, NULL));
    json_decref(slot);
    json_decref(s);

    /* no policy at all: "any" */
    s = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_object_del(sched_get(s, "Spec.TaskTemplate"), "RestartPolicy");
    slot = history(s, 1, T0, "failed");
    assert_true(restart_should(s, json_array_get(slot, 0), slot, NULL));
    assert_true(restart_delay_ns(sched_get(json_array_get(slot, 0), "Spec")) == 5 * SEC);
    json_decref(slot);
    json_decref(s);
}

static void test_max_attempts(void **state)
{
    (void)state;
    const char *why;
    json_t *s = svc_with_policy("{\"Replicated\": {\"Replicas\": 1}}",
                                "{\"Condition\": \"any\", \"Delay\": 0, \"MaxAttempts\": 3}");
    /* first task, then restarts 1..2: still allowed */
    for (int n = 1; n <= 3; n++) {
        json_t *slot = history(s, n, T0, "failed");
        assert_true(restart_should(s, json_array_get(slot, n - 1), slot, NULL));
        json_decref(slot);
    }
    /* the third restart failed too: that was the last attempt */
    json_t *slot = history(s, 4, T0, "failed");
    assert_false(restart_should(s, json_array_get(slot, 3), slot, &why));
    assert_string_equal(why, "max attempts reached");

    /* a spec change starts the count again */
    json_t *t3 = json_array_get(slot, 3);
    json_object_set_new(sched_get(t3, "Spec"), "ForceUpdate", json_integer(1));
    assert_true(restart_should(s, t3, slot, NULL));
    /* the slot's tasks need not include the task asked about */
    json_t *first3 = json_pack("[O,O,O]", json_array_get(slot, 0), json_array_get(slot, 1),
                               json_array_get(slot, 2));
    json_t *last = history(s, 4, T0, "failed");
    assert_false(restart_should(s, json_array_get(last, 3), first3, NULL));
    json_decref(last);
    json_decref(first3);
    json_decref(slot);
    json_decref(s);
}

static void test_window(void **state)
{
    (void)state;
    /* at most 2 restarts within 25s before the task ended */
    json_t *s = svc_with_policy("{\"Replicated\": {\"Replicas\": 1}}",
                                "{\"Condition\": \"on-failure\", \"Delay\": 1000000000, \"MaxAttempts\": 2,"
                                " \"Window\": 25000000000}");
    /* tasks created at 0, 10, 20, 30 s; the last ended at 35 s: restarts
     * at 10, 20, 30, of which 20 and 30 fall after 35 - 25 = 10 */
    json_t *slot = history(s, 4, T0, "failed");
    assert_false(restart_should(s, json_array_get(slot, 3), slot, NULL));
    /* the same history spread out: created at 0, 100, 200, 300 s */
    for (int i = 0; i < 4; i++) {
        json_t *t = json_array_get(slot, i);
        json_object_set_new(t, "CreatedAt", json_string(TS(T0 + i * 100 * SEC)));
        fx_set_state(t, "failed", T0 + i * 100 * SEC + 5 * SEC);
    }
    /* only the restart at 300 s is within (280, 305) */
    assert_true(restart_should(s, json_array_get(slot, 3), slot, NULL));
    json_decref(slot);
    json_decref(s);
}

static void test_decide(void **state)
{
    (void)state;
    json_t *s = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *node = fx_ready("n1");
    json_t *slot = history(s, 1, T0, "failed");
    json_t *t = json_array_get(slot, 0);
    restart_decision d;
    long long now = T0 + 60 * SEC;

    /* failed: 5s delay, nothing to wait for */
    restart_decide(s, t, node, slot, now, &d);
    assert_int_equal(d.verdict, RESTART_AT);
    assert_true(d.at_ns == now + 5 * SEC);
    assert_false(d.wait_old);

    /* still running on a node going away: wait for it to stop */
    fx_set_state(t, "running", T0);
    restart_decide(s, t, node, slot, now, &d);
    assert_int_equal(d.verdict, RESTART_AT);
    assert_true(d.wait_old);

    /* down node: no delay and no wait (the task did not fail, its node did) */
    json_object_set_new(json_object_get(node, "Status"), "State", json_string("down"));
    restart_decide(s, t, node, slot, now, &d);
    assert_int_equal(d.verdict, RESTART_NOW);
    json_object_set_new(json_object_get(node, "Status"), "State", json_string("ready"));

    /* drained node: no delay; down node: no wait */
    json_object_set_new(json_object_get(node, "Spec"), "Availability", json_string("drain"));
    restart_decide(s, t, node, slot, now, &d);
    assert_int_equal(d.verdict, RESTART_AT);
    assert_true(d.at_ns == now);
    assert_true(d.wait_old);
    json_object_set_new(json_object_get(node, "Status"), "State", json_string("down"));
    restart_decide(s, t, node, slot, now, &d);
    assert_int_equal(d.verdict, RESTART_NOW);

    /* Delay 0 and a dead task: at once */
    json_object_set_new(sched_get(t, "Spec.RestartPolicy"), "Delay", json_integer(0));
    fx_set_state(t, "failed", T0);
    json_t *other = fx_ready("n9");
    restart_decide(s, t, other, slot, now, &d);
    assert_int_equal(d.verdict, RESTART_NOW);
    json_decref(other);

    json_object_set_new(sched_get(t, "Spec.RestartPolicy"), "Condition", json_string("none"));
    restart_decide(s, t, NULL, slot, now, &d);
    assert_int_equal(d.verdict, RESTART_NO);
    json_decref(slot);
    json_decref(node);
    json_decref(s);
}

static void test_start_due(void **state)
{
    (void)state;
    json_t *s = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *nodes = json_pack("[o]", fx_ready("n1"));
    json_t *old = fx_task("old", s, 1, "n1", "running", "shutdown", T0);
    json_t *nt = fx_task("new", s, 1, NULL, "new", "ready", T0 + SEC);
    json_object_set_new(nt, "CreatedAt", json_string(TS(T0 + SEC)));
    json_object_set_new(nt, "Berth", J("{\"StartAt\": \"%s\", \"WaitFor\": \"old\"}", TS(T0 + 6 * SEC)));
    json_t *tasks = json_pack("[O,O]", old, nt);
    long long wake;

    assert_false(restart_start_due(nt, tasks, nodes, T0 + 2 * SEC, &wake));
    assert_true(wake == T0 + 6 * SEC);
    /* delay over, old task still running: wait up to a minute */
    assert_false(restart_start_due(nt, tasks, nodes, T0 + 7 * SEC, &wake));
    assert_true(wake == T0 + 61 * SEC);
    assert_true(restart_start_due(nt, tasks, nodes, T0 + 61 * SEC, &wake));
    /* the old task stopped */
    fx_set_state(old, "shutdown", T0 + 8 * SEC);
    assert_true(restart_start_due(nt, tasks, nodes, T0 + 8 * SEC, &wake));
    /* its node went down */
    fx_set_state(old, "running", T0);
    json_object_set_new(json_object_get(json_array_get(nodes, 0), "Status"), "State", json_string("down"));
    assert_true(restart_start_due(nt, tasks, nodes, T0 + 8 * SEC, &wake));

    restart_start(nt, T0 + 8 * SEC);
    assert_string_equal(sched_str(nt, "DesiredState"), "running");
    assert_false(sched_has(nt, "Berth.StartAt"));
    assert_false(sched_has(nt, "Berth.WaitFor"));
    assert_false(restart_start_due(nt, tasks, nodes, T0 + 9 * SEC, &wake)); /* not "ready" any more */

    /* a "ready" task another leader left behind: Delay from its status */
    json_t *orphan = fx_task("o", s, 1, NULL, "new", "ready", T0);
    assert_false(restart_start_due(orphan, tasks, nodes, T0 + 2 * SEC, &wake));
    assert_true(wake == T0 + 5 * SEC);
    assert_true(restart_start_due(orphan, tasks, nodes, T0 + 5 * SEC, &wake));
    /* a job's task goes to "complete" */
    json_object_set_new(orphan, "JobIteration", J("{\"Index\": 3}"));
    restart_start(orphan, T0 + 5 * SEC);
    assert_string_equal(sched_str(orphan, "DesiredState"), "complete");
    json_decref(orphan);
    json_decref(tasks);
    json_decref(nt);
    json_decref(old);
    json_decref(nodes);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditions), cmocka_unit_test(test_max_attempts),
        cmocka_unit_test(test_window),     cmocka_unit_test(test_decide),
        cmocka_unit_test(test_start_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
