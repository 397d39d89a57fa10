#include "api/server.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"
#include "api/listen.h"
#include "api/stream.h"
#include "api/router.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "node/daemon.h"

#define API_SPOOL_CHUNK (64 * 1024)

typedef struct api_listener {
    struct api_server *srv;
    api_socket sock;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
} api_listener;

struct api_server {
    berth_daemon *d;
    api_listener *ls;
    size_t n;
    size_t active;              /* requests between first callback and completion */
    api_request *suspended;     /* waiting for an asynchronous reply */
    struct api_stream *streams; /* streamed replies still open */
    struct api_hijack *hijacks; /* upgraded connections still open */
    bool stopping;
    int handles_open;           /* uv handles still to be closed */
    uv_timer_t grace;
    uint64_t deadline;          /* loop time when stopping gives up waiting */
    void (*done)(void *);
    void *done_arg;
};

static void run_mhd(api_listener *l);
static void on_timer(uv_timer_t *t);

/* ---- requests ---------------------------------------------------------- */

static api_request *request_new(api_listener *l, struct MHD_Connection *conn, const char *method)
{
    api_request *r = xcalloc(1, sizeof *r);
    r->d = l->srv->d;
    r->srv = l->srv;
    r->conn = conn;
    r->body_fd = -1;
    snprintf(r->method, sizeof r->method, "%s", method);
    l->srv->active++;
    return r;
}

static void request_free(api_request *r)
{
    if (r->stream)
        api_stream_request_done(r->stream);
    free(r->path);
    for (int i = 0; i < API_MAX_PARAMS; i++)
        free(r->params[i]);
    buf_free(&r->body);
    if (r->body_fd >= 0)
        close(r->body_fd);
    if (r->body_path)
        unlink(r->body_path);
    free(r->body_path);
    if (r->pending)
        MHD_destroy_response(r->pending);
    free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    api_listener *l = cls;
    api_request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    request_free(r);
    l->srv->active--;
}

/* Decides what serves this request: a route, or an error reply straight
 * away (unknown path, wrong method, bad version). */
static void request_route(api_request *r, const char *url)
{
    berr e = {0};
    const char *rest;
    if (api_version_split(url, &r->api_minor, &rest, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    r->path = xstrdup(rest);
    switch (api_route_match(r->method, r->path, &r->route, r->params)) {
    case API_MATCH_OK:
        break;
    case API_MATCH_NO_ROUTE:
        api_reply_error(r, -ENOENT, "page not found");
        return;
    case API_MATCH_BAD_METHOD:
        api_reply_text(r, 405, "application/json", xstrdup("{\"message\":\"method not allowed\"}\n"), 32);
        return;
    }
    if (r->route->body == API_BODY_STREAM) {
        r->body_path = xasprintf("%s/body-XXXXXX", r->d->tmp_dir);
        r->body_fd = mkostemp(r->body_path, O_CLOEXEC);
        if (r->body_fd < 0) {
            free(r->body_path);
            r->body_path = NULL;
            api_reply_error(r, -errno, "cannot spool request body");
        }
    }
}

/* Writes what request_body gathered to the spool file. */
static void spool_flush(api_request *r)
{
    const char *data = r->body.data;
    size_t len = r->body.len;
    while (len && !r->body_failed) {
        ssize_t n = write(r->body_fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->body_errno = errno;
            log_error("spooling request body: %s", strerror(errno));
            r->body_failed = true;
            break;
        }
        data += n;
        len -= (size_t)n;
    }
    r->body.len = 0;
}

static void request_body(api_request *r, const char *data, size_t len)
{
    if (r->pending || !r->route)
        return; /* already answered: the rest of the body is dropped */
    switch (r->route->body) {
    case API_BODY_NONE:
        break;
    case API_BODY_JSON:
        if (r->body.len + len > API_JSON_BODY_MAX)
            r->body_too_large = true;
        else
            buf_append(&r->body, data, len);
        break;
    case API_BODY_STREAM:
        /* MHD hands over chunked bodies a few hundred bytes at a time (the
         * CLI's build context): gathered here, written 64 KiB at a time. */
        if (r->body_failed)
            break;
        buf_append(&r->body, data, len);
        r->body_len += (long long)len;
        if (r->body.len >= API_SPOOL_CHUNK)
            spool_flush(r);
        break;
    }
}

static void request_dispatch(api_request *r)
{
    r->handled = true;
    if (r->body_fd >= 0)
        spool_flush(r);
    if (r->body_too_large) {
        api_reply_text(r, 413, "application/json", xstrdup("{\"message\":\"request body too large\"}\n"), 37);
        return;
    }
    if (r->body_failed) {
        /* Go's wording, as dockerd reports a full disk: "write PATH: ERR". */
        char msg[PATH_MAX + 128];
        snprintf(msg, sizeof msg, "write %s: %s", r->body_path ? r->body_path : "request body",
                 strerror(r->body_errno ? r->body_errno : EIO));
        for (char *p = strstr(msg, ": ") ? strstr(msg, ": ") + 2 : msg; *p; p++)
            *p = (char)tolower((unsigned char)*p);   /* Go's errno strings are lower case */
        api_reply_error(r, -r->body_errno ?: -EIO, msg);
        return;
    }
    if (!r->route->handler) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s %s is not implemented by berthd yet", r->method, r->route->pattern);
        api_reply_error(r, -ENOSYS, msg);
        return;
    }
    if (r->body_fd >= 0)
        lseek(r->body_fd, 0, SEEK_SET);
    log_debug("Calling %s %s", r->method, r->path);
    r->route->handler(r);
}

/* With --tlsverify, MHD asks for a client certificate; whether it chains
 * to our CA is checked here, once per request, before anything is served. */
static bool client_verified(api_listener *l, struct MHD_Connection *conn)
{
    if (!l->sock.is_tcp || !l->srv->d->cfg.tlsverify)
        return true;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return false;
    unsigned status = 0;
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0)
        return false;
    unsigned n = 0;
    return gnutls_certificate_get_peers(session, &n) != NULL && n > 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    api_listener *l = cls;
    api_request *r = *con_cls;
    if (!r) {
        r = request_new(l, conn, method);
        *con_cls = r;
        if (!client_verified(l, conn))
            api_reply_error(r, -EPERM, "tls: this daemon requires a client certificate signed by its CA (--tlsverify)");
        else
            request_route(r, url);
        return MHD_YES;
    }
    if (*upload_data_size) {
        request_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!r->handled && !r->pending)
        request_dispatch(r);
    if (r->pending) {
        enum MHD_Result ret = MHD_queue_response(conn, r->pending_status, r->pending);
        MHD_destroy_response(r->pending);
        r->pending = NULL;
        return ret;
    }
    /* The handler went asynchronous: park the connection until it replies. */
    MHD_suspend_connection(conn);
    r->suspended = true;
    r->next_suspended = l->srv->suspended;
    l->srv->suspended = r;
    return MHD_YES;
}

void api_server_kick(api_server *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ls[i].mhd)
            uv_timer_start(&s->ls[i].timer, on_timer, 0, 0);
}

void api_server_add_stream(api_server *s, struct api_stream *st)
{
    api_stream_set_next(st, s->streams);
    s->streams = st;
}

void api_server_remove_stream(api_server *s, struct api_stream *st)
{
    struct api_stream *prev = NULL;
    for (struct api_stream *cur = s->streams; cur; prev = cur, cur = api_stream_next(cur)) {
        if (cur != st)
            continue;
        if (prev)
            api_stream_set_next(prev, api_stream_next(cur));
        else
            s->streams = api_stream_next(cur);
        return;
    }
}

uv_loop_t *api_server_loop(api_server *s) { return s->d->loop; }

void api_server_add_hijack(api_server *s, struct api_hijack *h)
{
    api_hijack_set_next(h, s->hijacks);
    s->hijacks = h;
}

void api_server_remove_hijack(api_server *s, struct api_hijack *h)
{
    struct api_hijack *prev = NULL;
    for (struct api_hijack *cur = s->hijacks; cur; prev = cur, cur = api_hijack_next(cur)) {
        if (cur != h)
            continue;
        if (prev)
            api_hijack_set_next(prev, api_hijack_next(cur));
        else
            s->hijacks = api_hijack_next(cur);
        return;
    }
}

void api_server_reply_ready(api_request *r)
{
    if (!r->suspended)
        return; /* still inside the access callback, which queues it */
    api_server *s = r->srv;
    for (api_request **p = &s->suspended; *p; p = &(*p)->next_suspended) {
        if (*p == r) {
            *p = r->next_suspended;
            break;
        }
    }
    r->suspended = false;
    MHD_resume_connection(r->conn);
    /* MHD sends the reply on its next run; make that run happen now. */
    api_server_kick(s);
}

/* ---- MHD on the libuv loop ---------------------------------------------- */

static void run_mhd(api_listener *l)
{
    if (!l->mhd)
        return;
    MHD_run(l->mhd);
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(l->mhd, &ms) == MHD_YES)
        uv_timer_start(&l->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&l->timer);
}

static void on_timer(uv_timer_t *t) { run_mhd(t->data); }

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run_mhd(p->data);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    log_debug("http: %s", msg);
}

static int load_tls(berth_daemon *d, char **cert, char **key, char **ca, berr *e)
{
    int r = fs_read_file(d->cfg.tlscert, cert, NULL, e);
    if (r == 0)
        r = fs_read_file(d->cfg.tlskey, key, NULL, e);
    if (r == 0 && d->cfg.tlsverify)
        r = fs_read_file(d->cfg.tlscacert, ca, NULL, e);
    if (r < 0)
        return berr_wrap(e, "could not load TLS material");
    return 0;
}

/* libmicrohttpd's default cap is FD_SETSIZE - 4 (1020) connections a
 * listener, after which it stops accepting: a thousand idle clients would
 * lock everyone else out of the socket.  With epoll there is no such bound;
 * half the descriptors the daemon may open go to API clients, the rest stay
 * for containers, logs, layers and the stores. */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 1u << 19;
    rlim_t half = rl.rlim_cur / 2;
    return half < 64 ? 64 : half > (1u << 19) ? 1u << 19 : (unsigned)half;
}

static int listener_start(api_server *s, api_listener *l, berr *e)
{
    berth_daemon *d = s->d;
    l->srv = s;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    bool tls = l->sock.is_tcp && d->cfg.tls;
    cleanup_free char *cert = NULL, *key = NULL, *ca = NULL;
    if (tls) {
        int r = load_tls(d, &cert, &key, &ca, e);
        if (r < 0)
            return r;
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
        {ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, ca},
        {MHD_OPTION_END, 0, NULL},
    };
    l->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
                              MHD_OPTION_LISTEN_SOCKET, l->sock.fd,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
                              MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                              MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                              MHD_OPTION_ARRAY, tls_opts,
                              MHD_OPTION_END);
    if (!l->mhd)
        return berr_set(e, -EIO, "could not start the HTTP server on %s", l->sock.desc);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    uv_timer_init(d->loop, &l->timer);
    l->timer.data = l;
    uv_poll_init(d->loop, &l->poll, info->epoll_fd);
    l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, on_poll);
    s->handles_open += 2;
    log_info("API listen on %s", l->sock.desc);
    if (l->sock.is_tcp && !tls)
        log_warn("API listens on %s WITHOUT TLS: anyone who can reach this address can take over this host", l->sock.desc);
    return 0;
}

int api_server_start(berth_daemon *d, api_server **out, berr *e)
{
    api_server *s = xcalloc(1, sizeof *s);
    s->d = d;
    api_socket *socks = NULL;
    size_t n = 0;
    int r = 0;
    for (size_t i = 0; i < d->cfg.n_hosts && r == 0; i++)
        r = api_listen(d->cfg.hosts[i], d->cfg.group, &socks, &n, e);
    s->ls = xcalloc(n ? n : 1, sizeof *s->ls);
    for (size_t i = 0; i < n; i++)
        s->ls[i].sock = socks[i];
    s->n = n;
    free(socks);
    for (size_t i = 0; i < n && r == 0; i++)
        r = listener_start(s, &s->ls[i], e);
    if (r < 0) {
        /* Close what was opened; handles are closed by the stop path. */
        api_server_stop(s, 0, NULL, NULL);
        return r;
    }
    *out = s;
    return 0;
}

/* ---- shutdown --------------------------------------------------------- */

static void server_finish(api_server *s)
{
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    free(s->ls);
    free(s);
    if (done)
        done(arg);
}

static void on_listener_handle_closed(uv_handle_t *h)
{
    api_listener *l = h->data;
    api_server *s = l->srv;
    if (--s->handles_open == 0)
        server_finish(s);
}

static void on_grace_closed(uv_handle_t *h)
{
    api_server *s = h->data;
    if (--s->handles_open == 0)
        server_finish(s);
}

static void server_close(api_server *s)
{
    /* MHD refuses to stop with upgraded connections still open. */
    while (s->hijacks)
        api_hijack_shutdown(s->hijacks);
    for (size_t i = 0; i < s->n; i++) {
        api_listener *l = &s->ls[i];
        if (l->mhd) {
            MHD_run(l->mhd);
            uv_poll_stop(&l->poll);
            MHD_stop_daemon(l->mhd);
            l->mhd = NULL;
            uv_close((uv_handle_t *)&l->poll, on_listener_handle_closed);
            uv_close((uv_handle_t *)&l->timer, on_listener_handle_closed);
        }
        api_socket_close(&l->sock, true);
    }
    uv_close((uv_handle_t *)&s->grace, on_grace_closed);
}

/* Checked every few milliseconds while stopping.  A suspended request is
 * waiting for work in a worker thread that will reply to it, so stopping
 * waits for those however long they take (the work is bounded); requests
 * still reading their body get the grace period, then are cut. */
static void on_grace(uv_timer_t *t)
{
    api_server *s = t->data;
    if (s->suspended)
        return;
    if (s->active > 0 && uv_now(t->loop) < s->deadline)
        return;
    uv_timer_stop(t);
    server_close(s);
}

void api_server_stop(api_server *s, unsigned grace_ms, void (*done)(void *), void *arg)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->done = done;
    s->done_arg = arg;
    /* Stop accepting new connections now; the listening fds are ours. */
    for (size_t i = 0; i < s->n; i++)
        if (s->ls[i].mhd)
            MHD_quiesce_daemon(s->ls[i].mhd);
    /* Endless streams (events, logs -f) end now; their clients see EOF. */
    for (struct api_stream *st = s->streams; st; st = api_stream_next(st))
        api_stream_shutdown(st);
    s->deadline = uv_now(s->d->loop) + grace_ms;
    uv_timer_init(s->d->loop, &s->grace);
    s->grace.data = s;
    s->handles_open++;
    uv_timer_start(&s->grace, on_grace, 0, 20);
}
