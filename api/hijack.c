#include "api/hijack.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "api/server.h"
#include "lib/buf.h"
#include "lib/log.h"

struct api_hijack {
    api_server *srv;
    struct MHD_UpgradeResponseHandle *urh;
    int fd;
    uv_poll_t poll;
    int events;              /* what poll watches now */
    buf out;
    size_t out_off;
    bool closing;            /* close once out is drained */
    bool read_eof;
    bool closed;
    bool in_upgrade;         /* inside MHD's upgrade callback */
    bool held;               /* output waits until the client has read the 101 */
    uv_timer_t hold_timer;
    uint64_t hold_since;     /* loop time the hold began */
    int handles;             /* open uv handles; h is freed when none is left */
    const api_hijack_ops *ops;
    void *ctx;
    api_hijack *next;        /* the server's list */
};

bool api_wants_upgrade(api_request *r)
{
    const char *up = api_header(r, "Upgrade");
    const char *conn = api_header(r, "Connection");
    return up && conn && strcasestr(conn, "upgrade");
}

static void update_poll(api_hijack *h);

static void on_handle_closed(uv_handle_t *handle)
{
    api_hijack *h = handle->data;
    if (--h->handles > 0)
        return;
    buf_free(&h->out);
    free(h);
}

static void finish(api_hijack *h)
{
    if (h->closed)
        return;
    h->closed = true;
    api_server_remove_hijack(h->srv, h);
    uv_poll_stop(&h->poll);
    uv_timer_stop(&h->hold_timer);
    /* MHD owns the socket: it closes it, on its next run (make that now,
     * or the client waits for EOF until something else wakes MHD). */
    MHD_upgrade_action(h->urh, MHD_UPGRADE_ACTION_CLOSE);
    api_server_kick(h->srv);
    if (h->ops->on_close)
        h->ops->on_close(h->ctx, h);
    uv_close((uv_handle_t *)&h->poll, on_handle_closed);
    uv_close((uv_handle_t *)&h->hold_timer, on_handle_closed);
}

static void flush(api_hijack *h)
{
    if (h->in_upgrade || h->held)
        return;
    while (h->out_off < h->out.len) {
        ssize_t n = send(h->fd, h->out.data + h->out_off, h->out.len - h->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            finish(h);   /* the client is gone */
            return;
        }
        h->out_off += (size_t)n;
    }
    buf_reset(&h->out);
    h->out_off = 0;
    if (h->closing)
        finish(h);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    api_hijack *h = p->data;
    if (status < 0) {
        finish(h);
        return;
    }
    if (events & UV_WRITABLE)
        flush(h);
    if (h->closed)
        return;
    if (events & (UV_READABLE | UV_DISCONNECT)) {
        char block[32 * 1024];
        ssize_t n = recv(h->fd, block, sizeof block, 0);
        if (n > 0) {
            if (h->ops->on_data)
                h->ops->on_data(h->ctx, h, block, (size_t)n);
        } else if (n == 0) {
            h->read_eof = true;
            if (h->ops->on_eof)
                h->ops->on_eof(h->ctx, h);
        } else if (errno != EAGAIN && errno != EINTR) {
            finish(h);
            return;
        }
    }
    if (!h->closed)
        update_poll(h);
}

static void update_poll(api_hijack *h)
{
    /* closing asks for writable too: the next turn flushes and finishes */
    bool sending = !h->held && (h->out.len > h->out_off || h->closing);
    int want = (h->read_eof ? 0 : UV_READABLE) | (sending ? UV_WRITABLE : 0);
    if (!want)
        want = UV_DISCONNECT;
    if (want != h->events) {
        h->events = want;
        uv_poll_start(&h->poll, want, on_poll);
    }
}

/* Clients read the 101 through a buffered reader and then switch to the bare
 * socket (docker-py does): bytes that arrive together with the header stay
 * in that buffer and are lost to them, so a command that prints at once lost
 * its first bytes, and a short replay all of it.  dockerd's own delays hide
 * this; here output waits until the client has taken the header off the
 * socket (SIOCOUTQ: on a Unix socket, what the peer has not read yet; on TCP,
 * what it has not acknowledged), for at most HOLD_MAX_MS. */
#define HOLD_MAX_MS 2000

static void release_hold(api_hijack *h)
{
    h->held = false;
    uv_timer_stop(&h->hold_timer);
    if (!h->closed)
        update_poll(h);
}

static bool header_read(api_hijack *h)
{
    int unread = 0;
    if (ioctl(h->fd, SIOCOUTQ, &unread) < 0)
        return true;   /* cannot tell: do not hold */
    return unread == 0;
}

static void on_hold_tick(uv_timer_t *t)
{
    api_hijack *h = t->data;
    if (header_read(h) || uv_now(t->loop) - h->hold_since >= HOLD_MAX_MS)
        release_hold(h);
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    (void)con_cls;
    api_hijack *h = cls;
    h->urh = urh;
    h->fd = sock;
    uv_loop_t *loop = api_server_loop(h->srv);
    uv_poll_init_socket(loop, &h->poll, sock);
    h->poll.data = h;
    uv_timer_init(loop, &h->hold_timer);
    h->hold_timer.data = h;
    h->handles = 2;
    if (!header_read(h)) {
        h->held = true;
        h->hold_since = uv_now(loop);
        uv_timer_start(&h->hold_timer, on_hold_tick, 1, 1);
    }
    api_server_add_hijack(h->srv, h);
    h->in_upgrade = true;
    if (h->ops->on_open)
        h->ops->on_open(h->ctx, h);
    if (extra_in_size && h->ops->on_data)
        h->ops->on_data(h->ctx, h, extra_in, extra_in_size);
    h->in_upgrade = false;
    /* Writing and closing wait for the poll: MHD loses a close requested
     * from inside its own upgrade callback. */
    if (!h->closed)
        update_poll(h);
}

/* The 101 reply with headers (name, value pairs, NULL-ended). */
static api_hijack *reply_upgrade(api_request *r, const char *const *headers, const api_hijack_ops *ops, void *ctx)
{
    api_hijack *h = xcalloc(1, sizeof *h);
    h->srv = r->srv;
    h->fd = -1;
    h->ops = ops;
    h->ctx = ctx;
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, h);
    for (const char *const *p = headers; *p; p += 2)
        MHD_add_response_header(resp, p[0], p[1]);
    api_reply_response(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    return h;
}

api_hijack *api_reply_hijack(api_request *r, const char *content_type, const api_hijack_ops *ops, void *ctx)
{
    const char *headers[] = {"Upgrade", "tcp", "Connection", "Upgrade", "Content-Type", content_type, NULL};
    return reply_upgrade(r, headers, ops, ctx);
}

api_hijack *api_reply_hijack_ws(api_request *r, const char *accept, const api_hijack_ops *ops, void *ctx)
{
    const char *headers[] = {"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", accept, NULL};
    return reply_upgrade(r, headers, ops, ctx);
}

void api_hijack_write(api_hijack *h, const void *data, size_t len)
{
    if (h->closed || h->closing || !len)
        return;
    buf_append(&h->out, data, len);
    if (h->fd >= 0)
        update_poll(h);
}

size_t api_hijack_pending(const api_hijack *h) { return h->out.len - h->out_off; }

void api_hijack_close(api_hijack *h)
{
    if (h->closed || h->closing)
        return;
    h->closing = true;
    if (h->fd < 0 || h->in_upgrade)
        return;   /* not open yet, or inside MHD's callback: the poll finishes it */
    if (h->out.len == h->out_off)
        finish(h);
    else
        update_poll(h);
}

/* For the server at shutdown. */
void api_hijack_shutdown(api_hijack *h) { finish(h); }
api_hijack *api_hijack_next(api_hijack *h) { return h->next; }
void api_hijack_set_next(api_hijack *h, api_hijack *next) { h->next = next; }
