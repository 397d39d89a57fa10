/* The leader's heartbeat deadlines (see dispatcher_health.h). */
#include "node/dispatcher_health.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/jsonutil.h"

struct disp_health {
    json_t *seen;        /* {"<node id>": last heartbeat (ms)} */
    uint64_t lead_start;
};

disp_health *health_new(void)
{
    disp_health *h = xcalloc(1, sizeof *h);
    h->seen = json_object();
    return h;
}

void health_free(disp_health *h)
{
    if (!h)
        return;
    json_decref(h->seen);
    free(h);
}

void health_lead_start(disp_health *h, uint64_t now) { h->lead_start = now; }

void health_seen(disp_health *h, const char *node, uint64_t at)
{
    if (!node || !*node)
        return;
    if (at > health_last_seen(h, node))
        json_object_set_new(h->seen, node, json_integer((json_int_t)at));
}

void health_forget(disp_health *h, const char *node) { json_object_del(h->seen, node); }

uint64_t health_last_seen(const disp_health *h, const char *node)
{
    json_int_t v = json_integer_value(json_object_get(h->seen, node));
    return v > 0 ? (uint64_t)v : 0;
}

health_verdict health_judge(const disp_health *h, json_t *node, uint64_t now, uint64_t grace_ms)
{
    return health_judge_state(h, json_str(node, "ID"), json_str(json_object_get(node, "Status"), "State"), now,
                              grace_ms);
}

health_verdict health_judge_state(const disp_health *h, const char *id, const char *state, uint64_t now,
                                  uint64_t grace_ms)
{
    if (!state)
        state = "";
    uint64_t seen = health_last_seen(h, id);
    if (!strcmp(state, "ready")) {
        uint64_t from = seen > h->lead_start ? seen : h->lead_start;
        return now > from && now - from > grace_ms ? HEALTH_MARK_DOWN : HEALTH_KEEP;
    }
    /* Back only on a heartbeat really heard, never on the benefit of the
     * doubt a new term gives. */
    if (seen && now >= seen && now - seen <= grace_ms)
        return HEALTH_MARK_READY;
    return HEALTH_KEEP;
}
