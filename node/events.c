#include "node/events.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"

void events_emit(events *ev, const char *type, const char *action, const char *id, json_t *attributes)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t nano = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (!attributes)
        attributes = json_object();
    json_t *e = json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type", type, "Action", action, "Actor", "ID", id,
                          "Attributes", attributes, "scope", "local", "time", (json_int_t)ts.tv_sec, "timeNano",
                          (json_int_t)nano);
    /* The legacy fields older clients read. */
    if (!strcmp(type, "container") || !strcmp(type, "image")) {
        json_object_set_new(e, "status", json_string(action));
        json_object_set_new(e, "id", json_string(id));
        json_t *image = json_object_get(attributes, "image");
        if (image)
            json_object_set(e, "from", image);
    }
    json_decref(ev->ring[ev->head]);
    ev->ring[ev->head] = e;
    ev->head = (ev->head + 1) % EVENTS_RING;
    if (ev->count < EVENTS_RING)
        ev->count++;
    for (events_listener **p = &ev->listeners; *p;) {
        events_listener *l = *p;
        if (!l->deliver(l->ctx, e))
            *p = l->next;
        else
            p = &l->next;
    }
}

void events_replay(events *ev, int64_t since_ns, int64_t until_ns, void (*fn)(void *ctx, json_t *event), void *ctx)
{
    size_t start = (ev->head + EVENTS_RING - ev->count) % EVENTS_RING;
    for (size_t i = 0; i < ev->count; i++) {
        json_t *e = ev->ring[(start + i) % EVENTS_RING];
        int64_t t = json_integer_value(json_object_get(e, "timeNano"));
        if (t < since_ns || (until_ns > 0 && t > until_ns))
            continue;
        fn(ctx, e);
    }
}

void events_listen(events *ev, events_listener *l)
{
    l->next = ev->listeners;
    ev->listeners = l;
}

void events_unlisten(events *ev, events_listener *l)
{
    for (events_listener **p = &ev->listeners; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            return;
        }
}

size_t events_listeners(const events *ev)
{
    size_t n = 0;
    for (events_listener *l = ev->listeners; l; l = l->next)
        n++;
    return n;
}

void events_free(events *ev)
{
    for (size_t i = 0; i < EVENTS_RING; i++) {
        json_decref(ev->ring[i]);
        ev->ring[i] = NULL;
    }
    ev->count = ev->head = 0;
}

static bool any_equal(json_t *vals, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) if (s && strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

/* The container=, network=, volume=, service= and node= filters: events of that type whose
 * actor has that name or an ID starting with the value. */
static bool object_filter(json_t *f, const char *key, const char *type, const char *id, const char *name)
{
    json_t *vals = json_object_get(f, key);
    if (!json_array_size(vals))
        return true;
    if (strcmp(type, key) != 0)
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        const char *want = json_string_value(v);
        if ((name && strcmp(name, want) == 0) || (id && strncmp(id, want, strlen(want)) == 0))
            return true;
    }
    return false;
}

bool events_match(json_t *f, json_t *e)
{
    const char *type = json_string_value(json_object_get(e, "Type"));
    const char *action = json_string_value(json_object_get(e, "Action"));
    json_t *actor = json_object_get(e, "Actor");
    const char *id = json_string_value(json_object_get(actor, "ID"));
    json_t *attrs = json_object_get(actor, "Attributes");
    const char *name = json_string_value(json_object_get(attrs, "name"));
    json_t *vals;

    if (json_array_size(vals = json_object_get(f, "type")) && !any_equal(vals, type))
        return false;
    if (json_array_size(vals = json_object_get(f, "event"))) {
        /* "health_status" matches "health_status: healthy", as dockerd does */
        bool hit = false;
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) {
            const char *want = json_string_value(v);
            size_t n = strlen(want);
            hit |= strcmp(action, want) == 0 || (strncmp(action, want, n) == 0 && action[n] == ':');
        }
        if (!hit)
            return false;
    }
    if (!object_filter(f, "container", type, id, name) || !object_filter(f, "network", type, id, name) ||
        !object_filter(f, "volume", type, id, name) || !object_filter(f, "service", type, id, name) ||
        !object_filter(f, "node", type, id, name))
        return false;
    if (json_array_size(vals = json_object_get(f, "image"))) {
        const char *image = json_string_value(json_object_get(attrs, "image"));
        if (!any_equal(vals, image) && !(strcmp(type, "image") == 0 && any_equal(vals, id)))
            return false;
    }
    if (json_array_size(vals = json_object_get(f, "label"))) {
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) {
            const char *want = json_string_value(v);
            const char *eq = strchr(want, '=');
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(eq ? (size_t)(eq - want) : strlen(want)), want);
            json_t *have = json_object_get(attrs, key);
            if (!have || (eq && strcmp(json_string_value(have) ? json_string_value(have) : "", eq + 1)))
                return false;
        }
    }
    if (json_array_size(vals = json_object_get(f, "scope")) && !any_equal(vals, "local"))
        return false;
    return true;
}
