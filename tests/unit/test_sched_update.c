/* scheduler/update.c: rolling updates through orch_reconcile, as the
 * leader runs them: batches of Parallelism, stop-first and start-first,
 * Delay, the monitoring period, failure ratios, pause and rollback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/orchestrator.h"
#include "scheduler/update.h"
#include "test_sched_fixtures.h"

typedef struct env {
    json_t *svc, *tasks, *nodes;
    fx_ids ids;
    long long now;
    update_state *us;
    sched_changes last;
} env;

static void env_init(env *v, const char *update_config, int replicas)
{
    memset(v, 0, sizeof *v);
    char mode[64];
    snprintf(mode, sizeof mode, "{\"Replicated\": {\"Replicas\": %d}}", replicas);
    v->svc = fx_service("svc1", "web", mode, NULL);
    if (update_config)
        json_object_set_new(json_object_get(v->svc, "Spec"), "UpdateConfig", J("%s", update_config));
    v->nodes = json_pack("[o,o]", fx_ready("n1"), fx_ready("n2"));
    v->tasks = json_array();
    v->now = T0;
    v->us = update_state_new();
    sched_changes_init(&v->last);
}

static void env_free(env *v)
{
    json_decref(v->svc);
    json_decref(v->tasks);
    json_decref(v->nodes);
    update_state_free(v->us);
    sched_changes_free(&v->last);
}

static void run(env *v)
{
    orch_opts o = {.now_ns = v->now, .new_id = fx_new_id, .id_arg = &v->ids,
                   .history_limit = ORCH_DEFAULT_HISTORY, .updates = v->us};
    sched_changes_free(&v->last);
    sched_changes_init(&v->last);
    berr e = {0};
    assert_int_equal(orch_reconcile(v->svc, v->tasks, v->nodes, &o, &v->last, &e), 0);
    json_t *svc = fx_apply(v->tasks, &v->last, v->svc);
    json_decref(v->svc);
    v->svc = svc;
}

/* Scheduler and agents: new tasks desired to run land on n1/n2 in turn
 * and run; tasks desired down stop. */
static void converge(env *v)
{
    size_t i;
    json_t *t;
    int k = 0;
    json_array_foreach(v->tasks, i, t) {
        int ds = sched_task_desired(t), st = sched_task_state(t);
        if (ds == SCHED_ST_RUNNING && st < SCHED_ST_RUNNING) {
            if (!*sched_str(t, "NodeID"))
                json_object_set_new(t, "NodeID", json_string(k++ % 2 ? "n2" : "n1"));
            fx_set_state(t, "running", v->now);
        } else if (ds > SCHED_ST_RUNNING && st >= SCHED_ST_ASSIGNED && st <= SCHED_ST_RUNNING) {
            fx_set_state(t, "shutdown", v->now);
        }
    }
}

static void new_image(env *v, const char *image)
{
    json_t *spec = json_deep_copy(json_object_get(v->svc, "Spec"));
    json_object_set_new(sched_get(spec, "TaskTemplate.ContainerSpec"), "Image", json_string(image));
    json_t *svc = update_service_apply_spec(v->svc, spec, v->now);
    json_decref(spec);
    json_decref(v->svc);
    v->svc = svc;
}

static int with_image(env *v, const char *image, const char *desired)
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(v->tasks, i, t)
        if (strcmp(sched_str(t, "Spec.ContainerSpec.Image"), image) == 0 &&
            strcmp(sched_str(t, "DesiredState"), desired) == 0)
            n++;
    return n;
}

/* Brings the service up to n running tasks of busybox:latest. */
static void steady(env *v)
{
    run(v);
    converge(v);
    run(v);
    assert_true(sched_changes_empty(&v->last));
    v->now += 60 * SEC;
}

static void test_config_defaults(void **state)
{
    (void)state;
    json_t *s = J("{\"ID\": \"s\", \"Spec\": {}}");
    update_config c;
    update_config_read(s, false, &c);
    assert_int_equal(c.parallelism, 1);
    assert_string_equal(c.failure_action, "pause");
    assert_true(c.monitor_ns == 5 * SEC);
    assert_false(c.start_first);
    json_decref(s);
    s = J("{\"ID\": \"s\", \"Spec\": {\"UpdateConfig\": {\"Parallelism\": 0, \"Order\": \"start-first\","
          " \"FailureAction\": \"rollback\", \"MaxFailureRatio\": 0.25, \"Delay\": 2000000000}}}");
    update_config_read(s, false, &c);
    assert_int_equal(c.parallelism, 0);
    assert_true(c.start_first);
    assert_string_equal(c.failure_action, "rollback");
    assert_true(c.max_failure_ratio == 0.25);
    assert_true(c.delay_ns == 2 * SEC);
    update_config_read(s, true, &c); /* no RollbackConfig: defaults */
    assert_int_equal(c.parallelism, 1);
    json_decref(s);
}

static void test_stop_first_parallelism_2(void **state)
{
    (void)state;
    env v;
    env_init(&v, "{\"Parallelism\": 2, \"FailureAction\": \"pause\", \"Monitor\": 5000000000,"
                 " \"MaxFailureRatio\": 0, \"Order\": \"stop-first\"}", 4);
    steady(&v);
    new_image(&v, "busybox:1.36");
    assert_non_null(sched_get(v.svc, "PreviousSpec"));

    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "updating");
    assert_string_equal(sched_str(v.svc, "UpdateStatus.Message"), "update in progress");
    assert_string_equal(sched_str(v.svc, "UpdateStatus.StartedAt"), TS(v.now));
    /* first batch: slots 1 and 2, old tasks stopped first */
    assert_int_equal(json_array_size(v.last.created), 2);
    json_t *n1 = json_array_get(v.tasks, 4), *n2 = json_array_get(v.tasks, 5);
    assert_int_equal(sched_int(n1, "Slot", 0), 1);
    assert_int_equal(sched_int(n2, "Slot", 0), 2);
    assert_string_equal(sched_str(n1, "DesiredState"), "ready");
    assert_string_equal(sched_str(n1, "Berth.WaitFor"), "tsk0001");
    assert_int_equal(with_image(&v, "busybox:latest", "shutdown"), 2);
    assert_int_equal(with_image(&v, "busybox:latest", "running"), 2);

    /* nothing more while the batch is in flight */
    run(&v);
    assert_true(sched_changes_empty(&v.last));
    /* the old tasks stopped: the new ones may start */
    v.now += SEC;
    converge(&v);
    run(&v);
    assert_int_equal(with_image(&v, "busybox:1.36", "running"), 2);
    assert_int_equal(json_array_size(v.last.created), 0);
    /* they run: the next batch goes */
    v.now += SEC;
    converge(&v);
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 2);
    assert_int_equal(sched_int(json_array_get(v.last.created, 0), "Slot", 0), 3);
    assert_int_equal(sched_int(json_array_get(v.last.created, 1), "Slot", 0), 4);
    v.now += SEC;
    converge(&v);
    run(&v);
    v.now += SEC;
    converge(&v);
    run(&v);
    assert_int_equal(with_image(&v, "busybox:1.36", "running"), 4);
    /* everything is new: one more monitoring period before "completed" */
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "updating");
    assert_true(v.last.wake_ns == v.now + 5 * SEC);
    v.now += 5 * SEC;
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "completed");
    assert_string_equal(sched_str(v.svc, "UpdateStatus.Message"), "update completed");
    assert_string_equal(sched_str(v.svc, "UpdateStatus.CompletedAt"), TS(v.now));
    run(&v);
    assert_true(sched_changes_empty(&v.last));
    env_free(&v);
}

static void test_start_first(void **state)
{
    (void)state;
    env v;
    env_init(&v, "{\"Parallelism\": 2, \"Delay\": 10000000000, \"FailureAction\": \"pause\","
                 " \"Monitor\": 5000000000, \"Order\": \"start-first\"}", 3);
    steady(&v);
    new_image(&v, "busybox:1.36");
    run(&v);
    /* new tasks start at once, next to the old ones */
    assert_int_equal(json_array_size(v.last.created), 2);
    assert_string_equal(sched_str(json_array_get(v.last.created, 0), "DesiredState"), "running");
    assert_int_equal(with_image(&v, "busybox:latest", "running"), 3);
    v.now += SEC;
    converge(&v);
    run(&v);
    /* the new ones run: the old ones of those slots go */
    assert_int_equal(with_image(&v, "busybox:latest", "shutdown"), 2);
    assert_int_equal(with_image(&v, "busybox:latest", "running"), 1);
    /* workers rest Delay (10s) before slot 3 */
    assert_int_equal(json_array_size(v.last.created), 0);
    assert_true(v.last.wake_ns == v.now + 10 * SEC);
    v.now += 10 * SEC;
    converge(&v);
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 1);
    assert_int_equal(sched_int(json_array_get(v.last.created, 0), "Slot", 0), 3);
    v.now += SEC;
    converge(&v);
    run(&v);
    assert_int_equal(with_image(&v, "busybox:latest", "running"), 0);
    /* Delay >= Monitor: monitor Delay + 1s after the last worker's rest */
    assert_true(v.last.wake_ns == v.now + 10 * SEC);
    v.now += 10 * SEC;
    run(&v);
    assert_true(v.last.wake_ns == v.now + 11 * SEC);
    v.now += 11 * SEC;
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "completed");
    env_free(&v);
}

static void test_failure_pause(void **state)
{
    (void)state;
    env v;
    env_init(&v, NULL, 4); /* no UpdateConfig: parallelism 1, pause, ratio 0 */
    json_object_del(json_object_get(v.svc, "Spec"), "UpdateConfig");
    steady(&v);
    new_image(&v, "busybox:broken");
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 1);
    char id[32];
    snprintf(id, sizeof id, "%s", sched_str(json_array_get(v.last.created, 0), "ID"));
    v.now += SEC;
    converge(&v);
    run(&v); /* started */
    v.now += SEC;
    converge(&v);
    fx_set_state(fx_find(v.tasks, id), "failed", v.now + SEC);
    v.now += 2 * SEC;
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "paused");
    char msg[128];
    snprintf(msg, sizeof msg, "update paused due to failure or early termination of task %s", id);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.Message"), msg);
    /* paused: no more new tasks beyond the failed slot's restart */
    int before = with_image(&v, "busybox:broken", "running") + with_image(&v, "busybox:broken", "ready");
    v.now += 60 * SEC;
    converge(&v);
    run(&v);
    converge(&v);
    run(&v);
    assert_int_equal(with_image(&v, "busybox:latest", "running"), 3);
    assert_true(with_image(&v, "busybox:broken", "running") + with_image(&v, "busybox:broken", "ready") <= before);
    env_free(&v);
}

static void test_failure_ratio_and_monitor(void **state)
{
    (void)state;
    env v;
    env_init(&v, "{\"Parallelism\": 0, \"FailureAction\": \"pause\", \"Monitor\": 5000000000,"
                 " \"MaxFailureRatio\": 0.5}", 4);
    steady(&v);
    new_image(&v, "busybox:1.36");
    run(&v);
    assert_int_equal(json_array_size(v.last.created), 4); /* parallelism 0: all at once */
    v.now += SEC;
    converge(&v);
    run(&v);
    v.now += SEC;
    converge(&v);
    /* one of four fails at once: 1/4 <= 0.5, the update goes on */
    fx_set_state(json_array_get(v.tasks, 4), "failed", v.now + SEC);
    v.now += 2 * SEC;
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "updating");
    v.now += 10 * SEC;
    converge(&v);
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "completed");
    env_free(&v);

    /* Monitor: a task that ran longer than Monitor before failing is not
     * the update's fault; one that fails within it is */
    env_init(&v, "{\"Parallelism\": 1, \"FailureAction\": \"pause\", \"Monitor\": 5000000000}", 2);
    steady(&v);
    new_image(&v, "busybox:1.36");
    run(&v);                 /* slot 1: new task, old one stopping */
    v.now += SEC;
    converge(&v);
    run(&v);                 /* started */
    v.now += SEC;
    converge(&v);            /* running */
    run(&v);                 /* slot 1 done: slot 2 goes */
    assert_int_equal(json_array_size(v.last.created), 1);
    char id2[32];
    snprintf(id2, sizeof id2, "%s", sched_str(json_array_get(v.last.created, 0), "ID"));
    json_t *first = fx_find(v.tasks, "tsk0003");
    assert_string_equal(sched_str(first, "Status.State"), "running");
    v.now += 30 * SEC;
    fx_set_state(first, "failed", v.now);
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "updating");
    v.now += SEC;
    converge(&v);
    run(&v);                 /* slot 2's new task starts */
    v.now += SEC;
    converge(&v);
    run(&v);
    fx_set_state(fx_find(v.tasks, id2), "failed", v.now + SEC);
    v.now += 2 * SEC;
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "paused");
    env_free(&v);
}

static void test_failure_rollback(void **state)
{
    (void)state;
    env v;
    env_init(&v, "{\"Parallelism\": 1, \"FailureAction\": \"rollback\", \"Monitor\": 5000000000}", 2);
    steady(&v);
    new_image(&v, "busybox:broken");
    run(&v);
    char id[32];
    snprintf(id, sizeof id, "%s", sched_str(json_array_get(v.last.created, 0), "ID"));
    v.now += SEC;
    converge(&v);
    run(&v);
    fx_set_state(fx_find(v.tasks, id), "rejected", v.now + SEC);
    v.now += 2 * SEC;
    run(&v);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "rollback_started");
    char msg[128];
    snprintf(msg, sizeof msg, "update rolled back due to failure or early termination of task %s", id);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.Message"), msg);
    assert_string_equal(sched_str(v.svc, "Spec.TaskTemplate.ContainerSpec.Image"), "busybox:latest");
    assert_false(sched_has(v.svc, "PreviousSpec"));
    /* the rollback converges back to the old image */
    for (int i = 0; i < 8; i++) {
        v.now += 6 * SEC;
        converge(&v);
        run(&v);
    }
    assert_int_equal(with_image(&v, "busybox:latest", "running"), 2);
    assert_int_equal(with_image(&v, "busybox:broken", "running"), 0);
    assert_string_equal(sched_str(v.svc, "UpdateStatus.State"), "rollback_completed");
    assert_string_equal(sched_str(v.svc, "UpdateStatus.Message"), "rollback completed");
    env_free(&v);
}

static void test_global_update_and_plan(void **state)
{
    (void)state;
    env v;
    env_init(&v, NULL, 1);
    json_object_set_new(json_object_get(v.svc, "Spec"), "Mode", J("{\"Global\": {}}"));
    steady(&v);
    assert_int_equal(json_array_size(v.tasks), 2);
    new_image(&v, "busybox:1.36");

    sched_changes c;
    sched_changes_init(&c);
    update_report r;
    orch_opts o = {.now_ns = v.now, .new_id = fx_new_id, .id_arg = &v.ids, .history_limit = 5, .updates = v.us};
    assert_int_equal(update_plan(v.svc, v.tasks, v.nodes, &o, &c, &r, NULL), 0);
    assert_int_equal(r.dirty, 2);
    assert_int_equal(r.dispatched, 1);
    assert_string_equal(r.state, "updating");
    json_t *nt = json_array_get(c.created, 0);
    assert_string_equal(sched_str(nt, "NodeID"), "n1"); /* global: same node, no slot */
    assert_false(sched_has(nt, "Slot"));
    sched_changes_free(&c);
    env_free(&v);
}

static void test_service_helpers(void **state)
{
    (void)state;
    json_t *svc = fx_service("svc1", "web", "{\"Replicated\": {\"Replicas\": 1}}", NULL);
    json_object_set_new(svc, "UpdateStatus", J("{\"State\": \"completed\", \"Message\": \"update completed\"}"));
    json_t *spec = json_deep_copy(json_object_get(svc, "Spec"));
    json_object_set_new(sched_get(spec, "Mode.Replicated"), "Replicas", json_integer(5));
    json_t *up = update_service_apply_spec(svc, spec, T0);
    assert_int_equal(sched_int(up, "Spec.Mode.Replicated.Replicas", 0), 5);
    assert_int_equal(sched_int(up, "PreviousSpec.Mode.Replicated.Replicas", 0), 1);
    assert_false(sched_has(up, "UpdateStatus"));
    assert_string_equal(sched_str(up, "UpdatedAt"), TS(T0));

    json_t *rb;
    berr e = {0};
    assert_int_equal(update_service_rollback(up, T0 + SEC, &rb, &e), 0);
    assert_int_equal(sched_int(rb, "Spec.Mode.Replicated.Replicas", 0), 1);
    assert_int_equal(sched_int(rb, "PreviousSpec.Mode.Replicated.Replicas", 0), 5);
    assert_string_equal(sched_str(rb, "UpdateStatus.State"), "rollback_started");
    assert_string_equal(sched_str(rb, "UpdateStatus.Message"), "manually requested rollback");
    json_decref(rb);
    assert_int_equal(update_service_rollback(svc, T0, &rb, &e), -EINVAL);
    assert_string_equal(e.msg, "service svc1 does not have a previous spec");

    /* jobs run again on every update */
    json_t *job = fx_service("svc2", "batch", "{\"ReplicatedJob\": {\"MaxConcurrent\": 1}}", NULL);
    json_object_set_new(job, "JobStatus", J("{\"JobIteration\": {\"Index\": 7}}"));
    json_t *j2 = update_service_apply_spec(job, json_object_get(job, "Spec"), T0);
    assert_int_equal(sched_int(j2, "JobStatus.JobIteration.Index", 0), 8);
    assert_string_equal(sched_str(j2, "JobStatus.LastExecution"), TS(T0));
    json_decref(j2);
    json_decref(job);
    json_decref(up);
    json_decref(spec);
    json_decref(svc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),   cmocka_unit_test(test_stop_first_parallelism_2),
        cmocka_unit_test(test_start_first),       cmocka_unit_test(test_failure_pause),
        cmocka_unit_test(test_failure_ratio_and_monitor), cmocka_unit_test(test_failure_rollback),
        cmocka_unit_test(test_global_update_and_plan), cmocka_unit_test(test_service_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
