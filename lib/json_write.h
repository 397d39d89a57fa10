/* Compact JSON text of a jansson value: what json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY) writes, faster (lib/json_write.c). */
#ifndef BERTH_LIB_JSON_WRITE_H
#define BERTH_LIB_JSON_WRITE_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/buf.h"

/* Appends v to b; false (b as it was) when v holds a string that is not
 * UTF-8 or is nested deeper than 2048 levels, where json_dumps fails too. */
bool json_write_compact(buf *b, const json_t *v);

#endif
