/* The daemon's event bus: what `docker events` shows.  Events are kept in
 * a bounded ring (for `since`) and pushed to every listener as they
 * happen. */
#ifndef BERTH_NODE_EVENTS_H
#define BERTH_NODE_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define EVENTS_RING 1024

typedef struct events_listener {
    /* Called with each new event (borrowed); returns false to be dropped. */
    bool (*deliver)(void *ctx, json_t *event);
    void *ctx;
    struct events_listener *next;
} events_listener;

typedef struct events {
    json_t *ring[EVENTS_RING];
    size_t head;                 /* next slot to write */
    size_t count;
    events_listener *listeners;
} events;

/* Records and broadcasts an event; takes attributes. */
void events_emit(events *ev, const char *type, const char *action, const char *id, json_t *attributes);

/* Calls fn for each recorded event with since_ns <= timeNano (< until_ns
 * when until_ns > 0), oldest first. */
void events_replay(events *ev, int64_t since_ns, int64_t until_ns, void (*fn)(void *ctx, json_t *event), void *ctx);

void events_listen(events *ev, events_listener *l);
void events_unlisten(events *ev, events_listener *l);
size_t events_listeners(const events *ev);
void events_free(events *ev);

/* The filters of GET /events (type, event, container, image, label,
 * network, volume, daemon, scope) applied to one event; `filters` is the
 * parsed object of arrays (lib/filters.h). */
bool events_match(json_t *filters, json_t *event);

#endif
