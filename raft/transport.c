/* The swarm port's transport: libraft's connections and node RPC on one
 * socket (see transport.h). */
#include "raft/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "raft/rpc_frame.h"

#define RAFT_HANDSHAKE_PROTOCOL 1
/* A peer address in libraft's handshake is a short "ip:port". */
#define MAX_HANDSHAKE_ADDRESS 256
#define MAX_PEERS 16
#define CONNECT_TIMEOUT_MS 1000

typedef struct peer {
    raft_id id;
    char *address;
} peer;

typedef struct incoming incoming;
typedef struct impl {
    uv_loop_t *loop;
    struct raft_uv_transport *outer;
    struct raft_uv_transport inner;  /* raft_uv_tcp: outgoing raft connections */
    bool inner_inited;
    raft_id id;
    char *address;                   /* this member's raft address */
    char *bind;                      /* where to listen, or NULL: address */
    uv_tcp_t *listener;
    raft_uv_accept_cb accept_cb;
    cs_rpc_handler rpc;
    void *rpc_arg;
    peer peers[MAX_PEERS];
    incoming *conns;                 /* connections not handed to libraft */
    bool closing;
    raft_uv_transport_close_cb close_cb;
    int close_pending;
} impl;

/* A connection accepted but not handed to libraft: reading its first
 * bytes, or an RPC connection. */
struct incoming {
    impl *t;
    uv_tcp_t *tcp;                   /* raft_malloc'ed: libraft frees what it is given */
    incoming *next;
    int phase;                       /* 0 magic, 1 raft preamble, 2 raft address, 3 rpc */
    unsigned char head[24];
    size_t want, got;
    char *addr;
    buf in;                          /* RPC bytes not consumed yet */
    cs_rpc_ctx *pending;             /* the request being answered */
    bool closed;
};

struct cs_rpc_ctx {
    incoming *c;                     /* NULL once the connection is gone */
};

/* Room for at least want more bytes after b->len. */
static void buf_room(buf *b, size_t want)
{
    if (b->cap - b->len >= want)
        return;
    b->cap = b->len + want;
    b->data = xrealloc(b->data, b->cap);
}

static impl *impl_of(struct raft_uv_transport *t) { return t->impl; }

/* ---- peers ------------------------------------------------------------------------ */

void cs_transport_set_peer(struct raft_uv_transport *t, raft_id id, const char *address)
{
    impl *m = impl_of(t);
    peer *slot = NULL;
    for (int i = 0; i < MAX_PEERS; i++) {
        if (m->peers[i].id == id) {
            slot = &m->peers[i];
            break;
        }
        if (!slot && m->peers[i].id == 0)
            slot = &m->peers[i];
    }
    if (!slot) {
        log_warn("cluster transport: more than %d peers; the address of %llu is not kept", MAX_PEERS,
                 (unsigned long long)id);
        return;
    }
    free(slot->address);
    slot->address = NULL;
    slot->id = 0;
    if (address && *address) {
        slot->id = id;
        slot->address = xstrdup(address);
    }
}

const char *cs_transport_peer(struct raft_uv_transport *t, raft_id id)
{
    impl *m = impl_of(t);
    for (int i = 0; i < MAX_PEERS; i++)
        if (m->peers[i].id == id && id != 0)
            return m->peers[i].address;
    return NULL;
}

void cs_transport_on_rpc(struct raft_uv_transport *t, cs_rpc_handler fn, void *arg)
{
    impl *m = impl_of(t);
    m->rpc = fn;
    m->rpc_arg = arg;
}

/* ---- incoming connections ---------------------------------------------------------- */

static void unlink_conn(incoming *c)
{
    for (incoming **p = &c->t->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

static void conn_handle_closed(uv_handle_t *h)
{
    incoming *c = h->data;
    raft_free(h);
    free(c->addr);
    buf_free(&c->in);
    free(c);
}

static void conn_close(incoming *c)
{
    if (c->closed)
        return;
    c->closed = true;
    unlink_conn(c);
    if (c->pending)
        c->pending->c = NULL;
    uv_close((uv_handle_t *)c->tcp, conn_handle_closed);
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void rpc_write_cb(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

/* Writes one frame: a 4-byte big-endian length and the JSON text. */
static int write_frame(uv_stream_t *s, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    size_t n = strlen(text);
    char *frame = xmalloc(n + 4);
    uint32_t be = htonl((uint32_t)n);
    memcpy(frame, &be, 4);
    memcpy(frame + 4, text, n);
    free(text);
    uv_write_t *w = xmalloc(sizeof *w);
    w->data = frame;
    uv_buf_t b = uv_buf_init(frame, (unsigned)(n + 4));
    int rc = uv_write(w, s, &b, 1, rpc_write_cb);
    if (rc < 0) {
        free(frame);
        free(w);
    }
    return rc;
}

static void rpc_next(incoming *c);

void cs_rpc_reply(cs_rpc_ctx *ctx, json_t *resp)
{
    incoming *c = ctx->c;
    free(ctx);
    if (!c) {
        json_decref(resp);
        return;
    }
    c->pending = NULL;
    int rc = write_frame((uv_stream_t *)c->tcp, resp ? resp : json_object());
    json_decref(resp);
    if (rc < 0) {
        conn_close(c);
        return;
    }
    rpc_next(c);
}

/* Handles the next complete request in c->in, if any (one at a time). */
static void rpc_next(incoming *c)
{
    while (!c->pending && !c->closed) {
        size_t used;
        json_t *req;
        int fr = cs_frame_take(c->in.data, c->in.len, CS_RPC_MAX_FRAME, &used, &req);
        if (fr < 0) {
            conn_close(c);
            return;
        }
        if (fr == CS_FRAME_MORE)
            return;
        memmove(c->in.data, c->in.data + used, c->in.len - used);
        c->in.len -= used;
        if (!req || !c->t->rpc) {
            json_t *err = json_pack("{s:i, s:s}", "status", -EINVAL, "error",
                                    req ? "node RPC: no handler for this request" : "node RPC: malformed request");
            json_decref(req);
            c->pending = NULL;
            if (write_frame((uv_stream_t *)c->tcp, err) < 0)
                conn_close(c);
            json_decref(err);
            continue;
        }
        cs_rpc_ctx *ctx = xcalloc(1, sizeof *ctx);
        ctx->c = c;
        c->pending = ctx;
        c->t->rpc(c->t->rpc_arg, req, ctx);
        json_decref(req);
    }
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    incoming *c = h->data;
    if (c->phase == 3) {
        buf_room(&c->in, 64 * 1024);
        *b = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
        return;
    }
    /* Exactly what the handshake still needs: the bytes after it are
     * libraft's, read by libraft from the same stream. */
    char *base = c->phase == 2 ? c->addr : (char *)c->head;
    *b = uv_buf_init(base + c->got, (unsigned)(c->want - c->got));
}

static void hand_to_raft(incoming *c)
{
    impl *t = c->t;
    raft_id id = get_le64(c->head + 8);
    uv_read_stop((uv_stream_t *)c->tcp);
    unlink_conn(c);
    c->addr[c->want - 1] = 0;
    if (t->closing || !t->accept_cb) {
        c->closed = true;
        uv_close((uv_handle_t *)c->tcp, conn_handle_closed);
        return;
    }
    uv_tcp_t *tcp = c->tcp;
    tcp->data = NULL;
    t->accept_cb(t->outer, id, c->addr, (uv_stream_t *)tcp);
    free(c->addr);
    buf_free(&c->in);
    free(c);
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    incoming *c = s->data;
    if (n == 0)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (c->phase == 3) {
        c->in.len += (size_t)n;
        rpc_next(c);
        return;
    }
    c->got += (size_t)n;
    if (c->got < c->want)
        return;
    if (c->phase == 0) {
        if (memcmp(c->head, CS_RPC_MAGIC, 8) == 0) {
            c->phase = 3;
            return;
        }
        if (get_le64(c->head) != RAFT_HANDSHAKE_PROTOCOL) {
            conn_close(c);
            return;
        }
        c->phase = 1;
        c->want = 24;
        return;
    }
    if (c->phase == 1) {
        uint64_t len = get_le64(c->head + 16);
        if (len == 0 || len > MAX_HANDSHAKE_ADDRESS || len % 8 != 0) {
            conn_close(c);
            return;
        }
        c->phase = 2;
        c->addr = xcalloc(1, len);
        c->want = len;
        c->got = 0;
        return;
    }
    hand_to_raft(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    impl *t = server->data;
    if (status < 0 || t->closing)
        return;
    incoming *c = xcalloc(1, sizeof *c);
    c->t = t;
    c->tcp = raft_malloc(sizeof *c->tcp);
    if (!c->tcp) {
        free(c);
        return;
    }
    uv_tcp_init(t->loop, c->tcp);
    c->tcp->data = c;
    if (uv_accept(server, (uv_stream_t *)c->tcp) < 0) {
        c->closed = true;
        uv_close((uv_handle_t *)c->tcp, conn_handle_closed);
        return;
    }
    uv_tcp_nodelay(c->tcp, 1);
    c->want = 8;
    c->next = t->conns;
    t->conns = c;
    uv_read_start((uv_stream_t *)c->tcp, conn_alloc, conn_read);
}

/* ---- listening ----------------------------------------------------------------------- */

static int parse_addr(const char *address, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = address ? strrchr(address, ':') : NULL;
    if (!colon || (size_t)(colon - address) >= sizeof host)
        return -EINVAL;
    snprintf(host, sizeof host, "%.*s", (int)(colon - address), address);
    return uv_ip4_addr(host, atoi(colon + 1), sa);
}

static void listener_closed(uv_handle_t *h)
{
    free(h);
}

static int start_listener(impl *m, const char *address, berr *e)
{
    struct sockaddr_in sa;
    if (parse_addr(address, &sa) < 0)
        return berr_set(e, -EINVAL, "cluster transport: %s is not an IPv4 address and port", address);
    uv_tcp_t *l = xcalloc(1, sizeof *l);
    uv_tcp_init(m->loop, l);
    l->data = m;
    int rc = uv_tcp_bind(l, (struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)l, 128, on_connection);
    if (rc < 0) {
        uv_close((uv_handle_t *)l, listener_closed);
        return berr_set(e, rc, "listen tcp %s: bind: %s", address, rc == UV_EADDRINUSE ? "address already in use" : uv_strerror(rc));
    }
    if (m->listener)
        uv_close((uv_handle_t *)m->listener, listener_closed);
    m->listener = l;
    return 0;
}

int cs_transport_set_bind(struct raft_uv_transport *t, const char *address, berr *e)
{
    impl *m = impl_of(t);
    if (m->listener && m->accept_cb) {
        /* Moving: the old listener must let go of the port first when the
         * new address overlaps it (0.0.0.0 and 127.0.0.1 on one port);
         * uv_close closes its socket at once, the callback only frees. */
        uv_tcp_t *old = m->listener;
        m->listener = NULL;
        uv_close((uv_handle_t *)old, listener_closed);
        int rc = start_listener(m, address, e);
        if (rc < 0) {
            berr ignored = {0};
            start_listener(m, m->bind ? m->bind : m->address, &ignored);
            return rc;
        }
    }
    free(m->bind);
    m->bind = xstrdup(address);
    return 0;
}

/* ---- raft_uv_transport methods ----------------------------------------------------------- */

static int tr_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    impl *m = impl_of(t);
    m->id = id;
    free(m->address);
    m->address = xstrdup(address);
    return m->inner.init(&m->inner, id, address);
}

static int tr_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    impl *m = impl_of(t);
    berr e = {0};
    if (start_listener(m, m->bind ? m->bind : m->address, &e) < 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "%s", e.msg);
        return RAFT_IOERR;
    }
    m->accept_cb = cb;
    return 0;
}

static int tr_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id, const char *address,
                      raft_uv_connect_cb cb)
{
    impl *m = impl_of(t);
    const char *known = cs_transport_peer(t, id);
    return m->inner.connect(&m->inner, req, id, known ? known : address, cb);
}

static void close_step(impl *m)
{
    if (--m->close_pending > 0)
        return;
    raft_uv_transport_close_cb cb = m->close_cb;
    m->close_cb = NULL;
    if (cb)
        cb(m->outer);
}

static void inner_closed(struct raft_uv_transport *inner)
{
    close_step(((struct raft_uv_transport *)inner->data)->impl);
}

static void listener_closed_step(uv_handle_t *h)
{
    impl *m = h->data;
    free(h);
    close_step(m);
}

static void tr_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    impl *m = impl_of(t);
    m->closing = true;
    m->close_cb = cb;
    m->close_pending = 1;
    while (m->conns)
        conn_close(m->conns);
    if (m->listener) {
        m->close_pending++;
        uv_close((uv_handle_t *)m->listener, listener_closed_step);
        m->listener = NULL;
    }
    m->close_pending++;
    m->inner.close(&m->inner, inner_closed);
    close_step(m);
}

int cs_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, berr *e)
{
    memset(t, 0, sizeof *t);
    impl *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->outer = t;
    int rv = raft_uv_tcp_init(&m->inner, loop);
    if (rv != 0) {
        free(m);
        return berr_set(e, -ENOMEM, "cluster transport: %s", raft_strerror(rv));
    }
    m->inner_inited = true;
    m->inner.data = t; /* inner_closed finds the outer transport */
    t->impl = m;
    t->init = tr_init;
    t->listen = tr_listen;
    t->connect = tr_connect;
    t->close = tr_close;
    return 0;
}

void cs_transport_release(struct raft_uv_transport *t)
{
    impl *m = impl_of(t);
    if (!m)
        return;
    if (m->inner_inited)
        raft_uv_tcp_close(&m->inner);
    for (int i = 0; i < MAX_PEERS; i++)
        free(m->peers[i].address);
    free(m->address);
    free(m->bind);
    free(m);
    t->impl = NULL;
}

/* ---- RPC client ---------------------------------------------------------------------------- */

typedef struct call {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_timer_t timer;
    char *address;
    json_t *req;
    buf in;
    cs_rpc_done done;
    void *arg;
    int handles;
    bool finished;
    bool connected;
    uint64_t deadline;           /* uv_now at which the whole call times out */
    void *owner;
    struct call *next;           /* in calls, while not finished */
} call;

/* Calls under way (all on the loop thread). */
static call *calls;

static void unlink_call(call *c)
{
    for (call **p = &calls; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

static void call_handle_closed(uv_handle_t *h)
{
    call *c = h->data;
    if (--c->handles > 0)
        return;
    free(c->address);
    json_decref(c->req);
    buf_free(&c->in);
    free(c);
}

static void call_finish(call *c, int status, json_t *resp, const berr *e)
{
    if (c->finished)
        return;
    c->finished = true;
    unlink_call(c);
    uv_timer_stop(&c->timer);
    cs_rpc_done done = c->done;
    done(c->arg, status, resp, e);
    uv_close((uv_handle_t *)&c->tcp, call_handle_closed);
    uv_close((uv_handle_t *)&c->timer, call_handle_closed);
}

static void call_fail(call *c, int status, const char *fmt, const char *detail)
{
    berr e = {0};
    berr_set(&e, status, fmt, c->address, detail);
    call_finish(c, status, NULL, &e);
}

/* A connect that does not complete (a cut link drops the SYN) is an
 * unreachable manager, told apart from one that got the request and did
 * not answer: only the first may be retried elsewhere. */
static void call_timeout(uv_timer_t *t)
{
    call *c = t->data;
    if (!c->connected) {
        call_fail(c, -EHOSTUNREACH, "could not connect to the manager at %s%s", ": connection timed out");
        return;
    }
    call_fail(c, -ETIMEDOUT, "no answer from the manager at %s%s", " in time");
}

static void call_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    call *c = h->data;
    buf_room(&c->in, 64 * 1024);
    *b = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void call_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    call *c = s->data;
    if (c->finished || n == 0)
        return;
    if (n < 0) {
        call_fail(c, -ECONNRESET, "the manager at %s closed the connection%s", n == UV_EOF ? "" : uv_strerror((int)n));
        return;
    }
    c->in.len += (size_t)n;
    size_t used;
    json_t *resp;
    int fr = cs_frame_take(c->in.data, c->in.len, CS_RPC_MAX_FRAME, &used, &resp);
    if (fr == CS_FRAME_MORE)
        return;
    if (fr < 0) {
        call_fail(c, -EPROTO, "the manager at %s sent a frame too large%s", "");
        return;
    }
    if (!resp) {
        call_fail(c, -EPROTO, "the manager at %s sent a malformed answer%s", "");
        return;
    }
    call_finish(c, 0, resp, NULL);
    json_decref(resp);
}

static void call_connected(uv_connect_t *req, int status)
{
    call *c = req->data;
    if (c->finished)
        return;
    if (status < 0) {
        char why[128];
        snprintf(why, sizeof why, ": %s", uv_strerror(status));
        call_fail(c, status == UV_ECONNREFUSED ? -ECONNREFUSED : -EHOSTUNREACH, "could not connect to the manager at %s%s",
                  why);
        return;
    }
    c->connected = true;
    /* The rest of the time is the answer's. */
    uv_timer_stop(&c->timer);
    uint64_t now = uv_now(c->timer.loop);
    uv_timer_start(&c->timer, call_timeout, c->deadline > now ? c->deadline - now : 0, 0);
    uv_tcp_nodelay(&c->tcp, 1);
    /* The magic and the request in one write. */
    char *text = json_dumps(c->req, JSON_COMPACT);
    size_t n = strlen(text);
    char *frame = xmalloc(8 + 4 + n);
    memcpy(frame, CS_RPC_MAGIC, 8);
    uint32_t be = htonl((uint32_t)n);
    memcpy(frame + 8, &be, 4);
    memcpy(frame + 12, text, n);
    free(text);
    uv_write_t *w = xmalloc(sizeof *w);
    w->data = frame;
    uv_buf_t b = uv_buf_init(frame, (unsigned)(12 + n));
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, rpc_write_cb) < 0) {
        free(frame);
        free(w);
        call_fail(c, -EIO, "could not send to the manager at %s%s", "");
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, call_alloc, call_read);
}

int cs_rpc_call(uv_loop_t *loop, const char *address, json_t *req, unsigned timeout_ms, cs_rpc_done done, void *arg,
                berr *e)
{
    return cs_rpc_call_owned(loop, NULL, address, req, timeout_ms, done, arg, e);
}

void cs_rpc_cancel(void *owner)
{
    for (call *c = calls; c;) {
        call *next = c->next;
        if (c->owner == owner && owner) {
            berr e = {0};
            berr_set(&e, -ECANCELED, "the call to %s was cancelled", c->address);
            call_finish(c, -ECANCELED, NULL, &e);
            next = calls; /* the list changed under us */
        }
        c = next;
    }
}

int cs_rpc_call_owned(uv_loop_t *loop, void *owner, const char *address, json_t *req, unsigned timeout_ms,
                      cs_rpc_done done, void *arg, berr *e)
{
    struct sockaddr_in sa;
    if (parse_addr(address, &sa) < 0)
        return berr_set(e, -EINVAL, "invalid manager address %s: an IPv4 address and a port are needed", address);
    call *c = xcalloc(1, sizeof *c);
    c->address = xstrdup(address);
    c->req = json_incref(req);
    c->done = done;
    c->arg = arg;
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c->conn.data = c;
    c->handles = 2;
    int rc = uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&sa, call_connected);
    if (rc < 0) {
        c->finished = true;
        uv_close((uv_handle_t *)&c->tcp, call_handle_closed);
        uv_close((uv_handle_t *)&c->timer, call_handle_closed);
        return berr_set(e, rc, "could not connect to the manager at %s: %s", address, uv_strerror(rc));
    }
    /* The connect gets at most a second of the whole timeout. */
    c->deadline = uv_now(loop) + timeout_ms;
    c->owner = owner;
    c->next = calls;
    calls = c;
    uv_timer_start(&c->timer, call_timeout, timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS, 0);
    return 0;
}
