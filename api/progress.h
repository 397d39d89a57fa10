/* dockerd's JSON progress messages (pkg/jsonmessage) on a streamed reply,
 * started lazily: a pull or push that fails before its first message
 * answers with an HTTP error instead, as dockerd does. */
#ifndef BERTH_API_PROGRESS_H
#define BERTH_API_PROGRESS_H

#include "api/api.h"
#include "api/stream.h"

typedef struct api_progress {
    api_request *r;
    api_stream *s;             /* NULL until the first message */
    void (*on_gone)(void *ctx);
    void *ctx;
} api_progress;

/* {"status":..,"id":..} with progressDetail {current,total} and the bar
 * text when total > 0, an empty progressDetail when 0 (a layer's update),
 * none when < 0 (a message, as "Pulling from"); id "" for none. */
void api_progress_msg(api_progress *p, const char *id, const char *status, long long current, long long total);
/* The same message as a new JSON object, for a stream of another kind
 * (a build's). */
void api_progress_format(const char *id, const char *status, long long current, long long total, json_t **out);
/* Any other message (takes the reference). */
void api_progress_json(api_progress *p, json_t *msg);
/* Ends: with an error as an errorDetail message, or as an HTTP error when
 * nothing was streamed yet. */
void api_progress_end(api_progress *p, int status, const berr *e);

#endif
