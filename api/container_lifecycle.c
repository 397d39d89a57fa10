/* The container lifecycle routes: start (after the swarm's attachments),
 * stop, restart, kill, pause, remove, rename, resize and wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/stream.h"
#include "api/versions.h"
#include "lib/jsonutil.h"
#include "node/daemon.h"
#include "runtime/container/io.h"
#include "runtime/container/links.h"
#include "runtime/linux/signals.h"

static rt_containers *mgr(api_request *r) { return &r->d->containers; }

static rt_container *target(api_request *r) { return api_container_target(r); }

static void reply_status(void *arg, int status, const berr *e)
{
    api_request *r = arg;
    if (status < 0)
        api_reply_berr(r, e);
    else
        api_reply_empty(r, 204);
}

/* ---- lifecycle ------------------------------------------------------------- */

typedef struct start_call {
    api_request *r;
    char id[DIGEST_HEX_LEN + 1];
} start_call;

/* The swarm's addresses are there (or none were needed): start. */
static void start_attached(void *arg, int status, const berr *e)
{
    start_call *sc = arg;
    api_request *r = sc->r;
    rt_container *c = NULL;
    berr err = {0};
    if (status < 0) {
        if (rt_container_find(mgr(r), sc->id, &c, NULL) == 0 && !rt_container_running(c))
            rt_container_start_failed(mgr(r), c, status, e);
        api_reply_berr(r, e);
    } else if (rt_container_find(mgr(r), sc->id, &c, &err) < 0)
        api_reply_berr(r, &err);
    else if (rt_container_running(c))
        api_reply_empty(r, 304);
    else if (rt_container_start(mgr(r), c, &err) < 0)
        api_reply_berr(r, &err);
    else
        api_reply_empty(r, 204);
    free(sc);
}

void api_container_start(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    if (rt_container_running(c)) {
        api_reply_empty(r, 304);
        return;
    }
    berr e = {0};
    if (!attachments_needed(&r->d->attachments, c)) {
        if (rt_container_start(mgr(r), c, &e) < 0)
            api_reply_berr(r, &e);
        else
            api_reply_empty(r, 204);
        return;
    }
    /* Endpoints on swarm overlays get their addresses from the swarm
     * first (node/attachments.h). */
    start_call *sc = xcalloc(1, sizeof *sc);
    sc->r = r;
    snprintf(sc->id, sizeof sc->id, "%s", c->id);
    attachments_prepare(&r->d->attachments, c, start_attached, sc);
}

/* ?t= and ?timeout= (the CLI's flag), seconds; -1 when absent. */
static int query_timeout(api_request *r)
{
    const char *t = api_query(r, "t");
    if (!t)
        t = api_query(r, "timeout");
    return t && *t ? atoi(t) : -1;
}

/* stop and restart's ?signal= (API 1.42; older versions ignore it, as
 * dockerd): 0 when not given, -EINVAL for a name that is no signal. */
static int query_stop_signal(api_request *r, berr *e)
{
    const char *sig = api_has(r, API_STOP_SIGNAL_PARAM) ? api_query(r, "signal") : NULL;
    if (!sig || !*sig)
        return 0;
    int n = rt_signal_parse(sig);
    return n > 0 ? n : berr_set(e, -EINVAL, "Invalid signal: %s", sig);
}

void api_container_stop(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    if (!rt_container_running(c) && c->state != RT_STATE_RESTARTING) {
        api_reply_empty(r, 304);
        return;
    }
    berr e = {0};
    int sig = query_stop_signal(r, &e);
    if (sig < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (rt_container_stop_with(mgr(r), c, query_timeout(r), sig, reply_status, r, &e) < 0)
        api_reply_berr(r, &e);
}

void api_container_restart(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    berr e = {0};
    int sig = query_stop_signal(r, &e);
    if (sig < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (rt_container_restart_with(mgr(r), c, query_timeout(r), sig, reply_status, r, &e) < 0)
        api_reply_berr(r, &e);
}

void api_container_kill(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    const char *s = api_query(r, "signal");
    int sig = s && *s ? rt_signal_parse(s) : SIGKILL;
    berr e = {0};
    if (sig < 0) {
        api_reply_error(r, -EINVAL, "Invalid signal");
        return;
    }
    if (!rt_container_running(c)) {
        char msg[400];
        snprintf(msg, sizeof msg, "cannot kill container: %s: container %s is not running", r->params[0], c->id);
        api_reply_error(r, -EBUSY, msg);
        return;
    }
    if (rt_container_kill_wait(mgr(r), c, sig, reply_status, r, &e) < 0)
        api_reply_berr(r, &e);
}

static void pause_or_unpause(api_request *r, bool pause)
{
    rt_container *c = target(r);
    if (!c)
        return;
    berr e = {0};
    if (rt_container_pause(mgr(r), c, pause, &e) < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 204);
}

void api_container_pause(api_request *r) { pause_or_unpause(r, true); }
void api_container_unpause(api_request *r) { pause_or_unpause(r, false); }

void api_container_delete(api_request *r)
{
    berr e = {0};
    /* ?link=1 names the link itself (/parent/alias), not a container. */
    if (api_query_bool(r, "link", false)) {
        if (rt_link_remove(mgr(r), r->params[0], &e) < 0)
            api_reply_berr(r, &e);
        else
            api_reply_empty(r, 204);
        return;
    }
    rt_container *c = target(r);
    if (!c)
        return;
    if (rt_container_remove(mgr(r), c, api_query_bool(r, "force", false), api_query_bool(r, "v", false),
                            reply_status, r, &e) < 0)
        api_reply_berr(r, &e);
}

void api_container_rename(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    berr e = {0};
    if (rt_container_rename(mgr(r), c, api_query(r, "name"), &e) < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 204);
}

void api_container_resize(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    berr e = {0};
    const char *h = api_query(r, "h"), *w = api_query(r, "w");
    if (!h || !w) {
        api_reply_error(r, -EINVAL, "h and w are required");
        return;
    }
    if (!c->io) {
        char msg[200];
        snprintf(msg, sizeof msg, "Container %s is not running", c->id);
        api_reply_error(r, -EBUSY, msg);
        return;
    }
    if (rt_io_resize(c->io, (unsigned)atoi(h), (unsigned)atoi(w), &e) < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 200);
}

/* ---- wait ---------------------------------------------------------------------- */

typedef struct wait_ctx {
    rt_containers *m;
    api_stream *s;
    struct rt_waiter *w;
    bool registering;        /* inside rt_container_wait */
    bool fired;
    bool gone;               /* the client left; the stream is gone */
} wait_ctx;

static void wait_gone(void *arg)
{
    wait_ctx *w = arg;
    w->gone = true;
    w->s = NULL;
    /* A waiter already being fired will still call wait_done, which frees. */
    if (w->w && rt_container_wait_cancel(w->m, w->w))
        free(w);
}

static void wait_done(void *arg, int exit_code, const char *error)
{
    wait_ctx *w = arg;
    w->w = NULL;
    w->fired = true;
    if (w->gone) {
        free(w);
        return;
    }
    json_t *o = json_pack("{s:i, s:n}", "StatusCode", exit_code, "Error");
    if (error)
        json_object_set_new(o, "Error", json_pack("{s:s}", "Message", error));
    api_stream_json(w->s, o);
    api_stream_end(w->s);
    if (!w->registering)
        free(w);
}

void api_container_wait(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    const char *cond = api_query(r, "condition");
    rt_wait_cond wc = RT_WAIT_NOT_RUNNING;
    if (cond && *cond) {
        if (!strcmp(cond, "next-exit"))
            wc = RT_WAIT_NEXT_EXIT;
        else if (!strcmp(cond, "removed"))
            wc = RT_WAIT_REMOVED;
        else if (strcmp(cond, "not-running")) {
            api_reply_error(r, -EINVAL, "invalid condition");
            return;
        }
    }
    /* The headers go out now, as dockerd flushes them: the CLI starts the
     * container only once the wait is known to be registered. */
    wait_ctx *w = xcalloc(1, sizeof *w);
    w->m = mgr(r);
    w->s = api_reply_stream(r, 200, "application/json", wait_gone, w);
    w->registering = true;
    struct rt_waiter *handle = rt_container_wait(mgr(r), c, wc, wait_done, w);
    w->registering = false;
    if (w->fired)
        free(w);   /* the condition already held: answered above */
    else
        w->w = handle;
}
