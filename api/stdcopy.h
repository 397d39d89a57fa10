/* Docker's multiplexed stream framing (stdcopy): for a container without a
 * TTY, attach, logs and exec send each chunk behind an 8-byte header
 *   [stream, 0, 0, 0, size (4 bytes, big endian)]
 * where stream is 0 stdin, 1 stdout, 2 stderr (3 systemerr). */
#ifndef BERTH_API_STDCOPY_H
#define BERTH_API_STDCOPY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define STDCOPY_HEADER 8

/* Appends one frame (header + data) to out. */
void stdcopy_frame(buf *out, int stream, const void *data, size_t len);

/* Incremental decoder (for tests and clients). */
typedef struct stdcopy_decoder {
    buf pending;
} stdcopy_decoder;

/* Feeds bytes; calls fn for each complete frame.  Returns -EINVAL on a
 * malformed header. */
int stdcopy_decode(stdcopy_decoder *d, const void *data, size_t len,
                   void (*fn)(void *ctx, int stream, const char *data, size_t len), void *ctx);
void stdcopy_decoder_free(stdcopy_decoder *d);

#endif
