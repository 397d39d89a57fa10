#include "lib/msgpack_check.h"

#include <stdint.h>

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

bool mp_well_formed(const void *data, size_t len, size_t *end)
{
    const uint8_t *p = data;
    size_t off = 0;
    /* Elements still to read at each open level; level 0 is the object. */
    uint64_t pending[65] = {1};
    int depth = 0;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        if (off >= len)
            return false;
        pending[depth]--;
        uint8_t b = p[off++];
        uint64_t skip = 0, count = 0;
        int hdr = 0;          /* bytes of length that follow b */
        bool container = false, pairs = false;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool */
        } else if (b <= 0x8f) {
            container = pairs = true, count = b & 0x0f;
        } else if (b <= 0x9f) {
            container = true, count = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else if (b == 0xc1) {
            return false;
        } else if (b >= 0xc4 && b <= 0xc6) {        /* bin 8/16/32 */
            hdr = 1 << (b - 0xc4);
        } else if (b >= 0xc7 && b <= 0xc9) {        /* ext 8/16/32 + type */
            hdr = 1 << (b - 0xc7), skip = 1;
        } else if (b == 0xca || b == 0xcb) {
            skip = b == 0xca ? 4 : 8;
        } else if (b >= 0xcc && b <= 0xd3) {        /* uint and int 8..64 */
            skip = 1u << ((b - 0xcc) & 3);
        } else if (b >= 0xd4 && b <= 0xd8) {        /* fixext: type + 1..16 */
            skip = 1 + (1u << (b - 0xd4));
        } else if (b >= 0xd9 && b <= 0xdb) {        /* str 8/16/32 */
            hdr = 1 << (b - 0xd9);
        } else if (b == 0xdc || b == 0xdd) {
            container = true, hdr = b == 0xdc ? 2 : 4;
        } else {                                    /* 0xde, 0xdf: map 16/32 */
            container = pairs = true, hdr = b == 0xde ? 2 : 4;
        }
        if (hdr) {
            if (len - off < (size_t)hdr)
                return false;
            uint64_t v = be(p + off, hdr);
            off += (size_t)hdr;
            if (container)
                count = v;
            else
                skip += v;
        }
        if (container) {
            uint64_t elems = pairs ? 2 * count : count;
            if (elems > len - off)
                return false;
            if (elems) {
                if (depth == 64)
                    return false;
                pending[++depth] = elems;
            }
        } else {
            if (skip > len - off)
                return false;
            off += (size_t)skip;
        }
    }
    if (end)
        *end = off;
    return true;
}
