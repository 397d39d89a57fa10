/* Unit tests for netoverlay/dns/resolver.c on 127.0.0.1, no root needed: the
 * resolver's sockets, fake upstream servers (UDP and TCP, on the same
 * loop) and a plain client socket, with the loop pumped while the client
 * waits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netoverlay/dns/dns_msg.h"
#include "netoverlay/dns/resolver.h"

/* ---- fake upstream: answers A 192.0.2.1 over UDP, 192.0.2.2 over TCP ---- */

typedef struct up_conn {
    uv_tcp_t tcp;
    struct upstream *up;
    uint8_t rx[2 + 65535];
    size_t len;
    bool closed;
} up_conn;

typedef struct upstream {
    uv_udp_t udp;
    uv_tcp_t tcp;
    int port;
    int queries;      /* over UDP */
    int tcp_queries;
    bool silent;
    up_conn *conns[32];
    int nconns;
} upstream;

static struct env {
    uv_loop_t loop;
    dns_resolver *r;
    int udp_port, tcp_port;
    upstream up, quiet;
    int cfd;
} E;

static size_t upstream_answer(const uint8_t *msg, size_t len, const char *addr, uint8_t *out, size_t cap)
{
    dns_question q;
    if (dns_parse_query(msg, len, &q) < 0)
        return 0;
    struct in_addr a;
    inet_pton(AF_INET, addr, &a);
    return dns_reply_a(msg, &q, &a, 1, 42, out, cap);
}

static void up_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(sz);
    b->len = sz;
}

static void up_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned flags)
{
    (void)flags;
    upstream *up = h->data;
    if (n > 0 && from) {
        up->queries++;
        uint8_t out[512];
        size_t len = upstream_answer((uint8_t *)b->base, (size_t)n, "192.0.2.1", out, sizeof out);
        if (len && !up->silent) {
            uv_buf_t ob = uv_buf_init((char *)out, (unsigned)len);
            assert_true(uv_udp_try_send(h, &ob, 1, from) > 0);
        }
    }
    free(b->base);
}

static void up_conn_closed(uv_handle_t *h)
{
    ((up_conn *)h->data)->closed = true;
}

static void up_conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    up_conn *c = h->data;
    b->base = (char *)c->rx + c->len;
    b->len = sizeof c->rx - c->len;
}

static void up_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void up_conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    up_conn *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&c->tcp, up_conn_closed);
        return;
    }
    c->len += (size_t)n;
    if (c->len < 2 || c->len < 2 + (size_t)(c->rx[0] << 8 | c->rx[1]))
        return;
    c->up->tcp_queries++;
    size_t qlen = (size_t)(c->rx[0] << 8 | c->rx[1]);
    c->len = 0;
    if (c->up->silent)
        return;
    uv_write_t *w = malloc(sizeof *w + 514);
    uint8_t *out = (uint8_t *)(w + 1);
    size_t len = upstream_answer(c->rx + 2, qlen, "192.0.2.2", out + 2, 512);
    assert_true(len > 0);
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    uv_buf_t ob = uv_buf_init((char *)out, (unsigned)(len + 2));
    assert_int_equal(uv_write(w, s, &ob, 1, up_written), 0);
}

static void up_connection(uv_stream_t *server, int status)
{
    assert_int_equal(status, 0);
    upstream *up = server->data;
    assert_true(up->nconns < 32);
    up_conn *c = calloc(1, sizeof *c);
    c->up = up;
    up->conns[up->nconns++] = c;
    uv_tcp_init(&E.loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, up_conn_alloc, up_conn_read);
}

static void upstream_start(upstream *up, bool silent)
{
    memset(up, 0, sizeof *up);
    up->silent = silent;
    /* TCP on the same port number as UDP, as a real server; the port the
     * kernel picks for UDP may be taken for TCP, so retry. */
    int ufd = -1, tfd = -1;
    for (int i = 0; i < 100 && tfd < 0; i++) {
        ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        assert_int_equal(bind(ufd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(getsockname(ufd, (struct sockaddr *)&a, &len), 0);
        tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(tfd, (struct sockaddr *)&a, sizeof a) < 0) {
            close(ufd);
            close(tfd);
            tfd = -1;
            continue;
        }
        up->port = ntohs(a.sin_port);
    }
    assert_true(tfd >= 0);
    assert_int_equal(uv_udp_init(&E.loop, &up->udp), 0);
    up->udp.data = up;
    assert_int_equal(uv_udp_open(&up->udp, ufd), 0);
    assert_int_equal(uv_udp_recv_start(&up->udp, up_alloc, up_udp_recv), 0);
    assert_int_equal(uv_tcp_init(&E.loop, &up->tcp), 0);
    up->tcp.data = up;
    assert_int_equal(uv_tcp_open(&up->tcp, tfd), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&up->tcp, 16, up_connection), 0);
}

static void upstream_close(upstream *up)
{
    uv_close((uv_handle_t *)&up->udp, NULL);
    uv_close((uv_handle_t *)&up->tcp, NULL);
    for (int i = 0; i < up->nconns; i++)
        if (!up->conns[i]->closed && !uv_is_closing((uv_handle_t *)&up->conns[i]->tcp))
            uv_close((uv_handle_t *)&up->conns[i]->tcp, up_conn_closed);
}

static void upstream_free(upstream *up)
{
    for (int i = 0; i < up->nconns; i++)
        free(up->conns[i]);
}

/* ---- the container's side ---- */

static const struct in_addr *addr(const char *s)
{
    static struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return &a;
}

static const struct in6_addr *addr6(const char *s)
{
    static struct in6_addr a;
    inet_pton(AF_INET6, s, &a);
    return &a;
}

/* Names the fakes know: web(.mynet) IPv4 only, db.mynet both, v6.mynet
 * IPv6 only, LONG_NAME sixteen IPv6 addresses. */
#define LONG_NAME "a-name-long-enough-that-sixteen-aaaa-records-overflow-512.mynet"

static size_t lookup_a(void *ctx, const char *name, struct in_addr *out, size_t max)
{
    assert_ptr_equal(ctx, &E);
    size_t n = 0;
    if (!strcmp(name, "web.mynet") || !strcmp(name, "web")) {
        out[n++] = *addr("10.0.0.2");
        if (n < max && name[3])
            out[n++] = *addr("10.0.0.3");
    } else if (!strcmp(name, "db.mynet")) {
        out[n++] = *addr("10.0.0.4");
    }
    return n;
}

static size_t lookup_aaaa(void *ctx, const char *name, struct in6_addr *out, size_t max)
{
    assert_ptr_equal(ctx, &E);
    size_t n = 0;
    if (!strcmp(name, "db.mynet")) {
        out[n++] = *addr6("fd00::4");
        if (n < max)
            out[n++] = *addr6("fd00::5");
    } else if (!strcmp(name, "v6.mynet")) {
        out[n++] = *addr6("fd00::6");
    } else if (!strcmp(name, LONG_NAME)) {
        for (; n < max && n < 16; n++) {
            out[n] = *addr6("fd00::100");
            out[n].s6_addr[15] = (uint8_t)n;
        }
    }
    return n;
}

static bool lookup_ptr(void *ctx, struct in_addr a, char *name, size_t cap)
{
    (void)ctx;
    if (a.s_addr != addr("10.0.0.2")->s_addr)
        return false;
    snprintf(name, cap, "web.mynet");
    return true;
}

static bool lookup_ptr6(void *ctx, const struct in6_addr *a, char *name, size_t cap)
{
    assert_ptr_equal(ctx, &E);
    if (memcmp(a, addr6("fd00::4"), sizeof *a))
        return false;
    snprintf(name, cap, "db.mynet");
    return true;
}

static const dns_lookup_ops ops = {lookup_a, lookup_ptr, lookup_aaaa, lookup_ptr6};
/* As the daemon's callers before IPv6: the new members left out. */
static const dns_lookup_ops ops_v4 = {.lookup_a = lookup_a, .lookup_ptr = lookup_ptr};

static int bound_socket(int type, int *port)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void use_upstreams(int n, const int *ports, bool forward)
{
    char s[3][32];
    const char *v[3];
    for (int i = 0; i < n; i++) {
        snprintf(s[i], sizeof s[i], "127.0.0.1:%d", ports[i]);
        v[i] = s[i];
    }
    dns_resolver_set_upstreams(E.r, v, (size_t)n, forward);
}

static void resolver_start(const dns_lookup_ops *o)
{
    int ufd = bound_socket(SOCK_DGRAM, &E.udp_port);
    int tfd = bound_socket(SOCK_STREAM, &E.tcp_port);
    berr e = {0};
    assert_int_equal(dns_resolver_start(&E.loop, ufd, tfd, o, &E, &E.r, &e), 0);
    dns_resolver_set_timeout(E.r, 300);
}

static int setup(void **state)
{
    (void)state;
    memset(&E, 0, sizeof E);
    assert_int_equal(uv_loop_init(&E.loop), 0);
    resolver_start(&ops);
    upstream_start(&E.up, false);
    upstream_start(&E.quiet, true);
    use_upstreams(1, &E.up.port, true);
    E.cfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(E.cfd >= 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dns_resolver_stop(E.r);
    upstream_close(&E.up);
    upstream_close(&E.quiet);
    close(E.cfd);
    uv_run(&E.loop, UV_RUN_DEFAULT);
    upstream_free(&E.up);
    upstream_free(&E.quiet);
    assert_int_equal(uv_loop_close(&E.loop), 0);
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop for up to ms, or until done(). */
static void pump(long ms, bool (*done)(void))
{
    long end = now_ms() + ms;
    while (now_ms() < end && !(done && done())) {
        uv_run(&E.loop, UV_RUN_NOWAIT);
        poll(NULL, 0, 2);
    }
}

static size_t mkquery(uint8_t *m, uint16_t id, const char *name, uint16_t type)
{
    memset(m, 0, 12);
    m[0] = (uint8_t)(id >> 8);
    m[1] = (uint8_t)id;
    m[2] = 0x01;  /* RD */
    m[5] = 1;
    size_t o = 12;
    for (const char *p = name; *p;) {
        size_t l = strcspn(p, ".");
        m[o++] = (uint8_t)l;
        memcpy(m + o, p, l);
        o += l;
        p += l + (p[l] == '.');
    }
    m[o++] = 0;
    m[o++] = (uint8_t)(type >> 8);
    m[o++] = (uint8_t)type;
    m[o++] = 0;
    m[o++] = 1;
    return o;
}

static void udp_send(const uint8_t *q, size_t len)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)E.udp_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(sendto(E.cfd, q, len, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)len);
}

/* The next datagram for the client within ms, or -1. */
static ssize_t udp_wait(uint8_t *ans, size_t cap, long ms)
{
    long end = now_ms() + ms;
    while (now_ms() < end) {
        uv_run(&E.loop, UV_RUN_NOWAIT);
        ssize_t n = recv(E.cfd, ans, cap, MSG_DONTWAIT);
        if (n >= 0)
            return n;
        struct pollfd p = {E.cfd, POLLIN, 0};
        poll(&p, 1, 2);
    }
    return -1;
}

static ssize_t udp_exchange(const uint8_t *q, size_t len, uint8_t *ans, size_t cap)
{
    udp_send(q, len);
    return udp_wait(ans, cap, 3000);
}

static int tcp_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)E.tcp_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);  /* the kernel accepts */
    return fd;
}

static void tcp_send(int fd, const uint8_t *q, size_t len)
{
    uint8_t b[600];
    b[0] = (uint8_t)(len >> 8);
    b[1] = (uint8_t)len;
    memcpy(b + 2, q, len);
    assert_int_equal(write(fd, b, len + 2), (ssize_t)(len + 2));
}

/* One length-prefixed message, or -1 after ms (0 on EOF). */
static ssize_t tcp_wait(int fd, uint8_t *ans, size_t cap, long ms)
{
    uint8_t b[2 + 65535];
    size_t have = 0;
    long end = now_ms() + ms;
    while (now_ms() < end) {
        uv_run(&E.loop, UV_RUN_NOWAIT);
        size_t want = have < 2 ? 2 : 2 + (size_t)(b[0] << 8 | b[1]);
        ssize_t n = recv(fd, b + have, want - have, MSG_DONTWAIT);
        if (n == 0)
            return 0;
        if (n > 0) {
            have += (size_t)n;
            if (have >= 2 && have == 2 + (size_t)(b[0] << 8 | b[1])) {
                assert_true(have - 2 <= cap);
                memcpy(ans, b + 2, have - 2);
                return (ssize_t)(have - 2);
            }
            continue;
        }
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 2);
    }
    return -1;
}

/* ---- reading answers ---- */

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

typedef struct answer {
    uint16_t id, flags, qd, an;
    int rcode;
    char addrs[4][INET_ADDRSTRLEN];
    char addrs6[4][INET6_ADDRSTRLEN];
    int n_aaaa;
    uint32_t ttl;
    char ptr[256];
} answer;

/* Reads replies to queries made by mkquery (question of qlen - 12 bytes). */
static void read_answer(const uint8_t *m, ssize_t n, size_t qlen, answer *a)
{
    assert_true(n >= 12);
    memset(a, 0, sizeof *a);
    a->id = g16(m);
    a->flags = g16(m + 2);
    a->rcode = m[3] & 0x0F;
    a->qd = g16(m + 4);
    a->an = g16(m + 6);
    assert_int_equal(g16(m + 10), 0);  /* no additional section */
    size_t o = a->qd ? qlen : 12;
    for (int i = 0; i < a->an; i++) {
        assert_true(o + 12 <= (size_t)n);
        assert_int_equal(g16(m + o), 0xC00C);
        uint16_t type = g16(m + o + 2), rdlen = g16(m + o + 10);
        a->ttl = (uint32_t)g16(m + o + 6) << 16 | g16(m + o + 8);
        o += 12;
        assert_true(o + rdlen <= (size_t)n);
        if (type == DNS_TYPE_A && i < 4) {
            assert_int_equal(rdlen, 4);
            inet_ntop(AF_INET, m + o, a->addrs[i], sizeof a->addrs[i]);
        } else if (type == DNS_TYPE_AAAA) {
            assert_int_equal(rdlen, 16);
            if (i < 4)
                inet_ntop(AF_INET6, m + o, a->addrs6[i], sizeof a->addrs6[i]);
            a->n_aaaa++;
        } else if (type == DNS_TYPE_PTR) {
            size_t p = o, t = 0;
            while (m[p]) {
                if (t)
                    a->ptr[t++] = '.';
                memcpy(a->ptr + t, m + p + 1, m[p]);
                t += m[p];
                p += 1 + m[p];
            }
            a->ptr[t] = 0;
        }
        o += rdlen;
    }
    assert_int_equal(o, (size_t)n);
}

/* ---- tests ---- */

static void test_known_name(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    size_t ql = mkquery(q, 0x1111, "web.mynet", DNS_TYPE_A);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x1111);
    assert_int_equal(a.flags, 0x8180);
    assert_int_equal(a.an, 2);
    assert_string_equal(a.addrs[0], "10.0.0.2");
    assert_string_equal(a.addrs[1], "10.0.0.3");
    assert_int_equal(a.ttl, 600);
    assert_memory_equal(ans + 12, q + 12, ql - 12);  /* the question as asked */

    ql = mkquery(q, 0x1112, "WEB", DNS_TYPE_A);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 1);
    assert_string_equal(a.addrs[0], "10.0.0.2");
    assert_memory_equal(ans + 12, "\3WEB", 4);
    assert_int_equal(E.up.queries, 0);
}

/* A name with IPv4 addresses only: it exists, without AAAA. */
static void test_aaaa_known(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    size_t ql = mkquery(q, 0x2222, "web.mynet", DNS_TYPE_AAAA);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x2222);
    assert_int_equal(a.rcode, DNS_RCODE_OK);
    assert_int_equal(a.an, 0);
    assert_int_equal(E.up.queries, 0);
}

static void test_aaaa_dual_stack(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    size_t ql = mkquery(q, 0x2223, "db.mynet", DNS_TYPE_AAAA);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x2223);
    assert_int_equal(a.flags, 0x8180);
    assert_int_equal(a.an, 2);
    assert_int_equal(a.n_aaaa, 2);
    assert_string_equal(a.addrs6[0], "fd00::4");
    assert_string_equal(a.addrs6[1], "fd00::5");
    assert_int_equal(a.ttl, 600);
    assert_memory_equal(ans + 12, q + 12, ql - 12);
    /* its A records are only the IPv4 ones */
    ql = mkquery(q, 0x2224, "db.mynet", DNS_TYPE_A);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 1);
    assert_int_equal(a.n_aaaa, 0);
    assert_string_equal(a.addrs[0], "10.0.0.4");
    /* over TCP too */
    int fd = tcp_client();
    ql = mkquery(q, 0x2225, "db.mynet", DNS_TYPE_AAAA);
    tcp_send(fd, q, ql);
    n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x2225);
    assert_int_equal(a.n_aaaa, 2);
    close(fd);
    assert_int_equal(E.up.queries + E.up.tcp_queries, 0);
}

/* A name with IPv6 addresses only: it exists, without A. */
static void test_a_v6_only(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    size_t ql = mkquery(q, 0x2226, "v6.mynet", DNS_TYPE_A);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x2226);
    assert_int_equal(a.rcode, DNS_RCODE_OK);
    assert_int_equal(a.an, 0);
    ql = mkquery(q, 0x2227, "v6.mynet", DNS_TYPE_AAAA);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 1);
    assert_string_equal(a.addrs6[0], "fd00::6");
    assert_int_equal(E.up.queries, 0);
}

/* Sixteen AAAA records do not fit 512 bytes after this long a question:
 * UDP gets as many as fit, TCP all. */
static void test_aaaa_as_many_as_fit(void **state)
{
    (void)state;
    uint8_t q[512], ans[1024];
    answer a;
    size_t ql = mkquery(q, 0x2228, LONG_NAME, DNS_TYPE_AAAA);
    assert_true(ql + 16 * 28 > 512 && ql + 15 * 28 <= 512);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.rcode, DNS_RCODE_OK);
    assert_int_equal(a.an, 15);
    assert_int_equal(a.n_aaaa, 15);
    assert_string_equal(a.addrs6[0], "fd00::100");
    assert_string_equal(a.addrs6[1], "fd00::101");
    int fd = tcp_client();
    tcp_send(fd, q, ql);
    n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 16);
    close(fd);
    assert_int_equal(E.up.queries + E.up.tcp_queries, 0);
}

/* The ip6.arpa name of addr: its 32 nibbles, last first. */
static void ip6_arpa(const char *addr, char *name)
{
    const struct in6_addr *a = addr6(addr);
    for (int i = 15; i >= 0; i--)
        name += sprintf(name, "%x.%x.", a->s6_addr[i] & 0xF, a->s6_addr[i] >> 4);
    strcpy(name, "ip6.arpa");
}

static void test_ptr6(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    char name[128];
    ip6_arpa("fd00::4", name);
    size_t ql = mkquery(q, 0x3335, name, DNS_TYPE_PTR);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x3335);
    assert_int_equal(a.an, 1);
    assert_string_equal(a.ptr, "db.mynet");
    assert_int_equal(a.ttl, 600);
    /* in upper case, as some resolvers ask: the same answer, the
     * question as asked */
    for (char *p = name; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    ql = mkquery(q, 0x3336, name, DNS_TYPE_PTR);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_string_equal(a.ptr, "db.mynet");
    assert_memory_equal(ans + 12, q + 12, ql - 12);
    assert_int_equal(E.up.queries, 0);
    /* an address the daemon does not know goes upstream */
    ip6_arpa("fd00::9", name);
    ql = mkquery(q, 0x3337, name, DNS_TYPE_PTR);
    n = udp_exchange(q, ql, ans, sizeof ans);
    assert_true(n > 0);
    assert_int_equal(g16(ans), 0x3337);
    assert_int_equal(E.up.queries, 1);
    /* so does a name in ip6.arpa that is not an address (a zone above) */
    ip6_arpa("fd00::4", name);
    ql = mkquery(q, 0x3338, name + 2, DNS_TYPE_PTR);
    n = udp_exchange(q, ql, ans, sizeof ans);
    assert_true(n > 0);
    assert_int_equal(g16(ans), 0x3338);
    assert_int_equal(E.up.queries, 2);
}

/* Callers that fill only lookup_a and lookup_ptr: no IPv6 at all. */
static void test_no_ipv6_ops(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    dns_resolver_stop(E.r);
    resolver_start(&ops_v4);
    use_upstreams(1, &E.up.port, true);
    /* known names exist without AAAA */
    size_t ql = mkquery(q, 0x2229, "db.mynet", DNS_TYPE_AAAA);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.rcode, DNS_RCODE_OK);
    assert_int_equal(a.an, 0);
    assert_int_equal(E.up.queries, 0);
    /* names only IPv6 would know, and ip6.arpa, are someone else's */
    ql = mkquery(q, 0x222A, "v6.mynet", DNS_TYPE_A);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_string_equal(a.addrs[0], "192.0.2.1");
    assert_int_equal(E.up.queries, 1);
    char name[128];
    ip6_arpa("fd00::4", name);
    ql = mkquery(q, 0x222B, name, DNS_TYPE_PTR);
    n = udp_exchange(q, ql, ans, sizeof ans);
    assert_true(n > 0);
    assert_int_equal(g16(ans), 0x222B);
    assert_int_equal(E.up.queries, 2);
}

static void test_ptr(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    size_t ql = mkquery(q, 0x3333, "2.0.0.10.in-addr.arpa", DNS_TYPE_PTR);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 1);
    assert_string_equal(a.ptr, "web.mynet");
    assert_int_equal(a.ttl, 600);
    assert_int_equal(E.up.queries, 0);
    /* an address the daemon does not know goes upstream */
    ql = mkquery(q, 0x3334, "9.0.0.10.in-addr.arpa", DNS_TYPE_PTR);
    n = udp_exchange(q, ql, ans, sizeof ans);
    assert_true(n > 0);
    assert_int_equal(g16(ans), 0x3334);
    assert_int_equal(E.up.queries, 1);
}

static void test_forward(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    size_t ql = mkquery(q, 0x4242, "example.com", DNS_TYPE_A);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x4242);
    assert_int_equal(a.an, 1);
    assert_string_equal(a.addrs[0], "192.0.2.1");
    assert_int_equal(a.ttl, 42);  /* the upstream's answer, verbatim */
    assert_int_equal(E.up.queries, 1);
    /* AAAA and other types of unknown names too */
    ql = mkquery(q, 0x4243, "example.com", DNS_TYPE_AAAA);
    n = udp_exchange(q, ql, ans, sizeof ans);
    assert_true(n > 0);
    assert_int_equal(g16(ans), 0x4243);
    assert_int_equal(E.up.queries, 2);
    /* a known name with another type */
    ql = mkquery(q, 0x4244, "web.mynet", 16 /* TXT */);
    n = udp_exchange(q, ql, ans, sizeof ans);
    assert_true(n > 0);
    assert_int_equal(E.up.queries, 3);
}

static void test_forward_off(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    use_upstreams(1, &E.up.port, false);
    size_t ql = mkquery(q, 0x5555, "example.com", DNS_TYPE_A);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x5555);
    assert_int_equal(a.rcode, DNS_RCODE_REFUSED);
    assert_int_equal(a.an, 0);
    assert_int_equal(E.up.queries, 0);
    /* known names still work */
    ql = mkquery(q, 0x5556, "web", DNS_TYPE_A);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 1);
}

static void test_no_upstreams(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    dns_resolver_set_upstreams(E.r, NULL, 0, true);
    size_t ql = mkquery(q, 0x5557, "example.com", DNS_TYPE_A);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.rcode, DNS_RCODE_SERVFAIL);
    /* unparsable servers are skipped */
    const char *bad[] = {"nameserver", "1.2.3.4:0", "1.2.3.4:99999", "[::1", "1.2.3.4:x"};
    dns_resolver_set_upstreams(E.r, bad, 5, true);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.rcode, DNS_RCODE_SERVFAIL);
}

static void test_dead_upstream(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    int port;
    close(bound_socket(SOCK_DGRAM, &port));  /* nobody listens there now */
    use_upstreams(1, &port, true);
    dns_resolver_set_timeout(E.r, 5000);
    size_t ql = mkquery(q, 0x6666, "example.com", DNS_TYPE_A);
    long t0 = now_ms();
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x6666);
    assert_int_equal(a.rcode, DNS_RCODE_SERVFAIL);
    assert_true(now_ms() - t0 < 2500);  /* the refusal is seen, no timeout needed */
    /* the same over TCP */
    int fd = tcp_client();
    tcp_send(fd, q, ql);
    n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.rcode, DNS_RCODE_SERVFAIL);
    close(fd);
}

static void test_silent_upstream(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    use_upstreams(1, &E.quiet.port, true);
    size_t ql = mkquery(q, 0x7777, "example.com", DNS_TYPE_A);
    long t0 = now_ms();
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    long took = now_ms() - t0;
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x7777);
    assert_int_equal(a.rcode, DNS_RCODE_SERVFAIL);
    assert_int_equal(E.quiet.queries, 1);
    assert_true(took >= 290 && took < 2000);
}

static void test_failover(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    int ports[3] = {E.quiet.port, 0, E.up.port};
    close(bound_socket(SOCK_DGRAM, &ports[1]));
    use_upstreams(3, ports, true);
    size_t ql = mkquery(q, 0x7778, "example.com", DNS_TYPE_A);
    long t0 = now_ms();
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    long took = now_ms() - t0;
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.rcode, DNS_RCODE_OK);
    assert_string_equal(a.addrs[0], "192.0.2.1");
    assert_int_equal(E.quiet.queries, 1);
    assert_int_equal(E.up.queries, 1);
    assert_true(took >= 290);
}

static void test_tcp_local(void **state)
{
    (void)state;
    uint8_t q[512], q2[512], ans[512];
    answer a;
    int fd = tcp_client();
    size_t ql = mkquery(q, 0x8888, "web.mynet", DNS_TYPE_A);
    tcp_send(fd, q, ql);
    ssize_t n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x8888);
    assert_int_equal(a.an, 2);
    assert_string_equal(a.addrs[1], "10.0.0.3");
    /* two pipelined in one write */
    size_t ql2 = mkquery(q2, 0x8889, "2.0.0.10.in-addr.arpa", DNS_TYPE_PTR);
    uint8_t both[1024];
    both[0] = 0;
    both[1] = (uint8_t)ql;
    memcpy(both + 2, q, ql);
    both[2 + ql] = 0;
    both[3 + ql] = (uint8_t)ql2;
    memcpy(both + 4 + ql, q2, ql2);
    assert_int_equal(write(fd, both, 4 + ql + ql2), (ssize_t)(4 + ql + ql2));
    n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x8888);
    n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql2, &a);
    assert_int_equal(a.id, 0x8889);
    assert_string_equal(a.ptr, "web.mynet");
    close(fd);
}

static void test_tcp_forward(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    int fd = tcp_client();
    size_t ql = mkquery(q, 0x9999, "example.com", DNS_TYPE_A);
    tcp_send(fd, q, ql);
    ssize_t n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x9999);
    assert_string_equal(a.addrs[0], "192.0.2.2");  /* went over TCP */
    assert_int_equal(E.up.tcp_queries, 1);
    assert_int_equal(E.up.queries, 0);
    /* a silent TCP upstream: SERVFAIL after the timeout */
    use_upstreams(1, &E.quiet.port, true);
    ql = mkquery(q, 0x999A, "example.com", DNS_TYPE_A);
    tcp_send(fd, q, ql);
    n = tcp_wait(fd, ans, sizeof ans, 3000);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0x999A);
    assert_int_equal(a.rcode, DNS_RCODE_SERVFAIL);
    assert_int_equal(E.quiet.tcp_queries, 1);
    close(fd);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    size_t ql = mkquery(q, 0xAAAA, "example.com", DNS_TYPE_A);
    /* question cut short: FORMERR, header only */
    ssize_t n = udp_exchange(q, ql - 3, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.id, 0xAAAA);
    assert_int_equal(a.rcode, DNS_RCODE_FORMERR);
    assert_int_equal(a.qd, 0);
    /* opcode STATUS: NOTIMP */
    q[2] = 0x10;
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.rcode, DNS_RCODE_NOTIMP);
    /* a response, or a short datagram: no answer at all */
    q[2] = 0x81;
    udp_send(q, ql);
    udp_send(q, 5);
    assert_int_equal(udp_wait(ans, sizeof ans, 200), -1);
    assert_int_equal(E.up.queries, 0);
    /* still serving */
    ql = mkquery(q, 0xAAAB, "web", DNS_TYPE_A);
    n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 1);
}

static bool quiet_has_tcp(void) { return E.quiet.tcp_queries >= 1; }

/* A TCP client that hangs up while its query is upstream. */
static void test_tcp_client_gone(void **state)
{
    (void)state;
    uint8_t q[512], ans[512];
    answer a;
    use_upstreams(1, &E.quiet.port, true);
    int fd = tcp_client();
    size_t ql = mkquery(q, 0xBBBB, "example.com", DNS_TYPE_A);
    tcp_send(fd, q, ql);
    pump(3000, quiet_has_tcp);
    assert_int_equal(E.quiet.tcp_queries, 1);
    close(fd);
    pump(400, NULL);  /* past the upstream timeout too */
    ql = mkquery(q, 0xBBBC, "web", DNS_TYPE_A);
    ssize_t n = udp_exchange(q, ql, ans, sizeof ans);
    read_answer(ans, n, ql, &a);
    assert_int_equal(a.an, 1);
}

static bool quiet_has_3(void) { return E.quiet.queries + E.quiet.tcp_queries >= 3; }

/* Stopping with forwards in flight: teardown runs the loop until every
 * handle is closed, uv_loop_close checks it, ASan checks the memory. */
static void test_stop_in_flight(void **state)
{
    (void)state;
    uint8_t q[512];
    use_upstreams(1, &E.quiet.port, true);
    dns_resolver_set_timeout(E.r, 10000);
    size_t ql = mkquery(q, 1, "a.example", DNS_TYPE_A);
    udp_send(q, ql);
    ql = mkquery(q, 2, "b.example", DNS_TYPE_A);
    udp_send(q, ql);
    int fd = tcp_client();
    ql = mkquery(q, 3, "c.example", DNS_TYPE_A);
    tcp_send(fd, q, ql);
    pump(3000, quiet_has_3);
    assert_int_equal(E.quiet.queries, 2);
    assert_int_equal(E.quiet.tcp_queries, 1);
    dns_resolver_stop(E.r);
    E.r = NULL;
    pump(50, NULL);
    uint8_t ans[512];
    assert_int_equal(tcp_wait(fd, ans, sizeof ans, 1000), 0);  /* closed, no answer */
    close(fd);
}

static bool quiet_has_100(void) { return E.quiet.queries >= 100; }

static void test_forward_cap(void **state)
{
    (void)state;
    uint8_t q[512];
    use_upstreams(1, &E.quiet.port, true);
    dns_resolver_set_timeout(E.r, 10000);
    for (int i = 0; i < 120; i++) {
        size_t ql = mkquery(q, (uint16_t)i, "example.com", DNS_TYPE_A);
        udp_send(q, ql);
    }
    pump(3000, quiet_has_100);
    pump(200, NULL);
    assert_int_equal(E.quiet.queries, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aaaa_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aaaa_dual_stack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_v6_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aaaa_as_many_as_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ptr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ptr6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ipv6_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_upstreams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
