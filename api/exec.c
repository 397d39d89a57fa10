/* docker exec: create, start (hijacked or detached), inspect, resize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/detach_keys.h"
#include "api/handlers.h"
#include "api/hijack.h"
#include "api/stdcopy.h"
#include "api/versions.h"
#include "node/daemon.h"
#include "runtime/container/exec.h"

void api_exec_create(api_request *r)
{
    berr e = {0};
    rt_container *c;
    if (rt_container_find(&r->d->containers, r->params[0], &c, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    json_t *body;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        api_reply_error(r, -EINVAL, "No exec command specified");
        return;
    }
    rt_exec *x;
    int rc = rt_exec_create(&r->d->containers, c, body, &x, &e);
    json_decref(body);
    if (rc < 0) {
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 201, json_pack("{s:s}", "Id", x->id));
}

static rt_exec *exec_target(api_request *r)
{
    rt_exec *x = rt_exec_find(&r->d->containers, r->params[0]);
    if (!x) {
        char msg[200];
        snprintf(msg, sizeof msg, "No such exec instance: %s", r->params[0]);
        api_reply_error(r, -ENOENT, msg);
    }
    return x;
}

void api_exec_inspect(api_request *r)
{
    rt_exec *x = exec_target(r);
    if (!x)
        return;
    json_t *cmd = json_object_get(x->config, "Cmd");
    json_t *args = json_array();
    for (size_t i = 1; i < json_array_size(cmd); i++)
        json_array_append(args, json_array_get(cmd, i));
    const char *user = json_string_value(json_object_get(x->config, "User"));
    json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:b, s:b, s:b, s:{s:o, s:s, s:b, s:b, s:s}, s:b, s:i}", "CanRemove", 0,
                          "ContainerID", x->container_id, "DetachKeys", "", "ID", x->id, "OpenStderr",
                          json_is_true(json_object_get(x->config, "AttachStderr")), "OpenStdin",
                          json_is_true(json_object_get(x->config, "AttachStdin")), "OpenStdout",
                          json_is_true(json_object_get(x->config, "AttachStdout")), "ProcessConfig", "arguments", args,
                          "entrypoint", json_string_value(json_array_get(cmd, 0)) ?: "", "privileged",
                          json_is_true(json_object_get(x->config, "Privileged")), "tty",
                          json_is_true(json_object_get(x->config, "Tty")), "user", user ? user : "", "Running",
                          x->running, "Pid", x->pid);
    json_object_set_new(o, "ExitCode", x->exited ? json_integer(x->exit_code) : json_null());
    api_reply_json(r, 200, o);
}

void api_exec_resize(api_request *r)
{
    rt_exec *x = exec_target(r);
    if (!x)
        return;
    berr e = {0};
    const char *h = api_query(r, "h"), *w = api_query(r, "w");
    if (!x->io) {
        api_reply_error(r, -EBUSY, "the exec instance is not running");
        return;
    }
    if (!h || !w || rt_io_resize(x->io, (unsigned)atoi(h), (unsigned)atoi(w), &e) < 0) {
        if (!e.code)
            berr_set(&e, -EINVAL, "h and w are required");
        api_reply_berr(r, &e);
        return;
    }
    api_reply_empty(r, 201);
}

/* ---- start ----------------------------------------------------------------- */

typedef struct exec_session {
    rt_containers *m;
    char id[DIGEST_HEX_LEN + 1];
    bool tty;
    api_hijack *h;
    rt_io_sink sink;
    detach_keys keys;
} exec_session;

static void session_write(void *ctx, int stream, const char *data, size_t len)
{
    exec_session *s = ctx;
    if (!s->h)
        return;
    if (s->tty) {
        api_hijack_write(s->h, data, len);
        return;
    }
    buf frame = BUF_INIT;
    stdcopy_frame(&frame, stream, data, len);
    api_hijack_write(s->h, frame.data, frame.len);
    buf_free(&frame);
}

static void session_ended(void *ctx)
{
    exec_session *s = ctx;
    if (s->h)
        api_hijack_close(s->h);
}

static void session_open(void *ctx, api_hijack *h)
{
    exec_session *s = ctx;
    s->h = h;
    rt_exec *x = rt_exec_find(s->m, s->id);
    berr e = {0};
    if (!x || rt_exec_start(s->m, x, &s->sink, &e) < 0) {
        /* dockerd reports a failed start in the stream itself */
        char msg[600];
        int n = snprintf(msg, sizeof msg, "OCI runtime exec failed: %s\r\n", x ? e.msg : "no such exec instance");
        session_write(s, 2, msg, (size_t)n);
        api_hijack_close(h);
    }
}

static void session_data(void *ctx, api_hijack *h, const char *data, size_t len)
{
    exec_session *s = ctx;
    rt_exec *x = rt_exec_find(s->m, s->id);
    buf pass = BUF_INIT;
    bool detach = detach_keys_feed(&s->keys, data, len, &pass);
    if (x && x->io && pass.len)
        rt_io_stdin_write(x->io, pass.data, pass.len);
    buf_free(&pass);
    if (detach)
        api_hijack_close(h);
}

static void session_eof(void *ctx, api_hijack *h)
{
    (void)h;
    exec_session *s = ctx;
    rt_exec *x = rt_exec_find(s->m, s->id);
    if (x && x->io)
        rt_io_stdin_close(x->io);
}

static void session_close(void *ctx, api_hijack *h)
{
    (void)h;
    exec_session *s = ctx;
    s->h = NULL;
    rt_exec *x = rt_exec_find(s->m, s->id);
    if (x && x->io)
        rt_io_remove_sink(x->io, &s->sink);
    free(s);
}

static const api_hijack_ops session_ops = {session_data, session_eof, session_open, session_close};

void api_exec_start(api_request *r)
{
    rt_exec *x = exec_target(r);
    if (!x)
        return;
    berr e = {0};
    json_t *body = NULL;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    bool detach = json_is_true(json_object_get(body, "Detach"));
    /* The framing follows the Tty of this request, not the exec's own
     * (whether it has a terminal), as in dockerd's exec start route. */
    bool tty = json_is_true(json_object_get(body, "Tty"));
    json_decref(body);
    if (x->started) {
        char msg[200];
        snprintf(msg, sizeof msg, "Error: Exec command %s is already running", x->id);
        api_reply_error(r, -EBUSY, msg);
        return;
    }
    rt_container *c;
    if (rt_container_find(&r->d->containers, x->container_id, &c, &e) < 0 || !rt_container_running(c)) {
        char msg[200];
        snprintf(msg, sizeof msg, "container %s is not running", x->container_id);
        api_reply_error(r, -EBUSY, msg);
        return;
    }
    if (detach) {
        if (rt_exec_start(&r->d->containers, x, NULL, &e) < 0)
            api_reply_berr(r, &e);
        else
            api_reply_empty(r, 200);
        return;
    }
    exec_session *s = xcalloc(1, sizeof *s);
    s->m = &r->d->containers;
    snprintf(s->id, sizeof s->id, "%s", x->id);
    s->tty = tty;
    const char *keys = json_string_value(json_object_get(x->config, "DetachKeys"));
    detach_keys_parse(&s->keys, keys && *keys ? keys : "ctrl-p,ctrl-q", NULL);
    s->sink = (rt_io_sink){json_is_true(json_object_get(x->config, "AttachStdout")),
                           json_is_true(json_object_get(x->config, "AttachStderr")), session_write, session_ended, s,
                           NULL};
    api_reply_hijack(r, api_stream_media_type(r, !s->tty, !api_wants_upgrade(r)), &session_ops, s);
}
