/* GET /services/{id}/logs and /tasks/{id}/logs: the json-file logs of a
 * service's task containers on this node, merged in time order, each line
 * carrying the task's identity as swarm "details"
 * ("com.docker.swarm.node.id=...,com.docker.swarm.service.id=...,
 * com.docker.swarm.task.id=... "), from which the CLI prints
 * "web.1.<task>@node | line".  With follow the stream stays open: the
 * running task containers are followed, and so are those the service
 * starts later, until the client leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/stdcopy.h"
#include "api/stream.h"
#include "lib/cleanup.h"
#include "lib/jsonutil.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "runtime/container/io.h"
#include "runtime/logs/logfile.h"

typedef struct log_line {
    int64_t time_ns;
    int stream;
    char *text;          /* details + line */
    size_t len;
} log_line;

typedef struct collect {
    log_line *lines;
    size_t n, cap;
    const char *details;
    bool timestamps;
} collect;

static int add_line(void *ctx, const rt_log_entry *ent)
{
    collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->lines = xrealloc(c->lines, c->cap * sizeof *c->lines);
    }
    buf b = BUF_INIT;
    if (c->timestamps) {
        char when[TIME_RFC3339_BUF];
        time_format_rfc3339(ent->time_ns, when);
        buf_printf(&b, "%s ", when);
    }
    if (*c->details)
        buf_printf(&b, "%s ", c->details);
    buf_append(&b, ent->line, ent->len);
    c->lines[c->n++] = (log_line){ent->time_ns, ent->stream == RT_LOG_STDERR ? 2 : 1, b.data, b.len};
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const log_line *x = a, *y = b;
    return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

/* The container of a task on this node, or NULL. */
static rt_container *task_container(rt_containers *m, const char *task_id)
{
    for (size_t i = 0; i < m->n; i++) {
        json_t *labels = json_object_get(m->list[i]->config, "Labels");
        if (!strcmp(json_str(labels, "com.docker.swarm.task.id"), task_id))
            return m->list[i];
    }
    return NULL;
}

/* ---- follow ------------------------------------------------------------- */

/* A followed service: its stream, and one follower per task container
 * whose output is attached; containers its tasks start later join. */
typedef struct follower {
    struct svc_follow *sf;
    struct follower *next;
    char cid[DIGEST_HEX_LEN + 1];
    char path[PATH_MAX];
    char details[256];
    int64_t offset;
    rt_io_sink sink;
    bool attached;
} follower;

typedef struct svc_follow {
    berth_daemon *d;
    api_stream *s;
    char service_id[64];
    char task_id[64];          /* /tasks/{id}/logs: that task only */
    bool details, timestamps;
    rt_log_query q;
    follower *list;
    events_listener listener;
} svc_follow;

static void details_of(json_t *labels, bool want, char out[256])
{
    if (want)
        snprintf(out, 256, "com.docker.swarm.node.id=%s,com.docker.swarm.service.id=%s,com.docker.swarm.task.id=%s",
                 json_str(labels, "com.docker.swarm.node.id"), json_str(labels, "com.docker.swarm.service.id"),
                 json_str(labels, "com.docker.swarm.task.id"));
    else
        out[0] = 0;
}

static int follow_emit(void *ctx, const rt_log_entry *ent)
{
    follower *f = ctx;
    collect c = {.details = f->details, .timestamps = f->sf->timestamps};
    add_line(&c, ent);
    buf frame = BUF_INIT;
    stdcopy_frame(&frame, c.lines[0].stream, c.lines[0].text, c.lines[0].len);
    api_stream_write(f->sf->s, frame.data, frame.len);
    buf_free(&frame);
    free(c.lines[0].text);
    free(c.lines);
    return 0;
}

static void follow_more(void *ctx, int stream, const char *data, size_t len)
{
    (void)stream;
    (void)data;
    (void)len;
    follower *f = ctx;
    rt_log_query q = f->sf->q;
    q.tail = -1;
    rt_log_read_from(f->path, &f->offset, &q, follow_emit, f, NULL);
}

static void follower_drop(follower *f)
{
    for (follower **p = &f->sf->list; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    free(f);
}

static void follow_ended(void *ctx)
{
    follower *f = ctx;
    f->attached = false;
    follow_more(f, 1, NULL, 0);
    follower_drop(f);
}

/* Follows c from the start of its log (a container that just started). */
static void follow_container(svc_follow *sf, rt_container *c)
{
    for (follower *f = sf->list; f; f = f->next)
        if (!strcmp(f->cid, c->id))
            return;
    follower *f = xcalloc(1, sizeof *f);
    f->sf = sf;
    snprintf(f->cid, sizeof f->cid, "%s", c->id);
    rt_io_log_path(&sf->d->containers, c, f->path);
    details_of(json_object_get(c->config, "Labels"), sf->details, f->details);
    f->next = sf->list;
    sf->list = f;
    follow_more(f, 1, NULL, 0);
    f->sink = (rt_io_sink){sf->q.stdout_, sf->q.stderr_, follow_more, follow_ended, f, NULL};
    rt_container_attach_sink(c, &f->sink);
    f->attached = true;
}

static bool follow_event(void *ctx, json_t *ev)
{
    svc_follow *sf = ctx;
    json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
    if (strcmp(json_str(ev, "Type"), "container") || strcmp(json_str(ev, "Action"), "start") ||
        strcmp(json_str(attrs, "com.docker.swarm.service.id"), sf->service_id) ||
        (sf->task_id[0] && strcmp(json_str(attrs, "com.docker.swarm.task.id"), sf->task_id)))
        return true;
    rt_container *c;
    const char *id = json_str(json_object_get(ev, "Actor"), "ID");
    if (rt_container_find(&sf->d->containers, id, &c, NULL) == 0)
        follow_container(sf, c);
    return true;
}

static void follow_gone(void *ctx)
{
    svc_follow *sf = ctx;
    events_unlisten(&sf->d->events, &sf->listener);
    while (sf->list) {
        follower *f = sf->list;
        rt_container *c;
        if (f->attached && rt_container_find(&sf->d->containers, f->cid, &c, NULL) == 0)
            rt_container_detach_sink(c, &f->sink);
        sf->list = f->next;
        free(f);
    }
    free(sf);
}

/* ---- the reply --------------------------------------------------------------- */

static void reply_logs(api_request *r, json_t *tasks, const char *service_id, const char *task_id)
{
    bool out = api_query_bool(r, "stdout", false), err = api_query_bool(r, "stderr", false);
    if (!out && !err) {
        api_reply_error(r, -EINVAL, "Bad parameters: you must choose at least one stream");
        return;
    }
    const char *tail_s = api_query(r, "tail");
    int64_t tail = -1;
    if (tail_s && *tail_s && strcmp(tail_s, "all"))
        tail = strtoll(tail_s, NULL, 10);
    bool details = api_query_bool(r, "details", false);
    collect c = {.timestamps = api_query_bool(r, "timestamps", false)};
    rt_log_query q = {out, err, 0, 0, tail};
    bool follow = api_query_bool(r, "follow", false);
    svc_follow *sf = NULL;
    if (follow) {
        sf = xcalloc(1, sizeof *sf);
        sf->d = r->d;
        snprintf(sf->service_id, sizeof sf->service_id, "%s", service_id);
        snprintf(sf->task_id, sizeof sf->task_id, "%s", task_id ? task_id : "");
        sf->details = details;
        sf->timestamps = c.timestamps;
        sf->q = q;
    }
    /* The backlog, merged across containers in time order. */
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        rt_container *ctr = task_container(&r->d->containers, json_str(t, "ID"));
        if (!ctr)
            continue;
        char path[PATH_MAX];
        rt_io_log_path(&r->d->containers, ctr, path);
        char d[256];
        details_of(json_object_get(ctr->config, "Labels"), details, d);
        c.details = d;
        int64_t offset = 0;
        rt_log_read(path, 32, &q, add_line, &c, &offset, NULL);
        if (sf && rt_container_running(ctr)) {
            follower *f = xcalloc(1, sizeof *f);
            f->sf = sf;
            snprintf(f->cid, sizeof f->cid, "%s", ctr->id);
            snprintf(f->path, sizeof f->path, "%s", path);
            snprintf(f->details, sizeof f->details, "%s", d);
            f->offset = offset;
            f->next = sf->list;
            sf->list = f;
        }
    }
    qsort(c.lines, c.n, sizeof *c.lines, by_time);
    api_stream *s = api_reply_stream(r, 200, "application/vnd.docker.multiplexed-stream", sf ? follow_gone : NULL, sf);
    for (size_t k = 0; k < c.n; k++) {
        buf frame = BUF_INIT;
        stdcopy_frame(&frame, c.lines[k].stream, c.lines[k].text, c.lines[k].len);
        api_stream_write(s, frame.data, frame.len);
        buf_free(&frame);
        free(c.lines[k].text);
    }
    free(c.lines);
    if (!sf) {
        api_stream_end(s);
        return;
    }
    /* Live: the running containers from where the backlog ended, and
     * those the service starts from now on, until the client leaves. */
    sf->s = s;
    for (follower *f = sf->list; f; f = f->next) {
        rt_container *ctr;
        if (rt_container_find(&r->d->containers, f->cid, &ctr, NULL) < 0)
            continue;
        f->sink = (rt_io_sink){out, err, follow_more, follow_ended, f, NULL};
        rt_container_attach_sink(ctr, &f->sink);
        f->attached = true;
    }
    sf->listener = (events_listener){.deliver = follow_event, .ctx = sf};
    events_listen(&r->d->events, &sf->listener);
}

void api_service_logs(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_service_logs);
    if (!cs)
        return;
    json_t *svc = NULL;
    if (cs_get(cs, CS_SERVICE, r->params[0], &svc, NULL) < 0) {
        json_t *all = cs_list(cs, CS_SERVICE);
        size_t i;
        json_t *s;
        json_array_foreach(all, i, s) if (!strcmp(json_str(json_object_get(s, "Spec"), "Name"), r->params[0]) ||
                                          !strncmp(json_str(s, "ID"), r->params[0], strlen(r->params[0]))) {
            svc = json_incref(s);
            break;
        }
        json_decref(all);
    }
    if (!svc) {
        char msg[300];
        snprintf(msg, sizeof msg, "service %s not found", r->params[0]);
        api_reply_error(r, -ENOENT, msg);
        return;
    }
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.ServiceID", json_str(svc, "ID"));
    reply_logs(r, tasks, json_str(svc, "ID"), NULL);
    json_decref(tasks);
    json_decref(svc);
}

void api_task_logs(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_task_logs);
    json_t *task = NULL;
    if (!cs)
        return;
    if (cs_get(cs, CS_TASK, r->params[0], &task, NULL) < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "task %s not found", r->params[0]);
        api_reply_error(r, -ENOENT, msg);
        return;
    }
    char sid[64], tid[64];
    snprintf(sid, sizeof sid, "%s", json_str(task, "ServiceID"));
    snprintf(tid, sizeof tid, "%s", json_str(task, "ID"));
    json_t *tasks = json_pack("[o]", task);
    reply_logs(r, tasks, sid, tid);
    json_decref(tasks);
}
