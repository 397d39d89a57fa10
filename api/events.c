/* GET /events: recorded events from `since`, then live ones until `until`. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/stream.h"
#include "lib/filters.h"
#include "lib/timefmt.h"
#include "node/daemon.h"

typedef struct events_ctx {
    berth_daemon *d;
    api_stream *s;
    json_t *filters;
    int64_t until_ns;
    events_listener listener;
    uv_timer_t *timer;
    bool listening;
} events_ctx;

static void write_event(void *ctx, json_t *e)
{
    events_ctx *c = ctx;
    if (events_match(c->filters, e))
        api_stream_json(c->s, json_incref(e));
}

static bool deliver(void *ctx, json_t *e)
{
    write_event(ctx, e);
    return true;
}

static void ctx_free(events_ctx *c)
{
    if (c->listening)
        events_unlisten(&c->d->events, &c->listener);
    if (c->timer)
        uv_close((uv_handle_t *)c->timer, (uv_close_cb)free);
    json_decref(c->filters);
    free(c);
}

static void gone(void *arg) { ctx_free(arg); }

static void on_until(uv_timer_t *t)
{
    events_ctx *c = t->data;
    api_stream_end(c->s);   /* on_gone is not called for an ended stream */
    ctx_free(c);
}

static int64_t parse_ns(const char *v, bool *bad)
{
    if (!v || !*v)
        return 0;
    long long secs;
    if (time_parse_filter(v, (long long)time(NULL), &secs) < 0) {
        *bad = true;
        return 0;
    }
    double d = strtod(v, NULL);
    return d > 1e9 ? (int64_t)(d * 1e9) : (int64_t)secs * 1000000000LL;
}

void api_events(api_request *r)
{
    static const char *const allowed[] = {"config", "container", "daemon", "event", "image", "label", "network",
                                          "node", "plugin", "scope", "secret", "service", "type", "volume", NULL};
    berr e = {0};
    json_t *f;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    bool bad = false;
    int64_t since = parse_ns(api_query(r, "since"), &bad), until = parse_ns(api_query(r, "until"), &bad);
    if (bad) {
        json_decref(f);
        api_reply_error(r, -EINVAL, "invalid since or until time");
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    events_ctx *c = xcalloc(1, sizeof *c);
    c->d = r->d;
    c->filters = f;
    c->until_ns = until;
    c->s = api_reply_stream(r, 200, "application/json", gone, c);
    if (since || until)
        events_replay(&r->d->events, since, until, write_event, c);
    if (until && until <= now) {
        api_stream_end(c->s);
        ctx_free(c);
        return;
    }
    c->listener = (events_listener){deliver, c, NULL};
    events_listen(&r->d->events, &c->listener);
    c->listening = true;
    if (until) {
        c->timer = xcalloc(1, sizeof *c->timer);
        uv_timer_init(r->d->loop, c->timer);
        c->timer->data = c;
        uv_timer_start(c->timer, on_until, (uint64_t)((until - now) / 1000000) + 1, 0);
    }
}
