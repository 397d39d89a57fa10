/* Stages built side by side (see builder_internal.h).
 *
 * After the plan every stage becomes a lane.  Lanes start in stage order,
 * as many at a time as the machine has processors (at least two).  A lane
 * that needs an earlier stage (FROM <stage>, COPY --from=<stage>) parks
 * that step until the stage is done; one that must pull its base parks
 * until it is the head, because a pull's progress goes straight to the
 * client.  The head is the earliest lane not yet ended: its output goes to
 * the client as it comes, a later lane's is held and given when that lane
 * becomes the head, so the stream reads as a sequential build's.
 *
 * Since the earliest unfinished stage is always running and depends only
 * on finished ones, parked lanes never hold every slot while what they
 * wait for cannot start.  A failure is the build's when its lane becomes
 * the head (everything before it succeeded, as in a sequential build);
 * then every later lane is cut short and the build ends once none runs. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/buf.h"
#include "runtime/build/builder_internal.h"

static void advance(rt_build *r);

bool bb_lane_is_head(const rt_build *b)
{
    return !b->root || b->root->head == b->si;
}

void bb_emit(rt_build *b, char kind, const char *text)
{
    rt_build *r = b->root ? b->root : b;
    if (b->gone || r->gone)
        return;
    if (bb_lane_is_head(b)) {
        if (kind == 'a')
            r->cb.aux(r->cb.ctx, text);
        else
            r->cb.out(r->cb.ctx, text);
        return;
    }
    buf t = BUF_INIT;
    buf_printf(&t, "%c%s", kind, text);
    json_array_append_new(b->held, json_string(t.data));
    buf_free(&t);
}

/* The new head's held output, in order. */
static void flush(rt_build *l)
{
    size_t i;
    json_t *v;
    json_array_foreach(l->held, i, v) {
        const char *t = json_string_value(v);
        if (!l->gone && !l->root->gone)
            (*t == 'a' ? l->root->cb.aux : l->root->cb.out)(l->root->cb.ctx, t + 1);
    }
    json_array_clear(l->held);
}

long bb_stage_ref(const rt_build *b, const char *ref, bool by_index)
{
    if (by_index) {
        char *end;
        long idx = strtol(ref, &end, 10);
        if (*ref && !*end && idx >= 0 && (size_t)idx < b->si)
            return idx;
    }
    for (size_t i = 0; i < b->si; i++)
        if (b->stages[i].name && !strcasecmp(b->stages[i].name, ref))
            return (long)i;
    return -1;
}

/* ---- parking ---- */

static void nothing(uv_work_t *w)
{
    (void)w;
}

static void unparked(uv_work_t *w, int status)
{
    (void)status;
    rt_build *l = w->data;
    const bf_instr *in = l->resume;
    l->resume = NULL;
    if (l->gone || l->stopped || l->m->shutting_down)
        bb_next(l);   /* ends the lane */
    else if (!strcmp(in->cmd, "from"))
        bb_from(l, in);
    else
        bb_copy_step(l, in);
}

void bb_park(rt_build *b, const bf_instr *in, long on)
{
    b->parked = in;
    b->park_on = on;
}

/* From the loop, never inside the step that parked: the lane's work
 * request is free while it is parked. */
static void wake(rt_build *l)
{
    l->resume = l->parked;
    l->parked = NULL;
    l->work.data = l;
    uv_queue_work(l->m->loop, &l->work, nothing, unparked);
}

static bool may_go(const rt_build *l)
{
    if (l->gone || l->stopped)
        return true;
    return l->park_on >= 0 ? l->stages[l->park_on].done : bb_lane_is_head(l);
}

/* ---- lanes ---- */

static rt_build *lane_new(rt_build *r, size_t si, size_t from, size_t end, size_t first)
{
    rt_build *l = xcalloc(1, sizeof *l);
    l->m = r->m;
    l->o = r->o;
    l->cb = r->cb;
    memcpy(l->dir, r->dir, sizeof l->dir);
    l->tree = r->tree;
    l->df = r->df;
    l->idx = from;
    l->last = end;
    l->step = from - first;
    l->total = r->total;
    l->stages = r->stages;   /* n_stages set once every lane is made */
    l->meta_args = r->meta_args;
    l->used_args = r->used_args;
    l->cache = r->cache;
    memcpy(l->cache_path, r->cache_path, sizeof l->cache_path);
    l->hashes = r->hashes;
    l->pulled = r->pulled;
    l->root = r;
    l->si = si;
    l->held = json_array();
    l->park_on = -1;
    return l;
}

void bb_lanes_start(rt_build *r)
{
    size_t first = r->idx;
    /* at most one stage per instruction; the plan starts at a FROM */
    r->stages = xcalloc(r->last - first, sizeof *r->stages);
    r->lanes = xcalloc(r->last - first, sizeof *r->lanes);
    for (size_t i = first; i < r->last; i++) {
        if (strcmp(r->df.v[i].cmd, "from"))
            continue;
        size_t end = i + 1;
        while (end < r->last && strcmp(r->df.v[end].cmd, "from"))
            end++;
        const bf_instr *in = &r->df.v[i];
        stage *s = &r->stages[r->n_lanes];
        if (in->n_args == 3 && !strcasecmp(in->args[1], "as")) {
            s->name = xstrdup(in->args[2]);
            for (char *p = s->name; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        }
        r->lanes[r->n_lanes] = lane_new(r, r->n_lanes, i, end, first);
        r->n_lanes++;
    }
    r->n_stages = r->n_lanes;
    for (size_t k = 0; k < r->n_lanes; k++)   /* each lane sees every stage */
        r->lanes[k]->n_stages = r->n_stages;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r->max_running = cpus < 2 ? 2 : (size_t)cpus;
    advance(r);
}

void bb_lane_end(rt_build *l, int status, const berr *e)
{
    rt_build *r = l->root;
    l->ended = true;
    l->end_status = status;
    if (e)
        l->end_err = *e;
    if (status == 0)
        r->stages[l->si].done = true;
    r->running--;
    advance(r);
}

/* Every lane after the head is cut short (an earlier one failed). */
static void abandon(rt_build *r)
{
    for (size_t i = r->head + 1; i < r->started; i++) {
        rt_build *l = r->lanes[i];
        if (l->ended || l->gone)
            continue;
        l->gone = true;
        bb_interrupt(l);
    }
}

static void advance(rt_build *r)
{
    if (r->advancing) {   /* a lane ended inside this call: go round again */
        r->again = true;
        return;
    }
    r->advancing = true;
    do {
        r->again = false;
        while (!r->failing && r->head < r->n_lanes && r->lanes[r->head]->ended) {
            rt_build *l = r->lanes[r->head];
            if (l->end_status < 0) {
                r->failing = true;
                r->exit_code = l->exit_code;
                abandon(r);
                break;
            }
            if (++r->head < r->n_lanes)
                flush(r->lanes[r->head]);
        }
        while (!r->failing && !r->gone && !r->stopped && r->started < r->n_lanes &&
               r->running < r->max_running) {
            rt_build *l = r->lanes[r->started++];
            r->running++;
            bb_next(l);
        }
        for (size_t i = r->head; i < r->started; i++) {
            rt_build *l = r->lanes[i];
            if (!l->ended && l->parked && may_go(l))
                wake(l);
        }
    } while (r->again);
    r->advancing = false;
    if (r->finished || r->running)
        return;
    if (r->failing) {
        r->finished = true;
        rt_build *l = r->lanes[r->head];
        bb_fail(r, &l->end_err);
    } else if (r->head == r->n_lanes || r->gone || r->stopped) {
        /* all done; or gone or stopped before any lane started */
        r->finished = true;
        bb_next(r);
    }
}

void bb_lanes_cancel(rt_build *r, bool stop)
{
    if (!r->n_lanes) {   /* still reading the context or planning */
        bb_interrupt(r);
        return;
    }
    for (size_t i = r->head; i < r->started; i++) {
        rt_build *l = r->lanes[i];
        if (l->ended)
            continue;
        if (stop)
            l->stopped = true;
        else
            l->gone = true;
        bb_interrupt(l);
        if (l->parked)
            wake(l);
    }
    advance(r);
}

void bb_lanes_free(rt_build *r)
{
    for (size_t i = 0; i < r->n_lanes; i++) {
        rt_build *l = r->lanes[i];
        for (size_t k = 0; k < l->n_triggers; k++)
            bf_instr_clear(&l->triggers[k]);
        free(l->triggers);
        json_decref(l->probe);
        free(l->run_cmd);
        json_decref(l->held);
        free(l);
    }
    free(r->lanes);
}
