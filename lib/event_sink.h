/* How runtime modules report Docker events without knowing the bus. */
#ifndef BERTH_RUNTIME_EVENT_SINK_H
#define BERTH_RUNTIME_EVENT_SINK_H

#include <jansson.h>

typedef struct rt_event_sink {
    /* Emits an event: type ("container", "image"), action, the actor's ID
     * and its attributes (taken). */
    void (*emit)(void *ctx, const char *type, const char *action, const char *id, json_t *attributes);
    void *ctx;
} rt_event_sink;

#endif
