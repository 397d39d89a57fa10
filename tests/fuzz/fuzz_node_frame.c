/* Node RPC frames on the swarm port (raft/rpc_frame.c), as raft/transport.c
 * reads them from a peer: the input is the byte stream, cut into frames
 * until one is incomplete or too large.  The handlers behind them need a
 * live cluster store and are covered by tests/cluster. */
#include <errno.h>

#include "raft/rpc_frame.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t left = size;
    /* a small limit, so the fuzzer reaches the too-large path */
    const uint32_t max = 4096;
    for (;;) {
        size_t used;
        json_t *msg;
        int r = cs_frame_take(p, left, max, &used, &msg);
        if (r == -E2BIG || r == CS_FRAME_MORE)
            break;
        if (used < 4 || used > left || used - 4 > max)
            abort();   /* a frame never claims more than was there */
        if (r == CS_FRAME_OK && !json_is_object(msg))
            abort();
        json_decref(msg);
        p += used;
        left -= used;
    }
    return 0;
}
