/* Fixtures for the scheduler/ unit tests: Docker-shaped Node, Service and
 * Task documents as `docker node/service/inspect` prints them, a
 * deterministic ID generator, and a tiny in-memory "store" that applies a
 * change set the way the raft FSM would.  Included by test_sched_*.c. */
#ifndef BERTH_TESTS_SCHED_FIXTURES_H
#define BERTH_TESTS_SCHED_FIXTURES_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/common.h"

/* 2023-11-14T22:13:20Z */
#define T0 (1700000000LL * SCHED_NS_PER_SEC)
#define SEC SCHED_NS_PER_SEC

/* json_loads over a printf format; aborts on a bad fixture. */
static inline json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline json_t *J(const char *fmt, ...)
{
    char b[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    json_error_t err;
    json_t *v = json_loads(b, 0, &err);
    if (!v) {
        fprintf(stderr, "bad fixture: %s: %s\n", err.text, b);
        abort();
    }
    return v;
}

static inline const char *TS(long long ns)
{
    static char b[8][40];
    static int k;
    k = (k + 1) % 8;
    sched_time_format(ns, b[k]);
    return b[k];
}

/* A node as `docker node inspect` shows it: 4 CPUs, 8 GiB. */
static inline json_t *fx_node(const char *id, const char *role, const char *avail, const char *state,
                              const char *labels)
{
    return J("{\"ID\": \"%s\", \"Version\": {\"Index\": 10},"
             " \"CreatedAt\": \"2023-11-14T22:00:00.000000000Z\", \"UpdatedAt\": \"2023-11-14T22:00:00.000000000Z\","
             " \"Spec\": {\"Labels\": %s, \"Role\": \"%s\", \"Availability\": \"%s\"},"
             " \"Description\": {\"Hostname\": \"host-%s\","
             "   \"Platform\": {\"Architecture\": \"x86_64\", \"OS\": \"linux\"},"
             "   \"Resources\": {\"NanoCPUs\": 4000000000, \"MemoryBytes\": 8589934592},"
             "   \"Engine\": {\"EngineVersion\": \"27.3.1\", \"Labels\": {\"storage\": \"ssd\"},"
             "     \"Plugins\": [{\"Type\": \"Network\", \"Name\": \"overlay\"}]}},"
             " \"Status\": {\"State\": \"%s\", \"Addr\": \"10.0.0.%d\"}}",
             id, labels ? labels : "{}", role, avail, id, state, (int)(strlen(id) + id[strlen(id) - 1]) % 250);
}

static inline json_t *fx_ready(const char *id)
{
    return fx_node(id, "worker", "active", "ready", NULL);
}

/* A service as `docker service inspect` shows it; mode is the Mode object
 * ("{\"Replicated\": {\"Replicas\": 3}}"), extra_template is spliced into
 * TaskTemplate (", \"Placement\": {...}" or ""). */
static inline json_t *fx_service(const char *id, const char *name, const char *mode, const char *extra_template)
{
    return J("{\"ID\": \"%s\", \"Version\": {\"Index\": 20},"
             " \"CreatedAt\": \"2023-11-14T22:10:00.000000000Z\", \"UpdatedAt\": \"2023-11-14T22:10:00.000000000Z\","
             " \"Spec\": {\"Name\": \"%s\", \"Labels\": {},"
             "   \"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"busybox:latest\", \"Args\": [\"sleep\", \"3600\"],"
             "       \"Init\": false, \"StopGracePeriod\": 10000000000, \"DNSConfig\": {}, \"Isolation\": \"default\"},"
             "     \"Resources\": {\"Limits\": {}, \"Reservations\": {}},"
             "     \"RestartPolicy\": {\"Condition\": \"any\", \"Delay\": 5000000000, \"MaxAttempts\": 0},"
             "     \"Placement\": {}, \"ForceUpdate\": 0, \"Runtime\": \"container\"%s},"
             "   \"Mode\": %s,"
             "   \"UpdateConfig\": {\"Parallelism\": 1, \"FailureAction\": \"pause\", \"Monitor\": 5000000000,"
             "     \"MaxFailureRatio\": 0, \"Order\": \"stop-first\"},"
             "   \"RollbackConfig\": {\"Parallelism\": 1, \"FailureAction\": \"pause\", \"Monitor\": 5000000000,"
             "     \"MaxFailureRatio\": 0, \"Order\": \"stop-first\"},"
             "   \"EndpointSpec\": {\"Mode\": \"vip\"}},"
             " \"Endpoint\": {\"Spec\": {}}}",
             id, name, extra_template ? extra_template : "", mode);
}

/* A task of service in state/desired on node (NULL: unassigned), its Spec
 * the service's TaskTemplate, Status.Timestamp at ts. */
static inline json_t *fx_task(const char *id, const json_t *service, long long slot, const char *node,
                              const char *state, const char *desired, long long ts)
{
    json_t *t = J("{\"ID\": \"%s\", \"Version\": {\"Index\": 30}, \"CreatedAt\": \"%s\", \"UpdatedAt\": \"%s\","
                  " \"Labels\": {}, \"ServiceID\": \"%s\","
                  " \"Status\": {\"Timestamp\": \"%s\", \"State\": \"%s\", \"Message\": \"%s\"},"
                  " \"DesiredState\": \"%s\"}",
                  id, TS(ts - SEC), TS(ts), sched_str(service, "ID"), TS(ts), state,
                  strcmp(state, "pending") == 0 ? "pending task scheduling" : state, desired);
    json_object_set_new(t, "Spec", json_deep_copy(sched_get(service, "Spec.TaskTemplate")));
    if (slot > 0)
        json_object_set_new(t, "Slot", json_integer(slot));
    if (node)
        json_object_set_new(t, "NodeID", json_string(node));
    return t;
}

/* Deterministic task IDs: "tsk0001", "tsk0002", ... */
typedef struct fx_ids {
    int next;
} fx_ids;

static inline void fx_new_id(void *arg, char out[26])
{
    fx_ids *ids = arg;
    snprintf(out, 26, "tsk%04d", ++ids->next);
}

/* Applies a change set to tasks (an array, edited in place) and returns
 * the new service document if the set has one (else a new reference to
 * service). */
static inline json_t *fx_apply(json_t *tasks, const sched_changes *c, const json_t *service)
{
    size_t i;
    json_t *v;
    json_array_foreach(c->created, i, v)
        json_array_append_new(tasks, json_deep_copy(v));
    const char *key;
    json_object_foreach(c->updated, key, v) {
        size_t k;
        json_t *t;
        json_array_foreach(tasks, k, t) {
            if (strcmp(sched_str(t, "ID"), key) == 0) {
                json_array_set_new(tasks, k, json_deep_copy(v));
                break;
            }
        }
    }
    json_array_foreach(c->deleted, i, v) {
        size_t k;
        json_t *t;
        json_array_foreach(tasks, k, t) {
            if (strcmp(sched_str(t, "ID"), json_string_value(v)) == 0) {
                json_array_remove(tasks, k);
                break;
            }
        }
    }
    return c->service ? json_deep_copy(c->service) : json_incref((json_t *)service);
}

static inline json_t *fx_find(const json_t *tasks, const char *id)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
        if (strcmp(sched_str(t, "ID"), id) == 0)
            return t;
    return NULL;
}

/* Sets a task's observed state (what the agent reports) at ts. */
static inline void fx_set_state(json_t *task, const char *state, long long ts)
{
    json_t *st = json_object_get(task, "Status");
    json_object_set_new(st, "State", json_string(state));
    json_object_set_new(st, "Timestamp", json_string(TS(ts)));
}

/* How many tasks have this desired state (and, if state is not NULL,
 * this observed state). */
static inline int fx_count(const json_t *tasks, const char *desired, const char *state)
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
        if ((!desired || strcmp(sched_str(t, "DesiredState"), desired) == 0) &&
            (!state || strcmp(sched_str(t, "Status.State"), state) == 0))
            n++;
    return n;
}

#endif
