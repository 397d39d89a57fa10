/* RFC 6455 WebSocket framing for GET /containers/{id}/attach/ws: the
 * handshake's accept key, the server's frames (never masked) and a
 * decoder for the client's (always masked).  No I/O: api/attach.c moves
 * the bytes over a hijacked connection. */
#ifndef BERTH_API_WEBSOCKET_H
#define BERTH_API_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

enum { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key GUID)),
 * 28 characters and a NUL. */
void ws_accept_key(const char *key, char out[29]);

/* Appends one final frame of opcode with len bytes of data. */
void ws_frame(buf *out, int opcode, const void *data, size_t len);

typedef struct ws_decoder {
    buf in;                 /* bytes of an incomplete frame */
} ws_decoder;

/* Called for each whole frame, payload unmasked. */
typedef void (*ws_frame_cb)(void *ctx, int opcode, const char *data, size_t len);

/* Feeds bytes from the client; calls cb for each frame completed.
 * Returns -1 for a protocol error (an unmasked frame, a reserved bit, a
 * control frame over 125 bytes, a frame over max_len). */
int ws_decode(ws_decoder *d, const char *data, size_t len, size_t max_len, ws_frame_cb cb, void *ctx);
void ws_decoder_free(ws_decoder *d);

#endif
