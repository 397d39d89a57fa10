/* GET /services/{id}/logs and /tasks/{id}/logs: the json-file logs of a
 * service's task containers on this node, merged in time order, each line
 * carrying the task's identity as swarm "details"
 * ("com.docker.swarm.node.id=...,com.docker.swarm.service.id=...,
 * com.docker.swarm.task.id=... "), from which the CLI prints
 * "web.1.<task>@node | line". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/stdcopy.h"
#include "api/stream.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "runtime/container_io.h"
#include "runtime/logfile.h"

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

static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

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
        if (!strcmp(jstr(labels, "com.docker.swarm.task.id"), task_id))
            return m->list[i];
    }
    return NULL;
}

static void reply_logs(api_request *r, json_t *tasks)
{
    bool out = api_query_bool(r, "stdout", false), err = api_query_bool(r, "stderr", false);
    if (!out && !err) {
        api_reply_error(r, -EINVAL, "Bad parameters: you must choose at least one stream");
        return;
    }
    if (api_query_bool(r, "follow", false)) {
        api_reply_error(r, -ENOSYS, "following service logs is not implemented by berthd yet: drop --follow");
        return;
    }
    const char *tail_s = api_query(r, "tail");
    int64_t tail = -1;
    if (tail_s && *tail_s && strcmp(tail_s, "all"))
        tail = strtoll(tail_s, NULL, 10);
    bool details = api_query_bool(r, "details", false);
    collect c = {.timestamps = api_query_bool(r, "timestamps", false)};
    rt_log_query q = {out, err, 0, 0, tail};
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        rt_container *ctr = task_container(&r->d->containers, jstr(t, "ID"));
        if (!ctr)
            continue;
        char path[PATH_MAX];
        rt_io_log_path(&r->d->containers, ctr, path);
        cleanup_free char *d = details ? xasprintf("com.docker.swarm.node.id=%s,com.docker.swarm.service.id=%s,"
                                                   "com.docker.swarm.task.id=%s",
                                                   jstr(t, "NodeID"), jstr(t, "ServiceID"), jstr(t, "ID"))
                                       : xstrdup("");
        c.details = d;
        rt_log_read(path, 32, &q, add_line, &c, NULL, NULL);
    }
    qsort(c.lines, c.n, sizeof *c.lines, by_time);
    api_stream *s = api_reply_stream(r, 200, "application/vnd.docker.multiplexed-stream", NULL, NULL);
    for (size_t k = 0; k < c.n; k++) {
        buf frame = BUF_INIT;
        stdcopy_frame(&frame, c.lines[k].stream, c.lines[k].text, c.lines[k].len);
        api_stream_write(s, frame.data, frame.len);
        buf_free(&frame);
        free(c.lines[k].text);
    }
    free(c.lines);
    api_stream_end(s);
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
        json_array_foreach(all, i, s) if (!strcmp(jstr(json_object_get(s, "Spec"), "Name"), r->params[0]) ||
                                          !strncmp(jstr(s, "ID"), r->params[0], strlen(r->params[0]))) {
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
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.ServiceID", jstr(svc, "ID"));
    reply_logs(r, tasks);
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
    json_t *tasks = json_pack("[o]", task);
    reply_logs(r, tasks);
    json_decref(tasks);
}
