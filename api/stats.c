/* Container resources: GET /containers/{id}/top, GET /containers/{id}/stats
 * and POST /containers/{id}/update. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/stream.h"
#include "api/versions.h"
#include "lib/cleanup.h"
#include "lib/jsonutil.h"
#include "node/daemon.h"
#include "runtime/container/netstats.h"
#include "runtime/container/network.h"
#include "runtime/container/stats.h"
#include "runtime/container/update.h"
#include "runtime/linux/top.h"

/* A stream whose client has not taken this much is not fed more samples:
 * they would only pile up in memory. */
#define STATS_BACKLOG_MAX (1u << 20)
#define STATS_INTERVAL_MS 1000
#define ZERO_TIME "0001-01-01T00:00:00Z"

static rt_containers *mgr(api_request *r) { return &r->d->containers; }

static rt_container *target(api_request *r) { return api_container_target(r); }

/* Running with a cgroup to read: not restarting (its process is gone). */
static bool has_process(const rt_container *c) { return rt_container_running(c) && c->state != RT_STATE_RESTARTING; }

/* ---- top --------------------------------------------------------------------- */

typedef struct top_ctx {
    api_request *r;
    char id[DIGEST_HEX_LEN + 1];
    pid_t *pids;
    size_t n;
} top_ctx;

static void top_done(void *arg, int status, const berr *e, char *output)
{
    top_ctx *t = arg;
    api_request *r = t->r;
    if (status < 0) {
        api_reply_berr(r, e);
    } else {
        json_t *out;
        berr pe = {0};
        if (rt_top_parse(output, t->pids, t->n, &out, &pe) < 0) {
            /* ps gave something unreadable: dockerd's error is a 500 */
            api_reply_error(r, -EIO, pe.msg);
        } else {
            rt_container *c;
            if (rt_container_find(mgr(r), t->id, &c, NULL) == 0)
                rt_container_emit(mgr(r), c, "top", NULL);
            api_reply_json(r, 200, out);
        }
    }
    free(output);
    free(t->pids);
    free(t);
}

void api_container_top(api_request *r)
{
    const char *args = api_query(r, "ps_args");
    if (!args || !*args)
        args = "-ef";
    berr e = {0};
    if (rt_top_check_args(args, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    rt_container *c = target(r);
    if (!c)
        return;
    if (c->state == RT_STATE_RESTARTING) {
        char msg[200];
        snprintf(msg, sizeof msg, "Container %s is restarting, wait until the container is running", c->id);
        api_reply_error(r, -EBUSY, msg);
        return;
    }
    if (!rt_container_running(c)) {
        char msg[200];
        snprintf(msg, sizeof msg, "container %s is not running", c->id);
        api_reply_error(r, -EBUSY, msg);
        return;
    }
    top_ctx *t = xcalloc(1, sizeof *t);
    t->r = r;
    snprintf(t->id, sizeof t->id, "%s", c->id);
    if (rt_cgroup_pids(&mgr(r)->cgroups, c->id, &t->pids, &t->n, &e) < 0) {
        free(t);
        api_reply_berr(r, &e);
        return;
    }
    rt_top_run(r->d->loop, args, t->pids, t->n, top_done, t);
}

/* ---- stats: Docker's JSON ------------------------------------------------------ */

static json_t *cpu_json(const rt_stats_sample *s)
{
    json_t *usage = json_pack("{s:I}", "total_usage", (json_int_t)(s ? s->cg.cpu_total_ns : 0));
    if (s && json_array_size(s->percpu))
        json_object_set(usage, "percpu_usage", s->percpu);
    json_object_set_new(usage, "usage_in_kernelmode", json_integer(s ? (json_int_t)s->cg.cpu_system_ns : 0));
    json_object_set_new(usage, "usage_in_usermode", json_integer(s ? (json_int_t)s->cg.cpu_user_ns : 0));
    json_t *o = json_pack("{s:o}", "cpu_usage", usage);
    /* omitempty in dockerd's types */
    if (s && s->system_cpu_ns)
        json_object_set_new(o, "system_cpu_usage", json_integer((json_int_t)s->system_cpu_ns));
    if (s && s->online_cpus)
        json_object_set_new(o, "online_cpus", json_integer((json_int_t)s->online_cpus));
    json_object_set_new(o, "throttling_data",
                        json_pack("{s:I, s:I, s:I}", "periods", (json_int_t)(s ? s->throttle_periods : 0),
                                  "throttled_periods", (json_int_t)(s ? s->throttled_periods : 0), "throttled_time",
                                  (json_int_t)(s ? s->throttled_time_ns : 0)));
    return o;
}

/* v2: dockerd fills only io_service_bytes_recursive (null when there is
 * no device) and leaves the rest null, "unsupported". */
static json_t *blkio_json(const rt_stats_sample *s, bool v2)
{
    static const char *const rest[] = {"io_queue_recursive", "io_service_time_recursive", "io_wait_time_recursive",
                                       "io_merged_recursive", "io_time_recursive", "sectors_recursive", NULL};
    json_t *o = json_object();
    bool none = !s || (v2 && !json_array_size(s->blkio_bytes));
    json_object_set(o, "io_service_bytes_recursive", none ? json_null() : s->blkio_bytes);
    json_object_set(o, "io_serviced_recursive", !s || v2 ? json_null() : s->blkio_ios);
    for (const char *const *k = rest; *k; k++)
        json_object_set_new(o, *k, !s || v2 ? json_null() : json_array());
    return o;
}

static void set_nonzero(json_t *o, const char *key, uint64_t v)
{
    if (v)
        json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *memory_json(const rt_stats_sample *s, bool v2)
{
    json_t *o = json_object();
    if (!s)
        return o;
    set_nonzero(o, "usage", s->cg.memory_usage);
    /* dockerd has no max_usage on v2 (memory.peak is not read there) */
    if (!v2)
        set_nonzero(o, "max_usage", s->cg.memory_max_usage);
    json_object_set(o, "stats", s->memory_stat);
    set_nonzero(o, "failcnt", s->memory_failcnt);
    /* An unlimited cgroup reads as a huge number: dockerd shows the host's
     * memory instead, which is what `docker stats` divides by. */
    uint64_t limit = s->cg.memory_limit;
    if (s->host_memory && (limit == 0 || limit > s->host_memory))
        limit = s->host_memory;
    set_nonzero(o, "limit", limit);
    return o;
}

/* The container whose network namespace c uses, following
 * --network container:<id>; NULL for host and none, whose counters
 * dockerd does not show (their sandbox has no interface of its own). */
static const rt_container *netns_owner(const rt_container *c)
{
    for (int depth = 0; c && depth < 8; depth++) {
        const char *mode = json_str(c->host_config, "NetworkMode");
        if (!*mode)
            mode = "default";
        if (strncmp(mode, "container:", 10))
            return rt_network_mode_sandboxed(mode) ? c : NULL;
        rt_container *t;
        if (rt_container_find(c->manager, mode + 10, &t, NULL) < 0 || !has_process(t))
            return NULL;
        c = t;
    }
    return NULL;
}

/* "networks": per interface of the container's namespace; NULL (the
 * member left out, as dockerd's omitempty does) when there is none. */
static json_t *networks_json(const rt_container *c)
{
    const rt_container *owner = netns_owner(c);
    json_t *n = NULL;
    if (!owner || owner->proc.pid <= 0 || rt_netstats_read(owner->proc.pid, &n, NULL) < 0)
        return NULL;
    if (!json_object_size(n)) {
        json_decref(n);
        return NULL;
    }
    return n;
}

/* One stats object; cur NULL gives dockerd's zeroed object for a container
 * that is not running.  prev (may be NULL) becomes precpu_stats. */
static json_t *stats_json(const rt_container *c, const char *id, const char *name, const rt_stats_sample *cur,
                          const rt_stats_sample *prev)
{
    bool v2 = c && c->manager->cgroups.version == RT_CGROUP_V2;
    json_t *pids = json_object();
    if (cur) {
        set_nonzero(pids, "current", cur->cg.pids_current);
        set_nonzero(pids, "limit", cur->cg.pids_limit);
    }
    json_t *o = json_object();
    json_object_set_new(o, "read", json_string(cur ? cur->read : ZERO_TIME));
    json_object_set_new(o, "preread", json_string(prev ? prev->read : ZERO_TIME));
    json_object_set_new(o, "pids_stats", pids);
    json_object_set_new(o, "blkio_stats", blkio_json(cur, v2));
    json_object_set_new(o, "num_procs", json_integer(0));
    json_object_set_new(o, "storage_stats", json_object());
    json_object_set_new(o, "cpu_stats", cpu_json(cur));
    json_object_set_new(o, "precpu_stats", cpu_json(prev));
    json_object_set_new(o, "memory_stats", memory_json(cur, v2));
    if (c) {
        json_object_set_new(o, "name", json_sprintf("/%s", c->name));
        json_object_set_new(o, "id", json_string(c->id));
        json_t *networks = cur ? networks_json(c) : NULL;
        if (networks)
            json_object_set_new(o, "networks", networks);
    } else {
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "id", json_string(id));
    }
    return o;
}

/* ---- stats: requests ---------------------------------------------------------------- */

typedef struct stats_ctx {
    berth_daemon *d;
    api_request *r;          /* the two-sample reply: until it is given */
    api_stream *s;           /* stream=true */
    uv_timer_t *timer;
    char id[DIGEST_HEX_LEN + 1];
    char name[260];          /* "/name" as last seen, for a zeroed object */
    rt_stats_sample prev;
    bool have_prev;
} stats_ctx;

static void ctx_free(stats_ctx *x)
{
    if (x->timer)
        uv_close((uv_handle_t *)x->timer, (uv_close_cb)free);
    if (x->have_prev)
        rt_stats_sample_free(&x->prev);
    free(x);
}

/* The container if it is still there, running, with a sample read. */
static rt_container *sample(stats_ctx *x, rt_stats_sample *cur)
{
    rt_container *c;
    if (rt_container_find(&x->d->containers, x->id, &c, NULL) < 0)
        return NULL;
    snprintf(x->name, sizeof x->name, "/%s", c->name);
    if (!has_process(c) || rt_stats_read(&x->d->containers.cgroups, c->id, cur, NULL) < 0)
        return NULL;
    return c;
}

static void keep_prev(stats_ctx *x, rt_stats_sample *cur)
{
    if (x->have_prev)
        rt_stats_sample_free(&x->prev);
    x->prev = *cur;
    x->have_prev = true;
}

static void stream_gone(void *arg) { ctx_free(arg); }

/* Writes the next object; false once the container has stopped. */
static bool stream_one(stats_ctx *x)
{
    rt_stats_sample cur;
    rt_container *c = sample(x, &cur);
    if (!c)
        return false;
    api_stream_json(x->s, stats_json(c, NULL, NULL, &cur, x->have_prev ? &x->prev : NULL));
    keep_prev(x, &cur);
    return true;
}

static void stream_tick(uv_timer_t *t)
{
    stats_ctx *x = t->data;
    if (api_stream_pending(x->s) > STATS_BACKLOG_MAX)
        return;   /* a client that stopped reading misses samples */
    if (!stream_one(x)) {
        api_stream_end(x->s);   /* on_gone is not called for an ended stream */
        ctx_free(x);
    }
}

/* stream=false without one-shot: the second sample, a second after the
 * first, so that CPU % has a meaningful precpu_stats. */
static void second_tick(uv_timer_t *t)
{
    stats_ctx *x = t->data;
    rt_stats_sample cur;
    rt_container *c = sample(x, &cur);
    if (c) {
        api_reply_json(x->r, 200, stats_json(c, NULL, NULL, &cur, x->have_prev ? &x->prev : NULL));
        rt_stats_sample_free(&cur);
    } else {
        api_reply_json(x->r, 200, stats_json(NULL, x->id, x->name, NULL, NULL));
    }
    ctx_free(x);
}

static void start_timer(stats_ctx *x, uv_timer_cb cb, uint64_t repeat)
{
    x->timer = xcalloc(1, sizeof *x->timer);
    uv_timer_init(x->d->loop, x->timer);
    x->timer->data = x;
    uv_timer_start(x->timer, cb, STATS_INTERVAL_MS, repeat);
}

void api_container_stats(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    bool stream = api_query_bool(r, "stream", true);
    bool one_shot = api_has(r, API_STATS_ONE_SHOT) && api_query_bool(r, "one-shot", false);
    if (stream && one_shot) {
        api_reply_error(r, -EINVAL, "cannot have stream=true and one-shot=true");
        return;
    }
    stats_ctx *x = xcalloc(1, sizeof *x);
    x->d = r->d;
    snprintf(x->id, sizeof x->id, "%s", c->id);
    snprintf(x->name, sizeof x->name, "/%s", c->name);
    rt_stats_sample cur;
    bool have = has_process(c) && rt_stats_read(&mgr(r)->cgroups, c->id, &cur, NULL) == 0;

    if (!stream) {
        if (!have || one_shot) {
            /* dockerd: a stopped container gets a zeroed object */
            api_reply_json(r, 200, stats_json(c, NULL, NULL, have ? &cur : NULL, NULL));
            if (have)
                rt_stats_sample_free(&cur);
            ctx_free(x);
            return;
        }
        keep_prev(x, &cur);
        x->r = r;
        start_timer(x, second_tick, 0);
        return;
    }

    x->s = api_reply_stream(r, 200, "application/json", stream_gone, x);
    if (!have) {
        /* Nothing will come: one zeroed object, as dockerd's first frame
         * for a stopped container, then the end. */
        api_stream_json(x->s, stats_json(c, NULL, NULL, NULL, NULL));
        api_stream_end(x->s);
        ctx_free(x);
        return;
    }
    /* The first object at once (its precpu_stats empty, as dockerd's
     * first frame), then one a second. */
    api_stream_json(x->s, stats_json(c, NULL, NULL, &cur, NULL));
    keep_prev(x, &cur);
    start_timer(x, stream_tick, STATS_INTERVAL_MS);
}

/* ---- update ------------------------------------------------------------------------ */

void api_container_update(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    berr e = {0};
    json_t *body;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (!body)
        body = json_object();
    /* PidsLimit is understood from API 1.40 on */
    if (!api_has(r, API_PIDS_LIMIT_UPDATE))
        json_object_del(body, "PidsLimit");
    json_t *warnings = json_array();
    int rc = rt_container_update(mgr(r), c, body, warnings, &e);
    json_decref(body);
    if (rc < 0) {
        json_decref(warnings);
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o}", "Warnings", warnings));
}
