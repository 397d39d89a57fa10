/* Node RPC framing on the swarm port: a 4-byte big-endian length, then
 * that many bytes of one JSON object.  Pure functions, shared by the
 * serving and the calling side of raft/transport.c (and fuzzed as they
 * stand: tests/fuzz/fuzz_node_frame.c). */
#ifndef BERTH_RAFT_RPC_FRAME_H
#define BERTH_RAFT_RPC_FRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CS_FRAME_MORE = 0,           /* not a whole frame yet */
    CS_FRAME_OK = 1,             /* *msg is the object, owned by the caller */
    CS_FRAME_MALFORMED = 2,      /* a whole frame that is not a JSON object: skip it */
};

/* Looks at the bytes received so far.  On OK and MALFORMED *used is the
 * frame's length (to drop from the buffer); -E2BIG for a length over max
 * (the connection must go: nothing after it can be trusted). */
int cs_frame_take(const char *data, size_t len, uint32_t max, size_t *used, json_t **msg);

#endif
