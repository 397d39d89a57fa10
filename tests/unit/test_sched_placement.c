/* scheduler/placement.c and spread.c: filters, the "no suitable node"
 * explanations, spreading and preassigned (global) tasks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/placement.h"
#include "test_sched_fixtures.h"

#define NOW (T0 + 100 * SEC)

/* Runs one pass; returns the updated tasks (object ID -> doc, a new
 * reference). */
static json_t *place(json_t *nodes, json_t *tasks, json_t *services)
{
    sched_changes c;
    sched_changes_init(&c);
    berr e = {0};
    assert_int_equal(sched_place(nodes, tasks, services, NOW, &c, &e), 0);
    assert_int_equal(json_array_size(c.created), 0);
    json_t *up = json_incref(c.updated);
    sched_changes_free(&c);
    return up;
}

static json_t *pending(const json_t *svc, int n, int first)
{
    json_t *tasks = json_array();
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "t%02d", first + i);
        json_array_append_new(tasks, fx_task(id, svc, first + i, NULL, "pending", "running", T0));
    }
    return tasks;
}

static const char *err_of(json_t *up, const char *id)
{
    return sched_str(json_object_get(up, id), "Status.Err");
}

static const char *node_of(json_t *up, const char *id)
{
    return sched_str(json_object_get(up, id), "NodeID");
}

static int on_node(json_t *up, const char *node)
{
    int n = 0;
    const char *k;
    json_t *t;
    json_object_foreach(up, k, t)
        if (strcmp(sched_str(t, "NodeID"), node) == 0)
            n++;
    return n;
}

static void test_no_nodes(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *nodes = json_array(), *tasks = pending(svc, 1, 1);
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(json_object_size(up), 1);
    assert_string_equal(err_of(up, "t01"), "no suitable node");
    assert_string_equal(sched_str(json_object_get(up, "t01"), "Status.State"), "pending");
    assert_string_equal(sched_str(json_object_get(up, "t01"), "Status.Message"), "pending task scheduling");
    json_decref(up);
    json_decref(nodes);
    json_decref(tasks);
    json_decref(svc);
}

static void test_assign_and_spread(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 6}}", NULL);
    json_t *nodes = json_pack("[o,o,o]", fx_ready("n1"), fx_ready("n2"), fx_ready("n3"));
    json_t *tasks = pending(svc, 6, 1);
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(json_object_size(up), 6);
    json_t *t = json_object_get(up, "t01");
    assert_string_equal(sched_str(t, "Status.State"), "assigned");
    assert_string_equal(sched_str(t, "Status.Message"), "scheduler assigned task to node");
    assert_string_equal(sched_str(t, "Status.Timestamp"), TS(NOW));
    assert_false(sched_has(t, "Status.Err"));
    assert_int_equal(on_node(up, "n1"), 2);
    assert_int_equal(on_node(up, "n2"), 2);
    assert_int_equal(on_node(up, "n3"), 2);
    json_decref(up);

    /* n1 already runs two tasks of the service: the next two go elsewhere */
    json_decref(tasks);
    tasks = pending(svc, 2, 7);
    json_array_append_new(tasks, fx_task("r1", svc, 1, "n1", "running", "running", T0));
    json_array_append_new(tasks, fx_task("r2", svc, 2, "n1", "running", "running", T0));
    up = place(nodes, tasks, NULL);
    assert_int_equal(json_object_size(up), 2);
    assert_int_equal(on_node(up, "n1"), 0);
    assert_int_equal(on_node(up, "n2"), 1);
    assert_int_equal(on_node(up, "n3"), 1);
    json_decref(up);

    /* tasks of another service count second: fewer tasks overall wins */
    json_t *other = fx_service("svc2", "db", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_decref(tasks);
    tasks = pending(svc, 1, 9);
    json_array_append_new(tasks, fx_task("o1", other, 1, "n1", "running", "running", T0));
    json_array_append_new(tasks, fx_task("o2", other, 2, "n2", "running", "running", T0));
    up = place(nodes, tasks, NULL);
    assert_string_equal(node_of(up, "t09"), "n3");
    json_decref(up);
    json_decref(other);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_drained_node(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *nodes = json_pack("[o]", fx_node("n1", "manager", "drain", "ready", NULL));
    json_t *tasks = pending(svc, 1, 1);
    json_t *up = place(nodes, tasks, NULL);
    assert_string_equal(err_of(up, "t01"), "no suitable node (1 node not available for new tasks)");
    json_decref(up);

    /* same documents again: nothing new to write */
    json_object_set_new(json_object_get(json_array_get(tasks, 0), "Status"), "Err",
                        json_string("no suitable node (1 node not available for new tasks)"));
    up = place(nodes, tasks, NULL);
    assert_int_equal(json_object_size(up), 0);
    json_decref(up);

    /* paused and down nodes are not available either */
    json_array_append_new(nodes, fx_node("n2", "worker", "pause", "ready", NULL));
    json_array_append_new(nodes, fx_node("n3", "worker", "active", "down", NULL));
    up = place(nodes, tasks, NULL);
    assert_string_equal(err_of(up, "t01"), "no suitable node (3 nodes not available for new tasks)");
    json_decref(up);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_unsatisfiable_constraint(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 2}}",
                             ", \"Placement\": {\"Constraints\": [\"node.labels.gpu==true\"]}");
    json_t *nodes = json_pack("[o,o,o,o]", fx_ready("n1"), fx_ready("n2"), fx_ready("n3"),
                              fx_node("n4", "worker", "drain", "ready", "{\"gpu\": \"true\"}"));
    json_t *tasks = pending(svc, 2, 1);
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(json_object_size(up), 2);
    /* most failures first; readiness is checked before constraints */
    assert_string_equal(err_of(up, "t01"),
                        "no suitable node (scheduling constraints not satisfied on 3 nodes; "
                        "1 node not available for new tasks)");
    assert_string_equal(err_of(up, "t02"), err_of(up, "t01"));
    json_decref(up);

    /* the label appears on an active node: both go there */
    json_array_append_new(nodes, fx_node("n5", "worker", "active", "ready", "{\"gpu\": \"true\"}"));
    up = place(nodes, tasks, NULL);
    assert_string_equal(node_of(up, "t01"), "n5");
    assert_string_equal(node_of(up, "t02"), "n5");
    json_decref(up);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_resources(void **state)
{
    (void)state;
    /* 5 GiB each: a node of 8 GiB takes one */
    json_t *svc = fx_service("svc1", "db", "{\"Replicated\": {\"Replicas\": 3}}", NULL);
    json_object_set_new(json_object_get(sched_get(svc, "Spec.TaskTemplate"), "Resources"),
                        "Reservations", J("{\"MemoryBytes\": 5368709120, \"NanoCPUs\": 1000000000}"));
    json_t *nodes = json_pack("[o,o]", fx_ready("n1"), fx_ready("n2"));
    json_t *tasks = pending(svc, 3, 1);
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(on_node(up, "n1"), 1);
    assert_int_equal(on_node(up, "n2"), 1);
    assert_string_equal(err_of(up, "t03"), "no suitable node (insufficient resources on 2 nodes)");
    json_decref(up);

    /* a running task's reservation counts against its node */
    json_t *big = fx_service("svc2", "big", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_object_set_new(json_object_get(sched_get(big, "Spec.TaskTemplate"), "Resources"),
                        "Reservations", J("{\"NanoCPUs\": 3500000000}"));
    json_decref(tasks);
    tasks = pending(svc, 1, 1);
    json_array_append_new(tasks, fx_task("b1", big, 1, "n1", "running", "running", T0));
    up = place(nodes, tasks, NULL);
    assert_string_equal(node_of(up, "t01"), "n2");
    json_decref(up);

    char *why = sched_place_explain_node(json_array_get(nodes, 0), json_array_get(tasks, 0), tasks, NULL);
    assert_non_null(why);
    assert_string_equal(why, "insufficient resources on 1 node");
    free(why);
    why = sched_place_explain_node(json_array_get(nodes, 1), json_array_get(tasks, 0), tasks, NULL);
    assert_null(why);
    json_decref(big);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_max_replicas(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 3}}",
                             ", \"Placement\": {\"MaxReplicas\": 1}");
    json_t *nodes = json_pack("[o,o]", fx_ready("n1"), fx_ready("n2"));
    json_t *tasks = pending(svc, 3, 1);
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(on_node(up, "n1"), 1);
    assert_int_equal(on_node(up, "n2"), 1);
    assert_string_equal(err_of(up, "t03"), "no suitable node (max replicas per node limit exceed)");
    json_decref(up);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_preferences(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 4}}",
                             ", \"Placement\": {\"Preferences\": [{\"Spread\": "
                             "{\"SpreadDescriptor\": \"node.labels.zone\"}}]}");
    /* zone a has two nodes, zone b one: each zone gets half */
    json_t *nodes = json_pack("[o,o,o]", fx_node("n1", "worker", "active", "ready", "{\"zone\": \"a\"}"),
                              fx_node("n2", "worker", "active", "ready", "{\"zone\": \"a\"}"),
                              fx_node("n3", "worker", "active", "ready", "{\"zone\": \"b\"}"));
    json_t *tasks = pending(svc, 4, 1);
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(on_node(up, "n1"), 1);
    assert_int_equal(on_node(up, "n2"), 1);
    assert_int_equal(on_node(up, "n3"), 2);
    json_decref(up);

    /* a node without the label is its own branch ("") */
    json_array_append_new(nodes, fx_ready("n4"));
    json_decref(tasks);
    tasks = pending(svc, 3, 1);
    up = place(nodes, tasks, NULL);
    assert_int_equal(on_node(up, "n4"), 1);
    assert_int_equal(on_node(up, "n3"), 1);
    assert_int_equal(on_node(up, "n1") + on_node(up, "n2"), 1);
    json_decref(up);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_preassigned(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "agent", "{\"Global\": {}}", NULL);
    json_t *nodes = json_pack("[o,o]", fx_ready("n1"), fx_node("n2", "worker", "drain", "ready", NULL));
    json_t *tasks = json_pack("[o,o,o]", fx_task("g1", svc, 0, "n1", "pending", "running", T0),
                              fx_task("g2", svc, 0, "n2", "pending", "running", T0),
                              fx_task("g3", svc, 0, "gone", "pending", "running", T0));
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(json_object_size(up), 2);
    json_t *t = json_object_get(up, "g1");
    assert_string_equal(sched_str(t, "Status.State"), "assigned");
    assert_string_equal(sched_str(t, "Status.Message"), "scheduler confirmed task can run on preassigned node");
    assert_string_equal(sched_str(t, "NodeID"), "n1");
    /* no "no suitable node" around the reason for a preassigned task */
    assert_string_equal(err_of(up, "g2"), "1 node not available for new tasks");
    assert_string_equal(sched_str(json_object_get(up, "g2"), "Status.State"), "pending");
    json_decref(up);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_skipped_tasks(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *nodes = json_pack("[o]", fx_ready("n1"));
    /* not allocated yet; pending but scaled away; already running */
    json_t *tasks = json_pack("[o,o,o]", fx_task("a", svc, 1, NULL, "new", "running", T0),
                              fx_task("b", svc, 2, NULL, "pending", "remove", T0),
                              fx_task("c", svc, 3, "n1", "running", "running", T0));
    json_t *up = place(nodes, tasks, NULL);
    assert_int_equal(json_object_size(up), 0);
    json_decref(up);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_recent_failures(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *nodes = json_pack("[o,o]", fx_ready("n1"), fx_ready("n2"));
    json_t *tasks = pending(svc, 1, 1);
    /* n1 is emptier but failed the service five times in five minutes */
    json_array_append_new(tasks, fx_task("x", svc, 2, "n2", "running", "running", T0));
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "f%d", i);
        json_array_append_new(tasks, fx_task(id, svc, 1, "n1", "failed", "shutdown", NOW - 60 * SEC));
    }
    json_t *up = place(nodes, tasks, NULL);
    assert_string_equal(node_of(up, "t01"), "n2");
    json_decref(up);
    /* failures older than five minutes are forgiven */
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
        if (strcmp(sched_str(t, "Status.State"), "failed") == 0)
            fx_set_state(t, "failed", NOW - 600 * SEC);
    up = place(nodes, tasks, NULL);
    assert_string_equal(node_of(up, "t01"), "n1");
    json_decref(up);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_host_ports_and_platform(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 2}}", NULL);
    json_object_set_new(json_object_get(svc, "Spec"), "EndpointSpec",
                        J("{\"Mode\": \"vip\", \"Ports\": [{\"Protocol\": \"tcp\", \"TargetPort\": 80,"
                          " \"PublishedPort\": 8080, \"PublishMode\": \"host\"}]}"));
    json_t *services = json_pack("[O]", svc);
    json_t *nodes = json_pack("[o,o]", fx_ready("n1"), fx_ready("n2"));
    json_t *tasks = pending(svc, 1, 1);
    json_array_append_new(tasks, fx_task("r", svc, 2, "n1", "running", "running", T0));
    json_t *up = place(nodes, tasks, services);
    assert_string_equal(node_of(up, "t01"), "n2");
    json_decref(up);
    json_array_append_new(tasks, fx_task("r2", svc, 3, "n2", "running", "running", T0));
    up = place(nodes, tasks, services);
    assert_string_equal(err_of(up, "t01"), "no suitable node (host-mode port already in use on 2 nodes)");
    json_decref(up);
    json_decref(tasks);

    json_t *arm = fx_service("svc3", "armonly", "{\"Replicated\": {\"Replicas\": 1}}",
                             ", \"Placement\": {\"Platforms\": [{\"Architecture\": \"arm64\", \"OS\": \"linux\"}]}");
    tasks = pending(arm, 1, 1);
    up = place(nodes, tasks, NULL);
    assert_string_equal(err_of(up, "t01"), "no suitable node (unsupported platform on 2 nodes)");
    json_decref(up);
    json_decref(tasks);
    json_t *amd = fx_service("svc4", "amd", "{\"Replicated\": {\"Replicas\": 1}}",
                             ", \"Placement\": {\"Platforms\": [{\"Architecture\": \"amd64\", \"OS\": \"linux\"}]}");
    tasks = pending(amd, 1, 1);
    up = place(nodes, tasks, NULL);
    assert_string_equal(sched_str(json_object_get(up, "t01"), "Status.State"), "assigned");
    json_decref(up);
    json_decref(tasks);
    json_decref(amd);
    json_decref(arm);
    json_decref(nodes);
    json_decref(services);
    json_decref(svc);
}

static void test_ops(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *nodes = json_pack("[o]", fx_ready("n1"));
    json_t *tasks = pending(svc, 1, 1);
    sched_changes c;
    sched_changes_init(&c);
    assert_int_equal(sched_place(nodes, tasks, NULL, NOW, &c, NULL), 0);
    cs_op *ops;
    size_t n;
    sched_changes_ops(&c, &ops, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].type, CS_PUT);
    assert_int_equal(ops[0].kind, CS_TASK);
    assert_string_equal(ops[0].id, "t01");
    assert_int_equal(ops[0].if_version, 30); /* conditioned on the version read */
    free(ops);
    sched_changes_free(&c);
    berr e = {0};
    assert_int_equal(sched_place(nodes, svc, NULL, NOW, &c, &e), -EINVAL);
    json_decref(tasks);
    json_decref(nodes);
    json_decref(svc);
}

static void test_enforce(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 2}}",
                             ", \"Placement\": {\"Constraints\": [\"node.labels.tier==front\"]}");
    json_t *services = json_pack("[O]", svc);
    json_t *node = fx_node("n1", "worker", "active", "ready", "{\"tier\": \"front\"}");
    json_t *tasks = json_pack("[o,o,o]", fx_task("a", svc, 1, "n1", "running", "running", T0),
                              fx_task("b", svc, 2, "n1", "running", "shutdown", T0),
                              fx_task("c", svc, 3, "n2", "running", "running", T0));
    sched_changes c;
    sched_changes_init(&c);
    sched_place_enforce(node, tasks, services, NOW, &c);
    assert_true(sched_changes_empty(&c));
    /* the label is taken off the node: its task desired to run is rejected */
    json_object_set_new(json_object_get(node, "Spec"), "Labels", json_object());
    sched_place_enforce(node, tasks, services, NOW, &c);
    assert_int_equal(json_object_size(c.updated), 1);
    json_t *a = json_object_get(c.updated, "a");
    assert_string_equal(sched_str(a, "Status.State"), "rejected");
    assert_string_equal(sched_str(a, "Status.Message"), "task rejected by constraint enforcer");
    assert_string_equal(sched_str(a, "Status.Err"), "assigned node no longer meets constraints");
    sched_changes_free(&c);

    /* a paused node keeps its tasks */
    sched_changes_init(&c);
    json_object_set_new(json_object_get(node, "Spec"), "Availability", json_string("pause"));
    sched_place_enforce(node, tasks, services, NOW, &c);
    assert_true(sched_changes_empty(&c));
    sched_changes_free(&c);

    /* the node shrank: reservations beyond it are rejected, in order */
    json_t *db = fx_service("svc2", "db", "{\"Replicated\": {\"Replicas\": 2}}", NULL);
    json_object_set_new(json_object_get(sched_get(db, "Spec.TaskTemplate"), "Resources"),
                        "Reservations", J("{\"MemoryBytes\": 3221225472}"));
    json_t *dbt = json_pack("[o,o]", fx_task("d1", db, 1, "n1", "running", "running", T0),
                            fx_task("d2", db, 2, "n1", "starting", "running", T0));
    json_object_set_new(json_object_get(node, "Spec"), "Availability", json_string("active"));
    json_object_set_new(sched_get(node, "Description.Resources"), "MemoryBytes", json_integer(4294967296LL));
    sched_changes_init(&c);
    sched_place_enforce(node, dbt, NULL, NOW, &c);
    assert_int_equal(json_object_size(c.updated), 1);
    assert_non_null(json_object_get(c.updated, "d2"));
    sched_changes_free(&c);
    json_decref(dbt);
    json_decref(db);
    json_decref(tasks);
    json_decref(node);
    json_decref(services);
    json_decref(svc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_nodes),        cmocka_unit_test(test_assign_and_spread),
        cmocka_unit_test(test_drained_node),    cmocka_unit_test(test_unsatisfiable_constraint),
        cmocka_unit_test(test_resources),       cmocka_unit_test(test_max_replicas),
        cmocka_unit_test(test_preferences),     cmocka_unit_test(test_preassigned),
        cmocka_unit_test(test_skipped_tasks),   cmocka_unit_test(test_recent_failures),
        cmocka_unit_test(test_host_ports_and_platform), cmocka_unit_test(test_ops),
        cmocka_unit_test(test_enforce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
