/* The swarm port's transport: libraft's connections and node RPC on one
 * socket, over TLS (see transport.h).  The RPC client is in
 * transport_rpc.c. */
#include "raft/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "raft/rpc_frame.h"
#include "raft/transport_int.h"

#define RAFT_HANDSHAKE_PROTOCOL 1
/* A peer address in libraft's handshake is a short "ip:port". */
#define MAX_HANDSHAKE_ADDRESS 256
#define MAX_PEERS 16
/* TCP connect and TLS handshake of a raft connection: a peer that does
 * not answer within this is retried by libraft, not waited for. */
#define RAFT_CONNECT_TIMEOUT_MS 2000
/* A connection not handed to libraft that has been idle this long (no
 * handshake, no request, no answer pending) is closed: nobody can hold
 * the port's connections without speaking. */
#define IDLE_TIMEOUT_MS 30000
#define SWEEP_MS 5000

typedef struct peer {
    raft_id id;
    char *address;
} peer;

typedef struct incoming incoming;
typedef struct outgoing outgoing;
typedef struct impl {
    uv_loop_t *loop;
    struct raft_uv_transport *outer;
    raft_id id;
    char *address;                   /* this member's raft address */
    char *bind;                      /* where to listen, or NULL: address */
    uv_tcp_t *listener;
    raft_uv_accept_cb accept_cb;
    cs_rpc_handler rpc;
    void *rpc_arg;
    cs_peer_check check;
    void *check_arg;
    tls_creds *creds;
    peer peers[MAX_PEERS];
    incoming *conns;                 /* connections not handed to libraft */
    outgoing *dials;                 /* raft connections being made */
    uv_timer_t sweep;                /* closes idle connections */
    bool sweeping;
    bool closing;
    raft_uv_transport_close_cb close_cb;
    int close_pending;
} impl;

/* A connection accepted and not handed to libraft: in its handshake or
 * preamble, or an RPC connection. */
struct incoming {
    impl *t;
    tls_conn *tls;
    incoming *next;
    bool ready;                      /* TLS handshake done, peer checked */
    int phase;                       /* 0 magic, 1 raft preamble, 2 rpc */
    buf in;                          /* plaintext not consumed yet */
    cs_peer_role role;
    char node[65];
    cs_rpc_ctx *pending;             /* the request being answered */
    uint64_t active;                 /* uv_now of the last bytes or answer */
};

struct cs_rpc_ctx {
    incoming *c;                     /* NULL once the connection is gone */
    cs_peer_role role;
    char node[65];
};

/* The process's credentials for RPC calls (one node per process). */
static tls_creds *process_creds;

tls_creds *cs_process_creds(void) { return process_creds; }

void cs_buf_room(buf *b, size_t want)
{
    if (b->cap - b->len >= want)
        return;
    b->cap = b->len + want;
    b->data = xrealloc(b->data, b->cap);
}

int cs_frame_append(buf *out, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    size_t n = strlen(text);
    uint32_t be = htonl((uint32_t)n);
    buf_append(out, &be, 4);
    buf_append(out, text, n);
    free(text);
    return 0;
}

int cs_parse_addr(const char *address, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = address ? strrchr(address, ':') : NULL;
    if (!colon || (size_t)(colon - address) >= sizeof host)
        return -EINVAL;
    snprintf(host, sizeof host, "%.*s", (int)(colon - address), address);
    return uv_ip4_addr(host, atoi(colon + 1), sa);
}

cs_peer_role cs_peer_role_of(const tls_ident *id)
{
    if (!id)
        return CS_PEER_NONE;
    if (strcmp(id->ou, TLS_ROLE_MANAGER) == 0)
        return CS_PEER_MANAGER;
    if (strcmp(id->ou, TLS_ROLE_WORKER) == 0)
        return CS_PEER_WORKER;
    return CS_PEER_NONE;
}

cs_peer_role cs_rpc_peer_role(const cs_rpc_ctx *ctx) { return ctx->role; }

const char *cs_rpc_peer_node(const cs_rpc_ctx *ctx) { return ctx->node; }

static impl *impl_of(struct raft_uv_transport *t) { return t->impl; }

/* ---- peers and credentials ------------------------------------------------------- */

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

void cs_transport_set_peer_check(struct raft_uv_transport *t, cs_peer_check fn, void *arg)
{
    impl *m = impl_of(t);
    m->check = fn;
    m->check_arg = arg;
}

void cs_rpc_set_creds(tls_creds *creds)
{
    tls_creds_ref(creds);
    tls_creds_unref(process_creds);
    process_creds = creds;
}

void cs_transport_set_creds(struct raft_uv_transport *t, tls_creds *creds)
{
    impl *m = impl_of(t);
    tls_creds_ref(creds);
    tls_creds_unref(m->creds);
    m->creds = creds;
    cs_rpc_set_creds(creds);
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

static void free_theirs(uv_handle_t *h) { raft_free(h); }

static void conn_free(incoming *c)
{
    unlink_conn(c);
    if (c->pending)
        c->pending->c = NULL;
    tls_conn_release(c->tls);
    buf_free(&c->in);
    free(c);
}

static void conn_close(incoming *c)
{
    tls_conn_close(c->tls);
    conn_free(c);
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int send_frame(incoming *c, json_t *msg)
{
    buf out = BUF_INIT;
    int rc = cs_frame_append(&out, msg);
    if (rc == 0)
        rc = tls_conn_write(c->tls, out.data, out.len);
    buf_free(&out);
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
    c->active = uv_now(c->t->loop);
    int rc = send_frame(c, resp ? resp : json_object());
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
    while (!c->pending) {
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
            int rc = send_frame(c, err);
            json_decref(err);
            if (rc < 0) {
                conn_close(c);
                return;
            }
            continue;
        }
        cs_rpc_ctx *ctx = xcalloc(1, sizeof *ctx);
        ctx->c = c;
        ctx->role = c->role;
        snprintf(ctx->node, sizeof ctx->node, "%s", c->node);
        c->pending = ctx;
        /* The handler may answer at once, and the connection may go in
         * that answer: c is not touched after the call; cs_rpc_reply
         * goes on with the next request. */
        c->t->rpc(c->t->rpc_arg, req, ctx);
        json_decref(req);
        return;
    }
}

/* The raft preamble is complete: libraft gets a stream of its own whose
 * bytes start right after it. */
static void hand_to_raft(incoming *c, size_t preamble)
{
    impl *t = c->t;
    raft_id id = get_le64((unsigned char *)c->in.data + 8);
    size_t alen = preamble - 24;
    char *addr = xcalloc(1, alen + 1);
    memcpy(addr, c->in.data + 24, alen);
    if (t->closing || !t->accept_cb) {
        free(addr);
        conn_close(c);
        return;
    }
    uv_pipe_t *theirs = raft_malloc(sizeof *theirs);
    if (!theirs) {
        free(addr);
        conn_close(c);
        return;
    }
    berr e = {0};
    tls_conn *tls = c->tls;
    int rc = tls_conn_bridge(tls, theirs, c->in.data + preamble, c->in.len - preamble, &e);
    conn_free(c);
    if (rc < 0) {
        log_warn("cluster transport: %s", e.msg);
        tls_conn_close(tls);
        uv_close((uv_handle_t *)theirs, free_theirs);
        free(addr);
        return;
    }
    t->accept_cb(t->outer, id, addr, (uv_stream_t *)theirs);
    free(addr);
}

static void conn_parse(incoming *c)
{
    if (c->phase == 2) {
        rpc_next(c);
        return;
    }
    if (c->in.len < 8)
        return;
    if (c->phase == 0) {
        if (memcmp(c->in.data, CS_RPC_MAGIC, 8) == 0) {
            memmove(c->in.data, c->in.data + 8, c->in.len - 8);
            c->in.len -= 8;
            c->phase = 2;
            rpc_next(c);
            return;
        }
        /* Raft traffic is the managers' alone. */
        if (get_le64((unsigned char *)c->in.data) != RAFT_HANDSHAKE_PROTOCOL || c->role != CS_PEER_MANAGER) {
            conn_close(c);
            return;
        }
        c->phase = 1;
    }
    if (c->in.len < 24)
        return;
    uint64_t len = get_le64((unsigned char *)c->in.data + 16);
    if (len == 0 || len > MAX_HANDSHAKE_ADDRESS || len % 8 != 0) {
        conn_close(c);
        return;
    }
    if (c->in.len < 24 + len)
        return;
    c->in.data[24 + len - 1] = 0;
    hand_to_raft(c, 24 + len);
}

static void in_ready(void *arg, int status, const char *why)
{
    incoming *c = arg;
    if (status < 0) {
        log_debug("cluster transport: incoming connection refused: %s", why ? why : "TLS failed");
        conn_free(c); /* the TLS connection closed itself */
        return;
    }
    const tls_ident *peer = tls_conn_peer(c->tls);
    if (peer) {
        char reason[256] = "";
        if (c->t->check && !c->t->check(c->t->check_arg, peer, reason, sizeof reason)) {
            log_info("cluster transport: refused node %s (%s): %s", peer->cn, peer->ou,
                     reason[0] ? reason : "not accepted");
            conn_close(c);
            return;
        }
        c->role = cs_peer_role_of(peer);
        snprintf(c->node, sizeof c->node, "%s", peer->cn);
    }
    c->ready = true;
}

static void in_data(void *arg, const char *p, size_t n)
{
    incoming *c = arg;
    if (c->in.len + n > (size_t)CS_RPC_MAX_FRAME + 64) {
        conn_close(c);
        return;
    }
    buf_append(&c->in, p, n);
    c->active = uv_now(c->t->loop);
    if (!c->pending)
        conn_parse(c);
}

static void in_gone(void *arg, int status)
{
    (void)status;
    conn_free(arg); /* the TLS connection closed itself */
}

static const tls_conn_ops in_ops = {.ready = in_ready, .data = in_data, .gone = in_gone};

static void refuse_closed(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *server, int status)
{
    impl *t = server->data;
    if (status < 0 || t->closing)
        return;
    if (!t->creds || !tls_creds_cert(t->creds)) {
        /* No certificate yet (a node joining): nothing to serve with. */
        uv_tcp_t *tcp = xcalloc(1, sizeof *tcp);
        uv_tcp_init(t->loop, tcp);
        uv_accept(server, (uv_stream_t *)tcp);
        uv_close((uv_handle_t *)tcp, refuse_closed);
        return;
    }
    incoming *c = xcalloc(1, sizeof *c);
    c->t = t;
    berr e = {0};
    if (tls_conn_accept(server, t->creds, &in_ops, c, &c->tls, &e) < 0) {
        free(c);
        return;
    }
    /* c->tls stays valid memory until conn_free, closed or not: a late
     * answer (cs_rpc_reply) or the idle sweep may still reach it. */
    tls_conn_hold(c->tls);
    c->active = uv_now(t->loop);
    c->next = t->conns;
    t->conns = c;
}

static void sweep_idle(uv_timer_t *timer)
{
    impl *t = timer->data;
    uint64_t now = uv_now(t->loop);
    for (incoming *c = t->conns, *next; c; c = next) {
        next = c->next;
        if (!c->pending && now - c->active >= IDLE_TIMEOUT_MS)
            conn_close(c);
    }
}

/* ---- listening ----------------------------------------------------------------------- */

static void listener_closed(uv_handle_t *h)
{
    free(h);
}

static int start_listener(impl *m, const char *address, berr *e)
{
    struct sockaddr_in sa;
    if (cs_parse_addr(address, &sa) < 0)
        return berr_set(e, -EINVAL, "cluster transport: %s is not an IPv4 address and port", address);
    uv_tcp_t *l = xcalloc(1, sizeof *l);
    uv_tcp_init(m->loop, l);
    l->data = m;
    int rc = uv_tcp_bind(l, (struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)l, 128, on_connection);
    if (rc < 0) {
        uv_close((uv_handle_t *)l, listener_closed);
        return berr_set(e, rc, "listen tcp %s: bind: %s", address,
                        rc == UV_EADDRINUSE ? "address already in use" : uv_strerror(rc));
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

/* ---- outgoing raft connections ------------------------------------------------------------ */

struct outgoing {
    impl *m;
    struct raft_uv_connect *req;
    raft_uv_connect_cb cb;
    tls_conn *tls;
    uv_timer_t timer;
    outgoing *next;
};

static void dial_freed(uv_handle_t *h) { free(h->data); }

/* Answers libraft (stream NULL unless status 0) and forgets the dial. */
static void dial_finish(outgoing *o, struct uv_stream_s *stream, int status)
{
    for (outgoing **p = &o->m->dials; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            break;
        }
    uv_timer_stop(&o->timer);
    uv_close((uv_handle_t *)&o->timer, dial_freed);
    o->cb(o->req, stream, status);
}

static void dial_timeout(uv_timer_t *t)
{
    outgoing *o = t->data;
    tls_conn_close(o->tls);
    dial_finish(o, NULL, RAFT_NOCONNECTION);
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

static void dial_ready(void *arg, int status, const char *why)
{
    outgoing *o = arg;
    impl *m = o->m;
    if (status < 0) {
        log_debug("cluster transport: raft connection failed: %s", why ? why : "");
        dial_finish(o, NULL, RAFT_NOCONNECTION); /* the TLS connection closed itself */
        return;
    }
    /* The member is one the raft configuration names: any certificate of
     * the cluster that passes the peer check will do (a promoted node
     * may still hold its worker certificate until it has read its
     * promotion from the log this connection carries). */
    const tls_ident *peer = tls_conn_peer(o->tls);
    char reason[256] = "";
    if (cs_peer_role_of(peer) == CS_PEER_NONE ||
        (m->check && !m->check(m->check_arg, peer, reason, sizeof reason))) {
        log_warn("cluster transport: a raft peer's certificate was refused%s%s", reason[0] ? ": " : "", reason);
        tls_conn_close(o->tls);
        dial_finish(o, NULL, RAFT_NOCONNECTION);
        return;
    }
    /* raft_uv_tcp's handshake: protocol, our raft ID, the padded length
     * of our address, the address NUL-padded. */
    size_t alen = (strlen(m->address) + 1 + 7) / 8 * 8;
    size_t n = 24 + alen;
    unsigned char *hs = xcalloc(1, n);
    put_le64(hs, RAFT_HANDSHAKE_PROTOCOL);
    put_le64(hs + 8, m->id);
    put_le64(hs + 16, alen);
    memcpy(hs + 24, m->address, strlen(m->address));
    int rc = tls_conn_write(o->tls, hs, n);
    free(hs);
    uv_pipe_t *theirs = rc == 0 ? raft_malloc(sizeof *theirs) : NULL;
    berr e = {0};
    if (!theirs || tls_conn_bridge(o->tls, theirs, NULL, 0, &e) < 0) {
        tls_conn_close(o->tls);
        if (theirs)
            uv_close((uv_handle_t *)theirs, free_theirs);
        dial_finish(o, NULL, RAFT_NOCONNECTION);
        return;
    }
    dial_finish(o, (struct uv_stream_s *)theirs, 0);
}

static void dial_gone(void *arg, int status)
{
    (void)arg;
    (void)status; /* not reached: the dial is finished at ready */
}

static const tls_conn_ops dial_ops = {.ready = dial_ready, .gone = dial_gone};

/* ---- raft_uv_transport methods ----------------------------------------------------------- */

static int tr_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    impl *m = impl_of(t);
    m->id = id;
    free(m->address);
    m->address = xstrdup(address);
    return 0;
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
    uv_timer_init(m->loop, &m->sweep);
    m->sweep.data = m;
    m->sweeping = true;
    uv_timer_start(&m->sweep, sweep_idle, SWEEP_MS, SWEEP_MS);
    return 0;
}

static int tr_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id, const char *address,
                      raft_uv_connect_cb cb)
{
    impl *m = impl_of(t);
    const char *known = cs_transport_peer(t, id);
    struct sockaddr_in sa;
    if (m->closing || !m->creds || !tls_creds_cert(m->creds) || cs_parse_addr(known ? known : address, &sa) < 0)
        return RAFT_NOCONNECTION; /* libraft retries after its delay */
    outgoing *o = xcalloc(1, sizeof *o);
    o->m = m;
    o->req = req;
    o->cb = cb;
    berr e = {0};
    if (tls_conn_connect(m->loop, (struct sockaddr *)&sa, m->creds, &dial_ops, o, &o->tls, &e) < 0) {
        free(o);
        return RAFT_NOCONNECTION;
    }
    uv_timer_init(m->loop, &o->timer);
    o->timer.data = o;
    uv_timer_start(&o->timer, dial_timeout, RAFT_CONNECT_TIMEOUT_MS, 0);
    o->next = m->dials;
    m->dials = o;
    return 0;
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

static void listener_closed_step(uv_handle_t *h)
{
    impl *m = h->data;
    free(h);
    close_step(m);
}

static void sweep_closed_step(uv_handle_t *h)
{
    close_step(h->data);
}

static void tr_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    impl *m = impl_of(t);
    m->closing = true;
    m->close_cb = cb;
    m->close_pending = 1;
    while (m->conns)
        conn_close(m->conns);
    while (m->dials) {
        outgoing *o = m->dials;
        tls_conn_close(o->tls);
        dial_finish(o, NULL, RAFT_CANCELED);
    }
    if (m->listener) {
        m->close_pending++;
        uv_close((uv_handle_t *)m->listener, listener_closed_step);
        m->listener = NULL;
    }
    if (m->sweeping) {
        m->sweeping = false;
        m->close_pending++;
        uv_close((uv_handle_t *)&m->sweep, sweep_closed_step);
    }
    close_step(m);
}

int cs_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, berr *e)
{
    (void)e;
    memset(t, 0, sizeof *t);
    impl *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->outer = t;
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
    for (int i = 0; i < MAX_PEERS; i++)
        free(m->peers[i].address);
    if (process_creds == m->creds && m->creds) {
        tls_creds_unref(process_creds);
        process_creds = NULL;
    }
    tls_creds_unref(m->creds);
    free(m->address);
    free(m->bind);
    free(m);
    t->impl = NULL;
}
