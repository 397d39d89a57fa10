/* The dispatcher's pure parts: the leader's heartbeat deadlines
 * (node/dispatcher_health.c), a node's assignments (node/assignments.c)
 * and the worker's mirror that holds them (raft/cluster_mirror.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/assignments.h"
#include "node/dispatcher_health.h"
#include "raft/cluster_store.h"

#define W1 "w1aaaaaaaaaaaaaaaaaaaaaaa"
#define W2 "w2aaaaaaaaaaaaaaaaaaaaaaa"

static json_t *node(const char *id, const char *state)
{
    return json_pack("{s:s, s:{s:s}}", "ID", id, "Status", "State", state);
}

static void test_ready_node_goes_down_after_grace(void **state)
{
    (void)state;
    disp_health *h = health_new();
    json_t *n = node(W1, "ready");
    health_lead_start(h, 1000);
    health_seen(h, W1, 2000);
    /* Silent for exactly the grace period: still ready; one more ms: down. */
    assert_int_equal(health_judge(h, n, 5000, 3000), HEALTH_KEEP);
    assert_int_equal(health_judge(h, n, 5001, 3000), HEALTH_MARK_DOWN);
    /* A heartbeat pushes the deadline. */
    health_seen(h, W1, 4500);
    assert_int_equal(health_judge(h, n, 7000, 3000), HEALTH_KEEP);
    assert_int_equal(health_judge(h, n, 7501, 3000), HEALTH_MARK_DOWN);
    json_decref(n);
    health_free(h);
}

static void test_older_report_does_not_move_back(void **state)
{
    (void)state;
    disp_health *h = health_new();
    health_seen(h, W1, 5000);
    health_seen(h, W1, 4000);   /* another manager's older news */
    assert_int_equal(health_last_seen(h, W1), 5000);
    health_forget(h, W1);
    assert_int_equal(health_last_seen(h, W1), 0);
    health_seen(h, "", 10);     /* ignored */
    health_free(h);
}

static void test_new_leader_gives_a_grace_period(void **state)
{
    (void)state;
    disp_health *h = health_new();
    json_t *n = node(W1, "ready");
    /* Never heard of in this term (the old leader had the heartbeats):
     * not down until a whole grace period of the new term has passed. */
    health_lead_start(h, 100000);
    assert_int_equal(health_judge(h, n, 102000, 3000), HEALTH_KEEP);
    /* A follower reports a recent heartbeat meanwhile. */
    health_seen(h, W1, 102500);
    assert_int_equal(health_judge(h, n, 105000, 3000), HEALTH_KEEP);
    assert_int_equal(health_judge(h, n, 105501, 3000), HEALTH_MARK_DOWN);
    json_decref(n);
    health_free(h);
}

static void test_down_node_back_only_on_a_heartbeat(void **state)
{
    (void)state;
    disp_health *h = health_new();
    json_t *down = node(W1, "down"), *unknown = node(W2, "unknown");
    health_lead_start(h, 1000);
    /* The benefit of the doubt of a new term never revives a node. */
    assert_int_equal(health_judge(h, down, 1500, 3000), HEALTH_KEEP);
    assert_int_equal(health_judge(h, unknown, 1500, 3000), HEALTH_KEEP);
    health_seen(h, W1, 2000);
    health_seen(h, W2, 2000);
    assert_int_equal(health_judge(h, down, 2100, 3000), HEALTH_MARK_READY);
    assert_int_equal(health_judge(h, unknown, 2100, 3000), HEALTH_MARK_READY);
    /* An old heartbeat does not either. */
    assert_int_equal(health_judge(h, down, 9000, 3000), HEALTH_KEEP);
    json_decref(down);
    json_decref(unknown);
    health_free(h);
}

/* ---- assignments and the mirror ------------------------------------------------ */

static json_t *task(const char *id, const char *node_id, const char *svc, const char *secret, int version)
{
    json_t *t = json_pack("{s:s, s:s, s:s, s:{s:i}, s:{s:{s:[]}}, s:{s:s}}", "ID", id, "NodeID", node_id, "ServiceID",
                          svc, "Version", "Index", version, "Spec", "ContainerSpec", "Secrets", "Status", "State",
                          "assigned");
    if (secret)
        json_array_append_new(json_object_get(json_object_get(json_object_get(t, "Spec"), "ContainerSpec"), "Secrets"),
                              json_pack("{s:s}", "SecretID", secret));
    return t;
}

static json_t *cluster_docs(int t1_version)
{
    return json_pack("{s:[{s:s, s:{s:s}}], s:[{s:s, s:{s:i}}, {s:s, s:{s:i}}], s:[o, o, o], s:[{s:s}, {s:s}, {s:s}],"
                     " s:[{s:s, s:{s:s}}, {s:s}]}",
                     "cluster", "ID", "c1", "Berth", "RootSecret", "hush",
                     "node", "ID", W1, "Version", "Index", 3, "ID", W2, "Version", "Index", 4,
                     "task", task("t1", W1, "s1", "x1", t1_version), task("t2", W2, "s2", "x2", 6),
                     task("t3", W1, "s1", NULL, 7),
                     "service", "ID", "s1", "ID", "s2", "ID", "s3",
                     "secret", "ID", "x1", "Spec", "Name", "mine", "ID", "x2");
}

static void test_assignments_hold_only_what_the_tasks_need(void **state)
{
    (void)state;
    cluster_store *full = NULL, *mirror = NULL;
    berr e = {0};
    assert_int_equal(cluster_mirror_new("m0aaaaaaaaaaaaaaaaaaaaaaa", "c1", &full, &e), 0);
    json_t *docs = cluster_docs(5);
    assert_int_equal(cluster_mirror_load(full, docs, &e), 0);
    json_decref(docs);

    char v1[ASSIGNMENTS_VERSION_LEN + 1], v2[ASSIGNMENTS_VERSION_LEN + 1];
    json_t *a = assignments_for(full, W1, v1);
    assert_int_equal(strlen(v1), ASSIGNMENTS_VERSION_LEN);
    /* root secret and join tokens stay on managers */
    assert_int_equal(json_array_size(json_object_get(a, "cluster")), 0);
    assert_int_equal(json_array_size(json_object_get(a, "node")), 1);
    assert_int_equal(json_array_size(json_object_get(a, "task")), 2);
    assert_int_equal(json_array_size(json_object_get(a, "service")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(a, "service"), 0), "ID")),
                        "s1");
    assert_int_equal(json_array_size(json_object_get(a, "secret")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(a, "secret"), 0), "ID")),
                        "x1");

    /* The worker's copy answers reads like the store. */
    assert_int_equal(cluster_mirror_new(W1, "c1", &mirror, &e), 0);
    assert_int_equal(cluster_mirror_load(mirror, a, &e), 0);
    json_t *mine = cs_list_where(mirror, CS_TASK, "$.NodeID", W1);
    assert_int_equal(json_array_size(mine), 2);
    json_decref(mine);
    json_t *doc = NULL;
    assert_int_equal(cs_get(mirror, CS_SECRET, "x1", &doc, NULL), 0);
    json_decref(doc);
    assert_int_equal(cs_get(mirror, CS_SECRET, "x2", &doc, NULL), -ENOENT);
    /* ... and takes no writes. */
    cs_op op = {.type = CS_PUT, .kind = CS_TASK, .id = "t1", .doc = json_array_get(json_object_get(a, "task"), 0),
                .if_version = -1};
    assert_int_equal(cluster_store_propose(mirror, &op, 1, NULL, NULL, &e), -EPERM);
    json_decref(a);

    /* Same documents, same version; a changed task, another one; another
     * node's change, none. */
    json_decref(assignments_for(full, W1, v2));
    assert_string_equal(v1, v2);
    docs = cluster_docs(9);
    assert_int_equal(cluster_mirror_load(full, docs, &e), 0);
    json_decref(docs);
    json_decref(assignments_for(full, W1, v2));
    assert_string_not_equal(v1, v2);
    char w2a[ASSIGNMENTS_VERSION_LEN + 1], w2b[ASSIGNMENTS_VERSION_LEN + 1];
    json_decref(assignments_for(full, W2, w2a));
    docs = cluster_docs(11);
    assert_int_equal(cluster_mirror_load(full, docs, &e), 0);
    json_decref(docs);
    json_decref(assignments_for(full, W2, w2b));
    assert_string_equal(w2a, w2b);

    cluster_mirror_free(mirror);
    cluster_mirror_free(full);
}

static json_t *on_net(json_t *task, const char *net, const char *state)
{
    json_object_set_new(task, "NetworksAttachments",
                        json_pack("[{s:{s:s}, s:[s]}]", "Network", "ID", net, "Addresses", "10.0.1.5/24"));
    json_object_set_new(json_object_get(task, "Status"), "State", json_string(state));
    return task;
}

/* An overlay network comes with its peers: the other nodes' tasks on it,
 * their services and nodes, but not their secrets; tasks on other
 * networks and finished ones stay out.  A routing mesh brings every node. */
static void test_assignments_carry_overlay_peers(void **state)
{
    (void)state;
    cluster_store *full = NULL;
    berr e = {0};
    assert_int_equal(cluster_mirror_new("m0aaaaaaaaaaaaaaaaaaaaaaa", "c1", &full, &e), 0);
    json_t *docs = json_pack(
        "{s:[{s:s, s:{s:i}, s:i, s:{s:s}}], s:[{s:s}, {s:s}, {s:s}, {s:s}], s:[o, o, o, o],"
        " s:[{s:s}, {s:s}, {s:s}, {s:s}], s:[{s:s}, {s:s}], s:[{s:s}, {s:s}]}",
        "cluster", "ID", "c1", "Version", "Index", 2, "DataPathPort", 4790, "Berth", "RootSecret", "hush",
        "node", "ID", W1, "ID", W2, "ID", "w3aaaaaaaaaaaaaaaaaaaaaaa", "ID", "w4aaaaaaaaaaaaaaaaaaaaaaa",
        "task", on_net(task("t1", W1, "s1", "x1", 5), "n1", "running"),
        on_net(task("t2", W2, "s2", "x2", 6), "n1", "running"),
        on_net(task("t3", "w3aaaaaaaaaaaaaaaaaaaaaaa", "s3", NULL, 7), "n2", "running"),
        on_net(task("t4", "w4aaaaaaaaaaaaaaaaaaaaaaa", "s2", NULL, 8), "n1", "shutdown"),
        "service", "ID", "s1", "ID", "s2", "ID", "s3", "ID", "s4",
        "secret", "ID", "x1", "ID", "x2", "network", "ID", "n1", "ID", "n2");
    assert_int_equal(cluster_mirror_load(full, docs, &e), 0);
    json_decref(docs);
    char v[ASSIGNMENTS_VERSION_LEN + 1];
    json_t *a = assignments_for(full, W1, v);
    assert_int_equal(json_array_size(json_object_get(a, "task")), 2);   /* t1, and t2 its peer */
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(a, "task"), 1), "ID")), "t2");
    assert_int_equal(json_array_size(json_object_get(a, "service")), 2);
    assert_int_equal(json_array_size(json_object_get(a, "node")), 2);
    assert_int_equal(json_array_size(json_object_get(a, "network")), 1);
    assert_int_equal(json_array_size(json_object_get(a, "secret")), 1);   /* x1 only */
    json_t *c = json_array_get(json_object_get(a, "cluster"), 0);
    assert_int_equal(json_integer_value(json_object_get(c, "DataPathPort")), 4790);
    assert_null(json_object_get(c, "Berth"));
    json_decref(a);

    /* A service publishing through the routing mesh: every node takes part. */
    docs = json_pack("{s:[{s:s, s:{s:i}}], s:[{s:s}, {s:s}, {s:s}], s:[o, o], s:[{s:s, s:{s:[{s:i}]}}, {s:s}],"
                     " s:[{s:s, s:{s:b}}, {s:s}]}",
                     "cluster", "ID", "c1", "Version", "Index", 2, "node", "ID", W1, "ID", W2, "ID",
                     "w3aaaaaaaaaaaaaaaaaaaaaaa", "task", on_net(task("t1", W1, "s2", NULL, 5), "n1", "running"),
                     on_net(task("t2", W2, "s1", NULL, 6), "ing", "running"), "service", "ID", "s1", "Endpoint",
                     "Ports", "PublishedPort", 8080, "ID", "s2", "network", "ID", "ing", "Spec", "Ingress", 1, "ID",
                     "n1");
    assert_int_equal(cluster_mirror_load(full, docs, &e), 0);
    json_decref(docs);
    a = assignments_for(full, W1, v);
    assert_int_equal(json_array_size(json_object_get(a, "node")), 3);
    assert_int_equal(json_array_size(json_object_get(a, "network")), 2);
    assert_int_equal(json_array_size(json_object_get(a, "task")), 2);
    assert_int_equal(json_array_size(json_object_get(a, "service")), 2);
    json_decref(a);
    cluster_mirror_free(full);
}

static int resyncs;
static void count_resync(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)arg;
    (void)ops;
    resyncs += index == 0 && n == 0;
}

static void test_mirror_load_tells_watchers(void **state)
{
    (void)state;
    cluster_store *m = NULL;
    berr e = {0};
    assert_int_equal(cluster_mirror_new(W1, "c1", &m, &e), 0);
    cluster_store_watch(m, count_resync, NULL);
    resyncs = 0;
    json_t *docs = json_pack("{s:[{s:s}, {s:s}], s:[{s:s}]}", "task", "ID", "a", "ID", "a", "service", "ID", "s");
    assert_int_equal(cluster_mirror_load(m, docs, &e), 0);
    json_decref(docs);
    assert_int_equal(resyncs, 1);
    json_t *l = cs_list(m, CS_TASK);
    assert_int_equal(json_array_size(l), 1);   /* a duplicate ID keeps the first */
    json_decref(l);
    /* A load replaces: what is not sent again is gone. */
    docs = json_pack("{s:[]}", "task");
    assert_int_equal(cluster_mirror_load(m, docs, &e), 0);
    json_decref(docs);
    l = cs_list(m, CS_SERVICE);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    assert_int_equal(resyncs, 2);
    cluster_mirror_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_node_goes_down_after_grace),
        cmocka_unit_test(test_older_report_does_not_move_back),
        cmocka_unit_test(test_new_leader_gives_a_grace_period),
        cmocka_unit_test(test_down_node_back_only_on_a_heartbeat),
        cmocka_unit_test(test_assignments_hold_only_what_the_tasks_need),
        cmocka_unit_test(test_assignments_carry_overlay_peers),
        cmocka_unit_test(test_mirror_load_tells_watchers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
