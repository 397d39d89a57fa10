/* The embedded DNS server of one container, as Docker's 127.0.0.11.
 *
 * Queries arrive on sockets bound inside the container's namespace; the
 * daemon answers names it knows and forwards the rest to upstream servers
 * through fresh sockets made in its own namespace (so the container's
 * network policy never applies to them, as with Docker).
 *
 * Lifetime: every libuv handle belongs to a small object (a forward, one
 * upstream attempt, a TCP client) that is freed in the close callback of
 * its last handle.  r->refs counts the resolver's own handles plus those
 * live objects; after dns_resolver_stop the resolver is freed when it
 * drops to zero, so callbacks still queued in libuv never see freed
 * memory.  Objects that outlive their purpose are detached (attempt->f,
 * fwd->tc set to NULL) so their late callbacks do nothing. */
#include "netoverlay/dns/resolver.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "netoverlay/dns/dns_msg.h"

enum {
    MAX_UPSTREAMS = 3,
    MAX_FORWARDS = 100,       /* per resolver; beyond, UDP queries are dropped */
    MAX_TCP_CLIENTS = 64,
    MAX_ADDRS = 16,
    DEFAULT_TIMEOUT_MS = 2000,
    TCP_IDLE_MS = 8000,       /* as Docker's DNS library */
    ANSWER_TTL = 600,         /* Docker's TTL for container names */
    UDP_REPLY_MAX = 512,      /* our own replies stay within plain DNS */
    TCP_REPLY_MAX = 1024,     /* enough for any local answer */
    DNS_MSG_MAX = 65535,
    TCP_WRITE_QUEUE_MAX = 256 * 1024,
    HDR_LEN = 12,
};

typedef struct fwd fwd;
typedef struct attempt attempt;
typedef struct tclient tclient;

struct dns_resolver {
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_tcp_t tcp;
    bool udp_inited, tcp_inited;
    const dns_lookup_ops *ops;
    void *ctx;
    struct sockaddr_storage ups[MAX_UPSTREAMS];
    size_t n_ups;
    bool forward;
    unsigned timeout_ms;
    fwd *fwds;                /* in flight */
    size_t n_fwds;
    tclient *clients;
    size_t n_clients;
    size_t refs;
    bool stopped;
};

/* A TCP connection from the container. */
struct tclient {
    tclient *prev, *next;
    dns_resolver *r;
    uv_tcp_t tcp;
    uv_timer_t idle;
    uint8_t *rx;              /* room for one largest message plus its length */
    size_t rxlen;
    int open;                 /* handles not yet closed */
    size_t pending;           /* forwards that will answer on this connection */
    bool closing;
};

/* One query sent to one upstream, over UDP or TCP as the client asked. */
struct attempt {
    fwd *f;                   /* NULL once abandoned */
    dns_resolver *r;
    bool tcp;
    union {
        uv_handle_t h;
        uv_udp_t udp;
        uv_tcp_t tcp;
    } u;
    uv_connect_t creq;
    uv_write_t wreq;
    uint8_t *wbuf;
    uint8_t *rx;
    size_t rxlen;
};

/* A query being forwarded: tries the upstreams in turn. */
struct fwd {
    fwd *prev, *next;
    dns_resolver *r;
    tclient *tc;              /* the TCP client asking; NULL for UDP (or detached) */
    bool via_tcp;
    struct sockaddr_storage client;
    uint8_t *query;
    size_t qlen;
    dns_question q;
    size_t next_up;
    attempt *cur;
    uv_timer_t timer;
    bool finished;
};

typedef struct twrite {
    uv_write_t req;
    tclient *tc;
    uint8_t data[];
} twrite;

#define LIST_LINK(head, o) do { (o)->prev = NULL; (o)->next = (head); if (head) (head)->prev = (o); (head) = (o); } while (0)
#define LIST_UNLINK(head, o) do { \
        if ((o)->prev) (o)->prev->next = (o)->next; else (head) = (o)->next; \
        if ((o)->next) (o)->next->prev = (o)->prev; \
        (o)->prev = (o)->next = NULL; } while (0)

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void r_unref(dns_resolver *r)
{
    if (--r->refs == 0 && r->stopped)
        free(r);
}

static void on_server_closed(uv_handle_t *h) { r_unref(h->data); }

static void on_alloc_dgram(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    b->base = xmalloc(DNS_MSG_MAX);
    b->len = DNS_MSG_MAX;
}

static void udp_reply(dns_resolver *r, const uint8_t *msg, size_t len, const struct sockaddr *to)
{
    if (r->stopped || !len)
        return;
    uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
    int rc = uv_udp_try_send(&r->udp, &b, 1, to);
    if (rc < 0)
        log_debug("dns: reply not sent: %s", uv_strerror(rc));
}

/* ---- TCP clients ---- */

static void fwd_finish(fwd *f);

static void on_client_closed(uv_handle_t *h)
{
    tclient *tc = h->data;
    if (--tc->open > 0)
        return;
    dns_resolver *r = tc->r;
    free(tc->rx);
    free(tc);
    r_unref(r);
}

static void tclient_close(tclient *tc)
{
    if (tc->closing)
        return;
    tc->closing = true;
    dns_resolver *r = tc->r;
    LIST_UNLINK(r->clients, tc);
    r->n_clients--;
    /* Nobody is left to hear their answers. */
    for (fwd *f = r->fwds, *next; f; f = next) {
        next = f->next;
        if (f->tc == tc)
            fwd_finish(f);
    }
    uv_close((uv_handle_t *)&tc->tcp, on_client_closed);
    uv_close((uv_handle_t *)&tc->idle, on_client_closed);
}

static void on_client_idle(uv_timer_t *t)
{
    tclient *tc = t->data;
    if (tc->pending)  /* an upstream is still working for it */
        uv_timer_start(&tc->idle, on_client_idle, TCP_IDLE_MS, 0);
    else
        tclient_close(tc);
}

static void on_client_written(uv_write_t *req, int status)
{
    twrite *w = (twrite *)req;
    tclient *tc = w->tc;
    free(w);
    if (tc->closing)
        return;
    if (status < 0)
        tclient_close(tc);
    else
        uv_timer_start(&tc->idle, on_client_idle, TCP_IDLE_MS, 0);
}

static void tclient_send(tclient *tc, const uint8_t *msg, size_t len)
{
    if (tc->closing || !len || len > DNS_MSG_MAX)
        return;
    /* A client that pipelines queries but never reads would grow the
     * write queue without bound. */
    if (uv_stream_get_write_queue_size((uv_stream_t *)&tc->tcp) > TCP_WRITE_QUEUE_MAX) {
        tclient_close(tc);
        return;
    }
    twrite *w = xmalloc(sizeof *w + 2 + len);
    w->tc = tc;
    w->data[0] = (uint8_t)(len >> 8);
    w->data[1] = (uint8_t)len;
    memcpy(w->data + 2, msg, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)(2 + len));
    int rc = uv_write(&w->req, (uv_stream_t *)&tc->tcp, &b, 1, on_client_written);
    if (rc < 0) {
        free(w);
        tclient_close(tc);
    }
}

/* ---- forwarding ---- */

static void on_attempt_closed(uv_handle_t *h)
{
    attempt *a = h->data;
    dns_resolver *r = a->r;
    free(a->wbuf);
    free(a->rx);
    free(a);
    r_unref(r);
}

static void attempt_abandon(attempt *a)
{
    a->f = NULL;
    uv_close(&a->u.h, on_attempt_closed);
}

static void on_fwd_closed(uv_handle_t *h)
{
    fwd *f = h->data;
    dns_resolver *r = f->r;
    free(f->query);
    free(f);
    r_unref(r);
}

static void fwd_finish(fwd *f)
{
    if (f->finished)
        return;
    f->finished = true;
    dns_resolver *r = f->r;
    LIST_UNLINK(r->fwds, f);
    r->n_fwds--;
    if (f->tc) {
        f->tc->pending--;
        f->tc = NULL;
    }
    if (f->cur) {
        attempt_abandon(f->cur);
        f->cur = NULL;
    }
    uv_close((uv_handle_t *)&f->timer, on_fwd_closed);
}

/* Hands msg to the client that asked, then ends the forward. */
static void fwd_answer(fwd *f, const uint8_t *msg, size_t len)
{
    if (f->via_tcp) {
        if (f->tc)
            tclient_send(f->tc, msg, len);
    } else {
        udp_reply(f->r, msg, len, (const struct sockaddr *)&f->client);
    }
    fwd_finish(f);
}

static void fwd_fail(fwd *f)
{
    uint8_t out[UDP_REPLY_MAX];
    size_t n = dns_reply_rcode(f->query, &f->q, DNS_RCODE_SERVFAIL, out, sizeof out);
    fwd_answer(f, out, n);
}

/* An upstream's reply is taken only if it answers our query. */
static bool is_answer(const fwd *f, const uint8_t *msg, size_t len)
{
    return len >= HDR_LEN && get16(msg) == f->q.id && (msg[2] & 0x80);
}

static void fwd_try_next(fwd *f);

static void on_up_dgram(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *from, unsigned flags)
{
    (void)from;  /* the socket is connected: only the upstream gets through */
    attempt *a = h->data;
    fwd *f = a->f;
    if (f && nread < 0) {
        log_debug("dns: upstream: %s", uv_strerror((int)nread));
        fwd_try_next(f);
    } else if (f && nread > 0 && !(flags & UV_UDP_PARTIAL) && is_answer(f, (uint8_t *)b->base, (size_t)nread)) {
        fwd_answer(f, (uint8_t *)b->base, (size_t)nread);
    }
    free(b->base);
}

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    attempt *a = h->data;
    if (!a->rx)
        a->rx = xmalloc(2 + DNS_MSG_MAX);
    b->base = (char *)a->rx + a->rxlen;
    b->len = 2 + DNS_MSG_MAX - a->rxlen;
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    attempt *a = s->data;
    fwd *f = a->f;
    if (!f || nread == 0)
        return;
    if (nread < 0) {
        log_debug("dns: upstream (tcp): %s", uv_strerror((int)nread));
        fwd_try_next(f);
        return;
    }
    a->rxlen += (size_t)nread;
    if (a->rxlen < 2 || a->rxlen < 2 + (size_t)get16(a->rx))
        return;
    size_t len = get16(a->rx);
    if (is_answer(f, a->rx + 2, len))
        fwd_answer(f, a->rx + 2, len);
    else
        fwd_try_next(f);
}

static void on_up_written(uv_write_t *req, int status)
{
    attempt *a = req->data;
    if (a->f && status < 0)
        fwd_try_next(a->f);
}

static void on_up_connected(uv_connect_t *req, int status)
{
    attempt *a = req->data;
    fwd *f = a->f;
    if (!f)
        return;
    if (status < 0) {
        log_debug("dns: upstream (tcp) connect: %s", uv_strerror(status));
        fwd_try_next(f);
        return;
    }
    a->wbuf = xmalloc(2 + f->qlen);
    a->wbuf[0] = (uint8_t)(f->qlen >> 8);
    a->wbuf[1] = (uint8_t)f->qlen;
    memcpy(a->wbuf + 2, f->query, f->qlen);
    uv_buf_t b = uv_buf_init((char *)a->wbuf, (unsigned)(2 + f->qlen));
    a->wreq.data = a;
    int rc = uv_write(&a->wreq, (uv_stream_t *)&a->u.tcp, &b, 1, on_up_written);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&a->u.tcp, on_up_alloc, on_up_read);
    if (rc < 0)
        fwd_try_next(f);
}

/* Sends f's query to one upstream; NULL if that failed at once. */
static attempt *attempt_start(fwd *f, const struct sockaddr *to)
{
    dns_resolver *r = f->r;
    attempt *a = xcalloc(1, sizeof *a);
    a->f = f;
    a->r = r;
    a->tcp = f->via_tcp;
    int rc = a->tcp ? uv_tcp_init(r->loop, &a->u.tcp) : uv_udp_init(r->loop, &a->u.udp);
    if (rc < 0) {
        free(a);
        log_debug("dns: upstream socket: %s", uv_strerror(rc));
        return NULL;
    }
    a->u.h.data = a;
    r->refs++;
    if (a->tcp) {
        a->creq.data = a;
        rc = uv_tcp_connect(&a->creq, &a->u.tcp, to, on_up_connected);
    } else {
        /* Connected, so only the upstream's datagrams arrive and a closed
         * port shows as ECONNREFUSED instead of a timeout. */
        rc = uv_udp_connect(&a->u.udp, to);
        if (rc == 0) {
            uv_buf_t b = uv_buf_init((char *)f->query, (unsigned)f->qlen);
            rc = uv_udp_try_send(&a->u.udp, &b, 1, NULL);
            if (rc > 0)
                rc = 0;
        }
        if (rc == 0)
            rc = uv_udp_recv_start(&a->u.udp, on_alloc_dgram, on_up_dgram);
    }
    if (rc < 0) {
        log_debug("dns: upstream: %s", uv_strerror(rc));
        attempt_abandon(a);
        return NULL;
    }
    return a;
}

static void on_fwd_timeout(uv_timer_t *t)
{
    fwd *f = t->data;
    log_debug("dns: upstream timed out");
    fwd_try_next(f);
}

/* Abandons the current upstream and asks the next; SERVFAIL when none is
 * left. */
static void fwd_try_next(fwd *f)
{
    dns_resolver *r = f->r;
    if (f->cur) {
        attempt_abandon(f->cur);
        f->cur = NULL;
    }
    while (f->next_up < r->n_ups) {
        const struct sockaddr *to = (const struct sockaddr *)&r->ups[f->next_up++];
        f->cur = attempt_start(f, to);
        if (f->cur) {
            uv_timer_start(&f->timer, on_fwd_timeout, r->timeout_ms, 0);
            return;
        }
    }
    fwd_fail(f);
}

/* Starts forwarding query (copied); -EBUSY when too many are in flight. */
static int fwd_start(dns_resolver *r, const uint8_t *query, size_t len, const dns_question *q, tclient *tc,
                     const struct sockaddr *from)
{
    if (r->n_fwds >= MAX_FORWARDS) {
        log_debug("dns: too many forwards in flight, query for %s dropped", q->name);
        return -EBUSY;
    }
    fwd *f = xcalloc(1, sizeof *f);
    f->r = r;
    f->tc = tc;
    f->via_tcp = tc != NULL;
    if (from)
        memcpy(&f->client, from, from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                             : sizeof(struct sockaddr_in));
    f->query = xmalloc(len);
    memcpy(f->query, query, len);
    f->qlen = len;
    f->q = *q;
    uv_timer_init(r->loop, &f->timer);
    f->timer.data = f;
    LIST_LINK(r->fwds, f);
    r->n_fwds++;
    r->refs++;
    if (tc)
        tc->pending++;
    fwd_try_next(f);
    return 0;
}

/* ---- queries ---- */

enum action { ACT_DROP, ACT_REPLY, ACT_FORWARD };

/* The daemon's addresses for name (at most MAX_ADDRS, whatever the
 * callback claims); 0 when it knows none or has no callback. */
static size_t lookup4(dns_resolver *r, const char *name, struct in_addr *out)
{
    size_t n = r->ops->lookup_a ? r->ops->lookup_a(r->ctx, name, out, MAX_ADDRS) : 0;
    return n > MAX_ADDRS ? MAX_ADDRS : n;
}

static size_t lookup6(dns_resolver *r, const char *name, struct in6_addr *out)
{
    size_t n = r->ops->lookup_aaaa ? r->ops->lookup_aaaa(r->ctx, name, out, MAX_ADDRS) : 0;
    return n > MAX_ADDRS ? MAX_ADDRS : n;
}

/* Question names are lower case without a trailing dot. */
static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), l = strlen(suffix);
    return n >= l && !strcmp(name + n - l, suffix);
}

/* Decides what to do with a query; for ACT_REPLY the reply is in out. */
static enum action handle_query(dns_resolver *r, const uint8_t *msg, size_t len, dns_question *q, uint8_t *out,
                                size_t cap, size_t *outlen)
{
    *outlen = 0;
    if (dns_parse_query(msg, len, q) < 0) {
        /* Never answer a response: two resolvers could bounce it forever. */
        if (len < HDR_LEN || (msg[2] & 0x80))
            return ACT_DROP;
        int rcode = (msg[2] >> 3 & 0x0F) ? DNS_RCODE_NOTIMP : DNS_RCODE_FORMERR;
        *outlen = dns_reply_rcode(msg, NULL, rcode, out, cap);
        return *outlen ? ACT_REPLY : ACT_DROP;
    }
    if (q->qclass == DNS_CLASS_IN && q->qtype == DNS_TYPE_A) {
        struct in_addr addrs[MAX_ADDRS];
        size_t n = lookup4(r, q->name, addrs);
        if (n > 0) {
            while (n > 0 && !(*outlen = dns_reply_a(msg, q, addrs, n, ANSWER_TTL, out, cap)))
                n--;  /* as many addresses as fit */
        } else {
            struct in6_addr addrs6[MAX_ADDRS];
            /* IPv6 only: the name exists, without A.  Forwarding could
             * give a container's name some outside address. */
            if (lookup6(r, q->name, addrs6) > 0)
                *outlen = dns_reply_rcode(msg, q, DNS_RCODE_OK, out, cap);
        }
        if (*outlen)
            return ACT_REPLY;
    } else if (q->qclass == DNS_CLASS_IN && q->qtype == DNS_TYPE_AAAA) {
        struct in6_addr addrs6[MAX_ADDRS];
        size_t n = lookup6(r, q->name, addrs6);
        if (n > 0) {
            while (n > 0 && !(*outlen = dns_reply_aaaa(msg, q, addrs6, n, ANSWER_TTL, out, cap)))
                n--;
        } else {
            struct in_addr addrs[MAX_ADDRS];
            /* IPv4 only (or no IPv6 callback): the name exists, without
             * AAAA, as moby answers; not forwarded, as above. */
            if (lookup4(r, q->name, addrs) > 0)
                *outlen = dns_reply_rcode(msg, q, DNS_RCODE_OK, out, cap);
        }
        if (*outlen)
            return ACT_REPLY;
    } else if (q->qclass == DNS_CLASS_IN && q->qtype == DNS_TYPE_PTR) {
        char name[256];
        bool found;
        if (has_suffix(q->name, ".ip6.arpa")) {
            struct in6_addr a6;
            found = r->ops->lookup_ptr6 && dns_ptr_addr6(q->name, &a6) == 0 &&
                    r->ops->lookup_ptr6(r->ctx, &a6, name, sizeof name);
        } else {
            struct in_addr a;
            found = r->ops->lookup_ptr && dns_ptr_addr(q->name, &a) == 0 &&
                    r->ops->lookup_ptr(r->ctx, a, name, sizeof name);
        }
        if (found) {
            name[sizeof name - 1] = 0;
            *outlen = dns_reply_ptr(msg, q, name, ANSWER_TTL, out, cap);
            if (*outlen)
                return ACT_REPLY;
        }
    }
    if (!r->forward || r->n_ups == 0) {
        *outlen = dns_reply_rcode(msg, q, r->forward ? DNS_RCODE_SERVFAIL : DNS_RCODE_REFUSED, out, cap);
        return *outlen ? ACT_REPLY : ACT_DROP;
    }
    return ACT_FORWARD;
}

static void on_udp_query(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *from, unsigned flags)
{
    dns_resolver *r = h->data;
    if (nread < 0)
        log_debug("dns: receive: %s", uv_strerror((int)nread));
    if (nread > 0 && from && !(flags & UV_UDP_PARTIAL) && !r->stopped) {
        const uint8_t *msg = (const uint8_t *)b->base;
        uint8_t out[UDP_REPLY_MAX];
        size_t n;
        dns_question q;
        switch (handle_query(r, msg, (size_t)nread, &q, out, sizeof out, &n)) {
        case ACT_REPLY:
            udp_reply(r, out, n, from);
            break;
        case ACT_FORWARD:
            fwd_start(r, msg, (size_t)nread, &q, NULL, from);  /* dropped when busy: the client retries */
            break;
        case ACT_DROP:
            break;
        }
    }
    free(b->base);
}

static void tcp_query(tclient *tc, const uint8_t *msg, size_t len)
{
    dns_resolver *r = tc->r;
    uint8_t out[TCP_REPLY_MAX];
    size_t n;
    dns_question q;
    switch (handle_query(r, msg, len, &q, out, sizeof out, &n)) {
    case ACT_REPLY:
        tclient_send(tc, out, n);
        break;
    case ACT_FORWARD:
        if (fwd_start(r, msg, len, &q, tc, NULL) < 0) {
            n = dns_reply_rcode(msg, &q, DNS_RCODE_SERVFAIL, out, sizeof out);
            tclient_send(tc, out, n);
        }
        break;
    case ACT_DROP:
        tclient_close(tc);
        break;
    }
}

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    tclient *tc = h->data;
    if (!tc->rx)
        tc->rx = xmalloc(2 + DNS_MSG_MAX);
    b->base = (char *)tc->rx + tc->rxlen;
    b->len = 2 + DNS_MSG_MAX - tc->rxlen;
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    tclient *tc = s->data;
    if (nread < 0) {  /* EOF or error */
        tclient_close(tc);
        return;
    }
    if (nread == 0 || tc->closing)
        return;
    tc->rxlen += (size_t)nread;
    uv_timer_start(&tc->idle, on_client_idle, TCP_IDLE_MS, 0);
    /* Clients may pipeline queries (RFC 7766); the buffer always has room
     * for a whole message, so a full buffer holds at least one. */
    size_t off = 0;
    while (!tc->closing && tc->rxlen - off >= 2) {
        size_t len = get16(tc->rx + off);
        if (tc->rxlen - off < 2 + len)
            break;
        tcp_query(tc, tc->rx + off + 2, len);
        off += 2 + len;
    }
    memmove(tc->rx, tc->rx + off, tc->rxlen - off);
    tc->rxlen -= off;
}

static void on_connection(uv_stream_t *server, int status)
{
    dns_resolver *r = server->data;
    if (status < 0) {
        log_debug("dns: accept: %s", uv_strerror(status));
        return;
    }
    if (r->stopped)
        return;
    tclient *tc = xcalloc(1, sizeof *tc);
    tc->r = r;
    if (uv_tcp_init(r->loop, &tc->tcp) < 0) {
        free(tc);
        return;
    }
    tc->tcp.data = tc;
    uv_timer_init(r->loop, &tc->idle);
    tc->idle.data = tc;
    tc->open = 2;
    r->refs++;
    LIST_LINK(r->clients, tc);
    r->n_clients++;
    if (uv_accept(server, (uv_stream_t *)&tc->tcp) < 0 || r->n_clients > MAX_TCP_CLIENTS ||
        uv_read_start((uv_stream_t *)&tc->tcp, on_client_alloc, on_client_read) < 0) {
        tclient_close(tc);
        return;
    }
    uv_timer_start(&tc->idle, on_client_idle, TCP_IDLE_MS, 0);
}

/* ---- the resolver ---- */

int dns_resolver_start(uv_loop_t *loop, int udp_fd, int tcp_fd, const dns_lookup_ops *ops, void *ctx,
                       dns_resolver **out, berr *e)
{
    dns_resolver *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    r->ops = ops;
    r->ctx = ctx;
    r->timeout_ms = DEFAULT_TIMEOUT_MS;
    const char *what = "udp socket";
    int rc = uv_udp_init(loop, &r->udp);
    if (rc == 0) {
        r->udp_inited = true;
        r->udp.data = r;
        r->refs++;
        rc = uv_udp_open(&r->udp, udp_fd);
        if (rc == 0)
            udp_fd = -1;
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&r->udp, on_alloc_dgram, on_udp_query);
    if (rc == 0 && tcp_fd >= 0) {
        what = "tcp socket";
        rc = uv_tcp_init(loop, &r->tcp);
        if (rc == 0) {
            r->tcp_inited = true;
            r->tcp.data = r;
            r->refs++;
            rc = uv_tcp_open(&r->tcp, tcp_fd);
            if (rc == 0)
                tcp_fd = -1;
        }
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&r->tcp, 64, on_connection);
    }
    if (rc < 0) {
        if (udp_fd >= 0)
            close(udp_fd);
        if (tcp_fd >= 0)
            close(tcp_fd);
        dns_resolver_stop(r);
        return berr_sys(e, rc, "dns resolver: %s", what);
    }
    *out = r;
    return 0;
}

/* "a.b.c.d", "a.b.c.d:port", "x::y" or "[x::y]:port". */
static int parse_upstream(const char *s, struct sockaddr_storage *ss)
{
    char host[64];
    unsigned long port = 53;
    const char *p = s, *colon = strchr(s, ':');
    size_t hl;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end)
            return -EINVAL;
        p = s + 1;
        hl = (size_t)(end - p);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (!colon && end[1])
            return -EINVAL;
    } else if (colon && strchr(colon + 1, ':')) {
        hl = strlen(s);  /* bare IPv6 */
        colon = NULL;
    } else {
        hl = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (hl == 0 || hl >= sizeof host)
        return -EINVAL;
    memcpy(host, p, hl);
    host[hl] = 0;
    if (colon) {
        char *end;
        port = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || *end || port == 0 || port > 65535)
            return -EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return -EINVAL;
}

void dns_resolver_set_upstreams(dns_resolver *r, const char *const *servers, size_t n, bool forward)
{
    r->n_ups = 0;
    for (size_t i = 0; i < n && r->n_ups < MAX_UPSTREAMS; i++) {
        if (parse_upstream(servers[i], &r->ups[r->n_ups]) == 0)
            r->n_ups++;
        else
            log_warn("dns: ignoring upstream server \"%s\"", servers[i]);
    }
    r->forward = forward;
}

void dns_resolver_set_timeout(dns_resolver *r, unsigned ms) { r->timeout_ms = ms ? ms : DEFAULT_TIMEOUT_MS; }

void dns_resolver_stop(dns_resolver *r)
{
    if (!r || r->stopped)
        return;
    r->stopped = true;
    while (r->fwds)
        fwd_finish(r->fwds);
    while (r->clients)
        tclient_close(r->clients);
    if (r->udp_inited)
        uv_close((uv_handle_t *)&r->udp, on_server_closed);
    if (r->tcp_inited)
        uv_close((uv_handle_t *)&r->tcp, on_server_closed);
    if (r->refs == 0)
        free(r);
}
