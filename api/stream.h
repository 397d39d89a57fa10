/* Streamed replies: a chunked HTTP body the handler keeps writing to after
 * it returns (logs --follow, events, stats, wait, progress).
 *
 * MHD pulls the body through a content reader; when the stream has nothing
 * buffered the reader suspends the connection, and the next write resumes
 * it, so an idle stream costs nothing on the loop.  The stream belongs to
 * its request: when the client goes away (or the daemon stops) the owner is
 * told through on_gone and must not touch the stream again. */
#ifndef BERTH_API_STREAM_H
#define BERTH_API_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

typedef struct api_stream api_stream;

/* Starts a streamed reply with status and content type.  Headers go out at
 * once (the docker CLI waits for them, e.g. for /wait).  on_gone(ctx) runs
 * once when the stream can no longer be written to. */
api_stream *api_reply_stream(api_request *r, unsigned status, const char *content_type,
                             void (*on_gone)(void *ctx), void *ctx);

/* Appends bytes; ignored after the stream ended or its client left. */
void api_stream_write(api_stream *s, const void *data, size_t len);
void api_stream_printf(api_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes one JSON value followed by "\n" (takes the reference). */
void api_stream_json(api_stream *s, json_t *v);
/* Bytes written but not yet taken by the client (for back-pressure). */
size_t api_stream_pending(const api_stream *s);
/* Ends the body once what was written has been sent.  The owner must not
 * use s afterwards (on_gone is not called for an ended stream). */
void api_stream_end(api_stream *s);

#endif
