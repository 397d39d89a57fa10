/* Node RPC frames (see rpc_frame.h). */
#include "raft/rpc_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int cs_frame_take(const char *data, size_t len, uint32_t max, size_t *used, json_t **msg)
{
    *msg = NULL;
    *used = 0;
    if (len < 4)
        return CS_FRAME_MORE;
    uint32_t be;
    memcpy(&be, data, 4);
    uint32_t n = ntohl(be);
    if (n > max)
        return -E2BIG;
    if (len - 4 < (size_t)n)
        return CS_FRAME_MORE;
    *used = 4 + (size_t)n;
    json_error_t je;
    json_t *o = json_loadb(data + 4, n, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return CS_FRAME_MALFORMED;
    }
    *msg = o;
    return CS_FRAME_OK;
}
