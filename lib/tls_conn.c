/* TLS 1.3 over libuv TCP connections (see tls_conn.h).
 *
 * GnuTLS reads and writes through memory: its pull function takes from
 * the ciphertext libuv has read (EAGAIN when there is none yet), its push
 * function queues a uv_write and never blocks, so the handshake and the
 * records advance as bytes arrive. */
#include "lib/tls_conn.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/buf.h"

/* TLS 1.3 only; no session tickets (every connection is a full handshake
 * with certificates, so a stolen ticket cannot stand in for one). */
#define TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define READ_CHUNK (64 * 1024)

struct tls_creds {
    int refs;
    gnutls_certificate_credentials_t x;
    char *ca, *cert, *key;
    tls_ident ident;
};

tls_creds *tls_creds_new(const char *ca_pem, const char *cert_pem, const char *key_pem, berr *e)
{
    if ((cert_pem == NULL) != (key_pem == NULL)) {
        berr_set(e, -EINVAL, "TLS credentials need both a certificate and its key");
        return NULL;
    }
    tls_creds *c = xcalloc(1, sizeof *c);
    c->refs = 1;
    int rc = gnutls_certificate_allocate_credentials(&c->x);
    if (rc < 0) {
        berr_set(e, -ENOMEM, "TLS credentials: %s", gnutls_strerror(rc));
        free(c);
        return NULL;
    }
    if (ca_pem) {
        gnutls_datum_t d = {(unsigned char *)ca_pem, (unsigned)strlen(ca_pem)};
        if ((rc = gnutls_certificate_set_x509_trust_mem(c->x, &d, GNUTLS_X509_FMT_PEM)) <= 0) {
            berr_set(e, -EINVAL, "the CA certificate is not a PEM certificate: %s",
                     rc < 0 ? gnutls_strerror(rc) : "none found");
            goto fail;
        }
        c->ca = xstrdup(ca_pem);
    }
    if (cert_pem) {
        if (tls_key_matches(cert_pem, key_pem, e) < 0 || tls_cert_ident(cert_pem, &c->ident, e) < 0)
            goto fail;
        gnutls_datum_t cd = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
        gnutls_datum_t kd = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
        if ((rc = gnutls_certificate_set_x509_key_mem2(c->x, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
            berr_set(e, -EINVAL, "the node certificate or key is not usable: %s", gnutls_strerror(rc));
            goto fail;
        }
        c->cert = xstrdup(cert_pem);
        c->key = xstrdup(key_pem);
    }
    return c;
fail:
    tls_creds_unref(c);
    return NULL;
}

tls_creds *tls_creds_ref(tls_creds *c)
{
    if (c)
        c->refs++;
    return c;
}

void tls_creds_unref(tls_creds *c)
{
    if (!c || --c->refs > 0)
        return;
    gnutls_certificate_free_credentials(c->x);
    free(c->ca);
    free(c->cert);
    tls_free_secret(c->key);
    free(c);
}

const char *tls_creds_ca(const tls_creds *c) { return c ? c->ca : NULL; }
const char *tls_creds_cert(const tls_creds *c) { return c ? c->cert : NULL; }
const char *tls_creds_key(const tls_creds *c) { return c ? c->key : NULL; }
const tls_ident *tls_creds_ident(const tls_creds *c) { return c && c->cert ? &c->ident : NULL; }

/* ---- connections ---------------------------------------------------------------- */

struct tls_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_pipe_t pipe;            /* our end of the bridge */
    gnutls_session_t session;
    bool session_inited;
    tls_creds *creds;
    bool server;
    const tls_conn_ops *ops;
    void *arg;
    buf in;                    /* ciphertext not taken by GnuTLS yet */
    size_t in_off;
    char *rbuf;                /* libuv reads here */
    bool handshaken, closing, bridged, piped;
    int handles;
    int holds;                 /* owners keeping the memory (tls_conn_hold) */
    bool has_peer;
    tls_ident peer;
};

typedef struct wreq {
    uv_write_t w;
    char data[];
} wreq;

static void wreq_done(uv_write_t *w, int status)
{
    (void)status; /* a broken connection shows up as a read error too */
    free(w);
}

static int queue_write(uv_stream_t *s, const void *p, size_t n)
{
    wreq *r = xmalloc(sizeof *r + n);
    memcpy(r->data, p, n);
    uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
    int rc = uv_write(&r->w, s, &b, 1, wreq_done);
    if (rc < 0)
        free(r);
    return rc;
}

static void conn_free_mem(tls_conn *c)
{
    if (c->session_inited)
        gnutls_deinit(c->session);
    tls_creds_unref(c->creds);
    buf_free(&c->in);
    free(c->rbuf);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    tls_conn *c = h->data;
    if (--c->handles > 0 || c->holds > 0)
        return;
    conn_free_mem(c);
}

void tls_conn_hold(tls_conn *c) { c->holds++; }

void tls_conn_release(tls_conn *c)
{
    if (!c || --c->holds > 0)
        return;
    /* Closed with its handles gone: the memory goes now; else with the
     * last handle (a bridged connection closes itself). */
    if (c->closing && c->handles == 0)
        conn_free_mem(c);
}

void tls_conn_close(tls_conn *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
    if (c->piped)
        uv_close((uv_handle_t *)&c->pipe, handle_closed);
}

/* Before ready: ready(status); after: gone(status); bridged: nothing. */
static void conn_fail(tls_conn *c, int status, const char *why)
{
    if (c->closing)
        return;
    const tls_conn_ops *ops = c->ops;
    void *arg = c->arg;
    bool was_ready = c->handshaken;
    bool bridged = c->bridged;
    tls_conn_close(c);
    if (bridged)
        return;
    if (!was_ready && ops->ready)
        ops->ready(arg, status, why);
    else if (was_ready && ops->gone)
        ops->gone(arg, status);
}

static ssize_t pull_fn(gnutls_transport_ptr_t p, void *data, size_t n)
{
    tls_conn *c = p;
    size_t avail = c->in.len - c->in_off;
    if (avail == 0) {
        gnutls_transport_set_errno(c->session, EAGAIN);
        return -1;
    }
    if (n > avail)
        n = avail;
    memcpy(data, c->in.data + c->in_off, n);
    c->in_off += n;
    if (c->in_off == c->in.len)
        c->in_off = c->in.len = 0;
    return (ssize_t)n;
}

static ssize_t push_fn(gnutls_transport_ptr_t p, const void *data, size_t n)
{
    tls_conn *c = p;
    if (c->closing || queue_write((uv_stream_t *)&c->tcp, data, n) < 0) {
        gnutls_transport_set_errno(c->session, EPIPE);
        return -1;
    }
    return (ssize_t)n;
}

static void deliver(tls_conn *c, const char *p, size_t n)
{
    if (c->bridged) {
        if (queue_write((uv_stream_t *)&c->pipe, p, n) < 0)
            conn_fail(c, -EPIPE, "the bridge is closed");
        return;
    }
    if (c->ops->data)
        c->ops->data(c->arg, p, n);
}

/* Plaintext records until GnuTLS needs more ciphertext. */
static void recv_records(tls_conn *c)
{
    char out[16 * 1024 + 256];
    while (!c->closing) {
        ssize_t n = gnutls_record_recv(c->session, out, sizeof out);
        if (n > 0) {
            deliver(c, out, (size_t)n);
            continue;
        }
        if (n == 0) {
            conn_fail(c, 0, "closed");
            return;
        }
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            return;
        if (!gnutls_error_is_fatal((int)n))
            continue;
        conn_fail(c, -EPROTO, gnutls_strerror((int)n));
        return;
    }
}

/* The peer's certificate, verified against the CA; false closes. */
static bool check_peer(tls_conn *c, const char **why)
{
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(c->session, &n);
    if (!certs || n == 0) {
        /* A server always sends one; a client without one is a node
         * asking for its first certificate. */
        if (!c->server && c->creds->ca) {
            *why = "the server sent no certificate";
            return false;
        }
        return true;
    }
    if (!c->creds->ca)
        return true; /* a client that trusts nothing yet: its owner pins what it gets */
    unsigned status = 0;
    if (gnutls_certificate_verify_peers2(c->session, &status) < 0 || status != 0) {
        *why = "x509: certificate signed by unknown authority or not valid now";
        return false;
    }
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return false;
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        *why = "the peer's certificate is malformed";
        return false;
    }
    memset(&c->peer, 0, sizeof c->peer);
    size_t size = sizeof c->peer.cn;
    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, c->peer.cn, &size) < 0)
        c->peer.cn[0] = 0;
    size = sizeof c->peer.ou;
    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, 0, c->peer.ou, &size) < 0)
        c->peer.ou[0] = 0;
    size = sizeof c->peer.o;
    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, 0, c->peer.o, &size) < 0)
        c->peer.o[0] = 0;
    c->peer.not_before = gnutls_x509_crt_get_activation_time(crt);
    c->peer.not_after = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_x509_crt_deinit(crt);
    c->has_peer = true;
    return true;
}

static void advance(tls_conn *c)
{
    if (!c->handshaken) {
        int rc = gnutls_handshake(c->session);
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
            return;
        if (rc < 0) {
            conn_fail(c, -EPROTO, gnutls_strerror(rc));
            return;
        }
        const char *why = "the peer's certificate was refused";
        if (!check_peer(c, &why)) {
            conn_fail(c, -EACCES, why);
            return;
        }
        c->handshaken = true;
        if (c->ops->ready)
            c->ops->ready(c->arg, 0, NULL);
        if (c->closing)
            return;
    }
    recv_records(c);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    tls_conn *c = h->data;
    if (!c->rbuf)
        c->rbuf = xmalloc(READ_CHUNK);
    *b = uv_buf_init(c->rbuf, READ_CHUNK);
}

static void tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    tls_conn *c = s->data;
    if (c->closing || n == 0)
        return;
    if (n < 0) {
        conn_fail(c, n == UV_EOF ? 0 : -ECONNRESET, n == UV_EOF ? "closed" : uv_strerror((int)n));
        return;
    }
    buf_append(&c->in, b->base, (size_t)n);
    advance(c);
}

static int start_session(tls_conn *c, berr *e)
{
    unsigned flags = (c->server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS;
    int rc = gnutls_init(&c->session, flags);
    if (rc < 0)
        return berr_set(e, -ENOMEM, "TLS: %s", gnutls_strerror(rc));
    c->session_inited = true;
    const char *errpos = NULL;
    if ((rc = gnutls_priority_set_direct(c->session, TLS_PRIORITY, &errpos)) < 0 ||
        (rc = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, c->creds->x)) < 0)
        return berr_set(e, -EINVAL, "TLS: %s", gnutls_strerror(rc));
    if (c->server)
        gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_REQUEST);
    gnutls_transport_set_ptr(c->session, c);
    gnutls_transport_set_pull_function(c->session, pull_fn);
    gnutls_transport_set_push_function(c->session, push_fn);
    uv_tcp_nodelay(&c->tcp, 1);
    int urc = uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_read);
    if (urc < 0)
        return berr_set(e, urc, "TLS: %s", uv_strerror(urc));
    return 0;
}

static tls_conn *conn_new(uv_loop_t *loop, tls_creds *creds, bool server, const tls_conn_ops *ops, void *arg)
{
    tls_conn *c = xcalloc(1, sizeof *c);
    c->creds = tls_creds_ref(creds);
    c->server = server;
    c->ops = ops;
    c->arg = arg;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->handles = 1;
    return c;
}

int tls_conn_accept(uv_stream_t *server, tls_creds *creds, const tls_conn_ops *ops, void *arg, tls_conn **out,
                    berr *e)
{
    if (!creds || !creds->cert)
        return berr_set(e, -ENOTCONN, "this node has no certificate yet");
    tls_conn *c = conn_new(server->loop, creds, true, ops, arg);
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc < 0) {
        berr_set(e, rc, "accept: %s", uv_strerror(rc));
    } else if ((rc = start_session(c, e)) == 0) {
        *out = c;
        return 0;
    }
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
    return rc;
}

static void on_connect(uv_connect_t *req, int status)
{
    tls_conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        conn_fail(c, status == UV_ECONNREFUSED ? -ECONNREFUSED : -EHOSTUNREACH, uv_strerror(status));
        return;
    }
    if (c->ops->connected) {
        c->ops->connected(c->arg);
        if (c->closing)
            return;
    }
    berr e = {0};
    if (start_session(c, &e) < 0) {
        conn_fail(c, e.code, e.msg);
        return;
    }
    advance(c); /* the ClientHello */
}

int tls_conn_connect(uv_loop_t *loop, const struct sockaddr *addr, tls_creds *creds, const tls_conn_ops *ops,
                     void *arg, tls_conn **out, berr *e)
{
    tls_conn *c = conn_new(loop, creds, false, ops, arg);
    c->connect.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, addr, on_connect);
    if (rc < 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, handle_closed);
        return berr_set(e, rc, "connect: %s", uv_strerror(rc));
    }
    *out = c;
    return 0;
}

const tls_ident *tls_conn_peer(const tls_conn *c) { return c->has_peer ? &c->peer : NULL; }

const char *tls_conn_protocol(const tls_conn *c)
{
    return c->session_inited ? gnutls_protocol_get_name(gnutls_protocol_get_version(c->session)) : NULL;
}

int tls_conn_write(tls_conn *c, const void *p, size_t n)
{
    if (c->closing || !c->handshaken)
        return -ENOTCONN;
    const char *q = p;
    while (n > 0) {
        ssize_t w = gnutls_record_send(c->session, q, n);
        if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
            continue; /* push never blocks: only a signal gets here */
        if (w < 0)
            return -EPIPE;
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the bridge ------------------------------------------------------------------- */

static void pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    tcp_alloc(h, suggested, b);
}

static void pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    tls_conn *c = s->data;
    if (c->closing || n == 0)
        return;
    if (n < 0 || tls_conn_write(c, b->base, (size_t)n) < 0)
        conn_fail(c, 0, "bridge closed");
}

int tls_conn_bridge(tls_conn *c, uv_pipe_t *theirs, const void *pending, size_t n, berr *e)
{
    uv_loop_t *loop = c->tcp.loop;
    uv_pipe_init(loop, theirs, 0);
    uv_os_sock_t fds[2];
    int rc = uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE);
    if (rc < 0)
        return berr_set(e, rc, "socketpair: %s", uv_strerror(rc));
    uv_pipe_init(loop, &c->pipe, 0);
    c->pipe.data = c;
    c->piped = true;
    c->handles++;
    if ((rc = uv_pipe_open(&c->pipe, fds[0])) < 0) {
        close(fds[0]);
        close(fds[1]);
        return berr_set(e, rc, "socketpair: %s", uv_strerror(rc));
    }
    if ((rc = uv_pipe_open(theirs, fds[1])) < 0) {
        close(fds[1]);
        return berr_set(e, rc, "socketpair: %s", uv_strerror(rc));
    }
    c->bridged = true;
    if (n > 0 && queue_write((uv_stream_t *)&c->pipe, pending, n) < 0)
        return berr_set(e, -EPIPE, "the bridge closed at once");
    if ((rc = uv_read_start((uv_stream_t *)&c->pipe, pipe_alloc, pipe_read)) < 0)
        return berr_set(e, rc, "bridge: %s", uv_strerror(rc));
    return 0;
}
