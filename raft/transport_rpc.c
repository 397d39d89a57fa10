/* Node RPC calls to a manager's swarm port, over TLS (see transport.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/transport_int.h"

/* The connect and the TLS handshake get at most this of a call's time. */
#define CONNECT_TIMEOUT_MS 1000

typedef struct call {
    tls_conn *tls;               /* NULL once closed */
    uv_timer_t timer;
    char *address;
    json_t *req;
    buf in;
    cs_rpc_done done;
    void *arg;
    bool finished;
    bool connected;
    bool need_manager;           /* the server must show a manager's certificate */
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

static void call_timer_closed(uv_handle_t *h)
{
    call *c = h->data;
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
    if (c->tls)
        tls_conn_close(c->tls);
    c->tls = NULL;
    c->done(c->arg, status, resp, e);
    uv_close((uv_handle_t *)&c->timer, call_timer_closed);
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

static void call_data(void *arg, const char *p, size_t n)
{
    call *c = arg;
    if (c->finished)
        return;
    buf_append(&c->in, p, n);
    if (c->in.len < 4)
        return;
    uint32_t be;
    memcpy(&be, c->in.data, 4);
    uint32_t len = ntohl(be);
    if (len > CS_RPC_MAX_FRAME) {
        call_fail(c, -EPROTO, "the manager at %s sent a frame too large%s", "");
        return;
    }
    if (c->in.len < 4 + (size_t)len)
        return;
    json_error_t je;
    json_t *resp = json_loadb(c->in.data + 4, len, 0, &je);
    if (!json_is_object(resp)) {
        json_decref(resp);
        call_fail(c, -EPROTO, "the manager at %s sent a malformed answer%s", "");
        return;
    }
    call_finish(c, 0, resp, NULL);
    json_decref(resp);
}

static void call_gone(void *arg, int status)
{
    call *c = arg;
    c->tls = NULL; /* closed itself */
    if (c->finished)
        return;
    call_fail(c, -ECONNRESET, "the manager at %s closed the connection%s", status == 0 ? "" : ": broken");
}

static void call_ready(void *arg, int status, const char *why)
{
    call *c = arg;
    if (status < 0) {
        c->tls = NULL; /* closed itself */
        char detail[300];
        snprintf(detail, sizeof detail, ": %s", why ? why : "failed");
        if (status == -EACCES || status == -EPROTO)
            call_fail(c, -EACCES, "TLS handshake with the manager at %s failed%s", detail);
        else
            call_fail(c, status == -ECONNREFUSED ? -ECONNREFUSED : -EHOSTUNREACH,
                      "could not connect to the manager at %s%s", detail);
        return;
    }
    if (c->need_manager && cs_peer_role_of(tls_conn_peer(c->tls)) != CS_PEER_MANAGER) {
        call_fail(c, -EACCES, "the node at %s is not a manager of this swarm%s", "");
        return;
    }
    c->connected = true;
    /* The rest of the time is the answer's. */
    uv_timer_stop(&c->timer);
    uint64_t now = uv_now(c->timer.loop);
    uv_timer_start(&c->timer, call_timeout, c->deadline > now ? c->deadline - now : 0, 0);
    /* The magic and the request in one record. */
    buf out = BUF_INIT;
    buf_append(&out, CS_RPC_MAGIC, 8);
    int rc = cs_frame_append(&out, c->req);
    if (rc == 0)
        rc = tls_conn_write(c->tls, out.data, out.len);
    buf_free(&out);
    if (rc < 0)
        call_fail(c, -EIO, "could not send to the manager at %s%s", "");
}

static const tls_conn_ops call_ops = {.ready = call_ready, .data = call_data, .gone = call_gone};

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

static int start_call(uv_loop_t *loop, void *owner, const char *address, tls_creds *creds, bool need_manager,
                      json_t *req, unsigned timeout_ms, cs_rpc_done done, void *arg, berr *e)
{
    struct sockaddr_in sa;
    if (cs_parse_addr(address, &sa) < 0)
        return berr_set(e, -EINVAL, "invalid manager address %s: an IPv4 address and a port are needed", address);
    call *c = xcalloc(1, sizeof *c);
    c->address = xstrdup(address);
    c->req = json_incref(req);
    c->done = done;
    c->arg = arg;
    c->need_manager = need_manager;
    int rc = tls_conn_connect(loop, (struct sockaddr *)&sa, creds, &call_ops, c, &c->tls, e);
    if (rc < 0) {
        berr_wrap(e, "could not connect to the manager at %s", address);
        free(c->address);
        json_decref(c->req);
        free(c);
        return rc;
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->deadline = uv_now(loop) + timeout_ms;
    c->owner = owner;
    c->next = calls;
    calls = c;
    uv_timer_start(&c->timer, call_timeout, timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS, 0);
    return 0;
}

int cs_rpc_call(uv_loop_t *loop, const char *address, json_t *req, unsigned timeout_ms, cs_rpc_done done, void *arg,
                berr *e)
{
    return cs_rpc_call_owned(loop, NULL, address, req, timeout_ms, done, arg, e);
}

int cs_rpc_call_owned(uv_loop_t *loop, void *owner, const char *address, json_t *req, unsigned timeout_ms,
                      cs_rpc_done done, void *arg, berr *e)
{
    tls_creds *creds = cs_process_creds();
    if (!creds || !tls_creds_cert(creds) || !tls_creds_ca(creds))
        return berr_set(e, -ENOTCONN, "this node has no certificate of the swarm yet");
    return start_call(loop, owner, address, creds, true, req, timeout_ms, done, arg, e);
}

int cs_rpc_call_bootstrap(uv_loop_t *loop, void *owner, const char *address, const char *ca_pem, json_t *req,
                          unsigned timeout_ms, cs_rpc_done done, void *arg, berr *e)
{
    tls_creds *creds = tls_creds_new(ca_pem, NULL, NULL, e);
    if (!creds)
        return -EINVAL;
    int rc = start_call(loop, owner, address, creds, ca_pem != NULL, req, timeout_ms, done, arg, e);
    tls_creds_unref(creds); /* the connection keeps its reference */
    return rc;
}
