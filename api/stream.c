#include "api/stream.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "api/server.h"
#include "lib/buf.h"

struct api_stream {
    api_request *r;
    buf data;                /* written, not yet sent */
    size_t off;              /* how much of data was sent */
    bool ended;
    bool gone;
    int fd;                  /* the connection's socket (MHD's) */
    bool peer_gone;          /* seen by the watch: end the request */               /* the request is over: only free remains */
    bool parked;             /* the reader suspended the connection */
    uv_poll_t *watch;        /* while parked: the socket, to see the client leave */
    void (*on_gone)(void *ctx);
    void *ctx;
    api_stream *next;        /* the server's list of open streams */
};

static void unpark(api_stream *s);

/* MHD does not look at a suspended connection, so a client that leaves an
 * idle stream (docker run -d abandons its /wait) would hold it until the
 * next write.  While parked we watch the socket ourselves; when the peer
 * has gone, resuming lets MHD find out and end the request. */
static void on_watch(uv_poll_t *p, int status, int events)
{
    (void)events;
    api_stream *s = p->data;
    char c;
    ssize_t n = status < 0 ? 0 : recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return;   /* the client sent something (pipelined); not our business */
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    uv_poll_stop(p);
    s->peer_gone = true;
    unpark(s);
}

static void watch_start(api_stream *s)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(s->r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    s->fd = ci->connect_fd;
    if (!s->watch) {
        s->watch = xcalloc(1, sizeof *s->watch);
        uv_poll_init_socket(api_server_loop(s->r->srv), s->watch, s->fd);
        s->watch->data = s;
    }
    uv_poll_start(s->watch, UV_READABLE | UV_DISCONNECT, on_watch);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    api_stream *s = cls;
    if (s->peer_gone)
        return MHD_CONTENT_READER_END_WITH_ERROR;   /* MHD closes and completes the request */
    size_t avail = s->data.len - s->off;
    if (avail == 0) {
        if (s->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        /* Nothing to send: park until the next write. */
        MHD_suspend_connection(s->r->conn);
        s->parked = true;
        watch_start(s);
        return 0;
    }
    size_t n = avail < max ? avail : max;
    memcpy(out, s->data.data + s->off, n);
    s->off += n;
    if (s->off == s->data.len) {
        buf_reset(&s->data);
        s->off = 0;
    }
    return (ssize_t)n;
}

static void unpark(api_stream *s)
{
    if (!s->parked)
        return;
    s->parked = false;
    if (s->watch)
        uv_poll_stop(s->watch);
    MHD_resume_connection(s->r->conn);
    api_server_kick(s->r->srv);
}

api_stream *api_reply_stream(api_request *r, unsigned status, const char *content_type,
                             void (*on_gone)(void *ctx), void *ctx)
{
    api_stream *s = xcalloc(1, sizeof *s);
    s->r = r;
    s->on_gone = on_gone;
    s->ctx = ctx;
    r->stream = s;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s, NULL);
    MHD_add_response_header(resp, "Content-Type", content_type);
    api_reply_response(r, status, resp);
    api_server_add_stream(r->srv, s);
    return s;
}

void api_stream_write(api_stream *s, const void *data, size_t len)
{
    if (!s || s->ended || s->gone || !len)
        return;
    buf_append(&s->data, data, len);
    unpark(s);
}

void api_stream_printf(api_stream *s, const char *fmt, ...)
{
    if (!s || s->ended || s->gone)
        return;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&s->data, fmt, ap);
    va_end(ap);
    unpark(s);
}

void api_stream_json(api_stream *s, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (text) {
        api_stream_printf(s, "%s\n", text);
        free(text);
    }
}

size_t api_stream_pending(const api_stream *s) { return s ? s->data.len - s->off : 0; }

void api_stream_end(api_stream *s)
{
    if (!s || s->ended)
        return;
    s->ended = true;
    s->on_gone = NULL;
    if (!s->gone)
        unpark(s);
}

/* Called by the server when the request is over (sent, or client gone). */
void api_stream_request_done(api_stream *s)
{
    api_server_remove_stream(s->r->srv, s);
    s->gone = true;
    void (*gone)(void *) = s->on_gone;
    s->on_gone = NULL;
    if (gone)
        gone(s->ctx);
    buf_free(&s->data);
    if (s->watch) {
        uv_poll_stop(s->watch);
        uv_close((uv_handle_t *)s->watch, (uv_close_cb)free);
    }
    free(s);
}

/* Called by the server when the daemon stops: finish the body now. */
void api_stream_shutdown(api_stream *s)
{
    void (*gone)(void *) = s->on_gone;
    s->on_gone = NULL;
    if (gone)
        gone(s->ctx);
    s->ended = true;
    unpark(s);
}

api_stream *api_stream_next(api_stream *s) { return s->next; }
void api_stream_set_next(api_stream *s, api_stream *next) { s->next = next; }
