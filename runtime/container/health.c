/* Health checks: the image's HEALTHCHECK or --health-*, run as an exec in
 * the container every interval, with dockerd's rules for timeouts, the
 * start period and retries.  Results go to State.Health and to
 * "health_status: ..." events. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "runtime/container/internal.h"
#include "runtime/container/exec.h"

#define DEFAULT_INTERVAL_MS 30000
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_START_INTERVAL_MS 5000
#define DEFAULT_RETRIES 3
#define MAX_OUTPUT 4096
#define MAX_LOG_ENTRIES 5

typedef struct rt_health {
    rt_containers *m;
    rt_container *c;
    uv_timer_t timer;            /* the next probe */
    uv_timer_t deadline;         /* the running probe's timeout */
    rt_exec *probe;
    rt_io_sink sink;
    buf output;
    char start[TIME_RFC3339_BUF];
    bool timed_out;
    int handles;
    bool stopping;
} rt_health;

static uint64_t ms_of(json_t *hc, const char *key, uint64_t dflt)
{
    json_int_t ns = json_integer_value(json_object_get(hc, key));
    return ns > 0 ? (uint64_t)(ns / 1000000) : dflt;
}

static json_t *check_of(rt_container *c)
{
    json_t *hc = json_object_get(c->config, "Healthcheck");
    json_t *test = json_object_get(hc, "Test");
    const char *kind = json_string_value(json_array_get(test, 0));
    if (!kind || !strcmp(kind, "NONE") || json_array_size(test) < 2)
        return NULL;
    return hc;
}

static bool in_start_period(rt_health *h, json_t *hc)
{
    uint64_t period = ms_of(hc, "StartPeriod", 0);
    return period && uv_now(h->m->loop) - h->c->started_mono_ms < period;
}

static void schedule(rt_health *h);

static void collect(void *ctx, int stream, const char *data, size_t len)
{
    (void)stream;
    rt_health *h = ctx;
    if (h->output.len < MAX_OUTPUT)
        buf_append(&h->output, data, len < MAX_OUTPUT - h->output.len ? len : MAX_OUTPUT - h->output.len);
}

static void record(rt_health *h, int exit_code)
{
    rt_container *c = h->c;
    json_t *hc = check_of(c);
    char end[TIME_RFC3339_BUF];
    time_now_rfc3339(end);
    json_t *entry = json_pack("{s:s, s:s, s:i, s:s}", "Start", h->start, "End", end, "ExitCode", exit_code, "Output",
                              h->output.data ? h->output.data : "");
    if (!c->health_log)
        c->health_log = json_array();
    json_array_append_new(c->health_log, entry);
    while (json_array_size(c->health_log) > MAX_LOG_ENTRIES)
        json_array_remove(c->health_log, 0);
    buf_reset(&h->output);

    char old[16];
    snprintf(old, sizeof old, "%s", c->health_status);
    int retries = json_integer_value(json_object_get(hc, "Retries")) > 0 ? (int)json_integer_value(json_object_get(hc, "Retries"))
                                                                          : DEFAULT_RETRIES;
    if (exit_code == 0) {
        c->health_failing_streak = 0;
        snprintf(c->health_status, sizeof c->health_status, "healthy");
    } else if (!in_start_period(h, hc) || strcmp(c->health_status, "starting") != 0) {
        /* failures during the start period do not count while still "starting" */
        if (++c->health_failing_streak >= retries)
            snprintf(c->health_status, sizeof c->health_status, "unhealthy");
    }
    rt_container_save(h->m, c, NULL);
    if (strcmp(old, c->health_status) != 0) {
        char action[64];
        snprintf(action, sizeof action, "health_status: %s", c->health_status);
        rt_container_emit(h->m, c, action, NULL);
    }
}

static void on_probe_exit(void *ctx, rt_exec *x)
{
    rt_health *h = ctx;
    uv_timer_stop(&h->deadline);
    h->probe = NULL;
    if (h->stopping)
        return;
    if (h->timed_out) {
        json_t *hc = check_of(h->c);
        buf_reset(&h->output);
        buf_printf(&h->output, "Health check exceeded timeout (%llus)",
                   (unsigned long long)(ms_of(hc, "Timeout", DEFAULT_TIMEOUT_MS) / 1000));
        record(h, -1);
    } else {
        record(h, x->exit_code);
    }
    rt_exec_forget(h->m, x);
    schedule(h);
}

static void on_deadline(uv_timer_t *t)
{
    rt_health *h = t->data;
    if (h->probe && h->probe->running) {
        h->timed_out = true;
        syscall(SYS_pidfd_send_signal, h->probe->proc.pidfd, SIGKILL, NULL, 0);
    }
}

static void probe(uv_timer_t *t)
{
    rt_health *h = t->data;
    rt_container *c = h->c;
    json_t *hc = check_of(c);
    if (!hc || !rt_container_running(c) || c->state == RT_STATE_PAUSED) {
        schedule(h);
        return;
    }
    json_t *test = json_object_get(hc, "Test");
    json_t *cmd;
    if (!strcmp(json_string_value(json_array_get(test, 0)), "CMD-SHELL"))
        cmd = json_pack("[s, s, O]", "/bin/sh", "-c", json_array_get(test, 1));
    else {
        cmd = json_array();
        for (size_t i = 1; i < json_array_size(test); i++)
            json_array_append(cmd, json_array_get(test, i));
    }
    json_t *body = json_pack("{s:o, s:b, s:b}", "Cmd", cmd, "AttachStdout", 1, "AttachStderr", 1);
    berr e = {0};
    rt_exec *x = NULL;
    time_now_rfc3339(h->start);
    h->timed_out = false;
    int r = rt_exec_create(h->m, c, body, &x, &e);
    json_decref(body);
    if (r == 0) {
        x->internal = true;
        x->on_exit = on_probe_exit;
        x->exit_ctx = h;
        h->sink = (rt_io_sink){true, true, collect, NULL, h, NULL};
        h->probe = x;
        r = rt_exec_start(h->m, x, &h->sink, &e);
    }
    if (r < 0) {
        h->probe = NULL;
        buf_reset(&h->output);
        buf_puts(&h->output, e.msg);
        record(h, r == -ENOENT ? 127 : 1);
        if (x)
            rt_exec_forget(h->m, x);
        schedule(h);
        return;
    }
    uv_timer_start(&h->deadline, on_deadline, ms_of(hc, "Timeout", DEFAULT_TIMEOUT_MS), 0);
}

static void schedule(rt_health *h)
{
    json_t *hc = check_of(h->c);
    if (!hc || h->stopping)
        return;
    uint64_t next = ms_of(hc, "Interval", DEFAULT_INTERVAL_MS);
    if (in_start_period(h, hc) && json_integer_value(json_object_get(hc, "StartInterval")) > 0)
        next = ms_of(hc, "StartInterval", DEFAULT_START_INTERVAL_MS);
    uv_timer_start(&h->timer, probe, next, 0);
}

void rt_container_health_start(rt_containers *m, rt_container *c)
{
    if (!check_of(c))
        return;
    rt_health *h = xcalloc(1, sizeof *h);
    h->m = m;
    h->c = c;
    uv_timer_init(m->loop, &h->timer);
    uv_timer_init(m->loop, &h->deadline);
    h->timer.data = h->deadline.data = h;
    c->health = h;
    snprintf(c->health_status, sizeof c->health_status, "starting");
    c->health_failing_streak = 0;
    rt_container_save(m, c, NULL);
    schedule(h);
}

static void on_closed(uv_handle_t *handle)
{
    rt_health *h = handle->data;
    if (--h->handles == 0) {
        buf_free(&h->output);
        free(h);
    }
}

void rt_container_health_stop(rt_container *c)
{
    rt_health *h = c->health;
    if (!h)
        return;
    c->health = NULL;
    h->stopping = true;
    if (h->probe) {
        /* the probe dies with the container; its exit must not reach us */
        h->probe->on_exit = NULL;
        h->probe = NULL;
    }
    h->handles = 2;
    uv_close((uv_handle_t *)&h->timer, on_closed);
    uv_close((uv_handle_t *)&h->deadline, on_closed);
}
