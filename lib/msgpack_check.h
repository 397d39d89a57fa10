/* A bounds check for msgpack bytes from another node, run before
 * msgpack-c unpacks them.  msgpack-c allocates an array's or a map's
 * elements from the count in its header before it reads them, so a few
 * bytes that claim 2^32 elements make it ask for a hundred gigabytes and
 * abort the daemon.  Every element takes at least one byte, so a header
 * that claims more elements than bytes remain cannot be honest. */
#ifndef BERTH_LIB_MSGPACK_CHECK_H
#define BERTH_LIB_MSGPACK_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* True when data[0..len) starts with one complete msgpack object whose
 * every length and count fits in the bytes that remain; *end (if not NULL)
 * is then the offset just past it.  Nesting deeper than 64 is refused. */
bool mp_well_formed(const void *data, size_t len, size_t *end);

#endif
