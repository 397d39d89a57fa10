/* scheduler/orchestrator.c, orch_jobs.c, orch_history.c: sizing services
 * of every mode, restarts, delayed starts and task history, driven the
 * way the leader drives them: decide, apply, let "agents" move tasks,
 * decide again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/orchestrator.h"
#include "scheduler/placement.h"
#include "scheduler/update.h"
#include "test_sched_fixtures.h"

typedef struct env {
    json_t *svc, *tasks, *nodes;
    fx_ids ids;
    long long now;
    sched_changes last;
} env;

static void env_init(env *v, json_t *svc, json_t *nodes)
{
    memset(v, 0, sizeof *v);
    v->svc = svc;
    v->nodes = nodes;
    v->tasks = json_array();
    v->now = T0;
    sched_changes_init(&v->last);
}

static void env_free(env *v)
{
    json_decref(v->svc);
    json_decref(v->tasks);
    json_decref(v->nodes);
    sched_changes_free(&v->last);
}

/* One orch_reconcile, applied; v->last keeps what it decided. */
static void run(env *v)
{
    orch_opts o = {.now_ns = v->now, .new_id = fx_new_id, .id_arg = &v->ids,
                   .history_limit = ORCH_DEFAULT_HISTORY};
    sched_changes_free(&v->last);
    sched_changes_init(&v->last);
    berr e = {0};
    assert_int_equal(orch_reconcile(v->svc, v->tasks, v->nodes, &o, &v->last, &e), 0);
    json_t *svc = fx_apply(v->tasks, &v->last, v->svc);
    json_decref(v->svc);
    v->svc = svc;
}

/* What the scheduler and the agents would do: tasks desired to run get a
 * node (if they have none) and run; tasks desired down stop. */
static void converge(env *v, const char *node)
{
    size_t i;
    json_t *t;
    json_array_foreach(v->tasks, i, t) {
        int ds = sched_task_desired(t), st = sched_task_state(t);
        if ((ds == SCHED_ST_RUNNING || ds == SCHED_ST_COMPLETE) && st < SCHED_ST_RUNNING) {
            if (!*sched_str(t, "NodeID"))
                json_object_set_new(t, "NodeID", json_string(node));
            fx_set_state(t, "running", v->now);
        } else if (ds > SCHED_ST_COMPLETE && st >= SCHED_ST_ASSIGNED && st <= SCHED_ST_RUNNING) {
            fx_set_state(t, "shutdown", v->now);
        }
    }
}

static void set_replicas(env *v, int n)
{
    json_object_set_new(sched_get(v->svc, "Spec.Mode.Replicated"), "Replicas", json_integer(n));
}

static json_t *task_in_slot(env *v, long long slot, const char *desired)
{
    size_t i;
    json_t *t;
    json_array_foreach(v->tasks, i, t)
        if (sched_int(t, "Slot", 0) == slot && strcmp(sched_str(t, "DesiredState"), desired) == 0)
            return t;
    return NULL;
}

static void test_new_tasks(void **state)
{
    (void)state;
    env v;
    env_init(&v, fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 3}}", NULL),
             json_pack("[o]", fx_ready("n1")));
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 3);
    json_t *t = json_array_get(v.tasks, 0);
    assert_string_equal(sched_str(t, "ID"), "tsk0001");
    assert_int_equal(sched_int(t, "Slot", 0), 1);
    assert_int_equal(sched_int(json_array_get(v.tasks, 2), "Slot", 0), 3);
    assert_string_equal(sched_str(t, "ServiceID"), "svc1");
    assert_string_equal(sched_str(t, "DesiredState"), "running");
    assert_string_equal(sched_str(t, "Status.State"), "new");
    assert_string_equal(sched_str(t, "Status.Message"), "created");
    assert_string_equal(sched_str(t, "Status.Timestamp"), TS(T0));
    assert_string_equal(sched_str(t, "CreatedAt"), TS(T0));
    assert_true(json_equal(sched_get(t, "Spec"), sched_get(v.svc, "Spec.TaskTemplate")));
    assert_true(json_is_object(json_object_get(t, "Labels")));
    assert_false(sched_has(t, "NodeID"));
    assert_true(json_equal(sched_get(t, "Berth.EndpointSpec"), sched_get(v.svc, "Spec.EndpointSpec")));

    /* level-triggered: nothing more to do */
    run(&v);
    assert_true(sched_changes_empty(&v.last));
    converge(&v, "n1");
    run(&v);
    assert_true(sched_changes_empty(&v.last));

    cs_op *ops;
    size_t n;
    set_replicas(&v, 4);
    run(&v);
    sched_changes_ops(&v.last, &ops, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].kind, CS_TASK);
    assert_int_equal(ops[0].if_version, 0); /* created: must not exist yet */
    free(ops);
    env_free(&v);
}

static void test_scale_3_10_2(void **state)
{
    (void)state;
    env v;
    env_init(&v, fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 3}}", NULL),
             json_pack("[o]", fx_ready("n1")));
    run(&v);
    converge(&v, "n1");
    set_replicas(&v, 10);
    v.now += SEC;
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 7);
    for (int s = 1; s <= 10; s++)
        assert_non_null(task_in_slot(&v, s, "running"));
    converge(&v, "n1");

    set_replicas(&v, 2);
    v.now += SEC;
    run(&v);
    assert_int_equal(json_object_size(v.last.updated), 8);
    assert_int_equal(fx_count(v.tasks, "remove", "running"), 8);
    for (int s = 1; s <= 2; s++)
        assert_non_null(task_in_slot(&v, s, "running"));
    for (int s = 3; s <= 10; s++)
        assert_non_null(task_in_slot(&v, s, "remove"));
    /* the removed tasks stay until their agents stopped them */
    run(&v);
    assert_true(sched_changes_empty(&v.last));
    converge(&v, "n1");
    run(&v);
    assert_int_equal(json_array_size(v.last.deleted), 8);
    assert_int_equal(json_array_size(v.tasks), 2);
    assert_non_null(task_in_slot(&v, 1, "running"));
    assert_non_null(task_in_slot(&v, 2, "running"));

    /* scaling up again reuses the free slots from 3 */
    set_replicas(&v, 3);
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 1);
    assert_int_equal(sched_int(json_array_get(v.last.created, 0), "Slot", 0), 3);
    env_free(&v);
}

static void test_scale_down_choice(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 2}}", NULL);
    env v;
    env_init(&v, svc, json_pack("[o,o]", fx_ready("n1"), fx_ready("n2")));
    /* n1 runs slots 1-3, n2 slot 4: keep one per node, lowest slots */
    json_array_append_new(v.tasks, fx_task("a", svc, 1, "n1", "running", "running", T0));
    json_array_append_new(v.tasks, fx_task("b", svc, 2, "n1", "running", "running", T0));
    json_array_append_new(v.tasks, fx_task("c", svc, 3, "n1", "running", "running", T0));
    json_array_append_new(v.tasks, fx_task("d", svc, 4, "n2", "running", "running", T0));
    run(&v);
    assert_string_equal(sched_str(fx_find(v.tasks, "a"), "DesiredState"), "running");
    assert_string_equal(sched_str(fx_find(v.tasks, "b"), "DesiredState"), "remove");
    assert_string_equal(sched_str(fx_find(v.tasks, "c"), "DesiredState"), "remove");
    assert_string_equal(sched_str(fx_find(v.tasks, "d"), "DesiredState"), "running");
    json_decref(v.tasks);

    /* a task that is not running goes before running ones */
    v.tasks = json_array();
    set_replicas(&v, 2);
    json_array_append_new(v.tasks, fx_task("a", v.svc, 1, "n1", "running", "running", T0));
    json_array_append_new(v.tasks, fx_task("b", v.svc, 2, NULL, "pending", "running", T0));
    json_array_append_new(v.tasks, fx_task("c", v.svc, 3, "n2", "running", "running", T0));
    run(&v);
    /* never assigned: removed, and deleted at once by the reaper */
    assert_string_equal(sched_str(json_object_get(v.last.updated, "b"), "DesiredState"), "");
    assert_int_equal(json_array_size(v.last.deleted), 1);
    assert_string_equal(json_string_value(json_array_get(v.last.deleted, 0)), "b");
    assert_null(fx_find(v.tasks, "b"));
    assert_string_equal(sched_str(fx_find(v.tasks, "c"), "DesiredState"), "running");
    env_free(&v);
}

static void test_global(void **state)
{
    (void)state;
    env v;
    env_init(&v, fx_service("svc1", "agent", "{\"Global\": {}}", NULL), json_pack("[o]", fx_ready("n1")));
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 1);
    json_t *t = json_array_get(v.tasks, 0);
    assert_string_equal(sched_str(t, "NodeID"), "n1");
    assert_false(sched_has(t, "Slot"));
    char *name = orch_task_name("agent", t);
    assert_string_equal(name, "agent.n1.tsk0001");
    free(name);
    run(&v);
    assert_true(sched_changes_empty(&v.last));
    converge(&v, "n1");

    /* drained, paused and down nodes get nothing; a new ready node does */
    json_array_append_new(v.nodes, fx_node("n2", "worker", "drain", "ready", NULL));
    json_array_append_new(v.nodes, fx_node("n3", "worker", "pause", "ready", NULL));
    json_array_append_new(v.nodes, fx_node("n4", "worker", "active", "down", NULL));
    run(&v);
    assert_true(sched_changes_empty(&v.last));
    json_array_append_new(v.nodes, fx_ready("n5"));
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 1);
    assert_string_equal(sched_str(json_array_get(v.last.created, 0), "NodeID"), "n5");

    /* draining n1 shuts its task down; no replacement elsewhere */
    json_object_set_new(json_object_get(json_array_get(v.nodes, 0), "Spec"), "Availability", json_string("drain"));
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 0);
    assert_string_equal(sched_str(fx_find(v.tasks, "tsk0001"), "DesiredState"), "shutdown");

    /* a constraint the node stops meeting shuts its task down too */
    json_t *c = J("{\"Constraints\": [\"node.labels.agent==yes\"]}");
    json_object_set_new(sched_get(v.svc, "Spec.TaskTemplate"), "Placement", c);
    run(&v);
    assert_string_equal(sched_str(fx_find(v.tasks, "tsk0002"), "DesiredState"), "shutdown");
    env_free(&v);
}

static void test_node_down_restart(void **state)
{
    (void)state;
    env v;
    env_init(&v, fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL),
             json_pack("[o,o]", fx_ready("n1"), fx_ready("n2")));
    run(&v);
    converge(&v, "n1");
    json_object_set_new(json_object_get(json_array_get(v.nodes, 0), "Status"), "State", json_string("down"));
    v.now += 10 * SEC;
    run(&v);
    json_t *old = fx_find(v.tasks, "tsk0001");
    assert_string_equal(sched_str(old, "DesiredState"), "shutdown");
    assert_int_equal(json_array_size(v.last.created), 1);
    json_t *nt = json_array_get(v.last.created, 0);
    assert_int_equal(sched_int(nt, "Slot", 0), 1);
    assert_false(sched_has(nt, "NodeID"));
    /* Its node died, the task did not fail: no restart delay, and its
     * node is down: nothing to wait for. */
    assert_string_equal(sched_str(nt, "DesiredState"), "running");
    assert_false(sched_has(nt, "Berth.StartAt"));
    assert_false(sched_has(nt, "Berth.WaitFor"));
    env_free(&v);
}

static void test_restart_history(void **state)
{
    (void)state;
    env v;
    env_init(&v, fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL),
             json_pack("[o]", fx_ready("n1")));
    run(&v);
    converge(&v, "n1");
    /* the container keeps crashing: each failure is replaced after 5s */
    for (int i = 0; i < 8; i++) {
        json_t *cur = task_in_slot(&v, 1, "running");
        assert_non_null(cur);
        v.now += 20 * SEC;
        fx_set_state(cur, "failed", v.now);
        run(&v);
        assert_int_equal(json_array_size(v.last.created), 1);
        v.now += 5 * SEC;
        run(&v);
        converge(&v, "n1");
    }
    /* TaskHistoryRetentionLimit 5: the slot keeps the 5 newest */
    assert_int_equal(json_array_size(v.tasks), 5);
    assert_int_equal(fx_count(v.tasks, "running", "running"), 1);
    assert_int_equal(fx_count(v.tasks, "shutdown", "failed"), 4);
    env_free(&v);

    /* MaxAttempts 2: two restarts, then the slot keeps its failed task */
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_object_set_new(sched_get(svc, "Spec.TaskTemplate"), "RestartPolicy",
                        J("{\"Condition\": \"on-failure\", \"Delay\": 0, \"MaxAttempts\": 2}"));
    env_init(&v, svc, json_pack("[o]", fx_ready("n1")));
    run(&v);
    converge(&v, "n1");
    int created = 0;
    for (int i = 0; i < 4; i++) {
        json_t *cur = task_in_slot(&v, 1, "running");
        if (!cur)
            break;
        v.now += 20 * SEC;
        fx_set_state(cur, "failed", v.now);
        run(&v);
        created += (int)json_array_size(v.last.created);
        converge(&v, "n1");
    }
    assert_int_equal(created, 2);
    assert_int_equal(json_array_size(v.tasks), 3);
    run(&v);
    assert_true(sched_changes_empty(&v.last)); /* the failed slot is not refilled */
    env_free(&v);
}

static void test_replicated_job(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "batch", "{\"ReplicatedJob\": {\"MaxConcurrent\": 2, \"TotalCompletions\": 5}}",
                             NULL);
    json_object_set_new(svc, "JobStatus", J("{\"JobIteration\": {\"Index\": 0}, \"LastExecution\": \"%s\"}", TS(T0)));
    env v;
    env_init(&v, svc, json_pack("[o]", fx_ready("n1")));
    int done = 0;
    int batches[] = {2, 2, 1, 0};
    for (int round = 0; round < 4; round++) {
        run(&v);
        assert_int_equal(json_array_size(v.last.created), batches[round]);
        size_t i;
        json_t *t;
        json_array_foreach(v.last.created, i, t) {
            assert_string_equal(sched_str(t, "DesiredState"), "complete");
            assert_int_equal(sched_int(t, "JobIteration.Index", -1), 0);
        }
        converge(&v, "n1");
        json_array_foreach(v.tasks, i, t)
            if (strcmp(sched_str(t, "Status.State"), "running") == 0) {
                fx_set_state(t, "complete", v.now);
                done++;
            }
        v.now += SEC;
    }
    assert_int_equal(done, 5);
    /* slots 0..4, one completed task each */
    for (int s = 0; s < 5; s++)
        assert_non_null(task_in_slot(&v, s, "complete"));

    /* a failed task is restarted (no delay: Delay 0) in its slot */
    json_object_set_new(sched_get(v.svc, "Spec.TaskTemplate.RestartPolicy"), "Delay", json_integer(0));
    json_object_set_new(sched_get(v.svc, "JobStatus.JobIteration"), "Index", json_integer(1));
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 2); /* the new iteration starts */
    converge(&v, "n1");
    char id[32];
    snprintf(id, sizeof id, "%s", sched_str(json_array_get(v.last.created, 0), "ID"));
    v.now += SEC;
    fx_set_state(fx_find(v.tasks, id), "failed", v.now);
    run(&v);
    json_t *t = fx_find(v.tasks, id);
    assert_string_equal(sched_str(t, "DesiredState"), "shutdown");
    assert_int_equal(json_array_size(v.last.created), 1);
    json_t *r = json_array_get(v.last.created, 0);
    assert_int_equal(sched_int(r, "Slot", 0), sched_int(t, "Slot", 0));
    assert_string_equal(sched_str(r, "DesiredState"), "complete");
    assert_int_equal(sched_int(r, "JobIteration.Index", -1), 1);
    env_free(&v);
}

static void test_job_iteration_removes_old(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "batch", "{\"ReplicatedJob\": {\"MaxConcurrent\": 1, \"TotalCompletions\": 1}}",
                             NULL);
    json_object_set_new(svc, "JobStatus", J("{\"JobIteration\": {\"Index\": 4}}"));
    env v;
    env_init(&v, svc, json_pack("[o]", fx_ready("n1")));
    json_t *old = fx_task("old", svc, 0, "n1", "running", "complete", T0);
    json_object_set_new(old, "JobIteration", J("{\"Index\": 3}"));
    json_array_append_new(v.tasks, old);
    run(&v);
    assert_string_equal(sched_str(fx_find(v.tasks, "old"), "DesiredState"), "remove");
    assert_int_equal(json_array_size(v.last.created), 1);
    env_free(&v);
}

static void test_global_job(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "prep", "{\"GlobalJob\": {}}", NULL);
    json_object_set_new(svc, "JobStatus", J("{\"JobIteration\": {\"Index\": 0}}"));
    env v;
    env_init(&v, svc, json_pack("[o,o,o,o]", fx_ready("n1"), fx_node("n2", "worker", "drain", "ready", NULL),
                                fx_node("n3", "worker", "pause", "ready", NULL), fx_ready("n4")));
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 2);
    assert_string_equal(sched_str(json_array_get(v.last.created, 0), "NodeID"), "n1");
    assert_string_equal(sched_str(json_array_get(v.last.created, 1), "NodeID"), "n4");
    assert_string_equal(sched_str(json_array_get(v.last.created, 0), "DesiredState"), "complete");
    size_t i;
    json_t *t;
    json_array_foreach(v.tasks, i, t)
        fx_set_state(t, "complete", v.now);
    run(&v);
    assert_true(sched_changes_empty(&v.last));
    env_free(&v);
}

static void test_task_dirty(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_t *node = fx_node("n1", "worker", "active", "ready", "{\"zone\": \"a\"}");
    orch_opts o = {.now_ns = T0, .new_id = fx_new_id, .id_arg = &(fx_ids){0}};
    json_t *t = orch_new_task(svc, 1, NULL, &o);
    assert_false(orch_task_dirty(svc, t, node));
    /* placement only, still met by the node: not dirty */
    json_object_set_new(sched_get(svc, "Spec.TaskTemplate"), "Placement",
                        J("{\"Constraints\": [\"node.labels.zone==a\"]}"));
    assert_false(orch_task_dirty(svc, t, node));
    json_object_set_new(sched_get(svc, "Spec.TaskTemplate"), "Placement",
                        J("{\"Constraints\": [\"node.labels.zone==b\"]}"));
    assert_true(orch_task_dirty(svc, t, node));
    json_object_set_new(sched_get(svc, "Spec.TaskTemplate"), "Placement", json_object());
    assert_false(orch_task_dirty(svc, t, node));
    /* docker service update --force */
    json_object_set_new(sched_get(svc, "Spec.TaskTemplate"), "ForceUpdate", json_integer(1));
    assert_true(orch_task_dirty(svc, t, node));
    json_object_set_new(sched_get(svc, "Spec.TaskTemplate"), "ForceUpdate", json_integer(0));
    /* published ports changed */
    json_object_set_new(json_object_get(svc, "Spec"), "EndpointSpec",
                        J("{\"Mode\": \"vip\", \"Ports\": [{\"TargetPort\": 80, \"PublishedPort\": 8080}]}"));
    assert_true(orch_task_dirty(svc, t, node));
    json_decref(t);
    json_decref(node);
    json_decref(svc);
}

static void test_removed_and_reaped(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 2}}", NULL);
    json_t *tasks = json_pack("[o,o,o]", fx_task("a", svc, 1, "n1", "running", "running", T0),
                              fx_task("b", svc, 2, NULL, "pending", "running", T0),
                              fx_task("c", svc, 1, "n1", "failed", "shutdown", T0));
    orch_opts o = {.now_ns = T0 + SEC};
    sched_changes c;
    sched_changes_init(&c);
    orch_service_removed(tasks, &o, &c);
    assert_int_equal(json_object_size(c.updated), 3);
    json_t *svc2 = fx_apply(tasks, &c, svc);
    sched_changes_free(&c);
    assert_int_equal(fx_count(tasks, "remove", NULL), 3);
    sched_changes_init(&c);
    orch_reap(tasks, &c);
    /* b never ran, c ended; a still runs until its agent stops it */
    assert_int_equal(json_array_size(c.deleted), 2);
    sched_changes_free(&c);
    fx_set_state(fx_find(tasks, "a"), "shutdown", T0 + 2 * SEC);
    sched_changes_init(&c);
    orch_reap(tasks, &c);
    assert_int_equal(json_array_size(c.deleted), 3);
    sched_changes_free(&c);
    json_decref(svc2);
    json_decref(tasks);
    json_decref(svc);
}

static void test_naming_and_modes(void **state)
{
    (void)state;
    json_t *t = J("{\"ID\": \"x8f3\", \"Slot\": 2, \"NodeID\": \"n1\"}");
    char *n = orch_task_name("web", t);
    assert_string_equal(n, "web.2.x8f3");
    free(n);
    json_decref(t);
    t = J("{\"ID\": \"x\", \"Status\": {\"State\": \"new\"}, \"DesiredState\": \"running\"}");
    assert_true(orch_task_pending(t, T0));
    assert_string_equal(sched_str(t, "Status.State"), "pending");
    assert_string_equal(sched_str(t, "Status.Message"), "pending task scheduling");
    assert_false(orch_task_pending(t, T0));
    json_decref(t);
    json_t *s = J("{\"ID\": \"s\", \"Spec\": {\"Mode\": {}}}");
    assert_int_equal(orch_service_mode(s), ORCH_REPLICATED);
    assert_int_equal(orch_replicas(s), 1);
    json_decref(s);
    s = J("{\"ID\": \"s\", \"Spec\": {\"Mode\": {\"ReplicatedJob\": {\"MaxConcurrent\": 3}}}}");
    long long total, maxc;
    orch_job_counts(s, &total, &maxc);
    assert_int_equal(total, 3);
    assert_int_equal(maxc, 3);
    json_decref(s);
    s = J("{\"ID\": \"s\", \"Spec\": {\"Mode\": {\"Sharded\": {}}}}");
    sched_changes c;
    sched_changes_init(&c);
    orch_opts o = {.now_ns = T0};
    json_t *empty = json_array();
    berr e = {0};
    assert_int_equal(orch_reconcile(s, empty, empty, &o, &c, &e), -EINVAL);
    assert_string_equal(e.msg, "Unrecognized service mode");
    sched_changes_free(&c);
    json_decref(empty);
    json_decref(s);
}

/* The leader's whole loop: orchestrate, allocate, schedule, agents run. */
static void pipeline(env *v)
{
    run(v);
    size_t i;
    json_t *t;
    json_array_foreach(v->tasks, i, t)
        orch_task_pending(t, v->now);
    sched_changes c;
    sched_changes_init(&c);
    assert_int_equal(sched_place(v->nodes, v->tasks, NULL, v->now, &c, NULL), 0);
    json_t *svc = fx_apply(v->tasks, &c, v->svc);
    json_decref(svc);
    sched_changes_free(&c);
    json_array_foreach(v->tasks, i, t) {
        int ds = sched_task_desired(t), st = sched_task_state(t);
        if (ds == SCHED_ST_RUNNING && st == SCHED_ST_ASSIGNED)
            fx_set_state(t, "running", v->now);
        else if (ds > SCHED_ST_RUNNING && st >= SCHED_ST_ASSIGNED && st <= SCHED_ST_RUNNING)
            fx_set_state(t, "shutdown", v->now);
    }
}

static int running_on(env *v, const char *node)
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(v->tasks, i, t)
        if (strcmp(sched_str(t, "NodeID"), node) == 0 && strcmp(sched_str(t, "Status.State"), "running") == 0)
            n++;
    return n;
}

static void test_with_scheduler(void **state)
{
    (void)state;
    env v;
    env_init(&v, fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 3}}", NULL),
             json_pack("[o,o]", fx_ready("n1"), fx_ready("n2")));
    pipeline(&v);
    assert_int_equal(running_on(&v, "n1"), 2);
    assert_int_equal(running_on(&v, "n2"), 1);

    /* docker node update --availability drain n1: its two tasks move */
    json_object_set_new(json_object_get(json_array_get(v.nodes, 0), "Spec"), "Availability", json_string("drain"));
    v.now += SEC;
    pipeline(&v); /* restarts (no delay on a drained node), waiting for the old ones */
    v.now += SEC;
    pipeline(&v); /* the old ones stopped: the new ones start */
    v.now += SEC;
    pipeline(&v);
    assert_int_equal(running_on(&v, "n1"), 0);
    assert_int_equal(running_on(&v, "n2"), 3);
    for (int s = 1; s <= 3; s++)
        assert_non_null(task_in_slot(&v, s, "running"));
    env_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_tasks),         cmocka_unit_test(test_scale_3_10_2),
        cmocka_unit_test(test_scale_down_choice), cmocka_unit_test(test_global),
        cmocka_unit_test(test_node_down_restart), cmocka_unit_test(test_restart_history),
        cmocka_unit_test(test_replicated_job),    cmocka_unit_test(test_job_iteration_removes_old),
        cmocka_unit_test(test_global_job),        cmocka_unit_test(test_task_dirty),
        cmocka_unit_test(test_removed_and_reaped), cmocka_unit_test(test_naming_and_modes),
        cmocka_unit_test(test_with_scheduler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
