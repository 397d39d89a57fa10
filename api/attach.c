/* Attaching to containers and reading their logs: POST .../attach (a
 * hijacked connection carrying stdin in and stdout/stderr out) and
 * GET .../logs (a stream read from the json-file log, optionally followed). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/detach_keys.h"
#include "api/handlers.h"
#include "runtime/logs/driver.h"
#include "api/hijack.h"
#include "api/versions.h"
#include "api/websocket.h"
#include "api/stdcopy.h"
#include "api/stream.h"
#include "lib/buf.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "runtime/container/io.h"
#include "runtime/logs/logfile.h"

/* ---- attach ------------------------------------------------------------------ */

typedef struct attachment {
    rt_containers *m;
    char id[DIGEST_HEX_LEN + 1];
    bool tty;
    bool want_stdin;
    bool stdin_once;
    api_hijack *h;           /* NULL until open, and after close */
    api_stream *s;           /* when the client did not ask for an upgrade */
    rt_io_sink sink;
    bool sink_on;
    detach_keys keys;
    bool detached;           /* the client typed the detach keys */
    bool stdin_ended;        /* the client closed its sending side */
    buf early_stdin;         /* typed before the container had stdin */
    bool ws;                 /* GET .../attach/ws: WebSocket frames both ways */
    int ws_opcode;           /* of what we send: binary, or text before API 1.28 */
    bool ws_done;            /* the client sent a close frame or broke the protocol */
    ws_decoder ws_in;
} attachment;

static rt_container *attached_container(attachment *a)
{
    rt_container *c;
    return rt_container_find(a->m, a->id, &c, NULL) == 0 ? c : NULL;
}

static void out_write(void *ctx, int stream, const char *data, size_t len)
{
    attachment *a = ctx;
    if (a->ws) {
        /* Never multiplexed: the raw output, one frame per write. */
        buf frame = BUF_INIT;
        ws_frame(&frame, a->ws_opcode, data, len);
        if (a->h)
            api_hijack_write(a->h, frame.data, frame.len);
        buf_free(&frame);
        return;
    }
    if (a->tty) {
        if (a->h)
            api_hijack_write(a->h, data, len);
        else
            api_stream_write(a->s, data, len);
        return;
    }
    buf frame = BUF_INIT;
    stdcopy_frame(&frame, stream, data, len);
    if (a->h)
        api_hijack_write(a->h, frame.data, frame.len);
    else
        api_stream_write(a->s, frame.data, frame.len);
    buf_free(&frame);
}

static void attachment_free(attachment *a)
{
    buf_free(&a->early_stdin);
    ws_decoder_free(&a->ws_in);
    free(a);
}

/* The container's output ended: the client's connection goes too. */
static void out_ended(void *ctx)
{
    attachment *a = ctx;
    a->sink_on = false;
    if (a->h)
        api_hijack_close(a->h);
    else if (a->s) {
        api_stream_end(a->s);
        attachment_free(a);
    }
}

static void stdin_forward(attachment *a, const char *data, size_t len)
{
    rt_container *c = attached_container(a);
    if (c && c->io && rt_io_has_stdin(c->io)) {
        if (a->early_stdin.len) {
            rt_io_stdin_write(c->io, a->early_stdin.data, a->early_stdin.len);
            buf_free(&a->early_stdin);
        }
        rt_io_stdin_write(c->io, data, len);
    } else if (c && !c->has_been_started) {
        buf_append(&a->early_stdin, data, len);   /* docker run -i: input before the start */
    }
}

/* Input from the client: to stdin, watching for the detach keys. */
static void client_input(attachment *a, const char *data, size_t len)
{
    if (!a->want_stdin || a->detached)
        return;
    buf pass = BUF_INIT;
    a->detached = detach_keys_feed(&a->keys, data, len, &pass);
    if (pass.len)
        stdin_forward(a, pass.data, pass.len);
    buf_free(&pass);
}

/* One WebSocket frame from the client.  Closing waits for ws_decode to
 * return: the hijack may be freed by it. */
static void ws_frame_in(void *ctx, int opcode, const char *data, size_t len)
{
    attachment *a = ctx;
    if (a->ws_done)
        return;
    if (opcode == WS_CONT || opcode == WS_TEXT || opcode == WS_BINARY) {
        client_input(a, data, len);
    } else if (opcode == WS_PING) {
        buf pong = BUF_INIT;
        ws_frame(&pong, WS_PONG, data, len);
        api_hijack_write(a->h, pong.data, pong.len);
        buf_free(&pong);
    } else if (opcode == WS_CLOSE) {
        buf bye = BUF_INIT;
        ws_frame(&bye, WS_CLOSE, data, len >= 2 ? 2 : 0);   /* the status code back */
        api_hijack_write(a->h, bye.data, bye.len);
        buf_free(&bye);
        a->ws_done = true;
    }
}

static void on_client_data(void *ctx, api_hijack *h, const char *data, size_t len)
{
    attachment *a = ctx;
    if (a->ws) {
        if (ws_decode(&a->ws_in, data, len, 1 << 20, ws_frame_in, a) < 0)
            a->ws_done = true;
    } else {
        client_input(a, data, len);
    }
    if (a->detached || a->ws_done)
        api_hijack_close(h);
}

/* As dockerd: the end of a client's stdin closes the container's stdin
 * only for StdinOnce without a TTY (docker run -i); detaching never does. */
static void end_stdin(attachment *a)
{
    rt_container *c = attached_container(a);
    if (a->stdin_ended || a->detached || !a->want_stdin || !a->stdin_once || a->tty || !c || !c->io)
        return;
    a->stdin_ended = true;
    if (a->early_stdin.len) {
        rt_io_stdin_write(c->io, a->early_stdin.data, a->early_stdin.len);
        buf_free(&a->early_stdin);
    }
    rt_io_stdin_close(c->io);
}

static void on_client_eof(void *ctx, api_hijack *h)
{
    (void)h;
    end_stdin(ctx);
}

static void on_open(void *ctx, api_hijack *h)
{
    (void)ctx;
    (void)h;   /* a->h was set when the reply was made */
}

static void on_close(void *ctx, api_hijack *h)
{
    (void)h;
    attachment *a = ctx;
    a->h = NULL;
    rt_container *c = attached_container(a);
    if (a->sink_on && c)
        rt_container_detach_sink(c, &a->sink);
    end_stdin(a);
    attachment_free(a);
}

static const api_hijack_ops attach_ops = {on_client_data, on_client_eof, on_open, on_close};

static void on_stream_gone(void *ctx)
{
    attachment *a = ctx;
    rt_container *c = attached_container(a);
    if (a->sink_on && c)
        rt_container_detach_sink(c, &a->sink);
    attachment_free(a);
}

/* The log written so far, for attach?logs=1. */
typedef struct replay_ctx {
    attachment *a;
} replay_ctx;

static int replay_one(void *ctx, const rt_log_entry *ent)
{
    attachment *a = ctx;
    out_write(a, ent->stream == RT_LOG_STDERR ? 2 : 1, ent->line, ent->len);
    return 0;
}

/* The attachment of c for the streams asked for, or NULL after an error
 * reply (a bad detachKeys). */
static attachment *attachment_new(api_request *r, rt_container *c, bool in, bool out, bool err)
{
    berr e = {0};
    attachment *a = xcalloc(1, sizeof *a);
    a->m = &r->d->containers;
    snprintf(a->id, sizeof a->id, "%s", c->id);
    a->tty = json_is_true(json_object_get(c->config, "Tty"));
    a->want_stdin = in && json_is_true(json_object_get(c->config, "OpenStdin"));
    a->stdin_once = json_is_true(json_object_get(c->config, "StdinOnce"));
    const char *keys = api_query(r, "detachKeys");
    if (detach_keys_parse(&a->keys, keys && *keys ? keys : "ctrl-p,ctrl-q", &e) < 0) {
        free(a);
        api_reply_berr(r, &e);
        return NULL;
    }
    a->sink = (rt_io_sink){out, err, out_write, out_ended, a, NULL};
    return a;
}

static void attach_feed(api_request *r, rt_container *c, attachment *a);

/* The container of the request, or NULL after a 404 reply. */
static rt_container *attach_target(api_request *r)
{
    berr e = {0};
    rt_container *c;
    if (rt_container_find(&r->d->containers, r->params[0], &c, &e) < 0) {
        api_reply_berr(r, &e);
        return NULL;
    }
    return c;
}

void api_container_attach(api_request *r)
{
    rt_container *c = attach_target(r);
    if (!c)
        return;
    attachment *a = attachment_new(r, c, api_query_bool(r, "stdin", false), api_query_bool(r, "stdout", false),
                                   api_query_bool(r, "stderr", false));
    if (!a)
        return;
    bool upgrade = api_wants_upgrade(r);
    const char *type = api_stream_media_type(r, !a->tty, !upgrade);
    if (upgrade)
        a->h = api_reply_hijack(r, type, &attach_ops, a);   /* the replay below needs it now */
    else
        a->s = api_reply_stream(r, 200, type, on_stream_gone, a);
    attach_feed(r, c, a);
}

/* GET .../attach/ws: the same over a WebSocket (dockerd's wsContainersAttach):
 * output in frames, raw; stdin from the client's frames.  Before API 1.42
 * every stream is attached whatever the query says. */
void api_container_attach_ws(api_request *r)
{
    rt_container *c = attach_target(r);
    if (!c)
        return;
    const char *up = api_header(r, "Upgrade"), *key = api_header(r, "Sec-WebSocket-Key"),
               *version = api_header(r, "Sec-WebSocket-Version");
    if (!up || strcasecmp(up, "websocket") || !key || !*key || !version || strcmp(version, "13")) {
        api_reply_error(r, -EINVAL, "not a WebSocket handshake: Upgrade: websocket, Sec-WebSocket-Key and "
                                    "Sec-WebSocket-Version: 13 are needed");
        return;
    }
    bool params = api_has(r, API_WS_STREAM_PARAMS);
    attachment *a = attachment_new(r, c, !params || api_query_bool(r, "stdin", false),
                                   !params || api_query_bool(r, "stdout", false),
                                   !params || api_query_bool(r, "stderr", false));
    if (!a)
        return;
    a->ws = true;
    a->ws_opcode = api_has(r, API_WS_BINARY_FRAMES) ? WS_BINARY : WS_TEXT;
    char accept[29];
    ws_accept_key(key, accept);
    a->h = api_reply_hijack_ws(r, accept, &attach_ops, a);
    attach_feed(r, c, a);
}

/* After the reply: the log so far (logs=1), then the live output (stream=1)
 * or the end. */
static void attach_feed(api_request *r, rt_container *c, attachment *a)
{
    bool stream = api_query_bool(r, "stream", false);
    if (api_query_bool(r, "logs", false)) {
        char path[PATH_MAX];
        rt_io_log_path(&r->d->containers, c, path);
        rt_log_query q = {a->sink.want_stdout, a->sink.want_stderr, 0, 0, -1};
        rt_log_read(path, 1, &q, replay_one, a, NULL, NULL);
    }
    if (stream && (rt_container_running(c) || c->state == RT_STATE_CREATED || !c->has_been_started ||
                   c->state == RT_STATE_EXITED || c->state == RT_STATE_RESTARTING)) {
        rt_container_attach_sink(c, &a->sink);
        a->sink_on = true;
    } else {
        out_ended(a);
    }
}

/* ---- logs --------------------------------------------------------------------- */

typedef struct logs_ctx {
    rt_containers *m;
    char id[DIGEST_HEX_LEN + 1];
    char path[PATH_MAX];
    api_stream *s;
    bool tty, timestamps;
    rt_log_query q;
    int64_t offset;
    rt_io_sink sink;
    bool following;
} logs_ctx;

static int emit_entry(void *ctx, const rt_log_entry *ent)
{
    logs_ctx *l = ctx;
    buf line = BUF_INIT;
    if (l->timestamps) {
        char when[TIME_RFC3339_BUF];
        time_format_rfc3339(ent->time_ns, when);
        buf_printf(&line, "%s ", when);
    }
    buf_append(&line, ent->line, ent->len);
    if (l->tty) {
        api_stream_write(l->s, line.data, line.len);
    } else {
        buf frame = BUF_INIT;
        stdcopy_frame(&frame, ent->stream == RT_LOG_STDERR ? 2 : 1, line.data, line.len);
        api_stream_write(l->s, frame.data, frame.len);
        buf_free(&frame);
    }
    buf_free(&line);
    return 0;
}

static void follow_more(void *ctx, int stream, const char *data, size_t len)
{
    (void)stream;
    (void)data;
    (void)len;
    logs_ctx *l = ctx;
    /* the log file already has the bytes: read the complete records */
    rt_log_query q = l->q;
    q.tail = -1;
    rt_log_read_from(l->path, &l->offset, &q, emit_entry, l, NULL);
}

static void follow_end(void *ctx)
{
    logs_ctx *l = ctx;
    l->following = false;
    follow_more(l, 1, NULL, 0);
    api_stream_end(l->s);
    free(l);
}

static void logs_gone(void *ctx)
{
    logs_ctx *l = ctx;
    rt_container *c;
    if (l->following && rt_container_find(l->m, l->id, &c, NULL) == 0)
        rt_container_detach_sink(c, &l->sink);
    free(l);
}

static int64_t query_time_ns(api_request *r, const char *key, berr *e, bool *bad)
{
    const char *v = api_query(r, key);
    if (!v || !*v || !strcmp(v, "0"))
        return 0;
    long long secs;
    if (time_parse_filter(v, (long long)time(NULL), &secs) < 0) {
        berr_set(e, -EINVAL, "invalid value for \"%s\": %s", key, v);
        *bad = true;
        return 0;
    }
    /* Keep a fraction given as unix time with decimals ("1767323045.123456789",
     * what the CLI sends for an RFC 3339 time), digit by digit: a double
     * has no room for nanoseconds of today's dates, and --since with the
     * time `docker logs -t` printed must still take that very line. */
    int64_t ns = (int64_t)secs * 1000000000LL;
    const char *dot = strchr(v, '.');
    if (dot && strspn(v, "0123456789") == (size_t)(dot - v) && dot > v) {
        int64_t frac = 0, scale = 100000000;
        for (const char *p = dot + 1; *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
            frac += (*p - '0') * scale;
        ns = strtoll(v, NULL, 10) * 1000000000LL + frac;
    }
    return ns;
}

void api_container_logs(api_request *r)
{
    berr e = {0};
    rt_container *c;
    if (rt_container_find(&r->d->containers, r->params[0], &c, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    bool out = api_query_bool(r, "stdout", false), err = api_query_bool(r, "stderr", false);
    if (!out && !err) {
        api_reply_error(r, -EINVAL, "Bad parameters: you must choose at least one stream");
        return;
    }
    /* json-file and local are read from their files; the remote drivers
     * from the dual-logging cache unless cache-disabled; none not at all. */
    json_t *lc = json_object_get(c->host_config, "LogConfig");
    const char *driver = json_string_value(json_object_get(lc, "Type"));
    const char *no_cache = json_string_value(json_object_get(json_object_get(lc, "Config"), "cache-disabled"));
    if (driver && (!strcmp(driver, "none") ||
                   (!rt_logdriver_readable(driver) && no_cache && !strcmp(no_cache, "true")))) {
        char msg[200];
        snprintf(msg, sizeof msg, "configured logging driver does not support reading");
        api_reply_error(r, -ENOSYS, msg);
        return;
    }
    bool bad = false;
    int64_t since = query_time_ns(r, "since", &e, &bad), until = query_time_ns(r, "until", &e, &bad);
    if (bad) {
        api_reply_berr(r, &e);
        return;
    }
    const char *tail_s = api_query(r, "tail");
    int64_t tail = -1;
    if (tail_s && *tail_s && strcmp(tail_s, "all")) {
        char *end;
        tail = strtoll(tail_s, &end, 10);
        if (*end || tail < 0)
            tail = -1;
    }
    logs_ctx *l = xcalloc(1, sizeof *l);
    l->m = &r->d->containers;
    snprintf(l->id, sizeof l->id, "%s", c->id);
    rt_io_log_path(l->m, c, l->path);
    l->tty = json_is_true(json_object_get(c->config, "Tty"));
    l->timestamps = api_query_bool(r, "timestamps", false);
    l->q = (rt_log_query){out, err, since, until, tail};
    l->s = api_reply_stream(r, 200, api_stream_media_type(r, !l->tty, false), logs_gone, l);
    if (rt_log_read(l->path, 32, &l->q, emit_entry, l, &l->offset, &e) < 0 && e.code != -ENOENT)
        log_warn("logs of %.12s: %s", c->id, e.msg);
    bool follow = api_query_bool(r, "follow", false) && until == 0 && rt_container_running(c);
    if (!follow) {
        api_stream_end(l->s);   /* an ended stream tells no one: free here */
        free(l);
        return;
    }
    l->following = true;
    l->sink = (rt_io_sink){out, err, follow_more, follow_end, l, NULL};
    rt_container_attach_sink(c, &l->sink);
}
