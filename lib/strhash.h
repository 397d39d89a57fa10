/* FNV-1a over a NUL-terminated string: the hash of the daemon's
 * string-keyed tables (paths in tars and build contexts). */
#ifndef BERTH_LIB_STRHASH_H
#define BERTH_LIB_STRHASH_H

#include <stdint.h>

static inline uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

#endif
