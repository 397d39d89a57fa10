/* The rolling updater (see update.h).  swarmkit runs one goroutine per
 * update with Parallelism workers and timers; here the same progress is
 * recomputed at each call from the documents plus a little memory
 * (update_state): a slot is "in flight" from the creation of its new task
 * until that task runs (or dies), its worker stays busy Delay longer, and
 * a free worker takes the next dirty slot. */
#include "scheduler/update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "scheduler/orch_internal.h"

#define DEFAULT_MONITOR_NS (5 * SCHED_NS_PER_SEC)

/* ---- memory --------------------------------------------------------------- */

typedef struct upd_task {
    char id[40];
    char key[80];
    long long running_at;   /* when it was first seen running, 0 if not yet */
    long long done_at;      /* when its worker finished with it, 0 while in flight */
    bool no_count;          /* an existing task reused: not this update's to judge */
    bool failure_seen;
} upd_task;

typedef struct upd_entry {
    char *service_id;
    json_t *spec;           /* the Spec this update rolls out */
    size_t total;           /* dirty slots when it began: the failure ratio's base */
    upd_task *t;
    size_t n;
    int failures;
    bool stopped;           /* paused or rolled back */
    bool finished;          /* completed, or nothing to do */
} upd_entry;

struct update_state {
    upd_entry *e;
    size_t n;
};

update_state *update_state_new(void)
{
    return xcalloc(1, sizeof(update_state));
}

static void entry_clear(upd_entry *e)
{
    free(e->t);
    json_decref(e->spec);
    e->t = NULL;
    e->n = 0;
    e->spec = NULL;
    e->failures = 0;
    e->total = 0;
    e->stopped = e->finished = false;
}

void update_state_free(update_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        entry_clear(&s->e[i]);
        free(s->e[i].service_id);
    }
    free(s->e);
    free(s);
}

void update_state_forget(update_state *s, const char *service_id)
{
    for (size_t i = 0; s && i < s->n; i++) {
        if (strcmp(s->e[i].service_id, service_id) == 0) {
            entry_clear(&s->e[i]);
            free(s->e[i].service_id);
            s->e[i] = s->e[--s->n];
            return;
        }
    }
}

static upd_entry *entry_get(update_state *s, const char *service_id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].service_id, service_id) == 0)
            return &s->e[i];
    s->e = xrealloc(s->e, (s->n + 1) * sizeof *s->e);
    upd_entry *e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    e->service_id = xstrdup(service_id);
    return e;
}

static upd_task *track(upd_entry *e, const json_t *task, const char *key)
{
    if (!e)
        return NULL;
    e->t = xrealloc(e->t, (e->n + 1) * sizeof *e->t);
    upd_task *t = &e->t[e->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", sched_str(task, "ID"));
    snprintf(t->key, sizeof t->key, "%s", key);
    return t;
}

/* ---- configuration and status --------------------------------------------- */

void update_config_read(const json_t *service, bool rollback, update_config *out)
{
    json_t *c = sched_get(service, rollback ? "Spec.RollbackConfig" : "Spec.UpdateConfig");
    memset(out, 0, sizeof *out);
    out->parallelism = c ? sched_int(c, "Parallelism", 0) : 1;
    out->delay_ns = sched_int(c, "Delay", 0);
    const char *fa = sched_str(c, "FailureAction");
    snprintf(out->failure_action, sizeof out->failure_action, "%s", *fa ? fa : "pause");
    out->monitor_ns = sched_int(c, "Monitor", DEFAULT_MONITOR_NS);
    json_t *r = json_object_get(c, "MaxFailureRatio");
    out->max_failure_ratio = json_is_number(r) ? json_number_value(r) : 0;
    out->start_first = strcmp(sched_str(c, "Order"), "start-first") == 0;
}

static json_t *service_copy(orch_work *w)
{
    if (!w->out->service)
        w->out->service = json_deep_copy(w->service);
    json_object_set_new(w->out->service, "UpdatedAt", sched_time_json(w->o->now_ns));
    return w->out->service;
}

static void set_status(orch_work *w, const char *state, const char *msg, bool start, bool complete)
{
    json_t *svc = service_copy(w);
    json_t *us = json_object_get(svc, "UpdateStatus");
    if (start || !json_is_object(us)) {
        us = json_object();
        json_object_set_new(svc, "UpdateStatus", us);
    }
    json_object_set_new(us, "State", json_string(state));
    if (start)
        json_object_set_new(us, "StartedAt", sched_time_json(w->o->now_ns));
    if (complete)
        json_object_set_new(us, "CompletedAt", sched_time_json(w->o->now_ns));
    json_object_set_new(us, "Message", json_string(msg));
}

/* ---- the plan ------------------------------------------------------------- */

static json_t *find_task(orch_work *w, const char *id)
{
    size_t i;
    json_t *t;
    json_array_foreach(w->tasks, i, t)
        if (strcmp(sched_str(t, "ID"), id) == 0)
            return t;
    return NULL;
}

static bool task_dirty(orch_work *w, const json_t *t)
{
    return orch_task_dirty(w->service, t, sched_find_node(w->nodes, sched_str(t, "NodeID")));
}

static long long status_time(const json_t *t, long long now)
{
    long long ts = sched_time_parse(sched_str(t, "Status.Timestamp"));
    return ts > 0 ? ts : now;
}

/* start-first: the new task runs, the slot's other tasks go. */
static void retire_others(orch_work *w, const json_t *keep, const char *key)
{
    char k[80];
    size_t i;
    json_t *t;
    json_array_foreach(w->tasks, i, t) {
        orch_slot_key(w->mode, t, k, sizeof k);
        if (t != keep && strcmp(k, key) == 0 && sched_task_desired(t) <= SCHED_ST_RUNNING)
            orch_work_set_desired(w, t, "shutdown");
    }
}

/* Follows the tasks this update started; false once a failure made it
 * stop (pause or rollback). */
static bool observe(orch_work *w, upd_entry *e, const update_config *cfg, bool rollback)
{
    long long now = w->o->now_ns;
    for (size_t i = 0; i < e->n; i++) {
        upd_task *ut = &e->t[i];
        json_t *t = find_task(w, ut->id);
        if (!t) {
            if (!ut->done_at)
                ut->done_at = now;
            continue;
        }
        int st = sched_task_state(t);
        if (st == SCHED_ST_RUNNING && !ut->running_at)
            ut->running_at = status_time(t, now);
        if (!ut->done_at && (st >= SCHED_ST_RUNNING || sched_task_desired(t) > SCHED_ST_RUNNING)) {
            ut->done_at = status_time(t, now);
            if (cfg->start_first && st == SCHED_ST_RUNNING)
                retire_others(w, t, ut->key);
        }
        if (ut->no_count || ut->failure_seen || st <= SCHED_ST_RUNNING ||
            strcmp(cfg->failure_action, "continue") == 0)
            continue;
        ut->failure_seen = true;
        if (ut->running_at && status_time(t, now) - ut->running_at > cfg->monitor_ns)
            continue; /* it ran long enough: not the update's fault */
        e->failures++;
        if (!e->total || (float)e->failures / (float)e->total <= (float)cfg->max_failure_ratio)
            continue;
        char msg[160];
        const char *id = sched_str(t, "ID");
        if (strcmp(cfg->failure_action, "rollback") == 0 && !rollback) {
            json_t *prev = sched_get(w->service, "PreviousSpec");
            if (json_is_object(prev)) {
                snprintf(msg, sizeof msg, "update rolled back due to failure or early termination of task %s", id);
                json_t *svc = service_copy(w);
                json_object_set(svc, "Spec", json_object_get(svc, "PreviousSpec"));
                json_object_del(svc, "PreviousSpec");
                set_status(w, "rollback_started", msg, false, false);
            }
            /* no previous spec: swarmkit's transaction fails and the
             * update just stops */
        } else {
            if (strcmp(cfg->failure_action, "rollback") == 0)
                snprintf(msg, sizeof msg, "rollback paused due to failure or early termination of task %s", id);
            else
                snprintf(msg, sizeof msg, "update paused due to failure or early termination of task %s", id);
            set_status(w, rollback ? "rollback_paused" : "paused", msg, false, false);
        }
        e->stopped = true;
        return false;
    }
    return true;
}

/* One worker's take on one slot (swarmkit's Updater.worker). */
static void dispatch(orch_work *w, upd_entry *e, json_t *slot, const char *key, const update_config *cfg)
{
    json_t *running = NULL, *clean = NULL, *t;
    size_t i;
    json_array_foreach(slot, i, t) {
        if (task_dirty(w, t))
            continue;
        if (sched_task_desired(t) == SCHED_ST_RUNNING) {
            running = t;
            break;
        }
        if (sched_task_desired(t) < SCHED_ST_RUNNING)
            clean = t;
    }
    json_t *existing = running ? running : clean;
    if (existing) {
        /* the slot has an up-to-date task already: keep it, drop the rest */
        json_t *removed = NULL;
        json_array_foreach(slot, i, t)
            if (t != existing && orch_work_set_desired(w, t, "shutdown"))
                removed = t;
        if (sched_task_desired(existing) != SCHED_ST_RUNNING) {
            json_t *b = json_object_get(existing, "Berth");
            if (!json_is_object(b)) {
                b = json_object();
                json_object_set_new(existing, "Berth", b);
            }
            json_object_set_new(existing, "DesiredState", json_string("ready"));
            json_object_set_new(b, "StartAt", sched_time_json(w->o->now_ns));
            if (removed)
                json_object_set_new(b, "WaitFor", json_string(sched_str(removed, "ID")));
            orch_work_touch(w, existing);
        }
        upd_task *ut = track(e, existing, key);
        if (ut) {
            ut->no_count = true;
            ut->done_at = w->o->now_ns;
        }
        return;
    }

    json_t *first = json_array_get(slot, 0);
    bool global = w->mode == ORCH_GLOBAL;
    json_t *nt = orch_new_task(w->service, global ? 0 : sched_int(first, "Slot", 0),
                               global ? sched_str(first, "NodeID") : NULL, w->o);
    if (!cfg->start_first) {
        json_t *removed = NULL;
        json_array_foreach(slot, i, t)
            if (orch_work_set_desired(w, t, "shutdown"))
                removed = t;
        if (removed) {
            json_t *b = json_object_get(nt, "Berth");
            json_object_set_new(nt, "DesiredState", json_string("ready"));
            json_object_set_new(b, "StartAt", sched_time_json(w->o->now_ns));
            json_object_set_new(b, "WaitFor", json_string(sched_str(removed, "ID")));
        }
    }
    orch_work_create(w, nt);
    track(e, nt, key);
}

static int slot_cmp(const void *a, const void *b, void *arg)
{
    orch_work *w = arg;
    const json_t *x = json_array_get(*(json_t *const *)a, 0), *y = json_array_get(*(json_t *const *)b, 0);
    if (w->mode == ORCH_GLOBAL)
        return strcmp(sched_str(x, "NodeID"), sched_str(y, "NodeID"));
    long long sx = sched_int(x, "Slot", 0), sy = sched_int(y, "Slot", 0);
    return sx < sy ? -1 : sx > sy;
}

static size_t find_dirty(orch_work *w, json_t *slots, json_t **dirty)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(slots); i++) {
        json_t *s = json_array_get(slots, i);
        if (json_array_size(s) > 1 || (json_array_size(s) == 1 && task_dirty(w, json_array_get(s, 0))))
            dirty[n++] = s;
    }
    qsort_r(dirty, n, sizeof *dirty, slot_cmp, w);
    return n;
}

static void report_state(orch_work *w, update_report *r)
{
    if (!r)
        return;
    const json_t *svc = w->out->service ? w->out->service : w->service;
    snprintf(r->state, sizeof r->state, "%s", sched_str(svc, "UpdateStatus.State"));
}

void update_run(orch_work *w, json_t *slots, update_report *report)
{
    update_report dummy;
    if (!report)
        report = &dummy;
    memset(report, 0, sizeof *report);
    const char *us = sched_str(w->service, "UpdateStatus.State");
    if (strcmp(us, "paused") == 0 || strcmp(us, "rollback_paused") == 0) {
        report_state(w, report);
        return;
    }
    bool rollback = strcmp(us, "rollback_started") == 0;
    update_config cfg;
    update_config_read(w->service, rollback, &cfg);
    long long now = w->o->now_ns;

    /* the slots as they stand now (earlier stages or observe() may have
     * shut some of their tasks down) */
    size_t nslots = json_array_size(slots);
    json_t *live = json_array();
    for (size_t i = 0; i < nslots; i++) {
        json_t *s = json_array_get(slots, i), *l = json_array(), *t;
        size_t k;
        json_array_foreach(s, k, t)
            if (sched_task_desired(t) <= SCHED_ST_RUNNING)
                json_array_append(l, t);
        json_array_append_new(live, l);
    }
    json_t **dirty = xcalloc(nslots + 1, sizeof *dirty);
    size_t ndirty = find_dirty(w, live, dirty);

    upd_entry *e = NULL;
    if (w->o->updates) {
        e = entry_get(w->o->updates, sched_str(w->service, "ID"));
        json_t *spec = sched_get(w->service, "Spec");
        /* a new spec (or a new run after the last one ended) starts a new
         * updater, as swarmkit's Supervisor.Update */
        if (!e->spec || !json_equal(e->spec, spec) || e->stopped || (e->finished && ndirty > 0)) {
            entry_clear(e);
            e->spec = json_deep_copy(spec);
            e->total = ndirty;
            e->finished = ndirty == 0;
        }
        if (!e->finished && !observe(w, e, &cfg, rollback)) {
            report->failures = e->failures;
            report_state(w, report);
            free(dirty);
            json_decref(live);
            return;
        }
        report->failures = e->failures;
        /* start-first slots whose new task came up lost their old task */
        for (size_t i = 0; i < json_array_size(live); i++) {
            json_t *l = json_array_get(live, i);
            for (size_t k = json_array_size(l); k-- > 0;)
                if (sched_task_desired(json_array_get(l, k)) > SCHED_ST_RUNNING)
                    json_array_remove(l, k);
        }
        ndirty = find_dirty(w, live, dirty);
    }

    /* slots this update is still starting, and workers resting after one */
    size_t busy = 0, in_flight = 0;
    long long last_done = 0;
    for (size_t i = 0; e && i < e->n; i++) {
        if (!e->t[i].done_at) {
            busy++;
            in_flight++;
            continue;
        }
        if (e->t[i].done_at > last_done)
            last_done = e->t[i].done_at;
        if (e->t[i].done_at + cfg.delay_ns > now) {
            busy++;
            sched_changes_wake(w->out, e->t[i].done_at + cfg.delay_ns);
        }
    }
    report->in_flight = in_flight;

    if (ndirty == 0) {
        if (in_flight == 0 && (strcmp(us, "updating") == 0 || rollback)) {
            /* watch one more monitoring period after the last slot */
            long long mp = cfg.monitor_ns;
            if (cfg.delay_ns >= mp)
                mp = cfg.delay_ns + SCHED_NS_PER_SEC;
            long long done_at = last_done + cfg.delay_ns + mp;
            if (e && e->n > 0 && !e->finished && now < done_at) {
                sched_changes_wake(w->out, done_at);
            } else {
                set_status(w, rollback ? "rollback_completed" : "completed",
                           rollback ? "rollback completed" : "update completed", false, true);
                if (e)
                    e->finished = true;
            }
        } else if (e && in_flight == 0 && e->n == 0) {
            e->finished = true;
        }
        report_state(w, report);
        free(dirty);
        json_decref(live);
        return;
    }

    report->dirty = ndirty;
    if (!*us)
        set_status(w, "updating", "update in progress", true, false);
    long long par = cfg.parallelism > 0 ? cfg.parallelism : (long long)(e ? e->total : ndirty);
    if (par <= 0)
        par = (long long)ndirty;
    long long free_workers = par - (long long)busy;
    char key[80];
    for (size_t i = 0; i < ndirty && free_workers > 0; i++) {
        orch_slot_key(w->mode, json_array_get(dirty[i], 0), key, sizeof key);
        bool flying = false;
        for (size_t k = 0; e && k < e->n; k++)
            if (!e->t[k].done_at && strcmp(e->t[k].key, key) == 0)
                flying = true;
        if (flying)
            continue;
        dispatch(w, e, dirty[i], key, &cfg);
        report->dispatched++;
        free_workers--;
    }
    report_state(w, report);
    free(dirty);
    json_decref(live);
}

int update_plan(const json_t *service, const json_t *tasks, const json_t *nodes, const orch_opts *o,
                sched_changes *out, update_report *report, berr *e)
{
    if (!*sched_str(service, "ID") || !json_is_array(tasks) || !json_is_array(nodes))
        return berr_set(e, -EINVAL, "updater: a service with an ID, and arrays of tasks and nodes");
    orch_work w;
    orch_work_init(&w, service, tasks, nodes, o, out);
    if (w.mode != ORCH_REPLICATED && w.mode != ORCH_GLOBAL) {
        orch_work_free(&w);
        return berr_set(e, -EINVAL, "Jobs may not have an update config");
    }
    json_t *slots = orch_work_slots(&w), *upd = json_array();
    const char *key;
    json_t *slot;
    json_object_foreach(slots, key, slot) {
        json_t *u = orch_updatable(&w, slot);
        if (u)
            json_array_append_new(upd, u);
    }
    update_run(&w, upd, report);
    json_decref(upd);
    json_decref(slots);
    orch_work_free(&w);
    return 0;
}

static void next_iteration(json_t *svc, long long now_ns)
{
    json_t *js = json_object_get(svc, "JobStatus");
    if (!json_is_object(js))
        return;
    long long it = sched_int(js, "JobIteration.Index", 0);
    json_object_set_new(js, "JobIteration", json_pack("{s:I}", "Index", (json_int_t)(it + 1)));
    json_object_set_new(js, "LastExecution", sched_time_json(now_ns));
}

json_t *update_service_apply_spec(const json_t *service, const json_t *new_spec, long long now_ns)
{
    json_t *svc = json_deep_copy(service);
    json_t *old = json_object_get(svc, "Spec");
    if (old)
        json_object_set(svc, "PreviousSpec", old);
    json_object_set_new(svc, "Spec", json_deep_copy(new_spec));
    json_object_del(svc, "UpdateStatus");
    next_iteration(svc, now_ns);
    json_object_set_new(svc, "UpdatedAt", sched_time_json(now_ns));
    return svc;
}

int update_service_rollback(const json_t *service, long long now_ns, json_t **out, berr *e)
{
    json_t *prev = sched_get(service, "PreviousSpec");
    if (!json_is_object(prev))
        return berr_set(e, -EINVAL, "service %s does not have a previous spec", sched_str(service, "ID"));
    json_t *svc = json_deep_copy(service);
    json_t *cur = json_incref(json_object_get(svc, "Spec"));
    json_object_set(svc, "Spec", json_object_get(svc, "PreviousSpec"));
    json_object_set_new(svc, "PreviousSpec", cur);
    json_object_set_new(svc, "UpdateStatus",
                        json_pack("{s:s, s:o, s:s}", "State", "rollback_started", "StartedAt",
                                  sched_time_json(now_ns), "Message", "manually requested rollback"));
    next_iteration(svc, now_ns);
    json_object_set_new(svc, "UpdatedAt", sched_time_json(now_ns));
    *out = svc;
    return 0;
}
