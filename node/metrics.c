/* GET /metrics on metrics-addr: a small HTTP/1.0 responder on the loop
 * (one request per connection, as Prometheus scrapes), rendering what the
 * daemon knows at scrape time plus the event counts it has seen. */
#include "node/metrics.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git_commit.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "node/daemon.h"
#include "node/hostinfo.h"

#define REQUEST_MAX 8192

struct metrics_server {
    uv_tcp_t tcp;
    berth_daemon *d;
    events_listener listener;
    json_t *event_counts;   /* "type\naction" -> count */
    uint64_t events_total;
};

typedef struct client {
    uv_tcp_t tcp;
    metrics_server *m;
    buf req;
    uv_write_t wr;
    buf resp;
    bool answered;
} client;

static bool count_event(void *ctx, json_t *ev)
{
    metrics_server *m = ctx;
    m->events_total++;
    cleanup_free char *k = xasprintf("%s\n%s", json_string_value(json_object_get(ev, "Type")),
                                     json_string_value(json_object_get(ev, "Action")));
    json_int_t n = json_integer_value(json_object_get(m->event_counts, k));
    json_object_set_new(m->event_counts, k, json_integer(n + 1));
    return true;
}

static void render(metrics_server *m, buf *out)
{
    berth_daemon *d = m->d;
    hostinfo h;
    hostinfo_read(&h);
    metrics_family(out, "engine_daemon_engine_info", "gauge", "The information related to the engine and the OS it is running on");
    const char *info[] = {"architecture", h.arch, "commit", BERTH_GIT_COMMIT, "daemon_id", d->id,
                          "graphdriver", rt_driver_name(&d->driver), "kernel", h.kernel, "os", h.os_name,
                          "os_type", "linux", "os_version", h.os_version, "version", BERTH_VERSION, NULL};
    metrics_sample(out, "engine_daemon_engine_info", info, 1);
    metrics_family(out, "engine_daemon_engine_cpus_cpus", "gauge", "The number of cpus that the host system of the engine has");
    metrics_sample(out, "engine_daemon_engine_cpus_cpus", NULL, h.ncpu);
    metrics_family(out, "engine_daemon_engine_memory_bytes", "gauge", "The number of bytes of memory that the host system of the engine has");
    metrics_sample(out, "engine_daemon_engine_memory_bytes", NULL, (double)h.mem_total);

    size_t running = 0, paused = 0;
    for (size_t i = 0; i < d->containers.n; i++) {
        rt_state st = d->containers.list[i]->state;
        running += st == RT_STATE_RUNNING || st == RT_STATE_RESTARTING;
        paused += st == RT_STATE_PAUSED;
    }
    metrics_family(out, "engine_daemon_container_states_containers", "gauge", "The count of containers in various states");
    metrics_sample(out, "engine_daemon_container_states_containers", (const char *[]){"state", "paused", NULL}, paused);
    metrics_sample(out, "engine_daemon_container_states_containers", (const char *[]){"state", "running", NULL}, running);
    metrics_sample(out, "engine_daemon_container_states_containers", (const char *[]){"state", "stopped", NULL},
                   (double)(d->containers.n - running - paused));

    metrics_family(out, "engine_daemon_events_total", "counter", "The number of events logged");
    metrics_sample(out, "engine_daemon_events_total", NULL, (double)m->events_total);
    metrics_family(out, "engine_daemon_events_subscribers_total", "gauge", "The number of current subscribers to events");
    metrics_sample(out, "engine_daemon_events_subscribers_total", NULL, (double)(events_listeners(&d->events) - 1));

    metrics_family(out, "berth_events_total", "counter", "Events logged, by object type and action");
    const char *k;
    json_t *v;
    json_object_foreach(m->event_counts, k, v) {
        cleanup_free char *type = xstrdup(k);
        char *nl = strchr(type, '\n');
        *nl = 0;
        metrics_sample(out, "berth_events_total", (const char *[]){"type", type, "action", nl + 1, NULL},
                       (double)json_integer_value(v));
    }
}

static void on_client_closed(uv_handle_t *h)
{
    client *c = h->data;
    buf_free(&c->req);
    buf_free(&c->resp);
    free(c);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    client *c = w->data;
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void respond(client *c, int code, const char *reason, const char *type, buf *body)
{
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    buf_printf(&c->resp, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
               code, reason, type, body->len);
    buf_append(&c->resp, body->data ? body->data : "", body->len);
    uv_buf_t b = uv_buf_init(c->resp.data, (unsigned)c->resp.len);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    static char slab[2048]; /* the loop is single-threaded; data is copied out at once */
    *b = uv_buf_init(slab, sizeof slab);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    client *c = s->data;
    if (c->answered)
        return;
    if (n < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
        return;
    }
    buf_append(&c->req, b->base, (size_t)n);
    buf_append(&c->req, "", 1); /* keep it a string for strstr */
    c->req.len--;
    if (c->req.len > REQUEST_MAX) {
        cleanup_buf buf body = BUF_INIT;
        buf_puts(&body, "request too large\n");
        respond(c, 431, "Request Header Fields Too Large", "text/plain", &body);
        return;
    }
    if (!strstr(c->req.data, "\r\n\r\n") && !strstr(c->req.data, "\n\n"))
        return;
    cleanup_buf buf body = BUF_INIT;
    char method[8] = "", path[256] = "";
    sscanf(c->req.data, "%7s %255s", method, path);
    char *q = strchr(path, '?');
    if (q)
        *q = 0;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        buf_puts(&body, "method not allowed\n");
        respond(c, 405, "Method Not Allowed", "text/plain", &body);
    } else if (strcmp(path, "/metrics")) {
        buf_puts(&body, "404 page not found\n");
        respond(c, 404, "Not Found", "text/plain; charset=utf-8", &body);
    } else {
        render(c->m, &body);
        respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", &body);
    }
}

static void on_connection(uv_stream_t *srv, int status)
{
    metrics_server *m = srv->data;
    if (status < 0)
        return;
    client *c = xcalloc(1, sizeof *c);
    c->m = m;
    uv_tcp_init(m->d->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

int metrics_start(berth_daemon *d, metrics_server **out, berr *e)
{
    *out = NULL;
    const char *addr = d->cfg.metrics_addr;
    if (!addr || !*addr)
        return 0;
    char host[256];
    const char *colon = strrchr(addr, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    int port = atoi(colon + 1);
    char *h = host;
    if (h[0] == '[') {
        h++;
        h[strlen(h) - 1] = 0;
    }
    struct sockaddr_storage ss;
    if (!*h || strcmp(h, "0.0.0.0") == 0)
        uv_ip4_addr("0.0.0.0", port, (struct sockaddr_in *)&ss);
    else if (strcmp(h, "localhost") == 0)
        uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)&ss);
    else if (uv_ip4_addr(h, port, (struct sockaddr_in *)&ss) < 0 && uv_ip6_addr(h, port, (struct sockaddr_in6 *)&ss) < 0)
        return berr_set(e, -EINVAL, "metrics-addr %s: not an IP address", addr);
    metrics_server *m = xcalloc(1, sizeof *m);
    m->d = d;
    m->event_counts = json_object();
    uv_tcp_init(d->loop, &m->tcp);
    m->tcp.data = m;
    int r = uv_tcp_bind(&m->tcp, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&m->tcp, 16, on_connection);
    if (r < 0) {
        berr_set(e, -EADDRINUSE, "failed to listen on metrics address %s: %s", addr, uv_strerror(r));
        metrics_stop(m);
        return -EADDRINUSE;
    }
    m->listener = (events_listener){.deliver = count_event, .ctx = m};
    events_listen(&d->events, &m->listener);
    log_info("Metrics listening on %s", addr);
    *out = m;
    return 0;
}

static void on_server_closed(uv_handle_t *h)
{
    metrics_server *m = h->data;
    json_decref(m->event_counts);
    free(m);
}

void metrics_stop(metrics_server *m)
{
    if (!m)
        return;
    if (m->listener.deliver)
        events_unlisten(&m->d->events, &m->listener);
    uv_close((uv_handle_t *)&m->tcp, on_server_closed);
}
